#!/usr/bin/env bash
# bench/profile.sh — profile duet's hot paths under the benchmark loads (and, with --peer,
# the same load against Unbound / nginx for an instructions-per-operation comparison).
#
#   bash bench/profile.sh resolver [--peer]   duet-resolver, cached answers (dnsperf)
#   bash bench/profile.sh resolver-miss [--peer]  duet-resolver, cache misses: the lab's
#                                             PROFILE_MISSES distinct hNNNN.bulk.example names
#                                             (default 2000), each asked once, after the
#                                             delegation to bulk.example is cached
#   bash bench/profile.sh resolver-signed-miss [--peer]  the same on the signed lab
#                                             (tests/lab/signed.sh): the PROFILE_MISSES
#                                             hNNNN.bulk.sig. names (alg 13, NSEC), validated
#                                             (dnssec = yes, the lab root's DS as the trust
#                                             anchor; the peer: Unbound's validator), after
#                                             ns1.bulk.sig. so the keys are cached
#   bash bench/profile.sh resolver-signed [--peer]  cached answers on the signed lab (12
#                                             secure names, as bench/resolver_signed.sh)
#   bash bench/profile.sh origin   [--peer]   duet-origin, keep-alive GET of a 1 KB file (wrk)
#   bash bench/profile.sh origin-close [--peer]   the same with "Connection: close" (a TCP
#                                             connection + resumed TLS handshake per request)
#   bash bench/profile.sh origin-full [--peer]    the same with a full TLS 1.3 handshake per
#                                             request (wrk under bench/tlsshim.c, no resumption)
#
# Tool (PROFILE_TOOL):
#   callgrind (default)  valgrind --tool=callgrind --instr-atstart=no; instrumentation switched
#                        on (callgrind_control -i on) only after startup and warm-up, off again
#                        before shutdown, so the profile holds only the load.  Instruction
#                        counts (Ir) are deterministic: compare Ir per query/request between
#                        builds and with the peer.  User space only (syscalls: use perf).
#   perf                 perf record -e cpu-clock -g on the running (native speed) daemon for
#                        the load's duration: user + kernel, sampled.
# Prints the totals, Ir (or samples) per operation, and the top functions exclusive and
# inclusive; keeps every file in the printed directory (PROFILE_DIR to choose it).
#
# Environment: DUET_BUILD (default REPO/build); PROFILE_QUERIES (resolver under callgrind,
# default 30000, sent at 3000 qps); PROFILE_MISSES (resolver-miss, default 2000, sent at
# 300 qps under callgrind); PROFILE_SECONDS (load duration: origin under callgrind,
# default 8; both under perf, default 5); PROFILE_TOP (rows, default 25); PROFILE_DIR;
# PROFILE_PATH (origin: the file wrk asks for, default /index.html (1 KB); also /100k.bin
# (cached) and /10m.bin (read in chunks)); PROFILE_DO=1: the resolver loads ask with DO=1
# (dnsperf -D; on the signed lab the answers then carry their RRSIGs).
# Exit status: 0 done, 77 prerequisite missing, 1 failure.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BUILD=${DUET_BUILD:-$REPO/build}
TOOL=${PROFILE_TOOL:-callgrind}
QUERIES=${PROFILE_QUERIES:-30000}
MISSES=${PROFILE_MISSES:-2000}
[[ $MISSES =~ ^[1-9][0-9]{0,5}$ ]] || { echo "profile.sh: PROFILE_MISSES must be 1..999999" >&2; exit 2; }
TOP=${PROFILE_TOP:-25}
OPATH=${PROFILE_PATH:-/index.html}
case $OPATH in /index.html|/100k.bin|/10m.bin) ;; *) echo "profile.sh: PROFILE_PATH must be /index.html, /100k.bin or /10m.bin" >&2; exit 2 ;; esac

BENCH_NAME=profile.sh BENCH_LOG_TAG=profile
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

WHAT=${1:-}
PEER=no
[ "${2:-}" = --peer ] && PEER=yes
LOAD=keepalive
SIGNED=no
case $WHAT in
  resolver|origin) ;;
  resolver-miss) WHAT=resolver LOAD=miss ;;
  resolver-signed) WHAT=resolver SIGNED=yes ;;
  resolver-signed-miss) WHAT=resolver LOAD=miss SIGNED=yes ;;
  origin-close) WHAT=origin LOAD=close ;;
  origin-full) WHAT=origin LOAD=full ;;
  *) echo "usage: $0 resolver|resolver-miss|resolver-signed|resolver-signed-miss|origin|origin-close|origin-full [--peer]" >&2; exit 2 ;;
esac
case $TOOL in callgrind|perf) ;; *) die "PROFILE_TOOL must be callgrind or perf" ;; esac
if [ "$TOOL" = callgrind ]; then SECS=${PROFILE_SECONDS:-8}; else SECS=${PROFILE_SECONDS:-5}; fi
if ! [[ $SECS =~ ^[0-9]+$ ]] || [ "$SECS" -lt 1 ] || [ "$SECS" -gt 30 ]; then
  die "PROFILE_SECONDS must be 1..30"
fi

[ "$(id -u)" -eq 0 ] || skip "must run as root"
need=(ss taskset awk)
if [ "$TOOL" = callgrind ]; then need+=(valgrind callgrind_control callgrind_annotate); else need+=(perf); fi
if [ "$WHAT" = resolver ]; then
  need+=(dnsperf dig nsd)
  [ "$SIGNED" = yes ] && need+=(ldns-signzone)
  [ "$PEER" = yes ] && need+=(unbound)
  BIN=${DUET_RESOLVER:-$BUILD/resolver/duet-resolver}
else
  need+=(wrk openssl curl)
  [ "$PEER" = yes ] && need+=(nginx)
  BIN=${DUET_ORIGIN:-$BUILD/origin/duet-origin}
fi
for t in "${need[@]}"; do command -v "$t" >/dev/null || skip "$t not installed"; done
[ -x "$BIN" ] || skip "no $BIN (build first)"
if [ "$TOOL" = perf ] && ! perf record -e cpu-clock -o /dev/null -- true >/dev/null 2>&1; then
  skip "perf record -e cpu-clock does not work here"
fi

D=${PROFILE_DIR:-$(mktemp -d "/tmp/duet-profile-$WHAT-$LOAD$([ "$SIGNED" = yes ] && echo -signed).XXXXXX")}
mkdir -p "$D"
PIDS=()         # every daemon we started, stopped by PID on exit
LAB_STARTED=no

cleanup() {
  local rc=$? p
  trap - EXIT INT TERM
  for p in ${PIDS[@]+"${PIDS[@]}"}; do stop_pid "$p" daemon 10; done
  if [ "$LAB_STARTED" = yes ]; then
    bash "$REPO/tests/lab/lab.sh" stop "$D/lab" >/dev/null 2>&1 || true
  elif [ "$LAB_STARTED" = signed ]; then
    bash "$REPO/tests/lab/signed.sh" stop "$D/lab" >/dev/null 2>&1 || true
  fi
  echo "profile: files in $D" >&2
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# run_profiled NAME OUTBASE CMD...: start CMD (under valgrind when callgrind), record its PID
run_profiled() {
  local name=$1 out=$2
  shift 2
  if [ "$TOOL" = callgrind ]; then
    taskset -c 1 valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out.callgrind" \
      --log-file="$out.valgrind.log" "$@" </dev/null >"$out.stderr" 2>&1 &
  else
    taskset -c 1 "$@" </dev/null >"$out.stderr" 2>&1 &
  fi
  LAST_PID=$!
  PIDS+=("$LAST_PID")
  log "$name: pid $LAST_PID ($TOOL)"
}
collect_on() { # PID
  if [ "$TOOL" = callgrind ]; then
    callgrind_control -i on "$1" >/dev/null 2>&1 || die "callgrind_control -i on $1 failed"
  else
    perf record -e cpu-clock -F 1999 -g -p "$1" -o "$2.perf.data" >"$2.perf.log" 2>&1 &
    PERF_PID=$!
    sleep 0.3
  fi
}
collect_off() { # PID OUTBASE
  if [ "$TOOL" = callgrind ]; then
    callgrind_control -i off "$1" >/dev/null 2>&1 || die "callgrind_control -i off $1 failed"
  else
    kill -INT "$PERF_PID" 2>/dev/null || true
    wait "$PERF_PID" 2>/dev/null || true
  fi
}
# report OUTBASE OPS UNIT: totals and top functions
report() {
  local out=$1 ops=$2 unit=$3 total
  if [ "$TOOL" = callgrind ]; then
    local f
    f=$out.callgrind
    [ -s "$f" ] || die "no callgrind output for $out"
    # "summary:" is written at start-up (0 with --instr-atstart=no); "totals:" at the dump
    total=$(awk '/^totals:/ { t = $2 } END { printf "%.0f\n", t + 0 }' "$f")  # > 2^31: no %g
    local units=${unit}s
    [ "$unit" = miss ] && units=misses
    echo "== $(basename "$out"): $total Ir for $ops $units = $((total / (ops > 0 ? ops : 1))) Ir per $unit"
    if [ "$unit" = request ] && [ "$LOAD" = keepalive ]; then
      # wrk's connections' handshakes are in the run too; how many requests share them
      # depends on the speed, so the steady-state figure leaves them out
      local hs
      hs=$(callgrind_annotate --inclusive=yes --threshold=100 "$f" 2>/dev/null |
        awk '/:SSL_do_handshake / && !n++ { gsub(/,/, "", $1); print $1 }')
      hs=${hs:-0}
      echo "== without the TLS handshakes (SSL_do_handshake, $hs Ir):" \
        "$(((total - hs) / (ops > 0 ? ops : 1))) Ir per $unit"
    fi
    echo "-- exclusive (self) --"
    callgrind_annotate --threshold=100 "$f" 2>/dev/null | awk -v top="$TOP" '
      /^-+$/ { sep++; next } sep >= 3 && NF && n < top { print; n++ }'
    echo "-- inclusive --"
    callgrind_annotate --inclusive=yes --threshold=100 "$f" 2>/dev/null | awk -v top="$TOP" '
      /^-+$/ { sep++; next } sep >= 3 && NF && n < top { print; n++ }'
  else
    local data=$out.perf.data
    perf report -i "$data" --stdio -n --no-children -g none --sort dso >"$out.perf.dso" 2>/dev/null || true
    perf report -i "$data" --stdio --no-children -g none --sort dso,sym >"$out.perf.self" 2>/dev/null || true
    perf report -i "$data" --stdio --children -g none --sort dso,sym >"$out.perf.children" 2>/dev/null || true
    awk -v ops="$ops" -v unit="$unit" -v name="$(basename "$out")" '
      !/^#/ && NF >= 3 { n += $2 }
      END { printf "== %s: %d cpu-clock samples at 1999 Hz for %d %s = %.1f us CPU per %s\n",
              name, n, ops, (unit == "miss" ? "misses" : unit "s"),
              (ops > 0 ? n / 1999 * 1e6 / ops : 0), unit }' "$out.perf.dso"
    echo "-- by DSO --"
    awk '!/^#/ && NF && n < 8 { print; n++ }' "$out.perf.dso"
    echo "-- exclusive (self) --"
    awk -v top="$TOP" '!/^#/ && NF && n < top { print; n++ }' "$out.perf.self"
    echo "-- inclusive (children) --"
    awk -v top="$TOP" '!/^#/ && NF && n < top { print; n++ }' "$out.perf.children"
  fi
}

# ─── resolver ───────────────────────────────────────────────────────────────────────────
profile_resolver() {
  # the signed lab: its own names, bulk zone, anchor and DNSSEC settings
  local names=$D/lab/names.dnsperf warmname=ns1.bulk.example duet_dnssec="" unb_modules=iterator
  local unb_anchor=""
  if [ "$SIGNED" = yes ]; then
    log "starting the signed lab in $D/lab"
    LAB_STARTED=signed
    SLAB_BULK_COUNT=$MISSES bash "$REPO/tests/lab/signed.sh" start "$D/lab" >"$D/lab.out" 2>&1 ||
      { cat "$D/lab.out" >&2; die "the signed lab did not start"; }
    names=$D/lab/bulk.dnsperf warmname=ns1.bulk.sig
    duet_dnssec="dnssec = yes
trust-anchor-file = $D/lab/root.ds"
    unb_modules="validator iterator"
    unb_anchor="trust-anchor-file: \"$D/lab/root.ds\""
  else
    log "starting the lab in $D/lab"
    LAB_BULK_COUNT=$MISSES bash "$REPO/tests/lab/lab.sh" start "$D/lab" >"$D/lab.out" 2>&1 ||
      { cat "$D/lab.out" >&2; die "lab did not start"; }
    LAB_STARTED=yes
  fi
  if [ "$SIGNED" = yes ]; then
    cat >"$D/cached.txt" <<EOF
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
  else
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
  fi
  local servers=(duet) s port name type ndone rate load
  [ "$PEER" = yes ] && servers+=(unbound)
  # callgrind: a fixed number of queries, paced (the daemon runs ~50x slower under valgrind)
  # so nothing times out; perf: full speed for PROFILE_SECONDS
  if [ "$LOAD" = miss ]; then
    # every name once; under callgrind a miss costs ~50x: paced so nothing times out
    load=(-d "$names" -n 1)
    if [ "$TOOL" = callgrind ]; then rate=(-Q 300 -l 120); else rate=(-l 60); fi
  elif [ "$TOOL" = callgrind ]; then
    load=(-d "$D/cached.txt")
    rate=(-Q 3000 -n $(((QUERIES + 11) / 12)) -l 60)
  else
    load=(-d "$D/cached.txt")
    rate=(-l "$SECS")
  fi
  for s in "${servers[@]}"; do
    port=$(pick_port 15453)
    if [ "$s" = duet ]; then
      cat >"$D/duet-resolver.conf" <<EOF
listen = 127.0.0.1:$port
workers = 1
user = ""
log-level = warn
root-hints = $D/lab/root.hints
query-loopback = yes
qname-minimisation = yes
outgoing-address = 0.0.0.0
cache-size = 64M
$duet_dnssec
EOF
      run_profiled duet-resolver "$D/resolver-duet" "$BIN" -c "$D/duet-resolver.conf"
    else
      cat >"$D/unbound.conf" <<EOF
server:
    interface: 127.0.0.1@$port
    interface-automatic: no
    so-reuseport: yes
    access-control: 127.0.0.0/8 allow
    num-threads: 1
    do-ip6: no
    username: ""
    chroot: ""
    directory: "$D"
    pidfile: ""
    use-syslog: no
    logfile: ""
    verbosity: 0
    root-hints: "$D/lab/root.hints"
    do-not-query-localhost: no
    module-config: "$unb_modules"
    $unb_anchor
    qname-minimisation: yes
    local-zone: "test." nodefault
    msg-cache-size: 32m
    rrset-cache-size: 32m
remote-control:
    control-enable: no
EOF
      run_profiled unbound "$D/resolver-unbound" unbound -d -c "$D/unbound.conf"
    fi
    local pid=$LAST_PID
    wait_port u "$port" "$pid" 60 || die "$s not listening on :$port (see $D/resolver-$s.*)"
    if [ "$LOAD" = miss ]; then
      # cache the delegation to the bulk zone (not one of the names; on the signed lab its
      # keys too), not profiled
      dig @127.0.0.1 -p "$port" +time=5 +tries=2 "$warmname" A >/dev/null 2>&1 || true
    else
      # warm the cache (not profiled): every name twice
      while read -r name type; do
        dig @127.0.0.1 -p "$port" +time=5 +tries=2 "$name" "$type" >/dev/null 2>&1 || true
        dig @127.0.0.1 -p "$port" +time=5 +tries=2 "$name" "$type" >/dev/null 2>&1 || true
      done <"$D/cached.txt"
    fi
    collect_on "$pid" "$D/resolver-$s"
    [ "${PROFILE_DO:-0}" = 1 ] && load+=(-D)
    taskset -c 0 dnsperf -s 127.0.0.1 -p "$port" "${load[@]}" -T 1 -c 10 -q 100 \
      "${rate[@]}" >"$D/resolver-$s.dnsperf" 2>&1 || true
    collect_off "$pid" "$D/resolver-$s"
    ndone=$(awk '/Queries completed:/ { print $3 }' "$D/resolver-$s.dnsperf")
    [ -n "$ndone" ] || die "dnsperf failed: $(tail -5 "$D/resolver-$s.dnsperf")"
    grep -E 'Queries (completed|lost)|Queries per second' "$D/resolver-$s.dnsperf" | sed 's/^ */  /' >&2
    stop_pid "$pid" "$s" 60
    local unit=query
    [ "$LOAD" = miss ] && unit=miss
    report "$D/resolver-$s" "$ndone" "$unit" | tee "$D/resolver-$s.report"
  done
}

# ─── origin ─────────────────────────────────────────────────────────────────────────────
profile_origin() {
  local site=$D/site servers=(duet) s port pid reqs
  mkdir -p "$site" "$D/nginx"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=bench.test" -addext "subjectAltName=DNS:bench.test,IP:127.0.0.1" \
    -keyout "$D/key.pem" -out "$D/cert.pem" >/dev/null 2>&1 || die "openssl could not make a cert"
  awk 'BEGIN { for (i = 0; i < 1023; i++) printf "x"; printf "\n" }' >"$site/index.html"
  head -c 102400 /dev/urandom >"$site/100k.bin"
  head -c 10485760 /dev/urandom >"$site/10m.bin"
  [ "$PEER" = yes ] && servers+=(nginx)
  for s in "${servers[@]}"; do
    port=$(pick_port 18543)
    if [ "$s" = duet ]; then
      cat >"$D/duet-origin.conf" <<EOF
workers = 1
user = ""
log-level = warn
access-log = off
keepalive-requests = 100000
[listen 127.0.0.1:$port]
tls = yes
[site bench]
server-name = bench.test
root = $site
cert = $D/cert.pem
key = $D/key.pem
default = yes
EOF
      run_profiled duet-origin "$D/origin-duet" "$BIN" -c "$D/duet-origin.conf"
    else
      cat >"$D/nginx/nginx.conf" <<EOF
worker_processes 1;
user root;
error_log $D/nginx/error.log warn;
events { worker_connections 4096; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on; tcp_nopush on; tcp_nodelay on;
    keepalive_timeout 75s; keepalive_requests 100000;
    open_file_cache max=1000 inactive=60s;
    client_body_temp_path $D/nginx/body; proxy_temp_path $D/nginx/proxy;
    fastcgi_temp_path $D/nginx/fastcgi; scgi_temp_path $D/nginx/scgi; uwsgi_temp_path $D/nginx/uwsgi;
    ssl_protocols TLSv1.2 TLSv1.3; ssl_prefer_server_ciphers off;
    ssl_session_cache shared:SSL:10m; ssl_session_tickets on;
    server {
        listen 127.0.0.1:$port ssl;
        ssl_certificate $D/cert.pem; ssl_certificate_key $D/key.pem;
        root $site;
    }
}
EOF
      # one process (no master): the profile holds the worker's request path
      run_profiled nginx "$D/origin-nginx" nginx -p "$D/nginx" -e "$D/nginx/error.log" \
        -c "$D/nginx/nginx.conf" -g "daemon off; master_process off; pid $D/nginx/nginx.pid;"
    fi
    pid=$LAST_PID
    wait_port t "$port" "$pid" 60 || die "$s not listening on :$port (see $D/origin-$s.*)"
    curl -sk --max-time 30 -o /dev/null "https://127.0.0.1:$port/index.html" || die "$s does not serve"
    collect_on "$pid" "$D/origin-$s"
    local extra=() pre=()
    [ "$LOAD" = keepalive ] || extra=(-s "$HERE/close.lua")
    if [ "$LOAD" = full ]; then
      [ -f "$D/tlsshim.so" ] || cc -shared -fPIC -O2 -o "$D/tlsshim.so" "$HERE/tlsshim.c" -lssl -ldl ||
        die "bench/tlsshim.c does not build"
      pre=(env BENCH_TLS_RESUME=0 "LD_PRELOAD=$D/tlsshim.so")
    fi
    ${pre[@]+"${pre[@]}"} taskset -c 0 wrk -t1 -c8 -d"${SECS}s" --timeout 10s ${extra[@]+"${extra[@]}"} \
      "https://127.0.0.1:$port$OPATH" >"$D/origin-$s.wrk" 2>&1 || true
    collect_off "$pid" "$D/origin-$s"
    reqs=$(awk '/ requests in / { print $1 }' "$D/origin-$s.wrk")
    [ -n "$reqs" ] || die "wrk failed: $(tail -5 "$D/origin-$s.wrk")"
    grep -E 'requests in|Requests/sec|errors' "$D/origin-$s.wrk" | sed 's/^ */  /' >&2
    stop_pid "$pid" "$s" 60
    report "$D/origin-$s" "$reqs" request | tee "$D/origin-$s.report"
  done
}

"profile_$WHAT"
