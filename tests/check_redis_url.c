/* Unit tests of the redis_url grammar (common/redis_url.c): what each URL
 * connects to and authenticates as, the refusals and their messages, and
 * that `ezapi -t` (the config table) accepts exactly what the parser does. */
#include "common/config.h"
#include "common/redis_url.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct ok_case {
    const char *url;
    int unix_socket;
    const char *host_or_path;
    int port;
    const char *user, *password; /* password NULL: no AUTH */
    int db;
};

static const struct ok_case ok_cases[] = {
    { "redis://localhost", 0, "localhost", 6379, "", NULL, 0 },
    { "redis://127.0.0.1:6380/2", 0, "127.0.0.1", 6380, "", NULL, 2 },
    { "redis://[::1]:6379/1", 0, "::1", 6379, "", NULL, 1 },
    { "redis://cache.internal", 0, "cache.internal", 6379, "", NULL, 0 },
    { "redis://:pw@cache.internal:6379/0", 0, "cache.internal", 6379, "", "pw", 0 },
    /* Redis 6 ACL users */
    { "redis://app:s3cret@10.0.0.5:6379/3", 0, "10.0.0.5", 6379, "app", "s3cret", 3 },
    /* percent-decoding in user and password */
    { "redis://app%2Dro:p%40ss%25w%3Ard@h:1/0", 0, "h", 1, "app-ro", "p@ss%w:rd", 0 },
    /* an unencoded '@', ':' or '/' in a password: userinfo runs to the last '@' */
    { "redis://app:p@ss:w/rd@h/4", 0, "h", 6379, "app", "p@ss:w/rd", 4 },
    { "redis://:a@b@[2001:db8::1]:7000", 0, "2001:db8::1", 7000, "", "a@b", 0 },
    { "unix:///run/redis/redis.sock", 1, "/run/redis/redis.sock", 0, "", NULL, 0 },
    { "unix:///run/redis/redis.sock?db=3", 1, "/run/redis/redis.sock", 0, "", NULL, 3 },
    { "unix:///run/redis@a/r%20s.sock", 1, "/run/redis@a/r s.sock", 0, "", NULL, 0 },
    { "unix://app:p%40w@/run/r.sock?db=1", 1, "/run/r.sock", 0, "app", "p@w", 1 },
};

START_TEST(parses_what_the_connection_uses)
{
    const struct ok_case *c = &ok_cases[_i];
    struct ez_redis_url u;
    char why[512] = "";
    ck_assert_msg(ez_redis_url_parse(c->url, &u, why, sizeof why) == 0, "%s: %s", c->url, why);
    if (c->unix_socket) {
        ck_assert_int_eq(u.transport, EZ_REDIS_UNIX);
        ck_assert_str_eq(u.path, c->host_or_path);
    } else {
        ck_assert_int_eq(u.transport, EZ_REDIS_TCP);
        ck_assert_int_eq(u.nhosts, 1);
        ck_assert_str_eq(u.hosts[0].name, c->host_or_path);
        ck_assert_int_eq(u.hosts[0].port, c->port);
    }
    ck_assert_str_eq(u.user, c->user);
    ck_assert_int_eq(u.password_set, c->password != NULL);
    if (c->password)
        ck_assert_str_eq(u.password, c->password);
    ck_assert_int_eq(u.db, c->db);
    ez_redis_url_wipe(&u);
    ck_assert_int_eq(u.password_set, 0);
    ck_assert_str_eq(u.password, "");
}
END_TEST

struct bad_case {
    const char *url;
    const char *message; /* a part of the reason */
};

static const struct bad_case bad_cases[] = {
    { "http://127.0.0.1:6379", "expected redis://" },
    { "rediss://:pw@cache:6380/0", "rediss:// (Redis over TLS) is not supported" },
    { "rediss://cache", "local TLS tunnel" },
    { "redis-sentinel://h1:26379,h2:26379", "master name must follow" },
    { "redis-sentinel://h1:26379,h2:26379/", "master name must be" },
    { "redis-sentinel://h1,h2/my master", "master name must be" },
    { "redis-sentinel://h1,h2/mymaster/x", "database after the master name" },
    { "redis-sentinel://:pw@h1:0/mymaster", "port" },
    { "redis-sentinel://h1,,h2/mymaster", "host" },
    { "redis-sentinel://a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q/m", "at most 16 Sentinels" },
    { "redis-sentinels://h1/mymaster", "expected redis://" },
    { "redis://", "host" },
    { "redis://host:0/0", "port" },
    { "redis://host:65536", "port" },
    { "redis://host:6379/x", "database" },
    { "redis://host:6379/0/1", "database" },
    { "redis://host/99999999999", "database" },
    { "redis://h1:6379,h2:6379/0", "one host" },
    { "redis://user@host", ":password@" },
    { "redis://:@host", ":password@" },
    { "redis://user:@host", "non-empty password" },
    { "redis://:p%zzw@host", "%25" },
    { "redis://:p%4@host", "%25" },
    { "redis://:p%00w@host", "%25" },
    { "redis://[::1/0", "IPv6" },
    { "redis://[nothost]:1", "IPv6" },
    { "redis://host?x", "unexpected text" },
    { "unix://run/redis.sock", "absolute" },
    { "unix:///run/redis.sock?db=", "?db=N" },
    { "unix:///run/redis.sock?foo=1", "?db=N" },
    { "unix:///run/%zz.sock", "socket path" },
};

struct sentinel_case {
    const char *url;
    int nhosts;
    const char *hosts[3];
    int ports[3];
    const char *master, *user, *password;
    int db;
};

static const struct sentinel_case sentinel_cases[] = {
    { "redis-sentinel://127.0.0.1:26379,127.0.0.1:26380,[::1]/mymaster", 3,
      { "127.0.0.1", "127.0.0.1", "::1" }, { 26379, 26380, 26379 }, "mymaster", "", NULL, 0 },
    { "redis-sentinel://s1.internal/cache-main.eu_1/2", 1, { "s1.internal" }, { 26379 },
      "cache-main.eu_1", "", NULL, 2 },
    { "redis-sentinel://app:p@s:w/rd@s1:1,s2:2/m/5", 2, { "s1", "s2" }, { 1, 2 }, "m", "app",
      "p@s:w/rd", 5 },
};

START_TEST(parses_sentinel_urls)
{
    const struct sentinel_case *c = &sentinel_cases[_i];
    struct ez_redis_url u;
    char why[512] = "";
    ck_assert_msg(ez_redis_url_parse(c->url, &u, why, sizeof why) == 0, "%s: %s", c->url, why);
    ck_assert_int_eq(u.transport, EZ_REDIS_SENTINEL);
    ck_assert_int_eq(u.nhosts, c->nhosts);
    for (int i = 0; i < c->nhosts; i++) {
        ck_assert_str_eq(u.hosts[i].name, c->hosts[i]);
        ck_assert_int_eq(u.hosts[i].port, c->ports[i]);
    }
    ck_assert_str_eq(u.master, c->master);
    ck_assert_str_eq(u.user, c->user);
    ck_assert_int_eq(u.password_set, c->password != NULL);
    if (c->password)
        ck_assert_str_eq(u.password, c->password);
    ck_assert_int_eq(u.db, c->db);
    ez_redis_url_wipe(&u);
}
END_TEST

START_TEST(refuses_with_a_reason_that_hides_the_password)
{
    const struct bad_case *c = &bad_cases[_i];
    struct ez_redis_url u;
    char why[512] = "";
    ck_assert_msg(ez_redis_url_parse(c->url, &u, why, sizeof why) != 0, "%s accepted", c->url);
    ck_assert_msg(strstr(why, c->message) != NULL, "%s: \"%s\" lacks \"%s\"", c->url, why,
                  c->message);
    ck_assert_msg(strstr(why, "pw") == NULL && strstr(why, "p%") == NULL,
                  "%s: the reason quotes the credentials: %s", c->url, why);
    ck_assert_int_eq(u.password_set, 0);
}
END_TEST

/* The config check and the connection are one parser: every case above
 * gets the same verdict from ez_config_load. */
START_TEST(the_config_check_agrees)
{
    size_t nok = sizeof ok_cases / sizeof ok_cases[0];
    size_t nsen = sizeof sentinel_cases / sizeof sentinel_cases[0];
    const char *url = (size_t)_i < nok          ? ok_cases[_i].url
                      : (size_t)_i < nok + nsen ? sentinel_cases[(size_t)_i - nok].url
                                                : bad_cases[(size_t)_i - nok - nsen].url;
    int want_ok = (size_t)_i < nok + nsen;
    struct ez_config c;
    char err[1024] = "";
    setenv("EZAPI_PG_DSN", "host=/tmp dbname=x", 1);
    setenv("EZAPI_ADMIN_JWT_SECRET", "admin-secret-0123456789abcdef0123456789", 1);
    setenv("EZAPI_MASTER_JWT_SECRET", "master-secret-0123456789abcdef012345678", 1);
    setenv("EZAPI_REDIS_URL", url, 1);
    int rc = ez_config_load(NULL, &c, err, sizeof err);
    ck_assert_msg((rc == 0) == want_ok, "%s: config load %s: %s", url, rc == 0 ? "accepted" : "refused",
                  err);
    if (rc == 0)
        ez_config_free(&c);
}
END_TEST

START_TEST(masks_only_the_password)
{
    static const char *const cases[][2] = {
        { "redis://app:p@ss@h:6379/0", "redis://app:********@h:6379/0" },
        { "redis://:pw@h", "redis://:********@h" },
        { "redis://h:6379/0", "redis://h:6379/0" },
        { "unix://u:pw@/run/r.sock?db=1", "unix://u:********@/run/r.sock?db=1" },
        { "unix:///run/a@b.sock", "unix:///run/a@b.sock" },
        { "redis-sentinel://u:p@w@s1,s2:26380/m/1", "redis-sentinel://u:********@s1,s2:26380/m/1" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[256];
        ez_redis_url_mask(cases[i][0], buf, sizeof buf);
        ck_assert_str_eq(buf, cases[i][1]);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("redis_url");
    TCase *t = tcase_create("redis_url");
    int nok = (int)(sizeof ok_cases / sizeof ok_cases[0]);
    int nbad = (int)(sizeof bad_cases / sizeof bad_cases[0]);
    int nsen = (int)(sizeof sentinel_cases / sizeof sentinel_cases[0]);
    tcase_add_loop_test(t, parses_what_the_connection_uses, 0, nok);
    tcase_add_loop_test(t, parses_sentinel_urls, 0, nsen);
    tcase_add_loop_test(t, refuses_with_a_reason_that_hides_the_password, 0, nbad);
    tcase_add_loop_test(t, the_config_check_agrees, 0, nok + nsen + nbad);
    tcase_add_test(t, masks_only_the_password);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
