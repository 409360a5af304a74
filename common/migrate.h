/* Numbered SQL migrations compiled into the binary (migrations/NNN_*.sql),
 * applied in order under a PostgreSQL advisory lock and recorded in
 * schema_migrations, so several instances may start at once. */
#ifndef EZ_MIGRATE_H
#define EZ_MIGRATE_H

#include "db.h"

struct ez_migration { int version; const char *name; const char *sql; };
extern const struct ez_migration ez_migrations[];
extern const int ez_migrations_count;

/* Applies every pending migration; returns how many were applied, or -1
 * (logged) on failure. */
int ez_migrate(struct ez_db *db) __attribute__((warn_unused_result));

#endif
