/* The syncer process: applies sync jobs from the workers' rings to Redis;
 * a job whose Redis write fails is committed to sync_outbox before it is
 * acknowledged. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "apply.h"
#include "consumer.h"
#include "log.h"
#include "metrics.h"
#include "common/outbox.h"
#include "full_resync.h"
#include "outbox_retry.h"
#include "shm.h"
#include "proctitle.h"
#include "queue.h"
#include "roles.h"

static const struct ez_config *cfg;
static int64_t next_outbox_pass;
static int full_wanted;          /* a full resync is due */
static int64_t next_full_check;  /* when to ask Redis whether it lost data */
static int64_t next_full_try;    /* back-off after a failed or busy attempt */
static int64_t next_periodic;    /* full_resync_interval */

/* Full resync when asked, when Redis restarted or lost its data, and every
 * full_resync_interval. */
static void full_resync_timer(struct ez_sync_ctx *c)
{
    int64_t now = ez_mono_ms();
    if (now >= next_full_check) {
        next_full_check = now + 1000;
        if (ez_full_resync_needed(c) == 1)
            full_wanted = 1;
    }
    if (cfg->full_resync_interval > 0 && now >= next_periodic) {
        if (next_periodic)
            full_wanted = 1;
        next_periodic = now + cfg->full_resync_interval;
    }
    if (!full_wanted || now < next_full_try)
        return;
    int rc = ez_full_resync(c, cfg);
    if (rc == EZ_APPLY_OK) {
        full_wanted = 0;
        next_periodic = ez_mono_ms() + cfg->full_resync_interval;
    } else {
        next_full_try = ez_mono_ms() + (rc == EZ_FULL_BUSY ? 1000 : cfg->sync_outbox_interval);
    }
}

/* Timers of the syncer: full resync, bans that ended, the outbox pass. */
static void on_tick(void *arg)
{
    struct ez_sync_ctx *c = arg;
    full_resync_timer(c);
    if (ez_apply_expired_bans(c) != EZ_APPLY_OK)
        log_debug("re-projection of ended bans deferred: %s", c->error);
    if (ez_mono_ms() < next_outbox_pass)
        return;
    next_outbox_pass = ez_mono_ms() + cfg->sync_outbox_interval;
    if (ez_outbox_pass(c, cfg) < 0)
        log_warn("outbox pass skipped: PostgreSQL unavailable");
}

/* Commands from the workers, sent over the wake-up socket. */
static void on_control(struct ez_frame *f, void *arg)
{
    (void)arg;
    if (strcmp(f->resource, "outbox") == 0) {
        next_outbox_pass = 0; /* a row was put back by hand: try it now */
    } else if (strcmp(f->resource, "full_resync") == 0) {
        full_wanted = 1;
        next_full_try = 0;
    }
    else
        log_warn("unknown control command %s ignored", f->resource);
}

static int on_job(struct ez_frame *f, void *arg)
{
    struct ez_sync_ctx *c = arg;
    if (f->type != EZ_JOB_SYNC)
        return 0;
    int rc = ez_sync_apply(c, f->resource, f->payload, f->id);
    if (rc == EZ_APPLY_OK) {
        ez_metric_inc(EZ_M_sync_applied);
        return 0;
    }
    if (rc == EZ_APPLY_DB)
        return -1; /* PostgreSQL away: keep the job in the ring, retry */
    json_t *p = json_loads(f->payload ? f->payload : "{}", 0, NULL);
    const char *op = p ? json_string_value(json_object_get(p, "op")) : NULL;
    int dbrc = ez_outbox_add(c->db, f->resource, op ? op : "upsert", f->id, f->payload, 1,
                             cfg->sync_outbox_interval, c->error);
    json_decref(p);
    if (dbrc != EZ_DB_OK)
        return -1; /* neither Redis nor PostgreSQL: keep it queued */
    ez_metric_inc(EZ_M_sync_outboxed);
    log_warn("Redis write failed (%s): job %s %lld saved to the outbox", c->error, f->resource,
             (long long)f->id);
    return 0;
}

int syncer_main(const struct ez_child *c)
{
    cfg = c->cfg;
    ez_log_setup("syncer", cfg->log_level, cfg->log_format);
    ez_proctitle_set("ezapi: syncer");
    struct ez_sync_ctx ctx = { .prefix = cfg->redis_key_prefix, .cfg = cfg };
    ctx.db = ez_db_new(cfg->pg_dsn, cfg->pg_statement_timeout, "ezapi-syncer");
    ctx.redis = ez_redis_new(cfg->redis_url, 2000);
    if (!ctx.db || !ctx.redis)
        return 1;
    struct ez_consumer_ops ops = { .job = on_job, .batch = INT_MAX, .flush_ms = 0,
                                   .tick = on_tick, .control = on_control, .arg = &ctx };
    /* At start, unless the previous syncer stopped gracefully (a reload)
     * and Redis kept its data: the timer checks that within a second. */
    full_wanted = !atomic_exchange(&ez_shm->syncer_clean_exit, 0);
    int rc = ez_consumer_run(EZ_Q_SYNC, c->slot, &ops, cfg->shutdown_timeout);
    if (rc == 0)
        atomic_store(&ez_shm->syncer_clean_exit, 1);
    ez_db_free(ctx.db);
    ez_redis_free(ctx.redis);
    return rc;
}
