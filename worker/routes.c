/* The route table and its matcher. Order does not matter: a template
 * segment `{x}` matches any one non-empty segment, literal segments match
 * exactly, and a literal match is preferred over a placeholder. A
 * placeholder is percent-decoded; one that decodes to a control character
 * (NUL included) is refused, never cut short. */
#include "routes.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "handlers.h"

const struct ez_route ez_routes[] = {
    { "GET", "/health", h_health, EZ_AUTH_PUBLIC },
    { "GET", "/health/ready", h_health_ready, EZ_AUTH_PUBLIC },
    { "GET", "/metrics", h_metrics, EZ_AUTH_METRICS },
    { "GET", "/admin/audit", h_audit_admin, EZ_AUTH_ADMIN },
    { "GET", "/v1/audit", h_audit_master, EZ_AUTH_MASTER },
    { "GET", "/admin/sync/status", h_sync_status, EZ_AUTH_ADMIN },
    { "GET", "/admin/sync/outbox", h_sync_outbox_list, EZ_AUTH_ADMIN },
    { "POST", "/admin/sync/outbox/{id}/retry", h_sync_outbox_retry, EZ_AUTH_ADMIN },
    { "POST", "/admin/sync/full", h_sync_full, EZ_AUTH_ADMIN },
    { "GET", "/admin/sync/verify", h_sync_verify, EZ_AUTH_ADMIN },

    { "POST", "/admin/namespaces", h_namespaces_create, EZ_AUTH_ADMIN },
    { "GET", "/admin/namespaces", h_namespaces_list, EZ_AUTH_ADMIN },
    { "GET", "/admin/namespaces/{name}", h_namespaces_get, EZ_AUTH_ADMIN },
    { "PUT", "/admin/namespaces/{name}", h_namespaces_update, EZ_AUTH_ADMIN },
    { "DELETE", "/admin/namespaces/{name}", h_namespaces_delete, EZ_AUTH_ADMIN },

    /* providers: provider groups, api keys, presets (handlers_providers.c) */
    { "POST", "/admin/provider-groups", h_groups_create, EZ_AUTH_ADMIN },
    { "GET", "/admin/provider-groups", h_groups_list, EZ_AUTH_ADMIN },
    { "GET", "/admin/provider-groups/{id}", h_groups_get, EZ_AUTH_ADMIN },
    { "PUT", "/admin/provider-groups/{id}", h_groups_update, EZ_AUTH_ADMIN },
    { "DELETE", "/admin/provider-groups/{id}", h_groups_delete, EZ_AUTH_ADMIN },
    { "POST", "/admin/api-keys", h_keys_create, EZ_AUTH_ADMIN },
    { "GET", "/admin/api-keys", h_keys_list, EZ_AUTH_ADMIN },
    { "GET", "/admin/api-keys/{id}", h_keys_get, EZ_AUTH_ADMIN },
    { "PUT", "/admin/api-keys/{id}", h_keys_update, EZ_AUTH_ADMIN },
    { "DELETE", "/admin/api-keys/{id}", h_keys_delete, EZ_AUTH_ADMIN },
    { "POST", "/admin/providers/preset", h_providers_preset, EZ_AUTH_ADMIN },
    { "POST", "/admin/providers/custom", h_providers_custom, EZ_AUTH_ADMIN },
    /* end providers */

    /* catalog: models, model registry, bindings, features (handlers_catalog.c) */
    { "POST", "/admin/models", h_models_create, EZ_AUTH_ADMIN },
    { "GET", "/admin/models", h_models_list, EZ_AUTH_ADMIN },
    { "GET", "/admin/models/{id}", h_models_get, EZ_AUTH_ADMIN },
    { "PUT", "/admin/models/{id}", h_models_update, EZ_AUTH_ADMIN },
    { "DELETE", "/admin/models/{id}", h_models_delete, EZ_AUTH_ADMIN },
    { "GET", "/admin/model-registry", h_model_registry, EZ_AUTH_ADMIN },
    { "POST", "/admin/bindings", h_bindings_create, EZ_AUTH_ADMIN },
    { "GET", "/admin/bindings", h_bindings_list, EZ_AUTH_ADMIN },
    { "GET", "/admin/bindings/{id}", h_bindings_get, EZ_AUTH_ADMIN },
    { "PUT", "/admin/bindings/{id}", h_bindings_update, EZ_AUTH_ADMIN },
    { "DELETE", "/admin/bindings/{id}", h_bindings_delete, EZ_AUTH_ADMIN },
    { "GET", "/admin/features", h_features_get, EZ_AUTH_ADMIN },
    { "PUT", "/admin/features", h_features_put, EZ_AUTH_ADMIN },
    /* end catalog */

    /* tenants: masters, child keys, /v1 (handlers_masters.c, handlers_tokens.c) */
    { "POST", "/admin/masters", h_masters_create, EZ_AUTH_ADMIN },
    { "GET", "/admin/masters", h_masters_list, EZ_AUTH_ADMIN },
    { "GET", "/admin/masters/{id}", h_masters_get, EZ_AUTH_ADMIN },
    { "PUT", "/admin/masters/{id}", h_masters_update, EZ_AUTH_ADMIN },
    { "DELETE", "/admin/masters/{id}", h_masters_delete, EZ_AUTH_ADMIN },
    { "POST", "/admin/masters/{id}/rotate-key", h_masters_rotate_key, EZ_AUTH_ADMIN },
    { "POST", "/admin/masters/{id}/revoke-keys", h_masters_revoke_keys, EZ_AUTH_ADMIN },
    { "PUT", "/admin/masters/{id}/access", h_masters_access, EZ_AUTH_ADMIN },
    { "GET", "/admin/masters/{id}/keys", h_master_keys_list, EZ_AUTH_ADMIN },
    { "POST", "/admin/masters/{id}/keys", h_master_keys_issue, EZ_AUTH_ADMIN },
    { "GET", "/admin/keys/{id}", h_child_keys_get, EZ_AUTH_ADMIN },
    { "PUT", "/admin/keys/{id}", h_child_keys_update, EZ_AUTH_ADMIN },
    { "DELETE", "/admin/keys/{id}", h_child_keys_delete, EZ_AUTH_ADMIN },
    { "PUT", "/admin/keys/{id}/access", h_child_keys_access, EZ_AUTH_ADMIN },
    { "POST", "/v1/auth/token", h_v1_auth_token, EZ_AUTH_MASTER },
    { "GET", "/v1/me", h_v1_me, EZ_AUTH_MASTER },
    { "POST", "/v1/tokens", h_v1_tokens_issue, EZ_AUTH_MASTER },
    { "GET", "/v1/tokens", h_v1_tokens_list, EZ_AUTH_MASTER },
    { "GET", "/v1/tokens/{id}", h_v1_tokens_get, EZ_AUTH_MASTER },
    { "PUT", "/v1/tokens/{id}", h_v1_tokens_update, EZ_AUTH_MASTER },
    { "DELETE", "/v1/tokens/{id}", h_v1_tokens_delete, EZ_AUTH_MASTER },
    { "POST", "/v1/tokens/{id}/rotate", h_v1_tokens_rotate, EZ_AUTH_MASTER },
    /* end tenants */

    /* explain */
    { "POST", "/admin/route/explain", h_route_explain, EZ_AUTH_ADMIN_READ },
    /* end explain */

    /* openapi */
    { "GET", "/openapi.json", h_openapi, EZ_AUTH_PUBLIC },
    /* end openapi */
};
const int ez_routes_count = sizeof ez_routes / sizeof ez_routes[0];

/* The decoded segment, or NULL when it holds a control character (or is
 * not validly percent-encoded: evhttp would leave the '%' as it is). */
static char *decode_segment(const char *raw, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (raw[i] == '%' && (i + 2 >= n || !isxdigit((unsigned char)raw[i + 1]) ||
                              !isxdigit((unsigned char)raw[i + 2])))
            return NULL;
    char *copy = strndup(raw, n);
    size_t len = 0;
    char *out = copy ? evhttp_uridecode(copy, 0, &len) : NULL;
    free(copy);
    for (size_t i = 0; out && i < len; i++) {
        if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f) {
            free(out);
            return NULL;
        }
    }
    return out;
}

/* Number of literal segments matched (higher = more specific), or -1; -2
 * when params are wanted and placeholder *nparams does not decode. Literal
 * segments are compared as they are walked, so most templates fail at
 * their first differing character. */
static int match_template(const char *tpl, const char *path, char **params, int *nparams)
{
    int literal = 0, n = 0;
    while (*tpl == '/' && *path == '/') {
        tpl++;
        path++;
        if (tpl[0] == '{') {
            size_t pl = strcspn(path, "/");
            if (pl == 0 || n == EZ_MAX_PARAMS)
                goto fail;
            if (params && !(params[n] = decode_segment(path, pl))) {
                if (nparams)
                    *nparams = n;
                for (int i = 0; i < n; i++) {
                    free(params[i]);
                    params[i] = NULL;
                }
                return -2;
            }
            n++;
            tpl += strcspn(tpl, "/");
            path += pl;
        } else {
            while (*tpl && *tpl != '/' && *tpl == *path) {
                tpl++;
                path++;
            }
            if ((*tpl && *tpl != '/') || (*path && *path != '/'))
                goto fail;
            literal++;
        }
    }
    if (*tpl || *path)
        goto fail;
    if (nparams)
        *nparams = n;
    return literal;
fail:
    for (int i = 0; params && i < n; i++) {
        free(params[i]);
        params[i] = NULL;
    }
    return -1;
}

int ez_route_match(const char *method, const char *path, const struct ez_route **route,
                   char **params, int *nparams, char *allow, size_t allowlen)
{
    /* The most specific template decides: its route for this method, or
     * a 405 listing the methods of the templates as specific as it. */
    int score[sizeof ez_routes / sizeof ez_routes[0]];
    int best = -1, top = -1;
    for (int i = 0; i < ez_routes_count; i++) {
        score[i] = match_template(ez_routes[i].path, path, NULL, NULL);
        if (score[i] > top)
            top = score[i];
        if (score[i] >= 0 && strcmp(ez_routes[i].method, method) == 0 &&
            (best < 0 || score[i] > score[best]))
            best = i;
    }
    if (best >= 0 && score[best] == top) {
        *route = &ez_routes[best];
        if (match_template(ez_routes[best].path, path, params, nparams) == -2)
            return EZ_ROUTE_BAD_PARAM;
        return EZ_ROUTE_FOUND;
    }
    if (top < 0)
        return EZ_ROUTE_NOT_FOUND;
    allow[0] = 0;
    for (int i = 0; i < ez_routes_count; i++) {
        if (score[i] != top || strstr(allow, ez_routes[i].method))
            continue;
        size_t used = strlen(allow);
        snprintf(allow + used, allowlen - used, "%s%s", used ? ", " : "", ez_routes[i].method);
    }
    return EZ_ROUTE_BAD_METHOD;
}

void ez_route_param_name(const struct ez_route *route, int i, char *buf, size_t len)
{
    const char *p = route->path;
    for (int n = 0; (p = strchr(p, '{')) != NULL; n++, p++) {
        if (n == i) {
            snprintf(buf, len, "%.*s", (int)strcspn(p + 1, "}"), p + 1);
            return;
        }
    }
    snprintf(buf, len, "id");
}
