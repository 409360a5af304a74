/* masters.legacy_key -> key_digest + key_prefix, then legacy_key = NULL,
 * and a sync job for the master through the outbox. The plaintext is never
 * logged; a row is named by its id only. */
#include "legacy.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "db.h"
#include "digest.h"
#include "log.h"
#include "outbox.h"

static int upgrade_row(struct ez_db *db, const char *id, const char *plain)
{
    char digest[EZ_DIGEST_HEX_LEN + 1], prefix[EZ_TOKEN_DISPLAY_LEN + 1];
    if (ez_sha256_hex(plain, strlen(plain), digest) != 0) {
        log_error("legacy master key of master %s: cannot compute its digest", id);
        return -1;
    }
    ez_token_display(plain, prefix);
    const char *p[] = { id, digest, prefix };
    PGresult *res;
    /* The digest replaces the plaintext only if no digest was set since;
     * a row that already has one just loses its plaintext. */
    int rc = ez_db_exec(db, &res,
                        "UPDATE masters SET key_digest = coalesce(key_digest, $2), "
                        "key_prefix = CASE WHEN key_digest IS NULL THEN $3 ELSE key_prefix END, "
                        "legacy_key = NULL WHERE id = $1 AND legacy_key IS NOT NULL", 3, p);
    if (rc == EZ_DB_ERROR && strcmp(ez_db_sqlstate(res), "23505") == 0)
        log_error("legacy master key of master %s is also another master's key: left as is; "
                  "rotate it with POST /admin/masters/%s/rotate-key", id, id);
    int changed = rc == EZ_DB_OK && strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    /* No syncer runs yet: its outbox projects the master and its keys as
     * soon as it starts (a full resync would do it too). */
    if (changed &&
        ez_outbox_add(db, "masters", "upsert", strtoll(id, NULL, 10),
                      "{\"keys\":\"all\",\"op\":\"upsert\"}", 0, 0,
                      "legacy master key upgraded at start") != EZ_DB_OK)
        log_warn("master %s: could not queue its projection; the next full resync does it", id);
    OPENSSL_cleanse(digest, sizeof digest);
    return rc == EZ_DB_UNAVAILABLE ? -1 : 0;
}

int ez_legacy_upgrade_masters(const struct ez_config *cfg)
{
    struct ez_db *db = ez_db_new(cfg->pg_dsn, cfg->pg_statement_timeout, "ezapi-legacy");
    if (!db)
        return -1;
    PGresult *res;
    int rc = ez_db_exec(db, &res,
                        "SELECT id, legacy_key FROM masters WHERE legacy_key IS NOT NULL "
                        "ORDER BY id", 0, NULL);
    int n = rc == EZ_DB_OK ? PQntuples(res) : 0, failed = rc != EZ_DB_OK;
    for (int i = 0; i < n && !failed; i++)
        failed = upgrade_row(db, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1)) != 0;
    if (n > 0 && !failed)
        log_info("replaced %d legacy master key(s) by their digests", n);
    if (res) {
        for (int i = 0; i < n; i++) {
            char *v = PQgetvalue(res, i, 1);
            OPENSSL_cleanse(v, strlen(v));
        }
        PQclear(res);
    }
    ez_db_free(db);
    if (failed)
        log_error("upgrading legacy master keys failed: PostgreSQL unavailable");
    return failed ? -1 : 0;
}
