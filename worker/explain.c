/* Route explain, the pure part: token acceptance (docs/redis.md), namespace
 * resolution, and each binding candidate's keys with why any is excluded,
 * from Redis values already read. The exclusion rules mirror
 * ez_projection_routable(); route:group membership and the snapshot's upstreams are
 * cross-checked and disagreements reported as warnings, never hidden. */
#include "explain.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "projection.h"
#include "selector.h"

#define NS_MAX 64 /* namespace names: [a-z0-9][a-z0-9_-]{0,63} */

static const char *str(json_t *obj, const char *field)
{
    const char *s = json_string_value(json_object_get(obj, field));
    return s ? s : "";
}

/* A decimal field of a Redis hash; 0 with *ok = 0 when absent or not a number. */
static int64_t hash_int(json_t *hash, const char *field, int *ok)
{
    const char *s = str(hash, field);
    char *end;
    long long v = *s ? strtoll(s, &end, 10) : 0;
    *ok = *s && !*end;
    return *ok ? (int64_t)v : 0;
}

static int ez_explain_csv_has(const char *csv, const char *item, size_t len)
{
    for (const char *p = csv; p && *p;) {
        size_t l = strcspn(p, ",");
        if (l == len && strncmp(p, item, len) == 0)
            return 1;
        p += l + (p[l] == ',');
    }
    return 0;
}

void ez_explain_warn(struct ez_explain_state *st, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!st->warnings)
        st->warnings = json_array();
    if (st->warnings)
        json_array_append_new(st->warnings, json_string(msg));
}

void ez_explain_ns_clear(struct ez_explain_ns *ns)
{
    free(ns->ns);
    free(ns->public_model);
    memset(ns, 0, sizeof *ns);
}

void ez_explain_state_clear(struct ez_explain_state *st)
{
    json_decref(st->token);
    json_decref(st->master);
    json_decref(st->namespaces);
    json_decref(st->binding);
    json_decref(st->providers);
    json_decref(st->routes);
    json_decref(st->warnings);
    st->token = st->master = st->namespaces = st->binding = NULL;
    st->providers = st->routes = st->warnings = NULL;
}

/* ---- Namespace ------------------------------------------------------- */

static json_t *namespace_status(json_t *namespaces, const char *name, size_t len)
{
    char buf[NS_MAX + 1];
    if (len > NS_MAX)
        return NULL;
    memcpy(buf, name, len);
    buf[len] = 0;
    return json_object_get(namespaces, buf);
}

int ez_explain_namespace(json_t *token, json_t *namespaces, const char *model,
                         struct ez_explain_ns *out)
{
    memset(out, 0, sizeof *out);
    if (!token) {
        out->error = "no_namespace";
        return 0;
    }
    const char *list = str(token, "namespaces"), *def = str(token, "default_namespace");
    const char *ns = NULL, *pm = model, *dot = strchr(model, '.');
    size_t nslen = 0;
    if (dot && dot > model) {
        size_t n = (size_t)(dot - model);
        if (ez_explain_csv_has(list, model, n)) {
            ns = model;
            nslen = n;
            pm = dot + 1;
        } else if (namespace_status(namespaces, model, n)) {
            /* an existing namespace, but not one of the token's */
            ns = model;
            nslen = n;
            pm = dot + 1;
            out->error = "namespace_not_allowed";
        }
    }
    if (!ns) {
        if (*def) {
            ns = def;
            nslen = strlen(def);
        } else if (*list) {
            ns = list;
            nslen = strcspn(list, ",");
        } else {
            out->error = "no_namespace";
            return 0;
        }
        if (!ez_explain_csv_has(list, ns, nslen))
            out->error = "namespace_not_allowed";
    }
    out->ns = strndup(ns, nslen);
    out->public_model = strdup(pm);
    if (!out->ns || !out->public_model) {
        ez_explain_ns_clear(out);
        return -1;
    }
    if (!out->error) {
        json_t *status = json_object_get(namespaces, out->ns);
        if (!status)
            out->error = "unknown_namespace";
        else if (strcmp(json_string_value(status) ? json_string_value(status) : "", "active") != 0)
            out->error = "namespace_suspended";
    }
    return 0;
}

/* ---- Token (the acceptance rule of docs/redis.md, then model_limits) -------- */

static json_t *id_or_null(int64_t id)
{
    return id > 0 ? json_integer((json_int_t)id) : json_null();
}

static json_t *token_part(struct ez_explain_state *st, const struct ez_explain_ns *ns,
                          int *accepted)
{
    const char *reason = NULL;
    int64_t key_id = st->key_id, master_id = st->master_id;
    json_t *t = st->token;
    if (!t) {
        reason = st->missing ? st->missing : "unknown_token";
    } else {
        int ok_key, ok_master, ok_exp, ok_epoch, ok_mepoch;
        key_id = hash_int(t, "key_id", &ok_key);
        master_id = hash_int(t, "master_id", &ok_master);
        int64_t expires = hash_int(t, "expires_at", &ok_exp);
        int64_t epoch = hash_int(t, "issued_at_epoch", &ok_epoch);
        int64_t mepoch = hash_int(st->master, "epoch", &ok_mepoch);
        if (!ok_key || !ok_master || !ok_exp || !ok_epoch)
            ez_explain_warn(st, "the auth:token hash has a missing or non-numeric field");
        const char *limits = str(t, "model_limits");
        if (strcmp(str(t, "status"), "active") != 0)
            reason = "key_not_active";
        else if (expires != 0 && expires <= st->now)
            reason = "expired";
        else if (!st->master)
            reason = "unknown_master";
        else if (strcmp(str(st->master, "status"), "active") != 0)
            reason = "master_not_active";
        else if (!ok_epoch || !ok_mepoch || epoch != mepoch)
            reason = "epoch_mismatch";
        else if (*limits && !ez_explain_csv_has(limits, st->model, strlen(st->model)) &&
                 !(ns->public_model &&
                   ez_explain_csv_has(limits, ns->public_model, strlen(ns->public_model))))
            reason = "model_not_allowed";
    }
    *accepted = reason == NULL;
    return json_pack("{s:b, s:s?, s:o, s:o}", "accepted", *accepted, "reason", reason, "key_id",
                     id_or_null(key_id), "master_id", id_or_null(master_id));
}

/* ---- Candidates -------------------------------------------------------- */

/* Why a provider snapshot's key gets no traffic at time now (NULL: it is
 * routable). The same four conditions as ez_projection_routable(). */
static const char *exclusion(json_t *p, int64_t now)
{
    const char *status = str(p, "status");
    if (strcmp(status, "disabled") == 0)
        return "group_disabled";
    if (strcmp(status, "active") != 0)
        return "key_disabled";
    if (json_integer_value(json_object_get(p, "ban_until")) > now)
        return "banned";
    if (json_integer_value(json_object_get(p, "weight")) <= 0)
        return "weight_zero";
    return NULL;
}

/* A candidate's selector, prepared once for all its keys. The keys of a
 * group carry the same model list, so the last list and its answer are
 * kept: a costly regex runs once per candidate, not once per key. */
struct cand_sel {
    struct ez_sel sel;
    json_t *models; /* the list last resolved (borrowed) */
    json_t *up;     /* its upstream model, or NULL */
};

/* The selector's upstream model over the key's models (NULL when it does
 * not resolve). A new reference. */
static json_t *resolve(struct cand_sel *cs, json_t *p)
{
    json_t *models = json_object_get(p, "models");
    if (cs->models && json_equal(cs->models, models))
        return json_incref(cs->up);
    size_t n = json_array_size(models);
    const char **names = calloc(n ? n : 1, sizeof *names);
    if (!names)
        return NULL;
    for (size_t i = 0; i < n; i++)
        names[i] = json_string_value(json_array_get(models, i));
    struct ez_sel_hit hit;
    json_decref(cs->up);
    cs->up = NULL;
    if (ez_sel_find(&cs->sel, names, (int)n, &hit) == EZ_SEL_OK)
        cs->up = json_stringn(names[hit.index] + hit.off, hit.len);
    cs->models = models;
    free(names);
    return json_incref(cs->up);
}

static int by_id(const void *a, const void *b)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "id"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "id"));
    return (x > y) - (x < y);
}

static json_t *key_part(struct ez_explain_state *st, json_t *p, json_t *cand, json_t *route,
                        struct cand_sel *cs, int *routable)
{
    json_int_t id = json_integer_value(json_object_get(p, "id"));
    char ids[24];
    snprintf(ids, sizeof ids, "%" JSON_INTEGER_FORMAT, id);
    json_t *ups = json_object_get(cand, "upstreams");
    const char *group = str(cand, "route_group");
    const char *excluded = exclusion(p, st->now);
    json_t *up = json_incref(json_object_get(ups, ids));
    if (!json_is_string(up)) {
        json_decref(up);
        up = resolve(cs, p);
    }
    int state_routable = excluded == NULL;
    if (!excluded && !up)
        excluded = "model_not_allowed";
    int in_route = json_object_get(route, ids) != NULL;
    int in_ups = json_object_get(ups, ids) != NULL;
    if (in_route != state_routable)
        ez_explain_warn(st, "key %s: %s by its provider snapshot but %s route:group:%s", ids,
                        state_routable ? "routable" : "not routable",
                        in_route ? "listed in" : "missing from", group);
    if (in_ups != (excluded == NULL))
        ez_explain_warn(st, "key %s: %s by its provider snapshot but %s the upstreams of the "
                            "binding candidate of group %s", ids,
                        excluded ? "excluded" : "routable", in_ups ? "listed in" : "missing from",
                        group);
    *routable += excluded == NULL;
    return json_pack("{s:I, s:I, s:o?, s:s?}", "id", id, "weight",
                     json_integer_value(json_object_get(p, "weight")), "upstream_model", up,
                     "excluded", excluded);
}

static json_t *candidate_part(struct ez_explain_state *st, json_t *c, int *usable)
{
    json_int_t gid = json_integer_value(json_object_get(c, "group_id"));
    const char *group = str(c, "route_group");
    const char *error = json_string_value(json_object_get(c, "error"));
    json_t *route = json_object_get(st->routes, group);
    size_t cap = json_object_size(st->providers), n = 0;
    json_t **mine = calloc(cap ? cap : 1, sizeof *mine);
    json_t *keys = json_array();
    if (!mine || !keys) {
        free(mine);
        json_decref(keys);
        return NULL;
    }
    const char *id;
    json_t *p;
    json_object_foreach(st->providers, id, p)
        if (json_integer_value(json_object_get(p, "group_id")) == gid)
            mine[n++] = p;
    qsort(mine, n, sizeof *mine, by_id);
    int routable = 0;
    struct cand_sel cs = { .models = NULL };
    ez_sel_prepare(&cs.sel, str(c, "selector_type"), str(c, "selector_value"),
                   str(st->binding, "public_model"));
    for (size_t i = 0; i < n; i++) {
        if (json_array_append_new(keys, key_part(st, mine[i], c, route, &cs, &routable)) != 0) {
            free(mine);
            json_decref(keys);
            json_decref(cs.up);
            ez_sel_release(&cs.sel);
            return NULL;
        }
    }
    json_decref(cs.up);
    ez_sel_release(&cs.sel);
    free(mine);
    json_t *v;
    json_object_foreach(json_object_get(c, "upstreams"), id, v)
        if (!json_object_get(st->providers, id))
            ez_explain_warn(st, "key %s is an upstream of group %s but has no provider "
                                "snapshot in config:providers", id, group);
    if (strcmp(str(c, "status"), "active") == 0 && !error && routable > 0)
        *usable = 1;
    return json_pack("{s:I, s:s, s:I, s:s, s:s?, s:o}", "group_id", gid, "group", group, "weight",
                     json_integer_value(json_object_get(c, "weight")), "status", str(c, "status"),
                     "error", error, "keys", keys);
}

json_t *ez_explain_answer(struct ez_explain_state *st, const struct ez_explain_ns *ns)
{
    int accepted = 0, usable = 0;
    json_t *token = token_part(st, ns, &accepted);
    json_t *cands = json_array();
    if (!token || !cands)
        goto oom;
    const char *error = ns->error;
    if (ns->ns && !st->binding && !error)
        error = "no_binding";
    if (st->binding) {
        if (!error && strcmp(str(st->binding, "status"), "active") != 0)
            error = "binding_disabled";
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(st->binding, "candidates"), i, c) {
            if (json_array_append_new(cands, candidate_part(st, c, &usable)) != 0)
                goto oom;
        }
    }
    json_t *warnings = st->warnings ? json_incref(st->warnings) : json_array();
    return json_pack("{s:o, s:s?, s:s?, s:s?, s:b, s:o, s:o}", "token", token, "namespace",
                     ns->ns, "public_model", ns->public_model, "error", error, "routed",
                     accepted && !error && usable, "candidates", cands, "warnings", warnings);
oom:
    json_decref(token);
    json_decref(cands);
    return NULL;
}
