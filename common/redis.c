/* Redis connection helper: connects with what ez_redis_url_parse made of
 * redis_url (the parser the config check uses too), authenticates, selects
 * the database, and reconnects on the next call after a failure. With
 * redis-sentinel:// it asks the Sentinels where the master is and checks
 * the node it reached is one; it never writes to a node that says it is
 * not (docs/operations.md, "Redis Sentinel"). */
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
    int stale;         /* a READONLY reply: drop the connection on the next get */
    char refused[128]; /* the last refusal logged, so a retry loop logs it once */
    char master[EZ_REDIS_URL_HOST_MAX + 8]; /* "host:port" last given by a Sentinel */
    char sentinel_why[256]; /* the last Sentinel failure logged */
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
    r->stale = 0;
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

static redisContext *connect_tcp(const char *host, int port, struct timeval tv)
{
    redisContext *c = redisConnectWithTimeout(host, port, tv);
    if (c && !c->err && redisSetTimeout(c, tv) != REDIS_OK) {
        redisFree(c);
        return NULL;
    }
    return c;
}

/* Logs a Sentinel problem once until it changes (a retry loop calls us). */
static void sentinel_warn(struct ez_redis *r, const char *why)
{
    if (strcmp(why, r->sentinel_why) != 0)
        log_warn("Redis Sentinel: %s", why);
    snprintf(r->sentinel_why, sizeof r->sentinel_why, "%s", why);
}

/* Asks one Sentinel where the master is: 0 with host and *port, or -1
 * with why. The URL's credentials are offered to the Sentinel too; a
 * Sentinel without a password refuses AUTH, which is not an error. */
static int ask_sentinel(struct ez_redis *r, const struct ez_redis_host *s, struct timeval tv,
                        char *host, size_t hostlen, int *port, char *why, size_t whylen)
{
    const struct ez_redis_url *u = &r->url;
    redisContext *c = connect_tcp(s->name, s->port, tv);
    redisReply *rep = NULL;
    int rc = -1;
    if (!c || c->err) {
        snprintf(why, whylen, "%s:%d unreachable: %s", s->name, s->port,
                 c ? c->errstr : "out of memory");
        goto out;
    }
    if (u->password_set) {
        const char *with_user[] = { "AUTH", u->user, u->password };
        const char *without[] = { "AUTH", u->password };
        rep = u->user[0] ? redisCommandArgv(c, 3, with_user, NULL)
                         : redisCommandArgv(c, 2, without, NULL);
        if (!rep) {
            snprintf(why, whylen, "%s:%d: %s", s->name, s->port, c->errstr);
            goto out;
        }
        freeReplyObject(rep);
    }
    const char *ask[] = { "SENTINEL", "get-master-addr-by-name", u->master };
    rep = redisCommandArgv(c, 3, ask, NULL);
    if (!rep) {
        snprintf(why, whylen, "%s:%d: %s", s->name, s->port, c->errstr);
    } else if (rep->type == REDIS_REPLY_ERROR) {
        snprintf(why, whylen, "%s:%d refused: %.80s", s->name, s->port, rep->str);
    } else if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
               rep->element[0]->type != REDIS_REPLY_STRING ||
               rep->element[1]->type != REDIS_REPLY_STRING) {
        snprintf(why, whylen, "%s:%d does not know a master named %s", s->name, s->port,
                 u->master);
    } else {
        long p = strtol(rep->element[1]->str, NULL, 10);
        if (rep->element[0]->len == 0 || rep->element[0]->len >= hostlen || p < 1 || p > 65535) {
            snprintf(why, whylen, "%s:%d gave a bad master address", s->name, s->port);
        } else {
            memcpy(host, rep->element[0]->str, rep->element[0]->len + 1);
            *port = (int)p;
            rc = 0;
        }
    }
out:
    if (rep)
        freeReplyObject(rep);
    if (c)
        redisFree(c);
    return rc;
}

/* 1 when the connected node reports ROLE master. */
static int is_master(struct ez_redis *r)
{
    redisReply *rep = redisCommand(r->c, "ROLE");
    int ok = rep && rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 &&
             rep->element[0]->type == REDIS_REPLY_STRING && strcmp(rep->element[0]->str, "master") == 0;
    if (rep)
        freeReplyObject(rep);
    return ok;
}

/* Connects to the master the Sentinels name. The first Sentinel that
 * answers moves to the front of the list, so the next lookup asks it
 * first. */
static redisContext *connect_sentinel(struct ez_redis *r, struct timeval tv)
{
    struct ez_redis_url *u = &r->url;
    char host[EZ_REDIS_URL_HOST_MAX], why[2 * EZ_REDIS_URL_HOST_MAX + EZ_REDIS_URL_MASTER_MAX + 64] = "no Sentinel";
    int port = 0, found = -1;
    for (int i = 0; i < u->nhosts && found < 0; i++)
        if (ask_sentinel(r, &u->hosts[i], tv, host, sizeof host, &port, why, sizeof why) == 0)
            found = i;
    if (found < 0) {
        sentinel_warn(r, why);
        return NULL;
    }
    if (found > 0) {
        struct ez_redis_host first = u->hosts[found];
        memmove(&u->hosts[1], &u->hosts[0], (size_t)found * sizeof u->hosts[0]);
        u->hosts[0] = first;
    }
    char now[sizeof r->master];
    snprintf(now, sizeof now, "%s:%d", host, port);
    if (strcmp(now, r->master) != 0) {
        if (r->master[0])
            log_warn("Redis master %s moved from %s to %s", u->master, r->master, now);
        else
            log_info("Redis master %s is at %s", u->master, now);
        memcpy(r->master, now, sizeof now);
    }
    r->c = connect_tcp(host, port, tv);
    if (!r->c || r->c->err || setup(r) != 0)
        return NULL;
    if (!is_master(r)) {
        snprintf(why, sizeof why, "%s (named master of %s) is not a master yet", now, u->master);
        sentinel_warn(r, why);
        return NULL;
    }
    r->sentinel_why[0] = '\0';
    return r->c;
}

redisContext *ez_redis_get(struct ez_redis *r)
{
    if (r->c && !r->c->err && !r->stale)
        return r->c;
    ez_redis_reset(r);
    struct timeval tv = { r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000 };
    int ok;
    if (r->url.transport == EZ_REDIS_SENTINEL) {
        ok = connect_sentinel(r, tv) != NULL;
    } else {
        r->c = r->url.transport == EZ_REDIS_UNIX
                   ? redisConnectUnixWithTimeout(r->url.path, tv)
                   : redisConnectWithTimeout(r->url.hosts[0].name, r->url.hosts[0].port, tv);
        ok = r->c && !r->c->err && redisSetTimeout(r->c, tv) == REDIS_OK && setup(r) == 0;
    }
    if (!ok) {
        ez_metric_inc(EZ_M_redis_errors);
        log_debug("Redis connection failed: %s", r->c ? r->c->errstr : "no connection");
        ez_redis_reset(r);
        return NULL;
    }
    return r->c;
}

void ez_redis_note_error(struct ez_redis *r, const redisReply *rep)
{
    if (rep && rep->type == REDIS_REPLY_ERROR && rep->str &&
        strncmp(rep->str, "READONLY", 8) == 0 && !r->stale) {
        ez_metric_inc(EZ_M_redis_errors);
        log_warn("Redis answered READONLY: the node is no longer the master; reconnecting");
        r->stale = 1;
    }
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
    ez_redis_note_error(r, rep);
    return rep;
}
