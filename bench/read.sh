#!/bin/sh
# Read path: GET /admin/provider-groups/{id} with wrk at a concurrency equal
# to the workers, against pgbench running the worker's own select with the
# same number of clients, in one run. pgbench uses the protocol the workers
# use: the statement prepared once per connection, the id a parameter.
# Prints the ratio (and, for reference, the ratio to the same select
# unprepared, parsed and planned on every execution).
. "$(dirname "$0")/common.sh"
start_services
start_ezapi
id=$(curl -fs -X POST "$BASE/admin/providers/custom" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' \
    -d '{"name":"bench","base_url":"https://upstream.example/v1","api_key":"sk-bench-0000000000","models":["m1","m2","m3"]}' |
    sed 's/.*"group":{"id":\([0-9]*\).*/\1/')
curl -fs "$BASE/admin/provider-groups/$id" -H "Authorization: Bearer $TOKEN" >/dev/null
clients=$WORKERS
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
ez=$(wrk -t2 -c"$clients" -d"${BENCH_SECS}s" -H "Authorization: Bearer $TOKEN" \
    "$BASE/admin/provider-groups/$id" | tee "$dir/wrk.txt" | wrk_rps)
pg=$(pgbench -h 127.0.0.1 -p "$pg_port" -U postgres -n -M prepared -c "$clients" -j 2 \
    -T "$BENCH_SECS" -f "$dir/select.sql" ezapi 2>/dev/null | tee "$dir/pgbench.txt" | pgbench_tps)
echo "read: clients=$clients ezapi=${ez} req/s pgbench=${pg} tps ratio=$(ratio "$ez" "$pg")"
grep -E "Non-2xx|Socket errors" "$dir/wrk.txt" || true
# A keep-alive connection stays on the worker that accepted it, and which
# worker accepts is the kernel's race: with as many connections as
# workers, both may land on one. Show how the requests were spread.
spread() {
    curl -s "$BASE/metrics" | grep "^ezapi_http_requests_total{.*route=\"$1\"" |
        sed 's/.*process="\([^"]*\)".* \([0-9]*\)$/\1 \2/' |
        awk '{ n[$1] += $2 } END { for (p in n) printf "%s=%d ", p, n[p]; print "" }'
}
echo "read: requests per worker: $(spread '/admin/provider-groups/{id}')"
# The HTTP layer alone (no PostgreSQL): what the same clients get from
# GET /health is the most any endpoint can reach on this machine.
hz=$(wrk -t2 -c"$clients" -d"${BENCH_SECS}s" "$BASE/health" | wrk_rps)
echo "read (reference): ezapi GET /health=${hz} req/s ($(spread /health))"
# For reference: the same select unprepared (parsed on every execution).
pgx=$(pgbench -h 127.0.0.1 -p "$pg_port" -U postgres -n -M extended -c "$clients" -j 2 \
    -T "$BENCH_SECS" -f "$dir/select.sql" ezapi 2>/dev/null | pgbench_tps)
echo "read (reference): pgbench unprepared=${pgx} tps ratio=$(ratio "$ez" "$pgx")"
