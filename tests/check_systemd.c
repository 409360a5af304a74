/* Running under systemd, as systemd sees it: the notifications of a
 * Type=notify service arrive on a real NOTIFY_SOCKET (READY=1 only once the
 * server answers /health/ready, RELOADING=1 then READY=1 around a reload,
 * STOPPING=1), from the supervisor alone; log lines carry their syslog
 * priority when stderr is the journal's stream (JOURNAL_STREAM). */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* A datagram socket standing in for systemd's notification socket. */
struct notify_sock {
    int fd;
    char dir[64];
    char path[96];
};

static void notify_open(struct notify_sock *n)
{
    snprintf(n->dir, sizeof n->dir, "/tmp/ezapi-notify.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(n->dir));
    snprintf(n->path, sizeof n->path, "%s/notify", n->dir);
    n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(n->fd, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s", n->path);
    ck_assert_msg(bind(n->fd, (struct sockaddr *)&a, sizeof a) == 0, "bind %s: %s", n->path,
                  strerror(errno));
    int on = 1;
    ck_assert_int_eq(setsockopt(n->fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on), 0);
    setenv("NOTIFY_SOCKET", n->path, 1);
}

static void notify_close(struct notify_sock *n)
{
    close(n->fd);
    unlink(n->path);
    rmdir(n->dir);
}

/* The next notification within timeout_ms into buf (NUL-terminated), with
 * the sender's pid; 0, or -1 when none came. */
static int notify_recv(struct notify_sock *n, char *buf, size_t len, pid_t *sender,
                       int timeout_ms)
{
    struct pollfd p = { .fd = n->fd, .events = POLLIN };
    if (poll(&p, 1, timeout_ms) != 1)
        return -1;
    union {
        char buf[CMSG_SPACE(sizeof(struct ucred))];
        struct cmsghdr align;
    } control;
    struct iovec iov = { buf, len - 1 };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                        .msg_controllen = sizeof control.buf };
    ssize_t got = recvmsg(n->fd, &m, 0);
    ck_assert_msg(got >= 0, "recvmsg: %s", strerror(errno));
    buf[got] = '\0';
    *sender = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
            struct ucred cred;
            memcpy(&cred, CMSG_DATA(c), sizeof cred);
            *sender = cred.pid;
        }
    return 0;
}

/* Waits up to 30 s for a notification holding the line `want`; the ones
 * before it are appended to seen (for messages). Every one must come from
 * the supervisor: systemd drops the others (NotifyAccess=main). */
static void notify_expect(struct notify_sock *n, struct ht_server *s, const char *want,
                          char *seen, size_t seen_len)
{
    int64_t end = ht_now_ms() + 30000;
    char buf[1024];
    for (;;) {
        int64_t left = end - ht_now_ms();
        pid_t from;
        ck_assert_msg(left > 0 && notify_recv(n, buf, sizeof buf, &from, (int)left) == 0,
                      "no %s within 30 s; received before: [%s]\nserver log:\n%s", want, seen,
                      ht_server_log_tail(s, 20));
        ck_assert_msg(from == s->pid, "notification [%s] from pid %d, not the supervisor %d",
                      buf, (int)from, (int)s->pid);
        size_t used = strlen(seen);
        snprintf(seen + used, seen_len - used, "%s|", buf);
        for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
            if (strcmp(line, want) == 0)
                return;
    }
}

/* For ms, no notification holding the line `unwanted` may arrive. A
 * correct server sends none, so a slow machine cannot fail this. */
static void notify_none(struct notify_sock *n, struct ht_server *s, const char *unwanted, int ms)
{
    int64_t end = ht_now_ms() + ms;
    char buf[1024];
    pid_t from;
    int64_t left;
    while ((left = end - ht_now_ms()) > 0 && notify_recv(n, buf, sizeof buf, &from, (int)left) == 0)
        for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
            ck_assert_msg(strcmp(line, unwanted) != 0, "%s came too early", unwanted);
}

static int ready_status(int port)
{
    struct ht_resp r;
    int st = ht_get(port, "/health/ready", NULL, &r);
    ht_resp_free(&r);
    return st;
}

START_TEST(ready_reloading_and_stopping_reach_systemd)
{
    struct notify_sock n;
    struct ht_server s;
    char seen[4096] = "";
    notify_open(&n);
    ht_server_init(&s, NULL);
    ht_server_spawn(&s);

    notify_expect(&n, &s, "READY=1", seen, sizeof seen);
    /* READY=1 means every child serves: no retry, no waiting */
    pid_t pids[8];
    ck_assert_int_eq(ht_server_children(&s, "worker ", pids, 8), 2);
    ck_assert_int_ne(ht_server_child_pid(&s, "syncer"), 0);
    ck_assert_int_ne(ht_server_child_pid(&s, "logger"), 0);
    ck_assert_msg(ready_status(s.port) == 200, "READY=1 came before /health/ready answered 200");
    ck_assert_msg(strstr(seen, "STATUS=serving: generation 1, 2 workers"),
                  "no STATUS= with READY=1: [%s]", seen);
    ck_assert_msg(!strstr(seen, "RELOADING=1") && !strstr(seen, "STOPPING=1"), "[%s]", seen);

    /* a reload that starts a third worker: READY=1 once the new generation
     * serves */
    seen[0] = '\0';
    ht_server_write_conf(&s, "workers = 3");
    ht_server_reload(&s);
    notify_expect(&n, &s, "RELOADING=1", seen, sizeof seen);
    ck_assert_msg(strstr(seen, "MONOTONIC_USEC="), "RELOADING=1 without MONOTONIC_USEC: [%s]",
                  seen);
    notify_expect(&n, &s, "READY=1", seen, sizeof seen);
    ck_assert_msg(strstr(seen, "STATUS=reload settled: generation 2, 3 workers"), "[%s]", seen);
    ck_assert(ht_server_log_contains(&s, "reloaded: generation 2"));
    ck_assert_int_eq(ht_server_children(&s, "worker 2", pids, 8), 1);
    ck_assert_int_eq(ready_status(s.port), 200);

    /* READY=1 waits for the syncer and the logger of the new generation:
     * while the old syncer is stopped (SIGSTOP) it cannot hand over */
    seen[0] = '\0';
    pid_t old_syncer = ht_server_child_pid(&s, "syncer");
    ck_assert_int_ne(old_syncer, 0);
    kill(old_syncer, SIGSTOP);
    ht_server_write_conf(&s, "workers = 2");
    ht_server_reload(&s);
    notify_expect(&n, &s, "RELOADING=1", seen, sizeof seen);
    notify_none(&n, &s, "READY=1", 3000);
    kill(old_syncer, SIGCONT);
    notify_expect(&n, &s, "READY=1", seen, sizeof seen);
    pid_t new_syncer = ht_server_child_pid(&s, "syncer");
    ck_assert_msg(new_syncer != 0 && new_syncer != old_syncer,
                  "READY=1 before the new syncer ran (syncer pid %d, was %d)", (int)new_syncer,
                  (int)old_syncer);

    /* a refused reload keeps the running config: READY=1 at once */
    seen[0] = '\0';
    long mark = ht_server_log_mark(&s);
    ht_server_write_conf(&s, "workers = many");
    ht_server_reload(&s);
    notify_expect(&n, &s, "RELOADING=1", seen, sizeof seen);
    notify_expect(&n, &s, "READY=1", seen, sizeof seen);
    ck_assert(ht_server_log_contains_since(&s, mark, "reload refused"));
    ck_assert_int_eq(ready_status(s.port), 200);

    seen[0] = '\0';
    ht_server_signal(&s, SIGTERM);
    notify_expect(&n, &s, "STOPPING=1", seen, sizeof seen);
    ck_assert_int_eq(ht_server_wait_exit(&s, 20000), 0);
    notify_close(&n);
}
END_TEST

/* Opens the log before the server does, so that JOURNAL_STREAM can name
 * it: the server's stderr is then "the journal". */
static void journal_stream_is_log(struct ht_server *s, int match)
{
    int fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    ck_assert_int_ge(fd, 0);
    struct stat st;
    ck_assert_int_eq(fstat(fd, &st), 0);
    close(fd);
    char v[64];
    snprintf(v, sizeof v, "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino + (match ? 0 : 1));
    setenv("JOURNAL_STREAM", v, 1);
}

/* The line of text holding needle, or NULL; *line_start set. */
static const char *line_with(const char *text, const char *needle)
{
    const char *p = strstr(text, needle);
    if (!p)
        return NULL;
    while (p > text && p[-1] != '\n')
        p--;
    return p;
}

START_TEST(log_lines_carry_their_priority_on_the_journal)
{
    struct ht_server s;
    ht_server_init(&s, NULL);
    journal_stream_is_log(&s, 1);
    ht_server_spawn(&s);
    ht_server_wait_ready(&s);
    /* a warning: a key that needs a restart changed; then an error: a
     * refused reload */
    ht_server_write_conf(&s, "sync_queue_capacity = 1024");
    ht_server_reload(&s);
    HT_EVENTUALLY(ht_server_log_contains(&s, "needs a restart"), 20000, "no restart warning");
    ht_server_write_conf(&s, "workers = many");
    ht_server_reload(&s);
    HT_EVENTUALLY(ht_server_log_contains(&s, "reload refused"), 20000, "no refused reload");
    ck_assert_int_eq(ht_server_stop(&s), 0);

    char *log = ht_server_log_since(&s, 0);
    const char *l;
    ck_assert_msg((l = line_with(log, "listening on")) && strncmp(l, "<6>{", 4) == 0,
                  "info line without <6>: %.200s", l ? l : log);
    ck_assert_msg((l = line_with(log, "needs a restart")) && strncmp(l, "<4>{", 4) == 0,
                  "warning line without <4>: %.200s", l ? l : log);
    ck_assert_msg((l = line_with(log, "reload refused")) && strncmp(l, "<3>{", 4) == 0,
                  "error line without <3>: %.200s", l ? l : log);
    /* every line of every process, the JSON after the prefix intact */
    for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n")) {
        ck_assert_msg(line[0] == '<' && line[1] >= '3' && line[1] <= '7' && line[2] == '>',
                      "line without a priority: %.200s", line);
        json_error_t e;
        json_t *j = json_loads(line + 3, 0, &e);
        ck_assert_msg(j != NULL, "not JSON after the priority: %.200s", line);
        json_decref(j);
    }
    free(log);
}
END_TEST

START_TEST(no_priority_when_stderr_is_not_the_journal)
{
    struct ht_server s;
    ht_server_init(&s, NULL);
    journal_stream_is_log(&s, 0); /* another inode: stderr was redirected */
    ht_server_spawn(&s);
    ht_server_wait_ready(&s);
    ht_assert_clean_stop(&s);
    char *log = ht_server_log_since(&s, 0);
    ck_assert_msg(log[0] == '{', "log starts with %.40s", log);
    ck_assert_msg(!strstr(log, "\n<"), "a line with a priority prefix:\n%s", log);
    free(log);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("systemd");
    TCase *t = ht_tcase("systemd");
#ifdef HAVE_LIBSYSTEMD /* else configure made the unit Type=simple */
    tcase_add_test(t, ready_reloading_and_stopping_reach_systemd);
#endif
    tcase_add_test(t, log_lines_carry_their_priority_on_the_journal);
    tcase_add_test(t, no_priority_when_stderr_is_not_the_journal);
    suite_add_tcase(s, t);
    return ht_run_suite(s);
}
