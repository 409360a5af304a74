/* Unit tests of the configuration table: file syntax, every kind's values,
 * environment overrides, error messages (and the secrets they must not show),
 * the sample file and the generated ezapi.conf(5). Files live in a mkdtemp. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "common/config.h"
#include "common/log.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ADMIN_SECRET "admin-secret-0123456789abcdef0123456789"
#define MASTER_SECRET "master-secret-0123456789abcdef012345678"
#define PG_DSN "host=/tmp dbname=ezapi_test"
/* Three lines, so a line appended to it is line 4. */
#define BASE "pg_dsn = " PG_DSN "\n" \
             "admin_jwt_secret = " ADMIN_SECRET "\n" \
             "master_jwt_secret = " MASTER_SECRET "\n"

static const char *const key_names[] = {
#define X(name, kind, def, min, max, reload, help) #name,
#include "common/config_table.h"
#undef X
};
#define NKEYS (sizeof(key_names) / sizeof(key_names[0]))

static char tmpdir[256];
static char conf_path[300];
static char err[1024];

static void env_name(const char *key, char *out, size_t len)
{
    size_t n = (size_t)snprintf(out, len, "EZAPI_");
    for (; *key && n + 1 < len; key++)
        out[n++] = *key >= 'a' && *key <= 'z' ? (char)(*key - 'a' + 'A') : *key;
    out[n] = '\0';
}

/* Runs once in the parent process, so the directory goes away even when a
 * test fails in its forked child. */
static void make_dir(void)
{
    const char *base = getenv("TMPDIR");

    snprintf(tmpdir, sizeof(tmpdir), "%s/check_config.XXXXXX", base && *base ? base : "/tmp");
    if (mkdtemp(tmpdir) == NULL) {
        perror(tmpdir);
        exit(EXIT_FAILURE);
    }
    snprintf(conf_path, sizeof(conf_path), "%s/ezapi.conf", tmpdir);
}

static void remove_dir(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    char path[600];

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(tmpdir);
}

/* Every test starts without EZAPI_<KEY> overrides and without a file. */
static void setup(void)
{
    char name[96];

    for (size_t i = 0; i < NKEYS; i++) {
        env_name(key_names[i], name, sizeof(name));
        unsetenv(name);
    }
    unlink(conf_path);
    err[0] = '\0';
}

static void write_bytes(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

static int load_text(const char *text, struct ez_config *c)
{
    write_bytes(conf_path, text, strlen(text));
    return ez_config_load(conf_path, c, err, sizeof(err));
}

/* BASE followed by extra. */
static int load_base(const char *extra, struct ez_config *c)
{
    char buf[16384];
    snprintf(buf, sizeof(buf), "%s%s", BASE, extra);
    return load_text(buf, c);
}

static void assert_zeroed(const struct ez_config *c)
{
    static const struct ez_config zero;
    ck_assert_msg(memcmp(c, &zero, sizeof(zero)) == 0, "config not zeroed after an error");
}

/* The load failed, *c is zeroed, and err starts with "FILE:LINE: KEY: ". */
static void assert_error_at(const struct ez_config *c, int rc, unsigned line, const char *key)
{
    char prefix[512];

    ck_assert_int_eq(rc, -1);
    assert_zeroed(c);
    snprintf(prefix, sizeof(prefix), "%s:%u: %s: ", conf_path, line, key);
    ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0, "error \"%s\" does not start with \"%s\"",
                  err, prefix);
}

static long long cpus_clamped(long long lo, long long hi)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < lo ? lo : n > hi ? hi : n;
}

START_TEST(test_defaults)
{
    struct ez_config c;

    ck_assert_msg(load_text(BASE, &c) == 0, "%s", err);
    ck_assert_str_eq(c.listen, "127.0.0.1:8080");
    ck_assert_int_eq(c.workers, cpus_clamped(1, 60));
    ck_assert_str_eq(c.pg_dsn, PG_DSN);
    ck_assert_str_eq(c.log_pg_dsn, PG_DSN);
    ck_assert_ptr_ne(c.log_pg_dsn, c.pg_dsn);
    ck_assert_str_eq(c.redis_url, "redis://127.0.0.1:6379/0");
    ck_assert_str_eq(c.redis_key_prefix, "");
    ck_assert_str_eq(c.admin_jwt_secret, ADMIN_SECRET);
    ck_assert_str_eq(c.master_jwt_secret, MASTER_SECRET);
    ck_assert_str_eq(c.jwt_issuer, "ezapi");
    ck_assert_int_eq(c.master_jwt_ttl, 3600000);
    ck_assert_str_eq(c.secrets_key, "");
    ck_assert_int_eq(c.has_secrets_key, 0);
    ck_assert_int_eq(c.max_body_size, 1048576);
    ck_assert_int_eq(c.request_timeout, 30000);
    ck_assert_int_eq(c.pg_statement_timeout, 5000);
    ck_assert_int_eq(c.shutdown_timeout, 10000);
    ck_assert_int_eq(c.sync_queue_capacity, 65536);
    ck_assert_int_eq(c.sync_outbox_interval, 5000);
    ck_assert_int_eq(c.sync_outbox_batch_size, 200);
    ck_assert_int_eq(c.sync_outbox_max_retries, 10);
    ck_assert_int_eq(c.full_resync_interval, 600000);
    ck_assert_int_eq(c.audit_queue_capacity, 65536);
    ck_assert_int_eq(c.audit_batch_size, 500);
    ck_assert_int_eq(c.audit_flush_interval, 200);
    ck_assert_int_eq(c.audit_retention_days, 90);
    ck_assert_str_eq(c.metrics_allow, "127.0.0.1/32,::1/128");
    ck_assert_int_eq(c.log_level, EZ_LOG_INFO);
    ck_assert_int_eq(c.log_format, 1);
    ck_assert_str_eq(c.pid_file, "");
    ck_assert_str_eq(c.path, conf_path);
    ez_config_free(&c);
}
END_TEST

START_TEST(test_no_file_env_only)
{
    struct ez_config c;

    setenv("EZAPI_PG_DSN", "dbname=fromenv", 1);
    setenv("EZAPI_ADMIN_JWT_SECRET", ADMIN_SECRET, 1);
    setenv("EZAPI_MASTER_JWT_SECRET", MASTER_SECRET, 1);
    ck_assert_msg(ez_config_load(NULL, &c, err, sizeof(err)) == 0, "%s", err);
    ck_assert_ptr_null(c.path);
    ck_assert_str_eq(c.pg_dsn, "dbname=fromenv");
    ck_assert_str_eq(c.log_pg_dsn, "dbname=fromenv");
    ck_assert_str_eq(c.listen, "127.0.0.1:8080");
    ez_config_free(&c);
}
END_TEST

START_TEST(test_no_file_missing_required)
{
    struct ez_config c;

    ck_assert_int_eq(ez_config_load(NULL, &c, err, sizeof(err)), -1);
    assert_zeroed(&c);
    ck_assert_str_eq(err, "(no config file): pg_dsn: required key missing");
}
END_TEST

struct value_case {
    const char *line; /* appended to BASE as line 4 */
    const char *key;
    const char *why;  /* substring of the error; NULL = valid */
};

static const struct value_case value_cases[] = {
    { "listen = 127.0.0.1:8080", "listen", NULL },
    { "listen = [::1]:8080", "listen", NULL },
    { "listen = unix:/run/ezapi/ezapi.sock", "listen", NULL },
    { "listen = *:80", "listen", NULL },
    { "listen = :80", "listen", NULL },
    { "listen = localhost:65535", "listen", NULL },
    { "listen = 0.0.0.0:1 , [::]:8080,unix:/tmp/e.sock", "listen", NULL },
    { "listen = 127.0.0.1", "listen", "missing :port" },
    { "listen = 127.0.0.1:0", "listen", "port" },
    { "listen = 127.0.0.1:65536", "listen", "port" },
    { "listen = 127.0.0.1:80x", "listen", "port" },
    { "listen = 127.0.0.1:", "listen", "port" },
    { "listen = 1.2.3:80", "listen", "\"1.2.3:80\": the host" },
    { "listen = example.com:80", "listen", "the host" },
    { "listen = ::1:80", "listen", "brackets" },
    { "listen = [::1:80", "listen", "[IPv6 address]" },
    { "listen = [1.2.3.4]:80", "listen", "[IPv6 address]" },
    { "listen = [::1]", "listen", "missing :port" },
    { "listen = unix:run/e.sock", "listen", "absolute" },
    { "listen = 127.0.0.1:80,", "listen", "empty entry" },
    { "listen =", "listen", "must not be empty" },
    { "workers = 4", "workers", NULL },
    { "workers = auto", "workers", NULL },
    { "workers = 0", "workers", "out of range (1 to 60)" },
    { "workers = 61", "workers", "out of range" },
    { "workers = -1", "workers", "out of range" },
    { "workers = four", "workers", "not an integer" },
    { "log_pg_dsn = host=audit dbname=audit", "log_pg_dsn", NULL },
    { "redis_key_prefix = tenant1:", "redis_key_prefix", NULL },
    { "redis_key_prefix = "
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "redis_key_prefix",
      "longer than 128 bytes" },
    { "jwt_issuer =", "jwt_issuer", "must not be empty" },
    { "jwt_issuer = a\tb", "jwt_issuer", "control character" },
    { "redis_url = redis://localhost", "redis_url", NULL },
    { "redis_url = redis://127.0.0.1:6380/2", "redis_url", NULL },
    { "redis_url = redis://:pw@cache.internal:6379/0", "redis_url", NULL },
    { "redis_url = redis://[::1]:6379/1", "redis_url", NULL },
    { "redis_url = unix:///run/redis/redis.sock", "redis_url", NULL },
    { "redis_url = unix:///run/redis/redis.sock?db=3", "redis_url", NULL },
    { "redis_url = http://127.0.0.1:6379", "redis_url", "expected redis://" },
    { "redis_url = redis://", "redis_url", "host" },
    { "redis_url = redis://host:0/0", "redis_url", "port" },
    { "redis_url = redis://host:6379/x", "redis_url", "database" },
    { "redis_url = redis://host:6379/0/1", "redis_url", "database" },
    { "redis_url = redis://user:pw@host", "redis_url", NULL },
    { "redis_url = redis://user@host", "redis_url", ":password@" },
    { "redis_url = rediss://:pw@host", "redis_url", "local TLS tunnel" },
    { "redis_url = redis://:@host", "redis_url", ":password@" },
    { "redis_url = redis://[::1/0", "redis_url", "IPv6" },
    { "redis_url = redis://host?x", "redis_url", "unexpected text" },
    { "redis_url = unix://run/redis.sock", "redis_url", "absolute" },
    { "redis_url = unix:///run/redis.sock?db=", "redis_url", "?db=N" },
    { "redis_url = unix:///run/redis.sock?foo=1", "redis_url", "?db=N" },
    { "secrets_key = 000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f",
      "secrets_key", NULL },
    { "secrets_key = AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "secrets_key", NULL },
    { "secrets_key =", "secrets_key", NULL },
    { "secrets_key = 000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0",
      "secrets_key", "32 bytes" },
    { "secrets_key = AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==", "secrets_key",
      "32 bytes" },
    { "secrets_key = AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g", "secrets_key",
      "32 bytes" },
    { "secrets_key = AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH!8=", "secrets_key",
      "32 bytes" },
    { "master_jwt_ttl = 30m", "master_jwt_ttl", NULL },
    { "master_jwt_ttl = 999ms", "master_jwt_ttl", "out of range (1s to 720h)" },
    { "master_jwt_ttl = 721h", "master_jwt_ttl", "out of range" },
    { "master_jwt_ttl = 1d", "master_jwt_ttl", "not a duration" },
    { "shutdown_timeout = 0", "shutdown_timeout", NULL },
    { "request_timeout = 2h", "request_timeout", "out of range" },
    { "metrics_allow = 10.0.0.0/8, ::1/128,192.168.1.7/32", "metrics_allow", NULL },
    { "metrics_allow =", "metrics_allow", NULL },
    { "metrics_allow = 0.0.0.0/0,::/0", "metrics_allow", NULL },
    { "metrics_allow = 10.0.0.0/33", "metrics_allow", "prefix length must be 0 to 32" },
    { "metrics_allow = ::/129", "metrics_allow", "prefix length must be 0 to 128" },
    { "metrics_allow = 10.0.0.0", "metrics_allow", "\"10.0.0.0\": expected address/prefix" },
    { "metrics_allow = 10.0.0.0/", "metrics_allow", "prefix" },
    { "metrics_allow = 10.0.0.0/-1", "metrics_allow", "prefix" },
    { "metrics_allow = 10.0.0.0/8,", "metrics_allow", "empty entry" },
    { "metrics_allow = 10.0.0.256/8", "metrics_allow", "not an IPv4 or IPv6 address" },
    { "metrics_allow = fe80::zz/64", "metrics_allow", "not an IPv4 or IPv6 address" },
    { "max_body_size = 1024", "max_body_size", NULL },
    { "max_body_size = 1023", "max_body_size", "out of range (1024 to 67108864)" },
    { "max_body_size = 67108865", "max_body_size", "out of range" },
    { "max_body_size = 1k", "max_body_size", "not an integer" },
    { "max_body_size = +2048", "max_body_size", "not an integer" },
    { "max_body_size = 99999999999999999999", "max_body_size", "not an integer" },
    { "max_body_size =", "max_body_size", "not an integer" },
    { "audit_retention_days = 0", "audit_retention_days", NULL },
    { "log_level = debug", "log_level", NULL },
    { "log_level = verbose", "log_level", "not one of debug, info, warn, error" },
    { "log_level = INFO", "log_level", "not one of" },
    { "log_format = text", "log_format", NULL },
    { "log_format = xml", "log_format", "not one of text, json" },
    { "pid_file = /run/ezapi.pid", "pid_file", NULL },
};

START_TEST(test_value_cases)
{
    const struct value_case *vc = &value_cases[_i];
    struct ez_config c;
    char line[512];
    int rc;

    snprintf(line, sizeof(line), "%s\n", vc->line);
    rc = load_base(line, &c);
    if (vc->why == NULL) {
        ck_assert_msg(rc == 0, "\"%s\" rejected: %s", vc->line, err);
        ez_config_free(&c);
        return;
    }
    assert_error_at(&c, rc, 4, vc->key);
    ck_assert_msg(strstr(err, vc->why) != NULL, "\"%s\": error \"%s\" lacks \"%s\"",
                  vc->line, err, vc->why);
}
END_TEST

START_TEST(test_required_values)
{
    struct ez_config c;
    int rc;

    rc = load_text("pg_dsn =\nadmin_jwt_secret = " ADMIN_SECRET "\n"
                   "master_jwt_secret = " MASTER_SECRET "\n", &c);
    assert_error_at(&c, rc, 1, "pg_dsn");
    ck_assert_ptr_nonnull(strstr(err, "must not be empty"));
    rc = load_text("pg_dsn = " PG_DSN "\nadmin_jwt_secret = 0123456789012345678901234567890\n"
                   "master_jwt_secret = " MASTER_SECRET "\n", &c);
    assert_error_at(&c, rc, 2, "admin_jwt_secret");
    ck_assert_ptr_nonnull(strstr(err, "at least 32 bytes"));
    rc = load_text("pg_dsn = " PG_DSN "\nadmin_jwt_secret = 01234567890123456789012345678901\n"
                   "master_jwt_secret = " MASTER_SECRET "\n", &c);
    ck_assert_msg(rc == 0, "a 32-byte secret must be accepted: %s", err);
    ez_config_free(&c);
}
END_TEST

START_TEST(test_parsed_values)
{
    struct ez_config c;

    ck_assert_msg(load_base("workers = 7\nmaster_jwt_ttl = 30m\nrequest_timeout = 1500ms\n"
                            "full_resync_interval = 0\nlog_level = warn\nlog_format = text\n"
                            "listen = [::1]:9000, unix:/run/e.sock\n"
                            "log_pg_dsn = dbname=audit\nmax_body_size = 2048\n", &c) == 0,
                  "%s", err);
    ck_assert_int_eq(c.workers, 7);
    ck_assert_int_eq(c.master_jwt_ttl, 1800000);
    ck_assert_int_eq(c.request_timeout, 1500);
    ck_assert_int_eq(c.full_resync_interval, 0);
    ck_assert_int_eq(c.log_level, EZ_LOG_WARN);
    ck_assert_int_eq(c.log_format, 0);
    ck_assert_str_eq(c.listen, "[::1]:9000, unix:/run/e.sock");
    ck_assert_str_eq(c.log_pg_dsn, "dbname=audit");
    ck_assert_int_eq(c.max_body_size, 2048);
    ez_config_free(&c);
}
END_TEST

static const char *const level_names[] = { "debug", "info", "warn", "error" };
static const int level_values[] = { EZ_LOG_DEBUG, EZ_LOG_INFO, EZ_LOG_WARN, EZ_LOG_ERROR };

START_TEST(test_levels)
{
    struct ez_config c;
    char line[64];

    snprintf(line, sizeof(line), "log_level = %s\nlog_format = json\n", level_names[_i]);
    ck_assert_msg(load_base(line, &c) == 0, "%s", err);
    ck_assert_int_eq(c.log_level, level_values[_i]);
    ck_assert_int_eq(c.log_format, 1);
    ez_config_free(&c);
}
END_TEST

START_TEST(test_duplicate_key)
{
    struct ez_config c;
    int rc = load_base("workers = 2\n\nworkers = 3\n", &c);

    assert_error_at(&c, rc, 6, "workers");
    ck_assert_ptr_nonnull(strstr(err, "given twice (first on line 4)"));
}
END_TEST

START_TEST(test_unknown_key)
{
    struct ez_config c;
    int rc = load_base("no_such_key = 1\n", &c);

    assert_error_at(&c, rc, 4, "no_such_key");
    ck_assert_ptr_nonnull(strstr(err, "unknown key"));
    rc = load_base("Workers = 3\n", &c);
    assert_error_at(&c, rc, 4, "Workers");
    ck_assert_int_eq(load_base("admin_jwt_secret: leaky-secret-value==\n", &c), -1);
    assert_zeroed(&c);
    ck_assert_ptr_nonnull(strstr(err, ":4: not a key name"));
    ck_assert_ptr_null(strstr(err, "leaky"));
}
END_TEST

START_TEST(test_missing_required)
{
    struct ez_config c;
    char want[512];

    snprintf(want, sizeof(want), "%s: master_jwt_secret: required key missing", conf_path);
    ck_assert_int_eq(load_text("pg_dsn = " PG_DSN "\nadmin_jwt_secret = " ADMIN_SECRET "\n", &c),
                     -1);
    assert_zeroed(&c);
    ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_comments_and_blank_lines)
{
    struct ez_config c;

    ck_assert_msg(load_text("# a comment\n"
                            "\n"
                            "   # an indented comment = with an equals sign\n"
                            "\t \n"
                            BASE
                            "workers = 3\r\n"
                            "jwt_issuer = issuer # not a comment\n"
                            "   max_body_size\t=\t4096   \n"
                            "#workers = 9\n"
                            "redis_key_prefix = last-line-without-newline", &c) == 0,
                  "%s", err);
    ck_assert_int_eq(c.workers, 3);
    ck_assert_str_eq(c.jwt_issuer, "issuer # not a comment");
    ck_assert_int_eq(c.max_body_size, 4096);
    ck_assert_str_eq(c.redis_key_prefix, "last-line-without-newline");
    ez_config_free(&c);
}
END_TEST

START_TEST(test_value_with_equals)
{
    struct ez_config c;

    ck_assert_msg(load_base("log_pg_dsn = host=db port=5433 options='-c a=b'\n"
                            "jwt_issuer = a=b==\n", &c) == 0, "%s", err);
    ck_assert_str_eq(c.pg_dsn, PG_DSN);
    ck_assert_str_eq(c.log_pg_dsn, "host=db port=5433 options='-c a=b'");
    ck_assert_str_eq(c.jwt_issuer, "a=b==");
    ez_config_free(&c);
}
END_TEST

START_TEST(test_bad_lines)
{
    struct ez_config c;
    char prefix[512], *big;
    size_t n;

    snprintf(prefix, sizeof(prefix), "%s:4: ", conf_path);

    ck_assert_int_eq(load_base("workers 4\n", &c), -1);
    assert_zeroed(&c);
    ck_assert_ptr_nonnull(strstr(err, prefix));
    ck_assert_ptr_nonnull(strstr(err, "expected \"key = value\""));

    ck_assert_int_eq(load_base("  = 4\n", &c), -1);
    ck_assert_ptr_nonnull(strstr(err, prefix));
    ck_assert_ptr_nonnull(strstr(err, "missing key"));

    n = strlen(BASE);
    big = malloc(n + 8194 + 1);
    ck_assert_ptr_nonnull(big);
    memcpy(big, BASE, n);
    big[n] = '#';
    memset(big + n + 1, 'x', 8191);
    big[n + 8192] = '\n';
    big[n + 8193] = '\0';
    ck_assert_msg(load_text(big, &c) == 0, "an 8192-byte line must be accepted: %s", err);
    ez_config_free(&c);
    big[n + 8192] = 'x';
    big[n + 8193] = '\n';
    big[n + 8194] = '\0';
    ck_assert_int_eq(load_text(big, &c), -1);
    assert_zeroed(&c);
    ck_assert_ptr_nonnull(strstr(err, prefix));
    ck_assert_ptr_nonnull(strstr(err, "longer than 8192 bytes"));
    free(big);

    {
        static const char nul[] = BASE "jwt_issuer = a\0b\n";
        write_bytes(conf_path, nul, sizeof(nul) - 1);
        ck_assert_int_eq(ez_config_load(conf_path, &c, err, sizeof(err)), -1);
        assert_zeroed(&c);
        ck_assert_ptr_nonnull(strstr(err, prefix));
        ck_assert_ptr_nonnull(strstr(err, "NUL byte"));
    }
}
END_TEST

START_TEST(test_missing_file)
{
    struct ez_config c;
    char path[400];

    snprintf(path, sizeof(path), "%s/does-not-exist.conf", tmpdir);
    ck_assert_int_eq(ez_config_load(path, &c, err, sizeof(err)), -1);
    assert_zeroed(&c);
    ck_assert_ptr_eq(strstr(err, path), err);
    ck_assert_ptr_nonnull(strstr(err, "cannot open"));
}
END_TEST

START_TEST(test_error_zeroes_out)
{
    struct ez_config c;

    memset(&c, 0x5a, sizeof(c));
    ck_assert_int_eq(load_base("workers = 0\n", &c), -1);
    assert_zeroed(&c);
}
END_TEST

START_TEST(test_env_overrides_file)
{
    struct ez_config c;

    setenv("EZAPI_WORKERS", " 5 ", 1);
    setenv("EZAPI_REDIS_KEY_PREFIX", "", 1);
    setenv("EZAPI_LOG_LEVEL", "error", 1);
    setenv("EZAPI_NOT_A_KEY", "ignored", 1);
    ck_assert_msg(load_base("workers = 2\nredis_key_prefix = p:\n", &c) == 0, "%s", err);
    ck_assert_int_eq(c.workers, 5);
    ck_assert_str_eq(c.redis_key_prefix, "");
    ck_assert_int_eq(c.log_level, EZ_LOG_ERROR);
    ez_config_free(&c);
}
END_TEST

START_TEST(test_env_error)
{
    struct ez_config c;

    setenv("EZAPI_WORKERS", "zero", 1);
    ck_assert_int_eq(load_base("workers = 2\n", &c), -1);
    assert_zeroed(&c);
    ck_assert_msg(strncmp(err, "env EZAPI_WORKERS: ", 19) == 0, "%s", err);
    ck_assert_ptr_nonnull(strstr(err, "not an integer"));

    setenv("EZAPI_WORKERS", "4", 1);
    ck_assert_int_eq(load_base("workers = 0\n", &c), -1);
    assert_error_at(&c, -1, 4, "workers");
}
END_TEST

/* One secret for admin and master session tokens is refused wherever it
 * comes from, naming both keys and never the secret. */
START_TEST(test_equal_jwt_secrets)
{
    struct ez_config c;

    ck_assert_int_eq(load_text("pg_dsn = " PG_DSN "\nmaster_jwt_secret = " ADMIN_SECRET "\n"
                               "admin_jwt_secret = " ADMIN_SECRET "\n", &c), -1);
    assert_error_at(&c, -1, 3, "admin_jwt_secret");
    ck_assert_ptr_nonnull(strstr(err, "master_jwt_secret"));
    ck_assert_ptr_null(strstr(err, ADMIN_SECRET));

    setenv("EZAPI_MASTER_JWT_SECRET", ADMIN_SECRET, 1);
    ck_assert_int_eq(load_base("", &c), -1);
    assert_zeroed(&c);
    ck_assert_ptr_nonnull(strstr(err, "admin_jwt_secret"));
    ck_assert_ptr_nonnull(strstr(err, "master_jwt_secret"));
    ck_assert_ptr_null(strstr(err, ADMIN_SECRET));
}
END_TEST

/* Each case: a config body and the secret that must not appear in the error. */
static const struct {
    const char *body;
    const char *secret;
    const char *key;
} secret_cases[] = {
    { "pg_dsn = dbname=x\nmaster_jwt_secret = " MASTER_SECRET "\n"
      "admin_jwt_secret = short-admin-secret-9\n", "short-admin-secret", "admin_jwt_secret" },
    { "pg_dsn = dbname=x\nadmin_jwt_secret = " ADMIN_SECRET "\n"
      "master_jwt_secret = aaaaaaaabbbbbbbbccccccccdddddddd\x01zz\n", "aaaaaaaabbbb",
      "master_jwt_secret" },
    { BASE "secrets_key = 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeZZ\n",
      "00112233445566778899", "secrets_key" },
    { BASE "secrets_key = c2VjcmV0LWtleS1tYXRlcmlhbC10b28tc2hvcnQ=\n", "c2VjcmV0LWtleS1tYXRl",
      "secrets_key" },
    { BASE "redis_url = redis://:hunter2-redis-pw@cache:99999/0\n", "hunter2-redis-pw",
      "redis_url" },
    { "admin_jwt_secret = " ADMIN_SECRET "\nmaster_jwt_secret = " MASTER_SECRET "\n"
      "pg_dsn = host=db password=pg-very-secret\x7f\n", "pg-very-secret", "pg_dsn" },
};

START_TEST(test_secrets_not_in_errors)
{
    struct ez_config c;

    ck_assert_int_eq(load_text(secret_cases[_i].body, &c), -1);
    assert_zeroed(&c);
    ck_assert_ptr_nonnull(strstr(err, secret_cases[_i].key));
    ck_assert_msg(strstr(err, secret_cases[_i].secret) == NULL, "error shows the secret: %s",
                  err);
}
END_TEST

START_TEST(test_secret_not_in_env_error)
{
    struct ez_config c;

    setenv("EZAPI_MASTER_JWT_SECRET", "env-secret-too-short", 1);
    ck_assert_int_eq(load_base("", &c), -1);
    assert_zeroed(&c);
    ck_assert_msg(strncmp(err, "env EZAPI_MASTER_JWT_SECRET: ", 29) == 0, "%s", err);
    ck_assert_ptr_null(strstr(err, "env-secret"));
    ck_assert_ptr_nonnull(strstr(err, "at least 32 bytes"));
}
END_TEST

static const struct {
    const char *in;
    long long ms; /* -1 = rejected */
} duration_cases[] = {
    { "0", 0 }, { "1", 1000 }, { "250ms", 250 }, { "5s", 5000 }, { "10m", 600000 },
    { "1h", 3600000 }, { "720h", 2592000000LL }, { "007s", 7000 }, { "0ms", 0 },
    { "", -1 }, { "s", -1 }, { "ms", -1 }, { "5x", -1 }, { "5 s", -1 }, { " 5s", -1 },
    { "5s ", -1 }, { "-1s", -1 }, { "1.5s", -1 }, { "5S", -1 }, { "5sec", -1 }, { "5d", -1 },
    { "9223372036854775807h", -1 }, { "9223372036854775807", -1 },
    { "99999999999999999999ms", -1 }, { "9223372036854775807ms", 9223372036854775807LL },
};

START_TEST(test_duration_parsing)
{
    long long ms = -42;
    int rc = ez_parse_duration_ms(duration_cases[_i].in, &ms);

    if (duration_cases[_i].ms < 0) {
        ck_assert_msg(rc == -1, "\"%s\" accepted as %lld", duration_cases[_i].in, ms);
    } else {
        ck_assert_msg(rc == 0, "\"%s\" rejected", duration_cases[_i].in);
        ck_assert_int_eq(ms, duration_cases[_i].ms);
    }
}
END_TEST

START_TEST(test_duration_null)
{
    long long ms;
    ck_assert_int_eq(ez_parse_duration_ms(NULL, &ms), -1);
}
END_TEST

START_TEST(test_secrets_key_decoding)
{
    static const char *const forms[] = {
        "000102030405060708090a0b0c0d0e0f101112131415161718191A1B1C1D1E1F",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
    };
    unsigned char want[32];
    struct ez_config c;
    char line[128];

    for (int i = 0; i < 32; i++)
        want[i] = (unsigned char)i;
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        snprintf(line, sizeof(line), "secrets_key = %s\n", forms[i]);
        ck_assert_msg(load_base(line, &c) == 0, "%s: %s", forms[i], err);
        ck_assert_int_eq(c.has_secrets_key, 1);
        ck_assert_mem_eq(c.secrets_key_raw, want, 32);
        ck_assert_str_eq(c.secrets_key, forms[i]);
        ez_config_free(&c);
    }
    setenv("EZAPI_SECRETS_KEY", "", 1);
    ck_assert_msg(load_base(line, &c) == 0, "%s", err);
    ck_assert_int_eq(c.has_secrets_key, 0);
    ez_config_free(&c);
}
END_TEST

START_TEST(test_workers_auto)
{
    struct ez_config c;

    ck_assert_msg(load_base("workers = auto\n", &c) == 0, "%s", err);
    ck_assert_int_eq(c.workers, cpus_clamped(1, 60));
    ck_assert_int_ge(c.workers, 1);
    ck_assert_int_le(c.workers, 60);
    ez_config_free(&c);
}
END_TEST

START_TEST(test_restart_keys_changed)
{
    struct ez_config a, b;
    char buf[256], tiny[6];

    ck_assert_msg(load_base("", &a) == 0, "%s", err);
    ck_assert_msg(load_base("sync_queue_capacity = 1024\nredis_key_prefix = t:\nworkers = 7\n"
                            "listen = 127.0.0.1:9000\nrequest_timeout = 5s\n", &b) == 0,
                  "%s", err);
    ez_config_restart_keys_changed(&a, &b, buf, sizeof(buf));
    ck_assert_str_eq(buf, "redis_key_prefix, sync_queue_capacity");
    ez_config_restart_keys_changed(&a, &a, buf, sizeof(buf));
    ck_assert_str_eq(buf, "");
    memset(tiny, 'z', sizeof(tiny));
    ez_config_restart_keys_changed(&a, &b, tiny, sizeof(tiny));
    ck_assert_uint_lt(strlen(tiny), sizeof(tiny));
    ck_assert_str_eq(tiny, "redis");
    ez_config_free(&a);
    ez_config_free(&b);
}
END_TEST

START_TEST(test_copy)
{
    struct ez_config a, b;

    ck_assert_msg(load_base("secrets_key = " "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
                            "workers = 9\n", &a) == 0, "%s", err);
    ck_assert_int_eq(ez_config_copy(&b, &a), 0);
    ck_assert_ptr_ne(a.pg_dsn, b.pg_dsn);
    ck_assert_ptr_ne(a.path, b.path);
    ez_config_free(&a);
    ck_assert_str_eq(b.pg_dsn, PG_DSN);
    ck_assert_str_eq(b.admin_jwt_secret, ADMIN_SECRET);
    ck_assert_str_eq(b.path, conf_path);
    ck_assert_int_eq(b.workers, 9);
    ck_assert_int_eq(b.has_secrets_key, 1);
    ck_assert_int_eq(b.secrets_key_raw[31], 31);
    ez_config_free(&b);
    ck_assert_ptr_null(b.pg_dsn);
}
END_TEST

static char *read_all(FILE *f, size_t *len)
{
    char *buf;
    long n;

    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    ck_assert_int_ge(n, 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static char *sample_text(void)
{
    FILE *f = tmpfile();
    size_t len;
    char *s;

    ck_assert_ptr_nonnull(f);
    ez_config_write_sample(f);
    s = read_all(f, &len);
    fclose(f);
    return s;
}

/* The sample's secrets are placeholders that are refused (so `ezapi -t`
 * and the server refuse a sample nobody edited); with its secrets set it
 * loads. */
static char *with_secrets_set(const char *sample)
{
    char *out = strdup(sample), *p;
    static const char *const keys[] = { "\nadmin_jwt_secret = ", "\nmaster_jwt_secret = " };
    ck_assert_ptr_nonnull(out);
    for (size_t i = 0; i < 2; i++) {
        p = strstr(out, keys[i]);
        ck_assert_ptr_nonnull(p);
        p += strlen(keys[i]);
        ck_assert_msg(strncmp(p, "CHANGE-ME", 9) == 0, "no placeholder for %s", keys[i] + 1);
        for (; *p != '\n'; p++)
            *p = (char)('a' + (int)i);
    }
    return out;
}

START_TEST(test_sample_refused_until_secrets_set)
{
    struct ez_config c, d;
    char *s = sample_text(), *set;
    char line[256];

    for (size_t i = 0; i < NKEYS; i++) {
        snprintf(line, sizeof(line), "\n# %s =", key_names[i]);
        if (strstr(s, line) == NULL) {
            snprintf(line, sizeof(line), "\n%s = ", key_names[i]);
            ck_assert_msg(strstr(s, line) != NULL, "sample lacks %s", key_names[i]);
        }
    }
    ck_assert_ptr_nonnull(strstr(s, "\n# listen = 127.0.0.1:8080\n"));
    ck_assert_ptr_nonnull(strstr(s, "\npg_dsn = "));
    ck_assert_msg(load_text(s, &c) == -1, "the sample's placeholders were accepted");
    ck_assert_msg(strstr(err, ": admin_jwt_secret: still the sample's CHANGE-ME placeholder"),
                  "%s", err);
    set = with_secrets_set(s);
    ck_assert_msg(load_text(set, &c) == 0, "sample does not load: %s", err);
    ck_assert_msg(load_text(BASE, &d) == 0, "%s", err);
    ck_assert_str_eq(c.listen, d.listen);
    ck_assert_int_eq(c.request_timeout, d.request_timeout);
    ck_assert_str_eq(c.metrics_allow, d.metrics_allow);
    ck_assert_int_ge(strlen(c.admin_jwt_secret), 32);
    ez_config_free(&c);
    ez_config_free(&d);
    free(set);
    free(s);
}
END_TEST

/* A placeholder is refused from the environment too. */
START_TEST(test_placeholder_refused_from_env)
{
    struct ez_config c;
    setenv("EZAPI_MASTER_JWT_SECRET", "CHANGE-ME-master_jwt_secret-openssl-rand-hex-32", 1);
    ck_assert_int_eq(load_base("", &c), -1);
    ck_assert_msg(strstr(err, "env EZAPI_MASTER_JWT_SECRET: still the sample's CHANGE-ME"), "%s",
                  err);
}
END_TEST

/* Uncommenting every "# key = default" line of the sample gives the defaults. */
START_TEST(test_sample_defaults_uncommented)
{
    struct ez_config c, d;
    char *sample = sample_text(), *s = with_secrets_set(sample);
    char *out = malloc(strlen(s) + 1), *p = s, *o = out;
    char head[128];

    ck_assert_ptr_nonnull(out);
    while (*p) {
        int uncomment = 0;
        for (size_t i = 0; i < NKEYS && !uncomment; i++) {
            snprintf(head, sizeof(head), "# %s =", key_names[i]);
            uncomment = strncmp(p, head, strlen(head)) == 0;
        }
        if (uncomment)
            p += 2;
        while (*p && *p != '\n')
            *o++ = *p++;
        if (*p)
            *o++ = *p++;
    }
    *o = '\0';
    ck_assert_ptr_null(strstr(out, "\n# listen ="));
    ck_assert_msg(load_text(out, &c) == 0, "uncommented sample does not load: %s", err);
    ck_assert_msg(load_text(BASE, &d) == 0, "%s", err);
    ck_assert_int_eq(c.workers, d.workers);
    ck_assert_int_eq(c.master_jwt_ttl, d.master_jwt_ttl);
    ck_assert_str_eq(c.redis_url, d.redis_url);
    ck_assert_str_eq(c.log_pg_dsn, c.pg_dsn);
    ez_config_free(&c);
    ez_config_free(&d);
    free(out);
    free(s);
    free(sample);
}
END_TEST

static char *man_text(size_t *len)
{
    FILE *f = tmpfile();
    char *s;

    ck_assert_ptr_nonnull(f);
    ez_config_write_man(f);
    s = read_all(f, len);
    fclose(f);
    return s;
}

START_TEST(test_man_page_content)
{
    size_t len;
    char *s = man_text(&len), want[128];

    ck_assert_ptr_eq(strstr(s, ".\\\""), s);
    ck_assert_ptr_nonnull(strstr(s, "\n.TH EZAPI.CONF 5 "));
    ck_assert_ptr_nonnull(strstr(s, "\n.SH NAME\n"));
    ck_assert_ptr_nonnull(strstr(s, "\n.SH SYNOPSIS\n"));
    ck_assert_ptr_nonnull(strstr(s, "\n.SH DESCRIPTION\n"));
    ck_assert_ptr_nonnull(strstr(s, "\n.SH SEE ALSO\n.BR ezapi (8)\n"));
    for (size_t i = 0; i < NKEYS; i++) {
        snprintf(want, sizeof(want), "\n.BI \"%s = \" ", key_names[i]);
        ck_assert_msg(strstr(s, want) != NULL, "man page lacks %s", key_names[i]);
    }
    ck_assert_ptr_nonnull(strstr(s, "Environment: \\fBEZAPI_MASTER_JWT_TTL\\fR."));
    ck_assert_ptr_nonnull(strstr(s, "Default: \\fB127.0.0.1:8080\\fR."));
    free(s);
}
END_TEST

/* Added only when EZAPI_SRCDIR is set (make check sets it). */
START_TEST(test_man_page_in_tree)
{
    char path[1024];
    size_t len, tree_len;
    char *gen = man_text(&len), *tree;
    FILE *f;

    snprintf(path, sizeof(path), "%s/docs/ezapi.conf.5", getenv("EZAPI_SRCDIR"));
    f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    tree = read_all(f, &tree_len);
    fclose(f);
    ck_assert_msg(len == tree_len && memcmp(gen, tree, len) == 0,
                  "%s is out of date: regenerate it with ez_config_write_man()", path);
    free(gen);
    free(tree);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *t = tcase_create("config");
    const char *srcdir = getenv("EZAPI_SRCDIR");

    tcase_add_unchecked_fixture(t, make_dir, remove_dir);
    tcase_add_checked_fixture(t, setup, NULL);
    tcase_add_test(t, test_defaults);
    tcase_add_test(t, test_no_file_env_only);
    tcase_add_test(t, test_no_file_missing_required);
    tcase_add_loop_test(t, test_value_cases, 0, (int)(sizeof(value_cases) / sizeof(value_cases[0])));
    tcase_add_test(t, test_required_values);
    tcase_add_test(t, test_parsed_values);
    tcase_add_loop_test(t, test_levels, 0, 4);
    tcase_add_test(t, test_duplicate_key);
    tcase_add_test(t, test_unknown_key);
    tcase_add_test(t, test_missing_required);
    tcase_add_test(t, test_comments_and_blank_lines);
    tcase_add_test(t, test_value_with_equals);
    tcase_add_test(t, test_bad_lines);
    tcase_add_test(t, test_missing_file);
    tcase_add_test(t, test_error_zeroes_out);
    tcase_add_test(t, test_env_overrides_file);
    tcase_add_test(t, test_env_error);
    tcase_add_loop_test(t, test_secrets_not_in_errors, 0,
                        (int)(sizeof(secret_cases) / sizeof(secret_cases[0])));
    tcase_add_test(t, test_secret_not_in_env_error);
    tcase_add_loop_test(t, test_duration_parsing, 0,
                        (int)(sizeof(duration_cases) / sizeof(duration_cases[0])));
    tcase_add_test(t, test_duration_null);
    tcase_add_test(t, test_secrets_key_decoding);
    tcase_add_test(t, test_workers_auto);
    tcase_add_test(t, test_restart_keys_changed);
    tcase_add_test(t, test_copy);
    tcase_add_test(t, test_equal_jwt_secrets);
    tcase_add_test(t, test_sample_refused_until_secrets_set);
    tcase_add_test(t, test_placeholder_refused_from_env);
    tcase_add_test(t, test_sample_defaults_uncommented);
    tcase_add_test(t, test_man_page_content);
    if (srcdir && *srcdir)
        tcase_add_test(t, test_man_page_in_tree);
    else
        fprintf(stderr, "check_config: EZAPI_SRCDIR unset, skipping test_man_page_in_tree\n");
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(config_suite());
    int failed;

    srunner_run_all(r, CK_NORMAL);
    failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
