/* The PostgreSQL side of the tenants projection: loaders of the rows that
 * projection_auth.h turns into auth:token and auth:master hashes
 * (parameterised SQL, cursors for streaming) and the database
 * clock the grace TTLs are computed against. Used by the syncer (apply,
 * full resync) and by workers (verify). */
#ifndef EZ_STORE_AUTH_H
#define EZ_STORE_AUTH_H

#include <libpq-fe.h>
#include <stdint.h>

#include "db.h"
#include "projection_auth.h"

/* Row sets: the structs borrow from what is kept here; free with
 * ez_*_rows_free (safe on a zeroed or already freed set). */
struct ez_token_rows {
    PGresult *res;
    json_t *lists; /* owns the parsed list (text[]) columns */
    struct ez_token_row *v;
    int n;
};

struct ez_master_rows {
    PGresult *res;
    json_t *lists;
    struct ez_master_row *v;
    int n;
};

void ez_token_rows_free(struct ez_token_rows *t);
void ez_master_rows_free(struct ez_master_rows *m);

/* Every secret (current and in grace, usable or not) of one key.
 * EZ_DB_* status; the set may be empty. */
int ez_store_tokens_of_key(struct ez_db *db, int64_t key_id, struct ez_token_rows *out)
    __attribute__((warn_unused_result));
/* The same for a page of one master's keys: the secrets of its next
 * `limit` keys (by id) after key id `after`; *last gets the page's last
 * key id, 0 when no key is left (the set may be empty even when not: a
 * key may have no secret left). */
int ez_store_tokens_of_master_page(struct ez_db *db, int64_t master_id, int64_t after, int limit,
                                   struct ez_token_rows *out, int64_t *last)
    __attribute__((warn_unused_result));
/* ez_store_tokens_of_key's statement, for a caller that sends it itself
 * (in a pipeline) with the key id as $1; ez_store_tokens_from then takes
 * its result (freed with the set, or at once on failure). */
extern const char ez_store_tokens_of_key_sql[];
int ez_store_tokens_from(PGresult *res, struct ez_token_rows *out)
    __attribute__((warn_unused_result));
/* The secrets among these digests / the masters among these ids that
 * still have a row (full resync and verify find stale Redis keys with
 * them, a batch at a time). */
int ez_store_tokens_by_digests(struct ez_db *db, const char *const *digests, int n,
                             struct ez_token_rows *out) __attribute__((warn_unused_result));
int ez_store_masters_by_ids(struct ez_db *db, const int64_t *ids, int n, struct ez_master_rows *out)
    __attribute__((warn_unused_result));
/* Streaming, inside a transaction: every secret (usable or not) ordered
 * by key id then digest / every master ordered by id, read through a
 * cursor batch rows at a time. fn(arg, rows) gets each non-empty batch
 * (freed when it returns) and returns 0 to go on; anything else stops the
 * walk and is returned. Otherwise EZ_DB_* status. */
int ez_store_tokens_each(struct ez_db *db, int batch,
                       int (*fn)(void *arg, const struct ez_token_rows *rows), void *arg)
    __attribute__((warn_unused_result));
int ez_store_masters_each(struct ez_db *db, int batch,
                        int (*fn)(void *arg, const struct ez_master_rows *rows), void *arg)
    __attribute__((warn_unused_result));
/* PostgreSQL's clock (clock_timestamp()) in unix microseconds: the clock
 * grace periods were set with. */
int ez_store_clock_us(struct ez_db *db, int64_t *now_us) __attribute__((warn_unused_result));

#endif
