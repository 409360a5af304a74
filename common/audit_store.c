/* Audit records as COPY text. A batch goes in with one COPY, all rows or
 * none; when a row is already there (a replay after a crash), the batch is
 * copied into a session-local staging table and moved with INSERT ... ON
 * CONFLICT (producer) DO NOTHING; when PostgreSQL refuses a row's data,
 * rows are written one by one and only the refused ones are dropped. */
#include "audit_store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "shm.h"

#define COLUMNS "time, request_id, actor_type, actor, action, resource, resource_id, " \
                "method, path, status, remote_addr, user_agent, latency_us, changes, producer"
#define ROW_TABS 13 /* separators of a row without its producer */

/* One column of COPY's text format, backslash, tab, newline and carriage
 * return escaped, followed by sep (a tab, or nothing for the last). */
static void put_field(struct ez_buf *t, const char *v, const char *sep)
{
    const char *run = v;
    for (const char *p = v; *p; p++) {
        const char *esc = *p == '\\' ? "\\\\" : *p == '\t' ? "\\t" : *p == '\n' ? "\\n"
                          : *p == '\r' ? "\\r" : NULL;
        if (esc) {
            ez_buf_put(t, run, (size_t)(p - run));
            ez_buf_put(t, esc, 2);
            run = p + 1;
        }
    }
    ez_buf_put(t, run, strlen(run));
    ez_buf_put(t, sep, strlen(sep));
}

static void put_column(struct ez_buf *t, json_t *rec, const char *key, const char *missing,
                       const char *sep)
{
    json_t *v = json_object_get(rec, key);
    if (json_is_string(v)) {
        put_field(t, json_string_value(v), sep);
    } else if (json_is_integer(v)) {
        char num[32];
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        put_field(t, num, sep);
    } else if ((!v || json_is_null(v)) && missing) {
        put_field(t, missing, sep);
    } else if (!v || json_is_null(v)) {
        ez_buf_put(t, "\\N", 2); /* SQL NULL: not escaped like a value */
        ez_buf_put(t, sep, strlen(sep));
    } else {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!s)
            t->failed = 1;
        else
            put_field(t, s, sep);
        free(s);
    }
}

char *ez_audit_row(json_t *rec)
{
    /* Defaults as the table's: time now, text "", numbers 0, changes NULL. */
    static const struct { const char *key, *missing; } cols[] = {
        { "time", "now" }, { "request_id", "" }, { "actor_type", "" }, { "actor", "" },
        { "action", "" }, { "resource", "" }, { "resource_id", "" }, { "method", "" },
        { "path", "" }, { "status", "0" }, { "remote_addr", "" }, { "user_agent", "" },
        { "latency_us", "0" }, { "changes", NULL },
    };
    struct ez_buf t = { 0 };
    size_t n = sizeof cols / sizeof cols[0];
    for (size_t i = 0; i < n; i++)
        put_column(&t, rec, cols[i].key, cols[i].missing, i + 1 < n ? "\t" : "");
    if (t.failed) {
        free(t.p);
        return NULL;
    }
    return t.p;
}

int ez_audit_batch_add(struct ez_audit_batch *b, const char *row, size_t len,
                       const char *producer)
{
    int tabs = 0;
    for (size_t i = 0; i < len; i++) {
        if (row[i] == '\n' || row[i] == '\r' || row[i] == 0)
            return -1;
        tabs += row[i] == '\t';
    }
    if (tabs != ROW_TABS)
        return -1;
    struct ez_buf t = { b->text, b->len, b->cap, 0 };
    ez_buf_put(&t, row, len);
    ez_buf_put(&t, "\t", 1);
    put_field(&t, producer, "\n");
    b->text = t.p;
    b->cap = t.cap;
    if (t.failed)
        return -1;
    b->len = t.len;
    b->rows++;
    return 0;
}

void ez_audit_batch_clear(struct ez_audit_batch *b)
{
    b->len = 0;
    b->rows = 0;
}

void ez_audit_batch_free(struct ez_audit_batch *b)
{
    free(b->text);
    *b = (struct ez_audit_batch){ 0 };
}

#define COPY_INTO(table) "COPY " table " (" COLUMNS ") FROM STDIN"

/* A COPY of rows (sql: COPY_INTO); state gets the SQLSTATE of an error. */
static int copy(struct ez_db *db, const char *sql, const char *rows, size_t len, char state[6])
{
    PGresult *res;
    int rc = ez_db_copy_in(db, &res, sql, rows, len);
    snprintf(state, 6, "%s", ez_db_sqlstate(res));
    PQclear(res);
    return rc;
}

/* One statement; state gets the SQLSTATE of an error. */
static int run(struct ez_db *db, const char *sql, char state[6])
{
    PGresult *res;
    int rc = ez_db_exec(db, &res, sql, 0, NULL);
    snprintf(state, 6, "%s", rc == EZ_DB_OK ? "" : ez_db_sqlstate(res));
    PQclear(res);
    return rc;
}

/* The replay path: rows whose producer exists are skipped. */
static int copy_skipping_existing(struct ez_db *db, const char *rows, size_t len, char state[6])
{
    int rc = run(db, "BEGIN", state);
    if (rc == EZ_DB_OK)
        rc = run(db, "CREATE TEMP TABLE IF NOT EXISTS audit_staging ON COMMIT DELETE ROWS "
                     "AS SELECT " COLUMNS " FROM audit_records WITH NO DATA", state);
    if (rc == EZ_DB_OK)
        rc = copy(db, COPY_INTO("audit_staging"), rows, len, state);
    if (rc == EZ_DB_OK)
        rc = run(db, "INSERT INTO audit_records (" COLUMNS ") SELECT " COLUMNS
                     " FROM audit_staging ON CONFLICT (producer) DO NOTHING", state);
    if (rc == EZ_DB_OK)
        return run(db, "COMMIT", state);
    char ignored[6];
    if (run(db, "ROLLBACK", ignored) != EZ_DB_OK)
        return EZ_DB_UNAVAILABLE;
    return rc;
}

/* What follows a COPY of rows that ended with rc (state its SQLSTATE): a
 * replay is written skipping the rows already there; when PostgreSQL
 * refuses some row's data (a data exception or a constraint, classes 22
 * and 23), the rows are written one at a time and only the refused ones
 * are dropped. Any other error is EZ_DB_UNAVAILABLE: write them later. */
static int settle(struct ez_db *db, const char *rows, size_t len, int rc, const char *state,
                  int *dropped)
{
    char st[6];
    snprintf(st, sizeof st, "%s", state);
    if (rc == EZ_DB_ERROR && strcmp(st, "23505") == 0)
        rc = copy_skipping_existing(db, rows, len, st);
    if (rc == EZ_DB_OK)
        return rc;
    if (rc != EZ_DB_ERROR || (strncmp(st, "22", 2) != 0 && strncmp(st, "23", 2) != 0))
        return EZ_DB_UNAVAILABLE;
    const char *end = rows + len;
    if (memchr(rows, '\n', len) == end - 1) {
        const char *producer = end - 1;
        while (producer > rows && producer[-1] != '\t')
            producer--;
        log_error("audit record %.*s refused by PostgreSQL (%s): dropped",
                  (int)(end - 1 - producer), producer, st);
        ++*dropped;
        return EZ_DB_OK;
    }
    for (const char *p = rows; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        char one[6];
        size_t n = (size_t)(nl - p) + 1;
        int one_rc = copy(db, COPY_INTO("audit_records"), p, n, one);
        if (settle(db, p, n, one_rc, one, dropped) != EZ_DB_OK)
            return EZ_DB_UNAVAILABLE; /* rows written so far are skipped when retried */
        p = nl + 1;
    }
    return EZ_DB_OK;
}

void ez_audit_batch_send(struct ez_db *db, struct ez_audit_batch *b)
{
    b->sent_rc = EZ_DB_OK;
    b->sent_state[0] = 0;
    if (b->rows == 0)
        return;
    PGresult *res;
    b->sent_rc = ez_db_copy_send(db, &res, COPY_INTO("audit_records"), b->text, b->len);
    snprintf(b->sent_state, sizeof b->sent_state, "%s", ez_db_sqlstate(res));
    PQclear(res);
}

int ez_audit_batch_finish(struct ez_db *db, struct ez_audit_batch *b, int *dropped)
{
    *dropped = 0;
    if (b->rows == 0)
        return EZ_DB_OK;
    int rc = b->sent_rc;
    char state[6];
    snprintf(state, sizeof state, "%s", b->sent_state);
    if (rc == EZ_DB_OK) {
        PGresult *res;
        rc = ez_db_sent_result(db, &res);
        snprintf(state, sizeof state, "%s", ez_db_sqlstate(res));
        PQclear(res);
    }
    return rc == EZ_DB_OK ? rc : settle(db, b->text, b->len, rc, state, dropped);
}

void ez_audit_batch_forget(struct ez_db *db, struct ez_audit_batch *b)
{
    if (b->rows > 0 && b->sent_rc == EZ_DB_OK) {
        PGresult *res;
        if (ez_db_sent_result(db, &res) != EZ_DB_OK)
            log_warn("an audit batch given up after another failed did not load either");
        PQclear(res);
    }
    ez_audit_batch_clear(b);
}

int ez_audit_batch_write(struct ez_db *db, struct ez_audit_batch *b, int *dropped)
{
    ez_audit_batch_send(db, b);
    return ez_audit_batch_finish(db, b, dropped);
}

void ez_audit_producer(const struct ez_frame *f, char out[80])
{
    snprintf(out, 80, "%016" PRIx64 "-%u-%u-%" PRIu64, ez_shm ? ez_shm->instance_id : 0,
             f->slot, f->generation, f->seq);
}
