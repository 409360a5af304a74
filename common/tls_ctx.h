/* The TLS server context of the HTTP listeners, built from tls_cert_file and
 * tls_key_file by the config load, so that `ezapi -t`, the start and every
 * reload refuse an unreadable or mismatched pair alike, and the workers of a
 * generation serve exactly the pair that was checked. */
#ifndef EZ_TLS_CTX_H
#define EZ_TLS_CTX_H

#include <stddef.h>

struct ssl_ctx_st; /* OpenSSL's SSL_CTX */

enum ez_tls_file { EZ_TLS_CERT_FILE, EZ_TLS_KEY_FILE };

/* A server context (TLS 1.2 minimum, forward-secret AEAD suites) serving
 * the chain of cert_file with the key of key_file, or NULL with the reason
 * in why (naming the path, never the key's content) and the file at fault
 * in *at_fault. The caller frees it with SSL_CTX_free. */
struct ssl_ctx_st *ez_tls_ctx_new(const char *cert_file, const char *key_file,
                                  enum ez_tls_file *at_fault, char *why, size_t whylen)
    __attribute__((warn_unused_result));

#endif
