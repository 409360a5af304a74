/* Every route handler, one per row of route_table.h (which names the
 * handlers_<area>.c that defines it). */
#ifndef EZ_HANDLERS_H
#define EZ_HANDLERS_H

#include "http.h"

#define ROUTE(method, path, handler, ...) void handler(struct ez_req *r);
#include "route_table.h"
#undef ROUTE

#endif
