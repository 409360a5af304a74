/* HTTP/1.1 request framing, parsed strictly and without a server: the end
 * of a request head, the head itself (request line, header fields, body
 * framing) and chunked bodies. The connection guard (guard.c) uses it to
 * refuse what evhttp would answer with its own HTML pages. */
#ifndef EZ_H1_H
#define EZ_H1_H

#include <stddef.h>
#include <stdint.h>

#define EZ_H1_MAX_FIELDS 100 /* header fields in one head; more is 431 */

/* Why a request is refused: the HTTP status, the error code of the JSON
 * answer, the header or field it concerns (or NULL) and a message for the
 * client. All static strings. */
struct ez_h1_error {
    int status;
    const char *code;
    const char *param;
    const char *message;
};

enum ez_h1_body { EZ_H1_NO_BODY = 0, EZ_H1_LENGTH, EZ_H1_CHUNKED };

struct ez_h1_request {
    char method[8];
    int minor;              /* HTTP/1.minor */
    enum ez_h1_body body;
    uint64_t length;        /* EZ_H1_LENGTH: the Content-Length */
    char target[256];       /* the request target, cut to 255 bytes (for logs) */
    char request_id[129];   /* the client's X-Request-ID when valid, else "" */
};

/* Finds the blank line that ends a head, fed in pieces. Leading empty lines
 * must have been dropped before the first byte is fed. */
struct ez_h1_scan {
    int state;
    size_t len; /* bytes fed so far */
    int done;
};
/* Consumes bytes of p up to the end of the head: returns how many (all of
 * them while the head goes on); s->done and s->len (the head's length) are
 * set once the blank line was seen. */
size_t ez_h1_scan_feed(struct ez_h1_scan *s, const char *p, size_t n);

/* Parses a whole head (request line, fields, blank line). 0 with rq filled,
 * or -1 with e filled: 400 (malformed), 413 (Content-Length over max_body),
 * 417 (Expect), 431 (too many fields), 501 (method or transfer coding not
 * implemented), 505 (HTTP version). */
int ez_h1_parse_head(const char *p, size_t len, uint64_t max_body, struct ez_h1_request *rq,
                     struct ez_h1_error *e) __attribute__((warn_unused_result));

/* A chunked body: chunk sizes in hex (no extensions), CRLF or LF line ends,
 * no trailer fields. */
struct ez_h1_chunked {
    int state;
    uint64_t left;   /* bytes of the current chunk still to come */
    uint64_t total;  /* body bytes so far */
    int digits;
    int done;        /* the last chunk and the final blank line were read */
};
/* Consumes bytes of p that belong to the body: returns how many (fewer than
 * n only once the body ended, then c->done is set), or -1 with e filled
 * (400 malformed, 413 when the chunks add up to more than max_body). */
long ez_h1_chunked_feed(struct ez_h1_chunked *c, const char *p, size_t n, uint64_t max_body,
                        struct ez_h1_error *e);

#endif
