/* Master keys and master session tokens. A session is minted with libjwt
 * and verified here: the header must say HS256 (the token never chooses
 * the algorithm), the HMAC is recomputed and compared in constant time,
 * then the claims (iss, scope, sub, gen, exp, nbf, iat) are checked and
 * the master is read back to compare its key generation and status. */
#include "auth_master.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <jwt.h> /* libjwt's header; ours is "jwt.h" */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth.h"
#include "digest.h"
#include "log.h"
#include "metrics.h"
#include "store_tenants.h"
#include "worker.h"

#define SESSION_MAX 4096   /* bytes of a session token we even look at */
#define MASTER_KEY_MAX 512 /* bytes of a master key we even hash */
#define LEEWAY 30          /* seconds of clock skew, as for admin tokens */
#define SESSION_SCOPE "master"

enum { CRED_OK = 0, CRED_BAD, CRED_SUSPENDED, CRED_DB };

int ez_auth_master_is_session(const char *bearer)
{
    const char *d1 = strchr(bearer, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    return d2 && !strchr(d2 + 1, '.');
}

char *ez_master_session_mint(int64_t master_id, int64_t key_generation, long long *exp)
{
    const struct ez_config *cfg = ez_w.cfg;
    size_t keylen = strlen(cfg->master_jwt_secret);
    long long now = (long long)time(NULL), ttl = cfg->master_jwt_ttl / 1000;
    if (keylen == 0 || keylen > INT_MAX || ttl <= 0)
        return NULL;
    char sub[24];
    snprintf(sub, sizeof sub, "%lld", (long long)master_id);
    jwt_t *jwt = NULL;
    if (jwt_new(&jwt) != 0)
        return NULL;
    char *token = NULL;
    if (jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)cfg->master_jwt_secret,
                    (int)keylen) == 0 &&
        jwt_add_grant(jwt, "iss", cfg->jwt_issuer) == 0 && jwt_add_grant(jwt, "sub", sub) == 0 &&
        jwt_add_grant(jwt, "scope", SESSION_SCOPE) == 0 &&
        jwt_add_grant_int(jwt, "gen", (long)key_generation) == 0 &&
        jwt_add_grant_int(jwt, "iat", (long)now) == 0 &&
        jwt_add_grant_int(jwt, "exp", (long)(now + ttl)) == 0)
        token = jwt_encode_str(jwt);
    jwt_free(jwt);
    if (token)
        *exp = now + ttl;
    return token;
}

/* The JSON object of one base64url part, or NULL. */
static json_t *decode_part(const char *s, size_t n)
{
    unsigned char *buf = malloc(n * 3 / 4 + 1);
    long len = buf ? ez_b64url_decode(s, n, buf) : -1;
    json_t *v = len > 0 ? json_loadb((const char *)buf, (size_t)len, JSON_REJECT_DUPLICATES, NULL)
                        : NULL;
    free(buf);
    if (v && !json_is_object(v)) {
        json_decref(v);
        v = NULL;
    }
    return v;
}

/* 0 absent, 1 an integer (*v set), -1 present but not an integer. */
static int claim_int(json_t *claims, const char *name, long long *v)
{
    json_t *c = json_object_get(claims, name);
    if (!c)
        return 0;
    if (!json_is_integer(c))
        return -1;
    *v = (long long)json_integer_value(c);
    return 1;
}

static const char *check_claims(json_t *c, int64_t *id, int64_t *gen)
{
    long long now = (long long)time(NULL), exp = 0, nbf = 0, iat = 0, g = 0;
    json_t *iss = json_object_get(c, "iss"), *scope = json_object_get(c, "scope");
    json_t *sub = json_object_get(c, "sub");
    if (!json_is_string(iss) || strcmp(json_string_value(iss), ez_w.cfg->jwt_issuer) != 0)
        return "wrong issuer";
    if (!json_is_string(scope) || strcmp(json_string_value(scope), SESSION_SCOPE) != 0)
        return "not a master session";
    const char *s = json_is_string(sub) ? json_string_value(sub) : "";
    char *end;
    long long m = (*s >= '1' && *s <= '9' && strlen(s) <= 18) ? strtoll(s, &end, 10) : 0;
    if (m <= 0 || *end)
        return "invalid claim: sub";
    if (claim_int(c, "gen", &g) != 1 || g < 1)
        return "invalid claim: gen";
    int has = claim_int(c, "exp", &exp);
    if (has != 1)
        return has ? "invalid claim: exp" : "missing claim: exp";
    if (exp < now - LEEWAY)
        return "expired";
    if ((has = claim_int(c, "nbf", &nbf)) < 0 || (has && nbf > now + LEEWAY))
        return "not yet valid";
    if ((has = claim_int(c, "iat", &iat)) < 0 || (has && iat > now + LEEWAY))
        return "issued in the future";
    *id = m;
    *gen = g;
    return NULL;
}

/* NULL when the session token is genuine and current (id, gen set). */
static const char *verify_session(const char *tok, int64_t *id, int64_t *gen)
{
    size_t len = strnlen(tok, SESSION_MAX + 1);
    if (len > SESSION_MAX)
        return "token too long";
    const char *d1 = strchr(tok, '.'), *d2 = strchr(d1 + 1, '.');
    json_t *head = decode_part(tok, (size_t)(d1 - tok));
    json_t *alg = json_object_get(head, "alg");
    int ok = json_is_string(alg) && strcmp(json_string_value(alg), "HS256") == 0 &&
             !json_object_get(head, "crit");
    json_decref(head);
    if (!ok)
        return "unsupported or malformed token header";
    const char *key = ez_w.cfg->master_jwt_secret;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char expect[96], given[96];
    size_t siglen = len - (size_t)(d2 + 1 - tok);
    if (siglen >= sizeof given ||
        !HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)tok,
              (size_t)(d2 - tok), md, &mdlen) ||
        ez_b64url_encode(md, mdlen, expect, sizeof expect) != 0)
        return "bad signature";
    memcpy(given, d2 + 1, siglen);
    given[siglen] = '\0';
    ok = ez_secret_equal(expect, given);
    OPENSSL_cleanse(md, sizeof md);
    OPENSSL_cleanse(expect, sizeof expect);
    if (!ok)
        return "bad signature";
    json_t *claims = decode_part(d1 + 1, (size_t)(d2 - d1 - 1));
    const char *why = claims ? check_claims(claims, id, gen) : "malformed token";
    json_decref(claims);
    return why;
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
        int64_t id = 0, gen = 0;
        if ((*why = verify_session(bearer, &id, &gen)) != NULL)
            return CRED_BAD;
        *db_rc = store_master_auth_by_id(ez_w.db, id, who, &found);
        if (*db_rc != EZ_DB_OK)
            return CRED_DB;
        if (!found || who->key_generation != gen) {
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
        *db_rc = store_master_auth_by_digest(ez_w.db, digest, who, &found);
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
        ez_audit(r, "auth.failure", "auth", NULL, NULL, NULL);
        ez_reply_error(r, 401, "authentication_error", "invalid_credentials", NULL,
                       "missing or invalid credentials: %s", why);
        return -1;
    }
}
