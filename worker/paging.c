/* Cursors are "c" + the last id in hex: opaque to clients, stable, and
 * cheap to check. */
#include "paging.h"

#include "db.h"
#include "rules.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ez_page_parse(struct ez_req *r, struct ez_page *p)
{
    p->limit = EZ_PAGE_DEFAULT_LIMIT;
    p->after = 0;
    const char *l = ez_query(r, "limit"), *c = ez_query(r, "cursor");
    if (l) {
        char *end;
        long v = strtol(l, &end, 10);
        if (!*l || *end || v < 1 || v > EZ_PAGE_MAX_LIMIT) {
            ez_reply_invalid(r, "limit", "limit must be an integer from 1 to %d",
                             EZ_PAGE_MAX_LIMIT);
            return -1;
        }
        p->limit = (int)v;
    }
    if (c && *c) {
        char *end;
        unsigned long long v = c[0] == 'c' && c[1] ? strtoull(c + 1, &end, 16) : 0;
        if (!v || *end || strlen(c) > 17) {
            ez_reply_invalid(r, "cursor", "cursor is not one this server issued");
            return -1;
        }
        p->after = (int64_t)v;
    }
    return 0;
}

json_t *ez_page_result(json_t *rows, const struct ez_page *p)
{
    int more = (int)json_array_size(rows) > p->limit;
    if (more)
        json_array_remove(rows, (size_t)p->limit);
    json_t *next = json_null();
    if (more) {
        json_t *last = json_array_get(rows, json_array_size(rows) - 1);
        char buf[24];
        snprintf(buf, sizeof buf, "c%" PRIx64,
                 (uint64_t)json_integer_value(json_object_get(last, "id")));
        next = json_string(buf);
    }
    return json_pack("{s:o, s:b, s:o}", "data", rows, "has_more", more, "next_cursor", next);
}

void ez_reply_page(struct ez_req *r, int db_rc, json_t *rows, const struct ez_page *p)
{
    if (db_rc != EZ_DB_OK) {
        json_decref(rows);
        ez_reply_db(r, db_rc);
        return;
    }
    ez_reply_json(r, 200, ez_page_result(rows, p));
}
