/* Counting into this process's slot, and rendering every slot in the
 * Prometheus text exposition format (version 0.0.4). */
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "queue.h"
#include "shm.h"

int ez_metrics_slot = -1;

static const int codes[EZ_METRIC_CODES - 1] = { 200, 201, 202, 204, 304, 400, 401, 403, 404,
                                                405, 409, 413, 415, 422, 429, 500, 503 };
static const char *const buckets[EZ_METRIC_BUCKETS] = { "0.001", "0.0025", "0.005", "0.01",
                                                        "0.025", "0.05",   "0.1",   "0.25",
                                                        "0.5",   "1",      "2.5",   "5" };
static const int64_t bucket_us[EZ_METRIC_BUCKETS] = { 1000,   2500,   5000,    10000,
                                                      25000,  50000,  100000,  250000,
                                                      500000, 1000000, 2500000, 5000000 };

static struct ez_metrics *self(void)
{
    if (!ez_shm || ez_metrics_slot < 0)
        return NULL;
    return &ez_shm_slot(ez_metrics_slot)->m;
}

void ez_metrics_init_self(int slot)
{
    ez_metrics_slot = slot;
    struct ez_metrics *m = self();
    if (m)
        memset(m, 0, sizeof *m); /* a new process starts fresh counters */
    ez_metrics_sample_process();
}

void ez_metric_add(enum ez_metric_id id, uint64_t n)
{
    struct ez_metrics *m = self();
    if (m)
        atomic_fetch_add_explicit(&m->c[id], n, memory_order_relaxed);
}

static int code_index(int status)
{
    for (int i = 0; i < EZ_METRIC_CODES - 1; i++)
        if (codes[i] == status)
            return i;
    return EZ_METRIC_CODES - 1;
}

void ez_metric_http(int route, int status, int64_t latency_us)
{
    struct ez_metrics *m = self();
    if (!m)
        return;
    if (route < 0 || route >= EZ_METRIC_ROUTES)
        route = EZ_METRIC_ROUTES - 1;
    atomic_fetch_add_explicit(&m->http_requests[route][code_index(status)], 1,
                              memory_order_relaxed);
    int b = 0;
    while (b < EZ_METRIC_BUCKETS && latency_us > bucket_us[b])
        b++;
    if (b < EZ_METRIC_BUCKETS)
        atomic_fetch_add_explicit(&m->http_bucket[route][b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->http_count[route], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->http_sum_us[route], (uint64_t)latency_us, memory_order_relaxed);
}

void ez_metrics_sample_process(void)
{
    struct ez_metrics *m = self();
    if (!m)
        return;
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) == 2)
            atomic_store_explicit(&m->rss_bytes, (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE),
                                  memory_order_relaxed);
        fclose(f);
    }
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0)
        atomic_store_explicit(&m->cpu_ms, (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000,
                              memory_order_relaxed);
}

/* The process label of a slot, or 0 when the slot has no live process
 * or its role is not in roles. */
static int process_label_of(int i, unsigned roles, char *buf, size_t len)
{
    struct ez_slot *s = ez_shm_slot(i);
    int role = atomic_load(&s->role);
    if (atomic_load(&s->pid) <= 0 || role <= 0 || role >= 32 || !(roles & (1u << role)))
        return 0;
    switch (role) {
    case EZ_ROLE_SUPERVISOR: snprintf(buf, len, "supervisor"); return 1;
    case EZ_ROLE_SYNCER: snprintf(buf, len, "syncer"); return 1;
    case EZ_ROLE_LOGGER: snprintf(buf, len, "logger"); return 1;
    case EZ_ROLE_WORKER:
        /* A retiring worker shares its number with its successor: leave it
         * out rather than show two series with the same labels. */
        if (atomic_load(&s->state) != EZ_SLOT_RUNNING)
            return 0;
        snprintf(buf, len, "worker-%d", atomic_load(&s->index));
        return 1;
    }
    return 0;
}

static int process_label(int i, char *buf, size_t len)
{
    return process_label_of(i, ~0u, buf, len);
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void counters(FILE *f)
{
    static const struct { const char *name, *labels; unsigned roles; const char *help; } table[] = {
#define X(id, name, labels, roles, help) { name, labels, roles, help },
#include "metrics_table.h"
#undef X
    };
    const char *help = NULL;
    for (int id = 0; id < EZ_M_COUNT; id++) {
        if (table[id].help)
            help = table[id].help;
        if (id == 0 || strcmp(table[id].name, table[id - 1].name) != 0)
            family(f, table[id].name, "counter", help);
        for (int i = 0; i < EZ_MAX_SLOTS; i++) {
            char p[32];
            if (!process_label_of(i, table[id].roles, p, sizeof p))
                continue;
            fprintf(f, "%s{process=\"%s\"%s%s} %llu\n", table[id].name, p,
                    table[id].labels[0] ? "," : "", table[id].labels,
                    (unsigned long long)atomic_load(&ez_shm_slot(i)->m.c[id]));
        }
    }
}

static const char *route_path(const struct ez_metrics_view *v, int r)
{
    return r < v->nroutes ? v->route_paths[r] : "unmatched";
}

static const char *route_method(const struct ez_metrics_view *v, int r)
{
    return r < v->nroutes ? v->route_methods[r] : "";
}

static void http(FILE *f, const struct ez_metrics_view *v)
{
    family(f, "ezapi_http_requests_total", "counter", "HTTP requests answered, by route template, method and status.");
    for (int i = 0; i < EZ_MAX_SLOTS; i++) {
        char p[32];
        if (!process_label(i, p, sizeof p))
            continue;
        struct ez_metrics *m = &ez_shm_slot(i)->m;
        for (int r = 0; r < EZ_METRIC_ROUTES; r++)
            for (int c = 0; c < EZ_METRIC_CODES; c++) {
                uint64_t n = atomic_load(&m->http_requests[r][c]);
                if (!n)
                    continue;
                char code[8];
                if (c < EZ_METRIC_CODES - 1)
                    snprintf(code, sizeof code, "%d", codes[c]);
                else
                    snprintf(code, sizeof code, "other");
                fprintf(f, "ezapi_http_requests_total{process=\"%s\",route=\"%s\",method=\"%s\",code=\"%s\"} %llu\n",
                        p, route_path(v, r), route_method(v, r), code, (unsigned long long)n);
            }
    }
    family(f, "ezapi_http_request_duration_seconds", "histogram", "Time from request dispatch to the answer, by route.");
    for (int i = 0; i < EZ_MAX_SLOTS; i++) {
        char p[32];
        if (!process_label(i, p, sizeof p))
            continue;
        struct ez_metrics *m = &ez_shm_slot(i)->m;
        for (int r = 0; r < EZ_METRIC_ROUTES; r++) {
            uint64_t count = atomic_load(&m->http_count[r]);
            if (!count)
                continue;
            uint64_t cum = 0;
            char lbl[256];
            snprintf(lbl, sizeof lbl, "process=\"%s\",route=\"%s\",method=\"%s\"", p,
                     route_path(v, r), route_method(v, r));
            for (int b = 0; b < EZ_METRIC_BUCKETS; b++) {
                cum += atomic_load(&m->http_bucket[r][b]);
                fprintf(f, "ezapi_http_request_duration_seconds_bucket{%s,le=\"%s\"} %llu\n", lbl,
                        buckets[b], (unsigned long long)cum);
            }
            fprintf(f, "ezapi_http_request_duration_seconds_bucket{%s,le=\"+Inf\"} %llu\n", lbl,
                    (unsigned long long)count);
            fprintf(f, "ezapi_http_request_duration_seconds_sum{%s} %.6f\n", lbl,
                    (double)atomic_load(&m->http_sum_us[r]) / 1e6);
            fprintf(f, "ezapi_http_request_duration_seconds_count{%s} %llu\n", lbl,
                    (unsigned long long)count);
        }
    }
}

static void queues(FILE *f, const struct ez_metrics_view *v)
{
    uint64_t depth[EZ_Q_COUNT], full[EZ_Q_COUNT] = { 0 };
    for (int q = 0; q < EZ_Q_COUNT; q++)
        depth[q] = ez_queue_depth((enum ez_queue_id)q);
    family(f, "ezapi_queue_depth", "gauge", "Jobs waiting in a queue, summed over every worker's ring.");
    fprintf(f, "ezapi_queue_depth{process=\"syncer\",queue=\"sync\"} %llu\n", (unsigned long long)depth[EZ_Q_SYNC]);
    fprintf(f, "ezapi_queue_depth{process=\"logger\",queue=\"audit\"} %llu\n", (unsigned long long)depth[EZ_Q_AUDIT]);
    (void)full;
    int64_t now = ez_now_ms(), empty = atomic_load(&ez_shm_slot(EZ_SLOT_SYNCER)->m.last_empty_ms);
    double lag = depth[EZ_Q_SYNC] && empty ? (double)(now - empty) / 1000.0 : 0.0;
    family(f, "ezapi_sync_lag_seconds", "gauge", "Time since the sync queue was last empty (0 while it is empty).");
    fprintf(f, "ezapi_sync_lag_seconds{process=\"syncer\"} %.3f\n", lag < 0 ? 0.0 : lag);
    if (v->outbox_pending >= 0) {
        family(f, "ezapi_outbox_rows", "gauge", "Rows in sync_outbox by status.");
        fprintf(f, "ezapi_outbox_rows{status=\"pending\"} %lld\n", v->outbox_pending);
        fprintf(f, "ezapi_outbox_rows{status=\"failed\"} %lld\n", v->outbox_failed);
    }
    family(f, "ezapi_full_resync_duration_seconds", "gauge", "Duration of the last full resync.");
    fprintf(f, "ezapi_full_resync_duration_seconds{process=\"syncer\"} %.3f\n",
            (double)atomic_load(&ez_shm_slot(EZ_SLOT_SYNCER)->m.full_resync_ms) / 1000.0);
}

static void supervisor(FILE *f)
{
    static const struct { int role; const char *name; } roles[] = {
        { EZ_ROLE_WORKER, "worker" }, { EZ_ROLE_SYNCER, "syncer" }, { EZ_ROLE_LOGGER, "logger" } };
    family(f, "ezapi_child_restarts_total", "counter", "Children respawned after dying, by role.");
    for (size_t k = 0; k < sizeof roles / sizeof roles[0]; k++) {
        uint64_t n = 0;
        for (int i = 1; i < EZ_MAX_SLOTS; i++)
            if (atomic_load(&ez_shm_slot(i)->role) == roles[k].role)
                n += atomic_load(&ez_shm_slot(i)->restarts);
        fprintf(f, "ezapi_child_restarts_total{process=\"supervisor\",role=\"%s\"} %llu\n",
                roles[k].name, (unsigned long long)n);
    }
    struct ez_slot *s = ez_shm_slot(EZ_SLOT_SUPERVISOR);
    family(f, "ezapi_config_reloads_total", "counter", "Configuration reloads by result.");
    fprintf(f, "ezapi_config_reloads_total{process=\"supervisor\",result=\"ok\"} %llu\n",
            (unsigned long long)atomic_load(&s->reloads_ok));
    fprintf(f, "ezapi_config_reloads_total{process=\"supervisor\",result=\"failed\"} %llu\n",
            (unsigned long long)atomic_load(&s->reloads_failed));
}

static void process_metrics(FILE *f)
{
    static const char *const names[3][2] = {
        { "process_resident_memory_bytes", "Resident memory size in bytes." },
        { "process_cpu_seconds_total", "User and system CPU time in seconds." },
        { "process_start_time_seconds", "Start time of the process since the epoch, in seconds." } };
    static const char *const types[3] = { "gauge", "counter", "gauge" };
    for (int k = 0; k < 3; k++) {
        family(f, names[k][0], types[k], names[k][1]);
        for (int i = 0; i < EZ_MAX_SLOTS; i++) {
            char p[32];
            if (!process_label(i, p, sizeof p))
                continue;
            struct ez_slot *s = ez_shm_slot(i);
            if (k == 0)
                fprintf(f, "%s{process=\"%s\"} %llu\n", names[k][0], p,
                        (unsigned long long)atomic_load(&s->m.rss_bytes));
            else if (k == 1)
                fprintf(f, "%s{process=\"%s\"} %.3f\n", names[k][0], p,
                        (double)atomic_load(&s->m.cpu_ms) / 1000.0);
            else
                fprintf(f, "%s{process=\"%s\"} %.3f\n", names[k][0], p,
                        (double)atomic_load(&s->start_time_ms) / 1000.0);
        }
    }
}

char *ez_metrics_render(const struct ez_metrics_view *v, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f)
        return NULL;
    counters(f);
    http(f, v);
    queues(f, v);
    supervisor(f);
    process_metrics(f);
    family(f, "ezapi_build_info", "gauge", "The running version of ezapi.");
    fprintf(f, "ezapi_build_info{version=\"%s\"} 1\n", v->version);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}
