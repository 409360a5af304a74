#!/bin/sh
# Failover times on real engines, from the failover suites run ROUNDS times
# (default 3): each run's figure and the median. Never asserted by the
# suites; recorded in bench/RESULTS.md.
# - Redis Sentinel (tests/check_sentinel): from the SIGKILL of the master to
#   the first change acknowledged after it seen on the promoted replica (one
#   replica, three Sentinels, down-after-milliseconds 1000).
# - PostgreSQL (tests/check_pg_failover): from the immediate stop of the
#   primary to the first write accepted again, the synchronous standby
#   promoted with pg_ctl promote after 20 writes answered 503.
# Build the suites first (make check TESTS= builds them).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-3}
export EZAPI_BIN=${EZAPI_BIN:-$top/ezapi}
export EZAPI_SRCDIR=${EZAPI_SRCDIR:-$top}
export CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-300}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
runs=$(mktemp)
trap 'rm -f "$runs"' EXIT INT TERM

# bench SUITE PATTERN LABEL: PATTERN is the start of the suite's line,
# whose last number before " ms" is the figure.
bench() {
    suite=$1 pattern=$2 label=$3
    [ -x "$top/tests/$suite" ] || make -C "$top" "tests/$suite" >/dev/null
    : >"$runs"
    for i in $(seq "$ROUNDS"); do
        printf '%s round %s (load %s): ' "$suite" "$i" "$(cut -d' ' -f1 /proc/loadavg)"
        line=$("$top/tests/$suite" 2>/dev/null | grep "^$pattern" || true)
        ms=$(printf '%s\n' "$line" | sed -n 's/.*: \([0-9]*\) ms$/\1/p')
        [ -n "$ms" ] || { echo "failed (run tests/$suite for the reason)"; exit 1; }
        echo "$line"
        echo "$ms" >>"$runs"
    done
    printf '%s: median %s ms (%s-%s ms, %s runs)\n' "$label" "$(median <"$runs")" \
        "$(sort -n "$runs" | head -1)" "$(sort -n "$runs" | tail -1)" "$ROUNDS"
}

bench check_sentinel "sentinel failover:" "Redis Sentinel, kill to first change on the new master"
bench check_pg_failover "pg failover:" "PostgreSQL, primary stopped to first write on the promoted standby"
