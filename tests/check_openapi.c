/* GET /openapi.json. Unit part (links the worker code): it is OpenAPI 3.1
 * JSON, every $ref resolves, and each operation is complete and states its
 * authentication consistently (routes and operations come from the same
 * rows of worker/route_table.h, so they cannot differ). Server part
 * (tests/harness.h): it is served as built, every documented operation is
 * routed and answers only documented statuses and bodies, and what the
 * request schemas claim (no unknown fields, required fields, types, enums
 * and limits) is what the server enforces. */
#include "harness.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "worker/openapi.h"

static const char *const http_methods[] = { "get", "put", "post", "delete", "patch",
                                            "head", "options", "trace", NULL };

/* ---- Document helpers ------------------------------------------------- */

static const json_t *doc(void)
{
    const json_t *d = ez_openapi_document();
    ck_assert_msg(d != NULL, "ez_openapi_document() could not build the document");
    return d;
}

/* The node a local reference ("#/a/b") points to, or NULL. */
static json_t *pointer(const json_t *root, const char *ref)
{
    if (strncmp(ref, "#/", 2) != 0)
        return NULL;
    json_t *node = (json_t *)root;
    for (const char *p = ref + 2; node && *p;) {
        size_t n = strcspn(p, "/");
        char key[256];
        size_t k = 0;
        for (size_t i = 0; i < n && k < sizeof key - 1; i++) {
            if (p[i] == '~' && i + 1 < n && (p[i + 1] == '0' || p[i + 1] == '1')) {
                key[k++] = p[i + 1] == '0' ? '~' : '/';
                i++;
            } else {
                key[k++] = p[i];
            }
        }
        key[k] = 0;
        node = json_object_get(node, key);
        p += n + (p[n] == '/');
    }
    return node;
}

/* Follows $ref until a node without one. */
static json_t *resolve(const json_t *root, json_t *node)
{
    for (int hops = 0; node && hops < 16; hops++) {
        const char *ref = json_string_value(json_object_get(node, "$ref"));
        if (!ref)
            return node;
        node = pointer(root, ref);
    }
    return NULL;
}

/* Counts the $refs under node and fails on the first that does not resolve. */
static int check_refs(const json_t *root, json_t *node, const char *where)
{
    int n = 0;
    if (json_is_object(node)) {
        const char *key;
        json_t *v;
        json_object_foreach(node, key, v) {
            if (strcmp(key, "$ref") == 0) {
                ck_assert_msg(json_is_string(v), "%s: $ref is not a string", where);
                ck_assert_msg(pointer(root, json_string_value(v)) != NULL,
                              "%s: $ref %s does not resolve", where, json_string_value(v));
                n++;
            } else {
                char sub[512];
                snprintf(sub, sizeof sub, "%s/%s", where, key);
                n += check_refs(root, v, sub);
            }
        }
    } else if (json_is_array(node)) {
        size_t i;
        json_t *v;
        json_array_foreach(node, i, v) {
            char sub[512];
            snprintf(sub, sizeof sub, "%s/%zu", where, i);
            n += check_refs(root, v, sub);
        }
    }
    return n;
}

/* ---- Unit: the document and the route table --------------------------- */

START_TEST(document_is_openapi_3_1_json)
{
    const json_t *d = doc();
    ck_assert_str_eq(json_string_value(json_object_get(d, "openapi")), "3.1.0");
    json_t *info = json_object_get(d, "info");
    ck_assert_str_eq(json_string_value(json_object_get(info, "version")), PACKAGE_VERSION);
    ck_assert(json_string_value(json_object_get(info, "title")) != NULL);
    char *text = json_dumps(d, JSON_COMPACT);
    ck_assert(text != NULL);
    json_error_t err;
    json_t *back = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    ck_assert_msg(back != NULL, "the document does not read back: %s", err.text);
    ck_assert(json_equal(back, d));
    json_decref(back);
    free(text);
    ck_assert(ez_openapi_document() == d); /* built once */
    json_t *schemes = json_object_get(json_object_get(d, "components"), "securitySchemes");
    ck_assert(json_object_get(schemes, "adminToken") != NULL);
    ck_assert(json_object_get(schemes, "masterKey") != NULL);
    json_t *error = resolve(d, pointer(d, "#/components/schemas/Error"));
    ck_assert(json_object_get(json_object_get(error, "properties"), "error") != NULL);
}
END_TEST

/* x-ezapi-auth says how the route authenticates; security and the 401/403
 * answers must say the same. */
START_TEST(every_operation_states_its_authentication)
{
    const json_t *d = doc();
    const char *path, *key;
    json_t *item, *op;
    int n = 0;
    json_object_foreach(json_object_get(d, "paths"), path, item) {
        json_object_foreach(item, key, op) {
            int method = 0;
            for (int i = 0; http_methods[i]; i++)
                method |= strcmp(key, http_methods[i]) == 0;
            ck_assert_msg(method, "paths.%s has a key %s that is not a method", path, key);
            const char *auth = json_string_value(json_object_get(op, "x-ezapi-auth"));
            ck_assert_msg(auth && strcmp(auth, "unknown") != 0, "%s %s: x-ezapi-auth is %s", key,
                          path, auth ? auth : "(none)");
            int open = strcmp(auth, "public") == 0 || strcmp(auth, "metrics") == 0;
            json_t *security = json_object_get(op, "security");
            ck_assert_msg(json_is_array(security) && (json_array_size(security) == 0) == open,
                          "%s %s: security does not match its authentication", key, path);
            json_t *responses = json_object_get(op, "responses");
            if (!open) {
                ck_assert_msg(json_object_get(responses, "401") && json_object_get(responses, "403"),
                              "%s %s: 401 and 403 are not documented", key, path);
            }
            n++;
        }
    }
    ck_assert_msg(n > 50, "only %d operations", n);
}
END_TEST

START_TEST(every_ref_resolves)
{
    const json_t *d = doc();
    int n = check_refs(d, (json_t *)d, "#");
    ck_assert_msg(n > 100, "only %d $refs: the shared schemas are not used", n);
}
END_TEST

/* Path parameters are exactly the template's placeholders; operation ids
 * are unique; every response has a description; bodies are JSON. */
START_TEST(operations_are_complete)
{
    const json_t *d = doc();
    json_t *ids = json_object();
    const char *path, *method;
    json_t *item, *op;
    json_object_foreach(json_object_get(d, "paths"), path, item) {
        json_object_foreach(item, method, op) {
            const char *id = json_string_value(json_object_get(op, "operationId"));
            ck_assert_msg(id && !json_object_get(ids, id), "%s %s: operationId %s missing or "
                          "not unique", method, path, id ? id : "");
            json_object_set_new(ids, id, json_true());
            ck_assert_msg(json_string_value(json_object_get(op, "summary")) != NULL,
                          "%s %s: no summary", method, path);

            char declared[256] = "", wanted[256] = "";
            size_t i;
            json_t *p;
            json_array_foreach(json_object_get(op, "parameters"), i, p) {
                json_t *param = resolve(d, p);
                ck_assert_msg(param != NULL, "%s %s: parameter %zu does not resolve", method,
                              path, i);
                const char *in = json_string_value(json_object_get(param, "in"));
                ck_assert_msg(in && json_object_get(param, "schema"), "%s %s: parameter %zu "
                              "has no `in` or schema", method, path, i);
                if (strcmp(in, "path") != 0)
                    continue;
                ck_assert_msg(json_is_true(json_object_get(param, "required")),
                              "%s %s: path parameter not required", method, path);
                snprintf(declared + strlen(declared), sizeof declared - strlen(declared),
                         "{%s}", json_string_value(json_object_get(param, "name")));
            }
            for (const char *b = strchr(path, '{'); b; b = strchr(b + 1, '{'))
                snprintf(wanted + strlen(wanted), sizeof wanted - strlen(wanted), "%.*s",
                         (int)(strcspn(b, "}") + 1), b);
            ck_assert_msg(strcmp(declared, wanted) == 0, "%s %s: path parameters %s, template %s",
                          method, path, declared, wanted);

            const char *code;
            json_t *resp;
            int success = 0;
            json_object_foreach(json_object_get(op, "responses"), code, resp) {
                json_t *r = resolve(d, resp);
                ck_assert_msg(r && json_string_value(json_object_get(r, "description")),
                              "%s %s: response %s has no description", method, path, code);
                success |= code[0] == '2';
                if (atoi(code) >= 400)
                    ck_assert_msg(json_object_get(json_object_get(r, "content"),
                                                  "application/json"),
                                  "%s %s: error %s has no JSON body", method, path, code);
            }
            ck_assert_msg(success, "%s %s: no 2xx response", method, path);
            json_t *body = json_object_get(op, "requestBody");
            if (body) {
                json_t *responses = json_object_get(op, "responses");
                ck_assert_msg(json_object_get(json_object_get(body, "content"), "application/json"),
                              "%s %s: request body is not JSON", method, path);
                ck_assert_msg(json_object_get(responses, "400") &&
                              json_object_get(responses, "413") &&
                              json_object_get(responses, "415"),
                              "%s %s: takes a body but 400/413/415 are not documented",
                              method, path);
            }
        }
    }
    json_decref(ids);
}
END_TEST

/* ---- Server helpers ---------------------------------------------------- */

static struct ht_server S;
static char master_auth[256]; /* "Authorization: Bearer <master key>\r\n" */

static const char *credentials(json_t *op)
{
    const char *auth = json_string_value(json_object_get(op, "x-ezapi-auth"));
    if (strcmp(auth, "admin") == 0 || strcmp(auth, "admin_read") == 0)
        return ht_auth(&S, "admin");
    if (strcmp(auth, "master") == 0)
        return master_auth;
    return NULL;
}

/* The template with {id} as 1 and any other placeholder as x. */
static void concrete(const char *tpl, char *out, size_t len)
{
    size_t n = 0;
    for (const char *p = tpl; *p && n + 2 < len;) {
        if (*p == '{') {
            const char *end = strchr(p, '}');
            out[n++] = strncmp(p, "{id}", 4) == 0 ? '1' : 'x';
            p = end ? end + 1 : p + strlen(p);
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = 0;
}

static json_t *body_json(const struct ht_resp *r)
{
    json_t *j = ht_resp_json(r);
    ck_assert_msg(j != NULL, "HTTP %d: body is not JSON: %.300s", r->status, r->body);
    return j;
}

/* A master (id 1) with a child key (id 1), and a second master whose key
 * the /v1 routes use, so that acting on id 1 never locks the caller out. */
static void setup_masters(void)
{
    struct ht_resp r;
    const char *admin = ht_auth(&S, "admin");
    ck_assert_int_eq(ht_post_json(S.port, "/admin/masters", admin, "{\"name\":\"target\"}", &r),
                     201);
    ht_resp_free(&r);
    ck_assert_int_eq(ht_post_json(S.port, "/admin/masters", admin, "{\"name\":\"caller\"}", &r),
                     201);
    json_t *m = body_json(&r);
    snprintf(master_auth, sizeof master_auth, "Authorization: Bearer %s\r\n",
             json_string_value(json_object_get(m, "master_key")));
    ck_assert_int_eq((int)json_integer_value(json_object_get(m, "id")), 2);
    json_decref(m);
    ht_resp_free(&r);
    ck_assert_int_eq(ht_post_json(S.port, "/admin/masters/1/keys", admin, "{}", &r), 201);
    ht_resp_free(&r);
}

/* The properties an answer always carries: `required` of the schema and of
 * the parts of an allOf. */
static void assert_required_present(const json_t *d, json_t *schema, json_t *body,
                                    const char *what)
{
    schema = resolve(d, schema);
    size_t i;
    json_t *part, *name;
    json_array_foreach(json_object_get(schema, "allOf"), i, part)
        assert_required_present(d, part, body, what);
    json_array_foreach(json_object_get(schema, "required"), i, name)
        ck_assert_msg(json_object_get(body, json_string_value(name)) != NULL,
                      "%s: the answer lacks required property %s: %.300s", what,
                      json_string_value(name), json_dumps(body, JSON_COMPACT));
}

static void assert_error_body(const struct ht_resp *r, const char *what)
{
    json_t *j = body_json(r);
    json_t *e = json_object_get(j, "error");
    ck_assert_msg(json_string_value(json_object_get(e, "type")) &&
                  json_string_value(json_object_get(e, "code")) &&
                  json_string_value(json_object_get(e, "message")) &&
                  json_object_get(e, "param"),
                  "%s: HTTP %d is not the error shape: %.300s", what, r->status, r->body);
    const char *rid = ht_resp_header(r, "X-Request-ID");
    ck_assert_msg(rid && strcmp(rid, json_string_value(json_object_get(e, "request_id"))) == 0,
                  "%s: error.request_id is not the X-Request-ID header", what);
    json_decref(j);
}

/* Sends the operation and checks the answer against its documentation;
 * returns the status. */
static int call_documented(const json_t *d, const char *path, const char *method, json_t *op,
                           const char *auth, const char *body)
{
    char url[256], upper[16], what[320];
    concrete(path, url, sizeof url);
    size_t i = 0;
    for (; method[i] && i < sizeof upper - 1; i++)
        upper[i] = (char)(method[i] - 'a' + 'A');
    upper[i] = 0;
    snprintf(what, sizeof what, "%s %s", upper, url);
    struct ht_resp r;
    int status = ht_http(S.port, upper, url, auth, body, body ? strlen(body) : 0, &r);
    ck_assert_msg(status > 0, "%s: %s", what, r.err);
    ck_assert_msg(status != 405, "%s: 405, a documented method is not routed", what);
    if (status == 404) {
        json_t *j = body_json(&r);
        const char *code = json_string_value(json_object_get(json_object_get(j, "error"), "code"));
        ck_assert_msg(!code || strcmp(code, "route_not_found") != 0,
                      "%s: route_not_found, a documented path is not routed", what);
        json_decref(j);
    }
    char code[16];
    snprintf(code, sizeof code, "%d", status);
    json_t *resp = resolve(d, json_object_get(json_object_get(op, "responses"), code));
    ck_assert_msg(resp != NULL, "%s: answered %d, which is not documented: %.300s", what, status,
                  r.body);
    ck_assert_msg(ht_resp_header(&r, "X-Request-ID") != NULL, "%s: no X-Request-ID", what);
    json_t *content = json_object_get(resp, "content");
    const char *media = NULL;
    json_t *m;
    json_object_foreach(content, media, m)
        break;
    const char *ct = ht_resp_header(&r, "Content-Type");
    if (!media) {
        ck_assert_msg(r.body_len == 0, "%s: %d documented without a body, got %.200s", what,
                      status, r.body);
    } else {
        ck_assert_msg(ct && strncasecmp(ct, media, strlen(media)) == 0,
                      "%s: Content-Type %s, documented %s", what, ct ? ct : "(none)", media);
        if (status >= 400) {
            assert_error_body(&r, what);
        } else if (strcmp(media, "application/json") == 0) {
            json_t *j = body_json(&r);
            assert_required_present(d, json_object_get(m, "schema"), j, what);
            json_decref(j);
        }
    }
    ht_resp_free(&r);
    return status;
}

/* ---- Server: served as built, routed as documented --------------------- */

START_TEST(served_document_is_the_built_one)
{
    ht_server_start(&S, NULL);
    struct ht_resp r;
    ck_assert_int_eq(ht_get(S.port, "/openapi.json", NULL, &r), 200);
    const char *ct = ht_resp_header(&r, "Content-Type");
    ck_assert_msg(ct && strncasecmp(ct, "application/json", 16) == 0, "Content-Type %s", ct);
    json_t *served = body_json(&r);
    ck_assert_msg(json_equal(served, doc()), "the served document differs from the built one");
    json_decref(served);
    ht_resp_free(&r);
    /* a second worker or a second request answers the same bytes */
    struct ht_resp again;
    ck_assert_int_eq(ht_get(S.port, "/openapi.json", NULL, &again), 200);
    ck_assert_int_eq(ht_get(S.port, "/openapi.json", NULL, &r), 200);
    ck_assert(r.body_len == again.body_len && memcmp(r.body, again.body, r.body_len) == 0);
    ht_resp_free(&r);
    ht_resp_free(&again);
    ht_assert_clean_stop(&S);
}
END_TEST

/* Each documented operation, with its credentials and an empty object as
 * body where it takes one (deletes last, so that the rows they remove were
 * there for the others), then without credentials. */
START_TEST(every_operation_is_routed_and_answers_as_documented)
{
    /* every secured operation fails to authenticate once, on purpose */
    ht_server_start(&S, "auth_failure_limit = 0\n");
    setup_masters();
    const json_t *d = doc();
    int answered[600] = { 0 };
    for (int pass = 0; pass < 2; pass++) {
        const char *path, *method;
        json_t *item, *op;
        json_object_foreach(json_object_get(d, "paths"), path, item) {
            json_object_foreach(item, method, op) {
                if ((strcmp(method, "delete") == 0) != (pass == 1))
                    continue;
                const char *body = json_object_get(op, "requestBody") ? "{}" : NULL;
                int st = call_documented(d, path, method, op, credentials(op), body);
                answered[st]++;
            }
        }
    }
    const char *path, *method;
    json_t *item, *op;
    json_object_foreach(json_object_get(d, "paths"), path, item) {
        json_object_foreach(item, method, op) {
            int secured = json_array_size(json_object_get(op, "security")) > 0;
            const char *body = json_object_get(op, "requestBody") ? "{}" : NULL;
            int st = call_documented(d, path, method, op, NULL, body);
            if (secured)
                ck_assert_msg(st == 401, "%s %s without credentials: %d, not 401", method, path,
                              st);
            else
                ck_assert_msg(st != 401, "%s %s is public but answered 401", method, path);
        }
    }
    /* the walk reached the handlers, not only the authentication */
    ck_assert_msg(answered[200] > 20 && answered[201] > 0 && answered[204] > 0 &&
                  answered[400] > 0 && answered[404] > 0,
                  "200:%d 201:%d 204:%d 400:%d 404:%d", answered[200], answered[201],
                  answered[204], answered[400], answered[404]);
    ht_assert_clean_stop(&S);
}
END_TEST

/* ---- Server: the request schemas are what the validators enforce -------- */

/* Sends body to the operation (with its credentials) and asserts a 400
 * naming param (any of `params`, space-separated, when param is NULL). */
static void expect_400(json_t *op, const char *path, const char *method, const char *body,
                       const char *param, const char *params)
{
    char url[256], upper[16];
    concrete(path, url, sizeof url);
    size_t i = 0;
    for (; method[i] && i < sizeof upper - 1; i++)
        upper[i] = (char)(method[i] - 'a' + 'A');
    upper[i] = 0;
    struct ht_resp r;
    int st = ht_http(S.port, upper, url, credentials(op), body, strlen(body), &r);
    ck_assert_msg(st == 400, "%s %s %.200s: %d, expected 400: %.300s", upper, url, body, st,
                  r.body);
    json_t *j = body_json(&r);
    json_t *e = json_object_get(j, "error");
    const char *got = json_string_value(json_object_get(e, "param"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    if (param) {
        ck_assert_msg(got && strcmp(got, param) == 0, "%s %s %.200s: param %s, expected %s (%s)",
                      upper, url, body, got ? got : "null", param, msg);
    } else {
        char padded[512];
        snprintf(padded, sizeof padded, " %s ", params);
        char needle[80];
        snprintf(needle, sizeof needle, " %s ", got ? got : "(null)");
        ck_assert_msg(got && strstr(padded, needle), "%s %s %.200s: param %s, expected one of %s",
                      upper, url, body, got ? got : "null", params);
    }
    /* a documented property is known to the server: refused for its value */
    ck_assert_msg(!msg || !strstr(msg, "unknown field") || !param ||
                  strcmp(param, "zz_unknown_field") == 0,
                  "%s %s: %s is documented but unknown to the server (%s)", upper, url, param, msg);
    json_decref(j);
    ht_resp_free(&r);
}

static json_t *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    memset(s, c, n);
    s[n] = 0;
    json_t *v = json_string(s);
    free(s);
    return v;
}

static const char *primary_type(json_t *schema)
{
    json_t *t = json_object_get(schema, "type");
    if (json_is_string(t))
        return json_string_value(t);
    size_t i;
    json_t *v;
    json_array_foreach(t, i, v)
        if (strcmp(json_string_value(v), "null") != 0)
            return json_string_value(v);
    return "";
}

/* Values the schema refuses: each appended to out. Array items get their
 * own bad values inside an array. */
static void bad_values(const json_t *d, json_t *schema, json_t *out)
{
    schema = resolve(d, schema);
    const char *type = primary_type(schema);
    json_t *v;
    if (strcmp(type, "string") == 0) {
        if ((v = json_object_get(schema, "maxLength")))
            json_array_append_new(out, repeat('a', (size_t)json_integer_value(v) + 1));
        if ((v = json_object_get(schema, "minLength")) && json_integer_value(v) > 0)
            json_array_append_new(out, json_string(""));
        /* white space at both ends and a comma: outside every pattern used */
        if (json_object_get(schema, "pattern"))
            json_array_append_new(out, json_string(" bad, value "));
        if (json_object_get(schema, "enum"))
            json_array_append_new(out, json_string("zz-not-listed"));
    } else if (strcmp(type, "integer") == 0 || strcmp(type, "number") == 0) {
        if ((v = json_object_get(schema, "maximum")))
            json_array_append_new(out, json_integer(json_integer_value(v) + 1));
        if ((v = json_object_get(schema, "minimum")))
            json_array_append_new(out, json_integer(json_integer_value(v) - 1));
    } else if (strcmp(type, "array") == 0) {
        if ((v = json_object_get(schema, "maxItems"))) {
            json_t *a = json_array();
            for (json_int_t i = 0; i <= json_integer_value(v); i++) {
                char item[32];
                snprintf(item, sizeof item, "i%lld", (long long)i);
                json_array_append_new(a, json_string(item));
            }
            json_array_append_new(out, a);
        }
        if ((v = json_object_get(schema, "minItems")) && json_integer_value(v) > 0)
            json_array_append_new(out, json_array());
        if (json_is_true(json_object_get(schema, "uniqueItems")))
            json_array_append_new(out, json_pack("[s, s]", "a", "a"));
        json_t *items = json_array();
        bad_values(d, json_object_get(schema, "items"), items);
        size_t i;
        json_t *item;
        json_array_foreach(items, i, item)
            json_array_append_new(out, json_pack("[O]", item));
        json_decref(items);
    }
}

/* For every operation with a closed (additionalProperties: false) JSON
 * body: an unknown field is refused by name; with required fields, {} is
 * refused naming one of them; without, each property alone with a value of
 * the wrong type (an object) and with each value its schema refuses is
 * refused naming that property. */
START_TEST(request_schemas_are_what_the_server_enforces)
{
    ht_server_start(&S, NULL);
    setup_masters();
    const json_t *d = doc();
    const char *path, *method;
    json_t *item, *op;
    int probes = 0;
    json_object_foreach(json_object_get(d, "paths"), path, item) {
        json_object_foreach(item, method, op) {
            json_t *body = json_object_get(op, "requestBody");
            json_t *media = json_object_get(json_object_get(body, "content"), "application/json");
            json_t *schema = resolve(d, json_object_get(media, "schema"));
            if (!schema || !json_is_false(json_object_get(schema, "additionalProperties")))
                continue;
            expect_400(op, path, method, "{\"zz_unknown_field\":1}", "zz_unknown_field", NULL);
            probes++;
            json_t *required = json_object_get(schema, "required");
            if (json_array_size(required) > 0) {
                char names[512] = "";
                size_t i, k;
                json_t *n, *alt;
                json_array_foreach(required, i, n)
                    snprintf(names + strlen(names), sizeof names - strlen(names), "%s ",
                             json_string_value(n));
                json_array_foreach(json_object_get(schema, "oneOf"), k, alt)
                    json_array_foreach(json_object_get(alt, "required"), i, n)
                        snprintf(names + strlen(names), sizeof names - strlen(names), "%s ",
                                 json_string_value(n));
                expect_400(op, path, method, "{}", NULL, names);
                probes++;
                continue;
            }
            const char *prop;
            json_t *ps;
            json_object_foreach(json_object_get(schema, "properties"), prop, ps) {
                json_t *values = json_array();
                json_array_append_new(values, json_object());
                bad_values(d, ps, values);
                size_t i;
                json_t *v;
                json_array_foreach(values, i, v) {
                    json_t *b = json_pack("{s:O}", prop, v);
                    char *text = json_dumps(b, JSON_COMPACT);
                    expect_400(op, path, method, text, prop, NULL);
                    free(text);
                    json_decref(b);
                    probes++;
                }
                json_decref(values);
            }
        }
    }
    ck_assert_msg(probes > 100, "only %d probes", probes);
    ht_assert_clean_stop(&S);
}
END_TEST

/* ---- Server: the name patterns are the validators' rules ---------------- */

/* Does the string schema take s (maxLength in bytes, as the document says)? */
static int pattern_accepts(json_t *schema, const char *s)
{
    json_t *max = json_object_get(schema, "maxLength");
    if (max && strlen(s) > (size_t)json_integer_value(max))
        return 0;
    const char *re = json_string_value(json_object_get(schema, "pattern"));
    ck_assert_msg(re != NULL, "a name schema has no pattern");
    int err;
    PCRE2_SIZE at;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err, &at,
                                     NULL);
    ck_assert_msg(code != NULL, "pattern %s does not compile (error %d at %zu)", re, err,
                  (size_t)at);
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(code, NULL);
    int rc = pcre2_match(code, (PCRE2_SPTR)s, strlen(s), 0, 0, md, NULL);
    pcre2_match_data_free(md);
    pcre2_code_free(code);
    return rc >= 0;
}

/* Names on each side of every rule: the characters allowed or not, at
 * either end, and the lengths around 64 and 128. */
static void name_probes(json_t *out)
{
    static const char *const fixed[] = {
        "", "a", "z", "0", "A", "-", "_", ".", "a-b", "a_b", "a.b", "-a", "_a", ".a", "a-",
        "a.", "Ab", "aB", "a b", " a", "a ", "\ta", "a\tb", "a,b", "a/b", "a:b", "a@b",
        "\xc3\xa9", "a\xc3\xa9", "a\x01" "b", "\x7f", "gpt-4o", "team_a", NULL
    };
    for (int i = 0; fixed[i]; i++)
        json_array_append_new(out, json_string(fixed[i]));
    static const size_t lengths[] = { 63, 64, 65, 127, 128, 129 };
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        json_array_append_new(out, repeat('a', lengths[i]));
        json_t *upper = repeat('a', lengths[i]);
        char *s = strdup(json_string_value(upper));
        s[0] = 'A';
        json_array_append_new(out, json_string(s));
        free(s);
        json_decref(upper);
    }
}

/* Each name field whose schema has a pattern, sent alone where validation
 * comes before any row is read (ids 999 do not exist: 404 means accepted). */
static const struct name_rule {
    const char *method, *path, *url, *field; /* field NULL: the property names */
    const char *wrap;                        /* json_pack format of the body */
} name_rules[] = {
    { "post", "/admin/namespaces", "/admin/namespaces", "name", "{s:s}" },
    { "put", "/admin/provider-groups/{id}", "/admin/provider-groups/999", "name", "{s:s}" },
    { "put", "/admin/masters/{id}", "/admin/masters/999", "group", "{s:s}" },
    { "put", "/admin/masters/{id}/access", "/admin/masters/999/access", "default_namespace",
      "{s:s}" },
    { "put", "/admin/masters/{id}/access", "/admin/masters/999/access", "namespaces", "{s:[s]}" },
    { "put", "/admin/bindings/{id}", "/admin/bindings/999", "namespace", "{s:s}" },
    { "put", "/admin/bindings/{id}", "/admin/bindings/999", "public_model", "{s:s}" },
    { "put", "/admin/models/{id}", "/admin/models/999", "name", "{s:s}" },
    { "put", "/admin/features", "/admin/features", NULL, "{s:s}" },
};

/* Every probe name is taken by the server exactly when the documented
 * pattern and length take it. */
START_TEST(name_patterns_are_what_the_server_enforces)
{
    ht_server_start(&S, NULL);
    const json_t *d = doc();
    json_t *probes = json_array();
    name_probes(probes);
    for (size_t k = 0; k < sizeof name_rules / sizeof name_rules[0]; k++) {
        const struct name_rule *nr = &name_rules[k];
        json_t *op = json_object_get(json_object_get(json_object_get(d, "paths"), nr->path),
                                     nr->method);
        json_t *body = resolve(d, json_object_get(json_object_get(json_object_get(
            json_object_get(op, "requestBody"), "content"), "application/json"), "schema"));
        json_t *schema = nr->field ? json_object_get(json_object_get(body, "properties"),
                                                     nr->field)
                                   : json_object_get(body, "propertyNames");
        if (schema && strcmp(primary_type(schema), "array") == 0)
            schema = json_object_get(schema, "items");
        ck_assert_msg(schema != NULL, "%s %s: no schema for %s", nr->method, nr->path,
                      nr->field ? nr->field : "property names");
        int taken = 0, refused = 0;
        size_t i;
        json_t *probe;
        json_array_foreach(probes, i, probe) {
            const char *s = json_string_value(probe);
            json_t *b = nr->field ? json_pack(nr->wrap, nr->field, s) : json_pack(nr->wrap, s, "v");
            char *text = json_dumps(b, JSON_COMPACT);
            char upper[8];
            snprintf(upper, sizeof upper, "%s", strcmp(nr->method, "put") == 0 ? "PUT" : "POST");
            struct ht_resp r;
            int st = ht_http(S.port, upper, nr->url, ht_auth(&S, "admin"), text, strlen(text), &r);
            json_t *j = ht_resp_json(&r);
            const char *param = json_string_value(json_object_get(json_object_get(j, "error"),
                                                                  "param"));
            /* a property name is named as param, cut to 72 bytes */
            int named = param && (nr->field ? strcmp(param, nr->field) == 0
                                            : strncmp(param, s, strlen(param)) == 0);
            int by_server = !(st == 400 && named);
            int by_document = pattern_accepts(schema, s);
            ck_assert_msg(by_server == by_document && (st != 400 || !by_server),
                          "%s %s %s: the document %s it, the server answered %d (param %s)",
                          upper, nr->url, text, by_document ? "takes" : "refuses", st,
                          param ? param : "null");
            taken += by_server;
            refused += !by_server;
            json_decref(j);
            ht_resp_free(&r);
            free(text);
            json_decref(b);
        }
        ck_assert_msg(taken > 0 && refused > 0, "%s %s: %d taken, %d refused", nr->method,
                      nr->path, taken, refused);
    }
    json_decref(probes);
    ht_assert_clean_stop(&S);
}
END_TEST

static Suite *openapi_suite(void)
{
    Suite *s = suite_create("openapi");
    TCase *tc = tcase_create("document");
    tcase_add_test(tc, document_is_openapi_3_1_json);
    tcase_add_test(tc, every_operation_states_its_authentication);
    tcase_add_test(tc, every_ref_resolves);
    tcase_add_test(tc, operations_are_complete);
    suite_add_tcase(s, tc);

    tc = ht_tcase("server");
    tcase_add_test(tc, served_document_is_the_built_one);
    tcase_add_test(tc, every_operation_is_routed_and_answers_as_documented);
    tcase_add_test(tc, request_schemas_are_what_the_server_enforces);
    tcase_add_test(tc, name_patterns_are_what_the_server_enforces);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ht_run_suite(openapi_suite());
}
