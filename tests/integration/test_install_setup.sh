#!/usr/bin/env bash
# What a package install leaves for the resolver's managed trust anchor, without a container:
# `cmake --install` into a DESTDIR, then duet-setup --root DESTDIR (what the postinst runs,
# with systemd-sysusers/systemd-tmpfiles operating on that root). Checks:
#   - the shipped root key is installed as <datadir>/duet/root.key;
#   - the shipped config names auto-trust-anchor-file = /var/lib/duet/root.key, and the
#     installed duet-resolver accepts that config once the file is there (--check, with the
#     path pointed into the DESTDIR);
#   - /var/lib/duet/root.key is seeded from it: same bytes, owned by duet-resolver (the uid
#     sysusers gave it in DESTDIR/etc/passwd), mode 0644, directory 0750 of the same owner
#     (the resolver rewrites the file by a rename there);
#   - duet-setup again keeps a file the resolver has rewritten, and seeds a deleted one anew.
# Exit 77 (skip) without root (ownership) or without systemd-sysusers/systemd-tmpfiles.
set -euo pipefail
SRC=${DUET_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${DUET_BUILD:-$SRC/build}
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (duet-setup sets owners in the DESTDIR)"
command -v systemd-sysusers >/dev/null || skip "systemd-sysusers missing"
command -v systemd-tmpfiles >/dev/null || skip "systemd-tmpfiles missing"
command -v openssl >/dev/null || skip "openssl missing (duet-setup makes a certificate)"

work=$(mktemp -d /tmp/duet-install.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root
fail=0
pass=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

if ! DESTDIR=$root timeout 120 cmake --install "$BUILD" >"$work/install.log" 2>&1; then
    cat "$work/install.log"
    echo "FAIL cmake --install into a DESTDIR"
    exit 1
fi
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$BUILD/CMakeCache.txt")
datadir=$root$prefix/share/duet
setup=$(find "$root" -path '*/duet/duet-setup' -type f | head -n 1)
conf=$(find "$root" -path '*/duet/duet-resolver.conf' -not -path '*/doc/*' | head -n 1)
resolver=$(find "$root" -name duet-resolver -type f -perm -u+x | head -n 1)
[ -n "$setup" ] && [ -n "$conf" ] && [ -n "$resolver" ] ||
    { echo "FAIL install lacks duet-setup, duet-resolver.conf or duet-resolver"; exit 1; }

cmp -s "$SRC/conf/root.key" "$datadir/root.key" &&
    ok "conf/root.key installed as $prefix/share/duet/root.key" || bad "no $datadir/root.key"
grep -qx 'auto-trust-anchor-file = /var/lib/duet/root.key' "$conf" &&
    ok "installed config: auto-trust-anchor-file = /var/lib/duet/root.key" ||
    bad "installed config does not name /var/lib/duet/root.key"

if ! timeout 60 "$setup" --root "$root" >"$work/setup.log" 2>&1; then
    cat "$work/setup.log"
    bad "duet-setup --root $root"
fi
key=$root/var/lib/duet/root.key
uid=$(awk -F: '$1 == "duet-resolver" { print $3 }' "$root/etc/passwd")
seeded() {
    [ -n "$uid" ] && [ "$(stat -c %u:%a "$root/var/lib/duet")" = "$uid:750" ] &&
        [ "$(stat -c %u:%a "$key")" = "$uid:644" ] && cmp -s "$datadir/root.key" "$key"
}
seeded && ok "duet-setup seeded /var/lib/duet/root.key (uid $uid, 0644, dir 0750)" ||
    bad "seeded anchor: $(stat -c '%u:%a' "$root/var/lib/duet" "$key" 2>&1 | tr '\n' ' ') uid '$uid'"

sed "s|^auto-trust-anchor-file = /var/lib/duet/root.key$|auto-trust-anchor-file = $key|" \
    "$conf" >"$work/resolver.conf"
out=$("$resolver" --check -c "$work/resolver.conf" 2>&1) &&
    ok "installed duet-resolver --check accepts the installed config with the seeded anchor" ||
    bad "--check of the installed config: $out"

{ echo "; rewritten by the resolver" >>"$key"; } 2>/dev/null || bad "cannot append to $key"
timeout 60 "$setup" --root "$root" >>"$work/setup.log" 2>&1 || bad "duet-setup a second time"
tail -n 1 "$key" | grep -q 'rewritten by the resolver' &&
    ok "duet-setup again keeps the resolver's own file" || bad "duet-setup overwrote the anchor"
rm -f "$key"
timeout 60 "$setup" --root "$root" >>"$work/setup.log" 2>&1 || bad "duet-setup a third time"
seeded && ok "duet-setup seeds a deleted anchor anew" || bad "deleted anchor not seeded again"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
