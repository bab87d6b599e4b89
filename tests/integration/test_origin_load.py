"""duet-origin under wrk for a few seconds each: a small cached page over keep-alive TLS, a
100 KiB cached file (several TLS chunks from one cache entry), a 1 MiB file streamed from
disk while curl checks that every copy arrives intact, new TLS connections per request
(Connection: close), and plain HTTP. Each run must finish with zero socket errors and zero
non-2xx/3xx responses, and read as many bytes as its responses promise.

Then two loads at once, as a browser fleet makes them: keep-alive requests for a small page
beside new TLS connections each downloading the 1 MiB file with "Connection: close" (a wrk
Lua script counts the bodies that arrive whole, and curl checks what each download holds).
Every download must arrive whole and be the file asked for."""
import os
import re
import subprocess
import tempfile
import threading
import time

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


# Counts, over all threads, the responses whose body arrived whole (SIZE bytes, status 200)
# and those that did not; prints them with wrk's own totals in one line.
COUNT_LUA = """
local threads = {}
local size = tonumber(os.getenv("DUET_SIZE"))
function setup(thread) table.insert(threads, thread) end
function init(args) whole = 0; short = 0 end
function response(status, headers, body)
  if status == 200 and #body == size then whole = whole + 1 else short = short + 1 end
end
function done(summary, latency, requests)
  local w, s = 0, 0
  for _, t in ipairs(threads) do w = w + t:get("whole"); s = s + t:get("short") end
  io.write(string.format("DUET whole=%d short=%d requests=%d bytes=%d read=%d timeout=%d\\n",
    w, s, summary.requests, summary.bytes, summary.errors.read, summary.errors.timeout))
end
"""


def test_close_downloads_beside_keepalive():
    """Issue "closed to hostile clients" (7): with this pair of loads, 24 % of the 1 MiB
    downloads were cut short (wrk read errors, fewer bytes than responses). The cause: a
    new TLS connection's first response head waited in the worker's shared head buffer
    while the session tickets were being written, and another connection's response head
    (the small page's, keep-alive) was built over it; the download then got that head with
    the file's bytes behind it."""
    seconds = 12
    head = curl(o, "/large.bin", args=["-H", "Connection: close"])
    check(head.status == 200 and len(head.body) == len(LARGE), head)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", dir=o.dir, delete=False) as f:
        f.write(COUNT_LUA)
    url = "https://127.0.0.1:%d" % o.port
    outs = {}

    def run(name, cmd, env=None):
        r = subprocess.run(cmd, capture_output=True, text=True, env=env,
                           timeout=seconds + 30 * SLOW)
        outs[name] = (r.returncode, r.stdout + r.stderr)
    bad, fetched = [], [0]

    def fetch():
        end = time.monotonic() + seconds - 2
        while time.monotonic() < end and len(bad) < 5:
            r = curl(o, "/large.bin", args=["-H", "Connection: close"], timeout=20)
            fetched[0] += 1
            if r.status != 200 or r.body != LARGE:
                bad.append("status %s, %d bytes, content-length %s, connection %s" %
                           (r.status, len(r.body), r.h("content-length"), r.h("connection")))
    base = ["wrk", "-t2", "-d%ds" % seconds, "--timeout", "%ds" % (5 * SLOW)]
    env = dict(os.environ, DUET_SIZE=str(len(LARGE)))
    threads = [
        threading.Thread(target=run, args=("keepalive", base + ["-c200", url + "/"])),
        threading.Thread(target=run, args=("close", base + [
            "-c10", "-H", "Connection: close", "-s", f.name, url + "/large.bin"], env)),
        threading.Thread(target=fetch),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 60 * SLOW)
    check(not any(t.is_alive() for t in threads), "the loads did not finish")
    rc, out = outs["close"]
    check(rc == 0, "wrk exit %d:\n%s" % (rc, out))
    m = re.search(r"DUET whole=(\d+) short=(\d+) requests=(\d+) bytes=(\d+) read=(\d+) "
                  r"timeout=(\d+)", out)
    check(m, "no count from the wrk script:\n" + out)
    whole, short, requests, read, read_errors, timeouts = map(int, m.groups())
    print("close run: %d whole bodies, %d short, %d requests, %d bytes, %d read errors; "
          "curl: %d downloads, %d bad" % (whole, short, requests, read, read_errors,
                                          fetched[0], len(bad)))
    check(not bad, "curl downloads that were not the file: %s" % bad[:5])
    check(short == 0 and read_errors == 0 and timeouts == 0,
          "downloads cut short or wrong:\n" + out)
    check(whole == requests and requests > 0, "responses %d, whole bodies %d:\n%s" %
          (requests, whole, out))
    size = len(LARGE) + sum(len(k) + len(v) + 4 for k, v in head.headers) + 40
    # Bytes: every counted response whole, plus at most one partial download per
    # connection that wrk abandoned when its time was up.
    check(read >= requests * len(LARGE), "read %d bytes for %d responses:\n%s" %
          (read, requests, out))
    check(read <= (requests + 10) * size, "read %d bytes, more than %d responses hold:\n%s" %
          (read, requests, out))
    rc, out = outs["keepalive"]
    check(rc == 0 and "Socket errors" not in out and "Non-2xx" not in out,
          "keep-alive run:\n" + out)


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
         test_streamed_file_intact_under_load, test_new_connection_per_request,
         test_close_downloads_beside_keepalive, test_plain_http, test_still_serving)
