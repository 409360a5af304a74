/* Upstream API keys at rest (AES-256-GCM via OpenSSL EVP) and their masked
 * form. Never logs a key, clear or sealed; failures return NULL and the
 * caller decides what to say. */
#include "secrets.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#define PREFIX "enc:v1:"
#define PREFIX_LEN (sizeof PREFIX - 1)
#define NONCE_LEN 12
#define TAG_LEN 16
/* Upstream keys are at most a few KiB; anything larger is not ours. */
#define MAX_CLEAR (64 * 1024)

static int gcm(int encrypt, const unsigned char key[32], const unsigned char nonce[NONCE_LEN],
               const unsigned char *in, int inlen, unsigned char *out, unsigned char tag[TAG_LEN])
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ok = ctx != NULL;
    int n = 0, fin = 0;
    ok = ok && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, encrypt) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1;
    ok = ok && EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, encrypt) == 1;
    ok = ok && (inlen == 0 || EVP_CipherUpdate(ctx, out, &n, in, inlen) == 1);
    if (ok && !encrypt)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1;
    ok = ok && EVP_CipherFinal_ex(ctx, out + n, &fin) == 1;
    if (ok && encrypt)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok && n + fin == inlen ? 0 : -1;
}

char *ez_secret_seal(const struct ez_config *cfg, const char *clear)
{
    if (!clear)
        return NULL;
    size_t len = strlen(clear);
    if (!cfg || !cfg->has_secrets_key)
        return strdup(clear);
    if (len > MAX_CLEAR)
        return NULL;
    size_t rawlen = NONCE_LEN + len + TAG_LEN;
    unsigned char *raw = malloc(rawlen);
    char *out = malloc(PREFIX_LEN + 4 * ((rawlen + 2) / 3) + 1);
    int ok = raw && out && RAND_bytes(raw, NONCE_LEN) == 1 &&
             gcm(1, cfg->secrets_key_raw, raw, (const unsigned char *)clear, (int)len,
                 raw + NONCE_LEN, raw + NONCE_LEN + len) == 0;
    if (ok) {
        memcpy(out, PREFIX, PREFIX_LEN);
        EVP_EncodeBlock((unsigned char *)out + PREFIX_LEN, raw, (int)rawlen);
    }
    if (raw)
        OPENSSL_cleanse(raw, rawlen);
    free(raw);
    if (!ok) {
        free(out);
        return NULL;
    }
    return out;
}

static int b64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
}

/* Strict padded base64: a malloc'd buffer and *outlen, or NULL. */
static unsigned char *b64_decode(const char *s, size_t *outlen)
{
    size_t len = strlen(s);
    if (len == 0 || len % 4 != 0 || len > 4 * MAX_CLEAR)
        return NULL;
    size_t pad = s[len - 1] == '=' ? (s[len - 2] == '=' ? 2 : 1) : 0;
    for (size_t i = 0; i < len - pad; i++)
        if (!b64_char(s[i]))
            return NULL;
    unsigned char *out = malloc(len / 4 * 3 + 1);
    if (!out)
        return NULL;
    int n = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len);
    if (n < 0 || (size_t)n < pad) {
        free(out);
        return NULL;
    }
    *outlen = (size_t)n - pad;
    return out;
}

/* The clear value of a sealed one (after the prefix) with key, or NULL. */
static char *open_with(const unsigned char key[32], const char *stored)
{
    size_t rawlen = 0;
    unsigned char *raw = b64_decode(stored, &rawlen);
    if (!raw)
        return NULL;
    char *clear = NULL;
    if (rawlen >= NONCE_LEN + TAG_LEN) {
        size_t len = rawlen - NONCE_LEN - TAG_LEN;
        clear = malloc(len + 1);
        if (clear && gcm(0, key, raw, raw + NONCE_LEN, (int)len,
                         (unsigned char *)clear, raw + NONCE_LEN + len) == 0 &&
            memchr(clear, 0, len) == NULL) {
            clear[len] = 0;
        } else if (clear) {
            OPENSSL_cleanse(clear, len);
            free(clear);
            clear = NULL;
        }
    }
    OPENSSL_cleanse(raw, rawlen);
    free(raw);
    return clear;
}

char *ez_secret_open(const struct ez_config *cfg, const char *stored)
{
    if (!stored)
        return NULL;
    if (strncmp(stored, PREFIX, PREFIX_LEN) != 0)
        return strdup(stored);
    char *clear = NULL;
    if (cfg && cfg->has_secrets_key)
        clear = open_with(cfg->secrets_key_raw, stored + PREFIX_LEN);
    if (!clear && cfg && cfg->has_secrets_key_previous)
        clear = open_with(cfg->secrets_key_previous_raw, stored + PREFIX_LEN);
    return clear;
}

int ez_secret_is_current(const struct ez_config *cfg, const char *stored)
{
    int sealed = strncmp(stored, PREFIX, PREFIX_LEN) == 0;
    if (!cfg->has_secrets_key)
        return !sealed;
    if (!sealed)
        return 0;
    char *clear = open_with(cfg->secrets_key_raw, stored + PREFIX_LEN);
    if (!clear)
        return 0;
    OPENSSL_cleanse(clear, strlen(clear));
    free(clear);
    return 1;
}

/* Printable ASCII is shown; any other byte becomes '*', so the mask is
 * always valid UTF-8 and never splits a character. */
static char shown(char c)
{
    return c > 0x20 && c < 0x7f ? c : '*';
}

void ez_secret_mask(const char *clear, char out[32])
{
    size_t len = clear ? strlen(clear) : 0;
    if (len < 12) {
        memcpy(out, "****", 5);
        return;
    }
    for (int i = 0; i < 4; i++) {
        out[i] = shown(clear[i]);
        out[7 + i] = shown(clear[len - 4 + i]);
    }
    memcpy(out + 4, "...", 3);
    out[11] = 0;
}
