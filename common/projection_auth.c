/* auth:token and auth:master values from rows. Every value is a string;
 * lists are joined with commas (their entries can hold none: the API
 * refuses commas in them). */
#include "projection_auth.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ez_projection_token_key(const char *digest, char *out, size_t len)
{
    size_t p = sizeof EZ_KEY_AUTH_TOKEN_PREFIX - 1, d = strlen(digest);
    if (p + d >= len)
        return -1;
    memcpy(out, EZ_KEY_AUTH_TOKEN_PREFIX, p);
    memcpy(out + p, digest, d + 1);
    return 0;
}

int ez_projection_master_key(int64_t id, char *out, size_t len)
{
    int n = snprintf(out, len, "%s%" PRId64, EZ_KEY_AUTH_MASTER_PREFIX, id);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

int ez_projection_token_usable(const struct ez_token_row *t, int64_t now_us)
{
    if (!t->status || strcmp(t->status, "revoked") == 0)
        return 0;
    return t->valid_until_us == 0 || t->valid_until_us > now_us;
}

long long ez_projection_token_ttl(const struct ez_token_row *t, int64_t now_us)
{
    if (t->valid_until_us == 0)
        return 0;
    int64_t left = t->valid_until_us - now_us;
    if (left <= 0)
        return 0;
    long long s = (long long)((left + 999999) / 1000000);
    return s > EZ_MAX_GRACE_S ? EZ_MAX_GRACE_S : s;
}

void ez_hash_fields_free(struct ez_hash_fields *h)
{
    ez_buf_free(&h->buf);
    memset(h, 0, sizeof *h);
}

/* Fills a hash: values are laid out one after another in buf (which may
 * move while growing), so they are pointed at only once complete. */
struct fill {
    struct ez_hash_fields *h;
    size_t off[EZ_HASH_FIELDS_MAX];
    int bad;
};

/* Room for the next value of len bytes (NUL added), under name. */
static char *next_value(struct fill *f, const char *name, size_t len)
{
    struct ez_hash_fields *h = f->h;
    if (f->bad || h->n == EZ_HASH_FIELDS_MAX) {
        f->bad = 1;
        return NULL;
    }
    if (ez_buf_reserve(&h->buf, len + 1) != 0) {
        f->bad = 1;
        return NULL;
    }
    char *p = h->buf.p + h->buf.len;
    p[len] = '\0';
    h->name[h->n] = name;
    f->off[h->n++] = h->buf.len;
    h->buf.len += len + 1;
    return p;
}

static void put_text(struct fill *f, const char *name, const char *s)
{
    size_t len = s ? strlen(s) : 0;
    char *p = next_value(f, name, len);
    if (p && len)
        memcpy(p, s, len);
}

static void put_num(struct fill *f, const char *name, int64_t v)
{
    char b[24], *p = b + sizeof b;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    *--p = '\0';
    do
        *--p = (char)('0' + u % 10);
    while ((u /= 10) > 0);
    if (v < 0)
        *--p = '-';
    put_text(f, name, p);
}

/* The strings of a JSON array joined with commas ("" for NULL or empty). */
static void put_list(struct fill *f, const char *name, json_t *list)
{
    size_t len = 0, i;
    json_t *v;
    json_array_foreach(list, i, v)
        len += json_string_length(v) + (i > 0);
    char *p = next_value(f, name, len);
    if (!p)
        return;
    json_array_foreach(list, i, v) {
        if (i > 0)
            *p++ = ',';
        memcpy(p, json_string_value(v) ? json_string_value(v) : "", json_string_length(v));
        p += json_string_length(v);
    }
}

static int finish(struct fill *f)
{
    if (f->bad)
        return -1;
    for (int i = 0; i < f->h->n; i++)
        f->h->value[i] = f->h->buf.p + f->off[i];
    return 0;
}

int ez_projection_token_hash(const struct ez_token_row *t, struct ez_hash_fields *h)
{
    struct fill f = { .h = h };
    h->n = 0;
    h->buf.len = 0; /* reused: the values of the last fill go */
    h->buf.failed = 0;
    put_num(&f, "key_id", t->key_id);
    put_num(&f, "master_id", t->master_id);
    put_num(&f, "issued_at_epoch", t->issued_at_epoch);
    put_text(&f, "status", t->status);
    put_text(&f, "group", t->group);
    put_list(&f, "scopes", t->scopes);
    put_text(&f, "default_namespace", t->default_namespace);
    put_list(&f, "namespaces", t->namespaces);
    put_list(&f, "model_limits", t->model_limits);
    put_list(&f, "allow_ips", t->allow_ips);
    put_num(&f, "expires_at", t->expires_at > 0 ? t->expires_at : 0);
    return finish(&f);
}

int ez_projection_master_hash(const struct ez_master_row *m, struct ez_hash_fields *h)
{
    struct fill f = { .h = h };
    h->n = 0;
    h->buf.len = 0; /* reused: the values of the last fill go */
    h->buf.failed = 0;
    put_num(&f, "epoch", m->epoch);
    put_text(&f, "status", m->status);
    put_text(&f, "group", m->group);
    put_num(&f, "global_qps", m->global_qps);
    put_text(&f, "default_namespace", m->default_namespace);
    put_list(&f, "namespaces", m->namespaces);
    return finish(&f);
}

/* h as a JSON object (NULL on OOM); h is freed. */
static json_t *as_json(struct ez_hash_fields *h, int filled)
{
    json_t *o = filled == 0 ? json_object() : NULL;
    for (int i = 0; o && i < h->n; i++)
        if (json_object_set_new(o, h->name[i], json_string(h->value[i])) != 0) {
            json_decref(o);
            o = NULL;
        }
    ez_hash_fields_free(h);
    return o;
}

json_t *ez_projection_token_fields(const struct ez_token_row *t)
{
    struct ez_hash_fields h = { 0 };
    return as_json(&h, ez_projection_token_hash(t, &h));
}

json_t *ez_projection_master_fields(const struct ez_master_row *m)
{
    struct ez_hash_fields h = { 0 };
    return as_json(&h, ez_projection_master_hash(m, &h));
}

/* Owns key whole and puts every field of fields (stolen, may be NULL). */
static int add_hash(struct ez_write_set *s, const char *key, json_t *fields, int produce)
{
    if (ez_write_set_own(s, key, NULL) != 0)
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
        if (!value || ez_write_set_put(s, key, f, value) != 0) {
            rc = -1;
            break;
        }
    }
    json_decref(fields);
    return rc;
}

int ez_projection_token_add(struct ez_write_set *s, const struct ez_token_row *t, int64_t now_us)
{
    char key[128];
    if (ez_projection_token_key(t->digest, key, sizeof key) != 0)
        return -1;
    int usable = ez_projection_token_usable(t, now_us);
    return add_hash(s, key, usable ? ez_projection_token_fields(t) : NULL, usable);
}

int ez_projection_master_add(struct ez_write_set *s, int64_t id, const struct ez_master_row *m)
{
    char key[64];
    if (ez_projection_master_key(id, key, sizeof key) != 0)
        return -1;
    return add_hash(s, key, m ? ez_projection_master_fields(m) : NULL, m != NULL);
}

int ez_projection_token_gone(struct ez_write_set *s, const char *digest)
{
    char key[128];
    if (ez_projection_token_key(digest, key, sizeof key) != 0)
        return -1;
    return ez_write_set_own(s, key, NULL);
}
