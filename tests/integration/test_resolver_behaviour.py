"""Behaviours Unbound users expect of duet-resolver, against authoritative servers scripted in
Python (tests/lab/hostile_auth.py) in a network namespace of the test's own: DNAME (RFC 6672)
answered and cached, parent and child NS sets that differ, NS-name lookups that loop (with
and without a way out), a server lame for one query type, TTL 0, unrelated records in an
answer. Forwarding and stub zones are in test_resolver_forward.py.

Each test starts its own resolver (fresh cache) and counts what the scripted servers got."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lab"))

import hostile_auth as ha  # noqa: E402
from harness import check, dig_answers, dig_status, run, skip  # noqa: E402

ROOT_A = "127.70.0.1"
DN = "127.70.20.1"     # dn.: old.dn. DNAME tgt., and a DNAME loop and one too long to apply
DN2 = "127.70.20.2"    # dn2.: DNAMEs sent without their CNAME, or with a wrong one
TGT = "127.70.21.1"    # tgt.: the DNAME's target zone
PC1 = "127.70.22.1"    # pc.: listed by parent and child
PC2 = "127.70.22.2"    # pc.: listed by the parent only (the child dropped it): REFUSED
PC3 = "127.70.22.3"    # pc.: listed by the child only
LOOP = "127.70.23.1"   # la. and lb.
LQ1 = "127.70.24.1"    # lq.: lame for AAAA (REFUSED) and MX (referral to itself)
LQ2 = "127.70.24.2"    # lq.: fine
T0 = "127.70.25.1"     # t0.: TTL 0 and answers with unrelated records
TC = "127.70.26.1"     # tc.: every UDP reply truncated (TC=1, empty); TCP answers

ROOT = """
@ NS a.root.hostile.
a.root.hostile. A 127.70.0.1
dn. NS ns.dn.
ns.dn. A 127.70.20.1
dn2. NS ns.dn2.
ns.dn2. A 127.70.20.2
tgt. NS ns.tgt.
ns.tgt. A 127.70.21.1
pc. NS ns1.pc.
pc. NS ns2.pc.
ns1.pc. A 127.70.22.1
ns2.pc. A 127.70.22.2
la. NS ns.lb.
la. NS ns1.la.
ns1.la. A 127.70.23.1
lb. NS ns.la.
ca. NS ns.cb.
cb. NS ns.ca.
lq. NS ns1.lq.
lq. NS ns2.lq.
ns1.lq. A 127.70.24.1
ns2.lq. A 127.70.24.2
t0. NS ns.t0.
ns.t0. A 127.70.25.1
tc. NS ns.tc.
ns.tc. A 127.70.26.1
"""

DN_ZONE = """
@ NS ns
ns A 127.70.20.1
old DNAME tgt.
loop DNAME x.loop.dn.
long DNAME lllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll.lllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll.lllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll.tgt.
"""
TGT_ZONE = """
@ NS ns
ns A 127.70.21.1
www A 192.0.2.20
foo A 192.0.2.21
"""
PC_ZONE = """
@ NS ns1
@ NS ns3
ns1 A 127.70.22.1
ns3 A 127.70.22.3
www A 192.0.2.22
* A 192.0.2.22
"""
LA_ZONE = """
@ NS ns.lb.
@ NS ns1
ns1 A 127.70.23.1
ns A 127.70.23.1
www A 192.0.2.23
"""
LB_ZONE = """
@ NS ns.la.
www A 192.0.2.24
"""
LQ_ZONE = """
@ NS ns1
@ NS ns2
ns1 A 127.70.24.1
ns2 A 127.70.24.2
* A 192.0.2.25
* AAAA 2001:db8::25
* MX 10 mail.lq.
"""
T0_ZONE = """
@ NS ns
ns A 127.70.25.1
zero 0 A 192.0.2.26
"""


def rrset(text):
    owner, ttl, rdtype, rdata = text.split(None, 3)
    return ha.dns.rrset.from_text(owner, int(ttl), "IN", rdtype, rdata)


def lame_for_some_types(q):
    """ns1.lq.: REFUSED for AAAA, a referral to its own zone (lq. NS ns1.lq., no AA) for MX;
    everything else answered properly."""
    if q.qtype == ha.dns.rdatatype.AAAA:
        return q.reply(ha.dns.rcode.REFUSED, aa=False)
    if q.qtype == ha.dns.rdatatype.MX:
        r = q.reply(aa=False)
        r.authority.append(rrset("lq. 300 NS ns1.lq."))
        r.additional.append(rrset("ns1.lq. 300 A " + LQ1))
        return r
    return ha.DEFAULT


LQ2_SEEN = set()


def drop_first(q):
    """ns2.lq. drops the first query for each name and type, so that the resolver, however it
    ranks servers, asks ns1.lq. (the one lame for some types) too."""
    key = (str(q.qname), q.qtype)
    if key not in LQ2_SEEN:
        LQ2_SEEN.add(key)
        return None
    return ha.DEFAULT


def dn2_handler(q):
    """only.dn2.: the DNAME alone (the resolver must synthesize the CNAME); wrong.dn2.: the
    DNAME with a CNAME that does not follow from it, and that CNAME's "target data"."""
    for zone in ("only.dn2.", "wrong.dn2."):
        if q.under(zone) and q.qname != ha.name(zone):
            r = q.reply()
            r.answer.append(rrset("%s 300 DNAME tgt." % zone))
            if zone == "wrong.dn2.":
                r.answer.append(rrset("%s 300 CNAME www.pc." % q.qname_sent))
                r.answer.append(rrset("www.pc. 300 A 192.0.2.99"))
            return r
    return ha.DEFAULT


def refused(q):
    return q.reply(ha.dns.rcode.REFUSED, aa=False)


def t0_handler(q):
    """mix.t0.: the A with a TXT for the same name and an MX for another name alongside."""
    if q.qname == ha.name("mix.t0."):
        r = q.reply()
        if q.qtype == ha.dns.rdatatype.A:
            r.answer.append(rrset("%s 300 A 192.0.2.27" % q.qname_sent))
        r.answer.append(rrset('%s 300 TXT "not asked for"' % q.qname_sent))
        r.answer.append(rrset("unrelated.t0. 300 MX 10 mail.t0."))
        return r
    return ha.DEFAULT


def truncate_udp(q):
    if q.tcp:
        return ha.DEFAULT
    r = q.reply()
    r.flags |= ha.dns.flags.TC
    return r


def scenario(net):
    Z = ha.Zone
    net.server(ROOT_A, zones=[Z(".", ROOT)])
    net.server(DN, zones=[Z("dn.", DN_ZONE)])
    net.server(DN2, zones=[Z("dn2.", "@ NS ns\nns A 127.70.20.2")], handler=dn2_handler)
    net.server(TGT, zones=[Z("tgt.", TGT_ZONE)])
    net.server(PC1, zones=[Z("pc.", PC_ZONE)])
    net.server(PC2, handler=refused)
    net.server(PC3, zones=[Z("pc.", PC_ZONE)])
    net.server(LOOP, zones=[Z("la.", LA_ZONE), Z("lb.", LB_ZONE)])
    net.server(LQ1, zones=[Z("lq.", LQ_ZONE)], handler=lame_for_some_types)
    net.server(LQ2, zones=[Z("lq.", LQ_ZONE)], handler=drop_first)
    net.server(T0, zones=[Z("t0.", T0_ZONE)], handler=t0_handler)
    net.server(TC, zones=[Z("tc.", "@ NS ns\nns A 127.70.26.1\nwww A 192.0.2.28")],
               handler=truncate_udp)


auth = None


def rows(out, rdtype=None):
    return [r for r in dig_answers(out) if rdtype is None or r[2] == rdtype]


def expect(res, qname, status, qtype="A", rdata=None):
    out = res.ask(qname, qtype)
    check(dig_status(out) == status, "%s %s: want %s\n%s" % (qname, qtype, status, out))
    if rdata is not None:
        got = sorted(r[3] for r in rows(out, qtype))
        check(got == sorted(rdata), "%s %s: want %s, got %s\n%s" % (qname, qtype, rdata, got, out))
    return out


# ---- DNAME ------------------------------------------------------------------------------------

def test_dname_in_answer():
    """www.old.dn. A: the answer carries the DNAME, the synthesized CNAME and the target's A."""
    def body(res):
        out = expect(res, "www.old.dn.", "NOERROR", rdata=["192.0.2.20"])
        types = [(r[0].lower(), r[2]) for r in rows(out)]
        check(("old.dn.", "DNAME") in types, "no DNAME in the answer: %s\n%s" % (types, out))
        check(("www.old.dn.", "CNAME") in types and
              any(r[3].lower() == "www.tgt." for r in rows(out, "CNAME")),
              "no synthesized CNAME www.old.dn. -> www.tgt.: %s\n%s" % (types, out))
    ha.with_resolver("", body)


def test_dname_cached():
    """After www.old.dn., foo.old.dn. is synthesized from the cached DNAME: dn.'s server is
    not asked again (tgt.'s is, for foo.tgt.)."""
    def body(res):
        expect(res, "www.old.dn.", "NOERROR", rdata=["192.0.2.20"])
        m = auth.mark()
        out = expect(res, "foo.old.dn.", "NOERROR", rdata=["192.0.2.21"])
        n = auth.count(server=DN, since=m)
        check(n == 0, "the cached DNAME was not used: dn.'s server asked %d more times (%s)" %
              (n, [e["qname"] + " " + e["qtype"] for e in auth.queries(server=DN, since=m)]))
        types = [(r[0].lower(), r[2]) for r in rows(out)]
        check(("old.dn.", "DNAME") in types and ("foo.old.dn.", "CNAME") in types,
              "second name under the DNAME: answer %s\n%s" % (types, out))
    ha.with_resolver("", body)


def test_dname_without_cname():
    """The server sends the DNAME alone: the resolver synthesizes the CNAME itself."""
    def body(res):
        out = expect(res, "www.only.dn2.", "NOERROR", rdata=["192.0.2.20"])
        cn = [(r[0].lower(), r[3].lower()) for r in rows(out, "CNAME")]
        check(("www.only.dn2.", "www.tgt.") in cn, "no synthesized CNAME: %s\n%s" % (cn, out))
    ha.with_resolver("", body)


def test_dname_with_wrong_cname():
    """The server's CNAME does not follow from its DNAME (it points at www.pc.): the DNAME
    decides, www.tgt.'s address is the answer, the stray CNAME and A are not passed on."""
    def body(res):
        out = expect(res, "www.wrong.dn2.", "NOERROR", rdata=["192.0.2.20"])
        check("www.pc." not in out.lower(), "the CNAME that contradicts the DNAME was used:\n"
              + out)
    ha.with_resolver("", body)


def test_dname_loop_and_overflow():
    """loop.dn. DNAME x.loop.dn. rewrites a name into a longer one under itself, forever:
    SERVFAIL (or YXDOMAIN once the name would pass 255 octets), quickly. long.dn.'s
    target makes the substituted name too long: YXDOMAIN (RFC 6672 §2.2)."""
    def body(res):
        t0 = time.monotonic()
        out = res.ask("a.loop.dn.", "A")
        check(dig_status(out) in ("SERVFAIL", "YXDOMAIN"), "DNAME loop:\n" + out)
        check(time.monotonic() - t0 < 5, "DNAME loop took %.1fs" % (time.monotonic() - t0))
        out = res.ask("%s.long.dn." % ("q" * 63), "A")
        check(dig_status(out) == "YXDOMAIN", "DNAME past 255 octets: want YXDOMAIN\n" + out)
        expect(res, "www.old.dn.", "NOERROR", rdata=["192.0.2.20"])
    ha.with_resolver("", body)


# ---- NS sets -----------------------------------------------------------------------------------

def test_parent_child_ns_differ():
    """The root lists ns1.pc. and ns2.pc. (which the child dropped: it answers REFUSED); the
    child lists ns1.pc. and ns3.pc. Every name resolves."""
    def body(res):
        for i in range(6):
            expect(res, "h%d.pc." % i, "NOERROR", rdata=["192.0.2.22"])
    ha.with_resolver("upstream-timeout = 500ms\n", body)


def test_ns_loop_with_way_out():
    """la. is served by ns.lb. (glueless, in lb.) and ns1.la. (glue); lb. only by ns.la.
    (glueless, in la.): the lookups loop through each other, but ns1.la. breaks the loop."""
    def body(res):
        expect(res, "www.lb.", "NOERROR", rdata=["192.0.2.24"])
        expect(res, "www.la.", "NOERROR", rdata=["192.0.2.23"])
    ha.with_resolver("", body)


def test_ns_pure_loop_fails_fast():
    """ca. NS ns.cb., cb. NS ns.ca., no glue anywhere: SERVFAIL, and quickly."""
    def body(res):
        t0 = time.monotonic()
        expect(res, "www.ca.", "SERVFAIL")
        took = time.monotonic() - t0
        check(took < 3, "pure NS loop took %.1fs to SERVFAIL" % took)
    ha.with_resolver("", body)


def test_lame_for_one_type():
    """ns1.lq. is lame only for AAAA (REFUSED) and MX (referral to its own zone); ns2.lq. is
    fine (but drops each first query): every type resolves."""
    def body(res):
        for i in range(4):
            expect(res, "a%d.lq." % i, "NOERROR", "AAAA", ["2001:db8::25"])
            expect(res, "m%d.lq." % i, "NOERROR", "MX", ["10 mail.lq."])
            expect(res, "v%d.lq." % i, "NOERROR", "A", ["192.0.2.25"])
        # The premise: ns1.lq. was asked the types it is lame for.
        check(auth.count(server=LQ1, qtype="AAAA") >= 1 and auth.count(server=LQ1, qtype="MX") >= 1,
              "ns1.lq. was never asked AAAA or MX (the test proves nothing): %s" %
              [(e["qname"], e["qtype"]) for e in auth.queries(server=LQ1)])
    ha.with_resolver("upstream-timeout = 500ms\n", body)


# ---- TTLs and what is in an answer -------------------------------------------------------------

def test_ttl_zero_not_cached():
    """zero.t0. A with TTL 0: answered twice, and the server is asked both times."""
    def body(res):
        m = auth.mark()
        expect(res, "zero.t0.", "NOERROR", rdata=["192.0.2.26"])
        first = auth.count(server=T0, qname="zero.t0.", qtype="A", since=m)
        time.sleep(0.1)
        expect(res, "zero.t0.", "NOERROR", rdata=["192.0.2.26"])
        second = auth.count(server=T0, qname="zero.t0.", qtype="A", since=m)
        check(first >= 1 and second > first, "TTL 0 answer served from cache: the server was "
              "asked %d then %d times" % (first, second))
    ha.with_resolver("", body)


def test_unrelated_answer_records_ignored():
    """mix.t0. A comes with a TXT nobody asked for and an MX for another name: the A answer
    is NOERROR and carries neither."""
    def body(res):
        out = expect(res, "mix.t0.", "NOERROR", rdata=["192.0.2.27"])
        extra = [r for r in rows(out) if r[2] in ("TXT", "MX")]
        check(not extra, "unasked records passed to the client: %s\n%s" % (extra, out))
    ha.with_resolver("", body)


def test_truncated_retried_over_tcp():
    """tc.'s server sets TC=1 on every UDP reply: the answer comes over TCP."""
    def body(res):
        m = auth.mark()
        expect(res, "www.tc.", "NOERROR", rdata=["192.0.2.28"])
        tcp = [e for e in auth.queries(server=TC, since=m) if e["tcp"]]
        check(tcp, "tc.'s server was never asked over TCP")
    ha.with_resolver("", body)


if __name__ == "__main__":
    ha.test_main(__file__, globals(), [
        test_dname_in_answer,
        test_dname_cached,
        test_dname_without_cname,
        test_dname_with_wrong_cname,
        test_dname_loop_and_overflow,
        test_parent_child_ns_differ,
        test_ns_loop_with_way_out,
        test_ns_pure_loop_fails_fast,
        test_lame_for_one_type,
        test_ttl_zero_not_cached,
        test_unrelated_answer_records_ignored,
        test_truncated_retried_over_tcp])
