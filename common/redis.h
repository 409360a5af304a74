/* A Redis connection from redis_url (grammar in redis_url.h), with timeouts
 * and reconnect on the next call after a failure; through Sentinels to the
 * current master with redis-sentinel://. Used by the syncer to write and
 * by workers and `ezapi verify` to read and check. */
#ifndef EZ_REDIS_H
#define EZ_REDIS_H

#include <hiredis/hiredis.h>

struct ez_redis;

struct ez_redis *ez_redis_new(const char *url, int timeout_ms);
void ez_redis_free(struct ez_redis *r);
/* The connected context, connecting (AUTH, SELECT) first if needed; NULL
 * while Redis is unreachable. */
redisContext *ez_redis_get(struct ez_redis *r);
/* Drops the connection after an I/O error so the next get reconnects. */
void ez_redis_reset(struct ez_redis *r);
/* A caller that reads replies itself (pipelines, MULTI/EXEC) passes each
 * error reply here: a READONLY (the node was demoted to a replica) makes
 * the next get drop the connection and find the master again. The
 * context stays valid until then. */
void ez_redis_note_error(struct ez_redis *r, const redisReply *rep);
/* Runs one command (argv form); NULL on I/O failure (connection dropped).
 * An error reply is returned as such; the caller frees with freeReplyObject. */
redisReply *ez_redis_cmd(struct ez_redis *r, int argc, const char **argv, const size_t *lens);

#endif
