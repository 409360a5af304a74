#!/bin/sh
# Write path: POST /v1/tokens (insert + sync job + audit job) with wrk,
# against pgbench running the same transaction (lock the master row, insert
# the key and its digest in one statement: the master is unlimited, so
# ezapi does not count its keys either) with the same number of clients and
# the workers' protocol (statements prepared once per connection), in one
# run; then the sync latency from each 201 to the key's hash in Redis at
# 1,000 issues/s. Prints the ratio and p50/p99.
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
# pgbench first: ezapi's own syncer works on after wrk stops.
pg=$(pgbench -h 127.0.0.1 -p "$pg_port" -U postgres -n -M prepared -c "$clients" -j 2 \
    -T "$BENCH_SECS" -f "$dir/insert.sql" ezapi 2>/dev/null | tee "$dir/pgbench.txt" | pgbench_tps)
ez=$(wrk -t2 -c"$clients" -d"${BENCH_SECS}s" -s "$dir/issue.lua" "$BASE/v1/tokens" |
    tee "$dir/wrk.txt" | wrk_rps)
echo "write: clients=$clients ezapi=${ez} req/s pgbench=${pg} tps ratio=$(ratio "$ez" "$pg")"
grep -E "Non-2xx|Socket errors" "$dir/wrk.txt" || true
if [ -x "$LATENCY_BIN" ]; then
    # Latency at 1,000/s, not behind the backlog wrk left: wait for the
    # syncer to drain its queue first (reported in drain_seconds).
    t0=$(date +%s.%N)
    for _ in $(seq 6000); do
        d=$(curl -s "$BASE/health/ready" | sed 's/.*"syncer":{[^}]*"queue_depth":\([0-9]*\).*/\1/')
        [ "$d" = 0 ] && break
        sleep 0.05
    done
    echo "sync backlog after wrk drained in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
    # One master per sender: issuance is serialised per master (row lock).
    keys=""
    for i in 1 2 3 4; do
        k=$(curl -fs -X POST "$BASE/admin/masters" -H "$auth" -H 'Content-Type: application/json' \
            -d "{\"name\":\"lat$i\",\"max_child_keys\":0}" | sed 's/.*"master_key":"\([^"]*\)".*/\1/')
        keys="$keys${keys:+,}$k"
    done
    "$LATENCY_BIN" "$http_port" "$redis_port" "$keys" 1000 "$((BENCH_SECS * 1000))" 4 || true
fi
