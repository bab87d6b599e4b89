#!/usr/bin/env python3
"""Queries lost across a restart of duet-resolver under dnsperf load, with and without
socket activation.

Without: the daemon binds port P itself; it is stopped (SIGTERM) and started again while
dnsperf sends at a fixed rate, so queries that arrive while nothing listens are refused.
With: this script plays systemd's part — it holds the UDP socket, hands it to each daemon
instance as LISTEN_FDS=1 (fd 3) exactly as systemd does for a .socket unit, and restarts
the daemon while keeping the socket open, so queries queue in it during the gap.
The answers come from local data, so only the restart is measured. Run as root or not;
only 127.0.0.1 is used. Prints the two loss counts."""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BUILD = os.environ.get("DUET_BUILD", os.path.join(SRC, "build"))
BIN = os.path.join(BUILD, "resolver", "duet-resolver")
RATE, SECONDS = 5000, 6


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def config(work, port):
    hints = os.path.join(work, "hints")
    with open(hints, "w") as f:
        f.write(". 3600000 NS a.root.invalid.\na.root.invalid. 3600000 A 127.0.0.254\n")
    path = os.path.join(work, "r.conf")
    with open(path, "w") as f:
        f.write("listen = 127.0.0.1:%d\nworkers = 1\nlog-level = warn\nroot-hints = %s\n"
                "drain-timeout = 1s\n[local-zone bench.test]\n"
                "data = www.bench.test. 60 IN A 10.0.0.1\n" % (port, hints))
    return path


def start(conf, sock=None):
    if sock is None:
        return subprocess.Popen([BIN, "-c", conf], stderr=subprocess.DEVNULL)
    # LISTEN_PID must name the daemon: set it in the child, after fork, before exec.
    return subprocess.Popen(["sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" -c "$1"', BIN,
                             conf], stderr=subprocess.DEVNULL, pass_fds=(3,),
                            preexec_fn=lambda: os.dup2(sock.fileno(), 3))


def wait_ready(port):
    q = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x05bench\x04test\x00"
         b"\x00\x01\x00\x01")
    for _ in range(100):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.1)
        try:
            s.sendto(q, ("127.0.0.1", port))
            s.recv(512)
            return
        except OSError:
            time.sleep(0.05)
        finally:
            s.close()
    raise RuntimeError("resolver not answering")


def measure(activated):
    work = tempfile.mkdtemp(prefix="duet-restart-")
    port = free_port()
    conf = config(work, port)
    sock = None
    if activated:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.bind(("127.0.0.1", port))
    d = start(conf, sock)
    wait_ready(port)
    qfile = os.path.join(work, "q")
    with open(qfile, "w") as f:
        f.write("www.bench.test A\n")
    perf = subprocess.Popen(["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", qfile,
                             "-l", str(SECONDS), "-Q", str(RATE), "-t", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(2)
    t0 = time.monotonic()
    d.send_signal(signal.SIGTERM)
    d.wait(10)
    d = start(conf, sock)
    gap = time.monotonic() - t0  # until the new process is spawned, not until it is ready
    out = perf.communicate(timeout=SECONDS + 30)[0]
    d.send_signal(signal.SIGTERM)
    d.wait(10)
    sent = int(re.search(r"Queries sent:\s+(\d+)", out).group(1))
    lost = int(re.search(r"Queries lost:\s+(\d+)", out).group(1))
    return sent, lost, gap


if __name__ == "__main__":
    for tool in ("dnsperf",):
        if subprocess.run(["sh", "-c", "command -v " + tool], capture_output=True).returncode:
            print("restart_loss: %s not installed" % tool)
            sys.exit(77)
    print("duet-resolver restarted under dnsperf -Q %d for %ds (1 worker, local data):" %
          (RATE, SECONDS))
    for activated in (False, True):
        sent, lost, gap = measure(activated)
        print("  %-28s sent %6d  lost %5d (%.2f%%)  respawned in %.0f ms" %
              ("socket activation" if activated else "daemon binds its own socket",
               sent, lost, 100.0 * lost / max(sent, 1), gap * 1000))
