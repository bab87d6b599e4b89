"""duet-resolver is security-aware (RFC 4035 §3.2): against the signed lab
(tests/lab/signed.sh), a client that sets DO gets the RRSIGs of the answer and, for
NXDOMAIN and NODATA, the NSEC or NSEC3 records that prove it with their RRSIGs; a client
without DO gets none of them (unless it asked for that type); both are served again from
the cache, where each question keeps two ready replies. This resolver has no trust anchor
(validation is tested in test_resolver_dnssec_validate.py): no answer carries AD. Before this, duet asked upstream without DO and never kept a
signature, so every DO=1 client got unsigned answers."""
import subprocess

from harness import Daemon, check, free_port, run

import test_signed_lab as lab_mod

cases = {}
res = None
PORT = None


def ask(name, rtype, do):
    cmd = ["dig", "@127.0.0.1", "-p", str(PORT), "+tries=1", "+time=10", "+noall", "+comments",
           "+answer", "+authority", name, rtype]
    if do:
        cmd.insert(1, "+dnssec")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    status, flags, records = None, "", []
    for line in r.stdout.splitlines():
        if "->>HEADER<<-" in line:
            status = line.split("status: ")[1].split(",")[0]
        elif line.startswith(";; flags:"):
            flags = line.split(";")[2]
        elif line and not line.startswith(";"):
            parts = line.split()
            if len(parts) >= 5:
                rdata = parts[4:]
                records.append((parts[0].lower(), parts[3], rdata))
    return status, flags, records


def types(records):
    return [t for _, t, _ in records]


def covered(records):
    return {rd[0] for _, t, rd in records if t == "RRSIG"}


def check_case(cid, cached):
    c = cases[cid]
    name, rtype = c["name"], c["type"]
    what = "%s %s%s" % (name, rtype, " (cached)" if cached else "")
    st, flags, recs = ask(name, rtype, do=True)
    check(st == c["rcode"], "%s with DO: status %s, want %s" % (what, st, c["rcode"]))
    check(" ad" not in flags, "%s: AD set without validation" % what)
    st0, _, recs0 = ask(name, rtype, do=False)
    check(st0 == c["rcode"], "%s without DO: status %s" % (what, st0))
    dnssec_types = {"RRSIG", "NSEC", "NSEC3"}
    check(not dnssec_types & set(types(recs0)),
          "%s without DO carries %s" % (what, sorted(dnssec_types & set(types(recs0)))))
    if c["rcode"] == "NOERROR" and rtype in types(recs0):
        check(rtype in covered(recs), "%s with DO: no RRSIG covering %s in %s" %
              (what, rtype, types(recs)))
        check([r for r in recs if r[1] not in dnssec_types] == recs0,
              "%s: the DO reply's data differs from the plain one" % what)
        if "wild" in name:
            # a wildcard expansion comes with its proof (RFC 4035 3.1.3.3)
            denial = "NSEC3" if "nsec3" in name else "NSEC"
            check(denial in types(recs) and denial in covered(recs),
                  "%s with DO: no %s proof of the expansion in %s" % (what, denial, types(recs)))
    else:
        denial = "NSEC3" if "nsec3" in name or "optout" in name else "NSEC"
        check(denial in types(recs), "%s with DO: no %s proof in %s" % (what, denial, types(recs)))
        check(denial in covered(recs) and "SOA" in covered(recs),
              "%s with DO: the %s and SOA signatures missing: %s" % (what, denial, covered(recs)))


SIGNED = ["NSEC_WWW", "NSEC_WILD", "NSEC_NXDOMAIN", "NSEC_NODATA", "NSEC3_WWW", "NSEC3_WILD",
          "NSEC3_NXDOMAIN", "NSEC3_NODATA", "ED25519_WWW"]


def test_do_clients_get_signatures_and_proofs():
    for cid in SIGNED:
        check_case(cid, cached=False)


def test_both_replies_come_from_the_cache():
    for cid in SIGNED:
        check_case(cid, cached=True)


def test_unsigned_zone_has_nothing_to_add():
    c = cases["INSECURE_WWW"]
    st, _, recs = ask(c["name"], c["type"], do=True)
    check(st == "NOERROR" and "RRSIG" not in types(recs), "insecure zone: %s %s" % (st, recs))


def test_asking_for_rrsig_without_do_gets_them():
    st, _, recs = ask("www.nsec.sig.", "RRSIG", do=False)
    check(st == "NOERROR" and "RRSIG" in types(recs), "RRSIG query without DO: %s %s" %
          (st, types(recs)))


def main():
    global res, PORT
    lab_mod.start_lab()
    lab = lab_mod.env
    failed = 1
    try:
        for c in lab["cases"]:
            cases[c["id"]] = c
        PORT = free_port()
        conf = "\n".join(["listen = 127.0.0.1:%d" % PORT, 'user = ""', "workers = 1",
                          "root-hints = %s" % lab["LAB_ROOT_HINTS"], "query-loopback = yes",
                          ""])
        res = Daemon("duet-resolver", conf).start()
        try:
            failed = run(test_do_clients_get_signatures_and_proofs,
                         test_both_replies_come_from_the_cache, test_unsigned_zone_has_nothing_to_add,
                         test_asking_for_rrsig_without_do_gets_them, exit=False)
        finally:
            res.close()
    finally:
        lab_mod.stop_lab()
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
