/* The PostgreSQL side of the projection: loaders that read the rows the
 * pure functions of projection.h need (parameterised SQL, bounded result
 * sets, keyset batches for streaming), and "units" that load one piece of
 * the contract and add what it owns and produces to a write set. Used by
 * the syncer (apply, full resync) and by workers (verify, explain). */
#ifndef EZ_STORE_PROJECTION_H
#define EZ_STORE_PROJECTION_H

#include <libpq-fe.h>
#include <stdint.h>

#include "config.h"
#include "db.h"
#include "projection.h"

/* ---- Row sets: the structs borrow their strings from what is kept here;
 * free with ez_*_rows_free (safe on a zeroed or already freed set). -------- */

struct ez_group_rows {
    PGresult *res;
    json_t *lists;        /* parsed model lists */
    const char **names;   /* model name pointers, for every group */
    struct ez_group_row *v;
    int n;
};

struct ez_api_key_rows {
    PGresult *res;
    char **clear;         /* decrypted credentials (wiped when freed) */
    struct ez_api_key_row *v;
    int n;
};

struct ez_binding_rows {
    PGresult *res;
    struct ez_binding_row *v;
    int n;
};

void ez_group_rows_free(struct ez_group_rows *g);
void ez_api_key_rows_free(struct ez_api_key_rows *k);
void ez_binding_rows_free(struct ez_binding_rows *b);

/* Loaders: EZ_DB_* status; on success the set may be empty. Ordered by id. */
int ez_store_groups_by_ids(struct ez_db *db, const int64_t *ids, int n, struct ez_group_rows *out)
    __attribute__((warn_unused_result));

/* Keys of the given groups plus the keys with the given ids, ordered by
 * (group_id, id). With cfg, api_key is decrypted with ez_secret_open (a
 * value that cannot be opened is logged by key id and projected as "");
 * without cfg the credential is not even read (api_key NULL). */
int ez_store_keys_load(struct ez_db *db, const struct ez_config *cfg, const int64_t *group_ids,
                     int ngroups, const int64_t *key_ids, int nkeys, struct ez_api_key_rows *out)
    __attribute__((warn_unused_result));

int ez_store_binding_by_id(struct ez_db *db, int64_t id, struct ez_binding_rows *out)
    __attribute__((warn_unused_result));
/* Bindings whose group_id is group_id, or (when public_model is not NULL)
 * whose public_model equals it. One row per distinct (namespace,
 * public_model) is enough for the callers, but all rows are returned. */
int ez_store_bindings_of_group(struct ez_db *db, int64_t group_id, struct ez_binding_rows *out)
    __attribute__((warn_unused_result));
int ez_store_bindings_of_model(struct ez_db *db, const char *public_model,
                             struct ez_binding_rows *out) __attribute__((warn_unused_result));

/* The name of model id (*name malloc'd, NULL when the row is gone). */
int ez_store_model_name(struct ez_db *db, int64_t id, char **name)
    __attribute__((warn_unused_result));
/* Groups with a key whose ban_until (unix seconds) is in (since, until]:
 * *ids malloc'd (free it), *n of them. */
int ez_store_unbanned_groups(struct ez_db *db, int64_t since, int64_t until, int64_t **ids, int *n)
    __attribute__((warn_unused_result));

/* ---- Units: each owns a piece of the contract and adds its entries to s.
 * EZ_DB_* status (EZ_DB_ERROR also on out of memory). ------------------- */

/* config:namespaces field name; name NULL = the whole hash. */
int ez_project_namespace(struct ez_db *db, struct ez_write_set *s, const char *name)
    __attribute__((warn_unused_result));
/* config:providers fields of every key of the groups and of every listed
 * key id (HDEL for a listed id that is gone). cfg as in ez_store_keys_load. */
int ez_project_providers(struct ez_db *db, const struct ez_config *cfg, struct ez_write_set *s,
                          const int64_t *group_ids, int ngroups, const int64_t *key_ids, int nkeys)
    __attribute__((warn_unused_result));
/* The whole route:group:<name> hash (deleted when no group has that name). */
int ez_project_route(struct ez_db *db, struct ez_write_set *s, const char *group_name, int64_t now)
    __attribute__((warn_unused_result));

enum { EZ_PROJECT_BINDING = 1, EZ_PROJECT_MODEL = 2 };
/* what = EZ_PROJECT_BINDING: the config:bindings field "<ns>.<pm>";
 * EZ_PROJECT_MODEL: the meta:models field of the same name. */
int ez_project_binding(struct ez_db *db, struct ez_write_set *s, const char *ns,
                        const char *public_model, int what, int64_t now)
    __attribute__((warn_unused_result));
/* The whole meta:models_meta hash, recomputed by streaming the whole
 * meta:models projection in batches; with whole_models, the whole
 * meta:models hash too (the fields streamed on the way). */
int ez_project_models_meta(struct ez_db *db, struct ez_write_set *s, int whole_models)
    __attribute__((warn_unused_result));
/* meta:features field name; name NULL = the whole hash. */
int ez_project_feature(struct ez_db *db, struct ez_write_set *s, const char *name)
    __attribute__((warn_unused_result));

/* ---- The whole projection, streamed (full resync, verify) ----------------
 * sink(arg, key, NULL, NULL) opens a key; sink(arg, key, field, value) adds
 * a field to the key just opened. Keys come once each, in this order:
 * config:namespaces, config:providers, route:group:<name> for every group
 * (by id), config:bindings, meta:models, meta:models_meta, meta:features. A
 * key opened with no field does not exist in Redis. Rows are read `batch`
 * at a time, so memory does not grow with the number of rows; run it inside
 * a REPEATABLE READ transaction for one consistent snapshot. Returns EZ_DB_*,
 * or EZ_STORE_STOPPED when the sink returned non-zero. */
typedef int (*ez_row_sink)(void *arg, const char *key, const char *field, const char *value);
enum { EZ_STORE_STOPPED = 100 };
int ez_store_stream(struct ez_db *db, const struct ez_config *cfg, int64_t now, int batch,
                  ez_row_sink sink, void *arg) __attribute__((warn_unused_result));

#endif
