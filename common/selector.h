/* Binding selectors, resolved exactly as the data plane's routing library
 * resolves them (docs/catalog.md, "Selectors"): exact, regex (Go's RE2
 * syntax) and normalize_exact over a group's model list. Pure and
 * deterministic: work is bounded in steps, never in time, so the syncer,
 * a full resync, verify and route explain always compute the same answer. */
#ifndef EZ_SELECTOR_H
#define EZ_SELECTOR_H

#include <stddef.h>

#include "goregex.h"

/* Regex matching work of one binding over one model list, in PCRE2 match
 * steps (a step is tens of nanoseconds): shared evenly by the models, at
 * least EZ_SEL_MIN_STEPS each. */
#define EZ_SEL_STEPS 2000000u
#define EZ_SEL_MIN_STEPS 2000u

enum ez_sel_rc {
    EZ_SEL_OK = 0,
    EZ_SEL_NONE,    /* no model matches */
    EZ_SEL_MANY,    /* regex or normalize_exact matches more than one model */
    EZ_SEL_INVALID, /* unknown type, empty value, or a regex Go refuses */
    EZ_SEL_BOUND,   /* the regex exceeds ezapi's bounds (size or steps) */
    EZ_SEL_NOMEM,
};

/* The model picked: models[index], trimmed to [off, off + len). */
struct ez_sel_hit {
    int index;
    size_t off, len;
};

/* A selector ready to run over model lists. */
struct ez_sel {
    int type;
    const char *value; /* trimmed value (or public model); borrowed */
    size_t len;
    char *norm;        /* normalize_exact: the normalized value */
    size_t normlen;
    struct ez_gore *re; /* regex */
    enum ez_sel_rc error; /* not EZ_SEL_OK: every find answers it */
    char why[160];
};

/* Prepares type/value (value "" or blank = public_model; type "" = exact).
 * Always fills *s (release it); returns s->error. Strings are borrowed. */
enum ez_sel_rc ez_sel_prepare(struct ez_sel *s, const char *type, const char *value,
                              const char *public_model);
/* Resolves over models[0..n) (NULL entries are skipped). */
enum ez_sel_rc ez_sel_find(const struct ez_sel *s, const char *const *models, int n,
                           struct ez_sel_hit *hit);
void ez_sel_release(struct ez_sel *s);

/* prepare + find + release: the fuzz-friendly entry point. */
enum ez_sel_rc ez_sel_resolve(const char *type, const char *value, const char *public_model,
                              const char *const *models, int n, struct ez_sel_hit *hit);

/* The API's rule: 0, or -1 with Go's reason in why when the selector is a
 * regex that Go's regexp refuses (a pattern Go accepts but too big for
 * ezapi is accepted; its binding resolves to config_error). */
int ez_sel_check(const char *type, const char *value, const char *public_model, char *why,
                 size_t whylen) __attribute__((warn_unused_result));

const char *ez_sel_rc_name(enum ez_sel_rc rc);

#endif
