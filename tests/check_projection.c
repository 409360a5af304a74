/* Unit tests of the pure projection (common/projection.c): the exact bytes
 * of the provider snapshot, binding snapshot and capability JSON of
 * docs/redis.md, routability, selector resolution, the meta:models checksum and
 * the write set. No PostgreSQL, no Redis. */
#include "common/projection.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#define NOW 1700000000

static const char *const vertex_models[] = { "gemini-3-pro-preview" };

static struct ez_group_row spec_group(void)
{
    struct ez_group_row g = { .id = 7, .name = "pg1", .type = "vertex-express",
                             .base_url = NULL, .google_project = "proj-1",
                             .google_location = "global", .models = vertex_models,
                             .nmodels = 1, .status = "active", .updated_at = 100 };
    return g;
}

static struct ez_api_key_row spec_key(void)
{
    struct ez_api_key_row k = { .id = 42, .group_id = 7, .api_key = "sk-123", .weight = 1,
                           .status = "active", .auto_ban = 1, .ban_reason = NULL,
                           .ban_until = 0, .updated_at = 100 };
    return k;
}

/* Dumps v the way the syncer stores it, releases v, returns a static copy. */
static const char *text(json_t *v)
{
    static char buf[4096];
    ck_assert_ptr_nonnull(v);
    char *s = ez_projection_dump(v);
    json_decref(v);
    ck_assert_ptr_nonnull(s);
    snprintf(buf, sizeof buf, "%s", s);
    free(s);
    return buf;
}

/* ---- Provider snapshot ---------------------------------------------------- */

START_TEST(provider_snapshot_spec_example)
{
    struct ez_group_row g = spec_group();
    struct ez_api_key_row k = spec_key();
    ck_assert_str_eq(text(ez_projection_provider_json(&g, &k)),
                     "{\"id\":42,\"name\":\"pg1#42\",\"type\":\"vertex-express\",\"base_url\":\"\","
                     "\"api_key\":\"sk-123\",\"google_project\":\"proj-1\","
                     "\"google_location\":\"global\",\"group_id\":7,\"group\":\"pg1\","
                     "\"models\":[\"gemini-3-pro-preview\"],\"status\":\"active\","
                     "\"auto_ban\":true,\"weight\":1,\"ban_until\":0,\"ban_reason\":\"\"}");
}
END_TEST

START_TEST(provider_snapshot_disabled_group_and_ban)
{
    static const char *const models[] = { "gpt-4o", "gpt-4o-mini" };
    struct ez_group_row g = { .id = 3, .name = "oa", .type = "openai",
                             .base_url = "https://api.openai.com/v1", .models = models,
                             .nmodels = 2, .status = "disabled" };
    struct ez_api_key_row k = { .id = 9, .group_id = 3, .api_key = "sk-x", .weight = 5,
                           .status = "auto_disabled", .auto_ban = 0,
                           .ban_reason = "quota \"exceeded\"", .ban_until = 1800000000 };
    ck_assert_str_eq(text(ez_projection_provider_json(&g, &k)),
                     "{\"id\":9,\"name\":\"oa#9\",\"type\":\"openai\","
                     "\"base_url\":\"https://api.openai.com/v1\",\"api_key\":\"sk-x\","
                     "\"google_project\":\"\",\"google_location\":\"\",\"group_id\":3,"
                     "\"group\":\"oa\",\"models\":[\"gpt-4o\",\"gpt-4o-mini\"],"
                     "\"status\":\"disabled\",\"auto_ban\":false,\"weight\":5,"
                     "\"ban_until\":1800000000,\"ban_reason\":\"quota \\\"exceeded\\\"\"}");
    /* The key's own status shows while the group is active. */
    g.status = "active";
    json_t *v = ez_projection_provider_json(&g, &k);
    ck_assert_str_eq(json_string_value(json_object_get(v, "status")), "auto_disabled");
    json_decref(v);
}
END_TEST

/* ---- Routability -------------------------------------------------------- */

START_TEST(routable_rules)
{
    struct ez_group_row g = spec_group();
    struct ez_api_key_row k = spec_key();
    ck_assert_int_eq(ez_projection_routable(&g, &k, NOW), 1);

    g.status = "disabled";
    ck_assert_int_eq(ez_projection_routable(&g, &k, NOW), 0);
    g.status = "active";

    k.status = "auto_disabled";
    ck_assert_int_eq(ez_projection_routable(&g, &k, NOW), 0);
    k.status = "manual_disabled";
    ck_assert_int_eq(ez_projection_routable(&g, &k, NOW), 0);
    k.status = "active";

    k.weight = 0;
    ck_assert_int_eq(ez_projection_routable(&g, &k, NOW), 0);
    k.weight = 1000;
    ck_assert_int_eq(ez_projection_routable(&g, &k, NOW), 1);

    k.ban_until = NOW + 1; /* banned until the future */
    ck_assert_int_eq(ez_projection_routable(&g, &k, NOW), 0);
    k.ban_until = NOW;     /* the ban ends now */
    ck_assert_int_eq(ez_projection_routable(&g, &k, NOW), 1);
    k.ban_until = NOW - 3600; /* a ban that has passed */
    ck_assert_int_eq(ez_projection_routable(&g, &k, NOW), 1);
}
END_TEST

/* ---- Selector resolution --------------------------------------------------- */

START_TEST(resolve_exact)
{
    static const char *const m[] = { "gpt-4o-mini", "gpt-4o", "GPT-4O" };
    const char *up = "x";
    ck_assert_int_eq(ez_projection_resolve("exact", "gpt-4o", m, 3, &up), 0);
    ck_assert_ptr_eq(up, m[1]);
    ck_assert_int_eq(ez_projection_resolve("exact", "gpt-4", m, 3, &up), -1);
    ck_assert_ptr_null(up);
    ck_assert_int_eq(ez_projection_resolve("exact", "gpt-4o", m, 0, &up), -1);
    ck_assert_int_eq(ez_projection_resolve("fuzzy", "gpt-4o", m, 3, &up), -1);
}
END_TEST

START_TEST(resolve_regex)
{
    static const char *const m[] = { "gemini-2.5-flash", "gemini-2.5-pro", "models/gemini-3-pro" };
    const char *up = NULL;
    ck_assert_int_eq(ez_projection_resolve("regex", "flash$", m, 3, &up), 0); /* unanchored */
    ck_assert_str_eq(up, "gemini-2.5-flash");
    ck_assert_int_eq(ez_projection_resolve("regex", "^models/gemini-[0-9]+-pro$", m, 3, &up), 0);
    ck_assert_str_eq(up, "models/gemini-3-pro");
    /* Several matches, none, and an invalid pattern are errors. */
    ck_assert_int_eq(ez_projection_resolve("regex", "pro", m, 3, &up), -1);
    ck_assert_ptr_null(up);
    ck_assert_int_eq(ez_projection_resolve("regex", "claude", m, 3, &up), -1);
    ck_assert_int_eq(ez_projection_resolve("regex", "gemini-(2", m, 3, &up), -1);
    ck_assert_int_eq(ez_projection_resolve("regex", "[z-a]", m, 3, &up), -1);
}
END_TEST

START_TEST(resolve_normalize_exact)
{
    static const char *const m[] = { "models/gemini-3-pro", "gemini-2.5-flash" };
    const char *up = NULL;
    ck_assert_int_eq(ez_projection_resolve("normalize_exact", "Gemini-3-Pro", m, 2, &up), 0);
    ck_assert_str_eq(up, "models/gemini-3-pro");
    ck_assert_int_eq(ez_projection_resolve("normalize_exact", "publishers/google/GEMINI-2.5-FLASH", m, 2,
                                   &up), 0);
    ck_assert_str_eq(up, "gemini-2.5-flash");
    ck_assert_int_eq(ez_projection_resolve("normalize_exact", "gemini-3", m, 2, &up), -1);
    /* Two models with the same normalized name: ambiguous. */
    static const char *const two[] = { "a/Gemini-3-Pro", "b/gemini-3-pro" };
    ck_assert_int_eq(ez_projection_resolve("normalize_exact", "gemini-3-pro", two, 2, &up), -1);
    ck_assert_ptr_null(up);
}
END_TEST

/* ---- Binding snapshot ------------------------------------------------------ */

START_TEST(binding_snapshot_candidates)
{
    static const char *const gm[] = { "gpt-4o", "gpt-4o-mini" };
    struct ez_group_row ok = { .id = 1, .name = "g-ok", .type = "openai", .models = gm,
                              .nmodels = 2, .status = "active", .updated_at = 500 };
    struct ez_api_key_row ok_keys[] = {
        { .id = 11, .group_id = 1, .weight = 2, .status = "active", .updated_at = 400 },
        { .id = 12, .group_id = 1, .weight = 1, .status = "manual_disabled", .updated_at = 900 },
        { .id = 13, .group_id = 1, .weight = 3, .status = "active", .ban_until = NOW + 60 },
        { .id = 14, .group_id = 1, .weight = 1, .status = "active", .ban_until = NOW - 60 },
    };
    struct ez_group_row dead = { .id = 2, .name = "g-dead", .type = "openai", .models = gm,
                                .nmodels = 2, .status = "active", .updated_at = 300 };
    struct ez_api_key_row dead_keys[] = {
        { .id = 21, .group_id = 2, .weight = 0, .status = "active", .updated_at = 200 },
    };
    struct ez_binding_row b[] = {
        { .id = 1, .ns = "team-a", .public_model = "gpt-4o", .group_id = 1, .weight = 10,
          .selector_type = "exact", .selector_value = "gpt-4o", .status = "active",
          .updated_at = 100 },
        { .id = 2, .ns = "team-a", .public_model = "gpt-4o", .group_id = 1, .weight = 1,
          .selector_type = "regex", .selector_value = "gpt-4o", .status = "disabled",
          .updated_at = 150 },
        { .id = 3, .ns = "team-a", .public_model = "gpt-4o", .group_id = 2, .weight = 5,
          .selector_type = "exact", .selector_value = "gpt-4o", .status = "active",
          .updated_at = 120 },
    };
    struct ez_candidate_rows c[] = {
        { &b[0], &ok, ok_keys, 4 },
        { &b[1], &ok, ok_keys, 4 },
        { &b[2], &dead, dead_keys, 1 },
    };
    ck_assert_str_eq(
        text(ez_projection_binding_json(c, 3, NOW)),
        "{\"namespace\":\"team-a\",\"public_model\":\"gpt-4o\",\"status\":\"active\","
        "\"updated_at\":900,\"candidates\":["
        "{\"group_id\":1,\"route_group\":\"g-ok\",\"weight\":10,\"selector_type\":\"exact\","
        "\"selector_value\":\"gpt-4o\",\"status\":\"active\","
        "\"upstreams\":{\"11\":\"gpt-4o\",\"14\":\"gpt-4o\"}},"
        "{\"group_id\":1,\"route_group\":\"g-ok\",\"weight\":1,\"selector_type\":\"regex\","
        "\"selector_value\":\"gpt-4o\",\"status\":\"disabled\",\"error\":\"config_error\","
        "\"upstreams\":{}},"
        "{\"group_id\":2,\"route_group\":\"g-dead\",\"weight\":5,\"selector_type\":\"exact\","
        "\"selector_value\":\"gpt-4o\",\"status\":\"active\",\"error\":\"no_provider\","
        "\"upstreams\":{}}]}");

    /* Every row disabled: the snapshot is still written, as disabled. */
    b[0].status = "disabled";
    b[2].status = "disabled";
    json_t *v = ez_projection_binding_json(c, 3, NOW);
    ck_assert_str_eq(json_string_value(json_object_get(v, "status")), "disabled");
    json_decref(v);
    ck_assert_ptr_null(ez_projection_binding_json(c, 0, NOW));
}
END_TEST

START_TEST(candidate_regex_and_normalize)
{
    static const char *const gm[] = { "models/Gemini-3-Pro-Preview", "gemini-2.5-flash" };
    struct ez_group_row g = { .id = 4, .name = "vx", .type = "vertex", .models = gm, .nmodels = 2,
                             .status = "active", .updated_at = 10 };
    struct ez_api_key_row keys[] = { { .id = 5, .group_id = 4, .weight = 1, .status = "active" } };
    struct ez_binding_row b = { .id = 1, .ns = "n", .public_model = "gemini-3-pro", .group_id = 4,
                               .weight = 1, .selector_type = "normalize_exact",
                               .selector_value = "gemini-3-pro-preview", .status = "active" };
    struct ez_candidate_rows c = { &b, &g, keys, 1 };
    int64_t ua = 0;
    ck_assert_str_eq(text(ez_projection_candidate_json(&c, NOW, &ua)),
                     "{\"group_id\":4,\"route_group\":\"vx\",\"weight\":1,"
                     "\"selector_type\":\"normalize_exact\","
                     "\"selector_value\":\"gemini-3-pro-preview\",\"status\":\"active\","
                     "\"upstreams\":{\"5\":\"models/Gemini-3-Pro-Preview\"}}");
    ck_assert_int_eq(ua, 10);
    /* A group that is disabled leaves no routable key. */
    g.status = "disabled";
    json_t *v = ez_projection_candidate_json(&c, NOW, &ua);
    ck_assert_str_eq(json_string_value(json_object_get(v, "error")), "no_provider");
    ck_assert_int_eq(json_object_size(json_object_get(v, "upstreams")), 0);
    json_decref(v);
}
END_TEST

/* ---- Capabilities ------------------------------------------------------------ */

START_TEST(model_json_omits_unset)
{
    struct ez_model_row m = { .name = "gpt-4o", .kind = NULL, .supports_vision = EZ_FLAG_UNSET,
                             .supports_functions = EZ_FLAG_UNSET,
                             .supports_tool_choice = EZ_FLAG_UNSET, .supports_fim = EZ_FLAG_UNSET,
                             .supports_stream = EZ_FLAG_UNSET };
    ck_assert_str_eq(text(ez_projection_model_json(&m)), "{\"name\":\"gpt-4o\"}");
    m.kind = "chat";
    m.supports_fim = 0;
    ck_assert_str_eq(text(ez_projection_model_json(&m)),
                     "{\"name\":\"gpt-4o\",\"kind\":\"chat\",\"supports_fim\":false}");
}
END_TEST

START_TEST(model_json_full_order)
{
    struct ez_model_row m = { .name = "gemini-2.5-pro", .kind = "chat",
                             .context_window = 1048576, .max_output_tokens = 65536,
                             .has_cost = 1, .cost_per_token = 1.25e-06, .supports_vision = 1,
                             .supports_functions = 1, .supports_tool_choice = 0,
                             .supports_fim = 0, .supports_stream = 1 };
    ck_assert_str_eq(text(ez_projection_model_json(&m)),
                     "{\"name\":\"gemini-2.5-pro\",\"kind\":\"chat\",\"context_window\":1048576,"
                     "\"cost_per_token\":1.25e-6,\"supports_vision\":true,"
                     "\"supports_functions\":true,\"supports_tool_choice\":false,"
                     "\"supports_fim\":false,\"supports_stream\":true,"
                     "\"max_output_tokens\":65536}");
    m.cost_per_token = 0.1; /* shortest exact form, not 0.10000000000000001 */
    json_t *v = ez_projection_model_json(&m);
    ck_assert_ptr_nonnull(strstr(text(v), "\"cost_per_token\":0.1,"));
    m.cost_per_token = 0; /* a cost of 0 is set (free), unlike NULL */
    ck_assert_ptr_nonnull(strstr(text(ez_projection_model_json(&m)), "\"cost_per_token\":0.0,"));
}
END_TEST

/* ---- Checksum ---------------------------------------------------------------- */

static void sha256_hex(const char *s, char hex[65])
{
    unsigned char d[32];
    unsigned int n = 0;
    ck_assert_int_eq(EVP_Digest(s, strlen(s), d, &n, EVP_sha256(), NULL), 1);
    for (unsigned int i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

START_TEST(checksum_known_input)
{
    struct ez_models_checksum s;
    char got[65], want[65];
    ck_assert_int_eq(ez_models_checksum_init(&s), 0);
    ck_assert_int_eq(ez_models_checksum_add(&s, "team-a.gpt-4o", "{\"name\":\"gpt-4o\"}"), 0);
    ck_assert_int_eq(ez_models_checksum_add(&s, "team-b.o3", "{\"name\":\"o3\",\"kind\":\"chat\"}"), 0);
    ck_assert_int_eq(ez_models_checksum_final(&s, got), 0);
    sha256_hex("team-a.gpt-4o\n{\"name\":\"gpt-4o\"}\n"
               "team-b.o3\n{\"name\":\"o3\",\"kind\":\"chat\"}\n", want);
    ck_assert_str_eq(got, want);
    ck_assert_int_eq((int)strlen(got), 64);

    /* No field at all: the SHA-256 of the empty string. */
    ck_assert_int_eq(ez_models_checksum_init(&s), 0);
    ck_assert_int_eq(ez_models_checksum_final(&s, got), 0);
    ck_assert_str_eq(got, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

/* ---- Write sets ------------------------------------------------------------------ */

START_TEST(write_set_dedupes_and_last_put_wins)
{
    struct ez_write_set s;
    ez_write_set_init(&s);
    ck_assert_int_eq(ez_write_set_own(&s, "route:group:b", NULL), 0);
    ck_assert_int_eq(ez_write_set_own(&s, "config:providers", "2"), 0);
    ck_assert_int_eq(ez_write_set_own(&s, "config:providers", "1"), 0);
    ck_assert_int_eq(ez_write_set_own(&s, "config:providers", "2"), 0);
    ck_assert_int_eq(ez_write_set_put(&s, "config:providers", "2", strdup("old")), 0);
    ck_assert_int_eq(ez_write_set_put(&s, "route:group:b", "7", strdup("3")), 0);
    ck_assert_int_eq(ez_write_set_put(&s, "config:providers", "2", strdup("new")), 0);
    ez_write_set_finish(&s);
    ck_assert_uint_eq(s.nown, 3);
    ck_assert_uint_eq(s.nput, 2);
    ck_assert_str_eq(s.own[0].key, "config:providers");
    ck_assert_str_eq(s.own[0].field, "1");
    ck_assert_ptr_null(s.own[2].field);
    ck_assert_str_eq(ez_write_set_get(&s, "config:providers", "2"), "new");
    ck_assert_str_eq(ez_write_set_get(&s, "route:group:b", "7"), "3");
    ck_assert_ptr_null(ez_write_set_get(&s, "config:providers", "1"));
    ez_write_set_finish(&s); /* idempotent */
    ck_assert_uint_eq(s.nput, 2);
    ez_write_set_clear(&s);
    ck_assert_uint_eq(s.nown, 0);
}
END_TEST

START_TEST(binding_field_and_namespace_json)
{
    char *f = ez_projection_binding_field("team-a", "models/gemini-3-pro");
    ck_assert_str_eq(f, "team-a.models/gemini-3-pro");
    free(f);
    ck_assert_str_eq(text(ez_projection_namespace_json("team-a", "suspended")),
                     "{\"name\":\"team-a\",\"status\":\"suspended\"}");
}
END_TEST

/* docs/redis.md: a real is stored as the shortest decimal that reads back
 * as the same double. */
START_TEST(dump_writes_reals_in_their_shortest_form)
{
    static const struct {
        double v;
        const char *text;
    } reals[] = { { 2.5e-6, "2.5e-6" }, { 0.1, "0.1" }, { 0.0, "0.0" }, { 1.25e-6, "1.25e-6" },
                  { 0.30000000000000004, "0.30000000000000004" }, { 123.0, "123.0" } };
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
        json_t *j = json_real(reals[i].v);
        char *text = ez_projection_dump(j);
        ck_assert_msg(text && strcmp(text, reals[i].text) == 0, "%.17g dumped as %s, expected %s",
                      reals[i].v, text ? text : "(null)", reals[i].text);
        ck_assert(strtod(text, NULL) == reals[i].v);
        free(text);
        json_decref(j);
    }
    /* integers stay integers, and fields keep their order */
    json_t *o = json_pack("{s:i,s:s,s:b,s:n}", "z", 1, "a", "x", "m", 1, "b");
    char *text = ez_projection_dump(o);
    ck_assert_str_eq(text, "{\"z\":1,\"a\":\"x\",\"m\":true,\"b\":null}");
    free(text);
    json_decref(o);
    ck_assert_ptr_null(ez_projection_dump(NULL));
}
END_TEST

static Suite *projection_suite(void)
{
    Suite *s = suite_create("projection");
    TCase *t = tcase_create("values");
    tcase_add_test(t, provider_snapshot_spec_example);
    tcase_add_test(t, provider_snapshot_disabled_group_and_ban);
    tcase_add_test(t, routable_rules);
    tcase_add_test(t, resolve_exact);
    tcase_add_test(t, resolve_regex);
    tcase_add_test(t, resolve_normalize_exact);
    tcase_add_test(t, binding_snapshot_candidates);
    tcase_add_test(t, candidate_regex_and_normalize);
    tcase_add_test(t, model_json_omits_unset);
    tcase_add_test(t, model_json_full_order);
    tcase_add_test(t, checksum_known_input);
    tcase_add_test(t, write_set_dedupes_and_last_put_wins);
    tcase_add_test(t, binding_field_and_namespace_json);
    tcase_add_test(t, dump_writes_reals_in_their_shortest_form);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(projection_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
