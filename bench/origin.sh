#!/usr/bin/env bash
# bench/origin.sh — duet-origin vs nginx, side by side, HTTPS/HTTP/1.1 on loopback.
#
#   bash bench/origin.sh              (as root; ~2.5 min with the defaults)
#
# One self-signed ECDSA P-256 certificate, one site dir (1 KB index.html, 100 KB and 10 MB
# files); duet-origin and nginx with the same worker count, files, certificate and
# keep-alive limits, each on its own 127.0.0.1 port.  wrk runs the same scenarios against
# each, interleaved, BENCH_ROUNDS times:
#
#   small-ka     keep-alive GET /index.html (1 KB), 64 connections: request path cost
#   small-close  GET /index.html with "Connection: close" (bench/close.lua), 64 connections:
#                a new TCP connection + TLS handshake per request.  wrk keeps the TLS session
#                across its reconnects, so these are mostly *resumed* TLS 1.3 handshakes
#                (PSK + ECDHE, no certificate signature); see bench/README.md
#   100k-ka      keep-alive GET /100k.bin, 64 connections
#   10m-ka       keep-alive GET /10m.bin, 8 connections: bulk TLS throughput
#
# For each it prints requests/s, MB/s (wrk Transfer/sec), p50/p99 latency (wrk --latency),
# errors (socket errors + non-2xx), the servers' CPU time per request (all threads /
# processes, from /proc/PID/task/*/schedstat: robust when wrk is the bottleneck), and
# duet/nginx ratios.  The median round (by requests/s) is reported.
#
# Environment:
#   DUET_BUILD        build dir (default REPO/build); DUET_ORIGIN overrides the binary
#   BENCH_WORKERS     server workers, 1..8 (default 2): duet workers = nginx worker_processes
#   BENCH_PIN         auto | no (default auto): on >= 2 CPUs, both servers on CPU 1 and wrk
#                     (-t1) on CPU 0, so each side has one core and the servers never fight
#                     wrk; no: nothing pinned, wrk -t2
#   BENCH_SECONDS     wrk -d per measurement, 1..10 (default 5)
#   BENCH_ROUNDS      1..5 (default 3)
#   BENCH_SCENARIOS   subset, space separated (default "small-ka small-close 100k-ka 10m-ka")
#   BENCH_OUT         also write the result table to this file
#   BENCH_KEEP=1      keep the temp dir (configs, logs, raw wrk output)
# Exit status: 0 done, 77 prerequisite missing, 1 failure.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BUILD=${DUET_BUILD:-$REPO/build}
DUET_ORIGIN=${DUET_ORIGIN:-$BUILD/origin/duet-origin}
WORKERS=${BENCH_WORKERS:-2}
PIN=${BENCH_PIN:-auto}
SECS=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
SCENARIOS=${BENCH_SCENARIOS:-small-ka small-close 100k-ka 10m-ka}
KA_REQUESTS=100000

skip() { echo "bench/origin.sh: SKIP: $*" >&2; exit 77; }
die() { echo "bench/origin.sh: $*" >&2; exit 1; }
log() { echo "[bench] $*" >&2; }
now_us() { echo "${EPOCHREALTIME/./}"; }

[ "$(id -u)" -eq 0 ] || skip "must run as root (nginx runs as root in the foreground)"
for t in nginx wrk openssl curl ss taskset awk sort sha256sum; do
  command -v "$t" >/dev/null || skip "$t not installed"
done
[ -x "$DUET_ORIGIN" ] || skip "no $DUET_ORIGIN (build first: cmake -S . -B build && cmake --build build -j2)"
[ -r "$HERE/close.lua" ] || die "missing $HERE/close.lua"
[[ $WORKERS =~ ^[1-8]$ ]] || die "BENCH_WORKERS must be 1..8"
if ! [[ $SECS =~ ^[0-9]+$ ]] || [ "$SECS" -lt 1 ] || [ "$SECS" -gt 10 ]; then
  die "BENCH_SECONDS must be 1..10"
fi
[[ $ROUNDS =~ ^[1-5]$ ]] || die "BENCH_ROUNDS must be 1..5"
for s in $SCENARIOS; do
  case $s in small-ka|small-close|100k-ka|10m-ka) ;; *) die "unknown scenario '$s'" ;; esac
done

# ─── temp dir, cleanup ──────────────────────────────────────────────────────────────────
D=$(mktemp -d /tmp/duet-bench-origin.XXXXXX)
DUET_PID="" NGINX_PID=""

stop_pid() { # PID NAME: TERM, KILL after 5 s, reap
  local pid=$1 deadline
  [ -n "$pid" ] || return 0
  if kill -TERM "$pid" 2>/dev/null; then
    deadline=$(($(now_us) + 5000000))
    while kill -0 "$pid" 2>/dev/null; do
      if [ "$(now_us)" -ge "$deadline" ]; then
        echo "bench: $2 $pid ignored TERM; KILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
        break
      fi
      sleep 0.02
    done
  fi
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  # nginx workers exit with their master (TERM = fast shutdown); catch strays by PPID
  local strays=""
  [ -n "$NGINX_PID" ] && strays=$(ps -o pid= --ppid "$NGINX_PID" 2>/dev/null || true)
  stop_pid "$NGINX_PID" nginx
  if [ -n "$strays" ]; then
    # shellcheck disable=SC2086
    kill -KILL $strays 2>/dev/null || true
  fi
  stop_pid "$DUET_PID" duet-origin
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

port_busy() { [ -n "$(ss -H -lnt "sport = :$1" 2>/dev/null)" ]; }
pick_port() {
  local p=$1
  while port_busy "$p"; do p=$((p + 1)); [ "$p" -lt 65000 ] || die "no free port"; done
  echo "$p"
}
wait_tcp_port() { # PORT PID TIMEOUT_S
  local deadline=$(($(now_us) + $3 * 1000000))
  until [ -n "$(ss -H -lnt "sport = :$1" 2>/dev/null)" ]; do
    kill -0 "$2" 2>/dev/null || return 1
    [ "$(now_us)" -lt "$deadline" ] || return 1
    sleep 0.02
  done
}
cpu_ns_pids() { # CPU ns used so far by every thread of the given PIDs
  local s=0 p f a rest
  for p in "$@"; do
    for f in /proc/"$p"/task/*/schedstat; do
      read -r a rest <"$f" 2>/dev/null || continue
      s=$((s + a))
    done
  done
  echo "$s"
}

# ─── cert + site ────────────────────────────────────────────────────────────────────────
SITE=$D/site
mkdir -p "$SITE" "$D/nginx"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj "/CN=bench.test" -addext "subjectAltName=DNS:bench.test,IP:127.0.0.1" \
  -keyout "$D/key.pem" -out "$D/cert.pem" >/dev/null 2>&1 || die "openssl could not make a cert"
# exactly 1024 bytes of HTML
awk 'BEGIN {
  head = "<!doctype html>\n<html><head><title>duet bench</title></head><body>\n<p>"
  tail = "</p>\n</body></html>\n"
  body = ""
  for (n = 1024 - length(head) - length(tail); n > 0; n--) body = body ((n % 64 == 1) ? "\n" : "x")
  printf "%s%s%s", head, body, tail
}' >"$SITE/index.html"
openssl rand -out "$SITE/100k.bin" 102400
openssl rand -out "$SITE/10m.bin" 10485760
[ "$(stat -c %s "$SITE/index.html")" = 1024 ] || die "index.html is not 1024 bytes"

DUET_PORT=$(pick_port 18443)
NGINX_PORT=$(pick_port $((DUET_PORT + 1)))

if [ "$PIN" = auto ] && [ "$(nproc)" -ge 2 ]; then
  SERVER_CPU=1 CLIENT_CPU=0
  SRV_PIN=(taskset -c "$SERVER_CPU") CLI_PIN=(taskset -c "$CLIENT_CPU") WRK_T=1
  PIN_TXT="servers ($WORKERS workers each) pinned to CPU $SERVER_CPU, wrk -t1 pinned to CPU $CLIENT_CPU"
else
  SRV_PIN=() CLI_PIN=() WRK_T=2
  PIN_TXT="no pinning: servers ($WORKERS workers each) and wrk -t2 share all $(nproc) CPUs"
fi

# ─── duet-origin ────────────────────────────────────────────────────────────────────────
cat >"$D/duet-origin.conf" <<EOF
# bench/origin.sh
workers = $WORKERS
user = ""
log-level = warn
access-log = off
keepalive-timeout = 75s
keepalive-requests = $KA_REQUESTS

[listen 127.0.0.1:$DUET_PORT]
tls = yes

[site bench]
server-name = bench.test
root = $SITE
cert = $D/cert.pem
key = $D/key.pem
default = yes
EOF
"$DUET_ORIGIN" --check -c "$D/duet-origin.conf" >"$D/duet-check.out" 2>&1 ||
  { cat "$D/duet-check.out" >&2; die "duet-origin rejects its config"; }

# ─── nginx, configured as for production static HTTPS ───────────────────────────────────
N=$D/nginx
cat >"$N/nginx.conf" <<EOF
# bench/origin.sh
worker_processes $WORKERS;
user root;
error_log $N/error.log warn;
worker_rlimit_nofile 16384;
events {
    worker_connections 4096;
}
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    server_tokens off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 75s;
    keepalive_requests $KA_REQUESTS;
    open_file_cache max=1000 inactive=60s;
    open_file_cache_valid 60s;
    open_file_cache_errors on;
    client_body_temp_path $N/body;
    proxy_temp_path $N/proxy;
    fastcgi_temp_path $N/fastcgi;
    scgi_temp_path $N/scgi;
    uwsgi_temp_path $N/uwsgi;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers off;
    ssl_session_cache shared:SSL:10m;
    ssl_session_timeout 1h;
    ssl_session_tickets on;
    server {
        listen 127.0.0.1:$NGINX_PORT ssl reuseport;
        server_name bench.test;
        ssl_certificate $D/cert.pem;
        ssl_certificate_key $D/key.pem;
        root $SITE;
        index index.html;
    }
}
EOF
NGINX_G="daemon off; pid $N/nginx.pid;"
nginx -t -q -p "$N" -e "$N/error.log" -c "$N/nginx.conf" -g "$NGINX_G" >"$N/check.out" 2>&1 ||
  { cat "$N/check.out" "$N/error.log" >&2 2>/dev/null; die "nginx rejects its config"; }

# ─── start both ─────────────────────────────────────────────────────────────────────────
${SRV_PIN[@]+"${SRV_PIN[@]}"} "$DUET_ORIGIN" -c "$D/duet-origin.conf" </dev/null \
  >"$D/duet-origin.log" 2>&1 &
DUET_PID=$!
${SRV_PIN[@]+"${SRV_PIN[@]}"} nginx -p "$N" -e "$N/error.log" -c "$N/nginx.conf" -g "$NGINX_G" \
  </dev/null >"$N/stderr.log" 2>&1 &
NGINX_PID=$!
wait_tcp_port "$DUET_PORT" "$DUET_PID" 5 ||
  { tail -n 20 "$D/duet-origin.log" >&2; die "duet-origin not listening on :$DUET_PORT"; }
wait_tcp_port "$NGINX_PORT" "$NGINX_PID" 5 ||
  { tail -n 20 "$N/error.log" "$N/stderr.log" >&2; die "nginx not listening on :$NGINX_PORT"; }
deadline=$(($(now_us) + 5000000))
while [ "$(ps -o pid= --ppid "$NGINX_PID" | wc -l)" -lt "$WORKERS" ]; do
  [ "$(now_us)" -lt "$deadline" ] || die "nginx started fewer than $WORKERS workers"
  sleep 0.02
done
server_pids() { # NAME → every process of that server
  if [ "$1" = duet ]; then
    echo "$DUET_PID"
  else
    echo "$NGINX_PID"
    ps -o pid= --ppid "$NGINX_PID"
  fi
}
port_of() { if [ "$1" = duet ]; then echo "$DUET_PORT"; else echo "$NGINX_PORT"; fi; }

# ─── sanity: same bytes, same TLS ───────────────────────────────────────────────────────
for s in duet nginx; do
  p=$(port_of "$s")
  for f in index.html 100k.bin 10m.bin; do
    got=$(curl -sk --max-time 10 "https://127.0.0.1:$p/$f" | sha256sum | cut -d' ' -f1)
    want=$(sha256sum <"$SITE/$f" | cut -d' ' -f1)
    [ "$got" = "$want" ] || die "$s serves /$f wrong (sha256 $got, want $want)"
  done
  curl -sk -o /dev/null -D "$D/headers-$s.txt" "https://127.0.0.1:$p/index.html"
  openssl s_client -connect "127.0.0.1:$p" -servername bench.test </dev/null 2>/dev/null |
    awk '/^(New|Protocol|Cipher|Server Temp Key|Peer signature type)/' | sort -u >"$D/tls-$s.txt" || true
done
log "duet-origin: $DUET_ORIGIN  port $DUET_PORT (pid $DUET_PID)"
log "nginx:       $(nginx -v 2>&1 | sed 's/.*: //')  port $NGINX_PORT (pid $NGINX_PID)"
log "cpu: $PIN_TXT"
for s in duet nginx; do
  log "$s TLS: $(tr '\n' ';' <"$D/tls-$s.txt")"
  log "$s headers for /index.html: $(tr -d '\r' <"$D/headers-$s.txt" | tr '\n' '|')"
done

# ─── scenarios ──────────────────────────────────────────────────────────────────────────
scenario_args() { # SCENARIO → "connections path extra-args"
  case $1 in
    small-ka) echo "64 /index.html" ;;
    small-close) echo "64 /index.html -s $HERE/close.lua" ;;
    100k-ka) echo "64 /100k.bin" ;;
    10m-ka) echo "8 /10m.bin" ;;
  esac
}

# run wrk; print "rps MBps p50_ms p99_ms errors cpu_us_per_req requests"
measure() { # SERVER SCENARIO OUTFILE
  local s=$1 sc=$2 out=$3 c path extra c0 c1 pids
  read -r c path extra <<<"$(scenario_args "$sc")"
  pids=$(server_pids "$s")
  # shellcheck disable=SC2086
  c0=$(cpu_ns_pids $pids)
  # shellcheck disable=SC2086
  ${CLI_PIN[@]+"${CLI_PIN[@]}"} wrk -t"$WRK_T" -c"$c" -d"${SECS}s" --timeout 5s --latency $extra \
    "https://127.0.0.1:$(port_of "$s")$path" >"$out" 2>&1 || true
  # shellcheck disable=SC2086
  c1=$(cpu_ns_pids $pids)
  awk -v cpu=$((c1 - c0)) '
    function ms(v) {
      if (v ~ /us$/) return v * 0.001
      if (v ~ /ms$/) return v * 1
      if (v ~ /m$/) return v * 60000
      if (v ~ /s$/) return v * 1000
      return v
    }
    function mb(v) {
      if (v ~ /GB$/) return v * 1024
      if (v ~ /MB$/) return v * 1
      if (v ~ /KB$/) return v / 1024
      if (v ~ /B$/) return v / 1048576
      return v
    }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    / requests in / { reqs = $1 }
    /Socket errors:/ { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
    /Non-2xx or 3xx responses:/ { err += $NF }
    /^Requests\/sec:/ { rps = $2 }
    /^Transfer\/sec:/ { mbs = mb($2) }
    END {
      if (rps == "") { print "ERROR"; exit }
      printf "%.0f %.2f %.3f %.3f %d %.1f %d\n", rps, mbs, p50, p99, err,
        (reqs > 0 ? cpu / reqs / 1000 : 0), reqs
    }' "$out"
}

log "wrk -t$WRK_T -d${SECS}s --timeout 5s --latency; rounds: $ROUNDS (order alternates; median round by req/s)"
declare -A RES=()
t_start=$(now_us)
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then order="duet nginx"; else order="nginx duet"; fi
  for sc in $SCENARIOS; do
    for s in $order; do
      RES[$sc,$s,$r]=$(measure "$s" "$sc" "$D/wrk-$sc-$s-$r.out")
      log "round $r $sc $s: ${RES[$sc,$s,$r]}"
    done
  done
done
t_total=$((($(now_us) - t_start) / 1000000))
kill -0 "$DUET_PID" 2>/dev/null || die "duet-origin died during the run (see $D/duet-origin.log)"
kill -0 "$NGINX_PID" 2>/dev/null || die "nginx died during the run (see $N/error.log)"

# ─── the table ──────────────────────────────────────────────────────────────────────────
median_line() {
  local r
  for r in $(seq 1 "$ROUNDS"); do echo "${RES[$1,$2,$r]}"; done | grep -v '^ERROR' |
    sort -n -k1,1 | awk '{ l[NR] = $0 } END { if (NR) print l[int((NR + 1) / 2)] }'
}
all_rps() {
  local r out=""
  for r in $(seq 1 "$ROUNDS"); do out+="${RES[$1,$2,$r]%% *}/"; done
  echo "${out%/}"
}
{
  echo "duet-origin vs nginx $(nginx -v 2>&1 | sed 's/.*nginx\///') — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "TLS: $(grep -h '^New' "$D/tls-duet.txt" | head -1) (duet) | $(grep -h '^New' "$D/tls-nginx.txt" | head -1) (nginx); ECDSA P-256 cert"
  echo "$PIN_TXT; wrk -d${SECS}s; keepalive-requests $KA_REQUESTS both; median of $ROUNDS rounds"
  printf '%-12s %-11s %5s %9s %9s %8s %8s %6s %9s  %s\n' scenario server conns 'req/s' 'MB/s' p50_ms p99_ms errors 'cpu_us/req' 'req/s per round'
  for sc in $SCENARIOS; do
    read -r c _ <<<"$(scenario_args "$sc")"
    declare -a V_duet=() V_nginx=()
    for s in duet nginx; do
      m=$(median_line "$sc" "$s")
      [ -n "$m" ] || m="0 0 0 0 -1 0 0"
      read -r rps mbs p50 p99 err cpu _reqs <<<"$m"
      printf '%-12s %-11s %5s %9s %9s %8s %8s %6s %9s  %s\n' "$sc" "$s" "$c" "$rps" "$mbs" "$p50" \
        "$p99" "$err" "$cpu" "$(all_rps "$sc" "$s")"
      eval "V_$s=(\$rps \$mbs \$p50 \$p99 \$cpu)"
    done
    awk -v sc="$sc" -v r1="${V_duet[0]}" -v r2="${V_nginx[0]}" -v m1="${V_duet[1]}" -v m2="${V_nginx[1]}" \
      -v a1="${V_duet[2]}" -v a2="${V_nginx[2]}" -v p1="${V_duet[3]}" -v p2="${V_nginx[3]}" \
      -v c1="${V_duet[4]}" -v c2="${V_nginx[4]}" '
      function r(x, y) { return y > 0 ? sprintf("%.2fx", x / y) : "n/a" }
      BEGIN { printf "%-12s %-11s %5s %9s %9s %8s %8s %6s %9s\n", sc, "duet/nginx", "", r(r1, r2),
              r(m1, m2), r(a1, a2), r(p1, p2), "", r(c1, c2) }'
  done
  echo "ratios are duet/nginx: req/s and MB/s > 1 = duet faster; latency and cpu_us/req > 1 = duet slower"
  echo "(${t_total}s of measuring)"
} | tee "$D/result.txt"
if [ -n "${BENCH_OUT:-}" ]; then cp "$D/result.txt" "$BENCH_OUT"; fi
