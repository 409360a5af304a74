/* A worker process: an evhttp server on the inherited listening sockets,
 * each connection read through its guard (guard.c). On SIGTERM it retires:
 * stops accepting, answers the next request of every persistent connection
 * with Connection: close, and exits when no connection is left or
 * shutdown_timeout has passed. */
#include "worker.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "auth_limit.h"
#include "guard.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "proctitle.h"
#include "roles.h"
#include "shm.h"
#include "tls.h"

struct ez_worker ez_w;

static struct event_base *base;
static struct evhttp *http;
static struct evhttp_bound_socket *bound[16];
static int nbound;
static int baseline_events; /* events of our own, without any connection */
static int64_t retire_deadline;

/* Connections are spread over the workers by their open connections. The
 * workers are ordered by open connections, then by how long ago they last
 * accepted one (the longer, the sooner), then by slot; a worker listens
 * only while no able worker comes before it, so one always listens. Able
 * means running (a live pid, serving, a heartbeat within WORKER_STALE_MS),
 * willing to accept (below worker_connections, not retiring, accept() not
 * failing) and not inside a request: a worker stuck in a long request or
 * stopped does not hold new clients back. A worker weighs itself again at
 * each accept and close, on its tick, when another worker that gives way
 * to it finds it not listening and wakes it (SIGUSR2), and every
 * REWEIGH_MS while it gives way to a worker that has connections (which
 * may keep it inside a request).
 * Without this the first worker to wake accepts every queued connection,
 * and a few clients with keep-alive connections can all end up on one.
 * The tie rule matters when a connection is opened and closed at once
 * (load generators probe the address that way): counted until its close
 * is read, it would otherwise tie its worker with the one that took the
 * next connection, and both would listen for the one after.
 * Closes are counted with evhttp's close callback, set on the connection
 * right after evhttp has built it around the bufferevent we give it. */
#define REWEIGH_MS 10
#define WORKER_STALE_MS 1000
static int connections, listening_on = 1;
static struct event *reweigh, *track, *nudged;
static struct ez_guard **fresh; /* accepted, not attached yet */
static size_t nfresh, capfresh;
static struct bufferevent *doomed[16]; /* accepted without a guard: closed unread */
static size_t ndoomed;

/* A worker also stops listening while it holds worker_connections, and for
 * ACCEPT_PAUSE_MS after accept() failed (descriptors exhausted and the
 * like: the listening socket stays readable, so retrying at once would
 * spin). Failures are logged once per ACCEPT_LOG_MS, with their count. */
#define ACCEPT_PAUSE_MS 100
#define ACCEPT_LOG_MS 10000
static int64_t accept_paused_until, accept_logged_ms;
static long accept_failures;

static int able(struct ez_slot *o)
{
    return atomic_load(&o->role) == EZ_ROLE_WORKER &&
           atomic_load(&o->state) == EZ_SLOT_RUNNING && atomic_load(&o->pid) > 0 &&
           atomic_load(&o->serving) && atomic_load(&o->accepting) && !atomic_load(&o->busy) &&
           ez_mono_ms() - atomic_load(&o->heartbeat_ms) < WORKER_STALE_MS;
}

/* Whether the worker in slot a comes before the one in slot b for the next
 * connection. */
static int before(int a, int b)
{
    struct ez_slot *x = ez_shm_slot(a), *y = ez_shm_slot(b);
    int cx = atomic_load(&x->connections), cy = atomic_load(&y->connections);
    if (cx != cy)
        return cx < cy;
    uint64_t lx = atomic_load(&x->last_accept), ly = atomic_load(&y->last_accept);
    return lx != ly ? lx < ly : a < b;
}

static void balance(void)
{
    struct ez_slot *me = ez_shm_slot(ez_w.slot);
    atomic_store(&me->connections, connections);
    if (ez_w.retiring)
        return;
    int64_t paused = accept_paused_until - ez_mono_ms();
    int willing = paused <= 0 && connections < ez_w.cfg->worker_connections;
    atomic_store(&me->accepting, willing);
    int first = -1; /* the able worker that comes first, if not this one */
    for (int s = EZ_SLOT_FIRST_WORKER; s < EZ_MAX_SLOTS; s++)
        if (s != ez_w.slot && able(ez_shm_slot(s)) && before(s, ez_w.slot) &&
            (first < 0 || before(s, first)))
            first = s;
    int listen = willing && first < 0;
    if (listen != listening_on) {
        listening_on = listen;
        atomic_store(&me->listening, listening_on);
        for (int i = 0; i < nbound; i++) {
            struct evconnlistener *l = evhttp_bound_socket_get_listener(bound[i]);
            if (listening_on)
                evconnlistener_enable(l);
            else
                evconnlistener_disable(l);
        }
    }
    if (first >= 0 && !atomic_load(&ez_shm_slot(first)->listening)) {
        pid_t pid = atomic_load(&ez_shm_slot(first)->pid);
        if (pid > 0)
            kill(pid, SIGUSR2); /* it weighs itself again, and listens */
    }
    /* A first worker without connections can only become busy by
     * accepting one, and then it wakes this one if this one comes first:
     * an idle server keeps no timer running. */
    int watch = first >= 0 && atomic_load(&ez_shm_slot(first)->connections) > 0;
    if ((watch || paused > 0) && !evtimer_pending(reweigh, NULL)) {
        long long ms = paused > 0 ? paused : REWEIGH_MS;
        struct timeval soon = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
        evtimer_add(reweigh, &soon);
    }
}

/* Requests run to the end inside the dispatch: busy says so to the others. */
static void dispatch(struct evhttp_request *req, void *arg)
{
    struct ez_slot *me = ez_shm_slot(ez_w.slot);
    atomic_store_explicit(&me->busy, 1, memory_order_relaxed);
    ez_guard_dispatching(req);
    ez_http_dispatch(req, arg);
    atomic_store_explicit(&me->busy, 0, memory_order_relaxed);
}

static void on_reweigh(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    balance();
}

/* accept() failed with something other than "try again": the listeners
 * pause, and the failure is counted and logged once per interval. */
static void on_accept_error(struct evconnlistener *l, void *arg)
{
    (void)l;
    (void)arg;
    int err = EVUTIL_SOCKET_ERROR();
    int64_t now = ez_mono_ms();
    ez_metric_add(EZ_M_accept_errors, 1);
    accept_failures++;
    if (accept_logged_ms == 0 || now - accept_logged_ms >= ACCEPT_LOG_MS) {
        log_warn("accept() failed %ld time(s) since the last report, last: %s; "
                 "not accepting for %d ms after each failure",
                 accept_failures, evutil_socket_error_to_string(err), ACCEPT_PAUSE_MS);
        accept_failures = 0;
        accept_logged_ms = now;
    }
    accept_paused_until = now + ACCEPT_PAUSE_MS;
    balance();
}

static void on_close(struct evhttp_connection *evcon, void *arg)
{
    (void)arg;
    ez_guard_free(ez_guard_of(evcon));
    if (connections > 0)
        connections--;
    balance();
}

/* Runs in the same turn as the accepts, before any of the new
 * connections can be read (and so closed). evhttp passes the connection
 * as its bufferevent's callback argument; checked before use. A
 * connection its guard cannot follow is closed before it is read. */
static void on_track(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    for (size_t i = 0; i < nfresh; i++) {
        struct bufferevent *bev = ez_guard_bev(fresh[i]);
        void *cbarg = NULL;
        bufferevent_getcb(bev, NULL, NULL, NULL, &cbarg);
        struct evhttp_connection *evcon = cbarg;
        int ours = evcon && evhttp_connection_get_bufferevent(evcon) == bev;
        if (ours && ez_guard_attach(fresh[i], evcon) == 0) {
            evhttp_connection_set_closecb(evcon, on_close, NULL);
            continue;
        }
        ez_guard_free(fresh[i]);
        if (ours)
            evhttp_connection_free(evcon);
        if (connections > 0)
            connections--; /* not counted */
    }
    nfresh = 0;
    for (size_t i = 0; i < ndoomed; i++) {
        void *cbarg = NULL;
        bufferevent_getcb(doomed[i], NULL, NULL, NULL, &cbarg);
        struct evhttp_connection *evcon = cbarg;
        if (evcon && evhttp_connection_get_bufferevent(evcon) == doomed[i])
            evhttp_connection_free(evcon);
    }
    ndoomed = 0;
    balance();
}

/* evhttp's hook for each connection it accepts: the bufferevent it will
 * use, with the connection's guard on its input. Over TLS that is an
 * OpenSSL bufferevent, whose input holds the decrypted bytes: the guard
 * reads a TLS connection as it reads a plain one, and its header deadline
 * runs from the accept, so it bounds the handshake too. */
static struct bufferevent *on_connection(struct event_base *b, void *arg)
{
    (void)arg;
    struct bufferevent *bev = ez_w.cfg->tls_ctx
                                  ? ez_tls_bufferevent(b, ez_w.cfg->tls_ctx)
                                  : bufferevent_socket_new(b, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!bev)
        return NULL;
    struct ez_guard *g = ez_guard_new(bev);
    if (g && nfresh == capfresh) {
        size_t cap = capfresh ? capfresh * 2 : 16;
        struct ez_guard **p = realloc(fresh, cap * sizeof *p);
        if (p) {
            fresh = p;
            capfresh = cap;
        }
    }
    if (!g || nfresh == capfresh) {
        /* evhttp builds a connection of its own when given no bufferevent:
         * it gets this one, closed in on_track before it is read */
        log_error("cannot guard an accepted connection: out of memory");
        ez_guard_free(g);
        if (ndoomed < sizeof doomed / sizeof doomed[0])
            doomed[ndoomed++] = bev;
        event_active(track, EV_TIMEOUT, 1);
        return bev;
    }
    fresh[nfresh++] = g;
    connections++;
    atomic_store(&ez_shm_slot(ez_w.slot)->last_accept, atomic_fetch_add(&ez_shm->accepts, 1) + 1);
    event_active(track, EV_TIMEOUT, 1);
    balance(); /* may stop the accepts of this turn */
    return bev;
}

void ez_worker_beat(void *unused)
{
    (void)unused;
    atomic_store(&ez_shm_slot(ez_w.slot)->heartbeat_ms, ez_mono_ms());
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    ez_worker_beat(NULL);
    balance();
    ez_metrics_sample_process();
    ez_auth_limit_tick(0);
    if (getppid() == 1) { /* supervisor gone */
        event_base_loopbreak(base);
        return;
    }
    if (!ez_w.retiring)
        return;
    /* Each open connection keeps at least one event added; when only our
     * own remain, every connection is closed. */
    if (event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED) <= baseline_events ||
        ez_mono_ms() >= retire_deadline)
        event_base_loopbreak(base);
}

static void on_retire(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    (void)arg;
    if (ez_w.retiring)
        return;
    ez_w.retiring = 1;
    atomic_store(&ez_shm_slot(ez_w.slot)->accepting, 0);
    atomic_store(&ez_shm_slot(ez_w.slot)->listening, 0);
    retire_deadline = ez_mono_ms() + ez_w.cfg->shutdown_timeout;
    for (int i = 0; i < nbound; i++)
        evhttp_del_accept_socket(http, bound[i]);
    nbound = 0;
    ez_proctitle_set("ezapi: worker %d retiring", ez_w.index);
    log_info("retiring on signal %d", (int)sig);
}

/* No descriptor given to libevent is dup()ed, so epoll's changelist is
 * safe: it folds the event changes evhttp makes for each request into one
 * epoll_ctl per direction instead of four calls. */
static struct event_base *new_base(void)
{
    struct event_config *cfg = event_config_new();
    if (!cfg)
        return NULL;
    event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    struct event_base *b = event_base_new_with_config(cfg);
    event_config_free(cfg);
    return b;
}

int worker_main(const struct ez_child *c)
{
    char role[32];
    snprintf(role, sizeof role, "worker-%d", c->index);
    ez_log_setup(role, c->cfg->log_level, c->cfg->log_format);
    ez_proctitle_set("ezapi: worker %d", c->index);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGUSR2, SIG_IGN); /* until the loop takes it, and again once it is gone */
    ez_w = (struct ez_worker){ .cfg = c->cfg, .slot = c->slot, .index = c->index };
    ez_w.db = ez_db_new(c->cfg->pg_dsn, c->cfg->pg_statement_timeout, "ezapi-worker");
    ez_w.audit_db = strcmp(c->cfg->log_pg_dsn, c->cfg->pg_dsn) == 0
                        ? ez_w.db
                        : ez_db_new(c->cfg->log_pg_dsn, c->cfg->pg_statement_timeout,
                                    "ezapi-worker-audit");
    ez_w.redis = ez_redis_new(c->cfg->redis_url, 1000);
    base = new_base();
    http = base ? evhttp_new(base) : NULL;
    if (!ez_w.db || !ez_w.audit_db || !ez_w.redis || !http) {
        log_error("worker start-up failed");
        return 1;
    }
    /* The guards enforce every limit and deadline of reading, and answer
     * in JSON; evhttp's own limits are the same, so they never trigger its
     * HTML pages. Its read timeout stays off: the guards have theirs, and
     * request_timeout is the write timeout they set. */
    struct ez_guard_limits lim = {
        .header_timeout_ms = c->cfg->header_timeout,
        .body_timeout_ms = c->cfg->body_timeout,
        .keepalive_timeout_ms = c->cfg->keepalive_timeout,
        .write_timeout_ms = c->cfg->request_timeout,
        .max_header_size = (size_t)c->cfg->max_header_size,
        .max_body_size = (uint64_t)c->cfg->max_body_size,
        .max_import_body_size = (uint64_t)c->cfg->import_max_body_size,
    };
    ez_guard_set_limits(&lim);
    evhttp_set_max_headers_size(http, (ev_ssize_t)c->cfg->max_header_size);
    evhttp_set_max_body_size(http, (ev_ssize_t)(c->cfg->import_max_body_size > c->cfg->max_body_size
                                                    ? c->cfg->import_max_body_size
                                                    : c->cfg->max_body_size));
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                         EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                         EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    evhttp_set_gencb(http, dispatch, NULL);
    evhttp_set_bevcb(http, on_connection, NULL);

    struct event *sigs[3];
    int signos[3] = { SIGTERM, SIGINT, SIGQUIT };
    for (int i = 0; i < 3; i++) {
        sigs[i] = evsignal_new(base, signos[i], on_retire, NULL);
        event_add(sigs[i], NULL);
    }
    signal(SIGHUP, SIG_IGN); /* reloads are the supervisor's */
    reweigh = evtimer_new(base, on_reweigh, NULL);
    nudged = evsignal_new(base, SIGUSR2, on_reweigh, NULL);
    event_add(nudged, NULL);
    track = event_new(base, -1, 0, on_track, NULL);
    struct event *tick = event_new(base, -1, EV_PERSIST, on_tick, NULL);
    struct timeval second = { 0, 200 * 1000 };
    event_add(tick, &second);
    baseline_events = event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED);
    for (int i = 0; i < c->nlisten && nbound < 16; i++) {
        bound[nbound] = evhttp_accept_socket_with_handle(http, c->listen_fds[i]);
        if (!bound[nbound])
            continue;
        evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(bound[nbound]),
                                    on_accept_error);
        nbound++;
    }
    atomic_store(&ez_shm_slot(c->slot)->heartbeat_ms, ez_mono_ms());
    atomic_store(&ez_shm_slot(c->slot)->busy, 0);
    atomic_store(&ez_shm_slot(c->slot)->accepting, 1);
    atomic_store(&ez_shm_slot(c->slot)->listening, 1);
    atomic_store(&ez_shm_slot(c->slot)->last_accept, 0);
    atomic_store(&ez_shm_slot(c->slot)->serving, 1);
    balance();
    event_base_dispatch(base);

    ez_auth_limit_tick(1);
    log_info("worker exiting");
    evhttp_free(http);
    for (int i = 0; i < 3; i++)
        event_free(sigs[i]);
    event_free(tick);
    event_free(reweigh);
    event_free(nudged);
    event_free(track);
    free(fresh);
    event_base_free(base);
    if (ez_w.audit_db != ez_w.db)
        ez_db_free(ez_w.audit_db);
    ez_db_free(ez_w.db);
    ez_redis_free(ez_w.redis);
    return 0;
}
