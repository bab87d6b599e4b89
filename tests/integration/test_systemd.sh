#!/usr/bin/env bash
# The Debian package under a real systemd, in a throwaway container:
#
#   1. on the host: `cpack -G DEB` in the build; `systemd-analyze verify` of both installed
#      units and `systemd-analyze security --offline` (exposure <= 2.0), printed beside
#      Debian's unbound.service and nginx.service when those are installed;
#   2. a Debian 12 tree made with debootstrap from the mirror apt is configured with, cached
#      in /var/cache/duet-test/ (made once, ~6 min; reused read-only afterwards). Where
#      debootstrap cannot reach a mirror, the host's own root is the tree instead (see
#      "host root" below);
#   3. an overlayfs over that tree (upper layer in a temp dir: the cache and the host stay
#      untouched), in which `systemd-nspawn` (not booted) runs `apt-get install ./duet_*.deb`:
#      the postinst makes the users, the certificate, and enables both units;
#   4. `systemd-nspawn --boot --private-network` of that overlay: its own loopback, so ports
#      53/80/443 are the container's. The one-shot unit duet-test.service runs
#      systemd_inside.sh after both duet units (checks listed there: units active after
#      boot, identity and capabilities, verify/security online, TLS page, the NSD lab resolved
#      with dig and getent through a drop-in config, reload with a connection open, stop
#      within the drain deadline, watchdog restarts after SIGSTOP, the journal, purge and
#      reinstall with systemd running), writes its results to a bind-mounted folder and
#      powers the container off.
#
# Host root (fallback): the same overlay, with / as its lower layer and the host's own
# enabled services masked in the upper layer: the host is never modified, nothing is
# installed on it; only what its root holds (systemd, dig, curl, nsd, ...) is used.
#
# Exit 77 (skip, reason printed) when the container cannot be made or cannot boot here: no
# root, no systemd-nspawn/overlayfs, the sanitizer build (a package is a release build).
# A container that booted but whose checks failed or never finished is a failure; a pass
# needs the inside script's DONE line with 0 failed.
# ctest-timeout: 1200
set -euo pipefail
SRC=${DUET_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${DUET_BUILD:-$SRC/build}
CACHE=${DUET_TEST_CACHE:-/var/cache/duet-test}
SUITE=bookworm
# What the tree needs beyond minbase: an init, the daemons' libraries, the package's
# dependencies (so apt installs the .deb offline) and the test's tools (lab: nsd, dig).
INCLUDE=systemd,systemd-sysv,dbus,libuv1,libssl3,libldns3,libhiredis0.14,openssl,adduser,init-system-helpers,bind9-dnsutils,curl,nsd,iproute2,procps,ca-certificates
BOOT_TIMEOUT=${DUET_SYSTEMD_TIMEOUT:-420}
# debootstrap (default; the host root when it fails) or host (the host root at once)
TREE_MODE=${DUET_SYSTEMD_TREE:-debootstrap}

t_start=$(date +%s)
trap 'echo "test_systemd.sh: unexpected failure at line $LINENO" >&2' ERR
skip() { echo "SKIP: $*"; exit 77; }
note() { echo "[$(($(date +%s) - t_start))s] $*"; }

[ "$(id -u)" -eq 0 ] || skip "needs root (debootstrap, overlayfs, systemd-nspawn)"
[ "${DUET_SANITIZE:-0}" != 1 ] || skip "the sanitizer build: the package and its container test run in the normal build"
command -v systemd-nspawn >/dev/null || skip "systemd-nspawn missing (Debian package systemd-container; scripts/setup.sh installs it)"
command -v cpack >/dev/null || skip "cpack missing"
command -v dpkg-shlibdeps >/dev/null || skip "dpkg-shlibdeps missing (Debian package dpkg-dev)"
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || true
grep -qw overlay /proc/filesystems || skip "no overlayfs in this kernel"
[ -f "$BUILD/CPackConfig.cmake" ] || skip "no CPack config in $BUILD (configure the build first)"

work=$(mktemp -d /tmp/duet-systemd.XXXXXX)
machine="duet-test-$$"
root="$work/root"
cleanup() {
    set +e
    mountpoint -q "$root" && umount "$root"
    mountpoint -q "$work/ovl" && umount "$work/ovl"
    rm -rf "/run/systemd/nspawn/propagate/$machine" 2>/dev/null
    if [ -n "${DUET_KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
fail=0
pass=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

# --- 1. the package, and the host-side checks of its units -------------------------------
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$BUILD/CMakeCache.txt")
if [ "$prefix" != /usr ]; then
    skip "the build in $BUILD is configured with CMAKE_INSTALL_PREFIX=$prefix; packages need /usr (a fresh build directory defaults to it)"
fi
note "cpack -G DEB"
if ! (cd "$BUILD" && cpack -G DEB -B "$work/pkg") >"$work/cpack.log" 2>&1; then
    cat "$work/cpack.log"
    bad "cpack -G DEB"
    echo "$pass passed, $fail failed"
    exit 1
fi
deb=$(ls "$work"/pkg/duet_*.deb)
ok "cpack built $(basename "$deb"): $(dpkg-deb -f "$deb" Depends)"
mkdir "$work/pkg/x"
dpkg-deb -x "$deb" "$work/pkg/x"
# verify resolves ExecStart= and the targets inside --root: the package's files plus the
# host's own units (for multi-user.target and friends) and /bin/kill.
cp -an /lib/systemd/system/. "$work/pkg/x/lib/systemd/system/"
mkdir -p "$work/pkg/x/bin" && cp /bin/kill "$work/pkg/x/bin/"
v=$(systemd-analyze verify --root="$work/pkg/x" /lib/systemd/system/duet-resolver.service \
    /lib/systemd/system/duet-origin.service 2>&1) && [ -z "$v" ] &&
    ok "systemd-analyze verify: nothing to report for both units" || bad "systemd-analyze verify: $v"
score_of() {
    systemd-analyze security --offline=yes "$1" 2>/dev/null |
        sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]* [A-Z]*\).*/\1/p'
}
echo "systemd-analyze security --offline=yes (exposure, lower is better):"
for u in duet-resolver duet-origin; do
    s=$(score_of "$work/pkg/x/lib/systemd/system/$u.service")
    printf '  %-24s %s\n' "$u.service" "${s:-?}"
    if [ -n "$s" ] && awk -v s="${s% *}" 'BEGIN { exit !(s <= 2.0) }'; then
        ok "$u.service exposure ${s} (<= 2.0)"
    else
        bad "$u.service exposure '${s}'"
    fi
done
for u in unbound nginx; do
    f=/lib/systemd/system/$u.service
    [ -f "$f" ] && printf '  %-24s %s   (Debian'"'"'s own unit)\n' "$u.service" "$(score_of "$f")" ||
        printf '  %-24s (not installed)\n' "$u.service"
done

# --- 2. the tree ---------------------------------------------------------------------------
mirror() { # the Debian mirror apt uses for $SUITE (deb822 sources or sources.list)
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk -v suite="$SUITE" '
            /^URIs:/ { uri = $2 } /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) s = 1 }
            /^$/ { if (s && uri ~ /debian\/?$/) { print uri; exit } uri = ""; s = 0 }
            END { if (s && uri ~ /debian\/?$/) print uri }' "$f"
    done
    if [ -f /etc/apt/sources.list ]; then
        awk -v suite="$SUITE" '$1 == "deb" && $3 == suite { print $2 }' /etc/apt/sources.list
    fi
    return 0
}
key=$(printf '%s %s v1' "$SUITE" "$INCLUDE" | sha256sum | cut -c1-12)
tree="$CACHE/$SUITE-$key"
lower=
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock -w 900 9 || skip "another run holds $CACHE/.lock"
if [ "$TREE_MODE" = host ]; then
    echo "DUET_SYSTEMD_TREE=host: the host root is the tree"
elif [ ! -f "$tree/.complete" ]; then
    if command -v debootstrap >/dev/null; then
        m=$(mirror | head -n 1) || m=
        if [ -n "$m" ]; then
            note "debootstrap $SUITE from $m into $tree (cached for later runs)"
            rm -rf "$tree.tmp"
            if timeout 900 debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$tree.tmp" "$m" \
                >"$work/debootstrap.log" 2>&1; then
                # Debian's nsd would take port 53 at boot; the lab starts its own.
                ln -sf /dev/null "$tree.tmp/etc/systemd/system/nsd.service"
                touch "$tree.tmp/.complete"
                rm -rf "$tree" && mv "$tree.tmp" "$tree"
            else
                echo "debootstrap failed (last lines):"
                tail -n 5 "$work/debootstrap.log" | sed 's/^/  /'
                rm -rf "$tree.tmp"
            fi
        else
            echo "no $SUITE mirror in apt's sources"
        fi
    else
        echo "debootstrap missing (Debian package debootstrap; scripts/setup.sh installs it)"
    fi
fi
flock -u 9
if [ "$TREE_MODE" != host ] && [ -f "$tree/.complete" ]; then
    lower=$tree
    note "tree: $tree"
else
    # Host root: the same overlay with / below. Needs systemd as the host root's init.
    [ -x /lib/systemd/systemd ] || skip "no Debian tree (debootstrap failed) and the host root has no systemd to boot"
    lower=/
    note "tree: the host root, read-only below an overlay"
fi

# --- 3. the overlay, and the package installed in it -----------------------------------------
mkdir -p "$work/ovl" "$root" "$work/results"
mount -t tmpfs -o mode=0755 duet-test-upper "$work/ovl" || skip "cannot mount a tmpfs"
mkdir -p "$work/ovl/upper" "$work/ovl/work"
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$work/ovl/upper,workdir=$work/ovl/work" "$root" ||
    skip "cannot mount an overlay over $lower"
if [ "$lower" = / ]; then
    # The host's services must not start in the container (they would take ports 53/80/443
    # or wait for things that are not there): mask every enabled one but duet's.
    for w in "$root"/etc/systemd/system/*.wants/*; do
        n=$(basename "$w")
        case $n in duet-* | *.target | getty@* | *.socket) continue ;; esac
        ln -sf /dev/null "$root/etc/systemd/system/$n"
    done
    rm -f "$root/etc/machine-id" && : >"$root/etc/machine-id"
    # A policy-rc.d that forbids starting services (build and CI images have one) is the
    # host's policy, not a clean Debian's: the postinst must be able to start the units.
    rm -f "$root/usr/sbin/policy-rc.d"
fi
echo duet-test >"$root/etc/hostname"
# The open-files limit of a real boot (systemd's own default 1024:524288), not whatever
# this shell was given: the units' LimitNOFILE= must fit under it. (A sandbox without
# CAP_SYS_RESOURCE keeps its own lower limit; the inside check allows for that.)
nspawn=(systemd-nspawn -q -D "$root" --private-network --register=no --keep-unit
    --machine="$machine" --resolv-conf=off --timezone=off --rlimit=RLIMIT_NOFILE=1024:524288)
# Can this machine run a container at all? Only that decides a skip; from here on, what
# fails is the package's or the test's failure.
if ! timeout 60 "${nspawn[@]}" /bin/true >"$work/probe.log" 2>&1; then
    tail -n 10 "$work/probe.log"
    skip "systemd-nspawn cannot run a container here (see above)"
fi
note "apt-get install ./$(basename "$deb") in the container (systemd not running)"
if ! timeout 180 "${nspawn[@]}" --bind-ro="$work/pkg:/duet/pkg" \
    env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    "/duet/pkg/$(basename "$deb")" >"$work/install.log" 2>&1; then
    cat "$work/install.log"
    bad "apt-get install of the package in the container failed"
    echo "$pass passed, $fail failed"
    exit 1
fi
sed -n '/^Setting up duet/,$p' "$work/install.log" | sed 's/^/  /'
ok "apt-get install of the package in a clean Debian tree"

# --- 4. boot ---------------------------------------------------------------------------------
cat >"$root/etc/systemd/system/duet-test.service" <<'EOF'
[Unit]
Description=duet systemd integration checks
After=duet-resolver.service duet-origin.service network.target
SuccessAction=poweroff
FailureAction=poweroff
[Service]
Type=oneshot
Environment=RES=/duet/results SRC=/duet/src PKG=/duet/pkg
ExecStart=/bin/bash /duet/src/tests/integration/systemd_inside.sh
TimeoutStartSec=360
StandardOutput=journal+console
[Install]
WantedBy=multi-user.target
EOF
ln -sf /etc/systemd/system/duet-test.service "$root/etc/systemd/system/multi-user.target.wants/duet-test.service"
note "systemd-nspawn --boot (at most ${BOOT_TIMEOUT}s)"
rc=0
timeout -k 10 "$BOOT_TIMEOUT" "${nspawn[@]}" --boot --bind-ro="$SRC:/duet/src" \
    --bind-ro="$work/pkg:/duet/pkg" --bind="$work/results:/duet/results" \
    >"$work/console.log" 2>&1 || rc=$?
note "container exited ($rc)"
res="$work/results/results.txt"
if [ ! -s "$res" ]; then
    echo "--- console (last 30 lines) ---"
    tail -n 30 "$work/console.log"
    if grep -q "Welcome to" "$work/console.log" || grep -q "Reached target" "$work/console.log"; then
        bad "the container booted but the checks never ran (rc $rc)"
        echo "$pass passed, $fail failed"
        exit 1
    fi
    skip "the container did not boot here (systemd-nspawn exit $rc)"
fi
echo "--- inside the container ---"
sed 's/^/  /' "$res"
pass=$((pass + $(grep -c '^ok ' "$res" || true)))
fail=$((fail + $(grep -c '^FAIL ' "$res" || true)))
if ! grep -q '^DONE ' "$res"; then
    bad "the checks did not finish (rc $rc; timeout ${BOOT_TIMEOUT}s?)"
fi
if [ "$fail" -gt 0 ]; then
    for f in "$work"/results/journal-*.txt; do
        echo "--- $(basename "$f") (last 40 lines) ---"
        tail -n 40 "$f"
    done
fi
echo "systemd-analyze security (online, inside the container):"
sed -n 's/^score /  /p' "$res"
note "done"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
