/* Cursors are "c" + the last id in lowercase hex (no leading zero): opaque
 * to clients, stable, and cheap to check. Only that exact form is taken
 * back, and limit only as plain decimal. */
#include "paging.h"

#include "db.h"
#include "outcome.h"
#include "validate.h"
#include "rules.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ez_page_sql(const struct ez_page *p, struct ez_page_sql *out)
{
    snprintf(out->after, sizeof out->after, "%lld", (long long)p->after);
    snprintf(out->limit, sizeof out->limit, "%d", p->limit + 1);
}

int ez_cursor_parse(const char *s, int64_t *after)
{
    if (s[0] != 'c' || s[1] == '0')
        return -1;
    uint64_t v = 0;
    size_t n = 1;
    for (; s[n]; n++) {
        char c = s[n];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0 || n > 16)
            return -1;
        v = v * 16 + (uint64_t)d;
    }
    if (n == 1 || v > (uint64_t)INT64_MAX)
        return -1;
    *after = (int64_t)v;
    return 0;
}

int ez_page_parse(struct ez_req *r, struct ez_page *p)
{
    p->limit = EZ_PAGE_DEFAULT_LIMIT;
    p->after = 0;
    const char *l = ez_query(r, "limit"), *c = ez_query(r, "cursor");
    if (l) {
        int64_t v;
        if (ez_parse_id(l, &v) != 0 || v > EZ_PAGE_MAX_LIMIT) {
            ez_reply_invalid(r, "limit", "limit must be an integer from 1 to %d",
                             EZ_PAGE_MAX_LIMIT);
            return -1;
        }
        p->limit = (int)v;
    }
    if (c && *c && ez_cursor_parse(c, &p->after) != 0) {
        ez_reply_invalid(r, "cursor", "cursor is not one this server issued");
        return -1;
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

void ez_reply_status_list(struct ez_req *r, struct ez_db *db, const char *const *statuses,
                          ez_status_list_fn *fetch)
{
    struct ez_page pg;
    struct ez_outcome o = { 0 };
    const char *status = ez_query(r, "status");
    json_t *rows = NULL;
    if (ez_page_parse(r, &pg) != 0)
        return;
    if (ez_v_query_enum("status", status, statuses, &o.e) == 0)
        o.db = fetch(db, &pg, status, &rows);
    if (ez_reply_outcome(r, &o, NULL))
        ez_reply_page(r, o.db, rows, &pg);
}
