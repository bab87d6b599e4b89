#!/usr/bin/env bash
# bench/resolver.sh — duet-resolver beside Unbound, Knot Resolver and the machine's floor,
# against the NSD lab, in one run.
#
#   bash bench/resolver.sh            (as root; ~2 min with the defaults)
#
# Starts the lab DNS hierarchy (tests/lab/lab.sh) in a temp dir, then duet-resolver, Unbound
# and Knot Resolver (kresd) with equivalent settings, and bench/floor.c in its two modes
# (floor-single: one recvmsg + one sendmsg per query; floor-batch: recvmmsg + sendmmsg, 64 a
# call), each on its own 127.0.0.1 port and pinned to the same core, and runs the same
# dnsperf loads against each, BENCH_ROUNDS times, the server order alternating each round:
#
#   cached  a dozen lab names (A, AAAA, TXT, CNAME chains, wildcard, glueless, NXDOMAIN,
#           NODATA) warmed first, then dnsperf at full speed for BENCH_SECONDS: the cache
#           hit path (client UDP in, cached reply out).  The floors run this load too: they
#           answer every query with an empty NOERROR reply and do nothing else, so their CPU
#           per query is what the kernel's UDP path alone costs on this machine
#   miss    the BENCH_BULK_COUNT distinct hNNNN.bulk.example names, each asked once (-n 1),
#           on a freshly started resolver whose bulk.example delegation is warm: every query
#           costs one upstream query to the bulk.example NSD and one cache insert
#
# For each phase it prints one row per server: QPS, p50 / p99 latency (from dnsperf -v
# per-query lines), the server's own CPU time per query (from /proc/PID/task/*/schedstat:
# robust when the client, not the server, is the bottleneck) and that CPU per query divided
# by duet's and by floor-single's.  Every figure is the median of the rounds, taken column
# by column; the last column lists each round's CPU per query.
#
# Environment:
#   DUET_BUILD        build dir (default: REPO/build); DUET_RESOLVER overrides the binary
#   BENCH_WORKERS     1 or 2 (default 1): duet workers = Unbound num-threads (kresd and the
#                     floors always run one process, one thread)
#   BENCH_PIN         auto | no (default auto): with 1 worker, every server on CPU 1 and
#                     dnsperf on CPU 0; with 2 workers nothing is pinned
#   BENCH_SECONDS     seconds per cached measurement, 1..10 (default 6)
#   BENCH_ROUNDS      rounds, 1..5 (default 3)
#   BENCH_CACHE_SIZE  duet cache-size in MB (default 64); Unbound gets half as
#                     msg-cache-size and half as rrset-cache-size, kresd cache.size all of it
#   BENCH_BULK_COUNT  names of the miss test (default 2000, as lab.sh)
#   BENCH_CLIENTS     dnsperf -c (default 10); BENCH_OUTSTANDING dnsperf -q (default 100)
#   BENCH_FLOOR_BATCH messages per recvmmsg/sendmmsg call of floor-batch (default 64)
#   BENCH_OUT         also write the result table to this file
#   BENCH_KEEP=1      keep the temp dir (configs, logs, dnsperf summaries)
# Exit status: 0 done, 77 prerequisite missing (not root, tool or binary missing), 1 failure.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BENCH_NAME=resolver.sh
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"
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
DNSPERF_CLIENTS=$CLIENTS DNSPERF_OUTSTANDING=$OUTSTANDING   # lib.sh's dnsperf_measure
FLOOR_BATCH=${BENCH_FLOOR_BATCH:-64}

[ "$(id -u)" -eq 0 ] || skip "must run as root (the NSD lab binds port 53)"
for t in dnsperf unbound unbound-checkconf kresd nsd dig ss taskset awk sort cc python3; do
  command -v "$t" >/dev/null || skip "$t not installed (scripts/setup.sh installs it)"
done
[ -x "$DUET_RESOLVER" ] || skip "no $DUET_RESOLVER (build first: cmake -S . -B build && cmake --build build -j2)"
[[ $WORKERS =~ ^[12]$ ]] || die "BENCH_WORKERS must be 1 or 2"
check_range BENCH_SECONDS "$SECS" 1 10
check_range BENCH_ROUNDS "$ROUNDS" 1 5
check_range BENCH_CACHE_SIZE "$CACHE_MB" 2 65536
check_range BENCH_BULK_COUNT "$BULK" 1 100000
check_range BENCH_CLIENTS "$CLIENTS" 1 1000
check_range BENCH_OUTSTANDING "$OUTSTANDING" 1 10000
check_range BENCH_FLOOR_BATCH "$FLOOR_BATCH" 1 256

# ─── temp dir, cleanup ──────────────────────────────────────────────────────────────────
D=$(mktemp -d /tmp/duet-bench-resolver.XXXXXX)
LAB=$D/lab
KR=$D/kresd
declare -A PID=()   # PID[server] of every running server we started
# shellcheck source-path=SCRIPTDIR source=../tests/lab/unbound.sh
. "$REPO/tests/lab/unbound.sh"

cleanup() {
  local rc=$? s
  trap - EXIT INT TERM
  for s in "${!PID[@]}"; do
    [ "$s" = unbound ] || stop_pid "${PID[$s]}" "$s"
  done
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

# ─── the lab ────────────────────────────────────────────────────────────────────────────
log "starting the lab in $LAB"
LAB_BULK_COUNT=$BULK bash "$REPO/tests/lab/lab.sh" start "$LAB" >"$D/lab.out" 2>&1 ||
  { cat "$D/lab.out" >&2; die "lab did not start"; }
grep -q . "$LAB/names.dnsperf" || die "lab wrote no names.dnsperf"
# shellcheck disable=SC1091
BULK_NS_ADDR=$(. "$LAB/lab.env" && echo "$LAB_BULK_ADDR")
[ -n "$BULK_NS_ADDR" ] || die "lab.env has no LAB_BULK_ADDR"

RESOLVERS=(duet unbound kresd)
SERVERS=(duet unbound kresd floor-single floor-batch)
declare -A PORT=()
taken=()
for s in "${SERVERS[@]}"; do
  PORT[$s]=$(pick_port 15353 ${taken[@]+"${taken[@]}"})
  taken+=("${PORT[$s]}")
done

one_core=no
[ "$WORKERS" = 1 ] && one_core=yes
bench_pin "$PIN" "$one_core"
if [ -n "$SERVER_CPU" ]; then
  PIN_TXT="every server pinned to CPU $SERVER_CPU, dnsperf (-T 1) to CPU $CLIENT_CPU; NSD unpinned"
else
  PIN_TXT="no pinning (servers, dnsperf -T 1 and NSD share all $(nproc) CPUs)"
fi
HALF_MB=$((CACHE_MB / 2))

# ─── the floor ──────────────────────────────────────────────────────────────────────────
cc -O2 -std=c11 -Wall -Wextra -o "$D/floor" "$HERE/floor.c" >"$D/floor-build.out" 2>&1 ||
  { cat "$D/floor-build.out" >&2; die "bench/floor.c does not build"; }
start_floor() { # floor-single | floor-batch
  local mode=${1#floor-} extra=()
  [ "$mode" = batch ] && extra=("$FLOOR_BATCH")
  ${SRV_PIN[@]+"${SRV_PIN[@]}"} "$D/floor" 127.0.0.1 "${PORT[$1]}" "$mode" ${extra[@]+"${extra[@]}"} \
    </dev/null >>"$D/$1.log" 2>&1 &
  PID[$1]=$!
  wait_port u "${PORT[$1]}" "${PID[$1]}" 5 || { cat "$D/$1.log" >&2; die "$1 not listening"; }
}

# ─── duet-resolver ──────────────────────────────────────────────────────────────────────
cat >"$D/duet-resolver.conf" <<EOF
# bench/resolver.sh
listen = 127.0.0.1:${PORT[duet]}
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
  PID[duet]=$!
  wait_port u "${PORT[duet]}" "${PID[duet]}" 5 ||
    { tail -n 20 "$D/duet-resolver.log" >&2; die "duet-resolver not listening on :${PORT[duet]}"; }
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
  LAB_UNBOUND_EXTRA=$UNB_EXTRA lab_unbound_start "$LAB" "${PORT[unbound]}" 127.0.0.1 >/dev/null ||
    die "unbound did not start (see $LAB/unbound/)"
  PID[unbound]=$(cat "$LAB/unbound/lab.pid")
  pin_running "${PID[unbound]}"
}
check_unbound_conf() {
  local k want got conf=$LAB/unbound/unbound.conf kv
  for kv in "num-threads=$WORKERS" "verbosity=0" "module-config=iterator" \
    "qname-minimisation=yes" "do-not-query-localhost=no" "so-reuseport=yes" \
    "msg-cache-size=$((HALF_MB * 1024 * 1024))" "rrset-cache-size=$((HALF_MB * 1024 * 1024))"; do
    k=${kv%%=*} want=${kv#*=}
    got=$(unbound-checkconf -o "$k" "$conf" 2>/dev/null | tr -d '"')
    [ "$got" = "$want" ] || die "unbound.conf: $k is '$got', expected '$want'"
  done
}

# ─── Knot Resolver ──────────────────────────────────────────────────────────────────────
# One kresd process (what a kresd@1 systemd instance is), iterator only: kresd loads the
# root trust anchor by default (trust_anchors.remove('.') leaves no TA, so no validation);
# it drops glue and NS addresses in 127.0.0.0/8 unless ALLOW_LOCAL (the lab is on
# 127.N.x.y); it answers test. itself (RFC 6761 special-use names, policy.special_names) —
# the lab needs the real one, so test. is dropped from that rule, as Unbound's
# 'local-zone: "test." nodefault'.  Root hints through the engine's own loader (what
# postconfig.lua uses for the default file; the hints module would add a layer per query).
mkdir -p "$KR"
cat >"$KR/kresd.conf" <<EOF
-- bench/resolver.sh
log_level('warning')
net.listen('127.0.0.1', ${PORT[kresd]}, { kind = 'dns' })
net.ipv6 = false
trust_anchors.remove('.')
option('ALLOW_LOCAL', true)
option('NO_MINIMIZE', false)
policy.special_names[2].cb = policy.suffix(policy.DENY_MSG('special-use domain name'),
    { todname('onion.'), todname('invalid.'), todname('local.') })
cache.open(${CACHE_MB} * MB, 'lmdb://$KR/cache')
if _hint_root_file then
    _hint_root_file('$LAB/root.hints')
else
    modules.load('hints > iterate')
    hints.root_file('$LAB/root.hints')
end
EOF
start_kresd() {
  rm -rf "$KR/cache" "$KR/control" # an empty cache each round, as the others
  ${SRV_PIN[@]+"${SRV_PIN[@]}"} kresd -n -c "$KR/kresd.conf" "$KR" </dev/null >>"$KR/kresd.log" 2>&1 &
  PID[kresd]=$!
  wait_port u "${PORT[kresd]}" "${PID[kresd]}" 10 ||
    { tail -n 20 "$KR/kresd.log" >&2; die "kresd not listening on :${PORT[kresd]}"; }
}
# kresd_ctl LUA...: evaluate each expression on kresd's control socket, print the answers
kresd_ctl() { kresd_ctl_sock "$KR/control/${PID[kresd]}" "$@"; }
check_kresd_conf() {
  local out v
  out=$(kresd_ctl 'cache.current_size' 'option("NO_MINIMIZE")' 'option("ALLOW_LOCAL")' \
    'net.ipv6' 'trust_anchors.summary()' 2>&1) || die "kresd control socket: $out"
  mapfile -t v <<<"$out"
  if [ "${v[0]:-}" != "$((CACHE_MB * 1024 * 1024))" ] || [ "${v[1]:-}" != false ] ||
    [ "${v[2]:-}" != true ] || [ "${v[3]:-}" != false ] ||
    [[ ${v[4]:-} != *"No valid trust anchors"* ]]; then
    die "kresd settings (cache.current_size, NO_MINIMIZE, ALLOW_LOCAL, net.ipv6, TAs): $(tr '\n' '|' <<<"$out")"
  fi
}

start_all() { start_duet; start_unbound; start_kresd; }
stop_resolvers() {
  stop_pid "${PID[duet]}" duet-resolver
  lab_unbound_stop "$LAB" >/dev/null
  stop_pid "${PID[kresd]}" kresd
  unset 'PID[duet]' 'PID[unbound]' 'PID[kresd]'
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
# the miss test's delegation warm-up (root, example., bulk.example.: not one of its names),
# which also proves the resolver resolves through the lab: fail loudly if it does not
warm_delegation() { # SERVER
  local got
  got=$(dig @127.0.0.1 -p "${PORT[$1]}" +time=3 +tries=2 +short ns1.bulk.example A 2>&1 || true)
  [ "$got" = "$BULK_NS_ADDR" ] ||
    die "$1 does not resolve the lab: ns1.bulk.example A gave '$got', expected $BULK_NS_ADDR"
}

# run dnsperf against SERVER; print "qps avg_ms p50_ms p99_ms cpu_us_per_q lost completed rcodes"
# (lib.sh's dnsperf_measure; OUTFILE keeps dnsperf's summary)
measure() { # SERVER OUTFILE DNSPERF-ARGS...
  local s=$1 out=$2 line
  shift 2
  line=$(dnsperf_measure "${PID[$s]}" "${PORT[$s]}" "$out" "$@")
  kill -0 "${PID[$s]}" 2>/dev/null || die "$s died during the run"
  echo "$line"
}

log "duet-resolver: $DUET_RESOLVER  port ${PORT[duet]}"
log "unbound:       $(unbound -V 2>/dev/null | sed -n 's/^Version //p')  port ${PORT[unbound]}"
log "kresd:         $(kresd --version 2>/dev/null | sed 's/.*version //')  port ${PORT[kresd]}"
log "floor:         bench/floor.c single :${PORT[floor-single]}, batch ($FLOOR_BATCH per call) :${PORT[floor-batch]}"
log "workers/threads: $WORKERS; cache: duet cache-size=${CACHE_MB}M, unbound msg ${HALF_MB}m + rrset ${HALF_MB}m, kresd cache.size=${CACHE_MB}M"
log "cpu: $PIN_TXT"
log "dnsperf: -T 1 -c $CLIENTS -q $OUTSTANDING -v; cached: $NCACHED names, -l $SECS; miss: $BULK names -n 1"
log "rounds: $ROUNDS (server order alternates; medians of the rounds)"

declare -A RES=()   # RES[phase,server,round] = measure line
t_start=$(now_us)
start_floor floor-single
start_floor floor-batch
for s in floor-single floor-batch; do
  got=$(dig @127.0.0.1 -p "${PORT[$s]}" +time=2 +tries=2 www.site1.test A 2>&1 || true)
  if ! grep -q 'status: NOERROR' <<<"$got" || ! grep -q 'flags: qr' <<<"$got"; then
    die "$s does not answer: $got"
  fi
done
for r in $(seq 1 "$ROUNDS"); do
  start_all
  if [ "$r" = 1 ]; then check_unbound_conf; check_kresd_conf; fi
  if [ $((r % 2)) = 1 ]; then
    order=(duet unbound kresd floor-single floor-batch)
  else
    order=(floor-batch floor-single kresd unbound duet)
  fi
  for s in "${order[@]}"; do
    case $s in floor-*) ;; *) warm_delegation "$s" ;; esac
  done
  for s in "${order[@]}"; do
    case $s in floor-*) continue ;; esac
    RES[miss,$s,$r]=$(measure "$s" "$D/miss-$s-$r.out" -d "$LAB/names.dnsperf" -n 1 -l 10)
    log "round $r miss   $s: ${RES[miss,$s,$r]}"
  done
  for s in "${order[@]}"; do
    case $s in floor-*) continue ;; esac
    warm "${PORT[$s]}" >"$D/warm-$s-$r.txt"
  done
  if [ "$r" = 1 ]; then
    for s in unbound kresd; do
      if ! cmp -s "$D/warm-duet-1.txt" "$D/warm-$s-1.txt"; then
        log "WARNING: duet and $s answer the cached set differently:"
        diff "$D/warm-duet-1.txt" "$D/warm-$s-1.txt" >&2 || true
      fi
    done
  fi
  for s in "${order[@]}"; do
    RES[cached,$s,$r]=$(measure "$s" "$D/cached-$s-$r.out" -d "$D/cached.txt" -l "$SECS")
    log "round $r cached $s: ${RES[cached,$s,$r]}"
  done
  stop_resolvers
done
stop_pid "${PID[floor-single]}" floor-single
stop_pid "${PID[floor-batch]}" floor-batch
unset 'PID[floor-single]' 'PID[floor-batch]'
t_total=$((($(now_us) - t_start) / 1000000))

# ─── the table ──────────────────────────────────────────────────────────────────────────
col() { # PHASE SERVER FIELD(1-based) → that field of every round, one a line
  local r
  for r in $(seq 1 "$ROUNDS"); do echo "${RES[$1,$2,$r]:-ERROR}"; done | awk -v f="$3" '$1 != "ERROR" { print $f }'
}
med() { col "$@" | median; }
per_round() { # PHASE SERVER FIELD → "a/b/c" (ERROR rounds as "-")
  local r out="" v
  for r in $(seq 1 "$ROUNDS"); do
    v=${RES[$1,$2,$r]:-ERROR}
    if [ "$v" = ERROR ]; then out+="-/"; else out+="$(awk -v f="$3" '{ print $f }' <<<"$v")/"; fi
  done
  echo "${out%/}"
}
fmt() { awk -v v="$1" -v p="$2" 'BEGIN { if (v == "-") print "-"; else printf "%." p "f\n", v }'; }
FLOOR1=$(med cached floor-single 5)
{
  echo "duet-resolver vs $(unbound -V 2>/dev/null | sed -n 's/^Version /Unbound /p'), Knot Resolver $(kresd --version 2>/dev/null | sed 's/.*version //') and the floor (bench/floor.c) — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "workers = num-threads = $WORKERS (kresd, floors: 1); cache ${CACHE_MB}M each (unbound msg ${HALF_MB}m + rrset ${HALF_MB}m); $PIN_TXT"
  echo "dnsperf -T 1 -c $CLIENTS -q $OUTSTANDING; cached: $NCACHED names x ${SECS}s; miss: $BULK distinct names once; every figure the median of $ROUNDS rounds (order alternating)"
  echo "cpu_us/q = server CPU (user+sys, schedstat) per answered query; x_duet = cpu_us/q / duet's, x_floor = cpu_us/q / floor-single's (cached phase): > 1 = more CPU per query"
  for t in cached miss; do
    echo
    printf '%-7s %-13s %8s %8s %8s %9s %7s %8s %6s %-15s %s\n' phase server QPS p50_ms p99_ms cpu_us/q x_duet x_floor lost rcodes "cpu_us/q per round"
    if [ "$t" = cached ]; then rows=("${SERVERS[@]}"); else rows=("${RESOLVERS[@]}"); fi
    DUETCPU=$(med "$t" duet 5)
    for s in "${rows[@]}"; do
      qps=$(med "$t" "$s" 1) p50=$(med "$t" "$s" 3) p99=$(med "$t" "$s" 4) cpu=$(med "$t" "$s" 5)
      lost=$(col "$t" "$s" 6 | awk '{ n += $1 } END { print n + 0 }')
      codes=$(col "$t" "$s" 8 | head -1)
      printf '%-7s %-13s %8s %8s %8s %9s %7s %8s %6s %-15s %s\n' "$t" "$s" "$(fmt "$qps" 0)" \
        "$(fmt "$p50" 3)" "$(fmt "$p99" 3)" "$(fmt "$cpu" 2)" "$(ratio "$cpu" "$DUETCPU")" \
        "$(ratio "$cpu" "$FLOOR1")" "$lost" "${codes:--}" "$(per_round "$t" "$s" 5)"
    done
  done
  echo
  echo "lost = sum over the rounds; rcodes = the non-NOERROR share of round 1's answers (1 query in $NCACHED of the cached set is NXDOMAIN by design)"
  echo "(${t_total}s of measuring)"
} | tee "$D/result.txt"
if [ -n "${BENCH_OUT:-}" ]; then cp "$D/result.txt" "$BENCH_OUT"; fi
