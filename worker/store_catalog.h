/* SQL of the catalog: models, the model registry view, bindings and
 * features. Reads return an EZ_DB_* status, writes fill a struct
 * ez_outcome; objects are the API's JSON shape, built by PostgreSQL.
 * Validation happens before these calls (validate_catalog.c); here only
 * what needs rows is decided. */
#ifndef EZ_STORE_CATALOG_H
#define EZ_STORE_CATALOG_H

#include <jansson.h>
#include <stdint.h>

#include "db.h"
#include "outcome.h"
#include "paging.h"

/* The five nullable supports_* flags of a model, in column order. */
enum { EZ_FLAG_VISION, EZ_FLAG_FUNCTIONS, EZ_FLAG_TOOL_CHOICE, EZ_FLAG_FIM, EZ_FLAG_STREAM,
       EZ_NFLAGS };
extern const char *const ez_model_flag_names[EZ_NFLAGS];

/* A field that may be set, cleared (JSON null) or left alone. */
struct ez_opt {
    int given;    /* present in the body */
    int is_null;  /* given as null: clear */
    double num;   /* cost_per_token */
    int flag;     /* supports_* */
};

struct ez_model_in {
    const char *name;               /* NULL = unchanged */
    const char *kind;               /* normalised (static string); NULL = unchanged */
    long long context_window;
    int has_context_window;
    long long max_output_tokens;
    int has_max_output_tokens;
    struct ez_opt cost;             /* cost_per_token */
    struct ez_opt flags[EZ_NFLAGS];
};

struct ez_binding_in {
    const char *ns;                 /* NULL = unchanged */
    const char *public_model;       /* NULL = unchanged */
    int64_t group_id;               /* 0 = unchanged */
    long long weight;
    int has_weight;
    const char *selector_type;      /* NULL = unchanged */
    const char *selector_value;     /* NULL = unchanged; set by the check */
    int default_selector_value;     /* given as null or "": the public model */
    const char *status;             /* NULL = unchanged */
};

/* Completes a binding update against the locked current row (`current`,
 * the API object): fills in->selector_value and checks the merged row.
 * 0, or -1 with e set. */
typedef int (*ez_binding_check)(const json_t *current, struct ez_binding_in *in,
                                struct ez_verr *e);

/* Models. Refused: 409 name_taken. */
void ez_store_model_create(struct ez_db *db, const struct ez_model_in *in, json_t **out,
                           struct ez_outcome *o);
int ez_store_model_list(struct ez_db *db, const struct ez_page *pg, const char *name,
                     json_t **rows) __attribute__((warn_unused_result));
/* The row as PostgreSQL's JSON text (malloc'd), *out NULL when missing. */
int ez_store_model_get(struct ez_db *db, int64_t id, char **out)
    __attribute__((warn_unused_result));
/* before and after are set when done. Refused: not found, 409 name_taken. */
void ez_store_model_update(struct ez_db *db, int64_t id, const struct ez_model_in *in,
                           json_t **before, json_t **after, struct ez_outcome *o);
/* Refused: not found. */
void ez_store_model_delete(struct ez_db *db, int64_t id, json_t **before, struct ez_outcome *o);
/* The model names offered by an active group with an active key, with the
 * groups, keys and registry capabilities of each (see docs/catalog.md). */
int ez_store_model_registry(struct ez_db *db, json_t **rows) __attribute__((warn_unused_result));

/* Bindings. `in` is complete (defaults filled, selector checked).
 * Refused: 422 when the namespace or group_id names no row, 409
 * binding_exists. */
void ez_store_binding_create(struct ez_db *db, const struct ez_binding_in *in, json_t **out,
                             struct ez_outcome *o);
/* ns NULL = any; group_id 0 = any. */
int ez_store_binding_list(struct ez_db *db, const struct ez_page *pg, const char *ns,
                       int64_t group_id, json_t **rows) __attribute__((warn_unused_result));
/* As ez_store_model_get. */
int ez_store_binding_get(struct ez_db *db, int64_t id, char **out)
    __attribute__((warn_unused_result));
/* Locks the row, runs check(current, in), then writes. before and after
 * are set when done. Refused: not found, check's refusal, or as create. */
void ez_store_binding_update(struct ez_db *db, int64_t id, struct ez_binding_in *in,
                             ez_binding_check check, json_t **before, json_t **after,
                             struct ez_outcome *o);
/* Refused: not found. */
void ez_store_binding_delete(struct ez_db *db, int64_t id, json_t **before,
                             struct ez_outcome *o);

/* Features: the whole map {"name": "value"}. */
int ez_store_features_get(struct ez_db *db, json_t **map) __attribute__((warn_unused_result));
/* Upserts every name of `set` (object name -> string) and deletes every name
 * of `del` (array of names), in one transaction serialised against other
 * feature writes; before and after are the whole maps. */
void ez_store_features_put(struct ez_db *db, json_t *set, json_t *del, json_t **before,
                           json_t **after, struct ez_outcome *o);

#endif
