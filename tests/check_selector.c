/* Selectors resolved as the data plane's routing library resolves them:
 * its rules (trimming, first exact hit, exactly one regex or normalized
 * hit), Go's regexp syntax (what it refuses, what its escapes mean) and
 * the bound on the work of a pathological pattern. Pure: no servers. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "goregex.h"
#include "gostr.h"
#include "selector.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The model a selector picks (trimmed), or NULL; *rc gets the code. */
static char picked[512];
static const char *pick(const char *type, const char *value, const char *public_model,
                        const char *const *models, int n, enum ez_sel_rc *rc)
{
    struct ez_sel_hit hit;
    *rc = ez_sel_resolve(type, value, public_model, models, n, &hit);
    if (*rc != EZ_SEL_OK)
        return NULL;
    ck_assert_int_ge(hit.index, 0);
    ck_assert_int_lt(hit.index, n);
    ck_assert_uint_lt(hit.len, sizeof picked);
    memcpy(picked, models[hit.index] + hit.off, hit.len);
    picked[hit.len] = '\0';
    return picked;
}

/* 1 when Go's MatchString(pattern, s) is true, 0 when false; fails the
 * test when the pattern does not compile. */
static int matches(const char *pattern, const char *s)
{
    struct ez_gore *re;
    char why[160];
    ck_assert_msg(ez_gore_compile(pattern, strlen(pattern), &re, why, sizeof why) == EZ_GORE_OK,
                  "%s: %s", pattern, why);
    int m = ez_gore_match(re, s, strlen(s), 1000000);
    ez_gore_free(re);
    ck_assert_msg(m == 0 || m == 1, "%s over %s: %d", pattern, s, m);
    return m;
}

static int refused(const char *pattern)
{
    char why[160];
    return ez_sel_check("regex", pattern, NULL, why, sizeof why) != 0;
}

/* ---- The routing library's rules -------------------------------------- */

START_TEST(exact_first_equal_trimmed)
{
    const char *m[] = { "gpt-4o-mini", "  gpt-4o\t", "gpt-4o" };
    enum ez_sel_rc rc;
    ck_assert_str_eq(pick("exact", "gpt-4o", "x", m, 3, &rc), "gpt-4o");
    struct ez_sel_hit hit;
    ck_assert_int_eq(ez_sel_resolve("exact", "gpt-4o", "x", m, 3, &hit), EZ_SEL_OK);
    ck_assert_int_eq(hit.index, 1); /* the first, once trimmed */
    ck_assert_str_eq(pick("exact", " gpt-4o-mini ", "x", m, 3, &rc), "gpt-4o-mini");
    ck_assert_ptr_null(pick("exact", "GPT-4o", "x", m, 3, &rc));
    ck_assert_int_eq(rc, EZ_SEL_NONE);
    ck_assert_str_eq(pick("", "gpt-4o", "x", m, 3, &rc), "gpt-4o"); /* "" = exact */
    /* Unicode white space is trimmed too (Go's unicode.IsSpace) */
    const char *u[] = { "\xc2\xa0gpt-5\xe3\x80\x80" };
    ck_assert_str_eq(pick("exact", "gpt-5", "x", u, 1, &rc), "gpt-5");
}
END_TEST

START_TEST(empty_value_is_the_public_model)
{
    const char *m[] = { "a", "gpt-4o" };
    enum ez_sel_rc rc;
    ck_assert_str_eq(pick("exact", "", " gpt-4o ", m, 2, &rc), "gpt-4o");
    ck_assert_str_eq(pick("exact", " \t ", "gpt-4o", m, 2, &rc), "gpt-4o");
    ck_assert_str_eq(pick("exact", NULL, "gpt-4o", m, 2, &rc), "gpt-4o");
    ck_assert_ptr_null(pick("exact", "", "  ", m, 2, &rc));
    ck_assert_int_eq(rc, EZ_SEL_INVALID);
    ck_assert_ptr_null(pick("fuzzy", "a", "a", m, 2, &rc));
    ck_assert_int_eq(rc, EZ_SEL_INVALID);
}
END_TEST

START_TEST(regex_unique_hit)
{
    const char *m[] = { "gpt-d", "gpt-4", "claude-3", "  ", "" };
    enum ez_sel_rc rc;
    ck_assert_str_eq(pick("regex", "gpt-\\d", "x", m, 5, &rc), "gpt-4");
    ck_assert_str_eq(pick("regex", "aude", "x", m, 5, &rc), "claude-3"); /* unanchored */
    ck_assert_ptr_null(pick("regex", "gpt", "x", m, 5, &rc));
    ck_assert_int_eq(rc, EZ_SEL_MANY);
    ck_assert_ptr_null(pick("regex", "^gemini", "x", m, 5, &rc));
    ck_assert_int_eq(rc, EZ_SEL_NONE);
    /* blank names never match, not even .* */
    const char *one[] = { "   ", "x" };
    ck_assert_str_eq(pick("regex", ".*", "x", one, 2, &rc), "x");
    /* the same name twice is two hits */
    const char *dup[] = { "m", " m" };
    ck_assert_ptr_null(pick("regex", "^m$", "x", dup, 2, &rc));
    ck_assert_int_eq(rc, EZ_SEL_MANY);
    const char *q[] = { "Qwen2-72B", "llama" };
    ck_assert_str_eq(pick("regex", "(?i)^qwen", "x", q, 2, &rc), "Qwen2-72B");
}
END_TEST

START_TEST(normalize_exact_unicode)
{
    const char *m[] = { "vendor/Mod\xc3\xa8le-X", "vendor/ GPT-5", "other/gpt-4" };
    enum ez_sel_rc rc;
    ck_assert_str_eq(pick("normalize_exact", "MOD\xc3\x88LE-X", "x", m, 3, &rc),
                     "vendor/Mod\xc3\xa8le-X");
    ck_assert_str_eq(pick("normalize_exact", "gpt-5", "x", m, 3, &rc), "vendor/ GPT-5");
    ck_assert_str_eq(pick("normalize_exact", "x/y/GPT-4", "x", m, 3, &rc), "other/gpt-4");
    /* a trailing '/' keeps the whole name */
    const char *s[] = { "Vendor/", "vendor" };
    ck_assert_str_eq(pick("normalize_exact", "VENDOR/", "x", s, 2, &rc), "Vendor/");
    /* Go's simple lower-case mapping: U+0130 -> i, U+03A3 -> U+03C3 */
    const char *t[] = { "istanbul-\xcf\x83" };
    ck_assert_str_eq(pick("normalize_exact", "\xc4\xb0STANBUL-\xce\xa3", "x", t, 1, &rc),
                     "istanbul-\xcf\x83");
    const char *two[] = { "a/M", "b/m" };
    ck_assert_ptr_null(pick("normalize_exact", "m", "x", two, 2, &rc));
    ck_assert_int_eq(rc, EZ_SEL_MANY);
}
END_TEST

START_TEST(go_string_rules)
{
    size_t off, len, n;
    ez_go_trim(" \t\xc2\x85x y\xe2\x80\xaf ", 11, &off, &len);
    ck_assert_uint_eq(off, 4);
    ck_assert_uint_eq(len, 3);
    ez_go_trim("\xe2\x80\x8b", 3, &off, &len); /* U+200B is not white space */
    ck_assert_uint_eq(len, 3);
    char *low = ez_go_lower("A\xff\xc3\x89", 4, &n); /* an invalid byte is U+FFFD */
    ck_assert_str_eq(low, "a\xef\xbf\xbd\xc3\xa9");
    free(low);
    ck_assert_uint_eq(ez_go_to_lower(0x212A), 'k');
    ck_assert_uint_eq(ez_go_to_lower(0x1E9E), 0xDF);
    ck_assert_uint_eq(ez_go_to_lower(0x10400), 0x10428);
    ck_assert_uint_eq(ez_go_to_lower(0x01C5), 0x01C6);
    ck_assert_uint_eq(ez_go_to_lower(0x0101), 0x0101);
}
END_TEST

/* ---- Go's regexp syntax ----------------------------------------------- */

START_TEST(refuses_what_go_refuses)
{
    static const char *const no[] = {
        "^(a)\\1$", "^((a*)*b*)*\\1\\2c$", "(?=x)", "(?!x)", "(?<=x)", "(?<!x)", "(?>x)",
        "a++", "a*+", "a?+", "a**", "a{2}{3}", "a{2}*", "\\K", "\\G", "\\Z", "\\R", "\\X",
        "\\h", "\\H", "\\V", "\\N", "\\C", "\\e", "\\cA", "\\o{12}", "\\u0041", "\\k<n>",
        "\\g1", "\\1", "\\8", "(?R)", "(?1)", "(?&n)", "(?(1)a|b)", "(?C1)", "(?#c)", "(*FAIL)",
        "(?|a)", "(?x)a", "(?J)a", "(?P=n)", "(?P>n)", "(?'n'a)", "(?P<>a)", "(?P<a-b>x)",
        "\\p{Foo}", "\\p{greek}", "\\p{IsGreek}", "\\p{L&}", "\\p{Xan}", "\\p{Cn}", "\\p{LC}",
        "\\p{Zs ", "[z-a]", "[[:foo:]]", "[a-\\d]", "[\\b]", "x{1001}", "x{2,1001}", "x{3,2}",
        "(x{501}){2}", "((a{10}){10}){11}", "{2}", "*a", "a|*", "(*)", "(?i)*", "a(", "a)",
        "[a", "[]", "\\", "a\\", "(?i", "(?-)", "(?i-)", "(?--i)", "(?z)", "\\x{110000}",
        "\\x{}", "\\xZ1", "\\x1", "\xff", "a\xc3", "\\Q\xe9\\E", "\\p{\xff}", "[\xff]",
        "\\\xc3\xa9", "x{100000000}",
    };
    for (int i = 0; i < N(no); i++)
        ck_assert_msg(refused(no[i]), "Go refuses %s", no[i]);
    char why[160];
    ck_assert_int_ne(ez_sel_check("regex", "^(a)\\1$", NULL, why, sizeof why), 0);
    ck_assert_ptr_nonnull(strstr(why, "invalid escape sequence"));
    /* only regex values are patterns */
    ck_assert_int_eq(ez_sel_check("exact", "^(a)\\1$", NULL, why, sizeof why), 0);
    ck_assert_int_eq(ez_sel_check("normalize_exact", "a(", NULL, why, sizeof why), 0);
}
END_TEST

START_TEST(accepts_what_go_accepts)
{
    static const char *const yes[] = {
        "(?i)^qwen", "\\d\\D\\w\\W\\s\\S\\b\\B\\A\\z", "\\pL\\p{Greek}\\PN\\p{^Lu}\\P{^Han}",
        "\\p{Any}\\p{Kawi}\\p{Nag_Mundari}\\p{Zs}\\pC\\pZs", "[[:alpha:][:^digit:]-]", "[]a]", "[^]a]",
        "[a-]", "[-a]", "[\\d-z]", "[a-b-c]", "(?P<name>x)(?<other>y)", "(?U)a+", "(?s).",
        "(?m)^x$", "(?i-s:x)", "(?)", "(?:)", "()", "a|", "|", "x{1000}", "x{0,1000}",
        "(x{500}){2}", "((a{1000}){0}){2}", "((a{1000}){1}){1}", "\\Qa.b", "\\Qa\\E*", "\\012",
        "\\0", "\\x{10FFFF}", "\\x41", "\\v\\a\\f\\t\\n\\r", "\\_\\-\\.\\ \\#", "a{,2}", "a{",
        "a{02}", "x{2}?", "x*?", "^*", "$+", "\\b?", "a*(?i)*", "a*\\Q\\E*", "\\x{D800}",
        "[\\x{D7FF}-\\x{E000}]", "\\p{Common}\\p{Inherited}", "caf\xc3\xa9",
    };
    for (int i = 0; i < N(yes); i++)
        ck_assert_msg(!refused(yes[i]), "Go accepts %s", yes[i]);
}
END_TEST

START_TEST(go_meanings_not_pcre_ones)
{
    /* \v is a vertical tab, not PCRE2's vertical-space class */
    ck_assert_int_eq(matches("a\\vb", "a\vb"), 1);
    ck_assert_int_eq(matches("a\\vb", "a\nb"), 0);
    /* octal escapes, never back-references */
    ck_assert_int_eq(matches("x\\012", "x\n"), 1);
    ck_assert_int_eq(matches("a\\12", "a\n"), 1);
    ck_assert_int_eq(matches("\\0101", "A"), 0); /* three digits at most: \010 then 1 */
    ck_assert_int_eq(matches("^\\0101$", "\b1"), 1);
    /* $ is the end of the text; (?m) makes it the end of a line */
    ck_assert_int_eq(matches("gpt$", "gpt\n"), 0);
    ck_assert_int_eq(matches("(?m)gpt$", "gpt\nx"), 1);
    ck_assert_int_eq(matches("(?m)^x$", "gpt\nx"), 1);
    ck_assert_int_eq(matches("(?m)^$", "a\n"), 1); /* Go: a line starts after the last \n */
    ck_assert_int_eq(matches("^x", "a\nx"), 0);
    /* . stops at \n unless (?s) */
    ck_assert_int_eq(matches("a.b", "a\nb"), 0);
    ck_assert_int_eq(matches("(?s)a.b", "a\nb"), 1);
    /* \d \w \s \b are ASCII */
    ck_assert_int_eq(matches("^\\w+$", "caf\xc3\xa9"), 0);
    ck_assert_int_eq(matches("\\d", "\xd9\xa3"), 0); /* ARABIC-INDIC DIGIT THREE */
    ck_assert_int_eq(matches("\\s", "\xc2\xa0"), 0);
    ck_assert_int_eq(matches("\\s", "\v"), 0);       /* Perl \s has no \v in Go */
    ck_assert_int_eq(matches("[[:space:]]", "\v"), 1); /* POSIX [:space:] has */
    ck_assert_int_eq(matches("a\\b", "a\xc3\xa9"), 1);
    /* (?i) folds as Unicode does: Kelvin sign, long s */
    ck_assert_int_eq(matches("(?i)k", "\xe2\x84\xaa"), 1);
    ck_assert_int_eq(matches("(?i)\\w", "\xc5\xbf"), 1);
    ck_assert_int_eq(matches("(?i)[^\\W]", "\xe2\x84\xaa"), 1);
    ck_assert_int_eq(matches("(?i)\\W", "\xe2\x84\xaa"), 0);
    ck_assert_int_eq(matches("\\W", "\xe2\x84\xaa"), 1);
    ck_assert_int_eq(matches("(?i)\xc3\xa9", "\xc3\x89"), 1);
    ck_assert_int_eq(matches("(?i:a)b", "AB"), 0);
    ck_assert_int_eq(matches("(a(?i)b|c)", "C"), 1);
    /* scripts are Go's Script property, not PCRE2's Script_Extensions */
    ck_assert_int_eq(matches("^\\p{Greek}$", "\xcd\x82"), 0); /* U+0342 is Inherited */
    ck_assert_int_eq(matches("^\\p{Inherited}$", "\xcd\x82"), 1);
    ck_assert_int_eq(matches("\\p{Kawi}", "\xf0\x91\xbc\x84"), 1); /* Unicode 15 */
    /* Go's C has no unassigned code points */
    ck_assert_int_eq(matches("\\pC", "\xcd\xb8"), 0); /* U+0378 */
    ck_assert_int_eq(matches("\\PC", "\xcd\xb8"), 1);
    /* literal braces, \Q...\E, surrogates that never match */
    ck_assert_int_eq(matches("^a{,2}$", "a{,2}"), 1);
    ck_assert_int_eq(matches("^\\Qa.b", "a.b"), 1);
    ck_assert_int_eq(matches("^\\Qa.b", "axb"), 0);
    ck_assert_int_eq(matches("\\x{D800}|z", "\xed\xa0\x80"), 0);
    /* an invalid byte of a name reads as U+FFFD, as in Go */
    ck_assert_int_eq(matches("^.$", "\xff"), 1);
    ck_assert_int_eq(matches("^\\x{FFFD}\\x{FFFD}$", "\xc3\xff"), 1);
    ck_assert_int_eq(matches("^[^a]b$", "\xff" "b"), 1);
}
END_TEST

/* ---- Bounded work ------------------------------------------------------ */

/* Patterns PCRE2 would backtrack on for ever (Go runs them in linear
 * time): the answer is EZ_SEL_BOUND, the same every time, and comes after
 * at most EZ_SEL_STEPS steps per binding, whatever the number of models. */
START_TEST(pathological_patterns_are_bounded)
{
    static char names[1000][210];
    const char *m[1000];
    for (int i = 0; i < 1000; i++) {
        memset(names[i], 'a', 200);
        snprintf(names[i] + 200, 10, "b%u", (unsigned)i % 1000u);
        m[i] = names[i];
    }
    static const char *const slow[] = { "^(a+)+$", "^(a|a)*$", "^(a|aa)*$",
                                        "^(a+a+)+$" };
    for (int p = 0; p < N(slow); p++) {
        for (int n = 1; n <= 1000; n *= 10) {
            struct ez_sel_hit hit;
            enum ez_sel_rc rc = ez_sel_resolve("regex", slow[p], "x", m, n, &hit);
            ck_assert_msg(rc == EZ_SEL_BOUND, "%s over %d names: %s", slow[p], n,
                          ez_sel_rc_name(rc));
        }
    }
    /* the hostile binding of the report: refused, never run */
    struct ez_sel_hit hit;
    ck_assert_int_eq(ez_sel_resolve("regex", "^((a*)*b*)*\\1\\2c$", "x", m, 1000, &hit),
                     EZ_SEL_INVALID);
    /* an ordinary pattern over the same 1000 long names is not cut short */
    ck_assert_int_eq(ez_sel_resolve("regex", "^a{200}b999$", "x", m, 1000, &hit), EZ_SEL_OK);
    ck_assert_int_eq(hit.index, 999);
}
END_TEST

START_TEST(too_big_is_a_bound_not_a_refusal)
{
    /* Go accepts it; PCRE2 cannot hold 1000 copies of the group */
    const char *p = "(abcdefghijklmnopqrstuvwxyz\\pL\\p{Greek}[a-z]xyz){1000}";
    const char *m[] = { "abc" };
    struct ez_sel_hit hit;
    ck_assert(!refused(p));
    ck_assert_int_eq(ez_sel_resolve("regex", p, "x", m, 1, &hit), EZ_SEL_BOUND);
    char longer[EZ_GORE_MAX_PATTERN + 2];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    ck_assert_int_eq(ez_sel_resolve("regex", longer, "x", m, 1, &hit), EZ_SEL_BOUND);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("selector");
    TCase *t = tcase_create("rules");
    tcase_add_test(t, exact_first_equal_trimmed);
    tcase_add_test(t, empty_value_is_the_public_model);
    tcase_add_test(t, regex_unique_hit);
    tcase_add_test(t, normalize_exact_unicode);
    tcase_add_test(t, go_string_rules);
    suite_add_tcase(s, t);
    t = tcase_create("syntax");
    tcase_add_test(t, refuses_what_go_refuses);
    tcase_add_test(t, accepts_what_go_accepts);
    tcase_add_test(t, go_meanings_not_pcre_ones);
    suite_add_tcase(s, t);
    t = tcase_create("bounds");
    tcase_add_test(t, pathological_patterns_are_bounded);
    tcase_add_test(t, too_big_is_a_bound_not_a_refusal);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
