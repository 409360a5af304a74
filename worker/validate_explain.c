/* Route explain input: {"key_id": n} or {"token": "..."} (exactly one) and
 * "model". Messages name the field, never the token's value. */
#include "validate_explain.h"

#include <limits.h>
#include <stddef.h>

int ez_validate_explain(json_t *body, struct ez_explain_in *in, struct ez_verr *e)
{
    static const char *const fields[] = { "key_id", "token", "model", NULL };
    in->key_id = 0;
    in->token = NULL;
    in->model = NULL;
    if (!body)
        return ez_v_fail(e, 400, NULL, "a JSON body is required: {\"key_id\" or \"token\", "
                                       "\"model\"}");
    if (ez_v_known_fields(body, fields, e) != 0)
        return -1;
    long long key_id = 0;
    int has_key_id = 0;
    if (ez_v_int(body, "key_id", 1, LLONG_MAX, &key_id, &has_key_id, e) != 0 ||
        ez_v_string(body, "token", EZ_EXPLAIN_MAX_TOKEN, 0, 0, &in->token, NULL, e) != 0)
        return -1;
    if (has_key_id && in->token)
        return ez_v_fail(e, 400, "token", "give either key_id or token, not both");
    if (!has_key_id && !in->token)
        return ez_v_fail(e, 400, "key_id", "key_id or token is required");
    in->key_id = has_key_id ? (int64_t)key_id : 0;
    if (ez_v_string(body, "model", EZ_EXPLAIN_MAX_MODEL, 0, 0, &in->model, NULL, e) != 0)
        return -1;
    if (!in->model)
        return ez_v_fail(e, 400, "model", "model is required");
    return 0;
}
