/* What every integration test uses: a private PostgreSQL and Redis per test
 * binary, the real `ezapi` binary started from a generated config, a small
 * HTTP client and a keep-alive load generator. Tests drive the server the
 * way a user does (HTTP, signals, the command line) and never link server
 * code. Nothing here may leave a process or a directory behind, even when
 * the test binary is killed: a guardian process owns the services. */
#ifndef EZ_TESTS_HARNESS_H
#define EZ_TESTS_HARNESS_H

#include <check.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- Running a suite ------------------------------------------------- */

/* Starts the services (PostgreSQL, Redis, the guardian, the whole-binary
 * timeout from EZAPI_TEST_TIMEOUT, default 600 s; EZAPI_TEST_KEEP set keeps
 * the temporary directory with every log), runs the suite with
 * Check (one forked process per test), stops everything and returns the
 * process exit code (0 when every test passed). Exits 99 (a hard error for
 * automake) when the services cannot be started. */
int ht_run_suite(Suite *suite);
/* A test case whose tests each start from an empty database and an empty
 * Redis, and whose servers are stopped after the test. */
TCase *ht_tcase(const char *name);

/* ---- Services -------------------------------------------------------- */

int ht_pg_port(void);
int ht_redis_port(void);
/* libpq connection string of the test database (static buffer). */
const char *ht_pg_dsn(void);
/* redis://127.0.0.1:PORT/0 (static buffer). */
const char *ht_redis_url(void);
/* New connection to the test database; the caller PQfinish()es it. Aborts
 * the test when it cannot connect. */
PGconn *ht_pg(void);
/* New connection to the test Redis; the caller redisFree()s it. Aborts the
 * test when it cannot connect. */
redisContext *ht_redis(void);
/* Stop (fast shutdown) and start PostgreSQL and Redis, for outage tests.
 * Each returns when the service is down, or accepting connections again
 * (same port; Redis comes back empty). ht_pg_crash is an immediate stop. */
void ht_pg_stop(void);
void ht_pg_crash(void);
void ht_pg_start(void);
void ht_redis_stop(void);
void ht_redis_start(void);
/* Drops and re-creates database ezapi and FLUSHALLs Redis (ht_tcase's tests
 * get this before they start). */
void ht_reset(void);

/* Scalar helpers: the first column of the first row of sql as a number
 * (-1 on error or no row). */
long long ht_pg_count(const char *sql);
/* HGET key field: a malloc'd copy the caller frees, or NULL when absent. */
char *ht_redis_hget(const char *key, const char *field);
long long ht_redis_hlen(const char *key);

/* ---- The ezapi server ------------------------------------------------ */

struct ht_server {
    pid_t pid;                 /* the supervisor; 0 when not running */
    int port;
    char dir[256];             /* its own temporary directory */
    char conf[300];            /* dir/ezapi.conf */
    char log[300];             /* dir/ezapi.log: stdout and stderr */
    char admin_secret[41];
    char master_secret[41];
    char token[2][1000];       /* cached admin tokens: [0] admin, [1] viewer */
    char auth[2][1040];        /* "Authorization: Bearer <token>\r\n" */
};

/* Writes a config (listen on a free port, workers = 2, the test database
 * and Redis, fresh 40-character secrets, json logs at info,
 * shutdown_timeout = 5s) overridden by extra_conf ("key = value" lines; a
 * key given there replaces the default instead of duplicating it), starts
 * `$EZAPI_BIN -c FILE` and waits up to 20 s until GET /health/ready answers
 * 200. Aborts the test (with the end of the server log) on failure. */
void ht_server_start(struct ht_server *s, const char *extra_conf);
/* The steps of ht_server_start, for tests that need them apart. */
void ht_server_init(struct ht_server *s, const char *extra_conf);
void ht_server_spawn(struct ht_server *s);
void ht_server_wait_ready(struct ht_server *s);
/* Rewrites the config file (same port and secrets) with new extra lines,
 * e.g. before ht_server_reload. */
void ht_server_write_conf(struct ht_server *s, const char *extra_conf);
/* Wakes any child a test left stopped (SIGSTOP), sends SIGTERM, then waits
 * up to 20 s for the exit (then SIGKILL and aborts the test). Returns the
 * exit code, or 128 + signal when killed. */
int ht_server_stop(struct ht_server *s);
/* Waits up to timeout_ms for the supervisor to exit after a signal the
 * test sent; returns as ht_server_stop, or -1 on timeout (still running). */
int ht_server_wait_exit(struct ht_server *s, int timeout_ms);
void ht_server_signal(struct ht_server *s, int sig);
void ht_server_reload(struct ht_server *s);
/* The pid of the supervisor's child whose whole process title is
 * "ezapi: TITLE" ("syncer", "logger", "worker 0" ...), or 0. */
pid_t ht_server_child_pid(struct ht_server *s, const char *title);
/* 1 when a child titled `title` runs and it is not `old`; its pid in *now.
 * One look: two would let a dying `old` pass the first and be gone from
 * the second. */
int ht_server_child_replaced(struct ht_server *s, const char *title, pid_t old, pid_t *now);
/* Children whose title starts with "ezapi: PREFIX" (e.g. "worker ", which
 * also counts retiring workers): fills up to max pids, returns how many
 * there are. */
int ht_server_children(struct ht_server *s, const char *prefix, pid_t *pids, int max);
/* The whole process title of pid ("" when gone), in a static buffer. */
const char *ht_proc_title(pid_t pid);
/* 1 while pid exists and is not a zombie. */
int ht_proc_alive(pid_t pid);
/* 'R', 'S', 'T' (stopped) ... from /proc/PID/stat, or 0 when gone. */
char ht_proc_state(pid_t pid);

/* Log checks. A mark is the log's current size; *_since looks after it. */
long ht_server_log_mark(struct ht_server *s);
int ht_server_log_contains(struct ht_server *s, const char *needle);
int ht_server_log_contains_since(struct ht_server *s, long mark, const char *needle);
/* Lines logged at level error, plus sanitizer reports: a malloc'd string,
 * or NULL when there are none. */
char *ht_server_log_errors(struct ht_server *s);
/* The lines one role logged ("supervisor", "syncer", "worker-0" ...), at
 * most 8 KiB of them: a malloc'd string, or NULL when there are none. */
char *ht_server_log_of(struct ht_server *s, const char *role);
/* The log text written after mark, malloc'd ("" when none). */
char *ht_server_log_since(struct ht_server *s, long mark);
/* The last n lines of the log, malloc'd. */
char *ht_server_log_tail(struct ht_server *s, int n);

/* An admin JWT from `ezapi token admin -c FILE --role ROLE` (role "admin"
 * or "viewer"); cached in s. */
const char *ht_admin_token(struct ht_server *s, const char *role);
/* "Authorization: Bearer <ht_admin_token>\r\n", ready for extra_headers. */
const char *ht_auth(struct ht_server *s, const char *role);

/* Stops the server, asserts it exited 0 and logged no error. */
#define ht_assert_clean_stop(s) ht_assert_clean_stop_at((s), __FILE__, __LINE__)
void ht_assert_clean_stop_at(struct ht_server *s, const char *file, int line);
#define ht_assert_no_log_errors(s) ht_assert_no_log_errors_at((s), __FILE__, __LINE__)
void ht_assert_no_log_errors_at(struct ht_server *s, const char *file, int line);

/* ---- Running commands ------------------------------------------------ */

struct ht_cmd {
    int status;     /* exit code, 128 + signal, or -1 (could not run / timeout) */
    char *out;      /* stdout, NUL-terminated, malloc'd */
    char *err;      /* stderr */
};

/* Runs $EZAPI_BIN with the given arguments (NULL-terminated), without any
 * EZAPI_* variable in its environment, for at most 30 s. */
void ht_ezapi(struct ht_cmd *c, const char *arg, ...) __attribute__((sentinel));
void ht_cmd_free(struct ht_cmd *c);
/* Writes a file (aborts the test on failure). */
void ht_write_file(const char *path, const char *content);

/* ---- HTTP ------------------------------------------------------------ */

#define HT_MAX_HEADERS 64

struct ht_resp {
    int status;
    int nheaders;
    char *head;                       /* header block, split in place */
    const char *names[HT_MAX_HEADERS];
    const char *values[HT_MAX_HEADERS];
    char *body;                       /* NUL-terminated */
    size_t body_len;
    int conn_close;                   /* the server closes the connection after it */
    char err[160];                    /* why ht_http returned -1 */
};

/* Receive and send timeout of ht_http, in milliseconds (default 15000). */
extern int ht_http_timeout_ms;

/* One request on a fresh connection to 127.0.0.1:port, HTTP/1.1 with
 * Connection: close. extra_headers: NULL or "Name: value\r\n" lines. When
 * body is not NULL it is sent with Content-Length (and Content-Type:
 * application/json unless extra_headers has a Content-Type). Returns the
 * status, or -1 with out->err on a transport error. out is overwritten
 * (not freed): ht_resp_free it after each call. */
int ht_http(int port, const char *method, const char *path, const char *extra_headers,
           const char *body, size_t body_len, struct ht_resp *out);
/* Shorthands. */
int ht_get(int port, const char *path, const char *extra_headers, struct ht_resp *out);
int ht_post_json(int port, const char *path, const char *extra_headers, const char *json,
                struct ht_resp *out);
/* Case-insensitive header lookup; NULL when absent. */
const char *ht_resp_header(const struct ht_resp *r, const char *name);
/* The body parsed as JSON (new reference, json_decref it), or NULL. */
json_t *ht_resp_json(const struct ht_resp *r);
void ht_resp_free(struct ht_resp *r);

/* Lower level, for tests that write a request by hand. */
int ht_connect(int port);   /* blocking socket with ht_http_timeout_ms, or -1 */
int ht_send_all(int fd, const void *buf, size_t len);  /* 0 or -1 */
enum { HT_ERR_TIMEOUT = -2, HT_ERR_RESET = -3, HT_ERR_SHORT = -4, HT_ERR_PROTO = -5, HT_ERR_IO = -6 };
/* Reads one response (method tells whether a body follows). 0, or one of
 * HT_ERR_* with out->err set. */
int ht_read_response(int fd, const char *method, struct ht_resp *out);

/* ---- Load ------------------------------------------------------------ */

struct ht_load_counts {
    long ok;            /* 2xx */
    long non2xx;        /* any other status */
    long errors;        /* sum of the four below */
    long refused;       /* connect failed */
    long reset;         /* send or receive reset */
    long short_read;    /* connection closed before the whole response */
    long timeout;       /* no response within 5 s */
    long reconnects;    /* after a response with Connection: close (not an error) */
    long dropped;       /* errors on a connection that had already carried a
                           response: a request the server had accepted and dropped
                           (a failure on a fresh connection may be one never
                           accepted, e.g. left in the backlog at shutdown) */
};

struct ht_load;
/* Forks a generator keeping nconns persistent connections that send the
 * request back to back until ht_load_stop, or at most HT_LOAD_MAX_MS. */
#define HT_LOAD_MAX_MS 60000
struct ht_load *ht_load_start(int port, int nconns, const char *method, const char *path,
                            const char *extra_headers, const char *body);
void ht_load_snapshot(struct ht_load *l, struct ht_load_counts *out);
/* Stops the generator and frees l; returns the final counts. */
struct ht_load_counts ht_load_stop(struct ht_load *l);
/* "ok=.. non2xx=.. refused=.." for assertion messages (static buffer). */
const char *ht_load_describe(const struct ht_load_counts *c);

/* ---- Time ------------------------------------------------------------ */

int64_t ht_now_ms(void);   /* monotonic */
void ht_sleep_ms(int ms);

/* Waits until cond holds, polling every 50 ms; aborts the test with the
 * message when timeout_ms passes first. */
#define HT_EVENTUALLY(cond, timeout_ms, ...)                          \
    do {                                                             \
        int64_t ht_deadline_ = ht_now_ms() + (timeout_ms);             \
        while (!(cond)) {                                            \
            if (ht_now_ms() > ht_deadline_) ck_abort_msg(__VA_ARGS__); \
            ht_sleep_ms(50);                                          \
        }                                                            \
    } while (0)

/* ---- Requests and answers the suites share ----------------------------- */

/* printf into a new string the caller frees. */
char *ht_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* printf into one of 64 rotating static buffers of 4096 bytes: for bodies
 * and paths used at once, never freed (aborts the test when cut short). */
const char *ht_tmpf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "Authorization: Bearer <token>\r\n" in one of 8 rotating buffers. */
const char *ht_bearer(const char *token);
/* One request on s with extra_headers (NULL: none); aborts the test on a
 * transport error. Returns the status; *out (when out is not NULL) gets
 * the body as JSON, or NULL. */
int ht_request(struct ht_server *s, const char *method, const char *path, const char *extra_headers,
               const char *body, json_t **out);
/* One request; asserts the status is `expect` and that a non-empty answer
 * is JSON. Returns the parsed body (json_decref it), NULL when empty. */
json_t *ht_call(struct ht_server *s, const char *extra_headers, const char *method,
                const char *path, const char *body, int expect);
/* POST body to path as the admin, asserts 201 and an integer "id", and
 * returns it. */
long long ht_create(struct ht_server *s, const char *path, const char *body);
/* POST /admin/namespaces {"name": name} as the admin; asserts 201. */
void ht_create_namespace(struct ht_server *s, const char *name);
/* The integer "id" of o; aborts the test when there is none. */
int64_t ht_id(json_t *o);
/* The string field of o, or "" when absent or not a string. */
const char *ht_jstr(json_t *o, const char *field);
/* Lowercase hex SHA-256 of s (how tokens are keyed in Redis). */
void ht_sha256_hex(const char *s, char out[65]);
/* Is item one of the comma-separated values of csv (as Redis hashes list them)? */
int ht_csv_has(const char *csv, const char *item);
/* 1 when the Redis hash key has field. */
int ht_redis_hexists(const char *key, const char *field);
/* utime + stime of pid in clock ticks (/proc/PID/stat), or -1. */
long long ht_proc_cpu_ticks(pid_t pid);

#endif
