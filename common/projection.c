/* The pure projection of docs/redis.md: rows in, JSON values and write
 * sets out. No I/O and no clock here (callers pass `now`), so the syncer,
 * full resync, verify and route explain all compute the same bytes. */
#include "projection.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "selector.h"

/* ---- Selector resolution ------------------------------------------------ */

int ez_projection_resolve(const char *selector_type, const char *selector_value,
                  const char *const *models, int nmodels, const char **upstream)
{
    struct ez_sel_hit hit;
    *upstream = NULL;
    if (ez_sel_resolve(selector_type, selector_value, NULL, models, nmodels, &hit) != EZ_SEL_OK)
        return -1;
    *upstream = models[hit.index];
    return 0;
}

int ez_projection_routable(const struct ez_group_row *g, const struct ez_api_key_row *k, int64_t now)
{
    return g && k && g->status && k->status && strcmp(g->status, "active") == 0 &&
           strcmp(k->status, "active") == 0 && k->weight > 0 && k->ban_until <= now;
}

/* ---- Values ----------------------------------------------------------- */

static const char *or_empty(const char *s) { return s ? s : ""; }

json_t *ez_projection_namespace_json(const char *name, const char *status)
{
    return json_pack("{s:s, s:s}", "name", name, "status", status);
}

json_t *ez_projection_provider_json(const struct ez_group_row *g, const struct ez_api_key_row *k)
{
    json_t *models = json_array();
    if (!models)
        return NULL;
    for (int i = 0; i < g->nmodels; i++) {
        if (json_array_append_new(models, json_string(g->models[i])) != 0) {
            json_decref(models);
            return NULL;
        }
    }
    char name[128];
    snprintf(name, sizeof name, "%s#%" PRId64, g->name, k->id);
    int group_on = strcmp(g->status, "active") == 0;
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:o, s:s, s:b, s:i, s:I, s:s}",
                     "id", (json_int_t)k->id, "name", name, "type", g->type,
                     "base_url", or_empty(g->base_url), "api_key", or_empty(k->api_key),
                     "google_project", or_empty(g->google_project),
                     "google_location", or_empty(g->google_location),
                     "group_id", (json_int_t)g->id, "group", g->name, "models", models,
                     "status", group_on ? k->status : "disabled", "auto_ban", k->auto_ban != 0,
                     "weight", k->weight, "ban_until", (json_int_t)k->ban_until,
                     "ban_reason", or_empty(k->ban_reason));
}

static void newest(int64_t *acc, int64_t v)
{
    if (v > *acc)
        *acc = v;
}

json_t *ez_projection_candidate_json(const struct ez_candidate_rows *c, int64_t now, int64_t *updated_at)
{
    const struct ez_binding_row *b = c->b;
    const struct ez_group_row *g = c->g;
    newest(updated_at, b->updated_at);
    json_t *upstreams = json_object();
    if (!upstreams)
        return NULL;
    const char *error = NULL;
    const char *model = NULL;
    struct ez_sel_hit hit = { .index = -1 };
    if (!g) {
        error = "no_provider";
    } else {
        newest(updated_at, g->updated_at);
        for (int i = 0; i < c->nkeys; i++)
            newest(updated_at, c->keys[i].updated_at);
        enum ez_sel_rc rc = ez_sel_resolve(b->selector_type, b->selector_value, b->public_model,
                                           g->models, g->nmodels, &hit);
        if (rc == EZ_SEL_NOMEM) {
            json_decref(upstreams);
            return NULL;
        }
        if (rc != EZ_SEL_OK)
            error = "config_error";
        else
            model = g->models[hit.index] + hit.off;
    }
    for (int i = 0; model && i < c->nkeys; i++) {
        if (!ez_projection_routable(g, &c->keys[i], now))
            continue;
        char id[24];
        snprintf(id, sizeof id, "%" PRId64, c->keys[i].id);
        if (json_object_set_new(upstreams, id, json_stringn(model, hit.len)) != 0) {
            json_decref(upstreams);
            return NULL;
        }
    }
    if (!error && json_object_size(upstreams) == 0)
        error = "no_provider";
    json_t *cand = json_pack("{s:I, s:s, s:i, s:s, s:s, s:s}", "group_id", (json_int_t)b->group_id,
                             "route_group", g ? g->name : "", "weight", b->weight,
                             "selector_type", b->selector_type, "selector_value",
                             b->selector_value, "status", b->status);
    if (!cand || (error && json_object_set_new(cand, "error", json_string(error)) != 0) ||
        json_object_set_new(cand, "upstreams", upstreams) != 0) {
        json_decref(cand);
        return NULL;
    }
    return cand;
}

json_t *ez_projection_binding_json(const struct ez_candidate_rows *c, int n, int64_t now)
{
    if (n < 1)
        return NULL;
    json_t *cands = json_array();
    if (!cands)
        return NULL;
    int64_t updated_at = 0;
    int active = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(c[i].b->status, "active") == 0)
            active = 1;
        if (json_array_append_new(cands, ez_projection_candidate_json(&c[i], now, &updated_at)) != 0) {
            json_decref(cands);
            return NULL;
        }
    }
    return json_pack("{s:s, s:s, s:s, s:I, s:o}", "namespace", c[0].b->ns, "public_model",
                     c[0].b->public_model, "status", active ? "active" : "disabled",
                     "updated_at", (json_int_t)updated_at, "candidates", cands);
}

static int set_flag(json_t *o, const char *name, int v)
{
    return v == EZ_FLAG_UNSET ? 0 : json_object_set_new(o, name, json_boolean(v));
}

json_t *ez_projection_model_json(const struct ez_model_row *m)
{
    json_t *o = json_pack("{s:s}", "name", m->name);
    if (!o)
        return NULL;
    int bad = 0;
    if (m->kind && *m->kind)
        bad |= json_object_set_new(o, "kind", json_string(m->kind));
    if (m->context_window > 0)
        bad |= json_object_set_new(o, "context_window", json_integer(m->context_window));
    if (m->has_cost && isfinite(m->cost_per_token))
        bad |= json_object_set_new(o, "cost_per_token", json_real(m->cost_per_token));
    bad |= set_flag(o, "supports_vision", m->supports_vision);
    bad |= set_flag(o, "supports_functions", m->supports_functions);
    bad |= set_flag(o, "supports_tool_choice", m->supports_tool_choice);
    bad |= set_flag(o, "supports_fim", m->supports_fim);
    bad |= set_flag(o, "supports_stream", m->supports_stream);
    if (m->max_output_tokens > 0)
        bad |= json_object_set_new(o, "max_output_tokens", json_integer(m->max_output_tokens));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

char *ez_projection_binding_field(const char *ns, const char *public_model)
{
    size_t a = strlen(ns), b = strlen(public_model);
    char *f = malloc(a + b + 2);
    if (!f)
        return NULL;
    memcpy(f, ns, a);
    f[a] = '.';
    memcpy(f + a + 1, public_model, b + 1);
    return f;
}

/* The fewest significant digits that read back as exactly x. */
static int real_digits(double x)
{
    char buf[40];
    for (int p = 1; p < 17; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, x);
        if (strtod(buf, NULL) == x)
            return p;
    }
    return 17;
}

static int max_real_digits(const json_t *v)
{
    int best = 0;
    if (json_is_real(v)) {
        best = real_digits(json_real_value(v));
    } else if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) {
            int d = max_real_digits(x);
            if (d > best)
                best = d;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            int d = max_real_digits(x);
            if (d > best)
                best = d;
        }
    }
    return best;
}

char *ez_projection_dump(const json_t *v)
{
    if (!v)
        return NULL;
    size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY;
    int digits = max_real_digits(v);
    if (digits > 0)
        flags |= JSON_REAL_PRECISION(digits);
    return json_dumps(v, flags);
}

/* ---- Checksum of meta:models ----------------------------------------- */

int ez_models_checksum_init(struct ez_models_checksum *s)
{
    s->updated_at = 0;
    s->fields = 0;
    s->md = EVP_MD_CTX_new();
    if (!s->md || EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) != 1) {
        ez_models_checksum_abort(s);
        return -1;
    }
    return 0;
}

int ez_models_checksum_add(struct ez_models_checksum *s, const char *field, const char *json)
{
    if (!s->md)
        return -1;
    int ok = EVP_DigestUpdate(s->md, field, strlen(field)) == 1 &&
             EVP_DigestUpdate(s->md, "\n", 1) == 1 &&
             EVP_DigestUpdate(s->md, json, strlen(json)) == 1 &&
             EVP_DigestUpdate(s->md, "\n", 1) == 1;
    s->fields++;
    return ok ? 0 : -1;
}

int ez_models_checksum_final(struct ez_models_checksum *s, char hex[65])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    hex[0] = '\0';
    int ok = s->md && EVP_DigestFinal_ex(s->md, d, &n) == 1 && n == 32;
    ez_models_checksum_abort(s);
    if (!ok)
        return -1;
    for (unsigned int i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    return 0;
}

void ez_models_checksum_abort(struct ez_models_checksum *s)
{
    EVP_MD_CTX_free(s->md);
    s->md = NULL;
}

/* ---- Write sets ------------------------------------------------------- */

void ez_write_set_init(struct ez_write_set *s) { memset(s, 0, sizeof *s); }

static void entry_free(struct ez_write_entry *e)
{
    free(e->key);
    free(e->field);
    free(e->value);
}

void ez_write_set_clear(struct ez_write_set *s)
{
    for (size_t i = 0; i < s->nown; i++)
        entry_free(&s->own[i]);
    for (size_t i = 0; i < s->nput; i++)
        entry_free(&s->put[i]);
    free(s->own);
    free(s->put);
    ez_write_set_init(s);
}

static int push(struct ez_write_entry **v, size_t *n, size_t *cap, const char *key,
                const char *field, char *value)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        struct ez_write_entry *nv = realloc(*v, nc * sizeof *nv);
        if (!nv) {
            free(value);
            return -1;
        }
        *v = nv;
        *cap = nc;
    }
    struct ez_write_entry *e = &(*v)[*n];
    e->key = strdup(key);
    e->field = field ? strdup(field) : NULL;
    e->value = value;
    if (!e->key || (field && !e->field)) {
        entry_free(e);
        return -1;
    }
    (*n)++;
    return 0;
}

int ez_write_set_own(struct ez_write_set *s, const char *key, const char *field)
{
    s->sorted = 0;
    return push(&s->own, &s->nown, &s->capown, key, field, NULL);
}

int ez_write_set_put(struct ez_write_set *s, const char *key, const char *field, char *value)
{
    if (!value)
        return -1;
    s->sorted = 0;
    return push(&s->put, &s->nput, &s->capput, key, field, value);
}

int ez_write_set_put_json(struct ez_write_set *s, const char *key, const char *field, json_t *v)
{
    char *text = ez_projection_dump(v);
    json_decref(v);
    return ez_write_set_put(s, key, field, text);
}

/* Orders by key, then field (a whole-hash claim, field NULL, first). */
static int entry_cmp(const struct ez_write_entry *a, const struct ez_write_entry *b)
{
    int c = strcmp(a->key, b->key);
    if (c)
        return c;
    if (!a->field || !b->field)
        return (a->field != NULL) - (b->field != NULL);
    return strcmp(a->field, b->field);
}

static int qcmp(const void *a, const void *b) { return entry_cmp(a, b); }

/* Stable merge sort, so that among equal puts the last one stays last. */
static void sort_stable(struct ez_write_entry *v, size_t n, struct ez_write_entry *tmp)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    sort_stable(v, h, tmp);
    sort_stable(v + h, n - h, tmp);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = entry_cmp(&v[j], &v[i]) < 0 ? v[j++] : v[i++];
    while (i < h)
        tmp[k++] = v[i++];
    while (j < n)
        tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof *v);
}

/* Keeps the last entry of each run of equal ones. */
static size_t dedupe(struct ez_write_entry *v, size_t n)
{
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n && entry_cmp(&v[i], &v[i + 1]) == 0) {
            entry_free(&v[i]);
            continue;
        }
        v[out++] = v[i];
    }
    return out;
}

void ez_write_set_finish(struct ez_write_set *s)
{
    if (s->sorted)
        return;
    if (s->nown > 1) /* an empty set has no array at all: qsort wants one */
        qsort(s->own, s->nown, sizeof *s->own, qcmp);
    s->nown = dedupe(s->own, s->nown);
    struct ez_write_entry *tmp = s->nput > 1 ? malloc(s->nput * sizeof *tmp) : NULL;
    if (tmp) {
        sort_stable(s->put, s->nput, tmp);
        free(tmp);
    } else if (s->nput > 1) {
        qsort(s->put, s->nput, sizeof *s->put, qcmp); /* OOM: order of duplicates lost */
    }
    s->nput = dedupe(s->put, s->nput);
    s->sorted = 1;
}

const char *ez_write_set_get(const struct ez_write_set *s, const char *key, const char *field)
{
    struct ez_write_entry probe = { (char *)key, (char *)field, NULL };
    const struct ez_write_entry *e = s->sorted
        ? bsearch(&probe, s->put, s->nput, sizeof *s->put, qcmp)
        : NULL;
    return e ? e->value : NULL;
}
