/* The OpenAPI 3.1 description of the HTTP API, served by GET /openapi.json
 * and built from the route table (route_table.h). It describes; it never
 * validates or routes (routes.c does). */
#ifndef EZ_OPENAPI_H
#define EZ_OPENAPI_H

#include <jansson.h>

/* The document, built on the first call and kept for the life of the
 * process (borrowed: never decref it). NULL when it could not be built
 * (out of memory, or a route naming a schema, query parameter,
 * placeholder or tag that openapi.c does not define). */
const json_t *ez_openapi_document(void);

/* The name x-ezapi-auth gives a route's authentication kind (enum
 * ez_auth_kind): "public", "admin", "master" or "metrics". */
const char *ez_openapi_auth_name(int auth);

#endif
