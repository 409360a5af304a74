/* What every target in fuzz/ shares: the failure report, the check of a
 * refusal against the JSON error the server would answer, splitting an
 * input into parts, and the seed writer of the EZ_FUZZ_SEED_MAIN build.
 * Header-only, so that a target stays one .c file. */
#ifndef EZ_FUZZ_H
#define EZ_FUZZ_H

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/http.h"
#include "worker/outcome.h"

/* An invariant does not hold: say which, then abort (libFuzzer keeps the
 * input as crash-*; the replay test fails). */
#define EZ_FUZZ_ASSERT(cond, ...)                                               \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: invariant failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
            abort();                                                            \
        }                                                                       \
    } while (0)

/* A C string holds no control character but tab and newline (what every
 * string field accepts at most). */
static inline int ez_fuzz_clean(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n')
            return 0;
    return 1;
}

/* A refusal of a validator is answered as the JSON error of every
 * refusal, with its status, a reason that survives into the answer (not
 * the generic "invalid request" of a message that is not UTF-8) and the
 * field it names. `secret` (may be NULL) must not appear in the answer. */
static inline void ez_fuzz_refusal(const struct ez_verr *e, const char *secret)
{
    EZ_FUZZ_ASSERT(e->status == EZ_INVALID || e->status == EZ_RULE || e->status == EZ_CONFLICT ||
                       e->status == EZ_NOT_FOUND,
                   "status %d", (int)e->status);
    EZ_FUZZ_ASSERT(memchr(e->msg, 0, sizeof e->msg) && e->msg[0], "empty reason");
    json_t *doc = ez_refusal_doc(e, "fuzz");
    EZ_FUZZ_ASSERT(doc, "no error document for '%s'", e->msg);
    json_t *err = json_object_get(doc, "error");
    const char *msg = json_string_value(json_object_get(err, "message"));
    EZ_FUZZ_ASSERT(msg && strcmp(msg, e->msg) == 0, "reason lost: '%s' answered as '%s'", e->msg,
                   msg ? msg : "(none)");
    json_t *param = json_object_get(err, "param");
    if (e->param)
        EZ_FUZZ_ASSERT(json_is_string(param) && strcmp(json_string_value(param), e->param) == 0,
                       "param '%s' lost", e->param);
    else
        EZ_FUZZ_ASSERT(json_is_null(param), "param should be null");
    char *text = json_dumps(doc, JSON_COMPACT);
    EZ_FUZZ_ASSERT(text, "error document does not serialise");
    if (secret && strlen(secret) >= 4)
        EZ_FUZZ_ASSERT(!strstr(text, secret), "the answer echoes a secret: %s", text);
    free(text);
    json_decref(doc);
}

/* Splits data at NUL bytes into at most max malloc'd, NUL-terminated parts
 * (the last one takes the rest); missing parts are "". Returns how many
 * parts the input had. Free with ez_fuzz_parts_free. */
static inline int ez_fuzz_split(const uint8_t *data, size_t size, char **parts, int max)
{
    int n = 0;
    size_t at = 0;
    for (; n < max; n++) {
        size_t len = size - at;
        const uint8_t *nul = n < max - 1 && len ? memchr(data + at, 0, len) : NULL;
        if (nul)
            len = (size_t)(nul - (data + at));
        parts[n] = malloc(len + 1);
        if (!parts[n])
            abort();
        if (len)
            memcpy(parts[n], data + at, len);
        parts[n][len] = 0;
        at += len + (nul != NULL);
        if (!nul) {
            int given = n + 1;
            for (n++; n < max; n++)
                parts[n] = calloc(1, 1);
            return given;
        }
    }
    return n;
}

static inline void ez_fuzz_parts_free(char **parts, int n)
{
    for (int i = 0; i < n; i++)
        free(parts[i]);
}

#ifdef EZ_FUZZ_SEED_MAIN
/* Writes one seed input, dir/name. Exits on failure: seeds are written
 * before anything runs. */
static inline void ez_fuzz_seed(const char *dir, const char *name, const void *data, size_t len)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(p);
        exit(1);
    }
}

/* A seed made of a selector byte and parts joined by NUL bytes. */
static inline void ez_fuzz_seed_parts(const char *dir, const char *name, int first, ...)
{
    char buf[8192];
    size_t n = 0;
    if (first >= 0)
        buf[n++] = (char)first;
    va_list ap;
    va_start(ap, first);
    const char *s = va_arg(ap, const char *);
    for (int i = 0; s; i++) {
        size_t l = strlen(s);
        if (i > 0)
            buf[n++] = 0;
        if (n + l + 1 > sizeof buf)
            exit(1);
        memcpy(buf + n, s, l);
        n += l;
        s = va_arg(ap, const char *);
    }
    va_end(ap);
    ez_fuzz_seed(dir, name, buf, n);
}
#endif

#endif
