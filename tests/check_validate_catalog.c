/* The rules of models, bindings and features (worker/validate_catalog.c)
 * called directly: every field rule of docs/catalog.md, bad input first,
 * the defaults a create fills in, the merge of a binding update, and the
 * list filters. Pure: no server, no database. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/validate_unit.h"
#include "worker/validate_catalog.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Models ----------------------------------------------------------- */

static struct vu_result model_of(const char *text, int create, struct ez_model_in *out)
{
    json_t *b = vu_body(text);
    struct ez_model_in in = { 0 };
    struct ez_verr e;
    struct vu_result r = vu_result(ez_validate_model(b, create, &in, &e), &e);
    if (out) {
        *out = in;
        out->name = NULL; /* points into the body, freed below */
    }
    json_decref(b);
    return r;
}

START_TEST(model_refusals)
{
    const struct vu_case create[] = {
        { NULL, 400, NULL },
        { "{}", 400, "name" },
        { "{\"name\":\"\"}", 400, "name" },
        { "{\"name\":null}", 400, "name" },
        { "{\"name\":[\"gpt-4o\"]}", 400, "name" },
        { "{\"name\":\" gpt-4o\"}", 400, "name" },
        { "{\"name\":\"gpt-4o \"}", 400, "name" },
        { "{\"name\":\"gpt\\t4o\"}", 400, "name" },
        { "{\"name\":\"gpt\\n4o\"}", 400, "name" },
        { "{\"name\":\"gpt\\u007f4o\"}", 400, "name" },
        { "{\"name\":\"gpt\\u00004o\"}", 400, "name" },
        { vu_fmt("{\"name\":\"%s\"}", vu_repeat('m', 129)), 400, "name" },
        { "{\"name\":\"m\",\"id\":1}", 400, "id" },
        { "{\"name\":\"m\",\"kind\":null}", 400, "kind" },
        { "{\"name\":\"m\",\"kind\":1}", 400, "kind" },
        { vu_fmt("{\"name\":\"m\",\"kind\":\"%s\"}", vu_repeat('k', 65)), 400, "kind" },
        { "{\"name\":\"m\",\"context_window\":-1}", 400, "context_window" },
        { "{\"name\":\"m\",\"context_window\":9007199254740992}", 400, "context_window" },
        { "{\"name\":\"m\",\"context_window\":1.5}", 400, "context_window" },
        { "{\"name\":\"m\",\"context_window\":null}", 400, "context_window" },
        { "{\"name\":\"m\",\"max_output_tokens\":-5}", 400, "max_output_tokens" },
        { "{\"name\":\"m\",\"max_output_tokens\":\"10\"}", 400, "max_output_tokens" },
        { "{\"name\":\"m\",\"cost_per_token\":-0.1}", 400, "cost_per_token" },
        { "{\"name\":\"m\",\"cost_per_token\":\"0.1\"}", 400, "cost_per_token" },
        { "{\"name\":\"m\",\"supports_vision\":1}", 400, "supports_vision" },
        { "{\"name\":\"m\",\"supports_functions\":\"true\"}", 400, "supports_functions" },
        { "{\"name\":\"m\",\"supports_tool_choice\":0}", 400, "supports_tool_choice" },
        { "{\"name\":\"m\",\"supports_fim\":[]}", 400, "supports_fim" },
        { "{\"name\":\"m\",\"supports_stream\":{}}", 400, "supports_stream" },
    };
    for (size_t i = 0; i < N(create); i++)
        vu_refused(model_of(create[i].body, 1, NULL), create[i].status, create[i].param,
                   create[i].body ? create[i].body : "no body");
    vu_refused(model_of("{\"name\":\"\"}", 0, NULL), 400, "name", "update to an empty name");
}
END_TEST

START_TEST(model_kinds_and_fields)
{
    static const struct {
        const char *given, *kind;
    } kinds[] = {
        { "chat", "chat" },        { " Embedding ", "embedding" }, { "RERANK", "rerank" },
        { "other", "other" },      { "", "chat" },                 { "   ", "chat" },
        { "vision", "other" },     { "chat2", "other" },           { "cha", "other" },
    };
    for (size_t i = 0; i < N(kinds); i++) {
        struct ez_model_in in;
        vu_accepted(model_of(vu_fmt("{\"name\":\"m\",\"kind\":\"%s\"}", kinds[i].given), 1, &in),
                    kinds[i].given);
        ck_assert_msg(in.kind && strcmp(in.kind, kinds[i].kind) == 0, "%s: %s, expected %s",
                      kinds[i].given, in.kind ? in.kind : "(null)", kinds[i].kind);
    }
    struct ez_model_in in;
    vu_accepted(model_of("{\"name\":\"m\"}", 1, &in), "no kind");
    ck_assert_ptr_null(in.kind);

    json_t *b = vu_body("{\"name\":\"GPT 4o (2024-08)\",\"context_window\":9007199254740991,"
                        "\"max_output_tokens\":0,\"cost_per_token\":0.0000025,"
                        "\"supports_vision\":true,\"supports_functions\":false,"
                        "\"supports_stream\":null}");
    struct ez_model_in m = { 0 };
    struct ez_verr e;
    vu_accepted(vu_result(ez_validate_model(b, 1, &m, &e), &e), "every field");
    ck_assert_str_eq(m.name, "GPT 4o (2024-08)");
    ck_assert(m.context_window == 9007199254740991LL && m.has_context_window);
    ck_assert(m.max_output_tokens == 0 && m.has_max_output_tokens);
    ck_assert(m.cost.given && !m.cost.is_null && m.cost.num == 0.0000025);
    ck_assert(m.flags[EZ_FLAG_VISION].given && m.flags[EZ_FLAG_VISION].flag == 1);
    ck_assert(m.flags[EZ_FLAG_FUNCTIONS].given && m.flags[EZ_FLAG_FUNCTIONS].flag == 0);
    ck_assert(m.flags[EZ_FLAG_STREAM].given && m.flags[EZ_FLAG_STREAM].is_null);
    ck_assert(!m.flags[EZ_FLAG_FIM].given && !m.flags[EZ_FLAG_TOOL_CHOICE].given);
    json_decref(b);

    vu_accepted(model_of("{\"cost_per_token\":null}", 0, &in), "clearing the cost");
    ck_assert(in.cost.given && in.cost.is_null);
    vu_accepted(model_of("{\"cost_per_token\":0}", 0, &in), "a cost of zero");
    vu_accepted(model_of(vu_fmt("{\"name\":\"%s\"}", vu_repeat('m', 128)), 1, NULL),
                "a name of 128 bytes");
    vu_accepted(model_of(NULL, 0, NULL), "no body: nothing changes");
}
END_TEST

START_TEST(model_filter)
{
    struct ez_verr e;
    vu_accepted(vu_result(ez_validate_model_filter(NULL, &e), &e), "absent");
    vu_accepted(vu_result(ez_validate_model_filter("gpt-4o", &e), &e), "gpt-4o");
    vu_accepted(vu_result(ez_validate_model_filter(vu_repeat('m', 128), &e), &e), "128 bytes");
    static const char *const bad[] = { "", " gpt", "gpt ", "a\tb", "a\x01" "b", "\xc3(",
                                       "\xff" };
    for (size_t i = 0; i < N(bad); i++)
        vu_refused(vu_result(ez_validate_model_filter(bad[i], &e), &e), 400, "name", bad[i]);
    vu_refused(vu_result(ez_validate_model_filter(vu_repeat('m', 129), &e), &e), 400, "name",
               "129 bytes");
}
END_TEST

/* ---- Bindings --------------------------------------------------------- */

#define BINDING_OK "\"namespace\":\"team-a\",\"public_model\":\"gpt-4o\",\"group_id\":1"

static struct vu_result binding_of(const char *text, int create)
{
    json_t *b = vu_body(text);
    struct ez_binding_in in = { 0 };
    struct ez_verr e;
    struct vu_result r = vu_result(ez_validate_binding(b, create, &in, &e), &e);
    json_decref(b);
    return r;
}

START_TEST(binding_refusals)
{
    const struct vu_case create[] = {
        { NULL, 400, NULL },
        { "{\"public_model\":\"m\",\"group_id\":1}", 400, "namespace" },
        { "{\"namespace\":\"a\",\"group_id\":1}", 400, "public_model" },
        { "{\"namespace\":\"a\",\"public_model\":\"m\"}", 400, "group_id" },
        { "{" BINDING_OK ",\"candidate\":{}}", 400, "candidate" },
        { "{\"namespace\":\"Team\",\"public_model\":\"m\",\"group_id\":1}", 400, "namespace" },
        { "{\"namespace\":\"\",\"public_model\":\"m\",\"group_id\":1}", 400, "namespace" },
        { "{\"namespace\":null,\"public_model\":\"m\",\"group_id\":1}", 400, "namespace" },
        { "{\"namespace\":\"a\",\"public_model\":\" m\",\"group_id\":1}", 400, "public_model" },
        { "{\"namespace\":\"a\",\"public_model\":\"m\\n\",\"group_id\":1}", 400, "public_model" },
        { "{\"namespace\":\"a\",\"public_model\":\"\",\"group_id\":1}", 400, "public_model" },
        { vu_fmt("{\"namespace\":\"a\",\"public_model\":\"%s\",\"group_id\":1}",
                 vu_repeat('m', 257)), 400, "public_model" },
        { "{\"namespace\":\"a\",\"public_model\":\"m\",\"group_id\":0}", 400, "group_id" },
        { "{\"namespace\":\"a\",\"public_model\":\"m\",\"group_id\":\"1\"}", 400, "group_id" },
        { "{\"namespace\":\"a\",\"public_model\":\"m\",\"group_id\":9007199254740992}", 400,
          "group_id" },
        { "{" BINDING_OK ",\"weight\":-1}", 400, "weight" },
        { "{" BINDING_OK ",\"weight\":1001}", 400, "weight" },
        { "{" BINDING_OK ",\"selector_type\":\"glob\"}", 400, "selector_type" },
        { "{" BINDING_OK ",\"selector_type\":\"Exact\"}", 400, "selector_type" },
        { "{" BINDING_OK ",\"selector_type\":null}", 400, "selector_type" },
        { "{" BINDING_OK ",\"status\":\"suspended\"}", 400, "status" },
        { "{" BINDING_OK ",\"selector_value\":7}", 400, "selector_value" },
        { "{" BINDING_OK ",\"selector_value\":\" gpt\"}", 400, "selector_value" },
        { "{" BINDING_OK ",\"selector_value\":\"a\\u0001\"}", 400, "selector_value" },
        { vu_fmt("{" BINDING_OK ",\"selector_value\":\"%s\"}", vu_repeat('v', 257)), 400,
          "selector_value" },
        /* a regex must be one Go's regexp accepts */
        { "{" BINDING_OK ",\"selector_type\":\"regex\",\"selector_value\":\"gpt-(4\"}", 400,
          "selector_value" },
        { "{" BINDING_OK ",\"selector_type\":\"regex\",\"selector_value\":\"(?=gpt)\"}", 400,
          "selector_value" },
        { "{" BINDING_OK ",\"selector_type\":\"regex\",\"selector_value\":\"a{2,1}\"}", 400,
          "selector_value" },
        { "{\"namespace\":\"a\",\"public_model\":\"gpt-(4\",\"group_id\":1,"
          "\"selector_type\":\"regex\"}", 400, "selector_value" },
    };
    for (size_t i = 0; i < N(create); i++)
        vu_refused(binding_of(create[i].body, 1), create[i].status, create[i].param,
                   create[i].body ? create[i].body : "no body");
    vu_refused(binding_of("{\"weight\":1001}", 0), 400, "weight", "update weight");
    vu_refused(binding_of("{\"namespace\":\"A\"}", 0), 400, "namespace", "update namespace");
}
END_TEST

START_TEST(binding_defaults)
{
    json_t *b = vu_body("{" BINDING_OK "}");
    struct ez_binding_in in = { 0 };
    struct ez_verr e;
    vu_accepted(vu_result(ez_validate_binding(b, 1, &in, &e), &e), "the three required fields");
    ck_assert_str_eq(in.ns, "team-a");
    ck_assert_str_eq(in.public_model, "gpt-4o");
    ck_assert(in.group_id == 1);
    ck_assert_str_eq(in.selector_type, "exact");
    ck_assert_str_eq(in.selector_value, "gpt-4o");
    ck_assert_str_eq(in.status, "active");
    ck_assert_int_eq(in.weight, 1);
    json_decref(b);

    /* "" and null select the public model */
    static const char *const defaults[] = { "\"\"", "null" };
    for (size_t i = 0; i < N(defaults); i++) {
        b = vu_body(vu_fmt("{" BINDING_OK ",\"selector_value\":%s}", defaults[i]));
        in = (struct ez_binding_in){ 0 };
        vu_accepted(vu_result(ez_validate_binding(b, 1, &in, &e), &e), defaults[i]);
        ck_assert_str_eq(in.selector_value, "gpt-4o");
        ck_assert_int_eq(in.default_selector_value, 1);
        json_decref(b);
    }

    b = vu_body("{\"namespace\":\"a\",\"public_model\":\"GPT 4o\",\"group_id\":9007199254740991,"
                "\"weight\":0,\"selector_type\":\"regex\",\"selector_value\":\"^gpt-4o(-.*)?$\","
                "\"status\":\"disabled\"}");
    in = (struct ez_binding_in){ 0 };
    vu_accepted(vu_result(ez_validate_binding(b, 1, &in, &e), &e), "every field");
    ck_assert_int_eq(in.weight, 0);
    ck_assert_str_eq(in.selector_type, "regex");
    ck_assert_str_eq(in.selector_value, "^gpt-4o(-.*)?$");
    ck_assert_str_eq(in.status, "disabled");
    json_decref(b);

    vu_accepted(binding_of("{" BINDING_OK ",\"selector_type\":\"normalize_exact\","
                           "\"selector_value\":\"GPT-4O\",\"weight\":1000}", 1), "normalize");
    vu_accepted(binding_of(NULL, 0), "no body: nothing changes");
    /* an update leaves the defaults to the merge */
    b = vu_body("{\"weight\":5}");
    in = (struct ez_binding_in){ 0 };
    vu_accepted(vu_result(ez_validate_binding(b, 0, &in, &e), &e), "weight alone");
    ck_assert_ptr_null(in.selector_type);
    ck_assert_ptr_null(in.status);
    ck_assert_ptr_null(in.selector_value);
    json_decref(b);
}
END_TEST

/* ez_validate_binding (update) then ez_binding_check_merged against cur. */
static struct vu_result merged(const char *cur_text, const char *update, char *value,
                               size_t len)
{
    json_t *cur = vu_body(cur_text), *b = vu_body(update);
    struct ez_binding_in in = { 0 };
    struct ez_verr e;
    struct vu_result r = vu_result(ez_validate_binding(b, 0, &in, &e), &e);
    if (r.rc == 0)
        r = vu_result(ez_binding_check_merged(cur, &in, &e), &e);
    if (value)
        snprintf(value, len, "%s", in.selector_value ? in.selector_value : "(unchanged)");
    json_decref(b);
    json_decref(cur);
    return r;
}

START_TEST(binding_update_merge)
{
    static const char cur[] = "{\"public_model\":\"gpt-4o\",\"selector_type\":\"exact\","
                              "\"selector_value\":\"gpt-4o-2024\"}";
    char value[300];
    vu_accepted(merged(cur, "{\"weight\":3}", value, sizeof value), "weight alone");
    ck_assert_str_eq(value, "(unchanged)");
    /* a new public model alone keeps the stored selector value */
    vu_accepted(merged(cur, "{\"public_model\":\"gpt-5\"}", value, sizeof value), "new model");
    ck_assert_str_eq(value, "(unchanged)");
    /* given as null: the merged public model */
    vu_accepted(merged(cur, "{\"public_model\":\"gpt-5\",\"selector_value\":null}", value,
                       sizeof value), "null value");
    ck_assert_str_eq(value, "gpt-5");
    vu_accepted(merged(cur, "{\"selector_value\":\"\"}", value, sizeof value), "empty value");
    ck_assert_str_eq(value, "gpt-4o");
    /* a type change is checked against the stored value */
    vu_refused(merged("{\"public_model\":\"m\",\"selector_type\":\"exact\","
                      "\"selector_value\":\"gpt-(4\"}", "{\"selector_type\":\"regex\"}", NULL, 0),
               400, "selector_value", "regex over a stored value that is not one");
    vu_refused(merged(cur, "{\"selector_type\":\"regex\",\"selector_value\":\"(\"}", NULL, 0), 400,
               "selector_value", "a new regex that is not one");
    vu_accepted(merged("{\"public_model\":\"m\",\"selector_type\":\"regex\","
                       "\"selector_value\":\"(\"}", "{\"status\":\"disabled\"}", NULL, 0),
                "a stored selector that no longer resolves can still be edited");
    vu_refused(merged("{\"public_model\":\"m\"}", "{\"weight\":1}", NULL, 0), 400, NULL,
               "a stored row without its selector");
}
END_TEST

START_TEST(binding_filters_and_selector)
{
    struct ez_verr e;
    int64_t gid = -1;
    vu_accepted(vu_result(ez_validate_binding_filters(NULL, NULL, &gid, &e), &e), "none");
    ck_assert(gid == 0);
    vu_accepted(vu_result(ez_validate_binding_filters("team-a", "42", &gid, &e), &e), "both");
    ck_assert(gid == 42);
    vu_refused(vu_result(ez_validate_binding_filters("Team", NULL, &gid, &e), &e), 400,
               "namespace", "Team");
    vu_refused(vu_result(ez_validate_binding_filters("", NULL, &gid, &e), &e), 400, "namespace",
               "empty namespace");
    static const char *const bad_ids[] = { "0", "-1", "01", "x", "", "9223372036854775808" };
    for (size_t i = 0; i < N(bad_ids); i++)
        vu_refused(vu_result(ez_validate_binding_filters(NULL, bad_ids[i], &gid, &e), &e), 400,
                   "group_id", bad_ids[i]);

    vu_accepted(vu_result(ez_validate_selector("exact", "gpt-(4", &e), &e),
                "exact takes any text");
    vu_accepted(vu_result(ez_validate_selector("regex", "^gpt-4o$", &e), &e), "a regex");
    struct vu_result r = vu_result(ez_validate_selector("regex", "gpt-(4", &e), &e);
    vu_refused(r, 400, "selector_value", "a bad regex");
    ck_assert_msg(strstr(r.msg, "Go's regexp"), "the message gives Go's reason: %s", r.msg);
}
END_TEST

/* ---- Features --------------------------------------------------------- */

static struct vu_result features_of(const char *text, char *set, size_t setlen, char *del,
                                    size_t dellen)
{
    json_t *b = vu_body(text), *s = NULL, *d = NULL;
    struct ez_verr e;
    struct vu_result r = vu_result(ez_validate_features(b, &s, &d, &e), &e);
    if (r.rc == 0) {
        char *st = json_dumps(s, JSON_COMPACT | JSON_SORT_KEYS), *dt = json_dumps(d, JSON_COMPACT);
        if (set)
            snprintf(set, setlen, "%s", st);
        if (del)
            snprintf(del, dellen, "%s", dt);
        free(st);
        free(dt);
    } else {
        ck_assert_msg(!s && !d, "a refusal hands nothing back");
    }
    json_decref(s);
    json_decref(d);
    json_decref(b);
    return r;
}

START_TEST(feature_refusals)
{
    const struct vu_case bad[] = {
        { NULL, 400, NULL },
        { "{\"Streaming\":\"on\"}", 400, "Streaming" },
        { "{\"beta-tools\":\"on\"}", 400, "beta-tools" },
        { "{\"\":\"on\"}", 400, "" },
        { "{\"a b\":\"on\"}", 400, "a b" },
        { "{\"ok\":\"on\",\"bad.name\":\"on\"}", 400, "bad.name" },
        { vu_fmt("{\"%s\":\"on\"}", vu_repeat('f', 65)), 400, NULL /* checked below */ },
        { "{\"streaming\":true}", 400, "streaming" },
        { "{\"streaming\":1}", 400, "streaming" },
        { "{\"streaming\":[\"on\"]}", 400, "streaming" },
        { "{\"streaming\":\"o\\u0000n\"}", 400, "streaming" },
        { "{\"streaming\":\"o\\u0002n\"}", 400, "streaming" },
        { "{\"streaming\":\"o\\u007fn\"}", 400, "streaming" },
        { vu_fmt("{\"streaming\":\"%s\"}", vu_repeat('v', 1025)), 400, "streaming" },
    };
    for (size_t i = 0; i < N(bad); i++) {
        struct vu_result r = features_of(bad[i].body, NULL, 0, NULL, 0);
        if (bad[i].body && !bad[i].param && strlen(bad[i].body) > 60) {
            /* a name over 64 bytes: param is the name, as much of it as is kept */
            ck_assert_int_eq(r.rc, -1);
            ck_assert_int_eq(r.status, 400);
            ck_assert_msg(r.has_param && strncmp(r.param, vu_repeat('f', 64), 64) == 0,
                          "param %s", r.param);
            continue;
        }
        vu_refused(r, bad[i].status, bad[i].param, bad[i].body ? bad[i].body : "no body");
    }

    /* at most 1000 names at once */
    json_t *b = json_object();
    for (int i = 0; i < 1001; i++)
        json_object_set_new(b, vu_fmt("f%d", i), json_string("on"));
    char *text = json_dumps(b, JSON_COMPACT);
    vu_refused(features_of(text, NULL, 0, NULL, 0), 400, NULL, "1001 features");
    json_object_del(b, "f1000");
    free(text);
    text = json_dumps(b, JSON_COMPACT);
    vu_accepted(features_of(text, NULL, 0, NULL, 0), "1000 features");
    free(text);
    json_decref(b);
}
END_TEST

START_TEST(features_split_set_and_delete)
{
    char set[2048], del[256];
    vu_accepted(features_of("{}", set, sizeof set, del, sizeof del), "nothing");
    ck_assert_str_eq(set, "{}");
    ck_assert_str_eq(del, "[]");
    vu_accepted(features_of("{\"streaming\":\"on\",\"beta_tools\":null,\"x_1\":\"\","
                            "\"multi\":\"a\\tb\\nc\"}", set, sizeof set, del, sizeof del),
                "set, delete, empty, tab and newline");
    ck_assert_str_eq(set, "{\"multi\":\"a\\tb\\nc\",\"streaming\":\"on\",\"x_1\":\"\"}");
    ck_assert_str_eq(del, "[\"beta_tools\"]");
    vu_accepted(features_of(vu_fmt("{\"%s\":\"%s\"}", vu_repeat('f', 64), vu_repeat('v', 1024)),
                            NULL, 0, NULL, 0), "a name of 64 and a value of 1024 bytes");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("validate_catalog");
    TCase *t = tcase_create("models");
    tcase_add_test(t, model_refusals);
    tcase_add_test(t, model_kinds_and_fields);
    tcase_add_test(t, model_filter);
    suite_add_tcase(s, t);
    t = tcase_create("bindings");
    tcase_add_test(t, binding_refusals);
    tcase_add_test(t, binding_defaults);
    tcase_add_test(t, binding_update_merge);
    tcase_add_test(t, binding_filters_and_selector);
    suite_add_tcase(s, t);
    t = tcase_create("features");
    tcase_add_test(t, feature_refusals);
    tcase_add_test(t, features_split_set_and_delete);
    suite_add_tcase(s, t);
    return vu_run(s);
}
