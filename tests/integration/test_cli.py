"""Both daemons' command line: --version, --help, --check (every error as file:line), and a
run that starts, reloads on SIGHUP and stops on SIGTERM with the sd_notify messages."""
import os
import signal
import subprocess
import tempfile

from harness import Daemon, binary, check, run

DAEMONS = ("duet-resolver", "duet-origin")


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


def test_check_reports_three_mistakes():
    path = write("# three mistakes\n"
                 "workers = 0\n"
                 "log-level = loud\n"
                 "\n"
                 "no-such-option = 1\n")
    for name in DAEMONS:
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
    path = write("workers = 2\nlog-level = debug\n")
    for name in DAEMONS:
        r = cli(name, "--check", "-c", path)
        check(r.returncode == 0 and "configuration OK" in r.stdout, r.stdout + r.stderr)
        r = cli(name, "--check", "-c", "/nonexistent/x.conf")
        check(r.returncode == 1 and "/nonexistent/x.conf: cannot open" in r.stderr, r.stderr)
    os.unlink(path)


def test_start_reload_stop():
    for name in DAEMONS:
        d = Daemon(name, "workers = 2\nlog-level = info\ndrain-timeout = 2s\n")
        try:
            d.start()
            d.signal(signal.SIGHUP)
            d.wait_message("RELOADING=1")
            d.wait_message("READY=1")
            d.signal(signal.SIGTERM)
            d.wait_message("STOPPING=1")
            rc = d.stop()
            check(rc == 0, "%s exited %s" % (name, rc))
            d.check_clean()
        finally:
            d.close()


if __name__ == "__main__":
    run(test_version_and_help, test_check_reports_three_mistakes, test_check_ok_and_missing_file,
        test_start_reload_stop)
