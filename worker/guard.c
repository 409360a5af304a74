/* The connection guard. It sits on the input buffer of the connection's
 * bufferevent: whatever the socket read is moved at once into the guard's
 * own buffer, and only checked bytes are put back for evhttp. It never
 * parses a request evhttp is still answering, and when it refuses one it
 * takes the bufferevent over (evhttp's callbacks are removed), writes a
 * JSON answer, shuts the write side, drops what the client still sends for
 * a short while, then lets evhttp free the connection. */
#include "guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>

#include "h1.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "tls.h"

/* After an error answer, the client's bytes are read and dropped this long
 * at most, so that closing does not reset the connection before the client
 * has read the answer. */
#define LINGER_MS 5000

enum state { G_HEAD, G_BODY_LENGTH, G_BODY_CHUNKED, G_WAIT, G_CLOSING };

struct ez_guard {
    struct bufferevent *bev;
    struct evhttp_connection *evcon; /* NULL until attached */
    struct evbuffer *staged;         /* read from the client, not given to evhttp yet */
    struct evbuffer_cb_entry *cb;    /* on the bufferevent's input */
    struct event *timer;             /* the deadline of the current state */
    struct event *resume;            /* reads the next request after an answer */
    enum state state;
    int fd;
    int idle;     /* after an answer: the keep-alive deadline runs */
    int started;  /* a byte of the current head has come */
    int feeding;  /* the guard itself is moving bytes in or out of the input */
    int injected; /* bytes were handed to evhttp since the flag was cleared */
    int shut;     /* the error answer is written and the write side shut */
    uint64_t body_left;
    uint64_t body_limit; /* of the request being read (ez_guard_body_limit) */
    struct ez_h1_scan scan;
    struct ez_h1_chunked chunks;
    struct ez_h1_request rq;
    int64_t start_us;
    char remote[64];
};

static struct ez_guard_limits lim; /* set by the worker before it accepts */
static struct ez_guard **byfd; /* attached guards by descriptor */
static size_t nbyfd;
static struct evbuffer *kept;  /* scratch for take_new_bytes */

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static struct timeval ms_tv(long long ms)
{
    return (struct timeval){ (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
}

static void arm(struct ez_guard *g, long long ms)
{
    struct timeval tv = ms_tv(ms);
    evtimer_add(g->timer, &tv);
}

void ez_guard_set_limits(const struct ez_guard_limits *l)
{
    lim = *l;
}

struct bufferevent *ez_guard_bev(const struct ez_guard *g)
{
    return g->bev;
}

/* ---- Closing ------------------------------------------------------------ */

/* evhttp frees the connection; its close callback frees g. */
static void close_now(struct ez_guard *g)
{
    evhttp_connection_free(g->evcon);
}

static void on_written(struct bufferevent *bev, void *arg)
{
    (void)bev;
    struct ez_guard *g = arg;
    if (g->shut)
        return;
    g->shut = 1;
    ez_tls_close_notify(g->bev);
    shutdown(g->fd, SHUT_WR);
    arm(g, LINGER_MS);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    (void)what;
    close_now(arg);
}

static const char *reason(int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    }
    return "Error";
}

/* The error shape of every answer of the server, as one malloc'd string. */
char *ez_guard_error_json(const struct ez_h1_error *e, const char *rid)
{
    json_t *doc = json_pack("{s:{s:s, s:s, s:s, s:o, s:s}}", "error", "type",
                            e->status == 503 ? "unavailable_error" : "invalid_request_error",
                            "code", e->code, "message", e->message,
                            "param", e->param ? json_string(e->param) : json_null(),
                            "request_id", rid);
    char *s = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    return s;
}

static void log_refusal(struct ez_guard *g, int status, const char *rid)
{
    int64_t latency = now_us() - g->start_us;
    ez_log_set_request_id(rid);
    ez_log_access(g->rq.method[0] ? g->rq.method : "-", g->rq.target[0] ? g->rq.target : "-",
                  status, (long long)latency, g->remote);
    ez_log_set_request_id(NULL);
    ez_metric_http(-1, status, latency);
}

/* Answers e and closes: evhttp, which has not seen this request whole,
 * never gets another callback from this connection. */
static int refuse(struct ez_guard *g, const struct ez_h1_error *e)
{
    char rid[sizeof g->rq.request_id];
    if (g->rq.request_id[0]) {
        memcpy(rid, g->rq.request_id, sizeof rid);
    } else {
        char fresh[33];
        ez_request_id_new(fresh);
        memcpy(rid, fresh, sizeof fresh);
    }
    g->state = G_CLOSING;
    evtimer_del(g->timer);
    struct evbuffer *in = bufferevent_get_input(g->bev);
    g->feeding = 1;
    evbuffer_drain(g->staged, evbuffer_get_length(g->staged));
    evbuffer_drain(in, evbuffer_get_length(in));
    g->feeding = 0;
    bufferevent_setcb(g->bev, NULL, on_written, on_event, g);

    char *body = ez_guard_error_json(e, rid);
    struct evbuffer *out = bufferevent_get_output(g->bev);
    evbuffer_add_printf(out,
                        "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                        "Content-Length: %zu\r\nX-Request-ID: %s\r\nConnection: close\r\n\r\n%s",
                        e->status, reason(e->status), body ? strlen(body) : 2, rid,
                        body ? body : "{}");
    free(body);
    bufferevent_enable(g->bev, EV_READ | EV_WRITE);
    arm(g, lim.write_timeout_ms + LINGER_MS);
    log_refusal(g, e->status, rid);
    return -1;
}

static int refuse_timeout(struct ez_guard *g, const char *message)
{
    struct ez_h1_error e = { 408, "request_timeout", NULL, message };
    return refuse(g, &e);
}

/* ---- Reading requests --------------------------------------------------- */

/* Moves n checked bytes to the front of evhttp's input. A socket
 * bufferevent keeps the end of its input frozen outside its reads, an
 * OpenSSL one (TLS) never does: a freeze is lifted only where found. */
static void inject(struct ez_guard *g, size_t n)
{
    struct evbuffer *in = bufferevent_get_input(g->bev);
    g->feeding = 1;
    if (evbuffer_remove_buffer(g->staged, in, n) < 0) {
        evbuffer_unfreeze(in, 0);
        evbuffer_remove_buffer(g->staged, in, n);
        evbuffer_freeze(in, 0);
    }
    g->feeding = 0;
    g->injected = 1;
}

/* The request is all with evhttp: nothing more is read until it is answered. */
static void request_done(struct ez_guard *g)
{
    g->state = G_WAIT;
    evtimer_del(g->timer);
}

/* Empty lines before a request line are ignored. 0, or -1 when a lone CR
 * needs the next byte. */
static int drop_blank_lines(struct ez_guard *g)
{
    for (;;) {
        char c[2];
        ev_ssize_t n = evbuffer_copyout(g->staged, c, 2);
        if (n >= 1 && c[0] == '\n')
            evbuffer_drain(g->staged, 1);
        else if (n == 2 && c[0] == '\r' && c[1] == '\n')
            evbuffer_drain(g->staged, 2);
        else
            return n == 1 && c[0] == '\r' ? -1 : 0;
    }
}

static void start_head(struct ez_guard *g)
{
    g->started = 1;
    g->start_us = now_us();
    memset(&g->scan, 0, sizeof g->scan);
    memset(&g->rq, 0, sizeof g->rq);
    if (g->idle) { /* a fresh connection keeps the deadline of its accept */
        g->idle = 0;
        arm(g, lim.header_timeout_ms);
    }
}

static void scan_head(struct ez_guard *g)
{
    size_t have = evbuffer_get_length(g->staged);
    while (!g->scan.done && g->scan.len < have) {
        struct evbuffer_ptr at;
        struct evbuffer_iovec v[8];
        if (evbuffer_ptr_set(g->staged, &at, g->scan.len, EVBUFFER_PTR_SET) != 0)
            return;
        int n = evbuffer_peek(g->staged, -1, &at, v, 8);
        if (n <= 0)
            return;
        for (int i = 0; i < n && i < 8 && !g->scan.done; i++)
            ez_h1_scan_feed(&g->scan, v[i].iov_base, v[i].iov_len);
    }
}

static int head_too_large(struct ez_guard *g)
{
    struct ez_h1_error e = { 431, "headers_too_large", NULL,
                             "the request head is larger than max_header_size" };
    return refuse(g, &e);
}

uint64_t ez_guard_body_limit(const struct ez_guard_limits *l, const char *target)
{
    static const char path[] = "/admin/import";
    size_t n = sizeof path - 1;
    int import = strncmp(target, path, n) == 0 && (target[n] == 0 || target[n] == '?');
    return import && l->max_import_body_size > l->max_body_size ? l->max_import_body_size
                                                                 : l->max_body_size;
}

/* 1 when the head was read whole and handed over, 0 when more bytes are
 * needed, -1 when refused. */
static int read_head(struct ez_guard *g)
{
    if (!g->started) {
        if (drop_blank_lines(g) != 0 || evbuffer_get_length(g->staged) == 0)
            return 0;
        start_head(g);
    }
    scan_head(g);
    if (!g->scan.done)
        return evbuffer_get_length(g->staged) > lim.max_header_size ? head_too_large(g) : 0;
    if (g->scan.len > lim.max_header_size)
        return head_too_large(g);
    const char *head = (const char *)evbuffer_pullup(g->staged, (ev_ssize_t)g->scan.len);
    struct ez_h1_error e;
    /* The length is judged below, against the limit of the target. */
    if (!head || ez_h1_parse_head(head, g->scan.len, (uint64_t)INT64_MAX, &g->rq, &e) != 0) {
        if (!head)
            e = (struct ez_h1_error){ 503, "out_of_memory", NULL,
                                      "the server is out of memory; retry later" };
        return refuse(g, &e);
    }
    /* Only the import route has a limit of its own. */
    g->body_limit = ez_guard_body_limit(&lim, g->rq.target);
    if (g->rq.body == EZ_H1_LENGTH && g->rq.length > g->body_limit) {
        e = (struct ez_h1_error){ 413, "body_too_large", "Content-Length",
                                  g->body_limit == lim.max_body_size
                                      ? "the request body is larger than max_body_size"
                                      : "the request body is larger than import_max_body_size" };
        return refuse(g, &e);
    }
    inject(g, g->scan.len);
    if (g->rq.body == EZ_H1_NO_BODY) {
        request_done(g);
        return 1;
    }
    g->state = g->rq.body == EZ_H1_LENGTH ? G_BODY_LENGTH : G_BODY_CHUNKED;
    g->body_left = g->rq.length;
    memset(&g->chunks, 0, sizeof g->chunks);
    arm(g, lim.body_timeout_ms);
    return 1;
}

static int read_length_body(struct ez_guard *g)
{
    size_t have = evbuffer_get_length(g->staged);
    size_t n = have < g->body_left ? have : (size_t)g->body_left;
    if (n)
        inject(g, n);
    g->body_left -= n;
    if (g->body_left)
        return 0;
    request_done(g);
    return 1;
}

static int read_chunked_body(struct ez_guard *g)
{
    size_t have = evbuffer_get_length(g->staged), off = 0;
    while (!g->chunks.done && off < have) {
        struct evbuffer_ptr at;
        struct evbuffer_iovec v;
        if (evbuffer_ptr_set(g->staged, &at, off, EVBUFFER_PTR_SET) != 0 ||
            evbuffer_peek(g->staged, -1, &at, &v, 1) < 1)
            break;
        struct ez_h1_error e;
        long k = ez_h1_chunked_feed(&g->chunks, v.iov_base, v.iov_len, g->body_limit, &e);
        if (k < 0)
            return refuse(g, &e);
        off += (size_t)k;
    }
    if (off)
        inject(g, off);
    if (!g->chunks.done)
        return 0;
    request_done(g);
    return 1;
}

/* Reads as far as the staged bytes allow. */
static void process(struct ez_guard *g)
{
    int more = 1;
    while (more == 1) {
        switch (g->state) {
        case G_HEAD: more = read_head(g); break;
        case G_BODY_LENGTH: more = read_length_body(g); break;
        case G_BODY_CHUNKED: more = read_chunked_body(g); break;
        case G_WAIT:
            /* pipelined bytes wait for the answer; past a head's worth,
             * reading stops until evhttp reads the next request */
            if (evbuffer_get_length(g->staged) > lim.max_header_size)
                bufferevent_disable(g->bev, EV_READ);
            return;
        case G_CLOSING: return;
        }
    }
}

/* Takes the n bytes just read from the end of in; what is before them was
 * injected and evhttp has not consumed it yet (a body still incomplete),
 * so it stays. */
static void take_new_bytes(struct ez_guard *g, struct evbuffer *in, size_t n)
{
    size_t keep = evbuffer_get_length(in) - n;
    if (keep)
        evbuffer_remove_buffer(in, kept, keep);
    evbuffer_add_buffer(g->staged, in);
    if (keep)
        evbuffer_add_buffer(in, kept);
}

/* Every byte read from the socket lands here first. */
static void on_input(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg)
{
    struct ez_guard *g = arg;
    if (g->feeding || info->n_added == 0)
        return;
    g->feeding = 1;
    if (g->state == G_CLOSING)
        evbuffer_drain(in, evbuffer_get_length(in));
    else
        take_new_bytes(g, in, info->n_added);
    g->feeding = 0;
    if (g->evcon && g->state != G_CLOSING)
        process(g); /* evhttp's read callback follows and sees what was injected */
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ez_guard *g = arg;
    g->injected = 0;
    process(g);
    if (g->injected && g->state != G_CLOSING)
        bufferevent_trigger(g->bev, EV_READ, 0); /* may free g */
}

/* The answer is written (evhttp's send-done, before it closes or starts
 * reading the next request). The next request is read on the next loop
 * turn, once evhttp is reading again. */
static void on_complete(struct evhttp_request *req, void *arg)
{
    (void)req;
    struct ez_guard *g = arg;
    g->state = G_HEAD;
    g->idle = 1;
    g->started = 0;
    arm(g, lim.keepalive_timeout_ms);
    if (evbuffer_get_length(g->staged))
        event_active(g->resume, EV_TIMEOUT, 1);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ez_guard *g = arg;
    switch (g->state) {
    case G_HEAD:
        if (g->started) {
            ez_metric_add(EZ_M_http_timeout_header, 1);
            refuse_timeout(g, "the request head did not arrive within header_timeout");
            return;
        }
        ez_metric_add(g->idle ? EZ_M_http_timeout_idle : EZ_M_http_timeout_header, 1);
        close_now(g);
        return;
    case G_BODY_LENGTH:
    case G_BODY_CHUNKED:
        ez_metric_add(EZ_M_http_timeout_body, 1);
        refuse_timeout(g, "the request body did not arrive within body_timeout");
        return;
    case G_CLOSING:
        close_now(g);
        return;
    case G_WAIT:
        return;
    }
}

/* ---- Life cycle ---------------------------------------------------------- */

struct ez_guard *ez_guard_new(struct bufferevent *bev)
{
    struct ez_guard *g = kept || (kept = evbuffer_new()) ? calloc(1, sizeof *g) : NULL;
    if (!g)
        return NULL;
    struct event_base *base = bufferevent_get_base(bev);
    g->bev = bev;
    g->fd = -1;
    g->staged = evbuffer_new();
    g->timer = evtimer_new(base, on_deadline, g);
    g->resume = event_new(base, -1, 0, on_resume, g);
    g->cb = g->staged ? evbuffer_add_cb(bufferevent_get_input(bev), on_input, g) : NULL;
    if (!g->staged || !g->timer || !g->resume || !g->cb) {
        ez_guard_free(g);
        return NULL;
    }
    g->start_us = now_us();
    return g;
}

static int remember(struct ez_guard *g)
{
    if (g->fd < 0)
        return -1;
    if ((size_t)g->fd >= nbyfd) {
        size_t n = (size_t)g->fd + 1 > nbyfd * 2 ? (size_t)g->fd + 1 : nbyfd * 2;
        struct ez_guard **p = realloc(byfd, n * sizeof *p);
        if (!p)
            return -1;
        memset(p + nbyfd, 0, (n - nbyfd) * sizeof *p);
        byfd = p;
        nbyfd = n;
    }
    byfd[g->fd] = g;
    return 0;
}

int ez_guard_attach(struct ez_guard *g, struct evhttp_connection *evcon)
{
    g->fd = bufferevent_getfd(g->bev);
    if (remember(g) != 0) {
        log_error("cannot follow the connection on descriptor %d: out of memory", g->fd);
        return -1;
    }
    g->evcon = evcon;
    const struct sockaddr *sa = evhttp_connection_get_addr(evcon);
    char *addr = NULL;
    ev_uint16_t port = 0;
    if (!sa || sa->sa_family != AF_UNIX) /* libevent calls a Unix peer "localhost" */
        evhttp_connection_get_peer(evcon, &addr, &port);
    snprintf(g->remote, sizeof g->remote, "%s", addr && *addr ? addr : "unix");
    struct timeval wt = ms_tv(lim.write_timeout_ms);
    bufferevent_set_timeouts(g->bev, NULL, &wt);
    g->state = G_HEAD;
    arm(g, lim.header_timeout_ms);
    return 0;
}

void ez_guard_free(struct ez_guard *g)
{
    if (!g)
        return;
    if (g->cb)
        evbuffer_remove_cb_entry(bufferevent_get_input(g->bev), g->cb);
    if (g->timer)
        event_free(g->timer);
    if (g->resume)
        event_free(g->resume);
    if (g->staged)
        evbuffer_free(g->staged);
    if (g->fd >= 0 && (size_t)g->fd < nbyfd && byfd[g->fd] == g)
        byfd[g->fd] = NULL;
    free(g);
}

struct ez_guard *ez_guard_of(struct evhttp_connection *evcon)
{
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
    struct ez_guard *g = fd >= 0 && (size_t)fd < nbyfd ? byfd[fd] : NULL;
    return g && g->evcon == evcon ? g : NULL;
}

void ez_guard_dispatching(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct ez_guard *g = evcon ? ez_guard_of(evcon) : NULL;
    if (g)
        evhttp_request_set_on_complete_cb(req, on_complete, g);
}
