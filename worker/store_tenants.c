/* Masters and child keys in PostgreSQL. Arrays travel as JSON text
 * parameters and become text[] in SQL; every statement is parameterised.
 * Counting a master's active keys always runs as its own statement after
 * the master's row lock is held, so it sees every key committed before. */
#include "store_tenants.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "validate_tenant.h"

#define TS EZ_SQL_TS
#define SQL_ARRAY(p) "ARRAY(SELECT json_array_elements_text(" p "::json))"

/* A key counts against max_child_keys while this holds. */
#define ACTIVE_KEY(k, m)                                                          \
    "(" k ".status = 'active' AND " k ".issued_at_epoch = " m ".epoch AND ("     \
    k ".expires_at IS NULL OR " k ".expires_at > now()))"

#define MASTER_JSON                                                                \
    "json_build_object('id', m.id, 'name', m.name, 'group', m.group_name, "        \
    "'status', m.status, 'epoch', m.epoch, 'max_child_keys', m.max_child_keys, "   \
    "'global_qps', m.global_qps, 'default_namespace', m.default_namespace, "       \
    "'namespaces', to_json(m.namespaces), 'key_prefix', m.key_prefix, "            \
    "'key_generation', m.key_generation, 'active_keys', (SELECT count(*) FROM "    \
    "keys k WHERE k.master_id = m.id AND " ACTIVE_KEY("k", "m") "), "              \
    "'created_at', " TS("m.created_at") ", 'updated_at', " TS("m.updated_at") ")"

/* The status the API shows: a key issued before the master's current
 * epoch is revoked, and one past its expires_at is expired. */
#define KEY_STATUS                                                                 \
    "(CASE WHEN k.status = 'active' AND k.issued_at_epoch < m.epoch THEN 'revoked' " \
    "WHEN k.status = 'active' AND k.expires_at <= now() THEN 'expired' "           \
    "ELSE k.status END)"

#define KEY_JSON                                                                   \
    "json_build_object('id', k.id, 'master_id', k.master_id, 'name', k.name, "     \
    "'group', k.group_name, 'status', " KEY_STATUS ", "                            \
    "'issued_at_epoch', k.issued_at_epoch, 'issued_by', k.issued_by, "             \
    "'default_namespace', k.default_namespace, 'namespaces', to_json(k.namespaces), " \
    "'scopes', to_json(k.scopes), 'model_limits', to_json(k.model_limits), "       \
    "'allow_ips', to_json(k.allow_ips), 'expires_at', " TS("k.expires_at") ", "    \
    "'key_prefix', k.key_prefix, 'created_at', " TS("k.created_at") ", "           \
    "'updated_at', " TS("k.updated_at") ")"

#define KEY_FROM " FROM keys k JOIN masters m ON m.id = k.master_id "

static const char *str(json_t *o, const char *field)
{
    return json_string_value(json_object_get(o, field));
}

static long long num(json_t *o, const char *field)
{
    return (long long)json_integer_value(json_object_get(o, field));
}

static void master_taken(struct ez_verr *e)
{
    ez_refuse(e, EZ_CONFLICT, "name_taken", "name", "a master with this name already exists");
}

static void limit_reached(struct ez_verr *e)
{
    ez_refuse(e, EZ_CONFLICT, "child_key_limit", NULL,
              "the master has reached its max_child_keys active keys");
}

static void key_revoked(struct ez_verr *e)
{
    ez_refuse(e, EZ_CONFLICT, "key_revoked", NULL, "the key is revoked and cannot be changed");
}

/* Every name of ns must be an existing namespace; the rows are share-locked
 * until the end of the transaction, so none can be deleted meanwhile. */
static int check_namespaces(struct ez_db *db, json_t *ns, struct ez_verr *e)
{
    if (json_array_size(ns) == 0)
        return EZ_DB_OK;
    char *text = json_dumps(ns, JSON_COMPACT);
    const char *p[] = { text };
    PGresult *pr;
    int rc = text ? ez_db_exec(db, &pr,
                               "SELECT name FROM namespaces WHERE name = ANY(" SQL_ARRAY("$1")
                               ") FOR SHARE", 1, p)
                  : EZ_DB_ERROR;
    free(text);
    if (rc != EZ_DB_OK) {
        if (text)
            PQclear(pr);
        return rc;
    }
    size_t i;
    json_t *v;
    json_array_foreach(ns, i, v) {
        int found = 0;
        for (int r = 0; r < PQntuples(pr) && !found; r++)
            found = strcmp(PQgetvalue(pr, r, 0), json_string_value(v)) == 0;
        if (!found) {
            ez_refuse(e, EZ_RULE, "invalid_reference", "namespaces",
                      "namespace '%s' does not exist", json_string_value(v));
            break;
        }
    }
    PQclear(pr);
    return rc;
}

/* ---- masters ------------------------------------------------------------- */

void ez_store_master_create(struct ez_db *db, const struct ez_master_in *in, const char *digest,
                            const char *prefix, json_t **out, struct ez_outcome *o)
{
    *out = NULL;
    json_t *empty = json_array();
    json_t *ns = in->namespaces ? in->namespaces : empty;
    char maxk[24], qps[24];
    snprintf(maxk, sizeof maxk, "%lld", in->max_child_keys);
    snprintf(qps, sizeof qps, "%lld", in->global_qps);
    char *nstext = json_dumps(ns, JSON_COMPACT);
    const char *p[] = { in->name, in->group, in->status,
                        in->has_max_child_keys ? maxk : NULL, in->has_global_qps ? qps : NULL,
                        in->default_namespace, nstext, digest, prefix };
    int rc = ez_outcome_begin(db, o);
    if (rc == EZ_DB_OK && !nstext)
        rc = EZ_DB_ERROR;
    if (rc == EZ_DB_OK)
        rc = check_namespaces(db, ns, &o->e);
    if (rc == EZ_DB_OK && o->e.status == EZ_DONE &&
        ez_tenant_rule_access(NULL, ns, in->default_namespace, &o->e) == 0) {
        rc = ez_db_json_row(db, out,
                            "INSERT INTO masters AS m (name, group_name, status, max_child_keys, "
                            "global_qps, default_namespace, namespaces, key_digest, key_prefix) "
                            "VALUES ($1, coalesce($2, 'default'), coalesce($3, 'active'), "
                            "coalesce($4::integer, 5), coalesce($5::integer, 0), $6, "
                            SQL_ARRAY("$7") ", $8, $9) "
                            "ON CONFLICT (name) DO NOTHING RETURNING " MASTER_JSON, 9, p);
        if (rc == EZ_DB_OK && !*out)
            master_taken(&o->e);
    }
    if (!ez_outcome_end(db, rc, o))
        ez_outcome_drop(out, NULL, NULL);
    free(nstext);
    json_decref(empty);
}

int ez_store_master_list(struct ez_db *db, const struct ez_page *pg, const char *status,
                      json_t **rows)
{
    struct ez_page_sql ps;
    ez_page_sql(pg, &ps);
    const char *p[] = { ps.after, ps.limit, status };
    return ez_db_json_rows(db, rows,
                           "SELECT " MASTER_JSON " FROM masters m WHERE m.id > $1 "
                           "AND ($3::text IS NULL OR m.status = $3) ORDER BY m.id LIMIT $2",
                           3, p);
}

int ez_store_master_get(struct ez_db *db, int64_t id, char **out)
{
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    const char *p[] = { ids };
    return ez_db_json_text_row(db, out, "SELECT " MASTER_JSON " FROM masters m WHERE m.id = $1",
                               1, p);
}

int ez_store_master_exists(struct ez_db *db, int64_t id, int *found)
{
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    const char *p[] = { ids };
    PGresult *r;
    int rc = ez_db_exec(db, &r, "SELECT 1 FROM masters WHERE id = $1", 1, p);
    *found = rc == EZ_DB_OK && PQntuples(r) == 1;
    PQclear(r);
    return rc;
}

/* The default namespace a master ends with: the one given, none when
 * cleared, else the current one while it is still listed. */
static const char *master_default(const struct ez_master_in *in, json_t *before, json_t *ns)
{
    if (in->clear_default_namespace)
        return NULL;
    if (in->default_namespace)
        return in->default_namespace;
    const char *cur = str(before, "default_namespace");
    return cur && *cur && ez_tenant_listed(ns, cur) ? cur : NULL;
}

/* Narrows or replaces the namespaces of every key of master $1 that is not
 * revoked; $2 the master's new namespaces, $3 its new default. */
static int propagate_access(struct ez_db *db, const char *mode, const char *const *p)
{
    if (strcmp(mode, "all") == 0)
        return ez_db_cmd(db,
                         "UPDATE keys SET namespaces = " SQL_ARRAY("$2") ", "
                         "default_namespace = $3 WHERE master_id = $1 AND status <> 'revoked'",
                         3, p);
    /* restrict: the intersection in the key's own order; a default that
     * falls out is replaced by the master's, else the first left. */
    return ez_db_cmd(db,
                     "UPDATE keys k SET (namespaces, default_namespace) = ("
                     " SELECT x.l, CASE WHEN k.default_namespace IS NULL THEN NULL"
                     "  WHEN k.default_namespace = ANY(x.l) THEN k.default_namespace"
                     "  WHEN $3::text = ANY(x.l) THEN $3::text ELSE x.l[1] END"
                     " FROM (SELECT ARRAY(SELECT t.n FROM unnest(k.namespaces) WITH ORDINALITY"
                     "  AS t(n, i) WHERE t.n = ANY(" SQL_ARRAY("$2") ") ORDER BY t.i) AS l) x)"
                     " WHERE k.master_id = $1 AND k.status <> 'revoked'",
                     3, p);
}

static void master_write(struct ez_db *db, int64_t id, const struct ez_master_in *in,
                         json_t **before, json_t **after, int *keys_changed,
                         struct ez_outcome *o)
{
    *before = *after = NULL;
    *keys_changed = 0;
    char ids[24], maxk[24], qps[24];
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    snprintf(maxk, sizeof maxk, "%lld", in->max_child_keys);
    snprintf(qps, sizeof qps, "%lld", in->global_qps);
    const char *pid[] = { ids };
    char *nstext = NULL;
    int rc = ez_outcome_begin(db, o);
    if (rc == EZ_DB_OK)
        rc = ez_db_json_row(db, before,
                            "SELECT " MASTER_JSON " FROM masters m WHERE m.id = $1 FOR UPDATE", 1,
                            pid);
    if (rc == EZ_DB_OK && !*before)
        ez_not_found(&o->e);
    if (rc != EZ_DB_OK || o->e.status != EZ_DONE)
        goto out;
    json_t *ns = in->namespaces ? in->namespaces : json_object_get(*before, "namespaces");
    const char *def = master_default(in, *before, ns);
    if (in->namespaces)
        rc = check_namespaces(db, ns, &o->e);
    if (rc != EZ_DB_OK || o->e.status != EZ_DONE ||
        ez_tenant_rule_access(NULL, ns, def, &o->e) != 0)
        goto out;
    nstext = json_dumps(ns, JSON_COMPACT);
    const char *p[] = { ids, in->name, in->group, in->status,
                        in->has_max_child_keys ? maxk : NULL, in->has_global_qps ? qps : NULL,
                        nstext, def };
    PGresult *pr = NULL;
    rc = nstext ? ez_db_exec(db, &pr,
                             "UPDATE masters SET name = coalesce($2, name), "
                             "group_name = coalesce($3, group_name), status = coalesce($4, status), "
                             "max_child_keys = coalesce($5::integer, max_child_keys), "
                             "global_qps = coalesce($6::integer, global_qps), "
                             "namespaces = " SQL_ARRAY("$7") ", default_namespace = $8 "
                             "WHERE id = $1", 8, p)
                : EZ_DB_ERROR;
    if (rc == EZ_DB_ERROR && strcmp(ez_db_sqlstate(pr), "23505") == 0) {
        master_taken(&o->e);
        rc = EZ_DB_OK;
    }
    PQclear(pr);
    if (rc != EZ_DB_OK || o->e.status != EZ_DONE)
        goto out;
    if (in->group && strcmp(in->group, str(*before, "group")) != 0) {
        const char *pg[] = { ids, in->group };
        rc = ez_db_cmd(db, "UPDATE keys SET group_name = $2 WHERE master_id = $1", 2, pg);
        *keys_changed = 1;
    }
    if (rc == EZ_DB_OK && in->propagate && strcmp(in->propagate, "none") != 0) {
        const char *pp[] = { ids, nstext, def };
        rc = propagate_access(db, in->propagate, pp);
        *keys_changed = 1;
    }
    if (rc == EZ_DB_OK)
        rc = ez_db_json_row(db, after, "SELECT " MASTER_JSON " FROM masters m WHERE m.id = $1",
                            1, pid);
out:
    free(nstext);
    if (!ez_outcome_end(db, rc, o)) {
        ez_outcome_drop(before, after, NULL);
        *keys_changed = 0;
    }
}

void ez_store_master_update(struct ez_db *db, int64_t id, const struct ez_master_in *in,
                            json_t **before, json_t **after, int *keys_changed,
                            struct ez_outcome *o)
{
    struct ez_master_in copy = *in;
    copy.propagate = NULL;
    master_write(db, id, &copy, before, after, keys_changed, o);
}

void ez_store_master_access(struct ez_db *db, int64_t id, const struct ez_master_in *in,
                            json_t **before, json_t **after, int *keys_changed,
                            struct ez_outcome *o)
{
    struct ez_master_in copy = { .namespaces = in->namespaces,
                                 .default_namespace = in->default_namespace,
                                 .clear_default_namespace = in->clear_default_namespace,
                                 .propagate = in->propagate ? in->propagate : "none" };
    master_write(db, id, &copy, before, after, keys_changed, o);
}

void ez_store_master_delete(struct ez_db *db, int64_t id, json_t **before, json_t **digests,
                            struct ez_outcome *o)
{
    *before = *digests = NULL;
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    const char *p[] = { ids };
    int rc = ez_outcome_begin(db, o);
    if (rc == EZ_DB_OK)
        rc = ez_db_json_row(db, before,
                            "SELECT " MASTER_JSON " FROM masters m WHERE m.id = $1 FOR UPDATE", 1,
                            p);
    if (rc == EZ_DB_OK && !*before)
        ez_not_found(&o->e);
    if (rc == EZ_DB_OK && *before)
        rc = ez_db_json_row(db, digests,
                            "SELECT coalesce(json_agg(d.digest ORDER BY d.digest), '[]') "
                            "FROM key_digests d JOIN keys k ON k.id = d.key_id "
                            "WHERE k.master_id = $1", 1, p);
    if (rc == EZ_DB_OK && *before)
        rc = ez_db_cmd(db, "DELETE FROM masters WHERE id = $1", 1, p);
    if (!ez_outcome_end(db, rc, o))
        ez_outcome_drop(before, digests, NULL);
}

/* Runs one UPDATE of master $1 (with extra params) under its row lock,
 * giving before and after. */
static void master_simple(struct ez_db *db, int64_t id, const char *update_sql, int nextra,
                          const char *const *extra, json_t **before, json_t **after,
                          struct ez_outcome *o)
{
    *before = *after = NULL;
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    const char *p[4] = { ids };
    for (int i = 0; i < nextra && i < 3; i++)
        p[i + 1] = extra[i];
    int rc = ez_outcome_begin(db, o);
    if (rc == EZ_DB_OK)
        rc = ez_db_json_row(db, before,
                            "SELECT " MASTER_JSON " FROM masters m WHERE m.id = $1 FOR UPDATE", 1,
                            p);
    if (rc == EZ_DB_OK && *before)
        rc = ez_db_json_row(db, after, update_sql, 1 + nextra, p);
    if (rc == EZ_DB_OK && !*after)
        ez_not_found(&o->e);
    if (!ez_outcome_end(db, rc, o))
        ez_outcome_drop(before, after, NULL);
}

void ez_store_master_rotate_key(struct ez_db *db, int64_t id, const char *digest,
                                const char *prefix, json_t **before, json_t **after,
                                struct ez_outcome *o)
{
    const char *extra[] = { digest, prefix };
    master_simple(db, id,
                  "UPDATE masters AS m SET key_digest = $2, key_prefix = $3, "
                  "key_generation = key_generation + 1 WHERE id = $1 RETURNING " MASTER_JSON, 2,
                  extra, before, after, o);
}

void ez_store_master_revoke_keys(struct ez_db *db, int64_t id, json_t **before, json_t **after,
                                 struct ez_outcome *o)
{
    master_simple(db, id,
                  "UPDATE masters AS m SET epoch = epoch + 1 WHERE id = $1 RETURNING " MASTER_JSON,
                  0, NULL, before, after, o);
}

static int master_auth(struct ez_db *db, const char *sql, const char *arg,
                       struct ez_master_auth *out, int *found)
{
    *found = 0;
    memset(out, 0, sizeof *out);
    const char *p[] = { arg };
    PGresult *pr;
    int rc = ez_db_exec(db, &pr, sql, 1, p);
    if (rc == EZ_DB_OK && PQntuples(pr) == 1) {
        *found = 1;
        out->id = strtoll(PQgetvalue(pr, 0, 0), NULL, 10);
        out->active = strcmp(PQgetvalue(pr, 0, 1), "active") == 0;
        out->key_generation = strtoll(PQgetvalue(pr, 0, 2), NULL, 10);
        snprintf(out->key_digest, sizeof out->key_digest, "%s", PQgetvalue(pr, 0, 3));
    }
    PQclear(pr);
    return rc;
}

int ez_store_master_auth_by_digest(struct ez_db *db, const char *digest,
                                struct ez_master_auth *out, int *found)
{
    return master_auth(db,
                       "SELECT id, status, key_generation, coalesce(key_digest, '') "
                       "FROM masters WHERE key_digest = $1", digest, out, found);
}

int ez_store_master_auth_by_id(struct ez_db *db, int64_t id, struct ez_master_auth *out,
                            int *found)
{
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    return master_auth(db,
                       "SELECT id, status, key_generation, coalesce(key_digest, '') "
                       "FROM masters WHERE id = $1", ids, out, found);
}

/* ---- child keys ---------------------------------------------------------- */

#define MASTER_FACTS                                                               \
    "json_build_object('id', id, 'epoch', epoch, 'max_child_keys', max_child_keys, " \
    "'group', group_name, 'namespaces', to_json(namespaces), "                     \
    "'default_namespace', default_namespace)"

static int count_active(struct ez_db *db, const char *master_id, long long *n)
{
    const char *p[] = { master_id };
    PGresult *pr;
    int rc = ez_db_exec(db, &pr,
                        "SELECT count(*)" KEY_FROM "WHERE k.master_id = $1 AND "
                        ACTIVE_KEY("k", "m"), 1, p);
    if (rc == EZ_DB_OK)
        *n = strtoll(PQgetvalue(pr, 0, 0), NULL, 10);
    PQclear(pr);
    return rc;
}

/* Inside a transaction: locks the key's master, then the key (the lock
 * order of every tenants write). NOT_FOUND when either is missing or the
 * key belongs to another master than scope (0 = any). */
static int lock_key(struct ez_db *db, const char *key_id, int64_t scope, json_t **master,
                    json_t **key, struct ez_verr *e)
{
    *master = *key = NULL;
    const char *p[] = { key_id };
    int rc = ez_db_json_row(db, master,
                            "SELECT " MASTER_FACTS " FROM masters WHERE id = "
                            "(SELECT master_id FROM keys WHERE id = $1) FOR UPDATE", 1, p);
    if (rc == EZ_DB_OK && *master && (scope == 0 || num(*master, "id") == scope))
        rc = ez_db_json_row(db, key,
                            "SELECT " KEY_JSON KEY_FROM "WHERE k.id = $1 FOR UPDATE OF k", 1, p);
    if (rc == EZ_DB_OK && !*key)
        ez_not_found(e);
    return rc;
}

/* The namespaces and default a key ends with (old = NULL at issue). */
static void key_access(json_t *master, json_t *old, const struct ez_child_key_in *in, json_t **ns,
                       const char **def)
{
    const char *mdef = str(master, "default_namespace");
    *ns = in->namespaces             ? in->namespaces
          : old                      ? json_object_get(old, "namespaces")
                                     : json_object_get(master, "namespaces");
    const char *od = old ? str(old, "default_namespace") : mdef;
    if (in->clear_default_namespace)
        *def = NULL;
    else if (in->default_namespace)
        *def = in->default_namespace;
    else if (!in->namespaces)
        *def = od;
    else if (old && !od)
        *def = NULL;
    else if (od && ez_tenant_listed(*ns, od))
        *def = od;
    else
        *def = ez_tenant_default_for(*ns, mdef);
}

/* Checks a key's namespaces against the rows (exist, within the master's). */
static int key_access_rules(struct ez_db *db, json_t *master, const struct ez_child_key_in *in,
                            json_t *ns, const char *def, struct ez_verr *e)
{
    int rc = in->namespaces ? check_namespaces(db, ns, e) : EZ_DB_OK;
    if (rc == EZ_DB_OK && e->status == EZ_DONE)
        ez_tenant_rule_access(json_object_get(master, "namespaces"), ns, def, e);
    return rc;
}

static char *list_text(json_t *list)
{
    return list ? json_dumps(list, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
}

void ez_store_child_key_issue(struct ez_db *db, int64_t master_id,
                              const struct ez_child_key_in *in, const char *issued_by,
                              const char *digest, const char *prefix, json_t **out,
                              struct ez_outcome *o)
{
    *out = NULL;
    char mid[24];
    snprintf(mid, sizeof mid, "%lld", (long long)master_id);
    const char *pm[] = { mid };
    json_t *master = NULL;
    char *nstext = NULL, *mltext = NULL, *iptext = NULL;
    /* BEGIN and the master's lock in one round trip. */
    o->e.status = EZ_DONE;
    int rc = o->db = ez_db_begin_row(db, &master,
                                     "SELECT " MASTER_FACTS " FROM masters WHERE id = $1 "
                                     "FOR UPDATE", 1, pm);
    if (rc == EZ_DB_OK && !master)
        ez_not_found(&o->e);
    if (rc != EZ_DB_OK || o->e.status != EZ_DONE)
        goto out;
    long long active = 0, max = num(master, "max_child_keys");
    if (max > 0) /* 0 = unlimited: nothing to count */
        rc = count_active(db, mid, &active);
    if (rc == EZ_DB_OK && max > 0 && active >= max)
        limit_reached(&o->e);
    if (rc != EZ_DB_OK || o->e.status != EZ_DONE)
        goto out;
    json_t *ns;
    const char *def;
    key_access(master, NULL, in, &ns, &def);
    rc = key_access_rules(db, master, in, ns, def, &o->e);
    if (rc != EZ_DB_OK || o->e.status != EZ_DONE)
        goto out;
    nstext = list_text(ns);
    mltext = list_text(in->model_limits);
    iptext = list_text(in->allow_ips);
    char epoch[24];
    snprintf(epoch, sizeof epoch, "%lld", num(master, "epoch"));
    const char *p[] = { mid, in->name ? in->name : "", str(master, "group"), epoch, issued_by,
                        def, nstext, mltext, iptext, in->expires_at, prefix, digest };
    /* The key, its digest, the answer and the COMMIT in one round trip. */
    rc = ez_db_row_commit(db, out,
                        "WITH k AS (INSERT INTO keys (master_id, name, group_name, "
                        "issued_at_epoch, issued_by, default_namespace, namespaces, model_limits, "
                        "allow_ips, expires_at, key_prefix) VALUES ($1, $2, $3, $4, $5, $6, "
                        SQL_ARRAY("$7") ", CASE WHEN $8::json IS NULL THEN NULL ELSE "
                        SQL_ARRAY("$8") " END, CASE WHEN $9::json IS NULL THEN NULL ELSE "
                        SQL_ARRAY("$9") " END, $10::timestamptz, $11) RETURNING *), "
                        "d AS (INSERT INTO key_digests (digest, key_id) SELECT $12, id FROM k) "
                        "SELECT " KEY_JSON " FROM k JOIN masters m ON m.id = k.master_id",
                        12, p);
out:
    if (!ez_outcome_end(db, rc, o))
        ez_outcome_drop(out, NULL, NULL);
    json_decref(master);
    free(nstext);
    free(mltext);
    free(iptext);
}

int ez_store_child_key_list(struct ez_db *db, int64_t master_id, const struct ez_page *pg,
                   const char *status, json_t **rows)
{
    struct ez_page_sql ps;
    char mid[24];
    snprintf(mid, sizeof mid, "%lld", (long long)master_id);
    ez_page_sql(pg, &ps);
    const char *p[] = { mid, ps.after, ps.limit, status };
    /* Without a status filter, the page's ids come first, from an
     * index-only scan of keys (master_id, id): a page costs the same at the
     * start and at the end of a master's keys, whoever else has keys.
     * Asked directly, PostgreSQL walks the primary key from the cursor and
     * skips the other masters' keys, as many as lie after the cursor. */
    if (!status)
        return ez_db_json_rows(db, rows,
                               "SELECT " KEY_JSON KEY_FROM "WHERE k.id IN (SELECT id FROM keys "
                               "WHERE master_id = $1 AND id > $2 ORDER BY id LIMIT $3) "
                               "ORDER BY k.id", 3, p);
    return ez_db_json_rows(db, rows,
                           "SELECT " KEY_JSON KEY_FROM "WHERE k.master_id = $1 AND k.id > $2 "
                           "AND " KEY_STATUS " = $4 ORDER BY k.id LIMIT $3", 4, p);
}

int ez_store_child_key_get(struct ez_db *db, int64_t key_id, int64_t master_id, json_t **out)
{
    char kid[24], mid[24];
    snprintf(kid, sizeof kid, "%lld", (long long)key_id);
    snprintf(mid, sizeof mid, "%lld", (long long)master_id);
    const char *p[] = { kid, mid };
    return ez_db_json_row(db, out,
                          "SELECT " KEY_JSON KEY_FROM
                          "WHERE k.id = $1 AND ($2::bigint = 0 OR k.master_id = $2)", 2, p);
}

void ez_store_child_key_update(struct ez_db *db, int64_t key_id, int64_t master_id,
                               const struct ez_child_key_in *in, json_t **before,
                               json_t **after, struct ez_outcome *o)
{
    *before = *after = NULL;
    char kid[24];
    snprintf(kid, sizeof kid, "%lld", (long long)key_id);
    json_t *master = NULL;
    char *nstext = NULL, *mltext = NULL, *iptext = NULL;
    int rc = ez_outcome_begin(db, o);
    if (rc == EZ_DB_OK)
        rc = lock_key(db, kid, master_id, &master, before, &o->e);
    if (rc != EZ_DB_OK || o->e.status != EZ_DONE)
        goto out;
    int was_active = strcmp(str(*before, "status"), "active") == 0;
    if (strcmp(str(*before, "status"), "revoked") == 0) {
        key_revoked(&o->e);
        goto out;
    }
    json_t *ns;
    const char *def;
    key_access(master, *before, in, &ns, &def);
    if (in->namespaces || in->default_namespace || in->clear_default_namespace)
        rc = key_access_rules(db, master, in, ns, def, &o->e);
    if (rc != EZ_DB_OK || o->e.status != EZ_DONE)
        goto out;
    nstext = list_text(ns);
    mltext = list_text(in->model_limits);
    iptext = list_text(in->allow_ips);
    const char *p[] = { kid, in->name, in->status, nstext, def,
                        in->clear_model_limits ? "t" : "f", mltext,
                        in->clear_allow_ips ? "t" : "f", iptext,
                        in->clear_expires_at ? "t" : "f", in->expires_at };
    rc = ez_db_cmd(db,
                   "UPDATE keys SET name = coalesce($2, name), status = coalesce($3, status), "
                   "namespaces = " SQL_ARRAY("$4") ", default_namespace = $5, "
                   "model_limits = CASE WHEN $6::boolean THEN NULL WHEN $7::json IS NULL "
                   "THEN model_limits ELSE " SQL_ARRAY("$7") " END, "
                   "allow_ips = CASE WHEN $8::boolean THEN NULL WHEN $9::json IS NULL "
                   "THEN allow_ips ELSE " SQL_ARRAY("$9") " END, "
                   "expires_at = CASE WHEN $10::boolean THEN NULL "
                   "ELSE coalesce($11::timestamptz, expires_at) END WHERE id = $1", 11, p);
    if (rc == EZ_DB_OK)
        rc = ez_db_json_row(db, after, "SELECT " KEY_JSON KEY_FROM "WHERE k.id = $1", 1, p);
    if (rc == EZ_DB_OK && !*after)
        rc = EZ_DB_ERROR;
    if (rc != EZ_DB_OK)
        goto out;
    /* A key that becomes active again takes a place under the limit. */
    long long max = num(master, "max_child_keys"), active = 0;
    if (!was_active && strcmp(str(*after, "status"), "active") == 0 && max > 0) {
        char mid[24];
        snprintf(mid, sizeof mid, "%lld", num(master, "id"));
        rc = count_active(db, mid, &active);
        if (rc == EZ_DB_OK && active > max)
            limit_reached(&o->e);
    }
out:
    if (!ez_outcome_end(db, rc, o))
        ez_outcome_drop(before, after, NULL);
    json_decref(master);
    free(nstext);
    free(mltext);
    free(iptext);
}

void ez_store_child_key_revoke(struct ez_db *db, int64_t key_id, int64_t master_id,
                               json_t **before, json_t **after, struct ez_outcome *o)
{
    *before = *after = NULL;
    char kid[24];
    snprintf(kid, sizeof kid, "%lld", (long long)key_id);
    const char *p[] = { kid };
    json_t *master = NULL;
    int rc = ez_outcome_begin(db, o);
    if (rc == EZ_DB_OK)
        rc = lock_key(db, kid, master_id, &master, before, &o->e);
    if (rc == EZ_DB_OK && o->e.status == EZ_DONE)
        rc = ez_db_cmd(db, "UPDATE keys SET status = 'revoked' WHERE id = $1", 1, p);
    if (rc == EZ_DB_OK && o->e.status == EZ_DONE)
        rc = ez_db_json_row(db, after, "SELECT " KEY_JSON KEY_FROM "WHERE k.id = $1", 1, p);
    if (!ez_outcome_end(db, rc, o))
        ez_outcome_drop(before, after, NULL);
    json_decref(master);
}

void ez_store_child_key_rotate(struct ez_db *db, int64_t key_id, int64_t master_id,
                               long long grace_s, const char *digest, const char *prefix,
                               json_t **after, struct ez_outcome *o)
{
    *after = NULL;
    char kid[24], grace[24];
    snprintf(kid, sizeof kid, "%lld", (long long)key_id);
    snprintf(grace, sizeof grace, "%lld", grace_s);
    const char *p[] = { kid, grace };
    json_t *master = NULL, *before = NULL;
    int rc = ez_outcome_begin(db, o);
    if (rc == EZ_DB_OK)
        rc = lock_key(db, kid, master_id, &master, &before, &o->e);
    if (rc == EZ_DB_OK && o->e.status == EZ_DONE &&
        strcmp(str(before, "status"), "revoked") == 0)
        key_revoked(&o->e);
    if (rc != EZ_DB_OK || o->e.status != EZ_DONE)
        goto out;
    /* The current secret ends its life now or after the grace; its row
     * stays until the syncer has deleted its hash. */
    rc = ez_db_cmd(db,
                   "UPDATE key_digests SET valid_until = now() + make_interval(secs => $2) "
                   "WHERE key_id = $1 AND valid_until IS NULL", 2, p);
    const char *pd[] = { digest, kid, prefix };
    if (rc == EZ_DB_OK)
        rc = ez_db_cmd(db, "INSERT INTO key_digests (digest, key_id) VALUES ($1, $2)", 2, pd);
    const char *pp[] = { kid, prefix };
    if (rc == EZ_DB_OK)
        rc = ez_db_cmd(db, "UPDATE keys SET key_prefix = $2 WHERE id = $1", 2, pp);
    if (rc == EZ_DB_OK)
        rc = ez_db_json_row(db, after, "SELECT " KEY_JSON KEY_FROM "WHERE k.id = $1", 1, p);
out:
    if (!ez_outcome_end(db, rc, o))
        ez_outcome_drop(after, NULL, NULL);
    json_decref(master);
    json_decref(before);
}
