"""duet-origin's side of the flow trace (common/trace.h): with `duet-control trace on` each
connection writes tcp.accept (TCP_INFO's RTT, the socket options in force), tls.done (version,
cipher, group, SNI, ALPN, resumed), one http.request per request (its number on the
connection) and tcp.close (who sent the first FIN, FIN or RST, which side keeps TIME_WAIT);
`trace off` stops it; the name filter keeps other sites' requests out."""
import json
import os
import subprocess
import time

from harness import check, control
from origin_util import Origin, main

o = Origin(top="control-socket = {dir}/o.ctl\ntrace-file = {dir}/t.jsonl")
o.conf = o.conf.replace("{dir}", o.dir)
with open(o.daemon.conf, "w") as f:
    f.write(o.conf)
CTL = os.path.join(o.dir, "o.ctl")
TRACE = os.path.join(o.dir, "t.jsonl")


def events():
    if not os.path.exists(TRACE):
        return []
    with open(TRACE) as f:
        return [json.loads(line) for line in f]


def curl(*urls, extra=()):
    cmd = ["curl", "-s", "-o", "/dev/null", "--cacert", o.ca, "--max-time", "10"]
    for u in urls:
        host = u.split("/")[2]
        cmd += ["--resolve", "%s:%d:127.0.0.1" % (host, o.port),
                "https://%s:%d%s" % (host, o.port, "/" + u.split("/", 3)[3])]
    r = subprocess.run(cmd + list(extra), capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, "curl: %s" % r.stderr)


def test_trace_of_a_connection():
    curl("https://site1.test/")
    check(events() == [], "events before trace on")
    rc, out = control(CTL, "trace", "on")
    check(rc == 0 and "ok: trace on" in out, out)
    curl("https://site1.test/", "https://site1.test/")  # two requests, one connection
    curl("https://site1.test/", extra=["-H", "Connection: close"])
    # the server's side of a close can end a moment after curl has gone (lingering close)
    deadline = time.monotonic() + 10
    while len([e for e in events() if e["ev"] == "tcp.close"]) < 2 and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    ev = events()
    by = {}
    for e in ev:
        by.setdefault(e["ev"], []).append(e)
    check(len(by.get("tcp.accept", [])) == 2, "accepts: %s" % by.get("tcp.accept"))
    a = by["tcp.accept"][0]
    check(a["d"] == "origin" and a["client"] == "127.0.0.1" and a["tls"] is True and
          a["rtt_us"] > 0 and "keepalive" in a, "accept: %s" % a)
    h = by.get("tls.hello", [{}])[0]
    check(h.get("sni") == "site1.test" and "http/1.1" in h.get("alpn", []),
          "hello (curl offers h2 and http/1.1): %s" % h)
    t = by["tls.done"][0]
    check(t["version"] in ("TLSv1.3", "TLSv1.2") and t["sni"] == "site1.test" and t["cipher"] and
          t["group"] and t["resumed"] is False, "tls: %s" % t)
    reqs = by.get("http.request", [])
    check([(r["n"], r["status"], r["path"]) for r in reqs] == [(1, 200, "/"), (2, 200, "/"),
                                                              (1, 200, "/")],
          "requests: %s" % reqs)
    closes = by.get("tcp.close", [])
    check(len(closes) == 2, "closes: %s" % closes)
    first, second = closes
    check(first["by"] == "client" and first["time_wait"] == "client" and first["how"] == "fin",
          "curl closed its kept-alive connection first: %s" % first)
    check(second["by"] == "server" and second["time_wait"] == "server",
          "Connection: close: the server closes first: %s" % second)
    rc, out = control(CTL, "trace", "off")
    check(rc == 0, out)
    n = len(events())
    curl("https://site1.test/")
    time.sleep(0.3)
    check(len(events()) == n, "events after trace off")


def test_name_filter():
    n = len(events())
    rc, out = control(CTL, "trace", "on", "name", "site2.test")
    check(rc == 0, out)
    curl("https://site1.test/")
    curl("https://site2.test/")
    time.sleep(0.3)
    control(CTL, "trace", "off")
    new = events()[n:]
    reqs = [e for e in new if e["ev"] == "http.request"]
    check([r["site"] for r in reqs] == ["site2"], "name filter: %s" % reqs)


if __name__ == "__main__":
    main(o, test_trace_of_a_connection, test_name_filter)
