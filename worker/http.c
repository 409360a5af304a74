/* Request pipeline: id, body size (413), route (404/405), authentication
 * (401/403), content type (415), JSON body (400), handler, access log,
 * audit job. Malformed requests and bodies over max_body_size never get
 * here: the connection guard (guard.c) answers them while reading. */
#include "http.h"

#include "digest.h"

#include <ctype.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/rand.h>

#include "auth.h"
#include "body.h"
#include "db.h"
#include "guard.h"
#include "jobs.h"
#include "log.h"
#include "metrics.h"
#include "routes.h"
#include "ui.h"
#include "worker.h"

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int ez_request_id_valid(const char *id)
{
    size_t n = 0;
    for (; id[n]; n++) {
        char c = id[n];
        if (!(isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-') || n >= 128)
            return 0;
    }
    return n >= 1;
}

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Request ids only need to be unique, not secret: a per-process random
 * seed (taken once from the CSPRNG, in the worker: the supervisor never
 * makes ids, so every forked worker starts unseeded) and a counter, mixed. */
void ez_request_id_new(char out[33])
{
    static uint64_t seed[2], counter;
    static int seeded;
    if (!seeded) {
        seeded = 1;
        if (RAND_bytes((unsigned char *)seed, sizeof seed) != 1) {
            seed[0] = (uint64_t)now_us();
            seed[1] = (uint64_t)getpid();
        }
    }
    counter++;
    uint64_t v[2] = { splitmix64(seed[0] + counter), splitmix64(seed[1] ^ counter) };
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        unsigned char b = (unsigned char)(v[i / 8] >> (8 * (i % 8)));
        out[2 * i] = hex[b >> 4];
        out[2 * i + 1] = hex[b & 15];
    }
    out[32] = 0;
}

static const char *method_name(enum evhttp_cmd_type t)
{
    switch (t) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    case EVHTTP_REQ_TRACE: return "TRACE";
    case EVHTTP_REQ_CONNECT: return "CONNECT";
    case EVHTTP_REQ_PATCH: return "PATCH";
    }
    return "UNKNOWN";
}

static void finish(struct ez_req *r)
{
    int64_t latency = now_us() - r->start_us;
    ez_log_access(r->method, r->path ? r->path : "-", r->status, (long long)latency, r->remote);
    ez_metric_http(r->route ? (int)(r->route - ez_routes) : -1, r->status, latency);
    ez_jobs_audit(r, latency);
}

/* Every answer goes through here: exactly once, with the request id. */
static void answer(struct ez_req *r, int status, const char *content_type, const char *data,
                 size_t len)
{
    if (r->status) { /* answered already: a handler bug, never a double reply */
        log_error("second reply (%d) to one request ignored", status);
        return;
    }
    r->status = status;
    /* libevent arms the write timeout from the time it cached when this
     * turn of the loop began: after a handler that ran for long (an import,
     * an export, a verify) that time is older than request_timeout, and
     * the reply would be dropped as timed out before it is written. */
    struct evhttp_connection *conn = evhttp_request_get_connection(r->ev);
    if (conn)
        event_base_update_cache_time(evhttp_connection_get_base(conn));
    struct evkeyvalq *out = evhttp_request_get_output_headers(r->ev);
    evhttp_add_header(out, "X-Request-ID", r->request_id);
    if (ez_w.retiring)
        evhttp_add_header(out, "Connection", "close");
    struct evbuffer *buf = evbuffer_new();
    if (content_type && strcmp(r->method, "HEAD") == 0) {
        /* libevent sends no body to a HEAD, and no length: say the GET's */
        char n[24];
        snprintf(n, sizeof n, "%zu", len);
        evhttp_add_header(out, "Content-Type", content_type);
        evhttp_add_header(out, "Content-Length", n);
    } else if (content_type) {
        evhttp_add_header(out, "Content-Type", content_type);
        evbuffer_add(buf, data, len);
    }
    evhttp_send_reply(r->ev, status, NULL, buf);
    evbuffer_free(buf);
}

void ez_reply_text(struct ez_req *r, int status, const char *content_type, const char *data,
                   size_t len)
{
    answer(r, status, content_type, data, len);
}

void ez_reply_json(struct ez_req *r, int status, json_t *body)
{
    if (r->commit_unknown && status >= 200 && status < 300) {
        json_decref(body);
        ez_reply_db(r, EZ_DB_UNKNOWN);
        return;
    }
    char *s = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))
                   : NULL;
    json_decref(body);
    if (body && !s) {
        answer(r, 500, NULL, NULL, 0);
        return;
    }
    answer(r, status, s ? "application/json" : NULL, s, s ? strlen(s) : 0);
    free(s);
}

json_t *ez_error_doc(const char *type, const char *code, const char *param, const char *msg,
                     const char *request_id)
{
    json_t *err = json_pack("{s:s, s:s, s:s, s:o, s:s}", "type", type, "code",
                            code ? code : type, "message", msg,
                            "param", param ? json_string(param) : json_null(),
                            "request_id", request_id);
    if (!err) /* message not valid UTF-8: never fail to answer */
        err = json_pack("{s:s, s:s, s:s, s:n, s:s}", "type", type, "code", code ? code : type,
                        "message", "invalid request", "param", "request_id", request_id);
    return json_pack("{s:o}", "error", err);
}

static void reply_verror(struct ez_req *r, int status, const char *type, const char *code,
                         const char *param, const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    ez_reply_json(r, status, ez_error_doc(type, code, param, msg, r->request_id));
}

void ez_reply_error(struct ez_req *r, int status, const char *type, const char *code,
                    const char *param, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    reply_verror(r, status, type, code, param, fmt, ap);
    va_end(ap);
}

void ez_reply_invalid(struct ez_req *r, const char *param, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    reply_verror(r, 400, "invalid_request_error", "invalid_request", param, fmt, ap);
    va_end(ap);
}

void ez_reply_not_found(struct ez_req *r, const char *what)
{
    ez_reply_error(r, 404, "not_found_error", "not_found", NULL, "%s not found", what);
}

void ez_reply_db(struct ez_req *r, int db_rc)
{
    if (db_rc == EZ_DB_UNKNOWN)
        ez_reply_error(r, 503, "unavailable_error", "commit_outcome_unknown", NULL,
                       "the database connection was lost while the change was committed: it "
                       "may or may not have been applied; read the resource before retrying");
    else if (db_rc == EZ_DB_UNAVAILABLE)
        ez_reply_error(r, 503, "unavailable_error", "database_unavailable", NULL,
                       "the database is unavailable; retry later");
    else
        ez_reply_error(r, 500, "api_error", "database_error", NULL,
                       "the database refused the request");
}

/* 1 when the write's change may exist: EZ_DB_OK, or EZ_DB_UNKNOWN (marked
 * on the request); 0 after answering any other status. */
static int committed(struct ez_req *r, int db_rc)
{
    if (db_rc == EZ_DB_OK)
        return 1;
    if (db_rc != EZ_DB_UNKNOWN) {
        ez_reply_db(r, db_rc);
        return 0;
    }
    r->commit_unknown = 1;
    r->xid = ez_db_xid(ez_w.db);
    return 1;
}

static const char *refusal_type(enum ez_result status)
{
    switch (status) {
    case EZ_NOT_FOUND: return "not_found_error";
    case EZ_CONFLICT: return "conflict_error";
    case EZ_FAILED: return "api_error";
    default: return "invalid_request_error";
    }
}

static const char *refusal_code(enum ez_result status)
{
    switch (status) {
    case EZ_NOT_FOUND: return "not_found";
    case EZ_CONFLICT: return "conflict";
    case EZ_RULE: return "invalid_reference";
    case EZ_FAILED: return "api_error";
    default: return "invalid_value";
    }
}

json_t *ez_refusal_doc(const struct ez_verr *e, const char *request_id)
{
    return ez_error_doc(refusal_type(e->status), e->code ? e->code : refusal_code(e->status),
                        e->param, e->msg, request_id);
}

int ez_reply_outcome(struct ez_req *r, const struct ez_outcome *o, const char *what)
{
    const struct ez_verr *e = &o->e;
    if (!committed(r, o->db))
        return 0;
    if (e->status == EZ_DONE)
        return 1;
    if (e->status == EZ_NOT_FOUND)
        ez_reply_not_found(r, what);
    else
        ez_reply_error(r, e->status, refusal_type(e->status),
                       e->code ? e->code : refusal_code(e->status), e->param, "%s", e->msg);
    return 0;
}

void ez_reply_found(struct ez_req *r, int db_rc, json_t *row, const char *what)
{
    if (db_rc != EZ_DB_OK) {
        json_decref(row);
        ez_reply_db(r, db_rc);
    } else if (!row) {
        ez_reply_not_found(r, what);
    } else {
        ez_reply_json(r, 200, row);
    }
}

void ez_reply_found_text(struct ez_req *r, int db_rc, char *row, const char *what)
{
    if (db_rc != EZ_DB_OK)
        ez_reply_db(r, db_rc);
    else if (!row)
        ez_reply_not_found(r, what);
    else
        answer(r, 200, "application/json", row, strlen(row));
    free(row);
}

void ez_reply_row_by_id(struct ez_req *r, struct ez_db *db, ez_row_by_id_fn *fetch,
                        const char *what)
{
    int64_t id;
    char *out = NULL;
    if (ez_param_id(r, 0, &id) != 0)
        return;
    int rc = fetch(db, id, &out);
    ez_reply_found_text(r, rc, out, what);
}

const char *ez_query(struct ez_req *r, const char *name)
{
    return evhttp_find_header(&r->query, name);
}

int ez_parse_id(const char *s, int64_t *out)
{
    uint64_t v = 0;
    size_t n = 0;
    for (; s[n]; n++) {
        if (!isdigit((unsigned char)s[n]) || n == 19)
            return -1;
        v = v * 10 + (uint64_t)(s[n] - '0');
    }
    if (n == 0 || s[0] == '0' || v > (uint64_t)INT64_MAX)
        return -1;
    *out = (int64_t)v;
    return 0;
}

int ez_param_id(struct ez_req *r, int i, int64_t *out)
{
    const char *s = i < r->nparams ? r->params[i] : NULL;
    if (!s || ez_parse_id(s, out) != 0) {
        ez_reply_invalid(r, "id", "the id in the path must be a positive decimal integer "
                                  "(digits only, no sign, no leading zero, at most "
                                  "9223372036854775807)");
        return -1;
    }
    return 0;
}

/* Percent-decodes s[0..n) ('+' is a space in a query): a malloc'd string,
 * or NULL when a '%' is not followed by two hex digits or a decoded byte is
 * a control character (NUL included). */
static char *query_decode(const char *s, size_t n)
{
    char *out = malloc(n + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = i + 2 < n ? ez_hex_value(s[i + 1]) : -1;
            int lo = hi >= 0 ? ez_hex_value(s[i + 2]) : -1;
            if (lo < 0)
                goto bad;
            c = (unsigned char)(hi * 16 + lo);
            i += 2;
        }
        if (c < 0x20 || c == 0x7f)
            goto bad;
        *o++ = (char)c;
    }
    *o = 0;
    return out;
bad:
    free(out);
    return NULL;
}

/* One name=value component; -1 names the field in bad when it can. */
static int query_pair(const char *p, size_t n, struct evkeyvalq *out, char *bad, size_t badlen)
{
    const char *eq = memchr(p, '=', n);
    char *name = eq && eq > p ? query_decode(p, (size_t)(eq - p)) : NULL;
    if (!name)
        return -1;
    char *value = query_decode(eq + 1, n - (size_t)(eq + 1 - p));
    int rc = -1;
    if (value && !evhttp_find_header(out, name))
        rc = evhttp_add_header(out, name, value);
    if (rc != 0)
        snprintf(bad, badlen, "%s", name);
    free(name);
    free(value);
    return rc;
}

int ez_query_parse(const char *qs, struct evkeyvalq *out, char *bad, size_t badlen)
{
    bad[0] = 0;
    for (const char *p = qs; *p;) {
        size_t n = strcspn(p, "&");
        /* a trailing '&' leaves an empty component */
        if (query_pair(p, n, out, bad, badlen) != 0 || (p[n] == '&' && !p[n + 1])) {
            evhttp_clear_headers(out);
            return -1;
        }
        p += n + (p[n] == '&');
    }
    return 0;
}

void ez_audit(struct ez_req *r, const char *action, const char *resource, const char *id,
              json_t *before, json_t *after)
{
    r->audit_action = action;
    r->audit_resource = resource;
    snprintf(r->audit_resource_id, sizeof r->audit_resource_id, "%s", id ? id : "");
    json_decref(r->audit_before);
    json_decref(r->audit_after);
    r->audit_before = before;
    r->audit_after = after;
}

/* The body limit of a path, as the connection guard applied it. */
static size_t body_limit(const char *path)
{
    struct ez_guard_limits l = { .max_body_size = (uint64_t)ez_w.cfg->max_body_size,
                                 .max_import_body_size =
                                     (uint64_t)ez_w.cfg->import_max_body_size };
    return (size_t)ez_guard_body_limit(&l, path);
}

/* Parses the body into r->body. 0, or -1 after answering 415/400. */
static int read_body(struct ez_req *r)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(r->ev);
    size_t len = evbuffer_get_length(in);
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(r->ev), "Content-Type");
    char msg[512];
    size_t n = r->route->raw_body ? strlen(r->route->raw_body) : 0;
    if (n && ct && strncasecmp(ct, r->route->raw_body, n) == 0 && (!ct[n] || ct[n] == ';'))
        return 0; /* the handler reads it */
    int status = ez_body_parse(ct, len ? (const char *)evbuffer_pullup(in, -1) : "", len,
                               &r->body, msg, sizeof msg);
    if (status == 0)
        return 0;
    ez_reply_error(r, status, "invalid_request_error",
                   status == 415 ? "unsupported_media_type" : "invalid_json", NULL, "%s", msg);
    return -1;
}

/* The peer's IP address, or "unix" (libevent would name a Unix-socket
 * peer "localhost", as if it came over TCP). */
static void set_remote(struct ez_req *r)
{
    struct evhttp_connection *c = evhttp_request_get_connection(r->ev);
    const struct sockaddr *sa = c ? evhttp_connection_get_addr(c) : NULL;
    char *addr = NULL;
    ev_uint16_t port = 0;
    if (c && (!sa || sa->sa_family != AF_UNIX))
        evhttp_connection_get_peer(c, &addr, &port);
    snprintf(r->remote, sizeof r->remote, "%s", addr && *addr ? addr : "unix");
}

void ez_http_dispatch(struct evhttp_request *ev, void *arg)
{
    (void)arg;
    struct ez_req r = { .ev = ev, .start_us = now_us() };
    r.method = method_name(evhttp_request_get_command(ev));
    TAILQ_INIT(&r.query);
    const char *rid = evhttp_find_header(evhttp_request_get_input_headers(ev), "X-Request-ID");
    if (rid && ez_request_id_valid(rid))
        snprintf(r.request_id, sizeof r.request_id, "%s", rid);
    else
        ez_request_id_new(r.request_id);
    ez_log_set_request_id(r.request_id);
    set_remote(&r);

    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const char *qs = uri ? evhttp_uri_get_query(uri) : NULL;
    r.path = strdup(path && *path ? path : "/");
    char allow[128], bad[64];
    size_t body_len = evbuffer_get_length(evhttp_request_get_input_buffer(ev));
    if (!r.path) {
        ez_reply_error(&r, 500, "api_error", NULL, NULL, "out of memory");
    } else if (body_len > body_limit(r.path)) {
        ez_reply_error(&r, 413, "invalid_request_error", "body_too_large", NULL,
                       "the request body is larger than %llu bytes",
                       (unsigned long long)body_limit(r.path));
    } else if (qs && ez_query_parse(qs, &r.query, bad, sizeof bad) != 0) {
        ez_reply_invalid(&r, bad[0] ? bad : NULL,
                         "malformed query string: each parameter must be name=value, once, "
                         "percent-encoded, without control characters");
    } else {
        if (ez_ui_path(r.path))
            ez_ui_security_headers(&r);
        int m = ez_route_match(r.method, r.path, &r.route, r.params, &r.nparams, allow,
                               sizeof allow);
        /* HEAD is a GET whose body libevent leaves out: a GET route answers
         * it, with the headers (Content-Length included) of the GET. */
        if (m == EZ_ROUTE_BAD_METHOD && strcmp(r.method, "HEAD") == 0)
            m = ez_route_match("GET", r.path, &r.route, r.params, &r.nparams, allow,
                               sizeof allow);
        if (m == EZ_ROUTE_BAD_PARAM) {
            int i = r.nparams;
            r.nparams = 0;
            ez_route_param_name(r.route, i, bad, sizeof bad);
            ez_reply_invalid(&r, bad, "the %s in the path is not validly percent-encoded "
                                      "or holds a control character", bad);
        } else if (m == EZ_ROUTE_NOT_FOUND && ez_ui_path(r.path)) {
            ez_ui_not_found(&r);
        } else if (m == EZ_ROUTE_NOT_FOUND) {
            ez_reply_error(&r, 404, "not_found_error", "route_not_found", NULL,
                           "no route for %s %s", r.method, r.path);
        } else if (m == EZ_ROUTE_BAD_METHOD) {
            evhttp_add_header(evhttp_request_get_output_headers(ev), "Allow", allow);
            ez_reply_error(&r, 405, "invalid_request_error", "method_not_allowed", NULL,
                           "method %s not allowed here; allowed: %s", r.method, allow);
        } else if (ez_authenticate(&r) == 0 && read_body(&r) == 0) {
            r.route->handler(&r);
            if (!r.status) {
                log_error("handler for %s %s did not answer", r.method, r.route->path);
                ez_reply_error(&r, 500, "api_error", NULL, NULL, "internal error");
            }
        }
    }
    finish(&r);
    for (int i = 0; i < r.nparams; i++)
        free(r.params[i]);
    evhttp_clear_headers(&r.query);
    json_decref(r.body);
    json_decref(r.audit_before);
    json_decref(r.audit_after);
    free(r.path);
    ez_log_set_request_id(NULL);
}
