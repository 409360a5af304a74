/* /admin/namespaces: parse, validate, store, enqueue, answer. */
#include <stdlib.h>
#include <string.h>

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
    struct ez_verr e;
    if (!r->body) {
        ez_reply_invalid(r, NULL, "a JSON body is required");
        return;
    }
    if (ez_validate_namespace(r->body, 1, &in, &e) != 0) {
        ez_reply_verr(r, &e);
        return;
    }
    json_t *out;
    int conflict;
    int rc = ez_store_namespace_create(ez_w.db, &in, &out, &conflict);
    if (conflict) {
        ez_reply_error(r, 409, "conflict_error", "name_taken", "name",
                       "namespace '%s' already exists", in.name);
        return;
    }
    if (!ez_committed(r, rc))
        return;
    sync_namespace(r, "upsert", out);
    ez_audit(r, "namespace.create", "namespace", in.name, NULL, json_incref(out));
    ez_reply_json(r, 201, out);
}

void h_namespaces_list(struct ez_req *r)
{
    struct ez_page pg;
    if (ez_page_parse(r, &pg) != 0)
        return;
    static const char *const statuses[] = { "active", "suspended", NULL };
    const char *status;
    if (ez_query_enum(r, "status", statuses, &status) != 0)
        return;
    json_t *rows;
    int rc = ez_store_namespace_list(ez_w.db, &pg, status, &rows);
    ez_reply_page(r, rc, rows, &pg);
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
    struct ez_verr e;
    if (ez_validate_namespace(r->body, 0, &in, &e) != 0) {
        ez_reply_verr(r, &e);
        return;
    }
    json_t *before, *after;
    int rc = ez_store_namespace_update(ez_w.db, &in, &before, &after);
    if (!ez_committed(r, rc))
        return;
    if (!before) {
        ez_reply_not_found(r, "namespace");
        return;
    }
    sync_namespace(r, "upsert", after);
    ez_audit(r, "namespace.update", "namespace", in.name, before, json_incref(after));
    ez_reply_json(r, 200, after);
}

void h_namespaces_delete(struct ez_req *r)
{
    json_t *before, *users;
    int rc = ez_store_namespace_delete(ez_w.db, r->params[0], &before, &users);
    if (!ez_committed(r, rc))
        return;
    if (!before) {
        ez_reply_not_found(r, "namespace");
        return;
    }
    if (users) {
        char *list = json_dumps(users, JSON_COMPACT);
        ez_reply_error(r, 409, "conflict_error", "namespace_in_use", NULL,
                       "namespace '%s' is in use: %s", r->params[0], list ? list : "");
        free(list);
        json_decref(users);
        json_decref(before);
        return;
    }
    sync_namespace(r, "delete", before);
    ez_audit(r, "namespace.delete", "namespace", r->params[0], before, NULL);
    ez_reply_json(r, 204, NULL);
}
