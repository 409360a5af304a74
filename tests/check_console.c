/* The admin console (docs/console.md): its files as embedded (sizes, no
 * inline code, nothing from another host), how the workers serve them
 * (types, ETag and 304, the security headers, ui = off and reload), the
 * `token admin --url` link, and the console itself in headless Chromium
 * driven by tests/console/console_test.py against the real server. */
#include "harness.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "worker/ui.h"

static struct ht_server S;

#define MARKUP "<img src=x onerror=window.pwned=1>"

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s = NULL;
    ck_assert(vasprintf(&s, f, ap) >= 0);
    va_end(ap);
    return s;
}

static json_t *call(const char *method, const char *path, const char *extra, const char *body,
                    int want)
{
    struct ht_resp r;
    char *headers = fmt("%s%s", ht_auth(&S, "admin"), extra ? extra : "");
    int st = ht_http(S.port, method, path, headers, body, body ? strlen(body) : 0, &r);
    free(headers);
    ck_assert_msg(st == want, "%s %s: HTTP %d %s, expected %d: %.600s", method, path, st, r.err,
                  want, r.body ? r.body : "");
    json_t *j = r.body_len ? ht_resp_json(&r) : NULL;
    ht_resp_free(&r);
    return j;
}

/* ---- Unit: the embedded files ------------------------------------------ */

static const struct ez_ui_asset *asset(const char *name)
{
    const struct ez_ui_asset *a = ez_ui_find(name);
    ck_assert_msg(a != NULL, "no embedded ui/%s", name);
    return a;
}

static int matches(const char *pattern, const unsigned char *data, size_t len)
{
    regex_t re;
    ck_assert_int_eq(regcomp(&re, pattern, REG_EXTENDED | REG_ICASE | REG_NOSUB), 0);
    char *s = strndup((const char *)data, len);
    int m = regexec(&re, s, 0, NULL, 0) == 0;
    free(s);
    regfree(&re);
    return m;
}

START_TEST(assets_are_small_and_hold_no_inline_code)
{
    size_t total = 0;
    ck_assert_int_gt(ez_ui_assets_count, 5);
    for (int i = 0; i < ez_ui_assets_count; i++) {
        const struct ez_ui_asset *a = &ez_ui_assets[i];
        total += a->len;
        ck_assert_msg(strlen(a->etag) == 34 && a->etag[0] == '"', "%s: etag %s", a->name, a->etag);
        ck_assert_msg(!matches("<script[^>]*>[^<]", a->data, a->len), "%s: inline script", a->name);
        ck_assert_msg(!matches("<style|[[:space:]]style=", a->data, a->len), "%s: inline style",
                      a->name);
        ck_assert_msg(!matches("[[:space:]]on[a-z]+=", a->data, a->len), "%s: inline handler",
                      a->name);
        ck_assert_msg(!matches("innerHTML|outerHTML|insertAdjacentHTML|document\\.write|eval\\(|"
                               "new Function|setAttribute\\('on",
                               a->data, a->len),
                      "%s: markup from strings or eval", a->name);
        /* url( of CSS, not createObjectURL( of a download made in the page */
        ck_assert_msg(!matches("(src|href)=\"(https?:)?//|@import|(^|[:[:space:]])url\\(", a->data,
                               a->len),
                      "%s: loads something from elsewhere", a->name);
    }
    ck_assert_msg(total < 250 * 1024, "the console weighs %zu bytes", total);
    /* every file the page and the modules name is embedded */
    const char *refs[] = { "index.html:/ui/app.js", "index.html:/ui/console.css",
                           "index.html:/ui/favicon.svg" };
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
        const char *colon = strchr(refs[i], ':');
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(colon - refs[i]), refs[i]);
        const struct ez_ui_asset *a = asset(name);
        ck_assert_msg(memmem(a->data, a->len, colon + 1, strlen(colon + 1)), "%s", refs[i]);
        asset(colon + 1 + 4);
    }
    for (int i = 0; i < ez_ui_assets_count; i++) {
        const struct ez_ui_asset *a = &ez_ui_assets[i];
        const char *p = (const char *)a->data, *end = p + a->len;
        while ((p = memmem(p, (size_t)(end - p), "from './", 8)) != NULL) {
            p += 8;
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)strcspn(p, "'"), p);
            ck_assert_msg(ez_ui_find(name), "%s imports %s, which is not embedded", a->name,
                          name);
        }
    }
}
END_TEST

START_TEST(etag_lists_match_as_http_says)
{
    const char *e = "\"0123\"";
    ck_assert(ez_ui_etag_matches("\"0123\"", e));
    ck_assert(ez_ui_etag_matches("W/\"0123\"", e));
    ck_assert(ez_ui_etag_matches("\"x\", \"0123\"", e));
    ck_assert(ez_ui_etag_matches(" *", e));
    ck_assert(!ez_ui_etag_matches("\"01234\"", e));
    ck_assert(!ez_ui_etag_matches("0123", e));
    ck_assert(!ez_ui_etag_matches("", e));
    ck_assert(!ez_ui_etag_matches("\"x\",,", e));
}
END_TEST

/* ---- Server: how /ui/ is served ------------------------------------------ */

static void assert_security_headers(const struct ht_resp *r, const char *what)
{
    const char *csp = ht_resp_header(r, "Content-Security-Policy");
    ck_assert_msg(csp && strstr(csp, "default-src 'self'") && strstr(csp, "frame-ancestors 'none'")
                      && strstr(csp, "script-src 'self'") && strstr(csp, "style-src 'self'")
                      && !strstr(csp, "unsafe"),
                  "%s: CSP %s", what, csp ? csp : "(none)");
    const char *v = ht_resp_header(r, "X-Content-Type-Options");
    ck_assert_msg(v && strcmp(v, "nosniff") == 0, "%s: nosniff %s", what, v ? v : "(none)");
    v = ht_resp_header(r, "Referrer-Policy");
    ck_assert_msg(v && strcmp(v, "no-referrer") == 0, "%s: referrer %s", what, v ? v : "(none)");
}

START_TEST(files_are_served_with_type_etag_cache_policy_and_csp)
{
    ht_server_start(&S, NULL);
    static const struct {
        const char *path, *type, *file;
    } files[] = {
        { "/ui/", "text/html; charset=utf-8", "index.html" },
        { "/ui", "text/html; charset=utf-8", "index.html" },
        { "/ui/index.html", "text/html; charset=utf-8", "index.html" },
        { "/ui/app.js", "text/javascript; charset=utf-8", "app.js" },
        { "/ui/console.css", "text/css; charset=utf-8", "console.css" },
        { "/ui/favicon.svg", "image/svg+xml", "favicon.svg" },
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        struct ht_resp r;
        ck_assert_int_eq(ht_get(S.port, files[i].path, NULL, &r), 200);
        const struct ez_ui_asset *a = asset(files[i].file);
        ck_assert_str_eq(ht_resp_header(&r, "Content-Type"), files[i].type);
        ck_assert_msg(r.body_len == a->len && memcmp(r.body, a->data, a->len) == 0,
                      "%s: not the embedded bytes", files[i].path);
        const char *etag = ht_resp_header(&r, "ETag");
        ck_assert_msg(etag && strcmp(etag, a->etag) == 0, "%s: ETag %s", files[i].path, etag);
        ck_assert_str_eq(ht_resp_header(&r, "Cache-Control"), "no-cache");
        assert_security_headers(&r, files[i].path);
        ht_resp_free(&r);

        /* revalidation: the same ETag is a 304 without a body */
        char *h = fmt("If-None-Match: W/\"other\", %s\r\n", a->etag);
        ck_assert_int_eq(ht_get(S.port, files[i].path, h, &r), 304);
        free(h);
        ck_assert_uint_eq(r.body_len, 0);
        ck_assert_str_eq(ht_resp_header(&r, "ETag"), a->etag);
        assert_security_headers(&r, files[i].path);
        ht_resp_free(&r);
        ck_assert_int_eq(ht_get(S.port, files[i].path, "If-None-Match: \"stale\"\r\n", &r), 200);
        ht_resp_free(&r);

        /* HEAD: the headers of the GET, the length of its body, no body */
        ck_assert_int_eq(ht_http(S.port, "HEAD", files[i].path, NULL, NULL, 0, &r), 200);
        ck_assert_uint_eq(r.body_len, 0);
        ck_assert_str_eq(ht_resp_header(&r, "Content-Type"), files[i].type);
        ck_assert_str_eq(ht_resp_header(&r, "ETag"), a->etag);
        const char *cl = ht_resp_header(&r, "Content-Length");
        ck_assert_msg(cl && strtoul(cl, NULL, 10) == a->len, "%s: HEAD Content-Length %s",
                      files[i].path, cl ? cl : "(none)");
        assert_security_headers(&r, files[i].path);
        ht_resp_free(&r);
    }
    /* only the embedded files: no file system, no way out of the table */
    const char *missing[] = { "/ui/nope.js", "/ui/..%2Fconfigure.ac", "/ui/.%2E%2Fezapi.conf",
                              "/ui/%2Fetc%2Fpasswd", "/ui/a/b", "/ui/a/b/c.js", "/ui//" };
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        struct ht_resp r;
        ck_assert_int_eq(ht_get(S.port, missing[i], NULL, &r), 404);
        json_t *j = ht_resp_json(&r);
        ck_assert_msg(j && json_object_get(j, "error"), "%s: %s", missing[i], r.body);
        json_decref(j);
        assert_security_headers(&r, missing[i]);
        ht_resp_free(&r);
        ck_assert_int_eq(ht_http(S.port, "HEAD", missing[i], NULL, NULL, 0, &r), 404);
        assert_security_headers(&r, missing[i]);
        ht_resp_free(&r);
    }
    /* on the wire, a HEAD answer ends with its headers: no body follows,
     * and the next answer on the connection starts right after them */
    int fd = ht_connect(S.port);
    ck_assert_int_ge(fd, 0);
    const char *head = "HEAD /ui/app.js HTTP/1.1\r\nHost: t\r\n\r\n"
                       "GET /ui/favicon.svg HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    ck_assert_int_eq(ht_send_all(fd, head, strlen(head)), 0);
    char wire[8192];
    size_t got = 0;
    ssize_t n;
    while (got < sizeof wire - 1 && (n = read(fd, wire + got, sizeof wire - 1 - got)) > 0)
        got += (size_t)n;
    close(fd);
    wire[got] = 0;
    const char *end = strstr(wire, "\r\n\r\n");
    ck_assert_msg(strncmp(wire, "HTTP/1.1 200", 12) == 0 && end &&
                      strncmp(end + 4, "HTTP/1.1 200", 12) == 0 &&
                      strstr(end + 4, "image/svg+xml") != NULL,
                  "HEAD sent a body, or broke the connection: %s", wire);
    /* a method the console does not take: 405, with the same headers */
    struct ht_resp r;
    ck_assert_int_eq(ht_http(S.port, "POST", "/ui/app.js", NULL, "{}", 2, &r), 405);
    assert_security_headers(&r, "POST /ui/app.js");
    ht_resp_free(&r);
    ht_assert_clean_stop(&S);
}
END_TEST

START_TEST(ui_off_answers_404_and_a_reload_turns_it_on)
{
    ht_server_start(&S, "ui = off\n");
    struct ht_resp r;
    ck_assert_int_eq(ht_get(S.port, "/ui/", NULL, &r), 404);
    json_t *j = ht_resp_json(&r);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
                     "console_off");
    json_decref(j);
    ht_resp_free(&r);
    ck_assert_int_eq(ht_get(S.port, "/ui/app.js", NULL, &r), 404);
    ht_resp_free(&r);
    /* the API is unchanged */
    json_decref(call("GET", "/admin/namespaces", NULL, NULL, 200));

    ht_server_write_conf(&S, "ui = on\n");
    ht_server_reload(&S);
    HT_EVENTUALLY((ht_get(S.port, "/ui/", NULL, &r) == 200 || (ht_resp_free(&r), 0)), 20000,
                  "the console is still off after the reload");
    ht_resp_free(&r);
    ht_server_write_conf(&S, "ui = off\n");
    ht_server_reload(&S);
    HT_EVENTUALLY((ht_get(S.port, "/ui/", NULL, &r) == 404 || (ht_resp_free(&r), 0)), 20000,
                  "the console is still on after the reload");
    ht_resp_free(&r);
    ht_assert_clean_stop(&S);
}
END_TEST

START_TEST(config_refuses_a_ui_value_other_than_on_or_off)
{
    ht_server_init(&S, "ui = yes please\n");
    struct ht_cmd c;
    ht_ezapi(&c, "-t", "-c", S.conf, NULL);
    ck_assert_int_eq(c.status, 78);
    ck_assert_msg(strstr(c.err, "ui") && strstr(c.err, "on"), "%s", c.err);
    ht_cmd_free(&c);
}
END_TEST

START_TEST(token_url_prints_a_console_link_that_signs_in)
{
    ht_server_start(&S, NULL);
    struct ht_cmd c;
    ht_ezapi(&c, "token", "admin", "-c", S.conf, "--url", NULL);
    ck_assert_int_eq(c.status, 0);
    char *prefix = fmt("http://127.0.0.1:%d/ui/#token=", S.port);
    ck_assert_msg(strncmp(c.out, prefix, strlen(prefix)) == 0, "%s", c.out);
    char *tok = strndup(c.out + strlen(prefix), strcspn(c.out + strlen(prefix), "\n"));
    ck_assert_int_eq(strncmp(tok, "eyJ", 3), 0);
    free(prefix);
    ht_cmd_free(&c);
    char *h = fmt("Authorization: Bearer %s\r\n", tok);
    struct ht_resp r;
    ck_assert_int_eq(ht_get(S.port, "/admin/namespaces", h, &r), 200);
    ht_resp_free(&r);
    free(h);
    free(tok);

    ht_ezapi(&c, "token", "admin", "-c", S.conf, "--url=https://gw.example.com/", "--role",
             "viewer", NULL);
    ck_assert_int_eq(c.status, 0);
    ck_assert_msg(strncmp(c.out, "https://gw.example.com/ui/#token=eyJ", 36) == 0, "%s", c.out);
    ht_cmd_free(&c);
    ht_ezapi(&c, "token", "admin", "-c", S.conf, "--url=javascript:alert(1)", NULL);
    ck_assert_int_eq(c.status, 2);
    ck_assert_str_eq(c.out, "");
    ht_cmd_free(&c);
    ht_assert_clean_stop(&S);
}
END_TEST

/* ---- Server + Chromium: the console as an operator uses it ------------- */

static int have(const char *path)
{
    return access(path, X_OK) == 0;
}

/* The value of `RESULT name=value` in the script's output, malloc'd. */
static char *result_of(const char *out, const char *name)
{
    char *needle = fmt("RESULT %s=", name);
    const char *p = strstr(out, needle);
    char *v = p ? strndup(p + strlen(needle), strcspn(p + strlen(needle), "\n")) : NULL;
    free(needle);
    return v;
}

static char *run_script(const char *cfg_path)
{
    const char *src = getenv("EZAPI_SRCDIR");
    char *cmd = fmt("timeout 600 /usr/bin/python3 %s/tests/console/console_test.py %s 2>&1",
                    src ? src : ".", cfg_path);
    FILE *p = popen(cmd, "r");
    ck_assert_msg(p != NULL, "cannot run %s", cmd);
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    size_t n;
    while ((n = fread(out + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (len + 1 == cap)
            out = realloc(out, cap *= 2);
    }
    out[len] = 0;
    int st = pclose(p);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the browser test failed:\n%s", out);
    free(cmd);
    return out;
}

START_TEST(the_console_in_chromium)
{
    /* CI installs them (scripts/ezapi-dev PACKAGES): missing is a failure */
    ck_assert_msg(have("/usr/bin/chromium") && have("/usr/bin/chromedriver") &&
                      access("/usr/lib/python3/dist-packages/selenium", F_OK) == 0,
                  "chromium, chromium-driver and python3-selenium are needed");
    ht_server_start(&S, "workers = 1\n");

    /* what the script works with: a routed child key, and markup planted in
     * values of every kind the console shows (it must stay text) */
    char *ua = fmt("User-Agent: %s\r\n", MARKUP);
    json_decref(call("POST", "/admin/namespaces", ua, "{\"name\":\"team-a\"}", 201));
    json_decref(call("POST", "/admin/namespaces", ua,
                     "{\"name\":\"team-b\",\"description\":\"" MARKUP "\"}", 201));
    json_t *g = call("POST", "/admin/providers/custom", ua,
                     "{\"name\":\"explain-grp\",\"base_url\":\"https://u.example.com/v1\","
                     "\"api_key\":\"sk-upstream-1\",\"models\":[\"gpt-4o\"]}", 201);
    long long gid = json_integer_value(json_object_get(json_object_get(g, "group"), "id"));
    json_decref(g);
    char *b = fmt("{\"namespace\":\"team-a\",\"public_model\":\"gpt-4o\",\"group_id\":%lld}", gid);
    json_decref(call("POST", "/admin/bindings", ua, b, 201));
    free(b);
    json_decref(call("POST", "/admin/masters", ua, "{\"name\":\"" MARKUP "\"}", 201));
    json_t *m = call("POST", "/admin/masters", ua,
                     "{\"name\":\"tenant\",\"namespaces\":[\"team-a\"],"
                     "\"default_namespace\":\"team-a\"}", 201);
    char *kpath = fmt("/admin/masters/%lld/keys",
                      (long long)json_integer_value(json_object_get(m, "id")));
    json_decref(m);
    json_t *k = call("POST", kpath, ua, "{\"name\":\"k1\"}", 201);
    long long key_id = json_integer_value(json_object_get(k, "id"));
    json_decref(k);
    free(kpath);
    json_decref(call("PUT", "/admin/features", ua, "{\"banner\":\"" MARKUP "\"}", 200));
    free(ua);

    struct ht_cmd c;
    ht_ezapi(&c, "token", "admin", "-c", S.conf, "--url", "--sub", "linked", NULL);
    ck_assert_int_eq(c.status, 0);
    c.out[strcspn(c.out, "\n")] = 0;
    char *link = strdup(c.out);
    ht_cmd_free(&c);

    const char *build = getenv("EZ_CONSOLE_SHOTS");
    char *shots = strdup(build ? build : "console-shots");
    mkdir(shots, 0755);
    char *cfg_path = fmt("%s/console.json", S.dir);
    char *base = fmt("http://127.0.0.1:%d", S.port);
    char *profile = fmt("%s/chromium-profile", S.dir); /* removed with the test's directory */
    char *downloads = fmt("%s/downloads", S.dir);
    mkdir(downloads, 0755);
    json_t *cfg = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s}",
                            "base", base, "shots", shots, "profile", profile,
                            "downloads", downloads,
                            "markup", MARKUP, "admin_token", ht_admin_token(&S, "admin"),
                            "viewer_token", ht_admin_token(&S, "viewer"), "link", link,
                            "link_token", strstr(link, "#token=") + 7, "admin_secret",
                            S.admin_secret, "namespace", "team-a", "explain_key_id",
                            (json_int_t)key_id, "explain_model", "gpt-4o", "explain_group",
                            "explain-grp");
    ck_assert_int_eq(json_dump_file(cfg, cfg_path, 0), 0);
    json_decref(cfg);
    free(base);
    free(profile);
    free(downloads);

    char *out = run_script(cfg_path);

    /* the provider made through the form is in the API and in Redis */
    char *gid_s = result_of(out, "custom_group_id");
    ck_assert_msg(gid_s != NULL, "%s", out);
    char *path = fmt("/admin/provider-groups/%s", gid_s);
    json_t *grp = call("GET", path, NULL, NULL, 200);
    ck_assert_str_eq(json_string_value(json_object_get(grp, "name")), "console-made");
    /* base_url: below, as the group's edit form left it */
    ck_assert_int_eq(json_array_size(json_object_get(grp, "models")), 2);
    json_decref(grp);
    free(path);
    path = fmt("/admin/api-keys?group_id=%s", gid_s);
    json_t *keys = call("GET", path, NULL, NULL, 200);
    json_t *key = json_array_get(json_object_get(keys, "data"), 0);
    /* 3 when created, 7 after the key's edit form */
    ck_assert_int_eq((int)json_integer_value(json_object_get(key, "weight")), 7);
    char field[24];
    snprintf(field, sizeof field, "%lld", (long long)json_integer_value(json_object_get(key, "id")));
    json_decref(keys);
    free(path);
    char *snap = NULL;
    HT_EVENTUALLY((free(snap), snap = ht_redis_hget("config:providers", field)) &&
                      strstr(snap, "\"group\":\"console-made\"") &&
                      strstr(snap, "\"api_key\":\"sk-console-0123456789\""),
                  10000, "config:providers[%s]: %s", field, snap ? snap : "(absent)");
    free(snap);
    /* the refused base_url created nothing */
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM provider_groups WHERE name = "
                                 "'console-bad'"), 0);

    /* the master key shown once is a working master key */
    char *mk = result_of(out, "master_key");
    ck_assert_msg(mk && strncmp(mk, "ezm_", 4) == 0, "%s", out);
    char *auth = fmt("Authorization: Bearer %s\r\n", mk);
    struct ht_resp r;
    ck_assert_int_eq(ht_http(S.port, "POST", "/v1/auth/token", auth, "{}", 2, &r), 200);
    ht_resp_free(&r);
    free(auth);
    free(mk);

    /* the import made in the page: its master key works, its child key
     * reached Redis (the data plane's view), the 422 wrote nothing */
    mk = result_of(out, "import_master_key");
    ck_assert_msg(mk && strncmp(mk, "ezm_", 4) == 0, "%s", out);
    auth = fmt("Authorization: Bearer %s\r\n", mk);
    ck_assert_int_eq(ht_http(S.port, "POST", "/v1/auth/token", auth, "{}", 2, &r), 200);
    ht_resp_free(&r);
    free(auth);
    free(mk);
    char digest[65];
    ht_sha256_hex("sk-ConsoleImported0123", digest);
    char *tkey = fmt("auth:token:%s", digest);
    char *ns = NULL;
    HT_EVENTUALLY((free(ns), ns = ht_redis_hget(tkey, "default_namespace")) &&
                      strcmp(ns, "imported-ns") == 0,
                  10000, "%s: default_namespace %s", tkey, ns ? ns : "(absent)");
    free(ns);
    free(tkey);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM bindings WHERE namespace = "
                                 "'imported-ns'"), 1);
    ht_sha256_hex("sk-x1234567890", digest);
    char *q = fmt("SELECT count(*) FROM key_digests WHERE digest = '%s'", digest);
    ck_assert_int_eq(ht_pg_count(q), 0);
    free(q);

    /* the edit forms changed the resources, as the API reads them */
    json_t *j = call("GET", "/admin/models?model_name=console-model", NULL, NULL, 200);
    json_t *mod = json_array_get(json_object_get(j, "data"), 0);
    ck_assert_int_eq((int)json_integer_value(json_object_get(mod, "context_window")), 4096);
    json_decref(j);
    j = call("GET", "/admin/namespaces/team-a", NULL, NULL, 200);
    ck_assert_str_eq(json_string_value(json_object_get(j, "description")), "edited in the console");
    json_decref(j);
    path = fmt("/admin/provider-groups/%s", gid_s);
    j = call("GET", path, NULL, NULL, 200);
    ck_assert_str_eq(json_string_value(json_object_get(j, "base_url")), "https://llm2.example.com/v1");
    ck_assert_str_eq(json_string_value(json_object_get(j, "type")), "compatible");
    json_decref(j);
    free(path);
    path = fmt("/admin/keys/%lld", key_id);
    j = call("GET", path, NULL, NULL, 200);
    ck_assert_str_eq(json_string_value(json_object_get(j, "name")), "k1-renamed");
    ck_assert_int_eq(json_array_size(json_object_get(j, "model_limits")), 2);
    json_decref(j);
    free(path);

    char *v = result_of(out, "error_422");
    ck_assert_msg(v && strstr(v, "does not exist"), "%s", out);
    free(v);
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM provider_groups WHERE name = "
                                 "'explain-grp'"), 1);
    const char *expect[] = { "delete_409", "signin_form", "refused", "url_link", "explain", "pages", "markup",
                             "phone", "verify", "viewer", "import_dry_run", "import", "import_422",
                             "import_litellm", "export", "edit_forms" };
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
        v = result_of(out, expect[i]);
        ck_assert_msg(v != NULL, "no result %s:\n%s", expect[i], out);
        free(v);
    }
    ck_assert_msg(strstr(out, "\nPASS") != NULL, "%s", out);
    for (const char *name = "overview"; name; name = NULL) {
        char *png = fmt("%s/%s.png", shots, name);
        struct stat st;
        ck_assert_msg(stat(png, &st) == 0 && st.st_size > 1000, "no screenshot %s", png);
        free(png);
    }
    free(gid_s);
    free(out);
    free(cfg_path);
    free(shots);
    free(link);
    ht_assert_clean_stop(&S);
}
END_TEST

static Suite *console_suite(void)
{
    Suite *s = suite_create("console");
    TCase *tc = tcase_create("files");
    tcase_add_test(tc, assets_are_small_and_hold_no_inline_code);
    tcase_add_test(tc, etag_lists_match_as_http_says);
    suite_add_tcase(s, tc);

    tc = ht_tcase("serving");
    tcase_add_test(tc, files_are_served_with_type_etag_cache_policy_and_csp);
    tcase_add_test(tc, ui_off_answers_404_and_a_reload_turns_it_on);
    tcase_add_test(tc, config_refuses_a_ui_value_other_than_on_or_off);
    tcase_add_test(tc, token_url_prints_a_console_link_that_signs_in);
    suite_add_tcase(s, tc);

    tc = ht_tcase("chromium");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, the_console_in_chromium);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ht_run_suite(console_suite());
}
