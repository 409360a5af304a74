/* Integration tests of the catalog against the real `ezapi` binary: models,
 * the model registry, bindings (with their resolved candidate) and features
 * (docs/catalog.md, docs/api.md, docs/redis.md). Each test drives the
 * admin API as an operator would and checks the answer, PostgreSQL, the
 * audit log and Redis. */
#include "harness.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct ht_server S;

/* ---- Helpers ------------------------------------------------------------ */

/* One admin request (role "admin" or "viewer"); asserts the status and
 * returns the JSON answer (NULL when the body is empty). */
static json_t *call_as(const char *role, const char *method, const char *path,
                       const char *body, int want)
{
    return ht_call(&S, ht_auth(&S, role), method, path, body, want);
}

static json_t *call(const char *method, const char *path, const char *body, int want)
{
    return call_as("admin", method, path, body, want);
}

/* Asserts an error answer (docs/api.md, "Refusals"): status, error.type and error.param
 * (NULL: param must be JSON null). */
static void refused(const char *method, const char *path, const char *body, int status,
                    const char *type, const char *param)
{
    json_t *j = call(method, path, body, status);
    json_t *e = json_object_get(j, "error");
    ck_assert_msg(json_is_object(e), "%s %s %s: no error object", method, path, body);
    const char *t = json_string_value(json_object_get(e, "type"));
    ck_assert_msg(t && strcmp(t, type) == 0, "%s %s %s: error.type %s, expected %s", method,
                  path, body ? body : "", t ? t : "(none)", type);
    const char *msg = json_string_value(json_object_get(e, "message"));
    ck_assert_msg(msg && *msg, "%s %s: empty error message", method, path);
    json_t *p = json_object_get(e, "param");
    if (param)
        ck_assert_msg(json_is_string(p) && strcmp(json_string_value(p), param) == 0,
                      "%s %s %s: error.param %s, expected %s", method, path, body ? body : "",
                      json_is_string(p) ? json_string_value(p) : "null", param);
    else
        ck_assert_msg(json_is_null(p), "%s %s %s: error.param should be null", method, path,
                      body ? body : "");
    json_decref(j);
}

static const char *jstr(json_t *obj, const char *field)
{
    const char *s = json_string_value(json_object_get(obj, field));
    return s ? s : "(absent)";
}

static long long jint(json_t *obj, const char *field)
{
    json_t *v = json_object_get(obj, field);
    ck_assert_msg(json_is_integer(v), "field %s is not an integer", field);
    return json_integer_value(v);
}

/* The first column of the first row as a malloc'd string ("" for NULL). */
static char *pg_text(const char *sql)
{
    PGconn *c = ht_pg();
    PGresult *res = PQexec(c, sql);
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1,
                  "%s: %s", sql, PQresultErrorMessage(res));
    char *s = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    PQfinish(c);
    return s;
}

/* Everything the catalog routes can change, rev and timestamps included. */
static char *catalog_state(void)
{
    return pg_text(
        "SELECT concat_ws(' | ', "
        "(SELECT coalesce(json_agg(t ORDER BY id)::text, '[]') FROM models t), "
        "(SELECT coalesce(json_agg(t ORDER BY id)::text, '[]') FROM bindings t), "
        "(SELECT coalesce(json_agg(t ORDER BY name)::text, '[]') FROM features t))");
}

static void assert_unchanged(const char *before, const char *what)
{
    char *now = catalog_state();
    ck_assert_msg(strcmp(before, now) == 0, "a refused request (%s) changed the catalog:\n"
                  "before %.800s\nafter  %.800s", what, before, now);
    free(now);
}

/* A provider group through the providers API; models_json is a JSON array. */
static int64_t create_group(const char *name, const char *models_json)
{
    json_t *g = call(
        "POST", "/admin/provider-groups",
        ht_tmpf("{\"name\":\"%s\",\"type\":\"openai\",\"models\":%s}", name, models_json), 201);
    int64_t id = ht_id(g);
    json_decref(g);
    return id;
}

static int64_t create_key(int64_t group_id, const char *status)
{
    json_t *k = call("POST", "/admin/api-keys",
                     ht_tmpf("{\"group_id\":%" PRId64 ",\"api_key\":\"sk-test-%" PRId64
                             "-0123456789\",\"status\":\"%s\"}",
                             group_id, group_id, status),
                     201);
    int64_t id = ht_id(k);
    json_decref(k);
    return id;
}

static json_t *create_binding(const char *body)
{
    return call("POST", "/admin/bindings", body, 201);
}

/* The candidate of a binding answer; asserts its shape (docs/catalog.md, "Bindings"). */
static json_t *candidate_of(json_t *answer, int64_t group_id)
{
    json_t *c = json_object_get(answer, "candidate");
    ck_assert_msg(json_is_object(c), "binding answer without a candidate object");
    ck_assert_int_eq(jint(c, "group_id"), group_id);
    ck_assert_msg(json_is_object(json_object_get(c, "upstreams")), "candidate.upstreams");
    ck_assert_str_eq(jstr(c, "selector_type"), jstr(answer, "selector_type"));
    ck_assert_str_eq(jstr(c, "selector_value"), jstr(answer, "selector_value"));
    return c;
}

static void assert_candidate_routes(json_t *answer, int64_t group_id, int64_t key_id,
                                    const char *upstream)
{
    json_t *c = candidate_of(answer, group_id);
    json_t *ups = json_object_get(c, "upstreams");
    const char *got = json_string_value(json_object_get(ups, ht_tmpf("%" PRId64, key_id)));
    ck_assert_msg(got && strcmp(got, upstream) == 0, "candidate routes key %" PRId64
                  " to %s, expected %s", key_id, got ? got : "nothing", upstream);
    ck_assert_int_eq(json_object_size(ups), 1);
    ck_assert_msg(json_object_get(c, "error") == NULL || json_is_null(json_object_get(c, "error")),
                  "a resolved candidate carries an error");
}

static void assert_candidate_error(json_t *answer, int64_t group_id, const char *error)
{
    json_t *c = candidate_of(answer, group_id);
    ck_assert_str_eq(jstr(c, "error"), error);
    ck_assert_int_eq(json_object_size(json_object_get(c, "upstreams")), 0);
}

/* Waits until the logger wrote the audit record of action on resource_id. */
static json_t *audit_record(const char *action, const char *resource_id)
{
    const char *sql = ht_tmpf("SELECT count(*) FROM audit_records WHERE action = '%s' "
                              "AND resource_id = '%s'",
                              action, resource_id);
    HT_EVENTUALLY(ht_pg_count(sql) == 1, 10000, "no audit record %s of %s", action, resource_id);
    char *text = pg_text(ht_tmpf("SELECT changes::text FROM audit_records WHERE action = '%s' "
                                 "AND resource_id = '%s'",
                                 action, resource_id));
    json_t *changes = json_loads(text, 0, NULL);
    ck_assert_msg(changes != NULL, "audit changes are not JSON: %s", text);
    free(text);
    return changes;
}

/* ---- Models ------------------------------------------------------------- */

START_TEST(model_create_get_update_delete)
{
    ht_server_start(&S, NULL);
    json_t *m = call("POST", "/admin/models",
                     "{\"name\":\"gpt-4o\",\"kind\":\"chat\",\"context_window\":128000,"
                     "\"max_output_tokens\":16384,\"cost_per_token\":0.25,"
                     "\"supports_vision\":true,\"supports_functions\":false}", 201);
    int64_t id = ht_id(m);
    ck_assert_str_eq(jstr(m, "name"), "gpt-4o");
    ck_assert_str_eq(jstr(m, "kind"), "chat");
    ck_assert_int_eq(jint(m, "context_window"), 128000);
    ck_assert_int_eq(jint(m, "max_output_tokens"), 16384);
    ck_assert(json_real_value(json_object_get(m, "cost_per_token")) == 0.25);
    ck_assert(json_is_true(json_object_get(m, "supports_vision")));
    ck_assert(json_is_false(json_object_get(m, "supports_functions")));
    ck_assert(json_is_null(json_object_get(m, "supports_stream")));
    ck_assert_msg(strlen(jstr(m, "created_at")) == 20, "created_at is RFC 3339 UTC");
    json_decref(m);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM models WHERE name = 'gpt-4o' AND "
                                "kind = 'chat' AND context_window = 128000 AND "
                                "max_output_tokens = 16384 AND cost_per_token = 0.25 AND "
                                "supports_vision AND NOT supports_functions AND "
                                "supports_stream IS NULL"), 1);

    m = call("GET", ht_tmpf("/admin/models/%" PRId64, id), NULL, 200);
    ck_assert_str_eq(jstr(m, "name"), "gpt-4o");
    ck_assert_int_eq(jint(m, "context_window"), 128000);
    json_decref(m);

    /* partial update: null clears, omitted fields keep their value */
    m = call("PUT", ht_tmpf("/admin/models/%" PRId64, id),
             "{\"supports_vision\":null,\"cost_per_token\":null,\"context_window\":200000,"
             "\"supports_stream\":true}",
             200);
    ck_assert(json_is_null(json_object_get(m, "supports_vision")));
    ck_assert(json_is_null(json_object_get(m, "cost_per_token")));
    ck_assert(json_is_false(json_object_get(m, "supports_functions")));
    ck_assert(json_is_true(json_object_get(m, "supports_stream")));
    ck_assert_int_eq(jint(m, "context_window"), 200000);
    ck_assert_int_eq(jint(m, "max_output_tokens"), 16384);
    json_decref(m);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM models WHERE supports_vision IS NULL "
                                "AND cost_per_token IS NULL AND context_window = 200000 "
                                "AND supports_stream AND NOT supports_functions"), 1);

    m = call("PUT", ht_tmpf("/admin/models/%" PRId64, id), "{\"name\":\"gpt-4o-2024\"}", 200);
    ck_assert_str_eq(jstr(m, "name"), "gpt-4o-2024");
    json_decref(m);

    ck_assert_ptr_null(call("DELETE", ht_tmpf("/admin/models/%" PRId64, id), NULL, 204));
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM models"), 0);
    refused("GET", ht_tmpf("/admin/models/%" PRId64, id), NULL, 404, "not_found_error", NULL);
    refused("DELETE", ht_tmpf("/admin/models/%" PRId64, id), NULL, 404, "not_found_error", NULL);
    ht_assert_clean_stop(&S);
}
END_TEST

START_TEST(model_list_pages_and_filters_by_name)
{
    ht_server_start(&S, NULL);
    const char *names[] = { "m-a", "m-b", "m-c" };
    for (int i = 0; i < 3; i++)
        json_decref(call("POST", "/admin/models", ht_tmpf("{\"name\":\"%s\"}", names[i]), 201));
    json_t *p1 = call("GET", "/admin/models?limit=2", NULL, 200);
    ck_assert_int_eq(json_array_size(json_object_get(p1, "data")), 2);
    ck_assert(json_is_true(json_object_get(p1, "has_more")));
    const char *cursor = jstr(p1, "next_cursor");
    json_t *p2 = call("GET", ht_tmpf("/admin/models?limit=2&cursor=%s", cursor), NULL, 200);
    json_t *data = json_object_get(p2, "data");
    ck_assert_int_eq(json_array_size(data), 1);
    ck_assert_str_eq(jstr(json_array_get(data, 0), "name"), "m-c");
    ck_assert(json_is_false(json_object_get(p2, "has_more")));
    ck_assert(json_is_null(json_object_get(p2, "next_cursor")));
    json_decref(p1);
    json_decref(p2);

    json_t *one = call("GET", "/admin/models?name=m-b", NULL, 200);
    data = json_object_get(one, "data");
    ck_assert_int_eq(json_array_size(data), 1);
    ck_assert_str_eq(jstr(json_array_get(data, 0), "name"), "m-b");
    json_decref(one);
    refused("GET", "/admin/models?limit=0", NULL, 400, "invalid_request_error", "limit");
    refused("GET", "/admin/models?name=%ff", NULL, 400, "invalid_request_error", "name");
    ht_assert_clean_stop(&S);
}
END_TEST

START_TEST(model_kind_empty_is_chat_and_unknown_is_other)
{
    ht_server_start(&S, NULL);
    struct { const char *kind, *want; } cases[] = {
        { "", "chat" }, { "Embedding", "embedding" }, { "rerank", "rerank" },
        { "llm", "other" }, { NULL, "chat" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *body = cases[i].kind
                               ? ht_tmpf("{\"name\":\"k%zu\",\"kind\":\"%s\"}", i, cases[i].kind)
                               : ht_tmpf("{\"name\":\"k%zu\"}", i);
        json_t *m = call("POST", "/admin/models", body, 201);
        ck_assert_msg(strcmp(jstr(m, "kind"), cases[i].want) == 0, "kind '%s' became %s",
                      cases[i].kind ? cases[i].kind : "(absent)", jstr(m, "kind"));
        ck_assert_int_eq(ht_pg_count(ht_tmpf("SELECT count(*) FROM models WHERE name = 'k%zu' "
                                             "AND kind = '%s'",
                                             i, cases[i].want)),
                         1);
        json_decref(m);
    }
    ht_assert_clean_stop(&S);
}
END_TEST

START_TEST(model_name_taken_is_409)
{
    ht_server_start(&S, NULL);
    json_decref(call("POST", "/admin/models", "{\"name\":\"a\"}", 201));
    json_t *b = call("POST", "/admin/models", "{\"name\":\"b\"}", 201);
    char *before = catalog_state();
    refused("POST", "/admin/models", "{\"name\":\"a\"}", 409, "conflict_error", "name");
    refused("PUT", ht_tmpf("/admin/models/%" PRId64, ht_id(b)), "{\"name\":\"a\"}", 409,
            "conflict_error", "name");
    assert_unchanged(before, "duplicate model name");
    free(before);
    json_decref(b);
    ht_assert_clean_stop(&S);
}
END_TEST

START_TEST(model_bad_input_is_refused_and_changes_nothing)
{
    ht_server_start(&S, NULL);
    json_t *m = call("POST", "/admin/models", "{\"name\":\"base\"}", 201);
    const char *path = ht_tmpf("/admin/models/%" PRId64, ht_id(m));
    json_decref(m);
    char long_name[200];
    memset(long_name, 'x', 129);
    long_name[129] = 0;
    char *before = catalog_state();
    struct { const char *method, *path, *body, *param;
    } cases[] = {
        {"POST", "/admin/models", "{\"name\":", NULL}, /* malformed */
        {"POST", "/admin/models", "[\"name\"]", NULL}, /* not an object */
        {"POST", "/admin/models", "{\"name\":\"x\",\"color\":1}", "color"},
        {"POST", "/admin/models", "{\"name\":7}", "name"},
        {"POST", "/admin/models", "{\"name\":\"x\",\"context_window\":\"8k\"}", "context_window"},
        {"POST", "/admin/models", "{\"name\":\"x\",\"context_window\":1.5}", "context_window"},
        {"POST", "/admin/models", "{\"name\":\"x\",\"max_output_tokens\":-1}", "max_output_tokens"},
        {"POST", "/admin/models", "{\"name\":\"x\",\"cost_per_token\":-0.1}", "cost_per_token"},
        {"POST", "/admin/models", "{\"name\":\"x\",\"cost_per_token\":\"1\"}", "cost_per_token"},
        {"POST", "/admin/models", "{\"name\":\"x\",\"supports_fim\":\"yes\"}", "supports_fim"},
        {"POST", "/admin/models", "{\"name\":\"x\",\"kind\":5}", "kind"},
        {"POST", "/admin/models", ht_tmpf("{\"name\":\"%s\"}", long_name), "name"},
        {"POST", "/admin/models", "{\"name\":\"\"}", "name"},
        {"POST", "/admin/models", "{\"name\":\"a\\tb\"}", "name"},
        {"POST", "/admin/models", "{\"name\":\" padded\"}", "name"},
        {"POST", "/admin/models", "{\"kind\":\"chat\"}", "name"}, /* missing */
        {"POST", "/admin/models", "{\"name\":null}", "name"},
        {"PUT", path, "{\"name\":null}", "name"},
        {"PUT", path, "{\"context_window\":-5}", "context_window"},
        {"PUT", path, "{\"supports_vision\":1}", "supports_vision"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        refused(cases[i].method, cases[i].path, cases[i].body, 400, "invalid_request_error",
                cases[i].param);
    /* a NUL byte inside a string is refused (by the JSON reader or the field) */
    json_t *j = call("POST", "/admin/models", "{\"name\":\"a\\u0000b\"}", 400);
    ck_assert_str_eq(jstr(json_object_get(j, "error"), "type"), "invalid_request_error");
    json_decref(j);
    refused("GET", "/admin/models/abc", NULL, 400, "invalid_request_error", "id");
    refused("PUT", "/admin/models/-1", "{}", 400, "invalid_request_error", "id");
    refused("DELETE", "/admin/models/1x", NULL, 400, "invalid_request_error", "id");
    refused("PUT", "/admin/models/999999", "{\"name\":\"y\"}", 404, "not_found_error", NULL);
    assert_unchanged(before, "bad model input");
    free(before);
    ht_assert_clean_stop(&S);
}
END_TEST

/* ---- Model registry ------------------------------------------------------- */

START_TEST(model_registry_lists_models_of_active_groups_with_active_keys)
{
    ht_server_start(&S, NULL);
    int64_t g1 = create_group("g1", "[\"gpt-4o\",\"gpt-4o-mini\"]");
    int64_t k1 = create_key(g1, "active");
    int64_t g2 = create_group("g2", "[\"gpt-4o\",\"llama-3\"]");
    int64_t k2 = create_key(g2, "active");
    (void)create_key(g2, "manual_disabled");
    int64_t g3 = create_group("g3", "[\"only-disabled-group\"]");
    (void)create_key(g3, "active");
    json_decref(call("PUT", ht_tmpf("/admin/provider-groups/%" PRId64, g3),
                     "{\"status\":\"disabled\"}", 200));
    (void)create_group("g4", "[\"only-keyless-group\"]");
    int64_t g5 = create_group("g5", "[\"only-disabled-key\"]");
    (void)create_key(g5, "auto_disabled");
    json_decref(call("POST", "/admin/models",
                     "{\"name\":\"gpt-4o\",\"context_window\":128000,\"supports_vision\":true,"
                     "\"supports_tool_choice\":false}", 201));
    json_decref(call("POST", "/admin/models", "{\"name\":\"not-offered\"}", 201));

    json_t *reg = call("GET", "/admin/model-registry", NULL, 200);
    json_t *data = json_object_get(reg, "data");
    ck_assert_msg(json_array_size(data) == 3, "registry: %s",
                  json_dumps(reg, JSON_COMPACT));
    const char *want[] = { "gpt-4o", "gpt-4o-mini", "llama-3" };
    for (size_t i = 0; i < 3; i++)
        ck_assert_str_eq(jstr(json_array_get(data, i), "name"), want[i]);

    json_t *e = json_array_get(data, 0);
    json_t *groups = json_object_get(e, "groups");
    ck_assert_int_eq(json_array_size(groups), 2);
    ck_assert_int_eq(jint(json_array_get(groups, 0), "id"), g1);
    ck_assert_str_eq(jstr(json_array_get(groups, 0), "name"), "g1");
    ck_assert_str_eq(jstr(json_array_get(groups, 0), "type"), "openai");
    ck_assert_int_eq(jint(json_array_get(groups, 1), "id"), g2);
    json_t *keys = json_object_get(e, "keys");
    ck_assert_int_eq(json_array_size(keys), 2);
    ck_assert_int_eq(json_integer_value(json_array_get(keys, 0)), k1);
    ck_assert_int_eq(json_integer_value(json_array_get(keys, 1)), k2);
    ck_assert(json_is_true(json_object_get(e, "registered")));
    char *caps = json_dumps(json_object_get(e, "capabilities"), JSON_COMPACT);
    ck_assert_str_eq(caps, "{\"name\":\"gpt-4o\",\"kind\":\"chat\",\"context_window\":128000,"
                           "\"supports_vision\":true,\"supports_tool_choice\":false}");
    free(caps);

    e = json_array_get(data, 1);
    ck_assert(json_is_false(json_object_get(e, "registered")));
    ck_assert(json_is_null(json_object_get(e, "capabilities")));
    ck_assert_int_eq(json_array_size(json_object_get(e, "keys")), 1);
    json_decref(reg);
    ht_assert_clean_stop(&S);
}
END_TEST

/* ---- Bindings ------------------------------------------------------------- */

START_TEST(binding_create_get_list_update_delete)
{
    ht_server_start(&S, NULL);
    ht_create_namespace(&S, "team-a");
    ht_create_namespace(&S, "team-b");
    int64_t g1 = create_group("g1", "[\"gpt-4o\",\"gpt-4o-mini\"]");
    int64_t g2 = create_group("g2", "[\"gpt-4o\"]");
    int64_t k1 = create_key(g1, "active");

    json_t *b = create_binding(ht_tmpf("{\"namespace\":\"team-a\",\"public_model\":\"gpt-4o\","
                                       "\"group_id\":%" PRId64 "}",
                                       g1));
    int64_t id = ht_id(b);
    ck_assert_str_eq(jstr(b, "namespace"), "team-a");
    ck_assert_str_eq(jstr(b, "public_model"), "gpt-4o");
    ck_assert_int_eq(jint(b, "group_id"), g1);
    ck_assert_int_eq(jint(b, "weight"), 1);
    ck_assert_str_eq(jstr(b, "selector_type"), "exact");
    ck_assert_str_eq(jstr(b, "selector_value"), "gpt-4o");
    ck_assert_str_eq(jstr(b, "status"), "active");
    assert_candidate_routes(b, g1, k1, "gpt-4o");
    json_decref(b);
    ck_assert_int_eq(ht_pg_count(ht_tmpf("SELECT count(*) FROM bindings WHERE id = %" PRId64
                                         " AND namespace = 'team-a' AND public_model = 'gpt-4o' "
                                         "AND group_id = %" PRId64 " AND weight = 1 AND "
                                         "selector_type = 'exact' AND selector_value = 'gpt-4o' "
                                         "AND status = 'active'",
                                         id, g1)),
                     1);

    json_t *b2 = create_binding(ht_tmpf("{\"namespace\":\"team-a\",\"public_model\":\"gpt-4o\","
                                        "\"group_id\":%" PRId64 ",\"weight\":0,"
                                        "\"status\":\"disabled\"}",
                                        g2));
    json_t *b3 = create_binding(ht_tmpf("{\"namespace\":\"team-b\",\"public_model\":\"mini\","
                                        "\"group_id\":%" PRId64 ",\"selector_value\":"
                                        "\"gpt-4o-mini\"}",
                                        g1));
    ck_assert_int_eq(jint(b2, "weight"), 0);
    ck_assert_str_eq(jstr(b2, "status"), "disabled");
    ck_assert_str_eq(jstr(b3, "selector_value"), "gpt-4o-mini");
    assert_candidate_routes(b3, g1, k1, "gpt-4o-mini");

    b = call("GET", ht_tmpf("/admin/bindings/%" PRId64, id), NULL, 200);
    ck_assert_str_eq(jstr(b, "public_model"), "gpt-4o");
    json_decref(b);

    json_t *l = call("GET", "/admin/bindings?namespace=team-a", NULL, 200);
    ck_assert_int_eq(json_array_size(json_object_get(l, "data")), 2);
    json_decref(l);
    l = call("GET", ht_tmpf("/admin/bindings?group_id=%" PRId64, g1), NULL, 200);
    ck_assert_int_eq(json_array_size(json_object_get(l, "data")), 2);
    json_decref(l);
    l = call("GET", ht_tmpf("/admin/bindings?namespace=team-a&group_id=%" PRId64, g2), NULL, 200);
    json_t *data = json_object_get(l, "data");
    ck_assert_int_eq(json_array_size(data), 1);
    ck_assert_int_eq(ht_id(json_array_get(data, 0)), ht_id(b2));
    json_decref(l);
    l = call("GET", "/admin/bindings?limit=1", NULL, 200);
    ck_assert(json_is_true(json_object_get(l, "has_more")));
    ck_assert_int_eq(json_array_size(json_object_get(l, "data")), 1);
    json_decref(l);

    b = call("PUT", ht_tmpf("/admin/bindings/%" PRId64, id),
             "{\"weight\":7,\"status\":\"disabled\"}", 200);
    ck_assert_int_eq(jint(b, "weight"), 7);
    ck_assert_str_eq(jstr(b, "status"), "disabled");
    ck_assert_str_eq(jstr(b, "public_model"), "gpt-4o");
    candidate_of(b, g1);
    json_decref(b);
    ck_assert_int_eq(ht_pg_count(ht_tmpf("SELECT count(*) FROM bindings WHERE id = %" PRId64
                                         " AND weight = 7 AND status = 'disabled'",
                                         id)),
                     1);

    b = call("PUT", ht_tmpf("/admin/bindings/%" PRId64, ht_id(b2)),
             ht_tmpf("{\"namespace\":\"team-b\",\"group_id\":%" PRId64 "}", g1), 200);
    ck_assert_str_eq(jstr(b, "namespace"), "team-b");
    ck_assert_int_eq(jint(b, "group_id"), g1);
    json_decref(b);

    ck_assert_ptr_null(call("DELETE", ht_tmpf("/admin/bindings/%" PRId64, id), NULL, 204));
    ck_assert_int_eq(ht_pg_count(ht_tmpf("SELECT count(*) FROM bindings WHERE id = %" PRId64, id)),
                     0);
    refused("GET", ht_tmpf("/admin/bindings/%" PRId64, id), NULL, 404, "not_found_error", NULL);
    json_decref(b2);
    json_decref(b3);
    ht_assert_clean_stop(&S);
}
END_TEST

START_TEST(binding_answer_carries_the_resolved_candidate)
{
    ht_server_start(&S, NULL);
    ht_create_namespace(&S, "ns");
    int64_t g = create_group("main", "[\"gpt-4o\",\"gpt-4o-mini\",\"openai/GPT-5\"]");
    int64_t k = create_key(g, "active");
    int64_t idle = create_group("idle", "[\"gpt-4o\"]");
    (void)create_key(idle, "manual_disabled");

    json_t *b = create_binding(ht_tmpf("{\"namespace\":\"ns\",\"public_model\":\"gpt-4o\","
                                       "\"group_id\":%" PRId64 "}",
                                       g));
    assert_candidate_routes(b, g, k, "gpt-4o");
    json_decref(b);

    b = create_binding(
        ht_tmpf("{\"namespace\":\"ns\",\"public_model\":\"mini\",\"group_id\":%" PRId64
                ",\"selector_type\":\"regex\",\"selector_value\":\"-mini$\"}",
                g));
    assert_candidate_routes(b, g, k, "gpt-4o-mini");
    json_decref(b);

    b = create_binding(
        ht_tmpf("{\"namespace\":\"ns\",\"public_model\":\"any-gpt\",\"group_id\":%" PRId64
                ",\"selector_type\":\"regex\",\"selector_value\":\"gpt\"}",
                g));
    assert_candidate_error(b, g, "config_error");
    json_decref(b);

    b = create_binding(
        ht_tmpf("{\"namespace\":\"ns\",\"public_model\":\"gpt-5\",\"group_id\":%" PRId64
                ",\"selector_type\":\"normalize_exact\","
                "\"selector_value\":\"vendor/gpt-5\"}",
                g));
    assert_candidate_routes(b, g, k, "openai/GPT-5");
    json_decref(b);

    b = create_binding(ht_tmpf(
        "{\"namespace\":\"ns\",\"public_model\":\"gpt-4o\",\"group_id\":%" PRId64 "}", idle));
    assert_candidate_error(b, idle, "no_provider");
    int64_t idle_binding = ht_id(b);
    json_decref(b);

    /* the update answer resolves again: a key appears, the candidate routes */
    int64_t k2 = create_key(idle, "active");
    b = call("PUT", ht_tmpf("/admin/bindings/%" PRId64, idle_binding), "{\"weight\":2}", 200);
    assert_candidate_routes(b, idle, k2, "gpt-4o");
    json_decref(b);

    /* the list carries the same candidates with resolve=true, a page at a
     * time; without it, none */
    json_t *page = call("GET", "/admin/bindings?namespace=ns&limit=3&resolve=true", NULL, 200);
    json_t *rows = json_object_get(page, "data");
    ck_assert_int_eq(json_array_size(rows), 3);
    assert_candidate_routes(json_array_get(rows, 0), g, k, "gpt-4o");
    assert_candidate_routes(json_array_get(rows, 1), g, k, "gpt-4o-mini");
    assert_candidate_error(json_array_get(rows, 2), g, "config_error");
    const char *next = ht_tmpf("/admin/bindings?namespace=ns&limit=3&resolve=true&cursor=%s",
                         json_string_value(json_object_get(page, "next_cursor")));
    json_decref(page);
    page = call("GET", next, NULL, 200);
    rows = json_object_get(page, "data");
    ck_assert_int_eq(json_array_size(rows), 2);
    assert_candidate_routes(json_array_get(rows, 1), idle, k2, "gpt-4o");
    json_decref(page);
    page = call("GET", "/admin/bindings?namespace=ns&resolve=false", NULL, 200);
    ck_assert_ptr_null(json_object_get(json_array_get(json_object_get(page, "data"), 0),
                                       "candidate"));
    json_decref(page);
    page = call("GET", "/admin/bindings?resolve=yes", NULL, 400);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(page, "error"), "param")),
                     "resolve");
    json_decref(page);
    ht_assert_clean_stop(&S);
}
END_TEST

START_TEST(binding_selector_value_defaults_and_updates)
{
    ht_server_start(&S, NULL);
    ht_create_namespace(&S, "ns");
    int64_t g = create_group("g", "[\"gpt-4o\",\"paren(\"]");
    (void)create_key(g, "active");
    json_t *b = create_binding(ht_tmpf("{\"namespace\":\"ns\",\"public_model\":\"gpt-4o\","
                                       "\"group_id\":%" PRId64 ",\"selector_value\":\"\"}",
                                       g));
    const char *path = ht_tmpf("/admin/bindings/%" PRId64, ht_id(b));
    ck_assert_str_eq(jstr(b, "selector_value"), "gpt-4o");
    json_decref(b);

    /* omitted: the selector keeps its value when the public model changes */
    b = call("PUT", path, "{\"public_model\":\"public-4o\"}", 200);
    ck_assert_str_eq(jstr(b, "public_model"), "public-4o");
    ck_assert_str_eq(jstr(b, "selector_value"), "gpt-4o");
    json_decref(b);
    /* null: back to the default, the public model */
    b = call("PUT", path, "{\"selector_value\":null}", 200);
    ck_assert_str_eq(jstr(b, "selector_value"), "public-4o");
    json_decref(b);
    b = call("PUT", path, "{\"selector_type\":\"regex\",\"selector_value\":\"^gpt-4o$\"}", 200);
    ck_assert_str_eq(jstr(b, "selector_type"), "regex");
    ck_assert_str_eq(jstr(b, "selector_value"), "^gpt-4o$");
    json_decref(b);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM bindings WHERE selector_type = 'regex' "
                                "AND selector_value = '^gpt-4o$' AND public_model = 'public-4o'"),
                     1);

    /* an exact selector that is not a valid regex cannot become a regex */
    b = create_binding(
        ht_tmpf("{\"namespace\":\"ns\",\"public_model\":\"paren(\",\"group_id\":%" PRId64 "}", g));
    const char *path2 = ht_tmpf("/admin/bindings/%" PRId64, ht_id(b));
    json_decref(b);
    char *before = catalog_state();
    refused("PUT", path2, "{\"selector_type\":\"regex\"}", 400, "invalid_request_error",
            "selector_value");
    assert_unchanged(before, "regex over a stored exact value");
    free(before);
    ht_assert_clean_stop(&S);
}
END_TEST

START_TEST(binding_bad_input_is_refused_and_changes_nothing)
{
    ht_server_start(&S, NULL);
    ht_create_namespace(&S, "ns");
    ht_create_namespace(&S, "other");
    int64_t g = create_group("g", "[\"gpt-4o\"]");
    json_t *b = create_binding(ht_tmpf("{\"namespace\":\"ns\",\"public_model\":\"gpt-4o\","
                                       "\"group_id\":%" PRId64 "}",
                                       g));
    const char *path = ht_tmpf("/admin/bindings/%" PRId64, ht_id(b));
    json_decref(b);
    json_decref(create_binding(ht_tmpf("{\"namespace\":\"other\",\"public_model\":\"gpt-4o\","
                                       "\"group_id\":%" PRId64 "}",
                                       g)));
    char long_model[300];
    memset(long_model, 'm', 257);
    long_model[257] = 0;
    char *before = catalog_state();

    const char *ok =
        ht_tmpf("\"namespace\":\"ns\",\"public_model\":\"x\",\"group_id\":%" PRId64, g);
    struct { const char *method, *path, *body, *param;
    } bad[] = {
        {"POST", "/admin/bindings", "{\"namespace\":\"ns\",", NULL},
        {"POST", "/admin/bindings", ht_tmpf("{%s,\"priority\":1}", ok), "priority"},
        {"POST", "/admin/bindings", ht_tmpf("{%s,\"weight\":\"1\"}", ok), "weight"},
        {"POST", "/admin/bindings",
         "{\"namespace\":\"ns\",\"public_model\":\"x\","
         "\"group_id\":\"1\"}",
         "group_id"},
        {"POST", "/admin/bindings", ht_tmpf("{%s,\"weight\":1001}", ok), "weight"},
        {"POST", "/admin/bindings", ht_tmpf("{%s,\"weight\":-1}", ok), "weight"},
        {"POST", "/admin/bindings",
         ht_tmpf("{\"namespace\":\"ns\",\"public_model\":\"%s\","
                 "\"group_id\":%" PRId64 "}",
                 long_model, g),
         "public_model"},
        {"POST", "/admin/bindings",
         ht_tmpf("{%s,\"selector_type\":\"regex\","
                 "\"selector_value\":\"gpt-(4o\"}",
                 ok),
         "selector_value"},
        {"POST", "/admin/bindings",
         ht_tmpf("{%s,\"selector_type\":\"regex\","
                 "\"selector_value\":\"a{1,32767}\"}",
                 ok),
         "selector_value"},
        {"POST", "/admin/bindings", ht_tmpf("{%s,\"selector_type\":\"glob\"}", ok),
         "selector_type"},
        {"POST", "/admin/bindings", ht_tmpf("{%s,\"status\":\"paused\"}", ok), "status"},
        {"POST", "/admin/bindings", ht_tmpf("{\"namespace\":\"ns\",\"group_id\":%" PRId64 "}", g),
         "public_model"},
        {"POST", "/admin/bindings", "{\"namespace\":\"ns\",\"public_model\":\"x\"}", "group_id"},
        {"POST", "/admin/bindings", ht_tmpf("{\"public_model\":\"x\",\"group_id\":%" PRId64 "}", g),
         "namespace"},
        {"POST", "/admin/bindings",
         ht_tmpf("{\"namespace\":\"Not Valid\",\"public_model\":\"x\","
                 "\"group_id\":%" PRId64 "}",
                 g),
         "namespace"},
        {"PUT", path, "{\"selector_type\":\"regex\",\"selector_value\":\"[\"}", "selector_value"},
        {"PUT", path, "{\"weight\":null}", "weight"},
        {"PUT", path, "{\"status\":\"on\"}", "status"},
        {"PUT", path, "{\"public_model\":\"\"}", "public_model"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        refused(bad[i].method, bad[i].path, bad[i].body, 400, "invalid_request_error",
                bad[i].param);
    json_t *j =
        call("POST", "/admin/bindings", ht_tmpf("{%s,\"selector_value\":\"a\\u0000\"}", ok), 400);
    ck_assert_str_eq(jstr(json_object_get(j, "error"), "type"), "invalid_request_error");
    json_decref(j);

    refused("POST", "/admin/bindings",
            ht_tmpf("{\"namespace\":\"nowhere\",\"public_model\":\"x\","
                    "\"group_id\":%" PRId64 "}",
                    g),
            422, "invalid_request_error", "namespace");
    refused("POST", "/admin/bindings", "{\"namespace\":\"ns\",\"public_model\":\"x\","
            "\"group_id\":987654}", 422, "invalid_request_error", "group_id");
    refused("PUT", path, "{\"namespace\":\"nowhere\"}", 422, "invalid_request_error",
            "namespace");
    refused("PUT", path, "{\"group_id\":987654}", 422, "invalid_request_error", "group_id");
    refused("POST", "/admin/bindings",
            ht_tmpf("{\"namespace\":\"ns\",\"public_model\":\"gpt-4o\","
                    "\"group_id\":%" PRId64 "}",
                    g),
            409, "conflict_error", NULL);
    refused("PUT", path, "{\"namespace\":\"other\"}", 409, "conflict_error", NULL);
    refused("GET", "/admin/bindings/first", NULL, 400, "invalid_request_error", "id");
    refused("PUT", "/admin/bindings/0", "{}", 400, "invalid_request_error", "id");
    refused("GET", "/admin/bindings/424242", NULL, 404, "not_found_error", NULL);
    refused("PUT", "/admin/bindings/424242", "{\"weight\":2}", 404, "not_found_error", NULL);
    refused("DELETE", "/admin/bindings/424242", NULL, 404, "not_found_error", NULL);
    refused("GET", "/admin/bindings?group_id=abc", NULL, 400, "invalid_request_error",
            "group_id");
    refused("GET", "/admin/bindings?namespace=UPPER", NULL, 400, "invalid_request_error",
            "namespace");
    assert_unchanged(before, "bad binding input");
    free(before);
    ht_assert_clean_stop(&S);
}
END_TEST

/* The selectors of the data plane's routing library (docs/catalog.md,
 * "Selectors"): Go's regexp syntax, Unicode-aware normalize_exact, trimmed
 * names. Each of these resolved differently, or was refused, with POSIX. */
START_TEST(binding_selectors_resolve_as_the_data_plane_does)
{
    ht_server_start(&S, NULL);
    ht_create_namespace(&S, "ns");
    int64_t g = create_group("g", "[\"gpt-d\",\"gpt-4\",\"vendor/Mod\\u00e8le-X\","
                                  "\"vendor/ GPT-5\",\"Qwen2-72B\"]");
    int64_t k = create_key(g, "active");
    struct { const char *model, *type, *value, *upstream; } ok[] = {
        { "p1", "regex", "gpt-\\\\d", "gpt-4" },
        { "p2", "regex", "(?i)^qwen", "Qwen2-72B" },
        { "p3", "normalize_exact", "MOD\\u00c8LE-X", "vendor/Mod\u00e8le-X" },
        { "p4", "normalize_exact", "gpt-5", "vendor/ GPT-5" },
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        json_t *b = create_binding(ht_tmpf("{\"namespace\":\"ns\",\"public_model\":\"%s\","
                                           "\"group_id\":%" PRId64 ",\"selector_type\":\"%s\","
                                           "\"selector_value\":\"%s\"}",
                                           ok[i].model, g, ok[i].type, ok[i].value));
        assert_candidate_routes(b, g, k, ok[i].upstream);
        json_decref(b);
    }
    char *snap = NULL;
    HT_EVENTUALLY((free(snap), snap = ht_redis_hget("config:bindings", "ns.p1")) != NULL, 10000,
                 "config:bindings has no field ns.p1");
    ck_assert_msg(strstr(snap, ht_tmpf("\"upstreams\":{\"%" PRId64 "\":\"gpt-4\"}", k)) != NULL,
                  "the snapshot of gpt-\\d does not route to gpt-4: %s", snap);
    free(snap);

    char *before = catalog_state();
    static const char *const go_refuses[] = { "^(a)\\\\1$", "(?=gpt)", "gpt-\\\\h", "a{1001}",
                                              "\\\\p{greek}" };
    for (size_t i = 0; i < sizeof go_refuses / sizeof go_refuses[0]; i++)
        refused("POST", "/admin/bindings",
                ht_tmpf("{\"namespace\":\"ns\",\"public_model\":\"x\","
                        "\"group_id\":%" PRId64
                        ",\"selector_type\":\"regex\",\"selector_value\":\"%s\"}",
                        g, go_refuses[i]),
                400, "invalid_request_error", "selector_value");
    assert_unchanged(before, "selectors Go's regexp refuses");
    free(before);
    ht_assert_clean_stop(&S);
}
END_TEST

static void pg_exec(const char *sql)
{
    PGconn *c = ht_pg();
    PGresult *res = PQexec(c, sql);
    ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK,
                  "%s: %s", sql, PQresultErrorMessage(res));
    PQclear(res);
    PQfinish(c);
}

/* The binding of the hostile report: a back-referencing POSIX regex over
 * 200-character names, stored before the rules changed (it cannot be
 * created any more). It took 30 s a match: the worker answering for it
 * was killed and the syncer stalled. Now it is a config_error, answered at
 * once, and the rest of the configuration keeps flowing to Redis. */
START_TEST(pathological_binding_neither_hangs_nor_stalls_the_sync)
{
    ht_server_start(&S, NULL);
    ht_create_namespace(&S, "ns");
    char a200[201];
    memset(a200, 'a', 200);
    a200[200] = '\0';
    const char *models = ht_tmpf("[\"%s\",\"%sb\",\"%sc\",\"%sx\"]", a200, a200, a200, a200);
    int64_t g = create_group("g", models);
    (void)create_key(g, "active");
    pg_exec(ht_tmpf("INSERT INTO bindings (namespace, public_model, group_id, selector_type, "
                    "selector_value) VALUES ('ns', 'legacy', %" PRId64 ", 'regex', "
                    "'^((a*)*b*)*\\1\\2c$')",
                    g));
    int64_t legacy = ht_pg_count("SELECT id FROM bindings WHERE public_model = 'legacy'");
    /* the worker answers for the stored one, which can still be edited */
    json_t *b = call("PUT", ht_tmpf("/admin/bindings/%" PRId64, legacy), "{\"weight\":3}", 200);
    assert_candidate_error(b, g, "config_error");
    json_decref(b);
    /* Go accepts this one; PCRE2 would backtrack for ever: bounded */
    b = create_binding(
        ht_tmpf("{\"namespace\":\"ns\",\"public_model\":\"slow\",\"group_id\":%" PRId64
                ",\"selector_type\":\"regex\","
                "\"selector_value\":\"^(a|aa)+$\"}",
                g));
    assert_candidate_error(b, g, "config_error");
    json_decref(b);
    json_decref(call("GET", "/admin/model-registry", NULL, 200));

    /* both reach Redis as config_error, and a later change still follows */
    char *snap = NULL;
    HT_EVENTUALLY((free(snap), snap = ht_redis_hget("config:bindings", "ns.legacy")) != NULL &&
                     strstr(snap, "\"weight\":3") != NULL, 10000,
                 "config:bindings ns.legacy was not updated: %s", snap ? snap : "(none)");
    ck_assert_ptr_nonnull(strstr(snap, "\"error\":\"config_error\""));
    free(snap);
    ht_create_namespace(&S, "after");
    HT_EVENTUALLY((snap = ht_redis_hget("config:namespaces", "after")) != NULL, 10000,
                 "a change made after the pathological bindings never reached Redis");
    free(snap);

    /* a full resync rebuilds everything, and verify finds Redis equal */
    json_decref(call("POST", "/admin/sync/full", NULL, 202));
    json_t *v = NULL;
    HT_EVENTUALLY((json_decref(v), v = call("GET", "/admin/sync/verify", NULL, 200),
                  json_is_true(json_object_get(v, "equal"))), 30000,
                 "verify does not find Redis equal to PostgreSQL");
    json_decref(v);
    snap = ht_redis_hget("config:bindings", "ns.slow");
    ck_assert_msg(snap && strstr(snap, "\"error\":\"config_error\""), "ns.slow: %s",
                  snap ? snap : "(none)");
    free(snap);
    ht_assert_clean_stop(&S);
}
END_TEST

/* ---- Features ------------------------------------------------------------- */

START_TEST(features_merge_and_delete)
{
    ht_server_start(&S, NULL);
    json_t *map = call("GET", "/admin/features", NULL, 200);
    ck_assert_int_eq(json_object_size(map), 0);
    json_decref(map);

    map = call("PUT", "/admin/features", "{\"streaming\":\"on\",\"beta_2\":\"x\"}", 200);
    ck_assert_int_eq(json_object_size(map), 2);
    ck_assert_str_eq(jstr(map, "streaming"), "on");
    json_decref(map);
    map = call("PUT", "/admin/features", "{\"beta_2\":null,\"quota\":\"\",\"streaming\":\"off\"}",
               200);
    ck_assert_int_eq(json_object_size(map), 2);
    ck_assert_str_eq(jstr(map, "streaming"), "off");
    ck_assert_str_eq(jstr(map, "quota"), "");
    ck_assert_ptr_null(json_object_get(map, "beta_2"));
    json_decref(map);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM features"), 2);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM features WHERE name = 'streaming' "
                                "AND value = 'off'"), 1);

    /* deleting a name that is not set, setting a value it already has, and an
     * empty object, change nothing */
    char *before = catalog_state();
    map = call("PUT", "/admin/features", "{\"streaming\":\"off\"}", 200);
    ck_assert_str_eq(jstr(map, "streaming"), "off");
    json_decref(map);
    assert_unchanged(before, "a feature set to its own value");
    free(before);
    map = call("PUT", "/admin/features", "{\"never_set\":null}", 200);
    ck_assert_int_eq(json_object_size(map), 2);
    json_decref(map);
    map = call("PUT", "/admin/features", "{}", 200);
    ck_assert_int_eq(json_object_size(map), 2);
    json_decref(map);
    map = call_as("viewer", "GET", "/admin/features", NULL, 200);
    ck_assert_str_eq(jstr(map, "streaming"), "off");
    json_decref(map);
    json_decref(call_as("viewer", "PUT", "/admin/features", "{\"a\":\"b\"}", 403));
    ht_assert_clean_stop(&S);
}
END_TEST

START_TEST(features_bad_input_is_refused_and_changes_nothing)
{
    ht_server_start(&S, NULL);
    json_decref(call("PUT", "/admin/features", "{\"kept\":\"1\"}", 200));
    char *before = catalog_state();
    char long_value[1100], long_name[80];
    memset(long_value, 'v', 1025);
    long_value[1025] = 0;
    memset(long_name, 'n', 65);
    long_name[65] = 0;
    refused("PUT", "/admin/features", "{\"a\":", 400, "invalid_request_error", NULL);
    refused("PUT", "/admin/features", "[\"a\"]", 400, "invalid_request_error", NULL);
    refused("PUT", "/admin/features", "{\"ok\":\"1\",\"Bad-Name\":\"1\"}", 400,
            "invalid_request_error", "Bad-Name");
    refused("PUT", "/admin/features", ht_tmpf("{\"%s\":\"1\"}", long_name), 400,
            "invalid_request_error", long_name);
    refused("PUT", "/admin/features", "{\"n\":1}", 400, "invalid_request_error", "n");
    refused("PUT", "/admin/features", "{\"n\":true}", 400, "invalid_request_error", "n");
    refused("PUT", "/admin/features", ht_tmpf("{\"kept\":null,\"n\":\"%s\"}", long_value), 400,
            "invalid_request_error", "n");
    refused("PUT", "/admin/features", "{\"n\":\"bell\\u0007\"}", 400, "invalid_request_error",
            "n");
    json_t *j = call("PUT", "/admin/features", "{\"n\":\"a\\u0000b\"}", 400);
    ck_assert_str_eq(jstr(json_object_get(j, "error"), "type"), "invalid_request_error");
    json_decref(j);
    assert_unchanged(before, "bad features input");
    free(before);
    ht_assert_clean_stop(&S);
}
END_TEST

/* ---- Audit ---------------------------------------------------------------- */

START_TEST(catalog_changes_are_audited_with_before_and_after)
{
    ht_server_start(&S, NULL);
    ht_create_namespace(&S, "ns");
    int64_t g = create_group("g", "[\"gpt-4o\"]");
    json_t *m = call("POST", "/admin/models", "{\"name\":\"gpt-4o\"}", 201);
    char mid[24];
    snprintf(mid, sizeof mid, "%" PRId64, ht_id(m));
    json_decref(m);
    json_decref(call("PUT", ht_tmpf("/admin/models/%s", mid), "{\"context_window\":8}", 200));
    json_decref(call("DELETE", ht_tmpf("/admin/models/%s", mid), NULL, 204));
    json_t *b = create_binding(ht_tmpf("{\"namespace\":\"ns\",\"public_model\":\"gpt-4o\","
                                       "\"group_id\":%" PRId64 "}",
                                       g));
    char bid[24];
    snprintf(bid, sizeof bid, "%" PRId64, ht_id(b));
    json_decref(b);
    json_decref(call("PUT", ht_tmpf("/admin/bindings/%s", bid), "{\"weight\":3}", 200));
    json_decref(call("DELETE", ht_tmpf("/admin/bindings/%s", bid), NULL, 204));
    json_decref(call("PUT", "/admin/features", "{\"a\":\"1\"}", 200));
    json_decref(call("PUT", "/admin/features", "{\"a\":null,\"b\":\"2\"}", 200));

    json_t *c = audit_record("model.update", mid);
    ck_assert_int_eq(jint(json_object_get(c, "before"), "context_window"), 0);
    ck_assert_int_eq(jint(json_object_get(c, "after"), "context_window"), 8);
    json_decref(c);
    c = audit_record("model.create", mid);
    ck_assert(json_is_null(json_object_get(c, "before")));
    json_decref(c);
    c = audit_record("model.delete", mid);
    ck_assert_str_eq(jstr(json_object_get(c, "before"), "name"), "gpt-4o");
    json_decref(c);
    c = audit_record("binding.create", bid);
    ck_assert_str_eq(jstr(json_object_get(c, "after"), "public_model"), "gpt-4o");
    ck_assert_msg(json_object_get(json_object_get(c, "after"), "candidate") == NULL,
                  "the audit record holds the binding, not the answer's candidate");
    json_decref(c);
    c = audit_record("binding.update", bid);
    ck_assert_int_eq(jint(json_object_get(c, "before"), "weight"), 1);
    ck_assert_int_eq(jint(json_object_get(c, "after"), "weight"), 3);
    json_decref(c);
    json_decref(audit_record("binding.delete", bid));

    HT_EVENTUALLY(ht_pg_count("SELECT count(*) FROM audit_records WHERE action = "
                            "'features.update' AND changes->'before' = '{\"a\":\"1\"}' AND "
                            "changes->'after' = '{\"b\":\"2\"}'") == 1,
                 10000, "no features.update record with the before and after maps");
    ht_assert_clean_stop(&S);
}
END_TEST

/* ---- Redis ---------------------------------------------------------------- */

START_TEST(bindings_are_projected_into_redis)
{
    ht_server_start(&S, NULL);
    ht_create_namespace(&S, "ns");
    int64_t g = create_group("g", "[\"gpt-4o\"]");
    int64_t k = create_key(g, "active");
    json_t *b = create_binding(ht_tmpf("{\"namespace\":\"ns\",\"public_model\":\"gpt-4o\","
                                       "\"group_id\":%" PRId64 "}",
                                       g));
    const char *path = ht_tmpf("/admin/bindings/%" PRId64, ht_id(b));
    json_decref(b);

    char *snap = NULL;
    HT_EVENTUALLY((free(snap), snap = ht_redis_hget("config:bindings", "ns.gpt-4o")) != NULL, 10000,
                 "config:bindings has no field ns.gpt-4o");
    json_t *j = json_loads(snap, 0, NULL);
    ck_assert_msg(j != NULL, "binding snapshot is not JSON: %s", snap);
    ck_assert_str_eq(jstr(j, "namespace"), "ns");
    ck_assert_str_eq(jstr(j, "public_model"), "gpt-4o");
    json_t *cands = json_object_get(j, "candidates");
    ck_assert_int_eq(json_array_size(cands), 1);
    json_t *ups = json_object_get(json_array_get(cands, 0), "upstreams");
    ck_assert_str_eq(jstr(ups, ht_tmpf("%" PRId64, k)), "gpt-4o");
    json_decref(j);
    free(snap);

    /* renaming the public model moves the field */
    json_decref(call("PUT", path, "{\"public_model\":\"renamed\"}", 200));
    HT_EVENTUALLY(ht_redis_hlen("config:bindings") == 1 &&
                 (snap = ht_redis_hget("config:bindings", "ns.renamed")) != NULL, 10000,
                 "config:bindings did not move to ns.renamed");
    free(snap);
    ck_assert_ptr_null(ht_redis_hget("config:bindings", "ns.gpt-4o"));

    ck_assert_ptr_null(call("DELETE", path, NULL, 204));
    HT_EVENTUALLY(ht_redis_hlen("config:bindings") == 0, 10000,
                 "config:bindings keeps the deleted binding");
    ht_assert_clean_stop(&S);
}
END_TEST

START_TEST(features_are_projected_into_redis)
{
    ht_server_start(&S, NULL);
    json_decref(call("PUT", "/admin/features", "{\"a\":\"1\",\"b\":\"2\"}", 200));
    char *v = NULL;
    HT_EVENTUALLY((free(v), v = ht_redis_hget("meta:features", "b")) != NULL, 10000,
                 "meta:features has no field b");
    ck_assert_str_eq(v, "2");
    free(v);
    json_decref(call("PUT", "/admin/features", "{\"a\":null,\"b\":\"3\"}", 200));
    v = NULL;
    HT_EVENTUALLY(ht_redis_hlen("meta:features") == 1 &&
                 ((free(v), v = ht_redis_hget("meta:features", "b")) != NULL) &&
                 strcmp(v, "3") == 0, 10000, "meta:features is not {b: 3}");
    free(v);
    ht_assert_clean_stop(&S);
}
END_TEST

/* ---- Suite ---------------------------------------------------------------- */

static Suite *catalog_suite(void)
{
    Suite *s = suite_create("catalog");
    TCase *tc = ht_tcase("models");
    tcase_add_test(tc, model_create_get_update_delete);
    tcase_add_test(tc, model_list_pages_and_filters_by_name);
    tcase_add_test(tc, model_kind_empty_is_chat_and_unknown_is_other);
    tcase_add_test(tc, model_name_taken_is_409);
    tcase_add_test(tc, model_bad_input_is_refused_and_changes_nothing);
    tcase_add_test(tc, model_registry_lists_models_of_active_groups_with_active_keys);
    suite_add_tcase(s, tc);

    tc = ht_tcase("bindings");
    tcase_add_test(tc, binding_create_get_list_update_delete);
    tcase_add_test(tc, binding_answer_carries_the_resolved_candidate);
    tcase_add_test(tc, binding_selector_value_defaults_and_updates);
    tcase_add_test(tc, binding_bad_input_is_refused_and_changes_nothing);
    tcase_add_test(tc, binding_selectors_resolve_as_the_data_plane_does);
    tcase_add_test(tc, pathological_binding_neither_hangs_nor_stalls_the_sync);
    suite_add_tcase(s, tc);

    tc = ht_tcase("features");
    tcase_add_test(tc, features_merge_and_delete);
    tcase_add_test(tc, features_bad_input_is_refused_and_changes_nothing);
    suite_add_tcase(s, tc);

    tc = ht_tcase("audit");
    tcase_add_test(tc, catalog_changes_are_audited_with_before_and_after);
    suite_add_tcase(s, tc);

    tc = ht_tcase("redis");
    tcase_add_test(tc, bindings_are_projected_into_redis);
    tcase_add_test(tc, features_are_projected_into_redis);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ht_run_suite(catalog_suite());
}
