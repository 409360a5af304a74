/* Builds the listener's SSL_CTX. Nothing here logs or prompts: an encrypted
 * key is refused rather than asking for a passphrase on a terminal. */
#include "tls_ctx.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

/* TLS 1.2 suites with forward secrecy and AEAD only (Mozilla's
 * "intermediate" list without DHE); TLS 1.3 keeps OpenSSL's suites. */
#define TLS12_CIPHERS                                             \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"  \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"  \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

static int no_passphrase(char *buf, int size, int rwflag, void *arg)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)arg;
    return 0;
}

/* The reason of OpenSSL's last error, and the queue cleared. */
static const char *ssl_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    ERR_clear_error();
    return r ? r : "unknown error";
}

static int readable(const char *path, char *why, size_t whylen)
{
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        snprintf(why, whylen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    fclose(f);
    return 0;
}

static EVP_PKEY *read_key(const char *path, char *why, size_t whylen)
{
    FILE *f = fopen(path, "re");
    EVP_PKEY *key;
    if (f == NULL) {
        snprintf(why, whylen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    key = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
    fclose(f);
    if (key == NULL)
        snprintf(why, whylen, "no PEM private key in %s (an encrypted key is not supported): %s",
                 path, ssl_reason());
    return key;
}

static int configure(SSL_CTX *ctx, char *why, size_t whylen)
{
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1) {
        snprintf(why, whylen, "cannot set the TLS versions and suites: %s", ssl_reason());
        return -1;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* idle keep-alive connections hold no TLS buffers */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    return 0;
}

struct ssl_ctx_st *ez_tls_ctx_new(const char *cert_file, const char *key_file,
                                  enum ez_tls_file *at_fault, char *why, size_t whylen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    *at_fault = EZ_TLS_CERT_FILE;
    ERR_clear_error();
    if (ctx == NULL) {
        snprintf(why, whylen, "cannot create a TLS context: %s", ssl_reason());
        return NULL;
    }
    if (configure(ctx, why, whylen) != 0 || readable(cert_file, why, whylen) != 0)
        goto fail;
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        snprintf(why, whylen, "no PEM certificate chain in %s: %s", cert_file, ssl_reason());
        goto fail;
    }
    *at_fault = EZ_TLS_KEY_FILE;
    EVP_PKEY *key = read_key(key_file, why, whylen);
    if (key == NULL)
        goto fail;
    int match = X509_check_private_key(SSL_CTX_get0_certificate(ctx), key) == 1;
    int used = match && SSL_CTX_use_PrivateKey(ctx, key) == 1;
    EVP_PKEY_free(key);
    if (!match) {
        ERR_clear_error();
        snprintf(why, whylen, "the key in %s does not match the certificate in %s", key_file,
                 cert_file);
        goto fail;
    }
    if (!used) {
        snprintf(why, whylen, "cannot use the key in %s: %s", key_file, ssl_reason());
        goto fail;
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}
