#!/usr/bin/env bash
# Builds duet and runs the whole test suite through ctest.
#   scripts/test.sh             normal build in build/
#   scripts/test.sh --sanitize  AddressSanitizer + UndefinedBehaviorSanitizer build in build-asan/
# Extra arguments after -- go to ctest (e.g. -- -R unit/common).
set -euo pipefail
cd "$(dirname "$0")/.."

dir=build
flags=()
if [ "${1:-}" = "--sanitize" ]; then
    dir=build-asan
    flags+=(-DDUET_SANITIZE=ON)
    shift
fi
[ "${1:-}" = "--" ] && shift
if [ -n "${CI:-}" ]; then
    flags+=(-DDUET_WERROR=ON)
fi

cmake -S . -B "$dir" "${flags[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc)"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
cd "$dir"
ctest --output-on-failure --timeout 600 -j"$(nproc)" "$@"
