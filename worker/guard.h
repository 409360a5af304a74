/* The connection guard: every byte a client sends is read by it before
 * evhttp sees any. It follows the framing of each request (head, then a
 * Content-Length or chunked body; one request at a time, so pipelined
 * answers keep their order), enforces the header, body and keep-alive
 * deadlines and the header size, and answers whatever is malformed itself,
 * in JSON, then closes. evhttp only ever gets whole, well-formed heads and
 * bodies within max_body_size, so none of its HTML error pages is sent. */
#ifndef EZ_GUARD_H
#define EZ_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include <event2/bufferevent.h>
#include <event2/http.h>

#include "h1.h"

struct ez_guard;

struct ez_guard_limits {
    long long header_timeout_ms;    /* the whole head, from its first byte (or the accept) */
    long long body_timeout_ms;      /* the whole body, from the end of the head */
    long long keepalive_timeout_ms; /* between a response and the next request's first byte */
    long long write_timeout_ms;     /* a response's bytes not taken by the client */
    size_t max_header_size;
    uint64_t max_body_size;
    uint64_t max_import_body_size; /* POST /admin/import (ez_guard_body_limit) */
};

/* The body limit of a request target: max_import_body_size for
 * /admin/import, max_body_size for any other. */
uint64_t ez_guard_body_limit(const struct ez_guard_limits *l, const char *target);

void ez_guard_set_limits(const struct ez_guard_limits *l);

/* A guard for the bufferevent evhttp is about to build a connection on
 * (its bevcb); NULL when out of memory. */
struct ez_guard *ez_guard_new(struct bufferevent *bev);
struct bufferevent *ez_guard_bev(const struct ez_guard *g);
/* Once evhttp has built evcon on the guard's bufferevent, in the same loop
 * turn as the accept (before any byte is read): starts the deadlines. -1
 * when out of memory: the caller closes the connection. */
int ez_guard_attach(struct ez_guard *g, struct evhttp_connection *evcon)
    __attribute__((warn_unused_result));
/* From evhttp's close callback of the connection, or for a guard never
 * attached. */
void ez_guard_free(struct ez_guard *g);
/* The guard of an attached connection, or NULL. */
struct ez_guard *ez_guard_of(struct evhttp_connection *evcon);
/* Called as evhttp hands a request to the server: the guard reads the next
 * one once this one's answer has been written. */
void ez_guard_dispatching(struct evhttp_request *req);

/* The JSON answer (malloc'd) the guard sends for a refusal of the framing,
 * with request id rid; NULL when out of memory. Pure. */
char *ez_guard_error_json(const struct ez_h1_error *e, const char *rid);

#endif
