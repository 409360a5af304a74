/* The HTTP core of a worker: one struct ez_req per request, the dispatch
 * pipeline (request id, routing, authentication, content type, JSON body)
 * and the reply helpers that every handler uses. Handlers never call
 * evhttp directly. */
#ifndef EZ_HTTP_H
#define EZ_HTTP_H

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdint.h>

#include "outcome.h"

#define EZ_MAX_PARAMS 4

enum ez_actor { EZ_ACTOR_ANONYMOUS = 0, EZ_ACTOR_ADMIN, EZ_ACTOR_MASTER };

struct ez_principal {
    enum ez_actor kind;
    char sub[129];     /* admin: JWT sub; master: master id in decimal */
    int viewer;        /* admin role viewer: read-only */
    int64_t master_id; /* master: its id */
};

struct ez_route;

struct ez_req {
    struct evhttp_request *ev;
    char request_id[129];
    const char *method;                 /* "GET", "POST", ... */
    char *path;                         /* raw path, without the query */
    struct evkeyvalq query;             /* decoded query parameters */
    const struct ez_route *route;
    char *params[EZ_MAX_PARAMS];        /* decoded {placeholders}, in order */
    int nparams;
    json_t *body;                       /* the JSON object sent, NULL if no body */
    struct ez_principal who;
    char remote[64];
    int64_t start_us;
    int status;                         /* 0 until answered */
    /* The write's COMMIT has an unknown outcome (ez_reply_outcome): a success
     * answer becomes 503 commit_outcome_unknown, the audit record says so,
     * xid names the transaction. */
    int commit_unknown;
    long long xid;
    /* Audit: set by a handler that changed something (section 8). */
    const char *audit_action;           /* e.g. "namespace.create" */
    const char *audit_resource;
    char audit_resource_id[64];
    json_t *audit_before;               /* owned; secrets already redacted */
    json_t *audit_after;                /* owned; secrets already redacted */
};

typedef void (*ez_handler)(struct ez_req *r);

/* The evhttp generic callback: runs the whole pipeline for one request. */
void ez_http_dispatch(struct evhttp_request *ev, void *arg);

/* Replies. Each answers the request exactly once; `body` is stolen (NULL =
 * no body, e.g. 204). */
void ez_reply_json(struct ez_req *r, int status, json_t *body);
/* A non-JSON answer (e.g. the metrics text); data is copied. */
void ez_reply_text(struct ez_req *r, int status, const char *content_type, const char *data,
                   size_t len);
void ez_reply_error(struct ez_req *r, int status, const char *type, const char *code,
                    const char *param, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* 400 invalid_request_error naming the field. */
void ez_reply_invalid(struct ez_req *r, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ez_reply_not_found(struct ez_req *r, const char *what);
/* 503 unavailable_error (EZ_DB_UNAVAILABLE; code commit_outcome_unknown
 * for EZ_DB_UNKNOWN) or 500 api_error (EZ_DB_ERROR). */
void ez_reply_db(struct ez_req *r, int db_rc);
/* The one answer to an outcome (outcome.h), a validator's or a store's:
 * a database failure is answered (ez_reply_db), then a refusal (its status,
 * the type that goes with it, code, param and message; EZ_NOT_FOUND says
 * "<what> not found"). 1 when the handler goes on with its jobs and its
 * success answer: the request was valid and its write, if any, may have
 * committed. With EZ_DB_UNKNOWN (the connection was lost during COMMIT) the
 * handler goes on as after a commit: the sync job re-reads the rows, so it
 * does no harm if nothing committed; the success answer becomes 503
 * commit_outcome_unknown and the audit record keeps the transaction id. */
int ez_reply_outcome(struct ez_req *r, const struct ez_outcome *o, const char *what)
    __attribute__((warn_unused_result));
/* The answer to a fetch of one row: ez_reply_db on a database error, 404
 * naming `what` when row is NULL, else 200 with row (stolen). */
void ez_reply_found(struct ez_req *r, int db_rc, json_t *row, const char *what);
struct ez_db;
/* The same for a row kept as the JSON text PostgreSQL built (stolen). */
void ez_reply_found_text(struct ez_req *r, int db_rc, char *row, const char *what);
/* GET of one row by the id in path parameter 0: 400 for a bad id, else
 * ez_reply_found_text with what fetch returned. */
typedef int ez_row_by_id_fn(struct ez_db *db, int64_t id, char **json_text);
void ez_reply_row_by_id(struct ez_req *r, struct ez_db *db, ez_row_by_id_fn *fetch,
                        const char *what);

/* The body of every JSON error answer, {"error": {type, code, message,
 * param, request_id}} (code NULL = type, param NULL = null). Pure: the
 * reply helpers send it, the fuzz targets check it. A message that is not
 * valid UTF-8 becomes "invalid request" rather than no answer. */
json_t *ez_error_doc(const char *type, const char *code, const char *param, const char *msg,
                     const char *request_id);
/* The body ez_reply_outcome answers for a refusal other than EZ_NOT_FOUND. */
json_t *ez_refusal_doc(const struct ez_verr *e, const char *request_id);

/* A query parameter, or NULL. */
const char *ez_query(struct ez_req *r, const char *name);
/* Parses path parameter i as an id (ez_parse_id); on failure answers 400
 * (param "id") and returns -1. */
int ez_param_id(struct ez_req *r, int i, int64_t *out) __attribute__((warn_unused_result));
/* An id written canonically: 1 to 19 decimal digits, no sign, no leading
 * zero, from 1 to INT64_MAX. 0, or -1 leaving *out alone. */
int ez_parse_id(const char *s, int64_t *out) __attribute__((warn_unused_result));
/* Parses a query string strictly into out: every '&'-separated component
 * is name=value with a non-empty name, '%' is followed by two hex digits,
 * '+' is a space, no name comes twice and no decoded name or value holds a
 * control character (NUL included). 0, or -1 with out cleared and the
 * offending name in bad ("" when it cannot be named). */
int ez_query_parse(const char *qs, struct evkeyvalq *out, char *bad, size_t badlen)
    __attribute__((warn_unused_result));
/* Marks the request as changing `resource` for the audit record; before and
 * after are stolen (may be NULL). */
void ez_audit(struct ez_req *r, const char *action, const char *resource, const char *id,
              json_t *before, json_t *after);

/* Request ids: a valid client id is 1..128 of [A-Za-z0-9._-]. */
int ez_request_id_valid(const char *id);
void ez_request_id_new(char out[33]);

#endif
