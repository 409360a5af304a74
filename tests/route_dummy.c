/* The handler of the route that only test builds have (EZ_TEST_DUMMY_ROUTE
 * in worker/route_table.h). Its prototype comes from handlers.h, generated
 * from that row: without the row this file does not compile
 * (-Wmissing-prototypes). */
#include "worker/handlers.h"

void h_test_dummy(struct ez_req *r)
{
    int64_t id;
    if (ez_param_id(r, 0, &id) != 0)
        return;
    ez_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}
