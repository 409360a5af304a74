/* Insertion into sync_outbox, shared by the workers (queue full) and the
 * syncer (Redis write failed). */
#include "outbox.h"

#include <stdio.h>

int ez_outbox_add(struct ez_db *db, const char *resource, const char *op, int64_t resource_id,
                  const char *payload_json, int attempts, long long delay_ms,
                  const char *last_error)
{
    char id[24], att[16], delay[24];
    snprintf(id, sizeof id, "%lld", (long long)resource_id);
    snprintf(att, sizeof att, "%d", attempts);
    snprintf(delay, sizeof delay, "%lld", delay_ms);
    const char *p[] = { resource, op, id, payload_json ? payload_json : "{}", att, delay,
                        last_error };
    return ez_db_cmd(db,
                     "INSERT INTO sync_outbox (resource, op, resource_id, payload, attempts, "
                     "next_attempt_at, last_error, status) VALUES ($1, $2, $3, $4::jsonb, $5, "
                     "now() + ($6 || ' milliseconds')::interval, $7, 'pending')",
                     7, p);
}
