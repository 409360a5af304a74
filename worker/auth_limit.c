/* Failed authentications per client address (docs/operations.md): the 429
 * for an address past auth_failure_limit, answered before any credential
 * is checked; the count of each failure with the audit record of the first
 * of its window; and the records of the others, one per address and window,
 * queued from the worker's tick. The table is common/authfail.c. */
#include "auth_limit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "authfail.h"
#include "jobs.h"
#include "log.h"
#include "metrics.h"
#include "shm.h"
#include "worker.h"

#define SUMMARIES_PER_CALL 16

static void iso_ms(int64_t unix_ms, char out[32])
{
    time_t s = (time_t)(unix_ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(unix_ms % 1000));
}

/* {"failures": n, "window_start": ..., "window_end": ...}, in wall time. */
static json_t *counts(uint64_t failures, int64_t window_start_mono)
{
    int64_t start = ez_now_ms() - (ez_mono_ms() - window_start_mono);
    char from[32], to[32];
    iso_ms(start, from);
    iso_ms(start + ez_w.cfg->auth_failure_window, to);
    return json_pack("{s:I, s:s, s:s}", "failures", (json_int_t)failures, "window_start", from,
                     "window_end", to);
}

static void queue_summary(const struct ez_authfail_summary *s)
{
    ez_jobs_audit_auth_failures(s->addr, counts(s->failures, s->window_start_ms));
}

int ez_auth_limit_check(struct ez_req *r, int master)
{
    long long limit = ez_w.cfg->auth_failure_limit;
    struct ez_addr_key k;
    struct ez_authfail_window w;
    if (limit <= 0)
        return 0;
    ez_addr_key_parse(r->remote, &k);
    if (!ez_authfail_lookup(&ez_shm->authfail, &k, &w))
        return 0;
    int64_t wait = ez_authfail_wait_ms(&w, ez_mono_ms(), (uint64_t)limit,
                                       ez_w.cfg->auth_failure_window);
    if (wait == 0)
        return 0;
    ez_metric_inc(master ? EZ_M_auth_refused_master : EZ_M_auth_refused_admin);
    char secs[24];
    snprintf(secs, sizeof secs, "%lld", (long long)((wait + 999) / 1000));
    evhttp_add_header(evhttp_request_get_output_headers(r->ev), "Retry-After", secs);
    ez_reply_error(r, 429, "rate_limit_error", "too_many_failed_authentications", NULL,
                   "too many failed authentications from this address; retry in %s s", secs);
    return -1;
}

void ez_auth_limit_failed(struct ez_req *r)
{
    struct ez_addr_key k;
    struct ez_authfail_result res;
    int64_t now = ez_mono_ms();
    ez_addr_key_parse(r->remote, &k);
    if (ez_authfail_record(&ez_shm->authfail, &k, now, ez_w.cfg->auth_failure_window, &res) != 0) {
        log_error("pthread_mutex_lock of the failed-authentication table failed: %s",
                  strerror(errno));
        res.first = 1; /* not counted: recorded on its own */
    }
    if (res.evicted)
        ez_metric_inc(EZ_M_auth_evictions);
    if (res.has_summary)
        queue_summary(&res.summary);
    if (res.first)
        ez_audit(r, "auth.failure", "auth", NULL, NULL, counts(1, now));
}

void ez_auth_limit_tick(int all)
{
    struct ez_authfail_summary s[SUMMARIES_PER_CALL];
    int n;
    do {
        n = ez_authfail_collect(&ez_shm->authfail, ez_mono_ms(), ez_w.cfg->auth_failure_window,
                                all, s, SUMMARIES_PER_CALL);
        for (int i = 0; i < n; i++)
            queue_summary(&s[i]);
    } while (n == SUMMARIES_PER_CALL);
}
