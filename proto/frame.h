/* The msgpack frame that carries every job between processes, and nothing
 * else. Wire format (version 1), a msgpack array of 10 elements:
 *   [version:uint, type:uint, request_id:str(0..128), resource:str(0..32),
 *    id:int, rev:int, payload:str|bin|nil (0..EZ_FRAME_MAX_PAYLOAD),
 *    slot:uint, generation:uint, seq:uint]
 * The decoder rejects anything else: other types, lengths, versions, trailing
 * bytes. See proto/README.md. */
#ifndef EZ_PROTO_FRAME_H
#define EZ_PROTO_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define EZ_FRAME_VERSION 1
#define EZ_FRAME_MAX_REQUEST_ID 128
#define EZ_FRAME_MAX_RESOURCE 32
#define EZ_FRAME_MAX_PAYLOAD (4u * 1024 * 1024)

enum ez_job_type {
    EZ_JOB_SYNC = 1,    /* re-project a resource into Redis */
    EZ_JOB_AUDIT = 2,   /* one audit record; payload = ez_audit_row() */
    EZ_JOB_WAKE = 3,    /* wake-up datagram: the consumer rescans its rings */
    EZ_JOB_CONTROL = 4, /* resource names the command, e.g. "full_resync" */
    EZ_JOB_TYPE_MAX = 4
};

struct ez_frame {
    uint32_t version;
    uint32_t type;
    char request_id[EZ_FRAME_MAX_REQUEST_ID + 1];
    char resource[EZ_FRAME_MAX_RESOURCE + 1];
    int64_t id;
    int64_t rev;
    char *payload; /* owned, NUL-terminated copy; NULL when absent */
    size_t payload_len;
    uint32_t slot;       /* producer identity: process slot, */
    uint32_t generation; /* its generation, */
    uint64_t seq;        /* and its job sequence number */
};

/* Encodes f into a malloc'd buffer (*out, *outlen). 0 or -1 (invalid field). */
int ez_frame_encode(const struct ez_frame *f, char **out, size_t *outlen)
    __attribute__((warn_unused_result));
/* Decodes exactly one frame from buf. 0, or -1 with f cleared and a reason
 * in *why (a static string). Never reads past len. */
int ez_frame_decode(const void *buf, size_t len, struct ez_frame *f, const char **why)
    __attribute__((warn_unused_result));
void ez_frame_clear(struct ez_frame *f);

#endif
