/* /admin/masters: tenants and their master keys. Parse, validate, store,
 * enqueue the sync job, audit, answer. A master key appears only in the
 * answer that creates it (master_key), never in the audit record. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "digest.h"
#include "handlers.h"
#include "jobs.h"
#include "paging.h"
#include "store_tenants.h"
#include "validate_tenant.h"
#include "worker.h"

#define DIGESTS_PER_JOB 500

static int64_t obj_id(json_t *o)
{
    return (int64_t)json_integer_value(json_object_get(o, "id"));
}

/* The audit record's resource_id: the id in decimal, as the API shows it. */
static void audit_master(struct ez_req *r, const char *action, int64_t id, json_t *before,
                         json_t *after)
{
    char text[24];
    snprintf(text, sizeof text, "%lld", (long long)id);
    ez_audit(r, action, "master", text, before, after);
}

/* auth:master:<id>; with all_keys, every key of the master as well. */
static void sync_master(struct ez_req *r, int64_t id, int all_keys)
{
    ez_jobs_sync(r, "masters", "upsert", id, 0,
                 all_keys ? json_pack("{s:s}", "keys", "all") : json_object());
}

/* A new master key: the token (shown once), its digest and prefix. */
static int new_master_key(char *tok, size_t toklen, char *digest, char *prefix,
                          struct ez_verr *e)
{
    if (ez_token_new(EZ_MASTER_KEY_PREFIX, tok, toklen) != 0 ||
        ez_sha256_hex(tok, strlen(tok), digest) != 0)
        return ez_refuse(e, EZ_FAILED, "random_failure", NULL, "cannot generate a master key");
    ez_token_display(tok, prefix);
    return 0;
}

/* Answers obj with the secret added; the audit record keeps obj without it. */
static void reply_with_secret(struct ez_req *r, int status, json_t *obj, const char *field,
                              char *secret, size_t seclen)
{
    json_object_set_new(obj, field, json_string(secret));
    OPENSSL_cleanse(secret, seclen);
    ez_reply_json(r, status, obj);
}

void h_masters_create(struct ez_req *r)
{
    struct ez_master_in in = { 0 };
    struct ez_outcome o = { 0 };
    char tok[EZ_TOKEN_MAX] = "", digest[EZ_DIGEST_HEX_LEN + 1], prefix[EZ_TOKEN_DISPLAY_LEN + 1];
    json_t *out = NULL;
    if (ez_validate_master(r->body, 1, &in, &o.e) == 0 &&
        new_master_key(tok, sizeof tok, digest, prefix, &o.e) == 0)
        ez_store_master_create(ez_w.db, &in, digest, prefix, &out, &o);
    if (!ez_reply_outcome(r, &o, "master")) {
        OPENSSL_cleanse(tok, sizeof tok);
        return;
    }
    sync_master(r, obj_id(out), 0);
    audit_master(r, "master.create", obj_id(out), NULL, json_deep_copy(out));
    reply_with_secret(r, 201, out, "master_key", tok, sizeof tok);
}

void h_masters_list(struct ez_req *r)
{
    static const char *const statuses[] = { "active", "suspended", NULL };
    ez_reply_status_list(r, ez_w.db, statuses, ez_store_master_list);
}

void h_masters_get(struct ez_req *r)
{
    ez_reply_row_by_id(r, ez_w.db, ez_store_master_get, "master");
}

/* PUT /admin/masters/{id} and PUT /admin/masters/{id}/access. */
static void master_change(struct ez_req *r, int access)
{
    struct ez_master_in in = { 0 };
    struct ez_outcome o = { 0 };
    json_t *before = NULL, *after = NULL;
    int64_t id;
    int keys_changed = 0;
    if (ez_param_id(r, 0, &id) != 0)
        return;
    if (access && ez_validate_master_access(r->body, &in, &o.e) == 0)
        ez_store_master_access(ez_w.db, id, &in, &before, &after, &keys_changed, &o);
    else if (!access && ez_validate_master(r->body, 0, &in, &o.e) == 0)
        ez_store_master_update(ez_w.db, id, &in, &before, &after, &keys_changed, &o);
    if (!ez_reply_outcome(r, &o, "master"))
        return;
    sync_master(r, id, keys_changed);
    audit_master(r, access ? "master.access" : "master.update", id, before, json_incref(after));
    ez_reply_json(r, 200, after);
}

void h_masters_update(struct ez_req *r)
{
    master_change(r, 0);
}

void h_masters_access(struct ez_req *r)
{
    master_change(r, 1);
}

void h_masters_delete(struct ez_req *r)
{
    struct ez_outcome o;
    json_t *before, *digests;
    int64_t id;
    if (ez_param_id(r, 0, &id) != 0)
        return;
    ez_store_master_delete(ez_w.db, id, &before, &digests, &o);
    if (!ez_reply_outcome(r, &o, "master"))
        return;
    /* The rows are gone: the jobs name every digest whose hash must go. */
    size_t n = json_array_size(digests), i = 0;
    do {
        json_t *chunk = json_array();
        for (size_t j = 0; j < DIGESTS_PER_JOB && i < n; j++, i++)
            json_array_append(chunk, json_array_get(digests, i));
        ez_jobs_sync(r, "masters", "delete", id, 0, json_pack("{s:o}", "digests", chunk));
    } while (i < n);
    json_decref(digests);
    audit_master(r, "master.delete", id, before, NULL);
    ez_reply_json(r, 204, NULL);
}

void h_masters_rotate_key(struct ez_req *r)
{
    struct ez_outcome o = { 0 };
    char tok[EZ_TOKEN_MAX] = "", digest[EZ_DIGEST_HEX_LEN + 1], prefix[EZ_TOKEN_DISPLAY_LEN + 1];
    json_t *before = NULL, *after = NULL;
    int64_t id;
    if (ez_param_id(r, 0, &id) != 0)
        return;
    if (ez_validate_empty(r->body, &o.e) == 0 &&
        new_master_key(tok, sizeof tok, digest, prefix, &o.e) == 0)
        ez_store_master_rotate_key(ez_w.db, id, digest, prefix, &before, &after, &o);
    if (!ez_reply_outcome(r, &o, "master")) {
        OPENSSL_cleanse(tok, sizeof tok);
        return;
    }
    /* Nothing in Redis depends on the master key: no sync job. */
    audit_master(r, "master.rotate_key", id, before, json_deep_copy(after));
    reply_with_secret(r, 200, after, "master_key", tok, sizeof tok);
}

void h_masters_revoke_keys(struct ez_req *r)
{
    struct ez_outcome o = { 0 };
    json_t *before = NULL, *after = NULL;
    int64_t id;
    if (ez_param_id(r, 0, &id) != 0)
        return;
    if (ez_validate_empty(r->body, &o.e) == 0)
        ez_store_master_revoke_keys(ez_w.db, id, &before, &after, &o);
    if (!ez_reply_outcome(r, &o, "master"))
        return;
    sync_master(r, id, 0); /* the epoch in auth:master: one write */
    audit_master(r, "master.revoke_keys", id, before, json_incref(after));
    ez_reply_json(r, 200, after);
}
