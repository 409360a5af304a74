/* Outbox retries. A failed try sets next_attempt_at = now + interval *
 * 2^(attempts - 1), capped at 5 minutes; at sync_outbox_max_retries the
 * row becomes 'failed' (kept for the API and metrics, retryable by hand). */
#include "outbox_retry.h"

#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "metrics.h"

#define MAX_BACKOFF_MS (5LL * 60 * 1000)

static int settle(struct ez_db *db, const char *id, int attempts, const struct ez_config *cfg,
                  const char *error)
{
    long long delay = cfg->sync_outbox_interval;
    for (int i = 1; i < attempts && delay < MAX_BACKOFF_MS; i++)
        delay *= 2;
    if (delay > MAX_BACKOFF_MS)
        delay = MAX_BACKOFF_MS;
    int failed = attempts >= cfg->sync_outbox_max_retries;
    char att[16], ms[24];
    snprintf(att, sizeof att, "%d", attempts);
    snprintf(ms, sizeof ms, "%lld", delay);
    const char *p[] = { id, att, ms, failed ? "failed" : "pending", error };
    if (failed)
        ez_metric_inc(EZ_M_sync_failed);
    return ez_db_cmd(db,
                     "UPDATE sync_outbox SET attempts = $2::int, status = $4, last_error = $5, "
                     "next_attempt_at = now() + ($3 || ' milliseconds')::interval WHERE id = $1",
                     5, p);
}

/* Rows are claimed in a short transaction that pushes their next attempt
 * out by a lease, so another instance skips them and none is lost if this
 * process dies mid-pass; each row is then applied in its own transactions,
 * taking the apply locks one job at a time. */
#define CLAIM_LEASE "60 seconds"

int ez_outbox_pass(struct ez_sync_ctx *ctx, const struct ez_config *cfg)
{
    char batch[16];
    snprintf(batch, sizeof batch, "%lld", cfg->sync_outbox_batch_size);
    const char *p[] = { batch };
    PGresult *res;
    int rc = ez_db_exec(ctx->db, &res,
                        "UPDATE sync_outbox SET next_attempt_at = now() + interval '" CLAIM_LEASE "' "
                        "WHERE id IN (SELECT id FROM sync_outbox WHERE status = 'pending' "
                        "AND next_attempt_at <= now() ORDER BY next_attempt_at, id "
                        "LIMIT $1::int FOR UPDATE SKIP LOCKED) "
                        "RETURNING id, resource, resource_id, payload::text, attempts", 1, p);
    if (rc != EZ_DB_OK) {
        PQclear(res);
        return -1;
    }
    int applied = 0, n = PQntuples(res);
    for (int i = 0; i < n && rc == EZ_DB_OK; i++) {
        const char *id = PQgetvalue(res, i, 0);
        int a = ez_sync_apply(ctx, PQgetvalue(res, i, 1), PQgetvalue(res, i, 3),
                              atoll(PQgetvalue(res, i, 2)));
        if (a == EZ_APPLY_OK) {
            const char *q[] = { id };
            rc = ez_db_cmd(ctx->db, "DELETE FROM sync_outbox WHERE id = $1", 1, q);
            applied++;
            ez_metric_inc(EZ_M_sync_applied);
        } else if (a == EZ_APPLY_REDIS) {
            rc = settle(ctx->db, id, atoi(PQgetvalue(res, i, 4)) + 1, cfg, ctx->error);
        } else {
            rc = EZ_DB_UNAVAILABLE; /* the lease brings the rest back */
        }
    }
    PQclear(res);
    if (n)
        log_info("outbox pass: %d of %d row(s) applied", applied, n);
    return rc == EZ_DB_OK ? applied : -1;
}
