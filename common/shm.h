/* The shared-memory segment the supervisor maps before forking: one
 * cache-line-aligned slot per process and, for every worker slot, one ring
 * to the syncer and one to the logger. It outlives every child, so nothing
 * a crashed child enqueued is lost. Anonymous mapping: private to one
 * supervisor and its children. Each process writes only its own slot. */
#ifndef EZ_SHM_H
#define EZ_SHM_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "authfail.h"
#include "metrics.h"
#include "ring.h"

#define EZ_MAX_SLOTS 128
#define EZ_SLOT_SUPERVISOR 0
#define EZ_SLOT_SYNCER 1
#define EZ_SLOT_LOGGER 2
#define EZ_SLOT_FIRST_WORKER 3

enum ez_role { EZ_ROLE_NONE = 0, EZ_ROLE_SUPERVISOR, EZ_ROLE_WORKER, EZ_ROLE_SYNCER, EZ_ROLE_LOGGER };
/* As the supervisor's process table says (master/supervisor.c sets both
 * through one function): WAITING = its process died and is to be
 * respawned, so nothing runs in the slot. */
enum ez_slot_state { EZ_SLOT_FREE = 0, EZ_SLOT_RUNNING, EZ_SLOT_RETIRING, EZ_SLOT_WAITING };
enum ez_queue_id { EZ_Q_SYNC = 0, EZ_Q_AUDIT = 1, EZ_Q_COUNT };

struct ez_slot {
    _Alignas(64) _Atomic int state;  /* enum ez_slot_state, set by the supervisor */
    _Atomic int role;                /* enum ez_role */
    _Atomic int index;               /* worker number shown in the process title */
    _Atomic pid_t pid;
    _Atomic uint32_t generation;     /* config generation it was started with */
    _Atomic int64_t start_time_ms;   /* unix milliseconds */
    _Atomic int64_t heartbeat_ms;    /* monotonic milliseconds, bumped by the process */
    _Atomic uint64_t seq;            /* job sequence numbers handed out by a worker */
    _Atomic uint64_t restarts;       /* times this slot's process was respawned */
    _Atomic uint64_t jobs_done;      /* consumer: jobs whose effect is durable */
    _Atomic uint64_t jobs_bad;       /* consumer: malformed frames dropped */
    _Atomic int64_t oldest_job_ms;   /* consumer: enqueue time of the oldest pending job, 0 = none */
    _Atomic int sleeping;            /* consumer: blocked waiting, wants a wake-up datagram */
    _Atomic int connections;         /* worker: open HTTP connections */
    _Atomic int accepting;           /* worker: would take new ones (below its limits,
                                        not retiring, accept() not failing) */
    _Atomic int listening;           /* worker: its listeners are enabled */
    _Atomic uint64_t last_accept;    /* worker: ez_shm accepts count at its last accept */
    _Atomic int busy;                /* worker: inside a request */
    _Atomic int serving;             /* set by the process once it serves: a worker's
                                        listeners are bound, a consumer is in its loop;
                                        cleared by the supervisor before a fork */
    _Atomic uint64_t reloads_ok;     /* supervisor */
    _Atomic uint64_t reloads_failed; /* supervisor */
    struct ez_metrics m;             /* written by the process only */
};

struct ez_shm {
    uint64_t magic;
    uint64_t bytes;
    uint64_t instance_id;            /* random per supervisor start */
    _Atomic uint32_t generation;     /* current config generation */
    _Atomic int64_t last_full_sync_ms;
    char redis_run_id[48];           /* syncer: Redis's run id at the last full resync */
    _Atomic int syncer_clean_exit;   /* syncer: the previous one stopped gracefully */
    _Atomic uint64_t accepts;        /* connections accepted by all workers */
    struct ez_slot slots[EZ_MAX_SLOTS];
    uint64_t ring_offset[EZ_Q_COUNT][EZ_MAX_SLOTS]; /* from the segment start; 0 = none */
    struct ez_authfail_table authfail; /* failed authentications per address, all workers */
};

extern struct ez_shm *ez_shm;

/* Maps the segment (MAP_SHARED|MAP_ANONYMOUS|MAP_NORESERVE) with a sync and
 * an audit ring for every worker slot; sets ez_shm. Start-up only. */
int ez_shm_create(uint64_t sync_capacity, uint64_t audit_capacity)
    __attribute__((warn_unused_result));
void ez_shm_destroy(void);
struct ez_slot *ez_shm_slot(int slot);
struct ez_ring *ez_shm_ring(enum ez_queue_id q, int slot);
int64_t ez_now_ms(void);      /* unix time in milliseconds */
int64_t ez_mono_ms(void);     /* monotonic milliseconds */

#endif
