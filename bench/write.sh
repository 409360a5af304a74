#!/bin/sh
# Write path: POST /v1/tokens (insert + sync job + audit job) with wrk,
# against pgbench running the same transaction (lock the master row, insert
# the key and its digest in one statement: the master is unlimited, so
# ezapi does not count its keys either) with the same number of clients and
# the workers' protocol (statements prepared once per connection),
# interleaved ROUNDS times each. Then the sync latency from each 201 to the
# key's hash in Redis at 1,000 issues/s, ROUNDS times: p50/p90/p99 of
# every run and the median p99.
. "$(dirname "$0")/common.sh"
LATENCY_BIN=${LATENCY_BIN:-$top/bench/sync_latency}
start_services
start_ezapi
auth="Authorization: Bearer $TOKEN"
master=$(curl -fs -X POST "$BASE/admin/masters" -H "$auth" -H 'Content-Type: application/json' \
    -d '{"name":"bench","max_child_keys":0}')
mkey=$(echo "$master" | sed 's/.*"master_key":"\([^"]*\)".*/\1/')
mid=$(echo "$master" | sed 's/.*"id":\([0-9]*\).*/\1/')
cat > "$dir/issue.lua" <<LUA
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $mkey"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"name":"bench"}'
LUA
cat > "$dir/insert.sql" <<SQL
\\set mid $mid
BEGIN;
SELECT id, epoch, max_child_keys FROM masters WHERE id = :mid FOR UPDATE;
WITH k AS (INSERT INTO keys (master_id, name, group_name, issued_at_epoch, issued_by, key_prefix)
  VALUES (:mid, 'bench', 'default', 1, 'master', 'sk-ez-xxxxxx') RETURNING *)
INSERT INTO key_digests (digest, key_id)
  SELECT md5(random()::text) || md5(random()::text), id FROM k;
COMMIT;
SQL
clients=$WORKERS

# Each run starts with the syncer's and the logger's queues empty, so that
# neither side pays for the work the previous ezapi run left behind.
ezapi_run() {
    wait_queues_empty
    wrk -t2 -c"$clients" -d"${BENCH_SECS}s" -s "$dir/issue.lua" "$BASE/v1/tokens" |
        tee "$dir/wrk.txt" | wrk_rps
    grep -E "Non-2xx|Socket errors" "$dir/wrk.txt" >&2 || true
}
pgbench_run() {
    wait_queues_empty
    pgbench -h 127.0.0.1 -p "$pg_port" -U postgres -n -M prepared -c "$clients" -j 2 \
        -T "$BENCH_SECS" -f "$dir/insert.sql" ezapi 2>/dev/null | pgbench_tps
}
interleave write ezapi req/s ezapi_run pgbench tps pgbench_run

if [ -x "$LATENCY_BIN" ]; then
    # One master per sender: issuance is serialised per master (row lock).
    keys=""
    for i in 1 2 3 4; do
        k=$(curl -fs -X POST "$BASE/admin/masters" -H "$auth" -H 'Content-Type: application/json' \
            -d "{\"name\":\"lat$i\",\"max_child_keys\":0}" | sed 's/.*"master_key":"\([^"]*\)".*/\1/')
        keys="$keys${keys:+,}$k"
    done
    latency_rounds "sync latency" "$keys" 1000
fi
