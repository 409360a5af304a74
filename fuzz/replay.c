/* Runs a fuzz target's code over files without libFuzzer, built with the
 * normal compiler, so that `make check` replays the committed inputs of
 * fuzz/regressions/NAME/ (every crash, leak or hang once found, plus
 * inputs that reach each path). Linked with one fuzz_NAME.c; EZ_FUZZ_NAME
 * names it.
 *
 * usage: replay_NAME [FILE|DIR]...   (none: $EZAPI_SRCDIR/fuzz/regressions/NAME)
 * Fails when an input breaks an invariant (the target aborts) or when there
 * is no input at all. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *b = realloc(buf, cap *= 2);
            if (!b)
                free(buf);
            buf = b;
        }
    }
    fclose(f);
    if (!buf) {
        fprintf(stderr, "%s: out of memory\n", path);
        return -1;
    }
    /* a copy of exactly n bytes, so that ASan sees a read past the input */
    uint8_t *exact = malloc(n ? n : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, n);
    free(buf);
    fprintf(stderr, "replay %s (%zu bytes)\n", path, n);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every file of dir in name order; the count, or -1. */
static int run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        perror(dir);
        return -1;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || strcmp(de->d_name, "README.md") == 0)
            continue;
        char **grown = realloc(names, (n + 1) * sizeof *names);
        if (!grown || !(grown[n] = strdup(de->d_name))) {
            closedir(d);
            return -1;
        }
        names = grown;
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp);
    int count = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (count >= 0 && run_file(path) == 0)
            count++;
        else
            count = -1;
        free(names[i]);
    }
    free(names);
    return count;
}

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    char fallback[4096];
    char *def[] = { fallback };
    char **args = argv + 1;
    int nargs = argc - 1;
    if (nargs == 0) {
        const char *src = getenv("EZAPI_SRCDIR");
        snprintf(fallback, sizeof fallback, "%s/fuzz/regressions/%s", src ? src : ".",
                 EZ_FUZZ_NAME);
        args = def;
        nargs = 1;
    }
    int total = 0;
    for (int i = 0; i < nargs; i++) {
        struct stat st;
        int n = stat(args[i], &st) == 0 && S_ISDIR(st.st_mode) ? run_dir(args[i])
                                                                : run_file(args[i]) == 0 ? 1 : -1;
        if (n < 0)
            return 1;
        total += n;
    }
    if (total == 0) {
        fprintf(stderr, "replay_%s: no input to replay\n", EZ_FUZZ_NAME);
        return 1;
    }
    printf("replay_%s: %d inputs, every invariant held\n", EZ_FUZZ_NAME, total);
    return 0;
}
