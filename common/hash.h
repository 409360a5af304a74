/* A fast hash of a run of bytes, for picking a table slot: the prepared
 * statements of a connection, the cached admin tokens. Not for security:
 * a caller compares the bytes themselves before trusting a match. Eight
 * bytes a step, so a statement of a few hundred bytes costs a few dozen
 * multiplications rather than one per byte. */
#ifndef EZ_HASH_H
#define EZ_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint32_t ez_hash_bytes(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 0x9e3779b97f4a7c15u ^ (uint64_t)n;
    uint64_t w;
    for (; n >= 8; s += 8, n -= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdu;
        h ^= h >> 32;
    }
    w = 0;
    memcpy(&w, s, n);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53u;
    return (uint32_t)(h ^ (h >> 29));
}

#endif
