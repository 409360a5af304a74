/* Integration tests of changes that must reach Redis however the
 * connection to PostgreSQL is lost: a COMMIT whose answer never arrives
 * (tests/pgproxy.h cuts it), rows changed or deleted behind ezapi's back,
 * and revocations and issuances running while PostgreSQL restarts ten
 * times. What is checked is what a data plane reads in Redis, what
 * PostgreSQL holds, and what the audit log says of each attempt. */
#include "harness.h"
#include "pgproxy.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#define SYNC_MS 10000 /* how long a change may take to reach Redis */

/* ---- helpers -------------------------------------------------------------- */

/* A master with room for many keys; its master key goes into mk. */
static void make_master(struct ht_server *s, char *mk, size_t len)
{
    json_t *j;
    ck_assert_int_eq(ht_request(s, "POST", "/admin/masters", ht_auth(s, "admin"),
                                "{\"name\":\"acme\",\"max_child_keys\":0}", &j),
                     201);
    snprintf(mk, len, "%s", ht_jstr(j, "master_key"));
    json_decref(j);
}

/* Issues a child key; returns its id, its token in tok. */
static long long issue(struct ht_server *s, const char *mk, char *tok, size_t len)
{
    json_t *j;
    int st = ht_request(s, "POST", "/v1/tokens", ht_bearer(mk), "{\"name\":\"k\"}", &j);
    ck_assert_msg(st == 201, "issue: HTTP %d", st);
    snprintf(tok, len, "%s", ht_jstr(j, "token"));
    long long id = (long long)json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    return id;
}

/* The status field of the key's hash in Redis ("" when there is none). */
static const char *token_status(const char *digest)
{
    static char out[32];
    char key[128];
    snprintf(key, sizeof key, "auth:token:%s", digest);
    char *v = ht_redis_hget(key, "status");
    snprintf(out, sizeof out, "%s", v ? v : "");
    free(v);
    return out;
}

/* What verify found the last time it was asked (for failure messages). */
static char verify_seen[600];

static int verify_equal(struct ht_server *s)
{
    json_t *j;
    int st = ht_request(s, "GET", "/admin/sync/verify", ht_auth(s, "admin"), NULL, &j);
    int equal = st == 200 && json_is_true(json_object_get(j, "equal"));
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    snprintf(verify_seen, sizeof verify_seen, "HTTP %d %s", st, text ? text : "");
    free(text);
    json_decref(j);
    return equal;
}

/* The error code of an answer ("" when none). */
static const char *error_code(json_t *j)
{
    return ht_jstr(json_object_get(j, "error"), "code");
}

/* ---- a COMMIT whose answer is lost ----------------------------------------- */

static struct ht_pgproxy proxy;
static struct ht_server srv;
static char mk[256];

static void start_behind_proxy(void)
{
    ht_pgproxy_start(&proxy);
    char conf[700];
    snprintf(conf, sizeof conf, "pg_dsn = %s\nfull_resync_interval = 0\n", proxy.dsn);
    ht_server_start(&srv, conf);
    make_master(&srv, mk, sizeof mk);
}

static void stop_behind_proxy(void)
{
    ht_server_stop(&srv);
    ht_pgproxy_stop(&proxy);
}

START_TEST(revocation_whose_commit_answer_is_lost_reaches_redis)
{
    start_behind_proxy();
    char tok[256], digest[65], path[64];
    long long id = issue(&srv, mk, tok, sizeof tok);
    ht_sha256_hex(tok, digest);
    HT_EVENTUALLY(strcmp(token_status(digest), "active") == 0, SYNC_MS, "key never in Redis");

    ht_pgproxy_arm(&proxy, HT_CUT_COMMIT_REPLY);
    snprintf(path, sizeof path, "/v1/tokens/%lld", id);
    json_t *j;
    int st = ht_request(&srv, "DELETE", path, ht_bearer(mk), NULL, &j);
    ck_assert_int_eq(ht_pgproxy_cuts(&proxy), 1);
    ck_assert_msg(st == 503 && strcmp(error_code(j), "commit_outcome_unknown") == 0,
                  "HTTP %d %s, expected 503 commit_outcome_unknown", st, error_code(j));
    ck_assert_str_eq(ht_jstr(json_object_get(j, "error"), "type"), "unavailable_error");
    json_decref(j);

    /* it did commit, and the data plane must see it promptly */
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM keys WHERE id = %lld AND status = 'revoked'",
             id);
    ck_assert_int_eq(ht_pg_count(sql), 1);
    HT_EVENTUALLY(strcmp(token_status(digest), "") == 0, SYNC_MS,
                 "the revoked key is still in Redis: %s", token_status(digest));
    /* the audit log says what happened */
    HT_EVENTUALLY(ht_pg_count("SELECT count(*) FROM audit_records WHERE action = 'key.delete' "
                            "AND status = 503 AND changes->>'outcome' = 'committed'") == 1,
                 SYNC_MS, "no audit record of the revocation with its outcome");
    /* checking and retrying is safe */
    ck_assert_int_eq(ht_request(&srv, "DELETE", path, ht_bearer(mk), NULL, NULL), 204);
    HT_EVENTUALLY(verify_equal(&srv), SYNC_MS, "Redis differs from PostgreSQL: %s", verify_seen);
    stop_behind_proxy();
}
END_TEST

START_TEST(issuance_whose_commit_answer_is_lost_reaches_redis)
{
    start_behind_proxy();
    ht_pgproxy_arm(&proxy, HT_CUT_COMMIT_REPLY);
    json_t *j;
    int st = ht_request(&srv, "POST", "/v1/tokens", ht_bearer(mk), "{\"name\":\"lost\"}", &j);
    ck_assert_int_eq(ht_pgproxy_cuts(&proxy), 1);
    ck_assert_msg(st == 503 && strcmp(error_code(j), "commit_outcome_unknown") == 0,
                  "HTTP %d %s, expected 503 commit_outcome_unknown", st, error_code(j));
    ck_assert_ptr_null(json_object_get(j, "token"));
    json_decref(j);

    /* the key exists: it is in Redis too, so PostgreSQL and Redis agree */
    ck_assert_int_eq(ht_pg_count("SELECT count(*) FROM keys WHERE name = 'lost'"), 1);
    PGconn *c = ht_pg();
    PGresult *r = PQexec(c, "SELECT d.digest FROM key_digests d JOIN keys k ON k.id = d.key_id "
                            "WHERE k.name = 'lost'");
    ck_assert_int_eq(PQntuples(r), 1);
    char digest[65];
    snprintf(digest, sizeof digest, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    HT_EVENTUALLY(strcmp(token_status(digest), "active") == 0, SYNC_MS,
                 "the key committed without an answer never reached Redis");
    HT_EVENTUALLY(ht_pg_count("SELECT count(*) FROM audit_records WHERE action = 'key.create' "
                            "AND status = 503 AND changes->>'outcome' = 'committed'") == 1,
                 SYNC_MS, "no audit record of the issuance with its outcome");
    HT_EVENTUALLY(verify_equal(&srv), SYNC_MS, "Redis differs from PostgreSQL: %s", verify_seen);
    stop_behind_proxy();
}
END_TEST

START_TEST(commit_lost_on_its_way_changes_nothing)
{
    start_behind_proxy();
    char tok[256], digest[65], path[64];
    long long id = issue(&srv, mk, tok, sizeof tok);
    ht_sha256_hex(tok, digest);
    HT_EVENTUALLY(strcmp(token_status(digest), "active") == 0, SYNC_MS, "key never in Redis");

    ht_pgproxy_arm(&proxy, HT_CUT_COMMIT_REQUEST);
    snprintf(path, sizeof path, "/v1/tokens/%lld", id);
    json_t *j;
    int st = ht_request(&srv, "DELETE", path, ht_bearer(mk), NULL, &j);
    ck_assert_int_eq(ht_pgproxy_cuts(&proxy), 1);
    ck_assert_msg(st == 503 && strcmp(error_code(j), "commit_outcome_unknown") == 0,
                  "HTTP %d %s, expected 503 commit_outcome_unknown", st, error_code(j));
    json_decref(j);

    /* PostgreSQL rolled it back: the key works, and the audit log says so */
    HT_EVENTUALLY(ht_pg_count("SELECT count(*) FROM audit_records WHERE action = 'key.delete' "
                            "AND status = 503 AND changes->>'outcome' = 'aborted'") == 1,
                 SYNC_MS, "no audit record of the attempt with its outcome");
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM keys WHERE id = %lld AND status = 'active'",
             id);
    ck_assert_int_eq(ht_pg_count(sql), 1);
    HT_EVENTUALLY(verify_equal(&srv), SYNC_MS, "Redis differs from PostgreSQL: %s", verify_seen);
    ck_assert_str_eq(token_status(digest), "active");
    stop_behind_proxy();
}
END_TEST

/* ---- changes behind ezapi's back --------------------------------------------- */

START_TEST(rows_deleted_or_renamed_by_hand_leave_redis)
{
    struct ht_server s;
    ht_server_start(&s, "full_resync_interval = 0\nsync_outbox_interval = 500ms\n");
    const char *a = ht_auth(&s, "admin");
    ck_assert_int_eq(ht_request(&s, "POST", "/admin/namespaces", a, "{\"name\":\"by-hand\"}", NULL),
                     201);
    json_t *g;
    ck_assert_int_eq(ht_request(&s, "POST", "/admin/providers/custom", a,
                                "{\"name\":\"old-name\",\"base_url\":\"https://up.example\","
                                "\"api_key\":\"sk-up\",\"models\":[\"m1\"]}",
                                &g),
                     201);
    json_decref(g);
    char tok[256], digest[65];
    make_master(&s, mk, sizeof mk);
    issue(&s, mk, tok, sizeof tok);
    ht_sha256_hex(tok, digest);
    HT_EVENTUALLY(ht_redis_hlen("route:group:old-name") == 1 &&
                     strcmp(token_status(digest), "active") == 0,
                 SYNC_MS, "the rows never reached Redis");
    ck_assert(ht_redis_hexists("config:namespaces", "by-hand"));

    /* an operator edits PostgreSQL by hand: no job is ever queued */
    PGconn *c = ht_pg();
    PQclear(PQexec(c, "DELETE FROM namespaces WHERE name = 'by-hand'"));
    PQclear(PQexec(c, "UPDATE provider_groups SET name = 'new-name' WHERE name = 'old-name'"));
    PQclear(PQexec(c, "DELETE FROM masters WHERE name = 'acme'"));
    PQfinish(c);
    HT_EVENTUALLY(!ht_redis_hexists("config:namespaces", "by-hand"), SYNC_MS,
                  "the namespace deleted by hand is still in Redis");
    HT_EVENTUALLY(ht_redis_hlen("route:group:old-name") == 0 &&
                     ht_redis_hlen("route:group:new-name") == 1,
                 SYNC_MS, "the group renamed by hand is still under its old name");
    HT_EVENTUALLY(strcmp(token_status(digest), "") == 0, SYNC_MS,
                 "the key of the master deleted by hand is still in Redis");
    HT_EVENTUALLY(ht_pg_count("SELECT count(*) FROM sync_outbox") == 0, SYNC_MS,
                 "the rows the deletes wrote into sync_outbox were never settled");
    HT_EVENTUALLY(verify_equal(&s), SYNC_MS, "Redis differs from PostgreSQL: %s", verify_seen);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(changes_missed_while_cut_off_are_caught_up_after_reconnecting)
{
    struct ht_server s;
    ht_server_start(&s, "full_resync_interval = 0\n");
    char tok[256], digest[65];
    make_master(&s, mk, sizeof mk);
    long long id = issue(&s, mk, tok, sizeof tok);
    ht_sha256_hex(tok, digest);
    HT_EVENTUALLY(strcmp(token_status(digest), "active") == 0, SYNC_MS, "key never in Redis");
    ht_sleep_ms(1500); /* the syncer notes where it stands about every second */

    /* a change whose job never reaches the syncer, then PostgreSQL goes */
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE keys SET status = 'suspended' WHERE id = %lld", id);
    PGconn *c = ht_pg();
    PQclear(PQexec(c, sql));
    PQfinish(c);
    long mark = ht_server_log_mark(&s);
    ht_pg_stop();
    ht_sleep_ms(500);
    ht_pg_start();
    HT_EVENTUALLY(strcmp(token_status(digest), "suspended") == 0, 30000,
                 "the change made before the outage never reached Redis: status %s",
                 token_status(digest));
    /* the syncer logs the catch-up once it has applied it, so the line may
     * follow the change in Redis by a moment */
    HT_EVENTUALLY(ht_server_log_contains_since(&s, mark, "catch-up after reconnecting"), SYNC_MS,
                  "the syncer never logged its catch-up");
    ck_assert(!ht_server_log_contains_since(&s, mark, "full resync done"));
    ht_server_stop(&s);
}
END_TEST

/* ---- the outbox after an outage, the queues across a reload --------------- */

START_TEST(outbox_rows_from_an_outage_are_settled_by_the_full_resync)
{
    struct ht_server s;
    /* an outbox pass an hour away: only the full resync can settle the rows */
    ht_server_start(&s, "sync_outbox_interval = 1h\nfull_resync_interval = 0\n");
    ht_redis_stop();
    for (int i = 0; i < 30; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"name\":\"out%d\"}", i);
        ck_assert_int_eq(
            ht_request(&s, "POST", "/admin/namespaces", ht_auth(&s, "admin"), body, NULL), 201);
    }
    HT_EVENTUALLY(ht_pg_count("SELECT count(*) FROM sync_outbox") >= 30, SYNC_MS,
                 "the outbox did not fill while Redis was down");
    long mark = ht_server_log_mark(&s);
    ht_redis_start(); /* empty */
    HT_EVENTUALLY(ht_pg_count("SELECT count(*) FROM sync_outbox") == 0, 20000,
                 "the full resync left %lld outbox rows behind",
                 ht_pg_count("SELECT count(*) FROM sync_outbox"));
    ck_assert(ht_server_log_contains_since(&s, mark, "full resync settled"));
    ck_assert(ht_redis_hexists("config:namespaces", "out29"));
    HT_EVENTUALLY(verify_equal(&s), SYNC_MS, "Redis differs from PostgreSQL: %s", verify_seen);
    ht_assert_clean_stop(&s);
}
END_TEST

START_TEST(reload_hands_the_queues_over_without_losing_a_job)
{
    struct ht_server s;
    ht_server_start(&s, NULL);
    make_master(&s, mk, sizeof mk);
    struct ht_load *l =
        ht_load_start(s.port, 4, "POST", "/v1/tokens", ht_bearer(mk), "{\"name\":\"reload\"}");
    ht_sleep_ms(1000);
    long mark = ht_server_log_mark(&s);
    ht_server_reload(&s);
    ht_sleep_ms(1500);
    struct ht_load_counts c = ht_load_stop(l);
    ck_assert_msg(c.errors == 0 && c.non2xx == 0 && c.ok > 0, "%s", ht_load_describe(&c));
    HT_EVENTUALLY(ht_server_log_contains_since(&s, mark, "handing over to the next logger") &&
                     ht_server_log_contains_since(&s, mark, "handing over to the next syncer"),
                 SYNC_MS, "the syncer and the logger were not handed over");
    /* every key issued is audited once and in Redis */
    HT_EVENTUALLY(ht_pg_count("SELECT count(*) FROM audit_records WHERE action = 'key.create'") ==
                     ht_pg_count("SELECT count(*) FROM keys"),
                 SYNC_MS, "%lld keys, %lld audit records",
                 ht_pg_count("SELECT count(*) FROM keys"),
                 ht_pg_count("SELECT count(*) FROM audit_records WHERE action = 'key.create'"));
    HT_EVENTUALLY(verify_equal(&s), SYNC_MS, "Redis differs from PostgreSQL: %s", verify_seen);
    ck_assert(!ht_server_log_contains(&s, "exiting with"));
    ht_assert_clean_stop(&s);
}
END_TEST

/* ---- ten PostgreSQL restarts under revocations and issuances -------------- */

/* One line per attempt: "issue|revoke <request id> <key id> <status> <code>". */
static void client_loop(int port, const char *master_key, const char *log, int who,
                        int64_t until)
{
    FILE *f = fopen(log, "w");
    if (!f)
        _exit(1);
    long long issued[4096];
    int nissued = 0, n = 0;
    while (ht_now_ms() < until) {
        char rid[64], headers[400], path[64];
        int revoke = nissued > 0 && n % 2 == 1;
        long long id = revoke ? issued[(n / 2) % nissued] : 0;
        snprintf(rid, sizeof rid, "durability-%d-%d", who, n++);
        snprintf(headers, sizeof headers, "Authorization: Bearer %s\r\nX-Request-ID: %s\r\n",
                 master_key, rid);
        struct ht_resp r;
        int st;
        if (revoke) {
            snprintf(path, sizeof path, "/v1/tokens/%lld", id);
            st = ht_http(port, "DELETE", path, headers, NULL, 0, &r);
        } else {
            st = ht_http(port, "POST", "/v1/tokens", headers, "{\"name\":\"loop\"}", 15, &r);
        }
        json_t *j = ht_resp_json(&r);
        if (!revoke && st == 201) {
            id = (long long)json_integer_value(json_object_get(j, "id"));
            if (nissued < 4096)
                issued[nissued++] = id;
        }
        const char *code = ht_jstr(json_object_get(j, "error"), "code");
        fprintf(f, "%s %s %lld %d %s\n", revoke ? "revoke" : "issue", rid, id, st,
                *code ? code : "-");
        fflush(f);
        json_decref(j);
        ht_resp_free(&r);
        ht_sleep_ms(st < 0 ? 50 : 4); /* about 200 attempts a second */
    }
    fclose(f);
    _exit(0);
}

START_TEST(revocations_and_issuances_survive_ten_postgres_restarts)
{
    const char *san = getenv("EZAPI_SANITIZERS");
    if (san && strcmp(san, "yes") == 0) {
        fprintf(stderr, "skipped: slow fault test, run in the normal build only\n");
        return;
    }
    /* The harness's PostgreSQL acknowledges commits before they are in its
     * WAL (synchronous_commit = off, for speed): a crash would lose
     * acknowledged writes, which no client of it can help. */
    PGconn *c = ht_pg();
    PQclear(PQexec(c, "ALTER DATABASE ezapi SET synchronous_commit = on"));
    PQfinish(c);
    struct ht_server s;
    ht_server_start(&s, "full_resync_interval = 0\nsync_outbox_interval = 1s\n"
                       "request_timeout = 10s\npg_statement_timeout = 2s\n");
    HT_EVENTUALLY(ht_server_log_contains(&s, "full resync done"), SYNC_MS,
                 "no start-up full resync");
    long after_start = ht_server_log_mark(&s);
    make_master(&s, mk, sizeof mk);
    char log[400];
    snprintf(log, sizeof log, "%s/attempts", s.dir);
    /* two clients, so that COMMITs overlap the restarts more often */
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        ck_assert_int_ge(kids[k], 0);
        if (kids[k] == 0) {
            char mine[420];
            snprintf(mine, sizeof mine, "%s.%d", log, k);
            client_loop(s.port, mk, mine, k, ht_now_ms() + 120000);
        }
    }
    ht_sleep_ms(1000);
    for (int i = 0; i < 10; i++) {
        if (i % 2)
            ht_pg_crash();
        else
            ht_pg_stop();
        ht_sleep_ms(300);
        ht_pg_start();
        ht_sleep_ms(1500);
    }
    for (int k = 0; k < 2; k++) {
        kill(kids[k], SIGKILL); /* Check's SIGTERM handler would take the test's group down */
        waitpid(kids[k], NULL, 0);
    }
    char both[1300];
    snprintf(both, sizeof both, "cat %s.0 %s.1 > %s", log, log, log);
    ck_assert_int_eq(system(both), 0);

    /* Redis converges on PostgreSQL without a full resync */
    HT_EVENTUALLY(verify_equal(&s), 30000, "Redis never matched PostgreSQL after the restarts: %s", verify_seen);
    ck_assert_msg(!ht_server_log_contains_since(&s, after_start, "full resync done"),
                  "a full resync ran: convergence must not depend on one");
    /* every attempt is accounted for in the audit log: what was answered,
     * and for a COMMIT whose outcome was unknown, what became of it */
    FILE *f = fopen(log, "r");
    ck_assert_ptr_nonnull(f);
    static struct attempt {
        char rid[64];
        int status, unknown;
    } tried[20000];
    char what[16], rid[64], code[64];
    long long id;
    int st, attempts = 0, ok = 0, unknown = 0;
    while (attempts < 20000 && fscanf(f, "%15s %63s %lld %d %63s", what, rid, &id, &st, code) == 5) {
        int u = strcmp(code, "commit_outcome_unknown") == 0;
        if ((st < 200 || st > 299) && !u)
            continue; /* refused before anything was written: nothing to record */
        snprintf(tried[attempts].rid, sizeof tried[0].rid, "%s", rid);
        tried[attempts].status = st;
        tried[attempts++].unknown = u;
        ok += !u;
        unknown += u;
    }
    fclose(f);
    fprintf(stderr, "ten restarts: %d attempts answered 2xx, %d with an unknown outcome\n", ok,
            unknown);
    ck_assert_int_gt(ok, 20);
    char sql[200];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM audit_records WHERE request_id LIKE 'durability-%%'");
    HT_EVENTUALLY(ht_pg_count(sql) >= attempts, SYNC_MS, "%lld audit records for %d attempts",
                 ht_pg_count(sql), attempts);
    PGconn *pc = ht_pg();
    PGresult *ar = PQexec(pc, "SELECT request_id, status, coalesce(changes->>'outcome', 'none') "
                              "FROM audit_records WHERE request_id LIKE 'durability-%' "
                              "ORDER BY request_id");
    ck_assert_int_eq(PQresultStatus(ar), PGRES_TUPLES_OK);
    ck_assert_int_ge(PQntuples(ar), attempts); /* and one the killed client never logged */
    for (int i = 0; i < attempts; i++) {
        int row = -1;
        for (int lo = 0, hi = PQntuples(ar) - 1; lo <= hi && row < 0;) {
            int mid = (lo + hi) / 2, cmp = strcmp(PQgetvalue(ar, mid, 0), tried[i].rid);
            if (cmp == 0)
                row = mid;
            else if (cmp < 0)
                lo = mid + 1;
            else
                hi = mid - 1;
        }
        ck_assert_msg(row >= 0, "attempt %s answered %d has no audit record", tried[i].rid,
                      tried[i].status);
        ck_assert_int_eq(atoi(PQgetvalue(ar, row, 1)), tried[i].status);
        const char *outcome = PQgetvalue(ar, row, 2);
        if (tried[i].unknown)
            ck_assert_msg(strcmp(outcome, "committed") == 0 || strcmp(outcome, "aborted") == 0,
                          "attempt %s: outcome %s", tried[i].rid, outcome);
        else
            ck_assert_str_eq(outcome, "none");
    }
    PQclear(ar);
    PQfinish(pc);
    /* each key's Redis state matches PostgreSQL (verify compares them all) */
    ck_assert(verify_equal(&s));
    ht_server_stop(&s);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("durability");
    TCase *lost = ht_tcase("lost_commit");
    tcase_add_test(lost, revocation_whose_commit_answer_is_lost_reaches_redis);
    tcase_add_test(lost, issuance_whose_commit_answer_is_lost_reaches_redis);
    tcase_add_test(lost, commit_lost_on_its_way_changes_nothing);
    suite_add_tcase(suite, lost);
    TCase *hand = ht_tcase("behind_its_back");
    tcase_add_test(hand, rows_deleted_or_renamed_by_hand_leave_redis);
    tcase_add_test(hand, changes_missed_while_cut_off_are_caught_up_after_reconnecting);
    suite_add_tcase(suite, hand);
    TCase *queues = ht_tcase("queues");
    tcase_add_test(queues, outbox_rows_from_an_outage_are_settled_by_the_full_resync);
    tcase_add_test(queues, reload_hands_the_queues_over_without_losing_a_job);
    suite_add_tcase(suite, queues);
    TCase *restarts = ht_tcase("restarts");
    tcase_set_timeout(restarts, 400);
    tcase_add_test(restarts, revocations_and_issuances_survive_ten_postgres_restarts);
    suite_add_tcase(suite, restarts);
    return ht_run_suite(suite);
}
