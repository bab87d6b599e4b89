"""The shared cache in Redis with validated data: two validating duet-resolvers with the
signed lab's root DS as trust anchor (tests/lab/signed.sh) share one real redis-server (on
127.0.0.1, a free port, stopped by PID). The first resolves every case the lab lists; the
second then answers every case exactly as the lab expects (rcode, AD, EDE, asked with DO=1
and again with DO=0), the secure and insecure ones from Redis (redis_hits; RRSIGs kept for
DO=1), while bogus answers are never shared (the second resolves those itself).

The signed lab lives on 127.63-72.x.y, not on the unsigned lab's nets: no "dnslab" lock.
"""
import os
import subprocess
import tempfile
import time

from harness import Daemon, check, free_port, run, skip, stat

import test_resolver_dnssec_validate as val_mod
import test_signed_lab as lab_mod
from test_resolver_redis import Redis

lab = None


def resolver(work, name, redis_port, extra=""):
    port, ctl = free_port(), os.path.join(work, name + ".ctl")
    d = os.path.join(work, name)
    os.mkdir(d)
    conf = "\n".join([
        "listen = 127.0.0.1:%d" % port, 'user = ""', "workers = 1",
        "root-hints = %s" % lab["LAB_ROOT_HINTS"], "query-loopback = yes",
        "trust-anchor-file = %s" % lab["LAB_ROOT_DS"], "control-socket = %s" % ctl,
        "redis = 127.0.0.1:%d" % redis_port, extra])
    daemon = Daemon("duet-resolver", conf, workdir=d, expect_errors=("dnssec_bogus",)).start()
    deadline = time.monotonic() + 10
    while "event=redis_up" not in daemon.stderr() and time.monotonic() < deadline:
        time.sleep(0.05)
    check("event=redis_up" in daemon.stderr(), "%s never connected to Redis" % name)
    return daemon, port, ctl


def test_second_validating_instance_answers_from_redis():
    work = tempfile.mkdtemp(prefix="duet-redis-signed-")
    srv = Redis(work).start()
    r1 = r2 = None
    try:
        r1, p1, c1 = resolver(work, "r1", srv.port)
        r2, p2, c2 = resolver(work, "r2", srv.port)
        cases = lab["cases"]
        val_mod.expect(p1, cases, "first instance, from the network")
        shared = [c for c in cases if c["status"] != "bogus"]
        deadline = time.monotonic() + 10
        while stat(c1, "redis_stores") < len(shared) and time.monotonic() < deadline:
            time.sleep(0.05)
        check(stat(c1, "redis_stores") >= len(shared),
              "stores %d for %d cases" % (stat(c1, "redis_stores"), len(shared)))
        up1 = stat(c1, "upstream_udp") + stat(c1, "upstream_tcp")
        val_mod.expect(p2, cases, "second instance, DO=1, from Redis")
        hits = stat(c2, "redis_hits")
        check(hits >= len(shared), "redis_hits %d, want at least %d" % (hits, len(shared)))
        up2 = stat(c2, "upstream_udp") + stat(c2, "upstream_tcp")
        check(up2 < up1, "the second instance sent %d upstream queries, the first %d" %
              (up2, up1))
        # DNSSEC records came through Redis for DO=1 clients.
        secure = [c for c in cases if c["status"] == "secure" and c["type"] == "A"]
        check(secure, "the lab lists no secure A case")
        rcode, flags, ede, out = val_mod.kdig(p2, secure[0]["name"], "A", "+dnssec")
        check("RRSIG" in out and "ad" in flags, "no RRSIG or AD from Redis:\n" + out)
        # DO=0 clients get the plain variant (no RRSIG), still with AD when they ask.
        rcode, flags, ede, out = val_mod.kdig(p2, secure[0]["name"], "A", "+adflag")
        check("RRSIG" not in out and "ad" in flags, "DO=0 answer:\n" + out)
        # A third instance with nsec.sig. as a negative trust anchor: a peer's SECURE for a
        # name under it is not taken (the value is refused; it resolves itself: no AD).
        r3, p3, c3 = resolver(work, "r3", srv.port, "domain-insecure = nsec.sig\n")
        try:
            before = stat(c3, "redis_errors")
            rcode, flags, ede, out = val_mod.kdig(p3, "www.nsec.sig.", "A", "+dnssec")
            check(rcode == "NOERROR" and "ad" not in flags,
                  "domain-insecure overruled by Redis: %s %s\n%s" % (rcode, flags, out))
            check(stat(c3, "redis_errors") > before, "the SECURE value was not refused")
        finally:
            r3.close()
        # Bogus data is not shared: nothing bogus in Redis.
        for c in cases:
            if c["status"] == "bogus":
                key = "duet:%s/%d/1/1" % (lab_wire(c["name"]).hex(), qtype(c["type"]))
                check(srv.command("EXISTS", key) == b":0\r\n", "bogus %s in Redis" % c["name"])
    finally:
        for d in (r1, r2):
            if d:
                d.close()
        srv.stop()


def lab_wire(name):
    out = b""
    for label in name.lower().strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def qtype(t):
    return {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28, "DS": 43,
            "DNSKEY": 48}[t]


def main():
    global lab
    if subprocess.run(["sh", "-c", "command -v redis-server"],
                      capture_output=True).returncode != 0:
        skip("redis-server is not installed (scripts/setup.sh installs it)")
    lab_mod.start_lab()
    lab = lab_mod.env
    failed = 1
    try:
        val_mod.lab = lab
        failed = run(test_second_validating_instance_answers_from_redis, exit=False)
    finally:
        lab_mod.stop_lab()
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
