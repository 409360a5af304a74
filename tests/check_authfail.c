/* Check suite for common/authfail.c, the shared table of failed
 * authentications: address keys, windows and their limit, the summaries
 * that must account for every failure exactly once, eviction, and several
 * processes counting into one table (mapped shared, as the segment is). */
#include <check.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/authfail.h"

#define WINDOW 60000

static struct ez_authfail_table *t;

static void setup(void)
{
    t = mmap(NULL, sizeof *t, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(t, MAP_FAILED);
    ck_assert_int_eq(ez_authfail_init(t, 0x1234567890abcdefULL), 0);
}

static void teardown(void)
{
    munmap(t, sizeof *t);
}

static struct ez_addr_key key(const char *remote)
{
    struct ez_addr_key k;
    ez_addr_key_parse(remote, &k);
    return k;
}

static const char *text(const char *remote)
{
    static char out[EZ_AUTHFAIL_ADDR_LEN];
    struct ez_addr_key k = key(remote);
    ez_addr_key_format(&k, out);
    return out;
}

static int same(const char *a, const char *b)
{
    struct ez_addr_key x = key(a), y = key(b);
    return x.family == y.family && x.hi == y.hi && x.lo == y.lo;
}

/* Records one failure and returns its result (the lock never fails here). */
static struct ez_authfail_result failure(const char *remote, int64_t now)
{
    struct ez_addr_key k = key(remote);
    struct ez_authfail_result res;
    ck_assert_int_eq(ez_authfail_record(t, &k, now, WINDOW, &res), 0);
    return res;
}

static uint64_t failures_of(const char *remote)
{
    struct ez_addr_key k = key(remote);
    struct ez_authfail_window w;
    return ez_authfail_lookup(t, &k, &w) ? w.failures : 0;
}

static int64_t wait_of(const char *remote, int64_t now, uint64_t limit)
{
    struct ez_addr_key k = key(remote);
    struct ez_authfail_window w;
    return ez_authfail_lookup(t, &k, &w) ? ez_authfail_wait_ms(&w, now, limit, WINDOW) : 0;
}

START_TEST(address_keys)
{
    ck_assert_str_eq(text("192.0.2.1"), "192.0.2.1");
    ck_assert(same("192.0.2.1", "::ffff:192.0.2.1"));
    ck_assert(!same("192.0.2.1", "192.0.2.2"));
    /* IPv6 clients are counted by their /64 */
    ck_assert(same("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::9"));
    ck_assert(!same("2001:db8:1:2::1", "2001:db8:1:3::1"));
    ck_assert_str_eq(text("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
    ck_assert_str_eq(text("::1"), "::/64");
    ck_assert(!same("::1", "0.0.0.0"));
    ck_assert(!same("::1", "unix"));
    ck_assert_str_eq(text("unix"), "unix");
    ck_assert_int_eq(key("unix").family, AF_UNIX);
    ck_assert_str_eq(text("not an address"), "unknown");
    ck_assert(same("not an address", ""));
    ck_assert(!same("not an address", "unix"));
}
END_TEST

START_TEST(a_window_counts_and_refuses)
{
    struct ez_authfail_result r = failure("192.0.2.1", 1000);
    ck_assert_int_eq(r.first, 1);
    ck_assert_int_eq(r.has_summary, 0);
    ck_assert_int_eq(r.evicted, 0);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(failure("192.0.2.1", 2000 + i).first, 0);
    ck_assert_uint_eq(failures_of("192.0.2.1"), 5);
    ck_assert_uint_eq(failures_of("192.0.2.2"), 0);
    /* limit reached: refused until the window ends */
    ck_assert_int_eq(wait_of("192.0.2.1", 3000, 5), 1000 + WINDOW - 3000);
    ck_assert_int_eq(wait_of("192.0.2.1", 3000, 6), 0);
    ck_assert_int_eq(wait_of("192.0.2.1", 3000, 0), 0); /* 0 = never refused */
    ck_assert_int_eq(wait_of("192.0.2.1", 1000 + WINDOW, 5), 0);
    ck_assert_int_eq(wait_of("192.0.2.2", 3000, 1), 0);
}
END_TEST

START_TEST(a_closed_window_is_summed_once)
{
    struct ez_authfail_summary s[4];
    failure("192.0.2.1", 1000);
    for (int i = 0; i < 6; i++)
        failure("192.0.2.1", 1500);
    ck_assert_int_eq(ez_authfail_collect(t, 1000 + WINDOW - 1, WINDOW, 0, s, 4), 0);
    ck_assert_int_eq(ez_authfail_collect(t, 1000 + WINDOW, WINDOW, 0, s, 4), 1);
    ck_assert_str_eq(s[0].addr, "192.0.2.1");
    ck_assert_uint_eq(s[0].failures, 6); /* the first had a record of its own */
    ck_assert_int_eq(s[0].window_start_ms, 1000);
    ck_assert_int_eq(ez_authfail_collect(t, 1000 + WINDOW, WINDOW, 0, s, 4), 0);
    ck_assert_int_eq(atomic_load(&t->pending), 0);
    /* the next failure opens a window and has nothing left to carry */
    struct ez_authfail_result r = failure("192.0.2.1", 2000 + WINDOW);
    ck_assert_int_eq(r.first, 1);
    ck_assert_int_eq(r.has_summary, 0);
    ck_assert_uint_eq(failures_of("192.0.2.1"), 1);
}
END_TEST

START_TEST(a_new_window_carries_the_old_count)
{
    failure("unix", 1000);
    failure("unix", 1001);
    failure("unix", 1002);
    struct ez_authfail_result r = failure("unix", 1000 + WINDOW);
    ck_assert_int_eq(r.first, 1);
    ck_assert_int_eq(r.has_summary, 1);
    ck_assert_str_eq(r.summary.addr, "unix");
    ck_assert_uint_eq(r.summary.failures, 2);
    ck_assert_int_eq(r.summary.window_start_ms, 1000);
    struct ez_authfail_summary s[1];
    ck_assert_int_eq(ez_authfail_collect(t, 10 * WINDOW, WINDOW, 1, s, 1), 0);
}
END_TEST

START_TEST(all_takes_open_windows_too)
{
    struct ez_authfail_summary s[2];
    failure("2001:db8::1", 1000);
    failure("2001:db8::2", 1001);
    failure("192.0.2.9", 1002); /* alone: nothing to carry */
    ck_assert_int_eq(ez_authfail_collect(t, 1003, WINDOW, 0, s, 2), 0);
    ck_assert_int_eq(ez_authfail_collect(t, 1003, WINDOW, 1, s, 2), 1);
    ck_assert_str_eq(s[0].addr, "2001:db8::/64");
    ck_assert_uint_eq(s[0].failures, 1);
    /* the window stays open and keeps refusing */
    ck_assert_int_gt(wait_of("2001:db8::3", 1004, 2), 0);
}
END_TEST

/* n addresses that fall in one set, written to out[i] (16 bytes each). */
static void same_set(int n, char out[][16])
{
    struct ez_addr_key first = key("10.0.0.1");
    unsigned set = ez_authfail_set(t, &first);
    snprintf(out[0], 16, "10.0.0.1");
    int found = 1;
    for (unsigned i = 2; found < n && i < (1u << 24); i++) {
        char a[16];
        snprintf(a, sizeof a, "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        struct ez_addr_key k = key(a);
        if (ez_authfail_set(t, &k) == set)
            snprintf(out[found++], 16, "%s", a);
    }
    ck_assert_int_eq(found, n);
}

START_TEST(the_oldest_is_evicted_with_its_count)
{
    char a[EZ_AUTHFAIL_WAYS + 2][16];
    same_set(EZ_AUTHFAIL_WAYS + 2, a);
    for (int i = 0; i < EZ_AUTHFAIL_WAYS; i++) {
        failure(a[i], 1000 + i);
        failure(a[i], 1000 + i);
    }
    /* a full set: the newcomer takes the oldest entry, whose count comes back */
    struct ez_authfail_result r = failure(a[EZ_AUTHFAIL_WAYS], 2000);
    ck_assert_int_eq(r.first, 1);
    ck_assert_int_eq(r.evicted, 1);
    ck_assert_int_eq(r.has_summary, 1);
    ck_assert_str_eq(r.summary.addr, a[0]);
    ck_assert_uint_eq(r.summary.failures, 1);
    ck_assert_uint_eq(failures_of(a[0]), 0);
    ck_assert_uint_eq(failures_of(a[1]), 2);
    ck_assert_uint_eq(failures_of(a[EZ_AUTHFAIL_WAYS]), 1);

}
END_TEST

/* A closed window goes before an open one, however old its last failure. */
START_TEST(a_closed_window_is_evicted_first)
{
    char a[EZ_AUTHFAIL_WAYS + 1][16];
    same_set(EZ_AUTHFAIL_WAYS + 1, a);
    failure(a[0], 0);
    failure(a[0], WINDOW - 1000); /* latest failure of all, window closes at WINDOW */
    for (int i = 1; i < EZ_AUTHFAIL_WAYS; i++)
        failure(a[i], WINDOW / 2 + i);
    struct ez_authfail_result r = failure(a[EZ_AUTHFAIL_WAYS], WINDOW + 1);
    ck_assert_int_eq(r.evicted, 1);
    ck_assert_int_eq(r.has_summary, 1);
    ck_assert_str_eq(r.summary.addr, a[0]);
    ck_assert_uint_eq(r.summary.failures, 1);
    for (int i = 1; i <= EZ_AUTHFAIL_WAYS; i++)
        ck_assert_uint_eq(failures_of(a[i]), 1);
}
END_TEST

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Every failure is in exactly one record: the first of a window on its
 * own, the others in a summary (closed window, new window, eviction or
 * exit). Many addresses, so that sets overflow and entries are evicted. */
START_TEST(every_failure_is_recorded_once)
{
    uint64_t failures = 0, recorded = 0, evictions = 0;
    int64_t now = 0;
    struct ez_authfail_summary s[64];
    for (int i = 0; i < 200000; i++) {
        char a[32];
        uint64_t x = rng();
        snprintf(a, sizeof a, "172.16.%u.%u", (unsigned)(x % 40), (unsigned)(x >> 8) % 250);
        now += (int64_t)(x >> 40) % 50;
        struct ez_authfail_result r = failure(a, now);
        failures++;
        recorded += r.first + (r.has_summary ? r.summary.failures : 0);
        evictions += r.evicted;
        if (x % 97 == 0) {
            int n;
            while ((n = ez_authfail_collect(t, now, WINDOW, 0, s, 64)) > 0)
                for (int j = 0; j < n; j++)
                    recorded += s[j].failures;
        }
    }
    int n;
    while ((n = ez_authfail_collect(t, now, WINDOW, 1, s, 64)) > 0)
        for (int j = 0; j < n; j++)
            recorded += s[j].failures;
    ck_assert_uint_gt(evictions, 0);
    ck_assert_uint_eq(recorded, failures);
    ck_assert_int_eq(atomic_load(&t->pending), 0);
}
END_TEST

/* Two processes count into one table at once, a third collects: the
 * counts add up, whatever the interleaving. */
START_TEST(processes_count_into_one_table)
{
    enum { PER = 20000 };
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t kids[2];
    for (int c = 0; c < 2; c++) {
        kids[c] = fork();
        ck_assert_int_ge(kids[c], 0);
        if (kids[c] == 0) {
            uint64_t mine = 0;
            for (int i = 0; i < PER; i++) {
                struct ez_addr_key k = key(i % 3 ? "198.51.100.7" : "unix");
                struct ez_authfail_result r;
                if (ez_authfail_record(t, &k, i / 100, 50, &r) != 0)
                    _exit(2);
                mine += r.first + (r.has_summary ? r.summary.failures : 0);
            }
            if (write(fds[1], &mine, sizeof mine) != sizeof mine)
                _exit(3);
            _exit(0);
        }
    }
    uint64_t recorded = 0;
    struct ez_authfail_summary s[8];
    for (int i = 0; i < 2000; i++) {
        int n = ez_authfail_collect(t, i / 10, 50, 0, s, 8);
        for (int j = 0; j < n; j++)
            recorded += s[j].failures;
    }
    for (int c = 0; c < 2; c++) {
        int st;
        ck_assert_int_eq(waitpid(kids[c], &st, 0), kids[c]);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d: status %d", c, st);
        uint64_t mine;
        ck_assert_int_eq(read(fds[0], &mine, sizeof mine), sizeof mine);
        recorded += mine;
    }
    int n;
    while ((n = ez_authfail_collect(t, 0, 50, 1, s, 8)) > 0)
        for (int j = 0; j < n; j++)
            recorded += s[j].failures;
    ck_assert_uint_eq(recorded, 2 * PER);
    close(fds[0]);
    close(fds[1]);
}
END_TEST

/* A process that dies holding the lock in the middle of a change leaves
 * the table usable; the entry it was changing is dropped. */
START_TEST(a_dead_holder_does_not_block_the_table)
{
    failure("192.0.2.1", 1000);
    failure("192.0.2.1", 1001);
    pid_t kid = fork();
    ck_assert_int_ge(kid, 0);
    if (kid == 0) {
        pthread_mutex_lock(&t->lock);
        for (int i = 0; i < EZ_AUTHFAIL_ENTRIES; i++)
            if (atomic_load(&t->tag[i]))
                atomic_fetch_add(&t->e[i].seq, 1); /* a change begun */
        _exit(0);
    }
    int st;
    ck_assert_int_eq(waitpid(kid, &st, 0), kid);
    ck_assert_uint_eq(failures_of("192.0.2.1"), 0); /* being changed: not trusted */
    struct ez_authfail_result r = failure("192.0.2.1", 1002);
    ck_assert_int_eq(r.first, 1);
    ck_assert_uint_eq(failures_of("192.0.2.1"), 1);
    ck_assert_int_eq(atomic_load(&t->pending), 0);
    ck_assert_int_eq(failure("192.0.2.1", 1003).first, 0);
    ck_assert_uint_eq(failures_of("192.0.2.1"), 2);
}
END_TEST

static Suite *authfail_suite(void)
{
    Suite *s = suite_create("authfail");
    TCase *tc = tcase_create("table");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, address_keys);
    tcase_add_test(tc, a_window_counts_and_refuses);
    tcase_add_test(tc, a_closed_window_is_summed_once);
    tcase_add_test(tc, a_new_window_carries_the_old_count);
    tcase_add_test(tc, all_takes_open_windows_too);
    tcase_add_test(tc, the_oldest_is_evicted_with_its_count);
    tcase_add_test(tc, a_closed_window_is_evicted_first);
    tcase_add_test(tc, every_failure_is_recorded_once);
    tcase_add_test(tc, processes_count_into_one_table);
    tcase_add_test(tc, a_dead_holder_does_not_block_the_table);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(authfail_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
