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

#endif
