/* Many ezapi instances on one PostgreSQL and one Redis, as behind a load
 * balancer: a mixed write load spread round robin over three instances,
 * one of them SIGKILLed mid-load and restarted; everything converges
 * (`ezapi verify` clean, every acknowledged change in Redis, the outbox
 * empty), and full resyncs started on two instances at once leave Redis
 * equal to PostgreSQL. */
#include "engines.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NINST 3

/* Three instances sharing one config but for the port (one worker each:
 * the machine has two cores for the whole test). */
static void start_instances(struct ht_server *s, const char *extra)
{
    char conf[1024];
    ht_server_start(&s[0], extra);
    snprintf(conf, sizeof conf, "admin_jwt_secret = %s\nmaster_jwt_secret = %s\n%s",
             s[0].admin_secret, s[0].master_secret, extra);
    for (int i = 1; i < NINST; i++)
        ht_server_start(&s[i], conf);
}

static void assert_converges(struct ht_server *s)
{
    HT_EVENTUALLY(ht_pg_count("SELECT count(*) FROM sync_outbox") == 0, 60000,
                  "the outbox did not drain");
    HT_EVENTUALLY(eng_ezapi(s, "verify", NULL) == 0, 60000, "verify never became clean");
    char *out = NULL;
    ck_assert_msg(eng_ezapi(s, "verify", &out) == 0, "verify: %s", out);
    free(out);
}

/* A provider group for the load to update: its id. */
static long long make_group(struct ht_server *s)
{
    json_t *j = NULL;
    ck_assert_int_eq(eng_admin(s, "POST", "/admin/namespaces", "{\"name\":\"shared\"}", NULL), 201);
    ck_assert_int_eq(eng_admin(s, "POST", "/admin/providers/custom",
                             "{\"name\":\"g\",\"base_url\":\"https://up.example/v1\","
                             "\"api_key\":\"sk-g-aaaaaaaaaaaa\",\"models\":[\"m1\",\"m2\"]}",
                             &j),
                     201);
    long long gid = json_integer_value(json_object_get(json_object_get(j, "group"), "id"));
    json_decref(j);
    ck_assert(gid > 0);
    return gid;
}

/* One client of the load: round robin over the instances from its own
 * offset, creating namespaces, updating the shared group and adding API
 * keys to it. Writes the names of the namespaces acknowledged to fd, one
 * a line. Requests to an instance that is down fail and are not retried. */
static void client(struct ht_server *s, int k, int n, long long gid, int fd)
{
    char path[64], body[200];
    snprintf(path, sizeof path, "/admin/provider-groups/%lld", gid);
    ht_http_timeout_ms = 5000;
    for (int i = 0; i < n; i++) {
        struct ht_server *to = &s[(k + i) % NINST];
        int st;
        switch (i % 3) {
        case 0:
            snprintf(body, sizeof body, "{\"name\":\"c%d-%d\"}", k, i);
            st = eng_admin(to, "POST", "/admin/namespaces", body, NULL);
            if (st == 201) {
                char line[32];
                int len = snprintf(line, sizeof line, "c%d-%d\n", k, i);
                if (write(fd, line, (size_t)len) != len)
                    _exit(2);
            }
            break;
        case 1:
            snprintf(body, sizeof body, "{\"models\":[\"m1\",\"m2\",\"c%d-%d\"],\"status\":\"%s\"}",
                     k, i, (i + k) % 4 ? "active" : "disabled");
            st = eng_admin(to, "PUT", path, body, NULL);
            break;
        default:
            snprintf(body, sizeof body, "{\"group_id\":%lld,\"api_key\":\"sk-c%d-%d-bbbbbbbbbbbb\"}",
                     gid, k, i);
            st = eng_admin(to, "POST", "/admin/api-keys", body, NULL);
            break;
        }
        /* an instance being killed or restarting: anything but a 5xx
         * from an instance that answers is a bug */
        if (st >= 400 && st != 503)
            _exit(3);
    }
    _exit(0);
}

START_TEST(three_instances_converge_after_one_is_killed_mid_load)
{
    struct ht_server s[NINST];
    start_instances(s, "workers = 1\nsync_outbox_interval = 200ms\n");
    long long gid = make_group(&s[0]);
    int fds[2];
    ck_assert(pipe(fds) == 0);
    pid_t kids[NINST];
    for (int k = 0; k < NINST; k++) {
        fflush(NULL);
        kids[k] = fork();
        ck_assert(kids[k] >= 0);
        if (kids[k] == 0) {
            close(fds[0]);
            client(s, k, 240, gid, fds[1]);
        }
    }
    close(fds[1]);
    /* mid-load: the second instance is killed outright, then restarted */
    HT_EVENTUALLY(ht_pg_count("SELECT count(*) FROM namespaces") >= 40, 60000,
                  "the load did not start");
    ht_server_signal(&s[1], SIGKILL);
    ck_assert_int_eq(ht_server_wait_exit(&s[1], 20000), 128 + SIGKILL);
    ht_sleep_ms(300); /* its children die with it (PR_SET_PDEATHSIG) */
    ht_server_spawn(&s[1]);
    ht_server_wait_ready(&s[1]);

    char buf[65536];
    size_t len = 0;
    ssize_t r;
    while ((r = read(fds[0], buf + len, sizeof buf - 1 - len)) > 0 ||
           (r < 0 && errno == EINTR))
        len += r > 0 ? (size_t)r : 0;
    buf[len] = '\0';
    close(fds[0]);
    for (int k = 0; k < NINST; k++) {
        int st;
        waitpid(kids[k], &st, 0);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "client %d failed: %d", k, st);
    }
    assert_converges(&s[2]);
    /* every acknowledged namespace is in PostgreSQL and in Redis */
    int nacked = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        char *v = ht_redis_hget("config:namespaces", line);
        ck_assert_msg(v != NULL, "acknowledged %s is not in Redis", line);
        free(v);
        nacked++;
    }
    ck_assert_int_gt(nacked, 0);
    ck_assert_int_le(nacked, ht_pg_count("SELECT count(*) FROM namespaces WHERE name LIKE 'c%'"));
    for (int i = 0; i < NINST; i++)
        ht_server_stop(&s[i]);
}
END_TEST

/* Full resyncs asked of two instances at once, with writes meanwhile:
 * each runs to its end and Redis is equal to PostgreSQL afterwards. */
START_TEST(concurrent_full_resyncs_do_not_corrupt_each_other)
{
    struct ht_server s[NINST];
    start_instances(s, "workers = 1\nsync_outbox_interval = 200ms\nfull_resync_interval = 0\n");
    long long gid = make_group(&s[0]);
    char body[200];
    for (int i = 0; i < 60; i++) {
        snprintf(body, sizeof body, "{\"group_id\":%lld,\"api_key\":\"sk-p-%d-bbbbbbbbbbbb\"}", gid, i);
        ck_assert_int_eq(eng_admin(&s[i % NINST], "POST", "/admin/api-keys", body, NULL), 201);
        snprintf(body, sizeof body, "{\"name\":\"pre-%d\"}", i);
        ck_assert_int_eq(eng_admin(&s[i % NINST], "POST", "/admin/namespaces", body, NULL), 201);
    }
    assert_converges(&s[0]);
    /* stale keys a resync must remove, and a value it must restore */
    redisContext *rc = ht_redis();
    freeReplyObject(redisCommand(rc, "HSET config:namespaces ghost {}"));
    freeReplyObject(redisCommand(rc, "HDEL config:namespaces pre-3"));
    redisFree(rc);
    ck_assert(eng_ezapi(&s[0], "verify", NULL) != 0);
    long mark0 = ht_server_log_mark(&s[0]), mark2 = ht_server_log_mark(&s[2]);
    pid_t kid = fork();
    ck_assert(kid >= 0);
    if (kid == 0)
        _exit(eng_admin(&s[2], "POST", "/admin/sync/full", NULL, NULL) / 100 == 2 ? 0 : 1);
    ck_assert_int_eq(eng_admin(&s[0], "POST", "/admin/sync/full", NULL, NULL) / 100, 2);
    int st;
    waitpid(kid, &st, 0);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    for (int i = 60; i < 90; i++) {
        snprintf(body, sizeof body, "{\"name\":\"during-%d\"}", i);
        ck_assert_int_eq(eng_admin(&s[i % NINST], "POST", "/admin/namespaces", body, NULL), 201);
    }
    HT_EVENTUALLY(ht_server_log_contains_since(&s[0], mark0, "full resync done"), 60000,
                  "the first instance's resync did not finish");
    HT_EVENTUALLY(ht_server_log_contains_since(&s[2], mark2, "full resync done"), 60000,
                  "the third instance's resync did not finish");
    assert_converges(&s[1]);
    char *ghost = ht_redis_hget("config:namespaces", "ghost");
    ck_assert_msg(ghost == NULL, "a stale key survived both resyncs");
    char *pre3 = ht_redis_hget("config:namespaces", "pre-3");
    ck_assert_msg(pre3 != NULL, "a missing key was not restored");
    free(pre3);
    for (int i = 0; i < NINST; i++)
        ht_assert_clean_stop(&s[i]);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("instances");
    TCase *t = ht_tcase("instances");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, three_instances_converge_after_one_is_killed_mid_load);
    tcase_add_test(t, concurrent_full_resyncs_do_not_corrupt_each_other);
    suite_add_tcase(suite, t);
    return ht_run_suite(suite);
}
