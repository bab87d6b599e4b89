"""duet-resolver keeps bounded when a flood of cache misses hits a silent zone (defect 5 of
the hardening issue): random names under lame.example, whose only server address the test
holds with a socket that never answers, would each hold a resolution and an upstream
socket for seconds. With num-queries-per-thread = 32 and outgoing-range = 16, the daemon's
open file descriptors stay near its baseline, queries over the limits get SERVFAIL at
once, cached answers keep being served throughout, and once the silent resolutions have
ended new ones work again.
uses-lab"""
import os
import random
import socket
import struct
import time

from harness import SLOW, Daemon, Lab, check, dig, dig_status, free_port, run

lab = None
res = None
PORT = None
LIMIT = 32
SOCKETS = 16


def fds():
    return len(os.listdir("/proc/%d/fd" % res.proc.pid))


def query(name, qid):
    wire = b"".join(bytes([len(l)]) + l.encode() for l in name.rstrip(".").split(".")) + b"\0"
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + wire + struct.pack("!HH", 1, 1)


def test_flood_of_misses_stays_bounded():
    e = lab.env
    # A cached answer to check service during the flood.
    check(dig_status(dig("127.0.0.1", PORT, e["LAB_WWW"], "A")) == "NOERROR", "warm-up")
    base = fds()
    # The lame zone's server address: bound here and never read, so queries to it vanish
    # without an ICMP error, as with a server that drops them.
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind((e["LAB_LAME_DEAD_ADDR"], 53))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.01)
    rnd = random.Random(5)
    n = 400
    sent_at = {}
    quick_servfail, peak = 0, 0

    def drain(until):
        nonlocal quick_servfail, peak
        while True:
            peak = max(peak, fds())
            try:
                data = s.recv(4096)
            except socket.timeout:
                if time.monotonic() >= until:
                    return
                continue
            qid = struct.unpack("!H", data[:2])[0]
            if data[3] & 0xF == 2 and time.monotonic() - sent_at.get(qid, 0) < 0.5 * SLOW:
                quick_servfail += 1

    for i in range(n):
        name = "r%08x.%s" % (rnd.getrandbits(32), e["LAB_LAME"].split(".", 1)[1])
        s.sendto(query(name, i), ("127.0.0.1", PORT))
        sent_at[i] = time.monotonic()
        if i % 20 == 19:
            drain(time.monotonic())
    drain(time.monotonic() + 0.6 * SLOW)
    # Cached data is still answered while every resolution slot is taken.
    out = dig("127.0.0.1", PORT, e["LAB_WWW"], "A")
    check(dig_status(out) == "NOERROR", "cached answer during the flood:\n" + out)
    check(peak <= base + SOCKETS + 8,
          "open fds rose from %d to %d (outgoing-range %d)" % (base, peak, SOCKETS))
    check(quick_servfail >= n - LIMIT - 8,
          "only %d of %d over-limit queries got a quick SERVFAIL" % (quick_servfail, n - LIMIT))
    # The silent resolutions end (server exhausted or deadline); new work is accepted again.
    end = time.monotonic() + 15 * SLOW
    ok = False
    while time.monotonic() < end and not ok:
        ok = dig_status(dig("127.0.0.1", PORT, e["LAB_GLUELESS"], "A")) == "NOERROR"
        if not ok:
            time.sleep(0.5)
    check(ok, "no new resolution after the flood")
    check(fds() <= base + 2, "fds did not return to the baseline: %d vs %d" % (fds(), base))
    s.close()
    silent.close()
    check(res.proc.poll() is None, "resolver died")


def main():
    global lab, res, PORT
    lab = Lab().start()
    try:
        PORT = free_port()
        conf = "\n".join([
            "listen = 127.0.0.1:%d" % PORT, 'user = ""', "workers = 1",
            "root-hints = %s" % lab.env["LAB_ROOT_HINTS"], "query-loopback = yes",
            "num-queries-per-thread = %d" % LIMIT, "outgoing-range = %d" % SOCKETS,
            "log-level = info", ""])
        res = Daemon("duet-resolver", conf).start()
        try:
            failed = run(test_flood_of_misses_stays_bounded, exit=False)
        finally:
            rc = res.stop()
            res.check_clean()
            check(rc == 0, "resolver exit status %s" % rc)
    finally:
        lab.stop()
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
