/* One PostgreSQL connection per process, with statement_timeout set and a
 * transparent reconnect: a call made while the server is away fails fast
 * with EZ_DB_UNAVAILABLE (the HTTP layer answers 503) instead of hanging.
 * Every write runs between ez_db_begin and ez_db_end, which tell a COMMIT
 * whose outcome is unknown (the connection lost while it ran) from one
 * that failed: the caller must then act as if it may have committed. */
#ifndef EZ_DB_H
#define EZ_DB_H

#include <jansson.h>
#include <libpq-fe.h>

/* EZ_DB_UNKNOWN comes only from ez_db_end: the COMMIT was sent and the
 * connection lost before its answer, so it may or may not have committed. */
enum { EZ_DB_OK = 0, EZ_DB_UNAVAILABLE = 1, EZ_DB_ERROR = 2, EZ_DB_UNKNOWN = 3 };

struct ez_db;

/* Does not connect; the first call does. dsn is copied. */
struct ez_db *ez_db_new(const char *dsn, long long statement_timeout_ms, const char *app_name);
void ez_db_free(struct ez_db *db);
/* Connects or reconnects if needed. EZ_DB_OK or EZ_DB_UNAVAILABLE. */
int ez_db_ensure(struct ez_db *db) __attribute__((warn_unused_result));
PGconn *ez_db_conn(struct ez_db *db);
/* How many times this handle has connected (0 before the first): a
 * change tells the caller it reconnected since it last looked. */
unsigned ez_db_connects(const struct ez_db *db);

/* BEGIN, noting the transaction's id (txid_current(), for ez_db_xid) in
 * the same round trip. EZ_DB_OK or EZ_DB_UNAVAILABLE. */
int ez_db_begin(struct ez_db *db) __attribute__((warn_unused_result));
/* Ends the transaction of ez_db_begin: COMMIT when rc is EZ_DB_OK and
 * commit is set, else ROLLBACK. Returns rc when rolled back, EZ_DB_OK when
 * committed, EZ_DB_ERROR when PostgreSQL refused the COMMIT (nothing was
 * written), or EZ_DB_UNKNOWN when the connection was lost during the
 * COMMIT. */
int ez_db_end(struct ez_db *db, int rc, int commit) __attribute__((warn_unused_result));
/* A write whose transaction ended with rc may have committed. */
static inline int ez_db_landed(int rc) { return rc == EZ_DB_OK || rc == EZ_DB_UNKNOWN; }
/* The id of the transaction last begun with ez_db_begin (0: none). With
 * EZ_DB_UNKNOWN, txid_status() of it tells later what happened. */
long long ez_db_xid(const struct ez_db *db);
/* Runs one parameterised statement (text params, NULL = SQL NULL). Returns
 * EZ_DB_OK with *res set (caller PQclear()s it), EZ_DB_UNAVAILABLE when the
 * connection is lost, or EZ_DB_ERROR with *res holding the error result
 * (may be NULL). A connection the server closed while it sat idle is
 * noticed and replaced before the statement is sent; a statement is never
 * sent twice. Outside a transaction, use it for reads only: a write whose
 * connection is lost has an unknown outcome (ez_db_begin/ez_db_end). */
int ez_db_exec(struct ez_db *db, PGresult **res, const char *sql, int nparams,
               const char *const *params) __attribute__((warn_unused_result));
/* Convenience for statements without a result to keep. */
int ez_db_cmd(struct ez_db *db, const char *sql, int nparams, const char *const *params)
    __attribute__((warn_unused_result));
/* Sends one statement without waiting (on the current connection, which
 * must exist: for a statement inside a transaction); ez_db_sent_result
 * then reads its result, classified as ez_db_exec's. Lets the caller work
 * while PostgreSQL runs it. */
int ez_db_send(struct ez_db *db, const char *sql) __attribute__((warn_unused_result));
int ez_db_sent_result(struct ez_db *db, PGresult **res) __attribute__((warn_unused_result));
/* Runs "COPY ... FROM STDIN" (text format) with data as its rows, in one
 * statement: all rows or none. EZ_DB_* and *res as for ez_db_exec. */
int ez_db_copy_in(struct ez_db *db, PGresult **res, const char *sql, const char *data,
                  size_t len) __attribute__((warn_unused_result));
/* The same in two halves: ez_db_copy_send starts the COPY and sends every
 * row (EZ_DB_OK, or the failure to start it); PostgreSQL loads them while
 * the caller goes on, with other connections; ez_db_sent_result then
 * waits for the outcome. */
int ez_db_copy_send(struct ez_db *db, PGresult **res, const char *sql, const char *data,
                    size_t len) __attribute__((warn_unused_result));
/* SQLSTATE of an error result ("" when none). */
const char *ez_db_sqlstate(const PGresult *res);

/* For queries whose first column is a JSON value built by PostgreSQL
 * (json_build_object): every row as a JSON array (*out), or the first row
 * (*out = NULL when there is none). EZ_DB_* status. */
int ez_db_json_rows(struct ez_db *db, json_t **out, const char *sql, int nparams,
                    const char *const *params) __attribute__((warn_unused_result));
int ez_db_json_row(struct ez_db *db, json_t **out, const char *sql, int nparams,
                   const char *const *params) __attribute__((warn_unused_result));
/* The first row's JSON as the text PostgreSQL sent (malloc'd; *out = NULL
 * when there is no row), for an answer that only passes it on: no decode
 * and re-encode. EZ_DB_* status. */
int ez_db_json_text_row(struct ez_db *db, char **out, const char *sql, int nparams,
                        const char *const *params) __attribute__((warn_unused_result));

/* One write statement giving at most one JSON row (as ez_db_json_row), in
 * a transaction of its own: EZ_DB_UNKNOWN when the COMMIT's outcome is
 * unknown, *out then holding the row as if it had committed. */
int ez_db_write_row(struct ez_db *db, json_t **out, const char *sql, int nparams,
                    const char *const *params) __attribute__((warn_unused_result));

/* Round trips saved on the hot write paths (libpq's pipeline mode, the
 * statements prepared as everywhere else):
 * ez_db_begin_row is ez_db_begin and one statement giving at most one JSON
 * row (ez_db_json_row) in one round trip: typically the row lock that
 * starts a write. On failure the transaction is rolled back already.
 * ez_db_row_commit runs the last statement of a transaction begun with
 * either and its COMMIT in one round trip, and ends the transaction: the
 * caller's ez_db_end then returns this outcome. EZ_DB_OK: committed;
 * EZ_DB_ERROR or EZ_DB_UNAVAILABLE from the statement: not committed
 * (ez_db_end rolls back); EZ_DB_ERROR when PostgreSQL refused the COMMIT;
 * EZ_DB_UNKNOWN when the connection was lost once both were sent (the
 * COMMIT may have run), *out holding the row if it arrived, else NULL. */
int ez_db_begin_row(struct ez_db *db, json_t **out, const char *sql, int nparams,
                    const char *const *params) __attribute__((warn_unused_result));
int ez_db_row_commit(struct ez_db *db, json_t **out, const char *sql, int nparams,
                     const char *const *params) __attribute__((warn_unused_result));

/* Several statements in one round trip: each runs as if sent alone by
 * ez_db_exec, its own implicit transaction outside a BEGIN, whatever
 * became of the one before, and rcs[i] gets its EZ_DB_* status
 * (UNAVAILABLE when the connection went before it was answered). With
 * res, res[i] keeps the result of each that succeeded (NULL otherwise; the
 * caller PQclear()s them). n is at most 4. Returns the first status that
 * is not EZ_DB_OK, or EZ_DB_OK. */
struct ez_db_stmt {
    const char *sql;
    int nparams;
    const char *const *params;
};
int ez_db_cmds(struct ez_db *db, int n, const struct ez_db_stmt *st, int *rcs, PGresult **res)
    __attribute__((warn_unused_result));

/* RFC 3339 UTC rendering of a timestamptz column inside SQL. */
#define EZ_SQL_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

#endif
