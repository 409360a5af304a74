/* /admin/models, /admin/model-registry, /admin/bindings, /admin/features:
 * parse and validate (validate_catalog.c), run the transaction
 * (store_catalog.c), then enqueue the sync job, mark the audit, answer. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "jobs.h"
#include "log.h"
#include "paging.h"
#include "projection.h"
#include "store_catalog.h"
#include "validate_catalog.h"
#include "worker.h"

static const char *str(json_t *obj, const char *field)
{
    const char *s = json_string_value(json_object_get(obj, field));
    return s ? s : "";
}

static int64_t obj_id(json_t *obj)
{
    return (int64_t)json_integer_value(json_object_get(obj, "id"));
}

static void id_text(char buf[24], int64_t id)
{
    snprintf(buf, 24, "%" PRId64, id);
}

/* ---- models ----------------------------------------------------------- */

/* old: the row before an update (for a rename), or NULL. */
static void sync_model(struct ez_req *r, const char *op, json_t *obj, json_t *old)
{
    json_t *payload = json_pack("{s:s}", "name", str(obj, "name"));
    if (old && strcmp(str(old, "name"), str(obj, "name")) != 0)
        json_object_set_new(payload, "old_name", json_string(str(old, "name")));
    ez_jobs_sync(r, "models", op, obj_id(obj), 0, payload);
}

void h_models_create(struct ez_req *r)
{
    struct ez_model_in in = { 0 };
    struct ez_outcome o = { 0 };
    json_t *out = NULL;
    char id[24];
    if (ez_validate_model(r->body, 1, &in, &o.e) == 0)
        ez_store_model_create(ez_w.db, &in, &out, &o);
    if (!ez_reply_outcome(r, &o, "model"))
        return;
    id_text(id, obj_id(out));
    sync_model(r, "upsert", out, NULL);
    ez_audit(r, "model.create", "model", id, NULL, json_incref(out));
    ez_reply_json(r, 201, out);
}

void h_models_list(struct ez_req *r)
{
    struct ez_page pg;
    struct ez_outcome o = { 0 };
    const char *name = ez_query(r, "name");
    json_t *rows = NULL;
    if (ez_page_parse(r, &pg) != 0)
        return;
    if (ez_validate_model_filter(name, &o.e) == 0)
        o.db = ez_store_model_list(ez_w.db, &pg, name, &rows);
    if (ez_reply_outcome(r, &o, NULL))
        ez_reply_page(r, o.db, rows, &pg);
}

void h_models_get(struct ez_req *r)
{
    ez_reply_row_by_id(r, ez_w.db, ez_store_model_get, "model");
}

void h_models_update(struct ez_req *r)
{
    struct ez_model_in in = { 0 };
    struct ez_outcome o = { 0 };
    json_t *before = NULL, *after = NULL;
    int64_t id;
    char ids[24];
    if (ez_param_id(r, 0, &id) != 0)
        return;
    if (ez_validate_model(r->body, 0, &in, &o.e) == 0)
        ez_store_model_update(ez_w.db, id, &in, &before, &after, &o);
    if (!ez_reply_outcome(r, &o, "model"))
        return;
    id_text(ids, id);
    sync_model(r, "upsert", after, before);
    ez_audit(r, "model.update", "model", ids, before, json_incref(after));
    ez_reply_json(r, 200, after);
}

void h_models_delete(struct ez_req *r)
{
    struct ez_outcome o;
    json_t *before;
    int64_t id;
    char ids[24];
    if (ez_param_id(r, 0, &id) != 0)
        return;
    ez_store_model_delete(ez_w.db, id, &before, &o);
    if (!ez_reply_outcome(r, &o, "model"))
        return;
    id_text(ids, id);
    sync_model(r, "delete", before, NULL);
    ez_audit(r, "model.delete", "model", ids, before, NULL);
    ez_reply_json(r, 204, NULL);
}

void h_model_registry(struct ez_req *r)
{
    json_t *rows;
    int rc = ez_store_model_registry(ez_w.db, &rows);
    if (rc != EZ_DB_OK)
        ez_reply_db(r, rc);
    else
        ez_reply_json(r, 200, json_pack("{s:o}", "data", rows));
}

/* ---- bindings --------------------------------------------------------- */

static void sync_binding(struct ez_req *r, const char *op, json_t *obj, json_t *old)
{
    json_t *payload = json_pack("{s:s, s:s}", "namespace", str(obj, "namespace"),
                                "public_model", str(obj, "public_model"));
    if (old && strcmp(str(old, "namespace"), str(obj, "namespace")) != 0)
        json_object_set_new(payload, "old_namespace", json_string(str(old, "namespace")));
    if (old && strcmp(str(old, "public_model"), str(obj, "public_model")) != 0)
        json_object_set_new(payload, "old_public_model", json_string(str(old, "public_model")));
    ez_jobs_sync(r, "bindings", op, obj_id(obj), 0, payload);
}

/* The answer of a write: the binding plus its resolved candidate
 * (docs/api.md), or a null candidate when it cannot be computed now (the
 * write stands). */
static json_t *with_candidate(json_t *binding)
{
    json_t *answer = json_copy(binding);
    json_t *cand = NULL;
    int rc = ez_projection_binding_candidate(ez_w.db, ez_w.cfg, obj_id(binding), &cand);
    if (rc != EZ_DB_OK) {
        log_warn("binding %" PRId64 " saved, but its candidate could not be resolved",
                 obj_id(binding));
        cand = NULL;
    }
    json_object_set_new(answer, "candidate", cand ? cand : json_null());
    return answer;
}

void h_bindings_create(struct ez_req *r)
{
    struct ez_binding_in in = { 0 };
    struct ez_outcome o = { 0 };
    json_t *out = NULL;
    char id[24];
    if (ez_validate_binding(r->body, 1, &in, &o.e) == 0)
        ez_store_binding_create(ez_w.db, &in, &out, &o);
    if (!ez_reply_outcome(r, &o, "binding"))
        return;
    id_text(id, obj_id(out));
    sync_binding(r, "upsert", out, NULL);
    ez_audit(r, "binding.create", "binding", id, NULL, json_incref(out));
    ez_reply_json(r, 201, with_candidate(out));
    json_decref(out);
}

/* resolve=true: each row of the page (not the look-ahead row) gets the
 * candidate the data plane resolves, as a write's answer does, loaded for
 * the whole page at once (three queries, whatever its limit). */
static int resolve_rows(json_t *rows, int limit)
{
    size_t n = json_array_size(rows);
    if (n > (size_t)limit)
        n = (size_t)limit;
    if (n == 0)
        return EZ_DB_OK;
    int64_t *ids = calloc(n, sizeof *ids);
    if (!ids) {
        log_error("binding candidates of a page of %zu: out of memory", n);
        return EZ_DB_ERROR;
    }
    for (size_t i = 0; i < n; i++)
        ids[i] = obj_id(json_array_get(rows, i));
    json_t *cands = NULL;
    int rc = ez_projection_binding_candidates(ez_w.db, ids, (int)n, &cands);
    free(ids);
    for (size_t i = 0; rc == EZ_DB_OK && i < n; i++)
        json_object_set(json_array_get(rows, i), "candidate", json_array_get(cands, i));
    json_decref(cands);
    return rc;
}

void h_bindings_list(struct ez_req *r)
{
    struct ez_page pg;
    struct ez_outcome o = { 0 };
    const char *ns = ez_query(r, "namespace"), *resolve = ez_query(r, "resolve");
    json_t *rows = NULL;
    int64_t gid;
    if (ez_page_parse(r, &pg) != 0)
        return;
    if (resolve && strcmp(resolve, "true") != 0 && strcmp(resolve, "false") != 0) {
        ez_reply_invalid(r, "resolve", "resolve must be true or false");
        return;
    }
    if (ez_validate_binding_filters(ns, ez_query(r, "group_id"), &gid, &o.e) == 0)
        o.db = ez_store_binding_list(ez_w.db, &pg, ns, gid, &rows);
    if (o.db == EZ_DB_OK && rows && resolve && strcmp(resolve, "true") == 0)
        o.db = resolve_rows(rows, pg.limit);
    if (ez_reply_outcome(r, &o, NULL))
        ez_reply_page(r, o.db, rows, &pg);
}

void h_bindings_get(struct ez_req *r)
{
    ez_reply_row_by_id(r, ez_w.db, ez_store_binding_get, "binding");
}

void h_bindings_update(struct ez_req *r)
{
    struct ez_binding_in in = { 0 };
    struct ez_outcome o = { 0 };
    json_t *before = NULL, *after = NULL;
    int64_t id;
    char ids[24];
    if (ez_param_id(r, 0, &id) != 0)
        return;
    if (ez_validate_binding(r->body, 0, &in, &o.e) == 0)
        ez_store_binding_update(ez_w.db, id, &in, ez_binding_check_merged, &before, &after, &o);
    if (!ez_reply_outcome(r, &o, "binding"))
        return;
    id_text(ids, id);
    sync_binding(r, "upsert", after, before);
    ez_audit(r, "binding.update", "binding", ids, before, json_incref(after));
    ez_reply_json(r, 200, with_candidate(after));
    json_decref(after);
}

void h_bindings_delete(struct ez_req *r)
{
    struct ez_outcome o;
    json_t *before;
    int64_t id;
    char ids[24];
    if (ez_param_id(r, 0, &id) != 0)
        return;
    ez_store_binding_delete(ez_w.db, id, &before, &o);
    if (!ez_reply_outcome(r, &o, "binding"))
        return;
    id_text(ids, id);
    sync_binding(r, "delete", before, NULL);
    ez_audit(r, "binding.delete", "binding", ids, before, NULL);
    ez_reply_json(r, 204, NULL);
}

/* ---- features --------------------------------------------------------- */

void h_features_get(struct ez_req *r)
{
    json_t *map;
    int rc = ez_store_features_get(ez_w.db, &map);
    if (rc != EZ_DB_OK || !map)
        ez_reply_db(r, rc != EZ_DB_OK ? rc : EZ_DB_ERROR);
    else
        ez_reply_json(r, 200, map);
}

/* The names a features job covers: those set and those deleted. */
static json_t *feature_names(json_t *set, json_t *del)
{
    json_t *names = json_array();
    const char *name;
    json_t *v;
    json_object_foreach(set, name, v)
        json_array_append_new(names, json_string(name));
    json_array_extend(names, del);
    return names;
}

void h_features_put(struct ez_req *r)
{
    struct ez_outcome o = { 0 };
    json_t *set, *del, *before = NULL, *after = NULL;
    int valid = ez_validate_features(r->body, &set, &del, &o.e) == 0;
    if (valid && !json_object_size(set) && !json_array_size(del)) {
        json_decref(set);
        json_decref(del);
        h_features_get(r); /* nothing to change: the current map */
        return;
    }
    if (valid)
        ez_store_features_put(ez_w.db, set, del, &before, &after, &o);
    json_t *names = feature_names(set, del);
    json_decref(set);
    json_decref(del);
    if (!ez_reply_outcome(r, &o, NULL)) {
        json_decref(names);
        return;
    }
    if (json_equal(before, after)) { /* every value was already so: not a change */
        json_decref(names);
        json_decref(before);
        ez_reply_json(r, 200, after);
        return;
    }
    ez_jobs_sync(r, "features", "upsert", 0, 0, json_pack("{s:o}", "names", names));
    ez_audit(r, "features.update", "features", "", before, json_incref(after));
    ez_reply_json(r, 200, after);
}
