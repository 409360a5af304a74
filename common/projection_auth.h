/* The tenants part of the projection (docs/redis.md): the auth:token
 * hash of each usable child-key secret and the auth:master hash of each
 * master, from their PostgreSQL rows. Pure: no I/O, the clock is a
 * parameter. The loaders are in store_auth.h. */
#ifndef EZ_PROJECTION_AUTH_H
#define EZ_PROJECTION_AUTH_H

#include <jansson.h>
#include <stdint.h>

#include "buf.h"
#include "projection.h"

#define EZ_KEY_AUTH_TOKEN_PREFIX "auth:token:"
#define EZ_KEY_AUTH_MASTER_PREFIX "auth:master:"
/* A grace period never exceeds this (POST /v1/tokens/{id}/rotate). */
#define EZ_MAX_GRACE_S 86400

/* One secret of a child key (a key_digests row with its key). Lists are
 * JSON arrays of strings (borrowed); NULL or empty = none. */
struct ez_token_row {
    const char *digest;            /* lowercase hex SHA-256 */
    int64_t key_id;
    int64_t master_id;
    int64_t issued_at_epoch;
    const char *status;            /* the key's stored status */
    const char *group;
    json_t *scopes;
    const char *default_namespace; /* NULL = "" */
    json_t *namespaces;
    json_t *model_limits;          /* NULL or empty = every model */
    json_t *allow_ips;             /* NULL or empty = any address */
    int64_t expires_at;            /* unix seconds, 0 = never */
    int64_t valid_until_us;        /* end of a rotation grace (unix µs); 0 = current secret */
};

struct ez_master_row {
    int64_t id;
    int64_t epoch;
    const char *status;
    const char *group;
    int64_t global_qps;
    const char *default_namespace; /* NULL = "" */
    json_t *namespaces;
};

/* "auth:token:<digest>" / "auth:master:<id>" (no redis_key_prefix), into
 * out; 0, or -1 when it does not fit. */
int ez_projection_token_key(const char *digest, char *out, size_t len);
int ez_projection_master_key(int64_t id, char *out, size_t len);

/* Does this secret get a hash at time now_us (unix µs)? A revoked key's
 * secrets do not, nor a grace secret whose grace is over. */
int ez_projection_token_usable(const struct ez_token_row *t, int64_t now_us);
/* The Redis TTL of a usable secret's hash, in seconds: 0 for the current
 * secret (no TTL), else the rest of the grace rounded up, at most
 * EZ_MAX_GRACE_S. */
long long ez_projection_token_ttl(const struct ez_token_row *t, int64_t now_us);

/* The fields of one auth:token or auth:master hash, in the contract's
 * order: names are static strings, values point into buf. Meant to be
 * reused from row to row (no allocation once buf is large enough); zero it
 * before the first use, ez_hash_fields_free it after the last. */
#define EZ_HASH_FIELDS_MAX 11
struct ez_hash_fields {
    int n;
    const char *name[EZ_HASH_FIELDS_MAX];
    const char *value[EZ_HASH_FIELDS_MAX];
    struct ez_buf buf;
};
void ez_hash_fields_free(struct ez_hash_fields *h);

/* key_id, master_id, issued_at_epoch, status, group, scopes,
 * default_namespace, namespaces, model_limits, allow_ips, expires_at
 * (lists comma-joined). 0, or -1 on OOM. */
int ez_projection_token_hash(const struct ez_token_row *t, struct ez_hash_fields *h)
    __attribute__((warn_unused_result));
/* epoch, status, group, global_qps, default_namespace, namespaces. */
int ez_projection_master_hash(const struct ez_master_row *m, struct ez_hash_fields *h)
    __attribute__((warn_unused_result));

/* The same fields as a JSON object of strings, in the same order. New
 * reference, NULL on OOM. */
json_t *ez_projection_token_fields(const struct ez_token_row *t);
json_t *ez_projection_master_fields(const struct ez_master_row *m);

/* Adds to a write set: the secret's hash owned whole, and its fields when
 * usable (a hash owned with no field produced is deleted). 0 or -1 (OOM). */
int ez_projection_token_add(struct ez_write_set *s, const struct ez_token_row *t, int64_t now_us)
    __attribute__((warn_unused_result));
/* m NULL: the master is gone and its hash is owned with nothing produced. */
int ez_projection_master_add(struct ez_write_set *s, int64_t id, const struct ez_master_row *m)
    __attribute__((warn_unused_result));
/* A digest whose row is gone: its hash owned with nothing produced. */
int ez_projection_token_gone(struct ez_write_set *s, const char *digest)
    __attribute__((warn_unused_result));

#endif
