/* The shared field checks (worker/validate.c) and the small validators of
 * namespaces, route explain and the audit query, called directly: every
 * rule of docs/api.md, docs/catalog.md, docs/explain.md and
 * docs/operations.md ("Audit log") that they enforce, bad input first.
 * Pure: no server, no database. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "tests/validate_unit.h"
#include "worker/validate.h"
#include "worker/validate_audit.h"
#include "worker/validate_explain.h"
#include "worker/validate_namespace.h"

/* ---- ez_v_string ------------------------------------------------------ */

/* ez_v_string on field "f" of text; *out copied into got (when set). */
static struct vu_result string_of(const char *text, size_t maxlen, int nullable, int allow_empty,
                                  char *got, size_t gotlen, int *is_null)
{
    json_t *b = vu_body(text);
    const char *out = (const char *)1;
    struct ez_verr e;
    struct vu_result r = vu_result(ez_v_string(b, "f", maxlen, nullable, allow_empty, &out,
                                               is_null, &e), &e);
    if (got)
        snprintf(got, gotlen, "%s", out ? out : "(null)");
    json_decref(b);
    return r;
}

START_TEST(string_absent_null_and_types)
{
    char got[64];
    int is_null = -1;
    vu_accepted(string_of("{}", 10, 0, 0, got, sizeof got, &is_null), "absent");
    ck_assert_str_eq(got, "(null)");
    ck_assert_int_eq(is_null, 0);

    vu_refused(string_of("{\"f\":null}", 10, 0, 0, NULL, 0, NULL), 400, "f", "null, not nullable");
    vu_accepted(string_of("{\"f\":null}", 10, 1, 0, got, sizeof got, &is_null), "null, nullable");
    ck_assert_int_eq(is_null, 1);
    ck_assert_str_eq(got, "(null)");

    static const char *const not_strings[] = { "{\"f\":1}", "{\"f\":1.5}", "{\"f\":true}",
                                               "{\"f\":[\"a\"]}", "{\"f\":{\"a\":\"b\"}}" };
    for (size_t i = 0; i < sizeof not_strings / sizeof not_strings[0]; i++) {
        struct vu_result r = string_of(not_strings[i], 10, 1, 1, NULL, 0, &is_null);
        vu_refused(r, 400, "f", not_strings[i]);
        ck_assert_msg(strstr(r.msg, "must be a string"), "%s: %s", not_strings[i], r.msg);
    }
}
END_TEST

START_TEST(string_bounds_in_bytes)
{
    char got[64];
    vu_accepted(string_of(vu_fmt("{\"f\":\"%s\"}", vu_repeat('a', 10)), 10, 0, 0, got,
                          sizeof got, NULL), "exactly the limit");
    ck_assert_str_eq(got, "aaaaaaaaaa");
    vu_refused(string_of(vu_fmt("{\"f\":\"%s\"}", vu_repeat('a', 11)), 10, 0, 0, NULL, 0, NULL),
               400, "f", "one byte over");
    /* five two-byte characters are ten bytes: bytes count, not characters */
    vu_accepted(string_of("{\"f\":\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"}", 10, 0, 0, NULL, 0,
                          NULL), "ten bytes of UTF-8");
    vu_refused(string_of("{\"f\":\"a\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"}", 10, 0, 0, NULL, 0,
                         NULL), 400, "f", "eleven bytes of UTF-8");

    vu_refused(string_of("{\"f\":\"\"}", 10, 0, 0, NULL, 0, NULL), 400, "f", "empty, not allowed");
    vu_accepted(string_of("{\"f\":\"\"}", 10, 0, 1, got, sizeof got, NULL), "empty, allowed");
    ck_assert_str_eq(got, "");
}
END_TEST

START_TEST(string_refuses_nul_and_control_characters)
{
    vu_refused(string_of("{\"f\":\"a\\u0000b\"}", 10, 0, 0, NULL, 0, NULL), 400, "f", "NUL");
    static const char *const controls[] = { "\\u0001", "\\u0008", "\\r", "\\u001b", "\\u001f",
                                            "\\u007f" };
    for (size_t i = 0; i < sizeof controls / sizeof controls[0]; i++) {
        char text[64];
        snprintf(text, sizeof text, "{\"f\":\"a%sb\"}", controls[i]);
        vu_refused(string_of(text, 10, 0, 0, NULL, 0, NULL), 400, "f", controls[i]);
    }
    /* tab and newline are text (descriptions, feature values) */
    vu_accepted(string_of("{\"f\":\"a\\tb\\nc\"}", 10, 0, 0, NULL, 0, NULL), "tab, newline");
}
END_TEST

/* ---- ez_v_enum, ez_v_int, ez_v_bool, ez_v_known_fields ---------------- */

START_TEST(enum_takes_only_its_values)
{
    static const char *const values[] = { "active", "disabled", NULL };
    static const struct vu_case bad[] = {
        { "{\"s\":\"Active\"}", 400, "s" },   /* case matters */
        { "{\"s\":\" active\"}", 400, "s" },  /* no trimming */
        { "{\"s\":\"\"}", 400, "s" },
        { "{\"s\":null}", 400, "s" },
        { "{\"s\":1}", 400, "s" },
        { "{\"s\":\"deleted\"}", 400, "s" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *b = vu_body(bad[i].body);
        const char *out;
        struct ez_verr e;
        struct vu_result r = vu_result(ez_v_enum(b, "s", values, &out, &e), &e);
        vu_refused(r, bad[i].status, bad[i].param, bad[i].body);
        json_decref(b);
    }
    json_t *b = vu_body("{\"s\":\"deleted\"}");
    const char *out = NULL;
    struct ez_verr e;
    struct vu_result r = vu_result(ez_v_enum(b, "s", values, &out, &e), &e);
    ck_assert_msg(strstr(r.msg, "active, disabled"), "the message lists the values: %s", r.msg);
    json_decref(b);

    b = vu_body("{\"s\":\"disabled\"}");
    vu_accepted(vu_result(ez_v_enum(b, "s", values, &out, &e), &e), "disabled");
    ck_assert_str_eq(out, "disabled");
    json_decref(b);

    vu_accepted(vu_result(ez_v_query_enum("status", NULL, values, &e), &e), "absent query");
    vu_accepted(vu_result(ez_v_query_enum("status", "active", values, &e), &e), "query active");
    vu_refused(vu_result(ez_v_query_enum("status", "all", values, &e), &e), 400, "status",
               "query all");
}
END_TEST

START_TEST(int_bounds_and_types)
{
    static const struct {
        const char *body;
        int ok;
        long long want;
    } cases[] = {
        { "{\"n\":0}", 1, 0 },      { "{\"n\":1000}", 1, 1000 }, { "{\"n\":-1}", 0, 0 },
        { "{\"n\":1001}", 0, 0 },   { "{\"n\":1.0}", 0, 0 },     { "{\"n\":\"5\"}", 0, 0 },
        { "{\"n\":true}", 0, 0 },   { "{\"n\":null}", 0, 0 },    { "{\"n\":[1]}", 0, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *b = vu_body(cases[i].body);
        long long out = -99;
        int present = -1;
        struct ez_verr e;
        struct vu_result r = vu_result(ez_v_int(b, "n", 0, 1000, &out, &present, &e), &e);
        ck_assert_int_eq(present, 1);
        if (cases[i].ok) {
            vu_accepted(r, cases[i].body);
            ck_assert_int_eq(out, cases[i].want);
        } else {
            vu_refused(r, 400, "n", cases[i].body);
        }
        json_decref(b);
    }
    json_t *b = vu_body("{}");
    long long out = -99;
    int present = -1;
    struct ez_verr e;
    vu_accepted(vu_result(ez_v_int(b, "n", 0, 1000, &out, &present, &e), &e), "absent");
    ck_assert_int_eq(present, 0);
    ck_assert_int_eq(out, -99);
    json_decref(b);
}
END_TEST

START_TEST(bool_and_known_fields)
{
    static const char *const not_bools[] = { "{\"b\":1}", "{\"b\":\"true\"}", "{\"b\":null}" };
    for (size_t i = 0; i < sizeof not_bools / sizeof not_bools[0]; i++) {
        json_t *b = vu_body(not_bools[i]);
        int out, present;
        struct ez_verr e;
        vu_refused(vu_result(ez_v_bool(b, "b", &out, &present, &e), &e), 400, "b", not_bools[i]);
        json_decref(b);
    }
    json_t *b = vu_body("{\"b\":false}");
    int out = 7, present = 0;
    struct ez_verr e;
    vu_accepted(vu_result(ez_v_bool(b, "b", &out, &present, &e), &e), "false");
    ck_assert_int_eq(out, 0);
    ck_assert_int_eq(present, 1);
    json_decref(b);

    static const char *const allowed[] = { "name", "status", NULL };
    b = vu_body("{\"name\":\"x\",\"Status\":\"y\"}");
    struct vu_result r = vu_result(ez_v_known_fields(b, allowed, &e), &e);
    vu_refused(r, 400, "Status", "a field differing in case");
    ck_assert_msg(strstr(r.msg, "unknown field 'Status'"), "%s", r.msg);
    json_decref(b);
    b = vu_body("{\"name\":\"x\",\"status\":\"y\"}");
    vu_accepted(vu_result(ez_v_known_fields(b, allowed, &e), &e), "known fields");
    json_decref(b);
}
END_TEST

START_TEST(namespace_name_pattern)
{
    static const char *const good[] = { "a", "0", "team-a", "team_a", "a-", "0_9", NULL };
    static const char *const bad[] = { "", "-a", "_a", "Team", "a.b", "a b", "a/b", "\xc3\xa9",
                                       NULL };
    for (int i = 0; good[i]; i++)
        ck_assert_msg(ez_v_is_namespace_name(good[i]), "%s refused", good[i]);
    for (int i = 0; bad[i]; i++)
        ck_assert_msg(!ez_v_is_namespace_name(bad[i]), "%s accepted", bad[i]);
    ck_assert(ez_v_is_namespace_name(vu_repeat('a', EZ_MAX_NAME)));
    ck_assert(!ez_v_is_namespace_name(vu_repeat('a', EZ_MAX_NAME + 1)));
}
END_TEST

/* ---- Namespaces ------------------------------------------------------- */

static struct vu_result namespace_of(const char *text, int create, struct ez_namespace_in *in)
{
    json_t *b = vu_body(text);
    struct ez_namespace_in tmp;
    if (!in)
        in = &tmp;
    *in = (struct ez_namespace_in){ 0 };
    struct ez_verr e;
    struct vu_result r = vu_result(ez_validate_namespace(b, create, in, &e), &e);
    json_decref(b); /* in's pointers are not read after this */
    return r;
}

START_TEST(namespace_refusals)
{
    const char *long_name = vu_fmt("{\"name\":\"%s\"}", vu_repeat('a', 65));
    const char *long_desc = vu_fmt("{\"name\":\"a\",\"description\":\"%s\"}",
                                   vu_repeat('d', 1025));
    const struct vu_case create[] = {
        { NULL, 400, NULL },
        { "{}", 400, "name" },
        { "{\"name\":null}", 400, "name" },
        { "{\"name\":\"\"}", 400, "name" },
        { "{\"name\":7}", 400, "name" },
        { "{\"name\":\"Team\"}", 400, "name" },
        { "{\"name\":\"-a\"}", 400, "name" },
        { "{\"name\":\"a\\u0000\"}", 400, "name" },
        { long_name, 400, "name" },
        { "{\"name\":\"a\",\"colour\":\"red\"}", 400, "colour" },
        { "{\"name\":\"a\",\"status\":\"deleted\"}", 400, "status" },
        { "{\"name\":\"a\",\"status\":null}", 400, "status" },
        { "{\"name\":\"a\",\"description\":5}", 400, "description" },
        { "{\"name\":\"a\",\"description\":\"a\\u0001\"}", 400, "description" },
        { long_desc, 400, "description" },
    };
    for (size_t i = 0; i < sizeof create / sizeof create[0]; i++)
        vu_refused(namespace_of(create[i].body, 1, NULL), create[i].status, create[i].param,
                   create[i].body ? create[i].body : "no body");
    /* the name is fixed by the path: an update naming it is an unknown field */
    vu_refused(namespace_of("{\"name\":\"b\"}", 0, NULL), 400, "name", "rename");
}
END_TEST

START_TEST(namespace_accepted)
{
    json_t *b = vu_body("{\"name\":\"team-a\",\"description\":\"\",\"status\":\"suspended\"}");
    struct ez_namespace_in in = { 0 };
    struct ez_verr e;
    vu_accepted(vu_result(ez_validate_namespace(b, 1, &in, &e), &e), "full create");
    ck_assert_str_eq(in.name, "team-a");
    ck_assert_str_eq(in.description, "");
    ck_assert_str_eq(in.status, "suspended");
    json_decref(b);

    vu_accepted(namespace_of(vu_fmt("{\"name\":\"%s\",\"description\":\"%s\"}",
                                    vu_repeat('a', 64), vu_repeat('d', 1024)), 1, NULL),
                "name of 64 and description of 1024 bytes");

    b = vu_body("{\"description\":null}");
    in = (struct ez_namespace_in){ 0 };
    vu_accepted(vu_result(ez_validate_namespace(b, 0, &in, &e), &e), "clearing the description");
    ck_assert_int_eq(in.clear_description, 1);
    ck_assert_ptr_null(in.description);
    json_decref(b);

    in = (struct ez_namespace_in){ 0 };
    vu_accepted(vu_result(ez_validate_namespace(NULL, 0, &in, &e), &e), "an empty update");
    ck_assert_ptr_null(in.status);
}
END_TEST

/* ---- Route explain ---------------------------------------------------- */

static struct vu_result explain_of(const char *text, struct ez_explain_in *in)
{
    json_t *b = vu_body(text);
    struct ez_explain_in tmp;
    struct ez_verr e;
    struct vu_result r = vu_result(ez_validate_explain(b, in ? in : &tmp, &e), &e);
    json_decref(b);
    return r;
}

START_TEST(explain_refusals)
{
    const char *long_model = vu_fmt("{\"key_id\":1,\"model\":\"%s\"}", vu_repeat('m', 513));
    const char *long_token = vu_fmt("{\"token\":\"%s\",\"model\":\"m\"}", vu_repeat('t', 4097));
    const struct vu_case cases[] = {
        { NULL, 400, NULL },
        { "{}", 400, "key_id" },
        { "{\"model\":\"gpt-4o\"}", 400, "key_id" },
        { "{\"key_id\":7}", 400, "model" },
        { "{\"key_id\":7,\"model\":\"\"}", 400, "model" },
        { "{\"key_id\":7,\"model\":null}", 400, "model" },
        { "{\"key_id\":0,\"model\":\"m\"}", 400, "key_id" },
        { "{\"key_id\":-3,\"model\":\"m\"}", 400, "key_id" },
        { "{\"key_id\":\"7\",\"model\":\"m\"}", 400, "key_id" },
        { "{\"key_id\":7.5,\"model\":\"m\"}", 400, "key_id" },
        { "{\"token\":\"\",\"model\":\"m\"}", 400, "token" },
        { "{\"token\":5,\"model\":\"m\"}", 400, "token" },
        { "{\"key_id\":7,\"token\":\"sk\",\"model\":\"m\"}", 400, "token" },
        { "{\"key_id\":7,\"model\":\"m\",\"namespace\":\"a\"}", 400, "namespace" },
        { long_model, 400, "model" },
        { long_token, 400, "token" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        vu_refused(explain_of(cases[i].body, NULL), cases[i].status, cases[i].param,
                   cases[i].body ? cases[i].body : "no body");
}
END_TEST

START_TEST(explain_never_echoes_the_token)
{
    static const char *const bodies[] = {
        "{\"token\":\"sk-ez-SECRET\\u0001\",\"model\":\"m\"}",
        "{\"token\":\"sk-ez-SECRET\",\"key_id\":3,\"model\":\"m\"}",
        "{\"token\":\"sk-ez-SECRET\"}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        struct vu_result r = explain_of(bodies[i], NULL);
        ck_assert_int_eq(r.rc, -1);
        ck_assert_msg(!strstr(r.msg, "SECRET"), "the message shows the token: %s", r.msg);
    }
}
END_TEST

START_TEST(explain_accepted)
{
    json_t *b = vu_body("{\"key_id\":9223372036854775807,\"model\":\"team-b.gpt-4o\"}");
    struct ez_explain_in in;
    struct ez_verr e;
    vu_accepted(vu_result(ez_validate_explain(b, &in, &e), &e), "largest key id");
    ck_assert(in.key_id == INT64_MAX);
    ck_assert_ptr_null(in.token);
    ck_assert_str_eq(in.model, "team-b.gpt-4o");
    json_decref(b);

    b = vu_body("{\"token\":\"sk-ez-abc\",\"model\":\"gpt-4o\"}");
    vu_accepted(vu_result(ez_validate_explain(b, &in, &e), &e), "token");
    ck_assert(in.key_id == 0);
    ck_assert_str_eq(in.token, "sk-ez-abc");
    json_decref(b);
}
END_TEST

/* ---- The audit query -------------------------------------------------- */

/* ez_validate_audit_query over name, value pairs (NULL-terminated). */
static struct vu_result audit_of(struct ez_audit_query *q, const char *const *pairs)
{
    struct evkeyvalq query;
    TAILQ_INIT(&query);
    for (int i = 0; pairs[i]; i += 2)
        ck_assert_int_eq(evhttp_add_header(&query, pairs[i], pairs[i + 1]), 0);
    struct ez_audit_query tmp;
    if (!q)
        q = &tmp;
    struct ez_verr e;
    struct vu_result r = vu_result(ez_validate_audit_query(&query, q, &e), &e);
    evhttp_clear_headers(&query); /* callers read only q's arrays and limit */
    return r;
}

START_TEST(audit_query_refusals)
{
    static const char *const bad[][3] = {
        { "actor_type", "robot", "actor_type" },
        { "actor_type", "Admin", "actor_type" },
        { "since", "2026-01-02", "since" },
        { "since", "2026-01-02T03:04:05", "since" },
        { "since", "2026-01-02 03:04:05Z", "since" },
        { "since", "2026-01-02T03:04:05.Z", "since" },
        { "since", "2026-01-02T03:04:05+0100", "since" },
        { "until", "yesterday", "until" },
        /* the shape is right, the date or time is not: PostgreSQL would refuse it */
        { "since", "2026-13-01T00:00:00Z", "since" },
        { "since", "2026-00-10T00:00:00Z", "since" },
        { "since", "2026-04-31T00:00:00Z", "since" },
        { "since", "2026-02-29T00:00:00Z", "since" },
        { "since", "2026-01-00T00:00:00Z", "since" },
        { "until", "2026-01-01T24:00:00Z", "until" },
        { "until", "2026-01-01T23:60:00Z", "until" },
        { "until", "2026-01-01T23:59:61Z", "until" },
        { "until", "0000-01-01T00:00:00Z", "until" },
        { "until", "2026-01-01T00:00:00+24:00", "until" },
        { "until", "2026-01-01T00:00:00-01:60", "until" },
        { "limit", "0", "limit" },
        { "limit", "201", "limit" },
        { "limit", "-1", "limit" },
        { "limit", "050", "limit" },
        { "limit", "1e2", "limit" },
        { "cursor", "abc", "cursor" },
        { "cursor", "a_5", "cursor" },
        { "cursor", "a5_", "cursor" },
        { "cursor", "a05_5", "cursor" },
        { "cursor", "a5_-5", "cursor" },
        { "cursor", "b5_5", "cursor" },
        { "cursor", "a99999999999999999999_5", "cursor" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *pairs[] = { bad[i][0], bad[i][1], NULL };
        char what[96];
        snprintf(what, sizeof what, "%s=%s", bad[i][0], bad[i][1]);
        struct vu_result r = audit_of(NULL, pairs);
        vu_refused(r, 400, bad[i][2], what);
        ck_assert_str_eq(r.code, "invalid_request");
    }
    /* each filter is bounded */
    static const char *const filters[] = { "actor", "action", "resource", "resource_id",
                                           "request_id" };
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++) {
        const char *pairs[] = { filters[i], vu_repeat('x', 257), NULL };
        vu_refused(audit_of(NULL, pairs), 400, filters[i], filters[i]);
        const char *fits[] = { filters[i], vu_repeat('x', 256), NULL };
        vu_accepted(audit_of(NULL, fits), filters[i]);
    }
}
END_TEST

START_TEST(audit_query_accepted)
{
    struct ez_audit_query q;
    const char *none[] = { NULL };
    vu_accepted(audit_of(&q, none), "no parameter");
    ck_assert_int_eq(q.limit, EZ_AUDIT_DEFAULT_LIMIT);
    ck_assert_str_eq(q.before_time, "");
    ck_assert_str_eq(q.before_id, "");

    const char *all[] = { "actor_type", "master", "since", "2026-01-02T03:04:05Z",
                          "until", "2026-01-02T03:04:05.123456+02:00", "limit", "200",
                          "cursor", "a1764988800000000_42", NULL };
    vu_accepted(audit_of(&q, all), "every parameter");
    ck_assert_int_eq(q.limit, 200);
    ck_assert_str_eq(q.before_time, "1764988800000000");
    ck_assert_str_eq(q.before_id, "42");

    const char *edges[] = { "since", "2024-02-29T23:59:59.999999999-23:59", "until",
                            "2000-02-29T00:00:00+00:00", NULL };
    vu_accepted(audit_of(&q, edges), "leap days and the largest offsets");

    const char *empty_cursor[] = { "cursor", "", "limit", "1", NULL };
    vu_accepted(audit_of(&q, empty_cursor), "an empty cursor is the first page");
    ck_assert_str_eq(q.before_id, "");
    ck_assert_int_eq(q.limit, 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("validate");
    TCase *t = tcase_create("fields");
    tcase_add_test(t, string_absent_null_and_types);
    tcase_add_test(t, string_bounds_in_bytes);
    tcase_add_test(t, string_refuses_nul_and_control_characters);
    tcase_add_test(t, enum_takes_only_its_values);
    tcase_add_test(t, int_bounds_and_types);
    tcase_add_test(t, bool_and_known_fields);
    tcase_add_test(t, namespace_name_pattern);
    suite_add_tcase(s, t);
    t = tcase_create("namespace");
    tcase_add_test(t, namespace_refusals);
    tcase_add_test(t, namespace_accepted);
    suite_add_tcase(s, t);
    t = tcase_create("explain");
    tcase_add_test(t, explain_refusals);
    tcase_add_test(t, explain_never_echoes_the_token);
    tcase_add_test(t, explain_accepted);
    suite_add_tcase(s, t);
    t = tcase_create("audit");
    tcase_add_test(t, audit_query_refusals);
    tcase_add_test(t, audit_query_accepted);
    suite_add_tcase(s, t);
    return vu_run(s);
}
