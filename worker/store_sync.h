/* SQL behind the /admin/sync routes: the outbox and full-resync runs. */
#ifndef EZ_STORE_SYNC_H
#define EZ_STORE_SYNC_H

#include <jansson.h>

#include "db.h"
#include "outcome.h"
#include "paging.h"

int ez_store_outbox_list(struct ez_db *db, const struct ez_page *p, const char *status,
                      json_t **rows);
/* Puts a row back to pending, due now. Refused: not found. */
void ez_store_outbox_retry(struct ez_db *db, const char *id, json_t **out, struct ez_outcome *o);
/* {"pending": n, "failed": n, "oldest_pending_at": ts|null} */
int ez_store_outbox_counts(struct ez_db *db, json_t **out);
/* A new pending full-resync run. */
void ez_store_sync_run_new(struct ez_db *db, json_t **out, struct ez_outcome *o);
/* The newest run, or NULL. */
int ez_store_sync_run_last(struct ez_db *db, json_t **out);

#endif
