/* The logger process: batches audit records from the workers' rings into
 * audit_records (log_pg_dsn), acknowledging them only after the batch has
 * committed; deletes records past audit_retention_days in small batches;
 * finds out what became of writes whose COMMIT had an unknown outcome. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit_store.h"
#include "consumer.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "proctitle.h"
#include "roles.h"
#include "shm.h"

#define RETENTION_EVERY_MS (10 * 60 * 1000)
#define RETENTION_BATCH "5000"

/* Batches in writing go round audit_writers connections: batch k is
 * written over db[k % writers] from buf[k % (writers + 1)], the one extra
 * buffer being the batch being gathered. */
#define WRITERS_MAX 16

struct logger {
    const struct ez_config *cfg;
    struct ez_db *db[WRITERS_MAX]; /* db[0] also deletes past retention */
    struct ez_audit_batch buf[WRITERS_MAX + 1];
    int writers;
    uint64_t sent, settled; /* batches sent, and waited for */
    int64_t next_retention;
    struct ez_db *main_db;      /* pg_dsn, where unknown outcomes are asked about */
    int64_t in_progress_since;  /* the job being resolved was still running then */
};

/* How long a transaction may still read "in progress" before its record
 * is written so (a backend cut off from its client finishes its COMMIT
 * within moments). */
#define IN_PROGRESS_WAIT_MS 10000

static struct ez_audit_batch *gathering(struct logger *l)
{
    return &l->buf[l->sent % (uint64_t)(l->writers + 1)];
}

/* What txid_status says of transaction xid: "committed", "aborted", "in
 * progress", or "unknown" once PostgreSQL no longer knows it. EZ_DB_*. */
static int txid_outcome(struct logger *l, long long xid, char out[16])
{
    if (!l->main_db &&
        !(l->main_db = ez_db_new(l->cfg->pg_dsn, l->cfg->pg_statement_timeout, "ezapi-logger")))
        return EZ_DB_UNAVAILABLE;
    char id[24];
    snprintf(id, sizeof id, "%lld", xid);
    const char *p[] = { id };
    PGresult *res;
    int rc = ez_db_exec(l->main_db, &res,
                        "SELECT coalesce(txid_status($1::bigint), 'unknown')", 1, p);
    if (rc == EZ_DB_OK)
        snprintf(out, 16, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return rc;
}

/* The record of a write whose COMMIT had an unknown outcome comes as JSON
 * with the transaction id as the frame's id: its changes.outcome gets what
 * PostgreSQL says happened, and it becomes a row like any other. *row is
 * malloc'd; -1: ask again later (PostgreSQL away, or still committing). */
static int resolve_outcome(struct logger *l, const struct ez_frame *f, char **row)
{
    *row = NULL;
    json_t *rec = json_loads(f->payload ? f->payload : "", 0, NULL);
    json_t *changes = json_object_get(rec, "changes");
    if (!json_is_object(changes)) {
        json_decref(rec);
        return 0; /* not a record: dropped by the caller */
    }
    char outcome[16];
    if (txid_outcome(l, (long long)f->id, outcome) != EZ_DB_OK) {
        json_decref(rec);
        return -1;
    }
    if (strcmp(outcome, "in progress") == 0) {
        if (!l->in_progress_since)
            l->in_progress_since = ez_mono_ms();
        if (ez_mono_ms() - l->in_progress_since < IN_PROGRESS_WAIT_MS) {
            json_decref(rec);
            return -1;
        }
    }
    l->in_progress_since = 0;
    json_object_set_new(changes, "outcome", json_string(outcome));
    *row = ez_audit_row(rec);
    json_decref(rec);
    return 0;
}

static int on_job(struct ez_frame *f, void *arg)
{
    struct logger *l = arg;
    if (f->type != EZ_JOB_AUDIT)
        return 0;
    char producer[80];
    ez_audit_producer(f, producer);
    char *resolved = NULL;
    if (f->id > 0 && resolve_outcome(l, f, &resolved) != 0)
        return -1;
    const char *row = f->id > 0 ? resolved : f->payload;
    size_t len = f->id > 0 ? (resolved ? strlen(resolved) : 0) : f->payload_len;
    int added = ez_audit_batch_add(gathering(l), row ? row : "", len, producer);
    free(resolved);
    if (added != 0) {
        log_error("audit job %s is not an audit row: dropped", producer);
        ez_metric_inc(EZ_M_audit_dropped);
        return 0;
    }
    return 1;
}

static int on_send(void *arg)
{
    struct logger *l = arg;
    ez_audit_batch_send(l->db[l->sent % (uint64_t)l->writers], gathering(l));
    l->sent++;
    ez_audit_batch_clear(gathering(l));
    return 0;
}

/* The oldest batch sent: its outcome, recorded in the metrics. */
static int on_wait(void *arg)
{
    struct logger *l = arg;
    struct ez_audit_batch *b = &l->buf[l->settled % (uint64_t)(l->writers + 1)];
    int dropped;
    int rc = ez_audit_batch_finish(l->db[l->settled % (uint64_t)l->writers], b, &dropped);
    l->settled++;
    if (rc != EZ_DB_OK)
        return -1; /* read again, with the same producers, so never twice */
    ez_metric_add(EZ_M_audit_written, (uint64_t)(b->rows - dropped));
    ez_metric_add(EZ_M_audit_dropped, (uint64_t)dropped);
    ez_audit_batch_clear(b);
    return 0;
}

static void on_discard(void *arg)
{
    struct logger *l = arg;
    for (; l->settled < l->sent; l->settled++)
        ez_audit_batch_forget(l->db[l->settled % (uint64_t)l->writers],
                              &l->buf[l->settled % (uint64_t)(l->writers + 1)]);
    for (int i = 0; i <= l->writers; i++)
        ez_audit_batch_clear(&l->buf[i]);
}

/* Deletes old records a few thousand at a time, so no lock is held long. */
static void on_tick(void *arg)
{
    struct logger *l = arg;
    if (l->cfg->audit_retention_days == 0 || ez_mono_ms() < l->next_retention ||
        l->settled != l->sent) /* db[0] may be loading a batch */
        return;
    l->next_retention = ez_mono_ms() + RETENTION_EVERY_MS;
    char days[16];
    snprintf(days, sizeof days, "%lld", l->cfg->audit_retention_days);
    const char *p[] = { days };
    for (int i = 0; i < 100; i++) {
        PGresult *res;
        int rc = ez_db_exec(l->db[0], &res,
                            "DELETE FROM audit_records WHERE id IN (SELECT id FROM audit_records "
                            "WHERE time < now() - make_interval(days => $1::int) LIMIT "
                            RETENTION_BATCH ")", 1, p);
        long n = rc == EZ_DB_OK ? atol(PQcmdTuples(res)) : 0;
        PQclear(res);
        if (n > 0)
            log_info("retention: deleted %ld audit records", n);
        if (n < 5000)
            break;
    }
}

int logger_main(const struct ez_child *c)
{
    ez_log_setup("logger", c->cfg->log_level, c->cfg->log_format);
    ez_proctitle_set("ezapi: logger");
    struct logger l = { .cfg = c->cfg };
    /* Each connection opens at its first use. */
    l.writers = c->cfg->audit_writers < WRITERS_MAX ? (int)c->cfg->audit_writers : WRITERS_MAX;
    for (int i = 0; i < l.writers; i++)
        if (!(l.db[i] = ez_db_new(c->cfg->log_pg_dsn, c->cfg->pg_statement_timeout,
                                  "ezapi-logger")))
            return 1;
    struct ez_consumer_ops ops = { .job = on_job, .send = on_send, .wait = on_wait,
                                   .discard = on_discard, .inflight = l.writers,
                                   .batch = (int)c->cfg->audit_batch_size,
                                   .flush_ms = c->cfg->audit_flush_interval, .tick = on_tick,
                                   .arg = &l };
    int rc = ez_consumer_run(EZ_Q_AUDIT, c->slot, &ops, c->cfg->shutdown_timeout);
    for (int i = 0; i <= l.writers; i++)
        ez_audit_batch_free(&l.buf[i]);
    for (int i = 0; i < l.writers; i++)
        ez_db_free(l.db[i]);
    ez_db_free(l.main_db);
    return rc;
}
