"""The signed DNS lab (tests/lab/signed.sh) checked with a validating Unbound: every name the
lab lists must get from Unbound the rcode, validation status and EDE that DIR/lab.json
expects, so duet-resolver's validator can later be pointed at the lab with the same
expectations.  secure = AD set; insecure = answer without AD; bogus = SERVFAIL (and the
EDE code, RFC 8914, that Unbound 1.17 gives with `ede: yes`, read with kdig).

Controls make the checks mean something: without a trust anchor nothing is AD; with an
anchor that matches no root key everything SERVFAILs; the DNSKEY form of the anchor
(DIR/root.dnskey) works like the DS form; and the defects are really in the lab (asked of
the authoritative servers directly: an expired RRSIG, an NXDOMAIN without NSEC).

The signed lab lives on 127.63-72.x.y, not on the unsigned lab's nets: no "dnslab" lock.
"""
import json
import re
import os
import shutil
import socket
import subprocess
import tempfile
import time

from harness import SLOW, SRC, check, free_port, run, skip

SCRIPT = os.path.join(SRC, "tests", "lab", "signed.sh")
lab_dir = None
env = None


def start_lab():
    global lab_dir, env
    lab_dir = tempfile.mkdtemp(prefix="duet-signed-lab-")
    r = subprocess.run(["bash", SCRIPT, "start", lab_dir], capture_output=True, text=True,
                       timeout=120)
    if r.returncode == 77:
        skip("signed lab prerequisites missing: " + r.stdout + r.stderr)
    if r.returncode != 0:
        stop_lab()
    check(r.returncode == 0, "signed lab start failed:\n" + r.stdout + r.stderr)
    with open(os.path.join(lab_dir, "lab.json")) as f:
        env = json.load(f)


def stop_lab():
    subprocess.run(["bash", SCRIPT, "stop", lab_dir], capture_output=True, timeout=60)


class Unbound:
    """A validating Unbound on 127.0.0.1:PORT against the signed lab, stopped by PID."""

    def __init__(self, name, anchor_lines):
        self.dir = os.path.join(lab_dir, "unbound-" + name)
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port(kind=socket.SOCK_DGRAM)
        conf = os.path.join(self.dir, "unbound.conf")
        with open(conf, "w") as f:
            f.write("""server:
    interface: 127.0.0.1@%d
    interface-automatic: no
    access-control: 127.0.0.0/8 allow
    num-threads: 1
    do-ip4: yes
    do-ip6: no
    username: ""
    chroot: ""
    directory: "%s"
    pidfile: ""
    use-syslog: no
    logfile: "%s/unbound.log"
    verbosity: 1
    root-hints: "%s"
    do-not-query-localhost: no
    module-config: "validator iterator"
%s
    ede: yes
    val-log-level: 2
    qname-minimisation: yes
    # answer every client and give up on dead servers fast (as tests/lab/unbound.sh)
    discard-timeout: 0
    infra-cache-max-rtt: 1000
    prefetch: no
remote-control:
    control-enable: no
""" % (self.port, self.dir, self.dir, env["LAB_ROOT_HINTS"],
                "\n".join("    " + line for line in anchor_lines)))
        r = subprocess.run(["unbound-checkconf", conf], capture_output=True, text=True)
        check(r.returncode == 0, "unbound-checkconf: " + r.stdout + r.stderr)
        self.stderr = open(os.path.join(self.dir, "stderr"), "w")
        self.proc = subprocess.Popen(["unbound", "-d", "-c", conf], stdin=subprocess.DEVNULL,
                                     stdout=self.stderr, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10 * SLOW
        while True:
            check(self.proc.poll() is None, "unbound exited: " + self.log())
            out = subprocess.run(["dig", "@127.0.0.1", "-p", str(self.port), "+time=1",
                                  "+tries=1", "+short", "version.server", "CH", "TXT"],
                                 capture_output=True, text=True).stdout
            if out.strip():
                break
            check(time.monotonic() < deadline, "unbound not answering: " + self.log())
            time.sleep(0.05)

    def log(self):
        out = ""
        for f in ("stderr", "unbound.log"):
            p = os.path.join(self.dir, f)
            if os.path.exists(p):
                with open(p) as fh:
                    out += fh.read()[-3000:]
        return out

    def query(self, name, rtype):
        """(rcode, flags set, EDE code or None, kdig text)"""
        r = subprocess.run(["kdig", "@127.0.0.1", "-p", str(self.port), "+dnssec", "+time=8",
                            "+retry=0", name, rtype], capture_output=True, text=True,
                           timeout=20 * SLOW)
        return parse_kdig(r.stdout)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.stderr.close()


def parse_kdig(out):
    rcode, flags, ede = None, set(), None
    for line in out.splitlines():
        if line.startswith(";; ->>HEADER<<-"):
            m = re.search(r"status: (\w+)", line)
            rcode = m.group(1) if m else None
        elif line.startswith(";; Flags:"):
            flags = set(line.split(":", 1)[1].split(";")[0].split())
        elif line.startswith(";; EDE:"):
            ede = int(line.split(":")[1].split()[0])
    return rcode, flags, ede, out


def anchor(kind="LAB_ROOT_DS"):
    return ['trust-anchor-file: "%s"' % env[kind]]


def test_lab_json_lists_every_case():
    """lab.json and lab.env carry the same cases, each with a known status."""
    cases = env["cases"]
    check(len(cases) >= 20, "only %d cases" % len(cases))
    check(env["SLAB_CASES"].split() == [c["id"] for c in cases], "lab.env and lab.json disagree")
    for c in cases:
        check(c["status"] in ("secure", "insecure", "bogus"), "status of %s" % c)
        check((c["status"] == "bogus") == (c["rcode"] == "SERVFAIL"), "rcode of %s" % c)
        check(env["SLAB_CASE_%s_NAME" % c["id"]] == c["name"], "name of %s" % c["id"])
        check(env["SLAB_CASE_%s_EDE_ALSO" % c["id"]] == (
            ",".join(map(str, c["ede_also"])) or "-"), "ede_also of %s" % c["id"])
        if c["status"] == "bogus":
            check(6 in c["ede_also"], "a bogus case allows the generic EDE 6: %s" % c)
    statuses = {c["status"] for c in cases}
    check(statuses == {"secure", "insecure", "bogus"}, "statuses %s" % statuses)


def test_root_anchor_files_name_the_root_ksk():
    """root.ds is the DS of the KSK in root.dnskey, and that key signs the root's DNSKEY."""
    with open(env["LAB_ROOT_DS"]) as f:
        ds = f.read().split()
    with open(env["LAB_ROOT_DNSKEY"]) as f:
        key = f.read().split(";")[0].split()
    check(ds[0] == "." and ds[3] == "DS" and key[0] == "." and "DNSKEY" in key,
          "anchor files: %s / %s" % (ds, key[:6]))
    key = key[key.index("DNSKEY"):]
    check(key[1] == "257", "the root anchor is not a KSK: %s" % key[:4])
    r = subprocess.run(["ldns-key2ds", "-n", "-2", env["LAB_ROOT_DNSKEY"]], capture_output=True,
                       text=True)
    check(r.stdout.split()[3:] == ds[3:], "ldns-key2ds %s != %s" % (r.stdout, ds))
    ds = ds[3:]
    out = subprocess.run(["dig", "@" + env["LAB_ROOT_ADDR"], "+norec", "+dnssec", ".", "DNSKEY"],
                         capture_output=True, text=True).stdout
    check(key[-1][:40] in out.replace(" ", ""), "root DNSKEY set: " + out)
    sigs = [line.split() for line in out.splitlines() if "\tRRSIG\tDNSKEY " in line]
    check(any(s[4:6] == ["DNSKEY", "8"] and s[10] == ds[1] for s in sigs),
          "the root DNSKEY RRset is not signed by the KSK %s:\n%s" % (ds[1], out))


def test_defects_are_in_the_lab():
    """Asked directly: expired RRSIGs end in 2020; the scripted server's NXDOMAIN has no
    NSEC while NSD's has; norrsig's www has no RRSIG but its ok name has one."""
    def ask(server, name, rtype):
        return subprocess.run(["dig", "@" + server, "+norec", "+dnssec", "+time=2", "+tries=2",
                               name, rtype], capture_output=True, text=True).stdout
    out = ask(env["LAB_AUTH_ADDR"], "www.expired.sig.", "A")
    check("RRSIG\tA 13 3 3600 2020" in out, "expired RRSIG: " + out)
    out = ask(env["LAB_NONSEC_ADDR"], "nx.nonsec.sig.", "A")
    check("NXDOMAIN" in out and "RRSIG\tSOA" in out and "NSEC" not in out, "nonsec: " + out)
    out = ask(env["LAB_AUTH_ADDR"], "nx.nsec.sig.", "A")
    check("NXDOMAIN" in out and "\tNSEC\t" in out, "nsec: " + out)
    out = ask(env["LAB_AUTH_ADDR"], "nx.nsec3iter.sig.", "A")
    check("NSEC3 1 0 200 BEEF" in out.upper().replace("\t", " "), "nsec3iter: " + out)
    out = ask(env["LAB_AUTH_ADDR"], "www.norrsig.sig.", "A")
    check("127.0.0.1" in out and not re.search(r"^www\.norrsig\.sig\.\s.*\sRRSIG\s", out, re.M),
          "norrsig www: " + out)
    out = ask(env["LAB_AUTH_ADDR"], "ok.norrsig.sig.", "A")
    check("RRSIG\tA" in out, "norrsig ok: " + out)
    out = ask(env["LAB_TLD_ADDR"], "insecure.sig.", "DS")
    check("NOERROR" in out and "\tDS\t" not in out and "\tNSEC\t" in out, "insecure DS: " + out)


def expect_cases(ub, cases, cached=False):
    """Each case's rcode, AD and EDE.  cached: Unbound 1.17 answers a bogus message from its
    cache with the generic EDE 6 (DNSSEC Bogus) instead of the specific code it gave first."""
    bad = []
    for c in cases:
        rcode, flags, ede, out = ub.query(c["name"], c["type"])
        want_ad = c["status"] == "secure"
        problems = []
        if rcode != c["rcode"]:
            problems.append("rcode %s, want %s" % (rcode, c["rcode"]))
        if ("ad" in flags) != want_ad:
            problems.append("AD %s, want %s" % ("ad" in flags, want_ad))
        # ede_also lists codes another validator may give instead; Unbound gives "ede"
        if ede != c["ede"] and not (cached and 6 in c["ede_also"] and ede == 6):
            problems.append("EDE %s, want %s" % (ede, c["ede"]))
        if problems:
            bad.append("%s %s %s (%s): %s\n%s" % (c["id"], c["name"], c["type"], c["status"],
                                                  "; ".join(problems), out[:1500]))
    check(not bad, "%d of %d cases differ:\n%s" % (len(bad), len(cases), "\n".join(bad)))


def test_unbound_validates_every_case_with_the_ds_anchor():
    ub = Unbound("ds", anchor())
    try:
        expect_cases(ub, env["cases"])
        # again, from Unbound's cache: the same verdicts
        expect_cases(ub, env["cases"], cached=True)
    finally:
        ub.stop()


def test_unbound_validates_with_the_dnskey_anchor():
    ub = Unbound("dnskey", anchor("LAB_ROOT_DNSKEY"))
    try:
        expect_cases(ub, [c for c in env["cases"]
                          if c["id"] in ("NSEC_WWW", "NSEC3_NXDOMAIN", "INSECURE_WWW",
                                         "EXPIRED_WWW", "ED25519_WWW")])
    finally:
        ub.stop()


def test_without_an_anchor_nothing_is_secure():
    """The control for AD: with no trust anchor Unbound's validator marks nothing secure."""
    ub = Unbound("none", [])
    try:
        for c in env["cases"][:6]:
            rcode, flags, _, out = ub.query(c["name"], c["type"])
            check("ad" not in flags, "AD without an anchor: " + out)
    finally:
        ub.stop()


def test_a_wrong_anchor_makes_everything_bogus():
    """The control for bogus: an anchor that matches no root key SERVFAILs even secure names."""
    with open(env["LAB_ROOT_DS"]) as f:
        ds = f.read().split()
    digest = ds[-1]
    ds[-1] = ("0" if digest[0] != "0" else "1") + digest[1:]
    path = os.path.join(lab_dir, "wrong.ds")
    with open(path, "w") as f:
        f.write(" ".join(ds) + "\n")
    ub = Unbound("wrong", ['trust-anchor-file: "%s"' % path])
    try:
        rcode, flags, ede, out = ub.query("www.nsec.sig.", "A")
        check(rcode == "SERVFAIL" and ede is not None, "wrong anchor: " + out)
    finally:
        ub.stop()


def main():
    for tool in ("nsd", "unbound", "kdig", "dig", "ldns-signzone", "ldns-key2ds"):
        if shutil.which(tool) is None:
            skip(tool + " is not installed (scripts/setup.sh installs it)")
    if os.geteuid() != 0:
        skip("the signed lab needs root (NSD binds port 53 on 127.63.x.y)")
    start_lab()
    try:
        failed = run(test_lab_json_lists_every_case, test_root_anchor_files_name_the_root_ksk,
                     test_defects_are_in_the_lab,
                     test_unbound_validates_every_case_with_the_ds_anchor,
                     test_unbound_validates_with_the_dnskey_anchor,
                     test_without_an_anchor_nothing_is_secure,
                     test_a_wrong_anchor_makes_everything_bogus, exit=False)
    finally:
        stop_lab()
    if failed == 0:
        shutil.rmtree(lab_dir, ignore_errors=True)
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
