/* Every route handler, one group per resource file (handlers_<resource>.c). */
#ifndef EZ_HANDLERS_H
#define EZ_HANDLERS_H

#include "http.h"

/* handlers_health.c */
void h_health(struct ez_req *r);
void h_health_ready(struct ez_req *r);

/* handlers_namespaces.c */
void h_namespaces_create(struct ez_req *r);
void h_namespaces_list(struct ez_req *r);
void h_namespaces_get(struct ez_req *r);
void h_namespaces_update(struct ez_req *r);
void h_namespaces_delete(struct ez_req *r);

/* providers */
/* end providers */

/* catalog */
/* end catalog */

/* tenants */
/* end tenants */

/* openapi */
/* end openapi */

#endif
