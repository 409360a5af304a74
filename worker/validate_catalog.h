/* The rules of models, bindings and features (docs/catalog.md,
 * docs/api.md), in one place. Pure functions over the request body: no SQL,
 * no I/O. What needs rows (existence, uniqueness) is decided by
 * store_catalog.c. */
#ifndef EZ_VALIDATE_CATALOG_H
#define EZ_VALIDATE_CATALOG_H

#include "store_catalog.h"
#include "validate.h"

/* Fills `in` from a model create (name required) or update body (partial;
 * NULL body = no change). Strings point into body. */
int ez_validate_model(json_t *body, int create, struct ez_model_in *in, struct ez_verr *e)
    __attribute__((warn_unused_result));

/* ?name= of GET /admin/models (NULL = absent). */
int ez_validate_model_filter(const char *name, struct ez_verr *e)
    __attribute__((warn_unused_result));

/* Fills `in` from a binding create (namespace, public_model, group_id
 * required; defaults filled, selector checked) or update body (partial; the
 * merged row is checked by ez_binding_check_merged). Strings point into
 * body. */
int ez_validate_binding(json_t *body, int create, struct ez_binding_in *in, struct ez_verr *e)
    __attribute__((warn_unused_result));
/* ez_binding_check for store_binding_update. Picks
 * the selector value of the merged row (as given; the merged public model
 * when given as null or ""; else the stored one, even when the public model
 * changes) and, when the update gives a selector type or value, checks it
 * against the merged selector type. */
int ez_binding_check_merged(const json_t *current, struct ez_binding_in *in, struct ez_verr *e);
/* ?namespace= and ?group_id= of GET /admin/bindings (either may be NULL);
 * *group_id = 0 when absent. */
int ez_validate_binding_filters(const char *ns, const char *group_id, int64_t *gid,
                                struct ez_verr *e) __attribute__((warn_unused_result));
/* The selector value rule alone: a regex must be one Go's regexp accepts
 * (common/selector.h). */
int ez_validate_selector(const char *type, const char *value, struct ez_verr *e)
    __attribute__((warn_unused_result));

/* Splits a PUT /admin/features body into *set (new object name -> string)
 * and *del (new array of names given as null). The caller decrefs both. */
int ez_validate_features(json_t *body, json_t **set, json_t **del, struct ez_verr *e)
    __attribute__((warn_unused_result));

#endif
