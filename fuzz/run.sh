#!/bin/sh
# Builds the libFuzzer targets in fuzz/ with clang (ASan + UBSan) and runs
# each for a number of seconds on a seed corpus it generates. Writes nothing
# into the source tree: everything goes under $EZ_FUZZ_DIR.
#
# usage: fuzz/run.sh [SECONDS] [TARGET...]   (default: 60 s, every target)
# env:   EZ_FUZZ_DIR (default ${TMPDIR:-/tmp}/ezapi-fuzz), CLANG (default
#        clang, else clang-14), EZ_FUZZ_FLAGS (extra libFuzzer options)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
work=${EZ_FUZZ_DIR:-${TMPDIR:-/tmp}/ezapi-fuzz}
ALL_TARGETS="frame config body"

# A target NAME is fuzz/fuzz_NAME.c plus the tree's sources it exercises
# and the pkg-config modules they need. To add one, add a line to each.
target_sources() {
    case $1 in
    frame) echo "proto/frame.c" ;;
    config) echo "common/config.c common/redis_url.c common/tls_ctx.c" ;;
    body) echo "worker/body.c" ;;
    *) return 1 ;;
    esac
}

target_pkgs() {
    case $1 in
    frame) echo "msgpack" ;;
    body) echo "jansson" ;;
    config) echo "libpq libssl libcrypto" ;;
    *) echo "" ;;
    esac
}

pick_clang() {
    for c in ${CLANG:-} clang clang-14; do
        if command -v "$c" >/dev/null 2>&1; then
            echo "$c"
            return 0
        fi
    done
    echo "fuzz/run.sh: clang not found (apt-get install clang-14)" >&2
    return 1
}

# The libFuzzer runtime is not in the clang-14 package itself.
check_libfuzzer() {
    probe=$work/probe
    mkdir -p "$probe"
    printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
        'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
        'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
        > "$probe/probe.c"
    if ! "$CC" -fsanitize=fuzzer "$probe/probe.c" -o "$probe/probe" 2>"$probe/err"; then
        cat "$probe/err" >&2
        echo "fuzz/run.sh: $CC cannot link libFuzzer; install libclang-rt-14-dev" >&2
        return 1
    fi
}

build_target() {
    name=$1
    srcs=$(target_sources "$name") || { echo "fuzz/run.sh: unknown target '$name'" >&2; return 2; }
    pkgs=$(target_pkgs "$name")
    flags=""
    if [ -n "$pkgs" ]; then
        # shellcheck disable=SC2086
        flags=$(pkg-config --cflags --libs $pkgs)
    fi
    dir=$work/$name
    mkdir -p "$dir/corpus" "$dir/seeds"
    set -- "$top/fuzz/fuzz_$name.c"
    for s in $srcs; do
        set -- "$@" "$top/$s"
    done
    common="-std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -I$top -I$top/common"
    # shellcheck disable=SC2086
    "$CC" $common -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
        "$@" $flags -o "$dir/fuzz_$name"
    # The same file with EZ_FUZZ_SEED_MAIN writes the target's seed inputs.
    # shellcheck disable=SC2086
    "$CC" $common -DEZ_FUZZ_SEED_MAIN "$@" $flags -o "$dir/make_seeds"
    "$dir/make_seeds" "$dir/seeds"
}

run_target() {
    name=$1
    secs=$2
    dir=$work/$name
    echo "== fuzz_$name for ${secs}s (corpus $dir/corpus)"
    # shellcheck disable=SC2086
    if ! "$dir/fuzz_$name" -max_total_time="$secs" -max_len=8192 -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$dir/" \
        ${EZ_FUZZ_FLAGS:-} "$dir/corpus" "$dir/seeds"; then
        echo "== fuzz_$name FAILED: reproducer in $dir/ (crash-*, leak-*, timeout-*)" >&2
        return 1
    fi
    echo "== fuzz_$name passed"
}

secs=60
if [ $# -gt 0 ]; then
    case $1 in
    '' | *[!0-9]*) ;;
    *) secs=$1; shift ;;
    esac
fi
[ $# -gt 0 ] || set -- $ALL_TARGETS

CC=$(pick_clang)
mkdir -p "$work"
check_libfuzzer
status=0
for t in "$@"; do
    build_target "$t"
    run_target "$t" "$secs" || status=1
done
exit $status
