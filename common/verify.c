/* Verify walks the projection and reads Redis back a batch of keys at a
 * time (pipelined HGETALL), so memory is bounded by the batch and by the
 * largest single hash. */
#include "verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "projection.h"
#include "store_auth.h"
#include "store_projection.h"
#include "walk.h"

#define VERIFY_BATCH 256

struct pending {
    char *key;      /* unprefixed */
    json_t *fields; /* expected field -> value */
};

struct verify {
    struct ez_redis *redis;
    const char *prefix;
    json_t *diffs, *counts;
    long long keys;
    struct pending batch[VERIFY_BATCH];
    int n;
    const char *why;
};

static void add_diff(struct verify *v, const char *key, const char *field, const char *expected,
                     const char *actual)
{
    const char *res = ez_walk_resource(key);
    json_t *list = json_object_get(v->diffs, res);
    if (!list) {
        list = json_array();
        json_object_set_new(v->diffs, res, list);
    }
    json_int_t n = json_integer_value(json_object_get(v->counts, res)) + 1;
    json_object_set_new(v->counts, res, json_integer(n));
    if (json_array_size(list) >= EZ_VERIFY_MAX_LISTED)
        return;
    json_array_append_new(list, json_pack("{s:s, s:s?, s:s?, s:s?}", "key", key, "field", field,
                                          "expected", expected, "actual", actual));
}

/* Reads the batch back from Redis and compares. 0, or -1 when Redis fails. */
static int flush(struct verify *v)
{
    if (!v->n)
        return 0;
    redisContext *c = ez_redis_get(v->redis);
    if (!c) {
        v->why = "redis unreachable";
        return -1;
    }
    for (int i = 0; i < v->n; i++) {
        char key[600];
        snprintf(key, sizeof key, "%s%s", v->prefix, v->batch[i].key);
        const char *argv[] = { "HGETALL", key };
        redisAppendCommandArgv(c, 2, argv, NULL);
    }
    int rc = 0;
    for (int i = 0; i < v->n; i++) {
        redisReply *rep = NULL;
        if (rc == 0 && redisGetReply(c, (void **)&rep) != REDIS_OK) {
            v->why = "redis read failed";
            ez_redis_reset(v->redis);
            rc = -1;
        }
        struct pending *p = &v->batch[i];
        if (rc == 0 && rep && rep->type == REDIS_REPLY_ARRAY) {
            json_t *actual = json_object();
            for (size_t k = 0; k + 1 < rep->elements; k += 2)
                json_object_set_new(actual, rep->element[k]->str,
                                    json_stringn_nocheck(rep->element[k + 1]->str,
                                                         rep->element[k + 1]->len));
            const char *f;
            json_t *exp;
            json_object_foreach(p->fields, f, exp) {
                const char *want = json_string_value(exp);
                const char *got = json_string_value(json_object_get(actual, f));
                if (!got || strcmp(got, want) != 0)
                    add_diff(v, p->key, f, want, got);
            }
            json_t *got;
            json_object_foreach(actual, f, got) {
                if (!json_object_get(p->fields, f))
                    add_diff(v, p->key, f, NULL, json_string_value(got));
            }
            json_decref(actual);
        } else if (rc == 0) {
            v->why = "unexpected redis reply";
            rc = -1;
        }
        if (rep)
            freeReplyObject(rep);
        free(p->key);
        json_decref(p->fields);
    }
    v->n = 0;
    return rc;
}

static int on_open(void *arg, const char *key, long long ttl)
{
    (void)ttl; /* TTLs are not compared: they shrink while we look */
    struct verify *v = arg;
    if (v->n == VERIFY_BATCH && flush(v) != 0)
        return 1;
    v->batch[v->n].key = strdup(key);
    v->batch[v->n].fields = json_object();
    v->n++;
    v->keys++;
    return 0;
}

static int on_field(void *arg, const char *key, const char *field, const char *value)
{
    struct verify *v = arg;
    (void)key;
    return json_object_set_new(v->batch[v->n - 1].fields, field,
                               json_stringn_nocheck(value, strlen(value))) != 0;
}

static int on_close(void *arg, const char *key)
{
    (void)arg;
    (void)key;
    return 0;
}

static int on_stale(void *arg, const char *key)
{
    add_diff(arg, key, NULL, NULL, "(key exists)");
    return 0;
}

int ez_verify(struct ez_db *db, struct ez_redis *redis, const struct ez_config *cfg,
              json_t **report, const char **why)
{
    *report = NULL;
    *why = "postgres unavailable";
    struct verify v = { .redis = redis, .prefix = cfg->redis_key_prefix, .diffs = json_object(),
                        .counts = json_object() };
    int64_t now_us = 0;
    int rc = ez_db_cmd(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL);
    if (rc == EZ_DB_OK)
        rc = ez_store_clock_us(db, &now_us);
    struct ez_walk_sink sink = { on_open, on_field, on_close, &v };
    if (rc == EZ_DB_OK)
        rc = ez_walk(db, cfg, now_us, 500, &sink);
    if (rc == EZ_DB_OK && flush(&v) != 0)
        rc = EZ_STORE_STOPPED;
    if (rc == EZ_DB_OK)
        rc = ez_walk_stale(db, redis, cfg->redis_key_prefix, now_us, on_stale, &v, why);
    for (int i = 0; i < v.n; i++) {
        free(v.batch[i].key);
        json_decref(v.batch[i].fields);
    }
    if (ez_db_cmd(db, "COMMIT", 0, NULL) != EZ_DB_OK && rc == EZ_DB_OK)
        rc = EZ_DB_UNAVAILABLE;
    if (rc == EZ_STORE_STOPPED) {
        *why = v.why ? v.why : "redis unavailable";
        rc = EZ_DB_UNAVAILABLE;
    }
    if (rc != EZ_DB_OK) {
        json_decref(v.diffs);
        json_decref(v.counts);
        return rc;
    }
    *report = json_pack("{s:b, s:o, s:o, s:I}", "equal", json_object_size(v.diffs) == 0,
                        "differences", v.diffs, "counts", v.counts, "keys_checked",
                        (json_int_t)v.keys);
    return EZ_DB_OK;
}
