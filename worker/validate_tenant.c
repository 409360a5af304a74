/* Masters: name (1..64), group (a provider group name), status, limits,
 * namespaces. Child keys: name (0..64), status, namespaces, model_limits,
 * allow_ips, expires_at. Lists are unique entries; entries of a list that
 * the Redis contract joins with commas can never hold a comma. */
#include "validate_tenant.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const master_statuses[] = EZ_MASTER_STATUSES;
static const char *const key_statuses[] = EZ_KEY_SET_STATUSES;
static const char *const propagations[] = EZ_PROPAGATIONS;

enum list_kind { LIST_NAMESPACES, LIST_MODELS, LIST_CIDRS };

int ez_tenant_cidr_valid(const char *s)
{
    char addr[64];
    size_t n = strcspn(s, "/");
    if (n == 0 || n >= sizeof addr)
        return 0;
    memcpy(addr, s, n);
    addr[n] = '\0';
    unsigned char buf[16];
    int v6 = strchr(addr, ':') != NULL;
    if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, buf) != 1)
        return 0;
    if (!s[n])
        return 1;
    const char *bits = s + n + 1;
    size_t bl = strlen(bits);
    if (bl < 1 || bl > 3)
        return 0;
    for (size_t i = 0; i < bl; i++)
        if (!isdigit((unsigned char)bits[i]))
            return 0;
    if (bl > 1 && bits[0] == '0')
        return 0;
    return atoi(bits) <= (v6 ? 128 : 32);
}

/* Optional list of strings: *out NULL when absent, *is_null when JSON null
 * (only if nullable). */
static int v_list(json_t *obj, const char *field, int nullable, enum list_kind kind,
                  json_t **out, int *is_null, struct ez_verr *e)
{
    *out = NULL;
    json_t *v;
    if (ez_v_present(obj, field, nullable, is_null, &v, e) != 0)
        return -1;
    if (!v)
        return 0;
    size_t max = kind == LIST_CIDRS ? EZ_TENANT_MAX_IPS : EZ_TENANT_MAX_LIST;
    if (!json_is_array(v))
        return ez_v_fail(e, 400, field, "%s must be an array of strings", field);
    if (json_array_size(v) > max)
        return ez_v_fail(e, 400, field, "%s has more than %zu entries", field, max);
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) {
        json_t *wrap = json_pack("{s:O}", "x", item);
        const char *s;
        size_t maxlen = kind == LIST_MODELS ? EZ_TENANT_MAX_MODEL : EZ_MAX_NAME;
        struct ez_verr tmp;
        int bad = !wrap || ez_v_string(wrap, "x", kind == LIST_CIDRS ? EZ_TENANT_MAX_CIDR : maxlen,
                                       0, 0, &s, NULL, &tmp) != 0;
        json_decref(wrap);
        if (bad)
            return ez_v_fail(e, 400, field,
                             "%s[%zu] must be a non-empty string of at most %zu bytes without "
                             "control characters", field, i,
                             kind == LIST_CIDRS ? (size_t)EZ_TENANT_MAX_CIDR : maxlen);
        s = json_string_value(item);
        if (kind == LIST_NAMESPACES && !ez_v_is_namespace_name(s))
            return ez_v_fail(e, 400, field, "%s[%zu] must match " EZ_NAMESPACE_NAME, field, i);
        if (kind == LIST_MODELS && strchr(s, ','))
            return ez_v_fail(e, 400, field, "%s[%zu] may not contain a comma", field, i);
        if (kind == LIST_CIDRS && !ez_tenant_cidr_valid(s))
            return ez_v_fail(e, 400, field, "%s[%zu] is not a valid IP address or CIDR",
                             field, i);
        for (size_t j = 0; j < i; j++)
            if (strcmp(json_string_value(json_array_get(v, j)), s) == 0)
                return ez_v_fail(e, 400, field, "%s[%zu] repeats an earlier entry", field, i);
    }
    *out = v;
    return 0;
}

/* default_namespace: a namespace name; "" or null clears it. */
static int v_default_namespace(json_t *obj, const char **out, int *clear, struct ez_verr *e)
{
    if (ez_v_string(obj, "default_namespace", EZ_MAX_NAME, 1, 1, out, clear, e) != 0)
        return -1;
    if (*out && !**out) {
        *out = NULL;
        *clear = 1;
    }
    if (*out && !ez_v_is_namespace_name(*out))
        return ez_v_fail(e, 400, "default_namespace",
                         "default_namespace must match " EZ_NAMESPACE_NAME);
    return 0;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int ez_tenant_parse_time(const char *s, long long *unix_s)
{
    int Y, M, D, h, m, sec;
    if (strlen(s) < 20 || digits(s, 4, &Y) || s[4] != '-' || digits(s + 5, 2, &M) ||
        s[7] != '-' || digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't') ||
        digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &m) || s[16] != ':' ||
        digits(s + 17, 2, &sec))
        return -1;
    static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
    if (Y < 1970 || M < 1 || M > 12 || D < 1 || D > mdays[M - 1] ||
        (M == 2 && D == 29 && !leap) || h > 23 || m > 59 || sec > 59)
        return -1;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        int nd = 0;
        while (isdigit((unsigned char)*p) && nd < 9) {
            p++;
            nd++;
        }
        if (nd == 0)
            return -1;
    }
    long long off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 ||
            om > 59)
            return -1;
        off = (oh * 3600LL + om * 60LL) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    struct tm tm = { .tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D, .tm_hour = h,
                     .tm_min = m, .tm_sec = sec };
    *unix_s = (long long)timegm(&tm) - off;
    return 0;
}

int ez_tenant_listed(json_t *list, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
            return 1;
    return 0;
}

const char *ez_tenant_default_for(json_t *ns, const char *preferred)
{
    if (preferred && *preferred && ez_tenant_listed(ns, preferred))
        return preferred;
    return json_string_value(json_array_get(ns, 0));
}

int ez_tenant_rule_access(json_t *allowed, json_t *ns, const char *def, struct ez_verr *e)
{
    size_t i;
    json_t *v;
    if (allowed)
        json_array_foreach(ns, i, v)
            if (!ez_tenant_listed(allowed, json_string_value(v)))
                return ez_v_fail(e, 422, "namespaces",
                                 "namespace '%s' is not one of the master's namespaces",
                                 json_string_value(v));
    if (def && *def && !ez_tenant_listed(ns, def))
        return ez_v_fail(e, 422, "default_namespace",
                         "default_namespace '%s' is not one of namespaces", def);
    return 0;
}

static json_t *body_or_empty(json_t *body)
{
    return body ? json_incref(body) : json_object();
}

static int master_fields(json_t *b, struct ez_master_in *in, struct ez_verr *e)
{
    long long v;
    if (ez_v_string(b, "group", EZ_MAX_NAME, 0, 0, &in->group, NULL, e) != 0)
        return -1;
    if (in->group && !ez_v_is_group_name(in->group))
        return ez_v_fail(e, 400, "group", "group must match " EZ_GROUP_NAME);
    if (ez_v_enum(b, "status", master_statuses, &in->status, e) != 0 ||
        ez_v_int(b, "max_child_keys", 0, EZ_MAX_CHILD_KEYS, &v, &in->has_max_child_keys, e) != 0)
        return -1;
    in->max_child_keys = in->has_max_child_keys ? v : 0;
    if (ez_v_int(b, "global_qps", 0, EZ_MAX_GLOBAL_QPS, &v, &in->has_global_qps, e) != 0)
        return -1;
    in->global_qps = in->has_global_qps ? v : 0;
    if (v_list(b, "namespaces", 0, LIST_NAMESPACES, &in->namespaces, NULL, e) != 0)
        return -1;
    return v_default_namespace(b, &in->default_namespace, &in->clear_default_namespace, e);
}

int ez_validate_master(json_t *body, int create, struct ez_master_in *in, struct ez_verr *e)
{
    static const char *const fields[] = { "name", "group", "status", "max_child_keys",
                                          "global_qps", "namespaces", "default_namespace",
                                          NULL };
    if (!body && create)
        return ez_refuse(e, EZ_INVALID, "invalid_request", NULL, "a JSON body is required");
    json_t *b = body_or_empty(body);
    int rc = -1;
    if (ez_v_known_fields(b, fields, e) != 0 ||
        ez_v_string(b, "name", EZ_MAX_NAME, 0, 0, &in->name, NULL, e) != 0)
        goto out;
    if (create && !in->name) {
        ez_v_fail(e, 400, "name", "name is required");
        goto out;
    }
    if (master_fields(b, in, e) != 0)
        goto out;
    rc = 0;
out:
    json_decref(b); /* values stay valid: the caller holds body */
    return rc;
}

int ez_validate_master_access(json_t *body, struct ez_master_in *in, struct ez_verr *e)
{
    static const char *const fields[] = { "default_namespace", "namespaces", "propagate", NULL };
    json_t *b = body_or_empty(body);
    int rc = -1;
    if (ez_v_known_fields(b, fields, e) != 0 ||
        v_list(b, "namespaces", 0, LIST_NAMESPACES, &in->namespaces, NULL, e) != 0 ||
        v_default_namespace(b, &in->default_namespace, &in->clear_default_namespace, e) != 0 ||
        ez_v_enum(b, "propagate", propagations, &in->propagate, e) != 0)
        goto out;
    if (!in->propagate)
        in->propagate = "none";
    rc = 0;
out:
    json_decref(b);
    return rc;
}

static int v_expires_at(json_t *b, struct ez_child_key_in *in, struct ez_verr *e)
{
    if (ez_v_string(b, "expires_at", 64, 1, 0, &in->expires_at, &in->clear_expires_at, e) != 0)
        return -1;
    if (!in->expires_at)
        return 0;
    long long t;
    if (ez_tenant_parse_time(in->expires_at, &t) != 0)
        return ez_v_fail(e, 400, "expires_at",
                         "expires_at must be an RFC 3339 date-time such as 2030-01-02T03:04:05Z");
    if (t <= (long long)time(NULL))
        return ez_v_fail(e, 400, "expires_at", "expires_at must be in the future");
    if (t >= 253402300800LL) /* 10000-01-01 */
        return ez_v_fail(e, 400, "expires_at", "expires_at is out of range");
    return 0;
}

int ez_validate_key(json_t *body, enum ez_key_mode mode, struct ez_child_key_in *in,
                    struct ez_verr *e)
{
    static const char *const issue[] = { "name", "namespaces", "default_namespace",
                                         "model_limits", "allow_ips", "expires_at", NULL };
    static const char *const admin[] = { "status", "name", "expires_at", "model_limits",
                                         "allow_ips", NULL };
    static const char *const owner[] = { "status", "name", "expires_at", "model_limits",
                                         "allow_ips", "namespaces", "default_namespace", NULL };
    static const char *const access[] = { "namespaces", "default_namespace", NULL };
    const char *const *fields = mode == EZ_KEY_ISSUE          ? issue
                                : mode == EZ_KEY_UPDATE_ADMIN ? admin
                                : mode == EZ_KEY_UPDATE_OWNER ? owner
                                                              : access;
    json_t *b = body_or_empty(body);
    int rc = -1;
    if (ez_v_known_fields(b, fields, e) != 0 ||
        ez_v_string(b, "name", EZ_MAX_NAME, 0, 1, &in->name, NULL, e) != 0 ||
        ez_v_enum(b, "status", key_statuses, &in->status, e) != 0 ||
        v_list(b, "namespaces", 0, LIST_NAMESPACES, &in->namespaces, NULL, e) != 0 ||
        v_default_namespace(b, &in->default_namespace, &in->clear_default_namespace, e) != 0 ||
        v_list(b, "model_limits", 1, LIST_MODELS, &in->model_limits, &in->clear_model_limits,
               e) != 0 ||
        v_list(b, "allow_ips", 1, LIST_CIDRS, &in->allow_ips, &in->clear_allow_ips, e) != 0 ||
        v_expires_at(b, in, e) != 0)
        goto out;
    rc = 0;
out:
    json_decref(b);
    return rc;
}

int ez_validate_rotate(json_t *body, long long *grace_s, struct ez_verr *e)
{
    static const char *const fields[] = { "grace_seconds", NULL };
    json_t *b = body_or_empty(body);
    int present = 0, rc = -1;
    *grace_s = 0;
    if (ez_v_known_fields(b, fields, e) == 0 &&
        ez_v_int(b, "grace_seconds", 0, EZ_TENANT_MAX_GRACE, grace_s, &present, e) == 0)
        rc = 0;
    json_decref(b);
    return rc;
}

int ez_validate_empty(json_t *body, struct ez_verr *e)
{
    static const char *const none[] = { NULL };
    return body ? ez_v_known_fields(body, none, e) : 0;
}

int ez_validate_key_status_filter(const char *status, struct ez_verr *e)
{
    static const char *const ok[] = { "active", "suspended", "revoked", "expired", NULL };
    for (int i = 0; status && ok[i]; i++)
        if (strcmp(status, ok[i]) == 0)
            return 0;
    if (!status)
        return 0;
    return ez_refuse(e, EZ_INVALID, "invalid_request", "status",
                     "status must be one of active, suspended, revoked, expired");
}
