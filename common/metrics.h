/* Per-process metrics in the shared segment: each process writes only its
 * own slot (relaxed atomics); any worker renders every slot for a scrape.
 * Plain counters come from metrics_table.h. */
#ifndef EZ_METRICS_H
#define EZ_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* A role's bit in the roles column of metrics_table.h (enum ez_role of
 * shm.h, which the renderer includes). */
#define EZ_MR(role) (1u << EZ_ROLE_##role)

enum ez_metric_id {
#define X(id, name, labels, roles, help) EZ_M_##id,
#include "metrics_table.h"
#undef X
    EZ_M_COUNT
};

#define EZ_METRIC_ROUTES 128 /* route table entries; the last one = unmatched */
#define EZ_METRIC_CODES 18   /* the status codes of ez_metric_code_index, last = other */
#define EZ_METRIC_BUCKETS 12 /* histogram upper bounds, +Inf is the count */

struct ez_metrics {
    _Atomic uint64_t c[EZ_M_COUNT];
    _Atomic uint64_t http_requests[EZ_METRIC_ROUTES][EZ_METRIC_CODES];
    _Atomic uint64_t http_bucket[EZ_METRIC_ROUTES][EZ_METRIC_BUCKETS];
    _Atomic uint64_t http_count[EZ_METRIC_ROUTES];
    _Atomic uint64_t http_sum_us[EZ_METRIC_ROUTES];
    _Atomic uint64_t rss_bytes;
    _Atomic uint64_t cpu_ms;
    _Atomic int64_t full_resync_ms;   /* duration of the last full resync */
    _Atomic int64_t last_empty_ms;    /* consumer: when its queue was last empty */
};

/* The slot this process writes (set once at its start). */
extern int ez_metrics_slot;
void ez_metrics_init_self(int slot);
void ez_metric_add(enum ez_metric_id id, uint64_t n);
#define ez_metric_inc(id) ez_metric_add((id), 1)
/* One finished HTTP request: route index (EZ_METRIC_ROUTES - 1 when none
 * matched), status, latency. */
void ez_metric_http(int route, int status, int64_t latency_us);
/* Refreshes this process's RSS and CPU time from /proc/self. */
void ez_metrics_sample_process(void);

/* What the renderer needs from outside common/. */
struct ez_metrics_view {
    const char *const *route_paths;   /* route templates by index */
    const char *const *route_methods;
    int nroutes;
    long long outbox_pending, outbox_failed; /* -1 when unknown */
    const char *version;
};

/* The whole exposition text (malloc'd, NUL-terminated) or NULL. */
char *ez_metrics_render(const struct ez_metrics_view *v, size_t *len);

#endif
