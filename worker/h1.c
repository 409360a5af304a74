/* Strict HTTP/1.1 request framing. Stricter than evhttp wherever the two
 * differ, so that a head or chunked body this accepts is one evhttp parses
 * the same way and without an error. Pure: no I/O, no allocation. */
#include "h1.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http.h"

enum { SCAN_IN_LINE = 0, SCAN_LINE_START, SCAN_LINE_START_CR };

size_t ez_h1_scan_feed(struct ez_h1_scan *s, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && !s->done) {
        if (s->state == SCAN_IN_LINE) {
            /* Within a line only its end matters. */
            const char *lf = memchr(p + i, '\n', n - i);
            if (!lf) {
                i = n;
                break;
            }
            i = (size_t)(lf - p) + 1;
            s->state = SCAN_LINE_START;
            continue;
        }
        char c = p[i++];
        if (c == '\n')
            s->done = 1;
        else
            s->state = c == '\r' && s->state == SCAN_LINE_START ? SCAN_LINE_START_CR : SCAN_IN_LINE;
    }
    s->len += i;
    return i;
}

static int fail(struct ez_h1_error *e, int status, const char *code, const char *param,
                const char *message)
{
    *e = (struct ez_h1_error){ status, code, param, message };
    return -1;
}

static int bad(struct ez_h1_error *e, const char *code, const char *param, const char *message)
{
    return fail(e, 400, code, param, message);
}

static int is_tchar(unsigned char c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int is_field_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* A field value: no control character but tab. Eight bytes a step: a word
 * with no byte below 0x20 and none equal to 0x7f is passed at once, and
 * only a word that has one (a tab, or a byte refused) is looked at byte by
 * byte. */
static int field_value_ok(const char *v, size_t n)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x, del;
        memcpy(&x, v + i, 8);
        del = x ^ (0x7f * ones);
        if ((((x - 0x20 * ones) & ~x) | ((del - ones) & ~del)) & highs)
            for (size_t j = i; j < i + 8; j++)
                if (!is_field_char((unsigned char)v[j]))
                    return 0;
    }
    for (; i < n; i++)
        if (!is_field_char((unsigned char)v[i]))
            return 0;
    return 1;
}

static int is_target_char(unsigned char c)
{
    return isalnum(c) || (c && strchr("-._~!$&'()*+,;=:@/?", c));
}

/* origin-form only: "/" path ["?" query], every byte allowed by RFC 3986,
 * every "%" followed by two hex digits. Not "//...", which evhttp would
 * read as a host name followed by a path. */
static int target_ok(const char *p, size_t n)
{
    if (n == 0 || p[0] != '/' || (n > 1 && p[1] == '/'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '%') {
            if (i + 2 >= n || !isxdigit((unsigned char)p[i + 1]) ||
                !isxdigit((unsigned char)p[i + 2]))
                return 0;
            i += 2;
        } else if (!is_target_char(c)) {
            return 0;
        }
    }
    return 1;
}

static int method_known(const char *m, size_t n)
{
    static const char *const known[] = { "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH",
                                         "OPTIONS" };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strlen(known[i]) == n && memcmp(known[i], m, n) == 0)
            return 1;
    return 0;
}

/* The request line, without its line end. */
static int parse_request_line(const char *p, size_t n, struct ez_h1_request *rq,
                              struct ez_h1_error *e)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
            return bad(e, "malformed_request_line", NULL,
                       "the request line holds a control character");
    const char *sp1 = memchr(p, ' ', n);
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - p)) : NULL;
    if (!sp1 || !sp2 || memchr(sp2 + 1, ' ', n - (size_t)(sp2 + 1 - p)))
        return bad(e, "malformed_request_line", NULL,
                   "the request line must be: method, one space, target, one space, version");
    size_t mlen = (size_t)(sp1 - p), tlen = (size_t)(sp2 - sp1 - 1);
    const char *v = sp2 + 1;
    size_t vlen = n - (size_t)(v - p);
    for (size_t i = 0; i < mlen; i++)
        if (!is_tchar((unsigned char)p[i]))
            return bad(e, "malformed_request_line", NULL, "the method is not a token");
    if (mlen == 0 || tlen == 0 || vlen == 0)
        return bad(e, "malformed_request_line", NULL,
                   "the request line must be: method, one space, target, one space, version");
    if (!method_known(p, mlen))
        return fail(e, 501, "method_not_implemented", NULL,
                    "the method is not one this server implements: GET, HEAD, POST, PUT, "
                    "DELETE, PATCH, OPTIONS");
    memcpy(rq->method, p, mlen);
    rq->method[mlen] = 0;
    snprintf(rq->target, sizeof rq->target, "%.*s", (int)tlen, sp1 + 1);
    if (vlen == 8 && memcmp(v, "HTTP/1.", 7) == 0 && (v[7] == '0' || v[7] == '1')) {
        rq->minor = v[7] - '0';
    } else if (vlen == 8 && memcmp(v, "HTTP/", 5) == 0 && isdigit((unsigned char)v[5]) &&
               v[6] == '.' && isdigit((unsigned char)v[7])) {
        return fail(e, 505, "http_version_not_supported", NULL,
                    "only HTTP/1.1 and HTTP/1.0 are supported");
    } else {
        return bad(e, "malformed_request_line", NULL, "the HTTP version is malformed");
    }
    if (!target_ok(sp1 + 1, tlen))
        return bad(e, "invalid_request_target", NULL,
                   "the request target must be a path starting with / (and a query), with "
                   "every other byte percent-encoded");
    return 0;
}

/* What the fields of a head said, gathered before it is judged. */
struct fields {
    int nfields, hosts, te, te_chunked, cl, cl_bad, cl_conflict, expect_bad;
    uint64_t length;
};

static int name_is(const char *name, size_t n, const char *want)
{
    return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

/* Content-Length: 1*DIGIT, every occurrence the same number. */
static void content_length(struct fields *f, const char *v, size_t n)
{
    uint64_t x = 0;
    int ok = n > 0;
    for (size_t i = 0; i < n && ok; i++) {
        if (!isdigit((unsigned char)v[i]))
            ok = 0;
        else if (x > (uint64_t)INT64_MAX / 10 ||
                 x * 10 + (uint64_t)(v[i] - '0') > (uint64_t)INT64_MAX)
            ok = 0;
        else
            x = x * 10 + (uint64_t)(v[i] - '0');
    }
    if (!ok)
        f->cl_bad = 1;
    else if (f->cl && x != f->length)
        f->cl_conflict = 1;
    f->length = x;
    f->cl++;
}

static void note_field(struct fields *f, struct ez_h1_request *rq, const char *name, size_t nlen,
                       const char *v, size_t vlen)
{
    if (name_is(name, nlen, "content-length")) {
        content_length(f, v, vlen);
    } else if (name_is(name, nlen, "transfer-encoding")) {
        f->te++;
        f->te_chunked = vlen == 7 && strncasecmp(v, "chunked", 7) == 0;
    } else if (name_is(name, nlen, "host")) {
        f->hosts++;
    } else if (name_is(name, nlen, "expect")) {
        if (!(vlen == 12 && strncasecmp(v, "100-continue", 12) == 0))
            f->expect_bad = 1;
    } else if (name_is(name, nlen, "x-request-id") && !rq->request_id[0] &&
               vlen < sizeof rq->request_id) {
        char id[sizeof rq->request_id];
        memcpy(id, v, vlen);
        id[vlen] = 0;
        if (ez_request_id_valid(id))
            memcpy(rq->request_id, id, vlen + 1);
    }
}

/* One field line, without its line end: name ":" OWS value OWS. */
static int parse_field(const char *p, size_t n, struct fields *f, struct ez_h1_request *rq,
                       struct ez_h1_error *e)
{
    if (p[0] == ' ' || p[0] == '\t')
        return bad(e, "malformed_header", NULL,
                   "folded header lines (starting with a space or a tab) are not accepted");
    const char *colon = memchr(p, ':', n);
    if (!colon || colon == p)
        return bad(e, "malformed_header", NULL, "a header line must be: name, colon, value");
    size_t nlen = (size_t)(colon - p);
    for (size_t i = 0; i < nlen; i++)
        if (!is_tchar((unsigned char)p[i]))
            return bad(e, "malformed_header", NULL,
                       "a header name must be a token, with no space before the colon");
    const char *v = colon + 1, *end = p + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (!field_value_ok(v, (size_t)(end - v)))
        return bad(e, "malformed_header", NULL, "a header value holds a control character");
    if (++f->nfields > EZ_H1_MAX_FIELDS)
        return fail(e, 431, "headers_too_large", NULL, "the request has too many header fields");
    note_field(f, rq, p, nlen, v, (size_t)(end - v));
    return 0;
}

/* The framing the fields give, judged as a whole. */
static int judge(const struct fields *f, uint64_t max_body, struct ez_h1_request *rq,
                 struct ez_h1_error *e)
{
    if (rq->minor == 1 ? f->hosts != 1 : f->hosts > 1)
        return bad(e, "malformed_header", "Host",
                   "an HTTP/1.1 request must have exactly one Host header");
    if (f->te) {
        if (rq->minor == 0 || f->te > 1)
            return bad(e, "invalid_transfer_encoding", "Transfer-Encoding",
                       "Transfer-Encoding is accepted once, and only in HTTP/1.1");
        if (!f->te_chunked)
            return fail(e, 501, "unsupported_transfer_encoding", "Transfer-Encoding",
                        "the only transfer coding accepted is chunked");
        if (f->cl)
            return bad(e, "conflicting_framing", "Content-Length",
                       "a request cannot have both Content-Length and Transfer-Encoding");
        rq->body = EZ_H1_CHUNKED;
    } else if (f->cl) {
        if (f->cl_bad)
            return bad(e, "invalid_content_length", "Content-Length",
                       "Content-Length must be a decimal number of bytes below 2^63");
        if (f->cl_conflict)
            return bad(e, "conflicting_framing", "Content-Length",
                       "the request has Content-Length headers that differ");
        if (f->length > max_body)
            return fail(e, 413, "body_too_large", "Content-Length",
                        "the request body is larger than max_body_size");
        rq->body = f->length ? EZ_H1_LENGTH : EZ_H1_NO_BODY;
        rq->length = f->length;
    }
    if (rq->body != EZ_H1_NO_BODY && strcmp(rq->method, "HEAD") == 0)
        return bad(e, "conflicting_framing", NULL, "a HEAD request cannot have a body");
    if (f->expect_bad && rq->minor == 1)
        return fail(e, 417, "expectation_failed", "Expect",
                    "the only expectation supported is 100-continue");
    return 0;
}

static int parse_head(const char *p, size_t len, uint64_t max_body, struct ez_h1_request *rq,
                      struct ez_h1_error *e)
{
    struct fields f = { 0 };
    int first = 1;
    size_t pos = 0;
    while (pos < len) {
        const char *lf = memchr(p + pos, '\n', len - pos);
        if (!lf)
            return bad(e, "malformed_request_line", NULL, "the request head is incomplete");
        size_t n = (size_t)(lf - (p + pos));
        if (n && p[pos + n - 1] == '\r')
            n--;
        if (n == 0)
            return first ? bad(e, "malformed_request_line", NULL, "the request line is empty")
                         : judge(&f, max_body, rq, e);
        int rc = first ? parse_request_line(p + pos, n, rq, e) : parse_field(p + pos, n, &f, rq, e);
        if (rc != 0)
            return rc;
        first = 0;
        pos = (size_t)(lf - p) + 1;
    }
    return bad(e, "malformed_request_line", NULL, "the request head is incomplete");
}

/* The client's X-Request-ID in a head refused before its fields were read,
 * so that the error answer still carries it. */
static void find_request_id(const char *p, size_t len, struct ez_h1_request *rq)
{
    static const char name[] = "x-request-id:";
    for (const char *line = p, *end = p + len; line < end;) {
        const char *lf = memchr(line, '\n', (size_t)(end - line));
        size_t n = lf ? (size_t)(lf - line) : (size_t)(end - line);
        if (n > sizeof name - 1 && strncasecmp(line, name, sizeof name - 1) == 0) {
            const char *v = line + sizeof name - 1, *ve = line + n;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t' || ve[-1] == '\r'))
                ve--;
            struct fields ignored = { 0 };
            note_field(&ignored, rq, "x-request-id", 12, v, (size_t)(ve - v));
            return;
        }
        line = lf ? lf + 1 : end;
    }
}

int ez_h1_parse_head(const char *p, size_t len, uint64_t max_body, struct ez_h1_request *rq,
                     struct ez_h1_error *e)
{
    memset(rq, 0, sizeof *rq);
    int rc = parse_head(p, len, max_body, rq, e);
    if (rc != 0 && !rq->request_id[0])
        find_request_id(p, len, rq);
    return rc;
}

enum { CH_SIZE = 0, CH_SIZE_CR, CH_DATA, CH_DATA_END, CH_DATA_CR, CH_LAST, CH_LAST_CR };

static int hexval(unsigned char c)
{
    if (isdigit(c))
        return c - '0';
    c = (unsigned char)tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int chunk_size_done(struct ez_h1_chunked *c, uint64_t max_body, struct ez_h1_error *e)
{
    c->digits = 0;
    if (c->left == 0) {
        c->state = CH_LAST;
        return 0;
    }
    if (c->left > max_body - c->total)
        return fail(e, 413, "body_too_large", NULL,
                    "the request body is larger than max_body_size");
    c->total += c->left;
    c->state = CH_DATA;
    return 0;
}

static int malformed_chunk(struct ez_h1_error *e, const char *message)
{
    return bad(e, "malformed_chunked_body", NULL, message);
}

/* One framing byte (anything but chunk data). */
static int chunk_byte(struct ez_h1_chunked *c, unsigned char ch, uint64_t max_body,
                      struct ez_h1_error *e)
{
    int h;
    switch (c->state) {
    case CH_SIZE:
        if ((h = hexval(ch)) >= 0) {
            if (c->digits == 16)
                return malformed_chunk(e, "a chunk size has more than 16 hex digits");
            c->left = c->left * 16 + (uint64_t)h;
            c->digits++;
            return 0;
        }
        if (c->digits == 0 || (ch != '\r' && ch != '\n'))
            return malformed_chunk(e, "a chunk size must be hex digits alone on their line");
        if (ch == '\r') {
            c->state = CH_SIZE_CR;
            return 0;
        }
        return chunk_size_done(c, max_body, e);
    case CH_SIZE_CR:
        if (ch != '\n')
            return malformed_chunk(e, "a chunk size line must end with CRLF");
        return chunk_size_done(c, max_body, e);
    case CH_DATA_END:
    case CH_DATA_CR:
        if (ch == '\r' && c->state == CH_DATA_END) {
            c->state = CH_DATA_CR;
            return 0;
        }
        if (ch != '\n')
            return malformed_chunk(e, "chunk data must be followed by CRLF");
        c->state = CH_SIZE;
        c->left = 0;
        return 0;
    case CH_LAST:
    case CH_LAST_CR:
        if (ch == '\r' && c->state == CH_LAST) {
            c->state = CH_LAST_CR;
            return 0;
        }
        if (ch != '\n')
            return malformed_chunk(e, "trailer fields after the last chunk are not accepted");
        c->done = 1;
        return 0;
    }
    return malformed_chunk(e, "chunked body state lost");
}

long ez_h1_chunked_feed(struct ez_h1_chunked *c, const char *p, size_t n, uint64_t max_body,
                        struct ez_h1_error *e)
{
    size_t i = 0;
    while (i < n && !c->done) {
        if (c->state == CH_DATA) {
            size_t take = c->left < n - i ? (size_t)c->left : n - i;
            i += take;
            c->left -= take;
            if (c->left == 0)
                c->state = CH_DATA_END;
            continue;
        }
        if (chunk_byte(c, (unsigned char)p[i++], max_body, e) != 0)
            return -1;
    }
    return (long)i;
}
