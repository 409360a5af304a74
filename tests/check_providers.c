/* Provider groups, api keys, presets against the real binary: answers and
 * rows of every route, bad input (docs/api.md, "Refusals") that changes nothing, and the
 * upstream key masked everywhere and sealed at rest with secrets_key. */
#include "harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECRETS_KEY_CONF \
    "secrets_key = 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"

/* ---- Helpers ------------------------------------------------------------ */

/* One request as the admin (or viewer); asserts the status and returns the
 * parsed body (NULL for an empty one). */
static json_t *call_as(struct ht_server *s, const char *role, const char *method,
                       const char *path, const char *body, int expect)
{
    return ht_call(s, ht_auth(s, role), method, path, body, expect);
}

static json_t *call(struct ht_server *s, const char *method, const char *path, const char *body,
                    int expect)
{
    return call_as(s, "admin", method, path, body, expect);
}

static const char *str(json_t *obj, const char *field)
{
    return json_string_value(json_object_get(obj, field));
}

static long long num(json_t *obj, const char *field)
{
    json_t *v = json_object_get(obj, field);
    ck_assert_msg(json_is_integer(v), "field %s is not an integer", field);
    return json_integer_value(v);
}

static int is_null(json_t *obj, const char *field)
{
    return json_is_null(json_object_get(obj, field));
}

/* The first column of the first row as a malloc'd string, or NULL. */
static char *pg_str(const char *sql)
{
    PGconn *c = ht_pg();
    PGresult *r = PQexec(c, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(c));
    char *out = PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ? strdup(PQgetvalue(r, 0, 0)) : NULL;
    PQclear(r);
    PQfinish(c);
    return out;
}

static long long pg_count(const char *sql)
{
    long long n = ht_pg_count(sql);
    ck_assert_msg(n >= 0, "query failed: %s", sql);
    return n;
}

static void assert_pg(const char *sql, const char *expect)
{
    char *v = pg_str(sql);
    ck_assert_msg(v && strcmp(v, expect) == 0, "%s: got %s, expected %s", sql, v ? v : "NULL",
                  expect);
    free(v);
}

/* A digest of every provider group, api key and binding row (rev and
 * updated_at included), so any change at all shows. */
static char *rows_state(void)
{
    return pg_str("SELECT md5("
                  "coalesce((SELECT string_agg(g::text, '|' ORDER BY g.id) FROM provider_groups g), '')"
                  " || '#' || "
                  "coalesce((SELECT string_agg(k::text, '|' ORDER BY k.id) FROM api_keys k), '')"
                  " || '#' || "
                  "coalesce((SELECT string_agg(b::text, '|' ORDER BY b.id) FROM bindings b), ''))");
}

/* Sends a request that must be refused with status / type / param (param
 * NULL: not checked; "" : must be null) and checks no row changed. */
static void refused(struct ht_server *s, const char *method, const char *path, const char *body,
                    int status, const char *type, const char *param)
{
    char *before = rows_state();
    json_t *j = call(s, method, path, body, status);
    json_t *e = json_object_get(j, "error");
    ck_assert_msg(json_is_object(e), "%s %s: no error object", method, path);
    ck_assert_msg(str(e, "type") && strcmp(str(e, "type"), type) == 0,
                  "%s %s %.80s: error type %s, expected %s", method, path, body ? body : "",
                  str(e, "type"), type);
    ck_assert_msg(str(e, "message") && *str(e, "message"), "%s %s: empty message", method, path);
    if (param && !*param)
        ck_assert_msg(is_null(e, "param"), "%s %s: param %s, expected null", method, path,
                      str(e, "param"));
    else if (param)
        ck_assert_msg(str(e, "param") && strcmp(str(e, "param"), param) == 0,
                      "%s %s %.120s: param %s, expected %s", method, path, body ? body : "",
                      str(e, "param") ? str(e, "param") : "null", param);
    json_decref(j);
    char *after = rows_state();
    ck_assert_msg(strcmp(before, after) == 0, "%s %s %.120s was refused but changed rows",
                  method, path, body ? body : "");
    free(before);
    free(after);
}

static void bad(struct ht_server *s, const char *method, const char *path, const char *body,
                const char *param)
{
    refused(s, method, path, body, 400, "invalid_request_error", param);
}

/* Creates a group and returns its id. */
static long long new_group(struct ht_server *s, const char *body)
{
    json_t *g = call(s, "POST", "/admin/provider-groups", body, 201);
    long long id = num(g, "id");
    json_decref(g);
    return id;
}

static long long new_key(struct ht_server *s, long long group, const char *api_key)
{
    char *body = ht_strf("{\"group_id\": %lld, \"api_key\": \"%s\"}", group, api_key);
    json_t *k = call(s, "POST", "/admin/api-keys", body, 201);
    long long id = num(k, "id");
    json_decref(k);
    free(body);
    return id;
}

static void assert_models(json_t *obj, const char *const *want, size_t n)
{
    json_t *m = json_object_get(obj, "models");
    ck_assert_msg(json_is_array(m) && json_array_size(m) == n, "models has %zu entries, not %zu",
                  json_array_size(m), n);
    for (size_t i = 0; i < n; i++)
        ck_assert_str_eq(json_string_value(json_array_get(m, i)), want[i]);
}

/* ---- Provider groups ---------------------------------------------------- */

START_TEST(group_create_get_list_update_delete)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    json_t *g = call(&s, "POST", "/admin/provider-groups",
                     "{\"name\": \"Team.A_1\", \"type\": \"  OpenAI \", "
                     "\"base_url\": \"https://api.example.com/v1\", "
                     "\"google_project\": \"  proj-9 \", "
                     "\"models\": [\" gpt-4o \", \"gpt-4o\", \"o3\", \"gpt-4o  \", \"o3\"]}",
                     201);
    long long id = num(g, "id");
    ck_assert_str_eq(str(g, "name"), "Team.A_1");
    ck_assert_str_eq(str(g, "type"), "openai");
    ck_assert_str_eq(str(g, "base_url"), "https://api.example.com/v1");
    ck_assert_str_eq(str(g, "google_project"), "proj-9");
    ck_assert(is_null(g, "google_location"));
    ck_assert_str_eq(str(g, "status"), "active");
    const char *models[] = { "gpt-4o", "o3" };
    assert_models(g, models, 2);
    ck_assert(str(g, "created_at") && strlen(str(g, "created_at")) == 20);
    ck_assert(str(g, "updated_at") && str(g, "updated_at")[19] == 'Z');
    json_decref(g);

    char *sql = ht_strf("SELECT name || ' ' || type || ' ' || base_url || ' ' || google_project "
                        "|| ' ' || array_to_string(models, ',') || ' ' || status "
                        "FROM provider_groups WHERE id = %lld",
                        id);
    assert_pg(sql, "Team.A_1 openai https://api.example.com/v1 proj-9 gpt-4o,o3 active");
    free(sql);

    char *path = ht_strf("/admin/provider-groups/%lld", id);
    g = call(&s, "GET", path, NULL, 200);
    ck_assert_int_eq(num(g, "id"), id);
    assert_models(g, models, 2);
    json_decref(g);

    new_group(&s, "{\"name\": \"other\", \"type\": \"anthropic\", \"models\": [\"c\"], "
                  "\"status\": \"disabled\"}");
    json_t *l = call(&s, "GET", "/admin/provider-groups", NULL, 200);
    ck_assert_int_eq(json_array_size(json_object_get(l, "data")), 2);
    ck_assert(json_is_false(json_object_get(l, "has_more")));
    ck_assert(is_null(l, "next_cursor"));
    json_decref(l);
    l = call(&s, "GET", "/admin/provider-groups?type=ANTHROPIC", NULL, 200);
    ck_assert_int_eq(json_array_size(json_object_get(l, "data")), 1);
    ck_assert_str_eq(str(json_array_get(json_object_get(l, "data"), 0), "name"), "other");
    json_decref(l);
    l = call(&s, "GET", "/admin/provider-groups?status=active", NULL, 200);
    ck_assert_int_eq(json_array_size(json_object_get(l, "data")), 1);
    ck_assert_int_eq(num(json_array_get(json_object_get(l, "data"), 0), "id"), id);
    json_decref(l);
    l = call(&s, "GET", "/admin/provider-groups?limit=1", NULL, 200);
    ck_assert(json_is_true(json_object_get(l, "has_more")));
    char *next = ht_strf("/admin/provider-groups?limit=1&cursor=%s", str(l, "next_cursor"));
    json_decref(l);
    l = call(&s, "GET", next, NULL, 200);
    ck_assert_str_eq(str(json_array_get(json_object_get(l, "data"), 0), "name"), "other");
    ck_assert(json_is_false(json_object_get(l, "has_more")));
    json_decref(l);
    free(next);

    /* Partial update: omitted fields keep their value, null clears. */
    g = call(&s, "PUT", path,
             "{\"name\": \"team-b\", \"status\": \"disabled\", \"google_project\": null, "
             "\"models\": [\"m2\", \" m1\", \"m2\"]}", 200);
    ck_assert_str_eq(str(g, "name"), "team-b");
    ck_assert_str_eq(str(g, "status"), "disabled");
    ck_assert_str_eq(str(g, "type"), "openai");
    ck_assert_str_eq(str(g, "base_url"), "https://api.example.com/v1");
    ck_assert(is_null(g, "google_project"));
    const char *models2[] = { "m2", "m1" };
    assert_models(g, models2, 2);
    json_decref(g);
    sql =
        ht_strf("SELECT name || ' ' || status || ' ' || coalesce(google_project, 'NULL') || ' ' || "
                "array_to_string(models, ',') FROM provider_groups WHERE id = %lld",
                id);
    assert_pg(sql, "team-b disabled NULL m2,m1");
    free(sql);
    g = call(&s, "PUT", path, "{\"base_url\": null}", 200);
    ck_assert(is_null(g, "base_url"));
    ck_assert_str_eq(str(g, "name"), "team-b");
    json_decref(g);
    g = call(&s, "PUT", path, NULL, 200); /* an empty update changes nothing */
    ck_assert_str_eq(str(g, "name"), "team-b");
    json_decref(g);

    ck_assert_ptr_null(call(&s, "DELETE", path, NULL, 204));
    sql = ht_strf("SELECT count(*) FROM provider_groups WHERE id = %lld", id);
    ck_assert_int_eq(pg_count(sql), 0);
    free(sql);
    json_decref(call(&s, "GET", path, NULL, 404));
    free(path);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(google_location_defaults_to_global_for_vertex)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    json_t *g = call(&s, "POST", "/admin/provider-groups",
                     "{\"name\": \"v1\", \"type\": \"vertex\", \"models\": [\"gemini\"]}", 201);
    ck_assert_str_eq(str(g, "google_location"), "global");
    long long v1 = num(g, "id");
    json_decref(g);
    g = call(&s, "POST", "/admin/provider-groups",
             "{\"name\": \"v2\", \"type\": \"vertex-express\", \"google_location\": \"   \", "
             "\"google_project\": \"p\", \"models\": [\"gemini\"]}", 201);
    ck_assert_str_eq(str(g, "google_location"), "global");
    json_decref(g);
    g = call(&s, "POST", "/admin/provider-groups",
             "{\"name\": \"v3\", \"type\": \"vertex\", \"google_location\": \" us-central1 \", "
             "\"models\": [\"gemini\"]}", 201);
    ck_assert_str_eq(str(g, "google_location"), "us-central1");
    json_decref(g);
    g = call(&s, "POST", "/admin/provider-groups",
             "{\"name\": \"g1\", \"type\": \"gemini\", \"models\": [\"gemini\"]}", 201);
    ck_assert(is_null(g, "google_location"));
    long long g1 = num(g, "id");
    json_decref(g);
    assert_pg("SELECT string_agg(name || '=' || coalesce(google_location, 'NULL'), ',' ORDER BY id)"
              " FROM provider_groups", "v1=global,v2=global,v3=us-central1,g1=NULL");

    /* Becoming a Vertex group, or clearing the location of one, gives global. */
    char *path = ht_strf("/admin/provider-groups/%lld", g1);
    g = call(&s, "PUT", path, "{\"type\": \"Vertex-Express\"}", 200);
    ck_assert_str_eq(str(g, "type"), "vertex-express");
    ck_assert_str_eq(str(g, "google_location"), "global");
    json_decref(g);
    free(path);
    path = ht_strf("/admin/provider-groups/%lld", v1);
    g = call(&s, "PUT", path, "{\"google_location\": \"europe-west4\"}", 200);
    ck_assert_str_eq(str(g, "google_location"), "europe-west4");
    json_decref(g);
    g = call(&s, "PUT", path, "{\"google_location\": null}", 200);
    ck_assert_str_eq(str(g, "google_location"), "global");
    json_decref(g);
    free(path);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(compatible_needs_a_base_url)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    bad(&s, "POST", "/admin/provider-groups",
        "{\"name\": \"c\", \"type\": \"compatible\", \"models\": [\"m\"]}", "base_url");
    bad(&s, "POST", "/admin/provider-groups",
        "{\"name\": \"c\", \"type\": \"compatible\", \"base_url\": \"\", \"models\": [\"m\"]}",
        "base_url");
    long long id = new_group(&s, "{\"name\": \"c\", \"type\": \"openai\", \"models\": [\"m\"]}");
    char *path = ht_strf("/admin/provider-groups/%lld", id);
    bad(&s, "PUT", path, "{\"type\": \"compatible\"}", "base_url");
    json_t *g = call(&s, "PUT", path,
                     "{\"type\": \"compatible\", \"base_url\": \"http://10.0.0.5:8000/v1\"}", 200);
    ck_assert_str_eq(str(g, "type"), "compatible");
    ck_assert_str_eq(str(g, "base_url"), "http://10.0.0.5:8000/v1");
    json_decref(g);
    bad(&s, "PUT", path, "{\"base_url\": null}", "base_url");
    /* Other types may leave it empty: the data plane's default. */
    g = call(&s, "POST", "/admin/provider-groups",
             "{\"name\": \"e\", \"type\": \"claude\", \"base_url\": \"\", \"models\": [\"m\"]}",
             201);
    ck_assert_str_eq(str(g, "base_url"), "");
    json_decref(g);
    free(path);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(group_bad_input_changes_nothing)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    long long id = new_group(&s, "{\"name\": \"keep\", \"type\": \"openai\", \"models\": [\"m\"]}");
    new_group(&s, "{\"name\": \"taken\", \"type\": \"openai\", \"models\": [\"m\"]}");
    const char *P = "/admin/provider-groups";

    /* malformed, not an object */
    bad(&s, "POST", P, "{\"name\": \"x\", ", NULL);
    bad(&s, "POST", P, "[\"x\"]", NULL);
    /* unknown field */
    bad(&s, "POST", P, "{\"name\": \"x\", \"type\": \"openai\", \"models\": [\"m\"], \"api_key\": \"k\"}",
        "api_key");
    /* wrong types */
    bad(&s, "POST", P, "{\"name\": 7, \"type\": \"openai\", \"models\": [\"m\"]}", "name");
    bad(&s, "POST", P, "{\"name\": \"x\", \"type\": \"openai\", \"models\": \"m\"}", "models");
    bad(&s, "POST", P, "{\"name\": \"x\", \"type\": \"openai\", \"models\": [\"m\", 3]}", "models");
    bad(&s, "POST", P, "{\"name\": \"x\", \"type\": \"openai\", \"models\": [\"m\"], \"status\": true}",
        "status");
    /* missing required */
    bad(&s, "POST", P, "{\"type\": \"openai\", \"models\": [\"m\"]}", "name");
    bad(&s, "POST", P, "{\"name\": \"x\", \"models\": [\"m\"]}", "type");
    bad(&s, "POST", P, "{\"name\": \"x\", \"type\": \"openai\"}", "models");
    bad(&s, "POST", P, NULL, NULL);
    /* out of range: model list sizes, empty entries */
    bad(&s, "POST", P, "{\"name\": \"x\", \"type\": \"openai\", \"models\": []}", "models");
    bad(&s, "POST", P, "{\"name\": \"x\", \"type\": \"openai\", \"models\": [\"m\", \"  \"]}", "models");
    bad(&s, "POST", P, "{\"name\": \"x\", \"type\": \"openai\", \"models\": [\"a\\tb\"]}", "models");
    size_t cap = 1001 * 8 + 100, n = 0;
    char *big = malloc(cap);
    n += (size_t)snprintf(big + n, cap - n, "{\"name\": \"x\", \"type\": \"openai\", \"models\": [");
    for (int i = 0; i < 1001; i++)
        n += (size_t)snprintf(big + n, cap - n, "%s\"m%d\"", i ? "," : "", i);
    snprintf(big + n, cap - n, "]}");
    bad(&s, "POST", P, big, "models");
    free(big);
    /* too long: name 65, base_url 2049, a model name 257 */
    char name65[66];
    memset(name65, 'n', 65);
    name65[65] = 0;
    char *body = ht_strf("{\"name\": \"%s\", \"type\": \"openai\", \"models\": [\"m\"]}", name65);
    bad(&s, "POST", P, body, "name");
    free(body);
    char url[2050] = "https://h.example/";
    memset(url + 18, 'p', sizeof url - 19);
    url[2049] = 0;
    body = ht_strf(
        "{\"name\": \"x\", \"type\": \"openai\", \"base_url\": \"%s\", \"models\": [\"m\"]}", url);
    bad(&s, "POST", P, body, "base_url");
    free(body);
    url[2048] = 0; /* 2048 bytes is fine */
    body = ht_strf(
        "{\"name\": \"long-url\", \"type\": \"openai\", \"base_url\": \"%s\", \"models\": [\"m\"]}",
        url);
    json_decref(call(&s, "POST", P, body, 201));
    free(body);
    char model257[258];
    memset(model257, 'm', 257);
    model257[257] = 0;
    body = ht_strf("{\"name\": \"x\", \"type\": \"openai\", \"models\": [\"%s\"]}", model257);
    bad(&s, "POST", P, body, "models");
    free(body);
    /* NUL bytes */
    bad(&s, "POST", P, "{\"name\": \"x\\u0000\", \"type\": \"openai\", \"models\": [\"m\"]}", NULL);
    bad(&s, "POST", P, "{\"name\": \"x\", \"type\": \"openai\", \"models\": [\"a\\u0000b\"]}", NULL);
    /* invalid URLs and patterns */
    const char *urls[] = { "api.openai.com/v1", "ftp://h/", "https://", "https:// h/",
                           "https://user:pw@h/v1", "https://h:0/", "https://h:99999/",
                           "https://h/v1#frag", "javascript:alert(1)" };
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        body = ht_strf(
            "{\"name\": \"x\", \"type\": \"openai\", \"base_url\": \"%s\", \"models\": [\"m\"]}",
            urls[i]);
        bad(&s, "POST", P, body, "base_url");
        free(body);
    }
    bad(&s, "POST", P, "{\"name\": \"-x\", \"type\": \"openai\", \"models\": [\"m\"]}", "name");
    bad(&s, "POST", P, "{\"name\": \"a b\", \"type\": \"openai\", \"models\": [\"m\"]}", "name");
    bad(&s, "POST", P, "{\"name\": \"a/b\", \"type\": \"openai\", \"models\": [\"m\"]}", "name");
    /* unknown enum values */
    bad(&s, "POST", P, "{\"name\": \"x\", \"type\": \"azure\", \"models\": [\"m\"]}", "type");
    bad(&s, "POST", P, "{\"name\": \"x\", \"type\": \"openai\", \"models\": [\"m\"], \"status\": \"paused\"}",
        "status");
    bad(&s, "GET", "/admin/provider-groups?status=paused", NULL, "status");
    bad(&s, "GET", "/admin/provider-groups?type=azure", NULL, "type");
    bad(&s, "GET", "/admin/provider-groups?limit=0", NULL, "limit");
    bad(&s, "GET", "/admin/provider-groups?cursor=zzz", NULL, "cursor");
    /* 409 name taken, on create and on rename */
    refused(&s, "POST", P, "{\"name\": \"taken\", \"type\": \"gemini\", \"models\": [\"m\"]}", 409,
            "conflict_error", "name");
    char *path = ht_strf("/admin/provider-groups/%lld", id);
    refused(&s, "PUT", path, "{\"name\": \"taken\"}", 409, "conflict_error", "name");
    /* updates: null where not nullable, unknown fields, bad values */
    bad(&s, "PUT", path, "{\"name\": null}", "name");
    bad(&s, "PUT", path, "{\"models\": null}", "models");
    bad(&s, "PUT", path, "{\"type\": null}", "type");
    bad(&s, "PUT", path, "{\"id\": 5}", "id");
    bad(&s, "PUT", path, "{\"status\": \"gone\"}", "status");
    bad(&s, "PUT", path, "{\"base_url\": \"gopher://h\"}", "base_url");
    /* non-numeric ids, 404 */
    bad(&s, "GET", "/admin/provider-groups/abc", NULL, "id");
    bad(&s, "PUT", "/admin/provider-groups/1x", "{}", "id");
    bad(&s, "DELETE", "/admin/provider-groups/-1", NULL, "id");
    refused(&s, "GET", "/admin/provider-groups/999999", NULL, 404, "not_found_error", NULL);
    refused(&s, "PUT", "/admin/provider-groups/999999", "{\"status\": \"disabled\"}", 404,
            "not_found_error", NULL);
    refused(&s, "DELETE", "/admin/provider-groups/999999", NULL, 404, "not_found_error", NULL);
    /* the group is as it was */
    json_t *g = call(&s, "GET", path, NULL, 200);
    ck_assert_str_eq(str(g, "name"), "keep");
    json_decref(g);
    free(path);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(deleting_a_referenced_group_needs_cascade)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    long long id = new_group(&s, "{\"name\": \"busy\", \"type\": \"openai\", \"models\": [\"m\"]}");
    long long other = new_group(&s, "{\"name\": \"idle\", \"type\": \"openai\", \"models\": [\"m\"]}");
    new_key(&s, id, "sk-busy-key-number-one-0001");
    new_key(&s, id, "sk-busy-key-number-two-0002");
    long long kept = new_key(&s, other, "sk-idle-key-number-one-0003");
    json_decref(call(&s, "POST", "/admin/namespaces", "{\"name\": \"ns1\"}", 201));
    PGconn *c = ht_pg();
    char *sql = ht_strf("INSERT INTO bindings (namespace, public_model, group_id, selector_value) "
                        "VALUES ('ns1', 'gpt', %lld, 'm')",
                        id);
    PGresult *r = PQexec(c, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    free(sql);

    char *path = ht_strf("/admin/provider-groups/%lld", id);
    char *before = rows_state();
    struct ht_resp resp;
    ck_assert_int_eq(ht_http(s.port, "DELETE", path, ht_auth(&s, "admin"), NULL, 0, &resp), 409);
    json_t *j = ht_resp_json(&resp);
    json_t *e = json_object_get(j, "error");
    ck_assert_str_eq(str(e, "type"), "conflict_error");
    ck_assert_msg(strstr(str(e, "message"), "2 api keys") && strstr(str(e, "message"), "1 binding"),
                  "message does not say how many: %s", str(e, "message"));
    json_decref(j);
    ht_resp_free(&resp);
    char *after = rows_state();
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
    char *mpath = ht_strf("%s?cascade=maybe", path);
    bad(&s, "DELETE", mpath, NULL, "cascade");
    free(mpath);
    refused(&s, "DELETE", path, NULL, 409, "conflict_error", NULL);

    char *cpath = ht_strf("%s?cascade=true", path);
    ck_assert_ptr_null(call(&s, "DELETE", cpath, NULL, 204));
    free(cpath);
    sql = ht_strf("SELECT (SELECT count(*) FROM provider_groups WHERE id = %lld) + "
                  "(SELECT count(*) FROM api_keys WHERE group_id = %lld) + "
                  "(SELECT count(*) FROM bindings WHERE group_id = %lld)",
                  id, id, id);
    ck_assert_int_eq(pg_count(sql), 0);
    free(sql);
    sql = ht_strf("SELECT count(*) FROM api_keys WHERE id = %lld", kept);
    ck_assert_int_eq(pg_count(sql), 1);
    free(sql);
    /* A group without keys or bindings goes without cascade. */
    char *opath = ht_strf("/admin/provider-groups/%lld", other);
    refused(&s, "DELETE", opath, NULL, 409, "conflict_error", NULL);
    char *kpath = ht_strf("/admin/api-keys/%lld", kept);
    ck_assert_ptr_null(call(&s, "DELETE", kpath, NULL, 204));
    ck_assert_ptr_null(call(&s, "DELETE", opath, NULL, 204));
    ck_assert_int_eq(pg_count("SELECT count(*) FROM provider_groups"), 0);
    free(kpath);
    free(opath);
    free(path);
    ht_assert_clean_stop(&s);
}
END_TEST

/* ---- API keys ----------------------------------------------------------- */

START_TEST(api_key_crud_sealed_at_rest)
{
    struct ht_server s;
    ht_server_start(&s, SECRETS_KEY_CONF);
    long long gid = new_group(&s, "{\"name\": \"pg1\", \"type\": \"openai\", \"models\": [\"m\"]}");
    const char *clear = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz-0123456789";
    char *body = ht_strf("{\"group_id\": %lld, \"api_key\": \"%s\", \"weight\": 7, "
                         "\"ban_reason\": \"quota\", \"ban_until\": \"2031-03-04T05:06:07+02:00\", "
                         "\"auto_ban\": false, \"status\": \"manual_disabled\"}",
                         gid, clear);
    json_t *k = call(&s, "POST", "/admin/api-keys", body, 201);
    free(body);
    long long id = num(k, "id");
    ck_assert_int_eq(num(k, "group_id"), gid);
    ck_assert_str_eq(str(k, "group"), "pg1");
    ck_assert_str_eq(str(k, "api_key"), "sk-p...6789");
    ck_assert_int_eq(num(k, "weight"), 7);
    ck_assert_str_eq(str(k, "status"), "manual_disabled");
    ck_assert(json_is_false(json_object_get(k, "auto_ban")));
    ck_assert_str_eq(str(k, "ban_reason"), "quota");
    ck_assert_str_eq(str(k, "ban_until"), "2031-03-04T03:06:07Z");
    json_decref(k);

    /* At rest: enc:v1: and base64, never the clear key or a piece of it. */
    char *sql = ht_strf("SELECT api_key FROM api_keys WHERE id = %lld", id);
    char *stored = pg_str(sql);
    ck_assert_msg(stored && strncmp(stored, "enc:v1:", 7) == 0, "stored: %s", stored);
    ck_assert_ptr_null(strstr(stored, "AbCdEfGh"));
    ck_assert_uint_eq(strlen(stored), 7 + 4 * ((12 + strlen(clear) + 16 + 2) / 3));
    free(sql);
    /* The data plane gets it in clear: the syncer opens the sealed value. */
    char field[24], *want = ht_strf("\"api_key\":\"%s\"", clear);
    snprintf(field, sizeof field, "%lld", id);
    char *snap = NULL;
    HT_EVENTUALLY((free(snap), snap = ht_redis_hget("config:providers", field)) &&
                     strstr(snap, want),
                 10000, "config:providers[%s] does not hold the clear key: %s", field,
                 snap ? snap : "(absent)");
    free(snap);
    snap = NULL;
    free(want);

    /* Defaults. */
    body = ht_strf("{\"group_id\": %lld, \"api_key\": \"sk-second-key-000000000042\"}", gid);
    k = call(&s, "POST", "/admin/api-keys", body, 201);
    free(body);
    ck_assert_int_eq(num(k, "weight"), 1);
    ck_assert_str_eq(str(k, "status"), "active");
    ck_assert(json_is_true(json_object_get(k, "auto_ban")));
    ck_assert(is_null(k, "ban_reason"));
    ck_assert(is_null(k, "ban_until"));
    ck_assert_str_eq(str(k, "api_key"), "sk-s...0042");
    json_decref(k);

    char *path = ht_strf("/admin/api-keys/%lld", id);
    k = call(&s, "GET", path, NULL, 200);
    ck_assert_str_eq(str(k, "api_key"), "sk-p...6789");
    ck_assert_str_eq(str(k, "ban_until"), "2031-03-04T03:06:07Z");
    json_decref(k);

    /* Partial update, null clears the ban. */
    k = call(&s, "PUT", path, "{\"ban_until\": null, \"ban_reason\": null, \"weight\": 0, "
                              "\"status\": \"auto_disabled\"}", 200);
    ck_assert(is_null(k, "ban_until"));
    ck_assert(is_null(k, "ban_reason"));
    ck_assert_int_eq(num(k, "weight"), 0);
    ck_assert_str_eq(str(k, "status"), "auto_disabled");
    ck_assert(json_is_false(json_object_get(k, "auto_ban")));
    ck_assert_str_eq(str(k, "api_key"), "sk-p...6789");
    json_decref(k);
    sql = ht_strf("SELECT weight || ' ' || status || ' ' || auto_ban || ' ' || "
                  "coalesce(ban_reason, 'NULL') || ' ' || coalesce(ban_until::text, 'NULL') "
                  "FROM api_keys WHERE id = %lld",
                  id);
    assert_pg(sql, "0 auto_disabled false NULL NULL");
    free(sql);

    /* A new credential: sealed again, a fresh value. */
    k = call(&s, "PUT", path, "{\"api_key\": \"sk-rotated-credential-zz99\"}", 200);
    ck_assert_str_eq(str(k, "api_key"), "sk-r...zz99");
    json_decref(k);
    sql = ht_strf("SELECT api_key FROM api_keys WHERE id = %lld", id);
    char *restored = pg_str(sql);
    ck_assert(strncmp(restored, "enc:v1:", 7) == 0);
    ck_assert_str_ne(restored, stored);
    ck_assert_ptr_null(strstr(restored, "rotated"));
    free(restored);
    free(stored);
    free(sql);

    ck_assert_ptr_null(call(&s, "DELETE", path, NULL, 204));
    json_decref(call(&s, "GET", path, NULL, 404));
    ck_assert_int_eq(pg_count("SELECT count(*) FROM api_keys"), 1);
    HT_EVENTUALLY((free(snap), snap = ht_redis_hget("config:providers", field)) == NULL, 10000,
                 "config:providers[%s] outlived its key", field);
    free(snap);
    free(path);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(api_key_stored_clear_without_secrets_key)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    long long gid = new_group(&s, "{\"name\": \"pg1\", \"type\": \"openai\", \"models\": [\"m\"]}");
    long long id = new_key(&s, gid, "sk-clear-at-rest-1234abcd");
    char *sql = ht_strf("SELECT api_key FROM api_keys WHERE id = %lld", id);
    assert_pg(sql, "sk-clear-at-rest-1234abcd");
    free(sql);
    char *path = ht_strf("/admin/api-keys/%lld", id);
    json_t *k = call(&s, "GET", path, NULL, 200);
    ck_assert_str_eq(str(k, "api_key"), "sk-c...abcd");
    json_decref(k);
    /* Short keys are never shown, not even in part. */
    id = new_key(&s, gid, "short-key1");
    free(path);
    path = ht_strf("/admin/api-keys/%lld", id);
    k = call(&s, "GET", path, NULL, 200);
    ck_assert_str_eq(str(k, "api_key"), "****");
    json_decref(k);
    free(path);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(api_key_list_filters_and_pages)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    long long a = new_group(&s, "{\"name\": \"a\", \"type\": \"openai\", \"models\": [\"m\"]}");
    long long b = new_group(&s, "{\"name\": \"b\", \"type\": \"openai\", \"models\": [\"m\"]}");
    long long k1 = new_key(&s, a, "sk-aaaa-0000000000000001");
    long long k2 = new_key(&s, a, "sk-aaaa-0000000000000002");
    long long k3 = new_key(&s, b, "sk-bbbb-0000000000000003");
    char *p = ht_strf("/admin/api-keys/%lld", k2);
    json_decref(call(&s, "PUT", p, "{\"status\": \"manual_disabled\"}", 200));
    free(p);

    p = ht_strf("/admin/api-keys?group_id=%lld", a);
    json_t *l = call(&s, "GET", p, NULL, 200);
    json_t *d = json_object_get(l, "data");
    ck_assert_int_eq(json_array_size(d), 2);
    ck_assert_int_eq(num(json_array_get(d, 0), "id"), k1);
    ck_assert_int_eq(num(json_array_get(d, 1), "id"), k2);
    ck_assert_str_eq(str(json_array_get(d, 0), "api_key"), "sk-a...0001");
    json_decref(l);
    free(p);
    p = ht_strf("/admin/api-keys?group_id=%lld&status=active", a);
    l = call(&s, "GET", p, NULL, 200);
    ck_assert_int_eq(json_array_size(json_object_get(l, "data")), 1);
    json_decref(l);
    free(p);
    l = call(&s, "GET", "/admin/api-keys?status=manual_disabled", NULL, 200);
    ck_assert_int_eq(json_array_size(json_object_get(l, "data")), 1);
    ck_assert_int_eq(num(json_array_get(json_object_get(l, "data"), 0), "id"), k2);
    json_decref(l);

    l = call(&s, "GET", "/admin/api-keys?limit=2", NULL, 200);
    ck_assert_int_eq(json_array_size(json_object_get(l, "data")), 2);
    ck_assert(json_is_true(json_object_get(l, "has_more")));
    p = ht_strf("/admin/api-keys?limit=2&cursor=%s", str(l, "next_cursor"));
    json_decref(l);
    l = call(&s, "GET", p, NULL, 200);
    d = json_object_get(l, "data");
    ck_assert_int_eq(json_array_size(d), 1);
    ck_assert_int_eq(num(json_array_get(d, 0), "id"), k3);
    ck_assert_str_eq(str(json_array_get(d, 0), "group"), "b");
    ck_assert(json_is_false(json_object_get(l, "has_more")));
    json_decref(l);
    free(p);
    /* A key shows the group's current name. */
    p = ht_strf("/admin/provider-groups/%lld", b);
    json_decref(call(&s, "PUT", p, "{\"name\": \"b2\"}", 200));
    free(p);
    p = ht_strf("/admin/api-keys/%lld", k3);
    json_t *k = call(&s, "GET", p, NULL, 200);
    ck_assert_str_eq(str(k, "group"), "b2");
    json_decref(k);
    free(p);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(api_key_bad_input_changes_nothing)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    long long gid = new_group(&s, "{\"name\": \"pg\", \"type\": \"openai\", \"models\": [\"m\"]}");
    long long other = new_group(&s, "{\"name\": \"pg2\", \"type\": \"openai\", \"models\": [\"m\"]}");
    long long id = new_key(&s, gid, "sk-existing-key-00000001");
    const char *P = "/admin/api-keys";
    char *body;
#define KEYBODY(extra)                                                                             \
    ht_strf("{\"group_id\": %lld, \"api_key\": \"sk-new-key-000000001\"%s}", gid, extra)
    bad(&s, "POST", P, "{\"group_id\": ", NULL);
    bad(&s, "POST", P, "\"text\"", NULL);
    bad(&s, "POST", P, "{\"api_key\": \"sk-new-key-000000001\"}", "group_id");
    bad(&s, "POST", P, "{\"group_id\": \"1\", \"api_key\": \"sk-new-key-000000001\"}", "group_id");
    bad(&s, "POST", P, "{\"group_id\": 0, \"api_key\": \"sk-new-key-000000001\"}", "group_id");
    body = ht_strf("{\"group_id\": %lld}", gid);
    bad(&s, "POST", P, body, "api_key");
    free(body);
    body = ht_strf("{\"group_id\": %lld, \"api_key\": \"\"}", gid);
    bad(&s, "POST", P, body, "api_key");
    free(body);
    body = ht_strf("{\"group_id\": %lld, \"api_key\": 12345}", gid);
    bad(&s, "POST", P, body, "api_key");
    free(body);
    body = ht_strf("{\"group_id\": %lld, \"api_key\": \"enc:v1:AAAA\"}", gid);
    bad(&s, "POST", P, body, "api_key");
    free(body);
    body = ht_strf("{\"group_id\": %lld, \"api_key\": \"sk-\\u0000-nul-in-key\"}", gid);
    bad(&s, "POST", P, body, NULL);
    free(body);
    char *huge = malloc(4098);
    memset(huge, 'k', 4097);
    huge[4097] = 0;
    body = ht_strf("{\"group_id\": %lld, \"api_key\": \"%s\"}", gid, huge);
    bad(&s, "POST", P, body, "api_key");
    free(body);
    free(huge);
    const struct { const char *extra, *param; } cases[] = {
        { ", \"weight\": -1", "weight" },
        { ", \"weight\": 1001", "weight" },
        { ", \"weight\": 1.5", "weight" },
        { ", \"weight\": \"3\"", "weight" },
        { ", \"status\": \"banned\"", "status" },
        { ", \"auto_ban\": \"yes\"", "auto_ban" },
        { ", \"ban_until\": \"tomorrow\"", "ban_until" },
        { ", \"ban_until\": \"2030-02-30T00:00:00Z\"", "ban_until" },
        { ", \"ban_until\": \"2030-01-01 00:00:00\"", "ban_until" },
        { ", \"ban_until\": \"2030-01-01T00:00:00\"", "ban_until" },
        { ", \"ban_until\": 1893456000", "ban_until" },
        { ", \"ban_reason\": 5", "ban_reason" },
        { ", \"group\": \"pg\"", "group" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        body = KEYBODY(cases[i].extra);
        bad(&s, "POST", P, body, cases[i].param);
        free(body);
    }
    char reason[1100] = ", \"ban_reason\": \"";
    size_t rl = strlen(reason);
    memset(reason + rl, 'r', 1025);
    strcpy(reason + rl + 1025, "\"");
    body = KEYBODY(reason);
    bad(&s, "POST", P, body, "ban_reason");
    free(body);
    /* 422: a group that does not exist */
    refused(&s, "POST", P, "{\"group_id\": 999999, \"api_key\": \"sk-new-key-000000001\"}", 422,
            "invalid_request_error", "group_id");
    /* updates */
    char *path = ht_strf("/admin/api-keys/%lld", id);
    body = ht_strf("{\"group_id\": %lld}", other);
    bad(&s, "PUT", path, body, "group_id");
    free(body);
    bad(&s, "PUT", path, "{\"api_key\": null}", "api_key");
    bad(&s, "PUT", path, "{\"weight\": null}", "weight");
    bad(&s, "PUT", path, "{\"status\": \"active\", \"ban_until\": \"2030-13-01T00:00:00Z\"}",
        "ban_until");
    bad(&s, "PUT", "/admin/api-keys/x1", "{}", "id");
    bad(&s, "GET", "/admin/api-keys/0", NULL, "id");
    refused(&s, "PUT", "/admin/api-keys/999999", "{\"weight\": 2}", 404, "not_found_error", NULL);
    refused(&s, "DELETE", "/admin/api-keys/999999", NULL, 404, "not_found_error", NULL);
    refused(&s, "GET", "/admin/api-keys/999999", NULL, 404, "not_found_error", NULL);
    bad(&s, "GET", "/admin/api-keys?group_id=abc", NULL, "group_id");
    bad(&s, "GET", "/admin/api-keys?status=banned", NULL, "status");
#undef KEYBODY
    ck_assert_int_eq(pg_count("SELECT count(*) FROM api_keys"), 1);
    free(path);
    ht_assert_clean_stop(&s);
}
END_TEST

/* ---- Preset and custom -------------------------------------------------- */

START_TEST(presets_fill_the_official_defaults)
{
    struct ht_server s;
    ht_server_start(&s, SECRETS_KEY_CONF);
    const struct {
        const char *preset, *base_url, *models[3];
        size_t nmodels;
    } want[] = {
        { "openai", "https://api.openai.com/v1", { "gpt-4o", "gpt-4o-mini", "o3-mini" }, 3 },
        { "anthropic", "https://api.anthropic.com", { "claude-sonnet-4-5", "claude-haiku-4-5" }, 2 },
        { "gemini", "https://generativelanguage.googleapis.com",
          { "gemini-2.5-pro", "gemini-2.5-flash" }, 2 },
    };
    for (size_t i = 0; i < 3; i++) {
        char *body = ht_strf("{\"preset\": \"%s\", \"api_key\": \"sk-preset-key-%zu-abcdefgh\"}",
                             want[i].preset, i);
        json_t *j = call(&s, "POST", "/admin/providers/preset", body, 201);
        free(body);
        json_t *g = json_object_get(j, "group"), *k = json_object_get(j, "api_key");
        ck_assert_str_eq(str(g, "name"), want[i].preset);
        ck_assert_str_eq(str(g, "type"), want[i].preset);
        ck_assert_str_eq(str(g, "base_url"), want[i].base_url);
        ck_assert_str_eq(str(g, "status"), "active");
        assert_models(g, want[i].models, want[i].nmodels);
        ck_assert_int_eq(num(k, "group_id"), num(g, "id"));
        ck_assert_str_eq(str(k, "group"), want[i].preset);
        ck_assert_int_eq(num(k, "weight"), 1);
        ck_assert_str_eq(str(k, "status"), "active");
        ck_assert_str_eq(str(k, "api_key"), "sk-p...efgh");
        char *sql = ht_strf("SELECT g.type || ' ' || g.base_url || ' ' || "
                            "(k.api_key LIKE 'enc:v1:%%') FROM provider_groups g "
                            "JOIN api_keys k ON k.group_id = g.id WHERE g.name = '%s'",
                            want[i].preset);
        char *expect = ht_strf("%s %s true", want[i].preset, want[i].base_url);
        assert_pg(sql, expect);
        free(sql);
        free(expect);
        json_decref(j);
    }
    /* Overrides: name, models (cleaned), weight. */
    json_t *j = call(&s, "POST", "/admin/providers/preset",
                     "{\"preset\": \"openai\", \"api_key\": \"sk-second-openai-account-1\", "
                     "\"name\": \"openai-2\", \"models\": [\" gpt-4.1 \", \"gpt-4.1\"], "
                     "\"weight\": 5}", 201);
    json_t *g = json_object_get(j, "group");
    ck_assert_str_eq(str(g, "name"), "openai-2");
    ck_assert_str_eq(str(g, "base_url"), "https://api.openai.com/v1");
    const char *m[] = { "gpt-4.1" };
    assert_models(g, m, 1);
    ck_assert_int_eq(num(json_object_get(j, "api_key"), "weight"), 5);
    json_decref(j);

    /* The name is taken: 409 naming it, and neither group nor key is made. */
    struct ht_resp r;
    char *before = rows_state();
    ck_assert_int_eq(ht_http(s.port, "POST", "/admin/providers/preset", ht_auth(&s, "admin"),
                            "{\"preset\": \"anthropic\", \"api_key\": \"sk-again-0000000001\"}",
                            strlen("{\"preset\": \"anthropic\", \"api_key\": \"sk-again-0000000001\"}"),
                            &r), 409);
    j = ht_resp_json(&r);
    ck_assert_str_eq(str(json_object_get(j, "error"), "type"), "conflict_error");
    ck_assert_ptr_nonnull(strstr(str(json_object_get(j, "error"), "message"), "anthropic"));
    json_decref(j);
    ht_resp_free(&r);
    char *after = rows_state();
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
    ck_assert_int_eq(pg_count("SELECT count(*) FROM api_keys"), 4);

    const char *P = "/admin/providers/preset";
    bad(&s, "POST", P, "{\"api_key\": \"sk-0000000000001\"}", "preset");
    bad(&s, "POST", P, "{\"preset\": \"azure\", \"api_key\": \"sk-0000000000001\"}", "preset");
    bad(&s, "POST", P, "{\"preset\": \"openai\"}", "api_key");
    bad(&s, "POST", P, "{\"preset\": \"openai\", \"api_key\": \"sk-0000000000001\", \"name\": \"a b\"}",
        "name");
    bad(&s, "POST", P, "{\"preset\": \"openai\", \"api_key\": \"sk-0000000000001\", \"name\": \"n2\", "
                       "\"weight\": 2000}", "weight");
    bad(&s, "POST", P, "{\"preset\": \"openai\", \"api_key\": \"sk-0000000000001\", \"name\": \"n2\", "
                       "\"models\": []}", "models");
    bad(&s, "POST", P, "{\"preset\": \"openai\", \"api_key\": \"sk-0000000000001\", \"name\": \"n2\", "
                       "\"base_url\": \"https://proxy\"}", "base_url");
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(custom_provider_is_compatible_and_needs_base_url)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    json_t *j = call(&s, "POST", "/admin/providers/custom",
                     "{\"name\": \"local-llm\", \"base_url\": \"http://127.0.0.1:11434/v1\", "
                     "\"api_key\": \"ollama-local-key-42\", \"models\": [\"llama3\", \"qwen\"], "
                     "\"weight\": 3}", 201);
    json_t *g = json_object_get(j, "group"), *k = json_object_get(j, "api_key");
    ck_assert_str_eq(str(g, "type"), "compatible");
    ck_assert_str_eq(str(g, "base_url"), "http://127.0.0.1:11434/v1");
    ck_assert_str_eq(str(k, "api_key"), "olla...y-42");
    ck_assert_int_eq(num(k, "weight"), 3);
    json_decref(j);
    assert_pg("SELECT g.name || ' ' || g.type || ' ' || k.api_key || ' ' || k.weight "
              "FROM provider_groups g JOIN api_keys k ON k.group_id = g.id",
              "local-llm compatible ollama-local-key-42 3");

    const char *P = "/admin/providers/custom";
    bad(&s, "POST", P, "{\"name\": \"c2\", \"api_key\": \"k-0000000000001\", \"models\": [\"m\"]}",
        "base_url");
    bad(&s, "POST", P, "{\"name\": \"c2\", \"base_url\": null, \"api_key\": \"k-0000000000001\", "
                       "\"models\": [\"m\"]}", "base_url");
    bad(&s, "POST", P, "{\"name\": \"c2\", \"base_url\": \"\", \"api_key\": \"k-0000000000001\", "
                       "\"models\": [\"m\"]}", "base_url");
    bad(&s, "POST", P, "{\"name\": \"c2\", \"base_url\": \"localhost:8000\", "
                       "\"api_key\": \"k-0000000000001\", \"models\": [\"m\"]}", "base_url");
    bad(&s, "POST", P, "{\"base_url\": \"http://h\", \"api_key\": \"k-0000000000001\", "
                       "\"models\": [\"m\"]}", "name");
    bad(&s, "POST", P, "{\"name\": \"c2\", \"base_url\": \"http://h\", "
                       "\"api_key\": \"k-0000000000001\"}", "models");
    bad(&s, "POST", P, "{\"name\": \"c2\", \"base_url\": \"http://h\", \"models\": [\"m\"]}",
        "api_key");
    bad(&s, "POST", P, "{\"name\": \"c2\", \"base_url\": \"http://h\", \"api_key\": \"k-0000000000001\", "
                       "\"models\": [\"m\"], \"type\": \"openai\"}", "type");
    refused(&s, "POST", P, "{\"name\": \"local-llm\", \"base_url\": \"http://h\", "
                           "\"api_key\": \"k-0000000000001\", \"models\": [\"m\"]}",
            409, "conflict_error", "name");
    ck_assert_int_eq(pg_count("SELECT count(*) FROM provider_groups"), 1);
    ht_assert_clean_stop(&s);
}
END_TEST

/* ---- Secrets never leak ------------------------------------------------- */

START_TEST(masked_key_everywhere_including_audit)
{
    struct ht_server s;
    ht_server_start(&s, SECRETS_KEY_CONF);
    const char *secrets[] = { "sk-leak-check-first-KEY-7777", "sk-leak-check-preset-KEY-8888",
                              "sk-leak-check-custom-KEY-9999", "sk-leak-check-rotated-KEY-6666" };
    long long gid = new_group(&s, "{\"name\": \"pg\", \"type\": \"openai\", \"models\": [\"m\"]}");
    long long id = new_key(&s, gid, secrets[0]);
    char *body = ht_strf("{\"preset\": \"openai\", \"api_key\": \"%s\"}", secrets[1]);
    json_decref(call(&s, "POST", "/admin/providers/preset", body, 201));
    free(body);
    body = ht_strf(
        "{\"name\": \"cu\", \"base_url\": \"https://llm.internal/v1\", \"api_key\": \"%s\", "
        "\"models\": [\"m\"]}",
        secrets[2]);
    json_decref(call(&s, "POST", "/admin/providers/custom", body, 201));
    free(body);
    char *path = ht_strf("/admin/api-keys/%lld", id);
    body = ht_strf("{\"api_key\": \"%s\"}", secrets[3]);
    json_t *k = call(&s, "PUT", path, body, 200);
    ck_assert_str_eq(str(k, "api_key"), "sk-l...6666");
    json_decref(k);
    free(body);
    ck_assert_ptr_null(call(&s, "DELETE", path, NULL, 204));
    free(path);
    path = ht_strf("/admin/provider-groups/%lld?cascade=true", gid);
    ck_assert_ptr_null(call(&s, "DELETE", path, NULL, 204));
    free(path);

    /* Every answer of a list is masked too. */
    struct ht_resp r;
    ck_assert_int_eq(ht_get(s.port, "/admin/api-keys", ht_auth(&s, "admin"), &r), 200);
    for (int i = 0; i < 4; i++)
        ck_assert_msg(!strstr(r.body, secrets[i]), "list shows key %d", i);
    ck_assert_ptr_nonnull(strstr(r.body, "sk-l...8888"));
    ht_resp_free(&r);

    HT_EVENTUALLY(ht_pg_count("SELECT count(*) FROM audit_records WHERE action IN "
                            "('api_key.create', 'api_key.update', 'api_key.delete', "
                            "'provider_group.create', 'provider_group.delete')") == 7,
                 15000, "the 7 audit records were not written");
    for (int i = 0; i < 4; i++) {
        char *sql =
            ht_strf("SELECT count(*) FROM audit_records WHERE strpos(changes::text, '%s') > 0 "
                    "OR strpos(changes::text, 'enc:v1:') > 0 OR strpos(path, '%s') > 0",
                    secrets[i], secrets[i]);
        ck_assert_msg(pg_count(sql) == 0, "an audit record holds key %d", i);
        free(sql);
        ck_assert_msg(!ht_server_log_contains(&s, secrets[i]), "the log holds key %d", i);
    }
    assert_pg("SELECT changes->'before'->>'api_key' || ' ' || (changes->'after'->>'api_key') "
              "FROM audit_records WHERE action = 'api_key.update'", "sk-l...7777 sk-l...6666");
    assert_pg("SELECT changes->'after'->'api_key'->>'api_key' FROM audit_records "
              "WHERE action = 'provider_group.create' "
              "AND changes->'after'->'group'->>'name' = 'openai'", "sk-l...8888");
    assert_pg("SELECT resource || ' ' || (resource_id = (changes->'before'->>'id')) "
              "FROM audit_records WHERE action = 'api_key.delete'", "api_key true");
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(viewer_reads_but_cannot_write)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    long long gid = new_group(&s, "{\"name\": \"pg\", \"type\": \"openai\", \"models\": [\"m\"]}");
    json_decref(call_as(&s, "viewer", "GET", "/admin/provider-groups", NULL, 200));
    json_decref(call_as(&s, "viewer", "GET", "/admin/api-keys", NULL, 200));
    char *before = rows_state();
    char *body = ht_strf("{\"group_id\": %lld, \"api_key\": \"sk-viewer-0000000001\"}", gid);
    json_decref(call_as(&s, "viewer", "POST", "/admin/api-keys", body, 403));
    free(body);
    json_decref(call_as(&s, "viewer", "POST", "/admin/providers/preset",
                        "{\"preset\": \"openai\", \"api_key\": \"sk-viewer-0000000001\"}", 403));
    char *path = ht_strf("/admin/provider-groups/%lld?cascade=true", gid);
    json_decref(call_as(&s, "viewer", "DELETE", path, NULL, 403));
    free(path);
    char *after = rows_state();
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
    ht_assert_clean_stop(&s);
}
END_TEST

static Suite *providers_suite(void)
{
    Suite *s = suite_create("providers");
    TCase *tc = ht_tcase("provider_groups");
    tcase_add_test(tc, group_create_get_list_update_delete);
    tcase_add_test(tc, google_location_defaults_to_global_for_vertex);
    tcase_add_test(tc, compatible_needs_a_base_url);
    tcase_add_test(tc, group_bad_input_changes_nothing);
    tcase_add_test(tc, deleting_a_referenced_group_needs_cascade);
    suite_add_tcase(s, tc);

    tc = ht_tcase("api_keys");
    tcase_add_test(tc, api_key_crud_sealed_at_rest);
    tcase_add_test(tc, api_key_stored_clear_without_secrets_key);
    tcase_add_test(tc, api_key_list_filters_and_pages);
    tcase_add_test(tc, api_key_bad_input_changes_nothing);
    suite_add_tcase(s, tc);

    tc = ht_tcase("preset_custom");
    tcase_add_test(tc, presets_fill_the_official_defaults);
    tcase_add_test(tc, custom_provider_is_compatible_and_needs_base_url);
    suite_add_tcase(s, tc);

    tc = ht_tcase("secrets");
    tcase_add_test(tc, masked_key_everywhere_including_audit);
    tcase_add_test(tc, viewer_reads_but_cannot_write);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ht_run_suite(providers_suite());
}
