/* Child keys, from both sides: the master's own /v1 routes (its session,
 * its profile, its keys) and the admin's /admin/masters/{id}/keys and
 * /admin/keys/{id}. A /v1 caller reaches only its own keys: another
 * master's key is 404. A child key's secret appears only in the answer
 * that creates or rotates it (token). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "auth.h"
#include "auth_master.h"
#include "digest.h"
#include "handlers.h"
#include "jobs.h"
#include "paging.h"
#include "store_tenants.h"
#include "validate_tenant.h"
#include "worker.h"

static int64_t obj_int(json_t *o, const char *field)
{
    return (int64_t)json_integer_value(json_object_get(o, field));
}

/* auth:token:<digest> of every secret of the key: a hash for each usable
 * one, none for the others (revoked, past their grace). */
static void sync_key(struct ez_req *r, const char *op, json_t *key)
{
    ez_jobs_sync(r, "keys", op, obj_int(key, "id"), 0,
                 json_pack("{s:I}", "master_id", (json_int_t)obj_int(key, "master_id")));
}

static int new_child_key(char *tok, size_t toklen, char *digest, char *prefix,
                         struct ez_verr *e)
{
    if (ez_token_new(EZ_CHILD_KEY_PREFIX, tok, toklen) != 0 ||
        ez_sha256_hex(tok, strlen(tok), digest) != 0)
        return ez_refuse(e, EZ_FAILED, "random_failure", NULL, "cannot generate a key");
    ez_token_display(tok, prefix);
    return 0;
}

static void audit_key(struct ez_req *r, const char *action, json_t *key, json_t *before,
                      json_t *after)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)obj_int(key, "id"));
    ez_audit(r, action, "key", id, before, after);
}

/* The answer carries the secret; the audit record and the job do not. */
static void reply_key_secret(struct ez_req *r, int status, json_t *key, char *tok,
                             size_t toklen)
{
    json_object_set_new(key, "token", json_string(tok));
    OPENSSL_cleanse(tok, toklen);
    ez_reply_json(r, status, key);
}

static void key_issue(struct ez_req *r, int64_t master_id, const char *issued_by)
{
    struct ez_child_key_in in = { 0 };
    struct ez_outcome o = { 0 };
    char tok[EZ_TOKEN_MAX] = "", digest[EZ_DIGEST_HEX_LEN + 1], prefix[EZ_TOKEN_DISPLAY_LEN + 1];
    json_t *out = NULL;
    if (ez_validate_key(r->body, EZ_KEY_ISSUE, &in, &o.e) == 0 &&
        new_child_key(tok, sizeof tok, digest, prefix, &o.e) == 0)
        ez_store_child_key_issue(ez_w.db, master_id, &in, issued_by, digest, prefix, &out, &o);
    if (!ez_reply_outcome(r, &o, "master")) {
        OPENSSL_cleanse(tok, sizeof tok);
        return;
    }
    if (!out) {
        /* The INSERT and its COMMIT went together and the connection was
         * lost before any answer: the outcome is unknown and the key's id
         * with it. The master is known, so the syncer re-projects every
         * key of it: a key that committed reaches Redis like any other,
         * one that did not changes nothing (docs/operations.md, "Changes
         * that never reach the syncer"). */
        ez_jobs_sync(r, "masters", "upsert", master_id, 0, json_pack("{s:s}", "keys", "all"));
        ez_audit(r, "key.create", "key", "", NULL, NULL);
        ez_reply_db(r, EZ_DB_UNKNOWN);
        OPENSSL_cleanse(tok, sizeof tok);
        return;
    }
    sync_key(r, "upsert", out);
    audit_key(r, "key.create", out, NULL, json_deep_copy(out));
    reply_key_secret(r, 201, out, tok, sizeof tok);
}

static void key_list(struct ez_req *r, int64_t master_id)
{
    struct ez_page pg;
    struct ez_outcome o = { 0 };
    const char *status = ez_query(r, "status");
    json_t *rows = NULL;
    if (ez_page_parse(r, &pg) != 0)
        return;
    if (ez_validate_key_status_filter(status, &o.e) == 0)
        o.db = ez_store_child_key_list(ez_w.db, master_id, &pg, status, &rows);
    if (ez_reply_outcome(r, &o, NULL))
        ez_reply_page(r, o.db, rows, &pg);
}

static void key_get(struct ez_req *r, int64_t scope)
{
    int64_t id;
    if (ez_param_id(r, 0, &id) != 0)
        return;
    json_t *out;
    int rc = ez_store_child_key_get(ez_w.db, id, scope, &out);
    ez_reply_found(r, rc, out, "key");
}

static void key_update(struct ez_req *r, int64_t scope, enum ez_key_mode mode)
{
    struct ez_child_key_in in = { 0 };
    struct ez_outcome o = { 0 };
    json_t *before = NULL, *after = NULL;
    int64_t id;
    if (ez_param_id(r, 0, &id) != 0)
        return;
    if (ez_validate_key(r->body, mode, &in, &o.e) == 0)
        ez_store_child_key_update(ez_w.db, id, scope, &in, &before, &after, &o);
    if (!ez_reply_outcome(r, &o, "key"))
        return;
    sync_key(r, "upsert", after);
    audit_key(r, mode == EZ_KEY_ACCESS ? "key.access" : "key.update", after, before,
              json_incref(after));
    ez_reply_json(r, 200, after);
}

static void key_delete(struct ez_req *r, int64_t scope)
{
    struct ez_outcome o;
    json_t *before, *after;
    int64_t id;
    if (ez_param_id(r, 0, &id) != 0)
        return;
    ez_store_child_key_revoke(ez_w.db, id, scope, &before, &after, &o);
    if (!ez_reply_outcome(r, &o, "key"))
        return;
    sync_key(r, "delete", after); /* a repeated revocation projects the key again */
    audit_key(r, "key.delete", after, before, after);
    ez_reply_json(r, 204, NULL);
}

static void key_rotate(struct ez_req *r, int64_t scope)
{
    struct ez_outcome o = { 0 };
    char tok[EZ_TOKEN_MAX] = "", digest[EZ_DIGEST_HEX_LEN + 1], prefix[EZ_TOKEN_DISPLAY_LEN + 1];
    json_t *after = NULL;
    long long grace;
    int64_t id;
    if (ez_param_id(r, 0, &id) != 0)
        return;
    if (ez_validate_rotate(r->body, &grace, &o.e) == 0 &&
        new_child_key(tok, sizeof tok, digest, prefix, &o.e) == 0)
        ez_store_child_key_rotate(ez_w.db, id, scope, grace, digest, prefix, &after, &o);
    if (!ez_reply_outcome(r, &o, "key")) {
        OPENSSL_cleanse(tok, sizeof tok);
        return;
    }
    sync_key(r, "upsert", after);
    audit_key(r, "key.rotate", after, NULL,
              json_pack("{s:o, s:I}", "key", json_deep_copy(after), "grace_seconds",
                        (json_int_t)grace));
    reply_key_secret(r, 200, after, tok, sizeof tok);
}

/* ---- admin --------------------------------------------------------------- */

void h_master_keys_list(struct ez_req *r)
{
    struct ez_outcome o = { 0 };
    int64_t id;
    int found = 0;
    if (ez_param_id(r, 0, &id) != 0)
        return;
    o.db = ez_store_master_exists(ez_w.db, id, &found);
    if (o.db == EZ_DB_OK && !found)
        ez_not_found(&o.e);
    if (ez_reply_outcome(r, &o, "master"))
        key_list(r, id);
}

void h_master_keys_issue(struct ez_req *r)
{
    int64_t id;
    if (ez_param_id(r, 0, &id) != 0)
        return;
    key_issue(r, id, "admin");
}

void h_child_keys_get(struct ez_req *r) { key_get(r, 0); }
void h_child_keys_update(struct ez_req *r) { key_update(r, 0, EZ_KEY_UPDATE_ADMIN); }
void h_child_keys_access(struct ez_req *r) { key_update(r, 0, EZ_KEY_ACCESS); }
void h_child_keys_delete(struct ez_req *r) { key_delete(r, 0); }

/* ---- the master's own routes -------------------------------------------- */

void h_v1_auth_token(struct ez_req *r)
{
    struct ez_outcome o = { 0 };
    struct ez_master_auth who;
    int found;
    if (ez_auth_master_is_session(ez_bearer(r))) {
        ez_reply_error(r, 403, "permission_error", "master_key_required", NULL,
                       "a session token is created with the master key, not with a session");
        return;
    }
    if (ez_validate_empty(r->body, &o.e) == 0)
        o.db = ez_store_master_auth_by_id(ez_w.db, r->who.master_id, &who, &found);
    if (o.db == EZ_DB_OK && o.e.status == EZ_DONE && !found)
        o.db = EZ_DB_ERROR;
    if (!ez_reply_outcome(r, &o, NULL))
        return;
    long long exp;
    char *tok = ez_master_session_mint(who.id, who.key_generation, &exp);
    if (!tok) {
        ez_reply_error(r, 500, "api_error", "token_failure", NULL, "cannot mint a session");
        return;
    }
    char when[32];
    time_t t = (time_t)exp;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    ez_audit(r, "master.session", "master", r->who.sub, NULL,
             json_pack("{s:s}", "expires_at", when));
    json_t *out = json_pack("{s:s, s:s}", "token", tok, "expires_at", when);
    OPENSSL_cleanse(tok, strlen(tok));
    free(tok);
    ez_reply_json(r, 200, out);
}

void h_v1_me(struct ez_req *r)
{
    char *out;
    int rc = ez_store_master_get(ez_w.db, r->who.master_id, &out);
    ez_reply_found_text(r, rc, out, "master");
}

void h_v1_tokens_issue(struct ez_req *r) { key_issue(r, r->who.master_id, "master"); }
void h_v1_tokens_list(struct ez_req *r) { key_list(r, r->who.master_id); }
void h_v1_tokens_get(struct ez_req *r) { key_get(r, r->who.master_id); }
void h_v1_tokens_update(struct ez_req *r) { key_update(r, r->who.master_id, EZ_KEY_UPDATE_OWNER); }
void h_v1_tokens_delete(struct ez_req *r) { key_delete(r, r->who.master_id); }
void h_v1_tokens_rotate(struct ez_req *r) { key_rotate(r, r->who.master_id); }
