/* Log lines to stderr: one JSON object (or one text line) per write, so that
 * lines of several processes never interleave mid-line. When stderr is the
 * journal's stream (JOURNAL_STREAM names its device and inode), each line
 * starts with its syslog priority, "<3>" to "<7>", which journald strips
 * and keeps as the entry's priority (journalctl -p warning). */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

int ez_log_threshold = EZ_LOG_INFO;
static char log_role[32] = "ezapi";
static char log_request_id[130];
static int log_json = 1;

static int log_to_journal;

static const char *level_names[] = { "debug", "info", "warn", "error" };
/* LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR */
static const char *level_prefixes[] = { "<7>", "<6>", "<4>", "<3>" };

/* systemd sets JOURNAL_STREAM=DEVICE:INODE when it connects stderr (or
 * stdout) to the journal; a redirected stderr no longer matches. */
static int stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    char tail;
    struct stat st;
    if (!js || sscanf(js, "%llu:%llu%c", &dev, &ino, &tail) != 2 ||
        fstat(STDERR_FILENO, &st) != 0)
        return 0;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void ez_log_setup(const char *role, int level, int json)
{
    snprintf(log_role, sizeof log_role, "%s", role);
    ez_log_threshold = level;
    log_json = json;
    log_to_journal = stderr_is_journal();
}

const char *ez_log_priority_prefix(int level)
{
    return stderr_is_journal() ? level_prefixes[level] : "";
}

/* One write(2) of the priority prefix (when logging to the journal) and
 * the line. */
static void write_line(int level, const char *line, size_t len)
{
    struct iovec iov[2];
    int n = 0;
    if (log_to_journal)
        iov[n++] = (struct iovec){ (void *)level_prefixes[level], 3 };
    iov[n++] = (struct iovec){ (void *)line, len };
    if (writev(STDERR_FILENO, iov, n) < 0) { /* nowhere to report */ }
}

void ez_log_set_request_id(const char *id)
{
    snprintf(log_request_id, sizeof log_request_id, "%s", id ? id : "");
}

static void timestamp(char *buf, size_t len)
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03ldZ", (long)(tv.tv_usec / 1000));
}

/* Writes obj (stolen) as one line, adding the common fields. */
static void emit(int level, json_t *obj, const char *msg)
{
    char ts[40];
    timestamp(ts, sizeof ts);
    if (!log_json) {
        char line[4096];
        int n = snprintf(line, sizeof line, "%s %s %s[%d]%s%s %s\n", ts, level_names[level],
                         log_role, (int)getpid(), log_request_id[0] ? " " : "",
                         log_request_id, msg);
        if (n > (int)sizeof line - 1) {
            n = sizeof line - 1;
            line[n - 1] = '\n';
        }
        write_line(level, line, (size_t)n);
        json_decref(obj);
        return;
    }
    json_object_set_new(obj, "ts", json_string(ts));
    json_object_set_new(obj, "level", json_string(level_names[level]));
    json_object_set_new(obj, "role", json_string(log_role));
    json_object_set_new(obj, "pid", json_integer(getpid()));
    if (log_request_id[0])
        json_object_set_new(obj, "request_id", json_string(log_request_id));
    if (msg)
        json_object_set_new(obj, "msg", json_string(msg));
    char *s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    json_decref(obj);
    if (!s)
        return;
    size_t n = strlen(s);
    s[n] = '\n'; /* json_dumps leaves room only for the NUL: rewrite it */
    write_line(level, s, n + 1);
    free(s);
}

void ez_log_write(int level, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* Messages may hold arbitrary bytes: keep the JSON valid. */
    for (char *p = msg; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            *p = '?';
    emit(level, json_object(), msg);
}

void ez_log_access(const char *method, const char *path, int status,
                   long long latency_us, const char *remote)
{
    if (EZ_LOG_INFO < ez_log_threshold)
        return;
    if (!log_json) {
        ez_log_write(EZ_LOG_INFO, "access %s %s %d %lldus %s", method, path, status,
                     latency_us, remote ? remote : "");
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "event", json_string("access"));
    json_object_set_new(o, "method", json_string(method));
    char clean[512];
    snprintf(clean, sizeof clean, "%s", path);
    for (char *p = clean; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            *p = '?';
    json_object_set_new(o, "path", json_string(clean));
    json_object_set_new(o, "status", json_integer(status));
    json_object_set_new(o, "latency_us", json_integer(latency_us));
    if (remote)
        json_object_set_new(o, "remote", json_string(remote));
    emit(EZ_LOG_INFO, o, NULL);
}
