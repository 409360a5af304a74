/* Loaders of key_digests + keys and of masters for the tenants projection,
 * one query or a cursor walked a batch at a time. Secrets are never read:
 * only their digests. */
#include "store_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"

#define TOKEN_COLS                                                                   \
    "SELECT d.digest, k.id, k.master_id, k.issued_at_epoch, k.status, k.group_name, " \
    "k.scopes, k.default_namespace, k.namespaces, k.model_limits, k.allow_ips, "        \
    "coalesce(floor(extract(epoch FROM k.expires_at))::bigint, 0), "                  \
    "coalesce(floor(extract(epoch FROM d.valid_until) * 1000000)::bigint, 0) "        \
    "FROM key_digests d JOIN keys k ON k.id = d.key_id "

#define MASTER_COLS                                                                  \
    "SELECT id, epoch, status, group_name, global_qps, default_namespace, "          \
    "namespaces FROM masters "

void ez_token_rows_free(struct ez_token_rows *t)
{
    PQclear(t->res);
    json_decref(t->lists);
    free(t->v);
    memset(t, 0, sizeof *t);
}

void ez_master_rows_free(struct ez_master_rows *m)
{
    PQclear(m->res);
    json_decref(m->lists);
    free(m->v);
    memset(m, 0, sizeof *m);
}

static int64_t col_i64(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static const char *col_str(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

/* One element of an array literal at *p (quoted, with backslash escapes,
 * or bare up to the next ',' or '}'); tmp has room for any element. */
static json_t *literal_element(const char **p, char *tmp)
{
    const char *s = *p;
    if (*s != '"') {
        size_t n = strcspn(s, ",}");
        *p = s + n;
        if (n == 0 || *s == '{')
            return NULL;
        return n == 4 && strncmp(s, "NULL", 4) == 0 ? json_null() : json_stringn_nocheck(s, n);
    }
    size_t n = 0;
    if (!tmp)
        return NULL;
    for (s++; *s && *s != '"'; s++) {
        if (*s == '\\' && s[1])
            s++;
        tmp[n++] = *s;
    }
    if (*s != '"')
        return NULL;
    *p = s + 1;
    return json_stringn_nocheck(tmp, n);
}

/* A text[] column, as PostgreSQL writes it ({a,"b c"}), as a JSON array
 * of strings kept alive by lists; NULL when SQL NULL or empty. -1 when it
 * is not a one-dimensional array literal. */
static int col_list(PGresult *r, int row, int col, json_t *lists, json_t **out)
{
    *out = NULL;
    if (PQgetisnull(r, row, col))
        return 0;
    const char *p = PQgetvalue(r, row, col);
    const char *bounds_end = *p == '[' ? strchr(p, '=') : NULL; /* [2:3]={...} */
    if (bounds_end)
        p = bounds_end + 1;
    if (*p++ != '{')
        return -1;
    if (strcmp(p, "}") == 0)
        return 0;
    json_t *arr = json_array();
    if (!arr || json_array_append_new(lists, arr) != 0)
        return -1;
    char *tmp = strchr(p, '"') ? malloc(strlen(p) + 1) : NULL;
    int rc = -1;
    for (;;) {
        json_t *v = literal_element(&p, tmp);
        if (!v || json_array_append_new(arr, v) != 0)
            break;
        if (*p == ',')
            p++;
        else {
            rc = strcmp(p, "}") == 0 ? 0 : -1;
            break;
        }
    }
    free(tmp);
    *out = arr;
    return rc;
}

/* The rows of res (which the set takes) as tokens. */
static int tokens_from(PGresult *res, struct ez_token_rows *out)
{
    memset(out, 0, sizeof *out);
    out->res = res;
    int rows = PQntuples(res);
    out->lists = json_array();
    out->v = calloc(rows ? (size_t)rows : 1, sizeof *out->v);
    if (!out->lists || !out->v) {
        ez_token_rows_free(out);
        return EZ_DB_ERROR;
    }
    for (int i = 0; i < rows; i++) {
        struct ez_token_row *t = &out->v[i];
        t->digest = PQgetvalue(res, i, 0);
        t->key_id = col_i64(res, i, 1);
        t->master_id = col_i64(res, i, 2);
        t->issued_at_epoch = col_i64(res, i, 3);
        t->status = PQgetvalue(res, i, 4);
        t->group = PQgetvalue(res, i, 5);
        t->default_namespace = col_str(res, i, 7);
        t->expires_at = col_i64(res, i, 11);
        t->valid_until_us = col_i64(res, i, 12);
        if (col_list(res, i, 6, out->lists, &t->scopes) != 0 ||
            col_list(res, i, 8, out->lists, &t->namespaces) != 0 ||
            col_list(res, i, 9, out->lists, &t->model_limits) != 0 ||
            col_list(res, i, 10, out->lists, &t->allow_ips) != 0) {
            log_error("key %lld: a list column is not an array", (long long)t->key_id);
            ez_token_rows_free(out);
            return EZ_DB_ERROR;
        }
    }
    out->n = rows;
    return EZ_DB_OK;
}

static int masters_from(PGresult *res, struct ez_master_rows *out)
{
    memset(out, 0, sizeof *out);
    out->res = res;
    int rows = PQntuples(res);
    out->lists = json_array();
    out->v = calloc(rows ? (size_t)rows : 1, sizeof *out->v);
    if (!out->lists || !out->v) {
        ez_master_rows_free(out);
        return EZ_DB_ERROR;
    }
    for (int i = 0; i < rows; i++) {
        struct ez_master_row *m = &out->v[i];
        m->id = col_i64(res, i, 0);
        m->epoch = col_i64(res, i, 1);
        m->status = PQgetvalue(res, i, 2);
        m->group = PQgetvalue(res, i, 3);
        m->global_qps = col_i64(res, i, 4);
        m->default_namespace = col_str(res, i, 5);
        if (col_list(res, i, 6, out->lists, &m->namespaces) != 0) {
            log_error("master %lld: namespaces is not an array", (long long)m->id);
            ez_master_rows_free(out);
            return EZ_DB_ERROR;
        }
    }
    out->n = rows;
    return EZ_DB_OK;
}

/* The rows of sql in *res, or the failure (with nothing to free). */
static int rows_of(struct ez_db *db, PGresult **res, const char *sql, int n,
                   const char *const *p)
{
    int rc = ez_db_exec(db, res, sql, n, p);
    if (rc != EZ_DB_OK) {
        PQclear(*res);
        *res = NULL;
    }
    return rc;
}

static int load_tokens(struct ez_db *db, struct ez_token_rows *out, const char *sql, int n,
                       const char *const *p)
{
    PGresult *res;
    memset(out, 0, sizeof *out);
    int rc = rows_of(db, &res, sql, n, p);
    return rc == EZ_DB_OK ? tokens_from(res, out) : rc;
}

static int load_masters(struct ez_db *db, struct ez_master_rows *out, const char *sql, int n,
                        const char *const *p)
{
    PGresult *res;
    memset(out, 0, sizeof *out);
    int rc = rows_of(db, &res, sql, n, p);
    return rc == EZ_DB_OK ? masters_from(res, out) : rc;
}

int ez_store_tokens_of_key(struct ez_db *db, int64_t key_id, struct ez_token_rows *out)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)key_id);
    const char *p[] = { id };
    return load_tokens(db, out, ez_store_tokens_of_key_sql, 1, p);
}

/* The statement of ez_store_tokens_of_key, prepared like every other. */
const char ez_store_tokens_of_key_sql[] = TOKEN_COLS "WHERE d.key_id = $1 ORDER BY d.digest";

int ez_store_tokens_from(PGresult *res, struct ez_token_rows *out)
{
    return tokens_from(res, out);
}

int ez_store_tokens_of_master_page(struct ez_db *db, int64_t master_id, int64_t after, int limit,
                                   struct ez_token_rows *out, int64_t *last)
{
    char id[24], from[24], lim[16];
    snprintf(id, sizeof id, "%lld", (long long)master_id);
    snprintf(from, sizeof from, "%lld", (long long)after);
    snprintf(lim, sizeof lim, "%d", limit);
    const char *p[] = { id, from, lim, NULL };
    PGresult *res;
    memset(out, 0, sizeof *out);
    *last = 0;
    /* The page's last key id first (a key may have no secret left), then
     * the secrets of the keys up to it: both walk keys (master_id, id). */
    int rc = rows_of(db, &res,
                     "SELECT coalesce(max(id), 0) FROM (SELECT id FROM keys WHERE master_id = $1 "
                     "AND id > $2 ORDER BY id LIMIT $3::int) page",
                     3, p);
    if (rc != EZ_DB_OK)
        return rc;
    *last = col_i64(res, 0, 0);
    PQclear(res);
    if (*last == 0)
        return EZ_DB_OK;
    char to[24];
    snprintf(to, sizeof to, "%lld", (long long)*last);
    p[2] = to;
    return load_tokens(db, out,
                       TOKEN_COLS "WHERE k.master_id = $1 AND k.id > $2 AND k.id <= $3 "
                                  "ORDER BY d.digest",
                       3, p);
}

/* arr as JSON text for a $n::json parameter (NULL on OOM); arr is freed. */
static char *list_param(json_t *arr)
{
    char *list = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    return list;
}

int ez_store_tokens_by_digests(struct ez_db *db, const char *const *digests, int n,
                             struct ez_token_rows *out)
{
    json_t *arr = json_array();
    for (int i = 0; arr && i < n; i++)
        json_array_append_new(arr, json_string(digests[i]));
    char *list = list_param(arr);
    if (!list)
        return EZ_DB_ERROR;
    const char *p[] = { list };
    int rc = load_tokens(db, out,
                         TOKEN_COLS "WHERE d.digest IN (SELECT json_array_elements_text($1::json))",
                         1, p);
    free(list);
    return rc;
}

int ez_store_masters_by_ids(struct ez_db *db, const int64_t *ids, int n, struct ez_master_rows *out)
{
    json_t *arr = json_array();
    for (int i = 0; arr && i < n; i++)
        json_array_append_new(arr, json_integer(ids[i]));
    char *list = list_param(arr);
    if (!list)
        return EZ_DB_ERROR;
    const char *p[] = { list };
    int rc = load_masters(db, out,
                          MASTER_COLS "WHERE id IN (SELECT json_array_elements_text($1::json)::bigint)",
                          1, p);
    free(list);
    return rc;
}

/* Reads sql through the cursor name, batch rows at a time, handing each
 * non-empty batch to take (which takes the result). The next batch is
 * asked for before take runs, so PostgreSQL reads it meanwhile. In a
 * transaction. */
static int each_batch(struct ez_db *db, const char *name, const char *sql, int batch,
                      int (*take)(void *arg, PGresult *res), void *arg)
{
    char q[1024], fetch[64];
    if (snprintf(q, sizeof q, "DECLARE %s NO SCROLL CURSOR FOR %s", name, sql) >= (int)sizeof q)
        return EZ_DB_ERROR;
    batch = batch > 0 ? batch : 1000;
    snprintf(fetch, sizeof fetch, "FETCH %d FROM %s", batch, name);
    int rc = ez_db_cmd(db, q, 0, NULL);
    if (rc == EZ_DB_OK)
        rc = ez_db_send(db, fetch);
    for (int more = rc == EZ_DB_OK; more;) {
        PGresult *res;
        rc = ez_db_sent_result(db, &res);
        int n = rc == EZ_DB_OK ? PQntuples(res) : 0;
        more = n == batch && (rc = ez_db_send(db, fetch)) == EZ_DB_OK;
        if (rc == EZ_DB_OK && n > 0)
            rc = take(arg, res);
        else
            PQclear(res);
        if (rc != EZ_DB_OK && more) {
            if (ez_db_sent_result(db, &res) != EZ_DB_UNAVAILABLE)
                PQclear(res); /* the batch asked for ahead, not wanted now */
            more = 0;
        }
    }
    snprintf(q, sizeof q, "CLOSE %s", name);
    if (PQtransactionStatus(ez_db_conn(db)) == PQTRANS_INTRANS &&
        ez_db_cmd(db, q, 0, NULL) != EZ_DB_OK && rc == EZ_DB_OK)
        rc = EZ_DB_UNAVAILABLE;
    return rc;
}

struct each {
    int (*tokens)(void *arg, const struct ez_token_rows *rows);
    int (*masters)(void *arg, const struct ez_master_rows *rows);
    void *arg;
};

static int take_tokens(void *arg, PGresult *res)
{
    struct each *e = arg;
    struct ez_token_rows t;
    int rc = tokens_from(res, &t);
    if (rc == EZ_DB_OK)
        rc = e->tokens(e->arg, &t);
    ez_token_rows_free(&t);
    return rc;
}

static int take_masters(void *arg, PGresult *res)
{
    struct each *e = arg;
    struct ez_master_rows m;
    int rc = masters_from(res, &m);
    if (rc == EZ_DB_OK)
        rc = e->masters(e->arg, &m);
    ez_master_rows_free(&m);
    return rc;
}

int ez_store_tokens_each(struct ez_db *db, int batch,
                       int (*fn)(void *arg, const struct ez_token_rows *rows), void *arg)
{
    struct each e = { .tokens = fn, .arg = arg };
    return each_batch(db, "ez_walk_tokens", TOKEN_COLS "ORDER BY k.id, d.digest", batch,
                      take_tokens, &e);
}

int ez_store_masters_each(struct ez_db *db, int batch,
                        int (*fn)(void *arg, const struct ez_master_rows *rows), void *arg)
{
    struct each e = { .masters = fn, .arg = arg };
    return each_batch(db, "ez_walk_masters", MASTER_COLS "ORDER BY id", batch, take_masters, &e);
}

int ez_store_clock_us(struct ez_db *db, int64_t *now_us)
{
    PGresult *r;
    int rc = ez_db_exec(db, &r,
                        "SELECT floor(extract(epoch FROM clock_timestamp()) * 1000000)::bigint",
                        0, NULL);
    if (rc == EZ_DB_OK)
        *now_us = col_i64(r, 0, 0);
    PQclear(r);
    return rc;
}
