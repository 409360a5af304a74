/* Every way a write or a list filter is refused, answered exactly: status,
 * type, code, param and message of each, against the real binary. The
 * validators, stores and handlers share one refusal path (worker/outcome.h);
 * this suite pins what it answers, and that a refused request changes no row. */
#include "harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str(json_t *obj, const char *field)
{
    return json_string_value(json_object_get(obj, field));
}

static const char *type_of(int status)
{
    return status == 404 ? "not_found_error" : status == 409 ? "conflict_error"
                                                            : "invalid_request_error";
}

/* The request must be answered with exactly this error (param NULL: null;
 * a message ending with '*': its start). */
static void refused_as(struct ht_server *s, const char *auth, const char *method,
                       const char *path, const char *body, int status, const char *code,
                       const char *param, const char *message)
{
    json_t *j = ht_call(s, auth, method, path, body, status);
    json_t *e = json_object_get(j, "error");
    ck_assert_msg(json_is_object(e), "%s %s: no error object", method, path);
    const char *where = ht_strf("%s %s %s", method, path, body ? body : "");
    ck_assert_msg(str(e, "type") && strcmp(str(e, "type"), type_of(status)) == 0,
                  "%s: type %s, expected %s", where, str(e, "type"), type_of(status));
    ck_assert_msg(str(e, "code") && strcmp(str(e, "code"), code) == 0,
                  "%s: code %s, expected %s", where, str(e, "code"), code);
    if (param)
        ck_assert_msg(str(e, "param") && strcmp(str(e, "param"), param) == 0,
                      "%s: param %s, expected %s", where, str(e, "param"), param);
    else
        ck_assert_msg(json_is_null(json_object_get(e, "param")), "%s: param %s, expected null",
                      where, str(e, "param"));
    size_t n = strlen(message);
    int prefix = n && message[n - 1] == '*'; /* the rest is another module's words */
    ck_assert_msg(str(e, "message") && strncmp(str(e, "message"), message, prefix ? n - 1 : n + 1)
                  == 0,
                  "%s: message\n  \"%s\", expected\n  \"%s\"", where, str(e, "message"),
                  message);
    ck_assert_msg(str(e, "request_id") && *str(e, "request_id"), "%s: no request_id", where);
    free((char *)where);
    json_decref(j);
}

#define ADMIN ht_auth(s, "admin")

static void refused(struct ht_server *s, const char *method, const char *path, const char *body,
                    int status, const char *code, const char *param, const char *message)
{
    refused_as(s, ADMIN, method, path, body, status, code, param, message);
}

static void not_found(struct ht_server *s, const char *method, const char *path,
                      const char *body, const char *what)
{
    char *msg = ht_strf("%s not found", what);
    refused(s, method, path, body, 404, "not_found", NULL, msg);
    free(msg);
}

/* A digest of every row a refused request could have touched. */
static char *rows_state(void)
{
    static const char *const tables[] = { "namespaces", "provider_groups", "api_keys", "models",
                                          "bindings", "features", "masters", "keys",
                                          "key_digests", "sync_runs" };
    char sql[2048] = "SELECT md5(''";
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        snprintf(sql + strlen(sql), sizeof sql - strlen(sql),
                 " || coalesce((SELECT string_agg(t::text, '|' ORDER BY t::text) FROM %s t), '')"
                 " || '#'", tables[i]);
    strcat(sql, ")");
    PGconn *c = ht_pg();
    PGresult *r = PQexec(c, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
    char *out = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    return out;
}

/* ---- Fixtures ------------------------------------------------------------- */

struct fixture {
    long long g1, g2, k1, m1, m2, b1, b2;
    long long t1, t2, t3;  /* masters */
    long long c1;          /* t1's only key: t1 is at its limit */
    long long revoked;     /* t2's revoked key */
    long long suspended;   /* t3's suspended key, t3 at its limit */
    char t2_auth[300];     /* "Authorization: Bearer <t2's master key>\r\n" */
};

static void make_fixture(struct ht_server *s, struct fixture *f)
{
    ht_create(s, "/admin/namespaces", "{\"name\": \"ns1\"}");
    ht_create(s, "/admin/namespaces", "{\"name\": \"ns2\"}");
    f->g1 = ht_create(s, "/admin/provider-groups",
                      "{\"name\": \"g1\", \"type\": \"openai\", \"models\": [\"m\"]}");
    f->g2 = ht_create(s, "/admin/provider-groups",
                      "{\"name\": \"g2\", \"type\": \"openai\", \"models\": [\"m\"]}");
    char *b = ht_strf("{\"group_id\": %lld, \"api_key\": \"sk-refusals-0000000001\"}", f->g1);
    f->k1 = ht_create(s, "/admin/api-keys", b);
    free(b);
    f->m1 = ht_create(s, "/admin/models", "{\"name\": \"m1\"}");
    f->m2 = ht_create(s, "/admin/models", "{\"name\": \"m2\"}");
    b = ht_strf("{\"namespace\": \"ns1\", \"public_model\": \"pm\", \"group_id\": %lld}", f->g1);
    f->b1 = ht_create(s, "/admin/bindings", b);
    free(b);
    b = ht_strf("{\"namespace\": \"ns1\", \"public_model\": \"pm2\", \"group_id\": %lld}", f->g1);
    f->b2 = ht_create(s, "/admin/bindings", b);
    free(b);

    f->t1 = ht_create(s, "/admin/masters",
                      "{\"name\": \"t1\", \"namespaces\": [\"ns1\"], \"max_child_keys\": 1}");
    json_t *j =
        ht_call(s, ADMIN, "POST", "/admin/masters",
                "{\"name\": \"t2\", \"namespaces\": [\"ns2\"], \"max_child_keys\": 5}", 201);
    f->t2 = json_integer_value(json_object_get(j, "id"));
    snprintf(f->t2_auth, sizeof f->t2_auth, "Authorization: Bearer %s\r\n", str(j, "master_key"));
    json_decref(j);
    f->t3 = ht_create(s, "/admin/masters", "{\"name\": \"t3\", \"max_child_keys\": 1}");

    char *p = ht_strf("/admin/masters/%lld/keys", f->t1);
    f->c1 = ht_create(s, p, "{}");
    free(p);
    p = ht_strf("/admin/masters/%lld/keys", f->t2);
    f->revoked = ht_create(s, p, "{}");
    free(p);
    p = ht_strf("/admin/keys/%lld", f->revoked);
    json_decref(ht_call(s, ADMIN, "DELETE", p, NULL, 204));
    free(p);
    p = ht_strf("/admin/masters/%lld/keys", f->t3);
    f->suspended = ht_create(s, p, "{}");
    char *q = ht_strf("/admin/keys/%lld", f->suspended);
    json_decref(ht_call(s, ADMIN, "PUT", q, "{\"status\": \"suspended\"}", 200));
    free(q);
    ht_create(s, p, "{}");
    free(p);
}

/* ---- Tests ---------------------------------------------------------------- */

static void namespace_refusals(struct ht_server *s, const struct fixture *f)
{
    refused(s, "POST", "/admin/namespaces", NULL, 400, "invalid_request", NULL,
            "a JSON body is required");
    refused(s, "POST", "/admin/namespaces", "{\"name\": \"ns1\"}", 409, "name_taken", "name",
            "namespace 'ns1' already exists");
    refused(s, "POST", "/admin/namespaces", "{\"name\": \"Ns\"}", 400, "invalid_value", "name",
            "name must match [a-z0-9][a-z0-9_-]{0,63}");
    refused(s, "PUT", "/admin/namespaces/ns2", "{\"colour\": 1}", 400, "invalid_value", "colour",
            "unknown field 'colour'");
    not_found(s, "PUT", "/admin/namespaces/nope", "{}", "namespace");
    not_found(s, "DELETE", "/admin/namespaces/nope", NULL, "namespace");
    char *msg = ht_strf("namespace 'ns1' is in use: {\"bindings\":[%lld,%lld],\"masters\":[\"t1\"],"
                        "\"keys\":1}",
                        f->b1, f->b2);
    refused(s, "DELETE", "/admin/namespaces/ns1", NULL, 409, "namespace_in_use", NULL, msg);
    free(msg);
    refused(s, "GET", "/admin/namespaces?status=gone", NULL, 400, "invalid_value", "status",
            "status must be one of: active, suspended");
}

static void provider_refusals(struct ht_server *s, const struct fixture *f)
{
    refused(s, "POST", "/admin/provider-groups", NULL, 400, "invalid_value", NULL,
            "a JSON body is required");
    refused(s, "POST", "/admin/provider-groups",
            "{\"name\": \"g1\", \"type\": \"openai\", \"models\": [\"m\"]}", 409, "name_taken",
            "name", "provider group 'g1' already exists");
    not_found(s, "PUT", "/admin/provider-groups/" "999999", "{\"status\": \"active\"}",
              "provider group");
    char *p = ht_strf("/admin/provider-groups/%lld", f->g1);
    refused(s, "PUT", p, "{\"type\": \"compatible\"}", 400, "invalid_value", "base_url",
            "base_url is required for type compatible");
    refused(s, "DELETE", p, NULL, 409, "group_in_use", NULL,
            "provider group 'g1' has 1 api key and 2 bindings; delete them first or use "
            "?cascade=true");
    free(p);
    p = ht_strf("/admin/provider-groups/%lld?cascade=maybe", f->g1);
    refused(s, "DELETE", p, NULL, 400, "invalid_value", "cascade",
            "cascade must be true or false");
    free(p);
    p = ht_strf("/admin/provider-groups/%lld", f->g2);
    refused(s, "PUT", p, "{\"name\": \"g1\"}", 409, "name_taken", "name",
            "provider group 'g1' already exists");
    free(p);
    not_found(s, "DELETE", "/admin/provider-groups/999999", NULL, "provider group");
    refused(s, "GET", "/admin/provider-groups?type=nope", NULL, 400, "invalid_value", "type",
            "type must be one of the provider types");
    refused(s, "GET", "/admin/provider-groups/x", NULL, 400, "invalid_request", "id",
            "the id in the path must be a positive decimal integer (digits only, no sign, no "
            "leading zero, at most 9223372036854775807)");

    refused(s, "POST", "/admin/api-keys",
            "{\"group_id\": 999999, \"api_key\": \"sk-refusals-0000000002\"}", 422,
            "invalid_reference", "group_id", "provider group 999999 does not exist");
    not_found(s, "PUT", "/admin/api-keys/999999", "{\"weight\": 2}", "api key");
    not_found(s, "DELETE", "/admin/api-keys/999999", NULL, "api key");
    refused(s, "GET", "/admin/api-keys?group_id=x", NULL, 400, "invalid_value", "group_id",
            "group_id must be a positive integer");

    refused(s, "POST", "/admin/providers/preset",
            "{\"preset\": \"openai\", \"name\": \"g1\", \"api_key\": \"sk-refusals-0000000003\"}",
            409, "name_taken", "name", "provider group 'g1' already exists");
    refused(s, "POST", "/admin/providers/custom",
            "{\"name\": \"g2\", \"base_url\": \"https://llm.example.com/v1\", "
            "\"api_key\": \"sk-refusals-0000000004\", \"models\": [\"m\"]}",
            409, "name_taken", "name", "provider group 'g2' already exists");
}

static void catalog_refusals(struct ht_server *s, const struct fixture *f)
{
    refused(s, "POST", "/admin/models", NULL, 400, "invalid_value", NULL,
            "a JSON body is required");
    refused(s, "POST", "/admin/models", "{\"name\": \"m1\"}", 409, "name_taken", "name",
            "model 'm1' already exists");
    char *p = ht_strf("/admin/models/%lld", f->m2);
    refused(s, "PUT", p, "{\"name\": \"m1\"}", 409, "name_taken", "name",
            "model 'm1' already exists");
    free(p);
    not_found(s, "PUT", "/admin/models/999999", "{\"kind\": \"chat\"}", "model");
    not_found(s, "DELETE", "/admin/models/999999", NULL, "model");

    char *b =
        ht_strf("{\"namespace\": \"nope\", \"public_model\": \"pm\", \"group_id\": %lld}", f->g1);
    refused(s, "POST", "/admin/bindings", b, 422, "invalid_reference", "namespace",
            "namespace 'nope' does not exist");
    free(b);
    refused(s, "POST", "/admin/bindings",
            "{\"namespace\": \"ns1\", \"public_model\": \"pm\", \"group_id\": 999999}", 422,
            "invalid_reference", "group_id", "provider group 999999 does not exist");
    b = ht_strf("{\"namespace\": \"ns1\", \"public_model\": \"pm\", \"group_id\": %lld}", f->g1);
    char *msg = ht_strf(
        "a binding of 'pm' in namespace 'ns1' to provider group %lld already exists", f->g1);
    refused(s, "POST", "/admin/bindings", b, 409, "binding_exists", NULL, msg);
    p = ht_strf("/admin/bindings/%lld", f->b2);
    refused(s, "PUT", p, b, 409, "binding_exists", NULL, msg);
    free(msg);
    free(b);
    refused(s, "PUT", p, "{\"public_model\": \"pm\"}", 409, "binding_exists", NULL,
            "another binding has the same namespace, public_model and group_id");
    refused(s, "PUT", p, "{\"namespace\": \"nope\"}", 422, "invalid_reference", "namespace",
            "namespace 'nope' does not exist");
    refused(s, "PUT", p, "{\"group_id\": 999999}", 422, "invalid_reference", "group_id",
            "provider group 999999 does not exist");
    refused(s, "PUT", p, "{\"selector_type\": \"regex\", \"selector_value\": \"(\"}", 400,
            "invalid_value", "selector_value",
            "selector_value is not a regular expression Go's regexp accepts: *");
    free(p);
    not_found(s, "PUT", "/admin/bindings/999999", "{\"weight\": 2}", "binding");
    not_found(s, "DELETE", "/admin/bindings/999999", NULL, "binding");
    refused(s, "GET", "/admin/bindings?group_id=x", NULL, 400, "invalid_value", "group_id",
            "group_id must be a positive integer");
    refused(s, "PUT", "/admin/features", "{\"Bad\": \"x\"}", 400, "invalid_value", "Bad",
            "feature name 'Bad' must match [a-z0-9_]{1,64}");
}

static void tenant_refusals(struct ht_server *s, const struct fixture *f)
{
    refused(s, "POST", "/admin/masters", NULL, 400, "invalid_request", NULL,
            "a JSON body is required");
    refused(s, "POST", "/admin/masters", "{\"name\": \"t1\"}", 409, "name_taken", "name",
            "a master with this name already exists");
    refused(s, "POST", "/admin/masters", "{\"name\": \"t9\", \"namespaces\": [\"nope\"]}", 422,
            "invalid_reference", "namespaces", "namespace 'nope' does not exist");
    refused(s, "POST", "/admin/masters",
            "{\"name\": \"t9\", \"namespaces\": [\"ns1\"], \"default_namespace\": \"ns2\"}", 422,
            "invalid_reference", "default_namespace",
            "default_namespace 'ns2' is not one of namespaces");
    not_found(s, "PUT", "/admin/masters/999999", "{\"status\": \"active\"}", "master");
    char *p = ht_strf("/admin/masters/%lld", f->t2);
    refused(s, "PUT", p, "{\"name\": \"t1\"}", 409, "name_taken", "name",
            "a master with this name already exists");
    free(p);
    p = ht_strf("/admin/masters/%lld/access", f->t1);
    refused(s, "PUT", p, "{\"namespaces\": [\"nope\"]}", 422, "invalid_reference", "namespaces",
            "namespace 'nope' does not exist");
    free(p);
    not_found(s, "PUT", "/admin/masters/999999/access", "{\"namespaces\": [\"ns1\"]}", "master");
    not_found(s, "DELETE", "/admin/masters/999999", NULL, "master");
    not_found(s, "POST", "/admin/masters/999999/rotate-key", NULL, "master");
    not_found(s, "POST", "/admin/masters/999999/revoke-keys", NULL, "master");
    p = ht_strf("/admin/masters/%lld/revoke-keys", f->t1);
    refused(s, "POST", p, "{\"now\": true}", 400, "invalid_value", "now", "unknown field 'now'");
    free(p);
    refused(s, "GET", "/admin/masters?status=gone", NULL, 400, "invalid_value", "status",
            "status must be one of: active, suspended");
    not_found(s, "GET", "/admin/masters/999999/keys", NULL, "master");

    not_found(s, "POST", "/admin/masters/999999/keys", "{}", "master");
    p = ht_strf("/admin/masters/%lld/keys", f->t1);
    refused(s, "POST", p, "{}", 409, "child_key_limit", NULL,
            "the master has reached its max_child_keys active keys");
    free(p);
    p = ht_strf("/admin/masters/%lld/keys", f->t2);
    refused(s, "POST", p, "{\"namespaces\": [\"ns1\"]}", 422, "invalid_reference", "namespaces",
            "namespace 'ns1' is not one of the master's namespaces");
    free(p);
    not_found(s, "PUT", "/admin/keys/999999", "{\"name\": \"x\"}", "key");
    not_found(s, "DELETE", "/admin/keys/999999", NULL, "key");
    p = ht_strf("/admin/keys/%lld", f->revoked);
    refused(s, "PUT", p, "{\"name\": \"x\"}", 409, "key_revoked", NULL,
            "the key is revoked and cannot be changed");
    free(p);
    p = ht_strf("/admin/keys/%lld", f->suspended);
    refused(s, "PUT", p, "{\"status\": \"active\"}", 409, "child_key_limit", NULL,
            "the master has reached its max_child_keys active keys");
    free(p);
    p = ht_strf("/admin/keys/%lld/access", f->c1);
    refused(s, "PUT", p, "{\"namespaces\": [\"nope\"]}", 422, "invalid_reference", "namespaces",
            "namespace 'nope' does not exist");
    free(p);

    refused_as(s, f->t2_auth, "GET", "/v1/tokens?status=gone", NULL, 400, "invalid_request",
               "status", "status must be one of active, suspended, revoked, expired");
    p = ht_strf("/v1/tokens/%lld/rotate", f->revoked);
    refused_as(s, f->t2_auth, "POST", p, NULL, 409, "key_revoked", NULL,
               "the key is revoked and cannot be changed");
    free(p);
    p = ht_strf("/v1/tokens/%lld/rotate", f->c1); /* t1's key: not t2's to see */
    refused_as(s, f->t2_auth, "POST", p, NULL, 404, "not_found", NULL, "key not found");
    free(p);
    p = ht_strf("/v1/tokens/%lld", f->c1);
    refused_as(s, f->t2_auth, "PUT", p, "{\"name\": \"x\"}", 404, "not_found", NULL,
               "key not found");
    refused_as(s, f->t2_auth, "DELETE", p, NULL, 404, "not_found", NULL, "key not found");
    free(p);
    refused_as(s, f->t2_auth, "POST", "/v1/tokens", "{\"namespaces\": [\"ns1\"]}", 422,
               "invalid_reference", "namespaces",
               "namespace 'ns1' is not one of the master's namespaces");
    refused_as(s, f->t2_auth, "POST", "/v1/tokens/1/rotate", "{\"grace_seconds\": -1}", 400,
               "invalid_value", "grace_seconds", "grace_seconds must be between 0 and 86400");
}

static void other_refusals(struct ht_server *s)
{
    not_found(s, "POST", "/admin/sync/outbox/999999/retry", NULL, "outbox row");
    refused(s, "GET", "/admin/sync/outbox?status=gone", NULL, 400, "invalid_value", "status",
            "status must be one of: pending, failed");
    refused(s, "GET", "/admin/audit?actor_type=robot", NULL, 400, "invalid_request",
            "actor_type", "actor_type must be admin, master or anonymous");
    refused(s, "GET", "/admin/audit?since=yesterday", NULL, 400, "invalid_request", "since",
            "since and until must be RFC 3339 timestamps");
    refused(s, "GET", "/admin/audit?limit=0", NULL, 400, "invalid_request", "limit",
            "limit must be an integer from 1 to 200");
    refused(s, "GET", "/admin/audit?cursor=zzz", NULL, 400, "invalid_request", "cursor",
            "cursor is not one this server issued");
    char long_action[300];
    memset(long_action, 'a', 257);
    long_action[257] = 0;
    char *p = ht_strf("/admin/audit?action=%s", long_action);
    refused(s, "GET", p, NULL, 400, "invalid_request", "action",
            "action is longer than 256 bytes");
    free(p);
    refused(s, "POST", "/admin/route/explain", "{\"model\": \"ns1.pm\"}", 400, "invalid_value",
            "key_id", "key_id or token is required");
    not_found(s, "POST", "/admin/route/explain", "{\"key_id\": 999999, \"model\": \"ns1.pm\"}",
              "key");
}

START_TEST(every_refusal_is_answered_exactly_and_changes_nothing)
{
    struct ht_server srv, *s = &srv;
    ht_server_start(s, NULL);
    struct fixture f;
    make_fixture(s, &f);
    char *before = rows_state();
    namespace_refusals(s, &f);
    provider_refusals(s, &f);
    catalog_refusals(s, &f);
    tenant_refusals(s, &f);
    other_refusals(s);
    char *after = rows_state();
    ck_assert_msg(strcmp(before, after) == 0, "a refused request changed rows");
    free(before);
    free(after);
    ht_assert_clean_stop(s);
}
END_TEST

static Suite *refusals_suite(void)
{
    Suite *s = suite_create("refusals");
    TCase *tc = ht_tcase("refusals");
    tcase_add_test(tc, every_refusal_is_answered_exactly_and_changes_nothing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ht_run_suite(refusals_suite());
}
