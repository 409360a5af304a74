/* /admin/sync: the state of the Redis projection, the outbox, and full
 * resyncs on demand (run by the syncer; the worker only asks). */
#include <stdio.h>
#include <string.h>

#include "handlers.h"
#include "validate.h"
#include "queue.h"
#include "redis.h"
#include "shm.h"
#include "store_sync.h"
#include "verify.h"
#include "worker.h"

void h_sync_status(struct ez_req *r)
{
    json_t *counts, *run;
    int rc = ez_store_outbox_counts(ez_w.db, &counts);
    if (rc == EZ_DB_OK)
        rc = ez_store_sync_run_last(ez_w.db, &run);
    else
        run = NULL;
    if (rc != EZ_DB_OK) {
        json_decref(counts);
        ez_reply_db(r, rc);
        return;
    }
    char key[256];
    snprintf(key, sizeof key, "%smeta:sync", ez_w.cfg->redis_key_prefix);
    const char *argv[] = { "HGET", key, "version" };
    redisReply *rep = ez_redis_cmd(ez_w.redis, 3, argv, NULL);
    json_t *version = rep && rep->type == REDIS_REPLY_STRING ? json_string(rep->str) : json_null();
    int redis_ok = rep && rep->type != REDIS_REPLY_ERROR;
    if (rep)
        freeReplyObject(rep);
    struct ez_slot *s = ez_shm_slot(EZ_SLOT_SYNCER);
    uint64_t depth = ez_queue_depth(EZ_Q_SYNC);
    int64_t empty = atomic_load(&s->m.last_empty_ms), last = atomic_load(&ez_shm->last_full_sync_ms);
    json_t *body = json_pack(
        "{s:{s:b, s:I, s:I, s:f}, s:o, s:{s:b, s:o}, s:o, s:o}",
        "syncer", "alive", atomic_load(&s->pid) > 0, "queue_depth", (json_int_t)depth,
        "restarts", (json_int_t)atomic_load(&s->restarts), "lag_seconds",
        depth && empty ? (double)(ez_now_ms() - empty) / 1000.0 : 0.0,
        "outbox", counts, "redis", "ok", redis_ok, "version", version,
        "last_full_sync_at", last ? json_integer(last / 1000) : json_null(),
        "last_full_resync", run ? run : json_null());
    ez_reply_json(r, 200, body);
}

void h_sync_outbox_list(struct ez_req *r)
{
    static const char *const statuses[] = { "pending", "failed", NULL };
    ez_reply_status_list(r, ez_w.db, statuses, ez_store_outbox_list);
}

void h_sync_outbox_retry(struct ez_req *r)
{
    int64_t id;
    struct ez_outcome o;
    json_t *row;
    if (ez_param_id(r, 0, &id) != 0)
        return;
    ez_store_outbox_retry(ez_w.db, r->params[0], &row, &o);
    if (!ez_reply_outcome(r, &o, "outbox row"))
        return;
    if (ez_queue_control(EZ_Q_SYNC, "outbox", id) != 0) { /* the timer picks it up */ }
    ez_audit(r, "sync.outbox_retry", "sync_outbox", r->params[0], NULL, json_incref(row));
    ez_reply_json(r, 200, row);
}

void h_sync_full(struct ez_req *r)
{
    struct ez_outcome o;
    json_t *run;
    ez_store_sync_run_new(ez_w.db, &run, &o);
    if (!ez_reply_outcome(r, &o, NULL))
        return;
    json_int_t id = json_integer_value(json_object_get(run, "id"));
    if (ez_queue_control(EZ_Q_SYNC, "full_resync", id) != 0) {
        /* The syncer also looks for pending runs on its own timer. */
    }
    char sid[24];
    snprintf(sid, sizeof sid, "%lld", (long long)id);
    ez_audit(r, "sync.full_resync", "sync_runs", sid, NULL, json_incref(run));
    ez_reply_json(r, 202, run);
}

void h_sync_verify(struct ez_req *r)
{
    json_t *report;
    const char *why;
    int rc = ez_verify(ez_w.db, ez_w.redis, ez_w.cfg, &report, &why);
    if (rc != EZ_DB_OK) {
        ez_reply_error(r, 503, "unavailable_error", "verify_unavailable", NULL,
                       "cannot verify now: %s", why);
        return;
    }
    ez_reply_json(r, 200, report);
}
