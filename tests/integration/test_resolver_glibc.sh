#!/usr/bin/env bash
# Real stub resolvers against duet-resolver on port 53: glibc (getent hosts / ahosts) and
# kdig, in a network namespace this test makes, whose /etc/netns/NS/resolv.conf points at
# the resolver. The lab DNS hierarchy runs inside the same namespace, so everything stays
# on that namespace's loopback. Exit 77 (skip) without root or netns support.
set -euo pipefail
SRC=${DUET_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${DUET_BUILD:-$SRC/build}

if [ "${1:-}" != "--inside" ]; then
    [ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (network namespace, port 53)"; exit 77; }
    ns="duet-glibc-$$"
    ip netns add "$ns" 2>/dev/null || { echo "SKIP: cannot create a network namespace"; exit 77; }
    mkdir -p "/etc/netns/$ns"
    echo "nameserver 127.0.0.1" > "/etc/netns/$ns/resolv.conf"
    echo "options timeout:5 attempts:1" >> "/etc/netns/$ns/resolv.conf"
    trap 'ip netns del "$ns" 2>/dev/null || true; rm -rf "/etc/netns/$ns"' EXIT
    ip netns exec "$ns" bash "$0" --inside
    exit $?
fi

ip link set lo up
work=$(mktemp -d /tmp/duet-glibc.XXXXXX)
pid=
cleanup() {
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    bash "$SRC/tests/lab/lab.sh" stop "$work/lab" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
fail=0
pass=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

bash "$SRC/tests/lab/lab.sh" start "$work/lab" >/dev/null
cat > "$work/r.conf" <<EOF
listen = 127.0.0.1:53
listen = [::1]:53
workers = 2
root-hints = $work/lab/root.hints
query-loopback = yes
[local-zone local.test]
data = www.local.test. 60 IN A 10.20.30.40
EOF
"$BUILD/resolver/duet-resolver" -c "$work/r.conf" 2> "$work/r.log" &
pid=$!
# Ready when it answers (the lab's NSDs listen on port 53 too, so a port probe is not enough).
for _ in $(seq 200); do
    [ "$(dig +short +tries=1 +time=1 @127.0.0.1 www.local.test A 2>/dev/null)" = 10.20.30.40 ] && break
    sleep 0.05
done

out=$(getent hosts www.site1.test || true)
[[ "$out" == *"www.site1.test"* ]] && ok "getent hosts www.site1.test: $out" || bad "getent hosts: '$out'"
# (getent ahosts* use AI_ADDRCONFIG, which finds no usable address in a loopback-only
# namespace and never asks DNS; gethostbyname2 through `getent hosts` does.)
out=$(getent hosts www.corp.example || true)
[[ "$out" == *"www.corp.example"* ]] && ok "getent hosts through a cross-zone CNAME: $out" || bad "cross-zone: '$out'"
out=$(getent hosts www.local.test || true)
[[ "$out" == 10.20.30.40* ]] && ok "getent hosts local data: $out" || bad "local data: '$out'"
if getent hosts nonexistent.site1.test >/dev/null; then bad "NXDOMAIN name resolved"; else ok "getent fails for an NXDOMAIN name"; fi
out=$(kdig +short @127.0.0.1 x.noglue.example A 2>&1 || true)
[[ "$out" == 127.0.0.5 ]] && ok "kdig glueless: $out" || bad "kdig: '$out'"
out=$(kdig +short +tcp @::1 www.site1.test AAAA 2>&1 || true)
[[ "$out" == ::1 ]] && ok "kdig over TCP on [::1]:53: $out" || bad "kdig tcp v6: '$out'"

kill -TERM "$pid" 2>/dev/null || { bad "resolver died early"; cat "$work/r.log"; }
rc=0
wait "$pid" || rc=$?
pid=
[ "$rc" -eq 0 ] && ok "resolver stopped cleanly" || bad "resolver exit $rc"
if grep -qE 'AddressSanitizer|runtime error|LeakSanitizer|ThreadSanitizer' "$work/r.log"; then bad "sanitizer report"; cat "$work/r.log"; fi
# As harness.py's check at every stop: no error-level line, no handle left at shutdown.
errs=$(grep -E '^level=error |event=(worker_handle_left|worker_loop_close|main_loop_close) ' "$work/r.log" || true)
[ -z "$errs" ] && ok "no error-level or unclean-shutdown line" || bad "resolver logged: $errs"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
