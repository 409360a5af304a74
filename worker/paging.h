/* List paging (docs/api.md): ?limit=1..200 (default 50) and an opaque
 * ?cursor= that encodes the last id of the previous page. */
#ifndef EZ_PAGING_H
#define EZ_PAGING_H

#include <jansson.h>
#include <stdint.h>

#include "http.h"

struct ez_page {
    int limit;
    int64_t after; /* rows with id > after; 0 = from the start */
};

/* A page as the text parameters of a keyset query: id > after, LIMIT
 * limit, which is one row more than the page so that ez_page_result can
 * tell whether more follow. */
struct ez_page_sql {
    char after[24];
    char limit[16];
};
void ez_page_sql(const struct ez_page *p, struct ez_page_sql *out);

/* A cursor exactly as ez_page_result issues it: 0 with the id it encodes,
 * or -1 leaving *after alone. */
int ez_cursor_parse(const char *s, int64_t *after) __attribute__((warn_unused_result));
/* 0, or -1 after answering 400 (param limit or cursor). An empty cursor
 * is the first page. */
int ez_page_parse(struct ez_req *r, struct ez_page *p) __attribute__((warn_unused_result));
/* Builds {"data","has_more","next_cursor"} from rows fetched with
 * LIMIT limit+1 (each row an object with an "id"); steals rows. */
json_t *ez_page_result(json_t *rows, const struct ez_page *p);
/* Answers a list fetch: ez_reply_db on a database error, else 200 with the
 * page of rows (stolen). */
void ez_reply_page(struct ez_req *r, int db_rc, json_t *rows, const struct ez_page *p);

struct ez_db;
/* A store's list of rows filtered by an optional status (NULL: all). */
typedef int ez_status_list_fn(struct ez_db *db, const struct ez_page *p, const char *status,
                              json_t **rows);
/* Answers GET on a list with ?limit, ?cursor and ?status= one of statuses
 * (NULL-terminated; any other value is 400 with param status). */
void ez_reply_status_list(struct ez_req *r, struct ez_db *db, const char *const *statuses,
                          ez_status_list_fn *fetch);

#endif
