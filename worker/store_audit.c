/* Audit queries. Optional filters are written as "$n IS NULL OR col = $n":
 * libpq's unnamed statements are planned with the actual values, so a
 * missing filter folds away and the matching index is used. */
#include "store_audit.h"

#include <stdio.h>

int ez_store_audit_list(struct ez_db *db, const struct ez_audit_query *q, json_t **rows)
{
    char limit[16];
    snprintf(limit, sizeof limit, "%d", q->limit + 1);
    const char *p[] = { q->actor_type, q->actor, q->action, q->resource, q->resource_id,
                        q->request_id, q->since, q->until, *q->before_time ? q->before_time : NULL,
                        *q->before_id ? q->before_id : NULL, limit };
    return ez_db_json_rows(
        db, rows,
        "SELECT json_build_object('id', id, 'time', "
        "to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
        "'request_id', request_id, 'actor_type', actor_type, 'actor', actor, "
        "'action', action, 'resource', resource, 'resource_id', resource_id, "
        "'method', method, 'path', path, 'status', status, 'remote_addr', remote_addr, "
        "'user_agent', user_agent, 'latency_us', latency_us, 'changes', changes, "
        "'_cursor', (extract(epoch FROM time) * 1000000)::bigint || ':' || id) "
        "FROM audit_records WHERE "
        "($1::text IS NULL OR actor_type = $1) AND ($2::text IS NULL OR actor = $2) AND "
        "($3::text IS NULL OR action = $3) AND ($4::text IS NULL OR resource = $4) AND "
        "($5::text IS NULL OR resource_id = $5) AND ($6::text IS NULL OR request_id = $6) AND "
        "($7::timestamptz IS NULL OR time >= $7) AND ($8::timestamptz IS NULL OR time < $8) AND "
        "($9::bigint IS NULL OR (time, id) < ('epoch'::timestamptz + $9::bigint * interval '1 microsecond', $10::bigint)) "
        "ORDER BY time DESC, id DESC LIMIT $11::int",
        11, p);
}
