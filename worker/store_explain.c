/* Route explain's reads: the key's current digest (PostgreSQL) and the
 * Redis keys of the data-plane contract that explaining a request needs.
 * Upstream credentials are removed from provider snapshots as they are
 * read, so they cannot reach an answer. */
#include "store_explain.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "projection.h"
#include "projection_auth.h"

#define EXPLAIN_TRIES 3
#define SCAN_COUNT "500"

int ez_store_explain_key(struct ez_db *db, int64_t key_id, int *found, int64_t *master_id,
                      char status[16], char digest[65])
{
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, key_id);
    const char *p[] = { id };
    PGresult *res;
    *found = 0;
    *master_id = 0;
    status[0] = digest[0] = 0;
    int rc = ez_db_exec(db, &res,
                        "SELECT k.master_id, k.status, coalesce(d.digest, '') FROM keys k "
                        "LEFT JOIN key_digests d ON d.key_id = k.id AND d.valid_until IS NULL AND NOT d.alias "
                        "WHERE k.id = $1", 1, p);
    if (rc == EZ_DB_OK && PQntuples(res) == 1) {
        *found = 1;
        *master_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        snprintf(status, 16, "%s", PQgetvalue(res, 0, 1));
        snprintf(digest, 65, "%s", PQgetvalue(res, 0, 2));
    }
    PQclear(res);
    return rc;
}

/* ---- Redis ------------------------------------------------------------ */

struct reader {
    struct ez_redis *r;
    const char *prefix;
    int rc; /* EZ_EXPLAIN_*: the first failure */
};

/* One command; NULL (and d->rc set) on failure or an error reply. A read
 * that fails on I/O is tried once more: the connection may predate a
 * Redis restart, and the retry runs on a fresh one. */
static redisReply *cmd(struct reader *d, int argc, const char **argv)
{
    if (d->rc != EZ_EXPLAIN_OK)
        return NULL;
    redisReply *rep = ez_redis_cmd(d->r, argc, argv, NULL);
    if (!rep)
        rep = ez_redis_cmd(d->r, argc, argv, NULL);
    if (!rep) {
        d->rc = EZ_EXPLAIN_UNAVAILABLE;
        return NULL;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        log_error("explain: Redis %s %s: %s", argv[0], argv[1], rep->str);
        d->rc = EZ_EXPLAIN_ERROR;
        freeReplyObject(rep);
        return NULL;
    }
    return rep;
}

static void key_name(struct reader *d, char *out, size_t len, const char *a, const char *b)
{
    snprintf(out, len, "%s%s%s", d->prefix, a, b ? b : "");
}

/* HGETALL as an object of strings; NULL when the hash is empty or on failure. */
static json_t *hgetall(struct reader *d, struct ez_explain_state *st, const char *key)
{
    const char *argv[] = { "HGETALL", key };
    redisReply *rep = cmd(d, 2, argv);
    if (!rep)
        return NULL;
    json_t *o = NULL;
    if (rep->type != REDIS_REPLY_ARRAY) {
        d->rc = EZ_EXPLAIN_ERROR;
        log_error("explain: HGETALL %s: unexpected reply type %d", key, rep->type);
    } else if (rep->elements > 0 && (o = json_object()) != NULL) {
        for (size_t i = 0; i + 1 < rep->elements; i += 2) {
            redisReply *f = rep->element[i], *v = rep->element[i + 1];
            json_t *s = v->str ? json_stringn(v->str, v->len) : NULL;
            if (!f->str || !s || json_object_set_new(o, f->str, s) != 0)
                ez_explain_warn(st, "%s has a field that is not UTF-8 text", key);
        }
    }
    freeReplyObject(rep);
    return o;
}

/* HGET as a malloc'd string; NULL when absent or on failure. */
static char *hget(struct reader *d, const char *key, const char *field, size_t *len)
{
    const char *argv[] = { "HGET", key, field };
    redisReply *rep = cmd(d, 3, argv);
    char *s = NULL;
    if (rep && rep->type == REDIS_REPLY_STRING && (s = malloc(rep->len + 1)) != NULL) {
        memcpy(s, rep->str, rep->len);
        s[rep->len] = 0;
        if (len)
            *len = rep->len;
    }
    if (rep)
        freeReplyObject(rep);
    return s;
}

/* config:namespaces as name -> status. */
static json_t *read_namespaces(struct reader *d, struct ez_explain_state *st)
{
    char key[256];
    key_name(d, key, sizeof key, EZ_KEY_NAMESPACES, NULL);
    json_t *raw = hgetall(d, st, key), *out = json_object();
    const char *name;
    json_t *v;
    json_object_foreach(raw, name, v) {
        json_t *ns = json_loads(json_string_value(v), 0, NULL);
        const char *status = json_string_value(json_object_get(ns, "status"));
        if (!status)
            ez_explain_warn(st, "config:namespaces field %s is not a namespace JSON", name);
        json_object_set_new(out, name, json_string(status ? status : ""));
        json_decref(ns);
    }
    json_decref(raw);
    return out;
}

static int has_group(json_t *candidates, json_int_t gid)
{
    size_t i;
    json_t *c;
    json_array_foreach(candidates, i, c)
        if (json_integer_value(json_object_get(c, "group_id")) == gid)
            return 1;
    return 0;
}

/* The provider snapshots of the candidates' groups, without api_key. */
static json_t *read_providers(struct reader *d, struct ez_explain_state *st, json_t *candidates)
{
    char key[256], cursor[32] = "0";
    key_name(d, key, sizeof key, EZ_KEY_PROVIDERS, NULL);
    json_t *out = json_object();
    do {
        const char *argv[] = { "HSCAN", key, cursor, "COUNT", SCAN_COUNT };
        redisReply *rep = cmd(d, 5, argv);
        if (!rep)
            break;
        if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 || !rep->element[0]->str ||
            rep->element[1]->type != REDIS_REPLY_ARRAY) {
            log_error("explain: HSCAN %s: unexpected reply", key);
            d->rc = EZ_EXPLAIN_ERROR;
            freeReplyObject(rep);
            break;
        }
        snprintf(cursor, sizeof cursor, "%s", rep->element[0]->str);
        redisReply *items = rep->element[1];
        for (size_t i = 0; i + 1 < items->elements; i += 2) {
            redisReply *f = items->element[i], *v = items->element[i + 1];
            if (!f->str || !v->str)
                continue;
            json_t *p = json_loadb(v->str, v->len, 0, NULL);
            if (!json_is_object(p)) {
                ez_explain_warn(st, "config:providers field %s is not a provider snapshot", f->str);
            } else if (has_group(candidates, json_integer_value(json_object_get(p, "group_id")))) {
                json_object_del(p, "api_key");
                json_object_set(out, f->str, p);
            }
            json_decref(p);
        }
        freeReplyObject(rep);
    } while (strcmp(cursor, "0") != 0);
    return out;
}

/* route:group:<name> of every candidate's group (an empty object when absent). */
static json_t *read_routes(struct reader *d, struct ez_explain_state *st, json_t *candidates)
{
    json_t *out = json_object();
    size_t i;
    json_t *c;
    json_array_foreach(candidates, i, c) {
        const char *name = json_string_value(json_object_get(c, "route_group"));
        if (!name || json_object_get(out, name))
            continue;
        char key[512];
        key_name(d, key, sizeof key, EZ_KEY_ROUTE_PREFIX, name);
        json_t *h = hgetall(d, st, key);
        json_object_set_new(out, name, h ? h : json_object());
    }
    return out;
}

static json_t *read_binding(struct reader *d, struct ez_explain_state *st,
                            const struct ez_explain_ns *ns)
{
    char key[256];
    key_name(d, key, sizeof key, EZ_KEY_BINDINGS, NULL);
    char *field = ez_projection_binding_field(ns->ns, ns->public_model);
    size_t len = 0;
    char *raw = field ? hget(d, key, field, &len) : NULL;
    json_t *b = raw ? json_loadb(raw, len, 0, NULL) : NULL;
    if (raw && !json_is_object(b)) {
        ez_explain_warn(st, "config:bindings field %s is not a binding snapshot", field);
        json_decref(b);
        b = NULL;
    }
    free(raw);
    free(field);
    return b;
}

static char *sync_version(struct reader *d)
{
    char key[256];
    key_name(d, key, sizeof key, EZ_KEY_SYNC, NULL);
    return hget(d, key, "version", NULL);
}

/* One pass; *stable says whether meta:sync's version stayed the same. */
static void read_once(struct reader *d, const char *digest, struct ez_explain_state *st,
                      struct ez_explain_ns *ns, int *stable)
{
    char *before = sync_version(d);
    if (digest) {
        char key[256];
        key_name(d, key, sizeof key, EZ_KEY_AUTH_TOKEN_PREFIX, digest);
        st->token = hgetall(d, st, key);
    }
    const char *mid = json_string_value(json_object_get(st->token, "master_id"));
    if (mid && *mid && strspn(mid, "0123456789") == strlen(mid)) {
        char key[256];
        key_name(d, key, sizeof key, EZ_KEY_AUTH_MASTER_PREFIX, mid);
        st->master = hgetall(d, st, key);
    }
    st->namespaces = read_namespaces(d, st);
    if (ez_explain_namespace(st->token, st->namespaces, st->model, ns) != 0) {
        d->rc = EZ_EXPLAIN_ERROR;
        log_error("explain: out of memory");
    }
    if (ns->ns && d->rc == EZ_EXPLAIN_OK)
        st->binding = read_binding(d, st, ns);
    json_t *cands = json_object_get(st->binding, "candidates");
    st->providers = cands ? read_providers(d, st, cands) : json_object();
    st->routes = cands ? read_routes(d, st, cands) : json_object();
    char *after = sync_version(d);
    *stable = (!before && !after) || (before && after && strcmp(before, after) == 0);
    free(before);
    free(after);
}

int ez_store_explain_read(struct ez_redis *r, const char *prefix, const char *digest,
                       struct ez_explain_state *st, struct ez_explain_ns *ns)
{
    struct reader d = { .r = r, .prefix = prefix ? prefix : "", .rc = EZ_EXPLAIN_OK };
    int stable = 0;
    for (int i = 0; i < EXPLAIN_TRIES && !stable && d.rc == EZ_EXPLAIN_OK; i++) {
        ez_explain_state_clear(st);
        ez_explain_ns_clear(ns);
        read_once(&d, digest, st, ns, &stable);
    }
    if (d.rc == EZ_EXPLAIN_OK && !stable)
        ez_explain_warn(st, "the configuration kept changing while it was read (meta:sync "
                            "version); the values may mix two states");
    return d.rc;
}
