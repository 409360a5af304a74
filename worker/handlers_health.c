/* GET /health (liveness) and GET /health/ready (can this instance do its
 * job: PostgreSQL, Redis, the syncer and the logger). */
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "handlers.h"
#include "queue.h"
#include "redis.h"
#include "shm.h"
#include "worker.h"

#define CONSUMER_STALE_MS 10000

void h_health(struct ez_req *r)
{
    ez_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

static json_t *consumer(int slot, enum ez_queue_id q, int *ok)
{
    struct ez_slot *s = ez_shm_slot(slot);
    int alive = atomic_load(&s->pid) > 0 &&
                ez_mono_ms() - atomic_load(&s->heartbeat_ms) < CONSUMER_STALE_MS;
    if (!alive)
        *ok = 0;
    return json_pack("{s:b, s:I, s:I, s:I}", "alive", alive, "pid", (json_int_t)atomic_load(&s->pid),
                     "queue_depth", (json_int_t)ez_queue_depth(q),
                     "restarts", (json_int_t)atomic_load(&s->restarts));
}

void h_health_ready(struct ez_req *r)
{
    int ok = 1;
    json_t *pg = json_object(), *outbox = json_pack("{s:i, s:i}", "pending", 0, "failed", 0);
    PGresult *res;
    int rc = ez_db_exec(ez_w.db, &res,
                        "SELECT status, count(*) FROM sync_outbox GROUP BY status", 0, NULL);
    json_object_set_new(pg, "ok", json_boolean(rc == EZ_DB_OK));
    if (rc == EZ_DB_OK) {
        for (int i = 0; i < PQntuples(res); i++)
            json_object_set_new(outbox, PQgetvalue(res, i, 0),
                                json_integer(atoll(PQgetvalue(res, i, 1))));
    } else {
        ok = 0;
    }
    PQclear(res);
    const char *ping[] = { "PING" };
    redisReply *rep = ez_redis_cmd(ez_w.redis, 1, ping, NULL);
    int redis_ok = rep && rep->type == REDIS_REPLY_STATUS;
    if (rep)
        freeReplyObject(rep);
    if (!redis_ok)
        ok = 0;
    int64_t last = atomic_load(&ez_shm->last_full_sync_ms);
    json_t *body = json_pack("{s:s, s:o, s:{s:b}, s:o, s:o, s:o, s:o}",
                             "status", ok ? "ready" : "not_ready",
                             "postgres", pg, "redis", "ok", redis_ok,
                             "syncer", consumer(EZ_SLOT_SYNCER, EZ_Q_SYNC, &ok),
                             "logger", consumer(EZ_SLOT_LOGGER, EZ_Q_AUDIT, &ok),
                             "outbox", outbox,
                             "last_full_sync_at", last ? json_integer(last / 1000) : json_null());
    /* consumer() may have cleared ok after the status was packed */
    json_object_set_new(body, "status", json_string(ok ? "ready" : "not_ready"));
    ez_reply_json(r, ok ? 200 : 503, body);
}
