/* Provider groups and api keys in PostgreSQL: one transaction per request,
 * rows locked before they are judged. A stored api_key is opened and
 * masked here before any object leaves, and never logged. */
#include "store_providers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "log.h"
#include "secrets.h"

#define GROUP_JSON                                                                          \
    "json_build_object('id', g.id, 'name', g.name, 'type', g.type, 'base_url', g.base_url, " \
    "'google_project', g.google_project, 'google_location', g.google_location, "           \
    "'models', to_json(g.models), 'status', g.status, 'created_at', "                      \
    EZ_SQL_TS("g.created_at") ", 'updated_at', " EZ_SQL_TS("g.updated_at") ")"

/* api_key is the stored value here; mask_key() replaces it. */
#define KEY_JSON                                                                             \
    "json_build_object('id', k.id, 'group_id', k.group_id, 'group', g.name, "               \
    "'api_key', k.api_key, 'weight', k.weight, 'status', k.status, 'auto_ban', k.auto_ban, " \
    "'ban_reason', k.ban_reason, 'ban_until', " EZ_SQL_TS("k.ban_until") ", "               \
    "'created_at', " EZ_SQL_TS("k.created_at") ", 'updated_at', " EZ_SQL_TS("k.updated_at") ")"

#define MODELS_ARRAY(param) \
    "ARRAY(SELECT e FROM json_array_elements_text(" param "::json) WITH ORDINALITY AS t(e, i) " \
    "ORDER BY i)"

#define GROUP_INSERT                                                                        \
    "INSERT INTO provider_groups AS g (name, type, base_url, google_project, "             \
    "google_location, models, status) VALUES ($1, $2, $3, $4, $5, " MODELS_ARRAY("$6") ", " \
    "coalesce($7, 'active')) ON CONFLICT (name) DO NOTHING RETURNING " GROUP_JSON

#define KEY_INSERT                                                                           \
    "WITH k AS (INSERT INTO api_keys (group_id, api_key, weight, status, auto_ban, "         \
    "ban_reason, ban_until) VALUES ($1, $2, coalesce($3::integer, 1), coalesce($4, 'active'), " \
    "coalesce($5::boolean, true), $6, $7::timestamptz) RETURNING *) "                        \
    "SELECT " KEY_JSON " FROM k JOIN provider_groups g ON g.id = k.group_id"

#define SQLSTATE_UNIQUE "23505"
#define SQLSTATE_FOREIGN_KEY "23503"

static const char *num(char buf[24], long long v)
{
    snprintf(buf, 24, "%lld", v);
    return buf;
}

static const char *flag(int v)
{
    return v ? "t" : "f";
}

/* Runs sql; the first column of its first row is parsed into *out (NULL
 * when no row). On EZ_DB_ERROR, state holds the SQLSTATE. */
static int json_row(struct ez_db *db, json_t **out, char state[6], const char *sql, int n,
                    const char *const *p)
{
    PGresult *res;
    *out = NULL;
    state[0] = 0;
    int rc = ez_db_exec(db, &res, sql, n, p);
    if (rc == EZ_DB_ERROR) {
        snprintf(state, 6, "%s", ez_db_sqlstate(res));
    } else if (rc == EZ_DB_OK && PQntuples(res) > 0) {
        *out = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
        if (!*out) {
            log_error("PostgreSQL returned a row that is not JSON");
            rc = EZ_DB_ERROR;
        }
    }
    PQclear(res);
    return rc;
}

static void mask_key(const struct ez_config *cfg, json_t *key)
{
    json_t *v = json_object_get(key, "api_key");
    if (!v)
        return;
    char masked[32] = "****";
    char *clear = ez_secret_open(cfg, json_string_value(v));
    if (clear) {
        ez_secret_mask(clear, masked);
        OPENSSL_cleanse(clear, strlen(clear));
        free(clear);
    } else {
        log_warn("api key %lld: its stored value cannot be decrypted with the configured "
                 "secrets_key", (long long)json_integer_value(json_object_get(key, "id")));
    }
    json_object_set_new(key, "api_key", json_string(masked));
}

static void mask_keys(const struct ez_config *cfg, json_t *rows)
{
    size_t i;
    json_t *k;
    json_array_foreach(rows, i, k)
        mask_key(cfg, k);
}

static void name_taken(struct ez_verr *e, const char *name)
{
    ez_refuse(e, EZ_CONFLICT, "name_taken", "name", "provider group '%s' already exists",
              name ? name : "");
}

static int insert_group(struct ez_db *db, const struct ez_group_in *in, json_t **out,
                        struct ez_outcome *o)
{
    char *models = json_dumps(in->models, JSON_COMPACT);
    if (!models)
        return EZ_DB_ERROR;
    const char *p[] = { in->name, in->type, in->base_url, in->google_project,
                        in->google_location, models, in->status };
    char state[6];
    int rc = json_row(db, out, state, GROUP_INSERT, 7, p);
    free(models);
    if (rc == EZ_DB_OK && !*out)
        name_taken(&o->e, in->name);
    return rc;
}

static int insert_key(struct ez_db *db, const struct ez_config *cfg, int64_t group_id,
                      const struct ez_key_in *in, json_t **out, struct ez_outcome *o)
{
    char gid[24], weight[24];
    const char *p[] = { num(gid, group_id), in->stored,
                        in->has_weight ? num(weight, in->weight) : NULL, in->status,
                        in->has_auto_ban ? flag(in->auto_ban) : NULL, in->ban_reason,
                        in->ban_until };
    char state[6];
    int rc = json_row(db, out, state, KEY_INSERT, 7, p);
    if (rc == EZ_DB_ERROR && strcmp(state, SQLSTATE_FOREIGN_KEY) == 0) {
        ez_refuse(&o->e, EZ_RULE, "invalid_reference", "group_id",
                  "provider group %s does not exist", gid);
        return EZ_DB_OK;
    }
    if (rc == EZ_DB_OK && !*out)
        rc = EZ_DB_ERROR;
    if (rc == EZ_DB_OK)
        mask_key(cfg, *out);
    return rc;
}

void ez_store_group_create(struct ez_db *db, const struct ez_group_in *in, json_t **out,
                           struct ez_outcome *o)
{
    *out = NULL;
    int rc = ez_outcome_begin(db, o);
    if (rc == EZ_DB_OK)
        rc = insert_group(db, in, out, o);
    if (!ez_outcome_end(db, rc, o))
        ez_outcome_drop(out, NULL, NULL);
}

int ez_store_group_list(struct ez_db *db, const struct ez_page *pg, const char *status,
                     const char *type, json_t **rows)
{
    char after[24], limit[24];
    const char *p[] = { num(after, pg->after), num(limit, pg->limit + 1), status, type };
    return ez_db_json_rows(db, rows,
                           "SELECT " GROUP_JSON " FROM provider_groups g WHERE g.id > $1 "
                           "AND ($3::text IS NULL OR g.status = $3) "
                           "AND ($4::text IS NULL OR g.type = $4) ORDER BY g.id LIMIT $2",
                           4, p);
}

int ez_store_group_get(struct ez_db *db, int64_t id, char **out)
{
    char idb[24];
    const char *p[] = { num(idb, id) };
    return ez_db_json_text_row(db, out,
                               "SELECT " GROUP_JSON " FROM provider_groups g WHERE g.id = $1", 1,
                               p);
}

void ez_store_group_update(struct ez_db *db, int64_t id, struct ez_group_in *in,
                           ez_group_merge_fn merge, json_t **before, json_t **after,
                           struct ez_outcome *o)
{
    char idb[24], state[6];
    *before = *after = NULL;
    const char *pid[] = { num(idb, id) };
    int rc = ez_outcome_begin(db, o);
    if (rc == EZ_DB_OK)
        rc = json_row(db, before, state,
                      "SELECT " GROUP_JSON " FROM provider_groups g WHERE g.id = $1 FOR UPDATE",
                      1, pid);
    if (rc == EZ_DB_OK && !*before)
        ez_not_found(&o->e);
    char *models = NULL;
    if (rc == EZ_DB_OK && o->e.status == EZ_DONE && merge(in, *before, &o->e) == 0) {
        models = in->models ? json_dumps(in->models, JSON_COMPACT) : NULL;
        const char *p[] = { idb, in->name, in->type, flag(in->clear_base_url), in->base_url,
                            flag(in->clear_google_project), in->google_project,
                            flag(in->clear_google_location), in->google_location, models,
                            in->status };
        rc = json_row(db, after, state,
                      "UPDATE provider_groups AS g SET name = coalesce($2, name), "
                      "type = coalesce($3, type), "
                      "base_url = CASE WHEN $4::boolean THEN NULL ELSE coalesce($5, base_url) END, "
                      "google_project = CASE WHEN $6::boolean THEN NULL "
                      "  ELSE coalesce($7, google_project) END, "
                      "google_location = CASE WHEN $8::boolean THEN NULL "
                      "  ELSE coalesce($9, google_location) END, "
                      "models = CASE WHEN $10::json IS NULL THEN models "
                      "  ELSE " MODELS_ARRAY("$10") " END, "
                      "status = coalesce($11, status) WHERE g.id = $1 RETURNING " GROUP_JSON,
                      11, p);
        if (rc == EZ_DB_ERROR && strcmp(state, SQLSTATE_UNIQUE) == 0) {
            name_taken(&o->e, in->name);
            rc = EZ_DB_OK;
        } else if (rc == EZ_DB_OK && !*after) {
            rc = EZ_DB_ERROR;
        }
    }
    free(models);
    if (!ez_outcome_end(db, rc, o))
        ez_outcome_drop(before, after, NULL);
}

/* Runs a DELETE ... RETURNING id wrapped to answer the ids as one JSON
 * array. */
static int delete_children(struct ez_db *db, const char *sql, const char *const *p, json_t **ids)
{
    char state[6];
    int rc = json_row(db, ids, state, sql, 1, p);
    if (rc == EZ_DB_OK && !*ids)
        rc = EZ_DB_ERROR;
    return rc;
}

static void in_use(struct ez_verr *e, json_t *group, json_t *counts)
{
    long long nkeys = json_integer_value(json_object_get(counts, "keys"));
    long long nbindings = json_integer_value(json_object_get(counts, "bindings"));
    if (nkeys || nbindings)
        ez_refuse(e, EZ_CONFLICT, "group_in_use", NULL,
                  "provider group '%s' has %lld api key%s and %lld binding%s; delete them "
                  "first or use ?cascade=true",
                  json_string_value(json_object_get(group, "name")), nkeys,
                  nkeys == 1 ? "" : "s", nbindings, nbindings == 1 ? "" : "s");
}

void ez_store_group_delete(struct ez_db *db, int64_t id, int cascade, json_t **before,
                           json_t **key_ids, json_t **binding_ids, struct ez_outcome *o)
{
    char idb[24], state[6];
    const char *p[] = { num(idb, id) };
    *before = *key_ids = *binding_ids = NULL;
    json_t *counts = NULL;
    int rc = ez_outcome_begin(db, o);
    if (rc == EZ_DB_OK)
        rc = json_row(db, before, state,
                      "SELECT " GROUP_JSON " FROM provider_groups g WHERE g.id = $1 FOR UPDATE",
                      1, p);
    if (rc == EZ_DB_OK && !*before)
        ez_not_found(&o->e);
    else if (rc == EZ_DB_OK && !cascade)
        rc = json_row(db, &counts, state,
                      "SELECT json_build_object("
                      "'keys', (SELECT count(*) FROM api_keys WHERE group_id = $1), "
                      "'bindings', (SELECT count(*) FROM bindings WHERE group_id = $1))", 1, p);
    if (counts)
        in_use(&o->e, *before, counts);
    json_decref(counts);
    if (rc == EZ_DB_OK && o->e.status == EZ_DONE)
        rc = delete_children(db,
                             "WITH d AS (DELETE FROM bindings WHERE group_id = $1 RETURNING id) "
                             "SELECT coalesce(json_agg(id ORDER BY id), '[]'::json) FROM d",
                             p, binding_ids);
    if (rc == EZ_DB_OK && o->e.status == EZ_DONE)
        rc = delete_children(db,
                             "WITH d AS (DELETE FROM api_keys WHERE group_id = $1 RETURNING id) "
                             "SELECT coalesce(json_agg(id ORDER BY id), '[]'::json) FROM d",
                             p, key_ids);
    if (rc == EZ_DB_OK && o->e.status == EZ_DONE)
        rc = ez_db_cmd(db, "DELETE FROM provider_groups WHERE id = $1", 1, p);
    if (!ez_outcome_end(db, rc, o))
        ez_outcome_drop(before, key_ids, binding_ids);
}

void ez_store_key_create(struct ez_db *db, const struct ez_config *cfg,
                         const struct ez_key_in *in, json_t **out, struct ez_outcome *o)
{
    *out = NULL;
    int rc = ez_outcome_begin(db, o);
    if (rc == EZ_DB_OK)
        rc = insert_key(db, cfg, in->group_id, in, out, o);
    if (!ez_outcome_end(db, rc, o))
        ez_outcome_drop(out, NULL, NULL);
}

int ez_store_key_list(struct ez_db *db, const struct ez_config *cfg, const struct ez_page *pg,
                   int64_t group_id, const char *status, json_t **rows)
{
    char after[24], limit[24], gid[24];
    const char *p[] = { num(after, pg->after), num(limit, pg->limit + 1),
                        group_id ? num(gid, group_id) : NULL, status };
    int rc = ez_db_json_rows(db, rows,
                             "SELECT " KEY_JSON " FROM api_keys k "
                             "JOIN provider_groups g ON g.id = k.group_id WHERE k.id > $1 "
                             "AND ($3::bigint IS NULL OR k.group_id = $3) "
                             "AND ($4::text IS NULL OR k.status = $4) ORDER BY k.id LIMIT $2",
                             4, p);
    if (rc == EZ_DB_OK)
        mask_keys(cfg, *rows);
    return rc;
}

int ez_store_key_get(struct ez_db *db, const struct ez_config *cfg, int64_t id, json_t **out)
{
    char idb[24];
    const char *p[] = { num(idb, id) };
    int rc = ez_db_json_row(db, out,
                            "SELECT " KEY_JSON " FROM api_keys k "
                            "JOIN provider_groups g ON g.id = k.group_id WHERE k.id = $1",
                            1, p);
    if (rc == EZ_DB_OK && *out)
        mask_key(cfg, *out);
    return rc;
}

void ez_store_key_update(struct ez_db *db, const struct ez_config *cfg, int64_t id,
                         const struct ez_key_in *in, json_t **before, json_t **after,
                         struct ez_outcome *o)
{
    char idb[24], weight[24], state[6];
    *before = *after = NULL;
    const char *p[] = { num(idb, id), in->stored, in->has_weight ? num(weight, in->weight) : NULL,
                        in->status, in->has_auto_ban ? flag(in->auto_ban) : NULL,
                        flag(in->clear_ban_reason), in->ban_reason, flag(in->clear_ban_until),
                        in->ban_until };
    int rc = ez_outcome_begin(db, o);
    if (rc == EZ_DB_OK)
        rc = json_row(db, before, state,
                      "SELECT " KEY_JSON " FROM api_keys k "
                      "JOIN provider_groups g ON g.id = k.group_id WHERE k.id = $1 "
                      "FOR UPDATE OF k", 1, p);
    if (rc == EZ_DB_OK && !*before) {
        ez_not_found(&o->e);
    } else if (rc == EZ_DB_OK) {
        rc = json_row(db, after, state,
                      "WITH k AS (UPDATE api_keys SET api_key = coalesce($2, api_key), "
                      "weight = coalesce($3::integer, weight), status = coalesce($4, status), "
                      "auto_ban = coalesce($5::boolean, auto_ban), "
                      "ban_reason = CASE WHEN $6::boolean THEN NULL "
                      "  ELSE coalesce($7, ban_reason) END, "
                      "ban_until = CASE WHEN $8::boolean THEN NULL "
                      "  ELSE coalesce($9::timestamptz, ban_until) END "
                      "WHERE id = $1 RETURNING *) "
                      "SELECT " KEY_JSON " FROM k JOIN provider_groups g ON g.id = k.group_id",
                      9, p);
        if (rc == EZ_DB_OK && !*after)
            rc = EZ_DB_ERROR;
    }
    if (!ez_outcome_end(db, rc, o)) {
        ez_outcome_drop(before, after, NULL);
        return;
    }
    mask_key(cfg, *before);
    mask_key(cfg, *after);
}

void ez_store_key_delete(struct ez_db *db, const struct ez_config *cfg, int64_t id,
                         json_t **before, struct ez_outcome *o)
{
    char idb[24], state[6];
    const char *p[] = { num(idb, id) };
    *before = NULL;
    int rc = ez_outcome_begin(db, o);
    if (rc == EZ_DB_OK)
        rc = json_row(db, before, state,
                      "WITH k AS (DELETE FROM api_keys WHERE id = $1 RETURNING *) "
                      "SELECT " KEY_JSON " FROM k JOIN provider_groups g ON g.id = k.group_id",
                      1, p);
    if (rc == EZ_DB_OK && !*before)
        ez_not_found(&o->e);
    if (ez_outcome_end(db, rc, o))
        mask_key(cfg, *before);
    else
        ez_outcome_drop(before, NULL, NULL);
}

void ez_store_provider_create(struct ez_db *db, const struct ez_config *cfg,
                              const struct ez_group_in *g, const struct ez_key_in *k,
                              json_t **group, json_t **key, struct ez_outcome *o)
{
    *group = *key = NULL;
    int rc = ez_outcome_begin(db, o);
    if (rc == EZ_DB_OK)
        rc = insert_group(db, g, group, o);
    if (rc == EZ_DB_OK && o->e.status == EZ_DONE)
        rc = insert_key(db, cfg, json_integer_value(json_object_get(*group, "id")), k, key, o);
    if (rc == EZ_DB_OK && o->e.status == EZ_RULE) { /* this transaction inserted the group */
        o->e.status = EZ_DONE;
        rc = EZ_DB_ERROR;
    }
    if (!ez_outcome_end(db, rc, o))
        ez_outcome_drop(group, key, NULL);
}
