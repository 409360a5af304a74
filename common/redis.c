/* Redis connection helper. Parses redis_url itself so that the config
 * validator and the connection agree on one grammar. */
#include "redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "log.h"
#include "metrics.h"

struct ez_redis {
    char host[256];
    char path[256];
    char password[256];
    int port;
    int db;
    int timeout_ms;
    redisContext *c;
};


static int parse_url(struct ez_redis *r, const char *url)
{
    r->port = 6379;
    if (strncmp(url, "unix://", 7) == 0) {
        const char *p = url + 7, *q = strchr(p, '?');
        size_t n = q ? (size_t)(q - p) : strlen(p);
        if (n == 0 || n >= sizeof r->path)
            return -1;
        memcpy(r->path, p, n);
        if (q && sscanf(q, "?db=%d", &r->db) != 1)
            return -1;
        return 0;
    }
    if (strncmp(url, "redis://", 8) != 0)
        return -1;
    const char *p = url + 8;
    const char *at = strchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pw = colon ? colon + 1 : p;
        size_t n = (size_t)(at - pw);
        if (n >= sizeof r->password)
            return -1;
        memcpy(r->password, pw, n);
        p = at + 1;
    }
    const char *end = p + strcspn(p, "/");
    const char *hend = end;
    if (*p == '[') {
        const char *rb = memchr(p, ']', (size_t)(end - p));
        if (!rb)
            return -1;
        if ((size_t)(rb - p - 1) >= sizeof r->host)
            return -1;
        memcpy(r->host, p + 1, (size_t)(rb - p - 1));
        if (rb + 1 < end && rb[1] == ':')
            r->port = atoi(rb + 2);
    } else {
        const char *colon = memchr(p, ':', (size_t)(end - p));
        if (colon) {
            hend = colon;
            r->port = atoi(colon + 1);
        }
        if ((size_t)(hend - p) >= sizeof r->host || hend == p)
            return -1;
        memcpy(r->host, p, (size_t)(hend - p));
    }
    if (*end == '/' && end[1])
        r->db = atoi(end + 1);
    return r->port > 0 && r->port < 65536 && r->db >= 0 ? 0 : -1;
}

struct ez_redis *ez_redis_new(const char *url, int timeout_ms)
{
    struct ez_redis *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    if (parse_url(r, url) != 0) {
        log_error("invalid redis_url");
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
    free(r);
}

static int setup(struct ez_redis *r)
{
    char db[16];
    snprintf(db, sizeof db, "%d", r->db);
    if (r->password[0]) {
        redisReply *rep = redisCommand(r->c, "AUTH %s", r->password);
        int ok = rep && rep->type != REDIS_REPLY_ERROR;
        if (rep)
            freeReplyObject(rep);
        if (!ok)
            return -1;
    }
    if (r->db) {
        redisReply *rep = redisCommand(r->c, "SELECT %s", db);
        int ok = rep && rep->type != REDIS_REPLY_ERROR;
        if (rep)
            freeReplyObject(rep);
        if (!ok)
            return -1;
    }
    return 0;
}

redisContext *ez_redis_get(struct ez_redis *r)
{
    if (r->c && !r->c->err)
        return r->c;
    ez_redis_reset(r);
    struct timeval tv = { r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000 };
    r->c = r->path[0] ? redisConnectUnixWithTimeout(r->path, tv)
                      : redisConnectWithTimeout(r->host, r->port, tv);
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
