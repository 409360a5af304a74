/* Start-up upgrade of master rows that predate digests: the supervisor
 * replaces each plaintext legacy_key by its SHA-256 digest and display
 * prefix and erases the plaintext, before any worker can serve. */
#ifndef EZ_LEGACY_H
#define EZ_LEGACY_H

#include "config.h"

/* Connects with pg_dsn and upgrades every such row. Idempotent, safe with
 * several instances starting at once. 0, or -1 when PostgreSQL failed (the
 * rows left are upgraded at the next start). */
int ez_legacy_upgrade_masters(const struct ez_config *cfg) __attribute__((warn_unused_result));

#endif
