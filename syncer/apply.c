/* Sync jobs of the catalog (namespaces, provider groups, api keys,
 * bindings, models, features) projected into Redis: each job maps to the
 * projection units its change can affect; the jobs of a batch that share
 * an advisory lock are built under it into one set, written in one
 * MULTI/EXEC. The values come only from projection.c. */
#include "apply.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "store_projection.h"

/* Fields per HSET/HDEL command, so one command stays small. */
#define CHUNK 256
/* Upper bound on ids or names read from one job payload. */
#define MAX_PAYLOAD_ITEMS 100000

static const struct ez_config no_cfg; /* when the caller gave none: clear keys only */

static const struct ez_config *secrets_cfg(const struct ez_sync_ctx *c)
{
    return c->cfg ? c->cfg : &no_cfg;
}

char *ez_apply_key(const struct ez_sync_ctx *c, const char *key)
{
    const char *p = c->prefix ? c->prefix : "";
    size_t a = strlen(p), b = strlen(key);
    char *k = malloc(a + b + 1);
    if (k) {
        memcpy(k, p, a);
        memcpy(k + a, key, b + 1);
    }
    return k;
}

int ez_apply_oom(struct ez_sync_ctx *c)
{
    snprintf(c->error, sizeof c->error, "out of memory while building the write set");
    log_error("sync: %s", c->error);
    return EZ_APPLY_REDIS;
}

int ez_apply_db_status(struct ez_sync_ctx *c, int db_rc, const char *what)
{
    if (db_rc == EZ_DB_OK)
        return EZ_APPLY_OK;
    if (db_rc == EZ_DB_UNAVAILABLE) {
        snprintf(c->error, sizeof c->error, "postgres unavailable while reading %s", what);
        return EZ_APPLY_DB;
    }
    snprintf(c->error, sizeof c->error, "postgres error while reading %s (see the log)", what);
    return EZ_APPLY_REDIS;
}

/* ---- Transaction and lock ---------------------------------------------- */

static int in_transaction(struct ez_sync_ctx *c)
{
    PGconn *conn = ez_db_conn(c->db);
    return conn && PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) != PQTRANS_IDLE;
}

/* Outside a caller's transaction: the lock is taken first (a session lock,
 * waited for outside any transaction), then a REPEATABLE READ transaction
 * begins, so every read of the batch sees one snapshot taken after the
 * lock was granted: a route and the provider entries it names are read
 * from the same state. Inside one (a full resync, whose snapshot and locks
 * already cover this), a savepoint and the transaction-level lock. */
int ez_apply_begin_read(struct ez_sync_ctx *c, long long lock, const struct ez_db_stmt *read,
                        PGresult **res)
{
    char k[24];
    snprintf(k, sizeof k, "%lld", lock);
    const char *p[] = { k };
    c->nested = in_transaction(c);
    if (res)
        *res = NULL;
    int rc, rcs[3];
    if (c->nested) {
        rc = ez_db_cmd(c->db, "SAVEPOINT ez_apply", 0, NULL);
        if (rc == EZ_DB_OK)
            rc = ez_db_cmd(c->db, "SELECT pg_advisory_xact_lock($1::bigint)", 1, p);
        if (rc == EZ_DB_OK && read) {
            rc = ez_db_exec(c->db, res, read->sql, read->nparams, read->params);
            if (rc != EZ_DB_OK) {
                PQclear(*res);
                *res = NULL;
            }
        }
    } else {
        /* One round trip: a Sync after each statement, so that the BEGIN
         * runs once the lock is granted and the read's snapshot (the
         * transaction's) still follows the lock. */
        const struct ez_db_stmt st[] = {
            { "SELECT pg_advisory_lock($1::bigint)", 1, p },
            { "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL },
            read ? *read : (struct ez_db_stmt){ NULL, 0, NULL },
        };
        PGresult *out[3];
        rc = ez_db_cmds(c->db, read ? 3 : 2, st, rcs, out);
        if (rcs[0] == EZ_DB_OK)
            c->locked = lock;
        PQclear(out[0]);
        PQclear(out[1]);
        if (read && rc == EZ_DB_OK)
            *res = out[2];
        else if (read)
            PQclear(out[2]);
    }
    if (rc != EZ_DB_OK) {
        ez_apply_abort(c);
        return ez_apply_db_status(c, rc, read ? "the sync lock and the rows" : "the sync lock");
    }
    return EZ_APPLY_OK;
}

int ez_apply_begin(struct ez_sync_ctx *c, long long lock)
{
    return ez_apply_begin_read(c, lock, NULL, NULL);
}

/* Ends what ez_apply_begin opened; a lost connection releases the lock as
 * well, so the statuses are not needed. */
static void finish(struct ez_sync_ctx *c, int commit)
{
    int rc = EZ_DB_OK;
    if (c->nested && in_transaction(c)) {
        rc = commit ? EZ_DB_OK : ez_db_cmd(c->db, "ROLLBACK TO SAVEPOINT ez_apply", 0, NULL);
        if (rc == EZ_DB_OK)
            rc = ez_db_cmd(c->db, "RELEASE SAVEPOINT ez_apply", 0, NULL);
        return;
    }
    char k[24];
    snprintf(k, sizeof k, "%lld", c->locked);
    const char *p[] = { k };
    struct ez_db_stmt st[2];
    int n = 0, rcs[2];
    if (in_transaction(c))
        st[n++] = (struct ez_db_stmt){ commit ? "COMMIT" : "ROLLBACK", 0, NULL };
    if (c->locked)
        st[n++] = (struct ez_db_stmt){ "SELECT pg_advisory_unlock($1::bigint)", 1, p };
    c->locked = 0;
    /* Both in one round trip, the unlock run whatever became of the end. */
    if (n)
        rc = ez_db_cmds(c->db, n, st, rcs, NULL);
    (void)rc;
}

void ez_apply_abort(struct ez_sync_ctx *c) { finish(c, 0); }

/* Commits what ez_apply_begin opened, releasing the lock: COMMIT, or only
 * RELEASE SAVEPOINT when nested (never a bare COMMIT: that would end the
 * caller's transaction, e.g. the outbox pass's row claims). */
static void ez_apply_end(struct ez_sync_ctx *c) { finish(c, 1); }

/* ---- The MULTI/EXEC writer --------------------------------------------- */

struct argv {
    const char **v;
    size_t *len;
    int n, cap;
};

static int argv_add(struct argv *a, const char *s)
{
    if (a->n == a->cap) {
        int nc = a->cap ? a->cap * 2 : 64;
        const char **v = realloc(a->v, (size_t)nc * sizeof *v);
        if (v)
            a->v = v;
        size_t *l = v ? realloc(a->len, (size_t)nc * sizeof *l) : NULL;
        if (!v || !l)
            return -1;
        a->len = l;
        a->cap = nc;
    }
    a->v[a->n] = s;
    a->len[a->n] = strlen(s);
    a->n++;
    return 0;
}

/* Appends the command in a (when it has more than `base` words) and
 * restarts it with its first `base` words. */
static int argv_flush(redisContext *rc, struct argv *a, int base, int *queued)
{
    if (a->n <= base)
        return 0;
    if (redisAppendCommandArgv(rc, a->n, a->v, a->len) != REDIS_OK)
        return -1;
    (*queued)++;
    a->n = base;
    return 0;
}

/* Queues the commands for the keys owned in [i, j) of s->own; *p walks
 * s->put in step (both are sorted by key, then field). */
static int queue_key(redisContext *rc, const struct ez_write_set *s, size_t i, size_t j, size_t *p,
                     const char *pkey, struct argv *a, int *queued)
{
    const char *key = s->own[i].key;
    while (*p < s->nput && strcmp(s->put[*p].key, key) < 0)
        (*p)++; /* produced but not owned: ignored */
    size_t pend = *p;
    while (pend < s->nput && strcmp(s->put[pend].key, key) == 0)
        pend++;
    int fail = 0;
    a->n = 0;
    if (!s->own[i].field) {
        fail = fail || argv_add(a, "DEL") || argv_add(a, pkey) || argv_flush(rc, a, 0, queued);
        fail = fail || argv_add(a, "HSET") || argv_add(a, pkey);
        for (size_t k = *p; !fail && k < pend; k++) {
            fail = fail || argv_add(a, s->put[k].field) || argv_add(a, s->put[k].value);
            if (a->n >= 2 + 2 * CHUNK)
                fail = fail || argv_flush(rc, a, 2, queued);
        }
        fail = fail || argv_flush(rc, a, 2, queued);
    } else {
        /* HSET of the produced fields, then HDEL of the owned others. */
        size_t k = *p;
        fail = fail || argv_add(a, "HSET") || argv_add(a, pkey);
        for (size_t o = i; !fail && o < j; o++) {
            while (k < pend && strcmp(s->put[k].field, s->own[o].field) < 0)
                k++;
            if (k < pend && strcmp(s->put[k].field, s->own[o].field) == 0) {
                fail = fail || argv_add(a, s->put[k].field) || argv_add(a, s->put[k].value);
                if (a->n >= 2 + 2 * CHUNK)
                    fail = fail || argv_flush(rc, a, 2, queued);
            }
        }
        fail = fail || argv_flush(rc, a, 2, queued);
        a->n = 0;
        k = *p;
        fail = fail || argv_add(a, "HDEL") || argv_add(a, pkey);
        for (size_t o = i; !fail && o < j; o++) {
            while (k < pend && strcmp(s->put[k].field, s->own[o].field) < 0)
                k++;
            if (k >= pend || strcmp(s->put[k].field, s->own[o].field) != 0) {
                fail = fail || argv_add(a, s->own[o].field);
                if (a->n >= 2 + CHUNK)
                    fail = fail || argv_flush(rc, a, 2, queued);
            }
        }
        fail = fail || argv_flush(rc, a, 2, queued);
    }
    *p = pend;
    return fail ? -1 : 0;
}

/* Reads the replies of MULTI, the queued commands and EXEC. */
int ez_apply_read_replies(struct ez_sync_ctx *c, redisContext *rc, int queued, long long *version)
{
    int ok = 1;
    for (int i = 0; i < queued + 2; i++) {
        redisReply *rep = NULL;
        if (redisGetReply(rc, (void **)&rep) != REDIS_OK || !rep) {
            snprintf(c->error, sizeof c->error, "redis: %s",
                     rc->errstr[0] ? rc->errstr : "no reply");
            ez_redis_reset(c->redis);
            return EZ_APPLY_REDIS;
        }
        if (rep->type == REDIS_REPLY_ERROR) {
            if (ok)
                snprintf(c->error, sizeof c->error, "redis: %s", rep->str);
            ez_redis_note_error(c->redis, rep);
            ok = 0;
        } else if (i == queued + 1) {
            if (rep->type != REDIS_REPLY_ARRAY || rep->elements != (size_t)queued) {
                snprintf(c->error, sizeof c->error, "redis: transaction aborted");
                ok = 0;
            } else {
                for (size_t e = 0; e < rep->elements; e++) {
                    redisReply *x = rep->element[e];
                    if (x->type == REDIS_REPLY_ERROR && ok) {
                        snprintf(c->error, sizeof c->error, "redis: %s", x->str);
                        ok = 0;
                    }
                }
                redisReply *last = rep->element[rep->elements - 1];
                if (ok && last->type == REDIS_REPLY_INTEGER)
                    *version = last->integer;
            }
        }
        freeReplyObject(rep);
    }
    return ok ? EZ_APPLY_OK : EZ_APPLY_REDIS;
}

/* The MULTI/EXEC writer: the set (after ez_write_set_finish) plus HINCRBY
 * meta:sync version 1; *version gets the new meta:sync version. */
static int ez_apply_write(struct ez_sync_ctx *c, struct ez_write_set *s, long long *version)
{
    *version = -1;
    ez_write_set_finish(s);
    if (s->nown == 0)
        return EZ_APPLY_OK;
    redisContext *rc = ez_redis_get(c->redis);
    if (!rc) {
        snprintf(c->error, sizeof c->error, "redis unreachable");
        return EZ_APPLY_REDIS;
    }
    struct argv a = { 0 };
    int queued = 0, fail = 0;
    fail = fail || argv_add(&a, "MULTI");
    if (!fail && redisAppendCommandArgv(rc, a.n, a.v, a.len) != REDIS_OK)
        fail = 1;
    size_t p = 0;
    for (size_t i = 0; !fail && i < s->nown;) {
        size_t j = i + 1;
        while (j < s->nown && strcmp(s->own[j].key, s->own[i].key) == 0)
            j++;
        char *pkey = ez_apply_key(c, s->own[i].key);
        fail = fail || !pkey || queue_key(rc, s, i, j, &p, pkey, &a, &queued) != 0;
        free(pkey);
        i = j;
    }
    char *sync = ez_apply_key(c, EZ_KEY_SYNC);
    a.n = 0;
    fail = fail || !sync || argv_add(&a, "HINCRBY") || argv_add(&a, sync) ||
           argv_add(&a, "version") || argv_add(&a, "1") || argv_flush(rc, &a, 0, &queued);
    if (!fail && redisAppendCommand(rc, "EXEC") != REDIS_OK)
        fail = 1;
    free(sync);
    free(a.v);
    free(a.len);
    if (fail) {
        /* Commands may sit in the output buffer: drop the connection so
         * that none of them is ever sent. */
        snprintf(c->error, sizeof c->error, "out of memory while queueing the Redis write");
        ez_redis_reset(c->redis);
        return EZ_APPLY_REDIS;
    }
    return ez_apply_read_replies(c, rc, queued, version);
}

/* ---- Refresh events ----------------------------------------------------- */

static char *event(const char *resource, long long version)
{
    char v[24];
    snprintf(v, sizeof v, "%lld", version);
    json_t *ev = json_pack("{s:s, s:s, s:I}", "resource", resource, "version", v, "timestamp",
                           (json_int_t)time(NULL));
    char *msg = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(ev);
    return msg;
}

void ez_apply_publish(struct ez_sync_ctx *c, const char *resource, long long version)
{
    char *msg = event(resource, version);
    char *chan = ez_apply_key(c, EZ_CHANNEL_REFRESH);
    if (msg && chan) {
        const char *pub[] = { "PUBLISH", chan, msg };
        redisReply *rep = ez_redis_cmd(c->redis, 3, pub, NULL);
        if (rep)
            freeReplyObject(rep);
    }
    free(chan);
    free(msg);
}

void ez_apply_end_publish(struct ez_sync_ctx *c, const char *const *resources, int n,
                          long long version)
{
    redisContext *rc = version >= 0 && n > 0 ? ez_redis_get(c->redis) : NULL;
    char *chan = rc ? ez_apply_key(c, EZ_CHANNEL_REFRESH) : NULL;
    int sent = 0, done = 0;
    for (int i = 0; chan && i < n; i++) {
        char *msg = event(resources[i], version);
        const char *pub[] = { "PUBLISH", chan, msg };
        sent += msg && redisAppendCommandArgv(rc, 3, pub, NULL) == REDIS_OK;
        free(msg);
    }
    free(chan);
    while (sent && !done) {
        if (redisBufferWrite(rc, &done) != REDIS_OK) {
            ez_redis_reset(c->redis);
            sent = 0;
        }
    }
    ez_apply_end(c);
    for (int i = 0; i < sent; i++) {
        void *rep = NULL;
        if (redisGetReply(rc, &rep) != REDIS_OK) {
            ez_redis_reset(c->redis);
            break;
        }
        freeReplyObject(rep);
    }
}

/* The refresh resource of a key of the contract. */
static int family(const char *key)
{
    static const char *const keys[] = { EZ_KEY_NAMESPACES, EZ_KEY_PROVIDERS, EZ_KEY_ROUTE_PREFIX,
                                        EZ_KEY_BINDINGS, EZ_KEY_MODELS, EZ_KEY_FEATURES };
    for (int i = 0; i < 6; i++)
        if (strncmp(key, keys[i], strlen(keys[i])) == 0)
            return i; /* "meta:models" also covers meta:models_meta */
    return -1;
}

/* Writes the set, commits the transaction of ez_apply_begin (releasing the
 * lock), then publishes one refresh event per resource the set touches. On
 * any failure the transaction is rolled back. EZ_APPLY_*. */
static int ez_apply_commit(struct ez_sync_ctx *c, struct ez_write_set *s)
{
    static const char *const names[] = { "namespaces", "providers", "routes",
                                         "bindings",   "models",    "features" };
    long long version;
    int rc = ez_apply_write(c, s, &version);
    if (rc != EZ_APPLY_OK) {
        ez_apply_abort(c);
        return rc;
    }
    int touched[6] = { 0 };
    for (size_t i = 0; i < s->nown; i++) {
        int f = family(s->own[i].key);
        if (f >= 0)
            touched[f] = 1;
    }
    const char *events[6];
    int n = 0;
    for (int f = 0; f < 6; f++)
        if (touched[f])
            events[n++] = names[f];
    /* Redis is written; a failed COMMIT of a read-only transaction is harmless */
    ez_apply_end_publish(c, events, n, version);
    return EZ_APPLY_OK;
}

/* ---- Job helpers --------------------------------------------------------- */

typedef int (*build_fn)(struct ez_sync_ctx *c, int64_t id, json_t *payload, struct ez_write_set *s);

struct build {
    build_fn fn;
    int64_t id;
    json_t *payload;
};

/* Builds n jobs into one set under the lock and writes it. Every read
 * follows the lock and every batched job's commit, so two reads of one
 * row in a batch differ only by a later commit, whose own job comes after;
 * among equal puts the last one wins (ez_write_set_finish). */
static int run(struct ez_sync_ctx *c, long long lock, const struct build *b, int n)
{
    struct ez_write_set s;
    ez_write_set_init(&s);
    int rc = ez_apply_begin(c, lock);
    if (rc == EZ_APPLY_OK) {
        for (int i = 0; i < n && rc == EZ_APPLY_OK; i++)
            rc = b[i].fn(c, b[i].id, b[i].payload, &s);
        if (rc == EZ_APPLY_OK)
            rc = ez_apply_commit(c, &s);
        else
            ez_apply_abort(c);
    }
    ez_write_set_clear(&s);
    return rc;
}

static const char *str(json_t *payload, const char *name)
{
    const char *v = json_string_value(json_object_get(payload, name));
    return v && *v ? v : NULL;
}

static int64_t int_of(json_t *payload, const char *name)
{
    json_t *v = json_object_get(payload, name);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

int ez_ids_add(struct ez_ids *l, int64_t id)
{
    for (int i = 0; i < l->n; i++)
        if (l->v[i] == id)
            return 0;
    if (l->n == l->cap) {
        int nc = l->cap ? l->cap * 2 : 16;
        int64_t *v = realloc(l->v, (size_t)nc * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = nc;
    }
    l->v[l->n++] = id;
    return 0;
}

/* Binding names ("<ns>" "<pm>" pairs) to re-project, each once. */
struct names {
    json_t *seen; /* field -> [ns, pm] */
};

static int names_add(struct names *n, const char *ns, const char *pm)
{
    if (!ns || !pm)
        return 0;
    if (!n->seen && !(n->seen = json_object()))
        return -1;
    char *field = ez_projection_binding_field(ns, pm);
    int rc = field ? json_object_set_new(n->seen, field, json_pack("[ss]", ns, pm)) : -1;
    free(field);
    return rc;
}

static int names_add_rows(struct names *n, const struct ez_binding_rows *b)
{
    for (int i = 0; i < b->n; i++)
        if (names_add(n, b->v[i].ns, b->v[i].public_model) != 0)
            return -1;
    return 0;
}


/* Units for every collected binding name; then meta:models_meta when
 * what includes EZ_PROJECT_MODEL. */
static int names_apply(struct ez_sync_ctx *c, struct names *n, struct ez_write_set *s, int what,
                       int64_t now)
{
    const char *field;
    json_t *pair;
    int rc = EZ_APPLY_OK;
    json_object_foreach(n->seen, field, pair) {
        rc = ez_apply_db_status(c,
                                ez_project_binding(c->db, s,
                                                    json_string_value(json_array_get(pair, 0)),
                                                    json_string_value(json_array_get(pair, 1)),
                                                    what, now),
                                "bindings");
        if (rc != EZ_APPLY_OK)
            return rc;
    }
    if (what & EZ_PROJECT_MODEL)
        rc = ez_apply_db_status(c, ez_project_models_meta(c->db, s, 0), "models");
    return rc;
}

/* ---- Reading what Redis holds, for rows that are already gone ---------- */

typedef int (*scan_fn)(void *arg, const char *field, const char *value);

static int hscan(struct ez_sync_ctx *c, const char *key, scan_fn fn, void *arg)
{
    char *pkey = ez_apply_key(c, key);
    if (!pkey)
        return ez_apply_oom(c);
    char cursor[32] = "0";
    int rc = EZ_APPLY_OK;
    do {
        const char *argv[] = { "HSCAN", pkey, cursor, "COUNT", "500" };
        redisReply *r = ez_redis_cmd(c->redis, 5, argv, NULL);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
            snprintf(c->error, sizeof c->error, "redis: %s",
                     r && r->type == REDIS_REPLY_ERROR ? r->str : "HSCAN failed");
            rc = EZ_APPLY_REDIS;
        } else {
            snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
            redisReply *kv = r->element[1];
            for (size_t i = 0; i + 1 < kv->elements && rc == EZ_APPLY_OK; i += 2)
                if (kv->element[i]->type == REDIS_REPLY_STRING &&
                    kv->element[i + 1]->type == REDIS_REPLY_STRING &&
                    fn(arg, kv->element[i]->str, kv->element[i + 1]->str) != 0)
                    rc = ez_apply_oom(c);
        }
        if (r)
            freeReplyObject(r);
    } while (rc == EZ_APPLY_OK && strcmp(cursor, "0") != 0);
    free(pkey);
    return rc;
}

struct by_group {
    int64_t group_id;
    struct ez_ids *keys;
    struct names *names;
};

static int provider_of_group(void *arg, const char *field, const char *value)
{
    struct by_group *b = arg;
    json_t *v = json_loads(value, 0, NULL);
    int rc = 0;
    if (int_of(v, "group_id") == b->group_id)
        rc = ez_ids_add(b->keys, strtoll(field, NULL, 10));
    json_decref(v);
    return rc;
}

static int binding_of_group(void *arg, const char *field, const char *value)
{
    (void)field;
    struct by_group *b = arg;
    json_t *v = json_loads(value, 0, NULL);
    size_t i;
    json_t *cand;
    int rc = 0;
    json_array_foreach(json_object_get(v, "candidates"), i, cand) {
        if (int_of(cand, "group_id") == b->group_id) {
            rc = names_add(b->names, str(v, "namespace"), str(v, "public_model"));
            break;
        }
    }
    json_decref(v);
    return rc;
}

/* ---- Resources ------------------------------------------------------------ */

static int build_namespace(struct ez_sync_ctx *c, int64_t id, json_t *payload,
                           struct ez_write_set *s)
{
    (void)id;
    /* Without a name (never sent by the handlers) the whole hash is rebuilt. */
    return ez_apply_db_status(c, ez_project_namespace(c->db, s, str(payload, "name")),
                              "namespaces");
}

/* The route hashes of groups ids[0..n) and the binding snapshots that use
 * them, as of now. */
static int routes_of_groups(struct ez_sync_ctx *c, const int64_t *ids, int n,
                            struct ez_write_set *s, int64_t now)
{
    struct ez_group_rows g = { 0 };
    struct names names = { 0 };
    int rc = ez_apply_db_status(c, ez_store_groups_by_ids(c->db, ids, n, &g), "groups");
    for (int i = 0; rc == EZ_APPLY_OK && i < g.n; i++) {
        struct ez_binding_rows b;
        rc = ez_apply_db_status(c, ez_project_route(c->db, s, g.v[i].name, now), "routes");
        if (rc == EZ_APPLY_OK)
            rc = ez_apply_db_status(c, ez_store_bindings_of_group(c->db, g.v[i].id, &b),
                                    "bindings");
        if (rc == EZ_APPLY_OK) {
            if (names_add_rows(&names, &b) != 0)
                rc = ez_apply_oom(c);
            ez_binding_rows_free(&b);
        }
    }
    if (rc == EZ_APPLY_OK && names.seen)
        rc = names_apply(c, &names, s, EZ_PROJECT_BINDING, now);
    json_decref(names.seen);
    ez_group_rows_free(&g);
    return rc;
}

/* Everything of group group_id: its keys' snapshots, route hashes under
 * each of `names`, and the bindings using it. When the group is gone, the
 * keys and bindings that Redis still shows under it are re-projected too. */
static int build_group(struct ez_sync_ctx *c, int64_t group_id, const char *const *route_names,
                       int nroutes, struct ez_ids *key_ids, struct ez_write_set *s, int64_t now)
{
    struct ez_group_rows g;
    struct names names = { 0 };
    int rc = ez_apply_db_status(c, ez_store_groups_by_ids(c->db, &group_id, 1, &g), "groups");
    if (rc != EZ_APPLY_OK)
        return rc;
    struct by_group scan = { group_id, key_ids, &names };
    if (g.n == 0) {
        rc = hscan(c, EZ_KEY_PROVIDERS, provider_of_group, &scan);
        if (rc == EZ_APPLY_OK)
            rc = hscan(c, EZ_KEY_BINDINGS, binding_of_group, &scan);
    }
    if (rc == EZ_APPLY_OK)
        rc = ez_apply_db_status(c,
                                ez_project_providers(c->db, secrets_cfg(c), s, &group_id, 1,
                                                      key_ids->v, key_ids->n),
                                "api keys");
    const char *routes[4] = { g.n ? g.v[0].name : NULL };
    for (int i = 0; i < nroutes && i < 3; i++)
        routes[i + 1] = route_names[i];
    for (int i = 0; rc == EZ_APPLY_OK && i <= nroutes && i < 4; i++) {
        int seen = !routes[i];
        for (int j = 0; !seen && j < i; j++)
            seen = routes[j] && strcmp(routes[i], routes[j]) == 0;
        if (!seen)
            rc = ez_apply_db_status(c, ez_project_route(c->db, s, routes[i], now), "routes");
    }
    struct ez_binding_rows b = { 0 };
    if (rc == EZ_APPLY_OK)
        rc = ez_apply_db_status(c, ez_store_bindings_of_group(c->db, group_id, &b), "bindings");
    if (rc == EZ_APPLY_OK && names_add_rows(&names, &b) != 0)
        rc = ez_apply_oom(c);
    if (rc == EZ_APPLY_OK && names.seen)
        rc = names_apply(c, &names, s, EZ_PROJECT_BINDING | EZ_PROJECT_MODEL, now);
    ez_binding_rows_free(&b);
    ez_group_rows_free(&g);
    json_decref(names.seen);
    return rc;
}

static int build_provider_group(struct ez_sync_ctx *c, int64_t id, json_t *payload,
                                struct ez_write_set *s)
{
    struct ez_ids keys = { 0 };
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(payload, "key_ids"), i, v) {
        if (i >= MAX_PAYLOAD_ITEMS)
            break;
        if (json_is_integer(v) && ez_ids_add(&keys, json_integer_value(v)) != 0) {
            free(keys.v);
            return ez_apply_oom(c);
        }
    }
    const char *routes[] = { str(payload, "name"), str(payload, "old_name") };
    int rc = build_group(c, id, routes, 2, &keys, s, (int64_t)time(NULL));
    free(keys.v);
    return rc;
}

/* The group a key's snapshot in Redis names (0 when none). */
static int stored_group_of_key(struct ez_sync_ctx *c, int64_t key_id, int64_t *group_id)
{
    *group_id = 0;
    char *pkey = ez_apply_key(c, EZ_KEY_PROVIDERS), field[24];
    if (!pkey)
        return ez_apply_oom(c);
    snprintf(field, sizeof field, "%" PRId64, key_id);
    const char *argv[] = { "HGET", pkey, field };
    redisReply *r = ez_redis_cmd(c->redis, 3, argv, NULL);
    free(pkey);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        snprintf(c->error, sizeof c->error, "redis: %s", r ? r->str : "HGET failed");
        if (r)
            freeReplyObject(r);
        return EZ_APPLY_REDIS;
    }
    if (r->type == REDIS_REPLY_STRING) {
        json_t *v = json_loads(r->str, 0, NULL);
        *group_id = int_of(v, "group_id");
        json_decref(v);
    }
    freeReplyObject(r);
    return EZ_APPLY_OK;
}

/* A key changes its own snapshot, and the route hash and binding
 * snapshots of its group (old and new group, should it have moved). */
static int build_api_key(struct ez_sync_ctx *c, int64_t id, json_t *payload, struct ez_write_set *s)
{
    int64_t now = (int64_t)time(NULL);
    struct ez_ids gids = { 0 };
    struct ez_api_key_rows k;
    int rc = ez_apply_db_status(c, ez_store_keys_load(c->db, NULL, NULL, 0, &id, 1, &k), "api keys");
    if (rc != EZ_APPLY_OK)
        return rc;
    int64_t from_payload = int_of(payload, "group_id");
    if ((from_payload && ez_ids_add(&gids, from_payload) != 0) ||
        (k.n == 1 && ez_ids_add(&gids, k.v[0].group_id) != 0))
        rc = ez_apply_oom(c);
    ez_api_key_rows_free(&k);
    if (rc == EZ_APPLY_OK && gids.n == 0) {
        int64_t stored;
        rc = stored_group_of_key(c, id, &stored);
        if (rc == EZ_APPLY_OK && stored && ez_ids_add(&gids, stored) != 0)
            rc = ez_apply_oom(c);
    }
    if (rc == EZ_APPLY_OK)
        rc = ez_apply_db_status(c,
                                ez_project_providers(c->db, secrets_cfg(c), s, NULL, 0, &id, 1),
                                "api keys");
    if (rc == EZ_APPLY_OK)
        rc = routes_of_groups(c, gids.v, gids.n, s, now);
    free(gids.v);
    return rc;
}

/* A binding changes the snapshot and meta:models entry of its name, before
 * and after the change. */
static int build_binding(struct ez_sync_ctx *c, int64_t id, json_t *payload, struct ez_write_set *s)
{
    struct names names = { 0 };
    const char *ns = str(payload, "namespace"), *pm = str(payload, "public_model");
    const char *old_ns = str(payload, "old_namespace"), *old_pm = str(payload, "old_public_model");
    struct ez_binding_rows b;
    int rc = ez_apply_db_status(c, ez_store_binding_by_id(c->db, id, &b), "bindings");
    if (rc != EZ_APPLY_OK)
        return rc;
    if (names_add(&names, ns, pm) != 0 || names_add_rows(&names, &b) != 0 ||
        ((old_ns || old_pm) && names_add(&names, old_ns ? old_ns : ns, old_pm ? old_pm : pm) != 0))
        rc = ez_apply_oom(c);
    ez_binding_rows_free(&b);
    if (rc == EZ_APPLY_OK && !names.seen)
        log_warn("sync job bindings %" PRId64 " names no binding and the row is gone: "
                 "nothing to re-project until the next full resync", id);
    if (rc == EZ_APPLY_OK && names.seen)
        rc = names_apply(c, &names, s, EZ_PROJECT_BINDING | EZ_PROJECT_MODEL, (int64_t)time(NULL));
    json_decref(names.seen);
    return rc;
}

/* A registry entry changes the meta:models fields of the bindings whose
 * public model has its name (before and after a rename). */
static int build_model(struct ez_sync_ctx *c, int64_t id, json_t *payload, struct ez_write_set *s)
{
    char *current = NULL;
    int rc = ez_apply_db_status(c, ez_store_model_name(c->db, id, &current), "models");
    const char *wanted[] = { str(payload, "name"), str(payload, "old_name"), current };
    struct names names = { 0 };
    int any = 0;
    for (int i = 0; rc == EZ_APPLY_OK && i < 3; i++) {
        if (!wanted[i])
            continue;
        any = 1;
        struct ez_binding_rows b;
        rc = ez_apply_db_status(c, ez_store_bindings_of_model(c->db, wanted[i], &b), "bindings");
        if (rc == EZ_APPLY_OK) {
            if (names_add_rows(&names, &b) != 0)
                rc = ez_apply_oom(c);
            ez_binding_rows_free(&b);
        }
    }
    free(current);
    if (rc != EZ_APPLY_OK)
        return rc;
    if (!any) /* no name known: rebuild the whole of meta:models */
        return ez_apply_db_status(c, ez_project_models_meta(c->db, s, 1), "models");
    if (names.seen)
        rc = names_apply(c, &names, s, EZ_PROJECT_MODEL, (int64_t)time(NULL));
    else
        rc = ez_apply_db_status(c, ez_project_models_meta(c->db, s, 0), "models");
    json_decref(names.seen);
    return rc;
}

static int build_features(struct ez_sync_ctx *c, int64_t id, json_t *payload,
                          struct ez_write_set *s)
{
    (void)id;
    json_t *list = json_object_get(payload, "names");
    if (!json_is_array(list)) /* no list: the whole hash */
        return ez_apply_db_status(c, ez_project_feature(c->db, s, NULL), "features");
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        if (i >= MAX_PAYLOAD_ITEMS)
            break;
        const char *name = json_string_value(v);
        if (!name || !*name)
            continue;
        int rc = ez_apply_db_status(c, ez_project_feature(c->db, s, name), "features");
        if (rc != EZ_APPLY_OK)
            return rc;
    }
    return EZ_APPLY_OK;
}

/* ---- Bans that ended ------------------------------------------------------ */

static int build_unbanned(struct ez_sync_ctx *c, int64_t id, json_t *payload,
                          struct ez_write_set *s)
{
    (void)id;
    int64_t since = int_of(payload, "since"), until = int_of(payload, "until");
    int64_t *gids;
    int n;
    int rc = ez_apply_db_status(c, ez_store_unbanned_groups(c->db, since, until, &gids, &n),
                                "api keys");
    if (rc == EZ_APPLY_OK && n > 0)
        rc = routes_of_groups(c, gids, n, s, until);
    free(gids);
    return rc;
}

int ez_apply_expired_bans(struct ez_sync_ctx *c)
{
    int64_t now = (int64_t)time(NULL);
    if (c->bans_checked_at == 0 || now < c->bans_checked_at) {
        c->bans_checked_at = now;
        return EZ_APPLY_OK;
    }
    if (now == c->bans_checked_at)
        return EZ_APPLY_OK;
    /* Most seconds see no ban end: find out without taking the lock. */
    int64_t *gids;
    int n;
    int rc = ez_apply_db_status(c, ez_store_unbanned_groups(c->db, c->bans_checked_at, now, &gids,
                                                          &n), "api keys");
    free(gids);
    if (rc != EZ_APPLY_OK)
        return rc;
    if (n == 0) {
        c->bans_checked_at = now;
        return EZ_APPLY_OK;
    }
    json_t *window = json_pack("{s:I, s:I}", "since", (json_int_t)c->bans_checked_at, "until",
                               (json_int_t)now);
    if (!window)
        return ez_apply_oom(c);
    struct build b = { build_unbanned, 0, window };
    rc = run(c, EZ_APPLY_LOCK_CONFIG, &b, 1);
    json_decref(window);
    if (rc == EZ_APPLY_OK)
        c->bans_checked_at = now;
    return rc;
}

/* ---- Dispatch ---------------------------------------------------------------- */

static const struct {
    const char *resource;
    long long lock;
    build_fn build; /* NULL: built with the other tenants jobs by ez_apply_tenants */
} appliers[] = {
    { "namespaces", EZ_APPLY_LOCK_NAMESPACES, build_namespace },
    { "provider_groups", EZ_APPLY_LOCK_CONFIG, build_provider_group },
    { "api_keys", EZ_APPLY_LOCK_CONFIG, build_api_key },
    { "bindings", EZ_APPLY_LOCK_CONFIG, build_binding },
    { "models", EZ_APPLY_LOCK_CONFIG, build_model },
    { "features", EZ_APPLY_LOCK_FEATURES, build_features },
    /* tenants */
    { "masters", EZ_APPLY_LOCK_TENANTS, NULL },
    { "keys", EZ_APPLY_LOCK_TENANTS, NULL },
    /* end tenants */
};

#define NAPPLIERS (int)(sizeof appliers / sizeof appliers[0])

static int applier_of(const char *resource)
{
    for (int i = 0; i < NAPPLIERS; i++)
        if (strcmp(resource, appliers[i].resource) == 0)
            return i;
    return -1;
}

/* Applies together, in batch order, the jobs whose applier (kind[i])
 * takes this lock, and marks them taken (kind -1); mine and b are scratch
 * space for n entries. */
static int apply_class(struct ez_sync_ctx *c, long long lock, struct ez_sync_job *jobs,
                       int *kind, int n, struct ez_sync_job **mine, struct build *b)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (kind[i] < 0 || appliers[kind[i]].lock != lock)
            continue;
        mine[k] = &jobs[i];
        b[k++] = (struct build){ appliers[kind[i]].build, jobs[i].id, jobs[i].payload };
        kind[i] = -1;
    }
    int rc = lock == EZ_APPLY_LOCK_TENANTS ? ez_apply_tenants(c, mine, k) : run(c, lock, b, k);
    for (int i = 0; i < k; i++)
        mine[i]->rc = rc;
    return rc;
}

void ez_sync_apply_batch(struct ez_sync_ctx *c, struct ez_sync_job *jobs, int n)
{
    c->error[0] = '\0';
    size_t m = n > 0 ? (size_t)n : 1;
    int *kind = malloc(m * sizeof *kind);
    struct ez_sync_job **mine = malloc(m * sizeof *mine);
    struct build *b = malloc(m * sizeof *b);
    int oom_rc = kind && mine && b ? EZ_APPLY_OK : ez_apply_oom(c);
    for (int i = 0; i < n; i++) {
        jobs[i].rc = oom_rc == EZ_APPLY_OK ? EZ_APPLY_DB : oom_rc; /* DB: not tried yet */
        if (oom_rc == EZ_APPLY_OK && (kind[i] = applier_of(jobs[i].resource)) < 0) {
            log_error("sync job for unknown resource %s: dropped", jobs[i].resource);
            jobs[i].rc = EZ_APPLY_OK;
        }
    }
    for (int i = 0; oom_rc == EZ_APPLY_OK && i < n; i++)
        if (kind[i] >= 0 &&
            apply_class(c, appliers[kind[i]].lock, jobs, kind, n, mine, b) == EZ_APPLY_DB)
            break;
    free(kind);
    free(mine);
    free(b);
}

json_t *ez_sync_payload(const char *resource, int64_t id, const char *payload_json)
{
    json_t *payload = json_loads(payload_json && *payload_json ? payload_json : "{}", 0, NULL);
    if (json_is_object(payload))
        return payload;
    log_error("sync job %s %" PRId64 " has a payload that is not a JSON object: dropped",
              resource, id);
    json_decref(payload);
    return NULL;
}

int ez_sync_apply(struct ez_sync_ctx *c, const char *resource, const char *payload_json,
                  int64_t id)
{
    struct ez_sync_job job = { resource, id, ez_sync_payload(resource, id, payload_json),
                               EZ_APPLY_OK };
    if (job.payload)
        ez_sync_apply_batch(c, &job, 1);
    json_decref(job.payload);
    return job.rc;
}
