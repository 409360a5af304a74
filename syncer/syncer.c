/* The syncer process: applies sync jobs from the workers' rings to Redis,
 * whatever a pass read as one batch; a job whose Redis write fails is
 * committed to sync_outbox before it is acknowledged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "catch_up.h"
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
static struct ez_catch_up catch_up;

/* Jobs applied together at most (the consumer's batch). */
#define SYNC_BATCH 256

/* Jobs read from the rings and not yet applied or outboxed; the consumer
 * acknowledges them once on_flush returns 0. */
struct held_job {
    char resource[EZ_FRAME_MAX_RESOURCE + 1];
    char request_id[EZ_FRAME_MAX_REQUEST_ID + 1];
    int64_t id;
    char *text;      /* the payload as received, for the outbox */
    json_t *payload; /* the same, parsed */
};
static struct held_job held[SYNC_BATCH];
static int nheld;

/* A failed full resync is tried again after this. */
#define FULL_RETRY_MS 5000

/* Full resync when asked, when Redis restarted or lost its data, and every
 * full_resync_interval. */
static void full_resync_timer(struct ez_sync_ctx *c)
{
    int64_t now = ez_mono_ms();
    if (now >= next_full_check) {
        next_full_check = now + 1000;
        if (ez_full_resync_needed(c) == 1) {
            full_wanted = 1;
            next_full_try = 0; /* Redis is back: no back-off from its absence */
        }
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
        next_full_try = ez_mono_ms() + (rc == EZ_FULL_BUSY ? 1000 : FULL_RETRY_MS);
    }
}

/* How far back a catch-up after a reconnection starts: a transaction takes
 * its rev when it writes and commits later, within a few statements. */
static int64_t catch_up_margin(void)
{
    int64_t m = 4 * cfg->pg_statement_timeout;
    return m < 10000 ? 10000 : m;
}

/* Outbox passes, one after the other while they find full batches, for at
 * most OUTBOX_DRAIN_MS, so that a backlog drains without holding back the
 * queue for long. */
#define OUTBOX_DRAIN_MS 200

static void outbox_passes(struct ez_sync_ctx *c)
{
    next_outbox_pass = ez_mono_ms() + cfg->sync_outbox_interval;
    int64_t until = ez_mono_ms() + OUTBOX_DRAIN_MS;
    int applied;
    do {
        applied = ez_outbox_pass(c, cfg);
        if (applied < 0)
            log_warn("outbox pass skipped: PostgreSQL unavailable");
    } while (applied >= cfg->sync_outbox_batch_size && ez_mono_ms() < until);
}

/* Timers of the syncer: full resync, catch-up after a reconnection, bans
 * that ended, the outbox pass. */
static void on_tick(void *arg)
{
    struct ez_sync_ctx *c = arg;
    full_resync_timer(c);
    unsigned seen = catch_up.connects;
    if (ez_catch_up_tick(c, &catch_up, catch_up_margin()))
        full_wanted = 1;
    if (seen && catch_up.connects != seen)
        next_outbox_pass = 0; /* reconnected: rows written meanwhile are due */
    if (ez_apply_expired_bans(c) != EZ_APPLY_OK)
        log_debug("re-projection of ended bans deferred: %s", c->error);
    if (ez_mono_ms() >= next_outbox_pass)
        outbox_passes(c);
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
    (void)arg;
    if (f->type != EZ_JOB_SYNC)
        return 0;
    json_t *payload = ez_sync_payload(f->resource, f->id, f->payload);
    if (!payload)
        return 0; /* dropped */
    char *text = strdup(f->payload ? f->payload : "{}");
    if (!text || nheld == SYNC_BATCH) {
        free(text);
        json_decref(payload);
        return -1; /* read again later */
    }
    struct held_job *h = &held[nheld++];
    snprintf(h->resource, sizeof h->resource, "%s", f->resource);
    snprintf(h->request_id, sizeof h->request_id, "%s", f->request_id);
    h->id = f->id;
    h->text = text;
    h->payload = payload;
    return 1;
}

static void release(struct held_job *h)
{
    free(h->text);
    json_decref(h->payload);
}

/* After its batch: 0 when the job is done with (applied, or saved to the
 * outbox), -1 to keep it held and try it again. */
static int settle(struct ez_sync_ctx *c, const struct held_job *h, int rc)
{
    if (rc == EZ_APPLY_OK) {
        ez_metric_inc(EZ_M_sync_applied);
        return 0;
    }
    if (rc == EZ_APPLY_DB)
        return -1; /* PostgreSQL away: keep the job in the ring, retry */
    const char *op = json_string_value(json_object_get(h->payload, "op"));
    if (ez_outbox_add(c->db, h->resource, op ? op : "upsert", h->id, h->text, 1,
                      cfg->sync_outbox_interval, c->error) != EZ_DB_OK)
        return -1; /* neither Redis nor PostgreSQL: keep it queued */
    ez_metric_inc(EZ_M_sync_outboxed);
    ez_log_set_request_id(h->request_id);
    log_warn("Redis write failed (%s): job %s %lld saved to the outbox", c->error, h->resource,
             (long long)h->id);
    ez_log_set_request_id(NULL);
    return 0;
}

/* A job that removes names from Redis (a delete, a rename) has a twin in
 * sync_outbox, written by its own transaction (migrations/002): it is
 * applied and deleted right after this one. */
static int has_twin(json_t *payload)
{
    const char *op = json_string_value(json_object_get(payload, "op"));
    const char *field;
    json_t *v;
    if (op && strcmp(op, "delete") == 0)
        return 1;
    json_object_foreach(payload, field, v)
        if (strncmp(field, "old_", 4) == 0)
            return 1;
    return 0;
}

/* Applies every held job; those not done with stay held (-1). */
static int on_flush(void *arg)
{
    struct ez_sync_ctx *c = arg;
    struct ez_sync_job jobs[SYNC_BATCH];
    for (int i = 0; i < nheld; i++) {
        jobs[i] = (struct ez_sync_job){ held[i].resource, held[i].id, held[i].payload, 0 };
        if (has_twin(held[i].payload))
            next_outbox_pass = 0;
    }
    ez_sync_apply_batch(c, jobs, nheld);
    int kept = 0;
    for (int i = 0; i < nheld; i++) {
        if (settle(c, &held[i], jobs[i].rc) == 0)
            release(&held[i]);
        else
            held[kept++] = held[i];
    }
    nheld = kept;
    return kept ? -1 : 0;
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
    ez_catch_up_init(&catch_up);
    struct ez_consumer_ops ops = { .job = on_job, .flush = on_flush, .batch = SYNC_BATCH,
                                   .flush_ms = 0, .tick = on_tick, .control = on_control,
                                   .arg = &ctx };
    /* At start, unless the previous syncer stopped gracefully (a reload)
     * and Redis kept its data: the timer checks that within a second. */
    full_wanted = !atomic_exchange(&ez_shm->syncer_clean_exit, 0);
    int rc = ez_consumer_run(EZ_Q_SYNC, c->slot, &ops, cfg->shutdown_timeout);
    if (rc == 0)
        atomic_store(&ez_shm->syncer_clean_exit, 1);
    for (int i = 0; i < nheld; i++)
        release(&held[i]);
    ez_db_free(ctx.db);
    ez_redis_free(ctx.redis);
    return rc;
}
