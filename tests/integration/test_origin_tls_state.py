"""duet-origin's TLS session state beyond the handshake: session tickets across a reload and
a key rotation (per site), close_notify from the client while a large response is in flight,
a corrupt record after the handshake, client-initiated renegotiation (refused), response heads
that wait behind the session tickets, and the close_notify an idle keep-alive connection ends
with. The client side is Python's ssl over
memory BIOs (ssl.SSLObject), so every byte the server sends, and whether a close_notify is
among them, is seen."""
import os
import re
import socket
import ssl
import subprocess
import threading
import time

from harness import SLOW, check, control
from origin_util import Origin, main, need, s_client, ss

KEEPALIVE = 1.0
BIG = os.urandom(8 << 20)

o = Origin(top="keepalive-timeout = %dms\ncontrol-socket = {dir}/o.ctl" % (KEEPALIVE * 1000),
           site1_files={"index.html": "<h1>site1</h1>\n", "big.bin": BIG})
o.conf = o.conf.replace("{dir}", o.dir)
with open(o.daemon.conf, "w") as f:  # the control socket's path is known only now
    f.write(o.conf)
CTL = os.path.join(o.dir, "o.ctl")

REQ = b"GET / HTTP/1.1\r\nHost: site1.test\r\nConnection: close\r\n\r\n"
REQ2 = REQ.replace(b"site1.test", b"site2.test")


class TLSClient:
    """A TLS client over a plain socket and two memory BIOs: the test decides when records
    are read and sees how the server's byte stream ends."""

    def __init__(self, version=None, sni="site1.test", timeout=5, hold_finished=False):
        ctx = ssl.create_default_context(cafile=o.ca)
        if version:
            ctx.minimum_version = ctx.maximum_version = version
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = ctx.wrap_bio(self.inc, self.out, server_hostname=sni)
        self.sock = socket.create_connection(("127.0.0.1", o.port), timeout=timeout * SLOW)
        self.lport = self.sock.getsockname()[1]
        self.timeout = timeout * SLOW
        self.eof = False
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.flush()
                check(time.monotonic() < deadline, "handshake timed out")
                check(self.recv_raw(), "server closed during the handshake")
        if not hold_finished:  # held: the first send() carries it, as wrk's requests do
            self.flush()

    def flush(self):
        data = self.out.read()
        if data:
            self.sock.sendall(data)

    def recv_raw(self, timeout=None):
        """Ciphertext from the socket into the BIO. False on EOF (or a reset)."""
        self.sock.settimeout(timeout or self.timeout)
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        if not data:
            self.eof = True
            self.inc.write_eof()
            return False
        self.inc.write(data)
        return True

    def send(self, data):
        self.tls.write(data)
        self.flush()

    def read_until_end(self, limit, timeout):
        """Plaintext until the server's stream ends. Returns (plaintext, how): how is
        'close_notify' (SSLZeroReturnError), 'eof' (TCP closed without close_notify),
        'error:...' (an alert or a broken record), 'timeout' or 'limit'."""
        got = b""
        deadline = time.monotonic() + timeout * SLOW
        while len(got) < limit:
            try:
                data = self.tls.read(65536)
                if data:
                    got += data
                    continue
                return got, "close_notify"  # Python's read() says so with b""
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLZeroReturnError:
                return got, "close_notify"
            except ssl.SSLEOFError:
                return got, "eof"
            except ssl.SSLError as e:
                return got, "error:" + str(e)
            left = deadline - time.monotonic()
            if left <= 0:
                return got, "timeout"
            try:
                self.recv_raw(left)
            except socket.timeout:
                return got, "timeout"
            if self.eof and self.inc.pending == 0:
                # No record left to read: the TCP stream ended.
                try:
                    data = self.tls.read(65536)
                    if not data:
                        return got, "close_notify"
                    got += data
                    continue
                except ssl.SSLZeroReturnError:
                    return got, "close_notify"
                except ssl.SSLError as e:
                    return got, "eof" if isinstance(e, ssl.SSLEOFError) else "error:" + str(e)
        return got, "limit"

    def drain_raw(self, timeout):
        """Reads and drops ciphertext until EOF. Returns (bytes read, whether EOF came)."""
        n = 0
        deadline = time.monotonic() + timeout * SLOW
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(1 << 20)
            except socket.timeout:
                break
            except (ConnectionResetError, BrokenPipeError):
                return n, True
            if not data:
                return n, True
            n += len(data)
        return n, False

    def send_close_notify(self):
        try:
            self.tls.unwrap()
        except (ssl.SSLWantReadError, ssl.SSLError):
            pass
        self.flush()

    def close(self):
        self.sock.close()


def log_mark():
    return len(o.stderr())


def problems_since(mark):
    """Lines above info (warn, error) logged since mark."""
    return [l for l in o.stderr()[mark:].splitlines()
            if re.match(r"^(<\d>)?level=(warn|error|crit)", l)]


def server_side_gone(c, timeout=5):
    """Waits until the daemon has closed its socket of c's connection: no server-side socket
    in ESTABLISHED or CLOSE-WAIT (FIN-WAIT, LAST-ACK and TIME-WAIT are the kernel's once the
    daemon closed it). False when it still holds one after timeout."""
    port = c.lport
    deadline = time.monotonic() + timeout * SLOW
    while True:
        out = ss("-tn", "state", "established", "state", "close-wait",
                 "( sport = :%d and dport = :%d )" % (o.port, port))
        if not out.strip():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def healthy():
    rc, out = s_client(o, [], request=REQ)
    check(rc == 0 and "<h1>site1</h1>" in out, "the daemon does not serve afterwards:\n" + out)


def sess_first(flag, extra, sess, name="site1.test", req=REQ):
    rc, out = s_client(o, [flag, "-sess_out", sess] + extra, request=req, servername=name)
    check(rc == 0 and "New, " in out and os.path.getsize(sess) > 0, out)


def resumes(flag, extra, sess, name="site1.test", req=REQ):
    rc, out = s_client(o, [flag, "-sess_in", sess] + extra, request=req, servername=name)
    check(rc == 0 and "HTTP/1.1 200 OK" in out, out)
    return "Reused, " in out


TICKETS = (("-tls1_2", []), ("-tls1_3", []))


def test_reload_keeps_ticket_keys():
    # Each site's tickets still resume after a reload that keeps the site (the keys survive
    # it), for both sites and both versions.
    sessions = []
    for flag, extra in TICKETS:
        for name, req in (("site1.test", REQ), ("site2.test", REQ2)):
            sess = os.path.join(o.dir, "reload%s-%s" % (flag, name))
            sess_first(flag, extra, sess, name, req)
            sessions.append((flag, extra, sess, name, req))
    rc, out = control(CTL, "reload")
    check(rc == 0 and "reloaded" in out, out)
    time.sleep(0.3 * SLOW)  # the workers take the new configuration from their queues
    for flag, extra, sess, name, req in sessions:
        check(resumes(flag, extra, sess, name, req),
              "%s %s: a ticket from before the reload does not resume" % (flag, name))


def test_rotation_per_site():
    # rotate-ticket-keys turns every site's keys: a ticket survives two rotations and not a
    # third, on each site.
    sessions = []
    for flag, extra in TICKETS:
        for name, req in (("site1.test", REQ), ("site2.test", REQ2)):
            sess = os.path.join(o.dir, "rot%s-%s" % (flag, name))
            sess_first(flag, extra, sess, name, req)
            sessions.append((flag, extra, sess, name, req))
    for i in range(3):
        rc, out = control(CTL, "rotate-ticket-keys")
        check(rc == 0 and out.startswith("ok"), out)
        for flag, extra, sess, name, req in sessions:
            r = resumes(flag, extra, sess, name, req)
            check(r == (i < 2), "%s %s after %d rotation(s): resumed=%s" %
                  (flag, name, i + 1, r))


def test_close_notify_during_large_response():
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        for then_close in (False, True):
            mark = log_mark()
            c = TLSClient(version)
            try:
                c.send(b"GET /big.bin HTTP/1.1\r\nHost: site1.test\r\n\r\n")
                got, how = c.read_until_end(64 << 10, 5)
                check(how == "limit" and got.startswith(b"HTTP/1.1 200"), (how, got[:100]))
                c.send_close_notify()
                if then_close:
                    # The client is gone: the server's writes fail, which is no error of ours.
                    c.close()
                    time.sleep(0.3 * SLOW)
                else:
                    # Still reading (raw bytes: Python's ssl decrypts nothing once it has sent
                    # close_notify): the server finishes or stops, and closes in bounded time.
                    # It need not answer with a close_notify: with close-first = client it lets
                    # the client's FIN come first (pump_tls in origin/conn.c).
                    n, eof = c.drain_raw(15)
                    check(eof, "%s: still open after close_notify (%d bytes)" % (version, n))
                    check(n <= len(BIG) + 1000, "more than the response")
                    print("  %s: %d bytes after close_notify, then the server closed" %
                          (version, n))
                check(server_side_gone(c), "%s then_close=%s: the server still holds the "
                      "connection" % (version, then_close))
            finally:
                c.close()
            healthy()
            bad = problems_since(mark)
            check(not bad, "%s then_close=%s: logged\n%s" % (version, then_close,
                                                             "\n".join(bad)))


def test_garbage_record_after_handshake():
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        mark = log_mark()
        c = TLSClient(version)
        try:
            # An application_data record whose MAC cannot verify.
            c.sock.sendall(b"\x17\x03\x03\x00\x40" + os.urandom(0x40))
            got, how = c.read_until_end(1 << 20, 5)
            check(got == b"", "served after a corrupt record: %r" % got[:100])
            check(how.startswith("error:") and "BAD_RECORD_MAC" in how.upper(),
                  "%s: no bad_record_mac alert, the stream ended with %s" % (version, how))
            check(c.eof or not c.recv_raw(3), "%s: connection left open" % version)
            check(server_side_gone(c), "%s: the server still holds the connection" % version)
        finally:
            c.close()
        healthy()
        check(not problems_since(mark), "\n".join(problems_since(mark)))


def test_renegotiation_refused():
    # s_client's "R" asks for a renegotiation (TLS 1.2); the server must refuse it and never
    # run a second handshake, and the connection must carry no request afterwards either.
    mark = log_mark()
    cmd = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % o.port, "-CAfile", o.ca,
           "-servername", "site1.test", "-tls1_2"]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    try:
        time.sleep(0.5 * SLOW)
        p.stdin.write(b"R\n")
        p.stdin.flush()
        time.sleep(0.5 * SLOW)
        try:
            p.stdin.write(b"GET / HTTP/1.1\r\nHost: site1.test\r\nConnection: close\r\n\r\n")
            p.stdin.flush()
        except BrokenPipeError:
            pass
        time.sleep(0.5 * SLOW)
        try:
            out, _ = p.communicate(timeout=10 * SLOW)
        except (BrokenPipeError, ValueError):
            out = p.stdout.read()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    out = out.decode(errors="replace")
    check("RENEGOTIATING" in out, "s_client did not try:\n" + out)
    check("no renegotiation" in out.lower(), "no no_renegotiation alert:\n" + out)
    check(len(re.findall(r"^New, TLSv1\.2", out, re.M)) == 1 and out.count("depth=0") <= 1,
          "a second handshake:\n" + out)
    healthy()
    check(not problems_since(mark), "\n".join(problems_since(mark)))


def test_heads_intact_behind_session_tickets():
    # Right after a handshake the server's session tickets are still being written when the
    # first request arrives, so its head waits for that write; meanwhile other connections
    # on the same worker build theirs. Every head must still be the connection's own: a
    # keep-alive and a close request alternate (heads of different lengths), and each
    # response must say what was asked with exactly its body after the blank line.
    bad, done = [], [0]
    deadline = time.monotonic() + 4 * SLOW

    def client(k):
        n = 0
        while time.monotonic() < deadline and n < 150 and not bad:
            keep = (k + n) % 2 == 0
            n += 1
            try:
                c = TLSClient(ssl.TLSVersion.TLSv1_3, hold_finished=True)
            except Exception as e:  # noqa: BLE001 - counted, reported below
                bad.append("connect: %r" % e)
                return
            try:
                c.send(b"GET / HTTP/1.1\r\nHost: site1.test\r\n%s\r\n" %
                       (b"" if keep else b"Connection: close\r\n"))
                got = b""
                t_end = time.monotonic() + 5 * SLOW
                while b"\r\n\r\n" not in got or len(got.split(b"\r\n\r\n", 1)[1]) < 15:
                    more, how = c.read_until_end(1, max(0.1, t_end - time.monotonic()))
                    got += more
                    if how != "limit" and not more:
                        break
                head, _, body = got.partition(b"\r\n\r\n")
                ok = (head.startswith(b"HTTP/1.1 200 OK\r\n") and body == b"<h1>site1</h1>\n"
                      and (b"\r\nConnection: close" in head) != keep
                      and all(0x20 <= ch < 0x7f or ch in (9, 10, 13) for ch in head))
                if not ok:
                    bad.append("keep=%s: %r" % (keep, got[:400]))
                done[0] += 1
            finally:
                c.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30 * SLOW)
    check(not bad, "%d of %d responses wrong, e.g.:\n%s" % (len(bad), done[0],
                                                             "\n".join(bad[:3])))
    check(done[0] >= 100, "only %d exchanges" % done[0])


def test_idle_keepalive_close_sends_close_notify():
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        c = TLSClient(version, timeout=KEEPALIVE + 5)
        try:
            c.send(b"GET / HTTP/1.1\r\nHost: site1.test\r\n\r\n")
            got, how = c.read_until_end(len(b"<h1>site1</h1>\n") + 1, 5)
            check(b"HTTP/1.1 200 OK" in got, (how, got))
            start = time.monotonic()
            # close-first = client adds 5 s of grace to keepalive-timeout (origin/conn.c).
            rest, how = c.read_until_end(1 << 20, KEEPALIVE + 5 + 4)
            took = time.monotonic() - start
            check(how == "close_notify",
                  "%s: idle close ended with %s, not close_notify" % (version, how))
            check(took >= KEEPALIVE * 0.8, "closed after %.2fs" % took)
        finally:
            c.close()


if __name__ == "__main__":
    need("openssl")
    main(o, test_reload_keeps_ticket_keys, test_rotation_per_site,
         test_close_notify_during_large_response, test_garbage_record_after_handshake,
         test_renegotiation_refused, test_heads_intact_behind_session_tickets,
         test_idle_keepalive_close_sends_close_notify)
