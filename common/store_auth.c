/* Loaders of key_digests + keys and of masters for the tenants projection.
 * Secrets are never read: only their digests. */
#include "store_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define TOKEN_COLS                                                                   \
    "SELECT d.digest, k.id, k.master_id, k.issued_at_epoch, k.status, k.group_name, " \
    "array_to_json(k.scopes), k.default_namespace, array_to_json(k.namespaces), "     \
    "array_to_json(k.model_limits), array_to_json(k.allow_ips), "                     \
    "coalesce(floor(extract(epoch FROM k.expires_at))::bigint, 0), "                  \
    "coalesce(floor(extract(epoch FROM d.valid_until) * 1000000)::bigint, 0) "        \
    "FROM key_digests d JOIN keys k ON k.id = d.key_id "

#define MASTER_COLS                                                                  \
    "SELECT id, epoch, status, group_name, global_qps, default_namespace, "          \
    "array_to_json(namespaces) FROM masters "

void ez_pja_tokens_free(struct ez_pja_tokens *t)
{
    PQclear(t->res);
    json_decref(t->lists);
    free(t->v);
    memset(t, 0, sizeof *t);
}

void ez_pja_masters_free(struct ez_pja_masters *m)
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

/* A JSON array column, kept alive by lists; NULL when SQL NULL. -1 when
 * it does not parse. */
static int col_list(PGresult *r, int row, int col, json_t *lists, json_t **out)
{
    *out = NULL;
    if (PQgetisnull(r, row, col))
        return 0;
    json_t *v = json_loads(PQgetvalue(r, row, col), 0, NULL);
    if (!json_is_array(v) || json_array_append_new(lists, v) != 0) {
        if (!json_is_array(v))
            json_decref(v);
        return -1;
    }
    *out = v;
    return 0;
}

static int load_tokens(struct ez_db *db, struct ez_pja_tokens *out, const char *sql, int n,
                       const char *const *p)
{
    memset(out, 0, sizeof *out);
    int rc = ez_db_exec(db, &out->res, sql, n, p);
    if (rc != EZ_DB_OK) {
        ez_pja_tokens_free(out);
        return rc;
    }
    int rows = PQntuples(out->res);
    out->lists = json_array();
    out->v = calloc(rows ? (size_t)rows : 1, sizeof *out->v);
    if (!out->lists || !out->v) {
        ez_pja_tokens_free(out);
        return EZ_DB_ERROR;
    }
    for (int i = 0; i < rows; i++) {
        struct ez_pj_token *t = &out->v[i];
        PGresult *r = out->res;
        t->digest = PQgetvalue(r, i, 0);
        t->key_id = col_i64(r, i, 1);
        t->master_id = col_i64(r, i, 2);
        t->issued_at_epoch = col_i64(r, i, 3);
        t->status = PQgetvalue(r, i, 4);
        t->group = PQgetvalue(r, i, 5);
        t->default_namespace = col_str(r, i, 7);
        t->expires_at = col_i64(r, i, 11);
        t->valid_until_us = col_i64(r, i, 12);
        if (col_list(r, i, 6, out->lists, &t->scopes) != 0 ||
            col_list(r, i, 8, out->lists, &t->namespaces) != 0 ||
            col_list(r, i, 9, out->lists, &t->model_limits) != 0 ||
            col_list(r, i, 10, out->lists, &t->allow_ips) != 0) {
            log_error("key %lld: a list column is not a JSON array", (long long)t->key_id);
            ez_pja_tokens_free(out);
            return EZ_DB_ERROR;
        }
    }
    out->n = rows;
    return EZ_DB_OK;
}

static int load_masters(struct ez_db *db, struct ez_pja_masters *out, const char *sql, int n,
                        const char *const *p)
{
    memset(out, 0, sizeof *out);
    int rc = ez_db_exec(db, &out->res, sql, n, p);
    if (rc != EZ_DB_OK) {
        ez_pja_masters_free(out);
        return rc;
    }
    int rows = PQntuples(out->res);
    out->lists = json_array();
    out->v = calloc(rows ? (size_t)rows : 1, sizeof *out->v);
    if (!out->lists || !out->v) {
        ez_pja_masters_free(out);
        return EZ_DB_ERROR;
    }
    for (int i = 0; i < rows; i++) {
        struct ez_pj_master *m = &out->v[i];
        PGresult *r = out->res;
        m->id = col_i64(r, i, 0);
        m->epoch = col_i64(r, i, 1);
        m->status = PQgetvalue(r, i, 2);
        m->group = PQgetvalue(r, i, 3);
        m->global_qps = col_i64(r, i, 4);
        m->default_namespace = col_str(r, i, 5);
        if (col_list(r, i, 6, out->lists, &m->namespaces) != 0) {
            log_error("master %lld: namespaces is not a JSON array", (long long)m->id);
            ez_pja_masters_free(out);
            return EZ_DB_ERROR;
        }
    }
    out->n = rows;
    return EZ_DB_OK;
}

int ez_pja_tokens_of_key(struct ez_db *db, int64_t key_id, struct ez_pja_tokens *out)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)key_id);
    const char *p[] = { id };
    return load_tokens(db, out, TOKEN_COLS "WHERE d.key_id = $1 ORDER BY d.digest", 1, p);
}

int ez_pja_tokens_of_master(struct ez_db *db, int64_t master_id, struct ez_pja_tokens *out)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)master_id);
    const char *p[] = { id };
    return load_tokens(db, out, TOKEN_COLS "WHERE k.master_id = $1 ORDER BY d.digest", 1, p);
}

int ez_pja_tokens_after(struct ez_db *db, const char *after, int limit,
                        struct ez_pja_tokens *out)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit);
    const char *p[] = { after ? after : "", lim };
    return load_tokens(db, out, TOKEN_COLS "WHERE d.digest > $1 ORDER BY d.digest LIMIT $2", 2,
                       p);
}

int ez_pja_tokens_by_digests(struct ez_db *db, const char *const *digests, int n,
                             struct ez_pja_tokens *out)
{
    json_t *arr = json_array();
    for (int i = 0; arr && i < n; i++)
        json_array_append_new(arr, json_string(digests[i]));
    char *list = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    if (!list)
        return EZ_DB_ERROR;
    const char *p[] = { list };
    int rc = load_tokens(db, out,
                         TOKEN_COLS "WHERE d.digest IN (SELECT json_array_elements_text($1::json))",
                         1, p);
    free(list);
    return rc;
}

int ez_pja_masters_by_ids(struct ez_db *db, const int64_t *ids, int n, struct ez_pja_masters *out)
{
    json_t *arr = json_array();
    for (int i = 0; arr && i < n; i++)
        json_array_append_new(arr, json_integer(ids[i]));
    char *list = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    if (!list)
        return EZ_DB_ERROR;
    const char *p[] = { list };
    int rc = load_masters(db, out,
                          MASTER_COLS "WHERE id IN (SELECT json_array_elements_text($1::json)::bigint)",
                          1, p);
    free(list);
    return rc;
}

int ez_pja_master_by_id(struct ez_db *db, int64_t id, struct ez_pja_masters *out)
{
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    const char *p[] = { ids };
    return load_masters(db, out, MASTER_COLS "WHERE id = $1", 1, p);
}

int ez_pja_masters_after(struct ez_db *db, int64_t after_id, int limit,
                         struct ez_pja_masters *out)
{
    char after[24], lim[16];
    snprintf(after, sizeof after, "%lld", (long long)after_id);
    snprintf(lim, sizeof lim, "%d", limit);
    const char *p[] = { after, lim };
    return load_masters(db, out, MASTER_COLS "WHERE id > $1 ORDER BY id LIMIT $2", 2, p);
}

int ez_pja_clock_us(struct ez_db *db, int64_t *now_us)
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
