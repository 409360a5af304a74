/* libFuzzer target: the config parser on arbitrary file contents. Whatever
 * the bytes, ez_config_load returns 0 or -1 with a message and leaks
 * nothing. Built by fuzz/run.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"

#ifndef EZ_FUZZ_SEED_MAIN

static char path[64];

static int load(const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    fwrite(data, 1, size, f);
    fclose(f);
    struct ez_config c;
    char err[512];
    if (ez_config_load(path, &c, err, sizeof err) == 0)
        ez_config_free(&c);
    else if (!memchr(err, 0, sizeof err))
        abort(); /* the message must be a string */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/ezapi-fuzz-config-%d.conf", (int)getpid());
    load(data, size);
    unlink(path);
    return 0;
}
#else
int main(int argc, char **argv)
{
    static const char *const seeds[] = {
        "pg_dsn = host=127.0.0.1 dbname=ezapi\nadmin_jwt_secret = 0123456789012345678901234567890123456789\n"
        "master_jwt_secret = 0123456789012345678901234567890123456789\n",
        "listen = 127.0.0.1:8080, [::1]:8081, unix:/tmp/x.sock\nworkers = auto\n# comment\n\n"
        "request_timeout = 250ms\nmetrics_allow = 10.0.0.0/8,::1/128\n",
        "redis_url = redis://:pw@localhost:6380/2\nsecrets_key = 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
        "log_level = debug\nlog_format = text\nfull_resync_interval = 0\n",
    };
    if (argc < 2)
        return 2;
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/seed%zu", argv[1], i);
        FILE *f = fopen(p, "wb");
        if (!f)
            return 1;
        fputs(seeds[i], f);
        fclose(f);
    }
    return 0;
}
#endif
