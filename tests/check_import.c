/* Import from new-api (docs/migrate.md), end to end: a realistic export is
 * imported over HTTP and with `ezapi import`, then judged from Redis alone,
 * the way a data plane reads it (docs/redis.md), and from PostgreSQL for
 * what must not have been written. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#define SYNC_MS 15000
#define FAST_OUTBOX "sync_outbox_interval = 100ms\n"

static char *fixture(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/tests/fixtures/%s",
             getenv("EZAPI_SRCDIR") ? getenv("EZAPI_SRCDIR") : ".", name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f, "cannot open %s", path);
    char *buf = malloc(1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static json_t *fixture_json(void)
{
    char *text = fixture("newapi-export.json");
    json_t *doc = json_loads(text, 0, NULL);
    free(text);
    ck_assert(doc);
    return doc;
}

static char *dump(json_t *doc)
{
    char *s = json_dumps(doc, JSON_COMPACT);
    ck_assert(s);
    return s;
}

/* POST /admin/import?query with doc; the answer's JSON (status in *st). */
static json_t *import(struct ht_server *s, const char *query, json_t *doc, int *st)
{
    char path[256], *body = dump(doc);
    snprintf(path, sizeof path, "/admin/import%s%s", *query ? "?" : "", query);
    struct ht_resp r;
    *st = ht_post_json(s->port, path, ht_auth(s, "admin"), body, &r);
    json_t *j = ht_resp_json(&r);
    ck_assert_msg(j, "POST %s: HTTP %d, not JSON: %s", path, *st, r.body);
    ht_resp_free(&r);
    free(body);
    return j;
}

static long long count_of(json_t *answer, const char *what, const char *resource)
{
    return json_integer_value(json_object_get(json_object_get(answer, what), resource));
}

static int has_warning(json_t *answer, const char *needle)
{
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(answer, "warnings"), i, w)
        if (strstr(json_string_value(w), needle))
            return 1;
    return 0;
}

/* ---- The data plane's view, from Redis only ------------------------------ */

static char *token_hget(const char *token, const char *field)
{
    char digest[65], key[128];
    ht_sha256_hex(token, digest);
    snprintf(key, sizeof key, "auth:token:%s", digest);
    return ht_redis_hget(key, field);
}

/* Why a data plane would refuse `token` asking for `model` in its key's
 * default namespace (or the first one), or NULL when it routes it to at
 * least one upstream key. A static string. */
static const char *dp_refusal(const char *token, const char *model)
{
    static char why[300];
    char *status = token_hget(token, "status");
    if (!status)
        return "no auth:token hash";
    char *exp = token_hget(token, "expires_at"), *master = token_hget(token, "master_id");
    char *limits = token_hget(token, "model_limits"), *def = token_hget(token, "default_namespace");
    char *nss = token_hget(token, "namespaces");
    const char *reason = NULL;
    char mkey[64];
    snprintf(mkey, sizeof mkey, "auth:master:%s", master ? master : "");
    char *mstatus = ht_redis_hget(mkey, "status");
    if (strcmp(status, "active") != 0) {
        snprintf(why, sizeof why, "token %s", status);
        reason = why;
    } else if (exp && atoll(exp) != 0 && atoll(exp) <= (long long)time(NULL)) {
        reason = "expired";
    } else if (!mstatus || strcmp(mstatus, "active") != 0) {
        reason = "master not active";
    } else if (limits && *limits && !ht_csv_has(limits, model)) {
        reason = "model not allowed";
    } else {
        char ns[80], field[200];
        snprintf(ns, sizeof ns, "%.*s", (int)strcspn(def && *def ? def : nss ? nss : "", ","),
                 def && *def ? def : nss ? nss : "");
        snprintf(field, sizeof field, "%s.%s", ns, model);
        char *snap = ht_redis_hget("config:bindings", field);
        json_t *b = snap ? json_loads(snap, 0, NULL) : NULL;
        int routed = 0;
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(b, "candidates"), i, c)
            routed |= strcmp(json_string_value(json_object_get(c, "status")), "active") == 0 &&
                      json_object_size(json_object_get(c, "upstreams")) > 0;
        if (!routed) {
            snprintf(why, sizeof why, "no route for %s", field);
            reason = why;
        }
        json_decref(b);
        free(snap);
    }
    free(status);
    free(exp);
    free(master);
    free(limits);
    free(def);
    free(nss);
    free(mstatus);
    return reason;
}

#define ACCEPTED(tok, model)                                                        \
    HT_EVENTUALLY(dp_refusal((tok), (model)) == NULL, SYNC_MS,                        \
                 "data plane refuses %s for %s: %s", (tok), (model), dp_refusal((tok), (model)))
#define REFUSED(tok, model, why)                                                    \
    HT_EVENTUALLY(dp_refusal((tok), (model)) && strcmp(dp_refusal((tok), (model)), (why)) == 0, \
                 SYNC_MS, "data plane: %s for %s: %s, expected: %s", (tok), (model),         \
                 dp_refusal((tok), (model)) ? dp_refusal((tok), (model)) : "accepted", (why))

/* The api key ids of the binding snapshot's candidate for group. */
static char *upstreams_of(const char *binding, const char *group)
{
    char *snap = ht_redis_hget("config:bindings", binding);
    json_t *b = snap ? json_loads(snap, 0, NULL) : NULL;
    char *out = NULL;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(b, "candidates"), i, c) {
        if (strcmp(json_string_value(json_object_get(c, "route_group")), group) != 0)
            continue;
        json_t *ids = json_array();
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(c, "upstreams"), k, v)
            json_array_append_new(ids, json_integer(atoll(k)));
        out = json_dumps(ids, JSON_COMPACT);
        json_decref(ids);
    }
    json_decref(b);
    free(snap);
    return out;
}

/* A SQL query's first column of every row as a compact JSON array text. */
static char *pg_ids(const char *sql)
{
    PGconn *c = ht_pg();
    PGresult *res = PQexec(c, sql);
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(c));
    json_t *ids = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(ids, json_integer(atoll(PQgetvalue(res, i, 0))));
    PQclear(res);
    PQfinish(c);
    char *out = json_dumps(ids, JSON_COMPACT);
    json_decref(ids);
    return out;
}

static long long rows_written(void)
{
    return ht_pg_count("SELECT (SELECT count(*) FROM namespaces) + "
                       "(SELECT count(*) FROM provider_groups) + (SELECT count(*) FROM api_keys) + "
                       "(SELECT count(*) FROM masters) + (SELECT count(*) FROM keys) + "
                       "(SELECT count(*) FROM key_digests) + (SELECT count(*) FROM bindings) + "
                       "(SELECT count(*) FROM sync_outbox) + "
                       "(SELECT count(*) FROM audit_records WHERE action LIKE 'import%')");
}

/* ---- Tests ----------------------------------------------------------------- */

START_TEST(newapi_export_end_to_end)
{
    struct ht_server s;
    ht_server_start(&s, FAST_OUTBOX);
    json_t *doc = fixture_json();
    int st;
    json_t *a = import(&s, "include_bindings=true", doc, &st);
    char *text = dump(a);
    ck_assert_msg(st == 200, "import: HTTP %d %s", st, text);
    ck_assert(json_is_true(json_object_get(a, "committed")));
    ck_assert_int_eq(count_of(a, "created", "provider_groups"), 5);
    ck_assert_int_eq(count_of(a, "created", "api_keys"), 7);
    ck_assert_int_eq(count_of(a, "created", "masters"), 3);
    ck_assert_int_eq(count_of(a, "created", "keys"), 7);
    ck_assert_int_eq(count_of(a, "created", "namespaces"), 2);
    ck_assert_int_eq(count_of(a, "created", "bindings"), 7);
    ck_assert_int_eq(json_array_size(json_object_get(a, "errors")), 0);
    ck_assert_msg(has_warning(a, "type azure is imported as openai"), "%.3000s", text);
    ck_assert_msg(has_warning(a, "type custom is imported as compatible"), "%.3000s", text);
    ck_assert_msg(has_warning(a, "type zhipu_v4 is imported as compatible"), "%.3000s", text);
    ck_assert_msg(has_warning(a, "priority 5 is not kept"), "%.3000s", text);
    ck_assert_msg(has_warning(a, "source: channel 9 skipped"), "%.3000s", text);
    /* The upstream keys never appear in an answer, nor the client tokens. */
    ck_assert_msg(!strstr(text, "sk-up-aaa") && !strstr(text, "abc123bare"), "%.3000s", text);

    /* One multi-key channel is one group with three keys, weights kept. */
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM api_keys k JOIN provider_groups g ON "
                                 "g.id = k.group_id WHERE g.name = 'openai-main'"), 3);
    ck_assert_int_eq(ht_pg_count("SELECT sum(weight) FROM api_keys k JOIN provider_groups g ON "
                                 "g.id = k.group_id WHERE g.name = 'openai-main'"), 5);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM api_keys WHERE status = 'auto_disabled'"), 1);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM provider_groups WHERE name = 'Local-LLM-1' "
                                 "AND type = 'compatible'"), 1);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM provider_groups WHERE name = "
                                 "'old-anthropic' AND status = 'disabled'"), 1);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM keys WHERE quota_limit = 500000 AND "
                                 "quota_used = 1200 AND NOT unlimited_quota"), 1);

    /* Clients keep their keys, with and without sk-, at the data plane. */
    ACCEPTED("sk-abc123bare", "gpt-4o-mini");
    ACCEPTED("abc123bare", "gpt-4o-mini");
    REFUSED("abc123bare", "gpt-4o", "model not allowed");
    char *ips = token_hget("abc123bare", "allow_ips");
    ck_assert_str_eq(ips, "10.0.0.0/8,192.168.1.7");
    free(ips);
    char *k1 = token_hget("abc123bare", "key_id"), *k2 = token_hget("sk-abc123bare", "key_id");
    ck_assert_str_eq(k1, k2);
    free(k1);
    free(k2);
    ACCEPTED("sk-alice-prefixed", "gpt-4o");
    ACCEPTED("sk-alice-prefixed", "llama-3-70b");
    ck_assert_ptr_null(token_hget("alice-prefixed", "status")); /* no alias: it had sk- */
    ACCEPTED("bobvip", "gpt-4o");
    ACCEPTED("sk-bobvip", "glm-4");
    REFUSED("sk-bob-exhausted", "gpt-4o", "token expired");
    REFUSED("bob-expired", "gpt-4o", "token suspended");
    REFUSED("alice-disabled", "gpt-4o", "token suspended");
    REFUSED("carol-key", "gpt-4o", "master not active");
    REFUSED("sk-alice-prefixed", "claude-3-5-sonnet", "no route for default.claude-3-5-sonnet");

    /* Models go to the right upstream keys: the routable ones of the group. */
    char *want = pg_ids("SELECT k.id FROM api_keys k JOIN provider_groups g ON g.id = k.group_id "
                        "WHERE g.name = 'openai-main' AND k.status = 'active' ORDER BY k.id");
    char *got = upstreams_of("default.gpt-4o", "openai-main");
    ck_assert_msg(got && strcmp(got, want) == 0, "default.gpt-4o upstreams %s, want %s", got, want);
    free(got);
    got = upstreams_of("vip.gpt-4o", "openai-main");
    ck_assert_msg(got && strcmp(got, want) == 0, "vip.gpt-4o upstreams %s, want %s", got, want);
    free(got);
    free(want);
    want = pg_ids("SELECT k.id FROM api_keys k JOIN provider_groups g ON g.id = k.group_id "
                  "WHERE g.name = 'azure-east'");
    got = upstreams_of("vip.gpt-4o", "azure-east");
    ck_assert_msg(got && strcmp(got, want) == 0, "vip.gpt-4o azure upstreams %s, want %s", got,
                  want);
    free(got);
    free(want);
    ck_assert_int_eq(ht_redis_hlen("route:group:openai-main"), 2);

    /* The master keys, shown once, work. */
    json_t *m = json_array_get(json_object_get(a, "masters"), 0);
    const char *mk = json_string_value(json_object_get(m, "master_key"));
    ck_assert_msg(mk && strncmp(mk, "ezm_", 4) == 0, "%.3000s", text);
    char hdr[256];
    snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", mk);
    struct ht_resp r;
    ck_assert_int_eq(ht_get(s.port, "/v1/me", hdr, &r), 200);
    ht_resp_free(&r);

    /* One audit record, with counts and no secret. */
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM audit_records WHERE action = "
                                 "'import.newapi' AND (changes->'after'->'created'->>'keys')::int = 7"),
                     1);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM audit_records WHERE changes::text ~ "
                                 "'sk-up-|abc123|ezm_'"), 0);
    /* Redis holds exactly what PostgreSQL projects. */
    struct ht_cmd v;
    HT_EVENTUALLY((ht_ezapi(&v, "verify", "-c", s.conf, NULL), v.status == 0 ? 1
                   : (ht_cmd_free(&v), 0)), SYNC_MS, "ezapi verify never found Redis equal");
    ht_cmd_free(&v);
    free(text);
    json_decref(a);
    json_decref(doc);
    ht_assert_clean_stop(&s);
}
END_TEST

/* The answer without what only a real run has (the master keys). */
static json_t *comparable(json_t *a)
{
    json_t *c = json_deep_copy(a);
    json_object_del(c, "dry_run");
    json_object_del(c, "committed");
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(c, "masters"), i, m)
        json_object_del(m, "master_key");
    return c;
}

START_TEST(dry_run_answers_the_same_and_writes_nothing)
{
    struct ht_server s;
    ht_server_start(&s, FAST_OUTBOX);
    json_t *doc = fixture_json();
    int st;
    json_t *dry = import(&s, "dry_run=true&include_bindings=true", doc, &st);
    ck_assert_int_eq(st, 200);
    ck_assert(json_is_true(json_object_get(dry, "dry_run")));
    ck_assert(!json_is_true(json_object_get(dry, "committed")));
    ck_assert(json_is_null(json_object_get(json_array_get(json_object_get(dry, "masters"), 0),
                                           "master_key")));
    ck_assert_int_eq(rows_written(), 0);
    ht_sleep_ms(500); /* several outbox passes: nothing may reach Redis */
    ck_assert_int_eq(ht_redis_hlen("config:providers"), 0);
    ck_assert_int_eq(ht_redis_hlen("config:namespaces"), 0);
    char *t = token_hget("sk-abc123bare", "status");
    ck_assert_ptr_null(t);

    json_t *real = import(&s, "include_bindings=true", doc, &st);
    ck_assert_int_eq(st, 200);
    json_t *a = comparable(dry), *b = comparable(real);
    char *ta = dump(a), *tb = dump(b);
    ck_assert_msg(json_equal(a, b), "dry run %.1500s\nreal run %.1500s", ta, tb);
    free(ta);
    free(tb);
    json_decref(a);
    json_decref(b);
    json_decref(dry);
    json_decref(real);
    json_decref(doc);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(second_import_skips_and_overwrite_updates_in_place)
{
    struct ht_server s;
    ht_server_start(&s, FAST_OUTBOX);
    json_t *doc = fixture_json();
    int st;
    json_t *a = import(&s, "include_bindings=true", doc, &st);
    ck_assert_int_eq(st, 200);
    json_decref(a);
    ACCEPTED("bobvip", "gpt-4o");
    /* The sync jobs of the first import are applied (and gone) first, so
     * that the count below sees only what the second import adds. */
    HT_EVENTUALLY(ht_pg_count("SELECT count(*) FROM sync_outbox") == 0, SYNC_MS,
                  "the first import's sync jobs were never applied");
    long long before = rows_written();
    long long key_id = ht_pg_count("SELECT k.id FROM keys k JOIN key_digests d ON d.key_id = k.id "
                                   "WHERE d.digest = encode(sha256('sk-bobvip'), 'hex')");

    a = import(&s, "include_bindings=true&conflict=skip", doc, &st);
    ck_assert_int_eq(st, 200);
    static const char *const res[] = { "namespaces", "provider_groups", "api_keys", "masters",
                                       "keys", "bindings" };
    for (int i = 0; i < 6; i++)
        ck_assert_msg(count_of(a, "created", res[i]) == 0, "second import created %s", res[i]);
    ck_assert_int_eq(count_of(a, "skipped", "keys"), 7);
    ck_assert_int_eq(count_of(a, "skipped", "masters"), 3);
    ck_assert_int_eq(count_of(a, "skipped", "provider_groups"), 5);
    ck_assert_int_eq(json_array_size(json_object_get(a, "masters")), 0);
    json_decref(a);
    /* Only the second audit record was added. */
    ck_assert_int_eq(rows_written(), before + 1);

    /* Overwrite: bob's vip key disabled, the multi-key channel's first key
     * reweighted; the same rows change in place. */
    json_t *keys = json_object_get(json_object_get(doc, "data"), "keys");
    json_object_set_new(json_array_get(keys, 2), "status", json_string("disabled"));
    json_t *prov = json_object_get(json_object_get(doc, "data"), "providers");
    json_object_set_new(json_array_get(prov, 0), "weight", json_integer(7));
    a = import(&s, "conflict=overwrite", doc, &st);
    ck_assert_int_eq(st, 200);
    ck_assert_int_eq(count_of(a, "overwritten", "keys"), 7);
    ck_assert_int_eq(count_of(a, "overwritten", "masters"), 3);
    ck_assert_int_eq(count_of(a, "overwritten", "provider_groups"), 5);
    ck_assert_int_eq(count_of(a, "created", "keys"), 0);
    json_decref(a);
    ck_assert_int_eq(ht_pg_count("SELECT k.id FROM keys k JOIN key_digests d ON d.key_id = k.id "
                                 "WHERE d.digest = encode(sha256('sk-bobvip'), 'hex')"), key_id);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM keys"), 7);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM masters"), 3);
    ck_assert_int_eq(ht_pg_count("SELECT max(weight) FROM api_keys k JOIN provider_groups g ON "
                                 "g.id = k.group_id WHERE g.name = 'openai-main'"), 7);
    REFUSED("bobvip", "gpt-4o", "token suspended");
    REFUSED("sk-bobvip", "gpt-4o", "token suspended");
    ACCEPTED("abc123bare", "gpt-4o-mini");
    json_decref(doc);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(an_invalid_item_aborts_everything_unless_skip_invalid)
{
    struct ht_server s;
    ht_server_start(&s, FAST_OUTBOX);
    json_t *doc = fixture_json();
    json_t *keys = json_object_get(json_object_get(doc, "data"), "keys");
    json_object_set_new(json_array_get(keys, 4), "master_ref", json_string("nobody"));
    int st;
    json_t *a = import(&s, "include_bindings=true", doc, &st);
    char *text = dump(a);
    ck_assert_msg(st == 422, "HTTP %d %s", st, text);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(a, "error"), "param")),
                     "keys[4].master_ref");
    json_t *e = json_array_get(json_object_get(json_object_get(a, "result"), "errors"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(e, "section")), "keys");
    ck_assert_int_eq(json_integer_value(json_object_get(e, "index")), 4);
    ck_assert_str_eq(json_string_value(json_object_get(e, "field")), "master_ref");
    free(text);
    json_decref(a);
    ck_assert_int_eq(rows_written(), 0);
    ht_sleep_ms(500);
    ck_assert_int_eq(ht_redis_hlen("config:providers"), 0);
    ck_assert_int_eq(ht_redis_hlen("config:bindings"), 0);

    /* An invalid field is named too. */
    json_object_set_new(json_array_get(keys, 4), "master_ref", json_string("bob"));
    json_object_set_new(json_array_get(keys, 1), "expires_at", json_string("tomorrow"));
    json_t *prov = json_object_get(json_object_get(doc, "data"), "providers");
    json_object_set_new(json_array_get(prov, 4), "base_url", json_string("ftp://x"));
    a = import(&s, "", doc, &st);
    ck_assert_int_eq(st, 422);
    text = dump(a);
    ck_assert_msg(strstr(text, "\"section\":\"keys\",\"index\":1,\"field\":\"expires_at\"") ||
                  strstr(text, "\"field\":\"expires_at\""), "%.3000s", text);
    ck_assert_msg(strstr(text, "\"field\":\"base_url\""), "%.3000s", text);
    free(text);
    json_decref(a);
    ck_assert_int_eq(rows_written(), 0);

    /* skip_invalid: the others are imported, the invalid ones listed. */
    a = import(&s, "skip_invalid=true&include_bindings=true", doc, &st);
    text = dump(a);
    ck_assert_msg(st == 200, "HTTP %d %s", st, text);
    ck_assert(json_is_true(json_object_get(a, "committed")));
    ck_assert_int_eq(json_array_size(json_object_get(a, "errors")), 2);
    ck_assert_int_eq(count_of(a, "created", "keys"), 6);
    ck_assert_int_eq(count_of(a, "created", "provider_groups"), 4);
    free(text);
    json_decref(a);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM keys"), 6);
    ACCEPTED("abc123bare", "gpt-4o-mini");
    REFUSED("sk-alice-prefixed", "gpt-4o", "no auth:token hash");
    json_decref(doc);
    ht_assert_clean_stop(&s);
}
END_TEST

/* More keys than two batches of rows (EZ_IMPORT_BATCH, 2,000): errors
 * found in a later batch, and a token repeated across batches, still
 * abort everything; with skip_invalid every other key of every batch
 * reaches the data plane. */
#define MANY 4500

START_TEST(keys_of_several_batches)
{
    struct ht_server s;
    ht_server_start(&s, FAST_OUTBOX);
    json_t *doc = fixture_json();
    json_t *keys = json_object_get(json_object_get(doc, "data"), "keys");
    size_t first = json_array_size(keys);
    for (int i = 0; i < MANY; i++) {
        char tok[32];
        snprintf(tok, sizeof tok, "many-%05d", i == 4400 ? 3 : i);
        json_array_append_new(keys, json_pack("{s:s, s:s, s:s}", "master_ref", "alice",
                                              "original_token", tok, "status", "active"));
    }
    json_object_set_new(json_array_get(keys, first + 2100), "expires_at",
                        json_string("next week"));
    int st;
    json_t *a = import(&s, "include_bindings=true", doc, &st);
    char *text = dump(a), want[160];
    ck_assert_msg(st == 422, "HTTP %d %.2000s", st, text);
    snprintf(want, sizeof want, "\"section\":\"keys\",\"index\":%zu,\"field\":\"expires_at\"",
             first + 2100);
    ck_assert_msg(strstr(text, want), "no %s in %.2000s", want, text);
    snprintf(want, sizeof want, "\"index\":%zu,\"field\":\"original_token\",\"message\":\"the "
             "same token as keys[%zu]\"", first + 4400, first + 3);
    ck_assert_msg(strstr(text, want), "no %s in %.2000s", want, text);
    free(text);
    json_decref(a);
    ck_assert_int_eq(rows_written(), 0);

    a = import(&s, "include_bindings=true&skip_invalid=true", doc, &st);
    text = dump(a);
    ck_assert_msg(st == 200, "HTTP %d %.2000s", st, text);
    ck_assert_int_eq(count_of(a, "created", "keys"), (long long)first + MANY - 2);
    ck_assert_int_eq(json_array_size(json_object_get(a, "errors")), 2);
    free(text);
    json_decref(a);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM keys"), (long long)first + MANY - 2);
    ACCEPTED("many-00000", "gpt-4o-mini");
    ACCEPTED("sk-many-01999", "gpt-4o-mini");
    ACCEPTED("many-02000", "gpt-4o-mini");
    ACCEPTED("many-04499", "gpt-4o-mini");
    REFUSED("many-02100", "gpt-4o-mini", "no auth:token hash");
    struct ht_cmd v;
    HT_EVENTUALLY((ht_ezapi(&v, "verify", "-c", s.conf, NULL), v.status == 0 ? 1
                   : (ht_cmd_free(&v), 0)), SYNC_MS, "ezapi verify never found Redis equal");
    ht_cmd_free(&v);
    json_decref(doc);
    ht_assert_clean_stop(&s);
}
END_TEST

static void expect_400(struct ht_server *s, const char *body, const char *param)
{
    struct ht_resp r;
    int st = ht_post_json(s->port, "/admin/import", ht_auth(s, "admin"), body, &r);
    json_t *j = ht_resp_json(&r);
    json_t *p = json_object_get(json_object_get(j, "error"), "param");
    ck_assert_msg(st == 400, "%s: HTTP %d %s", body, st, r.body);
    if (param)
        ck_assert_msg(json_is_string(p) && strcmp(json_string_value(p), param) == 0,
                      "%s: param %s, expected %s", body, r.body, param);
    json_decref(j);
    ht_resp_free(&r);
}

START_TEST(bad_documents_are_refused_with_their_path)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    expect_400(&s, "{\"version\": \"1.0.0\", \"data\": {", NULL);
    expect_400(&s, "{\"version\": \"2.0.0\", \"data\": {}}", "version");
    expect_400(&s, "{\"data\": {}}", "version");
    expect_400(&s, "{\"version\": \"1.0.0\"}", "data");
    expect_400(&s, "{\"version\": \"1.0.0\", \"data\": []}", "data");
    expect_400(&s, "{\"version\": \"1.0.0\", \"data\": {\"keys\": {}}}", "data.keys");
    expect_400(&s, "{\"version\": \"1.0.0\", \"data\": {\"providers\": \"x\"}}", "data.providers");
    struct ht_resp r;
    ck_assert_int_eq(ht_post_json(s.port, "/admin/import?conflict=replace", ht_auth(&s, "admin"),
                                  "{\"version\": \"1.0.0\", \"data\": {}}", &r), 400);
    ht_resp_free(&r);
    ck_assert_int_eq(ht_post_json(s.port, "/admin/import", ht_auth(&s, "viewer"),
                                  "{\"version\": \"1.0.0\", \"data\": {}}", &r), 403);
    ht_resp_free(&r);
    ck_assert_int_eq(rows_written(), 0);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(command_line_import_dry_run_then_real)
{
    struct ht_server s;
    ht_server_start(&s, FAST_OUTBOX);
    char path[400];
    snprintf(path, sizeof path, "%s/tests/fixtures/newapi-export.json",
             getenv("EZAPI_SRCDIR") ? getenv("EZAPI_SRCDIR") : ".");
    struct ht_cmd c;
    ht_ezapi(&c, "import", "-c", s.conf, "--dry-run", "--include-bindings", path, NULL);
    ck_assert_msg(c.status == 0, "exit %d: %s", c.status, c.err);
    json_t *a = json_loads(c.out, 0, NULL);
    ck_assert_msg(a, "not JSON: %s", c.out);
    ck_assert_int_eq(count_of(a, "created", "keys"), 7);
    json_decref(a);
    ht_cmd_free(&c);
    ck_assert_int_eq(rows_written(), 0);

    ht_ezapi(&c, "import", "-c", s.conf, "--include-bindings", path, NULL);
    ck_assert_msg(c.status == 0, "exit %d: %s", c.status, c.err);
    ck_assert_msg(strstr(c.out, "\"master_key\": \"ezm_"), "%s", c.out);
    ht_cmd_free(&c);
    /* The syncer applies the import's jobs from the outbox. */
    ACCEPTED("abc123bare", "gpt-4o-mini");
    ACCEPTED("sk-bobvip", "glm-4");

    ht_ezapi(&c, "import", "-c", s.conf, "--conflict", "replace", path, NULL);
    ck_assert_int_eq(c.status, 2);
    ht_cmd_free(&c);
    ht_ezapi(&c, "import", "-c", s.conf, "/nonexistent/export.json", NULL);
    ck_assert_int_eq(c.status, 1);
    ht_cmd_free(&c);
    ht_assert_clean_stop(&s);
}
END_TEST

static json_t *get_json(struct ht_server *s, const char *path, const char *role, int *st)
{
    struct ht_resp r;
    *st = ht_get(s->port, path, ht_auth(s, role), &r);
    json_t *j = ht_resp_json(&r);
    ck_assert_msg(j, "GET %s: HTTP %d %s", path, *st, r.body);
    ht_resp_free(&r);
    return j;
}

/* The configuration as rows, without generated ids and times. */
static char *fingerprint(void)
{
    PGconn *c = ht_pg();
    PGresult *res = PQexec(c,
        "SELECT concat_ws('|', "
        "(SELECT string_agg(concat_ws(',', g.name, g.type, g.base_url, g.models::text, g.status, "
        " (SELECT string_agg(concat_ws(':', k.weight, k.status, k.auto_ban), ';' ORDER BY k.id) "
        "  FROM api_keys k WHERE k.group_id = g.id)), ' ' ORDER BY g.name) FROM provider_groups g), "
        "(SELECT string_agg(concat_ws(',', name, group_name, status, namespaces::text, "
        " default_namespace, max_child_keys, global_qps, key_digest), ' ' ORDER BY name) FROM masters), "
        "(SELECT string_agg(concat_ws(',', m.name, d.digest, d.alias, k.status, k.namespaces::text, "
        " k.default_namespace, k.model_limits::text, k.allow_ips::text, k.expires_at, k.quota_limit, "
        " k.quota_used, k.unlimited_quota, k.issued_by), ' ' ORDER BY d.digest) FROM keys k "
        " JOIN masters m ON m.id = k.master_id JOIN key_digests d ON d.key_id = k.id), "
        "(SELECT string_agg(concat_ws(',', b.namespace, b.public_model, g.name, b.status), ' ' "
        " ORDER BY b.namespace, b.public_model, g.name) FROM bindings b JOIN provider_groups g ON g.id = b.group_id), "
        "(SELECT string_agg(name || status, ',' ORDER BY name) FROM namespaces))");
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
    char *out = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    PQfinish(c);
    return out;
}

/* The export without what differs between two databases: the export time
 * and the generated group ids. */
static json_t *stable(json_t *doc)
{
    json_t *c = json_deep_copy(doc);
    json_object_del(json_object_get(c, "source"), "exported_at");
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(json_object_get(c, "data"), "providers"), i, p)
        json_object_del(p, "original_id");
    return c;
}

START_TEST(export_then_import_into_an_empty_ezapi_gives_the_same_export)
{
    struct ht_server s;
    ht_server_start(&s, FAST_OUTBOX);
    json_t *doc = fixture_json();
    int st;
    json_t *a = import(&s, "include_bindings=true", doc, &st);
    ck_assert_int_eq(st, 200);
    char mk[128];
    snprintf(mk, sizeof mk, "%s", json_string_value(json_object_get(
                                      json_array_get(json_object_get(a, "masters"), 0), "master_key")));
    json_decref(a);
    json_decref(doc);

    /* Without include_secrets no upstream key; digests only, always. */
    json_t *plain = get_json(&s, "/admin/export", "viewer", &st);
    ck_assert_int_eq(st, 200);
    char *text = dump(plain);
    ck_assert_msg(!strstr(text, "sk-up-") && !strstr(text, "abc123bare") && !strstr(text, mk),
                  "%.3000s", text);
    free(text);
    json_decref(plain);
    json_t *refused = get_json(&s, "/admin/export?include_secrets=true", "viewer", &st);
    ck_assert_int_eq(st, 403);
    json_decref(refused);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM audit_records WHERE action = "
                                 "'export.secrets'"), 0);
    json_t *first = get_json(&s, "/admin/export?include_secrets=true", "admin", &st);
    ck_assert_int_eq(st, 200);
    text = dump(first);
    ck_assert_msg(strstr(text, "sk-up-aaa-0001") && !strstr(text, "abc123bare"), "%.3000s", text);
    free(text);
    HT_EVENTUALLY(ht_pg_count("SELECT count(*) FROM audit_records WHERE action = "
                              "'export.secrets'") == 1, SYNC_MS, "no audit record of the export");
    /* The command line writes the same document. */
    struct ht_cmd c;
    ht_ezapi(&c, "export", "-c", s.conf, "--include-secrets", NULL);
    ck_assert_msg(c.status == 0, "exit %d: %s", c.status, c.err);
    json_t *cli = json_loads(c.out, 0, NULL), *x = stable(first), *y = cli ? stable(cli) : NULL;
    ck_assert_msg(y && json_equal(x, y), "ezapi export differs from GET /admin/export");
    json_decref(x);
    json_decref(y);
    json_decref(cli);
    ht_cmd_free(&c);
    char *before = fingerprint();
    ht_assert_clean_stop(&s);

    /* Into an empty ezapi. */
    ht_reset();
    ht_server_start(&s, FAST_OUTBOX);
    a = import(&s, "include_bindings=true", first, &st);
    text = dump(a);
    ck_assert_msg(st == 200, "re-import: HTTP %d %s", st, text);
    ck_assert_msg(json_array_size(json_object_get(a, "masters")) == 0,
                  "masters kept their keys, none is generated: %s", text);
    free(text);
    json_decref(a);
    char *after = fingerprint();
    size_t at = 0;
    while (before[at] && before[at] == after[at])
        at++;
    ck_assert_msg(strcmp(before, after) == 0, "configuration differs at %zu: before ...%.300s\n"
                  "after ...%.300s", at, before + (at > 100 ? at - 100 : 0),
                  after + (at > 100 ? at - 100 : 0));
    free(before);
    free(after);
    json_t *second = get_json(&s, "/admin/export?include_secrets=true", "admin", &st);
    json_t *p = stable(first), *q = stable(second);
    char *tp = dump(p), *tq = dump(q);
    ck_assert_msg(json_equal(p, q), "first export %.1500s\nsecond export %.1500s", tp, tq);
    free(tp);
    free(tq);
    json_decref(p);
    json_decref(q);
    /* The same client keys and master keys work. */
    ACCEPTED("abc123bare", "gpt-4o-mini");
    ACCEPTED("sk-abc123bare", "gpt-4o-mini");
    ACCEPTED("sk-bobvip", "glm-4");
    REFUSED("sk-bob-exhausted", "gpt-4o", "token expired");
    char hdr[256];
    snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", mk);
    struct ht_resp r;
    ck_assert_int_eq(ht_get(s.port, "/v1/me", hdr, &r), 200);
    ht_resp_free(&r);
    json_decref(first);
    json_decref(second);
    ht_assert_clean_stop(&s);
}
END_TEST

/* POST /admin/import?from=litellm with a YAML body. */
static json_t *import_yaml(struct ht_server *s, const char *query, const char *yaml, int *st)
{
    char path[256], hdr[1200];
    snprintf(path, sizeof path, "/admin/import?from=litellm%s%s", *query ? "&" : "", query);
    snprintf(hdr, sizeof hdr, "%sContent-Type: application/yaml\r\n", ht_auth(s, "admin"));
    struct ht_resp r;
    *st = ht_http(s->port, "POST", path, hdr, yaml, strlen(yaml), &r);
    json_t *j = ht_resp_json(&r);
    ck_assert_msg(j, "POST %s: HTTP %d, not JSON: %s", path, *st, r.body);
    ht_resp_free(&r);
    return j;
}

/* The upstream model of each api key of the candidate for group, as
 * "<model>*<number of keys>". */
static char *upstream_models(const char *binding, const char *group)
{
    char *snap = ht_redis_hget("config:bindings", binding);
    json_t *b = snap ? json_loads(snap, 0, NULL) : NULL;
    char *out = NULL;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(b, "candidates"), i, c) {
        if (strcmp(json_string_value(json_object_get(c, "route_group")), group) != 0)
            continue;
        json_t *ups = json_object_get(c, "upstreams");
        const char *k;
        json_t *v, *first = NULL;
        int same = 1;
        json_object_foreach(ups, k, v) {
            same &= !first || json_equal(first, v);
            first = first ? first : v;
        }
        char buf[300];
        snprintf(buf, sizeof buf, "%s*%zu", same && first ? json_string_value(first) : "?",
                 json_object_size(ups));
        out = strdup(buf);
    }
    json_decref(b);
    free(snap);
    return out;
}

#define UPSTREAMS(binding, group, want)                                                 \
    do {                                                                                \
        char *got_ = NULL;                                                              \
        HT_EVENTUALLY((free(got_), got_ = upstream_models(binding, group)) &&           \
                          strcmp(got_, want) == 0, SYNC_MS, "%s via %s: %s, want %s",   \
                      binding, group, got_ ? got_ : "(none)", want);                    \
        free(got_);                                                                     \
    } while (0)

START_TEST(litellm_config_over_http_and_the_command_line)
{
    struct ht_server s;
    ht_server_start(&s, FAST_OUTBOX);
    char *yaml = fixture("litellm-config.yaml");
    int st;
    /* The server's environment is not the operator's: 422 naming the entry. */
    json_t *a = import_yaml(&s, "", yaml, &st);
    char *text = dump(a);
    ck_assert_msg(st == 422, "HTTP %d %.3000s", st, text);
    ck_assert_msg(strstr(text, "model_list[6].litellm_params.api_key") &&
                  strstr(text, "LOCAL_QWEN_KEY"), "%.3000s", text);
    free(text);
    json_decref(a);
    ck_assert_int_eq(rows_written(), 0);
    /* A JSON body with from=litellm, or YAML without it: 415. */
    struct ht_resp r;
    ck_assert_int_eq(ht_post_json(s.port, "/admin/import?from=litellm", ht_auth(&s, "admin"),
                                  "{}", &r), 415);
    ht_resp_free(&r);

    /* Without the environment reference, over HTTP, in namespace team-a. */
    char *cut = strstr(yaml, "  - model_name: qwen-local");
    char *rest = strstr(yaml, "router_settings:");
    ck_assert(cut && rest);
    memmove(cut, rest, strlen(rest) + 1);
    a = import_yaml(&s, "namespace=team-a", yaml, &st);
    text = dump(a);
    ck_assert_msg(st == 200, "HTTP %d %.3000s", st, text);
    ck_assert_int_eq(count_of(a, "created", "provider_groups"), 5);
    ck_assert_int_eq(count_of(a, "created", "api_keys"), 6);
    ck_assert_int_eq(count_of(a, "created", "bindings"), 5);
    ck_assert_int_eq(count_of(a, "skipped", "bindings"), 0);
    ck_assert_int_eq(count_of(a, "created", "namespaces"), 1);
    ck_assert_msg(has_warning(a, "azure/ is imported as openai"), "%.3000s", text);
    ck_assert_msg(has_warning(a, "router_settings.routing_strategy is not imported"), "%.3000s", text);
    ck_assert_msg(has_warning(a, "litellm_settings.callbacks is not imported"), "%.3000s", text);
    ck_assert_msg(has_warning(a, "general_settings.master_key is not imported"), "%.3000s", text);
    ck_assert_msg(has_warning(a, "model_list[2].litellm_params.rpm is not imported"), "%.3000s", text);
    ck_assert_msg(has_warning(a, "model_list[5].model_info is not imported"), "%.3000s", text);
    ck_assert_msg(!strstr(text, "sk-openai-key") && !strstr(text, "sk-litellm-master"), "%.3000s",
                  text);
    free(text);
    json_decref(a);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM provider_groups WHERE name = "
                                 "'vertex-acme-ml-europe-west4' AND type = 'vertex' AND "
                                 "google_project = 'acme-ml' AND google_location = 'europe-west4'"),
                     1);
    ck_assert_int_eq(ht_pg_count("SELECT sum(weight) FROM api_keys k JOIN provider_groups g ON "
                                 "g.id = k.group_id WHERE g.name = 'openai'"), 4);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM provider_groups WHERE name = "
                                 "'compatible-10.1.2.3-8000' AND type = 'compatible' AND "
                                 "base_url = 'http://10.1.2.3:8000/v1'"), 1);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM provider_groups WHERE name = "
                                 "'openai-eu.openai.azure.com' AND type = 'openai'"), 1);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM audit_records WHERE action = "
                                 "'import.litellm'"), 1);
    /* Several deployments of one model_name: several candidates and keys. */
    UPSTREAMS("team-a.gpt-4o", "openai", "gpt-4o*2");
    UPSTREAMS("team-a.gpt-4o", "openai-eu.openai.azure.com", "gpt-4o-eu*1");
    UPSTREAMS("team-a.claude-sonnet", "anthropic", "claude-3-5-sonnet-20240620*1");
    UPSTREAMS("team-a.gemini-pro", "vertex-acme-ml-europe-west4", "gemini-1.5-pro*1");
    UPSTREAMS("team-a.llama-local", "compatible-10.1.2.3-8000", "meta-llama/Llama-3-8B-Instruct*1");
    free(yaml);

    /* The command line resolves os.environ/ from its own environment. */
    char path[400];
    snprintf(path, sizeof path, "%s/tests/fixtures/litellm-config.yaml",
             getenv("EZAPI_SRCDIR") ? getenv("EZAPI_SRCDIR") : ".");
    struct ht_cmd c;
    unsetenv("LOCAL_QWEN_KEY");
    ht_ezapi(&c, "import", "-c", s.conf, "--from", "litellm", "--namespace", "team-a", path, NULL);
    ck_assert_msg(c.status == 1 && strstr(c.err, "model_list[6].litellm_params.api_key") &&
                  strstr(c.err, "LOCAL_QWEN_KEY is not set"), "exit %d: %s", c.status, c.err);
    ht_cmd_free(&c);
    setenv("LOCAL_QWEN_KEY", "qwen-secret-from-env", 1);
    ht_ezapi(&c, "import", "-c", s.conf, "--from", "litellm", "--namespace", "team-a", path, NULL);
    ck_assert_msg(c.status == 0, "exit %d: %s", c.status, c.err);
    a = json_loads(c.out, 0, NULL);
    ck_assert(a);
    ck_assert_int_eq(count_of(a, "created", "provider_groups"), 1);
    ck_assert_int_eq(count_of(a, "skipped", "provider_groups"), 5);
    json_decref(a);
    ht_cmd_free(&c);
    unsetenv("LOCAL_QWEN_KEY");
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM api_keys k JOIN provider_groups g ON "
                                 "g.id = k.group_id WHERE g.name = 'compatible-10.1.2.4-8000' AND "
                                 "k.api_key = 'qwen-secret-from-env'"), 1);
    UPSTREAMS("team-a.qwen-local", "compatible-10.1.2.4-8000", "qwen2.5-72b*1");
    ht_ezapi(&c, "import", "-c", s.conf, "--from", "yaml", path, NULL);
    ck_assert_int_eq(c.status, 2);
    ht_cmd_free(&c);
    ht_assert_clean_stop(&s);
}
END_TEST

/* A body of n bytes: the fixture with source.note padding it out. */
static char *padded_fixture(size_t n)
{
    json_t *doc = fixture_json();
    char *base = dump(doc);
    size_t pad = n > strlen(base) + 20 ? n - strlen(base) - 20 : 1;
    char *note = malloc(pad + 1);
    memset(note, 'x', pad);
    note[pad] = 0;
    json_object_set_new(json_object_get(doc, "source"), "note", json_string(note));
    char *out = dump(doc);
    free(note);
    free(base);
    json_decref(doc);
    return out;
}

START_TEST(import_body_limit_is_its_own)
{
    struct ht_server s;
    ht_server_start(&s, "max_body_size = 4096\nimport_max_body_size = 65536\n");
    struct ht_resp r;
    char *body = padded_fixture(40000);
    ck_assert_int_gt(strlen(body), 32768);
    int st = ht_post_json(s.port, "/admin/import?dry_run=true", ht_auth(&s, "admin"), body, &r);
    ck_assert_msg(st == 200, "HTTP %d %.500s", st, r.body);
    ht_resp_free(&r);
    /* Every other route keeps max_body_size. */
    st = ht_post_json(s.port, "/admin/namespaces", ht_auth(&s, "admin"), body, &r);
    ck_assert_msg(st == 413, "HTTP %d %.500s", st, r.body);
    ht_resp_free(&r);
    free(body);
    body = padded_fixture(70000);
    st = ht_post_json(s.port, "/admin/import", ht_auth(&s, "admin"), body, &r);
    ck_assert_msg(st == 413 && strstr(r.body, "import_max_body_size"), "HTTP %d %.500s", st, r.body);
    ht_resp_free(&r);
    free(body);
    ck_assert_int_eq(rows_written(), 0);
    ht_assert_clean_stop(&s);
}
END_TEST

static Suite *import_suite(void)
{
    Suite *s = suite_create("import");
    TCase *tc = ht_tcase("newapi");
    tcase_add_test(tc, newapi_export_end_to_end);
    tcase_add_test(tc, dry_run_answers_the_same_and_writes_nothing);
    tcase_add_test(tc, second_import_skips_and_overwrite_updates_in_place);
    tcase_add_test(tc, an_invalid_item_aborts_everything_unless_skip_invalid);
    tcase_add_test(tc, bad_documents_are_refused_with_their_path);
    tcase_add_test(tc, command_line_import_dry_run_then_real);
    tcase_add_test(tc, import_body_limit_is_its_own);
    tcase_add_test(tc, keys_of_several_batches);
    suite_add_tcase(s, tc);
    tc = ht_tcase("litellm");
    tcase_add_test(tc, litellm_config_over_http_and_the_command_line);
    suite_add_tcase(s, tc);
    tc = ht_tcase("export");
    tcase_add_test(tc, export_then_import_into_an_empty_ezapi_gives_the_same_export);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ht_run_suite(import_suite());
}
