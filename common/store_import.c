/* SQL of an import, run inside the caller's transaction. Lists travel as
 * JSON parameters and are unpacked by PostgreSQL, so no statement is built
 * from input. */
#include "store_import.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first column of the one row of sql, as an integer (*out). */
static int one_int(struct ez_db *db, const char *sql, int n, const char *const *p, int64_t *out)
{
    PGresult *res;
    int rc = ez_db_exec(db, &res, sql, n, p);
    if (rc == EZ_DB_OK)
        *out = PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    PQclear(res);
    return rc;
}

/* JSON text of v (NULL when v is NULL); free() it. */
static char *text_of(json_t *v)
{
    return v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
}

static const char *str(json_t *o, const char *name)
{
    return json_string_value(json_object_get(o, name));
}

int ez_si_long_statements(struct ez_db *db)
{
    char v[32];
    snprintf(v, sizeof v, "%ds", EZ_IMPORT_STATEMENT_S);
    const char *p[] = { v };
    return ez_db_cmd(db, "SELECT set_config('statement_timeout', $1, true)", 1, p);
}

int ez_si_namespace(struct ez_db *db, const char *name, int *created, int64_t *id)
{
    const char *p[] = { name };
    PGresult *res;
    int rc = ez_db_exec(db, &res,
                        "WITH n AS (INSERT INTO namespaces (name) VALUES ($1) "
                        "ON CONFLICT (name) DO NOTHING RETURNING id) "
                        "SELECT id, 1 FROM n UNION ALL "
                        "SELECT id, 0 FROM namespaces WHERE name = $1 AND NOT EXISTS (SELECT 1 FROM n)",
                        1, p);
    *created = 0;
    *id = 0;
    if (rc == EZ_DB_OK && PQntuples(res) == 1) {
        *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        *created = atoi(PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return rc;
}

int ez_si_group_find(struct ez_db *db, const char *name, int64_t *id)
{
    const char *p[] = { name };
    return one_int(db, "SELECT id FROM provider_groups WHERE name = $1", 1, p, id);
}

int ez_si_group_write(struct ez_db *db, json_t *g, int64_t *id)
{
    char *models = text_of(json_object_get(g, "models")), gid[24];
    if (!models)
        return EZ_DB_ERROR;
    snprintf(gid, sizeof gid, "%" PRId64, *id);
    const char *p[] = { gid, str(g, "name"), str(g, "type"), str(g, "base_url"), models,
                        str(g, "status"), str(g, "google_project"), str(g, "google_location") };
    int rc;
    if (*id == 0) {
        rc = one_int(db,
                     "INSERT INTO provider_groups (name, type, base_url, models, status, "
                     "google_project, google_location) SELECT $1, $2, nullif($3, ''), "
                     "ARRAY(SELECT jsonb_array_elements_text($4::jsonb)), $5, nullif($6, ''), "
                     "nullif($7, '') RETURNING id", 7, p + 1, id);
    } else {
        rc = ez_db_cmd(db,
                       "UPDATE provider_groups SET type = $3, base_url = nullif($4, ''), "
                       "models = ARRAY(SELECT jsonb_array_elements_text($5::jsonb)), "
                       "status = $6, google_project = nullif($7, ''), "
                       "google_location = nullif($8, '') WHERE id = $1 AND name = $2", 8, p);
        if (rc == EZ_DB_OK)
            rc = ez_db_cmd(db, "DELETE FROM api_keys WHERE group_id = $1", 1, p);
    }
    free(models);
    return rc;
}

int ez_si_api_key_add(struct ez_db *db, int64_t group_id, const char *sealed, long long weight,
                      const char *status, int auto_ban)
{
    char gid[24], w[24];
    snprintf(gid, sizeof gid, "%" PRId64, group_id);
    snprintf(w, sizeof w, "%lld", weight);
    const char *p[] = { gid, sealed, w, status, auto_ban ? "true" : "false" };
    return ez_db_cmd(db,
                     "INSERT INTO api_keys (group_id, api_key, weight, status, auto_ban) "
                     "VALUES ($1, $2, $3, $4, $5)", 5, p);
}

int ez_si_masters_find(struct ez_db *db, json_t *names, json_t **out)
{
    char *list = text_of(names);
    const char *p[] = { list };
    int rc = list ? ez_db_json_row(db, out,
                                   "SELECT coalesce(json_object_agg(name, json_build_object("
                                   "'id', id, 'group', group_name, 'epoch', epoch, "
                                   "'namespaces', to_json(namespaces), "
                                   "'default_namespace', default_namespace)), '{}') "
                                   "FROM masters WHERE name IN "
                                   "(SELECT jsonb_array_elements_text($1::jsonb))", 1, p)
                  : EZ_DB_ERROR;
    free(list);
    return rc;
}

int ez_si_master_write(struct ez_db *db, json_t *m, const char *digest, const char *prefix,
                       int64_t *id)
{
    char *ns = text_of(json_object_get(m, "namespaces")), mid[24], mck[24], qps[24];
    if (!ns)
        return EZ_DB_ERROR;
    snprintf(mid, sizeof mid, "%" PRId64, *id);
    snprintf(mck, sizeof mck, "%lld", (long long)json_integer_value(json_object_get(m, "max_child_keys")));
    snprintf(qps, sizeof qps, "%lld", (long long)json_integer_value(json_object_get(m, "global_qps")));
    const char *p[] = { mid, str(m, "name"), str(m, "group"), str(m, "status"), mck, qps, ns,
                        str(m, "default_namespace"), digest, prefix };
    int rc;
    if (*id == 0)
        rc = one_int(db,
                     "INSERT INTO masters (name, group_name, status, max_child_keys, global_qps, "
                     "namespaces, default_namespace, key_digest, key_prefix) "
                     "SELECT $1, $2, $3, $4, $5, ARRAY(SELECT jsonb_array_elements_text($6::jsonb)), "
                     "nullif($7, ''), $8, $9 RETURNING id", 9, p + 1, id);
    else
        rc = ez_db_cmd(db,
                       "UPDATE masters SET group_name = $3, status = $4, max_child_keys = $5, "
                       "global_qps = $6, namespaces = ARRAY(SELECT jsonb_array_elements_text($7::jsonb)), "
                       "default_namespace = nullif($8, '') WHERE id = $1 AND name = $2", 8, p);
    free(ns);
    return rc;
}

#define KEY_COLUMNS                                                                      \
    "master_id bigint, group_name text, digest text, alias text, key_prefix text, "      \
    "name text, status text, issued_at_epoch bigint, default_namespace text, "           \
    "namespaces text[], model_limits text[], allow_ips text[], expires_at timestamptz, " \
    "quota_limit bigint, quota_used bigint, unlimited_quota boolean"

int ez_si_keys_stage(struct ez_db *db, json_t *rows, int first)
{
    if (first) {
        int rc = ez_db_cmd(db,
                           "CREATE TEMP TABLE ez_import_keys (" KEY_COLUMNS ", key_id bigint, "
                           "existing boolean) ON COMMIT DROP", 0, NULL);
        if (rc != EZ_DB_OK)
            return rc;
    }
    char *text = text_of(rows);
    if (!text)
        return EZ_DB_ERROR;
    const char *p[] = { text };
    /* A new key's id is drawn here (coalesce evaluates nextval only for
     * a digest not there yet), so its digests can follow it. */
    int rc = ez_db_cmd(db,
                       "INSERT INTO ez_import_keys SELECT x.*, "
                       "coalesce(d.key_id, nextval(pg_get_serial_sequence('keys', 'id'))), "
                       "d.key_id IS NOT NULL "
                       "FROM json_to_recordset($1::json) AS x(" KEY_COLUMNS ") "
                       "LEFT JOIN key_digests d ON d.digest = x.digest",
                       1, p);
    free(text);
    return rc;
}

int ez_si_keys_write(struct ez_db *db, int overwrite, long long *created, long long *existing,
                     json_t **masters)
{
    *created = *existing = 0;
    *masters = NULL;
    int rc = EZ_DB_OK;
    /* Digests go in index order, which the B-tree takes faster than at
     * random. */
    static const char *const steps[] = {
        "INSERT INTO keys (id, master_id, name, group_name, status, issued_at_epoch, issued_by, "
        "default_namespace, namespaces, model_limits, allow_ips, expires_at, key_prefix, "
        "quota_limit, quota_used, unlimited_quota) "
        "SELECT key_id, master_id, coalesce(name, ''), group_name, status, issued_at_epoch, "
        "'import', default_namespace, coalesce(namespaces, '{}'), model_limits, allow_ips, "
        "expires_at, coalesce(key_prefix, ''), quota_limit, quota_used, unlimited_quota "
        "FROM ez_import_keys WHERE NOT existing",
        "INSERT INTO key_digests (digest, key_id) "
        "SELECT digest, key_id FROM ez_import_keys WHERE NOT existing ORDER BY digest",
        NULL,
    };
    for (int i = 0; rc == EZ_DB_OK && steps[i]; i++)
        rc = ez_db_cmd(db, steps[i], 0, NULL);
    if (rc == EZ_DB_OK && overwrite)
        rc = ez_db_cmd(db,
                       "UPDATE keys k SET master_id = t.master_id, group_name = t.group_name, "
                       "name = coalesce(t.name, ''), status = t.status, "
                       "default_namespace = t.default_namespace, "
                       "namespaces = coalesce(t.namespaces, '{}'), model_limits = t.model_limits, "
                       "allow_ips = t.allow_ips, expires_at = t.expires_at, "
                       "quota_limit = t.quota_limit, quota_used = t.quota_used, "
                       "unlimited_quota = t.unlimited_quota "
                       "FROM ez_import_keys t WHERE t.existing AND k.id = t.key_id", 0, NULL);
    /* The second digest of a token without "sk-" (new keys, and old ones
     * on overwrite); one already there, whoever holds it, stays. */
    const char *ow[] = { overwrite ? "true" : "false" };
    if (rc == EZ_DB_OK)
        rc = ez_db_cmd(db,
                       "INSERT INTO key_digests (digest, key_id, alias) "
                       "SELECT alias, key_id, true FROM ez_import_keys "
                       "WHERE alias IS NOT NULL AND (NOT existing OR $1::boolean) "
                       "ORDER BY alias ON CONFLICT (digest) DO NOTHING", 1, ow);
    PGresult *res = NULL;
    if (rc == EZ_DB_OK)
        rc = ez_db_exec(db, &res,
                        "SELECT count(*) FILTER (WHERE NOT existing), "
                        "count(*) FILTER (WHERE existing), "
                        "coalesce(json_agg(DISTINCT master_id) "
                        "FILTER (WHERE NOT existing OR $1::boolean), '[]') FROM ez_import_keys",
                        1, ow);
    if (rc == EZ_DB_OK && PQntuples(res) == 1) {
        *created = atoll(PQgetvalue(res, 0, 0));
        *existing = atoll(PQgetvalue(res, 0, 1));
        *masters = json_loads(PQgetvalue(res, 0, 2), 0, NULL);
        if (!*masters)
            rc = EZ_DB_ERROR;
    }
    PQclear(res);
    return rc;
}

int ez_si_binding(struct ez_db *db, const char *ns, const char *public_model, const char *model,
                  int64_t group_id, const char *status, int overwrite, int *result)
{
    char gid[24];
    snprintf(gid, sizeof gid, "%" PRId64, group_id);
    const char *p[] = { ns, public_model, gid, status, overwrite ? "true" : "false", model };
    PGresult *res;
    int rc = ez_db_exec(db, &res,
                        "INSERT INTO bindings (namespace, public_model, group_id, selector_type, "
                        "selector_value, status) VALUES ($1, $2, $3, 'exact', $6, $4) "
                        "ON CONFLICT (namespace, public_model, group_id) DO UPDATE "
                        "SET selector_type = 'exact', selector_value = EXCLUDED.selector_value, "
                        "status = EXCLUDED.status WHERE $5::boolean "
                        "RETURNING (xmax = 0)", 6, p);
    *result = 0;
    if (rc == EZ_DB_OK && PQntuples(res) == 1)
        *result = strcmp(PQgetvalue(res, 0, 0), "t") == 0 ? 1 : 2;
    PQclear(res);
    return rc;
}

int ez_si_unbound(struct ez_db *db, json_t *names, json_t **out)
{
    char *list = text_of(names);
    const char *p[] = { list };
    int rc = list ? ez_db_json_row(db, out,
                                   "SELECT coalesce(json_agg(e.n ORDER BY e.n), '[]') "
                                   "FROM jsonb_array_elements_text($1::jsonb) AS e(n) "
                                   "WHERE NOT EXISTS (SELECT 1 FROM bindings b "
                                   "WHERE b.namespace = e.n)", 1, p)
                  : EZ_DB_ERROR;
    free(list);
    return rc;
}

int ez_si_sync_later(struct ez_db *db, const char *resource, int64_t id, json_t *payload)
{
    char rid[24], *text = text_of(payload);
    snprintf(rid, sizeof rid, "%" PRId64, id);
    const char *p[] = { resource, rid, text };
    int rc = text ? ez_db_cmd(db, "SELECT ez_sync_later($1, $2::bigint, $3::jsonb)", 3, p)
                  : EZ_DB_ERROR;
    free(text);
    return rc;
}

int ez_si_audit(struct ez_db *db, json_t *rec)
{
    char *text = text_of(rec);
    const char *p[] = { text };
    int rc = text ? ez_db_cmd(db,
                              "INSERT INTO audit_records (request_id, actor_type, actor, action, "
                              "resource, resource_id, method, path, status, remote_addr, changes, "
                              "producer) SELECT coalesce(r.request_id, ''), r.actor_type, "
                              "coalesce(r.actor, ''), r.action, coalesce(r.resource, ''), "
                              "coalesce(r.resource_id, ''), coalesce(r.method, ''), "
                              "coalesce(r.path, ''), coalesce(r.status, 0), "
                              "coalesce(r.remote_addr, ''), r.changes, "
                              "'import-' || txid_current() "
                              "FROM jsonb_populate_record(NULL::audit_records, $1::jsonb) r",
                              1, p)
                  : EZ_DB_ERROR;
    free(text);
    return rc;
}

int ez_si_export(struct ez_db *db, json_t **out)
{
    *out = NULL;
    int rc = ez_db_cmd(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL);
    if (rc != EZ_DB_OK)
        return rc;
    rc = ez_db_json_row(
        db, out,
        "SELECT json_build_object("
        "'groups', (SELECT coalesce(json_agg(json_build_object('id', g.id, 'name', g.name, "
        "'type', g.type, 'base_url', coalesce(g.base_url, ''), 'models', to_json(g.models), "
        "'google_project', g.google_project, 'google_location', g.google_location, "
        "'status', g.status, 'keys', (SELECT coalesce(json_agg(json_build_object("
        "'api_key', k.api_key, 'weight', k.weight, 'status', k.status, 'auto_ban', k.auto_ban) "
        "ORDER BY k.id), '[]') FROM api_keys k WHERE k.group_id = g.id)) ORDER BY g.name), '[]') "
        "FROM provider_groups g), "
        "'masters', (SELECT coalesce(json_agg(json_build_object('name', m.name, "
        "'group', m.group_name, 'namespaces', to_json(m.namespaces), "
        "'default_namespace', coalesce(m.default_namespace, ''), "
        "'max_child_keys', m.max_child_keys, 'global_qps', m.global_qps, 'status', m.status, "
        "'key_digest', m.key_digest, 'key_prefix', m.key_prefix) ORDER BY m.name), '[]') "
        "FROM masters m), "
        "'keys', (SELECT coalesce(json_agg(json_build_object('master_ref', m.name, "
        "'digest', d.digest, 'alias', (SELECT a.digest FROM key_digests a WHERE a.key_id = k.id "
        "AND a.alias AND a.valid_until IS NULL ORDER BY a.digest LIMIT 1), "
        "'key_prefix', k.key_prefix, 'name', k.name, 'group', k.group_name, "
        "'status', k.status, 'namespaces', to_json(k.namespaces), "
        "'model_limits', to_json(k.model_limits), 'allow_ips', to_json(k.allow_ips), "
        "'expires_at', " EZ_SQL_TS("k.expires_at") ", 'quota_limit', k.quota_limit, "
        "'quota_used', k.quota_used, 'unlimited_quota', k.unlimited_quota) "
        "ORDER BY m.name, d.digest), '[]') FROM keys k JOIN masters m ON m.id = k.master_id "
        "JOIN key_digests d ON d.key_id = k.id AND d.valid_until IS NULL AND NOT d.alias "
        "WHERE k.status <> 'revoked'), "
        "'revoked', (SELECT count(*) FROM keys WHERE status = 'revoked'), "
        "'bindings', (SELECT coalesce(json_agg(json_build_object('namespace', b.namespace, "
        "'public_model', b.public_model, 'group', g.name, 'selector_type', b.selector_type, "
        "'selector_value', b.selector_value, 'weight', b.weight, 'status', b.status) "
        "ORDER BY b.namespace, b.public_model, g.name), '[]') "
        "FROM bindings b JOIN provider_groups g ON g.id = b.group_id))",
        0, NULL);
    if (ez_db_cmd(db, "COMMIT", 0, NULL) != EZ_DB_OK && rc == EZ_DB_OK)
        rc = EZ_DB_UNAVAILABLE;
    return rc;
}
