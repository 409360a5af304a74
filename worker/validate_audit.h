/* The query of GET /admin/audit and GET /v1/audit, checked in one place:
 * six exact filters, since and until, limit and the cursor. Pure: it
 * reads the decoded query and writes no reply. */
#ifndef EZ_VALIDATE_AUDIT_H
#define EZ_VALIDATE_AUDIT_H

#include <event2/keyvalq_struct.h>

#include "store_audit.h"
#include "validate.h"

#define EZ_AUDIT_MAX_FILTER 256 /* bytes of one filter value */
#define EZ_AUDIT_MAX_LIMIT 200
#define EZ_AUDIT_DEFAULT_LIMIT 50

/* Fills q from the query (its strings point into query). Refusals are
 * 400 invalid_request naming the parameter. */
int ez_validate_audit_query(const struct evkeyvalq *query, struct ez_audit_query *q,
                            struct ez_verr *e) __attribute__((warn_unused_result));

#endif
