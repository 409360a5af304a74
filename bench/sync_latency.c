/* Sync latency: the time from the 201 of POST /v1/tokens to the key's hash
 * being readable in Redis, at a fixed issue rate. A subscriber process
 * records when Redis announces each auth:token:<digest> (keyspace
 * notifications, so no polling load), sender processes issue keys at
 * rate/senders each over keep-alive connections and record each 201.
 * Usage: sync_latency HTTP_PORT REDIS_PORT MASTER_KEY[,KEY...] RATE COUNT [SENDERS]
 * (sender i issues with key i modulo the number of keys: issuance is
 * serialised per master, so several masters let the rate be reached)
 * Loopback only; stops by itself. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/sha.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_until(int64_t t)
{
    for (;;) {
        int64_t d = t - now_ns();
        if (d <= 0)
            return;
        struct timespec ts = { d / 1000000000, d % 1000000000 };
        nanosleep(&ts, NULL);
    }
}

static int connect_port(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends one request and reads one response with Content-Length. Returns
 * the status and copies the body into body (NUL-terminated). */
static int roundtrip(int fd, const char *req, size_t reqlen, char *body, size_t cap)
{
    if (write(fd, req, reqlen) != (ssize_t)reqlen)
        return -1;
    static char buf[65536];
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);
        if (n <= 0)
            return -1;
        got += (size_t)n;
        buf[got] = 0;
        char *end = strstr(buf, "\r\n\r\n");
        if (!end)
            continue;
        char *cl = strcasestr(buf, "Content-Length:");
        size_t len = cl ? strtoul(cl + 15, NULL, 10) : 0;
        size_t head = (size_t)(end + 4 - buf);
        if (got < head + len)
            continue;
        size_t copy = len < cap - 1 ? len : cap - 1;
        memcpy(body, end + 4, copy);
        body[copy] = 0;
        return atoi(buf + 9);
    }
}

static void hex_digest(const char *token, char out[65])
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)token, strlen(token), d);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static void sender(int id, int port, const char *master_key, double rate, int count,
                   const char *out_path)
{
    FILE *out = fopen(out_path, "w");
    int fd = connect_port(port);
    if (!out || fd < 0)
        _exit(1);
    int64_t start = now_ns(), step = (int64_t)(1e9 / rate);
    char body[8192], req[2048];
    for (int i = 0; i < count; i++) {
        sleep_until(start + i * step);
        char json[128];
        int jl = snprintf(json, sizeof json, "{\"name\":\"lat-%d-%d\"}", id, i);
        int rl = snprintf(req, sizeof req,
                          "POST /v1/tokens HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                          "Content-Length: %d\r\n\r\n%s", master_key, jl, json);
        int st = roundtrip(fd, req, (size_t)rl, body, sizeof body);
        int64_t t = now_ns();
        if (st != 201) {
            fprintf(out, "error %d\n", st);
            if (st < 0) {
                close(fd);
                fd = connect_port(port);
            }
            continue;
        }
        json_t *j = json_loads(body, 0, NULL);
        const char *tok = json_string_value(json_object_get(j, "token"));
        char digest[65];
        if (tok) {
            hex_digest(tok, digest);
            fprintf(out, "%s %lld\n", digest, (long long)t);
        }
        json_decref(j);
    }
    fclose(out);
    _exit(0);
}

static volatile sig_atomic_t stop;
static void on_term(int s) { (void)s; stop = 1; }

static void subscriber(int redis_port, const char *out_path, int ready_fd)
{
    signal(SIGTERM, on_term);
    FILE *out = fopen(out_path, "w");
    redisContext *c = redisConnect("127.0.0.1", redis_port);
    if (!out || !c || c->err)
        _exit(1);
    redisReply *r = redisCommand(c, "PSUBSCRIBE __keyspace@0__:auth:token:*");
    freeReplyObject(r);
    struct timeval tv = { 0, 200000 };
    redisSetTimeout(c, tv);
    if (write(ready_fd, "x", 1) != 1)
        _exit(1);
    while (!stop) {
        void *reply = NULL;
        if (redisGetReply(c, &reply) != REDIS_OK) {
            if (c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                c->err = 0;
                continue;
            }
            break;
        }
        int64_t t = now_ns();
        redisReply *m = reply;
        if (m->type == REDIS_REPLY_ARRAY && m->elements == 4 &&
            strcmp(m->element[3]->str, "hset") == 0) {
            const char *key = m->element[2]->str;
            const char *d = strrchr(key, ':');
            if (d)
                fprintf(out, "%s %lld\n", d + 1, (long long)t);
        }
        freeReplyObject(m);
    }
    fclose(out);
    _exit(0);
}

struct rec { char digest[65]; int64_t t; };

static int cmp_rec(const void *a, const void *b)
{
    return strcmp(((const struct rec *)a)->digest, ((const struct rec *)b)->digest);
}

static int cmp_ll(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static struct rec *load(const char *path, size_t *n, long *errors)
{
    FILE *f = fopen(path, "r");
    size_t cap = 1024;
    struct rec *v = malloc(cap * sizeof *v);
    char line[256];
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "error", 5) == 0) {
            (*errors)++;
            continue;
        }
        if (*n == cap)
            v = realloc(v, (cap *= 2) * sizeof *v);
        long long t;
        if (sscanf(line, "%64s %lld", v[*n].digest, &t) == 2)
            v[(*n)++].t = t;
    }
    if (f)
        fclose(f);
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: %s HTTP_PORT REDIS_PORT MASTER_KEY RATE COUNT [SENDERS]\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]), rport = atoi(argv[2]), count = atoi(argv[5]);
    double rate = atof(argv[4]);
    int senders = argc > 6 ? atoi(argv[6]) : 4;
    char dir[] = "/tmp/ezapi-latency.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    redisContext *c = redisConnect("127.0.0.1", rport);
    freeReplyObject(redisCommand(c, "CONFIG SET notify-keyspace-events Kh"));
    int pipefd[2];
    if (pipe(pipefd) != 0)
        return 1;
    char sub_path[128];
    snprintf(sub_path, sizeof sub_path, "%s/visible", dir);
    pid_t sub = fork();
    if (sub == 0)
        subscriber(rport, sub_path, pipefd[1]);
    char x;
    if (read(pipefd[0], &x, 1) != 1)
        return 1;
    pid_t pids[64];
    int64_t began = now_ns();
    char *keys[64];
    int nkeys = 0;
    for (char *k = strtok(argv[3], ","); k && nkeys < 64; k = strtok(NULL, ","))
        keys[nkeys++] = k;
    if (!nkeys)
        return 2;
    for (int s = 0; s < senders; s++) {
        char p[128];
        snprintf(p, sizeof p, "%s/sent.%d", dir, s);
        if ((pids[s] = fork()) == 0)
            sender(s, port, keys[s % nkeys], rate / senders, count / senders, p);
    }
    for (int s = 0; s < senders; s++)
        waitpid(pids[s], NULL, 0);
    double elapsed = (double)(now_ns() - began) / 1e9;
    sleep(1); /* the last jobs reach Redis */
    kill(sub, SIGTERM);
    waitpid(sub, NULL, 0);
    freeReplyObject(redisCommand(c, "CONFIG SET notify-keyspace-events \"\""));
    redisFree(c);

    size_t nv = 0, ns = 0;
    long errors = 0;
    struct rec *vis = load(sub_path, &nv, &errors);
    qsort(vis, nv, sizeof *vis, cmp_rec);
    int64_t *lat = malloc(sizeof *lat * (size_t)count);
    size_t nl = 0, missing = 0;
    for (int s = 0; s < senders; s++) {
        char p[128];
        snprintf(p, sizeof p, "%s/sent.%d", dir, s);
        size_t n = 0;
        struct rec *sent = load(p, &n, &errors);
        for (size_t i = 0; i < n; i++) {
            struct rec *v = bsearch(&sent[i], vis, nv, sizeof *vis, cmp_rec);
            if (!v) {
                missing++;
                continue;
            }
            int64_t d = v->t - sent[i].t;
            lat[nl++] = d < 0 ? 0 : d; /* visible before the 201 arrived */
        }
        ns += n;
        free(sent);
        unlink(p);
    }
    unlink(sub_path);
    rmdir(dir);
    qsort(lat, nl, sizeof *lat, cmp_ll);
    if (!nl) {
        printf("sync latency: no sample (errors=%ld missing=%zu)\n", errors, missing);
        return 1;
    }
    printf("sync latency: asked %.0f/s, achieved %.0f/s, issued=%zu errors=%ld missing=%zu "
           "p50=%.3fms p90=%.3fms p99=%.3fms max=%.3fms\n",
           rate, (double)ns / elapsed, ns, errors, missing, lat[nl / 2] / 1e6,
           lat[(nl * 90) / 100] / 1e6, lat[(nl * 99) / 100] / 1e6, lat[nl - 1] / 1e6);
    free(lat);
    free(vis);
    return missing || errors ? 1 : 0;
}
