"""The integration-test harness: start the real daemons on loopback, wait for them, stop them.

Each test is a plain script (run by ctest) that imports this module. A Daemon runs one
duet binary in a temp dir with a generated config, a NOTIFY_SOCKET the harness listens on
(readiness comes from READY=1, as under systemd), stderr captured to a file, and is stopped
by PID (TERM, then KILL after a deadline). Every wait has a deadline.

Every stop of a Daemon checks it (nginx-tests fails a test on any [alert]): the daemon must
have exited 0, and its stderr must hold no sanitizer report, no error-level line and no
sign of an unclean shutdown (handles left open, a loop that would not close) unless the
test declared that event: Daemon(..., expect_errors=["reload_error"]). A test that
provokes an error it did not declare fails.

A test skips (exit 77, reason printed) only before its tests start, when something it needs
is missing; scripts/test.sh fails the suite on a skip it does not allow (see there). A
skip() from inside a test function is a failure of that test (run() below), so a missing
tool can never turn failures already seen into "Skipped".

Every temp dir a test makes with tempfile goes under one directory per test process
(TMP_BASE), removed when the process exits after a run without failures and kept, with its
path printed, after a failure: runs used to leave thousands of directories in /tmp.
"""
import atexit
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("DUET_SRC", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD = os.environ.get("DUET_BUILD", os.path.join(SRC, "build"))
SANITIZE = os.environ.get("DUET_SANITIZE", "0") in ("1", "ON", "TRUE", "true")
TSAN = os.environ.get("DUET_TSAN", "0") in ("1", "ON", "TRUE", "true")
# Sanitizer builds are a few times slower (ThreadSanitizer more so): stretch the deadlines.
SLOW = 6 if TSAN else 4 if SANITIZE else 1

SKIP = 77

# Short: control and notify sockets live below it, and a socket path has 107 bytes.
TMP_BASE = tempfile.mkdtemp(prefix="dt-%s-" % os.path.splitext(
    os.path.basename(sys.argv[0] or "py"))[0].replace("test_", "")[:24])
os.chmod(TMP_BASE, 0o755)  # as /tmp: a daemon that drops privileges still reaches its dir
tempfile.tempdir = TMP_BASE
_keep_tmp = False


def keep_tmp(keep=True):
    """Keeps TMP_BASE at exit (a failure: its files are what to look at); keep=False takes
    that back after a failure provoked on purpose (test_harness.py)."""
    global _keep_tmp
    _keep_tmp = keep


def _excepthook(kind, value, tb):
    keep_tmp()
    sys.__excepthook__(kind, value, tb)


sys.excepthook = _excepthook


@atexit.register
def _clean_tmp():
    if _keep_tmp:
        print("info temp files kept in " + TMP_BASE)
    else:
        shutil.rmtree(TMP_BASE, ignore_errors=True)


def binary(name):
    for p in (os.path.join(BUILD, "resolver", name), os.path.join(BUILD, "origin", name),
              os.path.join(BUILD, name)):
        if os.path.exists(p):
            return p
    raise FileNotFoundError(name + " not built in " + BUILD)


def skip(reason):
    print("SKIP: " + reason)
    sys.exit(SKIP)


_given_ports = set()


def free_port(kind=socket.SOCK_STREAM, host="127.0.0.1"):
    """A port free for both TCP and UDP on host right now, never one this process gave out
    before. Drawn from 10000-32767, below the kernel's ephemeral range (32768-60999 here):
    a port the kernel handed to bind(0) goes back to that pool when the probe closes, and
    any outgoing socket of a test running beside this one (dig, curl, a resolver's upstream
    query) could take it before the daemon binds it. (kind: both are checked anyway.)"""
    import random
    for _ in range(200):
        port = random.randint(10000, 32767)
        if port in _given_ports:
            continue
        free = True
        for k in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, k)
            try:
                s.bind((host, port))
            except OSError:
                free = False
            finally:
                s.close()
        if free:
            _given_ports.add(port)
            return port
    raise RuntimeError("no free port")


def dead_root_hints(directory):
    """Writes root hints naming a root server on 127.0.0.254 (where nothing listens) and
    returns the path. Tests that need no upstream use it so that no query can ever leave
    the machine: with query-loopback = no the resolver will not even send to it."""
    path = os.path.join(directory, "dead-root.hints")
    with open(path, "w") as f:
        f.write(".  3600000 NS a.root.invalid.\na.root.invalid. 3600000 A 127.0.0.254\n")
    return path


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


# What a sanitizer or a crash leaves on stderr. Never expected: no declaration allows one.
SANITIZER_REPORTS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "WARNING: ThreadSanitizer", "ERROR: ThreadSanitizer",
                     "AddressSanitizer:DEADLYSIGNAL", "Segmentation fault")
# Events of an unclean shutdown (common/worker.c, common/lifecycle.c), whatever their level:
# a handle still open when the worker's loop ended, a loop that would not close.
UNCLEAN_EVENTS = ("worker_handle_left", "worker_loop_close", "main_loop_close")
_EVENT = re.compile(r"^(?:<\d>)?level=(\w+) event=(\S+)")


def log_problems(text, expect_errors=()):
    """What in a daemon's stderr text fails a test: sanitizer reports, error-level lines and
    unclean-shutdown events whose event name is not in expect_errors. Returns a list of
    descriptions (empty when clean)."""
    problems = []
    for bad in SANITIZER_REPORTS:
        if bad in text:
            i = text.index(bad)
            problems.append("sanitizer report '%s':\n%s" % (bad, text[max(0, i - 200):i + 3000]))
    unexpected = []
    for line in text.splitlines():
        m = _EVENT.match(line)
        if m is None:
            continue
        level, event = m.groups()
        if (level == "error" or event in UNCLEAN_EVENTS) and event not in expect_errors:
            unexpected.append(line)
    if unexpected:
        problems.append("%d unexpected error/unclean-shutdown line(s) (declare a legitimate "
                        "one with expect_errors=[EVENT]):\n%s" %
                        (len(unexpected), "\n".join(unexpected[:20])))
    return problems


def check_log(name, text, expect_errors=()):
    """Fails (Failure) when log_problems() finds anything in text."""
    problems = log_problems(text, expect_errors)
    check(not problems, "%s stderr: %s" % (name, "\n".join(problems)))


class Daemon:
    """One running duet daemon.

    expect_errors: event names this test provokes on purpose, allowed at error level (and
    for the unclean-shutdown events); anything else at error level fails the stop.
    expect_exit: the exit status stop() requires (default 0; None accepts any). Both may be
    changed on the object before stop()."""

    def __init__(self, name, config_text, workdir=None, args=(), env=None, expect_errors=(),
                 expect_exit=0):
        self.name = name
        self.expect_errors = list(expect_errors)
        self.expect_exit = expect_exit
        self.checked = False  # the stop check ran for the current process
        self.dir = workdir or tempfile.mkdtemp(prefix="duet-it-")
        self.conf = os.path.join(self.dir, name + ".conf")
        with open(self.conf, "w") as f:
            f.write(config_text)
        self.args = list(args)
        self.env = dict(os.environ)
        if env:
            self.env.update(env)
        self.proc = None
        self.notify = None
        self.stderr_path = os.path.join(self.dir, name + ".stderr")
        self.messages = []

    def start(self, wait_ready=True, timeout=10):
        npath = os.path.join(self.dir, "notify.sock")
        if os.path.exists(npath):
            os.unlink(npath)
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(npath)
        self.env["NOTIFY_SOCKET"] = npath
        self.errf = open(self.stderr_path, "ab")
        self.checked = False
        self.proc = subprocess.Popen([binary(self.name), "-c", self.conf] + self.args,
                                     stdin=subprocess.DEVNULL, stdout=self.errf,
                                     stderr=self.errf, env=self.env)
        if wait_ready:
            self.wait_message("READY=1", timeout)
        return self

    def wait_message(self, want, timeout=10):
        """Waits for a notify datagram containing the line `want`; returns all lines seen."""
        deadline = time.monotonic() + timeout * SLOW
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Failure("%s exited with %s before sending %s; stderr:\n%s" %
                              (self.name, self.proc.returncode, want, self.stderr()))
            self.notify.settimeout(0.1)
            try:
                data = self.notify.recv(4096).decode()
            except socket.timeout:
                continue
            lines = data.split("\n")
            self.messages.extend(lines)
            if want in lines:
                return lines
        raise Failure("%s: no %s within %ss; got %r; stderr:\n%s" %
                      (self.name, want, timeout, self.messages, self.stderr()))

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=15):
        """SIGTERM (unless it has exited already), wait for exit (KILL after the deadline),
        then check the stop once per process: exit status expect_exit, and check_clean().
        Returns the exit status; raises Failure when a check fails."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout * SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                self.checked = True
                raise Failure("%s did not stop within %ss of SIGTERM; stderr:\n%s" %
                              (self.name, timeout * SLOW, self.stderr()[-3000:]))
        rc = self.proc.returncode
        if not self.checked:
            self.checked = True  # once: close() after a failed stop() does not repeat it
            err = self.stderr()
            problems = log_problems(err, self.expect_errors)
            if self.expect_exit is not None and rc != self.expect_exit:
                # A sanitizer's report, when there is one, says more than its exit status.
                problems.insert(0, "exited with status %s (want %s)%s%s" % (
                    rc, self.expect_exit, " (killed by signal %d)" % -rc if rc < 0 else "",
                    "" if problems else "; stderr:\n" + err[-3000:]))
            check(not problems, "%s: %s" % (self.name, "\n".join(problems)))
        return rc

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def check_clean(self):
        """Fails if stderr holds a sanitizer report, an error-level line or an unclean
        shutdown event not in expect_errors (see log_problems). stop() calls it; a test may
        call it any time."""
        check_log(self.name, self.stderr(), self.expect_errors)

    def close(self):
        try:
            self.stop()
        finally:
            if self.notify:
                self.notify.close()
                self.notify = None


def stop_clean(*daemons):
    """Stops each daemon given (None is skipped): stop() checks its exit status and stderr.
    Prints "ok"/"FAIL clean_stop NAME" per daemon, closes it whatever happened, and returns
    the number of failures, for a test's teardown to add to run()'s."""
    failed = 0
    for d in daemons:
        if d is None:
            continue
        try:
            d.stop()
            print("ok   %-40s" % ("clean_stop " + d.name))
        except Exception as e:  # noqa: BLE001 - reported as a failure
            print("FAIL %-40s %s" % ("clean_stop " + d.name, e))
            failed += 1
            keep_tmp()
        finally:
            d.close()
    return failed


def run(*tests, exit=True):
    """Runs each test function, prints a line per test and a summary; exits 1 on failure
    (or, with exit=False, returns the number of failures)."""
    failed = 0
    for t in tests:
        start = time.monotonic()
        try:
            t()
            print("ok   %-40s %.2fs" % (t.__name__, time.monotonic() - start))
        except SystemExit as e:
            if e.code != SKIP:
                raise
            # A skip belongs before the tests start: here it would hide what ran before it.
            failed += 1
            print("FAIL %-40s skip() called inside a test function (check what it needs "
                  "before run())" % t.__name__)
        except Exception as e:  # noqa: BLE001 - report any failure with its text
            failed += 1
            print("FAIL %-40s %s: %s" % (t.__name__, type(e).__name__, e))
            # A failure in a finally: (a daemon's stop check) replaces the test's own.
            if isinstance(e.__context__, (Failure, AssertionError)):
                print("     while handling %s: %s" % (type(e.__context__).__name__,
                                                       e.__context__))
    print("%d passed, %d failed" % (len(tests) - failed, failed))
    if failed:
        keep_tmp()
    if not exit:
        return failed
    sys.exit(1 if failed else 0)


class Lab:
    """The NSD DNS hierarchy of tests/lab/lab.sh, started in a temp dir, stopped by PID."""

    def __init__(self):
        if os.geteuid() != 0:
            skip("the DNS lab needs root (NSD binds port 53 on 127.53.x.y)")
        if subprocess.run(["sh", "-c", "command -v nsd"], capture_output=True).returncode != 0:
            skip("nsd is not installed (scripts/setup.sh installs it)")
        self.dir = tempfile.mkdtemp(prefix="duet-lab-")
        self.script = os.path.join(SRC, "tests", "lab", "lab.sh")

    def start(self):
        r = subprocess.run(["bash", self.script, "start", self.dir], capture_output=True,
                           text=True, timeout=60)
        if r.returncode == 77:
            skip("lab prerequisites missing: " + r.stdout + r.stderr)
        if r.returncode != 0:
            self.stop()  # whatever did start is stopped by PID before failing
        check(r.returncode == 0, "lab start failed:\n" + r.stdout + r.stderr)
        import json
        with open(os.path.join(self.dir, "lab.json")) as f:
            self.env = json.load(f)
        return self

    def stop(self):
        subprocess.run(["bash", self.script, "stop", self.dir], capture_output=True, timeout=60)


def control(sock, *args, timeout=30):
    """Runs BUILD/tools/duet-control -s SOCK ARGS; returns (its exit status, stdout + stderr).
    Checks nothing: a test that needs the command to succeed checks the status itself."""
    r = subprocess.run([os.path.join(BUILD, "tools", "duet-control"), "-s", sock] + list(args),
                       capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout + r.stderr


def stats(sock):
    """Every total.NAME=N line of `duet-control -s SOCK stats` (the sum over the workers) as
    {NAME: N}; the per-worker lines are left out (control(sock, "stats") has them). Fails
    when duet-control does."""
    rc, out = control(sock, "stats")
    check(rc == 0, "duet-control -s %s stats exited %d:\n%s" % (sock, rc, out))
    counters = {}
    for line in out.splitlines():
        if line.startswith("total.") and "=" in line:
            name, value = line[len("total."):].split("=", 1)
            counters[name] = int(value)
    return counters


def stat(sock, name):
    """The counter total.NAME of stats(sock); fails when the daemon has no such counter."""
    counters = stats(sock)
    check(name in counters, "no total.%s in the stats of %s: %s" % (name, sock, counters))
    return counters[name]


def dig(server, port, *args, timeout=15):
    """Runs dig against server:port; returns its stdout."""
    cmd = ["dig", "@" + server, "-p", str(port), "+tries=1", "+time=%d" % max(1, timeout - 2)]
    r = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=timeout + 5)
    return r.stdout


def dig_status(out):
    for line in out.splitlines():
        if "->>HEADER<<-" in line:
            return line.split("status: ")[1].split(",")[0]
    return None


def dig_answers(out):
    """(name, ttl, type, rdata) of every answer-section record in dig's output."""
    rows, in_answer = [], False
    for line in out.splitlines():
        if line.startswith(";; ANSWER SECTION"):
            in_answer = True
            continue
        if in_answer:
            if not line.strip() or line.startswith(";;"):
                break
            parts = line.split(None, 4)
            if len(parts) == 5:
                rows.append((parts[0], int(parts[1]), parts[3], parts[4]))
    return rows
