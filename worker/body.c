/* JSON request bodies. Duplicate keys are refused (the client's intent is
 * ambiguous); jansson already refuses invalid UTF-8. */
#include "body.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static int content_type_json(const char *ct)
{
    if (!ct)
        return 0;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t n = strlen("application/json");
    return strncasecmp(ct, "application/json", n) == 0 &&
           (ct[n] == 0 || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t');
}

int ez_body_parse(const char *content_type, const char *data, size_t len, json_t **out,
                  char *msg, size_t msglen)
{
    *out = NULL;
    if (len == 0)
        return 0;
    if (!content_type_json(content_type)) {
        snprintf(msg, msglen, "the request body must be application/json");
        return 415;
    }
    json_error_t jerr;
    /* NUL inside strings is let through so that the field's validation can
     * refuse it by name (param); jansson still refuses it inside keys. */
    json_t *v = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!v) {
        snprintf(msg, msglen, "malformed JSON at line %d, column %d (byte %d): %s", jerr.line,
                 jerr.column, jerr.position, jerr.text);
        return 400;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        snprintf(msg, msglen, "the request body must be a JSON object");
        return 400;
    }
    *out = v;
    return 0;
}
