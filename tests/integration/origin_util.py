"""Helpers shared by the duet-origin integration tests (tests/integration/test_origin_*.py):
a test CA and site certificates made with the openssl command, site trees, the daemon's
config, curl with the test CA, openssl s_client, and raw HTTP/1.1 clients over TCP and TLS
(Python's ssl) whose every read is bounded.

Everything listens and connects on 127.0.0.1 or ::1 only.
"""
import datetime
import email.utils
import hashlib
import os
import re
import resource
import select
import shutil
import socket
import ssl
import subprocess
import tempfile
import time

from harness import SLOW, Daemon, check, free_port, skip

ORIGIN = "duet-origin"


def need(*programs):
    for p in programs:
        if shutil.which(p) is None:
            skip("%s is not installed" % p)


def raise_nofile(want):
    """Raises RLIMIT_NOFILE (inherited by the daemon) to at least want, or skips."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= want:
        return
    if hard != resource.RLIM_INFINITY and hard < want:
        skip("RLIMIT_NOFILE hard limit %d < %d" % (hard, want))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


# ---- certificates ----

def _openssl(*args, cwd=None):
    r = subprocess.run(["openssl"] + list(args), capture_output=True, text=True, timeout=60,
                       cwd=cwd)
    check(r.returncode == 0, "openssl %s failed:\n%s" % (" ".join(args), r.stderr))


class PKI:
    """A throw-away CA and the certificates it signs. Each site certificate says its key
    type in O= ("duet-ecdsa" / "duet-rsa") so a test can tell which one it was sent."""

    def __init__(self, directory):
        need("openssl")
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.ca_key = os.path.join(directory, "ca.key")
        self.ca = os.path.join(directory, "ca.pem")
        _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-out", self.ca_key)
        _openssl("req", "-x509", "-new", "-key", self.ca_key, "-sha256", "-days", "3",
                 "-subj", "/O=duet-test/CN=duet test CA", "-out", self.ca,
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                 "-addext", "subjectKeyIdentifier=hash")
        self.serial = 1000

    def site(self, name, kind="ecdsa", alt=()):
        """Makes a certificate for name (and alt names); returns (cert path, key path)."""
        base = os.path.join(self.dir, "%s.%s" % (name, kind))
        key, csr, cert, ext = base + ".key", base + ".csr", base + ".pem", base + ".ext"
        if kind == "ecdsa":
            _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                     "-out", key)
        else:
            _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                     "-out", key)
        _openssl("req", "-new", "-key", key, "-subj", "/O=duet-%s/CN=%s" % (kind, name),
                 "-out", csr)
        sans = ",".join("DNS:" + n for n in (name,) + tuple(alt))
        usage = "digitalSignature" + (",keyEncipherment" if kind == "rsa" else "")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,%s\n"
                    "extendedKeyUsage=serverAuth\nsubjectAltName=%s\n"
                    "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n" % (usage, sans))
        self.serial += 1
        _openssl("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key,
                 "-set_serial", str(self.serial), "-days", "2", "-sha256", "-extfile", ext,
                 "-out", cert)
        return cert, key


# ---- site trees ----

def write_file(path, data, mode=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    if mode is not None:
        os.chmod(path, mode)


def make_tree(root, files):
    """files: {relative path: bytes or str}. Directories are made as needed."""
    for rel, data in files.items():
        write_file(os.path.join(root, rel), data)


def open_up(path):
    """World-readable tree (the daemon may drop to 'nobody'), directories traversable."""
    for d, dirs, files in os.walk(path):
        os.chmod(d, 0o755)
        for f in files:
            p = os.path.join(d, f)
            if not os.path.islink(p):
                os.chmod(p, 0o644)


def _world_traversable(path):
    """True when every directory above path lets others in (a TMPDIR of mode 0700 would
    lock out a daemon that dropped to 'nobody')."""
    path = os.path.dirname(os.path.abspath(path))
    while True:
        if not os.stat(path).st_mode & 0o001:
            return False
        if path == "/":
            return True
        path = os.path.dirname(path)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


# ---- the daemon ----

class Origin:
    """A temp dir with a CA, two sites (site1.test: an ECDSA certificate, and an RSA one too
    with rsa=True, the default site; site2.test: ECDSA), their trees, and a duet-origin
    serving them.

    listens: list of (name, "key = value" lines) sections, each on a free port available as
    self.ports[name]; names starting with "tls" are TLS listeners (self.port is the one named
    "tls"), names ending in "6" listen on [::1] instead of 127.0.0.1."""

    def __init__(self, top="", listens=(("tls", ""),), site1_files=None, site2_files=None,
                 site_extra="", drop_to_nobody=False, access_log="stderr", rsa=False):
        need("openssl")
        self.dir = tempfile.mkdtemp(prefix="duet-origin-")
        os.chmod(self.dir, 0o755)
        self.pki = PKI(os.path.join(self.dir, "pki"))
        self.ca = self.pki.ca
        self.s1_ecdsa = self.pki.site("site1.test", "ecdsa", ("www.site1.test",))
        # An RSA pair beside the ECDSA one only where a test needs it: RSA key generation
        # can take seconds.
        self.s1_rsa = self.pki.site("site1.test", "rsa", ("www.site1.test",)) if rsa else None
        self.s2 = self.pki.site("site2.test", "ecdsa")
        self.root1 = os.path.join(self.dir, "site1")
        self.root2 = os.path.join(self.dir, "site2")
        make_tree(self.root1, site1_files or {"index.html": "<h1>site1</h1>\n"})
        make_tree(self.root2, site2_files or {"index.html": "<h1>site2</h1>\n"})
        self.user = ""
        if drop_to_nobody and os.geteuid() == 0 and _world_traversable(self.dir):
            # Root reads every file whatever its mode; as 'nobody' a mode-000 file is
            # really unreadable, as it is for a deployed origin.
            self.user = "nobody"
        open_up(self.dir)
        self.ports = {}
        sections = []
        for name, _ in listens:
            self.ports[name] = free_port()
        for name, body in listens:
            tls = "yes" if name.startswith("tls") else "no"
            addr = "[::1]" if name.endswith("6") else "127.0.0.1"
            # A body may name other listeners' ports: "https-port = {tls}".
            sections.append("[listen %s:%d]\ntls = %s\n%s\n" %
                            (addr, self.ports[name], tls, body.format(**self.ports)))
        self.port = self.ports.get("tls")
        self.conf = """
workers = 2
log-level = info
user = "%s"
access-log = %s
file-cache-valid = 200ms
%s

%s

[site site1]
server-name = site1.test
server-name = www.site1.test
root = %s
cert = %s
key = %s
%s
default = yes
%s

[site site2]
server-name = site2.test
root = %s
cert = %s
key = %s
""" % (self.user, access_log, top, "\n".join(sections), self.root1, self.s1_ecdsa[0],
       self.s1_ecdsa[1], "cert = %s\nkey = %s" % self.s1_rsa if rsa else "", site_extra,
       self.root2, self.s2[0], self.s2[1])
        self.daemon = Daemon(ORIGIN, self.conf, workdir=self.dir)

    def start(self):
        # The notify socket must accept datagrams from the daemon after it dropped to
        # 'nobody': create it world-writable.
        old = os.umask(0)
        try:
            self.daemon.start()
        finally:
            os.umask(old)
        return self

    def stderr(self):
        return self.daemon.stderr()

    def stop_clean(self):
        """SIGTERM; the daemon must exit 0 with no sanitizer report."""
        rc = self.daemon.stop()
        try:
            check(rc == 0, "%s exited %s on SIGTERM; stderr:\n%s" %
                  (ORIGIN, rc, self.stderr()[-3000:]))
            self.daemon.check_clean()
        finally:
            self.daemon.close()

    def alive(self):
        return self.daemon.proc.poll() is None


def main(origin, *tests):
    """Runs the tests against a started origin, then requires a clean stop."""
    from harness import keep_tmp, run
    failed = 1
    try:
        origin.start()
        failed = run(*tests, exit=False)
    finally:
        try:
            origin.stop_clean()
            print("ok   %-40s" % "clean_stop")
        except Exception as e:  # noqa: BLE001 - reported as a failure
            print("FAIL %-40s %s" % ("clean_stop", e))
            failed += 1
    if failed:
        print("kept for inspection: " + origin.dir)
        keep_tmp()
    else:
        shutil.rmtree(origin.dir, ignore_errors=True)  # site trees hold megabytes
    raise SystemExit(1 if failed else 0)


# ---- curl and openssl s_client ----

class CurlResult:
    def __init__(self, rc, status, headers, body, stderr):
        self.rc, self.status, self.headers = rc, status, headers
        self.body, self.stderr = body, stderr

    def h(self, name):
        """The last value of header name (lower case), or None."""
        for k, v in reversed(self.headers):
            if k == name.lower():
                return v
        return None

    def __repr__(self):
        return "curl rc=%d status=%s headers=%r body=%r stderr=%s" % (
            self.rc, self.status, self.headers, self.body[:200], self.stderr[-1500:])


def parse_head(text):
    """(status, [(lower-case name, value)]) of the last response head in text."""
    blocks = [b for b in re.split(r"\r?\n\r?\n", text) if b.startswith("HTTP/")]
    if not blocks:
        return None, []
    lines = blocks[-1].splitlines()
    status = int(lines[0].split()[1])
    headers = []
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers.append((k.strip().lower(), v.strip()))
    return status, headers


def curl(origin, path="/", host="site1.test", port=None, scheme="https", args=(), timeout=10,
         addr="127.0.0.1"):
    """One curl run against origin, verifying the server certificate with the test CA."""
    port = port or origin.port
    tmp = tempfile.mkdtemp(prefix="curl-", dir=origin.dir)
    hfile, bfile = os.path.join(tmp, "h"), os.path.join(tmp, "b")
    cmd = ["curl", "-sS", "--max-time", str(timeout * SLOW), "--resolve",
           "%s:%d:%s" % (host, port, addr), "--cacert", origin.ca, "-D", hfile, "-o", bfile]
    cmd += list(args)
    cmd.append("%s://%s:%d%s" % (scheme, host, port, path))
    r = subprocess.run(cmd, capture_output=True, timeout=timeout * SLOW + 10)
    head = open(hfile, "rb").read().decode("latin-1") if os.path.exists(hfile) else ""
    body = open(bfile, "rb").read() if os.path.exists(bfile) else b""
    shutil.rmtree(tmp, ignore_errors=True)
    status, headers = parse_head(head)
    return CurlResult(r.returncode, status, headers, body, r.stderr.decode(errors="replace"))


def s_client(origin, args=(), request=None, servername="site1.test", port=None, timeout=10):
    """openssl s_client with the test CA; request (bytes) is sent, then s_client waits for the
    server to close. Returns (exit status, stdout + stderr)."""
    port = port or origin.port
    cmd = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-CAfile", origin.ca,
           "-verify_return_error"]
    if servername:
        cmd += ["-servername", servername]
    else:
        cmd += ["-noservername"]
    if request is not None:
        cmd += ["-ign_eof"]
    cmd += list(args)
    try:
        r = subprocess.run(cmd, input=request or b"", capture_output=True,
                           timeout=timeout * SLOW)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("s_client did not finish: %r" % (e.stdout,))
    return r.returncode, (r.stdout + r.stderr).decode(errors="replace")


# ---- raw HTTP/1.1 clients ----

class Response:
    def __init__(self, status, reason, headers, body, raw_head):
        self.status, self.reason, self.headers, self.body = status, reason, headers, body
        self.raw_head = raw_head

    def h(self, name):
        for k, v in reversed(self.headers):
            if k == name.lower():
                return v
        return None

    def __repr__(self):
        return "Response(%d %s, %r, body=%r)" % (self.status, self.reason, self.headers,
                                                 self.body[:120])


class Closed(Exception):
    pass


CLOSED_ERRORS = (ConnectionResetError, BrokenPipeError, ssl.SSLEOFError, ssl.SSLZeroReturnError)


class Conn:
    """One client connection, plain TCP or TLS (certificate verified against the test CA, SNI
    as given). Every read waits at most `timeout` seconds (scaled by SLOW)."""

    def __init__(self, port, tls=True, sni="site1.test", ca=None, host="127.0.0.1", timeout=5,
                 alpn=None, tls_version=None):
        self.timeout = timeout * SLOW
        self.buf = b""
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        raw = socket.socket(fam, socket.SOCK_STREAM)
        raw.settimeout(self.timeout)
        raw.connect((host, port))
        self.raw = raw
        self.sock = raw
        if tls:
            ctx = ssl.create_default_context(cafile=ca)
            if alpn:
                ctx.set_alpn_protocols(alpn)
            if tls_version:
                ctx.minimum_version = ctx.maximum_version = tls_version
            self.sock = ctx.wrap_socket(raw, server_hostname=sni)
            self.sock.settimeout(self.timeout)
            # wrap_socket detached raw: the TLS socket is the one with the fd now.
            self.raw = self.sock
        self.backlog = b""

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def queue(self, data):
        """Bytes that go out while the reads that follow wait for answers: a pipelining
        client that writes and reads at once, on one thread. A second thread writing on the
        same TLS socket would share one OpenSSL object between two threads, which OpenSSL
        does not allow (a read then saw a false EOF now and then)."""
        self.backlog += data

    def _push(self):
        """Writes what the socket takes now of the backlog. A TLS write that must wait is
        retried with the same bytes, as OpenSSL requires."""
        self.sock.settimeout(0.0)
        try:
            n = self.sock.send(self.backlog[:16384])
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
            return
        except CLOSED_ERRORS as e:
            raise Closed(type(e).__name__ + " while sending")
        self.backlog = self.backlog[n:]

    def _readable(self, left):
        """Waits until there is something to read, writing the backlog meanwhile."""
        while self.backlog:
            if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending() > 0:
                return
            r, w, _ = select.select([self.sock], [self.sock], [], left)
            if w:
                self._push()
            if r:
                return
            if not w:
                return  # the deadline: recv below times out

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("no data within %.1fs" % self.timeout)
        self._readable(left)
        left = max(0.001, deadline - time.monotonic())
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except CLOSED_ERRORS as e:
            raise Closed(type(e).__name__)
        if not data:
            raise Closed("EOF")
        self.buf += data

    def read_response(self, head=False, timeout=None):
        """Reads one response; head=True for the answer to a HEAD (no body follows)."""
        deadline = time.monotonic() + (timeout * SLOW if timeout else self.timeout)
        while b"\r\n\r\n" not in self.buf:
            self._fill(deadline)
        raw_head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = raw_head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        check(parts[0].startswith("HTTP/1."), "not an HTTP response: %r" % raw_head[:200])
        headers = []
        for line in lines[1:]:
            k, v = line.split(":", 1)
            headers.append((k.strip().lower(), v.strip()))
        status = int(parts[1])
        length = 0
        for k, v in headers:
            if k == "content-length":
                length = int(v)
        if head or status in (204, 304) or 100 <= status < 200:
            length = 0
        while len(self.buf) < length:
            self._fill(deadline)
        body, self.buf = self.buf[:length], self.buf[length:]
        return Response(status, parts[2] if len(parts) > 2 else "", headers, body, raw_head)

    def request(self, path="/", host="site1.test", method="GET", extra="", version="1.1"):
        req = "%s %s HTTP/%s\r\n" % (method, path, version)
        if host is not None:
            req += "Host: %s\r\n" % host
        self.send(req + extra + "\r\n")
        return self.read_response(head=(method == "HEAD"))

    def wait_closed(self, timeout=5):
        """Reads until the peer closes; returns (how, extra bytes). how is 'EOF', a reset
        error name, or 'open' when nothing closed it within timeout."""
        deadline = time.monotonic() + timeout * SLOW
        extra = b""
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                break
            except CLOSED_ERRORS as e:
                return type(e).__name__, extra
            except ssl.SSLError as e:
                return "SSLError:" + str(e), extra
            if not data:
                return "EOF", extra
            extra += data
        return "open", extra

    def readable_within(self, seconds):
        r, _, _ = select.select([self.sock], [], [], seconds)
        return bool(r) or (isinstance(self.sock, ssl.SSLSocket) and self.sock.pending() > 0)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def raw_exchange(port, data, tls=False, ca=None, sni="site1.test", timeout=5):
    """Sends data on a new connection, reads until the server closes (or timeout). Returns
    (bytes received, how it ended: 'EOF', an error name, or 'open')."""
    c = Conn(port, tls=tls, ca=ca, sni=sni, timeout=timeout)
    try:
        c.send(data)
        how, got = c.wait_closed(timeout)
        return got, how
    finally:
        c.close()


def status_of(data):
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", data)
    return int(m.group(1)) if m else None


# ---- HTTP dates ----

def http_date(ts):
    return email.utils.formatdate(ts, usegmt=True)


def parse_http_date(s):
    return email.utils.parsedate_to_datetime(s).replace(tzinfo=datetime.timezone.utc).timestamp()


# ---- ss ----

def ss(*args):
    r = subprocess.run(["ss", "-H"] + list(args), capture_output=True, text=True, timeout=10)
    check(r.returncode == 0, "ss %s: %s" % (args, r.stderr))
    return r.stdout
