/* Full resync. The walk (common/walk.h) streams the projection from one
 * REPEATABLE READ snapshot taken under every apply lock; a pipelined writer
 * turns it into Redis commands, 1000 in flight at most:
 *   shared hashes (config:*, meta:*, route:group:*): DEL <prefix>resync:<key>,
 *     HSET it field by field, then RENAME it over <key> (DEL <key> when
 *     empty), so a reader sees the old hash or the new one, never a mix;
 *   auth:master / auth:token hashes: one HSET with every field (their field
 *     set is fixed, so nothing stale can remain), plus EXPIRE for secrets in
 *     a rotation grace.
 * Then stale per-entity keys are deleted and meta:sync is updated. */
#include "full_resync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "log.h"
#include "metrics.h"
#include "projection.h"
#include "shm.h"
#include "store_auth.h"
#include "store_projection.h"
#include "walk.h"

#define FULL_RESYNC_LOCK "7312272851620737651" /* "ezfullrs" */
#define PIPELINE 20000 /* commands in flight before their replies are read */
#define WALK_BATCH 2000
#define MAX_FIELDS 32

struct writer {
    struct ez_sync_ctx *c;
    redisContext *rc;
    const char *prefix;
    int pending;
    int failed;
    char key[600];
    char temp[640];
    int per_entity;
    long long ttl;
    int nfields;
    char *fields[2 * MAX_FIELDS];
    EVP_MD_CTX *md;
    long long keys;
    long long written; /* keys that exist after the resync (at least one field) */
};

static void drain(struct writer *w)
{
    /* A long resync is not a stuck syncer: keep the heartbeat going. */
    atomic_store(&ez_shm_slot(ez_metrics_slot)->heartbeat_ms, ez_mono_ms());
    for (; w->pending > 0; w->pending--) {
        redisReply *rep = NULL;
        if (redisGetReply(w->rc, (void **)&rep) != REDIS_OK) {
            snprintf(w->c->error, sizeof w->c->error, "redis: %s", w->rc->errstr);
            w->failed = 1;
            w->pending = 0;
            ez_redis_reset(w->c->redis);
            w->rc = NULL;
            return;
        }
        if (rep->type == REDIS_REPLY_ERROR && !w->failed) {
            snprintf(w->c->error, sizeof w->c->error, "redis: %s", rep->str);
            w->failed = 1;
        }
        freeReplyObject(rep);
    }
}

/* Sends the queued commands without waiting for their replies. */
static void push(struct writer *w)
{
    int done = 0;
    while (!done && !w->failed)
        if (redisBufferWrite(w->rc, &done) != REDIS_OK) {
            snprintf(w->c->error, sizeof w->c->error, "redis: %s", w->rc->errstr);
            w->failed = 1;
        }
}

static int append(struct writer *w, int argc, const char **argv)
{
    if (w->failed || !w->rc)
        return 1;
    if (redisAppendCommandArgv(w->rc, argc, argv, NULL) != REDIS_OK) {
        snprintf(w->c->error, sizeof w->c->error, "redis: cannot queue a command");
        w->failed = 1;
        return 1;
    }
    if (++w->pending >= PIPELINE)
        drain(w);
    else if (w->pending % 1000 == 0)
        push(w); /* let Redis work while the next rows are read */
    return w->failed;
}

static void clear_fields(struct writer *w)
{
    for (int i = 0; i < 2 * w->nfields; i++)
        free(w->fields[i]);
    w->nfields = 0;
}

static int on_open(void *arg, const char *key, long long ttl)
{
    struct writer *w = arg;
    snprintf(w->key, sizeof w->key, "%s%s", w->prefix, key);
    w->per_entity = strncmp(key, "auth:", 5) == 0;
    w->ttl = ttl;
    w->nfields = 0;
    w->keys++;
    if (w->per_entity)
        return 0;
    snprintf(w->temp, sizeof w->temp, "%sresync:%s", w->prefix, key);
    const char *del[] = { "DEL", w->temp };
    return append(w, 2, del);
}

static int on_field(void *arg, const char *key, const char *field, const char *value)
{
    struct writer *w = arg;
    EVP_DigestUpdate(w->md, key, strlen(key));
    EVP_DigestUpdate(w->md, "\n", 1);
    EVP_DigestUpdate(w->md, field, strlen(field));
    EVP_DigestUpdate(w->md, "\n", 1);
    EVP_DigestUpdate(w->md, value, strlen(value));
    EVP_DigestUpdate(w->md, "\n", 1);
    if (!w->per_entity) {
        const char *hset[] = { "HSET", w->temp, field, value };
        return append(w, 4, hset);
    }
    if (w->nfields == MAX_FIELDS)
        return 1;
    w->fields[2 * w->nfields] = strdup(field);
    w->fields[2 * w->nfields + 1] = strdup(value);
    w->nfields++;
    return !w->fields[2 * w->nfields - 2] || !w->fields[2 * w->nfields - 1];
}

static int on_close(void *arg, const char *key)
{
    struct writer *w = arg;
    (void)key;
    int rc = 0;
    if (w->nfields)
        w->written++;
    if (!w->per_entity) {
        const char *rename[] = { "RENAME", w->temp, w->key };
        const char *del[] = { "DEL", w->key };
        return w->nfields ? append(w, 3, rename) : append(w, 2, del);
    }
    if (w->nfields == 0) {
        const char *del[] = { "DEL", w->key };
        return append(w, 2, del);
    }
    const char *argv[2 + 2 * MAX_FIELDS];
    argv[0] = "HSET";
    argv[1] = w->key;
    for (int i = 0; i < 2 * w->nfields; i++)
        argv[2 + i] = w->fields[i];
    rc = append(w, 2 + 2 * w->nfields, argv);
    clear_fields(w);
    if (!rc && w->ttl > 0) {
        char ttl[24];
        snprintf(ttl, sizeof ttl, "%lld", w->ttl);
        const char *expire[] = { "EXPIRE", w->key, ttl };
        rc = append(w, 3, expire);
    }
    return rc;
}

/* A field counts toward on_field only after on_open; nfields tracks the
 * shared hashes too, so that an empty one is deleted rather than renamed. */
static int on_field_counted(void *arg, const char *key, const char *field, const char *value)
{
    struct writer *w = arg;
    if (!w->per_entity)
        w->nfields++;
    return on_field(arg, key, field, value);
}

static int on_stale(void *arg, const char *key)
{
    struct writer *w = arg;
    char k[600];
    snprintf(k, sizeof k, "%s%s", w->prefix, key);
    const char *del[] = { "DEL", k };
    redisReply *rep = ez_redis_cmd(w->c->redis, 2, del, NULL);
    int bad = !rep || rep->type == REDIS_REPLY_ERROR;
    if (rep)
        freeReplyObject(rep);
    return bad;
}

/* Deletes build-aside keys a crashed resync left behind. */
static int drop_leftovers(struct ez_sync_ctx *c)
{
    char pattern[300], cursor[32] = "0";
    snprintf(pattern, sizeof pattern, "%sresync:*", c->prefix);
    do {
        const char *scan[] = { "SCAN", cursor, "MATCH", pattern, "COUNT", "1000" };
        redisReply *rep = ez_redis_cmd(c->redis, 6, scan, NULL);
        if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
            if (rep)
                freeReplyObject(rep);
            return -1;
        }
        snprintf(cursor, sizeof cursor, "%s", rep->element[0]->str);
        for (size_t i = 0; i < rep->element[1]->elements; i++) {
            const char *del[] = { "DEL", rep->element[1]->element[i]->str };
            redisReply *d = ez_redis_cmd(c->redis, 2, del, NULL);
            if (d)
                freeReplyObject(d);
        }
        freeReplyObject(rep);
    } while (strcmp(cursor, "0") != 0);
    return 0;
}

/* When the Redis database holds exactly the keys just written (and
 * meta:sync), nothing else can be stale and the scan is skipped: the common
 * case of a database given to ezapi alone. Any doubt (other keys, a grace
 * hash expiring meanwhile) means scanning. */
static int only_ours(struct writer *w)
{
    char key[300];
    snprintf(key, sizeof key, "%s%s", w->prefix, EZ_PJ_SYNC);
    const char *dbsize[] = { "DBSIZE" };
    const char *exists[] = { "EXISTS", key };
    redisReply *a = ez_redis_cmd(w->c->redis, 1, dbsize, NULL);
    redisReply *b = a ? ez_redis_cmd(w->c->redis, 2, exists, NULL) : NULL;
    int ours = a && b && a->type == REDIS_REPLY_INTEGER && b->type == REDIS_REPLY_INTEGER &&
               a->integer == w->written + b->integer;
    if (a)
        freeReplyObject(a);
    if (b)
        freeReplyObject(b);
    return ours;
}

/* Redis's run id (INFO server), into out; 0 or -1. */
static int redis_run_id(struct ez_sync_ctx *c, char *out, size_t len)
{
    const char *info[] = { "INFO", "server" };
    redisReply *rep = ez_redis_cmd(c->redis, 2, info, NULL);
    int rc = -1;
    if (rep && rep->type == REDIS_REPLY_STRING) {
        const char *p = strstr(rep->str, "run_id:");
        if (p) {
            p += 7;
            size_t n = strcspn(p, "\r\n");
            snprintf(out, len, "%.*s", (int)n, p);
            rc = 0;
        }
    }
    if (rep)
        freeReplyObject(rep);
    return rc;
}

int ez_full_resync_needed(struct ez_sync_ctx *c)
{
    char run[48];
    if (redis_run_id(c, run, sizeof run) != 0)
        return -1;
    char key[300];
    snprintf(key, sizeof key, "%s%s", c->prefix, EZ_PJ_SYNC);
    const char *hexists[] = { "HEXISTS", key, "last_full_sync_at" };
    redisReply *rep = ez_redis_cmd(c->redis, 3, hexists, NULL);
    if (!rep || rep->type != REDIS_REPLY_INTEGER) {
        if (rep)
            freeReplyObject(rep);
        return -1;
    }
    int missing = rep->integer == 0;
    freeReplyObject(rep);
    return missing || strcmp(run, ez_shm->redis_run_id) != 0;
}

/* Requested runs (POST /admin/sync/full, any instance) are all served by
 * the next resync that starts after them: it claims every pending row, and
 * settles the rows it claimed. Only one resync runs at a time, so the
 * running rows are this one's. */
static void claim_runs(struct ez_sync_ctx *c)
{
    if (ez_db_cmd(c->db, "UPDATE sync_runs SET status = 'running', started_at = now() "
                         "WHERE status = 'pending'", 0, NULL) != EZ_DB_OK)
        log_warn("could not mark the requested full resyncs as running");
}

static void settle_runs(struct ez_sync_ctx *c, const char *status, const char *error)
{
    const char *p[] = { status, error };
    if (ez_db_cmd(c->db, "UPDATE sync_runs SET status = $1, error = $2, finished_at = now() "
                         "WHERE status = 'running'", 2, p) != EZ_DB_OK)
        log_warn("could not record the end of the requested full resyncs");
}

static int finish_meta(struct ez_sync_ctx *c, const char *checksum)
{
    char key[300], now[24];
    snprintf(key, sizeof key, "%s%s", c->prefix, EZ_PJ_SYNC);
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    const char *hset[] = { "HSET", key, "last_full_sync_at", now, "checksum", checksum };
    const char *incr[] = { "HINCRBY", key, "version", "1" };
    redisReply *a = ez_redis_cmd(c->redis, 6, hset, NULL);
    redisReply *b = a ? ez_redis_cmd(c->redis, 4, incr, NULL) : NULL;
    int ok = a && b && a->type != REDIS_REPLY_ERROR && b->type == REDIS_REPLY_INTEGER;
    long long version = ok ? b->integer : 0;
    if (a)
        freeReplyObject(a);
    if (b)
        freeReplyObject(b);
    if (!ok)
        return -1;
    ez_apply_publish(c, "all", version);
    return 0;
}

int ez_full_resync(struct ez_sync_ctx *c, const struct ez_config *cfg)
{
    int64_t started = ez_mono_ms();
    PGresult *res;
    const char *lock[] = { FULL_RESYNC_LOCK };
    if (ez_db_exec(c->db, &res, "SELECT pg_try_advisory_lock($1::bigint)", 1, lock) != EZ_DB_OK) {
        PQclear(res);
        snprintf(c->error, sizeof c->error, "postgres unavailable");
        return EZ_APPLY_DB;
    }
    int got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (!got)
        return EZ_FULL_BUSY;
    claim_runs(c);
    char run[48] = "";
    int rc = EZ_APPLY_OK;
    if (redis_run_id(c, run, sizeof run) != 0 || drop_leftovers(c) != 0) {
        snprintf(c->error, sizeof c->error, "redis unreachable");
        rc = EZ_APPLY_REDIS;
    }
    struct writer w = { .c = c, .prefix = c->prefix, .md = EVP_MD_CTX_new() };
    w.rc = rc == EZ_APPLY_OK ? ez_redis_get(c->redis) : NULL;
    int64_t now_us = 0;
    if (rc == EZ_APPLY_OK && (!w.md || !w.rc || !EVP_DigestInit_ex(w.md, EVP_sha256(), NULL))) {
        snprintf(c->error, sizeof c->error, "cannot start the resync");
        rc = EZ_APPLY_REDIS;
    }
    int db = rc == EZ_APPLY_OK ? ez_db_cmd(c->db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                                           0, NULL)
                               : EZ_DB_OK;
    char locks[256];
    snprintf(locks, sizeof locks,
             "SELECT pg_advisory_xact_lock(%lld), pg_advisory_xact_lock(%lld), "
             "pg_advisory_xact_lock(%lld), pg_advisory_xact_lock(%lld)",
             EZ_APPLY_LOCK_CONFIG, EZ_APPLY_LOCK_NAMESPACES, EZ_APPLY_LOCK_FEATURES,
             EZ_APPLY_LOCK_TENANTS);
    if (rc == EZ_APPLY_OK && db == EZ_DB_OK)
        db = ez_db_cmd(c->db, locks, 0, NULL);
    if (rc == EZ_APPLY_OK && db == EZ_DB_OK)
        db = ez_pja_clock_us(c->db, &now_us);
    struct ez_walk_sink sink = { on_open, on_field_counted, on_close, &w };
    if (rc == EZ_APPLY_OK && db == EZ_DB_OK)
        db = ez_walk(c->db, cfg, now_us, WALK_BATCH, &sink);
    if (rc == EZ_APPLY_OK && w.rc)
        drain(&w);
    int64_t walked = ez_mono_ms();
    const char *why = NULL;
    if (rc == EZ_APPLY_OK && db == EZ_DB_OK && !w.failed && !only_ours(&w))
        db = ez_walk_stale(c->db, c->redis, c->prefix, now_us, on_stale, &w, &why);
    int64_t scanned = ez_mono_ms();
    clear_fields(&w);
    if (db == EZ_DB_OK && ez_db_cmd(c->db, "COMMIT", 0, NULL) != EZ_DB_OK)
        db = EZ_DB_UNAVAILABLE;
    else if (db != EZ_DB_OK && ez_db_cmd(c->db, "ROLLBACK", 0, NULL) != EZ_DB_OK) {
        /* connection gone: nothing to undo */
    }
    unsigned char digest[32];
    char hex[65] = "";
    unsigned int dlen = 0;
    if (rc == EZ_APPLY_OK && w.md && EVP_DigestFinal_ex(w.md, digest, &dlen))
        for (unsigned i = 0; i < dlen; i++)
            snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    EVP_MD_CTX_free(w.md);
    if (rc == EZ_APPLY_OK && (w.failed || db == EZ_PJS_STOPPED || why)) {
        if (!w.failed && why)
            snprintf(c->error, sizeof c->error, "%s", why);
        rc = EZ_APPLY_REDIS;
    } else if (rc == EZ_APPLY_OK && db != EZ_DB_OK) {
        snprintf(c->error, sizeof c->error, "postgres unavailable during the resync");
        rc = EZ_APPLY_DB;
    }
    if (rc == EZ_APPLY_OK && finish_meta(c, hex) != 0) {
        snprintf(c->error, sizeof c->error, "redis: cannot update meta:sync");
        rc = EZ_APPLY_REDIS;
    }
    const char *unlock[] = { FULL_RESYNC_LOCK };
    if (ez_db_cmd(c->db, "SELECT pg_advisory_unlock($1::bigint)", 1, unlock) != EZ_DB_OK) {
        /* a lost connection released it */
    }
    int64_t took = ez_mono_ms() - started;
    if (rc == EZ_APPLY_OK) {
        snprintf(ez_shm->redis_run_id, sizeof ez_shm->redis_run_id, "%s", run);
        atomic_store(&ez_shm->last_full_sync_ms, ez_now_ms());
        ez_metric_inc(EZ_M_full_resync);
        atomic_store(&ez_shm_slot(ez_metrics_slot)->m.full_resync_ms, took);
        settle_runs(c, "done", NULL);
        log_info("full resync done: %lld keys in %lld ms (walk and write %lld ms, stale scan "
                 "%lld ms)", w.keys, (long long)took, (long long)(walked - started),
                 (long long)(scanned - walked));
    } else {
        settle_runs(c, "failed", c->error);
        log_warn("full resync failed after %lld ms: %s", (long long)took, c->error);
    }
    return rc;
}
