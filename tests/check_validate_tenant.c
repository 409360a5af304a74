/* The rules of masters and child keys (worker/validate_tenant.c) called
 * directly: every field rule of docs/tenants.md, bad input first, the
 * rules between rows the store applies once it has read them (422), the
 * time and address parsers, and the key list filter. Pure: no server. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/validate_unit.h"
#include "worker/validate_tenant.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Masters ---------------------------------------------------------- */

static struct vu_result master_of(const char *text, int create)
{
    json_t *b = vu_body(text);
    struct ez_master_in in = { 0 };
    struct ez_verr e;
    struct vu_result r = vu_result(ez_validate_master(b, create, &in, &e), &e);
    json_decref(b);
    return r;
}

START_TEST(master_refusals)
{
    const struct vu_case create[] = {
        { NULL, 400, NULL },
        { "{}", 400, "name" },
        { "{\"name\":\"\"}", 400, "name" },
        { "{\"name\":null}", 400, "name" },
        { "{\"name\":3}", 400, "name" },
        { "{\"name\":\"a\\u0000\"}", 400, "name" },
        { "{\"name\":\"a\\u0007\"}", 400, "name" },
        { vu_fmt("{\"name\":\"%s\"}", vu_repeat('n', 65)), 400, "name" },
        { "{\"name\":\"m\",\"epoch\":2}", 400, "epoch" },
        { "{\"name\":\"m\",\"group\":\"\"}", 400, "group" },
        { "{\"name\":\"m\",\"group\":\"-g\"}", 400, "group" },
        { "{\"name\":\"m\",\"group\":\"g h\"}", 400, "group" },
        { "{\"name\":\"m\",\"group\":null}", 400, "group" },
        { vu_fmt("{\"name\":\"m\",\"group\":\"%s\"}", vu_repeat('g', 65)), 400, "group" },
        { "{\"name\":\"m\",\"status\":\"revoked\"}", 400, "status" },
        { "{\"name\":\"m\",\"max_child_keys\":-1}", 400, "max_child_keys" },
        { "{\"name\":\"m\",\"max_child_keys\":1000001}", 400, "max_child_keys" },
        { "{\"name\":\"m\",\"max_child_keys\":\"5\"}", 400, "max_child_keys" },
        { "{\"name\":\"m\",\"global_qps\":-1}", 400, "global_qps" },
        { "{\"name\":\"m\",\"global_qps\":1000000001}", 400, "global_qps" },
        { "{\"name\":\"m\",\"global_qps\":1.5}", 400, "global_qps" },
        { "{\"name\":\"m\",\"namespaces\":null}", 400, "namespaces" },
        { "{\"name\":\"m\",\"namespaces\":\"a\"}", 400, "namespaces" },
        { "{\"name\":\"m\",\"namespaces\":[1]}", 400, "namespaces" },
        { "{\"name\":\"m\",\"namespaces\":[\"\"]}", 400, "namespaces" },
        { "{\"name\":\"m\",\"namespaces\":[\"Team\"]}", 400, "namespaces" },
        { "{\"name\":\"m\",\"namespaces\":[\"a\",\"b\",\"a\"]}", 400, "namespaces" },
        { "{\"name\":\"m\",\"default_namespace\":\"-a\"}", 400, "default_namespace" },
        { "{\"name\":\"m\",\"default_namespace\":7}", 400, "default_namespace" },
        { "{\"name\":\"m\",\"propagate\":\"all\"}", 400, "propagate" },
    };
    for (size_t i = 0; i < N(create); i++)
        vu_refused(master_of(create[i].body, 1), create[i].status, create[i].param,
                   create[i].body ? create[i].body : "no body");
    vu_refused(master_of("{\"name\":\"\"}", 0), 400, "name", "update to an empty name");
    vu_refused(master_of("{\"max_child_keys\":-1}", 0), 400, "max_child_keys", "update");
}
END_TEST

START_TEST(master_accepted)
{
    json_t *b = vu_body(vu_fmt("{\"name\":\"%s\",\"group\":\"Grp.1_x-y\",\"status\":\"suspended\","
                               "\"max_child_keys\":1000000,\"global_qps\":1000000000,"
                               "\"namespaces\":[\"a\",\"b-1\"],\"default_namespace\":\"b-1\"}",
                               vu_repeat('n', 64)));
    struct ez_master_in in = { 0 };
    struct ez_verr e;
    vu_accepted(vu_result(ez_validate_master(b, 1, &in, &e), &e), "every field at its limit");
    ck_assert_uint_eq(strlen(in.name), 64);
    ck_assert_str_eq(in.group, "Grp.1_x-y");
    ck_assert_str_eq(in.status, "suspended");
    ck_assert_int_eq(in.max_child_keys, 1000000);
    ck_assert_int_eq(in.has_max_child_keys, 1);
    ck_assert_int_eq(in.global_qps, 1000000000);
    ck_assert_uint_eq(json_array_size(in.namespaces), 2);
    ck_assert_str_eq(in.default_namespace, "b-1");
    json_decref(b);

    /* "" and null both clear the default */
    static const char *const clears[] = { "{\"default_namespace\":\"\"}",
                                          "{\"default_namespace\":null}" };
    for (size_t i = 0; i < N(clears); i++) {
        b = vu_body(clears[i]);
        in = (struct ez_master_in){ 0 };
        vu_accepted(vu_result(ez_validate_master(b, 0, &in, &e), &e), clears[i]);
        ck_assert_int_eq(in.clear_default_namespace, 1);
        ck_assert_ptr_null(in.default_namespace);
        json_decref(b);
    }
    vu_accepted(master_of("{\"name\":\"m\",\"max_child_keys\":0,\"global_qps\":0,"
                          "\"namespaces\":[]}", 1), "zero means unlimited; no namespace");
    vu_accepted(master_of(NULL, 0), "an empty update");
    /* a master's name is any text of 1 to 64 bytes, not a pattern */
    vu_accepted(master_of("{\"name\":\"Acme Corp. (EU)\"}", 1), "a name with blanks");
}
END_TEST

START_TEST(master_access)
{
    static const struct vu_case bad[] = {
        { "{\"propagate\":\"some\"}", 400, "propagate" },
        { "{\"propagate\":null}", 400, "propagate" },
        { "{\"namespaces\":[\"a\",\"a\"]}", 400, "namespaces" },
        { "{\"default_namespace\":\"A\"}", 400, "default_namespace" },
        { "{\"name\":\"m\"}", 400, "name" },
    };
    for (size_t i = 0; i < N(bad); i++) {
        json_t *b = vu_body(bad[i].body);
        struct ez_master_in in = { 0 };
        struct ez_verr e;
        vu_refused(vu_result(ez_validate_master_access(b, &in, &e), &e), bad[i].status,
                   bad[i].param, bad[i].body);
        json_decref(b);
    }
    static const char *const props[] = { "none", "restrict", "all" };
    for (size_t i = 0; i < N(props); i++) {
        json_t *b = vu_body(vu_fmt("{\"namespaces\":[\"a\"],\"propagate\":\"%s\"}", props[i]));
        struct ez_master_in in = { 0 };
        struct ez_verr e;
        vu_accepted(vu_result(ez_validate_master_access(b, &in, &e), &e), props[i]);
        ck_assert_str_eq(in.propagate, props[i]);
        json_decref(b);
    }
    struct ez_master_in in = { 0 };
    struct ez_verr e;
    vu_accepted(vu_result(ez_validate_master_access(NULL, &in, &e), &e), "no body");
    ck_assert_str_eq(in.propagate, "none");
}
END_TEST

/* ---- Child keys ------------------------------------------------------- */

static struct vu_result key_of(const char *text, enum ez_key_mode mode)
{
    json_t *b = vu_body(text);
    struct ez_child_key_in in = { 0 };
    struct ez_verr e;
    struct vu_result r = vu_result(ez_validate_key(b, mode, &in, &e), &e);
    json_decref(b);
    return r;
}

START_TEST(key_refusals)
{
    json_t *many = json_array(), *ips = json_array();
    for (int i = 0; i < 1001; i++)
        json_array_append_new(many, json_string(vu_fmt("m%d", i)));
    for (int i = 0; i < 257; i++)
        json_array_append_new(ips, json_string(vu_fmt("10.0.%d.%d", i / 256, i % 256)));
    char *many_text = json_dumps(many, JSON_COMPACT), *ips_text = json_dumps(ips, JSON_COMPACT);
    json_decref(many);
    json_decref(ips);
    const struct vu_case issue[] = {
        { "{\"status\":\"active\"}", 400, "status" }, /* not settable at issue */
        { "{\"scopes\":[]}", 400, "scopes" },
        { "{\"name\":null}", 400, "name" },
        { "{\"name\":\"k\\u0001\"}", 400, "name" },
        { vu_fmt("{\"name\":\"%s\"}", vu_repeat('n', 65)), 400, "name" },
        { "{\"namespaces\":null}", 400, "namespaces" },
        { "{\"namespaces\":[\"a\",\"a\"]}", 400, "namespaces" },
        { "{\"namespaces\":[\"a.b\"]}", 400, "namespaces" },
        { "{\"default_namespace\":\"A\"}", 400, "default_namespace" },
        { "{\"model_limits\":\"gpt-4o\"}", 400, "model_limits" },
        { "{\"model_limits\":[\"\"]}", 400, "model_limits" },
        { "{\"model_limits\":[\"a,b\"]}", 400, "model_limits" },
        { "{\"model_limits\":[\"a\",\"a\"]}", 400, "model_limits" },
        { "{\"model_limits\":[\"a\\u001f\"]}", 400, "model_limits" },
        { vu_fmt("{\"model_limits\":[\"%s\"]}", vu_repeat('m', 257)), 400, "model_limits" },
        { vu_fmt("{\"model_limits\":%s}", many_text), 400, "model_limits" },
        { "{\"allow_ips\":[\"10.0.0.0/33\"]}", 400, "allow_ips" },
        { "{\"allow_ips\":[\"::1/129\"]}", 400, "allow_ips" },
        { "{\"allow_ips\":[\"10.0.0.256\"]}", 400, "allow_ips" },
        { "{\"allow_ips\":[\"localhost\"]}", 400, "allow_ips" },
        { "{\"allow_ips\":[\"10.0.0.0/08\"]}", 400, "allow_ips" },
        { "{\"allow_ips\":[\"10.0.0.0/\"]}", 400, "allow_ips" },
        { "{\"allow_ips\":[\"/8\"]}", 400, "allow_ips" },
        { "{\"allow_ips\":[\"10.0.0.1\",\"10.0.0.1\"]}", 400, "allow_ips" },
        { vu_fmt("{\"allow_ips\":%s}", ips_text), 400, "allow_ips" },
        { "{\"expires_at\":\"\"}", 400, "expires_at" },
        { "{\"expires_at\":\"2030-01-01\"}", 400, "expires_at" },
        { "{\"expires_at\":\"2030-02-29T00:00:00Z\"}", 400, "expires_at" },
        { "{\"expires_at\":\"2030-01-01T00:00:00+01\"}", 400, "expires_at" },
        { "{\"expires_at\":\"2030-01-01T00:00:00Zjunk\"}", 400, "expires_at" },
        { "{\"expires_at\":\"2001-01-01T00:00:00Z\"}", 400, "expires_at" }, /* the past */
        { "{\"expires_at\":1900000000}", 400, "expires_at" },
    };
    for (size_t i = 0; i < N(issue); i++)
        vu_refused(key_of(issue[i].body, EZ_KEY_ISSUE), issue[i].status, issue[i].param,
                   issue[i].body);
    free(many_text);
    free(ips_text);

    /* what each route may change */
    vu_refused(key_of("{\"namespaces\":[\"a\"]}", EZ_KEY_UPDATE_ADMIN), 400, "namespaces",
               "an admin changes access through /access");
    vu_refused(key_of("{\"default_namespace\":\"a\"}", EZ_KEY_UPDATE_ADMIN), 400,
               "default_namespace", "admin update");
    vu_refused(key_of("{\"name\":\"k\"}", EZ_KEY_ACCESS), 400, "name", "access takes no name");
    vu_refused(key_of("{\"status\":\"revoked\"}", EZ_KEY_UPDATE_OWNER), 400, "status",
               "revoking is DELETE");
    vu_refused(key_of("{\"status\":\"expired\"}", EZ_KEY_UPDATE_ADMIN), 400, "status",
               "expired is shown, not set");
}
END_TEST

START_TEST(key_accepted)
{
    json_t *b = vu_body("{\"name\":\"\",\"namespaces\":[\"a\",\"b\"],\"default_namespace\":\"b\","
                        "\"model_limits\":[\"gpt-4o\",\"claude x\"],"
                        "\"allow_ips\":[\"10.0.0.0/8\",\"::1\",\"2001:db8::/32\",\"1.2.3.4/0\","
                        "\"::ffff:10.0.0.1/128\"],"
                        "\"expires_at\":\"9999-12-31T23:59:59.999999999+14:00\"}");
    struct ez_child_key_in in = { 0 };
    struct ez_verr e;
    vu_accepted(vu_result(ez_validate_key(b, EZ_KEY_ISSUE, &in, &e), &e), "every field");
    ck_assert_str_eq(in.name, "");
    ck_assert_uint_eq(json_array_size(in.namespaces), 2);
    ck_assert_str_eq(in.default_namespace, "b");
    ck_assert_uint_eq(json_array_size(in.model_limits), 2);
    ck_assert_uint_eq(json_array_size(in.allow_ips), 5);
    json_decref(b);

    b = vu_body("{\"model_limits\":null,\"allow_ips\":[],\"expires_at\":null,"
                "\"status\":\"suspended\"}");
    in = (struct ez_child_key_in){ 0 };
    vu_accepted(vu_result(ez_validate_key(b, EZ_KEY_UPDATE_ADMIN, &in, &e), &e), "clearing");
    ck_assert_int_eq(in.clear_model_limits, 1);
    ck_assert_int_eq(in.clear_allow_ips, 0);
    ck_assert_uint_eq(json_array_size(in.allow_ips), 0);
    ck_assert_int_eq(in.clear_expires_at, 1);
    ck_assert_str_eq(in.status, "suspended");
    json_decref(b);

    vu_accepted(key_of("{\"status\":\"active\",\"namespaces\":[]}", EZ_KEY_UPDATE_OWNER),
                "owner update");
    vu_accepted(key_of("{\"namespaces\":[\"a\"],\"default_namespace\":null}", EZ_KEY_ACCESS),
                "access");
    vu_accepted(key_of(NULL, EZ_KEY_ISSUE), "no body: every default");
}
END_TEST

START_TEST(expires_at_bounds)
{
    /* year 10000 cannot be written; 9999-12-31 with a negative offset is past it */
    vu_refused(key_of("{\"expires_at\":\"9999-12-31T23:00:00-01:00\"}", EZ_KEY_ISSUE), 400,
               "expires_at", "10000-01-01T00:00:00Z");
    vu_accepted(key_of("{\"expires_at\":\"9999-12-31T22:59:59-01:00\"}", EZ_KEY_ISSUE),
                "one second before year 10000");
    vu_accepted(key_of("{\"expires_at\":\"2999-01-01t00:00:00z\"}", EZ_KEY_ISSUE),
                "lower-case t and z");
}
END_TEST

/* ---- Time, addresses, rules between rows ------------------------------ */

START_TEST(parse_time)
{
    static const struct {
        const char *s;
        long long want;
    } good[] = {
        { "1970-01-01T00:00:00Z", 0 },
        { "2030-01-02T03:04:05Z", 1893553445 },
        { "2030-01-02T05:04:05+02:00", 1893553445 },
        { "2030-01-02T02:34:05.999-00:30", 1893553445 },
        { "2024-02-29T00:00:00Z", 1709164800 },
    };
    for (size_t i = 0; i < N(good); i++) {
        long long t = -1;
        ck_assert_msg(ez_tenant_parse_time(good[i].s, &t) == 0, "%s refused", good[i].s);
        ck_assert_msg(t == good[i].want, "%s: %lld, expected %lld", good[i].s, t, good[i].want);
    }
    static const char *const bad[] = {
        "", "2030-01-02", "2030-01-02T03:04:05", "2030-01-02 03:04:05Z", "2030-1-02T03:04:05Z",
        "2030-13-02T03:04:05Z", "2030-00-02T03:04:05Z", "2030-04-31T03:04:05Z",
        "2023-02-29T03:04:05Z", "2030-01-02T24:04:05Z", "2030-01-02T03:60:05Z",
        "2030-01-02T03:04:60Z", "2030-01-02T03:04:05.Z", "2030-01-02T03:04:05+24:00",
        "2030-01-02T03:04:05+02:60", "2030-01-02T03:04:05+0200", "1969-12-31T23:59:59Z",
        "2030-01-02T03:04:05Z ", "2030-01-02T03:04:05.1234567890Z",
    };
    for (size_t i = 0; i < N(bad); i++) {
        long long t;
        ck_assert_msg(ez_tenant_parse_time(bad[i], &t) != 0, "%s accepted", bad[i]);
    }
}
END_TEST

START_TEST(cidr)
{
    static const char *const good[] = { "0.0.0.0/0", "10.0.0.0/8", "192.168.1.1", "1.2.3.4/32",
                                        "::", "::1", "::/0", "2001:db8::/32",
                                        "fe80::1/128", "::ffff:1.2.3.4" };
    static const char *const bad[] = { "", "/", "/8", "10.0.0.0/", "10.0.0.0/33",
                                       "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/08",
                                       "10.0.0.0/8/8", "10.0.0", "010.0.0.1", "10.0.0.0/1000",
                                       "::1/129", "2001:db8::g", "1.2.3.4 ", "host" };
    for (size_t i = 0; i < N(good); i++)
        ck_assert_msg(ez_tenant_cidr_valid(good[i]), "%s refused", good[i]);
    for (size_t i = 0; i < N(bad); i++)
        ck_assert_msg(!ez_tenant_cidr_valid(bad[i]), "%s accepted", bad[i]);
}
END_TEST

START_TEST(rules_between_rows)
{
    json_t *master = vu_body("[\"a\",\"b\",\"c\"]");
    json_t *ns = vu_body("[\"b\",\"c\"]");
    json_t *outside = vu_body("[\"b\",\"z\"]");
    json_t *none = json_array();
    struct ez_verr e;
    vu_accepted(vu_result(ez_tenant_rule_access(master, ns, "c", &e), &e), "a subset");
    vu_accepted(vu_result(ez_tenant_rule_access(master, ns, NULL, &e), &e), "no default");
    vu_accepted(vu_result(ez_tenant_rule_access(master, ns, "", &e), &e), "empty default");
    vu_accepted(vu_result(ez_tenant_rule_access(NULL, outside, "z", &e), &e),
                "no master list to fit");
    vu_accepted(vu_result(ez_tenant_rule_access(none, none, NULL, &e), &e),
                "a master with none, a key with none");
    struct vu_result r = vu_result(ez_tenant_rule_access(master, outside, "b", &e), &e);
    vu_refused(r, 422, "namespaces", "a namespace outside the master's");
    ck_assert_msg(strstr(r.msg, "'z'"), "the message names it: %s", r.msg);
    vu_refused(vu_result(ez_tenant_rule_access(master, ns, "a", &e), &e), 422,
               "default_namespace", "a default outside the key's namespaces");
    vu_refused(vu_result(ez_tenant_rule_access(none, ns, NULL, &e), &e), 422, "namespaces",
               "a master with no namespace");

    ck_assert_str_eq(ez_tenant_default_for(ns, "c"), "c");
    ck_assert_str_eq(ez_tenant_default_for(ns, "a"), "b");
    ck_assert_str_eq(ez_tenant_default_for(ns, NULL), "b");
    ck_assert_str_eq(ez_tenant_default_for(ns, ""), "b");
    ck_assert_ptr_null(ez_tenant_default_for(none, "a"));
    ck_assert_int_eq(ez_tenant_listed(master, "b"), 1);
    ck_assert_int_eq(ez_tenant_listed(master, "B"), 0);
    json_decref(master);
    json_decref(ns);
    json_decref(outside);
    json_decref(none);
}
END_TEST

START_TEST(rotate_empty_and_status_filter)
{
    static const struct vu_case rotate_bad[] = {
        { "{\"grace_seconds\":-1}", 400, "grace_seconds" },
        { "{\"grace_seconds\":86401}", 400, "grace_seconds" },
        { "{\"grace_seconds\":\"60\"}", 400, "grace_seconds" },
        { "{\"grace_seconds\":null}", 400, "grace_seconds" },
        { "{\"grace\":60}", 400, "grace" },
    };
    for (size_t i = 0; i < N(rotate_bad); i++) {
        json_t *b = vu_body(rotate_bad[i].body);
        long long g;
        struct ez_verr e;
        vu_refused(vu_result(ez_validate_rotate(b, &g, &e), &e), rotate_bad[i].status,
                   rotate_bad[i].param, rotate_bad[i].body);
        json_decref(b);
    }
    static const struct {
        const char *body;
        long long want;
    } rotate_ok[] = { { NULL, 0 }, { "{}", 0 }, { "{\"grace_seconds\":0}", 0 },
                      { "{\"grace_seconds\":86400}", 86400 } };
    for (size_t i = 0; i < N(rotate_ok); i++) {
        json_t *b = vu_body(rotate_ok[i].body);
        long long g = -1;
        struct ez_verr e;
        vu_accepted(vu_result(ez_validate_rotate(b, &g, &e), &e),
                    rotate_ok[i].body ? rotate_ok[i].body : "no body");
        ck_assert_int_eq(g, rotate_ok[i].want);
        json_decref(b);
    }

    struct ez_verr e;
    vu_accepted(vu_result(ez_validate_empty(NULL, &e), &e), "no body");
    json_t *b = vu_body("{}");
    vu_accepted(vu_result(ez_validate_empty(b, &e), &e), "{}");
    json_decref(b);
    b = vu_body("{\"force\":true}");
    vu_refused(vu_result(ez_validate_empty(b, &e), &e), 400, "force", "a field where none is");
    json_decref(b);

    static const char *const statuses[] = { "active", "suspended", "revoked", "expired" };
    for (size_t i = 0; i < N(statuses); i++)
        vu_accepted(vu_result(ez_validate_key_status_filter(statuses[i], &e), &e), statuses[i]);
    vu_accepted(vu_result(ez_validate_key_status_filter(NULL, &e), &e), "absent");
    struct vu_result r = vu_result(ez_validate_key_status_filter("Active", &e), &e);
    vu_refused(r, 400, "status", "Active");
    ck_assert_str_eq(r.code, "invalid_request");
    vu_refused(vu_result(ez_validate_key_status_filter("", &e), &e), 400, "status", "empty");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("validate_tenant");
    TCase *t = tcase_create("masters");
    tcase_add_test(t, master_refusals);
    tcase_add_test(t, master_accepted);
    tcase_add_test(t, master_access);
    suite_add_tcase(s, t);
    t = tcase_create("keys");
    tcase_add_test(t, key_refusals);
    tcase_add_test(t, key_accepted);
    tcase_add_test(t, expires_at_bounds);
    suite_add_tcase(s, t);
    t = tcase_create("rules");
    tcase_add_test(t, parse_time);
    tcase_add_test(t, cidr);
    tcase_add_test(t, rules_between_rows);
    tcase_add_test(t, rotate_empty_and_status_filter);
    suite_add_tcase(s, t);
    return vu_run(s);
}
