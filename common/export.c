/* The import format written from ezapi's own rows, so that export, then
 * import into an empty ezapi, then export gives the same document (apart
 * from generated ids and the export time). */
#include "export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "gostr.h"
#include "log.h"
#include "secrets.h"
#include "store_import.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

static const char *str(json_t *o, const char *name)
{
    return json_string_value(json_object_get(o, name));
}

/* api key status -> the format's provider status. */
static const char *provider_status(const char *s)
{
    return strcmp(s, "active") == 0 ? "active"
           : strcmp(s, "auto_disabled") == 0 ? "auto_disabled" : "disabled";
}

/* One entry per api key (a group without keys gives one without api_key);
 * entries of one group share original_name, as a multi-key channel. */
static int providers(json_t *groups, int secrets, const struct ez_config *cfg, json_t *out)
{
    size_t i, j;
    json_t *g, *k;
    json_array_foreach(groups, i, g) {
        json_t *keys = json_object_get(g, "keys");
        size_t n = json_array_size(keys);
        for (j = 0; j < (n ? n : 1); j++) {
            k = json_array_get(keys, j);
            json_t *e = json_pack(
                "{s:O, s:s, s:s, s:s, s:O, s:s, s:[s], s:I, s:i, s:s, s:s, s:b, s:b, s:I, s:s}",
                "original_id", json_object_get(g, "id"), "name", str(g, "name"),
                "original_name", str(g, "name"), "type", str(g, "type"), "models",
                json_object_get(g, "models"), "primary_group", str(g, "name"), "all_groups",
                str(g, "name"), "weight", k ? json_integer_value(json_object_get(k, "weight")) : 1,
                "priority", 0, "status", k ? provider_status(str(k, "status")) : "active",
                "group_status", str(g, "status"), "auto_ban",
                k ? json_is_true(json_object_get(k, "auto_ban")) : 1, "is_multi_key", n > 1,
                "multi_key_index", (json_int_t)j, "base_url", str(g, "base_url"));
            if (!e)
                return EZ_DB_ERROR;
            if (str(g, "google_project"))
                json_object_set(e, "google_project", json_object_get(g, "google_project"));
            if (str(g, "google_location"))
                json_object_set(e, "google_location", json_object_get(g, "google_location"));
            if (k && secrets) {
                char *clear = ez_secret_open(cfg, str(k, "api_key"));
                if (!clear) {
                    log_error("export: an api key of group %s cannot be opened with "
                              "secrets_key", str(g, "name"));
                    json_decref(e);
                    return EZ_DB_ERROR;
                }
                json_object_set_new(e, "api_key", json_string(clear));
                OPENSSL_cleanse(clear, strlen(clear));
                free(clear);
            }
            json_array_append_new(out, e);
        }
    }
    return EZ_DB_OK;
}

static json_t *master(json_t *m)
{
    json_t *e = json_deep_copy(m);
    const char *d = str(m, "key_digest");
    json_object_del(e, "key_digest");
    if (d) {
        char v[80];
        snprintf(v, sizeof v, "sha256:%s", d);
        json_object_set_new(e, "master_key_digest", json_string(v));
    }
    return e;
}

/* A child key: the format's statuses (the import maps them back). */
static json_t *key(json_t *k)
{
    const char *st = str(k, "status");
    json_t *limits = json_object_get(k, "model_limits");
    char tok[80], alias[80];
    snprintf(tok, sizeof tok, "sha256:%s", str(k, "digest"));
    if (str(k, "alias"))
        snprintf(alias, sizeof alias, "sha256:%s", str(k, "alias"));
    json_t *e = json_pack("{s:s, s:s, s:s?, s:s, s:s, s:s, s:O, s:b, s:O, s:O, s:O, s:O?, s:O?, s:O?}",
                          "master_ref", str(k, "master_ref"), "original_token", tok,
                          "alias_digest", str(k, "alias") ? alias : NULL, "key_prefix",
                          str(k, "key_prefix"), "name", str(k, "name"), "status",
                          strcmp(st, "active") == 0 ? "active"
                          : strcmp(st, "expired") == 0 ? "exhausted" : "disabled",
                          "namespaces", json_object_get(k, "namespaces"),
                          "model_limits_enabled", json_array_size(limits) > 0, "model_limits",
                          json_is_array(limits) ? limits : json_null(), "allow_ips",
                          json_object_get(k, "allow_ips"), "expires_at",
                          json_object_get(k, "expires_at"), "quota_limit",
                          json_object_get(k, "quota_limit"), "quota_used",
                          json_object_get(k, "quota_used"), "unlimited_quota",
                          json_object_get(k, "unlimited_quota"));
    if (e)
        json_object_set_new(e, "group", json_string(str(k, "group")));
    return e;
}

int ez_export(struct ez_db *db, const struct ez_config *cfg, int include_secrets, json_t **doc)
{
    *doc = NULL;
    json_t *state = NULL;
    int rc = ez_si_export(db, &state);
    if (rc != EZ_DB_OK)
        return rc;
    char now[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *prov = json_array(), *masters = json_array(), *keys = json_array(),
           *bindings = json_array(), *warnings = json_array();
    rc = providers(json_object_get(state, "groups"), include_secrets, cfg, prov);
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(state, "masters"), i, v)
        json_array_append_new(masters, master(v));
    json_array_foreach(json_object_get(state, "keys"), i, v)
        json_array_append_new(keys, key(v));
    /* The format binds a public name to an upstream model of a routing
     * group by its exact name: other selectors and weights have no place. */
    json_array_foreach(json_object_get(state, "bindings"), i, v) {
        if (strcmp(str(v, "selector_type"), "exact") != 0 ||
            json_integer_value(json_object_get(v, "weight")) != 1) {
            char w[600];
            const char *ns = str(v, "namespace"), *pm = str(v, "public_model"),
                       *g = str(v, "group");
            snprintf(w, sizeof w, "binding %.*s.%.*s -> %.*s left out: only exact bindings "
                     "of weight 1 fit the format", ez_utf8_prefix(ns, 64), ns,
                     ez_utf8_prefix(pm, 200), pm, ez_utf8_prefix(g, 64), g);
            json_array_append_new(warnings, json_string(w));
            continue;
        }
        json_array_append_new(bindings,
                              json_pack("{s:s, s:s, s:s, s:s, s:s}", "namespace",
                                        str(v, "namespace"), "route_group", str(v, "group"),
                                        "model", str(v, "selector_value"), "public_model",
                                        str(v, "public_model"), "status", str(v, "status")));
    }
    long long revoked = json_integer_value(json_object_get(state, "revoked"));
    if (revoked) {
        char w[120];
        snprintf(w, sizeof w, "%lld revoked key(s) left out", revoked);
        json_array_append_new(warnings, json_string(w));
    }
    if (!include_secrets)
        json_array_append_new(warnings, json_string("upstream api keys left out "
                                                    "(include_secrets is not set)"));
    if (rc == EZ_DB_OK)
        *doc = json_pack("{s:s, s:{s:s, s:s, s:s}, s:{s:O, s:O, s:O, s:O}, s:O}", "version",
                         "1.0.0", "source", "type", "ezapi", "version", PACKAGE_VERSION,
                         "exported_at", now, "data", "providers", prov, "masters", masters,
                         "keys", keys, "bindings", bindings, "warnings", warnings);
    if (rc == EZ_DB_OK && !*doc)
        rc = EZ_DB_ERROR;
    json_decref(prov);
    json_decref(masters);
    json_decref(keys);
    json_decref(bindings);
    json_decref(warnings);
    json_decref(state);
    return rc;
}
