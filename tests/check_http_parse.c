/* Unit tests of what the HTTP layer parses strictly, without a server:
 * ids, cursors and query strings, the request head and the chunked body
 * framing the connection guard checks before evhttp sees a byte. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "worker/h1.h"
#include "worker/http.h"
#include "worker/paging.h"
#include "worker/routes.h"

/* ---- ids, cursors --------------------------------------------------------- */

START_TEST(ids_are_canonical_decimal)
{
    int64_t v = -1;
    ck_assert_int_eq(ez_parse_id("1", &v), 0);
    ck_assert_int_eq(v, 1);
    ck_assert_int_eq(ez_parse_id("9223372036854775807", &v), 0);
    ck_assert(v == INT64_MAX);
    ck_assert_int_eq(ez_parse_id("1234567890", &v), 0);
    ck_assert_int_eq(v, 1234567890);
    static const char *const refused[] = {
        "", "0", "01", "007", "+1", "-1", "0x1", "1a", " 1", "1 ", "1.0", "1e3",
        "9223372036854775808", "18446744073709551617", "99999999999999999999", "١",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        v = 42;
        ck_assert_msg(ez_parse_id(refused[i], &v) == -1, "id \"%s\" was accepted", refused[i]);
        ck_assert_int_eq(v, 42);
    }
}
END_TEST

START_TEST(cursors_only_in_the_form_issued)
{
    int64_t v = -1;
    ck_assert_int_eq(ez_cursor_parse("c1", &v), 0);
    ck_assert_int_eq(v, 1);
    ck_assert_int_eq(ez_cursor_parse("cff", &v), 0);
    ck_assert_int_eq(v, 255);
    ck_assert_int_eq(ez_cursor_parse("c7fffffffffffffff", &v), 0);
    ck_assert(v == INT64_MAX);
    static const char *const refused[] = {
        "", "c", "c0", "c01", "c-1", "c+1", "c0x1", "cFF", "C1", "c1g", "c 1", "c1 ",
        "c8000000000000000", "c10000000000000000", "1", "x1", "cff%",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        v = 42;
        ck_assert_msg(ez_cursor_parse(refused[i], &v) == -1, "cursor \"%s\" was accepted",
                      refused[i]);
        ck_assert_int_eq(v, 42);
    }
}
END_TEST

/* ---- query strings ---------------------------------------------------------- */

static int query(const char *qs, struct evkeyvalq *q, char *bad)
{
    TAILQ_INIT(q);
    return ez_query_parse(qs, q, bad, 64);
}

START_TEST(query_values_are_decoded)
{
    struct evkeyvalq q;
    char bad[64];
    ck_assert_int_eq(query("a=1&b=x%20y+z&c=&d=caf%C3%A9", &q, bad), 0);
    ck_assert_str_eq(evhttp_find_header(&q, "a"), "1");
    ck_assert_str_eq(evhttp_find_header(&q, "b"), "x y z");
    ck_assert_str_eq(evhttp_find_header(&q, "c"), "");
    ck_assert_str_eq(evhttp_find_header(&q, "d"), "caf\xc3\xa9");
    evhttp_clear_headers(&q);
    ck_assert_int_eq(query("", &q, bad), 0);
    ck_assert_ptr_null(TAILQ_FIRST(&q));
}
END_TEST

START_TEST(query_refusals_name_the_field)
{
    static const struct { const char *qs; const char *bad; } cases[] = {
        { "cursor=c1%00x", "cursor" },   /* NUL would cut the value short */
        { "status=active%00", "status" },
        { "a=1&b=x%01", "b" },           /* any control byte */
        { "a=x%0D%0Ay", "a" },
        { "a=x%7f", "a" },
        { "a=1&a=2", "a" },              /* twice: which one? */
        { "a=%zz", "a" },                /* not percent-encoding */
        { "a=%4", "a" },
        { "a", "" },                     /* no '=' */
        { "=1", "" },                    /* no name */
        { "a=1&&b=2", "" },
        { "a=1&", "" },
        { "%00=1", "" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct evkeyvalq q;
        char bad[64];
        ck_assert_msg(query(cases[i].qs, &q, bad) == -1, "query \"%s\" was accepted",
                      cases[i].qs);
        ck_assert_msg(strcmp(bad, cases[i].bad) == 0, "query \"%s\": param \"%s\", expected \"%s\"",
                      cases[i].qs, bad, cases[i].bad);
        ck_assert_ptr_null(TAILQ_FIRST(&q));
    }
}
END_TEST

START_TEST(path_placeholder_with_a_control_byte_is_refused)
{
    const struct ez_route *r = NULL;
    char *params[EZ_MAX_PARAMS] = { 0 };
    int n = -1;
    char allow[128], name[32];
    ck_assert_int_eq(ez_route_match("DELETE", "/admin/namespaces/victim%00anything", &r, params,
                                    &n, allow, sizeof allow), EZ_ROUTE_BAD_PARAM);
    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_null(params[0]);
    ez_route_param_name(r, n, name, sizeof name);
    ck_assert_str_eq(name, "name");
    ck_assert_int_eq(ez_route_match("GET", "/admin/masters/1%00xyz", &r, params, &n, allow,
                                    sizeof allow), EZ_ROUTE_BAD_PARAM);
    ez_route_param_name(r, n, name, sizeof name);
    ck_assert_str_eq(name, "id");
    ck_assert_int_eq(ez_route_match("GET", "/admin/masters/1%0a", &r, params, &n, allow,
                                    sizeof allow), EZ_ROUTE_BAD_PARAM);
    ck_assert_int_eq(ez_route_match("GET", "/admin/masters/1%zz", &r, params, &n, allow,
                                    sizeof allow), EZ_ROUTE_BAD_PARAM);
    ck_assert_int_eq(ez_route_match("GET", "/admin/masters/%31", &r, params, &n, allow,
                                    sizeof allow), EZ_ROUTE_FOUND);
    ck_assert_str_eq(params[0], "1");
    free(params[0]);
}
END_TEST

/* ---- request heads ----------------------------------------------------------- */

static const uint64_t MAXB = 1048576;

static int head(const char *text, struct ez_h1_request *rq, struct ez_h1_error *e)
{
    return ez_h1_parse_head(text, strlen(text), MAXB, rq, e);
}

START_TEST(head_accepted_with_its_framing)
{
    struct ez_h1_request rq;
    struct ez_h1_error e;
    ck_assert_int_eq(head("GET /health HTTP/1.1\r\nHost: a\r\n\r\n", &rq, &e), 0);
    ck_assert_str_eq(rq.method, "GET");
    ck_assert_str_eq(rq.target, "/health");
    ck_assert_int_eq(rq.minor, 1);
    ck_assert_int_eq(rq.body, EZ_H1_NO_BODY);

    ck_assert_int_eq(head("POST /a?b=c%20d HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n"
                          "content-length:12\r\nX-Request-ID: trace-1\r\n\r\n", &rq, &e), 0);
    ck_assert_int_eq(rq.body, EZ_H1_LENGTH);
    ck_assert_int_eq(rq.length, 12);
    ck_assert_str_eq(rq.request_id, "trace-1");

    ck_assert_int_eq(head("PUT /a HTTP/1.1\nHost: a\nTransfer-Encoding: Chunked \n"
                          "Expect: 100-continue\n\n", &rq, &e), 0);
    ck_assert_int_eq(rq.body, EZ_H1_CHUNKED);

    ck_assert_int_eq(head("GET / HTTP/1.0\r\n\r\n", &rq, &e), 0); /* no Host needed in 1.0 */
    ck_assert_int_eq(rq.minor, 0);
    ck_assert_int_eq(head("HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", &rq, &e), 0);
    ck_assert_int_eq(head("DELETE /x HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Obs: caf\xc3\xa9\r\n\r\n",
                          &rq, &e), 0);
}
END_TEST

START_TEST(head_refusals)
{
    static const struct { const char *head; int status; const char *code; } cases[] = {
        { "GET /health HTTP/1.1 x\r\nHost: a\r\n\r\n", 400, "malformed_request_line" },
        { "GET  /health HTTP/1.1\r\nHost: a\r\n\r\n", 400, "malformed_request_line" },
        { "GET /health\r\nHost: a\r\n\r\n", 400, "malformed_request_line" },
        { "GET\r\n\r\n", 400, "malformed_request_line" },
        { "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 400, "malformed_request_line" },
        { "GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n", 400, "malformed_request_line" },
        { "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "malformed_request_line" },
        { "FOO / HTTP/1.1\r\nHost: a\r\n\r\n", 501, "method_not_implemented" },
        { "TRACE / HTTP/1.1\r\nHost: a\r\n\r\n", 501, "method_not_implemented" },
        { "CONNECT example.com:443 HTTP/1.1\r\nHost: a\r\n\r\n", 501, "method_not_implemented" },
        { "get / HTTP/1.1\r\nHost: a\r\n\r\n", 501, "method_not_implemented" },
        { "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "http_version_not_supported" },
        { "GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505, "http_version_not_supported" },
        { "GET / HTTP/1.1.1\r\nHost: a\r\n\r\n", 400, "malformed_request_line" },
        { "GET / HTTP/1\r\nHost: a\r\n\r\n", 400, "malformed_request_line" },
        { "GET / http/1.1\r\nHost: a\r\n\r\n", 400, "malformed_request_line" },
        { "GET http://a/health HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_request_target" },
        { "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_request_target" },
        { "GET //admin/namespaces HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_request_target" },
        { "GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_request_target" },
        { "GET /a%4 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_request_target" },
        { "GET /a<b> HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_request_target" },
        { "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_request_target" },
        { "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_request_target" },
        { "GET / HTTP/1.1\r\nHost a\r\n\r\n", 400, "malformed_header" },
        { "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, "malformed_header" },
        { "GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n", 400, "malformed_header" },
        { "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n  folded\r\n\r\n", 400, "malformed_header" },
        { "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400, "malformed_header" },
        { "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01" "b\r\n\r\n", 400, "malformed_header" },
        { "GET / HTTP/1.1\r\n\r\n", 400, "malformed_header" },
        { "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "malformed_header" },
        { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400,
          "conflicting_framing" },
        { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", 400,
          "invalid_content_length" },
        { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", 400,
          "invalid_content_length" },
        { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400,
          "invalid_content_length" },
        { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n", 400,
          "invalid_content_length" },
        { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400, "invalid_content_length" },
        { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400,
          "invalid_content_length" },
        { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775808\r\n\r\n", 400,
          "invalid_content_length" },
        { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1048577\r\n\r\n", 413, "body_too_large" },
        { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775807\r\n\r\n", 413,
          "body_too_large" },
        { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501,
          "unsupported_transfer_encoding" },
        { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", 501,
          "unsupported_transfer_encoding" },
        { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
          400, "conflicting_framing" },
        { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
          "Transfer-Encoding: chunked\r\n\r\n", 400, "invalid_transfer_encoding" },
        { "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
          "invalid_transfer_encoding" },
        { "HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", 400, "conflicting_framing" },
        { "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue, x\r\n\r\n", 417,
          "expectation_failed" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ez_h1_request rq;
        struct ez_h1_error e = { 0 };
        ck_assert_msg(head(cases[i].head, &rq, &e) == -1, "accepted: %s", cases[i].head);
        ck_assert_msg(e.status == cases[i].status && strcmp(e.code, cases[i].code) == 0,
                      "%s\n -> %d %s, expected %d %s", cases[i].head, e.status, e.code,
                      cases[i].status, cases[i].code);
        ck_assert_msg(e.message && e.message[0], "no message for %s", cases[i].head);
    }
}
END_TEST

/* A long value (a bearer token) is checked eight bytes a step: every byte
 * value at every position of it is judged as on its own. */
START_TEST(long_header_values_are_checked_at_every_byte)
{
    for (int c = 1; c < 256; c++) {
        if (c == '\r' || c == '\n')
            continue; /* these end the line */
        int ok = c == '\t' || (c >= 0x20 && c != 0x7f);
        for (int at = 0; at < 40; at++) {
            char value[41], text[128];
            memset(value, 'k', 40);
            value[40] = 0;
            value[at] = (char)c;
            snprintf(text, sizeof text, "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: x%s\r\n\r\n",
                     value);
            struct ez_h1_request rq;
            struct ez_h1_error e = { 0 };
            int rc = head(text, &rq, &e);
            ck_assert_msg(ok ? rc == 0 : rc == -1 && strcmp(e.code, "malformed_header") == 0,
                          "byte 0x%02x at %d: %s", c, at, ok ? "refused" : "accepted");
        }
    }
}
END_TEST

START_TEST(refused_head_keeps_the_client_request_id)
{
    struct ez_h1_request rq;
    struct ez_h1_error e;
    ck_assert_int_eq(head("GET / HTTP/2.0\r\nHost: a\r\nx-request-id:  t-9 \r\n\r\n", &rq, &e),
                     -1);
    ck_assert_int_eq(e.status, 505);
    ck_assert_str_eq(rq.request_id, "t-9");
    ck_assert_int_eq(head("GET / HTTP/1.1\r\nX-Request-ID: bad id\r\n\r\n", &rq, &e), -1);
    ck_assert_str_eq(rq.request_id, "");
}
END_TEST

START_TEST(head_with_too_many_fields_is_431)
{
    char buf[8192];
    size_t n = (size_t)snprintf(buf, sizeof buf, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < EZ_H1_MAX_FIELDS; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "X-%d: y\r\n", i);
    snprintf(buf + n, sizeof buf - n, "\r\n");
    struct ez_h1_request rq;
    struct ez_h1_error e;
    ck_assert_int_eq(head(buf, &rq, &e), -1);
    ck_assert_int_eq(e.status, 431);
}
END_TEST

START_TEST(head_end_is_found_in_pieces)
{
    const char *text = "GET / HTTP/1.1\r\nHost: a\n\r\nNEXT";
    size_t want = strlen(text) - 4;
    for (size_t step = 1; step <= 7; step++) {
        struct ez_h1_scan s = { 0 };
        size_t pos = 0;
        while (!s.done && pos < strlen(text)) {
            size_t n = strlen(text) - pos < step ? strlen(text) - pos : step;
            pos += ez_h1_scan_feed(&s, text + pos, n);
        }
        ck_assert(s.done);
        ck_assert_uint_eq(s.len, want);
        ck_assert_uint_eq(pos, want);
    }
    struct ez_h1_scan s = { 0 };
    ez_h1_scan_feed(&s, "GET / HTTP/1.1\r\nHost: a\r\n", 25);
    ck_assert(!s.done);
    ez_h1_scan_feed(&s, "\n", 1);
    ck_assert(s.done);
}
END_TEST

/* ---- chunked bodies ------------------------------------------------------------ */

/* Feeds text in pieces of step bytes: the bytes consumed, or -1 (e set). */
static long chunked(const char *text, size_t step, uint64_t maxb, struct ez_h1_chunked *c,
                    struct ez_h1_error *e)
{
    memset(c, 0, sizeof *c);
    size_t len = strlen(text), pos = 0;
    while (pos < len && !c->done) {
        size_t n = len - pos < step ? len - pos : step;
        long k = ez_h1_chunked_feed(c, text + pos, n, maxb, e);
        if (k < 0)
            return -1;
        pos += (size_t)k;
        if ((size_t)k < n)
            break;
    }
    return (long)pos;
}

START_TEST(chunked_body_accepted)
{
    const char *body = "5\r\nhello\r\nA\r\n0123456789\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
    for (size_t step = 1; step <= 9; step++) {
        struct ez_h1_chunked c;
        struct ez_h1_error e;
        ck_assert_int_eq(chunked(body, step, MAXB, &c, &e), (long)(strlen(body) - 16));
        ck_assert(c.done);
        ck_assert_uint_eq(c.total, 15);
    }
    struct ez_h1_chunked c;
    struct ez_h1_error e;
    ck_assert_int_eq(chunked("3\nabc\n000\n\n", 100, MAXB, &c, &e), 11);
    ck_assert(c.done);
    ck_assert_int_eq(chunked("0\r\n\r\n", 100, MAXB, &c, &e), 5);
    ck_assert_uint_eq(c.total, 0);
}
END_TEST

START_TEST(chunked_body_refusals)
{
    static const struct { const char *body; int status; } cases[] = {
        { "zz\r\n", 400 },
        { "\r\n5\r\nhello\r\n0\r\n\r\n", 400 },
        { "5;ext=1\r\nhello\r\n0\r\n\r\n", 400 },
        { "5 \r\nhello\r\n0\r\n\r\n", 400 },
        { "0x5\r\nhello\r\n0\r\n\r\n", 400 },
        { "-5\r\nhello\r\n0\r\n\r\n", 400 },
        { "5\r\nhelloXX\r\n0\r\n\r\n", 400 },
        { "5\rhello\r\n0\r\n\r\n", 400 },
        { "5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n", 400 },
        { "11111111111111111\r\n", 400 },
        { "FFFFFFFFFFFFFFFF\r\n", 413 },
        { "100000\r\n", 413 },
        { "80000\r\n", 0 }, /* half of it is fine ... */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ez_h1_chunked c;
        struct ez_h1_error e = { 0 };
        long rc = chunked(cases[i].body, 3, 0x80000 + 100, &c, &e);
        if (cases[i].status == 0) {
            ck_assert_msg(rc > 0 && !c.done, "%s refused", cases[i].body);
            continue;
        }
        ck_assert_msg(rc == -1, "accepted: %s", cases[i].body);
        ck_assert_msg(e.status == cases[i].status, "%s -> %d, expected %d", cases[i].body,
                      e.status, cases[i].status);
        ck_assert_str_eq(e.code, e.status == 413 ? "body_too_large" : "malformed_chunked_body");
    }
    /* ... but two halves and a byte are over the limit */
    struct ez_h1_chunked c;
    struct ez_h1_error e;
    static char body[0x80000 + 64];
    int n = snprintf(body, sizeof body, "80000\r\n");
    memset(body + n, 'x', 0x80000);
    n += 0x80000;
    n += snprintf(body + n, sizeof body - (size_t)n, "\r\n80000\r\n");
    ck_assert_int_eq(chunked(body, 4096, 0x100000, &c, &e), n);
    ck_assert(!c.done);
    ck_assert_int_eq(chunked(body, 4096, 0xfffff, &c, &e), -1);
    ck_assert_int_eq(e.status, 413);
}
END_TEST

static Suite *parse_suite(void)
{
    Suite *s = suite_create("http_parse");
    TCase *tc = tcase_create("values");
    tcase_add_test(tc, ids_are_canonical_decimal);
    tcase_add_test(tc, cursors_only_in_the_form_issued);
    tcase_add_test(tc, query_values_are_decoded);
    tcase_add_test(tc, query_refusals_name_the_field);
    tcase_add_test(tc, path_placeholder_with_a_control_byte_is_refused);
    suite_add_tcase(s, tc);
    tc = tcase_create("framing");
    tcase_add_test(tc, head_accepted_with_its_framing);
    tcase_add_test(tc, head_refusals);
    tcase_add_test(tc, long_header_values_are_checked_at_every_byte);
    tcase_add_test(tc, refused_head_keeps_the_client_request_id);
    tcase_add_test(tc, head_with_too_many_fields_is_431);
    tcase_add_test(tc, head_end_is_found_in_pieces);
    tcase_add_test(tc, chunked_body_accepted);
    tcase_add_test(tc, chunked_body_refusals);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(parse_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
