/* Models, bindings and features in PostgreSQL. Parameterised SQL only; one
 * transaction per request; a refused write (taken name, missing reference)
 * is rolled back and reported as a refusal, never as a database error. */
#include "store_catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const ez_model_flag_names[EZ_NFLAGS] = {
    "supports_vision", "supports_functions", "supports_tool_choice", "supports_fim",
    "supports_stream"
};

#define MODEL_JSON                                                                          \
    "json_build_object('id', id, 'name', name, 'kind', kind, "                              \
    "'context_window', context_window, 'max_output_tokens', max_output_tokens, "            \
    "'cost_per_token', cost_per_token, 'supports_vision', supports_vision, "                \
    "'supports_functions', supports_functions, 'supports_tool_choice', supports_tool_choice, " \
    "'supports_fim', supports_fim, 'supports_stream', supports_stream, "                    \
    "'created_at', " EZ_SQL_TS("created_at") ", 'updated_at', " EZ_SQL_TS("updated_at") ")"

/* The model capability JSON of docs/redis.md: name, then only the fields
 * that are set, in the contract's order (0 = unknown for the two sizes). */
#define CAPABILITY_JSON(m)                                                                  \
    "json_strip_nulls(json_build_object('name', " m ".name, 'kind', " m ".kind, "            \
    "'context_window', nullif(" m ".context_window, 0), "                                   \
    "'cost_per_token', " m ".cost_per_token, 'supports_vision', " m ".supports_vision, "     \
    "'supports_functions', " m ".supports_functions, "                                      \
    "'supports_tool_choice', " m ".supports_tool_choice, "                                  \
    "'supports_fim', " m ".supports_fim, 'supports_stream', " m ".supports_stream, "         \
    "'max_output_tokens', nullif(" m ".max_output_tokens, 0)))"

#define BINDING_JSON                                                                        \
    "json_build_object('id', id, 'namespace', namespace, 'public_model', public_model, "    \
    "'group_id', group_id, 'weight', weight, 'selector_type', selector_type, "              \
    "'selector_value', selector_value, 'status', status, "                                  \
    "'created_at', " EZ_SQL_TS("created_at") ", 'updated_at', " EZ_SQL_TS("updated_at") ")"

#define FEATURES_MAP \
    "SELECT coalesce(json_object_agg(name, value ORDER BY name), '{}'::json) FROM features"

/* ---- helpers ---------------------------------------------------------- */

/* Like ez_db_json_row, but a unique violation (SQLSTATE 23505) sets *dup
 * and returns EZ_DB_ERROR without logging: the caller rolls back. */
static int json_row_unique(struct ez_db *db, json_t **out, int *dup, const char *sql,
                           int nparams, const char *const *params)
{
    PGresult *res;
    *out = NULL;
    *dup = 0;
    int rc = ez_db_exec(db, &res, sql, nparams, params);
    if (rc == EZ_DB_ERROR && strcmp(ez_db_sqlstate(res), "23505") == 0) {
        *dup = 1;
    } else if (rc == EZ_DB_OK && PQntuples(res) > 0) {
        *out = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
        if (!*out)
            rc = EZ_DB_ERROR;
    }
    PQclear(res);
    return rc;
}

/* *found = whether sql (one parameter, locking the row) returns a row. */
static int row_exists(struct ez_db *db, const char *sql, const char *param, int *found)
{
    PGresult *res;
    const char *p[] = { param };
    *found = 0;
    int rc = ez_db_exec(db, &res, sql, 1, p);
    if (rc == EZ_DB_OK)
        *found = PQntuples(res) > 0;
    PQclear(res);
    return rc;
}

static const char *bool_text(int v) { return v ? "t" : "f"; }

/* ---- models ----------------------------------------------------------- */

/* Text parameters of a model, shared by create and update. */
struct model_params {
    char cw[24], mot[24], cost[40];
};

static void model_params(const struct ez_model_in *in, struct model_params *mp)
{
    snprintf(mp->cw, sizeof mp->cw, "%lld", in->context_window);
    snprintf(mp->mot, sizeof mp->mot, "%lld", in->max_output_tokens);
    snprintf(mp->cost, sizeof mp->cost, "%.17g", in->cost.num);
}

static void model_taken(struct ez_verr *e, const char *name)
{
    ez_refuse(e, EZ_CONFLICT, "name_taken", "name", "model '%s' already exists", name);
}

void ez_store_model_create(struct ez_db *db, const struct ez_model_in *in, json_t **out,
                           struct ez_outcome *o)
{
    struct model_params mp;
    model_params(in, &mp);
    const char *p[10] = {
        in->name, in->kind ? in->kind : "chat",
        in->has_context_window ? mp.cw : "0", in->has_max_output_tokens ? mp.mot : "0",
        in->cost.given && !in->cost.is_null ? mp.cost : NULL,
    };
    for (int i = 0; i < EZ_NFLAGS; i++)
        p[5 + i] = in->flags[i].given && !in->flags[i].is_null ? bool_text(in->flags[i].flag)
                                                               : NULL;
    ez_outcome_row(db, o, out,
                   "INSERT INTO models (name, kind, context_window, max_output_tokens, "
                   "cost_per_token, supports_vision, supports_functions, "
                   "supports_tool_choice, supports_fim, supports_stream) "
                   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
                   "ON CONFLICT (name) DO NOTHING RETURNING " MODEL_JSON, 10, p);
    if (o->e.status == EZ_NOT_FOUND) /* no row: the name was taken */
        model_taken(&o->e, in->name);
}

int ez_store_model_list(struct ez_db *db, const struct ez_page *pg, const char *name,
                     json_t **rows)
{
    struct ez_page_sql ps;
    ez_page_sql(pg, &ps);
    const char *p[] = { ps.after, ps.limit, name };
    return ez_db_json_rows(db, rows,
                           "SELECT " MODEL_JSON " FROM models WHERE id > $1 "
                           "AND ($3::text IS NULL OR name = $3) ORDER BY id LIMIT $2", 3, p);
}

int ez_store_model_get(struct ez_db *db, int64_t id, char **out)
{
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    const char *p[] = { ids };
    return ez_db_json_text_row(db, out, "SELECT " MODEL_JSON " FROM models WHERE id = $1", 1, p);
}

void ez_store_model_update(struct ez_db *db, int64_t id, const struct ez_model_in *in,
                           json_t **before, json_t **after, struct ez_outcome *o)
{
    *before = *after = NULL;
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    struct model_params mp;
    model_params(in, &mp);
    const char *p[17] = {
        ids, in->name, in->kind,
        in->has_context_window ? mp.cw : NULL, in->has_max_output_tokens ? mp.mot : NULL,
        bool_text(in->cost.given), in->cost.given && !in->cost.is_null ? mp.cost : NULL,
    };
    for (int i = 0; i < EZ_NFLAGS; i++) {
        p[7 + 2 * i] = bool_text(in->flags[i].given);
        p[8 + 2 * i] = in->flags[i].given && !in->flags[i].is_null
                           ? bool_text(in->flags[i].flag) : NULL;
    }
    int dup = 0;
    int rc = ez_outcome_begin(db, o);
    if (rc == EZ_DB_OK)
        rc = ez_db_json_row(db, before, "SELECT " MODEL_JSON " FROM models WHERE id = $1 "
                            "FOR UPDATE", 1, p);
    if (rc == EZ_DB_OK && !*before)
        ez_not_found(&o->e);
    else if (rc == EZ_DB_OK)
        rc = json_row_unique(
            db, after, &dup,
            "UPDATE models SET name = coalesce($2, name), kind = coalesce($3, kind), "
            "context_window = coalesce($4::bigint, context_window), "
            "max_output_tokens = coalesce($5::bigint, max_output_tokens), "
            "cost_per_token = CASE WHEN $6::boolean THEN $7::double precision "
            "  ELSE cost_per_token END, "
            "supports_vision = CASE WHEN $8::boolean THEN $9::boolean ELSE supports_vision END, "
            "supports_functions = CASE WHEN $10::boolean THEN $11::boolean "
            "  ELSE supports_functions END, "
            "supports_tool_choice = CASE WHEN $12::boolean THEN $13::boolean "
            "  ELSE supports_tool_choice END, "
            "supports_fim = CASE WHEN $14::boolean THEN $15::boolean ELSE supports_fim END, "
            "supports_stream = CASE WHEN $16::boolean THEN $17::boolean "
            "  ELSE supports_stream END "
            "WHERE id = $1 RETURNING " MODEL_JSON, 17, p);
    if (dup) {
        model_taken(&o->e, in->name);
        rc = EZ_DB_OK;
    } else if (rc == EZ_DB_OK && *before && !*after) { /* the locked row cannot vanish */
        rc = EZ_DB_ERROR;
    }
    if (!ez_outcome_end(db, rc, o))
        ez_outcome_drop(before, after, NULL);
}

void ez_store_model_delete(struct ez_db *db, int64_t id, json_t **before, struct ez_outcome *o)
{
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    const char *p[] = { ids };
    ez_outcome_row(db, o, before, "DELETE FROM models WHERE id = $1 RETURNING " MODEL_JSON, 1,
                   p);
}

int ez_store_model_registry(struct ez_db *db, json_t **rows)
{
    return ez_db_json_rows(
        db, rows,
        "WITH offer AS ("
        "  SELECT DISTINCT m.model, g.id AS group_id"
        "  FROM provider_groups g, unnest(g.models) AS m(model)"
        "  WHERE g.status = 'active' AND EXISTS (SELECT 1 FROM api_keys k"
        "    WHERE k.group_id = g.id AND k.status = 'active')"
        "), names AS ("
        "  SELECT model, array_agg(group_id ORDER BY group_id) AS group_ids"
        "  FROM offer GROUP BY model"
        ") "
        "SELECT json_build_object('name', n.model, "
        "  'groups', (SELECT json_agg(json_build_object('id', g.id, 'name', g.name, "
        "     'type', g.type) ORDER BY g.id) FROM provider_groups g"
        "     WHERE g.id = ANY (n.group_ids)), "
        "  'keys', (SELECT coalesce(json_agg(k.id ORDER BY k.id), '[]'::json) FROM api_keys k"
        "     WHERE k.group_id = ANY (n.group_ids) AND k.status = 'active'), "
        "  'registered', m.id IS NOT NULL, "
        "  'capabilities', CASE WHEN m.id IS NULL THEN NULL ELSE " CAPABILITY_JSON("m") " END) "
        "FROM names n LEFT JOIN models m ON m.name = n.model ORDER BY n.model",
        0, NULL);
}

/* ---- bindings --------------------------------------------------------- */

#define NAMESPACE_LOCK "SELECT 1 FROM namespaces WHERE name = $1 FOR KEY SHARE"
#define GROUP_LOCK "SELECT 1 FROM provider_groups WHERE id = $1 FOR KEY SHARE"

/* Checks (and locks against deletion) the rows a binding refers to. */
static int binding_refs(struct ez_db *db, const char *ns, const char *group_id, struct ez_verr *e)
{
    int found = 1;
    int rc = EZ_DB_OK;
    if (ns)
        rc = row_exists(db, NAMESPACE_LOCK, ns, &found);
    if (rc == EZ_DB_OK && !found) {
        ez_refuse(e, EZ_RULE, "invalid_reference", "namespace", "namespace '%s' does not exist",
                  ns);
        return rc;
    }
    if (group_id)
        rc = row_exists(db, GROUP_LOCK, group_id, &found);
    if (rc == EZ_DB_OK && !found)
        ez_refuse(e, EZ_RULE, "invalid_reference", "group_id",
                  "provider group %s does not exist", group_id);
    return rc;
}

static void binding_exists(struct ez_verr *e, const struct ez_binding_in *in)
{
    if (in->ns && in->public_model && in->group_id)
        ez_refuse(e, EZ_CONFLICT, "binding_exists", NULL,
                  "a binding of '%s' in namespace '%s' to provider group %lld already exists",
                  in->public_model, in->ns, (long long)in->group_id);
    else
        ez_refuse(e, EZ_CONFLICT, "binding_exists", NULL,
                  "another binding has the same namespace, public_model and group_id");
}

void ez_store_binding_create(struct ez_db *db, const struct ez_binding_in *in, json_t **out,
                             struct ez_outcome *o)
{
    *out = NULL;
    char gid[24], weight[24];
    snprintf(gid, sizeof gid, "%lld", (long long)in->group_id);
    snprintf(weight, sizeof weight, "%lld", in->weight);
    const char *p[] = { in->ns, in->public_model, gid, weight, in->selector_type,
                        in->selector_value, in->status };
    int rc = ez_outcome_begin(db, o);
    if (rc == EZ_DB_OK)
        rc = binding_refs(db, in->ns, gid, &o->e);
    if (rc == EZ_DB_OK && o->e.status == EZ_DONE) {
        rc = ez_db_json_row(db, out,
                            "INSERT INTO bindings (namespace, public_model, group_id, weight, "
                            "selector_type, selector_value, status) "
                            "VALUES ($1, $2, $3, $4, $5, $6, $7) "
                            "ON CONFLICT (namespace, public_model, group_id) DO NOTHING "
                            "RETURNING " BINDING_JSON, 7, p);
        if (rc == EZ_DB_OK && !*out)
            binding_exists(&o->e, in);
    }
    if (!ez_outcome_end(db, rc, o))
        ez_outcome_drop(out, NULL, NULL);
}

int ez_store_binding_list(struct ez_db *db, const struct ez_page *pg, const char *ns,
                       int64_t group_id, json_t **rows)
{
    struct ez_page_sql ps;
    char gid[24];
    ez_page_sql(pg, &ps);
    snprintf(gid, sizeof gid, "%lld", (long long)group_id);
    const char *p[] = { ps.after, ps.limit, ns, group_id ? gid : NULL };
    return ez_db_json_rows(db, rows,
                           "SELECT " BINDING_JSON " FROM bindings WHERE id > $1 "
                           "AND ($3::text IS NULL OR namespace = $3) "
                           "AND ($4::bigint IS NULL OR group_id = $4) ORDER BY id LIMIT $2",
                           4, p);
}

int ez_store_binding_get(struct ez_db *db, int64_t id, char **out)
{
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    const char *p[] = { ids };
    return ez_db_json_text_row(db, out, "SELECT " BINDING_JSON " FROM bindings WHERE id = $1", 1,
                               p);
}

void ez_store_binding_update(struct ez_db *db, int64_t id, struct ez_binding_in *in,
                             ez_binding_check check, json_t **before, json_t **after,
                             struct ez_outcome *o)
{
    *before = *after = NULL;
    char ids[24], gid[24], weight[24];
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    snprintf(gid, sizeof gid, "%lld", (long long)in->group_id);
    snprintf(weight, sizeof weight, "%lld", in->weight);
    const char *idp[] = { ids };
    int dup = 0;
    int rc = ez_outcome_begin(db, o);
    if (rc == EZ_DB_OK)
        rc = ez_db_json_row(db, before, "SELECT " BINDING_JSON " FROM bindings WHERE id = $1 "
                            "FOR UPDATE", 1, idp);
    if (rc == EZ_DB_OK && !*before)
        ez_not_found(&o->e);
    if (rc == EZ_DB_OK && o->e.status == EZ_DONE && check(*before, in, &o->e) == 0)
        rc = binding_refs(db, in->ns, in->group_id ? gid : NULL, &o->e);
    if (rc == EZ_DB_OK && o->e.status == EZ_DONE) {
        const char *p[] = { ids, in->ns, in->public_model, in->group_id ? gid : NULL,
                            in->has_weight ? weight : NULL, in->selector_type,
                            in->selector_value, in->status };
        rc = json_row_unique(db, after, &dup,
                             "UPDATE bindings SET namespace = coalesce($2, namespace), "
                             "public_model = coalesce($3, public_model), "
                             "group_id = coalesce($4::bigint, group_id), "
                             "weight = coalesce($5::integer, weight), "
                             "selector_type = coalesce($6, selector_type), "
                             "selector_value = coalesce($7, selector_value), "
                             "status = coalesce($8, status) "
                             "WHERE id = $1 RETURNING " BINDING_JSON, 8, p);
        if (dup) {
            binding_exists(&o->e, in);
            rc = EZ_DB_OK;
        } else if (rc == EZ_DB_OK && !*after) { /* the locked row cannot vanish */
            rc = EZ_DB_ERROR;
        }
    }
    if (!ez_outcome_end(db, rc, o))
        ez_outcome_drop(before, after, NULL); /* nothing was written */
}

void ez_store_binding_delete(struct ez_db *db, int64_t id, json_t **before,
                             struct ez_outcome *o)
{
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    const char *p[] = { ids };
    ez_outcome_row(db, o, before, "DELETE FROM bindings WHERE id = $1 RETURNING " BINDING_JSON,
                   1, p);
}

/* ---- features --------------------------------------------------------- */

int ez_store_features_get(struct ez_db *db, json_t **map)
{
    return ez_db_json_row(db, map, FEATURES_MAP, 0, NULL);
}

void ez_store_features_put(struct ez_db *db, json_t *set, json_t *del, json_t **before,
                           json_t **after, struct ez_outcome *o)
{
    *before = *after = NULL;
    char *set_text = json_dumps(set, JSON_COMPACT);
    char *del_text = json_dumps(del, JSON_COMPACT);
    const char *sp[] = { set_text }, *dp[] = { del_text };
    int rc = ez_outcome_begin(db, o);
    if (rc == EZ_DB_OK && (!set_text || !del_text))
        rc = EZ_DB_ERROR;
    /* Feature writers queue behind each other, so before/after are exact;
     * readers are not blocked. */
    if (rc == EZ_DB_OK)
        rc = ez_db_cmd(db, "LOCK TABLE features IN SHARE ROW EXCLUSIVE MODE", 0, NULL);
    if (rc == EZ_DB_OK)
        rc = ez_db_json_row(db, before, FEATURES_MAP, 0, NULL);
    if (rc == EZ_DB_OK && json_object_size(set))
        rc = ez_db_cmd(db,
                       "INSERT INTO features (name, value) "
                       "SELECT key, value FROM json_each_text($1::json) "
                       "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value "
                       "WHERE features.value IS DISTINCT FROM EXCLUDED.value", 1, sp);
    if (rc == EZ_DB_OK && json_array_size(del))
        rc = ez_db_cmd(db,
                       "DELETE FROM features WHERE name IN "
                       "(SELECT json_array_elements_text($1::json))", 1, dp);
    if (rc == EZ_DB_OK)
        rc = ez_db_json_row(db, after, FEATURES_MAP, 0, NULL);
    if (rc == EZ_DB_OK && !*after)
        rc = EZ_DB_ERROR;
    if (!ez_outcome_end(db, rc, o))
        ez_outcome_drop(before, after, NULL);
    free(set_text);
    free(del_text);
}
