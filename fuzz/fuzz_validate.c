/* libFuzzer target: the validators of every resource, fed a request body
 * through the same path as the handlers: ez_body_parse, then the
 * validator of the route. Byte 0 picks the validator; the rest is the body,
 * optionally followed by a NUL and the current row (JSON) that an update's
 * merge rules compare with.
 *
 * What must hold: a refusal is a JSON error whose reason and field survive
 * into the answer, and a route explain refusal never echoes the token; an
 * accepted body gives values within the rules (names, ranges, lists), and
 * nothing leaks either way. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/selector.h"
#include "fuzz/fuzz.h"
#include "worker/body.h"
#include "worker/validate.h"
#include "worker/validate_catalog.h"
#include "worker/validate_explain.h"
#include "worker/validate_namespace.h"
#include "worker/validate_provider.h"
#include "worker/validate_tenant.h"

enum {
    V_GROUP_CREATE, V_GROUP_UPDATE, V_KEY_CREATE, V_KEY_UPDATE, V_PRESET, V_CUSTOM,
    V_MODEL_CREATE, V_MODEL_UPDATE, V_BINDING_CREATE, V_BINDING_UPDATE, V_FEATURES,
    V_NAMESPACE_CREATE, V_NAMESPACE_UPDATE, V_MASTER_CREATE, V_MASTER_UPDATE, V_MASTER_ACCESS,
    V_TOKEN_ISSUE, V_TOKEN_UPDATE_ADMIN, V_TOKEN_UPDATE_OWNER, V_TOKEN_ACCESS, V_ROTATE,
    V_EMPTY, V_EXPLAIN, V_COUNT
};

#ifndef EZ_FUZZ_SEED_MAIN

static int group_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > EZ_MAX_NAME)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
            return 0;
    }
    return 1;
}

static int feature_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > EZ_MAX_FEATURE_NAME)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

static int listed(const char *const *set, const char *s)
{
    for (int i = 0; set[i]; i++)
        if (strcmp(set[i], s) == 0)
            return 1;
    return 0;
}

static void check_names(json_t *list, size_t max)
{
    if (!list)
        return;
    EZ_FUZZ_ASSERT(json_is_array(list) && json_array_size(list) <= max, "list too long");
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
        EZ_FUZZ_ASSERT(json_is_string(v) && ez_v_is_namespace_name(json_string_value(v)),
                       "namespace entry %zu not a name", i);
}

static void check_group(const struct ez_group_in *g, int create)
{
    static const char *const statuses[] = EZ_GROUP_STATUSES;
    if (create)
        EZ_FUZZ_ASSERT(g->name && g->type && g->models, "create lacks name, type or models");
    if (g->name)
        EZ_FUZZ_ASSERT(group_name_ok(g->name), "group name '%s'", g->name);
    if (g->type)
        EZ_FUZZ_ASSERT(listed(ez_provider_types, g->type), "type '%s'", g->type);
    if (g->status)
        EZ_FUZZ_ASSERT(listed(statuses, g->status), "status '%s'", g->status);
    if (g->models) {
        size_t n = json_array_size(g->models), i;
        EZ_FUZZ_ASSERT(n >= 1 && n <= EZ_MAX_MODELS, "%zu models", n);
        json_t *m;
        json_array_foreach(g->models, i, m) {
            const char *s = json_string_value(m);
            EZ_FUZZ_ASSERT(s && *s && strlen(s) <= EZ_MAX_MODEL_NAME && ez_fuzz_clean(s),
                           "model %zu", i);
        }
    }
    const char *strs[] = { g->base_url, g->google_project, g->google_location };
    for (int i = 0; i < 3; i++)
        EZ_FUZZ_ASSERT(ez_fuzz_clean(strs[i]), "string %d holds a control character", i);
}

static void check_key(const struct ez_key_in *k, int create)
{
    static const char *const statuses[] = EZ_API_KEY_STATUSES;
    if (create)
        EZ_FUZZ_ASSERT(k->group_id > 0 && k->api_key && *k->api_key, "create lacks group or key");
    if (k->has_weight)
        EZ_FUZZ_ASSERT(k->weight >= 0 && k->weight <= EZ_MAX_KEY_WEIGHT, "weight %lld",
                       k->weight);
    if (k->status)
        EZ_FUZZ_ASSERT(listed(statuses, k->status), "status '%s'", k->status);
    if (k->ban_until) /* RFC 3339 with T and Z in upper case (any year from 0001) */
        EZ_FUZZ_ASSERT(strlen(k->ban_until) >= 20 && k->ban_until[10] == 'T' &&
                           !strchr(k->ban_until, 'z') && !strchr(k->ban_until, 't'),
                       "ban_until '%s'", k->ban_until);
    EZ_FUZZ_ASSERT(ez_fuzz_clean(k->api_key) && ez_fuzz_clean(k->ban_reason), "control char");
}

static void check_binding(const struct ez_binding_in *b, int create)
{
    static const char *const types[] = EZ_SELECTOR_TYPES, *const statuses[] = EZ_BINDING_STATUSES;
    if (create)
        EZ_FUZZ_ASSERT(b->ns && b->public_model && b->group_id > 0, "create lacks a field");
    if (b->ns)
        EZ_FUZZ_ASSERT(ez_v_is_namespace_name(b->ns), "namespace '%s'", b->ns);
    if (b->has_weight)
        EZ_FUZZ_ASSERT(b->weight >= 0 && b->weight <= EZ_MAX_BINDING_WEIGHT, "weight");
    if (b->selector_type)
        EZ_FUZZ_ASSERT(listed(types, b->selector_type), "selector type '%s'", b->selector_type);
    if (b->status)
        EZ_FUZZ_ASSERT(listed(statuses, b->status), "status '%s'", b->status);
    if (create && b->selector_value) {
        /* an accepted selector is one Go's regexp accepts */
        char why[160];
        EZ_FUZZ_ASSERT(ez_sel_check(b->selector_type, b->selector_value, b->public_model, why,
                                    sizeof why) == 0,
                       "accepted selector refused: %s", why);
    }
}

static void check_master(const struct ez_master_in *m, int create)
{
    static const char *const statuses[] = EZ_MASTER_STATUSES, *const props[] = EZ_PROPAGATIONS;
    if (create)
        EZ_FUZZ_ASSERT(m->name, "create lacks a name");
    if (m->status)
        EZ_FUZZ_ASSERT(listed(statuses, m->status), "status '%s'", m->status);
    if (m->propagate)
        EZ_FUZZ_ASSERT(listed(props, m->propagate), "propagate '%s'", m->propagate);
    if (m->has_max_child_keys)
        EZ_FUZZ_ASSERT(m->max_child_keys >= 0 && m->max_child_keys <= EZ_MAX_CHILD_KEYS, "max");
    if (m->has_global_qps)
        EZ_FUZZ_ASSERT(m->global_qps >= 0 && m->global_qps <= EZ_MAX_GLOBAL_QPS, "qps");
    check_names(m->namespaces, EZ_TENANT_MAX_LIST);
    if (m->default_namespace && *m->default_namespace)
        EZ_FUZZ_ASSERT(ez_v_is_namespace_name(m->default_namespace), "default namespace");
    EZ_FUZZ_ASSERT(ez_fuzz_clean(m->name) && ez_fuzz_clean(m->group), "control char");
}

static void check_child_key(const struct ez_child_key_in *k)
{
    static const char *const statuses[] = EZ_KEY_SET_STATUSES;
    long long t;
    if (k->status)
        EZ_FUZZ_ASSERT(listed(statuses, k->status), "status '%s'", k->status);
    check_names(k->namespaces, EZ_TENANT_MAX_LIST);
    if (k->default_namespace && *k->default_namespace)
        EZ_FUZZ_ASSERT(ez_v_is_namespace_name(k->default_namespace), "default namespace");
    if (k->expires_at)
        EZ_FUZZ_ASSERT(ez_tenant_parse_time(k->expires_at, &t) == 0, "expires_at '%s'",
                       k->expires_at);
    size_t i;
    json_t *v;
    if (k->allow_ips) {
        EZ_FUZZ_ASSERT(json_array_size(k->allow_ips) <= EZ_TENANT_MAX_IPS, "too many ips");
        json_array_foreach(k->allow_ips, i, v)
            EZ_FUZZ_ASSERT(json_is_string(v) && ez_tenant_cidr_valid(json_string_value(v)),
                           "allow_ips entry %zu", i);
    }
    if (k->model_limits) {
        EZ_FUZZ_ASSERT(json_array_size(k->model_limits) <= EZ_TENANT_MAX_LIST, "too many");
        json_array_foreach(k->model_limits, i, v) {
            const char *s = json_string_value(v);
            /* the Redis value joins the entries with commas */
            EZ_FUZZ_ASSERT(s && *s && !strchr(s, ',') && ez_fuzz_clean(s), "model limit %zu", i);
        }
    }
    EZ_FUZZ_ASSERT(ez_fuzz_clean(k->name), "control char in name");
}

static void check_features(json_t *set, json_t *del)
{
    EZ_FUZZ_ASSERT(json_is_object(set) && json_is_array(del), "features shape");
    EZ_FUZZ_ASSERT(json_object_size(set) + json_array_size(del) <= EZ_MAX_FEATURES_PER_PUT,
                   "too many features");
    const char *name;
    json_t *v;
    json_object_foreach(set, name, v)
        EZ_FUZZ_ASSERT(feature_name_ok(name) && json_is_string(v) &&
                           json_string_length(v) <= EZ_MAX_FEATURE_VALUE,
                       "feature '%s'", name);
    size_t i;
    json_array_foreach(del, i, v)
        EZ_FUZZ_ASSERT(json_is_string(v) && feature_name_ok(json_string_value(v)), "deleted %zu",
                       i);
}

/* The row an update is merged with: the one given after the body, else a
 * plausible one. */
static json_t *current_row(const char *text, size_t len, int binding)
{
    json_t *row = len ? json_loadb(text, len, 0, NULL) : NULL;
    if (json_is_object(row))
        return row;
    json_decref(row);
    if (binding)
        return json_pack("{s:I, s:s, s:s, s:I, s:I, s:s, s:s, s:s}", "id", (json_int_t)1,
                         "namespace", "team-a", "public_model", "gpt-4o", "group_id",
                         (json_int_t)1, "weight", (json_int_t)1, "selector_type", "exact",
                         "selector_value", "gpt-4o", "status", "active");
    return json_pack("{s:I, s:s, s:s, s:n, s:n, s:n, s:[s], s:s}", "id", (json_int_t)1, "name",
                     "g1", "type", "openai", "base_url", "google_project", "google_location",
                     "models", "gpt-4o", "status", "active");
}

/* Runs the validator `mode` as its handler does and checks what it
 * accepted; the row an update merges with follows the body. 0 or -1 (e). */
static int validate(int mode, json_t *body, const char *rest, size_t rest_len,
                    struct ez_verr *e)
{
    int rc = 0;
    switch (mode) {
    case V_GROUP_CREATE:
    case V_GROUP_UPDATE: {
        struct ez_group_in g;
        memset(&g, 0, sizeof g);
        rc = ez_validate_group(body, mode == V_GROUP_CREATE, &g, e);
        if (rc == 0)
            check_group(&g, mode == V_GROUP_CREATE);
        if (rc == 0 && mode == V_GROUP_UPDATE) {
            json_t *cur = current_row(rest, rest_len, 0);
            rc = ez_group_merge(&g, cur, e);
            json_decref(cur);
        }
        ez_group_in_free(&g);
        break;
    }
    case V_KEY_CREATE:
    case V_KEY_UPDATE: {
        struct ez_key_in k;
        memset(&k, 0, sizeof k);
        rc = ez_validate_api_key(body, mode == V_KEY_CREATE, &k, e);
        if (rc == 0)
            check_key(&k, mode == V_KEY_CREATE);
        break;
    }
    case V_PRESET:
    case V_CUSTOM: {
        struct ez_group_in g;
        struct ez_key_in k;
        memset(&g, 0, sizeof g);
        memset(&k, 0, sizeof k);
        rc = mode == V_PRESET ? ez_validate_preset(body, &g, &k, e)
                              : ez_validate_custom(body, &g, &k, e);
        if (rc == 0) {
            check_group(&g, 1);
            EZ_FUZZ_ASSERT(k.api_key && *k.api_key, "no first key");
        }
        ez_group_in_free(&g);
        break;
    }
    case V_MODEL_CREATE:
    case V_MODEL_UPDATE: {
        static const char *const kinds[] = EZ_MODEL_KINDS;
        struct ez_model_in m;
        memset(&m, 0, sizeof m);
        rc = ez_validate_model(body, mode == V_MODEL_CREATE, &m, e);
        if (rc == 0 && mode == V_MODEL_CREATE)
            EZ_FUZZ_ASSERT(m.name && *m.name, "create lacks a name");
        if (rc == 0 && m.kind)
            EZ_FUZZ_ASSERT(listed(kinds, m.kind), "kind '%s'", m.kind);
        if (rc == 0 && m.name)
            EZ_FUZZ_ASSERT(strlen(m.name) <= EZ_MAX_REGISTRY_NAME && ez_fuzz_clean(m.name),
                           "name");
        break;
    }
    case V_BINDING_CREATE:
    case V_BINDING_UPDATE: {
        struct ez_binding_in b;
        memset(&b, 0, sizeof b);
        rc = ez_validate_binding(body, mode == V_BINDING_CREATE, &b, e);
        if (rc == 0)
            check_binding(&b, mode == V_BINDING_CREATE);
        if (rc == 0 && mode == V_BINDING_UPDATE) {
            json_t *cur = current_row(rest, rest_len, 1);
            rc = ez_binding_check_merged(cur, &b, e);
            json_decref(cur);
        }
        break;
    }
    case V_FEATURES: {
        json_t *set = NULL, *del = NULL;
        rc = ez_validate_features(body, &set, &del, e);
        if (rc == 0)
            check_features(set, del);
        json_decref(set);
        json_decref(del);
        break;
    }
    case V_NAMESPACE_CREATE:
    case V_NAMESPACE_UPDATE: {
        static const char *const statuses[] = EZ_NAMESPACE_STATUSES;
        struct ez_namespace_in n;
        memset(&n, 0, sizeof n);
        rc = ez_validate_namespace(body, mode == V_NAMESPACE_CREATE, &n, e);
        if (rc == 0 && mode == V_NAMESPACE_CREATE)
            EZ_FUZZ_ASSERT(n.name && ez_v_is_namespace_name(n.name), "name");
        if (rc == 0 && n.status)
            EZ_FUZZ_ASSERT(listed(statuses, n.status), "status '%s'", n.status);
        if (rc == 0 && n.description)
            EZ_FUZZ_ASSERT(strlen(n.description) <= EZ_MAX_DESCRIPTION &&
                               ez_fuzz_clean(n.description),
                           "description");
        break;
    }
    case V_MASTER_CREATE:
    case V_MASTER_UPDATE:
    case V_MASTER_ACCESS: {
        struct ez_master_in m;
        memset(&m, 0, sizeof m);
        rc = mode == V_MASTER_ACCESS ? ez_validate_master_access(body, &m, e)
                                     : ez_validate_master(body, mode == V_MASTER_CREATE, &m, e);
        if (rc == 0)
            check_master(&m, mode == V_MASTER_CREATE);
        break;
    }
    case V_TOKEN_ISSUE:
    case V_TOKEN_UPDATE_ADMIN:
    case V_TOKEN_UPDATE_OWNER:
    case V_TOKEN_ACCESS: {
        static const enum ez_key_mode modes[] = { EZ_KEY_ISSUE, EZ_KEY_UPDATE_ADMIN,
                                                  EZ_KEY_UPDATE_OWNER, EZ_KEY_ACCESS };
        struct ez_child_key_in k;
        memset(&k, 0, sizeof k);
        rc = ez_validate_key(body, modes[mode - V_TOKEN_ISSUE], &k, e);
        if (rc == 0) {
            check_child_key(&k);
            /* the rule between rows, with the key's own list as the master's */
            if (k.namespaces) {
                struct ez_verr e2;
                memset(&e2, 0, sizeof e2);
                if (ez_tenant_rule_access(k.namespaces, k.namespaces, k.default_namespace,
                                          &e2) != 0)
                    ez_fuzz_refusal(&e2, NULL);
                const char *def = ez_tenant_default_for(k.namespaces, k.default_namespace);
                EZ_FUZZ_ASSERT(!def || ez_tenant_listed(k.namespaces, def), "default not listed");
            }
        }
        break;
    }
    case V_ROTATE: {
        long long grace = -1;
        rc = ez_validate_rotate(body, &grace, e);
        if (rc == 0)
            EZ_FUZZ_ASSERT(grace >= 0 && grace <= EZ_TENANT_MAX_GRACE, "grace %lld", grace);
        break;
    }
    case V_EMPTY:
        rc = ez_validate_empty(body, e);
        if (rc == 0)
            EZ_FUZZ_ASSERT(!body || json_object_size(body) == 0, "a non-empty body accepted");
        break;
    case V_EXPLAIN: {
        struct ez_explain_in x;
        rc = ez_validate_explain(body, &x, e);
        if (rc == 0)
            EZ_FUZZ_ASSERT((x.key_id > 0) != (x.token != NULL) && x.model && *x.model,
                           "explain: key_id %lld, token %s", (long long)x.key_id,
                           x.token ? "given" : "absent");
        break;
    }
    }
    EZ_FUZZ_ASSERT(rc == 0 || rc == -1, "validator returned %d", rc);
    return rc;
}

/* The field of mode's body that holds a secret, or NULL. */
static const char *secret_field(int mode)
{
    switch (mode) {
    case V_KEY_CREATE:
    case V_KEY_UPDATE:
    case V_PRESET:
    case V_CUSTOM:
        return "api_key";
    case V_EXPLAIN:
        return "token";
    }
    return NULL;
}

/* A different byte of the same kind: letters and digits move by one. */
static char other_byte(char c)
{
    if ((c >= 'a' && c < 'z') || (c >= 'A' && c < 'Z') || (c >= '0' && c < '9'))
        return (char)(c + 1);
    return c == 'z' ? 'a' : c == 'Z' ? 'A' : c == '9' ? '0' : c;
}

static int quotes(const struct ez_verr *e, const char *s)
{
    return strstr(e->msg, s) || (e->param && strstr(e->param, s));
}

/* The refusal of body with the secret field set to value: its message
 * equals msg. */
static int same_refusal(int mode, json_t *body, const char *field, const char *value,
                        const char *rest, size_t rest_len, const char *msg)
{
    json_t *b = json_deep_copy(body);
    json_object_set_new(b, field, json_string(value));
    struct ez_verr e;
    memset(&e, 0, sizeof e);
    int same = validate(mode, b, rest, rest_len, &e) != 0 && strcmp(e.msg, msg) == 0;
    json_decref(b);
    return same;
}

/* A refusal may show the text of the secret only where it would show the
 * same text with another secret of that shape, or where a longer secret
 * gets the very same message: then the text is the message's own (a
 * field name, or a reserved prefix the secret happens to equal), not the
 * secret's. */
static void check_secret(int mode, json_t *body, const char *rest, size_t rest_len,
                         const struct ez_verr *e)
{
    const char *field = secret_field(mode);
    const char *secret = field ? json_string_value(json_object_get(body, field)) : NULL;
    if (!secret || strlen(secret) < 4 || !quotes(e, secret))
        return;
    char *copy = strdup(secret), *other = strdup(secret);
    if (!copy || !other) {
        free(copy);
        free(other);
        return;
    }
    for (char *p = other; *p; p++)
        *p = other_byte(*p);
    json_t *body2 = json_deep_copy(body);
    json_object_set_new(body2, field, json_string(other));
    struct ez_verr e2;
    memset(&e2, 0, sizeof e2);
    int rc2 = validate(mode, body2, rest, rest_len, &e2);
    size_t n = strlen(copy) + 5;
    char *longer = malloc(n);
    if (longer)
        snprintf(longer, n, "%sQ7xZ", copy);
    EZ_FUZZ_ASSERT(strcmp(copy, other) == 0 || (rc2 != 0 && quotes(&e2, copy)) ||
                       (longer && same_refusal(mode, body, field, longer, rest, rest_len, e->msg)),
                   "the refusal quotes the secret %s: %s", field, e->msg);
    free(longer);
    json_decref(body2);
    free(copy);
    free(other);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int mode = data[0] % V_COUNT;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    const char *nul = memchr(text, 0, len);
    size_t body_len = nul ? (size_t)(nul - text) : len;
    json_t *body;
    char msg[512];
    if (ez_body_parse("application/json", text, body_len, &body, msg, sizeof msg) != 0)
        return 0;
    const char *rest = nul ? nul + 1 : text + len;
    size_t rest_len = (size_t)(text + len - rest);
    struct ez_verr e;
    memset(&e, 0, sizeof e);
    if (validate(mode, body, rest, rest_len, &e) != 0) {
        ez_fuzz_refusal(&e, NULL);
        check_secret(mode, body, rest, rest_len, &e);
    }
    json_decref(body);
    return 0;
}

#else

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    const char *d = argv[1];
    ez_fuzz_seed_parts(d, "group-create", V_GROUP_CREATE,
                       "{\"name\":\"g1\",\"type\":\"openai\",\"models\":[\"gpt-4o\",\" o1 \"],"
                       "\"status\":\"active\"}", NULL);
    ez_fuzz_seed_parts(d, "group-compatible", V_GROUP_CREATE,
                       "{\"name\":\"local\",\"type\":\"compatible\",\"base_url\":"
                       "\"http://127.0.0.1:8000/v1\",\"models\":[\"llama\"]}", NULL);
    ez_fuzz_seed_parts(d, "group-update", V_GROUP_UPDATE,
                       "{\"type\":\"vertex\",\"google_project\":\"p\",\"google_location\":\"\"}",
                       "{\"id\":1,\"name\":\"g\",\"type\":\"openai\",\"base_url\":null,"
                       "\"google_project\":null,\"google_location\":null,\"models\":[\"m\"]}",
                       NULL);
    ez_fuzz_seed_parts(d, "key-create", V_KEY_CREATE,
                       "{\"group_id\":1,\"api_key\":\"sk-test-0123456789\",\"weight\":3,"
                       "\"auto_ban\":true,\"ban_until\":\"2030-01-02T03:04:05+01:00\"}", NULL);
    ez_fuzz_seed_parts(d, "key-update", V_KEY_UPDATE,
                       "{\"status\":\"manual_disabled\",\"ban_reason\":null,\"ban_until\":null}",
                       NULL);
    ez_fuzz_seed_parts(d, "preset", V_PRESET,
                       "{\"preset\":\"openai\",\"name\":\"oa\",\"api_key\":\"sk-0123456789\"}",
                       NULL);
    ez_fuzz_seed_parts(d, "custom", V_CUSTOM,
                       "{\"name\":\"c\",\"base_url\":\"https://x.example/v1\",\"api_key\":\"k\","
                       "\"models\":[\"a\"]}", NULL);
    ez_fuzz_seed_parts(d, "model-create", V_MODEL_CREATE,
                       "{\"name\":\"gpt-4o\",\"kind\":\"chat\",\"context_window\":128000,"
                       "\"max_output_tokens\":4096,\"cost_per_token\":0.5,\"vision\":true}",
                       NULL);
    ez_fuzz_seed_parts(d, "model-update", V_MODEL_UPDATE, "{\"kind\":null,\"vision\":null}",
                       NULL);
    ez_fuzz_seed_parts(d, "binding-create", V_BINDING_CREATE,
                       "{\"namespace\":\"team-a\",\"public_model\":\"gpt-4o\",\"group_id\":1,"
                       "\"weight\":2,\"selector_type\":\"regex\",\"selector_value\":"
                       "\"(?i)^gpt-4o(-\\\\d+)?$\"}", NULL);
    ez_fuzz_seed_parts(d, "binding-update", V_BINDING_UPDATE,
                       "{\"selector_type\":\"normalize_exact\",\"selector_value\":null}",
                       "{\"namespace\":\"a\",\"public_model\":\"M\",\"group_id\":2,"
                       "\"selector_type\":\"exact\",\"selector_value\":\"m\"}", NULL);
    ez_fuzz_seed_parts(d, "features", V_FEATURES,
                       "{\"beta_ui\":\"on\",\"old_flag\":null}", NULL);
    ez_fuzz_seed_parts(d, "namespace-create", V_NAMESPACE_CREATE,
                       "{\"name\":\"team-a\",\"description\":\"Team A\",\"status\":\"active\"}",
                       NULL);
    ez_fuzz_seed_parts(d, "namespace-unicode", V_NAMESPACE_CREATE,
                       "{\"name\":\"équipe\",\"descripción\":\"Équipe \u00e9 \u2603\"}",
                       NULL);
    ez_fuzz_seed_parts(d, "namespace-update", V_NAMESPACE_UPDATE,
                       "{\"description\":null,\"status\":\"suspended\"}", NULL);
    ez_fuzz_seed_parts(d, "master-create", V_MASTER_CREATE,
                       "{\"name\":\"acme\",\"group\":\"g1\",\"max_child_keys\":10,"
                       "\"global_qps\":5,\"namespaces\":[\"team-a\",\"b\"],"
                       "\"default_namespace\":\"b\"}", NULL);
    ez_fuzz_seed_parts(d, "master-update", V_MASTER_UPDATE,
                       "{\"status\":\"suspended\",\"default_namespace\":null}", NULL);
    ez_fuzz_seed_parts(d, "master-access", V_MASTER_ACCESS,
                       "{\"namespaces\":[\"a\"],\"propagate\":\"restrict\"}", NULL);
    ez_fuzz_seed_parts(d, "token-issue", V_TOKEN_ISSUE,
                       "{\"name\":\"ci\",\"namespaces\":[\"a\",\"b\"],\"default_namespace\":\"a\","
                       "\"model_limits\":[\"gpt-4o\"],\"allow_ips\":[\"10.0.0.0/8\",\"::1\"],"
                       "\"expires_at\":\"2030-01-02T03:04:05.5Z\"}", NULL);
    ez_fuzz_seed_parts(d, "token-update", V_TOKEN_UPDATE_OWNER,
                       "{\"status\":\"suspended\",\"allow_ips\":null,\"expires_at\":null}", NULL);
    ez_fuzz_seed_parts(d, "token-access", V_TOKEN_ACCESS,
                       "{\"namespaces\":[\"x\"],\"default_namespace\":\"x\"}", NULL);
    ez_fuzz_seed_parts(d, "rotate", V_ROTATE, "{\"grace_seconds\":60}", NULL);
    ez_fuzz_seed_parts(d, "empty", V_EMPTY, "{}", NULL);
    ez_fuzz_seed_parts(d, "explain-token", V_EXPLAIN,
                       "{\"token\":\"sk-ez-secret-token\",\"model\":\"team-a.gpt-4o\"}", NULL);
    ez_fuzz_seed_parts(d, "explain-key", V_EXPLAIN, "{\"key_id\":7,\"model\":\"a.b\"}", NULL);
    return 0;
}
#endif
