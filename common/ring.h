/* A single-producer single-consumer ring of variable-length records in
 * memory shared between processes. The producer publishes with a release
 * store of `head`; the consumer reads at a private cursor and advances
 * `tail` only when the records' effects are durable, so a consumer killed
 * at any moment re-reads everything it had not acknowledged.
 * No locks; never blocks. */
#ifndef EZ_RING_H
#define EZ_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct ez_ring {
    _Alignas(64) _Atomic uint64_t head;      /* bytes published (producer) */
    _Atomic uint64_t pushed;                 /* records published */
    _Alignas(64) _Atomic uint64_t tail;      /* bytes acknowledged (consumer) */
    _Atomic uint64_t popped;                 /* records acknowledged */
    _Alignas(64) uint64_t size;              /* data bytes, a power of two */
    uint64_t max_records;                    /* capacity in records */
    _Atomic uint64_t full;                   /* pushes refused */
    _Alignas(64) unsigned char data[];
};

enum { EZ_RING_OK = 0, EZ_RING_FULL = 1, EZ_RING_TOOBIG = 2, EZ_RING_EMPTY = 3 };

/* Bytes a ring of `size` data bytes occupies (header included). */
size_t ez_ring_footprint(uint64_t size);
void ez_ring_init(struct ez_ring *r, uint64_t size, uint64_t max_records);
/* Producer: copies len bytes in. FULL when over max_records or out of room,
 * TOOBIG when a record could never fit. */
int ez_ring_push(struct ez_ring *r, const void *buf, size_t len);
/* Consumer: the record at *cursor (start with ez_ring_cursor()); on OK sets
 * buf/len (pointing into the ring, valid until acknowledged) and advances
 * *cursor past it. EMPTY when nothing more is published. */
uint64_t ez_ring_cursor(const struct ez_ring *r);
int ez_ring_read(struct ez_ring *r, uint64_t *cursor, const void **buf, size_t *len);
/* Consumer: acknowledges every record before cursor (records = how many). */
void ez_ring_ack(struct ez_ring *r, uint64_t cursor, uint64_t records);
uint64_t ez_ring_depth(const struct ez_ring *r);

#endif
