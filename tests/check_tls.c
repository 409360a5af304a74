/* TLS on the HTTP listener, as an operator sets it up: a certificate and
 * key in the config, served with TLS 1.2 or 1.3 and forward-secret suites
 * only; an unreadable or mismatched pair refused by `ezapi -t`, at start
 * and on reload alike; and a SIGHUP after the files were renewed serving
 * the new certificate to new connections without dropping open ones.
 * (tests/check_http_limits_tls.c runs the connection guard's tests over
 * TLS.) */
#include "tlsproxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/ssl.h>

struct tls_server {
    struct ht_server s;
    int port;            /* the server's own, TLS */
    char cert[400], key[400];
};

/* A server on TLS with the pair NAME.crt/NAME.key made in its directory. */
static void start(struct tls_server *t, const char *extra)
{
    char conf[2048];
    ht_server_init(&t->s, extra);
    t->port = t->s.port;
    ht_tls_make_cert(t->s.dir, "server", t->cert, sizeof t->cert, t->key, sizeof t->key);
    snprintf(conf, sizeof conf, "%stls_cert_file = %s\ntls_key_file = %s\n", extra ? extra : "",
             t->cert, t->key);
    ht_server_write_conf(&t->s, conf);
    ht_server_spawn(&t->s);
}

/* GET path through a new proxy trusting ca_file; the status, or -1. */
static int get_via(int port, const char *ca_file, const char *path)
{
    struct ht_tlsproxy p;
    struct ht_resp r;
    ht_tlsproxy_start(&p, port, ca_file);
    int st = ht_get(p.port, path, NULL, &r);
    ht_resp_free(&r);
    ht_tlsproxy_stop(&p);
    return st;
}

/* 1 when a handshake with these versions and TLS 1.2 suites completes. */
static int handshake(int port, int min, int max, const char *ciphers)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok = 0;
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    ck_assert(ctx && fd >= 0);
    SSL_CTX_set_security_level(ctx, 0); /* this client would take anything */
    ck_assert(SSL_CTX_set_cipher_list(ctx, ciphers) == 1);
    SSL_CTX_set_min_proto_version(ctx, min);
    SSL_CTX_set_max_proto_version(ctx, max);
    SSL *ssl = SSL_new(ctx);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0 && SSL_set_fd(ssl, fd) == 1)
        ok = SSL_connect(ssl) == 1;
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    close(fd);
    return ok;
}

START_TEST(serves_https_with_tls_1_2_or_1_3_only)
{
    struct tls_server t;
    start(&t, NULL);
    HT_EVENTUALLY(get_via(t.port, t.cert, "/health/ready") == 200, 20000,
                 "no answer over TLS:\n%s", ht_server_log_tail(&t.s, 20));
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "curl -sS --fail --cacert '%s' https://127.0.0.1:%d/health "
             "> '%s/curl.out' 2>&1", t.cert, t.port, t.s.dir);
    ck_assert_msg(system(cmd) == 0, "curl over https failed");
    ck_assert_msg(handshake(t.port, TLS1_3_VERSION, TLS1_3_VERSION, "ALL"), "TLS 1.3 refused");
    ck_assert_msg(handshake(t.port, TLS1_2_VERSION, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256"),
                  "TLS 1.2 with ECDHE and AES-GCM refused");
    ck_assert_msg(!handshake(t.port, TLS1_VERSION, TLS1_1_VERSION, "ALL:@SECLEVEL=0"),
                  "TLS 1.1 accepted");
    ck_assert_msg(!handshake(t.port, TLS1_2_VERSION, TLS1_2_VERSION, "AES128-SHA:AES256-SHA256"),
                  "a TLS 1.2 suite without forward secrecy accepted");
    struct ht_resp r;
    ck_assert_msg(ht_get(t.port, "/health", NULL, &r) != 200, "plain HTTP served on the TLS port");
    ht_resp_free(&r);
    ht_assert_clean_stop(&t.s);
}
END_TEST

/* ezapi -t on the config, then the server on it: both exit 78 with want
 * in the message, naming the key and its line. */
static void refused(struct tls_server *t, const char *cert, const char *key, const char *want)
{
    char conf[2048];
    struct ht_cmd c, run;
    snprintf(conf, sizeof conf, "%s%s%s%s%s", cert ? "tls_cert_file = " : "", cert ? cert : "",
             cert ? "\n" : "", key ? "tls_key_file = " : "", key ? key : "");
    ht_server_write_conf(&t->s, conf);
    ht_ezapi(&c, "-t", "-c", t->s.conf, NULL);
    ht_ezapi(&run, "-c", t->s.conf, NULL);
    ck_assert_msg(c.status == 78, "-t accepted %s", conf);
    ck_assert_msg(strstr(c.err, want), "-t said: %s (wanted %s)", c.err, want);
    ck_assert_msg(run.status == 78 && strcmp(run.err, c.err) == 0, "the server said (%d): %s",
                  run.status, run.err);
    ht_cmd_free(&c);
    ht_cmd_free(&run);
}

START_TEST(check_refuses_an_unreadable_or_mismatched_pair)
{
    struct tls_server t;
    char other_cert[400], other_key[400], missing[400], line[512];
    ht_server_init(&t.s, NULL);
    ht_tls_make_cert(t.s.dir, "server", t.cert, sizeof t.cert, t.key, sizeof t.key);
    ht_tls_make_cert(t.s.dir, "other", other_cert, sizeof other_cert, other_key, sizeof other_key);
    snprintf(missing, sizeof missing, "%s/missing.pem", t.s.dir);
    /* the harness writes 10 lines first */
    snprintf(line, sizeof line, ":12: tls_key_file: the key in %s does not match", other_key);
    refused(&t, t.cert, other_key, line);
    refused(&t, missing, t.key, ":11: tls_cert_file: cannot open");
    refused(&t, missing, t.key, "No such file or directory");
    refused(&t, t.cert, missing, ":12: tls_key_file: cannot open");
    refused(&t, t.key, t.key, "tls_cert_file: no PEM certificate chain in");
    refused(&t, t.cert, t.cert, "tls_key_file: no PEM private key in");
    refused(&t, t.cert, NULL, "tls_cert_file: needs tls_key_file too");
    refused(&t, NULL, t.key, "tls_key_file: needs tls_cert_file too");
}
END_TEST

static void copy_file(const char *from, const char *to)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s.new' && mv '%s.new' '%s'", from, to, to, to);
    ck_assert_msg(system(cmd) == 0, "%s", cmd);
}

/* Certificates renewed in place (as certbot does) and SIGHUP: new
 * connections get the new certificate, a connection opened before keeps
 * being answered, and a renewal that breaks the pair changes nothing. */
START_TEST(sighup_rereads_the_pair_without_dropping_connections)
{
    struct tls_server t;
    char new_cert[400], new_key[400];
    start(&t, NULL);
    HT_EVENTUALLY(get_via(t.port, t.cert, "/health/ready") == 200, 20000, "no answer over TLS");
    ht_tls_make_cert(t.s.dir, "renewed", new_cert, sizeof new_cert, new_key, sizeof new_key);
    struct ht_tlsproxy old;
    ht_tlsproxy_start(&old, t.port, t.cert); /* trusts the first certificate only */
    int fd = ht_connect(old.port);
    ck_assert(fd >= 0);
    const char *req = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    struct ht_resp r;
    ck_assert_int_eq(ht_send_all(fd, req, strlen(req)), 0);
    ck_assert_int_eq(ht_read_response(fd, "GET", &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert(!r.conn_close);
    ht_resp_free(&r);

    char saved_cert[420];
    snprintf(saved_cert, sizeof saved_cert, "%s.first", t.cert);
    copy_file(t.cert, saved_cert);
    copy_file(new_cert, t.cert);
    copy_file(new_key, t.key);
    ht_server_reload(&t.s);
    HT_EVENTUALLY(get_via(t.port, new_cert, "/health") == 200, 20000,
                 "new connections never got the renewed certificate:\n%s",
                 ht_server_log_tail(&t.s, 30));
    ck_assert_msg(get_via(t.port, saved_cert, "/health") == -1,
                  "a new connection still got the old certificate");
    /* the connection opened before the reload is answered */
    ck_assert_int_eq(ht_send_all(fd, req, strlen(req)), 0);
    ck_assert_msg(ht_read_response(fd, "GET", &r) == 0, "the open connection was dropped: %s",
                  r.err);
    ck_assert_int_eq(r.status, 200);
    ht_resp_free(&r);
    close(fd);
    ht_tlsproxy_stop(&old);

    /* a half-renewed pair (new key, old certificate) is refused by the reload */
    long mark = ht_server_log_mark(&t.s);
    copy_file(saved_cert, t.cert);
    ht_server_reload(&t.s);
    HT_EVENTUALLY(ht_server_log_contains_since(&t.s, mark, "reload refused"), 10000,
                 "a mismatched pair was not refused");
    ck_assert(ht_server_log_contains_since(&t.s, mark, "does not match the certificate"));
    ck_assert_int_eq(get_via(t.port, new_cert, "/health"), 200);
    ck_assert_int_eq(ht_server_stop(&t.s), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tls");
    TCase *t = ht_tcase("tls");
    tcase_add_test(t, serves_https_with_tls_1_2_or_1_3_only);
    tcase_add_test(t, check_refuses_an_unreadable_or_mismatched_pair);
    tcase_add_test(t, sighup_rereads_the_pair_without_dropping_connections);
    suite_add_tcase(s, t);
    return ht_run_suite(s);
}
