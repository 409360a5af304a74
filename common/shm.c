/* The shared segment: mapped once by the supervisor before any fork and
 * inherited by every child. Layout: struct ez_shm, then the rings. */
#include "shm.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "log.h"

struct ez_shm *ez_shm;

#define EZ_SHM_MAGIC 0x657a617069736d31ULL /* "ezapism1" */
/* Ring data bytes per record of capacity: sync frames are ~100 bytes, audit
 * records carry before/after JSON. Pages are only touched when used. */
#define SYNC_BYTES_PER_RECORD 128
#define AUDIT_BYTES_PER_RECORD 512

static uint64_t pow2_at_least(uint64_t n)
{
    uint64_t p = 4096;
    while (p < n)
        p <<= 1;
    return p;
}

int ez_shm_create(uint64_t sync_capacity, uint64_t audit_capacity)
{
    uint64_t cap[EZ_Q_COUNT] = { sync_capacity, audit_capacity };
    uint64_t data[EZ_Q_COUNT] = { pow2_at_least(sync_capacity * SYNC_BYTES_PER_RECORD),
                                  pow2_at_least(audit_capacity * AUDIT_BYTES_PER_RECORD) };
    uint64_t off = (sizeof(struct ez_shm) + 4095) & ~(uint64_t)4095;
    uint64_t offsets[EZ_Q_COUNT][EZ_MAX_SLOTS] = { { 0 } };
    for (int q = 0; q < EZ_Q_COUNT; q++)
        for (int s = EZ_SLOT_FIRST_WORKER; s < EZ_MAX_SLOTS; s++) {
            offsets[q][s] = off;
            off += (ez_ring_footprint(data[q]) + 4095) & ~(uint64_t)4095;
        }
    void *p = mmap(NULL, off, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        log_error("mmap(%llu bytes) of the shared segment failed: %s",
                  (unsigned long long)off, strerror(errno));
        return -1;
    }
    ez_shm = p;
    ez_shm->magic = EZ_SHM_MAGIC;
    ez_shm->bytes = off;
    if (RAND_bytes((unsigned char *)&ez_shm->instance_id, sizeof ez_shm->instance_id) != 1)
        ez_shm->instance_id = (uint64_t)ez_now_ms() ^ ((uint64_t)getpid() << 40);
    memcpy(ez_shm->ring_offset, offsets, sizeof offsets);
    uint64_t seed;
    if (RAND_bytes((unsigned char *)&seed, sizeof seed) != 1)
        seed = ez_shm->instance_id * 0x9e3779b97f4a7c15ULL;
    if (ez_authfail_init(&ez_shm->authfail, seed) != 0) {
        log_error("pthread_mutex_init of the failed-authentication table failed: %s",
                  strerror(errno));
        munmap(p, off);
        ez_shm = NULL;
        return -1;
    }
    for (int q = 0; q < EZ_Q_COUNT; q++)
        for (int s = EZ_SLOT_FIRST_WORKER; s < EZ_MAX_SLOTS; s++)
            ez_ring_init(ez_shm_ring((enum ez_queue_id)q, s), data[q], cap[q]);
    return 0;
}

void ez_shm_destroy(void)
{
    if (ez_shm) {
        munmap(ez_shm, ez_shm->bytes);
        ez_shm = NULL;
    }
}

struct ez_slot *ez_shm_slot(int slot)
{
    return &ez_shm->slots[slot];
}

struct ez_ring *ez_shm_ring(enum ez_queue_id q, int slot)
{
    if (slot < EZ_SLOT_FIRST_WORKER || slot >= EZ_MAX_SLOTS || !ez_shm->ring_offset[q][slot])
        return NULL;
    return (struct ez_ring *)((char *)ez_shm + ez_shm->ring_offset[q][slot]);
}

int64_t ez_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ez_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
