/* libFuzzer target: request body parsing (content type + JSON object).
 * The first byte picks a content type, the rest is the body. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/body.h"

#ifndef EZ_FUZZ_SEED_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const types[] = { "application/json", "application/json; charset=utf-8",
                                         "text/plain", NULL };
    if (size == 0)
        return 0;
    const char *ct = types[data[0] % 4];
    json_t *out;
    char msg[512];
    int status = ez_body_parse(ct, (const char *)data + 1, size - 1, &out, msg, sizeof msg);
    if (status == 0 && out && !json_is_object(out))
        abort();
    if (status != 0 && (out || !memchr(msg, 0, sizeof msg)))
        abort();
    json_decref(out);
    return 0;
}
#else
int main(int argc, char **argv)
{
    static const char *const seeds[] = { "\x00{\"name\":\"team-a\",\"status\":\"active\"}",
                                         "\x01{\"models\":[\"a\",\"b\"],\"weight\":3,\"x\":null}",
                                         "\x00{\"a\":{\"b\":[1,2.5,true,false,null]}}",
                                         "\x02hello" };
    if (argc < 2)
        return 2;
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/seed%zu", argv[1], i);
        FILE *f = fopen(p, "wb");
        if (!f)
            return 1;
        fwrite(seeds[i], 1, 1 + strlen(seeds[i] + 1), f); /* byte 0 may be NUL */
        fclose(f);
    }
    return 0;
}
#endif
