/* Integration tests of what an operator runs ezapi for day to day: the
 * audit log, metrics, the sync outbox, outages of PostgreSQL and Redis
 * (docs/operations.md; docs/redis.md, "Failures"), and a leak-free start-serve-stop under
 * valgrind. Real PostgreSQL, Redis and ezapi, driven over HTTP. */
#include "harness.h"

#include "common/audit_store.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int create_namespace(struct ht_server *s, const char *name)
{
    char body[200];
    snprintf(body, sizeof body, "{\"name\":\"%s\"}", name);
    struct ht_resp r;
    int st = ht_post_json(s->port, "/admin/namespaces", ht_auth(s, "admin"), body, &r);
    ht_resp_free(&r);
    return st;
}

static json_t *get_json(struct ht_server *s, const char *path, int want)
{
    struct ht_resp r;
    int st = ht_get(s->port, path, ht_auth(s, "admin"), &r);
    ck_assert_msg(st == want, "GET %s: %d, expected %d: %.300s", path, st, want,
                  r.body ? r.body : r.err);
    json_t *j = ht_resp_json(&r);
    ck_assert_msg(j != NULL, "GET %s: not JSON", path);
    ht_resp_free(&r);
    return j;
}

static int in_redis(const char *name)
{
    return ht_redis_hexists("config:namespaces", name);
}

/* Sum of every series of a metric whose labels contain all of `match`. */
static double metric_sum(const char *text, const char *name, const char *match)
{
    double sum = 0;
    size_t nl = strlen(name);
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, name, nl) != 0 || (line[nl] != '{' && line[nl] != ' '))
            continue;
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char buf[1024];
        snprintf(buf, sizeof buf, "%.*s", (int)(len < sizeof buf ? len : sizeof buf - 1), line);
        if (match && !strstr(buf, match))
            continue;
        const char *sp = strrchr(buf, ' ');
        if (sp)
            sum += atof(sp + 1);
    }
    return sum;
}

static char *scrape(struct ht_server *s)
{
    struct ht_resp r;
    ck_assert_int_eq(ht_get(s->port, "/metrics", NULL, &r), 200);
    const char *ct = ht_resp_header(&r, "Content-Type");
    ck_assert_msg(ct && strncmp(ct, "text/plain", 10) == 0, "metrics content type %s", ct);
    char *text = strdup(r.body);
    ht_resp_free(&r);
    return text;
}

/* The GET /health requests each of the two workers has answered. */
static void health_per_worker(struct ht_server *s, double got[2])
{
    char *text = scrape(s);
    for (int w = 0; w < 2; w++) {
        char lbl[96];
        snprintf(lbl, sizeof lbl, "process=\"worker-%d\",route=\"/health\",method=\"GET\"", w);
        got[w] = metric_sum(text, "ezapi_http_requests_total", lbl);
    }
    free(text);
}

/* Two connections to the server, opened one after the other. */
static void connect_two(struct ht_server *s, int fd[2])
{
    for (int i = 0; i < 2; i++) {
        fd[i] = ht_connect(s->port);
        ck_assert_msg(fd[i] >= 0, "connect failed");
    }
}

/* One GET /health on each of the two keep-alive connections, answered 200. */
static void health_on_each(struct ht_server *s, const int fd[2])
{
    char req[128];
    int n = snprintf(req, sizeof req, "GET /health HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n",
                     s->port);
    for (int i = 0; i < 2; i++) {
        struct ht_resp r;
        ck_assert_int_eq(ht_send_all(fd[i], req, (size_t)n), 0);
        ck_assert_int_eq(ht_read_response(fd[i], "GET", &r), 0);
        ck_assert_int_eq(r.status, 200);
        ht_resp_free(&r);
    }
}

/* ---- Metrics ------------------------------------------------------------- */

START_TEST(metrics_pass_promtool_and_show_every_process)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    for (int i = 0; i < 7; i++) {
        struct ht_resp r;
        ck_assert_int_eq(ht_get(s.port, "/health", NULL, &r), 200);
        ht_resp_free(&r);
    }
    ck_assert_int_eq(create_namespace(&s, "m1"), 201);
    HT_EVENTUALLY(in_redis("m1"), 10000, "namespace never synced");
    char *text = scrape(&s);
    char path[512];
    snprintf(path, sizeof path, "%s/metrics.txt", s.dir);
    ht_write_file(path, text);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s > %s.out 2>&1", path, path);
    ck_assert_msg(system("command -v promtool >/dev/null") == 0,
                  "promtool is not installed (Debian package prometheus)");
    int rc = system(cmd);
    ck_assert_msg(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "promtool check metrics failed, see %s.out",
                  path);
    static const char *const procs[] = { "supervisor", "syncer", "logger", "worker-0", "worker-1" };
    for (size_t i = 0; i < sizeof procs / sizeof procs[0]; i++) {
        char lbl[64];
        snprintf(lbl, sizeof lbl, "process_start_time_seconds{process=\"%s\"}", procs[i]);
        ck_assert_msg(strstr(text, lbl), "no %s in the scrape", lbl);
    }
    ck_assert_msg(metric_sum(text, "ezapi_http_requests_total",
                             "route=\"/health\",method=\"GET\",code=\"200\"") >= 7,
                  "GET /health not counted");
    ck_assert_msg(metric_sum(text, "ezapi_http_requests_total",
                             "route=\"/admin/namespaces\",method=\"POST\",code=\"201\"") == 1,
                  "POST /admin/namespaces not counted once");
    ck_assert(metric_sum(text, "ezapi_sync_jobs_total", "result=\"applied\"") >= 1);
    ck_assert(strstr(text, "ezapi_build_info{version=\""));
    ck_assert(strstr(text, "ezapi_http_request_duration_seconds_bucket{"));
    free(text);
    ht_assert_clean_stop(&s);
}
END_TEST

/* Two keep-alive connections opened together are served by the two
 * workers, not both by the first worker to wake (the /health requests
 * each worker answered, from the scrape). */
START_TEST(keep_alive_connections_are_spread_over_the_workers)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    ck_assert(ht_server_child_pid(&s, "worker 0") != 0);
    ck_assert(ht_server_child_pid(&s, "worker 1") != 0);
    ht_sleep_ms(500); /* both listening */
    int fd[2];
    connect_two(&s, fd);
    for (int round = 0; round < 10; round++)
        health_on_each(&s, fd);
    for (int i = 0; i < 2; i++)
        close(fd[i]);
    double got[2];
    health_per_worker(&s, got);
    for (int w = 0; w < 2; w++)
        ck_assert_msg(got[w] >= 10, "worker-%d answered %.0f of the 20 requests", w, got[w]);
    ht_assert_clean_stop(&s);
}
END_TEST

/* A load generator that probes the address first (connect, close) and
 * then opens its connections at once still gets one on each worker: the
 * probe is counted on its worker until its close is read, and the next
 * connection goes to the worker that accepted longest ago, not to
 * whichever wakes first. Repeated, as the race is the kernel's. */
START_TEST(a_probe_connection_does_not_pile_the_next_ones_on_one_worker)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    ht_sleep_ms(500); /* both listening */
    for (int attempt = 0; attempt < 20; attempt++) {
        double was[2], got[2];
        health_per_worker(&s, was);
        int probe = ht_connect(s.port);
        ck_assert_msg(probe >= 0, "connect failed");
        close(probe);
        int fd[2];
        connect_two(&s, fd);
        health_on_each(&s, fd);
        for (int i = 0; i < 2; i++)
            close(fd[i]);
        health_per_worker(&s, got);
        for (int w = 0; w < 2; w++)
            ck_assert_msg(got[w] - was[w] == 1,
                          "attempt %d: worker-%d answered %.0f of the 2 connections", attempt, w,
                          got[w] - was[w]);
        ht_sleep_ms(50); /* the closes read */
    }
    ht_assert_clean_stop(&s);
}
END_TEST

/* A worker that would take the next connection but cannot (stopped, or
 * inside a long request) does not keep it from the others: with one
 * connection open on one worker and the other worker stopped, a new
 * client is still answered. */
START_TEST(connections_are_accepted_while_the_emptier_worker_is_stuck)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    pid_t w[2] = { ht_server_child_pid(&s, "worker 0"), ht_server_child_pid(&s, "worker 1") };
    ck_assert(w[0] > 0 && w[1] > 0);
    ht_sleep_ms(500); /* both listening */
    int fd = ht_connect(s.port);
    ck_assert_msg(fd >= 0, "connect failed");
    char req[128];
    int n = snprintf(req, sizeof req, "GET /health HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n",
                     s.port);
    struct ht_resp r;
    ck_assert_int_eq(ht_send_all(fd, req, (size_t)n), 0);
    ck_assert_int_eq(ht_read_response(fd, "GET", &r), 0);
    ht_resp_free(&r);
    /* which worker holds the connection: the other one gets stopped */
    char *text = scrape(&s);
    int holder = metric_sum(text, "ezapi_http_requests_total",
                            "process=\"worker-1\",route=\"/health\"") >= 1;
    free(text);
    pid_t stuck = w[1 - holder];
    kill(stuck, SIGSTOP);
    ht_sleep_ms(100);
    int64_t t0 = ht_now_ms();
    int st = ht_get(s.port, "/health", NULL, &r);
    int64_t took = ht_now_ms() - t0;
    kill(stuck, SIGCONT);
    ck_assert_msg(st == 200, "no answer while a worker was stopped: %d %s", st, r.err);
    ht_resp_free(&r);
    ck_assert_msg(took < 3000, "a new client waited %lld ms", (long long)took);
    close(fd);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(metrics_refused_outside_metrics_allow)
{
    struct ht_server s;
    ht_server_start(&s, "metrics_allow = 10.0.0.0/8\n");
    struct ht_resp r;
    ck_assert_int_eq(ht_get(s.port, "/metrics", NULL, &r), 403);
    json_t *j = ht_resp_json(&r);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "error"), "type")),
                     "permission_error");
    json_decref(j);
    ht_resp_free(&r);
    ht_assert_clean_stop(&s);
}
END_TEST

/* Starts a server and returns its syncer's pid. */
static pid_t start_with_syncer(struct ht_server *s)
{
    ht_server_start(s, NULL);
    pid_t syncer = ht_server_child_pid(s, "syncer");
    ck_assert(syncer > 0);
    return syncer;
}

struct restarts_and_reloads {
    double syncer_restarts, reloads_ok, reloads_failed;
};

/* The three counters, from one scrape. */
static struct restarts_and_reloads restarts_and_reloads(struct ht_server *s)
{
    char *text = scrape(s);
    struct restarts_and_reloads n = {
        metric_sum(text, "ezapi_child_restarts_total", "role=\"syncer\""),
        metric_sum(text, "ezapi_config_reloads_total", "result=\"ok\""),
        metric_sum(text, "ezapi_config_reloads_total", "result=\"failed\""),
    };
    free(text);
    return n;
}

START_TEST(metrics_count_restarts_and_reloads)
{
    struct ht_server s;
    pid_t syncer = start_with_syncer(&s), now;
    kill(syncer, SIGKILL);
    HT_EVENTUALLY(ht_server_child_replaced(&s, "syncer", syncer, &now), 5000, "syncer not respawned");
    ht_server_reload(&s);
    int64_t deadline = ht_now_ms() + 10000;
    for (;; ht_sleep_ms(100)) {
        struct restarts_and_reloads n = restarts_and_reloads(&s);
        if (n.syncer_restarts >= 1 && n.reloads_ok >= 1)
            break;
        if (ht_now_ms() >= deadline) {
            char *said = ht_server_log_of(&s, "supervisor");
            fprintf(stderr, "the supervisor's log:\n%s", said ? said : "(nothing)\n");
            free(said);
            ck_abort_msg("after 10 s: syncer restarts %.0f, reloads ok %.0f, failed %.0f",
                         n.syncer_restarts, n.reloads_ok, n.reloads_failed);
        }
    }
    ht_assert_clean_stop(&s);
}
END_TEST

/* A syncer that dies while a reload replaces it, before it reads the
 * hand-over signal, is still a crash: counted and logged. (Stopped, it
 * cannot read the signal; it is killed once the reload is under way.) */
START_TEST(a_crash_during_a_reload_is_counted)
{
    struct ht_server s;
    pid_t syncer = start_with_syncer(&s), now;
    kill(syncer, SIGSTOP);
    HT_EVENTUALLY(ht_proc_state(syncer) == 'T', 5000, "the syncer did not stop");
    long mark = ht_server_log_mark(&s);
    ht_server_reload(&s);
    HT_EVENTUALLY(ht_server_log_contains_since(&s, mark, "reloaded: generation 2"), 10000,
                  "no reload");
    kill(syncer, SIGKILL);
    HT_EVENTUALLY(ht_server_child_replaced(&s, "syncer", syncer, &now), 10000,
                  "syncer not respawned");
    HT_EVENTUALLY(ht_server_log_contains_since(&s, mark, "died (signal 9) while being replaced"),
                  10000, "the crash was not logged");
    struct restarts_and_reloads n = restarts_and_reloads(&s);
    ck_assert_msg(n.syncer_restarts == 1, "syncer restarts %.0f, want 1", n.syncer_restarts);
    ck_assert_msg(n.reloads_ok == 1, "reloads %.0f, want 1", n.reloads_ok);
    ht_assert_clean_stop(&s);
}
END_TEST

/* ---- Audit --------------------------------------------------------------- */

static json_t *audit(struct ht_server *s, const char *query)
{
    char path[512];
    snprintf(path, sizeof path, "/admin/audit%s", query);
    return get_json(s, path, 200);
}

static size_t audit_count(struct ht_server *s, const char *query)
{
    json_t *j = audit(s, query);
    size_t n = json_array_size(json_object_get(j, "data"));
    json_decref(j);
    return n;
}

START_TEST(audit_records_changes_with_before_and_after)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    ck_assert_int_eq(create_namespace(&s, "team-a"), 201);
    struct ht_resp r;
    ck_assert_int_eq(ht_http(s.port, "PUT", "/admin/namespaces/team-a", ht_auth(&s, "admin"),
                            "{\"description\":\"first\"}", 23, &r), 200);
    ht_resp_free(&r);
    ck_assert_int_eq(ht_http(s.port, "DELETE", "/admin/namespaces/team-a", ht_auth(&s, "admin"),
                            NULL, 0, &r), 204);
    ht_resp_free(&r);
    HT_EVENTUALLY(audit_count(&s, "?resource=namespace&resource_id=team-a") == 3, 10000,
                 "three audit records expected");
    json_t *j = audit(&s, "?resource=namespace&resource_id=team-a");
    json_t *data = json_object_get(j, "data");
    /* newest first: delete, update, create */
    json_t *del = json_array_get(data, 0), *upd = json_array_get(data, 1),
           *cre = json_array_get(data, 2);
    ck_assert_str_eq(json_string_value(json_object_get(del, "action")), "namespace.delete");
    ck_assert_str_eq(json_string_value(json_object_get(upd, "action")), "namespace.update");
    ck_assert_str_eq(json_string_value(json_object_get(cre, "action")), "namespace.create");
    json_t *uc = json_object_get(upd, "changes");
    ck_assert(json_is_null(json_object_get(json_object_get(uc, "before"), "description")));
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(uc, "after"), "description")),
                     "first");
    ck_assert(json_is_null(json_object_get(json_object_get(cre, "changes"), "before")));
    ck_assert(json_is_null(json_object_get(json_object_get(del, "changes"), "after")));
    ck_assert_str_eq(json_string_value(json_object_get(cre, "actor_type")), "admin");
    ck_assert_str_eq(json_string_value(json_object_get(cre, "actor")), "admin");
    ck_assert_int_eq(json_integer_value(json_object_get(cre, "status")), 201);
    ck_assert_str_eq(json_string_value(json_object_get(cre, "method")), "POST");
    ck_assert_str_eq(json_string_value(json_object_get(cre, "path")), "/admin/namespaces");
    ck_assert_str_eq(json_string_value(json_object_get(cre, "remote_addr")), "127.0.0.1");
    ck_assert_int_eq(strlen(json_string_value(json_object_get(cre, "request_id"))), 32);
    json_decref(j);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(failed_logins_are_audited)
{
    struct ht_server s;
    /* the first failure of a window has a record of its own: one window each */
    ht_server_start(&s, "auth_failure_window = 1s\n");
    struct ht_resp r;
    ck_assert_int_eq(ht_post_json(s.port, "/admin/namespaces",
                                 "Authorization: Bearer not-a-token\r\nX-Request-ID: failed-login-1\r\n",
                                 "{\"name\":\"x\"}", &r), 401);
    ht_resp_free(&r);
    HT_EVENTUALLY(audit_count(&s, "?request_id=failed-login-1") == 1, 10000, "no audit record");
    json_t *j = audit(&s, "?request_id=failed-login-1");
    json_t *rec = json_array_get(json_object_get(j, "data"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(rec, "actor_type")), "anonymous");
    ck_assert_int_eq(json_integer_value(json_object_get(rec, "status")), 401);
    json_decref(j);
    /* the token itself never lands in the audit table */
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM audit_records WHERE changes::text LIKE "
                                "'%not-a-token%' OR path LIKE '%not-a-token%'"), 0);
    /* a User-Agent that is not UTF-8 loses the field, not the record; a
     * tab in it arrives as sent */
    ht_sleep_ms(1100);
    ck_assert_int_eq(ht_post_json(s.port, "/admin/namespaces",
                                 "Authorization: Bearer not-a-token\r\nX-Request-ID: failed-login-2\r\n"
                                 "User-Agent: bad-\xff\xfe-agent\r\n", "{\"name\":\"x\"}", &r), 401);
    ht_resp_free(&r);
    ht_sleep_ms(1100);
    ck_assert_int_eq(ht_post_json(s.port, "/admin/namespaces",
                                 "Authorization: Bearer not-a-token\r\nX-Request-ID: failed-login-3\r\n"
                                 "User-Agent: tab\there\r\n", "{\"name\":\"x\"}", &r), 401);
    ht_resp_free(&r);
    HT_EVENTUALLY(ht_pg_count("SELECT count(*) FROM audit_records WHERE request_id IN "
                            "('failed-login-2', 'failed-login-3')") == 2, 10000,
                 "records of odd User-Agents missing");
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM audit_records WHERE "
                                "request_id = 'failed-login-2' AND user_agent = ''"), 1);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM audit_records WHERE "
                                "request_id = 'failed-login-3' AND user_agent = 'tab' || chr(9) || 'here'"), 1);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(audit_query_filters_and_pages_newest_first)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    for (int i = 0; i < 5; i++) {
        char n[16];
        snprintf(n, sizeof n, "pg%d", i);
        ck_assert_int_eq(create_namespace(&s, n), 201);
    }
    HT_EVENTUALLY(audit_count(&s, "?action=namespace.create") == 5, 10000, "5 records expected");
    char seen[5] = { 0 };
    char query[256] = "?action=namespace.create&limit=2";
    int pages = 0, last = 99;
    for (;;) {
        json_t *j = audit(&s, query);
        json_t *row;
        size_t i;
        json_array_foreach(json_object_get(j, "data"), i, row) {
            const char *id = json_string_value(json_object_get(row, "resource_id"));
            int k = id[2] - '0';
            ck_assert_msg(k < last, "not newest first: %s after pg%d", id, last);
            last = k;
            ck_assert(!seen[k]);
            seen[k] = 1;
        }
        pages++;
        json_t *next = json_object_get(j, "next_cursor");
        if (!json_is_string(next)) {
            ck_assert(!json_is_true(json_object_get(j, "has_more")));
            json_decref(j);
            break;
        }
        snprintf(query, sizeof query, "?action=namespace.create&limit=2&cursor=%s",
                 json_string_value(next));
        json_decref(j);
    }
    ck_assert_int_eq(pages, 3);
    for (int k = 0; k < 5; k++)
        ck_assert(seen[k]);
    ck_assert_int_eq(audit_count(&s, "?action=namespace.create&since=2999-01-01T00:00:00Z"), 0);
    ck_assert_int_eq(audit_count(&s, "?actor_type=master"), 0);
    json_decref(get_json(&s, "/admin/audit?cursor=garbage", 400));
    json_decref(get_json(&s, "/admin/audit?since=yesterday", 400));
    json_decref(get_json(&s, "/admin/audit?actor_type=robot", 400));
    json_decref(get_json(&s, "/admin/audit?limit=0", 400));
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(audit_query_uses_indexes_at_scale)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    PGconn *pg = ht_pg();
    PGresult *res = PQexec(pg,
        "INSERT INTO audit_records (time, request_id, actor_type, actor, action, resource, "
        "resource_id, producer) SELECT now() - i * interval '1 second', 'r' || i, "
        "CASE WHEN i % 3 = 0 THEN 'master' ELSE 'admin' END, 'a' || (i % 100), "
        "'act.' || (i % 50), 'res' || (i % 20), (i % 1000)::text, 'bulk-' || i "
        "FROM generate_series(1, 1000000) i");
    ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s", PQerrorMessage(pg));
    PQclear(res);
    PQclear(PQexec(pg, "ANALYZE audit_records"));
    static const char *const wheres[] = {
        "TRUE", "actor_type = 'master' AND actor = 'a3'", "action = 'act.7'",
        "resource = 'res1' AND resource_id = '21'", "request_id = 'r77'",
        "time >= now() - interval '1 hour'",
    };
    for (size_t i = 0; i < sizeof wheres / sizeof wheres[0]; i++) {
        char sql[512];
        snprintf(sql, sizeof sql, "EXPLAIN SELECT * FROM audit_records WHERE %s "
                 "ORDER BY time DESC, id DESC LIMIT 51", wheres[i]);
        res = PQexec(pg, sql);
        ck_assert(PQresultStatus(res) == PGRES_TUPLES_OK);
        for (int row = 0; row < PQntuples(res); row++)
            ck_assert_msg(!strstr(PQgetvalue(res, row, 0), "Seq Scan"),
                          "sequential scan for %s: %s", wheres[i], PQgetvalue(res, row, 0));
        PQclear(res);
    }
    PQfinish(pg);
    ck_assert_int_eq(audit_count(&s, "?actor_type=master&actor=a3&limit=5"), 5);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(logger_kill_loses_and_duplicates_no_audit_record)
{
    struct ht_server s;
    ht_server_start(&s, "audit_flush_interval = 50ms\naudit_batch_size = 20\n");
    int ok = 0;
    for (int i = 0; i < 600; i++) {
        if (i % 150 == 75) {
            pid_t logger = ht_server_child_pid(&s, "logger");
            if (logger > 0)
                kill(logger, SIGKILL);
        }
        char n[32];
        snprintf(n, sizeof n, "lk%d", i);
        ok += create_namespace(&s, n) == 201;
    }
    ck_assert_int_eq(ok, 600);
    HT_EVENTUALLY(ht_pg_count("SELECT count(*) FROM audit_records WHERE action = 'namespace.create'") >= 600,
                 20000, "audit records missing after logger kills");
    ht_sleep_ms(500);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM audit_records WHERE action = 'namespace.create'"),
                     600);
    ck_assert_int_eq(ht_pg_count("SELECT count(DISTINCT resource_id) FROM audit_records "
                                "WHERE action = 'namespace.create'"), 600);
    ht_assert_clean_stop(&s);
}
END_TEST

/* A backlog drained by batches loading at once over several connections,
 * the logger killed in the middle of it: every record once, none twice. */
START_TEST(logger_killed_while_draining_a_backlog_writes_each_record_once)
{
    struct ht_server s;
    ht_server_start(&s, "audit_batch_size = 20\naudit_writers = 3\naudit_flush_interval = 20ms\n");
    pid_t logger = ht_server_child_pid(&s, "logger");
    ck_assert_int_gt(logger, 0);
    kill(logger, SIGSTOP);
    enum { N = 3000 };
    for (int i = 0; i < N; i++) {
        char hdr[1200], body[64];
        snprintf(hdr, sizeof hdr, "%sX-Request-ID: backlog-%d\r\n", ht_auth(&s, "admin"), i);
        snprintf(body, sizeof body, "{\"name\":\"backlog-%d\"}", i);
        struct ht_resp r;
        ck_assert_int_eq(ht_post_json(s.port, "/admin/namespaces", hdr, body, &r), 201);
        ht_resp_free(&r);
    }
    const char *count = "SELECT count(*) FROM audit_records WHERE request_id LIKE 'backlog-%'";
    kill(logger, SIGCONT);
    HT_EVENTUALLY(ht_pg_count(count) > 0, 10000, "the logger wrote nothing");
    kill(logger, SIGKILL);
    HT_EVENTUALLY(ht_pg_count(count) >= N, 20000, "records missing after the logger was killed");
    ht_sleep_ms(300);
    ck_assert_int_eq(ht_pg_count(count), N);
    ck_assert_int_eq(ht_pg_count("SELECT count(DISTINCT request_id) FROM audit_records "
                                "WHERE request_id LIKE 'backlog-%'"), N);
    ht_assert_clean_stop(&s);
}
END_TEST

/* The logger's write path itself: a batch goes in as one COPY; a batch
 * replayed after a crash (some producers already there) writes only the
 * new records; text with COPY's special characters arrives unchanged; a
 * row PostgreSQL refuses is dropped without holding back the others. */
static int write_batch(struct ez_db *db, json_t **recs, const char **producers, int n,
                       int *dropped)
{
    struct ez_audit_batch b = { 0 };
    for (int i = 0; i < n; i++) {
        char *row = ez_audit_row(recs[i]);
        ck_assert_ptr_nonnull(row);
        ck_assert_int_eq(ez_audit_batch_add(&b, row, strlen(row), producers[i]), 0);
        free(row);
    }
    int rc = ez_audit_batch_write(db, &b, dropped);
    ez_audit_batch_free(&b);
    return rc;
}

START_TEST(audit_store_replay_writes_each_record_once)
{
    struct ht_server s;
    ht_server_start(&s, NULL); /* applies the migrations */
    ht_server_stop(&s);
    struct ez_db *db = ez_db_new(ht_pg_dsn(), 5000, "check_ops");
    const char *ua = "agent\twith\\tabs\nand\r\nnewlines \\N";
    json_t *r[4] = {
        json_pack("{s:s, s:s, s:s, s:s, s:{s:n, s:{s:s}}}", "actor_type", "admin", "action",
                  "replay.test", "user_agent", ua, "time", "2026-01-02T03:04:05Z", "changes",
                  "before", "after", "q", "\"quoted\"\t\\"),
        json_pack("{s:s, s:s, s:I}", "actor_type", "anonymous", "action", "replay.test",
                  "latency_us", (json_int_t)7),
        json_pack("{s:s, s:s}", "actor_type", "master", "action", "replay.test"),
        json_pack("{s:s, s:s}", "actor_type", "nobody", "action", "replay.test"),
    };
    const char *p[4] = { "replay-1", "replay-2", "replay-3", "replay-4" };
    int dropped = -1;
    ck_assert_int_eq(write_batch(db, r, p, 2, &dropped), EZ_DB_OK);
    ck_assert_int_eq(dropped, 0);
    ck_assert_int_eq(write_batch(db, r + 1, p + 1, 2, &dropped), EZ_DB_OK); /* replay of 2 */
    ck_assert_int_eq(write_batch(db, r, p, 2, &dropped), EZ_DB_OK);         /* all known */
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM audit_records WHERE action = 'replay.test'"), 3);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM audit_records WHERE producer = 'replay-2' "
                                "AND latency_us = 7 AND changes IS NULL AND user_agent = '' "
                                "AND time > now() - interval '1 hour'"), 1);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM audit_records WHERE producer = 'replay-1' "
                                "AND time = '2026-01-02T03:04:05Z' "
                                "AND changes->'after'->>'q' = '\"quoted\"' || chr(9) || '\\' "
                                "AND changes->'before' = 'null'::jsonb"), 1);
    PGconn *pg = ht_pg();
    PGresult *res = PQexec(pg, "SELECT user_agent FROM audit_records WHERE producer = 'replay-1'");
    ck_assert_int_eq(PQntuples(res), 1);
    ck_assert_str_eq(PQgetvalue(res, 0, 0), ua);
    PQclear(res);
    PQfinish(pg);
    /* replay-4's actor_type breaks a CHECK: dropped; replay-3 is already there. */
    ck_assert_int_eq(write_batch(db, r + 2, p + 2, 2, &dropped), EZ_DB_OK);
    ck_assert_int_eq(dropped, 1);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM audit_records WHERE action = 'replay.test'"), 3);
    /* a batch of nothing but a refused row does not stay in the way */
    ck_assert_int_eq(write_batch(db, r + 3, p + 3, 1, &dropped), EZ_DB_OK);
    ck_assert_int_eq(dropped, 1);
    /* any other error (here: no table) drops nothing; the batch waits */
    PGconn *pg2 = ht_pg();
    PQclear(PQexec(pg2, "ALTER TABLE audit_records RENAME TO audit_records_away"));
    const char *p5[] = { "replay-5" };
    ck_assert_int_eq(write_batch(db, r + 2, p5, 1, &dropped), EZ_DB_UNAVAILABLE);
    ck_assert_int_eq(dropped, 0);
    PQclear(PQexec(pg2, "ALTER TABLE audit_records_away RENAME TO audit_records"));
    PQfinish(pg2);
    ck_assert_int_eq(write_batch(db, r + 2, p5, 1, &dropped), EZ_DB_OK);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM audit_records WHERE producer = 'replay-5'"), 1);
    struct ez_audit_batch b = { 0 };
    ck_assert_int_eq(ez_audit_batch_add(&b, "a\tb\n", 4, "x"), -1); /* not a row */
    ck_assert_int_eq(b.rows, 0);
    ez_audit_batch_free(&b);
    for (int i = 0; i < 4; i++)
        json_decref(r[i]);
    ez_db_free(db);
}
END_TEST

/* The logger's pipeline in miniature: two batches loading at once over
 * two connections, the second overlapping the first (a replay) and
 * holding a row PostgreSQL refuses: every record is there exactly once. */
START_TEST(audit_batches_in_flight_together_write_each_record_once)
{
    struct ht_server s;
    ht_server_start(&s, NULL); /* applies the migrations */
    ht_server_stop(&s);
    struct ez_db *db[2];
    for (int i = 0; i < 2; i++)
        db[i] = ez_db_new(ht_pg_dsn(), 5000, "check_ops_flight");
    struct ez_audit_batch a = { 0 }, b = { 0 };
    for (int i = 0; i < 300; i++) {
        char id[16], producer[32];
        snprintf(id, sizeof id, "%d", i);
        snprintf(producer, sizeof producer, "flight-%d", i);
        json_t *rec = json_pack("{s:s, s:s, s:s}", "actor_type", i == 250 ? "nobody" : "admin",
                                "action", "flight.test", "resource_id", id);
        char *row = ez_audit_row(rec);
        if (i < 200)
            ck_assert_int_eq(ez_audit_batch_add(&a, row, strlen(row), producer), 0);
        if (i >= 100)
            ck_assert_int_eq(ez_audit_batch_add(&b, row, strlen(row), producer), 0);
        free(row);
        json_decref(rec);
    }
    ez_audit_batch_send(db[0], &a);
    ez_audit_batch_send(db[1], &b);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM pg_stat_activity "
                                "WHERE application_name = 'check_ops_flight'"), 2);
    int dropped = -1;
    ck_assert_int_eq(ez_audit_batch_finish(db[0], &a, &dropped), EZ_DB_OK);
    ck_assert_int_eq(dropped, 0);
    ck_assert_int_eq(ez_audit_batch_finish(db[1], &b, &dropped), EZ_DB_OK);
    ck_assert_int_eq(dropped, 1);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM audit_records WHERE action = 'flight.test'"),
                     299);
    ck_assert_int_eq(ht_pg_count("SELECT count(DISTINCT resource_id) FROM audit_records "
                                "WHERE action = 'flight.test' AND resource_id <> '250'"), 299);
    /* Both again, at once: nothing new. */
    ez_audit_batch_send(db[0], &a);
    ez_audit_batch_send(db[1], &b);
    ck_assert_int_eq(ez_audit_batch_finish(db[0], &a, &dropped), EZ_DB_OK);
    ck_assert_int_eq(ez_audit_batch_finish(db[1], &b, &dropped), EZ_DB_OK);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM audit_records WHERE action = 'flight.test'"),
                     299);
    ez_audit_batch_free(&a);
    ez_audit_batch_free(&b);
    for (int i = 0; i < 2; i++)
        ez_db_free(db[i]);
}
END_TEST

START_TEST(audit_database_down_and_back_loses_nothing)
{
    PGconn *pg = ht_pg();
    PQclear(PQexec(pg, "DROP DATABASE IF EXISTS ezapi_audit WITH (FORCE)"));
    PGresult *res = PQexec(pg, "CREATE DATABASE ezapi_audit");
    ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s", PQerrorMessage(pg));
    PQclear(res);
    char conf[600];
    char dsn[400];
    snprintf(dsn, sizeof dsn, "%s", ht_pg_dsn());
    char *db = strstr(dsn, "dbname=ezapi");
    ck_assert(db != NULL);
    snprintf(conf, sizeof conf, "log_pg_dsn = %.*sdbname=ezapi_audit%s\n", (int)(db - dsn), dsn,
             db + strlen("dbname=ezapi"));
    struct ht_server s;
    ht_server_start(&s, conf);
    PQclear(PQexec(pg, "ALTER DATABASE ezapi_audit ALLOW_CONNECTIONS false"));
    PQclear(PQexec(pg, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = 'ezapi_audit'"));
    for (int i = 0; i < 20; i++) {
        char n[32];
        snprintf(n, sizeof n, "ad%d", i);
        ck_assert_int_eq(create_namespace(&s, n), 201);
    }
    ht_sleep_ms(1000);
    PQclear(PQexec(pg, "ALTER DATABASE ezapi_audit ALLOW_CONNECTIONS true"));
    PQfinish(pg);
    char adsn[500];
    snprintf(adsn, sizeof adsn, "%.*sdbname=ezapi_audit%s", (int)(db - dsn), dsn,
             db + strlen("dbname=ezapi"));
    long long n = -1;
    int64_t deadline = ht_now_ms() + 20000;
    while (ht_now_ms() < deadline) {
        PGconn *a = PQconnectdb(adsn);
        res = PQexec(a, "SELECT count(*) FROM audit_records WHERE action = 'namespace.create'");
        n = PQresultStatus(res) == PGRES_TUPLES_OK ? atoll(PQgetvalue(res, 0, 0)) : -1;
        PQclear(res);
        PQfinish(a);
        if (n == 20)
            break;
        ht_sleep_ms(200);
    }
    ck_assert_msg(n == 20, "audit records in the audit database: %lld, expected 20", n);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM audit_records"), 0);
    ht_server_stop(&s); /* the outage was provoked: errors in the log are expected */
}
END_TEST

/* ---- Outbox and outages ---------------------------------------------------- */

static long long outbox_rows(const char *status)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM sync_outbox WHERE status = '%s'", status);
    return ht_pg_count(sql);
}

START_TEST(redis_down_fills_the_outbox_which_drains_when_it_returns)
{
    struct ht_server s;
    ht_server_start(&s, "sync_outbox_interval = 300ms\n");
    ht_redis_stop();
    for (int i = 0; i < 10; i++) {
        char n[32];
        snprintf(n, sizeof n, "rd%d", i);
        ck_assert_int_eq(create_namespace(&s, n), 201);
    }
    HT_EVENTUALLY(outbox_rows("pending") == 10, 10000, "outbox should hold the 10 jobs");
    json_t *j = get_json(&s, "/admin/sync/outbox?status=pending", 200);
    ck_assert_int_eq(json_array_size(json_object_get(j, "data")), 10);
    json_t *row = json_array_get(json_object_get(j, "data"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(row, "resource")), "namespaces");
    ck_assert(json_integer_value(json_object_get(row, "attempts")) >= 1);
    ck_assert(json_string_value(json_object_get(row, "last_error")) != NULL);
    json_decref(j);
    j = get_json(&s, "/admin/sync/status", 200);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "outbox"), "pending")), 10);
    json_decref(j);
    struct ht_resp r;
    ck_assert_int_eq(ht_get(s.port, "/health/ready", NULL, &r), 503);
    ht_resp_free(&r);
    ht_redis_start();
    HT_EVENTUALLY(outbox_rows("pending") == 0, 20000, "outbox never drained");
    for (int i = 0; i < 10; i++) {
        char n[32];
        snprintf(n, sizeof n, "rd%d", i);
        ck_assert_msg(in_redis(n), "%s missing from Redis after the drain", n);
    }
    ht_server_stop(&s); /* Redis errors were provoked */
}
END_TEST

/* Redis refuses writes (it asks for a replica it does not have) while
 * keeping its data and run id, so that no full resync settles the row. */
static void redis_refuse_writes(int refuse)
{
    redisContext *c = ht_redis();
    redisReply *rep = redisCommand(c, "CONFIG SET min-replicas-to-write %d", refuse);
    ck_assert_msg(rep && rep->type == REDIS_REPLY_STATUS, "CONFIG SET failed");
    freeReplyObject(rep);
    redisFree(c);
}

START_TEST(outbox_row_at_max_retries_fails_and_retries_by_hand)
{
    struct ht_server s;
    ht_server_start(&s, "sync_outbox_interval = 100ms\nsync_outbox_max_retries = 2\n");
    HT_EVENTUALLY(ht_server_log_contains(&s, "full resync done"), 10000, "no start-up resync");
    redis_refuse_writes(1);
    ck_assert_int_eq(create_namespace(&s, "mr"), 201);
    HT_EVENTUALLY(outbox_rows("failed") == 1, 15000, "row never marked failed");
    json_t *j = get_json(&s, "/admin/sync/outbox?status=failed", 200);
    json_t *row = json_array_get(json_object_get(j, "data"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(row, "attempts")), 2);
    json_int_t id = json_integer_value(json_object_get(row, "id"));
    json_decref(j);
    redis_refuse_writes(0);
    ht_sleep_ms(500);
    ck_assert_int_eq(outbox_rows("failed"), 1); /* failed rows wait for an operator */
    ck_assert(!in_redis("mr"));
    char path[64];
    snprintf(path, sizeof path, "/admin/sync/outbox/%lld/retry", (long long)id);
    struct ht_resp r;
    ck_assert_int_eq(ht_http(s.port, "POST", path, ht_auth(&s, "admin"), NULL, 0, &r), 200);
    ht_resp_free(&r);
    HT_EVENTUALLY(outbox_rows("failed") == 0 && outbox_rows("pending") == 0, 10000,
                 "manual retry did not apply");
    ck_assert(in_redis("mr"));
    ck_assert_int_eq(ht_http(s.port, "POST", "/admin/sync/outbox/999999/retry", ht_auth(&s, "admin"),
                            NULL, 0, &r), 404);
    ht_resp_free(&r);
    ck_assert_int_eq(ht_http(s.port, "POST", "/admin/sync/outbox/abc/retry", ht_auth(&s, "admin"),
                            NULL, 0, &r), 400);
    ht_resp_free(&r);
    ht_server_stop(&s);
}
END_TEST

/* Statements are prepared once per connection: more distinct statements
 * than the cache holds still run (unprepared), a prepared statement's
 * error is the caller's, and after a PostgreSQL restart the new connection
 * prepares them again instead of naming statements the server forgot. */
static long long sum_of(struct ez_db *db, int k)
{
    char sql[64], arg[16];
    snprintf(sql, sizeof sql, "SELECT $1::int + %d", k);
    snprintf(arg, sizeof arg, "%d", k);
    const char *p[] = { arg };
    PGresult *res;
    int rc = ez_db_exec(db, &res, sql, 1, p);
    long long v = rc == EZ_DB_OK ? atoll(PQgetvalue(res, 0, 0)) : -1 - rc;
    PQclear(res);
    return v;
}

START_TEST(prepared_statements_survive_many_texts_errors_and_restarts)
{
    struct ez_db *db = ez_db_new(ht_pg_dsn(), 5000, "check_ops");
    for (int round = 0; round < 2; round++)
        for (int k = 0; k < 400; k++)
            ck_assert_int_eq(sum_of(db, k), 2 * k);
    PGresult *res;
    ck_assert_int_eq(ez_db_exec(db, &res, "SELECT 1 / $1::int", 1, (const char *[]){ "0" }),
                     EZ_DB_ERROR);
    ck_assert_str_eq(ez_db_sqlstate(res), "22012");
    PQclear(res);
    ck_assert_int_eq(ez_db_exec(db, &res, "SELEC broken", 0, NULL), EZ_DB_ERROR);
    ck_assert_str_eq(ez_db_sqlstate(res), "42601");
    PQclear(res);
    ht_pg_stop();
    ck_assert_int_eq(sum_of(db, 3), -1 - EZ_DB_UNAVAILABLE);
    ht_pg_start();
    for (int k = 0; k < 400; k += 7)
        ck_assert_int_eq(sum_of(db, k), 2 * k);
    ez_db_free(db);
}
END_TEST

START_TEST(postgres_outage_answers_503_and_recovers_by_itself)
{
    struct ht_server s;
    ht_server_start(&s, "request_timeout = 5s\n");
    ck_assert_int_eq(create_namespace(&s, "before"), 201);
    ht_pg_stop();
    int64_t t0 = ht_now_ms();
    struct ht_resp r;
    ck_assert_int_eq(ht_post_json(s.port, "/admin/namespaces", ht_auth(&s, "admin"),
                                 "{\"name\":\"during\"}", &r), 503);
    json_t *j = ht_resp_json(&r);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "error"), "type")),
                     "unavailable_error");
    json_decref(j);
    ht_resp_free(&r);
    ck_assert_msg(ht_now_ms() - t0 < 5000, "the 503 took longer than request_timeout");
    ck_assert_int_eq(ht_get(s.port, "/health/ready", NULL, &r), 503);
    ht_resp_free(&r);
    ck_assert_int_eq(ht_get(s.port, "/health", NULL, &r), 200);
    ht_resp_free(&r);
    ht_pg_start();
    HT_EVENTUALLY(create_namespace(&s, "after") == 201, 15000, "service did not resume");
    HT_EVENTUALLY(in_redis("after"), 10000, "namespace created after the outage not synced");
    ht_server_stop(&s);
}
END_TEST

/* ---- CPU priority of the roles ------------------------------------------- */

static int niceness(pid_t pid)
{
    errno = 0;
    int n = getpriority(PRIO_PROCESS, (id_t)pid);
    ck_assert_msg(!(n == -1 && errno), "getpriority(%d): %s", (int)pid, strerror(errno));
    return n;
}

static int clamp_nice(int n) { return n < -20 ? -20 : n > 19 ? 19 : n; }

/* Each role runs at its key's niceness added to the supervisor's (all 0
 * by default); a reload starts workers at the new value. */
START_TEST(each_role_runs_at_its_niceness)
{
    struct ht_server s;
    ht_server_start(&s, "worker_nice = 3\nlogger_nice = 6\n");
    int base = niceness(s.pid);
    pid_t w = ht_server_child_pid(&s, "worker 0"), sy = ht_server_child_pid(&s, "syncer"),
          lg = ht_server_child_pid(&s, "logger");
    ck_assert(w > 0 && sy > 0 && lg > 0);
    ck_assert_int_eq(niceness(sy), base);
    ck_assert_int_eq(niceness(w), clamp_nice(base + 3));
    ck_assert_int_eq(niceness(lg), clamp_nice(base + 6));
    ht_server_write_conf(&s, "worker_nice = 1\n");
    ht_server_reload(&s);
    pid_t now;
    HT_EVENTUALLY(ht_server_child_replaced(&s, "worker 0", w, &now), 20000,
                  "no new worker after the reload");
    ck_assert_int_eq(niceness(now), clamp_nice(base + 1));
    ht_assert_clean_stop(&s);
}
END_TEST

/* A value the process may not take (below the supervisor's, without the
 * privilege) is refused with a warning and the role keeps running at the
 * supervisor's niceness; at 0 nothing is changed. */
START_TEST(a_refused_niceness_leaves_the_role_running)
{
    struct ht_server s;
    ht_server_start(&s, "worker_nice = 0\nsyncer_nice = -5\nlogger_nice = 0\n");
    int base = niceness(s.pid);
    pid_t w = ht_server_child_pid(&s, "worker 0"), sy = ht_server_child_pid(&s, "syncer");
    ck_assert(w > 0 && sy > 0);
    ck_assert_int_eq(niceness(w), base);
    if (geteuid() == 0) /* root may lower it */
        ck_assert_int_eq(niceness(sy), clamp_nice(base - 5));
    else
        ck_assert_int_eq(niceness(sy), base);
    struct ht_resp r;
    ck_assert_int_eq(ht_get(s.port, "/health/ready", NULL, &r), 200);
    ht_resp_free(&r);
    ht_assert_clean_stop(&s);
}
END_TEST

/* ---- Valgrind ------------------------------------------------------------ */

START_TEST(start_serve_stop_has_no_leak_under_valgrind)
{
    const char *san = getenv("EZAPI_SANITIZERS");
    if ((san && strcmp(san, "yes") == 0) || system("command -v valgrind >/dev/null") != 0) {
        fprintf(stderr, "skipped: sanitizer build or no valgrind\n");
        return;
    }
    struct ht_server s;
    ht_server_init(&s, "workers = 1\nsync_queue_capacity = 16\naudit_queue_capacity = 16\n");
    char wrapper[400], logs[350];
    snprintf(wrapper, sizeof wrapper, "%s/vg-ezapi", s.dir);
    snprintf(logs, sizeof logs, "%s/vg", s.dir);
    char script[1500];
    snprintf(script, sizeof script,
             "#!/bin/sh\n"
             "case \"$1\" in -c) exec valgrind -q --leak-check=full --show-leak-kinds=definite,indirect "
             "--errors-for-leak-kinds=definite,indirect --trace-children=yes "
             "--log-file=%s.%%p %s \"$@\" ;; esac\nexec %s \"$@\"\n",
             logs, getenv("EZAPI_BIN"), getenv("EZAPI_BIN"));
    ht_write_file(wrapper, script);
    ck_assert_int_eq(chmod(wrapper, 0755), 0);
    setenv("EZAPI_BIN", wrapper, 1);
    ht_server_spawn(&s);
    ht_server_wait_ready(&s);
    ck_assert_int_eq(create_namespace(&s, "vg"), 201);
    HT_EVENTUALLY(in_redis("vg"), 20000, "not synced under valgrind");
    struct ht_resp r;
    ck_assert_int_eq(ht_get(s.port, "/metrics", NULL, &r), 200);
    ht_resp_free(&r);
    ck_assert_int_eq(ht_get(s.port, "/nope", NULL, &r), 404);
    ht_resp_free(&r);
    ck_assert_int_eq(ht_server_stop(&s), 0);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "cat %s.* | grep -E 'definitely lost|indirectly lost|Invalid|uninitialised|ERROR SUMMARY: [1-9]' > %s.found", logs, logs);
    ck_assert(system(cmd) >= 0);
    snprintf(cmd, sizeof cmd, "%s.found", logs);
    FILE *f = fopen(cmd, "r");
    char line[512] = "";
    int bad = f && fgets(line, sizeof line, f) != NULL;
    if (f)
        fclose(f);
    ck_assert_msg(!bad, "valgrind reported a problem (logs in %s.*): %s", logs, line);
}
END_TEST

static Suite *ops_suite(void)
{
    Suite *s = suite_create("ops");
    TCase *m = ht_tcase("metrics");
    tcase_add_test(m, metrics_pass_promtool_and_show_every_process);
    tcase_add_test(m, metrics_refused_outside_metrics_allow);
    tcase_add_test(m, keep_alive_connections_are_spread_over_the_workers);
    tcase_add_test(m, a_probe_connection_does_not_pile_the_next_ones_on_one_worker);
    tcase_add_test(m, connections_are_accepted_while_the_emptier_worker_is_stuck);
    tcase_add_test(m, metrics_count_restarts_and_reloads);
    tcase_add_test(m, a_crash_during_a_reload_is_counted);
    suite_add_tcase(s, m);
    TCase *a = ht_tcase("audit");
    tcase_add_test(a, audit_records_changes_with_before_and_after);
    tcase_add_test(a, failed_logins_are_audited);
    tcase_add_test(a, audit_query_filters_and_pages_newest_first);
    tcase_add_test(a, audit_query_uses_indexes_at_scale);
    tcase_add_test(a, logger_kill_loses_and_duplicates_no_audit_record);
    tcase_add_test(a, logger_killed_while_draining_a_backlog_writes_each_record_once);
    tcase_add_test(a, audit_store_replay_writes_each_record_once);
    tcase_add_test(a, audit_batches_in_flight_together_write_each_record_once);
    tcase_add_test(a, audit_database_down_and_back_loses_nothing);
    suite_add_tcase(s, a);
    TCase *o = ht_tcase("outages");
    tcase_add_test(o, redis_down_fills_the_outbox_which_drains_when_it_returns);
    tcase_add_test(o, outbox_row_at_max_retries_fails_and_retries_by_hand);
    tcase_add_test(o, postgres_outage_answers_503_and_recovers_by_itself);
    tcase_add_test(o, prepared_statements_survive_many_texts_errors_and_restarts);
    suite_add_tcase(s, o);
    TCase *n = ht_tcase("niceness");
    tcase_add_test(n, each_role_runs_at_its_niceness);
    tcase_add_test(n, a_refused_niceness_leaves_the_role_running);
    suite_add_tcase(s, n);
    TCase *v = ht_tcase("valgrind");
    tcase_set_timeout(v, 300);
    tcase_add_test(v, start_serve_stop_has_no_leak_under_valgrind);
    suite_add_tcase(s, v);
    return s;
}

int main(void)
{
    return ht_run_suite(ops_suite());
}
