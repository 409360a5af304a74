/* Migration in and out. POST /admin/import: the options from the query,
 * the document from the body, the work in common/import.c (shared with
 * `ezapi import`), which commits the sync jobs and the audit record with
 * the import; the worker then wakes the syncer. GET /admin/export: the
 * document of common/export.c; with upstream keys for an admin only,
 * audited. */
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "handlers.h"
#include "export.h"
#include "import.h"
#include "litellm.h"
#include "queue.h"
#include "shm.h"
#include "validate.h"
#include "worker.h"

/* A boolean query option: 0, or -1 after answering 400. */
static int flag(struct ez_req *r, const char *name, int *out)
{
    const char *v = ez_query(r, name);
    *out = v && strcmp(v, "true") == 0;
    if (!v || *out || strcmp(v, "false") == 0)
        return 0;
    ez_reply_invalid(r, name, "%s must be true or false", name);
    return -1;
}

void h_import(struct ez_req *r)
{
    struct ez_import_opts o = { .progress = ez_worker_beat };
    const char *conflict = ez_query(r, "conflict");
    if (flag(r, "dry_run", &o.dry_run) || flag(r, "include_bindings", &o.include_bindings) ||
        flag(r, "skip_invalid", &o.skip_invalid))
        return;
    if (conflict && strcmp(conflict, "skip") != 0 && strcmp(conflict, "overwrite") != 0) {
        ez_reply_invalid(r, "conflict", "conflict must be skip or overwrite");
        return;
    }
    o.overwrite = conflict && strcmp(conflict, "overwrite") == 0;
    const char *from = ez_query(r, "from"), *ns = ez_query(r, "namespace");
    int litellm = from && strcmp(from, "litellm") == 0;
    if (from && !litellm && strcmp(from, "newapi") != 0) {
        ez_reply_invalid(r, "from", "from must be newapi or litellm");
        return;
    }
    if (ns && !litellm) {
        ez_reply_invalid(r, "namespace", "namespace is an option of from=litellm");
        return;
    }
    if (ns && !ez_v_is_namespace_name(ns)) {
        ez_reply_invalid(r, "namespace", "namespace must match [a-z0-9][a-z0-9_-]{0,63}");
        return;
    }
    /* A YAML body is left to the handler; a JSON one is parsed already. */
    if (litellm == (r->body != NULL)) {
        ez_reply_error(r, 415, "invalid_request_error", "unsupported_media_type", NULL,
                       litellm ? "from=litellm takes Content-Type: application/yaml"
                               : "the body must be application/json (application/yaml with "
                                 "from=litellm)");
        return;
    }
    struct ez_import_actor who = { "admin", r->who.sub, r->request_id, r->method, r->path,
                                   r->remote };
    struct ez_import_result res;
    int rc;
    if (litellm) {
        struct evbuffer *in = evhttp_request_get_input_buffer(r->ev);
        size_t len = evbuffer_get_length(in);
        const char *yaml = len ? (const char *)evbuffer_pullup(in, -1) : "";
        rc = ez_import_litellm(ez_w.db, ez_w.cfg, yaml ? yaml : "", yaml ? len : 0,
                               ns ? ns : "default", 0, &o, &who, &res);
    } else {
        rc = ez_import_newapi(ez_w.db, ez_w.cfg, r->body, &o, &who, &res);
    }
    switch (rc) {
    case EZ_IMPORT_ENV:
        ez_reply_error(r, 422, "invalid_request_error", "environment_reference", res.path,
                       "%s: %s", res.path, res.message);
        break;
    case EZ_IMPORT_BAD_DOC:
        ez_reply_invalid(r, res.path, "%s: %s", res.path, res.message);
        break;
    case EZ_IMPORT_INVALID: {
        json_t *first = json_array_get(json_object_get(res.answer, "errors"), 0);
        char param[128];
        snprintf(param, sizeof param, "%s[%lld].%s",
                 json_string_value(json_object_get(first, "section")),
                 (long long)json_integer_value(json_object_get(first, "index")),
                 json_string_value(json_object_get(first, "field")));
        json_t *err = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "invalid_request_error",
                                "code", "import_invalid", "message",
                                "items in error; nothing was imported (skip_invalid imports "
                                "the others)", "param", param, "request_id", r->request_id);
        ez_reply_json(r, 422, json_pack("{s:o, s:O}", "error", err, "result", res.answer));
        break;
    }
    case EZ_IMPORT_DB:
        ez_reply_db(r, res.db_rc);
        break;
    default:
        if (!o.dry_run && ez_queue_control(EZ_Q_SYNC, "outbox", 0) != 0) {
            /* the syncer's outbox timer applies the jobs */
        }
        ez_reply_json(r, 200, json_incref(res.answer));
    }
    json_decref(res.answer);
}

void h_export(struct ez_req *r)
{
    int secrets;
    if (flag(r, "include_secrets", &secrets))
        return;
    if (secrets && r->who.viewer) {
        ez_reply_error(r, 403, "permission_error", "forbidden", "include_secrets",
                       "include_secrets needs the admin role");
        return;
    }
    json_t *doc;
    int rc = ez_export(ez_w.db, ez_w.cfg, secrets, &doc);
    if (rc != EZ_DB_OK) {
        ez_reply_db(r, rc);
        return;
    }
    if (secrets) {
        json_t *data = json_object_get(doc, "data");
        ez_audit(r, "export.secrets", "export", "", NULL,
                 json_pack("{s:I, s:I, s:I}", "providers",
                           (json_int_t)json_array_size(json_object_get(data, "providers")),
                           "masters", (json_int_t)json_array_size(json_object_get(data, "masters")),
                           "keys", (json_int_t)json_array_size(json_object_get(data, "keys"))));
    }
    ez_reply_json(r, 200, doc);
}
