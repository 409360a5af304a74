/* The TLS proxy of tlsproxy.h: a listening process that forks one relay
 * per connection. A relay copies what the client sends into SSL_write and
 * what SSL_read yields to the client; a client's half-close becomes a
 * close_notify, and when the server ends the relay shuts the client's
 * side, reads what the client still sends for at most 5 s (as the server
 * itself does, so the client gets the answer before any reset), and exits. */
#include "tlsproxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "harness.h"

#define LINGER_MS 5000

void ht_tls_make_cert(const char *dir, const char *name, char *cert, size_t certlen, char *key,
                     size_t keylen)
{
    char cmd[2048];
    snprintf(cert, certlen, "%s/%s.crt", dir, name);
    snprintf(key, keylen, "%s/%s.key", dir, name);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
             "-subj '/CN=%s' -addext 'subjectAltName=IP:127.0.0.1,DNS:localhost' "
             "-keyout '%s' -out '%s' >/dev/null 2>&1", name, key, cert);
    ck_assert_msg(system(cmd) == 0, "openssl req failed (is the openssl command installed?)");
}

static int ssl_write_all(SSL *ssl, const char *p, size_t n)
{
    while (n > 0) {
        int w = SSL_write(ssl, p, n > 65536 ? 65536 : (int)n);
        if (w <= 0 && (SSL_get_error(ssl, w) == SSL_ERROR_WANT_READ ||
                       SSL_get_error(ssl, w) == SSL_ERROR_WANT_WRITE))
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static SSL *tls_connect(int server_port, const char *ca_file, int *fdp)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)server_port) };
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (!ctx || fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1)
        return NULL;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    /* the relay polls: an SSL_read that consumed only TLS 1.3 session
     * tickets must return, not block for application data */
    SSL_CTX_clear_mode(ctx, SSL_MODE_AUTO_RETRY);
    SSL *ssl = SSL_new(ctx);
    if (!ssl || X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), "127.0.0.1") != 1 ||
        SSL_set_fd(ssl, fd) != 1 || SSL_connect(ssl) != 1)
        return NULL;
    *fdp = fd;
    return ssl;
}

/* After the server ended: the client gets an end of stream, and what it
 * still sends is read and dropped for a while before the close. */
static void linger(int client)
{
    char buf[65536];
    shutdown(client, SHUT_WR);
    for (int64_t end = ht_now_ms() + LINGER_MS; ht_now_ms() < end;) {
        struct pollfd p = { .fd = client, .events = POLLIN };
        if (poll(&p, 1, 100) > 0 && recv(client, buf, sizeof buf, 0) <= 0)
            break;
    }
}

static void relay(int client, int server_port, const char *ca_file)
{
    int sfd = -1, client_open = 1, server_writable = 1;
    SSL *ssl = tls_connect(server_port, ca_file, &sfd);
    char buf[65536];
    if (!ssl)
        return;
    for (;;) {
        struct pollfd p[2] = { { .fd = sfd, .events = POLLIN },
                               { .fd = client_open ? client : -1, .events = POLLIN } };
        if (!SSL_pending(ssl) && poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (SSL_pending(ssl) || (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
            int n = SSL_read(ssl, buf, sizeof buf);
            if (n <= 0) {
                int e = SSL_get_error(ssl, n);
                if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                    continue;
                break; /* the server ended */
            }
            if (ht_send_all(client, buf, (size_t)n) != 0)
                break;
        }
        if (client_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t n = recv(client, buf, sizeof buf, 0);
            if (n > 0 && server_writable && ssl_write_all(ssl, buf, (size_t)n) != 0)
                server_writable = 0; /* keep reading the server's answer */
            if (n == 0) {
                client_open = 0;
                SSL_shutdown(ssl);
                shutdown(sfd, SHUT_WR);
            } else if (n < 0 && errno != EINTR) {
                break;
            }
        }
    }
    if (client_open)
        linger(client);
}

void ht_tlsproxy_start(struct ht_tlsproxy *p, int server_port, const char *ca_file)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t alen = sizeof a;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    ck_assert_msg(lfd >= 0 && bind(lfd, (struct sockaddr *)&a, sizeof a) == 0 &&
                      listen(lfd, 512) == 0 &&
                      getsockname(lfd, (struct sockaddr *)&a, &alen) == 0,
                  "tls proxy: %s", strerror(errno));
    p->port = ntohs(a.sin_port);
    fflush(NULL);
    p->pid = fork();
    ck_assert_msg(p->pid >= 0, "fork: %s", strerror(errno));
    if (p->pid > 0) {
        close(lfd);
        return;
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    signal(SIGCHLD, SIG_IGN); /* relays are reaped by the kernel */
    signal(SIGPIPE, SIG_IGN);
    for (;;) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0)
            continue;
        pid_t r = fork();
        if (r == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            close(lfd);
            relay(c, server_port, ca_file);
            close(c);
            _exit(0);
        }
        close(c);
    }
}

void ht_tlsproxy_stop(struct ht_tlsproxy *p)
{
    if (p->pid > 0) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
    }
    p->pid = 0;
}

void ht_tls_server_start(struct ht_server *s, const char *extra_conf)
{
    static struct ht_tlsproxy proxy; /* one server per test */
    char cert[400], key[400];
    ht_server_init(s, extra_conf);
    ht_tls_make_cert(s->dir, "server", cert, sizeof cert, key, sizeof key);
    size_t cap = (extra_conf ? strlen(extra_conf) : 0) + 1024;
    char *conf = malloc(cap);
    ck_assert_ptr_nonnull(conf);
    snprintf(conf, cap, "%stls_cert_file = %s\ntls_key_file = %s\n", extra_conf ? extra_conf : "",
             cert, key);
    ht_server_write_conf(s, conf);
    free(conf);
    ht_tlsproxy_start(&proxy, s->port, cert);
    s->port = proxy.port;
    ht_server_spawn(s);
    ht_server_wait_ready(s);
}

void ht_tls_add_test(TCase *tc, const TTest *tf)
{
    static const char *const by_port[] = { "worker_connections_limit_holds_extra_clients",
                                           "descriptor_exhaustion_pauses_accepts" };
    for (size_t i = 0; i < sizeof by_port / sizeof by_port[0]; i++)
        if (strcmp(tf->name, by_port[i]) == 0)
            return;
    tcase_add_test(tc, tf);
}
