/* A growing byte buffer, the one every module that builds text or commands
 * uses. It keeps a NUL after the bytes, so it can be read as a string. A
 * failed allocation leaves the contents as they were and sets `failed`;
 * the writer checks once at the end. */
#ifndef EZ_BUF_H
#define EZ_BUF_H

#include <stddef.h>

struct ez_buf {
    char *p;      /* NULL until the first byte */
    size_t len, cap;
    int failed;   /* memory ran out at some point */
};

/* Room for `more` bytes after len (and the NUL): 0, or -1 with failed set. */
int ez_buf_reserve(struct ez_buf *b, size_t more) __attribute__((warn_unused_result));
/* Appends n bytes; nothing once failed. */
void ez_buf_put(struct ez_buf *b, const void *s, size_t n);
void ez_buf_puts(struct ez_buf *b, const char *s);
void ez_buf_free(struct ez_buf *b);

#endif
