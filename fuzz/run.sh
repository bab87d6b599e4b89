#!/usr/bin/env bash
# fuzz/run.sh — run every libFuzzer target of a DUET_FUZZ build for N executions each and
# print, per target: executions, coverage edges (libFuzzer's cov:), features (ft:), corpus
# size and findings (crash/leak/timeout/oom inputs saved during this run).
#
#   fuzz/run.sh [--fresh] [N]        N executions per target (default 1e6; 2e6 and 1000000
#                                    both work)
#
# Build first:  CC=clang cmake -S . -B build-fuzz -DDUET_FUZZ=ON && cmake --build build-fuzz
# Environment:  DUET_FUZZ_BUILD  the build directory (default: build-fuzz in the source tree)
#               DUET_FUZZ_WORK   working corpora, logs and findings (default: BUILD/fuzz-work);
#                                corpora persist between runs, --fresh starts them empty
#               DUET_FUZZ_ARGS   extra libFuzzer flags, e.g. "-max_len=8192"
# Each target starts from its seeds in fuzz/corpus/NAME/ (read only) plus its working corpus.
# Exit status: 0 when nothing was found, 1 when a target saved a finding, 2 on usage errors.
set -euo pipefail

fresh=0
if [ "${1:-}" = "--fresh" ]; then
    fresh=1
    shift
fi
n=$(awk -v v="${1:-1e6}" 'BEGIN { if (v + 0 < 1) exit 1; printf "%d", v + 0 }') || {
    echo "usage: fuzz/run.sh [--fresh] [N]" >&2
    exit 2
}

src=$(cd "$(dirname "$0")/.." && pwd)
build=${DUET_FUZZ_BUILD:-$src/build-fuzz}
work=${DUET_FUZZ_WORK:-$build/fuzz-work}
shopt -s nullglob
targets=("$build"/fuzz/fuzz_*_libfuzzer)
if [ ${#targets[@]} -eq 0 ]; then
    echo "fuzz/run.sh: no fuzz_*_libfuzzer in $build/fuzz; build with -DDUET_FUZZ=ON (CC=clang)" >&2
    exit 2
fi

found=0
printf '%-12s %12s %8s %9s %8s %9s  %s\n' target executions cov features corpus findings seconds
for bin in "${targets[@]}"; do
    name=$(basename "$bin")
    name=${name#fuzz_}
    name=${name%_libfuzzer}
    corpus=$work/corpus/$name
    artifacts=$work/findings/$name
    [ "$fresh" = 1 ] && rm -rf "$corpus"
    mkdir -p "$corpus" "$artifacts"
    seeds=()
    [ -d "$src/fuzz/corpus/$name" ] && seeds=("$src/fuzz/corpus/$name")
    log=$work/$name.log
    marker=$work/.$name.start
    touch "$marker"
    start=$(date +%s)
    # shellcheck disable=SC2086 # DUET_FUZZ_ARGS is a list of flags
    "$bin" -runs="$n" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$artifacts/" ${DUET_FUZZ_ARGS:-} "$corpus" "${seeds[@]}" \
        >"$log" 2>&1 || true
    secs=$(($(date +%s) - start))
    new=$(find "$artifacts" -type f -newer "$marker" | wc -l)
    # The last status line carries the totals: "#N DONE cov: C ft: F corp: K/..."
    status=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$status")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$status")
    corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$status")
    printf '%-12s %12s %8s %9s %8s %9s  %s\n' "$name" "${execs:-?}" "${cov:-?}" "${ft:-?}" \
        "${corp:-?}" "$new" "$secs"
    if [ "$new" -gt 0 ] || grep -q -E '^==[0-9]+==ERROR|^SUMMARY: ' "$log"; then
        found=1
        find "$artifacts" -type f -newer "$marker" | sed 's/^/    finding: /'
        grep -E '^==[0-9]+==ERROR|^SUMMARY: ' "$log" | head -n 3 | sed 's/^/    /'
        echo "    log: $log"
    fi
done
exit $found
