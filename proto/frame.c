/* The job frame codec (proto/frame.h, proto/README.md): msgpack-c packs and
 * unpacks, this file decides what a valid version-1 frame is. It must not
 * crash, leak or over-allocate on any input, whoever sent it. */
#include "proto/frame.h"

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FRAME_ELEMENTS 10

enum { EL_VERSION, EL_TYPE, EL_REQUEST_ID, EL_RESOURCE, EL_ID, EL_REV, EL_PAYLOAD, EL_SLOT,
       EL_GENERATION, EL_SEQ };

static bool request_id_ok(const char *s, size_t n)
{
    if (n > EZ_FRAME_MAX_REQUEST_ID)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static bool resource_ok(const char *s, size_t n)
{
    if (n > EZ_FRAME_MAX_RESOURCE)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.'))
            return false;
    }
    return true;
}

/* Reads an n-byte big-endian length at p. */
static uint64_t be_read(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Bytes taken by the msgpack element starting at p (at most `left` bytes
 * available): 0 and *why set when it is truncated, malformed or a
 * container. Containers are refused here because no frame element is one. */
static size_t scalar_extent(const unsigned char *p, size_t left, const char **why)
{
    unsigned char b = p[0];
    size_t head, body = 0;

    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
        head = 1;                                       /* fixint, nil, bool */
    } else if (b >= 0xa0 && b <= 0xbf) {
        head = 1;
        body = b & 0x1f;                                /* fixstr */
    } else if ((b >= 0x80 && b <= 0x9f) || (b >= 0xdc && b <= 0xdf)) {
        *why = "element is an array or map";
        return 0;
    } else if (b == 0xc1) {
        *why = "malformed msgpack";
        return 0;
    } else {
        size_t lenbytes = 0;
        switch (b) {
        case 0xca: head = 5; break;                     /* float32 */
        case 0xcb: head = 9; break;                     /* float64 */
        case 0xcc: case 0xd0: head = 2; break;
        case 0xcd: case 0xd1: head = 3; break;
        case 0xce: case 0xd2: head = 5; break;
        case 0xcf: case 0xd3: head = 9; break;
        case 0xd4: head = 3; break;                     /* fixext 1..16 */
        case 0xd5: head = 4; break;
        case 0xd6: head = 6; break;
        case 0xd7: head = 10; break;
        case 0xd8: head = 18; break;
        case 0xc4: case 0xd9: lenbytes = 1; head = 2; break;   /* bin8, str8 */
        case 0xc5: case 0xda: lenbytes = 2; head = 3; break;
        case 0xc6: case 0xdb: lenbytes = 4; head = 5; break;
        case 0xc7: lenbytes = 1; head = 3; break;       /* ext8/16/32: + type byte */
        case 0xc8: lenbytes = 2; head = 4; break;
        default:   lenbytes = 4; head = 6; break;       /* 0xc9 ext32 */
        }
        if (lenbytes) {
            if (left < 1 + lenbytes) {
                *why = "truncated frame";
                return 0;
            }
            body = (size_t)be_read(p + 1, lenbytes);
        }
    }
    if (head > left || body > left - head) {
        *why = "truncated frame";
        return 0;
    }
    return head + body;
}

/* msgpack-c's C unpacker allocates an array's element storage from the
 * declared count before it has seen the elements, so seven bytes can ask
 * for gigabytes. Walk the frame's outline first: one array of ten scalars,
 * all within len. NULL when msgpack-c may be given the buffer. */
static const char *frame_shape(const unsigned char *p, size_t len)
{
    size_t off, count;
    const char *why = NULL;

    if (len == 0)
        return "empty input";
    if (p[0] >= 0x90 && p[0] <= 0x9f) {
        count = p[0] & 0x0f;
        off = 1;
    } else if (p[0] == 0xdc || p[0] == 0xdd) {
        size_t n = p[0] == 0xdc ? 2 : 4;
        if (len < 1 + n)
            return "truncated frame";
        count = (size_t)be_read(p + 1, n);
        off = 1 + n;
    } else {
        return "not an array";
    }
    if (count != FRAME_ELEMENTS)
        return "wrong element count";
    for (size_t i = 0; i < count; i++) {
        if (off >= len)
            return "truncated frame";
        size_t n = scalar_extent(p + off, len - off, &why);
        if (n == 0)
            return why;
        off += n;
    }
    return NULL;
}

/* Unsigned integer element no larger than max. */
static bool get_uint(const msgpack_object *o, uint64_t max, uint64_t *v)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > max)
        return false;
    *v = o->via.u64;
    return true;
}

static bool get_int(const msgpack_object *o, int64_t *v)
{
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *v = o->via.i64;
        return true;
    }
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX) {
        *v = (int64_t)o->via.u64;
        return true;
    }
    return false;
}

/* Fills f from the ten checked elements; the reason on failure. */
static const char *frame_fields(const msgpack_object *e, struct ez_frame *f)
{
    uint64_t u;

    if (!get_uint(&e[EL_VERSION], UINT32_MAX, &u))
        return "version is not an unsigned integer";
    if (u != EZ_FRAME_VERSION)
        return "unknown frame version";
    f->version = (uint32_t)u;

    if (!get_uint(&e[EL_TYPE], UINT32_MAX, &u))
        return "type is not an unsigned integer";
    if (u == 0 || u > EZ_JOB_TYPE_MAX)
        return "unknown job type";
    f->type = (uint32_t)u;

    const msgpack_object *s = &e[EL_REQUEST_ID];
    if (s->type != MSGPACK_OBJECT_STR)
        return "request_id is not a string";
    if (!request_id_ok(s->via.str.ptr, s->via.str.size))
        return "request_id too long or has bytes outside [A-Za-z0-9._-]";
    if (s->via.str.size > 0)
        memcpy(f->request_id, s->via.str.ptr, s->via.str.size);

    s = &e[EL_RESOURCE];
    if (s->type != MSGPACK_OBJECT_STR)
        return "resource is not a string";
    if (!resource_ok(s->via.str.ptr, s->via.str.size))
        return "resource too long or has bytes outside [a-z0-9_.]";
    if (s->via.str.size > 0)
        memcpy(f->resource, s->via.str.ptr, s->via.str.size);

    if (!get_int(&e[EL_ID], &f->id))
        return "id is not a 64-bit signed integer";
    if (!get_int(&e[EL_REV], &f->rev))
        return "rev is not a 64-bit signed integer";

    if (!get_uint(&e[EL_SLOT], UINT32_MAX, &u))
        return "slot is not an unsigned 32-bit integer";
    f->slot = (uint32_t)u;
    if (!get_uint(&e[EL_GENERATION], UINT32_MAX, &u))
        return "generation is not an unsigned 32-bit integer";
    f->generation = (uint32_t)u;
    if (!get_uint(&e[EL_SEQ], UINT64_MAX, &f->seq))
        return "seq is not an unsigned integer";

    /* Last, so that every failure above leaves nothing to free. */
    const msgpack_object *pl = &e[EL_PAYLOAD];
    const char *ptr;
    size_t n;
    if (pl->type == MSGPACK_OBJECT_NIL)
        return NULL;
    if (pl->type == MSGPACK_OBJECT_STR) {
        ptr = pl->via.str.ptr;
        n = pl->via.str.size;
    } else if (pl->type == MSGPACK_OBJECT_BIN) {
        ptr = pl->via.bin.ptr;
        n = pl->via.bin.size;
    } else {
        return "payload is not str, bin or nil";
    }
    if (n > EZ_FRAME_MAX_PAYLOAD)
        return "payload too large";
    f->payload = malloc(n + 1);
    if (f->payload == NULL)
        return "out of memory";
    if (n > 0)
        memcpy(f->payload, ptr, n);
    f->payload[n] = '\0';
    f->payload_len = n;
    return NULL;
}

/* f is output only: what it held before is overwritten, not freed. */
int ez_frame_decode(const void *buf, size_t len, struct ez_frame *f, const char **why)
{
    const char *reason;
    msgpack_unpacked u;
    size_t off = 0;

    memset(f, 0, sizeof *f);
    if (buf == NULL)
        len = 0;
    reason = frame_shape(buf, len);
    if (reason != NULL) {
        *why = reason;
        return -1;
    }
    msgpack_unpacked_init(&u);
    switch (msgpack_unpack_next(&u, buf, len, &off)) {
    case MSGPACK_UNPACK_SUCCESS:
    case MSGPACK_UNPACK_EXTRA_BYTES:
        if (off != len)
            reason = "trailing bytes after frame";
        else if (u.data.type != MSGPACK_OBJECT_ARRAY || u.data.via.array.size != FRAME_ELEMENTS)
            reason = "wrong element count";
        else
            reason = frame_fields(u.data.via.array.ptr, f);
        break;
    case MSGPACK_UNPACK_CONTINUE:
        reason = "truncated frame";
        break;
    case MSGPACK_UNPACK_NOMEM_ERROR:
        reason = "out of memory";
        break;
    default:
        reason = "malformed msgpack";
        break;
    }
    msgpack_unpacked_destroy(&u);
    if (reason != NULL) {
        ez_frame_clear(f);
        *why = reason;
        return -1;
    }
    return 0;
}

/* The encoder refuses what the decoder would refuse, so a frame that was
 * enqueued can always be read back. */
static bool frame_valid(const struct ez_frame *f)
{
    size_t rid = strnlen(f->request_id, sizeof f->request_id);
    size_t res = strnlen(f->resource, sizeof f->resource);

    return f->version == EZ_FRAME_VERSION && f->type >= 1 && f->type <= EZ_JOB_TYPE_MAX &&
           request_id_ok(f->request_id, rid) && resource_ok(f->resource, res) &&
           f->payload_len <= EZ_FRAME_MAX_PAYLOAD && (f->payload != NULL || f->payload_len == 0);
}

int ez_frame_encode(const struct ez_frame *f, char **out, size_t *outlen)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    size_t rid, res;
    int rc = 0;

    *out = NULL;
    *outlen = 0;
    if (!frame_valid(f))
        return -1;
    rid = strlen(f->request_id);
    res = strlen(f->resource);

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    /* Each pack call returns non-zero only when the buffer cannot grow. */
    rc |= msgpack_pack_array(&pk, FRAME_ELEMENTS);
    rc |= msgpack_pack_uint32(&pk, f->version);
    rc |= msgpack_pack_uint32(&pk, f->type);
    rc |= msgpack_pack_str_with_body(&pk, f->request_id, rid);
    rc |= msgpack_pack_str_with_body(&pk, f->resource, res);
    rc |= msgpack_pack_int64(&pk, f->id);
    rc |= msgpack_pack_int64(&pk, f->rev);
    if (f->payload == NULL)
        rc |= msgpack_pack_nil(&pk);
    else
        rc |= msgpack_pack_str_with_body(&pk, f->payload, f->payload_len);
    rc |= msgpack_pack_uint32(&pk, f->slot);
    rc |= msgpack_pack_uint32(&pk, f->generation);
    rc |= msgpack_pack_uint64(&pk, f->seq);
    if (rc != 0) {
        msgpack_sbuffer_destroy(&sb);
        return -1;
    }
    *outlen = sb.size;
    *out = msgpack_sbuffer_release(&sb);
    return 0;
}

void ez_frame_clear(struct ez_frame *f)
{
    free(f->payload);
    memset(f, 0, sizeof *f);
}
