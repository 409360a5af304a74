/* libFuzzer target: the query string of a request (up to a NUL), parsed
 * as the dispatcher parses it (ez_query_parse), then read by every list's
 * checks as its handler reads it: limit and cursor, the filters of provider
 * groups, api keys, models, bindings and child keys, ?cascade= and the
 * audit query.
 *
 * What must hold: an accepted query has unique, non-empty names and no
 * control character in any name or value; a refused one leaves nothing
 * behind; a refused filter is a JSON error naming its parameter; an
 * accepted limit is 1..200 and an accepted cursor prints back to itself. */
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "worker/paging.h"
#include "worker/validate_audit.h"
#include "worker/validate_catalog.h"
#include "worker/validate_provider.h"
#include "worker/validate_tenant.h"

#ifndef EZ_FUZZ_SEED_MAIN

static void check_pairs(struct evkeyvalq *kv)
{
    struct evkeyval *a, *b;
    TAILQ_FOREACH(a, kv, next) {
        EZ_FUZZ_ASSERT(a->key[0], "empty name accepted");
        EZ_FUZZ_ASSERT(ez_fuzz_clean(a->key) && ez_fuzz_clean(a->value), "control character");
        for (const char *p = a->key; *p; p++)
            EZ_FUZZ_ASSERT(*p != '\t' && *p != '\n', "tab or newline in a name");
        for (const char *p = a->value; *p; p++)
            EZ_FUZZ_ASSERT(*p != '\t' && *p != '\n', "tab or newline in a value");
        for (b = TAILQ_NEXT(a, next); b; b = TAILQ_NEXT(b, next))
            EZ_FUZZ_ASSERT(strcmp(a->key, b->key) != 0, "'%s' twice", a->key);
    }
}

/* One filter check: a refusal must name a parameter. */
static void filter(int rc, const struct ez_verr *e)
{
    EZ_FUZZ_ASSERT(rc == 0 || rc == -1, "returned %d", rc);
    if (rc != 0) {
        EZ_FUZZ_ASSERT(e->param, "refusal without a parameter: %s", e->msg);
        ez_fuzz_refusal(e, NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *qs = strndup((const char *)data, size);
    if (!qs)
        return 0;
    struct evkeyvalq kv;
    TAILQ_INIT(&kv);
    char bad[64];
    memset(bad, 'x', sizeof bad);
    if (ez_query_parse(qs, &kv, bad, sizeof bad) != 0) {
        EZ_FUZZ_ASSERT(TAILQ_EMPTY(&kv), "a refused query left pairs behind");
        EZ_FUZZ_ASSERT(memchr(bad, 0, sizeof bad), "the refused name is not a string");
        free(qs);
        return 0;
    }
    check_pairs(&kv);
    const char *limit = evhttp_find_header(&kv, "limit");
    const char *cursor = evhttp_find_header(&kv, "cursor");
    int64_t v;
    if (limit && ez_parse_id(limit, &v) == 0 && v <= EZ_PAGE_MAX_LIMIT) {
        char back[32];
        snprintf(back, sizeof back, "%" PRId64, v);
        EZ_FUZZ_ASSERT(v >= 1 && strcmp(back, limit) == 0, "limit '%s'", limit);
    }
    if (cursor && *cursor && ez_cursor_parse(cursor, &v) == 0) {
        char back[32];
        snprintf(back, sizeof back, "c%" PRIx64, (uint64_t)v);
        EZ_FUZZ_ASSERT(strcmp(back, cursor) == 0, "cursor '%s'", cursor);
    }

    const char *status = evhttp_find_header(&kv, "status");
    const char *type = evhttp_find_header(&kv, "type");
    const char *group_id = evhttp_find_header(&kv, "group_id");
    struct ez_verr e;
    memset(&e, 0, sizeof e);
    const char *type_out = NULL;
    int rc = ez_validate_group_filters(status, type, &type_out, &e);
    filter(rc, &e);
    if (rc == 0 && type)
        EZ_FUZZ_ASSERT(type_out && *type_out, "type filter '%s' has no normal form", type);
    int64_t gid = -1;
    rc = ez_validate_key_filters(group_id, status, &gid, &e);
    filter(rc, &e);
    if (rc == 0)
        EZ_FUZZ_ASSERT(group_id ? gid >= 1 : gid == 0, "group_id '%s' gives %" PRId64,
                       group_id ? group_id : "(absent)", gid);
    int cascade = -1;
    rc = ez_validate_cascade(evhttp_find_header(&kv, "cascade"), &cascade, &e);
    filter(rc, &e);
    if (rc == 0)
        EZ_FUZZ_ASSERT(cascade == 0 || cascade == 1, "cascade %d", cascade);
    filter(ez_validate_model_filter(evhttp_find_header(&kv, "name"), &e), &e);
    gid = -1;
    rc = ez_validate_binding_filters(evhttp_find_header(&kv, "namespace"), group_id, &gid, &e);
    filter(rc, &e);
    if (rc == 0)
        EZ_FUZZ_ASSERT(group_id ? gid >= 1 : gid == 0, "binding group_id");
    filter(ez_validate_key_status_filter(status, &e), &e);

    struct ez_audit_query q;
    memset(&q, 0, sizeof q);
    rc = ez_validate_audit_query(&kv, &q, &e);
    filter(rc, &e);
    if (rc == 0) {
        EZ_FUZZ_ASSERT(q.limit >= 1 && q.limit <= EZ_AUDIT_MAX_LIMIT, "audit limit %d", q.limit);
        EZ_FUZZ_ASSERT(memchr(q.before_time, 0, sizeof q.before_time) &&
                           memchr(q.before_id, 0, sizeof q.before_id) &&
                           (q.before_time[0] != 0) == (q.before_id[0] != 0),
                       "audit cursor half read");
        if (cursor && *cursor) {
            char back[64];
            snprintf(back, sizeof back, "a%s_%s", q.before_time, q.before_id);
            EZ_FUZZ_ASSERT(strcmp(back, cursor) == 0, "audit cursor '%s' reads as %s", cursor,
                           back);
        }
    }
    evhttp_clear_headers(&kv);
    free(qs);
    return 0;
}

#else

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    const char *d = argv[1];
    ez_fuzz_seed_parts(d, "page", -1, "limit=20&cursor=c1f", NULL);
    ez_fuzz_seed_parts(d, "groups", -1, "status=active&type=OpenAI&limit=200", NULL);
    ez_fuzz_seed_parts(d, "keys", -1, "group_id=12&status=auto_disabled", NULL);
    ez_fuzz_seed_parts(d, "bindings", -1, "namespace=team-a&group_id=3&cascade=true", NULL);
    ez_fuzz_seed_parts(d, "models", -1, "name=gpt-4o%20mini", NULL);
    ez_fuzz_seed_parts(d, "tokens", -1, "status=expired", NULL);
    ez_fuzz_seed_parts(d, "audit", -1,
                       "actor_type=admin&actor=alice&action=namespace.create&resource=namespace"
                       "&resource_id=7&request_id=r-1&since=2030-01-02T03:04:05Z"
                       "&until=2030-01-03T00:00:00%2B01:00&limit=5",
                       NULL);
    ez_fuzz_seed_parts(d, "audit-cursor", -1, "cursor=a1893553445000000_42", NULL);
    ez_fuzz_seed_parts(d, "plus", -1, "name=a+b&x=%7e%41", NULL);
    ez_fuzz_seed_parts(d, "bad", -1, "limit=1&limit=2&a=%00&=x&", NULL);
    return 0;
}
#endif
