#!/bin/sh
# Builds the libFuzzer targets in fuzz/ with clang (ASan + UBSan) and runs
# each for a number of seconds on a seed corpus it generates. Writes nothing
# into the source tree: everything goes under $EZ_FUZZ_DIR.
#
# usage: fuzz/run.sh [SECONDS] [TARGET...]   (default: 60 s, every target)
# env:   EZ_FUZZ_DIR (default ${TMPDIR:-/tmp}/ezapi-fuzz-<checksum of the tree's path>), CLANG (default
#        clang, else clang-14), EZ_FUZZ_FLAGS (extra libFuzzer options),
#        EZ_FUZZ_JOBS (compile jobs, default 2), FUZZ_SECONDS (as SECONDS)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
# one folder per tree: objects built from another checkout must not be reused
work=${EZ_FUZZ_DIR:-${TMPDIR:-/tmp}/ezapi-fuzz-$(printf %s "$top" | cksum | cut -d" " -f1)}
ALL_TARGETS="frame config body validate path query h1 selector jwt"
# Every library of configure.ac: a target links the tree's code as one
# instrumented archive (fuzz/lib.mk) and takes the objects it reaches.
PKGS="libevent libevent_openssl libpq hiredis msgpack jansson libjwt libcrypto libssl libpcre2-8 yaml-0.1"

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

build_lib() {
    version=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' "$top/configure.ac")
    # shellcheck disable=SC2086
    make -s -j"${EZ_FUZZ_JOBS:-2}" -f "$top/fuzz/lib.mk" TOP="$top" OUT="$work/lib" CC="$CC" \
        VERSION="$version" PKG_CFLAGS="$(pkg-config --cflags $PKGS)"
}

build_target() {
    name=$1
    src=$top/fuzz/fuzz_$name.c
    [ -f "$src" ] || { echo "fuzz/run.sh: unknown target '$name'" >&2; return 2; }
    dir=$work/$name
    mkdir -p "$dir/corpus"
    rm -rf "$dir/seeds"
    mkdir -p "$dir/seeds"
    # shellcheck disable=SC2086
    libs="$work/lib/libezapi-fuzz.a $(pkg-config --libs $PKGS) -lpthread"
    common="-std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror -I$top -iquote $top/common"
    # shellcheck disable=SC2086
    "$CC" $common $(pkg-config --cflags $PKGS) -fsanitize=fuzzer,address,undefined \
        -fno-sanitize-recover=undefined "$src" $libs -o "$dir/fuzz_$name"
    # The same file with EZ_FUZZ_SEED_MAIN writes the target's seed inputs.
    # shellcheck disable=SC2086
    "$CC" $common $(pkg-config --cflags $PKGS) -DEZ_FUZZ_SEED_MAIN \
        -fsanitize=fuzzer-no-link,address,undefined "$src" $libs -o "$dir/make_seeds"
    ASAN_OPTIONS=detect_leaks=0 "$dir/make_seeds" "$dir/seeds"
}

run_target() {
    name=$1
    secs=$2
    dir=$work/$name
    echo "== fuzz_$name for ${secs}s (corpus $dir/corpus)"
    # The committed regression inputs run first, with the seeds.
    # shellcheck disable=SC2086
    if ! "$dir/fuzz_$name" -max_total_time="$secs" -max_len=8192 -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$dir/" \
        ${EZ_FUZZ_FLAGS:-} "$dir/corpus" "$dir/seeds" \
        $( [ -d "$top/fuzz/regressions/$name" ] && echo "$top/fuzz/regressions/$name" ); then
        echo "== fuzz_$name FAILED: reproducer in $dir/ (crash-*, leak-*, timeout-*)" >&2
        return 1
    fi
    echo "== fuzz_$name passed"
}

secs=${FUZZ_SECONDS:-60}
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
build_lib
status=0
for t in "$@"; do
    build_target "$t"
    run_target "$t" "$secs" || status=1
done
exit $status
