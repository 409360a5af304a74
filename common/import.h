/* Import of another gateway's configuration (docs/migrate.md): the
 * intermediate JSON of new-api's exporter, checked item by item and written
 * in one transaction with its sync jobs (sync_outbox rows) and its audit
 * record. Shared by POST /admin/import and `ezapi import`, so both answer
 * alike. Never logs or audits a secret: plaintext tokens become digests
 * here, upstream keys are sealed with secrets_key before they are stored. */
#ifndef EZ_IMPORT_H
#define EZ_IMPORT_H

#include <jansson.h>

#include "config.h"
#include "db.h"

/* Bounds of a document (docs/migrate.md, "Limits"). */
#define EZ_IMPORT_MAX_ITEMS 1000000 /* per section of data */
#define EZ_IMPORT_MAX_TOKEN 512     /* bytes of an original_token */
#define EZ_IMPORT_MAX_LIST 1000     /* entries of a models, namespaces, ... list */
#define EZ_IMPORT_BATCH 2000        /* key rows sent to PostgreSQL at a time */

struct ez_import_opts {
    int dry_run;
    int overwrite;        /* conflict=overwrite (else skip) */
    int include_bindings;
    int skip_invalid;
    const char *action;   /* of the audit record; NULL: "import.newapi" */
    /* Called (when not NULL) after each batch of keys and around the long
     * statements: a worker marks itself alive there, so that a large
     * import is not taken for a stuck process. */
    void (*progress)(void *arg);
    void *progress_arg;
};

/* Who runs the import, for its audit record (strings borrowed). */
struct ez_import_actor {
    const char *actor_type; /* "admin" */
    const char *actor;
    const char *request_id;
    const char *method;
    const char *path;
    const char *remote_addr;
};

enum {
    EZ_IMPORT_DONE = 0,    /* *answer: what was (or, dry run, would be) written */
    EZ_IMPORT_BAD_DOC = 1, /* the document's shape: *path and *message say where */
    EZ_IMPORT_INVALID = 2, /* items in error and no skip_invalid: nothing written */
    EZ_IMPORT_DB = 3,      /* PostgreSQL failed: *db_rc, nothing written (or, with
                            * EZ_DB_UNKNOWN, the COMMIT's outcome unknown) */
};

struct ez_import_result {
    json_t *answer;      /* owned by the caller (json_decref) */
    char path[128];      /* EZ_IMPORT_BAD_DOC: where, e.g. "data.keys" */
    char message[256];
    int db_rc;
};

/* Imports doc (borrowed). cfg seals upstream keys. The answer has
 * "created", "skipped", "overwritten" (counts per resource), "masters" (the
 * master keys generated, null in a dry run), "warnings", "errors" (each with
 * section, index, field, message) and "dry_run"/"committed". */
int ez_import_newapi(struct ez_db *db, const struct ez_config *cfg, json_t *doc,
                     const struct ez_import_opts *opts, const struct ez_import_actor *who,
                     struct ez_import_result *res) __attribute__((warn_unused_result));

/* A provider group name ([A-Za-z0-9][A-Za-z0-9._-]{0,63}) made from any
 * label: each run of other characters becomes one '-' ("" when nothing
 * is left). */
void ez_import_group_name(const char *in, char out[65]);
/* Appends a formatted warning (at most 511 bytes) to the array. */
void ez_import_warn(json_t *warnings, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
