/* SQL of the tenants resources: masters, their master keys, child keys and
 * their secrets' digests. Reads return an EZ_DB_* status; writes fill a
 * struct ez_outcome (with EZ_DB_UNKNOWN their objects are filled as if
 * they had committed). Objects are the API's JSON shape, built by
 * PostgreSQL. Secrets never come here: only their digests and display
 * prefixes. Writes are one transaction each, and every write that concerns
 * a master or one of its keys locks the master's row first (so issuance is
 * serialised per master and the lock order is always master, then key). */
#ifndef EZ_STORE_TENANTS_H
#define EZ_STORE_TENANTS_H

#include <jansson.h>
#include <stdint.h>

#include "db.h"
#include "outcome.h"
#include "paging.h"

/* A master create or update, or an access change. NULL / 0 = absent. */
struct ez_master_in {
    const char *name;
    const char *group;
    const char *status;
    long long max_child_keys;
    int has_max_child_keys;
    long long global_qps;
    int has_global_qps;
    json_t *namespaces;            /* array of names (borrowed) */
    const char *default_namespace; /* "" or JSON null clears */
    int clear_default_namespace;
    const char *propagate;         /* access: none | restrict | all */
};

/* A child key issue or update. NULL / 0 = absent. */
struct ez_child_key_in {
    const char *name;
    const char *status; /* update: active | suspended */
    json_t *namespaces; /* arrays are borrowed */
    const char *default_namespace;
    int clear_default_namespace;
    json_t *model_limits;
    int clear_model_limits;
    json_t *allow_ips;
    int clear_allow_ips;
    const char *expires_at; /* RFC 3339, already checked */
    int clear_expires_at;
};

/* The credential facts master authentication needs. */
struct ez_master_auth {
    int64_t id;
    int active;                /* status = active */
    int64_t key_generation;
    char key_digest[65];       /* "" when the master has no key */
};

/* Refused: 422 (namespaces), 409 name_taken. */
void ez_store_master_create(struct ez_db *db, const struct ez_master_in *in, const char *digest,
                            const char *prefix, json_t **out, struct ez_outcome *o);
int ez_store_master_list(struct ez_db *db, const struct ez_page *p, const char *status,
                      json_t **rows);
/* The row as PostgreSQL's JSON text (malloc'd), *out NULL when missing. */
int ez_store_master_get(struct ez_db *db, int64_t id, char **out);
/* Whether master id exists, without counting its keys (what a page of
 * its keys checks first: the count reads every one of them). */
int ez_store_master_exists(struct ez_db *db, int64_t id, int *found);
/* *keys_changed = 1 when the master's keys were rewritten too (group).
 * Refused: not found, 422 (namespaces), 409 name_taken. */
void ez_store_master_update(struct ez_db *db, int64_t id, const struct ez_master_in *in,
                            json_t **before, json_t **after, int *keys_changed,
                            struct ez_outcome *o);
/* Access with propagation to the keys; *keys_changed and refusals as above. */
void ez_store_master_access(struct ez_db *db, int64_t id, const struct ez_master_in *in,
                            json_t **before, json_t **after, int *keys_changed,
                            struct ez_outcome *o);
/* Deletes the master and (cascade) its keys; *digests = every digest its
 * keys had, for the syncer to delete. Refused: not found. */
void ez_store_master_delete(struct ez_db *db, int64_t id, json_t **before, json_t **digests,
                            struct ez_outcome *o);
/* New master key (digest, prefix), key_generation + 1. Refused: not found. */
void ez_store_master_rotate_key(struct ez_db *db, int64_t id, const char *digest,
                                const char *prefix, json_t **before, json_t **after,
                                struct ez_outcome *o);
/* epoch + 1. Refused: not found. */
void ez_store_master_revoke_keys(struct ez_db *db, int64_t id, json_t **before, json_t **after,
                                 struct ez_outcome *o);
/* *found = 0 when no master has this key digest / id. */
int ez_store_master_auth_by_digest(struct ez_db *db, const char *digest,
                                struct ez_master_auth *out, int *found);
int ez_store_master_auth_by_id(struct ez_db *db, int64_t id, struct ez_master_auth *out,
                            int *found);

/* issued_by: master | admin. Refused: the master not found, 409
 * child_key_limit, 422 (namespaces). */
void ez_store_child_key_issue(struct ez_db *db, int64_t master_id,
                              const struct ez_child_key_in *in, const char *issued_by,
                              const char *digest, const char *prefix, json_t **out,
                              struct ez_outcome *o);
int ez_store_child_key_list(struct ez_db *db, int64_t master_id, const struct ez_page *p,
                   const char *status, json_t **rows);
/* master_id 0 = any master (admin); otherwise the key must be its, or it is
 * not found. */
int ez_store_child_key_get(struct ez_db *db, int64_t key_id, int64_t master_id, json_t **out);
/* Refused: not found, 409 key_revoked or child_key_limit (made active
 * again), 422 (namespaces). */
void ez_store_child_key_update(struct ez_db *db, int64_t key_id, int64_t master_id,
                               const struct ez_child_key_in *in, json_t **before,
                               json_t **after, struct ez_outcome *o);
/* Status revoked. Idempotent. The key's digests stay, so that the sync
 * job can find the hashes to delete; the syncer removes the rows after.
 * Refused: not found. */
void ez_store_child_key_revoke(struct ez_db *db, int64_t key_id, int64_t master_id,
                               json_t **before, json_t **after, struct ez_outcome *o);
/* New current digest; the old one stays valid for grace_s seconds (0 =
 * no longer valid at once; its row stays until the syncer has deleted its
 * hash). Refused: not found, 409 key_revoked. */
void ez_store_child_key_rotate(struct ez_db *db, int64_t key_id, int64_t master_id,
                               long long grace_s, const char *digest, const char *prefix,
                               json_t **after, struct ez_outcome *o);

#endif
