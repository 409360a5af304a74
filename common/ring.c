/* The shared-memory SPSC record ring of common/ring.h. One producer process
 * and one consumer process at a time; no locks, no system calls, so a
 * process killed anywhere in here leaves the ring consistent. */
#include "ring.h"

#include <string.h>

/* Record header: payload length, then a constant that lets the consumer
 * notice a header it should never see. Payload follows, padded to 8. */
#define REC_HDR 8u
#define REC_MAGIC 0x31525a45u /* "EZR1" */
#define REC_WRAP 0xFFFFFFFFu  /* "the rest of this lap is empty" */

static uint64_t rec_bytes(uint64_t len)
{
    return REC_HDR + ((len + 7u) & ~(uint64_t)7u);
}

size_t ez_ring_footprint(uint64_t size)
{
    return sizeof(struct ez_ring) + (size_t)size;
}

/* Not concurrent with anything: the supervisor calls it before forking. */
void ez_ring_init(struct ez_ring *r, uint64_t size, uint64_t max_records)
{
    atomic_store_explicit(&r->head, 0, memory_order_relaxed);
    atomic_store_explicit(&r->pushed, 0, memory_order_relaxed);
    atomic_store_explicit(&r->tail, 0, memory_order_relaxed);
    atomic_store_explicit(&r->popped, 0, memory_order_relaxed);
    atomic_store_explicit(&r->full, 0, memory_order_relaxed);
    r->size = size;
    r->max_records = max_records;
}

static void put_header(struct ez_ring *r, uint64_t off, uint32_t len)
{
    uint32_t h[2] = { len, REC_MAGIC };
    memcpy(r->data + off, h, sizeof h);
}

int ez_ring_push(struct ez_ring *r, const void *buf, size_t len)
{
    uint64_t size = r->size;

    if (len > size / 2 || len >= REC_WRAP || rec_bytes(len) > size / 2)
        return EZ_RING_TOOBIG;
    uint64_t rec = rec_bytes(len);

    /* head and pushed are ours: relaxed. tail and popped are acquired so
     * that the consumer's reads of the space it gave back are finished
     * before we overwrite it (pairs with the release in ez_ring_ack). */
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    uint64_t pushed = atomic_load_explicit(&r->pushed, memory_order_relaxed);
    uint64_t popped = atomic_load_explicit(&r->popped, memory_order_acquire);

    uint64_t off = head & (size - 1);
    uint64_t to_end = size - off;
    uint64_t need = rec > to_end ? to_end + rec : rec;

    if (head - tail + need > size || pushed - popped >= r->max_records) {
        atomic_fetch_add_explicit(&r->full, 1, memory_order_relaxed);
        return EZ_RING_FULL;
    }
    if (rec > to_end) {
        /* Records are 8-aligned, so at least a header's room is left. */
        put_header(r, off, REC_WRAP);
        off = 0;
    }
    put_header(r, off, (uint32_t)len);
    if (len > 0)
        memcpy(r->data + off + REC_HDR, buf, len);

    /* Release: the bytes above are visible to whoever acquires head.
     * pushed goes first, so an observer that sees a record acknowledged
     * (popped) also sees it counted as pushed and depth never goes below
     * zero; and a producer killed between the two stores leaves pushed one
     * ahead (depth over-counts by one) rather than a record that is
     * counted by popped but not by pushed, which would wrap depth around
     * and make the ring look full for ever. */
    atomic_store_explicit(&r->pushed, pushed + 1, memory_order_release);
    atomic_store_explicit(&r->head, head + need, memory_order_release);
    return EZ_RING_OK;
}

uint64_t ez_ring_cursor(const struct ez_ring *r)
{
    return atomic_load_explicit(&((struct ez_ring *)r)->tail, memory_order_acquire);
}

/* A header that cannot be there (bad magic, a length that runs past the
 * lap or past head) means the segment was scribbled on: the records up to
 * head are skipped rather than read out of bounds or stalled on forever. */
int ez_ring_read(struct ez_ring *r, uint64_t *cursor, const void **buf, size_t *len)
{
    uint64_t size = r->size;
    /* Acquire pairs with the producer's release of head: every record
     * before head is fully written when we look at it. */
    uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    uint64_t cur = *cursor;

    while (cur != head) {
        if (head - cur > size) {
            *cursor = head;
            return EZ_RING_EMPTY;
        }
        uint64_t off = cur & (size - 1);
        uint32_t h[2];
        memcpy(h, r->data + off, sizeof h);
        if (h[0] == REC_WRAP) {
            cur += size - off;
            continue;
        }
        uint64_t rec = rec_bytes(h[0]);
        if (h[1] != REC_MAGIC || rec > size - off || rec > head - cur) {
            *cursor = head;
            return EZ_RING_EMPTY;
        }
        *buf = r->data + off + REC_HDR;
        *len = h[0];
        *cursor = cur + rec;
        return EZ_RING_OK;
    }
    *cursor = cur;
    return EZ_RING_EMPTY;
}

void ez_ring_ack(struct ez_ring *r, uint64_t cursor, uint64_t records)
{
    uint64_t popped = atomic_load_explicit(&r->popped, memory_order_relaxed);
    /* Release: our reads of the acknowledged records happen before the
     * producer, acquiring tail, may reuse their space. tail goes first: a
     * consumer killed between the stores leaves popped short (depth
     * over-counts) instead of counting records that its successor will
     * read and acknowledge again. */
    atomic_store_explicit(&r->tail, cursor, memory_order_release);
    atomic_store_explicit(&r->popped, popped + records, memory_order_release);
}

uint64_t ez_ring_depth(const struct ez_ring *r)
{
    struct ez_ring *w = (struct ez_ring *)r;
    /* popped before pushed: see the ordering note in ez_ring_push. */
    uint64_t popped = atomic_load_explicit(&w->popped, memory_order_acquire);
    uint64_t pushed = atomic_load_explicit(&w->pushed, memory_order_acquire);
    return pushed - popped;
}
