/* Full resync: rebuilds every key of the Redis contract from one snapshot
 * of PostgreSQL, streamed in batches and written with pipelining. Shared
 * hashes are built aside and switched in with RENAME, per-entity hashes are
 * written with one HSET each, keys the projection no longer produces are
 * deleted. One instance at a time (a PostgreSQL advisory lock); incremental
 * jobs of every instance wait while it runs (the apply locks are held). */
#ifndef EZ_SYNCER_FULL_RESYNC_H
#define EZ_SYNCER_FULL_RESYNC_H

#include <stdint.h>

#include "apply.h"
#include "config.h"

enum { EZ_FULL_BUSY = 10 }; /* another instance is running one */

/* Serves every requested (pending) sync_runs row too. EZ_APPLY_OK,
 * EZ_APPLY_REDIS, EZ_APPLY_DB or EZ_FULL_BUSY. */
int ez_full_resync(struct ez_sync_ctx *c, const struct ez_config *cfg);
/* 1 when Redis restarted or lost its data since the last full resync (its
 * run id changed, or meta:sync has no last_full_sync_at), 0 when not, -1
 * when Redis cannot be asked. */
int ez_full_resync_needed(struct ez_sync_ctx *c);

#endif
