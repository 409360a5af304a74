/* The whole projection, key by key, streamed from PostgreSQL: the config
 * keys of store_projection.h followed by every auth:master and auth:token
 * hash. Full resync writes what it walks, verify compares it with Redis;
 * both find the Redis keys the walk would not produce with ez_walk_stale.
 * Memory does not grow with the number of rows. Run inside one REPEATABLE
 * READ transaction for a consistent snapshot. Keys carry no prefix. */
#ifndef EZ_WALK_H
#define EZ_WALK_H

#include <stdint.h>

#include "config.h"
#include "db.h"
#include "redis.h"

struct ez_walk_sink {
    /* A key begins; ttl > 0: the hash expires in that many seconds. */
    int (*open)(void *arg, const char *key, long long ttl);
    int (*field)(void *arg, const char *key, const char *field, const char *value);
    /* The key is complete (a key with no field must not exist in Redis). */
    int (*close)(void *arg, const char *key);
    void *arg;
};

/* now_us: PostgreSQL's clock (ez_store_clock_us) in unix microseconds.
 * batch: rows read per query or cursor FETCH. The callbacks must not use db
 * (the next batch may be on its way). EZ_DB_* status, or EZ_STORE_STOPPED
 * when a callback returned non-zero. */
int ez_walk(struct ez_db *db, const struct ez_config *cfg, int64_t now_us, int batch,
            const struct ez_walk_sink *sink) __attribute__((warn_unused_result));

/* Scans Redis for route:group:*, auth:master:* and auth:token:* keys (with
 * prefix) that the projection does not produce, calling stale(arg, key)
 * with the unprefixed key. EZ_DB_* status (EZ_DB_UNAVAILABLE also when
 * Redis fails, with the reason in *why). */
int ez_walk_stale(struct ez_db *db, struct ez_redis *redis, const char *prefix, int64_t now_us,
                  int (*stale)(void *arg, const char *key), void *arg, const char **why)
    __attribute__((warn_unused_result));

/* The resource a key belongs to, for reports: namespaces, providers,
 * routes, bindings, models, features, masters, tokens or sync. */
const char *ez_walk_resource(const char *key);

#endif
