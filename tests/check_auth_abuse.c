/* Integration tests of authentication against hostile clients: one secret
 * for both token kinds is refused by the config, each kind of token is
 * refused where the other is expected, and failed authentications are
 * limited and audited per client address across the workers
 * (docs/tenants.md, docs/operations.md). Tokens are built by hand with
 * OpenSSL, as any JWT library would build them. */
#include "harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#define BAD_TOKEN "Authorization: Bearer not-a-token\r\n"

/* ---- Tokens ------------------------------------------------------------- */

static char *b64url(const unsigned char *in, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    ck_assert_ptr_nonnull(out);
    int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (char *p = out; *p; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    return out;
}

/* "Authorization: Bearer <HS256 JWT of payload signed with secret>\r\n". */
static const char *signed_by(const char *secret, const char *payload)
{
    static char hdr[4][2048];
    static int next;
    const char *header = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    char *h = b64url((const unsigned char *)header, strlen(header));
    char *p = b64url((const unsigned char *)payload, strlen(payload));
    char input[1500];
    snprintf(input, sizeof input, "%s.%s", h, p);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    ck_assert_ptr_nonnull(HMAC(EVP_sha256(), secret, (int)strlen(secret),
                               (const unsigned char *)input, strlen(input), mac, &maclen));
    char *sig = b64url(mac, maclen);
    char *out = hdr[next++ % 4];
    snprintf(out, sizeof hdr[0], "Authorization: Bearer %s.%s\r\n", input, sig);
    free(h);
    free(p);
    free(sig);
    return out;
}

/* ---- HTTP --------------------------------------------------------------- */

/* One request on an open keep-alive connection; the status, or -1. */
static int on_conn(int fd, const char *method, const char *path, const char *headers,
                   struct ht_resp *r)
{
    char req[2048];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", method, path,
                     headers ? headers : "");
    memset(r, 0, sizeof *r);
    if (ht_send_all(fd, req, (size_t)n) != 0 || ht_read_response(fd, method, r) != 0)
        return -1;
    return r->status;
}

/* One request over the Unix socket at path; the status, or -1. */
static int on_unix(const char *path, const char *method, const char *target,
                   const char *headers, struct ht_resp *r)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct timeval tv = { 15, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0, "connect %s: %s", path,
                  strerror(errno));
    char req[2048];
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: localhost\r\n%sConnection: close\r\n\r\n", method,
                     target, headers ? headers : "");
    memset(r, 0, sizeof *r);
    int st = ht_send_all(fd, req, (size_t)n) == 0 && ht_read_response(fd, method, r) == 0
                 ? r->status
                 : -1;
    close(fd);
    return st;
}

/* The sum of the samples of a metric whose labels contain `with` (any
 * when NULL), from one scrape. */
static long long metric(struct ht_server *s, const char *name, const char *with)
{
    struct ht_resp r;
    ck_assert_int_eq(ht_get(s->port, "/metrics", NULL, &r), 200);
    long long sum = 0;
    size_t nlen = strlen(name);
    for (char *line = r.body; line && *line;) {
        char *eol = strchr(line, '\n');
        if (eol)
            *eol = '\0';
        if (strncmp(line, name, nlen) == 0 && (line[nlen] == '{' || line[nlen] == ' ') &&
            (!with || strstr(line, with)))
            sum += atoll(strrchr(line, ' ') + 1);
        line = eol ? eol + 1 : NULL;
    }
    ht_resp_free(&r);
    return sum;
}

/* ---- The audit table ------------------------------------------------------ */

/* Failed authentications of an address the audit table accounts for. */
static long long audited_failures(const char *addr)
{
    char sql[300];
    snprintf(sql, sizeof sql,
             "SELECT coalesce(sum((changes->>'failures')::bigint), 0) FROM audit_records "
             "WHERE action = 'auth.failure' AND remote_addr = '%s'", addr);
    return ht_pg_count(sql);
}

/* "addr=failures,..." of every auth.failure row, for failure messages. */
static const char *audit_dump(void)
{
    static char out[2048];
    PGconn *c = ht_pg();
    PGresult *res = PQexec(c, "SELECT string_agg(remote_addr || '=' || coalesce(changes->>'failures', "
                              "'-'), ',' ORDER BY id) FROM audit_records WHERE action = 'auth.failure'");
    snprintf(out, sizeof out, "%s",
             PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 ? PQgetvalue(res, 0, 0)
                                                                            : PQerrorMessage(c));
    PQclear(res);
    PQfinish(c);
    return out;
}

static long long audit_rows(const char *addr)
{
    char sql[300];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM audit_records WHERE action = 'auth.failure' "
             "AND remote_addr = '%s'", addr);
    return ht_pg_count(sql);
}

/* ---- Tokens: the config and the kinds ------------------------------------- */

START_TEST(one_secret_for_both_kinds_is_refused)
{
    struct ht_server s;
    ht_server_init(&s, NULL);
    char same[128];
    snprintf(same, sizeof same, "master_jwt_secret = %s\n", s.admin_secret);
    ht_server_write_conf(&s, same);
    const char *how[][2] = { { "-t", "-c" }, { "-c", NULL } };
    for (int i = 0; i < 2; i++) {
        struct ht_cmd c;
        if (how[i][1])
            ht_ezapi(&c, how[i][0], how[i][1], s.conf, NULL);
        else
            ht_ezapi(&c, how[i][0], s.conf, NULL);
        ck_assert_msg(c.status == 78, "ezapi %s: exit %d, stderr %s", how[i][0], c.status, c.err);
        ck_assert_msg(strstr(c.err, "admin_jwt_secret") && strstr(c.err, "master_jwt_secret"),
                      "the keys are not named: %s", c.err);
        ck_assert_msg(!strstr(c.err, s.admin_secret), "the secret is shown: %s", c.err);
        ht_cmd_free(&c);
    }

    /* a reload to one secret keeps the running config */
    ht_server_write_conf(&s, NULL);
    ht_server_spawn(&s);
    ht_server_wait_ready(&s);
    ck_assert_int_eq(
        ht_request(&s, "POST", "/admin/namespaces", ht_auth(&s, "admin"), "{\"name\":\"a\"}", NULL),
        201);
    json_t *j;
    ck_assert_int_eq(ht_request(&s, "POST", "/admin/masters", ht_auth(&s, "admin"),
                                "{\"name\":\"acme\",\"namespaces\":[\"a\"]}", &j),
                     201);
    char mk[128];
    snprintf(mk, sizeof mk, "%s", ht_jstr(j, "master_key"));
    json_decref(j);
    ck_assert_int_eq(ht_request(&s, "POST", "/v1/auth/token", ht_bearer(mk), NULL, &j), 200);
    char session[1024];
    snprintf(session, sizeof session, "%s", ht_jstr(j, "token"));
    json_decref(j);
    long mark = ht_server_log_mark(&s);
    ht_server_write_conf(&s, same);
    ht_server_reload(&s);
    HT_EVENTUALLY(ht_server_log_contains_since(&s, mark, "must differ from"), 10000,
                 "the refused reload was not logged");
    ht_sleep_ms(500);
    /* signed with the master secret the new file would have replaced */
    ck_assert_int_eq(ht_request(&s, "GET", "/v1/me", ht_bearer(session), NULL, NULL), 200);
    ck_assert_int_eq(ht_server_stop(&s), 0);
}
END_TEST

START_TEST(each_kind_is_refused_where_the_other_is_expected)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    ck_assert_int_eq(
        ht_request(&s, "POST", "/admin/namespaces", ht_auth(&s, "admin"), "{\"name\":\"a\"}", NULL),
        201);
    json_t *j;
    ck_assert_int_eq(ht_request(&s, "POST", "/admin/masters", ht_auth(&s, "admin"),
                                "{\"name\":\"acme\",\"namespaces\":[\"a\"]}", &j),
                     201);
    long long mid = (long long)json_integer_value(json_object_get(j, "id"));
    char mk[128];
    snprintf(mk, sizeof mk, "%s", ht_jstr(j, "master_key"));
    json_decref(j);
    ck_assert_int_eq(ht_request(&s, "POST", "/v1/auth/token", ht_bearer(mk), NULL, &j), 200);
    char session[1024];
    snprintf(session, sizeof session, "%s", ht_jstr(j, "token"));
    json_decref(j);
    ck_assert_int_eq(ht_request(&s, "GET", "/v1/me", ht_bearer(session), NULL, NULL), 200);

    long long now = (long long)time(NULL);
    char p[512];
    const char *evil = "{\"name\":\"evil\",\"namespaces\":[\"a\"]}";
    /* a session, old shape (no audience) or new, under the admin secret */
    snprintf(p, sizeof p,
             "{\"iss\":\"ezapi\",\"sub\":\"%lld\",\"scope\":\"master\",\"gen\":1,\"iat\":%lld,"
             "\"exp\":%lld}", mid, now, now + 300);
    ck_assert_int_eq(
        ht_request(&s, "POST", "/admin/masters", signed_by(s.admin_secret, p), evil, NULL), 401);
    snprintf(p, sizeof p,
             "{\"iss\":\"ezapi\",\"sub\":\"%lld\",\"aud\":\"ezapi-master-session\","
             "\"scope\":\"master\",\"gen\":1,\"iat\":%lld,\"exp\":%lld}", mid, now, now + 300);
    ck_assert_int_eq(
        ht_request(&s, "POST", "/admin/masters", signed_by(s.admin_secret, p), evil, NULL), 401);
    /* an admin token without its role */
    snprintf(p, sizeof p, "{\"iss\":\"ezapi\",\"sub\":\"ops\",\"exp\":%lld}", now + 300);
    ck_assert_int_eq(
        ht_request(&s, "GET", "/admin/masters", signed_by(s.admin_secret, p), NULL, NULL), 401);
    /* an admin token under the master secret, with the master's id as sub */
    snprintf(p, sizeof p,
             "{\"iss\":\"ezapi\",\"sub\":\"%lld\",\"role\":\"admin\",\"gen\":1,\"scope\":\"master\","
             "\"exp\":%lld}", mid, now + 300);
    ck_assert_int_eq(ht_request(&s, "GET", "/v1/me", signed_by(s.master_secret, p), NULL, NULL),
                     401);
    /* a session minted before sessions carried their audience */
    snprintf(p, sizeof p,
             "{\"iss\":\"ezapi\",\"sub\":\"%lld\",\"scope\":\"master\",\"gen\":1,\"iat\":%lld,"
             "\"exp\":%lld}", mid, now, now + 300);
    ck_assert_int_eq(ht_request(&s, "GET", "/v1/me", signed_by(s.master_secret, p), NULL, NULL),
                     401);
    ck_assert_int_eq(ht_request(&s, "GET", "/admin/masters", ht_bearer(session), NULL, NULL), 403);

    /* admin tokens as any library mints them keep working */
    snprintf(p, sizeof p,
             "{\"iss\":\"ezapi\",\"sub\":\"ops@example.com\",\"role\":\"admin\",\"iat\":%lld,"
             "\"nbf\":%lld,\"exp\":%lld,\"jti\":\"4f1e\"}", now, now - 5, now + 300);
    ck_assert_int_eq(
        ht_request(&s, "GET", "/admin/masters", signed_by(s.admin_secret, p), NULL, NULL), 200);
    snprintf(p, sizeof p, "{\"exp\":%lld,\"role\":\"viewer\",\"sub\":\"audit\",\"iss\":\"ezapi\"}",
             now + 300);
    ck_assert_int_eq(
        ht_request(&s, "GET", "/admin/masters", signed_by(s.admin_secret, p), NULL, NULL), 200);
    ck_assert_int_eq(ht_request(&s, "POST", "/admin/namespaces", signed_by(s.admin_secret, p),
                                "{\"name\":\"b\"}", NULL),
                     403);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM masters"), 1);
    ht_assert_clean_stop(&s);
}
END_TEST

/* ---- Floods of failed authentications -------------------------------------- */

#define LIMIT 10

/* A server on 127.0.0.1 and on a Unix socket (sock, 300 bytes). */
static void start_two_listeners(struct ht_server *s, char *sock, const char *extra)
{
    ht_server_init(s, NULL);
    snprintf(sock, 300, "%s/ezapi.sock", s->dir);
    char conf[1024];
    snprintf(conf, sizeof conf, "listen = unix:%s,127.0.0.1:%d\n%s", sock, s->port, extra);
    ht_server_write_conf(s, conf);
    ht_server_spawn(s);
    ht_server_wait_ready(s);
}

static void assert_refusal(struct ht_resp *r)
{
    const char *ra = ht_resp_header(r, "Retry-After");
    ck_assert_msg(ra && atoi(ra) >= 1 && atoi(ra) <= 10, "Retry-After: %s", ra ? ra : "none");
    json_t *j = ht_resp_json(r);
    json_t *e = json_object_get(j, "error");
    ck_assert_str_eq(ht_jstr(e, "type"), "rate_limit_error");
    ck_assert(json_is_string(json_object_get(e, "code")));
    ck_assert(json_is_string(json_object_get(e, "message")));
    ck_assert(json_is_null(json_object_get(e, "param")));
    ck_assert_str_eq(ht_jstr(e, "request_id"), ht_resp_header(r, "X-Request-ID"));
    json_decref(j);
}

/* One client floods over two connections, one per worker: the limit counts
 * its failures once, refuses it (also with a valid token) until the window
 * ends, leaves other clients alone, and the audit table holds two rows
 * whose counts add up to its failures. */
START_TEST(a_flood_is_refused_once_over_the_workers)
{
    struct ht_server s;
    char sock[300];
    start_two_listeners(&s, sock, "auth_failure_limit = 10\nauth_failure_window = 10s\n");
    const char *good = ht_auth(&s, "admin");
    struct ht_resp r;
    int conn[2];
    for (int i = 0; i < 2; i++) { /* opened one after the other: one per worker */
        conn[i] = ht_connect(s.port);
        ck_assert_int_ge(conn[i], 0);
        ck_assert_int_eq(on_conn(conn[i], "GET", "/health", NULL, &r), 200);
        ht_resp_free(&r);
    }
    int unauthorized = 0, refused = 0;
    for (int i = 0; i < 4 * LIMIT; i++) {
        int st = on_conn(conn[i % 2], "GET", "/admin/namespaces", BAD_TOKEN, &r);
        if (st == 401) {
            ck_assert_msg(refused == 0, "a failure was checked after a refusal (#%d)", i);
            unauthorized++;
        } else {
            ck_assert_msg(st == 429, "request #%d answered %d", i, st);
            assert_refusal(&r);
            refused++;
        }
        ht_resp_free(&r);
    }
    close(conn[0]);
    close(conn[1]);
    ck_assert_int_eq(unauthorized, LIMIT);
    ck_assert_msg(metric(&s, "ezapi_auth_failures_total", "process=\"worker-0\"") > 0 &&
                      metric(&s, "ezapi_auth_failures_total", "process=\"worker-1\"") > 0,
                  "the flood did not reach both workers");

    /* refused before any credential is looked at, on every kind of route */
    ck_assert_int_eq(ht_get(s.port, "/admin/namespaces", good, &r), 429);
    assert_refusal(&r);
    ht_resp_free(&r);
    ck_assert_int_eq(ht_get(s.port, "/v1/me", ht_bearer("ezm_whatever"), &r), 429);
    ht_resp_free(&r);
    ck_assert_int_eq(ht_get(s.port, "/health", NULL, &r), 200);
    ht_resp_free(&r);
    /* another client is not */
    ck_assert_int_eq(on_unix(sock, "GET", "/admin/namespaces", good, &r), 200);
    ht_resp_free(&r);
    ck_assert_int_eq(on_unix(sock, "GET", "/admin/namespaces", BAD_TOKEN, &r), 401);
    ht_resp_free(&r);

    ck_assert_int_eq(metric(&s, "ezapi_auth_failures_total", NULL), LIMIT + 1);
    ck_assert_int_eq(metric(&s, "ezapi_auth_refused_total", NULL), 3 * LIMIT + 2);
    ck_assert_int_eq(metric(&s, "ezapi_auth_refused_total", "kind=\"master\""), 1);

    /* the window's count is recorded when it closes, without another request */
    HT_EVENTUALLY(audited_failures("127.0.0.1") == LIMIT, 40000,
                 "audited failures: %lld of %d: %s", audited_failures("127.0.0.1"), LIMIT,
                 audit_dump());
    ck_assert_int_eq(audit_rows("127.0.0.1"), 2);
    HT_EVENTUALLY(audited_failures("unix") == 1, 10000, "the other client's failure is not audited: %s", audit_dump());
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM audit_records WHERE status = 429"), 0);

    /* the limit lifts with the window */
    HT_EVENTUALLY(ht_request(&s, "GET", "/admin/namespaces", good, NULL, NULL) == 200, 40000,
                  "still refused after the window");
    ht_assert_clean_stop(&s);
}
END_TEST

/* Without a limit nothing is refused, and the audit table still holds a
 * few rows per window, not one per failure. */
START_TEST(a_flood_without_a_limit_is_audited_per_window)
{
    enum { N = 500, WINDOW_MS = 2000 };
    struct ht_server s;
    ht_server_start(&s, "auth_failure_limit = 0\nauth_failure_window = 2s\n");
    int fd = ht_connect(s.port);
    ck_assert_int_ge(fd, 0);
    int64_t t0 = ht_now_ms();
    for (int i = 0; i < N; i++) {
        struct ht_resp r;
        ck_assert_int_eq(on_conn(fd, "POST", "/admin/namespaces", BAD_TOKEN, &r), 401);
        ht_resp_free(&r);
    }
    int64_t elapsed = ht_now_ms() - t0;
    close(fd);
    HT_EVENTUALLY(audited_failures("127.0.0.1") == N, 30000, "audited failures: %lld of %d",
                 audited_failures("127.0.0.1"), N);
    long long rows = audit_rows("127.0.0.1"), windows = elapsed / WINDOW_MS + 2;
    ck_assert_msg(rows <= 2 * windows, "%lld rows for %d failures in %lld ms", rows, N,
                  (long long)elapsed);
    ck_assert_int_eq(metric(&s, "ezapi_auth_failures_total", NULL), N);
    ck_assert_int_eq(metric(&s, "ezapi_auth_refused_total", NULL), 0);
    ht_assert_clean_stop(&s);
}
END_TEST

/* A window still open when the server stops is recorded before it exits. */
START_TEST(open_windows_are_recorded_at_stop)
{
    struct ht_server s;
    ht_server_start(&s, "auth_failure_window = 1h\n");
    for (int i = 0; i < 5; i++) {
        struct ht_resp r;
        ck_assert_int_eq(ht_get(s.port, "/v1/me", ht_bearer("ezm_not-a-key"), &r), 401);
        ht_resp_free(&r);
    }
    HT_EVENTUALLY(audited_failures("127.0.0.1") == 1, 10000, "the first failure is not audited");
    ht_assert_clean_stop(&s);
    ck_assert_int_eq(audited_failures("127.0.0.1"), 5);
    ck_assert_int_eq(audit_rows("127.0.0.1"), 2);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("auth");
    TCase *tc = ht_tcase("tokens");
    tcase_add_test(tc, one_secret_for_both_kinds_is_refused);
    tcase_add_test(tc, each_kind_is_refused_where_the_other_is_expected);
    suite_add_tcase(suite, tc);
    tc = ht_tcase("floods");
    tcase_add_test(tc, a_flood_is_refused_once_over_the_workers);
    tcase_add_test(tc, a_flood_without_a_limit_is_audited_per_window);
    tcase_add_test(tc, open_windows_are_recorded_at_stop);
    suite_add_tcase(suite, tc);
    return ht_run_suite(suite);
}
