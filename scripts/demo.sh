#!/usr/bin/env bash
# The demo: builds duet and shows what exists so far, end to end, on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
for d in resolver origin; do
    bin=build/$d/duet-$d
    echo "== duet-$d --check conf/duet-$d.conf"
    "$bin" --check -c conf/duet-$d.conf
done
