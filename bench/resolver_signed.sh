#!/usr/bin/env bash
# bench/resolver_signed.sh — what DNSSEC validation costs: duet-resolver beside Unbound and
# Knot Resolver, all three validating, against the signed NSD lab (tests/lab/signed.sh), in
# one run.
#
#   bash bench/resolver_signed.sh          (as root; ~3 min with the defaults)
#
# Starts the signed lab (and the unsigned lab, tests/lab/lab.sh, for one control row) in a
# temp dir, then these servers, each on its own 127.0.0.1 port, pinned to the same core
# (bench/lib.sh, as bench/resolver.sh):
#
#   duet           dnssec = yes, trust-anchor-file = the lab root's DS
#   duet-noval     the same with dnssec = no (security-aware, validates nothing): the control
#                  for "what validation adds" on the same names and the same wire answers
#   duet-unsigned  bench/resolver.sh's duet against the unsigned lab and its cached set
#                  (cached phase only): "the unsigned cached phase", run side by side
#   unbound        module-config "validator iterator", trust-anchor-file = the same DS
#                  (tests/lab/unbound.sh with overrides)
#   kresd          trust_anchors.add_file(the same DS, readonly)
#
# and runs, BENCH_ROUNDS times, the server order alternating each round:
#
#   cached     12 secure names of the signed lab (NSEC and NSEC3 zones, alg 8, 13 and 15:
#              A, TXT, NODATA, wildcard, two NXDOMAIN, a cross-zone CNAME, a wildcard
#              CNAME, a DNAME) warmed first, then dnsperf at full speed for BENCH_SECONDS,
#              DO=0: the cache hit path of a validated answer
#   cached-do  the same with DO=1 (dnsperf -D): answers carry their RRSIGs (and NSECs)
#   miss       the lab's SLAB_BULK_COUNT distinct hNNNN.bulk.sig. names (alg 13, NSEC), each
#              asked once (-n 1), on a freshly started resolver that has validated
#              ns1.bulk.sig. first, so the DS and DNSKEY of the root, sig. and bulk.sig. are
#              cached: every query costs one upstream query, one ECDSA P-256 signature check
#              (none for duet-noval) and one cache insert
#
# Every round checks that the validating resolvers answer the warm-up with AD and that they
# answer the cached set alike (rcode, AD, answer), and, after the miss run, that a bulk name
# comes back with AD from each cache.  The table: QPS, p50 / p99 latency, the server's CPU
# per query (schedstat), that CPU ÷ duet's (x_duet) and ÷ Unbound's (x_unbound), medians of
# the rounds.
#
# Environment: DUET_BUILD, DUET_RESOLVER, BENCH_PIN, BENCH_SECONDS (default 6),
# BENCH_ROUNDS (3), BENCH_CACHE_SIZE (64), BENCH_CLIENTS (10), BENCH_OUTSTANDING (100),
# BENCH_OUT, BENCH_KEEP as bench/resolver.sh (one worker / thread each);
#   BENCH_BULK_COUNT  names of the miss test (default 2000; the signed lab's SLAB_BULK_COUNT)
#   BENCH_SIGNED_SERVERS  which servers (default "duet duet-noval duet-unsigned unbound kresd")
# Exit status: 0 done, 77 prerequisite missing (not root, tool or binary missing), 1 failure.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BENCH_NAME=resolver_signed.sh
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"
BUILD=${DUET_BUILD:-$REPO/build}
DUET_RESOLVER=${DUET_RESOLVER:-$BUILD/resolver/duet-resolver}
PIN=${BENCH_PIN:-auto}
SECS=${BENCH_SECONDS:-6}
ROUNDS=${BENCH_ROUNDS:-3}
CACHE_MB=${BENCH_CACHE_SIZE:-64}
BULK=${BENCH_BULK_COUNT:-2000}
DNSPERF_CLIENTS=${BENCH_CLIENTS:-10}
DNSPERF_OUTSTANDING=${BENCH_OUTSTANDING:-100}
read -r -a SERVERS <<<"${BENCH_SIGNED_SERVERS:-duet duet-noval duet-unsigned unbound kresd}"

[ "$(id -u)" -eq 0 ] || skip "must run as root (the NSD labs bind port 53)"
for t in dnsperf unbound unbound-checkconf kresd nsd ldns-signzone dig ss taskset awk sort python3; do
  command -v "$t" >/dev/null || skip "$t not installed (scripts/setup.sh installs it)"
done
[ -x "$DUET_RESOLVER" ] || skip "no $DUET_RESOLVER (build first: cmake -S . -B build && cmake --build build -j2)"
check_range BENCH_SECONDS "$SECS" 1 10
check_range BENCH_ROUNDS "$ROUNDS" 1 5
check_range BENCH_CACHE_SIZE "$CACHE_MB" 2 65536
check_range BENCH_BULK_COUNT "$BULK" 1 100000
check_range BENCH_CLIENTS "$DNSPERF_CLIENTS" 1 1000
check_range BENCH_OUTSTANDING "$DNSPERF_OUTSTANDING" 1 10000
[ ${#SERVERS[@]} -gt 0 ] || die "BENCH_SIGNED_SERVERS is empty"
for s in "${SERVERS[@]}"; do
  case $s in duet|duet-noval|duet-unsigned|unbound|kresd) ;; *) die "unknown server '$s'" ;; esac
done
has() { [[ " ${SERVERS[*]} " == *" $1 "* ]]; }

# ─── temp dir, cleanup ──────────────────────────────────────────────────────────────────
D=$(mktemp -d /tmp/duet-bench-signed.XXXXXX)
SLAB=$D/slab   # the signed lab
ULAB=$D/lab    # the unsigned lab (duet-unsigned only)
KR=$D/kresd
declare -A PID=()
# shellcheck source-path=SCRIPTDIR source=../tests/lab/unbound.sh
. "$REPO/tests/lab/unbound.sh"

cleanup() {
  local rc=$? s
  trap - EXIT INT TERM
  for s in "${!PID[@]}"; do
    [ "$s" = unbound ] || stop_pid "${PID[$s]}" "$s"
  done
  [ -d "$SLAB" ] && { lab_unbound_stop "$SLAB" >/dev/null 2>&1 || true; }
  [ -d "$SLAB" ] && { bash "$REPO/tests/lab/signed.sh" stop "$SLAB" >/dev/null 2>&1 || true; }
  [ -d "$ULAB" ] && { bash "$REPO/tests/lab/lab.sh" stop "$ULAB" >/dev/null 2>&1 || true; }
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

# ─── the labs ───────────────────────────────────────────────────────────────────────────
log "starting the signed lab in $SLAB"
SLAB_BULK_COUNT=$BULK bash "$REPO/tests/lab/signed.sh" start "$SLAB" >"$D/slab.out" 2>&1 ||
  { cat "$D/slab.out" >&2; die "the signed lab did not start"; }
# shellcheck disable=SC1091
. "$SLAB/lab.env"
[ -s "${SLAB_BULK_DNSPERF:-}" ] || die "the signed lab wrote no bulk.dnsperf (tests/lab/signed.sh too old?)"
BULK_NS_ADDR=$LAB_BULK_ADDR
if has duet-unsigned; then
  log "starting the unsigned lab in $ULAB"
  LAB_BULK_COUNT=1 bash "$REPO/tests/lab/lab.sh" start "$ULAB" >"$D/lab.out" 2>&1 ||
    { cat "$D/lab.out" >&2; die "the unsigned lab did not start"; }
fi

declare -A PORT=()
taken=()
for s in "${SERVERS[@]}"; do
  PORT[$s]=$(pick_port 15353 ${taken[@]+"${taken[@]}"})
  taken+=("${PORT[$s]}")
done
bench_pin "$PIN" yes
if [ -n "$SERVER_CPU" ]; then
  PIN_TXT="every server pinned to CPU $SERVER_CPU, dnsperf (-T 1) to CPU $CLIENT_CPU; NSD unpinned"
else
  PIN_TXT="no pinning (servers, dnsperf -T 1 and NSD share all $(nproc) CPUs)"
fi
HALF_MB=$((CACHE_MB / 2))

# ─── duet-resolver: three configs ───────────────────────────────────────────────────────
duet_conf() { # SERVER HINTS DNSSEC-LINES
  cat <<EOF
# bench/resolver_signed.sh: $1
listen = 127.0.0.1:${PORT[$1]}
workers = 1
user = ""
log-level = warn
root-hints = $2
query-loopback = yes
qname-minimisation = yes
outgoing-address = 0.0.0.0
cache-size = ${CACHE_MB}M
$3
EOF
}
for s in duet duet-noval duet-unsigned; do
  has "$s" || continue
  case $s in
    duet) duet_conf "$s" "$LAB_ROOT_HINTS" "dnssec = yes
trust-anchor-file = $LAB_ROOT_DS" ;;
    duet-noval) duet_conf "$s" "$LAB_ROOT_HINTS" "dnssec = no
trust-anchor-file = $LAB_ROOT_DS" ;;
    duet-unsigned) duet_conf "$s" "$ULAB/root.hints" "dnssec = yes" ;;
  esac >"$D/$s.conf"
  "$DUET_RESOLVER" --check -c "$D/$s.conf" >"$D/$s-check.out" 2>&1 ||
    { cat "$D/$s-check.out" >&2; die "duet-resolver rejects $D/$s.conf"; }
done
start_duet() { # SERVER
  ${SRV_PIN[@]+"${SRV_PIN[@]}"} "$DUET_RESOLVER" -c "$D/$1.conf" </dev/null >>"$D/$1.log" 2>&1 &
  PID[$1]=$!
  wait_port u "${PORT[$1]}" "${PID[$1]}" 5 ||
    { tail -n 20 "$D/$1.log" >&2; die "$1 not listening on :${PORT[$1]}"; }
}

# ─── Unbound (tests/lab/unbound.sh with overrides; the later line wins) ─────────────────
UNB_EXTRA="verbosity: 0
log-servfail: no
num-threads: 1
so-reuseport: yes
msg-cache-size: ${HALF_MB}m
rrset-cache-size: ${HALF_MB}m
module-config: \"validator iterator\"
trust-anchor-file: \"$LAB_ROOT_DS\"
qname-minimisation: yes
do-not-query-localhost: no"
start_unbound() {
  LAB_UNBOUND_EXTRA=$UNB_EXTRA lab_unbound_start "$SLAB" "${PORT[unbound]}" 127.0.0.1 >/dev/null ||
    die "unbound did not start (see $SLAB/unbound/)"
  PID[unbound]=$(cat "$SLAB/unbound/lab.pid")
  pin_running "${PID[unbound]}"
}
check_unbound_conf() {
  local k want got conf=$SLAB/unbound/unbound.conf kv
  for kv in "num-threads=1" "verbosity=0" "module-config=validator iterator" \
    "qname-minimisation=yes" "do-not-query-localhost=no" \
    "msg-cache-size=$((HALF_MB * 1024 * 1024))" "rrset-cache-size=$((HALF_MB * 1024 * 1024))"; do
    k=${kv%%=*} want=${kv#*=}
    got=$(unbound-checkconf -o "$k" "$conf" 2>/dev/null | tr -d '"')
    [ "$got" = "$want" ] || die "unbound.conf: $k is '$got', expected '$want'"
  done
}

# ─── Knot Resolver: bench/resolver.sh's settings, but validating with the lab anchor ────
mkdir -p "$KR"
cat >"$KR/kresd.conf" <<EOF
-- bench/resolver_signed.sh
log_level('warning')
net.listen('127.0.0.1', ${PORT[kresd]:-0}, { kind = 'dns' })
net.ipv6 = false
trust_anchors.remove('.')
trust_anchors.add_file('$LAB_ROOT_DS', true)
option('ALLOW_LOCAL', true)
option('NO_MINIMIZE', false)
cache.open(${CACHE_MB} * MB, 'lmdb://$KR/cache')
if _hint_root_file then
    _hint_root_file('$LAB_ROOT_HINTS')
else
    modules.load('hints > iterate')
    hints.root_file('$LAB_ROOT_HINTS')
end
EOF
start_kresd() {
  rm -rf "$KR/cache" "$KR/control"
  ${SRV_PIN[@]+"${SRV_PIN[@]}"} kresd -n -c "$KR/kresd.conf" "$KR" </dev/null >>"$KR/kresd.log" 2>&1 &
  PID[kresd]=$!
  wait_port u "${PORT[kresd]}" "${PID[kresd]}" 10 ||
    { tail -n 20 "$KR/kresd.log" >&2; die "kresd not listening on :${PORT[kresd]}"; }
}
check_kresd_conf() {
  local out v tag
  tag=$(awk '{ print $5; exit }' "$LAB_ROOT_DS")
  out=$(kresd_ctl_sock "$KR/control/${PID[kresd]}" 'cache.current_size' 'option("NO_MINIMIZE")' \
    'option("ALLOW_LOCAL")' 'net.ipv6' 'trust_anchors.summary()' 2>&1) || die "kresd control socket: $out"
  mapfile -t v <<<"$out"
  if [ "${v[0]:-}" != "$((CACHE_MB * 1024 * 1024))" ] || [ "${v[1]:-}" != false ] ||
    [ "${v[2]:-}" != true ] || [ "${v[3]:-}" != false ] || [[ ${v[4]:-} != *"$tag"* ]]; then
    die "kresd settings (cache.current_size, NO_MINIMIZE, ALLOW_LOCAL, net.ipv6, TA with key tag $tag): $(tr '\n' '|' <<<"$out")"
  fi
}

start_server() {
  case $1 in
    duet*) start_duet "$1" ;;
    unbound) start_unbound ;;
    kresd) start_kresd ;;
  esac
}
stop_server() {
  case $1 in
    unbound) lab_unbound_stop "$SLAB" >/dev/null ;;
    *) stop_pid "${PID[$1]}" "$1" ;;
  esac
  unset "PID[$1]"
}

# ─── query lists ────────────────────────────────────────────────────────────────────────
cat >"$D/cached-signed.txt" <<EOF
www.nsec.sig A
www.nsec.sig TXT
www.nsec.sig AAAA
anything.wild.nsec.sig A
nx.nsec.sig A
tosecure.nsec.sig A
x.wcin.nsec.sig A
www.dn.nsec.sig A
www.nsec3.sig A
nx.nsec3.sig A
www.optout.sig A
www.ed.sig A
EOF
# bench/resolver.sh's cached set, for duet-unsigned
cat >"$D/cached-unsigned.txt" <<EOF
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
NCACHED=$(wc -l <"$D/cached-signed.txt")
cached_set() { if [ "$1" = duet-unsigned ]; then echo "$D/cached-unsigned.txt"; else echo "$D/cached-signed.txt"; fi; }
validates() { case $1 in duet | unbound | kresd) return 0 ;; *) return 1 ;; esac; }

# dig on SERVER's port with +adflag; print "rcode ad|- answers..."
ask() { # SERVER NAME TYPE [dig options]
  local s=$1 name=$2 type=$3 out rc ad ans
  shift 3
  out=$(dig @127.0.0.1 -p "${PORT[$s]}" +time=3 +tries=2 +adflag +noall +comments +answer "$@" \
    "$name" "$type" 2>&1 || true)
  rc=$(sed -n 's/.*status: \([A-Z]*\),.*/\1/p' <<<"$out" | head -1)
  ad=-
  grep -Eq '^;; flags:[a-z ]* ad[ ;]' <<<"$out" && ad=ad
  ans=$(awk '!/^;/ && NF >= 5 && $4 != "RRSIG" { print $4, $5 }' <<<"$out" | sort | tr '\n' ' ')
  echo "${rc:-TIMEOUT} $ad $ans"
}
# ask every cached name (twice); print "name type rcode ad answers"
warm() { # SERVER
  local name type
  while read -r name type; do
    ask "$1" "$name" "$type" >/dev/null
    echo "$name $type $(ask "$1" "$name" "$type")"
  done <"$(cached_set "$1")"
}
# the miss test's warm-up (not one of its names): the delegations and keys of the root,
# sig. and bulk.sig. get cached; a validating server must say AD, else stop loudly
warm_delegation() { # SERVER
  local got want="NOERROR ad A $BULK_NS_ADDR "
  validates "$1" || want="NOERROR - A $BULK_NS_ADDR "
  got=$(ask "$1" ns1.bulk.sig A)
  [ "$got" = "$want" ] ||
    die "$1 does not resolve (and validate) the signed lab: ns1.bulk.sig A gave '$got', expected '$want'"
}
# after the miss run: the first and the last bulk name, from the cache, with AD
check_bulk_validated() { # SERVER
  local n got
  validates "$1" || return 0
  for n in "$(head -n 1 "$SLAB_BULK_NAMES")" "$(tail -n 1 "$SLAB_BULK_NAMES")"; do
    got=$(ask "$1" "$n" A)
    [[ $got == "NOERROR ad A "* ]] || die "$1: $n A after the miss run gave '$got' (no AD: not validated?)"
  done
}

measure() { # SERVER OUTFILE DNSPERF-ARGS...
  local s=$1 out=$2 line
  shift 2
  line=$(dnsperf_measure "${PID[$s]}" "${PORT[$s]}" "$out" "$@")
  kill -0 "${PID[$s]}" 2>/dev/null || die "$s died during the run"
  echo "$line"
}

log "duet-resolver: $DUET_RESOLVER"
log "unbound:       $(unbound -V 2>/dev/null | sed -n 's/^Version //p')  kresd: $(kresd --version 2>/dev/null | sed 's/.*version //')"
for s in "${SERVERS[@]}"; do log "  $s :${PORT[$s]}"; done
log "cache: duet cache-size=${CACHE_MB}M, unbound msg ${HALF_MB}m + rrset ${HALF_MB}m, kresd cache.size=${CACHE_MB}M"
log "cpu: $PIN_TXT"
log "dnsperf: -T 1 -c $DNSPERF_CLIENTS -q $DNSPERF_OUTSTANDING -v; cached: $NCACHED names, -l $SECS (DO=0, then -D); miss: $BULK names -n 1"
log "rounds: $ROUNDS (server order alternates; medians of the rounds)"

declare -A RES=()   # RES[phase,server,round] = measure line
t_start=$(now_us)
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then order=("${SERVERS[@]}"); else
    order=()
    for ((i = ${#SERVERS[@]} - 1; i >= 0; i--)); do order+=("${SERVERS[$i]}"); done
  fi
  for s in "${order[@]}"; do start_server "$s"; done
  if [ "$r" = 1 ]; then
    has unbound && check_unbound_conf
    has kresd && check_kresd_conf
  fi
  for s in "${order[@]}"; do
    [ "$s" = duet-unsigned ] && continue
    warm_delegation "$s"
  done
  for s in "${order[@]}"; do
    [ "$s" = duet-unsigned ] && continue
    RES[miss,$s,$r]=$(measure "$s" "$D/miss-$s-$r.out" -d "$SLAB_BULK_DNSPERF" -n 1 -l 20)
    log "round $r miss      $s: ${RES[miss,$s,$r]}"
    check_bulk_validated "$s"
  done
  for s in "${order[@]}"; do warm "$s" >"$D/warm-$s-$r.txt"; done
  if [ "$r" = 1 ]; then
    for s in unbound kresd; do
      if ! has "$s" || ! has duet; then continue; fi
      if ! cmp -s "$D/warm-duet-1.txt" "$D/warm-$s-1.txt"; then
        log "WARNING: duet and $s answer the cached set differently (name type rcode AD answers):"
        diff "$D/warm-duet-1.txt" "$D/warm-$s-1.txt" >&2 || true
      fi
    done
    if has duet && [ "$(awk '$4 == "ad"' "$D/warm-duet-1.txt" | wc -l)" -ne "$NCACHED" ]; then
      log "WARNING: duet does not answer every cached name with AD:"
      cat "$D/warm-duet-1.txt" >&2
    fi
  fi
  for s in "${order[@]}"; do
    RES[cached,$s,$r]=$(measure "$s" "$D/cached-$s-$r.out" -d "$(cached_set "$s")" -l "$SECS")
    log "round $r cached    $s: ${RES[cached,$s,$r]}"
  done
  for s in "${order[@]}"; do
    [ "$s" = duet-unsigned ] && continue
    RES[cached-do,$s,$r]=$(measure "$s" "$D/cached-do-$s-$r.out" -d "$(cached_set "$s")" -D -l "$SECS")
    log "round $r cached-do $s: ${RES[cached-do,$s,$r]}"
  done
  for s in "${order[@]}"; do stop_server "$s"; done
done
t_total=$((($(now_us) - t_start) / 1000000))

# ─── the table ──────────────────────────────────────────────────────────────────────────
col() { # PHASE SERVER FIELD(1-based) → that field of every round, one a line
  local r
  for r in $(seq 1 "$ROUNDS"); do echo "${RES[$1,$2,$r]:-ERROR}"; done | awk -v f="$3" '$1 != "ERROR" { print $f }'
}
med() { col "$@" | median; }
per_round() {
  local r out="" v
  for r in $(seq 1 "$ROUNDS"); do
    v=${RES[$1,$2,$r]:-ERROR}
    if [ "$v" = ERROR ]; then out+="-/"; else out+="$(awk -v f="$3" '{ print $f }' <<<"$v")/"; fi
  done
  echo "${out%/}"
}
fmt() { awk -v v="$1" -v p="$2" 'BEGIN { if (v == "-") print "-"; else printf "%." p "f\n", v }'; }
{
  echo "DNSSEC: duet-resolver vs $(unbound -V 2>/dev/null | sed -n 's/^Version /Unbound /p') and Knot Resolver $(kresd --version 2>/dev/null | sed 's/.*version //'), validating, signed lab (tests/lab/signed.sh) — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "one worker/thread each; cache ${CACHE_MB}M each (unbound msg ${HALF_MB}m + rrset ${HALF_MB}m); $PIN_TXT"
  echo "dnsperf -T 1 -c $DNSPERF_CLIENTS -q $DNSPERF_OUTSTANDING; cached: $NCACHED secure names x ${SECS}s (cached-do: with DO=1); miss: $BULK distinct hNNNN.bulk.sig. names once (alg 13, NSEC; keys cached); medians of $ROUNDS rounds (order alternating)"
  echo "duet-noval: dnssec = no on the same lab; duet-unsigned: bench/resolver.sh's duet and cached set on the unsigned lab"
  echo "cpu_us/q = server CPU (user+sys, schedstat) per answered query; x_duet, x_unbound = cpu_us/q / duet's, / Unbound's: > 1 = more CPU per query"
  for t in cached cached-do miss; do
    echo
    printf '%-9s %-13s %8s %8s %8s %9s %7s %9s %6s %-15s %s\n' phase server QPS p50_ms p99_ms cpu_us/q x_duet x_unbound lost rcodes "cpu_us/q per round"
    DUETCPU=$(med "$t" duet 5)
    UNBCPU=$(med "$t" unbound 5)
    for s in "${SERVERS[@]}"; do
      [ "$t" != cached ] && [ "$s" = duet-unsigned ] && continue
      qps=$(med "$t" "$s" 1) p50=$(med "$t" "$s" 3) p99=$(med "$t" "$s" 4) cpu=$(med "$t" "$s" 5)
      lost=$(col "$t" "$s" 6 | awk '{ n += $1 } END { print n + 0 }')
      codes=$(col "$t" "$s" 8 | head -1)
      printf '%-9s %-13s %8s %8s %8s %9s %7s %9s %6s %-15s %s\n' "$t" "$s" "$(fmt "$qps" 0)" \
        "$(fmt "$p50" 3)" "$(fmt "$p99" 3)" "$(fmt "$cpu" 2)" "$(ratio "$cpu" "$DUETCPU")" \
        "$(ratio "$cpu" "$UNBCPU")" "$lost" "${codes:--}" "$(per_round "$t" "$s" 5)"
    done
  done
  echo
  echo "lost = sum over the rounds; rcodes = the non-NOERROR share of round 1's answers (2 of the $NCACHED signed cached names are NXDOMAIN, 1 of the unsigned set)"
  echo "(${t_total}s of measuring)"
} | tee "$D/result.txt"
if [ -n "${BENCH_OUT:-}" ]; then cp "$D/result.txt" "$BENCH_OUT"; fi
