/* SQL of the namespaces resource. Reads return an EZ_DB_* status; writes
 * fill a struct ez_outcome. Objects are the API's JSON shape, built by
 * PostgreSQL. */
#ifndef EZ_STORE_NAMESPACES_H
#define EZ_STORE_NAMESPACES_H

#include <jansson.h>

#include "db.h"
#include "outcome.h"
#include "paging.h"

struct ez_namespace_in {
    const char *name;
    const char *description; /* NULL = unchanged (update) or none */
    int clear_description;   /* update: set to NULL */
    const char *status;      /* NULL = unchanged / default */
};

/* Refused: 409 name_taken. */
void ez_store_namespace_create(struct ez_db *db, const struct ez_namespace_in *in, json_t **out,
                               struct ez_outcome *o);
int ez_store_namespace_list(struct ez_db *db, const struct ez_page *p, const char *status,
                         json_t **rows);
int ez_store_namespace_get(struct ez_db *db, const char *name, json_t **out);
/* before and after are set when done. Refused: not found. */
void ez_store_namespace_update(struct ez_db *db, const struct ez_namespace_in *in,
                               json_t **before, json_t **after, struct ez_outcome *o);
/* *before is set when done. Refused: not found, or 409 namespace_in_use
 * naming the bindings, masters and keys that use it. */
void ez_store_namespace_delete(struct ez_db *db, const char *name, json_t **before,
                               struct ez_outcome *o);

#endif
