/* Check suite for proto/frame.c: every field survives a round trip, every
 * class of malformed frame is refused for the right reason, and no input,
 * however broken, crashes the decoder. Bad frames are built with msgpack-c
 * itself so they are well-formed msgpack that is wrong only as a frame. */
#include <check.h>
#include <msgpack.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/frame.h"

/* One element of a hand-built frame. */
enum el_kind { K_UINT, K_INT, K_STR, K_BIN, K_NIL, K_BOOL, K_FLOAT, K_ARRAY, K_MAP };
struct el {
    enum el_kind kind;
    uint64_t u;
    int64_t i;
    const char *s;
    size_t n; /* string/bin length; (size_t)-1 means strlen(s) */
};

#define U(v) { K_UINT, (v), 0, NULL, 0 }
#define I(v) { K_INT, 0, (v), NULL, 0 }
#define S(v) { K_STR, 0, 0, (v), (size_t)-1 }
#define B(v) { K_BIN, 0, 0, (v), (size_t)-1 }
#define NIL { K_NIL, 0, 0, NULL, 0 }

static const struct el good[10] = {
    U(1), U(EZ_JOB_SYNC), S("req-7f3a.b_c"), S("provider_group"), I(42), I(7),
    S("{\"changed\":\"provider_group\",\"id\":42}"), U(3), U(2), U(1000),
};

static void pack_el(msgpack_packer *pk, const struct el *e)
{
    size_t n = e->n == (size_t)-1 ? strlen(e->s) : e->n;
    switch (e->kind) {
    case K_UINT: msgpack_pack_uint64(pk, e->u); break;
    case K_INT: msgpack_pack_int64(pk, e->i); break;
    case K_STR: msgpack_pack_str_with_body(pk, e->s, n); break;
    case K_BIN: msgpack_pack_bin_with_body(pk, e->s, n); break;
    case K_NIL: msgpack_pack_nil(pk); break;
    case K_BOOL: msgpack_pack_true(pk); break;
    case K_FLOAT: msgpack_pack_double(pk, 1.5); break;
    case K_ARRAY: msgpack_pack_array(pk, 1); msgpack_pack_int(pk, 1); break;
    case K_MAP: msgpack_pack_map(pk, 1); msgpack_pack_int(pk, 1); msgpack_pack_int(pk, 2); break;
    }
}

/* Packs `count` elements taken from els into sb (caller destroys sb). */
static void pack_frame(msgpack_sbuffer *sb, const struct el *els, size_t count)
{
    msgpack_packer pk;
    msgpack_sbuffer_init(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, count);
    for (size_t k = 0; k < count; k++)
        pack_el(&pk, &els[k]);
}

/* Decodes buf, expecting a refusal whose reason mentions `word`. */
static void expect_reject(const void *buf, size_t len, const char *word)
{
    struct ez_frame f;
    const char *why = NULL;
    ck_assert_int_eq(ez_frame_decode(buf, len, &f, &why), -1);
    ck_assert_ptr_nonnull(why);
    ck_assert_msg(strstr(why, word) != NULL, "reason \"%s\" does not mention \"%s\"", why, word);
    ck_assert_ptr_null(f.payload);
}

/* The good frame with element `which` replaced by e, expected refused. */
static void reject_with(size_t which, struct el e, const char *word)
{
    struct el els[10];
    msgpack_sbuffer sb;
    memcpy(els, good, sizeof els);
    els[which] = e;
    pack_frame(&sb, els, 10);
    expect_reject(sb.data, sb.size, word);
    msgpack_sbuffer_destroy(&sb);
}

static void accept_with(size_t which, struct el e)
{
    struct el els[10];
    msgpack_sbuffer sb;
    struct ez_frame f;
    const char *why = NULL;
    memcpy(els, good, sizeof els);
    els[which] = e;
    pack_frame(&sb, els, 10);
    ck_assert_msg(ez_frame_decode(sb.data, sb.size, &f, &why) == 0, "refused: %s", why);
    ez_frame_clear(&f);
    msgpack_sbuffer_destroy(&sb);
}

static void sample(struct ez_frame *f)
{
    memset(f, 0, sizeof *f);
    f->version = EZ_FRAME_VERSION;
    f->type = EZ_JOB_AUDIT;
    strcpy(f->request_id, "01HZX-abc.def_9");
    strcpy(f->resource, "tenant_key");
    f->id = 12345;
    f->rev = 9;
    f->payload = "{\"action\":\"tenant_key.create\"}";
    f->payload_len = strlen(f->payload);
    f->slot = 5;
    f->generation = 3;
    f->seq = 77;
}

/* Encodes f, decodes the bytes, and checks every field came back. */
static void round_trip(const struct ez_frame *f)
{
    char *buf;
    size_t len;
    struct ez_frame g;
    const char *why = NULL;

    ck_assert_int_eq(ez_frame_encode(f, &buf, &len), 0);
    ck_assert_msg(ez_frame_decode(buf, len, &g, &why) == 0, "refused: %s", why);
    ck_assert_uint_eq(g.version, f->version);
    ck_assert_uint_eq(g.type, f->type);
    ck_assert_str_eq(g.request_id, f->request_id);
    ck_assert_str_eq(g.resource, f->resource);
    ck_assert_int_eq(g.id, f->id);
    ck_assert_int_eq(g.rev, f->rev);
    ck_assert_uint_eq(g.slot, f->slot);
    ck_assert_uint_eq(g.generation, f->generation);
    ck_assert(g.seq == f->seq);
    if (f->payload == NULL) {
        ck_assert_ptr_null(g.payload);
        ck_assert_uint_eq(g.payload_len, 0);
    } else {
        ck_assert_ptr_nonnull(g.payload);
        ck_assert_ptr_ne(g.payload, f->payload);
        ck_assert_uint_eq(g.payload_len, f->payload_len);
        ck_assert(memcmp(g.payload, f->payload, f->payload_len) == 0);
        ck_assert_int_eq(g.payload[g.payload_len], '\0');
    }
    ez_frame_clear(&g);
    ck_assert_ptr_null(g.payload);
    free(buf);
}

START_TEST(test_round_trip_fields)
{
    struct ez_frame f;
    sample(&f);
    round_trip(&f);

    for (uint32_t t = 1; t <= EZ_JOB_TYPE_MAX; t++) {
        f.type = t;
        round_trip(&f);
    }
    f.id = -1;
    f.rev = INT64_MIN;
    round_trip(&f);
    f.id = INT64_MAX;
    f.rev = 0;
    f.seq = UINT64_MAX;
    f.slot = UINT32_MAX;
    f.generation = UINT32_MAX;
    round_trip(&f);
    f.seq = 0;
    f.slot = 0;
    f.generation = 0;
    round_trip(&f);
}
END_TEST

START_TEST(test_round_trip_strings)
{
    struct ez_frame f;
    sample(&f);

    f.request_id[0] = '\0';
    f.resource[0] = '\0';
    round_trip(&f);

    f.request_id[EZ_FRAME_MAX_REQUEST_ID] = '\0';
    const char *rid = "ABCxyz019._-";
    for (size_t k = 0; k < EZ_FRAME_MAX_REQUEST_ID; k++)
        f.request_id[k] = rid[k % strlen(rid)];
    const char *res = "az09_.";
    for (size_t k = 0; k < EZ_FRAME_MAX_RESOURCE; k++)
        f.resource[k] = res[k % strlen(res)];
    f.resource[EZ_FRAME_MAX_RESOURCE] = '\0';
    round_trip(&f);
}
END_TEST

START_TEST(test_round_trip_payloads)
{
    struct ez_frame f;
    sample(&f);

    f.payload = NULL;
    f.payload_len = 0;
    round_trip(&f);

    f.payload = "";
    round_trip(&f);

    /* Bytes, not a C string: an embedded NUL survives. */
    f.payload = "a\0b";
    f.payload_len = 3;
    round_trip(&f);

    char *big = malloc(EZ_FRAME_MAX_PAYLOAD + 1);
    ck_assert_ptr_nonnull(big);
    for (size_t k = 0; k < EZ_FRAME_MAX_PAYLOAD + 1; k++)
        big[k] = (char)('a' + k % 26);
    f.payload = big;
    f.payload_len = EZ_FRAME_MAX_PAYLOAD;
    round_trip(&f);

    char *out = NULL;
    size_t len = 0;
    f.payload_len = EZ_FRAME_MAX_PAYLOAD + 1;
    ck_assert_int_eq(ez_frame_encode(&f, &out, &len), -1);
    ck_assert_ptr_null(out);

    /* The decoder refuses it too, as bin and as str. */
    struct el e = { K_BIN, 0, 0, big, EZ_FRAME_MAX_PAYLOAD + 1 };
    reject_with(6, e, "payload");
    e.kind = K_STR;
    reject_with(6, e, "payload");
    free(big);
}
END_TEST

START_TEST(test_encode_refuses_invalid)
{
    struct ez_frame f;
    char *out;
    size_t len;

#define REFUSED(mutation)                                                  \
    do {                                                                   \
        sample(&f);                                                        \
        mutation;                                                          \
        out = (char *)1;                                                   \
        ck_assert_int_eq(ez_frame_encode(&f, &out, &len), -1);             \
        ck_assert_ptr_null(out);                                           \
    } while (0)

    REFUSED(f.version = 0);
    REFUSED(f.version = 2);
    REFUSED(f.type = 0);
    REFUSED(f.type = EZ_JOB_TYPE_MAX + 1);
    REFUSED(memset(f.request_id, 'a', sizeof f.request_id));   /* 129, no NUL */
    REFUSED(strcpy(f.request_id, "a b"));
    REFUSED(strcpy(f.request_id, "a/b"));
    REFUSED(memset(f.resource, 'a', sizeof f.resource));       /* 33, no NUL */
    REFUSED(strcpy(f.resource, "Tenant"));
    REFUSED(strcpy(f.resource, "tenant-key"));
    REFUSED(f.payload = NULL);                                  /* length 30 */
#undef REFUSED
}
END_TEST

START_TEST(test_reject_not_array)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 10);
    for (int k = 0; k < 10; k++) {
        msgpack_pack_int(&pk, k);
        msgpack_pack_int(&pk, k);
    }
    expect_reject(sb.data, sb.size, "not an array");
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_str_with_body(&pk, "hello", 5);
    expect_reject(sb.data, sb.size, "not an array");
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_int(&pk, 1);
    expect_reject(sb.data, sb.size, "not an array");
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_nil(&pk);
    expect_reject(sb.data, sb.size, "not an array");
    msgpack_sbuffer_destroy(&sb);

    expect_reject("", 0, "empty");
    expect_reject(NULL, 0, "empty");
}
END_TEST

START_TEST(test_reject_element_count)
{
    struct el els[11];
    msgpack_sbuffer sb;
    memcpy(els, good, sizeof good);
    els[10] = (struct el)U(5);
    const size_t counts[] = { 0, 1, 9, 11 };
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
        pack_frame(&sb, els, counts[k]);
        expect_reject(sb.data, sb.size, "element count");
        msgpack_sbuffer_destroy(&sb);
    }
    /* A huge declared count in a few bytes is refused without allocating. */
    const unsigned char bomb[] = { 0xdd, 0x7f, 0xff, 0xff, 0xff, 0x01 };
    expect_reject(bomb, sizeof bomb, "element count");
    const unsigned char inner[] = { 0x9a, 0x01, 0xdd, 0x7f, 0xff, 0xff, 0xff, 0x01 };
    expect_reject(inner, sizeof inner, "array or map");
}
END_TEST

START_TEST(test_reject_element_types)
{
    struct el arr = { K_ARRAY, 0, 0, NULL, 0 }, map = { K_MAP, 0, 0, NULL, 0 };
    struct el flt = { K_FLOAT, 0, 0, NULL, 0 }, yes = { K_BOOL, 0, 0, NULL, 0 };
    struct el nil = NIL, str = S("1"), bin = B("req"), neg = I(-1);

    reject_with(0, str, "version");
    reject_with(0, flt, "version");
    reject_with(1, nil, "type");
    reject_with(1, yes, "type");
    reject_with(2, (struct el)I(5), "request_id");
    reject_with(2, bin, "request_id");       /* strings must be str */
    reject_with(2, nil, "request_id");
    reject_with(3, (struct el)B("tenant"), "resource");
    reject_with(3, nil, "resource");
    reject_with(4, str, "id");
    reject_with(4, flt, "id");
    reject_with(5, yes, "rev");
    reject_with(5, nil, "rev");
    reject_with(6, (struct el)I(3), "payload");
    reject_with(6, yes, "payload");
    reject_with(6, arr, "array or map");
    reject_with(7, str, "slot");
    reject_with(7, neg, "slot");
    reject_with(8, neg, "generation");
    reject_with(8, flt, "generation");
    reject_with(9, (struct el)I(INT64_MIN), "seq");
    reject_with(9, flt, "seq");
    for (size_t k = 0; k < 10; k++) {
        reject_with(k, arr, "array or map");
        reject_with(k, map, "array or map");
    }
    /* Out of range for the field. */
    reject_with(7, (struct el)U((uint64_t)UINT32_MAX + 1), "slot");
    reject_with(8, (struct el)U((uint64_t)UINT32_MAX + 1), "generation");
    reject_with(4, (struct el)U((uint64_t)INT64_MAX + 1), "id");
    reject_with(5, (struct el)U(UINT64_MAX), "rev");

    /* Accepted: the three payload forms, and ints in any msgpack width. */
    accept_with(6, nil);
    accept_with(6, (struct el)B("{\"a\":1}"));
    accept_with(6, (struct el)S(""));
    accept_with(4, (struct el)I(INT64_MIN));
    accept_with(7, (struct el)U(UINT32_MAX));
}
END_TEST

START_TEST(test_reject_version_and_type)
{
    reject_with(0, (struct el)U(0), "version");
    reject_with(0, (struct el)U(2), "version");
    reject_with(0, (struct el)U(1ull << 40), "version");
    reject_with(0, (struct el)I(-1), "version");
    reject_with(1, (struct el)U(0), "type");
    reject_with(1, (struct el)U(EZ_JOB_TYPE_MAX + 1), "type");
    reject_with(1, (struct el)U(1ull << 33), "type");
}
END_TEST

START_TEST(test_reject_strings)
{
    char s[200];
    memset(s, 'a', sizeof s);
    struct el e = { K_STR, 0, 0, s, EZ_FRAME_MAX_REQUEST_ID };
    accept_with(2, e);
    e.n = EZ_FRAME_MAX_REQUEST_ID + 1;
    reject_with(2, e, "request_id");
    e.n = EZ_FRAME_MAX_RESOURCE;
    accept_with(3, e);
    e.n = EZ_FRAME_MAX_RESOURCE + 1;
    reject_with(3, e, "resource");

    const char *bad_ids[] = { "a b", "a/b", "a:b", "caf\xc3\xa9", "a\nb", "x\"", "%41" };
    for (size_t k = 0; k < sizeof bad_ids / sizeof bad_ids[0]; k++)
        reject_with(2, (struct el)S(bad_ids[k]), "request_id");
    reject_with(2, (struct el){ K_STR, 0, 0, "ab\0cd", 5 }, "request_id");

    const char *bad_res[] = { "Tenant", "tenant-key", "a b", "a/b", "\xc3\xa9" };
    for (size_t k = 0; k < sizeof bad_res / sizeof bad_res[0]; k++)
        reject_with(3, (struct el)S(bad_res[k]), "resource");
    reject_with(3, (struct el){ K_STR, 0, 0, "ab\0", 3 }, "resource");
}
END_TEST

START_TEST(test_reject_truncated_and_trailing)
{
    struct ez_frame f;
    char *buf;
    size_t len;
    sample(&f);
    ck_assert_int_eq(ez_frame_encode(&f, &buf, &len), 0);

    /* Every proper prefix, each in an exactly-sized copy so that ASan
     * catches any read past len. */
    for (size_t n = 0; n < len; n++) {
        char *p = malloc(n ? n : 1);
        memcpy(p, buf, n);
        struct ez_frame g;
        const char *why = NULL;
        ck_assert_msg(ez_frame_decode(p, n, &g, &why) == -1, "prefix %zu accepted", n);
        ck_assert_ptr_nonnull(why);
        free(p);
    }

    char *more = malloc(len * 2);
    memcpy(more, buf, len);
    more[len] = 0x00;
    expect_reject(more, len + 1, "trailing");
    memcpy(more + len, buf, len);            /* two frames back to back */
    expect_reject(more, len * 2, "trailing");
    free(more);
    free(buf);
}
END_TEST

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Decodes buf; if it is accepted, the frame must re-encode to the same
 * fields. Returns whether it was accepted. */
static int decode_any(const unsigned char *buf, size_t len)
{
    struct ez_frame f;
    const char *why = NULL;
    if (ez_frame_decode(buf, len, &f, &why) != 0) {
        ck_assert_ptr_nonnull(why);
        ck_assert_ptr_null(f.payload);
        return 0;
    }
    round_trip(&f);
    ez_frame_clear(&f);
    return 1;
}

START_TEST(test_random_bytes)
{
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    unsigned char *buf = malloc(512);

    for (int k = 0; k < 5000; k++) {
        size_t len = rnd(&seed) % 512;
        for (size_t j = 0; j < len; j++)
            buf[j] = (unsigned char)rnd(&seed);
        /* Half of them start like a frame, to get past the first check. */
        if (len > 0 && k % 2)
            buf[0] = 0x9a;
        (void)decode_any(buf, len);
    }
    free(buf);
}
END_TEST

START_TEST(test_mutated_frames)
{
    struct ez_frame f;
    char *good_buf;
    size_t len;
    uint64_t seed = 12345;
    int accepted = 0;

    sample(&f);
    ck_assert_int_eq(ez_frame_encode(&f, &good_buf, &len), 0);
    unsigned char *buf = malloc(len);
    for (int k = 0; k < 5000; k++) {
        memcpy(buf, good_buf, len);
        int flips = 1 + (int)(rnd(&seed) % 4);
        for (int j = 0; j < flips; j++)
            buf[rnd(&seed) % len] = (unsigned char)rnd(&seed);
        accepted += decode_any(buf, len);
    }
    /* Some mutations (say, in the payload text) still make a valid frame. */
    ck_assert_int_gt(accepted, 0);
    free(buf);
    free(good_buf);
}
END_TEST

static Suite *frame_suite(void)
{
    Suite *s = suite_create("frame");
    TCase *tc = tcase_create("round_trip");
    tcase_add_test(tc, test_round_trip_fields);
    tcase_add_test(tc, test_round_trip_strings);
    tcase_add_test(tc, test_round_trip_payloads);
    tcase_add_test(tc, test_encode_refuses_invalid);
    suite_add_tcase(s, tc);

    tc = tcase_create("reject");
    tcase_add_test(tc, test_reject_not_array);
    tcase_add_test(tc, test_reject_element_count);
    tcase_add_test(tc, test_reject_element_types);
    tcase_add_test(tc, test_reject_version_and_type);
    tcase_add_test(tc, test_reject_strings);
    tcase_add_test(tc, test_reject_truncated_and_trailing);
    suite_add_tcase(s, tc);

    tc = tcase_create("garbage");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_random_bytes);
    tcase_add_test(tc, test_mutated_frames);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(frame_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
