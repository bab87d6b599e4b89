"""duet-resolver's forward and stub zones, against servers scripted in Python
(tests/lab/hostile_auth.py) in a network namespace of the test's own:

    [forward-zone NAME]              [stub-zone NAME]
    forward-addr = ADDR[:PORT]       stub-addr = ADDR[:PORT]
    forward-first = yes | no

A forwarder gets RD=1 and its answer is used; the root is never asked for names in the
zone; [forward-zone .] forwards everything; a stub zone's servers are asked as authoritative
ones, the root never; forward-first = yes falls back to iteration when the forwarder is dead,
= no SERVFAILs; both are honoured on reload (SIGHUP after editing the config)."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lab"))

import hostile_auth as ha  # noqa: E402
from harness import check, dig_answers, dig_status, run, skip  # noqa: E402

ROOT_A = "127.70.0.1"
FWD = "127.70.30.1"      # a recursive forwarder: answers RD=1 queries with 192.0.2.30
FWD_P = "127.70.30.2"    # the same on port 5353, answering 192.0.2.31
DEAD = "127.70.30.9"     # nothing listens
STUB = "127.70.31.1"     # authoritative for stub.
STUB_P = "127.70.31.2"   # authoritative for stub2., on port 5300
AUTH = "127.70.32.1"     # authoritative for ff. and fn., delegated from the root

ROOT = """
@ NS a.root.hostile.
a.root.hostile. A 127.70.0.1
ff. NS ns.ff.
ns.ff. A 127.70.32.1
fn. NS ns.fn.
ns.fn. A 127.70.32.1
"""


def recursive(answer):
    """A forwarder: REFUSED without RD; with it, a full (non-authoritative) answer."""
    def handler(q):
        if not q.rd:
            return q.reply(ha.dns.rcode.REFUSED, aa=False)
        r = q.reply(aa=False)
        r.flags |= ha.dns.flags.RA
        if q.qtype == ha.dns.rdatatype.A:
            r.answer.append(ha.dns.rrset.from_text(q.qname_sent, 300, "IN", "A", answer))
        return r
    return handler


def scenario(net):
    Z = ha.Zone
    net.server(ROOT_A, zones=[Z(".", ROOT)])
    net.server(FWD, handler=recursive("192.0.2.30"))
    net.server(FWD_P, port=5353, handler=recursive("192.0.2.31"))
    net.server(STUB, zones=[Z("stub.", "@ NS ns\nns A 127.70.31.1\nwww A 192.0.2.32")])
    net.server(STUB_P, port=5300, zones=[Z("stub2.", "@ NS ns\nns A 127.70.31.2\n"
                                                     "www A 192.0.2.35")])
    net.server(AUTH, zones=[Z("ff.", "@ NS ns\nns A 127.70.32.1\n* A 192.0.2.33"),
                            Z("fn.", "@ NS ns\nns A 127.70.32.1\n* A 192.0.2.34")])


auth = None


def expect(res, qname, status, a=None, timeout=8):
    out = res.ask(qname, "A", timeout=timeout)
    check(dig_status(out) == status, "%s: want %s\n%s" % (qname, status, out))
    if a is not None:
        got = sorted(r[3] for r in dig_answers(out) if r[2] == "A")
        check(got == [a], "%s: want %s, got %s\n%s" % (qname, a, got, out))
    return out


def root_asked(under, since=0):
    return auth.count(server=ROOT_A, under=under, since=since)


def test_forward_zone():
    def body(res):
        m = auth.mark()
        expect(res, "www.fwd.", "NOERROR", "192.0.2.30")
        expect(res, "deep.er.fwd.", "NOERROR", "192.0.2.30")
        got = auth.queries(server=FWD, since=m)
        check(got and all(e["rd"] for e in got), "forwarder queries (want RD=1): %s" % got)
        check(root_asked("fwd.", m) == 0, "root asked about fwd. names")
    ha.with_resolver("[forward-zone fwd.]\nforward-addr = %s\n" % FWD, body)


def test_forward_everything_with_port():
    def body(res):
        m = auth.mark()
        expect(res, "www.anything.example.", "NOERROR", "192.0.2.31")
        check(auth.count(server=FWD_P, rd=True, since=m) >= 1, "forwarder on :5353 not asked")
        check(root_asked("example.", m) == 0, "root asked under [forward-zone .]")
    ha.with_resolver("[forward-zone .]\nforward-addr = %s:5353\n" % FWD_P, body)


def test_stub_zone():
    def body(res):
        m = auth.mark()
        expect(res, "www.stub.", "NOERROR", "192.0.2.32")
        expect(res, "nothere.stub.", "NXDOMAIN")
        expect(res, "www.stub2.", "NOERROR", "192.0.2.35")
        check(auth.count(server=STUB, since=m) >= 1, "stub server not asked")
        check(auth.count(server=STUB_P, since=m) >= 1, "stub server on :5300 not asked")
        check(root_asked("stub.", m) == 0 and root_asked("stub2.", m) == 0,
              "root asked about stub-zone names: %s" %
              [e["qname"] for e in auth.queries(server=ROOT_A, since=m)])
    ha.with_resolver("[stub-zone stub.]\nstub-addr = %s\n[stub-zone stub2.]\nstub-addr = %s:5300\n"
                     % (STUB, STUB_P), body)


FF_YES = "[forward-zone ff.]\nforward-addr = %s\nforward-first = yes\n" % DEAD
FN_NO = "[forward-zone fn.]\nforward-addr = %s\nforward-first = no\n" % DEAD


def test_forward_first_yes_falls_back():
    def body(res):
        m = auth.mark()
        t0 = time.monotonic()
        expect(res, "www.ff.", "NOERROR", "192.0.2.33", timeout=20)
        check(time.monotonic() - t0 < 5, "fallback took %.1fs" % (time.monotonic() - t0))
        check(auth.count(server=AUTH, under="ff.", since=m) >= 1, "ff.'s server not asked")
    ha.with_resolver("upstream-timeout = 500ms\n" + FF_YES, body)


def test_forward_first_no_servfails():
    def body(res):
        m = auth.mark()
        expect(res, "www.fn.", "SERVFAIL", timeout=20)
        check(auth.count(server=AUTH, under="fn.", since=m) == 0,
              "forward-first = no, yet fn. was iterated")
    ha.with_resolver("upstream-timeout = 500ms\n" + FN_NO, body)


def reload(res, extra):
    res.write("upstream-timeout = 500ms\n" + extra)
    res.d.signal(__import__("signal").SIGHUP)
    res.d.wait_message("READY=1", timeout=10)
    check("reload_error" not in res.stderr(), "reload refused:\n" + res.stderr()[-2000:])


def test_forward_reload():
    """forward-first flipped and a stub zone added by SIGHUP: each takes effect."""
    def body(res):
        expect(res, "a.fn.", "SERVFAIL", timeout=20)
        reload(res, FN_NO.replace("forward-first = no", "forward-first = yes"))
        expect(res, "b.fn.", "NOERROR", "192.0.2.34", timeout=20)
        reload(res, FN_NO)
        expect(res, "c.fn.", "SERVFAIL", timeout=20)
        m = auth.mark()
        reload(res, FN_NO + "[stub-zone stub.]\nstub-addr = %s\n" % STUB)
        expect(res, "www.stub.", "NOERROR", "192.0.2.32")
        check(root_asked("stub.", m) == 0, "root asked about a stub zone added by reload")
    ha.with_resolver("upstream-timeout = 500ms\n" + FN_NO, body)


if __name__ == "__main__":
    ha.test_main(__file__, globals(), [
        test_forward_zone,
        test_forward_everything_with_port,
        test_stub_zone,
        test_forward_first_yes_falls_back,
        test_forward_first_no_servfails,
        test_forward_reload])
