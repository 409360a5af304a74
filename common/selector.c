/* Selector resolution with the data plane's rules: trimmed values and
 * names, the first equal name for exact, exactly one hit for regex and
 * normalize_exact. Regexes go through goregex.c, with a step budget per
 * binding; nothing here depends on the clock. */
#include "selector.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gostr.h"

enum { T_EXACT, T_REGEX, T_NORMALIZE };

const char *ez_sel_rc_name(enum ez_sel_rc rc)
{
    switch (rc) {
    case EZ_SEL_OK: return "ok";
    case EZ_SEL_NONE: return "no model matches";
    case EZ_SEL_MANY: return "more than one model matches";
    case EZ_SEL_INVALID: return "invalid selector";
    case EZ_SEL_BOUND: return "beyond ezapi's bounds";
    case EZ_SEL_NOMEM: return "out of memory";
    }
    return "?";
}

/* NormalizeModelID: trimmed, lower-cased, the part after the last '/'
 * unless the name ends with it, trimmed again. malloc'd. */
static char *normalize(const char *s, size_t n, size_t *len)
{
    size_t off;
    ez_go_trim(s, n, &off, &n);
    char *low = ez_go_lower(s + off, n, &n);
    if (!low)
        return NULL;
    size_t slash = n;
    while (slash > 0 && low[slash - 1] != '/')
        slash--;
    size_t from = slash > 0 && slash < n ? slash : 0; /* just past the last '/' */
    ez_go_trim(low + from, n - from, &off, len);
    memmove(low, low + from + off, *len);
    low[*len] = '\0';
    return low;
}

static enum ez_sel_rc fail(struct ez_sel *s, enum ez_sel_rc rc, const char *why)
{
    s->error = rc;
    snprintf(s->why, sizeof s->why, "%s", why);
    return rc;
}

enum ez_sel_rc ez_sel_prepare(struct ez_sel *s, const char *type, const char *value,
                              const char *public_model)
{
    memset(s, 0, sizeof *s);
    size_t off;
    if (!type)
        return fail(s, EZ_SEL_INVALID, "no selector type");
    if (!*type || strcmp(type, "exact") == 0)
        s->type = T_EXACT;
    else if (strcmp(type, "regex") == 0)
        s->type = T_REGEX;
    else if (strcmp(type, "normalize_exact") == 0)
        s->type = T_NORMALIZE;
    else
        return fail(s, EZ_SEL_INVALID, "unknown selector type");
    if (value) {
        ez_go_trim(value, strlen(value), &off, &s->len);
        s->value = value + off;
    }
    if (s->len == 0 && public_model) {
        ez_go_trim(public_model, strlen(public_model), &off, &s->len);
        s->value = public_model + off;
    }
    if (s->len == 0)
        return fail(s, EZ_SEL_INVALID, "selector value missing");
    if (s->type == T_NORMALIZE) {
        s->norm = normalize(s->value, s->len, &s->normlen);
        if (!s->norm)
            return fail(s, EZ_SEL_NOMEM, "out of memory");
    } else if (s->type == T_REGEX) {
        char why[128];
        switch (ez_gore_compile(s->value, s->len, &s->re, why, sizeof why)) {
        case EZ_GORE_OK:
            break;
        case EZ_GORE_REFUSED:
            return fail(s, EZ_SEL_INVALID, why);
        case EZ_GORE_TOO_BIG:
            return fail(s, EZ_SEL_BOUND, why);
        case EZ_GORE_NOMEM:
            return fail(s, EZ_SEL_NOMEM, "out of memory");
        }
    }
    return EZ_SEL_OK;
}

void ez_sel_release(struct ez_sel *s)
{
    free(s->norm);
    ez_gore_free(s->re);
    s->norm = NULL;
    s->re = NULL;
}

static enum ez_sel_rc found(int hits, int index, size_t off, size_t len, struct ez_sel_hit *hit)
{
    if (hits == 0)
        return EZ_SEL_NONE;
    if (hits > 1)
        return EZ_SEL_MANY;
    *hit = (struct ez_sel_hit){ .index = index, .off = off, .len = len };
    return EZ_SEL_OK;
}

enum ez_sel_rc ez_sel_find(const struct ez_sel *s, const char *const *models, int n,
                           struct ez_sel_hit *hit)
{
    int hits = 0, index = -1, names = 0;
    size_t off = 0, len = 0;
    *hit = (struct ez_sel_hit){ .index = -1 };
    if (s->error != EZ_SEL_OK)
        return s->error;
    for (int i = 0; i < n; i++) {
        size_t o, l;
        if (!models || !models[i])
            continue;
        ez_go_trim(models[i], strlen(models[i]), &o, &l);
        if (s->type == T_EXACT) {
            if (l == s->len && memcmp(models[i] + o, s->value, l) == 0)
                return found(1, i, o, l, hit);
            continue;
        }
        names += l > 0;
    }
    if (s->type == T_EXACT)
        return EZ_SEL_NONE;
    uint32_t steps = names ? EZ_SEL_STEPS / (uint32_t)names : EZ_SEL_STEPS;
    if (steps < EZ_SEL_MIN_STEPS)
        steps = EZ_SEL_MIN_STEPS;
    for (int i = 0; i < n && hits < 2; i++) {
        size_t o, l;
        if (!models || !models[i])
            continue;
        ez_go_trim(models[i], strlen(models[i]), &o, &l);
        if (l == 0)
            continue;
        int match;
        if (s->type == T_REGEX) {
            match = ez_gore_match(s->re, models[i] + o, l, steps);
            if (match == -1)
                return EZ_SEL_BOUND;
            if (match < 0)
                return EZ_SEL_NOMEM;
        } else {
            size_t nl;
            char *norm = normalize(models[i] + o, l, &nl);
            if (!norm)
                return EZ_SEL_NOMEM;
            match = nl == s->normlen && memcmp(norm, s->norm, nl) == 0;
            free(norm);
        }
        if (match) {
            hits++;
            index = i, off = o, len = l;
        }
    }
    return found(hits, index, off, len, hit);
}

enum ez_sel_rc ez_sel_resolve(const char *type, const char *value, const char *public_model,
                              const char *const *models, int n, struct ez_sel_hit *hit)
{
    struct ez_sel s;
    enum ez_sel_rc rc = ez_sel_prepare(&s, type, value, public_model);
    if (rc == EZ_SEL_OK)
        rc = ez_sel_find(&s, models, n, hit);
    else
        *hit = (struct ez_sel_hit){ .index = -1 };
    ez_sel_release(&s);
    return rc;
}

int ez_sel_check(const char *type, const char *value, const char *public_model, char *why,
                 size_t whylen)
{
    struct ez_sel s;
    enum ez_sel_rc rc = ez_sel_prepare(&s, type, value, public_model);
    ez_sel_release(&s);
    if (rc != EZ_SEL_INVALID || !type || strcmp(type, "regex") != 0)
        return 0;
    snprintf(why, whylen, "%s", s.why);
    return -1;
}
