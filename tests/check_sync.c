/* Integration tests of the syncer's guarantees (SPEC 7 "Behaviour the
 * syncer must guarantee", SPEC 11 items 1, 4 and 8): nothing lost when the
 * syncer is killed, Redis outages and data loss healed by the outbox and a
 * full resync, two instances converging, and verify telling the truth. */
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int post(struct h_server *s, const char *path, const char *json, json_t **out)
{
    struct h_resp r;
    int st = h_post_json(s->port, path, h_auth(s, "admin"), json, &r);
    if (out)
        *out = h_resp_json(&r);
    h_resp_free(&r);
    return st;
}

static int put(struct h_server *s, const char *path, const char *json)
{
    struct h_resp r;
    int st = h_http(s->port, "PUT", path, h_auth(s, "admin"), json, strlen(json), &r);
    h_resp_free(&r);
    return st;
}

static json_t *verify(struct h_server *s)
{
    struct h_resp r;
    int st = h_get(s->port, "/admin/sync/verify", h_auth(s, "admin"), &r);
    json_t *j = st == 200 ? h_resp_json(&r) : NULL;
    h_resp_free(&r);
    return j;
}

static int verify_equal(struct h_server *s)
{
    json_t *j = verify(s);
    int eq = j && json_is_true(json_object_get(j, "equal"));
    json_decref(j);
    return eq;
}

static char *verify_text(struct h_server *s)
{
    json_t *j = verify(s);
    char *t = j ? json_dumps(j, JSON_COMPACT) : strdup("(verify failed)");
    json_decref(j);
    return t;
}

#define ASSERT_EVENTUALLY_EQUAL(s, ms)                                                   \
    do {                                                                                 \
        int64_t d_ = h_now_ms() + (ms);                                                  \
        while (!verify_equal(s)) {                                                       \
            if (h_now_ms() > d_) {                                                       \
                char *t_ = verify_text(s);                                               \
                ck_abort_msg("Redis never became equal to PostgreSQL: %.1500s", t_);     \
            }                                                                            \
            h_sleep_ms(200);                                                             \
        }                                                                                \
    } while (0)

/* A group with two keys bound in namespace ns; returns the group id. */
static long long setup_routing(struct h_server *s, const char *ns, const char *group)
{
    char body[400];
    snprintf(body, sizeof body, "{\"name\":\"%s\"}", ns);
    ck_assert_int_eq(post(s, "/admin/namespaces", body, NULL), 201);
    json_t *j;
    snprintf(body, sizeof body,
             "{\"name\":\"%s\",\"base_url\":\"https://up.example/v1\",\"api_key\":\"sk-%s-aaaaaaaaaaaa\","
             "\"models\":[\"m1\",\"m2\"]}", group, group);
    ck_assert_int_eq(post(s, "/admin/providers/custom", body, &j), 201);
    long long gid = json_integer_value(json_object_get(json_object_get(j, "group"), "id"));
    json_decref(j);
    snprintf(body, sizeof body, "{\"group_id\":%lld,\"api_key\":\"sk-%s-bbbbbbbbbbbb\"}", gid, group);
    ck_assert_int_eq(post(s, "/admin/api-keys", body, NULL), 201);
    snprintf(body, sizeof body, "{\"namespace\":\"%s\",\"public_model\":\"m1\",\"group_id\":%lld}", ns,
             gid);
    ck_assert_int_eq(post(s, "/admin/bindings", body, NULL), 201);
    return gid;
}

static int in_redis(const char *key, const char *field)
{
    char *v = h_redis_hget(key, field);
    int ok = v != NULL;
    free(v);
    return ok;
}

/* ---- Tests ---------------------------------------------------------------- */

START_TEST(verify_reports_differences_and_a_full_resync_repairs_them)
{
    struct h_server s;
    h_server_start(&s, NULL);
    setup_routing(&s, "team-a", "g1");
    ASSERT_EVENTUALLY_EQUAL(&s, 10000);
    redisContext *rc = h_redis();
    freeReplyObject(redisCommand(rc, "HSET config:namespaces ghost {}"));
    freeReplyObject(redisCommand(rc, "HDEL config:namespaces team-a"));
    freeReplyObject(redisCommand(rc, "HSET auth:token:0000 key_id 1"));
    json_t *j = verify(&s);
    ck_assert(j != NULL);
    ck_assert(json_is_false(json_object_get(j, "equal")));
    json_t *ns = json_object_get(json_object_get(j, "differences"), "namespaces");
    ck_assert_int_eq(json_array_size(ns), 2);
    ck_assert(json_array_size(json_object_get(json_object_get(j, "differences"), "tokens")) == 1);
    json_decref(j);
    struct h_cmd c;
    h_ezapi(&c, "verify", "-c", s.conf, NULL);
    ck_assert_int_eq(c.status, 1);
    ck_assert_msg(strstr(c.out, "namespaces: 2"), "%s", c.out);
    h_cmd_free(&c);
    struct h_resp r;
    ck_assert_int_eq(h_http(s.port, "POST", "/admin/sync/full", h_auth(&s, "admin"), NULL, 0, &r), 202);
    j = h_resp_json(&r);
    ck_assert(json_integer_value(json_object_get(j, "id")) > 0);
    json_decref(j);
    h_resp_free(&r);
    ASSERT_EVENTUALLY_EQUAL(&s, 10000);
    H_EVENTUALLY(h_pg_count("SELECT count(*) FROM sync_runs WHERE status = 'done'") == 1, 10000,
                 "the requested run was not marked done");
    h_ezapi(&c, "verify", "-c", s.conf, NULL);
    ck_assert_int_eq(c.status, 0);
    h_cmd_free(&c);
    char *last = h_redis_hget("meta:sync", "last_full_sync_at");
    char *sum = h_redis_hget("meta:sync", "checksum");
    ck_assert(last && atoll(last) > 0);
    ck_assert(sum && strlen(sum) == 64);
    free(last);
    free(sum);
    redisFree(rc);
    h_assert_clean_stop(&s);
}
END_TEST

START_TEST(syncer_killed_during_writes_loses_nothing)
{
    struct h_server s;
    h_server_start(&s, NULL);
    long long gid = setup_routing(&s, "team-k", "gk");
    int ok = 0, n = 10000; /* SPEC 11 item 1 */
    for (int i = 0; i < n; i++) {
        if (i % 2000 == 1000) {
            pid_t syncer = h_server_child_pid(&s, "syncer");
            if (syncer > 0)
                kill(syncer, SIGKILL);
        }
        char path[64], body[128];
        if (i % 2) {
            snprintf(body, sizeof body, "{\"name\":\"kn%d\"}", i);
            ok += post(&s, "/admin/namespaces", body, NULL) == 201;
        } else {
            snprintf(path, sizeof path, "/admin/provider-groups/%lld", gid);
            snprintf(body, sizeof body, "{\"models\":[\"m1\",\"m2\",\"v%d\"]}", i);
            ok += put(&s, path, body) == 200;
        }
    }
    ck_assert_int_eq(ok, n);
    for (int i = 1; i < n; i += 2) {
        char name[32];
        snprintf(name, sizeof name, "kn%d", i);
        H_EVENTUALLY(in_redis("config:namespaces", name), 20000, "%s never reached Redis", name);
    }
    ASSERT_EVENTUALLY_EQUAL(&s, 20000);
    h_server_stop(&s);
}
END_TEST

START_TEST(redis_lost_under_writes_is_restored)
{
    struct h_server s;
    h_server_start(&s, "sync_outbox_interval = 300ms\n");
    long long gid = setup_routing(&s, "team-r", "gr");
    ASSERT_EVENTUALLY_EQUAL(&s, 10000);
    /* a key that will be deleted while Redis is down */
    json_t *j;
    char body[200];
    snprintf(body, sizeof body, "{\"group_id\":%lld,\"api_key\":\"sk-doomed-cccccccccccc\"}", gid);
    ck_assert_int_eq(post(&s, "/admin/api-keys", body, &j), 201);
    long long doomed = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    char field[24];
    snprintf(field, sizeof field, "%lld", doomed);
    H_EVENTUALLY(in_redis("config:providers", field), 10000, "key never projected");
    h_redis_stop();
    for (int i = 0; i < 30; i++) {
        snprintf(body, sizeof body, "{\"name\":\"rd%d\"}", i);
        ck_assert_int_eq(post(&s, "/admin/namespaces", body, NULL), 201);
    }
    char path[64];
    snprintf(path, sizeof path, "/admin/api-keys/%lld", doomed);
    struct h_resp r;
    ck_assert_int_eq(h_http(s.port, "DELETE", path, h_auth(&s, "admin"), NULL, 0, &r), 204);
    h_resp_free(&r);
    H_EVENTUALLY(h_pg_count("SELECT count(*) FROM sync_outbox") >= 31, 10000, "outbox did not grow");
    h_redis_start(); /* empty: data lost */
    H_EVENTUALLY(h_pg_count("SELECT count(*) FROM sync_outbox") == 0, 20000, "outbox never drained");
    ASSERT_EVENTUALLY_EQUAL(&s, 20000);
    ck_assert(!in_redis("config:providers", field));
    ck_assert(in_redis("config:namespaces", "rd29"));
    ck_assert(in_redis("config:bindings", "team-r.m1"));
    char *last = h_redis_hget("meta:sync", "last_full_sync_at");
    ck_assert_msg(last != NULL, "no full resync after Redis came back empty");
    free(last);
    h_server_stop(&s);
}
END_TEST

START_TEST(two_instances_racing_on_the_same_rows_converge)
{
    struct h_server a, b;
    h_server_start(&a, NULL);
    h_server_start(&b, NULL);
    long long gid = setup_routing(&a, "team-2", "g2");
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            struct h_server *s = k ? &b : &a;
            char path[64], body[160];
            snprintf(path, sizeof path, "/admin/provider-groups/%lld", gid);
            for (int i = 0; i < 300; i++) {
                snprintf(body, sizeof body, "{\"models\":[\"m1\",\"m2\",\"i%d-%d\"],\"status\":\"%s\"}", k,
                         i, (i + k) % 3 ? "active" : "disabled");
                if (put(s, path, body) != 200)
                    _exit(1);
            }
            _exit(0);
        }
    }
    for (int k = 0; k < 2; k++) {
        int st;
        waitpid(kids[k], &st, 0);
        ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    ASSERT_EVENTUALLY_EQUAL(&a, 20000);
    ASSERT_EVENTUALLY_EQUAL(&b, 20000);
    h_server_stop(&b);
    h_server_stop(&a);
}
END_TEST

START_TEST(outbox_rows_are_never_processed_twice_at_once)
{
    struct h_server a, b;
    h_server_start(&a, "sync_outbox_interval = 100ms\n");
    h_server_start(&b, "sync_outbox_interval = 100ms\n");
    h_redis_stop();
    for (int i = 0; i < 40; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"name\":\"ob%d\"}", i);
        ck_assert_int_eq(post(i % 2 ? &a : &b, "/admin/namespaces", body, NULL), 201);
    }
    H_EVENTUALLY(h_pg_count("SELECT count(*) FROM sync_outbox") == 40, 10000, "outbox");
    h_sleep_ms(600);
    /* each failed try bumps attempts once: with one pass per row per try,
     * attempts grow like the number of passes, never double-counted */
    long long over = h_pg_count("SELECT count(*) FROM sync_outbox WHERE attempts > 6");
    ck_assert_int_eq(over, 0);
    h_redis_start();
    H_EVENTUALLY(h_pg_count("SELECT count(*) FROM sync_outbox") == 0, 20000, "never drained");
    ASSERT_EVENTUALLY_EQUAL(&a, 20000);
    h_server_stop(&b);
    h_server_stop(&a);
}
END_TEST

static Suite *sync_suite(void)
{
    Suite *s = suite_create("sync");
    TCase *t = h_tcase("guarantees");
    tcase_set_timeout(t, 240);
    tcase_add_test(t, verify_reports_differences_and_a_full_resync_repairs_them);
    tcase_add_test(t, syncer_killed_during_writes_loses_nothing);
    tcase_add_test(t, redis_lost_under_writes_is_restored);
    tcase_add_test(t, two_instances_racing_on_the_same_rows_converge);
    tcase_add_test(t, outbox_rows_are_never_processed_twice_at_once);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return h_run_suite(sync_suite());
}
