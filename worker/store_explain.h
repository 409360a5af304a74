/* What route explain reads: a child key's current secret digest from
 * PostgreSQL, and the Redis state a data plane would read (docs/redis.md).
 * Reads only; nothing here writes PostgreSQL or Redis, or sees a token. */
#ifndef EZ_STORE_EXPLAIN_H
#define EZ_STORE_EXPLAIN_H

#include <stdint.h>

#include "db.h"
#include "explain.h"
#include "redis.h"

enum { EZ_EXPLAIN_OK = 0, EZ_EXPLAIN_UNAVAILABLE = 1, EZ_EXPLAIN_ERROR = 2 };

/* The key's master, stored status and current digest (key_digests row with
 * valid_until NULL; "" when it has none, e.g. revoked). EZ_DB_* status;
 * *found = 0 when no key has that id. */
int ez_store_explain_key(struct ez_db *db, int64_t key_id, int *found, int64_t *master_id,
                      char status[16], char digest[65]) __attribute__((warn_unused_result));

/* Reads auth:token:<digest> (digest NULL: nothing to read), its master's
 * hash, config:namespaces, resolves the namespace into ns, then the binding
 * snapshot and, for its candidates' groups, their provider snapshots (an
 * HSCAN of config:providers filtered on group_id, upstream credentials
 * dropped) and route:group hashes. The whole read is retried (3 times at
 * most) until meta:sync's version is the same before and after it, so the
 * values belong to one state. EZ_EXPLAIN_OK, or _UNAVAILABLE when Redis
 * cannot be reached, or _ERROR on an error reply (logged). */
int ez_store_explain_read(struct ez_redis *r, const char *prefix, const char *digest,
                       struct ez_explain_state *st, struct ez_explain_ns *ns)
    __attribute__((warn_unused_result));

#endif
