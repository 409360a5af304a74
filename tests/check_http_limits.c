/* Integration tests of the HTTP front door against the real `ezapi`:
 * slow and greedy clients (header, body and keep-alive deadlines, the
 * header size, the per-worker connection limit, descriptor exhaustion),
 * strict parsing of paths, ids, cursors and query values, and a JSON
 * answer for every malformed request, written by hand on raw sockets. */
#include "harness.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- Helpers ------------------------------------------------------------ */

/* The JSON error shape: status, type invalid_request_error, code, param
 * (NULL: null), request_id equal to the X-Request-ID header. */
static void assert_json_error(const struct ht_resp *r, int status, const char *code,
                              const char *param, const char *what)
{
    ck_assert_msg(r->status == status, "%s: status %d, expected %d: %.200s", what, r->status,
                  status, r->body ? r->body : "");
    const char *ct = ht_resp_header(r, "Content-Type");
    ck_assert_msg(ct && strncasecmp(ct, "application/json", 16) == 0,
                  "%s: Content-Type %s, expected application/json: %.200s", what,
                  ct ? ct : "absent", r->body ? r->body : "");
    json_t *j = ht_resp_json(r);
    ck_assert_msg(j != NULL, "%s: body is not JSON: %.200s", what, r->body ? r->body : "");
    json_t *e = json_object_get(j, "error");
    ck_assert_msg(json_is_object(e), "%s: no error object: %.200s", what, r->body);
    ck_assert_msg(strcmp(json_string_value(json_object_get(e, "type")) ?: "",
                         "invalid_request_error") == 0, "%s: type: %.200s", what, r->body);
    const char *c = json_string_value(json_object_get(e, "code"));
    ck_assert_msg(c && (!code || strcmp(c, code) == 0), "%s: code %s, expected %s", what,
                  c ? c : "(none)", code ? code : "any");
    const char *m = json_string_value(json_object_get(e, "message"));
    ck_assert_msg(m && m[0], "%s: no message: %.200s", what, r->body);
    json_t *p = json_object_get(e, "param");
    if (param)
        ck_assert_msg(json_is_string(p) && strcmp(json_string_value(p), param) == 0,
                      "%s: param must be \"%s\": %.200s", what, param, r->body);
    else
        ck_assert_msg(p && json_is_null(p), "%s: param must be null: %.200s", what, r->body);
    const char *rid = json_string_value(json_object_get(e, "request_id"));
    const char *hid = ht_resp_header(r, "X-Request-ID");
    ck_assert_msg(rid && hid && strcmp(rid, hid) == 0, "%s: request_id %s, X-Request-ID %s",
                  what, rid ? rid : "(none)", hid ? hid : "(none)");
    json_decref(j);
}

/* 1 once the server has closed fd (end of stream or reset), 0 if it is
 * still open after timeout_ms; whatever else arrives is dropped. */
static int closed_within(int fd, int timeout_ms)
{
    int64_t end = ht_now_ms() + timeout_ms;
    for (;;) {
        int left = (int)(end - ht_now_ms());
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (left <= 0 || poll(&p, 1, left) <= 0)
            return 0;
        char buf[4096];
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            return 1;
    }
}

/* Sends raw bytes on a fresh connection and reads one answer; the socket
 * is left open in *fdp (or closed when fdp is NULL). */
static int raw(int port, const char *req, size_t len, struct ht_resp *r, int *fdp)
{
    int fd = ht_connect(port);
    ck_assert_msg(fd >= 0, "connect: %s", strerror(errno));
    (void)ht_send_all(fd, req, len); /* an early answer can come before the rest is sent */
    int rc = ht_read_response(fd, "GET", r);
    if (fdp)
        *fdp = fd;
    else
        close(fd);
    return rc == 0 ? r->status : rc;
}

static long proc_status_kb(pid_t pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long v = -1;
    size_t fl = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, fl) == 0 && line[fl] == ':')
            v = atol(line + fl + 1);
    if (f)
        fclose(f);
    return v;
}

static int workers(struct ht_server *s, pid_t *pids)
{
    int n = ht_server_children(s, "worker ", pids, 8);
    ck_assert_msg(n >= 1 && n <= 8, "%d workers", n);
    return n;
}

static long workers_rss_kb(struct ht_server *s)
{
    pid_t pids[8];
    int n = workers(s, pids);
    long sum = 0;
    for (int i = 0; i < n; i++)
        sum += proc_status_kb(pids[i], "VmRSS");
    return sum;
}

/* Open descriptors of pid. */
static int count_fds(pid_t pid)
{
    char path[96], link[128];
    int n = 0;
    for (int fd = 0; fd < 4096; fd++) {
        snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)pid, fd);
        n += readlink(path, link, sizeof link) >= 0;
    }
    return n;
}

/* Established TCP connections to the server's port held by pid: its
 * descriptors whose socket inode /proc/net/tcp lists in state 01 with that
 * local port (a connection the client already closed is not counted). */
static int held_by(pid_t pid, int port)
{
    unsigned long inodes[256];
    int ninodes = 0;
    char line[512];
    FILE *f = fopen("/proc/net/tcp", "r");
    while (f && fgets(line, sizeof line, f) && ninodes < 256) {
        unsigned lport, st;
        unsigned long inode;
        if (sscanf(line, " %*d: %*8x:%4x %*8x:%*4x %2x %*s %*s %*s %*s %*s %lu", &lport, &st,
                   &inode) == 3 && (int)lport == port && st == 1)
            inodes[ninodes++] = inode;
    }
    if (f)
        fclose(f);
    char path[96], link[128];
    int n = 0;
    for (int fd = 0; fd < 4096; fd++) {
        snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)pid, fd);
        ssize_t l = readlink(path, link, sizeof link - 1);
        if (l <= 0)
            continue;
        link[l] = 0;
        unsigned long inode;
        if (sscanf(link, "socket:[%lu]", &inode) != 1)
            continue;
        for (int i = 0; i < ninodes; i++)
            n += inodes[i] == inode;
    }
    return n;
}

static int lines_containing(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; p && *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (memmem(p, len, needle, strlen(needle)))
            n++;
        p = e ? e + 1 : NULL;
    }
    return n;
}

/* Opens n connections that each send the start of a head and stop. */
static void hold(int port, int *fds, int n)
{
    for (int i = 0; i < n; i++) {
        fds[i] = ht_connect(port);
        ck_assert_msg(fds[i] >= 0, "connect %d: %s", i, strerror(errno));
        const char *part = "GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ";
        ck_assert_int_eq(ht_send_all(fds[i], part, strlen(part)), 0);
    }
}

/* ---- Slow clients -------------------------------------------------------- */

START_TEST(slowloris_heads_are_cut_by_the_header_timeout)
{
    struct ht_server s;
    ht_server_start(&s, "header_timeout = 2s\n");
    enum { N = 20 };
    int fds[N], answered[N] = { 0 }, open = N;
    hold(s.port, fds, N);
    int64_t start = ht_now_ms(), checked_health = 0;
    while (open > 0 && ht_now_ms() - start < 20000) {
        for (int i = 0; i < N; i++) /* one more header byte each, a few times a second */
            if (!answered[i])
                (void)send(fds[i], "a", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (!checked_health && ht_now_ms() - start > 1000) {
            struct ht_resp r;
            ck_assert_int_eq(ht_get(s.port, "/health", NULL, &r), 200); /* others are served */
            ht_resp_free(&r);
            checked_health = 1;
        }
        struct pollfd p[N];
        for (int i = 0; i < N; i++)
            p[i] = (struct pollfd){ .fd = answered[i] ? -1 : fds[i], .events = POLLIN };
        if (poll(p, N, 250) <= 0)
            continue;
        for (int i = 0; i < N; i++) {
            if (answered[i] || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            struct ht_resp r;
            ck_assert_msg(ht_read_response(fds[i], "GET", &r) == 0, "connection %d: %s", i, r.err);
            assert_json_error(&r, 408, "request_timeout", NULL, "slow head");
            ck_assert(r.conn_close);
            ht_resp_free(&r);
            ck_assert_msg(closed_within(fds[i], 5000), "connection %d left open after its 408", i);
            answered[i] = 1;
            open--;
        }
    }
    ck_assert_msg(open == 0, "%d of %d connections trickling a head were still open after 20 s "
                  "(header_timeout = 2s)", open, N);
    ck_assert(checked_health);
    for (int i = 0; i < N; i++)
        close(fds[i]);
    struct ht_resp r;
    ck_assert_int_eq(ht_get(s.port, "/health", NULL, &r), 200);
    ht_resp_free(&r);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(slow_body_is_cut_by_the_body_timeout)
{
    struct ht_server s;
    ht_server_start(&s, "body_timeout = 2s\n");
    int fd = ht_connect(s.port);
    ck_assert(fd >= 0);
    const char *head = "POST /admin/namespaces HTTP/1.1\r\nHost: x\r\n"
                       "Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{";
    ck_assert_int_eq(ht_send_all(fd, head, strlen(head)), 0);
    int64_t start = ht_now_ms();
    int answered = 0;
    while (!answered && ht_now_ms() - start < 20000) {
        (void)send(fd, " ", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
        struct pollfd p = { .fd = fd, .events = POLLIN };
        answered = poll(&p, 1, 250) > 0;
    }
    ck_assert_msg(answered, "a body trickling one byte at a time was still read after 20 s "
                  "(body_timeout = 2s)");
    struct ht_resp r;
    ck_assert_int_eq(ht_read_response(fd, "POST", &r), 0);
    assert_json_error(&r, 408, "request_timeout", NULL, "slow body");
    ht_resp_free(&r);
    ck_assert(closed_within(fd, 10000));
    close(fd);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(idle_connections_are_closed)
{
    struct ht_server s;
    ht_server_start(&s, "keepalive_timeout = 1s\nheader_timeout = 1s\n");
    /* a persistent connection after its answer */
    int fd = ht_connect(s.port);
    ck_assert(fd >= 0);
    const char *req = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    ck_assert_int_eq(ht_send_all(fd, req, strlen(req)), 0);
    struct ht_resp r;
    ck_assert_int_eq(ht_read_response(fd, "GET", &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_msg(!r.conn_close, "the first answer already closed the connection");
    ht_resp_free(&r);
    /* it still serves a second request within the timeout */
    ck_assert_int_eq(ht_send_all(fd, req, strlen(req)), 0);
    ck_assert_int_eq(ht_read_response(fd, "GET", &r), 0);
    ck_assert_int_eq(r.status, 200);
    ht_resp_free(&r);
    ck_assert_msg(closed_within(fd, 15000),
                  "an idle keep-alive connection was still open 15 s after its last answer "
                  "(keepalive_timeout = 1s)");
    close(fd);
    /* a connection that never sends a byte */
    fd = ht_connect(s.port);
    ck_assert(fd >= 0);
    ck_assert_msg(closed_within(fd, 15000), "a silent connection was still open after 15 s "
                  "(header_timeout = 1s)");
    close(fd);
    ht_assert_clean_stop(&s);
}
END_TEST

/* A handler that runs longer than request_timeout (here: its INSERT waits
 * for a table lock held 2.5 s) still sends its answer: the write timeout
 * starts when the answer is queued, not when the turn of the event loop
 * that ran the handler began. */
START_TEST(a_handler_slower_than_request_timeout_still_answers)
{
    struct ht_server s;
    ht_server_start(&s, "request_timeout = 1s\n");
    PGconn *holder = ht_pg();
    ck_assert(PQsendQuery(holder, "BEGIN; LOCK TABLE namespaces IN ACCESS EXCLUSIVE MODE; "
                                  "SELECT pg_sleep(2.5); COMMIT"));
    HT_EVENTUALLY(ht_pg_count("SELECT count(*) FROM pg_locks l JOIN pg_class c ON "
                              "c.oid = l.relation WHERE c.relname = 'namespaces' AND "
                              "l.mode = 'AccessExclusiveLock' AND l.granted") == 1,
                  10000, "the test could not take the lock");
    json_t *j = NULL;
    int st = ht_request(&s, "POST", "/admin/namespaces", ht_auth(&s, "admin"),
                        "{\"name\":\"slow\"}", &j);
    ck_assert_msg(st == 201, "a request held 2.5 s got %d, not its 201", st);
    ck_assert_str_eq(json_string_value(json_object_get(j, "name")), "slow");
    json_decref(j);
    PGresult *r;
    while ((r = PQgetResult(holder)))
        PQclear(r);
    PQfinish(holder);
    ht_assert_clean_stop(&s);
}
END_TEST

/* ---- Greedy clients -------------------------------------------------------- */

START_TEST(huge_header_is_431_and_memory_returns)
{
    struct ht_server s;
    ht_server_start(&s, NULL); /* max_header_size: the default 16 KiB */
    long base = workers_rss_kb(&s);
    int fd = ht_connect(s.port);
    ck_assert(fd >= 0);
    const char *start = "GET /health HTTP/1.1\r\nHost: x\r\n";
    ck_assert_int_eq(ht_send_all(fd, start, strlen(start)), 0);
    /* 100 MiB of header lines, until the server stops taking them */
    enum { BLOCK = 65536 };
    static char block[BLOCK];
    for (size_t i = 0; i < BLOCK; i += 1024) {
        memset(block + i, 'a', 1024);
        memcpy(block + i, "X-Pad: ", 7);
        memcpy(block + i + 1022, "\r\n", 2);
    }
    size_t sent = 0;
    while (sent < 100u * 1024 * 1024 && ht_send_all(fd, block, BLOCK) == 0)
        sent += BLOCK;
    struct ht_resp r;
    ck_assert_msg(ht_read_response(fd, "GET", &r) == 0, "no answer to %zu bytes of headers: %s",
                  sent, r.err);
    assert_json_error(&r, 431, "headers_too_large", NULL, "huge header");
    ht_resp_free(&r);
    close(fd);
    /* AddressSanitizer keeps freed memory in quarantine: RSS says nothing */
    const char *san = getenv("EZAPI_SANITIZERS");
    long after = -1;
    if (!san || strcmp(san, "yes") != 0)
        HT_EVENTUALLY((after = workers_rss_kb(&s)) < base + 16 * 1024, 10000,
                     "workers' RSS %ld kB after the abusive client left, %ld kB before", after,
                     base);
    ck_assert_int_eq(ht_get(s.port, "/health", NULL, &r), 200);
    ht_resp_free(&r);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(content_length_is_strict)
{
    struct ht_server s;
    ht_server_start(&s, "max_body_size = 2048\n");
    static const struct {
        const char *cl;
        int status;
        const char *code;
    } cases[] = {
        { "Content-Length: 5\r\nContent-Length: 6", 400, "conflicting_framing" },
        { "Content-Length: 99999999999999999999999", 400, "invalid_content_length" },
        { "Content-Length: 18446744073709551617", 400, "invalid_content_length" },
        { "Content-Length: abc", 400, "invalid_content_length" },
        { "Content-Length: -1", 400, "invalid_content_length" },
        { "Content-Length: 0x10", 400, "invalid_content_length" },
        { "Content-Length: 2049", 413, "body_too_large" },
        { "Content-Length: 9223372036854775807", 413, "body_too_large" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char req[512];
        int n = snprintf(req, sizeof req,
                         "POST /admin/namespaces HTTP/1.1\r\nHost: x\r\n"
                         "Content-Type: application/json\r\n%s\r\n\r\n{\"name\":\"x\"}",
                         cases[i].cl);
        struct ht_resp r;
        int fd;
        ck_assert_msg(raw(s.port, req, (size_t)n, &r, &fd) == cases[i].status,
                      "%s: %d %s", cases[i].cl, r.status, r.err);
        assert_json_error(&r, cases[i].status, cases[i].code, "Content-Length", cases[i].cl);
        ck_assert_msg(closed_within(fd, 10000), "%s: connection left open", cases[i].cl);
        close(fd);
        ht_resp_free(&r);
    }
    /* two equal ones say the same thing */
    const char *same = "POST /admin/namespaces HTTP/1.1\r\nHost: x\r\n"
                       "Content-Type: application/json\r\nContent-Length: 12\r\n"
                       "Content-Length: 12\r\n\r\n{\"name\":\"x\"}";
    struct ht_resp r;
    ck_assert_int_eq(raw(s.port, same, strlen(same), &r, NULL), 401);
    ht_resp_free(&r);
    ht_assert_clean_stop(&s);
}
END_TEST

/* ---- Connections ------------------------------------------------------------- */

START_TEST(worker_connections_limit_holds_extra_clients)
{
    struct ht_server s;
    ht_server_start(&s, "workers = 2\nworker_connections = 3\nheader_timeout = 60s\n");
    pid_t pids[8];
    int nw = workers(&s, pids);
    ck_assert_int_eq(nw, 2);
    enum { N = 6 };
    int fds[N];
    hold(s.port, fds, N);
    int held = 0, most = 0, each[8] = { 0 };
    for (int64_t end = ht_now_ms() + 10000; ht_now_ms() < end; ht_sleep_ms(50)) {
        held = most = 0;
        for (int i = 0; i < nw; i++) {
            each[i] = held_by(pids[i], s.port);
            held += each[i];
            most = each[i] > most ? each[i] : most;
        }
        if (held >= N)
            break;
    }
    ck_assert_msg(held == N && most <= 3, "workers hold %d and %d connections "
                  "(worker_connections = 3)", each[0], each[1]);
    /* both workers are full: a seventh client waits in the backlog ... */
    int fd = ht_connect(s.port);
    ck_assert(fd >= 0);
    const char *req = "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    ck_assert_int_eq(ht_send_all(fd, req, strlen(req)), 0);
    struct pollfd p = { .fd = fd, .events = POLLIN };
    ck_assert_msg(poll(&p, 1, 1500) == 0, "a seventh client was served while both workers "
                  "held worker_connections = 3");
    /* ... and is served as soon as one of the others leaves */
    close(fds[0]);
    struct ht_resp r;
    ck_assert_int_eq(ht_read_response(fd, "GET", &r), 0);
    ck_assert_int_eq(r.status, 200);
    ht_resp_free(&r);
    close(fd);
    for (int i = 1; i < N; i++)
        close(fds[i]);
    ck_assert_int_eq(ht_get(s.port, "/health", NULL, &r), 200);
    ht_resp_free(&r);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(descriptor_exhaustion_pauses_accepts)
{
    struct ht_server s;
    ht_server_start(&s, "workers = 2\nheader_timeout = 60s\n");
    pid_t pids[8];
    int nw = workers(&s, pids);
    long long cpu0 = 0;
    for (int i = 0; i < nw; i++) {
        struct rlimit rl;
        rl.rlim_cur = rl.rlim_max = (rlim_t)count_fds(pids[i]) + 3;
        ck_assert_msg(prlimit(pids[i], RLIMIT_NOFILE, &rl, NULL) == 0, "prlimit %d: %s",
                      (int)pids[i], strerror(errno));
        cpu0 += ht_proc_cpu_ticks(pids[i]);
    }
    long mark = ht_server_log_mark(&s);
    enum { N = 30 };
    int fds[N];
    hold(s.port, fds, N); /* about 3 per worker are accepted, then accept() fails */
    ht_sleep_ms(3000);
    long long cpu1 = 0;
    for (int i = 0; i < nw; i++)
        cpu1 += ht_proc_cpu_ticks(pids[i]);
    double cpu_s = (double)(cpu1 - cpu0) / (double)sysconf(_SC_CLK_TCK);
    char *log = ht_server_log_since(&s, mark);
    int reports = lines_containing(log, "accept(");
    free(log);
    ck_assert_msg(reports >= 1, "accept() failures were not logged");
    ck_assert_msg(reports <= 2 * nw, "accept() failures logged %d times in 3 s", reports);
    ck_assert_msg(cpu_s < 1.0, "the workers used %.2f s of CPU in 3 s of descriptor "
                  "exhaustion (spinning on accept)", cpu_s);
    for (int i = 0; i < nw; i++)
        ck_assert_msg(ht_proc_alive(pids[i]), "worker %d died", (int)pids[i]);
    for (int i = 0; i < N; i++)
        close(fds[i]);
    struct ht_resp r;
    ck_assert_int_eq(ht_get(s.port, "/health", NULL, &r), 200);
    ht_resp_free(&r);
    ht_assert_clean_stop(&s);
}
END_TEST

/* ---- Strict parsing ------------------------------------------------------------- */

static int get_auth(struct ht_server *s, const char *method, const char *path, struct ht_resp *r)
{
    return ht_http(s->port, method, path, ht_auth(s, "admin"), NULL, 0, r);
}

START_TEST(control_bytes_in_path_and_query_are_400)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    struct ht_resp r;
    ck_assert_int_eq(ht_post_json(s.port, "/admin/namespaces", ht_auth(&s, "admin"),
                                 "{\"name\":\"victim\"}", &r), 201);
    ht_resp_free(&r);
    static const struct { const char *method, *path, *param; } cases[] = {
        { "DELETE", "/admin/namespaces/victim%00anything", "name" },
        { "DELETE", "/admin/namespaces/victim%0a", "name" },
        { "GET", "/admin/namespaces/victim%1Fx", "name" },
        { "GET", "/admin/masters/1%00xyz", "id" },
        { "GET", "/admin/provider-groups/1%7f", "id" },
        { "GET", "/admin/namespaces?status=active%00", "status" },
        { "GET", "/admin/namespaces?cursor=c1%00x", "cursor" },
        { "GET", "/admin/namespaces?limit=5%0d%0aX:1", "limit" },
        { "GET", "/admin/namespaces?limit=5&limit=6", "limit" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char what[160];
        snprintf(what, sizeof what, "%s %s", cases[i].method, cases[i].path);
        ck_assert_msg(get_auth(&s, cases[i].method, cases[i].path, &r) == 400, "%s: %d %s", what,
                      r.status, r.err);
        assert_json_error(&r, 400, "invalid_request", cases[i].param, what);
        ht_resp_free(&r);
    }
    ck_assert_int_eq(get_auth(&s, "GET", "/admin/namespaces/victim", &r), 200);
    ht_resp_free(&r);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(ids_cursors_and_limits_are_canonical)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    struct ht_resp r;
    static const char *const bad_ids[] = { "01", "+1", "-1", "0x1", "1a", "0",
                                           "9223372036854775808", "1%20" };
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "/admin/provider-groups/%s", bad_ids[i]);
        ck_assert_msg(get_auth(&s, "GET", path, &r) == 400, "%s: %d", path, r.status);
        assert_json_error(&r, 400, "invalid_request", "id", path);
        ht_resp_free(&r);
    }
    ck_assert_int_eq(get_auth(&s, "GET", "/admin/provider-groups/9223372036854775807", &r), 404);
    ht_resp_free(&r);
    ck_assert_int_eq(get_auth(&s, "GET", "/admin/masters/9223372036854775807", &r), 404);
    ht_resp_free(&r);

    static const char *const bad_cursors[] = { "c-1", "c%2B1", "c0x1", "cFF", "c01", "c", "c0",
                                               "c8000000000000000", "x1" };
    for (size_t i = 0; i < sizeof bad_cursors / sizeof bad_cursors[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "/admin/provider-groups?cursor=%s", bad_cursors[i]);
        ck_assert_msg(get_auth(&s, "GET", path, &r) == 400, "%s: %d", path, r.status);
        assert_json_error(&r, 400, "invalid_request", "cursor", path);
        ht_resp_free(&r);
    }
    static const char *const bad_limits[] = { "05", "%2B5", "-5", "0", "201", "5x", "" };
    for (size_t i = 0; i < sizeof bad_limits / sizeof bad_limits[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "/admin/provider-groups?limit=%s", bad_limits[i]);
        ck_assert_msg(get_auth(&s, "GET", path, &r) == 400, "%s: %d", path, r.status);
        assert_json_error(&r, 400, "invalid_request", "limit", path);
        ht_resp_free(&r);
    }
    ck_assert_int_eq(get_auth(&s, "GET", "/admin/provider-groups?cursor=c1&limit=5", &r), 200);
    ht_resp_free(&r);
    /* the other lists' cursors and filters: the audit log's, a group_id */
    static const struct { const char *path, *param; } others[] = {
        { "/admin/audit?cursor=a%2B1_%2B1", "cursor" }, { "/admin/audit?cursor=a1_01", "cursor" },
        { "/admin/audit?cursor=a1_1x", "cursor" },      { "/admin/audit?limit=05", "limit" },
        { "/admin/api-keys?group_id=01", "group_id" },  { "/admin/bindings?group_id=%2B1", "group_id" },
    };
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        ck_assert_msg(get_auth(&s, "GET", others[i].path, &r) == 400, "%s: %d", others[i].path,
                      r.status);
        assert_json_error(&r, 400, NULL, others[i].param, others[i].path);
        ht_resp_free(&r);
    }
    ck_assert_int_eq(get_auth(&s, "GET", "/admin/audit?cursor=a1_1&limit=5", &r), 200);
    ht_resp_free(&r);
    ck_assert_int_eq(get_auth(&s, "GET", "/admin/provider-groups?cursor=c7fffffffffffffff", &r),
                     200);
    ht_resp_free(&r);
    ht_assert_clean_stop(&s);
}
END_TEST

/* Every malformed request gets a JSON answer with its status, then the
 * connection closes: none of evhttp's HTML pages reaches a client. */
START_TEST(every_framing_error_is_a_json_answer)
{
    struct ht_server s;
    ht_server_start(&s, "max_body_size = 2048\nmax_header_size = 4096\n");
#define NUL_REQ "GET /health HTTP/1.1\r\nHost: x\r\nX: a\0b\r\n\r\n"
#define CHUNKED "POST /admin/namespaces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" \
                "Transfer-Encoding: chunked\r\n\r\n"
    static const struct {
        const char *req;
        size_t len; /* 0: strlen */
        int status;
        const char *code, *param;
    } cases[] = {
        { "GET\r\n\r\n", 0, 400, "malformed_request_line", NULL },
        { "GET /health\r\nHost: x\r\n\r\n", 0, 400, "malformed_request_line", NULL },
        { "GET /health HTTP/1.1 x\r\nHost: x\r\n\r\n", 0, 400, "malformed_request_line", NULL },
        { "GET /hea\x01lth HTTP/1.1\r\nHost: x\r\n\r\n", 0, 400, "malformed_request_line", NULL },
        { "GET /health HTTP/2.0\r\nHost: x\r\n\r\n", 0, 505, "http_version_not_supported", NULL },
        { "GET /health HTTP/1.1.1\r\nHost: x\r\n\r\n", 0, 400, "malformed_request_line", NULL },
        { "GET http://x/health HTTP/1.1\r\nHost: x\r\n\r\n", 0, 400, "invalid_request_target",
          NULL },
        { "GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n", 0, 400, "invalid_request_target", NULL },
        { "GET //x/health HTTP/1.1\r\nHost: x\r\n\r\n", 0, 400, "invalid_request_target", NULL },
        { "FOO /health HTTP/1.1\r\nHost: x\r\n\r\n", 0, 501, "method_not_implemented", NULL },
        { "TRACE /health HTTP/1.1\r\nHost: x\r\n\r\n", 0, 501, "method_not_implemented", NULL },
        { "CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n", 0, 501, "method_not_implemented", NULL },
        { "GET /health HTTP/1.1\r\nHost x\r\n\r\n", 0, 400, "malformed_header", NULL },
        { "GET /health HTTP/1.1\r\nHost: x\r\nX : y\r\n\r\n", 0, 400, "malformed_header", NULL },
        { "GET /health HTTP/1.1\r\nHost: x\r\nX: 1\r\n folded\r\n\r\n", 0, 400,
          "malformed_header", NULL },
        { NUL_REQ, sizeof NUL_REQ - 1, 400, "malformed_header", NULL },
        { "GET /health HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n", 0, 400, "malformed_header", NULL },
        { "GET /health HTTP/1.1\r\n\r\n", 0, 400, "malformed_header", "Host" },
        { "GET /health HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 0, 400, "malformed_header",
          "Host" },
        { "GET /health HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n", 0, 417,
          "expectation_failed", "Expect" },
        { "POST /admin/namespaces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 0, 501,
          "unsupported_transfer_encoding", "Transfer-Encoding" },
        { "POST /admin/namespaces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
          "Content-Length: 3\r\n\r\n", 0, 400, "conflicting_framing", "Content-Length" },
        { "POST /admin/namespaces HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\n\r\n", 0, 413,
          "body_too_large", "Content-Length" },
        { CHUNKED "zz\r\n", 0, 400, "malformed_chunked_body", NULL },
        { CHUNKED "5;x=y\r\nhello\r\n0\r\n\r\n", 0, 400, "malformed_chunked_body", NULL },
        { CHUNKED "5\r\nhelloXX\r\n0\r\n\r\n", 0, 400, "malformed_chunked_body", NULL },
        { CHUNKED "5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n", 0, 400, "malformed_chunked_body",
          NULL },
        { CHUNKED "801\r\n", 0, 413, "body_too_large", NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ht_resp r;
        int fd;
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].req);
        char what[64];
        snprintf(what, sizeof what, "case %zu (%.40s)", i, cases[i].req);
        for (char *p = what; *p; p++)
            if ((unsigned char)*p < 0x20)
                *p = ' ';
        ck_assert_msg(raw(s.port, cases[i].req, len, &r, &fd) == cases[i].status, "%s: %d %s",
                      what, r.status, r.err);
        assert_json_error(&r, cases[i].status, cases[i].code, cases[i].param, what);
        ck_assert_msg(r.conn_close, "%s: no Connection: close", what);
        ck_assert_msg(closed_within(fd, 10000), "%s: connection left open", what);
        close(fd);
        ht_resp_free(&r);
    }
    /* chunks adding up past max_body_size */
    static char big[8192];
    int n = snprintf(big, sizeof big, CHUNKED "400\r\n");
    memset(big + n, 'x', 0x400);
    n += 0x400;
    n += snprintf(big + n, sizeof big - (size_t)n, "\r\n401\r\n");
    struct ht_resp r;
    ck_assert_int_eq(raw(s.port, big, (size_t)n, &r, NULL), 413);
    assert_json_error(&r, 413, "body_too_large", NULL, "chunks over max_body_size");
    ht_resp_free(&r);
    /* a head over max_header_size */
    memset(big, 'a', sizeof big);
    n = snprintf(big, sizeof big, "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ");
    big[n] = 'a';
    ck_assert_int_eq(raw(s.port, big, 6000, &r, NULL), 431);
    assert_json_error(&r, 431, "headers_too_large", NULL, "head over max_header_size");
    ht_resp_free(&r);
#undef CHUNKED
#undef NUL_REQ
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(pipelined_requests_keep_their_order)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    const char *reqs = "GET /health HTTP/1.1\r\nHost: x\r\nX-Request-ID: first\r\n\r\n"
                       "\r\n" /* an empty line between requests is ignored */
                       "GET /no/such/route HTTP/1.1\r\nHost: x\r\nX-Request-ID: second\r\n\r\n"
                       "GET /health HTTP/9.9\r\nHost: x\r\nX-Request-ID: third\r\n\r\n"
                       "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    int fd = ht_connect(s.port);
    ck_assert(fd >= 0);
    ck_assert_int_eq(ht_send_all(fd, reqs, strlen(reqs)), 0);
    /* the server closes after the 505: read everything, then split it */
    static char all[65536];
    size_t len = 0;
    for (ssize_t n; len < sizeof all - 1 && (n = recv(fd, all + len, sizeof all - 1 - len, 0)) > 0;)
        len += (size_t)n;
    all[len] = 0;
    close(fd);
    static const struct { int status; const char *id; } want[] = {
        { 200, "first" }, { 404, "second" }, { 505, "third" },
    };
    const char *p = all;
    for (size_t i = 0; i < 3; i++) {
        int status = 0;
        const char *end = strstr(p, "\r\n\r\n");
        ck_assert_msg(end && sscanf(p, "HTTP/1.1 %d", &status) == 1, "answer %zu missing in: %s",
                      i + 1, all);
        ck_assert_msg(status == want[i].status, "answer %zu: %d, expected %d", i + 1, status,
                      want[i].status);
        char idh[64];
        snprintf(idh, sizeof idh, "X-Request-ID: %s\r\n", want[i].id);
        ck_assert_msg(memmem(p, (size_t)(end - p), idh, strlen(idh)), "answer %zu: no %s", i + 1,
                      idh);
        const char *cl = strcasestr(p, "Content-Length:");
        ck_assert(cl && cl < end);
        p = end + 4 + atol(cl + 15);
        if (i == 2) {
            ck_assert_msg(strstr(end, "\"http_version_not_supported\"") != NULL, "%s", end);
            ck_assert_msg(*p == 0, "bytes after the 505, the fourth request was answered: %s", p);
        }
    }
    ht_assert_clean_stop(&s);
}
END_TEST

/* A body the client sends in pieces, with pauses, is read whole: the part
 * evhttp has not consumed yet stays where it is. */
START_TEST(bodies_sent_in_pieces_are_read_whole)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    static const char *const bodies[][3] = {
        { "Content-Length: 19", "{\"name\":\"pie", "ces-a\"}" },
        { "Transfer-Encoding: chunked", "13\r\n{\"name\":\"pie", "ces-b\"}\r\n0\r\n\r\n" },
        { "Transfer-Encoding: chunked", "c\r\n{\"name\":\"pie\r\n", "7\r\nces-c\"}\r\n0\r\n\r\n" },
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        int fd = ht_connect(s.port);
        ck_assert(fd >= 0);
        char head[1600];
        int n = snprintf(head, sizeof head,
                         "POST /admin/namespaces HTTP/1.1\r\nHost: x\r\n%s"
                         "Content-Type: application/json\r\n%s\r\n\r\n%s",
                         ht_auth(&s, "admin"), bodies[i][0], bodies[i][1]);
        ck_assert_int_eq(ht_send_all(fd, head, (size_t)n), 0);
        ht_sleep_ms(200);
        ck_assert_int_eq(ht_send_all(fd, bodies[i][2], strlen(bodies[i][2])), 0);
        struct ht_resp r;
        ck_assert_msg(ht_read_response(fd, "POST", &r) == 0, "body %zu: %s", i, r.err);
        ck_assert_msg(r.status == 201, "body %zu: %d %.200s", i, r.status, r.body);
        ht_resp_free(&r);
        close(fd);
    }
    struct ht_resp r;
    ck_assert_int_eq(get_auth(&s, "GET", "/admin/namespaces/pieces-c", &r), 200);
    ht_resp_free(&r);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(chunked_bodies_and_expect_continue_are_served)
{
    struct ht_server s;
    ht_server_start(&s, "max_body_size = 2048\n");
    char req[2048];
    int n = snprintf(req, sizeof req,
                     "POST /admin/namespaces HTTP/1.1\r\nHost: x\r\n%s"
                     "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "8\r\n{\"name\":\r\nb\r\n\"chunked-a\"\r\n1\r\n}\r\n0\r\n\r\n",
                     ht_auth(&s, "admin"));
    struct ht_resp r;
    ck_assert_int_eq(raw(s.port, req, (size_t)n, &r, NULL), 201);
    ht_resp_free(&r);

    /* Expect: 100-continue: the interim answer, then the body, then 201 */
    int fd = ht_connect(s.port);
    ck_assert(fd >= 0);
    const char *body = "{\"name\":\"expected-b\"}";
    n = snprintf(req, sizeof req,
                 "POST /admin/namespaces HTTP/1.1\r\nHost: x\r\n%sContent-Type: application/json"
                 "\r\nExpect: 100-continue\r\nContent-Length: %zu\r\n\r\n",
                 ht_auth(&s, "admin"), strlen(body));
    ck_assert_int_eq(ht_send_all(fd, req, (size_t)n), 0);
    ck_assert_int_eq(ht_read_response(fd, "POST", &r), 0);
    ck_assert_int_eq(r.status, 100);
    ht_resp_free(&r);
    ck_assert_int_eq(ht_send_all(fd, body, strlen(body)), 0);
    ck_assert_int_eq(ht_read_response(fd, "POST", &r), 0);
    ck_assert_int_eq(r.status, 201);
    ht_resp_free(&r);
    close(fd);
    /* too large: 413 at once, no 100 */
    n = snprintf(req, sizeof req, "POST /admin/namespaces HTTP/1.1\r\nHost: x\r\n"
                 "Expect: 100-continue\r\nContent-Length: 5000\r\n\r\n");
    ck_assert_int_eq(raw(s.port, req, (size_t)n, &r, NULL), 413);
    ht_resp_free(&r);
    ck_assert_int_eq(get_auth(&s, "GET", "/admin/namespaces/chunked-a", &r), 200);
    ht_resp_free(&r);
    ck_assert_int_eq(get_auth(&s, "GET", "/admin/namespaces/expected-b", &r), 200);
    ht_resp_free(&r);
    ht_assert_clean_stop(&s);
}
END_TEST

static Suite *limits_suite(void)
{
    Suite *s = suite_create("http_limits");
    TCase *tc = ht_tcase("slow_clients");
    tcase_add_test(tc, slowloris_heads_are_cut_by_the_header_timeout);
    tcase_add_test(tc, a_handler_slower_than_request_timeout_still_answers);
    tcase_add_test(tc, slow_body_is_cut_by_the_body_timeout);
    tcase_add_test(tc, idle_connections_are_closed);
    suite_add_tcase(s, tc);
    tc = ht_tcase("greedy_clients");
    tcase_add_test(tc, huge_header_is_431_and_memory_returns);
    tcase_add_test(tc, content_length_is_strict);
    tcase_add_test(tc, worker_connections_limit_holds_extra_clients);
    tcase_add_test(tc, descriptor_exhaustion_pauses_accepts);
    suite_add_tcase(s, tc);
    tc = ht_tcase("strict_parsing");
    tcase_add_test(tc, control_bytes_in_path_and_query_are_400);
    tcase_add_test(tc, ids_cursors_and_limits_are_canonical);
    tcase_add_test(tc, every_framing_error_is_a_json_answer);
    tcase_add_test(tc, pipelined_requests_keep_their_order);
    tcase_add_test(tc, bodies_sent_in_pieces_are_read_whole);
    tcase_add_test(tc, chunked_bodies_and_expect_continue_are_served);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ht_run_suite(limits_suite());
}
