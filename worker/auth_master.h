/* Master authentication (docs/tenants.md): a bearer that is either the
 * master key (looked up by its SHA-256 digest) or a session JWT from
 * POST /v1/auth/token (HS256 with master_jwt_secret, bound to the master id
 * and its key generation). Never logs or returns any part of a credential. */
#ifndef EZ_AUTH_MASTER_H
#define EZ_AUTH_MASTER_H

#include <stdint.h>

#include "http.h"

/* For EZ_AUTH_MASTER routes: 0 with r->who set to the master, or -1 once
 * answered (401 with WWW-Authenticate: Bearer and an audit record, 403
 * for a suspended master, 503 when PostgreSQL is away). */
int ez_auth_master(struct ez_req *r) __attribute__((warn_unused_result));
/* 1 when bearer is a master key or a session token of an existing master
 * (whatever its status), so that an admin route can answer 403 instead of
 * 401. 0 otherwise, also when PostgreSQL cannot tell. */
int ez_auth_is_master_credential(const char *bearer);
/* Does the bearer have the shape of a JWT (a session, not a master key)? */
int ez_auth_master_is_session(const char *bearer);
/* A session token for the master, valid master_jwt_ttl. malloc'd, or NULL;
 * *exp receives its expiry (unix seconds). */
char *ez_master_session_mint(int64_t master_id, int64_t key_generation, long long *exp);

#endif
