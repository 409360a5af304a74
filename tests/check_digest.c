/* Unit tests of common/digest.c: the SHA-256 contract with the data plane
 * (lowercase hex of the exact bytes), the shape and randomness of tokens,
 * display prefixes, base64url and the constant-time comparison. */
#include <check.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/digest.h"

START_TEST(sha256_known_values)
{
    char hex[EZ_DIGEST_HEX_LEN + 1];
    ck_assert_int_eq(ez_sha256_hex("abc", 3, hex), 0);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ck_assert_int_eq(ez_sha256_hex("sk-123", 6, hex), 0);
    ck_assert_str_eq(hex, "acb42a4fa3d3621a7eeccc0cc79a3727e1c37572145ac3d1e7f773dde84de728");
    ck_assert_int_eq(ez_sha256_hex("", 0, hex), 0);
    ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    /* exact bytes: no trimming */
    ck_assert_int_eq(ez_sha256_hex("sk-123 ", 7, hex), 0);
    ck_assert_str_ne(hex, "acb42a4fa3d3621a7eeccc0cc79a3727e1c37572145ac3d1e7f773dde84de728");
    ck_assert(ez_digest_valid(hex));
}
END_TEST

static void assert_token_shape(const char *tok, const char *prefix)
{
    size_t pl = strlen(prefix);
    ck_assert_msg(strncmp(tok, prefix, pl) == 0, "%s lacks prefix %s", tok, prefix);
    /* 32 random bytes = 43 unpadded base64url characters */
    ck_assert_uint_eq(strlen(tok), pl + 43);
    for (const char *p = tok + pl; *p; p++)
        ck_assert_msg(isalnum((unsigned char)*p) || *p == '-' || *p == '_',
                      "character %c is not base64url", *p);
}

START_TEST(tokens_have_prefix_and_length)
{
    char a[EZ_TOKEN_MAX], b[EZ_TOKEN_MAX];
    ck_assert_int_eq(ez_token_new(EZ_MASTER_KEY_PREFIX, a, sizeof a), 0);
    assert_token_shape(a, "ezm_");
    ck_assert_int_eq(ez_token_new(EZ_CHILD_KEY_PREFIX, b, sizeof b), 0);
    assert_token_shape(b, "sk-ez-");
}
END_TEST

START_TEST(tokens_differ)
{
    char seen[64][EZ_TOKEN_MAX];
    for (int i = 0; i < 64; i++) {
        ck_assert_int_eq(ez_token_new(EZ_CHILD_KEY_PREFIX, seen[i], sizeof seen[i]), 0);
        for (int j = 0; j < i; j++)
            ck_assert_str_ne(seen[i], seen[j]);
    }
}
END_TEST

START_TEST(token_buffer_too_small)
{
    char small[20] = "x";
    ck_assert_int_eq(ez_token_new(EZ_CHILD_KEY_PREFIX, small, sizeof small), -1);
    ck_assert_str_eq(small, "");
}
END_TEST

START_TEST(display_prefix)
{
    char tok[EZ_TOKEN_MAX], shown[EZ_TOKEN_DISPLAY_LEN + 1];
    ck_assert_int_eq(ez_token_new(EZ_CHILD_KEY_PREFIX, tok, sizeof tok), 0);
    ez_token_display(tok, shown);
    ck_assert_uint_eq(strlen(shown), 12);
    ck_assert(strncmp(tok, shown, 12) == 0);
    /* a short legacy key never shows more than a third of itself */
    ez_token_display("abcdefghi", shown);
    ck_assert_str_eq(shown, "abc");
    ez_token_display("", shown);
    ck_assert_str_eq(shown, "");
}
END_TEST

START_TEST(b64url_round_trip)
{
    unsigned char in[40], out[40];
    char text[64];
    for (int n = 0; n <= 40; n++) {
        for (int i = 0; i < n; i++)
            in[i] = (unsigned char)(i * 37 + n);
        ck_assert_int_eq(ez_b64url_encode(in, (size_t)n, text, sizeof text), 0);
        ck_assert(strchr(text, '=') == NULL && strchr(text, '+') == NULL &&
                  strchr(text, '/') == NULL);
        ck_assert_int_eq(ez_b64url_decode(text, strlen(text), out), n);
        ck_assert(memcmp(in, out, (size_t)n) == 0);
    }
    ck_assert_int_eq(ez_b64url_encode((const unsigned char *)"\xfb\xff", 2, text, sizeof text), 0);
    ck_assert_str_eq(text, "-_8");
    ck_assert_int_eq(ez_b64url_decode("a+b/", 4, out), -1);
    ck_assert_int_eq(ez_b64url_decode("abcde", 5, out), -1);
    ck_assert_int_eq(ez_b64url_encode(in, 3, text, 4), -1);
}
END_TEST

START_TEST(secret_equal)
{
    ck_assert(ez_secret_equal("abc", "abc"));
    ck_assert(!ez_secret_equal("abc", "abd"));
    ck_assert(!ez_secret_equal("abc", "abcd"));
    ck_assert(!ez_secret_equal("", "a"));
    ck_assert(ez_secret_equal("", ""));
    /* eight bytes a step, then the tail: a difference anywhere counts */
    const char *a = "0123456789abcdefghijklmnopqrstuvwxyz";
    for (size_t n = 0; n <= strlen(a); n++) {
        ck_assert(ez_bytes_equal(a, a, n));
        for (size_t at = 0; at < n; at++) {
            char b[64];
            memcpy(b, a, n);
            b[at] ^= 0x20;
            ck_assert_msg(!ez_bytes_equal(a, b, n), "length %zu, byte %zu", n, at);
        }
    }
}
END_TEST

START_TEST(digest_valid)
{
    ck_assert(ez_digest_valid("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    ck_assert(!ez_digest_valid("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
    ck_assert(!ez_digest_valid("ba7816bf"));
    ck_assert(!ez_digest_valid("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad0"));
    ck_assert(!ez_digest_valid("*a7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("digest");
    TCase *tc = tcase_create("digest");
    tcase_add_test(tc, sha256_known_values);
    tcase_add_test(tc, tokens_have_prefix_and_length);
    tcase_add_test(tc, tokens_differ);
    tcase_add_test(tc, token_buffer_too_small);
    tcase_add_test(tc, display_prefix);
    tcase_add_test(tc, b64url_round_trip);
    tcase_add_test(tc, secret_equal);
    tcase_add_test(tc, digest_valid);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
