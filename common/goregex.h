/* Go regular expressions (the RE2 syntax of Go's regexp package, as the
 * data plane compiles selectors) run by PCRE2: a front-end that accepts
 * exactly what Go's parser accepts and writes an equivalent PCRE2 pattern,
 * and a matcher with bounded work. No regex engine of our own. */
#ifndef EZ_GOREGEX_H
#define EZ_GOREGEX_H

#include <stddef.h>
#include <stdint.h>

/* Longest pattern translated; longer ones are refused as too large (the
 * API stores at most 256 bytes). */
#define EZ_GORE_MAX_PATTERN 1024

struct ez_gore;

enum ez_gore_status {
    EZ_GORE_OK = 0,
    EZ_GORE_REFUSED,  /* Go's regexp refuses the pattern; why says why */
    EZ_GORE_TOO_BIG,  /* Go accepts it, but it exceeds ezapi's bounds */
    EZ_GORE_NOMEM,
};


/* Translates and compiles; *re is NULL unless EZ_GORE_OK. */
enum ez_gore_status ez_gore_compile(const char *pattern, size_t n, struct ez_gore **re, char *why,
                                    size_t whylen) __attribute__((warn_unused_result));

/* Go's MatchString (unanchored) over s[0..n), invalid UTF-8 read as Go
 * reads it. At most `steps` PCRE2 match steps: 1 match, 0 no match, -1
 * the steps, depth or memory bound was reached, -2 another failure. */
int ez_gore_match(struct ez_gore *re, const char *s, size_t n, uint32_t steps)
    __attribute__((warn_unused_result));

void ez_gore_free(struct ez_gore *re);

#endif
