/* Secrets of tenants: SHA-256 digests (lowercase hex of the exact bytes, the
 * contract with the data plane), fresh random tokens with their recognisable
 * prefixes, display prefixes, and a constant-time comparison. Nothing here
 * logs: callers must never log a token either. */
#ifndef EZ_DIGEST_H
#define EZ_DIGEST_H

#include <stddef.h>

#define EZ_DIGEST_HEX_LEN 64
#define EZ_TOKEN_RANDOM_BYTES 32 /* from RAND_bytes, base64url without padding */
#define EZ_TOKEN_MAX 64          /* longest token made here, NUL included */
#define EZ_TOKEN_DISPLAY_LEN 12  /* first characters shown as key_prefix */
#define EZ_MASTER_KEY_PREFIX "ezm_"
#define EZ_CHILD_KEY_PREFIX "sk-ez-"

/* Lowercase hex SHA-256 of len bytes into out (65 bytes with the NUL).
 * 0, or -1 when OpenSSL fails (out is then empty). */
int ez_sha256_hex(const void *data, size_t len, char out[EZ_DIGEST_HEX_LEN + 1])
    __attribute__((warn_unused_result));
/* A new token: prefix followed by base64url of EZ_TOKEN_RANDOM_BYTES bytes
 * from the OS CSPRNG. 0, or -1 when the CSPRNG fails or out is too small
 * (out is then empty). */
int ez_token_new(const char *prefix, char *out, size_t outlen)
    __attribute__((warn_unused_result));
/* The first EZ_TOKEN_DISPLAY_LEN characters of a token (at most a third of
 * a shorter one): the only part of a secret the API shows after creation. */
void ez_token_display(const char *token, char out[EZ_TOKEN_DISPLAY_LEN + 1]);
/* Equality of two NUL-terminated strings in time that depends only on
 * their lengths, not on where they differ. 1 when equal. */
int ez_secret_equal(const char *a, const char *b);
/* Whether the n bytes at a and b are the same, in a time that depends on n
 * alone: eight bytes a step, every step taken. */
int ez_bytes_equal(const void *a, const void *b, size_t n);
/* Unpadded base64url (RFC 4648 section 5) of n bytes into out. 0, or -1
 * when out (outlen bytes, NUL included) is too small. */
int ez_b64url_encode(const unsigned char *in, size_t n, char *out, size_t outlen)
    __attribute__((warn_unused_result));
/* Decodes n characters of unpadded base64url into out (at least n * 3 / 4
 * bytes). The decoded length, or -1 when malformed. */
long ez_b64url_decode(const char *s, size_t n, unsigned char *out)
    __attribute__((warn_unused_result));
/* The value of one hex digit (either case), or -1. */
int ez_hex_value(char c);
/* Is s 64 lowercase hex characters? */
int ez_digest_valid(const char *s);

#endif
