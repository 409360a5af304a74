/* libFuzzer target: binding selectors with the data plane's rules
 * (common/selector.c), the Go-RE2 front-end on PCRE2 with its bounded
 * matcher (common/goregex.c) and Go's string rules (common/gostr.c).
 * Byte 0 picks the selector type; then NUL-separated: the value, the
 * public model, and the models of the group.
 *
 * What must hold: the answer is the same when asked twice (work is bounded
 * in steps, not time); a hit is a model of the list and, trimmed, the
 * exact value, or the only match; the API's check refuses exactly the
 * regexes that fail to prepare as invalid; UTF-8 decoding and encoding
 * agree with each other and with the validity check, and lower-casing
 * gives valid UTF-8. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/goregex.h"
#include "common/gostr.h"
#include "common/selector.h"
#include "fuzz/fuzz.h"

#define MAX_MODELS 16

#ifndef EZ_FUZZ_SEED_MAIN

static const char *const types[] = { "exact", "regex", "normalize_exact", "", "Regex" };
#define NTYPES (sizeof types / sizeof types[0])

static void check_utf8(const char *s, size_t n)
{
    int valid = 1;
    for (size_t i = 0; i < n;) {
        uint32_t r;
        size_t l = ez_go_decode(s + i, n - i, &r);
        EZ_FUZZ_ASSERT(l >= 1 && l <= 4 && l <= n - i, "decode length %zu", l);
        if (r == EZ_GO_RUNE_ERROR && l == 1) {
            valid = 0;
        } else {
            char out[4];
            EZ_FUZZ_ASSERT(ez_go_encode(r, out) == l && memcmp(out, s + i, l) == 0,
                           "U+%04X does not encode back to its %zu bytes", (unsigned)r, l);
        }
        i += l;
    }
    EZ_FUZZ_ASSERT(valid == ez_go_valid_utf8(s, n), "validity disagrees with decoding");
    size_t off, len;
    ez_go_trim(s, n, &off, &len);
    EZ_FUZZ_ASSERT(off + len <= n, "trim out of bounds");
    size_t ll;
    char *low = ez_go_lower(s, n, &ll);
    if (low) {
        EZ_FUZZ_ASSERT(ez_go_valid_utf8(low, ll) && strlen(low) == ll, "lower-cased text");
        free(low);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *type = types[data[0] % NTYPES];
    char *parts[2 + MAX_MODELS];
    int given = ez_fuzz_split(data + 1, size - 1, parts, 2 + MAX_MODELS);
    const char *value = parts[0], *pm = parts[1];
    const char *const *models = (const char *const *)parts + 2;
    int n = given > 2 ? given - 2 : 0;

    struct ez_sel_hit hit, again;
    enum ez_sel_rc rc = ez_sel_resolve(type, value, pm, models, n, &hit);
    enum ez_sel_rc rc2 = ez_sel_resolve(type, value, pm, models, n, &again);
    EZ_FUZZ_ASSERT(rc == rc2 && hit.index == again.index, "two answers: %s, %s",
                   ez_sel_rc_name(rc), ez_sel_rc_name(rc2));
    if (rc == EZ_SEL_OK) {
        EZ_FUZZ_ASSERT(hit.index >= 0 && hit.index < n, "hit %d of %d", hit.index, n);
        const char *m = models[hit.index];
        EZ_FUZZ_ASSERT(hit.off + hit.len <= strlen(m) && hit.len > 0, "hit outside the model");
        if (strcmp(type, "exact") == 0 || !*type) {
            size_t off, len;
            ez_go_trim(value, strlen(value), &off, &len);
            const char *v = value + off;
            if (len == 0) {
                ez_go_trim(pm, strlen(pm), &off, &len);
                v = pm + off;
            }
            EZ_FUZZ_ASSERT(len == hit.len && memcmp(v, m + hit.off, len) == 0,
                           "exact hit is not the value");
        }
    } else {
        EZ_FUZZ_ASSERT(hit.index == -1, "a miss with a hit");
    }

    /* the API's rule agrees with preparation */
    struct ez_sel s;
    enum ez_sel_rc prep = ez_sel_prepare(&s, type, value, pm);
    ez_sel_release(&s);
    char why[160];
    int refused = ez_sel_check(type, value, pm, why, sizeof why) != 0;
    EZ_FUZZ_ASSERT(refused == (prep == EZ_SEL_INVALID && strcmp(type, "regex") == 0),
                   "check %d, prepare %s", refused, ez_sel_rc_name(prep));
    if (refused)
        EZ_FUZZ_ASSERT(why[0] && ez_go_valid_utf8(why, strlen(why)), "reason '%s'", why);

    /* the regex engine alone, on the raw value */
    struct ez_gore *re = NULL;
    char gwhy[128];
    enum ez_gore_status gs = ez_gore_compile(value, strlen(value), &re, gwhy, sizeof gwhy);
    EZ_FUZZ_ASSERT((gs == EZ_GORE_OK) == (re != NULL), "compile status %d", gs);
    for (int i = 0; re && i < n; i++) {
        int a = ez_gore_match(re, models[i], strlen(models[i]), 20000);
        int b = ez_gore_match(re, models[i], strlen(models[i]), 20000);
        EZ_FUZZ_ASSERT(a == b && a >= -2 && a <= 1, "match %d then %d", a, b);
    }
    ez_gore_free(re);

    check_utf8(value, strlen(value));
    for (int i = 0; i < n; i++)
        check_utf8(models[i], strlen(models[i]));
    ez_fuzz_parts_free(parts, 2 + MAX_MODELS);
    return 0;
}

#else

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    const char *d = argv[1];
    ez_fuzz_seed_parts(d, "exact", 0, " gpt-4o ", "gpt-4o", "gpt-4o-mini", "gpt-4o", NULL);
    ez_fuzz_seed_parts(d, "public", 3, "", "claude-3", "x", " claude-3\t", NULL);
    ez_fuzz_seed_parts(d, "regex", 1, "(?i)^GPT-4o(-\\d{4}-\\d\\d-\\d\\d)?$", "m",
                       "gpt-4o-2024-08-06", "o1", NULL);
    ez_fuzz_seed_parts(d, "regex-classes", 1,
                       "^[[:alpha:]\\pL]+\\b(?P<v>v[0-9]+|\\x{1F600})*\\z", "m", "modèle v2",
                       "ÄÖÜ", NULL);
    ez_fuzz_seed_parts(d, "regex-many", 1, "a|b", "m", "a", "b", NULL);
    ez_fuzz_seed_parts(d, "regex-refused", 1, "(?<name>x)\\1", "m", "xx", NULL);
    ez_fuzz_seed_parts(d, "regex-heavy", 1, "(a*)*b|(x+x+)+y", "m", "aaaaaaaaaaaaaaaaaaaaaaaa",
                       "xxxxxxxxxxxxxxxxxxxxxxxxxxxx", NULL);
    ez_fuzz_seed_parts(d, "normalize", 2, " Vendor/GPT-4O ", "m", "openai/gpt-4o", "ǅ/İx/", NULL);
    ez_fuzz_seed_parts(d, "unicode", 0, "\xce\xa3\xc3\x9f\xe2\x80\x85", "", "\xff\xfe",
                       "\xed\xa0\x80", "\xf4\x90\x80\x80", NULL);
    return 0;
}
#endif
