/* GET /ui, /ui/ (the page) and /ui/{file}: the admin console's embedded files, with
 * ETag revalidation and the security headers every console answer carries
 * (docs/console.md). Serves only the table built from ui/; never a file. */
#include "ui.h"

#include <string.h>

#include <event2/http.h>

#include "handlers.h"
#include "worker.h"

/* No inline script or style, nothing from another host, no framing. */
#define UI_CSP                                                                              \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "             \
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "          \
    "frame-ancestors 'none'"

const struct ez_ui_asset *ez_ui_find(const char *name)
{
    for (int i = 0; i < ez_ui_assets_count; i++)
        if (strcmp(ez_ui_assets[i].name, name) == 0)
            return &ez_ui_assets[i];
    return NULL;
}

int ez_ui_etag_matches(const char *inm, const char *etag)
{
    size_t elen = strlen(etag);
    for (const char *p = inm; *p;) {
        p += strspn(p, " \t,");
        if (!*p)
            break;
        size_t n = strcspn(p, ",");
        size_t t = n;
        while (t && (p[t - 1] == ' ' || p[t - 1] == '\t'))
            t--;
        const char *tag = p;
        if (t == 1 && tag[0] == '*')
            return 1;
        if (t > 2 && tag[0] == 'W' && tag[1] == '/') { /* weak comparison */
            tag += 2;
            t -= 2;
        }
        if (t == elen && memcmp(tag, etag, elen) == 0)
            return 1;
        p += n;
    }
    return 0;
}

int ez_ui_path(const char *path)
{
    return strncmp(path, "/ui", 3) == 0 && (path[3] == 0 || path[3] == '/');
}

void ez_ui_security_headers(struct ez_req *r)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(r->ev);
    evhttp_add_header(out, "Content-Security-Policy", UI_CSP);
    evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(out, "Referrer-Policy", "no-referrer");
    evhttp_add_header(out, "X-Frame-Options", "DENY");
}

/* 1 after answering 404 when the console is switched off (ui = off). */
static int refused_when_off(struct ez_req *r)
{
    if (ez_w.cfg->ui)
        return 0;
    ez_reply_error(r, 404, "not_found_error", "console_off", NULL,
                   "the admin console is switched off on this server (ui = off)");
    return 1;
}

static void serve(struct ez_req *r, const char *name)
{
    if (refused_when_off(r))
        return;
    const struct ez_ui_asset *a = ez_ui_find(name);
    if (!a) {
        ez_reply_error(r, 404, "not_found_error", "not_found", "file",
                       "the console has no file of that name");
        return;
    }
    struct evkeyvalq *out = evhttp_request_get_output_headers(r->ev);
    evhttp_add_header(out, "ETag", a->etag);
    /* Names are not versioned: the browser revalidates every time, and an
     * unchanged file costs a 304 without a body. */
    evhttp_add_header(out, "Cache-Control", "no-cache");
    const char *inm =
        evhttp_find_header(evhttp_request_get_input_headers(r->ev), "If-None-Match");
    if (inm && ez_ui_etag_matches(inm, a->etag)) {
        ez_reply_text(r, 304, NULL, NULL, 0);
        return;
    }
    ez_reply_text(r, 200, a->content_type, (const char *)a->data, a->len);
}

void ez_ui_not_found(struct ez_req *r)
{
    serve(r, "");
}

void h_ui_index(struct ez_req *r)
{
    serve(r, "index.html");
}

void h_ui_asset(struct ez_req *r)
{
    serve(r, r->nparams > 0 ? r->params[0] : "");
}
