/* Writing audit records (SPEC section 8) to audit_records. A record is a
 * JSON object whose keys are the table's columns; `producer` (the unique
 * producer identity) makes every insert idempotent, so a replay after a
 * crash writes nothing twice. */
#ifndef EZ_AUDIT_STORE_H
#define EZ_AUDIT_STORE_H

#include <jansson.h>

#include "db.h"
#include "proto/frame.h"

/* Inserts every record of the JSON array in one statement. EZ_DB_*. */
int ez_audit_store_insert(struct ez_db *db, json_t *records) __attribute__((warn_unused_result));
/* "<instance>-<slot>-<generation>-<seq>" of a stamped frame. */
void ez_audit_producer(const struct ez_frame *f, char out[80]);

#endif
