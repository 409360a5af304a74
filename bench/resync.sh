#!/bin/sh
# Full resync at scale: 1,000,000 child keys and 10,000 API keys seeded with
# SQL, then POST /admin/sync/full; its throughput (keys written per second)
# against redis-benchmark -P 64 HSET on the same Redis in the same run, and
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
written=$((KEYS + 1 + API_KEYS + 100 + 5))
kps=$(awk -v n="$written" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
hset=$(redis-benchmark -p "$redis_port" -P 64 -n 2000000 -q -t hset 2>/dev/null |
    awk -F'[: ]+' '/HSET/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9.]+$/) { print $i; exit } }')
echo "full resync: status=$st keys=$written seconds=$secs keys/s=$kps redis-benchmark HSET -P 64=$hset ops/s ratio=$(ratio "$kps" "$hset")"
echo "syncer peak RSS (VmHWM): ${rss} kB (before the resync: ${rss_before} kB)"
grep "full resync done" "$dir/ezapi.log" || true
"$EZAPI_BIN" verify -c "$dir/ezapi.conf" | head -3
