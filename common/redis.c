/* Redis connection helper: connects with what ez_redis_url_parse made of
 * redis_url (the parser the config check uses too), authenticates, selects
 * the database, and reconnects on the next call after a failure. */
#include "redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "log.h"
#include "metrics.h"
#include "redis_url.h"

struct ez_redis {
    struct ez_redis_url url;
    int timeout_ms;
    redisContext *c;
    char refused[128]; /* the last refusal logged, so a retry loop logs it once */
};

struct ez_redis *ez_redis_new(const char *url, int timeout_ms)
{
    struct ez_redis *r = calloc(1, sizeof *r);
    char why[512];
    if (!r)
        return NULL;
    if (ez_redis_url_parse(url, &r->url, why, sizeof why) != 0) {
        log_error("invalid redis_url: %s", why);
        free(r);
        return NULL;
    }
    r->timeout_ms = timeout_ms;
    return r;
}

void ez_redis_reset(struct ez_redis *r)
{
    if (r->c) {
        redisFree(r->c);
        r->c = NULL;
    }
}

void ez_redis_free(struct ez_redis *r)
{
    if (!r)
        return;
    ez_redis_reset(r);
    ez_redis_url_wipe(&r->url);
    free(r);
}

/* Runs one set-up command. A refusal is logged with the command's name
 * only, never its arguments, and once until the next success. */
static int setup_cmd(struct ez_redis *r, int argc, const char **argv)
{
    redisReply *rep = redisCommandArgv(r->c, argc, argv, NULL);
    int ok = rep && rep->type != REDIS_REPLY_ERROR;
    if (rep && !ok) {
        char now[sizeof r->refused];
        snprintf(now, sizeof now, "%s: %s", argv[0], rep->str ? rep->str : "");
        if (strcmp(now, r->refused) != 0)
            log_warn("Redis refused %s", now);
        memcpy(r->refused, now, sizeof now);
    }
    if (rep)
        freeReplyObject(rep);
    return ok ? 0 : -1;
}

/* AUTH [user] password (Redis 6 ACL users), then SELECT. */
static int setup(struct ez_redis *r)
{
    const struct ez_redis_url *u = &r->url;
    char db[16];
    if (u->password_set) {
        const char *with_user[] = { "AUTH", u->user, u->password };
        const char *without[] = { "AUTH", u->password };
        if (u->user[0] ? setup_cmd(r, 3, with_user) != 0 : setup_cmd(r, 2, without) != 0)
            return -1;
    }
    if (u->db) {
        const char *select[] = { "SELECT", db };
        snprintf(db, sizeof db, "%d", u->db);
        if (setup_cmd(r, 2, select) != 0)
            return -1;
    }
    r->refused[0] = '\0';
    return 0;
}

redisContext *ez_redis_get(struct ez_redis *r)
{
    if (r->c && !r->c->err)
        return r->c;
    ez_redis_reset(r);
    struct timeval tv = { r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000 };
    r->c = r->url.transport == EZ_REDIS_UNIX
               ? redisConnectUnixWithTimeout(r->url.path, tv)
               : redisConnectWithTimeout(r->url.hosts[0].name, r->url.hosts[0].port, tv);
    if (!r->c || r->c->err || redisSetTimeout(r->c, tv) != REDIS_OK || setup(r) != 0) {
        ez_metric_inc(EZ_M_redis_errors);
        log_debug("Redis connection failed: %s", r->c ? r->c->errstr : "out of memory");
        ez_redis_reset(r);
        return NULL;
    }
    return r->c;
}

redisReply *ez_redis_cmd(struct ez_redis *r, int argc, const char **argv, const size_t *lens)
{
    redisContext *c = ez_redis_get(r);
    if (!c)
        return NULL;
    redisReply *rep = redisCommandArgv(c, argc, argv, lens);
    if (!rep) {
        ez_metric_inc(EZ_M_redis_errors);
        ez_redis_reset(r);
    }
    return rep;
}
