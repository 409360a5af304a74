/* Included before a suite written for plain HTTP, to build it a second
 * time (tests/check_http_limits_tls.c): every server it
 * starts serves TLS, and its clients reach it through a TLS proxy
 * (tlsproxy.h), so the connection guard's tests run on decrypted bytes. */
#ifndef EZ_TESTS_OVER_TLS_H
#define EZ_TESTS_OVER_TLS_H

#include "tlsproxy.h"

#define ht_server_start(s, extra) ht_tls_server_start((s), (extra))
#undef tcase_add_test
#define tcase_add_test(tc, tf) ht_tls_add_test((tc), (tf))

#endif
