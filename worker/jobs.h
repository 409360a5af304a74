/* What a handler does after its transaction commits: enqueue the sync job
 * (or, when the queue is full, write it to sync_outbox) and, when the
 * request is answered, the audit job (or write the record directly). The
 * handler never waits for Redis. */
#ifndef EZ_JOBS_H
#define EZ_JOBS_H

#include <jansson.h>
#include <stdint.h>

#include "http.h"

/* payload (stolen, may be NULL) names what changed for the syncer, e.g.
 * {"op":"delete","name":"team-a"}; never a secret. */
void ez_jobs_sync(struct ez_req *r, const char *resource, const char *op, int64_t id,
                  int64_t rev, json_t *payload);
/* Called once per answered request; writes nothing unless the handler
 * called ez_audit() and the request succeeded, or authentication failed. */
void ez_jobs_audit(struct ez_req *r, int64_t latency_us);
/* The record of failed authentications of one address that no request's
 * record holds (a window's count): changes (stolen) holds the count. */
void ez_jobs_audit_auth_failures(const char *remote, json_t *changes);

#endif
