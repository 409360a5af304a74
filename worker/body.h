/* Request bodies: the content-type rule and the JSON object parse, as a
 * pure function so it can be unit-tested and fuzzed without a server. */
#ifndef EZ_BODY_H
#define EZ_BODY_H

#include <jansson.h>
#include <stddef.h>

/* 0 with *out = the JSON object (NULL for an empty body), or the HTTP
 * status to answer (415 wrong content type, 400 malformed or not an
 * object) with a message for the client in msg. */
int ez_body_parse(const char *content_type, const char *data, size_t len, json_t **out,
                  char *msg, size_t msglen);

#endif
