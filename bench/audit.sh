#!/bin/sh
# Audit throughput: the logger stopped (SIGSTOP) while namespace creates
# fill the audit rings (failed logins no longer make one record each), then
# resumed; records per second it writes while draining, against a bare COPY
# of the same rows into a copy of the table, interleaved ROUNDS times each.
. "$(dirname "$0")/common.sh"
EXTRA_CONF="audit_queue_capacity = 262144
${AUDIT_CONF:-}"
start_services
start_ezapi
# No autovacuum on either table: after the logger's inserts it would run
# during the bare COPY and slow that side only.
psql_ -c "ALTER TABLE audit_records SET (autovacuum_enabled = false)" >/dev/null
logger=$(pgrep -P "$ez_pid" -f "ezapi: logger" | head -1)
cat > "$dir/create.lua" <<'LUA'
local threads = 0
function setup(thread) threads = threads + 1; thread:set("id", threads) end
function init(args) n = 0 end
function request()
    n = n + 1
    return wrk.format("POST", nil, nil, '{"name":"bench-' .. id .. '-' .. n .. '"}')
end
LUA
depth() { curl -s "$BASE/health/ready" | sed 's/.*"logger":{[^}]*"queue_depth":\([0-9]*\).*/\1/'; }
psql_ -c "CREATE TABLE audit_copy (LIKE audit_records INCLUDING ALL) WITH (autovacuum_enabled = false)" >/dev/null
# The last audit id of the previous round; the run functions run in
# subshells, so it is kept in a file.
echo 0 > "$dir/last"
# One round's logger side: the logger stopped while wrk fills the rings for
# BENCH_SECS, then resumed; records written per second while it drains.
# The logger acknowledges a record only after its batch committed, so an
# empty queue means every record is in the table.
ezapi_run() {
    kill -STOP "$logger"
    wrk -t2 -c4 -d"${BENCH_SECS}s" -s "$dir/create.lua" -H "Authorization: Bearer $TOKEN" \
        -H "Content-Type: application/json" "$BASE/admin/namespaces" > "$dir/wrk.txt"
    queued=$(depth)
    start=$(date +%s.%N)
    kill -CONT "$logger"
    for _ in $(seq 6000); do
        [ "$(depth)" = 0 ] && break
        sleep 0.02
    done
    end=$(date +%s.%N)
    n=$(psql_ -c "SELECT count(*) FROM audit_records WHERE id > $(cat "$dir/last")")
    [ "$n" -ge "$queued" ] || echo "audit: only $n of $queued records written" >&2
    awk -v n="$n" -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", n / (b - a) }'
}
# The same round's rows with a bare COPY into a copy of the table.
copy_run() {
    psql_ -c "\\copy (SELECT * FROM audit_records WHERE id > $(cat "$dir/last")) TO '$dir/audit.csv' WITH (FORMAT csv)" >/dev/null
    n=$(wc -l < "$dir/audit.csv")
    psql_ -c "SELECT max(id) FROM audit_records" > "$dir/last"
    cstart=$(date +%s.%N)
    psql_ -c "\\copy audit_copy FROM '$dir/audit.csv' WITH (FORMAT csv)" >/dev/null
    cend=$(date +%s.%N)
    awk -v n="$n" -v a="$cstart" -v b="$cend" 'BEGIN { printf "%.0f", n / (b - a) }'
}
interleave audit logger records/s ezapi_run "bare COPY" records/s copy_run
echo "audit: $(psql_ -c "SELECT count(*) FROM audit_records") records in all"
