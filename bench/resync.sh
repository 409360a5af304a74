#!/bin/sh
# Full resync at scale: 1,000,000 child keys and 10,000 API keys seeded with
# SQL, then POST /admin/sync/full; its throughput (hashes written per second)
# against redis-benchmark -P 64 writing hashes of the same shape as an
# auth:token hash (11 fields, random keys) on the same Redis in the same run,
# plus the one-field -t hset number for reference, and the syncer's peak RSS
# (VmHWM). KEYS and API_KEYS override the sizes.
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
psql_ <<SQL
INSERT INTO provider_groups (name, type, base_url, models, status)
  SELECT 'g' || g, 'compatible', 'https://up.example/v1', ARRAY['m1','m2','m3'], 'active'
  FROM generate_series(1, 100) g;
INSERT INTO api_keys (group_id, api_key, weight, status)
  SELECT (SELECT id FROM provider_groups WHERE name = 'g' || (1 + i % 100)),
         'sk-upstream-' || i, 1 + i % 10, 'active'
  FROM generate_series(1, $API_KEYS) i;
INSERT INTO bindings (namespace, public_model, group_id, weight, selector_type, selector_value, status)
  SELECT 'bench', 'm1', id, 1, 'exact', 'm1', 'active' FROM provider_groups;
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
curl -fs -X POST "$BASE/admin/sync/full" -H "$auth" >/dev/null
for _ in $(seq 1200); do
    st=$(psql_ -c "SELECT status FROM sync_runs ORDER BY id DESC LIMIT 1")
    [ "$st" = done ] || [ "$st" = failed ] && break
    sleep 0.5
done
secs=$(psql_ -c "SELECT extract(epoch FROM finished_at - started_at) FROM sync_runs ORDER BY id DESC LIMIT 1")
rss=$(awk '/VmHWM/ { print $2 }' "/proc/$syncer/status")
written=$(($(redis-cli -p "$redis_port" dbsize) - 1)) # every hash but meta:sync
kps=$(awk -v n="$written" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
"$EZAPI_BIN" verify -c "$dir/ezapi.conf" | head -3
kill -TERM "$ez_pid" && wait "$ez_pid" || true # it would resync a flushed Redis
ez_pid=
# requests per second from redis-benchmark -q output on stdin
bench_rps() { tr '\r' '\n' | awk '/requests per second/ { for (i = 2; i <= NF; i++) if ($i == "requests") print $(i - 1) }' | tail -1; }
# The same shape as the auth:token hashes just written: a 64-character
# digest after auth:token:, the 11 fields of docs/redis.md, the bench's values.
redis-cli -p "$redis_port" flushall >/dev/null
r=__rand_int__
same=$(redis-benchmark -p "$redis_port" -P 64 -n 1000000 -r 1000000 -q \
    HSET "auth:token:$r$r$r$r${r}abcd" key_id 123456 master_id 1 issued_at_epoch 1 \
    status active group default scopes "" default_namespace "" namespaces bench \
    model_limits "" allow_ips "" expires_at 0 2>/dev/null | bench_rps)
redis-cli -p "$redis_port" flushall >/dev/null
hset=$(redis-benchmark -p "$redis_port" -P 64 -n 2000000 -q -t hset 2>/dev/null | bench_rps)
echo "full resync: $kps hashes/s vs redis-benchmark -P 64 same-shape HSET: $same hashes/s, ratio $(ratio "$kps" "$same")"
echo "  ($written hashes in $secs s, status $st; redis-benchmark -P 64 -t hset, one field: $hset ops/s)"
echo "syncer peak RSS (VmHWM): ${rss} kB (before the resync: ${rss_before} kB)"
grep "full resync done" "$dir/ezapi.log" || true
