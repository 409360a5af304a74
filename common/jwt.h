/* HS256 JSON Web Tokens of admins and of master sessions (docs/api.md,
 * docs/tenants.md). Only HS256 is accepted; iss, sub and exp are required;
 * nbf and iat are honoured with EZ_JWT_LEEWAY seconds of clock skew. The
 * kinds are told apart by their claims: an admin token carries a role and
 * no aud; a session carries aud = EZ_JWT_SESSION_AUD and no role. */
#ifndef EZ_JWT_H
#define EZ_JWT_H

#include <stdint.h>

#include "config.h"

#define EZ_JWT_LEEWAY 30
#define EZ_JWT_SESSION_AUD "ezapi-master-session"
/* A session's sub is the master id in at most 18 decimal digits: minting
 * refuses a larger id rather than issue a token that never verifies. */
#define EZ_JWT_MAX_MASTER_DIGITS 18
#define EZ_JWT_MAX_MASTER_ID 999999999999999999LL

struct ez_admin_claims {
    char sub[129];
    int viewer; /* role = viewer: read-only */
    long long exp;
    long long not_before; /* the later of nbf and iat; 0 when neither is set */
};

struct ez_session_claims {
    int64_t master_id;      /* sub */
    int64_t key_generation; /* gen */
    long long exp;
};

/* Mints an admin token (iss, sub, role, iat, exp = now + ttl_s) with
 * admin_jwt_secret. malloc'd string, or NULL. role is "admin" or "viewer". */
char *ez_jwt_mint_admin(const struct ez_config *cfg, const char *sub, const char *role,
                        long long ttl_s);
/* 0 when valid (claims filled), -1 otherwise with a short reason in *why
 * (static string, safe to show: never contains the token). */
int ez_jwt_verify_admin(const struct ez_config *cfg, const char *token,
                        struct ez_admin_claims *out, const char **why)
    __attribute__((warn_unused_result));
/* Mints a master session token (iss, sub = the master id, aud, scope =
 * master, gen, iat, exp = now + master_jwt_ttl) with master_jwt_secret.
 * malloc'd, or NULL (also for a master id over EZ_JWT_MAX_MASTER_ID); *exp
 * receives its expiry (unix seconds). */
char *ez_jwt_mint_session(const struct ez_config *cfg, int64_t master_id, int64_t key_generation,
                          long long *exp);
/* As ez_jwt_verify_admin, for a session token. Whether the master still
 * exists with that key generation is the caller's question. */
int ez_jwt_verify_session(const struct ez_config *cfg, const char *token,
                          struct ez_session_claims *out, const char **why)
    __attribute__((warn_unused_result));

#endif
