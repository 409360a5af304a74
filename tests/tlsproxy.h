/* TLS for the integration tests: a certificate made for the test, a proxy
 * that takes plain connections on a port of its own and carries each over
 * one TLS connection (verified against that certificate) to the server, and
 * the wrappers that run a whole suite written for plain HTTP over TLS
 * (tests/over_tls.h). The proxy relays bytes as they come, both ways, and
 * passes closes on, so slow, pipelined and half-closed clients reach the
 * server as they would over TLS themselves. It dies with the test. */
#ifndef EZ_TESTS_TLSPROXY_H
#define EZ_TESTS_TLSPROXY_H

#include <check.h>
#include <sys/types.h>

#include "harness.h"

struct ht_tlsproxy {
    pid_t pid;
    int port;      /* plain, on 127.0.0.1 */
};

/* Writes dir/NAME.crt and dir/NAME.key: a self-signed P-256 certificate
 * for 127.0.0.1 and localhost (subject CN=NAME) and its key. */
void ht_tls_make_cert(const char *dir, const char *name, char *cert, size_t certlen, char *key,
                     size_t keylen);
/* Forks a proxy to 127.0.0.1:server_port that trusts only the certificates
 * in ca_file; a connection whose handshake fails is closed unanswered. */
void ht_tlsproxy_start(struct ht_tlsproxy *p, int server_port, const char *ca_file);
void ht_tlsproxy_stop(struct ht_tlsproxy *p);

/* ht_server_start with tls_cert_file and tls_key_file of a certificate made
 * in the server's directory; s->port is then a proxy's port. */
void ht_tls_server_start(struct ht_server *s, const char *extra_conf);
/* tcase_add_test, less the tests that look at the server's own sockets by
 * their port (a proxy stands in between). */
void ht_tls_add_test(TCase *tc, const TTest *tf);

#endif
