"""Both daemons' command line: --version, --help, --check (every error as file:line), and a
run that starts, reloads on SIGHUP and stops on SIGTERM with the sd_notify messages."""
import os
import signal
import subprocess
import tempfile
import time

from harness import SRC, Daemon, binary, check, dead_root_hints, free_port, run

DAEMONS = ("duet-resolver", "duet-origin")
STARTABLE = ("duet-resolver", "duet-origin")


def cli(name, *args):
    return subprocess.run([binary(name)] + list(args), capture_output=True, text=True, timeout=30)


def write(text):
    fd, path = tempfile.mkstemp(suffix=".conf")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def test_version_and_help():
    for name in DAEMONS:
        r = cli(name, "--version")
        check(r.returncode == 0 and r.stdout.startswith(name + " "), r.stdout)
        r = cli(name, "--help")
        check(r.returncode == 0 and "--check" in r.stdout and "workers" in r.stdout, r.stdout)
        r = cli(name, "--bogus")
        check(r.returncode == 2 and "unknown argument" in r.stderr, r.stderr)


def valid_base(name):
    """Sections a daemon needs besides its top-level options (appended after them)."""
    if name == "duet-resolver":
        return ""
    return ("[listen 127.0.0.1:8080]\ntls = no\n[site s]\nserver-name = s.test\nroot = %s\n"
            % tempfile.mkdtemp())


def test_check_reports_three_mistakes():
    for name in DAEMONS:
        path = write("# three mistakes\n"
                     "workers = 0\n"
                     "log-level = loud\n"
                     "\n"
                     "no-such-option = 1\n" + valid_base(name))
        r = cli(name, "--check", "-c", path)
        check(r.returncode == 1, "exit %d" % r.returncode)
        lines = [l for l in r.stderr.splitlines() if l.startswith(path + ":")]
        check(len(lines) == 3, r.stderr)
        check(lines[0].startswith(path + ":2: workers"), lines[0])
        check(lines[1].startswith(path + ":3: log-level"), lines[1])
        check(lines[2].startswith(path + ":5: unknown option"), lines[2])
        check("3 errors" in r.stderr, r.stderr)
        os.unlink(path)


def test_check_ok_and_missing_file():
    for name in DAEMONS:
        path = write("workers = 2\nlog-level = debug\n" + valid_base(name))
        r = cli(name, "--check", "-c", path)
        check(r.returncode == 0 and "configuration OK" in r.stdout, r.stdout + r.stderr)
        r = cli(name, "--check", "-c", "/nonexistent/x.conf")
        check(r.returncode == 1 and "/nonexistent/x.conf: cannot open" in r.stderr, r.stderr)
        os.unlink(path)


def test_shipped_configs_parse():
    """conf/ documents every option with its default. The resolver's file names its managed
    root anchor /var/lib/duet/root.key, which the package seeds at install: only that may
    fail here, and with the path pointed at the shipped conf/root.key the file is valid.
    The origin's names a certificate and a document root made at install, so only those
    may fail."""
    shipped = os.path.join(SRC, "conf", "duet-resolver.conf")
    r = cli("duet-resolver", "--check", "-c", shipped)
    errs = [l for l in r.stderr.splitlines() if ".conf:" in l]
    check(all("auto-trust-anchor-file: cannot read /var/lib/duet/root.key" in l for l in errs),
          r.stderr)
    with open(shipped) as f:
        text = f.read()
    managed = "auto-trust-anchor-file = /var/lib/duet/root.key\n"
    check(managed in text, "the shipped config no longer sets " + managed)
    path = write(text.replace(managed, "auto-trust-anchor-file = %s\n" %
                              os.path.join(SRC, "conf", "root.key")))
    r = cli("duet-resolver", "--check", "-c", path)
    os.unlink(path)
    check(r.returncode == 0, r.stderr)
    r = cli("duet-origin", "--check", "-c", os.path.join(SRC, "conf", "duet-origin.conf"))
    errs = [l for l in r.stderr.splitlines() if ".conf:" in l]
    check(all("cannot load" in l or "root /var/www/duet" in l for l in errs), r.stderr)


def run_config(name):
    """A configuration the daemon can start with on this machine, on a free loopback port."""
    port = free_port()
    if name == "duet-resolver":
        return ("workers = 2\nlog-level = info\ndrain-timeout = 2s\nlisten = 127.0.0.1:%d\n"
                "root-hints = %s\n" % (port, dead_root_hints(tempfile.mkdtemp())))
    root = tempfile.mkdtemp()
    return ("workers = 2\nlog-level = info\ndrain-timeout = 2s\naccess-log = off\n"
            "[listen 127.0.0.1:%d]\ntls = no\n[site s]\nserver-name = s.test\nroot = %s\n"
            % (port, root))


def test_start_reload_stop():
    for name in STARTABLE:
        d = Daemon(name, run_config(name))
        try:
            d.start()
            d.signal(signal.SIGHUP)
            d.wait_message("RELOADING=1")
            d.wait_message("READY=1")
            d.signal(signal.SIGTERM)
            d.wait_message("STOPPING=1")
            d.stop()  # checks exit 0 and a clean stderr
            check("event=daemon_exit code=0" in d.stderr(), "%s: no daemon_exit" % name)
        finally:
            d.close()


def test_sigterm_storm():
    """An impatient operator (or a supervisor that repeats itself) sends SIGTERM again and
    again while the daemon shuts down: every one is the same request, and the exit status
    stays 0 up to the last instruction, the sanitizers' exit checks included. A CI run once
    saw a second SIGTERM land after the signal handlers were closed and kill the process."""
    for name in STARTABLE:
        d = Daemon(name, run_config(name))
        try:
            d.start()
            deadline = time.monotonic() + 15
            while d.proc.poll() is None and time.monotonic() < deadline:
                try:
                    d.proc.send_signal(signal.SIGTERM)
                except ProcessLookupError:
                    break
                time.sleep(0.001)
            d.stop()  # exit 0, a clean stderr
            check("event=daemon_exit code=0" in d.stderr(), "%s: no daemon_exit" % name)
        finally:
            d.close()


def test_port_held_by_another_process():
    """Both daemons' listeners set SO_REUSEPORT, with which the kernel lets a second process
    of the same user bind the same address and then splits the traffic between the two. A
    daemon started on a port another one serves must refuse to start, with a clear line,
    and leave the first one alone: before, it started and took half of the first one's
    clients (a likely cause of a rare resolver_diff failure, when two tests' free ports met)."""
    for name in STARTABLE:
        conf = run_config(name)
        first = Daemon(name, conf)
        second = Daemon(name, conf, expect_exit=1,
                        expect_errors=["listen_failed", "daemon_start_failed"])
        try:
            first.start()
            second.start(wait_ready=False)
            try:
                second.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
            check(second.proc.poll() == 1, "%s: the second one did not refuse to start (%s)" %
                  (name, second.proc.poll()))
            check("event=listen_failed" in second.stderr() and
                  "another process holds it" in second.stderr(), second.stderr())
            check(first.proc.poll() is None, "%s: the first one stopped" % name)
        finally:
            try:
                second.close()
            finally:
                first.close()  # also when the second one's stop check fails


if __name__ == "__main__":
    run(test_version_and_help, test_check_reports_three_mistakes, test_check_ok_and_missing_file,
        test_shipped_configs_parse, test_start_reload_stop, test_sigterm_storm,
        test_port_held_by_another_process)
