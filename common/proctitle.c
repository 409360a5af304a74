/* setproctitle for Linux: argv and environ strings are contiguous; once
 * environ is copied to the heap the whole area can hold the title. */
#include "proctitle.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

extern char **environ;

char **ez_proctitle_env; /* the moved environment: reachable for the life of the process */
static char *title_start;
static size_t title_len;

void ez_proctitle_init(int argc, char **argv)
{
    if (argc < 1 || !argv[0])
        return;
    char *end = argv[argc - 1] + strlen(argv[argc - 1]) + 1;
    size_t n = 0;
    while (environ[n])
        n++;
    for (size_t i = 0; i < n; i++)
        if (environ[i] == end)
            end += strlen(environ[i]) + 1;
    char **env = calloc(n + 1, sizeof *env);
    if (!env)
        return;
    for (size_t i = 0; i < n; i++)
        env[i] = strdup(environ[i]);
    ez_proctitle_env = env;
    environ = env;
    /* argv[i] pointers past 0 would now point into the title: callers must
     * have parsed their arguments before the first title is set. */
    title_start = argv[0];
    title_len = (size_t)(end - argv[0]);
}

void ez_proctitle_set(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    prctl(PR_SET_NAME, buf, 0, 0, 0);
    if (!title_start || title_len < 2)
        return;
    memset(title_start, 0, title_len);
    snprintf(title_start, title_len, "%s", buf);
}
