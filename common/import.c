/* new-api import (docs/migrate.md): checks the document, maps its items to
 * ezapi's resources and writes them through common/store_import.c in one
 * transaction, rolled back for a dry run or when an item is in error
 * without skip_invalid, so that both answer the same. */
#include "import.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "digest.h"
#include "gostr.h"
#include "log.h"
#include "secrets.h"
#include "store_import.h"

static const char *const resources[] = { "namespaces", "provider_groups", "api_keys",
                                         "masters", "keys", "bindings", NULL };

static const char *const known_types[] = { "openai", "compatible", "anthropic", "claude",
                                           "claude-code", "codex", "gemini-cli", "antigravity",
                                           "gemini", "google", "aistudio", "vertex",
                                           "vertex-express", NULL };

struct run {
    struct ez_db *db;
    const struct ez_config *cfg;
    const struct ez_import_opts *o;
    json_t *created, *skipped, *overwritten; /* resource -> count */
    json_t *warnings, *errors, *masters_out;
    json_t *namespaces; /* name -> true, every namespace named by a valid item */
    json_t *groups;     /* group key -> group (see add_provider) */
    json_t *synced;     /* "resource/id" -> true: sync jobs already written */
    json_t *key_ns;     /* namespace -> number of imported keys using it */
    int rc;             /* first EZ_DB_* failure */
};

/* ---- Answer bookkeeping ----------------------------------------------- */

static void count(json_t *counts, const char *resource, long long n)
{
    json_t *v = json_object_get(counts, resource);
    json_object_set_new(counts, resource, json_integer(json_integer_value(v) + n));
}

/* An item in error: -1, so that checks can `return fail(...)`. */
static int fail(struct run *r, const char *section, size_t index, const char *field,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int fail(struct run *r, const char *section, size_t index, const char *field,
                const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_array_append_new(r->errors, json_pack("{s:s, s:I, s:s, s:s}", "section", section,
                                               "index", (json_int_t)index, "field", field,
                                               "message", msg));
    return -1;
}

/* ---- Field checks: each gives 0, or -1 with the item's error noted ----- */

struct item {
    struct run *r;
    const char *section;
    size_t index;
    json_t *obj;
};

static int bad(struct item *it, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(struct item *it, const char *field, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fail(it->r, it->section, it->index, field, "%s", msg);
}

static int printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

/* Optional string of at most max bytes: *out NULL when absent or null. */
static int opt_str(struct item *it, const char *field, size_t max, const char **out)
{
    json_t *v = json_object_get(it->obj, field);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || json_string_length(v) != strlen(json_string_value(v)))
        return bad(it, field, "must be a string");
    if (json_string_length(v) > max)
        return bad(it, field, "is longer than %zu bytes", max);
    if (!printable(json_string_value(v)))
        return bad(it, field, "holds a control character");
    *out = json_string_value(v);
    return 0;
}

static int req_str(struct item *it, const char *field, size_t max, const char **out)
{
    if (opt_str(it, field, max, out) != 0)
        return -1;
    if (!*out || !**out)
        return bad(it, field, "is required");
    return 0;
}

static int opt_int(struct item *it, const char *field, long long min, long long max,
                   long long def, long long *out)
{
    json_t *v = json_object_get(it->obj, field);
    *out = def;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v))
        return bad(it, field, "must be an integer");
    if (json_integer_value(v) < min || json_integer_value(v) > max)
        return bad(it, field, "must be between %lld and %lld", min, max);
    *out = json_integer_value(v);
    return 0;
}

static int opt_bool(struct item *it, const char *field, int def, int *out)
{
    json_t *v = json_object_get(it->obj, field);
    *out = def;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_boolean(v))
        return bad(it, field, "must be true or false");
    *out = json_is_true(v);
    return 0;
}

/* One of values[] (default def when absent); *out points into values. */
static int opt_enum(struct item *it, const char *field, const char *const *values,
                    const char *def, const char **out)
{
    const char *s;
    if (opt_str(it, field, 64, &s) != 0)
        return -1;
    *out = def;
    if (!s)
        return 0;
    for (int i = 0; values[i]; i++)
        if (strcmp(s, values[i]) == 0) {
            *out = values[i];
            return 0;
        }
    char list[256] = "";
    for (int i = 0; values[i]; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                 values[i]);
    return bad(it, field, "must be one of %s", list);
}

static int ns_name(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              (i > 0 && (c == '_' || c == '-'))))
            return 0;
    }
    return 1;
}

/* A list of strings given as an array or as one string separated by any
 * of seps; trimmed, empty entries and repeats dropped. *out: new array
 * (empty when absent). check, when set, vets each entry. */
static int opt_list(struct item *it, const char *field, const char *seps,
                    int (*check)(const char *), const char *what, json_t **out)
{
    json_t *v = json_object_get(it->obj, field), *list = json_array(), *seen = json_object();
    *out = NULL;
    int rc = 0;
    json_t *parts = NULL;
    if (!v || json_is_null(v)) {
        parts = json_array();
    } else if (json_is_array(v)) {
        parts = json_incref(v);
    } else if (json_is_string(v) && seps) {
        parts = json_array();
        char *copy = strdup(json_string_value(v)), *save = NULL;
        for (char *t = copy ? strtok_r(copy, seps, &save) : NULL; t; t = strtok_r(NULL, seps, &save))
            json_array_append_new(parts, json_string(t));
        free(copy);
    } else {
        rc = bad(it, field, "must be an array of strings");
    }
    size_t i;
    json_t *e;
    json_array_foreach(parts, i, e) {
        if (rc != 0)
            break;
        const char *s = json_string_value(e);
        if (!s || json_string_length(e) > 256 || !printable(s)) {
            rc = bad(it, field, "entry %zu must be a string of at most 256 bytes", i);
            break;
        }
        while (isspace((unsigned char)*s))
            s++;
        size_t n = strlen(s);
        while (n && isspace((unsigned char)s[n - 1]))
            n--;
        if (!n)
            continue;
        char one[257];
        snprintf(one, sizeof one, "%.*s", (int)n, s);
        if (check && !check(one)) {
            rc = bad(it, field, "entry %zu (%s) is not %s", i, one, what);
            break;
        }
        if (json_object_get(seen, one))
            continue;
        json_object_set_new(seen, one, json_true());
        json_array_append_new(list, json_string(one));
        if (json_array_size(list) > EZ_IMPORT_MAX_LIST) {
            rc = bad(it, field, "has more than %d entries", EZ_IMPORT_MAX_LIST);
            break;
        }
    }
    json_decref(parts);
    json_decref(seen);
    if (rc != 0) {
        json_decref(list);
        return -1;
    }
    *out = list;
    return 0;
}

/* An IPv4 or IPv6 address, optionally with a /prefix. */
static int ip_or_cidr(const char *s)
{
    char addr[64];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (n == 0 || n >= sizeof addr)
        return 0;
    memcpy(addr, s, n);
    addr[n] = 0;
    unsigned char buf[16];
    int max = inet_pton(AF_INET, addr, buf) == 1 ? 32 : inet_pton(AF_INET6, addr, buf) == 1 ? 128 : -1;
    if (max < 0)
        return 0;
    if (!slash)
        return 1;
    const char *p = slash + 1;
    if (!*p || strlen(p) > 3)
        return 0;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return 0;
    return atoi(p) <= max;
}

/* RFC 3339: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM). */
static int rfc3339(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    for (size_t i = 0; shape[i]; i++) {
        char c = s[i];
        if (shape[i] == 'd' ? !isdigit((unsigned char)c)
                            : (shape[i] == 'T' ? (c != 'T' && c != 't') : c != shape[i]))
            return 0;
    }
    const char *p = s + sizeof shape - 1;
    if (*p == '.') {
        if (!isdigit((unsigned char)*++p))
            return 0;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if ((*p == 'Z' || *p == 'z') && !p[1])
        return 1;
    return (*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) &&
           isdigit((unsigned char)p[2]) && p[3] == ':' && isdigit((unsigned char)p[4]) &&
           isdigit((unsigned char)p[5]) && !p[6];
}

static int http_url(const char *s)
{
    if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
        return 0;
    const char *rest = s + (s[4] == 's' ? 8 : 7);
    if (!*rest)
        return 0;
    for (; *rest; rest++)
        if (isspace((unsigned char)*rest))
            return 0;
    return 1;
}

/* ---- Providers: entries sharing original_name are one group ----------- */

/* A group name ezapi accepts ([A-Za-z0-9][A-Za-z0-9._-]{0,63}) from a
 * channel's name: each run of other characters becomes one '-'. */
void ez_import_warn(json_t *warnings, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_array_append_new(warnings, json_string(msg));
}

void ez_import_group_name(const char *in, char out[65])
{
    size_t n = 0;
    for (const char *p = in; *p && n < 64; p++) {
        char c = *p;
        int ok = isalnum((unsigned char)c) || (n > 0 && (c == '.' || c == '_' || c == '-'));
        if (ok)
            out[n++] = c;
        else if (n > 0 && out[n - 1] != '-')
            out[n++] = '-';
    }
    while (n > 0 && out[n - 1] == '-')
        n--;
    out[n] = 0;
}

static const char *map_type(struct item *it, const char *type, const char *name)
{
    char low[64];
    size_t n = 0;
    for (const char *p = type; *p && n + 1 < sizeof low; p++)
        if (!isspace((unsigned char)*p))
            low[n++] = (char)tolower((unsigned char)*p);
    low[n] = 0;
    for (int i = 0; known_types[i]; i++)
        if (strcmp(low, known_types[i]) == 0)
            return known_types[i];
    const char *to = strcmp(low, "azure") == 0 ? "openai" : "compatible";
    ez_import_warn(it->r->warnings, "providers[%zu] (%s): type %s is imported as %s", it->index,
                   name, type, to);
    return to;
}

static void add_provider(struct run *r, size_t index, json_t *obj)
{
    struct item it = { r, "providers", index, obj };
    static const char *const statuses[] = { "active", "disabled", "auto_disabled", NULL };
    const char *name, *oname, *type, *base_url, *api_key, *status, *gproject, *glocation;
    long long weight, priority;
    int auto_ban;
    json_t *models = NULL, *all_groups = NULL;
    if (!json_is_object(obj)) {
        fail(r, "providers", index, "", "must be an object");
        return;
    }
    if (opt_str(&it, "name", 256, &name) || opt_str(&it, "original_name", 256, &oname) ||
        req_str(&it, "type", 64, &type) || opt_str(&it, "base_url", 2048, &base_url) ||
        opt_str(&it, "api_key", 8192, &api_key) ||
        opt_str(&it, "google_project", 256, &gproject) ||
        opt_str(&it, "google_location", 256, &glocation) ||
        opt_enum(&it, "status", statuses, "active", &status) ||
        opt_int(&it, "weight", 0, INT32_MAX, 1, &weight) ||
        opt_int(&it, "priority", INT32_MIN, INT32_MAX, 0, &priority) ||
        opt_bool(&it, "auto_ban", 1, &auto_ban) ||
        opt_list(&it, "models", ",", NULL, NULL, &models) ||
        opt_list(&it, "all_groups", ",", NULL, NULL, &all_groups))
        goto out;
    const char *label = oname && *oname ? oname : name;
    if (!label || !*label) {
        bad(&it, "name", "is required (or original_name)");
        goto out;
    }
    if (json_array_size(models) == 0) {
        bad(&it, "models", "must list at least one model");
        goto out;
    }
    if (base_url && *base_url && !http_url(base_url)) {
        bad(&it, "base_url", "must be an http or https URL");
        goto out;
    }
    type = map_type(&it, type, label);
    if (strcmp(type, "compatible") == 0 && (!base_url || !*base_url)) {
        bad(&it, "base_url", "is required for a compatible provider");
        goto out;
    }
    if (weight > 1000) {
        ez_import_warn(r->warnings, "providers[%zu] (%s): weight %lld lowered to 1000", index,
                       label, weight);
        weight = 1000;
    }
    if (priority != 0)
        ez_import_warn(r->warnings,
                       "providers[%zu] (%s): priority %lld is not kept; ezapi balances by weight",
                       index, label, priority);
    const char *primary = json_string_value(json_object_get(obj, "primary_group"));
    json_t *g = json_object_get(r->groups, label);
    if (!g) {
        char gname[65];
        ez_import_group_name(label, gname);
        if (!*gname)
            snprintf(gname, sizeof gname, "channel-%zu", index);
        /* Two channels whose names map to the same group name stay apart. */
        int taken = 0;
        const char *k;
        json_t *o;
        json_object_foreach(r->groups, k, o)
            taken |= strcmp(json_string_value(json_object_get(o, "name")), gname) == 0;
        if (taken) {
            char suffixed[65];
            snprintf(suffixed, sizeof suffixed, "%.*s-%zu", ez_utf8_prefix(gname, 50), gname,
                     index);
            snprintf(gname, sizeof gname, "%s", suffixed);
        }
        if (strcmp(gname, label) != 0)
            ez_import_warn(r->warnings, "providers[%zu]: channel \"%s\" becomes provider group %s",
                           index, label, gname);
        g = json_pack("{s:s, s:s, s:s, s:[], s:s, s:[], s:{}, s:I, s:s, s:s}", "name", gname,
                      "type", type, "base_url", base_url ? base_url : "", "models", "status",
                      "disabled", "keys", "route_groups", "id", (json_int_t)0, "google_project",
                      gproject ? gproject : "", "google_location", glocation ? glocation : "");
        json_object_set_new(r->groups, label, g);
    } else if (strcmp(json_string_value(json_object_get(g, "type")), type) != 0) {
        ez_import_warn(r->warnings,
                       "providers[%zu] (%s): type %s differs from the channel's first entry; the "
                       "first one's is kept",
                       index, label, type);
    }
    /* The group's models are the union of its entries'. */
    json_t *gm = json_object_get(g, "models"), *m;
    size_t i;
    json_array_foreach(models, i, m) {
        int have = 0;
        for (size_t j = 0; j < json_array_size(gm) && !have; j++)
            have = json_equal(json_array_get(gm, j), m);
        if (!have && json_array_size(gm) < EZ_IMPORT_MAX_LIST)
            json_array_append(gm, m);
    }
    /* An export of ezapi says the group's own status; else a group is
     * disabled when all its entries are. */
    const char *gstatus = json_string_value(json_object_get(obj, "group_status"));
    if (gstatus && (strcmp(gstatus, "active") == 0 || strcmp(gstatus, "disabled") == 0))
        json_object_set_new(g, "status", json_string(gstatus));
    else if (strcmp(status, "disabled") != 0)
        json_object_set_new(g, "status", json_string("active"));
    json_t *rg = json_object_get(g, "route_groups");
    if (primary && *primary)
        json_object_set_new(rg, primary, json_true());
    json_array_foreach(all_groups, i, m)
        json_object_set_new(rg, json_string_value(m), json_true());
    if (!api_key || !*api_key) {
        ez_import_warn(r->warnings,
                       "providers[%zu] (%s): no api_key (an export without secrets); add the key "
                       "to provider group %s with POST /admin/api-keys",
                       index, label, json_string_value(json_object_get(g, "name")));
    } else {
        const char *kstatus = strcmp(status, "active") == 0     ? "active"
                              : strcmp(status, "disabled") == 0 ? "manual_disabled"
                                                                : "auto_disabled";
        json_array_append_new(json_object_get(g, "keys"),
                              json_pack("{s:s, s:I, s:s, s:b}", "api_key", api_key, "weight",
                                        (json_int_t)weight, "status", kstatus, "auto_ban",
                                        auto_ban));
    }
out:
    json_decref(models);
    json_decref(all_groups);
}

/* ---- Masters ----------------------------------------------------------- */

static json_t *check_master(struct run *r, size_t index, json_t *obj)
{
    struct item it = { r, "masters", index, obj };
    static const char *const statuses[] = { "active", "suspended", "disabled", NULL };
    const char *name, *group, *def, *status, *kd, *kp;
    long long mck, qps;
    json_t *ns = NULL;
    if (!json_is_object(obj)) {
        fail(r, "masters", index, "", "must be an object");
        return NULL;
    }
    if (opt_str(&it, "master_key_digest", 71, &kd) || opt_str(&it, "key_prefix", 16, &kp))
        return NULL;
    if (kd && (strncmp(kd, "sha256:", 7) != 0 || !ez_digest_valid(kd + 7))) {
        bad(&it, "master_key_digest", "must be sha256: and 64 lowercase hex");
        return NULL;
    }
    if (req_str(&it, "name", 128, &name) || opt_str(&it, "group", 64, &group) ||
        opt_str(&it, "default_namespace", 64, &def) ||
        opt_enum(&it, "status", statuses, "active", &status) ||
        opt_int(&it, "max_child_keys", 0, INT32_MAX, 5, &mck) ||
        opt_int(&it, "global_qps", 0, INT32_MAX, 0, &qps) ||
        opt_list(&it, "namespaces", NULL, ns_name, "a namespace name", &ns))
        return NULL;
    int listed = !def || !*def;
    size_t i;
    json_t *v;
    json_array_foreach(ns, i, v)
        listed |= def && strcmp(json_string_value(v), def) == 0;
    if (!listed) {
        bad(&it, "default_namespace", "must be one of namespaces");
        json_decref(ns);
        return NULL;
    }
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:o, s:s, s:I, s:s?, s:s?}", "name", name,
                     "group", group && *group ? group : "default", "status",
                     strcmp(status, "active") == 0 ? "active" : "suspended", "max_child_keys",
                     (json_int_t)mck, "global_qps", (json_int_t)qps, "namespaces", ns,
                     "default_namespace", def ? def : "", "index", (json_int_t)index,
                     "key_digest", kd ? kd + 7 : NULL, "key_prefix", kp);
}

/* ---- Keys -------------------------------------------------------------- */

/* The digests of a token (docs/migrate.md, "Keys"): a digest given as
 * "sha256:<hex>" is taken as is; a plaintext token without "sk-" gets the
 * digest of "sk-" + token and an alias digest of the token itself. */
static int token_digests(struct item *it, const char *tok, char digest[65], char alias[65],
                         char prefix[EZ_TOKEN_DISPLAY_LEN + 1])
{
    alias[0] = prefix[0] = 0;
    if (strncmp(tok, "sha256:", 7) == 0) {
        if (!ez_digest_valid(tok + 7))
            return bad(it, "original_token", "a digest must be sha256: and 64 lowercase hex");
        memcpy(digest, tok + 7, 65);
        const char *a, *p;
        if (opt_str(it, "alias_digest", 71, &a) || opt_str(it, "key_prefix", 16, &p))
            return -1;
        if (a && (strncmp(a, "sha256:", 7) != 0 || !ez_digest_valid(a + 7)))
            return bad(it, "alias_digest", "must be sha256: and 64 lowercase hex");
        if (a)
            memcpy(alias, a + 7, 65);
        snprintf(prefix, EZ_TOKEN_DISPLAY_LEN + 1, "%s", p ? p : "");
        return 0;
    }
    char full[EZ_IMPORT_MAX_TOKEN + 4];
    int bare = strncmp(tok, "sk-", 3) != 0;
    snprintf(full, sizeof full, "%s%s", bare ? "sk-" : "", tok);
    int rc = ez_sha256_hex(full, strlen(full), digest);
    if (rc == 0 && bare)
        rc = ez_sha256_hex(tok, strlen(tok), alias);
    if (rc == 0)
        ez_token_display(full, prefix);
    OPENSSL_cleanse(full, sizeof full);
    return rc == 0 ? 0 : bad(it, "original_token", "cannot compute its digest");
}

static json_t *check_key(struct run *r, size_t index, json_t *obj)
{
    struct item it = { r, "keys", index, obj };
    static const char *const statuses[] = { "active", "disabled", "expired", "exhausted", NULL };
    const char *master, *tok, *status, *group, *name;
    long long ql, qu;
    int limits_on, unlimited;
    json_t *ns = NULL, *limits = NULL, *ips = NULL, *row = NULL;
    char digest[65], alias[65], prefix[EZ_TOKEN_DISPLAY_LEN + 1];
    if (!json_is_object(obj)) {
        fail(r, "keys", index, "", "must be an object");
        return NULL;
    }
    if (req_str(&it, "master_ref", 128, &master) ||
        req_str(&it, "original_token", EZ_IMPORT_MAX_TOKEN, &tok) ||
        opt_enum(&it, "status", statuses, "active", &status) || opt_str(&it, "group", 64, &group) ||
        opt_str(&it, "name", 128, &name) ||
        opt_list(&it, "namespaces", NULL, ns_name, "a namespace name", &ns) ||
        opt_bool(&it, "model_limits_enabled", 0, &limits_on) ||
        opt_list(&it, "model_limits", ",", NULL, NULL, &limits) ||
        opt_list(&it, "allow_ips", ",\n\r\t ", ip_or_cidr, "an IP address or CIDR", &ips) ||
        opt_int(&it, "quota_limit", 0, INT64_MAX, -1, &ql) ||
        opt_int(&it, "quota_used", 0, INT64_MAX, -1, &qu) ||
        opt_bool(&it, "unlimited_quota", -1, &unlimited) ||
        token_digests(&it, tok, digest, alias, prefix))
        goto out;
    json_t *exp = json_object_get(obj, "expires_at");
    if (exp && !json_is_null(exp) &&
        !(json_is_string(exp) && (!*json_string_value(exp) || rfc3339(json_string_value(exp))))) {
        bad(&it, "expires_at", "must be an RFC 3339 time or null");
        goto out;
    }
    /* new-api's statuses: disabled and expired become suspended, exhausted
     * (quota used up) becomes expired; each is refused by the data plane. */
    const char *st = strcmp(status, "active") == 0      ? "active"
                     : strcmp(status, "exhausted") == 0 ? "expired"
                                                        : "suspended";
    row = json_pack("{s:I, s:s, s:s, s:s, s:s?, s:s, s:o, s:o?, s:o?, s:s?, s:s?}",
                    "index", (json_int_t)index, "master_ref", master, "digest", digest,
                    "key_prefix", prefix, "name", name, "status", st, "namespaces", ns,
                    "model_limits", limits_on && json_array_size(limits) ? json_incref(limits) : NULL,
                    "allow_ips", json_array_size(ips) ? json_incref(ips) : NULL,
                    "expires_at", json_is_string(exp) && *json_string_value(exp)
                                      ? json_string_value(exp) : NULL,
                    "group", group);
    ns = NULL;
    if (row && alias[0])
        json_object_set_new(row, "alias", json_string(alias));
    if (row && ql >= 0)
        json_object_set_new(row, "quota_limit", json_integer(ql));
    if (row && qu >= 0)
        json_object_set_new(row, "quota_used", json_integer(qu));
    if (row && unlimited >= 0)
        json_object_set_new(row, "unlimited_quota", json_boolean(unlimited));
out:
    OPENSSL_cleanse(digest, sizeof digest);
    json_decref(ns);
    json_decref(limits);
    json_decref(ips);
    return row;
}

/* ---- Bindings ---------------------------------------------------------- */

static json_t *check_binding(struct run *r, size_t index, json_t *obj)
{
    struct item it = { r, "bindings", index, obj };
    static const char *const statuses[] = { "active", "disabled", NULL };
    const char *ns, *rg, *model, *status, *pub;
    if (!json_is_object(obj)) {
        fail(r, "bindings", index, "", "must be an object");
        return NULL;
    }
    if (req_str(&it, "namespace", 64, &ns) || req_str(&it, "route_group", 128, &rg) ||
        req_str(&it, "model", 256, &model) || opt_str(&it, "public_model", 256, &pub) ||
        opt_enum(&it, "status", statuses, "active", &status))
        return NULL;
    if (!ns_name(ns)) {
        bad(&it, "namespace", "must match [a-z0-9][a-z0-9_-]{0,63}");
        return NULL;
    }
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s}", "index", (json_int_t)index, "namespace",
                     ns, "route_group", rg, "model", model, "status", status, "public_model",
                     pub && *pub ? pub : model);
}

/* ---- Writing ------------------------------------------------------------ */

static int ok(struct run *r, int rc)
{
    if (rc != EZ_DB_OK && r->rc == EZ_DB_OK)
        r->rc = rc;
    return r->rc == EZ_DB_OK;
}

/* One sync job per resource and id, whatever number of items touched it. */
static void sync_later(struct run *r, const char *resource, int64_t id, json_t *payload)
{
    char k[64];
    snprintf(k, sizeof k, "%s/%" PRId64, resource, id);
    if (r->rc == EZ_DB_OK && !json_object_get(r->synced, k)) {
        json_object_set_new(r->synced, k, json_true());
        ok(r, ez_si_sync_later(r->db, resource, id, payload));
    }
    json_decref(payload);
}

static void write_namespaces(struct run *r)
{
    const char *name;
    json_t *v;
    json_object_foreach(r->namespaces, name, v) {
        int created;
        int64_t id;
        if (!ok(r, ez_si_namespace(r->db, name, &created, &id)))
            return;
        count(created ? r->created : r->skipped, "namespaces", 1);
        if (created)
            sync_later(r, "namespaces", id, json_pack("{s:s, s:s}", "op", "upsert", "name", name));
    }
}

static void write_groups(struct run *r)
{
    const char *label;
    json_t *g;
    json_object_foreach(r->groups, label, g) {
        const char *name = json_string_value(json_object_get(g, "name"));
        json_t *keys = json_object_get(g, "keys");
        int64_t id;
        if (!ok(r, ez_si_group_find(r->db, name, &id)))
            return;
        json_object_set_new(g, "id", json_integer(id));
        if (id && !r->o->overwrite) {
            count(r->skipped, "provider_groups", 1);
            count(r->skipped, "api_keys", (long long)json_array_size(keys));
            continue;
        }
        int existed = id != 0;
        if (!ok(r, ez_si_group_write(r->db, g, &id)))
            return;
        json_object_set_new(g, "id", json_integer(id));
        count(existed ? r->overwritten : r->created, "provider_groups", 1);
        size_t i;
        json_t *k;
        json_array_foreach(keys, i, k) {
            char *sealed = ez_secret_seal(r->cfg, json_string_value(json_object_get(k, "api_key")));
            if (!sealed) {
                ok(r, EZ_DB_ERROR);
                return;
            }
            int rc = ez_si_api_key_add(r->db, id, sealed,
                                       json_integer_value(json_object_get(k, "weight")),
                                       json_string_value(json_object_get(k, "status")),
                                       json_is_true(json_object_get(k, "auto_ban")));
            OPENSSL_cleanse(sealed, strlen(sealed));
            free(sealed);
            if (!ok(r, rc))
                return;
        }
        count(existed ? r->overwritten : r->created, "api_keys", (long long)json_array_size(keys));
        sync_later(r, "provider_groups", id, json_pack("{s:s, s:s}", "op", "upsert", "name", name));
    }
}

static void write_masters(struct run *r, json_t *masters, json_t *found)
{
    size_t i;
    json_t *m;
    json_array_foreach(masters, i, m) {
        const char *name = json_string_value(json_object_get(m, "name"));
        json_t *old = json_object_get(found, name);
        int64_t id = old ? json_integer_value(json_object_get(old, "id")) : 0;
        if (id && !r->o->overwrite) {
            count(r->skipped, "masters", 1);
            continue;
        }
        /* A master exported by ezapi keeps its master key (its digest);
         * any other gets a new one. */
        const char *kd = json_string_value(json_object_get(m, "key_digest"));
        const char *kp = json_string_value(json_object_get(m, "key_prefix"));
        char tok[EZ_TOKEN_MAX] = "", digest[65] = "", prefix[EZ_TOKEN_DISPLAY_LEN + 1] = "";
        if (kd) {
            snprintf(digest, sizeof digest, "%s", kd);
            snprintf(prefix, sizeof prefix, "%s", kp ? kp : "");
        } else if (!id && (ez_token_new(EZ_MASTER_KEY_PREFIX, tok, sizeof tok) != 0 ||
                           ez_sha256_hex(tok, strlen(tok), digest) != 0)) {
            ok(r, EZ_DB_ERROR);
            return;
        } else if (!id) {
            ez_token_display(tok, prefix);
        }
        int existed = id != 0;
        if (!ok(r, ez_si_master_write(r->db, m, digest, prefix, &id))) {
            OPENSSL_cleanse(tok, sizeof tok);
            return;
        }
        count(existed ? r->overwritten : r->created, "masters", 1);
        if (!existed && !kd)
            json_array_append_new(r->masters_out,
                                  json_pack("{s:s, s:s?}", "name", name, "master_key",
                                            r->o->dry_run ? NULL : tok));
        OPENSSL_cleanse(tok, sizeof tok);
        sync_later(r, "masters", id, json_pack("{s:s, s:s}", "op", "upsert", "keys", "all"));
    }
}

static int listed(json_t *list, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
        if (strcmp(json_string_value(v), s) == 0)
            return 1;
    return 0;
}

/* The row of keys[index] (NULL: in error), checked alone and against its
 * master; seen maps the digests of the rows so far to their index. */
static json_t *key_row(struct run *r, size_t index, json_t *item, json_t *masters, json_t *seen,
                       long long *regrouped)
{
    json_t *k = check_key(r, index, item);
    if (!k)
        return NULL;
    const char *ref = json_string_value(json_object_get(k, "master_ref"));
    const char *digest = json_string_value(json_object_get(k, "digest"));
    json_t *m = json_object_get(masters, ref);
    if (!m) {
        fail(r, "keys", index, "master_ref", "no master %s in the file or the database", ref);
        goto bad;
    }
    if (json_object_get(seen, digest)) {
        fail(r, "keys", index, "original_token", "the same token as keys[%lld]",
             (long long)json_integer_value(json_object_get(seen, digest)));
        goto bad;
    }
    json_t *mns = json_object_get(m, "namespaces"), *ns = json_object_get(k, "namespaces");
    const char *mdef = json_string_value(json_object_get(m, "default_namespace"));
    size_t j;
    json_t *v;
    int subset = 1;
    json_array_foreach(ns, j, v)
        subset &= listed(mns, json_string_value(v));
    if (!subset) {
        fail(r, "keys", index, "namespaces", "must be among master %s's namespaces", ref);
        goto bad;
    }
    if (json_array_size(ns) == 0)
        json_object_set(k, "namespaces", ns = mns); /* a key without namespaces has its master's */
    const char *def = mdef && listed(ns, mdef) ? mdef : NULL;
    const char *group = json_string_value(json_object_get(k, "group"));
    const char *mgroup = json_string_value(json_object_get(m, "group"));
    *regrouped += group && *group && strcmp(group, mgroup) != 0;
    json_object_set_new(seen, digest, json_integer((json_int_t)index));
    json_array_foreach(ns, j, v)
        count(r->key_ns, json_string_value(v), 1);
    json_object_del(k, "index");
    json_object_del(k, "master_ref");
    json_object_del(k, "group");
    json_object_set_new(k, "master_id", json_incref(json_object_get(m, "id")));
    json_object_set_new(k, "issued_at_epoch", json_incref(json_object_get(m, "epoch")));
    json_object_set_new(k, "group_name", json_string(mgroup));
    json_object_set_new(k, "default_namespace", def ? json_string(def) : json_null());
    return k;
bad:
    json_decref(k);
    return NULL;
}

static void progress(const struct run *r)
{
    if (r->o->progress)
        r->o->progress(r->o->progress_arg);
}

/* Checks the keys and writes those whose master exists: the rows go to
 * PostgreSQL EZ_IMPORT_BATCH at a time, so that the memory they take
 * stays small beside the document's. */
static void write_keys(struct run *r, json_t *items, json_t *masters)
{
    json_t *batch = json_array(), *seen = json_object(), *changed = NULL;
    long long regrouped = 0, created, existing;
    int staged = 0;
    size_t i, n = json_array_size(items);
    json_t *v;
    json_array_foreach(items, i, v) {
        json_t *row = key_row(r, i, v, masters, seen, &regrouped);
        if (row)
            json_array_append_new(batch, row);
        if (json_array_size(batch) &&
            (json_array_size(batch) == EZ_IMPORT_BATCH || i + 1 == n)) {
            if (!ok(r, ez_si_keys_stage(r->db, batch, !staged)))
                break;
            staged = 1;
            json_array_clear(batch);
            progress(r);
        }
    }
    json_decref(batch);
    json_decref(seen);
    if (regrouped)
        ez_import_warn(r->warnings,
                       "%lld key(s) had a group other than their master's; a child key always has "
                       "its master's group",
                       regrouped);
    if (!staged || r->rc != EZ_DB_OK ||
        !ok(r, ez_si_keys_write(r->db, r->o->overwrite, &created, &existing, &changed)))
        return;
    progress(r);
    count(r->created, "keys", created);
    count(r->o->overwrite ? r->overwritten : r->skipped, "keys", existing);
    json_array_foreach(changed, i, v)
        sync_later(r, "masters", json_integer_value(v),
                   json_pack("{s:s, s:s}", "op", "upsert", "keys", "all"));
    json_decref(changed);
}

static void write_bindings(struct run *r, json_t *bindings)
{
    size_t i;
    json_t *b;
    json_array_foreach(bindings, i, b) {
        const char *ns = json_string_value(json_object_get(b, "namespace"));
        const char *rg = json_string_value(json_object_get(b, "route_group"));
        const char *model = json_string_value(json_object_get(b, "model"));
        int matched = 0;
        const char *label;
        json_t *g;
        json_object_foreach(r->groups, label, g) {
            if (!json_object_get(json_object_get(g, "route_groups"), rg) ||
                !listed(json_object_get(g, "models"), model))
                continue;
            matched++;
            int64_t gid = json_integer_value(json_object_get(g, "id"));
            int result;
            if (!ok(r, ez_si_binding(r->db, ns, json_string_value(json_object_get(b, "public_model")),
                                     model, gid,
                                     json_string_value(json_object_get(b, "status")),
                                     r->o->overwrite, &result)))
                return;
            count(result == 1 ? r->created : result == 2 ? r->overwritten : r->skipped,
                  "bindings", 1);
            if (result)
                sync_later(r, "provider_groups", gid,
                           json_pack("{s:s, s:s}", "op", "upsert", "name",
                                     json_string_value(json_object_get(g, "name"))));
        }
        if (!matched)
            ez_import_warn(r->warnings,
                           "bindings[%lld]: no imported provider of routing group %s offers %s",
                           (long long)json_integer_value(json_object_get(b, "index")), rg, model);
    }
}

static void warn_unbound(struct run *r)
{
    json_t *names = json_array(), *unbound = NULL;
    const char *n;
    json_t *v;
    json_object_foreach(r->key_ns, n, v)
        json_array_append_new(names, json_string(n));
    if (json_array_size(names) && ok(r, ez_si_unbound(r->db, names, &unbound))) {
        size_t i;
        json_array_foreach(unbound, i, v) ez_import_warn(
            r->warnings, "namespace %s has no binding: its %lld imported key(s) route nowhere yet",
            json_string_value(v),
            (long long)json_integer_value(json_object_get(r->key_ns, json_string_value(v))));
    }
    json_decref(unbound);
    json_decref(names);
}

static void audit(struct run *r, const struct ez_import_actor *who, json_t *source)
{
    json_t *changes = json_pack("{s:{s:O, s:O, s:O, s:I, s:I}, s:O?, s:{s:b, s:s, s:b, s:b}}",
                                "after", "created", r->created, "skipped", r->skipped,
                                "overwritten", r->overwritten, "warnings",
                                (json_int_t)json_array_size(r->warnings), "errors",
                                (json_int_t)json_array_size(r->errors), "source", source,
                                "options", "dry_run", 0, "conflict",
                                r->o->overwrite ? "overwrite" : "skip", "include_bindings",
                                r->o->include_bindings, "skip_invalid", r->o->skip_invalid);
    json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:o}",
                            "request_id", who->request_id ? who->request_id : "", "actor_type",
                            who->actor_type, "actor", who->actor ? who->actor : "", "action",
                            r->o->action ? r->o->action : "import.newapi", "resource", "import", "resource_id", "", "method",
                            who->method ? who->method : "", "path", who->path ? who->path : "",
                            "status", 200, "remote_addr",
                            who->remote_addr ? who->remote_addr : "", "changes", changes);
    ok(r, rec ? ez_si_audit(r->db, rec) : EZ_DB_ERROR);
    json_decref(rec);
}

/* ---- The document ------------------------------------------------------- */

static int bad_doc(struct ez_import_result *res, const char *path, const char *msg)
{
    snprintf(res->path, sizeof res->path, "%s", path);
    snprintf(res->message, sizeof res->message, "%s", msg);
    return EZ_IMPORT_BAD_DOC;
}

/* data.<name>: an array (empty when absent). */
static int section(json_t *data, const char *name, json_t **out, struct ez_import_result *res)
{
    char path[64];
    snprintf(path, sizeof path, "data.%s", name);
    json_t *v = json_object_get(data, name);
    *out = v;
    if (!v || json_is_null(v)) {
        *out = NULL;
        return 0;
    }
    if (!json_is_array(v))
        return bad_doc(res, path, "must be an array");
    if (json_array_size(v) > EZ_IMPORT_MAX_ITEMS)
        return bad_doc(res, path, "has more than " "1000000" " items");
    return 0;
}

static int check_doc(json_t *doc, json_t **sec, struct ez_import_result *res)
{
    if (!json_is_object(doc))
        return bad_doc(res, "$", "the document must be a JSON object");
    json_t *ver = json_object_get(doc, "version");
    if (!json_is_string(ver))
        return bad_doc(res, "version", "is required (\"1.0.0\")");
    if (strncmp(json_string_value(ver), "1.", 2) != 0)
        return bad_doc(res, "version", "unsupported version: only 1.x documents are read");
    json_t *data = json_object_get(doc, "data");
    if (!json_is_object(data))
        return bad_doc(res, "data", "is required and must be an object");
    json_t *src = json_object_get(doc, "source");
    if (src && !json_is_null(src) && !json_is_object(src))
        return bad_doc(res, "source", "must be an object");
    json_t *w = json_object_get(doc, "warnings");
    if (w && !json_is_null(w) && !json_is_array(w))
        return bad_doc(res, "warnings", "must be an array");
    static const char *const names[] = { "providers", "masters", "keys", "bindings" };
    for (int i = 0; i < 4; i++)
        if (section(data, names[i], &sec[i], res) != 0)
            return EZ_IMPORT_BAD_DOC;
    return EZ_IMPORT_DONE;
}

static json_t *counts(void)
{
    json_t *c = json_object();
    for (int i = 0; resources[i]; i++)
        json_object_set_new(c, resources[i], json_integer(0));
    return c;
}

int ez_import_newapi(struct ez_db *db, const struct ez_config *cfg, json_t *doc,
                     const struct ez_import_opts *opts, const struct ez_import_actor *who,
                     struct ez_import_result *res)
{
    memset(res, 0, sizeof *res);
    json_t *sec[4];
    if (check_doc(doc, sec, res) != EZ_IMPORT_DONE)
        return EZ_IMPORT_BAD_DOC;
    struct run r = { .db = db, .cfg = cfg, .o = opts, .created = counts(), .skipped = counts(),
                     .overwritten = counts(), .warnings = json_array(), .errors = json_array(),
                     .masters_out = json_array(), .namespaces = json_object(),
                     .groups = json_object(), .synced = json_object(), .key_ns = json_object() };
    json_t *masters = json_array(), *bindings = json_array();
    json_t *refs = json_array(), *named = json_object(), *found = NULL;
    size_t i, j;
    json_t *v, *e;
    json_array_foreach(json_object_get(doc, "warnings"), i, v)
        if (json_is_string(v) && i < 1000)
            ez_import_warn(r.warnings, "source: %.*s",
                           ez_utf8_prefix(json_string_value(v), 400), json_string_value(v));

    /* Every item is checked before anything is written. */
    json_array_foreach(sec[0], i, v)
        add_provider(&r, i, v);
    json_array_foreach(sec[1], i, v) {
        json_t *m = check_master(&r, i, v);
        if (!m)
            continue;
        int dup = 0;
        json_array_foreach(masters, j, e)
            dup |= json_equal(json_object_get(e, "name"), json_object_get(m, "name"));
        if (dup) {
            fail(&r, "masters", i, "name", "master %s is listed twice",
                 json_string_value(json_object_get(m, "name")));
            json_decref(m);
            continue;
        }
        json_array_append_new(masters, m);
        json_array_append(refs, json_object_get(m, "name"));
        json_object_set_new(named, json_string_value(json_object_get(m, "name")), json_true());
        json_array_foreach(json_object_get(m, "namespaces"), j, e)
            json_object_set_new(r.namespaces, json_string_value(e), json_true());
    }
    /* Keys are checked in the transaction, batch by batch (write_keys);
     * here only the masters they name are collected. */
    json_array_foreach(sec[2], i, v) {
        json_t *ref = json_object_get(v, "master_ref");
        if (json_is_string(ref) && !json_object_get(named, json_string_value(ref))) {
            json_object_set_new(named, json_string_value(ref), json_true());
            json_array_append(refs, ref);
        }
    }
    if (opts->include_bindings) {
        json_array_foreach(sec[3], i, v) {
            json_t *b = check_binding(&r, i, v);
            if (!b)
                continue;
            json_array_append_new(bindings, b);
            json_object_set_new(r.namespaces, json_string_value(json_object_get(b, "namespace")),
                                json_true());
        }
    } else if (json_array_size(sec[3])) {
        ez_import_warn(r.warnings, "%zu binding(s) not imported: include_bindings is not set",
             json_array_size(sec[3]));
    }

    /* One transaction, rolled back unless it is to be kept. */
    int rc = ez_db_begin(db);
    ok(&r, rc);
    if (rc == EZ_DB_OK && ok(&r, ez_si_long_statements(db))) {
        write_namespaces(&r);
        write_groups(&r);
        if (r.rc == EZ_DB_OK)
            ok(&r, ez_si_masters_find(db, refs, &found));
        if (r.rc == EZ_DB_OK)
            write_masters(&r, masters, found);
        json_decref(found);
        found = NULL;
        if (r.rc == EZ_DB_OK)
            ok(&r, ez_si_masters_find(db, refs, &found));
        if (r.rc == EZ_DB_OK)
            write_keys(&r, sec[2], found);
        if (r.rc == EZ_DB_OK)
            write_bindings(&r, bindings);
        if (r.rc == EZ_DB_OK)
            warn_unbound(&r);
    }
    int keep = r.rc == EZ_DB_OK && !opts->dry_run &&
               (json_array_size(r.errors) == 0 || opts->skip_invalid);
    if (keep)
        audit(&r, who, json_object_get(doc, "source"));
    int result;
    if (rc == EZ_DB_OK) {
        int end = ez_db_end(db, r.rc, keep && r.rc == EZ_DB_OK);
        if (r.rc == EZ_DB_OK && end != EZ_DB_OK && keep)
            r.rc = end;
    }
    if (r.rc != EZ_DB_OK) {
        res->db_rc = r.rc;
        result = EZ_IMPORT_DB;
    } else {
        result = json_array_size(r.errors) && !opts->skip_invalid ? EZ_IMPORT_INVALID
                                                                 : EZ_IMPORT_DONE;
    }
    if (result != EZ_IMPORT_DB || r.rc == EZ_DB_UNKNOWN)
        res->answer = json_pack("{s:b, s:b, s:O, s:O, s:O, s:O, s:O, s:O}", "dry_run",
                                opts->dry_run, "committed", keep && r.rc == EZ_DB_OK,
                                "created", r.created, "skipped", r.skipped, "overwritten",
                                r.overwritten, "masters", r.masters_out, "warnings", r.warnings,
                                "errors", r.errors);
    if (keep && r.rc == EZ_DB_OK)
        log_info("import: committed (%zu warning(s), %zu error(s) skipped)",
                 json_array_size(r.warnings), json_array_size(r.errors));
    /* The answer holds the generated master keys: the copies here go. */
    json_decref(r.masters_out);
    json_decref(r.created);
    json_decref(r.skipped);
    json_decref(r.overwritten);
    json_decref(r.warnings);
    json_decref(r.errors);
    json_decref(r.namespaces);
    json_decref(r.groups);
    json_decref(r.synced);
    json_decref(r.key_ns);
    json_decref(masters);
    json_decref(bindings);
    json_decref(refs);
    json_decref(named);
    json_decref(found);
    return result;
}
