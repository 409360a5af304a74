#!/bin/sh
# Full resync at scale: 1,000,000 child keys and 10,000 API keys seeded with
# SQL, then POST /admin/sync/full; its throughput (hashes written per second)
# against redis-benchmark -P 64 writing hashes of the same shape as an
# auth:token hash (11 fields, random keys) on the same Redis, interleaved
# ROUNDS times each, plus the one-field -t hset number for reference, and
# the syncer's peak RSS (VmHWM). KEYS and API_KEYS override the sizes.
. "$(dirname "$0")/common.sh"
KEYS=${KEYS:-1000000}
API_KEYS=${API_KEYS:-10000}
EXTRA_CONF="full_resync_interval = 0"
start_services
start_ezapi
auth="Authorization: Bearer $TOKEN"
curl -fs -X POST "$BASE/admin/namespaces" -H "$auth" -H 'Content-Type: application/json' \
    -d '{"name":"bench"}' >/dev/null
curl -fs -X POST "$BASE/admin/masters" -H "$auth" -H 'Content-Type: application/json' \
    -d '{"name":"bench","max_child_keys":0,"namespaces":["bench"],"default_namespace":"bench"}' >/dev/null
echo "seeding $KEYS child keys and $API_KEYS api keys..."
seed_catalog "$API_KEYS"
psql_ <<SQL
INSERT INTO keys (master_id, name, group_name, issued_at_epoch, issued_by, namespaces, key_prefix)
  SELECT (SELECT id FROM masters WHERE name = 'bench'), 'k' || i, 'default', 1, 'import',
         ARRAY['bench'], 'sk-ez-bench'
  FROM generate_series(1, $KEYS) i;
INSERT INTO key_digests (digest, key_id)
  SELECT md5(id::text) || md5((id + 1)::text), id FROM keys;
ANALYZE;
SQL
syncer=$(pgrep -f "ezapi: syncer" | while read -r p; do
    [ "$(ps -o ppid= -p "$p" | tr -d ' ')" = "$ez_pid" ] && echo "$p"; done | head -1)
rss_before=$(awk '/VmHWM/ { print $2 }' "/proc/$syncer/status")
# requests per second from redis-benchmark -q output on stdin
bench_rps() { tr '\r' '\n' | awk '/requests per second/ { for (i = 2; i <= NF; i++) if ($i == "requests") print $(i - 1) }' | tail -1; }

# One full resync asked for with POST /admin/sync/full: hashes written per
# second, from its own log line ("full resync done: N keys in M ms").
ezapi_run() {
    before=$(grep -c "full resync done" "$dir/ezapi.log" || true)
    curl -fs -X POST "$BASE/admin/sync/full" -H "$auth" >/dev/null
    for _ in $(seq 2400); do
        [ "$(grep -c "full resync done" "$dir/ezapi.log" || true)" -gt "$before" ] && break
        sleep 0.25
    done
    grep "full resync done" "$dir/ezapi.log" | tail -1 |
        sed 's/.*done: \([0-9]*\) keys in \([0-9]*\) ms.*/\1 \2/' |
        awk '{ printf "%.0f", $1 / ($2 / 1000) }'
}
# The same shape as the auth:token hashes the resync writes: a 64-character
# digest, the 11 fields of docs/redis.md, the bench's values; under a prefix
# of its own, so that the resync's scan for stale keys never sees them.
redis_run() {
    r=__rand_int__
    redis-benchmark -p "$redis_port" -P 64 -n "$KEYS" -r 1000000 -q \
        HSET "bench:token:$r$r$r$r${r}abcd" key_id 123456 master_id 1 issued_at_epoch 1 \
        status active group default scopes "" default_namespace "" namespaces bench \
        model_limits "" allow_ips "" expires_at 0 2>/dev/null | bench_rps
}
interleave "full resync" ezapi hashes/s ezapi_run "redis-benchmark -P 64" hashes/s redis_run
rss=$(awk '/VmHWM/ { print $2 }' "/proc/$syncer/status")
"$EZAPI_BIN" verify -c "$dir/ezapi.conf" | head -3
hset=$(redis-benchmark -p "$redis_port" -P 64 -n 2000000 -q -t hset 2>/dev/null | bench_rps)
echo "  (for reference, redis-benchmark -P 64 -t hset, one field a command: $hset ops/s)"
echo "syncer peak RSS (VmHWM) over every round: ${rss} kB (before the first: ${rss_before} kB)"
grep "full resync done" "$dir/ezapi.log" || true
