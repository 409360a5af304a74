/* LiteLLM proxy config -> import document. The YAML becomes JSON first
 * (bounded in nodes and depth, so aliases cannot blow it up), then each
 * deployment is mapped. Secrets pass through to the document only: never
 * logged, never in a warning or an error. */
#include "litellm.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "gostr.h"

/* ---- YAML to JSON --------------------------------------------------------- */

struct conv {
    yaml_document_t *doc;
    long nodes;
};

/* A plain (unquoted) scalar that reads as an integer, a boolean or null is
 * one; everything else is a string. */
static json_t *scalar(const yaml_node_t *n)
{
    const char *v = (const char *)n->data.scalar.value;
    size_t len = n->data.scalar.length;
    if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        if (len == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0)
            return json_null();
        if (strcmp(v, "true") == 0 || strcmp(v, "True") == 0)
            return json_true();
        if (strcmp(v, "false") == 0 || strcmp(v, "False") == 0)
            return json_false();
        char *end;
        long long i = strtoll(v, &end, 10);
        if (*v && *end == 0 && len < 19 && (isdigit((unsigned char)*v) || *v == '-'))
            return json_integer(i);
    }
    return json_stringn(v, len);
}

static json_t *node_json(struct conv *c, yaml_node_t *n, int depth)
{
    if (!n || depth > EZ_LITELLM_MAX_DEPTH || ++c->nodes > EZ_LITELLM_MAX_NODES)
        return NULL;
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return scalar(n);
    case YAML_SEQUENCE_NODE: {
        json_t *a = json_array();
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             a && it < n->data.sequence.items.top; it++) {
            json_t *v = node_json(c, yaml_document_get_node(c->doc, *it), depth + 1);
            if (!v || json_array_append_new(a, v) != 0) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    case YAML_MAPPING_NODE: {
        json_t *o = json_object();
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
             o && p < n->data.mapping.pairs.top; p++) {
            yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
            json_t *v = node_json(c, yaml_document_get_node(c->doc, p->value), depth + 1);
            if (!k || k->type != YAML_SCALAR_NODE || !v ||
                json_object_set_new(o, (const char *)k->data.scalar.value, v) != 0) {
                json_decref(v);
                json_decref(o);
                return NULL;
            }
        }
        return o;
    }
    default:
        return NULL;
    }
}

static int bad(struct ez_import_result *res, int rc, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int bad(struct ez_import_result *res, int rc, const char *path, const char *fmt, ...)
{
    snprintf(res->path, sizeof res->path, "%s", path);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->message, sizeof res->message, fmt, ap);
    va_end(ap);
    return rc;
}

static int load(const char *text, size_t len, json_t **out, struct ez_import_result *res)
{
    yaml_parser_t p;
    yaml_document_t d;
    *out = NULL;
    if (!yaml_parser_initialize(&p))
        return bad(res, EZ_LITELLM_BAD, "$", "out of memory");
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    if (!yaml_parser_load(&p, &d)) {
        int rc = bad(res, EZ_LITELLM_BAD, "$", "not YAML: %s at line %zu, column %zu",
                     p.problem ? p.problem : "error", p.problem_mark.line + 1,
                     p.problem_mark.column + 1);
        yaml_parser_delete(&p);
        return rc;
    }
    struct conv c = { &d, 0 };
    yaml_node_t *root = yaml_document_get_root_node(&d);
    *out = root ? node_json(&c, root, 0) : NULL;
    yaml_document_delete(&d);
    yaml_parser_delete(&p);
    if (!*out)
        return bad(res, EZ_LITELLM_BAD, "$",
                   c.nodes > EZ_LITELLM_MAX_NODES ? "more than 1000000 YAML nodes"
                                                  : "empty, too deep, or a key that is not a "
                                                    "string");
    return EZ_LITELLM_OK;
}

/* ---- Deployments ----------------------------------------------------------- */

struct map {
    const char *ns;
    int resolve_env;
    json_t *warnings;
    json_t *groups;   /* group key -> {name, type, base_url, project, location, models, keys} */
    json_t *bindings;
    struct ez_import_result *res;
};

/* A value of litellm_params: os.environ/NAME resolved or refused. *out
 * NULL when absent. */
static int param(struct map *m, json_t *params, const char *name, const char *path,
                 const char **out)
{
    json_t *v = json_object_get(params, name);
    char where[160];
    snprintf(where, sizeof where, "%s.%s", path, name);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return bad(m->res, EZ_LITELLM_BAD, where, "must be a string");
    const char *s = json_string_value(v);
    if (strncmp(s, "os.environ/", 11) != 0) {
        *out = s;
        return 0;
    }
    if (!m->resolve_env)
        return bad(m->res, EZ_LITELLM_ENV, where,
                   "refers to the environment variable %.*s: the server's environment is not "
                   "the operator's; put the value in the file, or run ezapi import --from "
                   "litellm where the variable is set", ez_utf8_prefix(s + 11, 64), s + 11);
    *out = getenv(s + 11);
    if (!*out || !**out)
        return bad(m->res, EZ_LITELLM_ENV, where, "environment variable %.*s is not set",
                   ez_utf8_prefix(s + 11, 64), s + 11);
    return 0;
}

static const char *host_of(const char *url, char *out, size_t len)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t n = strcspn(p, "/?#");
    snprintf(out, len, "%.*s", (int)n, p);
    return out;
}

static int deployment(struct map *m, size_t i, json_t *d)
{
    char path[64];
    snprintf(path, sizeof path, "model_list[%zu]", i);
    json_t *params = json_object_get(d, "litellm_params");
    const char *public = json_string_value(json_object_get(d, "model_name"));
    char pp[96];
    snprintf(pp, sizeof pp, "%s.litellm_params", path);
    if (!json_is_object(d))
        return bad(m->res, EZ_LITELLM_BAD, path, "must be a mapping");
    if (!public || !*public)
        return bad(m->res, EZ_LITELLM_BAD, path, "model_name is required");
    if (!json_is_object(params))
        return bad(m->res, EZ_LITELLM_BAD, pp, "is required");
    const char *model, *base, *key, *project, *location;
    int rc = param(m, params, "model", pp, &model);
    if (rc == 0 && (!model || !*model))
        rc = bad(m->res, EZ_LITELLM_BAD, pp, "model is required");
    if (rc == 0)
        rc = param(m, params, "api_base", pp, &base);
    if (rc == 0 && !base)
        rc = param(m, params, "base_url", pp, &base);
    if (rc == 0)
        rc = param(m, params, "api_key", pp, &key);
    if (rc == 0)
        rc = param(m, params, "vertex_project", pp, &project);
    if (rc == 0)
        rc = param(m, params, "vertex_location", pp, &location);
    char *creds = NULL;
    json_t *vc = json_object_get(params, "vertex_credentials");
    if (rc == 0 && json_is_object(vc))
        creds = json_dumps(vc, JSON_COMPACT);
    else if (rc == 0 && vc && !key)
        rc = param(m, params, "vertex_credentials", pp, &key);
    if (rc != 0)
        return rc;
    if (creds)
        key = creds;

    /* The provider prefix gives the type; the rest is the upstream model. */
    const char *slash = strchr(model, '/');
    char prefix[64] = "";
    if (slash)
        snprintf(prefix, sizeof prefix, "%.*s", (int)(slash - model), model);
    const char *upstream = slash ? slash + 1 : model;
    const char *type;
    if (!*prefix || strcmp(prefix, "openai") == 0) {
        type = base && *base && !strstr(base, "api.openai.com") ? "compatible" : "openai";
    } else if (strcmp(prefix, "azure") == 0) {
        type = "openai";
        ez_import_warn(m->warnings,
                       "%s: azure/ is imported as openai: check the group's base_url and api "
                       "version",
                       path);
    } else if (strcmp(prefix, "anthropic") == 0) {
        type = "anthropic";
    } else if (strcmp(prefix, "gemini") == 0) {
        type = "gemini";
    } else if (strcmp(prefix, "vertex_ai") == 0) {
        type = "vertex";
    } else if (strcmp(prefix, "hosted_vllm") == 0) {
        type = "compatible";
    } else {
        type = "compatible";
        ez_import_warn(m->warnings,
                       "%s: provider %s/ is imported as compatible (OpenAI-compatible)", path,
                       prefix);
    }
    if (strcmp(type, "compatible") == 0 && (!base || !*base)) {
        free(creds);
        return bad(m->res, EZ_LITELLM_BAD, pp, "api_base is required for %s/ models",
                   *prefix ? prefix : "openai");
    }
    int vertex = strcmp(type, "vertex") == 0;
    const char *const known[] = { "model", "api_base", "base_url", "api_key", "weight",
                                  "vertex_project", "vertex_location", "vertex_credentials",
                                  NULL };
    const char *k;
    json_t *v;
    json_object_foreach(params, k, v) {
        int ok = 0;
        for (int j = 0; known[j] && !ok; j++)
            ok = strcmp(k, known[j]) == 0;
        if (!ok)
            ez_import_warn(m->warnings, "%s.%s is not imported: ezapi has no such setting", pp, k);
    }
    json_object_foreach(d, k, v)
        if (strcmp(k, "model_name") != 0 && strcmp(k, "litellm_params") != 0)
            ez_import_warn(m->warnings, "%s.%s is not imported", path, k);
    json_t *w = json_object_get(params, "weight");
    long long weight = json_is_integer(w) ? json_integer_value(w) : 1;
    if (w && !json_is_integer(w))
        ez_import_warn(m->warnings, "%s.weight is not an integer: 1 is used", pp);

    /* One group per type, api_base and (Vertex) project and location. */
    char gkey[1200], label[300], host[256];
    snprintf(gkey, sizeof gkey, "%s|%s|%s|%s", type, base ? base : "",
             vertex && project ? project : "", vertex && location ? location : "");
    json_t *g = json_object_get(m->groups, gkey);
    if (!g) {
        if (vertex)
            snprintf(label, sizeof label, "vertex-%s-%s", project ? project : "",
                     location ? location : "");
        else if (base && *base)
            snprintf(label, sizeof label, "%s-%s", type, host_of(base, host, sizeof host));
        else
            snprintf(label, sizeof label, "%s", type);
        char name[65], unique[65];
        ez_import_group_name(label, name);
        snprintf(unique, sizeof unique, "%s", name);
        for (int n = 2; n < 1000; n++) {
            int taken = 0;
            const char *gk;
            json_t *o;
            json_object_foreach(m->groups, gk, o)
                taken |= strcmp(json_string_value(json_object_get(o, "name")), unique) == 0;
            if (!taken)
                break;
            snprintf(unique, sizeof unique, "%.*s-%d", ez_utf8_prefix(name, 58), name, n);
        }
        g = json_pack("{s:s, s:s, s:s, s:s, s:s, s:[], s:{}}", "name", unique, "type", type,
                      "base_url", base ? base : "", "project", vertex && project ? project : "",
                      "location", vertex && location ? location : "", "models", "keys");
        json_object_set_new(m->groups, gkey, g);
    }
    json_t *models = json_object_get(g, "models"), *um = json_string(upstream);
    int have = 0;
    size_t j;
    json_array_foreach(models, j, v)
        have |= json_equal(v, um);
    if (!have)
        json_array_append(models, um);
    json_decref(um);
    /* Each distinct key is one api key (the first deployment's weight). */
    if (key && *key && !json_object_get(json_object_get(g, "keys"), key))
        json_object_set_new(json_object_get(g, "keys"), key, json_integer(weight));
    if (!key || !*key)
        json_object_set_new(g, "keyless", json_true());
    /* Deployments of one model_name in one group are one candidate: its
     * keys balance between them. */
    json_t *bind = json_pack("{s:s, s:s, s:s, s:s, s:s}", "namespace", m->ns, "route_group",
                             json_string_value(json_object_get(g, "name")), "model", upstream,
                             "public_model", public, "status", "active");
    free(creds);
    int dup = 0;
    json_array_foreach(m->bindings, j, v)
        dup |= json_equal(v, bind);
    if (!dup)
        json_array_append(m->bindings, bind);
    json_decref(bind);
    return 0;
}

/* The groups as provider entries: one per distinct key. */
static json_t *providers(struct map *m)
{
    json_t *out = json_array();
    const char *gk;
    json_t *g;
    json_object_foreach(m->groups, gk, g) {
        const char *name = json_string_value(json_object_get(g, "name"));
        json_t *keys = json_object_get(g, "keys");
        size_t n = json_object_size(keys), idx = 0;
        const char *key;
        json_t *w;
        json_t *base = json_pack("{s:s, s:s, s:s, s:s, s:O, s:s, s:[s], s:s}", "name", name,
                                 "original_name", name, "type",
                                 json_string_value(json_object_get(g, "type")), "base_url",
                                 json_string_value(json_object_get(g, "base_url")), "models",
                                 json_object_get(g, "models"), "primary_group", name,
                                 "all_groups", name, "status", "active");
        if (*json_string_value(json_object_get(g, "project")))
            json_object_set(base, "google_project", json_object_get(g, "project"));
        if (*json_string_value(json_object_get(g, "location")))
            json_object_set(base, "google_location", json_object_get(g, "location"));
        json_object_foreach(keys, key, w) {
            json_t *e = json_deep_copy(base);
            json_object_set_new(e, "api_key", json_string(key));
            json_object_set(e, "weight", w);
            json_object_set_new(e, "is_multi_key", json_boolean(n > 1));
            json_object_set_new(e, "multi_key_index", json_integer((json_int_t)idx++));
            json_array_append_new(out, e);
        }
        if (n == 0)
            json_array_append(out, base); /* the import warns that it has no key */
        json_decref(base);
    }
    return out;
}

int ez_litellm_document(const char *yaml, size_t len, const char *ns, int resolve_env,
                        json_t **doc, struct ez_import_result *res)
{
    memset(res, 0, sizeof *res);
    *doc = NULL;
    json_t *cfg;
    int rc = load(yaml, len, &cfg, res);
    if (rc != EZ_LITELLM_OK)
        return rc;
    struct map m = { ns, resolve_env, json_array(), json_object(), json_array(), res };
    json_t *list = json_object_get(cfg, "model_list");
    if (!json_is_object(cfg))
        rc = bad(res, EZ_LITELLM_BAD, "$", "a LiteLLM config is a mapping with model_list");
    else if (!json_is_array(list))
        rc = bad(res, EZ_LITELLM_BAD, "model_list", "is required and must be a sequence");
    else if (json_array_size(list) > EZ_IMPORT_MAX_ITEMS)
        rc = bad(res, EZ_LITELLM_BAD, "model_list", "has more than 1000000 entries");
    size_t i;
    json_t *d;
    if (rc == EZ_LITELLM_OK)
        json_array_foreach(list, i, d)
            if ((rc = deployment(&m, i, d)) != EZ_LITELLM_OK)
                break;
    /* What ezapi has no place for is said, never dropped silently. */
    const char *k;
    json_t *v;
    if (rc == EZ_LITELLM_OK)
        json_object_foreach(cfg, k, v) {
            if (strcmp(k, "model_list") == 0)
                continue;
            if (json_is_object(v) && json_object_size(v)) {
                const char *sk;
                json_t *sv;
                json_object_foreach(v, sk, sv) ez_import_warn(
                    m.warnings, "%s.%s is not imported: ezapi has no such setting", k, sk);
            } else {
                ez_import_warn(m.warnings, "%s is not imported: ezapi has no such setting", k);
            }
        }
    if (rc == EZ_LITELLM_OK) {
        json_t *prov = providers(&m);
        *doc = json_pack("{s:s, s:{s:s}, s:{s:o, s:[], s:[], s:O}, s:O}", "version", "1.0.0",
                         "source", "type", "litellm", "data", "providers", prov, "masters",
                         "keys", "bindings", m.bindings, "warnings", m.warnings);
        if (!*doc)
            rc = bad(res, EZ_LITELLM_BAD, "$", "out of memory");
    }
    json_decref(m.warnings);
    json_decref(m.groups);
    json_decref(m.bindings);
    json_decref(cfg);
    return rc;
}

int ez_import_litellm(struct ez_db *db, const struct ez_config *cfg, const char *yaml,
                      size_t len, const char *ns, int resolve_env,
                      const struct ez_import_opts *opts, const struct ez_import_actor *who,
                      struct ez_import_result *res)
{
    json_t *doc;
    int rc = ez_litellm_document(yaml, len, ns, resolve_env, &doc, res);
    if (rc != EZ_LITELLM_OK)
        return rc == EZ_LITELLM_ENV ? EZ_IMPORT_ENV : EZ_IMPORT_BAD_DOC;
    struct ez_import_opts o = *opts;
    o.include_bindings = 1;
    o.action = "import.litellm";
    rc = ez_import_newapi(db, cfg, doc, &o, who, res);
    json_decref(doc);
    return rc;
}
