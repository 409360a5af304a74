/* Sync jobs of the tenants: resource "masters" (auth:master:<id>, and with
 * {"keys":"all"} every key of the master; {"digests":[...]} names hashes of
 * rows already deleted) and resource "keys" (auth:token:<digest> of every
 * secret of one key, plus the listed digests to delete). A batch's jobs
 * are built together under the tenants advisory lock from
 * projection_auth.c, each row read once, and written with their grace TTLs
 * (the shared writer has no TTLs): the masters and the named keys in one
 * MULTI/EXEC, then the keys of each {"keys":"all"} master a page at a time,
 * one MULTI/EXEC per page, all in the lock's snapshot. A master with a
 * million keys thus never becomes one transaction that blocks Redis past
 * its timeout, and its rows are never all in memory at once. */
#include "apply.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "log.h"
#include "projection_auth.h"
#include "store_auth.h"

#define CHUNK 256            /* fields per HSET */
#define MAX_GONE 100000      /* digests read from one payload */
#define KEYS_PER_WRITE 1000  /* keys of one master per MULTI/EXEC */
#define MAX_DEAD 50000       /* rows of dead secrets dropped after one batch; the
                              * others go when their key is projected again */

/* Grace TTLs of the hashes of one write set (keys without prefix). */
struct ttls {
    char **key;
    long long *secs;
    size_t n, cap;
};

static void ttls_free(struct ttls *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->key[i]);
    free(t->key);
    free(t->secs);
    memset(t, 0, sizeof *t);
}

static int ttls_add(struct ttls *t, const char *key, long long secs)
{
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 8;
        char **k = realloc(t->key, nc * sizeof *k);
        if (k)
            t->key = k;
        long long *s = k ? realloc(t->secs, nc * sizeof *s) : NULL;
        if (!k || !s)
            return -1;
        t->secs = s;
        t->cap = nc;
    }
    if (!(t->key[t->n] = strdup(key)))
        return -1;
    t->secs[t->n++] = secs;
    return 0;
}

static long long ttls_get(const struct ttls *t, const char *key)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->key[i], key) == 0)
            return t->secs[i];
    return 0;
}

/* A secret that can never be usable again: its key is revoked, or its
 * grace is over. Once its hash is deleted, its row can go. */
static int dead_for_good(const struct ez_token_row *t, int64_t now_us)
{
    return (t->status && strcmp(t->status, "revoked") == 0) ||
           (t->valid_until_us != 0 && t->valid_until_us <= now_us);
}

/* Every secret of the set, with the TTL of those in grace; the digests of
 * those dead for good are added to dead. */
static int add_tokens(struct ez_write_set *s, struct ttls *t, json_t *dead,
                      const struct ez_token_rows *rows, int64_t now_us)
{
    for (int i = 0; i < rows->n; i++) {
        const struct ez_token_row *tok = &rows->v[i];
        if (ez_projection_token_add(s, tok, now_us) != 0)
            return -1;
        if (dead_for_good(tok, now_us) && json_array_size(dead) < MAX_DEAD &&
            json_array_append_new(dead, json_string(tok->digest)))
            return -1;
        long long ttl = ez_projection_token_usable(tok, now_us) ? ez_projection_token_ttl(tok, now_us)
                                                             : 0;
        char key[128];
        if (ttl > 0 && (ez_projection_token_key(tok->digest, key, sizeof key) != 0 ||
                        ttls_add(t, key, ttl) != 0))
            return -1;
    }
    return 0;
}

/* The digests a payload names as gone (rows deleted): their hashes are
 * owned with nothing produced, unless a row still produces them. Entries
 * that are not digests are ignored. */
static int add_gone(struct ez_write_set *s, json_t *payload)
{
    json_t *list = json_object_get(payload, "digests");
    size_t i;
    json_t *d;
    json_array_foreach(list, i, d) {
        if (i >= MAX_GONE)
            break;
        const char *hex = json_string_value(d);
        if (hex && ez_digest_valid(hex) && ez_projection_token_gone(s, hex) != 0)
            return -1;
    }
    return 0;
}

static int append(redisContext *rc, int argc, const char **argv, const size_t *lens,
                  int *queued)
{
    if (redisAppendCommandArgv(rc, argc, argv, lens) != REDIS_OK)
        return -1;
    (*queued)++;
    return 0;
}

/* Queues DEL, HSET (in chunks) and EXPIRE for the whole hash owned at
 * s->own[i]; *p walks s->put in step. */
static int queue_hash(redisContext *rc, const struct ez_write_set *s, size_t i, size_t *p,
                      const char *pkey, long long ttl, int *queued)
{
    const char *key = s->own[i].key;
    const char *argv[2 + 2 * CHUNK];
    size_t lens[2 + 2 * CHUNK];
    int fail = 0;
    argv[0] = "DEL";
    argv[1] = pkey;
    fail |= append(rc, 2, argv, NULL, queued);
    while (*p < s->nput && strcmp(s->put[*p].key, key) < 0)
        (*p)++;
    int n = 0;
    argv[0] = "HSET";
    lens[0] = 4;
    lens[1] = strlen(pkey);
    while (!fail && *p < s->nput && strcmp(s->put[*p].key, key) == 0) {
        argv[2 + 2 * n] = s->put[*p].field;
        lens[2 + 2 * n] = strlen(s->put[*p].field);
        argv[3 + 2 * n] = s->put[*p].value;
        lens[3 + 2 * n] = strlen(s->put[*p].value);
        (*p)++;
        if (++n == CHUNK) {
            fail |= append(rc, 2 + 2 * n, argv, lens, queued);
            n = 0;
        }
    }
    if (!fail && n > 0)
        fail |= append(rc, 2 + 2 * n, argv, lens, queued);
    if (!fail && ttl > 0) {
        char secs[24];
        snprintf(secs, sizeof secs, "%lld", ttl);
        const char *ex[] = { "EXPIRE", pkey, secs };
        fail |= append(rc, 3, ex, NULL, queued);
    }
    return fail ? -1 : 0;
}

/* The set (whole hashes only) plus HINCRBY meta:sync version in one
 * MULTI/EXEC. *version: the new meta:sync version (unchanged when the set
 * is empty). */
static int write_set(struct ez_sync_ctx *c, struct ez_write_set *s, const struct ttls *t,
                     long long *version)
{
    ez_write_set_finish(s);
    if (s->nown == 0)
        return EZ_APPLY_OK;
    redisContext *rc = ez_redis_get(c->redis);
    if (!rc) {
        snprintf(c->error, sizeof c->error, "redis unreachable");
        return EZ_APPLY_REDIS;
    }
    int queued = 0, fail = redisAppendCommand(rc, "MULTI") != REDIS_OK;
    size_t p = 0;
    for (size_t i = 0; !fail && i < s->nown; i++) {
        char *pkey = ez_apply_key(c, s->own[i].key);
        fail |= !pkey || queue_hash(rc, s, i, &p, pkey, ttls_get(t, s->own[i].key), &queued);
        free(pkey);
    }
    char *sync = ez_apply_key(c, EZ_KEY_SYNC);
    const char *bump[] = { "HINCRBY", sync, "version", "1" };
    fail |= !sync || append(rc, 4, bump, NULL, &queued);
    free(sync);
    if (fail || redisAppendCommand(rc, "EXEC") != REDIS_OK) {
        /* Queued commands may sit in the output buffer: drop the
         * connection so that none of them is ever sent. */
        snprintf(c->error, sizeof c->error, "out of memory while queueing the Redis write");
        ez_redis_reset(c->redis);
        return EZ_APPLY_REDIS;
    }
    return ez_apply_read_replies(c, rc, queued, version);
}

/* What one batch reads and writes. */
struct tenants {
    struct ez_write_set s;
    struct ttls t;
    struct ez_ids masters;      /* of the "masters" jobs */
    struct ez_ids every_key_of; /* masters whose keys are all re-projected */
    struct ez_ids keys;         /* of the "keys" jobs */
    struct ez_token_rows *rows; /* secrets of keys */
    int nrows;
    int64_t now_us;             /* PostgreSQL's clock, read once a write if a grace needs it */
    int clock_read;
    int masters_written, tokens_written;
    long long version;          /* meta:sync version of the last write, -1: none */
    json_t *dead;               /* digests whose rows go once their hashes are gone */
};

static void tenants_free(struct tenants *b)
{
    ez_write_set_clear(&b->s);
    ttls_free(&b->t);
    free(b->masters.v);
    free(b->every_key_of.v);
    free(b->keys.v);
    for (int i = 0; i < b->nrows; i++)
        ez_token_rows_free(&b->rows[i]);
    free(b->rows);
    json_decref(b->dead);
}

static int is_masters(const struct ez_sync_job *job)
{
    return strcmp(job->resource, "masters") == 0;
}

/* The ids to read and the digests the payloads name as gone. */
static int collect(struct ez_sync_ctx *c, struct ez_sync_job *const *jobs, int n,
                   struct tenants *b)
{
    for (int i = 0; i < n; i++) {
        int m = is_masters(jobs[i]);
        b->masters_written |= m;
        b->tokens_written |= !m || json_array_size(json_object_get(jobs[i]->payload, "digests"));
        if (ez_ids_add(m ? &b->masters : &b->keys, jobs[i]->id) != 0 ||
            add_gone(&b->s, jobs[i]->payload) != 0)
            return ez_apply_oom(c);
    }
    return EZ_APPLY_OK;
}

static const struct ez_master_row *find_master(const struct ez_master_rows *m, int64_t id)
{
    for (int i = 0; i < m->n; i++)
        if (m->v[i].id == id)
            return &m->v[i];
    return NULL;
}

/* auth:master:<id> of every master named (deleted when the row is gone),
 * and which of them have every key re-projected. */
static int build_masters(struct ez_sync_ctx *c, struct ez_sync_job *const *jobs, int n,
                         struct tenants *b)
{
    if (b->masters.n == 0)
        return EZ_APPLY_OK;
    struct ez_master_rows m;
    int rc = ez_apply_db_status(c, ez_store_masters_by_ids(c->db, b->masters.v, b->masters.n, &m),
                                "masters");
    if (rc != EZ_APPLY_OK)
        return rc;
    for (int i = 0; rc == EZ_APPLY_OK && i < b->masters.n; i++)
        if (ez_projection_master_add(&b->s, b->masters.v[i], find_master(&m, b->masters.v[i])) != 0)
            rc = ez_apply_oom(c);
    for (int i = 0; rc == EZ_APPLY_OK && i < n; i++) {
        const char *keys = json_string_value(json_object_get(jobs[i]->payload, "keys"));
        if (is_masters(jobs[i]) && keys && strcmp(keys, "all") == 0 &&
            find_master(&m, jobs[i]->id) && ez_ids_add(&b->every_key_of, jobs[i]->id) != 0)
            rc = ez_apply_oom(c);
    }
    ez_master_rows_free(&m);
    b->tokens_written |= b->every_key_of.n > 0;
    return rc;
}

/* The secrets of the keys jobs, one read each; a lone key's were read
 * with the lock (keys_res, which this takes). */
static int read_tokens(struct ez_sync_ctx *c, struct tenants *b, PGresult *keys_res)
{
    if (b->keys.n == 0) {
        PQclear(keys_res);
        return EZ_APPLY_OK;
    }
    if (!(b->rows = calloc((size_t)b->keys.n, sizeof *b->rows))) {
        PQclear(keys_res);
        return ez_apply_oom(c);
    }
    if (keys_res)
        return ez_apply_db_status(c, ez_store_tokens_from(keys_res, &b->rows[b->nrows++]),
                                  "key digests");
    int rc = EZ_APPLY_OK;
    for (int i = 0; rc == EZ_APPLY_OK && i < b->keys.n; i++, b->nrows++)
        rc = ez_apply_db_status(c, ez_store_tokens_of_key(c->db, b->keys.v[i], &b->rows[b->nrows]),
                                "key digests");
    return rc;
}

/* Adds the secrets of rows[0..n) to the write set. PostgreSQL's clock (the
 * one graces were set with) matters only to secrets in a grace, so it is
 * read only for them, once per write. */
static int add_rows(struct ez_sync_ctx *c, struct tenants *b, const struct ez_token_rows *rows,
                    int n)
{
    int grace = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < rows[i].n; j++)
            grace |= rows[i].v[j].valid_until_us != 0;
    int rc = EZ_APPLY_OK;
    if (grace && !b->clock_read) {
        rc = ez_apply_db_status(c, ez_store_clock_us(c->db, &b->now_us), "the clock");
        b->clock_read = rc == EZ_APPLY_OK;
    }
    for (int i = 0; rc == EZ_APPLY_OK && i < n; i++)
        if (add_tokens(&b->s, &b->t, b->dead, &rows[i], b->now_us) != 0)
            rc = ez_apply_oom(c);
    return rc;
}

/* Writes what the set holds, then empties it for the next write (whose
 * grace TTLs, if any, are computed from the clock read again: a master's
 * pages may take seconds). */
static int flush(struct ez_sync_ctx *c, struct tenants *b)
{
    int rc = write_set(c, &b->s, &b->t, &b->version);
    ez_write_set_clear(&b->s);
    ttls_free(&b->t);
    b->clock_read = 0;
    return rc;
}

/* Every key of one master, KEYS_PER_WRITE keys per read and per write. */
static int write_keys_of(struct ez_sync_ctx *c, struct tenants *b, int64_t master_id)
{
    int64_t after = 0, last;
    int rc;
    do {
        struct ez_token_rows page;
        rc = ez_apply_db_status(c, ez_store_tokens_of_master_page(c->db, master_id, after,
                                                                  KEYS_PER_WRITE, &page, &last),
                                "key digests");
        if (rc == EZ_APPLY_OK)
            rc = add_rows(c, b, &page, 1);
        if (rc == EZ_APPLY_OK)
            rc = flush(c, b);
        ez_token_rows_free(&page);
        after = last;
    } while (rc == EZ_APPLY_OK && last != 0);
    return rc;
}

/* Ends what ez_apply_begin opened (releasing the lock unless the caller's
 * transaction holds it) and publishes the refresh events. */
static void publish(struct ez_sync_ctx *c, const struct tenants *b)
{
    const char *events[2];
    int n = 0;
    if (b->masters_written)
        events[n++] = "masters";
    if (b->tokens_written)
        events[n++] = "tokens";
    ez_apply_end_publish(c, events, n, b->version);
}

/* After their hashes are deleted: the rows of secrets dead for good. The
 * condition is checked again (it cannot turn false, but the rows are not
 * this process's to judge blindly). A failure leaves them for next time. */
static void drop_dead(struct ez_sync_ctx *c, json_t *dead)
{
    if (json_array_size(dead) == 0)
        return;
    char *list = json_dumps(dead, JSON_COMPACT);
    const char *p[] = { list };
    if (list && ez_db_cmd(c->db,
                          "DELETE FROM key_digests d USING keys k WHERE k.id = d.key_id AND "
                          "d.digest IN (SELECT json_array_elements_text($1::json)) AND "
                          "(k.status = 'revoked' OR d.valid_until <= now())", 1, p) != EZ_DB_OK)
        log_warn("rows of revoked or expired secrets kept for now: PostgreSQL refused");
    free(list);
}

int ez_apply_tenants(struct ez_sync_ctx *c, struct ez_sync_job *const *jobs, int n)
{
    struct tenants b = { .dead = json_array(), .version = -1 };
    ez_write_set_init(&b.s);
    int rc = b.dead ? collect(c, jobs, n, &b) : ez_apply_oom(c);
    /* A lone key's secrets (an issuance, the common batch) are read in
     * the lock's round trip, so its hash is written one round trip after
     * the lock is asked for; several keys are read one by one after it. */
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, b.keys.n == 1 ? b.keys.v[0] : 0);
    const char *p[] = { id };
    const struct ez_db_stmt read = { ez_store_tokens_of_key_sql, 1, p };
    PGresult *keys_res = NULL;
    if (rc == EZ_APPLY_OK)
        rc = ez_apply_begin_read(c, EZ_APPLY_LOCK_TENANTS, b.keys.n == 1 ? &read : NULL,
                                 &keys_res);
    int nested = c->nested;
    if (rc == EZ_APPLY_OK) {
        rc = build_masters(c, jobs, n, &b);
        if (rc == EZ_APPLY_OK)
            rc = read_tokens(c, &b, keys_res);
        else
            PQclear(keys_res);
        if (rc == EZ_APPLY_OK)
            rc = add_rows(c, &b, b.rows, b.nrows);
        if (rc == EZ_APPLY_OK)
            rc = flush(c, &b);
        for (int i = 0; rc == EZ_APPLY_OK && i < b.every_key_of.n; i++)
            rc = write_keys_of(c, &b, b.every_key_of.v[i]);
        if (rc == EZ_APPLY_OK)
            publish(c, &b); /* Redis is written; the lock goes too */
        else
            ez_apply_abort(c);
        if (rc == EZ_APPLY_OK && !nested)
            drop_dead(c, b.dead);
    }
    tenants_free(&b);
    return rc;
}
