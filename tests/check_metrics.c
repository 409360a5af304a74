/* Metrics as a Prometheus operator reads them: each process exposes only
 * the series it can move (the roles column of common/metrics_table.h), so
 * a scrape stays small; the scrape passes `promtool check metrics`; the
 * alerting rules of contrib/prometheus pass `promtool check rules` and
 * their unit tests, and every metric they use is in a real scrape and
 * moves when Redis or PostgreSQL goes away. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static char *scrape(struct ht_server *s)
{
    struct ht_resp r;
    ck_assert_int_eq(ht_get(s->port, "/metrics", NULL, &r), 200);
    char *text = strdup(r.body);
    ht_resp_free(&r);
    return text;
}

static int count_lines(const char *text, const char *prefix)
{
    int n = 0;
    for (const char *p = text; p && *p;) {
        if (!prefix || strncmp(p, prefix, strlen(prefix)) == 0)
            n++;
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    return n;
}

/* The value of the one series that starts with `series` ("name{labels"), or
 * -1 when absent. */
static double value_of(const char *text, const char *series)
{
    for (const char *p = text; p && *p;) {
        if (strncmp(p, series, strlen(series)) == 0) {
            const char *sp = strchr(p, ' ');
            return sp ? atof(sp + 1) : -1;
        }
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    return -1;
}

static void promtool_metrics(struct ht_server *s, const char *text)
{
    char path[400], cmd[1000];
    snprintf(path, sizeof path, "%s/metrics.txt", s->dir);
    ht_write_file(path, text);
    snprintf(cmd, sizeof cmd, "promtool check metrics < '%s' > '%s.out' 2>&1", path, path);
    int rc = system(cmd);
    ck_assert_msg(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "promtool check metrics failed, see %s.out",
                  path);
}

/* Which processes show a family: every one of `present` and none of
 * `absent` has a series of name with its process label. */
static void shown_by(const char *text, const char *name, const char *const *present,
                     const char *const *absent)
{
    char want[160];
    for (; *present; present++) {
        snprintf(want, sizeof want, "\n%s{process=\"%s\"", name, *present);
        ck_assert_msg(strstr(text, want), "no %s for %s", name, *present);
    }
    for (; *absent; absent++) {
        snprintf(want, sizeof want, "\n%s{process=\"%s\"", name, *absent);
        ck_assert_msg(!strstr(text, want), "%s shown for %s, which never moves it", name,
                      *absent);
    }
}

#define L(...) ((const char *const[]){ __VA_ARGS__, NULL })

START_TEST(each_process_shows_only_what_it_moves)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    char *fresh = scrape(&s);
    for (int i = 0; i < 20; i++) {
        struct ht_resp r;
        char body[64];
        snprintf(body, sizeof body, "{\"name\":\"ns-%d\"}", i);
        ck_assert_int_eq(ht_get(s.port, "/health", NULL, &r), 200);
        ht_resp_free(&r);
        ck_assert_int_eq(ht_post_json(s.port, "/admin/namespaces", ht_auth(&s, "admin"), body, &r),
                         201);
        ht_resp_free(&r);
    }
    char *busy = scrape(&s);
    promtool_metrics(&s, busy);
    /* the size: what a fresh scrape holds, and what 40 requests add (the
     * series of the two routes used, on the workers that served them) */
    int before = count_lines(fresh, NULL), after = count_lines(busy, NULL);
    int http = count_lines(busy, "ezapi_http_request") - count_lines(fresh, "ezapi_http_request");
    fprintf(stderr, "check_metrics: scrape of a fresh server %d lines, after 40 requests %d "
            "(%d of them for the HTTP routes used)\n", before, after, http);
    shown_by(busy, "ezapi_sync_jobs_total", L("syncer"), L("worker-0", "logger", "supervisor"));
    shown_by(busy, "ezapi_full_resync_total", L("syncer"), L("worker-0", "logger", "supervisor"));
    shown_by(busy, "ezapi_queue_full_total", L("worker-0", "worker-1"),
             L("syncer", "logger", "supervisor"));
    shown_by(busy, "ezapi_http_timeouts_total", L("worker-0", "worker-1"),
             L("syncer", "logger", "supervisor"));
    shown_by(busy, "ezapi_auth_failures_total", L("worker-0"), L("syncer", "logger", "supervisor"));
    shown_by(busy, "ezapi_redis_errors_total", L("worker-0", "syncer"), L("logger", "supervisor"));
    shown_by(busy, "ezapi_pg_errors_total", L("worker-0", "syncer", "logger"), L("supervisor"));
    shown_by(busy, "ezapi_bad_frames_total", L("syncer", "logger"), L("worker-0", "supervisor"));
    shown_by(busy, "process_start_time_seconds", L("supervisor", "syncer", "logger", "worker-0"),
             L("nobody"));
    ck_assert(value_of(busy, "ezapi_audit_records_total{process=\"logger\",result=\"written\"}") >= 0);
    ck_assert(value_of(busy, "ezapi_audit_records_total{process=\"worker-0\",result=\"written\"}") < 0);
    ck_assert(value_of(busy, "ezapi_audit_records_total{process=\"worker-0\",result=\"direct\"}") >= 0);
    ck_assert(value_of(busy, "ezapi_audit_records_total{process=\"logger\",result=\"direct\"}") < 0);
    ck_assert_msg(before <= 140, "a fresh scrape has %d lines", before);
    ck_assert_msg(after - before - http <= 10, "40 requests added %d lines besides their routes'",
                  after - before - http);
    free(fresh);
    free(busy);
    ht_assert_clean_stop(&s);
}
END_TEST

static void rules_path(char *buf, size_t len, const char *file)
{
    const char *src = getenv("EZAPI_SRCDIR");
    ck_assert_msg(src && *src, "EZAPI_SRCDIR is not set");
    snprintf(buf, len, "%s/contrib/prometheus/%s", src, file);
}

START_TEST(alerting_rules_pass_promtool)
{
    char rules[1024], tests[1024], cmd[3000];
    rules_path(rules, sizeof rules, "ezapi-rules.yml");
    rules_path(tests, sizeof tests, "ezapi-rules.test.yml");
    snprintf(cmd, sizeof cmd, "promtool check rules '%s' >/dev/null 2>&1", rules);
    ck_assert_msg(system(cmd) == 0, "promtool check rules %s failed", rules);
    /* promtool test rules reads rule_files relative to the test file */
    snprintf(cmd, sizeof cmd, "promtool test rules '%s' >&2", tests);
    ck_assert_msg(system(cmd) == 0, "promtool test rules %s failed", tests);
}
END_TEST

/* Every ezapi_* name the rules' expressions use, each followed by a space,
 * in a malloc'd string. */
static char *rule_metrics(void)
{
    char path[1024], line[1024];
    rules_path(path, sizeof path, "ezapi-rules.yml");
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t cap = 4096, len = 0;
    char *names = calloc(1, cap);
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, "summary:") || strstr(line, "description:") || line[0] == '#')
            continue;
        for (char *p = strstr(line, "ezapi_"); p; p = strstr(p + 1, "ezapi_")) {
            char name[128];
            size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz_0123456789");
            snprintf(name, sizeof name, "%.*s ", (int)n, p);
            if (!strstr(names, name) && len + strlen(name) < cap)
                len += (size_t)snprintf(names + len, cap - len, "%s", name);
        }
    }
    fclose(f);
    return names;
}

/* The sum of every series of name in a scrape of s. */
static double total(struct ht_server *s, const char *name)
{
    char *text = scrape(s), want[128];
    double sum = 0;
    snprintf(want, sizeof want, "\n%s{", name);
    for (const char *p = text; (p = strstr(p, want)); p++)
        sum += atof(strchr(p, ' ') + 1);
    free(text);
    return sum;
}

START_TEST(rules_use_metrics_that_move_in_outages)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    char *text = scrape(&s), *names = rule_metrics();
    ck_assert_msg(strstr(names, "ezapi_outbox_rows ") && strstr(names, "ezapi_redis_errors_total "),
                  "rules read: %s", names);
    for (char *p = names; *p; p += strcspn(p, " ") + 1) {
        char want[160];
        snprintf(want, sizeof want, "\n%.*s{", (int)strcspn(p, " "), p);
        ck_assert_msg(strstr(text, want), "the rules use %s, which no scrape shows", want + 1);
    }
    free(text);
    free(names);
    /* Redis down: its error counter moves (EzapiRedisDown) */
    double redis0 = total(&s, "ezapi_redis_errors_total");
    ht_redis_stop();
    HT_EVENTUALLY(total(&s, "ezapi_redis_errors_total") > redis0, 20000,
                 "ezapi_redis_errors_total did not move with Redis down");
    ht_redis_start();
    /* PostgreSQL down: its error counter moves (EzapiPostgresDown) */
    double pg0 = total(&s, "ezapi_pg_errors_total");
    ht_pg_stop();
    struct ht_resp r;
    ck_assert_int_eq(ht_get(s.port, "/admin/namespaces", ht_auth(&s, "admin"), &r), 503);
    ht_resp_free(&r);
    HT_EVENTUALLY(total(&s, "ezapi_pg_errors_total") > pg0, 20000,
                 "ezapi_pg_errors_total did not move with PostgreSQL down");
    ht_pg_start();
    ck_assert_int_eq(ht_server_stop(&s), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics");
    TCase *t = ht_tcase("metrics");
    tcase_add_test(t, each_process_shows_only_what_it_moves);
    tcase_add_test(t, alerting_rules_pass_promtool);
    tcase_add_test(t, rules_use_metrics_that_move_in_outages);
    suite_add_tcase(s, t);
    return ht_run_suite(s);
}
