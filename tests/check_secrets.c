/* Unit tests of common/secrets.c: sealing and opening upstream api keys
 * with AES-256-GCM, refusing a wrong key or a tampered value, the clear
 * passthrough without secrets_key, and the masked form. */
#include "common/config.h"
#include "common/secrets.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static struct ez_config with_key(unsigned char fill)
{
    struct ez_config c;
    memset(&c, 0, sizeof c);
    memset(c.secrets_key_raw, fill, sizeof c.secrets_key_raw);
    c.secrets_key_raw[0] = 0x5a;
    c.has_secrets_key = 1;
    return c;
}

static struct ez_config without_key(void)
{
    struct ez_config c;
    memset(&c, 0, sizeof c);
    return c;
}

START_TEST(seal_open_round_trip)
{
    struct ez_config c = with_key(7);
    const char *clear = "sk-proj-0123456789abcdefghijklmnopqrstuvwxyz";
    char *sealed = ez_secret_seal(&c, clear);
    ck_assert_ptr_nonnull(sealed);
    ck_assert_str_eq(strncmp(sealed, "enc:v1:", 7) == 0 ? "prefix" : sealed, "prefix");
    ck_assert_ptr_null(strstr(sealed, clear));
    ck_assert_ptr_null(strstr(sealed, "0123456789abcdef"));
    /* nonce (12) + ciphertext + tag (16), in padded base64 */
    size_t raw = 12 + strlen(clear) + 16;
    ck_assert_uint_eq(strlen(sealed), 7 + 4 * ((raw + 2) / 3));
    char *opened = ez_secret_open(&c, sealed);
    ck_assert_ptr_nonnull(opened);
    ck_assert_str_eq(opened, clear);
    free(opened);
    free(sealed);
}
END_TEST

START_TEST(seal_uses_fresh_nonce)
{
    struct ez_config c = with_key(7);
    char *a = ez_secret_seal(&c, "sk-same-key-twice-123456");
    char *b = ez_secret_seal(&c, "sk-same-key-twice-123456");
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_str_ne(a, b);
    free(a);
    free(b);
}
END_TEST

START_TEST(round_trip_of_odd_lengths_and_utf8)
{
    struct ez_config c = with_key(9);
    const char *values[] = { "x", "ab", "abc", "abcd", "clé-ünïcödé-🔑-secret",
                             "{\n  \"type\": \"service_account\"\n}" };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char *s = ez_secret_seal(&c, values[i]);
        ck_assert_ptr_nonnull(s);
        char *o = ez_secret_open(&c, s);
        ck_assert_msg(o && strcmp(o, values[i]) == 0, "value %zu did not round-trip", i);
        free(o);
        free(s);
    }
}
END_TEST

START_TEST(wrong_key_fails)
{
    struct ez_config a = with_key(1), b = with_key(2);
    char *sealed = ez_secret_seal(&a, "sk-ant-api03-secretsecretsecret");
    ck_assert_ptr_nonnull(sealed);
    ck_assert_ptr_null(ez_secret_open(&b, sealed));
    struct ez_config none = without_key();
    ck_assert_ptr_null(ez_secret_open(&none, sealed));
    free(sealed);
}
END_TEST

START_TEST(tampered_value_fails)
{
    struct ez_config c = with_key(3);
    char *sealed = ez_secret_seal(&c, "sk-tamper-me-please-0000");
    ck_assert_ptr_nonnull(sealed);
    size_t len = strlen(sealed);
    /* Flip one base64 character in the nonce, the ciphertext and the tag. */
    size_t spots[] = { 8, 7 + 20, len - 4 };
    for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++) {
        char *t = strdup(sealed);
        t[spots[i]] = t[spots[i]] == 'A' ? 'B' : 'A';
        ck_assert_msg(ez_secret_open(&c, t) == NULL, "tampered byte %zu was accepted",
                      spots[i]);
        free(t);
    }
    /* Truncated, not base64, empty, too short to hold a tag. */
    char *t = strndup(sealed, len - 4);
    ck_assert_ptr_null(ez_secret_open(&c, t));
    free(t);
    ck_assert_ptr_null(ez_secret_open(&c, "enc:v1:!!!!"));
    ck_assert_ptr_null(ez_secret_open(&c, "enc:v1:"));
    ck_assert_ptr_null(ez_secret_open(&c, "enc:v1:AAAA"));
    free(sealed);
}
END_TEST

START_TEST(passthrough_without_key)
{
    struct ez_config c = without_key();
    char *sealed = ez_secret_seal(&c, "sk-clear-at-rest-12345");
    ck_assert_str_eq(sealed, "sk-clear-at-rest-12345");
    char *opened = ez_secret_open(&c, sealed);
    ck_assert_str_eq(opened, "sk-clear-at-rest-12345");
    free(opened);
    free(sealed);
    /* A value stored in clear before secrets_key was set still opens. */
    struct ez_config k = with_key(4);
    opened = ez_secret_open(&k, "sk-legacy-clear-value");
    ck_assert_str_eq(opened, "sk-legacy-clear-value");
    free(opened);
    ck_assert_ptr_null(ez_secret_seal(&c, NULL));
    ck_assert_ptr_null(ez_secret_open(&c, NULL));
}
END_TEST

START_TEST(masking)
{
    char m[32];
    ez_secret_mask("sk-1234567890abcd9xyz", m);
    ck_assert_str_eq(m, "sk-1...9xyz");
    ez_secret_mask("abcdefghijkl", m); /* 12: the shortest shown */
    ck_assert_str_eq(m, "abcd...ijkl");
    ez_secret_mask("abcdefghijk", m); /* 11 */
    ck_assert_str_eq(m, "****");
    ez_secret_mask("", m);
    ck_assert_str_eq(m, "****");
    ez_secret_mask(NULL, m);
    ck_assert_str_eq(m, "****");
    /* Bytes that are not printable ASCII never appear (no split UTF-8). */
    ez_secret_mask("\xc3\xa9" "bcdefghijklmn\xc3\xa9", m);
    ck_assert_str_eq(m, "**bc...mn**");
    /* A long key shows 8 of its characters, never more. */
    char big[4097];
    memset(big, 'k', sizeof big - 1);
    big[4096] = 0;
    ez_secret_mask(big, m);
    ck_assert_str_eq(m, "kkkk...kkkk");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("secrets");
    TCase *tc = tcase_create("secrets");
    tcase_add_test(tc, seal_open_round_trip);
    tcase_add_test(tc, seal_uses_fresh_nonce);
    tcase_add_test(tc, round_trip_of_odd_lengths_and_utf8);
    tcase_add_test(tc, wrong_key_fails);
    tcase_add_test(tc, tampered_value_fails);
    tcase_add_test(tc, passthrough_without_key);
    tcase_add_test(tc, masking);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
