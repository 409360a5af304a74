/* Verify: compares every key, field and value of the projection of
 * PostgreSQL with Redis (docs/redis.md; meta:sync and TTLs are not
 * compared), and reports the differences by resource. Used by GET
 * /admin/sync/verify and `ezapi verify`. Reads one consistent PostgreSQL
 * snapshot. */
#ifndef EZ_VERIFY_H
#define EZ_VERIFY_H

#include <jansson.h>

#include "config.h"
#include "db.h"
#include "redis.h"

/* At most this many differences are listed per resource (the count of all
 * of them is in "counts"). */
#define EZ_VERIFY_MAX_LISTED 100

/* On success (EZ_DB_OK) *report = {"equal": bool, "differences":
 * {"<resource>": [{"key","field","expected","actual"}]}, "counts":
 * {"<resource>": n}, "keys_checked": n}. EZ_DB_UNAVAILABLE with *why when
 * PostgreSQL or Redis cannot be read. */
int ez_verify(struct ez_db *db, struct ez_redis *redis, const struct ez_config *cfg,
              json_t **report, const char **why) __attribute__((warn_unused_result));

#endif
