/* Admin bearer JWTs, the viewer rule, and the metrics allow-list. Master
 * credentials are checked by ez_auth_master (tenants). */
#include "auth.h"
#include "auth_limit.h"
#include "auth_master.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jwt.h"
#include "log.h"
#include "metrics.h"
#include "routes.h"
#include "worker.h"

const char *ez_bearer(struct ez_req *r)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(r->ev), "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    return *h ? h : NULL;
}

static void unauthorized(struct ez_req *r, const char *why)
{
    ez_metric_inc(EZ_M_auth_fail_admin);
    evhttp_add_header(evhttp_request_get_output_headers(r->ev), "WWW-Authenticate", "Bearer");
    ez_auth_limit_failed(r);
    ez_reply_error(r, 401, "authentication_error", "invalid_credentials", NULL,
                   "missing or invalid credentials: %s", why);
}

/* read_only: a route that changes nothing, open to viewers whatever its method. */
static int admin(struct ez_req *r, int read_only)
{
    const char *tok = ez_bearer(r);
    if (!tok) {
        unauthorized(r, "no bearer token");
        return -1;
    }
    struct ez_admin_claims c;
    const char *why = "invalid token";
    if (ez_jwt_verify_admin(ez_w.cfg, tok, &c, &why) != 0) {
        if (ez_auth_is_master_credential(tok))
            ez_reply_error(r, 403, "permission_error", "master_credential", NULL,
                           "admin routes do not accept master credentials");
        else
            unauthorized(r, why);
        return -1;
    }
    r->who.kind = EZ_ACTOR_ADMIN;
    snprintf(r->who.sub, sizeof r->who.sub, "%s", c.sub);
    r->who.viewer = c.viewer;
    if (c.viewer && !read_only && strcmp(r->method, "GET") != 0 &&
        strcmp(r->method, "HEAD") != 0) {
        ez_reply_error(r, 403, "permission_error", "read_only_role", NULL,
                       "the viewer role may only read");
        return -1;
    }
    return 0;
}

/* Is the peer address inside one of the comma-separated CIDRs? */
static int address_allowed(const char *addr, const char *cidrs)
{
    unsigned char a[16], net[16];
    int fam = strchr(addr, ':') ? AF_INET6 : AF_INET;
    if (inet_pton(fam, addr, a) != 1)
        return 0;
    const char *p = cidrs;
    while (*p) {
        char item[128];
        size_t n = strcspn(p, ",");
        snprintf(item, sizeof item, "%.*s", (int)(n < sizeof item ? n : sizeof item - 1), p);
        p += n + (p[n] == ',');
        char *s = item;
        while (*s == ' ')
            s++;
        char *slash = strchr(s, '/');
        int bits = fam == AF_INET ? 32 : 128;
        if (slash) {
            *slash = 0;
            bits = atoi(slash + 1);
        }
        int ifam = strchr(s, ':') ? AF_INET6 : AF_INET;
        if (ifam != fam || inet_pton(fam, s, net) != 1)
            continue;
        int ok = 1;
        for (int b = 0; b < bits && ok; b++)
            ok = ((a[b / 8] ^ net[b / 8]) & (0x80 >> (b % 8))) == 0;
        if (ok)
            return 1;
    }
    return 0;
}

int ez_authenticate(struct ez_req *r)
{
    switch (r->route->auth) {
    case EZ_AUTH_PUBLIC:
        return 0;
    case EZ_AUTH_ADMIN:
        return ez_auth_limit_check(r, 0) == 0 ? admin(r, 0) : -1;
    case EZ_AUTH_ADMIN_READ:
        return ez_auth_limit_check(r, 0) == 0 ? admin(r, 1) : -1;
    case EZ_AUTH_METRICS:
        if (address_allowed(r->remote, ez_w.cfg->metrics_allow))
            return 0;
        ez_reply_error(r, 403, "permission_error", "address_not_allowed", NULL,
                       "metrics are not served to %s", r->remote);
        return -1;
    case EZ_AUTH_MASTER:
        return ez_auth_limit_check(r, 1) == 0 ? ez_auth_master(r) : -1;
    }
    log_error("route %s %s has no authenticator", r->method, r->route->path);
    ez_reply_error(r, 500, "api_error", NULL, NULL, "internal error");
    return -1;
}
