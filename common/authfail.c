/* The table of failed authentications per address. Readers find an address
 * by its tag (one cache line per set) and read its entry under the entry's
 * sequence number, retrying when a writer was inside; writers hold the lock
 * and bracket every change of an entry with that number. */
#include "authfail.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define READ_TRIES 4

int ez_authfail_init(struct ez_authfail_table *t, uint64_t seed)
{
    pthread_mutexattr_t a;
    int rc = pthread_mutexattr_init(&a);
    if (rc == 0 && (rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED)) == 0 &&
        (rc = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST)) == 0)
        rc = pthread_mutex_init(&t->lock, &a);
    pthread_mutexattr_destroy(&a);
    t->seed = seed;
    errno = rc;
    return rc ? -1 : 0;
}

static uint64_t load64(const unsigned char *b)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | b[i];
    return v;
}

static void store64(unsigned char *b, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        b[i] = (unsigned char)v;
}

void ez_addr_key_parse(const char *remote, struct ez_addr_key *k)
{
    static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    unsigned char a[16];
    memset(k, 0, sizeof *k);
    k->family = 0; /* not an address */
    if (strcmp(remote, "unix") == 0) {
        k->family = AF_UNIX;
    } else if (inet_pton(AF_INET, remote, a) == 1) {
        k->family = AF_INET;
        k->lo = load64(a) >> 32;
    } else if (inet_pton(AF_INET6, remote, a) == 1) {
        if (memcmp(a, mapped, sizeof mapped) == 0) {
            k->family = AF_INET;
            k->lo = load64(a + 8) & 0xffffffffu;
        } else {
            k->family = AF_INET6;
            k->hi = load64(a); /* the /64 */
        }
    }
}

void ez_addr_key_format(const struct ez_addr_key *k, char out[EZ_AUTHFAIL_ADDR_LEN])
{
    unsigned char a[16] = { 0 };
    char text[INET6_ADDRSTRLEN];
    if (k->family == AF_INET) {
        store64(a, k->lo << 32);
        if (inet_ntop(AF_INET, a, text, sizeof text)) {
            snprintf(out, EZ_AUTHFAIL_ADDR_LEN, "%s", text);
            return;
        }
    } else if (k->family == AF_INET6) {
        store64(a, k->hi);
        if (inet_ntop(AF_INET6, a, text, sizeof text)) {
            snprintf(out, EZ_AUTHFAIL_ADDR_LEN, "%s/64", text);
            return;
        }
    }
    snprintf(out, EZ_AUTHFAIL_ADDR_LEN, "%s", k->family == AF_UNIX ? "unix" : "unknown");
}

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Never 0, which marks a free entry. */
static uint64_t tag_of(const struct ez_authfail_table *t, const struct ez_addr_key *k)
{
    return mix(mix(mix(t->seed ^ k->family) ^ k->hi) ^ k->lo) | 1;
}

unsigned ez_authfail_set(const struct ez_authfail_table *t, const struct ez_addr_key *k)
{
    return (unsigned)((tag_of(t, k) >> 32) % EZ_AUTHFAIL_SETS);
}

/* A consistent copy of entry e when it holds k: 1, else 0 (also when it
 * kept changing under us: the address is then treated as unknown once). */
static int read_entry(const struct ez_authfail_entry *e, const struct ez_addr_key *k,
                      struct ez_authfail_window *w)
{
    for (int i = 0; i < READ_TRIES; i++) {
        uint32_t s = atomic_load_explicit(&e->seq, memory_order_acquire);
        if (s & 1)
            continue;
        uint32_t family = atomic_load_explicit(&e->family, memory_order_relaxed);
        uint64_t hi = atomic_load_explicit(&e->hi, memory_order_relaxed);
        uint64_t lo = atomic_load_explicit(&e->lo, memory_order_relaxed);
        int64_t start = atomic_load_explicit(&e->window_start, memory_order_relaxed);
        uint64_t failures = atomic_load_explicit(&e->in_window, memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&e->seq, memory_order_relaxed) != s)
            continue;
        if (family != k->family || hi != k->hi || lo != k->lo)
            return 0;
        w->start_ms = start;
        w->failures = failures;
        return 1;
    }
    return 0;
}

int ez_authfail_lookup(const struct ez_authfail_table *t, const struct ez_addr_key *k,
                       struct ez_authfail_window *w)
{
    uint64_t tag = tag_of(t, k);
    size_t base = (size_t)ez_authfail_set(t, k) * EZ_AUTHFAIL_WAYS;
    for (size_t i = base; i < base + EZ_AUTHFAIL_WAYS; i++)
        if (atomic_load_explicit(&t->tag[i], memory_order_relaxed) == tag &&
            read_entry(&t->e[i], k, w))
            return 1;
    return 0;
}

int64_t ez_authfail_wait_ms(const struct ez_authfail_window *w, int64_t now, uint64_t limit,
                            int64_t window_ms)
{
    int64_t end = w->start_ms + window_ms;
    return limit > 0 && w->failures >= limit && now < end ? end - now : 0;
}

/* Writers (lock held) bracket each change of an entry with these. */
static void change_begin(struct ez_authfail_entry *e)
{
    uint32_t s = atomic_load_explicit(&e->seq, memory_order_relaxed);
    atomic_store_explicit(&e->seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
}

static void change_end(struct ez_authfail_entry *e)
{
    uint32_t s = atomic_load_explicit(&e->seq, memory_order_relaxed);
    atomic_store_explicit(&e->seq, s + 1, memory_order_release);
}

/* An entry a dead holder of the lock left half changed is cleared. */
static void repair(struct ez_authfail_table *t)
{
    uint32_t pending = 0;
    for (size_t i = 0; i < EZ_AUTHFAIL_ENTRIES; i++) {
        struct ez_authfail_entry *e = &t->e[i];
        if (atomic_load_explicit(&e->seq, memory_order_relaxed) & 1) {
            atomic_store_explicit(&t->tag[i], 0, memory_order_relaxed);
            atomic_store_explicit(&e->family, 0, memory_order_relaxed);
            atomic_store_explicit(&e->in_window, 0, memory_order_relaxed);
            e->unreported = 0;
            change_end(e);
        }
        pending += e->unreported > 0;
    }
    atomic_store(&t->pending, pending);
}

static int lock(struct ez_authfail_table *t)
{
    int rc = pthread_mutex_lock(&t->lock);
    if (rc == EOWNERDEAD) {
        repair(t);
        rc = pthread_mutex_consistent(&t->lock);
    }
    errno = rc;
    return rc ? -1 : 0;
}

static void take_summary(struct ez_authfail_table *t, struct ez_authfail_entry *e,
                         struct ez_authfail_summary *s)
{
    memcpy(s->addr, e->addr, sizeof s->addr);
    s->failures = e->unreported;
    s->window_start_ms = atomic_load_explicit(&e->window_start, memory_order_relaxed);
    e->unreported = 0;
    atomic_fetch_sub(&t->pending, 1);
}

static int window_open(const struct ez_authfail_entry *e, int64_t now, int64_t window_ms)
{
    return now < atomic_load_explicit(&e->window_start, memory_order_relaxed) + window_ms;
}

/* The way of set base that k may take: a free one, else the oldest of
 * those whose window is closed and whose failures are all recorded, else
 * of those whose window is closed, else the oldest. */
static size_t victim(const struct ez_authfail_table *t, size_t base, int64_t now,
                     int64_t window_ms)
{
    size_t best = base;
    int best_rank = 3;
    for (size_t i = base; i < base + EZ_AUTHFAIL_WAYS; i++) {
        const struct ez_authfail_entry *e = &t->e[i];
        if (atomic_load_explicit(&t->tag[i], memory_order_relaxed) == 0)
            return i;
        int rank = window_open(e, now, window_ms) ? 2 : e->unreported > 0;
        if (rank < best_rank || (rank == best_rank && e->last_ms < t->e[best].last_ms)) {
            best = i;
            best_rank = rank;
        }
    }
    return best;
}

static struct ez_authfail_entry *find(struct ez_authfail_table *t, const struct ez_addr_key *k,
                                      uint64_t tag, size_t base)
{
    for (size_t i = base; i < base + EZ_AUTHFAIL_WAYS; i++) {
        struct ez_authfail_entry *e = &t->e[i];
        if (atomic_load_explicit(&t->tag[i], memory_order_relaxed) == tag &&
            atomic_load_explicit(&e->family, memory_order_relaxed) == k->family &&
            atomic_load_explicit(&e->hi, memory_order_relaxed) == k->hi &&
            atomic_load_explicit(&e->lo, memory_order_relaxed) == k->lo)
            return e;
    }
    return NULL;
}

/* Entry i becomes k's, with a window opened at now by this failure. */
static void take_entry(struct ez_authfail_table *t, size_t i, const struct ez_addr_key *k,
                       uint64_t tag, int64_t now)
{
    struct ez_authfail_entry *e = &t->e[i];
    change_begin(e);
    atomic_store_explicit(&e->family, k->family, memory_order_relaxed);
    atomic_store_explicit(&e->hi, k->hi, memory_order_relaxed);
    atomic_store_explicit(&e->lo, k->lo, memory_order_relaxed);
    atomic_store_explicit(&e->window_start, now, memory_order_relaxed);
    atomic_store_explicit(&e->in_window, 1, memory_order_relaxed);
    atomic_store_explicit(&t->tag[i], tag, memory_order_relaxed);
    e->last_ms = now;
    ez_addr_key_format(k, e->addr);
    change_end(e);
}

int ez_authfail_record(struct ez_authfail_table *t, const struct ez_addr_key *k, int64_t now,
                       int64_t window_ms, struct ez_authfail_result *res)
{
    memset(res, 0, sizeof *res);
    if (lock(t) != 0)
        return -1;
    uint64_t tag = tag_of(t, k);
    size_t base = (size_t)ez_authfail_set(t, k) * EZ_AUTHFAIL_WAYS;
    struct ez_authfail_entry *e = find(t, k, tag, base);
    if (!e) {
        size_t i = victim(t, base, now, window_ms);
        res->evicted = atomic_load_explicit(&t->tag[i], memory_order_relaxed) != 0;
        if (res->evicted && t->e[i].unreported > 0) {
            take_summary(t, &t->e[i], &res->summary);
            res->has_summary = 1;
        }
        take_entry(t, i, k, tag, now);
        res->first = 1;
    } else if (!window_open(e, now, window_ms)) {
        if (e->unreported > 0) {
            take_summary(t, e, &res->summary);
            res->has_summary = 1;
        }
        change_begin(e);
        atomic_store_explicit(&e->window_start, now, memory_order_relaxed);
        atomic_store_explicit(&e->in_window, 1, memory_order_relaxed);
        change_end(e);
        e->last_ms = now;
        res->first = 1;
    } else {
        change_begin(e);
        atomic_fetch_add_explicit(&e->in_window, 1, memory_order_relaxed);
        change_end(e);
        if (e->unreported++ == 0)
            atomic_fetch_add(&t->pending, 1);
        e->last_ms = now;
    }
    pthread_mutex_unlock(&t->lock);
    return 0;
}

int ez_authfail_collect(struct ez_authfail_table *t, int64_t now, int64_t window_ms, int all,
                        struct ez_authfail_summary *out, int max)
{
    if (max <= 0 || atomic_load(&t->pending) == 0 || lock(t) != 0)
        return 0;
    int n = 0;
    for (size_t i = 0; i < EZ_AUTHFAIL_ENTRIES && n < max; i++) {
        struct ez_authfail_entry *e = &t->e[i];
        if (e->unreported > 0 && atomic_load_explicit(&t->tag[i], memory_order_relaxed) &&
            (all || !window_open(e, now, window_ms)))
            take_summary(t, e, &out[n++]);
    }
    pthread_mutex_unlock(&t->lock);
    return n;
}
