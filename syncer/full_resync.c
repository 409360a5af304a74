/* Full resync. The walk (common/walk.h) streams the projection from one
 * REPEATABLE READ snapshot taken under every apply lock; a pipelined writer
 * turns it into Redis commands, with a bounded number of replies pending
 * while the next rows are read:
 *   shared hashes (config:*, meta:*, route:group:*): DEL <prefix>resync:<key>,
 *     HSET it field by field, then RENAME it over <key> (DEL <key> when
 *     empty), so a reader sees the old hash or the new one, never a mix;
 *   auth:master / auth:token hashes: one HSET with every field (their field
 *     set is fixed, so nothing stale can remain), plus EXPIRE for secrets in
 *     a rotation grace.
 * Then stale per-entity keys are deleted and meta:sync is updated. */
#include "full_resync.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "buf.h"
#include "log.h"
#include "metrics.h"
#include "projection.h"
#include "shm.h"
#include "store_auth.h"
#include "store_projection.h"
#include "walk.h"

#define FULL_RESYNC_LOCK "7312272851620737651" /* "ezfullrs" */
#define MAX_PENDING 16384      /* commands sent whose replies are not read yet */
#define PUSH_BYTES (64 * 1024) /* commands buffered before they are sent */
#define SUM_BYTES (16 * 1024)  /* checksum input buffered before it is hashed */
#define WALK_BATCH 5000

struct writer {
    struct ez_sync_ctx *c;
    redisContext *rc;
    const char *prefix;
    int pending;
    int failed;
    size_t plen;   /* of the prefix */
    char key[600]; /* the open key, with prefix */
    size_t klen;
    char temp[640];
    int per_entity;
    long long ttl;
    int nfields;
    struct ez_buf fields; /* the open per-entity hash's fields, as RESP arguments */
    struct ez_buf cmd;    /* the command being formatted */
    EVP_MD_CTX *md;
    size_t nsum;
    char sum[SUM_BYTES];
    long long keys;
    long long written; /* keys that exist after the resync (at least one field) */
};

/* Appends lead, n in decimal, CRLF: a RESP length line. */
static void put_len(struct ez_buf *b, char lead, size_t n)
{
    char digits[24];
    int i = 0;
    do
        digits[i++] = (char)('0' + n % 10);
    while ((n /= 10) > 0);
    char *p = b->p + b->len;
    *p++ = lead;
    while (i > 0)
        *p++ = digits[--i];
    *p++ = '\r';
    *p++ = '\n';
    b->len = (size_t)(p - b->p);
}

static int put_arg(struct ez_buf *b, const char *s, size_t n)
{
    if (ez_buf_reserve(b, n + 32) != 0)
        return -1;
    put_len(b, '$', n);
    memcpy(b->p + b->len, s, n);
    memcpy(b->p + b->len + n, "\r\n", 2);
    b->len += n + 2;
    return 0;
}

static void fail(struct writer *w, const char *what, const char *why)
{
    if (!w->failed)
        snprintf(w->c->error, sizeof w->c->error, "redis: %s%s", what, why);
    w->failed = 1;
}

static void fail_io(struct writer *w)
{
    fail(w, "", w->rc->errstr);
    w->pending = 0;
    ez_redis_reset(w->c->redis);
    w->rc = NULL;
}

/* Sends every buffered command. */
static void push(struct writer *w)
{
    /* A long resync is not a stuck syncer: keep the heartbeat going. */
    atomic_store(&ez_shm_slot(ez_metrics_slot)->heartbeat_ms, ez_mono_ms());
    int done = 0;
    while (!done && w->rc)
        if (redisBufferWrite(w->rc, &done) != REDIS_OK)
            fail_io(w);
}

/* Reads the replies that have arrived; with wait, blocks until one has. */
static void reap(struct writer *w, int wait)
{
    if (wait)
        push(w);
    while (w->rc && w->pending > 0) {
        redisReply *rep = NULL;
        if (redisGetReplyFromReader(w->rc, (void **)&rep) != REDIS_OK) {
            fail_io(w);
            return;
        }
        if (rep) {
            if (rep->type == REDIS_REPLY_ERROR)
                fail(w, "", rep->str);
            ez_redis_note_error(w->c->redis, rep);
            freeReplyObject(rep);
            w->pending--;
            wait = 0;
            continue;
        }
        struct pollfd pfd = { .fd = w->rc->fd, .events = POLLIN };
        if (!wait && poll(&pfd, 1, 0) != 1)
            return;
        if (redisBufferRead(w->rc) != REDIS_OK) {
            fail_io(w);
            return;
        }
    }
}

/* Queues the command formatted in w->cmd; returns non-zero once failed. */
static int queue(struct writer *w)
{
    if (w->failed || !w->rc)
        return 1;
    if (redisAppendFormattedCommand(w->rc, w->cmd.p, w->cmd.len) != REDIS_OK) {
        fail(w, "cannot queue a command", "");
        return 1;
    }
    w->pending++;
    if (sdslen(w->rc->obuf) >= PUSH_BYTES) {
        push(w);
        reap(w, 0);
    }
    while (w->rc && w->pending > MAX_PENDING)
        reap(w, 1);
    return w->failed;
}

static int send_cmd(struct writer *w, int argc, const char *const *argv)
{
    w->cmd.len = 0;
    if (ez_buf_reserve(&w->cmd, 32) != 0)
        return 1;
    put_len(&w->cmd, '*', (size_t)argc);
    for (int i = 0; i < argc; i++)
        if (put_arg(&w->cmd, argv[i], strlen(argv[i])) != 0)
            return 1;
    return queue(w);
}

/* Adds one line (key, field or value, then \n) to the checksum. */
static void sum_line(struct writer *w, const char *s, size_t n)
{
    if (w->nsum + n + 1 > sizeof w->sum) {
        EVP_DigestUpdate(w->md, w->sum, w->nsum);
        w->nsum = 0;
    }
    if (n + 1 > sizeof w->sum) {
        EVP_DigestUpdate(w->md, s, n);
        n = 0;
    } else
        memcpy(w->sum + w->nsum, s, n);
    w->sum[w->nsum + n] = '\n';
    w->nsum += n + 1;
}

static int on_open(void *arg, const char *key, long long ttl)
{
    struct writer *w = arg;
    size_t len = strlen(key);
    if (w->plen + len + sizeof "resync:" > sizeof w->key) {
        fail(w, "key too long: ", key);
        return 1;
    }
    memcpy(w->key, w->prefix, w->plen);
    memcpy(w->key + w->plen, key, len + 1);
    w->klen = w->plen + len;
    w->per_entity = strncmp(key, "auth:", 5) == 0;
    w->ttl = ttl;
    w->nfields = 0;
    w->fields.len = 0;
    w->keys++;
    if (w->per_entity)
        return 0;
    snprintf(w->temp, sizeof w->temp, "%sresync:%s", w->prefix, key);
    const char *del[] = { "DEL", w->temp };
    return send_cmd(w, 2, del);
}

static int on_field(void *arg, const char *key, const char *field, const char *value)
{
    struct writer *w = arg;
    (void)key; /* the open one */
    size_t flen = strlen(field), vlen = strlen(value);
    sum_line(w, w->key + w->plen, w->klen - w->plen);
    sum_line(w, field, flen);
    sum_line(w, value, vlen);
    w->nfields++;
    if (!w->per_entity) {
        const char *hset[] = { "HSET", w->temp, field, value };
        return send_cmd(w, 4, hset);
    }
    return put_arg(&w->fields, field, flen) != 0 || put_arg(&w->fields, value, vlen) != 0;
}

/* HSET key with every field of the open per-entity hash. */
static int send_hset(struct writer *w)
{
    w->cmd.len = 0;
    if (ez_buf_reserve(&w->cmd, 64) != 0)
        return 1;
    put_len(&w->cmd, '*', 2 + 2 * (size_t)w->nfields);
    if (put_arg(&w->cmd, "HSET", 4) != 0 || put_arg(&w->cmd, w->key, w->klen) != 0 ||
        ez_buf_reserve(&w->cmd, w->fields.len) != 0)
        return 1;
    memcpy(w->cmd.p + w->cmd.len, w->fields.p, w->fields.len);
    w->cmd.len += w->fields.len;
    return queue(w);
}

static int on_close(void *arg, const char *key)
{
    struct writer *w = arg;
    (void)key;
    if (w->nfields)
        w->written++;
    if (!w->per_entity) {
        const char *rename[] = { "RENAME", w->temp, w->key };
        const char *del[] = { "DEL", w->key };
        return w->nfields ? send_cmd(w, 3, rename) : send_cmd(w, 2, del);
    }
    if (w->nfields == 0) {
        const char *del[] = { "DEL", w->key };
        return send_cmd(w, 2, del);
    }
    int rc = send_hset(w);
    if (!rc && w->ttl > 0) {
        char ttl[24];
        snprintf(ttl, sizeof ttl, "%lld", w->ttl);
        const char *expire[] = { "EXPIRE", w->key, ttl };
        rc = send_cmd(w, 3, expire);
    }
    return rc;
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
    snprintf(key, sizeof key, "%s%s", w->prefix, EZ_KEY_SYNC);
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
    snprintf(key, sizeof key, "%s%s", c->prefix, EZ_KEY_SYNC);
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

/* The outbox rows the resync's snapshot sees (as "{id,...}"): each one's
 * change had committed before it was written, so the snapshot holds that
 * change, and a resync that completes settles them. */
static int outbox_seen(struct ez_sync_ctx *c, char **ids)
{
    PGresult *res;
    int rc = ez_db_exec(c->db, &res, "SELECT coalesce(array_agg(id), '{}')::text FROM sync_outbox",
                        0, NULL);
    *ids = rc == EZ_DB_OK ? strdup(PQgetvalue(res, 0, 0)) : NULL;
    PQclear(res);
    return rc == EZ_DB_OK && !*ids ? EZ_DB_ERROR : rc;
}

static void settle_outbox(struct ez_sync_ctx *c, const char *ids)
{
    const char *p[] = { ids };
    PGresult *res;
    if (ez_db_exec(c->db, &res, "DELETE FROM sync_outbox WHERE id = ANY($1::bigint[])", 1, p) !=
        EZ_DB_OK)
        log_warn("the outbox rows this full resync settled are left to the outbox passes");
    else if (atol(PQcmdTuples(res)) > 0)
        log_info("full resync settled %s outbox row(s) written before it", PQcmdTuples(res));
    PQclear(res);
}

static int finish_meta(struct ez_sync_ctx *c, const char *checksum)
{
    char key[300], now[24];
    snprintf(key, sizeof key, "%s%s", c->prefix, EZ_KEY_SYNC);
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
    struct writer w = { .c = c, .prefix = c->prefix, .plen = strlen(c->prefix),
                        .md = EVP_MD_CTX_new() };
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
        db = ez_store_clock_us(c->db, &now_us);
    char *settled = NULL;
    if (rc == EZ_APPLY_OK && db == EZ_DB_OK)
        db = outbox_seen(c, &settled);
    struct ez_walk_sink sink = { on_open, on_field, on_close, &w };
    if (rc == EZ_APPLY_OK && db == EZ_DB_OK)
        db = ez_walk(c->db, cfg, now_us, WALK_BATCH, &sink);
    while (w.rc && w.pending > 0)
        reap(&w, 1);
    int64_t walked = ez_mono_ms();
    const char *why = NULL;
    if (rc == EZ_APPLY_OK && db == EZ_DB_OK && !w.failed && !only_ours(&w))
        db = ez_walk_stale(c->db, c->redis, c->prefix, now_us, on_stale, &w, &why);
    int64_t scanned = ez_mono_ms();
    free(w.fields.p);
    free(w.cmd.p);
    if (db == EZ_DB_OK && ez_db_cmd(c->db, "COMMIT", 0, NULL) != EZ_DB_OK)
        db = EZ_DB_UNAVAILABLE;
    else if (db != EZ_DB_OK && ez_db_cmd(c->db, "ROLLBACK", 0, NULL) != EZ_DB_OK) {
        /* connection gone: nothing to undo */
    }
    unsigned char digest[32];
    char hex[65] = "";
    unsigned int dlen = 0;
    if (rc == EZ_APPLY_OK && w.md && EVP_DigestUpdate(w.md, w.sum, w.nsum) &&
        EVP_DigestFinal_ex(w.md, digest, &dlen))
        for (unsigned i = 0; i < dlen; i++)
            snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    EVP_MD_CTX_free(w.md);
    if (rc == EZ_APPLY_OK && (w.failed || db == EZ_STORE_STOPPED || why)) {
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
        settle_outbox(c, settled);
        log_info("full resync done: %lld keys in %lld ms (walk and write %lld ms, stale scan "
                 "%lld ms)", w.keys, (long long)took, (long long)(walked - started),
                 (long long)(scanned - walked));
    } else {
        settle_runs(c, "failed", c->error);
        log_warn("full resync failed after %lld ms: %s", (long long)took, c->error);
    }
    free(settled);
    return rc;
}
