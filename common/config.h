/* Configuration: parse, validate and override from the environment, all
 * driven by config_table.h. A config is applied all or nothing: a load that
 * fails leaves the caller's current config untouched. */
#ifndef EZ_CONFIG_H
#define EZ_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#define EZ_EXIT_CONFIG 78 /* EX_CONFIG: bad configuration, never respawned */

#define EZ_CTYPE_LISTEN char *
#define EZ_CTYPE_WORKERS long long
#define EZ_CTYPE_REQUIRED_STR char *
#define EZ_CTYPE_STR char *
#define EZ_CTYPE_REQUIRED_DSN char *
#define EZ_CTYPE_DSN char *
#define EZ_CTYPE_REDIS_URL char *
#define EZ_CTYPE_REQUIRED_SECRET char *
#define EZ_CTYPE_SECRETS_KEY char *
#define EZ_CTYPE_CIDRS char *
#define EZ_CTYPE_INT long long
#define EZ_CTYPE_DURATION long long /* milliseconds */
#define EZ_CTYPE_LEVEL int          /* enum ez_log_level */
#define EZ_CTYPE_FORMAT int         /* 1 = json, 0 = text */
#define EZ_CTYPE_BOOL int           /* 1 = on, 0 = off */

enum {
#define X(name, kind, def, min, max, reload, help) EZ_CKEY_##name,
#include "config_table.h"
#undef X
    EZ_CONFIG_NKEYS
};

/* Where a key's value came from: line in the file (0 = not there), and
 * whether EZAPI_<KEY> set it (over the file's line, if any). */
struct ez_config_source {
    unsigned long line;
    int env;
};

struct ssl_ctx_st;

struct ez_config {
#define X(name, kind, def, min, max, reload, help) EZ_CTYPE_##kind name;
#include "config_table.h"
#undef X
    char *path;                    /* file it was read from */
    struct ez_config_source source[EZ_CONFIG_NKEYS]; /* by table order */
    unsigned char secrets_key_raw[32];
    int has_secrets_key;
    unsigned char secrets_key_previous_raw[32]; /* read only (key rotation) */
    int has_secrets_key_previous;
    /* The SSL_CTX of tls_cert_file and tls_key_file, built and checked by
     * the load; NULL for plain HTTP. Copies share it (reference counted). */
    struct ssl_ctx_st *tls_ctx;
};

/* Reads FILE (NULL = defaults only), applies EZAPI_<KEY> environment
 * overrides, validates everything and resolves `workers = auto`. On error
 * returns -1 with "FILE:LINE: KEY: reason" (or "env EZAPI_KEY: reason") in
 * err, and *out is left zeroed. On success *out owns its strings. */
int ez_config_load(const char *file, struct ez_config *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void ez_config_free(struct ez_config *c);
/* Deep copy. */
int ez_config_copy(struct ez_config *dst, const struct ez_config *src)
    __attribute__((warn_unused_result));
/* Names of keys that differ between a and b and are not reloadable, comma
 * separated in buf (empty when none). */
void ez_config_restart_keys_changed(const struct ez_config *a, const struct ez_config *b,
                                    char *buf, size_t len);
/* Gives every restart-only key of next the value it has in old. */
int ez_config_keep_restart_keys(struct ez_config *next, const struct ez_config *old)
    __attribute__((warn_unused_result));
/* Parses "250ms", "5s", "10m", "1h", or a bare number of seconds. */
int ez_parse_duration_ms(const char *s, long long *out);
/* The effective configuration, as `key = value` lines each after a comment
 * naming its source (file:line, env EZAPI_<KEY>, default), with secrets,
 * passwords and keys masked: what `ezapi -T` prints. */
void ez_config_write_effective(FILE *f, const struct ez_config *c);
/* The commented sample file and the ezapi.conf(5) man page, from the table. */
void ez_config_write_sample(FILE *f);
void ez_config_write_man(FILE *f);

#endif
