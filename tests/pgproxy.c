/* The wire-protocol proxy of pgproxy.h: one process, a poll loop, each
 * connection a pair of sockets whose messages are stored and forwarded
 * whole, so that a cut never lets half a message through. Arming is a
 * file in the proxy's directory (one cut each), each cut made is a line
 * in dir/cuts. */
#include "pgproxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"

#define MAX_CONNS 256
#define MAX_STMTS 512

struct side {
    int fd;
    unsigned char *buf;
    size_t len, cap;
    int startup; /* the client's first message has no type byte */
};

struct conn {
    struct side c, s;    /* client (ezapi) and server (PostgreSQL) */
    int worker;          /* application_name is ezapi-worker */
    int nstmts;
    struct {
        char name[16];
        int commit;      /* the prepared text is COMMIT */
    } stmts[MAX_STMTS];
};

static struct conn *conns[MAX_CONNS];
static char pdir[256];

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void drop(int i)
{
    struct conn *k = conns[i];
    close(k->c.fd);
    close(k->s.fd);
    free(k->c.buf);
    free(k->s.buf);
    free(k);
    conns[i] = NULL;
}

/* Consumes the arming file of kind (one cut) and records the cut. */
static int take_arm(const char *kind)
{
    char path[300];
    snprintf(path, sizeof path, "%s/%s", pdir, kind);
    if (unlink(path) != 0)
        return 0;
    snprintf(path, sizeof path, "%s/cuts", pdir);
    FILE *f = fopen(path, "a");
    if (f) {
        fprintf(f, "%s\n", kind);
        fclose(f);
    }
    return 1;
}

static const char *param(const unsigned char *body, size_t n, const char *key)
{
    /* startup: protocol (4 bytes), then key\0value\0 ... \0 */
    size_t i = 4;
    while (i < n && body[i]) {
        const char *k = (const char *)body + i;
        size_t kl = strnlen(k, n - i);
        const char *v = k + kl + 1;
        if (i + kl + 1 >= n)
            return NULL;
        if (strcmp(k, key) == 0)
            return v;
        i += kl + 1 + strnlen(v, n - (i + kl + 1)) + 1;
    }
    return NULL;
}

static int is_commit(const char *sql)
{
    while (*sql == ' ')
        sql++;
    return strncasecmp(sql, "COMMIT", 6) == 0 && (sql[6] == 0 || sql[6] == ';' || sql[6] == ' ');
}

/* A complete client message: 1 to cut the connection instead of passing it. */
static int client_message(struct conn *k, const unsigned char *m, size_t n)
{
    if (k->c.startup) {
        const char *app = param(m + 4, n - 4, "application_name");
        k->worker = app && strcmp(app, "ezapi-worker") == 0;
        return 0;
    }
    char type = (char)m[0];
    const char *body = (const char *)m + 5;
    size_t blen = n - 5;
    if (type == 'P' && blen > 0) { /* Parse: name, query */
        size_t nl = strnlen(body, blen);
        if (nl + 1 < blen && k->nstmts < MAX_STMTS && nl < 16) {
            snprintf(k->stmts[k->nstmts].name, 16, "%s", body);
            k->stmts[k->nstmts++].commit = is_commit(body + nl + 1);
        }
        return 0;
    }
    int commit = 0;
    if (type == 'Q' && blen > 0)
        commit = is_commit(body);
    if (type == 'B' && blen > 0) { /* Bind: portal, statement */
        size_t pl = strnlen(body, blen);
        const char *stmt = body + pl + 1;
        for (int i = 0; pl + 1 < blen && i < k->nstmts && !commit; i++)
            commit = k->stmts[i].commit && strcmp(k->stmts[i].name, stmt) == 0;
    }
    return commit && k->worker && take_arm("cut-request");
}

static int server_message(struct conn *k, const unsigned char *m, size_t n)
{
    if (m[0] != 'C' || n < 6 || !k->worker)
        return 0;
    return strncmp((const char *)m + 5, "COMMIT", 6) == 0 && take_arm("cut-reply");
}

/* Reads what side `from` has, forwards its complete messages to `to`.
 * -1: close the pair. */
static int pump(struct conn *k, struct side *from, struct side *to, int client)
{
    if (from->cap - from->len < 65536) {
        size_t cap = from->cap ? from->cap * 2 : 131072;
        unsigned char *b = realloc(from->buf, cap);
        if (!b)
            return -1;
        from->buf = b;
        from->cap = cap;
    }
    ssize_t r = recv(from->fd, from->buf + from->len, from->cap - from->len, 0);
    if (r <= 0)
        return -1;
    from->len += (size_t)r;
    size_t off = 0;
    for (;;) {
        size_t head = from->startup ? 4 : 5;
        if (from->len - off < head)
            break;
        size_t need = (from->startup ? 0 : 1) + be32(from->buf + off + (from->startup ? 0 : 1));
        if (from->len - off < need)
            break;
        const unsigned char *m = from->buf + off;
        int cut = client ? client_message(k, m, need) : server_message(k, m, need);
        if (cut)
            return -1;
        if (from->startup) {
            uint32_t code = be32(m + 4);
            /* an SSL or GSS request is answered 'N' by a server without them,
             * a byte outside the framing: connection strings disable both */
            from->startup = code == 80877103 || code == 80877104;
        }
        if (ht_send_all(to->fd, m, need) != 0)
            return -1;
        off += need;
    }
    memmove(from->buf, from->buf + off, from->len - off);
    from->len -= off;
    return 0;
}

static int connect_pg(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)ht_pg_port()) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
        return fd;
    if (fd >= 0)
        close(fd);
    return -1;
}

static void accept_one(int lfd)
{
    int cfd = accept(lfd, NULL, NULL);
    if (cfd < 0)
        return;
    int sfd = connect_pg();
    int slot = -1;
    for (int i = 0; i < MAX_CONNS && slot < 0; i++)
        if (!conns[i])
            slot = i;
    struct conn *k = sfd >= 0 && slot >= 0 ? calloc(1, sizeof *k) : NULL;
    if (!k) {
        close(cfd);
        if (sfd >= 0)
            close(sfd);
        return;
    }
    k->c.fd = cfd;
    k->s.fd = sfd;
    k->c.startup = 1;
    conns[slot] = k;
}

static void serve(int lfd) __attribute__((noreturn));
static void serve(int lfd)
{
    struct pollfd pf[1 + 2 * MAX_CONNS];
    int who[1 + 2 * MAX_CONNS];
    for (;;) {
        int n = 0;
        pf[n++] = (struct pollfd){ .fd = lfd, .events = POLLIN };
        for (int i = 0; i < MAX_CONNS; i++)
            if (conns[i]) {
                who[n] = i;
                pf[n++] = (struct pollfd){ .fd = conns[i]->c.fd, .events = POLLIN };
                who[n] = i;
                pf[n++] = (struct pollfd){ .fd = conns[i]->s.fd, .events = POLLIN };
            }
        if (poll(pf, (nfds_t)n, 1000) < 0 && errno != EINTR)
            _exit(1);
        if (getppid() == 1)
            _exit(0);
        for (int j = 1; j < n; j++) {
            struct conn *k = conns[who[j]];
            if (!k || !(pf[j].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            int client = pf[j].fd == k->c.fd;
            if (pump(k, client ? &k->c : &k->s, client ? &k->s : &k->c, client) != 0)
                drop(who[j]);
        }
        if (pf[0].revents & POLLIN)
            accept_one(lfd);
    }
}

void ht_pgproxy_start(struct ht_pgproxy *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->dir, sizeof p->dir, "/tmp/ezapi-pgproxy-XXXXXX");
    ck_assert_msg(mkdtemp(p->dir) != NULL, "mkdtemp: %s", strerror(errno));
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    ck_assert_msg(lfd >= 0 && bind(lfd, (struct sockaddr *)&a, sizeof a) == 0 &&
                      listen(lfd, 128) == 0 &&
                      getsockname(lfd, (struct sockaddr *)&a, &alen) == 0,
                  "proxy socket: %s", strerror(errno));
    p->port = ntohs(a.sin_port);
    snprintf(p->dsn, sizeof p->dsn,
             "host=127.0.0.1 port=%d dbname=ezapi user=postgres sslmode=disable "
             "gssencmode=disable",
             p->port);
    pid_t parent = getpid();
    p->pid = fork();
    ck_assert_msg(p->pid >= 0, "fork: %s", strerror(errno));
    if (p->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(0);
        signal(SIGPIPE, SIG_IGN);
        snprintf(pdir, sizeof pdir, "%s", p->dir);
        serve(lfd);
    }
    close(lfd);
}

void ht_pgproxy_stop(struct ht_pgproxy *p)
{
    if (p->pid > 0) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
        p->pid = 0;
    }
    const char *files[] = { "cut-reply", "cut-request", "cuts" };
    char path[300];
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", p->dir, files[i]);
        unlink(path);
    }
    rmdir(p->dir);
}

void ht_pgproxy_arm(struct ht_pgproxy *p, enum ht_cut kind)
{
    char path[300];
    snprintf(path, sizeof path, "%s/%s", p->dir,
             kind == HT_CUT_COMMIT_REPLY ? "cut-reply" : "cut-request");
    ht_write_file(path, "armed\n");
}

int ht_pgproxy_cuts(struct ht_pgproxy *p)
{
    char path[300];
    snprintf(path, sizeof path, "%s/cuts", p->dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int n = 0, ch;
    while ((ch = fgetc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}
