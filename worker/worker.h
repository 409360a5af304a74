/* State of one worker process, shared by its HTTP modules. */
#ifndef EZ_WORKER_H
#define EZ_WORKER_H

#include "config.h"
#include "db.h"
#include "redis.h"

struct ez_worker {
    const struct ez_config *cfg;
    int slot;
    int index;
    struct ez_db *db;       /* pg_dsn */
    struct ez_db *audit_db; /* log_pg_dsn (the same object when equal) */
    struct ez_redis *redis; /* reads for readiness, verify and explain */
    int retiring;           /* answer with Connection: close, then exit */
};

extern struct ez_worker ez_w;

/* Tells the supervisor this worker is alive (its heartbeat); a handler
 * that runs for long calls it as it makes progress. The argument is
 * unused (the shape of a progress callback). */
void ez_worker_beat(void *unused);

#endif
