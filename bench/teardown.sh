#!/usr/bin/env bash
# bench/teardown.sh — the teardown lab: the seeds' TIME_WAIT / fin_timeout advice, measured.
#
#   bash bench/teardown.sh                 (as root; ~3 min)
#   BENCH_QUICK=1 bash bench/teardown.sh   (~1 min: 200 connections, 20 s of watching)
#
# Every setting gets its own network namespace (so every socket and counter in it is ours)
# with its own duet-origin (one worker, plain HTTP on 127.0.0.1:8080, HTTPS on :8443, a
# 300-byte page, keepalive-timeout = 1s) and its own net.ipv4.tcp_fin_timeout. A client
# (bench/teardown_lab.py) makes N short connections, one GET each, and every 0.5 s
# `ss -tano state time-wait state fin-wait-2 state close-wait` counts each state on each side
# (server side: sport = the listener's port; client side: dport = it) for the observation
# time. The settings:
#
#   server-first        close-first = server: duet ends the idle keep-alive connection at
#                       keepalive-timeout (1 s); the client closes when it sees the FIN
#   client-first        close-first = client: responses say "Keep-Alive: timeout=1", the
#                       client closes 0.5 s after its response, duet only after 1 + 5 s
#   server-first-tls, client-first-tls   the same over TLS (the client closes TCP without
#                       a close_notify)
#   linger-0            server-first with linger = 0 (SO_LINGER 0: close() sends RST)
#   linger-0-conn-close linger = 0, the client asks "Connection: close": duet sends no FIN,
#                       waits for the client's (or until the client acknowledged the whole
#                       response) and resets: no TIME_WAIT on either side
#   linger-5s           server-first with linger = 5s
#   fin-5               server-first with net.ipv4.tcp_fin_timeout = 5
#   fin-60-hold, fin-5-hold   tcp_fin_timeout 60 / 5, server-first, and a client that never
#                       closes its side: the server's FIN_WAIT_2 is orphaned (duet has
#                       closed), the client's side sits in CLOSE_WAIT
#   fin-knob-5s-hold    the same with the sysctl at 60 and the listener's fin-timeout = 5s
#                       (TCP_LINGER2, per socket)
#
# Then the table (peak/final per state per side, how long one FIN_WAIT_2 and one TIME_WAIT
# socket lived, the resets each namespace sent) and an SVG chart of the counts over time.
#
# Keep-alive probes: the kernel's defaults (tcp_keepalive_time/intvl/probes) beside duet's
# per-listener keepalive-probes, the probe timer as `ss -o` shows it, and a dead peer (its
# link taken down, so no ACK comes back) found after idle + interval x count. Server and
# client sit in two namespaces joined by a veth pair.
#
# Environment:
#   DUET_BUILD         build dir (default REPO/build); DUET_ORIGIN overrides the binary
#   BENCH_QUICK=1      200 connections, 20 s of watching per setting
#   BENCH_CONNS        connections per setting (default 2000; quick 200), 10..20000
#   BENCH_CONC         connections open at once while loading (default 400), 1..2000
#   BENCH_OBSERVE      seconds each setting is watched (default 80; quick 20), 5..200
#   BENCH_SETTINGS     subset of the settings above, space separated (default all)
#   BENCH_KEEPALIVE    0: skip the keep-alive probe part (default 1)
#   BENCH_KA_PROBES    the short keepalive-probes setting (default 2s:1s:3)
#   BENCH_OUT          also write the table to this file
#   BENCH_JSON         write each setting's figures (peaks, finals, lifetimes, counters) here
#   BENCH_SVG          the chart (default /tmp/duet-teardown-lab.svg)
#   BENCH_KEEP=1       keep the temp dir (configs, logs, samples.json)
# Exit status: 0 done, 77 prerequisite missing, 1 failure.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BENCH_NAME=teardown.sh BENCH_LOG_TAG=teardown
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"
BUILD=${DUET_BUILD:-$REPO/build}
DUET_ORIGIN=${DUET_ORIGIN:-$BUILD/origin/duet-origin}
QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then N=${BENCH_CONNS:-200} OBS=${BENCH_OBSERVE:-20}; else N=${BENCH_CONNS:-2000} OBS=${BENCH_OBSERVE:-80}; fi
CONC=${BENCH_CONC:-400}
KEEPALIVE=${BENCH_KEEPALIVE:-1}
KA_PROBES=${BENCH_KA_PROBES:-2s:1s:3}
SVG=${BENCH_SVG:-/tmp/duet-teardown-lab.svg}
ALL="server-first client-first server-first-tls client-first-tls linger-0 linger-0-conn-close linger-5s fin-5 fin-60-hold fin-5-hold fin-knob-5s-hold"
SETTINGS=${BENCH_SETTINGS:-$ALL}

[ "$(id -u)" -eq 0 ] || skip "must run as root (network namespaces)"
for t in ip ss openssl python3 awk; do
  command -v "$t" >/dev/null || skip "$t not installed"
done
[ -x "$DUET_ORIGIN" ] || skip "no $DUET_ORIGIN (build first: cmake -S . -B build && cmake --build build -j2)"
check_range BENCH_CONNS "$N" 10 20000
check_range BENCH_CONC "$CONC" 1 2000
check_range BENCH_OBSERVE "$OBS" 5 200
[[ $KA_PROBES =~ ^[0-9]+s:[0-9]+s:[0-9]+$ ]] || die "BENCH_KA_PROBES must look like 2s:1s:3"
for s in $SETTINGS; do
  case " $ALL " in *" $s "*) ;; *) die "unknown setting '$s' (one of: $ALL)" ;; esac
done
# Every held connection is an fd in the client; the daemon keeps one per open connection.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# ─── temp dir, cleanup ──────────────────────────────────────────────────────────────────
D=$(mktemp -d /tmp/duet-bench-teardown.XXXXXX)
TAG=dtd$$
NSES=()     # namespaces we made
NS_PID=()   # NS_PID[i]: the duet-origin of setting i
PIDS=()     # processes we started (daemons, idle clients)

cleanup() {
  local rc=$? p n
  trap - EXIT INT TERM
  for p in "${PIDS[@]}"; do stop_pid "$p" "pid"; done
  for n in "${NSES[@]}"; do ip netns del "$n" 2>/dev/null || true; done
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

mkns() { # NAME: a fresh namespace with loopback up
  ip netns add "$1" || die "cannot make network namespace $1"
  NSES+=("$1")
  ip -n "$1" link set lo up
}
in_ns() { ip netns exec "$@"; }
# (background processes are started with `ip netns exec` itself, not through in_ns: a
# function run with & is a subshell, and its PID is not the daemon's, which TERM would miss)

# ─── the site ───────────────────────────────────────────────────────────────────────────
SITE=$D/site
mkdir -p "$SITE"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj "/CN=lab.test" -addext "subjectAltName=DNS:lab.test" \
  -keyout "$D/key.pem" -out "$D/cert.pem" >/dev/null 2>&1 || die "openssl could not make a cert"
printf '<!doctype html>\n<html><head><title>teardown lab</title></head>\n<body><p>%s</p></body></html>\n' \
  "$(printf 'one short page, one short connection. %.0s' 1 2 3 4 5 6)" >"$SITE/index.html"
chmod -R a+rX "$D"
chmod 600 "$D/key.pem"

# start_origin NS CONF_BODY(listener lines): duet-origin in NS; sets ORIGIN_PID
start_origin() {
  local ns=$1 conf=$D/$1.conf
  cat >"$conf" <<EOF
# bench/teardown.sh, namespace $ns
workers = 1
user = ""
log-level = warn
access-log = off
control-socket = ""
keepalive-timeout = ${KA_TIMEOUT:-1s}
$2

[site lab]
server-name = lab.test
root = $SITE
cert = $D/cert.pem
key = $D/key.pem
default = yes
EOF
  "$DUET_ORIGIN" --check -c "$conf" >"$D/$ns.check" 2>&1 ||
    { cat "$D/$ns.check" >&2; die "duet-origin rejects $conf"; }
  ip netns exec "$ns" "$DUET_ORIGIN" -c "$conf" </dev/null >"$D/$ns.log" 2>&1 &
  ORIGIN_PID=$!
  PIDS+=("$ORIGIN_PID")
}
# finish: stop every daemon (a sanitizer build reports leaks at exit), then fail the run if
# a daemon logged an error or a sanitizer report
finish() {
  local p bad
  for p in "${PIDS[@]}"; do stop_pid "$p" "pid"; done
  PIDS=()
  mapfile -t bad < <(grep -l -E 'level=error|AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:' "$D"/*.log || true)
  [ "${#bad[@]}" -eq 0 ] || { cat "${bad[@]}" >&2; die "duet-origin reported errors: ${bad[*]}"; }
}
# wait_listen NS PORT PID: bounded wait for the listener
wait_listen() {
  local i
  for i in $(seq 1 250); do
    [ -z "$(in_ns "$1" ss -H -ltn "sport = :$2" 2>/dev/null)" ] || return 0
    kill -0 "$3" 2>/dev/null || { cat "$D/$1.log" >&2; die "duet-origin in $1 exited"; }
    sleep 0.02
  done
  die "duet-origin in $1 is not listening on :$2 after 5 s"
}

# ─── the matrix ─────────────────────────────────────────────────────────────────────────
# name -> sysctl tcp_fin_timeout | listener knobs | client mode | tls | description
declare -A FIN KNOBS MODE TLS DESC
def() { FIN[$1]=$2 KNOBS[$1]=$3 MODE[$1]=$4 TLS[$1]=$5 DESC[$1]=$6; }
def server-first 60 "close-first = server" ka no "close-first = server: duet closes idle keep-alive at 1 s"
def client-first 60 "close-first = client" ka no "close-first = client: Keep-Alive: timeout=1, the client closes first"
def server-first-tls 60 "close-first = server" ka yes "as server-first, HTTPS"
def client-first-tls 60 "close-first = client" ka yes "as client-first, HTTPS"
def linger-0 60 "close-first = server|linger = 0" ka no "server-first, linger = 0 (SO_LINGER 0)"
def linger-0-conn-close 60 "linger = 0" close no "linger = 0, Connection: close (the client's FIN first, then duet's RST)"
def linger-5s 60 "close-first = server|linger = 5s" ka no "server-first, linger = 5s"
def fin-5 5 "close-first = server" ka no "server-first, net.ipv4.tcp_fin_timeout = 5"
def fin-60-hold 60 "close-first = server" hold no "tcp_fin_timeout = 60, client never closes"
def fin-5-hold 5 "close-first = server" hold no "tcp_fin_timeout = 5, client never closes"
def fin-knob-5s-hold 60 "close-first = server|fin-timeout = 5s" hold no "fin-timeout = 5s on the listener (sysctl 60), client never closes"

PLAN=$D/plan.tsv
: >"$PLAN"
i=0
for s in $SETTINGS; do
  i=$((i + 1))
  ns=$TAG-$i
  mkns "$ns"
  # Loopback clients may take over their own TIME_WAIT ports (tcp_tw_reuse = 2, the
  # default, allows it on loopback) and a SYN can end a server-side TIME_WAIT with the same
  # ports: neither happens with real remote clients, so neither may shorten the counts.
  in_ns "$ns" sysctl -q -w net.ipv4.tcp_fin_timeout="${FIN[$s]}" net.ipv4.tcp_tw_reuse=0 \
    net.ipv4.ip_local_port_range="10000 65000" >/dev/null
  knobs=${KNOBS[$s]//|/$'\n'}
  start_origin "$ns" "[listen 127.0.0.1:8080]
tls = no
$knobs

[listen 127.0.0.1:8443]
tls = yes
$knobs"
  port=8080
  [ "${TLS[$s]}" = no ] || port=8443
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$ns" "$port" "${MODE[$s]}" "${TLS[$s]}" "$OBS" \
    "${DESC[$s]}" >>"$PLAN"
  NS_PID[i]=$ORIGIN_PID
done
i=0
for s in $SETTINGS; do
  i=$((i + 1))
  wait_listen "$TAG-$i" 8080 "${NS_PID[$i]}"
  wait_listen "$TAG-$i" 8443 "${NS_PID[$i]}"
done
log "$(echo "$SETTINGS" | wc -w) settings, $N connections each ($CONC at a time), each watched ${OBS}s"
python3 "$HERE/teardown_lab.py" observe --plan "$PLAN" --out "$D/samples.json" --n "$N" \
  --conc "$CONC" --max-seconds $((OBS + 60 * $(echo "$SETTINGS" | wc -w) + 60)) ||
  die "the observation failed"
i=0
for s in $SETTINGS; do
  i=$((i + 1))
  kill -0 "${NS_PID[$i]}" 2>/dev/null || { cat "$D/$TAG-$i.log" >&2; die "duet-origin of $s died"; }
done
echo
echo "== teardown: TIME_WAIT, FIN_WAIT_2, CLOSE_WAIT per side, per setting =="
python3 "$HERE/teardown_lab.py" report --samples "$D/samples.json" --svg "$SVG" \
  ${BENCH_OUT:+--table "$BENCH_OUT"} ${BENCH_JSON:+--json "$BENCH_JSON"}
echo "chart: $SVG"

# ─── keep-alive probes ──────────────────────────────────────────────────────────────────
[ "$KEEPALIVE" = 1 ] || { finish; exit 0; }
IFS=: read -r KA_IDLE KA_INTVL KA_CNT <<<"${KA_PROBES//s/}"
S=$TAG-kas C=$TAG-kac
mkns "$S"
mkns "$C"
ip link add "$TAG-s" netns "$S" type veth peer name "$TAG-c" netns "$C" || die "cannot make a veth pair"
ip -n "$S" addr add 198.18.0.1/24 dev "$TAG-s"
ip -n "$C" addr add 198.18.0.2/24 dev "$TAG-c"
ip -n "$S" link set "$TAG-s" up
ip -n "$C" link set "$TAG-c" up
KA_TIMEOUT=300s start_origin "$S" "[listen 198.18.0.1:8080]
tls = no
close-first = server

[listen 198.18.0.1:8081]
tls = no
close-first = server
keepalive-probes = 7200s:75s:9

[listen 198.18.0.1:8082]
tls = no
close-first = server
keepalive-probes = $KA_PROBES"
KPID=$ORIGIN_PID
for p in 8080 8081 8082; do wait_listen "$S" "$p" "$KPID"; done
echo
echo "== keep-alive probes =="
echo "kernel defaults (namespace $S): tcp_keepalive_time=$(in_ns "$S" sysctl -n net.ipv4.tcp_keepalive_time)" \
  "tcp_keepalive_intvl=$(in_ns "$S" sysctl -n net.ipv4.tcp_keepalive_intvl)" \
  "tcp_keepalive_probes=$(in_ns "$S" sysctl -n net.ipv4.tcp_keepalive_probes):" \
  "they apply only to a socket with SO_KEEPALIVE, which duet-origin sets only with keepalive-probes"
# idle_client PORT: one idle keep-alive connection from the client namespace; its local port
# in IDLE_PORT, its PID in PIDS (not run in a $(...) subshell: PIDS must be this shell's, or
# the clients outlive the script)
idle_client() {
  local out=$D/idle-$1.out i
  ip netns exec "$C" python3 "$HERE/teardown_lab.py" idle --host 198.18.0.1 --port "$1" --hold 120 >"$out" 2>&1 &
  PIDS+=("$!")
  for i in $(seq 1 250); do
    if [ -s "$out" ]; then IDLE_PORT=$(head -1 "$out"); return 0; fi
    sleep 0.02
  done
  die "the idle client of :$1 did not connect: $(cat "$out")"
}
idle_client 8080
P0=$IDLE_PORT
idle_client 8081
P1=$IDLE_PORT
idle_client 8082
P2=$IDLE_PORT
sleep 0.5
ssline() { in_ns "$S" ss -Htno state established "( sport = :$1 and dport = :$2 )"; }
timer_of() { grep -o 'timer:([^)]*)' <<<"$1" || echo "no timer"; }
printf '%-34s %s\n' "listener" "ss -o on the server side, idle connection"
printf '%-34s %s\n' ":8080 keepalive-probes = off" "$(timer_of "$(ssline 8080 "$P0")")"
printf '%-34s %s\n' ":8081 keepalive-probes = 7200s:75s:9" "$(timer_of "$(ssline 8081 "$P1")")"
printf '%-34s %s\n' ":8082 keepalive-probes = $KA_PROBES" "$(timer_of "$(ssline 8082 "$P2")")"
echo "live peer on :8082: each probe is answered, so no probe stays outstanding (ss prints"
echo "  1.460ms for 1 s 460 ms); a line each time the timer was re-armed:"
prev=999999
for i in $(seq 1 $(((KA_IDLE + KA_INTVL * 2) * 4))); do
  t=$(timer_of "$(ssline 8082 "$P2")")
  ms=$(sed -E 's/.*,([0-9]+)\.([0-9]+)ms,.*/\1\2/; s/.*,([0-9]+)ms,.*/\1/; s/.*,([0-9]+)sec,.*/\1000/' <<<"$t")
  [[ $ms =~ ^[0-9]+$ ]] || ms=0
  ms=$((10#$ms))
  [ "$ms" -le "$prev" ] || printf '  t=%5.2fs %s\n' "$(awk -v i="$i" 'BEGIN { print i * 0.25 }')" "$t"
  prev=$ms
  sleep 0.25
done
# A dead peer: a new connection, then the client's link goes down right after its response,
# so the server's probes reach nobody and no ACK returns.
idle_client 8082
P3=$IDLE_PORT
ip -n "$C" link set "$TAG-c" down
t0=$(now_us)
# The probes count from the last packet the server received (ss -i: lastrcv, lastack in ms).
since=$(in_ns "$S" ss -Htnio state established "( sport = :8082 and dport = :$P3 )" |
  awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^last(rcv|ack):/) { split($i, a, ":"); if (m == "" || a[2] < m) m = a[2] } }
       END { print (m == "" ? 0 : m) }')
echo "dead peer on :8082 (client link down at t=0, ${since} ms after the last packet the server received from it):"
gone=""
seen=""
limit=$(((KA_IDLE + KA_INTVL * KA_CNT + 10) * 10))
for i in $(seq 1 "$limit"); do
  line=$(ssline 8082 "$P3")
  el=$(( ($(now_us) - t0) / 1000 ))
  if [ -z "$line" ]; then gone=$el; break; fi
  t=$(timer_of "$line" | sed -E 's/,[^,]*,/,…,/')
  [ "$t" = "$seen" ] || { printf '  t=%5.2fs %s\n' "$(awk -v m="$el" 'BEGIN { print m / 1000 }')" "$(timer_of "$line")"; seen=$t; }
  sleep 0.1
done
expect=$((KA_IDLE + KA_INTVL * KA_CNT))
if [ -n "$gone" ]; then
  printf '  t=%5.2fs the connection is gone (the kernel reset it after %s unanswered probes)\n' \
    "$(awk -v m="$gone" 'BEGIN { print m / 1000 }')" "$KA_CNT"
  gone=$((gone + since))
  printf 'dead peer found %.1f s after its last packet; idle + interval x count = %d + %d x %d = %d s; with the kernel defaults: %d s\n' \
    "$(awk -v m="$gone" 'BEGIN { print m / 1000 }')" "$KA_IDLE" "$KA_INTVL" "$KA_CNT" "$expect" \
    "$(( $(in_ns "$S" sysctl -n net.ipv4.tcp_keepalive_time) + $(in_ns "$S" sysctl -n net.ipv4.tcp_keepalive_intvl) * $(in_ns "$S" sysctl -n net.ipv4.tcp_keepalive_probes) ))"
  [ -z "${BENCH_JSON:-}" ] || python3 - "$BENCH_JSON" "$gone" "$expect" <<'EOF'
import json, sys
p, gone, expect = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
d = json.load(open(p))
d["keepalive"] = {"detected_ms": gone, "expected_s": expect}
json.dump(d, open(p, "w"), indent=1)
EOF
else
  echo "dead peer NOT found within $((limit / 10)) s (expected $expect s)"
  exit 1
fi
finish
