/* tests/check_http_limits.c again, over TLS: every server serves TLS with a
 * certificate made for the test and every client goes through a TLS proxy
 * (over_tls.h), so the connection guard's deadlines, sizes and strict
 * framing are checked on the decrypted bytes of OpenSSL bufferevents. */
#include "over_tls.h"

#include "check_http_limits.c"
