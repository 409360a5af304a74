/* One PostgreSQL connection per process, with statement_timeout set and a
 * transparent reconnect: a call made while the server is away fails fast
 * with EZ_DB_UNAVAILABLE (the HTTP layer answers 503) instead of hanging. */
#ifndef EZ_DB_H
#define EZ_DB_H

#include <jansson.h>
#include <libpq-fe.h>

enum { EZ_DB_OK = 0, EZ_DB_UNAVAILABLE = 1, EZ_DB_ERROR = 2 };

struct ez_db;

/* Does not connect; the first call does. dsn is copied. */
struct ez_db *ez_db_new(const char *dsn, long long statement_timeout_ms, const char *app_name);
void ez_db_free(struct ez_db *db);
/* Connects or reconnects if needed. EZ_DB_OK or EZ_DB_UNAVAILABLE. */
int ez_db_ensure(struct ez_db *db) __attribute__((warn_unused_result));
PGconn *ez_db_conn(struct ez_db *db);
/* Runs one parameterised statement (text params, NULL = SQL NULL). Returns
 * EZ_DB_OK with *res set (caller PQclear()s it), EZ_DB_UNAVAILABLE when the
 * connection is lost (retried once on a fresh connection when outside a
 * transaction), or EZ_DB_ERROR with *res holding the error result (may be
 * NULL). */
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

/* RFC 3339 UTC rendering of a timestamptz column inside SQL. */
#define EZ_SQL_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

#endif
