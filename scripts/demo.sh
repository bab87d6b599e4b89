#!/usr/bin/env bash
# The demo: "what happens when you type a URL", end to end, on a private loopback.
#
# In a network namespace of its own (so port 53 and 443 are free and nothing leaves the
# machine) it starts the lab DNS hierarchy (NSD: root, TLDs, authoritative zones on
# 127.53.x.y), duet-resolver on 127.0.0.1:53 with the lab's root hints, and duet-origin on
# 127.0.0.1:443 serving https://site1.test with a certificate from a throwaway lab CA. Then
# it walks the flow: the resolver's iteration root → TLD → authoritative, glibc resolving
# through /etc/resolv.conf, curl's TCP and TLS handshakes and HTTP exchange, and the
# teardown's TIME_WAIT. Runs as root. Everything it starts is stopped by PID at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$(pwd)

if [ "${1:-}" != "--inside" ]; then
    [ "$(id -u)" -eq 0 ] || { echo "demo.sh: run as root (network namespace, ports 53/443)" >&2; exit 1; }
    echo "== building"
    cmake -S . -B build >/dev/null
    cmake --build build -j"$(nproc)" >/dev/null
    ns="duet-demo-$$"
    ip netns add "$ns"
    mkdir -p "/etc/netns/$ns"
    echo "nameserver 127.0.0.1" > "/etc/netns/$ns/resolv.conf"
    trap 'ip netns del "$ns" 2>/dev/null || true; rm -rf "/etc/netns/$ns"' EXIT
    ip netns exec "$ns" bash "$0" --inside
    exit 0
fi

ip link set lo up
work=$(mktemp -d /tmp/duet-demo.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
    done
    bash "$SRC/tests/lab/lab.sh" stop "$work/lab" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

wait_port() { # proto port log
    for _ in $(seq 100); do
        if ss -H -ln"$1" "sport = :$2" | grep -q .; then return 0; fi
        sleep 0.05
    done
    echo "demo.sh: nothing listens on port $2; its log:" >&2
    cat "$3" >&2
    exit 1
}

echo "== 1. a DNS hierarchy on loopback (NSD, one instance per level)"
bash "$SRC/tests/lab/lab.sh" start "$work/lab" | sed 's/^/   /'

echo
echo "== 2. duet-resolver on 127.0.0.1:53, root hints -> the lab root"
cat > "$work/resolver.conf" <<EOF
listen = 127.0.0.1:53
workers = 2
log-level = debug
root-hints = $work/lab/root.hints
query-loopback = yes
EOF
"$SRC/build/resolver/duet-resolver" -c "$work/resolver.conf" 2> "$work/resolver.log" &
pids+=($!)
wait_port u 53 "$work/resolver.log"

echo
echo "== 3. a lab CA and a certificate for site1.test; duet-origin on 127.0.0.1:443"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=duet demo CA" -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=site1.test" \
    -keyout "$work/site1.key" -out "$work/site1.csr" 2>/dev/null
printf 'subjectAltName=DNS:site1.test,DNS:www.site1.test\n' > "$work/san.ext"
openssl x509 -req -in "$work/site1.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
    -CAcreateserial -days 2 -extfile "$work/san.ext" -out "$work/site1.pem" 2>/dev/null
mkdir -p "$work/www"
cat > "$work/www/index.html" <<EOF
<!doctype html><title>site1.test</title><h1>Hello from duet-origin</h1>
EOF
cat > "$work/origin.conf" <<EOF
workers = 2
access-log = $work/access.log
keepalive-timeout = 5s
[listen 127.0.0.1:443]
close-first = client
[site site1]
server-name = site1.test
server-name = www.site1.test
root = $work/www
cert = $work/site1.pem
key = $work/site1.key
default = yes
EOF
"$SRC/build/origin/duet-origin" -c "$work/origin.conf" 2> "$work/origin.log" &
pids+=($!)
wait_port t 443 "$work/origin.log"
echo "   serving https://site1.test/ (certificate signed by the lab CA)"

echo
echo "== 4. DNS: dig site1.test @127.0.0.1 (a cold cache: the resolver iterates)"
dig @127.0.0.1 site1.test A | sed -n '/ANSWER SECTION/,/^$/p' | sed 's/^/   /'
echo "   what the resolver did (its debug log):"
grep -E 'event=(resolve_zone|upstream_query|referral|resolve_done)' "$work/resolver.log" |
    grep -v 'qname=\. ' | sed -E 's/^level=debug /   /' | grep -E 'site1|test\.' | head -12
echo "   asking again is a cache hit (no upstream query):"
before=$(grep -c 'event=upstream_query' "$work/resolver.log")
dig +short @127.0.0.1 site1.test A | sed 's/^/   answer: /'
after=$(grep -c 'event=upstream_query' "$work/resolver.log")
echo "   upstream queries before/after: $before/$after"

echo
echo "== 5. glibc's stub resolver (resolv.conf -> duet-resolver): getent hosts site1.test"
getent hosts site1.test | sed 's/^/   /'

echo
echo "== 6. curl https://site1.test/: TCP three-way handshake, TLS handshake, HTTP/1.1"
curl -sS -v --cacert "$work/ca.pem" https://site1.test/ 2>&1 |
    grep -E '^(\*\s+(Trying|Connected|SSL connection|ALPN|Server certificate|subject|issuer|SSL certificate verify)|> (GET|Host)|< HTTP|< (Content-Type|Content-Length|ETag|Keep-Alive)|<!doctype|<h1)|Hello' |
    sed 's/^/   /'

echo
echo "== 7. teardown: a four-way close; TIME_WAIT stays with whoever closed first"
echo "   curl closed its connection first (close-first = client keeps the server free of"
echo "   TIME_WAIT), so the TIME_WAIT entry is on curl's side, the port that is not 443:"
sleep 0.2
ss -tan state time-wait '( sport = :443 or dport = :443 )' | sed 's/^/   /'
echo
echo "   access log:"
sed 's/^/   /' "$work/access.log"
echo
echo "== done: everything ran inside a throwaway network namespace"
