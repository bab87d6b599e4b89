"""duet-origin's HTTP/1.1 behaviour seen by curl (certificates verified against a test CA) and
by raw TLS sockets: status codes and headers, MIME types, validators and 304, ranges (206,
416), HEAD, keep-alive reuse, two sites by SNI, 421, 400 without Host, 405, directories and
their index, 301 to the slash, 404/403, HTTP/1.0, pipelining, the redirect-https listener,
file-cache invalidation, and a 20 MB file served intact; and the corners of the decision
order: 304 before Range, If-Range by date, HEAD with Range, absolute-form targets, the
redirect listener without Host, a cached file that became a directory."""
import os
import socket
import ssl
import time

from harness import SLOW, check
from origin_util import (Conn, Origin, curl, http_date, main, need, parse_http_date,
                         raw_exchange, sha256, status_of, write_file)

BIG = os.urandom(20 * 1024 * 1024)
RANGE = b"0123456789abcdefghijklmnopqrstuvwxyz"
FILES = {
    "index.html": "<h1>site1</h1>\n",
    "hello.txt": "Hello, duet!\n",
    "style.css": "body { color: red }\n",
    "app.js": "console.log(1);\n",
    "data.json": '{"a": 1}\n',
    "pic.png": b"\x89PNG\r\n\x1a\n" + bytes(range(64)),
    "blob.zzz": b"\x00\x01\x02",
    "range.txt": RANGE,
    "sub/index.html": "<h1>sub</h1>\n",
    "sub/page.html": "<p>page</p>\n",
    "noindex/readme.txt": "no index here\n",
    "secret.txt": "top secret\n",
    "cached.txt": "version one\n",
    "with space.txt": "spaced\n",
    "caf\u00e9.txt": "utf-8 name\n",
    "%41.txt": "a literal percent\n",
}

KEEPALIVE_REQUESTS = 20
o = Origin(top="max-body-size = 1k\nkeepalive-requests = %d" % KEEPALIVE_REQUESTS,
           listens=(("tls", ""), ("tls6", ""),
                    ("plain", "redirect-https = yes\nhttps-port = {tls}")),
           site1_files=FILES, drop_to_nobody=True, rsa=True)
write_file(os.path.join(o.root1, "big.bin"), BIG, mode=0o644)
os.chmod(os.path.join(o.root1, "secret.txt"), 0)


def test_status_and_headers():
    r = curl(o, "/hello.txt")
    check(r.rc == 0 and r.status == 200, r)
    check(r.body == b"Hello, duet!\n", r)
    check(r.h("server") == "duet-origin", r)
    check(r.h("content-length") == "13", r)
    check(r.h("content-type") == "text/plain; charset=utf-8", r)
    check(r.h("accept-ranges") == "bytes", r)
    etag = r.h("etag")
    check(etag and etag.startswith('"') and etag.endswith('"') and len(etag) > 2, r)
    date = parse_http_date(r.h("date"))
    check(abs(date - time.time()) < 5, "Date %s is not now" % r.h("date"))
    mtime = int(os.stat(os.path.join(o.root1, "hello.txt")).st_mtime)
    check(r.h("last-modified") == http_date(mtime),
          "Last-Modified %s, file mtime %s" % (r.h("last-modified"), http_date(mtime)))


def test_mime_types():
    want = {"/": "text/html; charset=utf-8", "/style.css": "text/css; charset=utf-8",
            "/app.js": "text/javascript; charset=utf-8", "/data.json": "application/json",
            "/pic.png": "image/png", "/blob.zzz": "application/octet-stream",
            "/sub/": "text/html; charset=utf-8"}
    for path, ctype in want.items():
        r = curl(o, path)
        check(r.status == 200 and r.h("content-type") == ctype, "%s: %r" % (path, r))


def test_not_modified():
    r = curl(o, "/hello.txt")
    etag, lm = r.h("etag"), r.h("last-modified")
    r = curl(o, "/hello.txt", args=["-H", "If-None-Match: " + etag])
    check(r.status == 304 and r.body == b"", r)
    check(r.h("etag") == etag and r.h("content-length") in (None, "13"), r)
    r = curl(o, "/hello.txt", args=["-H", 'If-None-Match: "x", ' + etag])
    check(r.status == 304, "list with a match: %r" % r)
    r = curl(o, "/hello.txt", args=["-H", 'If-None-Match: "nope"'])
    check(r.status == 200 and r.body == b"Hello, duet!\n", r)
    # If-None-Match compares weakly (RFC 9110 §13.1.2), and "*" matches any file.
    for value in ("W/" + etag, "*"):
        r = curl(o, "/hello.txt", args=["-H", "If-None-Match: " + value])
        check(r.status == 304, "If-None-Match: %s: %r" % (value, r))
    r = curl(o, "/hello.txt", args=["-H", "If-Modified-Since: " + lm])
    check(r.status == 304 and r.body == b"", r)
    older = http_date(parse_http_date(lm) - 3600)
    r = curl(o, "/hello.txt", args=["-H", "If-Modified-Since: " + older])
    check(r.status == 200, r)
    # If-None-Match takes precedence: a mismatch means 200 whatever the date says.
    r = curl(o, "/hello.txt", args=["-H", 'If-None-Match: "nope"', "-H",
                                     "If-Modified-Since: " + lm])
    check(r.status == 200, "If-None-Match must override If-Modified-Since: %r" % r)


def test_ranges():
    size = len(RANGE)
    r = curl(o, "/range.txt", args=["-H", "Range: bytes=0-9"])
    check(r.status == 206 and r.body == RANGE[:10], r)
    check(r.h("content-range") == "bytes 0-9/%d" % size and r.h("content-length") == "10", r)
    r = curl(o, "/range.txt", args=["-H", "Range: bytes=-5"])
    check(r.status == 206 and r.body == RANGE[-5:], r)
    check(r.h("content-range") == "bytes %d-%d/%d" % (size - 5, size - 1, size), r)
    r = curl(o, "/range.txt", args=["-H", "Range: bytes=30-"])
    check(r.status == 206 and r.body == RANGE[30:], r)
    r = curl(o, "/range.txt", args=["-H", "Range: bytes=%d-" % size])
    check(r.status == 416, r)
    check(r.h("content-range") == "bytes */%d" % size, r)
    # If-Range with a stale validator: the whole file.
    r = curl(o, "/range.txt", args=["-H", "Range: bytes=0-9", "-H", 'If-Range: "old"'])
    check(r.status == 200 and r.body == RANGE, r)
    etag = r.h("etag")
    r = curl(o, "/range.txt", args=["-H", "Range: bytes=0-9", "-H", "If-Range: " + etag])
    check(r.status == 206 and r.body == RANGE[:10], r)


def test_head():
    get = curl(o, "/hello.txt")
    r = curl(o, "/hello.txt", args=["--head"])
    # With --head, curl writes the head itself to the output file: nothing may follow it.
    check(r.status == 200 and r.body.endswith(b"\r\n\r\n") and b"Hello" not in r.body, r)
    for h in ("content-length", "content-type", "etag", "last-modified"):
        check(r.h(h) == get.h(h), "HEAD %s %r vs GET %r" % (h, r.h(h), get.h(h)))
    # On one connection: if a HEAD answer carried a body, the next response would be garbled.
    c = Conn(o.port, ca=o.ca)
    try:
        for path in ("/hello.txt", "/big.bin", "/nope"):
            r = c.request(path, method="HEAD")
            check(r.status in (200, 404), r)
            r = c.request("/hello.txt")
            check(r.status == 200 and r.body == b"Hello, duet!\n", "after HEAD %s: %r" % (path, r))
    finally:
        c.close()


def test_keepalive_reuse():
    url2 = "https://site1.test:%d/sub/" % o.port
    r = curl(o, "/hello.txt", args=["-v", url2])
    check(r.rc == 0, r)
    check("Re-using existing connection" in r.stderr, "no reuse:\n" + r.stderr[-2000:])
    check(r.stderr.count("SSL connection using") == 1, "two handshakes:\n" + r.stderr[-2000:])


def test_two_sites_by_sni():
    r1 = curl(o, "/", args=["-v"])
    r2 = curl(o, "/", host="site2.test", args=["-v"])
    check(r1.body == b"<h1>site1</h1>\n" and r2.body == b"<h1>site2</h1>\n", (r1, r2))
    check("subject: O=duet-ecdsa; CN=site1.test" in r1.stderr, r1.stderr[-2000:])
    check("subject: O=duet-ecdsa; CN=site2.test" in r2.stderr, r2.stderr[-2000:])
    r = curl(o, "/", host="www.site1.test")
    check(r.status == 200 and r.body == b"<h1>site1</h1>\n", r)


def test_misdirected_421():
    c = Conn(o.port, ca=o.ca, sni="site1.test")
    try:
        r = c.request("/", host="site2.test")
        check(r.status == 421, r)
        r = c.request("/", host="site1.test")
        check(r.status == 200 and r.body == b"<h1>site1</h1>\n", r)
    finally:
        c.close()
    r = curl(o, "/", args=["-H", "Host: site2.test"])
    check(r.status == 421, r)


def test_http11_without_host_400():
    c = Conn(o.port, ca=o.ca)
    try:
        r = c.request("/", host=None)
        check(r.status == 400 and r.h("connection") == "close", r)
        how, _ = c.wait_closed(3)
        check(how != "open", "connection stayed open after 400")
    finally:
        c.close()


def test_methods_405():
    for method in ("POST", "PUT", "DELETE", "OPTIONS"):
        r = curl(o, "/hello.txt", args=["-X", method])
        check(r.status == 405, "%s: %r" % (method, r))
        check(r.h("allow") == "GET, HEAD", "%s: %r" % (method, r))
    r = curl(o, "/hello.txt", args=["--data-binary", "a=1"])
    check(r.status == 405, "POST with a body: %r" % r)


def test_encoded_names():
    for path, body in (("/with%20space.txt", b"spaced\n"),
                       ("/caf%C3%A9.txt", b"utf-8 name\n"),
                       ("/hello%2etxt", b"Hello, duet!\n"),
                       ("/hello.txt?v=1", b"Hello, duet!\n"),
                       ("/%2541.txt", b"a literal percent\n"),
                       ("/sub//page.html", b"<p>page</p>\n")):
        r = curl(o, path, args=["--path-as-is"])
        check(r.status == 200 and r.body == body, "%s: %r" % (path, r))


def test_directories():
    r = curl(o, "/sub/")
    check(r.status == 200 and r.body == b"<h1>sub</h1>\n", r)
    r = curl(o, "/sub")
    check(r.status == 301, r)
    loc = r.h("location")
    check(loc in ("/sub/", "https://site1.test:%d/sub/" % o.port), r)
    r = curl(o, "/sub", args=["-L"])
    check(r.status == 200 and r.body == b"<h1>sub</h1>\n", r)
    r = curl(o, "/sub?x=1")
    check(r.status == 301 and r.h("location").endswith("/sub/?x=1"),
          "query lost in the redirect: %r" % r)
    r = curl(o, "/sub/page.html/")
    check(r.status == 404, r)


def test_not_found_and_forbidden():
    r = curl(o, "/nope.html")
    check(r.status == 404 and b"404" in r.body, r)
    check(r.h("content-type").startswith("text/html"), r)
    r = curl(o, "/noindex/")
    check(r.status == 403, "directory without index: %r" % r)
    r = curl(o, "/noindex/readme.txt")
    check(r.status == 200, r)
    if o.user or os.geteuid() != 0:
        r = curl(o, "/secret.txt")
        check(r.status == 403 and b"top secret" not in r.body, "unreadable file: %r" % r)


def test_http10():
    c = Conn(o.port, ca=o.ca)
    try:
        r = c.request("/hello.txt", host=None, version="1.0")
        check(r.status == 200 and r.body == b"Hello, duet!\n", r)
        how, extra = c.wait_closed(3)
        check(how != "open" and extra == b"", "HTTP/1.0 without keep-alive stayed open")
    finally:
        c.close()
    c = Conn(o.port, ca=o.ca)
    try:
        for _ in range(2):
            r = c.request("/hello.txt", version="1.0", extra="Connection: keep-alive\r\n")
            check(r.status == 200 and r.body == b"Hello, duet!\n", r)
            check((r.h("connection") or "").lower() == "keep-alive", r)
        r = c.request("/nope", version="1.0", extra="Connection: keep-alive\r\n")
        check(r.status == 404 and (r.h("connection") or "").lower() == "keep-alive",
              "an HTTP/1.0 client keeps the connection only when told: %r" % r)
        r = c.request("/hello.txt", version="1.0")
        check(r.status == 200, r)
        how, _ = c.wait_closed(3)
        check(how != "open", "last HTTP/1.0 request without keep-alive: still open")
    finally:
        c.close()


def test_pipelining_in_order():
    c = Conn(o.port, ca=o.ca)
    try:
        c.send("GET /hello.txt HTTP/1.1\r\nHost: site1.test\r\n\r\n"
               "HEAD /style.css HTTP/1.1\r\nHost: site1.test\r\n\r\n"
               "GET /nope HTTP/1.1\r\nHost: site1.test\r\n\r\n"
               "GET /range.txt HTTP/1.1\r\nHost: site1.test\r\nRange: bytes=1-3\r\n\r\n")
        r = c.read_response()
        check(r.status == 200 and r.body == b"Hello, duet!\n", r)
        r = c.read_response(head=True)
        check(r.status == 200 and r.h("content-type").startswith("text/css"), r)
        r = c.read_response()
        check(r.status == 404, r)
        r = c.read_response()
        check(r.status == 206 and r.body == b"123", r)
        check(c.buf == b"", "stray bytes %r" % c.buf)
    finally:
        c.close()
    # The second request arrives in two pieces: the server must read on for its rest.
    for port, tls, want in ((o.port, True, 200), (o.ports["plain"], False, 301)):
        c = Conn(port, tls=tls, ca=o.ca)
        try:
            c.send("GET /hello.txt HTTP/1.1\r\nHost: site1.test\r\n\r\nGET /hello.txt HT")
            check(c.read_response().status == want, "first")
            time.sleep(0.1)
            c.send("TP/1.1\r\nHost: site1.test\r\n\r\n")
            r = c.read_response(timeout=2)
            check(r.status == want, r)
        finally:
            c.close()


def tls_half_close(port, ca, data, sni="site1.test", version=None, timeout=5):
    """TLS through memory BIOs so the client controls every record: completes a handshake,
    sends data and right behind it close_notify (a TLS half-close), then reads until the
    server closes. Returns the plaintext received."""
    ctx = ssl.create_default_context(cafile=ca)
    if version:
        ctx.minimum_version = ctx.maximum_version = version
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(inc, out, server_hostname=sni)
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout * SLOW)
    got = b""
    try:
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                if out.pending:
                    s.sendall(out.read())
                chunk = s.recv(65536)
                check(chunk, "closed during the handshake")
                inc.write(chunk)
        tls.write(data)
        try:
            tls.unwrap()
        except ssl.SSLWantReadError:
            pass  # our close_notify is out; the server's comes later
        s.sendall(out.read())
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            inc.write(chunk)
            while True:
                try:
                    plain = tls.read(65536)
                except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                    break
                if not plain:
                    break
                got += plain
    finally:
        s.close()
    return got


def test_half_close_still_answered():
    """A client may finish sending before it reads: a FIN (TCP) or close_notify (TLS) right
    behind its requests must not cost it the answers."""
    reqs = ("GET /hello.txt HTTP/1.1\r\nHost: site1.test\r\n\r\n"
            "GET /big.bin HTTP/1.1\r\nHost: site1.test\r\nRange: bytes=0-99999\r\n\r\n"
            "GET /hello.txt HTTP/1.1\r\nHost: si").encode()
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        got = tls_half_close(o.port, o.ca, reqs, version=version)
        check(got.startswith(b"HTTP/1.1 200 OK\r\n") and got.count(b"HTTP/1.1 ") == 2,
              "%s: %r" % (version, got[:300]))
        check(got.endswith(BIG[99900:100000]), "%s: partial answer (%d bytes)" %
              (version, len(got)))
    s = socket.create_connection(("127.0.0.1", o.ports["plain"]), timeout=5)
    try:
        s.sendall(b"GET /x HTTP/1.1\r\nHost: site1.test\r\n\r\n")
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        check(got.startswith(b"HTTP/1.1 301 "), "plain TCP half-close: %r" % got)
    finally:
        s.close()


def test_redirect_https():
    port = o.ports["plain"]
    r = curl(o, "/a/b.html?x=1", port=port, scheme="http")
    check(r.status == 301, r)
    check(r.h("location") == "https://site1.test:%d/a/b.html?x=1" % o.port, r)
    r = curl(o, "/hello.txt", port=port, scheme="http",
             args=["-L", "--resolve", "site1.test:%d:127.0.0.1" % o.port])
    check(r.status == 200 and r.body == b"Hello, duet!\n", "following the redirect: %r" % r)


def test_cache_invalidation():
    path = os.path.join(o.root1, "cached.txt")
    first = curl(o, "/cached.txt")
    check(first.status == 200 and first.body == b"version one\n", first)
    for _ in range(4):  # both workers cache it
        check(curl(o, "/cached.txt").body == b"version one\n", "warm")
    write_file(path, "version two, longer\n")
    t = os.stat(path).st_mtime + 5
    os.utime(path, (t, t))
    time.sleep(0.5)  # > file-cache-valid = 200ms
    for _ in range(4):
        r = curl(o, "/cached.txt")
        check(r.status == 200 and r.body == b"version two, longer\n", "stale content: %r" % r)
        check(r.h("etag") != first.h("etag"), "stale ETag: %r" % r)
    os.unlink(path)
    time.sleep(0.5)
    r = curl(o, "/cached.txt")
    check(r.status == 404, "deleted file still served: %r" % r)


def test_large_file():
    r = curl(o, "/big.bin", timeout=30)
    check(r.status == 200 and r.h("content-length") == str(len(BIG)), r)
    check(len(r.body) == len(BIG) and sha256(r.body) == sha256(BIG),
          "20 MB body differs (%d bytes)" % len(r.body))
    first, last = 10_000_000, 12_345_677
    r = curl(o, "/big.bin", args=["-H", "Range: bytes=%d-%d" % (first, last)], timeout=30)
    check(r.status == 206, r)
    check(r.h("content-range") == "bytes %d-%d/%d" % (first, last, len(BIG)), r)
    check(sha256(r.body) == sha256(BIG[first:last + 1]), "range body differs")


def test_ipv6():
    port = o.ports["tls6"]
    r = curl(o, "/hello.txt", port=port, addr="[::1]", args=["-v"])
    check(r.status == 200 and r.body == b"Hello, duet!\n", r)
    check("Connected to site1.test (::1)" in r.stderr, r.stderr[-1500:])
    c = Conn(port, host="::1", ca=o.ca, sni="site2.test")
    try:
        r = c.request("/", host="site2.test")
        check(r.status == 200 and r.body == b"<h1>site2</h1>\n", r)
    finally:
        c.close()


def test_connection_close_and_keepalive_requests():
    c = Conn(o.port, ca=o.ca)
    try:
        r = c.request("/hello.txt", extra="Connection: close\r\n")
        check(r.status == 200 and r.h("connection") == "close", r)
        check(c.wait_closed(3)[0] != "open", "Connection: close request left it open")
    finally:
        c.close()
    c = Conn(o.port, ca=o.ca)
    try:
        for i in range(1, KEEPALIVE_REQUESTS + 1):
            r = c.request("/hello.txt")
            last = i == KEEPALIVE_REQUESTS
            check(r.status == 200 and (r.h("connection") == "close") == last,
                  "request %d of keepalive-requests %d: %r" % (i, KEEPALIVE_REQUESTS, r))
        check(c.wait_closed(3)[0] != "open", "open after keepalive-requests")
    finally:
        c.close()


def test_not_modified_before_range():
    """Preconditions come before Range (RFC 9110 §13.2.2): a matching validator is 304."""
    r = curl(o, "/range.txt")
    etag, lm = r.h("etag"), r.h("last-modified")
    r = curl(o, "/range.txt", args=["-H", "If-None-Match: " + etag, "-r", "0-9"])
    check(r.status == 304 and r.body == b"" and r.h("content-range") is None, r)
    r = curl(o, "/range.txt", args=["-H", "If-Modified-Since: " + lm, "-r", "0-9"])
    check(r.status == 304 and r.body == b"", r)
    # Even an unsatisfiable range: 304, not 416.
    r = curl(o, "/range.txt", args=["-H", "If-None-Match: " + etag, "-r", "999-"])
    check(r.status == 304, r)


def test_if_range_by_date():
    r = curl(o, "/range.txt")
    lm = r.h("last-modified")
    r = curl(o, "/range.txt", args=["-r", "0-9", "-H", "If-Range: " + lm])
    check(r.status == 206 and r.body == RANGE[:10], r)
    # A date other than Last-Modified (older or newer): the whole file.
    for t in (parse_http_date(lm) - 1, parse_http_date(lm) + 1):
        r = curl(o, "/range.txt", args=["-r", "0-9", "-H", "If-Range: " + http_date(t)])
        check(r.status == 200 and r.body == RANGE and r.h("content-range") is None, r)


def test_head_with_range():
    """Range is defined for GET only (RFC 9110 §14.2): a HEAD gets the 200 head."""
    c = Conn(o.port, ca=o.ca)
    try:
        r = c.request("/range.txt", method="HEAD", extra="Range: bytes=0-9\r\n")
        check(r.status == 200 and r.h("content-length") == str(len(RANGE)), r)
        check(r.h("content-range") is None and r.body == b"", r)
        r = c.request("/range.txt", method="HEAD", extra="Range: bytes=999-\r\n")
        check(r.status == 200, "HEAD with an unsatisfiable range: %r" % r)
        r = c.request("/hello.txt")
        check(r.status == 200 and r.body == b"Hello, duet!\n", "after HEAD: %r" % r)
    finally:
        c.close()


def test_absolute_form_targets():
    """The authority of an absolute-form target replaces Host (RFC 9112 §3.2.2)."""
    c = Conn(o.port, ca=o.ca, sni="site2.test")
    try:
        r = c.request("https://site2.test/", host="site1.test")
        check(r.status == 200 and r.body == b"<h1>site2</h1>\n", r)
        r = c.request("http://SITE2.test:443/index.html?x", host="site2.test")
        check(r.status == 200 and r.body == b"<h1>site2</h1>\n", r)
        # It names another site than this connection's SNI: 421, whatever Host says.
        r = c.request("https://site1.test/hello.txt", host="site2.test")
        check(r.status == 421, r)
        # No path after the authority: 400 and close.
        r = c.request("https://site2.test", host="site2.test")
        check(r.status == 400 and r.h("connection") == "close", r)
    finally:
        c.close()
    c = Conn(o.port, ca=o.ca)
    try:
        r = c.request("https://www.site1.test/hello.txt", host="elsewhere.test")
        check(r.status == 200 and r.body == b"Hello, duet!\n", r)
    finally:
        c.close()


def test_redirect_without_host():
    """The redirect listener cannot name a https:// URL without a host: 400, closed."""
    port = o.ports["plain"]
    got, how = raw_exchange(port, b"GET /a HTTP/1.0\r\n\r\n")
    check(status_of(got) == 400 and how == "EOF", (got, how))
    got, how = raw_exchange(port, b"GET /a HTTP/1.1\r\n\r\n")
    check(status_of(got) == 400, (got, how))
    # An absolute-form target supplies it.
    got, how = raw_exchange(port, b"GET http://site2.test/a?b HTTP/1.0\r\n\r\n")
    check(status_of(got) == 301 and
          b"Location: https://site2.test:%d/a?b\r\n" % o.port in got, (got, how))


def test_cached_file_became_directory():
    path = os.path.join(o.root1, "turn")
    write_file(path, "a file for now\n", mode=0o644)
    for _ in range(4):  # both workers cache it
        r = curl(o, "/turn")
        check(r.status == 200 and r.body == b"a file for now\n", r)
    os.unlink(path)
    write_file(os.path.join(path, "index.html"), "<p>now a directory</p>\n", mode=0o644)
    os.chmod(path, 0o755)
    time.sleep(0.5)  # > file-cache-valid = 200ms
    for _ in range(4):
        r = curl(o, "/turn")
        check(r.status == 301 and r.h("location") == "/turn/", "cached file served: %r" % r)
        r = curl(o, "/turn/")
        check(r.status == 200 and r.body == b"<p>now a directory</p>\n", r)


if __name__ == "__main__":
    need("curl")
    main(o, test_status_and_headers, test_mime_types, test_not_modified, test_ranges, test_head,
         test_keepalive_reuse, test_two_sites_by_sni, test_misdirected_421,
         test_http11_without_host_400, test_methods_405, test_encoded_names, test_directories,
         test_not_found_and_forbidden, test_http10, test_pipelining_in_order,
         test_half_close_still_answered,
         test_redirect_https, test_cache_invalidation, test_large_file,
         test_ipv6, test_connection_close_and_keepalive_requests,
         test_not_modified_before_range, test_if_range_by_date, test_head_with_range,
         test_absolute_form_targets, test_redirect_without_host,
         test_cached_file_became_directory)
