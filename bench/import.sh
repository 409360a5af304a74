#!/bin/sh
# Import of a new-api export with KEYS child keys (default 100,000) through
# `ezapi import`: wall time and peak RSS of the command, against a bare
# COPY of the same number of digest rows into a copy of key_digests,
# interleaved ROUNDS times (each round imports fresh tokens under a fresh
# master, so every round writes KEYS new keys). Then the peak RSS of
# jansson alone parsing a document of the same size, one import of the
# same size over HTTP (POST /admin/import: time and the worker's peak
# RSS), and a check that Redis holds every imported key once the syncer is
# done (KEYS=410000 makes a document of about 50 MB). docs/migrate.md.
. "$(dirname "$0")/common.sh"
KEYS=${KEYS:-100000}
start_services
start_ezapi
psql_ -c "CREATE TABLE digest_copy (LIKE key_digests INCLUDING ALL)" >/dev/null

# The export of round $1: one master, KEYS tokens without sk- (two digests
# each), a multi-key channel and a binding.
make_doc() {
    awk -v n="$KEYS" -v r="$1" 'BEGIN {
        printf "{\"version\":\"1.0.0\",\"source\":{\"type\":\"new-api\"},\"data\":{"
        printf "\"providers\":[{\"name\":\"bench\",\"original_name\":\"bench\",\"type\":\"openai\","
        printf "\"api_key\":\"sk-up-%d\",\"models\":[\"gpt-4o\"],\"primary_group\":\"default\"}],", r
        printf "\"masters\":[{\"name\":\"bench-%d\",\"namespaces\":[\"default\"],\"default_namespace\":\"default\",\"max_child_keys\":0}],", r
        printf "\"bindings\":[{\"namespace\":\"default\",\"route_group\":\"default\",\"model\":\"gpt-4o\"}],"
        printf "\"keys\":["
        for (i = 0; i < n; i++)
            printf "%s{\"master_ref\":\"bench-%d\",\"original_token\":\"r%dtoken%012d\",\"status\":\"active\",\"expires_at\":null,\"unlimited_quota\":true}", (i ? "," : ""), r, r, i
        printf "]}}\n"
    }' > "$dir/export-$1.json"
}

# KEYS digest rows as COPY text (sha256 of distinct strings, key ids of
# their own in each round).
make_rows() {
    psql_ -c "COPY (SELECT encode(sha256(('c$1token' || g)::bytea), 'hex'), g FROM generate_series(($1 - 1) * $KEYS + 1, $1 * $KEYS) g) TO STDOUT" \
        > "$dir/rows-$1.txt"
}

# Waits until the syncer has applied every sync job (the re-projection of
# the keys of the last import), so that it does not weigh on the next run.
wait_outbox_empty() {
    for _ in $(seq 6000); do
        [ "$(psql_ -c 'SELECT count(*) FROM sync_outbox')" = 0 ] && return 0
        sleep 0.1
    done
    echo "sync_outbox never emptied" >&2
}

# The run functions run in subshells: round numbers are kept in files.
echo 0 > "$dir/round"
echo 0 > "$dir/copy_round"
import_once() {
    round=$(($(cat "$dir/round") + 1))
    echo "$round" > "$dir/round"
    make_doc "$round"
    wait_outbox_empty
    start=$(date +%s.%N)
    /usr/bin/time -f %M -o "$dir/rss-$round" "$EZAPI_BIN" import -c "$dir/ezapi.conf" \
        --include-bindings "$dir/export-$round.json" > "$dir/answer-$round.json"
    end=$(date +%s.%N)
    echo "$start $end" | awk '{ printf "%.2f\n", $2 - $1 }'
}
copy_once() {
    copy_round=$(($(cat "$dir/copy_round") + 1))
    echo "$copy_round" > "$dir/copy_round"
    make_rows "$copy_round"
    wait_outbox_empty
    start=$(date +%s.%N)
    psql_ -c "\\copy digest_copy (digest, key_id) FROM '$dir/rows-$copy_round.txt'" >/dev/null
    end=$(date +%s.%N)
    echo "$start $end" | awk '{ printf "%.2f\n", $2 - $1 }'
}

echo "import of $KEYS keys (two digests each), document $(make_doc 0; wc -c < "$dir/export-0.json") bytes"
interleave "import" "ezapi import" "s" import_once "bare COPY of $KEYS digest rows" "s" copy_once
echo "peak RSS of ezapi import (KiB): $(cat "$dir"/rss-* | tr '\n' ' ')"

# What jansson alone takes for the document: the floor of an import that
# parses it whole.
cc -O2 -o "$dir/json_rss" -x c - -ljansson <<'C'
#include <jansson.h>
#include <stdio.h>
#include <sys/resource.h>
int main(int argc, char **argv)
{
    json_t *doc = argc > 1 ? json_load_file(argv[1], 0, NULL) : NULL;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("%ld\n", ru.ru_maxrss);
    json_decref(doc);
    return doc ? 0 : 1;
}
C
echo "peak RSS of jansson alone parsing the document (KiB): $("$dir/json_rss" "$dir/export-0.json")"

# The same size over HTTP; the worker's peak RSS (VmHWM) before and after.
workers_hwm() {
    for p in $(pgrep -P "$ez_pid"); do
        case "$(cat "/proc/$p/cmdline" 2>/dev/null)" in
        *worker*) awk '/^VmHWM/ { print $2 }' "/proc/$p/status" ;;
        esac
    done | sort -n | tail -1
}
round=$(($(cat "$dir/round") + 1))
make_doc "$round"
wait_outbox_empty
before=$(workers_hwm) l=$(load1)
start=$(date +%s.%N)
status=$(curl -s -o "$dir/answer-http.json" -w '%{http_code}' -X POST \
    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    --data-binary "@$dir/export-$round.json" "$BASE/admin/import?include_bindings=true") ||
    status="none (curl exit $?)"
end=$(date +%s.%N)
[ "$status" = 200 ] || grep -v '"access"' "$dir/ezapi.log" | grep -E '"(warn|error)"' | tail -5 >&2
echo "POST /admin/import of $KEYS keys: HTTP $status in $(echo "$start $end" | awk '{ printf "%.2f", $2 - $1 }') s (load $l); worker peak RSS (KiB) $before before, $(workers_hwm) after"

# The data plane's view: every digest of every key in Redis.
wait_outbox_empty
want=$(psql_ -c 'SELECT count(*) FROM key_digests')
for _ in $(seq 600); do
    got=$(redis-cli -p "$redis_port" --scan --pattern 'auth:token:*' | wc -l)
    [ "$got" -ge "$want" ] && break
    sleep 1
done
echo "keys imported: $(psql_ -c 'SELECT count(*) FROM keys'); digests $want, auth:token hashes in Redis $got"
