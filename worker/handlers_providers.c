/* Provider group, api key, preset and custom routes: validate, seal, store,
 * enqueue, audit, answer. No SQL and no rule lives here, and no clear api
 * key reaches an answer, an audit record or a log line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "handlers.h"
#include "jobs.h"
#include "paging.h"
#include "secrets.h"
#include "store_providers.h"
#include "validate_provider.h"
#include "worker.h"

static const char *id_text(char buf[24], json_t *obj)
{
    snprintf(buf, 24, "%" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(obj, "id")));
    return buf;
}

static int64_t obj_id(json_t *obj)
{
    return json_integer_value(json_object_get(obj, "id"));
}

static const char *obj_name(json_t *obj)
{
    return json_string_value(json_object_get(obj, "name"));
}

/* provider_groups job: {"name", "old_name" (renamed or deleted), "key_ids"
 * (cascade delete)}. key_ids is stolen. */
static void sync_group(struct ez_req *r, const char *op, json_t *group, const char *old_name,
                       json_t *key_ids)
{
    json_t *payload = json_pack("{s:s}", "name", obj_name(group));
    if (payload && old_name)
        json_object_set_new(payload, "old_name", json_string(old_name));
    if (payload && key_ids)
        json_object_set(payload, "key_ids", key_ids);
    json_decref(key_ids);
    ez_jobs_sync(r, "provider_groups", op, obj_id(group), 0, payload);
}

static void sync_key(struct ez_req *r, const char *op, json_t *key)
{
    ez_jobs_sync(r, "api_keys", op, obj_id(key), 0,
                 json_pack("{s:I}", "group_id",
                           json_integer_value(json_object_get(key, "group_id"))));
}

/* Seals in->api_key into in->stored; the caller frees *sealed. */
static int seal(struct ez_key_in *in, char **sealed, struct ez_verr *e)
{
    *sealed = NULL;
    if (!in->api_key)
        return 0;
    *sealed = ez_secret_seal(ez_w.cfg, in->api_key);
    if (!*sealed)
        return ez_refuse(e, EZ_FAILED, NULL, NULL, "the api key could not be sealed");
    in->stored = *sealed;
    return 0;
}

static void free_sealed(char *sealed)
{
    if (sealed) {
        OPENSSL_cleanse(sealed, strlen(sealed));
        free(sealed);
    }
}

/* ---- provider groups ------------------------------------------------ */

void h_groups_create(struct ez_req *r)
{
    struct ez_group_in in = { 0 };
    struct ez_outcome o = { 0 };
    json_t *out = NULL;
    char idb[24];
    if (ez_validate_group(r->body, 1, &in, &o.e) == 0)
        ez_store_group_create(ez_w.db, &in, &out, &o);
    if (ez_reply_outcome(r, &o, NULL)) {
        sync_group(r, "upsert", out, NULL, NULL);
        ez_audit(r, "provider_group.create", "provider_group", id_text(idb, out), NULL,
                 json_incref(out));
        ez_reply_json(r, 201, out);
    }
    ez_group_in_free(&in);
}

void h_groups_list(struct ez_req *r)
{
    struct ez_page pg;
    struct ez_outcome o = { 0 };
    const char *status = ez_query(r, "status"), *type;
    json_t *rows = NULL;
    if (ez_page_parse(r, &pg) != 0)
        return;
    if (ez_validate_group_filters(status, ez_query(r, "type"), &type, &o.e) == 0)
        o.db = ez_store_group_list(ez_w.db, &pg, status, type, &rows);
    if (ez_reply_outcome(r, &o, NULL))
        ez_reply_page(r, o.db, rows, &pg);
}

void h_groups_get(struct ez_req *r)
{
    ez_reply_row_by_id(r, ez_w.db, ez_store_group_get, "provider group");
}

void h_groups_update(struct ez_req *r)
{
    struct ez_group_in in = { 0 };
    struct ez_outcome o = { 0 };
    json_t *before = NULL, *after = NULL;
    int64_t id;
    char idb[24];
    if (ez_param_id(r, 0, &id) != 0)
        return;
    if (ez_validate_group(r->body, 0, &in, &o.e) == 0)
        ez_store_group_update(ez_w.db, id, &in, ez_group_merge, &before, &after, &o);
    if (ez_reply_outcome(r, &o, "provider group")) {
        const char *old = obj_name(before);
        sync_group(r, "upsert", after, strcmp(old, obj_name(after)) != 0 ? old : NULL, NULL);
        ez_audit(r, "provider_group.update", "provider_group", id_text(idb, after), before,
                 json_incref(after));
        ez_reply_json(r, 200, after);
    }
    ez_group_in_free(&in);
}

void h_groups_delete(struct ez_req *r)
{
    struct ez_outcome o = { 0 };
    json_t *before = NULL, *key_ids = NULL, *binding_ids = NULL;
    int64_t id;
    int cascade;
    char idb[24];
    if (ez_param_id(r, 0, &id) != 0)
        return;
    if (ez_validate_cascade(ez_query(r, "cascade"), &cascade, &o.e) == 0)
        ez_store_group_delete(ez_w.db, id, cascade, &before, &key_ids, &binding_ids, &o);
    if (!ez_reply_outcome(r, &o, "provider group"))
        return;
    json_t *audit_before = json_deep_copy(before);
    if (audit_before && cascade) {
        json_object_set(audit_before, "api_key_ids", key_ids);
        json_object_set(audit_before, "binding_ids", binding_ids);
    }
    json_decref(binding_ids);
    sync_group(r, "delete", before, obj_name(before), cascade ? json_incref(key_ids) : NULL);
    json_decref(key_ids);
    ez_audit(r, "provider_group.delete", "provider_group", id_text(idb, before), audit_before,
             NULL);
    json_decref(before);
    ez_reply_json(r, 204, NULL);
}

/* ---- api keys ------------------------------------------------------- */

void h_keys_create(struct ez_req *r)
{
    struct ez_key_in in = { 0 };
    struct ez_outcome o = { 0 };
    json_t *out = NULL;
    char *sealed = NULL, idb[24];
    if (ez_validate_api_key(r->body, 1, &in, &o.e) == 0 && seal(&in, &sealed, &o.e) == 0)
        ez_store_key_create(ez_w.db, ez_w.cfg, &in, &out, &o);
    if (ez_reply_outcome(r, &o, NULL)) {
        sync_key(r, "upsert", out);
        ez_audit(r, "api_key.create", "api_key", id_text(idb, out), NULL, json_incref(out));
        ez_reply_json(r, 201, out);
    }
    free_sealed(sealed);
}

void h_keys_list(struct ez_req *r)
{
    struct ez_page pg;
    struct ez_outcome o = { 0 };
    const char *status = ez_query(r, "status");
    json_t *rows = NULL;
    int64_t gid;
    if (ez_page_parse(r, &pg) != 0)
        return;
    if (ez_validate_key_filters(ez_query(r, "group_id"), status, &gid, &o.e) == 0)
        o.db = ez_store_key_list(ez_w.db, ez_w.cfg, &pg, gid, status, &rows);
    if (ez_reply_outcome(r, &o, NULL))
        ez_reply_page(r, o.db, rows, &pg);
}

void h_keys_get(struct ez_req *r)
{
    int64_t id;
    json_t *out;
    if (ez_param_id(r, 0, &id) != 0)
        return;
    int rc = ez_store_key_get(ez_w.db, ez_w.cfg, id, &out);
    ez_reply_found(r, rc, out, "api key");
}

void h_keys_update(struct ez_req *r)
{
    struct ez_key_in in = { 0 };
    struct ez_outcome o = { 0 };
    json_t *before = NULL, *after = NULL;
    char *sealed = NULL, idb[24];
    int64_t id;
    if (ez_param_id(r, 0, &id) != 0)
        return;
    if (ez_validate_api_key(r->body, 0, &in, &o.e) == 0 && seal(&in, &sealed, &o.e) == 0)
        ez_store_key_update(ez_w.db, ez_w.cfg, id, &in, &before, &after, &o);
    if (ez_reply_outcome(r, &o, "api key")) {
        sync_key(r, "upsert", after);
        ez_audit(r, "api_key.update", "api_key", id_text(idb, after), before, json_incref(after));
        ez_reply_json(r, 200, after);
    }
    free_sealed(sealed);
}

void h_keys_delete(struct ez_req *r)
{
    struct ez_outcome o;
    json_t *before;
    int64_t id;
    char idb[24];
    if (ez_param_id(r, 0, &id) != 0)
        return;
    ez_store_key_delete(ez_w.db, ez_w.cfg, id, &before, &o);
    if (!ez_reply_outcome(r, &o, "api key"))
        return;
    sync_key(r, "delete", before);
    ez_audit(r, "api_key.delete", "api_key", id_text(idb, before), before, NULL);
    ez_reply_json(r, 204, NULL);
}

/* ---- preset and custom ---------------------------------------------- */

typedef int (*provider_validate_fn)(json_t *body, struct ez_group_in *g, struct ez_key_in *k,
                                    struct ez_verr *e);

/* The group and its first key in one transaction; one provider_groups job
 * covers both. */
static void create_provider(struct ez_req *r, provider_validate_fn validate)
{
    struct ez_group_in g = { 0 };
    struct ez_key_in k = { 0 };
    struct ez_outcome o = { 0 };
    json_t *group = NULL, *key = NULL;
    char *sealed = NULL, idb[24];
    if (validate(r->body, &g, &k, &o.e) == 0 && seal(&k, &sealed, &o.e) == 0)
        ez_store_provider_create(ez_w.db, ez_w.cfg, &g, &k, &group, &key, &o);
    if (ez_reply_outcome(r, &o, NULL)) {
        sync_group(r, "upsert", group, NULL, NULL);
        id_text(idb, group);
        json_t *out = json_pack("{s:o, s:o}", "group", group, "api_key", key);
        ez_audit(r, "provider_group.create", "provider_group", idb, NULL, json_incref(out));
        ez_reply_json(r, 201, out);
    }
    ez_group_in_free(&g);
    free_sealed(sealed);
}

void h_providers_preset(struct ez_req *r)
{
    create_provider(r, ez_validate_preset);
}

void h_providers_custom(struct ez_req *r)
{
    create_provider(r, ez_validate_custom);
}
