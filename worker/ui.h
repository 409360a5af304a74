/* The admin console's files (ui/), embedded at build time by
 * scripts/embed-ui.sh into the generated worker/ui_assets.c, and the lookup
 * the /ui/ handlers use. Nothing here reads the file system. */
#ifndef EZ_UI_H
#define EZ_UI_H

#include <stddef.h>

struct ez_ui_asset {
    const char *name;         /* flat file name, e.g. "app.js" */
    const char *content_type; /* with charset for text */
    const unsigned char *data;
    size_t len;
    const char *etag;         /* strong, quoted: "\"<32 hex>\"" */
};

extern const struct ez_ui_asset ez_ui_assets[];
extern const int ez_ui_assets_count;

/* The asset named name, or NULL. */
const struct ez_ui_asset *ez_ui_find(const char *name);
/* 1 when an If-None-Match header value (a list of entity tags, weak ones
 * included, or "*") names etag. */
int ez_ui_etag_matches(const char *if_none_match, const char *etag);

struct ez_req;
/* 1 when path is the console's: /ui, or anything under /ui/. */
int ez_ui_path(const char *path);
/* Adds the headers every console answer carries (CSP, nosniff, no-referrer,
 * no framing); the dispatcher calls it for each request of a console path,
 * whatever the answer (the page, 304, 404, 405). */
void ez_ui_security_headers(struct ez_req *r);
/* The console's 404 for a path under /ui/ that no route matches (/ui/a/b):
 * not_found with param file, or console_off. */
void ez_ui_not_found(struct ez_req *r);

#endif
