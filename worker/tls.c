/* One SSL per connection on the context the config load built (so a
 * reload's new workers serve the re-read pair while the old ones finish
 * their connections on the old). No logging: a failed handshake is the
 * client's and closes its connection like any read error. */
#include "tls.h"

#include <event2/bufferevent_ssl.h>
#include <openssl/ssl.h>

struct bufferevent *ez_tls_bufferevent(struct event_base *base, struct ssl_ctx_st *ctx)
{
    SSL *ssl = SSL_new(ctx);
    struct bufferevent *bev;
    if (ssl == NULL)
        return NULL;
    bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                         BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL) {
        SSL_free(ssl);
        return NULL;
    }
    /* a client that closes without close_notify has ended, not failed */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

void ez_tls_close_notify(struct bufferevent *bev)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    if (ssl && SSL_is_init_finished(ssl))
        SSL_shutdown(ssl);
}
