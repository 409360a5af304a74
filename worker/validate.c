/* Generic field checks; the per-resource rules live in validate_<resource>.c. */
#include "validate.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gostr.h"

int ez_v_fail(struct ez_verr *e, int status, const char *param, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ez_vrefuse(e, (enum ez_result)status, NULL, param, fmt, ap);
    va_end(ap);
    return -1;
}

int ez_v_known_fields(json_t *obj, const char *const *allowed, struct ez_verr *e)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        int ok = 0;
        for (int i = 0; allowed[i] && !ok; i++)
            ok = strcmp(key, allowed[i]) == 0;
        if (!ok) {
            /* param must outlive obj: point at a static copy of the name */
            static char unknown[80];
            snprintf(unknown, sizeof unknown, "%.*s", ez_utf8_prefix(key, sizeof unknown - 1), key);
            return ez_v_fail(e, 400, unknown, "unknown field '%.*s'", ez_utf8_prefix(key, 64), key);
        }
    }
    return 0;
}

int ez_v_present(json_t *obj, const char *field, int nullable, int *is_null, json_t **v,
                 struct ez_verr *e)
{
    if (is_null)
        *is_null = 0;
    *v = json_object_get(obj, field);
    if (!*v || !json_is_null(*v))
        return 0;
    *v = NULL;
    if (!nullable)
        return ez_v_fail(e, 400, field, "%s may not be null", field);
    if (is_null)
        *is_null = 1;
    return 0;
}

int ez_v_string(json_t *obj, const char *field, size_t maxlen, int nullable, int allow_empty,
                const char **out, int *is_null, struct ez_verr *e)
{
    *out = NULL;
    json_t *v;
    if (ez_v_present(obj, field, nullable, is_null, &v, e) != 0)
        return -1;
    if (!v)
        return 0;
    if (!json_is_string(v))
        return ez_v_fail(e, 400, field, "%s must be a string", field);
    size_t len = json_string_length(v);
    const char *s = json_string_value(v);
    if (len > maxlen)
        return ez_v_fail(e, 400, field, "%s is longer than %zu bytes", field, maxlen);
    if (len == 0 && !allow_empty)
        return ez_v_fail(e, 400, field, "%s may not be empty", field);
    if (strlen(s) != len)
        return ez_v_fail(e, 400, field, "%s contains a NUL byte", field);
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] < 0x20 && s[i] != '\t' && s[i] != '\n') || s[i] == 0x7f)
            return ez_v_fail(e, 400, field, "%s contains a control character", field);
    *out = s;
    return 0;
}

int ez_v_enum(json_t *obj, const char *field, const char *const *values, const char **out,
              struct ez_verr *e)
{
    if (ez_v_string(obj, field, 64, 0, 0, out, NULL, e) != 0)
        return -1;
    if (!*out)
        return 0;
    for (int i = 0; values[i]; i++)
        if (strcmp(*out, values[i]) == 0)
            return 0;
    char list[256] = "";
    for (int i = 0; values[i]; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                 values[i]);
    return ez_v_fail(e, 400, field, "%s must be one of: %s", field, list);
}

int ez_v_int(json_t *obj, const char *field, long long min, long long max, long long *out,
             int *present, struct ez_verr *e)
{
    json_t *v = json_object_get(obj, field);
    if (present)
        *present = v != NULL;
    if (!v)
        return 0;
    if (!json_is_integer(v))
        return ez_v_fail(e, 400, field, "%s must be an integer", field);
    long long x = json_integer_value(v);
    if (x < min || x > max)
        return ez_v_fail(e, 400, field, "%s must be between %lld and %lld", field, min, max);
    *out = x;
    return 0;
}

int ez_v_bool(json_t *obj, const char *field, int *out, int *present, struct ez_verr *e)
{
    json_t *v = json_object_get(obj, field);
    if (present)
        *present = v != NULL;
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return ez_v_fail(e, 400, field, "%s must be true or false", field);
    *out = json_is_true(v);
    return 0;
}

int ez_v_is_group_name(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > EZ_MAX_NAME || !isalnum((unsigned char)s[0]))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
            return 0;
    return 1;
}

int ez_v_is_namespace_name(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > EZ_MAX_NAME)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 (i > 0 && (c == '_' || c == '-'));
        if (!ok)
            return 0;
    }
    return 1;
}

int ez_v_query_enum(const char *name, const char *v, const char *const *values,
                    struct ez_verr *e)
{
    json_t *q = json_object();
    if (v)
        json_object_set_new(q, name, json_string(v));
    const char *out;
    int rc = ez_v_enum(q, name, values, &out, e);
    json_decref(q);
    return rc;
}
