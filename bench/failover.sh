#!/bin/sh
# Failover times on real engines: runs the failover suites ROUNDS times
# (default 3) and prints each run's figure and the median. Redis Sentinel:
# the time from the SIGKILL of the master to the first change (acknowledged
# after the kill) seen on the promoted replica, from tests/check_sentinel
# (one master, one replica, three Sentinels, down-after-milliseconds 1000).
# Build the suites first: make check TESTS= (or make tests/check_sentinel).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-3}
export EZAPI_BIN=${EZAPI_BIN:-$top/ezapi}
export EZAPI_SRCDIR=${EZAPI_SRCDIR:-$top}
export CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-240}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

[ -x "$top/tests/check_sentinel" ] || make -C "$top" tests/check_sentinel >/dev/null
runs=$(mktemp)
trap 'rm -f "$runs"' EXIT INT TERM
for i in $(seq "$ROUNDS"); do
    printf 'round %s (load %s): ' "$i" "$(cut -d' ' -f1 /proc/loadavg)"
    line=$("$top/tests/check_sentinel" 2>/dev/null | grep 'sentinel failover:' || true)
    ms=$(printf '%s\n' "$line" | sed -n 's/.*new master: \([0-9]*\) ms.*/\1/p')
    [ -n "$ms" ] || { echo "failed (run tests/check_sentinel for the reason)"; exit 1; }
    echo "$line"
    echo "$ms" >>"$runs"
done
printf 'Redis Sentinel, kill to first change on the new master: median %s ms (%s-%s ms, %s runs)\n' \
    "$(median <"$runs")" "$(sort -n "$runs" | head -1)" "$(sort -n "$runs" | tail -1)" "$ROUNDS"
