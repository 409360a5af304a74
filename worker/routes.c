/* The dispatch table, generated from route_table.h, and its matcher.
 * Order does not matter: a template segment `{x}` matches any one
 * non-empty segment, literal segments match exactly, and a literal match
 * is preferred over a placeholder. A placeholder is percent-decoded; one
 * that decodes to a control character (NUL included) is refused, never cut
 * short. */
#include "routes.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "handlers.h"

const struct ez_route ez_routes[] = {
#define ROUTE(m, p, h, a, id, t, sum, ...)                                                \
    { .method = #m, .path = p, .handler = h, .auth = EZ_AUTH_##a, .operation_id = id,     \
      .tag = t, .summary = sum, __VA_ARGS__ },
#include "route_table.h"
#undef ROUTE
};
const int ez_routes_count = sizeof ez_routes / sizeof ez_routes[0];

/* The decoded segment, or NULL when it holds a control character (or is
 * not validly percent-encoded: evhttp would leave the '%' as it is). */
static char *decode_segment(const char *raw, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (raw[i] == '%' && (i + 2 >= n || !isxdigit((unsigned char)raw[i + 1]) ||
                              !isxdigit((unsigned char)raw[i + 2])))
            return NULL;
    char *copy = strndup(raw, n);
    size_t len = 0;
    char *out = copy ? evhttp_uridecode(copy, 0, &len) : NULL;
    free(copy);
    for (size_t i = 0; out && i < len; i++) {
        if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f) {
            free(out);
            return NULL;
        }
    }
    return out;
}

/* Number of literal segments matched (higher = more specific), or -1; -2
 * when params are wanted and placeholder *nparams does not decode. Literal
 * segments are compared as they are walked, so most templates fail at
 * their first differing character. */
static int match_template(const char *tpl, const char *path, char **params, int *nparams)
{
    int literal = 0, n = 0;
    while (*tpl == '/' && *path == '/') {
        tpl++;
        path++;
        if (tpl[0] == '{') {
            size_t pl = strcspn(path, "/");
            if (pl == 0 || n == EZ_MAX_PARAMS)
                goto fail;
            if (params && !(params[n] = decode_segment(path, pl))) {
                if (nparams)
                    *nparams = n;
                for (int i = 0; i < n; i++) {
                    free(params[i]);
                    params[i] = NULL;
                }
                return -2;
            }
            n++;
            tpl += strcspn(tpl, "/");
            path += pl;
        } else {
            while (*tpl && *tpl != '/' && *tpl == *path) {
                tpl++;
                path++;
            }
            if ((*tpl && *tpl != '/') || (*path && *path != '/'))
                goto fail;
            literal++;
        }
    }
    if (*tpl || *path)
        goto fail;
    if (nparams)
        *nparams = n;
    return literal;
fail:
    for (int i = 0; params && i < n; i++) {
        free(params[i]);
        params[i] = NULL;
    }
    return -1;
}

int ez_route_match(const char *method, const char *path, const struct ez_route **route,
                   char **params, int *nparams, char *allow, size_t allowlen)
{
    /* The most specific template decides: its route for this method, or
     * a 405 listing the methods of the templates as specific as it. */
    int score[sizeof ez_routes / sizeof ez_routes[0]];
    int best = -1, top = -1;
    for (int i = 0; i < ez_routes_count; i++) {
        score[i] = match_template(ez_routes[i].path, path, NULL, NULL);
        if (score[i] > top)
            top = score[i];
        if (score[i] >= 0 && strcmp(ez_routes[i].method, method) == 0 &&
            (best < 0 || score[i] > score[best]))
            best = i;
    }
    if (best >= 0 && score[best] == top) {
        *route = &ez_routes[best];
        if (match_template(ez_routes[best].path, path, params, nparams) == -2)
            return EZ_ROUTE_BAD_PARAM;
        return EZ_ROUTE_FOUND;
    }
    if (top < 0)
        return EZ_ROUTE_NOT_FOUND;
    allow[0] = 0;
    for (int i = 0; i < ez_routes_count; i++) {
        if (score[i] != top || strstr(allow, ez_routes[i].method))
            continue;
        size_t used = strlen(allow);
        snprintf(allow + used, allowlen - used, "%s%s", used ? ", " : "", ez_routes[i].method);
    }
    return EZ_ROUTE_BAD_METHOD;
}

void ez_route_param_name(const struct ez_route *route, int i, char *buf, size_t len)
{
    const char *p = route->path;
    for (int n = 0; (p = strchr(p, '{')) != NULL; n++, p++) {
        if (n == i) {
            snprintf(buf, len, "%.*s", (int)strcspn(p + 1, "}"), p + 1);
            return;
        }
    }
    snprintf(buf, len, "id");
}
