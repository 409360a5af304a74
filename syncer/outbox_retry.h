/* The outbox retry pass of the syncer: re-applies due sync_outbox rows,
 * deletes the ones that succeed and backs off the others until they are
 * marked failed. Rows are claimed with FOR UPDATE SKIP LOCKED, so several
 * ezapi instances never process one row at once. */
#ifndef EZ_SYNCER_OUTBOX_RETRY_H
#define EZ_SYNCER_OUTBOX_RETRY_H

#include "apply.h"
#include "config.h"

/* One pass over at most sync_outbox_batch_size due rows. Returns the number
 * of rows applied, or -1 when PostgreSQL is unavailable. */
int ez_outbox_pass(struct ez_sync_ctx *ctx, const struct ez_config *cfg);

#endif
