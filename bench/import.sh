#!/bin/sh
# Import of a new-api export with KEYS child keys (default 100,000) through
# `ezapi import`: wall time and peak RSS of the command, against a bare
# COPY of the same number of digest rows into a copy of key_digests,
# interleaved ROUNDS times (each round imports fresh tokens under a fresh
# master, so every round writes KEYS new keys). docs/migrate.md.
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

# KEYS digest rows as COPY text (sha256 of distinct strings, distinct key ids).
make_rows() {
    psql_ -c "COPY (SELECT encode(sha256(('c$1token' || g)::bytea), 'hex'), g FROM generate_series(1, $KEYS) g) TO STDOUT" \
        > "$dir/rows-$1.txt"
}

# The run functions run in subshells: round numbers are kept in files.
echo 0 > "$dir/round"
echo 0 > "$dir/copy_round"
import_once() {
    round=$(($(cat "$dir/round") + 1))
    echo "$round" > "$dir/round"
    make_doc "$round"
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
    start=$(date +%s.%N)
    psql_ -c "\\copy digest_copy (digest, key_id) FROM '$dir/rows-$copy_round.txt'" >/dev/null
    end=$(date +%s.%N)
    echo "$start $end" | awk '{ printf "%.2f\n", $2 - $1 }'
}

echo "import of $KEYS keys (two digests each), document $(make_doc 0; wc -c < "$dir/export-0.json") bytes"
interleave "import" "ezapi import" "s" import_once "bare COPY of $KEYS digest rows" "s" copy_once
echo "peak RSS of ezapi import (KiB): $(cat "$dir"/rss-* | tr '\n' ' ')"
echo "keys imported: $(psql_ -c 'SELECT count(*) FROM keys')"
