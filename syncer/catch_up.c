/* Catch-up of the syncer after a reconnection: notes of the rev sequence,
 * and the re-projection of the rows changed since the right one. */
#include "catch_up.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "shm.h"

#define MARK_EVERY_MS 1000
/* More changed rows than this: a full resync is cheaper and as good. */
#define CATCH_UP_MAX 100000
#define CATCH_UP_BATCH 256
#define EZ_STR_(x) #x
#define EZ_STR(x) EZ_STR_(x)

/* Each table's rows past rev $1, as the job a worker would have queued. */
#define CHANGED_SQL                                                                          \
    "SELECT 'namespaces', id, json_build_object('name', name)::text FROM namespaces "       \
    "WHERE rev > $1 UNION ALL "                                                              \
    "SELECT 'provider_groups', id, json_build_object('name', name)::text "                  \
    "FROM provider_groups WHERE rev > $1 UNION ALL "                                         \
    "SELECT 'api_keys', id, json_build_object('group_id', group_id)::text FROM api_keys "   \
    "WHERE rev > $1 UNION ALL "                                                              \
    "SELECT 'models', id, json_build_object('name', name)::text FROM models "               \
    "WHERE rev > $1 UNION ALL "                                                              \
    "SELECT 'bindings', id, json_build_object('namespace', namespace, 'public_model', "     \
    "public_model)::text FROM bindings WHERE rev > $1 UNION ALL "                            \
    "SELECT 'features', 0, json_build_object('names', json_agg(name))::text FROM features " \
    "WHERE rev > $1 HAVING count(*) > 0 UNION ALL "                                          \
    "SELECT 'masters', id, '{}' FROM masters WHERE rev > $1 UNION ALL "                      \
    "SELECT 'keys', id, json_build_object('master_id', master_id)::text FROM keys "         \
    "WHERE rev > $1 LIMIT " EZ_STR(CATCH_UP_MAX) " + 1"

void ez_catch_up_init(struct ez_catch_up *u)
{
    memset(u, 0, sizeof *u);
    u->due_from = -1;
}

static void note(struct ez_sync_ctx *c, struct ez_catch_up *u)
{
    int64_t now = ez_mono_ms();
    if (now - u->last_mark_ms < MARK_EVERY_MS)
        return;
    u->last_mark_ms = now;
    PGresult *res;
    if (ez_db_exec(c->db, &res, "SELECT last_value FROM ez_rev", 0, NULL) == EZ_DB_OK) {
        u->marks[u->next].at_ms = now;
        u->marks[u->next].rev = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        u->next = (u->next + 1) % EZ_CATCH_UP_MARKS;
        if (u->nmarks < EZ_CATCH_UP_MARKS)
            u->nmarks++;
    }
    PQclear(res);
}

/* The rev to catch up from: that of the newest note taken margin_ms or
 * more before the last one (the connection still worked then), else the
 * oldest note; -1 when there is none. */
static long long from_rev(const struct ez_catch_up *u, int64_t margin_ms)
{
    if (u->nmarks == 0)
        return -1;
    int newest = (u->next + EZ_CATCH_UP_MARKS - 1) % EZ_CATCH_UP_MARKS;
    int oldest = (u->next + EZ_CATCH_UP_MARKS - u->nmarks) % EZ_CATCH_UP_MARKS;
    int64_t before = u->marks[newest].at_ms - margin_ms;
    long long rev = u->marks[oldest].rev;
    for (int k = 0; k < u->nmarks; k++) {
        int i = (oldest + k) % EZ_CATCH_UP_MARKS;
        if (u->marks[i].at_ms <= before)
            rev = u->marks[i].rev;
    }
    return rev;
}

/* Applies rows [from, to) of res as one batch. */
static int apply_rows(struct ez_sync_ctx *c, PGresult *res, int from, int to)
{
    struct ez_sync_job jobs[CATCH_UP_BATCH];
    int n = 0, rc = EZ_APPLY_OK;
    for (int i = from; i < to; i++) {
        json_t *payload = ez_sync_payload(PQgetvalue(res, i, 0), 0, PQgetvalue(res, i, 2));
        if (payload)
            jobs[n++] = (struct ez_sync_job){ PQgetvalue(res, i, 0),
                                              strtoll(PQgetvalue(res, i, 1), NULL, 10), payload,
                                              EZ_APPLY_OK };
    }
    ez_sync_apply_batch(c, jobs, n);
    for (int i = 0; i < n; i++) {
        if (jobs[i].rc != EZ_APPLY_OK && rc == EZ_APPLY_OK)
            rc = jobs[i].rc;
        json_decref(jobs[i].payload);
    }
    return rc;
}

/* EZ_APPLY_*, or EZ_APPLY_REDIS too when too much changed. */
static int catch_up(struct ez_sync_ctx *c, long long from)
{
    char rev[24];
    snprintf(rev, sizeof rev, "%lld", from);
    const char *p[] = { rev };
    PGresult *res;
    int rc = ez_db_exec(c->db, &res, CHANGED_SQL, 1, p);
    if (rc != EZ_DB_OK) {
        PQclear(res);
        return rc == EZ_DB_UNAVAILABLE ? EZ_APPLY_DB : EZ_APPLY_REDIS;
    }
    int n = PQntuples(res), arc = EZ_APPLY_OK;
    if (n > CATCH_UP_MAX) {
        log_info("catch-up: more than %d rows changed since rev %lld: a full resync instead",
                 CATCH_UP_MAX, from);
        arc = EZ_APPLY_REDIS;
    }
    for (int i = 0; arc == EZ_APPLY_OK && i < n; i += CATCH_UP_BATCH)
        arc = apply_rows(c, res, i, i + CATCH_UP_BATCH < n ? i + CATCH_UP_BATCH : n);
    PQclear(res);
    if (arc == EZ_APPLY_OK)
        log_info("catch-up after reconnecting to PostgreSQL: %d row(s) changed since rev %lld "
                 "projected again", n, from);
    return arc;
}

int ez_catch_up_tick(struct ez_sync_ctx *c, struct ez_catch_up *u, int64_t margin_ms)
{
    unsigned connects = ez_db_connects(c->db);
    int full = 0;
    if (connects != u->connects) {
        if (u->connects != 0 && u->due_from < 0) {
            u->due_from = from_rev(u, margin_ms);
            full = u->due_from < 0; /* nothing noted yet: nothing to start from */
        }
        u->connects = connects;
    }
    if (u->due_from >= 0) {
        int rc = catch_up(c, u->due_from);
        if (rc == EZ_APPLY_DB)
            return 0; /* lost again: tried again on the next tick */
        full = rc != EZ_APPLY_OK;
        u->due_from = -1;
    }
    note(c, u);
    return full;
}
