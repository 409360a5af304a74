/* libFuzzer target for the frame decoder (proto/frame.c): any input must be
 * refused cleanly or decode to a frame that re-encodes to the same fields.
 * Built with -DEZ_FUZZ_SEED_MAIN it instead writes seed frames to a directory. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/frame.h"

#ifndef EZ_FUZZ_SEED_MAIN

static int same(const struct ez_frame *a, const struct ez_frame *b)
{
    if (a->version != b->version || a->type != b->type || a->id != b->id ||
        a->rev != b->rev || a->slot != b->slot || a->generation != b->generation ||
        a->seq != b->seq || strcmp(a->request_id, b->request_id) != 0 ||
        strcmp(a->resource, b->resource) != 0)
        return 0;
    if ((a->payload == NULL) != (b->payload == NULL) || a->payload_len != b->payload_len)
        return 0;
    return a->payload == NULL || memcmp(a->payload, b->payload, a->payload_len) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ez_frame f, g;
    const char *why = NULL;
    char *buf;
    size_t len;

    if (ez_frame_decode(data, size, &f, &why) != 0) {
        if (why == NULL || f.payload != NULL)
            abort();
        return 0;
    }
    if (f.payload != NULL && f.payload[f.payload_len] != '\0')
        abort();
    if (ez_frame_encode(&f, &buf, &len) != 0)
        abort();
    if (ez_frame_decode(buf, len, &g, &why) != 0) {
        fprintf(stderr, "re-encoded frame refused: %s\n", why);
        abort();
    }
    if (!same(&f, &g))
        abort();
    ez_frame_clear(&g);
    ez_frame_clear(&f);
    free(buf);
    return 0;
}

#else

static void write_seed(const char *dir, int n, const struct ez_frame *f)
{
    char path[4096], *buf;
    size_t len;
    FILE *fp;

    if (ez_frame_encode(f, &buf, &len) != 0) {
        fprintf(stderr, "seed %d does not encode\n", n);
        exit(1);
    }
    snprintf(path, sizeof path, "%s/frame-%02d", dir, n);
    fp = fopen(path, "wb");
    if (fp == NULL || fwrite(buf, 1, len, fp) != len || fclose(fp) != 0) {
        perror(path);
        exit(1);
    }
    free(buf);
}

int main(int argc, char **argv)
{
    struct ez_frame f;
    char rid[EZ_FRAME_MAX_REQUEST_ID + 1];
    int n = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    memset(&f, 0, sizeof f);
    f.version = EZ_FRAME_VERSION;
    f.type = EZ_JOB_SYNC;
    strcpy(f.request_id, "01HZX3K9-req.7_a");
    strcpy(f.resource, "provider_group");
    f.id = 42;
    f.rev = 7;
    f.payload = "{\"resource\":\"provider_group\",\"id\":42,\"op\":\"update\"}";
    f.payload_len = strlen(f.payload);
    f.slot = 3;
    f.generation = 1;
    f.seq = 1000;
    write_seed(argv[1], n++, &f);

    f.type = EZ_JOB_AUDIT;
    strcpy(f.resource, "tenant_key");
    f.id = -1;
    f.rev = INT64_MIN;
    f.payload = "{\"action\":\"tenant_key.create\",\"actor\":\"admin\",\"status\":201}";
    f.payload_len = strlen(f.payload);
    f.seq = UINT64_MAX;
    f.slot = UINT32_MAX;
    write_seed(argv[1], n++, &f);

    f.type = EZ_JOB_WAKE;
    f.request_id[0] = '\0';
    f.resource[0] = '\0';
    f.id = 0;
    f.rev = 0;
    f.payload = NULL;
    f.payload_len = 0;
    write_seed(argv[1], n++, &f);

    f.type = EZ_JOB_CONTROL;
    strcpy(f.resource, "full_resync");
    memset(rid, 'Z', EZ_FRAME_MAX_REQUEST_ID);
    rid[EZ_FRAME_MAX_REQUEST_ID] = '\0';
    memcpy(f.request_id, rid, sizeof rid);
    f.payload = "";
    write_seed(argv[1], n++, &f);
    return 0;
}

#endif
