"""The shared cache in Redis (resolver/redis.c), against a real redis-server on 127.0.0.1 (a
free port) that the test starts and stops by PID, and an upstream the test scripts itself: a
forwarder thread on 127.0.0.1 that answers every A query and counts the queries it saw.

- Two resolvers share one Redis: a name the first resolved is answered by the second
  without an upstream query (the forwarder saw it once; redis_hits/redis_stores count it).
- Redis stopped mid-test: answers keep coming (from the forwarder), one redis_down line is
  logged, redis_errors moves; started again, the worker reconnects (redis_up).
- A fake "Redis" (a socket thread) that answers garbage, or accepts and never answers:
  the resolver neither crashes nor stalls: every answer within redis-timeout plus the
  resolution, counted in redis_errors / redis_timeouts.
- Poisoned values written straight into Redis (valid RESP): a wrong question inside, an
  expiry far in the future, a SECURE status with dnssec = no, bytes that are no value at
  all: none is served as it is (the forwarder's answer is); a well-formed value for the
  right question is served, so the check can tell.
Everything stays on loopback."""
import os
import select
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

from harness import (BUILD, Daemon, check, dead_root_hints, dig, dig_answers, free_port, run,
                     skip, stat)

REAL = "192.0.2.1"
FAKE = "192.0.2.66"
TIMEOUT_MS = 100


def question_end(q):
    off = 12
    while q[off] != 0:
        off += 1 + q[off]
    return off + 1 + 4


def qname_of(q):
    off, labels = 12, []
    while q[off] != 0:
        labels.append(q[off + 1:off + 1 + q[off]].decode())
        off += 1 + q[off]
    return ".".join(labels)


def wire(name):
    out = b""
    for label in name.lower().strip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def reply_for(name, addr, ttl=300):
    """A finished reply as the cache stores it: ID 0, QR RA, the question, one A record."""
    hdr = struct.pack("!HHHHHH", 0, 0x8080, 1, 1, 0, 0)
    q = wire(name) + struct.pack("!HH", 1, 1)
    rr = struct.pack("!HHHIH", 0xC00C, 1, 1, ttl, 4) + socket.inet_aton(addr)
    return hdr + q + rr


def value(msg, expire, status=0, why=0, version=1):
    """resolver/redis.h's value: version, status, why, flags, expiry, lengths, messages."""
    return struct.pack("!BBBBQHH", version, status, why, 0, expire, len(msg), 0) + msg


def key(name, qtype=1, do=0, prefix="duet:"):
    return "%s%s/%d/1/%d" % (prefix, wire(name).hex(), qtype, do)


class Forwarder:
    """A UDP thread that answers every query with one A record (REAL) and logs qnames."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.log = []
        self.lock = threading.Lock()
        self.stop_r, self.stop_w = os.pipe()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        for _ in range(100000):  # bounded: far more than the tests send
            r, _, _ = select.select([self.sock, self.stop_r], [], [], 60)
            if self.stop_r in r or not r:
                return
            q, src = self.sock.recvfrom(4096)
            if len(q) < 17 or q[2] & 0x80:
                continue
            with self.lock:
                self.log.append(qname_of(q).lower())
            qend = question_end(q)
            qid, flags = struct.unpack("!HH", q[:4])
            hdr = struct.pack("!HHHHHH", qid, 0x8000 | (flags & 0x0100) | 0x0080, 1, 1, 0, 0)
            rr = struct.pack("!HHHIH", 0xC00C, 1, 1, 300, 4) + socket.inet_aton(REAL)
            self.sock.sendto(hdr + q[12:qend] + rr, src)

    def count(self, name):
        with self.lock:
            return self.log.count(name.lower())

    def stop(self):
        os.write(self.stop_w, b"x")
        self.thread.join(10)
        self.sock.close()
        os.close(self.stop_r)
        os.close(self.stop_w)


def resp(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class Redis:
    """A real redis-server on 127.0.0.1 (free port), no persistence, stopped by PID."""

    def __init__(self, work, port=None, password=None, unix=None):
        self.port = port or free_port()
        self.work = work
        self.password = password
        self.unix = unix
        self.proc = None

    def address(self):
        return "unix:" + self.unix if self.unix else "127.0.0.1:%d" % self.port

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.work, "--daemonize", "no"] +
            (["--requirepass", self.password] if self.password else []) +
            (["--unixsocket", self.unix, "--unixsocketperm", "700"] if self.unix else []),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            check(self.proc.poll() is None, "redis-server exited at start")
            try:
                if self.command("PING") == b"+PONG\r\n":
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("redis-server did not answer PING within 10s")

    def command(self, *args):
        if self.unix:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(5)
            s.connect(self.unix)
        else:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        with s:
            if self.password:
                s.sendall(resp("AUTH", self.password))
                s.recv(100)
            s.sendall(resp(*args))
            data = b""
            for _ in range(100):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
                if data.endswith(b"\r\n") and (not data.startswith(b"$") or
                                               data == b"$-1\r\n" or
                                               len(data) >= int(data[1:data.index(b"\r\n")]) + 4 +
                                               data.index(b"\r\n")):
                    break
            return data

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


class FakeRedis:
    """A socket thread posing as Redis: "garbage" answers every read with bytes that are not
    RESP; "hang" accepts, reads and never answers."""

    def __init__(self, mode):
        self.mode = mode
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.accepted = 0
        self.stop_r, self.stop_w = os.pipe()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        for _ in range(100000):
            r, _, _ = select.select([self.sock, self.stop_r] + self.conns, [], [], 60)
            if self.stop_r in r or not r:
                return
            for s in r:
                if s is self.sock:
                    c, _ = self.sock.accept()
                    self.conns.append(c)
                    self.accepted += 1
                    continue
                try:
                    data = s.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    self.conns.remove(s)
                    s.close()
                elif self.mode == "garbage":
                    try:
                        s.sendall(b"\x00\xff garbage }{ not RESP\r\n$99999999999\r\n")
                    except OSError:
                        pass

    def stop(self):
        os.write(self.stop_w, b"x")
        self.thread.join(10)
        for c in self.conns:
            c.close()
        self.sock.close()
        os.close(self.stop_r)
        os.close(self.stop_w)


class Resolver:
    def __init__(self, work, name, fwd, redis_addr, extra="", workers=1):
        self.port = free_port()
        self.ctl = os.path.join(work, name + ".ctl")
        d = os.path.join(work, name)
        os.mkdir(d)
        conf = """listen = 127.0.0.1:%d
workers = %d
root-hints = %s
query-loopback = yes
control-socket = %s
redis = %s
redis-timeout = %dms
%s
[forward-zone redis.test]
forward-addr = 127.0.0.1:%d
""" % (self.port, workers, dead_root_hints(d), self.ctl, redis_addr, TIMEOUT_MS, extra,
       fwd.port)
        self.d = Daemon("duet-resolver", conf, workdir=d)

    def start(self):
        self.d.start()
        return self

    def ask(self, name, *args):
        out = dig("127.0.0.1", self.port, name, "A", *args)
        return sorted(r[3] for r in dig_answers(out) if r[2] == "A"), out

    def stat(self, name):
        return stat(self.ctl, name)

    def wait_log(self, text, timeout=10, times=1):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.d.stderr().count(text) >= times:
                return
            time.sleep(0.05)
        raise AssertionError("no %r in the log within %ss:\n%s" % (text, timeout,
                                                                  self.d.stderr()[-3000:]))

    def wait_stat(self, name, at_least, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.stat(name) >= at_least:
                return
            time.sleep(0.05)
        raise AssertionError("%s stayed below %d" % (name, at_least))


def with_setup(body, redis=True, fake=None, extra="", n=1, password=None, wait_up=True,
               unix=False, workers=1):
    work = tempfile.mkdtemp(prefix="duet-redis-")
    fwd = Forwarder()
    srv = Redis(work, password=password, unix=os.path.join(work, "redis.sock") if unix else None) \
        if redis else None
    resolvers = []
    try:
        if srv:
            srv.start()
        addr = srv.address() if srv else "127.0.0.1:%d" % fake.port
        for i in range(n):
            resolvers.append(Resolver(work, "r%d" % i, fwd, addr, extra, workers).start())
        # Each worker connects in the background: wait for it (bounded).
        if srv and wait_up:
            for r in resolvers:
                r.wait_log("event=redis_up", times=workers)
        body(fwd, srv, *resolvers)
        for r in resolvers:
            r.d.stop()
    finally:
        for r in resolvers:
            r.d.close()
        if srv:
            srv.stop()
        fwd.stop()


def test_second_instance_answers_from_redis():
    def body(fwd, srv, r1, r2):
        got, out = r1.ask("shared.redis.test")
        check(got == [REAL], out)
        check(fwd.count("shared.redis.test") == 1, "first query not seen upstream")
        r1.wait_stat("redis_stores", 1)
        check(srv.command("EXISTS", key("shared.redis.test")) == b":1\r\n", "no key for DO=0")
        check(srv.command("EXISTS", key("shared.redis.test", do=1)) == b":1\r\n", "no DO=1 key")
        ttl = int(srv.command("TTL", key("shared.redis.test"))[1:])
        check(290 <= ttl <= 300, "Redis TTL %d, want the answer's remaining 300s" % ttl)
        got, out = r2.ask("shared.redis.test")
        check(got == [REAL], out)
        check(fwd.count("shared.redis.test") == 1,
              "the second instance asked upstream (%d queries)" % fwd.count("shared.redis.test"))
        check(r2.stat("redis_hits") == 1, "redis_hits %d" % r2.stat("redis_hits"))
        # Now in r2's local cache: no second GET.
        got, out = r2.ask("shared.redis.test")
        check(got == [REAL] and r2.stat("redis_hits") == 1 and r2.stat("cache_hits") == 1, out)
        # A DO=1 client asks the DO=1 key: served from Redis too.
        got, out = r1.ask("signed.redis.test")
        check(got == [REAL], out)
        r1.wait_stat("redis_stores", 2)
        got, out = r2.ask("signed.redis.test", "+dnssec")
        check(got == [REAL] and fwd.count("signed.redis.test") == 1, out)
        check(r2.stat("redis_hits") == 2, "redis_hits %d" % r2.stat("redis_hits"))
        # A name nobody resolved: a miss, then upstream.
        got, out = r2.ask("fresh.redis.test")
        check(got == [REAL] and fwd.count("fresh.redis.test") == 1, out)
        check(r2.stat("redis_misses") >= 1, "redis_misses did not move")
        # dnssec = yes without trust anchors: nothing here could be SECURE, so a value
        # claiming it is refused (and one claiming nothing was validated, too).
        now = int(time.time())
        for status, label in ((1, "claimsecure"), (0, "claimnone"), (3, "claimbogus")):
            name = label + ".redis.test"
            srv.command("SET", key(name), value(reply_for(name, FAKE), now + 300, status=status))
            got, out = r2.ask(name)
            check(got == [REAL] and fwd.count(name) == 1, "%s served: %s" % (label, out))

    with_setup(body, n=2)


def test_redis_stopped_mid_test():
    def body(fwd, srv, r1):
        got, out = r1.ask("before.redis.test")
        check(got == [REAL], out)
        r1.wait_stat("redis_stores", 1)
        errors = r1.stat("redis_errors")
        srv.stop()
        r1.wait_log("event=redis_down")
        for i in range(5):
            t = time.monotonic()
            got, out = r1.ask("down%d.redis.test" % i)
            check(got == [REAL], "no answer with Redis down: %s" % out)
            check(time.monotonic() - t < 2, "slow answer with Redis down")
        check(r1.stat("redis_errors") > errors, "redis_errors did not move")
        check(r1.d.stderr().count("event=redis_down") == 1,
              "not exactly one redis_down line:\n" + r1.d.stderr()[-2000:])
        # Back on the same port: the worker reconnects within its backoff (at most 10s).
        srv.start()
        r1.wait_log("event=redis_up", timeout=15, times=2)
        got, out = r1.ask("after.redis.test")
        check(got == [REAL], out)
        r1.wait_stat("redis_stores", 2)

    with_setup(body)


def test_reload_moves_to_another_redis():
    """A reload that changes redis = (or turns it off) takes effect: each worker closes its
    client and connects to the new server; answers are written there, not to the old one.
    Before, the workers kept the connection they made at start until a restart."""
    def body(fwd, srv, r1):
        got, out = r1.ask("one.redis.test")
        check(got == [REAL], out)
        r1.wait_stat("redis_stores", 1)
        check(srv.command("EXISTS", key("one.redis.test")) == b":1\r\n", "first not in A")
        other = Redis(tempfile.mkdtemp(prefix="duet-redis-b-"))
        try:
            other.start()
            with open(r1.d.conf) as f:
                text = f.read()
            old = "redis = %s\n" % srv.address()
            check(old in text, "no %r in the config" % old)
            with open(r1.d.conf, "w") as f:
                f.write(text.replace(old, "redis = %s\n" % other.address()))
            r1.d.signal(signal.SIGHUP)
            r1.wait_log("event=reload result=accepted")
            r1.wait_log("event=redis_reconfigured")
            r1.wait_log("event=redis_up", times=2)
            got, out = r1.ask("two.redis.test")
            check(got == [REAL], out)
            r1.wait_stat("redis_stores", 2)
            check(other.command("EXISTS", key("two.redis.test")) == b":1\r\n",
                  "the answer after the reload is not in the new Redis")
            check(srv.command("EXISTS", key("two.redis.test")) == b":0\r\n",
                  "the answer after the reload went to the old Redis")
            # A value only the new server holds is served from it.
            now = int(time.time())
            other.command("SET", key("three.redis.test"),
                          value(reply_for("three.redis.test", FAKE), now + 300, status=2))
            got, out = r1.ask("three.redis.test")
            check(got == [FAKE] and fwd.count("three.redis.test") == 0, out)
            # Off: answers still come, nothing is written anywhere.
            with open(r1.d.conf, "w") as f:
                f.write(text.replace(old, "redis = \"\"\n"))
            r1.d.signal(signal.SIGHUP)
            r1.wait_log("event=reload result=accepted", times=2)
            r1.wait_log("event=redis_reconfigured", times=2)
            stores = r1.stat("redis_stores")
            got, out = r1.ask("four.redis.test")
            check(got == [REAL], out)
            check(r1.stat("redis_stores") == stores, "a store with redis turned off")
            check(other.command("EXISTS", key("four.redis.test")) == b":0\r\n", "stored")
        finally:
            other.stop()

    with_setup(body)


def fake_test(mode, counter):
    fake = FakeRedis(mode)

    def body(fwd, srv, r1):
        deadline = time.monotonic() + 10
        while fake.accepted == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        check(fake.accepted > 0, "the resolver never connected to the fake Redis")
        time.sleep(0.2)  # let the connect finish
        for i in range(20):
            time.sleep(0.1)  # spread over 2s+: the reconnects happen meanwhile
            t = time.monotonic()
            got, out = r1.ask("%s%d.redis.test" % (mode, i))
            took = time.monotonic() - t
            check(got == [REAL], "no answer with a %s Redis: %s" % (mode, out))
            # redis-timeout plus a loopback resolution, with room for a loaded machine.
            check(took < TIMEOUT_MS / 1000 + 1.0, "answer took %.2fs" % took)
        check(r1.stat(counter) > 0, "%s did not move" % counter)
        check(r1.d.proc.poll() is None, "the resolver died")
        # A Redis that keeps failing is retried less and less often (backoff doubling from
        # 100ms: 0.1+0.2+0.4+0.8+1.6 > 2s), not after every query: few down lines, few
        # queries paid the timeout.
        downs = r1.d.stderr().count("event=redis_down")
        check(downs <= 6, "%d redis_down lines for 20 queries in 2s:\n%s" % (
            downs, r1.d.stderr()[-3000:]))

    try:
        with_setup(body, redis=False, fake=fake)
    finally:
        fake.stop()


def test_stop_while_waiting_on_redis():
    """A graceful stop waits for clients whose Redis GET is still out (a hanging Redis): when
    the GET times out they are answered (SERVFAIL: the worker is stopping), not left without
    a reply by a worker that closed its socket."""
    fake = FakeRedis("hang")

    def body(fwd, srv, r1):
        deadline = time.monotonic() + 10
        while fake.accepted == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        result = {}

        def ask():
            result["out"] = dig("127.0.0.1", r1.port, "stopping.redis.test", "A")
        t = threading.Thread(target=ask)
        t.start()
        time.sleep(0.05)  # the GET is out, hanging
        r1.d.signal(signal.SIGTERM)
        t.join(15)
        out = result.get("out", "")
        check("status: NOERROR" in out or "status: SERVFAIL" in out,
              "the client waiting on Redis got no answer at the stop:\n" + out)
        r1.d.proc.wait(15)

    try:
        with_setup(body, redis=False, fake=fake)
    finally:
        fake.stop()


def test_fake_redis_garbage():
    fake_test("garbage", "redis_errors")


def test_fake_redis_hangs():
    fake_test("hang", "redis_timeouts")


def test_poisoned_values_not_served():
    def body(fwd, srv, r1):
        now = int(time.time())
        cases = [
            ("wrongq", value(reply_for("other.redis.test", FAKE), now + 300)),
            ("farexpiry", value(reply_for("farexpiry.redis.test", FAKE), now + 400 * 86400)),
            ("expired", value(reply_for("expired.redis.test", FAKE), now - 10)),
            ("shortlen", value(reply_for("shortlen.redis.test", FAKE), now + 300)[:-3]),
            ("version", value(reply_for("version.redis.test", FAKE), now + 300, version=9)),
            ("junk", b"\x01\x00\x00\x00junk"),
        ]
        errors = r1.stat("redis_errors")
        for label, val in cases:
            name = label + ".redis.test"
            check(srv.command("SET", key(name), val) == b"+OK\r\n", "SET failed")
            got, out = r1.ask(name)
            check(got == [REAL], "%s: a poisoned value was served: %s" % (label, out))
            check(fwd.count(name) == 1, "%s: not resolved upstream" % label)
        check(r1.stat("redis_errors") >= errors + len(cases),
              "redis_errors %d, want at least %d" % (r1.stat("redis_errors"),
                                                      errors + len(cases)))
        check(r1.stat("redis_hits") == 0, "a poisoned value counted as a hit")
        # The control: a well-formed value for the right question is served as it is
        # (so the cases above failed for their defect, not for the format).
        name = "good.redis.test"
        srv.command("SET", key(name), value(reply_for(name, FAKE), now + 300))
        got, out = r1.ask(name)
        check(got == [FAKE], "a good value was not served: %s" % out)
        check(fwd.count(name) == 0 and r1.stat("redis_hits") == 1, "not from Redis")
        # A value claiming SECURE is stored as NONE by a resolver with dnssec = no: no AD.
        name = "secure.redis.test"
        srv.command("SET", key(name), value(reply_for(name, FAKE), now + 300, status=1))
        got, out = r1.ask(name, "+adflag")
        check(got == [FAKE] and r1.stat("redis_hits") == 2, out)
        check(" ad" not in out.split("flags:")[1].split(";")[0], "AD set: %s" % out)

    with_setup(body, extra="dnssec = no")


def test_unix_socket():
    """redis = unix:/path: the same sharing over a UNIX socket."""
    def body(fwd, srv, r1, r2):
        got, out = r1.ask("unix.redis.test")
        check(got == [REAL], out)
        r1.wait_stat("redis_stores", 1)
        got, out = r2.ask("unix.redis.test")
        check(got == [REAL] and fwd.count("unix.redis.test") == 1, out)
        check(r2.stat("redis_hits") == 1, "redis_hits %d" % r2.stat("redis_hits"))

    # Two workers each: every worker keeps its own connection.
    with_setup(body, n=2, unix=True, workers=2)


def write_password(text):
    fd, path = tempfile.mkstemp(prefix="duet-redis-pass-")
    os.write(fd, text.encode())
    os.close(fd)
    return path


def test_auth():
    """AUTH with the password file's first line: right, shared; wrong, down (and answers)."""
    good = write_password("s3cret-pass\nignored second line\n")
    bad = write_password("wrong\n")

    def body(fwd, srv, r1):
        got, out = r1.ask("auth.redis.test")
        check(got == [REAL], out)
        r1.wait_stat("redis_stores", 1)
        check(srv.command("EXISTS", key("auth.redis.test")) == b":1\r\n", "not written")

    with_setup(body, password="s3cret-pass", extra="redis-password-file = " + good)

    def body_bad(fwd, srv, r1):
        r1.wait_log("event=redis_down")
        check("WRONGPASS" in r1.d.stderr() or "invalid" in r1.d.stderr(),
              "no AUTH error in the log:\n" + r1.d.stderr()[-2000:])
        got, out = r1.ask("badauth.redis.test")
        check(got == [REAL], out)
        check("event=redis_up" not in r1.d.stderr(), "up with a wrong password")

    with_setup(body_bad, password="s3cret-pass", extra="redis-password-file = " + bad,
               wait_up=False)
    os.unlink(good)
    os.unlink(bad)


def test_config_errors():
    """--check reports every bad redis option at its line."""
    work = tempfile.mkdtemp(prefix="duet-redis-conf-")
    empty = os.path.join(work, "empty")
    open(empty, "w").close()
    conf = os.path.join(work, "r.conf")
    with open(conf, "w") as f:
        f.write("redis = not-an-address\n"
                "redis-password-file = %s/missing\n"
                "redis-prefix = %s\n"
                "redis-timeout = 0\n" % (work, "x" * 65))
    r = subprocess.run([os.path.join(BUILD, "resolver", "duet-resolver"), "--check", "-c", conf],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 1, "exit %d" % r.returncode)
    for line, what in ((1, "redis: 'not-an-address'"), (2, "cannot read"), (3, "64 bytes"),
                       (4, "redis-timeout")):
        check("%s:%d: " % (conf, line) in r.stderr and what in r.stderr,
              "no error at line %d (%s):\n%s" % (line, what, r.stderr))
    with open(conf, "w") as f:
        f.write("redis = unix:relative\nredis-password-file = %s\n" % empty)
    r = subprocess.run([os.path.join(BUILD, "resolver", "duet-resolver"), "--check", "-c", conf],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 1 and "%s:1: " % conf in r.stderr and "%s:2: " % conf in r.stderr,
          r.stderr)


if __name__ == "__main__":
    if subprocess.run(["sh", "-c", "command -v redis-server"],
                      capture_output=True).returncode != 0:
        skip("redis-server is not installed (scripts/setup.sh installs it)")
    run(test_second_instance_answers_from_redis, test_redis_stopped_mid_test,
        test_reload_moves_to_another_redis,
        test_fake_redis_garbage, test_fake_redis_hangs, test_stop_while_waiting_on_redis,
        test_poisoned_values_not_served,
        test_auth, test_unix_socket, test_config_errors)
