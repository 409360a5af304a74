#!/bin/sh
# ezapi at scale: KEYS child keys (default 10,000,000), API_KEYS API keys
# (default 100,000) and AUDIT_ROWS audit records (default 10,000,000),
# seeded with set-based SQL. At two sizes (SMALL keys, default a tenth of
# KEYS, then KEYS) so that linearity shows:
#   - full resync (POST /admin/sync/full): time and hashes/s, against
#     redis-benchmark -P 64 writing as many hashes of the same shape into
#     another database of the same Redis (flushed before each run), and the
#     syncer's peak RSS (VmHWM) after the rounds of each size;
#   - ezapi verify: time and peak RSS, against a raw scan of the same data
#     (a SCAN of every Redis key, COUNT 1000, inside Redis, plus a COPY of
#     the keys joined to their digests to /dev/null);
# then, at KEYS:
#   - GET /admin/masters/{id}/keys at the start, the middle and the end of
#     the table (cursor), PAGE_REQS requests each (default 200): p50/p99;
#   - GET /admin/audit over AUDIT_ROWS records, one query shape per filter
#     of docs/operations.md, PAGE_REQS requests each: p50/p99;
#   - the plan PostgreSQL ran for each of those requests, taken with
#     auto_explain (ANALYZE, BUFFERS) from ezapi's own statements, and a
#     warning for any sequential scan.
# Everything stops by itself; progress goes to stdout with the time.
. "$(dirname "$0")/common.sh"
KEYS=${KEYS:-10000000}
API_KEYS=${API_KEYS:-100000}
AUDIT_ROWS=${AUDIT_ROWS:-10000000}
SMALL=${SMALL:-$((KEYS / 10))}
PAGE_REQS=${PAGE_REQS:-200}
CHUNK=1000000 # rows a seeding statement inserts
EXTRA_CONF="full_resync_interval = 0"
# the resync's "full resync done" line is an info line
LOG_LEVEL=${LOG_LEVEL:-info}
PG_OPTS="-c shared_preload_libraries=auto_explain -c shared_buffers=1GB \
 -c maintenance_work_mem=1GB -c max_wal_size=16GB -c checkpoint_timeout=30min"

say() { echo "[$(date -u +%H:%M:%S)] $*"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

start_services
start_ezapi
auth="Authorization: Bearer $TOKEN"
curl -fs -X POST "$BASE/admin/namespaces" -H "$auth" -H 'Content-Type: application/json' \
    -d '{"name":"bench"}' >/dev/null
MID=$(curl -fs -X POST "$BASE/admin/masters" -H "$auth" -H 'Content-Type: application/json' \
    -d '{"name":"bench","max_child_keys":0,"namespaces":["bench"],"default_namespace":"bench"}' |
    sed 's/.*"id":\([0-9]*\).*/\1/')

# seed_keys FROM TO: child keys number FROM to TO of the bench master, and
# their digests, CHUNK rows a statement.
seed_keys() {
    i=$1
    while [ "$i" -le "$2" ]; do
        j=$((i + CHUNK - 1))
        [ "$j" -gt "$2" ] && j=$2
        psql_ <<SQL
WITH k AS (
  INSERT INTO keys (master_id, name, group_name, issued_at_epoch, issued_by, namespaces, key_prefix)
  SELECT $MID, 'k' || i, 'default', 1, 'import', ARRAY['bench'], 'sk-ez-bench'
  FROM generate_series($i, $j) i RETURNING id)
INSERT INTO key_digests (digest, key_id) SELECT md5(id::text) || md5((id + 1)::text), id FROM k;
SQL
        say "  child keys: $j"
        i=$((j + 1))
    done
    psql_ -c "VACUUM ANALYZE keys" -c "VACUUM ANALYZE key_digests"
}

say "seeding 100 provider groups, $API_KEYS api keys, $SMALL child keys..."
seed_catalog "$API_KEYS"
seed_keys 1 "$SMALL"

syncer=$(pgrep -f "ezapi: syncer" | while read -r p; do
    [ "$(ps -o ppid= -p "$p" | tr -d ' ')" = "$ez_pid" ] && echo "$p"; done | head -1)
hwm() { awk '/VmHWM/ { print $2 }' "/proc/$syncer/status"; }
bench_rps() { tr '\r' '\n' | awk '/requests per second/ { for (i = 2; i <= NF; i++) if ($i == "requests") print $(i - 1) }' | tail -1; }

# One full resync: seconds, from its own log line.
# A failed resync (printed) is asked for again, twice at most.
resync_run() {
    for attempt in 1 2 3; do
        before=$(grep -c "full resync done" "$dir/ezapi.log" || true)
        ended=$(grep -c "full resync done\|full resync failed" "$dir/ezapi.log" || true)
        curl -fs -X POST "$BASE/admin/sync/full" -H "$auth" >/dev/null
        while [ "$(grep -c "full resync done\|full resync failed" "$dir/ezapi.log" || true)" -le "$ended" ]; do
            sleep 0.25
        done
        [ "$(grep -c "full resync done" "$dir/ezapi.log")" -gt "$before" ] && break
        echo "attempt $attempt: $(grep "full resync failed" "$dir/ezapi.log" | tail -1)" >&2
    done
    grep "full resync done" "$dir/ezapi.log" | tail -1 |
        sed 's/.*done: \([0-9]*\) keys in \([0-9]*\) ms.*/\2/' | awk '{ printf "%.2f", $1 / 1000 }'
}
# redis-benchmark -P 64 writing NKEYS hashes shaped like auth:token hashes
# (the 11 fields, 64-character random keys) into database 1: seconds.
raw_write() {
    redis-cli -p "$redis_port" -n 1 flushdb >/dev/null
    r=__rand_int__
    rps=$(redis-benchmark -p "$redis_port" --dbnum 1 -P 64 -n "$NKEYS" -r 100000000 -q \
        HSET "auth:token:$r$r$r$r${r}abcd" key_id 123456 master_id 1 issued_at_epoch 1 \
        status active group default scopes "" default_namespace "" namespaces bench \
        model_limits "" allow_ips "" expires_at 0 2>/dev/null | bench_rps)
    awk -v n="$NKEYS" -v r="$rps" 'BEGIN { printf "%.2f", n / r }'
}
# ezapi verify: seconds; its peak RSS goes to $dir/verify.rss.
verify_run() {
    /usr/bin/time -f "%e %M" -o "$dir/verify.time" \
        "$EZAPI_BIN" verify -c "$dir/ezapi.conf" >"$dir/verify.out" 2>&1 || true
    grep -q '^equal: ' "$dir/verify.out" || {
        echo "verify not clean:" >&2; head -c 600 "$dir/verify.out" >&2; }
    cut -d' ' -f2 "$dir/verify.time" >"$dir/verify.rss"
    cut -d' ' -f1 "$dir/verify.time"
}
# The raw scan: every key name of Redis, and the keys with their digests
# out of PostgreSQL: seconds.
raw_scan() {
    t0=$(now)
    # SCAN with COUNT 1000 inside Redis (this redis-cli has no --count)
    redis-cli -p "$redis_port" eval "local c, n = '0', 0
        repeat local r = redis.call('SCAN', c, 'COUNT', 1000); c = r[1]; n = n + #r[2]
        until c == '0'; return n" 0 >"$dir/scan.count"
    psql_ -c "COPY (SELECT k.*, d.digest FROM keys k JOIN key_digests d ON d.key_id = k.id) TO STDOUT" >/dev/null
    secs "$t0" "$(now)"
}

# size_round N: the resync and verify figures at N child keys.
size_round() {
    NKEYS=$1 ROUNDS=$2
    say "full resync at $NKEYS child keys + $API_KEYS api keys (ROUNDS=$ROUNDS)"
    interleave "full resync $NKEYS" ezapi s resync_run "redis-benchmark -P 64" s raw_write
    redis-cli -p "$redis_port" -n 1 flushdb >/dev/null
    echo "full resync $NKEYS: $(awk -v t="$A_MEDIAN" -v n="$NKEYS" 'BEGIN { printf "%.2f", t * 1e6 / n }') us a child key, syncer peak RSS (VmHWM) $(hwm) kB"
    grep "full resync done" "$dir/ezapi.log" | tail -"$ROUNDS"
    say "ezapi verify at $NKEYS child keys"
    interleave "verify $NKEYS" "ezapi verify" s verify_run "raw scan" s raw_scan
    echo "verify $NKEYS: $(awk -v t="$A_MEDIAN" -v n="$NKEYS" 'BEGIN { printf "%.2f", t * 1e6 / n }') us a child key, peak RSS $(cat "$dir/verify.rss") kB, $(head -1 "$dir/verify.out"), redis keys scanned $(cat "$dir/scan.count")"
}

# LISTS_ONLY=1 seeds everything but measures only the lists below.
[ "${LISTS_ONLY:-0}" = 1 ] || size_round "$SMALL" "$ROUNDS"
say "seeding child keys up to $KEYS..."
seed_keys $((SMALL + 1)) "$KEYS"
[ "${LISTS_ONLY:-0}" = 1 ] || size_round "$KEYS" "${BIG_ROUNDS:-1}"
redis-cli -p "$redis_port" info memory | grep used_memory_human

# A second master whose TAIL_KEYS keys (default 1,000,000; no digests, a
# list needs none) come after the bench master's: the first page of its
# keys and the last page of the bench master's must not read the other's.
TAIL_KEYS=${TAIL_KEYS:-1000000}
TID=$(curl -fs -X POST "$BASE/admin/masters" -H "$auth" -H 'Content-Type: application/json' \
    -d '{"name":"tail","max_child_keys":0}' | sed 's/.*"id":\([0-9]*\).*/\1/')
say "seeding $TAIL_KEYS child keys of a second master..."
psql_ <<SQL
INSERT INTO keys (master_id, name, group_name, issued_at_epoch, issued_by, key_prefix)
  SELECT $TID, 't' || i, 'default', 1, 'import', 'sk-ez-tail' FROM generate_series(1, $TAIL_KEYS) i;
SQL
psql_ -c "VACUUM ANALYZE keys"

say "seeding $AUDIT_ROWS audit records..."
i=1
while [ "$i" -le "$AUDIT_ROWS" ]; do
    j=$((i + CHUNK - 1))
    [ "$j" -gt "$AUDIT_ROWS" ] && j=$AUDIT_ROWS
    # One record every 3 s back from now; 1,000 masters and one admin as
    # actors, 20 actions, 5 resources with 100,000 ids each.
    psql_ <<SQL
INSERT INTO audit_records (time, request_id, actor_type, actor, action, resource, resource_id,
                           method, path, status, producer)
SELECT now() - i * interval '3 seconds', 'req-' || i,
       CASE WHEN i % 10 = 0 THEN 'admin' ELSE 'master' END,
       CASE WHEN i % 10 = 0 THEN 'admin' ELSE 'm' || (i % 1000) END,
       'action.' || (i % 20), 'res' || (i % 5), (i % 100000)::text,
       'POST', '/admin/x', 200, 'seed:' || i
FROM generate_series($i, $j) i;
SQL
    say "  audit records: $j"
    i=$((j + 1))
done
psql_ -c "VACUUM ANALYZE audit_records"

# p50/p99 in ms of PAGE_REQS GETs of URL, over one keep-alive connection.
latency() {
    : >"$dir/curl.cfg"
    n=0
    while [ "$n" -lt "$PAGE_REQS" ]; do
        printf 'url = "%s"\noutput = "/dev/null"\n' "$1" >>"$dir/curl.cfg"
        n=$((n + 1))
    done
    curl -s -H "$auth" -w '%{http_code} %{time_total}\n' -K "$dir/curl.cfg" >"$dir/lat"
    bad=$(grep -vc '^200 ' "$dir/lat" || true)
    [ "$bad" = 0 ] || echo "  $bad answers were not 200" >&2
    cut -d' ' -f2 "$dir/lat" | sort -g | awk '{ v[NR] = $1 * 1000 } END {
        i50 = int(NR * 0.50 + 0.5); i99 = int(NR * 0.99 + 0.5); if (i99 < 1) i99 = 1
        printf "p50 %.2f ms, p99 %.2f ms (%d requests)", v[i50], v[i99], NR }'
}

first=$(psql_ -c "SELECT min(id) FROM keys WHERE master_id = $MID")
last=$(psql_ -c "SELECT max(id) FROM keys WHERE master_id = $MID")
mid=$(((first + last) / 2))
end=$((last - 100))
newest=$(psql_ -c "SELECT extract(epoch FROM max(time))::bigint FROM audit_records")
at() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
half=$((newest - AUDIT_ROWS * 3 / 2)) # the middle of the records' time span
# label|path: the paged key list, then one audit shape per filter
cat >"$dir/shapes" <<SHAPES
keys, first page|/admin/masters/$MID/keys?limit=100
keys, middle of the table|/admin/masters/$MID/keys?limit=100&cursor=c$(printf %x "$mid")
keys, end of the table|/admin/masters/$MID/keys?limit=100&cursor=c$(printf %x "$end")
keys of the second master, first page|/admin/masters/$TID/keys?limit=100
audit, newest page|/admin/audit?limit=100
audit, actor_type and actor|/admin/audit?limit=100&actor_type=master&actor=m42
audit, action|/admin/audit?limit=100&action=action.7
audit, resource and resource_id|/admin/audit?limit=100&resource=res3&resource_id=12343
audit, request_id|/admin/audit?limit=100&request_id=req-4000000
audit, one hour in the middle|/admin/audit?limit=100&since=$(at "$half")&until=$(at $((half + 3600)))
audit, action and one day in the middle|/admin/audit?limit=100&action=action.7&since=$(at "$half")&until=$(at $((half + 86400)))
audit, actor and one day in the middle|/admin/audit?limit=100&actor_type=master&actor=m42&since=$(at "$half")&until=$(at $((half + 86400)))
SHAPES

say "paging and audit latency, $PAGE_REQS requests each (load $(load1))"
while IFS='|' read -r label path; do
    echo "$label: $(latency "$BASE$path") (load $(load1))"
done <"$dir/shapes"

# The plans: auto_explain on for every session, one request per shape,
# auto_explain off again; then each plan that mentions the keys or the
# audit records, without its query text.
say "plans (auto_explain, ANALYZE and BUFFERS, of ezapi's own statements)"
psql_ -c "ALTER SYSTEM SET auto_explain.log_analyze = on" \
    -c "ALTER SYSTEM SET auto_explain.log_buffers = on" \
    -c "ALTER SYSTEM SET auto_explain.log_min_duration = 0" -c "SELECT pg_reload_conf()" >/dev/null
sleep 1
logged=$(wc -l <"$dir/pg.log")
while IFS='|' read -r label path; do
    curl -fs -H "$auth" "$BASE$path" >/dev/null
    echo "== $label: GET $path" >>"$dir/plans.order"
done <"$dir/shapes"
psql_ -c "ALTER SYSTEM SET auto_explain.log_min_duration = -1" -c "SELECT pg_reload_conf()" >/dev/null
tail -n +"$((logged + 1))" "$dir/pg.log" | awk '
    /LOG:  duration: .* plan:/ { if (inplan && keep) printf "%s\n", buf
                                 keep = 0; buf = $0 "\n"; inplan = 1; next }
    inplan && /^\t/ {
        if ($0 ~ /Query Text:/) { if ($0 ~ /FROM audit_records WHERE|FROM keys k JOIN masters/) keep = 1; next }
        buf = buf $0 "\n"; next }
    inplan { if (keep) printf "%s\n", buf; inplan = 0 }
    END { if (inplan && keep) printf "%s\n", buf }' >"$dir/plans"
awk 'NR == FNR { order[++n] = $0; next }
     /LOG:  duration/ { print order[++k] } { print }' "$dir/plans.order" "$dir/plans"
if [ "$(grep -c "LOG:  duration" "$dir/plans")" -lt "$(wc -l <"$dir/shapes")" ]; then
    echo "WARNING: fewer plans logged than requests made"
fi
if grep -q "Seq Scan" "$dir/plans"; then
    echo "WARNING: a sequential scan in the plans above"
else
    echo "no sequential scan in any plan"
fi
# For comparison, the shape of the key list's statement before migration
# 004 (master_id = and id > on keys, ordered by id): PostgreSQL's choice.
say "the key list statement before migration 004, same pages"
for page in "$MID $end" "$TID 0"; do
    set -- $page
    echo "== master $1, after id $2:"
    psql_ -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) SELECT k.* FROM keys k
              JOIN masters m ON m.id = k.master_id WHERE k.master_id = $1 AND k.id > $2
              ORDER BY k.id LIMIT 101" | sed 's/^/    /'
done
say "done"
