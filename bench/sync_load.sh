#!/bin/sh
# Change-to-Redis latency while GET traffic saturates the workers: the time
# from each 201 of POST /v1/tokens to the key's hash in Redis at 1,000
# issues/s (bench/sync_latency, four masters), with wrk reading
# GET /admin/provider-groups/{id} over LOAD_CONNS connections (default
# four per worker) at the same time. Each round runs, ezapi restarted for
# each with its configuration:
#   quiet     PRIO_CONF's lines, no GET traffic
#   equal     every role at the supervisor's niceness (worker_nice,
#             syncer_nice and logger_nice all 0), GET traffic
#   first     the syncer first: PRIO_CONF's lines (default worker_nice = 3,
#             logger_nice = 6), GET traffic
# ROUNDS rounds (default 3): every run with the load average before it,
# then the median p50/p90/p99 of each and the loaded p99 over the quiet
# one.
. "$(dirname "$0")/common.sh"
LATENCY_BIN=${LATENCY_BIN:-$top/bench/sync_latency}
LOAD_CONNS=${LOAD_CONNS:-$((WORKERS * 4))}
RATE=${RATE:-1000}
EQUAL_CONF="worker_nice = 0
syncer_nice = 0
logger_nice = 0"
PRIO_CONF=${PRIO_CONF:-"worker_nice = 3
logger_nice = 6"}
start_services
EXTRA_CONF=$PRIO_CONF start_ezapi
auth="Authorization: Bearer $TOKEN"
keys=$(latency_masters)
gid=$(curl -fs -X POST "$BASE/admin/providers/custom" -H "$auth" \
    -H 'Content-Type: application/json' \
    -d '{"name":"bench","base_url":"https://upstream.example/v1","api_key":"sk-bench-0000000000","models":["m1","m2","m3"]}' |
    sed 's/.*"group":{"id":\([0-9]*\).*/\1/')

restart() { # extra configuration lines
    kill -TERM "$ez_pid" 2>/dev/null || true
    wait "$ez_pid" 2>/dev/null || true
    ez_pid=
    EXTRA_CONF=$1 start_ezapi
    sleep 2 # the start's full resync
}

# lat_run LABEL CONF LOADED: one run; appends its percentiles to LABEL's.
lat_run() {
    restart "$2"
    wait_queues_empty
    l=$(load1)
    if [ "$3" = 1 ]; then
        wrk -t2 -c"$LOAD_CONNS" -d"$((BENCH_SECS + 2))s" -H "Authorization: Bearer $TOKEN" \
            "$BASE/admin/provider-groups/$gid" > "$dir/wrk.txt" &
        wrk_pid=$!
        sleep 1
    fi
    line=$("$LATENCY_BIN" "$http_port" "$redis_port" "$keys" "$RATE" "$((BENCH_SECS * RATE))" 4 ||
        true)
    extra=
    if [ "$3" = 1 ]; then
        wait "$wrk_pid" || true
        extra="; GET traffic $(wrk_rps < "$dir/wrk.txt") req/s"
    fi
    echo "$1 run $r/$ROUNDS (load $l): $line$extra"
    for p in 50 90 99; do
        v=$(echo "$line" | sed -n "s/.*p$p=\([0-9.]*\)ms.*/\1/p")
        eval "all_${1}_$p=\"\$all_${1}_$p $v\""
    done
}

labels="quiet equal first"
for lb in $labels; do for p in 50 90 99; do eval "all_${lb}_$p="; done; done
r=1
while [ "$r" -le "$ROUNDS" ]; do
    lat_run quiet "$PRIO_CONF" 0
    lat_run equal "$EQUAL_CONF" 1
    lat_run first "$PRIO_CONF" 1
    r=$((r + 1))
done
for lb in $labels; do
    eval "p50=\$all_${lb}_50 p90=\$all_${lb}_90 p99=\$all_${lb}_99"
    m=$(echo "$p99" | median)
    eval "med_$lb=$m"
    echo "sync under load, $lb: medians p50 $(echo "$p50" | median) ms, p90 $(echo "$p90" | median) ms, p99 $m ms (p99 spread $(echo "$p99" | spread) ms)"
done
echo "sync under load: loaded p99 over quiet p99: equal $(ratio "$med_equal" "$med_quiet"), syncer first $(ratio "$med_first" "$med_quiet") (target <= 4)"
