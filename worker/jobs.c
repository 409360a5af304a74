/* Sync and audit jobs of a worker, with their fallbacks. */
#include "jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit_store.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "queue.h"
#include "worker.h"

void ez_jobs_sync(struct ez_req *r, const char *resource, const char *op, int64_t id,
                  int64_t rev, json_t *payload)
{
    if (!payload)
        payload = json_object();
    json_object_set_new(payload, "op", json_string(op));
    char *text = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(payload);
    struct ez_frame f = { .type = EZ_JOB_SYNC, .id = id, .rev = rev, .payload = text,
                          .payload_len = text ? strlen(text) : 0 };
    snprintf(f.request_id, sizeof f.request_id, "%s", r->request_id);
    snprintf(f.resource, sizeof f.resource, "%s", resource);
    int rc = ez_queue_push(EZ_Q_SYNC, ez_w.slot, &f);
    if (rc != EZ_QUEUE_OK) {
        /* The change is committed: it must reach Redis through the outbox. */
        ez_metric_inc(EZ_M_queue_full_sync);
        log_warn("sync queue full; job %s %lld goes to the outbox", resource, (long long)id);
        int dbrc = ez_outbox_add(ez_w.db, resource, op, id, text, 0, 0, "sync queue full");
        if (dbrc != EZ_DB_OK)
            log_error("sync job %s %lld lost its queue and the outbox; the syncer's catch-up "
                      "after PostgreSQL returns, or the next full resync, restores it",
                      resource, (long long)id);
    }
    free(text);
}

static void iso_now(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%06ldZ", ts.tv_nsec / 1000);
}

/* The audit queue is full: the worker writes its record itself. */
static void audit_direct(const struct ez_frame *f)
{
    char producer[80];
    ez_audit_producer(f, producer);
    struct ez_audit_batch b = { 0 };
    int dropped = 0;
    ez_metric_inc(EZ_M_queue_full_audit);
    if (ez_audit_batch_add(&b, f->payload, f->payload_len, producer) == 0 &&
        ez_audit_batch_write(ez_w.audit_db, &b, &dropped) == EZ_DB_OK && !dropped) {
        ez_metric_inc(EZ_M_audit_direct);
    } else {
        ez_metric_inc(EZ_M_audit_dropped);
        log_error("audit record %s could not be queued nor written", producer);
    }
    ez_audit_batch_free(&b);
}

static json_t *audit_record(struct ez_req *r, const char *when, const char *ua,
                            int64_t latency_us)
{
    static const char *actors[] = { "anonymous", "admin", "master" };
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s?, s:I}",
                     "time", when, "request_id", r->request_id,
                     "actor_type", actors[r->who.kind], "actor", r->who.sub,
                     "action", r->audit_action,
                     "resource", r->audit_resource ? r->audit_resource : "",
                     "resource_id", r->audit_resource_id, "method", r->method,
                     "path", r->path ? r->path : "", "status", r->status,
                     "remote_addr", r->remote, "user_agent", ua,
                     "latency_us", (json_int_t)latency_us);
}

/* The record of a write whose COMMIT has an unknown outcome travels as
 * JSON, with the transaction id as the frame's id: the logger asks
 * PostgreSQL what became of that transaction and writes the answer into
 * changes.outcome ("committed", "aborted"). */
static void push_unknown(struct ez_req *r, json_t *rec)
{
    json_object_set_new(json_object_get(rec, "changes"), "xid", json_integer(r->xid));
    char *text = json_dumps(rec, JSON_COMPACT);
    struct ez_frame f = { .type = EZ_JOB_AUDIT, .id = r->xid, .payload = text,
                          .payload_len = text ? strlen(text) : 0 };
    snprintf(f.request_id, sizeof f.request_id, "%s", r->request_id);
    snprintf(f.resource, sizeof f.resource, "audit");
    int done = !text || ez_queue_push(EZ_Q_AUDIT, ez_w.slot, &f) == EZ_QUEUE_OK;
    free(text);
    if (done)
        return;
    /* Written as it stands (outcome unknown), with the identity the
     * refused push stamped. */
    char *row = ez_audit_row(rec);
    f.id = 0;
    f.payload = row;
    f.payload_len = row ? strlen(row) : 0;
    if (row)
        audit_direct(&f);
    free(row);
}

/* Queues one audit record (or writes it, the queue being full). */
static void audit_queue(json_t *rec, const char *request_id)
{
    char *row = ez_audit_row(rec);
    if (!row)
        return;
    struct ez_frame f = { .type = EZ_JOB_AUDIT, .payload = row, .payload_len = strlen(row) };
    snprintf(f.request_id, sizeof f.request_id, "%s", request_id);
    snprintf(f.resource, sizeof f.resource, "audit");
    if (ez_queue_push(EZ_Q_AUDIT, ez_w.slot, &f) != EZ_QUEUE_OK)
        audit_direct(&f);
    free(row);
}

void ez_jobs_audit(struct ez_req *r, int64_t latency_us)
{
    if (!r->audit_action)
        return;
    int auth_failure = strcmp(r->audit_action, "auth.failure") == 0;
    if (!auth_failure && !r->commit_unknown && (r->status < 200 || r->status > 299))
        return;
    const char *ua = evhttp_find_header(evhttp_request_get_input_headers(r->ev), "User-Agent");
    char when[40];
    iso_now(when, sizeof when);
    json_t *rec = audit_record(r, when, ua, latency_us);
    if (!rec && ua) /* a User-Agent that is not UTF-8: the record is kept without it */
        rec = audit_record(r, when, NULL, latency_us);
    if (!rec)
        return;
    /* An auth.failure record's changes are its counts (ez_auth_limit_failed). */
    json_object_set_new(rec, "changes",
                        auth_failure ? json_incref(r->audit_after)
                                     : json_pack("{s:O?, s:O?}", "before", r->audit_before,
                                                 "after", r->audit_after));
    if (r->commit_unknown) {
        json_object_set_new(json_object_get(rec, "changes"), "outcome", json_string("unknown"));
        push_unknown(r, rec);
    } else {
        audit_queue(rec, r->request_id);
    }
    json_decref(rec);
}

void ez_jobs_audit_auth_failures(const char *remote, json_t *changes)
{
    char when[40];
    iso_now(when, sizeof when);
    json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:o}", "time", when, "actor_type",
                            "anonymous", "action", "auth.failure", "resource", "auth", "status",
                            401, "remote_addr", remote, "changes", changes);
    if (rec)
        audit_queue(rec, "");
    json_decref(rec);
}
