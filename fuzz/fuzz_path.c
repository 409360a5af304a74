/* libFuzzer target: the path of a request. Byte 0 picks the method, the
 * rest is the path (up to a NUL). It is matched against worker/route_table.h
 * (ez_route_match) and each segment is read as an id (ez_parse_id) and as a
 * cursor (ez_cursor_parse).
 *
 * What must hold: a route found has the method asked and the path's
 * literal segments, one decoded parameter per placeholder, none holding a
 * control character; a 405 lists methods, not the one asked; an accepted
 * id or cursor prints back to exactly the text it was read from. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "worker/paging.h"
#include "worker/routes.h"

static const char *const methods[] = { "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS",
                                       "get" };
#define NMETHODS (sizeof methods / sizeof methods[0])

#ifndef EZ_FUZZ_SEED_MAIN

static int placeholders(const char *tpl)
{
    int n = 0;
    for (; *tpl; tpl++)
        n += *tpl == '{';
    return n;
}

/* The template's literal segments are the path's, and the counts agree. */
static void check_shape(const char *tpl, const char *path)
{
    while (*tpl && *path) {
        EZ_FUZZ_ASSERT(*tpl == '/' && *path == '/', "segments of '%s' vs '%s'", tpl, path);
        tpl++;
        path++;
        size_t tl = strcspn(tpl, "/"), pl = strcspn(path, "/");
        if (tpl[0] != '{')
            EZ_FUZZ_ASSERT(tl == pl && memcmp(tpl, path, tl) == 0, "literal segment differs");
        else
            EZ_FUZZ_ASSERT(pl > 0, "empty placeholder segment");
        tpl += tl;
        path += pl;
    }
    EZ_FUZZ_ASSERT(!*tpl && !*path, "segment counts differ");
}

static void check_segment(const char *seg, size_t n)
{
    char s[64], back[64];
    if (n >= sizeof s)
        return;
    memcpy(s, seg, n);
    s[n] = 0;
    int64_t v = 0;
    if (ez_parse_id(s, &v) == 0) {
        snprintf(back, sizeof back, "%" PRId64, v);
        EZ_FUZZ_ASSERT(v >= 1 && strcmp(back, s) == 0, "id '%s' reads as %" PRId64, s, v);
    }
    if (ez_cursor_parse(s, &v) == 0) {
        snprintf(back, sizeof back, "c%" PRIx64, (uint64_t)v);
        EZ_FUZZ_ASSERT(v >= 1 && strcmp(back, s) == 0, "cursor '%s' reads as %" PRId64, s, v);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *method = methods[data[0] % NMETHODS];
    char *path = strndup((const char *)data + 1, size - 1);
    if (!path)
        return 0;
    const struct ez_route *route = NULL;
    char *params[EZ_MAX_PARAMS] = { 0 };
    int nparams = -1;
    char allow[128];
    int rc = ez_route_match(method, path, &route, params, &nparams, allow, sizeof allow);
    switch (rc) {
    case EZ_ROUTE_FOUND:
        EZ_FUZZ_ASSERT(route && strcmp(route->method, method) == 0, "method");
        EZ_FUZZ_ASSERT(nparams == placeholders(route->path), "%d params for %s", nparams,
                       route->path);
        check_shape(route->path, path);
        for (int i = 0; i < nparams; i++) {
            EZ_FUZZ_ASSERT(params[i], "parameter %d missing", i);
            for (const char *p = params[i]; *p; p++)
                EZ_FUZZ_ASSERT((unsigned char)*p >= 0x20 && *p != 0x7f,
                               "control character in parameter %d", i);
            char name[32];
            ez_route_param_name(route, i, name, sizeof name);
            EZ_FUZZ_ASSERT(name[0], "unnamed parameter");
            free(params[i]);
        }
        break;
    case EZ_ROUTE_BAD_METHOD: {
        EZ_FUZZ_ASSERT(allow[0], "405 with no method allowed");
        char list[sizeof allow + 4];
        snprintf(list, sizeof list, ", %s,", allow);
        char me[16];
        snprintf(me, sizeof me, ", %s,", method);
        EZ_FUZZ_ASSERT(!strstr(list, me), "405 allows %s: %s", method, allow);
        break;
    }
    case EZ_ROUTE_BAD_PARAM:
        EZ_FUZZ_ASSERT(route && nparams >= 0 && nparams < placeholders(route->path),
                       "bad parameter index %d", nparams);
        for (int i = 0; i < EZ_MAX_PARAMS; i++)
            EZ_FUZZ_ASSERT(!params[i], "a parameter kept after a refusal");
        break;
    case EZ_ROUTE_NOT_FOUND:
        break;
    default:
        EZ_FUZZ_ASSERT(0, "ez_route_match returned %d", rc);
    }
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, "/");
        check_segment(p, n);
        p += n + (p[n] == '/');
    }
    free(path);
    return 0;
}

#else

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    char name[32];
    /* every template of the table, its placeholders filled with an id */
    for (int i = 0; i < ez_routes_count; i++) {
        char path[512] = "";
        size_t n = 0;
        for (const char *t = ez_routes[i].path; *t && n < sizeof path - 24;) {
            if (*t == '{') {
                n += (size_t)snprintf(path + n, sizeof path - n, "%d", 10 + i);
                t += strcspn(t, "}") + (strchr(t, '}') != NULL);
            } else {
                path[n++] = *t++;
            }
        }
        int m = 0;
        while (m < (int)NMETHODS && strcmp(methods[m], ez_routes[i].method) != 0)
            m++;
        snprintf(name, sizeof name, "route-%d", i);
        ez_fuzz_seed_parts(argv[1], name, m, path, NULL);
    }
    ez_fuzz_seed_parts(argv[1], "encoded", 0, "/admin/namespaces/team%2Da", NULL);
    ez_fuzz_seed_parts(argv[1], "nul", 0, "/admin/namespaces/a%00b", NULL);
    ez_fuzz_seed_parts(argv[1], "cursor", 0, "/c1f/9223372036854775807/c7fffffffffffffff", NULL);
    ez_fuzz_seed_parts(argv[1], "405", 6, "/admin/namespaces", NULL);
    return 0;
}
#endif
