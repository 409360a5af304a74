/* libFuzzer target: HTTP/1.1 framing as the connection guard reads it
 * (worker/h1.c) and the JSON it answers a refusal with (worker/guard.c).
 * Byte 0 picks what runs (head or chunked body) and where the bytes are cut
 * in two, as two reads from the socket would cut them; the rest is what
 * the client sent.
 *
 * What must hold: where a cut falls changes nothing (the end of the head,
 * the bytes a chunked body takes, its refusal); an accepted head has a
 * known method, a target that starts with "/", a valid request id or
 * none, and a Content-Length within max_body; a refusal has one of the
 * documented statuses and is answered as a JSON error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "worker/guard.h"
#include "worker/h1.h"

#define MAX_BODY 4096u

#ifndef EZ_FUZZ_SEED_MAIN

static void check_refusal(const struct ez_h1_error *e, const char *rid)
{
    static const int statuses[] = { 400, 413, 417, 431, 501, 505 };
    int known = 0;
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        known |= e->status == statuses[i];
    EZ_FUZZ_ASSERT(known, "status %d", e->status);
    EZ_FUZZ_ASSERT(e->code && e->message && e->message[0], "refusal without a reason");
    char *body = ez_guard_error_json(e, rid);
    EZ_FUZZ_ASSERT(body, "no JSON answer for %d %s", e->status, e->code);
    json_t *doc = json_loads(body, 0, NULL);
    json_t *err = json_object_get(doc, "error");
    EZ_FUZZ_ASSERT(json_is_string(json_object_get(err, "code")) &&
                       json_is_string(json_object_get(err, "message")) &&
                       json_is_string(json_object_get(err, "request_id")),
                   "answer %s", body);
    json_decref(doc);
    free(body);
}

static void head(const char *p, size_t n, size_t cut)
{
    struct ez_h1_scan a = { 0 }, b = { 0 };
    size_t used = ez_h1_scan_feed(&a, p, n);
    size_t used1 = ez_h1_scan_feed(&b, p, cut);
    if (!b.done)
        used1 += ez_h1_scan_feed(&b, p + cut, n - cut);
    EZ_FUZZ_ASSERT(a.done == b.done && used == used1 && a.len == b.len,
                   "the cut at %zu moved the end of the head", cut);
    EZ_FUZZ_ASSERT(a.len == used && used <= n, "head length");
    if (!a.done)
        return;
    struct ez_h1_request rq;
    struct ez_h1_error e;
    memset(&rq, 0x55, sizeof rq);
    if (ez_h1_parse_head(p, a.len, MAX_BODY, &rq, &e) != 0) {
        check_refusal(&e, "fuzz");
        return;
    }
    static const char *const methods[] = { "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH",
                                           "OPTIONS" };
    int known = 0;
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        known |= strcmp(rq.method, methods[i]) == 0;
    EZ_FUZZ_ASSERT(known, "method '%.8s'", rq.method);
    EZ_FUZZ_ASSERT(rq.minor == 0 || rq.minor == 1, "HTTP/1.%d", rq.minor);
    EZ_FUZZ_ASSERT(memchr(rq.target, 0, sizeof rq.target) && rq.target[0] == '/', "target");
    EZ_FUZZ_ASSERT(memchr(rq.request_id, 0, sizeof rq.request_id) &&
                       (!rq.request_id[0] || ez_request_id_valid(rq.request_id)),
                   "request id");
    EZ_FUZZ_ASSERT(rq.body != EZ_H1_LENGTH || rq.length <= MAX_BODY, "length %llu",
                   (unsigned long long)rq.length);
}

static void chunked(const char *p, size_t n, size_t cut)
{
    struct ez_h1_chunked a = { 0 }, b = { 0 };
    struct ez_h1_error ea, eb;
    long ra = ez_h1_chunked_feed(&a, p, n, MAX_BODY, &ea);
    long rb = ez_h1_chunked_feed(&b, p, cut, MAX_BODY, &eb);
    if (rb >= 0 && !b.done) {
        long r2 = ez_h1_chunked_feed(&b, p + cut, n - cut, MAX_BODY, &eb);
        rb = r2 < 0 ? r2 : rb + r2;
    }
    EZ_FUZZ_ASSERT((ra < 0) == (rb < 0), "the cut at %zu changed the verdict (%ld, %ld)", cut,
                   ra, rb);
    if (ra < 0) {
        EZ_FUZZ_ASSERT(ea.status == eb.status, "the cut changed the refusal");
        check_refusal(&ea, "fuzz");
        return;
    }
    EZ_FUZZ_ASSERT(ra == rb && a.done == b.done && a.total == b.total,
                   "the cut at %zu changed the body (%ld/%ld bytes)", cut, ra, rb);
    EZ_FUZZ_ASSERT((size_t)ra <= n && (a.done || (size_t)ra == n), "consumed %ld of %zu", ra,
                   n);
    /* total counts each chunk once its size line is read */
    EZ_FUZZ_ASSERT(a.total <= MAX_BODY && (!a.done || a.total <= (uint64_t)ra), "total %llu",
                   (unsigned long long)a.total);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t n = size - 1;
    char *p = malloc(n ? n : 1);
    if (!p)
        return 0;
    memcpy(p, data + 1, n);
    size_t cut = n ? (size_t)(data[0] >> 1) % (n + 1) : 0;
    if (data[0] & 1)
        chunked(p, n, cut);
    else
        head(p, n, cut);
    free(p);
    return 0;
}

#else

static void seed(const char *dir, const char *name, int selector, const char *text)
{
    char buf[2048];
    size_t n = strlen(text);
    buf[0] = (char)selector;
    memcpy(buf + 1, text, n);
    ez_fuzz_seed(dir, name, buf, n + 1);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    const char *d = argv[1];
    seed(d, "get", 2 * 20, "GET /health HTTP/1.1\r\nHost: x\r\nX-Request-ID: abc-1\r\n\r\n");
    seed(d, "post", 2 * 33,
         "POST /admin/namespaces?x=1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
         "Content-Length: 15\r\n\r\n{\"name\":\"a-b\"}");
    seed(d, "chunked-head", 2 * 7,
         "PUT /admin/features HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n\n");
    seed(d, "http10", 0, "DELETE /admin/namespaces/7 HTTP/1.0\r\n\r\n");
    seed(d, "expect", 2 * 40,
         "POST /v1/tokens HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
    seed(d, "chunks", 2 * 5 + 1, "5\r\nhello\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n");
    seed(d, "chunks-lf", 2 * 3 + 1, "3\nabc\n0\n\n");
    return 0;
}
#endif
