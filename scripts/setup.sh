#!/usr/bin/env bash
# Installs every Debian package duet's build, tests, demo and benchmarks need, on Debian 12.
# Idempotent: packages already present are left alone; apt-get update runs once per call.
# Run as root (or through sudo). Prints what it installs.
set -euo pipefail

PACKAGES=(
    # build
    build-essential cmake pkg-config libuv1-dev libssl-dev libldns-dev node-llhttp
    # tests: the DNS lab, real clients, process tools, the test harness language
    nsd bind9-dnsutils knot-dnsutils ldnsutils curl openssl iproute2 procps psmisc python3
    # precompressed variants in the origin tests (test_origin_features.py makes .zst files)
    zstd
    # scripted hostile authoritative servers (tests/lab/hostile_auth.py)
    python3-dnspython
    # the package and its test under a real systemd (tests/integration/test_systemd.sh)
    dpkg-dev systemd-container debootstrap
    # the peers and load generators for bench/ and the side-by-side tests
    unbound nginx-light dnsperf wrk knot-resolver h2o
    # the demo's browser (headless, in the demo's namespace) and certutil for its throwaway
    # NSS database that trusts the lab CA; the SVG of the flow trace is checked with it too
    chromium libnss3-tools
    # metrics: promtool checks the exposition format, a real Prometheus scrapes it
    prometheus
    # the shared cache: hiredis (with its libuv adapter) and a real Redis for its tests
    libhiredis-dev redis-server
    # fuzzing: clang with libFuzzer and the sanitizer runtimes (cmake -DDUET_FUZZ=ON)
    clang-14 libclang-rt-14-dev
)

if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        exec sudo -E bash "$0" "$@"
    fi
    echo "setup.sh: run as root (apt-get install needs it)" >&2
    exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "setup.sh: all ${#PACKAGES[@]} packages already installed"
    exit 0
fi

echo "setup.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# RUNLEVEL=1 keeps invoke-rc.d from starting the packaged nsd/unbound/nginx services: the
# tests start their own instances on loopback and need port 53 free.
RUNLEVEL=1 apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "setup.sh: done"
