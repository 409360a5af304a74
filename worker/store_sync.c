/* The outbox and the full-resync runs, as the admin API shows them. */
#include "store_sync.h"

#include <stdio.h>

#define OUTBOX_JSON                                                                       \
    "json_build_object('id', id, 'resource', resource, 'op', op, 'resource_id', "        \
    "resource_id, 'payload', payload, 'attempts', attempts, 'next_attempt_at', "          \
    EZ_SQL_TS("next_attempt_at") ", 'last_error', last_error, 'status', status, "        \
    "'created_at', " EZ_SQL_TS("created_at") ", 'updated_at', " EZ_SQL_TS("updated_at") ")"

#define RUN_JSON                                                                          \
    "json_build_object('id', id, 'kind', kind, 'status', status, 'requested_at', "       \
    EZ_SQL_TS("requested_at") ", 'started_at', " EZ_SQL_TS("started_at")                  \
    ", 'finished_at', " EZ_SQL_TS("finished_at") ", 'error', error)"

int ez_store_outbox_list(struct ez_db *db, const struct ez_page *pg, const char *status,
                      json_t **rows)
{
    struct ez_page_sql ps;
    ez_page_sql(pg, &ps);
    const char *p[] = { ps.after, ps.limit, status };
    return ez_db_json_rows(db, rows,
                           "SELECT " OUTBOX_JSON " FROM sync_outbox WHERE id > $1 AND "
                           "($3::text IS NULL OR status = $3) ORDER BY id LIMIT $2", 3, p);
}

void ez_store_outbox_retry(struct ez_db *db, const char *id, json_t **out, struct ez_outcome *o)
{
    const char *p[] = { id };
    ez_outcome_row(db, o, out,
                   "UPDATE sync_outbox SET status = 'pending', next_attempt_at = now() "
                   "WHERE id = $1 RETURNING " OUTBOX_JSON, 1, p);
}

int ez_store_outbox_counts(struct ez_db *db, json_t **out)
{
    return ez_db_json_row(db, out,
                          "SELECT json_build_object("
                          "'pending', count(*) FILTER (WHERE status = 'pending'), "
                          "'failed', count(*) FILTER (WHERE status = 'failed'), "
                          "'oldest_pending_at', " EZ_SQL_TS("min(created_at) FILTER (WHERE status = 'pending')")
                          ") FROM sync_outbox", 0, NULL);
}

void ez_store_sync_run_new(struct ez_db *db, json_t **out, struct ez_outcome *o)
{
    int rc = ez_outcome_begin(db, o);
    if (rc == EZ_DB_OK)
        rc = ez_db_json_row(db, out, "INSERT INTO sync_runs (kind, status) VALUES ('full', "
                            "'pending') RETURNING " RUN_JSON, 0, NULL);
    if (rc == EZ_DB_OK && !*out)
        rc = EZ_DB_ERROR;
    if (!ez_outcome_end(db, rc, o))
        ez_outcome_drop(out, NULL, NULL);
}

int ez_store_sync_run_last(struct ez_db *db, json_t **out)
{
    return ez_db_json_row(db, out,
                          "SELECT " RUN_JSON " FROM sync_runs ORDER BY id DESC LIMIT 1", 0, NULL);
}
