"""Scripted authoritative DNS servers for duet-resolver's tests: well-behaved zones from zone-file
text, and misbehaviour from Python handlers (delays, lame answers for some query types,
referrals with any NS and glue, extra records in any section, wrong flags, TC=1, silence).

One process serves a whole scripted "internet": a scenario function (defined in the test
module) declares servers, each on its own loopback address (port 53 unless given), with
zones and/or a handler. Every query received is logged as one JSON line (time, server,
client, transport, qname exactly as sent including its 0x20 case, qtype, RD flag, id), so a
test counts queries per server and name.

    # in tests/integration/test_x.py (the module must only run its tests under __main__)
    def scenario(net):
        net.server("127.70.0.1", zones=[Zone(".", ROOT)])
        net.server("127.70.1.1", zones=[Zone("evil.", EVIL)], handler=evil)

    auth = AuthProcess(__file__, "scenario").start()   # python3 hostile_auth.py ... as a child
    ... auth.count(server="127.70.1.1") ...
    auth.stop()                                          # SIGTERM by PID, KILL after a deadline

It runs as a separate process (closer to reality, and a test's own bug cannot wedge it):
`python3 hostile_auth.py --scenario FILE:FUNC --log LOG --ready READY`. The process imports the
test module by path (under another name, so its __main__ block does not run), calls FUNC with
a Net, binds every socket, writes READY and serves until SIGTERM.

enter_netns() moves the calling test into a new network namespace of its own with loopback
up, so the servers bind 127.70.x.y:53 without meeting anything else on the machine (the NSD
lab, other tests) and a query the resolver must never send (to 0.0.0.0, ::) lands on a
listener the test owns. The namespace ends with the test's last process: nothing to clean up.

Handlers: handler(q) gets a Query and returns a dns.message.Message, raw bytes, None (drop:
no reply) or DEFAULT (answer from the server's zones as a normal authoritative server would).
q.default() builds that answer for editing; q.delay = seconds delays the reply (other queries
are served meanwhile).
"""
import argparse
import asyncio
import ctypes
import importlib.util
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time

try:
    import dns.exception
    import dns.flags
    import dns.message
    import dns.name
    import dns.opcode
    import dns.rcode
    import dns.rdata
    import dns.rdataclass
    import dns.rdatatype
    import dns.rrset
except ImportError:  # a Python of its own (pyenv, venv) does not see Debian's python3-dnspython
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import dns.exception
        import dns.flags
        import dns.message
        import dns.name
        import dns.opcode
        import dns.rcode
        import dns.rdata
        import dns.rdataclass
        import dns.rdatatype
        import dns.rrset
    except ImportError:
        dns = None

IN = 1
DEFAULT = object()  # a handler's "answer as the zones say"


def have_dnspython():
    return dns is not None


def name(text):
    return dns.name.from_text(text)


# ---- zones ---------------------------------------------------------------------------------

class Zone:
    """An authoritative zone from zone-file text: one record a line, `NAME [TTL] [IN] TYPE RDATA`,
    names relative to origin unless they end in a dot, '@' for the origin, ';' comments.
    Records outside the origin are allowed (a hostile server's 'glue'); a normal answer never
    uses them except as additional data for NS names. An SOA is made up when none is given."""

    def __init__(self, origin, text="", default_ttl=300):
        self.origin = name(origin)
        self.rrsets = {}   # (dns.name.Name, rdtype) -> RRset
        self.names = set()  # owners, for empty non-terminals
        for raw in text.splitlines():
            line = raw.split(";", 1)[0].strip()
            if line:
                self.add(line, default_ttl)
        if (self.origin, dns.rdatatype.SOA) not in self.rrsets:
            self.add("@ 300 IN SOA ns hostmaster 1 3600 600 86400 300", default_ttl)

    def add(self, line, default_ttl=300):
        toks = line.split()
        owner = self.origin if toks[0] == "@" else dns.name.from_text(toks[0], self.origin)
        i, ttl = 1, default_ttl
        if toks[i].isdigit():
            ttl, i = int(toks[i]), i + 1
        if toks[i].upper() == "IN":
            i += 1
        rdtype = dns.rdatatype.from_text(toks[i])
        rdata = dns.rdata.from_text(IN, rdtype, " ".join(toks[i + 1:]), origin=self.origin,
                                    relativize=False)
        key = (owner, rdtype)
        rrset = self.rrsets.get(key)
        if rrset is None:
            rrset = self.rrsets[key] = dns.rrset.RRset(owner, IN, rdtype)
        rrset.add(rdata, ttl)
        n = owner
        while n.is_subdomain(self.origin):
            self.names.add(n)
            if n == self.origin:
                break
            n = n.parent()

    def get(self, owner, rdtype):
        return self.rrsets.get((owner, rdtype))

    def soa(self):
        return self.rrsets[(self.origin, dns.rdatatype.SOA)]

    def addresses(self, owner):
        out = []
        for t in (dns.rdatatype.A, dns.rdatatype.AAAA):
            r = self.get(owner, t)
            if r is not None:
                out.append(r)
        return out

    def answer(self, qname, qtype, resp, chase=0):
        """Fills resp (a response) as an authoritative server would. qname is lower-cased."""
        if chase > 8:
            return
        # Walk down from the apex: a delegation or a DNAME on the way decides.
        labels = len(qname) - len(self.origin)
        for k in range(1, labels + 1):
            n = qname.split(len(self.origin) + k)[1]
            if k < labels or qtype != dns.rdatatype.DS:
                ns = self.get(n, dns.rdatatype.NS)
                if ns is not None and n != self.origin:
                    if chase:
                        return  # a CNAME led into a child zone: the answer stops here
                    resp.flags &= ~dns.flags.AA
                    resp.authority.append(ns)
                    for rr in ns:
                        if rr.target.is_subdomain(n):  # glue: only for names in the child zone
                            for a in self.addresses(rr.target):
                                if a not in resp.additional:
                                    resp.additional.append(a)
                    return
            dname = self.get(n, dns.rdatatype.DNAME)
            if dname is not None and n != qname:
                resp.answer.append(dname)
                try:
                    target = qname.relativize(n).derelativize(dname[0].target)
                except dns.name.NameTooLong:  # RFC 6672 §2.2
                    resp.set_rcode(dns.rcode.YXDOMAIN)
                    return
                cname = dns.rrset.from_text(qname, dname.ttl, IN, dns.rdatatype.CNAME,
                                            target.to_text())
                resp.answer.append(cname)
                if target.is_subdomain(self.origin):
                    self.answer(target, qtype, resp, chase + 1)
                return
        data = self.get(qname, qtype)
        if data is not None:
            resp.answer.append(data)
            if qtype == dns.rdatatype.NS:  # addresses of the servers, as priming expects
                for rr in data:
                    for a in self.addresses(rr.target):
                        if a not in resp.additional:
                            resp.additional.append(a)
            return
        cname = self.get(qname, dns.rdatatype.CNAME)
        if cname is not None and qtype != dns.rdatatype.CNAME:
            resp.answer.append(cname)
            if cname[0].target.is_subdomain(self.origin):
                self.answer(cname[0].target, qtype, resp, chase + 1)
            return
        if qname in self.names:
            if not chase:
                resp.authority.append(self.soa())
            return
        # Wildcard at the closest encloser.
        enc = qname.parent()
        while enc not in self.names and enc != self.origin:
            enc = enc.parent()
        wild = dns.name.Name((b"*",) + enc.labels)
        for t in (qtype, dns.rdatatype.CNAME):
            w = self.get(wild, t)
            if w is not None:
                synth = dns.rrset.RRset(qname, IN, t)
                for rd in w:
                    synth.add(rd, w.ttl)
                resp.answer.append(synth)
                if t == dns.rdatatype.CNAME and w[0].target.is_subdomain(self.origin):
                    self.answer(w[0].target, qtype, resp, chase + 1)
                return
        if any(n.is_subdomain(wild) for n in self.names):
            if not chase:
                resp.authority.append(self.soa())
            return
        if not chase:
            resp.set_rcode(dns.rcode.NXDOMAIN)
            resp.authority.append(self.soa())


# ---- queries and servers -------------------------------------------------------------------

class Query:
    def __init__(self, server, wire, msg, src, tcp):
        self.server = server      # the Server that got it
        self.wire = wire
        self.msg = msg
        self.src = src
        self.tcp = tcp
        q = msg.question[0] if msg.question else None
        self.qname_sent = q.name if q is not None else None  # as sent: 0x20 case kept
        self.qname = name(q.name.to_text().lower()) if q is not None else None
        self.qtype = q.rdtype if q is not None else 0
        self.rd = bool(msg.flags & dns.flags.RD)
        self.delay = 0.0

    def reply(self, rcode=0, aa=True):
        """An empty response to this query (question echoed as sent)."""
        r = dns.message.make_response(self.msg)
        if aa:
            r.flags |= dns.flags.AA
        r.set_rcode(rcode)
        return r

    def default(self):
        """The answer from this server's zones: the deepest zone holding the name; REFUSED
        when none does."""
        r = self.reply()
        zone = self.server.zone_for(self.qname, self.qtype)
        if zone is None:
            r.flags &= ~dns.flags.AA
            r.set_rcode(dns.rcode.REFUSED)
            return r
        zone.answer(self.qname, self.qtype, r)
        return r

    def under(self, suffix):
        return self.qname is not None and self.qname.is_subdomain(name(suffix))


class Server:
    def __init__(self, addr, port=53, zones=(), handler=None, udp=True, tcp=True):
        self.addr, self.port = addr, port
        self.zones = list(zones)
        self.handler = handler
        self.udp, self.tcp = udp, tcp

    def zone_for(self, qname, qtype):
        best = None
        for z in self.zones:
            if qname.is_subdomain(z.origin) and (best is None or len(z.origin) > len(best.origin)):
                # DS is answered by the parent side: a server holding both sides answers from
                # the parent for the child's apex.
                if qtype == dns.rdatatype.DS and qname == z.origin and z.origin != dns.name.root:
                    continue
                best = z
        return best


class Net:
    """What a scenario function builds."""

    def __init__(self, args):
        self.servers = []
        self.args = args  # --arg key=value pairs from the command line

    def server(self, addr, zones=(), handler=None, port=53, udp=True, tcp=True):
        s = Server(addr, port, zones, handler, udp, tcp)
        self.servers.append(s)
        return s


# ---- the serving process -------------------------------------------------------------------

class Runner:
    def __init__(self, net, log_path):
        self.net = net
        self.log = open(log_path, "a", buffering=1)
        self.t0 = time.time()

    def record(self, srv, q, src, tcp):
        ent = {"t": time.time(), "server": srv.addr, "port": srv.port, "src": src[0],
               "tcp": tcp, "qname": q.qname_sent.to_text() if q.qname_sent else None,
               "qtype": dns.rdatatype.to_text(q.qtype) if q.qname_sent else None,
               "rd": q.rd, "id": q.msg.id}
        self.log.write(json.dumps(ent) + "\n")

    def respond(self, srv, wire, src, tcp):
        """Returns (delay, reply bytes or None)."""
        try:
            msg = dns.message.from_wire(wire)
        except Exception:  # noqa: BLE001 - a server ignores what it cannot parse
            return 0, None
        q = Query(srv, wire, msg, src, tcp)
        self.record(srv, q, src, tcp)
        if q.qname_sent is None or msg.flags & dns.flags.QR:
            return 0, None
        try:
            out = srv.handler(q) if srv.handler else DEFAULT
            if out is DEFAULT:
                out = q.default()
        except Exception as e:  # noqa: BLE001 - a handler bug answers SERVFAIL, logged
            self.log.write(json.dumps({"t": time.time(), "server": srv.addr,
                                       "handler_error": repr(e)}) + "\n")
            out = q.reply(dns.rcode.SERVFAIL, aa=False)
        if out is None:
            return q.delay, None
        if isinstance(out, dns.message.Message):
            # Over UDP a reply that does not fit is truncated, as a real server would.
            limit = 65535 if tcp else max(512, msg.payload if msg.edns >= 0 else 512)
            try:
                data = out.to_wire(max_size=limit)
            except dns.exception.TooBig:
                out.answer, out.authority, out.additional = [], [], []
                out.flags |= dns.flags.TC
                data = out.to_wire()
            return q.delay, data
        return q.delay, bytes(out)

    async def serve(self):
        loop = asyncio.get_running_loop()
        transports = []
        runner = self

        class Udp(asyncio.DatagramProtocol):
            def __init__(self, srv):
                self.srv = srv

            def connection_made(self, transport):
                self.transport = transport

            def datagram_received(self, data, src):
                delay, out = runner.respond(self.srv, data, src, False)
                if out is None:
                    return
                if delay:
                    loop.call_later(delay, self.send, out, src)
                else:
                    self.send(out, src)

            def send(self, out, src):
                if not self.transport.is_closing():
                    self.transport.sendto(out, src)

        def tcp_handler(srv):
            async def handle(reader, writer):
                src = writer.get_extra_info("peername")
                try:
                    for _ in range(1000):
                        hdr = await reader.readexactly(2)
                        data = await reader.readexactly(struct.unpack("!H", hdr)[0])
                        delay, out = runner.respond(srv, data, src, True)
                        if delay:
                            await asyncio.sleep(delay)
                        if out is None:
                            continue
                        writer.write(struct.pack("!H", len(out)) + out)
                        await writer.drain()
                except (asyncio.IncompleteReadError, ConnectionError):
                    pass
                finally:
                    writer.close()
            return handle

        for srv in self.net.servers:
            fam = socket.AF_INET6 if ":" in srv.addr else socket.AF_INET
            if srv.udp:
                s = socket.socket(fam, socket.SOCK_DGRAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((srv.addr, srv.port))
                t, _ = await loop.create_datagram_endpoint(lambda srv=srv: Udp(srv), sock=s)
                transports.append(t)
            if srv.tcp:
                s = socket.socket(fam, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((srv.addr, srv.port))
                server = await asyncio.start_server(tcp_handler(srv), sock=s)
                transports.append(server)
        return transports


def load_scenario(spec, args):
    path, func = spec.rsplit(":", 1)
    sys.modules.setdefault("hostile_auth", sys.modules[__name__])
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    mod_spec = importlib.util.spec_from_file_location("hostile_scenario", path)
    mod = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(mod)
    net = Net(args)
    getattr(mod, func)(net)
    return net


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenario", required=True, help="FILE:FUNCTION building the servers")
    ap.add_argument("--log", required=True, help="JSON-lines query log")
    ap.add_argument("--ready", help="file written once every socket is bound")
    ap.add_argument("--arg", action="append", default=[], help="key=value for the scenario")
    a = ap.parse_args(argv)
    if dns is None:
        print("hostile_auth: dnspython is missing (Debian package python3-dnspython)",
              file=sys.stderr)
        return 2
    args = dict(kv.split("=", 1) for kv in a.arg)
    net = load_scenario(a.scenario, args)
    runner = Runner(net, a.log)

    async def amain():
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        transports = await runner.serve()
        if a.ready:
            with open(a.ready + ".tmp", "w") as f:
                f.write("%d\n" % os.getpid())
            os.rename(a.ready + ".tmp", a.ready)
        await stop.wait()
        for t in transports:
            t.close()

    asyncio.run(amain())
    return 0


# ---- the test side -------------------------------------------------------------------------

class AuthProcess:
    """The scripted servers as a child process of the test, stopped by PID."""

    def __init__(self, scenario_file, func, workdir=None, args=None):
        import tempfile
        self.dir = workdir or tempfile.mkdtemp(prefix="duet-hostile-")
        self.log_path = os.path.join(self.dir, "auth-%s.log" % func)
        self.ready = os.path.join(self.dir, "auth-%s.ready" % func)
        self.err_path = os.path.join(self.dir, "auth-%s.stderr" % func)
        self.cmd = [sys.executable, os.path.abspath(__file__), "--scenario",
                    "%s:%s" % (os.path.abspath(scenario_file), func), "--log", self.log_path,
                    "--ready", self.ready]
        for k, v in (args or {}).items():
            self.cmd += ["--arg", "%s=%s" % (k, v)]
        self.proc = None

    def start(self, timeout=20):
        for p in (self.ready, self.log_path):
            if os.path.exists(p):
                os.unlink(p)
        open(self.log_path, "w").close()
        self.err = open(self.err_path, "ab")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=self.err,
                                     stderr=self.err)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(self.ready):
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("hostile_auth did not start: %s" % self.stderr())

    def stderr(self):
        try:
            with open(self.err_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self, timeout=5):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        """Every query received so far, oldest first (dicts, see Runner.record)."""
        out = []
        with open(self.log_path) as f:
            for line in f:
                if line.endswith("\n"):
                    out.append(json.loads(line))
        return out

    def mark(self):
        """A position in the log: pass it as since= to count only later queries."""
        return len(self.log())

    def queries(self, server=None, under=None, qname=None, qtype=None, since=0, rd=None):
        """Queries matching all given filters: server address, qname under a suffix or equal
        to a name (case-insensitive), qtype text, RD flag; since a mark."""
        out = []
        for e in self.log()[since:]:
            if "handler_error" in e:
                continue
            qn = (e["qname"] or "").lower()
            if server is not None and e["server"] != server:
                continue
            if qtype is not None and e["qtype"] != qtype:
                continue
            if rd is not None and e["rd"] != rd:
                continue
            if qname is not None and qn != qname.lower().rstrip(".") + ".":
                continue
            if under is not None:
                suf = under.lower().rstrip(".") + "."
                if suf != "." and not (qn == suf or qn.endswith("." + suf)):
                    continue
            out.append(e)
        return out

    def count(self, **kw):
        return len(self.queries(**kw))

    def handler_errors(self):
        return [e for e in self.log() if "handler_error" in e]


def test_main(test_file, namespace, tests):
    """The main of a test file built on this module: skips without dnspython or a network
    namespace, starts the file's `scenario` servers, sets namespace["auth"] to them, runs
    the tests (only those named on the command line, if any), fails on any handler error
    of the scripted servers, stops them, and exits with the result."""
    from harness import run, skip
    if not have_dnspython():
        skip("dnspython is not installed (scripts/setup.sh installs python3-dnspython)")
    why = enter_netns()
    if why:
        skip(why)
    failed = 1
    auth = namespace["auth"] = AuthProcess(test_file, "scenario")
    try:
        auth.start()
        failed = run(*[t for t in tests if not sys.argv[1:] or t.__name__ in sys.argv[1:]],
                     exit=False)
        errs = auth.handler_errors()
        if errs:
            print("FAIL scripted servers: handler errors %s" % errs[:3])
            failed += 1
    finally:
        auth.stop()
    raise SystemExit(1 if failed else 0)


def enter_netns():
    """Moves this process into a new network namespace with loopback up. Returns None on
    success, else why not (the caller skips)."""
    if os.geteuid() != 0:
        return "needs root (a network namespace of its own, port 53)"
    libc = ctypes.CDLL(None, use_errno=True)
    CLONE_NEWNET = 0x40000000
    if libc.unshare(CLONE_NEWNET) != 0:
        return "unshare(CLONE_NEWNET): %s" % os.strerror(ctypes.get_errno())
    r = subprocess.run(["ip", "link", "set", "lo", "up"], capture_output=True, text=True)
    if r.returncode != 0:
        return "ip link set lo up: " + r.stderr
    return None


def write_hints(directory, root_addr="127.70.0.1"):
    """Root hints naming one root server, a.root.hostile., at root_addr."""
    path = os.path.join(directory, "hostile-root.hints")
    with open(path, "w") as f:
        f.write(".  3600000 NS a.root.hostile.\na.root.hostile. 3600000 A %s\n" % root_addr)
    return path


def Resolver(extra="", root_addr="127.70.0.1", workers=1):
    """The resolver under test: duet-resolver, or Unbound when DUET_PEER=unbound (to check
    that a test's expectations are what a reference resolver does)."""
    if os.environ.get("DUET_PEER") == "unbound":
        return UnboundResolver(extra, root_addr)
    return DuetResolver(extra, root_addr, workers)


def with_resolver(extra, body):
    """Runs body(res) against a fresh resolver under test (Resolver(extra), so an empty
    cache), then finish()es it: the test fails unless the daemon exits 0 with no sanitizer
    report. If body fails, the daemon is only close()d (stopped by PID) and body's failure
    is what the test reports."""
    res = Resolver(extra).start()
    try:
        body(res)
        res.finish()
    finally:
        res.close()


class DuetResolver:
    """duet-resolver (harness.Daemon) configured for a scripted internet: root hints naming
    the scripted root, query-loopback = yes, debug log, one worker; `extra` is appended to
    the generated config (options, then any [sections])."""

    def __init__(self, extra="", root_addr="127.70.0.1", workers=1):
        import harness
        self.h = harness
        self.port = harness.free_port()
        self.d = harness.Daemon("duet-resolver", "")
        self.hints = write_hints(self.d.dir, root_addr)
        self.base = ("listen = 127.0.0.1:%d\nworkers = %d\nlog-level = debug\n"
                     "root-hints = %s\nquery-loopback = yes\n" %
                     (self.port, workers, self.hints))
        self.write(extra)

    def write(self, extra):
        """Rewrites the config file (SIGHUP makes a running daemon reload it)."""
        with open(self.d.conf, "w") as f:
            f.write(self.base + extra)

    def start(self):
        self.d.start()
        return self

    def ask(self, qname, qtype="A", *extra, timeout=8):
        """dig's output; fails at once, with the crash report, if the daemon died."""
        out = self.h.dig("127.0.0.1", self.port, qname, qtype, *extra, timeout=timeout)
        rc = self.d.proc.poll()
        if rc is not None:
            err = self.d.stderr()
            i = err.find("ERROR: AddressSanitizer")
            tail = err[i:i + 2500] if i >= 0 else err[-2000:]
            raise self.h.Failure("duet-resolver died (status %s) while answering %s %s; "
                                 "stderr:\n%s" % (rc, qname, qtype, tail))
        return out

    def stderr(self):
        return self.d.stderr()

    def alive(self):
        return self.d.proc is not None and self.d.proc.poll() is None

    def finish(self):
        """Stops the daemon; fails unless it exits 0 with no sanitizer report."""
        try:
            rc = self.d.stop()
            self.h.check(rc == 0, "duet-resolver exited %s; stderr tail:\n%s" %
                         (rc, self.d.stderr()[-3000:]))
            self.d.check_clean()
        finally:
            self.d.close()

    def close(self):
        """Stops the daemon whatever state it is in (for finally: blocks)."""
        try:
            self.d.close()
        except Exception:  # noqa: BLE001 - teardown after a failure already reported
            pass


class _UnboundDaemon:
    """Just enough of harness.Daemon for the tests' use of res.d."""

    def __init__(self, owner):
        self.owner = owner
        self.proc = None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait_message(self, want, timeout=10):
        time.sleep(1.0)  # Unbound has no notify socket here: give the reload a moment


class UnboundResolver:
    """Unbound with the duet-resolver options the tests use translated (a reference run)."""

    def __init__(self, extra="", root_addr="127.70.0.1"):
        import tempfile
        import harness
        self.h = harness
        self.port = harness.free_port()
        self.dir = tempfile.mkdtemp(prefix="duet-unbound-")
        self.hints = write_hints(self.dir, root_addr)
        self.conf = os.path.join(self.dir, "unbound.conf")
        self.log = os.path.join(self.dir, "unbound.log")
        self.d = _UnboundDaemon(self)
        self.write(extra)

    def write(self, extra):
        server = ["interface: 127.0.0.1@%d" % self.port, "interface-automatic: no",
                  "num-threads: 1", "do-ip6: yes", "username: \"\"", "chroot: \"\"",
                  "directory: \"%s\"" % self.dir, "pidfile: \"\"", "use-syslog: no",
                  "logfile: \"%s\"" % self.log, "verbosity: 1",
                  "root-hints: \"%s\"" % self.hints, "do-not-query-localhost: no",
                  "module-config: \"iterator\"", "local-zone: \"test.\" nodefault"]
        sections, cur = [], None
        for line in extra.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                kind, zname = line.strip("[]").split()
                cur = [kind + ":", "    name: \"%s\"" % zname]
                sections.append(cur)
                continue
            k, v = [x.strip() for x in line.split("=", 1)]
            if k in ("forward-addr", "stub-addr"):
                if v.count(":") == 1:
                    v = v.replace(":", "@")
                cur.append("    %s: %s" % (k, v))
            elif k == "forward-first":
                cur.append("    forward-first: %s" % v)
            elif k == "qname-minimisation":
                server.append("qname-minimisation: %s" % v)
            elif k == "do-not-query-address":
                server.append("do-not-query-address: %s" % v)
            # upstream-timeout, max-upstream-queries: no direct Unbound equivalent
        with open(self.conf, "w") as f:
            f.write("server:\n" + "".join("    %s\n" % x for x in server))
            for sec in sections:
                f.write("\n".join(sec) + "\n")

    def start(self):
        self.errf = open(os.path.join(self.dir, "unbound.stderr"), "ab")
        self.d.proc = subprocess.Popen(["unbound", "-d", "-c", self.conf],
                                       stdin=subprocess.DEVNULL, stdout=self.errf,
                                       stderr=self.errf)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            s = socket.socket()
            try:
                s.connect(("127.0.0.1", self.port))
                return self
            except OSError:
                time.sleep(0.05)
            finally:
                s.close()
        raise RuntimeError("unbound did not start: " + self.stderr())

    def ask(self, qname, qtype="A", *extra, timeout=8):
        return self.h.dig("127.0.0.1", self.port, qname, qtype, *extra, timeout=timeout)

    def stderr(self):
        out = ""
        for n in ("unbound.stderr", "unbound.log"):
            try:
                with open(os.path.join(self.dir, n), "rb") as f:
                    out += f.read().decode(errors="replace")
            except OSError:
                pass
        return out

    def alive(self):
        return self.d.proc.poll() is None

    def finish(self):
        self.close()

    def close(self):
        if self.d.proc and self.d.proc.poll() is None:
            self.d.proc.terminate()
            try:
                self.d.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.d.proc.kill()
                self.d.proc.wait(5)


if __name__ == "__main__":
    sys.exit(main())
