/* /admin/namespaces: parse, validate, store, enqueue, answer. */
#include "handlers.h"
#include "validate.h"
#include "jobs.h"
#include "paging.h"
#include "store_namespaces.h"
#include "validate_namespace.h"
#include "worker.h"

static void sync_namespace(struct ez_req *r, const char *op, json_t *obj)
{
    ez_jobs_sync(r, "namespaces", op, json_integer_value(json_object_get(obj, "id")), 0,
                 json_pack("{s:s}", "name", json_string_value(json_object_get(obj, "name"))));
}

void h_namespaces_create(struct ez_req *r)
{
    struct ez_namespace_in in = { 0 };
    struct ez_outcome o = { 0 };
    json_t *out = NULL;
    if (ez_validate_namespace(r->body, 1, &in, &o.e) == 0)
        ez_store_namespace_create(ez_w.db, &in, &out, &o);
    if (!ez_reply_outcome(r, &o, "namespace"))
        return;
    sync_namespace(r, "upsert", out);
    ez_audit(r, "namespace.create", "namespace", in.name, NULL, json_incref(out));
    ez_reply_json(r, 201, out);
}

void h_namespaces_list(struct ez_req *r)
{
    static const char *const statuses[] = { "active", "suspended", NULL };
    ez_reply_status_list(r, ez_w.db, statuses, ez_store_namespace_list);
}

void h_namespaces_get(struct ez_req *r)
{
    json_t *out;
    int rc = ez_store_namespace_get(ez_w.db, r->params[0], &out);
    ez_reply_found(r, rc, out, "namespace");
}

void h_namespaces_update(struct ez_req *r)
{
    struct ez_namespace_in in = { .name = r->params[0] };
    struct ez_outcome o = { 0 };
    json_t *before = NULL, *after = NULL;
    if (ez_validate_namespace(r->body, 0, &in, &o.e) == 0)
        ez_store_namespace_update(ez_w.db, &in, &before, &after, &o);
    if (!ez_reply_outcome(r, &o, "namespace"))
        return;
    sync_namespace(r, "upsert", after);
    ez_audit(r, "namespace.update", "namespace", in.name, before, json_incref(after));
    ez_reply_json(r, 200, after);
}

void h_namespaces_delete(struct ez_req *r)
{
    struct ez_outcome o;
    json_t *before;
    ez_store_namespace_delete(ez_w.db, r->params[0], &before, &o);
    if (!ez_reply_outcome(r, &o, "namespace"))
        return;
    sync_namespace(r, "delete", before);
    ez_audit(r, "namespace.delete", "namespace", r->params[0], before, NULL);
    ez_reply_json(r, 204, NULL);
}
