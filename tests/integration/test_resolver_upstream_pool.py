"""duet-resolver's pool of upstream UDP sockets (resolver/upstream.c), seen from an upstream
server the test scripts itself: a forwarder on 127.0.0.1 (a free port) that logs the source
port, ID and question of every query and answers, sometimes after spoofed replies.

- Sequential cache misses reuse sockets: N queries arrive from fewer than N source ports but
  more than one, no port carrying more than 16 (DR_UPSTREAM_MAX_USES), and the counters
  upstream_sockets_opened / upstream_sockets_reused say the same.
- On a reused socket, replies with a wrong ID, a wrong 0x20 case or from another port are
  ignored and the real reply is the answer; the mismatches are counted, and the socket is
  retired (the next query comes from a new port).
Everything stays on loopback; the server is a thread of this test, stopped at the end."""
import os
import select
import socket
import struct
import tempfile
import threading

from harness import Daemon, check, dead_root_hints, dig, dig_answers, free_port, run, stat

MAX_USES = 16
REAL = "192.0.2.1"
FAKE = "192.0.2.66"


def question_end(q):
    off = 12
    while q[off] != 0:
        off += 1 + q[off]
    return off + 1 + 4


def answer(q, addr, rcode=0, id_xor=0):
    """A response to query q: same ID (xor id_xor), RD copied, QR and RA set, the question
    echoed byte for byte, one A record."""
    qend = question_end(q)
    qid, flags = struct.unpack("!HH", q[:4])
    flags = 0x8000 | (flags & 0x0100) | 0x0080 | rcode
    hdr = struct.pack("!HHHHHH", qid ^ id_xor, flags, 1, 1, 0, 0)
    rr = struct.pack("!HHHIH", 0xC00C, 1, 1, 300, 4) + socket.inet_aton(addr)
    return hdr + q[12:qend] + rr


def flip_case(reply):
    """The same reply with the case of the question's first letter flipped (0x20)."""
    b = bytearray(reply)
    for i in range(13, question_end(reply) - 4):
        if chr(b[i]).isalpha():
            b[i] ^= 0x20
            break
    return bytes(b)


def qname_of(q):
    off, labels = 12, []
    while q[off] != 0:
        labels.append(q[off + 1:off + 1 + q[off]].decode())
        off += 1 + q[off]
    return ".".join(labels)


class Forwarder:
    """A UDP server thread: logs (source port, ID, qname as sent) and answers REAL; for names
    whose first label starts with "spoof" it first sends a reply with the wrong ID, one with
    the wrong case, and one from another port, all with FAKE."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.liar = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.liar.bind(("127.0.0.1", 0))
        self.log = []
        self.lock = threading.Lock()
        self.stop_r, self.stop_w = os.pipe()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        for _ in range(100000):  # bounded: far more than the tests send
            r, _, _ = select.select([self.sock, self.stop_r], [], [], 30)
            if self.stop_r in r or not r:
                return
            q, src = self.sock.recvfrom(4096)
            if len(q) < 17 or q[2] & 0x80:
                continue
            name = qname_of(q)
            with self.lock:
                self.log.append((src[1], struct.unpack("!H", q[:2])[0], name))
            if name.lower().startswith("spoof"):
                self.sock.sendto(answer(q, FAKE, id_xor=1), src)
                self.sock.sendto(flip_case(answer(q, FAKE)), src)
                self.liar.sendto(answer(q, FAKE), src)
            self.sock.sendto(answer(q, REAL), src)

    def queries(self, suffix):
        with self.lock:
            return [e for e in self.log if e[2].lower().endswith(suffix)]

    def stop(self):
        os.write(self.stop_w, b"x")
        self.thread.join(10)
        self.sock.close()
        self.liar.close()
        os.close(self.stop_r)
        os.close(self.stop_w)


def with_resolver(body):
    fwd = Forwarder()
    work = tempfile.mkdtemp(prefix="duet-upool-")
    port = free_port()
    ctl = os.path.join(work, "r.ctl")
    conf = """listen = 127.0.0.1:%d
workers = 1
root-hints = %s
query-loopback = yes
control-socket = %s
[forward-zone pool.test]
forward-addr = 127.0.0.1:%d
""" % (port, dead_root_hints(work), ctl, fwd.port)
    d = Daemon("duet-resolver", conf, workdir=work)
    try:
        d.start()
        body(fwd, port, ctl)
        d.stop()
        d.check_clean()
    finally:
        d.close()
        fwd.stop()


def ask_a(port, name):
    out = dig("127.0.0.1", port, name, "A")
    return sorted(r[3] for r in dig_answers(out) if r[2] == "A"), out


def test_sequential_misses_reuse_sockets():
    n = 40

    def body(fwd, port, ctl):
        for i in range(n):
            got, out = ask_a(port, "n%d.pool.test" % i)
            check(got == [REAL], "n%d.pool.test: %s\n%s" % (i, got, out))
        log = fwd.queries(".pool.test")
        check(len(log) == n, "the forwarder saw %d queries, not %d: %s" % (len(log), n, log))
        ports = [e[0] for e in log]
        distinct = len(set(ports))
        most = max(ports.count(p) for p in ports)
        # 40 queries in 16s: at least 3 sockets; fewer than half as many as queries (a socket
        # also ends at 2 s of age, so a slow run may open a few more).
        check(1 < distinct < n // 2, "%d distinct source ports for %d queries: %s" %
              (distinct, n, ports))
        check(-(-n // MAX_USES) <= distinct, "%d ports for %d queries" % (distinct, n))
        check(most <= MAX_USES, "a port carried %d queries (max %d): %s" % (most, MAX_USES, ports))
        opened, reused = stat(ctl, "upstream_sockets_opened"), stat(ctl, "upstream_sockets_reused")
        udp = stat(ctl, "upstream_udp")
        check(reused >= n - distinct and opened + reused == udp,
              "opened %d + reused %d != upstream_udp %d (forwarder saw %d ports)" %
              (opened, reused, udp, distinct))
        check(stat(ctl, "upstream_mismatches") == 0, "mismatches counted")

    with_resolver(body)


def test_spoofs_on_pooled_socket_ignored():
    def body(fwd, port, ctl):
        got, out = ask_a(port, "first.pool.test")
        check(got == [REAL], out)
        got, out = ask_a(port, "spoof.pool.test")
        check(got == [REAL], "spoofed answer accepted: %s\n%s" % (got, out))
        got, out = ask_a(port, "after.pool.test")
        check(got == [REAL], out)
        log = fwd.queries(".pool.test")
        check([e[2].lower() for e in log] == ["first.pool.test", "spoof.pool.test",
                                              "after.pool.test"], "queries: %s" % log)
        check(log[1][0] == log[0][0], "the spoofed query was not on a reused socket: %s" % log)
        check(log[2][0] != log[1][0], "the socket that saw spoofs was reused: %s" % log)
        # wrong ID and wrong case reach the socket; the other port's is dropped by the kernel
        mism = stat(ctl, "upstream_mismatches")
        check(mism == 2, "upstream_mismatches = %d, expected 2" % mism)

    with_resolver(body)


if __name__ == "__main__":
    run(test_sequential_misses_reuse_sockets, test_spoofs_on_pooled_socket_ignored)
