/* Docs that run: the shell examples of README.md and of every document in docs/,
 * run as written (tests/doc_examples.sh), in order, against the real
 * server on a fresh database, one document per test. A curl answering
 * other than 2xx fails the document unless the example says the status it
 * expects, so the examples cannot drift from the server. */
#include "harness.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define MAX_DOCS 64

static char *docs[MAX_DOCS]; /* relative to EZAPI_SRCDIR */
static int ndocs;

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void find_docs(const char *src)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/docs", src);
    docs[ndocs++] = strdup("README.md");
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL && ndocs < MAX_DOCS) {
        size_t n = strlen(e->d_name);
        if (n > 3 && strcmp(e->d_name + n - 3, ".md") == 0) {
            char *path = malloc(n + 6);
            snprintf(path, n + 6, "docs/%s", e->d_name);
            docs[ndocs++] = path;
        }
    }
    if (d)
        closedir(d);
    qsort(docs + 1, (size_t)ndocs - 1, sizeof docs[0], by_name);
}

/* Whether the document has a ```sh block at all. */
static int has_examples(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f))
        found = strncmp(line, "```sh", 5) == 0;
    if (f)
        fclose(f);
    return found;
}

START_TEST(examples_run_as_written)
{
    const char *src = getenv("EZAPI_SRCDIR"), *bin = getenv("EZAPI_BIN");
    char doc[1024];
    snprintf(doc, sizeof doc, "%s/%s", src, docs[_i]);
    if (!has_examples(doc))
        return;
    struct ht_server s;
    ht_server_start(&s, NULL);
    char bindir[1024], out[400], cmd[4096];
    snprintf(bindir, sizeof bindir, "%s", bin);
    *strrchr(bindir, '/') = '\0';
    snprintf(out, sizeof out, "%s/examples.out", s.dir);
    snprintf(cmd, sizeof cmd,
             "URL=http://127.0.0.1:%d TOKEN='%s' CONF='%s' PATH='%s':\"$PATH\" "
             "bash '%s/tests/doc_examples.sh' '%s' > '%s' 2>&1",
             s.port, ht_admin_token(&s, "admin"), s.conf, bindir, src, doc, out);
    int rc = system(cmd);
    FILE *f = fopen(out, "r");
    static char text[1 << 20];
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    text[n] = '\0';
    if (f)
        fclose(f);
    const char *tail = n > 6000 ? text + n - 6000 : text;
    ck_assert_msg(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "%s: an example failed:\n%s", docs[_i],
                  tail);
    const char *count = strstr(text, "doc-examples: ");
    ck_assert_msg(count && atoi(count + 14) > 0, "%s: no example ran:\n%s", docs[_i], tail);
    fprintf(stderr, "check_docs: %s: %d commands\n", docs[_i], atoi(count + 14));
    ht_assert_clean_stop(&s);
}
END_TEST

int main(void)
{
    const char *src = getenv("EZAPI_SRCDIR");
    if (!src || !*src) {
        fprintf(stderr, "check_docs: EZAPI_SRCDIR is not set\n");
        return 99;
    }
    find_docs(src);
    Suite *s = suite_create("docs");
    TCase *t = ht_tcase("docs");
    tcase_add_loop_test(t, examples_run_as_written, 0, ndocs);
    suite_add_tcase(s, t);
    return ht_run_suite(s);
}
