"""duet-origin's buffer sizes across reloads. Request and response buffers follow
max-header-size, max-body-size and chunk-size; they once came from pools sized at worker
start, so a SIGHUP that raised chunk-size made every large-file read overrun its buffer,
and one that raised max-header-size left a 30 KB header stalling into 408.

Each reload (raise, lower, raise again) is checked on connections accepted after it (new
limits) and on keep-alive connections accepted before it (their own limits to the end):
large files arrive intact, big headers are served or refused by the right limit, and the
run ends with a clean stop (ASan quiet in a sanitizer build)."""
import hashlib
import os
import time

from harness import SLOW, check
from origin_util import Conn, Origin, main

BIG = os.urandom(3 << 20)
MID = os.urandom(300 << 10)
SMALL = "<h1>site1</h1>\n"

o = Origin(top="@LIMITS@\nheader-timeout = 3s\nfile-cache-max-file = 64k\n",
           listens=(("tls", ""), ("plain", "")),
           site1_files={"index.html": SMALL, "big.bin": BIG, "mid.bin": MID})
TEMPLATE = o.conf

SMALL_LIMITS = "chunk-size = 16k\nmax-header-size = 8192\n"
LARGE_LIMITS = "chunk-size = 1m\nmax-header-size = 65536\nmax-body-size = 64k\n"
TINY_LIMITS = "chunk-size = 4k\nmax-header-size = 4096\n"
HEADERS_ONLY = "chunk-size = 16k\nmax-header-size = 65536\n"


def configure(limits):
    with open(o.daemon.conf, "w") as f:
        f.write(TEMPLATE.replace("@LIMITS@", limits))


configure(SMALL_LIMITS)


def reload(limits):
    configure(limits)
    o.daemon.messages.clear()
    o.daemon.signal(1)  # SIGHUP
    o.daemon.wait_message("RELOADING=1")
    o.daemon.wait_message("READY=1")
    check("result=accepted" in o.stderr().rsplit("event=reload", 1)[-1],
          "reload refused:\n" + o.stderr()[-2000:])
    time.sleep(0.3 * SLOW)  # the workers take the new configuration from their queues


def conn(tls):
    return Conn(o.port if tls else o.ports["plain"], tls=tls, ca=o.ca, timeout=10)


def fetch_files(c, where):
    for path, data in (("/big.bin", BIG), ("/mid.bin", MID), ("/", SMALL.encode())):
        r = c.request(path)
        check(r.status == 200 and hashlib.sha256(r.body).digest() ==
              hashlib.sha256(data).digest(),
              "%s %s: status %d, %d of %d bytes" % (where, path, r.status, len(r.body),
                                                    len(data)))


def big_header(c, size, want, where):
    t0 = time.monotonic()
    r = c.request("/", extra="X-Big: %s\r\n" % ("h" * size))
    took = time.monotonic() - t0
    check(r.status == want, "%s: %d-byte header: %r" % (where, size, r))
    check(took < 2 * SLOW, "%s: %d-byte header answered after %.1fs" % (where, size, took))


def alive(what):
    check(o.alive(), "%s: duet-origin died; stderr:\n%s" % (what, o.stderr()[-3000:]))


def test_header_limit_raised_by_reload():
    """Only max-header-size goes up: a 30 KB header on a new connection is served at once
    (it used to fill the start-up-sized buffer and wait for header-timeout: 408)."""
    reload(HEADERS_ONLY)
    for tls in (False, True):
        c = conn(tls)
        try:
            big_header(c, 30000, 200, "new %s connection" % ("TLS" if tls else "TCP"))
        finally:
            c.close()
    reload(SMALL_LIMITS)


def test_reload_raise_lower_raise():
    olds = {tls: conn(tls) for tls in (True, False)}
    try:
        for tls, c in olds.items():
            fetch_files(c, "before (%s)" % ("TLS" if tls else "TCP"))
        for step, limits, header_ok in (("raised", LARGE_LIMITS, 30000),
                                        ("lowered", TINY_LIMITS, 3000),
                                        ("raised again", LARGE_LIMITS, 30000)):
            reload(limits)
            alive(step)
            for tls in (True, False):
                where = "%s, new %s connection" % (step, "TLS" if tls else "TCP")
                c = conn(tls)
                try:
                    fetch_files(c, where)
                    big_header(c, header_ok, 200, where)
                finally:
                    c.close()
                if header_ok < 8000:
                    c = conn(tls)
                    try:
                        # Refused at once by the lowered limit.
                        big_header(c, 30000, 431, where)
                    finally:
                        c.close()
            alive(step)
            # Connections from before every reload keep their limits and buffers.
            for tls, c in olds.items():
                where = "%s, old %s connection" % (step, "TLS" if tls else "TCP")
                fetch_files(c, where)
                big_header(c, 6000, 200, where)
    finally:
        for c in olds.values():
            c.close()


def test_old_limit_still_refuses():
    """A connection accepted under the small limits refuses a 30 KB header (431) even after
    a reload raised them: it keeps the configuration it was accepted under."""
    reload(SMALL_LIMITS)
    for tls in (True, False):
        c = conn(tls)
        try:
            c.request("/")
            reload(LARGE_LIMITS)
            big_header(c, 30000, 431, "old %s connection" % ("TLS" if tls else "TCP"))
        finally:
            c.close()
        reload(SMALL_LIMITS)


if __name__ == "__main__":
    main(o, test_header_limit_raised_by_reload, test_reload_raise_lower_raise,
         test_old_limit_still_refuses)
