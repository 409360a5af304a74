/* Field checks shared by every resource's validation module. Each returns
 * 0, or -1 with `e` describing the first problem (the field as `param`);
 * the handler answers it with ez_reply_outcome(). Nothing here replies. */
#ifndef EZ_VALIDATE_H
#define EZ_VALIDATE_H

#include <jansson.h>
#include <stddef.h>

#include "outcome.h"
#include "rules.h"

int ez_v_fail(struct ez_verr *e, int status, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Every key of obj is in the NULL-terminated `allowed`. */
int ez_v_known_fields(json_t *obj, const char *const *allowed, struct ez_verr *e);
/* An optional field's value: *v NULL when absent, or when JSON null and
 * `nullable` (then *is_null = 1, if is_null is given); -1 when null is
 * not allowed. */
int ez_v_present(json_t *obj, const char *field, int nullable, int *is_null, json_t **v,
                 struct ez_verr *e);
/* Optional string field. *out = NULL when absent; when JSON null and
 * `nullable`, *is_null = 1. Rejects non-strings, empty when !allow_empty,
 * over maxlen bytes, NUL bytes and control characters (0x01 to 0x1f but
 * tab and newline, and 0x7f). */
int ez_v_string(json_t *obj, const char *field, size_t maxlen, int nullable, int allow_empty,
                const char **out, int *is_null, struct ez_verr *e);
/* Like ez_v_string, then the value must be one of the NULL-terminated set. */
int ez_v_enum(json_t *obj, const char *field, const char *const *values, const char **out,
              struct ez_verr *e);
/* Optional integer in [min, max]; *present says whether it was given. */
int ez_v_int(json_t *obj, const char *field, long long min, long long max, long long *out,
             int *present, struct ez_verr *e);
/* Optional boolean. */
int ez_v_bool(json_t *obj, const char *field, int *out, int *present, struct ez_verr *e);
/* Namespace-style names: [a-z0-9][a-z0-9_-]{0,63}. */
int ez_v_is_namespace_name(const char *s);
/* A provider group name: EZ_GROUP_NAME (rules.h). */
int ez_v_is_group_name(const char *s);
/* Query parameter `name`, valued v (NULL when absent), must be one of the
 * NULL-terminated values. */
int ez_v_query_enum(const char *name, const char *v, const char *const *values,
                    struct ez_verr *e) __attribute__((warn_unused_result));

#endif
