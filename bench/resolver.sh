#!/usr/bin/env bash
# bench/resolver.sh — duet-resolver vs Unbound, side by side, against the NSD lab.
#
#   bash bench/resolver.sh            (as root; ~1 min with the defaults)
#
# Starts the lab DNS hierarchy (tests/lab/lab.sh) in a temp dir, then duet-resolver and
# Unbound with equivalent settings, each on its own 127.0.0.1 port, and runs the same dnsperf
# loads against each, interleaved, BENCH_ROUNDS times:
#
#   cached  a dozen lab names (A, AAAA, TXT, CNAME chains, wildcard, glueless, NXDOMAIN,
#           NODATA) warmed first, then dnsperf at full speed for BENCH_SECONDS: the cache
#           hit path (client UDP in, cached reply out)
#   miss    the BENCH_BULK_COUNT distinct hNNNN.bulk.example names, each asked once (-n 1),
#           on a freshly started resolver whose bulk.example delegation is warm: every query
#           costs one upstream query to the bulk.example NSD and one cache insert
#
# For each it prints QPS, average / p50 / p99 latency (p50/p99 from dnsperf -v per-query
# lines), the server's own CPU time per query (from /proc/PID/task/*/schedstat: robust when
# the client, not the server, is the bottleneck), lost queries, and duet/unbound ratios.
# The median round (by QPS) is reported; every round's QPS is listed.
#
# Environment:
#   DUET_BUILD        build dir (default: REPO/build); DUET_RESOLVER overrides the binary
#   BENCH_WORKERS     1 or 2 (default 1): duet workers = Unbound num-threads
#   BENCH_PIN         auto | no (default auto): with 1 worker, both servers on CPU 1 and
#                     dnsperf on CPU 0; with 2 workers nothing is pinned
#   BENCH_SECONDS     seconds per cached measurement, 1..10 (default 6)
#   BENCH_ROUNDS      rounds, 1..5 (default 3)
#   BENCH_CACHE_SIZE  duet cache-size in MB (default 64); Unbound gets half as
#                     msg-cache-size and half as rrset-cache-size (same total)
#   BENCH_BULK_COUNT  names of the miss test (default 2000, as lab.sh)
#   BENCH_CLIENTS     dnsperf -c (default 10); BENCH_OUTSTANDING dnsperf -q (default 100)
#   BENCH_OUT         also write the result table to this file
#   BENCH_KEEP=1      keep the temp dir (configs, logs, raw dnsperf output)
# Exit status: 0 done, 77 prerequisite missing (not root, tool or binary missing), 1 failure.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BUILD=${DUET_BUILD:-$REPO/build}
DUET_RESOLVER=${DUET_RESOLVER:-$BUILD/resolver/duet-resolver}
WORKERS=${BENCH_WORKERS:-1}
PIN=${BENCH_PIN:-auto}
SECS=${BENCH_SECONDS:-6}
ROUNDS=${BENCH_ROUNDS:-3}
CACHE_MB=${BENCH_CACHE_SIZE:-64}
BULK=${BENCH_BULK_COUNT:-2000}
CLIENTS=${BENCH_CLIENTS:-10}
OUTSTANDING=${BENCH_OUTSTANDING:-100}

skip() { echo "bench/resolver.sh: SKIP: $*" >&2; exit 77; }
die() { echo "bench/resolver.sh: $*" >&2; exit 1; }
log() { echo "[bench] $*" >&2; }
now_us() { echo "${EPOCHREALTIME/./}"; }

[ "$(id -u)" -eq 0 ] || skip "must run as root (the NSD lab binds port 53)"
for t in dnsperf unbound unbound-checkconf nsd dig ss taskset awk sort; do
  command -v "$t" >/dev/null || skip "$t not installed"
done
[ -x "$DUET_RESOLVER" ] || skip "no $DUET_RESOLVER (build first: cmake -S . -B build && cmake --build build -j2)"
[[ $WORKERS =~ ^[12]$ ]] || die "BENCH_WORKERS must be 1 or 2"
if ! [[ $SECS =~ ^[0-9]+$ ]] || [ "$SECS" -lt 1 ] || [ "$SECS" -gt 10 ]; then
  die "BENCH_SECONDS must be 1..10"
fi
[[ $ROUNDS =~ ^[1-5]$ ]] || die "BENCH_ROUNDS must be 1..5"
if ! [[ $CACHE_MB =~ ^[0-9]+$ ]] || [ "$CACHE_MB" -lt 2 ]; then
  die "BENCH_CACHE_SIZE must be >= 2 (MB)"
fi

# ─── temp dir, cleanup ──────────────────────────────────────────────────────────────────
D=$(mktemp -d /tmp/duet-bench-resolver.XXXXXX)
LAB=$D/lab
DUET_PID=""
# shellcheck source-path=SCRIPTDIR source=../tests/lab/unbound.sh
. "$REPO/tests/lab/unbound.sh"

stop_duet() {
  [ -n "$DUET_PID" ] || return 0
  local deadline
  if kill -TERM "$DUET_PID" 2>/dev/null; then
    deadline=$(($(now_us) + 5000000))
    while kill -0 "$DUET_PID" 2>/dev/null; do
      if [ "$(now_us)" -ge "$deadline" ]; then
        echo "bench: duet-resolver $DUET_PID ignored TERM; KILL" >&2
        kill -KILL "$DUET_PID" 2>/dev/null || true
        break
      fi
      sleep 0.02
    done
  fi
  wait "$DUET_PID" 2>/dev/null || true
  DUET_PID=""
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_duet
  if [ -d "$LAB" ]; then
    lab_unbound_stop "$LAB" >/dev/null 2>&1 || true
    bash "$REPO/tests/lab/lab.sh" stop "$LAB" >/dev/null 2>&1 || true
  fi
  if [ "${BENCH_KEEP:-0}" = 1 ] || [ "$rc" -ne 0 ]; then
    echo "bench: files kept in $D" >&2
  else
    rm -rf "$D"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ─── helpers ────────────────────────────────────────────────────────────────────────────
port_busy() { # PORT: anything listening on it, UDP or TCP, any address
  [ -n "$(ss -H -lnu "sport = :$1" 2>/dev/null)$(ss -H -lnt "sport = :$1" 2>/dev/null)" ]
}
pick_port() { # first free port from $1
  local p=$1
  while port_busy "$p"; do p=$((p + 1)); [ "$p" -lt 65000 ] || die "no free port"; done
  echo "$p"
}
wait_udp_port() { # PORT PID TIMEOUT_S
  local deadline=$(($(now_us) + $3 * 1000000))
  until [ -n "$(ss -H -lnu "sport = :$1" 2>/dev/null)" ]; do
    kill -0 "$2" 2>/dev/null || return 1
    [ "$(now_us)" -lt "$deadline" ] || return 1
    sleep 0.02
  done
}
# CPU time (ns) used so far by every thread of PID
cpu_ns() {
  local s=0 f a rest
  for f in /proc/"$1"/task/*/schedstat; do
    read -r a rest <"$f" 2>/dev/null || continue
    s=$((s + a))
  done
  echo "$s"
}

# ─── the lab ────────────────────────────────────────────────────────────────────────────
log "starting the lab in $LAB"
LAB_BULK_COUNT=$BULK bash "$REPO/tests/lab/lab.sh" start "$LAB" >"$D/lab.out" 2>&1 ||
  { cat "$D/lab.out" >&2; die "lab did not start"; }
grep -q . "$LAB/names.dnsperf" || die "lab wrote no names.dnsperf"

DUET_PORT=$(pick_port 15353)
UNB_PORT=$(pick_port $((DUET_PORT + 1)))

if [ "$PIN" = auto ] && [ "$WORKERS" = 1 ] && [ "$(nproc)" -ge 2 ]; then
  SERVER_CPU=1 CLIENT_CPU=0
  SRV_PIN=(taskset -c "$SERVER_CPU") CLI_PIN=(taskset -c "$CLIENT_CPU")
  PIN_TXT="servers pinned to CPU $SERVER_CPU, dnsperf (-T 1) to CPU $CLIENT_CPU; NSD unpinned"
else
  SERVER_CPU="" SRV_PIN=() CLI_PIN=()
  PIN_TXT="no pinning (servers, dnsperf -T 1 and NSD share all $(nproc) CPUs)"
fi
HALF_MB=$((CACHE_MB / 2))

# ─── duet-resolver ──────────────────────────────────────────────────────────────────────
cat >"$D/duet-resolver.conf" <<EOF
# bench/resolver.sh
listen = 127.0.0.1:$DUET_PORT
workers = $WORKERS
user = ""
log-level = warn
root-hints = $LAB/root.hints
query-loopback = yes
qname-minimisation = yes
outgoing-address = 0.0.0.0
cache-size = ${CACHE_MB}M
EOF
"$DUET_RESOLVER" --check -c "$D/duet-resolver.conf" >"$D/duet-check.out" 2>&1 ||
  { cat "$D/duet-check.out" >&2; die "duet-resolver rejects its config"; }

start_duet() {
  ${SRV_PIN[@]+"${SRV_PIN[@]}"} "$DUET_RESOLVER" -c "$D/duet-resolver.conf" \
    </dev/null >>"$D/duet-resolver.log" 2>&1 &
  DUET_PID=$!
  wait_udp_port "$DUET_PORT" "$DUET_PID" 5 ||
    { tail -n 20 "$D/duet-resolver.log" >&2; die "duet-resolver not listening on :$DUET_PORT"; }
}

# ─── Unbound (tests/lab/unbound.sh with overrides; the later line wins) ─────────────────
UNB_EXTRA="verbosity: 0
log-servfail: no
num-threads: $WORKERS
so-reuseport: yes
msg-cache-size: ${HALF_MB}m
rrset-cache-size: ${HALF_MB}m
module-config: \"iterator\"
qname-minimisation: yes
do-not-query-localhost: no"
start_unbound() {
  LAB_UNBOUND_EXTRA=$UNB_EXTRA lab_unbound_start "$LAB" "$UNB_PORT" 127.0.0.1 >/dev/null ||
    die "unbound did not start (see $LAB/unbound/)"
  UNB_PID=$(cat "$LAB/unbound/lab.pid")
  if [ -n "$SERVER_CPU" ]; then taskset -a -p -c "$SERVER_CPU" "$UNB_PID" >/dev/null; fi
}
check_unbound_conf() {
  local k want got conf=$LAB/unbound/unbound.conf
  for kv in "num-threads=$WORKERS" "verbosity=0" "module-config=iterator" \
    "qname-minimisation=yes" "do-not-query-localhost=no" "so-reuseport=yes" \
    "msg-cache-size=$((HALF_MB * 1024 * 1024))" "rrset-cache-size=$((HALF_MB * 1024 * 1024))"; do
    k=${kv%%=*} want=${kv#*=}
    got=$(unbound-checkconf -o "$k" "$conf" 2>/dev/null | tr -d '"')
    [ "$got" = "$want" ] || die "unbound.conf: $k is '$got', expected '$want'"
  done
}

stop_both() {
  stop_duet
  lab_unbound_stop "$LAB" >/dev/null
}
start_both() {
  start_duet
  start_unbound
}

# ─── query lists ────────────────────────────────────────────────────────────────────────
cat >"$D/cached.txt" <<EOF
www.site1.test A
site1.test A
www.site1.test AAAA
alias.site1.test A
alias2.site1.test A
txt.site1.test TXT
anything.wild.site1.test A
x.noglue.example A
www.corp.example A
chain.corp.example A
nonexistent.site1.test A
v4only.site1.test AAAA
EOF
NCACHED=$(wc -l <"$D/cached.txt")

# ask every cached name of $D/cached.txt (twice) on PORT; print "name type rcode answers"
warm() {
  local port=$1 name type out rc ans
  while read -r name type; do
    dig @127.0.0.1 -p "$port" +time=3 +tries=1 "$name" "$type" >/dev/null 2>&1 || true
    out=$(dig @127.0.0.1 -p "$port" +time=3 +tries=1 +noall +comments +answer "$name" "$type" 2>&1 || true)
    rc=$(sed -n 's/.*status: \([A-Z]*\),.*/\1/p' <<<"$out" | head -1)
    ans=$(awk '!/^;/ && NF >= 5 { print $4, $5 }' <<<"$out" | sort | tr '\n' ' ')
    echo "$name $type ${rc:-TIMEOUT} $ans"
  done <"$D/cached.txt"
}

# run dnsperf; print "qps avg_ms p50_ms p99_ms cpu_us_per_q lost completed rcodes"
# dnsperf ARGS are given after PID and OUTFILE
measure() {
  local pid=$1 out=$2
  shift 2
  local c0 c1
  c0=$(cpu_ns "$pid")
  ${CLI_PIN[@]+"${CLI_PIN[@]}"} dnsperf -s 127.0.0.1 -T 1 -c "$CLIENTS" -q "$OUTSTANDING" -v "$@" \
    >"$out" 2>&1 || true
  c1=$(cpu_ns "$pid")
  awk -v cpu=$((c1 - c0)) '
    /^> / { n++; lat = $NF * 1e6; h[int(lat)]++; rc[$2]++; next }
    /Queries per second:/ { qps = $4 }
    /Queries completed:/ { done = $3 }
    /Queries lost:/ { lost = $3 }
    /Average Latency \(s\):/ { avg = $4 * 1000 }
    END {
      if (done == "") { print "ERROR"; exit }
      p50 = p99 = -1; acc = 0
      for (u = 0; n > 0 && u <= 60000000; u++) if (u in h) {
        acc += h[u]
        if (p50 < 0 && acc >= 0.50 * n) p50 = u / 1000
        if (p99 < 0 && acc >= 0.99 * n) { p99 = u / 1000; break }
      }
      codes = ""
      for (c in rc) if (c != "NOERROR") codes = codes c "=" rc[c] ","
      sub(/,$/, "", codes)
      printf "%.0f %.3f %.3f %.3f %.2f %d %d %s\n", qps, avg, p50, p99,
        (done > 0 ? cpu / done / 1000 : 0), lost, done, (codes == "" ? "-" : codes)
    }' "$out"
}

log "duet-resolver: $DUET_RESOLVER  port $DUET_PORT"
log "unbound:       $(unbound -V 2>/dev/null | sed -n 's/^Version //p')  port $UNB_PORT"
log "workers/threads: $WORKERS; cache: duet cache-size=${CACHE_MB}M, unbound msg-cache-size=${HALF_MB}m + rrset-cache-size=${HALF_MB}m"
log "cpu: $PIN_TXT"
log "dnsperf: -T 1 -c $CLIENTS -q $OUTSTANDING -v; cached: $NCACHED names, -l $SECS; miss: $BULK names -n 1"
log "rounds: $ROUNDS (order alternates; median round by QPS is reported)"

declare -A RES=()   # RES[test,server,round] = measure line
t_start=$(now_us)
for r in $(seq 1 "$ROUNDS"); do
  start_both
  [ "$r" = 1 ] && check_unbound_conf
  if [ $((r % 2)) = 1 ]; then order="duet unbound"; else order="unbound duet"; fi
  # delegation warm-up for the miss test: root, example., bulk.example. (not one of the names)
  for s in $order; do
    port=$DUET_PORT; [ "$s" = unbound ] && port=$UNB_PORT
    dig @127.0.0.1 -p "$port" +time=3 +tries=1 +short ns1.bulk.example A >/dev/null 2>&1 || true
  done
  for s in $order; do
    port=$DUET_PORT pid=$DUET_PID; [ "$s" = unbound ] && port=$UNB_PORT pid=$UNB_PID
    RES[miss,$s,$r]=$(measure "$pid" "$D/miss-$s-$r.out" -p "$port" -d "$LAB/names.dnsperf" -n 1 -l 10)
    log "round $r miss   $s: ${RES[miss,$s,$r]}"
  done
  for s in $order; do
    port=$DUET_PORT; [ "$s" = unbound ] && port=$UNB_PORT
    warm "$port" >"$D/warm-$s-$r.txt"
  done
  if [ "$r" = 1 ] && ! cmp -s "$D/warm-duet-1.txt" "$D/warm-unbound-1.txt"; then
    log "WARNING: duet and unbound answer the cached set differently:"
    diff "$D/warm-duet-1.txt" "$D/warm-unbound-1.txt" >&2 || true
  fi
  for s in $order; do
    port=$DUET_PORT pid=$DUET_PID; [ "$s" = unbound ] && port=$UNB_PORT pid=$UNB_PID
    RES[cached,$s,$r]=$(measure "$pid" "$D/cached-$s-$r.out" -p "$port" -d "$D/cached.txt" -l "$SECS")
    log "round $r cached $s: ${RES[cached,$s,$r]}"
  done
  stop_both
done
t_total=$((($(now_us) - t_start) / 1000000))

# ─── the table ──────────────────────────────────────────────────────────────────────────
median_line() { # TEST SERVER → the measure line of the median round by QPS
  local r
  for r in $(seq 1 "$ROUNDS"); do echo "${RES[$1,$2,$r]}"; done | grep -v '^ERROR' |
    sort -n -k1,1 | awk '{ l[NR] = $0 } END { if (NR) print l[int((NR + 1) / 2)] }'
}
all_qps() {
  local r out=""
  for r in $(seq 1 "$ROUNDS"); do out+="${RES[$1,$2,$r]%% *}/"; done
  echo "${out%/}"
}
{
  echo "duet-resolver vs $(unbound -V 2>/dev/null | sed -n 's/^Version /Unbound /p') — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "workers = num-threads = $WORKERS; cache ${CACHE_MB}M (unbound msg ${HALF_MB}m + rrset ${HALF_MB}m); $PIN_TXT"
  echo "dnsperf -T 1 -c $CLIENTS -q $OUTSTANDING; cached: $NCACHED names x ${SECS}s; miss: $BULK distinct names once; median of $ROUNDS rounds"
  printf '%-7s %-8s %9s %8s %8s %8s %9s %6s %-12s %s\n' test server QPS avg_ms p50_ms p99_ms cpu_us/q lost rcodes "QPS per round"
  for t in cached miss; do
    for s in duet unbound; do
      m=$(median_line "$t" "$s")
      [ -n "$m" ] || m="0 0 0 0 0 0 0 ERROR"
      read -r qps avg p50 p99 cpu lost _done codes <<<"$m"
      printf '%-7s %-8s %9s %8s %8s %8s %9s %6s %-12s %s\n' "$t" "$s" "$qps" "$avg" "$p50" "$p99" \
        "$cpu" "$lost" "$codes" "$(all_qps "$t" "$s")"
      eval "V_${t}_${s}=(\$qps \$avg \$p50 \$p99 \$cpu)"
    done
    eval "a=(\"\${V_${t}_duet[@]}\")"; eval "b=(\"\${V_${t}_unbound[@]}\")"
    # shellcheck disable=SC2154
    awk -v t="$t" -v q1="${a[0]}" -v q2="${b[0]}" -v a1="${a[1]}" -v a2="${b[1]}" \
      -v m1="${a[2]}" -v m2="${b[2]}" -v p1="${a[3]}" -v p2="${b[3]}" -v c1="${a[4]}" -v c2="${b[4]}" '
      function r(x, y) { return y > 0 ? sprintf("%.2fx", x / y) : "n/a" }
      BEGIN { printf "%-7s %-8s %9s %8s %8s %8s %9s\n", t, "duet/unb", r(q1, q2), r(a1, a2),
              r(m1, m2), r(p1, p2), r(c1, c2) }'
  done
  echo "ratios are duet/unbound: QPS > 1 = duet faster; latency and cpu_us/q > 1 = duet slower"
  echo "(${t_total}s of measuring)"
} | tee "$D/result.txt"
if [ -n "${BENCH_OUT:-}" ]; then cp "$D/result.txt" "$BENCH_OUT"; fi
