#!/bin/sh
# Read path: GET /admin/provider-groups/{id} with wrk at a concurrency equal
# to the workers, against pgbench running the worker's own select with the
# same number of clients, interleaved ROUNDS times each. pgbench uses the
# protocol the workers use: the statement prepared once per connection, the
# id a parameter. Each round also measures GET /health with the same
# clients: the HTTP layer alone. On a machine whose cores the load
# generator, the workers and PostgreSQL share, the costs of the HTTP layer
# and of PostgreSQL add up, so the honest limit is the combined one,
# 1 / (1/health + 1/pgbench); both ratios are printed. Each run also
# prints the share of the CPUs left idle during it and, for the HTTP runs,
# the requests each worker answered in it. CLIENTS (default: the number
# of workers) sets the concurrency of all three; idle CPUs poll before
# they halt (common.sh, idle_poll; IDLE_POLL_NS=keep leaves them be).
. "$(dirname "$0")/common.sh"
idle_poll read
start_services
start_ezapi
id=$(curl -fs -X POST "$BASE/admin/providers/custom" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' \
    -d '{"name":"bench","base_url":"https://upstream.example/v1","api_key":"sk-bench-0000000000","models":["m1","m2","m3"]}' |
    sed 's/.*"group":{"id":\([0-9]*\).*/\1/')
curl -fs "$BASE/admin/provider-groups/$id" -H "Authorization: Bearer $TOKEN" >/dev/null
clients=${CLIENTS:-$WORKERS}
# ez_store_group_get()'s statement; pgbench would read ":MI" as a variable, so
# the colons of the time format are spelled chr(58).
ts() { echo "to_char(g.$1 AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24' || chr(58) || 'MI' || chr(58) || 'SS\"Z\"')"; }
cat > "$dir/select.sql" <<SQL
\\set id $id
SELECT json_build_object('id', g.id, 'name', g.name, 'type', g.type, 'base_url', g.base_url,
  'google_project', g.google_project, 'google_location', g.google_location,
  'models', to_json(g.models), 'status', g.status, 'created_at', $(ts created_at),
  'updated_at', $(ts updated_at))
FROM provider_groups g WHERE g.id = :id;
SQL

# A keep-alive connection stays on the worker that accepted it: how many
# requests of a route each worker has answered ("worker-0=N worker-1=M").
per_worker() {
    curl -s "$BASE/metrics" | grep "^ezapi_http_requests_total{.*route=\"$1\"" |
        sed 's/.*process="\([^"]*\)".* \([0-9]*\)$/\1 \2/' |
        awk '{ n[$1] += $2 } END { for (p in n) printf "%s=%d\n", p, n[p] }' | sort | tr '\n' ' '
}
# What per_worker gained since BEFORE, one of its earlier outputs.
per_worker_since() {
    echo "$1 | $(per_worker "$2")" | tr ' ' '\n' | awk -F= '
        $0 == "|" { after = 1; next }
        NF == 2 { if (after) { d[$1] = $2 - v[$1]; k[$1] } else v[$1] = $2 }
        END { for (p in k) printf "%s=%d ", p, d[p] }'
}
# The share of the CPUs' time left idle since TICKS, an earlier cpu_ticks:
# a round that falls while the CPUs sit idle is the scheduling of the
# processes a request passes through, not a lack of CPU (bench/RESULTS.md,
# "Read: why rounds fall").
cpu_ticks() { awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat; }
idle_since() { echo "$1 $(cpu_ticks)" | awk '{ printf "%.0f%%", 100 * ($3 - $1) / ($4 - $2) }'; }
ezapi_run() {
    wrk -t2 -c"$clients" -d"${BENCH_SECS}s" -H "Authorization: Bearer $TOKEN" \
        "$BASE/admin/provider-groups/$id" | tee "$dir/wrk.txt" | wrk_rps
    grep -E "Non-2xx|Socket errors" "$dir/wrk.txt" >&2 || true
}
pgbench_run() {
    pgbench -h 127.0.0.1 -p "$pg_port" -U postgres -n -M prepared -c "$clients" -j 2 \
        -T "$BENCH_SECS" -f "$dir/select.sql" ezapi 2>/dev/null | pgbench_tps
}
health_run() {
    wrk -t2 -c"$clients" -d"${BENCH_SECS}s" "$BASE/health" | wrk_rps
}
route='/admin/provider-groups/{id}'
ez_all= pg_all= h_all=
r=1
while [ "$r" -le "$ROUNDS" ]; do
    l=$(load1) t=$(cpu_ticks) w=$(per_worker "$route"); ez=$(ezapi_run)
    echo "read run $r/$ROUNDS: ezapi $ez req/s (load $l, CPUs idle $(idle_since "$t"), per worker $(per_worker_since "$w" "$route"))"
    l=$(load1) t=$(cpu_ticks); pg=$(pgbench_run)
    echo "read run $r/$ROUNDS: pgbench $pg tps (load $l, CPUs idle $(idle_since "$t"))"
    l=$(load1) t=$(cpu_ticks) w=$(per_worker /health); h=$(health_run)
    echo "read run $r/$ROUNDS: GET /health $h req/s (load $l, CPUs idle $(idle_since "$t"), per worker $(per_worker_since "$w" /health))"
    ez_all="$ez_all $ez" pg_all="$pg_all $pg" h_all="$h_all $h"
    r=$((r + 1))
done
ez=$(echo "$ez_all" | median) pg=$(echo "$pg_all" | median) h=$(echo "$h_all" | median)
combined=$(awk -v h="$h" -v p="$pg" 'BEGIN { printf "%.0f", 1 / (1 / h + 1 / p) }')
echo "read: medians ezapi $ez req/s (spread $(echo "$ez_all" | spread)), pgbench $pg tps ($(echo "$pg_all" | spread)), GET /health $h req/s ($(echo "$h_all" | spread))"
echo "read: ratio to pgbench $(ratio "$ez" "$pg"); combined limit 1/(1/health + 1/pgbench) = $combined req/s, ratio to it $(ratio "$ez" "$combined")"
echo "read: requests per worker, all rounds: $(per_worker "$route")"
