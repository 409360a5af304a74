/* The body of POST /admin/route/explain, checked in one place: exactly one
 * of key_id and token, and the model. It must never echo the token. */
#ifndef EZ_VALIDATE_EXPLAIN_H
#define EZ_VALIDATE_EXPLAIN_H

#include <stdint.h>

#include "validate.h"

struct ez_explain_in {
    int64_t key_id;    /* 0 when the token is given */
    const char *token; /* NULL when key_id is given; points into the body */
    const char *model; /* points into the body */
};

/* Fills `in` from the body (which must outlive it). 0, or -1 with e set:
 * 400 naming the field. */
int ez_validate_explain(json_t *body, struct ez_explain_in *in, struct ez_verr *e)
    __attribute__((warn_unused_result));

#endif
