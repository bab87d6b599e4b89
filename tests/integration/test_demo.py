"""README's run command, scripts/demo.sh, as a test (it runs in its own network namespace
with the lab, both daemons, headless Chromium, curl and dig): the browser's page loads with
the lab CA trusted and its screenshot is a PNG; curl's first attempt over IPv6 is served;
with the daemons' flow trace on, duet-trace's ladder shows the Chromium visit (the DNS walk
root -> TLD -> authoritative with QNAME minimisation, TCP, TLS, HTTP, teardown) and the
curl visit (DNS over IPv4 joined to the connection over IPv6), the JSON lines parse and join
DNS and HTTP under one visit id per client, and the SVG is well-formed with the six lanes.
ctest-timeout: 400"""
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

from harness import BUILD, SRC, check, run, skip

LANES = ["client", "resolver", "root", "TLD", "authoritative", "origin"]

if os.geteuid() != 0:
    skip("the demo needs root (a network namespace, ports 53 and 443)")
for prog in ("ip", "nsd", "chromium", "certutil", "curl", "dig"):
    if shutil.which(prog) is None:
        skip("%s is not installed (scripts/setup.sh installs it)" % prog)

out_dir = None


def visits(ladder):
    """The ladder's visit blocks: {header line: [lines]}."""
    blocks, cur = [], None
    for line in ladder:
        if line.startswith("visit v"):
            cur = [line]
            blocks.append(cur)
        elif cur is not None:
            cur.append(line)
    return blocks


def in_order(lines, texts, what):
    at = 0
    for t in texts:
        found = next((i for i in range(at, len(lines)) if t in lines[i]), None)
        check(found is not None, "%s: %r not found after line %d:\n%s" % (
            what, t, at, "\n".join(lines)))
        at = found + 1


def test_demo():
    global out_dir
    env = dict(os.environ, DUET_BUILD=BUILD)
    r = subprocess.run(["bash", os.path.join(SRC, "scripts", "demo.sh")], capture_output=True,
                       text=True, timeout=360, env=env)
    m = re.search(r"kept in (/tmp/duet-demo-out\.\w+):", r.stdout)
    out_dir = m.group(1) if m else None
    check(r.returncode == 0, "demo.sh exit %d:\n%s\n%s" % (r.returncode, r.stdout[-3000:],
                                                          r.stderr[-3000:]))
    lines = r.stdout.splitlines()
    check(out_dir, "no output directory printed")

    # the browser and its screenshot
    check(any("the page loaded over HTTPS with the certificate verified" in l for l in lines),
          "Chromium did not load the page:\n" + r.stdout)
    shot = os.path.join(out_dir, "www.site1.test.png")
    with open(shot, "rb") as f:
        check(f.read(8) == b"\x89PNG\r\n\x1a\n", "the screenshot is not a PNG")
    # both families served; curl's IPv6 attempt connects
    check(any("listening on [::1]:443" in l for l in lines), "no [::1]:443 listener")
    check(any("Connected to site1.test (::1) port 443" in l for l in lines), "curl over ::1")

    # the ladder
    ladder = [l[3:] for l in lines[lines.index(next(l for l in lines if l.startswith("== 9."))):]]
    blocks = visits(ladder)
    browser = next((b for b in blocks if "names www.site1.test" in b[0]), None)
    check(browser is not None, "no visit for www.site1.test:\n" + "\n".join(ladder))
    # Chromium asks A and HTTPS (and maybe AAAA) at once: whichever resolution walks first,
    # the walk root -> test. -> site1.test. with minimised names is in the visit, in order.
    in_order(browser, ["-- DNS", "test. A? (QNAME minimised)", "referral",
                       "site1.test. A? (QNAME minimised)", "referral", "www.site1.test. ",
                       "answer www.site1.test A NOERROR"], "browser DNS")
    for text in ("query www.site1.test A  [", "answer (1 RR, AA)"):
        check(any(text in l for l in browser), "browser DNS: %r missing" % text)
    check(any(l.endswith("cache miss: www.site1.test A") for l in browser), "A cache miss")
    in_order(browser, ["-- TCP", "SYN", "SYN-ACK", "ACK: connection accepted",
                       "socket options", "-- TLS", "ClientHello SNI www.site1.test",
                       "ServerHello, Certificate", "Finished: full handshake", "-- HTTP",
                       "GET /", "200", "-- teardown", "FIN (client closes first)", "ACK, FIN",
                       "TIME_WAIT on the client"], "browser connection")
    curl = next((b for b in blocks if "names site1.test" in b[0]), None)
    check(curl is not None and "127.0.0.1 + ::1" in curl[0],
          "no curl visit joining IPv4 DNS and the IPv6 connection:\n" + "\n".join(ladder))
    in_order(curl, ["query site1.test A", "site1.test. A?", "answer site1.test A NOERROR",
                    "-> [::1]:443, TLS listener", "ClientHello SNI site1.test", "GET /", "200",
                    "FIN (client closes first)"], "curl visit")

    # the JSON lines: DNS and HTTP joined under one visit per client
    paths = [l.split(": ")[-1].strip() for l in lines if "JSON lines" in l or "diagram" in l]
    check(len(paths) == 2, "JSON and SVG paths: %s" % paths)
    with open(paths[0]) as f:
        evs = [json.loads(l) for l in f]
    by = {}
    for e in evs:
        by.setdefault(e["visit"], set()).add(e["ev"])
    joined = [v for v, s in by.items() if {"dns.query", "dns.send", "tcp.accept", "tls.done",
                                           "http.request", "tcp.close"} <= s]
    check(len(joined) >= 2, "visits joining DNS to HTTP: %s" % by)

    # the SVG
    root = ET.parse(paths[1]).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    lanes = [t.text for t in root.iter(ns + "text") if t.get("class") == "lanename"]
    check(lanes[:6] == LANES, lanes)
    check(sum(1 for g in root.iter(ns + "g") if g.get("class") == "msg") > 20, "arrows")


def cleanup():
    if out_dir and out_dir.startswith("/tmp/duet-demo-out."):
        shutil.rmtree(out_dir, ignore_errors=True)


if __name__ == "__main__":
    try:
        failed = run(test_demo, exit=False)
    finally:
        cleanup()
    raise SystemExit(1 if failed else 0)
