/* GET /metrics: every process's series, rendered by whichever worker
 * serves the scrape (access limited to metrics_allow by the route). */
#include <stdlib.h>

#include <event2/buffer.h>

#include "db.h"
#include "handlers.h"
#include "metrics.h"
#include "routes.h"
#include "worker.h"

void h_metrics(struct ez_req *r)
{
    static const char *paths[EZ_METRIC_ROUTES], *methods[EZ_METRIC_ROUTES];
    int n = ez_routes_count < EZ_METRIC_ROUTES - 1 ? ez_routes_count : EZ_METRIC_ROUTES - 1;
    for (int i = 0; i < n; i++) {
        paths[i] = ez_routes[i].path;
        methods[i] = ez_routes[i].method;
    }
    struct ez_metrics_view v = { .route_paths = paths, .route_methods = methods, .nroutes = n,
                                 .outbox_pending = -1, .outbox_failed = -1,
                                 .version = PACKAGE_VERSION };
    PGresult *res;
    if (ez_db_exec(ez_w.db, &res,
                   "SELECT count(*) FILTER (WHERE status = 'pending'), "
                   "count(*) FILTER (WHERE status = 'failed') FROM sync_outbox", 0, NULL) == EZ_DB_OK) {
        v.outbox_pending = atoll(PQgetvalue(res, 0, 0));
        v.outbox_failed = atoll(PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    size_t len;
    char *text = ez_metrics_render(&v, &len);
    if (!text) {
        ez_reply_error(r, 500, "api_error", NULL, NULL, "cannot render metrics");
        return;
    }
    ez_reply_text(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
}
