/* The rules of masters and child keys (docs/tenants.md, docs/api.md) in one
 * place: the shape of every body, and the pure rules between fields and
 * rows (a key's namespaces within its master's, a default namespace within
 * the list) that the store applies once it has read the rows. */
#ifndef EZ_VALIDATE_TENANT_H
#define EZ_VALIDATE_TENANT_H

#include "store_tenants.h"
#include "validate.h"

enum ez_key_mode {
    EZ_KEY_ISSUE,        /* POST /v1/tokens, POST /admin/masters/{id}/keys */
    EZ_KEY_UPDATE_ADMIN, /* PUT /admin/keys/{id}: status, name, expires_at, model_limits, allow_ips */
    EZ_KEY_UPDATE_OWNER, /* PUT /v1/tokens/{id}: the above plus namespaces, default_namespace */
    EZ_KEY_ACCESS        /* PUT /admin/keys/{id}/access: namespaces, default_namespace */
};

/* Pointers and arrays in `in` refer into body. */
int ez_validate_master(json_t *body, int create, struct ez_master_in *in, struct ez_verr *e)
    __attribute__((warn_unused_result));
int ez_validate_master_access(json_t *body, struct ez_master_in *in, struct ez_verr *e)
    __attribute__((warn_unused_result));
int ez_validate_key(json_t *body, enum ez_key_mode mode, struct ez_child_key_in *in,
                    struct ez_verr *e) __attribute__((warn_unused_result));
/* {"grace_seconds": 0..86400}, body optional (0). */
int ez_validate_rotate(json_t *body, long long *grace_s, struct ez_verr *e)
    __attribute__((warn_unused_result));
/* An empty body, for actions such as revoke-keys. */
int ez_validate_empty(json_t *body, struct ez_verr *e) __attribute__((warn_unused_result));

/* RFC 3339 date-time (e.g. 2030-01-02T03:04:05Z, fractions and offsets
 * allowed) to unix seconds. 0, or -1 when malformed. */
int ez_tenant_parse_time(const char *s, long long *unix_s);
/* IPv4 or IPv6 address with an optional /prefix length. */
int ez_tenant_cidr_valid(const char *s);

/* The rules between rows, once the store has read them (422):
 * every entry of ns in `allowed` (when allowed is not NULL: the master's
 * namespaces), and def (when not NULL or empty) one of ns. 0, or -1 with
 * the refusal in e. */
int ez_tenant_rule_access(json_t *allowed, json_t *ns, const char *def, struct ez_verr *e);
/* The default a list gets when none is given: `preferred` if listed, else
 * the first entry, else NULL. Points into its arguments. */
const char *ez_tenant_default_for(json_t *ns, const char *preferred);
/* ?status= of a key list (NULL = any): active, suspended, revoked or
 * expired. */
int ez_validate_key_status_filter(const char *status, struct ez_verr *e)
    __attribute__((warn_unused_result));
/* Is name an entry of the array of strings? */
int ez_tenant_listed(json_t *list, const char *name);

#endif
