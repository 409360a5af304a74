/* Every rule of provider groups and api keys (docs/providers.md,
 * docs/api.md), in one place: the bodies of create, update, preset and
 * custom, the merge of an update with the current row, and the list
 * filters. */
#ifndef EZ_VALIDATE_PROVIDER_H
#define EZ_VALIDATE_PROVIDER_H

#include <stdint.h>

#include "store_providers.h"
#include "validate.h"

/* The 13 provider types, NULL-terminated. */
extern const char *const ez_provider_types[];

/* Fills `in` from a create body (name, type, models required; the rules
 * between fields applied) or an update body (all optional; the rules
 * between fields wait for ez_group_merge). On failure `in` may hold
 * memory: ez_group_in_free() it either way. */
int ez_validate_group(json_t *body, int create, struct ez_group_in *in, struct ez_verr *e)
    __attribute__((warn_unused_result));
/* The rules between fields of an update, against the current row (API
 * shape): base_url required when the resulting type is compatible;
 * google_location `global` when the resulting type is a Vertex type and
 * the resulting location is empty. Matches ez_group_merge_fn. */
int ez_group_merge(struct ez_group_in *in, const json_t *current, struct ez_verr *e);

/* Fills `in` from an api key create body (group_id, api_key required) or
 * update body (group_id cannot change). Strings point into body. */
int ez_validate_api_key(json_t *body, int create, struct ez_key_in *in, struct ez_verr *e)
    __attribute__((warn_unused_result));

/* POST /admin/providers/preset and /custom: the group with the preset's
 * defaults (or type compatible) and its first key. */
int ez_validate_preset(json_t *body, struct ez_group_in *g, struct ez_key_in *k,
                       struct ez_verr *e) __attribute__((warn_unused_result));
int ez_validate_custom(json_t *body, struct ez_group_in *g, struct ez_key_in *k,
                       struct ez_verr *e) __attribute__((warn_unused_result));

/* List filters from the query string (NULL = not given). *type_out is the
 * normalised type; *group_id 0 when not given. */
int ez_validate_group_filters(const char *status, const char *type, const char **type_out,
                              struct ez_verr *e) __attribute__((warn_unused_result));
int ez_validate_key_filters(const char *group_id, const char *status, int64_t *gid,
                            struct ez_verr *e) __attribute__((warn_unused_result));
/* ?cascade=true|false (absent = false). */
int ez_validate_cascade(const char *v, int *cascade, struct ez_verr *e)
    __attribute__((warn_unused_result));

#endif
