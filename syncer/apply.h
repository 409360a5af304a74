/* Applying sync jobs: the jobs of one advisory-lock class together, under
 * that PostgreSQL lock, re-read the rows they name, build one write set
 * with the projection (common/projection.h, common/store_projection.h),
 * write it with HINCRBY meta:sync version in one MULTI/EXEC (the keys of a
 * whole master a page per MULTI/EXEC: apply_auth.c), then publish the
 * refresh events. Contract: docs/redis.md. */
#ifndef EZ_SYNCER_APPLY_H
#define EZ_SYNCER_APPLY_H

#include <jansson.h>
#include <stdint.h>

#include "config.h"
#include "db.h"
#include "projection.h"
#include "proto/frame.h"
#include "redis.h"

enum { EZ_APPLY_OK = 0, EZ_APPLY_REDIS = 1, EZ_APPLY_DB = 2 };

struct ez_sync_ctx {
    struct ez_db *db;
    struct ez_redis *redis;
    const char *prefix;           /* redis_key_prefix */
    const struct ez_config *cfg;  /* opens stored api keys; NULL: clear-text keys only */
    int64_t bans_checked_at;      /* ez_apply_expired_bans: last time looked, unix s */
    int nested;                   /* ez_apply_begin ran inside the caller's transaction */
    long long locked;             /* the session lock ez_apply_begin holds (0: none) */
    char error[256];              /* why the last apply failed */
};

/* One job of a batch: resource and payload (a JSON object) are borrowed;
 * rc receives its outcome. */
struct ez_sync_job {
    const char *resource;
    int64_t id;
    json_t *payload;
    int rc;
};

/* Applies the jobs of each lock class together: one transaction holding
 * the lock, every read after it, one MULTI/EXEC, so a class's jobs share
 * their outcome. Each job's rc: EZ_APPLY_OK (also for an unknown resource:
 * logged and dropped), EZ_APPLY_REDIS (Redis failed, or a PostgreSQL error
 * that a retry will not fix at once: persist the job to the outbox), or
 * EZ_APPLY_DB (PostgreSQL unavailable: retry later; the classes after the
 * first such failure are not tried and get it too). */
void ez_sync_apply_batch(struct ez_sync_ctx *c, struct ez_sync_job *jobs, int n);
/* A batch of one job given as text. A payload that is not a JSON object is
 * logged and dropped (EZ_APPLY_OK). */
int ez_sync_apply(struct ez_sync_ctx *ctx, const char *resource, const char *payload_json,
                  int64_t id);
/* The payload as a JSON object (new reference), or NULL, logged, when it
 * is not one (NULL or "" stand for {}). */
json_t *ez_sync_payload(const char *resource, int64_t id, const char *payload_json);

/* ---- Building blocks, shared with the other resources' apply files ----- */

/* Advisory lock classes (pg_advisory_xact_lock keys, ASCII "ezsync.."). All
 * jobs whose write sets can overlap take the same one, so that a job that
 * read later never writes Redis before one that read earlier. */
#define EZ_APPLY_LOCK_CONFIG 0x657a73796e636667LL     /* "ezsyncfg": providers, routes,
                                                        * bindings, models */
#define EZ_APPLY_LOCK_NAMESPACES 0x657a73796e636e73LL /* "ezsyncns" */
#define EZ_APPLY_LOCK_FEATURES 0x657a73796e636674LL   /* "ezsyncft" */
#define EZ_APPLY_LOCK_TENANTS 0x657a73796e63746eLL    /* "ezsynctn": masters, keys */

/* BEGIN READ ONLY (or, inside a transaction the caller holds on c->db, a
 * SAVEPOINT) and take the transaction-level advisory lock, which is then
 * held until the caller's transaction ends. EZ_APPLY_*; on failure nothing
 * is left open. */
int ez_apply_begin(struct ez_sync_ctx *c, long long lock) __attribute__((warn_unused_result));
/* The same, and the first read of the batch in the same round trip
 * (outside a caller's transaction: the lock, the BEGIN and the read are
 * sent together and run in that order): on
 * EZ_APPLY_OK *res holds read's rows (the caller PQclear()s them). */
int ez_apply_begin_read(struct ez_sync_ctx *c, long long lock, const struct ez_db_stmt *read,
                        PGresult **res) __attribute__((warn_unused_result));
/* Rolls back what ez_apply_begin opened (after a failed build). */
void ez_apply_abort(struct ez_sync_ctx *c);

/* Reads the replies of MULTI, `queued` commands and EXEC (whose last
 * command was HINCRBY meta:sync version: *version gets it). EZ_APPLY_*. */
int ez_apply_read_replies(struct ez_sync_ctx *c, redisContext *rc, int queued, long long *version)
    __attribute__((warn_unused_result));
/* PUBLISH <prefix>dp:config:refresh {"resource","version","timestamp"}; a
 * hint only, failures are ignored. */
void ez_apply_publish(struct ez_sync_ctx *c, const char *resource, long long version);
/* ez_apply_end, with the refresh events of resources[0..n) (none when
 * version < 0) sent before the COMMIT and their replies read after it, so
 * the two round trips overlap. */
void ez_apply_end_publish(struct ez_sync_ctx *c, const char *const *resources, int n,
                          long long version);
/* A list of distinct ids: ez_ids_add skips one already there (0, or -1 on
 * OOM); free(l->v) when done. */
struct ez_ids {
    int64_t *v;
    int n, cap;
};
int ez_ids_add(struct ez_ids *l, int64_t id) __attribute__((warn_unused_result));
/* redis_key_prefix + key, malloc'd (NULL on OOM). */
char *ez_apply_key(const struct ez_sync_ctx *c, const char *key);
/* Notes and logs that memory ran out while building a write set:
 * EZ_APPLY_REDIS (the job goes to the outbox and is tried again). */
int ez_apply_oom(struct ez_sync_ctx *c);
/* Maps an EZ_DB_* status of a build step to EZ_APPLY_* (setting c->error). */
int ez_apply_db_status(struct ez_sync_ctx *c, int db_rc, const char *what);

/* ---- Tenants ---------------------------------------------------------- */

/* syncer/apply_auth.c: the "masters" jobs (auth:master:<id>; payload
 * {"keys":"all"} re-projects every key of the master, {"digests":[...]}
 * deletes those hashes) and "keys" jobs (auth:token:<digest> of every
 * secret of key id, plus the payload's "digests" to delete) of a batch,
 * together under EZ_APPLY_LOCK_TENANTS. EZ_APPLY_*, for all of them. */
int ez_apply_tenants(struct ez_sync_ctx *c, struct ez_sync_job *const *jobs, int n);

/* Re-projects the routes and binding snapshots of groups with a key whose
 * ban ended since the last call (keys become routable with no write to
 * PostgreSQL). The first call only records the time (the start-up full
 * resync covers what came before). Call it on a timer, e.g. every second.
 * EZ_APPLY_*. */
int ez_apply_expired_bans(struct ez_sync_ctx *c);

#endif
