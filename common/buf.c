/* The growing byte buffer of buf.h: capacity doubles, from 256 bytes. */
#include "buf.h"

#include <stdlib.h>
#include <string.h>

int ez_buf_reserve(struct ez_buf *b, size_t more)
{
    if (b->failed)
        return -1;
    if (b->len + more + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->failed = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void ez_buf_put(struct ez_buf *b, const void *s, size_t n)
{
    if (ez_buf_reserve(b, n) != 0)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void ez_buf_puts(struct ez_buf *b, const char *s) { ez_buf_put(b, s, strlen(s)); }

void ez_buf_free(struct ez_buf *b)
{
    free(b->p);
    *b = (struct ez_buf){ 0 };
}
