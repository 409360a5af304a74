/* GET /admin/audit (every record) and GET /v1/audit (the calling master's
 * own actions), newest first with an opaque cursor. */
#include <stdio.h>

#include "handlers.h"
#include "store_audit.h"
#include "validate_audit.h"
#include "worker.h"

static void list(struct ez_req *r, const char *actor_type, const char *actor)
{
    struct ez_audit_query q;
    struct ez_outcome o = { 0 };
    json_t *rows = NULL;
    if (ez_validate_audit_query(&r->query, &q, &o.e) == 0) {
        if (actor_type) { /* a master sees only its own actions */
            q.actor_type = actor_type;
            q.actor = actor;
        }
        o.db = ez_store_audit_list(ez_w.db, &q, &rows);
    }
    if (!ez_reply_outcome(r, &o, NULL))
        return;
    int more = (int)json_array_size(rows) > q.limit;
    if (more)
        json_array_remove(rows, (size_t)q.limit);
    json_t *next = json_null();
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        if (more && i + 1 == json_array_size(rows)) {
            char buf[64];
            long long tv, iv;
            if (sscanf(json_string_value(json_object_get(row, "_cursor")), "%lld:%lld", &tv,
                       &iv) == 2) {
                snprintf(buf, sizeof buf, "a%lld_%lld", tv, iv);
                next = json_string(buf);
            }
        }
        json_object_del(row, "_cursor");
    }
    ez_reply_json(r, 200, json_pack("{s:o, s:b, s:o}", "data", rows, "has_more", more,
                                    "next_cursor", next));
}

void h_audit_admin(struct ez_req *r)
{
    list(r, NULL, NULL);
}

void h_audit_master(struct ez_req *r)
{
    list(r, "master", r->who.sub);
}
