/* SQL of provider groups, api keys, presets and custom providers: EZ_DB_*
 * status plus the outcome in *st; objects in the API's shape with api_key
 * always masked. Takes values already validated and sealed. */
#ifndef EZ_STORE_PROVIDERS_H
#define EZ_STORE_PROVIDERS_H

#include <jansson.h>
#include <stdint.h>

#include "config.h"
#include "db.h"
#include "paging.h"
#include "validate.h"

/* What a request to the store came to, besides the EZ_DB_* status. */
enum ez_store_outcome {
    EZ_ST_DONE = 0,
    EZ_ST_NOT_FOUND,  /* the group or key of the path does not exist */
    EZ_ST_NAME_TAKEN, /* provider group name already used */
    EZ_ST_NO_GROUP,   /* api key create: group_id names no group */
    EZ_ST_IN_USE,     /* group delete without cascade: keys or bindings */
    EZ_ST_INVALID     /* update: the merged row breaks a rule (see *e) */
};

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

int ez_store_group_create(struct ez_db *db, const struct ez_group_in *in, json_t **out, int *st)
    __attribute__((warn_unused_result));
int ez_store_group_list(struct ez_db *db, const struct ez_page *pg, const char *status,
                     const char *type, json_t **rows) __attribute__((warn_unused_result));
int ez_store_group_get(struct ez_db *db, int64_t id, json_t **out)
    __attribute__((warn_unused_result));
/* One transaction: lock, merge(in, current) (EZ_ST_INVALID with *e when it
 * fails), update. before/after set on EZ_ST_DONE. */
int ez_store_group_update(struct ez_db *db, int64_t id, struct ez_group_in *in,
                       ez_group_merge_fn merge, struct ez_verr *e, json_t **before,
                       json_t **after, int *st) __attribute__((warn_unused_result));
/* One transaction. Without cascade, a group with keys or bindings is left
 * alone: EZ_ST_IN_USE with *nkeys and *nbindings. With cascade its bindings
 * and keys go too; *key_ids lists the deleted keys and *binding_ids the
 * deleted bindings (both set on EZ_ST_DONE, possibly empty). *before is
 * set on EZ_ST_DONE and EZ_ST_IN_USE. */
int ez_store_group_delete(struct ez_db *db, int64_t id, int cascade, json_t **before,
                       long long *nkeys, long long *nbindings, json_t **key_ids,
                       json_t **binding_ids, int *st) __attribute__((warn_unused_result));

int ez_store_key_create(struct ez_db *db, const struct ez_config *cfg, const struct ez_key_in *in,
                     json_t **out, int *st) __attribute__((warn_unused_result));
/* group_id 0 = any group; status NULL = any. */
int ez_store_key_list(struct ez_db *db, const struct ez_config *cfg, const struct ez_page *pg,
                   int64_t group_id, const char *status, json_t **rows)
    __attribute__((warn_unused_result));
int ez_store_key_get(struct ez_db *db, const struct ez_config *cfg, int64_t id, json_t **out)
    __attribute__((warn_unused_result));
int ez_store_key_update(struct ez_db *db, const struct ez_config *cfg, int64_t id,
                     const struct ez_key_in *in, json_t **before, json_t **after, int *st)
    __attribute__((warn_unused_result));
int ez_store_key_delete(struct ez_db *db, const struct ez_config *cfg, int64_t id, json_t **before,
                     int *st) __attribute__((warn_unused_result));

/* Preset and custom: the group and its first key in one transaction.
 * EZ_ST_NAME_TAKEN leaves nothing behind. */
int ez_store_provider_create(struct ez_db *db, const struct ez_config *cfg,
                          const struct ez_group_in *g, const struct ez_key_in *k,
                          json_t **group, json_t **key, int *st)
    __attribute__((warn_unused_result));

#endif
