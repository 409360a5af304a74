#!/bin/sh
# make install and make uninstall as an operator meets them, into a
# temporary DESTDIR: the files land where configure said, with its paths
# inside; the config is 0640 and never overwritten; uninstall keeps an
# edited config, removes an untouched one, and leaves no empty directory.
set -eu
builddir=$(dirname "${EZAPI_BIN:?run me through make check}")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ezapi-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
D=$tmp/root
fail() { echo "FAIL: $*" >&2; exit 1; }
mk() { make -s --no-print-directory -C "$builddir" "$@" DESTDIR="$D" >"$tmp/make.log" 2>&1 ||
    { cat "$tmp/make.log" >&2; fail "make $*"; }; }

mk install
conf=$(cd "$D" && find . -path '*/ezapi/ezapi.conf' | sed 's|^\.||')
unit=$(cd "$D" && find . -name ezapi.service | sed 's|^\.||')
bin=$(cd "$D" && find . -type f -name ezapi -perm -u+x | sed 's|^\.||')
[ -n "$conf" ] && [ -n "$unit" ] && [ -n "$bin" ] || fail "installed: $(cd "$D" && find . -type f)"
etc=$(dirname "$(dirname "$conf")")
prefix=${bin%/sbin/ezapi}
echo "prefix $prefix, config $conf, unit $unit"

# where systemd looks, with configure's paths inside
case "$unit" in
    "$prefix"/lib/systemd/system/ezapi.service|/lib/systemd/system/ezapi.service|/usr/lib/systemd/system/ezapi.service) ;;
    *) fail "unit installed in $unit" ;;
esac
grep -qx "ExecStart=$bin -c $conf" "$D$unit" || fail "unit: $(grep ExecStart "$D$unit")"
grep -q "/usr/local" "$D$unit" && [ "$prefix" != /usr/local ] && fail "unit names /usr/local"
man5=$(cd "$D" && find . -name ezapi.conf.5 | sed 's|^\.||')
man8=$(cd "$D" && find . -name ezapi.8 | sed 's|^\.||')
grep -qF "$conf" "$D$man5" || fail "ezapi.conf(5) does not name $conf"
grep -qF "$conf" "$D$man8" || fail "ezapi(8) does not name $conf"
[ -f "$D$prefix/lib/sysusers.d/ezapi.conf" ] || [ -f "$D/usr/lib/sysusers.d/ezapi.conf" ] ||
    fail "no sysusers.d/ezapi.conf"

# the config: 0640, the sample beside it, identical
[ "$(stat -c %a "$D$conf")" = 640 ] || fail "config mode $(stat -c %a "$D$conf")"
if [ "$(id -u)" = 0 ] && getent group ezapi >/dev/null; then
    [ "$(stat -c %G "$D$conf")" = ezapi ] || fail "config group $(stat -c %G "$D$conf")"
fi
cmp -s "$D$conf" "$D$conf.sample" || fail "config and sample differ after install"
[ "$(stat -c %a "$D$conf.sample")" = 644 ] || fail "sample mode"

# an edited config survives a reinstall and an uninstall
printf 'secrets_key = 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n' >>"$D$conf"
cp "$D$conf" "$tmp/edited"
mk install
cmp -s "$D$conf" "$tmp/edited" || fail "make install overwrote the edited config"
grep -q "keeping existing" "$tmp/make.log" || fail "make install did not say it kept the config"
mk uninstall
cmp -s "$D$conf" "$tmp/edited" || fail "make uninstall removed or changed the edited config"
grep -q "keeping $D$conf" "$tmp/make.log" || fail "make uninstall did not say it kept the config"
left=$(cd "$D" && find . -type f)
[ "$left" = ".$conf" ] || fail "after uninstall, files left: $left"
empty=$(find "$D$prefix" -mindepth 1 -type d -empty)
[ -z "$empty" ] || fail "empty directories left: $empty"

# an untouched config goes, and every directory with it
rm "$D$conf"
mk install
mk uninstall
left=$(find "$D$prefix" -mindepth 1)
[ -z "$left" ] || fail "left after uninstalling an untouched install: $left"
[ ! -e "$D$etc" ] || [ -n "$(ls -A "$D$etc")" ] || fail "empty $etc left"
echo "install and uninstall: ok"
