/* Failed authentications per client address, in the shared segment so that
 * every worker counts into one table (docs/operations.md). A lookup takes no
 * lock and makes no system call; every change is made under one
 * process-shared robust mutex. Callers pass the time (monotonic ms), so
 * nothing here reads a clock, logs or allocates. */
#ifndef EZ_AUTHFAIL_H
#define EZ_AUTHFAIL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define EZ_AUTHFAIL_WAYS 8   /* entries of a set: a newcomer evicts the oldest */
#define EZ_AUTHFAIL_SETS 512 /* 4096 addresses in all */
#define EZ_AUTHFAIL_ENTRIES (EZ_AUTHFAIL_SETS * EZ_AUTHFAIL_WAYS)
#define EZ_AUTHFAIL_ADDR_LEN 56 /* an IPv6 text and "/64", NUL included */

/* Whom failures are counted for: an IPv4 address (also when mapped into
 * IPv6), the /64 of an IPv6 address (one client usually holds a whole
 * /64), every Unix-socket client together, or anything unparsable together. */
struct ez_addr_key {
    uint32_t family; /* AF_INET, AF_INET6, AF_UNIX, or 0: not an address */
    uint64_t hi, lo;
};

struct ez_authfail_entry {
    _Atomic uint32_t seq; /* odd while the entry changes; readers retry */
    _Atomic uint32_t family;
    _Atomic uint64_t hi, lo;
    _Atomic int64_t window_start;  /* monotonic ms */
    _Atomic uint64_t in_window;    /* failures since window_start */
    uint64_t unreported;           /* lock: failures in no audit record yet */
    int64_t last_ms;               /* lock: latest failure */
    char addr[EZ_AUTHFAIL_ADDR_LEN]; /* lock: the key as text */
};

struct ez_authfail_table {
    pthread_mutex_t lock;        /* process-shared, robust */
    uint64_t seed;               /* keys the hash, so sets cannot be aimed at */
    _Atomic uint32_t pending;    /* entries with unreported failures */
    _Atomic uint64_t tag[EZ_AUTHFAIL_ENTRIES]; /* hash of the entry's key, 0 = free */
    struct ez_authfail_entry e[EZ_AUTHFAIL_ENTRIES];
};

/* The current window of an address, as a lookup saw it. */
struct ez_authfail_window {
    int64_t start_ms;
    uint64_t failures;
};

/* Failures of one address that no audit record holds yet. */
struct ez_authfail_summary {
    char addr[EZ_AUTHFAIL_ADDR_LEN];
    uint64_t failures;
    int64_t window_start_ms; /* monotonic */
};

struct ez_authfail_result {
    int first;       /* this failure opened a window: record it on its own */
    int evicted;     /* another address left the table for this one */
    int has_summary; /* summary holds failures to record now (closed window, eviction) */
    struct ez_authfail_summary summary;
};

/* Prepares a zeroed table (the mutex). 0, or -1 with errno. Start-up only. */
int ez_authfail_init(struct ez_authfail_table *t, uint64_t seed)
    __attribute__((warn_unused_result));
/* The key of a peer address as the HTTP core writes it ("192.0.2.1",
 * "2001:db8::1", "unix"); anything else is family 0. */
void ez_addr_key_parse(const char *remote, struct ez_addr_key *k);
/* "192.0.2.1", "2001:db8::/64", "unix" or "unknown". */
void ez_addr_key_format(const struct ez_addr_key *k, char out[EZ_AUTHFAIL_ADDR_LEN]);
/* The set an address falls in (for tests). */
unsigned ez_authfail_set(const struct ez_authfail_table *t, const struct ez_addr_key *k);

/* Without a lock: 1 with *w filled when the table holds k, else 0. */
int ez_authfail_lookup(const struct ez_authfail_table *t, const struct ez_addr_key *k,
                       struct ez_authfail_window *w);
/* Milliseconds until an address with window w may try again: 0 unless it
 * failed limit times or more in a window that is still open at now. */
int64_t ez_authfail_wait_ms(const struct ez_authfail_window *w, int64_t now, uint64_t limit,
                            int64_t window_ms);
/* Counts one failure of k at now. A failure opens a new window when k has
 * none open (res->first); a window still holding unreported failures when
 * it is replaced, or an entry evicted for k, comes back in res->summary.
 * 0, or -1 when the lock failed (nothing counted; record the failure alone). */
int ez_authfail_record(struct ez_authfail_table *t, const struct ez_addr_key *k, int64_t now,
                       int64_t window_ms, struct ez_authfail_result *res)
    __attribute__((warn_unused_result));
/* Takes (so that no other caller gets them) up to max summaries of windows
 * closed at now, or of every window when all is set (at exit). Returns how
 * many were written to out; call again while it returns max. */
int ez_authfail_collect(struct ez_authfail_table *t, int64_t now, int64_t window_ms, int all,
                        struct ez_authfail_summary *out, int max);

#endif
