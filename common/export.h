/* Export of ezapi's state in the import format (docs/migrate.md,
 * "Export"): master and child keys as digests only, upstream api keys only
 * when asked for (and then opened with secrets_key). The caller audits an
 * export with secrets. */
#ifndef EZ_EXPORT_H
#define EZ_EXPORT_H

#include <jansson.h>

#include "config.h"
#include "db.h"

/* *doc: the document (new reference). EZ_DB_* status; EZ_DB_ERROR also
 * when a stored api key cannot be opened (the id is logged, never the
 * value). */
int ez_export(struct ez_db *db, const struct ez_config *cfg, int include_secrets, json_t **doc)
    __attribute__((warn_unused_result));

#endif
