"""duet-origin against attacks scripted on raw sockets, each once a remote crash, a memory
sink or an open redirect:

- two writes on one request object: ciphertext flushed while a write was in flight, reached
  by (1) a ClientHello padded to ~60 KB followed in the same burst by a garbage record that
  ends past the server's 64 KiB read, (2) the same after the handshake (the session-ticket
  write, then the alert for a garbage record), (3) a small send buffer and a client that
  does not read its handshake flight (the worker used to spin and ignore SIGTERM);
- unbounded TLS input: memory (VmRSS) must stay bounded while a client streams request
  bytes the server cannot use, over TLS and plain TCP; a 1 MB chunk extension and 1 MB of
  trailers are refused;
- open redirects: the 301 that adds a directory's slash must never send a Location that a
  browser reads as another host ("//host", "/\\host").

Each attack is followed by proof that the server still serves, and the run ends with a
clean SIGTERM stop (no sanitizer report)."""
import os
import re
import socket
import ssl
import struct
import subprocess
import sys
import time

from harness import SLOW, Failure, check
from origin_util import Conn, Origin, curl, main, raw_exchange, status_of

HEADER_TIMEOUT = 3.0
H = "Host: site1.test\r\n"

o = Origin(top="""max-header-size = 65536
max-body-size = 4k
header-timeout = %dms
""" % (HEADER_TIMEOUT * 1000),
           listens=(("tls", ""), ("plain", ""), ("tlssmall", "sndbuf = 4k")),
           site1_files={"index.html": "<h1>site1</h1>\n", "dir/index.html": "dir\n",
                        "a b/index.html": "space\n", "%7e/index.html": "pct\n"})
# site2's certificate names 1500 hosts: a ~40 KB handshake flight, more than a small send
# buffer and a client's receive window hold, so the write of that flight stays pending.
o.pki.site("site2.test", "ecdsa", alt=["n%04d.site2.test" % i for i in range(1500)])


# ---- raw TLS pieces ----

def client_hello(sni, pad_to):
    """A TLS 1.3 ClientHello from Python's ssl for sni, its padding extension (RFC 7685)
    grown so the message body is about pad_to bytes, in records of at most 16 KiB."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    out = ssl.MemoryBIO()
    obj = ctx.wrap_bio(ssl.MemoryBIO(), out, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    rec = out.read()
    check(rec[0] == 0x16, "not a handshake record: %r" % rec[:8])
    msg = rec[5:5 + struct.unpack("!H", rec[3:5])[0]]
    body = msg[4:]
    p = 2 + 32                                       # version, random
    p += 1 + body[p]                                 # session id
    p += 2 + struct.unpack("!H", body[p:p + 2])[0]   # cipher suites
    p += 1 + body[p]                                 # compression methods
    exts, q, kept = body[p + 2:], 0, b""
    while q < len(exts):
        t, n = struct.unpack("!HH", exts[q:q + 4])
        if t != 0x15:                                # any padding OpenSSL added goes
            kept += exts[q:q + 4 + n]
        q += 4 + n
    pad = max(0, pad_to - len(body))
    kept += struct.pack("!HH", 0x15, pad) + b"\0" * pad
    body = body[:p] + struct.pack("!H", len(kept)) + kept
    msg = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"".join(b"\x16\x03\x01" + struct.pack("!H", len(msg[i:i + 16384])) +
                    msg[i:i + 16384] for i in range(0, len(msg), 16384))


def garbage_record(n=16000):
    """An application-data record no key decrypts: the server answers with an alert."""
    return b"\x17\x03\x03" + struct.pack("!H", n) + os.urandom(n)


def handshake_held(port, sni="site1.test", timeout=5):
    """A TLS 1.3 handshake over memory BIOs, stopped before the client's Finished is sent.
    Returns (socket, SSLObject, outgoing BIO holding the Finished)."""
    ctx = ssl.create_default_context(cafile=o.ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=sni)
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout * SLOW)
    for _ in range(50):
        try:
            obj.do_handshake()
            return s, obj, out
        except ssl.SSLWantReadError:
            pass
        s.sendall(out.read())
        data = s.recv(65536)
        check(data, "closed during the handshake")
        inc.write(data)
    check(False, "handshake did not finish")


def drain(s, timeout):
    """Reads until EOF, reset or timeout; returns (bytes, 'EOF' | error name | 'open')."""
    deadline = time.monotonic() + timeout * SLOW
    got = b""
    while time.monotonic() < deadline:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = s.recv(65536)
        except socket.timeout:
            return got, "open"
        except OSError as e:
            return got, type(e).__name__
        if not data:
            return got, "EOF"
        got += data
    return got, "open"


# ---- the server's health ----

def cpu_seconds():
    with open("/proc/%d/stat" % o.daemon.proc.pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib():
    with open("/proc/%d/status" % o.daemon.proc.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def still_serving(what):
    check(o.alive(), "%s: duet-origin died; stderr:\n%s" % (what, o.stderr()[-3000:]))
    for tls in (True, False):
        c = Conn(o.port if tls else o.ports["plain"], tls=tls, ca=o.ca, timeout=3)
        try:
            r = c.request("/")
        finally:
            c.close()
        check(r.status == 200 and r.body == b"<h1>site1</h1>\n", "%s: then %r" % (what, r))
    # Not spinning: an idle server uses (almost) no CPU.
    before = cpu_seconds()
    time.sleep(1.0)
    used = cpu_seconds() - before
    check(used < 0.3, "%s: the idle server used %.2fs of CPU in 1s" % (what, used))


# ---- 1. one write in flight ----

def test_padded_hello_then_garbage():
    """Route 1: the handshake flight is being written when the rest of the burst (a record
    that fails) comes in the same loop iteration, and the alert is flushed."""
    for i in range(3):
        s = socket.create_connection(("127.0.0.1", o.port), timeout=5 * SLOW)
        try:
            s.sendall(client_hello("site1.test", 60000) + garbage_record())
            got, how = drain(s, 3)
            check(how != "open", "try %d: connection left open" % i)
            check(got[:1] == b"\x16", "try %d: no ServerHello: %r" % (i, got[:16]))
        finally:
            s.close()
    still_serving("padded ClientHello + garbage")


def test_ticket_write_then_alert():
    """Route 2: the client's Finished, 50 KB of a request head and a garbage record, in one
    burst: the session tickets are being written when the garbage's alert is flushed."""
    for i in range(3):
        s, obj, out = handshake_held(o.port)
        try:
            obj.write(b"GET / HTTP/1.1\r\n" + H.encode() + b"X-Pad: " + b"a" * 50000)
            s.sendall(out.read() + garbage_record())
            got, how = drain(s, 3)
            check(how != "open", "try %d: connection left open" % i)
        finally:
            s.close()
    still_serving("Finished + request + garbage")


def test_unread_flight_then_garbage():
    """Route 3: a small send buffer (sndbuf = 4k) and a client that does not read the
    server's ~40 KB flight, then sends a garbage record: the alert must wait for the
    pending write (or be dropped), the connection end within the linger bound, and the
    worker neither spin nor ignore SIGTERM."""
    socks = []
    try:
        for i in range(3):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
            s.settimeout(5 * SLOW)
            s.connect(("127.0.0.1", o.ports["tlssmall"]))
            s.sendall(client_hello("site2.test", 0))
            socks.append(s)
        time.sleep(0.3 * SLOW)
        for s in socks:
            s.sendall(garbage_record())
        time.sleep(0.3 * SLOW)
        still_serving("unread flight + garbage")
        # The attacking connections are closed by the server within the linger bound.
        deadline = time.monotonic() + 6 * SLOW
        for i, s in enumerate(socks):
            how = "open"
            while how == "open" and time.monotonic() < deadline:
                _, how = drain(s, 0.5)
            check(how != "open", "connection %d still open" % i)
    finally:
        for s in socks:
            s.close()


# ---- 2. bounded input ----

def stream(tls, first, filler, seconds=1.5, limit=512 << 20):
    """Sends first, then filler over and over for `seconds` (or `limit` bytes, or until
    the server stops reading); returns (bytes sent, VmRSS growth in KiB)."""
    c = Conn(o.port if tls else o.ports["plain"], tls=tls, ca=o.ca, timeout=3)
    base = rss_kib()
    sent = 0
    try:
        c.send(first)
        c.sock.settimeout(0.5 * SLOW)
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds * SLOW and sent < limit:
            c.sock.sendall(filler)
            sent += len(filler)
    except (OSError, ssl.SSLError):
        pass  # the server stopped reading (back-pressure) or closed: both fine
    grown = rss_kib() - base
    c.close()
    return sent, grown


def test_streamed_garbage_rss_bounded():
    """A client streaming bytes the request buffer cannot take: the server's resident
    memory must not follow its send rate (+150 MiB in half a second, once)."""
    pad = b"a" * 16384
    cases = (("header bytes", "GET / HTTP/1.1\r\n" + H + "X: ", pad),
             ("chunk extension", "POST / HTTP/1.1\r\n" + H +
              "Transfer-Encoding: chunked\r\n\r\n1;e=", pad),
             ("chunk-size lines", "POST / HTTP/1.1\r\n" + H +
              "Transfer-Encoding: chunked\r\n\r\n", b"1\r\na\r\n" * 4096),
             ("trailers", "POST / HTTP/1.1\r\n" + H +
              "Transfer-Encoding: chunked\r\n\r\n0\r\n", b"X-T: " + pad[:4000] + b"\r\n"),
             ("pipelined requests", "", ("GET /dir/ HTTP/1.1\r\n" + H + "\r\n").encode() * 512))
    report = []
    for tls in (True, False):
        for name, first, filler in cases:
            sent, grown = stream(tls, first, filler)
            report.append("%s/%s: sent %d KiB, VmRSS +%d KiB" %
                          ("TLS" if tls else "TCP", name, sent >> 10, grown))
            check(grown < 48 * 1024, "; ".join(report))
    print("     " + "\n     ".join(report))
    still_serving("streamed garbage")


def test_huge_chunk_extension_and_trailers_refused():
    """nginx answers these with 400 (and 431 for oversized trailers), at once, not at
    header-timeout."""
    for name, tail, want in (
            ("1 MB chunk extension", "1;ext=" + "x" * (1 << 20) + "\r\na\r\n0\r\n\r\n", (400,)),
            ("1 MB of trailers", "1\r\na\r\n0\r\n" +
             "".join("X-T%d: %s\r\n" % (i, "y" * 1000) for i in range(1000)) + "\r\n",
             (400, 431)),
            ("one 1 MB trailer", "1\r\na\r\n0\r\nX-T: " + "y" * (1 << 20) + "\r\n\r\n",
             (400, 431))):
        for tls in (False, True):
            req = "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n" + tail
            t0 = time.monotonic()
            data, how = raw_exchange(o.port if tls else o.ports["plain"], req.encode(),
                                     tls=tls, ca=o.ca, timeout=HEADER_TIMEOUT + 3)
            took = time.monotonic() - t0
            where = "%s over %s" % (name, "TLS" if tls else "TCP")
            check(status_of(data) in want, "%s: got %r" % (where, data[:120]))
            check(took < HEADER_TIMEOUT * 0.7 * SLOW, "%s: answered after %.1fs" % (where, took))
            check(how != "open", "%s: left open" % where)
    # A modest extension and a trailer are still fine (a 405: POST is not served).
    req = ("POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n"
           "1;name=value\r\na\r\n0\r\nX-Checksum: 1\r\n\r\n")
    data, _ = raw_exchange(o.ports["plain"], req.encode(), timeout=3)
    check(status_of(data) == 405, data[:200])


# ---- 4. open redirect ----

def location_ok(loc, want):
    check(loc is not None, "no Location")
    check(not loc.startswith("//") and not loc.startswith("/\\"), "open redirect: %r" % loc)
    check(re.match(r"^/[^/\\]", loc), "Location %r is not a path on this host" % loc)
    check(loc == want, "Location %r, want %r" % (loc, want))


REDIRECTS = (
    ("//evil.com/../dir", "/dir/"),
    ("/\\evil.com/../dir", "/dir/"),
    ("/\\\\evil.com/../dir", "/dir/"),
    ("//evil.com/%2e%2e/dir", "/dir/"),
    ("//evil.com/%2E%2E/dir", "/dir/"),
    ("/%2e%2e/dir", None),                     # climbs above the root: 400
    ("//evil.com/../dir?x=1", "/dir/?x=1"),
    ("//evil.com/../dir?//evil.com/", "/dir/?//evil.com/"),
    ("///evil.com/../dir", "/dir/"),
    ("/./dir", "/dir/"),
    ("//dir", "/dir/"),
    ("/dir", "/dir/"),
    ("/dir?a=/b", "/dir/?a=/b"),
    ("/a%20b", "/a%20b/"),
    ("/%257e", "/%257e/"),
    ("http://site1.test//evil.com/../dir", "/dir/"),
)


def test_no_open_redirect_raw():
    for target, want in REDIRECTS:
        for tls in (False, True):
            req = "GET %s HTTP/1.1\r\n%sConnection: close\r\n\r\n" % (target, H)
            data, _ = raw_exchange(o.port if tls else o.ports["plain"], req.encode(), tls=tls,
                                   ca=o.ca, timeout=3)
            st = status_of(data)
            where = "%s over %s" % (target, "TLS" if tls else "TCP")
            if want is None:
                check(st == 400, "%s: %r" % (where, data[:200]))
                continue
            check(st == 301, "%s: %r" % (where, data[:200]))
            m = re.search(rb"\r\nLocation: ([^\r]*)\r\n", data)
            try:
                location_ok(m.group(1).decode("latin-1") if m else None, want)
            except Failure as e:
                raise Failure("%s: %s" % (where, e))


def test_no_open_redirect_curl():
    if subprocess.run(["sh", "-c", "command -v curl"], capture_output=True).returncode != 0:
        return
    for target, want in REDIRECTS:
        if want is None or target.startswith("http:"):
            continue
        r = curl(o, target, args=("--path-as-is",))
        check(r.rc == 0 and r.status == 301, "%s: %r" % (target, r))
        try:
            location_ok(r.h("location"), want)
        except Failure as e:
            raise Failure("curl %s: %s" % (target, e))
    # Following the redirect lands on this host's directory.
    r = curl(o, "//evil.com/../dir", args=("--path-as-is", "-L", "--max-redirs", "2"))
    check(r.rc == 0 and r.status == 200 and r.body == b"dir\n", r)


TESTS = (test_padded_hello_then_garbage, test_ticket_write_then_alert,
         test_unread_flight_then_garbage, test_streamed_garbage_rss_bounded,
         test_huge_chunk_extension_and_trailers_refused, test_no_open_redirect_raw,
         test_no_open_redirect_curl)

if __name__ == "__main__":
    # Test names as arguments run only those (one attack per daemon when reproducing).
    main(o, *[t for t in TESTS if len(sys.argv) < 2 or t.__name__ in sys.argv[1:]])
