/* Authentication of a request according to its route's kind: admin JWT,
 * master credential, or the metrics address list. Failures are answered
 * here (401 with WWW-Authenticate: Bearer, or 403) and counted per address
 * (auth_limit.h), which may refuse an address with 429 first. */
#ifndef EZ_AUTH_H
#define EZ_AUTH_H

#include "http.h"

/* 0 when the caller may proceed (r->who filled), -1 once answered. */
int ez_authenticate(struct ez_req *r) __attribute__((warn_unused_result));
/* The bearer token of the request, or NULL. */
const char *ez_bearer(struct ez_req *r);

#endif
