/* Integration tests of the syncer's guarantees (docs/redis.md, "Sync jobs";
 * docs/operations.md, "Guarantees", items 1, 4 and 8): nothing lost when the
 * syncer is killed, Redis outages and data loss healed by the outbox and a
 * full resync, two instances converging, and verify telling the truth. */
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int post(struct ht_server *s, const char *path, const char *json, json_t **out)
{
    struct ht_resp r;
    int st = ht_post_json(s->port, path, ht_auth(s, "admin"), json, &r);
    if (out)
        *out = ht_resp_json(&r);
    ht_resp_free(&r);
    return st;
}

static int put(struct ht_server *s, const char *path, const char *json)
{
    struct ht_resp r;
    int st = ht_http(s->port, "PUT", path, ht_auth(s, "admin"), json, strlen(json), &r);
    ht_resp_free(&r);
    return st;
}

static json_t *verify(struct ht_server *s)
{
    struct ht_resp r;
    int st = ht_get(s->port, "/admin/sync/verify", ht_auth(s, "admin"), &r);
    json_t *j = st == 200 ? ht_resp_json(&r) : NULL;
    ht_resp_free(&r);
    return j;
}

static int verify_equal(struct ht_server *s)
{
    json_t *j = verify(s);
    int eq = j && json_is_true(json_object_get(j, "equal"));
    json_decref(j);
    return eq;
}

static char *verify_text(struct ht_server *s)
{
    json_t *j = verify(s);
    char *t = j ? json_dumps(j, JSON_COMPACT) : strdup("(verify failed)");
    json_decref(j);
    return t;
}

#define ASSERT_EVENTUALLY_EQUAL(s, ms)                                                   \
    do {                                                                                 \
        int64_t d_ = ht_now_ms() + (ms);                                                  \
        while (!verify_equal(s)) {                                                       \
            if (ht_now_ms() > d_) {                                                       \
                char *t_ = verify_text(s);                                               \
                ck_abort_msg("Redis never became equal to PostgreSQL: %.1500s", t_);     \
            }                                                                            \
            ht_sleep_ms(200);                                                             \
        }                                                                                \
    } while (0)

/* A group with two keys bound in namespace ns; returns the group id. */
static long long setup_routing(struct ht_server *s, const char *ns, const char *group)
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

/* ---- Tests ---------------------------------------------------------------- */

START_TEST(verify_reports_differences_and_a_full_resync_repairs_them)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    setup_routing(&s, "team-a", "g1");
    ASSERT_EVENTUALLY_EQUAL(&s, 10000);
    redisContext *rc = ht_redis();
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
    struct ht_cmd c;
    ht_ezapi(&c, "verify", "-c", s.conf, NULL);
    ck_assert_int_eq(c.status, 1);
    ck_assert_msg(strstr(c.out, "namespaces: 2"), "%s", c.out);
    ht_cmd_free(&c);
    struct ht_resp r;
    ck_assert_int_eq(ht_http(s.port, "POST", "/admin/sync/full", ht_auth(&s, "admin"), NULL, 0, &r), 202);
    j = ht_resp_json(&r);
    ck_assert(json_integer_value(json_object_get(j, "id")) > 0);
    json_decref(j);
    ht_resp_free(&r);
    ASSERT_EVENTUALLY_EQUAL(&s, 10000);
    HT_EVENTUALLY(ht_pg_count("SELECT count(*) FROM sync_runs WHERE status = 'done'") == 1, 10000,
                 "the requested run was not marked done");
    ht_ezapi(&c, "verify", "-c", s.conf, NULL);
    ck_assert_int_eq(c.status, 0);
    ht_cmd_free(&c);
    char *last = ht_redis_hget("meta:sync", "last_full_sync_at");
    char *sum = ht_redis_hget("meta:sync", "checksum");
    ck_assert(last && atoll(last) > 0);
    ck_assert(sum && strlen(sum) == 64);
    free(last);
    free(sum);
    redisFree(rc);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(syncer_killed_during_writes_loses_nothing)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    long long gid = setup_routing(&s, "team-k", "gk");
    int ok = 0, n = 10000; /* docs/operations.md, "Guarantees", item 1 */
    for (int i = 0; i < n; i++) {
        if (i % 2000 == 1000) {
            pid_t syncer = ht_server_child_pid(&s, "syncer");
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
        HT_EVENTUALLY(ht_redis_hexists("config:namespaces", name), 20000, "%s never reached Redis",
                      name);
    }
    ASSERT_EVENTUALLY_EQUAL(&s, 20000);
    ht_server_stop(&s);
}
END_TEST

START_TEST(redis_lost_under_writes_is_restored)
{
    struct ht_server s;
    ht_server_start(&s, "sync_outbox_interval = 300ms\n");
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
    HT_EVENTUALLY(ht_redis_hexists("config:providers", field), 10000, "key never projected");
    ht_redis_stop();
    for (int i = 0; i < 30; i++) {
        snprintf(body, sizeof body, "{\"name\":\"rd%d\"}", i);
        ck_assert_int_eq(post(&s, "/admin/namespaces", body, NULL), 201);
    }
    char path[64];
    snprintf(path, sizeof path, "/admin/api-keys/%lld", doomed);
    struct ht_resp r;
    ck_assert_int_eq(ht_http(s.port, "DELETE", path, ht_auth(&s, "admin"), NULL, 0, &r), 204);
    ht_resp_free(&r);
    HT_EVENTUALLY(ht_pg_count("SELECT count(*) FROM sync_outbox") >= 31, 10000, "outbox did not grow");
    ht_redis_start(); /* empty: data lost */
    HT_EVENTUALLY(ht_pg_count("SELECT count(*) FROM sync_outbox") == 0, 20000, "outbox never drained");
    ASSERT_EVENTUALLY_EQUAL(&s, 20000);
    ck_assert(!ht_redis_hexists("config:providers", field));
    ck_assert(ht_redis_hexists("config:namespaces", "rd29"));
    ck_assert(ht_redis_hexists("config:bindings", "team-r.m1"));
    char *last = ht_redis_hget("meta:sync", "last_full_sync_at");
    ck_assert_msg(last != NULL, "no full resync after Redis came back empty");
    free(last);
    ht_server_stop(&s);
}
END_TEST

START_TEST(two_instances_racing_on_the_same_rows_converge)
{
    struct ht_server a, b;
    ht_server_start(&a, NULL);
    ht_server_start(&b, NULL);
    long long gid = setup_routing(&a, "team-2", "g2");
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            struct ht_server *s = k ? &b : &a;
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
    ht_server_stop(&b);
    ht_server_stop(&a);
}
END_TEST

START_TEST(outbox_rows_are_never_processed_twice_at_once)
{
    struct ht_server a, b;
    ht_server_start(&a, "sync_outbox_interval = 100ms\n");
    ht_server_start(&b, "sync_outbox_interval = 100ms\n");
    ht_redis_stop();
    for (int i = 0; i < 40; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"name\":\"ob%d\"}", i);
        ck_assert_int_eq(post(i % 2 ? &a : &b, "/admin/namespaces", body, NULL), 201);
    }
    HT_EVENTUALLY(ht_pg_count("SELECT count(*) FROM sync_outbox") == 40, 10000, "outbox");
    ht_sleep_ms(600);
    /* each failed try bumps attempts once: with one pass per row per try,
     * attempts grow like the number of passes, never double-counted */
    long long over = ht_pg_count("SELECT count(*) FROM sync_outbox WHERE attempts > 6");
    ck_assert_int_eq(over, 0);
    ht_redis_start();
    HT_EVENTUALLY(ht_pg_count("SELECT count(*) FROM sync_outbox") == 0, 20000, "never drained");
    ASSERT_EVENTUALLY_EQUAL(&a, 20000);
    ht_server_stop(&b);
    ht_server_stop(&a);
}
END_TEST

/* ---- Jobs applied together ------------------------------------------------ */

/* A request with a master's credential; the status, and the body in *out. */
static int as_master(struct ht_server *s, const char *method, const char *path, const char *mk,
                     const char *body, json_t **out)
{
    char auth[256];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", mk);
    struct ht_resp r;
    int st = ht_http(s->port, method, path, auth, body, body ? strlen(body) : 0, &r);
    if (out)
        *out = ht_resp_json(&r);
    ht_resp_free(&r);
    return st;
}

/* A master over bt-a and bt-b with no key limit: its id, its key into mk. */
static long long batch_master(struct ht_server *s, const char *name, char *mk, size_t mklen)
{
    char body[200];
    snprintf(body, sizeof body,
             "{\"name\":\"%s\",\"namespaces\":[\"bt-a\",\"bt-b\"],\"default_namespace\":\"bt-a\","
             "\"max_child_keys\":0}", name);
    json_t *j;
    ck_assert_int_eq(post(s, "/admin/masters", body, &j), 201);
    snprintf(mk, mklen, "%s", json_string_value(json_object_get(j, "master_key")));
    long long id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    return id;
}

static long long batch_issue(struct ht_server *s, const char *mk, int i)
{
    char body[64];
    snprintf(body, sizeof body, "{\"name\":\"bk%d\"}", i);
    json_t *j;
    ck_assert_int_eq(as_master(s, "POST", "/v1/tokens", mk, body, &j), 201);
    long long id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    return id;
}

/* auth:token:* keys in Redis; *with_ttl gets those with a TTL. */
static long long token_hashes(long long *with_ttl)
{
    redisContext *rc = ht_redis();
    long long n = 0;
    *with_ttl = 0;
    char cursor[32] = "0";
    do {
        redisReply *r = redisCommand(rc, "SCAN %s MATCH auth:token:* COUNT 1000", cursor);
        ck_assert(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2);
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            redisReply *t = redisCommand(rc, "TTL %s", r->element[1]->element[i]->str);
            n++;
            *with_ttl += t && t->type == REDIS_REPLY_INTEGER && t->integer > 0;
            freeReplyObject(t);
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    redisFree(rc);
    return n;
}

static long long sync_version(void)
{
    char *v = ht_redis_hget("meta:sync", "version");
    long long n = v ? atoll(v) : -1;
    free(v);
    return n;
}

/* Every kind of tenants job and catalog jobs, queued while the syncer is
 * stopped, are applied together once it resumes: few MULTI/EXEC, grace
 * TTLs kept, revoked and deleted secrets gone, Redis equal to PostgreSQL. */
START_TEST(jobs_queued_while_stopped_are_applied_together)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    ck_assert_int_eq(post(&s, "/admin/namespaces", "{\"name\":\"bt-a\"}", NULL), 201);
    ck_assert_int_eq(post(&s, "/admin/namespaces", "{\"name\":\"bt-b\"}", NULL), 201);
    char mk[128], gone_mk[128], path[96], body[96];
    long long mid = batch_master(&s, "bm", mk, sizeof mk);
    long long gone = batch_master(&s, "bm-gone", gone_mk, sizeof gone_mk);
    for (int i = 0; i < 3; i++)
        batch_issue(&s, gone_mk, 1000 + i);
    HT_EVENTUALLY(ht_redis_hexists("meta:sync", "last_full_sync_at"), 10000,
                  "no start-up full resync");
    ASSERT_EVENTUALLY_EQUAL(&s, 10000);
    char *full = ht_redis_hget("meta:sync", "last_full_sync_at");
    long long with_ttl, before = token_hashes(&with_ttl);
    ck_assert_int_eq(before, 3);

    pid_t sy = ht_server_child_pid(&s, "syncer");
    ck_assert(sy > 0);
    ck_assert_int_eq(kill(sy, SIGSTOP), 0);
    HT_EVENTUALLY(ht_proc_state(sy) == 'T', 2000, "the syncer did not stop");
    long long v0 = sync_version();
    int jobs = 0;
    long long ids[120];
    for (int i = 0; i < 120; i++, jobs++)
        ids[i] = batch_issue(&s, mk, i);
    for (int i = 0; i < 30; i++, jobs++) {
        snprintf(path, sizeof path, i < 20 ? "/v1/tokens/%lld/rotate" : "/v1/tokens/%lld",
                 ids[i]);
        snprintf(body, sizeof body, "{\"grace_seconds\":%d}", i < 10 ? 600 : 0);
        ck_assert_int_eq(as_master(&s, i < 20 ? "POST" : "DELETE", path, mk,
                                   i < 20 ? body : NULL, NULL), i < 20 ? 200 : 204);
    }
    snprintf(path, sizeof path, "/admin/masters/%lld/access", mid);
    ck_assert_int_eq(put(&s, path, "{\"namespaces\":[\"bt-a\"],\"propagate\":\"all\"}"), 200);
    snprintf(path, sizeof path, "/admin/masters/%lld", gone);
    struct ht_resp r;
    ck_assert_int_eq(ht_http(s.port, "DELETE", path, ht_auth(&s, "admin"), NULL, 0, &r), 204);
    ht_resp_free(&r);
    for (int i = 0; i < 20; i++, jobs++) {
        snprintf(body, sizeof body, "{\"name\":\"bt-n%d\"}", i);
        ck_assert_int_eq(post(&s, "/admin/namespaces", body, NULL), 201);
    }
    jobs += 2;
    ck_assert(!ht_redis_hexists("config:namespaces", "bt-n0"));
    ck_assert_int_eq(sync_version(), v0);

    ck_assert_int_eq(kill(sy, SIGCONT), 0);
    HT_EVENTUALLY(ht_redis_hexists("config:namespaces", "bt-n19"), 10000, "jobs never applied");
    ASSERT_EVENTUALLY_EQUAL(&s, 10000);
    struct ht_cmd c;
    ht_ezapi(&c, "verify", "-c", s.conf, NULL);
    ck_assert_msg(c.status == 0, "ezapi verify: %d %s", c.status, c.out);
    ht_cmd_free(&c);
    /* 110 keys left, plus the 10 secrets in a grace (with its TTL) */
    ck_assert_int_eq(token_hashes(&with_ttl), 120);
    ck_assert_int_eq(with_ttl, 10);
    long long writes = sync_version() - v0;
    ck_assert_msg(writes >= 1 && writes <= jobs / 10, "%lld MULTI/EXEC for %d jobs", writes, jobs);
    char *full_after = ht_redis_hget("meta:sync", "last_full_sync_at");
    ck_assert_msg(full && full_after && strcmp(full, full_after) == 0,
                  "a full resync ran: the jobs were not what applied the changes");
    free(full);
    free(full_after);
    ht_assert_clean_stop(&s);
}
END_TEST

/* Jobs the syncer holds when PostgreSQL goes away stay queued (not in the
 * outbox), the syncer waits without spinning, and they are applied once
 * PostgreSQL is back. */
START_TEST(jobs_held_while_postgres_is_away_are_applied_when_it_returns)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    HT_EVENTUALLY(ht_redis_hexists("meta:sync", "last_full_sync_at"), 10000,
                  "no start-up full resync");
    pid_t sy = ht_server_child_pid(&s, "syncer");
    ck_assert(sy > 0);
    ck_assert_int_eq(kill(sy, SIGSTOP), 0);
    HT_EVENTUALLY(ht_proc_state(sy) == 'T', 2000, "the syncer did not stop");
    for (int i = 0; i < 10; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"name\":\"pa%d\"}", i);
        ck_assert_int_eq(post(&s, "/admin/namespaces", body, NULL), 201);
    }
    ht_pg_stop();
    ck_assert_int_eq(kill(sy, SIGCONT), 0);
    ht_sleep_ms(1000);
    long t0 = ht_proc_cpu_ticks(sy);
    ht_sleep_ms(3000);
    long used = ht_proc_cpu_ticks(sy) - t0;
    ck_assert_msg(t0 >= 0 && used <= sysconf(_SC_CLK_TCK) * 3 / 10,
                  "the syncer used %ld clock ticks in 3 s while PostgreSQL was away", used);
    ck_assert(!ht_redis_hexists("config:namespaces", "pa0"));
    ht_pg_start();
    for (int i = 0; i < 10; i++) {
        char name[32];
        snprintf(name, sizeof name, "pa%d", i);
        HT_EVENTUALLY(ht_redis_hexists("config:namespaces", name), 20000, "%s never reached Redis",
                      name);
    }
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM sync_outbox"), 0);
    ck_assert_int_eq(ht_server_child_pid(&s, "syncer"), sy);
    ASSERT_EVENTUALLY_EQUAL(&s, 10000);
    ht_server_stop(&s);
}
END_TEST

/* The streaming resync interrupted half-way, once by PostgreSQL dropping the
 * syncer's connection and once by Redis dropping it: the requested run is
 * recorded as failed with its reason, and the syncer's next attempt leaves
 * Redis equal to PostgreSQL. */
static const char *last_run_status(char *error, size_t len)
{
    static char status[16];
    PGconn *pg = ht_pg();
    PGresult *res = PQexec(pg, "SELECT status, coalesce(error, '') FROM sync_runs "
                               "ORDER BY id DESC LIMIT 1");
    snprintf(status, sizeof status, "%s", PQntuples(res) ? PQgetvalue(res, 0, 0) : "");
    snprintf(error, len, "%s", PQntuples(res) ? PQgetvalue(res, 0, 1) : "");
    PQclear(res);
    PQfinish(pg);
    return status;
}

START_TEST(full_resync_interrupted_fails_and_the_next_one_repairs)
{
    struct ht_server s;
    ht_server_start(&s, "full_resync_interval = 0\n");
    json_t *j;
    ck_assert_int_eq(post(&s, "/admin/namespaces", "{\"name\":\"fr\"}", NULL), 201);
    ck_assert_int_eq(post(&s, "/admin/masters", "{\"name\":\"fr\",\"max_child_keys\":0,"
                          "\"namespaces\":[\"fr\"],\"default_namespace\":\"fr\"}", &j), 201);
    long long mid = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    char sql[600];
    snprintf(sql, sizeof sql,
             "INSERT INTO keys (master_id, name, group_name, issued_at_epoch, issued_by, "
             "namespaces, key_prefix) SELECT %lld, 'k' || i, 'default', "
             "(SELECT epoch FROM masters WHERE id = %lld), 'import', ARRAY['fr'], 'sk-ez-fr' "
             "FROM generate_series(1, 100000) i", mid, mid);
    PGconn *pg = ht_pg();
    PQclear(PQexec(pg, sql));
    PQclear(PQexec(pg, "INSERT INTO key_digests (digest, key_id) "
                       "SELECT md5(id::text) || md5((id + 1)::text), id FROM keys"));
    PQfinish(pg);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM key_digests"), 100000);
    for (int round = 0; round < 2; round++) {
        ck_assert_int_eq(post(&s, "/admin/sync/full", "{}", NULL), 202);
        char error[256];
        HT_EVENTUALLY(strcmp(last_run_status(error, sizeof error), "running") == 0, 20000,
                     "the requested resync never started");
        if (round == 0) {
            pg = ht_pg();
            PQclear(PQexec(pg, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE application_name = 'ezapi-syncer'"));
            PQfinish(pg);
        } else {
            redisContext *rc = ht_redis();
            freeReplyObject(redisCommand(rc, "CLIENT KILL TYPE normal"));
            redisFree(rc);
        }
        HT_EVENTUALLY(strcmp(last_run_status(error, sizeof error), "running") != 0, 30000,
                     "the interrupted resync never ended");
        ck_assert_msg(strcmp(last_run_status(error, sizeof error), "failed") == 0,
                      "round %d: the interrupted resync ended %s", round,
                      last_run_status(error, sizeof error));
        ck_assert_msg(error[0] != '\0', "round %d: a failed resync without its reason", round);
        ASSERT_EVENTUALLY_EQUAL(&s, 60000);
    }
    ht_server_stop(&s); /* the interruptions were provoked: errors in the log are expected */
}
END_TEST

static Suite *sync_suite(void)
{
    Suite *s = suite_create("sync");
    TCase *t = ht_tcase("guarantees");
    tcase_set_timeout(t, 240);
    tcase_add_test(t, verify_reports_differences_and_a_full_resync_repairs_them);
    tcase_add_test(t, syncer_killed_during_writes_loses_nothing);
    tcase_add_test(t, redis_lost_under_writes_is_restored);
    tcase_add_test(t, two_instances_racing_on_the_same_rows_converge);
    tcase_add_test(t, outbox_rows_are_never_processed_twice_at_once);
    tcase_add_test(t, jobs_queued_while_stopped_are_applied_together);
    tcase_add_test(t, jobs_held_while_postgres_is_away_are_applied_when_it_returns);
    tcase_add_test(t, full_resync_interrupted_fails_and_the_next_one_repairs);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return ht_run_suite(sync_suite());
}
