/* GET /openapi.json: the OpenAPI 3.1 document, built once per process from
 * the routes (ez_routes[], one per row of route_table.h) and one function
 * per resource for the schemas. It only describes: routing and validation
 * live elsewhere, and tests/check_openapi.c checks the document against
 * what the running server enforces. */
#include "openapi.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "routes.h"
#include "rules.h"
#include "store_catalog.h"

#define STR(x) STR_(x)
#define STR_(x) #x
#define NS_PATTERN "^" EZ_NAMESPACE_NAME "$"
#define GROUP_NAME_PATTERN "^" EZ_GROUP_NAME "$"
#define FEATURE_PATTERN "^" EZ_FEATURE_NAME "$"
#define CLEAN_NAME_PATTERN "^" EZ_CLEAN_NAME "$"

static int broken; /* a part of the document could not be built */

/* ---- JSON Schema builders: each returns a new reference (NULL only after
 * setting `broken`) and steals the references it is given. ------------- */

static json_t *need(json_t *v)
{
    if (!v)
        broken = 1;
    return v;
}

static void set(json_t *obj, const char *key, json_t *v)
{
    if (json_object_set_new(obj, key, v) != 0)
        broken = 1;
}

static json_t *with(json_t *s, const char *key, json_t *v)
{
    set(s, key, v);
    return s;
}

static json_t *about(json_t *s, const char *text)
{
    return with(s, "description", json_string(text));
}

static json_t *t_type(const char *type)
{
    return need(json_pack("{s:s}", "type", type));
}

static json_t *t_str(size_t min, size_t max)
{
    json_t *s = t_type("string");
    if (min)
        set(s, "minLength", json_integer((json_int_t)min));
    if (max)
        set(s, "maxLength", json_integer((json_int_t)max));
    return s;
}

static json_t *t_pattern(const char *re, size_t max)
{
    return with(t_str(0, max), "pattern", json_string(re));
}

static json_t *t_int(long long min, long long max)
{
    json_t *s = t_type("integer");
    set(s, "minimum", json_integer(min));
    if (max)
        set(s, "maximum", json_integer(max));
    return s;
}

static json_t *t_id(void)
{
    return t_int(1, 0);
}

static json_t *t_time(void)
{
    return with(t_type("string"), "format", json_string("date-time"));
}

static json_t *t_enum(const char *const *values)
{
    json_t *list = need(json_array());
    for (int i = 0; values[i]; i++)
        if (json_array_append_new(list, json_string(values[i])) != 0)
            broken = 1;
    return with(t_type("string"), "enum", list);
}

static json_t *t_array(json_t *items, size_t min, size_t max, int unique)
{
    json_t *s = with(t_type("array"), "items", items);
    if (min)
        set(s, "minItems", json_integer((json_int_t)min));
    if (max)
        set(s, "maxItems", json_integer((json_int_t)max));
    if (unique)
        set(s, "uniqueItems", json_true());
    return s;
}

static json_t *t_strings(void)
{
    return t_array(t_type("string"), 0, 0, 0);
}

static json_t *ref_to(const char *section, const char *name)
{
    char buf[128];
    snprintf(buf, sizeof buf, "#/components/%s/%s", section, name);
    return need(json_pack("{s:s}", "$ref", buf));
}

static json_t *ref(const char *schema)
{
    return ref_to("schemas", schema);
}

/* The same schema, or null. */
static json_t *nullable(json_t *s)
{
    json_t *type = json_object_get(s, "type");
    if (!json_is_string(type))
        return need(json_pack("{s:[o, {s:s}]}", "anyOf", s, "type", "null"));
    set(s, "type", json_pack("[s, s]", json_string_value(type), "null"));
    json_t *values = json_object_get(s, "enum");
    if (values && json_array_append_new(values, json_null()) != 0)
        broken = 1;
    return s;
}

/* An object of (name, schema) pairs, NULL-terminated. */
static json_t *props(const char *name, ...)
{
    json_t *p = need(json_object());
    va_list ap;
    va_start(ap, name);
    for (const char *n = name; n; n = va_arg(ap, const char *))
        set(p, n, va_arg(ap, json_t *));
    va_end(ap);
    return p;
}

/* A JSON array of the space-separated words of list. */
static json_t *words(const char *list)
{
    json_t *a = need(json_array());
    while (list && *list) {
        size_t n = strcspn(list, " ");
        if (n && json_array_append_new(a, json_stringn(list, n)) != 0)
            broken = 1;
        list += n;
        list += strspn(list, " ");
    }
    return a;
}

/* Copies of the named properties, in the order named, taken from `from`
 * or else from `also` (may be NULL); both are borrowed. */
static json_t *pick(const json_t *from, const json_t *also, const char *names)
{
    json_t *p = need(json_object()), *list = words(names), *n;
    size_t i;
    json_array_foreach(list, i, n) {
        json_t *v = json_object_get(from, json_string_value(n));
        if (!v && also)
            v = json_object_get(also, json_string_value(n));
        set(p, json_string_value(n), v ? json_deep_copy(v) : NULL);
    }
    json_decref(list);
    return p;
}

/* A request body: only these properties (the server refuses any other
 * field with 400), `required` space-separated (may be NULL). */
static json_t *t_body(json_t *properties, const char *required)
{
    json_t *s = with(t_type("object"), "properties", properties);
    if (required)
        set(s, "required", words(required));
    return with(s, "additionalProperties", json_false());
}

/* An answer: every property always present but the `optional` ones. */
static json_t *t_answer(json_t *properties, const char *optional)
{
    json_t *req = need(json_array()), *opt = words(optional);
    const char *key;
    json_t *v, *o;
    json_object_foreach(properties, key, v) {
        int skip = 0;
        size_t i;
        json_array_foreach(opt, i, o)
            skip |= strcmp(json_string_value(o), key) == 0;
        if (!skip && json_array_append_new(req, json_string(key)) != 0)
            broken = 1;
    }
    json_decref(opt);
    return with(with(t_type("object"), "properties", properties), "required", req);
}

/* base plus some properties, all required. */
static json_t *t_extend(const char *base, json_t *properties)
{
    return need(json_pack("{s:[o, o]}", "allOf", ref(base), t_answer(properties, NULL)));
}

/* ---- Schemas: one function per resource, each schema defined once ---- */

static const char *const provider_types[] = EZ_PROVIDER_TYPES;
static const char *const namespace_statuses[] = EZ_NAMESPACE_STATUSES;
static const char *const group_statuses[] = EZ_GROUP_STATUSES;
static const char *const api_key_statuses[] = EZ_API_KEY_STATUSES;
static const char *const presets[] = EZ_PRESETS;
static const char *const model_kinds[] = EZ_MODEL_KINDS;
static const char *const selector_types[] = EZ_SELECTOR_TYPES;
static const char *const binding_statuses[] = EZ_BINDING_STATUSES;
static const char *const candidate_errors[] = { "config_error", "no_provider", NULL };
static const char *const master_statuses[] = EZ_MASTER_STATUSES;
static const char *const key_shown_statuses[] = { "active", "suspended", "revoked", "expired",
                                                  NULL };
static const char *const key_set_statuses[] = EZ_KEY_SET_STATUSES;
static const char *const issuers[] = { "master", "admin", "import", NULL };
static const char *const propagations[] = EZ_PROPAGATIONS;
static const char *const error_types[] = { "invalid_request_error", "authentication_error",
                                           "permission_error", "not_found_error",
                                           "conflict_error", "rate_limit_error", "api_error",
                                           "unavailable_error", NULL };
static const char *const actor_types[] = { "admin", "master", "anonymous", NULL };
static const char *const outbox_statuses[] = { "pending", "failed", NULL };
static const char *const run_statuses[] = { "pending", "running", "done", "failed", NULL };
static const char *const exclusions[] = { "banned", "key_disabled", "group_disabled",
                                          "weight_zero", "model_not_allowed", NULL };

static void common_schemas(json_t *c)
{
    set(c, "Error", t_answer(props("error", t_answer(props(
        "type", t_enum(error_types),
        "code", about(t_type("string"), "A stable machine-readable code, e.g. name_taken, "
                                        "route_not_found, child_key_limit."),
        "message", about(t_type("string"), "What went wrong, for a human."),
        "param", about(nullable(t_type("string")), "The field at fault, or null."),
        "request_id", about(t_type("string"), "The X-Request-ID of the request."), NULL),
        NULL), NULL), NULL));
    set(c, "List", about(t_answer(props(
        "data", about(t_array(need(json_object()), 0, EZ_PAGE_MAX_LIMIT, 0),
                      "The page, at most `limit` items."),
        "has_more", t_type("boolean"),
        "next_cursor", about(nullable(t_type("string")),
                             "Pass as ?cursor= for the next page; null on the last page."),
        NULL), NULL), "One page of a list (docs/api.md)."));
    set(c, "EmptyObject", about(t_body(need(json_object()), NULL),
                                "No body, or an empty object: any field is refused."));
    set(c, "OpenApiDocument", about(t_type("object"), "This document."));
}

static void service_schemas(json_t *c)
{
    set(c, "Health", t_answer(props("status", t_enum((const char *const[]){ "ok", NULL }),
                                    NULL), NULL));
    set(c, "Consumer", t_answer(props(
        "alive", t_type("boolean"), "pid", t_int(0, 0), "queue_depth", t_int(0, 0),
        "restarts", t_int(0, 0), NULL), NULL));
    set(c, "Readiness", t_answer(props(
        "status", t_enum((const char *const[]){ "ready", "not_ready", NULL }),
        "postgres", t_answer(props("ok", t_type("boolean"), NULL), NULL),
        "redis", t_answer(props("ok", t_type("boolean"), NULL), NULL),
        "syncer", ref("Consumer"), "logger", ref("Consumer"),
        "outbox", t_answer(props("pending", t_int(0, 0), "failed", t_int(0, 0), NULL), NULL),
        "last_full_sync_at", about(nullable(t_int(0, 0)), "Unix seconds of the last full resync."),
        NULL), NULL));
}

static void namespace_schemas(json_t *c)
{
    json_t *f = props(
        "name", t_pattern(NS_PATTERN, EZ_MAX_NAME),
        "description", nullable(t_str(0, EZ_MAX_DESCRIPTION)),
        "status", with(ref("NamespaceStatus"), "default", json_string("active")), NULL);
    set(c, "NamespaceStatus", t_enum(namespace_statuses));
    set(c, "Namespace", t_answer(props(
        "id", t_id(), "name", t_type("string"), "description", nullable(t_type("string")),
        "status", ref("NamespaceStatus"), "created_at", t_time(), "updated_at", t_time(),
        NULL), NULL));
    set(c, "NamespaceCreate", t_body(pick(f, NULL, "name description status"), "name"));
    set(c, "NamespaceUpdate", about(t_body(pick(f, NULL, "description status"), NULL),
                                    "The name cannot be changed."));
    json_decref(f);
}

static void provider_schemas(json_t *c)
{
    json_t *g = props(
        "name", t_pattern(GROUP_NAME_PATTERN, EZ_MAX_NAME),
        "type", about(ref("ProviderType"), "Trimmed and lower-cased before the check."),
        "base_url", about(nullable(t_str(0, EZ_MAX_URL)),
                          "An http:// or https:// URL; required for type compatible; \"\" or "
                          "null = the data plane's default for the type."),
        "google_project", nullable(t_str(0, EZ_MAX_GOOGLE_PROJECT)),
        "google_location", about(nullable(t_str(0, EZ_MAX_GOOGLE_LOCATION)),
                                 "Empty becomes global for vertex and vertex-express."),
        "models", about(t_array(t_str(1, EZ_MAX_MODEL_NAME), 1, EZ_MAX_MODELS, 0),
                        "Trimmed; duplicates are dropped."),
        "status", with(ref("ProviderGroupStatus"), "default", json_string("active")),
        "preset", t_enum(presets), NULL);
    json_t *k = props(
        "group_id", about(t_id(), "An existing provider group (else 422)."),
        "api_key", about(t_str(1, EZ_MAX_API_KEY),
                         "The upstream credential; may not start with enc:v1:. Answers "
                         "show it masked."),
        "weight", about(with(t_int(0, EZ_MAX_KEY_WEIGHT), "default", json_integer(1)),
                        "0 = never chosen."),
        "status", with(ref("ApiKeyStatus"), "default", json_string("active")),
        "auto_ban", with(t_type("boolean"), "default", json_true()),
        "ban_reason", nullable(t_str(0, EZ_MAX_DESCRIPTION)),
        "ban_until", about(nullable(t_time()), "While in the future the key is not routable."),
        NULL);
    const char *group_fields = "name type base_url google_project google_location models status";
    set(c, "ProviderType", t_enum(provider_types));
    set(c, "ProviderGroupStatus", t_enum(group_statuses));
    set(c, "ApiKeyStatus", t_enum(api_key_statuses));
    set(c, "ProviderGroup", t_answer(props(
        "id", t_id(), "name", t_type("string"), "type", ref("ProviderType"),
        "base_url", nullable(t_type("string")), "google_project", nullable(t_type("string")),
        "google_location", nullable(t_type("string")), "models", t_strings(),
        "status", ref("ProviderGroupStatus"), "created_at", t_time(), "updated_at", t_time(),
        NULL), NULL));
    set(c, "ProviderGroupCreate", t_body(pick(g, NULL, group_fields), "name type models"));
    set(c, "ProviderGroupUpdate", t_body(pick(g, NULL, group_fields), NULL));
    set(c, "ApiKey", t_answer(props(
        "id", t_id(), "group_id", t_id(), "group", t_type("string"),
        "api_key", about(t_type("string"), "Masked: first and last 4 characters, or ****."),
        "weight", t_int(0, EZ_MAX_KEY_WEIGHT), "status", ref("ApiKeyStatus"),
        "auto_ban", t_type("boolean"),
        "ban_reason", nullable(t_type("string")), "ban_until", nullable(t_time()),
        "created_at", t_time(), "updated_at", t_time(), NULL), NULL));
    set(c, "ApiKeyCreate", t_body(pick(k, NULL, "group_id api_key weight status auto_ban "
                                                "ban_reason ban_until"), "group_id api_key"));
    set(c, "ApiKeyUpdate", about(t_body(pick(k, NULL, "api_key weight status auto_ban "
                                                      "ban_reason ban_until"), NULL),
                                 "group_id cannot be changed."));
    set(c, "ProviderPreset", t_body(pick(g, k, "preset api_key name models weight"),
                                    "preset api_key"));
    json_t *custom = pick(g, k, "name base_url api_key models weight");
    set(custom, "base_url", t_str(1, EZ_MAX_URL));
    set(c, "ProviderCustom", t_body(custom, "name base_url api_key models"));
    set(c, "ProviderCreated", t_answer(props("group", ref("ProviderGroup"),
                                             "api_key", ref("ApiKey"), NULL), NULL));
    json_decref(g);
    json_decref(k);
}

static void catalog_schemas(json_t *c)
{
    json_t *f = props(
        "name", t_pattern(CLEAN_NAME_PATTERN, EZ_MAX_REGISTRY_NAME),
        "kind", about(t_str(0, EZ_MAX_NAME),
                      "chat, embedding, rerank or other, in any case; empty = chat, any "
                      "other value = other."),
        "context_window", about(t_int(0, EZ_MAX_JSON_INT), "0 = unknown."),
        "max_output_tokens", about(t_int(0, EZ_MAX_JSON_INT), "0 = unknown."),
        "cost_per_token", nullable(with(t_type("number"), "minimum", json_integer(0))), NULL);
    json_t *answer = props("id", t_id(), "name", t_type("string"), "kind", ref("ModelKind"),
                           "context_window", t_int(0, 0), "max_output_tokens", t_int(0, 0),
                           "cost_per_token", nullable(t_type("number")), NULL);
    for (int i = 0; i < EZ_NFLAGS; i++) {
        set(f, ez_model_flag_names[i], nullable(t_type("boolean")));
        set(answer, ez_model_flag_names[i], nullable(t_type("boolean")));
    }
    set(answer, "created_at", t_time());
    set(answer, "updated_at", t_time());
    set(c, "ModelKind", t_enum(model_kinds));
    set(c, "Model", t_answer(answer, NULL));
    set(c, "ModelCreate", t_body(json_deep_copy(f), "name"));
    set(c, "ModelUpdate", t_body(f, NULL));
    set(c, "ModelRegistry", t_answer(props("data", t_array(t_answer(props(
        "name", t_type("string"),
        "groups", t_array(t_answer(props("id", t_id(), "name", t_type("string"),
                                         "type", ref("ProviderType"), NULL), NULL), 0, 0, 0),
        "keys", t_array(t_id(), 0, 0, 0),
        "registered", t_type("boolean"),
        "capabilities", about(nullable(t_type("object")),
                              "The model capability JSON (docs/redis.md, meta:models), or "
                              "null when the name is not registered."), NULL), NULL), 0, 0, 0),
        NULL), NULL));

    json_t *b = props(
        "namespace", about(t_pattern(NS_PATTERN, EZ_MAX_NAME), "An existing namespace (else 422)."),
        "public_model", t_pattern(CLEAN_NAME_PATTERN, EZ_MAX_PUBLIC_MODEL),
        "group_id", about(t_int(1, EZ_MAX_JSON_INT), "An existing provider group (else 422)."),
        "weight", with(t_int(0, EZ_MAX_BINDING_WEIGHT), "default", json_integer(1)),
        "selector_type", with(ref("SelectorType"), "default", json_string("exact")),
        "selector_value", about(nullable(t_str(0, EZ_MAX_SELECTOR)),
                                "\"\" or null = the public model. Trimmed of white space, "
                                "like the model names. exact: the first model equal to it; "
                                "regex: Go's regexp (RE2) syntax, unanchored, must match "
                                "exactly one model (a pattern Go refuses is a 400); "
                                "normalize_exact: the names after their last '/', "
                                "Unicode-lower-cased, must match exactly one. See "
                                "docs/catalog.md, Selectors."),
        "status", with(ref("BindingStatus"), "default", json_string("active")), NULL);
    set(c, "SelectorType", about(t_enum(selector_types),
                                 "How selector_value picks the upstream model out of the "
                                 "group's models, as the data plane resolves it: exact, "
                                 "regex (Go syntax) or normalize_exact."));
    set(c, "BindingStatus", t_enum(binding_statuses));
    set(c, "Binding", t_answer(props(
        "id", t_id(), "namespace", t_type("string"), "public_model", t_type("string"),
        "group_id", t_id(), "weight", t_int(0, 0), "selector_type", ref("SelectorType"),
        "selector_value", t_type("string"), "status", ref("BindingStatus"),
        "created_at", t_time(), "updated_at", t_time(), NULL), NULL));
    set(c, "BindingCandidate", t_answer(props(
        "group_id", t_id(), "route_group", t_type("string"), "weight", t_int(0, 0),
        "selector_type", ref("SelectorType"), "selector_value", t_type("string"),
        "status", ref("BindingStatus"),
        "error", about(t_enum(candidate_errors), "Present only when the binding routes nowhere."),
        "upstreams", about(with(t_type("object"), "additionalProperties", t_type("string")),
                           "api key id -> upstream model, routable keys only."),
        NULL), "error"));
    set(c, "BindingWithCandidate", t_extend("Binding", props(
        "candidate", about(nullable(ref("BindingCandidate")),
                           "null only when it could not be computed after the commit."),
        NULL)));
    set(c, "BindingListed", need(json_pack("{s:[o, o]}", "allOf", ref("Binding"), t_answer(props(
        "candidate", about(nullable(ref("BindingCandidate")),
                           "Only with resolve=true: what the data plane resolves for the "
                           "binding now."),
        NULL), "candidate"))));
    set(c, "BindingCreate", t_body(json_deep_copy(b), "namespace public_model group_id"));
    set(c, "BindingUpdate", t_body(b, NULL));

    json_t *map = with(t_type("object"), "propertyNames", t_pattern(FEATURE_PATTERN, 0));
    set(c, "Features", with(json_deep_copy(map), "additionalProperties",
                            t_str(0, EZ_MAX_FEATURE_VALUE)));
    set(map, "maxProperties", json_integer(EZ_MAX_FEATURES_PER_PUT));
    set(c, "FeaturesUpdate", about(with(map, "additionalProperties",
                                        nullable(t_str(0, EZ_MAX_FEATURE_VALUE))),
                                   "Merged into the current set; null deletes a name."));
}

static void tenant_schemas(json_t *c)
{
    json_t *ns_list = t_array(t_pattern(NS_PATTERN, EZ_MAX_NAME), 0, EZ_TENANT_MAX_LIST, 1);
    json_t *f = props(
        "name", t_str(1, EZ_MAX_NAME),
        "group", about(t_pattern(GROUP_NAME_PATTERN, EZ_MAX_NAME),
                       "The data plane's default route group (not checked against "
                       "provider groups)."),
        "status", with(ref("MasterStatus"), "default", json_string("active")),
        "max_child_keys", about(with(t_int(0, EZ_MAX_CHILD_KEYS), "default", json_integer(5)),
                                "Active child keys allowed; 0 = unlimited."),
        "global_qps", about(with(t_int(0, EZ_MAX_GLOBAL_QPS), "default", json_integer(0)),
                            "0 = unlimited."),
        "namespaces", about(json_deep_copy(ns_list), "Existing namespaces (else 422)."),
        "default_namespace", about(nullable(t_pattern("^(" EZ_NAMESPACE_NAME ")?$",
                                                      EZ_MAX_NAME)),
                                   "One of namespaces (else 422); \"\" or null clears it."),
        "propagate", with(t_enum(propagations), "default", json_string("none")), NULL);
    set(c, "MasterStatus", t_enum(master_statuses));
    set(c, "Master", t_answer(props(
        "id", t_id(), "name", t_type("string"), "group", t_type("string"),
        "status", ref("MasterStatus"), "epoch", t_id(), "max_child_keys", t_int(0, 0),
        "global_qps", t_int(0, 0), "default_namespace", nullable(t_type("string")),
        "namespaces", t_strings(), "key_prefix", t_type("string"),
        "key_generation", t_id(), "active_keys", t_int(0, 0),
        "created_at", t_time(), "updated_at", t_time(), NULL), NULL));
    set(c, "MasterWithKey", t_extend("Master", props(
        "master_key", about(t_type("string"), "The master key (ezm_...), shown only here."),
        NULL)));
    const char *master_fields =
        "name group status max_child_keys global_qps namespaces default_namespace";
    set(c, "MasterCreate", t_body(pick(f, NULL, master_fields), "name"));
    set(c, "MasterUpdate", t_body(pick(f, NULL, master_fields), NULL));
    set(c, "MasterAccess", t_body(pick(f, NULL, "namespaces default_namespace propagate"), NULL));

    json_t *k = props(
        "status", t_enum(key_set_statuses),
        "name", t_str(0, EZ_MAX_NAME),
        "namespaces", about(ns_list, "A subset of the master's (else 422); default: the "
                                     "master's."),
        "default_namespace", json_deep_copy(json_object_get(f, "default_namespace")),
        "model_limits", about(nullable(t_array(t_pattern("^" EZ_MODEL_LIMIT "$",
                                                         EZ_TENANT_MAX_MODEL), 0,
                                               EZ_TENANT_MAX_LIST, 1)),
                              "[] or null = every model."),
        "allow_ips", about(nullable(t_array(t_str(1, EZ_TENANT_MAX_CIDR), 0, EZ_TENANT_MAX_IPS, 1)),
                           "IPv4/IPv6 addresses or CIDRs; [] or null = any address."),
        "expires_at", about(nullable(t_time()), "In the future; null clears it."), NULL);
    set(c, "ChildKeyStatus", about(t_enum(key_shown_statuses),
                                   "As shown: revoked also for keys issued before the "
                                   "master's current epoch, expired for active keys past "
                                   "expires_at."));
    set(c, "ChildKey", t_answer(props(
        "id", t_id(), "master_id", t_id(), "name", t_type("string"), "group", t_type("string"),
        "status", ref("ChildKeyStatus"), "issued_at_epoch", t_id(),
        "issued_by", t_enum(issuers), "default_namespace", nullable(t_type("string")),
        "namespaces", t_strings(), "scopes", t_strings(),
        "model_limits", nullable(t_strings()), "allow_ips", nullable(t_strings()),
        "expires_at", nullable(t_time()), "key_prefix", t_type("string"),
        "created_at", t_time(), "updated_at", t_time(), NULL), NULL));
    set(c, "ChildKeyWithToken", t_extend("ChildKey", props(
        "token", about(t_type("string"), "The child key (sk-ez-...), shown only here."),
        NULL)));
    set(c, "ChildKeyIssue", t_body(pick(k, NULL, "name namespaces default_namespace model_limits "
                                           "allow_ips expires_at"), NULL));
    set(c, "ChildKeyUpdate", t_body(pick(k, NULL, "status name expires_at model_limits allow_ips"),
                                    NULL));
    set(c, "ChildKeyOwnerUpdate",
        t_body(pick(k, NULL, "status name expires_at model_limits allow_ips namespaces "
                       "default_namespace"), NULL));
    set(c, "ChildKeyAccess", t_body(pick(k, NULL, "namespaces default_namespace"), NULL));
    set(c, "Rotate", t_body(props("grace_seconds", about(
        with(t_int(0, EZ_TENANT_MAX_GRACE), "default", json_integer(0)),
        "How long the old secret keeps working."), NULL), NULL));
    set(c, "Session", t_answer(props(
        "token", about(t_type("string"), "A session JWT, usable instead of the master key."),
        "expires_at", t_time(), NULL), NULL));
    json_decref(f);
    json_decref(k);
}

static void operations_schemas(json_t *c)
{
    set(c, "ActorType", t_enum(actor_types));
    set(c, "AuditRecord", t_answer(props(
        "id", t_id(), "time", t_time(), "request_id", t_type("string"),
        "actor_type", ref("ActorType"), "actor", t_type("string"),
        "action", about(t_type("string"), "e.g. provider_group.update, auth.failure"),
        "resource", t_type("string"), "resource_id", t_type("string"),
        "method", t_type("string"), "path", t_type("string"), "status", t_int(0, 0),
        "remote_addr", t_type("string"), "user_agent", t_type("string"),
        "latency_us", t_int(0, 0),
        "changes", about(nullable(t_type("object")), "{\"before\", \"after\"}, secrets redacted."),
        NULL), NULL));
    set(c, "OutboxStatus", t_enum(outbox_statuses));
    set(c, "OutboxEntry", t_answer(props(
        "id", t_id(), "resource", t_type("string"), "op", t_type("string"),
        "resource_id", nullable(t_int(0, 0)), "payload", t_type("object"),
        "attempts", t_int(0, 0), "next_attempt_at", t_time(),
        "last_error", nullable(t_type("string")), "status", ref("OutboxStatus"),
        "created_at", t_time(), "updated_at", t_time(), NULL), NULL));
    set(c, "SyncRun", t_answer(props(
        "id", t_id(), "kind", t_type("string"), "status", t_enum(run_statuses),
        "requested_at", t_time(), "started_at", nullable(t_time()),
        "finished_at", nullable(t_time()), "error", nullable(t_type("string")), NULL), NULL));
    set(c, "SyncStatus", t_answer(props(
        "syncer", t_answer(props("alive", t_type("boolean"), "queue_depth", t_int(0, 0),
                                 "restarts", t_int(0, 0), "lag_seconds", t_type("number"),
                                 NULL), NULL),
        "outbox", t_answer(props("pending", t_int(0, 0), "failed", t_int(0, 0),
                                 "oldest_pending_at", nullable(t_time()), NULL), NULL),
        "redis", t_answer(props("ok", t_type("boolean"),
                                "version", about(nullable(t_type("string")),
                                                 "meta:sync version."), NULL), NULL),
        "last_full_sync_at", about(nullable(t_int(0, 0)), "Unix seconds."),
        "last_full_resync", nullable(ref("SyncRun")), NULL), NULL));
    set(c, "Verification", t_answer(props(
        "equal", about(t_type("boolean"), "Redis holds exactly what PostgreSQL projects."),
        "differences", about(with(t_type("object"), "additionalProperties", t_array(t_answer(
            props("key", t_type("string"), "field", nullable(t_type("string")),
                  "expected", nullable(t_type("string")), "actual", nullable(t_type("string")),
                  NULL), NULL), 0, 0, 0)), "Per resource, what differs."),
        "counts", about(with(t_type("object"), "additionalProperties", t_int(0, 0)),
                        "Per resource, how many differences."),
        "keys_checked", t_int(0, 0), NULL), "counts keys_checked"));

    set(c, "ExplainRequest", about(with(t_body(props(
        "key_id", about(t_id(), "A child key id (404 when there is none)."),
        "token", about(t_str(1, EZ_EXPLAIN_MAX_TOKEN), "A child key secret (sk-ez-...)."),
        "model", about(t_str(1, EZ_EXPLAIN_MAX_MODEL),
                       "The model as a client asks for it: \"<namespace>.<public model>\" "
                       "or a public model."), NULL),
        "model"), "oneOf", need(json_pack("[{s:[s]}, {s:[s]}]", "required", "key_id",
                                          "required", "token"))),
        "Exactly one of key_id and token, plus model."));
    set(c, "Explanation", t_answer(props(
        "token", t_answer(props("accepted", t_type("boolean"),
                                "reason", about(nullable(t_type("string")),
                                                "Why the token is refused, or null."),
                                "key_id", nullable(t_id()), "master_id", nullable(t_id()),
                                NULL), NULL),
        "namespace", nullable(t_type("string")),
        "public_model", nullable(t_type("string")),
        "error", about(nullable(t_type("string")), "Why the request routes nowhere, or null."),
        "routed", about(t_type("boolean"), "Accepted, and at least one usable candidate."),
        "candidates", t_array(t_answer(props(
            "group_id", t_id(), "group", t_type("string"), "weight", t_int(0, 0),
            "status", ref("BindingStatus"), "error", nullable(t_type("string")),
            "keys", t_array(t_answer(props(
                "id", t_id(), "weight", t_int(0, 0),
                "upstream_model", nullable(t_type("string")),
                "excluded", about(nullable(t_enum(exclusions)),
                                  "null when the key can be chosen."), NULL), NULL),
                0, 0, 0), NULL), "status"), 0, 0, 0),
        "warnings", about(t_strings(), "Inconsistencies found in Redis on the way."), NULL),
        "error routed warnings"));
}

static const char *const import_conflicts[] = { "skip", "overwrite", NULL };

/* Import and export (docs/migrate.md). */
static void migration_schemas(json_t *c)
{
    set(c, "ImportConflict", t_enum(import_conflicts));
    json_t *counts = props("namespaces", t_int(0, 0), "provider_groups", t_int(0, 0),
                           "api_keys", t_int(0, 0), "masters", t_int(0, 0), "keys", t_int(0, 0),
                           "bindings", t_int(0, 0), NULL);
    set(c, "ImportCounts", t_answer(counts, NULL));
    set(c, "ImportDocument", about(need(json_pack(
        "{s:s, s:[s, s], s:{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}}}", "type", "object",
        "required", "version", "data", "properties", "version", "type", "string",
        "source", "type", "object", "data", "type", "object", "warnings", "type", "array")),
        "The intermediate JSON of new-api's exporter: data.providers, data.masters, "
        "data.keys, data.bindings (docs/migrate.md)."));
    set(c, "ImportResult", t_answer(props(
        "dry_run", t_type("boolean"),
        "committed", about(t_type("boolean"), "The import was written."),
        "created", ref("ImportCounts"), "skipped", ref("ImportCounts"),
        "overwritten", ref("ImportCounts"),
        "masters", about(t_array(t_answer(props(
            "name", t_type("string"),
            "master_key", about(nullable(t_type("string")), "Shown once; null in a dry run."),
            NULL), NULL), 0, 0, 0), "The masters created, with their new master keys."),
        "warnings", t_strings(),
        "errors", t_array(t_answer(props(
            "section", t_type("string"), "index", t_int(0, 0), "field", t_type("string"),
            "message", t_type("string"), NULL), NULL), 0, 0, 0), NULL), NULL));
}

/* ---- Parameters, responses, security ---------------------------------- */

static json_t *query_param(const char *name, json_t *schema, const char *text)
{
    json_t *p = need(json_pack("{s:s, s:s, s:o}", "name", name, "in", "query", "schema", schema));
    return text ? about(p, text) : p;
}

static void shared_parameters(json_t *c)
{
    json_t *limit = with(t_int(1, EZ_PAGE_MAX_LIMIT), "default",
                         json_integer(EZ_PAGE_DEFAULT_LIMIT));
    set(c, "Limit", query_param("limit", limit, "Items per page."));
    set(c, "Cursor", query_param("cursor", t_type("string"),
                                 "Opaque: next_cursor of the previous page."));
    set(c, "Id", need(json_pack("{s:s, s:s, s:b, s:o, s:s}", "name", "id", "in", "path",
                                "required", 1, "schema", t_id(), "description",
                                "The row id; a non-numeric id is a 400.")));
    set(c, "NamespaceName", need(json_pack("{s:s, s:s, s:b, s:o}", "name", "name", "in", "path",
                                           "required", 1, "schema",
                                           t_pattern(NS_PATTERN, EZ_MAX_NAME))));
    set(c, "ConsoleFile", need(json_pack("{s:s, s:s, s:b, s:o, s:s}", "name", "file", "in",
                                         "path", "required", 1, "schema",
                                         t_pattern("^[A-Za-z0-9_-][A-Za-z0-9._-]*$", 128),
                                         "description", "A file of the admin console.")));
    set(c, "RequestId", need(json_pack("{s:s, s:s, s:o, s:s}", "name", "X-Request-ID",
                                       "in", "header", "schema",
                                       t_pattern("^[A-Za-z0-9._-]{1,128}$", 128), "description",
                                       "Echoed back when valid; otherwise a new id is made.")));
}

/* Query parameters by key (struct ez_route .query). */
enum qkind { Q_SHARED, Q_SCHEMA, Q_ID, Q_STRING, Q_TIME, Q_BOOL, Q_PATTERN };
static const struct qparam {
    const char *key, *name;
    enum qkind kind;
    const char *arg; /* Q_SHARED: parameter; Q_SCHEMA: schema; Q_PATTERN: pattern */
    int max;
    const char *text;
} qparams[] = {
    { "limit", "limit", Q_SHARED, "Limit", 0, NULL },
    { "cursor", "cursor", Q_SHARED, "Cursor", 0, NULL },
    { "namespace_status", "status", Q_SCHEMA, "NamespaceStatus", 0, NULL },
    { "group_status", "status", Q_SCHEMA, "ProviderGroupStatus", 0, NULL },
    { "group_type", "type", Q_SCHEMA, "ProviderType", 0, "Normalised like the field." },
    { "cascade", "cascade", Q_BOOL, NULL, 0,
      "true also deletes the group's api keys and bindings (else 409 while it has any)." },
    { "group_id", "group_id", Q_ID, NULL, 0, NULL },
    { "api_key_status", "status", Q_SCHEMA, "ApiKeyStatus", 0, NULL },
    { "model_name", "name", Q_STRING, NULL, EZ_MAX_REGISTRY_NAME, "Exact name." },
    { "namespace", "namespace", Q_PATTERN, NS_PATTERN, EZ_MAX_NAME, NULL },
    { "master_status", "status", Q_SCHEMA, "MasterStatus", 0, NULL },
    { "key_status", "status", Q_SCHEMA, "ChildKeyStatus", 0, "The status as shown." },
    { "outbox_status", "status", Q_SCHEMA, "OutboxStatus", 0, NULL },
    { "actor_type", "actor_type", Q_SCHEMA, "ActorType", 0, NULL },
    { "actor", "actor", Q_STRING, NULL, 256, "JWT sub of an admin, or a master id." },
    { "action", "action", Q_STRING, NULL, 256, NULL },
    { "resource", "resource", Q_STRING, NULL, 256, NULL },
    { "resource_id", "resource_id", Q_STRING, NULL, 256, NULL },
    { "request_id", "request_id", Q_STRING, NULL, 256, NULL },
    { "since", "since", Q_TIME, NULL, 0, "Records at or after this time." },
    { "until", "until", Q_TIME, NULL, 0, "Records before this time." },
    { "dry_run", "dry_run", Q_BOOL, NULL, 0,
      "true answers what the import would do and writes nothing." },
    { "conflict", "conflict", Q_SCHEMA, "ImportConflict", 0,
      "What to do with an item that exists already (default skip)." },
    { "include_bindings", "include_bindings", Q_BOOL, NULL, 0,
      "true also imports the document's bindings." },
    { "skip_invalid", "skip_invalid", Q_BOOL, NULL, 0,
      "true imports the valid items and lists the others (else any error aborts)." },
    { "import_from", "from", Q_PATTERN, "^(newapi|litellm)$", 16,
      "The document's format: newapi (JSON, default) or litellm (a LiteLLM proxy config, "
      "Content-Type: application/yaml)." },
    { "resolve", "resolve", Q_BOOL, NULL, 0,
      "true adds to each binding of the page its resolved candidate." },
    { "include_secrets", "include_secrets", Q_BOOL, NULL, 0,
      "true adds the upstream api keys in clear (admin role only; audited)." },
};

static json_t *query_param_by_key(const char *key, size_t n)
{
    for (size_t i = 0; i < sizeof qparams / sizeof qparams[0]; i++) {
        const struct qparam *q = &qparams[i];
        if (strlen(q->key) != n || strncmp(q->key, key, n) != 0)
            continue;
        json_t *schema = NULL;
        switch (q->kind) {
        case Q_SHARED: return ref_to("parameters", q->arg);
        case Q_SCHEMA: schema = ref(q->arg); break;
        case Q_ID: schema = t_id(); break;
        case Q_STRING: schema = t_str(1, (size_t)q->max); break;
        case Q_TIME: schema = t_time(); break;
        case Q_BOOL: schema = with(t_type("boolean"), "default", json_false()); break;
        case Q_PATTERN: schema = t_pattern(q->arg, (size_t)q->max); break;
        }
        return query_param(q->name, schema, q->text);
    }
    broken = 1;
    return NULL;
}

static const struct error_response {
    int status;
    const char *name, *text;
} error_responses[] = {
    { 400, "BadRequest", "Invalid input: malformed JSON or query, a wrong type, an unknown "
                         "or missing field, a value out of range; param names the field." },
    { 401, "Unauthorized", "Missing or invalid credentials." },
    { 403, "Forbidden", "Not allowed: a viewer token on a write, a master credential on an "
                        "admin route, a suspended master, or an address outside "
                        "metrics_allow." },
    { 404, "NotFound", "No such resource (or another master's)." },
    { 409, "Conflict", "A unique name taken, a row still in use, a limit reached, or a "
                       "revoked key." },
    { 413, "PayloadTooLarge", "The body is larger than max_body_size." },
    { 415, "UnsupportedMediaType", "A non-empty body that is not application/json." },
    { 422, "UnprocessableEntity", "A rule between fields or rows: a reference to a row that "
                                  "does not exist, namespaces outside the master's." },
    { 429, "TooManyRequests", "This address failed to authenticate auth_failure_limit times "
                              "within auth_failure_window; Retry-After says when the window "
                              "ends." },
    { 503, "Unavailable", "PostgreSQL is unreachable; retry later. On a write, code "
                          "commit_outcome_unknown says the connection was lost during its "
                          "COMMIT: it may have been applied, so read the resource before "
                          "retrying." },
};

/* A response object with the X-Request-ID header; content may be NULL. */
static json_t *response(const char *text, json_t *content)
{
    json_t *r = need(json_pack("{s:s, s:{s:o}}", "description", text, "headers", "X-Request-ID",
                               ref_to("headers", "RequestId")));
    if (content)
        set(r, "content", content);
    return r;
}

static json_t *json_content(json_t *schema)
{
    return need(json_pack("{s:{s:o}}", "application/json", "schema", schema));
}

static void shared_responses(json_t *c)
{
    for (size_t i = 0; i < sizeof error_responses / sizeof error_responses[0]; i++) {
        json_t *r = response(error_responses[i].text, json_content(ref("Error")));
        if (error_responses[i].status == 401)
            set(json_object_get(r, "headers"), "WWW-Authenticate",
                need(json_pack("{s:s, s:{s:s}}", "description", "Bearer", "schema", "type",
                               "string")));
        if (error_responses[i].status == 429)
            set(json_object_get(r, "headers"), "Retry-After",
                need(json_pack("{s:s, s:{s:s}}", "description", "Seconds until the window ends",
                               "schema", "type", "integer")));
        set(c, error_responses[i].name, r);
    }
}

static void security_schemes(json_t *c)
{
    set(c, "adminToken", need(json_pack(
        "{s:s, s:s, s:s, s:s}", "type", "http", "scheme", "bearer", "bearerFormat", "JWT",
        "description", "HS256 JWT signed with admin_jwt_secret (iss, sub, exp, role admin or "
                       "viewer; no aud). `ezapi token admin` mints one. A viewer may only GET.")));
    set(c, "masterKey", need(json_pack(
        "{s:s, s:s, s:s}", "type", "http", "scheme", "bearer",
        "description", "The master key (ezm_...).")));
    set(c, "masterSession", need(json_pack(
        "{s:s, s:s, s:s, s:s}", "type", "http", "scheme", "bearer", "bearerFormat", "JWT",
        "description", "A session token from POST /v1/auth/token; it stops working when the "
                       "master key is rotated.")));
}

/* ---- Operations: one per row of route_table.h (ez_routes[]) ----------- */

static const struct tag {
    const char *name, *text;
} tags[] = {
    { "Service", "Health, readiness, metrics and this document; no credentials." },
    { "Namespaces", "Routing namespaces (docs/catalog.md, docs/tenants.md)." },
    { "Provider groups", "Upstream providers (docs/providers.md)." },
    { "API keys", "Upstream credentials of a provider group (docs/providers.md)." },
    { "Models", "The model registry (docs/catalog.md)." },
    { "Bindings", "Public model -> provider group, per namespace (docs/catalog.md)." },
    { "Features", "Data-plane switches (docs/catalog.md)." },
    { "Masters", "Tenants, as the operator manages them (docs/tenants.md)." },
    { "Child keys", "Tenants' keys, as the operator manages them (docs/tenants.md)." },
    { "Master API", "What a master does with its master key or session (docs/tenants.md)." },
    { "Audit", "Who changed what (docs/operations.md, Audit log)." },
    { "Sync", "The Redis projection: outbox and full resyncs (docs/redis.md)." },
    { "Routing", "What the data plane would do (docs/redis.md)." },
    { "Console", "The admin console in the browser, built into the binary (docs/console.md)." },
    { "Migration", "Import from other gateways, export (docs/migrate.md)." },
};

static const char *const info_text =
    "The admin and master API of ezapi, the control plane of an LLM gateway.\n\n"
    "Conventions (docs/api.md): JSON in and out. Errors answer "
    "`{\"error\": {\"type\", \"code\", \"message\", \"param\", \"request_id\"}}` (schema "
    "Error). Lists take `limit` (1-" STR(EZ_PAGE_MAX_LIMIT) ", default "
    STR(EZ_PAGE_DEFAULT_LIMIT) ") and an opaque `cursor`, and answer "
    "`{\"data\", \"has_more\", \"next_cursor\"}`. Create answers 201, get and update 200, "
    "delete 204. PUT takes a partial object: omitted fields keep their value, null clears "
    "a nullable one. A secret is answered once, at creation or rotation. Timestamps are "
    "RFC 3339 UTC. Every answer carries X-Request-ID. String limits (maxLength) are the "
    "server's limits in bytes of UTF-8.\n\n"
    "Answers every route may give besides those listed: 404 route_not_found for a path "
    "that is not here, 405 with an Allow header for a method not listed for a path, 413 "
    "when the body exceeds max_body_size (checked before routing), 500 api_error for an "
    "internal error.";

const char *ez_openapi_auth_name(int auth)
{
    switch (auth) {
    case EZ_AUTH_PUBLIC: return "public";
    case EZ_AUTH_ADMIN: return "admin";
    case EZ_AUTH_MASTER: return "master";
    case EZ_AUTH_METRICS: return "metrics";
    case EZ_AUTH_ADMIN_READ: return "admin_read";
    }
    return "unknown";
}

static json_t *security(const struct ez_route *o)
{
    switch (o->auth) {
    case EZ_AUTH_ADMIN:
    case EZ_AUTH_ADMIN_READ: return need(json_pack("[{s:[]}]", "adminToken"));
    case EZ_AUTH_MASTER:
        return o->key_only ? need(json_pack("[{s:[]}]", "masterKey"))
                           : need(json_pack("[{s:[]}, {s:[]}]", "masterKey", "masterSession"));
    case EZ_AUTH_PUBLIC:
    case EZ_AUTH_METRICS: break; /* /metrics is checked by address */
    }
    return need(json_array());
}

/* {name} placeholders of the template as path parameters. */
static void path_parameters(json_t *list, const char *path)
{
    for (const char *p = strchr(path, '{'); p; p = strchr(p + 1, '{')) {
        size_t n = strcspn(p + 1, "}");
        const char *shared = n == 2 && strncmp(p + 1, "id", 2) == 0     ? "Id"
                             : n == 4 && strncmp(p + 1, "name", 4) == 0 ? "NamespaceName"
                             : n == 4 && strncmp(p + 1, "file", 4) == 0 ? "ConsoleFile"
                                                                        : NULL;
        if (!shared || json_array_append_new(list, ref_to("parameters", shared)) != 0)
            broken = 1;
    }
}

static json_t *parameters(const struct ez_route *o)
{
    json_t *list = need(json_array());
    path_parameters(list, o->path);
    for (const char *q = o->query; q && *q;) {
        size_t n = strcspn(q, " ");
        if (n && json_array_append_new(list, query_param_by_key(q, n)) != 0)
            broken = 1;
        q += n;
        q += strspn(q, " ");
    }
    if (json_array_append_new(list, ref_to("parameters", "RequestId")) != 0)
        broken = 1;
    return list;
}

static const char *status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 503: return "Service Unavailable";
    }
    return "Answer";
}

static json_t *answer_content(const char *answer)
{
    if (strchr(answer, '/'))
        return need(json_pack("{s:{s:{s:s}}}", answer, "schema", "type", "string"));
    if (strncmp(answer, "List:", 5) == 0)
        return json_content(need(json_pack(
            "{s:[o, {s:s, s:{s:{s:s, s:o}}}]}", "allOf", ref("List"), "type", "object",
            "properties", "data", "type", "array", "items", ref(answer + 5))));
    return json_content(ref(answer));
}

static void add_status(char *codes, int status)
{
    if (status >= 100 && status < 600)
        codes[status] = 1;
    else
        broken = 1;
}

static json_t *responses(const struct ez_route *o)
{
    json_t *out = need(json_object());
    char key[8], codes[600] = { 0 };
    snprintf(key, sizeof key, "%d", o->status);
    set(out, key, response(status_text(o->status), o->answer ? answer_content(o->answer) : NULL));

    if (strchr(o->path, '{') || o->query || o->body)
        add_status(codes, 400);
    if (o->auth == EZ_AUTH_ADMIN || o->auth == EZ_AUTH_ADMIN_READ || o->auth == EZ_AUTH_MASTER) {
        add_status(codes, 401);
        add_status(codes, 429);
        add_status(codes, 503);
    }
    if (o->auth != EZ_AUTH_PUBLIC)
        add_status(codes, 403);
    if (o->body) {
        add_status(codes, 413);
        add_status(codes, 415);
    }
    const char *special = NULL; /* "503:Readiness" */
    for (const char *e = o->errors; e && *e;) {
        char *end;
        long status = strtol(e, &end, 10);
        add_status(codes, (int)status);
        if (*end == ':') {
            special = e;
            end += strcspn(end, " ");
        }
        e = end + strspn(end, " ");
    }
    for (int status = 400; status < 600; status++) {
        if (!codes[status])
            continue;
        snprintf(key, sizeof key, "%d", status);
        if (special && atoi(special) == status) {
            char schema[64];
            snprintf(schema, sizeof schema, "%.*s", (int)strcspn(special + 4, " "), special + 4);
            set(out, key, response(status_text(status), json_content(ref(schema))));
            continue;
        }
        const char *name = NULL;
        for (size_t i = 0; i < sizeof error_responses / sizeof error_responses[0]; i++)
            if (error_responses[i].status == status)
                name = error_responses[i].name;
        set(out, key, name ? ref_to("responses", name) : NULL);
    }
    return out;
}

static json_t *operation(const struct ez_route *o)
{
    json_t *op = need(json_pack("{s:[s], s:s, s:s, s:s, s:o}", "tags", o->tag, "summary",
                                o->summary, "operationId", o->operation_id, "x-ezapi-auth",
                                ez_openapi_auth_name(o->auth), "security", security(o)));
    set(op, "parameters", parameters(o));
    if (o->body) {
        json_t *content = json_content(ref(o->body));
        if (o->raw_body) /* read by the handler itself, e.g. a YAML file */
            set(content, o->raw_body, need(json_pack("{s:{s:s}}", "schema", "type", "string")));
        set(op, "requestBody", need(json_pack("{s:b, s:o}", "required", o->body_required,
                                              "content", content)));
    }
    set(op, "responses", responses(o));
    return op;
}

static int tag_declared(const char *name)
{
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++)
        if (strcmp(tags[i].name, name) == 0)
            return 1;
    return 0;
}

static json_t *paths(void)
{
    json_t *out = need(json_object());
    for (int i = 0; i < ez_routes_count; i++) {
        const struct ez_route *o = &ez_routes[i];
        json_t *item = json_object_get(out, o->path);
        if (!item) {
            item = need(json_object());
            set(out, o->path, item);
        }
        char method[8];
        size_t n = 0;
        for (; o->method[n] && n < sizeof method - 1; n++)
            method[n] = (char)(o->method[n] - 'A' + 'a');
        method[n] = 0;
        if (json_object_get(item, method) || !tag_declared(o->tag) || o->status < 200 ||
            o->status > 299)
            broken = 1; /* one route, two rows; an undescribed tag; no success status */
        set(item, method, operation(o));
    }
    return out;
}

static json_t *build(void)
{
    json_t *schemas = need(json_object()), *params = need(json_object());
    json_t *resp = need(json_object()), *schemes = need(json_object());
    common_schemas(schemas);
    service_schemas(schemas);
    namespace_schemas(schemas);
    provider_schemas(schemas);
    catalog_schemas(schemas);
    tenant_schemas(schemas);
    operations_schemas(schemas);
    migration_schemas(schemas);
    shared_parameters(params);
    shared_responses(resp);
    security_schemes(schemes);

    json_t *tag_list = need(json_array());
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++)
        if (json_array_append_new(tag_list, json_pack("{s:s, s:s}", "name", tags[i].name,
                                                      "description", tags[i].text)) != 0)
            broken = 1;
    json_t *doc = need(json_pack(
        "{s:s, s:{s:s, s:s, s:s}, s:[{s:s, s:s}], s:o, s:o, s:{s:o, s:o, s:o, s:{s:{s:s, s:o}}, "
        "s:o}}",
        "openapi", "3.1.0",
        "info", "title", "ezapi control plane API", "version", PACKAGE_VERSION,
        "description", info_text,
        "servers", "url", "/", "description", "The server that serves this document",
        "tags", tag_list,
        "paths", paths(),
        "components", "schemas", schemas, "parameters", params, "responses", resp,
        "headers", "RequestId", "description", "The request id (the client's if valid).",
        "schema", t_type("string"),
        "securitySchemes", schemes));
    if (broken) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

const json_t *ez_openapi_document(void)
{
    static json_t *doc;
    if (!doc) {
        broken = 0;
        doc = build();
    }
    return doc;
}

void h_openapi(struct ez_req *r)
{
    static char *text; /* kept for the life of the worker */
    const json_t *doc = text ? NULL : ez_openapi_document();
    if (!text && doc)
        text = json_dumps(doc, JSON_COMPACT);
    if (!text) {
        ez_reply_error(r, 500, "api_error", "openapi_unavailable", NULL,
                       "the API description could not be built");
        return;
    }
    ez_reply_text(r, 200, "application/json", text, strlen(text));
}
