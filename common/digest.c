/* SHA-256 with OpenSSL EVP and tokens from RAND_bytes. Tokens and their
 * digests never pass through a log line here. */
#include "digest.h"

#include <stdint.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

int ez_sha256_hex(const void *data, size_t len, char out[EZ_DIGEST_HEX_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    out[0] = '\0';
    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        return -1;
    for (unsigned int i = 0; i < mdlen; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[2 * mdlen] = '\0';
    OPENSSL_cleanse(md, sizeof md);
    return 0;
}

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int ez_b64url_encode(const unsigned char *in, size_t n, char *out, size_t outlen)
{
    if (outlen < (n * 8 + 5) / 6 + 1) {
        if (outlen)
            out[0] = '\0';
        return -1;
    }
    size_t o = 0;
    unsigned int acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = ((acc << 8) | in[i]) & 0xffff;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = b64url[(acc >> bits) & 63];
        }
    }
    if (bits > 0)
        out[o++] = b64url[(acc << (6 - bits)) & 63];
    out[o] = '\0';
    return 0;
}

int ez_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long ez_b64url_decode(const char *s, size_t n, unsigned char *out)
{
    if (n % 4 == 1)
        return -1;
    unsigned int acc = 0;
    int bits = 0;
    long len = 0;
    for (size_t i = 0; i < n; i++) {
        const char *hit = s[i] ? memchr(b64url, s[i], 64) : NULL;
        if (!hit)
            return -1;
        acc = ((acc << 6) | (unsigned int)(hit - b64url)) & 0xffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[len++] = (unsigned char)(acc >> bits);
        }
    }
    return len;
}

int ez_token_new(const char *prefix, char *out, size_t outlen)
{
    unsigned char raw[EZ_TOKEN_RANDOM_BYTES];
    size_t plen = strlen(prefix);
    if (outlen)
        out[0] = '\0';
    if (outlen <= plen || RAND_bytes(raw, sizeof raw) != 1)
        return -1;
    int rc = ez_b64url_encode(raw, sizeof raw, out + plen, outlen - plen);
    OPENSSL_cleanse(raw, sizeof raw);
    if (rc != 0) {
        out[0] = '\0';
        return -1;
    }
    memcpy(out, prefix, plen);
    return 0;
}

void ez_token_display(const char *token, char out[EZ_TOKEN_DISPLAY_LEN + 1])
{
    /* A short (legacy) key shows at most a third of itself. */
    size_t len = strlen(token), n = len / 3 < EZ_TOKEN_DISPLAY_LEN ? len / 3
                                                                   : EZ_TOKEN_DISPLAY_LEN;
    memcpy(out, token, n);
    out[n] = '\0';
}

int ez_secret_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return 0;
    return ez_bytes_equal(a, b, la);
}

int ez_bytes_equal(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    uint64_t diff = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t u, v;
        memcpy(&u, x + i, 8);
        memcpy(&v, y + i, 8);
        diff |= u ^ v;
    }
    for (; i < n; i++)
        diff |= (uint64_t)(x[i] ^ y[i]);
    return diff == 0;
}

int ez_digest_valid(const char *s)
{
    size_t i = 0;
    for (; s[i]; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')) ||
            i >= EZ_DIGEST_HEX_LEN)
            return 0;
    return i == EZ_DIGEST_HEX_LEN;
}
