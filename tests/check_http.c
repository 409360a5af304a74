/* Unit tests of the HTTP core's pure parts: request ids and the routing
 * table (404, 405 with Allow, placeholders decoded). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/body.h"
#include "worker/http.h"
#include "worker/routes.h"

START_TEST(request_id_rules)
{
    ck_assert(ez_request_id_valid("abc-1.2_X"));
    ck_assert(ez_request_id_valid("a"));
    char max[129];
    memset(max, 'a', 128);
    max[128] = 0;
    ck_assert(ez_request_id_valid(max));
    char over[130];
    memset(over, 'a', 129);
    over[129] = 0;
    ck_assert(!ez_request_id_valid(over));
    ck_assert(!ez_request_id_valid(""));
    ck_assert(!ez_request_id_valid("has space"));
    ck_assert(!ez_request_id_valid("semi;colon"));
    ck_assert(!ez_request_id_valid("caf\xc3\xa9"));
}
END_TEST

START_TEST(request_id_generated)
{
    char a[33], b[33];
    ez_request_id_new(a);
    ez_request_id_new(b);
    ck_assert_uint_eq(strlen(a), 32);
    for (int i = 0; i < 32; i++)
        ck_assert(strchr("0123456789abcdef", a[i]) != NULL);
    ck_assert_str_ne(a, b);
    ck_assert(ez_request_id_valid(a));
}
END_TEST

/* One call of the router, with all it hands back. */
struct match {
    const struct ez_route *r;
    char *params[EZ_MAX_PARAMS];
    int n;
    char allow[128];
};

static int match(struct match *m, const char *method, const char *path)
{
    return ez_route_match(method, path, &m->r, m->params, &m->n, m->allow, sizeof m->allow);
}

START_TEST(route_found_with_params)
{
    struct match m = { .n = -1 };
    ck_assert_int_eq(match(&m, "GET", "/health"), EZ_ROUTE_FOUND);
    ck_assert_str_eq(m.r->path, "/health");
    ck_assert_int_eq(m.n, 0);
    ck_assert_int_eq(match(&m, "PUT", "/admin/namespaces/team%2Da"), EZ_ROUTE_FOUND);
    ck_assert_str_eq(m.r->path, "/admin/namespaces/{name}");
    ck_assert_int_eq(m.n, 1);
    ck_assert_str_eq(m.params[0], "team-a");
    free(m.params[0]);
}
END_TEST

START_TEST(route_literal_beats_placeholder)
{
    struct match m = { .n = -1 };
    ck_assert_int_eq(match(&m, "GET", "/health/ready"), EZ_ROUTE_FOUND);
    ck_assert_str_eq(m.r->path, "/health/ready");
}
END_TEST

START_TEST(route_not_found)
{
    struct match m = { .n = -1 };
    ck_assert_int_eq(match(&m, "GET", "/nope"), EZ_ROUTE_NOT_FOUND);
    ck_assert_int_eq(match(&m, "GET", "/health/"), EZ_ROUTE_NOT_FOUND);
    ck_assert_int_eq(match(&m, "GET", "/admin/namespaces//x"), EZ_ROUTE_NOT_FOUND);
    ck_assert_int_eq(match(&m, "GET", ""), EZ_ROUTE_NOT_FOUND);
    ck_assert_int_eq(match(&m, "GET", "health"), EZ_ROUTE_NOT_FOUND);
    /* more segments than any template */
    ck_assert_int_eq(match(&m, "POST", "/admin/sync/outbox/1/retry/a/b/c/d/e"),
                     EZ_ROUTE_NOT_FOUND);
}
END_TEST

/* A segment of any length is one segment: the matcher keeps no length
 * limit of its own (the guard bounds the request target). */
START_TEST(route_long_segment_is_a_param)
{
    struct match m = { .n = -1 };
    size_t big = 70000;
    char *p = malloc(big + 16);
    ck_assert_ptr_nonnull(p);
    memcpy(p, "/admin/masters/", 15);
    memset(p + 15, '7', big);
    p[15 + big] = 0;
    ck_assert_int_eq(match(&m, "GET", p), EZ_ROUTE_FOUND);
    ck_assert_str_eq(m.r->path, "/admin/masters/{id}");
    ck_assert_int_eq(m.n, 1);
    ck_assert_uint_eq(strlen(m.params[0]), big);
    free(m.params[0]);
    free(p);
}
END_TEST

START_TEST(route_bad_method_lists_allow)
{
    struct match m = { .n = -1 };
    ck_assert_int_eq(match(&m, "DELETE", "/health"), EZ_ROUTE_BAD_METHOD);
    ck_assert_str_eq(m.allow, "GET");
    ck_assert_int_eq(match(&m, "PATCH", "/admin/namespaces/x"), EZ_ROUTE_BAD_METHOD);
    ck_assert(strstr(m.allow, "GET") && strstr(m.allow, "PUT") && strstr(m.allow, "DELETE"));
    ck_assert(!strstr(m.allow, "POST"));
}
END_TEST

START_TEST(every_route_template_is_well_formed)
{
    for (int i = 0; i < ez_routes_count; i++) {
        const char *p = ez_routes[i].path;
        ck_assert_msg(p[0] == '/', "%s", p);
        ck_assert_msg(ez_routes[i].handler != NULL, "%s", p);
        for (int j = 0; j < i; j++)
            ck_assert_msg(strcmp(ez_routes[j].path, p) != 0 ||
                              strcmp(ez_routes[j].method, ez_routes[i].method) != 0,
                          "duplicate route %s %s", ez_routes[i].method, p);
    }
}
END_TEST

/* Each template, its placeholders filled in, reaches its own route: none is
 * too long for the matcher, none is shadowed by another. */
START_TEST(every_route_is_reached_by_its_own_path)
{
    for (int i = 0; i < ez_routes_count; i++) {
        char path[256], *o = path;
        for (const char *t = ez_routes[i].path; *t;) {
            if (*t == '{') {
                o += sprintf(o, "v%d", (int)(o - path));
                t += strcspn(t, "/");
            } else {
                *o++ = *t++;
            }
        }
        *o = 0;
        struct match m = { .n = -1 };
        ck_assert_msg(match(&m, ez_routes[i].method, path) == EZ_ROUTE_FOUND,
                      "%s %s is not found", ez_routes[i].method, path);
        ck_assert_msg(m.r == &ez_routes[i], "%s %s reaches %s", ez_routes[i].method, path,
                      m.r->path);
        for (int j = 0; j < m.n; j++)
            free(m.params[j]);
    }
}
END_TEST

static int parse(const char *ct, const char *body, json_t **out, char *msg)
{
    return ez_body_parse(ct, body, strlen(body), out, msg, 256);
}

START_TEST(body_rules)
{
    json_t *o;
    char msg[256];
    ck_assert_int_eq(ez_body_parse(NULL, "", 0, &o, msg, sizeof msg), 0);
    ck_assert_ptr_null(o);
    ck_assert_int_eq(parse("text/plain", "{}", &o, msg), 415);
    ck_assert_int_eq(parse(NULL, "{}", &o, msg), 415);
    ck_assert_int_eq(parse("application/jsonx", "{}", &o, msg), 415);
    ck_assert_int_eq(parse("Application/JSON; charset=utf-8", "{\"a\":1}", &o, msg), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "a")), 1);
    json_decref(o);
    ck_assert_int_eq(parse("application/json", "{\"name\":", &o, msg), 400);
    ck_assert_msg(strstr(msg, "line 1") && strstr(msg, "column"), "%s", msg);
    ck_assert_int_eq(parse("application/json", "[1,2]", &o, msg), 400);
    ck_assert(strstr(msg, "object"));
    ck_assert_int_eq(parse("application/json", "\"s\"", &o, msg), 400);
    ck_assert_int_eq(parse("application/json", "{\"a\":1,\"a\":2}", &o, msg), 400);
    /* NUL in a string value parses; the field's validator refuses it by name */
    ck_assert_int_eq(parse("application/json", "{\"a\":\"x\\u0000y\"}", &o, msg), 0);
    ck_assert_int_eq(json_string_length(json_object_get(o, "a")), 3);
    json_decref(o);
    ck_assert_int_eq(parse("application/json", "{\"a\\u0000\":1}", &o, msg), 400);
    ck_assert_int_eq(parse("application/json", "{\"a\":\"\xff\xfe\"}", &o, msg), 400);
    ck_assert_int_eq(parse("application/json", "{} trailing", &o, msg), 400);
    ck_assert_ptr_null(o);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, request_id_rules);
    tcase_add_test(tc, request_id_generated);
    tcase_add_test(tc, route_found_with_params);
    tcase_add_test(tc, route_literal_beats_placeholder);
    tcase_add_test(tc, route_not_found);
    tcase_add_test(tc, route_long_segment_is_a_param);
    tcase_add_test(tc, route_bad_method_lists_allow);
    tcase_add_test(tc, every_route_template_is_well_formed);
    tcase_add_test(tc, every_route_is_reached_by_its_own_path);
    tcase_add_test(tc, body_rules);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
