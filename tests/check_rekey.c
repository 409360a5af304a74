/* Rotating secrets_key without downtime: with secrets_key_previous every
 * process reads values sealed with the old key while writing with the new
 * one; `ezapi rekey` re-seals what is left, under a write load; once the
 * old key is dropped everything still opens and Redis still gets the right
 * upstream keys. A key that opens with neither is reported and left. */
#include "engines.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define K1 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define K2 "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
#define K3 "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
/* a busy machine may need more than the harness's 5 s to stop */
#define BASE_CONF "sync_outbox_interval = 200ms\nfull_resync_interval = 0\nshutdown_timeout = 15s\n"

/* Restarts s (same port and JWT secrets) with the given key lines. */
static void restart(struct ht_server *s, const char *keys)
{
    char conf[512];
    ht_assert_no_log_errors(s);
    ht_server_stop(s);
    snprintf(conf, sizeof conf, BASE_CONF "%s", keys);
    ht_server_write_conf(s, conf);
    ht_server_spawn(s);
    ht_server_wait_ready(s);
}

static void full_resync(struct ht_server *s)
{
    long mark = ht_server_log_mark(s);
    ck_assert_int_eq(eng_admin(s, "POST", "/admin/sync/full", NULL, NULL) / 100, 2);
    HT_EVENTUALLY(ht_server_log_contains_since(s, mark, "full resync done"), 60000,
                  "the full resync did not finish");
}

/* How many of the n upstream keys "sk-<tag>-<i>-bbbbbbbbbbbb" (i < n) the
 * Redis projection holds in clear; *empty gets the entries whose api_key
 * is empty (a key that could not be opened). */
static int keys_in_redis(const char *tag, int n, int *empty)
{
    redisContext *rc = ht_redis();
    redisReply *r = redisCommand(rc, "HVALS config:providers");
    ck_assert(r && r->type == REDIS_REPLY_ARRAY);
    char *seen = calloc((size_t)n + 1, 1);
    int found = 0;
    *empty = 0;
    for (size_t i = 0; i < r->elements; i++) {
        json_t *j = json_loads(r->element[i]->str, 0, NULL);
        const char *k = json_string_value(json_object_get(j, "api_key"));
        char want[64];
        int idx;
        if (!k || !*k)
            (*empty)++;
        else if (sscanf(k, "sk-%*[a-z]-%d-", &idx) == 1 && idx >= 0 && idx < n) {
            snprintf(want, sizeof want, "sk-%s-%d-bbbbbbbbbbbb", tag, idx);
            if (strcmp(k, want) == 0 && !seen[idx]) {
                seen[idx] = 1;
                found++;
            }
        }
        json_decref(j);
    }
    free(seen);
    freeReplyObject(r);
    redisFree(rc);
    return found;
}

static long long group_of(struct ht_server *s)
{
    json_t *j = NULL;
    ck_assert_int_eq(eng_admin(s, "POST", "/admin/providers/custom",
                             "{\"name\":\"g\",\"base_url\":\"https://up.example/v1\","
                             "\"api_key\":\"sk-first-0-bbbbbbbbbbbb\",\"models\":[\"m1\"]}",
                             &j),
                     201);
    long long gid = json_integer_value(json_object_get(json_object_get(j, "group"), "id"));
    json_decref(j);
    return gid;
}

static int add_key(struct ht_server *s, long long gid, const char *tag, int i)
{
    char body[160];
    snprintf(body, sizeof body, "{\"group_id\":%lld,\"api_key\":\"sk-%s-%d-bbbbbbbbbbbb\"}", gid,
             tag, i);
    return eng_admin(s, "POST", "/admin/api-keys", body, NULL);
}

START_TEST(rotates_the_key_under_load)
{
    struct ht_server s;
    ht_server_start(&s, BASE_CONF "secrets_key = " K1 "\n");
    long long gid = group_of(&s);
    enum { OLD = 40 };
    for (int i = 0; i < OLD; i++)
        ck_assert_int_eq(add_key(&s, gid, "old", i), 201);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM api_keys WHERE api_key NOT LIKE 'enc:v1:%'"),
                     0);

    /* the new key writes, the old one still reads */
    restart(&s, "secrets_key = " K2 "\nsecrets_key_previous = " K1 "\n");
    full_resync(&s);
    int empty;
    ck_assert_int_eq(keys_in_redis("old", OLD, &empty), OLD);
    ck_assert_int_eq(empty, 0);

    /* rekey while a client keeps adding keys */
    fflush(NULL);
    pid_t kid = fork();
    ck_assert(kid >= 0);
    if (kid == 0) {
        for (int i = 0; i < 400; i++)
            if (add_key(&s, gid, "new", i) != 201)
                _exit(1);
        _exit(0);
    }
    HT_EVENTUALLY(ht_pg_count("SELECT count(*) FROM api_keys") > OLD + 20, 30000,
                  "the load did not start");
    char *out = NULL;
    int st = eng_ezapi(&s, "rekey", &out);
    ck_assert_msg(st == 0, "rekey: %d %s", st, out);
    ck_assert_msg(strstr(out, "left on another key: 0"), "%s", out);
    ck_assert_msg(strstr(out, "unreadable with either key: 0"), "%s", out);
    long long resealed = -1;
    const char *line = strstr(out, "re-sealed: ");
    ck_assert(line && sscanf(line, "re-sealed: %lld", &resealed) == 1);
    ck_assert_int_eq(resealed, OLD + 1); /* the old keys and the group's first key */
    free(out);
    int kst;
    waitpid(kid, &kst, 0);
    ck_assert_msg(WIFEXITED(kst) && WEXITSTATUS(kst) == 0, "the load failed");
    /* a second run finds nothing to do */
    st = eng_ezapi(&s, "rekey", &out);
    ck_assert_msg(st == 0 && strstr(out, "re-sealed: 0"), "second rekey: %d %s", st, out);
    free(out);

    /* the old key is dropped: everything still opens */
    restart(&s, "secrets_key = " K2 "\n");
    full_resync(&s);
    ck_assert_int_eq(keys_in_redis("old", OLD, &empty), OLD);
    ck_assert_int_eq(empty, 0);
    ck_assert_int_eq(keys_in_redis("new", 400, &empty), 400);
    ck_assert_int_eq(empty, 0);
    json_t *j = NULL;
    ck_assert_int_eq(eng_admin(&s, "GET", "/admin/api-keys?limit=5", NULL, &j), 200);
    json_decref(j);
    struct ht_cmd c;
    ht_ezapi(&c, "verify", "-c", s.conf, NULL);
    ck_assert_msg(c.status == 0, "verify: %s", c.out);
    ht_cmd_free(&c);
    ht_assert_clean_stop(&s);
}
END_TEST

/* A config whose keys open nothing stored: rekey says so, changes nothing
 * and exits non-zero. */
START_TEST(keys_that_open_with_neither_key_are_reported_and_left)
{
    struct ht_server s;
    ht_server_start(&s, BASE_CONF "secrets_key = " K1 "\n");
    long long gid = group_of(&s);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(add_key(&s, gid, "old", i), 201);
    ht_server_stop(&s);
    long long before = ht_pg_count("SELECT sum(hashtext(api_key)) FROM api_keys");
    ht_server_write_conf(&s, BASE_CONF "secrets_key = " K3 "\nsecrets_key_previous = " K2 "\n");
    char *out = NULL;
    int st = eng_ezapi(&s, "rekey", &out);
    ck_assert_msg(st == 1, "rekey: %d %s", st, out);
    ck_assert_msg(strstr(out, "unreadable with either key: 6"), "%s", out);
    ck_assert_msg(strstr(out, "left on another key: 6"), "%s", out);
    ck_assert_msg(strstr(out, "sk-") == NULL && strstr(out, "enc:v1:") == NULL,
                  "rekey printed a key: %s", out);
    free(out);
    ck_assert_int_eq(ht_pg_count("SELECT sum(hashtext(api_key)) FROM api_keys"), before);
    /* the same keys with the right previous key: all re-sealed */
    ht_server_write_conf(&s, BASE_CONF "secrets_key = " K3 "\nsecrets_key_previous = " K1 "\n");
    st = eng_ezapi(&s, "rekey", &out);
    ck_assert_msg(st == 0 && strstr(out, "re-sealed: 6"), "rekey: %d %s", st, out);
    free(out);
    ck_assert(ht_pg_count("SELECT sum(hashtext(api_key)) FROM api_keys") != before);
}
END_TEST

START_TEST(the_config_check_takes_the_previous_key)
{
    struct ht_server s;
    ht_server_init(&s, "secrets_key = " K2 "\nsecrets_key_previous = " K1 "\n");
    struct ht_cmd c;
    ht_ezapi(&c, "-T", "-c", s.conf, NULL);
    ck_assert_msg(c.status == 0, "%s", c.err);
    ck_assert_msg(strstr(c.out, "secrets_key_previous") && strstr(c.out, K1) == NULL,
                  "-T shows the previous key: %s", c.out);
    ht_cmd_free(&c);
    ht_server_write_conf(&s, "secrets_key = " K2 "\nsecrets_key_previous = 0102\n");
    ht_ezapi(&c, "-t", "-c", s.conf, NULL);
    ck_assert_int_eq(c.status, 78);
    ck_assert_msg(strstr(c.err, "secrets_key_previous") && strstr(c.err, "32 bytes"), "%s", c.err);
    ht_cmd_free(&c);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("rekey");
    TCase *t = ht_tcase("rekey");
    tcase_set_timeout(t, 240);
    tcase_add_test(t, rotates_the_key_under_load);
    tcase_add_test(t, keys_that_open_with_neither_key_are_reported_and_left);
    tcase_add_test(t, the_config_check_takes_the_previous_key);
    suite_add_tcase(suite, t);
    return ht_run_suite(suite);
}
