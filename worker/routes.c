/* The dispatch table, generated from route_table.h, and its matcher.
 * Order does not matter: a template segment `{x}` matches any one
 * non-empty segment, literal segments match exactly, and a literal match
 * is preferred over a placeholder. */
#include "routes.h"

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

/* Number of literal segments matched (higher = more specific), or -1.
 * Literal segments are compared as they are walked, so most templates
 * fail at their first differing character. */
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
            if (params) {
                char *raw = strndup(path, pl);
                params[n] = raw ? evhttp_uridecode(raw, 0, NULL) : NULL;
                free(raw);
                if (!params[n])
                    goto fail;
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
        match_template(ez_routes[best].path, path, params, nparams);
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
