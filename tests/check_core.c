/* Integration tests of the core contract against the real `ezapi` binary:
 * process model and signals (README.md, "Process model" and "Signals"),
 * HTTP conventions and bad input (docs/api.md, "Refusals") and the command
 * line (README.md, "Command line"; docs/ezapi.8). Each test drives a server as a
 * user would, over HTTP, with signals and with the ezapi command. */
#include "harness.h"

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---- Helpers ------------------------------------------------------------ */

static int is_hex32(const char *s)
{
    if (!s || strlen(s) != 32)
        return 0;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p) && !(*p >= 'a' && *p <= 'f'))
            return 0;
    return 1;
}

static json_t *resp_json(const struct ht_resp *r)
{
    json_t *j = ht_resp_json(r);
    ck_assert_msg(j != NULL, "HTTP %d: body is not JSON: %.300s", r->status,
                  r->body ? r->body : "");
    return j;
}

static void assert_json_type(const struct ht_resp *r)
{
    const char *ct = ht_resp_header(r, "Content-Type");
    ck_assert_msg(ct && strncasecmp(ct, "application/json", 16) == 0,
                  "HTTP %d: Content-Type is %s, expected application/json", r->status,
                  ct ? ct : "absent");
}

static int header_has_token(const char *value, const char *token)
{
    size_t tl = strlen(token);
    for (const char *p = value ? value : ""; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ')
            e++;
        if ((size_t)(e - p) == tl && strncasecmp(p, token, tl) == 0)
            return 1;
        p = e;
    }
    return 0;
}

/* The error shape of docs/api.md, "Refusals": {"error":{"type","code","message","param",
 * "request_id"}} with request_id = the X-Request-ID header. type NULL: any
 * documented type. param_rule: 0 = null or a string, 1 = must be null,
 * 2 = must equal param. */
static void assert_error_shape(const struct ht_resp *r, const char *type, int param_rule,
                               const char *param)
{
    static const char *const types[] = {
        "invalid_request_error", "authentication_error", "permission_error", "not_found_error",
        "conflict_error", "rate_limit_error", "api_error", "unavailable_error",
    };
    assert_json_type(r);
    json_t *j = resp_json(r);
    json_t *e = json_object_get(j, "error");
    ck_assert_msg(json_is_object(e), "HTTP %d: no \"error\" object in %.300s", r->status, r->body);
    const char *t = json_string_value(json_object_get(e, "type"));
    ck_assert_msg(t != NULL, "error.type missing in %.300s", r->body);
    if (type) {
        ck_assert_msg(strcmp(t, type) == 0, "error.type is %s, expected %s (%.300s)", t, type,
                      r->body);
    } else {
        int known = 0;
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            known |= strcmp(t, types[i]) == 0;
        ck_assert_msg(known, "error.type %s is not one of the types of docs/api.md", t);
    }
    const char *code = json_string_value(json_object_get(e, "code"));
    ck_assert_msg(code && code[0], "error.code must be a non-empty string: %.300s", r->body);
    const char *msg = json_string_value(json_object_get(e, "message"));
    ck_assert_msg(msg && msg[0], "error.message must be a non-empty string: %.300s", r->body);
    json_t *p = json_object_get(e, "param");
    ck_assert_msg(p != NULL, "error.param must be present (null or the field): %.300s", r->body);
    if (param_rule == 1)
        ck_assert_msg(json_is_null(p), "error.param must be null: %.300s", r->body);
    else if (param_rule == 2)
        ck_assert_msg(json_is_string(p) && strcmp(json_string_value(p), param) == 0,
                      "error.param must be \"%s\": %.300s", param, r->body);
    else
        ck_assert_msg(json_is_null(p) || json_is_string(p), "error.param: %.300s", r->body);
    const char *rid = json_string_value(json_object_get(e, "request_id"));
    const char *hid = ht_resp_header(r, "X-Request-ID");
    ck_assert_msg(hid != NULL, "HTTP %d without X-Request-ID", r->status);
    ck_assert_msg(rid && strcmp(rid, hid) == 0, "error.request_id %s differs from X-Request-ID %s",
                  rid ? rid : "(missing)", hid);
    json_decref(j);
}

static int create_namespace(struct ht_server *s, const char *name)
{
    char body[200];
    snprintf(body, sizeof body, "{\"name\":\"%s\"}", name);
    struct ht_resp r;
    int st = ht_post_json(s->port, "/admin/namespaces", ht_auth(s, "admin"), body, &r);
    if (st != 201)
        fprintf(stderr, "POST /admin/namespaces %s: %d %s %.300s\n", name, st, r.err,
                r.body ? r.body : "");
    ht_resp_free(&r);
    return st;
}

/* Is the namespace projected into Redis exactly as docs/redis.md says? */
static int namespace_synced(const char *name)
{
    char want[200];
    snprintf(want, sizeof want, "{\"name\":\"%s\",\"status\":\"active\"}", name);
    char *got = ht_redis_hget("config:namespaces", name);
    int ok = got && strcmp(got, want) == 0;
    free(got);
    return ok;
}

static int all_synced(const char *fmt, int n)
{
    for (int i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof name, fmt, i);
        if (!namespace_synced(name))
            return 0;
    }
    return 1;
}

/* How many namespaces GET /admin/namespaces lists. */
static long namespaces_listed(struct ht_server *s)
{
    struct ht_resp r;
    ck_assert_int_eq(ht_get(s->port, "/admin/namespaces", ht_auth(s, "admin"), &r), 200);
    json_t *j = resp_json(&r);
    json_t *data = json_object_get(j, "data");
    ck_assert_msg(json_is_array(data), "list without a data array: %.300s", r.body);
    long n = (long)json_array_size(data);
    json_decref(j);
    ht_resp_free(&r);
    return n;
}

static int count_workers(struct ht_server *s, pid_t *pids, int max)
{
    return ht_server_children(s, "worker ", pids, max);
}

static int pid_in(pid_t pid, const pid_t *set, int n)
{
    for (int i = 0; i < n; i++)
        if (set[i] == pid)
            return 1;
    return 0;
}

/* After a reload to `want` workers: exactly that many worker processes,
 * titled worker 0 .. want-1, none of them from the old generation, and no
 * old worker left alive. */
static int new_generation(struct ht_server *s, const pid_t *old, int nold, int want)
{
    pid_t now[64];
    int n = count_workers(s, now, 64);
    if (n != want)
        return 0;
    for (int i = 0; i < n; i++)
        if (pid_in(now[i], old, nold))
            return 0;
    for (int i = 0; i < want; i++) {
        char t[32];
        snprintf(t, sizeof t, "worker %d", i);
        if (!ht_server_child_pid(s, t))
            return 0;
    }
    for (int i = 0; i < nold; i++)
        if (ht_proc_alive(old[i]))
            return 0;
    return 1;
}

/* A line logged after mark that mentions needle at level error or warn. */
static int logged_problem_since(struct ht_server *s, long mark, const char *needle)
{
    char *text = ht_server_log_since(s, mark);
    int found = 0;
    for (char *line = strtok(text, "\n"); line && !found; line = strtok(NULL, "\n"))
        found = strstr(line, needle) &&
                (strstr(line, "\"level\":\"error\"") || strstr(line, "\"level\":\"warn"));
    free(text);
    return found;
}

static char *slurp_version(void)
{
    const char *src = getenv("EZAPI_SRCDIR");
    if (!src)
        return NULL;
    char path[512];
    snprintf(path, sizeof path, "%s/configure.ac", src);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char line[512], *v = NULL;
    while (!v && fgets(line, sizeof line, f)) {
        char *p = strstr(line, "AC_INIT([ezapi], [");
        if (!p)
            continue;
        p += strlen("AC_INIT([ezapi], [");
        char *e = strchr(p, ']');
        if (e) {
            *e = '\0';
            v = strdup(p);
        }
    }
    fclose(f);
    return v;
}

/* base64url (no padding) to a malloc'd NUL-terminated string, or NULL. */
static char *b64url_decode(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)s[i], v;
        if (c >= 'A' && c <= 'Z') v = c - 'A';
        else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
        else if (c >= '0' && c <= '9') v = c - '0' + 52;
        else if (c == '-') v = 62;
        else if (c == '_') v = 63;
        else {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[o] = '\0';
    return out;
}

/* Checks the JWT's form (three base64url parts) and returns its payload. */
static json_t *jwt_payload(const char *tok)
{
    const char *d1 = strchr(tok, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    ck_assert_msg(d1 && d2 && !strchr(d2 + 1, '.'), "not three dot-separated parts: %s", tok);
    ck_assert_msg(d1 > tok && d2 > d1 + 1 && d2[1], "an empty JWT part: %s", tok);
    for (const char *p = tok; *p; p++)
        ck_assert_msg(isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.',
                      "not base64url: %s", tok);
    char *head = b64url_decode(tok, (size_t)(d1 - tok));
    char *body = b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1));
    ck_assert_msg(head && body, "undecodable JWT %s", tok);
    json_t *h = json_loads(head, 0, NULL);
    json_t *p = json_loads(body, 0, NULL);
    ck_assert_msg(h && p, "JWT parts are not JSON: %s / %s", head, body);
    ck_assert_str_eq(json_string_value(json_object_get(h, "alg")), "HS256");
    json_decref(h);
    free(head);
    free(body);
    return p;
}

/* A config file written line by line, so errors can name the line. */
static void write_conf_lines(const char *path, const char *last_lines)
{
    char secret[41];
    memset(secret, 'k', 40);
    secret[40] = '\0';
    char text[2048];
    snprintf(text, sizeof text,
             "# line 1\n"
             "listen = 127.0.0.1:1\n"
             "pg_dsn = %s\n"
             "redis_url = %s\n"
             "admin_jwt_secret = %s\n"
             "master_jwt_secret = %s\n"
             "%s",
             ht_pg_dsn(), ht_redis_url(), secret, secret, last_lines);
    ht_write_file(path, text);
}

/* Runs `ezapi -t -c path` and expects exit 78 naming path:line and key. */
static void assert_config_refused(const char *path, int line, const char *key)
{
    struct ht_cmd c;
    ht_ezapi(&c, "-t", "-c", path, NULL);
    char where[400];
    snprintf(where, sizeof where, "%s:%d", path, line);
    ck_assert_msg(c.status == 78, "ezapi -t exited %d (expected 78); stdout: %s stderr: %s",
                  c.status, c.out, c.err);
    int named = (strstr(c.out, where) || strstr(c.err, where)) &&
                (strstr(c.out, key) || strstr(c.err, key));
    ck_assert_msg(named, "the error must name %s and the key %s; stdout: %s stderr: %s", where,
                  key, c.out, c.err);
    ht_cmd_free(&c);
}

/* ---- Conventions (docs/api.md) ------------------------------------------ */

START_TEST(health_is_ok_with_a_generated_request_id)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    struct ht_resp r;
    ck_assert_int_eq(ht_get(s.port, "/health", NULL, &r), 200);
    assert_json_type(&r);
    json_t *j = resp_json(&r);
    json_t *want = json_pack("{s:s}", "status", "ok");
    ck_assert_msg(json_equal(j, want), "GET /health body %s, expected {\"status\":\"ok\"}", r.body);
    json_decref(want);
    json_decref(j);
    char first[64];
    const char *id = ht_resp_header(&r, "X-Request-ID");
    ck_assert_msg(is_hex32(id), "generated X-Request-ID %s is not 32 lowercase hex",
                  id ? id : "(absent)");
    snprintf(first, sizeof first, "%s", id);
    ht_resp_free(&r);

    ck_assert_int_eq(ht_get(s.port, "/health", NULL, &r), 200);
    id = ht_resp_header(&r, "X-Request-ID");
    ck_assert_msg(is_hex32(id) && strcmp(id, first) != 0,
                  "two requests got the same or a bad X-Request-ID: %s, %s", first, id);
    ht_resp_free(&r);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(valid_client_request_id_is_echoed)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    char longest[129 + 20];
    memset(longest, 'a', 128);
    memcpy(longest, "Z9._-", 5);
    longest[128] = '\0';
    const char *ids[] = { "abc-1.2_X", "7", longest };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        char hdr[200];
        snprintf(hdr, sizeof hdr, "X-Request-ID: %s\r\n", ids[i]);
        struct ht_resp r;
        ck_assert_int_eq(ht_get(s.port, "/health", hdr, &r), 200);
        const char *got = ht_resp_header(&r, "X-Request-ID");
        ck_assert_msg(got && strcmp(got, ids[i]) == 0, "sent X-Request-ID %s, got back %s", ids[i],
                      got ? got : "(absent)");
        ht_resp_free(&r);
    }
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(malformed_client_request_id_is_replaced)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    char too_long[130];
    memset(too_long, 'a', 129);
    too_long[129] = '\0';
    const char *ids[] = { too_long, "has space", "semi;colon", "slash/id", "caf\xc3\xa9" };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        char hdr[200];
        snprintf(hdr, sizeof hdr, "X-Request-ID: %s\r\n", ids[i]);
        struct ht_resp r;
        ck_assert_msg(ht_get(s.port, "/health", hdr, &r) == 200,
                      "a malformed X-Request-ID (%s) must not be refused: %d %s", ids[i], r.status,
                      r.err);
        const char *got = ht_resp_header(&r, "X-Request-ID");
        ck_assert_msg(is_hex32(got), "X-Request-ID %s was answered with %s, expected a new "
                      "32-hex id", ids[i], got ? got : "(absent)");
        ht_resp_free(&r);
    }
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(ready_reports_every_dependency)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    struct ht_resp r;
    ck_assert_int_eq(ht_get(s.port, "/health/ready", NULL, &r), 200);
    assert_json_type(&r);
    json_t *j = resp_json(&r);
    ck_assert_msg(json_object_get(j, "postgres") != NULL, "no postgres in %s", r.body);
    ck_assert_msg(json_object_get(j, "redis") != NULL, "no redis in %s", r.body);
    const char *procs[] = { "syncer", "logger" };
    for (int i = 0; i < 2; i++) {
        json_t *p = json_object_get(j, procs[i]);
        ck_assert_msg(json_is_object(p), "no %s object in %s", procs[i], r.body);
        ck_assert_msg(json_is_true(json_object_get(p, "alive")), "%s.alive is not true: %s",
                      procs[i], r.body);
        json_t *d = json_object_get(p, "queue_depth");
        ck_assert_msg(json_is_integer(d) && json_integer_value(d) >= 0,
                      "%s.queue_depth is not a count: %s", procs[i], r.body);
    }
    json_decref(j);
    ht_resp_free(&r);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(unknown_route_is_404_in_the_error_shape)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    struct ht_resp r;
    ck_assert_int_eq(ht_get(s.port, "/no/such/route", NULL, &r), 404);
    assert_error_shape(&r, "not_found_error", 1, NULL);
    ck_assert_msg(is_hex32(ht_resp_header(&r, "X-Request-ID")), "no generated request id");
    ht_resp_free(&r);

    /* the client's request id is the one in the error */
    ck_assert_int_eq(ht_get(s.port, "/v0/nothing", "X-Request-ID: trace-404\r\n", &r), 404);
    assert_error_shape(&r, "not_found_error", 1, NULL);
    ck_assert_str_eq(ht_resp_header(&r, "X-Request-ID"), "trace-404");
    ht_resp_free(&r);

    /* a missing resource is a 404 too */
    ck_assert_int_eq(ht_get(s.port, "/admin/namespaces/nobody-here", ht_auth(&s, "admin"), &r), 404);
    assert_error_shape(&r, "not_found_error", 0, NULL);
    ht_resp_free(&r);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(wrong_method_is_405_with_allow)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    const char *methods[] = { "POST", "DELETE", "PUT" };
    for (int i = 0; i < 3; i++) {
        struct ht_resp r;
        ck_assert_msg(ht_http(s.port, methods[i], "/health", NULL, NULL, 0, &r) == 405,
                      "%s /health answered %d %s", methods[i], r.status, r.err);
        const char *allow = ht_resp_header(&r, "Allow");
        ck_assert_msg(header_has_token(allow, "GET"), "%s /health: Allow is %s, must list GET",
                      methods[i], allow ? allow : "absent");
        assert_error_shape(&r, NULL, 0, NULL);
        ht_resp_free(&r);
    }
    ht_assert_clean_stop(&s);
}
END_TEST

/* ---- Bad input (docs/api.md, "Refusals") -------------------------------- */

START_TEST(body_over_max_body_size_is_413_before_routing_and_auth)
{
    struct ht_server s;
    ht_server_start(&s, "max_body_size = 2048\n");
    char *big = malloc(10001);
    memset(big, 'x', 10000);
    big[10000] = '\0';
    struct ht_resp r;

    /* no token: 413, not 401 */
    ck_assert_int_eq(ht_http(s.port, "POST", "/admin/namespaces", NULL, big, 10000, &r), 413);
    assert_error_shape(&r, NULL, 0, NULL);
    ht_resp_free(&r);
    /* unknown path: 413, not 404 */
    ck_assert_int_eq(ht_http(s.port, "POST", "/no/such/path", NULL, big, 10000, &r), 413);
    ht_resp_free(&r);
    /* the limit is max_body_size itself: one byte more is refused, not the limit */
    ck_assert_int_eq(ht_http(s.port, "POST", "/no/such/path", NULL, big, 2049, &r), 413);
    ht_resp_free(&r);
    ck_assert_int_eq(ht_http(s.port, "POST", "/no/such/path", NULL, big, 2048, &r), 404);
    ht_resp_free(&r);
    free(big);
    ck_assert_int_eq(namespaces_listed(&s), 0);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(non_json_body_is_415)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    char hdr[1200];
    snprintf(hdr, sizeof hdr, "%sContent-Type: text/plain\r\n", ht_auth(&s, "admin"));
    const char *body = "{\"name\":\"team-a\"}";
    struct ht_resp r;
    ck_assert_int_eq(ht_http(s.port, "POST", "/admin/namespaces", hdr, body, strlen(body), &r), 415);
    assert_error_shape(&r, NULL, 0, NULL);
    ht_resp_free(&r);
    ck_assert_int_eq(namespaces_listed(&s), 0);

    /* a media type parameter is still JSON */
    snprintf(hdr, sizeof hdr, "%sContent-Type: application/json; charset=utf-8\r\n",
             ht_auth(&s, "admin"));
    ck_assert_int_eq(ht_http(s.port, "POST", "/admin/namespaces", hdr, body, strlen(body), &r), 201);
    ht_resp_free(&r);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(malformed_json_is_400_saying_where)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    struct ht_resp r;
    ck_assert_int_eq(ht_post_json(s.port, "/admin/namespaces", ht_auth(&s, "admin"), "{\"name\":", &r),
                     400);
    assert_error_shape(&r, "invalid_request_error", 0, NULL);
    json_t *j = resp_json(&r);
    const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    int has_number = 0, has_place = 0;
    for (const char *p = msg; *p; p++)
        has_number |= isdigit((unsigned char)*p) != 0;
    const char *places[] = { "line", "column", "position", "offset", "byte", "char" };
    for (size_t i = 0; i < sizeof places / sizeof places[0]; i++)
        has_place |= strcasestr(msg, places[i]) != NULL;
    ck_assert_msg(has_number && has_place, "the message must say where the JSON breaks: %s", msg);
    json_decref(j);
    ht_resp_free(&r);
    ck_assert_int_eq(namespaces_listed(&s), 0);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(json_that_is_not_a_valid_object_is_400)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    const char *auth = ht_auth(&s, "admin");
    struct ht_resp r;
    const char *not_objects[] = { "[\"team-a\"]", "\"team-a\"", "42", "null" };
    for (size_t i = 0; i < sizeof not_objects / sizeof not_objects[0]; i++) {
        ck_assert_msg(ht_post_json(s.port, "/admin/namespaces", auth, not_objects[i], &r) == 400,
                      "body %s answered %d", not_objects[i], r.status);
        assert_error_shape(&r, "invalid_request_error", 0, NULL);
        ht_resp_free(&r);
    }
    /* a wrong type and an unknown field name their field */
    ck_assert_int_eq(ht_post_json(s.port, "/admin/namespaces", auth, "{\"name\":5}", &r), 400);
    assert_error_shape(&r, "invalid_request_error", 2, "name");
    ht_resp_free(&r);
    ck_assert_int_eq(ht_post_json(s.port, "/admin/namespaces", auth,
                                 "{\"name\":\"team-a\",\"colour\":\"red\"}", &r), 400);
    assert_error_shape(&r, "invalid_request_error", 2, "colour");
    ht_resp_free(&r);
    ck_assert_int_eq(namespaces_listed(&s), 0);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(missing_or_bad_credentials_are_401_bearer)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    struct ht_server other; /* same claims, another secret */
    ht_server_init(&other, NULL);
    char forged[1100];
    snprintf(forged, sizeof forged, "%s", ht_auth(&other, "admin"));

    const char *creds[] = { NULL, "Authorization: Bearer not-a-jwt\r\n",
                            "Authorization: Basic YWRtaW46YWRtaW4=\r\n", forged };
    for (size_t i = 0; i < sizeof creds / sizeof creds[0]; i++) {
        struct ht_resp r;
        ck_assert_msg(ht_post_json(s.port, "/admin/namespaces", creds[i], "{\"name\":\"team-a\"}",
                                  &r) == 401, "credentials #%zu answered %d", i, r.status);
        const char *www = ht_resp_header(&r, "WWW-Authenticate");
        ck_assert_msg(www && strncasecmp(www, "Bearer", 6) == 0,
                      "401 without WWW-Authenticate: Bearer (got %s)", www ? www : "none");
        assert_error_shape(&r, "authentication_error", 0, NULL);
        ht_resp_free(&r);
        ck_assert_msg(ht_get(s.port, "/admin/namespaces", creds[i], &r) == 401,
                      "GET with credentials #%zu answered %d", i, r.status);
        ht_resp_free(&r);
    }
    ck_assert_int_eq(namespaces_listed(&s), 0);
    ht_assert_clean_stop(&s);
}
END_TEST

/* ---- Namespaces reach Redis --------------------------------------------- */

START_TEST(created_namespace_is_projected_into_redis)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    struct ht_resp r;
    ck_assert_int_eq(ht_post_json(s.port, "/admin/namespaces", ht_auth(&s, "admin"),
                                 "{\"name\":\"team-a\"}", &r), 201);
    assert_json_type(&r);
    json_t *j = resp_json(&r);
    ck_assert_msg(json_is_integer(json_object_get(j, "id")), "no integer id in %s", r.body);
    ck_assert_str_eq(json_string_value(json_object_get(j, "name")), "team-a");
    ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "active");
    json_decref(j);
    ht_resp_free(&r);

    HT_EVENTUALLY(namespace_synced("team-a"), 10000,
                 "config:namespaces team-a never became {\"name\":\"team-a\",\"status\":\"active\"}");
    ck_assert_int_eq(ht_get(s.port, "/admin/namespaces/team-a", ht_auth(&s, "admin"), &r), 200);
    j = resp_json(&r);
    ck_assert_str_eq(json_string_value(json_object_get(j, "name")), "team-a");
    json_decref(j);
    ht_resp_free(&r);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(two_instances_share_postgres_and_redis)
{
    struct ht_server a, b;
    ht_server_init(&a, NULL);
    ht_server_init(&b, NULL);
    /* started together: migrations must take turns */
    ht_server_spawn(&a);
    ht_server_spawn(&b);
    ht_server_wait_ready(&a);
    ht_server_wait_ready(&b);
    struct ht_resp r;
    ck_assert_int_eq(ht_get(a.port, "/health", NULL, &r), 200);
    ht_resp_free(&r);
    ck_assert_int_eq(ht_get(b.port, "/health", NULL, &r), 200);
    ht_resp_free(&r);

    ck_assert_int_eq(create_namespace(&a, "from-a"), 201);
    ck_assert_int_eq(create_namespace(&b, "from-b"), 201);
    ck_assert_int_eq(ht_get(a.port, "/admin/namespaces/from-b", ht_auth(&a, "admin"), &r), 200);
    ht_resp_free(&r);
    ck_assert_int_eq(ht_post_json(b.port, "/admin/namespaces", ht_auth(&b, "admin"),
                                 "{\"name\":\"from-a\"}", &r), 409);
    assert_error_shape(&r, "conflict_error", 0, NULL);
    ht_resp_free(&r);
    HT_EVENTUALLY(namespace_synced("from-a") && namespace_synced("from-b"), 10000,
                 "namespaces written through both instances never both reached Redis");
    ht_assert_clean_stop(&a);
    ht_assert_clean_stop(&b);
}
END_TEST

/* ---- Command line (README.md, docs/ezapi.8) ----------------------------- */

START_TEST(config_check_accepts_a_valid_file)
{
    struct ht_server s;
    ht_server_init(&s, "max_body_size = 4096\nrequest_timeout = 2500ms\nshutdown_timeout = 1m\n");
    struct ht_cmd c;
    ht_ezapi(&c, "-t", "-c", s.conf, NULL);
    ck_assert_msg(c.status == 0, "ezapi -t on a valid file exited %d: %s %s", c.status, c.out, c.err);
    ht_cmd_free(&c);
}
END_TEST

START_TEST(config_check_refuses_an_unknown_key)
{
    struct ht_server s;
    ht_server_init(&s, NULL);
    write_conf_lines(s.conf, "workers = 2\nno_such_key = 1\n");
    assert_config_refused(s.conf, 8, "no_such_key");
    /* the server refuses to start with it, with the same code */
    ht_server_spawn(&s);
    ck_assert_int_eq(ht_server_wait_exit(&s, 15000), 78);
}
END_TEST

START_TEST(config_check_refuses_a_duplicate_key)
{
    struct ht_server s;
    ht_server_init(&s, NULL);
    write_conf_lines(s.conf, "workers = 2\nlog_level = info\nworkers = 3\n");
    assert_config_refused(s.conf, 9, "workers");
}
END_TEST

START_TEST(config_check_refuses_a_bad_duration)
{
    struct ht_server s;
    ht_server_init(&s, NULL);
    write_conf_lines(s.conf, "shutdown_timeout = 5 fortnights\n");
    assert_config_refused(s.conf, 7, "shutdown_timeout");
}
END_TEST

START_TEST(version_is_printed)
{
    struct ht_cmd c;
    ht_ezapi(&c, "-v", NULL);
    ck_assert_msg(c.status == 0, "ezapi -v exited %d: %s", c.status, c.err);
    char *v = slurp_version();
    if (v) {
        ck_assert_msg(strstr(c.out, v) != NULL, "ezapi -v printed \"%s\", not the version %s",
                      c.out, v);
        free(v);
    } else {
        int digits = 0;
        for (const char *p = c.out; *p; p++)
            digits += isdigit((unsigned char)*p) != 0;
        ck_assert_msg(digits > 0, "ezapi -v printed no version: %s", c.out);
    }
    ht_cmd_free(&c);
}
END_TEST

START_TEST(token_admin_mints_a_jwt_the_server_accepts)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    struct ht_cmd c;
    ht_ezapi(&c, "token", "admin", "-c", s.conf, NULL);
    ck_assert_msg(c.status == 0, "ezapi token admin exited %d: %s", c.status, c.err);
    size_t n = strlen(c.out);
    ck_assert_msg(n > 0 && c.out[n - 1] == '\n' && !memchr(c.out, '\n', n - 1),
                  "stdout must be the token alone on one line: \"%s\"", c.out);
    c.out[n - 1] = '\0';
    json_t *p = jwt_payload(c.out);
    ck_assert_str_eq(json_string_value(json_object_get(p, "iss")), "ezapi");
    ck_assert_str_eq(json_string_value(json_object_get(p, "sub")), "admin");
    ck_assert_str_eq(json_string_value(json_object_get(p, "role")), "admin");
    ck_assert_ptr_null(json_object_get(p, "aud"));
    json_int_t iat = json_integer_value(json_object_get(p, "iat"));
    json_int_t exp = json_integer_value(json_object_get(p, "exp"));
    ck_assert_msg(iat > 0 && exp - iat == 3600, "exp - iat = %lld, expected one hour",
                  (long long)(exp - iat));
    json_decref(p);
    char hdr[1200];
    snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", c.out);
    ht_cmd_free(&c);
    struct ht_resp r;
    ck_assert_int_eq(ht_post_json(s.port, "/admin/namespaces", hdr, "{\"name\":\"minted\"}", &r), 201);
    ht_resp_free(&r);

    /* a viewer may read, not write */
    ht_ezapi(&c, "token", "admin", "-c", s.conf, "--role", "viewer", "--sub", "alice", "--ttl", "5m",
            NULL);
    ck_assert_msg(c.status == 0, "ezapi token admin --role viewer exited %d: %s", c.status, c.err);
    c.out[strcspn(c.out, "\n")] = '\0';
    p = jwt_payload(c.out);
    ck_assert_str_eq(json_string_value(json_object_get(p, "role")), "viewer");
    ck_assert_str_eq(json_string_value(json_object_get(p, "sub")), "alice");
    exp = json_integer_value(json_object_get(p, "exp"));
    iat = json_integer_value(json_object_get(p, "iat"));
    ck_assert_msg(exp - iat == 300, "--ttl 5m gave exp - iat = %lld", (long long)(exp - iat));
    json_decref(p);
    snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", c.out);
    ht_cmd_free(&c);
    ck_assert_int_eq(ht_get(s.port, "/admin/namespaces", hdr, &r), 200);
    ht_resp_free(&r);
    ck_assert_int_eq(ht_post_json(s.port, "/admin/namespaces", hdr, "{\"name\":\"viewed\"}", &r), 403);
    assert_error_shape(&r, "permission_error", 0, NULL);
    ht_resp_free(&r);
    ht_assert_clean_stop(&s);
}
END_TEST

/* ---- Processes (README.md, "Process model") ----------------------------- */

START_TEST(process_titles_show_every_role)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    const char *title = ht_proc_title(s.pid);
    ck_assert_msg(strncmp(title, "ezapi: supervisor", 17) == 0, "supervisor title is \"%s\"", title);
    const char *children[] = { "worker 0", "worker 1", "syncer", "logger" };
    for (int i = 0; i < 4; i++)
        ck_assert_msg(ht_server_child_pid(&s, children[i]) != 0,
                      "no child process titled \"ezapi: %s\"", children[i]);
    pid_t w[8];
    ck_assert_int_eq(count_workers(&s, w, 8), 2);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(killed_worker_is_respawned_and_load_recovers)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    pid_t w0 = ht_server_child_pid(&s, "worker 0");
    ck_assert(w0 != 0);
    struct ht_load *l = ht_load_start(s.port, 4, "GET", "/health", NULL, NULL);
    ht_sleep_ms(500);
    ck_assert_int_eq(kill(w0, SIGKILL), 0);
    pid_t now = 0;
    HT_EVENTUALLY(ht_server_child_replaced(&s, "worker 0", w0, &now), 2000,
                 "no new \"ezapi: worker 0\" within 2 s of kill -9");
    ht_sleep_ms(300); /* connections of the dead worker fail now, not later */
    struct ht_load_counts before, after;
    ht_load_snapshot(l, &before);
    ht_sleep_ms(1500);
    after = ht_load_stop(l);
    ck_assert_msg(before.ok > 0, "the load got nothing through: %s", ht_load_describe(&before));
    ck_assert_msg(after.errors == before.errors && after.non2xx == before.non2xx,
                  "requests failed after the respawn: before %s", ht_load_describe(&before));
    ck_assert_msg(after.ok > before.ok, "no request succeeded after the respawn: %s",
                  ht_load_describe(&after));
    ck_assert_int_eq(ht_server_stop(&s), 0);
}
END_TEST

START_TEST(killed_syncer_is_respawned_and_syncs)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    pid_t old = ht_server_child_pid(&s, "syncer");
    ck_assert(old != 0);
    ck_assert_int_eq(kill(old, SIGKILL), 0);
    pid_t now = 0;
    HT_EVENTUALLY(ht_server_child_replaced(&s, "syncer", old, &now), 5000, "the syncer was not respawned");
    ck_assert_int_eq(create_namespace(&s, "after-respawn"), 201);
    HT_EVENTUALLY(namespace_synced("after-respawn"), 10000, "the new syncer does not sync");
    ck_assert_int_eq(ht_server_stop(&s), 0);
}
END_TEST

START_TEST(child_killed_repeatedly_is_still_respawned)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    for (int i = 0; i < 3; i++) {
        pid_t old = 0, now = 0;
        HT_EVENTUALLY((old = ht_server_child_pid(&s, "logger")) != 0, 15000,
                     "no logger before kill %d", i + 1);
        ck_assert_int_eq(kill(old, SIGKILL), 0);
        HT_EVENTUALLY(ht_server_child_replaced(&s, "logger", old, &now), 15000,
                     "the logger was not respawned after kill %d", i + 1);
    }
    struct ht_resp r;
    int st = 0;
    HT_EVENTUALLY((st = ht_get(s.port, "/health/ready", NULL, &r), ht_resp_free(&r), st == 200), 15000,
                 "not ready after the logger came back (%d)", st);
    ck_assert_int_eq(ht_server_stop(&s), 0);
}
END_TEST

/* ---- Signals (README.md, "Signals") ------------------------------------- */

START_TEST(reload_under_load_drops_nothing)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    pid_t old[8];
    int nold = count_workers(&s, old, 8);
    ck_assert_int_eq(nold, 2);
    struct ht_load *l = ht_load_start(s.port, 4, "GET", "/health", NULL, NULL);
    ht_sleep_ms(1000);
    ht_server_write_conf(&s, "workers = 3\n");
    ht_server_reload(&s);
    struct ht_load_counts at_reload;
    ht_load_snapshot(l, &at_reload);
    ht_sleep_ms(2000);
    struct ht_load_counts c = ht_load_stop(l);
    ck_assert_msg(c.errors == 0 && c.non2xx == 0, "a reload under load failed requests: %s",
                  ht_load_describe(&c));
    ck_assert_msg(c.ok > at_reload.ok && at_reload.ok > 0, "no traffic around the reload: %s",
                  ht_load_describe(&c));
    /* each persistent connection to a retiring worker is closed after an answer */
    ck_assert_msg(c.reconnects >= 4, "connections to the old workers were not closed with "
                  "Connection: close: %s", ht_load_describe(&c));
    HT_EVENTUALLY(new_generation(&s, old, nold, 3), 15000,
                 "not exactly three new workers (worker 0..2) with the old ones gone");
    struct ht_resp r;
    ck_assert_int_eq(ht_get(s.port, "/health", NULL, &r), 200);
    ht_resp_free(&r);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(reload_with_an_invalid_config_keeps_the_old_one)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    const char *auth = ht_auth(&s, "admin"); /* minted while the file is valid */
    pid_t old[8];
    int nold = count_workers(&s, old, 8);
    ck_assert_int_eq(nold, 2);
    long mark = ht_server_log_mark(&s);
    ht_server_write_conf(&s, "workers = banana\n");
    ht_server_reload(&s);
    HT_EVENTUALLY(logged_problem_since(&s, mark, "workers"), 5000,
                 "no error about the bad workers value was logged after SIGHUP");
    ht_sleep_ms(500);
    struct ht_resp r;
    ck_assert_int_eq(ht_get(s.port, "/health", NULL, &r), 200);
    ht_resp_free(&r);
    pid_t now[8];
    int n = count_workers(&s, now, 8);
    ck_assert_msg(n == 2 && pid_in(now[0], old, 2) && pid_in(now[1], old, 2),
                  "an invalid config replaced the workers (%d now)", n);
    ck_assert_int_eq(ht_post_json(s.port, "/admin/namespaces", auth, "{\"name\":\"still-works\"}",
                                 &r), 201);
    ht_resp_free(&r);

    /* a valid file afterwards is applied: the old config was only kept */
    ht_server_write_conf(&s, "workers = 3\n");
    ht_server_reload(&s);
    HT_EVENTUALLY(new_generation(&s, old, nold, 3), 15000, "a valid reload after a bad one failed");
    ck_assert_int_eq(ht_server_stop(&s), 0);
}
END_TEST

START_TEST(sigterm_finishes_a_request_in_flight)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    const char *body = "{\"name\":\"in-flight\"}";
    size_t len = strlen(body), half = len / 2;
    char head[1600];
    int n = snprintf(head, sizeof head,
                     "POST /admin/namespaces HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n%.*s", s.port, ht_auth(&s, "admin"), len,
                     (int)half, body);
    int fd = ht_connect(s.port);
    ck_assert_msg(fd >= 0, "connect failed");
    ck_assert_int_eq(ht_send_all(fd, head, (size_t)n), 0);
    ht_sleep_ms(300);
    ht_server_signal(&s, SIGTERM);
    ht_sleep_ms(500);
    ck_assert_msg(ht_send_all(fd, body + half, len - half) == 0,
                  "the connection of a request in flight was closed at SIGTERM");
    struct ht_resp r;
    int rc = ht_read_response(fd, "POST", &r);
    close(fd);
    ck_assert_msg(rc == 0, "no answer to the request in flight: %s", r.err);
    ck_assert_msg(r.status == 201, "the request in flight got %d: %.300s", r.status, r.body);
    ht_resp_free(&r);
    int st = ht_server_wait_exit(&s, 20000);
    ck_assert_msg(st == 0, "exit status %d after SIGTERM", st);
    /* the syncer drained its queue before exiting */
    ck_assert_msg(namespace_synced("in-flight"), "the job of the last request was not applied");
    ht_assert_no_log_errors(&s);
}
END_TEST

START_TEST(sigterm_under_load_exits_0)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    struct ht_load *l = ht_load_start(s.port, 4, "GET", "/health", NULL, NULL);
    ht_sleep_ms(1000);
    ht_server_signal(&s, SIGTERM);
    int st = ht_server_wait_exit(&s, 20000);
    struct ht_load_counts c = ht_load_stop(l);
    ck_assert_msg(st == 0, "exit status %d after SIGTERM under load", st);
    ck_assert_msg(c.ok > 0 && c.non2xx == 0, "%s", ht_load_describe(&c));
    ck_assert_msg(c.dropped == 0, "requests the server had accepted were dropped: %s",
                  ht_load_describe(&c));
    ht_assert_no_log_errors(&s);
}
END_TEST

START_TEST(sigint_stops_gracefully)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    ck_assert_int_eq(create_namespace(&s, "before-sigint"), 201);
    ht_server_signal(&s, SIGINT);
    ck_assert_int_eq(ht_server_wait_exit(&s, 20000), 0);
    ck_assert(namespace_synced("before-sigint"));
    ht_assert_no_log_errors(&s);
}
END_TEST

/* ---- Work queues (README.md, "Process model") --------------------------- */

START_TEST(queued_sync_jobs_survive_a_syncer_kill)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    pid_t sy = ht_server_child_pid(&s, "syncer");
    ck_assert(sy != 0);
    ck_assert_int_eq(kill(sy, SIGSTOP), 0);
    HT_EVENTUALLY(ht_proc_state(sy) == 'T', 2000, "the syncer did not stop");
    for (int i = 0; i < 20; i++) {
        char name[32];
        snprintf(name, sizeof name, "q-%02d", i);
        ck_assert_int_eq(create_namespace(&s, name), 201);
    }
    ck_assert_msg(ht_redis_hlen("config:namespaces") <= 0,
                  "namespaces reached Redis while the syncer was stopped");
    struct ht_resp r;
    int st = ht_get(s.port, "/health/ready", NULL, &r);
    ck_assert_msg(st == 200 || st == 503, "GET /health/ready: %d %s", st, r.err);
    json_t *j = resp_json(&r);
    json_t *depth = json_object_get(json_object_get(j, "syncer"), "queue_depth");
    ck_assert_msg(json_is_integer(depth) && json_integer_value(depth) >= 20,
                  "syncer.queue_depth should count the 20 queued jobs: %s", r.body);
    json_decref(j);
    ht_resp_free(&r);

    ck_assert_int_eq(kill(sy, SIGKILL), 0);
    pid_t now = 0;
    HT_EVENTUALLY(ht_server_child_replaced(&s, "syncer", sy, &now), 10000, "the syncer was not respawned");
    HT_EVENTUALLY(all_synced("q-%02d", 20), 15000,
                 "jobs queued before the syncer was killed were lost: %lld of 20 in "
                 "config:namespaces", ht_redis_hlen("config:namespaces"));
    ck_assert_int_eq(ht_server_stop(&s), 0);
}
END_TEST

START_TEST(full_sync_queue_never_blocks_a_request)
{
    struct ht_server s;
    /* one worker, so one ring of 16 jobs */
    ht_server_start(&s, "workers = 1\nsync_queue_capacity = 16\nsync_outbox_interval = 1s\n"
                       "request_timeout = 10s\n");
    pid_t sy = ht_server_child_pid(&s, "syncer");
    ck_assert(sy != 0);
    ck_assert_int_eq(kill(sy, SIGSTOP), 0);
    HT_EVENTUALLY(ht_proc_state(sy) == 'T', 2000, "the syncer did not stop");
    ht_http_timeout_ms = 10000; /* request_timeout: a blocked handler shows as -1 */
    for (int i = 0; i < 40; i++) {
        char name[32];
        snprintf(name, sizeof name, "f-%02d", i);
        ck_assert_msg(create_namespace(&s, name) == 201, "request %d with a full queue failed", i);
    }
    long long rows = ht_pg_count("SELECT count(*) FROM sync_outbox WHERE resource = 'namespaces'");
    ck_assert_msg(rows >= 24, "%lld outbox rows for 40 jobs and a ring of 16 (expected >= 24)", rows);

    ck_assert_int_eq(kill(sy, SIGCONT), 0);
    HT_EVENTUALLY(all_synced("f-%02d", 40), 30000,
                 "queued and outboxed jobs were not all applied: %lld of 40 in config:namespaces, "
                 "%lld outbox rows left", ht_redis_hlen("config:namespaces"),
                 ht_pg_count("SELECT count(*) FROM sync_outbox"));
    HT_EVENTUALLY(ht_pg_count("SELECT count(*) FROM sync_outbox WHERE resource = 'namespaces'") == 0,
                 15000, "applied outbox rows were not deleted");
    ck_assert_int_eq(ht_server_stop(&s), 0);
}
END_TEST

/* ---- Suite -------------------------------------------------------------- */

static Suite *core_suite(void)
{
    Suite *s = suite_create("core");
    TCase *tc = ht_tcase("conventions");
    tcase_add_test(tc, health_is_ok_with_a_generated_request_id);
    tcase_add_test(tc, valid_client_request_id_is_echoed);
    tcase_add_test(tc, malformed_client_request_id_is_replaced);
    tcase_add_test(tc, ready_reports_every_dependency);
    tcase_add_test(tc, unknown_route_is_404_in_the_error_shape);
    tcase_add_test(tc, wrong_method_is_405_with_allow);
    suite_add_tcase(s, tc);

    tc = ht_tcase("bad_input");
    tcase_add_test(tc, body_over_max_body_size_is_413_before_routing_and_auth);
    tcase_add_test(tc, non_json_body_is_415);
    tcase_add_test(tc, malformed_json_is_400_saying_where);
    tcase_add_test(tc, json_that_is_not_a_valid_object_is_400);
    tcase_add_test(tc, missing_or_bad_credentials_are_401_bearer);
    suite_add_tcase(s, tc);

    tc = ht_tcase("namespaces");
    tcase_add_test(tc, created_namespace_is_projected_into_redis);
    tcase_add_test(tc, two_instances_share_postgres_and_redis);
    suite_add_tcase(s, tc);

    tc = ht_tcase("command_line");
    tcase_add_test(tc, config_check_accepts_a_valid_file);
    tcase_add_test(tc, config_check_refuses_an_unknown_key);
    tcase_add_test(tc, config_check_refuses_a_duplicate_key);
    tcase_add_test(tc, config_check_refuses_a_bad_duration);
    tcase_add_test(tc, version_is_printed);
    tcase_add_test(tc, token_admin_mints_a_jwt_the_server_accepts);
    suite_add_tcase(s, tc);

    tc = ht_tcase("processes");
    tcase_add_test(tc, process_titles_show_every_role);
    tcase_add_test(tc, killed_worker_is_respawned_and_load_recovers);
    tcase_add_test(tc, killed_syncer_is_respawned_and_syncs);
    tcase_add_test(tc, child_killed_repeatedly_is_still_respawned);
    suite_add_tcase(s, tc);

    tc = ht_tcase("signals");
    tcase_add_test(tc, reload_under_load_drops_nothing);
    tcase_add_test(tc, reload_with_an_invalid_config_keeps_the_old_one);
    tcase_add_test(tc, sigterm_finishes_a_request_in_flight);
    tcase_add_test(tc, sigterm_under_load_exits_0);
    tcase_add_test(tc, sigint_stops_gracefully);
    suite_add_tcase(s, tc);

    tc = ht_tcase("queues");
    tcase_add_test(tc, queued_sync_jobs_survive_a_syncer_kill);
    tcase_add_test(tc, full_sync_queue_never_blocks_a_request);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ht_run_suite(core_suite());
}
