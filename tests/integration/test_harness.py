"""The harness's own checks can fail: a daemon's stop fails on an error-level line the test
did not declare, on a crash or a non-zero exit, on a sanitizer report and on a handle left
open at shutdown; a skip() inside a test function is that test's failure, not a skip of
the whole file. Uses duet-resolver with local data only (dead root hints)."""
import os
import signal
import tempfile

from harness import (TMP_BASE, Daemon, Failure, check, dead_root_hints, free_port, keep_tmp,
                     log_problems, run, skip, stop_clean)


def resolver(**kw):
    d = Daemon("duet-resolver", "", **kw)
    with open(d.conf, "w") as f:
        f.write(good_conf(d))
    return d


def good_conf(d):
    return "listen = 127.0.0.1:%d\nworkers = 2\nroot-hints = %s\n" % (
        free_port(), dead_root_hints(d.dir))


def stop_fails(d, want):
    """d.stop() must raise a Failure whose text contains want."""
    try:
        d.stop()
    except Failure as e:
        check(want in str(e), "stop failed, but not for %r: %s" % (want, e))
        return
    finally:
        d.close()
    check(False, "stop() passed; expected a failure for %r" % want)


def broken_reload(d):
    """A reload of a configuration with a mistake: the daemon logs it at error level
    (event=reload_error) and serves on."""
    with open(d.conf, "a") as f:
        f.write("no-such-option = 1\n")
    d.signal(signal.SIGHUP)
    d.wait_message("RELOADING=1")
    d.wait_message("READY=1")
    check("level=error event=reload_error" in d.stderr(), "no reload_error:\n" + d.stderr())


def test_undeclared_error_fails_the_stop():
    d = resolver().start()
    broken_reload(d)
    stop_fails(d, "event=reload_error")


def test_declared_error_passes():
    d = resolver(expect_errors=["reload_error"]).start()
    broken_reload(d)
    check(stop_clean(d) == 0, "a declared error failed the stop")


def test_crash_fails_the_stop():
    d = resolver().start()
    d.proc.kill()
    d.proc.wait(10)
    stop_fails(d, "exited with status -9")


def test_sanitizer_report_fails_the_stop():
    d = resolver().start()
    with open(d.stderr_path, "a") as f:  # as a sanitizer would write it
        f.write("==1==ERROR: AddressSanitizer: heap-use-after-free on address 0x1\n")
    stop_fails(d, "ERROR: AddressSanitizer")


def test_handle_left_fails_the_stop():
    d = resolver().start()
    with open(d.stderr_path, "a") as f:  # a warn-level line, as common/worker.c logs it
        f.write("level=warn event=worker_handle_left worker=0 type=timer\n")
    stop_fails(d, "worker_handle_left")


def test_log_problems_reads_journal_prefixes():
    check(log_problems("<3>level=error event=listen_failed addr=x\n"), "prefixed error missed")
    check(not log_problems("level=warn event=upstream_timeout\nlevel=info event=x\n"),
          "warnings counted as errors")
    check(not log_problems("level=error event=reload_error\n", ["reload_error"]),
          "declared error counted")


def test_skip_inside_a_test_is_a_failure():
    def test_that_skips():
        skip("a tool went missing halfway")
    check(run(test_that_skips, exit=False) == 1, "a skip inside a test did not count as failed")
    keep_tmp(False)  # that failure was the point


def test_temp_files_go_under_one_base():
    d = tempfile.mkdtemp()
    check(os.path.dirname(d) == TMP_BASE, "%s is not under %s" % (d, TMP_BASE))
    check(os.stat(TMP_BASE).st_mode & 0o777 == 0o755, "TMP_BASE is not 0755")


if __name__ == "__main__":
    run(test_undeclared_error_fails_the_stop, test_declared_error_passes,
        test_crash_fails_the_stop, test_sanitizer_report_fails_the_stop,
        test_handle_left_fails_the_stop, test_log_problems_reads_journal_prefixes,
        test_skip_inside_a_test_is_a_failure, test_temp_files_go_under_one_base)
