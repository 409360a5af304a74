/* Master keys and master session tokens. A session is minted and verified
 * by common/jwt.c (HS256, its own audience and claims); here the master is
 * read back to compare its key generation and status. */
#include "auth_master.h"

#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "auth_limit.h"
#include "digest.h"
#include "jwt.h"
#include "log.h"
#include "metrics.h"
#include "store_tenants.h"
#include "worker.h"

#define MASTER_KEY_MAX 512 /* bytes of a master key we even hash */

enum { CRED_OK = 0, CRED_BAD, CRED_SUSPENDED, CRED_DB };

int ez_auth_master_is_session(const char *bearer)
{
    const char *d1 = strchr(bearer, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    return d2 && !strchr(d2 + 1, '.');
}

char *ez_master_session_mint(int64_t master_id, int64_t key_generation, long long *exp)
{
    return ez_jwt_mint_session(ez_w.cfg, master_id, key_generation, exp);
}

/* Who the bearer is. CRED_DB: PostgreSQL could not tell (*db_rc set). */
static int check(const char *bearer, struct ez_master_auth *who, const char **why, int *db_rc)
{
    int found = 0;
    *db_rc = EZ_DB_OK;
    if (!bearer) {
        *why = "no bearer token";
        return CRED_BAD;
    }
    if (ez_auth_master_is_session(bearer)) {
        struct ez_session_claims c;
        if (ez_jwt_verify_session(ez_w.cfg, bearer, &c, why) != 0)
            return CRED_BAD;
        *db_rc = ez_store_master_auth_by_id(ez_w.db, c.master_id, who, &found);
        if (*db_rc != EZ_DB_OK)
            return CRED_DB;
        if (!found || who->key_generation != c.key_generation) {
            *why = found ? "session ended by a master key rotation" : "unknown master";
            return CRED_BAD;
        }
    } else {
        char digest[EZ_DIGEST_HEX_LEN + 1];
        if (strnlen(bearer, MASTER_KEY_MAX + 1) > MASTER_KEY_MAX ||
            ez_sha256_hex(bearer, strlen(bearer), digest) != 0) {
            *why = "unknown key";
            return CRED_BAD;
        }
        *db_rc = ez_store_master_auth_by_digest(ez_w.db, digest, who, &found);
        if (*db_rc != EZ_DB_OK)
            return CRED_DB;
        if (!found || !ez_secret_equal(who->key_digest, digest)) {
            *why = strncmp(bearer, EZ_CHILD_KEY_PREFIX, strlen(EZ_CHILD_KEY_PREFIX)) == 0
                       ? "child keys are for the data plane, not the control plane"
                       : "unknown key";
            return CRED_BAD;
        }
    }
    return who->active ? CRED_OK : CRED_SUSPENDED;
}

int ez_auth_is_master_credential(const char *bearer)
{
    struct ez_master_auth who;
    const char *why;
    int db_rc, rc = check(bearer, &who, &why, &db_rc);
    return rc == CRED_OK || rc == CRED_SUSPENDED;
}

int ez_auth_master(struct ez_req *r)
{
    struct ez_master_auth who;
    const char *why = "invalid credentials";
    int db_rc;
    switch (check(ez_bearer(r), &who, &why, &db_rc)) {
    case CRED_OK:
        r->who.kind = EZ_ACTOR_MASTER;
        r->who.master_id = who.id;
        snprintf(r->who.sub, sizeof r->who.sub, "%lld", (long long)who.id);
        return 0;
    case CRED_SUSPENDED:
        r->who.kind = EZ_ACTOR_MASTER;
        r->who.master_id = who.id;
        snprintf(r->who.sub, sizeof r->who.sub, "%lld", (long long)who.id);
        ez_reply_error(r, 403, "permission_error", "master_suspended", NULL,
                       "this master is suspended");
        return -1;
    case CRED_DB:
        ez_reply_db(r, db_rc);
        return -1;
    default:
        ez_metric_inc(EZ_M_auth_fail_master);
        evhttp_add_header(evhttp_request_get_output_headers(r->ev), "WWW-Authenticate",
                          "Bearer");
        ez_auth_limit_failed(r);
        ez_reply_error(r, 401, "authentication_error", "invalid_credentials", NULL,
                       "missing or invalid credentials: %s", why);
        return -1;
    }
}
