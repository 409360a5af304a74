/* Unit tests of common/projection_auth.c: the auth:token and auth:master
 * hashes of docs/redis.md from rows, which secrets get a hash, and the grace TTL
 * (the rest of the grace rounded up, never above it). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/projection_auth.h"

#define S 1000000LL /* microseconds */

static json_t *list(const char *a, const char *b)
{
    json_t *l = json_array();
    if (a)
        json_array_append_new(l, json_string(a));
    if (b)
        json_array_append_new(l, json_string(b));
    return l;
}

START_TEST(token_fields_in_contract_order)
{
    json_t *ns = list("team-a", "team-b"), *ml = list("gpt-4o", NULL), *ips = list(NULL, NULL);
    struct ez_token_row t = { .digest = "ab", .key_id = 7, .master_id = 3, .issued_at_epoch = 2,
                             .status = "active", .group = "default", .scopes = NULL,
                             .default_namespace = NULL, .namespaces = ns, .model_limits = ml,
                             .allow_ips = ips, .expires_at = 1924992000 };
    json_t *f = ez_projection_token_fields(&t);
    ck_assert_ptr_nonnull(f);
    char *text = json_dumps(f, JSON_COMPACT | JSON_PRESERVE_ORDER);
    ck_assert_str_eq(text,
                     "{\"key_id\":\"7\",\"master_id\":\"3\",\"issued_at_epoch\":\"2\","
                     "\"status\":\"active\",\"group\":\"default\",\"scopes\":\"\","
                     "\"default_namespace\":\"\",\"namespaces\":\"team-a,team-b\","
                     "\"model_limits\":\"gpt-4o\",\"allow_ips\":\"\",\"expires_at\":\"1924992000\"}");
    free(text);
    json_decref(f);
    json_decref(ns);
    json_decref(ml);
    json_decref(ips);
}
END_TEST

START_TEST(master_fields)
{
    json_t *ns = list("a", NULL);
    struct ez_master_row m = { .id = 4, .epoch = 9, .status = "suspended", .group = "g",
                              .global_qps = 12, .default_namespace = "a", .namespaces = ns };
    json_t *f = ez_projection_master_fields(&m);
    char *text = json_dumps(f, JSON_COMPACT | JSON_PRESERVE_ORDER);
    ck_assert_str_eq(text, "{\"epoch\":\"9\",\"status\":\"suspended\",\"group\":\"g\","
                           "\"global_qps\":\"12\",\"default_namespace\":\"a\",\"namespaces\":\"a\"}");
    free(text);
    json_decref(f);
    json_decref(ns);
    char key[64];
    ck_assert_int_eq(ez_projection_master_key(4, key, sizeof key), 0);
    ck_assert_str_eq(key, "auth:master:4");
}
END_TEST

START_TEST(which_secrets_get_a_hash)
{
    int64_t now = 1800000000LL * S;
    struct ez_token_row t = { .digest = "ab", .status = "active" };
    ck_assert(ez_projection_token_usable(&t, now));
    t.status = "suspended"; /* refused by the data plane through its status */
    ck_assert(ez_projection_token_usable(&t, now));
    t.status = "revoked";
    ck_assert(!ez_projection_token_usable(&t, now));
    t.status = "active";
    t.valid_until_us = now + 1;
    ck_assert(ez_projection_token_usable(&t, now));
    t.valid_until_us = now;
    ck_assert(!ez_projection_token_usable(&t, now));
}
END_TEST

START_TEST(grace_ttl_rounds_up_and_never_exceeds_the_grace)
{
    int64_t now = 1800000000LL * S;
    struct ez_token_row t = { .digest = "ab", .status = "active" };
    ck_assert_int_eq(ez_projection_token_ttl(&t, now), 0); /* current secret: no TTL */
    t.valid_until_us = now + 2 * S;
    ck_assert_int_eq(ez_projection_token_ttl(&t, now), 2);
    t.valid_until_us = now + 2 * S - 1;
    ck_assert_int_eq(ez_projection_token_ttl(&t, now), 2);
    t.valid_until_us = now + 1;
    ck_assert_int_eq(ez_projection_token_ttl(&t, now), 1);
    t.valid_until_us = now + 86400 * S + 5 * S; /* a clock ahead: capped */
    ck_assert_int_eq(ez_projection_token_ttl(&t, now), 86400);
}
END_TEST

START_TEST(write_set_owns_and_produces)
{
    int64_t now = 1800000000LL * S;
    struct ez_write_set s;
    ez_write_set_init(&s);
    struct ez_token_row t = { .digest = "ab", .key_id = 1, .master_id = 2, .issued_at_epoch = 1,
                             .status = "active", .group = "g" };
    ck_assert_int_eq(ez_projection_token_add(&s, &t, now), 0);
    struct ez_token_row gone = t;
    gone.digest = "cd";
    gone.valid_until_us = now - 1;
    ck_assert_int_eq(ez_projection_token_add(&s, &gone, now), 0);
    ck_assert_int_eq(ez_projection_token_gone(&s, "ef"), 0);
    ck_assert_int_eq(ez_projection_master_add(&s, 2, NULL), 0);
    ez_write_set_finish(&s);
    ck_assert_uint_eq(s.nown, 4);
    ck_assert_uint_eq(s.nput, 11);
    ck_assert_str_eq(ez_write_set_get(&s, "auth:token:ab", "group"), "g");
    ck_assert_ptr_null(ez_write_set_get(&s, "auth:token:cd", "group"));
    ez_write_set_clear(&s);
}
END_TEST

/* The hash the syncer writes (ez_hash_fields, reused from row to row) holds
 * what the JSON form shows: every field, in order, nothing left over from
 * a longer row before it. */
START_TEST(hash_fields_reused_from_row_to_row)
{
    json_t *ns = list("team-a", "team-b"), *scopes = list("chat", "embed");
    json_t *ips = list("10.0.0.0/8", "::1"), *ml = list("gpt-4o", "o3");
    struct ez_token_row big = { .digest = "ab", .key_id = 9007199254740991LL, .master_id = 3,
                               .issued_at_epoch = 12, .status = "suspended", .group = "grp",
                               .scopes = scopes, .default_namespace = "team-b",
                               .namespaces = ns, .model_limits = ml, .allow_ips = ips,
                               .expires_at = 4102444800LL };
    struct ez_token_row small = { .digest = "cd", .key_id = 1, .master_id = 2,
                                 .issued_at_epoch = 1, .status = "active", .group = "g",
                                 .expires_at = -5 /* never: shown as 0 */ };
    struct ez_hash_fields h = { 0 };
    ck_assert_int_eq(ez_projection_token_hash(&big, &h), 0);
    ck_assert_int_eq(h.n, 11);
    ck_assert_str_eq(h.name[0], "key_id");
    ck_assert_str_eq(h.value[0], "9007199254740991");
    ck_assert_str_eq(h.name[5], "scopes");
    ck_assert_str_eq(h.value[5], "chat,embed");
    ck_assert_str_eq(h.value[9], "10.0.0.0/8,::1");
    ck_assert_str_eq(h.value[10], "4102444800");

    ck_assert_int_eq(ez_projection_token_hash(&small, &h), 0);
    static const char *const names[] = { "key_id", "master_id", "issued_at_epoch", "status",
                                         "group", "scopes", "default_namespace", "namespaces",
                                         "model_limits", "allow_ips", "expires_at" };
    static const char *const values[] = { "1", "2", "1", "active", "g", "", "", "", "", "", "0" };
    ck_assert_int_eq(h.n, 11);
    for (int i = 0; i < 11; i++) {
        ck_assert_str_eq(h.name[i], names[i]);
        ck_assert_msg(strcmp(h.value[i], values[i]) == 0, "%s = \"%s\", expected \"%s\"",
                      names[i], h.value[i], values[i]);
    }

    struct ez_master_row m = { .id = 4, .epoch = -1, .status = "active", .group = "default",
                              .global_qps = 0, .default_namespace = NULL, .namespaces = NULL };
    ck_assert_int_eq(ez_projection_master_hash(&m, &h), 0);
    ck_assert_int_eq(h.n, 6);
    ck_assert_str_eq(h.value[0], "-1");
    ck_assert_str_eq(h.value[3], "0");
    ck_assert_str_eq(h.value[4], "");
    ck_assert_str_eq(h.value[5], "");
    ez_hash_fields_free(&h);

    /* the JSON form agrees with the hash, field by field */
    json_t *f = ez_projection_token_fields(&big);
    ck_assert_int_eq(ez_projection_token_hash(&big, &h), 0);
    ck_assert_uint_eq(json_object_size(f), (size_t)h.n);
    for (int i = 0; i < h.n; i++)
        ck_assert_str_eq(json_string_value(json_object_get(f, h.name[i])), h.value[i]);
    ez_hash_fields_free(&h);
    json_decref(f);
    json_decref(ns);
    json_decref(scopes);
    json_decref(ips);
    json_decref(ml);
}
END_TEST

START_TEST(key_names_and_their_bounds)
{
    char key[80];
    const char *digest = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    ck_assert_int_eq(ez_projection_token_key(digest, key, sizeof key), 0);
    ck_assert_str_eq(key, "auth:token:"
                          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    ck_assert_int_eq(ez_projection_token_key(digest, key, 11 + 64 + 1), 0);
    ck_assert_int_eq(ez_projection_token_key(digest, key, 11 + 64), -1); /* no room for NUL */
    ck_assert_int_eq(ez_projection_master_key(9223372036854775807LL, key, sizeof key), 0);
    ck_assert_str_eq(key, "auth:master:9223372036854775807");
    ck_assert_int_eq(ez_projection_master_key(123, key, 15), -1);
    ck_assert_int_eq(ez_projection_master_key(123, key, 16), 0);
    ck_assert_str_eq(key, "auth:master:123");

    /* a usable secret's hash is owned whole and produced; a revoked one only owned */
    struct ez_write_set s;
    ez_write_set_init(&s);
    struct ez_token_row t = { .digest = digest, .key_id = 5, .master_id = 6,
                             .issued_at_epoch = 1, .status = "revoked", .group = "g" };
    ck_assert_int_eq(ez_projection_token_add(&s, &t, 0), 0);
    struct ez_master_row m = { .id = 6, .epoch = 1, .status = "active", .group = "g" };
    ck_assert_int_eq(ez_projection_master_add(&s, 6, &m), 0);
    ez_write_set_finish(&s);
    ck_assert_uint_eq(s.nown, 2);
    ck_assert_uint_eq(s.nput, 6);
    ck_assert_ptr_null(s.own[0].field);
    ck_assert_str_eq(ez_write_set_get(&s, "auth:master:6", "epoch"), "1");
    ck_assert_int_eq(ez_projection_token_key(digest, key, sizeof key), 0);
    ck_assert_str_eq(s.own[1].key, key);
    ck_assert_ptr_null(ez_write_set_get(&s, key, "status"));
    ez_write_set_clear(&s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("projection_auth");
    TCase *tc = tcase_create("projection_auth");
    tcase_add_test(tc, token_fields_in_contract_order);
    tcase_add_test(tc, master_fields);
    tcase_add_test(tc, which_secrets_get_a_hash);
    tcase_add_test(tc, grace_ttl_rounds_up_and_never_exceeds_the_grace);
    tcase_add_test(tc, write_set_owns_and_produces);
    tcase_add_test(tc, hash_fields_reused_from_row_to_row);
    tcase_add_test(tc, key_names_and_their_bounds);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
