/* Integration tests of POST /admin/route/explain (docs/explain.md): a
 * configuration is built through the HTTP API, and explain must describe
 * what a data plane reading Redis would do with a token and a model: token
 * acceptance, namespace resolution, candidates and each key's exclusion. */
#include "harness.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "worker/explain.h"

#define SYNC_MS 10000 /* how long a change may take to reach Redis */

static struct ht_server S;

/* ---- Helpers ------------------------------------------------------------ */

static json_t *call(const char *method, const char *path, const char *body, int want)
{
    return ht_call(&S, ht_auth(&S, "admin"), method, path, body, want);
}

/* A value inside an answer by a dotted path ("candidates.0.keys.1.excluded"),
 * rendered as text: strings as is, "null", "true"/"false", integers in
 * decimal, "(absent)". Static buffer. */
static const char *jpath(json_t *j, const char *path)
{
    static char out[512];
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *save = NULL, *part = strtok_r(buf, ".", &save); part && j;
         part = strtok_r(NULL, ".", &save))
        j = json_is_array(j) ? json_array_get(j, (size_t)atoi(part)) : json_object_get(j, part);
    if (!j)
        return "(absent)";
    if (json_is_string(j))
        snprintf(out, sizeof out, "%s", json_string_value(j));
    else if (json_is_integer(j))
        snprintf(out, sizeof out, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
    else if (json_is_null(j))
        return "null";
    else if (json_is_boolean(j))
        return json_is_true(j) ? "true" : "false";
    else
        return "(not a scalar)";
    return out;
}

static void expect(json_t *j, const char *path, const char *want)
{
    char *s = json_dumps(j, JSON_COMPACT);
    ck_assert_msg(strcmp(jpath(j, path), want) == 0, "explain: %s is %s, expected %s in %.1500s",
                  path, jpath(j, path), want, s ? s : "");
    free(s);
}

/* Body {"token": ...} or {"key_id": ...} with a model. */
static const char *by_token(const char *tok, const char *model)
{
    return ht_tmpf("{\"token\":\"%s\",\"model\":\"%s\"}", tok, model);
}

static const char *by_key(int64_t id, const char *model)
{
    return ht_tmpf("{\"key_id\":%" PRId64 ",\"model\":\"%s\"}", id, model);
}

static json_t *explain(const char *body)
{
    return call("POST", "/admin/route/explain", body, 200);
}

/* Polls explain until path reads want (the change has to reach Redis). */
static char last_seen[512];
static int explain_is(const char *body, const char *path, const char *want)
{
    json_t *j = explain(body);
    snprintf(last_seen, sizeof last_seen, "%s", jpath(j, path));
    json_decref(j);
    return strcmp(last_seen, want) == 0;
}
#define EXPLAINS(body, path, want)                                                         \
    HT_EVENTUALLY(explain_is((body), (path), (want)), SYNC_MS, "explain: %s stays %s, expected %s", \
                 (path), last_seen, (want))

static int token_in_redis(const char *tok)
{
    char d[65];
    ht_sha256_hex(tok, d);
    return ht_redis_hlen(ht_tmpf("auth:token:%s", d)) > 0;
}

/* ---- Building a configuration through the API --------------------------- */

/* A compatible group with its first key; returns the group id, *key its key. */
static int64_t create_group(const char *name, int64_t *key)
{
    json_t *j =
        call("POST", "/admin/providers/custom",
             ht_tmpf("{\"name\":\"%s\",\"base_url\":\"http://10.0.0.5/v1\","
                     "\"api_key\":\"sk-upstream-%s-0001\",\"models\":[\"gpt-4o\",\"llama3\"]}",
                     name, name),
             201);
    int64_t gid = ht_id(json_object_get(j, "group"));
    *key = ht_id(json_object_get(j, "api_key"));
    json_decref(j);
    return gid;
}

static int64_t create_key(int64_t gid, const char *extra)
{
    json_t *j = call("POST", "/admin/api-keys",
                     ht_tmpf("{\"group_id\":%" PRId64 ",\"api_key\":\"sk-upstream-more-%d\"%s%s}",
                             gid, rand(), extra ? "," : "", extra ? extra : ""),
                     201);
    int64_t id = ht_id(j);
    json_decref(j);
    return id;
}

static void bind(const char *ns, const char *model, int64_t gid, const char *extra)
{
    json_decref(
        call("POST", "/admin/bindings",
             ht_tmpf("{\"namespace\":\"%s\",\"public_model\":\"%s\",\"group_id\":%" PRId64 "%s%s}",
                     ns, model, gid, extra ? "," : "", extra ? extra : ""),
             201));
    HT_EVENTUALLY(ht_redis_hexists("config:bindings", ht_tmpf("%s.%s", ns, model)), SYNC_MS,
                  "binding %s.%s never reached Redis", ns, model);
}

/* A master; returns its id and copies its master key. */
static int64_t create_master(const char *body, char *mk, size_t len)
{
    json_t *j = call("POST", "/admin/masters", body, 201);
    snprintf(mk, len, "%s", json_string_value(json_object_get(j, "master_key")));
    int64_t id = ht_id(j);
    json_decref(j);
    HT_EVENTUALLY(ht_redis_hlen(ht_tmpf("auth:master:%" PRId64, id)) > 0, SYNC_MS,
                  "master %" PRId64 " never reached Redis", id);
    return id;
}

/* A child key issued by the master (POST /v1/tokens); returns its id and
 * copies the token, once it is in Redis. */
static int64_t issue(const char *mk, const char *body, char *tok, size_t len)
{
    json_t *j = ht_call(&S, ht_bearer(mk), "POST", "/v1/tokens", body, 201);
    snprintf(tok, len, "%s", json_string_value(json_object_get(j, "token")));
    int64_t id = ht_id(j);
    json_decref(j);
    HT_EVENTUALLY(token_in_redis(tok), SYNC_MS, "key %" PRId64 " never reached Redis", id);
    return id;
}

/* namespaces team-a, team-b (the master's) and team-c (not), group g1 with
 * one key bound as team-a.gpt-4o, master acme (default team-a). */
struct world {
    int64_t g1, k1, master;
    char mk[128];
};

static void build(struct world *w)
{
    ht_create_namespace(&S, "team-a");
    ht_create_namespace(&S, "team-b");
    ht_create_namespace(&S, "team-c");
    w->g1 = create_group("g1", &w->k1);
    bind("team-a", "gpt-4o", w->g1, NULL);
    w->master = create_master("{\"name\":\"acme\",\"namespaces\":[\"team-a\",\"team-b\"],"
                              "\"default_namespace\":\"team-a\"}", w->mk, sizeof w->mk);
}

static char *read_log(void)
{
    FILE *f = fopen(S.log, "r");
    ck_assert_msg(f != NULL, "cannot read %s", S.log);
    char *log = NULL;
    size_t cap = 0;
    if (getdelim(&log, &cap, '\0', f) < 0) {
        free(log);
        log = strdup("");
    }
    fclose(f);
    return log;
}

/* ---- Tests -------------------------------------------------------------- */

START_TEST(accepted_token_routes_to_its_key)
{
    ht_server_start(&S, NULL);
    struct world w;
    build(&w);
    char tok[128];
    int64_t kid = issue(w.mk, "{\"name\":\"ci\"}", tok, sizeof tok);

    json_t *a = explain(by_token(tok, "gpt-4o"));
    expect(a, "token.accepted", "true");
    expect(a, "token.reason", "null");
    expect(a, "token.key_id", ht_tmpf("%" PRId64, kid));
    expect(a, "token.master_id", ht_tmpf("%" PRId64, w.master));
    expect(a, "namespace", "team-a");
    expect(a, "public_model", "gpt-4o");
    expect(a, "error", "null");
    expect(a, "routed", "true");
    ck_assert_int_eq(json_array_size(json_object_get(a, "candidates")), 1);
    expect(a, "candidates.0.group_id", ht_tmpf("%" PRId64, w.g1));
    expect(a, "candidates.0.group", "g1");
    expect(a, "candidates.0.weight", "1");
    expect(a, "candidates.0.error", "null");
    expect(a, "candidates.0.keys.1", "(absent)");
    expect(a, "candidates.0.keys.0.id", ht_tmpf("%" PRId64, w.k1));
    expect(a, "candidates.0.keys.0.weight", "1");
    expect(a, "candidates.0.keys.0.upstream_model", "gpt-4o");
    expect(a, "candidates.0.keys.0.excluded", "null");
    ck_assert_int_eq(json_array_size(json_object_get(a, "warnings")), 0);

    /* by key_id: the same answer, read through the key's current digest */
    json_t *b = explain(by_key(kid, "gpt-4o"));
    ck_assert_msg(json_equal(a, b), "explain by key_id differs from explain by token");
    char *text = json_dumps(a, JSON_COMPACT);
    ck_assert_msg(!strstr(text, "sk-upstream-"), "the upstream credential is in the answer");
    ck_assert_msg(!strstr(text, tok), "the token is in the answer");
    free(text);
    json_decref(a);
    json_decref(b);

    /* a viewer may explain (it changes nothing), yet still may not write */
    json_decref(ht_call(&S, ht_auth(&S, "viewer"), "POST", "/admin/route/explain",
                        by_key(kid, "gpt-4o"), 200));
    json_decref(ht_call(&S, ht_auth(&S, "viewer"), "POST", "/admin/namespaces",
                        "{\"name\":\"nope\"}", 403));
    json_decref(
        ht_call(&S, ht_bearer(w.mk), "POST", "/admin/route/explain", by_key(kid, "x"), 403));
    json_decref(ht_call(&S, NULL, "POST", "/admin/route/explain", by_key(kid, "x"), 401));

    /* a route hash that drifted from the snapshots is reported, not hidden */
    redisContext *rc = ht_redis();
    redisReply *rep = redisCommand(rc, "HDEL route:group:g1 %lld", (long long)w.k1);
    ck_assert(rep && rep->type == REDIS_REPLY_INTEGER && rep->integer == 1);
    freeReplyObject(rep);
    redisFree(rc);
    a = explain(by_token(tok, "gpt-4o"));
    ck_assert_msg(json_array_size(json_object_get(a, "warnings")) == 1,
                  "a key missing from route:group:g1 gives no warning");
    ck_assert_msg(strstr(jpath(a, "warnings.0"), "route:group:g1") != NULL, "warning: %s",
                  jpath(a, "warnings.0"));
    json_decref(a);

    /* explaining changes nothing and audits nothing; the token is never
     * logged nor audited (a later write shows the logger has caught up) */
    ht_create_namespace(&S, "after");
    HT_EVENTUALLY(ht_pg_count("SELECT count(*) FROM audit_records WHERE action = "
                            "'namespace.create' AND resource_id = 'after'") == 1, SYNC_MS,
                 "the audit record of the last write never came");
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM audit_records "
                                "WHERE path = '/admin/route/explain' AND status = 200"), 0);
    const char *p[] = { tok };
    PGconn *c = ht_pg();
    PGresult *r = PQexecParams(c, "SELECT count(*) FROM audit_records a "
                                  "WHERE strpos(a::text, $1) > 0", 1, NULL, p, NULL, NULL, 0);
    ck_assert_str_eq(PQgetvalue(r, 0, 0), "0");
    PQclear(r);
    PQfinish(c);
    char *log = read_log();
    ck_assert_msg(!strstr(log, tok), "the token is in the server log");
    free(log);
    ht_assert_clean_stop(&S);
}
END_TEST

START_TEST(every_exclusion_reason)
{
    ht_server_start(&S, NULL);
    struct world w;
    build(&w);
    char tok[128];
    issue(w.mk, "{\"name\":\"ci\"}", tok, sizeof tok);
    int64_t k2 = create_key(w.g1, "\"status\":\"manual_disabled\"");
    int64_t k3 = create_key(w.g1, "\"ban_until\":\"2099-01-01T00:00:00Z\",\"ban_reason\":\"429\"");
    int64_t k4 = create_key(w.g1, "\"weight\":0");
    int64_t k5 = create_key(w.g1, "\"status\":\"auto_disabled\"");
    int64_t k6 = create_key(w.g1, "\"weight\":7");
    const char *body = by_token(tok, "gpt-4o");
    EXPLAINS(body, "candidates.0.keys.5.id", ht_tmpf("%" PRId64, k6));

    json_t *a = explain(body);
    const int64_t ids[] = { w.k1, k2, k3, k4, k5, k6 };
    const char *why[] = { "null", "key_disabled", "banned", "weight_zero", "key_disabled", "null" };
    for (int i = 0; i < 6; i++) {
        expect(a, ht_tmpf("candidates.0.keys.%d.id", i), ht_tmpf("%" PRId64, ids[i]));
        expect(a, ht_tmpf("candidates.0.keys.%d.excluded", i), why[i]);
        /* an excluded key still shows the model it would be sent */
        expect(a, ht_tmpf("candidates.0.keys.%d.upstream_model", i), "gpt-4o");
    }
    expect(a, "candidates.0.keys.5.weight", "7");
    expect(a, "candidates.0.keys.3.weight", "0");
    expect(a, "routed", "true");
    ck_assert_int_eq(json_array_size(json_object_get(a, "warnings")), 0);
    json_decref(a);

    /* the ban lifted and the key disabled by hand: their reasons follow */
    json_decref(call("PUT", ht_tmpf("/admin/api-keys/%" PRId64, k3), "{\"ban_until\":null}", 200));
    EXPLAINS(body, "candidates.0.keys.2.excluded", "null");
    json_decref(call("PUT", ht_tmpf("/admin/api-keys/%" PRId64, w.k1),
                     "{\"status\":\"manual_disabled\"}", 200));
    EXPLAINS(body, "candidates.0.keys.0.excluded", "key_disabled");

    /* the group disabled: every key is group_disabled, nothing routes */
    json_decref(call("PUT", ht_tmpf("/admin/provider-groups/%" PRId64, w.g1),
                     "{\"status\":\"disabled\"}", 200));
    EXPLAINS(body, "candidates.0.error", "no_provider");
    a = explain(body);
    for (int i = 0; i < 6; i++)
        expect(a, ht_tmpf("candidates.0.keys.%d.excluded", i), "group_disabled");
    expect(a, "routed", "false");
    expect(a, "token.accepted", "true");
    json_decref(a);

    /* a selector that no model of the group matches */
    json_decref(call("PUT", ht_tmpf("/admin/provider-groups/%" PRId64, w.g1),
                     "{\"status\":\"active\"}", 200));
    int64_t g2, g2k;
    g2 = create_group("g2", &g2k);
    bind("team-a", "mystery", g2, "\"selector_value\":\"no-such-model\"");
    a = explain(by_token(tok, "mystery"));
    expect(a, "candidates.0.group", "g2");
    expect(a, "candidates.0.error", "config_error");
    expect(a, "candidates.0.keys.0.id", ht_tmpf("%" PRId64, g2k));
    expect(a, "candidates.0.keys.0.upstream_model", "null");
    expect(a, "candidates.0.keys.0.excluded", "model_not_allowed");
    expect(a, "routed", "false");
    json_decref(a);

    /* a disabled binding: listed, but the name does not route */
    int64_t g3, g3k;
    g3 = create_group("g3", &g3k);
    bind("team-a", "quiet", g3, "\"selector_value\":\"llama3\",\"status\":\"disabled\"");
    a = explain(by_token(tok, "quiet"));
    expect(a, "error", "binding_disabled");
    expect(a, "candidates.0.status", "disabled");
    expect(a, "candidates.0.keys.0.upstream_model", "llama3");
    expect(a, "candidates.0.keys.0.excluded", "null");
    expect(a, "routed", "false");
    json_decref(a);
    ht_assert_clean_stop(&S);
}
END_TEST

START_TEST(refused_tokens_say_why)
{
    ht_server_start(&S, NULL);
    struct world w;
    build(&w);
    char a[128], b[128], c[128], d[128];
    int64_t ka = issue(w.mk, "{\"name\":\"a\"}", a, sizeof a);
    int64_t kb = issue(w.mk, "{\"name\":\"b\"}", b, sizeof b);
    int64_t kc = issue(w.mk, "{\"name\":\"c\"}", c, sizeof c);

    /* revoked: its secret is gone from Redis */
    json_decref(
        ht_call(&S, ht_bearer(w.mk), "DELETE", ht_tmpf("/v1/tokens/%" PRId64, ka), NULL, 204));
    EXPLAINS(by_token(a, "gpt-4o"), "token.reason", "unknown_token");
    json_t *j = explain(by_token(a, "gpt-4o"));
    expect(j, "token.accepted", "false");
    expect(j, "token.key_id", "null");
    expect(j, "namespace", "null");
    expect(j, "routed", "false");
    json_decref(j);
    j = explain(by_key(ka, "gpt-4o"));
    expect(j, "token.accepted", "false");
    expect(j, "token.reason", "key_revoked");
    expect(j, "token.key_id", ht_tmpf("%" PRId64, ka));
    expect(j, "token.master_id", ht_tmpf("%" PRId64, w.master));
    json_decref(j);
    j = explain(by_token("sk-ez-never-issued", "gpt-4o"));
    expect(j, "token.reason", "unknown_token");
    json_decref(j);

    /* suspended key */
    json_decref(
        call("PUT", ht_tmpf("/admin/keys/%" PRId64, kc), "{\"status\":\"suspended\"}", 200));
    EXPLAINS(by_key(kc, "gpt-4o"), "token.reason", "key_not_active");

    /* revoke-all: the key hashes stay, the epoch moves on */
    json_decref(
        call("POST", ht_tmpf("/admin/masters/%" PRId64 "/revoke-keys", w.master), NULL, 200));
    EXPLAINS(by_token(b, "gpt-4o"), "token.reason", "epoch_mismatch");
    j = explain(by_key(kb, "gpt-4o"));
    expect(j, "token.accepted", "false");
    expect(j, "token.reason", "epoch_mismatch");
    /* the route is still explained, it is only the token that is refused */
    expect(j, "namespace", "team-a");
    expect(j, "candidates.0.keys.0.excluded", "null");
    expect(j, "routed", "false");
    json_decref(j);

    /* a key issued after it is accepted; then the master is suspended */
    issue(w.mk, "{\"name\":\"d\"}", d, sizeof d);
    EXPLAINS(by_token(d, "gpt-4o"), "token.accepted", "true");
    json_decref(call("PUT", ht_tmpf("/admin/masters/%" PRId64, w.master),
                     "{\"status\":\"suspended\"}", 200));
    EXPLAINS(by_token(d, "gpt-4o"), "token.reason", "master_not_active");
    json_decref(
        call("PUT", ht_tmpf("/admin/masters/%" PRId64, w.master), "{\"status\":\"active\"}", 200));
    EXPLAINS(by_token(d, "gpt-4o"), "token.accepted", "true");

    /* expiry needs no write: the data plane compares expires_at with its clock */
    char e[128], when[64];
    time_t t = time(NULL) + 2;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    issue(w.mk, ht_tmpf("{\"name\":\"e\",\"expires_at\":\"%s\"}", when), e, sizeof e);
    EXPLAINS(by_token(e, "gpt-4o"), "token.reason", "expired");
    ht_assert_clean_stop(&S);
}
END_TEST

START_TEST(model_limits)
{
    ht_server_start(&S, NULL);
    struct world w;
    build(&w);
    bind("team-a", "llama3", w.g1, NULL);
    char tok[128];
    issue(w.mk, "{\"name\":\"only-4o\",\"model_limits\":[\"gpt-4o\"]}", tok, sizeof tok);
    json_t *j = explain(by_token(tok, "gpt-4o"));
    expect(j, "token.accepted", "true");
    expect(j, "routed", "true");
    json_decref(j);
    /* limits name public models: the namespace prefix does not matter */
    j = explain(by_token(tok, "team-a.gpt-4o"));
    expect(j, "token.accepted", "true");
    expect(j, "public_model", "gpt-4o");
    json_decref(j);
    j = explain(by_token(tok, "llama3"));
    expect(j, "token.accepted", "false");
    expect(j, "token.reason", "model_not_allowed");
    /* the binding itself routes: only the token is refused */
    expect(j, "candidates.0.keys.0.upstream_model", "llama3");
    expect(j, "candidates.0.keys.0.excluded", "null");
    expect(j, "routed", "false");
    json_decref(j);
    ht_assert_clean_stop(&S);
}
END_TEST

START_TEST(namespace_resolution)
{
    ht_server_start(&S, NULL);
    struct world w;
    build(&w);
    int64_t g2k, g2 = create_group("g2", &g2k);
    bind("team-b", "gpt-4o", g2, NULL);
    bind("team-c", "gpt-4o", g2, NULL);
    char tok[128];
    int64_t kid = issue(w.mk, "{\"name\":\"ci\"}", tok, sizeof tok);

    json_t *j = explain(by_key(kid, "gpt-4o")); /* the default namespace */
    expect(j, "namespace", "team-a");
    expect(j, "public_model", "gpt-4o");
    expect(j, "candidates.0.group", "g1");
    json_decref(j);
    j = explain(by_key(kid, "team-b.gpt-4o")); /* one of the token's namespaces */
    expect(j, "namespace", "team-b");
    expect(j, "public_model", "gpt-4o");
    expect(j, "candidates.0.group", "g2");
    expect(j, "candidates.0.keys.0.id", ht_tmpf("%" PRId64, g2k));
    expect(j, "error", "null");
    expect(j, "routed", "true");
    json_decref(j);
    j = explain(by_key(kid, "team-c.gpt-4o")); /* exists, but not the token's */
    expect(j, "namespace", "team-c");
    expect(j, "error", "namespace_not_allowed");
    expect(j, "routed", "false");
    json_decref(j);
    j = explain(by_key(kid, "vendor.gpt-4o")); /* not a namespace: all of it is the model */
    expect(j, "namespace", "team-a");
    expect(j, "public_model", "vendor.gpt-4o");
    expect(j, "error", "no_binding");
    ck_assert_int_eq(json_array_size(json_object_get(j, "candidates")), 0);
    expect(j, "token.accepted", "true");
    expect(j, "routed", "false");
    json_decref(j);

    /* a suspended namespace */
    json_decref(call("PUT", "/admin/namespaces/team-b", "{\"status\":\"suspended\"}", 200));
    EXPLAINS(by_key(kid, "team-b.gpt-4o"), "error", "namespace_suspended");

    /* a token without any namespace */
    char mk2[128], t2[128];
    create_master("{\"name\":\"bare\"}", mk2, sizeof mk2);
    issue(mk2, "{\"name\":\"x\"}", t2, sizeof t2);
    j = explain(by_token(t2, "gpt-4o"));
    expect(j, "token.accepted", "true");
    expect(j, "namespace", "null");
    expect(j, "error", "no_namespace");
    expect(j, "routed", "false");
    json_decref(j);
    ht_assert_clean_stop(&S);
}
END_TEST

static void refused(const char *headers, const char *body, int status, const char *type,
                    const char *param)
{
    struct ht_resp r;
    int st = ht_http(S.port, "POST", "/admin/route/explain", headers, body, body ? strlen(body) : 0,
                    &r);
    json_t *j = ht_resp_json(&r);
    ck_assert_msg(st == status, "%s: HTTP %d, expected %d: %.300s", body ? body : "(none)", st,
                  status, r.body ? r.body : "");
    expect(j, "error.type", type);
    if (param)
        expect(j, "error.param", param);
    json_decref(j);
    ht_resp_free(&r);
}

START_TEST(bad_input)
{
    ht_server_start(&S, NULL);
    struct world w;
    build(&w);
    char tok[128];
    int64_t kid = issue(w.mk, "{\"name\":\"ci\"}", tok, sizeof tok);
    const char *A = ht_auth(&S, "admin");
    const char *E = "invalid_request_error";
    refused(A, "{\"key_id\":1,", 400, E, NULL);
    refused(A, "[1]", 400, E, NULL);
    refused(A, NULL, 400, E, "null");
    refused(A, ht_tmpf("{\"key_id\":%" PRId64 ",\"model\":\"gpt-4o\",\"client_ip\":\"::1\"}", kid),
            400, E, "client_ip");
    refused(A, ht_tmpf("{\"key_id\":%" PRId64 ",\"token\":\"%s\",\"model\":\"gpt-4o\"}", kid, tok),
            400, E, "token");
    refused(A, "{\"model\":\"gpt-4o\"}", 400, E, "key_id");
    refused(A, "{\"key_id\":\"1\",\"model\":\"gpt-4o\"}", 400, E, "key_id");
    refused(A, "{\"key_id\":0,\"model\":\"gpt-4o\"}", 400, E, "key_id");
    refused(A, "{\"key_id\":1.5,\"model\":\"gpt-4o\"}", 400, E, "key_id");
    refused(A, "{\"key_id\":null,\"model\":\"gpt-4o\"}", 400, E, "key_id");
    refused(A, "{\"token\":7,\"model\":\"gpt-4o\"}", 400, E, "token");
    refused(A, "{\"token\":\"\",\"model\":\"gpt-4o\"}", 400, E, "token");
    refused(A, ht_tmpf("{\"key_id\":%" PRId64 "}", kid), 400, E, "model");
    refused(A, ht_tmpf("{\"key_id\":%" PRId64 ",\"model\":5}", kid), 400, E, "model");
    refused(A, ht_tmpf("{\"key_id\":%" PRId64 ",\"model\":\"\"}", kid), 400, E, "model");
    refused(A, "{\"key_id\":999999,\"model\":\"gpt-4o\"}", 404, "not_found_error", NULL);

    struct ht_resp r;
    ck_assert_int_eq(ht_http(S.port, "POST", "/admin/route/explain",
                             ht_tmpf("%sContent-Type: text/plain\r\n", A), "{}", 2, &r),
                     415);
    ht_resp_free(&r);
    ck_assert_int_eq(ht_get(S.port, "/admin/route/explain", A, &r), 405);
    ht_resp_free(&r);
    /* an error never echoes the token */
    refused(A, ht_tmpf("{\"token\":\"%s\",\"model\":\"gpt-4o\",\"x\":1}", tok), 400, E, "x");
    const char *no_model = ht_tmpf("{\"token\":\"%s\"}", tok);
    ck_assert_int_eq(ht_http(S.port, "POST", "/admin/route/explain", A, no_model,
                            strlen(no_model), &r), 400);
    ck_assert_msg(!strstr(r.body, tok), "an error answer echoes the token");
    ht_resp_free(&r);
    ht_assert_clean_stop(&S);
}
END_TEST

START_TEST(redis_away_is_503)
{
    ht_server_start(&S, NULL);
    struct world w;
    build(&w);
    char tok[128];
    int64_t kid = issue(w.mk, "{\"name\":\"ci\"}", tok, sizeof tok);
    ht_redis_stop();
    refused(ht_auth(&S, "admin"), by_key(kid, "gpt-4o"), 503, "unavailable_error", "null");
    refused(ht_auth(&S, "admin"), by_token(tok, "gpt-4o"), 503, "unavailable_error", "null");
    ht_redis_start();
    /* served again at once, from what Redis holds now: it came back empty,
     * and explain follows the syncer's full resync that refills it */
    json_t *j = explain(by_key(kid, "gpt-4o"));
    expect(j, "token.key_id", ht_tmpf("%" PRId64, kid));
    json_decref(j);
    EXPLAINS(by_key(kid, "gpt-4o"), "routed", "true");
    ht_server_stop(&S);
}
END_TEST

/* ---- The pure rules, for states the API cannot produce ------------------ */

static json_t *hash(const char *json)
{
    json_t *j = json_loads(json, 0, NULL);
    ck_assert_msg(j != NULL, "bad fixture %s", json);
    return j;
}

START_TEST(rules_for_odd_states)
{
    json_t *nss = hash("{\"team-a\":\"active\",\"team-b\":\"active\"}");
    struct ez_explain_ns ns;
    /* no default namespace: the token's first one */
    json_t *t = hash("{\"namespaces\":\"team-b,team-a\",\"default_namespace\":\"\"}");
    ck_assert_int_eq(ez_explain_namespace(t, nss, "gpt-4o", &ns), 0);
    ck_assert_str_eq(ns.ns, "team-b");
    ck_assert_str_eq(ns.public_model, "gpt-4o");
    ck_assert_ptr_null(ns.error);
    ez_explain_ns_clear(&ns);
    json_decref(t);
    /* a default outside the token's list, and a namespace Redis does not know */
    t = hash("{\"namespaces\":\"team-a\",\"default_namespace\":\"team-b\"}");
    ck_assert_int_eq(ez_explain_namespace(t, nss, "gpt-4o", &ns), 0);
    ck_assert_str_eq(ns.ns, "team-b");
    ck_assert_str_eq(ns.error, "namespace_not_allowed");
    ez_explain_ns_clear(&ns);
    json_decref(t);
    t = hash("{\"namespaces\":\"team-z\",\"default_namespace\":\"team-z\"}");
    ck_assert_int_eq(ez_explain_namespace(t, nss, "team-z.m", &ns), 0);
    ck_assert_str_eq(ns.ns, "team-z");
    ck_assert_str_eq(ns.public_model, "m");
    ck_assert_str_eq(ns.error, "unknown_namespace");
    ez_explain_ns_clear(&ns);
    json_decref(t);

    /* a token whose master hash is gone; limits matched on the whole model */
    struct ez_explain_state st = { .model = "team-a.m", .now = 1000 };
    st.token = hash("{\"key_id\":\"5\",\"master_id\":\"9\",\"issued_at_epoch\":\"1\","
                    "\"status\":\"active\",\"namespaces\":\"team-a\",\"default_namespace\":"
                    "\"team-a\",\"model_limits\":\"x,team-a.m\",\"expires_at\":\"1001\"}");
    st.namespaces = json_incref(nss);
    ck_assert_int_eq(ez_explain_namespace(st.token, st.namespaces, st.model, &ns), 0);
    json_t *a = ez_explain_answer(&st, &ns);
    expect(a, "token.reason", "unknown_master");
    expect(a, "token.key_id", "5");
    expect(a, "token.master_id", "9");
    expect(a, "error", "no_binding");
    json_decref(a);
    st.master = hash("{\"epoch\":\"1\",\"status\":\"active\"}");
    a = ez_explain_answer(&st, &ns);
    expect(a, "token.accepted", "true");
    json_decref(a);
    st.now = 1001; /* expires_at is the first second it is refused */
    a = ez_explain_answer(&st, &ns);
    expect(a, "token.reason", "expired");
    json_decref(a);
    ez_explain_ns_clear(&ns);
    ez_explain_state_clear(&st);
    json_decref(nss);
}
END_TEST

static Suite *explain_suite(void)
{
    Suite *s = suite_create("explain");
    TCase *rules = tcase_create("rules");
    tcase_add_test(rules, rules_for_odd_states);
    suite_add_tcase(s, rules);
    TCase *tc = ht_tcase("explain");
    tcase_add_test(tc, accepted_token_routes_to_its_key);
    tcase_add_test(tc, every_exclusion_reason);
    tcase_add_test(tc, refused_tokens_say_why);
    tcase_add_test(tc, model_limits);
    tcase_add_test(tc, namespace_resolution);
    tcase_add_test(tc, bad_input);
    tcase_add_test(tc, redis_away_is_503);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ht_run_suite(explain_suite());
}
