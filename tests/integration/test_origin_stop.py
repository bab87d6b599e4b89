"""duet-origin's graceful stop on SIGTERM: listeners close at once (new connections are
refused), idle keep-alive connections and half-sent requests are closed, a download in
flight is finished intact, and the daemon exits 0 well before drain-timeout, without
having to abort anything."""
import os
import signal
import socket
import time

from harness import SLOW, check
from origin_util import Conn, Origin, main, sha256

BIG = os.urandom(4 * 1024 * 1024)   # streamed from disk (file-cache-max-file is 256k)
DRAIN = 10.0

o = Origin(top="drain-timeout = %ds" % DRAIN, listens=(("tls", ""), ("plain", "")),
           site1_files={"index.html": "<h1>site1</h1>\n", "big.bin": BIG})


def test_sigterm_drains():
    idle_tls = Conn(o.port, ca=o.ca)
    idle_plain = Conn(o.ports["plain"], tls=False)
    for c in (idle_tls, idle_plain):
        check(c.request("/").status == 200, "warm-up request")
    half = Conn(o.ports["plain"], tls=False)
    half.send("GET / HTTP/1.1\r\nHost: si")
    # A small receive buffer keeps most of the file on the server side when SIGTERM comes.
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
    raw.settimeout(10 * SLOW)
    raw.connect(("127.0.0.1", o.ports["plain"]))
    raw.sendall(b"GET /big.bin HTTP/1.1\r\nHost: site1.test\r\n\r\n")
    got = raw.recv(65536)
    check(got.startswith(b"HTTP/1.1 200 "), got[:100])
    time.sleep(0.2)

    start = time.monotonic()
    o.daemon.signal(signal.SIGTERM)
    for name, c in (("idle TLS", idle_tls), ("idle plain", idle_plain), ("half request", half)):
        how, _ = c.wait_closed(2)
        check(how != "open", "%s connection not closed on SIGTERM" % name)
        c.close()
    refused = False
    try:
        Conn(o.port, ca=o.ca, timeout=2).close()
    except OSError:  # refused, reset or timed out: not served
        refused = True
    check(refused, "a new connection was served after SIGTERM")
    check(o.alive(), "exited while a response was in flight")

    while True:
        chunk = raw.recv(1 << 20)
        if not chunk:
            break
        got += chunk
    raw.close()
    body = got.split(b"\r\n\r\n", 1)[1]
    check(len(body) == len(BIG) and sha256(body) == sha256(BIG),
          "download cut by the stop: %d of %d bytes" % (len(body), len(BIG)))
    try:
        rc = o.daemon.proc.wait(DRAIN * SLOW)
    except Exception:  # noqa: BLE001 - reported below
        rc = None
    took = time.monotonic() - start
    check(rc == 0, "exit status %s" % rc)
    check(took < DRAIN - 2, "stop took %.1fs: the drain waited for nothing" % took)
    err = o.stderr()
    check("drain_abort" not in err and "worker_abort" not in err, "had to abort:\n" + err[-1500:])


if __name__ == "__main__":
    main(o, test_sigterm_drains)
