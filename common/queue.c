/* Producer side of the work queues and the wake-up sockets. A worker owns
 * its ring for each queue (single producer); the consumer process owns the
 * read side of every ring of its queue. */
#include "queue.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

int ez_queue_wake_fd[EZ_Q_COUNT][2] = { { -1, -1 }, { -1, -1 } };

int ez_queue_sockets_create(void)
{
    for (int q = 0; q < EZ_Q_COUNT; q++) {
        if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, ez_queue_wake_fd[q]) != 0) {
            log_error("socketpair() for queue %d failed: %s", q, strerror(errno));
            return -1;
        }
        for (int end = 0; end < 2; end++) {
            int fl = fcntl(ez_queue_wake_fd[q][end], F_GETFL);
            if (fl < 0 || fcntl(ez_queue_wake_fd[q][end], F_SETFL, fl | O_NONBLOCK) != 0) {
                log_error("fcntl(O_NONBLOCK) on queue socket failed: %s", strerror(errno));
                return -1;
            }
        }
    }
    return 0;
}

/* Best effort: a full socket buffer means the consumer has wake-ups pending
 * already, and it also rescans its rings on a timer. */
static void send_frame(enum ez_queue_id q, struct ez_frame *f)
{
    char *buf;
    size_t len;
    if (ez_frame_encode(f, &buf, &len) != 0)
        return;
    if (send(ez_queue_wake_fd[q][1], buf, len, MSG_DONTWAIT) < 0 && errno != EAGAIN)
        log_debug("wake-up of queue %d failed: %s", q, strerror(errno));
    free(buf);
}

int ez_queue_push(enum ez_queue_id q, int slot, struct ez_frame *f)
{
    struct ez_ring *ring = ez_shm_ring(q, slot);
    if (!ring)
        return EZ_QUEUE_INVALID;
    struct ez_slot *s = ez_shm_slot(slot);
    f->version = EZ_FRAME_VERSION;
    f->slot = (uint32_t)slot;
    f->generation = atomic_load_explicit(&s->generation, memory_order_relaxed);
    f->seq = atomic_fetch_add_explicit(&s->seq, 1, memory_order_relaxed) + 1;
    char *buf;
    size_t len;
    if (ez_frame_encode(f, &buf, &len) != 0)
        return EZ_QUEUE_INVALID;
    int rc = ez_ring_push(ring, buf, len);
    free(buf);
    if (rc != EZ_RING_OK)
        return EZ_QUEUE_FULL;
    /* A consumer at work reads this frame on its next pass: only one that
     * is (about to be) blocked gets a datagram, from the first producer to
     * see it so. Paired with the consumer's fence in consumer.c: either it
     * sees the frame before blocking, or this sees it sleeping. */
    atomic_thread_fence(memory_order_seq_cst);
    struct ez_slot *consumer = ez_shm_slot(q == EZ_Q_SYNC ? EZ_SLOT_SYNCER : EZ_SLOT_LOGGER);
    if (consumer && atomic_exchange_explicit(&consumer->sleeping, 0, memory_order_relaxed)) {
        struct ez_frame wake = { .version = EZ_FRAME_VERSION, .type = EZ_JOB_WAKE,
                                 .slot = (uint32_t)slot };
        send_frame(q, &wake);
    }
    return EZ_QUEUE_OK;
}

int ez_queue_control(enum ez_queue_id q, const char *command, int64_t id)
{
    struct ez_frame f = { .version = EZ_FRAME_VERSION, .type = EZ_JOB_CONTROL, .id = id };
    snprintf(f.resource, sizeof f.resource, "%s", command);
    char *buf;
    size_t len;
    if (ez_frame_encode(&f, &buf, &len) != 0)
        return -1;
    ssize_t n = send(ez_queue_wake_fd[q][1], buf, len, MSG_DONTWAIT);
    free(buf);
    return n < 0 ? -1 : 0;
}

uint64_t ez_queue_depth(enum ez_queue_id q)
{
    uint64_t n = 0;
    for (int s = EZ_SLOT_FIRST_WORKER; s < EZ_MAX_SLOTS; s++)
        n += ez_ring_depth(ez_shm_ring(q, s));
    return n;
}
