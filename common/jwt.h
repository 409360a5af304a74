/* HS256 JSON Web Tokens for admins and master sessions (libjwt). Only HS256
 * is accepted; iss, sub and exp are required; nbf and iat are honoured with
 * EZ_JWT_LEEWAY seconds of clock skew. */
#ifndef EZ_JWT_H
#define EZ_JWT_H

#include "config.h"

#define EZ_JWT_LEEWAY 30

struct ez_admin_claims {
    char sub[129];
    int viewer; /* role = viewer: read-only */
    long long exp;
    long long not_before; /* the later of nbf and iat; 0 when neither is set */
};

/* Mints an admin token (iss, sub, role, iat, exp = now + ttl_s). malloc'd
 * string, or NULL. role is "admin" or "viewer". */
char *ez_jwt_mint_admin(const struct ez_config *cfg, const char *sub, const char *role,
                        long long ttl_s);
/* 0 when valid (claims filled), -1 otherwise with a short reason in *why
 * (static string, safe to show: never contains the token). */
int ez_jwt_verify_admin(const struct ez_config *cfg, const char *token,
                        struct ez_admin_claims *out, const char **why)
    __attribute__((warn_unused_result));

#endif
