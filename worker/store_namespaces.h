/* SQL of the namespaces resource. Every function returns an EZ_DB_*
 * status; objects are the API's JSON shape, built by PostgreSQL. */
#ifndef EZ_STORE_NAMESPACES_H
#define EZ_STORE_NAMESPACES_H

#include <jansson.h>

#include "db.h"
#include "paging.h"

struct ez_namespace_in {
    const char *name;
    const char *description; /* NULL = unchanged (update) or none */
    int clear_description;   /* update: set to NULL */
    const char *status;      /* NULL = unchanged / default */
};

/* EZ_DB_ERROR with *conflict = 1 when the name is taken. */
int ez_store_namespace_create(struct ez_db *db, const struct ez_namespace_in *in, json_t **out,
                           int *conflict);
int ez_store_namespace_list(struct ez_db *db, const struct ez_page *p, const char *status,
                         json_t **rows);
int ez_store_namespace_get(struct ez_db *db, const char *name, json_t **out);
/* before and after are NULL when the namespace does not exist. */
int ez_store_namespace_update(struct ez_db *db, const struct ez_namespace_in *in, json_t **before,
                           json_t **after);
/* When referenced: *users = {"bindings":[...],"masters":[...],"keys":n} and
 * nothing is deleted. *before NULL when it does not exist. */
int ez_store_namespace_delete(struct ez_db *db, const char *name, json_t **before, json_t **users);

#endif
