/* What the validator unit suites (tests/check_validate*.c) share: a body
 * from JSON text, the outcome of one check copied out of it, and the
 * assertions on that outcome. Pure: no server, no database, no Redis.
 * These suites do not link tests/harness.c (which owns services), so
 * vu_fmt is their own ht_tmpf. */
#ifndef EZ_TESTS_VALIDATE_UNIT_H
#define EZ_TESTS_VALIDATE_UNIT_H

#include <check.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "worker/outcome.h"

/* A request body as the HTTP layer hands it over (NUL bytes inside strings
 * allowed, as the parser lets them through to be refused by name). NULL
 * text = no body. Aborts the test when the text is not JSON. */
static inline json_t *vu_body(const char *text)
{
    if (!text)
        return NULL;
    json_error_t err;
    json_t *j = json_loads(text, JSON_ALLOW_NUL, &err);
    ck_assert_msg(j != NULL, "test body is not JSON (%s): %s", err.text, text);
    return j;
}

/* One check's outcome, copied so that the body can be freed. */
struct vu_result {
    int rc;
    int status;
    char code[64];   /* "" when the check left it NULL */
    char param[96];  /* "" when NULL */
    int has_param;
    char msg[1024];
};

static inline struct vu_result vu_result(int rc, const struct ez_verr *e)
{
    struct vu_result r = { .rc = rc };
    if (rc == 0)
        return r;
    r.status = (int)e->status;
    snprintf(r.code, sizeof r.code, "%s", e->code ? e->code : "");
    snprintf(r.param, sizeof r.param, "%s", e->param ? e->param : "");
    r.has_param = e->param != NULL;
    snprintf(r.msg, sizeof r.msg, "%s", e->msg);
    return r;
}

/* The check refused with this status and param (NULL: no param), and said
 * why in a non-empty message. */
#define vu_refused(r, st, prm, what) vu_refused_at((r), (st), (prm), (what), __FILE__, __LINE__)
static inline void vu_refused_at(struct vu_result r, int status, const char *param,
                                 const char *what, const char *file, int line)
{
    ck_assert_msg(r.rc == -1, "%s:%d: %s was accepted, expected %d on %s", file, line, what,
                  status, param ? param : "(no param)");
    ck_assert_msg(r.status == status, "%s:%d: %s: status %d, expected %d (%s)", file, line, what,
                  r.status, status, r.msg);
    if (param)
        ck_assert_msg(r.has_param && strcmp(r.param, param) == 0,
                      "%s:%d: %s: param \"%s\", expected \"%s\" (%s)", file, line, what, r.param,
                      param, r.msg);
    else
        ck_assert_msg(!r.has_param, "%s:%d: %s: param \"%s\", expected none (%s)", file, line,
                      what, r.param, r.msg);
    ck_assert_msg(r.msg[0] != '\0', "%s:%d: %s: refused without a message", file, line, what);
}

#define vu_accepted(r, what) vu_accepted_at((r), (what), __FILE__, __LINE__)
static inline void vu_accepted_at(struct vu_result r, const char *what, const char *file,
                                  int line)
{
    ck_assert_msg(r.rc == 0, "%s:%d: %s was refused: %d %s: %s", file, line, what, r.status,
                  r.param, r.msg);
}

/* One refusal case of a table: the body, then what it gets. */
struct vu_case {
    const char *body;
    int status;
    const char *param;
};

/* A string of n copies of c. Four calls may be used at once (rotating
 * static buffers of 8 KiB). */
static inline const char *vu_repeat(char c, size_t n)
{
    static char bufs[4][8192];
    static int next;
    char *buf = bufs[next++ % 4];
    ck_assert_uint_lt(n, sizeof bufs[0]);
    memset(buf, c, n);
    buf[n] = '\0';
    return buf;
}

/* printf into one of sixteen rotating static buffers of 16 KiB, so that
 * a table of cases may hold up to sixteen (aborts the test rather than cut
 * the text short). */
static inline const char *vu_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline const char *vu_fmt(const char *fmt, ...)
{
    static char bufs[16][16384];
    static int next;
    char *buf = bufs[next++ % 16];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof bufs[0], fmt, ap);
    va_end(ap);
    ck_assert_msg(n >= 0 && (size_t)n < sizeof bufs[0], "vu_fmt: text too long");
    return buf;
}

/* Runs the suite (one forked process per test) and returns the exit code. */
static inline int vu_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

#endif
