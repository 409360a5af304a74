/* auth:token and auth:master values from rows. Every value is a string;
 * lists are joined with commas (their entries can hold none: the API
 * refuses commas in them). */
#include "projection_auth.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ez_pj_auth_token_key(const char *digest, char *out, size_t len)
{
    int n = snprintf(out, len, "%s%s", EZ_PJ_AUTH_TOKEN_PREFIX, digest);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

int ez_pj_auth_master_key(int64_t id, char *out, size_t len)
{
    int n = snprintf(out, len, "%s%" PRId64, EZ_PJ_AUTH_MASTER_PREFIX, id);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

int ez_pj_auth_token_usable(const struct ez_pj_token *t, int64_t now_us)
{
    if (!t->status || strcmp(t->status, "revoked") == 0)
        return 0;
    return t->valid_until_us == 0 || t->valid_until_us > now_us;
}

long long ez_pj_auth_token_ttl(const struct ez_pj_token *t, int64_t now_us)
{
    if (t->valid_until_us == 0)
        return 0;
    int64_t left = t->valid_until_us - now_us;
    if (left <= 0)
        return 0;
    long long s = (long long)((left + 999999) / 1000000);
    return s > EZ_PJ_MAX_GRACE_S ? EZ_PJ_MAX_GRACE_S : s;
}

/* Comma-joined strings of a JSON array ("" for NULL or empty). */
static json_t *joined(json_t *list)
{
    size_t len = 0, i;
    json_t *v;
    json_array_foreach(list, i, v)
        len += json_string_length(v) + 1;
    char *buf = malloc(len + 1);
    if (!buf)
        return NULL;
    size_t o = 0;
    json_array_foreach(list, i, v) {
        if (o)
            buf[o++] = ',';
        memcpy(buf + o, json_string_value(v) ? json_string_value(v) : "", json_string_length(v));
        o += json_string_length(v);
    }
    buf[o] = '\0';
    json_t *s = json_stringn(buf, o);
    free(buf);
    return s;
}

static json_t *num(int64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "%" PRId64, v);
    return json_string(b);
}

static json_t *text(const char *s)
{
    return json_string(s ? s : "");
}

/* Sets each (name, value) pair in order; NULL when any value is NULL. */
static json_t *build(const char *const *names, json_t **values, int n)
{
    json_t *o = json_object();
    int bad = !o;
    for (int i = 0; i < n; i++) {
        if (!values[i] || bad) {
            json_decref(values[i]);
            bad = 1;
            continue;
        }
        bad |= json_object_set_new(o, names[i], values[i]) != 0;
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *ez_pj_auth_token_fields(const struct ez_pj_token *t)
{
    static const char *const names[] = { "key_id", "master_id", "issued_at_epoch", "status",
                                         "group", "scopes", "default_namespace", "namespaces",
                                         "model_limits", "allow_ips", "expires_at" };
    json_t *values[] = { num(t->key_id), num(t->master_id), num(t->issued_at_epoch),
                         text(t->status), text(t->group), joined(t->scopes),
                         text(t->default_namespace), joined(t->namespaces),
                         joined(t->model_limits), joined(t->allow_ips),
                         num(t->expires_at > 0 ? t->expires_at : 0) };
    return build(names, values, 11);
}

json_t *ez_pj_auth_master_fields(const struct ez_pj_master *m)
{
    static const char *const names[] = { "epoch", "status", "group", "global_qps",
                                         "default_namespace", "namespaces" };
    json_t *values[] = { num(m->epoch), text(m->status), text(m->group), num(m->global_qps),
                         text(m->default_namespace), joined(m->namespaces) };
    return build(names, values, 6);
}

/* Owns key whole and puts every field of fields (stolen, may be NULL). */
static int add_hash(struct ez_pj_set *s, const char *key, json_t *fields, int produce)
{
    if (ez_pj_set_own(s, key, NULL) != 0)
        return -1;
    if (!produce)
        return 0;
    if (!fields)
        return -1;
    const char *f;
    json_t *v;
    int rc = 0;
    json_object_foreach(fields, f, v) {
        char *value = strdup(json_string_value(v));
        if (!value || ez_pj_set_put(s, key, f, value) != 0) {
            rc = -1;
            break;
        }
    }
    json_decref(fields);
    return rc;
}

int ez_pj_auth_token_add(struct ez_pj_set *s, const struct ez_pj_token *t, int64_t now_us)
{
    char key[128];
    if (ez_pj_auth_token_key(t->digest, key, sizeof key) != 0)
        return -1;
    int usable = ez_pj_auth_token_usable(t, now_us);
    return add_hash(s, key, usable ? ez_pj_auth_token_fields(t) : NULL, usable);
}

int ez_pj_auth_master_add(struct ez_pj_set *s, int64_t id, const struct ez_pj_master *m)
{
    char key[64];
    if (ez_pj_auth_master_key(id, key, sizeof key) != 0)
        return -1;
    return add_hash(s, key, m ? ez_pj_auth_master_fields(m) : NULL, m != NULL);
}

int ez_pj_auth_token_gone(struct ez_pj_set *s, const char *digest)
{
    char key[128];
    if (ez_pj_auth_token_key(digest, key, sizeof key) != 0)
        return -1;
    return ez_pj_set_own(s, key, NULL);
}
