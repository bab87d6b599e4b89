"""duet-origin's TLS seen by openssl s_client and Python's ssl: TLS 1.2 and 1.3, TLS 1.1
refused, ALPN http/1.1 (and the alert for a client that offers only h2), session resumption
by ticket and by session ID, ECDSA or RSA certificate of one site chosen by the client's
signature algorithms, SNI choosing the site's certificate, and a client that never sends a
ClientHello being closed after handshake-timeout."""
import os
import re
import ssl
import time

from harness import SLOW, check
from origin_util import Conn, Origin, main, need, s_client

REQ = b"GET / HTTP/1.1\r\nHost: site1.test\r\nConnection: close\r\n\r\n"
HANDSHAKE_TIMEOUT = 1.0

o = Origin(top="handshake-timeout = %dms" % (HANDSHAKE_TIMEOUT * 1000), rsa=True)


def field(out, name):
    """The value of s_client's "name: value" / "name = value" line, stripped."""
    m = re.search(r"^\s*%s\s*[:=]\s*(.*)$" % re.escape(name), out, re.M)
    return m.group(1).strip() if m else None


def test_tls12_and_tls13():
    for flag, version in (("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")):
        rc, out = s_client(o, [flag], request=REQ)
        check(rc == 0, "%s: exit %d\n%s" % (flag, rc, out))
        check("New, %s, Cipher is" % version in out, "%s: not %s\n%s" % (flag, version, out))
        check(field(out, "Verify return code") == "0 (ok)", out)
        check("HTTP/1.1 200 OK" in out and "<h1>site1</h1>" in out, out)


def test_tls11_refused():
    # SECLEVEL=0 lets this OpenSSL offer TLS 1.1 at all, so the refusal is the server's.
    rc, out = s_client(o, ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"], request=REQ)
    check(rc != 0, "TLS 1.1 accepted:\n" + out)
    check("alert protocol version" in out, "no protocol_version alert from the server:\n" + out)
    check("HTTP/1.1" not in out, out)


def test_alpn():
    rc, out = s_client(o, ["-alpn", "http/1.1"], request=REQ)
    check(rc == 0 and "ALPN protocol: http/1.1" in out, out)
    rc, out = s_client(o, ["-alpn", "h2,http/1.1"], request=REQ)
    check(rc == 0 and "ALPN protocol: http/1.1" in out, out)
    # Only protocols we do not speak: RFC 7301 §3.2's no_application_protocol alert.
    rc, out = s_client(o, ["-alpn", "h2"], request=REQ)
    check(rc != 0 and "no application protocol" in out, out)
    c = Conn(o.port, ca=o.ca, alpn=["h2", "http/1.1"])
    try:
        check(c.sock.selected_alpn_protocol() == "http/1.1", c.sock.selected_alpn_protocol())
        check(c.request("/").status == 200, "request after ALPN")
    finally:
        c.close()


def resumed_lines():
    return len(re.findall(r"tls=TLSv1\.[23] resumed=yes", o.stderr()))


def test_resumption():
    cases = (("-tls1_2", [], "TLSv1.2"),                # session ticket
             ("-tls1_2", ["-no_ticket"], "TLSv1.2"),   # session ID, server-side cache
             ("-tls1_3", [], "TLSv1.3"))
    for flag, extra, version in cases:
        sess = os.path.join(o.dir, "sess%s%s" % (flag, "".join(extra)))
        rc, out = s_client(o, [flag, "-sess_out", sess] + extra, request=REQ)
        check(rc == 0 and "New, %s" % version in out, "%s %s first:\n%s" % (flag, extra, out))
        check(os.path.getsize(sess) > 0, "no session saved")
        before = resumed_lines()
        for _ in range(2):  # two workers: whichever takes it must resume
            rc, out = s_client(o, [flag, "-sess_in", sess] + extra, request=REQ)
            check(rc == 0, out)
            check("Reused, %s" % version in out, "%s %s not resumed:\n%s" % (flag, extra, out))
            check("HTTP/1.1 200 OK" in out, out)
        check(resumed_lines() >= before + 2, "access log does not say resumed=yes")


REQ2 = REQ.replace(b"site1.test", b"site2.test")
SITES = (("site1.test", REQ, b"<h1>site1</h1>"), ("site2.test", REQ2, b"<h1>site2</h1>"))
RESUME_CASES = (("-tls1_2", [], "TLSv1.2"),               # session ticket
                ("-tls1_2", ["-no_ticket"], "TLSv1.2"),  # session ID, server-side cache
                ("-tls1_3", [], "TLSv1.3"))


def test_session_does_not_cross_sites():
    # RFC 6066 §3: a session from one site must not resume under another name (TLS 1.2, by
    # ticket or session ID); and in TLS 1.3 a PSK from site A must not serve site B either.
    for flag, extra, version in RESUME_CASES:
        for (name_a, req_a, body_a), (name_b, req_b, body_b) in (SITES, SITES[::-1]):
            what = "%s %s %s->%s" % (flag, " ".join(extra), name_a, name_b)
            sess = os.path.join(o.dir, "x%s%s-%s" % (flag, "".join(extra), name_a))
            rc, out = s_client(o, [flag, "-sess_out", sess] + extra, request=req_a,
                               servername=name_a)
            check(rc == 0 and "New, %s" % version in out, "%s first:\n%s" % (what, out))
            # The same site still resumes (so the refusal below is about the name).
            rc, out = s_client(o, [flag, "-sess_in", sess] + extra, request=req_a,
                               servername=name_a)
            check(rc == 0 and "Reused, %s" % version in out,
                  "%s: not resumed under its own name:\n%s" % (what, out))
            rc, out = s_client(o, [flag, "-sess_in", sess] + extra, request=req_b,
                               servername=name_b)
            check("Reused," not in out, "%s: resumed under another name:\n%s" % (what, out))
            check(rc == 0 and "New, %s" % version in out, "%s: no full handshake:\n%s" %
                  (what, out))
            check(body_b.decode() in out and body_a.decode() not in out, what + ":\n" + out)


def test_tls13_resumption_chain():
    # A TLS 1.3 client uses a ticket once: the server must issue a fresh ticket on every
    # resumed handshake, or every other reconnect is a full handshake.
    prev = os.path.join(o.dir, "chain0")
    rc, out = s_client(o, ["-tls1_3", "-sess_out", prev], request=REQ)
    check(rc == 0 and "New, TLSv1.3" in out, out)
    for i in range(1, 6):
        nxt = os.path.join(o.dir, "chain%d" % i)
        rc, out = s_client(o, ["-tls1_3", "-sess_in", prev, "-sess_out", nxt], request=REQ)
        check(rc == 0 and "Reused, TLSv1.3" in out, "reconnect %d not resumed:\n%s" % (i, out))
        check(os.path.exists(nxt) and os.path.getsize(nxt) > 0,
              "reconnect %d: no new session ticket after a resumed handshake" % i)
        check(open(nxt, "rb").read() != open(prev, "rb").read(),
              "reconnect %d: the session saved is the one used" % i)
        prev = nxt


def cipher_of(out):
    m = re.search(r"Cipher is (\S+)", out)
    return m.group(1) if m else None


def test_tls12_server_cipher_preference():
    # The server's order (AES128-GCM, AES256-GCM, CHACHA20) wins over the client's: offered in
    # reverse, AES128 is still chosen. A client that lists CHACHA20 first says it lacks AES
    # hardware and gets it (SSL_OP_PRIORITIZE_CHACHA).
    cases = (("ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256",
              "ECDHE-ECDSA-AES128-GCM-SHA256"),
             ("ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
              "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"),
             ("ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384:"
              "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"))
    for offer, want in cases:
        rc, out = s_client(o, ["-tls1_2", "-cipher", offer, "-sigalgs", "ECDSA+SHA256"],
                           request=REQ)
        check(rc == 0 and "HTTP/1.1 200 OK" in out, out)
        check(cipher_of(out) == want, "offered %s, got %s, want %s" %
              (offer, cipher_of(out), want))

def test_tls13_server_cipher_preference():
    # TLS 1.3 in the same order (Mozilla's): AES128-GCM before AES256-GCM whatever the client
    # lists first (OpenSSL clients list AES256 first; browsers already ask for AES128), and
    # CHACHA20 for a client that puts it first.
    a128, a256, chacha = "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", \
        "TLS_CHACHA20_POLY1305_SHA256"
    cases = ((":".join((a256, a128)), a128),
             (":".join((a256, chacha, a128)), a128),
             (":".join((chacha, a256, a128)), chacha),
             (a256, a256))
    for offer, want in cases:
        rc, out = s_client(o, ["-tls1_3", "-ciphersuites", offer], request=REQ)
        check(rc == 0 and "HTTP/1.1 200 OK" in out, out)
        check(cipher_of(out) == want, "offered %s, got %s, want %s" %
              (offer, cipher_of(out), want))


def test_ecdsa_or_rsa_by_sigalgs():
    for flag in ("-tls1_2", "-tls1_3"):
        rc, out = s_client(o, [flag, "-sigalgs", "ECDSA+SHA256"], request=REQ)
        check(rc == 0, out)
        check(field(out, "subject") == "O = duet-ecdsa, CN = site1.test", out)
        check(field(out, "Peer signature type") == "ECDSA", out)
        rc, out = s_client(o, [flag, "-sigalgs", "RSA-PSS+SHA256:RSA+SHA256"], request=REQ)
        check(rc == 0, out)
        check(field(out, "subject") == "O = duet-rsa, CN = site1.test", "%s:\n%s" % (flag, out))
        check(field(out, "Peer signature type") == "RSA-PSS", out)
        check("HTTP/1.1 200 OK" in out, out)


def test_sni_picks_certificate():
    req2 = REQ.replace(b"site1.test", b"site2.test")
    rc, out = s_client(o, [], request=req2, servername="site2.test")
    check(rc == 0 and field(out, "subject") == "O = duet-ecdsa, CN = site2.test", out)
    check("<h1>site2</h1>" in out, out)
    rc, out = s_client(o, [], request=REQ, servername="www.site1.test")
    check(rc == 0 and field(out, "subject") == "O = duet-ecdsa, CN = site1.test", out)
    # No SNI, or a name no site has: the default site's certificate (the client decides).
    for name in (None, "unknown.test"):
        rc, out = s_client(o, ["-verify_hostname", "site1.test"], request=REQ,
                           servername=name)
        check(rc == 0 and field(out, "subject") == "O = duet-ecdsa, CN = site1.test",
              "%s:\n%s" % (name, out))
    # Python checks the name: site2's certificate must not pass for site1, and vice versa.
    c = Conn(o.port, ca=o.ca, sni="site2.test")
    try:
        cert = c.sock.getpeercert()
        check(("commonName", "site2.test") in [x for rdn in cert["subject"] for x in rdn], cert)
        check(c.request("/", host="site2.test").body == b"<h1>site2</h1>\n", "site2 body")
    finally:
        c.close()


def test_tls_versions_python():
    for v, name in ((ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")):
        c = Conn(o.port, ca=o.ca, tls_version=v)
        try:
            check(c.sock.version() == name, c.sock.version())
            r = c.request("/")
            check(r.status == 200, r)
        finally:
            c.close()


def test_no_client_hello_closed_after_handshake_timeout():
    conns = []
    start = time.monotonic()
    for partial in (b"", b"\x16\x03\x01"):  # nothing, then half a record header
        c = Conn(o.port, tls=False, timeout=10)
        if partial:
            c.send(partial)
        conns.append(c)
    try:
        check(not conns[0].readable_within(HANDSHAKE_TIMEOUT * 0.5),
              "closed before handshake-timeout")
        for c in conns:
            how, _ = c.wait_closed(HANDSHAKE_TIMEOUT + 4)
            elapsed = time.monotonic() - start
            check(how != "open", "still open after %.1fs" % elapsed)
            check(elapsed >= HANDSHAKE_TIMEOUT * 0.8, "closed too early: %.2fs" % elapsed)
            check(elapsed <= HANDSHAKE_TIMEOUT + 2 * SLOW, "closed late: %.2fs" % elapsed)
    finally:
        for c in conns:
            c.close()


def test_plaintext_on_tls_port_closed():
    c = Conn(o.port, tls=False, timeout=5)
    try:
        c.send(b"GET / HTTP/1.1\r\nHost: site1.test\r\n\r\n")
        how, data = c.wait_closed(3)
        check(how != "open", "plaintext request left the connection open")
        check(b"HTTP/1.1 200" not in data, "served plaintext on a TLS port")
    finally:
        c.close()
    rc, out = s_client(o, [], request=REQ)
    check(rc == 0 and "HTTP/1.1 200 OK" in out, "daemon unhealthy afterwards:\n" + out)


if __name__ == "__main__":
    need("openssl")
    main(o, test_tls12_and_tls13, test_tls11_refused, test_alpn, test_resumption,
         test_session_does_not_cross_sites, test_tls13_resumption_chain,
         test_tls12_server_cipher_preference, test_tls13_server_cipher_preference,
         test_ecdsa_or_rsa_by_sigalgs, test_sni_picks_certificate, test_tls_versions_python,
         test_no_client_hello_closed_after_handshake_timeout, test_plaintext_on_tls_port_closed)
