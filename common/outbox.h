/* The sync_outbox table: jobs the syncer could not apply to Redis (or that
 * a worker could not enqueue), retried later by the syncer. Payloads name
 * what changed, never a secret. */
#ifndef EZ_OUTBOX_H
#define EZ_OUTBOX_H

#include <stdint.h>

#include "db.h"

/* Inserts a pending row due now + delay_ms. EZ_DB_* status. */
int ez_outbox_add(struct ez_db *db, const char *resource, const char *op, int64_t resource_id,
                  const char *payload_json, int attempts, long long delay_ms,
                  const char *last_error) __attribute__((warn_unused_result));

#endif
