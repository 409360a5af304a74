/* Admin JSON Web Tokens (SPEC section 6): HS256 only, minted and verified
 * with libjwt. The token's header never chooses the algorithm or the key; no
 * part of a token is logged or returned (reasons are static strings). */
#include "jwt.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
/* libjwt's header; ours is "jwt.h" (common/ is on the quote path only). */
#include <jwt.h>

#define EZ_JWT_MAX_TOKEN 8192 /* bytes; longer tokens are not even decoded */
#define EZ_JWT_MAX_SUB 128

static int role_known(const char *role)
{
    return strcmp(role, "admin") == 0 || strcmp(role, "viewer") == 0;
}

char *ez_jwt_mint_admin(const struct ez_config *cfg, const char *sub, const char *role,
                        long long ttl_s)
{
    if (!cfg || !cfg->admin_jwt_secret || !cfg->admin_jwt_secret[0] || !cfg->jwt_issuer ||
        !cfg->jwt_issuer[0] || !sub || !sub[0] || strlen(sub) > EZ_JWT_MAX_SUB || !role ||
        !role_known(role) || ttl_s <= 0) {
        errno = EINVAL;
        return NULL;
    }
    long long now = (long long)time(NULL);
    if (ttl_s > (long long)LONG_MAX - now) {
        errno = EINVAL;
        return NULL;
    }
    size_t keylen = strlen(cfg->admin_jwt_secret);
    if (keylen > INT_MAX) {
        errno = EINVAL;
        return NULL;
    }

    jwt_t *jwt = NULL;
    int rc = jwt_new(&jwt);
    if (rc != 0) {
        errno = rc;
        return NULL;
    }
    char *token = NULL;
    if ((rc = jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)cfg->admin_jwt_secret,
                          (int)keylen)) == 0 &&
        (rc = jwt_add_grant(jwt, "iss", cfg->jwt_issuer)) == 0 &&
        (rc = jwt_add_grant(jwt, "sub", sub)) == 0 &&
        (rc = jwt_add_grant(jwt, "role", role)) == 0 &&
        (rc = jwt_add_grant_int(jwt, "iat", (long)now)) == 0 &&
        (rc = jwt_add_grant_int(jwt, "exp", (long)(now + ttl_s))) == 0) {
        token = jwt_encode_str(jwt); /* sets errno when NULL */
        rc = token ? 0 : (errno ? errno : ENOMEM);
    }
    jwt_free(jwt);
    if (!token)
        errno = rc;
    return token;
}

static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* Unpadded base64url (RFC 7515 section 2) of n characters into out, which
 * holds at least n * 3 / 4 bytes. Returns the decoded length or -1. */
static long b64url_decode(const char *s, size_t n, unsigned char *out)
{
    if (n % 4 == 1)
        return -1;
    unsigned int acc = 0;
    int bits = 0;
    long len = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64url_value((unsigned char)s[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned int)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[len++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return len;
}

/* The JOSE header, checked before libjwt sees the token, so that the
 * algorithm is decided here and never by the token. NULL when acceptable. */
static const char *check_header(const char *token, size_t len)
{
    const char *dot1 = memchr(token, '.', len);
    if (!dot1)
        return "malformed token";
    const char *dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token));
    if (!dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)))
        return "malformed token";

    unsigned char buf[EZ_JWT_MAX_TOKEN * 3 / 4 + 1];
    long n = b64url_decode(token, (size_t)(dot1 - token), buf);
    if (n <= 0)
        return "malformed token";
    json_error_t jerr;
    json_t *head = json_loadb((const char *)buf, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(head)) {
        json_decref(head);
        return "malformed token";
    }
    const char *why = NULL;
    json_t *alg = json_object_get(head, "alg");
    if (!json_is_string(alg) || strcmp(json_string_value(alg), "HS256") != 0)
        why = "unsupported algorithm";
    else if (json_object_get(head, "crit"))
        why = "unsupported header: crit"; /* we understand no extension */
    json_decref(head);
    return why;
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

/* The registered and private claims of a signature-verified token. */
static const char *check_claims(const struct ez_config *cfg, json_t *claims, long long now,
                                struct ez_admin_claims *out)
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

    long long exp = 0, nbf = 0, iat = 0;
    int has = claim_int(claims, "exp", &exp);
    if (has == 0)
        return "missing claim: exp";
    if (has < 0)
        return "invalid claim: exp";
    /* Written so that no claim value can overflow: now is a small number. */
    if (exp < now - EZ_JWT_LEEWAY)
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

    int viewer = 0;
    json_t *role = json_object_get(claims, "role");
    if (role) {
        if (!json_is_string(role) || !role_known(json_string_value(role)))
            return "invalid claim: role";
        viewer = strcmp(json_string_value(role), "viewer") == 0;
    }

    memcpy(out->sub, json_string_value(sub), json_string_length(sub));
    out->sub[json_string_length(sub)] = '\0';
    out->viewer = viewer;
    out->exp = exp;
    out->not_before = nbf > iat ? nbf : iat;
    return NULL;
}

static const char *verify(const struct ez_config *cfg, const char *token,
                          struct ez_admin_claims *out)
{
    if (!cfg || !cfg->admin_jwt_secret || !cfg->admin_jwt_secret[0])
        return "no secret configured";
    size_t keylen = strlen(cfg->admin_jwt_secret);
    if (keylen > INT_MAX)
        return "no secret configured";
    if (!token || !token[0])
        return "missing token";
    size_t len = strnlen(token, EZ_JWT_MAX_TOKEN + 1);
    if (len > EZ_JWT_MAX_TOKEN)
        return "token too long";
    const char *why = check_header(token, len);
    if (why)
        return why;

    jwt_t *jwt = NULL;
    if (jwt_decode(&jwt, token, (const unsigned char *)cfg->admin_jwt_secret,
                   (int)keylen) != 0 || !jwt) {
        jwt_free(jwt);
        return "bad signature";
    }
    /* Belt and braces: the header check above already insisted on HS256. */
    if (jwt_get_alg(jwt) != JWT_ALG_HS256) {
        jwt_free(jwt);
        return "unsupported algorithm";
    }
    char *text = jwt_get_grants_json(jwt, NULL);
    jwt_free(jwt);
    if (!text)
        return "malformed token";
    json_error_t jerr;
    json_t *claims = json_loads(text, 0, &jerr);
    free(text);
    if (!json_is_object(claims)) {
        json_decref(claims);
        return "malformed token";
    }
    why = check_claims(cfg, claims, (long long)time(NULL), out);
    json_decref(claims);
    return why;
}

int ez_jwt_verify_admin(const struct ez_config *cfg, const char *token,
                        struct ez_admin_claims *out, const char **why)
{
    struct ez_admin_claims claims;
    memset(&claims, 0, sizeof claims);
    const char *reason = verify(cfg, token, &claims);
    if (why)
        *why = reason;
    if (reason)
        return -1;
    if (out)
        *out = claims;
    return 0;
}
