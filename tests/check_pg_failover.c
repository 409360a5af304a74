/* PostgreSQL failover with the real engine: a primary and a synchronous
 * standby made with pg_basebackup -R, ezapi on a two-host pg_dsn with
 * target_session_attrs=read-write. Under a write load the primary is
 * stopped with -m immediate and the standby promoted with pg_ctl promote:
 * requests in the gap answer 503 unavailable_error, every process recovers
 * by itself, no acknowledged change is lost, the audit log has each once
 * and the outbox drains. The time to recover is printed (bench/failover.sh
 * records it), never asserted. */
#include "engines.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG_BIN "/usr/lib/postgresql/15/bin"

struct pg {
    pid_t pid;
    int port;
    char data[320];
    char log[320];
};

static PGconn *pg_connect(int port, const char *db)
{
    char info[200];
    snprintf(info, sizeof info, "host=127.0.0.1 port=%d dbname=%s user=postgres connect_timeout=2",
             port, db);
    PGconn *c = PQconnectdb(info);
    if (PQstatus(c) != CONNECTION_OK) {
        PQfinish(c);
        return NULL;
    }
    return c;
}

/* The first column of the first row of sql on the server at port, as a
 * number; -1 when it cannot be had. */
static long long pg_value(int port, const char *sql)
{
    PGconn *c = pg_connect(port, "ezapi");
    long long v = -1;
    PGresult *r = c ? PQexec(c, sql) : NULL;
    if (r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    PQfinish(c);
    return v;
}

static void pg_start(struct pg *p)
{
    char port[16];
    snprintf(port, sizeof port, "%d", p->port);
    char *argv[] = { PG_BIN "/postgres", "-D", p->data, "-p", port, "-k", p->data,
                     "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                     "-c", "max_connections=100", NULL };
    p->pid = eng_spawn(argv, p->log, 1, SIGQUIT);
    int64_t end = ht_now_ms() + 60000;
    for (;;) {
        PGconn *c = pg_connect(p->port, "postgres");
        if (c) {
            PQfinish(c);
            return;
        }
        ck_assert_msg(waitpid(p->pid, NULL, WNOHANG) == 0, "postgres exited (see %s)", p->log);
        ck_assert_msg(ht_now_ms() < end, "postgres not up in 60 s (see %s)", p->log);
        ht_sleep_ms(100);
    }
}

/* -m immediate: SIGQUIT to the postmaster, as pg_ctl stop -m immediate. */
static void pg_stop_immediate(struct pg *p)
{
    if (p->pid > 0) {
        kill(p->pid, SIGQUIT);
        waitpid(p->pid, NULL, 0);
    }
    p->pid = 0;
}

struct pair {
    struct pg primary, standby;
};

/* A primary whose commits wait for the standby's flush
 * (synchronous_standby_names = '*'), and a standby cloned from it. */
static void start_pair(struct pair *pp, const char *dir)
{
    char root[280], lg[340];
    snprintf(root, sizeof root, "%.250s/pg", dir);
    ck_assert(mkdir(root, 0755) == 0);
    eng_give_to_postgres(root);
    chmod(dir, 0755);
    struct pg *p = &pp->primary, *s = &pp->standby;
    p->port = eng_free_port();
    s->port = eng_free_port();
    snprintf(p->data, sizeof p->data, "%s/primary", root);
    snprintf(s->data, sizeof s->data, "%s/standby", root);
    snprintf(p->log, sizeof p->log, "%s/primary.log", root);
    snprintf(s->log, sizeof s->log, "%s/standby.log", root);
    snprintf(lg, sizeof lg, "%s/tools.log", root);
    char *initdb[] = { PG_BIN "/initdb", "-D", p->data, "-A", "trust", "-U", "postgres", "--no-sync",
                       NULL };
    ck_assert_msg(eng_run(initdb, lg, 1) == 0, "initdb failed (see %s)", lg);
    pg_start(p);
    PGconn *c = pg_connect(p->port, "postgres");
    ck_assert(c != NULL);
    PQclear(PQexec(c, "CREATE DATABASE ezapi"));
    char port[16];
    snprintf(port, sizeof port, "%d", p->port);
    char *base[] = { PG_BIN "/pg_basebackup", "-h", "127.0.0.1", "-p", port, "-U", "postgres",
                     "-D", s->data, "-R", "-X", "stream", "-c", "fast", "--no-sync", NULL };
    ck_assert_msg(eng_run(base, lg, 1) == 0, "pg_basebackup failed (see %s)", lg);
    pg_start(s);
    /* only now: with no standby yet, every commit would wait */
    PQclear(PQexec(c, "ALTER SYSTEM SET synchronous_standby_names = '*'"));
    PQclear(PQexec(c, "SELECT pg_reload_conf()"));
    PQfinish(c);
    HT_EVENTUALLY(pg_value(p->port, "SELECT count(*) FROM pg_stat_replication "
                                    "WHERE sync_state = 'sync'") == 1,
                  60000, "the standby never became synchronous (see %s)", s->log);
}

static void stop_pair(struct pair *pp)
{
    pg_stop_immediate(&pp->primary);
    pg_stop_immediate(&pp->standby);
}

static const char *pair_conf(const struct pair *pp, const char *extra)
{
    static char conf[1024];
    snprintf(conf, sizeof conf,
             "pg_dsn = host=127.0.0.1,127.0.0.1 port=%d,%d dbname=ezapi user=postgres "
             "target_session_attrs=read-write connect_timeout=2\n"
             "request_timeout = 10s\nsync_outbox_interval = 200ms\n%s",
             pp->primary.port, pp->standby.port, extra);
    return conf;
}

/* POST /admin/namespaces {"name":"ns-i"}: the status, with the error's
 * type in type (when there is one). */
static int create_namespace(struct ht_server *s, int i, char *type, size_t tlen)
{
    char body[64];
    json_t *j = NULL;
    snprintf(body, sizeof body, "{\"name\":\"ns-%d\"}", i);
    int st = eng_admin(s, "POST", "/admin/namespaces", body, &j);
    const char *t = json_string_value(json_object_get(json_object_get(j, "error"), "type"));
    snprintf(type, tlen, "%s", t ? t : st < 0 ? "no answer" : "");
    json_decref(j);
    return st;
}

/* ---- Tests ---------------------------------------------------------------- */

/* A dsn without target_session_attrs lands on the standby listed first;
 * with it, every process finds the primary. Then a switchover: the primary
 * is made read-only (default_transaction_read_only) while the connections
 * stay open on it (one worker, so the write before the switch has opened
 * the connection every later request uses; with two, the kernel may hand
 * every later request to the worker that has none yet). Each one is dropped at its first write
 * (read_only_sql_transaction), requests answer 503 until the standby is
 * promoted, then succeed on it by themselves. */
START_TEST(connections_left_on_a_read_only_server_follow_a_switchover)
{
    struct pair pp;
    struct ht_server s;
    memset(&pp, 0, sizeof pp);
    ht_server_init(&s, "");
    start_pair(&pp, s.dir);
    char conf[1024], type[160];
    snprintf(conf, sizeof conf,
             "pg_dsn = host=127.0.0.1,127.0.0.1 port=%d,%d dbname=ezapi user=postgres\n",
             pp.standby.port, pp.primary.port);
    ht_server_write_conf(&s, conf);
    char *out = NULL;
    ck_assert_msg(eng_ezapi(&s, "migrate", &out) != 0, "migrate succeeded on a standby: %s", out);
    ck_assert_msg(strstr(out, "read-only"), "%s", out);
    free(out);
    snprintf(conf, sizeof conf,
             "pg_dsn = host=127.0.0.1,127.0.0.1 port=%d,%d dbname=ezapi user=postgres "
             "target_session_attrs=read-write\nrequest_timeout = 10s\n"
             "sync_outbox_interval = 200ms\nworkers = 1\n",
             pp.standby.port, pp.primary.port);
    ht_server_write_conf(&s, conf);
    ck_assert_int_eq(eng_ezapi(&s, "migrate", NULL), 0);
    ht_server_spawn(&s);
    ht_server_wait_ready(&s);
    ck_assert_int_eq(create_namespace(&s, 0, type, sizeof type), 201);
    HT_EVENTUALLY(ht_redis_hlen("config:namespaces") == 1, 10000, "the syncer did not apply it");
    HT_EVENTUALLY(pg_value(pp.primary.port, "SELECT count(*) FROM audit_records "
                                            "WHERE action = 'namespace.create'") == 1,
                  10000, "the logger did not record it");

    long mark = ht_server_log_mark(&s);
    PGconn *c = pg_connect(pp.primary.port, "postgres");
    ck_assert(c != NULL);
    PQclear(PQexec(c, "ALTER SYSTEM SET default_transaction_read_only = on"));
    PQclear(PQexec(c, "SELECT pg_reload_conf()"));
    PQfinish(c);
    HT_EVENTUALLY(pg_value(pp.primary.port, "SELECT (current_setting('transaction_read_only') "
                                            "= 'on')::int") == 1,
                  10000, "the primary did not become read-only");
    for (int i = 1; i <= 5; i++) {
        int st = create_namespace(&s, i, type, sizeof type);
        ck_assert_msg(st == 503 && strcmp(type, "unavailable_error") == 0,
                      "write %d on a read-only primary: %d %s", i, st, type);
    }
    ck_assert(ht_server_log_contains_since(&s, mark, "PostgreSQL server is read-only"));
    char lg[340];
    snprintf(lg, sizeof lg, "%s/pg/tools.log", s.dir);
    char *promote[] = { PG_BIN "/pg_ctl", "promote", "-w", "-D", pp.standby.data, NULL };
    ck_assert_msg(eng_run(promote, lg, 1) == 0, "pg_ctl promote failed (see %s)", lg);
    HT_EVENTUALLY(create_namespace(&s, 6, type, sizeof type) == 201, 30000,
                  "writes never succeeded on the promoted standby");
    for (int i = 7; i < 12; i++)
        ck_assert_int_eq(create_namespace(&s, i, type, sizeof type), 201);
    HT_EVENTUALLY(ht_redis_hlen("config:namespaces") == 7, 20000,
                  "the syncer did not follow the switchover");
    HT_EVENTUALLY(pg_value(pp.standby.port, "SELECT count(*) FROM audit_records WHERE "
                                            "action = 'namespace.create' AND status = 201") == 7,
                  20000, "the logger did not follow the switchover");
    ck_assert_msg(eng_ezapi(&s, "verify", &out) == 0, "verify: %s", out);
    free(out);
    ck_assert_int_eq(ht_server_stop(&s), 0);
    stop_pair(&pp);
}
END_TEST

START_TEST(survives_a_primary_stopped_immediately_and_a_promoted_standby)
{
    struct pair pp;
    struct ht_server s;
    memset(&pp, 0, sizeof pp);
    ht_server_init(&s, "");
    start_pair(&pp, s.dir);
    ht_server_write_conf(&s, pair_conf(&pp, ""));
    char *out = NULL;
    ck_assert_msg(eng_ezapi(&s, "migrate", &out) == 0, "migrate: %s", out);
    free(out);
    ht_server_spawn(&s);
    ht_server_wait_ready(&s);

    enum { BEFORE = 40, GAP = 20, MAX = 2000 };
    static char acked[MAX];
    char type[160];
    int n = 0, gap503 = 0;
    for (; n < BEFORE; n++)
        acked[n] = create_namespace(&s, n, type, sizeof type) == 201;
    pg_stop_immediate(&pp.primary);
    int64_t stopped_at = ht_now_ms();
    /* the gap: no primary at all */
    ht_http_timeout_ms = 25000;
    for (int i = 0; i < GAP; i++, n++) {
        int st = create_namespace(&s, n, type, sizeof type);
        ck_assert_msg(st == 503 && strcmp(type, "unavailable_error") == 0,
                      "request %d in the gap: %d %s", n, st, type);
        acked[n] = 0;
        gap503++;
    }
    char port[16], lg[340];
    snprintf(lg, sizeof lg, "%s/pg/tools.log", s.dir);
    snprintf(port, sizeof port, "%d", pp.standby.port);
    char *promote[] = { PG_BIN "/pg_ctl", "promote", "-w", "-D", pp.standby.data, NULL };
    ck_assert_msg(eng_run(promote, lg, 1) == 0, "pg_ctl promote failed (see %s)", lg);
    /* recovery by itself: the same requests succeed again */
    int64_t recovered_at = 0;
    int after = 0;
    while (n < MAX && after < 40) {
        int st = create_namespace(&s, n, type, sizeof type);
        ck_assert_msg(st == 201 || (st == 503 && strcmp(type, "unavailable_error") == 0),
                      "request %d after the promotion: %d %s", n, st, type);
        acked[n] = st == 201;
        if (st == 201 && !recovered_at)
            recovered_at = ht_now_ms();
        after += recovered_at != 0;
        n++;
        ck_assert_msg(ht_now_ms() - stopped_at < 90000, "no write succeeded in 90 s");
        if (!recovered_at)
            ht_sleep_ms(50);
    }
    ht_http_timeout_ms = 15000;

    int nacked = 0;
    for (int i = 0; i < n; i++)
        nacked += acked[i];
    /* no acknowledged change lost, each once in the audit log */
    char sql[300];
    for (int i = 0; i < n; i++) {
        if (!acked[i])
            continue;
        snprintf(sql, sizeof sql, "SELECT count(*) FROM namespaces WHERE name = 'ns-%d'", i);
        ck_assert_msg(pg_value(pp.standby.port, sql) == 1, "acknowledged ns-%d is lost", i);
    }
    HT_EVENTUALLY(pg_value(pp.standby.port,
                           "SELECT count(*) FROM audit_records WHERE action = 'namespace.create' "
                           "AND status = 201") == nacked,
                  30000, "the audit log does not have the %d acknowledged changes", nacked);
    ck_assert_int_eq(pg_value(pp.standby.port,
                              "SELECT count(*) FROM (SELECT resource_id FROM audit_records "
                              "WHERE action = 'namespace.create' AND status = 201 "
                              "GROUP BY resource_id HAVING count(*) > 1) d"),
                     0);
    HT_EVENTUALLY(pg_value(pp.standby.port, "SELECT count(*) FROM sync_outbox") == 0, 30000,
                  "the outbox did not drain");
    HT_EVENTUALLY(ht_redis_hlen("config:namespaces") ==
                      pg_value(pp.standby.port, "SELECT count(*) FROM namespaces"),
                  30000, "Redis does not have every namespace");
    ck_assert_msg(eng_ezapi(&s, "verify", &out) == 0, "verify after the failover: %s", out);
    free(out);
    ck_assert_msg(eng_ezapi(&s, "migrate", &out) == 0, "migrate after the failover: %s", out);
    free(out);
    printf("pg failover: %d changes acknowledged, %d answered 503 in the gap; "
           "primary stopped to first write on the promoted standby: %lld ms\n",
           nacked, gap503, (long long)(recovered_at - stopped_at));
    fflush(stdout);
    ht_server_stop(&s);
    stop_pair(&pp);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("pg_failover");
    TCase *t = ht_tcase("pg_failover");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, connections_left_on_a_read_only_server_follow_a_switchover);
    tcase_add_test(t, survives_a_primary_stopped_immediately_and_a_promoted_standby);
    suite_add_tcase(suite, t);
    return ht_run_suite(suite);
}
