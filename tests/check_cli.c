/* The command line as an operator meets it: `ezapi -t` refuses exactly what
 * the server and a reload refuse, `ezapi -T` prints the effective config
 * with each value's source and no secret, --help and --version, and
 * redis_url with a Redis 6 ACL user whose password holds '@' and '%'. */
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* The sample with pg_dsn pointed at the test database and everything else
 * as shipped (its secrets are the CHANGE-ME placeholders). */
static void write_sample(const char *path)
{
    struct ht_cmd c;
    ht_ezapi(&c, "config", "sample", NULL);
    ck_assert_int_eq(c.status, 0);
    size_t cap = strlen(c.out) + 512;
    char *text = malloc(cap), *line = strstr(c.out, "\npg_dsn = ");
    ck_assert_ptr_nonnull(line);
    char *eol = strchr(line + 1, '\n');
    snprintf(text, cap, "%.*s\npg_dsn = %s%s", (int)(line - c.out), c.out, ht_pg_dsn(), eol);
    ht_write_file(path, text);
    free(text);
    ht_cmd_free(&c);
}

START_TEST(the_sample_is_refused_by_check_and_server_alike)
{
    struct ht_server s;
    ht_server_init(&s, NULL);
    write_sample(s.conf);
    struct ht_cmd t, run;
    ht_ezapi(&t, "-t", "-c", s.conf, NULL);
    ht_ezapi(&run, "-c", s.conf, NULL);
    ck_assert_msg(t.status == 78, "ezapi -t accepted the sample (exit %d): %s%s", t.status,
                  t.out, t.err);
    ck_assert_msg(strstr(t.err, "admin_jwt_secret: still the sample's CHANGE-ME placeholder"),
                  "ezapi -t: %s", t.err);
    ck_assert_msg(run.status == 78, "the server exited %d: %s", run.status, run.err);
    ck_assert_msg(strcmp(t.err, run.err) == 0, "-t said \"%s\", the server \"%s\"", t.err,
                  run.err);
    ht_cmd_free(&t);
    ht_cmd_free(&run);
}
END_TEST

/* A reload is the same check: placeholders written into the file of a
 * running server are refused, and the old config keeps serving. */
START_TEST(a_reload_refuses_the_placeholders_too)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    const char *auth = ht_auth(&s, "admin"); /* minted while the file is good */
    long mark = ht_server_log_mark(&s);
    ht_server_write_conf(&s, "admin_jwt_secret = CHANGE-ME-admin_jwt_secret-openssl-rand-hex-32\n");
    struct ht_cmd t;
    ht_ezapi(&t, "-t", "-c", s.conf, NULL);
    ck_assert_int_eq(t.status, 78);
    ht_cmd_free(&t);
    ht_server_reload(&s);
    HT_EVENTUALLY(ht_server_log_contains_since(&s, mark, "reload refused"), 10000,
                 "the reload was not refused");
    ck_assert(ht_server_log_contains_since(&s, mark, "CHANGE-ME placeholder"));
    struct ht_resp r;
    ck_assert_int_eq(ht_get(s.port, "/admin/namespaces", auth, &r), 200);
    ht_resp_free(&r);
    ck_assert_int_eq(ht_server_stop(&s), 0);
}
END_TEST

START_TEST(check_refuses_rediss_and_a_bad_dsn_naming_the_line)
{
    static const struct {
        const char *extra, *want;
    } cases[] = {
        { "redis_url = rediss://:s3cret-pw@cache:6380/0\n",
          "redis_url: rediss:// (Redis over TLS) is not supported" },
        { "log_pg_dsn = host=db password=s3cret-pw port\n", "log_pg_dsn: not a libpq connection" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ht_server s;
        struct ht_cmd t;
        ht_server_init(&s, cases[i].extra);
        ht_ezapi(&t, "-t", "-c", s.conf, NULL);
        ck_assert_msg(t.status == 78, "accepted: %s", cases[i].extra);
        ck_assert_msg(strstr(t.err, cases[i].want), "%s", t.err);
        ck_assert_msg(strstr(t.err, s.conf), "no file name in: %s", t.err);
        ck_assert_msg(!strstr(t.err, "s3cret-pw"), "the error shows the password: %s", t.err);
        ht_cmd_free(&t);
    }
}
END_TEST

/* Runs `ezapi -T -c conf` with two EZAPI_* variables set; stdout, malloc'd. */
static char *dump(const char *conf, int *status)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "EZAPI_LOG_LEVEL=debug EZAPI_AUDIT_BATCH_SIZE=77 '%s' -T -c '%s'",
             getenv("EZAPI_BIN"), conf);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t cap = 1 << 16, n = 0;
    char *out = malloc(cap);
    size_t got;
    while ((got = fread(out + n, 1, cap - n - 1, p)) > 0)
        n += got;
    out[n] = '\0';
    int rc = pclose(p);
    *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    return out;
}

START_TEST(dump_names_each_source_and_masks_secrets)
{
    struct ht_server s;
    char dsn[512];
    snprintf(dsn, sizeof dsn, "pg_dsn = %s password=pg-pass-9876\n", ht_pg_dsn());
    char extra[2048];
    snprintf(extra, sizeof extra,
             "%sredis_url = redis://app:rp@ss-1234@127.0.0.1:%d/0\n"
             "secrets_key = 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
             "log_level = warn\n",
             dsn, ht_redis_port());
    ht_server_init(&s, extra);
    int status;
    char *out = dump(s.conf, &status);
    ck_assert_msg(status == 0, "ezapi -T exited %d:\n%s", status, out);
    char want[1024];
    /* the harness writes its defaults first: listen is line 2 */
    snprintf(want, sizeof want, "\n# %s:2\nlisten = 127.0.0.1:%d\n", s.conf, s.port);
    ck_assert_msg(strstr(out, want), "no \"%s\" in:\n%s", want, out);
    snprintf(want, sizeof want, "\n# env EZAPI_LOG_LEVEL (over %s:", s.conf);
    ck_assert_msg(strstr(out, want), "no \"%s\" in:\n%s", want, out);
    ck_assert_msg(strstr(out, ")\nlog_level = debug\n"), "%s", out);
    ck_assert_msg(strstr(out, "\n# env EZAPI_AUDIT_BATCH_SIZE\naudit_batch_size = 77\n"), "%s",
                  out);
    ck_assert_msg(strstr(out, "\n# default\nrequest_timeout = 30s\n"), "%s", out);
    ck_assert_msg(strstr(out, "\n# default (empty: pg_dsn)\nlog_pg_dsn = "), "%s", out);
    ck_assert_msg(strstr(out, "redis_url = redis://app:********@127.0.0.1:"), "%s", out);
    ck_assert_msg(strstr(out, "\nsecrets_key = ********\n"), "%s", out);
    ck_assert_msg(strstr(out, "\nadmin_jwt_secret = ********\n"), "%s", out);
    ck_assert_msg(strstr(out, "password=********"), "%s", out);
    static const char *const secrets_shown[] = { "pg-pass-9876", "rp@ss-1234", "000102030405" };
    for (size_t i = 0; i < sizeof secrets_shown / sizeof secrets_shown[0]; i++)
        ck_assert_msg(!strstr(out, secrets_shown[i]), "-T shows %s", secrets_shown[i]);
    ck_assert_msg(!strstr(out, s.admin_secret) && !strstr(out, s.master_secret),
                  "-T shows a JWT secret");
    free(out);
    /* and -T of a bad file is -t's refusal */
    ht_server_write_conf(&s, "workers = 0\n");
    out = dump(s.conf, &status);
    ck_assert_int_eq(status, 78);
    ck_assert_str_eq(out, "");
    free(out);
}
END_TEST

START_TEST(help_and_version_exit_0)
{
    static const char *const help[] = { "--help", "-h" }, *const version[] = { "--version", "-v" };
    for (int i = 0; i < 2; i++) {
        struct ht_cmd c;
        ht_ezapi(&c, help[i], NULL);
        ck_assert_msg(c.status == 0, "%s exited %d: %s", help[i], c.status, c.err);
        ck_assert_msg(strstr(c.out, "usage: ezapi") && strstr(c.out, "ezapi -T [-c FILE]"),
                      "%s printed: %s", help[i], c.out);
        ht_cmd_free(&c);
        ht_ezapi(&c, version[i], NULL);
        ck_assert_msg(c.status == 0, "%s exited %d: %s", version[i], c.status, c.err);
        ck_assert_msg(strncmp(c.out, "ezapi " PACKAGE_VERSION "\n", strlen(PACKAGE_VERSION) + 7) == 0,
                      "%s printed: %s", version[i], c.out);
        ht_cmd_free(&c);
    }
    struct ht_cmd c;
    ht_ezapi(&c, "--no-such-option", NULL);
    ck_assert_int_eq(c.status, 2);
    ht_cmd_free(&c);
}
END_TEST

static void redis_cmd(const char *fmt, const char *a)
{
    redisContext *r = ht_redis();
    redisReply *rep = redisCommand(r, fmt, a);
    ck_assert_msg(rep && rep->type != REDIS_REPLY_ERROR, "%s: %s", fmt,
                  rep ? rep->str : r->errstr);
    freeReplyObject(rep);
    redisFree(r);
}

/* A Redis 6 ACL user whose password holds '@' and '%': the URL that
 * `ezapi -t` accepts connects, as AUTH user password, written either
 * percent-encoded or with the '@' as it is. */
START_TEST(redis_acl_user_with_at_and_percent_in_its_password)
{
    static const char *const passwords_in_url[] = { "p%40ss%25w0rd:x", "p@ss%25w0rd:x" };
    redis_cmd("ACL SETUSER ezapi-acl on >%s ~* &* +@all", "p@ss%w0rd:x");
    for (int i = 0; i < 2; i++) {
        char extra[512], name[32];
        snprintf(extra, sizeof extra, "redis_url = redis://ezapi-acl:%s@127.0.0.1:%d/0\n",
                 passwords_in_url[i], ht_redis_port());
        struct ht_server s;
        ht_server_init(&s, extra);
        struct ht_cmd t;
        ht_ezapi(&t, "-t", "-c", s.conf, NULL);
        ck_assert_msg(t.status == 0, "%s: -t exited %d: %s", extra, t.status, t.err);
        ht_cmd_free(&t);
        ht_server_spawn(&s);
        ht_server_wait_ready(&s); /* /health/ready answers 200 only with Redis reachable */
        snprintf(name, sizeof name, "acl-%d", i);
        char body[64];
        snprintf(body, sizeof body, "{\"name\":\"%s\"}", name);
        struct ht_resp r;
        ck_assert_int_eq(ht_post_json(s.port, "/admin/namespaces", ht_auth(&s, "admin"), body, &r),
                         201);
        ht_resp_free(&r);
        char *v = NULL;
        HT_EVENTUALLY((free(v), v = ht_redis_hget("config:namespaces", name)) != NULL, 10000,
                     "namespace %s never reached Redis through the ACL user", name);
        free(v);
        ck_assert_msg(!ht_server_log_contains(&s, "p@ss") && !ht_server_log_contains(&s, "w0rd"),
                      "the log shows the password");
        ht_assert_clean_stop(&s);
    }
    redis_cmd("ACL DELUSER %s", "ezapi-acl");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cli");
    TCase *t = ht_tcase("cli");
    tcase_add_test(t, the_sample_is_refused_by_check_and_server_alike);
    tcase_add_test(t, a_reload_refuses_the_placeholders_too);
    tcase_add_test(t, check_refuses_rediss_and_a_bad_dsn_naming_the_line);
    tcase_add_test(t, dump_names_each_source_and_masks_secrets);
    tcase_add_test(t, help_and_version_exit_0);
    tcase_add_test(t, redis_acl_user_with_at_and_percent_in_its_password);
    suite_add_tcase(s, t);
    return ht_run_suite(s);
}
