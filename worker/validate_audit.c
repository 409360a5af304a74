/* Audit list query: filters of at most 256 bytes, actor_type one of the
 * actor types, since and until RFC 3339, limit 1..200 and a cursor of the
 * form this server issues ("a<microseconds>_<id>"). */
#include "validate_audit.h"

#include "http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

static int two(const char *s)
{
    return (s[0] - '0') * 10 + (s[1] - '0');
}

/* The date and time of a timestamp whose shape is checked: a real day
 * (leap years counted) and time, so that PostgreSQL is never handed a
 * value it refuses. */
static int in_range(const char *s)
{
    static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int y = two(s) * 100 + two(s + 2), mo = two(s + 5), d = two(s + 8);
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return y >= 1 && mo >= 1 && mo <= 12 && d >= 1 && d <= mdays[mo - 1] + (mo == 2 && leap) &&
           two(s + 11) <= 23 && two(s + 14) <= 59 && two(s + 17) <= 59;
}

/* YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM), each field in its range */
static int rfc3339(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    size_t i = 0;
    for (; shape[i]; i++) {
        if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
            return 0;
    }
    if (!in_range(s))
        return 0;
    if (s[i] == '.') {
        i++;
        size_t digits = 0;
        while (isdigit((unsigned char)s[i]) && digits < 9)
            i++, digits++;
        if (!digits)
            return 0;
    }
    if (s[i] == 'Z')
        return s[i + 1] == 0;
    return (s[i] == '+' || s[i] == '-') && isdigit((unsigned char)s[i + 1]) &&
           isdigit((unsigned char)s[i + 2]) && s[i + 3] == ':' &&
           isdigit((unsigned char)s[i + 4]) && isdigit((unsigned char)s[i + 5]) && s[i + 6] == 0 &&
           two(s + i + 1) <= 23 && two(s + i + 4) <= 59;
}

static int cursor(const char *c, struct ez_audit_query *q, struct ez_verr *e)
{
    /* exactly as issued: "a" <time> "_" <id>, both canonical decimals */
    char time[24];
    const char *sep = c[0] == 'a' ? strchr(c, '_') : NULL;
    size_t n = sep ? (size_t)(sep - c - 1) : 0;
    int64_t tv, iv;
    if (!sep || n == 0 || n >= sizeof time)
        return ez_refuse(e, EZ_INVALID, "invalid_request", "cursor",
                         "cursor is not one this server issued");
    memcpy(time, c + 1, n);
    time[n] = '\0';
    if (ez_parse_id(time, &tv) != 0 || ez_parse_id(sep + 1, &iv) != 0)
        return ez_refuse(e, EZ_INVALID, "invalid_request", "cursor",
                         "cursor is not one this server issued");
    snprintf(q->before_time, sizeof q->before_time, "%lld", (long long)tv);
    snprintf(q->before_id, sizeof q->before_id, "%lld", (long long)iv);
    return 0;
}

int ez_validate_audit_query(const struct evkeyvalq *query, struct ez_audit_query *q,
                            struct ez_verr *e)
{
    static const char *const filters[] = { "actor_type", "actor", "action", "resource",
                                           "resource_id", "request_id" };
    *q = (struct ez_audit_query){ .limit = EZ_AUDIT_DEFAULT_LIMIT };
    const char **fields[] = { &q->actor_type, &q->actor, &q->action, &q->resource,
                              &q->resource_id, &q->request_id };
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++) {
        const char *v = evhttp_find_header(query, filters[i]);
        if (v && strlen(v) > EZ_AUDIT_MAX_FILTER)
            return ez_refuse(e, EZ_INVALID, "invalid_request", filters[i],
                             "%s is longer than %d bytes", filters[i], EZ_AUDIT_MAX_FILTER);
        *fields[i] = v;
    }
    if (q->actor_type && strcmp(q->actor_type, "admin") != 0 &&
        strcmp(q->actor_type, "master") != 0 && strcmp(q->actor_type, "anonymous") != 0)
        return ez_refuse(e, EZ_INVALID, "invalid_request", "actor_type",
                         "actor_type must be admin, master or anonymous");
    q->since = evhttp_find_header(query, "since");
    q->until = evhttp_find_header(query, "until");
    if ((q->since && !rfc3339(q->since)) || (q->until && !rfc3339(q->until)))
        return ez_refuse(e, EZ_INVALID, "invalid_request",
                         q->since && !rfc3339(q->since) ? "since" : "until",
                         "since and until must be RFC 3339 timestamps");
    const char *l = evhttp_find_header(query, "limit");
    if (l) {
        int64_t v;
        if (ez_parse_id(l, &v) != 0 || v > EZ_AUDIT_MAX_LIMIT)
            return ez_refuse(e, EZ_INVALID, "invalid_request", "limit",
                             "limit must be an integer from 1 to %d", EZ_AUDIT_MAX_LIMIT);
        q->limit = (int)v;
    }
    const char *c = evhttp_find_header(query, "cursor");
    return c && *c ? cursor(c, q, e) : 0;
}
