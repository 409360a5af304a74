/* Models, bindings and features: every field rule of the catalog
 * (docs/catalog.md, docs/api.md). Nothing here reads the database; rules
 * that need rows (a namespace or group that exists, a unique name) are the
 * store's. */
#include "validate_catalog.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gostr.h"
#include "selector.h"

static const char *const binding_statuses[] = EZ_BINDING_STATUSES;
static const char *const selector_types[] = EZ_SELECTOR_TYPES;

/* Names (model names, public models) are compared byte for byte with
 * upstream model lists, so nothing invisible may hide in them. */
static int check_name(const char *field, const char *s, struct ez_verr *e)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return ez_v_fail(e, 400, field, "%s contains a control character", field);
    if (isspace((unsigned char)s[0]) || isspace((unsigned char)s[n - 1]))
        return ez_v_fail(e, 400, field, "%s may not start or end with white space", field);
    return 0;
}

/* A required-on-create, never-null name field. */
static int name_field(json_t *body, const char *field, size_t maxlen, int required,
                      const char **out, struct ez_verr *e)
{
    if (ez_v_string(body, field, maxlen, 0, 0, out, NULL, e) != 0)
        return -1;
    if (!*out)
        return required ? ez_v_fail(e, 400, field, "%s is required", field) : 0;
    return check_name(field, *out, e);
}

/* ---- models ---------------------------------------------------------- */

/* docs/catalog.md: empty = chat, a known kind (any case, trimmed) = itself, any
 * other value = other. */
static const char *model_kind(const char *s)
{
    static const char *const kinds[] = EZ_MODEL_KINDS;
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n == 0)
        return "chat";
    for (size_t i = 0; kinds[i]; i++)
        if (strlen(kinds[i]) == n && strncasecmp(s, kinds[i], n) == 0)
            return kinds[i];
    return "other";
}

int ez_validate_model(json_t *body, int create, struct ez_model_in *in, struct ez_verr *e)
{
    static const char *const fields[] = {
        "name", "kind", "context_window", "max_output_tokens", "cost_per_token",
        "supports_vision", "supports_functions", "supports_tool_choice", "supports_fim",
        "supports_stream", NULL
    };
    if (!body) {
        if (create)
            return ez_v_fail(e, 400, NULL, "a JSON body is required");
        return 0; /* an empty update changes nothing */
    }
    if (ez_v_known_fields(body, fields, e) != 0 ||
        name_field(body, "name", EZ_MAX_REGISTRY_NAME, create, &in->name, e) != 0)
        return -1;

    const char *kind;
    if (ez_v_string(body, "kind", EZ_MAX_NAME, 0, 1, &kind, NULL, e) != 0)
        return -1;
    in->kind = kind ? model_kind(kind) : NULL;

    if (ez_v_int(body, "context_window", 0, EZ_MAX_JSON_INT, &in->context_window,
                 &in->has_context_window, e) != 0 ||
        ez_v_int(body, "max_output_tokens", 0, EZ_MAX_JSON_INT, &in->max_output_tokens,
                 &in->has_max_output_tokens, e) != 0)
        return -1;

    json_t *cost = json_object_get(body, "cost_per_token");
    if (cost) {
        in->cost.given = 1;
        if (json_is_null(cost))
            in->cost.is_null = 1;
        else if (!json_is_number(cost))
            return ez_v_fail(e, 400, "cost_per_token", "cost_per_token must be a number or null");
        else if ((in->cost.num = json_number_value(cost)) < 0)
            return ez_v_fail(e, 400, "cost_per_token", "cost_per_token must be >= 0");
    }

    for (int i = 0; i < EZ_NFLAGS; i++) {
        const char *f = ez_model_flag_names[i];
        json_t *v = json_object_get(body, f);
        if (!v)
            continue;
        in->flags[i].given = 1;
        if (json_is_null(v))
            in->flags[i].is_null = 1;
        else if (json_is_boolean(v))
            in->flags[i].flag = json_is_true(v);
        else
            return ez_v_fail(e, 400, f, "%s must be true, false or null", f);
    }
    return 0;
}

int ez_validate_model_filter(const char *name, struct ez_verr *e)
{
    if (!name)
        return 0;
    json_t *probe = json_string(name); /* NULL unless valid UTF-8 */
    json_decref(probe);
    if (!probe || !*name || strlen(name) > EZ_MAX_REGISTRY_NAME)
        return ez_v_fail(e, 400, "name", "name must be 1 to %d bytes of UTF-8",
                         EZ_MAX_REGISTRY_NAME);
    return check_name("name", name, e);
}

/* ---- bindings -------------------------------------------------------- */

int ez_validate_selector(const char *type, const char *value, struct ez_verr *e)
{
    char why[160];
    if (ez_sel_check(type, value, NULL, why, sizeof why) != 0)
        return ez_v_fail(e, 400, "selector_value",
                         "selector_value is not a regular expression Go's regexp accepts: %s",
                         why);
    return 0;
}

int ez_validate_binding(json_t *body, int create, struct ez_binding_in *in, struct ez_verr *e)
{
    static const char *const fields[] = { "namespace", "public_model", "group_id", "weight",
                                          "selector_type", "selector_value", "status", NULL };
    if (!body) {
        if (create)
            return ez_v_fail(e, 400, NULL, "a JSON body is required");
        return 0;
    }
    if (ez_v_known_fields(body, fields, e) != 0)
        return -1;

    if (ez_v_string(body, "namespace", EZ_MAX_NAME, 0, 0, &in->ns, NULL, e) != 0)
        return -1;
    if (!in->ns && create)
        return ez_v_fail(e, 400, "namespace", "namespace is required");
    if (in->ns && !ez_v_is_namespace_name(in->ns))
        return ez_v_fail(e, 400, "namespace", "namespace must match " EZ_NAMESPACE_NAME);

    if (name_field(body, "public_model", EZ_MAX_PUBLIC_MODEL, create, &in->public_model, e) != 0)
        return -1;

    long long gid = 0;
    int has_gid = 0;
    if (ez_v_int(body, "group_id", 1, EZ_MAX_JSON_INT, &gid, &has_gid, e) != 0)
        return -1;
    if (!has_gid && create)
        return ez_v_fail(e, 400, "group_id", "group_id is required");
    in->group_id = has_gid ? (int64_t)gid : 0;

    if (ez_v_int(body, "weight", 0, EZ_MAX_BINDING_WEIGHT, &in->weight, &in->has_weight, e) != 0 ||
        ez_v_enum(body, "selector_type", selector_types, &in->selector_type, e) != 0 ||
        ez_v_enum(body, "status", binding_statuses, &in->status, e) != 0)
        return -1;

    int is_null = 0;
    if (ez_v_string(body, "selector_value", EZ_MAX_SELECTOR, 1, 1, &in->selector_value,
                    &is_null, e) != 0)
        return -1;
    if (in->selector_value && *in->selector_value &&
        check_name("selector_value", in->selector_value, e) != 0)
        return -1;
    if (is_null || (in->selector_value && !*in->selector_value)) {
        in->selector_value = NULL;
        in->default_selector_value = 1;
    }

    if (!create)
        return 0;
    if (!in->selector_type)
        in->selector_type = "exact";
    if (!in->status)
        in->status = "active";
    if (!in->has_weight) {
        in->weight = 1;
        in->has_weight = 1;
    }
    if (!in->selector_value)
        in->selector_value = in->public_model;
    return ez_validate_selector(in->selector_type, in->selector_value, e);
}

int ez_binding_check_merged(const json_t *current, struct ez_binding_in *in, struct ez_verr *e)
{
    const char *cur_model = json_string_value(json_object_get(current, "public_model"));
    const char *cur_value = json_string_value(json_object_get(current, "selector_value"));
    const char *cur_type = json_string_value(json_object_get(current, "selector_type"));
    if (!cur_model || !cur_value || !cur_type)
        return ez_v_fail(e, 400, NULL, "the stored binding could not be read");
    const char *model = in->public_model ? in->public_model : cur_model;
    const char *type = in->selector_type ? in->selector_type : cur_type;
    if (in->default_selector_value)
        in->selector_value = model;
    if (!in->selector_type && !in->selector_value)
        return 0; /* a stored selector that no longer resolves can still be edited */
    const char *value = in->selector_value ? in->selector_value : cur_value;
    return ez_validate_selector(type, value, e);
}

int ez_validate_binding_filters(const char *ns, const char *group_id, int64_t *gid,
                                struct ez_verr *e)
{
    *gid = 0;
    if (ns && !ez_v_is_namespace_name(ns))
        return ez_v_fail(e, 400, "namespace", "namespace must match " EZ_NAMESPACE_NAME);
    if (group_id) {
        if (ez_parse_id(group_id, gid) != 0)
            return ez_v_fail(e, 400, "group_id", "group_id must be a positive integer");
    }
    return 0;
}

/* ---- features -------------------------------------------------------- */

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

int ez_validate_features(json_t *body, json_t **set, json_t **del, struct ez_verr *e)
{
    /* param must outlive body: a static copy of the offending name */
    static char param[EZ_MAX_FEATURE_NAME + 16];
    *set = *del = NULL;
    if (!body)
        return ez_v_fail(e, 400, NULL, "a JSON object of feature name -> string is required");
    if (json_object_size(body) > EZ_MAX_FEATURES_PER_PUT)
        return ez_v_fail(e, 400, NULL, "at most %d features may be given at once",
                         EZ_MAX_FEATURES_PER_PUT);
    json_t *s = json_object(), *d = json_array();
    const char *name;
    json_t *v;
    json_object_foreach(body, name, v) {
        snprintf(param, sizeof param, "%.*s", ez_utf8_prefix(name, EZ_MAX_FEATURE_NAME + 8),
                 name);
        if (!feature_name_ok(name)) {
            ez_v_fail(e, 400, param, "feature name '%s' must match " EZ_FEATURE_NAME, param);
            goto fail;
        }
        if (json_is_null(v)) {
            json_array_append_new(d, json_string(name));
            continue;
        }
        const char *value;
        if (ez_v_string(body, name, EZ_MAX_FEATURE_VALUE, 0, 1, &value, NULL, e) != 0) {
            e->param = param;
            goto fail;
        }
        json_object_set_new(s, name, json_string(value));
    }
    *set = s;
    *del = d;
    return 0;
fail:
    json_decref(s);
    json_decref(d);
    return -1;
}
