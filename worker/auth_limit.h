/* Failed authentications per client address, counted across the workers:
 * an address past auth_failure_limit within auth_failure_window gets 429
 * with Retry-After on every authenticated route until its window ends, and
 * its failures are audited per window, not one record each. */
#ifndef EZ_AUTH_LIMIT_H
#define EZ_AUTH_LIMIT_H

#include "http.h"

/* Before any credential is looked at (no lock, no system call for an
 * address without failures): 0 to go on, or -1 once answered 429.
 * master: the route takes master credentials (for the metrics). */
int ez_auth_limit_check(struct ez_req *r, int master) __attribute__((warn_unused_result));
/* Counts a failed authentication of the request's address; the first of a
 * window gets the request's own auth.failure record (ez_audit). */
void ez_auth_limit_failed(struct ez_req *r);
/* Queues the records of closed windows (of every window when all is set,
 * before the worker exits). From the worker's tick. */
void ez_auth_limit_tick(int all);

#endif
