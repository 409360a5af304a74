/* Configuration: the file reader, the EZAPI_<KEY> overrides, one validator per
 * kind, and the sample file and ezapi.conf(5), all driven by config_table.h.
 * Nothing here logs, exits or prints a secret: failures come back as text. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "config.h"
#include "log.h"
#include "redis_url.h"
#include "tls_ctx.h"

#include <libpq-fe.h>
#include <openssl/ssl.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#define LINE_MAX_BYTES 8192 /* longest accepted line, newline excluded */
#define ECHO_MAX 64         /* bytes of a bad value quoted back in an error */
#define WHY_MAX 512
#define PLACEHOLDER "CHANGE-ME" /* the sample's secrets start with it */
#define MASK "********"          /* a secret in ezapi -T */

enum kind {
    KIND_LISTEN,
    KIND_WORKERS,
    KIND_REQUIRED_STR,
    KIND_STR,
    KIND_REQUIRED_DSN,
    KIND_DSN,
    KIND_REDIS_URL,
    KIND_REQUIRED_SECRET,
    KIND_SECRETS_KEY,
    KIND_CIDRS,
    KIND_INT,
    KIND_DURATION,
    KIND_LEVEL,
    KIND_FORMAT,
    KIND_BOOL,
};

enum storage { ST_STRING, ST_LLONG, ST_INT };

struct key {
    const char *name;
    enum kind kind;
    const char *def;
    long long min, max;
    int reload;
    const char *help;
    size_t off;
};

static const struct key keys[] = {
#define X(name, kind, def, min, max, reload, help) \
    { #name, KIND_##kind, def, min, max, reload, help, offsetof(struct ez_config, name) },
#include "config_table.h"
#undef X
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* What a validator hands back besides "valid": the number for numeric kinds,
 * the decoded key for SECRETS_KEY. */
struct parsed {
    long long num;
    unsigned char raw[32];
    int has_raw;
};

typedef int (*parse_fn)(const struct key *k, const char *v, struct parsed *p,
                        char *why, size_t whylen);

struct kind_info {
    enum storage storage;
    int required; /* must be given, non-empty */
    const char *type; /* for the man page */
    parse_fn parse;
};

static int parse_listen(const struct key *, const char *, struct parsed *, char *, size_t);
static int parse_workers(const struct key *, const char *, struct parsed *, char *, size_t);
static int parse_text(const struct key *, const char *, struct parsed *, char *, size_t);
static int parse_secret(const struct key *, const char *, struct parsed *, char *, size_t);
static int parse_dsn(const struct key *, const char *, struct parsed *, char *, size_t);
static int parse_redis_url(const struct key *, const char *, struct parsed *, char *, size_t);
static int parse_secrets_key(const struct key *, const char *, struct parsed *, char *, size_t);
static int parse_cidrs(const struct key *, const char *, struct parsed *, char *, size_t);
static int parse_int(const struct key *, const char *, struct parsed *, char *, size_t);
static int parse_duration(const struct key *, const char *, struct parsed *, char *, size_t);
static int parse_level(const struct key *, const char *, struct parsed *, char *, size_t);
static int parse_format(const struct key *, const char *, struct parsed *, char *, size_t);
static int parse_bool(const struct key *, const char *, struct parsed *, char *, size_t);

static const struct kind_info kinds[] = {
    [KIND_LISTEN] = { ST_STRING, 0, "address list", parse_listen },
    [KIND_WORKERS] = { ST_LLONG, 0, "count", parse_workers },
    [KIND_REQUIRED_STR] = { ST_STRING, 1, "string", parse_text },
    [KIND_STR] = { ST_STRING, 0, "string", parse_text },
    [KIND_REQUIRED_DSN] = { ST_STRING, 1, "connection string", parse_dsn },
    [KIND_DSN] = { ST_STRING, 0, "connection string", parse_dsn },
    [KIND_REDIS_URL] = { ST_STRING, 0, "URL", parse_redis_url },
    [KIND_REQUIRED_SECRET] = { ST_STRING, 1, "secret", parse_secret },
    [KIND_SECRETS_KEY] = { ST_STRING, 0, "key", parse_secrets_key },
    [KIND_CIDRS] = { ST_STRING, 0, "CIDR list", parse_cidrs },
    [KIND_INT] = { ST_LLONG, 0, "integer", parse_int },
    [KIND_DURATION] = { ST_LLONG, 0, "duration", parse_duration },
    [KIND_LEVEL] = { ST_INT, 0, "level", parse_level },
    [KIND_FORMAT] = { ST_INT, 0, "format", parse_format },
    [KIND_BOOL] = { ST_INT, 0, "switch", parse_bool },
};

static const char *const level_names[] = {
    [EZ_LOG_DEBUG] = "debug", [EZ_LOG_INFO] = "info",
    [EZ_LOG_WARN] = "warn", [EZ_LOG_ERROR] = "error",
};
static const char *const format_names[] = { "text", "json" };
static const char *const bool_names[] = { "off", "on" };

/* Values shown in the sample for required keys; secrets get a generated
 * CHANGE-ME placeholder instead. */
static const struct {
    const char *key;
    const char *value;
} sample_values[] = {
    { "pg_dsn", "host=127.0.0.1 dbname=ezapi" },
};

static char **str_at(struct ez_config *c, const struct key *k)
{
    return (char **)(void *)((char *)c + k->off);
}

static const char *str_of(const struct ez_config *c, const struct key *k)
{
    const char *s = *(char *const *)(const void *)((const char *)c + k->off);
    return s ? s : "";
}

static long long num_of(const struct ez_config *c, const struct key *k)
{
    const void *p = (const char *)c + k->off;
    return kinds[k->kind].storage == ST_INT ? *(const int *)p : *(const long long *)p;
}

static void set_num(struct ez_config *c, const struct key *k, long long v)
{
    void *p = (char *)c + k->off;
    if (kinds[k->kind].storage == ST_INT)
        *(int *)p = (int)v;
    else
        *(long long *)p = v;
}

static void wipe_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

static void fmt(char *buf, size_t len, const char *f, ...) __attribute__((format(printf, 3, 4)));
static void fmt(char *buf, size_t len, const char *f, ...)
{
    va_list ap;
    if (buf == NULL || len == 0)
        return;
    va_start(ap, f);
    vsnprintf(buf, len, f, ap);
    va_end(ap);
}

static int is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\v' || ch == '\f';
}

/* Trims s in place and returns its first non-blank byte. */
static char *trim(char *s)
{
    char *end = s + strlen(s);
    while (is_blank(*s))
        s++;
    while (end > s && is_blank(end[-1]))
        end--;
    *end = '\0';
    return s;
}

static int has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

static int is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* A decimal integer of exactly len bytes: an optional '-', then digits. */
static int parse_ll(const char *s, size_t len, long long *out)
{
    unsigned long long v = 0, limit = (unsigned long long)LLONG_MAX;
    int neg = 0;
    size_t i = 0;

    if (len > 0 && s[0] == '-') {
        neg = 1;
        i = 1;
        limit += 1;
    }
    if (i == len)
        return -1;
    for (; i < len; i++) {
        unsigned d;
        if (!is_digit(s[i]))
            return -1;
        d = (unsigned)(s[i] - '0');
        if (v > (limit - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (neg)
        *out = v == limit ? LLONG_MIN : -(long long)v;
    else
        *out = (long long)v;
    return 0;
}

static int parse_port(const char *s, size_t len)
{
    long long port;
    if (parse_ll(s, len, &port) < 0 || port < 1 || port > 65535)
        return -1;
    return (int)port;
}

int ez_parse_duration_ms(const char *s, long long *out)
{
    static const struct {
        const char *suffix;
        long long ms;
    } units[] = { { "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 } };
    size_t ndigits = 0;
    long long n;

    if (s == NULL || out == NULL)
        return -1;
    while (is_digit(s[ndigits]))
        ndigits++;
    if (ndigits == 0 || parse_ll(s, ndigits, &n) < 0)
        return -1;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(s + ndigits, units[i].suffix) != 0)
            continue;
        if (n > LLONG_MAX / units[i].ms)
            return -1;
        *out = n * units[i].ms;
        return 0;
    }
    return -1;
}

/* Writes ms in the largest unit that divides it exactly: "1h", "250ms". */
static void format_duration(long long ms, char *buf, size_t len)
{
    if (ms != 0 && ms % 3600000 == 0)
        fmt(buf, len, "%lldh", ms / 3600000);
    else if (ms != 0 && ms % 60000 == 0)
        fmt(buf, len, "%lldm", ms / 60000);
    else if (ms != 0 && ms % 1000 == 0)
        fmt(buf, len, "%llds", ms / 1000);
    else if (ms != 0)
        fmt(buf, len, "%lldms", ms);
    else
        fmt(buf, len, "0");
}

/* Walks a comma-separated list: each call yields the next item, trimmed.
 * Returns 0 once the list is exhausted. */
static int list_next(const char **cur, const char **item, size_t *len)
{
    const char *s = *cur, *end, *comma;

    if (s == NULL)
        return 0;
    comma = strchr(s, ',');
    end = comma ? comma : s + strlen(s);
    while (s < end && is_blank(*s))
        s++;
    while (end > s && is_blank(end[-1]))
        end--;
    *item = s;
    *len = (size_t)(end - s);
    *cur = comma ? comma + 1 : NULL;
    return 1;
}

static int echo_len(size_t len)
{
    return (int)(len > ECHO_MAX ? ECHO_MAX : len);
}

/* inet_pton on a counted string; family AF_INET or AF_INET6. */
static int is_ip(int family, const char *s, size_t len)
{
    char buf[INET6_ADDRSTRLEN + 1];
    unsigned char addr[sizeof(struct in6_addr)];

    if (len == 0 || len >= sizeof(buf))
        return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return inet_pton(family, buf, addr) == 1;
}

static int parse_listen_item(const char *s, size_t len, char *why, size_t whylen)
{
    const size_t sun_max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;
    const char *colon, *host;
    size_t hlen;
    int el = echo_len(len);

    if (len == 0) {
        fmt(why, whylen, "empty entry in the list");
        return -1;
    }
    if (len >= 5 && memcmp(s, "unix:", 5) == 0) {
        if (len == 5 || s[5] != '/') {
            fmt(why, whylen, "\"%.*s\": the socket path must be absolute", el, s);
            return -1;
        }
        if (len - 5 > sun_max) {
            fmt(why, whylen, "\"%.*s\": the socket path is longer than %zu bytes", el, s, sun_max);
            return -1;
        }
        return 0;
    }
    if (s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (close == NULL || !is_ip(AF_INET6, s + 1, (size_t)(close - s - 1))) {
            fmt(why, whylen, "\"%.*s\": expected [IPv6 address]:port", el, s);
            return -1;
        }
        colon = close + 1;
        if (colon == s + len || *colon != ':') {
            fmt(why, whylen, "\"%.*s\": missing :port", el, s);
            return -1;
        }
    } else {
        colon = memrchr(s, ':', len);
        if (colon == NULL) {
            fmt(why, whylen, "\"%.*s\": missing :port", el, s);
            return -1;
        }
        host = s;
        hlen = (size_t)(colon - s);
        if (memchr(host, ':', hlen) != NULL) {
            fmt(why, whylen, "\"%.*s\": write an IPv6 address in brackets, as in [::1]:8080",
                el, s);
            return -1;
        }
        if (!(hlen == 0 || (hlen == 1 && host[0] == '*') ||
              (hlen == 9 && memcmp(host, "localhost", 9) == 0) || is_ip(AF_INET, host, hlen))) {
            fmt(why, whylen, "\"%.*s\": the host must be an IPv4 address, [IPv6 address], "
                "localhost or *", el, s);
            return -1;
        }
    }
    if (parse_port(colon + 1, (size_t)(s + len - colon - 1)) < 0) {
        fmt(why, whylen, "\"%.*s\": the port must be a number from 1 to 65535", el, s);
        return -1;
    }
    return 0;
}

static int parse_listen(const struct key *k, const char *v, struct parsed *p,
                        char *why, size_t whylen)
{
    const char *cur = v, *item;
    size_t len;

    while (list_next(&cur, &item, &len))
        if (parse_listen_item(item, len, why, whylen) < 0)
            return -1;
    return 0;
}

static int parse_bounded(const struct key *k, const char *v, struct parsed *p,
                         char *why, size_t whylen)
{
    if (parse_ll(v, strlen(v), &p->num) < 0) {
        fmt(why, whylen, "\"%.*s\" is not an integer", echo_len(strlen(v)), v);
        return -1;
    }
    if (p->num < k->min || p->num > k->max) {
        fmt(why, whylen, "%lld is out of range (%lld to %lld)", p->num, k->min, k->max);
        return -1;
    }
    return 0;
}

static int parse_workers(const struct key *k, const char *v, struct parsed *p,
                         char *why, size_t whylen)
{
    if (strcmp(v, "auto") == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        p->num = n < k->min ? k->min : n > k->max ? k->max : n;
        return 0;
    }
    if (parse_bounded(k, v, p, why, whylen) < 0) {
        size_t used = strlen(why);
        fmt(why + used, whylen - used, "; or auto");
        return -1;
    }
    return 0;
}

static int parse_int(const struct key *k, const char *v, struct parsed *p,
                     char *why, size_t whylen)
{
    return parse_bounded(k, v, p, why, whylen);
}

/* Length and control characters are checked for every string kind before
 * its parser runs, so plain strings need nothing more. */
static int parse_text(const struct key *k, const char *v, struct parsed *p,
                      char *why, size_t whylen)
{
    return 0;
}

/* The sample's placeholders are refused here, so `ezapi -t`, a reload and
 * the start of the server refuse them alike. */
static int parse_secret(const struct key *k, const char *v, struct parsed *p,
                        char *why, size_t whylen)
{
    if (strncmp(v, PLACEHOLDER, strlen(PLACEHOLDER)) == 0) {
        fmt(why, whylen, "still the sample's %s placeholder: set a secret of your own "
            "(openssl rand -hex 32)", PLACEHOLDER);
        return -1;
    }
    return 0;
}

/* libpq's own parser; its message is not quoted, as it may quote the
 * password. */
static int parse_dsn(const struct key *k, const char *v, struct parsed *p,
                     char *why, size_t whylen)
{
    char *msg = NULL;
    PQconninfoOption *opts;
    if (v[0] == '\0')
        return 0;
    opts = PQconninfoParse(v, &msg);
    PQfreemem(msg);
    if (opts == NULL) {
        fmt(why, whylen, "not a libpq connection string (key=value words or a postgresql:// URI)");
        return -1;
    }
    PQconninfoFree(opts);
    return 0;
}

/* The grammar is redis_url.c's, which the connection uses too. Never
 * quotes the value: it may carry a password. */
static int parse_redis_url(const struct key *k, const char *v, struct parsed *p,
                           char *why, size_t whylen)
{
    struct ez_redis_url u;
    int rc = ez_redis_url_parse(v, &u, why, whylen);
    ez_redis_url_wipe(&u);
    return rc;
}

static int hex_value(char ch)
{
    if (is_digit(ch))
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static int b64_value(char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (is_digit(ch))
        return ch - '0' + 52;
    if (ch == '+')
        return 62;
    if (ch == '/')
        return 63;
    return -1;
}

/* Decodes exactly len bytes of hex into out[len / 2]. */
static int decode_hex(const char *s, size_t len, unsigned char *out)
{
    for (size_t i = 0; i < len; i += 2) {
        int hi = hex_value(s[i]), lo = hex_value(s[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i / 2] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

/* Standard base64, '=' padding optional. Returns the decoded length, or -1
 * when s is not base64 or decodes to more than cap bytes. */
static long decode_base64(const char *s, unsigned char *out, size_t cap)
{
    size_t len = strlen(s), pad = 0, n = 0;
    unsigned acc = 0;
    int bits = 0;

    while (pad < 2 && len > 0 && s[len - 1] == '=') {
        len--;
        pad++;
    }
    if ((pad > 0 && (len + pad) % 4 != 0) || len % 4 == 1)
        return -1;
    for (size_t i = 0; i < len; i++) {
        int d = b64_value(s[i]);
        if (d < 0)
            return -1;
        acc = (acc << 6 | (unsigned)d) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n == cap)
                return -1;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    return (long)n;
}

/* Never quotes the value: it is key material. */
static int parse_secrets_key(const struct key *k, const char *v, struct parsed *p,
                             char *why, size_t whylen)
{
    size_t len = strlen(v);

    if (len == 0)
        return 0;
    if (len == 2 * sizeof(p->raw) && decode_hex(v, len, p->raw) == 0) {
        p->has_raw = 1;
        return 0;
    }
    if (decode_base64(v, p->raw, sizeof(p->raw)) == (long)sizeof(p->raw)) {
        p->has_raw = 1;
        return 0;
    }
    explicit_bzero(p->raw, sizeof(p->raw));
    fmt(why, whylen, "must be %zu bytes written as %zu hexadecimal digits or in base64",
        sizeof(p->raw), 2 * sizeof(p->raw));
    return -1;
}

static int parse_cidrs(const struct key *k, const char *v, struct parsed *p,
                       char *why, size_t whylen)
{
    const char *cur = v, *item, *slash;
    size_t len, alen;
    long long prefix;

    if (v[0] == '\0')
        return 0;
    while (list_next(&cur, &item, &len)) {
        int el = echo_len(len), family, bits;
        if (len == 0) {
            fmt(why, whylen, "empty entry in the list");
            return -1;
        }
        slash = memchr(item, '/', len);
        if (slash == NULL) {
            fmt(why, whylen, "\"%.*s\": expected address/prefix", el, item);
            return -1;
        }
        alen = (size_t)(slash - item);
        family = memchr(item, ':', alen) ? AF_INET6 : AF_INET;
        bits = family == AF_INET6 ? 128 : 32;
        if (!is_ip(family, item, alen)) {
            fmt(why, whylen, "\"%.*s\": not an IPv4 or IPv6 address", el, item);
            return -1;
        }
        if (parse_ll(slash + 1, len - alen - 1, &prefix) < 0 || prefix < 0 || prefix > bits) {
            fmt(why, whylen, "\"%.*s\": the prefix length must be 0 to %d", el, item, bits);
            return -1;
        }
    }
    return 0;
}

static int parse_duration(const struct key *k, const char *v, struct parsed *p,
                          char *why, size_t whylen)
{
    char lo[32], hi[32];

    format_duration(k->min, lo, sizeof(lo));
    format_duration(k->max, hi, sizeof(hi));
    if (ez_parse_duration_ms(v, &p->num) < 0) {
        fmt(why, whylen, "\"%.*s\" is not a duration (a number with ms, s, m or h)",
            echo_len(strlen(v)), v);
        return -1;
    }
    if (p->num < k->min || p->num > k->max) {
        fmt(why, whylen, "\"%.*s\" is out of range (%s to %s)", echo_len(strlen(v)), v, lo, hi);
        return -1;
    }
    return 0;
}

static int parse_name(const char *const *names, size_t n, const char *v, struct parsed *p,
                      char *why, size_t whylen)
{
    size_t used;

    for (size_t i = 0; i < n; i++) {
        if (strcmp(v, names[i]) == 0) {
            p->num = (long long)i;
            return 0;
        }
    }
    fmt(why, whylen, "\"%.*s\" is not one of", echo_len(strlen(v)), v);
    for (size_t i = 0; i < n; i++) {
        used = strlen(why);
        fmt(why + used, whylen - used, "%s %s", i ? "," : "", names[i]);
    }
    return -1;
}

static int parse_level(const struct key *k, const char *v, struct parsed *p,
                       char *why, size_t whylen)
{
    return parse_name(level_names, sizeof(level_names) / sizeof(level_names[0]), v, p, why,
                      whylen);
}

static int parse_format(const struct key *k, const char *v, struct parsed *p,
                        char *why, size_t whylen)
{
    return parse_name(format_names, sizeof(format_names) / sizeof(format_names[0]), v, p, why,
                      whylen);
}

static int parse_bool(const struct key *k, const char *v, struct parsed *p,
                      char *why, size_t whylen)
{
    return parse_name(bool_names, sizeof(bool_names) / sizeof(bool_names[0]), v, p, why,
                      whylen);
}

/* Validates v for k and stores it in c, replacing (and freeing) any earlier
 * value. On failure c is unchanged and why says what is wrong without
 * quoting anything that could be secret. */
static int apply(struct ez_config *c, const struct key *k, const char *v, char *why, size_t whylen)
{
    const struct kind_info *ki = &kinds[k->kind];
    struct parsed p;
    size_t len = strlen(v);
    char *copy;

    memset(&p, 0, sizeof(p));
    if (has_control(v)) {
        fmt(why, whylen, "contains a control character");
        return -1;
    }
    if (ki->storage == ST_STRING && (long long)len < k->min) {
        if (k->min == 1)
            fmt(why, whylen, "must not be empty");
        else
            fmt(why, whylen, "must be at least %lld bytes long", k->min);
        return -1;
    }
    if (ki->storage == ST_STRING && (long long)len > k->max) {
        fmt(why, whylen, "longer than %lld bytes", k->max);
        return -1;
    }
    if (ki->parse(k, v, &p, why, whylen) < 0)
        return -1;
    if (ki->storage != ST_STRING) {
        set_num(c, k, p.num);
        return 0;
    }
    copy = strdup(v);
    if (copy == NULL) {
        explicit_bzero(&p, sizeof(p));
        fmt(why, whylen, "out of memory");
        return -1;
    }
    wipe_free(*str_at(c, k));
    *str_at(c, k) = copy;
    if (k->kind == KIND_SECRETS_KEY && strcmp(k->name, "secrets_key_previous") == 0) {
        memcpy(c->secrets_key_previous_raw, p.raw, sizeof(c->secrets_key_previous_raw));
        c->has_secrets_key_previous = p.has_raw;
        explicit_bzero(&p, sizeof(p));
    } else if (k->kind == KIND_SECRETS_KEY) {
        memcpy(c->secrets_key_raw, p.raw, sizeof(c->secrets_key_raw));
        c->has_secrets_key = p.has_raw;
        explicit_bzero(&p, sizeof(p));
    }
    return 0;
}

static const struct key *find_key(const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

/* Reads one line without its newline into buf, which holds LINE_MAX_BYTES
 * bytes and a NUL. Returns 1 for a line, 0 at end of file, -1 on a read
 * error, -2 for a line that is too long, -3 for a line with a NUL byte. */
static int read_line(FILE *f, char *buf)
{
    size_t n = 0;
    int ch;

    while ((ch = getc(f)) != EOF && ch != '\n') {
        if (ch == '\0')
            return -3;
        if (n == LINE_MAX_BYTES)
            return -2;
        buf[n++] = (char)ch;
    }
    buf[n] = '\0';
    if (ferror(f))
        return -1;
    return ch == EOF && n == 0 ? 0 : 1;
}

/* Whether a name from the file may be quoted in an error. Anything but
 * letters, digits and '_' is refused unquoted: "secret: value=..." put
 * before the '=' by mistake must not reach a log. */
static int is_key_name(const char *s)
{
    size_t n = 0;

    for (; s[n]; n++)
        if (!(is_digit(s[n]) || (s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
              s[n] == '_'))
            return 0;
    return n > 0 && n <= ECHO_MAX;
}

/* Applies every line of file to c; line_of[i] records where keys[i] was set. */
static int load_file(const char *file, struct ez_config *c, unsigned long *line_of,
                     char *err, size_t errlen)
{
    char buf[LINE_MAX_BYTES + 1], why[WHY_MAX];
    unsigned long lineno = 0;
    int rc = 0, r;
    FILE *f = fopen(file, "re");

    if (f == NULL) {
        fmt(err, errlen, "%s: cannot open: %s", file, strerror(errno));
        return -1;
    }
    while (rc == 0 && (r = read_line(f, buf)) != 0) {
        char *line, *eq, *name, *value;
        const struct key *k;

        lineno++;
        if (r < 0) {
            if (r == -2)
                fmt(err, errlen, "%s:%lu: line longer than %d bytes", file, lineno,
                    LINE_MAX_BYTES);
            else
                fmt(err, errlen, "%s:%lu: %s", file, lineno,
                    r == -3 ? "NUL byte in line" : strerror(errno));
            rc = -1;
            break;
        }
        line = trim(buf);
        if (line[0] == '\0' || line[0] == '#')
            continue;
        eq = strchr(line, '=');
        if (eq == NULL) {
            fmt(err, errlen, "%s:%lu: expected \"key = value\"", file, lineno);
            rc = -1;
            break;
        }
        *eq = '\0';
        name = trim(line);
        value = trim(eq + 1);
        k = find_key(name);
        if (name[0] == '\0') {
            fmt(err, errlen, "%s:%lu: missing key before \"=\"", file, lineno);
            rc = -1;
        } else if (!is_key_name(name)) {
            fmt(err, errlen, "%s:%lu: not a key name (letters, digits and _ only)", file,
                lineno);
            rc = -1;
        } else if (k == NULL) {
            fmt(err, errlen, "%s:%lu: %s: unknown key", file, lineno, name);
            rc = -1;
        } else if (line_of[k - keys] != 0) {
            fmt(err, errlen, "%s:%lu: %s: given twice (first on line %lu)", file, lineno,
                k->name, line_of[k - keys]);
            rc = -1;
        } else if (apply(c, k, value, why, sizeof(why)) < 0) {
            fmt(err, errlen, "%s:%lu: %s: %s", file, lineno, k->name, why);
            rc = -1;
        } else {
            line_of[k - keys] = lineno;
        }
    }
    explicit_bzero(buf, sizeof(buf));
    fclose(f);
    return rc;
}

static void env_name(const struct key *k, char *out, size_t len)
{
    size_t i, n = strlen("EZAPI_");

    memcpy(out, "EZAPI_", n);
    for (i = 0; k->name[i] && n + 1 < len; i++)
        out[n++] = k->name[i] >= 'a' && k->name[i] <= 'z' ? (char)(k->name[i] - 'a' + 'A')
                                                          : k->name[i];
    out[n] = '\0';
}

static int load_env(struct ez_config *c, int *given, char *err, size_t errlen)
{
    char name[96], why[WHY_MAX];

    for (size_t i = 0; i < NKEYS; i++) {
        const char *v;
        char *copy;
        int r;

        env_name(&keys[i], name, sizeof(name));
        v = getenv(name);
        if (v == NULL)
            continue;
        copy = strdup(v);
        if (copy == NULL) {
            fmt(err, errlen, "env %s: out of memory", name);
            return -1;
        }
        r = apply(c, &keys[i], trim(copy), why, sizeof(why));
        wipe_free(copy);
        if (r < 0) {
            fmt(err, errlen, "env %s: %s", name, why);
            return -1;
        }
        given[i] = 1;
        c->source[i].env = 1;
    }
    return 0;
}

static int load_defaults(struct ez_config *c, const int *given, const char *file,
                         char *err, size_t errlen)
{
    char why[WHY_MAX];

    for (size_t i = 0; i < NKEYS; i++) {
        if (given[i])
            continue;
        if (kinds[keys[i].kind].required) {
            fmt(err, errlen, "%s: %s: required key missing", file ? file : "(no config file)",
                keys[i].name);
            return -1;
        }
        if (apply(c, &keys[i], keys[i].def, why, sizeof(why)) < 0) {
            fmt(err, errlen, "default %s: %s", keys[i].name, why);
            return -1;
        }
    }
    return 0;
}

/* Pairs of keys whose values must differ: one secret for admin and master
 * session tokens would let either kind be checked with the other's key. */
static const struct {
    const char *a, *b;
} distinct_keys[] = {
    { "admin_jwt_secret", "master_jwt_secret" },
};

/* The rules between keys, once every key has its value. The error names
 * both keys, at the line of the later one when both are in the file. */
static int check_cross(const struct ez_config *c, const char *file, const unsigned long *line_of,
                       char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof(distinct_keys) / sizeof(distinct_keys[0]); i++) {
        const struct key *a = find_key(distinct_keys[i].a), *b = find_key(distinct_keys[i].b);
        if (strcmp(str_of(c, a), str_of(c, b)) != 0)
            continue;
        if (line_of[a - keys] > line_of[b - keys]) {
            const struct key *t = a;
            a = b;
            b = t;
        }
        if (file && line_of[b - keys])
            fmt(err, errlen, "%s:%lu: %s: must differ from %s", file, line_of[b - keys], b->name,
                a->name);
        else
            fmt(err, errlen, "%s: %s: must differ from %s", file ? file : "(no config file)",
                b->name, a->name);
        return -1;
    }
    return 0;
}

/* "FILE:LINE: KEY: why", "env EZAPI_KEY: why" or "FILE: KEY: why", from
 * where k's value came from. */
static void error_at(const struct ez_config *c, const char *file, const struct key *k,
                     const char *why, char *err, size_t errlen)
{
    const struct ez_config_source *src = &c->source[k - keys];
    char env[96];
    env_name(k, env, sizeof(env));
    if (src->env)
        fmt(err, errlen, "env %s: %s", env, why);
    else if (file && src->line)
        fmt(err, errlen, "%s:%lu: %s: %s", file, src->line, k->name, why);
    else
        fmt(err, errlen, "%s: %s: %s", file ? file : "(no config file)", k->name, why);
}

/* Both TLS files or neither; the pair is loaded into c->tls_ctx, so an
 * unreadable or mismatched pair is refused here, by -t as by a reload. */
static int check_tls(struct ez_config *c, const char *file, char *err, size_t errlen)
{
    const struct key *cert = find_key("tls_cert_file"), *key = find_key("tls_key_file");
    enum ez_tls_file at_fault;
    char why[WHY_MAX];

    if (c->tls_cert_file[0] == '\0' && c->tls_key_file[0] == '\0')
        return 0;
    if (c->tls_cert_file[0] == '\0' || c->tls_key_file[0] == '\0') {
        const struct key *given = c->tls_cert_file[0] ? cert : key;
        fmt(why, sizeof(why), "needs %s too", given == cert ? key->name : cert->name);
        error_at(c, file, given, why, err, errlen);
        return -1;
    }
    c->tls_ctx = ez_tls_ctx_new(c->tls_cert_file, c->tls_key_file, &at_fault, why, sizeof(why));
    if (c->tls_ctx == NULL) {
        error_at(c, file, at_fault == EZ_TLS_CERT_FILE ? cert : key, why, err, errlen);
        return -1;
    }
    return 0;
}

int ez_config_load(const char *file, struct ez_config *out, char *err, size_t errlen)
{
    struct ez_config c;
    unsigned long line_of[NKEYS];
    int given[NKEYS];

    memset(&c, 0, sizeof(c));
    memset(line_of, 0, sizeof(line_of));
    memset(given, 0, sizeof(given));
    fmt(err, errlen, "%s", "");
    if (file && load_file(file, &c, line_of, err, errlen) < 0)
        goto fail;
    for (size_t i = 0; i < NKEYS; i++) {
        given[i] = line_of[i] != 0;
        c.source[i].line = line_of[i];
    }
    if (load_env(&c, given, err, errlen) < 0 || load_defaults(&c, given, file, err, errlen) < 0 ||
        check_cross(&c, file, line_of, err, errlen) < 0 || check_tls(&c, file, err, errlen) < 0)
        goto fail;
    if (c.log_pg_dsn[0] == '\0') {
        char *dsn = strdup(c.pg_dsn);
        if (dsn == NULL) {
            fmt(err, errlen, "out of memory");
            goto fail;
        }
        free(c.log_pg_dsn);
        c.log_pg_dsn = dsn;
    }
    if (file && (c.path = strdup(file)) == NULL) {
        fmt(err, errlen, "out of memory");
        goto fail;
    }
    *out = c;
    explicit_bzero(&c, sizeof(c));
    return 0;
fail:
    ez_config_free(&c);
    memset(out, 0, sizeof(*out));
    return -1;
}

void ez_config_free(struct ez_config *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < NKEYS; i++)
        if (kinds[keys[i].kind].storage == ST_STRING)
            wipe_free(*str_at(c, &keys[i]));
    free(c->path);
    SSL_CTX_free(c->tls_ctx);
    explicit_bzero(c, sizeof(*c));
}

int ez_config_copy(struct ez_config *dst, const struct ez_config *src)
{
    *dst = *src;
    dst->path = NULL;
    dst->tls_ctx = NULL;
    for (size_t i = 0; i < NKEYS; i++)
        if (kinds[keys[i].kind].storage == ST_STRING)
            *str_at(dst, &keys[i]) = NULL;
    for (size_t i = 0; i < NKEYS; i++) {
        const char *s;
        if (kinds[keys[i].kind].storage != ST_STRING)
            continue;
        s = *(char *const *)(const void *)((const char *)src + keys[i].off);
        if (s && (*str_at(dst, &keys[i]) = strdup(s)) == NULL)
            goto fail;
    }
    if (src->path && (dst->path = strdup(src->path)) == NULL)
        goto fail;
    if (src->tls_ctx && SSL_CTX_up_ref(src->tls_ctx) == 1)
        dst->tls_ctx = src->tls_ctx;
    else if (src->tls_ctx)
        goto fail;
    return 0;
fail:
    ez_config_free(dst);
    return -1;
}

void ez_config_restart_keys_changed(const struct ez_config *a, const struct ez_config *b,
                                    char *buf, size_t len)
{
    size_t used = 0;

    if (buf == NULL || len == 0)
        return;
    buf[0] = '\0';
    for (size_t i = 0; i < NKEYS; i++) {
        const struct key *k = &keys[i];
        int differ;

        if (k->reload)
            continue;
        if (kinds[k->kind].storage == ST_STRING)
            differ = strcmp(str_of(a, k), str_of(b, k)) != 0;
        else
            differ = num_of(a, k) != num_of(b, k);
        if (differ && used < len) {
            int n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", k->name);
            used += n > 0 ? (size_t)n : 0;
        }
    }
}

int ez_config_keep_restart_keys(struct ez_config *next, const struct ez_config *old)
{
    for (size_t i = 0; i < NKEYS; i++) {
        const struct key *k = &keys[i];
        if (k->reload)
            continue;
        if (kinds[k->kind].storage == ST_STRING) {
            char *copy = strdup(str_of(old, k));
            if (copy == NULL)
                return -1;
            wipe_free(*str_at(next, k));
            *str_at(next, k) = copy;
        } else {
            set_num(next, k, num_of(old, k));
        }
    }
    /* secrets_key and secrets_key_previous are restart-only: their decoded
     * forms follow them. */
    memcpy(next->secrets_key_raw, old->secrets_key_raw, sizeof next->secrets_key_raw);
    next->has_secrets_key = old->has_secrets_key;
    memcpy(next->secrets_key_previous_raw, old->secrets_key_previous_raw,
           sizeof next->secrets_key_previous_raw);
    next->has_secrets_key_previous = old->has_secrets_key_previous;
    return 0;
}

/* Writes a libpq connection string with its password masked, as
 * key='value' words (a postgresql:// URI comes out in that form too). */
static void write_dsn_masked(FILE *f, const char *dsn)
{
    char *msg = NULL;
    PQconninfoOption *opts = PQconninfoParse(dsn, &msg);
    int first = 1;
    PQfreemem(msg);
    if (opts == NULL) {
        fputs(MASK, f);
        return;
    }
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (o->val == NULL)
            continue;
        fprintf(f, "%s%s=", first ? "" : " ", o->keyword);
        first = 0;
        if (strcmp(o->keyword, "password") == 0) {
            fputs(MASK, f);
            continue;
        }
        if (o->val[0] != '\0' && strcspn(o->val, " '\\") == strlen(o->val)) {
            fputs(o->val, f);
            continue;
        }
        fputc('\'', f);
        for (const char *v = o->val; *v; v++) {
            if (*v == '\'' || *v == '\\')
                fputc('\\', f);
            fputc(*v, f);
        }
        fputc('\'', f);
    }
    PQconninfoFree(opts);
}

static void write_value(FILE *f, const struct ez_config *c, const struct key *k)
{
    char buf[4200];
    long long n = num_of(c, k);

    switch (k->kind) {
    case KIND_REQUIRED_SECRET:
        fputs(MASK, f);
        break;
    case KIND_SECRETS_KEY:
        fputs(str_of(c, k)[0] ? MASK : "", f);
        break;
    case KIND_REDIS_URL:
        ez_redis_url_mask(str_of(c, k), buf, sizeof buf);
        fputs(buf, f);
        break;
    case KIND_REQUIRED_DSN:
    case KIND_DSN:
        write_dsn_masked(f, str_of(c, k));
        break;
    case KIND_LISTEN:
    case KIND_REQUIRED_STR:
    case KIND_STR:
    case KIND_CIDRS:
        fputs(str_of(c, k), f);
        break;
    case KIND_WORKERS:
    case KIND_INT:
        fprintf(f, "%lld", n);
        break;
    case KIND_DURATION:
        format_duration(n, buf, sizeof buf);
        fputs(buf, f);
        break;
    case KIND_LEVEL:
        fputs(level_names[n], f);
        break;
    case KIND_FORMAT:
        fputs(format_names[n], f);
        break;
    case KIND_BOOL:
        fputs(bool_names[n], f);
        break;
    }
}

void ez_config_write_effective(FILE *f, const struct ez_config *c)
{
    const char *file = c->path ? c->path : "(no file)";
    char env[96];

    fprintf(f, "# The effective configuration of ezapi (ezapi -T): %s with the\n"
            "# EZAPI_* environment applied. Each value follows its source. Secrets,\n"
            "# passwords and keys are masked as " MASK ".\n", file);
    for (size_t i = 0; i < NKEYS; i++) {
        const struct key *k = &keys[i];
        const struct ez_config_source *src = &c->source[i];

        env_name(k, env, sizeof(env));
        if (src->env && src->line)
            fprintf(f, "\n# env %s (over %s:%lu)\n", env, file, src->line);
        else if (src->env)
            fprintf(f, "\n# env %s\n", env);
        else if (src->line)
            fprintf(f, "\n# %s:%lu\n", file, src->line);
        else if (k->kind == KIND_DSN)
            fprintf(f, "\n# default (empty: pg_dsn)\n");
        else if (k->kind == KIND_WORKERS)
            fprintf(f, "\n# default (%s: one per CPU)\n", k->def);
        else
            fprintf(f, "\n# default\n");
        fprintf(f, "%s = ", k->name);
        write_value(f, c, k);
        fputc('\n', f);
    }
}

/* How a value of k may look, one line of prose for the sample and the page. */
static void describe_allowed(const struct key *k, char *buf, size_t len)
{
    char lo[32], hi[32];

    switch (k->kind) {
    case KIND_LISTEN:
        fmt(buf, len, "host:port, [IPv6]:port or unix:/absolute/path, comma-separated; "
            "host is an IPv4 address, localhost, or * or nothing for any address");
        break;
    case KIND_WORKERS:
        fmt(buf, len, "auto, or %lld to %lld", k->min, k->max);
        break;
    case KIND_REQUIRED_STR:
    case KIND_STR:
        fmt(buf, len, "%lld to %lld bytes, no control characters", k->min, k->max);
        break;
    case KIND_REQUIRED_DSN:
    case KIND_DSN:
        fmt(buf, len, "a libpq connection string, key=value words or a postgresql:// URI, "
            "%lld to %lld bytes; its password is masked by -T", k->min, k->max);
        break;
    case KIND_REQUIRED_SECRET:
        fmt(buf, len, "%lld to %lld bytes, no control characters, not the sample's "
            PLACEHOLDER " placeholder; never printed", k->min, k->max);
        break;
    case KIND_REDIS_URL:
        fmt(buf, len, "redis://[[user]:password@]host[:port][/db] (port 6379 and db 0 when "
            "left out), unix://[[user]:password@]/absolute/path[?db=N], or "
            "redis-sentinel://[[user]:password@]host[:port][,host[:port]...]/master-name[/db] "
            "(Sentinels, port 26379 when left out); '%%' in a password "
            "written %%25; user:password@ sends AUTH user password (Redis 6 ACL users); "
            "rediss:// is refused (tunnel TLS locally); the password is masked by -T");
        break;
    case KIND_SECRETS_KEY:
        fmt(buf, len, "empty, or 32 bytes written as 64 hexadecimal digits or in standard "
            "base64; never printed");
        break;
    case KIND_CIDRS:
        fmt(buf, len, "address/prefix (IPv4 or IPv6), comma-separated; may be empty");
        break;
    case KIND_INT:
        fmt(buf, len, "%lld to %lld", k->min, k->max);
        break;
    case KIND_DURATION:
        format_duration(k->min, lo, sizeof(lo));
        format_duration(k->max, hi, sizeof(hi));
        fmt(buf, len, "%s to %s", lo, hi);
        break;
    case KIND_LEVEL:
        fmt(buf, len, "debug, info, warn or error");
        break;
    case KIND_FORMAT:
        fmt(buf, len, "json or text");
        break;
    case KIND_BOOL:
        fmt(buf, len, "on or off");
        break;
    }
}

/* The value the sample gives a required key, so that it loads as written. */
static void sample_value(const struct key *k, char *buf, size_t len)
{
    for (size_t i = 0; i < sizeof(sample_values) / sizeof(sample_values[0]); i++) {
        if (strcmp(sample_values[i].key, k->name) == 0) {
            fmt(buf, len, "%s", sample_values[i].value);
            return;
        }
    }
    if (k->kind == KIND_REQUIRED_SECRET) {
        size_t n;
        fmt(buf, len, "%s-%s-openssl-rand-hex-32", PLACEHOLDER, k->name);
        for (n = strlen(buf); (long long)n < k->min && n + 1 < len; n++)
            buf[n] = 'x';
        buf[n] = '\0';
        return;
    }
    fmt(buf, len, "%s", PLACEHOLDER);
}

/* Writes text as "# " lines no wider than 76 columns. */
static void write_comment(FILE *f, const char *text)
{
    const size_t width = 74;

    while (*text) {
        size_t n = strlen(text), cut = n;
        if (n > width) {
            cut = width;
            while (cut > 0 && text[cut] != ' ')
                cut--;
            if (cut == 0)
                cut = strcspn(text, " ");
        }
        fprintf(f, "# %.*s\n", (int)cut, text);
        text += cut;
        while (*text == ' ')
            text++;
    }
}

void ez_config_write_sample(FILE *f)
{
    char allowed[512], line[600], value[256];

    fputs("# ezapi.conf: configuration of ezapi(8); the syntax and every key are\n"
          "# described in ezapi.conf(5). Generated from the configuration table.\n"
          "#\n"
          "# One \"key = value\" per line; the value is the rest of the line, trimmed,\n"
          "# never quoted. Lines starting with # are comments. Each key may also be\n"
          "# set by the environment variable EZAPI_<KEY IN UPPER CASE>, which wins\n"
          "# over this file. The commented-out values below are the defaults.\n"
          "#\n"
          "# The required keys are set to placeholders that ezapi -t and the server\n"
          "# refuse until you replace them: point pg_dsn at your database and set\n"
          "# every CHANGE-ME secret (openssl rand -hex 32).\n",
          f);
    for (size_t i = 0; i < NKEYS; i++) {
        const struct key *k = &keys[i];
        int required = kinds[k->kind].required;

        fputs("\n", f);
        write_comment(f, k->help);
        describe_allowed(k, allowed, sizeof(allowed));
        snprintf(line, sizeof(line), "Allowed: %s.", allowed);
        write_comment(f, line);
        fprintf(f, "# %s%s.\n", required ? "Required. " : "",
                k->reload ? "Applied on reload (SIGHUP)" : "Needs a restart to change");
        if (required) {
            sample_value(k, value, sizeof(value));
            fprintf(f, "%s = %s\n", k->name, value);
        } else {
            fprintf(f, "# %s =%s%s\n", k->name, k->def[0] ? " " : "", k->def);
        }
    }
}

/* Writes s as roff text: backslashes and hyphens escaped, and a leading
 * control character neutralised when s starts a line. */
static void roff(FILE *f, const char *s, int line_start)
{
    if (line_start && (*s == '.' || *s == '\''))
        fputs("\\&", f);
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\e", f);
        else if (*s == '-')
            fputs("\\-", f);
        else
            fputc(*s, f);
    }
}

void ez_config_write_man(FILE *f)
{
    char allowed[512], env[96];

    fputs(".\\\" ezapi.conf(5), generated by ez_config_write_man() from\n"
          ".\\\" common/config_table.h. Do not edit: regenerate it.\n"
          ".TH EZAPI.CONF 5 \"\" \"ezapi\" \"File Formats Manual\"\n"
          ".SH NAME\n"
          "ezapi.conf \\- configuration file of the ezapi control plane\n"
          ".SH SYNOPSIS\n"
          ".I /usr/local/etc/ezapi/ezapi.conf\n"
          ".SH DESCRIPTION\n"
          ".BR ezapi (8)\n"
          "reads its configuration from the file named by\n"
          ".BR \\-c ,\n"
          "by default\n"
          ".I ezapi/ezapi.conf\n"
          "under the system configuration directory chosen at build time\n"
          "(\\fI/usr/local/etc\\fR unless changed).\n"
          ".PP\n"
          "Each line holds one\n"
          ".IB key \" = \" value\\fR.\n"
          "The key is the text before the first\n"
          ".BR = ,\n"
          "the value is the rest of the line, both with leading and trailing blanks\n"
          "removed.\n"
          "Values are never quoted and may contain\n"
          ".BR = ;\n"
          "they may not contain control characters.\n"
          "A line whose first non\\-blank character is\n"
          ".B #\n"
          "is a comment; a\n"
          ".B #\n"
          "after a value is part of the value.\n"
          "Blank lines are ignored.\n"
          "Keys are lower case and each may be given only once.\n"
          "A key left out takes its default.\n"
          ".PP\n"
          "Durations are a whole number followed by\n"
          ".BR ms ,\n"
          ".BR s ,\n"
          ".B m\n"
          "or\n"
          ".BR h ;\n"
          "a bare number is seconds.\n"
          ".PP\n"
          "An unknown key, a key given twice, a bad value, a missing required key,\n"
          "a line without\n"
          ".BR = ,\n"
          "a line longer than 8192 bytes or a NUL byte is an error, reported as\n"
          ".IB file : line : \" key\" : \" reason\\fR;\n"
          ".B ezapi \\-t\n"
          "then exits with status 78.\n"
          "Errors never show the value of a secret, a connection string or a Redis URL.\n"
          ".PP\n"
          "On\n"
          ".BR SIGHUP ,\n"
          ".B ezapi\n"
          "reads the file again and applies it only if all of it is valid.\n"
          "Keys marked as needing a restart keep their old values until the next start,\n"
          "and a warning names them.\n"
          ".SH ENVIRONMENT\n"
          "Every key can be set by the environment variable\n"
          ".B EZAPI_\\fIKEY\\fR,\n"
          "the key in upper case (for example\n"
          ".BR EZAPI_PG_DSN ).\n"
          "A variable that is set wins over the file, even when it is empty.\n"
          "Its value is trimmed and checked like a value in the file, and an error\n"
          "is reported as\n"
          ".BI \"env EZAPI_\" KEY : \" reason\\fR.\n"
          "Every value in the file must be valid, including one that the environment\n"
          "overrides.\n"
          "Other variables starting with\n"
          ".B EZAPI_\n"
          "are ignored.\n"
          ".SH KEYS\n",
          f);
    for (size_t i = 0; i < NKEYS; i++) {
        const struct key *k = &keys[i];
        int required = kinds[k->kind].required;

        env_name(k, env, sizeof(env));
        describe_allowed(k, allowed, sizeof(allowed));
        fprintf(f, ".TP\n.BI \"%s = \" \"%s\"\n", k->name, kinds[k->kind].type);
        roff(f, k->help, 1);
        fputs(".\n.br\nDefault: ", f);
        if (required)
            fputs("none, required", f);
        else if (k->def[0] == '\0')
            fputs("empty", f);
        else {
            fputs("\\fB", f);
            roff(f, k->def, 0);
            fputs("\\fR", f);
        }
        fputs(".\n.br\nAllowed: ", f);
        roff(f, allowed, 0);
        fprintf(f, ".\n.br\n%s.\n.br\nEnvironment: \\fB", k->reload
                ? "Applied on reload" : "Needs a restart to change");
        roff(f, env, 0);
        fputs("\\fR.\n", f);
    }
    fputs(".SH FILES\n"
          ".TP\n"
          ".I /usr/local/etc/ezapi/ezapi.conf\n"
          "The default configuration file; installed from a generated sample that lists\n"
          "every key with its default and is never overwritten by\n"
          ".BR \"make install\" .\n"
          ".SH EXAMPLE\n"
          ".nf\n"
          ".RS\n"
          "# ezapi.conf\n"
          "listen = 0.0.0.0:8080, [::]:8080\n"
          "pg_dsn = host=/run/postgresql dbname=ezapi\n"
          "admin_jwt_secret = 0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a6978\n"
          "master_jwt_secret = 8796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0\n"
          "redis_url = redis://:s3cret@127.0.0.1:6379/0\n"
          "request_timeout = 15s\n"
          "log_format = text\n"
          ".RE\n"
          ".fi\n"
          ".SH SEE ALSO\n"
          ".BR ezapi (8)\n",
          f);
}
