#!/usr/bin/env bash
# Builds duet and runs the whole test suite through ctest.
#   scripts/test.sh             normal build in build/
#   scripts/test.sh --sanitize  AddressSanitizer + UndefinedBehaviorSanitizer build in build-asan/
#   scripts/test.sh --tsan      ThreadSanitizer build in build-tsan/
#   scripts/test.sh --allow-skips ...   report skips but do not fail on them (a partial run
#                               without root; CI never passes it)
# Extra arguments after -- go to ctest (e.g. -- -R unit/common).
#
# Ends with one line: "summary BUILD: N passed, N failed, N skipped [names]". A test skips
# (exit 77) when something it needs is missing; scripts/setup.sh, run as root, provides
# everything, so a skip not in ALLOWED_SKIPS below fails the run even when every test that
# ran passed: a green run must have run the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# Skips that are right in some builds: "BUILD-DIR TEST reason". Nothing else may skip.
ALLOWED_SKIPS=(
    "build-asan integration/systemd the Debian package and its container test need the release build's /usr layout; they run in build/"
    "build-tsan integration/systemd the Debian package and its container test need the release build's /usr layout; they run in build/"
    "build-tsan integration/origin_idle_memory memory per connection is not measurable under ThreadSanitizer's shadow memory; it runs in build/ and build-asan/"
)

dir=build
flags=()
allow_skips=0
while [ $# -gt 0 ]; do
    case $1 in
    --sanitize) dir=build-asan flags+=(-DDUET_SANITIZE=ON) ;;
    --tsan) dir=build-tsan flags+=(-DDUET_TSAN=ON) ;;
    --allow-skips) allow_skips=1 ;;
    --) shift; break ;;
    *) echo "test.sh: unknown argument $1 (see the top of $0)" >&2; exit 2 ;;
    esac
    shift
done
if [ -n "${CI:-}" ]; then
    flags+=(-DDUET_WERROR=ON)
fi

cmake -S . -B "$dir" "${flags[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc)"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# Every report is printed (a daemon's stderr goes to the harness, which fails the test on
# it); the exit status says there were reports.
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=0:exitcode=66:second_deadlock_stack=1}"
cd "$dir"
junit=$PWD/Testing/junit.xml
rm -f "$junit"
rc=0
ctest --output-on-failure --timeout 600 -j"$(nproc)" --output-junit "$junit" "$@" || rc=$?

allowed=$(printf '%s\n' "${ALLOWED_SKIPS[@]}" | awk -v d="$dir" '$1 == d { $1 = ""; print substr($0, 2) }')
DIR=$dir ALLOWED=$allowed ALLOW_ALL=$allow_skips CTEST_RC=$rc python3 - "$junit" <<'EOF'
import os, sys
import xml.etree.ElementTree as ET

d = os.environ["DIR"]
allowed = {}
for line in os.environ["ALLOWED"].splitlines():
    if line.strip():
        name, _, why = line.partition(" ")
        allowed[name] = why
try:
    cases = ET.parse(sys.argv[1]).getroot().iter("testcase")
except (OSError, ET.ParseError) as e:
    print("summary %s: no test results (%s); ctest exit %s" % (d, e, os.environ["CTEST_RC"]))
    sys.exit(1)
passed, failed, skipped = [], [], []
for c in cases:
    status = c.get("status")
    if status == "run":
        passed.append(c.get("name"))
    elif status in ("notrun", "disabled") or c.find("skipped") is not None:
        out = c.findtext("system-out") or ""
        why = [l[len("SKIP: "):] for l in out.splitlines() if l.startswith("SKIP: ")]
        skipped.append((c.get("name"), why[-1] if why else "no reason printed"))
    else:
        failed.append(c.get("name"))
bad_skips = [(n, w) for n, w in skipped if n not in allowed]
for n, w in skipped:
    if n in allowed:
        print("skipped %-32s %s (allowed in %s: %s)" % (n, w, d, allowed[n]))
    else:
        print("skipped %-32s %s (NOT allowed)" % (n, w))
print("summary %s: %d passed, %d failed, %d skipped%s%s" % (
    d, len(passed), len(failed), len(skipped),
    " [%s]" % ", ".join(n for n, _ in skipped) if skipped else "",
    "; failed: " + ", ".join(failed) if failed else ""))
if bad_skips:
    if os.environ["ALLOW_ALL"] == "1":
        print("test.sh: --allow-skips: %d skip(s) not on the allow-list, not counted as failures"
              % len(bad_skips))
    else:
        print("test.sh: FAIL: %d test(s) skipped that scripts/setup.sh (run as root) makes "
              "runnable: %s. Run setup.sh and this script as root, or add the test with its "
              "reason to ALLOWED_SKIPS in scripts/test.sh if the skip is right for this build."
              % (len(bad_skips), ", ".join(n for n, _ in bad_skips)))
        sys.exit(1)
sys.exit(1 if failed or os.environ["CTEST_RC"] != "0" else 0)
EOF
