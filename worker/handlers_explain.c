/* POST /admin/route/explain: how a data plane reading the current Redis
 * state would treat a child token and a model. Changes nothing, audits
 * nothing, and never logs or echoes the token it is given. */
#include <string.h>
#include <time.h>

#include "digest.h"
#include "explain.h"
#include "handlers.h"
#include "store_explain.h"
#include "validate_explain.h"
#include "worker.h"

void h_route_explain(struct ez_req *r)
{
    struct ez_explain_in in = { 0 };
    struct ez_outcome o = { 0 };
    struct ez_explain_state st = { .now = (int64_t)time(NULL) };
    char digest[EZ_DIGEST_HEX_LEN + 1] = "", status[16];
    int found;
    if (ez_validate_explain(r->body, &in, &o.e) == 0 && in.key_id) {
        o.db = ez_store_explain_key(ez_w.db, in.key_id, &found, &st.master_id, status, digest);
        if (o.db == EZ_DB_OK && !found)
            ez_not_found(&o.e);
    } else if (o.e.status == EZ_DONE && ez_sha256_hex(in.token, strlen(in.token), digest) != 0) {
        ez_refuse(&o.e, EZ_FAILED, NULL, NULL, "cannot digest the token");
    }
    if (!ez_reply_outcome(r, &o, "key"))
        return;
    st.model = in.model;
    if (in.key_id) {
        st.key_id = in.key_id;
        /* used only when no token hash is read: a revoked key says so
         * whether or not its digests are still kept for the syncer */
        st.missing = strcmp(status, "revoked") == 0 ? "key_revoked" : "unknown_token";
    }
    struct ez_explain_ns ns = { 0 };
    int rc = ez_store_explain_read(ez_w.redis, ez_w.cfg->redis_key_prefix,
                                digest[0] ? digest : NULL, &st, &ns);
    json_t *out = rc == EZ_EXPLAIN_OK ? ez_explain_answer(&st, &ns) : NULL;
    ez_explain_state_clear(&st);
    ez_explain_ns_clear(&ns);
    if (rc == EZ_EXPLAIN_UNAVAILABLE)
        ez_reply_error(r, 503, "unavailable_error", "redis_unavailable", NULL,
                       "Redis is unavailable; retry later");
    else if (rc != EZ_EXPLAIN_OK)
        ez_reply_error(r, 500, "api_error", "redis_error", NULL,
                       "Redis answered with an error; see the server log");
    else if (!out)
        ez_reply_error(r, 500, "api_error", NULL, NULL, "out of memory");
    else
        ez_reply_json(r, 200, out);
}
