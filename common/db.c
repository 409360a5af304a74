/* PostgreSQL connection of one process. Connects lazily with a connect
 * timeout and the statement timeout as a session option; when the server
 * goes away, the next call reconnects, and fails fast while it cannot; a
 * connection found on a read-only standby is dropped the same way, so a
 * multi-host dsn (target_session_attrs=read-write) follows a failover.
 * Each statement text is prepared once per connection: parsing is most of
 * what a small query costs PostgreSQL. No statement is ever sent twice:
 * its first outcome is the caller's. */
#include "db.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "hash.h"
#include "log.h"
#include "metrics.h"

/* Statements prepared on the current connection, named "ez<index>". Past
 * the limit (dynamic SQL), statements run unprepared. */
#define PREPARED_MAX 256

struct ez_db {
    char *dsn;
    char options[64];
    char app_name[64];
    PGconn *conn;
    unsigned connects;
    long long xid; /* of the transaction last begun */
    int ended;     /* ez_db_row_commit ended it, with ended_rc */
    int ended_rc;
    struct {
        uint32_t hash; /* of the text: most lookups compare no text */
        char *sql;
    } prepared[PREPARED_MAX];
    int nprepared;
};

static void forget_prepared(struct ez_db *db)
{
    for (int i = 0; i < db->nprepared; i++)
        free(db->prepared[i].sql);
    db->nprepared = 0;
}


struct ez_db *ez_db_new(const char *dsn, long long statement_timeout_ms, const char *app_name)
{
    struct ez_db *db = calloc(1, sizeof *db);
    if (!db)
        return NULL;
    db->dsn = strdup(dsn);
    if (!db->dsn) {
        free(db);
        return NULL;
    }
    snprintf(db->options, sizeof db->options, "-c statement_timeout=%lld", statement_timeout_ms);
    snprintf(db->app_name, sizeof db->app_name, "%s", app_name);
    return db;
}

void ez_db_free(struct ez_db *db)
{
    if (!db)
        return;
    if (db->conn)
        PQfinish(db->conn);
    forget_prepared(db);
    free(db->dsn);
    free(db);
}

PGconn *ez_db_conn(struct ez_db *db) { return db->conn; }

unsigned ez_db_connects(const struct ez_db *db) { return db->connects; }

long long ez_db_xid(const struct ez_db *db) { return db->xid; }

static void notice_quiet(void *arg, const char *message) { (void)arg; (void)message; }

int ez_db_ensure(struct ez_db *db)
{
    if (db->conn && PQstatus(db->conn) == CONNECTION_OK)
        return EZ_DB_OK;
    if (db->conn) {
        PQfinish(db->conn);
        db->conn = NULL;
    }
    forget_prepared(db);
    /* The dsn's own settings win over these defaults (expand_dbname). */
    const char *keys[] = { "connect_timeout", "options", "application_name",
                           "keepalives_idle", "dbname", NULL };
    const char *vals[] = { "3", db->options, db->app_name, "10", db->dsn, NULL };
    db->conn = PQconnectdbParams(keys, vals, 1);
    if (!db->conn || PQstatus(db->conn) != CONNECTION_OK) {
        ez_metric_inc(EZ_M_pg_errors);
        char msg[256];
        snprintf(msg, sizeof msg, "%s", db->conn ? PQerrorMessage(db->conn) : "out of memory");
        msg[strcspn(msg, "\n")] = 0;
        log_warn("PostgreSQL connection failed: %s", msg);
        if (db->conn) {
            PQfinish(db->conn);
            db->conn = NULL;
        }
        return EZ_DB_UNAVAILABLE;
    }
    PQsetNoticeProcessor(db->conn, notice_quiet, NULL);
    db->connects++;
    return EZ_DB_OK;
}

/* An idle connection has nothing to say: anything readable on it (the
 * notice of a server shutting down, the end of the stream, an error) means
 * it is going or gone, so it is replaced before a statement is sent on it
 * rather than failing that statement. */
static void drop_if_closed(struct ez_db *db)
{
    if (!db->conn || PQtransactionStatus(db->conn) != PQTRANS_IDLE)
        return;
    char c;
    ssize_t n = recv(PQsocket(db->conn), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    log_info("PostgreSQL connection closed by the server while idle: reconnecting");
    PQfinish(db->conn);
    db->conn = NULL;
}

/* ensure, after dropping a connection the server closed. */
static int ready(struct ez_db *db)
{
    drop_if_closed(db);
    return ez_db_ensure(db);
}

static int ok_status(PGresult *r)
{
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* What a failed statement means: EZ_DB_UNAVAILABLE when the server is gone,
 * timed out or shutting down; EZ_DB_ERROR otherwise, with the error result
 * kept in *res for the caller (constraint violations are its to answer). */
static int failure(struct ez_db *db, PGresult *r, PGresult **res)
{
    ez_metric_inc(EZ_M_pg_errors);
    if (PQstatus(db->conn) != CONNECTION_OK) {
        PQclear(r);
        log_warn("PostgreSQL connection lost");
        return EZ_DB_UNAVAILABLE;
    }
    const char *state = ez_db_sqlstate(r);
    if (strcmp(state, "25006") == 0) {
        /* read_only_sql_transaction: this server is a standby (a dsn
         * without target_session_attrs=read-write, or a failover under
         * way). Reconnecting lets libpq try the dsn's hosts again. */
        PQclear(r);
        log_warn("PostgreSQL server is read-only (a standby): reconnecting to find the primary");
        PQfinish(db->conn);
        db->conn = NULL;
        return EZ_DB_UNAVAILABLE;
    }
    if (strncmp(state, "23", 2) != 0 && strcmp(state, "40001") != 0 &&
        strcmp(state, "40P01") != 0) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", r ? PQresultErrorMessage(r) : "no result");
        msg[strcspn(msg, "\n")] = 0;
        log_error("PostgreSQL error %s: %s", state, msg);
    }
    if (strcmp(state, "57014") == 0 || strncmp(state, "57P", 3) == 0 ||
        strncmp(state, "08", 2) == 0) {
        PQclear(r);
        return EZ_DB_UNAVAILABLE;
    }
    *res = r;
    return EZ_DB_ERROR;
}


/* "ez<i>", written without the cost of a printf on every statement. */
static void statement_name(int i, char *name, size_t len)
{
    char digits[12];
    int n = 0;
    do
        digits[n++] = (char)('0' + i % 10);
    while ((i /= 10) > 0 && n < (int)sizeof digits);
    size_t at = 0;
    for (const char *p = "ez"; *p && at + 1 < len; p++)
        name[at++] = *p;
    while (n > 0 && at + 1 < len)
        name[at++] = digits[--n];
    name[at] = 0;
}

/* The name sql is prepared under on this connection ("ez<index>"),
 * preparing it the first time: 0, name set; 1, no room left, run it
 * unprepared; -1, the preparation failed, *err holding its result. */
static int prepare(struct ez_db *db, const char *sql, int nparams, char *name, size_t len,
                   PGresult **err)
{
    uint32_t hash = ez_hash_bytes(sql, strlen(sql));
    int i = 0;
    while (i < db->nprepared &&
           (db->prepared[i].hash != hash || strcmp(db->prepared[i].sql, sql) != 0))
        i++;
    statement_name(i, name, len);
    if (i < db->nprepared)
        return 0;
    char *copy = i < PREPARED_MAX ? strdup(sql) : NULL;
    if (!copy)
        return 1;
    PGresult *r = PQprepare(db->conn, name, sql, nparams, NULL);
    if (!ok_status(r)) {
        free(copy);
        *err = r;
        return -1;
    }
    PQclear(r);
    db->prepared[db->nprepared].hash = hash;
    db->prepared[db->nprepared++].sql = copy;
    return 0;
}

/* Runs sql as a statement prepared on this connection (preparing it the
 * first time); a failed preparation's result is the statement's result. */
static PGresult *run(struct ez_db *db, const char *sql, int nparams, const char *const *params)
{
    char name[16];
    PGresult *err = NULL;
    int p = prepare(db, sql, nparams, name, sizeof name, &err);
    if (p < 0)
        return err;
    if (p > 0)
        return PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    return PQexecPrepared(db->conn, name, nparams, params, NULL, NULL, 0);
}

int ez_db_exec(struct ez_db *db, PGresult **res, const char *sql, int nparams,
               const char *const *params)
{
    *res = NULL;
    if (ready(db) != EZ_DB_OK)
        return EZ_DB_UNAVAILABLE;
    PGresult *r = run(db, sql, nparams, params);
    if (ok_status(r)) {
        *res = r;
        return EZ_DB_OK;
    }
    return failure(db, r, res);
}

int ez_db_begin(struct ez_db *db)
{
    db->xid = 0;
    db->ended = 0;
    if (ready(db) != EZ_DB_OK)
        return EZ_DB_UNAVAILABLE;
    /* One round trip: a simple query of two statements gives the last
     * one's result. */
    PGresult *r = PQexec(db->conn, "BEGIN; SELECT txid_current()");
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        PGresult *err = NULL;
        int rc = failure(db, r, &err);
        PQclear(err);
        return ez_db_end(db, rc, 0);
    }
    db->xid = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return EZ_DB_OK;
}

/* A COMMIT refused for a reason that undoes the transaction for certain:
 * its data, a constraint, a serialization failure or a deadlock. */
static int commit_refused(const char *state)
{
    return strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0 ||
           strncmp(state, "40", 2) == 0;
}

int ez_db_end(struct ez_db *db, int rc, int commit)
{
    if (db->ended) { /* ez_db_row_commit sent the COMMIT: its outcome */
        db->ended = 0;
        return db->ended_rc;
    }
    int live = db->conn && PQstatus(db->conn) == CONNECTION_OK;
    if (rc == EZ_DB_OK && commit && live) {
        PGresult *r = run(db, "COMMIT", 0, NULL);
        if (ok_status(r)) {
            PQclear(r);
            return EZ_DB_OK;
        }
        char state[6];
        snprintf(state, sizeof state, "%s", ez_db_sqlstate(r));
        PGresult *err = NULL;
        rc = failure(db, r, &err);
        PQclear(err);
        if (commit_refused(state) && db->conn && PQstatus(db->conn) == CONNECTION_OK)
            return EZ_DB_ERROR;
        log_warn("PostgreSQL connection lost during COMMIT of transaction %lld: its outcome "
                 "is unknown", db->xid);
        return EZ_DB_UNKNOWN;
    }
    if (rc == EZ_DB_OK && commit) /* the connection went before the COMMIT: rolled back */
        return EZ_DB_UNAVAILABLE;
    if (live && PQtransactionStatus(db->conn) != PQTRANS_IDLE) {
        PGresult *r = run(db, "ROLLBACK", 0, NULL);
        PQclear(r); /* a lost connection has nothing to undo */
    }
    return rc;
}

int ez_db_send(struct ez_db *db, const char *sql)
{
    if (db->conn && PQsendQuery(db->conn, sql))
        return EZ_DB_OK;
    ez_metric_inc(EZ_M_pg_errors);
    log_warn("PostgreSQL connection lost");
    return EZ_DB_UNAVAILABLE;
}

int ez_db_sent_result(struct ez_db *db, PGresult **res)
{
    *res = NULL;
    PGresult *r = PQgetResult(db->conn), *more;
    if (PQresultStatus(r) == PGRES_COPY_IN) {
        /* A COPY whose end never went out: the session is stuck in it, so
         * it is dropped (the next call reconnects). */
        PQclear(r);
        ez_metric_inc(EZ_M_pg_errors);
        log_warn("PostgreSQL COPY could not be ended: reconnecting");
        PQfinish(db->conn);
        db->conn = NULL;
        return EZ_DB_UNAVAILABLE;
    }
    while ((more = PQgetResult(db->conn)) != NULL)
        PQclear(more);
    if (ok_status(r)) {
        *res = r;
        return EZ_DB_OK;
    }
    return failure(db, r, res);
}

int ez_db_copy_send(struct ez_db *db, PGresult **res, const char *sql, const char *data,
                    size_t len)
{
    *res = NULL;
    if (ready(db) != EZ_DB_OK)
        return EZ_DB_UNAVAILABLE;
    PGresult *r = PQexec(db->conn, sql);
    if (!r || PQresultStatus(r) != PGRES_COPY_IN)
        return failure(db, r, res);
    PQclear(r);
    int sent = 1;
    while (len > 0 && sent) {
        int n = len > (1 << 20) ? 1 << 20 : (int)len;
        sent = PQputCopyData(db->conn, data, n) == 1;
        data += n;
        len -= (size_t)n;
    }
    /* A failure to send shows in the result. */
    PQputCopyEnd(db->conn, sent ? NULL : "ezapi: sending the rows failed");
    return EZ_DB_OK;
}

int ez_db_copy_in(struct ez_db *db, PGresult **res, const char *sql, const char *data,
                  size_t len)
{
    int rc = ez_db_copy_send(db, res, sql, data, len);
    return rc == EZ_DB_OK ? ez_db_sent_result(db, res) : rc;
}

int ez_db_cmd(struct ez_db *db, const char *sql, int nparams, const char *const *params)
{
    PGresult *r;
    int rc = ez_db_exec(db, &r, sql, nparams, params);
    PQclear(r);
    return rc;
}

const char *ez_db_sqlstate(const PGresult *res)
{
    const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return s ? s : "";
}

int ez_db_json_rows(struct ez_db *db, json_t **out, const char *sql, int nparams,
                    const char *const *params)
{
    *out = NULL;
    PGresult *res;
    int rc = ez_db_exec(db, &res, sql, nparams, params);
    if (rc != EZ_DB_OK) {
        PQclear(res);
        return rc;
    }
    json_t *arr = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        json_t *v = json_loads(PQgetvalue(res, i, 0), 0, NULL);
        if (!v) {
            log_error("PostgreSQL returned a row that is not JSON");
            json_decref(arr);
            PQclear(res);
            return EZ_DB_ERROR;
        }
        json_array_append_new(arr, v);
    }
    PQclear(res);
    *out = arr;
    return EZ_DB_OK;
}

int ez_db_json_row(struct ez_db *db, json_t **out, const char *sql, int nparams,
                   const char *const *params)
{
    json_t *arr;
    *out = NULL;
    int rc = ez_db_json_rows(db, &arr, sql, nparams, params);
    if (rc == EZ_DB_OK) {
        *out = json_incref(json_array_get(arr, 0));
        json_decref(arr);
    }
    return rc;
}

int ez_db_json_text_row(struct ez_db *db, char **out, const char *sql, int nparams,
                        const char *const *params)
{
    *out = NULL;
    PGresult *res;
    int rc = ez_db_exec(db, &res, sql, nparams, params);
    if (rc == EZ_DB_OK && PQntuples(res) > 0 && !(*out = strdup(PQgetvalue(res, 0, 0))))
        rc = EZ_DB_ERROR;
    PQclear(res);
    return rc;
}

int ez_db_write_row(struct ez_db *db, json_t **out, const char *sql, int nparams,
                    const char *const *params)
{
    *out = NULL;
    int rc = ez_db_begin(db);
    if (rc == EZ_DB_OK)
        rc = ez_db_json_row(db, out, sql, nparams, params);
    rc = ez_db_end(db, rc, 1);
    if (!ez_db_landed(rc)) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

/* ---- Several statements in one round trip -------------------------------- */

/* A connection whose pipeline went wrong is dropped: the next call
 * reconnects (and a transaction on it is gone, rolled back by the
 * server). */
static void drop(struct ez_db *db)
{
    PQfinish(db->conn);
    db->conn = NULL;
    forget_prepared(db);
}

#define PIPELINE_MAX 4

/* The Sync that follows a statement of a pipeline, read back. */
static int synced(struct ez_db *db)
{
    PGresult *sync = PQgetResult(db->conn);
    int ok = sync && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
    PQclear(sync);
    return ok;
}

/* Sends the n statements at once (libpq's pipeline mode) and reads their
 * results into res (NULL: not read). Statements are prepared first as
 * run() prepares them; a preparation happens once per connection, so
 * only the first use of a statement costs more round trips. Returns the
 * index of the first statement that failed (its result, or NULL when the
 * connection went, in res), n when all succeeded; *sent is 0 when nothing
 * reached the server (a preparation failed). Without each, a statement
 * after a failed one is not run (PostgreSQL skips the rest of a
 * pipeline); with each, a Sync follows every statement, which then runs
 * as if sent alone (its own implicit transaction outside BEGIN) whatever
 * became of the one before. */
static int pipeline(struct ez_db *db, int n, const struct ez_db_stmt *st, PGresult **res,
                    int *sent, int each)
{
    char name[PIPELINE_MAX][16];
    int unprepared[PIPELINE_MAX];
    *sent = 0;
    for (int i = 0; i < n; i++)
        res[i] = NULL;
    for (int i = 0; i < n; i++) {
        PGresult *err = NULL;
        unprepared[i] = prepare(db, st[i].sql, st[i].nparams, name[i], sizeof name[i], &err);
        if (unprepared[i] < 0) {
            res[i] = err;
            return i;
        }
    }
    *sent = 1;
    int ok = PQenterPipelineMode(db->conn);
    for (int i = 0; ok && i < n; i++) {
        ok = unprepared[i] ? PQsendQueryParams(db->conn, st[i].sql, st[i].nparams, NULL,
                                                 st[i].params, NULL, NULL, 0)
                             : PQsendQueryPrepared(db->conn, name[i], st[i].nparams,
                                                   st[i].params, NULL, NULL, 0);
        if (ok && each && i < n - 1)
            ok = PQpipelineSync(db->conn);
    }
    if (!ok || !PQpipelineSync(db->conn)) {
        drop(db);
        return 0;
    }
    int bad = n;
    for (int i = 0; i < n; i++) {
        res[i] = PQgetResult(db->conn);
        PGresult *end = res[i] ? PQgetResult(db->conn) : NULL; /* NULL ends each one's results */
        PQclear(end);
        if (!ok_status(res[i])) {
            if (bad == n)
                bad = i;
            if (!res[i] || end || PQstatus(db->conn) != CONNECTION_OK) {
                drop(db);
                return bad;
            }
        }
        if (each && i < n - 1 && !synced(db)) {
            drop(db);
            return bad < n ? bad : i + 1;
        }
    }
    if (!synced(db) || !PQexitPipelineMode(db->conn))
        drop(db);
    return bad;
}

static void clear_all(int n, PGresult **res)
{
    for (int i = 0; i < n; i++)
        PQclear(res[i]);
}

/* The first column of the first row as JSON (*out NULL: no row). */
static int json_first(PGresult *r, json_t **out)
{
    *out = NULL;
    if (PQntuples(r) == 0)
        return EZ_DB_OK;
    *out = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    if (*out)
        return EZ_DB_OK;
    log_error("PostgreSQL returned a row that is not JSON");
    return EZ_DB_ERROR;
}

/* What a failed statement of a pipeline means (failure()'s classes): the
 * connection dropped by pipeline() is EZ_DB_UNAVAILABLE. */
static int pipeline_failure(struct ez_db *db, PGresult *r)
{
    if (!db->conn) {
        PQclear(r);
        ez_metric_inc(EZ_M_pg_errors);
        log_warn("PostgreSQL connection lost");
        return EZ_DB_UNAVAILABLE;
    }
    PGresult *err = NULL;
    int rc = failure(db, r, &err);
    PQclear(err);
    return rc;
}

int ez_db_begin_row(struct ez_db *db, json_t **out, const char *sql, int nparams,
                    const char *const *params)
{
    *out = NULL;
    db->xid = 0;
    db->ended = 0;
    if (ready(db) != EZ_DB_OK)
        return EZ_DB_UNAVAILABLE;
    const struct ez_db_stmt st[] = { { "BEGIN", 0, NULL },
                               { "SELECT txid_current()", 0, NULL },
                               { sql, nparams, params } };
    PGresult *res[3];
    int sent, bad = pipeline(db, 3, st, res, &sent, 0), rc = EZ_DB_OK;
    if (bad > 1 && res[1] && PQntuples(res[1]) == 1)
        db->xid = strtoll(PQgetvalue(res[1], 0, 0), NULL, 10);
    if (bad < 3) {
        rc = pipeline_failure(db, res[bad]);
        res[bad] = NULL;
    } else {
        rc = json_first(res[2], out);
    }
    clear_all(3, res);
    if (rc != EZ_DB_OK) {
        rc = ez_db_end(db, rc, 0);
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

int ez_db_row_commit(struct ez_db *db, json_t **out, const char *sql, int nparams,
                     const char *const *params)
{
    *out = NULL;
    if (!db->conn || PQstatus(db->conn) != CONNECTION_OK) /* rolled back with the connection */
        return EZ_DB_UNAVAILABLE;
    const struct ez_db_stmt st[] = { { sql, nparams, params }, { "COMMIT", 0, NULL } };
    PGresult *res[2];
    int sent, bad = pipeline(db, 2, st, res, &sent, 0), rc;
    if (bad == 2) {
        rc = json_first(res[0], out);
        if (rc != EZ_DB_OK) /* committed all the same */
            log_error("transaction %lld committed; its answer could not be read", db->xid);
        rc = EZ_DB_OK;
    } else if (db->conn && (bad == 0 || !sent)) {
        rc = pipeline_failure(db, res[bad]); /* not committed: ez_db_end rolls back */
        res[bad] = NULL;
        clear_all(2, res);
        return rc;
    } else if (db->conn && res[1] && commit_refused(ez_db_sqlstate(res[1]))) {
        rc = EZ_DB_ERROR;
    } else {
        log_warn("PostgreSQL connection lost during COMMIT of transaction %lld: its outcome "
                 "is unknown", db->xid);
        ez_metric_inc(EZ_M_pg_errors);
        rc = EZ_DB_UNKNOWN;
        if (bad == 1) /* the row, as if it had committed */
            (void)json_first(res[0], out);
    }
    clear_all(2, res);
    db->ended = 1;
    db->ended_rc = rc;
    return rc;
}

int ez_db_cmds(struct ez_db *db, int n, const struct ez_db_stmt *st, int *rcs, PGresult **out)
{
    PGresult *res[PIPELINE_MAX];
    for (int i = 0; i < n; i++) {
        rcs[i] = EZ_DB_UNAVAILABLE;
        if (out)
            out[i] = NULL;
    }
    if (n < 1 || n > PIPELINE_MAX)
        return EZ_DB_ERROR;
    if (ready(db) != EZ_DB_OK)
        return EZ_DB_UNAVAILABLE;
    int sent;
    (void)pipeline(db, n, st, res, &sent, 1);
    int rc = EZ_DB_OK, lost = 0;
    for (int i = 0; i < n; i++) {
        if (ok_status(res[i])) {
            rcs[i] = EZ_DB_OK;
            if (out)
                out[i] = res[i];
            else
                PQclear(res[i]);
        } else if (res[i] || (!db->conn && !lost)) {
            rcs[i] = pipeline_failure(db, res[i]); /* takes res[i] */
            lost = !db->conn;
        }
        /* else: not answered, the connection went before (UNAVAILABLE) */
        if (rc == EZ_DB_OK)
            rc = rcs[i];
    }
    return rc;
}
