/* Check suite for common/jwt.c: admin and master session tokens minted and
 * verified, every way a token must be refused, and the claims that keep the
 * two kinds apart. Foreign tokens are built by hand with OpenSSL, as any
 * other JWT library would build them. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/jwt.h"

static char secret[] = "an-admin-secret-of-at-least-32-bytes!!";
static char other_secret[] = "another-secret-that-is-32-bytes-long!!";
static char issuer[] = "ezapi";

static struct ez_config cfg;

static void setup(void)
{
    memset(&cfg, 0, sizeof cfg);
    cfg.admin_jwt_secret = secret;
    cfg.jwt_issuer = issuer;
}

static long long now(void)
{
    return (long long)time(NULL);
}

/* Unpadded base64url of n bytes, malloc'd. */
static char *b64url(const unsigned char *in, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    ck_assert_ptr_nonnull(out);
    int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (char *p = out; *p; p++) {
        if (*p == '+')
            *p = '-';
        else if (*p == '/')
            *p = '_';
    }
    return out;
}

enum sig { SIG_NONE, SIG_HS256, SIG_HS512 };

/* header.payload.signature from JSON texts, signed with key as asked. */
static char *build(const char *header, const char *payload, const char *key, enum sig sig)
{
    char *h = b64url((const unsigned char *)header, strlen(header));
    char *p = b64url((const unsigned char *)payload, strlen(payload));
    size_t inlen = strlen(h) + 1 + strlen(p);
    char *token = malloc(inlen + 1 + 100);
    ck_assert_ptr_nonnull(token);
    snprintf(token, inlen + 1, "%s.%s", h, p);
    free(h);
    free(p);

    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    char *s = NULL;
    if (sig != SIG_NONE) {
        ck_assert_ptr_nonnull(HMAC(sig == SIG_HS256 ? EVP_sha256() : EVP_sha512(), key,
                                   (int)strlen(key), (const unsigned char *)token, inlen, mac,
                                   &maclen));
        s = b64url(mac, maclen);
    }
    snprintf(token + inlen, 100, ".%s", s ? s : "");
    free(s);
    return token;
}

static const char *hs256_header = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

/* A standard HS256 token with the given payload, signed with the secret. */
static char *foreign(const char *payload)
{
    return build(hs256_header, payload, secret, SIG_HS256);
}

/* Verifies and returns the reason, or NULL when accepted. */
static const char *reason(const char *token)
{
    struct ez_admin_claims c;
    const char *why = "unset";
    int rc = ez_jwt_verify_admin(&cfg, token, &c, &why);
    if (rc == 0) {
        ck_assert_ptr_null(why);
        return NULL;
    }
    ck_assert_int_eq(rc, -1);
    ck_assert_ptr_nonnull(why);
    return why;
}

static void expect_reject(const char *token, const char *want)
{
    const char *why = reason(token);
    ck_assert_msg(why != NULL, "token accepted, wanted \"%s\"", want);
    ck_assert_str_eq(why, want);
}

static void expect_payload(const char *payload, const char *want)
{
    char *t = foreign(payload);
    if (want)
        expect_reject(t, want);
    else
        ck_assert_msg(reason(t) == NULL, "rejected (%s): %s", reason(t), payload);
    free(t);
}

/* A payload with standard claims around the given times (0 = omitted). */
static void payload_times(char *buf, size_t len, long long exp, long long nbf, long long iat)
{
    int n = snprintf(buf, len, "{\"iss\":\"ezapi\",\"sub\":\"alice\",\"role\":\"admin\"");
    if (exp)
        n += snprintf(buf + n, len - (size_t)n, ",\"exp\":%lld", exp);
    if (nbf)
        n += snprintf(buf + n, len - (size_t)n, ",\"nbf\":%lld", nbf);
    if (iat)
        n += snprintf(buf + n, len - (size_t)n, ",\"iat\":%lld", iat);
    snprintf(buf + n, len - (size_t)n, "}");
}

START_TEST(mint_then_verify)
{
    long long before = now();
    char *t = ez_jwt_mint_admin(&cfg, "alice", "admin", 3600);
    ck_assert_ptr_nonnull(t);
    struct ez_admin_claims c;
    const char *why = "unset";
    ck_assert_int_eq(ez_jwt_verify_admin(&cfg, t, &c, &why), 0);
    ck_assert_ptr_null(why);
    ck_assert_str_eq(c.sub, "alice");
    ck_assert_int_eq(c.viewer, 0);
    ck_assert(c.exp >= before + 3600 && c.exp <= now() + 3600);
    free(t);
}
END_TEST

START_TEST(mint_viewer)
{
    char *t = ez_jwt_mint_admin(&cfg, "bob", "viewer", 60);
    ck_assert_ptr_nonnull(t);
    struct ez_admin_claims c;
    const char *why = NULL;
    ck_assert_int_eq(ez_jwt_verify_admin(&cfg, t, &c, &why), 0);
    ck_assert_str_eq(c.sub, "bob");
    ck_assert_int_eq(c.viewer, 1);
    free(t);
}
END_TEST

START_TEST(mint_claims_are_standard)
{
    /* The payload a standard library reads: iss, sub, role, iat, exp; no aud. */
    char *t = ez_jwt_mint_admin(&cfg, "alice", "viewer", 600);
    ck_assert_ptr_nonnull(t);
    char *dot1 = strchr(t, '.');
    char *dot2 = strchr(dot1 + 1, '.');
    *dot2 = '\0';
    char payload[1024] = "";
    /* base64url back to base64 with padding for EVP_DecodeBlock */
    char b64[1024];
    size_t n = strlen(dot1 + 1);
    ck_assert_uint_lt(n, sizeof b64 - 4);
    for (size_t i = 0; i < n; i++)
        b64[i] = dot1[1 + i] == '-' ? '+' : dot1[1 + i] == '_' ? '/' : dot1[1 + i];
    while (n % 4)
        b64[n++] = '=';
    b64[n] = '\0';
    ck_assert_int_gt(EVP_DecodeBlock((unsigned char *)payload, (unsigned char *)b64, (int)n), 0);
    ck_assert_ptr_nonnull(strstr(payload, "\"iss\":\"ezapi\""));
    ck_assert_ptr_nonnull(strstr(payload, "\"sub\":\"alice\""));
    ck_assert_ptr_nonnull(strstr(payload, "\"role\":\"viewer\""));
    ck_assert_ptr_nonnull(strstr(payload, "\"iat\":"));
    ck_assert_ptr_nonnull(strstr(payload, "\"exp\":"));
    ck_assert_ptr_null(strstr(payload, "\"aud\""));
    free(t);
}
END_TEST

START_TEST(mint_bad_arguments)
{
    ck_assert_ptr_null(ez_jwt_mint_admin(&cfg, "alice", "root", 60));
    ck_assert_ptr_null(ez_jwt_mint_admin(&cfg, "", "admin", 60));
    ck_assert_ptr_null(ez_jwt_mint_admin(&cfg, "alice", "admin", 0));
    char longsub[130];
    memset(longsub, 'a', 129);
    longsub[129] = '\0';
    ck_assert_ptr_null(ez_jwt_mint_admin(&cfg, longsub, "admin", 60));
    cfg.admin_jwt_secret = NULL;
    ck_assert_ptr_null(ez_jwt_mint_admin(&cfg, "alice", "admin", 60));
}
END_TEST

START_TEST(foreign_hs256_accepted)
{
    char p[256];
    long long exp = now() + 300;
    snprintf(p, sizeof p,
             "{\"iss\":\"ezapi\",\"sub\":\"ops@example.com\",\"role\":\"admin\",\"iat\":%lld,"
             "\"exp\":%lld}",
             now(), exp);
    char *t = foreign(p);
    struct ez_admin_claims c;
    const char *why = NULL;
    ck_assert_int_eq(ez_jwt_verify_admin(&cfg, t, &c, &why), 0);
    ck_assert_str_eq(c.sub, "ops@example.com");
    ck_assert_int_eq(c.viewer, 0);
    ck_assert_int_eq(c.exp, exp);
    free(t);

    /* Header without typ (some libraries omit it), claims in another order,
     * nbf and a claim of their own. */
    exp = now() + 200;
    snprintf(p, sizeof p,
             "{\"sub\":\"bot\",\"exp\":%lld,\"role\":\"admin\",\"jti\":\"x1\",\"nbf\":%lld,"
             "\"iss\":\"ezapi\"}",
             exp, now() - 5);
    t = build("{\"alg\":\"HS256\"}", p, secret, SIG_HS256);
    ck_assert_int_eq(ez_jwt_verify_admin(&cfg, t, &c, &why), 0);
    ck_assert_str_eq(c.sub, "bot");
    ck_assert_int_eq(c.viewer, 0);
    ck_assert_int_eq(c.exp, exp);
    free(t);

    snprintf(p, sizeof p, "{\"iss\":\"ezapi\",\"sub\":\"v\",\"role\":\"viewer\",\"exp\":%lld}",
             now() + 300);
    t = foreign(p);
    ck_assert_int_eq(ez_jwt_verify_admin(&cfg, t, &c, &why), 0);
    ck_assert_int_eq(c.viewer, 1);
    free(t);
}
END_TEST

START_TEST(alg_none_rejected)
{
    char p[256];
    snprintf(p, sizeof p, "{\"iss\":\"ezapi\",\"sub\":\"alice\",\"exp\":%lld}", now() + 300);
    char *t = build("{\"alg\":\"none\",\"typ\":\"JWT\"}", p, NULL, SIG_NONE);
    ck_assert_int_eq(t[strlen(t) - 1], '.'); /* empty signature */
    expect_reject(t, "unsupported algorithm");
    free(t);
    t = build("{\"alg\":\"none\",\"typ\":\"JWT\"}", p, secret, SIG_HS256);
    expect_reject(t, "unsupported algorithm");
    free(t);
    t = build("{\"alg\":\"None\",\"typ\":\"JWT\"}", p, NULL, SIG_NONE);
    expect_reject(t, "unsupported algorithm");
    free(t);
    t = build("{\"typ\":\"JWT\"}", p, secret, SIG_HS256);
    expect_reject(t, "unsupported algorithm");
    free(t);
    /* HS256 header with the signature stripped */
    t = build(hs256_header, p, NULL, SIG_NONE);
    expect_reject(t, "bad signature");
    free(t);
}
END_TEST

START_TEST(other_algorithms_rejected)
{
    char p[256];
    snprintf(p, sizeof p, "{\"iss\":\"ezapi\",\"sub\":\"alice\",\"exp\":%lld}", now() + 300);
    /* RS256 header "signed" with the HMAC secret: the key-confusion attack */
    char *t = build("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", p, secret, SIG_HS256);
    expect_reject(t, "unsupported algorithm");
    free(t);
    t = build("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", p, secret, SIG_HS512);
    expect_reject(t, "unsupported algorithm");
    free(t);
    t = build("{\"alg\":\"hs256\",\"typ\":\"JWT\"}", p, secret, SIG_HS256);
    expect_reject(t, "unsupported algorithm");
    free(t);
    t = build("{\"alg\":\"HS256\",\"crit\":[\"b64\"],\"b64\":false}", p, secret, SIG_HS256);
    expect_reject(t, "unsupported header: crit");
    free(t);
}
END_TEST

START_TEST(bad_signature_rejected)
{
    char *t = ez_jwt_mint_admin(&cfg, "alice", "admin", 300);
    ck_assert_ptr_nonnull(t);
    char *sig = strrchr(t, '.') + 1;
    sig[5] = sig[5] == 'A' ? 'B' : 'A';
    expect_reject(t, "bad signature");
    free(t);

    /* a valid signature over different claims */
    char *a = ez_jwt_mint_admin(&cfg, "alice", "viewer", 300);
    char *b = ez_jwt_mint_admin(&cfg, "alice", "admin", 300);
    char spliced[2048];
    *strrchr(a, '.') = '\0';
    snprintf(spliced, sizeof spliced, "%s.%s", a, strrchr(b, '.') + 1);
    expect_reject(spliced, "bad signature");
    free(a);
    free(b);
}
END_TEST

START_TEST(other_secret_rejected)
{
    cfg.admin_jwt_secret = other_secret;
    char *t = ez_jwt_mint_admin(&cfg, "alice", "admin", 300);
    ck_assert_ptr_nonnull(t);
    cfg.admin_jwt_secret = secret;
    expect_reject(t, "bad signature");
    free(t);
}
END_TEST

START_TEST(garbage_rejected)
{
    expect_reject("", "missing token");
    expect_reject(NULL, "missing token");
    expect_reject("garbage", "malformed token");
    expect_reject("a.b", "malformed token");
    expect_reject("a.b.c.d", "malformed token");
    expect_reject("..", "malformed token");
    expect_reject("!!!!.e30.abc", "malformed token");
    expect_reject("e30.e30.", "unsupported algorithm"); /* header {} */
    expect_reject("WzFd.e30.abc", "malformed token");    /* header [1] */
    /* a valid header with a payload that is not JSON */
    char *t = build(hs256_header, "not json", secret, SIG_HS256);
    ck_assert_ptr_nonnull(reason(t));
    free(t);
    char *m = ez_jwt_mint_admin(&cfg, "alice", "admin", 300);
    char *dot = strchr(m, '.');
    *dot = '\0';
    char bad[2048];
    snprintf(bad, sizeof bad, "%s. %s", m, dot + 1);
    expect_reject(bad, "bad signature");
    snprintf(bad, sizeof bad, "Bearer %s.%s", m, dot + 1);
    expect_reject(bad, "malformed token");
    free(m);
}
END_TEST

START_TEST(oversized_rejected)
{
    /* Just under the limit: accepted; just over: refused before decoding. */
    size_t fill = 5900;
    char *p = malloc(fill + 256);
    int n = snprintf(p, 256,
                     "{\"iss\":\"ezapi\",\"sub\":\"alice\",\"role\":\"admin\",\"exp\":%lld,\"pad\":\"",
                     now() + 300);
    memset(p + n, 'x', fill);
    strcpy(p + n + fill, "\"}");
    char *t = foreign(p);
    ck_assert_uint_le(strlen(t), 8192);
    ck_assert_ptr_null(reason(t));
    free(t);
    free(p);

    fill = 6200;
    p = malloc(fill + 256);
    n = snprintf(p, 256, "{\"iss\":\"ezapi\",\"sub\":\"alice\",\"exp\":%lld,\"pad\":\"",
                 now() + 300);
    memset(p + n, 'x', fill);
    strcpy(p + n + fill, "\"}");
    t = foreign(p);
    ck_assert_uint_gt(strlen(t), 8192);
    expect_reject(t, "token too long");
    free(t);
    free(p);
}
END_TEST

START_TEST(issuer_checked)
{
    char p[256];
    snprintf(p, sizeof p, "{\"iss\":\"someone-else\",\"sub\":\"alice\",\"exp\":%lld}",
             now() + 300);
    expect_payload(p, "wrong issuer");
    snprintf(p, sizeof p, "{\"iss\":\"EZAPI\",\"sub\":\"alice\",\"exp\":%lld}", now() + 300);
    expect_payload(p, "wrong issuer");
    snprintf(p, sizeof p, "{\"sub\":\"alice\",\"exp\":%lld}", now() + 300);
    expect_payload(p, "missing claim: iss");
    snprintf(p, sizeof p, "{\"iss\":1,\"sub\":\"alice\",\"exp\":%lld}", now() + 300);
    expect_payload(p, "invalid claim: iss");

    /* a token of another deployment (other issuer, same secret) */
    static char other_issuer[] = "staging";
    cfg.jwt_issuer = other_issuer;
    char *t = ez_jwt_mint_admin(&cfg, "alice", "admin", 300);
    cfg.jwt_issuer = issuer;
    expect_reject(t, "wrong issuer");
    free(t);
}
END_TEST

START_TEST(sub_required)
{
    char p[512];
    snprintf(p, sizeof p, "{\"iss\":\"ezapi\",\"exp\":%lld}", now() + 300);
    expect_payload(p, "missing claim: sub");
    snprintf(p, sizeof p, "{\"iss\":\"ezapi\",\"sub\":\"\",\"exp\":%lld}", now() + 300);
    expect_payload(p, "invalid claim: sub");
    snprintf(p, sizeof p, "{\"iss\":\"ezapi\",\"sub\":42,\"exp\":%lld}", now() + 300);
    expect_payload(p, "invalid claim: sub");
    char sub[130];
    memset(sub, 's', 129);
    sub[129] = '\0';
    snprintf(p, sizeof p, "{\"iss\":\"ezapi\",\"sub\":\"%s\",\"exp\":%lld}", sub, now() + 300);
    expect_payload(p, "invalid claim: sub");
    sub[128] = '\0'; /* 128 bytes is the most allowed */
    snprintf(p, sizeof p, "{\"iss\":\"ezapi\",\"sub\":\"%s\",\"role\":\"admin\",\"exp\":%lld}",
             sub, now() + 300);
    expect_payload(p, NULL);
}
END_TEST

START_TEST(exp_required)
{
    char p[256];
    payload_times(p, sizeof p, 0, 0, now());
    expect_payload(p, "missing claim: exp");
    snprintf(p, sizeof p, "{\"iss\":\"ezapi\",\"sub\":\"alice\",\"exp\":\"%lld\"}", now() + 300);
    expect_payload(p, "invalid claim: exp");
    snprintf(p, sizeof p, "{\"iss\":\"ezapi\",\"sub\":\"alice\",\"exp\":%lld.5}", now() + 300);
    expect_payload(p, "invalid claim: exp");
    expect_payload("{\"iss\":\"ezapi\",\"sub\":\"alice\",\"exp\":null}", "invalid claim: exp");
}
END_TEST

START_TEST(expiry_and_leeway)
{
    char p[256];
    payload_times(p, sizeof p, now() - 60, 0, now() - 120);
    expect_payload(p, "expired");
    payload_times(p, sizeof p, now() - 31 - 5, 0, 0);
    expect_payload(p, "expired");
    payload_times(p, sizeof p, now() - 20, 0, now() - 120); /* within 30 s */
    expect_payload(p, NULL);
    payload_times(p, sizeof p, -1, 0, 0);
    expect_payload(p, "expired");

    char *t = ez_jwt_mint_admin(&cfg, "alice", "admin", 1);
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_null(reason(t)); /* one second lifetime, 30 s leeway */
    free(t);
}
END_TEST

START_TEST(nbf_and_leeway)
{
    char p[256];
    payload_times(p, sizeof p, now() + 600, now() + 120, 0);
    expect_payload(p, "not yet valid");
    payload_times(p, sizeof p, now() + 600, now() + 20, 0); /* within 30 s */
    expect_payload(p, NULL);
    payload_times(p, sizeof p, now() + 600, now() - 100, 0);
    expect_payload(p, NULL);
    snprintf(p, sizeof p, "{\"iss\":\"ezapi\",\"sub\":\"alice\",\"exp\":%lld,\"nbf\":\"soon\"}",
             now() + 300);
    expect_payload(p, "invalid claim: nbf");
}
END_TEST

/* A token verified once is remembered by the process, but its exp is
 * checked again on every use: it is refused once it has expired. */
START_TEST(remembered_token_still_expires)
{
    char p[256];
    payload_times(p, sizeof p, now() - EZ_JWT_LEEWAY + 1, 0, 0); /* a second left */
    char *t = foreign(p);
    ck_assert_ptr_null(reason(t));
    struct ez_admin_claims c;
    const char *why;
    ck_assert_int_eq(ez_jwt_verify_admin(&cfg, t, &c, &why), 0); /* remembered */
    ck_assert_str_eq(c.sub, "alice");
    ck_assert_int_eq(c.viewer, 0);
    sleep(3);
    expect_reject(t, "expired");
    free(t);
}
END_TEST

/* Remembered under one secret and issuer, not under others. */
START_TEST(remembered_token_follows_the_configuration)
{
    char *t = ez_jwt_mint_admin(&cfg, "alice", "viewer", 600);
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_null(reason(t));
    ck_assert_ptr_null(reason(t));
    cfg.admin_jwt_secret = other_secret;
    expect_reject(t, "bad signature");
    cfg.admin_jwt_secret = secret;
    struct ez_admin_claims c;
    const char *why;
    ck_assert_int_eq(ez_jwt_verify_admin(&cfg, t, &c, &why), 0);
    ck_assert_int_eq(c.viewer, 1);
    cfg.jwt_issuer = "another-issuer";
    expect_reject(t, "wrong issuer");
    cfg.jwt_issuer = issuer;
    /* One byte changed, same length: not the remembered token. */
    ck_assert_ptr_null(reason(t));
    t[strlen(t) - 2] = t[strlen(t) - 2] == 'A' ? 'B' : 'A';
    expect_reject(t, "bad signature");
    free(t);
}
END_TEST

START_TEST(iat_in_future)
{
    char p[256];
    payload_times(p, sizeof p, now() + 600, 0, now() + 120);
    expect_payload(p, "issued in the future");
    payload_times(p, sizeof p, now() + 600, 0, now() + 20); /* within 30 s */
    expect_payload(p, NULL);
    snprintf(p, sizeof p, "{\"iss\":\"ezapi\",\"sub\":\"alice\",\"exp\":%lld,\"iat\":true}",
             now() + 300);
    expect_payload(p, "invalid claim: iat");
}
END_TEST

START_TEST(role_checked)
{
    char p[256];
    const char *bad[] = { "\"root\"", "\"Admin\"", "\"\"", "1", "[\"admin\"]", "null" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(p, sizeof p, "{\"iss\":\"ezapi\",\"sub\":\"alice\",\"exp\":%lld,\"role\":%s}",
                 now() + 300, bad[i]);
        expect_payload(p, "invalid claim: role");
    }
}
END_TEST

START_TEST(no_secret_configured)
{
    char *t = ez_jwt_mint_admin(&cfg, "alice", "admin", 300);
    ck_assert_ptr_nonnull(t);
    static char empty[] = "";
    cfg.admin_jwt_secret = empty;
    expect_reject(t, "no secret configured");
    cfg.admin_jwt_secret = secret;
    /* out and why may be NULL */
    ck_assert_int_eq(ez_jwt_verify_admin(&cfg, t, NULL, NULL), 0);
    ck_assert_int_eq(ez_jwt_verify_admin(&cfg, "garbage", NULL, NULL), -1);
    free(t);
}
END_TEST

/* ---- the two kinds of token ------------------------------------------------ */

static char master_secret[] = "a-master-secret-of-at-least-32-bytes!!";

static void setup_kinds(void)
{
    setup();
    cfg.master_jwt_secret = master_secret;
    cfg.master_jwt_ttl = 3600 * 1000;
}

/* Verifies a session and returns the reason, or NULL when accepted. */
static const char *session_reason(const char *token, struct ez_session_claims *c)
{
    struct ez_session_claims tmp;
    const char *why = "unset";
    int rc = ez_jwt_verify_session(&cfg, token, c ? c : &tmp, &why);
    ck_assert_int_eq(rc, why ? -1 : 0);
    return why;
}

static void expect_session(const char *payload, const char *want)
{
    char *t = build(hs256_header, payload, master_secret, SIG_HS256);
    const char *why = session_reason(t, NULL);
    if (want)
        ck_assert_msg(why && strcmp(why, want) == 0, "got \"%s\", wanted \"%s\": %s",
                      why ? why : "accepted", want, payload);
    else
        ck_assert_msg(why == NULL, "rejected (%s): %s", why, payload);
    free(t);
}

START_TEST(role_required)
{
    char p[256];
    snprintf(p, sizeof p, "{\"iss\":\"ezapi\",\"sub\":\"alice\",\"exp\":%lld}", now() + 300);
    expect_payload(p, "missing claim: role");
}
END_TEST

START_TEST(admin_refuses_an_audience)
{
    char p[256];
    const char *auds[] = { "\"ezapi-master-session\"", "\"ezapi\"", "[\"ezapi\"]", "null" };
    for (size_t i = 0; i < sizeof auds / sizeof auds[0]; i++) {
        snprintf(p, sizeof p,
                 "{\"iss\":\"ezapi\",\"sub\":\"alice\",\"role\":\"admin\",\"aud\":%s,\"exp\":%lld}",
                 auds[i], now() + 300);
        expect_payload(p, "unexpected claim: aud");
    }
}
END_TEST

START_TEST(session_mint_then_verify)
{
    long long exp = 0, before = now();
    char *t = ez_jwt_mint_session(&cfg, 42, 3, &exp);
    ck_assert_ptr_nonnull(t);
    ck_assert(exp >= before + 3600 && exp <= now() + 3600);
    struct ez_session_claims c;
    ck_assert_ptr_null(session_reason(t, &c));
    ck_assert_int_eq(c.master_id, 42);
    ck_assert_int_eq(c.key_generation, 3);
    ck_assert_int_eq(c.exp, exp);
    /* signed with the master secret only */
    expect_reject(t, "bad signature");
    free(t);
    ck_assert_ptr_null(ez_jwt_mint_session(&cfg, 0, 1, &exp));
    ck_assert_ptr_null(ez_jwt_mint_session(&cfg, 1, 0, &exp));
}
END_TEST

/* Even when both secrets are one (refused by the config, but a secret may
 * leak into the other's place), neither kind passes for the other. */
START_TEST(kinds_do_not_mix_under_one_secret)
{
    cfg.master_jwt_secret = secret;
    char *session = ez_jwt_mint_session(&cfg, 7, 1, NULL);
    ck_assert_ptr_nonnull(session);
    ck_assert_ptr_null(session_reason(session, NULL));
    expect_reject(session, "unexpected claim: aud");

    char *admin = ez_jwt_mint_admin(&cfg, "7", "admin", 300);
    ck_assert_ptr_nonnull(admin);
    ck_assert_ptr_null(reason(admin));
    ck_assert_str_eq(session_reason(admin, NULL), "not a master session");

    /* a session shaped by hand with a role added is still no admin token,
     * and no session either */
    char p[512];
    snprintf(p, sizeof p,
             "{\"iss\":\"ezapi\",\"sub\":\"7\",\"aud\":\"ezapi-master-session\",\"scope\":\"master\","
             "\"gen\":1,\"role\":\"admin\",\"exp\":%lld}",
             now() + 300);
    char *t = foreign(p);
    expect_reject(t, "unexpected claim: aud");
    ck_assert_str_eq(session_reason(t, NULL), "not a master session");
    free(t);
    free(session);
    free(admin);
}
END_TEST

START_TEST(session_claims_checked)
{
    char p[512];
    long long exp = now() + 300;
    const char *head = "\"iss\":\"ezapi\",\"aud\":\"ezapi-master-session\",\"scope\":\"master\"";
    snprintf(p, sizeof p, "{%s,\"sub\":\"9\",\"gen\":2,\"exp\":%lld}", head, exp);
    expect_session(p, NULL);
    /* a session minted before sessions carried their audience */
    snprintf(p, sizeof p,
             "{\"iss\":\"ezapi\",\"sub\":\"9\",\"scope\":\"master\",\"gen\":2,\"iat\":%lld,"
             "\"exp\":%lld}",
             now(), exp);
    expect_session(p, "not a master session");
    snprintf(p, sizeof p,
             "{\"iss\":\"ezapi\",\"sub\":\"9\",\"aud\":\"other\",\"scope\":\"master\",\"gen\":2,"
             "\"exp\":%lld}",
             exp);
    expect_session(p, "not a master session");
    snprintf(p, sizeof p,
             "{\"iss\":\"ezapi\",\"sub\":\"9\",\"aud\":\"ezapi-master-session\",\"gen\":2,"
             "\"exp\":%lld}",
             exp);
    expect_session(p, "not a master session");
    const char *subs[] = { "\"0\"", "\"-1\"", "\"09\"", "\"9x\"", "\"1234567890123456789\"" };
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        snprintf(p, sizeof p, "{%s,\"sub\":%s,\"gen\":2,\"exp\":%lld}", head, subs[i], exp);
        expect_session(p, "invalid claim: sub");
    }
    const char *gens[] = { "0", "\"2\"", "1.5" };
    for (size_t i = 0; i < sizeof gens / sizeof gens[0]; i++) {
        snprintf(p, sizeof p, "{%s,\"sub\":\"9\",\"gen\":%s,\"exp\":%lld}", head, gens[i], exp);
        expect_session(p, "invalid claim: gen");
    }
    snprintf(p, sizeof p, "{%s,\"sub\":\"9\",\"exp\":%lld}", head, exp);
    expect_session(p, "invalid claim: gen");
    snprintf(p, sizeof p, "{%s,\"sub\":\"9\",\"gen\":2,\"exp\":%lld}", head, now() - 60);
    expect_session(p, "expired");
    snprintf(p, sizeof p, "{%s,\"iss\":\"x\",\"sub\":\"9\",\"gen\":2,\"exp\":%lld}", head, exp);
    expect_session(p, "malformed token"); /* iss twice */
    /* the header rules are the admin tokens' */
    char *t = build("{\"alg\":\"HS512\"}", "{}", master_secret, SIG_HS512);
    ck_assert_str_eq(session_reason(t, NULL), "unsupported algorithm");
    free(t);
}
END_TEST

static Suite *jwt_suite(void)
{
    Suite *s = suite_create("jwt");
    TCase *tc = tcase_create("admin");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, mint_then_verify);
    tcase_add_test(tc, mint_viewer);
    tcase_add_test(tc, mint_claims_are_standard);
    tcase_add_test(tc, mint_bad_arguments);
    tcase_add_test(tc, foreign_hs256_accepted);
    tcase_add_test(tc, alg_none_rejected);
    tcase_add_test(tc, other_algorithms_rejected);
    tcase_add_test(tc, bad_signature_rejected);
    tcase_add_test(tc, other_secret_rejected);
    tcase_add_test(tc, garbage_rejected);
    tcase_add_test(tc, oversized_rejected);
    tcase_add_test(tc, issuer_checked);
    tcase_add_test(tc, sub_required);
    tcase_add_test(tc, exp_required);
    tcase_add_test(tc, expiry_and_leeway);
    tcase_add_test(tc, nbf_and_leeway);
    tcase_add_test(tc, iat_in_future);
    tcase_add_test(tc, remembered_token_still_expires);
    tcase_add_test(tc, remembered_token_follows_the_configuration);
    tcase_add_test(tc, role_checked);
    tcase_add_test(tc, no_secret_configured);
    suite_add_tcase(s, tc);
    tc = tcase_create("kinds");
    tcase_add_checked_fixture(tc, setup_kinds, NULL);
    tcase_add_test(tc, role_required);
    tcase_add_test(tc, admin_refuses_an_audience);
    tcase_add_test(tc, session_mint_then_verify);
    tcase_add_test(tc, kinds_do_not_mix_under_one_secret);
    tcase_add_test(tc, session_claims_checked);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(jwt_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
