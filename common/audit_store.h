/* Writing audit records (docs/operations.md, "Audit log") to audit_records.
 * A worker turns a record into one line of COPY text (the payload of its
 * audit job); the logger appends the job's producer identity and writes a
 * batch of lines with one COPY. The unique producer makes every write
 * idempotent, so a replay after a crash writes nothing twice. */
#ifndef EZ_AUDIT_STORE_H
#define EZ_AUDIT_STORE_H

#include <jansson.h>

#include "db.h"
#include "proto/frame.h"

/* The record (a JSON object whose keys are the table's columns; missing
 * ones take their defaults) as COPY text columns without the producer and
 * without a line end. Malloc'd; NULL when out of memory. */
char *ez_audit_row(json_t *rec);

struct ez_audit_batch {
    char *text; /* lines of COPY text, producer last */
    size_t len, cap;
    int rows;
    int sent_rc;       /* of ez_audit_batch_send */
    char sent_state[6];
};

/* Adds a row of ez_audit_row with its producer. -1 when the row does not
 * have that shape (it is not added) or memory ran out. */
int ez_audit_batch_add(struct ez_audit_batch *b, const char *row, size_t len,
                       const char *producer);
/* Writes the batch, all rows in one COPY, skipping rows whose producer is
 * already there. A row PostgreSQL refuses (bad data, SQLSTATE class 22 or
 * 23) is dropped, logged and counted in *dropped rather than blocking the
 * others. EZ_DB_OK, or EZ_DB_UNAVAILABLE on any other failure (some rows
 * may be written; write the batch again later). */
int ez_audit_batch_write(struct ez_db *db, struct ez_audit_batch *b, int *dropped)
    __attribute__((warn_unused_result));
/* The same in two halves, so that PostgreSQL loads one batch while the
 * caller prepares or sends others (over other connections): send starts
 * the COPY and sends the rows; finish waits for the outcome on the same
 * connection and returns ez_audit_batch_write's. */
void ez_audit_batch_send(struct ez_db *db, struct ez_audit_batch *b);
int ez_audit_batch_finish(struct ez_db *db, struct ez_audit_batch *b, int *dropped)
    __attribute__((warn_unused_result));
/* Waits for a batch sent and not finished, without writing it again
 * (it is to be read again), and clears it. */
void ez_audit_batch_forget(struct ez_db *db, struct ez_audit_batch *b);
void ez_audit_batch_clear(struct ez_audit_batch *b);
void ez_audit_batch_free(struct ez_audit_batch *b);

/* "<instance>-<slot>-<generation>-<seq>" of a stamped frame. */
void ez_audit_producer(const struct ez_frame *f, char out[80]);

#endif
