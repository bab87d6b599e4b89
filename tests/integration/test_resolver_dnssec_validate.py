"""duet-resolver validates (dnssec = yes, the default) against the signed lab
(tests/lab/signed.sh) with the lab root's DS as its trust anchor: every case the lab lists
gets the rcode, the validation status (secure = AD, insecure = no AD, bogus = SERVFAIL) and
the Extended DNS Error (RFC 8914) that lab.json expects, first from the network and then
from the cache; and, side by side with a validating Unbound on the same lab, the same rcode,
the same AD bit and the same RRSIG-covered types in the answer section.

Also: CD=1 gets a bogus answer's data (no AD); AD only for clients that set AD or DO
(RFC 6840 5.7); the DNSKEY form of the anchor works like the DS form; with dnssec = no
nothing is AD and nothing bogus fails; the status counters reach stats and Prometheus.

Before this, duet answered every case NOERROR/NXDOMAIN without AD: the expired, wrong-key,
bad-DS, missing-RRSIG and missing-NSEC cases were handed to clients as good data.
"""
import os
import re
import subprocess
import tempfile
import urllib.request

from harness import SLOW, Daemon, check, control, free_port, run, stat, stats

import test_signed_lab as lab_mod

lab = None
duet = None
PORT = None


def kdig(port, name, rtype, *flags):
    r = subprocess.run(["kdig", "@127.0.0.1", "-p", str(port), "+time=8", "+retry=0"] +
                       list(flags) + [name, rtype], capture_output=True, text=True,
                       timeout=20 * SLOW)
    rcode, fl, ede, out = lab_mod.parse_kdig(r.stdout)
    return rcode, fl, ede, out


def answer_sig_types(out):
    """The types the answer section's RRSIGs cover (kdig text)."""
    types, section = set(), None
    for line in out.splitlines():
        if line.startswith(";; ANSWER SECTION"):
            section = "answer"
        elif line.startswith(";;"):
            section = None if line.startswith(";; AUTHORITY") or \
                line.startswith(";; ADDITIONAL") else section
        elif section == "answer":
            parts = line.split()
            if len(parts) > 4 and parts[3] == "RRSIG":
                types.add(parts[4])
    return types


def expect(port, cases, label):
    bad = []
    for c in cases:
        rcode, flags, ede, out = kdig(port, c["name"], c["type"], "+dnssec")
        problems = []
        if rcode != c["rcode"]:
            problems.append("rcode %s, want %s" % (rcode, c["rcode"]))
        if ("ad" in flags) != (c["status"] == "secure"):
            problems.append("AD %s, want %s" % ("ad" in flags, c["status"] == "secure"))
        if ede != c["ede"] and ede not in c["ede_also"]:
            problems.append("EDE %s, want %s (or %s)" % (ede, c["ede"], c["ede_also"]))
        if problems:
            bad.append("%s %s %s (%s): %s\n%s" % (c["id"], c["name"], c["type"], c["status"],
                                                  "; ".join(problems), out[:1200]))
    check(not bad, "%s: %d of %d cases differ:\n%s" % (label, len(bad), len(cases),
                                                       "\n".join(bad)))


def test_every_case_validates_as_the_lab_expects():
    expect(PORT, lab["cases"], "from the network")


def test_every_case_again_from_the_cache():
    expect(PORT, lab["cases"], "from the cache")


def test_same_as_unbound():
    ub = lab_mod.Unbound("diff", lab_mod.anchor())
    try:
        bad = []
        for c in lab["cases"]:
            d = kdig(PORT, c["name"], c["type"], "+dnssec")
            u = kdig(ub.port, c["name"], c["type"], "+dnssec")
            got = (d[0], "ad" in d[1], sorted(answer_sig_types(d[3])))
            want = (u[0], "ad" in u[1], sorted(answer_sig_types(u[3])))
            if got != want:
                bad.append("%s %s %s: duet %s, unbound %s" % (c["id"], c["name"], c["type"], got,
                                                              want))
        check(not bad, "duet and Unbound differ:\n" + "\n".join(bad))
    finally:
        ub.stop()


def case(cid):
    return next(c for c in lab["cases"] if c["id"] == cid)


def test_cached_dname_still_validates():
    """A second name under the DNAME follows the DNAME the resolver cached: the chain it
    builds from there must still carry the DNAME's signature."""
    kdig(PORT, "www.dn.nsec.sig.", "A", "+dnssec")
    rcode, flags, ede, out = kdig(PORT, "nx.dn.nsec.sig.", "A", "+dnssec")
    check(rcode == "NXDOMAIN" and "ad" in flags, "nx.dn.nsec.sig: %s %s %s\n%s" %
          (rcode, flags, ede, out))


def test_cd_gets_the_bogus_data():
    c = case("EXPIRED_WWW")
    rcode, flags, ede, out = kdig(PORT, c["name"], c["type"], "+dnssec", "+cd")
    check(rcode == "NOERROR" and "ad" not in flags and re.search(r"\sA\s+127\.", out),
          "CD=1 on a bogus name: %s %s\n%s" % (rcode, flags, out))
    rcode, flags, ede, out = kdig(PORT, c["name"], c["type"], "+dnssec")
    check(rcode == "SERVFAIL" and ede == 7, "and without CD again SERVFAIL/7: %s %s" % (rcode, ede))


def test_rrsig_and_any_questions_are_answered():
    """A question for the RRSIG type (or ANY) is answered as it is, not validated (nothing
    in it is an RRset with its own signature): never SERVFAIL, never AD."""
    for rtype in ("RRSIG", "ANY"):
        rcode, flags, ede, out = kdig(PORT, "www.nsec.sig.", rtype, "+dnssec")
        check(rcode == "NOERROR" and "ad" not in flags, "%s: %s %s\n%s" % (rtype, rcode, flags, out))


def test_ad_only_when_asked_for():
    c = case("NSEC_WWW")
    rcode, flags, _, _ = kdig(PORT, c["name"], c["type"], "+noadflag")
    check(rcode == "NOERROR" and "ad" not in flags, "no AD, no DO: %s %s" % (rcode, flags))
    rcode, flags, _, out = kdig(PORT, c["name"], c["type"], "+adflag")
    check("ad" in flags and "RRSIG" not in out, "AD=1 without DO: AD, no RRSIG: %s\n%s" %
          (flags, out))
    rcode, flags, _, out = kdig(PORT, c["name"], c["type"], "+noadflag", "+dnssec")
    check("ad" in flags and "RRSIG" in out, "DO=1: AD and RRSIGs: %s\n%s" % (flags, out))


def test_counters():
    counters = stats(duet.control_path)
    for k in ("dnssec_secure", "dnssec_insecure", "dnssec_bogus"):
        check(counters.get(k, 0) > 0, "stat %s: %s" % (k, counters))
    body = urllib.request.urlopen("http://%s/metrics" % duet.metrics, timeout=10).read().decode()
    check(re.search(r'duet_resolver_dnssec_answers_total\{status="bogus"\} [1-9]', body),
          "metrics: " + body[:2000])


def test_key_cache():
    """A validation after the zone's keys were fetched once starts from them (the key cache:
    dnssec_key_cache_hits, and its Prometheus counter), with the same verdict; flush forgets
    them. (Every case above ran with the key cache on, each twice.)"""
    kdig(PORT, "www.nsec.sig.", "A", "+dnssec")
    rc, out = control(duet.control_path, "flush", "www.nsec.sig.")
    check(rc == 0, out)
    before = stat(duet.control_path, "dnssec_key_cache_hits")
    rcode, flags, _, _ = kdig(PORT, "www.nsec.sig.", "A", "+dnssec")
    check(rcode == "NOERROR" and "ad" in flags, "www.nsec.sig. A again: %s %s" % (rcode, flags))
    after = stat(duet.control_path, "dnssec_key_cache_hits")
    check(after > before, "no key cache hit: %d -> %d" % (before, after))
    body = urllib.request.urlopen("http://%s/metrics" % duet.metrics, timeout=10).read().decode()
    check(re.search(r"duet_resolver_dnssec_key_cache_hits_total [1-9]", body),
          "metrics: " + body[:2000])
    rc, out = control(duet.control_path, "flush")
    m = re.search(r"the keys of (\d+)", out)
    check(rc == 0 and m and int(m.group(1)) > 0, "flush: " + out)


def test_lookup_shows_status_and_what_decided():
    """duet-control lookup: secure with the signing zone and key tag; bogus with the reason
    and its EDE; the negative answer's proof records."""
    kdig(PORT, "www.nsec.sig.", "A", "+dnssec")
    _, out = control(duet.control_path, "lookup", "www.nsec.sig.")
    check(re.search(r"cached A NOERROR:\n  dnssec: secure\n  data www\.nsec\.sig\. A signed by "
                    r"nsec\.sig\. key \d+", out), "lookup secure:\n" + out)
    kdig(PORT, "www.expired.sig.", "A", "+dnssec")
    _, out = control(duet.control_path, "lookup", "www.expired.sig.")
    check("dnssec: bogus (sig_expired, EDE 7)" in out, "lookup bogus:\n" + out)
    kdig(PORT, "nx.nsec.sig.", "A", "+dnssec")
    _, out = control(duet.control_path, "lookup", "nx.nsec.sig.")
    check("dnssec: secure" in out and re.search(r"proof \S+ NSEC signed by nsec\.sig\.", out),
          "lookup NXDOMAIN:\n" + out)
    kdig(PORT, "www.insecure.sig.", "A", "+dnssec")
    _, out = control(duet.control_path, "lookup", "www.insecure.sig.")
    check("dnssec: insecure (unsigned_cut)" in out, "lookup insecure:\n" + out)


def upstream_queries(sock=None):
    counters = stats(sock or duet.control_path)
    return counters["upstream_udp"] + counters["upstream_tcp"]


def test_aggressive_nsec():
    """RFC 8198: after one validated NXDOMAIN (and one NODATA) in the NSEC zone, other names
    the same records prove absent are answered NXDOMAIN/NODATA with AD and no upstream query;
    names they do not cover, and NSEC3 zones, still go upstream."""
    rcode, flags, _, _ = kdig(PORT, "aaa1.nsec.sig.", "A", "+dnssec")
    check(rcode == "NXDOMAIN" and "ad" in flags, "first NXDOMAIN: %s %s" % (rcode, flags))
    kdig(PORT, "www.nsec.sig.", "AAAA", "+dnssec")
    before = upstream_queries()
    for name, rtype, want in (("aaa2.nsec.sig.", "A", "NXDOMAIN"), ("aaa3.nsec.sig.", "MX", "NXDOMAIN"),
                              ("www.nsec.sig.", "SRV", "NOERROR")):
        rcode, flags, _, out = kdig(PORT, name, rtype, "+dnssec")
        check(rcode == want and "ad" in flags and "NSEC" in out,
              "%s %s from cached NSEC: %s %s\n%s" % (name, rtype, rcode, flags, out))
    check(upstream_queries() == before, "aggressive answers asked upstream: %d -> %d" %
          (before, upstream_queries()))
    rcode, flags, _, _ = kdig(PORT, "aaa1.nsec3.sig.", "A", "+dnssec")
    check(rcode == "NXDOMAIN" and upstream_queries() > before, "NSEC3 zone: upstream as usual")


def test_flush_forgets_the_nsec_records():
    """duet-control flush removes what aggressive NSEC would answer from: after `flush NAME
    subtree` (and after `flush NAME` of the name itself) a name the cached NSEC records cover
    goes upstream again, as it would after Unbound's flush_zone."""
    for args in (("nsec.sig.", "subtree"), ("ccc2.nsec.sig.",), ()):
        kdig(PORT, "ccc1.nsec.sig.", "A", "+dnssec")
        before = upstream_queries()
        kdig(PORT, "ccc2.nsec.sig.", "A", "+dnssec")
        check(upstream_queries() == before, "ccc2 not answered from the NSEC records")
        rc, out = control(duet.control_path, "flush", *args)
        check(rc == 0 and "NSEC" in out, "flush %s: %s" % (" ".join(args), out))
        # The zone's keys and cut are fetched again first, so that what is counted below is
        # the question itself.
        kdig(PORT, "www.nsec.sig.", "A", "+dnssec")
        before = upstream_queries()
        rcode, flags, _, _ = kdig(PORT, "ccc2.nsec.sig.", "A", "+dnssec")
        check(rcode == "NXDOMAIN" and "ad" in flags and upstream_queries() > before,
              "after flush %s: %s %s, upstream %d -> %d" % (" ".join(args), rcode, flags, before,
                                                          upstream_queries()))


def test_aggressive_nsec_off():
    """The control: with aggressive-nsec = no the second name goes upstream."""
    port = free_port()
    sock = os.path.join(tempfile.mkdtemp(prefix="duet-aggr-"), "c.sock")
    d = Daemon("duet-resolver", base_conf(port) + "trust-anchor-file = %s\naggressive-nsec = no\n"
               "control-socket = %s\n" % (lab["LAB_ROOT_DS"], sock)).start()
    try:
        kdig(port, "bbb1.nsec.sig.", "A", "+dnssec")
        before = upstream_queries(sock)
        rcode, flags, _, _ = kdig(port, "bbb2.nsec.sig.", "A", "+dnssec")
        check(rcode == "NXDOMAIN" and "ad" in flags and upstream_queries(sock) > before,
              "aggressive-nsec = no: %s %s, upstream %d -> %d" % (rcode, flags, before,
                                                                  upstream_queries(sock)))
    finally:
        d.close()


def test_start_line_names_the_trust_points():
    line = [l for l in duet.stderr().splitlines() if "event=dnssec " in l]
    check(line and "validate=yes" in line[0] and "trust_points=1" in line[0],
          "start line: %s" % line)


def run_other(conf_extra, fn):
    port = free_port()
    d = Daemon("duet-resolver", base_conf(port) + conf_extra,
               expect_errors=("dnssec_bogus",)).start()
    try:
        fn(port)
    finally:
        d.close()


def test_dnskey_anchor():
    def go(port):
        expect(port, [case(i) for i in ("NSEC_WWW", "NSEC3_NXDOMAIN", "INSECURE_WWW",
                                        "EXPIRED_WWW", "ED25519_WWW")], "DNSKEY anchor")
    run_other("trust-anchor-file = %s\n" % lab["LAB_ROOT_DNSKEY"], go)


def test_dnssec_no_validates_nothing():
    def go(port):
        for cid in ("NSEC_WWW", "EXPIRED_WWW"):
            rcode, flags, ede, out = kdig(port, case(cid)["name"], "A", "+dnssec")
            check(rcode == "NOERROR" and "ad" not in flags and ede is None,
                  "dnssec = no, %s: %s %s %s" % (cid, rcode, flags, ede))
            check("RRSIG" in out, "dnssec = no still gives DO=1 clients RRSIGs:\n" + out)
    run_other("trust-anchor-file = %s\ndnssec = no\n" % lab["LAB_ROOT_DS"], go)


def base_conf(port):
    return "\n".join(["listen = 127.0.0.1:%d" % port, 'user = ""', "workers = 1",
                      "root-hints = %s" % lab["LAB_ROOT_HINTS"], "query-loopback = yes", ""])


def main():
    global lab, duet, PORT
    lab_mod.start_lab()
    lab = lab_mod.env
    failed = 1
    try:
        PORT = free_port()
        ctl = os.path.join(lab_mod.lab_dir, "control.sock")
        mport = free_port()
        conf = base_conf(PORT) + "trust-anchor-file = %s\ncontrol-socket = %s\n" \
            "metrics = 127.0.0.1:%d\n" % (lab["LAB_ROOT_DS"], ctl, mport)
        duet = Daemon("duet-resolver", conf, expect_errors=("dnssec_bogus",)).start()
        duet.control_path = ctl
        duet.metrics = "127.0.0.1:%d" % mport
        try:
            failed = run(test_every_case_validates_as_the_lab_expects,
                         test_every_case_again_from_the_cache, test_same_as_unbound,
                         test_cached_dname_still_validates,
                         test_cd_gets_the_bogus_data, test_ad_only_when_asked_for, test_counters,
                         test_rrsig_and_any_questions_are_answered,
                         test_start_line_names_the_trust_points,
                         test_key_cache, test_lookup_shows_status_and_what_decided,
                         test_aggressive_nsec, test_flush_forgets_the_nsec_records,
                         test_aggressive_nsec_off,
                         test_dnskey_anchor, test_dnssec_no_validates_nothing, exit=False)
        finally:
            duet.close()
    finally:
        lab_mod.stop_lab()
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
