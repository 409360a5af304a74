/* Binding of TCP (IPv4, IPv6) and Unix listening sockets. */
#include "listen.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

static int bind_unix(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof sa.sun_path) {
        log_error("listen: unix socket path too long: %s", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path); /* a stale socket of an earlier run */
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 1024) != 0) {
        log_error("listen: bind(unix:%s) failed: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int bind_tcp(const char *spec)
{
    char host[256];
    const char *port;
    if (spec[0] == '[') {
        const char *rb = strchr(spec, ']');
        if (!rb || rb[1] != ':' || (size_t)(rb - spec - 1) >= sizeof host)
            return -1;
        memcpy(host, spec + 1, (size_t)(rb - spec - 1));
        host[rb - spec - 1] = 0;
        port = rb + 2;
    } else {
        const char *colon = strrchr(spec, ':');
        if (!colon || (size_t)(colon - spec) >= sizeof host)
            return -1;
        memcpy(host, spec, (size_t)(colon - spec));
        host[colon - spec] = 0;
        port = colon + 1;
    }
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
    struct addrinfo *ai;
    const char *h = (host[0] == 0 || strcmp(host, "*") == 0) ? NULL : host;
    int rc = getaddrinfo(h, port, &hints, &ai);
    if (rc != 0) {
        log_error("listen: cannot resolve %s: %s", spec, gai_strerror(rc));
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0 && ai->ai_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    /* Accepted sockets inherit TCP_NODELAY: without it, a response that
     * libevent writes in several pieces (16 KB each) waits for the
     * client's delayed ACK, 40 ms, before its second piece. */
    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
        log_error("listen: bind(%s) failed: %s", spec, strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

int ez_listen_open(const char *listen, struct ez_listen_set *keep, struct ez_listen_set *out)
{
    int reused[EZ_MAX_LISTEN] = { 0 };
    out->n = 0;
    const char *p = listen;
    while (*p) {
        size_t len = strcspn(p, ",");
        char spec[300];
        const char *s = p;
        while (len && (*s == ' ' || *s == '\t')) {
            s++;
            len--;
        }
        while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
            len--;
        p += strcspn(p, ",");
        if (*p == ',')
            p++;
        if (len == 0)
            continue;
        if (len >= sizeof spec || out->n == EZ_MAX_LISTEN)
            goto fail;
        memcpy(spec, s, len);
        spec[len] = 0;
        int fd = -1;
        reused[out->n] = 0;
        for (int i = 0; keep && i < keep->n; i++)
            if (strcmp(keep->l[i].spec, spec) == 0) {
                fd = keep->l[i].fd;
                keep->l[i] = keep->l[--keep->n];
                reused[out->n] = 1;
                break;
            }
        if (fd < 0)
            fd = strncmp(spec, "unix:", 5) == 0 ? bind_unix(spec + 5) : bind_tcp(spec);
        if (fd < 0)
            goto fail;
        snprintf(out->l[out->n].spec, sizeof out->l[out->n].spec, "%s", spec);
        out->l[out->n++].fd = fd;
    }
    if (out->n > 0)
        return 0;
    log_error("listen: no address given");
fail:
    /* Give reused sockets back to keep; close the ones bound here. */
    for (int i = 0; i < out->n; i++) {
        if (reused[i])
            keep->l[keep->n++] = out->l[i];
        else
            close(out->l[i].fd);
    }
    out->n = 0;
    return -1;
}

void ez_listen_close(struct ez_listen_set *set)
{
    for (int i = 0; i < set->n; i++)
        close(set->l[i].fd);
    set->n = 0;
}
