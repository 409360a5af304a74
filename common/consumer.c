/* Consumer loop over the rings of one queue. Frames are read at a private
 * cursor per ring and acknowledged only after the role made them durable,
 * so a consumer killed at any point re-reads them after its respawn. */
#include "consumer.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "queue.h"

/* SIGTERM: stop, after draining the queue (the server stops). SIGUSR1:
 * hand over to a successor (a reload): stop once the batches in writing
 * are settled; whatever is still on the rings is unacknowledged, so the
 * next consumer reads it. */
static volatile sig_atomic_t stop_requested, handover_requested;

static void on_stop(int sig)
{
    if (sig == SIGUSR1)
        handover_requested = 1;
    else
        stop_requested = 1;
}

/* Jobs read from the rings and not yet acknowledged: the ones held for
 * the next batch (count, total) and, with send(), the batches in writing
 * (oldest first), each with where it ends in every ring. */
struct batch {
    uint64_t cursor[EZ_MAX_SLOTS];
    uint64_t count[EZ_MAX_SLOTS];
    int total;
};

#define INFLIGHT_MAX 16

struct held {
    uint64_t cursor[EZ_MAX_SLOTS];
    uint64_t count[EZ_MAX_SLOTS];
    int total;
    int64_t since;
    struct batch sent[INFLIGHT_MAX];
    int nsent;
};

static void ack(enum ez_queue_id q, int slot, const uint64_t *cursor, uint64_t *count, int total)
{
    for (int s = EZ_SLOT_FIRST_WORKER; s < EZ_MAX_SLOTS; s++)
        if (count[s]) {
            ez_ring_ack(ez_shm_ring(q, s), cursor[s], count[s]);
            count[s] = 0;
        }
    atomic_fetch_add(&ez_shm_slot(slot)->jobs_done, (uint64_t)total);
}

static int in_flight(const struct held *h, int s)
{
    for (int i = 0; i < h->nsent; i++)
        if (h->sent[i].count[s])
            return 1;
    return 0;
}

/* After a batch failed: everything held or sent is forgotten, to be read
 * again from the rings (each ring's cursor goes back to its tail). */
static void forget_all(const struct ez_consumer_ops *ops, struct held *h)
{
    ops->discard(ops->arg);
    memset(h->count, 0, sizeof h->count);
    h->total = 0;
    h->nsent = 0;
}

/* Waits for the oldest n batches sent, acknowledging each that is durable. */
static int settle(enum ez_queue_id q, int slot, const struct ez_consumer_ops *ops,
                  struct held *h, int n)
{
    while (n-- > 0 && h->nsent > 0) {
        if (ops->wait(ops->arg) != 0) {
            forget_all(ops, h);
            return -1;
        }
        struct batch *b = &h->sent[0];
        ack(q, slot, b->cursor, b->count, b->total);
        memmove(h->sent, h->sent + 1, (size_t)(h->nsent - 1) * sizeof *h->sent);
        h->nsent--;
    }
    return 0;
}

/* Hands the held jobs to the role: flush() and acknowledge them, or
 * send() them as one more batch in writing, after waiting for the oldest
 * when as many as allowed are already out. */
static int flush_held(enum ez_queue_id q, int slot, const struct ez_consumer_ops *ops,
                      struct held *h)
{
    if (!ops->send) {
        if (!ops->flush || ops->flush(ops->arg) != 0)
            return -1;
        ack(q, slot, h->cursor, h->count, h->total);
        h->total = 0;
        return 0;
    }
    int limit = ops->inflight < 1 ? 1 : ops->inflight > INFLIGHT_MAX ? INFLIGHT_MAX : ops->inflight;
    if (h->nsent >= limit && settle(q, slot, ops, h, 1) != 0)
        return -1;
    if (ops->send(ops->arg) != 0) {
        forget_all(ops, h);
        return -1;
    }
    struct batch *b = &h->sent[h->nsent++];
    memcpy(b->cursor, h->cursor, sizeof b->cursor);
    memcpy(b->count, h->count, sizeof b->count);
    b->total = h->total;
    memset(h->count, 0, sizeof h->count);
    h->total = 0;
    return 0;
}

static void drain_socket(int fd, const struct ez_consumer_ops *ops)
{
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
        struct ez_frame f;
        const char *why;
        if (ez_frame_decode(buf, (size_t)n, &f, &why) != 0) {
            log_warn("dropped a malformed control frame: %s", why);
            continue;
        }
        if (f.type == EZ_JOB_CONTROL && ops->control)
            ops->control(&f, ops->arg);
        ez_frame_clear(&f);
    }
}

/* One pass over every ring. Returns -1 when a job must be retried later. */
static int pass(enum ez_queue_id q, int self, const struct ez_consumer_ops *ops, struct held *h)
{
    struct ez_slot *me = ez_shm_slot(self);
    for (int s = EZ_SLOT_FIRST_WORKER; s < EZ_MAX_SLOTS; s++) {
        struct ez_ring *ring = ez_shm_ring(q, s);
        if (!h->count[s] && !in_flight(h, s))
            h->cursor[s] = ez_ring_cursor(ring);
        while (h->total < ops->batch) {
            const void *buf;
            size_t len;
            uint64_t next = h->cursor[s];
            if (ez_ring_read(ring, &next, &buf, &len) != EZ_RING_OK)
                break;
            struct ez_frame f;
            const char *why;
            int rc = 0;
            if (ez_frame_decode(buf, len, &f, &why) != 0) {
                /* Dropped and counted: retrying a malformed frame never helps. */
                log_error("dropped a malformed frame from slot %d: %s", s, why);
                atomic_fetch_add(&me->jobs_bad, 1);
                ez_metric_inc(EZ_M_bad_frames);
            } else {
                ez_log_set_request_id(f.request_id);
                rc = ops->job(&f, ops->arg);
                ez_log_set_request_id(NULL);
                ez_frame_clear(&f);
            }
            if (rc < 0)
                return -1;
            h->cursor[s] = next;
            h->count[s]++;
            /* Durable at once, with nothing before it unacknowledged. */
            if (rc == 0 && !h->total && !in_flight(h, s)) {
                ez_ring_ack(ring, next, h->count[s]);
                h->count[s] = 0;
                atomic_fetch_add(&me->jobs_done, 1);
                continue;
            }
            if (h->total++ == 0)
                h->since = ez_mono_ms();
            if (h->total >= ops->batch && flush_held(q, self, ops, h) != 0)
                return -1;
        }
    }
    return 0;
}

/* A frame published past where this consumer reads, on any ring. */
static int unread(enum ez_queue_id q, const struct held *h)
{
    for (int s = EZ_SLOT_FIRST_WORKER; s < EZ_MAX_SLOTS; s++) {
        struct ez_ring *ring = ez_shm_ring(q, s);
        if (!ring)
            continue;
        uint64_t at = h->count[s] || in_flight(h, s) ? h->cursor[s] : ez_ring_cursor(ring);
        const void *buf;
        size_t len;
        if (ez_ring_read(ring, &at, &buf, &len) == EZ_RING_OK)
            return 1;
    }
    return 0;
}

/* How long to wait for a wake-up: until held jobs are due for flush(), but
 * never before the back-off after a failure ends; at most 100 ms. */
static int wait_ms(const struct held *h, const struct ez_consumer_ops *ops, int64_t backoff_until)
{
    int64_t now = ez_mono_ms();
    int64_t due = h->total ? h->since + ops->flush_ms : now + 100;
    if (due < backoff_until)
        due = backoff_until;
    return due <= now ? 0 : due - now > 100 ? 100 : (int)(due - now);
}

int ez_consumer_run(enum ez_queue_id q, int slot, const struct ez_consumer_ops *ops,
                    int64_t shutdown_ms)
{
    struct sigaction sa = { .sa_handler = on_stop };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    int fd = ez_queue_wake_fd[q][0];
    struct ez_slot *me = ez_shm_slot(slot);
    static struct held h;
    memset(&h, 0, sizeof h);
    int64_t backoff_until = 0, stop_deadline = 0;
    int delay = 100;
    int64_t sampled = 0;
    atomic_store(&me->serving, 1);
    for (;;) {
        atomic_store(&me->heartbeat_ms, ez_mono_ms());
        if (stop_requested && !stop_deadline) {
            stop_deadline = ez_mono_ms() + shutdown_ms;
            log_info("draining the queue before exit");
        }
        if (handover_requested) {
            /* A batch that fails here is read again by the next consumer. */
            (void)settle(q, slot, ops, &h, h.nsent);
            log_info("handing over to the next %s: %llu job(s) left on the queue",
                     slot == EZ_SLOT_SYNCER ? "syncer" : "logger",
                     (unsigned long long)ez_queue_depth(q));
            return 0;
        }
        drain_socket(fd, ops);
        int failed = 0;
        if (ez_mono_ms() >= backoff_until) {
            failed = pass(q, slot, ops, &h) != 0;
            if (!failed && h.total && ez_mono_ms() - h.since >= ops->flush_ms)
                failed = flush_held(q, slot, ops, &h) != 0;
            /* The rings are drained: nothing to overlap the writing with. */
            if (!failed)
                failed = settle(q, slot, ops, &h, h.nsent) != 0;
            if (failed) {
                backoff_until = ez_mono_ms() + delay;
                delay = delay < 2000 ? delay * 2 : 2000;
            } else {
                delay = 100;
            }
        }
        if (ops->tick)
            ops->tick(ops->arg);
        if (!failed && h.total == 0 && ez_queue_depth(q) == 0)
            atomic_store_explicit(&me->m.last_empty_ms, ez_now_ms(), memory_order_relaxed);
        if (ez_mono_ms() - sampled >= 1000) {
            sampled = ez_mono_ms();
            ez_metrics_sample_process();
        }
        if (stop_deadline) {
            if (!failed && h.total == 0 && ez_queue_depth(q) == 0)
                return 0;
            if (ez_mono_ms() >= stop_deadline) {
                log_error("exiting with %llu job(s) not applied",
                          (unsigned long long)ez_queue_depth(q));
                return 0;
            }
        }
        /* Producers send a wake-up only while this says sleeping (queue.c):
         * the flag is set, then the rings are looked at once more. */
        int timeout = wait_ms(&h, ops, backoff_until);
        /* Jobs held for a timed flush (the logger's batches): the ones
         * published meanwhile wait for that flush anyway, so no producer
         * needs to wake this consumer before it: one wake-up a flush
         * instead of one a job, on cores the syncer needs at that moment. */
        if (timeout > 0 && !(h.total && ops->flush_ms > 0)) {
            atomic_store_explicit(&me->sleeping, 1, memory_order_relaxed);
            atomic_thread_fence(memory_order_seq_cst);
            if (backoff_until <= ez_mono_ms() && unread(q, &h))
                timeout = 0;
        }
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        if (poll(&pfd, 1, timeout) < 0 && errno != EINTR)
            log_warn("poll failed: %s", strerror(errno));
        atomic_store_explicit(&me->sleeping, 0, memory_order_relaxed);
    }
}
