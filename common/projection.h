/* The projection: the one pure mapping from PostgreSQL rows to the Redis
 * keys, fields and values of the data-plane contract (docs/redis.md). The
 * syncer writes with it, full resync rebuilds with it, and the workers use
 * it to verify and to explain routes. Nothing here talks to Redis or
 * PostgreSQL (the row loaders are in store_projection.h); the clock is a
 * parameter, so every function is deterministic. */
#ifndef EZ_PROJECTION_H
#define EZ_PROJECTION_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "db.h"

/* ---- Rows, as the loaders hand them over (strings are borrowed) ------ */

struct ez_group_row {
    int64_t id;
    const char *name;
    const char *type;
    const char *base_url;        /* NULL = not set, projected as "" */
    const char *google_project;  /* NULL = "" */
    const char *google_location; /* NULL = "" */
    const char *const *models;
    int nmodels;
    const char *status;          /* active | disabled */
    int64_t updated_at;          /* unix seconds */
};

struct ez_api_key_row {
    int64_t id;
    int64_t group_id;
    const char *api_key;    /* the credential in clear; NULL when not loaded */
    int weight;
    const char *status;     /* active | auto_disabled | manual_disabled */
    int auto_ban;
    const char *ban_reason; /* NULL = "" */
    int64_t ban_until;      /* unix seconds, 0 = never banned */
    int64_t updated_at;
};

struct ez_binding_row {
    int64_t id;
    const char *ns;
    const char *public_model;
    int64_t group_id;
    int weight;
    const char *selector_type;
    const char *selector_value;
    const char *status;     /* active | disabled */
    int64_t updated_at;
};

/* A tri-state flag of the model registry. */
enum { EZ_FLAG_UNSET = -1 };

struct ez_model_row {
    const char *name;
    const char *kind;            /* NULL or "" = not set */
    int64_t context_window;      /* 0 = not set */
    int64_t max_output_tokens;   /* 0 = not set */
    int has_cost;
    double cost_per_token;
    int supports_vision;         /* 0, 1 or EZ_FLAG_UNSET */
    int supports_functions;
    int supports_tool_choice;
    int supports_fim;
    int supports_stream;
    int64_t updated_at;
};

/* One candidate of a binding snapshot: the binding row, its group (NULL if
 * the group is gone) and every key of that group. */
struct ez_candidate_rows {
    const struct ez_binding_row *b;
    const struct ez_group_row *g;
    const struct ez_api_key_row *keys;
    int nkeys;
};

/* ---- Key names (without redis_key_prefix) ---------------------------- */

#define EZ_KEY_NAMESPACES "config:namespaces"
#define EZ_KEY_PROVIDERS "config:providers"
#define EZ_KEY_BINDINGS "config:bindings"
#define EZ_KEY_ROUTE_PREFIX "route:group:"
#define EZ_KEY_MODELS "meta:models"
#define EZ_KEY_MODELS_META "meta:models_meta"
#define EZ_KEY_FEATURES "meta:features"
#define EZ_KEY_SYNC "meta:sync"
#define EZ_CHANNEL_REFRESH "dp:config:refresh"

/* ---- Pure functions --------------------------------------------------- */

/* Resolves a selector over a group's model list with the data plane's
 * rules (selector.h; the candidates use ez_sel_resolve itself, which also
 * trims the name picked and falls back to the public model). 0 with
 * *upstream pointing into models, or -1. */
int ez_projection_resolve(const char *selector_type, const char *selector_value,
                  const char *const *models, int nmodels, const char **upstream);

/* 1 when the key may receive traffic at time now: group and key active,
 * weight > 0, ban_until not after now. */
int ez_projection_routable(const struct ez_group_row *g, const struct ez_api_key_row *k, int64_t now);

/* {"name","status"} of config:namespaces. New reference, NULL on OOM. */
json_t *ez_projection_namespace_json(const char *name, const char *status);
/* The provider snapshot of config:providers (field order of docs/redis.md). */
json_t *ez_projection_provider_json(const struct ez_group_row *g, const struct ez_api_key_row *k);
/* One candidate of a binding snapshot; *updated_at is raised to the newest
 * updated_at of the binding, its group and the group's keys. */
json_t *ez_projection_candidate_json(const struct ez_candidate_rows *c, int64_t now, int64_t *updated_at);
/* The binding snapshot of config:bindings for the rows of one namespace
 * and public model (n >= 1, all with the same ns and public_model). */
json_t *ez_projection_binding_json(const struct ez_candidate_rows *c, int n, int64_t now);
/* The capability JSON of meta:models. */
json_t *ez_projection_model_json(const struct ez_model_row *m);

/* Field names: "<ns>.<public_model>" and "<api key id>". malloc'd. */
char *ez_projection_binding_field(const char *ns, const char *public_model);

/* The text every value is stored as: compact, fields in insertion order,
 * reals in their shortest exact form. malloc'd, NULL on OOM. */
char *ez_projection_dump(const json_t *v);

/* meta:models_meta.checksum: SHA-256 over "<field>\n<json>\n" for every
 * field of meta:models in ascending byte order (the caller feeds them in
 * that order). */
struct ez_models_checksum {
    void *md; /* EVP_MD_CTX */
    int64_t updated_at;
    long long fields;
};
int ez_models_checksum_init(struct ez_models_checksum *s) __attribute__((warn_unused_result));
int ez_models_checksum_add(struct ez_models_checksum *s, const char *field, const char *json)
    __attribute__((warn_unused_result));
/* Writes 64 lowercase hex digits and frees the state (also on failure). */
int ez_models_checksum_final(struct ez_models_checksum *s, char hex[65])
    __attribute__((warn_unused_result));
void ez_models_checksum_abort(struct ez_models_checksum *s);

/* ---- The write set of one scope --------------------------------------
 * What a scope owns (whole hashes, or single fields of shared hashes) and
 * what it produces. Writing it = for an owned hash: DEL then HSET of its
 * produced fields; for an owned field: HSET when produced, else HDEL. A
 * verify compares Redis with the same set. Keys carry no prefix. */

struct ez_write_entry {
    char *key;
    char *field; /* owns: NULL = the whole hash */
    char *value; /* puts only */
};

struct ez_write_set {
    struct ez_write_entry *own;
    size_t nown, capown;
    struct ez_write_entry *put;
    size_t nput, capput;
    int sorted;
};

void ez_write_set_init(struct ez_write_set *s);
void ez_write_set_clear(struct ez_write_set *s);
/* field NULL: the whole hash. 0, or -1 on OOM. */
int ez_write_set_own(struct ez_write_set *s, const char *key, const char *field)
    __attribute__((warn_unused_result));
/* Copies key and field; takes ownership of value (freed even on failure).
 * The key or field must also be owned. */
int ez_write_set_put(struct ez_write_set *s, const char *key, const char *field, char *value)
    __attribute__((warn_unused_result));
/* ez_write_set_put of ez_projection_dump(v); v is released. */
int ez_write_set_put_json(struct ez_write_set *s, const char *key, const char *field, json_t *v)
    __attribute__((warn_unused_result));
/* Sorts both lists by (key, field) and drops duplicates (the last put of a
 * field wins). Idempotent. */
void ez_write_set_finish(struct ez_write_set *s);
/* After finish: the produced value of (key, field), or NULL. */
const char *ez_write_set_get(const struct ez_write_set *s, const char *key, const char *field);

/* ---- Loader-backed helper (store_projection.c) ----------------------- */

/* Loads binding `binding_id` with its group and keys and returns its
 * candidate in the binding-snapshot form of docs/redis.md (group_id,
 * route_group, weight, selector_type, selector_value, status, error when
 * set, upstreams). EZ_DB_* status; *out NULL when the binding is missing. */
int ez_projection_binding_candidate(struct ez_db *db, const struct ez_config *cfg, int64_t binding_id,
                            json_t **out) __attribute__((warn_unused_result));
/* The same for n bindings at once, in three queries whatever n: *out is an
 * array of n entries in the order of ids, null for a missing binding. */
int ez_projection_binding_candidates(struct ez_db *db, const int64_t *ids, int n, json_t **out)
    __attribute__((warn_unused_result));

#endif
