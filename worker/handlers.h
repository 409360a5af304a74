/* Every route handler, one group per resource file (handlers_<resource>.c). */
#ifndef EZ_HANDLERS_H
#define EZ_HANDLERS_H

#include "http.h"

/* handlers_health.c */
void h_health(struct ez_req *r);
void h_health_ready(struct ez_req *r);

/* handlers_metrics.c */
void h_metrics(struct ez_req *r);

/* handlers_audit.c */
void h_audit_admin(struct ez_req *r);
void h_audit_master(struct ez_req *r);

/* handlers_sync.c */
void h_sync_status(struct ez_req *r);
void h_sync_outbox_list(struct ez_req *r);
void h_sync_outbox_retry(struct ez_req *r);
void h_sync_full(struct ez_req *r);
void h_sync_verify(struct ez_req *r);

/* handlers_namespaces.c */
void h_namespaces_create(struct ez_req *r);
void h_namespaces_list(struct ez_req *r);
void h_namespaces_get(struct ez_req *r);
void h_namespaces_update(struct ez_req *r);
void h_namespaces_delete(struct ez_req *r);

/* providers */
/* handlers_providers.c */
void h_groups_create(struct ez_req *r);
void h_groups_list(struct ez_req *r);
void h_groups_get(struct ez_req *r);
void h_groups_update(struct ez_req *r);
void h_groups_delete(struct ez_req *r);
void h_keys_create(struct ez_req *r);
void h_keys_list(struct ez_req *r);
void h_keys_get(struct ez_req *r);
void h_keys_update(struct ez_req *r);
void h_keys_delete(struct ez_req *r);
void h_providers_preset(struct ez_req *r);
void h_providers_custom(struct ez_req *r);
/* end providers */

/* catalog */
/* handlers_catalog.c */
void h_models_create(struct ez_req *r);
void h_models_list(struct ez_req *r);
void h_models_get(struct ez_req *r);
void h_models_update(struct ez_req *r);
void h_models_delete(struct ez_req *r);
void h_model_registry(struct ez_req *r);
void h_bindings_create(struct ez_req *r);
void h_bindings_list(struct ez_req *r);
void h_bindings_get(struct ez_req *r);
void h_bindings_update(struct ez_req *r);
void h_bindings_delete(struct ez_req *r);
void h_features_get(struct ez_req *r);
void h_features_put(struct ez_req *r);
/* end catalog */

/* tenants */
void h_masters_create(struct ez_req *r);
void h_masters_list(struct ez_req *r);
void h_masters_get(struct ez_req *r);
void h_masters_update(struct ez_req *r);
void h_masters_delete(struct ez_req *r);
void h_masters_rotate_key(struct ez_req *r);
void h_masters_revoke_keys(struct ez_req *r);
void h_masters_access(struct ez_req *r);
void h_master_keys_list(struct ez_req *r);
void h_master_keys_issue(struct ez_req *r);
void h_child_keys_get(struct ez_req *r);
void h_child_keys_update(struct ez_req *r);
void h_child_keys_access(struct ez_req *r);
void h_child_keys_delete(struct ez_req *r);
void h_v1_auth_token(struct ez_req *r);
void h_v1_me(struct ez_req *r);
void h_v1_tokens_issue(struct ez_req *r);
void h_v1_tokens_list(struct ez_req *r);
void h_v1_tokens_get(struct ez_req *r);
void h_v1_tokens_update(struct ez_req *r);
void h_v1_tokens_delete(struct ez_req *r);
void h_v1_tokens_rotate(struct ez_req *r);
/* end tenants */

/* explain */
/* handlers_explain.c */
void h_route_explain(struct ez_req *r);
/* end explain */

/* openapi */
/* openapi.c */
void h_openapi(struct ez_req *r);
/* end openapi */

#endif
