/* Catch-up after the syncer's PostgreSQL connection came back: every row
 * whose rev is past the last point the syncer knows it had applied is
 * projected again, so that a change whose job never reached the syncer
 * (a worker that lost its connection during COMMIT and could not queue the
 * job either) reaches Redis without a full resync. Deletes and renames are
 * covered by their rows in sync_outbox (migrations/002). */
#ifndef EZ_SYNCER_CATCH_UP_H
#define EZ_SYNCER_CATCH_UP_H

#include <stdint.h>

#include "apply.h"

#define EZ_CATCH_UP_MARKS 128

struct ez_catch_up {
    struct {
        int64_t at_ms;      /* monotonic */
        long long rev;      /* last value of the rev sequence then */
    } marks[EZ_CATCH_UP_MARKS];
    int nmarks, next;
    int64_t last_mark_ms;
    unsigned connects;      /* of the syncer's connection, when last looked */
    long long due_from;     /* a catch-up from this rev is due; -1: none */
};

void ez_catch_up_init(struct ez_catch_up *u);
/* Call on every tick. Notes the rev sequence about every second; when the
 * connection was re-made since the last call, re-projects what changed
 * after the newest note older than margin_ms before the loss (a
 * transaction takes a rev when it writes and may commit later). Returns
 * 1 when a full resync should be run instead (too much changed, or Redis
 * failed during the catch-up), else 0. */
int ez_catch_up_tick(struct ez_sync_ctx *c, struct ez_catch_up *u, int64_t margin_ms);

#endif
