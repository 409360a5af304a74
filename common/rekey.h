/* `ezapi rekey`: re-seals every stored upstream API key with the current
 * secrets_key (after a rotation, values sealed with secrets_key_previous
 * or stored in clear). Batches of rows, each its own transaction, each row
 * replaced only if it still holds the value read (compare and set), so it
 * is safe while instances serve, safe to interrupt and to run again. */
#ifndef EZ_REKEY_H
#define EZ_REKEY_H

#include "config.h"
#include "db.h"

struct ez_rekey_report {
    long long resealed;   /* re-sealed with secrets_key by this run */
    long long current;    /* already on secrets_key (or clear with no key) */
    long long unreadable; /* opened by neither key: left as they are */
    long long left;       /* after the run: rows not on secrets_key */
};

/* EZ_DB_OK with out filled, or EZ_DB_UNAVAILABLE / EZ_DB_ERROR (rows
 * re-sealed before the failure stay re-sealed). */
int ez_rekey(struct ez_db *db, const struct ez_config *cfg, int batch,
             struct ez_rekey_report *out) __attribute__((warn_unused_result));

#endif
