/* SQL of an import (common/import.c) and of an export (common/export.c).
 * An import's statements run inside the one transaction the caller opened
 * with ez_db_begin. Parameters only, never a
 * string built from input. Each returns an EZ_DB_* status. */
#ifndef EZ_STORE_IMPORT_H
#define EZ_STORE_IMPORT_H

#include <jansson.h>
#include <stdint.h>

#include "db.h"

/* Lets each statement of the transaction run up to EZ_IMPORT_STATEMENT_S
 * seconds: an import writes its keys with a few statements, each as long
 * as the file is big. */
#define EZ_IMPORT_STATEMENT_S 600
int ez_si_long_statements(struct ez_db *db) __attribute__((warn_unused_result));

/* Creates the namespace unless it exists: *created 1 or 0, *id its id. */
int ez_si_namespace(struct ez_db *db, const char *name, int *created, int64_t *id)
    __attribute__((warn_unused_result));

/* The provider group named name: *id (0 when none). */
int ez_si_group_find(struct ez_db *db, const char *name, int64_t *id)
    __attribute__((warn_unused_result));
/* g: {name, type, base_url, models: [..], status, google_project,
 * google_location}. Inserts (id 0, *id set)
 * or updates group id in place and deletes its api keys (overwrite). */
int ez_si_group_write(struct ez_db *db, json_t *g, int64_t *id)
    __attribute__((warn_unused_result));
int ez_si_api_key_add(struct ez_db *db, int64_t group_id, const char *sealed, long long weight,
                      const char *status, int auto_ban) __attribute__((warn_unused_result));

/* Masters named in names (a JSON array), as {name: {id, group, epoch,
 * namespaces, default_namespace}} in *out. */
int ez_si_masters_find(struct ez_db *db, json_t *names, json_t **out)
    __attribute__((warn_unused_result));
/* m: {name, group, status, max_child_keys, global_qps, namespaces,
 * default_namespace}. Inserts with the key's digest and display prefix
 * (*id set), or updates master *id in place when *id is not 0 (the master
 * key stays). */
int ez_si_master_write(struct ez_db *db, json_t *m, const char *digest, const char *prefix,
                       int64_t *id) __attribute__((warn_unused_result));

/* Child keys, staged in batches then written at once (docs/migrate.md,
 * "Limits"): ez_si_keys_stage adds rows (a JSON array of {master_id,
 * group_name, digest, alias, key_prefix, name, status, issued_at_epoch,
 * default_namespace, namespaces, model_limits, allow_ips, expires_at,
 * quota_limit, quota_used, unlimited_quota}) to a staging table of the
 * transaction, created by its first call; each row is matched against the
 * digests there are, a new one gets its key id. ez_si_keys_write then
 * updates the existing keys (overwrite) or leaves them, inserts the others
 * with their digests; counts in *created and *existing; *masters the ids
 * of masters whose keys changed (a JSON array). */
int ez_si_keys_stage(struct ez_db *db, json_t *rows, int first)
    __attribute__((warn_unused_result));
int ez_si_keys_write(struct ez_db *db, int overwrite, long long *created, long long *existing,
                     json_t **masters) __attribute__((warn_unused_result));

/* A binding (namespace, public_model, exact selector on model): *result 1
 * created, 2 overwritten, 0 left as it was. */
int ez_si_binding(struct ez_db *db, const char *ns, const char *public_model, const char *model,
                  int64_t group_id, const char *status, int overwrite, int *result)
    __attribute__((warn_unused_result));
/* The names of namespaces (a JSON array) that have no binding: *out. */
int ez_si_unbound(struct ez_db *db, json_t *names, json_t **out)
    __attribute__((warn_unused_result));

/* A sync job for the syncer, committed with the import (sync_outbox). */
int ez_si_sync_later(struct ez_db *db, const char *resource, int64_t id, json_t *payload)
    __attribute__((warn_unused_result));
/* The import's audit record, committed with it; rec's keys are the columns
 * of audit_records. */
int ez_si_audit(struct ez_db *db, json_t *rec) __attribute__((warn_unused_result));

/* The state an export writes, read in one REPEATABLE READ snapshot:
 * {"groups": [{id, name, type, base_url, models, status, keys: [{api_key
 * (as stored), weight, status, auto_ban}]}], "masters": [...], "keys":
 * [...], "bindings": [...]}, each sorted by name (keys by master, then
 * digest). Revoked keys are left out. */
int ez_si_export(struct ez_db *db, json_t **out) __attribute__((warn_unused_result));

#endif
