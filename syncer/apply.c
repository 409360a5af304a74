/* Per-resource projection of sync jobs into Redis. */
#include "apply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "log.h"

static void key(const struct ez_sync_ctx *c, char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s%s", c->prefix, name);
}

/* Runs the queued commands of one job inside MULTI/EXEC: argv lists of
 * commands, each terminated by NULL. */
static int exec_atomic(struct ez_sync_ctx *c, const char *const *const *cmds, int ncmds)
{
    redisContext *rc = ez_redis_get(c->redis);
    if (!rc) {
        snprintf(c->error, sizeof c->error, "redis unreachable");
        return EZ_APPLY_REDIS;
    }
    redisAppendCommand(rc, "MULTI");
    for (int i = 0; i < ncmds; i++) {
        int argc = 0;
        while (cmds[i][argc])
            argc++;
        redisAppendCommandArgv(rc, argc, (const char **)cmds[i], NULL);
    }
    redisAppendCommand(rc, "EXEC");
    int ok = 1;
    for (int i = 0; i < ncmds + 2; i++) {
        redisReply *rep = NULL;
        if (redisGetReply(rc, (void **)&rep) != REDIS_OK) {
            snprintf(c->error, sizeof c->error, "redis: %s", rc->errstr);
            ez_redis_reset(c->redis);
            return EZ_APPLY_REDIS;
        }
        if (rep->type == REDIS_REPLY_ERROR ||
            (i == ncmds + 1 && rep->type != REDIS_REPLY_ARRAY)) {
            snprintf(c->error, sizeof c->error, "redis: %s",
                     rep->type == REDIS_REPLY_ERROR ? rep->str : "transaction aborted");
            ok = 0;
        }
        freeReplyObject(rep);
    }
    return ok ? EZ_APPLY_OK : EZ_APPLY_REDIS;
}

static int apply_namespace(struct ez_sync_ctx *c, json_t *payload, char *resource_out)
{
    const char *name = json_string_value(json_object_get(payload, "name"));
    if (!name)
        return EZ_APPLY_OK; /* nothing to do for a job that names nothing */
    const char *p[] = { name };
    json_t *row;
    int rc = ez_db_json_row(c->db, &row,
                            "SELECT json_build_object('name', name, 'status', status) "
                            "FROM namespaces WHERE name = $1", 1, p);
    if (rc != EZ_DB_OK) {
        snprintf(c->error, sizeof c->error, "postgres unavailable");
        return EZ_APPLY_DB;
    }
    char k[256], ver[256];
    key(c, k, sizeof k, "config:namespaces");
    key(c, ver, sizeof ver, "meta:sync");
    char *value = row ? json_dumps(row, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    const char *set[] = { "HSET", k, name, value, NULL };
    const char *del[] = { "HDEL", k, name, NULL };
    const char *bump[] = { "HINCRBY", ver, "version", "1", NULL };
    const char *const *cmds[] = { row ? set : del, bump };
    rc = exec_atomic(c, cmds, 2);
    free(value);
    json_decref(row);
    strcpy(resource_out, "namespaces");
    return rc;
}

static void publish(struct ez_sync_ctx *c, const char *resource)
{
    char chan[256], ver[256];
    key(c, chan, sizeof chan, "dp:config:refresh");
    key(c, ver, sizeof ver, "meta:sync");
    const char *get[] = { "HGET", ver, "version" };
    redisReply *rep = ez_redis_cmd(c->redis, 3, get, NULL);
    json_t *ev = json_pack("{s:s, s:s?, s:I}", "resource", resource, "version",
                           rep && rep->type == REDIS_REPLY_STRING ? rep->str : NULL,
                           "timestamp", (json_int_t)time(NULL));
    if (rep)
        freeReplyObject(rep);
    char *msg = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    const char *pub[] = { "PUBLISH", chan, msg };
    rep = msg ? ez_redis_cmd(c->redis, 3, pub, NULL) : NULL;
    if (rep)
        freeReplyObject(rep);
    free(msg);
}

int ez_sync_apply(struct ez_sync_ctx *c, const char *resource, const char *payload_json,
                  int64_t id)
{
    (void)id;
    json_t *payload = json_loads(payload_json ? payload_json : "{}", 0, NULL);
    if (!payload) {
        log_error("sync job for %s has a payload that is not JSON: dropped", resource);
        return EZ_APPLY_OK;
    }
    char changed[32] = "";
    int rc = EZ_APPLY_OK;
    if (strcmp(resource, "namespaces") == 0)
        rc = apply_namespace(c, payload, changed);
    else
        log_error("sync job for unknown resource %s: dropped", resource);
    json_decref(payload);
    if (rc == EZ_APPLY_OK && changed[0])
        publish(c, changed); /* a hint only: a failure here loses nothing */
    return rc;
}
