#!/bin/bash
# Slowloris: CONNS connections (default 50) each send a request head one
# byte a second and never finish it; with header_timeout = HEADER_TIMEOUT
# (default 10s) every one must get its 408 and be closed once that much
# time has passed since its accept, while GET /health keeps being served.
# Prints when each connection was answered (seconds after the start), how
# many were, and /health's answers meanwhile. bash: it holds the
# connections with /dev/tcp.
. "$(dirname "$0")/common.sh"
CONNS=${CONNS:-50}
HEADER_TIMEOUT=${HEADER_TIMEOUT:-10}
start_services
EXTRA_CONF="header_timeout = ${HEADER_TIMEOUT}s" start_ezapi
echo "slowloris: load $(load1) before the run"
declare -a fds answered
for i in $(seq 0 $((CONNS - 1))); do
    exec {fd}<>"/dev/tcp/127.0.0.1/$http_port"
    fds[$i]=$fd
    answered[$i]=
done
start=$(date +%s%3N)
head="GET /health HTTP/1.1
Host: x
X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
open=$CONNS closed=0 health_ok=0 health_other=0 sec=0
while [ "$open" -gt 0 ] && [ "$sec" -lt $((HEADER_TIMEOUT * 3)) ]; do
    for i in "${!fds[@]}"; do
        [ -n "${answered[$i]}" ] && continue
        fd=${fds[$i]}
        if read -r -t 0.001 -u "$fd" line 2>/dev/null; then
            now=$(($(date +%s%3N) - start))
            # the rest of the answer, then the end of the stream (closed)
            rc=0
            while [ "$rc" = 0 ]; do read -r -t 5 -u "$fd" _ && rc=0 || rc=$?; done
            if [ "$rc" = 1 ]; then closed=$((closed + 1)); fi
            answered[$i]="$now ${line%$'\r'}"
            open=$((open - 1))
            exec {fd}>&-
            continue
        fi
        printf '%s' "${head:$sec:1}" >&"$fd" 2>/dev/null || true
    done
    code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$BASE/health" || true)
    if [ "$code" = 200 ]; then health_ok=$((health_ok + 1)); else health_other=$((health_other + 1)); fi
    sleep 1
    sec=$((sec + 1))
done
first= last= n408=0
for i in "${!fds[@]}"; do
    a=${answered[$i]}
    [ -n "$a" ] || continue
    t=${a%% *}
    case "$a" in *" 408 "*) n408=$((n408 + 1)) ;; esac
    if [ -z "$first" ] || [ "$t" -lt "$first" ]; then first=$t; fi
    if [ -z "$last" ] || [ "$t" -gt "$last" ]; then last=$t; fi
done
echo "slowloris: $CONNS connections trickling one byte a second, header_timeout ${HEADER_TIMEOUT}s: $((CONNS - open)) answered ($n408 with 408), $closed of them closed by ezapi, between ${first:-?} and ${last:-?} ms after the start; $open still open after $sec s; GET /health meanwhile: $health_ok answered 200, $health_other otherwise (load $(load1) at the end)"
