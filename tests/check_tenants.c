/* Integration tests of the tenants (docs/tenants.md): masters,
 * master keys and sessions, child keys, epochs, access propagation and
 * rotation, seen the way a user and a data plane see them: over HTTP, and
 * in Redis through the data plane's acceptance rule (docs/redis.md,
 * "Token acceptance") alone. */
#include "harness.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#define SYNC_MS 10000 /* how long a change may take to reach Redis */

/* ---- Secrets this test process has seen, to look for leaks ------------- */

#define MAX_SECRETS 256
static char *secrets[MAX_SECRETS];
static int nsecrets;

static void remember(const char *secret)
{
    if (nsecrets < MAX_SECRETS)
        secrets[nsecrets++] = strdup(secret);
}

/* ---- HTTP --------------------------------------------------------------- */

static const char *admin(struct ht_server *s)
{
    return ht_auth(s, "admin");
}

static long long jint(json_t *o, const char *field)
{
    return (long long)json_integer_value(json_object_get(o, field));
}

/* Asserts an error answer: status, error.type and (when given) param and code. */
static void expect_error(struct ht_server *s, const char *method, const char *path,
                         const char *headers, const char *body, int status, const char *type,
                         const char *param, const char *code)
{
    struct ht_resp r;
    int st = ht_http(s->port, method, path, headers, body, body ? strlen(body) : 0, &r);
    json_t *j = ht_resp_json(&r);
    json_t *e = json_object_get(j, "error");
    ck_assert_msg(st == status, "%s %s %s: HTTP %d, expected %d: %.300s", method, path,
                  body ? body : "", st, status, r.body ? r.body : "");
    ck_assert_msg(strcmp(ht_jstr(e, "type"), type) == 0, "%s %s %s: type %s, expected %s", method,
                  path, body ? body : "", ht_jstr(e, "type"), type);
    if (param)
        ck_assert_msg(strcmp(ht_jstr(e, "param"), param) == 0, "%s %s %s: param %s, expected %s",
                      method, path, body ? body : "", ht_jstr(e, "param"), param);
    if (code)
        ck_assert_msg(strcmp(ht_jstr(e, "code"), code) == 0, "%s %s: code %s, expected %s", method,
                      path, ht_jstr(e, "code"), code);
    if (status == 401)
        ck_assert_msg(ht_resp_header(&r, "WWW-Authenticate") != NULL,
                      "%s %s: 401 without WWW-Authenticate", method, path);
    json_decref(j);
    ht_resp_free(&r);
}

/* Creates a master; returns its id and copies its master key into key. */
static long long create_master(struct ht_server *s, const char *body, char *key, size_t keylen)
{
    json_t *j;
    int st = ht_request(s, "POST", "/admin/masters", admin(s), body, &j);
    ck_assert_msg(st == 201, "create master %s: HTTP %d", body, st);
    const char *mk = ht_jstr(j, "master_key");
    ck_assert_msg(strncmp(mk, "ezm_", 4) == 0, "master_key %s lacks ezm_", mk);
    ck_assert_msg(strncmp(ht_jstr(j, "key_prefix"), mk, 12) == 0,
                  "key_prefix is not the key's start");
    snprintf(key, keylen, "%s", mk);
    remember(mk);
    long long id = jint(j, "id");
    json_decref(j);
    return id;
}

/* Issues a child key with the master credential; returns the key object
 * (token removed and copied into tok) and the status in *status. */
static json_t *issue_as(struct ht_server *s, const char *path, const char *headers,
                        const char *body, char *tok, size_t toklen, int *status)
{
    json_t *j;
    *status = ht_request(s, "POST", path, headers, body, &j);
    if (*status != 201)
        return j;
    const char *t = ht_jstr(j, "token");
    ck_assert_msg(strncmp(t, "sk-ez-", 6) == 0, "token %s lacks sk-ez-", t);
    snprintf(tok, toklen, "%s", t);
    remember(t);
    json_object_del(j, "token");
    return j;
}

static long long issue(struct ht_server *s, const char *mk, const char *body, char *tok,
                       size_t toklen)
{
    int st;
    json_t *j = issue_as(s, "/v1/tokens", ht_bearer(mk), body, tok, toklen, &st);
    ck_assert_msg(st == 201, "POST /v1/tokens %s: HTTP %d", body, st);
    long long id = jint(j, "id");
    json_decref(j);
    return id;
}

/* ---- The data plane's view (docs/redis.md), from Redis only -------------------- */

/* HGETALL as a JSON object (empty when the key does not exist). */
static json_t *hgetall(const char *key)
{
    redisContext *c = ht_redis();
    redisReply *r = redisCommand(c, "HGETALL %s", key);
    json_t *o = json_object();
    ck_assert_msg(r && r->type == REDIS_REPLY_ARRAY, "HGETALL %s failed", key);
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        json_object_set_new(o, r->element[i]->str, json_string(r->element[i + 1]->str));
    freeReplyObject(r);
    redisFree(c);
    return o;
}

static long long redis_ttl(const char *key)
{
    redisContext *c = ht_redis();
    redisReply *r = redisCommand(c, "TTL %s", key);
    long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -3;
    if (r)
        freeReplyObject(r);
    redisFree(c);
    return v;
}

/* The acceptance rule of docs/redis.md for token and model: NULL when a data plane
 * would accept it, else why not (a static string). */
static const char *dp_refusal(const char *token, const char *model)
{
    static char why[160];
    char digest[65], key[128];
    ht_sha256_hex(token, digest);
    snprintf(key, sizeof key, "auth:token:%s", digest);
    json_t *t = hgetall(key);
    const char *reason = NULL;
    if (json_object_size(t) == 0) {
        reason = "no auth:token hash";
    } else if (strcmp(ht_jstr(t, "status"), "active") != 0) {
        snprintf(why, sizeof why, "token status %s", ht_jstr(t, "status"));
        reason = why;
    } else if (atoll(ht_jstr(t, "expires_at")) != 0 &&
               atoll(ht_jstr(t, "expires_at")) <= (long long)time(NULL)) {
        reason = "expired";
    } else {
        char mkey[64];
        snprintf(mkey, sizeof mkey, "auth:master:%s", ht_jstr(t, "master_id"));
        json_t *m = hgetall(mkey);
        if (json_object_size(m) == 0)
            reason = "no auth:master hash";
        else if (strcmp(ht_jstr(m, "status"), "active") != 0)
            reason = "master not active";
        else if (strcmp(ht_jstr(t, "issued_at_epoch"), ht_jstr(m, "epoch")) != 0)
            reason = "issued before the master's epoch";
        else if (*ht_jstr(t, "model_limits") && !ht_csv_has(ht_jstr(t, "model_limits"), model))
            reason = "model not allowed";
        json_decref(m);
    }
    json_decref(t);
    return reason;
}

/* One look each: the reason can change between two. */
static int refused_for(const char *token, const char *model, const char *why)
{
    const char *reason = dp_refusal(token, model);
    return reason && strcmp(reason, why) == 0;
}

static const char *verdict(const char *token, const char *model)
{
    const char *reason = dp_refusal(token, model);
    return reason ? reason : "accepted";
}

#define ACCEPTED(tok, model)                                                         \
    HT_EVENTUALLY(dp_refusal((tok), (model)) == NULL, SYNC_MS,                         \
                 "data plane still refuses %.14s... for %s: %s", (tok), (model),      \
                 verdict((tok), (model)))
#define REFUSED(tok, model, why)                                                     \
    HT_EVENTUALLY(refused_for((tok), (model), (why)), SYNC_MS,                         \
                 "data plane: %.14s... for %s: %s, expected refusal: %s", (tok),      \
                 (model), verdict((tok), (model)), (why))

/* The field of the token's hash (malloc'd "" when absent). */
static char *token_field(const char *tok, const char *field)
{
    char digest[65], key[128];
    ht_sha256_hex(tok, digest);
    snprintf(key, sizeof key, "auth:token:%s", digest);
    char *v = ht_redis_hget(key, field);
    return v ? v : strdup("");
}

static int token_field_is(const char *tok, const char *field, const char *want)
{
    char *v = token_field(tok, field);
    int eq = strcmp(v, want) == 0;
    free(v);
    return eq;
}

/* HGET key field equals want (absent = ""). */
static int hash_field_is(const char *key, const char *field, const char *want)
{
    char *v = ht_redis_hget(key, field);
    int eq = strcmp(v ? v : "", want) == 0;
    free(v);
    return eq;
}

#define TOKEN_FIELD(tok, field, want)                                                 \
    HT_EVENTUALLY(token_field_is((tok), (field), (want)), SYNC_MS,                     \
                 "auth:token of %.14s...: %s is not \"%s\"", (tok), (field), (want))

/* ---- Leaks ------------------------------------------------------------- */

/* No secret this process saw is in the audit table or the server log. */
static void assert_no_secret_leaked(struct ht_server *s)
{
    /* the logger writes in batches: wait for this test's records */
    HT_EVENTUALLY(ht_pg_count("SELECT count(*) FROM audit_records") > 0, SYNC_MS,
                 "no audit record was written");
    ht_sleep_ms(500);
    PGconn *c = ht_pg();
    size_t loglen = 0;
    FILE *f = fopen(s->log, "r");
    ck_assert_msg(f != NULL, "cannot read %s", s->log);
    char *log = NULL;
    size_t cap = 0;
    loglen = (size_t)getdelim(&log, &cap, '\0', f);
    fclose(f);
    for (int i = 0; i < nsecrets; i++) {
        const char *p[] = { secrets[i] };
        PGresult *r = PQexecParams(c,
                                   "SELECT count(*) FROM audit_records a "
                                   "WHERE strpos(a::text, $1) > 0", 1, NULL, p, NULL, NULL, 0);
        ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "audit query: %s",
                      PQerrorMessage(c));
        ck_assert_msg(strcmp(PQgetvalue(r, 0, 0), "0") == 0,
                      "a secret (%.10s...) is in %s audit record(s)", secrets[i],
                      PQgetvalue(r, 0, 0));
        PQclear(r);
        ck_assert_msg(loglen == (size_t)-1 || !memmem(log, loglen, secrets[i], strlen(secrets[i])),
                      "a secret (%.10s...) is in the server log", secrets[i]);
    }
    free(log);
    PQfinish(c);
}

/* Namespaces team-a, team-b, team-c and a master over all three. */
static long long setup_master(struct ht_server *s, const char *extra, char *mk, size_t mklen)
{
    ht_create_namespace(s, "team-a");
    ht_create_namespace(s, "team-b");
    ht_create_namespace(s, "team-c");
    char body[512];
    snprintf(body, sizeof body,
             "{\"name\":\"acme\",\"namespaces\":[\"team-a\",\"team-b\",\"team-c\"],"
             "\"default_namespace\":\"team-a\"%s%s}", extra ? "," : "", extra ? extra : "");
    return create_master(s, body, mk, mklen);
}

static void iso_in(long long seconds, char *out, size_t len)
{
    time_t t = time(NULL) + (time_t)seconds;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- Tests -------------------------------------------------------------- */

START_TEST(child_key_projected_accepted_and_revoked)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    char mk[128], tok[128], tok2[128];
    long long mid = setup_master(&s, NULL, mk, sizeof mk);
    long long id = issue(&s, mk,
                         "{\"name\":\"ci\",\"namespaces\":[\"team-b\",\"team-a\"],"
                         "\"model_limits\":[\"gpt-4o\"],\"allow_ips\":[\"10.0.0.0/8\",\"::1\"]}",
                         tok, sizeof tok);
    issue(&s, mk, "{\"name\":\"other\"}", tok2, sizeof tok2);
    ACCEPTED(tok, "gpt-4o");
    ck_assert_str_eq(dp_refusal(tok, "gpt-4o-mini"), "model not allowed");
    ACCEPTED(tok2, "anything");

    /* every field of the contract, with the values of the rows */
    char digest[65], key[128], buf[64];
    ht_sha256_hex(tok, digest);
    snprintf(key, sizeof key, "auth:token:%s", digest);
    json_t *h = hgetall(key);
    ck_assert_int_eq(json_object_size(h), 11);
    snprintf(buf, sizeof buf, "%lld", id);
    ck_assert_str_eq(ht_jstr(h, "key_id"), buf);
    snprintf(buf, sizeof buf, "%lld", mid);
    ck_assert_str_eq(ht_jstr(h, "master_id"), buf);
    ck_assert_str_eq(ht_jstr(h, "issued_at_epoch"), "1");
    ck_assert_str_eq(ht_jstr(h, "status"), "active");
    ck_assert_str_eq(ht_jstr(h, "group"), "default");
    ck_assert_str_eq(ht_jstr(h, "scopes"), "");
    ck_assert_str_eq(ht_jstr(h, "default_namespace"), "team-a");
    ck_assert_str_eq(ht_jstr(h, "namespaces"), "team-b,team-a");
    ck_assert_str_eq(ht_jstr(h, "model_limits"), "gpt-4o");
    ck_assert_str_eq(ht_jstr(h, "allow_ips"), "10.0.0.0/8,::1");
    ck_assert_str_eq(ht_jstr(h, "expires_at"), "0");
    json_decref(h);
    snprintf(key, sizeof key, "auth:master:%lld", mid);
    h = hgetall(key);
    ck_assert_int_eq(json_object_size(h), 6);
    ck_assert_str_eq(ht_jstr(h, "epoch"), "1");
    ck_assert_str_eq(ht_jstr(h, "status"), "active");
    ck_assert_str_eq(ht_jstr(h, "group"), "default");
    ck_assert_str_eq(ht_jstr(h, "global_qps"), "0");
    ck_assert_str_eq(ht_jstr(h, "default_namespace"), "team-a");
    ck_assert_str_eq(ht_jstr(h, "namespaces"), "team-a,team-b,team-c");
    json_decref(h);

    /* the master sees its keys and its count, never a secret */
    json_t *j;
    ck_assert_int_eq(ht_request(&s, "GET", "/v1/me", ht_bearer(mk), NULL, &j), 200);
    ck_assert_int_eq(jint(j, "active_keys"), 2);
    ck_assert_str_eq(ht_jstr(j, "name"), "acme");
    json_decref(j);
    char path[128];
    snprintf(path, sizeof path, "/v1/tokens/%lld", id);
    ck_assert_int_eq(ht_request(&s, "GET", path, ht_bearer(mk), NULL, &j), 200);
    ck_assert_ptr_null(json_object_get(j, "token"));
    ck_assert_int_eq(strncmp(ht_jstr(j, "key_prefix"), tok, 12), 0);
    ck_assert_str_eq(ht_jstr(j, "issued_by"), "master");
    json_decref(j);

    /* revoke one: refused at once by the data plane; the other still works */
    ck_assert_int_eq(ht_request(&s, "DELETE", path, ht_bearer(mk), NULL, NULL), 204);
    REFUSED(tok, "gpt-4o", "no auth:token hash");
    ACCEPTED(tok2, "anything");
    ck_assert_int_eq(ht_request(&s, "GET", path, ht_bearer(mk), NULL, &j), 200);
    ck_assert_str_eq(ht_jstr(j, "status"), "revoked");
    json_decref(j);
    expect_error(&s, "PUT", path, ht_bearer(mk), "{\"name\":\"again\"}", 409, "conflict_error",
                 NULL, "key_revoked");
    /* the revoked key's digest stays until the syncer has deleted its hash */
    HT_EVENTUALLY(ht_pg_count("SELECT count(*) FROM key_digests WHERE key_id IN "
                            "(SELECT id FROM keys WHERE status = 'revoked')") == 0,
                 10000, "the syncer never removed the revoked key's digest row");
    assert_no_secret_leaked(&s);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(revoke_all_is_one_epoch_write)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    char mk[128], a[128], b[128], c[128], path[128];
    long long mid = setup_master(&s, "\"max_child_keys\":2", mk, sizeof mk);
    issue(&s, mk, "{\"name\":\"a\"}", a, sizeof a);
    issue(&s, mk, "{\"name\":\"b\"}", b, sizeof b);
    ACCEPTED(a, "m");
    ACCEPTED(b, "m");
    int st;
    json_t *j = issue_as(&s, "/v1/tokens", ht_bearer(mk), "{}", c, sizeof c, &st);
    ck_assert_int_eq(st, 409);
    ck_assert_str_eq(ht_jstr(json_object_get(j, "error"), "code"), "child_key_limit");
    json_decref(j);

    snprintf(path, sizeof path, "/admin/masters/%lld/revoke-keys", mid);
    ck_assert_int_eq(ht_request(&s, "POST", path, admin(&s), NULL, &j), 200);
    ck_assert_int_eq(jint(j, "epoch"), 2);
    ck_assert_int_eq(jint(j, "active_keys"), 0);
    json_decref(j);
    REFUSED(a, "m", "issued before the master's epoch");
    REFUSED(b, "m", "issued before the master's epoch");
    /* the key hashes were not touched: the master hash alone did it */
    ck_assert(token_field_is(a, "status", "active"));

    /* the limit counts keys of the current epoch only */
    issue(&s, mk, "{\"name\":\"c\"}", c, sizeof c);
    ACCEPTED(c, "m");
    TOKEN_FIELD(c, "issued_at_epoch", "2");
    ck_assert_int_eq(ht_request(&s, "GET", "/v1/tokens?status=revoked", ht_bearer(mk), NULL, &j),
                     200);
    ck_assert_int_eq(json_array_size(json_object_get(j, "data")), 2);
    json_decref(j);
    ck_assert_int_eq(ht_request(&s, "GET", "/v1/tokens?status=active", ht_bearer(mk), NULL, &j),
                     200);
    ck_assert_int_eq(json_array_size(json_object_get(j, "data")), 1);
    json_decref(j);
    assert_no_secret_leaked(&s);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(suspended_master_is_refused_everywhere)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    char mk[128], tok[128], path[128];
    long long mid = setup_master(&s, NULL, mk, sizeof mk);
    issue(&s, mk, "{}", tok, sizeof tok);
    json_t *j;
    ck_assert_int_eq(ht_request(&s, "POST", "/v1/auth/token", ht_bearer(mk), NULL, &j), 200);
    char session[2048];
    snprintf(session, sizeof session, "%s", ht_jstr(j, "token"));
    remember(session);
    json_decref(j);
    ACCEPTED(tok, "m");

    snprintf(path, sizeof path, "/admin/masters/%lld", mid);
    ck_assert_int_eq(ht_request(&s, "PUT", path, admin(&s), "{\"status\":\"suspended\"}", NULL),
                     200);
    REFUSED(tok, "m", "master not active");
    expect_error(&s, "GET", "/v1/me", ht_bearer(mk), NULL, 403, "permission_error", NULL,
                 "master_suspended");
    expect_error(&s, "GET", "/v1/tokens", ht_bearer(session), NULL, 403, "permission_error", NULL,
                 NULL);
    expect_error(&s, "POST", "/v1/tokens", ht_bearer(mk), "{}", 403, "permission_error", NULL,
                 NULL);

    ck_assert_int_eq(ht_request(&s, "PUT", path, admin(&s), "{\"status\":\"active\"}", NULL), 200);
    ACCEPTED(tok, "m");
    ck_assert_int_eq(ht_request(&s, "GET", "/v1/me", ht_bearer(session), NULL, NULL), 200);
    assert_no_secret_leaked(&s);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(key_expires_without_a_write)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    char mk[128], tok[128], when[40], body[128];
    setup_master(&s, NULL, mk, sizeof mk);
    iso_in(3, when, sizeof when);
    snprintf(body, sizeof body, "{\"expires_at\":\"%s\"}", when);
    issue(&s, mk, body, tok, sizeof tok);
    ACCEPTED(tok, "m");
    char *exp = token_field(tok, "expires_at");
    ck_assert_int_gt(atoll(exp), (long long)time(NULL) - 5);
    free(exp);
    REFUSED(tok, "m", "expired");
    json_t *j;
    ck_assert_int_eq(ht_request(&s, "GET", "/v1/tokens?status=expired", ht_bearer(mk), NULL, &j),
                     200);
    ck_assert_int_eq(json_array_size(json_object_get(j, "data")), 1);
    json_decref(j);
    assert_no_secret_leaked(&s);
    ht_assert_clean_stop(&s);
}
END_TEST

/* Rotates key id with grace; returns the new secret in tok. */
static void rotate(struct ht_server *s, const char *mk, long long id, int grace, char *tok,
                   size_t toklen)
{
    char path[128], body[64];
    snprintf(path, sizeof path, "/v1/tokens/%lld/rotate", id);
    snprintf(body, sizeof body, "{\"grace_seconds\":%d}", grace);
    json_t *j;
    ck_assert_int_eq(ht_request(s, "POST", path, ht_bearer(mk), body, &j), 200);
    ck_assert_int_eq(jint(j, "id"), id);
    snprintf(tok, toklen, "%s", ht_jstr(j, "token"));
    ck_assert_int_eq(strncmp(tok, "sk-ez-", 6), 0);
    remember(tok);
    json_decref(j);
}

static long long token_ttl(const char *tok)
{
    char digest[65], key[128];
    ht_sha256_hex(tok, digest);
    snprintf(key, sizeof key, "auth:token:%s", digest);
    return redis_ttl(key);
}

START_TEST(rotation_grace_then_old_secret_stops)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    char mk[128], a[128], a2[128], b[128], b2[128], c[128], c2[128], key_id[24];
    setup_master(&s, NULL, mk, sizeof mk);
    long long ida = issue(&s, mk, "{\"name\":\"a\"}", a, sizeof a);
    long long idb = issue(&s, mk, "{\"name\":\"b\"}", b, sizeof b);
    long long idc = issue(&s, mk, "{\"name\":\"c\"}", c, sizeof c);
    ACCEPTED(a, "m");
    ACCEPTED(b, "m");
    ACCEPTED(c, "m");

    /* a long grace: both secrets work, the old one with a TTL <= grace */
    rotate(&s, mk, ida, 60, a2, sizeof a2);
    ACCEPTED(a2, "m");
    ck_assert_ptr_null(dp_refusal(a, "m"));
    HT_EVENTUALLY(token_ttl(a) > 0, SYNC_MS, "old secret has no TTL (%lld)", token_ttl(a));
    ck_assert_int_le(token_ttl(a), 60);
    ck_assert_int_eq(token_ttl(a2), -1);
    snprintf(key_id, sizeof key_id, "%lld", ida);
    ck_assert(token_field_is(a, "key_id", key_id));
    ck_assert(token_field_is(a2, "key_id", key_id));

    /* a grace of 2 s: the old secret stops by itself */
    rotate(&s, mk, idb, 2, b2, sizeof b2);
    ACCEPTED(b2, "m");
    long long ttl = token_ttl(b);
    ck_assert_msg(ttl == -2 || (ttl >= 0 && ttl <= 2), "TTL %lld above the grace", ttl);
    REFUSED(b, "m", "no auth:token hash");
    ACCEPTED(b2, "m");

    /* no grace: the old secret stops at once */
    rotate(&s, mk, idc, 0, c2, sizeof c2);
    ACCEPTED(c2, "m");
    REFUSED(c, "m", "no auth:token hash");
    /* rows past their grace are inert (and pruned at the key's next rotation) */
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM key_digests WHERE valid_until IS NULL "
                                "OR valid_until > now()"), 4);

    expect_error(&s, "POST", "/v1/tokens/1/rotate", ht_bearer(mk), "{\"grace_seconds\":86401}", 400,
                 "invalid_request_error", "grace_seconds", NULL);
    expect_error(&s, "POST", "/v1/tokens/1/rotate", ht_bearer(mk), "{\"grace_seconds\":-1}", 400,
                 "invalid_request_error", "grace_seconds", NULL);
    expect_error(&s, "POST", "/v1/tokens/1/rotate", ht_bearer(mk), "{\"grace_seconds\":\"5\"}", 400,
                 "invalid_request_error", "grace_seconds", NULL);
    expect_error(&s, "POST", "/v1/tokens/1/rotate", ht_bearer(mk), "{\"grace\":5}", 400,
                 "invalid_request_error", "grace", NULL);
    assert_no_secret_leaked(&s);
    ht_assert_clean_stop(&s);
}
END_TEST

static int namespaces_are(const char *tok, const char *ns, const char *def)
{
    return token_field_is(tok, "namespaces", ns) && token_field_is(tok, "default_namespace", def);
}

#define NAMESPACES(tok, ns, def)                                                     \
    HT_EVENTUALLY(namespaces_are((tok), (ns), (def)), SYNC_MS,                         \
                 "auth:token of %.14s...: namespaces/default are not %s/%s", (tok), (ns), (def))

START_TEST(access_changes_propagate)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    char mk[128], k1[128], k2[128], k3[128], path[128], mkey[64];
    long long mid = setup_master(&s, NULL, mk, sizeof mk);
    issue(&s, mk, "{\"namespaces\":[\"team-a\",\"team-b\"],\"default_namespace\":\"team-b\"}", k1,
          sizeof k1);
    long long id2 = issue(&s, mk, "{\"namespaces\":[\"team-c\"]}", k2, sizeof k2);
    issue(&s, mk, "{}", k3, sizeof k3);
    NAMESPACES(k1, "team-a,team-b", "team-b");
    NAMESPACES(k2, "team-c", "team-c");
    NAMESPACES(k3, "team-a,team-b,team-c", "team-a");
    snprintf(path, sizeof path, "/admin/masters/%lld/access", mid);
    snprintf(mkey, sizeof mkey, "auth:master:%lld", mid);

    /* none: the master alone changes */
    ck_assert_int_eq(ht_request(&s, "PUT", path, admin(&s),
                                "{\"namespaces\":[\"team-a\",\"team-b\"],\"propagate\":\"none\"}",
                                NULL),
                     200);
    HT_EVENTUALLY(hash_field_is(mkey, "namespaces", "team-a,team-b"), SYNC_MS,
                 "auth:master namespaces not updated");
    NAMESPACES(k2, "team-c", "team-c");
    NAMESPACES(k3, "team-a,team-b,team-c", "team-a");
    /* a key cannot go beyond the master's namespaces any more */
    char kpath[128];
    snprintf(kpath, sizeof kpath, "/v1/tokens/%lld", id2);
    expect_error(&s, "PUT", kpath, ht_bearer(mk), "{\"namespaces\":[\"team-c\"]}", 422,
                 "invalid_request_error", "namespaces", NULL);

    /* restrict: every key narrowed to the intersection */
    ck_assert_int_eq(
        ht_request(&s, "PUT", path, admin(&s),
                   "{\"namespaces\":[\"team-b\",\"team-c\"],\"default_namespace\":\"team-b\","
                   "\"propagate\":\"restrict\"}",
                   NULL),
        200);
    NAMESPACES(k1, "team-b", "team-b");
    NAMESPACES(k2, "team-c", "team-c");
    NAMESPACES(k3, "team-b,team-c", "team-b");

    /* all: every key gets the master's access */
    ck_assert_int_eq(ht_request(&s, "PUT", path, admin(&s),
                                "{\"namespaces\":[\"team-a\"],\"default_namespace\":\"team-a\","
                                "\"propagate\":\"all\"}",
                                NULL),
                     200);
    NAMESPACES(k1, "team-a", "team-a");
    NAMESPACES(k2, "team-a", "team-a");
    NAMESPACES(k3, "team-a", "team-a");
    HT_EVENTUALLY(hash_field_is(mkey, "default_namespace", "team-a"), SYNC_MS,
                 "auth:master default_namespace not updated");

    /* the rules between rows */
    expect_error(&s, "PUT", path, admin(&s), "{\"namespaces\":[\"team-z\"]}", 422,
                 "invalid_request_error", "namespaces", NULL);
    expect_error(&s, "PUT", path, admin(&s),
                 "{\"namespaces\":[\"team-a\"],\"default_namespace\":\"team-b\"}", 422,
                 "invalid_request_error", "default_namespace", NULL);
    expect_error(&s, "PUT", path, admin(&s), "{\"propagate\":\"some\"}", 400,
                 "invalid_request_error", "propagate", NULL);
    expect_error(&s, "PUT", "/admin/masters/999999/access", admin(&s), "{}", 404,
                 "not_found_error", NULL, NULL);
    /* an admin sets one key's access within the master's */
    char apath[128];
    snprintf(apath, sizeof apath, "/admin/keys/%lld/access", id2);
    expect_error(&s, "PUT", apath, admin(&s), "{\"namespaces\":[\"team-b\"]}", 422,
                 "invalid_request_error", "namespaces", NULL);
    ck_assert_int_eq(ht_request(&s, "PUT", path, admin(&s),
                                "{\"namespaces\":[\"team-a\",\"team-b\"],\"propagate\":\"none\"}",
                                NULL),
                     200);
    ck_assert_int_eq(ht_request(&s, "PUT", apath, admin(&s),
                                "{\"namespaces\":[\"team-b\"],\"default_namespace\":\"team-b\"}",
                                NULL),
                     200);
    NAMESPACES(k2, "team-b", "team-b");
    /* a namespace in use cannot be deleted */
    ck_assert_int_eq(ht_request(&s, "DELETE", "/admin/namespaces/team-b", admin(&s), NULL, NULL),
                     409);
    assert_no_secret_leaked(&s);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(master_credentials_and_sessions)
{
    struct ht_server s;
    ht_server_start(&s, "auth_failure_window = 1s\n"); /* failures are audited per window */
    char mk[128], tok[128], session[2048], path[128];
    long long mid = setup_master(&s, NULL, mk, sizeof mk);
    issue(&s, mk, "{}", tok, sizeof tok);
    json_t *j;
    ck_assert_int_eq(ht_request(&s, "POST", "/v1/auth/token", ht_bearer(mk), NULL, &j), 200);
    snprintf(session, sizeof session, "%s", ht_jstr(j, "token"));
    remember(session);
    ck_assert_msg(strchr(ht_jstr(j, "expires_at"), 'T') != NULL, "expires_at %s",
                  ht_jstr(j, "expires_at"));
    json_decref(j);
    ck_assert_int_eq(ht_request(&s, "GET", "/v1/tokens", ht_bearer(session), NULL, NULL), 200);
    /* a session does not mint sessions */
    expect_error(&s, "POST", "/v1/auth/token", ht_bearer(session), NULL, 403, "permission_error",
                 NULL, NULL);

    /* wrong credentials on each side */
    expect_error(&s, "GET", "/v1/me", NULL, NULL, 401, "authentication_error", NULL, NULL);
    expect_error(&s, "GET", "/v1/me", ht_bearer("ezm_not-a-real-key"), NULL, 401,
                 "authentication_error", NULL, NULL);
    expect_error(&s, "GET", "/v1/me", ht_bearer(tok), NULL, 401, "authentication_error", NULL,
                 NULL);
    expect_error(&s, "GET", "/v1/me", admin(&s), NULL, 401, "authentication_error", NULL, NULL);
    expect_error(&s, "GET", "/admin/masters", ht_bearer(mk), NULL, 403, "permission_error", NULL,
                 NULL);
    expect_error(&s, "GET", "/admin/masters", ht_bearer(session), NULL, 403, "permission_error",
                 NULL, NULL);
    char forged[2048];
    snprintf(forged, sizeof forged, "%s", session);
    forged[strlen(forged) - 2] = forged[strlen(forged) - 2] == 'A' ? 'B' : 'A';
    expect_error(&s, "GET", "/v1/me", ht_bearer(forged), NULL, 401, "authentication_error", NULL,
                 NULL);
    HT_EVENTUALLY(ht_pg_count("SELECT coalesce(sum((changes->>'failures')::bigint), 0) FROM "
                            "audit_records WHERE action = 'auth.failure' AND status = 401") >= 5,
                 SYNC_MS, "failed authentications are not audited");
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM audit_records WHERE action = 'auth.failure' "
                                "AND path = '/v1/me' AND actor_type = 'anonymous'"), 1);

    /* rotating the master key ends the old key and every session */
    snprintf(path, sizeof path, "/admin/masters/%lld/rotate-key", mid);
    ck_assert_int_eq(ht_request(&s, "POST", path, admin(&s), NULL, &j), 200);
    char mk2[128];
    snprintf(mk2, sizeof mk2, "%s", ht_jstr(j, "master_key"));
    remember(mk2);
    ck_assert_int_eq(jint(j, "key_generation"), 2);
    ck_assert_str_ne(mk2, mk);
    json_decref(j);
    expect_error(&s, "GET", "/v1/me", ht_bearer(session), NULL, 401, "authentication_error", NULL,
                 NULL);
    expect_error(&s, "GET", "/v1/me", ht_bearer(mk), NULL, 401, "authentication_error", NULL, NULL);
    ck_assert_int_eq(ht_request(&s, "GET", "/v1/me", ht_bearer(mk2), NULL, NULL), 200);
    ck_assert_int_eq(ht_request(&s, "POST", "/v1/auth/token", ht_bearer(mk2), NULL, &j), 200);
    ck_assert_int_eq(ht_request(&s, "GET", "/v1/me", ht_bearer(ht_jstr(j, "token")), NULL, NULL),
                     200);
    remember(ht_jstr(j, "token"));
    json_decref(j);
    /* child keys keep working: they do not depend on the master key */
    ACCEPTED(tok, "m");
    /* the master key is stored as a digest only */
    char digest[65], sql[256];
    ht_sha256_hex(mk2, digest);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM masters WHERE key_digest = '%s'", digest);
    ck_assert_int_eq(ht_pg_count(sql), 1);
    assert_no_secret_leaked(&s);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(another_masters_key_is_not_found)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    char mka[128], mkb[128], tok[128], path[128];
    ht_create_namespace(&s, "team-a");
    create_master(&s, "{\"name\":\"a\"}", mka, sizeof mka);
    create_master(&s, "{\"name\":\"b\"}", mkb, sizeof mkb);
    long long id = issue(&s, mka, "{}", tok, sizeof tok);
    snprintf(path, sizeof path, "/v1/tokens/%lld", id);
    expect_error(&s, "GET", path, ht_bearer(mkb), NULL, 404, "not_found_error", NULL, NULL);
    expect_error(&s, "PUT", path, ht_bearer(mkb), "{\"name\":\"x\"}", 404, "not_found_error", NULL,
                 NULL);
    expect_error(&s, "DELETE", path, ht_bearer(mkb), NULL, 404, "not_found_error", NULL, NULL);
    snprintf(path, sizeof path, "/v1/tokens/%lld/rotate", id);
    expect_error(&s, "POST", path, ht_bearer(mkb), "{}", 404, "not_found_error", NULL, NULL);
    json_t *j;
    ck_assert_int_eq(ht_request(&s, "GET", "/v1/tokens", ht_bearer(mkb), NULL, &j), 200);
    ck_assert_int_eq(json_array_size(json_object_get(j, "data")), 0);
    json_decref(j);
    ACCEPTED(tok, "m");
    snprintf(path, sizeof path, "/v1/tokens/%lld", id);
    ck_assert_int_eq(ht_request(&s, "GET", path, ht_bearer(mka), NULL, NULL), 200);
    expect_error(&s, "GET", "/v1/tokens/999999", ht_bearer(mka), NULL, 404, "not_found_error", NULL,
                 NULL);
    expect_error(&s, "GET", "/v1/tokens/abc", ht_bearer(mka), NULL, 400, "invalid_request_error",
                 "id", NULL);
    assert_no_secret_leaked(&s);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(admin_manages_masters_and_keys)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    char mk[128], tok[128], tok2[128], path[128];
    long long mid = setup_master(&s, "\"max_child_keys\":1,\"global_qps\":7,\"group\":\"pg1\"", mk,
                                 sizeof mk);
    json_t *j;
    ck_assert_int_eq(ht_request(&s, "GET", "/admin/masters", admin(&s), NULL, &j), 200);
    ck_assert_int_eq(json_array_size(json_object_get(j, "data")), 1);
    ck_assert_ptr_null(json_object_get(json_array_get(json_object_get(j, "data"), 0),
                                       "master_key"));
    json_decref(j);

    int st;
    snprintf(path, sizeof path, "/admin/masters/%lld/keys", mid);
    j = issue_as(&s, path, admin(&s), "{\"name\":\"by-admin\"}", tok, sizeof tok, &st);
    ck_assert_int_eq(st, 201);
    ck_assert_str_eq(ht_jstr(j, "issued_by"), "admin");
    ck_assert_str_eq(ht_jstr(j, "group"), "pg1");
    long long kid = jint(j, "id");
    json_decref(j);
    ACCEPTED(tok, "m");
    TOKEN_FIELD(tok, "group", "pg1");
    ck_assert_int_eq(ht_request(&s, "GET", path, admin(&s), NULL, &j), 200);
    ck_assert_int_eq(json_array_size(json_object_get(j, "data")), 1);
    json_decref(j);

    /* suspend and resume one key; a resumed key takes a place under the limit */
    char kpath[128];
    snprintf(kpath, sizeof kpath, "/admin/keys/%lld", kid);
    ck_assert_int_eq(ht_request(&s, "PUT", kpath, admin(&s), "{\"status\":\"suspended\"}", NULL),
                     200);
    REFUSED(tok, "m", "token status suspended");
    issue(&s, mk, "{\"name\":\"second\"}", tok2, sizeof tok2);
    expect_error(&s, "PUT", kpath, admin(&s), "{\"status\":\"active\"}", 409, "conflict_error",
                 NULL, "child_key_limit");
    char mpath[128];
    snprintf(mpath, sizeof mpath, "/admin/masters/%lld", mid);
    ck_assert_int_eq(ht_request(&s, "PUT", mpath, admin(&s), "{\"max_child_keys\":0}", NULL), 200);
    ck_assert_int_eq(ht_request(&s, "PUT", kpath, admin(&s),
                                "{\"status\":\"active\",\"model_limits\":[\"a\",\"b\"],"
                                "\"allow_ips\":null,\"expires_at\":\"2999-01-01T00:00:00+02:00\"}",
                                &j),
                     200);
    ck_assert_str_eq(ht_jstr(j, "expires_at"), "2998-12-31T22:00:00Z");
    json_decref(j);
    ACCEPTED(tok, "a");
    TOKEN_FIELD(tok, "model_limits", "a,b");
    ck_assert_int_eq(ht_request(&s, "PUT", kpath, admin(&s),
                                "{\"model_limits\":null,\"expires_at\":null}", NULL),
                     200);
    TOKEN_FIELD(tok, "model_limits", "");
    TOKEN_FIELD(tok, "expires_at", "0");

    /* group change moves every key; global_qps reaches the master hash */
    ck_assert_int_eq(
        ht_request(&s, "PUT", mpath, admin(&s), "{\"group\":\"pg2\",\"global_qps\":9}", NULL), 200);
    TOKEN_FIELD(tok, "group", "pg2");
    TOKEN_FIELD(tok2, "group", "pg2");
    char mkey[64];
    snprintf(mkey, sizeof mkey, "auth:master:%lld", mid);
    HT_EVENTUALLY(hash_field_is(mkey, "global_qps", "9"), SYNC_MS,
                 "global_qps not projected");

    /* rename conflict, then delete: every hash goes */
    create_master(&s, "{\"name\":\"other\"}", mk, sizeof mk);
    expect_error(&s, "PUT", mpath, admin(&s), "{\"name\":\"other\"}", 409, "conflict_error", "name",
                 NULL);
    ck_assert_int_eq(ht_request(&s, "DELETE", kpath, admin(&s), NULL, NULL), 204);
    REFUSED(tok, "m", "no auth:token hash");
    ck_assert_int_eq(ht_request(&s, "DELETE", mpath, admin(&s), NULL, NULL), 204);
    REFUSED(tok2, "m", "no auth:token hash");
    HT_EVENTUALLY(ht_redis_hlen(mkey) == 0, SYNC_MS, "auth:master hash left after delete");
    expect_error(&s, "GET", mpath, admin(&s), NULL, 404, "not_found_error", NULL, NULL);
    expect_error(&s, "GET", kpath, admin(&s), NULL, 404, "not_found_error", NULL, NULL);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM keys"), 0);
    /* a viewer may read but not write */
    ck_assert_int_eq(ht_request(&s, "GET", "/admin/masters", ht_auth(&s, "viewer"), NULL, NULL),
                     200);
    expect_error(&s, "POST", "/admin/masters", ht_auth(&s, "viewer"), "{\"name\":\"v\"}", 403,
                 "permission_error", NULL, NULL);
    assert_no_secret_leaked(&s);
    ht_assert_clean_stop(&s);
}
END_TEST

struct bad {
    const char *method, *path, *body;
    int status;
    const char *type, *param;
};

/* Inserts n keys of master mid with plain SQL (a listing needs no secret). */
/* Runs sql on the test database (a statement without rows). */
static void pg_run(const char *sql)
{
    PGconn *pg = ht_pg();
    PGresult *r = PQexec(pg, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s: %s", sql, PQerrorMessage(pg));
    PQclear(r);
    PQfinish(pg);
}

static void seed_keys(long long mid, int n, const char *status)
{
    pg_run(ht_tmpf("INSERT INTO keys (master_id, name, group_name, issued_at_epoch, issued_by, "
                   "status) SELECT %lld, 'k' || i, 'default', 1, 'import', '%s' "
                   "FROM generate_series(1, %d) i",
                   mid, status, n));
}

/* Pages through path (limit 100): the number of keys, each of master mid,
 * in increasing id order, and the number of pages. */
static int page_all(struct ht_server *s, long long mid, const char *path, int *pages)
{
    char *cursor = NULL;
    long long last = 0;
    int n = 0;
    *pages = 0;
    for (;;) {
        char *url = ht_strf("%s%slimit=100%s%s", path, strchr(path, '?') ? "&" : "?",
                            cursor ? "&cursor=" : "", cursor ? cursor : "");
        json_t *j;
        ck_assert_int_eq(ht_request(s, "GET", url, admin(s), NULL, &j), 200);
        free(url);
        free(cursor);
        cursor = NULL;
        (*pages)++;
        json_t *data = json_object_get(j, "data"), *k;
        size_t i;
        json_array_foreach(data, i, k) {
            ck_assert_int_eq(jint(k, "master_id"), mid);
            ck_assert_int_gt(jint(k, "id"), last);
            last = jint(k, "id");
            n++;
        }
        json_t *next = json_object_get(j, "next_cursor");
        ck_assert(json_is_true(json_object_get(j, "has_more")) == json_is_string(next));
        if (json_is_string(next))
            cursor = strdup(json_string_value(next));
        json_decref(j);
        if (!cursor)
            return n;
    }
}

START_TEST(key_pages_hold_one_masters_keys)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    char mka[128], mkb[128], path[128];
    long long a = create_master(&s, "{\"name\":\"a\",\"max_child_keys\":0}", mka, sizeof mka);
    long long b = create_master(&s, "{\"name\":\"b\",\"max_child_keys\":0}", mkb, sizeof mkb);
    /* a's keys on both sides of b's, some of them suspended */
    seed_keys(a, 150, "active");
    seed_keys(b, 120, "active");
    seed_keys(a, 30, "suspended");
    const struct {
        long long master;
        const char *filter;
        int keys, pages;
    } lists[] = { { a, "", 180, 2 }, { b, "", 120, 2 }, { a, "?status=suspended", 30, 1 },
                  { a, "?status=active", 150, 2 } };
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        int pages;
        snprintf(path, sizeof path, "/admin/masters/%lld/keys%s", lists[i].master,
                 lists[i].filter);
        ck_assert_int_eq(page_all(&s, lists[i].master, path, &pages), lists[i].keys);
        ck_assert_int_eq(pages, lists[i].pages);
    }
    ht_assert_clean_stop(&s);
}
END_TEST

/* How many of the digests of the master's keys named `from`..`to`
 * (digest = sha256 of "<tag><i>") have an auth:token hash whose namespaces
 * field is ns (absent hashes: *absent counts them). */
static int tokens_with_namespaces(const char *tag, int from, int to, const char *ns,
                                  int *absent)
{
    redisContext *rc = ht_redis();
    for (int i = from; i <= to; i++) {
        char secret[32], digest[65];
        snprintf(secret, sizeof secret, "%s%d", tag, i);
        ht_sha256_hex(secret, digest);
        redisAppendCommand(rc, "HGET auth:token:%s namespaces", digest);
    }
    int n = 0;
    *absent = 0;
    for (int i = from; i <= to; i++) {
        redisReply *r = NULL;
        ck_assert(redisGetReply(rc, (void **)&r) == REDIS_OK);
        if (r->type == REDIS_REPLY_STRING && strcmp(r->str, ns) == 0)
            n++;
        *absent += r->type == REDIS_REPLY_NIL;
        freeReplyObject(r);
    }
    redisFree(rc);
    return n;
}

/* {"keys":"all"} re-projects a master's keys 1,000 per write: keys on
 * several pages, between another master's keys, a whole page of keys with
 * no secret left (the walk must go past it), and a revoked key (its hash
 * deleted, then its row). */
START_TEST(every_key_of_a_large_master_follows_its_access)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    char mk[128], other[128], path[128];
    long long mid = setup_master(&s, NULL, mk, sizeof mk);
    long long oid = create_master(&s, "{\"name\":\"other\",\"max_child_keys\":0}", other,
                                  sizeof other);
    char *sql = ht_strf(
        "INSERT INTO keys (master_id, name, group_name, issued_at_epoch, issued_by, namespaces, "
        "default_namespace) SELECT CASE WHEN i BETWEEN 1201 AND 1500 THEN %lld ELSE %lld END, "
        "'k' || i, 'default', 1, 'import', '{team-a,team-b,team-c}', 'team-a' "
        "FROM generate_series(1, 3300) i ORDER BY i",
        oid, mid);
    pg_run(sql);
    free(sql);
    /* secrets "big<i>" for a's keys, except its keys 1001 to 2000 */
    sql = ht_strf("INSERT INTO key_digests (key_id, digest) SELECT id, "
                  "encode(sha256(convert_to('big' || rn, 'UTF8')), 'hex') FROM "
                  "(SELECT id, row_number() OVER (ORDER BY id) rn FROM keys "
                  "WHERE master_id = %lld) k WHERE rn <= 1000 OR rn > 2000",
                  mid);
    pg_run(sql);
    free(sql);
    /* the last key is revoked */
    sql = ht_strf("UPDATE keys SET status = 'revoked' WHERE id = "
                  "(SELECT max(id) FROM keys WHERE master_id = %lld)",
                  mid);
    pg_run(sql);
    free(sql);
    char last[65];
    ht_sha256_hex("big3000", last);
    redisContext *rc = ht_redis();
    freeReplyObject(redisCommand(rc, "HSET auth:token:%s status active", last));
    redisFree(rc);

    snprintf(path, sizeof path, "/admin/masters/%lld/access", mid);
    ck_assert_int_eq(ht_request(&s, "PUT", path, admin(&s),
                                "{\"namespaces\":[\"team-b\"],\"default_namespace\":\"team-b\","
                                "\"propagate\":\"all\"}",
                                NULL),
                     200);
    int absent;
    HT_EVENTUALLY(tokens_with_namespaces("big", 1, 1000, "team-b", &absent) == 1000 &&
                      tokens_with_namespaces("big", 2001, 2999, "team-b", &absent) == 999,
                  SYNC_MS, "not every key of the master was re-projected");
    ck_assert_int_eq(tokens_with_namespaces("big", 3000, 3000, "team-b", &absent), 0);
    ck_assert_int_eq(absent, 1);
    HT_EVENTUALLY(ht_pg_count(ht_tmpf("SELECT count(*) FROM key_digests WHERE digest = '%s'",
                                          last)) == 0,
                  SYNC_MS, "the revoked key's secret was not dropped");
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(bad_input_changes_nothing)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    char mk[128], tok[128], kpath[64], v1path[64], longname[80];
    long long mid = setup_master(&s, NULL, mk, sizeof mk);
    long long kid = issue(&s, mk, "{\"name\":\"k\"}", tok, sizeof tok);
    char past[40];
    iso_in(-60, past, sizeof past);
    memset(longname, 'n', 65);
    longname[65] = '\0';
    char bodies[4][256];
    snprintf(bodies[0], sizeof bodies[0], "{\"name\":\"%s\"}", longname);
    snprintf(bodies[1], sizeof bodies[1], "{\"expires_at\":\"%s\"}", past);
    snprintf(kpath, sizeof kpath, "/admin/keys/%lld", kid);
    snprintf(v1path, sizeof v1path, "/v1/tokens/%lld", kid);
    const char *ir = "invalid_request_error";
    const struct bad admin_cases[] = {
        { "POST", "/admin/masters", "{\"name\":", 400, ir, NULL },
        { "POST", "/admin/masters", "[1]", 400, ir, NULL },
        { "POST", "/admin/masters", "{}", 400, ir, "name" },
        { "POST", "/admin/masters", "{\"name\":\"x\",\"color\":1}", 400, ir, "color" },
        { "POST", "/admin/masters", bodies[0], 400, ir, "name" },
        { "POST", "/admin/masters", "{\"name\":\"\"}", 400, ir, "name" },
        { "POST", "/admin/masters", "{\"name\":\"a\\u0000b\"}", 400, ir, "name" },
        { "POST", "/admin/masters", "{\"name\":7}", 400, ir, "name" },
        { "POST", "/admin/masters", "{\"name\":\"x\",\"max_child_keys\":\"5\"}", 400, ir,
          "max_child_keys" },
        { "POST", "/admin/masters", "{\"name\":\"x\",\"max_child_keys\":-1}", 400, ir,
          "max_child_keys" },
        { "POST", "/admin/masters", "{\"name\":\"x\",\"global_qps\":1e3}", 400, ir, "global_qps" },
        { "POST", "/admin/masters", "{\"name\":\"x\",\"status\":\"paused\"}", 400, ir, "status" },
        { "POST", "/admin/masters", "{\"name\":\"x\",\"group\":\"-bad\"}", 400, ir, "group" },
        { "POST", "/admin/masters", "{\"name\":\"x\",\"namespaces\":\"team-a\"}", 400, ir,
          "namespaces" },
        { "POST", "/admin/masters", "{\"name\":\"x\",\"namespaces\":[\"Team A\"]}", 400, ir,
          "namespaces" },
        { "POST", "/admin/masters", "{\"name\":\"x\",\"namespaces\":[\"team-a\",\"team-a\"]}", 400,
          ir, "namespaces" },
        { "POST", "/admin/masters", "{\"name\":\"x\",\"namespaces\":[\"nope\"]}", 422, ir,
          "namespaces" },
        { "POST", "/admin/masters", "{\"name\":\"x\",\"default_namespace\":\"team-a\"}", 422, ir,
          "default_namespace" },
        { "POST", "/admin/masters", "{\"name\":\"acme\"}", 409, "conflict_error", "name" },
        { "GET", "/admin/masters?status=gone", NULL, 400, ir, "status" },
        { "GET", "/admin/masters?limit=0", NULL, 400, ir, "limit" },
        { "GET", "/admin/masters/x1", NULL, 400, ir, "id" },
        { "GET", "/admin/masters/424242", NULL, 404, "not_found_error", NULL },
        { "PUT", "/admin/masters/424242", "{}", 404, "not_found_error", NULL },
        { "DELETE", "/admin/masters/424242", NULL, 404, "not_found_error", NULL },
        { "POST", "/admin/masters/424242/rotate-key", NULL, 404, "not_found_error", NULL },
        { "POST", "/admin/masters/424242/revoke-keys", NULL, 404, "not_found_error", NULL },
        { "POST", "/admin/masters/424242/keys", "{}", 404, "not_found_error", NULL },
        { "GET", "/admin/masters/424242/keys", NULL, 404, "not_found_error", NULL },
        { "POST", "/admin/masters/1/revoke-keys", "{\"all\":true}", 400, ir, "all" },
        { "PUT", kpath, "{\"status\":\"revoked\"}", 400, ir, "status" },
        { "PUT", kpath, "{\"namespaces\":[\"team-a\"]}", 400, ir, "namespaces" },
        { "PUT", kpath, "{\"allow_ips\":[\"10.0.0.0/33\"]}", 400, ir, "allow_ips" },
        { "PUT", kpath, "{\"allow_ips\":[\"10.0.0.256\"]}", 400, ir, "allow_ips" },
        { "PUT", kpath, bodies[1], 400, ir, "expires_at" },
        { "PUT", kpath, "{\"expires_at\":\"tomorrow\"}", 400, ir, "expires_at" },
        { "PUT", kpath, "{\"expires_at\":\"2030-02-30T00:00:00Z\"}", 400, ir, "expires_at" },
        { "PUT", kpath, "{\"model_limits\":[\"a,b\"]}", 400, ir, "model_limits" },
        { "PUT", kpath, "{\"model_limits\":[1]}", 400, ir, "model_limits" },
        { "PUT", "/admin/keys/424242", "{}", 404, "not_found_error", NULL },
        { "PUT", "/admin/keys/424242/access", "{}", 404, "not_found_error", NULL },
        { "DELETE", "/admin/keys/424242", NULL, 404, "not_found_error", NULL },
    };
    const struct bad master_cases[] = {
        { "POST", "/v1/tokens", "{\"name\":\"x\",\"scopes\":[]}", 400, ir, "scopes" },
        { "POST", "/v1/tokens", "{\"namespaces\":[\"team-a\"],\"default_namespace\":\"team-b\"}",
          422, ir, "default_namespace" },
        { "POST", "/v1/tokens", "{\"namespaces\":[\"zzz\"]}", 422, ir, "namespaces" },
        { "POST", "/v1/tokens", "{\"allow_ips\":[\"not-an-ip\"]}", 400, ir, "allow_ips" },
        { "POST", "/v1/tokens", "{\"allow_ips\":\"10.0.0.1\"}", 400, ir, "allow_ips" },
        { "POST", "/v1/tokens", bodies[1], 400, ir, "expires_at" },
        { "POST", "/v1/tokens", "{\"expires_at\":1700000000}", 400, ir, "expires_at" },
        { "POST", "/v1/tokens", "{\"name\":null}", 400, ir, "name" },
        { "PUT", v1path, "{\"status\":\"expired\"}", 400, ir, "status" },
        { "PUT", v1path, "{\"namespaces\":[\"team-a\"],\"default_namespace\":\"team-c\"}", 422, ir,
          "default_namespace" },
        { "GET", "/v1/tokens?status=old", NULL, 400, ir, "status" },
        { "GET", "/v1/tokens?cursor=zz", NULL, 400, ir, "cursor" },
        { "POST", "/v1/auth/token", "{\"ttl\":5}", 400, ir, "ttl" },
    };
    long long before_keys = ht_pg_count("SELECT count(*) FROM keys");
    long long before_rev = ht_pg_count("SELECT max(rev) FROM (SELECT rev FROM masters UNION ALL "
                                      "SELECT rev FROM keys) r");
    for (size_t i = 0; i < sizeof admin_cases / sizeof admin_cases[0]; i++) {
        const struct bad *b = &admin_cases[i];
        expect_error(&s, b->method, b->path, admin(&s), b->body, b->status, b->type, b->param,
                     NULL);
    }
    for (size_t i = 0; i < sizeof master_cases / sizeof master_cases[0]; i++) {
        const struct bad *b = &master_cases[i];
        expect_error(&s, b->method, b->path, ht_bearer(mk), b->body, b->status, b->type, b->param,
                     NULL);
    }
    expect_error(&s, "POST", "/admin/masters", admin(&s), "{\"name\":\"\xff\xfe\"}", 400,
                 ir, NULL, NULL);
    expect_error(&s, "PATCH", "/v1/tokens/1", ht_bearer(mk), "{}", 405, ir, NULL, NULL);
    char *big = malloc(1100000);
    memset(big, ' ', 1099999);
    memcpy(big, "{\"name\":\"x\"}", 12);
    big[1099999] = '\0';
    struct ht_resp r;
    ck_assert_int_eq(ht_http(s.port, "POST", "/v1/tokens", ht_bearer(mk), big, strlen(big), &r),
                     413);
    ht_resp_free(&r);
    free(big);
    /* a body that is not JSON */
    char hdr[2400];
    snprintf(hdr, sizeof hdr, "%sContent-Type: text/plain\r\n", ht_bearer(mk));
    ck_assert_int_eq(ht_http(s.port, "POST", "/v1/tokens", hdr, "name=x", 6, &r), 415);
    ht_resp_free(&r);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM masters"), 1);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM keys"), before_keys);
    ck_assert_int_eq(ht_pg_count("SELECT max(rev) FROM (SELECT rev FROM masters UNION ALL "
                                "SELECT rev FROM keys) r"), before_rev);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM keys WHERE name <> 'k'"), 0);
    (void)mid;
    ht_assert_clean_stop(&s);
}
END_TEST

/* Child process of the race: waits for the start signal, issues one key,
 * and exits 0 for 201, 1 for 409 child_key_limit, 2 for anything else. */
static void race_issuer(int port, int start_fd, const char *mk) __attribute__((noreturn));
static void race_issuer(int port, int start_fd, const char *mk)
{
    char c;
    if (read(start_fd, &c, 1) < 0)
        _exit(3);
    struct ht_resp r;
    int st = ht_http(port, "POST", "/v1/tokens", ht_bearer(mk), "{\"name\":\"race\"}", 15, &r);
    int code = 2;
    if (st == 201)
        code = 0;
    else if (st == 409 && r.body && strstr(r.body, "\"child_key_limit\""))
        code = 1;
    ht_resp_free(&r);
    _exit(code);
}

START_TEST(child_key_limit_holds_under_a_race)
{
    struct ht_server s;
    ht_server_start(&s, "workers = 4");
    char mk[128], sql[160];
    long long mid = setup_master(&s, "\"max_child_keys\":5", mk, sizeof mk);
    int gate[2];
    ck_assert_int_eq(pipe(gate), 0);
    pid_t kids[20];
    for (int i = 0; i < 20; i++) {
        kids[i] = fork();
        ck_assert_int_ge(kids[i], 0);
        if (kids[i] == 0) {
            close(gate[1]);
            race_issuer(s.port, gate[0], mk);
        }
    }
    close(gate[0]);
    close(gate[1]); /* every issuer starts now */
    int ok = 0, limited = 0, other = 0;
    for (int i = 0; i < 20; i++) {
        int status;
        ck_assert_int_eq(waitpid(kids[i], &status, 0), kids[i]);
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : 9;
        ok += code == 0;
        limited += code == 1;
        other += code > 1;
    }
    ck_assert_msg(ok == 5 && limited == 15 && other == 0,
                  "201: %d, 409 child_key_limit: %d, other: %d", ok, limited, other);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM keys WHERE master_id = %lld AND status = 'active'", mid);
    ck_assert_int_eq(ht_pg_count(sql), 5);
    HT_EVENTUALLY(ht_pg_count("SELECT count(*) FROM key_digests") == 5, SYNC_MS, "digests");
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(legacy_plaintext_master_key_is_upgraded)
{
    struct ht_server s;
    const char *legacy = "legacy-master-key-7f3a9c2e41d8b6";
    remember(legacy);
    ht_server_init(&s, NULL);
    struct ht_cmd c;
    ht_ezapi(&c, "migrate", "-c", s.conf, NULL);
    ck_assert_msg(c.status == 0, "ezapi migrate: %d %s", c.status, c.err);
    ht_cmd_free(&c);
    PGconn *pg = ht_pg();
    const char *p[] = { legacy };
    PGresult *r = PQexecParams(pg, "INSERT INTO masters (name, legacy_key) VALUES ('old', $1)", 1,
                               NULL, p, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s", PQerrorMessage(pg));
    PQclear(r);
    PQfinish(pg);
    ht_server_spawn(&s);
    ht_server_wait_ready(&s);

    json_t *j;
    ck_assert_int_eq(ht_request(&s, "GET", "/v1/me", ht_bearer(legacy), NULL, &j), 200);
    ck_assert_str_eq(ht_jstr(j, "name"), "old");
    /* a third of a short key at most */
    ck_assert_str_eq(ht_jstr(j, "key_prefix"), "legacy-mas");
    json_decref(j);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM masters WHERE legacy_key IS NOT NULL"), 0);
    char tok[128];
    issue(&s, legacy, "{\"name\":\"after-upgrade\"}", tok, sizeof tok);
    ACCEPTED(tok, "m");
    char digest[65], sql[200];
    ht_sha256_hex(legacy, digest);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM masters WHERE name = 'old' AND key_digest = '%s'",
             digest);
    ck_assert_int_eq(ht_pg_count(sql), 1);
    assert_no_secret_leaked(&s);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(postgres_away_is_503)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    char mk[128];
    setup_master(&s, NULL, mk, sizeof mk);
    ht_pg_stop();
    expect_error(&s, "GET", "/v1/me", ht_bearer(mk), NULL, 503, "unavailable_error", NULL, NULL);
    expect_error(&s, "POST", "/v1/tokens", ht_bearer(mk), "{}", 503, "unavailable_error", NULL,
                 NULL);
    expect_error(&s, "POST", "/admin/masters", admin(&s), "{\"name\":\"n\"}", 503,
                 "unavailable_error", NULL, NULL);
    ht_pg_start();
    HT_EVENTUALLY(ht_request(&s, "GET", "/v1/me", ht_bearer(mk), NULL, NULL) == 200, SYNC_MS,
                  "the master is not served again after PostgreSQL came back");
    ht_assert_clean_stop(&s);
}
END_TEST

static Suite *tenants_suite(void)
{
    Suite *s = suite_create("tenants");
    TCase *tc = ht_tcase("keys");
    tcase_add_test(tc, child_key_projected_accepted_and_revoked);
    tcase_add_test(tc, revoke_all_is_one_epoch_write);
    tcase_add_test(tc, suspended_master_is_refused_everywhere);
    tcase_add_test(tc, key_expires_without_a_write);
    tcase_add_test(tc, rotation_grace_then_old_secret_stops);
    tcase_add_test(tc, access_changes_propagate);
    suite_add_tcase(s, tc);
    tc = ht_tcase("masters");
    tcase_add_test(tc, master_credentials_and_sessions);
    tcase_add_test(tc, another_masters_key_is_not_found);
    tcase_add_test(tc, admin_manages_masters_and_keys);
    tcase_add_test(tc, key_pages_hold_one_masters_keys);
    tcase_add_test(tc, every_key_of_a_large_master_follows_its_access);
    tcase_add_test(tc, bad_input_changes_nothing);
    tcase_add_test(tc, child_key_limit_holds_under_a_race);
    tcase_add_test(tc, legacy_plaintext_master_key_is_upgraded);
    tcase_add_test(tc, postgres_away_is_503);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ht_run_suite(tenants_suite());
}
