#!/bin/sh
# Read path: GET /admin/provider-groups/{id} with wrk at a concurrency equal
# to the workers, against pgbench running the equivalent single-row select
# with the same number of clients, in one run. Prints the ratio.
. "$(dirname "$0")/common.sh"
start_services
start_ezapi
id=$(curl -fs -X POST "$BASE/admin/providers/custom" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' \
    -d '{"name":"bench","base_url":"https://upstream.example/v1","api_key":"sk-bench-0000000000","models":["m1","m2","m3"]}' |
    sed 's/.*"group":{"id":\([0-9]*\).*/\1/')
curl -fs "$BASE/admin/provider-groups/$id" -H "Authorization: Bearer $TOKEN" >/dev/null
clients=$WORKERS
cat > "$dir/select.sql" <<SQL
SELECT json_build_object('id', id, 'name', name, 'type', type, 'base_url', base_url,
  'google_project', google_project, 'google_location', google_location, 'models', models,
  'status', status, 'created_at', created_at, 'updated_at', updated_at)
FROM provider_groups WHERE id = $id;
SQL
ez=$(wrk -t2 -c"$clients" -d"${BENCH_SECS}s" -H "Authorization: Bearer $TOKEN" \
    "$BASE/admin/provider-groups/$id" | tee "$dir/wrk.txt" | wrk_rps)
pg=$(pgbench -h 127.0.0.1 -p "$pg_port" -U postgres -n -M extended -c "$clients" -j 2 \
    -T "$BENCH_SECS" -f "$dir/select.sql" ezapi 2>/dev/null | tee "$dir/pgbench.txt" | pgbench_tps)
echo "read: clients=$clients ezapi=${ez} req/s pgbench=${pg} tps ratio=$(ratio "$ez" "$pg")"
grep -E "Non-2xx|Socket errors" "$dir/wrk.txt" || true
