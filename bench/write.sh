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
issue_setup
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
    keys=$(latency_masters)
    latency_rounds "sync latency" "$keys" 1000
fi
