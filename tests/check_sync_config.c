/* Integration tests of the Redis projection of the catalog (docs/redis.md):
 * changes made over the admin API must show in Redis with the exact
 * documented shapes (provider snapshots, route hashes, binding
 * snapshots, meta:models and its checksum, features, namespaces), routing
 * must follow disable/ban/delete at once, keys and the refresh channel carry
 * redis_key_prefix, and re-applying a job changes nothing. */
#include "harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "common/config.h"
#include "common/db.h"
#include "common/store_projection.h"

#define WAIT_MS 10000
#define SECRETS_KEY_CONF \
    "secrets_key = 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"

/* ---- Helpers ------------------------------------------------------------ */

/* One admin request; asserts the status, returns the body (NULL if empty). */
static json_t *call(struct ht_server *s, const char *method, const char *path, const char *body,
                    int expect)
{
    return ht_call(s, ht_auth(s, "admin"), method, path, body, expect);
}

static void put(struct ht_server *s, const char *path, const char *body)
{
    json_decref(call(s, "PUT", path, body, 200));
}

/* 1 when HGET key field equals want (want NULL: the field is absent). */
static int hget_is(const char *key, const char *field, const char *want)
{
    char *v = ht_redis_hget(key, field);
    int ok = want ? v && strcmp(v, want) == 0 : v == NULL;
    free(v);
    return ok;
}

#define WAIT_HGET(key, field, want)                                                       \
    do {                                                                                  \
        HT_EVENTUALLY(hget_is((key), (field), (want)), WAIT_MS, "%s %s: expected %s, got %s", \
                     (key), (field), (want) ? (want) : "(absent)", show((key), (field)));   \
    } while (0)

/* The current value for a failure message (static buffer). */
static const char *show(const char *key, const char *field)
{
    static char buf[2048];
    char *v = ht_redis_hget(key, field);
    snprintf(buf, sizeof buf, "%s", v ? v : "(absent)");
    free(v);
    return buf;
}

static long long hlen(const char *key) { return ht_redis_hlen(key); }

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The whole hash as "field=value;" pairs sorted by field ("" when absent). */
static char *hash_text(const char *key)
{
    redisContext *c = ht_redis();
    redisReply *r = redisCommand(c, "HGETALL %s", key);
    ck_assert(r && r->type == REDIS_REPLY_ARRAY);
    size_t n = r->elements / 2;
    char **pairs = calloc(n + 1, sizeof *pairs);
    for (size_t i = 0; i < n; i++)
        pairs[i] = ht_strf("%s\x01%s", r->element[2 * i]->str, r->element[2 * i + 1]->str);
    qsort(pairs, n, sizeof *pairs, cmp_str);
    char *out = strdup("");
    for (size_t i = 0; i < n; i++) {
        *strchr(pairs[i], '\x01') = '=';
        char *next = ht_strf("%s%s;", out, pairs[i]);
        free(out);
        free(pairs[i]);
        out = next;
    }
    free(pairs);
    freeReplyObject(r);
    redisFree(c);
    return out;
}

static int hash_is(const char *key, const char *want)
{
    char *t = hash_text(key);
    int ok = strcmp(t, want) == 0;
    free(t);
    return ok;
}

static long long sync_version(const char *prefix)
{
    char *key = ht_strf("%smeta:sync", prefix);
    char *v = ht_redis_hget(key, "version");
    long long n = v ? atoll(v) : 0;
    free(v);
    free(key);
    return n;
}

/* Entries "key\x01field\x01value", for comparing whole projections. */
struct entries {
    char **v;
    size_t n, cap;
};

static void entries_add(struct entries *e, const char *key, const char *field, const char *value)
{
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 64;
        e->v = realloc(e->v, e->cap * sizeof *e->v);
        ck_assert_ptr_nonnull(e->v);
    }
    e->v[e->n++] = ht_strf("%s\x01%s\x01%s", key, field, value);
}

/* Sorted, one "key field=value" line each; frees e. */
static char *entries_text(struct entries *e)
{
    qsort(e->v, e->n, sizeof *e->v, cmp_str);
    size_t len = 1;
    for (size_t i = 0; i < e->n; i++)
        len += strlen(e->v[i]) + 1;
    char *out = calloc(1, len), *o = out;
    for (size_t i = 0; i < e->n; i++) {
        char *k = e->v[i], *f = strchr(k, '\x01'), *v = strchr(f + 1, '\x01');
        *f = ' ';
        *v = '=';
        o += sprintf(o, "%s\n", k);
        free(e->v[i]);
    }
    free(e->v);
    memset(e, 0, sizeof *e);
    return out;
}

/* Every key in Redis but meta:sync. */
static char *redis_dump(void)
{
    struct entries e = { 0 };
    redisContext *c = ht_redis();
    redisReply *r = redisCommand(c, "KEYS *");
    ck_assert(r && r->type == REDIS_REPLY_ARRAY);
    for (size_t i = 0; i < r->elements; i++) {
        const char *key = r->element[i]->str;
        if (strstr(key, "meta:sync"))
            continue;
        redisReply *h = redisCommand(c, "HGETALL %s", key);
        ck_assert_msg(h && h->type == REDIS_REPLY_ARRAY, "%s is not a hash", key);
        for (size_t j = 0; j + 1 < h->elements; j += 2)
            entries_add(&e, key, h->element[j]->str, h->element[j + 1]->str);
        freeReplyObject(h);
    }
    freeReplyObject(r);
    redisFree(c);
    return entries_text(&e);
}

static int stream_sink(void *arg, const char *key, const char *field, const char *value)
{
    if (field)
        entries_add(arg, key, field, value);
    return 0;
}

/* The whole projection of the test database, as ezapi computes it for a
 * full resync or a verify (common/store_projection.c), in small batches. */
static char *projection_dump(void)
{
    static const struct ez_config clear_keys; /* no secrets_key: keys stored in clear */
    struct ez_db *db = ez_db_new(ht_pg_dsn(), 5000, "check_sync_config");
    struct entries e = { 0 };
    int rc = ez_store_stream(db, &clear_keys, (int64_t)time(NULL), 2, stream_sink, &e);
    ez_db_free(db);
    ck_assert_int_eq(rc, EZ_DB_OK);
    return entries_text(&e);
}

static int dumps_equal(void)
{
    char *a = redis_dump(), *b = projection_dump();
    int eq = strcmp(a, b) == 0;
    free(a);
    free(b);
    return eq;
}

/* Prints both dumps for a failing test (Check truncates long messages). */
static const char *dumps_both(void)
{
    char *a = redis_dump(), *b = projection_dump();
    fprintf(stderr, "--- redis\n%s--- projection\n%s---\n", a, b);
    free(a);
    free(b);
    return " (both printed on stderr)";
}

static void rfc3339(time_t t, char out[32])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void stop_clean(struct ht_server *s) { ht_assert_clean_stop(s); }

/* A namespace, an openai group with the given models, one key. */
static long long setup_group(struct ht_server *s, const char *name, const char *models_json,
                             long long *key_id)
{
    char *body = ht_strf("{\"name\":\"%s\",\"type\":\"openai\",\"models\":%s}", name, models_json);
    long long gid = ht_create(s, "/admin/provider-groups", body);
    free(body);
    if (key_id) {
        body = ht_strf("{\"group_id\":%lld,\"api_key\":\"sk-%s-0001\"}", gid, name);
        *key_id = ht_create(s, "/admin/api-keys", body);
        free(body);
    }
    return gid;
}

/* ---- Namespaces ------------------------------------------------------------ */

START_TEST(namespaces_follow_the_api)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    long long v0 = sync_version("");
    json_decref(call(&s, "POST", "/admin/namespaces", "{\"name\":\"team-a\"}", 201));
    WAIT_HGET("config:namespaces", "team-a", "{\"name\":\"team-a\",\"status\":\"active\"}");
    ck_assert_int_gt(sync_version(""), v0);

    put(&s, "/admin/namespaces/team-a", "{\"status\":\"suspended\"}");
    WAIT_HGET("config:namespaces", "team-a", "{\"name\":\"team-a\",\"status\":\"suspended\"}");

    json_decref(call(&s, "DELETE", "/admin/namespaces/team-a", NULL, 204));
    WAIT_HGET("config:namespaces", "team-a", NULL);
    stop_clean(&s);
}
END_TEST

/* ---- Provider snapshots and route hashes -------------------------------------- */

START_TEST(provider_snapshot_shape)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    long long gid =
        ht_create(&s, "/admin/provider-groups",
                  "{\"name\":\"pg1\",\"type\":\"vertex-express\","
                  "\"google_project\":\"proj-1\",\"models\":[\"gemini-3-pro-preview\"]}");
    char *body = ht_strf("{\"group_id\":%lld,\"api_key\":\"sk-123\"}", gid);
    long long kid = ht_create(&s, "/admin/api-keys", body);
    free(body);
    char field[24];
    snprintf(field, sizeof field, "%lld", kid);
    char *want = ht_strf("{\"id\":%lld,\"name\":\"pg1#%lld\",\"type\":\"vertex-express\","
                         "\"base_url\":\"\",\"api_key\":\"sk-123\",\"google_project\":\"proj-1\","
                         "\"google_location\":\"global\",\"group_id\":%lld,\"group\":\"pg1\","
                         "\"models\":[\"gemini-3-pro-preview\"],\"status\":\"active\","
                         "\"auto_ban\":true,\"weight\":1,\"ban_until\":0,\"ban_reason\":\"\"}",
                         kid, kid, gid);
    WAIT_HGET("config:providers", field, want);
    WAIT_HGET("route:group:pg1", field, "1");
    free(want);
    stop_clean(&s);
}
END_TEST

START_TEST(routing_follows_disable_ban_weight_delete)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    long long k1, k2;
    long long gid = setup_group(&s, "g1", "[\"gpt-4o\"]", &k1);
    char *body = ht_strf("{\"group_id\":%lld,\"api_key\":\"sk-second-0002\",\"weight\":5}", gid);
    k2 = ht_create(&s, "/admin/api-keys", body);
    free(body);
    char *route_both = ht_strf("%lld=1;%lld=5;", k1, k2);
    HT_EVENTUALLY(hash_is("route:group:g1", route_both), WAIT_MS, "route:group:g1 is %s",
                 hash_text("route:group:g1"));

    char p1[64], p2[64], f1[24], f2[24];
    snprintf(p1, sizeof p1, "/admin/api-keys/%lld", k1);
    snprintf(p2, sizeof p2, "/admin/api-keys/%lld", k2);
    snprintf(f1, sizeof f1, "%lld", k1);
    snprintf(f2, sizeof f2, "%lld", k2);

    /* A disabled key leaves the route hash, its snapshot says why. */
    put(&s, p1, "{\"status\":\"manual_disabled\"}");
    char *only2 = ht_strf("%lld=5;", k2);
    HT_EVENTUALLY(hash_is("route:group:g1", only2), WAIT_MS, "after disable: %s",
                 hash_text("route:group:g1"));
    HT_EVENTUALLY(strstr(show("config:providers", f1), "\"status\":\"manual_disabled\""), WAIT_MS,
                 "snapshot: %s", show("config:providers", f1));

    /* Banned until the future: out; the snapshot carries the unix time. */
    char until[32];
    time_t t = time(NULL) + 3600;
    rfc3339(t, until);
    body = ht_strf("{\"ban_until\":\"%s\",\"ban_reason\":\"429 storm\"}", until);
    put(&s, p2, body);
    free(body);
    HT_EVENTUALLY(hlen("route:group:g1") == 0, WAIT_MS, "banned key still routed: %s",
                 hash_text("route:group:g1"));
    char *ban = ht_strf("\"ban_until\":%lld,\"ban_reason\":\"429 storm\"}", (long long)t);
    HT_EVENTUALLY(strstr(show("config:providers", f2), ban), WAIT_MS, "snapshot: %s",
                 show("config:providers", f2));
    free(ban);

    /* A ban in the past does not keep the key out. */
    rfc3339(time(NULL) - 60, until);
    body = ht_strf("{\"ban_until\":\"%s\"}", until);
    put(&s, p2, body);
    free(body);
    HT_EVENTUALLY(hash_is("route:group:g1", only2), WAIT_MS, "after the ban passed: %s",
                 hash_text("route:group:g1"));

    /* Weight 0: never chosen. */
    put(&s, p2, "{\"weight\":0}");
    HT_EVENTUALLY(hlen("route:group:g1") == 0, WAIT_MS, "weight 0 still routed");

    /* Group disabled: no key routes, every snapshot says disabled. */
    put(&s, p1, "{\"status\":\"active\"}");
    put(&s, p2, "{\"weight\":2}");
    char *both2 = ht_strf("%lld=1;%lld=2;", k1, k2);
    HT_EVENTUALLY(hash_is("route:group:g1", both2), WAIT_MS, "re-enabled: %s",
                 hash_text("route:group:g1"));
    char gpath[64];
    snprintf(gpath, sizeof gpath, "/admin/provider-groups/%lld", gid);
    put(&s, gpath, "{\"status\":\"disabled\"}");
    HT_EVENTUALLY(hlen("route:group:g1") == 0, WAIT_MS, "disabled group still routed");
    HT_EVENTUALLY(strstr(show("config:providers", f1), "\"status\":\"disabled\""), WAIT_MS,
                 "snapshot: %s", show("config:providers", f1));
    put(&s, gpath, "{\"status\":\"active\"}");
    HT_EVENTUALLY(hash_is("route:group:g1", both2), WAIT_MS, "group re-enabled: %s",
                 hash_text("route:group:g1"));

    /* A deleted key leaves both hashes. */
    json_decref(call(&s, "DELETE", p1, NULL, 204));
    char *only2w = ht_strf("%lld=2;", k2);
    HT_EVENTUALLY(hash_is("route:group:g1", only2w), WAIT_MS, "after delete: %s",
                 hash_text("route:group:g1"));
    WAIT_HGET("config:providers", f1, NULL);
    ck_assert(!hget_is("config:providers", f2, NULL));
    free(route_both);
    free(only2);
    free(both2);
    free(only2w);
    stop_clean(&s);
}
END_TEST

/* ---- Bindings ---------------------------------------------------------------- */

START_TEST(binding_snapshot_shape_and_errors)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    json_decref(call(&s, "POST", "/admin/namespaces", "{\"name\":\"team-a\"}", 201));
    long long kid;
    long long g1 = setup_group(&s, "g1", "[\"gpt-4o\",\"gpt-4o-mini\"]", &kid);
    long long g2 = setup_group(&s, "g2", "[\"gpt-4o\"]", NULL); /* no key */
    char *body = ht_strf("{\"namespace\":\"team-a\",\"public_model\":\"gpt-4o\",\"group_id\":%lld,"
                         "\"weight\":3}",
                         g1);
    long long b1 = ht_create(&s, "/admin/bindings", body);
    free(body);

    /* The snapshot, byte for byte but for updated_at. */
    HT_EVENTUALLY(!hget_is("config:bindings", "team-a.gpt-4o", NULL), WAIT_MS, "no snapshot");
    json_t *snap = json_loads(show("config:bindings", "team-a.gpt-4o"), 0, NULL);
    ck_assert_ptr_nonnull(snap);
    long long updated = json_integer_value(json_object_get(snap, "updated_at"));
    ck_assert_int_gt(updated, time(NULL) - 3600);
    ck_assert_int_le(updated, time(NULL) + 5);
    json_decref(snap);
    char *want =
        ht_strf("{\"namespace\":\"team-a\",\"public_model\":\"gpt-4o\",\"status\":\"active\","
                "\"updated_at\":%lld,\"candidates\":[{\"group_id\":%lld,"
                "\"route_group\":\"g1\","
                "\"weight\":3,\"selector_type\":\"exact\",\"selector_value\":\"gpt-4o\","
                "\"status\":\"active\",\"upstreams\":{\"%lld\":\"gpt-4o\"}}]}",
                updated, g1, kid);
    ck_assert_str_eq(show("config:bindings", "team-a.gpt-4o"), want);
    free(want);

    /* A second candidate with no key: no_provider, and the first stays. */
    body = ht_strf("{\"namespace\":\"team-a\",\"public_model\":\"gpt-4o\",\"group_id\":%lld}", g2);
    long long b2 = ht_create(&s, "/admin/bindings", body);
    free(body);
    HT_EVENTUALLY(strstr(show("config:bindings", "team-a.gpt-4o"),
                        "\"status\":\"active\",\"error\":\"no_provider\",\"upstreams\":{}}"),
                 WAIT_MS, "snapshot: %s", show("config:bindings", "team-a.gpt-4o"));

    /* A selector matching two models: config_error, still written. */
    body = ht_strf("{\"namespace\":\"team-a\",\"public_model\":\"mini\",\"group_id\":%lld,"
                   "\"selector_type\":\"regex\",\"selector_value\":\"gpt-4o\"}",
                   g1);
    long long b3 = ht_create(&s, "/admin/bindings", body);
    free(body);
    HT_EVENTUALLY(strstr(show("config:bindings", "team-a.mini"),
                        "\"error\":\"config_error\",\"upstreams\":{}"),
                 WAIT_MS, "snapshot: %s", show("config:bindings", "team-a.mini"));
    char path[64];
    snprintf(path, sizeof path, "/admin/bindings/%lld", b3);
    put(&s, path, "{\"selector_value\":\"mini$\"}");
    char *up = ht_strf("\"upstreams\":{\"%lld\":\"gpt-4o-mini\"}", kid);
    HT_EVENTUALLY(strstr(show("config:bindings", "team-a.mini"), up), WAIT_MS, "snapshot: %s",
                 show("config:bindings", "team-a.mini"));
    free(up);

    /* The key disabled: the candidate loses its upstream at once. */
    snprintf(path, sizeof path, "/admin/api-keys/%lld", kid);
    put(&s, path, "{\"status\":\"auto_disabled\"}");
    HT_EVENTUALLY(strstr(show("config:bindings", "team-a.mini"),
                        "\"error\":\"no_provider\",\"upstreams\":{}"),
                 WAIT_MS, "snapshot: %s", show("config:bindings", "team-a.mini"));

    /* Every row disabled: written as disabled; every row gone: removed. */
    snprintf(path, sizeof path, "/admin/bindings/%lld", b1);
    put(&s, path, "{\"status\":\"disabled\"}");
    snprintf(path, sizeof path, "/admin/bindings/%lld", b2);
    put(&s, path, "{\"status\":\"disabled\"}");
    HT_EVENTUALLY(strstr(show("config:bindings", "team-a.gpt-4o"),
                        "\"public_model\":\"gpt-4o\",\"status\":\"disabled\""),
                 WAIT_MS, "snapshot: %s", show("config:bindings", "team-a.gpt-4o"));
    json_decref(call(&s, "DELETE", path, NULL, 204));
    snprintf(path, sizeof path, "/admin/bindings/%lld", b1);
    json_decref(call(&s, "DELETE", path, NULL, 204));
    WAIT_HGET("config:bindings", "team-a.gpt-4o", NULL);
    ck_assert(!hget_is("config:bindings", "team-a.mini", NULL));
    stop_clean(&s);
}
END_TEST

START_TEST(group_rename_and_cascade_delete)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    json_decref(call(&s, "POST", "/admin/namespaces", "{\"name\":\"ns1\"}", 201));
    json_decref(call(&s, "POST", "/admin/models", "{\"name\":\"gpt-4o\"}", 201));
    long long kid;
    long long gid = setup_group(&s, "old-name", "[\"gpt-4o\"]", &kid);
    char *body =
        ht_strf("{\"namespace\":\"ns1\",\"public_model\":\"gpt-4o\",\"group_id\":%lld}", gid);
    json_decref(call(&s, "POST", "/admin/bindings", body, 201));
    free(body);
    char f[24];
    snprintf(f, sizeof f, "%lld", kid);
    WAIT_HGET("route:group:old-name", f, "1");
    WAIT_HGET("meta:models", "ns1.gpt-4o", "{\"name\":\"gpt-4o\",\"kind\":\"chat\"}");

    char path[64];
    snprintf(path, sizeof path, "/admin/provider-groups/%lld", gid);
    put(&s, path, "{\"name\":\"new-name\"}");
    WAIT_HGET("route:group:new-name", f, "1");
    HT_EVENTUALLY(hlen("route:group:old-name") == 0, WAIT_MS, "old route hash left behind");
    char *names = ht_strf("\"name\":\"new-name#%lld\"", kid);
    HT_EVENTUALLY(strstr(show("config:providers", f), names), WAIT_MS, "snapshot: %s",
                 show("config:providers", f));
    free(names);
    HT_EVENTUALLY(strstr(show("config:bindings", "ns1.gpt-4o"), "\"route_group\":\"new-name\""),
                 WAIT_MS, "snapshot: %s", show("config:bindings", "ns1.gpt-4o"));

    /* Deleted with its keys and bindings: everything it produced goes. */
    char *del = ht_strf("%s?cascade=true", path);
    json_decref(call(&s, "DELETE", del, NULL, 204));
    free(del);
    WAIT_HGET("config:providers", f, NULL);
    WAIT_HGET("config:bindings", "ns1.gpt-4o", NULL);
    WAIT_HGET("meta:models", "ns1.gpt-4o", NULL);
    ck_assert_int_eq(hlen("route:group:new-name"), 0);
    stop_clean(&s);
}
END_TEST

/* ---- Models and features -------------------------------------------------------- */

/* The documented checksum, recomputed here from what Redis holds. */
static void models_checksum(char hex[65])
{
    redisContext *c = ht_redis();
    redisReply *r = redisCommand(c, "HGETALL meta:models");
    ck_assert(r && r->type == REDIS_REPLY_ARRAY);
    size_t n = r->elements / 2;
    const char **fields = calloc(n + 1, sizeof *fields);
    for (size_t i = 0; i < n; i++)
        fields[i] = r->element[2 * i]->str;
    qsort(fields, n, sizeof *fields, cmp_str);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    for (size_t i = 0; i < n; i++) {
        redisReply *v = redisCommand(c, "HGET meta:models %s", fields[i]);
        EVP_DigestUpdate(md, fields[i], strlen(fields[i]));
        EVP_DigestUpdate(md, "\n", 1);
        EVP_DigestUpdate(md, v->str, strlen(v->str));
        EVP_DigestUpdate(md, "\n", 1);
        freeReplyObject(v);
    }
    unsigned char d[32];
    unsigned int len;
    EVP_DigestFinal_ex(md, d, &len);
    EVP_MD_CTX_free(md);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    free(fields);
    freeReplyObject(r);
    redisFree(c);
}

static int meta_matches(void)
{
    char hex[65];
    models_checksum(hex);
    return hget_is("meta:models_meta", "checksum", hex) &&
           hget_is("meta:models_meta", "version", hex);
}

START_TEST(models_meta_and_checksum)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    json_decref(call(&s, "POST", "/admin/namespaces", "{\"name\":\"ns1\"}", 201));
    json_decref(call(&s, "POST", "/admin/namespaces", "{\"name\":\"ns2\"}", 201));
    long long gid = setup_group(&s, "g1", "[\"gpt-4o\",\"o3\"]", NULL);
    const char *const pairs[][2] = { { "ns1", "gpt-4o" }, { "ns2", "gpt-4o" }, { "ns1", "o3" } };
    for (int i = 0; i < 3; i++) {
        char *body = ht_strf("{\"namespace\":\"%s\",\"public_model\":\"%s\",\"group_id\":%lld}",
                             pairs[i][0], pairs[i][1], gid);
        json_decref(call(&s, "POST", "/admin/bindings", body, 201));
        free(body);
    }
    long long mid = ht_create(&s, "/admin/models",
                              "{\"name\":\"gpt-4o\",\"context_window\":128000,"
                              "\"supports_vision\":true,\"supports_fim\":false}");
    const char *caps = "{\"name\":\"gpt-4o\",\"kind\":\"chat\",\"context_window\":128000,"
                       "\"supports_vision\":true,\"supports_fim\":false}";
    WAIT_HGET("meta:models", "ns1.gpt-4o", caps);
    WAIT_HGET("meta:models", "ns2.gpt-4o", caps);
    ck_assert(hget_is("meta:models", "ns1.o3", NULL)); /* not in the registry */
    HT_EVENTUALLY(meta_matches(), WAIT_MS, "checksum %s", show("meta:models_meta", "checksum"));
    ck_assert(hget_is("meta:models_meta", "source", "ezapi"));
    ck_assert(hget_is("meta:models_meta", "upstream_url", ""));
    ck_assert(hget_is("meta:models_meta", "upstream_ref", ""));
    long long updated = atoll(show("meta:models_meta", "updated_at"));
    ck_assert_int_gt(updated, time(NULL) - 3600);

    /* A second registry entry changes the checksum. */
    char *before = strdup(show("meta:models_meta", "checksum"));
    ht_create(&s, "/admin/models", "{\"name\":\"o3\",\"kind\":\"chat\",\"cost_per_token\":0.5}");
    WAIT_HGET("meta:models", "ns1.o3",
              "{\"name\":\"o3\",\"kind\":\"chat\",\"cost_per_token\":0.5}");
    HT_EVENTUALLY(meta_matches(), WAIT_MS, "checksum %s", show("meta:models_meta", "checksum"));
    ck_assert_str_ne(before, show("meta:models_meta", "checksum"));
    free(before);

    /* Renamed away from the public model: its entries go. */
    char path[64];
    snprintf(path, sizeof path, "/admin/models/%lld", mid);
    put(&s, path, "{\"name\":\"gpt-4o-2024\"}");
    WAIT_HGET("meta:models", "ns1.gpt-4o", NULL);
    WAIT_HGET("meta:models", "ns2.gpt-4o", NULL);
    HT_EVENTUALLY(meta_matches(), WAIT_MS, "checksum %s", show("meta:models_meta", "checksum"));
    ck_assert_int_eq(hlen("meta:models"), 1);
    stop_clean(&s);
}
END_TEST

START_TEST(features_merge_and_delete)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    put(&s, "/admin/features", "{\"dp_strict\":\"on\",\"retry_budget\":\"3\"}");
    WAIT_HGET("meta:features", "dp_strict", "on");
    WAIT_HGET("meta:features", "retry_budget", "3");
    put(&s, "/admin/features", "{\"dp_strict\":null,\"retry_budget\":\"5\"}");
    WAIT_HGET("meta:features", "dp_strict", NULL);
    WAIT_HGET("meta:features", "retry_budget", "5");
    ck_assert_int_eq(hlen("meta:features"), 1);
    stop_clean(&s);
}
END_TEST

/* ---- Prefix, refresh events, idempotence, secrets ---------------------------------- */

START_TEST(prefix_and_refresh_event)
{
    struct ht_server s;
    ht_server_start(&s, "redis_key_prefix = t1:\n");
    /* The start-up full resync publishes {"resource":"all"}: let it finish
     * first, so the next event is the namespace's. */
    char *last = NULL;
    HT_EVENTUALLY((free(last), last = ht_redis_hget("t1:meta:sync", "last_full_sync_at")) != NULL,
                 10000, "no start-up full resync");
    free(last);
    redisContext *sub = ht_redis();
    redisReply *r = redisCommand(sub, "SUBSCRIBE t1:dp:config:refresh");
    ck_assert(r && r->type == REDIS_REPLY_ARRAY);
    freeReplyObject(r);

    json_decref(call(&s, "POST", "/admin/namespaces", "{\"name\":\"team-p\"}", 201));
    WAIT_HGET("t1:config:namespaces", "team-p", "{\"name\":\"team-p\",\"status\":\"active\"}");
    ck_assert_int_eq(hlen("config:namespaces"), 0);

    r = NULL;
    ck_assert_int_eq(redisGetReply(sub, (void **)&r), REDIS_OK);
    ck_assert(r && r->type == REDIS_REPLY_ARRAY && r->elements == 3);
    ck_assert_str_eq(r->element[0]->str, "message");
    ck_assert_str_eq(r->element[1]->str, "t1:dp:config:refresh");
    json_t *ev = json_loads(r->element[2]->str, 0, NULL);
    ck_assert_ptr_nonnull(ev);
    ck_assert_str_eq(json_string_value(json_object_get(ev, "resource")), "namespaces");
    char v[24];
    snprintf(v, sizeof v, "%lld", sync_version("t1:"));
    ck_assert_str_eq(json_string_value(json_object_get(ev, "version")), v);
    long long ts = json_integer_value(json_object_get(ev, "timestamp"));
    ck_assert_int_ge(ts, time(NULL) - 60);
    json_decref(ev);
    freeReplyObject(r);
    redisFree(sub);

    long long kid;
    setup_group(&s, "gp", "[\"m1\"]", &kid);
    char f[24];
    snprintf(f, sizeof f, "%lld", kid);
    WAIT_HGET("t1:route:group:gp", f, "1");
    ck_assert(!hget_is("t1:config:providers", f, NULL));
    ck_assert_int_eq(hlen("route:group:gp"), 0);
    ck_assert_int_eq(hlen("config:providers"), 0);
    stop_clean(&s);
}
END_TEST

/* A job applied again (here through the outbox) writes the same state. */
START_TEST(reapplied_job_changes_nothing)
{
    struct ht_server s;
    ht_server_start(&s, "sync_outbox_interval = 200ms\n");
    json_decref(call(&s, "POST", "/admin/namespaces", "{\"name\":\"ns1\"}", 201));
    json_decref(call(&s, "POST", "/admin/models", "{\"name\":\"gpt-4o\"}", 201));
    long long kid;
    long long gid = setup_group(&s, "g1", "[\"gpt-4o\"]", &kid);
    char *body =
        ht_strf("{\"namespace\":\"ns1\",\"public_model\":\"gpt-4o\",\"group_id\":%lld}", gid);
    json_decref(call(&s, "POST", "/admin/bindings", body, 201));
    free(body);
    WAIT_HGET("meta:models", "ns1.gpt-4o", "{\"name\":\"gpt-4o\",\"kind\":\"chat\"}");
    HT_EVENTUALLY(!hget_is("config:bindings", "ns1.gpt-4o", NULL), WAIT_MS, "no binding");
    HT_EVENTUALLY(meta_matches(), WAIT_MS, "models_meta not settled");
    ht_sleep_ms(300);
    char *before = redis_dump();
    long long v0 = sync_version("");

    PGconn *pg = ht_pg();
    char *sql = ht_strf("INSERT INTO sync_outbox (resource, op, resource_id, payload) VALUES "
                        "('provider_groups', 'upsert', %lld, '{\"name\":\"g1\"}'), "
                        "('api_keys', 'upsert', %lld, '{\"group_id\":%lld}'), "
                        "('bindings', 'upsert', 0, "
                        "'{\"namespace\":\"ns1\",\"public_model\":\"gpt-4o\"}'), "
                        "('models', 'upsert', 0, '{\"name\":\"gpt-4o\"}'), "
                        "('namespaces', 'upsert', 0, '{\"name\":\"ns1\"}')",
                        gid, kid, gid);
    PGresult *res = PQexec(pg, sql);
    ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s", PQerrorMessage(pg));
    PQclear(res);
    PQfinish(pg);
    free(sql);
    HT_EVENTUALLY(ht_pg_count("SELECT count(*) FROM sync_outbox") == 0, WAIT_MS,
                 "outbox rows not applied");
    ck_assert_int_ge(sync_version(""), v0 + 5);
    char *after = redis_dump();
    ck_assert_str_eq(after, before);
    free(before);
    free(after);
    stop_clean(&s);
}
END_TEST

START_TEST(sealed_keys_are_projected_in_clear)
{
    struct ht_server s;
    ht_server_start(&s, SECRETS_KEY_CONF);
    long long kid;
    setup_group(&s, "gs", "[\"m1\"]", &kid);
    char f[24];
    snprintf(f, sizeof f, "%lld", kid);
    char *sql =
        ht_strf("SELECT count(*) FROM api_keys WHERE id = %lld AND api_key LIKE 'enc:v1:%%'", kid);
    ck_assert_int_eq(ht_pg_count(sql), 1);
    free(sql);
    HT_EVENTUALLY(strstr(show("config:providers", f), "\"api_key\":\"sk-gs-0001\""), WAIT_MS,
                 "snapshot: %s", show("config:providers", f));
    stop_clean(&s);
}
END_TEST

/* A ban that ends makes the key routable again with no write at all. */
START_TEST(ended_ban_restores_routing)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    long long kid;
    setup_group(&s, "gb", "[\"m1\"]", &kid);
    char f[24], path[64], until[32];
    snprintf(f, sizeof f, "%lld", kid);
    snprintf(path, sizeof path, "/admin/api-keys/%lld", kid);
    WAIT_HGET("route:group:gb", f, "1");
    time_t end = time(NULL) + 4;
    rfc3339(end, until);
    char *body = ht_strf("{\"ban_until\":\"%s\"}", until);
    put(&s, path, body);
    free(body);
    /* The job writes the snapshot and the route hash in one transaction:
     * once the snapshot shows the ban, the key is out of the route (as long
     * as the ban has not ended yet, which a very slow machine could see). */
    char *banned = ht_strf("\"ban_until\":%lld,", (long long)end);
    HT_EVENTUALLY(strstr(show("config:providers", f), banned), WAIT_MS, "snapshot: %s",
                 show("config:providers", f));
    free(banned);
    if (time(NULL) < end)
        ck_assert_msg(hget_is("route:group:gb", f, NULL), "a banned key is still routed");
    WAIT_HGET("route:group:gb", f, "1");
    ck_assert_int_ge(time(NULL), end);
    stop_clean(&s);
}
END_TEST

/* After any mix of changes, what the jobs wrote equals the whole
 * projection computed from PostgreSQL (what full resync and verify use). */
START_TEST(incremental_equals_full_projection)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    json_decref(call(&s, "POST", "/admin/namespaces", "{\"name\":\"ns1\"}", 201));
    json_decref(call(&s, "POST", "/admin/namespaces", "{\"name\":\"ns2\"}", 201));
    put(&s, "/admin/namespaces/ns2", "{\"status\":\"suspended\"}");
    long long k1, k2, k3;
    long long g1 = setup_group(&s, "g1", "[\"gpt-4o\",\"gpt-4o-mini\",\"o3\"]", &k1);
    long long g2 = setup_group(&s, "g2", "[\"models/Gemini-3-Pro\"]", &k2);
    long long g3 = setup_group(&s, "g3", "[\"o3\"]", &k3);
    char *body = ht_strf("{\"group_id\":%lld,\"api_key\":\"sk-extra-1234\",\"weight\":7}", g1);
    json_decref(call(&s, "POST", "/admin/api-keys", body, 201));
    free(body);
    char path[80], until[32];
    rfc3339(time(NULL) + 3600, until);
    snprintf(path, sizeof path, "/admin/api-keys/%lld", k1);
    body = ht_strf("{\"ban_until\":\"%s\",\"ban_reason\":\"quota\"}", until);
    put(&s, path, body);
    free(body);
    snprintf(path, sizeof path, "/admin/api-keys/%lld", k3);
    put(&s, path, "{\"status\":\"manual_disabled\"}");
    const char *bindings[] = {
        "{\"namespace\":\"ns1\",\"public_model\":\"gpt-4o\",\"group_id\":%lld}",
        "{\"namespace\":\"ns1\",\"public_model\":\"gemini-3-pro\",\"group_id\":%lld,"
        "\"selector_type\":\"normalize_exact\"}",
        "{\"namespace\":\"ns2\",\"public_model\":\"o3\",\"group_id\":%lld,\"weight\":2}",
        "{\"namespace\":\"ns2\",\"public_model\":\"o3\",\"group_id\":%lld}",
        "{\"namespace\":\"ns1\",\"public_model\":\"any\",\"group_id\":%lld,"
        "\"selector_type\":\"regex\",\"selector_value\":\"^gpt\"}",
    };
    long long groups[] = { g1, g2, g1, g3, g1 };
    for (int i = 0; i < 5; i++) {
        body = ht_strf(bindings[i], groups[i]);
        json_decref(call(&s, "POST", "/admin/bindings", body, 201));
        free(body);
    }
    json_decref(call(&s, "POST", "/admin/models", "{\"name\":\"o3\",\"max_output_tokens\":100000,"
                     "\"supports_stream\":true}", 201));
    json_decref(call(&s, "POST", "/admin/models", "{\"name\":\"gpt-4o\",\"kind\":\"chat\"}", 201));
    put(&s, "/admin/features", "{\"a\":\"1\",\"b\":\"2\"}");
    put(&s, "/admin/features", "{\"a\":null}");
    snprintf(path, sizeof path, "/admin/provider-groups/%lld", g2);
    put(&s, path, "{\"name\":\"g2-renamed\"}");
    HT_EVENTUALLY(dumps_equal(), WAIT_MS, "Redis differs from the projection:%s", dumps_both());

    snprintf(path, sizeof path, "/admin/provider-groups/%lld?cascade=true", g3);
    json_decref(call(&s, "DELETE", path, NULL, 204));
    snprintf(path, sizeof path, "/admin/provider-groups/%lld", g1);
    put(&s, path, "{\"status\":\"disabled\"}");
    HT_EVENTUALLY(dumps_equal(), WAIT_MS, "Redis differs from the projection:%s", dumps_both());
    stop_clean(&s);
}
END_TEST

/* A group with more keys than one Redis command carries (the writer
 * splits HSETs) is written whole, and equals the streamed projection. */
START_TEST(large_group_is_written_whole)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    long long kid;
    long long gid = setup_group(&s, "big", "[\"m1\"]", &kid);
    json_decref(call(&s, "POST", "/admin/namespaces", "{\"name\":\"ns1\"}", 201));
    char *body = ht_strf("{\"namespace\":\"ns1\",\"public_model\":\"m1\",\"group_id\":%lld}", gid);
    json_decref(call(&s, "POST", "/admin/bindings", body, 201));
    free(body);
    PGconn *pg = ht_pg();
    char *sql = ht_strf("INSERT INTO api_keys (group_id, api_key, weight) "
                        "SELECT %lld, 'sk-bulk-' || i, 1 + i %% 5 FROM generate_series(1, 700) i",
                        gid);
    PGresult *res = PQexec(pg, sql);
    ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s", PQerrorMessage(pg));
    PQclear(res);
    PQfinish(pg);
    free(sql);
    char path[64];
    snprintf(path, sizeof path, "/admin/provider-groups/%lld", gid);
    put(&s, path, "{\"models\":[\"m1\",\"m2\"]}");
    HT_EVENTUALLY(hlen("route:group:big") == 701, WAIT_MS, "route hash has %lld fields",
                 hlen("route:group:big"));
    HT_EVENTUALLY(hlen("config:providers") == 701, WAIT_MS, "%lld snapshots",
                 hlen("config:providers"));
    char *text = ht_redis_hget("config:bindings", "ns1.m1");
    json_t *snap = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    json_t *up = json_object_get(json_array_get(json_object_get(snap, "candidates"), 0),
                                 "upstreams");
    ck_assert_int_eq(json_object_size(up), 701);
    json_decref(snap);
    HT_EVENTUALLY(dumps_equal(), WAIT_MS, "Redis differs from the projection:%s", dumps_both());
    stop_clean(&s);
}
END_TEST

static Suite *sync_config_suite(void)
{
    Suite *s = suite_create("sync_config");
    TCase *t = ht_tcase("projection");
    tcase_add_test(t, namespaces_follow_the_api);
    tcase_add_test(t, provider_snapshot_shape);
    tcase_add_test(t, routing_follows_disable_ban_weight_delete);
    tcase_add_test(t, binding_snapshot_shape_and_errors);
    tcase_add_test(t, group_rename_and_cascade_delete);
    tcase_add_test(t, models_meta_and_checksum);
    tcase_add_test(t, features_merge_and_delete);
    tcase_add_test(t, prefix_and_refresh_event);
    tcase_add_test(t, reapplied_job_changes_nothing);
    tcase_add_test(t, sealed_keys_are_projected_in_clear);
    tcase_add_test(t, ended_ban_restores_routing);
    tcase_add_test(t, incremental_equals_full_projection);
    tcase_add_test(t, large_group_is_written_whole);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return ht_run_suite(sync_config_suite()); }
