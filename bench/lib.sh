# shellcheck shell=bash
# bench/lib.sh — shell pieces shared by the bench/*.sh scripts.
# Source it after setting BENCH_NAME (used in messages):
#
#   BENCH_NAME=resolver.sh; . "$HERE/lib.sh"
#
# Provides: skip / die / log / now_us; port_busy / pick_port / wait_port (bounded);
# stop_pid (TERM, KILL after a deadline, reap); descendants; cpu_ns (schedstat CPU of PIDs);
# cpu_ticks (their user/system split);
# bench_pin (CPU pinning choice); median / ratio (numbers); check_range (knob validation);
# dnsperf_measure (one dnsperf run: QPS, latency, server CPU per query); kresd_ctl_sock;
# for origin.sh and idle.sh, duet-origin, nginx and h2o side by side: origin_files,
# origin_pick_ports, origin_{duet,nginx,h2o}_conf, origin_start_servers, origin_log_servers,
# origin_peer_versions, origin_cleanup.
# Nothing here starts a process that outlives the call.

: "${BENCH_NAME:=bench}" "${BENCH_LOG_TAG:=bench}"

skip() { echo "bench/$BENCH_NAME: SKIP: $*" >&2; exit 77; }
die() { echo "bench/$BENCH_NAME: $*" >&2; exit 1; }
log() { echo "[$BENCH_LOG_TAG] $*" >&2; }
now_us() { echo "${EPOCHREALTIME/./}"; }

# check_range NAME VALUE MIN MAX: die unless VALUE is an integer in MIN..MAX
check_range() {
  if ! [[ $2 =~ ^[0-9]+$ ]] || [ "$2" -lt "$3" ] || [ "$2" -gt "$4" ]; then
    die "$1 must be $3..$4 (got '$2')"
  fi
}

# ─── ports ──────────────────────────────────────────────────────────────────────────────
port_busy() { # PORT: anything listening on it, UDP or TCP, any address
  [ -n "$(ss -H -lnu "sport = :$1" 2>/dev/null)$(ss -H -lnt "sport = :$1" 2>/dev/null)" ]
}
# pick_port FROM [TAKEN...]: the first port >= FROM that is free and not in TAKEN
pick_port() {
  local p=$1 t ok
  shift
  while :; do
    ok=yes
    for t in "$@"; do [ "$t" != "$p" ] || ok=no; done
    if [ "$ok" = yes ] && ! port_busy "$p"; then break; fi
    p=$((p + 1))
    [ "$p" -lt 65000 ] || die "no free port"
  done
  echo "$p"
}
# wait_port u|t PORT PID TIMEOUT_S: until something listens on PORT (UDP u / TCP t);
# fails early when PID dies, or after TIMEOUT_S
wait_port() {
  local deadline=$(($(now_us) + $4 * 1000000))
  until [ -n "$(ss -H -ln"$1" "sport = :$2" 2>/dev/null)" ]; do
    kill -0 "$3" 2>/dev/null || return 1
    [ "$(now_us)" -lt "$deadline" ] || return 1
    sleep 0.02
  done
}

# ─── processes ──────────────────────────────────────────────────────────────────────────
# stop_pid PID NAME [TIMEOUT_S]: TERM, KILL after TIMEOUT_S (default 5), reap if our child
stop_pid() {
  local pid=$1 deadline
  [ -n "$pid" ] || return 0
  if kill -TERM "$pid" 2>/dev/null; then
    deadline=$(($(now_us) + ${3:-5} * 1000000))
    while kill -0 "$pid" 2>/dev/null && [ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" != Z ]; do
      if [ "$(now_us)" -ge "$deadline" ]; then
        echo "$BENCH_LOG_TAG: $2 $pid ignored TERM; KILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
        break
      fi
      sleep 0.02
    done
  fi
  wait "$pid" 2>/dev/null || true
}
# descendants PID: every live descendant process of PID (children, grandchildren, ...)
descendants() {
  local c
  for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    echo "$c"
    descendants "$c"
  done
}

# cpu_ticks PID...: "USER SYS" clock ticks used so far by every thread of the given PIDs,
# from /proc/PID/task/*/stat (utime, stime): the split that schedstat's total lacks. Softirq
# work done in a thread's system calls (a loopback send delivering to the receiver) is SYS.
cpu_ticks() {
  local u=0 k=0 p f line
  local -a v
  for p in "$@"; do
    for f in /proc/"$p"/task/*/stat; do
      read -r line <"$f" 2>/dev/null || continue
      read -r -a v <<<"${line##*) }" # v[0] is field 3 (state): utime is v[11], stime v[12]
      u=$((u + v[11])) k=$((k + v[12]))
    done
  done
  echo "$u $k"
}

# cpu_ns PID...: CPU time (ns, user + kernel) used so far by every thread of the given PIDs,
# from /proc/PID/task/*/schedstat (field 1: time on CPU)
cpu_ns() {
  local s=0 p f a rest
  for p in "$@"; do
    for f in /proc/"$p"/task/*/schedstat; do
      read -r a rest <"$f" 2>/dev/null || continue
      s=$((s + a))
    done
  done
  echo "$s"
}

# bench_pin MODE SERVERS_SHARE_ONE_CORE(yes|no): sets SERVER_CPU, CLIENT_CPU, SRV_PIN=(taskset
# …) and CLI_PIN=(taskset …) — servers on CPU 1, the load generator on CPU 0 — when MODE is
# auto, the machine has >= 2 CPUs and the caller allows it; otherwise all empty
# shellcheck disable=SC2034
bench_pin() {
  if [ "$1" = auto ] && [ "$2" = yes ] && [ "$(nproc)" -ge 2 ]; then
    SERVER_CPU=1 CLIENT_CPU=0
    SRV_PIN=(taskset -c "$SERVER_CPU") CLI_PIN=(taskset -c "$CLIENT_CPU")
  else
    SERVER_CPU="" CLIENT_CPU=""
    SRV_PIN=() CLI_PIN=()
  fi
}
# pin_running PID...: move every thread of running processes to SERVER_CPU (if pinning)
pin_running() {
  local p
  [ -n "${SERVER_CPU:-}" ] || return 0
  for p in "$@"; do taskset -a -p -c "$SERVER_CPU" "$p" >/dev/null; done
}

# ─── numbers ────────────────────────────────────────────────────────────────────────────
# median: the median of the numbers on stdin (one a line; non-numbers ignored); "-" if none.
# Even counts average the two middle values.
median() {
  awk '$1 ~ /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/ { v[++n] = $1 + 0 }
    END {
      if (n == 0) { print "-"; exit }
      for (i = 2; i <= n; i++) { x = v[i]; for (j = i - 1; j >= 1 && v[j] > x; j--) v[j + 1] = v[j]; v[j + 1] = x }
      m = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
      if (m == int(m)) printf "%d\n", m; else printf "%.3f\n", m
    }'
}
# ratio X Y: "X/Y" formatted as 1.23x; "-" when either is missing or Y is 0
ratio() {
  awk -v x="$1" -v y="$2" 'BEGIN {
    if (x == "-" || y == "-" || x == "" || y == "" || y + 0 == 0) print "-"
    else printf "%.2fx\n", x / y }'
}

# ─── DNS load (dnsperf) and kresd's control socket ──────────────────────────────────────
# dnsperf_measure PID PORT OUTFILE DNSPERF-ARGS...: run dnsperf (-T 1, -c DNSPERF_CLIENTS
# (10), -q DNSPERF_OUTSTANDING (100), -v, pinned with CLI_PIN) against 127.0.0.1:PORT and
# print "qps avg_ms p50_ms p99_ms cpu_us_per_q lost completed rcodes", the CPU being that of
# PID (schedstat) over the run, or "ERROR".  The -v per-query lines are folded into a
# latency histogram as they come, not stored: OUTFILE keeps the rest (the summary).
dnsperf_measure() {
  local pid=$1 port=$2 out=$3 c0 c1 p50 p99
  shift 3
  c0=$(cpu_ns "$pid")
  ${CLI_PIN[@]+"${CLI_PIN[@]}"} dnsperf -s 127.0.0.1 -p "$port" -T 1 -c "${DNSPERF_CLIENTS:-10}" \
    -q "${DNSPERF_OUTSTANDING:-100}" -v "$@" 2>&1 | awk -v keep="$out" '
      /^> / { n++; h[int($NF * 1e6)]++; next }
      { print > keep }
      END {
        p50 = p99 = -1; acc = 0
        for (u = 0; n > 0 && u <= 60000000; u++) if (u in h) {
          acc += h[u]
          if (p50 < 0 && acc >= 0.50 * n) p50 = u / 1000
          if (p99 < 0 && acc >= 0.99 * n) { p99 = u / 1000; break }
        }
        printf "%s %s\n", p50, p99 > (keep ".lat")
      }' || true
  c1=$(cpu_ns "$pid")
  read -r p50 p99 <"$out.lat" || { p50=-1 p99=-1; }
  awk -v cpu=$((c1 - c0)) -v p50="$p50" -v p99="$p99" '
    /Queries per second:/ { qps = $4 }
    /Queries completed:/ { done = $3 }
    /Queries lost:/ { lost = $3 }
    /Average Latency \(s\):/ { avg = $4 * 1000 }
    /Response codes:/ {  # "NOERROR 105423 (91.67%), NXDOMAIN 9583 (8.33%)" -> NXDOMAIN=8.33%
      codes = ""
      for (i = 3; i + 2 <= NF; i += 3) if ($i != "NOERROR") {
        pct = $(i + 2); gsub(/[(),]/, "", pct); codes = codes $i "=" pct ","
      }
      sub(/,$/, "", codes)
    }
    END {
      if (done == "") { print "ERROR"; exit }
      if (codes == "") codes = "-"
      printf "%.0f %.3f %.3f %.3f %.3f %d %d %s\n", qps, avg, p50, p99,
        (done > 0 ? cpu / done / 1000 : 0), lost, done, codes
    }' "$out"
}

# kresd_ctl_sock SOCKET LUA...: evaluate each expression on a kresd control socket
# (RUNDIR/control/PID), print each answer on one line; 3 s timeout per read
kresd_ctl_sock() {
  python3 - "$@" <<'PYEOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(3)
s.connect(sys.argv[1])
buf = b""
def until_prompt():
    global buf
    while not buf.endswith(b"> "):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    out = buf[:-2] if buf.endswith(b"> ") else buf
    buf = b""
    return out.decode(errors="replace").strip()
until_prompt()  # the greeting prompt
for expr in sys.argv[2:]:
    s.sendall((expr + "\n").encode())
    print(until_prompt().replace("\n", " "))
PYEOF
}

# ─── the origin benchmarks' peers (origin.sh, idle.sh) ──────────────────────────────────
# Both scripts run duet-origin, nginx and h2o side by side with the same certificate, site
# and settings; what differs (workers, timeouts, connection limits) is a parameter. The
# functions use the caller's D (its temp dir), SITE, N (nginx's dir), H (h2o's dir) and the
# assoc arrays PORT[duet|nginx|h2o] and PID[duet|nginx|h2o] (declare -A them first).

# origin_html SIZE: exactly SIZE bytes of HTML
origin_html() {
  awk -v size="$1" 'BEGIN {
    head = "<!doctype html>\n<html><head><title>duet bench</title></head><body>\n<p>"
    tail = "</p>\n</body></html>\n"
    body = ""
    for (n = size - length(head) - length(tail); n > 0; n--) body = body ((n % 64 == 1) ? "\n" : "x")
    printf "%s%s%s", head, body, tail
  }'
}

# origin_files: SITE=$D/site, N=$D/nginx, H=$D/h2o (made); a self-signed ECDSA P-256
# certificate for bench.test and 127.0.0.1 ($D/cert.pem, $D/key.pem); in SITE index.html
# (1 KB of HTML) and 100k.bin (random). The caller adds what else it serves.
# shellcheck disable=SC2034
origin_files() {
  SITE=$D/site N=$D/nginx H=$D/h2o
  mkdir -p "$SITE" "$N" "$H"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=bench.test" -addext "subjectAltName=DNS:bench.test,IP:127.0.0.1" \
    -keyout "$D/key.pem" -out "$D/cert.pem" >/dev/null 2>&1 || die "openssl could not make a cert"
  origin_html 1024 >"$SITE/index.html"
  [ "$(stat -c %s "$SITE/index.html")" = 1024 ] || die "index.html is not 1024 bytes"
  openssl rand -out "$SITE/100k.bin" 102400
}

# origin_pick_ports: PORT[duet], PORT[nginx], PORT[h2o]: three free ports from 18443 on
# shellcheck disable=SC2004 # PORT is the caller's assoc array, not indexed
origin_pick_ports() {
  local s taken=()
  for s in duet nginx h2o; do
    PORT[$s]=$(pick_port 18443 ${taken[@]+"${taken[@]}"})
    taken+=("${PORT[$s]}")
  done
}

# duet-origin's configuration ($D/duet-origin.conf), checked with --check: WORKERS workers,
# keep-alive KEEPALIVE_S seconds and 100000 requests, no access log, TLS on PORT[duet] with
# the certificate for bench.test serving SITE; EXTRA: more lines for the global section.
origin_duet_conf() { # TAG WORKERS KEEPALIVE_S [EXTRA]
  cat >"$D/duet-origin.conf" <<EOF
# $1
workers = $2
user = ""
log-level = warn
access-log = off
keepalive-timeout = ${3}s
keepalive-requests = 100000
${4:+$4
}
[listen 127.0.0.1:${PORT[duet]}]
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
}

# nginx's configuration ($N/nginx.conf), as for production static HTTPS, checked with
# nginx -t; sets NGINX_G (the -g directives origin_start_servers passes). WORKERS
# worker_processes, worker_rlimit_nofile NOFILE, worker_connections CONNECTIONS, keep-alive
# KEEPALIVE_S seconds and 100000 requests, sendfile, open_file_cache, TLS 1.2 and 1.3 with a
# shared session cache and tickets, ssl_prefer_server_ciphers PREFER (on|off); HTTP_EXTRA:
# more lines (indented, ';'-terminated) for the http block.
origin_nginx_conf() { # TAG WORKERS NOFILE CONNECTIONS KEEPALIVE_S PREFER [HTTP_EXTRA]
  cat >"$N/nginx.conf" <<EOF
# $1
worker_processes $2;
user root;
error_log $N/error.log warn;
worker_rlimit_nofile $3;
events {
    worker_connections $4;
}
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    server_tokens off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout ${5}s;
    keepalive_requests 100000;
    open_file_cache max=1000 inactive=60s;
    open_file_cache_valid 60s;
    open_file_cache_errors on;
    client_body_temp_path $N/body;
    proxy_temp_path $N/proxy;
    fastcgi_temp_path $N/fastcgi;
    scgi_temp_path $N/scgi;
    uwsgi_temp_path $N/uwsgi;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers $6;
${7:+$7
}    ssl_session_cache shared:SSL:10m;
    ssl_session_timeout 1h;
    ssl_session_tickets on;
    server {
        listen 127.0.0.1:${PORT[nginx]} ssl reuseport;
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
}

# h2o's configuration, the same for every origin benchmark: one process, THREADS workers;
# session cache + tickets (ssl-session-resumption mode all, internal stores: what nginx's
# shared cache + tickets are); HTTP/1.1 only (no upgrade); no access log; OCSP stapling off
# (self-signed). h2o keeps the private key in a separate "neverbleed" process by default and
# signs there (full handshakes); that process's CPU is counted with h2o's.
# Uses the caller's D (cert.pem, key.pem), H (h2o's dir), SITE and PORT[h2o].
origin_h2o_conf() { # TAG THREADS MAX_CONNECTIONS REQUEST_TIMEOUT_S
  cat >"$H/h2o.conf" <<H2OCONF
# $1
num-threads: $2
user: root
pid-file: $H/h2o.pid
error-log: $H/error.log
max-connections: $3
http1-request-timeout: $4
http1-upgrade-to-http2: OFF
ssl-session-resumption:
  mode: all
  cache-store: internal
  ticket-store: internal
listen:
  host: 127.0.0.1
  port: ${PORT[h2o]}
  ssl:
    certificate-file: $D/cert.pem
    key-file: $D/key.pem
    minimum-version: TLSv1.2
    cipher-preference: client
    ocsp-update-interval: 0
hosts:
  "bench.test":
    paths:
      "/":
        file.dir: $SITE
H2OCONF
  h2o -t -c "$H/h2o.conf" >"$H/check.out" 2>&1 || { cat "$H/check.out" >&2; die "h2o rejects its config"; }
}

# Starts duet-origin ($D/duet-origin.conf), nginx ($N/nginx.conf) and h2o ($H/h2o.conf), each
# with the caller's SRV_PIN, into PID[duet|nginx|h2o]; waits (bounded) for their ports and
# for nginx's NGINX_WORKERS workers; defines server_pids SERVER (every process of it).
origin_start_servers() { # NGINX_WORKERS
  ${SRV_PIN[@]+"${SRV_PIN[@]}"} "$DUET_ORIGIN" -c "$D/duet-origin.conf" </dev/null \
    >"$D/duet-origin.log" 2>&1 &
  PID[duet]=$!
  ${SRV_PIN[@]+"${SRV_PIN[@]}"} nginx -p "$N" -e "$N/error.log" -c "$N/nginx.conf" -g "$NGINX_G" \
    </dev/null >"$N/stderr.log" 2>&1 &
  PID[nginx]=$!
  ${SRV_PIN[@]+"${SRV_PIN[@]}"} h2o -c "$H/h2o.conf" </dev/null >"$H/stderr.log" 2>&1 &
  PID[h2o]=$!
  wait_port t "${PORT[duet]}" "${PID[duet]}" 5 ||
    { tail -n 20 "$D/duet-origin.log" >&2; die "duet-origin not listening on :${PORT[duet]}"; }
  wait_port t "${PORT[nginx]}" "${PID[nginx]}" 5 ||
    { tail -n 20 "$N/error.log" "$N/stderr.log" >&2; die "nginx not listening on :${PORT[nginx]}"; }
  wait_port t "${PORT[h2o]}" "${PID[h2o]}" 5 ||
    { tail -n 20 "$H/error.log" "$H/stderr.log" >&2; die "h2o not listening on :${PORT[h2o]}"; }
  local deadline=$(($(now_us) + 5000000))
  while [ "$(ps -o pid= --ppid "${PID[nginx]}" | wc -l)" -lt "$1" ]; do
    [ "$(now_us)" -lt "$deadline" ] || die "nginx started fewer than $1 workers"
    sleep 0.02
  done
  # shellcheck disable=SC2317 # the callers call it
  server_pids() { echo "${PID[$1]}"; descendants "${PID[$1]}"; } # every process of SERVER
}

# origin_log_servers: the three servers' versions, ports and pids on stderr
origin_log_servers() {
  log "duet-origin: $DUET_ORIGIN  port ${PORT[duet]} (pid ${PID[duet]})"
  log "nginx:       $(nginx -v 2>&1 | sed 's/.*: //')  port ${PORT[nginx]} (pid ${PID[nginx]})"
  log "h2o:         $(h2o --version 2>&1 | head -1)  port ${PORT[h2o]} (pid ${PID[h2o]})"
}
# origin_peer_versions: "nginx 1.22.1 and h2o 2.2.5", for a result table's title
origin_peer_versions() {
  echo "nginx $(nginx -v 2>&1 | sed 's/.*nginx\///') and h2o $(h2o --version 2>&1 | head -1 | sed 's/.*version //')"
}

# origin_cleanup RC STOP_TIMEOUT_S: the end of an EXIT trap. Stops every server in PID (TERM,
# KILL after STOP_TIMEOUT_S), then KILLs whichever of its children (nginx workers, h2o's
# neverbleed and backtrace helpers: they exit with their parent, noted first) outlived it;
# removes D unless BENCH_KEEP=1 or RC is not 0; exits RC.
origin_cleanup() {
  local s strays
  for s in "${!PID[@]}"; do
    strays=$(descendants "${PID[$s]}")
    stop_pid "${PID[$s]}" "$s" "$2"
    if [ -n "$strays" ]; then
      # shellcheck disable=SC2086
      kill -KILL $strays 2>/dev/null || true
    fi
  done
  if [ "${BENCH_KEEP:-0}" = 1 ] || [ "$1" -ne 0 ]; then
    echo "bench: files kept in $D" >&2
  else
    rm -rf "$D"
  fi
  exit "$1"
}
