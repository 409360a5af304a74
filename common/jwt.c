/* HS256 JSON Web Tokens of the two kinds ezapi accepts: admin tokens and
 * master session tokens. Minted with libjwt; verified here, by one path: the
 * header never chooses the algorithm or the key, the HMAC is compared in
 * constant time, then the claims decide the kind, so that neither kind
 * passes for the other even under one secret. No part of a token is logged
 * or returned (reasons are static strings). An admin token verified once is
 * remembered by the process, its times checked again on each use (below,
 * ez_jwt_verify_admin). */
#include "jwt.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
/* libjwt's header; ours is "jwt.h" (common/ is on the quote path only). */
#include <jwt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "digest.h"
#include "hash.h"

#define EZ_JWT_MAX_TOKEN 8192 /* bytes; longer tokens are not even decoded */
#define EZ_JWT_MAX_SUB 128
#define EZ_JWT_SESSION_SCOPE "master"

static int role_known(const char *role)
{
    return strcmp(role, "admin") == 0 || strcmp(role, "viewer") == 0;
}

/* An HS256 token of the given claims signed with secret; NULL with errno. */
static char *mint(const char *secret, json_t *claims)
{
    size_t keylen = secret ? strlen(secret) : 0;
    if (!claims || keylen == 0 || keylen > INT_MAX) {
        json_decref(claims);
        errno = EINVAL;
        return NULL;
    }
    char *text = json_dumps(claims, JSON_COMPACT);
    json_decref(claims);
    if (!text) {
        errno = ENOMEM;
        return NULL;
    }
    jwt_t *jwt = NULL;
    int rc = jwt_new(&jwt);
    char *token = NULL;
    if (rc == 0 && (rc = jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)secret,
                                     (int)keylen)) == 0 &&
        (rc = jwt_add_grants_json(jwt, text)) == 0) {
        token = jwt_encode_str(jwt); /* sets errno when NULL */
        rc = token ? 0 : (errno ? errno : ENOMEM);
    }
    jwt_free(jwt);
    free(text);
    if (!token)
        errno = rc;
    return token;
}

char *ez_jwt_mint_admin(const struct ez_config *cfg, const char *sub, const char *role,
                        long long ttl_s)
{
    long long now = (long long)time(NULL);
    if (!cfg || !cfg->admin_jwt_secret || !cfg->jwt_issuer || !cfg->jwt_issuer[0] || !sub ||
        !sub[0] || strlen(sub) > EZ_JWT_MAX_SUB || !role || !role_known(role) || ttl_s <= 0 ||
        ttl_s > (long long)LONG_MAX - now) {
        errno = EINVAL;
        return NULL;
    }
    return mint(cfg->admin_jwt_secret,
                json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", cfg->jwt_issuer, "sub", sub,
                          "role", role, "iat", (json_int_t)now, "exp", (json_int_t)(now + ttl_s)));
}

char *ez_jwt_mint_session(const struct ez_config *cfg, int64_t master_id, int64_t key_generation,
                          long long *exp)
{
    long long now = (long long)time(NULL), ttl = cfg ? cfg->master_jwt_ttl / 1000 : 0;
    if (!cfg || !cfg->master_jwt_secret || !cfg->jwt_issuer || master_id <= 0 ||
        master_id > EZ_JWT_MAX_MASTER_ID || key_generation <= 0 || ttl <= 0) {
        errno = EINVAL;
        return NULL;
    }
    char sub[24];
    snprintf(sub, sizeof sub, "%lld", (long long)master_id);
    char *token = mint(cfg->master_jwt_secret,
                       json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "iss", cfg->jwt_issuer,
                                 "sub", sub, "aud", EZ_JWT_SESSION_AUD, "scope",
                                 EZ_JWT_SESSION_SCOPE, "gen", (json_int_t)key_generation, "iat",
                                 (json_int_t)now, "exp", (json_int_t)(now + ttl)));
    if (token && exp)
        *exp = now + ttl;
    return token;
}

/* The JSON object of n base64url characters, or NULL. Duplicate names are
 * refused: a claim must not mean one thing here and another elsewhere. */
static json_t *decode_object(const char *s, size_t n)
{
    unsigned char buf[EZ_JWT_MAX_TOKEN * 3 / 4 + 1];
    long len = ez_b64url_decode(s, n, buf);
    if (len <= 0)
        return NULL;
    json_t *v = json_loadb((const char *)buf, (size_t)len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(v)) {
        json_decref(v);
        return NULL;
    }
    return v;
}

/* The JOSE header (token up to dot1), checked before anything else, so that
 * the algorithm is decided here and never by the token. NULL when acceptable. */
static const char *check_header(const char *token, const char *dot1)
{
    json_t *head = decode_object(token, (size_t)(dot1 - token));
    if (!head)
        return "malformed token";
    const char *why = NULL;
    json_t *alg = json_object_get(head, "alg");
    if (!json_is_string(alg) || strcmp(json_string_value(alg), "HS256") != 0)
        why = "unsupported algorithm";
    else if (json_object_get(head, "crit"))
        why = "unsupported header: crit"; /* we understand no extension */
    json_decref(head);
    return why;
}

/* Is sig the HMAC-SHA256 of token up to dot2 under secret? Constant time. */
static int signature_ok(const char *secret, const char *token, const char *dot2)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char expect[96];
    int ok = HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)token,
                  (size_t)(dot2 - token), md, &mdlen) != NULL &&
             ez_b64url_encode(md, mdlen, expect, sizeof expect) == 0 &&
             ez_secret_equal(expect, dot2 + 1);
    OPENSSL_cleanse(md, sizeof md);
    OPENSSL_cleanse(expect, sizeof expect);
    return ok;
}

/* The claims of a well-formed HS256 token signed with secret, or NULL with
 * *why set. The caller json_decrefs them. */
static json_t *verified_claims(const char *secret, const char *token, const char **why)
{
    if (!secret || !secret[0] || strlen(secret) > INT_MAX) {
        *why = "no secret configured";
        return NULL;
    }
    if (!token || !token[0]) {
        *why = "missing token";
        return NULL;
    }
    size_t len = strnlen(token, EZ_JWT_MAX_TOKEN + 1);
    if (len > EZ_JWT_MAX_TOKEN) {
        *why = "token too long";
        return NULL;
    }
    const char *dot1 = strchr(token, '.');
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (!dot2 || strchr(dot2 + 1, '.')) {
        *why = "malformed token";
        return NULL;
    }
    if ((*why = check_header(token, dot1)) != NULL)
        return NULL;
    if (!signature_ok(secret, token, dot2)) {
        *why = "bad signature";
        return NULL;
    }
    json_t *claims = decode_object(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    if (!claims)
        *why = "malformed token";
    return claims;
}

/* 0 absent, 1 present and an integer (*v set), -1 present but not one. */
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

/* The claims both kinds share: iss, a string sub, exp, nbf, iat. */
static const char *check_common(const struct ez_config *cfg, json_t *claims, long long now,
                                long long *exp, long long *not_before)
{
    json_t *iss = json_object_get(claims, "iss");
    if (!iss)
        return "missing claim: iss";
    if (!json_is_string(iss))
        return "invalid claim: iss";
    if (!cfg->jwt_issuer || strcmp(json_string_value(iss), cfg->jwt_issuer) != 0)
        return "wrong issuer";

    json_t *sub = json_object_get(claims, "sub");
    if (!sub)
        return "missing claim: sub";
    if (!json_is_string(sub) || json_string_length(sub) == 0 ||
        json_string_length(sub) > EZ_JWT_MAX_SUB)
        return "invalid claim: sub";

    long long nbf = 0, iat = 0;
    int has = claim_int(claims, "exp", exp);
    if (has == 0)
        return "missing claim: exp";
    if (has < 0)
        return "invalid claim: exp";
    /* Written so that no claim value can overflow: now is a small number. */
    if (*exp < now - EZ_JWT_LEEWAY)
        return "expired";
    has = claim_int(claims, "nbf", &nbf);
    if (has < 0)
        return "invalid claim: nbf";
    if (has > 0 && nbf > now + EZ_JWT_LEEWAY)
        return "not yet valid";
    has = claim_int(claims, "iat", &iat);
    if (has < 0)
        return "invalid claim: iat";
    if (has > 0 && iat > now + EZ_JWT_LEEWAY)
        return "issued in the future";
    *not_before = nbf > iat ? nbf : iat;
    return NULL;
}

/* An admin token: the common claims, a role, and no audience. */
static const char *check_admin(const struct ez_config *cfg, json_t *claims, long long now,
                               struct ez_admin_claims *out)
{
    const char *why = check_common(cfg, claims, now, &out->exp, &out->not_before);
    if (why)
        return why;
    if (json_object_get(claims, "aud"))
        return "unexpected claim: aud"; /* a session's, or another service's */
    json_t *role = json_object_get(claims, "role");
    if (!role)
        return "missing claim: role";
    if (!json_is_string(role) || !role_known(json_string_value(role)))
        return "invalid claim: role";
    json_t *sub = json_object_get(claims, "sub");
    memcpy(out->sub, json_string_value(sub), json_string_length(sub));
    out->sub[json_string_length(sub)] = '\0';
    out->viewer = strcmp(json_string_value(role), "viewer") == 0;
    return NULL;
}

/* A session token: the common claims, its audience and scope, no role, a
 * master id as sub and a key generation. */
static const char *check_session(const struct ez_config *cfg, json_t *claims, long long now,
                                 struct ez_session_claims *out)
{
    long long nb;
    const char *why = check_common(cfg, claims, now, &out->exp, &nb);
    if (why)
        return why;
    json_t *aud = json_object_get(claims, "aud");
    json_t *scope = json_object_get(claims, "scope");
    if (!json_is_string(aud) || strcmp(json_string_value(aud), EZ_JWT_SESSION_AUD) != 0 ||
        !json_is_string(scope) || strcmp(json_string_value(scope), EZ_JWT_SESSION_SCOPE) != 0 ||
        json_object_get(claims, "role"))
        return "not a master session";
    const char *s = json_string_value(json_object_get(claims, "sub"));
    char *end = NULL;
    long long id = (*s >= '1' && *s <= '9' && strlen(s) <= EZ_JWT_MAX_MASTER_DIGITS)
                       ? strtoll(s, &end, 10)
                       : 0;
    if (id <= 0 || *end)
        return "invalid claim: sub";
    long long gen = 0;
    if (claim_int(claims, "gen", &gen) != 1 || gen < 1)
        return "invalid claim: gen";
    out->master_id = id;
    out->key_generation = gen;
    return NULL;
}

/* Verifies the signature with secret, then the claims of one kind with
 * check, which fills claims_out (a struct of size len); out gets it only
 * when every check passed. */
typedef const char *(*claims_check)(const struct ez_config *cfg, json_t *claims, long long now,
                                    void *claims_out);

static int verify_kind(const struct ez_config *cfg, const char *secret, const char *token,
                       claims_check check, void *scratch, void *out, size_t len,
                       const char **why)
{
    memset(scratch, 0, len);
    const char *reason = "no secret configured";
    json_t *claims = cfg ? verified_claims(secret, token, &reason) : NULL;
    if (claims)
        reason = check(cfg, claims, (long long)time(NULL), scratch);
    json_decref(claims);
    if (why)
        *why = reason;
    if (reason)
        return -1;
    if (out)
        memcpy(out, scratch, len);
    return 0;
}

static const char *admin_check(const struct ez_config *cfg, json_t *claims, long long now,
                               void *out)
{
    return check_admin(cfg, claims, now, out);
}

static const char *session_check(const struct ez_config *cfg, json_t *claims, long long now,
                                 void *out)
{
    return check_session(cfg, claims, now, out);
}

/* Admin tokens already verified by this process, so that a client
 * presenting the same token on every request (the console, a script) pays
 * for the HMAC and the two JSON decodings once: the entry is found by the
 * token's bytes (compared in full, in constant time), and exp, nbf and iat
 * are checked again on every use; anything else (a miss, an entry whose
 * time is over) goes through verify_kind. Only successes are kept, so a
 * refusal always has its own reason and the failed-authentication limiter
 * sees every failure. The entries belong to one secret and issuer: another
 * configuration (a reload starts new workers anyway) empties the cache. */
#define CACHE_SLOTS 64
#define CACHE_MAX_TOKEN 1024 /* longer tokens are verified every time */

struct cached_admin {
    char *token; /* NULL: free slot */
    size_t len;
    struct ez_admin_claims claims;
};

static struct {
    char *secret, *issuer; /* of the entries */
    struct cached_admin e[CACHE_SLOTS];
} admin_cache;

static void cache_empty(void)
{
    for (int i = 0; i < CACHE_SLOTS; i++) {
        free(admin_cache.e[i].token);
        admin_cache.e[i].token = NULL;
    }
    free(admin_cache.secret);
    free(admin_cache.issuer);
    admin_cache.secret = admin_cache.issuer = NULL;
}

/* The slot of token under cfg's secret and issuer (emptying the cache
 * when they changed), or NULL when the token is not to be cached. */
static struct cached_admin *cache_slot(const struct ez_config *cfg, const char *token, size_t *len)
{
    if (!cfg || !cfg->admin_jwt_secret || !cfg->jwt_issuer || !token)
        return NULL;
    *len = strnlen(token, CACHE_MAX_TOKEN + 1);
    if (*len == 0 || *len > CACHE_MAX_TOKEN)
        return NULL;
    if (!admin_cache.secret || strcmp(admin_cache.secret, cfg->admin_jwt_secret) != 0 ||
        strcmp(admin_cache.issuer, cfg->jwt_issuer) != 0) {
        cache_empty();
        admin_cache.secret = strdup(cfg->admin_jwt_secret);
        admin_cache.issuer = strdup(cfg->jwt_issuer);
        if (!admin_cache.secret || !admin_cache.issuer) {
            cache_empty();
            return NULL;
        }
    }
    return &admin_cache.e[ez_hash_bytes(token, *len) % CACHE_SLOTS]; /* the bytes decide */
}

int ez_jwt_verify_admin(const struct ez_config *cfg, const char *token,
                        struct ez_admin_claims *out, const char **why)
{
    size_t len = 0;
    struct cached_admin *e = cache_slot(cfg, token, &len);
    long long now = (long long)time(NULL);
    if (e && e->token && e->len == len && ez_bytes_equal(e->token, token, len) &&
        e->claims.exp >= now - EZ_JWT_LEEWAY && e->claims.not_before <= now + EZ_JWT_LEEWAY) {
        if (out)
            *out = e->claims;
        if (why)
            *why = NULL;
        return 0;
    }
    struct ez_admin_claims c;
    int rc = verify_kind(cfg, cfg ? cfg->admin_jwt_secret : NULL, token, admin_check, &c, out,
                         sizeof c, why);
    if (e && rc == 0) { /* a refusal evicts nothing */
        free(e->token);
        if ((e->token = malloc(len)) != NULL) {
            memcpy(e->token, token, len);
            e->len = len;
            e->claims = c;
        }
    }
    return rc;
}

int ez_jwt_verify_session(const struct ez_config *cfg, const char *token,
                          struct ez_session_claims *out, const char **why)
{
    struct ez_session_claims c;
    return verify_kind(cfg, cfg ? cfg->master_jwt_secret : NULL, token, session_check, &c, out,
                       sizeof c, why);
}
