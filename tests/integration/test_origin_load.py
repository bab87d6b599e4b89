"""duet-origin under wrk for a few seconds each: a small cached page over keep-alive TLS, a
100 KiB cached file (several TLS chunks from one cache entry), a 1 MiB file streamed from
disk while curl checks that every copy arrives intact, new TLS connections per request
(Connection: close), and plain HTTP. Each run must finish with zero socket errors and zero
non-2xx/3xx responses, and read as many bytes as its responses promise."""
import os
import re
import subprocess
import threading

from harness import SLOW, check
from origin_util import Origin, curl, main, need, sha256

MID = os.urandom(100 * 1024)       # cached (file-cache-max-file 256k), > chunk-size 64k
LARGE = os.urandom(1024 * 1024)    # streamed from disk in chunks
SMALL = b"<h1>site1</h1>\n"
UNITS = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}

o = Origin(access_log="off", listens=(("tls", ""), ("plain", "")),
           site1_files={"index.html": SMALL, "mid.bin": MID, "large.bin": LARGE})


def socket_errors(out):
    """wrk's "Socket errors: connect N, read N, write N, timeout N" as a dict ({} if none)."""
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if not m:
        return {}
    return dict(zip(("connect", "read", "write", "timeout"), map(int, m.groups())))


def wrk(url, seconds, conns=50, args=(), retried=False):
    """Runs wrk; returns (requests, bytes read, output). Fails on any error it reports.
    A run whose only errors are connect errors is repeated once, printing the first run:
    on this 2-core machine ctest runs two tests at once, and a connect error has been seen
    only when another load test shared the cores (the client side, not the daemon, gave
    up). Read, write and timeout errors are the daemon's doing: they fail at once, as do
    connect errors in the second run."""
    cmd = ["wrk", "-t2", "-c%d" % conns, "-d%ds" % seconds, "--timeout", "%ds" % (5 * SLOW)]
    cmd += list(args) + [url]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30 * SLOW)
    out = r.stdout + r.stderr
    errors = socket_errors(out)
    if errors and not retried and errors["connect"] and not (
            errors["read"] or errors["write"] or errors["timeout"]):
        print("wrk reported %d connect errors (only); running it once more. First run:\n%s"
              % (errors["connect"], out))
        return wrk(url, seconds, conns, args, retried=True)
    check(r.returncode == 0, "wrk exit %d:\n%s" % (r.returncode, out))
    m = re.search(r"(\d+) requests in [\d.]+\w+, ([\d.]+)([KMGT]?B) read", out)
    check(m, "cannot read wrk's summary:\n" + out)
    requests, read = int(m.group(1)), float(m.group(2)) * UNITS[m.group(3)]
    check("Non-2xx or 3xx responses" not in out, "error responses:\n" + out)
    check("Socket errors" not in out, "socket errors:\n" + out)
    check(requests > 0, "no requests completed:\n" + out)
    return requests, read, out


def check_volume(requests, read, size, conns, out):
    # Each response is the body plus a head of a few hundred bytes; responses still in
    # flight when wrk stops count as read too, at most one per connection.
    check(read >= requests * size * 0.99, "read %d bytes for %d responses of %d:\n%s" %
          (read, requests, size, out))
    check(read <= (requests + conns) * (size + 1024) * 1.01,
          "read %d bytes, more than %d responses can hold:\n%s" % (read, requests, out))


def test_small_cached_keepalive():
    requests, read, out = wrk("https://127.0.0.1:%d/" % o.port, 3)
    check(requests >= 500 // SLOW, "only %d requests in 3 s:\n%s" % (requests, out))
    check_volume(requests, read, len(SMALL), 50, out)


def test_cached_file_in_chunks():
    requests, read, out = wrk("https://127.0.0.1:%d/mid.bin" % o.port, 2)
    check_volume(requests, read, len(MID), 50, out)
    r = curl(o, "/mid.bin")
    check(r.status == 200 and sha256(r.body) == sha256(MID), "mid.bin corrupted after load")


def test_streamed_file_intact_under_load():
    bad = []

    def fetch():
        for _ in range(5):
            r = curl(o, "/large.bin", timeout=20)
            if r.status != 200 or sha256(r.body) != sha256(LARGE):
                bad.append("status %s, %d bytes" % (r.status, len(r.body)))
    t = threading.Thread(target=fetch)
    t.start()
    try:
        requests, read, out = wrk("https://127.0.0.1:%d/large.bin" % o.port, 2)
    finally:
        t.join(60 * SLOW)
    check(not t.is_alive(), "curl downloads did not finish")
    check(not bad, "large.bin corrupted under load: %s" % bad)
    check_volume(requests, read, len(LARGE), 50, out)


def test_new_connection_per_request():
    requests, _, out = wrk("https://127.0.0.1:%d/" % o.port, 2, conns=20,
                           args=["-H", "Connection: close"])
    check(requests >= 50 // SLOW, "only %d handshakes in 2 s:\n%s" % (requests, out))


def test_plain_http():
    requests, read, out = wrk("http://127.0.0.1:%d/" % o.ports["plain"], 2)
    check_volume(requests, read, len(SMALL), 50, out)


def test_still_serving():
    check(o.alive(), "daemon died")
    r = curl(o, "/")
    check(r.status == 200 and r.body == SMALL, r)
    err = o.stderr()
    check("level=error" not in err, "errors logged under load:\n" + err[-2000:])


if __name__ == "__main__":
    need("wrk", "curl")
    main(o, test_small_cached_keepalive, test_cached_file_in_chunks,
         test_streamed_file_intact_under_load, test_new_connection_per_request, test_plain_http,
         test_still_serving)
