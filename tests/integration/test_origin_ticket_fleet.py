"""A fleet of duet-origins behind one name resumes each other's TLS sessions (issue: the origin
fleet, shared ticket keys), checked with openssl s_client -sess_out on one origin and -sess_in
on another:

- ticket-secret-file: two origins holding the same secret resume each other's tickets (TLS 1.2
  and 1.3); a ticket stops resuming after two ticket-key-lifetime periods; an origin with
  another secret does not resume them;
- ticket-key-file (nginx's 80-byte format): the same file on both resumes; a file listed
  second still decrypts; an origin without it does not;
- every site still has keys of its own: a session of site1 does not resume as site2 on the
  other origin;
- configuration errors name the line: a key file of the wrong size, both options at once.

Before this, every origin made random keys of its own: nothing resumed across origins."""
import os
import subprocess
import time

from harness import Daemon, binary, check, free_port, run
from origin_util import ORIGIN, Origin, s_client

REQ = b"GET / HTTP/1.1\r\nHost: site1.test\r\nConnection: close\r\n\r\n"
REQ2 = REQ.replace(b"site1.test", b"site2.test")
LIFETIME = 3  # seconds: ticket-key-lifetime of the secret pair


def write(path, data, mode=0o600):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    return path


class Pair:
    """Origin a (the Origin helper: CA, sites, trees) and origin b, the same configuration on
    another port with `b_top` instead of `top`."""

    def __init__(self, top, b_top=None):
        self.a = Origin(top="{TOP}")
        d = self.a.dir
        self.secret = write(os.path.join(d, "secret"), os.urandom(48))
        self.secret2 = write(os.path.join(d, "secret2"), os.urandom(48))
        self.key1 = write(os.path.join(d, "key1"), os.urandom(80))
        self.key2 = write(os.path.join(d, "key2"), os.urandom(80))
        fill = {"dir": d}
        conf = self.a.conf
        self.a.conf = conf.replace("{TOP}", top.format(**fill))
        with open(self.a.daemon.conf, "w") as f:
            f.write(self.a.conf)
        self.b_port = free_port()
        b_conf = conf.replace("{TOP}", (b_top or top).format(**fill)).replace(
            "127.0.0.1:%d" % self.a.port, "127.0.0.1:%d" % self.b_port)
        os.makedirs(os.path.join(d, "b"), exist_ok=True)
        self.b = Daemon(ORIGIN, b_conf, workdir=os.path.join(d, "b"))

    def __enter__(self):
        self.a.start()
        self.b.start()
        return self

    def __exit__(self, *exc):
        try:
            self.a.stop_clean()
        finally:
            self.b.close()

    def first(self, flag, sess, name="site1.test", req=REQ):
        rc, out = s_client(self.a, [flag, "-sess_out", sess], request=req, servername=name)
        check(rc == 0 and "New, " in out and os.path.getsize(sess) > 0, out)

    def resumes_on_b(self, flag, sess, name="site1.test", req=REQ):
        rc, out = s_client(self.a, [flag, "-sess_in", sess], request=req, servername=name,
                           port=self.b_port)
        check(rc == 0 and "HTTP/1.1 200 OK" in out, out)
        return "Reused, " in out


VERSIONS = ("-tls1_2", "-tls1_3")


def test_secret_fleet_resumes_across_origins():
    with Pair("ticket-secret-file = {dir}/secret\nticket-key-lifetime = %ds" % LIFETIME) as p:
        # start just after a period began, so that the ticket has its whole next period
        time.sleep(LIFETIME - time.time() % LIFETIME + 0.1)
        sessions = []
        for v in VERSIONS:
            sess = os.path.join(p.a.dir, "s" + v)
            p.first(v, sess)
            sessions.append((v, sess))
            check(p.resumes_on_b(v, sess), "%s: a session from origin a does not resume on b" % v)
        # per site: site1's ticket offered as site2 on the other origin
        check(not p.resumes_on_b("-tls1_3", sessions[1][1], "site2.test", REQ2),
              "site1's session resumed as site2 on origin b")
        # the next period: still resumes (issued in the previous one)
        time.sleep(LIFETIME)
        for v, sess in sessions:
            check(p.resumes_on_b(v, sess), "%s: does not resume one period later" % v)
        # two periods after it was issued: no more
        time.sleep(LIFETIME + 0.2)
        for v, sess in sessions:
            check(not p.resumes_on_b(v, sess), "%s: still resumes two periods later" % v)


def test_other_secret_does_not_resume():
    with Pair("ticket-secret-file = {dir}/secret\n",
              "ticket-secret-file = {dir}/secret2\n") as p:
        for v in VERSIONS:
            sess = os.path.join(p.a.dir, "o" + v)
            p.first(v, sess)
            check(not p.resumes_on_b(v, sess), "%s: resumed with another secret" % v)


def test_key_files():
    with Pair("ticket-key-file = {dir}/key1\n",
              "ticket-key-file = {dir}/key2\nticket-key-file = {dir}/key1\n") as p:
        for v in VERSIONS:
            sess = os.path.join(p.a.dir, "k" + v)
            p.first(v, sess)
            check(p.resumes_on_b(v, sess), "%s: key1 listed second on b does not decrypt" % v)
    with Pair("ticket-key-file = {dir}/key1\n", "ticket-key-file = {dir}/key2\n") as p:
        sess = os.path.join(p.a.dir, "k2")
        p.first("-tls1_3", sess)
        check(not p.resumes_on_b("-tls1_3", sess), "resumed on an origin without the key")


def test_config_errors():
    o = Origin()
    bad = write(os.path.join(o.dir, "short.key"), os.urandom(10))
    sec = write(os.path.join(o.dir, "s"), os.urandom(48))
    for i, (top, want) in enumerate((("ticket-key-file = %s" % bad, "has 10 bytes"),
                                     ("ticket-secret-file = %s\nticket-key-file = %s" % (sec, sec),
                                      "use one"))):
        conf = os.path.join(o.dir, "bad%d.conf" % i)
        with open(conf, "w") as f:
            f.write(o.conf.replace("file-cache-valid = 200ms", "file-cache-valid = 200ms\n" + top))
        r = subprocess.run([binary(ORIGIN), "--check", "-c", conf], capture_output=True,
                           text=True, timeout=30, stdin=subprocess.DEVNULL)
        check(r.returncode == 1 and want in r.stderr and "bad%d.conf:" % i in r.stderr,
              "%s: exit %d\n%s" % (top, r.returncode, r.stderr))


if __name__ == "__main__":
    run(test_secret_fleet_resumes_across_origins, test_other_secret_does_not_resume,
        test_key_files, test_config_errors)
