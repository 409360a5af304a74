/* SQL of provider groups, api keys, presets and custom providers: reads
 * return an EZ_DB_* status, writes fill a struct ez_outcome; objects in
 * the API's shape with api_key always masked. Takes values already
 * validated and sealed. */
#ifndef EZ_STORE_PROVIDERS_H
#define EZ_STORE_PROVIDERS_H

#include <jansson.h>
#include <stdint.h>

#include "config.h"
#include "db.h"
#include "outcome.h"
#include "paging.h"

/* A provider group from a request. Strings point into the request body or
 * into `hold`; NULL means absent (create: default, update: unchanged). */
struct ez_group_in {
    const char *name;
    const char *type; /* one of the static type names */
    const char *base_url;
    int clear_base_url;
    const char *google_project;
    int clear_google_project;
    const char *google_location;
    int clear_google_location;
    json_t *models; /* owned: cleaned array of strings; NULL = absent */
    const char *status;
    json_t *hold;   /* owned: trimmed copies that the pointers refer to */
};
void ez_group_in_free(struct ez_group_in *in);

/* An api key from a request. `stored` is what goes into the api_key column
 * (the sealed credential), set by the handler; NULL = unchanged. */
struct ez_key_in {
    int64_t group_id; /* create only */
    const char *api_key; /* clear, from the body */
    const char *stored;
    long long weight;
    int has_weight;
    const char *status;
    int auto_ban;
    int has_auto_ban;
    const char *ban_reason;
    int clear_ban_reason;
    const char *ban_until; /* RFC 3339, normalised */
    int clear_ban_until;
    char ban_until_buf[40];
};

/* Applies the rules between the fields of a group update and the current
 * row (the row is locked while it runs). 0, or -1 with *e. */
typedef int (*ez_group_merge_fn)(struct ez_group_in *in, const json_t *current,
                                 struct ez_verr *e);

/* Refused: 409 name_taken. */
void ez_store_group_create(struct ez_db *db, const struct ez_group_in *in, json_t **out,
                           struct ez_outcome *o);
int ez_store_group_list(struct ez_db *db, const struct ez_page *pg, const char *status,
                     const char *type, json_t **rows) __attribute__((warn_unused_result));
/* The row as PostgreSQL's JSON text (malloc'd), *out NULL when missing. */
int ez_store_group_get(struct ez_db *db, int64_t id, char **out)
    __attribute__((warn_unused_result));
/* One transaction: lock, merge(in, current), update. before and after are
 * set when done. Refused: not found, merge's refusal, 409 name_taken. */
void ez_store_group_update(struct ez_db *db, int64_t id, struct ez_group_in *in,
                           ez_group_merge_fn merge, json_t **before, json_t **after,
                           struct ez_outcome *o);
/* One transaction. Without cascade, a group with keys or bindings is left
 * alone: refused, 409 group_in_use. With cascade its bindings and keys go
 * too; *key_ids lists the deleted keys and *binding_ids the deleted
 * bindings (possibly empty). Set when done, with *before. Refused also:
 * not found. */
void ez_store_group_delete(struct ez_db *db, int64_t id, int cascade, json_t **before,
                           json_t **key_ids, json_t **binding_ids, struct ez_outcome *o);

/* Refused: 422 when group_id names no group. */
void ez_store_key_create(struct ez_db *db, const struct ez_config *cfg,
                         const struct ez_key_in *in, json_t **out, struct ez_outcome *o);
/* group_id 0 = any group; status NULL = any. */
int ez_store_key_list(struct ez_db *db, const struct ez_config *cfg, const struct ez_page *pg,
                   int64_t group_id, const char *status, json_t **rows)
    __attribute__((warn_unused_result));
int ez_store_key_get(struct ez_db *db, const struct ez_config *cfg, int64_t id, json_t **out)
    __attribute__((warn_unused_result));
/* Refused: not found. */
void ez_store_key_update(struct ez_db *db, const struct ez_config *cfg, int64_t id,
                         const struct ez_key_in *in, json_t **before, json_t **after,
                         struct ez_outcome *o);
void ez_store_key_delete(struct ez_db *db, const struct ez_config *cfg, int64_t id,
                         json_t **before, struct ez_outcome *o);

/* Preset and custom: the group and its first key in one transaction.
 * Refused: 409 name_taken, leaving nothing behind. */
void ez_store_provider_create(struct ez_db *db, const struct ez_config *cfg,
                              const struct ez_group_in *g, const struct ez_key_in *k,
                              json_t **group, json_t **key, struct ez_outcome *o);

#endif
