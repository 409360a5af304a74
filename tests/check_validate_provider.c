/* The rules of provider groups, api keys, presets and custom providers
 * (worker/validate_provider.c) called directly: every field rule of
 * docs/providers.md, bad input first, the rules between fields, and the
 * list filters. Pure: no server, no database. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/validate_unit.h"
#include "worker/validate_provider.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Provider groups -------------------------------------------------- */

#define GROUP_OK "\"name\":\"pg1\",\"type\":\"openai\",\"models\":[\"gpt-4o\"]"

static struct vu_result group_of(const char *text, int create)
{
    json_t *b = vu_body(text);
    struct ez_group_in in = { 0 };
    struct ez_verr e;
    struct vu_result r = vu_result(ez_validate_group(b, create, &in, &e), &e);
    ez_group_in_free(&in);
    json_decref(b);
    return r;
}

START_TEST(group_create_refusals)
{
    const struct vu_case cases[] = {
        { NULL, 400, NULL },
        { "{\"type\":\"openai\",\"models\":[\"m\"]}", 400, "name" },
        { "{\"name\":\"pg1\",\"models\":[\"m\"]}", 400, "type" },
        { "{\"name\":\"pg1\",\"type\":\"openai\"}", 400, "models" },
        { "{" GROUP_OK ",\"colour\":1}", 400, "colour" },
        /* name: [A-Za-z0-9][A-Za-z0-9._-]{0,63} */
        { "{\"name\":\"\",\"type\":\"openai\",\"models\":[\"m\"]}", 400, "name" },
        { "{\"name\":\"-pg\",\"type\":\"openai\",\"models\":[\"m\"]}", 400, "name" },
        { "{\"name\":\".pg\",\"type\":\"openai\",\"models\":[\"m\"]}", 400, "name" },
        { "{\"name\":\"p g\",\"type\":\"openai\",\"models\":[\"m\"]}", 400, "name" },
        { "{\"name\":\"p/g\",\"type\":\"openai\",\"models\":[\"m\"]}", 400, "name" },
        { "{\"name\":\"p\\u00e9\",\"type\":\"openai\",\"models\":[\"m\"]}", 400, "name" },
        { "{\"name\":null,\"type\":\"openai\",\"models\":[\"m\"]}", 400, "name" },
        { "{\"name\":5,\"type\":\"openai\",\"models\":[\"m\"]}", 400, "name" },
        { vu_fmt("{\"name\":\"%s\",\"type\":\"openai\",\"models\":[\"m\"]}", vu_repeat('a', 65)),
          400, "name" },
        /* type: one of the 13, after trimming and lower-casing */
        { "{\"name\":\"pg1\",\"type\":\"azure\",\"models\":[\"m\"]}", 400, "type" },
        { "{\"name\":\"pg1\",\"type\":\"\",\"models\":[\"m\"]}", 400, "type" },
        { "{\"name\":\"pg1\",\"type\":\"open ai\",\"models\":[\"m\"]}", 400, "type" },
        { "{\"name\":\"pg1\",\"type\":null,\"models\":[\"m\"]}", 400, "type" },
        { "{\"name\":\"pg1\",\"type\":[\"openai\"],\"models\":[\"m\"]}", 400, "type" },
        /* models: 1 to 1000 strings, each trimmed, not empty, at most 256 bytes */
        { "{\"name\":\"pg1\",\"type\":\"openai\",\"models\":[]}", 400, "models" },
        { "{\"name\":\"pg1\",\"type\":\"openai\",\"models\":null}", 400, "models" },
        { "{\"name\":\"pg1\",\"type\":\"openai\",\"models\":\"gpt-4o\"}", 400, "models" },
        { "{\"name\":\"pg1\",\"type\":\"openai\",\"models\":[1]}", 400, "models" },
        { "{\"name\":\"pg1\",\"type\":\"openai\",\"models\":[\"\"]}", 400, "models" },
        { "{\"name\":\"pg1\",\"type\":\"openai\",\"models\":[\"  \\t \"]}", 400, "models" },
        { "{\"name\":\"pg1\",\"type\":\"openai\",\"models\":[\"a\\u0000b\"]}", 400, "models" },
        { "{\"name\":\"pg1\",\"type\":\"openai\",\"models\":[\"a\\u0001b\"]}", 400, "models" },
        { "{\"name\":\"pg1\",\"type\":\"openai\",\"models\":[\"a\\u007fb\"]}", 400, "models" },
        { vu_fmt("{\"name\":\"pg1\",\"type\":\"openai\",\"models\":[\"%s\"]}", vu_repeat('m', 257)),
          400, "models" },
        /* base_url: http(s), printable ASCII, a host, a port in range, no user, no fragment */
        { "{" GROUP_OK ",\"base_url\":\"ftp://h\"}", 400, "base_url" },
        { "{" GROUP_OK ",\"base_url\":\"api.openai.com\"}", 400, "base_url" },
        { "{" GROUP_OK ",\"base_url\":\"https://\"}", 400, "base_url" },
        { "{" GROUP_OK ",\"base_url\":\"https:///v1\"}", 400, "base_url" },
        { "{" GROUP_OK ",\"base_url\":\"https://h st/v1\"}", 400, "base_url" },
        { "{" GROUP_OK ",\"base_url\":\"https://h\\u00e9/v1\"}", 400, "base_url" },
        { "{" GROUP_OK ",\"base_url\":\"https://u:p@h/v1\"}", 400, "base_url" },
        { "{" GROUP_OK ",\"base_url\":\"https://h/v1#top\"}", 400, "base_url" },
        { "{" GROUP_OK ",\"base_url\":\"https://h:0\"}", 400, "base_url" },
        { "{" GROUP_OK ",\"base_url\":\"https://h:65536\"}", 400, "base_url" },
        { "{" GROUP_OK ",\"base_url\":\"https://h:80a\"}", 400, "base_url" },
        { "{" GROUP_OK ",\"base_url\":\"https://h:\"}", 400, "base_url" },
        { "{" GROUP_OK ",\"base_url\":\"https://[]/\"}", 400, "base_url" },
        { "{" GROUP_OK ",\"base_url\":\"https://[::g]/\"}", 400, "base_url" },
        { "{" GROUP_OK ",\"base_url\":\"https://[::1]x/\"}", 400, "base_url" },
        { "{" GROUP_OK ",\"base_url\":7}", 400, "base_url" },
        { vu_fmt("{" GROUP_OK ",\"base_url\":\"https://h/%s\"}", vu_repeat('p', 2048 - 10 + 1)),
          400, "base_url" },
        /* compatible needs a base_url */
        { "{\"name\":\"pg1\",\"type\":\"compatible\",\"models\":[\"m\"]}", 400, "base_url" },
        { "{\"name\":\"pg1\",\"type\":\"compatible\",\"models\":[\"m\"],\"base_url\":\"\"}", 400,
          "base_url" },
        { "{\"name\":\"pg1\",\"type\":\"compatible\",\"models\":[\"m\"],\"base_url\":null}", 400,
          "base_url" },
        /* google_*: trimmed, bounded, nullable */
        { vu_fmt("{" GROUP_OK ",\"google_project\":\"%s\"}", vu_repeat('p', 129)), 400,
          "google_project" },
        { vu_fmt("{" GROUP_OK ",\"google_location\":\"%s\"}", vu_repeat('l', 65)), 400,
          "google_location" },
        { "{" GROUP_OK ",\"google_project\":1}", 400, "google_project" },
        { "{" GROUP_OK ",\"google_location\":\"eu\\u0002\"}", 400, "google_location" },
        /* status */
        { "{" GROUP_OK ",\"status\":\"banned\"}", 400, "status" },
        { "{" GROUP_OK ",\"status\":\"auto_disabled\"}", 400, "status" },
        { "{" GROUP_OK ",\"status\":null}", 400, "status" },
    };
    for (size_t i = 0; i < N(cases); i++)
        vu_refused(group_of(cases[i].body, 1), cases[i].status, cases[i].param,
                   cases[i].body ? cases[i].body : "no body");
}
END_TEST

START_TEST(group_models_bounds_and_cleaning)
{
    /* 1000 entries pass, 1001 do not */
    json_t *b = vu_body("{" GROUP_OK "}");
    json_t *models = json_array();
    for (int i = 0; i < 1001; i++) {
        char m[16];
        snprintf(m, sizeof m, "m%d", i);
        json_array_append_new(models, json_string(m));
    }
    json_object_set_new(b, "models", models);
    struct ez_group_in in = { 0 };
    struct ez_verr e;
    vu_refused(vu_result(ez_validate_group(b, 1, &in, &e), &e), 400, "models", "1001 models");
    ez_group_in_free(&in);
    json_array_remove(models, 1000);
    in = (struct ez_group_in){ 0 };
    vu_accepted(vu_result(ez_validate_group(b, 1, &in, &e), &e), "1000 models");
    ck_assert_uint_eq(json_array_size(in.models), 1000);
    ez_group_in_free(&in);
    json_decref(b);

    /* trimmed; duplicates after trimming dropped, first place kept */
    b = vu_body("{\"name\":\"pg1\",\"type\":\"openai\",\"models\":"
                "[\" b \",\"a\",\"b\",\"\\tc\\n\",\"a \"]}");
    in = (struct ez_group_in){ 0 };
    vu_accepted(vu_result(ez_validate_group(b, 1, &in, &e), &e), "duplicates");
    char *got = json_dumps(in.models, JSON_COMPACT);
    ck_assert_str_eq(got, "[\"b\",\"a\",\"c\"]");
    free(got);
    ez_group_in_free(&in);
    json_decref(b);

    /* 256 bytes after trimming is the limit, blanks around it do not count */
    vu_accepted(group_of(vu_fmt("{\"name\":\"pg1\",\"type\":\"openai\",\"models\":[\"  %s  \"]}",
                                vu_repeat('m', 256)), 1), "256 bytes between blanks");
}
END_TEST

START_TEST(group_accepted_and_normalised)
{
    json_t *b = vu_body("{\"name\":\"A1._-z\",\"type\":\"  Vertex-EXPRESS \","
                        "\"models\":[\"gemini\"],\"google_project\":\"  proj-1 \","
                        "\"google_location\":\"  \",\"base_url\":\"\",\"status\":\"disabled\"}");
    struct ez_group_in in = { 0 };
    struct ez_verr e;
    vu_accepted(vu_result(ez_validate_group(b, 1, &in, &e), &e), "vertex-express");
    ck_assert_str_eq(in.name, "A1._-z");
    ck_assert_str_eq(in.type, "vertex-express");
    ck_assert_str_eq(in.google_project, "proj-1");
    /* an empty location of a Vertex type becomes global */
    ck_assert_str_eq(in.google_location, "global");
    ck_assert_str_eq(in.base_url, "");
    ck_assert_str_eq(in.status, "disabled");
    ez_group_in_free(&in);
    json_decref(b);

    /* every documented type, in any case */
    for (int i = 0; ez_provider_types[i]; i++) {
        char upper[32];
        size_t n = strlen(ez_provider_types[i]);
        for (size_t j = 0; j <= n; j++)
            upper[j] = (char)(ez_provider_types[i][j] >= 'a' && ez_provider_types[i][j] <= 'z'
                                  ? ez_provider_types[i][j] - 32
                                  : ez_provider_types[i][j]);
        vu_accepted(group_of(vu_fmt("{\"name\":\"g\",\"type\":\"%s\",\"models\":[\"m\"],"
                                    "\"base_url\":\"http://h\"}", upper), 1), upper);
    }
    int ntypes = 0;
    while (ez_provider_types[ntypes])
        ntypes++;
    ck_assert_int_eq(ntypes, 13);

    static const char *const urls[] = {
        "https://api.openai.com/v1", "HTTP://h", "http://h:1", "https://h:65535/p?q=1",
        "https://[2001:db8::1]:8443/v1", "http://10.0.0.1/x", "https://my_host.local/a%20b",
    };
    for (size_t i = 0; i < N(urls); i++)
        vu_accepted(group_of(vu_fmt("{" GROUP_OK ",\"base_url\":\"%s\"}", urls[i]), 1), urls[i]);
    vu_accepted(group_of(vu_fmt("{" GROUP_OK ",\"base_url\":\"https://h/%s\"}",
                                vu_repeat('p', 2048 - 10)), 1), "a URL of 2048 bytes");
    vu_accepted(group_of(vu_fmt("{\"name\":\"%s\",\"type\":\"openai\",\"models\":[\"m\"]}",
                                vu_repeat('Z', 64)), 1), "a name of 64 bytes");
}
END_TEST

START_TEST(group_update_and_merge)
{
    vu_accepted(group_of(NULL, 0), "no body: nothing changes");
    vu_accepted(group_of("{}", 0), "an empty update");
    vu_refused(group_of("{\"models\":[]}", 0), 400, "models", "update to no model");
    vu_refused(group_of("{\"name\":\"-x\"}", 0), 400, "name", "update to a bad name");

    /* the rules between fields wait for the current row */
    json_t *cur = vu_body("{\"type\":\"openai\",\"base_url\":null,\"google_location\":null}");
    json_t *b = vu_body("{\"type\":\"compatible\"}");
    struct ez_group_in in = { 0 };
    struct ez_verr e;
    vu_accepted(vu_result(ez_validate_group(b, 0, &in, &e), &e), "type alone");
    vu_refused(vu_result(ez_group_merge(&in, cur, &e), &e), 400, "base_url",
               "compatible without a stored base_url");
    ez_group_in_free(&in);
    json_decref(b);
    json_decref(cur);

    cur = vu_body("{\"type\":\"compatible\",\"base_url\":\"https://h\"}");
    b = vu_body("{\"base_url\":null}");
    in = (struct ez_group_in){ 0 };
    vu_accepted(vu_result(ez_validate_group(b, 0, &in, &e), &e), "clearing base_url");
    ck_assert_int_eq(in.clear_base_url, 1);
    vu_refused(vu_result(ez_group_merge(&in, cur, &e), &e), 400, "base_url",
               "clearing the base_url of a compatible group");
    ez_group_in_free(&in);
    json_decref(b);

    b = vu_body("{\"models\":[\"x\"]}");
    in = (struct ez_group_in){ 0 };
    vu_accepted(vu_result(ez_validate_group(b, 0, &in, &e), &e), "models alone");
    vu_accepted(vu_result(ez_group_merge(&in, cur, &e), &e), "stored base_url kept");
    ez_group_in_free(&in);
    json_decref(b);
    json_decref(cur);

    /* a group that becomes Vertex, or loses its location while it is one, gets global */
    cur = vu_body("{\"type\":\"vertex\",\"google_location\":\"europe-west4\"}");
    b = vu_body("{\"google_location\":null}");
    in = (struct ez_group_in){ 0 };
    vu_accepted(vu_result(ez_validate_group(b, 0, &in, &e), &e), "clearing the location");
    vu_accepted(vu_result(ez_group_merge(&in, cur, &e), &e), "merge");
    ck_assert_str_eq(in.google_location, "global");
    ck_assert_int_eq(in.clear_google_location, 0);
    ez_group_in_free(&in);
    json_decref(b);
    b = vu_body("{\"models\":[\"x\"]}");
    in = (struct ez_group_in){ 0 };
    vu_accepted(vu_result(ez_validate_group(b, 0, &in, &e), &e), "models alone");
    vu_accepted(vu_result(ez_group_merge(&in, cur, &e), &e), "merge");
    ck_assert_ptr_null(in.google_location); /* the stored one stays */
    ez_group_in_free(&in);
    json_decref(b);
    json_decref(cur);
}
END_TEST

/* ---- API keys --------------------------------------------------------- */

#define KEY_OK "\"group_id\":1,\"api_key\":\"sk-test-0123456789\""

static struct vu_result key_of(const char *text, int create, struct ez_key_in *out)
{
    json_t *b = vu_body(text);
    struct ez_key_in in = { 0 };
    struct ez_verr e;
    struct vu_result r = vu_result(ez_validate_api_key(b, create, &in, &e), &e);
    if (out) /* only the copied buffer may be read after the body is gone */
        memcpy(out->ban_until_buf, in.ban_until_buf, sizeof in.ban_until_buf);
    json_decref(b);
    return r;
}

START_TEST(api_key_refusals)
{
    const struct vu_case create[] = {
        { NULL, 400, NULL },
        { "{\"api_key\":\"sk\"}", 400, "group_id" },
        { "{\"group_id\":1}", 400, "api_key" },
        { "{\"group_id\":0,\"api_key\":\"sk\"}", 400, "group_id" },
        { "{\"group_id\":-1,\"api_key\":\"sk\"}", 400, "group_id" },
        { "{\"group_id\":\"1\",\"api_key\":\"sk\"}", 400, "group_id" },
        { "{\"group_id\":null,\"api_key\":\"sk\"}", 400, "group_id" },
        { "{\"group_id\":1,\"api_key\":\"\"}", 400, "api_key" },
        { "{\"group_id\":1,\"api_key\":null}", 400, "api_key" },
        { "{\"group_id\":1,\"api_key\":12}", 400, "api_key" },
        { "{\"group_id\":1,\"api_key\":\"enc:v1:AAAA\"}", 400, "api_key" },
        { "{\"group_id\":1,\"api_key\":\"sk\\u0000x\"}", 400, "api_key" },
        { vu_fmt("{\"group_id\":1,\"api_key\":\"%s\"}", vu_repeat('k', 4097)), 400, "api_key" },
        { "{" KEY_OK ",\"weight\":-1}", 400, "weight" },
        { "{" KEY_OK ",\"weight\":1001}", 400, "weight" },
        { "{" KEY_OK ",\"weight\":1.5}", 400, "weight" },
        { "{" KEY_OK ",\"status\":\"disabled\"}", 400, "status" },
        { "{" KEY_OK ",\"auto_ban\":\"yes\"}", 400, "auto_ban" },
        { "{" KEY_OK ",\"auto_ban\":null}", 400, "auto_ban" },
        { vu_fmt("{" KEY_OK ",\"ban_reason\":\"%s\"}", vu_repeat('r', 1025)), 400, "ban_reason" },
        { "{" KEY_OK ",\"ban_until\":\"\"}", 400, "ban_until" },
        { "{" KEY_OK ",\"ban_until\":\"2030-01-31\"}", 400, "ban_until" },
        { "{" KEY_OK ",\"ban_until\":\"2030-01-31T12:00:00\"}", 400, "ban_until" },
        { "{" KEY_OK ",\"ban_until\":\"2030-01-31 12:00:00Z\"}", 400, "ban_until" },
        { "{" KEY_OK ",\"ban_until\":\"2030-02-30T12:00:00Z\"}", 400, "ban_until" },
        { "{" KEY_OK ",\"ban_until\":\"2031-02-29T12:00:00Z\"}", 400, "ban_until" },
        { "{" KEY_OK ",\"ban_until\":\"2030-01-31T24:00:00Z\"}", 400, "ban_until" },
        { "{" KEY_OK ",\"ban_until\":\"2030-01-31T12:00:60Z\"}", 400, "ban_until" },
        { "{" KEY_OK ",\"ban_until\":\"2030-01-31T12:00:00+0200\"}", 400, "ban_until" },
        { "{" KEY_OK ",\"ban_until\":\"2030-01-31T12:00:00+24:00\"}", 400, "ban_until" },
        { "{" KEY_OK ",\"ban_until\":\"2030-01-31T12:00:00.Z\"}", 400, "ban_until" },
        { "{" KEY_OK ",\"ban_until\":\"2030-01-31T12:00:00.1234567890Z\"}", 400, "ban_until" },
        { "{" KEY_OK ",\"ban_until\":\"0000-01-31T12:00:00Z\"}", 400, "ban_until" },
        { "{" KEY_OK ",\"ban_until\":1700000000}", 400, "ban_until" },
        { "{" KEY_OK ",\"group\":\"pg1\"}", 400, "group" },
    };
    for (size_t i = 0; i < N(create); i++)
        vu_refused(key_of(create[i].body, 1, NULL), create[i].status, create[i].param,
                   create[i].body ? create[i].body : "no body");
    /* the group cannot change */
    vu_refused(key_of("{\"group_id\":2}", 0, NULL), 400, "group_id", "moving a key");
    vu_refused(key_of("{\"api_key\":\"\"}", 0, NULL), 400, "api_key", "an empty new key");
}
END_TEST

START_TEST(api_key_accepted)
{
    json_t *b = vu_body("{\"group_id\":9007199254740993,\"api_key\":\"sk\",\"weight\":0,"
                        "\"status\":\"manual_disabled\",\"auto_ban\":false,"
                        "\"ban_reason\":\"\",\"ban_until\":\"2030-01-31t12:00:00.5z\"}");
    struct ez_key_in in = { 0 };
    struct ez_verr e;
    vu_accepted(vu_result(ez_validate_api_key(b, 1, &in, &e), &e), "every field");
    ck_assert(in.group_id == 9007199254740993LL);
    ck_assert_str_eq(in.api_key, "sk");
    ck_assert_int_eq(in.weight, 0);
    ck_assert_int_eq(in.has_weight, 1);
    ck_assert_str_eq(in.status, "manual_disabled");
    ck_assert_int_eq(in.has_auto_ban, 1);
    ck_assert_int_eq(in.auto_ban, 0);
    /* T and Z upper-cased, the rest as given */
    ck_assert_str_eq(in.ban_until, "2030-01-31T12:00:00.5Z");
    json_decref(b);

    vu_accepted(key_of(vu_fmt("{\"group_id\":1,\"api_key\":\"%s\",\"weight\":1000}",
                              vu_repeat('k', 4096)), 1, NULL), "4096 bytes, weight 1000");
    vu_accepted(key_of("{" KEY_OK ",\"ban_until\":\"2032-02-29T23:59:59-23:59\"}", 1, NULL),
                "a leap day and the largest offset");
    vu_accepted(key_of("{" KEY_OK ",\"api_key\":\"enc:v2:x\"}", 1, NULL), "only enc:v1: is kept");

    b = vu_body("{\"ban_reason\":null,\"ban_until\":null}");
    in = (struct ez_key_in){ 0 };
    vu_accepted(vu_result(ez_validate_api_key(b, 0, &in, &e), &e), "clearing the ban");
    ck_assert_int_eq(in.clear_ban_reason, 1);
    ck_assert_int_eq(in.clear_ban_until, 1);
    ck_assert_ptr_null(in.ban_until);
    json_decref(b);
    vu_accepted(key_of(NULL, 0, NULL), "no body: nothing changes");
}
END_TEST

/* ---- Presets and custom providers ------------------------------------- */

START_TEST(preset_and_custom)
{
    static const struct vu_case preset_bad[] = {
        { NULL, 400, NULL },
        { "{\"api_key\":\"sk\"}", 400, "preset" },
        { "{\"preset\":\"azure\",\"api_key\":\"sk\"}", 400, "preset" },
        { "{\"preset\":\"OpenAI\",\"api_key\":\"sk\"}", 400, "preset" },
        { "{\"preset\":\"openai\"}", 400, "api_key" },
        { "{\"preset\":\"openai\",\"api_key\":\"enc:v1:x\"}", 400, "api_key" },
        { "{\"preset\":\"openai\",\"api_key\":\"sk\",\"type\":\"openai\"}", 400, "type" },
        { "{\"preset\":\"openai\",\"api_key\":\"sk\",\"base_url\":\"https://h\"}", 400,
          "base_url" },
        { "{\"preset\":\"openai\",\"api_key\":\"sk\",\"name\":\"a b\"}", 400, "name" },
        { "{\"preset\":\"openai\",\"api_key\":\"sk\",\"models\":[]}", 400, "models" },
        { "{\"preset\":\"openai\",\"api_key\":\"sk\",\"weight\":1001}", 400, "weight" },
    };
    for (size_t i = 0; i < N(preset_bad); i++) {
        json_t *b = vu_body(preset_bad[i].body);
        struct ez_group_in g = { 0 };
        struct ez_key_in k = { 0 };
        struct ez_verr e;
        vu_refused(vu_result(ez_validate_preset(b, &g, &k, &e), &e), preset_bad[i].status,
                   preset_bad[i].param, preset_bad[i].body ? preset_bad[i].body : "no body");
        ez_group_in_free(&g);
        json_decref(b);
    }

    static const struct {
        const char *preset, *type, *base_url, *first_model;
    } presets[] = {
        { "openai", "openai", "https://api.openai.com/v1", "gpt-4o" },
        { "anthropic", "anthropic", "https://api.anthropic.com", "claude-sonnet-4-5" },
        { "gemini", "gemini", "https://generativelanguage.googleapis.com", "gemini-2.5-pro" },
    };
    for (size_t i = 0; i < N(presets); i++) {
        json_t *b = vu_body(vu_fmt("{\"preset\":\"%s\",\"api_key\":\"sk\"}", presets[i].preset));
        struct ez_group_in g = { 0 };
        struct ez_key_in k = { 0 };
        struct ez_verr e;
        vu_accepted(vu_result(ez_validate_preset(b, &g, &k, &e), &e), presets[i].preset);
        ck_assert_str_eq(g.name, presets[i].preset);
        ck_assert_str_eq(g.type, presets[i].type);
        ck_assert_str_eq(g.base_url, presets[i].base_url);
        ck_assert_str_eq(json_string_value(json_array_get(g.models, 0)), presets[i].first_model);
        ck_assert_str_eq(k.api_key, "sk");
        ez_group_in_free(&g);
        json_decref(b);
    }
    json_t *b = vu_body("{\"preset\":\"gemini\",\"api_key\":\"sk\",\"name\":\"g2\","
                        "\"models\":[\"x\"],\"weight\":3}");
    struct ez_group_in g = { 0 };
    struct ez_key_in k = { 0 };
    struct ez_verr e;
    vu_accepted(vu_result(ez_validate_preset(b, &g, &k, &e), &e), "preset with overrides");
    ck_assert_str_eq(g.name, "g2");
    ck_assert_uint_eq(json_array_size(g.models), 1);
    ck_assert_int_eq(k.weight, 3);
    ez_group_in_free(&g);
    json_decref(b);

    static const struct vu_case custom_bad[] = {
        { NULL, 400, NULL },
        { "{\"base_url\":\"https://h\",\"api_key\":\"sk\",\"models\":[\"m\"]}", 400, "name" },
        { "{\"name\":\"c\",\"api_key\":\"sk\",\"models\":[\"m\"]}", 400, "base_url" },
        { "{\"name\":\"c\",\"base_url\":\"\",\"api_key\":\"sk\",\"models\":[\"m\"]}", 400,
          "base_url" },
        { "{\"name\":\"c\",\"base_url\":null,\"api_key\":\"sk\",\"models\":[\"m\"]}", 400,
          "base_url" },
        { "{\"name\":\"c\",\"base_url\":\"h\",\"api_key\":\"sk\",\"models\":[\"m\"]}", 400,
          "base_url" },
        { "{\"name\":\"c\",\"base_url\":\"https://h\",\"models\":[\"m\"]}", 400, "api_key" },
        { "{\"name\":\"c\",\"base_url\":\"https://h\",\"api_key\":\"sk\"}", 400, "models" },
        { "{\"name\":\"c\",\"base_url\":\"https://h\",\"api_key\":\"sk\",\"models\":[\"m\"],"
          "\"type\":\"openai\"}", 400, "type" },
    };
    for (size_t i = 0; i < N(custom_bad); i++) {
        b = vu_body(custom_bad[i].body);
        g = (struct ez_group_in){ 0 };
        k = (struct ez_key_in){ 0 };
        vu_refused(vu_result(ez_validate_custom(b, &g, &k, &e), &e), custom_bad[i].status,
                   custom_bad[i].param, custom_bad[i].body ? custom_bad[i].body : "no body");
        ez_group_in_free(&g);
        json_decref(b);
    }
    b = vu_body("{\"name\":\"c\",\"base_url\":\"https://h/v1\",\"api_key\":\"sk\","
                "\"models\":[\"m\"]}");
    g = (struct ez_group_in){ 0 };
    k = (struct ez_key_in){ 0 };
    vu_accepted(vu_result(ez_validate_custom(b, &g, &k, &e), &e), "custom");
    ck_assert_str_eq(g.type, "compatible");
    ck_assert_str_eq(g.base_url, "https://h/v1");
    ez_group_in_free(&g);
    json_decref(b);
}
END_TEST

/* ---- List filters ----------------------------------------------------- */

START_TEST(filters)
{
    struct ez_verr e;
    const char *type = "x";
    vu_accepted(vu_result(ez_validate_group_filters(NULL, NULL, &type, &e), &e), "none");
    ck_assert_ptr_null(type);
    vu_accepted(vu_result(ez_validate_group_filters("disabled", " Vertex ", &type, &e), &e),
                "status and a type to normalise");
    ck_assert_str_eq(type, "vertex");
    vu_refused(vu_result(ez_validate_group_filters("banned", NULL, &type, &e), &e), 400,
               "status", "status banned");
    vu_refused(vu_result(ez_validate_group_filters("Active", NULL, &type, &e), &e), 400,
               "status", "status Active");
    vu_refused(vu_result(ez_validate_group_filters(NULL, "azure", &type, &e), &e), 400, "type",
               "type azure");

    int64_t gid = -1;
    vu_accepted(vu_result(ez_validate_key_filters(NULL, NULL, &gid, &e), &e), "none");
    ck_assert(gid == 0);
    vu_accepted(vu_result(ez_validate_key_filters("9223372036854775807", "auto_disabled", &gid,
                                                  &e), &e), "largest id");
    ck_assert(gid == INT64_MAX);
    static const char *const bad_ids[] = { "0", "-1", "+1", "01", "1x", "0x10", "",
                                           "9223372036854775808", " 1" };
    for (size_t i = 0; i < N(bad_ids); i++)
        vu_refused(vu_result(ez_validate_key_filters(bad_ids[i], NULL, &gid, &e), &e), 400,
                   "group_id", bad_ids[i]);
    vu_refused(vu_result(ez_validate_key_filters(NULL, "disabled", &gid, &e), &e), 400, "status",
               "key status disabled");

    int cascade = -1;
    vu_accepted(vu_result(ez_validate_cascade(NULL, &cascade, &e), &e), "absent");
    ck_assert_int_eq(cascade, 0);
    vu_accepted(vu_result(ez_validate_cascade("true", &cascade, &e), &e), "true");
    ck_assert_int_eq(cascade, 1);
    vu_accepted(vu_result(ez_validate_cascade("false", &cascade, &e), &e), "false");
    ck_assert_int_eq(cascade, 0);
    static const char *const bad_cascade[] = { "1", "yes", "TRUE", "", "true " };
    for (size_t i = 0; i < N(bad_cascade); i++)
        vu_refused(vu_result(ez_validate_cascade(bad_cascade[i], &cascade, &e), &e), 400,
                   "cascade", bad_cascade[i]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("validate_provider");
    TCase *t = tcase_create("groups");
    tcase_add_test(t, group_create_refusals);
    tcase_add_test(t, group_models_bounds_and_cleaning);
    tcase_add_test(t, group_accepted_and_normalised);
    tcase_add_test(t, group_update_and_merge);
    suite_add_tcase(s, t);
    t = tcase_create("api_keys");
    tcase_add_test(t, api_key_refusals);
    tcase_add_test(t, api_key_accepted);
    suite_add_tcase(s, t);
    t = tcase_create("presets");
    tcase_add_test(t, preset_and_custom);
    suite_add_tcase(s, t);
    t = tcase_create("filters");
    tcase_add_test(t, filters);
    suite_add_tcase(s, t);
    return vu_run(s);
}
