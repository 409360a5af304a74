#!/bin/sh
# Where POST /v1/tokens spends its time. Each round measures, one after the
# other with the same clients (clients = workers) and the load average
# before each:
#   issue       POST /v1/tokens, everything (write.sh's ezapi side)
#   paused      the same with the syncer and the logger stopped (SIGSTOP):
#               the jobs are still queued, nobody consumes them
#   http        GET /health: the HTTP layer alone
#   auth        POST /v1/tokens with a body the handler refuses (400):
#               HTTP, the master key's SHA-256 and its lookup, no write
#   sql         pgbench running ezapi's own statements, taken from
#               PostgreSQL's log of one issue (the master-key lookup, then
#               BEGIN + txid_current() + the master's lock in one pipeline,
#               then the insert and its COMMIT in another), as ezapi sends
#               them
#   pgbench     the reference transaction of write.sh (BEGIN, lock, insert,
#               COMMIT: four round trips)
# ROUNDS rounds (default 3); then the median of each, its spread, and what
# a request costs (1/rate, microseconds with the two clients in parallel)
# in each configuration.
. "$(dirname "$0")/common.sh"
start_services
start_ezapi
issue_setup
mkey=$MKEY
clients=$WORKERS

# ezapi's statements of one issue, from PostgreSQL's log, with their
# parameters written in as literals (the key digest, unique, drawn at
# random as in write.sh's transaction).
psql_ -c "ALTER SYSTEM SET log_min_duration_statement = 0" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
mark=$(wc -l < "$dir/pg.log")
curl -fs -o /dev/null -X POST "$BASE/v1/tokens" -H "Authorization: Bearer $mkey" \
    -H 'Content-Type: application/json' -d '{"name":"bench"}'
curl -fs -o /dev/null -X POST "$BASE/v1/tokens" -H "Authorization: Bearer $mkey" \
    -H 'Content-Type: application/json' -d '{"name":"bench"}'
psql_ -c "ALTER SYSTEM RESET log_min_duration_statement" -c "SELECT pg_reload_conf()" >/dev/null
# The second issue's statements (the first one also prepared them): the
# execute lines of the worker's connection, from the master-key lookup on.
tail -n +"$((mark + 1))" "$dir/pg.log" | perl -e '
    my (@stmts, %last);
    while (<STDIN>) {
        my ($pid) = /\[(\d+)\]/ or next;
        if (/ execute [^:]*: (.*)$/) { push @stmts, [$1, "", $pid]; $last{$pid} = $#stmts; next }
        if (/DETAIL:\s+parameters: (.*)$/ && exists $last{$pid}) { $stmts[$last{$pid}][1] = $1 }
    }
    # keep the last issue: the statements of the worker backend from its last
    # master-key lookup on
    my ($start, $worker) = (0, 0);
    for my $i (0 .. $#stmts) {
        ($start, $worker) = ($i, $stmts[$i][2]) if $stmts[$i][0] =~ /WHERE key_digest = \$1/;
    }
    my @mine = grep { $_->[2] == $worker && $_->[0] !~ /^(BEGIN|COMMIT|SELECT txid_current\(\))$/ }
               @stmts[$start .. $#stmts];
    my @out;
    for my $s (@mine) {
        my ($sql, $params) = @$s;
        my %v;
        while ($params =~ /\$(\d+) = (NULL|\x27(?:[^\x27]|\x27\x27)*\x27)/g) { $v{$1} = $2 }
        if ($sql =~ /INSERT INTO key_digests/) {
            # the digest must be unique: drawn at random, as in write.sh
            for my $k (keys %v) { $v{$k} = "md5(random()::text) || md5(random()::text)"
                                  if $v{$k} =~ /^\x27[0-9a-f]{64}\x27$/ }
        }
        $sql =~ s/\$(\d+)/exists $v{$1} ? $v{$1} : "\$$1"/ge;
        # pgbench would read ":MI" as a variable
        $sql =~ s/:(MI|SS)/\x27 || chr(58) || \x27$1/g;
        push @out, $sql;
    }
    die "expected 3 statements (lookup, lock, insert), found " . scalar(@out) . "\n"
        unless @out == 3;
    print "$out[0];\n\\startpipeline\nBEGIN;\nSELECT txid_current();\n$out[1];\n\\endpipeline\n";
    print "\\startpipeline\n$out[2];\nCOMMIT;\n\\endpipeline\n";
' > "$dir/ezapi.sql"
echo "breakdown: ezapi's statements of one issue (start of each line):"
cut -c1-110 "$dir/ezapi.sql" | sed 's/^/  /'

issue_lua "$dir/refused.lua" '{"no_such_field":1}'
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$BASE/v1/tokens" \
    -H "Authorization: Bearer $mkey" -H 'Content-Type: application/json' -d '{"no_such_field":1}')
[ "$code" = 400 ] || { echo "the refused body got $code, not 400" >&2; exit 1; }

# The syncer's and the logger's pids: the supervisor's children so titled.
role_pid() {
    for p in $(pgrep -P "$ez_pid"); do
        if tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q "^ezapi: $1"; then echo "$p"; fi
    done
}
consumers="$(role_pid syncer) $(role_pid logger)"
resume() { for p in $consumers; do kill -CONT "$p" 2>/dev/null || true; done; }
trap 'resume; cleanup' EXIT INT TERM

wrk_run() { # lua-or-empty url
    if [ -n "$1" ]; then
        wrk -t2 -c"$clients" -d"${BENCH_SECS}s" -s "$1" "$2"
    else
        wrk -t2 -c"$clients" -d"${BENCH_SECS}s" "$2"
    fi | wrk_rps
}
issue_run() { wait_queues_empty; wrk_run "$dir/issue.lua" "$BASE/v1/tokens"; }
paused_run() {
    wait_queues_empty
    for p in $consumers; do kill -STOP "$p"; done
    wrk_run "$dir/issue.lua" "$BASE/v1/tokens"
    resume
}
http_run() { wrk_run "" "$BASE/health"; }
auth_run() { wrk_run "$dir/refused.lua" "$BASE/v1/tokens"; }
pg_run() {
    wait_queues_empty
    pgbench -h 127.0.0.1 -p "$pg_port" -U postgres -n -M prepared -c "$clients" -j 2 \
        -T "$BENCH_SECS" -f "$1" ezapi 2>/dev/null | pgbench_tps
}
sql_run() { pg_run "$dir/ezapi.sql"; }
ref_run() { pg_run "$dir/insert.sql"; }

names="issue paused http auth sql pgbench"
all_issue= all_paused= all_http= all_auth= all_sql= all_pgbench=
fn_issue=issue_run fn_paused=paused_run fn_http=http_run fn_auth=auth_run fn_sql=sql_run
fn_pgbench=ref_run
r=1
while [ "$r" -le "$ROUNDS" ]; do
    for n in $names; do
        l=$(load1)
        fn=$(eval echo "\$fn_$n")
        v=$($fn)
        echo "breakdown run $r/$ROUNDS: $n $v per second (load $l)"
        eval "all_$n=\"\$all_$n $v\""
    done
    r=$((r + 1))
done
echo "breakdown: medians (spread), and a request's cost 1e6/rate in microseconds:"
for n in $names; do
    eval "a=\$all_$n"
    m=$(echo "$a" | median)
    eval "med_$n=$m"
    printf '  %-8s %10s /s (%s)  %8.1f us\n' "$n" "$m" "$(echo "$a" | spread)" \
        "$(awk -v m="$m" 'BEGIN { print 1e6 / m }')"
done
us() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", 1e6 / a - 1e6 / b }'; }
echo "breakdown: syncer + logger competing for the cores: $(us "$med_issue" "$med_paused") us a request"
echo "breakdown: ezapi's SQL over the reference transaction: $(us "$med_sql" "$med_pgbench") us"
echo "breakdown: the rest of a paused issue (HTTP, auth, JSON, queueing) beyond its SQL: $(us "$med_paused" "$med_sql") us; of it HTTP alone $(awk -v a="$med_http" 'BEGIN { printf "%.1f", 1e6 / a }') us, HTTP + master-key auth $(awk -v a="$med_auth" 'BEGIN { printf "%.1f", 1e6 / a }') us"
echo "breakdown: ratio issue/pgbench $(ratio "$med_issue" "$med_pgbench"), paused/pgbench $(ratio "$med_paused" "$med_pgbench"), sql/pgbench $(ratio "$med_sql" "$med_pgbench")"
