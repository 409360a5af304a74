#!/bin/bash
# Runs the shell examples of one Markdown document against a running ezapi,
# as a reader would, in order, in one shell: tests/check_docs.c starts the
# server on a fresh database and calls this once per document.
#
# usage: tests/doc_examples.sh FILE.md   (URL, TOKEN and CONF set; the
#        directory of the ezapi binary first in PATH)
#
# Every ```sh block runs, with `set -euo pipefail`, unless the line before
# its fence (blank lines aside) is
#   <!-- example: setup -->   the block defining URL, TOKEN, CONF for a
#                             reader (the test defines them itself)
#   <!-- example: skip WHY --> not runnable here (WHY says why); a skipped
#                             block may not hold a curl command
# curl is a function here: it fails on an answer other than 2xx, unless the
# command's last line ends with a comment "# -> NNN ...", which makes NNN
# the only status accepted. Prints "doc-examples: N commands" at the end.
set -eu

file=$1
: "${URL:?}" "${TOKEN:?}" "${CONF:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
script=$work/examples.sh

awk -v file="$file" '
# Follows quotes across lines: a command ends at a line outside any quote
# that does not end with a backslash.
function scan(line,   i, c) {
    for (i = 1; i <= length(line); i++) {
        c = substr(line, i, 1)
        if (sq) { if (c == "\047") sq = 0; continue }
        if (c == "\\") { i++; continue }
        if (c == "\"") { dq = !dq; continue }
        if (!dq && c == "\047") sq = 1
        else if (!dq && c == "#" && (i == 1 || substr(line, i - 1, 1) ~ /[ \t]/)) break
    }
}
function fail(msg) { printf "doc-examples: %s:%d: %s\n", file, NR, msg > "/dev/stderr"; bad = 1; exit 1 }
function flush(   n, i, status, first) {
    if (ncmd == 0) return
    status = ""
    if (match(cmd[ncmd], /#[ \t]*->[ \t]*[0-9][0-9][0-9]/)) {
        status = substr(cmd[ncmd], RSTART, RLENGTH)
        sub(/^#[ \t]*->[ \t]*/, "", status)
    }
    first = cmd[1]
    if (status != "") {
        if (!sub(/curl /, "EXPECT=" status " curl ", first))
            fail("a \"# -> " status "\" comment on a command that is not curl")
    }
    printf "DOC_LINE=%d\n", cmdline
    print first
    for (i = 2; i <= ncmd; i++) print cmd[i]
    commands++
    ncmd = 0
}
/^<!-- example: / && !inblock {
    mark = $3
    if (mark != "setup" && mark != "skip") fail("unknown mark " mark)
    if (mark == "skip" && NF < 5) fail("a skip mark must say why")
    next
}
/^```sh[ \t]*$/ && !inblock { inblock = 1; run = (mark == ""); mark = ""; next }
/^```/ && inblock { flush(); inblock = 0; next }
inblock && !run { if ($0 ~ /(^|[ ;|(])curl /) fail("a block holding curl must run"); next }
inblock {
    if (ncmd == 0) {
        if ($0 ~ /^[ \t]*(#.*)?$/) { print; next }
        cmdline = NR
    }
    cmd[++ncmd] = $0
    scan($0)
    if (!sq && !dq && $0 !~ /\\$/) flush()
    next
}
!inblock && $0 !~ /^[ \t]*$/ { mark = "" }
END { if (!bad) printf "echo \"doc-examples: %d commands\"\n", commands }
' "$file" >"$script"

cd "$work"
bash -c '
set -euo pipefail
curl() {
    local out code
    out=$(mktemp)
    if ! code=$(command curl -sS -o "$out" -w "%{http_code}" "$@"); then
        cat "$out"; rm -f "$out"
        echo "doc-examples: curl failed (line $DOC_LINE)" >&2
        return 1
    fi
    cat "$out"; echo; rm -f "$out"
    if [ -n "${EXPECT:-}" ]; then
        [ "$code" = "$EXPECT" ] && return 0
        echo "doc-examples: HTTP $code, the example says $EXPECT (line $DOC_LINE)" >&2
        return 1
    fi
    case $code in 2??) return 0 ;; esac
    echo "doc-examples: HTTP $code (line $DOC_LINE)" >&2
    return 1
}
trap '\''echo "doc-examples: '"$file"': the command of line $DOC_LINE failed" >&2'\'' ERR
DOC_LINE=0
. "$1"
' doc-examples "$script"
