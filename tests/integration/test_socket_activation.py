"""Socket activation: both daemons adopt the listening sockets systemd passes them
(LISTEN_FDS/LISTEN_PID, sd_listen_fds(3)), here through systemd's own
systemd-socket-activate, which holds the socket, starts the daemon on the first packet or
connection and hands the socket over: the query or connection that woke it is answered
from the socket's queue. Addresses the manager did not pass are bound as usual."""
import os
import shutil
import subprocess
import tempfile
import time

from harness import (BUILD, SLOW, check, check_log, dead_root_hints, dig, dig_answers,
                     free_port, run, skip)

work = tempfile.mkdtemp(prefix="duet-sa-")


def activate(args, cmd, log):
    return subprocess.Popen(["systemd-socket-activate"] + args + cmd,
                            stdout=log, stderr=log, stdin=subprocess.DEVNULL)


def stop(p):
    p.terminate()
    try:
        return p.wait(15 * SLOW)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(5)
        return None


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


def test_resolver_adopts_udp_socket():
    port = free_port()
    conf = os.path.join(work, "r.conf")
    with open(conf, "w") as f:
        f.write("listen = 127.0.0.1:%d\nroot-hints = %s\n[local-zone sa.test]\n"
                "data = www.sa.test. 60 IN A 10.9.9.9\n" % (port, dead_root_hints(work)))
    logp = os.path.join(work, "r.log")
    with open(logp, "w") as log:
        p = activate(["--datagram", "-l", "127.0.0.1:%d" % port],
                     [os.path.join(BUILD, "resolver", "duet-resolver"), "-c", conf], log)
    try:
        time.sleep(0.3)
        # The first query wakes the daemon; it is answered from the handed-over socket.
        out = dig("127.0.0.1", port, "www.sa.test", "A", "+tries=3", timeout=10)
        ans = dig_answers(out)
        check(ans and ans[0][3] == "10.9.9.9", "no answer through the adopted socket:\n" + out)
        text = read(logp)
        check("udp_from=systemd tcp_from=bind" in text, text)
        # TCP on the same port was bound by the daemon itself.
        out = dig("127.0.0.1", port, "www.sa.test", "A", "+tcp")
        check("10.9.9.9" in out, "TCP: " + out)
    finally:
        rc = stop(p)
    check(rc == 0, "resolver exit %s" % rc)
    check_log("duet-resolver", read(logp))


def test_origin_adopts_tcp_socket():
    port = free_port()
    root = os.path.join(work, "www")
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "index.html"), "w") as f:
        f.write("activated\n")
    conf = os.path.join(work, "o.conf")
    with open(conf, "w") as f:
        f.write("access-log = off\n[listen 127.0.0.1:%d]\ntls = no\n[site s]\n"
                "server-name = s.test\nroot = %s\n" % (port, root))
    logp = os.path.join(work, "o.log")
    with open(logp, "w") as log:
        p = activate(["-l", "127.0.0.1:%d" % port],
                     [os.path.join(BUILD, "origin", "duet-origin"), "-c", conf], log)
    try:
        time.sleep(0.3)
        r = subprocess.run(["curl", "-s", "--max-time", "10", "http://127.0.0.1:%d/" % port],
                           capture_output=True, text=True, timeout=30)
        check(r.stdout == "activated\n", "curl got %r" % r.stdout)
        check("from=systemd" in read(logp), read(logp))
    finally:
        rc = stop(p)
    check(rc == 0, "origin exit %s" % rc)
    check_log("duet-origin", read(logp))


if __name__ == "__main__":
    if shutil.which("systemd-socket-activate") is None:
        skip("systemd-socket-activate not installed (Debian package systemd)")
    run(test_resolver_adopts_udp_socket, test_origin_adopts_tcp_socket)
