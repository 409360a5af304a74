/* Namespaces in PostgreSQL. */
#include "store_namespaces.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_JSON                                                                     \
    "json_build_object('id', id, 'name', name, 'description', description, "       \
    "'status', status, 'created_at', " EZ_SQL_TS("created_at") ", 'updated_at', "  \
    EZ_SQL_TS("updated_at") ")"

void ez_store_namespace_create(struct ez_db *db, const struct ez_namespace_in *in, json_t **out,
                               struct ez_outcome *o)
{
    const char *p[] = { in->name, in->description, in->status ? in->status : "active" };
    *out = NULL;
    int rc = ez_outcome_begin(db, o);
    if (rc == EZ_DB_OK)
        rc = ez_db_json_row(db, out,
                            "INSERT INTO namespaces (name, description, status) VALUES ($1, $2, "
                            "$3) ON CONFLICT (name) DO NOTHING RETURNING " NS_JSON, 3, p);
    if (rc == EZ_DB_OK && !*out)
        ez_refuse(&o->e, EZ_CONFLICT, "name_taken", "name", "namespace '%s' already exists",
                  in->name);
    if (!ez_outcome_end(db, rc, o))
        ez_outcome_drop(out, NULL, NULL);
}

int ez_store_namespace_list(struct ez_db *db, const struct ez_page *pg, const char *status,
                         json_t **rows)
{
    struct ez_page_sql ps;
    ez_page_sql(pg, &ps);
    const char *p[] = { ps.after, ps.limit, status };
    return ez_db_json_rows(db, rows,
                           "SELECT " NS_JSON " FROM namespaces WHERE id > $1 "
                           "AND ($3::text IS NULL OR status = $3) ORDER BY id LIMIT $2", 3, p);
}

int ez_store_namespace_get(struct ez_db *db, const char *name, json_t **out)
{
    const char *p[] = { name };
    return ez_db_json_row(db, out, "SELECT " NS_JSON " FROM namespaces WHERE name = $1", 1, p);
}

void ez_store_namespace_update(struct ez_db *db, const struct ez_namespace_in *in,
                               json_t **before, json_t **after, struct ez_outcome *o)
{
    *before = *after = NULL;
    const char *p[] = { in->name, in->description, in->clear_description ? "t" : "f",
                        in->status };
    int rc = ez_outcome_begin(db, o);
    if (rc == EZ_DB_OK)
        rc = ez_db_json_row(db, before,
                            "SELECT " NS_JSON " FROM namespaces WHERE name = $1 FOR UPDATE", 1, p);
    if (rc == EZ_DB_OK && !*before)
        ez_not_found(&o->e);
    else if (rc == EZ_DB_OK)
        rc = ez_db_json_row(db, after,
                            "UPDATE namespaces SET "
                            "description = CASE WHEN $3::boolean THEN NULL "
                            "  ELSE coalesce($2, description) END, "
                            "status = coalesce($4, status) WHERE name = $1 RETURNING " NS_JSON,
                            4, p);
    if (!ez_outcome_end(db, rc, o))
        ez_outcome_drop(before, after, NULL);
}

static int in_use(json_t *users)
{
    return json_array_size(json_object_get(users, "bindings")) ||
           json_array_size(json_object_get(users, "masters")) ||
           json_integer_value(json_object_get(users, "keys"));
}

void ez_store_namespace_delete(struct ez_db *db, const char *name, json_t **before,
                               struct ez_outcome *o)
{
    *before = NULL;
    const char *p[] = { name };
    json_t *users = NULL;
    int rc = ez_outcome_begin(db, o);
    if (rc == EZ_DB_OK)
        rc = ez_db_json_row(db, before,
                            "SELECT " NS_JSON " FROM namespaces WHERE name = $1 FOR UPDATE", 1, p);
    if (rc == EZ_DB_OK && !*before)
        ez_not_found(&o->e);
    else if (rc == EZ_DB_OK)
        rc = ez_db_json_row(db, &users,
                            "SELECT json_build_object("
                            "'bindings', (SELECT coalesce(json_agg(id ORDER BY id), '[]') FROM "
                            "  (SELECT id FROM bindings WHERE namespace = $1 LIMIT 20) b), "
                            "'masters', (SELECT coalesce(json_agg(name ORDER BY name), '[]') FROM "
                            "  (SELECT name FROM masters WHERE default_namespace = $1 "
                            "   OR $1 = ANY(namespaces) LIMIT 20) m), "
                            "'keys', (SELECT count(*) FROM keys WHERE status <> 'revoked' AND "
                            "  (default_namespace = $1 OR $1 = ANY(namespaces))))", 1, p);
    if (rc == EZ_DB_OK && in_use(users)) {
        char *list = json_dumps(users, JSON_COMPACT);
        ez_refuse(&o->e, EZ_CONFLICT, "namespace_in_use", NULL, "namespace '%s' is in use: %s",
                  name, list ? list : "");
        free(list);
    } else if (rc == EZ_DB_OK && o->e.status == EZ_DONE) {
        rc = ez_db_cmd(db, "DELETE FROM namespaces WHERE name = $1", 1, p);
    }
    json_decref(users);
    if (!ez_outcome_end(db, rc, o))
        ez_outcome_drop(before, NULL, NULL);
}
