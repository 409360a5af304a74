/* Provider group, api key, preset and custom routes: validate, seal, store,
 * enqueue, audit, answer. No SQL and no rule lives here, and no clear api
 * key reaches an answer, an audit record or a log line. */
#include <inttypes.h>
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

static void reply_name_taken(struct ez_req *r, const char *name)
{
    ez_reply_error(r, 409, "conflict_error", "name_taken", "name",
                   "provider group '%s' already exists", name ? name : "");
}

/* Seals in->api_key into in->stored; 0, or -1 after answering 500. The
 * caller frees *sealed. */
static int seal(struct ez_req *r, struct ez_key_in *in, char **sealed)
{
    *sealed = NULL;
    if (!in->api_key)
        return 0;
    *sealed = ez_secret_seal(ez_w.cfg, in->api_key);
    if (!*sealed) {
        ez_reply_error(r, 500, "api_error", NULL, NULL, "the api key could not be sealed");
        return -1;
    }
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
    struct ez_verr e;
    json_t *out = NULL;
    int st;
    char idb[24];
    if (ez_validate_group(r->body, 1, &in, &e) != 0) {
        ez_reply_verr(r, &e);
    } else if (!ez_committed(r, ez_store_group_create(ez_w.db, &in, &out, &st))) {
        /* answered */
    } else if (st == EZ_ST_NAME_TAKEN) {
        reply_name_taken(r, in.name);
    } else {
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
    struct ez_verr e;
    const char *type;
    if (ez_page_parse(r, &pg) != 0)
        return;
    if (ez_validate_group_filters(ez_query(r, "status"), ez_query(r, "type"), &type, &e) != 0) {
        ez_reply_verr(r, &e);
        return;
    }
    json_t *rows;
    int rc = ez_store_group_list(ez_w.db, &pg, ez_query(r, "status"), type, &rows);
    ez_reply_page(r, rc, rows, &pg);
}

void h_groups_get(struct ez_req *r)
{
    int64_t id;
    json_t *out;
    if (ez_param_id(r, 0, &id) != 0)
        return;
    int rc = ez_store_group_get(ez_w.db, id, &out);
    ez_reply_found(r, rc, out, "provider group");
}

void h_groups_update(struct ez_req *r)
{
    struct ez_group_in in = { 0 };
    struct ez_verr e;
    json_t *before = NULL, *after = NULL;
    int64_t id;
    int st;
    char idb[24];
    if (ez_param_id(r, 0, &id) != 0)
        return;
    if (ez_validate_group(r->body, 0, &in, &e) != 0) {
        ez_reply_verr(r, &e);
    } else if (!ez_committed(r, ez_store_group_update(ez_w.db, id, &in, ez_group_merge, &e,
                                                   &before, &after, &st))) {
        /* answered */
    } else if (st == EZ_ST_NOT_FOUND) {
        ez_reply_not_found(r, "provider group");
    } else if (st == EZ_ST_INVALID) {
        ez_reply_verr(r, &e);
    } else if (st == EZ_ST_NAME_TAKEN) {
        reply_name_taken(r, in.name);
    } else {
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
    struct ez_verr e;
    json_t *before, *key_ids, *binding_ids;
    long long nkeys, nbindings;
    int64_t id;
    int cascade, st;
    char idb[24];
    if (ez_param_id(r, 0, &id) != 0)
        return;
    if (ez_validate_cascade(ez_query(r, "cascade"), &cascade, &e) != 0) {
        ez_reply_verr(r, &e);
        return;
    }
    int rc = ez_store_group_delete(ez_w.db, id, cascade, &before, &nkeys, &nbindings, &key_ids,
                                &binding_ids, &st);
    if (!ez_committed(r, rc))
        return;
    if (st == EZ_ST_NOT_FOUND) {
        ez_reply_not_found(r, "provider group");
        return;
    }
    if (st == EZ_ST_IN_USE) {
        ez_reply_error(r, 409, "conflict_error", "group_in_use", NULL,
                       "provider group '%s' has %lld api key%s and %lld binding%s; delete "
                       "them first or use ?cascade=true",
                       obj_name(before), nkeys, nkeys == 1 ? "" : "s", nbindings,
                       nbindings == 1 ? "" : "s");
        json_decref(before);
        return;
    }
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
    struct ez_verr e;
    json_t *out = NULL;
    char *sealed = NULL, idb[24];
    int st;
    if (ez_validate_api_key(r->body, 1, &in, &e) != 0) {
        ez_reply_verr(r, &e);
    } else if (seal(r, &in, &sealed) != 0) {
        /* answered */
    } else if (!ez_committed(r, ez_store_key_create(ez_w.db, ez_w.cfg, &in, &out, &st))) {
        /* answered */
    } else if (st == EZ_ST_NO_GROUP) {
        ez_reply_error(r, 422, "invalid_request_error", "invalid_reference", "group_id",
                       "provider group %" PRId64 " does not exist", in.group_id);
    } else {
        sync_key(r, "upsert", out);
        ez_audit(r, "api_key.create", "api_key", id_text(idb, out), NULL, json_incref(out));
        ez_reply_json(r, 201, out);
    }
    free_sealed(sealed);
}

void h_keys_list(struct ez_req *r)
{
    struct ez_page pg;
    struct ez_verr e;
    int64_t gid;
    if (ez_page_parse(r, &pg) != 0)
        return;
    const char *status = ez_query(r, "status");
    if (ez_validate_key_filters(ez_query(r, "group_id"), status, &gid, &e) != 0) {
        ez_reply_verr(r, &e);
        return;
    }
    json_t *rows;
    int rc = ez_store_key_list(ez_w.db, ez_w.cfg, &pg, gid, status, &rows);
    ez_reply_page(r, rc, rows, &pg);
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
    struct ez_verr e;
    json_t *before = NULL, *after = NULL;
    char *sealed = NULL, idb[24];
    int64_t id;
    int st;
    if (ez_param_id(r, 0, &id) != 0)
        return;
    if (ez_validate_api_key(r->body, 0, &in, &e) != 0) {
        ez_reply_verr(r, &e);
    } else if (seal(r, &in, &sealed) != 0) {
        /* answered */
    } else if (!ez_committed(r, ez_store_key_update(ez_w.db, ez_w.cfg, id, &in, &before, &after,
                                                 &st))) {
        /* answered */
    } else if (st == EZ_ST_NOT_FOUND) {
        ez_reply_not_found(r, "api key");
    } else {
        sync_key(r, "upsert", after);
        ez_audit(r, "api_key.update", "api_key", id_text(idb, after), before, json_incref(after));
        ez_reply_json(r, 200, after);
    }
    free_sealed(sealed);
}

void h_keys_delete(struct ez_req *r)
{
    int64_t id;
    json_t *before;
    int st;
    char idb[24];
    if (ez_param_id(r, 0, &id) != 0)
        return;
    int rc = ez_store_key_delete(ez_w.db, ez_w.cfg, id, &before, &st);
    if (!ez_committed(r, rc))
        return;
    if (st == EZ_ST_NOT_FOUND) {
        ez_reply_not_found(r, "api key");
        return;
    }
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
    struct ez_verr e;
    json_t *group = NULL, *key = NULL;
    char *sealed = NULL, idb[24];
    int st;
    if (validate(r->body, &g, &k, &e) != 0) {
        ez_reply_verr(r, &e);
    } else if (seal(r, &k, &sealed) != 0) {
        /* answered */
    } else if (!ez_committed(r, ez_store_provider_create(ez_w.db, ez_w.cfg, &g, &k, &group, &key,
                                                      &st))) {
        /* answered */
    } else if (st == EZ_ST_NAME_TAKEN) {
        reply_name_taken(r, g.name);
    } else {
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
