"""Idle TLS keep-alive connections hold no buffers (issue "duet-origin: closed to hostile
clients", Memory; bench/idle.sh measures the same against nginx and h2o at 10,000).

One worker; CONNS connections opened one after another and left idle in one of three
ways, all kept open to the end, and the daemon's memory growth per connection (Pss from
/proc/PID/smaps_rollup, after minus before, divided by CONNS) must stay under BOUND_KIB:
  - after the TLS handshake, no request yet (a browser's preconnect);
  - after one keep-alive request for a 1 KB page;
  - after one keep-alive request for a 200 KB file (ciphertext in 64 KiB chunks).
What an idle connection cannot avoid holding: its OpenSSL session (the SSL object, ~7.5
KiB, with its record-layer cipher contexts, ~2 KiB), the connection object (~2 KiB) and
the allocator's share of them: ~13 KiB measured, where nginx holds ~15. Buffers are what
must not stay: a request buffer (20 KiB), an output buffer (66 KiB), the ciphertext queues
(before this test: memory BIOs that kept their largest size, ~88 KiB after a 64 KiB
chunk). BOUND_KIB leaves room for allocator noise and is far below any one of those.
Sanitizer builds replace malloc (redzones around every allocation; ASan's quarantine is
turned off for the daemon here): the bound is doubled there, which still catches a buffer.
"""
import os
import time

from harness import SANITIZE, TSAN, check, skip
from origin_util import Conn, Origin, main, raise_nofile, ss

CONNS = 300
WARMUP = 10
BOUND_KIB = 2 * 24 if SANITIZE else 24
BIG = os.urandom(200 << 10)
PAGE = b"<!doctype html>" + b"x" * (1024 - 15)

o = Origin(top="keepalive-timeout = 120s\nheader-timeout = 60s\nmax-connections = 2000",
           site1_files={"index.html": PAGE, "big.bin": BIG}, access_log="off")
o.conf = o.conf.replace("workers = 2", "workers = 1")
with open(o.daemon.conf, "w") as f:
    f.write(o.conf)
o.daemon.env["ASAN_OPTIONS"] = (o.daemon.env.get("ASAN_OPTIONS", "") +
                                ":quarantine_size_mb=0").lstrip(":")
raise_nofile(3 * (CONNS + WARMUP) + 256)


def pss_kib():
    with open("/proc/%d/smaps_rollup" % o.daemon.proc.pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    raise AssertionError("no Pss in smaps_rollup")


def open_idle(path):
    """A connection with its handshake done and, unless path is None, one keep-alive
    request for path answered in full."""
    c = Conn(o.port, ca=o.ca, timeout=10)
    if path is not None:
        r = c.request(path)
        check(r.status == 200, "GET %s: %r" % (path, r))
        want = BIG if path == "/big.bin" else PAGE
        check(r.body == want, "GET %s: %d bytes, not the file's" % (path, len(r.body)))
    return c


HELD = []  # every connection stays open to the end: memory freed by closing one would be
           # reused by the next test's connections and hide what they hold


def growth_per_conn(path):
    # Warm-up: the pools, the file cache and OpenSSL's lazy set-up are paid before the
    # baseline.
    HELD.extend(open_idle(path) for _ in range(WARMUP))
    time.sleep(0.5)
    before = pss_kib()
    HELD.extend(open_idle(path) for _ in range(CONNS))
    time.sleep(0.5)  # the server has read every Finished and written its tickets
    after = pss_kib()
    est = len(ss("-tn", "state", "established", "sport = :%d" % o.port).splitlines())
    check(est >= len(HELD), "only %d of %d connections still open on the server" %
          (est, len(HELD)))
    per = (after - before) / CONNS
    print("     %s: Pss %d -> %d KiB, %.1f KiB per idle connection (bound %d)" %
          (path or "handshake only", before, after, per, BOUND_KIB))
    return per


def check_growth(path):
    per = growth_per_conn(path)
    check(per < BOUND_KIB, "%.1f KiB per idle connection after %s (bound %d KiB)" %
          (per, path or "the handshake", BOUND_KIB))


def test_idle_after_handshake_holds_no_buffers():
    check_growth(None)


def test_idle_after_small_request_holds_no_buffers():
    check_growth("/index.html")


def test_idle_after_large_download_holds_no_buffers():
    check_growth("/big.bin")


if __name__ == "__main__":
    if TSAN:  # its shadow memory is several times the daemon's own: RSS says nothing here
        skip("memory per connection is not measurable under ThreadSanitizer")
    main(o, test_idle_after_handshake_holds_no_buffers,
         test_idle_after_small_request_holds_no_buffers,
         test_idle_after_large_download_holds_no_buffers)
