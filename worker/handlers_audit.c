/* GET /admin/audit (every record) and GET /v1/audit (the calling master's
 * own actions), newest first with an opaque cursor. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "store_audit.h"
#include "worker.h"

/* YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM) */
static int rfc3339(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    size_t i = 0;
    for (; shape[i]; i++) {
        if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
            return 0;
    }
    if (s[i] == '.') {
        i++;
        size_t digits = 0;
        while (isdigit((unsigned char)s[i]) && digits < 9)
            i++, digits++;
        if (!digits)
            return 0;
    }
    if (s[i] == 'Z')
        return s[i + 1] == 0;
    return (s[i] == '+' || s[i] == '-') && isdigit((unsigned char)s[i + 1]) &&
           isdigit((unsigned char)s[i + 2]) && s[i + 3] == ':' &&
           isdigit((unsigned char)s[i + 4]) && isdigit((unsigned char)s[i + 5]) && s[i + 6] == 0;
}

static void list(struct ez_req *r, const char *actor_type, const char *actor)
{
    static const char *const filters[] = { "actor_type", "actor", "action", "resource",
                                           "resource_id", "request_id" };
    struct ez_audit_query q = { .limit = 50 };
    const char **fields[] = { &q.actor_type, &q.actor, &q.action, &q.resource, &q.resource_id,
                              &q.request_id };
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++) {
        const char *v = ez_query(r, filters[i]);
        if (v && strlen(v) > 256) {
            ez_reply_invalid(r, filters[i], "%s is longer than 256 bytes", filters[i]);
            return;
        }
        *fields[i] = v;
    }
    if (q.actor_type && strcmp(q.actor_type, "admin") != 0 && strcmp(q.actor_type, "master") != 0 &&
        strcmp(q.actor_type, "anonymous") != 0) {
        ez_reply_invalid(r, "actor_type", "actor_type must be admin, master or anonymous");
        return;
    }
    if (actor_type) { /* a master sees only its own actions */
        q.actor_type = actor_type;
        q.actor = actor;
    }
    q.since = ez_query(r, "since");
    q.until = ez_query(r, "until");
    if ((q.since && !rfc3339(q.since)) || (q.until && !rfc3339(q.until))) {
        ez_reply_invalid(r, q.since && !rfc3339(q.since) ? "since" : "until",
                         "since and until must be RFC 3339 timestamps");
        return;
    }
    const char *l = ez_query(r, "limit");
    if (l) {
        char *end;
        long v = strtol(l, &end, 10);
        if (!*l || *end || v < 1 || v > 200) {
            ez_reply_invalid(r, "limit", "limit must be an integer from 1 to 200");
            return;
        }
        q.limit = (int)v;
    }
    char t[24], id[24];
    const char *c = ez_query(r, "cursor");
    if (c && *c) {
        long long tv, iv;
        char tail;
        if (sscanf(c, "a%lld_%lld%c", &tv, &iv, &tail) != 2 || tv < 0 || iv <= 0) {
            ez_reply_invalid(r, "cursor", "cursor is not one this server issued");
            return;
        }
        snprintf(t, sizeof t, "%lld", tv);
        snprintf(id, sizeof id, "%lld", iv);
        q.before_time = t;
        q.before_id = id;
    }
    json_t *rows;
    int rc = ez_store_audit_list(ez_w.db, &q, &rows);
    if (rc != EZ_DB_OK) {
        ez_reply_db(r, rc);
        return;
    }
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
