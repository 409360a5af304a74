/* worker/route_table.h is the only place a route is declared. This suite
 * and tests/ezapi-dummy-route are built with EZ_TEST_DUMMY_ROUTE, which
 * adds one row to the table and nothing else (its handler is
 * tests/route_dummy.c): the route is then dispatched with its
 * authentication, documented in /openapi.json and counted in /metrics,
 * while the ordinary ./ezapi has none of it. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#include "worker/handlers.h"
#include "worker/openapi.h"
#include "worker/routes.h"

#define DUMMY "/test/dummy/{id}"

static struct ht_server S;

/* ---- Unit: the table of this build ------------------------------------ */

START_TEST(dummy_row_is_dispatched)
{
    const struct ez_route *r;
    char *params[EZ_MAX_PARAMS] = { 0 };
    int n = -1;
    char allow[128];
    ck_assert_int_eq(ez_route_match("GET", "/test/dummy/7", &r, params, &n, allow, sizeof allow),
                     EZ_ROUTE_FOUND);
    ck_assert_str_eq(r->path, DUMMY);
    ck_assert(r->handler == h_test_dummy);
    ck_assert_int_eq(r->auth, EZ_AUTH_ADMIN);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(params[0], "7");
    free(params[0]);
    ck_assert_int_eq(ez_route_match("DELETE", "/test/dummy/7", &r, params, &n, allow,
                                    sizeof allow), EZ_ROUTE_BAD_METHOD);
    ck_assert_str_eq(allow, "GET");
}
END_TEST

START_TEST(dummy_row_is_documented)
{
    const json_t *d = ez_openapi_document();
    ck_assert_msg(d != NULL, "the document of this build could not be built");
    json_t *op = json_object_get(json_object_get(json_object_get(d, "paths"), DUMMY), "get");
    ck_assert_msg(op != NULL, "GET " DUMMY " is not in the document");
    ck_assert_str_eq(json_string_value(json_object_get(op, "operationId")), "getTestDummy");
    ck_assert_str_eq(json_string_value(json_object_get(op, "x-ezapi-auth")), "admin");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(op, "tags"), 0)), "Service");
    json_t *responses = json_object_get(op, "responses");
    ck_assert(json_object_get(responses, "200") && json_object_get(responses, "400") &&
              json_object_get(responses, "401") && json_object_get(responses, "403"));
}
END_TEST

/* ---- Server: the binary built with the row, and the one without -------- */

/* The sum of the ezapi_http_requests_total series whose labels contain
 * `labels` in a scrape of /metrics. */
static long long requests_counted(const char *labels)
{
    struct ht_resp r;
    ck_assert_int_eq(ht_get(S.port, "/metrics", NULL, &r), 200);
    long long sum = 0;
    for (char *line = strtok(r.body, "\n"); line; line = strtok(NULL, "\n")) {
        const char *value = strrchr(line, ' ');
        if (strncmp(line, "ezapi_http_requests_total{", 26) == 0 && strstr(line, labels) &&
            value)
            sum += atoll(value + 1);
    }
    ht_resp_free(&r);
    return sum;
}

START_TEST(dummy_row_is_served_documented_and_counted)
{
    setenv("EZAPI_BIN", EZ_DUMMY_BIN, 1);
    ht_server_start(&S, NULL);
    struct ht_resp r;
    ck_assert_int_eq(ht_get(S.port, "/test/dummy/7", ht_auth(&S, "admin"), &r), 200);
    json_t *j = ht_resp_json(&r);
    ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "ok");
    json_decref(j);
    ht_resp_free(&r);
    ck_assert_int_eq(ht_get(S.port, "/test/dummy/7", NULL, &r), 401);
    ht_resp_free(&r);
    ck_assert_int_eq(ht_get(S.port, "/test/dummy/x", ht_auth(&S, "admin"), &r), 400);
    ht_resp_free(&r);
    ck_assert_int_eq(ht_http(S.port, "PUT", "/test/dummy/7", ht_auth(&S, "admin"), "{}", 2, &r), 405);
    ck_assert_str_eq(ht_resp_header(&r, "Allow"), "GET");
    ht_resp_free(&r);

    ck_assert_int_eq(ht_get(S.port, "/openapi.json", NULL, &r), 200);
    j = ht_resp_json(&r);
    json_t *op = json_object_get(json_object_get(json_object_get(j, "paths"), DUMMY), "get");
    ck_assert_msg(op != NULL, "GET " DUMMY " is not in the served /openapi.json");
    ck_assert_str_eq(json_string_value(json_object_get(op, "summary")),
                     "A route that only the test build has");
    json_decref(j);
    ht_resp_free(&r);

    HT_EVENTUALLY(requests_counted("route=\"" DUMMY "\",method=\"GET\",code=\"200\"") == 1, 10000,
                 "GET " DUMMY " is not counted in /metrics");
    ht_assert_clean_stop(&S);
}
END_TEST

START_TEST(ordinary_build_has_no_dummy_route)
{
    ht_server_start(&S, NULL);
    struct ht_resp r;
    ck_assert_int_eq(ht_get(S.port, "/test/dummy/7", ht_auth(&S, "admin"), &r), 404);
    json_t *j = ht_resp_json(&r);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
                     "route_not_found");
    json_decref(j);
    ht_resp_free(&r);
    ck_assert_int_eq(ht_get(S.port, "/openapi.json", NULL, &r), 200);
    j = ht_resp_json(&r);
    ck_assert(json_object_get(json_object_get(j, "paths"), "/health") != NULL);
    ck_assert(json_object_get(json_object_get(j, "paths"), DUMMY) == NULL);
    json_decref(j);
    ht_resp_free(&r);
    ht_assert_clean_stop(&S);
}
END_TEST

static Suite *route_table_suite(void)
{
    Suite *s = suite_create("route_table");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, dummy_row_is_dispatched);
    tcase_add_test(tc, dummy_row_is_documented);
    suite_add_tcase(s, tc);

    tc = ht_tcase("server");
    tcase_add_test(tc, dummy_row_is_served_documented_and_counted);
    tcase_add_test(tc, ordinary_build_has_no_dummy_route);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ht_run_suite(route_table_suite());
}
