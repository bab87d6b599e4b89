#!/usr/bin/env bash
# bench/idle.sh — what an idle TLS keep-alive connection costs in memory: duet-origin beside
# nginx and h2o.
#
#   bash bench/idle.sh                 (as root; ~1 min with the defaults)
#
# The same certificate (self-signed ECDSA P-256), site and server settings as
# bench/origin.sh, with one worker each (duet workers = nginx worker_processes = h2o
# num-threads = 1) and keep-alive and first-request timeouts of 120 s (duet keepalive-timeout
# and header-timeout, nginx keepalive_timeout and client_header_timeout, h2o
# http1-request-timeout), every server pinned to one core and the client to the other. For each server in turn, bench/idleconn.c (built here with cc):
#   1. warm-up: 100 connections, one request each, closed (file cache, OpenSSL's lazy
#      set-up, the allocator's first arenas are then paid before the baseline);
#   2. baseline: the server's memory with no client connection;
#   3. N connections (BENCH_IDLE_CONNS, default 10000), each a full TLS 1.3 handshake and
#      one keep-alive GET of BENCH_IDLE_PATH (default /index.html, 1 KB) read to its end,
#      then left idle;
#   4. once every one is idle, BENCH_IDLE_SETTLE seconds later: the memory again, and the
#      server's established connections on its port (ss), which must be N;
#   5. the client resets every connection and exits.
# Memory is the sum over every process of the server (nginx master + worker; h2o and its
# neverbleed key process; duet-origin) of Pss from /proc/PID/smaps_rollup — proportional set
# size: a page shared by the nginx master and its worker counts once, not twice, as summing
# VmRSS would. Rss (same file) is printed beside it. Per connection = (after - before) / N.
# Kernel socket buffers are not in either figure (they are the same for all three).
#
# Environment:
#   DUET_BUILD        build dir (default REPO/build); DUET_ORIGIN overrides the binary
#   BENCH_IDLE_CONNS  idle connections per server, 100..100000 (default 10000); the open-file
#                     hard limit must exceed it (the script raises the soft limit to it)
#   BENCH_IDLE_PATH   what each connection asks for before it goes idle: /index.html (1 KB,
#                     default), /100k.bin (100 KB: the response's buffers have been used), or
#                     - (no request: idle right after the handshake, as a browser's preconnect)
#   BENCH_IDLE_SETTLE seconds between the last connection going idle and the measurement,
#                     0..30 (default 2)
#   BENCH_PIN         auto | no (default auto), as bench/origin.sh
#   BENCH_OUT         also write the result table to this file
#   BENCH_KEEP=1      keep the temp dir (configs, logs, the client's output)
# Exit status: 0 done, 77 prerequisite missing, 1 failure.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BENCH_NAME=idle.sh
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"
BUILD=${DUET_BUILD:-$REPO/build}
DUET_ORIGIN=${DUET_ORIGIN:-$BUILD/origin/duet-origin}
CONNS=${BENCH_IDLE_CONNS:-10000}
SETTLE=${BENCH_IDLE_SETTLE:-2}
IPATH=${BENCH_IDLE_PATH:-/index.html}
PIN=${BENCH_PIN:-auto}
WARMUP=100
KEEPALIVE_S=120
SERVERS=(duet nginx h2o)

[ "$(id -u)" -eq 0 ] || skip "must run as root (nginx and h2o run as root in the foreground)"
for t in nginx h2o openssl curl ss taskset awk cc; do
  command -v "$t" >/dev/null || skip "$t not installed (scripts/setup.sh installs it)"
done
[ -x "$DUET_ORIGIN" ] || skip "no $DUET_ORIGIN (build first: cmake -S . -B build && cmake --build build -j2)"
[ -r /proc/self/smaps_rollup ] || skip "no /proc/PID/smaps_rollup (Linux >= 4.14)"
check_range BENCH_IDLE_CONNS "$CONNS" 100 100000
check_range BENCH_IDLE_SETTLE "$SETTLE" 0 30
case $IPATH in
  /index.html|/100k.bin|-) ;;
  *) die "BENCH_IDLE_PATH must be /index.html, /100k.bin or - (got '$IPATH')" ;;
esac
# Client and servers each hold CONNS sockets (+ listeners, logs, epoll): raise the soft
# limit, which the children inherit, as far as the hard limit allows.
NOFILE=$((CONNS + CONNS / 8 + 256))
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$NOFILE" ]; then
  skip "open-file hard limit $hard < $NOFILE (lower BENCH_IDLE_CONNS or raise the limit)"
fi
ulimit -n "$NOFILE" || die "cannot raise the open-file limit to $NOFILE"

# ─── temp dir, cleanup ──────────────────────────────────────────────────────────────────
D=$(mktemp -d /tmp/duet-bench-idle.XXXXXX)
declare -A PID=() PORT=() # [server]: the process we started (nginx master, h2o, duet), its port
CLIENT_PID=""

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pid "$CLIENT_PID" idleconn
  origin_cleanup "$rc" 10
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ─── cert, site, client ─────────────────────────────────────────────────────────────────
origin_files # cert, site/index.html (1 KB), site/100k.bin (bench/lib.sh)
cc -O2 -Wall -Wextra -o "$D/idleconn" "$HERE/idleconn.c" -lssl -lcrypto \
  >"$D/idleconn-build.out" 2>&1 || { cat "$D/idleconn-build.out" >&2; die "bench/idleconn.c does not build"; }

origin_pick_ports
bench_pin "$PIN" yes
if [ -n "$SERVER_CPU" ]; then
  PIN_TXT="servers (1 worker each) pinned to CPU $SERVER_CPU, client to CPU $CLIENT_CPU"
else
  PIN_TXT="no pinning"
fi

# ─── configurations (lib.sh, as origin.sh's): one worker, long keep-alive, room for CONNS
origin_duet_conf bench/idle.sh 1 "$KEEPALIVE_S" "header-timeout = ${KEEPALIVE_S}s
max-connections = $((CONNS + 64))"
# nginx starts closing idle keep-alive connections (32 at a time) once fewer than 1/16 of
# worker_connections are free: leave it more than that
origin_nginx_conf bench/idle.sh 1 "$NOFILE" "$((CONNS + CONNS / 8 + 128))" "$KEEPALIVE_S" off \
  "    client_header_timeout ${KEEPALIVE_S}s;"
origin_h2o_conf bench/idle.sh 1 "$((CONNS + 64))" "$KEEPALIVE_S"

# ─── start all three ────────────────────────────────────────────────────────────────────
origin_start_servers 1

for s in "${SERVERS[@]}"; do
  curl -sk --http1.1 --max-time 10 -o "$D/got-$s" "https://127.0.0.1:${PORT[$s]}/index.html" ||
    die "$s: curl /index.html failed"
  cmp -s "$D/got-$s" "$SITE/index.html" || die "$s serves /index.html with different bytes"
done

# ─── measuring ──────────────────────────────────────────────────────────────────────────
# mem_kib PID...: "PSS RSS" in KiB, summed over the processes
mem_kib() {
  local p pss=0 rss=0 a b
  for p in "$@"; do
    read -r a b < <(awk '/^Pss:/ { pss = $2 } /^Rss:/ { rss = $2 } END { print pss + 0, rss + 0 }' \
      "/proc/$p/smaps_rollup" 2>/dev/null) || continue
    pss=$((pss + a)) rss=$((rss + b))
  done
  echo "$pss $rss"
}
established() { # PORT: server-side established connections on it
  ss -Htn state established "sport = :$1" 2>/dev/null | wc -l
}
# wait_idle_port PORT TIMEOUT_S: until no connection to PORT is established (warm-up gone)
wait_idle_port() {
  local deadline=$(($(now_us) + $2 * 1000000))
  while [ "$(established "$1")" -gt 0 ]; do
    [ "$(now_us)" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}
# client N READY_FILE HOLD_S OUT: starts idleconn in the background (CLIENT_PID)
client() {
  rm -f "$2"
  ${CLI_PIN[@]+"${CLI_PIN[@]}"} "$D/idleconn" 127.0.0.1 "$PORT_NOW" "$1" "$IPATH" "$3" "$2" \
    >"$4" 2>&1 &
  CLIENT_PID=$!
}
# wait_ready FILE TIMEOUT_S: until the client wrote its ready line
wait_ready() {
  local deadline=$(($(now_us) + $2 * 1000000))
  until [ -s "$1" ]; do
    kill -0 "$CLIENT_PID" 2>/dev/null || return 1
    [ "$(now_us)" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

origin_log_servers
log "cpu: $PIN_TXT; $CONNS idle connections per server; open-file limit $(ulimit -n)"
declare -A RES=()
for s in "${SERVERS[@]}"; do
  PORT_NOW=${PORT[$s]}
  pids=$(server_pids "$s")
  client "$WARMUP" "$D/ready-warm-$s" 1 "$D/client-warm-$s.out"
  wait_ready "$D/ready-warm-$s" 60 || die "$s: warm-up client failed: $(cat "$D/client-warm-$s.out")"
  stop_pid "$CLIENT_PID" idleconn 10
  CLIENT_PID=""
  wait_idle_port "$PORT_NOW" 10 || die "$s: warm-up connections still open after 10 s"
  sleep 1
  # shellcheck disable=SC2086
  read -r pss0 rss0 <<<"$(mem_kib $pids)"
  client "$CONNS" "$D/ready-$s" $((KEEPALIVE_S - 30)) "$D/client-$s.out"
  wait_ready "$D/ready-$s" 150 || die "$s: client did not finish setting up: $(cat "$D/client-$s.out")"
  sleep "$SETTLE"
  # shellcheck disable=SC2086
  read -r pss1 rss1 <<<"$(mem_kib $pids)"
  est=$(established "$PORT_NOW")
  ready=$(cat "$D/ready-$s")
  stop_pid "$CLIENT_PID" idleconn 10
  CLIENT_PID=""
  kill -0 "${PID[$s]}" 2>/dev/null || die "$s died during the run"
  idle=$(sed -n 's/.*idle=\([0-9]*\).*/\1/p' <<<"$ready")
  closed=$(sed -n 's/.*closed_by_server=\([0-9]*\).*/\1/p' "$D/client-$s.out")
  log "$s: $ready; server side established=$est; closed by the server while held=${closed:-?}; pss ${pss0}->${pss1} KiB, rss ${rss0}->${rss1} KiB"
  [ "${idle:-0}" -gt 0 ] || die "$s: no connection went idle ($ready)"
  [ "$est" -ge "$idle" ] || log "WARNING: $s: only $est of $idle connections established at measurement"
  RES[$s]="$idle $est $pss0 $pss1 $rss0 $rss1 ${closed:-?}"
  wait_idle_port "$PORT_NOW" 20 || log "WARNING: $s: connections still open 20 s after the client exited"
done

# ─── the table ──────────────────────────────────────────────────────────────────────────
per_conn() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.2f\n", (b - a) / n }'; }
read -r _ _ np0 np1 _ _ _ <<<"${RES[nginx]}"
read -r nidle _ _ _ _ _ _ <<<"${RES[nginx]}"
NGINX_KIB=$(per_conn "$np0" "$np1" "$nidle")
{
  echo "idle TLS keep-alive connections: duet-origin vs $(origin_peer_versions) — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs"
  if [ "$IPATH" = - ]; then what="no request"; else what="one keep-alive GET $IPATH"; fi
  echo "$CONNS connections per server, each a full TLS 1.3 handshake (ECDSA P-256, X25519) + $what, then idle; $PIN_TXT; measured ${SETTLE}s after the last went idle"
  echo "KiB/conn = (Pss after - Pss before) / idle connections, Pss summed over every process of the server (/proc/PID/smaps_rollup); rss_KiB/conn the same from Rss; x_nginx = this server's KiB/conn / nginx's (< 1 = less memory per idle connection than nginx)"
  printf '%-6s %6s %6s %11s %11s %9s %12s %8s %7s\n' server idle estab pss0_KiB pss1_KiB KiB/conn rss_KiB/conn x_nginx closed
  for s in "${SERVERS[@]}"; do
    read -r idle est p0 p1 r0 r1 closed <<<"${RES[$s]}"
    kib=$(per_conn "$p0" "$p1" "$idle")
    printf '%-6s %6s %6s %11s %11s %9s %12s %8s %7s\n' "$s" "$idle" "$est" "$p0" "$p1" "$kib" \
      "$(per_conn "$r0" "$r1" "$idle")" "$(ratio "$kib" "$NGINX_KIB")" "$closed"
  done
  echo "closed = connections the server closed while they were held idle (should be 0)"
} | tee "$D/result.txt"
if [ -n "${BENCH_OUT:-}" ]; then cp "$D/result.txt" "$BENCH_OUT"; fi
