#!/usr/bin/env bash
# The demo: "what happens when you type a URL", end to end, on a private loopback.
#
# In a network namespace of its own (so port 53 and 443 are free and nothing leaves the
# machine) it starts the lab DNS hierarchy (NSD: root, TLDs, authoritative zones on
# 127.53.x.y), duet-resolver on 127.0.0.1:53 with the lab's root hints, and duet-origin on
# 127.0.0.1:443 and [::1]:443 serving https://site1.test and https://www.site1.test with a
# certificate from a throwaway lab CA. Then three clients visit: headless Chromium (the lab
# CA trusted in its throwaway profile only) loads https://www.site1.test/ and takes a
# screenshot, curl fetches https://site1.test/, dig asks the resolver. Where the daemons have
# the flow trace (trace-file, `duet-control trace on`), it is on for the visits and
# tools/duet-trace prints it as a ladder and writes it as JSON lines and an SVG diagram.
# The screenshot, the traces, the JSON and the SVG are kept in /tmp/duet-demo-out.XXXXXX
# (printed at the end). Runs as root. Everything it starts is stopped by PID at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$(pwd)
# DUET_BUILD (set by ctest for tests/integration/test_demo.py): an existing build to use as is.
BUILD=${DUET_BUILD:-$SRC/build}

if [ "${1:-}" != "--inside" ]; then
    [ "$(id -u)" -eq 0 ] || { echo "demo.sh: run as root (network namespace, ports 53/443)" >&2; exit 1; }
    if [ -z "${DUET_BUILD:-}" ]; then
        echo "== building"
        cmake -S . -B build >/dev/null
        cmake --build build -j"$(nproc)" >/dev/null
    fi
    DEMO_OUT=$(mktemp -d /tmp/duet-demo-out.XXXXXX)
    chmod 755 "$DEMO_OUT"
    export DEMO_OUT
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
out=${DEMO_OUT:?demo.sh: DEMO_OUT is not set (run without --inside)}
ctl="$BUILD/tools/duet-control"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
    done
    bash "$SRC/tests/lab/lab.sh" stop "$work/lab" >/dev/null 2>&1 || true
    bash "$SRC/tests/lab/signed.sh" stop "$work/signed" >/dev/null 2>&1 || true
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

# The flow trace (common/trace.h), where this build's daemons have it: each writes its JSON
# lines into $out.
trace_resolver="" trace_origin=""
# (--help is read whole: grep -q would stop early and pipefail count the writer's SIGPIPE)
if [[ "$("$BUILD/resolver/duet-resolver" --help)" == *trace-file* &&
    "$("$BUILD/origin/duet-origin" --help)" == *trace-file* ]]; then
    trace_resolver="trace-file = $out/resolver-trace.jsonl"
    trace_origin="trace-file = $out/origin-trace.jsonl"
fi

echo "== 1. a DNS hierarchy on loopback (NSD, one instance per level)"
bash "$SRC/tests/lab/lab.sh" start "$work/lab" | sed 's/^/   /'
# A second, DNSSEC-signed tree (tests/lab/signed.sh): its TLD sig. is reached as a stub zone,
# with sig.'s DS (from the signed root) as the trust anchor, so its answers validate.
signed_conf=""
if bash "$SRC/tests/lab/signed.sh" start "$work/signed" >"$work/signed.out" 2>&1; then
    # shellcheck disable=SC1091
    . "$work/signed/lab.env"
    dig +short +time=2 +tries=2 @"$LAB_ROOT_ADDR" sig. DS | sed 's/^/sig. 3600 IN DS /' >"$work/sig.ds"
    if [ -s "$work/sig.ds" ]; then
        signed_conf="trust-anchor-file = $work/sig.ds
[stub-zone sig.]
stub-addr = $LAB_TLD_ADDR"
        echo "   and a signed tree: sig. (DS $(awk '{print $5, $6, $7}' "$work/sig.ds" | head -1)) on $LAB_TLD_ADDR"
    fi
else
    echo "   (the signed lab did not start: no DNSSEC step; $(tail -1 "$work/signed.out"))"
fi

echo
echo "== 2. duet-resolver on 127.0.0.1:53, root hints -> the lab root"
cat > "$work/resolver.conf" <<EOF
listen = 127.0.0.1:53
workers = 2
log-level = debug
root-hints = $work/lab/root.hints
query-loopback = yes
control-socket = $work/resolver.control
$trace_resolver
$signed_conf
EOF
"$BUILD/resolver/duet-resolver" -c "$work/resolver.conf" 2> "$work/resolver.log" &
pids+=($!)
wait_port u 53 "$work/resolver.log"

echo
echo "== 3. a lab CA and a certificate for site1.test; duet-origin on 127.0.0.1:443 and [::1]:443"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=duet demo CA" -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=site1.test" \
    -keyout "$work/site1.key" -out "$work/site1.csr" 2>/dev/null
printf 'subjectAltName=DNS:site1.test,DNS:www.site1.test\n' > "$work/san.ext"
openssl x509 -req -in "$work/site1.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
    -CAcreateserial -days 2 -extfile "$work/san.ext" -out "$work/site1.pem" 2>/dev/null
mkdir -p "$work/www"
cat > "$work/www/index.html" <<'HTML'
<!doctype html><html><head><title>site1.test</title><style>
body{font-family:sans-serif;margin:3em;background:#f8fafc;color:#0f172a}
h1{color:#2563eb}</style></head><body><h1>Hello from duet-origin</h1>
<p>This page came over TLS from duet-origin; its name was resolved by duet-resolver,
walking the lab's root, <code>test.</code> and <code>site1.test.</code> servers.</p></body></html>
HTML
# The lab publishes A 127.0.0.1 and AAAA ::1 for the site: serve both, as a real site would,
# so a client that tries IPv6 first is not refused.
cat > "$work/origin.conf" <<EOF
workers = 2
access-log = $work/access.log
keepalive-timeout = 5s
control-socket = $work/origin.control
$trace_origin
[listen 127.0.0.1:443]
close-first = client
[listen [::1]:443]
close-first = client
[site site1]
server-name = site1.test
server-name = www.site1.test
root = $work/www
cert = $work/site1.pem
key = $work/site1.key
default = yes
EOF
"$BUILD/origin/duet-origin" -c "$work/origin.conf" 2> "$work/origin.log" &
pids+=($!)
wait_port t 443 "$work/origin.log"
for _ in $(seq 100); do # both listeners
    [ "$(ss -H -lnt 'sport = :443' | wc -l)" -ge 2 ] && break
    sleep 0.05
done
ss -H -lnt 'sport = :443' | awk '{print "   listening on " $4}' | sort -u
echo "   serving https://site1.test/ and https://www.site1.test/ (certificate signed by the lab CA)"

echo
if [ -n "$trace_resolver" ]; then
    echo "== 4. the flow trace on for names under site1.test: duet-control trace on name site1.test"
    "$ctl" -s "$work/resolver.control" trace on name site1.test | sed 's/^/   resolver: /'
    "$ctl" -s "$work/origin.control" trace on name site1.test | sed 's/^/   origin:   /'
else
    echo "== 4. (this build's daemons have no trace-file option yet: no flow trace)"
fi

echo
echo "== 5. a browser types the URL: headless Chromium loads https://www.site1.test/"
chrome_home="$work/chromium"
shot="$out/www.site1.test.png"
if ! command -v chromium >/dev/null 2>&1 || ! command -v certutil >/dev/null 2>&1; then
    echo "   chromium or certutil is missing (scripts/setup.sh installs chromium, libnss3-tools)"
else
    # The lab CA is trusted by this throwaway profile only: Chromium on Linux reads the NSS
    # database in $HOME/.pki/nssdb, and this HOME is a directory the demo deletes at the end.
    mkdir -p "$chrome_home/.pki/nssdb"
    certutil -d "sql:$chrome_home/.pki/nssdb" -N --empty-password
    certutil -d "sql:$chrome_home/.pki/nssdb" -A -t "C,," -n "duet demo CA" -i "$work/ca.pem"
    echo "   the lab CA is trusted in $chrome_home/.pki/nssdb only"
    echo "   /etc/resolv.conf in the namespace: $(grep nameserver /etc/resolv.conf)"
    # At most 90 s; timeout signals Chromium's whole process group (zygote, renderers).
    HOME="$chrome_home" timeout -k 5 90 chromium --headless --no-sandbox --disable-gpu \
        --no-first-run --disable-sync --disable-default-apps --disable-component-update \
        --disable-background-networking --disable-features=DnsOverHttps \
        --user-data-dir="$chrome_home/profile" --window-size=1200,700 \
        --screenshot="$shot" https://www.site1.test/ > "$work/chromium.log" 2>&1 || true
    if [ -s "$shot" ] && grep -q 'method=GET path=/ ' "$work/access.log" 2>/dev/null; then
        echo "   the page loaded over HTTPS with the certificate verified; screenshot: $shot"
    else
        echo "   Chromium did not fetch the page; its log:"
        grep -v dbus "$work/chromium.log" | tail -5 | sed 's/^/   /'
    fi
fi
sleep 1.5 # a pause longer than duet-trace's --gap: the next client is a visit of its own

echo
echo "== 6. the second client: curl https://site1.test/ (TCP and TLS handshakes, HTTP/1.1)"
curl -sS -v --max-time 20 --cacert "$work/ca.pem" https://site1.test/ 2>&1 |
    grep -E '^(\*\s+(Trying|Connected|SSL connection|ALPN|Server certificate|subject|issuer|SSL certificate verify)|> (GET|Host)|< HTTP|< (Content-Type|Content-Length|ETag|Keep-Alive)|<h1)' |
    sed 's/^/   /'
sleep 1.5

echo
echo "== 7. the third client: dig site1.test (answered from the cache: no upstream query)"
before=$(grep -c 'event=upstream_query' "$work/resolver.log" || true)
dig +time=5 +tries=1 @127.0.0.1 site1.test A | sed -n '/ANSWER SECTION/,/^$/p' | sed 's/^/   /'
after=$(grep -c 'event=upstream_query' "$work/resolver.log" || true)
echo "   upstream queries before/after: $before/$after"
echo "   glibc's stub resolver (resolv.conf -> duet-resolver): $(getent hosts www.site1.test | xargs)"

if [ -n "$signed_conf" ]; then
    echo
    echo "== 7b. DNSSEC: a signed zone validates (AD), a broken one is refused (SERVFAIL + EDE)"
    for name in www.nsec.sig www.expired.sig; do
        dig +dnssec +time=5 +tries=1 @127.0.0.1 "$name" A |
            grep -E '^;; flags|status:|EDE|^[a-z].*\sA\s|RRSIG' | sed 's/^/   /'
        echo
    done
    echo "   (duet-control lookup shows the signer and key tag that decided:)"
    "$ctl" -s "$work/resolver.control" lookup www.nsec.sig | grep -E 'dnssec:|signed by' | head -3 |
        sed 's/^/   /'
fi

echo
echo "== 8. teardown: a four-way close; TIME_WAIT stays with whoever closed first"
echo "   the clients closed first (close-first = client keeps the server free of TIME_WAIT),"
echo "   so the TIME_WAIT entries are on the clients' side, the ports that are not 443:"
sleep 0.2
ss -tan state time-wait '( sport = :443 or dport = :443 )' | sed 's/^/   /'
echo
echo "   access log:"
sed 's/^/   /' "$work/access.log"

if [ -n "$trace_resolver" ]; then
    echo
    echo "== 9. the flow trace of these visits, seen from the servers' side (tools/duet-trace)"
    "$ctl" -s "$work/resolver.control" trace off >/dev/null
    "$ctl" -s "$work/origin.control" trace off >/dev/null
    files=()
    for f in "$out/resolver-trace.jsonl" "$out/origin-trace.jsonl"; do
        [ -f "$f" ] && files+=("$f")
    done
    if [ ${#files[@]} -gt 0 ]; then
        python3 "$SRC/tools/duet-trace" ladder "${files[@]}" | sed 's/^/   /'
        python3 "$SRC/tools/duet-trace" json "${files[@]}" > "$out/trace.jsonl"
        python3 "$SRC/tools/duet-trace" svg "${files[@]}" -o "$out/trace.svg"
        echo "   the joined events (JSON lines, one visit id per client): $out/trace.jsonl"
        echo "   the sequence diagram (open it in a browser):            $out/trace.svg"
    else
        echo "   the daemons wrote no trace file"
    fi
fi
echo
echo "== done: everything ran inside a throwaway network namespace; kept in $out:"
ls "$out" | sed 's/^/   /'
