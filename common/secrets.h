/* Upstream API keys at rest: AES-256-GCM with secrets_key when one is
 * configured ("enc:v1:" + base64(nonce || ciphertext || tag)), clear text
 * otherwise, read with secrets_key_previous too while a key is rotated;
 * and the masked form every API answer and log shows. */
#ifndef EZ_SECRETS_H
#define EZ_SECRETS_H

#include "config.h"

/* The value to store for a clear upstream key. malloc'd, NULL on failure. */
char *ez_secret_seal(const struct ez_config *cfg, const char *clear);
/* The clear key from a stored value (a value without the prefix is
 * returned as is), opened with secrets_key or else secrets_key_previous.
 * malloc'd; NULL when it cannot be decrypted (no key, wrong key, corrupt):
 * the caller logs the row id, never the value. */
char *ez_secret_open(const struct ez_config *cfg, const char *stored);
/* 1 when stored is what ez_secret_seal writes now: sealed with
 * secrets_key, or clear when there is none. 0 for a value `ezapi rekey`
 * must re-seal (or cannot read). */
int ez_secret_is_current(const struct ez_config *cfg, const char *stored);
/* First 4 and last 4 characters ("sk-1...9xyz"); "****" when shorter than
 * 12 characters, so short keys are never shown whole. */
void ez_secret_mask(const char *clear, char out[32]);

#endif
