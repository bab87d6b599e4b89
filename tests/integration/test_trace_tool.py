"""tools/duet-trace on the synthetic trace tests/integration/data/trace-sample.jsonl (one visit:
a cold-cache A+AAAA lookup of www.site1.test walking root -> test. -> site1.test., a TCP
accept, a full TLS 1.3 handshake, two HTTP requests on one connection, a server-first close
with TIME_WAIT on the server) and on malformed and edge-case input: the ladder's lines and
their order and lanes, the JSON join, the SVG's lanes and arrows."""
import json
import os
import subprocess
import tempfile
import xml.etree.ElementTree as ET

from harness import SRC, check, run

TOOL = os.path.join(SRC, "tools", "duet-trace")
SAMPLE = os.path.join(SRC, "tests", "integration", "data", "trace-sample.jsonl")
SVGNS = "{http://www.w3.org/2000/svg}"
COL = 13  # the ladder's lane width
LANES = ("client", "resolver", "root", "TLD", "authoritative", "origin")


def tool(*args, ok=True):
    r = subprocess.run(["python3", TOOL] + list(args), capture_output=True, text=True,
                       timeout=30)
    if ok:
        check(r.returncode == 0, "duet-trace %s: exit %d: %s" % (args[0], r.returncode,
                                                                 r.stderr))
    return r


def write(lines):
    fd, path = tempfile.mkstemp(suffix=".jsonl")
    with os.fdopen(fd, "w") as f:
        for line in lines:
            f.write((line if isinstance(line, str) else json.dumps(line)) + "\n")
    return path


def sample_split():
    """The sample as the two daemons write it: one file each."""
    with open(SAMPLE) as f:
        events = [json.loads(l) for l in f if l.strip()]
    return (write([e for e in events if e["d"] == "resolver"]),
            write([e for e in events if e["d"] == "origin"]), events)


def arrow_span(line):
    """The lanes (first, last) an arrow in a ladder line spans, from its columns."""
    cells = line[12:12 + COL * (len(LANES) - 1) + COL // 2 + 1]
    marks = [i for i, c in enumerate(cells) if c in "<>x"]
    dashes = [i for i, c in enumerate(cells) if c in "-."]
    if not marks or not dashes:
        return None
    return (LANES[(min(dashes) - 1) // COL], LANES[(max(dashes) + 1) // COL])


def test_ladder_sample():
    out = tool("ladder", SAMPLE).stdout
    lines = out.splitlines()
    expected = [  # (text, lanes the arrow spans or None for a step)
        ("visit v1  client 127.0.0.1  names www.site1.test", None),
        ("query www.site1.test A  [id 4101, UDP", ("client", "resolver")),
        ("cache miss: www.site1.test A", None),
        ("query www.site1.test AAAA", ("client", "resolver")),
        ("test. A? (QNAME minimised)  [to 127.53.0.1, zone ., for www.site1.test. "
         "(resolution 17)]", ("resolver", "root")),
        ("referral (1 NS)  [rtt <1 ms, 127.53.0.1", ("resolver", "root")),
        ("site1.test. A? (QNAME minimised)  [to 127.53.1.1, zone test.,", ("resolver", "TLD")),
        ("referral (1 NS)  [rtt <1 ms, 127.53.1.1", ("resolver", "TLD")),
        ("www.site1.test. A?  [to 127.53.10.1, zone site1.test.,",
         ("resolver", "authoritative")),
        ("answer (1 RR, AA)  [rtt 1 ms", ("resolver", "authoritative")),
        ("answer www.site1.test A NOERROR  [48 bytes, 1.46 ms after the query, DNSSEC insecure]",
         ("client", "resolver")),
        ("www.site1.test. AAAA?  [to 127.53.10.1", ("resolver", "authoritative")),
        ("answer www.site1.test AAAA NOERROR", ("client", "resolver")),
        ("SYN  [port 51844 -> 127.0.0.1:443, TLS listener]", ("client", "origin")),
        ("SYN-ACK", ("client", "origin")),
        ("ACK: connection accepted  [handshake RTT 52 us, 0 retransmits", ("client", "origin")),
        ("socket options  [fin_timeout 60s, linger off, keepalive idle default", None),
        ("ClientHello SNI www.site1.test  [ALPN chosen: http/1.1]", ("client", "origin")),
        ("ServerHello, Certificate, CertificateVerify, Finished  [TLSv1.3, "
         "TLS_AES_256_GCM_SHA384, X25519]", ("client", "origin")),
        ("Finished: full handshake TLSv1.3  [2.14 ms since accept]", ("client", "origin")),
        ("GET /  [request 1 on the connection, site site1]", ("client", "origin")),
        ("200  [660 bytes", ("client", "origin")),
        ("GET /favicon.ico  [request 2", ("client", "origin")),
        ("404  [939 bytes", ("client", "origin")),
        ("FIN (server closes first)  [state FIN_WAIT1, 2 requests", ("client", "origin")),
        ("ACK, FIN", ("client", "origin")),
        ("TIME_WAIT on the server (60 s)", None),
    ]
    at = 0
    for text, lanes in expected:
        found = next((i for i in range(at, len(lines)) if text in lines[i]), None)
        check(found is not None, "ladder: %r not found after line %d:\n%s" % (text, at, out))
        if lanes:
            check(arrow_span(lines[found]) == lanes,
                  "ladder: %r spans %s, not %s" % (lines[found], arrow_span(lines[found]), lanes))
        at = found + 1
    # the direction of the arrows: questions go right, replies come back left
    q = next(l for l in lines if "test. A? (QNAME" in l)
    r = next(l for l in lines if "referral (1 NS)  [rtt <1 ms, 127.53.0.1" in l)
    check(">" in q and "<" not in q[:90] and "<" in r, "arrow directions:\n%s\n%s" % (q, r))
    for phase in ("DNS", "TCP", "TLS", "HTTP", "teardown"):
        check(("-- " + phase) in out, "phase %s missing" % phase)


def test_json_joins_two_files():
    res, orig, events = sample_split()
    try:
        r = tool("json", res, orig)
        got = [json.loads(l) for l in r.stdout.splitlines()]
        check(len(got) == len(events), "%d of %d events" % (len(got), len(events)))
        check({e["visit"] for e in got} == {"v1"}, "visits %s" % {e["visit"] for e in got})
        evs = [e["ev"] for e in got]
        check("dns.query" in evs and "http.request" in evs and "tcp.close" in evs, evs)
        sends = [e for e in got if e["ev"] in ("dns.send", "dns.reply")]
        check(len(sends) == 8 and all(e["client"] == "" for e in sends), sends)
        check(all("_who" not in e for e in got), "internal key leaked")
        ts = [e["t"] for e in got]
        check(ts == sorted(ts), "events not in time order")
        check(r.stderr == "", r.stderr)
    finally:
        os.unlink(res)
        os.unlink(orig)


def test_join_dual_stack_and_second_client():
    """A browser that asked over IPv4 and connects over IPv6 is one visit; another client is
    another visit; the same client after a pause longer than --gap is a new visit."""
    base = 1800000000.0
    evs = [
        {"t": base, "d": "resolver", "w": 0, "ev": "dns.query", "client": "127.0.0.1",
         "port": 5000, "tcp": False, "id": 1, "qname": "www.site1.test.", "qtype": 28},
        {"t": base + 0.001, "d": "resolver", "w": 0, "ev": "dns.answer", "client": "127.0.0.1",
         "id": 1, "qname": "www.site1.test.", "qtype": 28, "rcode": 0, "ms": 1},
        {"t": base + 0.002, "d": "origin", "w": 0, "ev": "tcp.accept", "client": "::1",
         "port": 6000, "local": "[::1]:443", "rtt_us": 30},
        {"t": base + 0.003, "d": "origin", "w": 0, "ev": "tls.done", "client": "::1",
         "port": 6000, "sni": "www.site1.test", "alpn": "http/1.1", "version": "TLSv1.3",
         "resumed": False, "ms": 1.0},
        {"t": base + 4.0, "d": "origin", "w": 0, "ev": "tcp.close", "client": "::1",
         "port": 6000, "by": "client", "how": "fin", "time_wait": "client"},
        {"t": base + 0.5, "d": "resolver", "w": 1, "ev": "dns.query", "client": "127.0.0.2",
         "port": 5001, "id": 2, "qname": "site1.test.", "qtype": 1},
        # upstream events: no client; resolution 5 is for 127.0.0.2's question (open), and
        # its sub-resolution 6 (an NS address) too, though 127.0.0.1 asked last
        {"t": base + 0.5005, "d": "resolver", "w": 0, "ev": "dns.query", "client": "127.0.0.1",
         "port": 5003, "id": 4, "qname": "other.test.", "qtype": 1},
        {"t": base + 0.501, "d": "resolver", "w": 1, "ev": "dns.send", "client": "", "res": 5,
         "for": "site1.test.", "qname": "site1.test.", "qtype": 1, "server": "127.53.10.1",
         "zone": "site1.test."},
        {"t": base + 0.502, "d": "resolver", "w": 1, "ev": "dns.reply", "client": "", "res": 5,
         "server": "127.53.10.1", "zone": "site1.test.", "rtt_ms": 1, "outcome": "reply",
         "kind": "answer", "an": 1},
        {"t": base + 0.503, "d": "resolver", "w": 1, "ev": "dns.send", "client": "", "res": 6,
         "for": "ns1.other.test.", "qname": "ns1.other.test.", "qtype": 1,
         "server": "127.53.1.1", "zone": "test."},
        {"t": base + 0.504, "d": "resolver", "w": 1, "ev": "dns.answer",
         "client": "127.0.0.2", "id": 2, "qname": "site1.test.", "qtype": 1, "rcode": 0},
        {"t": base + 10, "d": "resolver", "w": 1, "ev": "dns.query",
         "client": "::ffff:127.0.0.1", "port": 5002, "id": 3, "qname": "site1.test.",
         "qtype": 1},
    ]
    path = write(evs)
    try:
        got = [json.loads(l) for l in tool("json", path).stdout.splitlines()]
        by = {(e["client"], e.get("port") or e.get("res")): e["visit"] for e in got}
        check(by[("127.0.0.1", 5000)] == "v1" and by[("::1", 6000)] == "v1", by)
        check(by[("127.0.0.2", 5001)] == "v2" and by[("", 5)] == "v2", by)
        check(by[("127.0.0.1", 5003)] == "v2" or by[("127.0.0.1", 5003)] == "v1", by)
        check(by[("", 6)] == by[("127.0.0.1", 5003)], "sub-resolution: %s" % by)
        check(by[("::ffff:127.0.0.1", 5002)] == "v3", by)
        out = tool("ladder", path).stdout
        check("client 127.0.0.1 + ::1" in out, out)
        check("FIN (client closes first)" in out and "TIME_WAIT on the client" in out, out)
    finally:
        os.unlink(path)


def test_edge_cases_in_ladder():
    """A timeout, TC -> TCP, NXDOMAIN, a resumed handshake, an RST close."""
    base = 1800000000.0
    ev = lambda dt, name, **kw: dict({"t": base + dt, "d": "resolver" if name.startswith(
        "dns") else "origin", "w": 0, "ev": name, "client": "127.0.0.9"}, **kw)
    up = lambda dt, name, **kw: dict(ev(dt, name, **kw), client="", **{"for": "big.example."})
    path = write([
        ev(0, "dns.query", port=1, id=7, qname="big.example.", qtype=16, tcp=False),
        up(0.001, "dns.send", res=1, qname="big.example.", qtype=16, server="127.53.2.9",
           zone="example.", tcp=False),
        up(0.401, "dns.reply", res=1, server="127.53.2.9", zone="example.", rtt_ms=400,
           outcome="timeout", kind="timeout"),
        up(0.402, "dns.send", res=1, qname="big.example.", qtype=16, server="127.53.2.1",
           zone="example.", tcp=False),
        up(0.403, "dns.reply", res=1, server="127.53.2.1", zone="example.", rtt_ms=1,
           outcome="reply", rcode=0, tc=True, an=0, ns=0, kind="truncated"),
        up(0.404, "dns.send", res=1, qname="big.example.", qtype=16, server="127.53.2.1",
           zone="example.", tcp=True),
        up(0.406, "dns.reply", res=1, server="127.53.2.1", zone="example.", rtt_ms=2,
           outcome="reply", rcode=3, tc=False, an=0, ns=1, kind="nxdomain"),
        ev(0.407, "dns.answer", id=7, qname="big.example.", qtype=16, rcode=3, ad=False,
           bytes=90, ms=407, stale=False, dnssec="insecure"),
        ev(0.5, "tcp.accept", port=9, local="127.0.0.1:443", rtt_us=20, retrans=1),
        ev(0.501, "tls.done", port=9, sni="big.example", alpn="http/1.1", version="TLSv1.3",
           cipher="TLS_AES_128_GCM_SHA256", group="X25519", resumed=True, ms=0.4),
        ev(0.6, "tcp.close", port=9, by="server", how="rst", state="ESTABLISHED",
           time_wait="none"),
        "not json at all",
    ])
    try:
        r = tool("ladder", path)
        out = r.stdout
        check(out.count("visit v") == 1, "one visit:\n" + out)
        for text in ("big.example. TXT?", "timeout after 400 ms", "TLD",
                     "truncated (TC) -> retry over TCP", "zone example., TCP,", "NXDOMAIN",
                     "answer big.example TXT NXDOMAIN", "1 retransmits",
                     "ServerHello, Finished", "resumed handshake", "RST (server aborts)",
                     "no TIME_WAIT"):
            check(text in out, "%r missing:\n%s" % (text, out))
        lost = next(l for l in out.splitlines() if "timeout after" in l)
        check("x" in lost[12:12 + COL * 5 + COL // 2] and "." in lost, lost)
        check("TLD" in arrow_span(lost), lost)
        check("skipped 1 bad line" in r.stderr, r.stderr)
    finally:
        os.unlink(path)


def test_malformed_input_is_skipped():
    with open(SAMPLE) as f:
        good = [l.rstrip("\n") for l in f if l.strip()]
    bad = ["{", "[1,2,3]", '"a string"', '{"ev":"dns.query"}', '{"t":"soon","ev":"x"}',
           '{"t":1,"ev":5}', '{"t":true,"ev":"dns.query"}', "\x00\x01\x02", good[3][:40],
           '{"t":1800000000.5,"ev":"dns.query","client":7,"qname":["x"],"qtype":"weird"}']
    path = write(good[:5] + bad + good[5:])
    with open(path, "ab") as f:
        f.write(b"\xff\xfe{not utf8}\n")
    try:
        for mode in ("ladder", "json"):
            r = tool(mode, path)
            check("skipped 10 bad lines" in r.stderr, r.stderr)  # the client 7 line is kept
            check("Traceback" not in r.stderr, r.stderr)
        check("TIME_WAIT on the server" in tool("ladder", path).stdout, "sample lost")
        r = tool("svg", path, "-o", path + ".svg")
        check("skipped 10 bad lines" in r.stderr, r.stderr)
        ET.parse(path + ".svg")
        os.unlink(path + ".svg")
        empty = write([])
        r = tool("ladder", empty)
        check(r.stdout == "" and r.stderr == "", r.stdout + r.stderr)
        os.unlink(empty)
        r = tool("ladder", "/nonexistent/trace.jsonl", ok=False)
        check(r.returncode == 2 and "cannot open /nonexistent/trace.jsonl" in r.stderr,
              r.stderr)
        r = tool("svg", SAMPLE, ok=False)
        check(r.returncode == 2 and "-o" in r.stderr, r.stderr)
    finally:
        os.unlink(path)


def test_svg_sample():
    fd, out = tempfile.mkstemp(suffix=".svg")
    os.close(fd)
    try:
        tool("svg", SAMPLE, "-o", out)
        root = ET.parse(out).getroot()
        check(root.tag == SVGNS + "svg", root.tag)
        texts = [t.text or "" for t in root.iter(SVGNS + "text")]
        lanes = [t.text for t in root.iter(SVGNS + "text") if t.get("class") == "lanename"]
        check(lanes == list(LANES), lanes)
        msgs = [g for g in root.iter(SVGNS + "g") if g.get("class") == "msg"]
        # DNS: A query, 3 sends, 3 replies, answer; AAAA query, send, reply, answer.
        # TCP: SYN, SYN-ACK, ACK; TLS: ClientHello, server flight, Finished; HTTP: 2 x 2;
        # teardown: FIN, ACK+FIN, ACK.
        check(len(msgs) == 8 + 4 + 3 + 3 + 4 + 3, "%d arrows" % len(msgs))
        for g in msgs:
            line = g.find(SVGNS + "line")
            label = g.find(SVGNS + "text")
            check(line is not None and line.get("marker-end") and label is not None
                  and label.text, ET.tostring(g))
        labels = [g.find(SVGNS + "text").text for g in msgs]
        check(labels[:2] == ["query www.site1.test A", "query www.site1.test AAAA"], labels)
        check("FIN (server closes first)" in labels and "GET /favicon.ico" in labels, labels)
        for want in ("+0.000 ms", "+5.032 s", "TIME_WAIT on the server (60 s)", "127.53.0.1",
                     "5.000 s later",
                     "127.0.0.1:443"):
            check(want in texts, "%r not in the SVG's text" % want)
        # the root lane's address is under the root lane, the arrow to it ends there
        x = {t.text: float(t.get("x")) for t in root.iter(SVGNS + "text")
             if t.get("class") == "lanename"}
        to_root = next(g for g in msgs if g.find(SVGNS + "text").text.startswith("test. A?"))
        l = to_root.find(SVGNS + "line")
        check(abs(float(l.get("x1")) - x["resolver"]) < 1
              and abs(float(l.get("x2")) - x["root"]) < 10, ET.tostring(l))
    finally:
        os.unlink(out)


if __name__ == "__main__":
    run(test_ladder_sample, test_json_joins_two_files, test_join_dual_stack_and_second_client,
        test_edge_cases_in_ladder, test_malformed_input_is_skipped, test_svg_sample)
