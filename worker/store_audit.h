/* Reading audit_records for GET /admin/audit and GET /v1/audit: newest
 * first, cursor on (time, id), every filter served by an index. */
#ifndef EZ_STORE_AUDIT_H
#define EZ_STORE_AUDIT_H

#include <jansson.h>
#include <stdint.h>

#include "db.h"

struct ez_audit_query {
    const char *actor_type, *actor, *action, *resource, *resource_id, *request_id;
    const char *since, *until;  /* RFC 3339, validated by the caller */
    char before_time[24];       /* cursor: microseconds since the epoch, */
    char before_id[24];         /* and id; both "" for the first page */
    int limit;
};

/* Rows (up to limit + 1) as API objects, each with an internal "_cursor". */
int ez_store_audit_list(struct ez_db *db, const struct ez_audit_query *q, json_t **rows);

#endif
