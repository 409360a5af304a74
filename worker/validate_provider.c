/* Provider group and api key rules: what ProviderGroupManager was in the
 * seed. Checks shape and content only; existence of rows is the store's
 * (422 missing group, 409 name taken). Never echoes an api key. */
#include "validate_provider.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const ez_provider_types[] = EZ_PROVIDER_TYPES;
static const char *const group_statuses[] = EZ_GROUP_STATUSES;
static const char *const key_statuses[] = EZ_API_KEY_STATUSES;

#define SEALED_PREFIX "enc:v1:"

struct preset {
    const char *preset, *type, *base_url, *name;
    const char *models[4];
};
static const struct preset presets[] = {
    { "openai", "openai", "https://api.openai.com/v1", "openai",
      { "gpt-4o", "gpt-4o-mini", "o3-mini", NULL } },
    { "anthropic", "anthropic", "https://api.anthropic.com", "anthropic",
      { "claude-sonnet-4-5", "claude-haiku-4-5", NULL } },
    { "gemini", "gemini", "https://generativelanguage.googleapis.com", "gemini",
      { "gemini-2.5-pro", "gemini-2.5-flash", NULL } },
};
static const char *const preset_names[] = EZ_PRESETS;

void ez_group_in_free(struct ez_group_in *in)
{
    json_decref(in->models);
    json_decref(in->hold);
    in->models = in->hold = NULL;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* A trimmed copy of s kept alive by in->hold under `slot`. */
static const char *hold_trimmed(struct ez_group_in *in, const char *slot, const char *s)
{
    while (is_space(*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && is_space(s[n - 1]))
        n--;
    if (!in->hold)
        in->hold = json_object();
    json_t *v = json_stringn(s, n);
    if (!in->hold || !v || json_object_set_new(in->hold, slot, v) != 0)
        return NULL;
    return json_string_value(v);
}

static int is_vertex(const char *type)
{
    return strcmp(type, "vertex") == 0 || strcmp(type, "vertex-express") == 0;
}

static int name_field(json_t *body, int required, const char **out, struct ez_verr *e)
{
    if (ez_v_string(body, "name", EZ_MAX_NAME, 0, 0, out, NULL, e) != 0)
        return -1;
    if (!*out)
        return required ? ez_v_fail(e, 400, "name", "name is required") : 0;
    if (!ez_v_is_group_name(*out))
        return ez_v_fail(e, 400, "name", "name must match " EZ_GROUP_NAME);
    return 0;
}

/* Trimmed, lower-cased, one of the 13 types: the static name, or NULL. */
static const char *normal_type(const char *s)
{
    char t[EZ_MAX_NAME + 1];
    while (is_space(*s))
        s++;
    size_t n = 0;
    for (; s[n] && n < sizeof t - 1; n++)
        t[n] = (char)tolower((unsigned char)s[n]);
    while (n > 0 && is_space(t[n - 1]))
        n--;
    t[n] = 0;
    for (int i = 0; ez_provider_types[i]; i++)
        if (strcmp(t, ez_provider_types[i]) == 0)
            return ez_provider_types[i];
    return NULL;
}

static int type_field(json_t *body, int required, const char **out, struct ez_verr *e)
{
    const char *s;
    *out = NULL;
    if (ez_v_string(body, "type", EZ_MAX_NAME, 0, 1, &s, NULL, e) != 0)
        return -1;
    if (!s)
        return required ? ez_v_fail(e, 400, "type", "type is required") : 0;
    *out = normal_type(s);
    if (!*out)
        return ez_v_fail(e, 400, "type",
                         "type must be one of: openai, compatible, anthropic, claude, "
                         "claude-code, codex, gemini-cli, antigravity, gemini, google, "
                         "aistudio, vertex, vertex-express");
    return 0;
}

static int digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    return n > 0;
}

/* An absolute http or https URL in printable ASCII with a host, an
 * optional port, no credentials and no fragment. NULL when fine, else why. */
static const char *url_problem(const char *s)
{
    const char *rest;
    if (strncasecmp(s, "http://", 7) == 0)
        rest = s + 7;
    else if (strncasecmp(s, "https://", 8) == 0)
        rest = s + 8;
    else
        return "must start with http:// or https://";
    for (const char *c = s; *c; c++)
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
            return "may contain only printable ASCII without spaces (percent-encode the rest)";
    if (strchr(s, '#'))
        return "may not contain a fragment (#)";
    size_t alen = strcspn(rest, "/?");
    if (memchr(rest, '@', alen))
        return "may not contain credentials (user@host)";
    const char *host = rest, *port = NULL;
    size_t hlen;
    if (host[0] == '[') {
        const char *close = memchr(host, ']', alen);
        if (!close || close == host + 1)
            return "has an invalid IPv6 host";
        for (const char *c = host + 1; c < close; c++)
            if (!isxdigit((unsigned char)*c) && *c != ':' && *c != '.')
                return "has an invalid IPv6 host";
        hlen = (size_t)(close - host) + 1;
        if (hlen < alen && host[hlen] != ':')
            return "has an invalid host";
    } else {
        hlen = strcspn(host, ":/?");
        if (hlen > alen)
            hlen = alen;
        for (size_t i = 0; i < hlen; i++)
            if (!isalnum((unsigned char)host[i]) && host[i] != '-' && host[i] != '.' &&
                host[i] != '_')
                return "has an invalid host";
    }
    if (hlen == 0)
        return "has no host";
    if (hlen < alen) {
        port = host + hlen + 1;
        size_t plen = alen - hlen - 1;
        if (plen > 5 || !digits(port, plen) || atoi(port) < 1 || atoi(port) > 65535)
            return "has an invalid port";
    }
    return NULL;
}

static int base_url_field(json_t *body, struct ez_group_in *in, struct ez_verr *e)
{
    if (ez_v_string(body, "base_url", EZ_MAX_URL, 1, 1, &in->base_url, &in->clear_base_url,
                    e) != 0)
        return -1;
    const char *why = in->base_url && *in->base_url ? url_problem(in->base_url) : NULL;
    if (why)
        return ez_v_fail(e, 400, "base_url", "base_url %s", why);
    return 0;
}

static int trimmed_field(json_t *body, struct ez_group_in *in, const char *field, size_t max,
                         const char **out, int *clear, struct ez_verr *e)
{
    const char *s;
    if (ez_v_string(body, field, max, 1, 1, &s, clear, e) != 0)
        return -1;
    *out = NULL;
    if (s && !(*out = hold_trimmed(in, field, s)))
        return ez_v_fail(e, 400, field, "%s could not be read (out of memory)", field);
    return 0;
}

/* models: 1..1000 strings, each trimmed, non-empty, at most 256 bytes;
 * duplicates after trimming are dropped, the first occurrence kept. */
static int models_field(json_t *body, int required, struct ez_group_in *in, struct ez_verr *e)
{
    json_t *v = json_object_get(body, "models");
    if (!v || json_is_null(v)) {
        if (v)
            return ez_v_fail(e, 400, "models", "models may not be null");
        return required ? ez_v_fail(e, 400, "models", "models is required") : 0;
    }
    if (!json_is_array(v))
        return ez_v_fail(e, 400, "models", "models must be an array of strings");
    size_t n = json_array_size(v);
    if (n < 1 || n > EZ_MAX_MODELS)
        return ez_v_fail(e, 400, "models", "models must have 1 to %d entries", EZ_MAX_MODELS);
    json_t *out = json_array(), *seen = json_object();
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_array_get(v, i);
        if (!json_is_string(m)) {
            rc = ez_v_fail(e, 400, "models", "models[%zu] must be a string", i);
            break;
        }
        const char *s = json_string_value(m);
        size_t len = json_string_length(m);
        if (strlen(s) != len) {
            rc = ez_v_fail(e, 400, "models", "models[%zu] contains a NUL byte", i);
            break;
        }
        while (is_space(*s))
            s++;
        len = strlen(s);
        while (len > 0 && is_space(s[len - 1]))
            len--;
        for (size_t j = 0; j < len && rc == 0; j++)
            if ((unsigned char)s[j] < 0x20 || s[j] == 0x7f)
                rc = ez_v_fail(e, 400, "models", "models[%zu] contains a control character", i);
        if (rc == 0 && len == 0)
            rc = ez_v_fail(e, 400, "models", "models[%zu] is empty", i);
        else if (rc == 0 && len > EZ_MAX_MODEL_NAME)
            rc = ez_v_fail(e, 400, "models", "models[%zu] is longer than %d bytes", i,
                           EZ_MAX_MODEL_NAME);
        if (rc != 0)
            break;
        json_t *t = json_stringn(s, len);
        if (!t) {
            rc = ez_v_fail(e, 400, "models", "models[%zu] is not valid UTF-8", i);
            break;
        }
        if (json_object_get(seen, json_string_value(t))) {
            json_decref(t);
            continue;
        }
        json_object_set_new(seen, json_string_value(t), json_true());
        json_array_append_new(out, t);
    }
    json_decref(seen);
    if (rc != 0) {
        json_decref(out);
        return rc;
    }
    json_decref(in->models);
    in->models = out;
    return 0;
}

int ez_group_merge(struct ez_group_in *in, const json_t *current, struct ez_verr *e)
{
    const char *type = in->type;
    if (!type)
        type = json_string_value(json_object_get(current, "type"));
    const char *base = in->base_url;
    if (!base && !in->clear_base_url)
        base = json_string_value(json_object_get(current, "base_url"));
    if (type && strcmp(type, "compatible") == 0 && (!base || !*base))
        return ez_v_fail(e, 400, "base_url", "base_url is required for type compatible");
    const char *loc = in->google_location;
    if (!loc && !in->clear_google_location)
        loc = json_string_value(json_object_get(current, "google_location"));
    if (type && is_vertex(type) && (!loc || !*loc)) {
        in->google_location = "global";
        in->clear_google_location = 0;
    }
    return 0;
}

int ez_validate_group(json_t *body, int create, struct ez_group_in *in, struct ez_verr *e)
{
    static const char *const fields[] = { "name", "type", "base_url", "google_project",
                                          "google_location", "models", "status", NULL };
    if (!body) /* an empty update changes nothing */
        return create ? ez_v_fail(e, 400, NULL, "a JSON body is required") : 0;
    if (ez_v_known_fields(body, fields, e) != 0 || name_field(body, create, &in->name, e) != 0 ||
        type_field(body, create, &in->type, e) != 0 || base_url_field(body, in, e) != 0 ||
        trimmed_field(body, in, "google_project", EZ_MAX_GOOGLE_PROJECT, &in->google_project,
                      &in->clear_google_project, e) != 0 ||
        trimmed_field(body, in, "google_location", EZ_MAX_GOOGLE_LOCATION,
                      &in->google_location, &in->clear_google_location, e) != 0 ||
        models_field(body, create, in, e) != 0 ||
        ez_v_enum(body, "status", group_statuses, &in->status, e) != 0)
        return -1;
    return create ? ez_group_merge(in, NULL, e) : 0;
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM), T and Z
 * in either case, year 0001-9999, no leap second. Copies it to out with T
 * and Z upper-cased. */
static int rfc3339(const char *s, char *out, size_t outlen)
{
    size_t n = strlen(s);
    if (n < 20 || n >= outlen)
        return -1;
    if (!digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2) ||
        (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2) || s[13] != ':' ||
        !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
        return -1;
    int y = atoi(s), mo = atoi(s + 5), d = atoi(s + 8);
    int h = atoi(s + 11), mi = atoi(s + 14), sec = atoi(s + 17);
    static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (y < 1 || mo < 1 || mo > 12 || d < 1 ||
        d > mdays[mo - 1] + (mo == 2 && is_leap(y)) || h > 23 || mi > 59 || sec > 59)
        return -1;
    const char *p = s + 19;
    if (*p == '.') {
        size_t f = strspn(p + 1, "0123456789");
        if (f < 1 || f > 9)
            return -1;
        p += 1 + f;
    }
    if ((p[0] == 'Z' || p[0] == 'z') && p[1] == 0) {
        /* fine */
    } else if ((p[0] == '+' || p[0] == '-') && digits(p + 1, 2) && p[3] == ':' &&
               digits(p + 4, 2) && p[6] == 0) {
        if (atoi(p + 1) > 23 || atoi(p + 4) > 59)
            return -1;
    } else {
        return -1;
    }
    memcpy(out, s, n + 1);
    out[10] = 'T';
    if (out[n - 1] == 'z')
        out[n - 1] = 'Z';
    return 0;
}

static int api_key_field(json_t *body, int required, struct ez_key_in *in, struct ez_verr *e)
{
    if (ez_v_string(body, "api_key", EZ_MAX_API_KEY, 0, 0, &in->api_key, NULL, e) != 0)
        return -1;
    if (!in->api_key)
        return required ? ez_v_fail(e, 400, "api_key", "api_key is required") : 0;
    if (strncmp(in->api_key, SEALED_PREFIX, strlen(SEALED_PREFIX)) == 0)
        return ez_v_fail(e, 400, "api_key",
                         "api_key may not start with \"" SEALED_PREFIX "\" (reserved for "
                         "encrypted values)");
    return 0;
}

static int weight_field(json_t *body, struct ez_key_in *in, struct ez_verr *e)
{
    return ez_v_int(body, "weight", 0, EZ_MAX_KEY_WEIGHT, &in->weight, &in->has_weight, e);
}

int ez_validate_api_key(json_t *body, int create, struct ez_key_in *in, struct ez_verr *e)
{
    static const char *const fields[] = { "group_id", "api_key", "weight", "status", "auto_ban",
                                          "ban_reason", "ban_until", NULL };
    if (!body)
        return create ? ez_v_fail(e, 400, NULL, "a JSON body is required") : 0;
    if (ez_v_known_fields(body, fields, e) != 0)
        return -1;
    if (!create && json_object_get(body, "group_id"))
        return ez_v_fail(e, 400, "group_id",
                         "group_id cannot be changed: create the key in the other group and "
                         "delete this one");
    if (create) {
        long long gid = 0;
        int present = 0;
        if (ez_v_int(body, "group_id", 1, INT64_MAX, &gid, &present, e) != 0)
            return -1;
        if (!present)
            return ez_v_fail(e, 400, "group_id", "group_id is required");
        in->group_id = gid;
    }
    const char *until;
    if (api_key_field(body, create, in, e) != 0 || weight_field(body, in, e) != 0 ||
        ez_v_enum(body, "status", key_statuses, &in->status, e) != 0 ||
        ez_v_bool(body, "auto_ban", &in->auto_ban, &in->has_auto_ban, e) != 0 ||
        ez_v_string(body, "ban_reason", EZ_MAX_DESCRIPTION, 1, 1, &in->ban_reason,
                    &in->clear_ban_reason, e) != 0 ||
        ez_v_string(body, "ban_until", 64, 1, 0, &until, &in->clear_ban_until, e) != 0)
        return -1;
    if (until) {
        if (rfc3339(until, in->ban_until_buf, sizeof in->ban_until_buf) != 0)
            return ez_v_fail(e, 400, "ban_until",
                             "ban_until must be an RFC 3339 timestamp such as "
                             "2030-01-31T12:00:00Z, or null");
        in->ban_until = in->ban_until_buf;
    }
    return 0;
}

static int models_from_list(struct ez_group_in *g, const char *const *models)
{
    json_t *arr = json_array();
    for (int i = 0; arr && models[i]; i++)
        json_array_append_new(arr, json_string(models[i]));
    json_decref(g->models);
    g->models = arr;
    return arr ? 0 : -1;
}

int ez_validate_preset(json_t *body, struct ez_group_in *g, struct ez_key_in *k,
                       struct ez_verr *e)
{
    static const char *const fields[] = { "preset", "api_key", "name", "models", "weight", NULL };
    const char *which;
    if (!body)
        return ez_v_fail(e, 400, NULL, "a JSON body is required");
    if (ez_v_known_fields(body, fields, e) != 0 ||
        ez_v_enum(body, "preset", preset_names, &which, e) != 0)
        return -1;
    if (!which)
        return ez_v_fail(e, 400, "preset", "preset is required (openai, anthropic or gemini)");
    const struct preset *p = &presets[0];
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (strcmp(presets[i].preset, which) == 0)
            p = &presets[i];
    if (name_field(body, 0, &g->name, e) != 0 || models_field(body, 0, g, e) != 0 ||
        api_key_field(body, 1, k, e) != 0 || weight_field(body, k, e) != 0)
        return -1;
    if (!g->name)
        g->name = p->name;
    if (!g->models && models_from_list(g, p->models) != 0)
        return ez_v_fail(e, 400, "models", "models could not be built (out of memory)");
    g->type = p->type;
    g->base_url = p->base_url;
    return ez_group_merge(g, NULL, e);
}

int ez_validate_custom(json_t *body, struct ez_group_in *g, struct ez_key_in *k,
                       struct ez_verr *e)
{
    static const char *const fields[] = { "name", "base_url", "api_key", "models", "weight",
                                          NULL };
    if (!body)
        return ez_v_fail(e, 400, NULL, "a JSON body is required");
    if (ez_v_known_fields(body, fields, e) != 0 || name_field(body, 1, &g->name, e) != 0 ||
        base_url_field(body, g, e) != 0)
        return -1;
    if (g->clear_base_url)
        return ez_v_fail(e, 400, "base_url", "base_url may not be null");
    if (!g->base_url || !*g->base_url)
        return ez_v_fail(e, 400, "base_url", "base_url is required for a custom provider");
    if (api_key_field(body, 1, k, e) != 0 || models_field(body, 1, g, e) != 0 ||
        weight_field(body, k, e) != 0)
        return -1;
    g->type = "compatible";
    return ez_group_merge(g, NULL, e);
}

int ez_validate_group_filters(const char *status, const char *type, const char **type_out,
                              struct ez_verr *e)
{
    *type_out = NULL;
    if (status) {
        int ok = 0;
        for (int i = 0; group_statuses[i]; i++)
            ok |= strcmp(status, group_statuses[i]) == 0;
        if (!ok)
            return ez_v_fail(e, 400, "status", "status must be active or disabled");
    }
    if (type && !(*type_out = normal_type(type)))
        return ez_v_fail(e, 400, "type", "type must be one of the provider types");
    return 0;
}

int ez_validate_key_filters(const char *group_id, const char *status, int64_t *gid,
                            struct ez_verr *e)
{
    *gid = 0;
    if (group_id) {
        if (ez_parse_id(group_id, gid) != 0)
            return ez_v_fail(e, 400, "group_id", "group_id must be a positive integer");
    }
    if (status) {
        int ok = 0;
        for (int i = 0; key_statuses[i]; i++)
            ok |= strcmp(status, key_statuses[i]) == 0;
        if (!ok)
            return ez_v_fail(e, 400, "status",
                             "status must be active, auto_disabled or manual_disabled");
    }
    return 0;
}

int ez_validate_cascade(const char *v, int *cascade, struct ez_verr *e)
{
    *cascade = 0;
    if (!v || strcmp(v, "false") == 0)
        return 0;
    if (strcmp(v, "true") == 0) {
        *cascade = 1;
        return 0;
    }
    return ez_v_fail(e, 400, "cascade", "cascade must be true or false");
}
