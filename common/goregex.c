/* The Go regexp front-end for PCRE2. The parser follows the order of Go's
 * regexp/syntax parser token by token (so it refuses the same patterns) and
 * writes every element in a form whose PCRE2 meaning does not depend on
 * options or context: literals as \x{..}, Go's ASCII classes as explicit
 * ranges, ^ $ . as the assertions Go means. It never emits a construct a
 * Go pattern could not express (no back-reference, no recursion). */
#include "goregex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "gostr.h"

#define MAX_REPEAT 1000           /* Go's bound on a count and on nested counts */
#define MAX_DEPTH 500             /* open groups (Go allows a parse tree 1000 high) */
#define MAX_TRANSLATED (1u << 20) /* bytes of PCRE2 pattern */
#define PCRE2_NEST_LIMIT 1100     /* each Go group costs at most two PCRE2 groups */
#define MATCH_DEPTH_LIMIT 10000
#define MATCH_HEAP_KIB 4096

/* ---- Output --------------------------------------------------------- */

static void insert(struct ez_buf *b, size_t at, const char *s)
{
    size_t n = strlen(s), tail = b->len - at;
    ez_buf_put(b, s, n); /* grows the buffer; the bytes are moved below */
    if (b->failed)
        return;
    memmove(b->p + at + n, b->p + at, tail);
    memcpy(b->p + at, s, n);
}

static int is_alnum(uint32_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static void put_rune(struct ez_buf *b, uint32_t r)
{
    char tmp[16];
    if (is_alnum(r))
        tmp[0] = (char)r, tmp[1] = '\0';
    else
        snprintf(tmp, sizeof tmp, "\\x{%X}", (unsigned)r);
    ez_buf_puts(b, tmp);
}

/* A class range without the surrogates, which UTF-8 text never holds and
 * PCRE2 refuses to name. */
static void put_range(struct ez_buf *b, uint32_t lo, uint32_t hi)
{
    if (lo <= 0xDFFF && hi >= 0xD800) {
        if (lo < 0xD800)
            put_range(b, lo, 0xD7FF);
        if (hi > 0xDFFF)
            put_range(b, 0xE000, hi);
        return;
    }
    put_rune(b, lo);
    if (hi != lo) {
        ez_buf_puts(b, "-");
        put_rune(b, hi);
    }
}

/* ---- Sets of code points Go spells out ------------------------------ */

struct rset {
    uint32_t r[64]; /* lo, hi pairs, ascending and disjoint */
    int n;
};

static void rset_add(struct rset *s, uint32_t lo, uint32_t hi)
{
    if (s->n > 0 && s->r[2 * s->n - 1] + 1 >= lo) {
        if (hi > s->r[2 * s->n - 1])
            s->r[2 * s->n - 1] = hi;
        return;
    }
    s->r[2 * s->n] = lo;
    s->r[2 * s->n + 1] = hi;
    s->n++;
}

static void rset_complement(const struct rset *in, struct rset *out)
{
    uint32_t next = 0;
    out->n = 0;
    for (int i = 0; i < in->n; i++) {
        if (in->r[2 * i] > next)
            rset_add(out, next, in->r[2 * i] - 1);
        next = in->r[2 * i + 1] + 1;
    }
    if (next <= EZ_GO_MAX_RUNE)
        rset_add(out, next, EZ_GO_MAX_RUNE);
}

static void put_rset(struct ez_buf *b, const struct rset *s)
{
    for (int i = 0; i < s->n; i++)
        put_range(b, s->r[2 * i], s->r[2 * i + 1]);
}

/* ASCII under (?i), as Go folds it: the other case, and U+017F with s,
 * U+212A with k (the only non-ASCII runes folding onto ASCII). */
static void fold_ascii(unsigned char in[128], int *long_s, int *kelvin)
{
    for (int c = 'a'; c <= 'z'; c++)
        in[c] = in[c - 32] = in[c] | in[c - 32];
    *long_s |= in['s'];
    *kelvin |= in['k'];
}

static void put_ascii_set(struct ez_buf *b, const unsigned char in[128], int long_s, int kelvin,
                          int negate)
{
    struct rset s = { .n = 0 }, c;
    for (int i = 0; i < 128; i++)
        if (in[i])
            rset_add(&s, (uint32_t)i, (uint32_t)i);
    if (long_s)
        rset_add(&s, 0x17F, 0x17F);
    if (kelvin)
        rset_add(&s, 0x212A, 0x212A);
    if (negate)
        rset_complement(&s, &c);
    put_rset(b, negate ? &c : &s);
}

/* Go's ASCII classes: the Perl ones (\d \s \w) and the POSIX ones. */
struct group {
    const char *name;
    const char *ranges; /* lo,hi byte pairs */
};

static const struct group perl_groups[] = {
    { "d", "09" },
    { "s", "\t\n\f\f\r\r  " },
    { "w", "09AZ__az" },
};

static const struct group posix_groups[] = {
    { "alnum", "09AZaz" },   { "alpha", "AZaz" },      { "ascii", "\x01\x7f" },
    { "blank", "\t\t  " },   { "cntrl", "\x01\x1f\x7f\x7f" }, { "digit", "09" },
    { "graph", "!~" },       { "lower", "az" },        { "print", " ~" },
    { "punct", "!/:@[`{~" }, { "space", "\t\r  " },    { "upper", "AZ" },
    { "word", "09AZ__az" },  { "xdigit", "09AFaf" },
};

/* The group's code points; under (?i) closed under case folding as Go
 * folds them: the other ASCII case, plus U+017F with s and U+212A with k.
 * ("ascii" starts at NUL, which the table cannot spell.) */
static void put_group_items(struct ez_buf *b, const struct group *g, int fold, int negate)
{
    unsigned char in[128] = { 0 };
    if (strcmp(g->name, "ascii") == 0 || strcmp(g->name, "cntrl") == 0)
        in[0] = 1;
    for (const char *p = g->ranges; p[0]; p += 2)
        for (int c = (unsigned char)p[0]; c <= (unsigned char)p[1]; c++)
            in[c] = 1;
    int long_s = 0, kelvin = 0;
    if (fold)
        fold_ascii(in, &long_s, &kelvin);
    put_ascii_set(b, in, long_s, kelvin, negate);
}

/* Unicode classes by the names Go 1.24 knows (Unicode 15.0): its
 * categories and scripts, case-sensitive, plus "Any". */
static const char *const categories[] = {
    "C",  "Cc", "Cf", "Co", "Cs", "L",  "Ll", "Lm", "Lo", "Lt", "Lu", "M",
    "Mc", "Me", "Mn", "N",  "Nd", "Nl", "No", "P",  "Pc", "Pd", "Pe", "Pf",
    "Pi", "Po", "Ps", "S",  "Sc", "Sk", "Sm", "So", "Z",  "Zl", "Zp", "Zs", NULL
};

static const char *const scripts[] = {
    "Adlam", "Ahom", "Anatolian_Hieroglyphs", "Arabic", "Armenian", "Avestan", "Balinese",
    "Bamum", "Bassa_Vah", "Batak", "Bengali", "Bhaiksuki", "Bopomofo", "Brahmi", "Braille",
    "Buginese", "Buhid", "Canadian_Aboriginal", "Carian", "Caucasian_Albanian", "Chakma", "Cham",
    "Cherokee", "Chorasmian", "Common", "Coptic", "Cuneiform", "Cypriot", "Cypro_Minoan",
    "Cyrillic", "Deseret", "Devanagari", "Dives_Akuru", "Dogra", "Duployan",
    "Egyptian_Hieroglyphs", "Elbasan", "Elymaic", "Ethiopic", "Georgian", "Glagolitic", "Gothic",
    "Grantha", "Greek", "Gujarati", "Gunjala_Gondi", "Gurmukhi", "Han", "Hangul",
    "Hanifi_Rohingya", "Hanunoo", "Hatran", "Hebrew", "Hiragana", "Imperial_Aramaic", "Inherited",
    "Inscriptional_Pahlavi", "Inscriptional_Parthian", "Javanese", "Kaithi", "Kannada", "Katakana",
    "Kawi", "Kayah_Li", "Kharoshthi", "Khitan_Small_Script", "Khmer", "Khojki", "Khudawadi", "Lao",
    "Latin", "Lepcha", "Limbu", "Linear_A", "Linear_B", "Lisu", "Lycian", "Lydian", "Mahajani",
    "Makasar", "Malayalam", "Mandaic", "Manichaean", "Marchen", "Masaram_Gondi", "Medefaidrin",
    "Meetei_Mayek", "Mende_Kikakui", "Meroitic_Cursive", "Meroitic_Hieroglyphs", "Miao", "Modi",
    "Mongolian", "Mro", "Multani", "Myanmar", "Nabataean", "Nag_Mundari", "Nandinagari",
    "New_Tai_Lue", "Newa", "Nko", "Nushu", "Nyiakeng_Puachue_Hmong", "Ogham", "Ol_Chiki",
    "Old_Hungarian", "Old_Italic", "Old_North_Arabian", "Old_Permic", "Old_Persian",
    "Old_Sogdian", "Old_South_Arabian", "Old_Turkic", "Old_Uyghur", "Oriya", "Osage", "Osmanya",
    "Pahawh_Hmong", "Palmyrene", "Pau_Cin_Hau", "Phags_Pa", "Phoenician", "Psalter_Pahlavi",
    "Rejang", "Runic", "Samaritan", "Saurashtra", "Sharada", "Shavian", "Siddham", "SignWriting",
    "Sinhala", "Sogdian", "Sora_Sompeng", "Soyombo", "Sundanese", "Syloti_Nagri", "Syriac",
    "Tagalog", "Tagbanwa", "Tai_Le", "Tai_Tham", "Tai_Viet", "Takri", "Tamil", "Tangsa", "Tangut",
    "Telugu", "Thaana", "Thai", "Tibetan", "Tifinagh", "Tirhuta", "Toto", "Ugaritic", "Vai",
    "Vithkuqi", "Wancho", "Warang_Citi", "Yezidi", "Yi", "Zanabazar_Square", NULL
};

/* Scripts new in Unicode 15.0, which PCRE2's tables (14.0) lack. */
static const struct {
    const char *name;
    uint32_t r[6];
    int n;
} new_scripts[] = {
    { "Kawi", { 0x11F00, 0x11F10, 0x11F12, 0x11F3A, 0x11F3E, 0x11F59 }, 3 },
    { "Nag_Mundari", { 0x1E4D0, 0x1E4F9 }, 1 },
};

static int in_list(const char *const *list, const char *s, size_t n)
{
    for (; *list; list++)
        if (strlen(*list) == n && memcmp(*list, s, n) == 0)
            return 1;
    return 0;
}

/* Writes the class items of \p{name} (negate: \P{name}); 0, or -1 when Go
 * knows no such name. Go's C leaves out the unassigned code points
 * (PCRE2's C has them), and Go's scripts are the Script property (PCRE2's
 * bare names mean Script_Extensions). */
static int put_unicode_items(struct ez_buf *b, const char *name, size_t n, int negate)
{
    char tmp[64];
    if (n == 3 && memcmp(name, "Any", 3) == 0) {
        if (!negate)
            put_range(b, 0, EZ_GO_MAX_RUNE);
        return 0;
    }
    if (n == 1 && name[0] == 'C') {
        ez_buf_puts(b, negate ? "\\p{L}\\p{M}\\p{N}\\p{P}\\p{S}\\p{Z}\\p{Cn}"
                        : "\\p{Cc}\\p{Cf}\\p{Co}\\p{Cs}");
        return 0;
    }
    if (in_list(categories, name, n)) {
        snprintf(tmp, sizeof tmp, "\\%c{%.*s}", negate ? 'P' : 'p', (int)n, name);
        ez_buf_puts(b, tmp);
        return 0;
    }
    for (size_t i = 0; i < sizeof new_scripts / sizeof new_scripts[0]; i++) {
        if (strlen(new_scripts[i].name) != n || memcmp(new_scripts[i].name, name, n) != 0)
            continue;
        struct rset s = { .n = 0 }, c;
        for (int k = 0; k < new_scripts[i].n; k++)
            rset_add(&s, new_scripts[i].r[2 * k], new_scripts[i].r[2 * k + 1]);
        if (negate)
            rset_complement(&s, &c);
        put_rset(b, negate ? &c : &s);
        return 0;
    }
    if (in_list(scripts, name, n)) {
        snprintf(tmp, sizeof tmp, "\\%c{sc:%.*s}", negate ? 'P' : 'p', (int)n, name);
        ez_buf_puts(b, tmp);
        return 0;
    }
    return -1;
}

/* ---- The parser ----------------------------------------------------- */

enum { F_FOLD = 1, F_DOTNL = 2, F_ONELINE = 4, F_NONGREEDY = 8 };

/* One open group; level 0 is the whole pattern. The "atom" is the top of
 * Go's parse stack: what a repetition operator would apply to. */
struct level {
    int flags;     /* restored at the group's ')' */
    size_t start;  /* output offset of the group */
    size_t atom;   /* output offset of the last atom */
    int has_atom;  /* 0 right after '(' or '|' */
    int simple;    /* the last atom is one PCRE2 item a quantifier may follow */
    long maxp;     /* largest repeat product of the atoms before the last */
    long lastp;    /* repeat product of the last atom */
};

struct tr {
    const char *s;
    size_t n, i;
    int flags;
    int last_repeat;
    struct level *lv;
    int depth;
    struct ez_buf o;
    char *why;
    size_t whylen;
    enum ez_gore_status status;
};

static int refuse(struct tr *t, const char *code)
{
    if (t->status == EZ_GORE_OK)
        t->status = EZ_GORE_REFUSED;
    if (t->whylen)
        snprintf(t->why, t->whylen, "%s (at byte %zu)", code, t->i);
    return -1;
}

static long max_l(long a, long b) { return a > b ? a : b; }

static void atom_at(struct tr *t, size_t at, long p, int simple)
{
    struct level *l = &t->lv[t->depth];
    if (l->has_atom)
        l->maxp = max_l(l->maxp, l->lastp);
    l->atom = at;
    l->has_atom = 1;
    l->lastp = p;
    l->simple = simple;
}

static void atom(struct tr *t, const char *pcre, int simple)
{
    atom_at(t, t->o.len, 1, simple);
    ez_buf_puts(&t->o, pcre);
}

/* One rune. Under (?i) an ASCII letter becomes the class of its case
 * variants (quantifiable as it stands) and a non-ASCII rune a caseless
 * group, which PCRE2 folds as Go does. */
static void literal(struct tr *t, uint32_t r)
{
    int fold = t->flags & F_FOLD;
    int letter = r < 0x80 && is_alnum(r) && !(r >= '0' && r <= '9');
    atom_at(t, t->o.len, 1, 1);
    if (r >= 0xD800 && r <= 0xDFFF) {
        ez_buf_puts(&t->o, "(?!)"); /* a surrogate never occurs in text */
        t->lv[t->depth].simple = 0;
    } else if (fold && letter) {
        unsigned char in[128] = { 0 };
        int long_s = 0, kelvin = 0;
        in[r] = 1;
        fold_ascii(in, &long_s, &kelvin);
        ez_buf_puts(&t->o, "[");
        put_ascii_set(&t->o, in, long_s, kelvin, 0);
        ez_buf_puts(&t->o, "]");
    } else if (fold && r >= 0x80) {
        ez_buf_puts(&t->o, "(?i:");
        put_rune(&t->o, r);
        ez_buf_puts(&t->o, ")");
        t->lv[t->depth].simple = 0;
    } else {
        put_rune(&t->o, r);
    }
}

static int next_rune(struct tr *t, size_t *j, uint32_t *r)
{
    size_t k = ez_go_decode(t->s + *j, t->n - *j, r);
    if (*r == EZ_GO_RUNE_ERROR && k == 1)
        return refuse(t, "invalid UTF-8");
    *j += k;
    return 0;
}

static int open_group(struct tr *t, int saved_flags)
{
    if (t->depth + 1 >= MAX_DEPTH) {
        t->status = EZ_GORE_TOO_BIG;
        return refuse(t, "expression nests too deeply");
    }
    struct level *l = &t->lv[++t->depth];
    *l = (struct level){ .flags = saved_flags, .start = t->o.len, .maxp = 1, .lastp = 1 };
    ez_buf_puts(&t->o, "(?:");
    return 0;
}

static int close_group(struct tr *t)
{
    if (t->depth == 0)
        return refuse(t, "unexpected )");
    struct level *l = &t->lv[t->depth];
    long p = l->has_atom ? max_l(l->maxp, l->lastp) : l->maxp;
    size_t start = l->start;
    t->flags = l->flags;
    t->depth--;
    ez_buf_puts(&t->o, ")");
    atom_at(t, start, p, 0);
    return 0;
}

static void vertical_bar(struct tr *t)
{
    struct level *l = &t->lv[t->depth];
    if (l->has_atom)
        l->maxp = max_l(l->maxp, l->lastp);
    l->has_atom = 0;
    ez_buf_puts(&t->o, "|");
}

/* op is '*', '+', '?' or '{' with min and max (-1: unbounded); *j is
 * just after the operator. Go checks counts above 1 against the product
 * of the counts nested inside (at most 1000 copies of anything). */
static int repeat(struct tr *t, char op, long min, long max, size_t *j)
{
    int flags = t->flags;
    if (*j < t->n && t->s[*j] == '?') {
        (*j)++;
        flags ^= F_NONGREEDY;
    }
    if (t->last_repeat)
        return refuse(t, "invalid nested repetition operator");
    struct level *l = &t->lv[t->depth];
    if (!l->has_atom)
        return refuse(t, "missing argument to repetition operator");
    char q[32];
    if (op == '{') {
        long m = max >= 0 ? max : min;
        long p = m == 0 ? 1 : m * l->lastp;
        if (p > MAX_REPEAT + 1)
            p = MAX_REPEAT + 1;
        if ((min >= 2 || max >= 2) && p > MAX_REPEAT)
            return refuse(t, "invalid repeat count");
        l->lastp = p;
        if (max == min)
            snprintf(q, sizeof q, "){%ld}", min);
        else if (max < 0)
            snprintf(q, sizeof q, "){%ld,}", min);
        else
            snprintf(q, sizeof q, "){%ld,%ld}", min, max);
    } else {
        snprintf(q, sizeof q, ")%c", op);
    }
    if (flags & F_NONGREEDY)
        strcat(q, "?");
    if (l->simple)
        ez_buf_puts(&t->o, q + 1);
    else
        insert(&t->o, l->atom, "(?:"), ez_buf_puts(&t->o, q);
    l->simple = 0;
    return 0;
}

/* Go's parseInt: no leading zero, and -1 for 1e8 or more. */
static int parse_int(struct tr *t, size_t *j, long *v)
{
    size_t k = *j;
    if (k >= t->n || t->s[k] < '0' || t->s[k] > '9')
        return 0;
    if (t->n - k >= 2 && t->s[k] == '0' && t->s[k + 1] >= '0' && t->s[k + 1] <= '9')
        return 0;
    long x = 0;
    for (; k < t->n && t->s[k] >= '0' && t->s[k] <= '9'; k++) {
        if (x >= 100000000)
            x = -1;
        else if (x >= 0)
            x = x * 10 + (t->s[k] - '0');
    }
    *v = x;
    *j = k;
    return 1;
}

/* {min}, {min,} or {min,max} at t->i; 0 when the text is not of that form
 * (then '{' is a literal). */
static int parse_repeat(struct tr *t, long *min, long *max, size_t *after)
{
    size_t j = t->i + 1;
    if (!parse_int(t, &j, min) || j >= t->n)
        return 0;
    if (t->s[j] != ',') {
        *max = *min;
    } else {
        j++;
        if (j >= t->n)
            return 0;
        if (t->s[j] == '}') {
            *max = -1;
        } else {
            if (!parse_int(t, &j, max))
                return 0;
            if (*max < 0)
                *min = -1;
        }
    }
    if (j >= t->n || t->s[j] != '}')
        return 0;
    *after = j + 1;
    return 1;
}

static int unhex(uint32_t c)
{
    if (c >= '0' && c <= '9')
        return (int)(c - '0');
    if (c >= 'a' && c <= 'f')
        return (int)(c - 'a' + 10);
    if (c >= 'A' && c <= 'F')
        return (int)(c - 'A' + 10);
    return -1;
}

/* Go's parseEscape at the backslash t->s[*j]: one rune. */
static int parse_escape(struct tr *t, size_t *j, uint32_t *r)
{
    size_t k = *j + 1;
    uint32_t c;
    if (k >= t->n)
        return refuse(t, "trailing backslash at end of expression");
    if (next_rune(t, &k, &c) != 0)
        return -1;
    switch (c) {
    case '1': case '2': case '3': case '4': case '5': case '6': case '7':
        if (k >= t->n || t->s[k] < '0' || t->s[k] > '7')
            break; /* \1 alone would be a back-reference */
        /* fall through */
    case '0':
        *r = c - '0';
        for (int d = 1; d < 3 && k < t->n && t->s[k] >= '0' && t->s[k] <= '7'; d++)
            *r = *r * 8 + (uint32_t)(t->s[k++] - '0');
        *j = k;
        return 0;
    case 'x': {
        if (k >= t->n)
            break;
        if (next_rune(t, &k, &c) != 0)
            return -1;
        if (c == '{') {
            int nhex = 0;
            uint32_t v = 0;
            for (;;) {
                if (k >= t->n)
                    return refuse(t, "invalid escape sequence");
                if (next_rune(t, &k, &c) != 0)
                    return -1;
                if (c == '}')
                    break;
                int h = unhex(c);
                if (h < 0)
                    return refuse(t, "invalid escape sequence");
                v = v * 16 + (uint32_t)h;
                if (v > EZ_GO_MAX_RUNE)
                    return refuse(t, "invalid escape sequence");
                nhex++;
            }
            if (nhex == 0)
                break;
            *r = v;
            *j = k;
            return 0;
        }
        int x = unhex(c), y = -1;
        if (k < t->n) {
            if (next_rune(t, &k, &c) != 0)
                return -1;
            y = unhex(c);
        }
        if (x < 0 || y < 0)
            break;
        *r = (uint32_t)(x * 16 + y);
        *j = k;
        return 0;
    }
    case 'a': *r = '\a'; *j = k; return 0;
    case 'f': *r = '\f'; *j = k; return 0;
    case 'n': *r = '\n'; *j = k; return 0;
    case 'r': *r = '\r'; *j = k; return 0;
    case 't': *r = '\t'; *j = k; return 0;
    case 'v': *r = '\v'; *j = k; return 0;
    default:
        if (c < 0x80 && !is_alnum(c)) {
            *r = c;
            *j = k;
            return 0;
        }
    }
    return refuse(t, "invalid escape sequence");
}

/* \pX, \p{Name}, \PX, \P{Name}, \p{^Name} at t->s[*j]: its class items
 * into b. */
static int parse_unicode_class(struct tr *t, size_t *j, struct ez_buf *b)
{
    size_t at = *j, k = at + 2;
    int negate = t->s[at + 1] == 'P';
    uint32_t c = EZ_GO_RUNE_ERROR;
    size_t clen = 0;
    const char *name;
    size_t n;
    if (k < t->n) {
        clen = ez_go_decode(t->s + k, t->n - k, &c);
        if (c == EZ_GO_RUNE_ERROR && clen == 1)
            return refuse(t, "invalid UTF-8");
    }
    if (c != '{') {
        name = t->s + k;
        n = clen;
        k += clen;
    } else {
        const char *end = memchr(t->s + at, '}', t->n - at);
        if (!end) {
            if (!ez_go_valid_utf8(t->s + at, t->n - at))
                return refuse(t, "invalid UTF-8");
            return refuse(t, "invalid character class range");
        }
        name = t->s + at + 3;
        n = (size_t)(end - name);
        if (!ez_go_valid_utf8(name, n))
            return refuse(t, "invalid UTF-8");
        k = (size_t)(end - t->s) + 1;
    }
    if (n > 0 && name[0] == '^') {
        negate = !negate;
        name++;
        n--;
    }
    if (put_unicode_items(b, name, n, negate) != 0)
        return refuse(t, "invalid character class range");
    *j = k;
    return 0;
}

static const struct group *perl_group(struct tr *t, size_t j, int *negate)
{
    if (t->n - j < 2 || t->s[j] != '\\')
        return NULL;
    for (size_t i = 0; i < sizeof perl_groups / sizeof perl_groups[0]; i++) {
        char c = perl_groups[i].name[0];
        if (t->s[j + 1] == c || t->s[j + 1] == c - 32) {
            *negate = t->s[j + 1] == c - 32;
            return &perl_groups[i];
        }
    }
    return NULL;
}

static void put_group(struct tr *t, struct ez_buf *b, const struct group *g, int negate)
{
    put_group_items(b, g, t->flags & F_FOLD, negate);
}

/* A class character: an escape or one rune; "missing closing ]" at the
 * end of the pattern. */
static int class_char(struct tr *t, size_t *j, uint32_t *r)
{
    if (*j >= t->n)
        return refuse(t, "missing closing ]");
    if (t->s[*j] == '\\')
        return parse_escape(t, j, r);
    return next_rune(t, j, r);
}

static const char *find2(const char *s, size_t n, char a, char b)
{
    for (size_t i = 0; i + 1 < n; i++)
        if (s[i] == a && s[i + 1] == b)
            return s + i;
    return NULL;
}

/* [...] at t->i. Under (?i), ASCII characters and ranges are folded here
 * and the groups are closed under folding already; a class with other
 * ranges is made caseless for PCRE2, which folds them as Go does. */
static int parse_class(struct tr *t)
{
    size_t j = t->i + 1;
    int negate = 0, first = 1, fold = t->flags & F_FOLD, caseless = 0;
    int long_s = 0, kelvin = 0;
    unsigned char ascii[128] = { 0 };
    struct ez_buf items = { 0 };
    if (j < t->n && t->s[j] == '^') {
        negate = 1;
        j++;
    }
    while (j >= t->n || t->s[j] != ']' || first) {
        first = 0;
        if (t->n - j > 2 && t->s[j] == '[' && t->s[j + 1] == ':') {
            const char *end = find2(t->s + j + 2, t->n - j - 2, ':', ']');
            if (end) {
                const char *name = t->s + j + 2;
                size_t n = (size_t)(end - name);
                int neg = n > 0 && name[0] == '^';
                const struct group *g = NULL;
                for (size_t i = 0; i < sizeof posix_groups / sizeof posix_groups[0]; i++)
                    if (strlen(posix_groups[i].name) == n - (size_t)neg &&
                        memcmp(posix_groups[i].name, name + neg, n - (size_t)neg) == 0)
                        g = &posix_groups[i];
                if (!g)
                    goto fail_range;
                put_group(t, &items, g, neg);
                j = (size_t)(end - t->s) + 2;
                continue;
            }
        }
        if (t->n - j >= 2 && t->s[j] == '\\' && (t->s[j + 1] == 'p' || t->s[j + 1] == 'P')) {
            if (parse_unicode_class(t, &j, &items) != 0)
                goto fail;
            continue;
        }
        int neg;
        const struct group *g = perl_group(t, j, &neg);
        if (g) {
            put_group(t, &items, g, neg);
            j += 2;
            continue;
        }
        uint32_t lo, hi;
        if (class_char(t, &j, &lo) != 0)
            goto fail;
        hi = lo;
        if (t->n - j >= 2 && t->s[j] == '-' && t->s[j + 1] != ']') {
            j++;
            if (class_char(t, &j, &hi) != 0)
                goto fail;
            if (hi < lo)
                goto fail_range;
        }
        if (fold && hi < 0x80) {
            for (uint32_t c = lo; c <= hi; c++)
                ascii[c] = 1;
        } else {
            put_range(&items, lo, hi);
            caseless |= fold;
        }
    }
    t->i = j + 1;
    if (fold) {
        fold_ascii(ascii, &long_s, &kelvin);
        put_ascii_set(&items, ascii, long_s, kelvin, 0);
    }
    atom_at(t, t->o.len, 1, items.len > 0 && !caseless);
    if (items.len == 0) {
        ez_buf_puts(&t->o, negate ? "[\\x{0}-\\x{D7FF}\\x{E000}-\\x{10FFFF}]" : "(?!)");
        t->lv[t->depth].simple = negate;
    } else {
        if (caseless)
            ez_buf_puts(&t->o, "(?i:");
        ez_buf_puts(&t->o, negate ? "[^" : "[");
        ez_buf_put(&t->o, items.p, items.len);
        ez_buf_puts(&t->o, caseless ? "])" : "]");
    }
    t->o.failed |= items.failed;
    free(items.p);
    return 0;
fail_range:
    refuse(t, "invalid character class range");
fail:
    free(items.p);
    return -1;
}

/* (?flags), (?flags:...), (?P<name>...), (?<name>...) at t->i. */
static int parse_perl_flags(struct tr *t)
{
    const char *s = t->s + t->i;
    size_t rem = t->n - t->i;
    int with_p = rem > 4 && s[2] == 'P' && s[3] == '<';
    if (with_p || (rem > 3 && s[2] == '<')) {
        const char *end = memchr(s, '>', rem);
        if (!end) {
            if (!ez_go_valid_utf8(s, rem))
                return refuse(t, "invalid UTF-8");
            return refuse(t, "invalid named capture");
        }
        const char *name = s + (with_p ? 4 : 3);
        size_t n = (size_t)(end - name);
        if (!ez_go_valid_utf8(name, n))
            return refuse(t, "invalid UTF-8");
        if (n == 0)
            return refuse(t, "invalid named capture");
        for (size_t i = 0; i < n; i++)
            if (name[i] != '_' && !is_alnum((unsigned char)name[i]))
                return refuse(t, "invalid named capture");
        if (open_group(t, t->flags) != 0)
            return -1;
        t->i = (size_t)(end - t->s) + 1;
        return 0;
    }
    size_t j = t->i + 2;
    int flags = t->flags, negative = 0, saw = 0;
    while (j < t->n) {
        uint32_t c;
        if (next_rune(t, &j, &c) != 0)
            return -1;
        switch (c) {
        case 'i':
            flags = negative ? flags & ~F_FOLD : flags | F_FOLD;
            saw = 1;
            continue;
        case 'm':
            flags = negative ? flags | F_ONELINE : flags & ~F_ONELINE;
            saw = 1;
            continue;
        case 's':
            flags = negative ? flags & ~F_DOTNL : flags | F_DOTNL;
            saw = 1;
            continue;
        case 'U':
            flags = negative ? flags & ~F_NONGREEDY : flags | F_NONGREEDY;
            saw = 1;
            continue;
        case '-':
            if (negative)
                break;
            negative = 1;
            saw = 0;
            continue;
        case ':':
        case ')':
            if (negative && !saw)
                break;
            if (c == ':' && open_group(t, t->flags) != 0)
                return -1;
            t->flags = flags;
            t->i = j;
            return 0;
        default:
            break;
        }
        break;
    }
    return refuse(t, "invalid or unsupported Perl syntax");
}

/* A backslash at t->i outside a class. */
static int parse_backslash(struct tr *t)
{
    size_t j = t->i;
    if (t->n - j >= 2) {
        switch (t->s[j + 1]) {
        case 'A': atom(t, "\\A", 0); t->i += 2; return 0;
        case 'b': atom(t, "\\b", 0); t->i += 2; return 0;
        case 'B': atom(t, "\\B", 0); t->i += 2; return 0;
        case 'z': atom(t, "\\z", 0); t->i += 2; return 0;
        case 'C': return refuse(t, "invalid escape sequence");
        case 'Q': {
            const char *lit = t->s + j + 2;
            const char *end = find2(lit, t->n - j - 2, '\\', 'E');
            size_t stop = end ? (size_t)(end - t->s) : t->n;
            size_t k = j + 2;
            while (k < stop) {
                uint32_t r;
                size_t before = k;
                size_t len = ez_go_decode(t->s + k, stop - k, &r);
                if (r == EZ_GO_RUNE_ERROR && len == 1) {
                    t->i = before;
                    return refuse(t, "invalid UTF-8");
                }
                k += len;
                literal(t, r);
            }
            t->i = end ? stop + 2 : t->n;
            return 0;
        }
        case 'p':
        case 'P': {
            struct ez_buf items = { 0 };
            int rc = parse_unicode_class(t, &j, &items);
            if (rc == 0) {
                atom_at(t, t->o.len, 1, items.len > 0);
                if (items.len == 0) {
                    ez_buf_puts(&t->o, "(?!)");
                } else {
                    ez_buf_puts(&t->o, "[");
                    ez_buf_put(&t->o, items.p, items.len);
                    ez_buf_puts(&t->o, "]");
                }
                t->o.failed |= items.failed;
                t->i = j;
            }
            free(items.p);
            return rc;
        }
        default:
            break;
        }
    }
    int neg;
    const struct group *g = perl_group(t, j, &neg);
    if (g) {
        atom_at(t, t->o.len, 1, 1);
        ez_buf_puts(&t->o, "[");
        put_group(t, &t->o, g, neg);
        ez_buf_puts(&t->o, "]");
        t->i += 2;
        return 0;
    }
    uint32_t r;
    if (parse_escape(t, &j, &r) != 0)
        return -1;
    literal(t, r);
    t->i = j;
    return 0;
}

static int parse_token(struct tr *t, int *is_repeat)
{
    uint32_t r;
    size_t j;
    long min, max;
    *is_repeat = 0;
    switch (t->s[t->i]) {
    case '(':
        if (t->n - t->i >= 2 && t->s[t->i + 1] == '?')
            return parse_perl_flags(t);
        t->i++;
        return open_group(t, t->flags);
    case '|':
        vertical_bar(t);
        t->i++;
        return 0;
    case ')':
        t->i++;
        return close_group(t);
    case '^':
        atom(t, t->flags & F_ONELINE ? "\\A" : "(?<![^\\x{A}])", 0);
        t->i++;
        return 0;
    case '$':
        atom(t, t->flags & F_ONELINE ? "\\z" : "(?![^\\x{A}])", 0);
        t->i++;
        return 0;
    case '.':
        atom(t, t->flags & F_DOTNL ? "[\\x{0}-\\x{D7FF}\\x{E000}-\\x{10FFFF}]" : "[^\\x{A}]", 1);
        t->i++;
        return 0;
    case '[':
        return parse_class(t);
    case '*':
    case '+':
    case '?':
        j = t->i + 1;
        *is_repeat = 1;
        if (repeat(t, t->s[t->i], 0, 0, &j) != 0)
            return -1;
        t->i = j;
        return 0;
    case '{':
        if (!parse_repeat(t, &min, &max, &j)) {
            literal(t, '{');
            t->i++;
            return 0;
        }
        if (min < 0 || min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && min > max))
            return refuse(t, "invalid repeat count");
        *is_repeat = 1;
        if (repeat(t, '{', min, max, &j) != 0)
            return -1;
        t->i = j;
        return 0;
    case '\\':
        return parse_backslash(t);
    default:
        j = t->i;
        if (next_rune(t, &j, &r) != 0)
            return -1;
        literal(t, r);
        t->i = j;
        return 0;
    }
}

static enum ez_gore_status ez_gore_translate(const char *pattern, size_t n, char **out, char *why,
                                      size_t whylen)
{
    *out = NULL;
    if (whylen)
        why[0] = '\0';
    if (n > EZ_GORE_MAX_PATTERN) {
        if (whylen)
            snprintf(why, whylen, "longer than %d bytes", EZ_GORE_MAX_PATTERN);
        return EZ_GORE_TOO_BIG;
    }
    struct tr t = { .s = pattern, .n = n, .flags = F_ONELINE, .why = why, .whylen = whylen };
    t.lv = calloc(MAX_DEPTH, sizeof *t.lv);
    if (!t.lv)
        return EZ_GORE_NOMEM;
    t.lv[0] = (struct level){ .flags = F_ONELINE, .maxp = 1, .lastp = 1 };
    ez_buf_puts(&t.o, "");
    while (t.i < t.n && t.status == EZ_GORE_OK && !t.o.failed) {
        int is_repeat;
        if (parse_token(&t, &is_repeat) != 0)
            break;
        t.last_repeat = is_repeat;
    }
    if (t.status == EZ_GORE_OK && t.depth > 0)
        refuse(&t, "missing closing )");
    if (t.status == EZ_GORE_OK && t.o.failed)
        t.status = EZ_GORE_NOMEM;
    if (t.status == EZ_GORE_OK && t.o.len > MAX_TRANSLATED) {
        t.status = EZ_GORE_TOO_BIG;
        if (whylen)
            snprintf(why, whylen, "translates to more than %u bytes", MAX_TRANSLATED);
    }
    free(t.lv);
    if (t.status != EZ_GORE_OK) {
        free(t.o.p);
        return t.status;
    }
    *out = t.o.p;
    return EZ_GORE_OK;
}

/* ---- PCRE2 ----------------------------------------------------------- */

struct ez_gore {
    pcre2_code *code;
    pcre2_match_data *md;
    pcre2_match_context *mc;
};

void ez_gore_free(struct ez_gore *re)
{
    if (!re)
        return;
    pcre2_match_data_free(re->md);
    pcre2_match_context_free(re->mc);
    pcre2_code_free(re->code);
    free(re);
}

enum ez_gore_status ez_gore_compile(const char *pattern, size_t n, struct ez_gore **out, char *why,
                                    size_t whylen)
{
    char *pcre;
    *out = NULL;
    enum ez_gore_status st = ez_gore_translate(pattern, n, &pcre, why, whylen);
    if (st != EZ_GORE_OK)
        return st;
    struct ez_gore *re = calloc(1, sizeof *re);
    pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
    if (!re || !cc) {
        free(re);
        free(pcre);
        pcre2_compile_context_free(cc);
        return EZ_GORE_NOMEM;
    }
    pcre2_set_newline(cc, PCRE2_NEWLINE_LF);
    pcre2_set_parens_nest_limit(cc, PCRE2_NEST_LIMIT);
    int err;
    PCRE2_SIZE off;
    re->code = pcre2_compile((PCRE2_SPTR)pcre, strlen(pcre),
                             PCRE2_UTF | PCRE2_NO_UTF_CHECK | PCRE2_NO_AUTO_CAPTURE |
                                 PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C | PCRE2_NEVER_UCP,
                             &err, &off, cc);
    pcre2_compile_context_free(cc);
    free(pcre);
    if (!re->code) {
        PCRE2_UCHAR msg[120];
        pcre2_get_error_message(err, msg, sizeof msg);
        if (whylen)
            snprintf(why, whylen, "beyond the regex engine's bounds: %s", (const char *)msg);
        free(re);
        return err == PCRE2_ERROR_NOMEMORY ? EZ_GORE_NOMEM : EZ_GORE_TOO_BIG;
    }
    re->md = pcre2_match_data_create(1, NULL);
    re->mc = pcre2_match_context_create(NULL);
    if (!re->md || !re->mc) {
        ez_gore_free(re);
        return EZ_GORE_NOMEM;
    }
    pcre2_set_depth_limit(re->mc, MATCH_DEPTH_LIMIT);
    pcre2_set_heap_limit(re->mc, MATCH_HEAP_KIB);
    *out = re;
    return EZ_GORE_OK;
}

/* Go reads each byte of an invalid sequence as U+FFFD; so does the copy. */
static char *as_go_reads(const char *s, size_t n, size_t *len)
{
    char *out = malloc(n * 3 + 1);
    if (!out)
        return NULL;
    size_t w = 0;
    for (size_t i = 0; i < n;) {
        uint32_t r;
        size_t k = ez_go_decode(s + i, n - i, &r);
        if (r == EZ_GO_RUNE_ERROR && k == 1)
            w += ez_go_encode(r, out + w);
        else
            memcpy(out + w, s + i, k), w += k;
        i += k;
    }
    *len = w;
    return out;
}

int ez_gore_match(struct ez_gore *re, const char *s, size_t n, uint32_t steps)
{
    char *copy = NULL;
    if (!ez_go_valid_utf8(s, n)) {
        copy = as_go_reads(s, n, &n);
        if (!copy)
            return -2;
        s = copy;
    }
    pcre2_set_match_limit(re->mc, steps);
    int rc = pcre2_match(re->code, (PCRE2_SPTR)s, n, 0, PCRE2_NO_UTF_CHECK, re->md, re->mc);
    free(copy);
    if (rc >= 0)
        return 1;
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
        rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_NOMEMORY)
        return -1;
    return -2;
}
