/* Namespace: name [a-z0-9][a-z0-9_-]{0,63}, description up to 1024 bytes
 * (nullable), status active | suspended. The name cannot be changed. */
#include "validate_namespace.h"

#include <string.h>

static const char *const statuses[] = EZ_NAMESPACE_STATUSES;

int ez_validate_namespace(json_t *body, int create, struct ez_namespace_in *in,
                          struct ez_verr *e)
{
    static const char *const create_fields[] = { "name", "description", "status", NULL };
    static const char *const update_fields[] = { "description", "status", NULL };
    if (!body && create)
        return ez_refuse(e, EZ_INVALID, "invalid_request", NULL, "a JSON body is required");
    if (!body)
        body = json_object(); /* an empty update changes nothing */
    else
        json_incref(body);
    int rc = -1;
    const char *name = NULL;
    if (ez_v_known_fields(body, create ? create_fields : update_fields, e) != 0)
        goto out;
    if (create) {
        if (ez_v_string(body, "name", EZ_MAX_NAME, 0, 0, &name, NULL, e) != 0)
            goto out;
        if (!name) {
            ez_v_fail(e, 400, "name", "name is required");
            goto out;
        }
        if (!ez_v_is_namespace_name(name)) {
            ez_v_fail(e, 400, "name", "name must match " EZ_NAMESPACE_NAME);
            goto out;
        }
        in->name = name;
    }
    if (ez_v_string(body, "description", EZ_MAX_DESCRIPTION, 1, 1, &in->description,
                    &in->clear_description, e) != 0 ||
        ez_v_enum(body, "status", statuses, &in->status, e) != 0)
        goto out;
    rc = 0;
out:
    json_decref(body); /* strings stay valid: the caller still holds body */
    return rc;
}
