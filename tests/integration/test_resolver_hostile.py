"""Hostile input against duet-resolver over UDP and TCP: truncated and oversized messages,
compression loops, bad label lengths, random bytes, responses instead of queries, TCP
clients that stall mid length-prefix or send garbage frames. Each is answered (FORMERR,
NOTIMP, REFUSED) or dropped, the daemon never crashes, and a normal client keeps getting
answers throughout. The normal client asks local data, so no upstream is needed."""
import random
import socket
import struct
import time

from harness import SLOW, Daemon, check, dead_root_hints, free_port, run, stop_clean

res = None
PORT = None


def qname(name):
    return b"".join(bytes([len(l)]) + l.encode() for l in name.rstrip(".").split(".")) + b"\0"


def query(name="www.local.test", qtype=1, qid=0x1234, flags=0x0100, edns=True):
    msg = struct.pack("!HHHHHH", qid, flags, 1, 0, 0, 1 if edns else 0) + qname(name)
    msg += struct.pack("!HH", qtype, 1)
    if edns:
        msg += b"\0" + struct.pack("!HHIH", 41, 1232, 0, 0)
    return msg


def udp_ask(payload, timeout=2.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout * SLOW)
    try:
        s.sendto(payload, ("127.0.0.1", PORT))
        return s.recv(65535)
    except socket.timeout:
        return None
    finally:
        s.close()


def rcode(reply):
    return reply[3] & 0xF


def healthy():
    """A normal client still gets its answer."""
    r = udp_ask(query(qid=0x4242), timeout=3)
    check(r is not None, "normal client got no answer")
    check(r[:2] == b"\x42\x42" and rcode(r) == 0 and struct.unpack("!H", r[6:8])[0] == 1,
          "normal client got a bad answer: %r" % r[:16])


def test_malformed_udp():
    good = query()
    cases = {
        "empty": b"",
        "short header": good[:5],
        "header only": good[:12],
        "truncated question": good[:20],
        "qdcount 2": good[:4] + b"\0\2" + good[6:],
        "label 64": good[:12] + b"\x40" + b"a" * 64 + b"\0" + good[-15:],
        "compression loop": good[:12] + b"\xc0\x0c" + b"\0\1\0\1",
        "forward pointer": good[:12] + b"\xc0\x20" + b"\0\1\0\1" + b"\0" * 20,
        "pointer past end": good[:12] + b"\xc0\xff" + b"\0\1\0\1",
        "reserved label type": good[:12] + b"\x80abc\0\0\1\0\1",
        "name over 255": good[:12] + (b"\x3f" + b"a" * 63) * 5 + b"\0\0\1\0\1",
        "trailing garbage": good + b"garbage",
        "two OPT": good[:10] + b"\0\2" + good[12:] + good[-11:],
        "opcode 5": good[:2] + b"\x28\x00" + good[4:],
        "a response": good[:2] + b"\x81\x80" + good[4:],
        "oversized": good + b"\0" * 4000,
        "EDNS version 1": good[:-6] + b"\x00\x01\x00\x00\x00\x00",
        "AXFR over UDP": query(qtype=252),
    }
    for what, payload in cases.items():
        r = udp_ask(payload, timeout=0.5)
        if r is not None:
            check(len(r) >= 12 and r[2] & 0x80, "%s: reply is not a response" % what)
            if what not in ("a response",):
                check(rcode(r) in (1, 4, 5) or (what == "EDNS version 1" and rcode(r) == 0),
                      "%s: rcode %d" % (what, rcode(r)))
        else:
            check(what in ("empty", "short header", "a response"),
                  "%s: dropped, expected an error reply" % what)
        healthy()


def test_random_bytes_udp():
    rnd = random.Random(7)
    base = query()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(3000):
        if i % 2:
            n = rnd.randrange(0, 600)
            payload = bytes(rnd.randrange(256) for _ in range(n))
        else:
            b = bytearray(base)
            for _ in range(rnd.randrange(1, 6)):
                b[rnd.randrange(len(b))] = rnd.randrange(256)
            payload = bytes(b)
        s.sendto(payload, ("127.0.0.1", PORT))
        if i % 500 == 0:
            healthy()
    s.close()
    time.sleep(0.2)
    healthy()
    check(res.proc.poll() is None, "resolver died")


def tcp_connect():
    s = socket.create_connection(("127.0.0.1", PORT), timeout=3 * SLOW)
    return s


def tcp_read_msg(s):
    hdr = b""
    while len(hdr) < 2:
        chunk = s.recv(2 - len(hdr))
        if not chunk:
            return None
        hdr += chunk
    n = struct.unpack("!H", hdr)[0]
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def test_tcp_pipelined_and_garbage_frames():
    s = tcp_connect()
    msgs = [query(qid=i, edns=False) for i in range(1, 6)]
    s.sendall(b"".join(struct.pack("!H", len(m)) + m for m in msgs))
    ids = set()
    for _ in range(5):
        r = tcp_read_msg(s)
        check(r is not None, "TCP pipelined reply missing")
        ids.add(struct.unpack("!H", r[:2])[0])
    check(ids == {1, 2, 3, 4, 5}, "pipelined ids %s" % ids)
    # A garbage frame is answered FORMERR (or dropped) and the connection keeps working.
    junk = b"\x12\x34" + b"\xff" * 30
    s.sendall(struct.pack("!H", len(junk)) + junk)
    s.sendall(struct.pack("!H", len(msgs[0])) + msgs[0])
    got_ok = False
    for _ in range(2):
        r = tcp_read_msg(s)
        if r is None:
            break
        if r[:2] == msgs[0][:2] and rcode(r) == 0:
            got_ok = True
    check(got_ok, "connection unusable after a garbage frame")
    s.close()
    healthy()


def test_tcp_stalls_are_cut():
    """Clients that send half a length prefix, or a prefix and part of a message, and stall
    are closed at tcp-idle-timeout; meanwhile everyone else is served."""
    stalled = []
    for i in range(50):
        s = tcp_connect()
        s.sendall(b"\x00" if i % 2 else b"\x00\x40\x12")
        stalled.append(s)
    for _ in range(5):
        healthy()
    s = tcp_connect()
    m = query(edns=False)
    s.sendall(struct.pack("!H", len(m)) + m)
    check(tcp_read_msg(s) is not None, "TCP client not served while others stall")
    s.close()
    deadline = time.monotonic() + 8 * SLOW
    closed = 0
    for s in stalled:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            if s.recv(10) == b"":
                closed += 1
        except (socket.timeout, ConnectionResetError):
            pass
        s.close()
    check(closed == len(stalled), "only %d of %d stalled clients were closed" % (closed,
                                                                                len(stalled)))
    healthy()


def test_tcp_zero_length_and_oversized_frames():
    s = tcp_connect()
    s.sendall(b"\x00\x00")
    s.settimeout(3 * SLOW)
    try:
        check(s.recv(10) == b"", "zero-length frame did not close the connection")
    except ConnectionResetError:
        pass
    s.close()
    s = tcp_connect()
    big = b"\x00" * 65535
    s.sendall(struct.pack("!H", len(big)) + big)
    r = tcp_read_msg(s)
    check(r is None or rcode(r) == 1, "oversized zero frame: %r" % (r[:4] if r else r))
    s.close()
    healthy()


def setup():
    global res, PORT
    PORT = free_port()
    res = Daemon("duet-resolver", "")
    conf = """
listen = 127.0.0.1:%d
workers = 2
tcp-idle-timeout = 2s
root-hints = %s
[local-zone local.test]
data = www.local.test. 300 IN A 10.1.2.3
""" % (PORT, dead_root_hints(res.dir))
    with open(res.conf, "w") as f:
        f.write(conf)
    res.start()


if __name__ == "__main__":
    failed = 1
    try:
        setup()
        failed = run(test_malformed_udp, test_random_bytes_udp,
                     test_tcp_pipelined_and_garbage_frames, test_tcp_stalls_are_cut,
                     test_tcp_zero_length_and_oversized_frames, exit=False)
    finally:
        failed += stop_clean(res)  # exit 0, clean stderr
    raise SystemExit(1 if failed else 0)
