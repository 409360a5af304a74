/* Go's string rules, as the data plane's Go code applies them to model
 * names: UTF-8 decoding (an invalid byte is one U+FFFD), white space,
 * TrimSpace and ToLower. Pure; nothing here allocates but ez_go_lower. */
#ifndef EZ_GOSTR_H
#define EZ_GOSTR_H

#include <stddef.h>
#include <stdint.h>

#define EZ_GO_RUNE_ERROR 0xFFFDu
#define EZ_GO_MAX_RUNE 0x10FFFFu

/* Decodes the rune at s[0..n) (n >= 1) as Go does: *r is the rune and the
 * result its length, or *r = U+FFFD and 1 for an invalid or short
 * sequence (surrogates and overlong forms included). */
size_t ez_go_decode(const char *s, size_t n, uint32_t *r);

/* 1 when the whole of s[0..n) is valid UTF-8. */
int ez_go_valid_utf8(const char *s, size_t n);

/* The length of s cut to at most max bytes without splitting a UTF-8
 * sequence: for quoting a value in a message or building a name from it
 * with "%.*s" (a cut character would make the text invalid UTF-8, which
 * JSON and PostgreSQL refuse). */
int ez_utf8_prefix(const char *s, size_t max);

/* Writes r (< 0x110000, not a surrogate) as UTF-8 into out (4 bytes);
 * returns the length. */
size_t ez_go_encode(uint32_t r, char out[4]);


/* strings.TrimSpace of s[0..n): the trimmed text is s[*off .. *off+*len). */
void ez_go_trim(const char *s, size_t n, size_t *off, size_t *len);

/* unicode.ToLower: the simple lower-case mapping of Unicode 15.0. */
uint32_t ez_go_to_lower(uint32_t r);

/* strings.ToLower of s[0..n) into a malloc'd NUL-terminated string (an
 * invalid byte becomes U+FFFD); *outlen its length. NULL on OOM. */
char *ez_go_lower(const char *s, size_t n, size_t *outlen);

#endif
