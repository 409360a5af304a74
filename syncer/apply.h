/* Applying one sync job: re-read the rows it names from PostgreSQL and
 * write the dependent Redis keys in one MULTI/EXEC, then publish the
 * refresh event. */
#ifndef EZ_SYNCER_APPLY_H
#define EZ_SYNCER_APPLY_H

#include "db.h"
#include "proto/frame.h"
#include "redis.h"

enum { EZ_APPLY_OK = 0, EZ_APPLY_REDIS = 1, EZ_APPLY_DB = 2 };

struct ez_sync_ctx {
    struct ez_db *db;
    struct ez_redis *redis;
    const char *prefix; /* redis_key_prefix */
    char error[256];    /* why the last apply failed */
};

/* EZ_APPLY_OK, EZ_APPLY_REDIS (Redis failed: persist to the outbox), or
 * EZ_APPLY_DB (PostgreSQL unavailable: retry later). */
int ez_sync_apply(struct ez_sync_ctx *ctx, const char *resource, const char *payload_json,
                  int64_t id);

#endif
