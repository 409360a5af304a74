/* Loads the rows of the projection from PostgreSQL (parameterised SQL
 * only) and composes them with the pure functions of projection.c into
 * write sets. Reads only: nothing here writes PostgreSQL or touches Redis. */
#include "store_projection.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "secrets.h"

#define EPOCH(col) "floor(extract(epoch FROM " col "))::bigint"
#define GROUP_COLS                                                                           \
    "id, name, type, base_url, google_project, google_location, array_to_json(models)::text, " \
    "status, " EPOCH("updated_at")
#define KEY_COLS                                                                          \
    "id, group_id, CASE WHEN $3::boolean THEN api_key END, weight, status, auto_ban, " \
    "ban_reason, coalesce(" EPOCH("ban_until") ", 0), " EPOCH("updated_at")
#define BINDING_COLS                                                                  \
    "id, namespace, public_model, group_id, weight, selector_type, selector_value, " \
    "status, " EPOCH("updated_at")
#define MODEL_COLS                                                                      \
    "m.name, m.kind, m.context_window, m.max_output_tokens, m.cost_per_token, "         \
    "m.supports_vision, m.supports_functions, m.supports_tool_choice, m.supports_fim, " \
    "m.supports_stream, " EPOCH("m.updated_at")

/* Rows per query when meta:models is streamed for its checksum. */
#define META_BATCH 500

/* ---- Column helpers --------------------------------------------------- */

static const char *col_str(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static int64_t col_i64(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static int col_bool(const PGresult *r, int row, int col)
{
    return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

static int col_tri(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? EZ_FLAG_UNSET : col_bool(r, row, col);
}

/* "{1,2,3}" for a bigint[] parameter. malloc'd. */
static char *ids_param(const int64_t *ids, int n)
{
    size_t len = 3 + (size_t)(n > 0 ? n : 0) * 21;
    char *s = malloc(len);
    if (!s)
        return NULL;
    size_t o = 0;
    s[o++] = '{';
    for (int i = 0; i < n; i++)
        o += (size_t)snprintf(s + o, len - o, "%s%" PRId64, i ? "," : "", ids[i]);
    snprintf(s + o, len - o, "}");
    return s;
}

static int oom(const char *what)
{
    log_error("projection: out of memory while building %s", what);
    return EZ_DB_ERROR;
}

/* ---- Groups ------------------------------------------------------------ */

void ez_group_rows_free(struct ez_group_rows *g)
{
    PQclear(g->res);
    json_decref(g->lists);
    free(g->names);
    free(g->v);
    memset(g, 0, sizeof *g);
}

static int groups_parse(struct ez_group_rows *g)
{
    int n = PQntuples(g->res);
    g->lists = json_array();
    g->v = calloc((size_t)n + 1, sizeof *g->v);
    if (!g->lists || !g->v)
        return oom("provider groups");
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        json_t *l = json_loads(PQgetvalue(g->res, i, 6), 0, NULL);
        if (!json_is_array(l)) {
            json_decref(l);
            log_error("provider group %s: models is not a list", PQgetvalue(g->res, i, 0));
            return EZ_DB_ERROR;
        }
        total += json_array_size(l);
        json_array_append_new(g->lists, l);
    }
    g->names = calloc(total + 1, sizeof *g->names);
    if (!g->names)
        return oom("provider groups");
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        struct ez_group_row *x = &g->v[i];
        json_t *l = json_array_get(g->lists, (size_t)i);
        x->id = col_i64(g->res, i, 0);
        x->name = col_str(g->res, i, 1);
        x->type = col_str(g->res, i, 2);
        x->base_url = col_str(g->res, i, 3);
        x->google_project = col_str(g->res, i, 4);
        x->google_location = col_str(g->res, i, 5);
        x->models = g->names + at;
        for (size_t j = 0; j < json_array_size(l); j++) {
            const char *m = json_string_value(json_array_get(l, j));
            g->names[at + x->nmodels] = m ? m : "";
            x->nmodels++;
        }
        at += (size_t)x->nmodels;
        x->status = col_str(g->res, i, 7);
        x->updated_at = col_i64(g->res, i, 8);
    }
    g->n = n;
    return EZ_DB_OK;
}

static int groups_query(struct ez_db *db, struct ez_group_rows *out, const char *sql, int np,
                        const char *const *p)
{
    memset(out, 0, sizeof *out);
    int rc = ez_db_exec(db, &out->res, sql, np, p);
    if (rc == EZ_DB_OK)
        rc = groups_parse(out);
    if (rc != EZ_DB_OK)
        ez_group_rows_free(out);
    return rc;
}

int ez_store_groups_by_ids(struct ez_db *db, const int64_t *ids, int n, struct ez_group_rows *out)
{
    char *arr = ids_param(ids, n);
    if (!arr) {
        memset(out, 0, sizeof *out);
        return oom("provider groups");
    }
    const char *p[] = { arr };
    int rc = groups_query(db, out,
                          "SELECT " GROUP_COLS " FROM provider_groups "
                          "WHERE id = ANY($1::bigint[]) ORDER BY id", 1, p);
    free(arr);
    return rc;
}

static int ez_store_group_by_name(struct ez_db *db, const char *name, struct ez_group_rows *out)
{
    const char *p[] = { name };
    return groups_query(db, out,
                        "SELECT " GROUP_COLS " FROM provider_groups WHERE name = $1", 1, p);
}

/* Streaming: up to limit groups with id > after_id. */
static int ez_store_groups_after(struct ez_db *db, int64_t after_id, int limit, struct ez_group_rows *out)
{
    char a[24], l[16];
    snprintf(a, sizeof a, "%" PRId64, after_id);
    snprintf(l, sizeof l, "%d", limit);
    const char *p[] = { a, l };
    return groups_query(db, out,
                        "SELECT " GROUP_COLS " FROM provider_groups "
                        "WHERE id > $1 ORDER BY id LIMIT $2", 2, p);
}

static const struct ez_group_row *find_group(const struct ez_group_rows *g, int64_t id)
{
    int lo = 0, hi = g->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (g->v[mid].id == id)
            return &g->v[mid];
        if (g->v[mid].id < id)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

/* ---- Keys -------------------------------------------------------------- */

void ez_api_key_rows_free(struct ez_api_key_rows *k)
{
    for (int i = 0; k->clear && i < k->n; i++) {
        if (k->clear[i]) {
            volatile char *p = k->clear[i];
            while (*p)
                *p++ = 0;
            free(k->clear[i]);
        }
    }
    PQclear(k->res);
    free(k->clear);
    free(k->v);
    memset(k, 0, sizeof *k);
}

static int keys_parse(struct ez_api_key_rows *k, const struct ez_config *cfg)
{
    int n = PQntuples(k->res);
    k->v = calloc((size_t)n + 1, sizeof *k->v);
    k->clear = calloc((size_t)n + 1, sizeof *k->clear);
    if (!k->v || !k->clear)
        return oom("api keys");
    k->n = n;
    for (int i = 0; i < n; i++) {
        struct ez_api_key_row *x = &k->v[i];
        x->id = col_i64(k->res, i, 0);
        x->group_id = col_i64(k->res, i, 1);
        const char *stored = col_str(k->res, i, 2);
        if (cfg && stored) {
            k->clear[i] = ez_secret_open(cfg, stored);
            if (!k->clear[i])
                log_error("api key %" PRId64 ": its stored credential cannot be decrypted "
                          "(secrets_key missing or different); projected as an empty api_key",
                          x->id);
            x->api_key = k->clear[i] ? k->clear[i] : "";
        }
        x->weight = (int)col_i64(k->res, i, 3);
        x->status = col_str(k->res, i, 4);
        x->auto_ban = col_bool(k->res, i, 5);
        x->ban_reason = col_str(k->res, i, 6);
        x->ban_until = col_i64(k->res, i, 7);
        x->updated_at = col_i64(k->res, i, 8);
    }
    return EZ_DB_OK;
}

static int keys_query(struct ez_db *db, const struct ez_config *cfg, struct ez_api_key_rows *out,
                      const char *sql, const char *p1, const char *p2)
{
    memset(out, 0, sizeof *out);
    const char *p[] = { p1, p2, cfg ? "true" : "false" };
    int rc = ez_db_exec(db, &out->res, sql, 3, p);
    if (rc == EZ_DB_OK)
        rc = keys_parse(out, cfg);
    if (rc != EZ_DB_OK)
        ez_api_key_rows_free(out);
    return rc;
}

int ez_store_keys_load(struct ez_db *db, const struct ez_config *cfg, const int64_t *group_ids,
                     int ngroups, const int64_t *key_ids, int nkeys, struct ez_api_key_rows *out)
{
    char *g = ids_param(group_ids, ngroups), *k = ids_param(key_ids, nkeys);
    int rc;
    if (!g || !k) {
        memset(out, 0, sizeof *out);
        rc = oom("api keys");
    } else {
        rc = keys_query(db, cfg, out,
                        "SELECT " KEY_COLS " FROM api_keys "
                        "WHERE group_id = ANY($1::bigint[]) OR id = ANY($2::bigint[]) "
                        "ORDER BY group_id, id", g, k);
    }
    free(g);
    free(k);
    return rc;
}

/* Streaming: up to limit keys with id > after_id, ordered by id. */
static int ez_store_keys_after(struct ez_db *db, const struct ez_config *cfg, int64_t after_id, int limit,
                      struct ez_api_key_rows *out)
{
    char a[24], l[16];
    snprintf(a, sizeof a, "%" PRId64, after_id);
    snprintf(l, sizeof l, "%d", limit);
    return keys_query(db, cfg, out,
                      "SELECT " KEY_COLS " FROM api_keys WHERE id > $1 ORDER BY id LIMIT $2", a,
                      l);
}

/* The keys of group_id in a set ordered by (group_id, id). */
static const struct ez_api_key_row *keys_of(const struct ez_api_key_rows *k, int64_t group_id, int *n)
{
    int lo = 0, hi = k->n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (k->v[mid].group_id < group_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    int end = lo;
    while (end < k->n && k->v[end].group_id == group_id)
        end++;
    *n = end - lo;
    return k->v + lo;
}

/* ---- Bindings ---------------------------------------------------------- */

void ez_binding_rows_free(struct ez_binding_rows *b)
{
    PQclear(b->res);
    free(b->v);
    memset(b, 0, sizeof *b);
}

static int bindings_query(struct ez_db *db, struct ez_binding_rows *out, const char *sql, int np,
                          const char *const *p)
{
    memset(out, 0, sizeof *out);
    int rc = ez_db_exec(db, &out->res, sql, np, p);
    if (rc != EZ_DB_OK) {
        ez_binding_rows_free(out);
        return rc;
    }
    int n = PQntuples(out->res);
    out->v = calloc((size_t)n + 1, sizeof *out->v);
    if (!out->v) {
        ez_binding_rows_free(out);
        return oom("bindings");
    }
    for (int i = 0; i < n; i++) {
        struct ez_binding_row *x = &out->v[i];
        x->id = col_i64(out->res, i, 0);
        x->ns = col_str(out->res, i, 1);
        x->public_model = col_str(out->res, i, 2);
        x->group_id = col_i64(out->res, i, 3);
        x->weight = (int)col_i64(out->res, i, 4);
        x->selector_type = col_str(out->res, i, 5);
        x->selector_value = col_str(out->res, i, 6);
        x->status = col_str(out->res, i, 7);
        x->updated_at = col_i64(out->res, i, 8);
    }
    out->n = n;
    return EZ_DB_OK;
}

static int ez_store_bindings_by_name(struct ez_db *db, const char *ns, const char *public_model,
                            struct ez_binding_rows *out)
{
    const char *p[] = { ns, public_model };
    return bindings_query(db, out,
                          "SELECT " BINDING_COLS " FROM bindings "
                          "WHERE namespace = $1 AND public_model = $2 ORDER BY id", 2, p);
}

int ez_store_binding_by_id(struct ez_db *db, int64_t id, struct ez_binding_rows *out)
{
    char a[24];
    snprintf(a, sizeof a, "%" PRId64, id);
    const char *p[] = { a };
    return bindings_query(db, out, "SELECT " BINDING_COLS " FROM bindings WHERE id = $1", 1, p);
}

int ez_store_bindings_of_group(struct ez_db *db, int64_t group_id, struct ez_binding_rows *out)
{
    char a[24];
    snprintf(a, sizeof a, "%" PRId64, group_id);
    const char *p[] = { a };
    return bindings_query(db, out,
                          "SELECT " BINDING_COLS " FROM bindings WHERE group_id = $1 ORDER BY id",
                          1, p);
}

int ez_store_bindings_of_model(struct ez_db *db, const char *public_model,
                             struct ez_binding_rows *out)
{
    const char *p[] = { public_model };
    return bindings_query(db, out,
                          "SELECT " BINDING_COLS " FROM bindings WHERE public_model = $1 "
                          "ORDER BY id", 1, p);
}

/* Streaming: distinct (namespace, public_model) names with a field name
 * ("<ns>.<pm>") after `after` in byte order (after "" = from the start);
 * one row per name, other columns of the lowest id. */
static int ez_store_binding_names_after(struct ez_db *db, const char *after, int limit,
                               struct ez_binding_rows *out)
{
    char l[16];
    snprintf(l, sizeof l, "%d", limit);
    const char *p[] = { after, l };
    return bindings_query(db, out,
                          "SELECT " BINDING_COLS " FROM (SELECT DISTINCT ON (namespace, "
                          "public_model) * FROM bindings ORDER BY namespace, public_model, id) b "
                          "WHERE (namespace || '.' || public_model) COLLATE \"C\" > $1 "
                          "ORDER BY (namespace || '.' || public_model) COLLATE \"C\" LIMIT $2",
                          2, p);
}

/* ---- Models ------------------------------------------------------------ */

static void model_row(const PGresult *r, int row, int c, struct ez_model_row *m)
{
    memset(m, 0, sizeof *m);
    m->name = col_str(r, row, c);
    m->kind = col_str(r, row, c + 1);
    m->context_window = col_i64(r, row, c + 2);
    m->max_output_tokens = col_i64(r, row, c + 3);
    m->has_cost = !PQgetisnull(r, row, c + 4);
    m->cost_per_token = m->has_cost ? strtod(PQgetvalue(r, row, c + 4), NULL) : 0;
    m->supports_vision = col_tri(r, row, c + 5);
    m->supports_functions = col_tri(r, row, c + 6);
    m->supports_tool_choice = col_tri(r, row, c + 7);
    m->supports_fim = col_tri(r, row, c + 8);
    m->supports_stream = col_tri(r, row, c + 9);
    m->updated_at = col_i64(r, row, c + 10);
}

int ez_store_model_name(struct ez_db *db, int64_t id, char **name)
{
    *name = NULL;
    char a[24];
    snprintf(a, sizeof a, "%" PRId64, id);
    const char *p[] = { a };
    PGresult *res;
    int rc = ez_db_exec(db, &res, "SELECT name FROM models WHERE id = $1", 1, p);
    if (rc == EZ_DB_OK && PQntuples(res) == 1 && !(*name = strdup(PQgetvalue(res, 0, 0))))
        rc = oom("models");
    PQclear(res);
    return rc;
}

int ez_store_unbanned_groups(struct ez_db *db, int64_t since, int64_t until, int64_t **ids, int *n)
{
    *ids = NULL;
    *n = 0;
    char a[24], b[24];
    snprintf(a, sizeof a, "%" PRId64, since);
    snprintf(b, sizeof b, "%" PRId64, until);
    const char *p[] = { a, b };
    PGresult *res;
    int rc = ez_db_exec(db, &res,
                        "SELECT DISTINCT group_id FROM api_keys WHERE ban_until IS NOT NULL "
                        "AND " EPOCH("ban_until") " > $1 AND " EPOCH("ban_until") " <= $2 "
                        "ORDER BY group_id", 2, p);
    if (rc == EZ_DB_OK) {
        int rows = PQntuples(res);
        *ids = calloc((size_t)rows + 1, sizeof **ids);
        if (!*ids)
            rc = oom("api keys");
        for (int i = 0; *ids && i < rows; i++)
            (*ids)[i] = col_i64(res, i, 0);
        *n = *ids ? rows : 0;
    }
    PQclear(res);
    return rc;
}

/* ---- Units ------------------------------------------------------------- */

static int own(struct ez_write_set *s, const char *key, const char *field)
{
    return ez_write_set_own(s, key, field) == 0 ? EZ_DB_OK : oom(key);
}

static int put_json(struct ez_write_set *s, const char *key, const char *field, json_t *v)
{
    if (!v) {
        log_error("projection: cannot build the value of %s %s (out of memory, or a text "
                  "column that is not UTF-8)", key, field);
        return EZ_DB_ERROR;
    }
    return ez_write_set_put_json(s, key, field, v) == 0 ? EZ_DB_OK : oom(key);
}

int ez_project_namespace(struct ez_db *db, struct ez_write_set *s, const char *name)
{
    int rc = own(s, EZ_KEY_NAMESPACES, name);
    if (rc != EZ_DB_OK)
        return rc;
    PGresult *res;
    const char *p[] = { name };
    if (name)
        rc = ez_db_exec(db, &res, "SELECT name, status FROM namespaces WHERE name = $1", 1, p);
    else
        rc = ez_db_exec(db, &res, "SELECT name, status FROM namespaces ORDER BY name", 0, NULL);
    for (int i = 0; rc == EZ_DB_OK && i < PQntuples(res); i++)
        rc = put_json(s, EZ_KEY_NAMESPACES, PQgetvalue(res, i, 0),
                      ez_projection_namespace_json(PQgetvalue(res, i, 0), PQgetvalue(res, i, 1)));
    PQclear(res);
    return rc;
}

int ez_project_providers(struct ez_db *db, const struct ez_config *cfg, struct ez_write_set *s,
                          const int64_t *group_ids, int ngroups, const int64_t *key_ids, int nkeys)
{
    char field[24];
    for (int i = 0; i < nkeys; i++) {
        snprintf(field, sizeof field, "%" PRId64, key_ids[i]);
        if (own(s, EZ_KEY_PROVIDERS, field) != EZ_DB_OK)
            return EZ_DB_ERROR;
    }
    struct ez_api_key_rows keys;
    int rc = ez_store_keys_load(db, cfg, group_ids, ngroups, key_ids, nkeys, &keys);
    if (rc != EZ_DB_OK)
        return rc;
    int64_t *gids = calloc((size_t)keys.n + 1, sizeof *gids);
    int ng = 0;
    for (int i = 0; gids && i < keys.n; i++) {
        if (ng == 0 || gids[ng - 1] != keys.v[i].group_id)
            gids[ng++] = keys.v[i].group_id;
    }
    struct ez_group_rows groups = { 0 };
    rc = gids ? ez_store_groups_by_ids(db, gids, ng, &groups) : oom("api keys");
    for (int i = 0; rc == EZ_DB_OK && i < keys.n; i++) {
        snprintf(field, sizeof field, "%" PRId64, keys.v[i].id);
        rc = own(s, EZ_KEY_PROVIDERS, field);
        const struct ez_group_row *g = find_group(&groups, keys.v[i].group_id);
        if (rc == EZ_DB_OK && g)
            rc = put_json(s, EZ_KEY_PROVIDERS, field, ez_projection_provider_json(g, &keys.v[i]));
    }
    free(gids);
    ez_group_rows_free(&groups);
    ez_api_key_rows_free(&keys);
    return rc;
}

int ez_project_route(struct ez_db *db, struct ez_write_set *s, const char *group_name, int64_t now)
{
    size_t len = strlen(EZ_KEY_ROUTE_PREFIX) + strlen(group_name) + 1;
    char *key = malloc(len);
    if (!key)
        return oom("route");
    snprintf(key, len, "%s%s", EZ_KEY_ROUTE_PREFIX, group_name);
    int rc = own(s, key, NULL);
    struct ez_group_rows g = { 0 };
    struct ez_api_key_rows keys = { 0 };
    if (rc == EZ_DB_OK)
        rc = ez_store_group_by_name(db, group_name, &g);
    if (rc == EZ_DB_OK && g.n == 1)
        rc = ez_store_keys_load(db, NULL, &g.v[0].id, 1, NULL, 0, &keys);
    for (int i = 0; rc == EZ_DB_OK && g.n == 1 && i < keys.n; i++) {
        if (!ez_projection_routable(&g.v[0], &keys.v[i], now))
            continue;
        char field[24], *weight = malloc(16);
        snprintf(field, sizeof field, "%" PRId64, keys.v[i].id);
        if (weight)
            snprintf(weight, 16, "%d", keys.v[i].weight);
        if (ez_write_set_put(s, key, field, weight) != 0)
            rc = oom(key);
    }
    ez_api_key_rows_free(&keys);
    ez_group_rows_free(&g);
    free(key);
    return rc;
}

/* Loads the candidates of one binding name: its rows, their groups, and
 * the keys of those groups. */
struct bound_rows {
    struct ez_binding_rows b;
    struct ez_group_rows g;
    struct ez_api_key_rows k;
    struct ez_candidate_rows *c;
};

static void bound_free(struct bound_rows *r)
{
    ez_binding_rows_free(&r->b);
    ez_group_rows_free(&r->g);
    ez_api_key_rows_free(&r->k);
    free(r->c);
    r->c = NULL;
}

/* r->b is loaded; loads the rest and fills r->c (r->b.n entries). */
static int bound_complete(struct ez_db *db, struct bound_rows *r)
{
    int n = r->b.n;
    int64_t *gids = calloc((size_t)n + 1, sizeof *gids);
    r->c = calloc((size_t)n + 1, sizeof *r->c);
    if (!gids || !r->c) {
        free(gids);
        return oom("binding");
    }
    for (int i = 0; i < n; i++)
        gids[i] = r->b.v[i].group_id;
    int rc = ez_store_groups_by_ids(db, gids, n, &r->g);
    if (rc == EZ_DB_OK)
        rc = ez_store_keys_load(db, NULL, gids, n, NULL, 0, &r->k);
    free(gids);
    for (int i = 0; rc == EZ_DB_OK && i < n; i++) {
        r->c[i].b = &r->b.v[i];
        r->c[i].g = find_group(&r->g, r->b.v[i].group_id);
        r->c[i].keys = keys_of(&r->k, r->b.v[i].group_id, &r->c[i].nkeys);
    }
    return rc;
}

static int unit_model(struct ez_db *db, struct ez_write_set *s, const char *ns,
                      const char *public_model, const char *field)
{
    int rc = own(s, EZ_KEY_MODELS, field);
    if (rc != EZ_DB_OK)
        return rc;
    PGresult *res;
    const char *p[] = { ns, public_model };
    rc = ez_db_exec(db, &res,
                    "SELECT " MODEL_COLS " FROM models m WHERE m.name = $2 AND EXISTS "
                    "(SELECT 1 FROM bindings WHERE namespace = $1 AND public_model = $2)",
                    2, p);
    if (rc == EZ_DB_OK && PQntuples(res) == 1) {
        struct ez_model_row m;
        model_row(res, 0, 0, &m);
        rc = put_json(s, EZ_KEY_MODELS, field, ez_projection_model_json(&m));
    }
    PQclear(res);
    return rc;
}

int ez_project_binding(struct ez_db *db, struct ez_write_set *s, const char *ns,
                        const char *public_model, int what, int64_t now)
{
    char *field = ez_projection_binding_field(ns, public_model);
    if (!field)
        return oom("binding");
    int rc = EZ_DB_OK;
    if (what & EZ_PROJECT_BINDING) {
        struct bound_rows r = { 0 };
        rc = own(s, EZ_KEY_BINDINGS, field);
        if (rc == EZ_DB_OK)
            rc = ez_store_bindings_by_name(db, ns, public_model, &r.b);
        if (rc == EZ_DB_OK && r.b.n > 0) {
            rc = bound_complete(db, &r);
            if (rc == EZ_DB_OK)
                rc = put_json(s, EZ_KEY_BINDINGS, field, ez_projection_binding_json(r.c, r.b.n, now));
        }
        bound_free(&r);
    }
    if (rc == EZ_DB_OK && (what & EZ_PROJECT_MODEL))
        rc = unit_model(db, s, ns, public_model, field);
    free(field);
    return rc;
}

/* Walks the whole meta:models projection in field byte order, in batches,
 * feeding the checksum and handing each field's JSON (owned) to fn. */
typedef int (*model_fn)(void *arg, const char *field, char *json);

static int models_walk(struct ez_db *db, struct ez_models_checksum *sum, model_fn fn, void *arg)
{
    char *last = NULL;
    char limit[16];
    snprintf(limit, sizeof limit, "%d", META_BATCH);
    int rc;
    for (;;) {
        PGresult *res;
        const char *p[] = { last ? last : "", limit };
        rc = ez_db_exec(db, &res,
                        "SELECT b.f, " MODEL_COLS ", b.updated FROM (SELECT namespace || '.' || "
                        "public_model AS f, public_model, max(" EPOCH("updated_at") ") AS updated "
                        "FROM bindings GROUP BY namespace, public_model) b "
                        "JOIN models m ON m.name = b.public_model "
                        "WHERE b.f COLLATE \"C\" > $1 ORDER BY b.f COLLATE \"C\" LIMIT $2",
                        2, p);
        if (rc != EZ_DB_OK) {
            PQclear(res);
            break;
        }
        int n = PQntuples(res);
        for (int i = 0; rc == EZ_DB_OK && i < n; i++) {
            struct ez_model_row m;
            model_row(res, i, 1, &m);
            const char *field = PQgetvalue(res, i, 0);
            json_t *v = ez_projection_model_json(&m);
            char *json = ez_projection_dump(v);
            json_decref(v);
            if (!json) {
                log_error("projection: cannot build meta:models %s (out of memory, or text "
                          "that is not UTF-8)", field);
                rc = EZ_DB_ERROR;
            } else if (ez_models_checksum_add(sum, field, json) != 0) {
                free(json);
                rc = oom("meta:models_meta");
            } else {
                rc = fn(arg, field, json);
            }
            if (m.updated_at > sum->updated_at)
                sum->updated_at = m.updated_at;
            int64_t b = col_i64(res, i, 12);
            if (b > sum->updated_at)
                sum->updated_at = b;
        }
        free(last);
        last = n > 0 ? strdup(PQgetvalue(res, n - 1, 0)) : NULL;
        PQclear(res);
        if (rc != EZ_DB_OK || n < META_BATCH)
            break;
        if (!last) {
            rc = oom("meta:models_meta");
            break;
        }
    }
    free(last);
    return rc;
}

/* The six fields of meta:models_meta from a finished walk (frees sum). */
static int meta_fields(struct ez_models_checksum *sum, char hex[65], char updated[24],
                       const char *out[6][2])
{
    snprintf(updated, 24, "%" PRId64, sum->updated_at);
    if (ez_models_checksum_final(sum, hex) != 0)
        return oom("meta:models_meta");
    const char *f[6][2] = { { "version", hex },     { "updated_at", updated },
                            { "source", "ezapi" },  { "checksum", hex },
                            { "upstream_url", "" }, { "upstream_ref", "" } };
    memcpy(out, f, sizeof f);
    return EZ_DB_OK;
}

struct put_arg {
    struct ez_write_set *s;
    int whole;
};

static int put_model(void *arg, const char *field, char *json)
{
    struct put_arg *a = arg;
    if (!a->whole) {
        free(json);
        return EZ_DB_OK;
    }
    return ez_write_set_put(a->s, EZ_KEY_MODELS, field, json) == 0 ? EZ_DB_OK : oom("meta:models");
}

int ez_project_models_meta(struct ez_db *db, struct ez_write_set *s, int whole_models)
{
    int rc = own(s, EZ_KEY_MODELS_META, NULL);
    if (rc == EZ_DB_OK && whole_models)
        rc = own(s, EZ_KEY_MODELS, NULL);
    if (rc != EZ_DB_OK)
        return rc;
    struct ez_models_checksum sum;
    if (ez_models_checksum_init(&sum) != 0)
        return oom("meta:models_meta");
    struct put_arg a = { s, whole_models };
    rc = models_walk(db, &sum, put_model, &a);
    if (rc != EZ_DB_OK) {
        ez_models_checksum_abort(&sum);
        return rc;
    }
    char hex[65], updated[24];
    const char *f[6][2];
    rc = meta_fields(&sum, hex, updated, f);
    for (int i = 0; rc == EZ_DB_OK && i < 6; i++)
        if (ez_write_set_put(s, EZ_KEY_MODELS_META, f[i][0], strdup(f[i][1])) != 0)
            rc = oom("meta:models_meta");
    return rc;
}

int ez_project_feature(struct ez_db *db, struct ez_write_set *s, const char *name)
{
    int rc = own(s, EZ_KEY_FEATURES, name);
    if (rc != EZ_DB_OK)
        return rc;
    PGresult *res;
    const char *p[] = { name };
    if (name)
        rc = ez_db_exec(db, &res, "SELECT name, value FROM features WHERE name = $1", 1, p);
    else
        rc = ez_db_exec(db, &res, "SELECT name, value FROM features ORDER BY name", 0, NULL);
    for (int i = 0; rc == EZ_DB_OK && i < PQntuples(res); i++) {
        char *v = strdup(PQgetvalue(res, i, 1));
        if (ez_write_set_put(s, EZ_KEY_FEATURES, PQgetvalue(res, i, 0), v) != 0)
            rc = oom("meta:features");
    }
    PQclear(res);
    return rc;
}

/* ---- The candidates of bindings, for the bindings API answers ---------- */

int ez_projection_binding_candidates(struct ez_db *db, const int64_t *ids, int n, json_t **out)
{
    *out = json_array();
    if (!*out)
        return oom("binding candidates");
    struct bound_rows r = { 0 };
    char *arr = ids_param(ids, n);
    if (!arr) {
        json_decref(*out);
        *out = NULL;
        return oom("binding candidates");
    }
    const char *p[] = { arr };
    int rc = bindings_query(db, &r.b,
                            "SELECT " BINDING_COLS " FROM bindings "
                            "WHERE id = ANY($1::bigint[]) ORDER BY id", 1, p);
    free(arr);
    if (rc == EZ_DB_OK && r.b.n > 0)
        rc = bound_complete(db, &r);
    int64_t now = (int64_t)time(NULL);
    for (int i = 0; rc == EZ_DB_OK && i < n; i++) {
        json_t *c = json_null();
        for (int j = 0; j < r.b.n; j++) {
            int64_t updated_at = 0;
            if (r.b.v[j].id == ids[i]) {
                c = ez_projection_candidate_json(&r.c[j], now, &updated_at);
                break;
            }
        }
        if (json_array_append_new(*out, c) != 0)
            rc = oom("binding candidates");
    }
    bound_free(&r);
    if (rc != EZ_DB_OK) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

int ez_projection_binding_candidate(struct ez_db *db, const struct ez_config *cfg,
                                    int64_t binding_id, json_t **out)
{
    (void)cfg; /* a candidate carries no credential */
    json_t *all;
    *out = NULL;
    int rc = ez_projection_binding_candidates(db, &binding_id, 1, &all);
    if (rc == EZ_DB_OK && !json_is_null(json_array_get(all, 0)))
        *out = json_incref(json_array_get(all, 0));
    json_decref(all);
    return rc;
}

/* ---- The whole projection, streamed ------------------------------------- */

struct stream {
    struct ez_db *db;
    const struct ez_config *cfg;
    int64_t now;
    char limit[16];
    ez_row_sink sink;
    void *arg;
};

/* Emits one field (v released); EZ_DB_* or EZ_STORE_STOPPED. */
static int emit_json(struct stream *st, const char *key, const char *field, json_t *v)
{
    char *text = ez_projection_dump(v);
    json_decref(v);
    if (!text) {
        log_error("projection: cannot build %s %s (out of memory, or text that is not UTF-8)",
                  key, field);
        return EZ_DB_ERROR;
    }
    int rc = st->sink(st->arg, key, field, text) ? EZ_STORE_STOPPED : EZ_DB_OK;
    free(text);
    return rc;
}

static int open_key(struct stream *st, const char *key)
{
    return st->sink(st->arg, key, NULL, NULL) ? EZ_STORE_STOPPED : EZ_DB_OK;
}

/* name -> value tables keyed by a unique text column (namespaces, features). */
static int stream_named(struct stream *st, const char *key, const char *sql, int as_namespace)
{
    int rc = open_key(st, key);
    char *last = strdup("");
    while (rc == EZ_DB_OK && last) {
        PGresult *res;
        const char *p[] = { last, st->limit };
        rc = ez_db_exec(st->db, &res, sql, 2, p);
        int n = rc == EZ_DB_OK ? PQntuples(res) : 0;
        for (int i = 0; rc == EZ_DB_OK && i < n; i++) {
            const char *name = PQgetvalue(res, i, 0), *val = PQgetvalue(res, i, 1);
            if (as_namespace)
                rc = emit_json(st, key, name, ez_projection_namespace_json(name, val));
            else if (st->sink(st->arg, key, name, val))
                rc = EZ_STORE_STOPPED;
        }
        free(last);
        last = n > 0 && n == atoi(st->limit) ? strdup(PQgetvalue(res, n - 1, 0)) : NULL;
        PQclear(res);
    }
    free(last);
    return rc;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int stream_providers(struct stream *st)
{
    int rc = open_key(st, EZ_KEY_PROVIDERS);
    int64_t after = 0;
    int batch = atoi(st->limit);
    for (int more = 1; rc == EZ_DB_OK && more;) {
        struct ez_api_key_rows k;
        struct ez_group_rows g = { 0 };
        rc = ez_store_keys_after(st->db, st->cfg, after, batch, &k);
        if (rc != EZ_DB_OK)
            break;
        int64_t *gids = calloc((size_t)k.n + 1, sizeof *gids);
        int ng = 0;
        if (!gids)
            rc = oom("config:providers");
        for (int i = 0; gids && i < k.n; i++)
            gids[i] = k.v[i].group_id;
        if (gids) {
            qsort(gids, (size_t)k.n, sizeof *gids, cmp_i64);
            for (int i = 0; i < k.n; i++)
                if (ng == 0 || gids[ng - 1] != gids[i])
                    gids[ng++] = gids[i];
            rc = ez_store_groups_by_ids(st->db, gids, ng, &g);
        }
        for (int i = 0; rc == EZ_DB_OK && i < k.n; i++) {
            const struct ez_group_row *grp = find_group(&g, k.v[i].group_id);
            char field[24];
            snprintf(field, sizeof field, "%" PRId64, k.v[i].id);
            if (grp)
                rc = emit_json(st, EZ_KEY_PROVIDERS, field, ez_projection_provider_json(grp, &k.v[i]));
        }
        more = k.n == batch;
        after = k.n ? k.v[k.n - 1].id : after;
        free(gids);
        ez_group_rows_free(&g);
        ez_api_key_rows_free(&k);
    }
    return rc;
}

static int stream_routes(struct stream *st)
{
    int rc = EZ_DB_OK;
    int64_t after = 0;
    int batch = atoi(st->limit);
    for (int more = 1; rc == EZ_DB_OK && more;) {
        struct ez_group_rows g;
        struct ez_api_key_rows k = { 0 };
        rc = ez_store_groups_after(st->db, after, batch, &g);
        if (rc != EZ_DB_OK)
            break;
        int64_t *gids = calloc((size_t)g.n + 1, sizeof *gids);
        if (!gids)
            rc = oom("route");
        for (int i = 0; gids && i < g.n; i++)
            gids[i] = g.v[i].id;
        if (rc == EZ_DB_OK)
            rc = ez_store_keys_load(st->db, NULL, gids, g.n, NULL, 0, &k);
        for (int i = 0; rc == EZ_DB_OK && i < g.n; i++) {
            char key[sizeof EZ_KEY_ROUTE_PREFIX + 64];
            snprintf(key, sizeof key, "%s%s", EZ_KEY_ROUTE_PREFIX, g.v[i].name);
            rc = open_key(st, key);
            int nk;
            const struct ez_api_key_row *keys = keys_of(&k, g.v[i].id, &nk);
            for (int j = 0; rc == EZ_DB_OK && j < nk; j++) {
                if (!ez_projection_routable(&g.v[i], &keys[j], st->now))
                    continue;
                char field[24], weight[16];
                snprintf(field, sizeof field, "%" PRId64, keys[j].id);
                snprintf(weight, sizeof weight, "%d", keys[j].weight);
                if (st->sink(st->arg, key, field, weight))
                    rc = EZ_STORE_STOPPED;
            }
        }
        more = g.n == batch;
        after = g.n ? g.v[g.n - 1].id : after;
        free(gids);
        ez_api_key_rows_free(&k);
        ez_group_rows_free(&g);
    }
    return rc;
}

/* Binding rows whose field "<ns>.<pm>" is in (after, last], by field, id. */
static int bindings_range(struct ez_db *db, const char *after, const char *last,
                          struct ez_binding_rows *out)
{
    const char *p[] = { after, last };
    return bindings_query(db, out,
                          "SELECT " BINDING_COLS " FROM bindings "
                          "WHERE (namespace || '.' || public_model) COLLATE \"C\" > $1 "
                          "AND (namespace || '.' || public_model) COLLATE \"C\" <= $2 "
                          "ORDER BY (namespace || '.' || public_model) COLLATE \"C\", id",
                          2, p);
}

static int stream_bindings(struct stream *st)
{
    int rc = open_key(st, EZ_KEY_BINDINGS);
    char *after = strdup("");
    int batch = atoi(st->limit);
    while (rc == EZ_DB_OK && after) {
        struct ez_binding_rows names;
        rc = ez_store_binding_names_after(st->db, after, batch, &names);
        if (rc != EZ_DB_OK || names.n == 0) {
            if (rc == EZ_DB_OK)
                ez_binding_rows_free(&names);
            break;
        }
        char *last = ez_projection_binding_field(names.v[names.n - 1].ns,
                                         names.v[names.n - 1].public_model);
        int more = names.n == batch;
        ez_binding_rows_free(&names);
        struct bound_rows r = { 0 };
        rc = last ? bindings_range(st->db, after, last, &r.b) : oom("config:bindings");
        if (rc == EZ_DB_OK)
            rc = bound_complete(st->db, &r);
        for (int i = 0; rc == EZ_DB_OK && i < r.b.n;) {
            int j = i + 1;
            while (j < r.b.n && strcmp(r.b.v[j].ns, r.b.v[i].ns) == 0 &&
                   strcmp(r.b.v[j].public_model, r.b.v[i].public_model) == 0)
                j++;
            char *field = ez_projection_binding_field(r.b.v[i].ns, r.b.v[i].public_model);
            rc = field ? emit_json(st, EZ_KEY_BINDINGS, field,
                                   ez_projection_binding_json(r.c + i, j - i, st->now))
                       : oom("config:bindings");
            free(field);
            i = j;
        }
        bound_free(&r);
        free(after);
        after = more ? last : NULL;
        if (!more)
            free(last);
    }
    free(after);
    return rc;
}

static int sink_model(void *arg, const char *field, char *json)
{
    struct stream *st = arg;
    int rc = st->sink(st->arg, EZ_KEY_MODELS, field, json) ? EZ_STORE_STOPPED : EZ_DB_OK;
    free(json);
    return rc;
}

static int stream_models(struct stream *st)
{
    int rc = open_key(st, EZ_KEY_MODELS);
    if (rc != EZ_DB_OK)
        return rc;
    struct ez_models_checksum sum;
    if (ez_models_checksum_init(&sum) != 0)
        return oom("meta:models_meta");
    rc = models_walk(st->db, &sum, sink_model, st);
    if (rc != EZ_DB_OK) {
        ez_models_checksum_abort(&sum);
        return rc;
    }
    char hex[65], updated[24];
    const char *f[6][2];
    rc = meta_fields(&sum, hex, updated, f);
    if (rc == EZ_DB_OK)
        rc = open_key(st, EZ_KEY_MODELS_META);
    for (int i = 0; rc == EZ_DB_OK && i < 6; i++)
        if (st->sink(st->arg, EZ_KEY_MODELS_META, f[i][0], f[i][1]))
            rc = EZ_STORE_STOPPED;
    return rc;
}

int ez_store_stream(struct ez_db *db, const struct ez_config *cfg, int64_t now, int batch,
                  ez_row_sink sink, void *arg)
{
    struct stream st = { db, cfg, now, "", sink, arg };
    snprintf(st.limit, sizeof st.limit, "%d", batch > 0 ? batch : 500);
    int rc = stream_named(&st, EZ_KEY_NAMESPACES,
                          "SELECT name, status FROM namespaces WHERE name COLLATE \"C\" > $1 "
                          "ORDER BY name COLLATE \"C\" LIMIT $2", 1);
    if (rc == EZ_DB_OK)
        rc = stream_providers(&st);
    if (rc == EZ_DB_OK)
        rc = stream_routes(&st);
    if (rc == EZ_DB_OK)
        rc = stream_bindings(&st);
    if (rc == EZ_DB_OK)
        rc = stream_models(&st);
    if (rc == EZ_DB_OK)
        rc = stream_named(&st, EZ_KEY_FEATURES,
                          "SELECT name, value FROM features WHERE name COLLATE \"C\" > $1 "
                          "ORDER BY name COLLATE \"C\" LIMIT $2", 0);
    return rc;
}
