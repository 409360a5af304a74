/* One multi-row INSERT per batch: the batch travels as one JSON array and
 * PostgreSQL expands it, which keeps the statement parameterised. */
#include "audit_store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "shm.h"

int ez_audit_store_insert(struct ez_db *db, json_t *records)
{
    char *s = json_dumps(records, JSON_COMPACT);
    if (!s)
        return EZ_DB_ERROR;
    const char *p[] = { s };
    int rc = ez_db_cmd(db,
                       "INSERT INTO audit_records (time, request_id, actor_type, actor, action, "
                       "resource, resource_id, method, path, status, remote_addr, user_agent, "
                       "latency_us, changes, producer) "
                       "SELECT time, coalesce(request_id, ''), actor_type, coalesce(actor, ''), "
                       "action, coalesce(resource, ''), coalesce(resource_id, ''), "
                       "coalesce(method, ''), coalesce(path, ''), coalesce(status, 0), "
                       "coalesce(remote_addr, ''), coalesce(user_agent, ''), "
                       "coalesce(latency_us, 0), changes, producer "
                       "FROM json_populate_recordset(NULL::audit_records, $1::json) "
                       "ON CONFLICT (producer) DO NOTHING",
                       1, p);
    free(s);
    return rc;
}

void ez_audit_producer(const struct ez_frame *f, char out[80])
{
    snprintf(out, 80, "%016" PRIx64 "-%u-%u-%" PRIu64, ez_shm ? ez_shm->instance_id : 0,
             f->slot, f->generation, f->seq);
}
