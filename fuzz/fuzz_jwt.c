/* libFuzzer target: admin and master session tokens (common/jwt.c) with a
 * fixed test secret. Byte 0 picks what runs:
 *   0  the rest is a token, verified as both kinds;
 *   1  header NUL claims (JSON texts), signed with the admin secret;
 *   2  the same, signed with the session secret;
 *   3  sub NUL role NUL ttl: an admin token is minted, then verified;
 *   4  8 bytes of master id, 8 of key generation: a session is minted,
 *      then verified.
 *
 * What must hold: a token is accepted only when its signature is the
 * HMAC-SHA256 of its first two parts under the secret of its kind (checked
 * here independently) and its header says HS256; one changed signature byte
 * makes it refused; no token is both kinds; accepted claims are those the
 * token carries; whatever is minted verifies to what was minted; a reason
 * is always given and never quotes the token. */
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/digest.h"
#include "common/jwt.h"
#include "fuzz/fuzz.h"

#define ADMIN_SECRET "fuzz-admin-secret-0123456789abcdef"
#define SESSION_SECRET "fuzz-session-secret-0123456789abcdef"

static struct ez_config cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    memset(&cfg, 0, sizeof cfg);
    cfg.admin_jwt_secret = ADMIN_SECRET;
    cfg.master_jwt_secret = SESSION_SECRET;
    cfg.jwt_issuer = "ezapi";
    cfg.master_jwt_ttl = 3600 * 1000;
    return 0;
}

#ifndef EZ_FUZZ_SEED_MAIN

/* b64url(a) "." b64url(b) "." b64url(HMAC-SHA256(secret, first two)):
 * malloc'd, or NULL. */
static char *sign(const char *secret, const char *a, size_t an, const char *b, size_t bn)
{
    size_t cap = (an + bn) * 4 / 3 + 128;
    char *t = malloc(cap);
    if (!t || ez_b64url_encode((const unsigned char *)a, an, t, cap) != 0) {
        free(t);
        return NULL;
    }
    size_t n = strlen(t);
    t[n++] = '.';
    if (ez_b64url_encode((const unsigned char *)b, bn, t + n, cap - n) != 0) {
        free(t);
        return NULL;
    }
    n += strlen(t + n);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)t, n, md, &mdlen);
    t[n++] = '.';
    if (ez_b64url_encode(md, mdlen, t + n, cap - n) != 0) {
        free(t);
        return NULL;
    }
    return t;
}

/* Is the token's signature right for secret, by our own computation? */
static int signed_by(const char *token, const char *secret)
{
    const char *d1 = strchr(token, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d2)
        return 0;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)token,
         (size_t)(d2 - token), md, &mdlen);
    char expect[96];
    return ez_b64url_encode(md, mdlen, expect, sizeof expect) == 0 && strcmp(expect, d2 + 1) == 0;
}

static void check_reason(int rc, const char *why, const char *token)
{
    EZ_FUZZ_ASSERT(rc == 0 || rc == -1, "returned %d", rc);
    if (rc == 0) {
        EZ_FUZZ_ASSERT(why == NULL, "accepted with a reason");
        return;
    }
    EZ_FUZZ_ASSERT(why && why[0] && strlen(why) < 64, "refused without a short reason");
    if (strlen(token) >= 8)
        EZ_FUZZ_ASSERT(!strstr(why, token) && !strstr(token, why) == !strstr(token, why),
                       "reason quotes the token");
}

/* Verifies token as both kinds; checks what is accepted against `claims`
 * (the claims it was signed with, or NULL when unknown). */
static void verify(const char *token, json_t *claims)
{
    struct ez_admin_claims a;
    struct ez_session_claims s;
    const char *wa = NULL, *ws = NULL;
    int ra = ez_jwt_verify_admin(&cfg, token, &a, &wa);
    int rs = ez_jwt_verify_session(&cfg, token, &s, &ws);
    check_reason(ra, wa, token);
    check_reason(rs, ws, token);
    EZ_FUZZ_ASSERT(ra != 0 || rs != 0, "a token accepted as both kinds");
    long long now = (long long)time(NULL);
    if (ra == 0) {
        EZ_FUZZ_ASSERT(signed_by(token, ADMIN_SECRET), "admin token without its signature");
        EZ_FUZZ_ASSERT(a.sub[0] && memchr(a.sub, 0, sizeof a.sub), "sub");
        EZ_FUZZ_ASSERT(a.exp >= now - EZ_JWT_LEEWAY - 5, "expired token accepted");
        if (claims) {
            const char *sub = json_string_value(json_object_get(claims, "sub"));
            const char *role = json_string_value(json_object_get(claims, "role"));
            EZ_FUZZ_ASSERT(sub && strlen(sub) == json_string_length(json_object_get(claims, "sub")) &&
                               strcmp(sub, a.sub) == 0,
                           "sub '%s' accepted as '%s'", sub ? sub : "(none)", a.sub);
            EZ_FUZZ_ASSERT(role && a.viewer == (strcmp(role, "viewer") == 0), "role");
            EZ_FUZZ_ASSERT(!json_object_get(claims, "aud"), "admin token with an aud");
        }
    }
    if (rs == 0) {
        EZ_FUZZ_ASSERT(signed_by(token, SESSION_SECRET), "session without its signature");
        EZ_FUZZ_ASSERT(s.master_id > 0 && s.key_generation > 0, "session claims");
        if (claims) {
            char id[24];
            snprintf(id, sizeof id, "%lld", (long long)s.master_id);
            const char *sub = json_string_value(json_object_get(claims, "sub"));
            EZ_FUZZ_ASSERT(sub && strcmp(sub, id) == 0, "master %s accepted as %s",
                           sub ? sub : "(none)", id);
            EZ_FUZZ_ASSERT(!json_object_get(claims, "role"), "session with a role");
        }
    }
    /* one changed signature byte is refused */
    if (ra == 0 || rs == 0) {
        char *t = strdup(token);
        if (!t)
            return;
        char *last = t + strlen(t) - 1;
        *last = *last == 'A' ? 'B' : 'A';
        const char *w;
        EZ_FUZZ_ASSERT(ez_jwt_verify_admin(&cfg, t, &a, &w) != 0 &&
                           ez_jwt_verify_session(&cfg, t, &s, &w) != 0,
                       "a changed signature was accepted");
        free(t);
    }
}

static uint64_t u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int mode = data[0] % 5;
    data++;
    size--;
    if (mode == 0) {
        char *token = strndup((const char *)data, size);
        if (token)
            verify(token, NULL);
        free(token);
    } else if (mode == 1 || mode == 2) {
        char *parts[2];
        ez_fuzz_split(data, size, parts, 2);
        char *token = sign(mode == 1 ? ADMIN_SECRET : SESSION_SECRET, parts[0], strlen(parts[0]),
                           parts[1], strlen(parts[1]));
        json_t *claims = json_loads(parts[1], 0, NULL);
        json_t *head = json_loads(parts[0], 0, NULL);
        if (token) {
            verify(token, json_is_object(claims) ? claims : NULL);
            const char *w;
            struct ez_admin_claims a;
            struct ez_session_claims s;
            int ok = ez_jwt_verify_admin(&cfg, token, &a, &w) == 0 ||
                     ez_jwt_verify_session(&cfg, token, &s, &w) == 0;
            const char *alg = json_string_value(json_object_get(head, "alg"));
            EZ_FUZZ_ASSERT(!ok || (alg && strcmp(alg, "HS256") == 0), "alg %s accepted",
                           alg ? alg : "(none)");
        }
        free(token);
        json_decref(claims);
        json_decref(head);
        ez_fuzz_parts_free(parts, 2);
    } else if (mode == 3) {
        char *parts[3];
        ez_fuzz_split(data, size, parts, 3);
        long long ttl = atoll(parts[2]);
        char *token = ez_jwt_mint_admin(&cfg, parts[0], parts[1], ttl);
        if (token) {
            struct ez_admin_claims a;
            const char *w;
            EZ_FUZZ_ASSERT(ez_jwt_verify_admin(&cfg, token, &a, &w) == 0,
                           "a minted admin token is refused: %s", w);
            EZ_FUZZ_ASSERT(strcmp(a.sub, parts[0]) == 0 &&
                               a.viewer == (strcmp(parts[1], "viewer") == 0),
                           "minted for '%s', verified as '%s'", parts[0], a.sub);
            verify(token, NULL);
        }
        free(token);
        ez_fuzz_parts_free(parts, 3);
    } else if (size >= 16) {
        int64_t id = (int64_t)(u64(data) >> 1), gen = (int64_t)(u64(data + 8) >> 1);
        long long exp = 0;
        char *token = ez_jwt_mint_session(&cfg, id, gen, &exp);
        EZ_FUZZ_ASSERT((token != NULL) == (id > 0 && id <= EZ_JWT_MAX_MASTER_ID && gen > 0),
                       "mint for %lld/%lld",
                       (long long)id, (long long)gen);
        if (token) {
            struct ez_session_claims s;
            const char *w;
            EZ_FUZZ_ASSERT(ez_jwt_verify_session(&cfg, token, &s, &w) == 0,
                           "a minted session for master %lld is refused: %s", (long long)id, w);
            EZ_FUZZ_ASSERT(s.master_id == id && s.key_generation == gen && s.exp == exp,
                           "session claims differ from what was minted");
            verify(token, NULL);
        }
        free(token);
    }
    return 0;
}

#else

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    LLVMFuzzerInitialize(&argc, &argv);
    const char *d = argv[1];
    char buf[4096];
    char *t = ez_jwt_mint_admin(&cfg, "alice", "admin", 3600);
    if (!t)
        return 1;
    buf[0] = 0;
    snprintf(buf + 1, sizeof buf - 1, "%s", t);
    ez_fuzz_seed(d, "admin-token", buf, 1 + strlen(t));
    free(t);
    t = ez_jwt_mint_session(&cfg, 42, 3, NULL);
    if (!t)
        return 1;
    snprintf(buf + 1, sizeof buf - 1, "%s", t);
    ez_fuzz_seed(d, "session-token", buf, 1 + strlen(t));
    free(t);
    ez_fuzz_seed_parts(d, "admin-claims", 1, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
                       "{\"iss\":\"ezapi\",\"sub\":\"bob\",\"role\":\"viewer\",\"iat\":1700000000,"
                       "\"nbf\":1700000000,\"exp\":4102444800}", NULL);
    ez_fuzz_seed_parts(d, "session-claims", 2, "{\"alg\":\"HS256\"}",
                       "{\"iss\":\"ezapi\",\"sub\":\"7\",\"aud\":\"ezapi-master-session\","
                       "\"scope\":\"master\",\"gen\":2,\"exp\":4102444800}", NULL);
    ez_fuzz_seed_parts(d, "alg-none", 1, "{\"alg\":\"none\"}",
                       "{\"iss\":\"ezapi\",\"sub\":\"x\",\"role\":\"admin\",\"exp\":4102444800}",
                       NULL);
    ez_fuzz_seed_parts(d, "mint-admin", 3, "carol", "viewer", "600", NULL);
    static const uint8_t session[17] = { 4, 0, 0, 0, 0, 0, 0, 0, 14, 0, 0, 0, 0, 0, 0, 0, 2 };
    ez_fuzz_seed(d, "mint-session", session, sizeof session);
    return 0;
}
#endif
