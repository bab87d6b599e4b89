"""duet-resolver against a real DNS hierarchy (NSD on 127.53.x.y, tests/lab/lab.sh), queried
with dig: iteration, CNAME chains, glueless and lame delegations, negative caching, TCP
fallback, wildcards, TTL decay and expiry, local data, access control.  uses-lab"""
import os
import re
import signal
import socket
import struct
import time

from harness import (Daemon, Lab, check, dig, dig_answers, dig_status, free_port, run,
                     stop_clean)

lab = None
res = None
PORT = None


def upstream_queries():
    """Upstream queries sent so far, from the resolver's debug log."""
    return len(re.findall(r"event=upstream_query ", res.stderr()))


def q(name, qtype="A", *extra):
    return dig("127.0.0.1", PORT, name, qtype, *extra)


def expect(name, qtype, status, rdata=None):
    out = q(name, qtype)
    check(dig_status(out) == status, "%s %s: want %s\n%s" % (name, qtype, status, out))
    if rdata is not None:
        got = [r[3] for r in dig_answers(out) if r[2] == qtype]
        check(rdata in got, "%s %s: want %s in %s\n%s" % (name, qtype, rdata, got, out))
    return out


def test_a_and_aaaa():
    e = lab.env
    expect(e["LAB_WWW"], "A", "NOERROR", e["LAB_WWW_A"])
    expect(e["LAB_WWW"], "AAAA", "NOERROR", e["LAB_WWW_AAAA"])
    expect(e["LAB_TXT"], "TXT", "NOERROR", '"%s"' % e["LAB_TXT_VALUE"])


def test_cname_chain_in_zone():
    e = lab.env
    out = expect(e["LAB_ALIAS2"], "A", "NOERROR", e["LAB_WWW_A"])
    types = [r[2] for r in dig_answers(out)]
    check(types == ["CNAME", "CNAME", "A"], "chain order %s" % types)


def test_cname_across_zones():
    e = lab.env
    expect(e["LAB_XZONE"], "A", "NOERROR", e["LAB_XZONE_A"])
    out = expect(e["LAB_CHAIN"], "A", "NOERROR", e["LAB_CHAIN_A"])
    check(len([r for r in dig_answers(out) if r[2] == "CNAME"]) == 3, out)


def test_cname_loop_and_dangling():
    e = lab.env
    expect(e["LAB_LOOP"], "A", "SERVFAIL")
    expect(e["LAB_DANGLING"], "A", "NXDOMAIN")


def test_glueless_delegation():
    e = lab.env
    expect(e["LAB_GLUELESS"], "A", "NOERROR", e["LAB_GLUELESS_A"])


def test_lame_and_half_lame():
    e = lab.env
    expect(e["LAB_HALF"], "A", "NOERROR", e["LAB_HALF_A"])
    start = time.monotonic()
    expect(e["LAB_LAME"], "A", "SERVFAIL")
    check(time.monotonic() - start < 12, "lame delegation took too long")
    expect(e["LAB_REFUSED"], "A", "SERVFAIL")
    expect(e["LAB_CYCLE"], "A", "SERVFAIL")


def test_negative_answers_cached():
    e = lab.env
    out = expect(e["LAB_NXDOMAIN"], "A", "NXDOMAIN")
    check(" SOA " in out.replace("\t", " "), "NXDOMAIN without SOA:\n" + out)
    expect(e["LAB_NODATA"], "AAAA", "NOERROR")
    before = upstream_queries()
    expect(e["LAB_NXDOMAIN"], "A", "NXDOMAIN")
    out = expect(e["LAB_NODATA"], "AAAA", "NOERROR")
    check(dig_answers(out) == [], "NODATA with answers:\n" + out)
    check(upstream_queries() == before, "negative answers were not served from cache")
    expect(e["LAB_NXDOMAIN_TLD"], "A", "NXDOMAIN")


def test_positive_answer_cached_with_decaying_ttl():
    e = lab.env
    expect(e["LAB_APEX"], "A", "NOERROR", e["LAB_APEX_A"])
    before = upstream_queries()
    time.sleep(1.1)
    out = expect(e["LAB_APEX"], "A", "NOERROR", e["LAB_APEX_A"])
    ttl = dig_answers(out)[0][1]
    check(ttl < 3600, "TTL did not decay: %d" % ttl)
    check(upstream_queries() == before, "cached answer caused an upstream query")


def test_ttl_expiry():
    e = lab.env
    expect(e["LAB_SHORT"], "A", "NOERROR", e["LAB_SHORT_A"])
    before = upstream_queries()
    expect(e["LAB_SHORT"], "A", "NOERROR", e["LAB_SHORT_A"])
    check(upstream_queries() == before, "second ask was not cached")
    time.sleep(int(e["LAB_SHORT_TTL"]) + 1.1)
    expect(e["LAB_SHORT"], "A", "NOERROR", e["LAB_SHORT_A"])
    check(upstream_queries() > before, "expired answer was served from cache")


def test_large_answer_over_tcp():
    e = lab.env
    out = q(e["LAB_BIG"], "TXT", "+bufsize=1232", "+ignore")
    check(dig_status(out) == "NOERROR" and " tc" in out.split("flags:")[1].split(";")[0],
          "UDP answer not truncated:\n" + out)
    out = q(e["LAB_BIG"], "TXT", "+tcp")
    n = len([r for r in dig_answers(out) if r[2] == "TXT"])
    check(n == int(e["LAB_BIG_TXT_COUNT"]), "TCP answer has %d TXT records" % n)
    check("transport=tcp" in res.stderr(), "resolver did not retry upstream over TCP")
    # Without EDNS the limit is 512 bytes.
    out = q(e["LAB_BIG"], "A", "+noedns", "+ignore")
    check(" tc" in out.split("flags:")[1].split(";")[0], "no TC without EDNS:\n" + out)


def test_wildcard():
    e = lab.env
    expect(e["LAB_WILD"], "A", "NOERROR", e["LAB_WILD_A"])


def test_local_data():
    expect("site9.test", "A", "NOERROR", "127.0.0.9")
    expect("site9.test", "AAAA", "NOERROR")
    expect("nothere.site9.test", "A", "NXDOMAIN")
    expect("blocked.test", "A", "REFUSED")


def test_client_outside_allow_refused():
    out = dig("127.0.0.1", PORT, "-b", "127.0.0.77", lab.env["LAB_WWW"], "A")
    check(dig_status(out) == "REFUSED", "client outside allow:\n" + out)
    out = q(lab.env["LAB_WWW"], "A")
    check(dig_status(out) == "NOERROR", out)


def test_flags_and_edns():
    out = q(lab.env["LAB_WWW"], "A")
    flags = out.split("flags:")[1].split(";")[0]
    check(" ra" in flags and " rd" in flags and " qr" in flags, flags)
    check("udp: 1232" in out, "EDNS buffer not advertised:\n" + out)


def test_query_case_is_echoed():
    out = q("WwW.SiTe1.TeSt", "A")
    check(";WwW.SiTe1.TeSt.\t" in out, "question case not echoed:\n" + out)


def test_identical_queries_resolved_once():
    """Ten clients ask the same new name at once: one resolution upstream per worker (the
    in-flight table is per worker, like Unbound's per-thread mesh; this daemon has 2)."""
    name = "h0042.bulk.example."
    socks = []
    # Loopback answers in microseconds: hold the daemon still while the clients ask, so
    # every query is waiting when it resumes, as under real upstream latency.
    res.signal(signal.SIGSTOP)
    # SIGSTOP takes effect asynchronously: wait until every thread is stopped, or the first
    # query can be resolved before the others arrive and they become cache hits.
    task = "/proc/%d/task" % res.proc.pid
    for _ in range(200):
        states = []
        for t in os.listdir(task):
            try:
                with open(os.path.join(task, t, "stat")) as f:
                    states.append(f.read().rsplit(")", 1)[1].split()[0])
            except OSError:
                pass
        if states and all(st in ("T", "t") for st in states):
            break
        time.sleep(0.01)
    for i in range(10):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(10)
        qname = b"".join(bytes([len(l)]) + l.encode() for l in name.rstrip(".").split(".")) + b"\0"
        s.sendto(struct.pack("!HHHHHH", 1000 + i, 0x0100, 1, 0, 0, 0) + qname +
                 struct.pack("!HH", 1, 1), ("127.0.0.1", PORT))
        socks.append(s)
    time.sleep(0.1)
    res.signal(signal.SIGCONT)
    ids = set()
    for s in socks:
        data = s.recv(4096)
        ids.add(struct.unpack("!H", data[:2])[0])
        check(data[3] & 0xF == 0, "rcode %d" % (data[3] & 0xF))
        s.close()
    check(ids == set(range(1000, 1010)), "ids %s" % ids)
    done = [l for l in res.stderr().splitlines()
            if "event=resolve_done" in l and "qname=h0042.bulk.example." in l.lower()]
    check(1 <= len(done) <= 2, "resolutions of the shared name: %d" % len(done))
    joins = [l for l in res.stderr().splitlines() if "event=inflight_join" in l]
    # The kernel spreads the 10 clients over 2 workers; queries that found the resolution
    # in flight joined it (the rest were cache hits once it had finished).
    check(len(joins) >= 1, "in-flight joins: %d" % len(joins))


def test_cache_dump_and_warm_restart():
    """dump-cache writes the cache; a resolver started with cache-file = that file answers
    from it at once (its root hints lead nowhere, so the answer can only come from there);
    a damaged file is refused and the daemon serves on."""
    import subprocess
    from harness import BUILD, dead_root_hints
    e = lab.env
    expect(e["LAB_WWW"], "A", "NOERROR", e["LAB_WWW_A"])
    ctl = [os.path.join(BUILD, "tools", "duet-control"), "-s", os.path.join(res.dir, "ctl")]
    dump = os.path.join(res.dir, "cache.dump")
    r = subprocess.run(ctl + ["dump-cache", dump], capture_output=True, text=True, timeout=30)
    check(r.returncode == 0 and r.stdout.startswith("ok:"), r.stdout + r.stderr)
    bad = os.path.join(res.dir, "bad.dump")
    with open(bad, "wb") as f:
        f.write(b"DUET-CACHE 1\nA\x00\x00\x00\x05garbage")
    r = subprocess.run(ctl + ["load-cache", bad], capture_output=True, text=True, timeout=30)
    check(r.returncode == 1 and "damaged" in r.stdout, r.stdout + r.stderr)
    expect(e["LAB_WWW"], "A", "NOERROR", e["LAB_WWW_A"])
    port = free_port()
    warm = Daemon("duet-resolver", "listen = 127.0.0.1:%d\nroot-hints = %s\ncache-file = %s\n"
                  % (port, dead_root_hints(res.dir), dump))
    try:
        warm.start()
        out = dig("127.0.0.1", port, e["LAB_WWW"], "A")
        check(dig_status(out) == "NOERROR" and e["LAB_WWW_A"] in out,
              "warm restart did not answer from the loaded cache:\n" + out)
        check("event=cache_loaded" in warm.stderr(), warm.stderr())
        warm.stop()  # checks exit 0 and a clean stderr
        check("event=cache_saved" in warm.stderr(), "cache not saved at stop")
    finally:
        warm.close()


def setup():
    global lab, res, PORT
    lab = Lab().start()
    PORT = free_port()
    conf = """
listen = 127.0.0.1:%d
workers = 2
log-level = debug
root-hints = %s
query-loopback = yes
allow = 127.0.0.1/32
upstream-timeout = 800ms
control-socket = %s/ctl

[local-zone site9.test]
type = static
data = site9.test. 300 IN A 127.0.0.9
data = site9.test. 300 IN AAAA ::9

[local-zone blocked.test]
type = refuse
"""
    res = Daemon("duet-resolver", "")
    with open(res.conf, "w") as f:
        f.write(conf % (PORT, lab.env["LAB_ROOT_HINTS"], res.dir))
    res.start()


def teardown():
    """Stops the resolver (exit 0, clean stderr: harness.stop_clean) and the lab; returns the
    number of failures."""
    try:
        return stop_clean(res)
    finally:
        if lab:
            lab.stop()


if __name__ == "__main__":
    failed = 1
    try:
        setup()
        failed = run(test_a_and_aaaa, test_cname_chain_in_zone, test_cname_across_zones,
            test_cname_loop_and_dangling, test_glueless_delegation, test_lame_and_half_lame,
            test_negative_answers_cached, test_positive_answer_cached_with_decaying_ttl,
            test_ttl_expiry, test_large_answer_over_tcp, test_wildcard, test_local_data,
            test_client_outside_allow_refused, test_flags_and_edns, test_query_case_is_echoed,
            test_identical_queries_resolved_once, test_cache_dump_and_warm_restart, exit=False)
    finally:
        failed += teardown()
    raise SystemExit(1 if failed else 0)
