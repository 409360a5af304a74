/* TLS connections of a worker, through libevent's OpenSSL bufferevents:
 * evhttp and the connection guard (guard.c) read a TLS connection's
 * decrypted bytes from its bufferevent's input, as they read a plain one. */
#ifndef EZ_TLS_H
#define EZ_TLS_H

#include <event2/bufferevent.h>
#include <event2/event.h>

struct ssl_ctx_st;

/* A bufferevent for evhttp's next accepted connection (its bevcb): the TLS
 * handshake runs once evhttp gives it the socket. NULL when out of memory. */
struct bufferevent *ez_tls_bufferevent(struct event_base *base, struct ssl_ctx_st *ctx);
/* Sends close_notify on a TLS connection whose output is written, before
 * its write side is shut; nothing for a plain one. */
void ez_tls_close_notify(struct bufferevent *bev);

#endif
