/* The rules of a namespace (docs/schema.md), in one place. */
#ifndef EZ_VALIDATE_NAMESPACE_H
#define EZ_VALIDATE_NAMESPACE_H

#include "store_namespaces.h"
#include "validate.h"

/* Fills `in` from a create (name required) or update body (name fixed by
 * the path). Pointers refer into body. */
int ez_validate_namespace(json_t *body, int create, struct ez_namespace_in *in,
                          struct ez_verr *e) __attribute__((warn_unused_result));

#endif
