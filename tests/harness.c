/* The integration-test harness (see harness.h). Services belong to a
 * guardian process forked before Check runs: it starts and stops them on
 * request over a socket, and tears everything down when the test binary
 * ends, dies or overruns EZAPI_TEST_TIMEOUT. It must never depend on server
 * code: tests see ezapi only as a user does. */
#include "harness.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

extern char **environ;

#define HT_MAX_SERVERS 64
#define HT_PG_BINDIR_DEFAULT "/usr/lib/postgresql/15/bin"

/* ---- Shared state ------------------------------------------------------ */

/* One row per server a test started, so the guardian can kill what a dead
 * test left and the binary can show the logs of servers that did not stop. */
struct ht_server_rec {
    _Atomic pid_t pid;
    pid_t pgid;
    _Atomic int stopped;
    char log[300];
    char tcase[64];
};

/* Mapped MAP_SHARED before any fork: the test binary, its forked tests and
 * the guardian all see it. */
struct ht_shared {
    char dir[256];
    char pg_bindir[256];
    int pg_port;
    int redis_port;
    _Atomic pid_t pg_pid;
    _Atomic pid_t redis_pid;
    _Atomic pid_t test_pgid;   /* process group of the running test, 0 = none */
    pid_t owner;               /* the test binary */
    pid_t owner_pgid;
    uid_t pg_uid;              /* when root: the postgres user */
    gid_t pg_gid;
    int run_as_pg;
    _Atomic int nservers;
    struct ht_server_rec servers[HT_MAX_SERVERS];
};

static struct ht_shared *H;
static int ht_sock = -1;          /* our end of the guardian's socket */
static pid_t ht_guardian;
static int ht_timeout_s = 600;

int ht_http_timeout_ms = 15000;

/* Request to and answer from the guardian. */
struct ht_msg {
    uint32_t id;
    int32_t rc;
    char text[248];
};

/* ---- Small utilities ----------------------------------------------------- */

int64_t ht_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ht_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static char *ht_strdup(const char *s)
{
    char *p = strdup(s);
    if (!p) {
        fprintf(stderr, "harness: out of memory\n");
        abort();
    }
    return p;
}

static void *ht_realloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) {
        fprintf(stderr, "harness: out of memory\n");
        abort();
    }
    return q;
}

/* Reads a whole file; NULL when it cannot be read. *len gets its size. */
static char *ht_read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 8192, n = 0;
    char *buf = ht_realloc(NULL, cap);
    for (;;) {
        if (n + 1 >= cap) {
            cap *= 2;
            buf = ht_realloc(buf, cap);
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

void ht_write_file(const char *path, const char *content)
{
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    ck_assert_msg(f != NULL, "cannot write %s: %s", tmp, strerror(errno));
    size_t len = strlen(content);
    int ok = fwrite(content, 1, len, f) == len;
    ok = (fclose(f) == 0) && ok;
    ck_assert_msg(ok, "cannot write %s: %s", tmp, strerror(errno));
    /* rename: a reload never reads half a file */
    ck_assert_msg(rename(tmp, path) == 0, "rename %s: %s", path, strerror(errno));
}

static int ht_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP || flag == FTW_D)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

static void ht_rm_rf(const char *path)
{
    if (path[0])
        nftw(path, ht_rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/* A port nobody listens on right now: bind port 0, read it, close. Ports
 * already handed out by this process are skipped. */
static int ht_free_port(void)
{
    static int given[128];
    static int ngiven;
    for (int attempt = 0; attempt < 50; attempt++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -1;
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t alen = sizeof a;
        int port = -1;
        if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
            getsockname(fd, (struct sockaddr *)&a, &alen) == 0)
            port = ntohs(a.sin_port);
        close(fd);
        if (port <= 0)
            return -1;
        int dup = H && (port == H->pg_port || port == H->redis_port);
        for (int i = 0; i < ngiven && !dup; i++)
            dup = given[i] == port;
        if (dup)
            continue;
        if (ngiven < (int)(sizeof given / sizeof given[0]))
            given[ngiven++] = port;
        return port;
    }
    return -1;
}

/* Runs in every child before exec: default signal handling, nothing
 * blocked, and death of the parent kills it. */
static void ht_child_prepare(int deathsig, pid_t parent)
{
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, SIG_DFL);
    if (deathsig)
        prctl(PR_SET_PDEATHSIG, deathsig);
    if (getppid() != parent)
        _exit(127);
}

static void ht_redirect(const char *logpath)
{
    int in = open("/dev/null", O_RDONLY);
    if (in >= 0) {
        dup2(in, 0);
        if (in > 2)
            close(in);
    }
    int out = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (out >= 0) {
        dup2(out, 1);
        dup2(out, 2);
        if (out > 2)
            close(out);
    }
}

/* ---- The guardian: owner of PostgreSQL and Redis ------------------------ */

static volatile sig_atomic_t g_parent_gone;
static volatile sig_atomic_t g_term;

static void g_on_parent_death(int sig)
{
    (void)sig;
    g_parent_gone = 1;
}

static void g_on_term(int sig)
{
    (void)sig;
    g_term = 1;
}

/* Starts argv[0] with output appended to logpath; as the postgres user when
 * the services must not run as root. */
static pid_t g_spawn(char *const argv[], const char *logpath, int as_pg, int deathsig)
{
    pid_t me = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    ht_redirect(logpath);
    if (as_pg && H->run_as_pg) {
        if (setgroups(0, NULL) != 0 || setgid(H->pg_gid) != 0 || setuid(H->pg_uid) != 0) {
            fprintf(stderr, "harness: cannot become the postgres user: %s\n", strerror(errno));
            _exit(127);
        }
        setenv("HOME", H->dir, 1);
    }
    /* after setuid: a change of credentials clears the death signal */
    ht_child_prepare(deathsig, me);
    setenv("LC_ALL", "C", 1);
    execv(argv[0], argv);
    fprintf(stderr, "harness: exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

/* Waits for pid (a child of this process) up to ms; the wait status, or -1. */
static int g_wait(pid_t pid, int ms)
{
    int64_t end = ht_now_ms() + ms;
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return st;
        if (r < 0 && errno != EINTR)
            return -1;
        if (ht_now_ms() > end)
            return -1;
        ht_sleep_ms(20);
    }
}

static void g_kill_wait(pid_t pid, int first_sig, int ms)
{
    if (pid <= 0)
        return;
    kill(pid, first_sig);
    if (g_wait(pid, ms) != -1)
        return;
    kill(pid, SIGKILL);
    g_wait(pid, 5000);
}

static int g_pg_conninfo(char *buf, size_t len, const char *db)
{
    return snprintf(buf, len, "host=127.0.0.1 port=%d dbname=%s user=postgres connect_timeout=3",
                    H->pg_port, db);
}

static int g_initdb(char *err, size_t errlen)
{
    char bin[300], data[300], log[300];
    snprintf(bin, sizeof bin, "%s/initdb", H->pg_bindir);
    snprintf(data, sizeof data, "%s/pg", H->dir);
    snprintf(log, sizeof log, "%s/initdb.log", H->dir);
    char *argv[] = { bin, "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                     "--locale=C", "--no-sync", "--no-instructions", NULL };
    pid_t pid = g_spawn(argv, log, 1, SIGKILL);
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    int st = g_wait(pid, 120000);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        if (st == -1)
            g_kill_wait(pid, SIGKILL, 1000);
        snprintf(err, errlen, "%.100s failed (see %.120s)", bin, log);
        return -1;
    }
    return 0;
}

static int g_pg_start(char *err, size_t errlen)
{
    if (H->pg_pid > 0)
        return 0;
    char data[300], marker[320];
    snprintf(data, sizeof data, "%s/pg", H->dir);
    snprintf(marker, sizeof marker, "%s/PG_VERSION", data);
    if (access(marker, F_OK) != 0 && g_initdb(err, errlen) != 0)
        return -1;
    char bin[300], port[16], log[300];
    snprintf(bin, sizeof bin, "%s/postgres", H->pg_bindir);
    snprintf(port, sizeof port, "%d", H->pg_port);
    snprintf(log, sizeof log, "%s/postgres.log", H->dir);
    char *argv[] = { bin, "-D", data, "-p", port, "-k", H->dir,
                     "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                     "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                     "-c", "max_connections=300", "-c", "shared_buffers=64MB", NULL };
    /* SIGQUIT: immediate shutdown if the guardian itself is killed */
    pid_t pid = g_spawn(argv, log, 1, SIGQUIT);
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    H->pg_pid = pid;
    char ci[200];
    g_pg_conninfo(ci, sizeof ci, "postgres");
    int64_t end = ht_now_ms() + 60000;
    while (ht_now_ms() < end) {
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            H->pg_pid = 0;
            snprintf(err, errlen, "postgres exited at start (see %.160s)", log);
            return -1;
        }
        if (PQping(ci) == PQPING_OK)
            return 0;
        ht_sleep_ms(50);
    }
    g_kill_wait(pid, SIGQUIT, 5000);
    H->pg_pid = 0;
    snprintf(err, errlen, "postgres did not accept connections within 60 s (see %.160s)", log);
    return -1;
}

static void g_pg_stop(int sig)
{
    pid_t pid = H->pg_pid;
    if (pid > 0)
        g_kill_wait(pid, sig, 30000);
    H->pg_pid = 0;
}

static int g_redis_ping(void)
{
    struct timeval tv = { 1, 0 };
    redisContext *c = redisConnectWithTimeout("127.0.0.1", H->redis_port, tv);
    int ok = 0;
    if (c && !c->err) {
        redisReply *r = redisCommand(c, "PING");
        ok = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
        if (r)
            freeReplyObject(r);
    }
    if (c)
        redisFree(c);
    return ok;
}

static int g_redis_start(char *err, size_t errlen)
{
    if (H->redis_pid > 0)
        return 0;
    char bin[] = "/usr/bin/redis-server";
    char port[16], log[300];
    snprintf(port, sizeof port, "%d", H->redis_port);
    snprintf(log, sizeof log, "%s/redis.log", H->dir);
    char *argv[] = { bin, "--port", port, "--bind", "127.0.0.1", "--save", "",
                     "--appendonly", "no", "--dir", H->dir, "--daemonize", "no", NULL };
    if (access(bin, X_OK) != 0)
        argv[0] = "redis-server";
    pid_t pid;
    if (argv[0][0] == '/') {
        pid = g_spawn(argv, log, 0, SIGTERM);
    } else {
        snprintf(err, errlen, "redis-server not found at %s (apt-get install redis-server)", bin);
        return -1;
    }
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    H->redis_pid = pid;
    int64_t end = ht_now_ms() + 30000;
    while (ht_now_ms() < end) {
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            H->redis_pid = 0;
            snprintf(err, errlen, "redis-server exited at start (see %.160s)", log);
            return -1;
        }
        if (g_redis_ping())
            return 0;
        ht_sleep_ms(50);
    }
    g_kill_wait(pid, SIGKILL, 5000);
    H->redis_pid = 0;
    snprintf(err, errlen, "redis-server did not answer PING within 30 s (see %.160s)", log);
    return -1;
}

static void g_redis_stop(void)
{
    pid_t pid = H->redis_pid;
    if (pid > 0)
        g_kill_wait(pid, SIGTERM, 20000);
    H->redis_pid = 0;
}

/* Reaps services that died on their own. */
static void g_reap(void)
{
    pid_t pid;
    int st;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        if (pid == H->pg_pid)
            H->pg_pid = 0;
        if (pid == H->redis_pid)
            H->redis_pid = 0;
    }
}

/* Kills what a dead or overrunning test binary left: the running test's
 * process group and the servers it registered. */
static void g_kill_leftovers(void)
{
    pid_t pg = H->test_pgid;
    if (pg > 1 && pg != H->owner_pgid && pg != getpgrp())
        kill(-pg, SIGKILL);
    int n = H->nservers;
    for (int i = 0; i < n && i < HT_MAX_SERVERS; i++) {
        struct ht_server_rec *r = &H->servers[i];
        if (r->stopped || r->pid <= 0)
            continue;
        if (r->pgid > 1 && r->pgid != H->owner_pgid && r->pgid != getpgrp())
            kill(-r->pgid, SIGKILL);
        kill(r->pid, SIGKILL);
    }
}

static void g_cleanup(void)
{
    g_reap();
    g_pg_stop(SIGINT);
    g_redis_stop();
    if (getenv("EZAPI_TEST_KEEP"))
        fprintf(stderr, "harness: EZAPI_TEST_KEEP is set: keeping %s\n", H->dir);
    else
        ht_rm_rf(H->dir);
}

static void g_handle(const struct ht_msg *req, struct ht_msg *rep)
{
    char err[sizeof rep->text] = "";
    int rc = 0;
    g_reap();
    if (strcmp(req->text, "start") == 0 || strcmp(req->text, "ensure") == 0) {
        rc = g_pg_start(err, sizeof err);
        if (rc == 0)
            rc = g_redis_start(err, sizeof err);
    } else if (strcmp(req->text, "pg-start") == 0) {
        rc = g_pg_start(err, sizeof err);
    } else if (strcmp(req->text, "pg-stop") == 0) {
        g_pg_stop(SIGINT);
    } else if (strcmp(req->text, "pg-crash") == 0) {
        g_pg_stop(SIGQUIT);
    } else if (strcmp(req->text, "redis-start") == 0) {
        rc = g_redis_start(err, sizeof err);
    } else if (strcmp(req->text, "redis-stop") == 0) {
        g_redis_stop();
    } else {
        rc = -1;
        snprintf(err, sizeof err, "unknown command %.64s", req->text);
    }
    rep->id = req->id;
    rep->rc = rc;
    snprintf(rep->text, sizeof rep->text, "%s", err);
}

static void g_main(int sock, pid_t parent) __attribute__((noreturn));
static void g_main(int sock, pid_t parent)
{
    setsid(); /* out of the terminal's process group: Ctrl-C reaches the tests, not us */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = g_on_parent_death;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = g_on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGALRM, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    prctl(PR_SET_PDEATHSIG, SIGUSR1);
    if (getppid() != parent)
        g_parent_gone = 1;

    int64_t deadline = ht_now_ms() + (int64_t)ht_timeout_s * 1000;
    for (;;) {
        if (g_parent_gone || g_term) {
            fprintf(stderr, "harness: the test binary is gone; stopping PostgreSQL and Redis\n");
            g_kill_leftovers();
            g_cleanup();
            _exit(0);
        }
        int64_t left = deadline - ht_now_ms();
        if (left <= 0) {
            fprintf(stderr, "harness: the test binary ran longer than EZAPI_TEST_TIMEOUT=%d s: "
                    "killing it and everything it started\n", ht_timeout_s);
            g_kill_leftovers();
            kill(parent, SIGKILL);
            g_cleanup();
            _exit(1);
        }
        struct pollfd p = { .fd = sock, .events = POLLIN };
        int n = poll(&p, 1, left > 1000 ? 1000 : (int)left);
        if (n < 0 && errno != EINTR)
            break;
        g_reap();
        if (n <= 0)
            continue;
        struct ht_msg req;
        ssize_t r = recv(sock, &req, sizeof req, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break; /* every copy of the other end is closed: the binary is gone */
        if ((size_t)r != sizeof req)
            continue;
        req.text[sizeof req.text - 1] = '\0';
        struct ht_msg rep;
        memset(&rep, 0, sizeof rep);
        if (strcmp(req.text, "quit") == 0) {
            g_cleanup();
            rep.id = req.id;
            send(sock, &rep, sizeof rep, MSG_NOSIGNAL);
            _exit(0);
        }
        g_handle(&req, &rep);
        send(sock, &rep, sizeof rep, MSG_NOSIGNAL);
    }
    g_kill_leftovers();
    g_cleanup();
    _exit(0);
}

/* Sends a command to the guardian and waits for its answer. 0, or -1 with
 * the reason in err. */
static int ht_guardian_call(const char *cmd, char *err, size_t errlen)
{
    static uint32_t counter;
    struct ht_msg req, rep;
    memset(&req, 0, sizeof req);
    req.id = ((uint32_t)getpid() << 12) ^ ++counter;
    snprintf(req.text, sizeof req.text, "%s", cmd);
    if (send(ht_sock, &req, sizeof req, MSG_NOSIGNAL) != (ssize_t)sizeof req) {
        snprintf(err, errlen, "guardian unreachable: %s", strerror(errno));
        return -1;
    }
    int64_t end = ht_now_ms() + 180000;
    for (;;) {
        int64_t left = end - ht_now_ms();
        if (left <= 0) {
            snprintf(err, errlen, "guardian did not answer '%s'", cmd);
            return -1;
        }
        struct pollfd p = { .fd = ht_sock, .events = POLLIN };
        int n = poll(&p, 1, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            continue;
        ssize_t r = recv(ht_sock, &rep, sizeof rep, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            snprintf(err, errlen, "guardian exited");
            return -1;
        }
        if (rep.id != req.id)
            continue; /* a stale answer to a test that died waiting */
        rep.text[sizeof rep.text - 1] = '\0';
        if (rep.rc != 0) {
            snprintf(err, errlen, "%s", rep.text);
            return -1;
        }
        return 0;
    }
}

static void ht_service_cmd(const char *cmd)
{
    char err[256];
    int rc = ht_guardian_call(cmd, err, sizeof err);
    ck_assert_msg(rc == 0, "harness: %s: %s", cmd, err);
}

void ht_pg_stop(void) { ht_service_cmd("pg-stop"); }
void ht_pg_crash(void) { ht_service_cmd("pg-crash"); }
void ht_pg_start(void) { ht_service_cmd("pg-start"); }
void ht_redis_stop(void) { ht_service_cmd("redis-stop"); }
void ht_redis_start(void) { ht_service_cmd("redis-start"); }

int ht_pg_port(void) { return H->pg_port; }
int ht_redis_port(void) { return H->redis_port; }

const char *ht_pg_dsn(void)
{
    static char buf[200];
    snprintf(buf, sizeof buf, "host=127.0.0.1 port=%d dbname=ezapi user=postgres", H->pg_port);
    return buf;
}

const char *ht_redis_url(void)
{
    static char buf[64];
    snprintf(buf, sizeof buf, "redis://127.0.0.1:%d/0", H->redis_port);
    return buf;
}

static PGconn *ht_pg_connect_db(const char *db)
{
    char ci[200];
    snprintf(ci, sizeof ci, "host=127.0.0.1 port=%d dbname=%s user=postgres connect_timeout=5",
             H->pg_port, db);
    return PQconnectdb(ci);
}

PGconn *ht_pg(void)
{
    PGconn *c = ht_pg_connect_db("ezapi");
    if (PQstatus(c) != CONNECTION_OK) {
        char msg[300];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(c));
        PQfinish(c);
        ck_abort_msg("cannot connect to the test database: %s", msg);
    }
    return c;
}

redisContext *ht_redis(void)
{
    struct timeval tv = { 5, 0 };
    redisContext *c = redisConnectWithTimeout("127.0.0.1", H->redis_port, tv);
    if (!c || c->err) {
        char msg[200];
        snprintf(msg, sizeof msg, "%s", c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        ck_abort_msg("cannot connect to the test Redis: %s", msg);
    }
    redisSetTimeout(c, tv);
    return c;
}

long long ht_pg_count(const char *sql)
{
    PGconn *c = ht_pg();
    PGresult *r = PQexec(c, sql);
    long long v = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    PQfinish(c);
    return v;
}

char *ht_redis_hget(const char *key, const char *field)
{
    redisContext *c = ht_redis();
    redisReply *r = redisCommand(c, "HGET %s %s", key, field);
    char *v = NULL;
    if (r && r->type == REDIS_REPLY_STRING)
        v = ht_strdup(r->str);
    if (r)
        freeReplyObject(r);
    redisFree(c);
    return v;
}

long long ht_redis_hlen(const char *key)
{
    redisContext *c = ht_redis();
    redisReply *r = redisCommand(c, "HLEN %s", key);
    long long v = -1;
    if (r && r->type == REDIS_REPLY_INTEGER)
        v = r->integer;
    if (r)
        freeReplyObject(r);
    redisFree(c);
    return v;
}

static void ht_quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static int ht_reset_now(char *err, size_t errlen)
{
    PGconn *c = ht_pg_connect_db("postgres");
    int ok = PQstatus(c) == CONNECTION_OK;
    PQsetNoticeProcessor(c, ht_quiet, NULL); /* "does not exist, skipping" */
    const char *stmts[] = { "DROP DATABASE IF EXISTS ezapi WITH (FORCE)",
                            "CREATE DATABASE ezapi" };
    for (size_t i = 0; ok && i < sizeof stmts / sizeof stmts[0]; i++) {
        PGresult *r = PQexec(c, stmts[i]);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
    }
    if (!ok)
        snprintf(err, errlen, "re-creating database ezapi: %s", PQerrorMessage(c));
    PQfinish(c);
    if (!ok)
        return -1;
    struct timeval tv = { 5, 0 };
    redisContext *rc = redisConnectWithTimeout("127.0.0.1", H->redis_port, tv);
    redisReply *r = rc && !rc->err ? redisCommand(rc, "FLUSHALL") : NULL;
    ok = r && r->type == REDIS_REPLY_STATUS;
    if (!ok)
        snprintf(err, errlen, "FLUSHALL: %s", rc && rc->err ? rc->errstr : "failed");
    if (r)
        freeReplyObject(r);
    if (rc)
        redisFree(rc);
    return ok ? 0 : -1;
}

void ht_reset(void)
{
    char err[400];
    ck_assert_msg(ht_reset_now(err, sizeof err) == 0, "harness: %s", err);
}

/* ---- Start and stop of the whole binary ----------------------------------- */

static void ht_dump_unstopped_servers(void)
{
    int n = H->nservers;
    for (int i = 0; i < n && i < HT_MAX_SERVERS; i++) {
        struct ht_server_rec *r = &H->servers[i];
        if (r->stopped)
            continue;
        struct ht_server tmp;
        memset(&tmp, 0, sizeof tmp);
        snprintf(tmp.log, sizeof tmp.log, "%s", r->log);
        char *tail = ht_server_log_tail(&tmp, 60);
        fprintf(stderr, "\n----- ezapi pid %d of test case %s did not stop cleanly; end of %s -----\n%s"
                "----- end -----\n", (int)r->pid, r->tcase, r->log, tail ? tail : "(no log)\n");
        free(tail);
    }
}

static void ht_services_stop(void)
{
    if (!H || getpid() != H->owner || ht_sock < 0)
        return;
    ht_dump_unstopped_servers();
    char err[256];
    if (ht_guardian_call("quit", err, sizeof err) != 0)
        fprintf(stderr, "harness: %s\n", err);
    close(ht_sock);
    ht_sock = -1;
    int st;
    while (waitpid(ht_guardian, &st, 0) < 0 && errno == EINTR)
        ;
    munmap(H, sizeof *H);
    H = NULL;
}

static int ht_services_start(void)
{
    H = mmap(NULL, sizeof *H, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (H == MAP_FAILED) {
        H = NULL;
        fprintf(stderr, "harness: mmap: %s\n", strerror(errno));
        return -1;
    }
    memset(H, 0, sizeof *H);
    H->owner = getpid();
    H->owner_pgid = getpgrp();

    const char *t = getenv("EZAPI_TEST_TIMEOUT");
    if (t && atoi(t) > 0)
        ht_timeout_s = atoi(t);
    const char *bindir = getenv("EZAPI_PG_BINDIR");
    snprintf(H->pg_bindir, sizeof H->pg_bindir, "%s", bindir ? bindir : HT_PG_BINDIR_DEFAULT);
    char initdb[300];
    snprintf(initdb, sizeof initdb, "%s/initdb", H->pg_bindir);
    if (access(initdb, X_OK) != 0) {
        fprintf(stderr, "harness: %s not found (apt-get install postgresql-15, or set EZAPI_PG_BINDIR)\n",
                initdb);
        return -1;
    }

    const char *tmp = getenv("TMPDIR");
    snprintf(H->dir, sizeof H->dir, "%s/ezapi-test-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(H->dir)) {
        fprintf(stderr, "harness: mkdtemp %s: %s\n", H->dir, strerror(errno));
        H->dir[0] = '\0';
        return -1;
    }
    if (geteuid() == 0) {
        /* initdb and postgres refuse to run as root */
        struct passwd *pw = getpwnam("postgres");
        if (!pw) {
            fprintf(stderr, "harness: running as root needs the postgres system user "
                    "(apt-get install postgresql)\n");
            ht_rm_rf(H->dir);
            return -1;
        }
        H->run_as_pg = 1;
        H->pg_uid = pw->pw_uid;
        H->pg_gid = pw->pw_gid;
        if (chown(H->dir, pw->pw_uid, pw->pw_gid) != 0) {
            fprintf(stderr, "harness: chown %s: %s\n", H->dir, strerror(errno));
            ht_rm_rf(H->dir);
            return -1;
        }
    }
    H->pg_port = ht_free_port();
    H->redis_port = ht_free_port();

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        fprintf(stderr, "harness: socketpair: %s\n", strerror(errno));
        ht_rm_rf(H->dir);
        return -1;
    }
    fflush(NULL);
    pid_t parent = getpid();
    ht_guardian = fork();
    if (ht_guardian < 0) {
        fprintf(stderr, "harness: fork: %s\n", strerror(errno));
        ht_rm_rf(H->dir);
        return -1;
    }
    if (ht_guardian == 0) {
        close(sv[0]);
        g_main(sv[1], parent);
    }
    close(sv[1]);
    ht_sock = sv[0];
    atexit(ht_services_stop);

    char err[400];
    if (ht_guardian_call("start", err, sizeof err) != 0 || ht_reset_now(err, sizeof err) != 0) {
        fprintf(stderr, "harness: cannot start the test services: %s\n", err);
        return -1;
    }
    return 0;
}

/* ---- Check glue ----------------------------------------------------------- */

/* A child a test left stopped (SIGSTOP) could not drain: wake them all. */
static void ht_server_cont_children(struct ht_server *s)
{
    pid_t kids[256];
    int n = ht_server_children(s, "", kids, 256);
    for (int i = 0; i < n && i < 256; i++)
        kill(kids[i], SIGCONT);
}

static void ht_test_setup(void)
{
    if (getpgrp() != H->owner_pgid)
        H->test_pgid = getpgrp();
    ht_http_timeout_ms = 15000;
    char err[400];
    int rc = ht_guardian_call("ensure", err, sizeof err);
    ck_assert_msg(rc == 0, "harness: services: %s", err);
    ht_reset();
}

static void ht_test_teardown(void)
{
    int n = H->nservers;
    pid_t me = getpgrp();
    for (int i = 0; i < n && i < HT_MAX_SERVERS; i++) {
        struct ht_server_rec *r = &H->servers[i];
        if (r->stopped || r->pgid != me || r->pid <= 0)
            continue;
        struct ht_server s;
        memset(&s, 0, sizeof s);
        s.pid = r->pid;
        snprintf(s.log, sizeof s.log, "%s", r->log);
        if (ht_server_wait_exit(&s, 0) == -1) {
            ht_server_cont_children(&s);
            ht_server_signal(&s, SIGTERM);
            if (ht_server_wait_exit(&s, 20000) == -1) {
                kill(s.pid, SIGKILL);
                ht_server_wait_exit(&s, 5000);
            }
        }
    }
    H->test_pgid = 0;
}

TCase *ht_tcase(const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, ht_test_setup, ht_test_teardown);
    if (!getenv("CK_DEFAULT_TIMEOUT"))
        tcase_set_timeout(tc, 120);
    return tc;
}

int ht_run_suite(Suite *suite)
{
    const char *bin = getenv("EZAPI_BIN");
    if (!bin || access(bin, X_OK) != 0) {
        fprintf(stderr, "harness: EZAPI_BIN (%s) is not an executable ezapi binary\n",
                bin ? bin : "unset");
        return 99;
    }
    if (ht_services_start() != 0) {
        ht_services_stop();
        if (H && H->dir[0])
            ht_rm_rf(H->dir);
        return 99;
    }
    /* Failure messages carry log tails of up to 16 KiB: past Check's
     * default limit (4 KiB) the test would die with no message at all. */
    check_set_max_msg_size(32768);
    SRunner *sr = srunner_create(suite);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    ht_services_stop();
    return failed ? 1 : 0;
}

/* ---- /proc ---------------------------------------------------------------- */

/* ppid and state of pid from /proc/PID/stat; -1 when gone. */
static int ht_proc_stat(pid_t pid, pid_t *ppid, char *state)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
    if (!p)
        return -1;
    char st;
    int pp;
    if (sscanf(p + 1, " %c %d", &st, &pp) != 2)
        return -1;
    if (ppid)
        *ppid = pp;
    if (state)
        *state = st;
    return 0;
}

const char *ht_proc_title(pid_t pid)
{
    static char buf[4096];
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    buf[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return buf;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0)
        n = 0;
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == '\0')
            buf[i] = ' ';
    while (n > 0 && buf[n - 1] == ' ')
        n--;
    buf[n] = '\0';
    return buf;
}

int ht_proc_alive(pid_t pid)
{
    char st = ht_proc_state(pid);
    return st != 0 && st != 'Z' && st != 'X';
}

char ht_proc_state(pid_t pid)
{
    char st = 0;
    if (pid <= 0 || ht_proc_stat(pid, NULL, &st) != 0)
        return 0;
    return st;
}

/* Children of the supervisor whose title is "ezapi: " + want (exact = 1:
 * the whole title, so "worker 0" is neither "worker 0 retiring" nor
 * "worker 01"; exact = 0: a prefix). */
static int ht_find_children(pid_t parent, const char *want, int exact, pid_t *pids, int max)
{
    char full[256];
    snprintf(full, sizeof full, "ezapi: %s", want);
    size_t flen = strlen(full);
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        pid_t pid = (pid_t)atoi(e->d_name);
        pid_t ppid;
        char st;
        if (ht_proc_stat(pid, &ppid, &st) != 0 || ppid != parent || st == 'Z')
            continue;
        const char *t = ht_proc_title(pid);
        if (strncmp(t, full, flen) != 0)
            continue;
        if (exact && t[flen] != '\0')
            continue;
        if (count < max)
            pids[count] = pid;
        count++;
    }
    closedir(d);
    return count;
}

pid_t ht_server_child_pid(struct ht_server *s, const char *title)
{
    pid_t pid = 0;
    if (s->pid <= 0)
        return 0;
    return ht_find_children(s->pid, title, 1, &pid, 1) > 0 ? pid : 0;
}

int ht_server_child_replaced(struct ht_server *s, const char *title, pid_t old, pid_t *now)
{
    *now = ht_server_child_pid(s, title);
    return *now != 0 && *now != old;
}

int ht_server_children(struct ht_server *s, const char *prefix, pid_t *pids, int max)
{
    if (s->pid <= 0)
        return 0;
    return ht_find_children(s->pid, prefix, 0, pids, max);
}

/* ---- Commands --------------------------------------------------------------- */

static const char *ht_bin(void)
{
    const char *b = getenv("EZAPI_BIN");
    ck_assert_msg(b != NULL, "EZAPI_BIN is not set");
    return b;
}

/* The environment of a child: ours without EZAPI_* (so only the config
 * file speaks) plus the caller's additions. */
static void ht_clean_env(void)
{
    for (;;) {
        char name[256] = "";
        for (char **e = environ; e && *e; e++) {
            if (strncmp(*e, "EZAPI_", 6) == 0) {
                const char *eq = strchr(*e, '=');
                size_t n = eq ? (size_t)(eq - *e) : strlen(*e);
                if (n < sizeof name) {
                    memcpy(name, *e, n);
                    name[n] = '\0';
                }
                break;
            }
        }
        if (!name[0])
            return;
        unsetenv(name);
    }
}

static void ht_run_argv(struct ht_cmd *c, char *const argv[], int timeout_ms)
{
    memset(c, 0, sizeof *c);
    c->status = -1;
    int po[2], pe[2];
    if (pipe2(po, O_CLOEXEC) != 0)
        return;
    if (pipe2(pe, O_CLOEXEC) != 0) {
        close(po[0]);
        close(po[1]);
        return;
    }
    pid_t me = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        if (in >= 0)
            dup2(in, 0);
        dup2(po[1], 1);
        dup2(pe[1], 2);
        ht_child_prepare(SIGKILL, me);
        ht_clean_env();
        execv(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    if (pid < 0) {
        close(po[0]);
        close(pe[0]);
        return;
    }
    size_t cap[2] = { 4096, 4096 }, len[2] = { 0, 0 };
    char *buf[2] = { ht_realloc(NULL, cap[0]), ht_realloc(NULL, cap[1]) };
    struct pollfd p[2] = { { .fd = po[0], .events = POLLIN }, { .fd = pe[0], .events = POLLIN } };
    int open_fds = 2, timed_out = 0;
    int64_t end = ht_now_ms() + timeout_ms;
    while (open_fds > 0) {
        int64_t left = end - ht_now_ms();
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        int n = poll(p, 2, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            continue;
        for (int i = 0; i < 2; i++) {
            if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (len[i] + 4097 > cap[i]) {
                cap[i] *= 2;
                buf[i] = ht_realloc(buf[i], cap[i]);
            }
            ssize_t r = read(p[i].fd, buf[i] + len[i], cap[i] - len[i] - 1);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                close(p[i].fd);
                p[i].fd = -1;
                open_fds--;
            } else {
                len[i] += (size_t)r;
            }
        }
    }
    for (int i = 0; i < 2; i++) {
        if (p[i].fd >= 0)
            close(p[i].fd);
        buf[i][len[i]] = '\0';
    }
    c->out = buf[0];
    c->err = buf[1];
    if (timed_out)
        kill(pid, SIGKILL);
    int st;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR)
            return;
    }
    if (timed_out)
        c->status = -1;
    else if (WIFEXITED(st))
        c->status = WEXITSTATUS(st);
    else if (WIFSIGNALED(st))
        c->status = 128 + WTERMSIG(st);
}

void ht_ezapi(struct ht_cmd *c, const char *arg, ...)
{
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)ht_bin();
    va_list ap;
    va_start(ap, arg);
    for (const char *a = arg; a && n < 31; a = va_arg(ap, const char *))
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    ht_run_argv(c, argv, 30000);
    if (!c->out)
        c->out = ht_strdup("");
    if (!c->err)
        c->err = ht_strdup("");
}

void ht_cmd_free(struct ht_cmd *c)
{
    free(c->out);
    free(c->err);
    c->out = c->err = NULL;
}

/* ---- The server ----------------------------------------------------------- */

static void ht_random_secret(char out[41])
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char raw[40];
    size_t got = 0;
    while (got < sizeof raw) {
        ssize_t r = getrandom(raw + got, sizeof raw - got, 0);
        if (r > 0)
            got += (size_t)r;
        else if (errno != EINTR)
            abort();
    }
    for (int i = 0; i < 40; i++)
        out[i] = alphabet[raw[i] % (sizeof alphabet - 1)];
    out[40] = '\0';
}

/* Does extra_conf set key? The key is what precedes '=' on a line that is
 * not a comment, trimmed. When it does and value is not NULL, the value is
 * copied there. */
static int ht_conf_has(const char *extra, const char *key, char *value, size_t vlen)
{
    if (!extra)
        return 0;
    size_t klen = strlen(key);
    const char *line = extra;
    while (*line) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        const char *p = line;
        while (p < line + len && (*p == ' ' || *p == '\t'))
            p++;
        const char *eq = memchr(p, '=', (size_t)(line + len - p));
        if (*p != '#' && eq) {
            const char *kend = eq;
            while (kend > p && (kend[-1] == ' ' || kend[-1] == '\t'))
                kend--;
            if ((size_t)(kend - p) == klen && strncmp(p, key, klen) == 0) {
                if (value) {
                    const char *v = eq + 1, *vend = line + len;
                    while (v < vend && (*v == ' ' || *v == '\t'))
                        v++;
                    while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t' || vend[-1] == '\r'))
                        vend--;
                    snprintf(value, vlen, "%.*s", (int)(vend - v), v);
                }
                return 1;
            }
        }
        line += len;
        if (*line == '\n')
            line++;
    }
    return 0;
}

void ht_server_write_conf(struct ht_server *s, const char *extra)
{
    char listen[256];
    if (ht_conf_has(extra, "listen", listen, sizeof listen)) {
        const char *colon = strrchr(listen, ':');
        s->port = colon ? atoi(colon + 1) : 0;
    } else {
        snprintf(listen, sizeof listen, "127.0.0.1:%d", s->port);
    }
    const char *defaults[][2] = {
        { "listen", listen },
        { "workers", "2" },
        { "pg_dsn", ht_pg_dsn() },
        { "redis_url", ht_redis_url() },
        { "admin_jwt_secret", s->admin_secret },
        { "master_jwt_secret", s->master_secret },
        { "log_format", "json" },
        { "log_level", "info" },
        { "shutdown_timeout", "5s" },
    };
    size_t cap = 4096 + (extra ? strlen(extra) : 0);
    char *text = ht_realloc(NULL, cap);
    size_t n = (size_t)snprintf(text, cap, "# written by tests/harness.c\n");
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        if (!ht_conf_has(extra, defaults[i][0], NULL, 0))
            n += (size_t)snprintf(text + n, cap - n, "%s = %s\n", defaults[i][0], defaults[i][1]);
    if (extra && *extra) {
        size_t el = strlen(extra);
        n += (size_t)snprintf(text + n, cap - n, "%s%s", extra, extra[el - 1] == '\n' ? "" : "\n");
    }
    ht_write_file(s->conf, text);
    free(text);
}

void ht_server_init(struct ht_server *s, const char *extra_conf)
{
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "%.200s/srv-XXXXXX", H->dir);
    ck_assert_msg(mkdtemp(s->dir) != NULL, "mkdtemp %s: %s", s->dir, strerror(errno));
    snprintf(s->conf, sizeof s->conf, "%s/ezapi.conf", s->dir);
    snprintf(s->log, sizeof s->log, "%s/ezapi.log", s->dir);
    ht_random_secret(s->admin_secret);
    ht_random_secret(s->master_secret);
    s->port = ht_free_port();
    ck_assert_msg(s->port > 0, "no free port");
    ht_server_write_conf(s, extra_conf);
}

void ht_server_spawn(struct ht_server *s)
{
    const char *bin = ht_bin();
    pid_t me = getpid();
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        ht_redirect(s->log);
        /* a killed test leaves nothing running */
        ht_child_prepare(SIGTERM, me);
        ht_clean_env();
        execl(bin, bin, "-c", s->conf, (char *)NULL);
        fprintf(stderr, "harness: exec %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    s->pid = pid;
    int i = atomic_fetch_add(&H->nservers, 1);
    if (i < HT_MAX_SERVERS) {
        struct ht_server_rec *r = &H->servers[i];
        r->pgid = getpgrp();
        snprintf(r->log, sizeof r->log, "%s", s->log);
#if CHECK_MAJOR_VERSION > 0 || CHECK_MINOR_VERSION >= 13
        const char *tc = tcase_name();
        snprintf(r->tcase, sizeof r->tcase, "%s", tc ? tc : "?");
#endif
        r->pid = pid;
    }
}

static void ht_server_mark_stopped(pid_t pid)
{
    int n = H->nservers;
    for (int i = 0; i < n && i < HT_MAX_SERVERS; i++)
        if (H->servers[i].pid == pid)
            H->servers[i].stopped = 1;
}

void ht_server_wait_ready(struct ht_server *s)
{
    int64_t end = ht_now_ms() + 20000;
    int saved = ht_http_timeout_ms;
    int last = -1;
    ht_http_timeout_ms = 2000;
    for (;;) {
        int st = ht_server_wait_exit(s, 0);
        if (st != -1) {
            ht_http_timeout_ms = saved;
            char *tail = ht_server_log_tail(s, 40);
            ck_abort_msg("ezapi exited during start-up with status %d; end of %s:\n%s", st, s->log,
                         tail ? tail : "");
        }
        struct ht_resp r;
        last = ht_http(s->port, "GET", "/health/ready", NULL, NULL, 0, &r);
        ht_resp_free(&r);
        if (last == 200)
            break;
        if (ht_now_ms() > end) {
            ht_http_timeout_ms = saved;
            char *tail = ht_server_log_tail(s, 40);
            kill(s->pid, SIGKILL);
            ht_server_wait_exit(s, 5000);
            ck_abort_msg("ezapi not ready within 20 s (last GET /health/ready: %d); end of %s:\n%s",
                         last, s->log, tail ? tail : "");
        }
        ht_sleep_ms(50);
    }
    ht_http_timeout_ms = saved;
}

void ht_server_start(struct ht_server *s, const char *extra_conf)
{
    ht_server_init(s, extra_conf);
    ht_server_spawn(s);
    ht_server_wait_ready(s);
}

int ht_server_wait_exit(struct ht_server *s, int timeout_ms)
{
    if (s->pid <= 0)
        return -1;
    int64_t end = ht_now_ms() + timeout_ms;
    for (;;) {
        int st;
        pid_t r = waitpid(s->pid, &st, WNOHANG);
        if (r == s->pid) {
            ht_server_mark_stopped(s->pid);
            s->pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        if (r < 0 && errno != EINTR) {
            /* not our child (started by another process): poll /proc */
            if (!ht_proc_alive(s->pid)) {
                ht_server_mark_stopped(s->pid);
                s->pid = 0;
                return 0;
            }
        }
        if (ht_now_ms() >= end)
            return -1;
        ht_sleep_ms(20);
    }
}

void ht_server_signal(struct ht_server *s, int sig)
{
    ck_assert_msg(s->pid > 0, "the server is not running");
    kill(s->pid, sig);
}

void ht_server_reload(struct ht_server *s)
{
    ht_server_signal(s, SIGHUP);
}

int ht_server_stop(struct ht_server *s)
{
    ck_assert_msg(s->pid > 0, "ht_server_stop: the server is not running");
    ht_server_cont_children(s);
    pid_t pid = s->pid;
    kill(pid, SIGTERM);
    int st = ht_server_wait_exit(s, 20000);
    if (st == -1) {
        char *tail = ht_server_log_tail(s, 40);
        kill(pid, SIGKILL);
        ht_server_wait_exit(s, 5000);
        ck_abort_msg("ezapi (pid %d) did not exit within 20 s of SIGTERM; end of %s:\n%s",
                     (int)pid, s->log, tail ? tail : "");
    }
    return st;
}

void ht_assert_clean_stop_at(struct ht_server *s, const char *file, int line)
{
    int st = ht_server_stop(s);
    if (st != 0) {
        char *tail = ht_server_log_tail(s, 40);
        ck_abort_msg("%s:%d: ezapi exited with status %d after SIGTERM (expected 0); end of %s:\n%s",
                     file, line, st, s->log, tail ? tail : "");
    }
    ht_assert_no_log_errors_at(s, file, line);
}

void ht_assert_no_log_errors_at(struct ht_server *s, const char *file, int line)
{
    char *errs = ht_server_log_errors(s);
    if (errs)
        ck_abort_msg("%s:%d: ezapi logged errors (%s):\n%s", file, line, s->log, errs);
}

long ht_server_log_mark(struct ht_server *s)
{
    struct stat st;
    return stat(s->log, &st) == 0 ? (long)st.st_size : 0;
}

int ht_server_log_contains_since(struct ht_server *s, long mark, const char *needle)
{
    size_t len;
    char *text = ht_read_file(s->log, &len);
    if (!text)
        return 0;
    int found = (size_t)mark <= len && strstr(text + mark, needle) != NULL;
    free(text);
    return found;
}

char *ht_server_log_since(struct ht_server *s, long mark)
{
    size_t len;
    char *text = ht_read_file(s->log, &len);
    if (!text)
        return ht_strdup("");
    if (mark < 0 || (size_t)mark > len)
        mark = (long)len;
    memmove(text, text + mark, len - (size_t)mark + 1);
    return text;
}

int ht_server_log_contains(struct ht_server *s, const char *needle)
{
    return ht_server_log_contains_since(s, 0, needle);
}

static int ht_is_error_line(const char *line, size_t len)
{
    static const char *const marks[] = {
        "\"level\":\"error\"", "\"level\": \"error\"", "\"level\":\"fatal\"",
        "ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "SUMMARY: AddressSanitizer",
        "SUMMARY: UndefinedBehaviorSanitizer", "runtime error:",
    };
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++)
        if (memmem(line, len, marks[i], strlen(marks[i])))
            return 1;
    return 0;
}

/* The log's lines for which keep(line, len, arg) holds, at most 8 KiB of
 * them: a malloc'd string, or NULL when none holds. */
static char *ht_server_log_filter(struct ht_server *s,
                                  int (*keep)(const char *, size_t, const void *), const void *arg)
{
    size_t len;
    char *text = ht_read_file(s->log, &len);
    if (!text)
        return NULL;
    char *out = NULL;
    size_t olen = 0;
    for (char *p = text; *p;) {
        char *eol = strchr(p, '\n');
        size_t ll = eol ? (size_t)(eol - p) : strlen(p);
        if (olen < 8192 && keep(p, ll, arg)) {
            out = ht_realloc(out, olen + ll + 2);
            memcpy(out + olen, p, ll);
            olen += ll;
            out[olen++] = '\n';
            out[olen] = '\0';
        }
        p += ll;
        if (*p == '\n')
            p++;
    }
    free(text);
    return out;
}

static int ht_keep_error(const char *line, size_t len, const void *unused)
{
    (void)unused;
    return ht_is_error_line(line, len);
}

char *ht_server_log_errors(struct ht_server *s)
{
    return ht_server_log_filter(s, ht_keep_error, NULL);
}

static int ht_keep_role(const char *line, size_t len, const void *role)
{
    char want[64];
    int n = snprintf(want, sizeof want, "\"role\":\"%s\"", (const char *)role);
    return n > 0 && (size_t)n < sizeof want && memmem(line, len, want, (size_t)n) != NULL;
}

char *ht_server_log_of(struct ht_server *s, const char *role)
{
    return ht_server_log_filter(s, ht_keep_role, role);
}

char *ht_server_log_tail(struct ht_server *s, int nlines)
{
    size_t len;
    char *text = ht_read_file(s->log, &len);
    if (!text)
        return NULL;
    size_t start = len;
    int seen = 0;
    while (start > 0) {
        if (text[start - 1] == '\n' && start != len && ++seen >= nlines)
            break;
        start--;
    }
    if (len - start > 16384)
        start = len - 16384;
    memmove(text, text + start, len - start + 1);
    return text;
}

const char *ht_admin_token(struct ht_server *s, const char *role)
{
    int i = strcmp(role, "viewer") == 0 ? 1 : 0;
    if (s->token[i][0])
        return s->token[i];
    struct ht_cmd c;
    ht_ezapi(&c, "token", "admin", "-c", s->conf, "--role", role, NULL);
    size_t n = strlen(c.out);
    while (n > 0 && isspace((unsigned char)c.out[n - 1]))
        c.out[--n] = '\0';
    if (c.status != 0 || n == 0 || n >= sizeof s->token[i]) {
        char msg[600];
        snprintf(msg, sizeof msg, "status %d, stderr: %.400s", c.status, c.err);
        ht_cmd_free(&c);
        ck_abort_msg("ezapi token admin --role %s failed: %s", role, msg);
    }
    snprintf(s->token[i], sizeof s->token[i], "%s", c.out);
    ht_cmd_free(&c);
    char *a = s->auth[i];
    strcpy(a, "Authorization: Bearer ");
    strcat(a, s->token[i]);
    strcat(a, "\r\n");
    return s->token[i];
}

const char *ht_auth(struct ht_server *s, const char *role)
{
    int i = strcmp(role, "viewer") == 0 ? 1 : 0;
    ht_admin_token(s, role);
    return s->auth[i];
}

/* ---- HTTP client ------------------------------------------------------------ */

int ht_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = { ht_http_timeout_ms / 1000, (ht_http_timeout_ms % 1000) * 1000 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    while (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (errno == EINTR)
            continue;
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int ht_send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

struct ht_rbuf {
    int fd;
    char *buf;
    size_t len;
    size_t cap;
};

/* Reads more bytes: >0, 0 at end of stream, or an HT_ERR_*. */
static int ht_rbuf_fill(struct ht_rbuf *b)
{
    if (b->len + 4096 + 1 > b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16384;
        b->buf = ht_realloc(b->buf, b->cap);
    }
    for (;;) {
        ssize_t n = recv(b->fd, b->buf + b->len, b->cap - b->len - 1, 0);
        if (n > 0) {
            b->len += (size_t)n;
            b->buf[b->len] = '\0';
            return (int)n;
        }
        if (n == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return HT_ERR_TIMEOUT;
        if (errno == ECONNRESET || errno == EPIPE)
            return HT_ERR_RESET;
        return HT_ERR_IO;
    }
}

static int ht_fail(struct ht_resp *out, int code, const char *what)
{
    const char *kind = code == HT_ERR_TIMEOUT ? "timeout" : code == HT_ERR_RESET ? "connection reset"
                     : code == HT_ERR_SHORT ? "connection closed early" : code == HT_ERR_PROTO
                     ? "malformed response" : "i/o error";
    snprintf(out->err, sizeof out->err, "%s: %s", kind, what);
    return code;
}

/* Makes sure b holds at least want bytes; 0 or an HT_ERR_*. */
static int ht_rbuf_need(struct ht_rbuf *b, size_t want)
{
    while (b->len < want) {
        int r = ht_rbuf_fill(b);
        if (r == 0)
            return HT_ERR_SHORT;
        if (r < 0)
            return r;
    }
    return 0;
}

/* Position just after the next CRLF at or after pos; 0 or an HT_ERR_*. */
static int ht_rbuf_line(struct ht_rbuf *b, size_t pos, size_t *eol)
{
    for (;;) {
        char *p = b->len > pos ? memmem(b->buf + pos, b->len - pos, "\r\n", 2) : NULL;
        if (p) {
            *eol = (size_t)(p - b->buf) + 2;
            return 0;
        }
        if (b->len - pos > 65536)
            return HT_ERR_PROTO;
        int r = ht_rbuf_fill(b);
        if (r == 0)
            return HT_ERR_SHORT;
        if (r < 0)
            return r;
    }
}

static void ht_parse_head(struct ht_resp *out, const char *raw, size_t len, int *minor)
{
    out->head = ht_realloc(NULL, len + 1);
    memcpy(out->head, raw, len);
    out->head[len] = '\0';
    char *save = NULL;
    char *line = strtok_r(out->head, "\r\n", &save);
    int major = 0;
    *minor = 1;
    if (line && sscanf(line, "HTTP/%d.%d %d", &major, minor, &out->status) != 3)
        out->status = 0;
    while ((line = strtok_r(NULL, "\r\n", &save)) != NULL && out->nheaders < HT_MAX_HEADERS) {
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        char *e = v + strlen(v);
        while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
            *--e = '\0';
        out->names[out->nheaders] = line;
        out->values[out->nheaders] = v;
        out->nheaders++;
    }
}

static int ht_token_in(const char *value, const char *token)
{
    if (!value)
        return 0;
    size_t tl = strlen(token);
    for (const char *p = value; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *te = e;
        while (te > p && te[-1] == ' ')
            te--;
        if ((size_t)(te - p) == tl && strncasecmp(p, token, tl) == 0)
            return 1;
        p = e;
    }
    return 0;
}

int ht_read_response(int fd, const char *method, struct ht_resp *out)
{
    memset(out, 0, sizeof *out);
    struct ht_rbuf b = { .fd = fd };
    int rc;
    char *hend;
    /* the head */
    for (;;) {
        hend = b.len ? memmem(b.buf, b.len, "\r\n\r\n", 4) : NULL;
        if (hend)
            break;
        if (b.len > 65536) {
            free(b.buf);
            return ht_fail(out, HT_ERR_PROTO, "header block over 64 KiB");
        }
        int r = ht_rbuf_fill(&b);
        if (r <= 0) {
            free(b.buf);
            return ht_fail(out, r == 0 ? HT_ERR_SHORT : r, b.len ? "inside the headers"
                          : "before any byte of the response");
        }
    }
    size_t hlen = (size_t)(hend - b.buf);
    size_t pos = hlen + 4;
    int minor;
    ht_parse_head(out, b.buf, hlen, &minor);
    if (out->status < 100 || out->status > 999) {
        free(b.buf);
        return ht_fail(out, HT_ERR_PROTO, "bad status line");
    }
    const char *conn = ht_resp_header(out, "Connection");
    out->conn_close = ht_token_in(conn, "close") || (minor == 0 && !ht_token_in(conn, "keep-alive"));

    const char *te = ht_resp_header(out, "Transfer-Encoding");
    const char *cl = ht_resp_header(out, "Content-Length");
    size_t blen = 0;
    char *body = NULL;
    rc = 0;
    if (strcmp(method, "HEAD") == 0 || out->status / 100 == 1 || out->status == 204 ||
        out->status == 304) {
        /* no body */
    } else if (te && ht_token_in(te, "chunked")) {
        for (;;) {
            size_t eol;
            if ((rc = ht_rbuf_line(&b, pos, &eol)) != 0)
                break;
            char *endp;
            unsigned long sz = strtoul(b.buf + pos, &endp, 16);
            if (endp == b.buf + pos) {
                rc = HT_ERR_PROTO;
                break;
            }
            pos = eol;
            if (sz == 0) {
                /* trailers, up to the empty line */
                for (;;) {
                    if ((rc = ht_rbuf_line(&b, pos, &eol)) != 0)
                        break;
                    int empty = eol == pos + 2;
                    pos = eol;
                    if (empty)
                        break;
                }
                break;
            }
            if (sz > 64UL * 1024 * 1024 || (rc = ht_rbuf_need(&b, pos + sz + 2)) != 0) {
                if (!rc)
                    rc = HT_ERR_PROTO;
                break;
            }
            body = ht_realloc(body, blen + sz + 1);
            memcpy(body + blen, b.buf + pos, sz);
            blen += sz;
            pos += sz + 2;
        }
    } else if (cl) {
        char *endp;
        unsigned long long n = strtoull(cl, &endp, 10);
        if (endp == cl || n > 64ULL * 1024 * 1024)
            rc = HT_ERR_PROTO;
        else if ((rc = ht_rbuf_need(&b, pos + n)) == 0) {
            blen = (size_t)n;
            body = ht_realloc(NULL, blen + 1);
            memcpy(body, b.buf + pos, blen);
        }
    } else {
        /* to the end of the stream */
        for (;;) {
            int r = ht_rbuf_fill(&b);
            if (r == 0)
                break;
            if (r < 0) {
                rc = r;
                break;
            }
        }
        out->conn_close = 1;
        if (!rc) {
            blen = b.len - pos;
            body = ht_realloc(NULL, blen + 1);
            memcpy(body, b.buf + pos, blen);
        }
    }
    free(b.buf);
    if (rc) {
        free(body);
        return ht_fail(out, rc, "inside the body");
    }
    if (!body)
        body = ht_realloc(NULL, 1);
    body[blen] = '\0';
    out->body = body;
    out->body_len = blen;
    return 0;
}

int ht_http(int port, const char *method, const char *path, const char *extra_headers,
           const char *body, size_t body_len, struct ht_resp *out)
{
    memset(out, 0, sizeof *out);
    int fd = ht_connect(port);
    if (fd < 0) {
        snprintf(out->err, sizeof out->err, "connect to 127.0.0.1:%d: %s", port, strerror(errno));
        return -1;
    }
    const char *extra = extra_headers ? extra_headers : "";
    size_t elen = strlen(extra);
    size_t cap = strlen(method) + strlen(path) + elen + 256;
    char *head = ht_realloc(NULL, cap);
    int n = snprintf(head, cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n%s%s",
                     method, path, port, extra,
                     elen && extra[elen - 1] != '\n' ? "\r\n" : "");
    if (body) {
        if (!strcasestr(extra, "content-type:"))
            n += snprintf(head + n, cap - (size_t)n, "Content-Type: application/json\r\n");
        n += snprintf(head + n, cap - (size_t)n, "Content-Length: %zu\r\n", body_len);
    }
    n += snprintf(head + n, cap - (size_t)n, "\r\n");
    /* a send that fails still lets the server's early answer (413) be read */
    if (ht_send_all(fd, head, (size_t)n) == 0 && body && body_len)
        (void)ht_send_all(fd, body, body_len);
    free(head);
    int rc = ht_read_response(fd, method, out);
    close(fd);
    return rc == 0 ? out->status : -1;
}

int ht_get(int port, const char *path, const char *extra_headers, struct ht_resp *out)
{
    return ht_http(port, "GET", path, extra_headers, NULL, 0, out);
}

int ht_post_json(int port, const char *path, const char *extra_headers, const char *json,
                struct ht_resp *out)
{
    return ht_http(port, "POST", path, extra_headers, json, strlen(json), out);
}

const char *ht_resp_header(const struct ht_resp *r, const char *name)
{
    for (int i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->names[i], name) == 0)
            return r->values[i];
    return NULL;
}

json_t *ht_resp_json(const struct ht_resp *r)
{
    if (!r->body)
        return NULL;
    json_error_t e;
    return json_loadb(r->body, r->body_len, JSON_DECODE_ANY, &e);
}

void ht_resp_free(struct ht_resp *r)
{
    free(r->head);
    free(r->body);
    r->head = NULL;
    r->body = NULL;
    r->nheaders = 0;
}

/* ---- Load generator ---------------------------------------------------------- */

struct ht_load_shared {
    _Atomic long ok, non2xx, refused, reset, short_read, timeout, reconnects, dropped;
    _Atomic int stop;
};

struct ht_load {
    pid_t pid;
    struct ht_load_shared *sh;
};

static void ht_load_conn(int port, const char *method, const char *req, size_t reqlen,
                        struct ht_load_shared *sh)
{
    int fd = -1;
    long served = 0; /* responses on the current connection */
    int64_t end = ht_now_ms() + HT_LOAD_MAX_MS;
    ht_http_timeout_ms = 5000;
    while (!sh->stop && ht_now_ms() < end) {
        if (fd < 0) {
            served = 0;
            fd = ht_connect(port);
            if (fd < 0) {
                sh->refused++;
                ht_sleep_ms(20);
                continue;
            }
        }
        if (ht_send_all(fd, req, reqlen) != 0) {
            sh->reset++;
            if (served)
                sh->dropped++;
            close(fd);
            fd = -1;
            continue;
        }
        struct ht_resp r;
        int rc = ht_read_response(fd, method, &r);
        if (rc != 0) {
            if (rc == HT_ERR_TIMEOUT)
                sh->timeout++;
            else if (rc == HT_ERR_SHORT || rc == HT_ERR_PROTO)
                sh->short_read++;
            else
                sh->reset++;
            if (served)
                sh->dropped++;
            ht_resp_free(&r);
            close(fd);
            fd = -1;
            continue;
        }
        served++;
        if (r.status / 100 == 2)
            sh->ok++;
        else
            sh->non2xx++;
        if (r.conn_close) {
            sh->reconnects++;
            close(fd);
            fd = -1;
        }
        ht_resp_free(&r);
    }
    if (fd >= 0)
        close(fd);
}

struct ht_load *ht_load_start(int port, int nconns, const char *method, const char *path,
                            const char *extra_headers, const char *body)
{
    struct ht_load *l = ht_realloc(NULL, sizeof *l);
    l->sh = mmap(NULL, sizeof *l->sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_msg(l->sh != MAP_FAILED, "mmap: %s", strerror(errno));
    memset(l->sh, 0, sizeof *l->sh);

    const char *extra = extra_headers ? extra_headers : "";
    size_t elen = strlen(extra), blen = body ? strlen(body) : 0;
    size_t cap = strlen(method) + strlen(path) + elen + blen + 256;
    char *req = ht_realloc(NULL, cap);
    int n = snprintf(req, cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s%s", method, path, port,
                     extra, elen && extra[elen - 1] != '\n' ? "\r\n" : "");
    if (body) {
        if (!strcasestr(extra, "content-type:"))
            n += snprintf(req + n, cap - (size_t)n, "Content-Type: application/json\r\n");
        n += snprintf(req + n, cap - (size_t)n, "Content-Length: %zu\r\n", blen);
    }
    n += snprintf(req + n, cap - (size_t)n, "\r\n%s", body ? body : "");

    pid_t me = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != me)
            _exit(0);
        pid_t gen = getpid();
        for (int i = 0; i < nconns; i++) {
            pid_t c = fork();
            if (c == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != gen)
                    _exit(0);
                ht_load_conn(port, method, req, (size_t)n, l->sh);
                _exit(0);
            }
        }
        while (wait(NULL) > 0 || errno == EINTR)
            ;
        _exit(0);
    }
    free(req);
    ck_assert_msg(pid > 0, "fork: %s", strerror(errno));
    l->pid = pid;
    return l;
}

void ht_load_snapshot(struct ht_load *l, struct ht_load_counts *c)
{
    c->ok = l->sh->ok;
    c->non2xx = l->sh->non2xx;
    c->refused = l->sh->refused;
    c->reset = l->sh->reset;
    c->short_read = l->sh->short_read;
    c->timeout = l->sh->timeout;
    c->reconnects = l->sh->reconnects;
    c->dropped = l->sh->dropped;
    c->errors = c->refused + c->reset + c->short_read + c->timeout;
}

struct ht_load_counts ht_load_stop(struct ht_load *l)
{
    l->sh->stop = 1;
    int64_t end = ht_now_ms() + 15000;
    for (;;) {
        pid_t r = waitpid(l->pid, NULL, WNOHANG);
        if (r == l->pid || (r < 0 && errno != EINTR))
            break;
        if (ht_now_ms() > end) {
            kill(l->pid, SIGKILL); /* its connections die with it (death signal) */
            waitpid(l->pid, NULL, 0);
            break;
        }
        ht_sleep_ms(20);
    }
    struct ht_load_counts c;
    ht_load_snapshot(l, &c);
    munmap(l->sh, sizeof *l->sh);
    free(l);
    return c;
}

const char *ht_load_describe(const struct ht_load_counts *c)
{
    static char buf[256];
    snprintf(buf, sizeof buf,
             "ok=%ld non2xx=%ld errors=%ld (refused=%ld reset=%ld short_read=%ld timeout=%ld) "
             "dropped=%ld reconnects=%ld", c->ok, c->non2xx, c->errors, c->refused, c->reset,
             c->short_read, c->timeout, c->dropped, c->reconnects);
    return buf;
}

/* ---- Requests and answers the suites share ----------------------------- */

char *ht_strf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *out = NULL;
    ck_assert(vasprintf(&out, fmt, ap) >= 0);
    va_end(ap);
    return out;
}

const char *ht_tmpf(const char *fmt, ...)
{
    static char bufs[64][4096];
    static int next;
    char *b = bufs[next++ % 64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b, sizeof bufs[0], fmt, ap);
    va_end(ap);
    ck_assert_msg(n >= 0 && (size_t)n < sizeof bufs[0], "ht_tmpf: %d bytes do not fit", n);
    return b;
}

const char *ht_bearer(const char *token)
{
    static char bufs[8][4200];
    static int next;
    char *b = bufs[next++ % 8];
    int n = snprintf(b, sizeof bufs[0], "Authorization: Bearer %s\r\n", token);
    ck_assert_msg(n > 0 && (size_t)n < sizeof bufs[0], "ht_bearer: token too long");
    return b;
}

int ht_request(struct ht_server *s, const char *method, const char *path, const char *extra_headers,
               const char *body, json_t **out)
{
    struct ht_resp r;
    int st = ht_http(s->port, method, path, extra_headers, body, body ? strlen(body) : 0, &r);
    ck_assert_msg(st > 0, "%s %s: %s", method, path, r.err);
    if (out)
        *out = ht_resp_json(&r);
    ht_resp_free(&r);
    return st;
}

json_t *ht_call(struct ht_server *s, const char *extra_headers, const char *method,
                const char *path, const char *body, int expect)
{
    struct ht_resp r;
    int st = ht_http(s->port, method, path, extra_headers, body, body ? strlen(body) : 0, &r);
    ck_assert_msg(st == expect, "%s %s %.300s: HTTP %d (%s), expected %d: %.600s", method, path,
                  body ? body : "", st, r.err, expect, r.body ? r.body : "");
    json_t *j = r.body_len ? ht_resp_json(&r) : NULL;
    ck_assert_msg(!r.body_len || j, "%s %s: answer is not JSON: %.300s", method, path, r.body);
    ht_resp_free(&r);
    return j;
}

long long ht_create(struct ht_server *s, const char *path, const char *body)
{
    json_t *j = ht_call(s, ht_auth(s, "admin"), "POST", path, body, 201);
    json_t *id = json_object_get(j, "id");
    ck_assert_msg(json_is_integer(id), "POST %s: no id in the answer", path);
    long long v = json_integer_value(id);
    json_decref(j);
    return v;
}

void ht_create_namespace(struct ht_server *s, const char *name)
{
    char body[200];
    snprintf(body, sizeof body, "{\"name\":\"%s\"}", name);
    json_decref(ht_call(s, ht_auth(s, "admin"), "POST", "/admin/namespaces", body, 201));
}

int64_t ht_id(json_t *o)
{
    json_t *id = json_object_get(o, "id");
    ck_assert_msg(json_is_integer(id), "object without an integer id");
    return (int64_t)json_integer_value(id);
}

const char *ht_jstr(json_t *o, const char *field)
{
    const char *v = json_string_value(json_object_get(o, field));
    return v ? v : "";
}

int ht_csv_has(const char *csv, const char *item)
{
    size_t n = strlen(item);
    for (const char *p = csv; *p;) {
        size_t l = strcspn(p, ",");
        if (l == n && strncmp(p, item, n) == 0)
            return 1;
        p += l + (p[l] == ',');
    }
    return 0;
}

void ht_sha256_hex(const char *s, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    ck_assert(EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL) == 1);
    for (unsigned int i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

int ht_redis_hexists(const char *key, const char *field)
{
    char *v = ht_redis_hget(key, field);
    int found = v != NULL;
    free(v);
    return found;
}

long long ht_proc_cpu_ticks(pid_t pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (long long)(ut + st);
}
