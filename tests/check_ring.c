/* Check suite for common/ring.c: ordering, wrap-around, back-pressure, and
 * the at-least-once promise across a consumer killed with SIGKILL while a
 * producer process keeps pushing. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ring.h"

static struct ez_ring *ring_new(uint64_t size, uint64_t max_records)
{
    size_t bytes = ez_ring_footprint(size);
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(p, MAP_FAILED);
    ez_ring_init(p, size, max_records);
    return p;
}

static void ring_free(struct ez_ring *r)
{
    munmap(r, ez_ring_footprint(r->size));
}

/* xorshift64: the tests' reproducible randomness. */
static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Fills buf with bytes derived from n, so a reader can check them. */
static void fill(unsigned char *buf, size_t len, uint64_t n)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)(n * 31 + i);
}

static int filled(const unsigned char *buf, size_t len, uint64_t n)
{
    for (size_t i = 0; i < len; i++)
        if (buf[i] != (unsigned char)(n * 31 + i))
            return 0;
    return 1;
}

static void expect_record(struct ez_ring *r, uint64_t *cur, const char *want)
{
    const void *buf;
    size_t len;
    ck_assert_int_eq(ez_ring_read(r, cur, &buf, &len), EZ_RING_OK);
    ck_assert_uint_eq(len, strlen(want));
    ck_assert(memcmp(buf, want, len) == 0);
}

START_TEST(test_push_read_ack_order)
{
    struct ez_ring *r = ring_new(4096, 100);
    const char *words[] = { "alpha", "", "gamma-gamma", "d", "epsilon epsilon epsilon" };
    const void *buf;
    size_t len;

    ck_assert_uint_eq(ez_ring_footprint(4096), sizeof(struct ez_ring) + 4096);
    uint64_t cur = ez_ring_cursor(r);
    ck_assert_int_eq(ez_ring_read(r, &cur, &buf, &len), EZ_RING_EMPTY);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(ez_ring_push(r, words[i], strlen(words[i])), EZ_RING_OK);
    ck_assert_uint_eq(ez_ring_depth(r), 5);
    for (int i = 0; i < 5; i++)
        expect_record(r, &cur, words[i]);
    ck_assert_int_eq(ez_ring_read(r, &cur, &buf, &len), EZ_RING_EMPTY);
    ck_assert_uint_eq(ez_ring_depth(r), 5);
    ez_ring_ack(r, cur, 5);
    ck_assert_uint_eq(ez_ring_depth(r), 0);
    ck_assert_uint_eq(ez_ring_cursor(r), cur);
    ck_assert_uint_eq(cur % 8, 0);
    ring_free(r);
}
END_TEST

START_TEST(test_wrap_many_laps)
{
    const uint64_t size = 4096, maxlen = size / 2 - 8;
    struct ez_ring *r = ring_new(size, 1000);
    uint64_t wlen = 42, rlen = 42, pick = 7, wn = 0, rn = 0, wraps = 0;
    uint64_t cur = ez_ring_cursor(r);
    ptrdiff_t last_off = -1;
    unsigned char tmp[2048];

    /* Lengths from 0 to the largest allowed, so records end at every
     * offset; the writer and the reader draw the same sequence. */
    while (atomic_load(&r->tail) < 200 * size) {
        for (;;) {
            uint64_t s = wlen;
            size_t len = rnd(&s) % (maxlen + 1);
            fill(tmp, len, wn);
            int rc = ez_ring_push(r, tmp, len);
            if (rc == EZ_RING_FULL)
                break;
            ck_assert_int_eq(rc, EZ_RING_OK);
            wlen = s;
            wn++;
        }
        uint64_t take = 1 + rnd(&pick) % (wn - rn), got;
        for (got = 0; got < take; got++) {
            const void *buf;
            size_t len;
            ck_assert_int_eq(ez_ring_read(r, &cur, &buf, &len), EZ_RING_OK);
            ck_assert_uint_eq(len, rnd(&rlen) % (maxlen + 1));
            ck_assert(filled(buf, len, rn));
            ptrdiff_t off = (const unsigned char *)buf - r->data;
            ck_assert_int_eq(off % 8, 0);
            ck_assert_int_le(off + (ptrdiff_t)len, (ptrdiff_t)size);
            if (off < last_off)
                wraps++;
            last_off = off;
            rn++;
        }
        ez_ring_ack(r, cur, got);
        ck_assert_uint_eq(ez_ring_depth(r), wn - rn);
        ck_assert_uint_le(atomic_load(&r->head) - atomic_load(&r->tail), size);
    }
    ck_assert_uint_ge(wraps, 199);
    ring_free(r);
}
END_TEST

START_TEST(test_full_on_records)
{
    struct ez_ring *r = ring_new(65536, 10);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(ez_ring_push(r, "x", 1), EZ_RING_OK);
    ck_assert_int_eq(ez_ring_push(r, "x", 1), EZ_RING_FULL);
    ck_assert_uint_eq(atomic_load(&r->full), 1);
    ck_assert_uint_eq(ez_ring_depth(r), 10);

    /* Reading alone frees nothing; acknowledging does. */
    uint64_t cur = ez_ring_cursor(r);
    const void *buf;
    size_t len;
    ck_assert_int_eq(ez_ring_read(r, &cur, &buf, &len), EZ_RING_OK);
    ck_assert_int_eq(ez_ring_push(r, "x", 1), EZ_RING_FULL);
    ez_ring_ack(r, cur, 1);
    ck_assert_int_eq(ez_ring_push(r, "y", 1), EZ_RING_OK);
    ck_assert_uint_eq(atomic_load(&r->full), 2);
    ring_free(r);
}
END_TEST

START_TEST(test_full_on_bytes)
{
    struct ez_ring *r = ring_new(1024, 1000);
    unsigned char a[472], b[248], c[504];
    const void *buf;
    size_t len;

    /* 9 records of 8 + 104 bytes fill 1008 of 1024 bytes. */
    for (int i = 0; i < 9; i++)
        ck_assert_int_eq(ez_ring_push(r, a, 100), EZ_RING_OK);
    ck_assert_int_eq(ez_ring_push(r, a, 100), EZ_RING_FULL);
    ck_assert_int_eq(ez_ring_push(r, a, 8), EZ_RING_OK);
    ck_assert_int_eq(ez_ring_push(r, a, 0), EZ_RING_FULL);
    ring_free(r);

    /* Wrap padding counts: 768 bytes are free, but only 288 of them before
     * the end, so a 512-byte record needs 800 and does not fit. */
    r = ring_new(1024, 1000);
    fill(a, sizeof a, 1);
    fill(b, sizeof b, 2);
    fill(c, sizeof c, 3);
    ck_assert_int_eq(ez_ring_push(r, a, sizeof a), EZ_RING_OK);   /* 480 bytes */
    ck_assert_int_eq(ez_ring_push(r, b, sizeof b), EZ_RING_OK);   /* 256 bytes */
    uint64_t cur = ez_ring_cursor(r);
    ck_assert_int_eq(ez_ring_read(r, &cur, &buf, &len), EZ_RING_OK);
    ez_ring_ack(r, cur, 1);
    ck_assert_int_eq(ez_ring_push(r, c, sizeof c), EZ_RING_FULL);
    ck_assert_int_eq(ez_ring_read(r, &cur, &buf, &len), EZ_RING_OK);
    ck_assert(len == sizeof b && filled(buf, len, 2));
    ez_ring_ack(r, cur, 1);
    ck_assert_int_eq(ez_ring_push(r, c, sizeof c), EZ_RING_OK);
    ck_assert_int_eq(ez_ring_read(r, &cur, &buf, &len), EZ_RING_OK);
    ck_assert(len == sizeof c && filled(buf, len, 3));
    ck_assert_ptr_eq(buf, r->data + 8);    /* it went to the start */
    ring_free(r);
}
END_TEST

START_TEST(test_producer_never_blocks)
{
    /* A push on a full ring returns at once with EZ_RING_FULL: were it to
     * wait for the consumer, which never comes here, the case's timeout
     * would end it. No figure of time is asserted (shared machines). */
    struct ez_ring *r = ring_new(1024, 1000);

    while (ez_ring_push(r, "0123456789", 10) == EZ_RING_OK)
        ;
    uint64_t before = atomic_load(&r->full);
    for (int i = 0; i < 100000; i++)
        ck_assert_int_eq(ez_ring_push(r, "0123456789", 10), EZ_RING_FULL);
    ck_assert_uint_eq(atomic_load(&r->full) - before, 100000);
    ring_free(r);
}
END_TEST

START_TEST(test_toobig)
{
    struct ez_ring *r = ring_new(1024, 1000);
    static unsigned char big[1024];

    ck_assert_int_eq(ez_ring_push(r, big, 504), EZ_RING_OK);      /* 512 = size/2 */
    ck_assert_int_eq(ez_ring_push(r, big, 505), EZ_RING_TOOBIG);
    ck_assert_int_eq(ez_ring_push(r, big, 1024), EZ_RING_TOOBIG);
    ck_assert_int_eq(ez_ring_push(r, big, SIZE_MAX), EZ_RING_TOOBIG);
    ck_assert_uint_eq(ez_ring_depth(r), 1);
    ck_assert_uint_eq(atomic_load(&r->full), 0);
    ring_free(r);
}
END_TEST

START_TEST(test_reread_after_restart)
{
    struct ez_ring *r = ring_new(4096, 100);
    char msg[16];
    for (int i = 0; i < 5; i++) {
        snprintf(msg, sizeof msg, "job-%d", i);
        ck_assert_int_eq(ez_ring_push(r, msg, strlen(msg)), EZ_RING_OK);
    }
    /* A consumer reads three and dies before acknowledging any. */
    uint64_t cur = ez_ring_cursor(r);
    expect_record(r, &cur, "job-0");
    expect_record(r, &cur, "job-1");
    expect_record(r, &cur, "job-2");

    /* The next one starts again from the first. */
    cur = ez_ring_cursor(r);
    expect_record(r, &cur, "job-0");
    expect_record(r, &cur, "job-1");
    ez_ring_ack(r, cur, 2);
    expect_record(r, &cur, "job-2");
    ck_assert_uint_eq(ez_ring_depth(r), 3);

    cur = ez_ring_cursor(r);
    expect_record(r, &cur, "job-2");
    expect_record(r, &cur, "job-3");
    expect_record(r, &cur, "job-4");
    ez_ring_ack(r, cur, 3);
    ck_assert_uint_eq(ez_ring_depth(r), 0);
    ring_free(r);
}
END_TEST

/* Multi-process: a producer, and consumers that are killed and replaced. */

#define MP_RECORDS 200000u
#define MP_ACK_EVERY 97u
#define MP_RING_SIZE 65536u
#define MP_RING_RECORDS 4096u
#define MP_LOG_CAP (MP_RECORDS + 64u * MP_RING_RECORDS)

/* What the consumers report: every number they read, in reading order. */
struct mp_log {
    _Atomic uint64_t n;
    _Atomic int bad;       /* a consumer saw a record it did not expect */
    uint64_t seen[MP_LOG_CAP];
};

static void mp_producer(struct ez_ring *r)
{
    unsigned char buf[8 + 300];
    for (uint64_t n = 0; n < MP_RECORDS; n++) {
        size_t len = 8 + (size_t)(n * 7 % 300);
        memcpy(buf, &n, 8);
        fill(buf + 8, len - 8, n);
        int rc;
        while ((rc = ez_ring_push(r, buf, len)) == EZ_RING_FULL)
            usleep(100);
        if (rc != EZ_RING_OK)
            _exit(2);
    }
    _exit(0);
}

/* Reads, logs, and acknowledges every MP_ACK_EVERY records; pauses now
 * and then between acknowledgements so that a kill often finds records
 * read but not acknowledged. */
static void mp_consumer(struct ez_ring *r, struct mp_log *log)
{
    uint64_t cur = ez_ring_cursor(r), unacked = 0, reads = 0;
    for (;;) {
        const void *buf;
        size_t len;
        if (ez_ring_read(r, &cur, &buf, &len) != EZ_RING_OK) {
            usleep(50);
            continue;
        }
        uint64_t n;
        memcpy(&n, buf, 8);
        if (len != 8 + n * 7 % 300 || !filled((const unsigned char *)buf + 8, len - 8, n)) {
            atomic_store(&log->bad, 1);
            _exit(3);
        }
        uint64_t i = atomic_load_explicit(&log->n, memory_order_relaxed);
        if (i >= MP_LOG_CAP) {
            atomic_store(&log->bad, 2);
            _exit(4);
        }
        log->seen[i] = n;
        atomic_store_explicit(&log->n, i + 1, memory_order_release);
        unacked++;
        if (unacked == MP_ACK_EVERY || n == MP_RECORDS - 1) {
            ez_ring_ack(r, cur, unacked);
            unacked = 0;
        }
        if (n == MP_RECORDS - 1)
            _exit(0);
        if (++reads % 10 == 0)
            usleep(20);
    }
}

static pid_t spawn(void (*fn)(struct ez_ring *, struct mp_log *), struct ez_ring *r,
                   struct mp_log *log)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        fn(r, log);
        _exit(0);
    }
    return pid;
}

static void producer_entry(struct ez_ring *r, struct mp_log *log)
{
    (void)log;
    mp_producer(r);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

START_TEST(test_multiprocess_kill_consumer)
{
    struct ez_ring *r = ring_new(MP_RING_SIZE, MP_RING_RECORDS);
    struct mp_log *log = mmap(NULL, sizeof *log, PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(log, MAP_FAILED);

    /* Kill the consumer once it has read past each of these numbers. */
    const uint64_t kill_at[] = { 30000, 90000, 150000 };
    const size_t nkill = sizeof kill_at / sizeof kill_at[0];
    size_t kills = 0;
    uint64_t redelivered = 0, expect_first = 0, start = 0;
    double deadline = now_s() + 90;
    int status;

    pid_t producer = spawn(producer_entry, r, log);
    pid_t consumer = spawn(mp_consumer, r, log);
    int producer_done = 0;

    for (;;) {
        ck_assert_msg(now_s() < deadline, "timed out: %llu records logged",
                      (unsigned long long)atomic_load(&log->n));
        if (!producer_done && waitpid(producer, &status, WNOHANG) == producer) {
            ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
            producer_done = 1;
        }
        uint64_t n = atomic_load_explicit(&log->n, memory_order_acquire);
        int killed = 0;
        if (kills < nkill && n > start && log->seen[n - 1] >= kill_at[kills]) {
            kill(consumer, SIGKILL);
            killed = 1;
        }
        if (!killed) {
            pid_t w = waitpid(consumer, &status, WNOHANG);
            if (w == 0) {
                usleep(200);
                continue;
            }
            ck_assert_int_eq(w, consumer);
            ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                          "consumer failed, status %d, bad %d", status, atomic_load(&log->bad));
        } else {
            ck_assert_int_eq(waitpid(consumer, &status, 0), consumer);
            ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        }

        /* The dead consumer's log: consecutive from the first record that
         * was not acknowledged when it started. */
        uint64_t end = atomic_load(&log->n);
        ck_assert_int_eq(atomic_load(&log->bad), 0);
        for (uint64_t i = start; i < end; i++)
            ck_assert_msg(log->seen[i] == expect_first + (i - start),
                          "log[%llu] = %llu, expected %llu", (unsigned long long)i,
                          (unsigned long long)log->seen[i],
                          (unsigned long long)(expect_first + (i - start)));
        uint64_t acked = atomic_load(&r->popped);
        uint64_t next = expect_first + (end - start);
        ck_assert_uint_le(acked, next);
        if (!killed) {
            ck_assert_uint_eq(next, MP_RECORDS);
            ck_assert_uint_eq(acked, MP_RECORDS);
            break;
        }
        /* The records it read after its last acknowledgement come again:
         * the next consumer must start at `acked`, checked on its log. */
        redelivered += next - acked;
        kills++;
        expect_first = acked;
        start = end;
        consumer = spawn(mp_consumer, r, log);
    }
    if (!producer_done) {
        ck_assert_int_eq(waitpid(producer, &status, 0), producer);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    fprintf(stderr, "ring: consumer killed %zu times, %llu records redelivered\n", kills,
            (unsigned long long)redelivered);
    ck_assert_uint_ge(kills, 2);
    ck_assert_msg(redelivered > 0, "no kill found records read but unacknowledged");
    ck_assert_uint_eq(ez_ring_depth(r), 0);
    ck_assert_uint_eq(atomic_load(&r->head), atomic_load(&r->tail));
    ck_assert_uint_eq(atomic_load(&r->pushed), MP_RECORDS);
    munmap(log, sizeof *log);
    ring_free(r);
}
END_TEST

static Suite *ring_suite(void)
{
    Suite *s = suite_create("ring");
    TCase *tc = tcase_create("single");
    tcase_add_test(tc, test_push_read_ack_order);
    tcase_add_test(tc, test_wrap_many_laps);
    tcase_add_test(tc, test_full_on_records);
    tcase_add_test(tc, test_full_on_bytes);
    tcase_add_test(tc, test_producer_never_blocks);
    tcase_add_test(tc, test_toobig);
    tcase_add_test(tc, test_reread_after_restart);
    suite_add_tcase(s, tc);

    tc = tcase_create("processes");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_multiprocess_kill_consumer);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ring_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
