/* Work queues from the workers to the syncer and the logger: the worker's
 * own ring in the shared segment plus a wake-up datagram on the consumer's
 * Unix socket (created by the supervisor with socketpair()). Enqueueing
 * never blocks: a full queue is reported so the caller can fall back. */
#ifndef EZ_QUEUE_H
#define EZ_QUEUE_H

#include "proto/frame.h"
#include "shm.h"

/* Socket pairs made by the supervisor before forking: [0] the consumer's
 * end, [1] the producers' end (non-blocking). */
extern int ez_queue_wake_fd[EZ_Q_COUNT][2];

int ez_queue_sockets_create(void) __attribute__((warn_unused_result));

enum { EZ_QUEUE_OK = 0, EZ_QUEUE_FULL = 1, EZ_QUEUE_INVALID = 2 };

/* Producer (a worker in `slot`): stamps the producer identity (slot,
 * generation, next seq) into f, encodes it, pushes it onto its ring for q
 * and wakes the consumer. FULL when the ring has no room (or the frame can
 * never fit): the caller must persist the job another way. */
int ez_queue_push(enum ez_queue_id q, int slot, struct ez_frame *f)
    __attribute__((warn_unused_result));
/* Sends a control frame (EZ_JOB_CONTROL, resource = command) to a consumer. */
int ez_queue_control(enum ez_queue_id q, const char *command, int64_t id);
/* Total records pending in every ring of q. */
uint64_t ez_queue_depth(enum ez_queue_id q);

#endif
