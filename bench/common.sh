# Shared set-up of the benchmarks: a private PostgreSQL and Redis in a
# temporary directory (as the postgres user when run as root), the ezapi
# under test, and teardown on exit. Sourced by bench/*.sh; loopback only.
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
        "-p $pg_port -k $dir -c fsync=off -c synchronous_commit=off -c listen_addresses=127.0.0.1 -c max_connections=200" \
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

# wrk's requests per second from its output on stdin.
wrk_rps() { awk '/^Requests\/sec/ { print $2 }'; }
# pgbench's tps (without connection time) from its output on stdin.
pgbench_tps() { awk '/^tps/ { print $3; exit }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
