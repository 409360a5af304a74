/* Route explain: how a data plane reading the current Redis state would
 * treat a child token and a model (docs/explain.md, docs/redis.md). Pure:
 * the Redis values come in already read (store_explain.c reads them), the
 * clock is a parameter, nothing here does I/O or sees a token's secret. */
#ifndef EZ_EXPLAIN_H
#define EZ_EXPLAIN_H

#include <jansson.h>
#include <stdint.h>

/* What was read from Redis for one request. Every json_t is owned. */
struct ez_explain_state {
    const char *model;   /* as requested (borrowed) */
    int64_t now;         /* unix seconds */
    int64_t key_id;      /* asked by key_id: that id, else 0 */
    int64_t master_id;   /* asked by key_id: its master (PostgreSQL), else 0 */
    const char *missing; /* reason when no token hash is read: "unknown_token", "key_revoked" */
    json_t *token;       /* auth:token:<digest> as an object of strings; NULL = absent */
    json_t *master;      /* auth:master:<master_id>; NULL = absent */
    json_t *namespaces;  /* config:namespaces: name -> status (string) */
    json_t *binding;     /* the binding snapshot of config:bindings; NULL = no field */
    json_t *providers;   /* api key id -> provider snapshot, for the candidates' groups */
    json_t *routes;      /* group name -> route:group hash (key id -> weight) */
    json_t *warnings;    /* array of strings: inconsistencies met on the way */
};

/* Namespace resolution of a model for a token. */
struct ez_explain_ns {
    char *ns;           /* malloc'd; NULL when unresolved */
    char *public_model; /* malloc'd; NULL when unresolved */
    const char *error;  /* static reason, or NULL */
};

/* 0 on success (also when the result carries an error reason), -1 on OOM.
 * A model "<ns>.<rest>" whose prefix is one of the token's namespaces
 * resolves to that namespace and <rest>; otherwise the token's
 * default_namespace (else its first namespace) and the whole model. */
int ez_explain_namespace(json_t *token, json_t *namespaces, const char *model,
                         struct ez_explain_ns *out) __attribute__((warn_unused_result));
void ez_explain_ns_clear(struct ez_explain_ns *ns);

/* Adds a warning (printf-style) to st->warnings. */
void ez_explain_warn(struct ez_explain_state *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The answer of POST /admin/route/explain; inconsistencies found while
 * cross-checking go to st->warnings first. New reference, NULL on OOM. */
json_t *ez_explain_answer(struct ez_explain_state *st, const struct ez_explain_ns *ns);

/* Releases what the state owns and resets it (model, now and the key
 * fields are kept). */
void ez_explain_state_clear(struct ez_explain_state *st);


#endif
