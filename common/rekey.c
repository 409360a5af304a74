/* Re-sealing upstream API keys with the current secrets_key (rekey.h).
 * Never logs a key, clear or sealed: only row ids and counts. */
#include "rekey.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "log.h"
#include "secrets.h"

/* One batch of rows after *last (by id): re-seals those not on the current
 * key in one transaction. *n gets the number of rows read. */
static int one_batch(struct ez_db *db, const struct ez_config *cfg, int batch, long long *last,
                     int *n, struct ez_rekey_report *out)
{
    char after[24], limit[16];
    snprintf(after, sizeof after, "%lld", *last);
    snprintf(limit, sizeof limit, "%d", batch);
    const char *p[] = { after, limit };
    int rc = ez_db_begin(db);
    PGresult *res = NULL;
    if (rc == EZ_DB_OK)
        rc = ez_db_exec(db, &res, "SELECT id, api_key FROM api_keys WHERE id > $1::bigint "
                                  "ORDER BY id LIMIT $2::int", 2, p);
    *n = rc == EZ_DB_OK ? PQntuples(res) : 0;
    long long resealed = 0;
    for (int i = 0; rc == EZ_DB_OK && i < *n; i++) {
        const char *id = PQgetvalue(res, i, 0), *stored = PQgetvalue(res, i, 1);
        *last = strtoll(id, NULL, 10);
        if (ez_secret_is_current(cfg, stored)) {
            out->current++;
            continue;
        }
        char *clear = ez_secret_open(cfg, stored);
        if (!clear) {
            out->unreadable++;
            log_warn("rekey: api key %s opens with neither secrets_key nor secrets_key_previous; "
                     "left as it is", id);
            continue;
        }
        char *sealed = ez_secret_seal(cfg, clear);
        OPENSSL_cleanse(clear, strlen(clear));
        free(clear);
        if (!sealed) {
            rc = EZ_DB_ERROR;
            break;
        }
        /* only if nobody changed the row since it was read */
        const char *u[] = { sealed, id, stored };
        PGresult *ur = NULL;
        rc = ez_db_exec(db, &ur, "UPDATE api_keys SET api_key = $1 WHERE id = $2::bigint "
                                 "AND api_key = $3", 3, u);
        if (rc == EZ_DB_OK)
            resealed += atoi(PQcmdTuples(ur));
        PQclear(ur);
        free(sealed);
    }
    PQclear(res);
    rc = ez_db_end(db, rc, 1);
    if (rc == EZ_DB_OK)
        out->resealed += resealed;
    return rc == EZ_DB_UNKNOWN ? EZ_DB_UNAVAILABLE : rc;
}

/* Counts the rows not on the current key now. */
static int count_left(struct ez_db *db, const struct ez_config *cfg, int batch, long long *left)
{
    long long last = 0;
    int n;
    *left = 0;
    do {
        char after[24], limit[16];
        snprintf(after, sizeof after, "%lld", last);
        snprintf(limit, sizeof limit, "%d", batch);
        const char *p[] = { after, limit };
        PGresult *res = NULL;
        int rc = ez_db_exec(db, &res, "SELECT id, api_key FROM api_keys WHERE id > $1::bigint "
                                      "ORDER BY id LIMIT $2::int", 2, p);
        if (rc != EZ_DB_OK) {
            PQclear(res);
            return rc;
        }
        n = PQntuples(res);
        for (int i = 0; i < n; i++) {
            last = strtoll(PQgetvalue(res, i, 0), NULL, 10);
            *left += !ez_secret_is_current(cfg, PQgetvalue(res, i, 1));
        }
        PQclear(res);
    } while (n == batch);
    return EZ_DB_OK;
}

int ez_rekey(struct ez_db *db, const struct ez_config *cfg, int batch, struct ez_rekey_report *out)
{
    memset(out, 0, sizeof *out);
    long long last = 0;
    int n, rc;
    do {
        rc = one_batch(db, cfg, batch, &last, &n, out);
        if (rc != EZ_DB_OK)
            return rc;
    } while (n == batch);
    return count_left(db, cfg, batch, &out->left);
}
