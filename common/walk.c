/* Walking the projection: config keys through ez_store_stream, then masters
 * by id and secrets by key id, a cursor batch at a time. */
#include "walk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "projection.h"
#include "projection_auth.h"
#include "store_auth.h"
#include "store_projection.h"

struct walk {
    const struct ez_walk_sink *sink;
    char open_key[512];
    int is_open;
};

static int close_open(struct walk *w)
{
    if (!w->is_open)
        return 0;
    w->is_open = 0;
    return w->sink->close(w->sink->arg, w->open_key);
}

/* Adapts ez_store_stream's "a NULL field opens a key" to open/field/close. */
static int config_sink(void *arg, const char *key, const char *field, const char *value)
{
    struct walk *w = arg;
    if (!field) {
        if (close_open(w) != 0)
            return 1;
        snprintf(w->open_key, sizeof w->open_key, "%s", key);
        w->is_open = 1;
        return w->sink->open(w->sink->arg, key, 0);
    }
    return w->sink->field(w->sink->arg, key, field, value);
}

/* Masters and secrets: one reused hash, emitted as open, fields, close. */
struct entities {
    const struct ez_walk_sink *sink;
    int64_t now_us;
    struct ez_hash_fields h;
};

static int emit_hash(struct entities *e, const char *key, long long ttl)
{
    const struct ez_walk_sink *s = e->sink;
    if (s->open(s->arg, key, ttl))
        return EZ_STORE_STOPPED;
    for (int i = 0; i < e->h.n; i++)
        if (s->field(s->arg, key, e->h.name[i], e->h.value[i]))
            return EZ_STORE_STOPPED;
    return s->close(s->arg, key) ? EZ_STORE_STOPPED : EZ_DB_OK;
}

static int walk_masters(void *arg, const struct ez_master_rows *m)
{
    struct entities *e = arg;
    int rc = EZ_DB_OK;
    for (int i = 0; i < m->n && rc == EZ_DB_OK; i++) {
        char key[64];
        if (ez_projection_master_key(m->v[i].id, key, sizeof key) != 0 ||
            ez_projection_master_hash(&m->v[i], &e->h) != 0)
            return EZ_DB_ERROR;
        rc = emit_hash(e, key, 0);
    }
    return rc;
}

static int walk_tokens(void *arg, const struct ez_token_rows *t)
{
    struct entities *e = arg;
    int rc = EZ_DB_OK;
    for (int i = 0; i < t->n && rc == EZ_DB_OK; i++) {
        const struct ez_token_row *tok = &t->v[i];
        if (!ez_projection_token_usable(tok, e->now_us))
            continue;
        char key[128];
        if (ez_projection_token_key(tok->digest, key, sizeof key) != 0 ||
            ez_projection_token_hash(tok, &e->h) != 0)
            return EZ_DB_ERROR;
        rc = emit_hash(e, key, ez_projection_token_ttl(tok, e->now_us));
    }
    return rc;
}

int ez_walk(struct ez_db *db, const struct ez_config *cfg, int64_t now_us, int batch,
            const struct ez_walk_sink *sink)
{
    struct walk w = { .sink = sink };
    int rc = ez_store_stream(db, cfg, now_us / 1000000, batch, config_sink, &w);
    if (rc == EZ_DB_OK && close_open(&w) != 0)
        rc = EZ_STORE_STOPPED;
    struct entities e = { .sink = sink, .now_us = now_us };
    if (rc == EZ_DB_OK)
        rc = ez_store_masters_each(db, batch, walk_masters, &e);
    if (rc == EZ_DB_OK)
        rc = ez_store_tokens_each(db, batch, walk_tokens, &e);
    ez_hash_fields_free(&e.h);
    return rc;
}

/* ---- Stale keys ---------------------------------------------------------- */

#define SCAN_COUNT "5000"

struct stale_batch {
    char **keys; /* unprefixed */
    int n, cap;
};

static void batch_clear(struct stale_batch *b)
{
    for (int i = 0; i < b->n; i++)
        free(b->keys[i]);
    b->n = 0;
}

/* Which keys of the batch does the projection not produce? */
static int check_routes(struct ez_db *db, struct stale_batch *b, int64_t now_us,
                        int (*stale)(void *, const char *), void *arg)
{
    for (int i = 0; i < b->n; i++) {
        struct ez_write_set s;
        ez_write_set_init(&s);
        const char *name = b->keys[i] + strlen(EZ_KEY_ROUTE_PREFIX);
        int rc = ez_project_route(db, &s, name, now_us / 1000000);
        if (rc == EZ_DB_OK) {
            ez_write_set_finish(&s);
            int produced = 0;
            for (size_t k = 0; k < s.nput && !produced; k++)
                produced = strcmp(s.put[k].key, b->keys[i]) == 0;
            if (!produced && stale(arg, b->keys[i]))
                rc = EZ_STORE_STOPPED;
        }
        ez_write_set_clear(&s);
        if (rc != EZ_DB_OK)
            return rc;
    }
    return EZ_DB_OK;
}

static int check_masters(struct ez_db *db, struct stale_batch *b,
                         int (*stale)(void *, const char *), void *arg)
{
    int64_t *ids = calloc((size_t)b->n + 1, sizeof *ids);
    if (!ids)
        return EZ_DB_ERROR;
    for (int i = 0; i < b->n; i++)
        ids[i] = atoll(b->keys[i] + strlen(EZ_KEY_AUTH_MASTER_PREFIX));
    struct ez_master_rows m = { 0 };
    int rc = ez_store_masters_by_ids(db, ids, b->n, &m);
    for (int i = 0; rc == EZ_DB_OK && i < b->n; i++) {
        int found = 0;
        for (int j = 0; j < m.n && !found; j++)
            found = m.v[j].id == ids[i] && ids[i] > 0;
        if (!found && stale(arg, b->keys[i]))
            rc = EZ_STORE_STOPPED;
    }
    ez_master_rows_free(&m);
    free(ids);
    return rc;
}

static int check_tokens(struct ez_db *db, struct stale_batch *b, int64_t now_us,
                        int (*stale)(void *, const char *), void *arg)
{
    const char **digests = calloc((size_t)b->n + 1, sizeof *digests);
    if (!digests)
        return EZ_DB_ERROR;
    for (int i = 0; i < b->n; i++)
        digests[i] = b->keys[i] + strlen(EZ_KEY_AUTH_TOKEN_PREFIX);
    struct ez_token_rows t = { 0 };
    int rc = ez_store_tokens_by_digests(db, digests, b->n, &t);
    json_t *usable = json_object(); /* used as a set of digests */
    for (int j = 0; rc == EZ_DB_OK && j < t.n; j++)
        if (ez_projection_token_usable(&t.v[j], now_us))
            json_object_set_new(usable, t.v[j].digest, json_true());
    for (int i = 0; rc == EZ_DB_OK && i < b->n; i++)
        if (!json_object_get(usable, digests[i]) && stale(arg, b->keys[i]))
            rc = EZ_STORE_STOPPED;
    json_decref(usable);
    ez_token_rows_free(&t);
    free(digests);
    return rc;
}

static int scan_family(struct ez_db *db, struct ez_redis *redis, const char *prefix,
                       const char *family, int64_t now_us,
                       int (*stale)(void *, const char *), void *arg, const char **why)
{
    char pattern[256], cursor[32] = "0";
    snprintf(pattern, sizeof pattern, "%s%s*", prefix, family);
    size_t plen = strlen(prefix);
    struct stale_batch b = { 0 };
    int rc = EZ_DB_OK;
    do {
        const char *argv[] = { "SCAN", cursor, "MATCH", pattern, "COUNT", SCAN_COUNT };
        redisReply *rep = ez_redis_cmd(redis, 6, argv, NULL);
        if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
            *why = "redis scan failed";
            if (rep)
                freeReplyObject(rep);
            rc = EZ_DB_UNAVAILABLE;
            break;
        }
        snprintf(cursor, sizeof cursor, "%s", rep->element[0]->str);
        redisReply *keys = rep->element[1];
        for (size_t i = 0; i < keys->elements && rc == EZ_DB_OK; i++) {
            if (b.n == b.cap) {
                int cap = b.cap ? b.cap * 2 : 256;
                char **k = realloc(b.keys, (size_t)cap * sizeof *k);
                if (!k) {
                    rc = EZ_DB_ERROR;
                    break;
                }
                b.keys = k;
                b.cap = cap;
            }
            b.keys[b.n] = strdup(keys->element[i]->str + plen);
            if (b.keys[b.n])
                b.n++;
        }
        freeReplyObject(rep);
        if (rc == EZ_DB_OK && b.n) {
            if (strcmp(family, EZ_KEY_ROUTE_PREFIX) == 0)
                rc = check_routes(db, &b, now_us, stale, arg);
            else if (strcmp(family, EZ_KEY_AUTH_MASTER_PREFIX) == 0)
                rc = check_masters(db, &b, stale, arg);
            else
                rc = check_tokens(db, &b, now_us, stale, arg);
        }
        batch_clear(&b);
    } while (rc == EZ_DB_OK && strcmp(cursor, "0") != 0);
    batch_clear(&b);
    free(b.keys);
    return rc;
}

int ez_walk_stale(struct ez_db *db, struct ez_redis *redis, const char *prefix, int64_t now_us,
                  int (*stale)(void *arg, const char *key), void *arg, const char **why)
{
    static const char *const families[] = { EZ_KEY_ROUTE_PREFIX, EZ_KEY_AUTH_MASTER_PREFIX,
                                            EZ_KEY_AUTH_TOKEN_PREFIX };
    int rc = EZ_DB_OK;
    for (size_t i = 0; i < sizeof families / sizeof families[0] && rc == EZ_DB_OK; i++)
        rc = scan_family(db, redis, prefix, families[i], now_us, stale, arg, why);
    return rc;
}

const char *ez_walk_resource(const char *key)
{
    static const struct { const char *prefix, *resource; } map[] = {
        { EZ_KEY_NAMESPACES, "namespaces" }, { EZ_KEY_PROVIDERS, "providers" },
        { EZ_KEY_ROUTE_PREFIX, "routes" },   { EZ_KEY_BINDINGS, "bindings" },
        { EZ_KEY_MODELS_META, "models" },    { EZ_KEY_MODELS, "models" },
        { EZ_KEY_FEATURES, "features" },     { EZ_KEY_AUTH_MASTER_PREFIX, "masters" },
        { EZ_KEY_AUTH_TOKEN_PREFIX, "tokens" },
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strncmp(key, map[i].prefix, strlen(map[i].prefix)) == 0)
            return map[i].resource;
    return "sync";
}
