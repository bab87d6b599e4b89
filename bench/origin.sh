#!/usr/bin/env bash
# bench/origin.sh — duet-origin beside nginx and h2o, HTTPS/HTTP/1.1 on loopback, one run.
#
#   bash bench/origin.sh              (as root; ~4 min with the defaults)
#
# One self-signed ECDSA P-256 certificate, one site dir (1 KB index.html, 5 KB page, 100 KB
# and 10 MB files); duet-origin, nginx and h2o with the same worker count, files,
# certificate and keep-alive limits, each on its own 127.0.0.1 port, all pinned to the same
# core.  wrk runs the same scenarios against each, BENCH_ROUNDS times, the server order
# alternating each round:
#
#   1k-ka        keep-alive GET /index.html (1 KB), 64 connections (not in the default set)
#   5k-ka        keep-alive GET /5k.html (5 KB), 64 connections: request path cost
#   tls-full     GET /index.html with "Connection: close" (bench/close.lua), 64 connections,
#                the client dropping its TLS session before each reconnect (bench/tlsshim.c,
#                BENCH_TLS_RESUME=0): a TCP connection + a full TLS 1.3 handshake (X25519 +
#                the server's ECDSA signature) per request
#   tls-resumed  the same with wrk's own session reuse: a TCP connection + a resumed TLS 1.3
#                handshake (ticket PSK + X25519, no signature) per request
#   100k-ka      keep-alive GET /100k.bin, 64 connections
#   10m-ka       keep-alive GET /10m.bin, 8 connections: bulk TLS throughput
#
# For each it prints requests/s, MB/s (wrk Transfer/sec), p50/p99 latency (wrk --latency),
# errors (socket errors + non-2xx), the server's CPU time per request (every thread of every
# process of the server, from /proc/PID/task/*/schedstat: robust when wrk is the bottleneck),
# and ratios to nginx; the kernel's share of that CPU and the ratio to nginx a server would
# reach on its kernel time alone (a bound no user-space work can pass); for the two
# handshake scenarios the share of handshakes that were resumptions, as wrk saw them
# (bench/tlsshim.c counts).  Every figure is the median of the
# rounds, column by column.
#
# Environment:
#   DUET_BUILD        build dir (default REPO/build); DUET_ORIGIN overrides the binary
#   BENCH_WORKERS     server workers, 1..8 (default 2): duet workers = nginx worker_processes
#                     = h2o num-threads
#   BENCH_PIN         auto | no (default auto): on >= 2 CPUs, every server on CPU 1 and wrk
#                     (-t1) on CPU 0, so each side has one core and the servers never fight
#                     wrk; no: nothing pinned, wrk -t2
#   BENCH_SECONDS     wrk -d per measurement, 1..10 (default 5)
#   BENCH_ROUNDS      1..5 (default 3)
#   BENCH_SCENARIOS   subset, space separated (default "5k-ka tls-full tls-resumed 100k-ka
#                     10m-ka"; also 1k-ka; the old names small-ka / small-close mean 1k-ka /
#                     tls-resumed)
#   BENCH_SUITES      own | same (default own): each server's own TLS 1.3 suite choice (nginx
#                     and h2o follow the client, AES256-GCM for wrk; duet prefers AES128-GCM),
#                     or nginx given duet's order and server preference (h2o 2.2 cannot be)
#   BENCH_OUT         also write the result table to this file
#   BENCH_KEEP=1      keep the temp dir (configs, logs, raw wrk output)
# Exit status: 0 done, 77 prerequisite missing, 1 failure.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BENCH_NAME=origin.sh
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"
BUILD=${DUET_BUILD:-$REPO/build}
DUET_ORIGIN=${DUET_ORIGIN:-$BUILD/origin/duet-origin}
WORKERS=${BENCH_WORKERS:-2}
PIN=${BENCH_PIN:-auto}
SECS=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
SCENARIOS=${BENCH_SCENARIOS:-5k-ka tls-full tls-resumed 100k-ka 10m-ka}
SERVERS=(duet nginx h2o)

[ "$(id -u)" -eq 0 ] || skip "must run as root (nginx and h2o run as root in the foreground)"
for t in nginx h2o wrk openssl curl ss taskset awk sort sha256sum cc; do
  command -v "$t" >/dev/null || skip "$t not installed (scripts/setup.sh installs it)"
done
[ -x "$DUET_ORIGIN" ] || skip "no $DUET_ORIGIN (build first: cmake -S . -B build && cmake --build build -j2)"
[ -r "$HERE/close.lua" ] || die "missing $HERE/close.lua"
check_range BENCH_WORKERS "$WORKERS" 1 8
check_range BENCH_SECONDS "$SECS" 1 10
check_range BENCH_ROUNDS "$ROUNDS" 1 5
sc_list=""
for s in $SCENARIOS; do
  case $s in
    small-ka) s=1k-ka ;;
    small-close) s=tls-resumed ;;
    1k-ka|5k-ka|tls-full|tls-resumed|100k-ka|10m-ka) ;;
    *) die "unknown scenario '$s'" ;;
  esac
  sc_list+="$s "
done
SCENARIOS=${sc_list% }

# ─── temp dir, cleanup ──────────────────────────────────────────────────────────────────
D=$(mktemp -d /tmp/duet-bench-origin.XXXXXX)
declare -A PID=() PORT=() # [server]: the process we started (nginx master, h2o, duet), its port

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  origin_cleanup "$rc" 5
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ─── cert + site + the wrk TLS shim ─────────────────────────────────────────────────────
origin_files # cert, site/index.html (1 KB), site/100k.bin (bench/lib.sh)
origin_html 5120 >"$SITE/5k.html"
openssl rand -out "$SITE/10m.bin" 10485760
[ "$(stat -c %s "$SITE/5k.html")" = 5120 ] || die "5k.html is not 5120 bytes"
FILES=(index.html 5k.html 100k.bin 10m.bin)
cc -shared -fPIC -O2 -Wall -Wextra -o "$D/tlsshim.so" "$HERE/tlsshim.c" -lssl -ldl \
  >"$D/tlsshim-build.out" 2>&1 || { cat "$D/tlsshim-build.out" >&2; die "bench/tlsshim.c does not build"; }

origin_pick_ports

bench_pin "$PIN" yes
if [ -n "$SERVER_CPU" ]; then
  WRK_T=1
  PIN_TXT="servers ($WORKERS workers each) pinned to CPU $SERVER_CPU, wrk -t1 pinned to CPU $CLIENT_CPU"
else
  WRK_T=2
  PIN_TXT="no pinning: servers ($WORKERS workers each) and wrk -t2 share all $(nproc) CPUs"
fi

# ─── duet-origin ────────────────────────────────────────────────────────────────────────
origin_duet_conf bench/origin.sh "$WORKERS" 75

# ─── nginx, configured as for production static HTTPS ───────────────────────────────────
# Each server picks its TLS 1.3 suite as it does out of the box: nginx and h2o take the
# client's first (wrk's OpenSSL lists AES256-GCM first), duet its own order (AES128-GCM).
# BENCH_SUITES=same gives nginx duet's order and server preference, to compare at one suite.
NGINX_PREFER=off NGINX_SUITES=""
case ${BENCH_SUITES:-own} in
  own) ;;
  same)
    NGINX_PREFER=on
    NGINX_SUITES="    ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256;"
    ;;
  *) die "BENCH_SUITES must be own or same" ;;
esac
origin_nginx_conf bench/origin.sh "$WORKERS" 16384 4096 75 "$NGINX_PREFER" "$NGINX_SUITES"

# ─── h2o ────────────────────────────────────────────────────────────────────────────────
origin_h2o_conf bench/origin.sh "$WORKERS" 8192 75

# ─── start all three ────────────────────────────────────────────────────────────────────
origin_start_servers "$WORKERS"

# ─── sanity: same bytes over HTTP/1.1, TLS 1.3 with the ECDSA cert, resumption works ────
declare -A RESUMES=()
for s in "${SERVERS[@]}"; do
  p=${PORT[$s]}
  for f in "${FILES[@]}"; do
    curl -sk --http1.1 --max-time 10 -o "$D/got-$s" "https://127.0.0.1:$p/$f" ||
      die "$s: curl /$f failed"
    [ "$(stat -c %s "$D/got-$s")" = "$(stat -c %s "$SITE/$f")" ] ||
      die "$s serves /$f with $(stat -c %s "$D/got-$s") bytes, want $(stat -c %s "$SITE/$f")"
    cmp -s "$D/got-$s" "$SITE/$f" || die "$s serves /$f with different bytes"
  done
  rm -f "$D/got-$s"
  curl -sk --http1.1 -o /dev/null -D "$D/headers-$s.txt" "https://127.0.0.1:$p/index.html"
  # a request, and -ign_eof: s_client reads until the server closes, so the TLS 1.3
  # tickets (sent after the handshake) are in the saved session
  printf 'GET /index.html HTTP/1.1\r\nHost: bench.test\r\nConnection: close\r\n\r\n' |
    timeout 10 openssl s_client -ign_eof -connect "127.0.0.1:$p" -servername bench.test \
    -sess_out "$D/sess-$s.pem" 2>/dev/null |
    awk '/^(New|Protocol|Cipher|Server Temp Key|Peer signature type)/' | sort -u >"$D/tls-$s.txt" || true
  grep -q 'TLSv1.3' "$D/tls-$s.txt" || die "$s does not negotiate TLS 1.3: $(tr '\n' ';' <"$D/tls-$s.txt")"
  grep -q 'ECDSA' "$D/tls-$s.txt" || die "$s does not sign with the ECDSA key: $(tr '\n' ';' <"$D/tls-$s.txt")"
  RESUMES[$s]=no
  if timeout 10 openssl s_client -connect "127.0.0.1:$p" -servername bench.test \
    -sess_in "$D/sess-$s.pem" </dev/null 2>/dev/null | grep -q '^Reused'; then RESUMES[$s]=yes; fi
  [ "${RESUMES[$s]}" = yes ] || die "$s does not resume a TLS 1.3 session from its ticket"
done
origin_log_servers
log "cpu: $PIN_TXT"
for s in "${SERVERS[@]}"; do
  log "$s TLS: $(tr '\n' ';' <"$D/tls-$s.txt") session resumed by openssl s_client: ${RESUMES[$s]}"
  log "$s headers for /index.html: $(tr -d '\r' <"$D/headers-$s.txt" | tr '\n' '|')"
done

# ─── scenarios ──────────────────────────────────────────────────────────────────────────
scenario_args() { # SCENARIO → "connections path resume(-|0|1) [wrk args]"
  case $1 in
    1k-ka) echo "64 /index.html -" ;;
    5k-ka) echo "64 /5k.html -" ;;
    tls-full) echo "64 /index.html 0 -s $HERE/close.lua" ;;
    tls-resumed) echo "64 /index.html 1 -s $HERE/close.lua" ;;
    100k-ka) echo "64 /100k.bin -" ;;
    10m-ka) echo "8 /10m.bin -" ;;
  esac
}

# run wrk; print "rps MBps p50_ms p99_ms errors cpu_us_per_req requests resumed_pct sys_pct"
measure() { # SERVER SCENARIO OUTFILE
  local s=$1 sc=$2 out=$3 c path resume extra c0 c1 t0 t1 pids pre=()
  read -r c path resume extra <<<"$(scenario_args "$sc")"
  [ "$resume" = - ] || pre=(env "BENCH_TLS_RESUME=$resume" "LD_PRELOAD=$D/tlsshim.so")
  pids=$(server_pids "$s")
  # shellcheck disable=SC2086
  c0=$(cpu_ns $pids)
  # shellcheck disable=SC2086
  t0=$(cpu_ticks $pids)
  # shellcheck disable=SC2086
  ${CLI_PIN[@]+"${CLI_PIN[@]}"} ${pre[@]+"${pre[@]}"} wrk -t"$WRK_T" -c"$c" -d"${SECS}s" \
    --timeout 5s --latency $extra "https://127.0.0.1:${PORT[$s]}$path" >"$out" 2>&1 || true
  # shellcheck disable=SC2086
  c1=$(cpu_ns $pids)
  # shellcheck disable=SC2086
  t1=$(cpu_ticks $pids)
  kill -0 "${PID[$s]}" 2>/dev/null || die "$s died during the run"
  awk -v cpu=$((c1 - c0)) -v t0="$t0" -v t1="$t1" '
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
    /^tlsshim:/ { split($3, f, "="); split($4, r, "="); full = f[2]; resumed = r[2] }
    END {
      if (rps == "") { print "ERROR"; exit }
      res = (full + resumed > 0) ? sprintf("%.1f", 100 * resumed / (full + resumed)) : "-"
      split(t0, a, " "); split(t1, b, " ")
      usr = b[1] - a[1]; sys = b[2] - a[2]
      printf "%.0f %.2f %.3f %.3f %d %.1f %d %s %.1f\n", rps, mbs, p50, p99, err,
        (reqs > 0 ? cpu / reqs / 1000 : 0), reqs, res, (usr + sys > 0 ? 100 * sys / (usr + sys) : 0)
    }' "$out"
}

log "wrk -t$WRK_T -d${SECS}s --timeout 5s --latency; scenarios: $SCENARIOS"
log "rounds: $ROUNDS (server order alternates; medians of the rounds)"
declare -A RES=()
t_start=$(now_us)
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then order=(duet nginx h2o); else order=(h2o nginx duet); fi
  for sc in $SCENARIOS; do
    for s in "${order[@]}"; do
      RES[$sc,$s,$r]=$(measure "$s" "$sc" "$D/wrk-$sc-$s-$r.out")
      log "round $r $sc $s: ${RES[$sc,$s,$r]}"
    done
  done
done
t_total=$((($(now_us) - t_start) / 1000000))

# ─── the table ──────────────────────────────────────────────────────────────────────────
col() { # SCENARIO SERVER FIELD → that field of every round
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
  echo "duet-origin vs $(origin_peer_versions) — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "TLS: $(for s in "${SERVERS[@]}"; do printf '%s %s; ' "$s" "$(grep -h '^New' "$D/tls-$s.txt" | head -1 | sed 's/^New, //')"; done)ECDSA P-256 cert; $PIN_TXT; wrk -d${SECS}s; every figure the median of $ROUNDS rounds (order alternating)"
  echo "cpu_us/req = server CPU (user+sys, all its processes and threads) per request; RATIOS ARE nginx/x FOR CPU (cpu_vs_nginx = nginx cpu_us/req / this server's: > 1 = less CPU per request than nginx, better) and x/nginx FOR req/s (> 1 = faster)"
  echo "sys% = the kernel's share of that CPU (utime/stime); bound = nginx cpu_us/req / this server's kernel time per request: the cpu_vs_nginx it would reach if its own user-space code (and OpenSSL's) cost nothing"
  printf '%-12s %-6s %5s %9s %9s %8s %8s %6s %10s %12s %11s %7s %5s %6s  %s\n' scenario server conns 'req/s' 'MB/s' p50_ms p99_ms errors 'cpu_us/req' 'cpu_vs_nginx' 'rps_vs_nginx' 'resumed' 'sys%' 'bound' 'cpu_us/req per round'
  for sc in $SCENARIOS; do
    read -r c _ <<<"$(scenario_args "$sc")"
    NCPU=$(med "$sc" nginx 6) NRPS=$(med "$sc" nginx 1)
    for s in "${SERVERS[@]}"; do
      rps=$(med "$sc" "$s" 1) mbs=$(med "$sc" "$s" 2) p50=$(med "$sc" "$s" 3) p99=$(med "$sc" "$s" 4)
      cpu=$(med "$sc" "$s" 6) res=$(med "$sc" "$s" 8) sysp=$(med "$sc" "$s" 9)
      ksys=$(awk -v c="$cpu" -v p="$sysp" 'BEGIN { printf "%.3f", c * p / 100 }')
      err=$(col "$sc" "$s" 5 | awk '{ n += $1 } END { print n + 0 }')
      [ "$res" = - ] || res="$(fmt "$res" 1)%"
      printf '%-12s %-6s %5s %9s %9s %8s %8s %6s %10s %12s %11s %7s %5s %6s  %s\n' "$sc" "$s" "$c" \
        "$(fmt "$rps" 0)" "$(fmt "$mbs" 2)" "$(fmt "$p50" 3)" "$(fmt "$p99" 3)" "$err" \
        "$(fmt "$cpu" 1)" "$(ratio "$NCPU" "$cpu")" "$(ratio "$rps" "$NRPS")" "$res" \
        "$(fmt "$sysp" 0)" "$(ratio "$NCPU" "$ksys")" "$(per_round "$sc" "$s" 6)"
    done
  done
  echo "errors = sum over the rounds; resumed = share of the handshakes wrk completed that were resumptions (bench/tlsshim.c; '-' = keep-alive, not counted)"
  echo "(${t_total}s of measuring)"
} | tee "$D/result.txt"
if [ -n "${BENCH_OUT:-}" ]; then cp "$D/result.txt" "$BENCH_OUT"; fi
