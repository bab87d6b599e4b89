"""duet-resolver against hostile authoritative servers scripted in Python
(tests/lab/hostile_auth.py), in a network namespace of the test's own: a sub-resolution
outliving its parent (use after free), NXNSAttack-style glueless fan-out (CVE-2020-12662)
and qname-minimisation on very long names, glue addresses that must never be queried
(0.0.0.0, ::, multicast, broadcast, do-not-query-address), and cache-poisoning attempts
through out-of-bailiwick glue, stray answer and authority records, sideways and upward
referrals, foreign negative SOAs and replies that do not match the query.

Each test starts its own resolver (fresh cache) against one scripted internet (scenario
below) and counts what the scripted servers received.  ctest-timeout: 600"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lab"))

import hostile_auth as ha  # noqa: E402
from harness import check, dig_answers, dig_status, run, skip  # noqa: E402

ROOT_A = "127.70.0.1"
VICTIM = "127.70.1.1"     # serves victim. and victimdns. (the NS names' zone)
EVIL = "127.70.2.1"       # the attacker's zone evil.
SLOW = "127.70.3.1"       # slow.: answers after 6 s
OTHER = "127.70.4.1"      # other.: answers after 5 s
WILD = "127.70.5.1"       # wild.: a wildcard
GOOD_MIXED = "127.70.7.1"  # the one usable server of mixed.
DNQ_BAD = "127.70.9.5"    # in do-not-query-address
DNQ_GOOD = "127.70.10.1"
SPOOF = "127.70.67.1"     # spoof.'s only server: replies that do not match the query
IMPOSTOR = "127.70.66.1"  # where poisoned glue points; answers everything with FAKE
FAKE = "127.70.66.66"
TRUE_WWW = "192.0.2.1"

# Glue that names no server: "this network", unspecified, multicast, broadcast.
BOGUS_V4 = ["0.0.0.0", "224.0.0.1", "255.255.255.255", "0.1.2.3"]
BOGUS_V6 = ["::", "ff02::1"]
N_FAN = 13  # NS names in an NXNS referral (a full 13-server NS set, as in the paper)


def bogus_delegation(zone, prefix):
    lines = []
    for i, a in enumerate(BOGUS_V4 + BOGUS_V6):
        lines.append("%s. NS %s%d.%s." % (zone, prefix, i, zone))
        lines.append("%s%d.%s. %s %s" % (prefix, i, zone, "AAAA" if ":" in a else "A", a))
    return "\n".join(lines)


ROOT = """
@ NS a.root.hostile.
a.root.hostile. A 127.70.0.1
victim. NS ns.victimdns.
victimdns. NS ns.victimdns.
ns.victimdns. A 127.70.1.1
evil. NS ns.evil.
ns.evil. A 127.70.2.1
slow. NS ns.slow.
ns.slow. A 127.70.3.1
other. NS ns.other.
ns.other. A 127.70.4.1
wild. NS ns.wild.
ns.wild. A 127.70.5.1
%s
%s
spoof. NS ns.spoof.
ns.spoof. A 127.70.67.1
mixed. NS good.mixed.
good.mixed. A 127.70.7.1
dnq. NS ns1.dnq.
dnq. NS ns2.dnq.
ns1.dnq. A 127.70.9.5
ns2.dnq. A 127.70.10.1
""" % (bogus_delegation("bogus", "n"), bogus_delegation("mixed", "m"))

VICTIM_ZONE = """
@ NS ns.victimdns.
www A 192.0.2.1
"""
VICTIMDNS_ZONE = """
@ NS ns
ns A 127.70.1.1
"""
EVIL_ZONE = """
@ NS ns
ns A 127.70.2.1
www A 192.0.2.2
*.fake A %s
%s
%s
%s
""" % (FAKE, "\n".join("nx NS f%d.victim." % i for i in range(1, N_FAN + 1)),
       "\n".join("nest NS ns%d.l2" % i for i in range(1, N_FAN + 1)),
       "\n".join("l2 NS n%d.victim." % i for i in range(1, N_FAN + 1)))


def rrset(text):
    owner, ttl, rdtype, rdata = text.split(None, 3)
    return ha.dns.rrset.from_text(owner, int(ttl), "IN", rdtype, rdata)


def evil_handler(q):
    """The attacker's server: the zone above, plus one poisoning trick per name."""
    if q.under("glue.evil."):  # a referral whose glue is for another zone's NS name
        r = q.reply(aa=False)
        r.authority.append(rrset("glue.evil. 300 NS ns.victimdns."))
        r.additional.append(rrset("ns.victimdns. 300 A " + IMPOSTOR))
        r.additional.append(rrset("www.victim. 300 A " + FAKE))
        return r
    if q.under("ans.evil."):  # records for names outside evil. in the answer section
        r = q.reply()
        r.answer.append(rrset("%s 300 A 192.0.2.10" % q.qname_sent))
        r.answer.append(rrset("www.victim. 300 A " + FAKE))
        r.answer.append(rrset("ns.victimdns. 300 A " + IMPOSTOR))
        return r
    if q.under("cn.evil."):  # a CNAME out of the zone with the target's "data" attached
        r = q.reply()
        r.answer.append(rrset("%s 300 CNAME www.victim." % q.qname_sent))
        r.answer.append(rrset("www.victim. 300 A " + FAKE))
        return r
    if q.under("auth.evil."):  # NS sets for zones beside (victim.) and above (.) evil.
        r = q.reply()
        r.answer.append(rrset("%s 300 A 192.0.2.12" % q.qname_sent))
        r.authority.append(rrset("victim. 300 NS ns.impostor.evil."))
        r.authority.append(rrset(". 300 NS ns.impostor.evil."))
        r.additional.append(rrset("ns.impostor.evil. 300 A " + IMPOSTOR))
        return r
    if q.under("side.evil."):  # a referral sideways, to victim.
        r = q.reply(aa=False)
        r.authority.append(rrset("victim. 300 NS ns.impostor.evil."))
        r.additional.append(rrset("ns.impostor.evil. 300 A " + IMPOSTOR))
        return r
    if q.under("up.evil."):  # a referral upward, to the root
        r = q.reply(aa=False)
        r.authority.append(rrset(". 300 NS ns.impostor.evil."))
        r.additional.append(rrset("ns.impostor.evil. 300 A " + IMPOSTOR))
        return r
    if q.under("neg.evil."):  # NXDOMAIN with an SOA that is no ancestor of the name
        r = q.reply(ha.dns.rcode.NXDOMAIN)
        r.authority.append(rrset("victim. 300 SOA ns.impostor.evil. h.evil. 9 3600 600 86400 300"))
        return r
    if q.under("dnp.evil."):  # a DNAME for another zone (victim.) riding along a CNAME
        r = q.reply()
        r.answer.append(rrset("victim. 300 DNAME fake.evil."))
        r.answer.append(rrset("%s 300 CNAME www.victim." % q.qname_sent))
        r.answer.append(rrset("www.victim. 300 CNAME www.fake.evil."))
        r.answer.append(rrset("www.fake.evil. 300 A " + FAKE))
        return r
    if q.under("add.evil."):  # an answer with foreign addresses in the additional section
        r = q.reply()
        r.answer.append(rrset("%s 300 A 192.0.2.13" % q.qname_sent))
        r.additional.append(rrset("www.victim. 300 A " + FAKE))
        r.additional.append(rrset("ns.victimdns. 300 A " + IMPOSTOR))
        return r
    return ha.DEFAULT


def impostor_handler(q):
    r = q.reply()
    if q.qtype == ha.dns.rdatatype.A:
        r.answer.append(rrset("%s 300 A %s" % (q.qname_sent, FAKE)))
    return r


def spoof_handler(q):
    """Replies carrying FAKE that do not match the query: another ID (id-*), the question's
    0x20 case swapped (case-*), another question (q-*)."""
    first = q.qname.labels[0] if len(q.qname.labels) > 2 else b""
    r = impostor_handler(q)
    if first.startswith(b"id"):
        r.id = q.msg.id ^ 0x5555
    elif first.startswith(b"case"):
        swapped = ha.name(q.qname_sent.to_text().swapcase())
        r.question = [ha.dns.rrset.RRset(swapped, q.msg.question[0].rdclass,
                                         q.msg.question[0].rdtype)]
        r.answer = [rrset("%s 300 A %s" % (swapped, FAKE))]
    elif first.startswith(b"q"):
        r.question = [ha.dns.rrset.RRset(ha.name("www.victim."), 1, q.qtype)]
        r.answer.append(rrset("www.victim. 300 A " + FAKE))
    return r


def slow_handler(q):
    """slow.: after 6 s, a referral for x.slow. to a glueless NS in other."""
    q.delay = 6.0
    r = q.reply(aa=False)
    r.authority.append(rrset("x.slow. 300 NS ns.a.other."))
    return r


def other_handler(q):
    """other.: after 5 s, a referral for a.other. to a glueless NS in third. (nowhere)."""
    if q.qname == ha.name("ns.other."):
        return ha.DEFAULT
    q.delay = 5.0
    r = q.reply(aa=False)
    r.authority.append(rrset("a.other. 300 NS ns.b.third."))
    return r


def sink_handler(q):
    """On 127.0.0.1 and ::1, where a query "to" 0.0.0.0 or :: arrives: answers FAKE."""
    return impostor_handler(q)


def scenario(net):
    Z = ha.Zone
    net.server(ROOT_A, zones=[Z(".", ROOT)])
    net.server(VICTIM, zones=[Z("victim.", VICTIM_ZONE), Z("victimdns.", VICTIMDNS_ZONE)])
    net.server(EVIL, zones=[Z("evil.", EVIL_ZONE)], handler=evil_handler)
    net.server(SLOW, zones=[Z("slow.", "@ NS ns\nns A 127.70.3.1")], handler=slow_handler)
    net.server(OTHER, zones=[Z("other.", "@ NS ns\nns A 127.70.4.1")], handler=other_handler)
    net.server(WILD, zones=[Z("wild.", "@ NS ns\nns A 127.70.5.1\n*.w A 192.0.2.5")])
    net.server(GOOD_MIXED, zones=[Z("mixed.", "* A 192.0.2.7")], handler=good_mixed_handler)
    net.server(DNQ_BAD, handler=impostor_handler)
    net.server(DNQ_GOOD, zones=[Z("dnq.", "* A 192.0.2.9")])
    net.server(IMPOSTOR, handler=impostor_handler)
    net.server(SPOOF, handler=spoof_handler)
    net.server("127.0.0.1", handler=sink_handler)
    net.server("::1", handler=sink_handler)


auth = None


def a_records(out):
    return sorted(r[3] for r in dig_answers(out) if r[2] == "A")


def expect(res, qname, status, a=None, qtype="A"):
    out = res.ask(qname, qtype)
    check(dig_status(out) == status, "%s %s: want %s\n%s" % (qname, qtype, status, out))
    if a is not None:
        check(a_records(out) == sorted(a), "%s: want A %s, got %s\n%s" %
              (qname, a, a_records(out), out))
    return out


def servers_asked(res):
    """Every address the resolver logged sending an upstream query to (debug log)."""
    return set(m.group(1) for m in re.finditer(r"event=upstream_query .*?server=(\S+)",
                                               res.stderr()))


# ---- defect 1: a sub-resolution outliving its parent ---------------------------------------

def test_sub_outlives_parent():
    """www.x.slow.: slow. answers after 6 s with a referral to ns.a.other. (no glue), so the
    resolution starts a sub-resolution for it at t=6 s; other. answers that one after 5 s
    (t=11 s), with yet another glueless referral, after the parent's 10 s deadline freed it.
    The old iterator walked sub->parent (freed) there: heap-use-after-free under ASan. The
    daemon must answer the client, keep serving, and exit cleanly."""
    def body(res):
        m = auth.mark()
        t0 = time.monotonic()
        out = res.ask("www.x.slow.", "A", timeout=15)
        took = time.monotonic() - t0
        check(dig_status(out) == "SERVFAIL", "www.x.slow: want SERVFAIL after the deadline\n" + out)
        check(took < 13, "answer took %.1fs" % took)
        check(auth.count(server=SLOW, since=m) >= 1, "slow. was never asked")
        # Let other.'s late referral arrive (t=11 s) and whatever follows it run.
        time.sleep(max(0.0, 13.5 - (time.monotonic() - t0)))
        check(res.alive(), "resolver died after the late referral:\n" + res.stderr()[-4000:])
        expect(res, "www.victim.", "NOERROR", [TRUE_WWW])
    ha.with_resolver("upstream-timeout = 9s\n", body)


# ---- defect 3: NXNSAttack (CVE-2020-12662) and qname-minimisation cost ----------------------

# Per client query the victim may see at most 10 queries: about 5 glueless NS lookups per
# delegation (Unbound's MAX_TARGET_NX), each of which may be an A and an AAAA query: 2 x 5.
# (Unbound 1.17, IPv6 on, sends 12 here: it stops once more than 5 lookups have failed, so 6
# names x 2.) The whole tree, sub-lookups included, stays within max-upstream-queries, set
# to 20 here.
VICTIM_BOUND = 10
TREE_BUDGET = 20
NXNS_CONF = "max-upstream-queries = %d\n" % TREE_BUDGET
# At most 6 distinct NS names looked up for one delegation (as Unbound: 6).
NAMES_BOUND = 6


def warm(res):
    """Caches the root, evil. and victim. cuts, so what follows counts only the attack."""
    expect(res, "www.evil.", "NOERROR", ["192.0.2.2"])
    expect(res, "www.victim.", "NOERROR", [TRUE_WWW])


def attack(res, qname):
    m = auth.mark()
    out = res.ask(qname, "A")
    check(dig_status(out) == "SERVFAIL", "%s: want SERVFAIL (no NS resolves)\n%s" % (qname, out))
    return auth.count(server=VICTIM, since=m), auth.count(since=m)


def test_nxns_fanout_bounded():
    def body(res):
        warm(res)
        m = auth.mark()
        victim, total = attack(res, "q1.nx.evil.")
        names = set(e["qname"].lower() for e in auth.queries(server=VICTIM, since=m))
        check(victim <= VICTIM_BOUND and len(names) <= NAMES_BOUND,
              "one query under a 13-NS glueless referral sent %d queries for %d NS names to the "
              "victim (bounds %d and %d)" % (victim, len(names), VICTIM_BOUND, NAMES_BOUND))
        check(total <= TREE_BUDGET, "one query caused %d upstream queries in all "
              "(max-upstream-queries = %d)" % (total, TREE_BUDGET))
    ha.with_resolver(NXNS_CONF, body)


def test_nxns_nested_bounded():
    """nest.evil. names 13 glueless NS in l2.evil., whose own referral names 13 glueless NS in
    victim.: 13 x 13 = 169 victim queries for one client query before."""
    def body(res):
        warm(res)
        victim, total = attack(res, "q.nest.evil.")
        check(victim <= VICTIM_BOUND, "nested glueless referrals sent %d queries to the victim "
              "(bound %d)" % (victim, VICTIM_BOUND))
        check(total <= TREE_BUDGET, "nested: %d upstream queries in all (max-upstream-queries "
              "= %d)" % (total, TREE_BUDGET))
    ha.with_resolver(NXNS_CONF, body)


def test_nxns_negative_cache_used():
    """Three client queries under the one cached nx.evil. cut: the NS names' NXDOMAINs are
    cached after the first, so the second and third must not ask the victim again (neither
    the names already answered NXDOMAIN, nor, the brief's bound, any other)."""
    def body(res):
        warm(res)
        m = auth.mark()
        first, _ = attack(res, "q1.nx.evil.")
        m2 = auth.mark()
        second, _ = attack(res, "q2.nx.evil.")
        third, _ = attack(res, "q3.nx.evil.")
        before = set((e["qname"].lower(), e["qtype"]) for e in auth.queries(server=VICTIM,
                                                                             since=m)[:first])
        again = sorted(set((e["qname"].lower(), e["qtype"])
                           for e in auth.queries(server=VICTIM, since=m2)) & before)
        check(not again, "victim re-queried for NS names whose NXDOMAIN is cached: %s "
              "(victim queries: first %d, second %d, third %d)" % (again, first, second, third))
        check(second == 0 and third == 0, "second and third queries under the cached cut "
              "asked the victim %d and %d times (first %d)" % (second, third, first))
        check(first <= VICTIM_BOUND, "first query: %d victim queries" % first)
    ha.with_resolver(NXNS_CONF, body)


def test_qmin_long_name_bounded():
    """A 100-label name under a wildcard, qname-minimisation = yes: RFC 9156 §2.3 caps the
    steps (MAX_MINIMISE_COUNT 10) after which the rest is asked at once. Bound: 12 queries to
    wild.'s server (10 steps, the full question, one spare). Before: one label per query,
    until max-upstream-queries (64) gave SERVFAIL."""
    name = "a." * 100 + "w.wild."

    def body(res):
        expect(res, "x.w.wild.", "NOERROR", ["192.0.2.5"])
        m = auth.mark()
        out = res.ask(name, "A")
        n = auth.count(server=WILD, since=m)
        check(dig_status(out) == "NOERROR" and a_records(out) == ["192.0.2.5"],
              "100-label name: want NOERROR 192.0.2.5 (after %d queries to wild.)\n%s" %
              (n, out[:1500]))
        check(n <= 12, "100-label name cost %d queries to wild. (bound 12)" % n)
    ha.with_resolver("qname-minimisation = yes\n", body)


# ---- defect 6: addresses never to query ------------------------------------------------------

def bogus_check(res, since):
    sink = auth.count(server="127.0.0.1", since=since) + auth.count(server="::1", since=since)
    asked = servers_asked(res) & set(BOGUS_V4 + BOGUS_V6)
    check(sink == 0 and not asked, "queries sent to bogus glue: %d reached the 0.0.0.0/:: "
          "listener; the log shows queries to %s" % (sink, sorted(asked)))


def test_bogus_glue_never_queried():
    """bogus.'s only servers have glue 0.0.0.0, 224.0.0.1, 255.255.255.255, 0.1.2.3, ::,
    ff02::1. A query to 0.0.0.0 or :: arrives at 127.0.0.1 / ::1, where the sink answers
    FAKE; the others are seen in the resolver's log. Nothing may be sent: SERVFAIL, at once."""
    def body(res):
        m = auth.mark()
        t0 = time.monotonic()
        out = res.ask("www.bogus.", "A", timeout=14)
        took = time.monotonic() - t0
        check(FAKE not in out, "answer came from a bogus address:\n" + out)
        bogus_check(res, m)
        check(dig_status(out) == "SERVFAIL", "www.bogus: want SERVFAIL, got %s after %.1fs\n%s"
              % (dig_status(out), took, out))
        check(took < 3, "www.bogus: SERVFAIL took %.1fs (no server to ask: want it at once)" % took)
    ha.with_resolver("", body)


MIXED_SEEN = set()


def good_mixed_handler(q):
    """mixed.'s good server drops the first query for each name, so a resolver must choose a
    second server to ask (or retry this one): with bogus ones beside it, that choice shows."""
    key = (str(q.qname), q.qtype)
    if key not in MIXED_SEEN:
        MIXED_SEEN.add(key)
        return None
    return ha.DEFAULT


def test_bogus_glue_skipped_for_good_server():
    """mixed. has the six bogus servers and one good one that drops each first query:
    resolves through the good one, never touching the others."""
    def body(res):
        m = auth.mark()
        for i in range(3):
            out = res.ask("www%d.mixed." % i, "A", timeout=12)
            check(FAKE not in out, "answer came from a bogus address:\n" + out)
            bogus_check(res, m)
            check(dig_status(out) == "NOERROR" and a_records(out) == ["192.0.2.7"],
                  "www%d.mixed: want NOERROR 192.0.2.7\n%s" % (i, out))
    ha.with_resolver("upstream-timeout = 400ms\n", body)


def test_do_not_query_address():
    """do-not-query-address = 127.70.9.0/24 (repeatable): dnq.'s ns1 (127.70.9.5) is never
    asked, ns2 answers every name."""
    def body(res):
        for i in range(6):
            out = expect(res, "www%d.dnq." % i, "NOERROR")
            check(a_records(out) == ["192.0.2.9"], "www%d.dnq: %s" % (i, a_records(out)))
        check(auth.count(server=DNQ_BAD) == 0, "%d queries to 127.70.9.5 despite "
              "do-not-query-address" % auth.count(server=DNQ_BAD))
        check(auth.count(server=DNQ_GOOD) >= 1, "ns2.dnq never asked")
    ha.with_resolver("do-not-query-address = 127.70.9.0/24\ndo-not-query-address = 10.99.0.0/16\n",
                     body)


# ---- cache poisoning attempts ----------------------------------------------------------------

def victim_intact(res, since):
    expect(res, "www.victim.", "NOERROR", [TRUE_WWW])
    out = expect(res, "ns.victimdns.", "NOERROR")
    check(a_records(out) == [VICTIM], "ns.victimdns: %s" % a_records(out))
    n = auth.count(server=IMPOSTOR, since=since)
    check(n == 0, "%d queries went to the impostor" % n)


def poison(first, check_first=None):
    """Asks the evil name(s) on a fresh resolver, then the victim's names."""
    def body(res):
        m = auth.mark()
        for qn in first:
            out = res.ask(qn, "A")
            check(FAKE not in out, "%s: the fake address reached the client:\n%s" % (qn, out))
            trick = ".".join(qn.split(".")[1:])
            check(auth.count(server=EVIL, under=trick, since=m) >= 1,
                  "%s: evil. was never asked (the attempt proves nothing)" % qn)
            if check_first:
                check_first(qn, out)
        victim_intact(res, m)
    ha.with_resolver("", body)


def test_poison_out_of_bailiwick_glue():
    poison(["www.glue.evil."])


def test_poison_answer_outside_zone():
    def only_own(qn, out):
        names = set(r[0].lower() for r in dig_answers(out))
        check(dig_status(out) == "NOERROR" and names == {qn}, "%s: answer has %s\n%s" %
              (qn, names, out))
    poison(["x.ans.evil."], only_own)


def test_poison_cname_with_foreign_data():
    def true_target(qn, out):
        check(dig_status(out) == "NOERROR" and a_records(out) == [TRUE_WWW],
              "%s: CNAME to www.victim. must end at the victim's own A\n%s" % (qn, out))
    poison(["x.cn.evil."], true_target)


def test_poison_authority_ns_above_and_beside():
    poison(["x.auth.evil."])


def test_poison_sideways_and_upward_referral():
    def not_noerror(qn, out):
        check(dig_status(out) != "NOERROR" or FAKE not in out, out)
    poison(["www.side.evil.", "www.up.evil."], not_noerror)
    # And in the other order of learning: the victim first, then the referrals, then again.

    def body(res):
        m = auth.mark()
        expect(res, "www.victim.", "NOERROR", [TRUE_WWW])
        res.ask("www2.side.evil.", "A")
        res.ask("www2.up.evil.", "A")
        out = expect(res, "other.victim.", "NXDOMAIN")
        check(FAKE not in out, out)
        victim_intact(res, m)
    ha.with_resolver("", body)


def test_poison_foreign_negative_soa():
    def body(res):
        m = auth.mark()
        out = res.ask("x.neg.evil.", "A")
        check("ns.impostor.evil" not in out, "the foreign SOA reached the client:\n" + out)
        victim_intact(res, m)
        out = expect(res, "nothere.victim.", "NXDOMAIN")
        check("ns.impostor.evil" not in out, "victim's NXDOMAIN carries the foreign SOA:\n" + out)
    ha.with_resolver("", body)


def test_poison_additional_in_answer():
    poison(["x.add.evil."])


def test_poison_foreign_dname():
    """evil.'s answer carries victim. DNAME fake.evil. and a CNAME to www.victim.: the client
    gets the victim's own address, and www.victim. stays the victim's."""
    def true_target(qn, out):
        check(dig_status(out) == "NOERROR" and a_records(out) == [TRUE_WWW],
              "%s: want the victim's own A\n%s" % (qn, out))
    poison(["x.dnp.evil."], true_target)


def test_mismatched_replies_ignored():
    """spoof.'s only server answers FAKE with another ID, with the question's case swapped
    (0x20) or for another question: none of it is accepted, so SERVFAIL. The control, ok1.,
    gets the same reply matched to its query, and FAKE is then spoof.'s true answer."""
    def body(res):
        m = auth.mark()
        expect(res, "ok1.spoof.", "NOERROR", [FAKE])
        for qn in ("id1.spoof.", "case1.spoof.", "q1.spoof."):
            out = res.ask(qn, "A", timeout=12)
            check(FAKE not in out, "%s: a mismatched reply was accepted\n%s" % (qn, out))
            check(dig_status(out) == "SERVFAIL", "%s: want SERVFAIL\n%s" % (qn, out))
        check(auth.count(server=SPOOF, since=m) >= 3, "spoof. was not asked")
        victim_intact(res, m)
    ha.with_resolver("upstream-timeout = 300ms\n", body)


if __name__ == "__main__":
    ha.test_main(__file__, globals(), [
        test_sub_outlives_parent,
        test_nxns_fanout_bounded,
        test_nxns_nested_bounded,
        test_nxns_negative_cache_used,
        test_qmin_long_name_bounded,
        test_bogus_glue_never_queried,
        test_bogus_glue_skipped_for_good_server,
        test_do_not_query_address,
        test_poison_out_of_bailiwick_glue,
        test_poison_answer_outside_zone,
        test_poison_cname_with_foreign_data,
        test_poison_authority_ns_above_and_beside,
        test_poison_sideways_and_upward_referral,
        test_poison_foreign_negative_soa,
        test_poison_additional_in_answer,
        test_poison_foreign_dname,
        test_mismatched_replies_ignored])
