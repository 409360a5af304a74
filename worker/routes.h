/* The routing table: method + path template -> handler and what
 * /openapi.json says of the route, one entry per row of route_table.h.
 * Templates use {name} for one path segment. */
#ifndef EZ_ROUTES_H
#define EZ_ROUTES_H

#include "http.h"

enum ez_auth_kind {
    EZ_AUTH_PUBLIC = 0, /* no credentials */
    EZ_AUTH_ADMIN,      /* admin JWT; a viewer may only GET */
    EZ_AUTH_MASTER,     /* master key or master session token */
    EZ_AUTH_METRICS,    /* metrics_allow address check */
    EZ_AUTH_ADMIN_READ  /* admin JWT, viewer too: a POST that changes nothing */
};

struct ez_route {
    const char *method;
    const char *path;   /* template, also the `route` metric label */
    ez_handler handler;
    enum ez_auth_kind auth;
    /* The OpenAPI operation (openapi.c); routing ignores the rest. */
    const char *operation_id, *tag, *summary;
    const char *query;  /* keys of openapi.c's qparams[], space-separated */
    const char *body;   /* request body schema, or NULL */
    int body_required;
    int status;         /* the success status */
    const char *answer; /* its body: a schema, "List:<schema>", a media type, or NULL */
    const char *errors; /* statuses beyond those added by auth, body and parameters;
                         * "503:Readiness" answers that schema instead of Error */
    int key_only;       /* master routes: the master key, not a session */
    const char *raw_body; /* a media type besides JSON whose body the handler reads itself
                           * (r->body stays NULL), or NULL */
};

extern const struct ez_route ez_routes[];
extern const int ez_routes_count;

enum { EZ_ROUTE_FOUND = 0, EZ_ROUTE_NOT_FOUND = 1, EZ_ROUTE_BAD_METHOD = 2, EZ_ROUTE_BAD_PARAM = 3 };

/* Matches method and path. FOUND: *route set and params filled (malloc'd,
 * decoded; caller frees). BAD_METHOD: allow receives "GET, PUT" etc.
 * BAD_PARAM: *route set, no param kept, *nparams is the index of the
 * placeholder that decodes to a control character (or not at all). */
int ez_route_match(const char *method, const char *path, const struct ez_route **route,
                   char **params, int *nparams, char *allow, size_t allowlen);
/* The name of placeholder i of the route's template ("id", "name"). */
void ez_route_param_name(const struct ez_route *route, int i, char *buf, size_t len);

#endif
