/* Every HTTP route, one row each: the only place a route is declared.
 * Included several times with ROUTE defined differently: handlers.h makes
 * the handler prototypes, routes.c the dispatch table ez_routes[], from
 * which openapi.c builds the operations of /openapi.json. No include guard.
 *
 * ROUTE(method, path, handler, auth,
 *       operation id, tag, summary,
 *       .field = value, ...)
 *   method   GET, POST, PUT or DELETE
 *   path     the template: {x} matches one path segment; openapi.c knows
 *            the placeholders {id}, {name} and {file}
 *   handler  void handler(struct ez_req *), in the handlers_*.c of its area
 *   auth     enum ez_auth_kind without EZ_AUTH_: PUBLIC, ADMIN, ADMIN_READ,
 *            MASTER or METRICS
 *   operation id, tag, summary: the OpenAPI operation (the tag one of
 *            openapi.c's tags[])
 *   fields   the rest of the operation (struct ez_route in routes.h):
 *            .status (the success status, required), .answer, .body,
 *            .body_required, .query, .errors, .key_only */
#ifndef ROUTE
#error "route_table.h needs ROUTE(method, path, handler, auth, id, tag, summary, ...)"
#endif

#define PAGE "limit cursor"

/* service (handlers_health.c, handlers_metrics.c, openapi.c) */
ROUTE(GET, "/openapi.json", h_openapi, PUBLIC,
      "getOpenApi", "Service", "This document",
      .status = 200, .answer = "OpenApiDocument")
ROUTE(GET, "/health", h_health, PUBLIC,
      "getHealth", "Service", "Liveness",
      .status = 200, .answer = "Health")
ROUTE(GET, "/health/ready", h_health_ready, PUBLIC,
      "getReadiness", "Service", "Readiness: PostgreSQL, Redis, syncer, logger, outbox",
      .status = 200, .answer = "Readiness", .errors = "503:Readiness")
ROUTE(GET, "/metrics", h_metrics, METRICS,
      "getMetrics", "Service", "Prometheus metrics of every process (only from metrics_allow)",
      .status = 200, .answer = "text/plain")

/* audit (handlers_audit.c), the Redis projection (handlers_sync.c) */
ROUTE(GET, "/admin/audit", h_audit_admin, ADMIN,
      "listAudit", "Audit", "Audit records, newest first",
      .query = "actor_type actor action resource resource_id request_id since until " PAGE,
      .status = 200, .answer = "List:AuditRecord")
ROUTE(GET, "/v1/audit", h_audit_master, MASTER,
      "listOwnAudit", "Master API", "The audit records of this master's own actions",
      .query = "action resource resource_id request_id since until " PAGE, .status = 200,
      .answer = "List:AuditRecord")
ROUTE(GET, "/admin/sync/status", h_sync_status, ADMIN,
      "getSyncStatus", "Sync", "Syncer, outbox and Redis state",
      .status = 200, .answer = "SyncStatus")
ROUTE(GET, "/admin/sync/verify", h_sync_verify, ADMIN,
      "verifySync", "Sync", "Compare Redis with what PostgreSQL projects",
      .status = 200, .answer = "Verification")
ROUTE(GET, "/admin/sync/outbox", h_sync_outbox_list, ADMIN,
      "listOutbox", "Sync", "Sync jobs waiting in the outbox",
      .query = "outbox_status " PAGE, .status = 200, .answer = "List:OutboxEntry")
ROUTE(POST, "/admin/sync/outbox/{id}/retry", h_sync_outbox_retry, ADMIN,
      "retryOutbox", "Sync", "Retry an outbox entry now",
      .status = 200, .answer = "OutboxEntry", .errors = "404")
ROUTE(POST, "/admin/sync/full", h_sync_full, ADMIN,
      "startFullResync", "Sync", "Start a full resync",
      .status = 202, .answer = "SyncRun")

/* namespaces (handlers_namespaces.c) */
ROUTE(POST, "/admin/namespaces", h_namespaces_create, ADMIN,
      "createNamespace", "Namespaces", "Create a namespace",
      .body = "NamespaceCreate", .body_required = 1, .status = 201, .answer = "Namespace",
      .errors = "409")
ROUTE(GET, "/admin/namespaces", h_namespaces_list, ADMIN,
      "listNamespaces", "Namespaces", "List namespaces",
      .query = "namespace_status " PAGE, .status = 200, .answer = "List:Namespace")
ROUTE(GET, "/admin/namespaces/{name}", h_namespaces_get, ADMIN,
      "getNamespace", "Namespaces", "Get a namespace",
      .status = 200, .answer = "Namespace", .errors = "404")
ROUTE(PUT, "/admin/namespaces/{name}", h_namespaces_update, ADMIN,
      "updateNamespace", "Namespaces", "Update a namespace",
      .body = "NamespaceUpdate", .status = 200, .answer = "Namespace", .errors = "404")
ROUTE(DELETE, "/admin/namespaces/{name}", h_namespaces_delete, ADMIN,
      "deleteNamespace", "Namespaces",
      "Delete a namespace (409 while a binding, master or key uses it)",
      .status = 204, .errors = "404 409")

/* providers: provider groups, api keys, presets (handlers_providers.c) */
ROUTE(POST, "/admin/provider-groups", h_groups_create, ADMIN,
      "createProviderGroup", "Provider groups", "Create a provider group",
      .body = "ProviderGroupCreate", .body_required = 1, .status = 201, .answer = "ProviderGroup",
      .errors = "409")
ROUTE(GET, "/admin/provider-groups", h_groups_list, ADMIN,
      "listProviderGroups", "Provider groups", "List provider groups",
      .query = "group_status group_type " PAGE, .status = 200, .answer = "List:ProviderGroup")
ROUTE(GET, "/admin/provider-groups/{id}", h_groups_get, ADMIN,
      "getProviderGroup", "Provider groups", "Get a provider group",
      .status = 200, .answer = "ProviderGroup", .errors = "404")
ROUTE(PUT, "/admin/provider-groups/{id}", h_groups_update, ADMIN,
      "updateProviderGroup", "Provider groups", "Update a provider group",
      .body = "ProviderGroupUpdate", .status = 200, .answer = "ProviderGroup", .errors = "404 409")
ROUTE(DELETE, "/admin/provider-groups/{id}", h_groups_delete, ADMIN,
      "deleteProviderGroup", "Provider groups", "Delete a provider group",
      .query = "cascade", .status = 204, .errors = "404 409")
ROUTE(POST, "/admin/api-keys", h_keys_create, ADMIN,
      "createApiKey", "API keys", "Add an upstream credential to a group",
      .body = "ApiKeyCreate", .body_required = 1, .status = 201, .answer = "ApiKey",
      .errors = "422")
ROUTE(GET, "/admin/api-keys", h_keys_list, ADMIN,
      "listApiKeys", "API keys", "List api keys",
      .query = "group_id api_key_status " PAGE, .status = 200, .answer = "List:ApiKey")
ROUTE(GET, "/admin/api-keys/{id}", h_keys_get, ADMIN,
      "getApiKey", "API keys", "Get an api key",
      .status = 200, .answer = "ApiKey", .errors = "404")
ROUTE(PUT, "/admin/api-keys/{id}", h_keys_update, ADMIN,
      "updateApiKey", "API keys", "Update an api key",
      .body = "ApiKeyUpdate", .status = 200, .answer = "ApiKey", .errors = "404")
ROUTE(DELETE, "/admin/api-keys/{id}", h_keys_delete, ADMIN,
      "deleteApiKey", "API keys", "Delete an api key",
      .status = 204, .errors = "404")
ROUTE(POST, "/admin/providers/preset", h_providers_preset, ADMIN,
      "createPresetProvider", "Provider groups",
      "Create an official provider group and its first key",
      .body = "ProviderPreset", .body_required = 1, .status = 201, .answer = "ProviderCreated",
      .errors = "409")
ROUTE(POST, "/admin/providers/custom", h_providers_custom, ADMIN,
      "createCustomProvider", "Provider groups",
      "Create an OpenAI-compatible provider group and its first key",
      .body = "ProviderCustom", .body_required = 1, .status = 201, .answer = "ProviderCreated",
      .errors = "409")

/* catalog: models, model registry, bindings, features (handlers_catalog.c) */
ROUTE(POST, "/admin/models", h_models_create, ADMIN,
      "createModel", "Models", "Register a model",
      .body = "ModelCreate", .body_required = 1, .status = 201, .answer = "Model", .errors = "409")
ROUTE(GET, "/admin/models", h_models_list, ADMIN,
      "listModels", "Models", "List registered models",
      .query = "model_name " PAGE, .status = 200, .answer = "List:Model")
ROUTE(GET, "/admin/models/{id}", h_models_get, ADMIN,
      "getModel", "Models", "Get a model",
      .status = 200, .answer = "Model", .errors = "404")
ROUTE(PUT, "/admin/models/{id}", h_models_update, ADMIN,
      "updateModel", "Models", "Update a model",
      .body = "ModelUpdate", .status = 200, .answer = "Model", .errors = "404 409")
ROUTE(DELETE, "/admin/models/{id}", h_models_delete, ADMIN,
      "deleteModel", "Models", "Delete a model",
      .status = 204, .errors = "404")
ROUTE(GET, "/admin/model-registry", h_model_registry, ADMIN,
      "getModelRegistry", "Models", "Every model offered by an active group and key",
      .status = 200, .answer = "ModelRegistry")
ROUTE(POST, "/admin/bindings", h_bindings_create, ADMIN,
      "createBinding", "Bindings", "Bind a public model of a namespace to a provider group",
      .body = "BindingCreate", .body_required = 1, .status = 201, .answer = "BindingWithCandidate",
      .errors = "409 422")
ROUTE(GET, "/admin/bindings", h_bindings_list, ADMIN,
      "listBindings", "Bindings", "List bindings",
      .query = "namespace group_id resolve " PAGE, .status = 200, .answer = "List:BindingListed")
ROUTE(GET, "/admin/bindings/{id}", h_bindings_get, ADMIN,
      "getBinding", "Bindings", "Get a binding",
      .status = 200, .answer = "Binding", .errors = "404")
ROUTE(PUT, "/admin/bindings/{id}", h_bindings_update, ADMIN,
      "updateBinding", "Bindings", "Update a binding",
      .body = "BindingUpdate", .status = 200, .answer = "BindingWithCandidate",
      .errors = "404 409 422")
ROUTE(DELETE, "/admin/bindings/{id}", h_bindings_delete, ADMIN,
      "deleteBinding", "Bindings", "Delete a binding",
      .status = 204, .errors = "404")
ROUTE(GET, "/admin/features", h_features_get, ADMIN,
      "getFeatures", "Features", "The data-plane switches",
      .status = 200, .answer = "Features")
ROUTE(PUT, "/admin/features", h_features_put, ADMIN,
      "updateFeatures", "Features", "Set or delete data-plane switches",
      .body = "FeaturesUpdate", .body_required = 1, .status = 200, .answer = "Features")

/* tenants: masters, child keys (handlers_masters.c), /v1 (handlers_tokens.c) */
ROUTE(POST, "/admin/masters", h_masters_create, ADMIN,
      "createMaster", "Masters", "Create a master (answers its master key once)",
      .body = "MasterCreate", .body_required = 1, .status = 201, .answer = "MasterWithKey",
      .errors = "409 422")
ROUTE(GET, "/admin/masters", h_masters_list, ADMIN,
      "listMasters", "Masters", "List masters",
      .query = "master_status " PAGE, .status = 200, .answer = "List:Master")
ROUTE(GET, "/admin/masters/{id}", h_masters_get, ADMIN,
      "getMaster", "Masters", "Get a master",
      .status = 200, .answer = "Master", .errors = "404")
ROUTE(PUT, "/admin/masters/{id}", h_masters_update, ADMIN,
      "updateMaster", "Masters", "Update a master",
      .body = "MasterUpdate", .status = 200, .answer = "Master", .errors = "404 409 422")
ROUTE(DELETE, "/admin/masters/{id}", h_masters_delete, ADMIN,
      "deleteMaster", "Masters", "Delete a master and all its keys",
      .status = 204, .errors = "404")
ROUTE(POST, "/admin/masters/{id}/rotate-key", h_masters_rotate_key, ADMIN,
      "rotateMasterKey", "Masters", "Issue a new master key (the old one and every session stop)",
      .body = "EmptyObject", .status = 200, .answer = "MasterWithKey", .errors = "404")
ROUTE(POST, "/admin/masters/{id}/revoke-keys", h_masters_revoke_keys, ADMIN,
      "revokeMasterKeys", "Masters", "Invalidate every child key issued so far (epoch + 1)",
      .body = "EmptyObject", .status = 200, .answer = "Master", .errors = "404")
ROUTE(PUT, "/admin/masters/{id}/access", h_masters_access, ADMIN,
      "setMasterAccess", "Masters", "Change a master's namespaces, optionally its keys' too",
      .body = "MasterAccess", .status = 200, .answer = "Master", .errors = "404 422")
ROUTE(GET, "/admin/masters/{id}/keys", h_master_keys_list, ADMIN,
      "listMasterKeys", "Child keys", "List a master's child keys",
      .query = "key_status " PAGE, .status = 200, .answer = "List:ChildKey", .errors = "404")
ROUTE(POST, "/admin/masters/{id}/keys", h_master_keys_issue, ADMIN,
      "issueMasterKey", "Child keys", "Issue a child key on a master's behalf",
      .body = "ChildKeyIssue", .status = 201, .answer = "ChildKeyWithToken",
      .errors = "404 409 422")
ROUTE(GET, "/admin/keys/{id}", h_child_keys_get, ADMIN,
      "getChildKey", "Child keys", "Get a child key",
      .status = 200, .answer = "ChildKey", .errors = "404")
ROUTE(PUT, "/admin/keys/{id}", h_child_keys_update, ADMIN,
      "updateChildKey", "Child keys", "Update a child key",
      .body = "ChildKeyUpdate", .status = 200, .answer = "ChildKey", .errors = "404 409 422")
ROUTE(DELETE, "/admin/keys/{id}", h_child_keys_delete, ADMIN,
      "revokeChildKey", "Child keys", "Revoke a child key",
      .status = 204, .errors = "404")
ROUTE(PUT, "/admin/keys/{id}/access", h_child_keys_access, ADMIN,
      "setChildKeyAccess", "Child keys", "Change a child key's namespaces",
      .body = "ChildKeyAccess", .status = 200, .answer = "ChildKey", .errors = "404 409 422")
ROUTE(POST, "/v1/auth/token", h_v1_auth_token, MASTER,
      "createSession", "Master API", "A session token, with the master key",
      .body = "EmptyObject", .status = 200, .answer = "Session", .key_only = 1)
ROUTE(GET, "/v1/me", h_v1_me, MASTER,
      "getMe", "Master API", "The master, its limits and key count",
      .status = 200, .answer = "Master", .errors = "404")
ROUTE(POST, "/v1/tokens", h_v1_tokens_issue, MASTER,
      "issueToken", "Master API", "Issue a child key",
      .body = "ChildKeyIssue", .status = 201, .answer = "ChildKeyWithToken", .errors = "409 422")
ROUTE(GET, "/v1/tokens", h_v1_tokens_list, MASTER,
      "listTokens", "Master API", "List this master's child keys",
      .query = "key_status " PAGE, .status = 200, .answer = "List:ChildKey")
ROUTE(GET, "/v1/tokens/{id}", h_v1_tokens_get, MASTER,
      "getToken", "Master API", "Get a child key",
      .status = 200, .answer = "ChildKey", .errors = "404")
ROUTE(PUT, "/v1/tokens/{id}", h_v1_tokens_update, MASTER,
      "updateToken", "Master API", "Update a child key",
      .body = "ChildKeyOwnerUpdate", .status = 200, .answer = "ChildKey", .errors = "404 409 422")
ROUTE(DELETE, "/v1/tokens/{id}", h_v1_tokens_delete, MASTER,
      "revokeToken", "Master API", "Revoke a child key",
      .status = 204, .errors = "404")
ROUTE(POST, "/v1/tokens/{id}/rotate", h_v1_tokens_rotate, MASTER,
      "rotateToken", "Master API",
      "A new secret for the same key; the old one works for grace_seconds",
      .body = "Rotate", .status = 200, .answer = "ChildKeyWithToken", .errors = "404 409")

/* explain (handlers_explain.c) */
ROUTE(POST, "/admin/route/explain", h_route_explain, ADMIN_READ,
      "explainRoute", "Routing",
      "How a data plane reading Redis now would route a key's request for a model (viewer "
      "tokens too: it changes nothing)",
      .body = "ExplainRequest", .body_required = 1, .status = 200, .answer = "Explanation",
      .errors = "404")

/* the admin console: embedded files of ui/ (ui.c, docs/console.md) */
ROUTE(GET, "/ui", h_ui_index, PUBLIC,
      "getConsoleBare", "Console", "The admin console's page, as at /ui/",
      .status = 200, .answer = "text/html", .errors = "404")
ROUTE(GET, "/ui/", h_ui_index, PUBLIC,
      "getConsole", "Console", "The admin console's page (404 when ui = off)",
      .status = 200, .answer = "text/html", .errors = "404")
ROUTE(GET, "/ui/{file}", h_ui_asset, PUBLIC,
      "getConsoleFile", "Console",
      "One file of the admin console (its script modules, style sheet); 304 to If-None-Match",
      .status = 200, .answer = "*/*", .errors = "404")

/* import and export of other gateways' configurations (handlers_migrate.c) */
ROUTE(POST, "/admin/import", h_import, ADMIN,
      "importConfig", "Migration",
      "Import a new-api export: providers, masters, child keys, bindings (one transaction)",
      .query = "dry_run conflict include_bindings skip_invalid import_from namespace",
      .body = "ImportDocument", .body_required = 1, .raw_body = "application/yaml",
      .status = 200, .answer = "ImportResult", .errors = "422")
ROUTE(GET, "/admin/export", h_export, ADMIN,
      "exportConfig", "Migration",
      "The configuration in the import format; upstream keys only with include_secrets (admin)",
      .query = "include_secrets", .status = 200, .answer = "ImportDocument", .errors = "403")

#ifdef EZ_TEST_DUMMY_ROUTE /* tests/check_route_table.c: a row is all a route needs */
ROUTE(GET, "/test/dummy/{id}", h_test_dummy, ADMIN,
      "getTestDummy", "Service", "A route that only the test build has",
      .status = 200, .answer = "Health")
#endif

#undef PAGE
