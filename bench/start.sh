#!/bin/sh
# Start and reload times. Start: from launching `ezapi -c` to the first 200
# from GET /health/ready (PostgreSQL, Redis, the syncer and the logger all
# answering), the migrations applied by an earlier start. Reload: from
# SIGHUP to the first answer of the new generation's workers; the reload
# toggles max_header_size between 16384 and 1024, so a request with a
# 2,000-byte header is answered 431 only by the new generation (or 200
# only by it, on the way back). Both are polled with curl without pause
# (each poll costs a few milliseconds, the resolution of the figures).
# ROUNDS rounds (default 3) of a start and a reload, each with the load
# average before it; then medians and spread.
. "$(dirname "$0")/common.sh"
start_services
start_ezapi # applies the migrations: not part of any figure
kill -TERM "$ez_pid"
wait "$ez_pid" 2>/dev/null || true
ez_pid=
ms() { date +%s%3N; }
# The runs below are called in this shell, not in $(...): they keep
# ezapi's pid and the header size; each sets took (milliseconds).
big=$(head -c 2000 /dev/zero | tr '\0' a)

start_run() {
    if [ -n "$ez_pid" ]; then
        kill -TERM "$ez_pid"
        wait "$ez_pid" 2>/dev/null || true
    fi
    t0=$(ms)
    "$EZAPI_BIN" -c "$dir/ezapi.conf" 2>>"$dir/ezapi.log" &
    ez_pid=$!
    n=0
    until curl -fs -o /dev/null "$BASE/health/ready"; do
        n=$((n + 1))
        [ "$n" -lt 5000 ] || { echo "never ready" >&2; return 1; }
    done
    took=$(($(ms) - t0))
}

header_size=16384
reload_run() {
    if [ "$header_size" = 16384 ]; then header_size=1024 want=431; else header_size=16384 want=200; fi
    sed -i '/^max_header_size/d' "$dir/ezapi.conf"
    echo "max_header_size = $header_size" >> "$dir/ezapi.conf"
    t0=$(ms)
    kill -HUP "$ez_pid"
    n=0
    until [ "$(curl -s -o /dev/null -w '%{http_code}' -H "X-Pad: $big" "$BASE/health")" = "$want" ]; do
        n=$((n + 1))
        [ "$n" -lt 5000 ] || { echo "the new generation never answered" >&2; return 1; }
    done
    took=$(($(ms) - t0))
}

s_all= r_all=
r=1
while [ "$r" -le "$ROUNDS" ]; do
    l=$(load1); start_run; s=$took
    echo "start run $r/$ROUNDS: $s ms to ready (load $l)"
    sleep 1
    l=$(load1); reload_run; v=$took
    echo "reload run $r/$ROUNDS: $v ms from SIGHUP to the new generation (load $l)"
    sleep 1
    s_all="$s_all $s" r_all="$r_all $v"
    r=$((r + 1))
done
echo "start: median $(echo "$s_all" | median) ms (spread $(echo "$s_all" | spread)); reload: median $(echo "$r_all" | median) ms (spread $(echo "$r_all" | spread))"
