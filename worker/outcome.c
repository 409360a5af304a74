/* Building outcomes: refusals and the end of a store write's transaction.
 * No reply is written here (http.c answers an outcome). */
#include "outcome.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gostr.h"

/* Every byte of msg that is not part of valid UTF-8 becomes '?': a reason
 * quoting a value cut by a "%.64s" (or by the buffer's end) in the middle
 * of a character must still be encodable in the JSON answer. */
static void repair_utf8(char *msg)
{
    size_t n = strlen(msg);
    for (size_t i = 0; i < n;) {
        uint32_t r;
        size_t len = ez_go_decode(msg + i, n - i, &r);
        if (r == EZ_GO_RUNE_ERROR && len == 1)
            msg[i] = '?';
        i += len;
    }
}

int ez_vrefuse(struct ez_verr *e, enum ez_result status, const char *code, const char *param,
               const char *fmt, va_list ap)
{
    e->status = status;
    e->code = code;
    e->param = param;
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    repair_utf8(e->msg);
    return -1;
}

int ez_refuse(struct ez_verr *e, enum ez_result status, const char *code, const char *param,
              const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ez_vrefuse(e, status, code, param, fmt, ap);
    va_end(ap);
    return -1;
}

int ez_not_found(struct ez_verr *e)
{
    e->status = EZ_NOT_FOUND;
    e->code = e->param = NULL;
    e->msg[0] = 0;
    return -1;
}

int ez_outcome_begin(struct ez_db *db, struct ez_outcome *o)
{
    o->e.status = EZ_DONE;
    o->db = ez_db_begin(db);
    return o->db;
}

int ez_outcome_end(struct ez_db *db, int rc, struct ez_outcome *o)
{
    o->db = ez_db_end(db, rc, o->e.status == EZ_DONE);
    return ez_db_landed(o->db) && o->e.status == EZ_DONE;
}

void ez_outcome_drop(json_t **a, json_t **b, json_t **c)
{
    json_t **all[] = { a, b, c };
    for (int i = 0; i < 3; i++)
        if (all[i]) {
            json_decref(*all[i]);
            *all[i] = NULL;
        }
}

void ez_outcome_row(struct ez_db *db, struct ez_outcome *o, json_t **out, const char *sql,
                    int nparams, const char *const *params)
{
    o->e.status = EZ_DONE;
    o->db = ez_db_write_row(db, out, sql, nparams, params);
    if (ez_db_landed(o->db) && !*out)
        ez_not_found(&o->e);
}
