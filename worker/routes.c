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

/* A path or template cut at its slashes: "/admin/masters/{id}" is three
 * segments, "/ui/" two (the last one empty). No template has more than
 * MAX_SEGMENTS; a longer path matches none. */
#define MAX_SEGMENTS 8

struct segments {
    int n;
    size_t at[MAX_SEGMENTS], len[MAX_SEGMENTS];
};

/* 0, or -1 when p is not "/" followed by at most MAX_SEGMENTS segments. */
static int cut(const char *p, struct segments *s)
{
    if (p[0] != '/')
        return -1;
    size_t pos = 1;
    for (s->n = 0; s->n < MAX_SEGMENTS; s->n++) {
        size_t len = strcspn(p + pos, "/");
        s->at[s->n] = pos;
        s->len[s->n] = len;
        pos += len;
        if (p[pos] == 0) {
            s->n++;
            return 0;
        }
        pos++;
    }
    return -1;
}

/* Every template cut once, when the first path is matched: matching then
 * compares segment counts and lengths before any byte. */
static struct segments templates[sizeof ez_routes / sizeof ez_routes[0]];

static void cut_templates(void)
{
    static int done;
    if (done)
        return;
    for (int i = 0; i < ez_routes_count; i++)
        if (cut(ez_routes[i].path, &templates[i]) != 0)
            templates[i].n = -1; /* never matches; check_http asserts none is */
    done = 1;
}

static int is_placeholder(int route, int seg)
{
    return ez_routes[route].path[templates[route].at[seg]] == '{';
}

/* Number of literal segments of the route's template that path matches
 * (higher = more specific), or -1. A literal segment matches the same
 * bytes, a placeholder any non-empty segment. */
static int match_template(int route, const char *path, const struct segments *p)
{
    const struct segments *t = &templates[route];
    if (t->n != p->n)
        return -1;
    int literal = 0;
    for (int i = 0; i < t->n; i++) {
        if (is_placeholder(route, i)) {
            if (p->len[i] == 0)
                return -1;
        } else if (t->len[i] != p->len[i] ||
                   memcmp(ez_routes[route].path + t->at[i], path + p->at[i], p->len[i]) != 0) {
            return -1;
        } else {
            literal++;
        }
    }
    return literal;
}

/* The route's placeholders, decoded into params: 0, or -1 with none kept
 * and *nparams the index of the one that does not decode. */
static int take_params(int route, const char *path, const struct segments *p, char **params,
                       int *nparams)
{
    int n = 0;
    for (int i = 0; i < p->n; i++) {
        if (!is_placeholder(route, i))
            continue;
        if (n == EZ_MAX_PARAMS || !(params[n] = decode_segment(path + p->at[i], p->len[i]))) {
            *nparams = n;
            while (n > 0) {
                n--;
                free(params[n]);
                params[n] = NULL;
            }
            return -1;
        }
        n++;
    }
    *nparams = n;
    return 0;
}

int ez_route_match(const char *method, const char *path, const struct ez_route **route,
                   char **params, int *nparams, char *allow, size_t allowlen)
{
    /* The most specific template decides: its route for this method, or
     * a 405 listing the methods of the templates as specific as it. */
    cut_templates();
    struct segments segs;
    if (cut(path, &segs) != 0)
        return EZ_ROUTE_NOT_FOUND;
    int score[sizeof ez_routes / sizeof ez_routes[0]];
    int best = -1, top = -1;
    for (int i = 0; i < ez_routes_count; i++) {
        score[i] = match_template(i, path, &segs);
        if (score[i] > top)
            top = score[i];
        if (score[i] >= 0 && strcmp(ez_routes[i].method, method) == 0 &&
            (best < 0 || score[i] > score[best]))
            best = i;
    }
    if (best >= 0 && score[best] == top) {
        *route = &ez_routes[best];
        if (take_params(best, path, &segs, params, nparams) != 0)
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
