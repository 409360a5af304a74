/* Go's UTF-8 decoding, unicode.IsSpace, strings.TrimSpace and
 * strings.ToLower, byte for byte, so that names compare here as they do in
 * the data plane. The case table is generated (scripts/gen-lower-table.sh). */
#include "gostr.h"

#include <stdlib.h>
#include <string.h>

#include "lower_table.h"

size_t ez_go_decode(const char *str, size_t n, uint32_t *r)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned char b = s[0], lo = 0x80, hi = 0xBF;
    size_t len;
    uint32_t v;
    *r = EZ_GO_RUNE_ERROR;
    if (b < 0x80) {
        *r = b;
        return 1;
    }
    if (b >= 0xC2 && b <= 0xDF) {
        len = 2;
        v = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
        len = 3;
        v = b & 0x0F;
        if (b == 0xE0)
            lo = 0xA0;
        else if (b == 0xED)
            hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        len = 4;
        v = b & 0x07;
        if (b == 0xF0)
            lo = 0x90;
        else if (b == 0xF4)
            hi = 0x8F;
    } else {
        return 1;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 1;
    v = (v << 6) | (s[1] & 0x3F);
    for (size_t i = 2; i < len; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 1;
        v = (v << 6) | (s[i] & 0x3F);
    }
    *r = v;
    return len;
}

int ez_go_valid_utf8(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint32_t r;
        size_t k = ez_go_decode(s + i, n - i, &r);
        if (r == EZ_GO_RUNE_ERROR && k == 1)
            return 0;
        i += k;
    }
    return 1;
}

size_t ez_go_encode(uint32_t r, char out[4])
{
    if (r < 0x80) {
        out[0] = (char)r;
        return 1;
    }
    if (r < 0x800) {
        out[0] = (char)(0xC0 | (r >> 6));
        out[1] = (char)(0x80 | (r & 0x3F));
        return 2;
    }
    if (r < 0x10000) {
        out[0] = (char)(0xE0 | (r >> 12));
        out[1] = (char)(0x80 | ((r >> 6) & 0x3F));
        out[2] = (char)(0x80 | (r & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (r >> 18));
    out[1] = (char)(0x80 | ((r >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((r >> 6) & 0x3F));
    out[3] = (char)(0x80 | (r & 0x3F));
    return 4;
}

static int ez_go_is_space(uint32_t r)
{
    switch (r) {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
    case 0x202F: case 0x205F: case 0x3000:
        return 1;
    default:
        return r >= 0x2000 && r <= 0x200A;
    }
}

/* Runes are decoded forwards for both ends: a space is valid UTF-8 whose
 * lead byte never continues another sequence, so the boundaries found are
 * the ones Go's backwards decoding finds. */
void ez_go_trim(const char *s, size_t n, size_t *off, size_t *len)
{
    size_t i = 0, start = n, end = 0;
    while (i < n) {
        uint32_t r;
        size_t k = ez_go_decode(s + i, n - i, &r);
        if (!ez_go_is_space(r)) {
            if (start == n)
                start = i;
            end = i + k;
        }
        i += k;
    }
    *off = start == n ? 0 : start;
    *len = start == n ? 0 : end - start;
}

uint32_t ez_go_to_lower(uint32_t r)
{
    if (r < 0x80)
        return r >= 'A' && r <= 'Z' ? r + 32 : r;
    size_t lo = 0, hi = sizeof ez_lower_runs / sizeof ez_lower_runs[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ez_lower_runs[mid].lo <= r)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return r;
    const struct ez_lower_run *run = &ez_lower_runs[lo - 1];
    if (r > run->hi || (r - run->lo) % (unsigned)run->stride != 0)
        return r;
    return (uint32_t)((int64_t)r + run->delta);
}

char *ez_go_lower(const char *s, size_t n, size_t *outlen)
{
    char *out = malloc(n * 3 + 1); /* a rune never grows past 3x its bytes */
    if (!out)
        return NULL;
    size_t w = 0;
    for (size_t i = 0; i < n;) {
        uint32_t r;
        i += ez_go_decode(s + i, n - i, &r);
        w += ez_go_encode(ez_go_to_lower(r), out + w);
    }
    out[w] = '\0';
    *outlen = w;
    return out;
}

int ez_utf8_prefix(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    return (int)n;
}
