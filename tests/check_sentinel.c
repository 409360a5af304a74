/* Redis Sentinel failover with the real engines: one master, one replica and
 * three Sentinels on loopback (Debian's redis-server and redis-sentinel),
 * ezapi reaching Redis through redis-sentinel://. The master is SIGKILLed
 * under a write load; every acknowledged change must reach the new master
 * and `ezapi verify` must be clean. The time from the kill to the first
 * change seen on the new master is printed (bench/failover.sh records it),
 * never asserted. */
#include "engines.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MASTER_NAME "ezmaster"
#define NSENTINELS 3

struct node {
    pid_t pid;
    int port;
    char log[320];
};

struct cluster {
    struct node master, replica, sentinel[NSENTINELS];
};

static redisContext *connect_node(int port)
{
    struct timeval tv = { 1, 0 };
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (c && c->err) {
        redisFree(c);
        return NULL;
    }
    if (c)
        redisSetTimeout(c, tv);
    return c;
}

/* The first word of ROLE on the node at port ("master", "slave",
 * "sentinel"), or "" when it does not answer. Static buffer. */
static const char *role(int port)
{
    static char out[32];
    out[0] = '\0';
    redisContext *c = connect_node(port);
    redisReply *r = c ? redisCommand(c, "ROLE") : NULL;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
        r->element[0]->type == REDIS_REPLY_STRING)
        snprintf(out, sizeof out, "%s", r->element[0]->str);
    if (r)
        freeReplyObject(r);
    if (c)
        redisFree(c);
    return out;
}

/* 1 when HGET key field on the node at port has a value. */
static int has_field(int port, const char *key, const char *field)
{
    redisContext *c = connect_node(port);
    redisReply *r = c ? redisCommand(c, "HEXISTS %s %s", key, field) : NULL;
    int yes = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    if (r)
        freeReplyObject(r);
    if (c)
        redisFree(c);
    return yes;
}

static int has_ns(int port, int i)
{
    char f[16];
    snprintf(f, sizeof f, "ns-%d", i);
    return has_field(port, "config:namespaces", f);
}

static void start_redis(struct node *n, const char *dir, const char *name, int replica_of)
{
    char port[16], master_port[16];
    n->port = eng_free_port();
    snprintf(port, sizeof port, "%d", n->port);
    snprintf(master_port, sizeof master_port, "%d", replica_of);
    snprintf(n->log, sizeof n->log, "%s/%s.log", dir, name);
    char *argv[] = { "/usr/bin/redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
                     "--appendonly", "no", "--dir", (char *)dir, "--dbfilename", (char *)name,
                     "--daemonize", "no",
                     replica_of ? "--replicaof" : NULL, "127.0.0.1", master_port, NULL };
    n->pid = eng_spawn(argv, n->log, 0, SIGKILL);
    HT_EVENTUALLY(role(n->port)[0] != '\0', 20000, "%s did not start (see %s)", name, n->log);
}

static void start_sentinel(struct node *n, const char *dir, int i, int master_port)
{
    char conf[320], text[600], port[16];
    n->port = eng_free_port();
    snprintf(port, sizeof port, "%d", n->port);
    snprintf(conf, sizeof conf, "%s/sentinel%d.conf", dir, i);
    snprintf(n->log, sizeof n->log, "%s/sentinel%d.log", dir, i);
    /* A master is down after 1 s without an answer; two of three agree. */
    snprintf(text, sizeof text,
             "port %d\nbind 127.0.0.1\ndir %s\n"
             "sentinel monitor " MASTER_NAME " 127.0.0.1 %d 2\n"
             "sentinel down-after-milliseconds " MASTER_NAME " 1000\n"
             "sentinel failover-timeout " MASTER_NAME " 10000\n"
             "sentinel parallel-syncs " MASTER_NAME " 1\n",
             n->port, dir, master_port);
    ht_write_file(conf, text);
    char *argv[] = { "/usr/bin/redis-sentinel", conf, NULL };
    n->pid = eng_spawn(argv, n->log, 0, SIGKILL);
    HT_EVENTUALLY(strcmp(role(n->port), "sentinel") == 0, 20000, "sentinel %d did not start (see %s)",
                  i, n->log);
}

static void stop_node(struct node *n)
{
    if (n->pid > 0) {
        kill(n->pid, SIGKILL);
        waitpid(n->pid, NULL, 0);
    }
    n->pid = 0;
}

/* The port of the master the Sentinel at port names, or 0. */
static int sentinel_master(int port)
{
    redisContext *c = connect_node(port);
    redisReply *r = c ? redisCommand(c, "SENTINEL get-master-addr-by-name " MASTER_NAME) : NULL;
    int p = 0;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2)
        p = atoi(r->element[1]->str);
    if (r)
        freeReplyObject(r);
    if (c)
        redisFree(c);
    return p;
}

/* The number of replicas a Sentinel knows for the master (after it has
 * asked the master for INFO), or -1. */
static int sentinel_replicas(int port)
{
    redisContext *c = connect_node(port);
    redisReply *r = c ? redisCommand(c, "SENTINEL replicas " MASTER_NAME) : NULL;
    int n = r && r->type == REDIS_REPLY_ARRAY ? (int)r->elements : -1;
    if (r)
        freeReplyObject(r);
    if (c)
        redisFree(c);
    return n;
}

/* Sentinels that see the others: each reports num-other-sentinels. */
static int sentinel_peers(int port)
{
    redisContext *c = connect_node(port);
    redisReply *r = c ? redisCommand(c, "SENTINEL master " MASTER_NAME) : NULL;
    int n = -1;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
        if (strcmp(r->element[i]->str, "num-other-sentinels") == 0)
            n = atoi(r->element[i + 1]->str);
    if (r)
        freeReplyObject(r);
    if (c)
        redisFree(c);
    return n;
}

static void start_cluster(struct cluster *cl, const char *dir)
{
    start_redis(&cl->master, dir, "master", 0);
    start_redis(&cl->replica, dir, "replica", cl->master.port);
    HT_EVENTUALLY(strcmp(role(cl->replica.port), "slave") == 0, 20000, "the replica did not start");
    for (int i = 0; i < NSENTINELS; i++)
        start_sentinel(&cl->sentinel[i], dir, i, cl->master.port);
    for (int i = 0; i < NSENTINELS; i++) {
        HT_EVENTUALLY(sentinel_replicas(cl->sentinel[i].port) == 1, 30000,
                      "sentinel %d never saw the replica", i);
        HT_EVENTUALLY(sentinel_peers(cl->sentinel[i].port) == NSENTINELS - 1, 30000,
                      "sentinel %d never saw the other Sentinels", i);
    }
}

static void stop_cluster(struct cluster *cl)
{
    for (int i = 0; i < NSENTINELS; i++)
        stop_node(&cl->sentinel[i]);
    stop_node(&cl->replica);
    stop_node(&cl->master);
}

static char *sentinel_conf(const struct cluster *cl, const char *extra)
{
    static char conf[1024];
    snprintf(conf, sizeof conf,
             "redis_url = redis-sentinel://127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d/" MASTER_NAME
             "/0\nsync_outbox_interval = 200ms\n%s",
             cl->sentinel[0].port, cl->sentinel[1].port, cl->sentinel[2].port, extra);
    return conf;
}

static int create_namespace(struct ht_server *s, int i)
{
    char body[64];
    snprintf(body, sizeof body, "{\"name\":\"ns-%d\"}", i);
    return eng_admin(s, "POST", "/admin/namespaces", body, NULL);
}

/* A server on the Sentinels of cl (started in its directory), ready. */
static void start_on_sentinels(struct cluster *cl, struct ht_server *s)
{
    memset(cl, 0, sizeof *cl);
    ht_server_init(s, "");
    start_cluster(cl, s->dir);
    ht_server_write_conf(s, sentinel_conf(cl, ""));
    ht_server_spawn(s);
    ht_server_wait_ready(s);
}

/* ---- Tests ---------------------------------------------------------------- */

START_TEST(finds_the_master_through_the_sentinels)
{
    struct cluster cl;
    struct ht_server s;
    memset(&cl, 0, sizeof cl);
    ht_server_init(&s, "");
    start_cluster(&cl, s.dir);
    /* the first Sentinel listed is down: the others answer */
    struct node dead = cl.sentinel[0];
    stop_node(&cl.sentinel[0]);
    ht_server_write_conf(&s, sentinel_conf(&cl, ""));
    cl.sentinel[0] = dead;
    cl.sentinel[0].pid = 0;
    ht_server_spawn(&s);
    ht_server_wait_ready(&s);
    ck_assert_int_eq(create_namespace(&s, 1), 201);
    HT_EVENTUALLY(has_ns(cl.master.port, 1), 10000, "the change never reached the master");
    char *why = NULL;
    ck_assert_msg(eng_ezapi(&s, "verify", &why) == 0, "verify: %s", why);
    free(why);
    ck_assert(ht_server_log_contains(&s, "Redis master " MASTER_NAME " is at 127.0.0.1:"));
    ht_assert_clean_stop(&s);
    stop_cluster(&cl);
}
END_TEST

START_TEST(a_master_named_by_no_sentinel_is_an_outage_not_a_crash)
{
    struct cluster cl;
    struct ht_server s;
    memset(&cl, 0, sizeof cl);
    ht_server_init(&s, "");
    start_cluster(&cl, s.dir);
    char conf[1100];
    snprintf(conf, sizeof conf,
             "redis_url = redis-sentinel://127.0.0.1:%d/nosuchmaster/0\n", cl.sentinel[1].port);
    ht_server_write_conf(&s, conf);
    ht_server_spawn(&s);
    /* PostgreSQL holds the truth: the write is acknowledged and outboxed */
    HT_EVENTUALLY(create_namespace(&s, 1) == 201, 20000, "no 201 without Redis");
    HT_EVENTUALLY(ht_server_log_contains(&s, "does not know a master named nosuchmaster"), 10000,
                  "the Sentinel's answer was not logged");
    HT_EVENTUALLY(ht_pg_count("SELECT count(*) FROM sync_outbox") >= 1, 10000,
                  "the change did not go to the outbox");
    struct ht_cmd c;
    ht_ezapi(&c, "verify", "-c", s.conf, NULL);
    ck_assert_msg(c.status != 0, "verify passed without a master: %s", c.out);
    ht_cmd_free(&c);
    ht_server_stop(&s);
    stop_cluster(&cl);
}
END_TEST

/* A switchover done by hand behind the Sentinels' back: the replica is
 * promoted and the master made its replica. The syncer's connection to the
 * old master answers READONLY; ezapi drops it, finds that the node the
 * Sentinels still name is no master, keeps the changes in the outbox, and
 * applies them once the Sentinels agree on the new master. */
START_TEST(a_demoted_master_answering_readonly_is_left)
{
    struct cluster cl;
    struct ht_server s;
    start_on_sentinels(&cl, &s);
    ck_assert_int_eq(create_namespace(&s, 0), 201);
    HT_EVENTUALLY(has_ns(cl.master.port, 0), 10000, "the change never reached the master");
    HT_EVENTUALLY(has_ns(cl.replica.port, 0), 10000, "the change never reached the replica");
    char port[16];
    redisContext *r = connect_node(cl.replica.port), *m = connect_node(cl.master.port);
    ck_assert(r != NULL && m != NULL);
    freeReplyObject(redisCommand(r, "REPLICAOF NO ONE"));
    snprintf(port, sizeof port, "%d", cl.replica.port);
    freeReplyObject(redisCommand(m, "REPLICAOF 127.0.0.1 %s", port));
    redisFree(r);
    redisFree(m);
    long mark = ht_server_log_mark(&s);
    for (int i = 1; i < 20; i++) {
        ck_assert_int_eq(create_namespace(&s, i), 201);
        ht_sleep_ms(50);
    }
    HT_EVENTUALLY(ht_server_log_contains_since(&s, mark, "Redis answered READONLY"), 10000,
                  "the READONLY answer went unnoticed");
    HT_EVENTUALLY(sentinel_master(cl.sentinel[0].port) == cl.replica.port, 120000,
                  "the Sentinels never named the new master");
    for (int i = 0; i < 20; i++)
        HT_EVENTUALLY(has_ns(cl.replica.port, i), 30000, "ns-%d never reached the new master", i);
    HT_EVENTUALLY(eng_ezapi(&s, "verify", NULL) == 0, 30000, "verify never became clean");
    ck_assert(ht_server_log_contains_since(&s, mark, "moved from 127.0.0.1:"));
    ht_server_stop(&s);
    stop_cluster(&cl);
}
END_TEST

START_TEST(survives_a_sigkilled_master_under_load)
{
    struct cluster cl;
    struct ht_server s;
    start_on_sentinels(&cl, &s);

    enum { BEFORE = 30, MAX = 4000 };
    static char acked[MAX];
    int n = 0, first_after = -1;
    int64_t killed_at = 0, first_seen_at = 0;
    for (; n < BEFORE; n++)
        acked[n] = create_namespace(&s, n) == 201;
    stop_node(&cl.master);
    killed_at = ht_now_ms();
    /* keep writing until a change written after the kill is on the new
     * master, and a little longer */
    int64_t stop_at = 0;
    while (n < MAX && (stop_at == 0 || ht_now_ms() < stop_at)) {
        acked[n] = create_namespace(&s, n) == 201;
        if (first_after < 0 && acked[n])
            first_after = n;
        n++;
        if (first_seen_at == 0 && first_after >= 0) {
            if (has_ns(cl.replica.port, first_after)) {
                first_seen_at = ht_now_ms();
                stop_at = first_seen_at + 1000;
            }
        }
        ck_assert_msg(ht_now_ms() - killed_at < 90000, "no change reached the new master in 90 s");
        ht_sleep_ms(20);
    }
    ck_assert_str_eq(role(cl.replica.port), "master");
    ck_assert_int_eq(sentinel_master(cl.sentinel[1].port), cl.replica.port);
    int nacked = 0;
    for (int i = 0; i < n; i++) {
        if (!acked[i])
            continue;
        nacked++;
        HT_EVENTUALLY(has_ns(cl.replica.port, i), 30000,
                      "acknowledged ns-%d is not on the new master", i);
    }
    HT_EVENTUALLY(eng_ezapi(&s, "verify", NULL) == 0, 30000, "verify never became clean");
    char *why = NULL;
    ck_assert_msg(eng_ezapi(&s, "verify", &why) == 0, "verify: %s", why);
    free(why);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM namespaces WHERE name LIKE 'ns-%'"), nacked);
    HT_EVENTUALLY(ht_pg_count("SELECT count(*) FROM sync_outbox") == 0, 30000,
                  "the outbox did not drain");
    printf("sentinel failover: %d changes acknowledged (%d after the kill); "
           "kill to first change on the new master: %lld ms\n",
           nacked, n - BEFORE, (long long)(first_seen_at - killed_at));
    fflush(stdout);
    ht_server_stop(&s);
    stop_cluster(&cl);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("sentinel");
    TCase *t = ht_tcase("sentinel");
    tcase_set_timeout(t, 240);
    tcase_add_test(t, finds_the_master_through_the_sentinels);
    tcase_add_test(t, a_master_named_by_no_sentinel_is_an_outage_not_a_crash);
    tcase_add_test(t, a_demoted_master_answering_readonly_is_left);
    tcase_add_test(t, survives_a_sigkilled_master_under_load);
    suite_add_tcase(suite, t);
    return ht_run_suite(suite);
}
