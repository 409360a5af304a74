/* How a validator or a store write ends, in one shape for every resource:
 * the EZ_DB_* status of the write's transaction and, when the request was
 * refused, what the API answers (status, code, param, message). The reply
 * helper ez_reply_outcome (http.h) turns it into HTTP; nothing here replies. */
#ifndef EZ_OUTCOME_H
#define EZ_OUTCOME_H

#include "db.h"

#include <stdarg.h>

/* What a request came to. A refusal's value is the HTTP status it gets. */
enum ez_result {
    EZ_DONE = 0,        /* valid; or written (committed, or EZ_DB_UNKNOWN) */
    EZ_INVALID = 400,   /* a field, or a rule between fields */
    EZ_NOT_FOUND = 404, /* the row the request names does not exist */
    EZ_CONFLICT = 409,  /* other rows forbid it: a name taken, a row in use, a limit */
    EZ_RULE = 422,      /* the request names rows that do not allow it */
    EZ_FAILED = 500     /* the server could not do it (not the database) */
};

/* Why a request changes nothing. Validators fill one (ez_v_fail); stores
 * do once they have read the rows. */
struct ez_verr {
    enum ez_result status;
    const char *code;  /* static; NULL: invalid_value (400), not_found (404),
                        * invalid_reference (422), api_error (500) */
    const char *param; /* the field (static), or NULL */
    char msg[1024];    /* unused for EZ_NOT_FOUND: the handler names what */
};

/* A store write: its transaction's status and, when it was refused (and
 * rolled back), why. Zeroed, it says "valid, nothing run yet". */
struct ez_outcome {
    int db; /* EZ_DB_* */
    struct ez_verr e;
};

/* Fill e and return -1, so that a check can `return ez_refuse(...)`.
 * ez_not_found leaves the wording to the handler ("<what> not found"). */
int ez_refuse(struct ez_verr *e, enum ez_result status, const char *code, const char *param,
              const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int ez_not_found(struct ez_verr *e);
int ez_vrefuse(struct ez_verr *e, enum ez_result status, const char *code, const char *param,
               const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

/* A store write's transaction: ez_outcome_begin marks o done and runs
 * BEGIN; ez_outcome_end runs COMMIT when rc is EZ_DB_OK and o holds no
 * refusal, else ROLLBACK, and sets o->db (ez_db_end). 1 when the write is
 * done and may have committed, so its objects stand; 0 when the caller
 * drops them. */
int ez_outcome_begin(struct ez_db *db, struct ez_outcome *o) __attribute__((warn_unused_result));
int ez_outcome_end(struct ez_db *db, int rc, struct ez_outcome *o)
    __attribute__((warn_unused_result));
/* Releases and NULLs the objects of a write that is not done (a, b or c
 * may be NULL). */
void ez_outcome_drop(json_t **a, json_t **b, json_t **c);
/* One write statement in a transaction of its own (ez_db_write_row): o is
 * EZ_NOT_FOUND when the statement gave no row. */
void ez_outcome_row(struct ez_db *db, struct ez_outcome *o, json_t **out, const char *sql,
                    int nparams, const char *const *params);

#endif
