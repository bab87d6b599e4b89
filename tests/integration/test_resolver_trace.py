"""The resolver's side of the flow trace (common/trace.h): `duet-control trace on` makes
duet-resolver append JSON lines for each client question (dns.query, dns.cache), each upstream
query and reply on the walk root -> TLD -> authoritative (dns.send, dns.reply, with the zone
and the name as sent), and the answer (dns.answer); a second question is a cache hit; `trace
off` stops it; the client and name filters keep only what they name; without trace-file the
command says why. Servers scripted with tests/lab/hostile_auth.py in a network namespace."""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lab"))

import hostile_auth as ha  # noqa: E402
from harness import check, control  # noqa: E402

ROOT = """
@ NS a.root.hostile.
a.root.hostile. A 127.70.0.1
tr. NS ns.tr.
ns.tr. A 127.70.42.1
"""
TR = """
@ NS ns
ns A 127.70.42.1
site NS ns.site
ns.site A 127.70.42.2
"""
SITE = """
@ NS ns
ns A 127.70.42.2
www A 192.0.2.60
"""


def scenario(net):
    net.server("127.70.0.1", zones=[ha.Zone(".", ROOT)])
    net.server("127.70.42.1", zones=[ha.Zone("tr.", TR)])
    net.server("127.70.42.2", zones=[ha.Zone("site.tr.", SITE)])


auth = None
work = tempfile.mkdtemp(prefix="duet-trace-")


def events(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f]


def test_trace_of_a_cold_lookup():
    trace = os.path.join(work, "r.jsonl")
    sock = os.path.join(work, "r.ctl")
    r = ha.Resolver("control-socket = %s\ntrace-file = %s\nqname-minimisation = no\n" %
                    (sock, trace)).start()
    try:
        r.ask("www.site.tr.", "A")  # before tracing: nothing written
        check(events(trace) == [], "events before trace on")
        rc, out = control(sock, "trace", "on")
        check(rc == 0 and "ok: trace on" in out, out)
        r.ask("ftp.site.tr.", "A")   # a miss: NXDOMAIN after the walk (cuts are cached now)
        r.ask("www.site.tr.", "A")   # a hit
        rc, out = control(sock, "trace", "off")
        check(rc == 0 and "ok: trace off" in out, out)
        r.ask("www.site.tr.", "AAAA")
        ev = events(trace)
        names = [e["ev"] for e in ev]
        check(all(e["d"] == "resolver" and isinstance(e["t"], float) for e in ev), str(ev[:2]))
        q = [e for e in ev if e["ev"] == "dns.query"]
        check([e["qname"] for e in q] == ["ftp.site.tr.", "www.site.tr."] and
              all(e["client"] == "127.0.0.1" for e in q), "queries: %s" % q)
        cache = [e["result"] for e in ev if e["ev"] == "dns.cache"]
        check(cache == ["miss", "hit"], "cache verdicts %s" % cache)
        sends = [e for e in ev if e["ev"] == "dns.send"]
        check(sends and sends[0]["zone"] == "site.tr." and sends[0]["server"] == "127.70.42.2" and
              sends[0]["qname"] == "ftp.site.tr.", "sends: %s" % sends)
        replies = [e for e in ev if e["ev"] == "dns.reply"]
        check(replies and replies[0]["kind"] == "nxdomain" and replies[0]["outcome"] == "reply",
              "replies: %s" % replies)
        answers = [e for e in ev if e["ev"] == "dns.answer"]
        check([(a["qname"], a["rcode"]) for a in answers] == [("ftp.site.tr.", 3),
                                                            ("www.site.tr.", 0)],
              "answers: %s" % answers)
        check(names.index("dns.send") < names.index("dns.reply") < names.index("dns.answer"),
              "order: %s" % names)
        check(not [e for e in ev if e.get("qtype") == 28], "events after trace off")
        # a cold walk from the root, with the filters
        open(trace, "w").close()
        rc, out = control(sock, "trace", "on", "name", "other.tr")
        check(rc == 0, out)
        r.ask("www.site.tr.", "MX")
        check(events(trace) == [], "the name filter let through %s" % events(trace))
        rc, out = control(sock, "trace", "on", "client", "127.0.0.9")
        check(rc == 0 and "client=127.0.0.9" in out, out)
        r.ask("www.site.tr.", "TXT")
        check(events(trace) == [], "the client filter let through a query")
        rc, out = control(sock, "trace", "on", "client", "not-an-ip")
        check(rc != 0 and "not an IPv4 or IPv6 address" in out, out)
        control(sock, "trace", "off")
        r.finish()
    finally:
        r.close()


def test_without_trace_file():
    sock = os.path.join(work, "n.ctl")
    r = ha.Resolver("control-socket = %s\n" % sock).start()
    try:
        rc, out = control(sock, "trace", "on")
        check(rc != 0 and "no trace-file" in out, out)
        r.finish()
    finally:
        r.close()


if __name__ == "__main__":
    ha.test_main(__file__, globals(), [test_trace_of_a_cold_lookup, test_without_trace_file])
