/* Namespaces in PostgreSQL. */
#include "store_namespaces.h"

#include <stdio.h>
#include <string.h>

#define NS_JSON                                                                     \
    "json_build_object('id', id, 'name', name, 'description', description, "       \
    "'status', status, 'created_at', " EZ_SQL_TS("created_at") ", 'updated_at', "  \
    EZ_SQL_TS("updated_at") ")"

int ez_store_namespace_create(struct ez_db *db, const struct ez_namespace_in *in, json_t **out,
                           int *conflict)
{
    const char *p[] = { in->name, in->description, in->status ? in->status : "active" };
    *conflict = 0;
    *out = NULL;
    int rc = ez_db_begin(db);
    if (rc == EZ_DB_OK)
        rc = ez_db_json_row(db, out,
                            "INSERT INTO namespaces (name, description, status) VALUES ($1, $2, "
                            "$3) ON CONFLICT (name) DO NOTHING RETURNING " NS_JSON, 3, p);
    *conflict = rc == EZ_DB_OK && !*out;
    rc = ez_db_end(db, rc, !*conflict);
    if (!ez_db_landed(rc)) {
        json_decref(*out);
        *out = NULL;
    }
    return *conflict ? EZ_DB_ERROR : rc;
}

int ez_store_namespace_list(struct ez_db *db, const struct ez_page *pg, const char *status,
                         json_t **rows)
{
    char after[24], limit[16];
    snprintf(after, sizeof after, "%lld", (long long)pg->after);
    snprintf(limit, sizeof limit, "%d", pg->limit + 1);
    const char *p[] = { after, limit, status };
    return ez_db_json_rows(db, rows,
                           "SELECT " NS_JSON " FROM namespaces WHERE id > $1 "
                           "AND ($3::text IS NULL OR status = $3) ORDER BY id LIMIT $2", 3, p);
}

int ez_store_namespace_get(struct ez_db *db, const char *name, json_t **out)
{
    const char *p[] = { name };
    return ez_db_json_row(db, out, "SELECT " NS_JSON " FROM namespaces WHERE name = $1", 1, p);
}

int ez_store_namespace_update(struct ez_db *db, const struct ez_namespace_in *in, json_t **before,
                           json_t **after)
{
    *before = *after = NULL;
    const char *p[] = { in->name, in->description, in->clear_description ? "t" : "f",
                        in->status };
    int rc = ez_db_begin(db);
    if (rc == EZ_DB_OK)
        rc = ez_db_json_row(db, before,
                            "SELECT " NS_JSON " FROM namespaces WHERE name = $1 FOR UPDATE", 1, p);
    if (rc == EZ_DB_OK && *before)
        rc = ez_db_json_row(db, after,
                            "UPDATE namespaces SET "
                            "description = CASE WHEN $3::boolean THEN NULL "
                            "  ELSE coalesce($2, description) END, "
                            "status = coalesce($4, status) WHERE name = $1 RETURNING " NS_JSON,
                            4, p);
    rc = ez_db_end(db, rc, *before != NULL);
    if (!ez_db_landed(rc)) {
        json_decref(*before);
        json_decref(*after);
        *before = *after = NULL;
    }
    return rc;
}

int ez_store_namespace_delete(struct ez_db *db, const char *name, json_t **before, json_t **users)
{
    *before = *users = NULL;
    const char *p[] = { name };
    int rc = ez_db_begin(db);
    if (rc == EZ_DB_OK)
        rc = ez_db_json_row(db, before,
                            "SELECT " NS_JSON " FROM namespaces WHERE name = $1 FOR UPDATE", 1, p);
    json_t *u = NULL;
    if (rc == EZ_DB_OK && *before)
        rc = ez_db_json_row(db, &u,
                            "SELECT json_build_object("
                            "'bindings', (SELECT coalesce(json_agg(id ORDER BY id), '[]') FROM "
                            "  (SELECT id FROM bindings WHERE namespace = $1 LIMIT 20) b), "
                            "'masters', (SELECT coalesce(json_agg(name ORDER BY name), '[]') FROM "
                            "  (SELECT name FROM masters WHERE default_namespace = $1 "
                            "   OR $1 = ANY(namespaces) LIMIT 20) m), "
                            "'keys', (SELECT count(*) FROM keys WHERE status <> 'revoked' AND "
                            "  (default_namespace = $1 OR $1 = ANY(namespaces))))", 1, p);
    if (rc == EZ_DB_OK && u &&
        (json_array_size(json_object_get(u, "bindings")) ||
         json_array_size(json_object_get(u, "masters")) ||
         json_integer_value(json_object_get(u, "keys")))) {
        *users = u;
        u = NULL;
    } else if (rc == EZ_DB_OK && *before) {
        rc = ez_db_cmd(db, "DELETE FROM namespaces WHERE name = $1", 1, p);
    }
    json_decref(u);
    rc = ez_db_end(db, rc, *before && !*users);
    if (!ez_db_landed(rc)) {
        json_decref(*before);
        json_decref(*users);
        *before = *users = NULL;
    }
    return rc;
}
