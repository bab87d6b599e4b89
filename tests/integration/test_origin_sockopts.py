"""duet-origin's per-listener TCP knobs, checked on real sockets with ss(8) and by what a
client sees: backlog, TCP_DEFER_ACCEPT (the connection waits in SYN-RECV until data comes),
keep-alive probes (the accepted socket runs a keepalive timer of TCP_KEEPIDLE), SO_LINGER 0
(the idle close is a reset, no TIME_WAIT), TCP_LINGER2 (the orphaned FIN-WAIT-2 lives
fin-timeout, not the kernel's 60 s), and close-first: server (the server closes an idle
connection at keepalive-timeout and keeps the TIME_WAIT) versus client (responses announce
"Keep-Alive: timeout=N", the server waits N + 5 s, and a client that closes first keeps the
TIME_WAIT itself)."""
import re
import select
import socket
import threading
import time

from harness import SLOW, check
from origin_util import Conn, Origin, main, need, ss

KEEPALIVE = 1.0      # keepalive-timeout
GRACE = 5.0          # the server's wait beyond it with close-first = client (origin/conn.c)

o = Origin(top="keepalive-timeout = %dms" % (KEEPALIVE * 1000), listens=(
    ("rst", "close-first = server\nlinger = 0\nkeepalive-probes = 33s:7s:4\n"
            "defer-accept = 3s\nbacklog = 37"),
    ("srv", "close-first = server\nfin-timeout = 7s"),
    ("tls", "close-first = client")))


def timer_seconds(text):
    """ss prints timers as '59sec', '6.736ms' (6 s 736 ms), '192ms', '1min5sec'."""
    m = re.fullmatch(r"(?:(\d+)min)?(?:(\d+)(?:sec|\.))?(?:(\d+)ms)?", text)
    check(m and text, "cannot read ss timer %r" % text)
    mins, secs, ms = (int(g) if g else 0 for g in m.groups())
    return mins * 60 + secs + ms / 1000


def server_side(port, client_port, *state):
    """ss lines of the server's end of the connection from client_port to port."""
    out = ss("-tanoi", *(state or ("state", "all")),
             "( sport = :%d and dport = :%d )" % (port, client_port))
    return out.strip()


def plain_request(port, path="/"):
    c = Conn(port, tls=False)
    r = c.request(path)
    check(r.status == 200, r)
    return c, r


def test_backlog():
    lines = ss("-ltn", "( sport = :%d )" % o.ports["rst"]).splitlines()
    check(len(lines) == 2, "want one SO_REUSEPORT listener per worker:\n" + "\n".join(lines))
    for line in lines:
        check(line.split()[2] == "37", "backlog: %s" % line)
    for line in ss("-ltn", "( sport = :%d )" % o.ports["srv"]).splitlines():
        check(line.split()[2] == "511", "default backlog: %s" % line)


def test_keepalive_probes():
    c, _ = plain_request(o.ports["rst"])
    try:
        line = server_side(o.ports["rst"], c.raw.getsockname()[1], "state", "established")
        m = re.search(r"timer:\(keepalive,([^,]+),", line)
        check(m, "no keepalive timer on the accepted socket:\n" + line)
        left = timer_seconds(m.group(1))
        check(25 < left <= 33, "keepalive timer %.1fs, want TCP_KEEPIDLE 33s" % left)
    finally:
        c.close()
    c, _ = plain_request(o.ports["srv"])
    try:
        line = server_side(o.ports["srv"], c.raw.getsockname()[1], "state", "established")
        check(line and "keepalive" not in line, "keepalive without keepalive-probes:\n" + line)
    finally:
        c.close()


def test_defer_accept():
    s = socket.create_connection(("127.0.0.1", o.ports["rst"]), timeout=5 * SLOW)
    try:
        cport = s.getsockname()[1]
        time.sleep(0.2)
        # The client thinks it is connected; the server has not even completed the handshake.
        check(server_side(o.ports["rst"], cport, "state", "syn-recv"),
              "no SYN-RECV with defer-accept:\n" + server_side(o.ports["rst"], cport))
        check(not server_side(o.ports["rst"], cport, "state", "established"), "accepted early")
        s.sendall(b"GET / HTTP/1.1\r\nHost: site1.test\r\n\r\n")
        check(s.recv(100).startswith(b"HTTP/1.1 200 "), "no answer once data came")
    finally:
        s.close()
    s = socket.create_connection(("127.0.0.1", o.ports["srv"]), timeout=5 * SLOW)
    try:
        time.sleep(0.1)
        check(server_side(o.ports["srv"], s.getsockname()[1], "state", "established"),
              "without defer-accept the connection should be established")
    finally:
        s.close()


def test_linger_zero_resets():
    c, r = plain_request(o.ports["rst"])
    try:
        check(r.h("keep-alive") is None, "close-first = server announced a timeout: %r" % r)
        cport = c.raw.getsockname()[1]
        start = time.monotonic()
        how, _ = c.wait_closed(KEEPALIVE + 3)
        took = time.monotonic() - start
        check(how == "ConnectionResetError",
              "idle close with linger = 0 gave %s, not a reset" % how)
        check(KEEPALIVE * 0.7 < took < KEEPALIVE + 1.5 * SLOW, "reset after %.2fs" % took)
        time.sleep(0.1)
        check(not server_side(o.ports["rst"], cport), "server side left: %s" %
              server_side(o.ports["rst"], cport))
    finally:
        c.close()


def test_linger_zero_connection_close():
    """linger = 0 promises no TIME_WAIT on the server, after a "Connection: close" response
    too. The server sends no FIN of its own: it waits for the client's (a client closes
    after such a response, as curl does) and resets, which leaves no TIME_WAIT on either
    side; a client that keeps its end open is reset once it has acknowledged the whole
    response, so nothing it was sent is lost. Before, the server shut down first and kept
    the TIME_WAIT (the teardown lab saw it)."""
    port = o.ports["rst"]
    c = Conn(port, tls=False)
    cport = c.raw.getsockname()[1]
    try:
        r = c.request("/", extra="Connection: close\r\n")
        check(r.status == 200 and r.body == b"<h1>site1</h1>\n", r)
        check(not c.readable_within(0.2), "the server closed first")
    finally:
        c.close()
    time.sleep(0.2)
    check(not server_side(port, cport), "server side left: %s" % server_side(port, cport))
    mine = ss("-tan", "state", "time-wait", "( sport = :%d and dport = :%d )" % (cport, port))
    check(not mine.strip(), "TIME_WAIT on the client: " + mine)
    c = Conn(port, tls=False)
    cport = c.raw.getsockname()[1]
    try:
        r = c.request("/", extra="Connection: close\r\n")
        check(r.status == 200 and r.body == b"<h1>site1</h1>\n", r)
        start = time.monotonic()
        how, extra = c.wait_closed(4)
        took = time.monotonic() - start
        check(how == "ConnectionResetError" and not extra,
              "a client that stays open: %s after %.2fs (%r)" % (how, took, extra))
        check(took < 3 * SLOW, "reset after %.2fs" % took)
    finally:
        c.close()
    time.sleep(0.1)
    check(not server_side(port, cport), "server side left: %s" % server_side(port, cport))


def test_close_first_server():
    c, r = plain_request(o.ports["srv"])
    cport = c.raw.getsockname()[1]
    try:
        check(r.h("keep-alive") is None, r)
        start = time.monotonic()
        how, _ = c.wait_closed(KEEPALIVE + 3)
        took = time.monotonic() - start
        check(how == "EOF", "idle close-first = server: %s" % how)
        check(KEEPALIVE * 0.7 < took < KEEPALIVE + 1.5 * SLOW, "closed after %.2fs" % took)
        time.sleep(0.2)  # the client's delayed ACK of our FIN
        # Orphaned in FIN-WAIT-2 for fin-timeout (7s), not the kernel's 60s.
        line = server_side(o.ports["srv"], cport, "state", "fin-wait-2")
        m = re.search(r"timer:\(timewait,([^,]+),", line)
        check(m, "no FIN-WAIT-2 timer on the server:\n" + server_side(o.ports["srv"], cport))
        left = timer_seconds(m.group(1))
        check(0 < left <= 7, "FIN-WAIT-2 timer %.1fs, want fin-timeout 7s" % left)
    finally:
        c.close()
    time.sleep(0.1)
    check(server_side(o.ports["srv"], cport, "state", "time-wait"),
          "no TIME_WAIT on the server after it closed first")
    mine = ss("-tan", "state", "time-wait",
              "( sport = :%d and dport = :%d )" % (cport, o.ports["srv"])).strip()
    check(not mine, "TIME_WAIT on the client although the server closed first: " + mine)


def test_close_first_client():
    port = o.port
    a = Conn(port, ca=o.ca)   # closes first, like a browser told the timeout
    b = Conn(port, ca=o.ca)   # stays idle: the server must wait N + 5 s
    try:
        for c in (a, b):
            r = c.request("/")
            check(r.status == 200 and r.h("keep-alive") == "timeout=%d" % KEEPALIVE, r)
        r = a.request("/nope")
        check(r.status == 404 and r.h("keep-alive") == "timeout=%d" % KEEPALIVE,
              "an error page on a kept connection should announce the timeout too: %r" % r)
        start = time.monotonic()
        aport = a.raw.getsockname()[1]
        time.sleep(KEEPALIVE + 0.3)
        check(not _readable(a.raw), "server closed before the client could")
        a.close()
        time.sleep(0.2)
        check(ss("-tan", "state", "time-wait",
                 "( sport = :%d and dport = :%d )" % (aport, port)).strip(),
              "no TIME_WAIT on the client that closed first")
        check(not server_side(port, aport, "state", "time-wait"), "TIME_WAIT on the server")
        # b: still open at N + 2 s, closed by the server at about N + 5 s.
        check(not _readable(b.raw, KEEPALIVE + 2 - (time.monotonic() - start)),
              "server closed before keepalive-timeout + 5 s")
        how, _ = b.wait_closed(KEEPALIVE + GRACE + 3)
        took = time.monotonic() - start
        check(how != "open", "server never closed the idle connection")
        check(KEEPALIVE + GRACE - 0.5 < took < KEEPALIVE + GRACE + 1.5 * SLOW,
              "server closed after %.2fs, want about %.0fs" % (took, KEEPALIVE + GRACE))
    finally:
        a.close()
        b.close()


def test_close_notify_client_first():
    """A TLS client that ends with close_notify and then closes: with close-first = client
    the server sends nothing back and waits for the client's FIN, so the TIME_WAIT is the
    client's (no reset, none on the server)."""
    port = o.port
    a = Conn(port, ca=o.ca)
    try:
        r = a.request("/")
        check(r.status == 200, r)
        aport = a.raw.getsockname()[1]
        # unwrap() sends close_notify, then waits for the server's, which close-first =
        # client does not send: a short timeout leaves the TCP connection to us, as curl
        # does when it closes.
        a.sock.settimeout(0.3)
        try:
            raw = a.sock.unwrap()
        except OSError:
            raw = a.raw
        time.sleep(0.2)
        check(not _readable(raw), "server closed (or answered) before the client's FIN")
        raw.close()
        time.sleep(0.3)
        check(ss("-tan", "state", "time-wait",
                 "( sport = :%d and dport = :%d )" % (aport, port)).strip(),
              "no TIME_WAIT on the client that closed first")
        check(not server_side(port, aport, "state", "time-wait"), "TIME_WAIT on the server")
    finally:
        a.close()


def _readable(s, wait=0):
    r, _, _ = select.select([s], [], [], max(0, wait))
    return bool(r)


def concurrently(*tests):
    """The slow waits of the close tests overlap: run them in threads, fail if any failed."""
    errors = []

    def wrap(t):
        try:
            t()
        except Exception as e:  # noqa: BLE001 - collected and re-raised below
            errors.append("%s: %s" % (t.__name__, e))
    threads = [threading.Thread(target=wrap, args=(t,)) for t in tests]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60 * SLOW)
    check(not errors and not any(t.is_alive() for t in threads), "; ".join(errors) or "hung")


def test_teardown_modes():
    concurrently(test_linger_zero_resets, test_linger_zero_connection_close,
                 test_close_first_server, test_close_first_client,
                 test_close_notify_client_first)


if __name__ == "__main__":
    need("ss")
    main(o, test_backlog, test_keepalive_probes, test_defer_accept, test_teardown_modes)
