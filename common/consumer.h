/* The loop shared by the syncer and the logger: wait for a wake-up datagram
 * (or a short timer), keep the heartbeat, read frames from every worker's
 * ring of one queue, hand them to the role's callbacks, acknowledge what
 * the role says is durable, and drain everything before a graceful exit. */
#ifndef EZ_CONSUMER_H
#define EZ_CONSUMER_H

#include <stdint.h>

#include "proto/frame.h"
#include "shm.h"

struct ez_consumer_ops {
    /* One decoded job; return 0 when its effect is durable (or it was
     * persisted elsewhere), -1 to stop and retry it later. May batch:
     * return 1 to say "held, not yet durable" and make flush() decide. */
    int (*job)(struct ez_frame *f, void *arg);
    /* Make held jobs durable; 0 on success (they are then acknowledged). */
    int (*flush)(void *arg);
    /* Instead of flush, a role that can have several batches in writing
     * at once: send() starts writing the held jobs as one batch (and the
     * role starts holding a new one); wait() blocks until the oldest batch
     * sent is durable (0: it is acknowledged) or has failed (-1); then
     * discard() must wait out and forget every batch sent and every job
     * held, and they are all read again from the rings. At most inflight
     * batches are sent and not yet waited for. */
    int (*send)(void *arg);
    int (*wait)(void *arg);
    void (*discard)(void *arg);
    int inflight;
    /* Number of held jobs after which flush() is called at once. */
    int batch;
    /* Longest time a held job waits for flush(), in ms. */
    int64_t flush_ms;
    /* A control frame (e.g. "full_resync"). */
    void (*control)(struct ez_frame *f, void *arg);
    /* Called about every 100 ms and after each pass (timers of the role). */
    void (*tick)(void *arg);
    void *arg;
};

/* Runs until SIGTERM and an empty queue (or shutdown_ms after SIGTERM).
 * Returns the exit code. */
int ez_consumer_run(enum ez_queue_id q, int slot, const struct ez_consumer_ops *ops,
                    int64_t shutdown_ms);

#endif
