"""duet-origin at its limits (issue "duet-origin: closed to hostile clients", 6):

- reset-timedout-connection, per [listen]: a client that stops reading a large response
  times out (request-timeout without progress); with yes the close is a reset and the
  server keeps nothing of it, with no (the default) the socket lingers in FIN-WAIT-1 with
  the response's unsent bytes, retransmitted to a window that stays shut.
- a private key file readable by others is reported at start: one
  level=warn event=key_file_readable line per such file, none for a mode 0600 key.
- the control socket and the metrics endpoint hold a bounded number of clients: 100 idle
  connections to each do not keep the daemon from answering a control command and a
  scrape; the connections beyond the cap are closed at once (logged, rate-limited), the
  rest at the read deadline."""
import os
import re
import select
import socket
import time
import urllib.request

from harness import SLOW, check, control, free_port
from origin_util import Origin, main, need, ss

TIMEOUT = 1.0      # request-timeout: a response that makes no progress this long is cut
BIG = os.urandom(8 << 20)
MID = BIG[:2 << 20]
SMALL = BIG[:40 << 10]  # fits the socket buffers: the response ends, the client stalls after
CTL_CAP = 16       # common/control.c: clients per control or metrics server
READ_DEADLINE = 5  # common/control.c: the command must arrive within this many seconds

o = Origin(top="request-timeout = %dms\ncontrol-socket = {dir}/o.ctl\nmetrics = 127.0.0.1:{m}"
               % (TIMEOUT * 1000),
           listens=(("tls", ""),
                    ("rst", "reset-timedout-connection = yes\nsndbuf = 64k"),
                    ("keep", "sndbuf = 64k"),
                    ("plain", "sndbuf = 1m")),
           site1_files={"index.html": b"<h1>site1</h1>\n", "big.bin": BIG, "mid.bin": MID,
                        "small.bin": SMALL}, access_log="off")
METRICS = free_port()
o.conf = o.conf.replace("{dir}", o.dir).replace("{m}", str(METRICS))
with open(o.daemon.conf, "w") as f:
    f.write(o.conf)
CTL = os.path.join(o.dir, "o.ctl")
# One key only readable by its owner, the other readable by all (as origin_util leaves them).
os.chmod(o.s1_ecdsa[1], 0o600)
os.chmod(o.s2[1], 0o644)


def server_side(port, client_port, *state):
    return ss("-tanoi", *(state or ("state", "all")),
              "( sport = :%d and dport = :%d )" % (port, client_port)).strip()


def stalled_download(port, path="/big.bin"):
    """A client with a tiny receive buffer asks for a file and reads nothing."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(5 * SLOW)
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET %s HTTP/1.1\r\nHost: site1.test\r\nConnection: close\r\n\r\n" %
              path.encode())
    return s


def abort(s):
    """Closes with a reset, so no state of ours is left on either side."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()


def test_timed_out_connection_kept_in_fin_wait_1_by_default():
    port = o.ports["keep"]
    s = stalled_download(port)
    cport = s.getsockname()[1]
    try:
        time.sleep(TIMEOUT + 1.0 * SLOW)
        line = server_side(port, cport, "state", "fin-wait-1")
        check(line, "no FIN-WAIT-1 after the timeout with reset-timedout-connection = no:\n" +
              server_side(port, cport))
        unsent = int(line.split()[1])
        check(unsent > 0, "FIN-WAIT-1 without unsent data: %s" % line)
    finally:
        abort(s)


def test_timed_out_connection_reset():
    port = o.ports["rst"]
    s = stalled_download(port)
    cport = s.getsockname()[1]
    try:
        time.sleep(0.3)
        check(server_side(port, cport, "state", "established"), "download not under way:\n" +
              server_side(port, cport))
        time.sleep(TIMEOUT + 0.7 * SLOW)
        check(not server_side(port, cport),
              "a timed-out connection left with reset-timedout-connection = yes:\n" +
              server_side(port, cport))
        got, how = 0, "open"
        deadline = time.monotonic() + 5 * SLOW
        while time.monotonic() < deadline:
            try:
                b = s.recv(65536)
            except ConnectionResetError:
                how = "reset"
                break
            if not b:
                how = "EOF"
                break
            got += len(b)
        check(how == "reset", "client saw %s after %d bytes, not a reset" % (how, got))
        check(got < len(BIG), "the whole file arrived (%d bytes)" % got)
    finally:
        abort(s)


def slow_download(path, pace, send_more_at=None):
    """GET path with Connection: close, read 32 KiB every pace seconds through a 64 KiB
    receive buffer (so what the client has not read is still the server's to send). At
    send_more_at seconds the client sends a pipelined request the server will not answer.
    Returns (bytes, how it ended, seconds, sent more)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.settimeout(5 * SLOW)
    s.connect(("127.0.0.1", o.ports["plain"]))
    got, how, sent_more = 0, "open", False
    try:
        s.sendall(b"GET %s HTTP/1.1\r\nHost: site1.test\r\nConnection: close\r\n\r\n" %
                  path.encode())
        start = time.monotonic()
        while time.monotonic() - start < 20 * SLOW:
            if send_more_at and not sent_more and time.monotonic() - start > send_more_at:
                s.sendall(b"GET / HTTP/1.1\r\nHost: site1.test\r\n\r\n")
                sent_more = True
            try:
                b = s.recv(32768)
            except ConnectionResetError:
                how = "reset"
                break
            if not b:
                how = "EOF"
                break
            got += len(b)
            time.sleep(pace)
        took = time.monotonic() - start
    finally:
        abort(s)
    return got, how, took, sent_more


def test_slow_download_outlasts_request_timeout():
    """request-timeout bounds a response that makes no progress: a download that goes on
    reading is never cut by it, however long it takes (it was: the timer ran from the
    response's start, and the client got a clean FIN after 5-6 of the 8 MiB)."""
    got, how, took, _ = slow_download("/big.bin", 0.01)  # about 3 MiB/s: nearly 3 s
    check(took > TIMEOUT * 1.5, "the download took only %.1fs: not slow enough to tell" % took)
    check(how == "EOF" and got > len(BIG), "client saw %s after %d of %d+ bytes in %.1fs" %
          (how, got, len(BIG), took))


def test_lingering_close_outlasts_a_slow_reader():
    """2 MiB read at about 0.8 MiB/s: the file is in the server's socket buffer (sndbuf =
    1m) at once, and 2.5 s in the client sends more bytes. The server's lingering close must last until the
    client has the response, not 2 s from the moment the last byte went into the socket
    buffer: a socket closed while the client still sends is reset, and the reset destroys
    what the client had not received yet."""
    got, how, took, sent_more = slow_download("/mid.bin", 0.04, send_more_at=2.5)
    check(sent_more, "the download ended before the client sent more (%d bytes, %s, %.1fs)" %
          (got, how, took))
    check(how == "EOF" and got > len(MID), "client saw %s after %d of %d+ bytes in %.1fs" %
          (how, got, len(MID), took))


def test_stalled_lingering_close_reset():
    """40 KiB fit the socket buffers: the response is written, the server closes its side
    and lingers, and the client reads nothing. After 2 s without progress the lingering
    close ends: with reset-timedout-connection = yes by a reset (nothing left on the
    server), with no in FIN-WAIT-1 holding the unsent bytes."""
    rst = stalled_download(o.ports["rst"], "/small.bin")
    keep = stalled_download(o.ports["keep"], "/small.bin")
    try:
        time.sleep(0.5)
        for name, s in (("rst", rst), ("keep", keep)):
            line = server_side(o.ports[name], s.getsockname()[1], "state", "fin-wait-1")
            check(line, "%s: the server did not close its side after the response:\n%s" %
                  (name, server_side(o.ports[name], s.getsockname()[1])))
        time.sleep(2.0 + 1.0 * SLOW)
        check(not server_side(o.ports["rst"], rst.getsockname()[1]),
              "a stalled lingering close left with reset-timedout-connection = yes:\n" +
              server_side(o.ports["rst"], rst.getsockname()[1]))
        line = server_side(o.ports["keep"], keep.getsockname()[1], "state", "fin-wait-1")
        check(line and int(line.split()[1]) > 0,
              "no FIN-WAIT-1 with unsent bytes with reset-timedout-connection = no:\n" +
              server_side(o.ports["keep"], keep.getsockname()[1]))
    finally:
        abort(rst)
        abort(keep)


def test_key_file_readable_warned():
    err = o.stderr()
    lines = [l for l in err.splitlines() if "event=key_file_readable" in l]
    check(len(lines) == 1, "want one key_file_readable warning:\n%s" % "\n".join(lines))
    check(lines[0].startswith("level=warn ") and "file=%s" % o.s2[1] in lines[0] and
          "mode=0644" in lines[0], lines[0])
    check(o.s1_ecdsa[1] not in err, "a mode 0600 key was reported")


def scrape():
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % METRICS, timeout=5) as r:
        return r.status, r.read().decode()


def idle_clients(connect, n):
    return [connect() for _ in range(n)]


def closed_by_server(socks, wait, closed):
    """Adds to the set closed the indexes of socks the server closed (EOF or reset) within
    wait seconds; returns its size."""
    deadline = time.monotonic() + wait
    while len(closed) < len(socks):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        live = [s for i, s in enumerate(socks) if i not in closed]
        readable, _, _ = select.select(live, [], [], left)
        for s in readable:
            i = socks.index(s)
            try:
                if s.recv(16) == b"":
                    closed.add(i)
            except OSError:
                closed.add(i)
    return len(closed)


def check_capped(name, connect, ask):
    socks = idle_clients(connect, 100)
    try:
        start = time.monotonic()
        closed = set()
        n = closed_by_server(socks, 1.0, closed)
        check(n >= 100 - CTL_CAP,
              "%s: %d of 100 idle clients closed within 1 s, want at least %d" %
              (name, n, 100 - CTL_CAP))
        ask()
        # The rest go at the read deadline.
        n = closed_by_server(socks, READ_DEADLINE + 2 * SLOW - (time.monotonic() - start),
                             closed)
        check(n == 100, "%s: %d of 100 idle clients closed by the read deadline" % (name, n))
    finally:
        for s in socks:
            s.close()


def test_control_socket_capped():
    def connect():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(CTL)
        return s

    def ask():
        rc, out = control(CTL, "status")
        check(rc == 0 and "workers" in out, "control command with idle clients: %s" % out)
    check_capped("control", connect, ask)


def test_metrics_capped():
    def connect():
        return socket.create_connection(("127.0.0.1", METRICS), timeout=5)

    def ask():
        status, body = scrape()
        check(status == 200 and "# TYPE" in body, "scrape with idle clients: %s" % status)
    check_capped("metrics", connect, ask)


def test_cap_logged_rate_limited():
    lines = [l for l in o.stderr().splitlines() if "event=control_clients_over_cap" in l]
    check(lines, "no control_clients_over_cap line")
    check(len(lines) <= 6, "not rate-limited: %d lines" % len(lines))
    check(all(l.startswith("level=warn ") and re.search(r"closed=\d+", l) for l in lines),
          "\n".join(lines))


if __name__ == "__main__":
    need("ss")
    main(o, test_slow_download_outlasts_request_timeout, test_lingering_close_outlasts_a_slow_reader,
         test_key_file_readable_warned,
         test_timed_out_connection_kept_in_fin_wait_1_by_default,
         test_timed_out_connection_reset, test_stalled_lingering_close_reset,
         test_control_socket_capped, test_metrics_capped,
         test_cap_logged_rate_limited)
