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

#endif
