/* redis_url: scheme, userinfo, host list, database. redis:// names one host;
 * redis-sentinel:// a list of Sentinels and the name of the master they
 * watch. Must not do I/O: the config check calls it too. */
#include "redis_url.h"

#include "digest.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void say(char *why, size_t whylen, const char *f, ...) __attribute__((format(printf, 3, 4)));
static void say(char *why, size_t whylen, const char *f, ...)
{
    va_list ap;
    if (why == NULL || whylen == 0)
        return;
    va_start(ap, f);
    vsnprintf(why, whylen, f, ap);
    va_end(ap);
}

/* Percent-decodes len bytes of s into out (cap bytes with the NUL). -1 on
 * a '%' not followed by two hex digits, a decoded NUL, or overflow. */
static int decode(const char *s, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= len || ez_hex_value(s[i + 1]) < 0 || ez_hex_value(s[i + 2]) < 0)
                return -1;
            c = (char)(ez_hex_value(s[i + 1]) << 4 | ez_hex_value(s[i + 2]));
            if (c == '\0')
                return -1;
            i += 2;
        }
        if (n + 1 >= cap)
            return -1;
        out[n++] = c;
    }
    out[n] = '\0';
    return 0;
}

static int number(const char *s, size_t len, long long max, long long *out)
{
    long long v = 0;
    if (len == 0 || len > 10)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

/* Where the userinfo of rest ends (at its '@'), or NULL when it has none.
 * After redis:// and redis-sentinel:// it runs to the last '@' (hosts, a
 * master name and a database never hold one); after unix:// to the first
 * "@/" (a socket path may hold '@'). */
static const char *userinfo_end(enum ez_redis_transport t, const char *rest)
{
    if (t != EZ_REDIS_UNIX)
        return strrchr(rest, '@');
    if (rest[0] == '/')
        return NULL;
    return strstr(rest, "@/");
}

static int parse_userinfo(const char *s, size_t len, struct ez_redis_url *u, char *why,
                          size_t whylen)
{
    const char *colon = memchr(s, ':', len);
    if (colon == NULL || colon == s + len - 1) {
        say(why, whylen, "credentials must be written :password@ or user:password@ before "
            "the host, with a non-empty password");
        return -1;
    }
    if (decode(s, (size_t)(colon - s), u->user, sizeof u->user) != 0 ||
        decode(colon + 1, (size_t)(s + len - colon - 1), u->password, sizeof u->password) != 0) {
        say(why, whylen, "bad credentials: write '%%' as %%25, and keep user and password "
            "under %zu bytes", sizeof u->user);
        return -1;
    }
    u->password_set = 1;
    return 0;
}

static int is_host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '-' || c == '_';
}

/* One host[:port] at s; *end is left after it. */
static int parse_host(const char *s, const char **end, struct ez_redis_host *h, int defport,
                      char *why, size_t whylen)
{
    const char *p = s, *name = s;
    size_t nlen;
    if (*p == '[') {
        const char *close = strchr(p, ']');
        unsigned char addr[16];
        nlen = close ? (size_t)(close - p - 1) : 0;
        if (close == NULL || nlen == 0 || nlen >= sizeof h->name) {
            say(why, whylen, "bad IPv6 address in brackets");
            return -1;
        }
        memcpy(h->name, p + 1, nlen);
        h->name[nlen] = '\0';
        if (inet_pton(AF_INET6, h->name, addr) != 1) {
            say(why, whylen, "bad IPv6 address in brackets");
            return -1;
        }
        p = close + 1;
    } else {
        while (is_host_char(*p))
            p++;
        nlen = (size_t)(p - name);
        if (nlen == 0 || nlen >= sizeof h->name) {
            say(why, whylen, "missing or bad host name");
            return -1;
        }
        memcpy(h->name, name, nlen);
        h->name[nlen] = '\0';
    }
    h->port = defport;
    if (*p == ':') {
        const char *port = ++p;
        long long v;
        while (*p >= '0' && *p <= '9')
            p++;
        if (number(port, (size_t)(p - port), 65535, &v) != 0 || v < 1) {
            say(why, whylen, "the port must be a number from 1 to 65535");
            return -1;
        }
        h->port = (int)v;
    }
    *end = p;
    return 0;
}

/* A comma-separated host list: one host for redis://, up to
 * EZ_REDIS_URL_HOSTS Sentinels for redis-sentinel://. */
static int parse_hosts(const char *s, const char **end, struct ez_redis_url *u, char *why,
                       size_t whylen)
{
    int sentinel = u->transport == EZ_REDIS_SENTINEL;
    for (;;) {
        if (!sentinel && u->nhosts == 1) {
            say(why, whylen, "redis:// takes one host (several Sentinels are written "
                "redis-sentinel://host:port,host:port/master-name)");
            return -1;
        }
        if (u->nhosts == EZ_REDIS_URL_HOSTS) {
            say(why, whylen, "at most %d Sentinels", EZ_REDIS_URL_HOSTS);
            return -1;
        }
        if (parse_host(s, &s, &u->hosts[u->nhosts], sentinel ? 26379 : 6379, why, whylen) != 0)
            return -1;
        u->nhosts++;
        if (*s != ',')
            break;
        s++;
    }
    *end = s;
    return 0;
}

static int parse_db(const char *s, size_t len, struct ez_redis_url *u)
{
    long long db;
    if (number(s, len, INT_MAX, &db) != 0)
        return -1;
    u->db = (int)db;
    return 0;
}

static int parse_tcp(const char *rest, struct ez_redis_url *u, char *why, size_t whylen)
{
    const char *p;
    if (parse_hosts(rest, &p, u, why, whylen) != 0)
        return -1;
    if (*p == '/' && parse_db(p + 1, strlen(p + 1), u) != 0) {
        say(why, whylen, "the database after / must be a number");
        return -1;
    }
    if (*p != '/' && *p != '\0') {
        say(why, whylen, "unexpected text after the host");
        return -1;
    }
    return 0;
}

/* host[:port],.../master-name[/db] */
static int parse_sentinel(const char *rest, struct ez_redis_url *u, char *why, size_t whylen)
{
    const char *p, *name;
    size_t nlen;
    if (parse_hosts(rest, &p, u, why, whylen) != 0)
        return -1;
    if (*p != '/') {
        say(why, whylen, "the master name must follow the Sentinels, as in "
            "redis-sentinel://h1:26379,h2:26379/mymaster");
        return -1;
    }
    name = ++p;
    while (is_host_char(*p))
        p++;
    nlen = (size_t)(p - name);
    if (nlen == 0 || nlen >= sizeof u->master || (*p != '/' && *p != '\0')) {
        say(why, whylen, "the master name must be 1 to %zu letters, digits, '.', '-' or '_'",
            sizeof u->master - 1);
        return -1;
    }
    memcpy(u->master, name, nlen);
    u->master[nlen] = '\0';
    if (*p == '/' && parse_db(p + 1, strlen(p + 1), u) != 0) {
        say(why, whylen, "the database after the master name must be a number");
        return -1;
    }
    return 0;
}

static int parse_unix(const char *rest, struct ez_redis_url *u, char *why, size_t whylen)
{
    const char *q = strchr(rest, '?');
    size_t plen = q ? (size_t)(q - rest) : strlen(rest);
    if (rest[0] != '/') {
        say(why, whylen, "the socket path must be absolute, as in unix:///run/redis.sock");
        return -1;
    }
    if (decode(rest, plen, u->path, sizeof u->path) != 0) {
        say(why, whylen, "bad socket path: at most %zu bytes, '%%' written as %%25",
            sizeof u->path - 1);
        return -1;
    }
    if (q && (strncmp(q + 1, "db=", 3) != 0 || parse_db(q + 4, strlen(q + 4), u) != 0)) {
        say(why, whylen, "only ?db=N (a database number) may follow the socket path");
        return -1;
    }
    return 0;
}

int ez_redis_url_parse(const char *url, struct ez_redis_url *u, char *why, size_t whylen)
{
    const char *rest, *at;
    memset(u, 0, sizeof *u);
    if (strncmp(url, "redis://", 8) == 0) {
        u->transport = EZ_REDIS_TCP;
        rest = url + 8;
    } else if (strncmp(url, "unix://", 7) == 0) {
        u->transport = EZ_REDIS_UNIX;
        rest = url + 7;
    } else if (strncmp(url, "redis-sentinel://", 17) == 0) {
        u->transport = EZ_REDIS_SENTINEL;
        rest = url + 17;
    } else if (strncmp(url, "rediss://", 9) == 0) {
        say(why, whylen, "rediss:// (Redis over TLS) is not supported: this build's hiredis has "
            "no TLS; reach a remote Redis through a local TLS tunnel (stunnel, spiped) and point "
            "redis_url at its local end (see docs/deploy.md)");
        return -1;
    } else {
        say(why, whylen, "expected redis://[[user]:password@]host[:port][/db], "
            "unix://[[user]:password@]/path[?db=N] or "
            "redis-sentinel://[[user]:password@]host[:port][,host[:port]...]/master[/db]");
        return -1;
    }
    at = userinfo_end(u->transport, rest);
    if (at) {
        if (parse_userinfo(rest, (size_t)(at - rest), u, why, whylen) != 0)
            goto fail;
        rest = at + 1;
    }
    if ((u->transport == EZ_REDIS_TCP        ? parse_tcp
         : u->transport == EZ_REDIS_SENTINEL ? parse_sentinel
                                             : parse_unix)(rest, u, why, whylen) != 0)
        goto fail;
    return 0;
fail:
    ez_redis_url_wipe(u);
    return -1;
}

void ez_redis_url_wipe(struct ez_redis_url *u)
{
    explicit_bzero(u->user, sizeof u->user);
    explicit_bzero(u->password, sizeof u->password);
    u->password_set = 0;
}

void ez_redis_url_mask(const char *url, char *buf, size_t len)
{
    enum ez_redis_transport t = strncmp(url, "unix://", 7) == 0 ? EZ_REDIS_UNIX : EZ_REDIS_TCP;
    const char *rest = strstr(url, "://"), *at, *colon;
    rest = rest ? rest + 3 : url;
    at = userinfo_end(t, rest);
    colon = at ? memchr(rest, ':', (size_t)(at - rest)) : NULL;
    if (colon == NULL)
        snprintf(buf, len, "%s", url);
    else
        snprintf(buf, len, "%.*s********%s", (int)(colon + 1 - url), url, at);
}
