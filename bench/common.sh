# Shared set-up of the benchmarks: a private PostgreSQL and Redis in a
# temporary directory (as the postgres user when run as root), the ezapi
# under test, and teardown on exit. Sourced by bench/*.sh; loopback only.
# PG_OPTS adds server options (-c name=value ...) for one script.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
EZAPI_BIN=${EZAPI_BIN:-$top/ezapi}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
BENCH_SECS=${BENCH_SECS:-10}
WORKERS=${WORKERS:-$(nproc)}
dir=$(mktemp -d /tmp/ezapi-bench.XXXXXX)
chmod 755 "$dir"
pg_port=$((20000 + $$ % 10000))
redis_port=$((pg_port + 1))
http_port=$((pg_port + 2))
ez_pid=

as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cleanup() {
    [ -n "${idle_poll_was:-}" ] && echo "$idle_poll_was" >"$idle_poll_knob" 2>/dev/null || true
    [ -n "$ez_pid" ] && kill -TERM "$ez_pid" 2>/dev/null && wait "$ez_pid" 2>/dev/null || true
    as_pg "$PGBIN/pg_ctl" -D "$dir/pg" -m immediate stop >/dev/null 2>&1 || true
    redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM

start_services() {
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as_pg "$PGBIN/initdb" -D "$dir/pg" -A trust -U postgres >/dev/null
    as_pg "$PGBIN/pg_ctl" -D "$dir/pg" -l "$dir/pg.log" -w -o \
        "-p $pg_port -k $dir -c fsync=off -c synchronous_commit=off -c listen_addresses=127.0.0.1 -c max_connections=200 ${PG_OPTS:-}" \
        start >/dev/null
    as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres ezapi
    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize yes --dir "$dir" --logfile "$dir/redis.log"
}

psql_() {
    psql -h 127.0.0.1 -p "$pg_port" -U postgres -d ezapi -X -q -A -t "$@"
}

start_ezapi() {
    cat > "$dir/ezapi.conf" <<CONF
listen = 127.0.0.1:$http_port
workers = $WORKERS
pg_dsn = host=127.0.0.1 port=$pg_port dbname=ezapi user=postgres
redis_url = redis://127.0.0.1:$redis_port/0
admin_jwt_secret = bench-admin-secret-0123456789abcdef0123456789
master_jwt_secret = bench-master-secret-0123456789abcdef012345678
log_level = ${LOG_LEVEL:-warn}
${EXTRA_CONF:-}
CONF
    "$EZAPI_BIN" -c "$dir/ezapi.conf" 2>"$dir/ezapi.log" &
    ez_pid=$!
    for _ in $(seq 100); do
        curl -fs "http://127.0.0.1:$http_port/health/ready" >/dev/null 2>&1 && break
        sleep 0.1
    done
    TOKEN=$("$EZAPI_BIN" token admin -c "$dir/ezapi.conf")
    BASE=http://127.0.0.1:$http_port
}

# seed_catalog N: 100 provider groups, N API keys spread over them and a
# binding of model m1 in namespace bench to each group, with SQL.
seed_catalog() {
    psql_ <<SQL
INSERT INTO provider_groups (name, type, base_url, models, status)
  SELECT 'g' || g, 'compatible', 'https://up.example/v1', ARRAY['m1','m2','m3'], 'active'
  FROM generate_series(1, 100) g;
INSERT INTO api_keys (group_id, api_key, weight, status)
  SELECT (SELECT id FROM provider_groups WHERE name = 'g' || (1 + i % 100)),
         'sk-upstream-' || i, 1 + i % 10, 'active'
  FROM generate_series(1, $1) i;
INSERT INTO bindings (namespace, public_model, group_id, weight, selector_type, selector_value, status)
  SELECT 'bench', 'm1', id, 1, 'exact', 'm1', 'active' FROM provider_groups;
SQL
}

# Halt polling of idle CPUs, for scripts whose every request hops between
# several processes (read.sh). A virtual machine may boot with guest halt
# polling off (haltpoll.guest_halt_poll_ns=0 on the kernel command line):
# an idle vCPU then halts at once, and waking a process on it takes tens of
# microseconds. The kernel wakes a process on an idle CPU when there is one,
# so a round can fall into a state where every hop waits for a halted CPU
# (bench/RESULTS.md, "Read: why rounds fall"). idle_poll sets the polling to
# IDLE_POLL_NS (default 200000, the kernel's own default) for the run,
# restores it on exit, and prints what it did; IDLE_POLL_NS=keep leaves the
# machine as it is. Both sides of every ratio run under the same setting.
idle_poll_knob=/sys/module/haltpoll/parameters/guest_halt_poll_ns
idle_poll() {
    want=${IDLE_POLL_NS:-200000}
    if [ ! -r "$idle_poll_knob" ]; then
        echo "$1: no guest halt polling on this machine (no haltpoll cpuidle governor)"
    elif [ "$want" = keep ] || [ "$(cat "$idle_poll_knob")" = "$want" ]; then
        echo "$1: guest halt polling $(cat "$idle_poll_knob") ns, as the machine has it"
    elif [ -w "$idle_poll_knob" ]; then
        idle_poll_was=$(cat "$idle_poll_knob")
        echo "$want" >"$idle_poll_knob"
        echo "$1: guest halt polling $want ns for this run (the machine had $idle_poll_was ns)"
    else
        echo "$1: guest halt polling $(cat "$idle_poll_knob") ns; setting $want needs root"
    fi
}

# ---- Issuing child keys -----------------------------------------------
# An unlimited master (MKEY, MID; the master is unlimited, so ezapi does
# not count its keys either), $dir/issue.lua (wrk's POST /v1/tokens with
# its key) and $dir/insert.sql (pgbench's same transaction: lock the
# master row, insert the key and its digest in one statement).
issue_setup() {
    master=$(curl -fs -X POST "$BASE/admin/masters" -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' -d '{"name":"bench","max_child_keys":0}')
    MKEY=$(echo "$master" | sed 's/.*"master_key":"\([^"]*\)".*/\1/')
    MID=$(echo "$master" | sed 's/.*"id":\([0-9]*\).*/\1/')
    issue_lua "$dir/issue.lua" '{"name":"bench"}'
    cat > "$dir/insert.sql" <<SQL
\\set mid $MID
BEGIN;
SELECT id, epoch, max_child_keys FROM masters WHERE id = :mid FOR UPDATE;
WITH k AS (INSERT INTO keys (master_id, name, group_name, issued_at_epoch, issued_by, key_prefix)
  VALUES (:mid, 'bench', 'default', 1, 'master', 'sk-ez-xxxxxx') RETURNING *)
INSERT INTO key_digests (digest, key_id)
  SELECT md5(random()::text) || md5(random()::text), id FROM k;
COMMIT;
SQL
}

# issue_lua FILE BODY: wrk's POST /v1/tokens with MKEY and BODY.
issue_lua() {
    cat > "$1" <<LUA
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $MKEY"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '$2'
LUA
}

# Four unlimited masters, one per sender of bench/sync_latency (issuance
# is serialised per master): their keys, comma-separated.
latency_masters() {
    lm_keys=""
    for i in 1 2 3 4; do
        k=$(curl -fs -X POST "$BASE/admin/masters" -H "Authorization: Bearer $TOKEN" \
            -H 'Content-Type: application/json' \
            -d "{\"name\":\"lat$i\",\"max_child_keys\":0}" |
            sed 's/.*"master_key":"\([^"]*\)".*/\1/')
        lm_keys="$lm_keys${lm_keys:+,}$k"
    done
    echo "$lm_keys"
}

# ---- Interleaved runs -------------------------------------------------
# A figure is a median over ROUNDS runs (default 3) of ezapi and of its
# limit, run alternately (A B A B A B) so that a machine that gets busier
# or quieter during the benchmark weighs on both sides alike. Every run is
# printed with the load average before it; then the medians, their spread
# (lowest-highest) and the ratio of the medians.
ROUNDS=${ROUNDS:-3}

load1() { cut -d' ' -f1 /proc/loadavg; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
spread() { tr ' ' '\n' | grep . | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "-" hi }'; }

# interleave LABEL NAME_A UNIT_A FN_A NAME_B UNIT_B FN_B
# FN_A and FN_B are shell functions that run one measurement and print one
# number. Sets A_MEDIAN, B_MEDIAN and RATIO (A over B).
interleave() {
    label=$1 an=$2 au=$3 af=$4 bn=$5 bu=$6 bf=$7
    a_all= b_all= per_round=
    r=1
    while [ "$r" -le "$ROUNDS" ]; do
        l=$(load1); a=$($af); echo "$label run $r/$ROUNDS: $an $a $au (load $l)"
        l=$(load1); b=$($bf); echo "$label run $r/$ROUNDS: $bn $b $bu (load $l)"
        a_all="$a_all $a" b_all="$b_all $b" per_round="$per_round $(ratio "$a" "$b")"
        r=$((r + 1))
    done
    A_MEDIAN=$(echo "$a_all" | median) B_MEDIAN=$(echo "$b_all" | median)
    RATIO=$(ratio "$A_MEDIAN" "$B_MEDIAN")
    echo "$label: $an median $A_MEDIAN $au (spread $(echo "$a_all" | spread)), $bn median $B_MEDIAN $bu (spread $(echo "$b_all" | spread)); ratio of medians $RATIO (per round:$per_round)"
}

# Waits (at most 5 minutes) until the syncer's and the logger's queues are
# empty: what one run leaves behind must not be charged to the next.
wait_queues_empty() {
    for _ in $(seq 6000); do
        wq_ready=$(curl -s "$BASE/health/ready")
        wq_s=$(echo "$wq_ready" | sed 's/.*"syncer":{[^}]*"queue_depth":\([0-9]*\).*/\1/')
        wq_l=$(echo "$wq_ready" | sed 's/.*"logger":{[^}]*"queue_depth":\([0-9]*\).*/\1/')
        [ "$wq_s" = 0 ] && [ "$wq_l" = 0 ] && return 0
        sleep 0.05
    done
    echo "queues never emptied" >&2
}

# latency_rounds LABEL MASTER_KEYS RATE: ROUNDS runs of bench/sync_latency
# (BENCH_SECS each, four senders), every run printed with the load before
# it, then the median of each percentile. Sets P99_MEDIAN.
latency_rounds() {
    label=$1 keys=$2 rate=$3
    p50s= p90s= p99s=
    r=1
    while [ "$r" -le "$ROUNDS" ]; do
        wait_queues_empty
        l=$(load1)
        line=$("$LATENCY_BIN" "$http_port" "$redis_port" "$keys" "$rate" \
            "$((BENCH_SECS * rate))" 4 || true)
        echo "$label run $r/$ROUNDS (load $l): $line"
        p50s="$p50s $(echo "$line" | sed -n 's/.*p50=\([0-9.]*\)ms.*/\1/p')"
        p90s="$p90s $(echo "$line" | sed -n 's/.*p90=\([0-9.]*\)ms.*/\1/p')"
        p99s="$p99s $(echo "$line" | sed -n 's/.*p99=\([0-9.]*\)ms.*/\1/p')"
        r=$((r + 1))
    done
    P99_MEDIAN=$(echo "$p99s" | median)
    echo "$label: medians p50 $(echo "$p50s" | median) ms, p90 $(echo "$p90s" | median) ms, p99 $P99_MEDIAN ms (p99 spread $(echo "$p99s" | spread) ms)"
}

# wrk's requests per second from its output on stdin.
wrk_rps() { awk '/^Requests\/sec/ { print $2 }'; }
# pgbench's tps (without connection time) from its output on stdin.
pgbench_tps() { awk '/^tps/ { print $3; exit }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
