"""duet-resolver's DNSSEC trust-anchor options, with the real daemon against the NSD lab
(tests/lab/lab.sh):

    trust-anchor-file = FILE        auto-trust-anchor-file = FILE
    domain-insecure = NAME          dnssec = yes | no

The shipped root anchor (conf/root.key) loads as a static and as a managed anchor and the
resolver runs and answers the lab's names (under domain-insecure names: the lab's root is
not the one those keys sign); a broken anchor file stops the start (and --check) with the
anchor file's own file:line; a missing one names the config line; a reload that meets a
broken anchor file is refused and the running configuration keeps serving.  uses-lab"""
import os
import shutil
import signal
import subprocess

from harness import (SRC, Daemon, Lab, binary, check, dig, dig_answers, dig_status, free_port,
                     run, stop_clean)

ROOT_KEY = os.path.join(SRC, "conf", "root.key")
lab = None


def config(port, anchors):
    return ("listen = 127.0.0.1:%d\nworkers = 2\nlog-level = info\ndrain-timeout = 2s\n"
            "root-hints = %s\nquery-loopback = yes\nallow = 127.0.0.1/32\n"
            "upstream-timeout = 800ms\n%s" % (port, lab.env["LAB_ROOT_HINTS"], anchors))


def answers(port, name, want):
    out = dig("127.0.0.1", port, name, "A")
    got = [r[3] for r in dig_answers(out) if r[2] == "A"]
    check(dig_status(out) == "NOERROR" and want in got, "%s A: want %s\n%s" % (name, want, out))


def check_fails(conf_path, *want):
    """--check and a real start of conf_path both exit 1 with each of want in stderr."""
    for args in (["--check", "-c", conf_path], ["-c", conf_path]):
        r = subprocess.run([binary("duet-resolver")] + args, capture_output=True, text=True,
                           timeout=30, stdin=subprocess.DEVNULL)
        check(r.returncode == 1, "%s: exit %d, want 1\n%s" % (args, r.returncode, r.stderr))
        for w in want:
            check(w in r.stderr, "%s: no '%s' in stderr:\n%s" % (args, w, r.stderr))


def test_static_root_anchor_and_domain_insecure():
    port = free_port()
    d = Daemon("duet-resolver", config(port, "dnssec = yes\ntrust-anchor-file = %s\n"
                                             "domain-insecure = test\n"
                                             "domain-insecure = example\n" % ROOT_KEY))
    try:
        r = subprocess.run([binary("duet-resolver"), "--check", "-c", d.conf],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 0 and "configuration OK" in r.stdout, r.stdout + r.stderr)
        d.start()
        answers(port, lab.env["LAB_WWW"], lab.env["LAB_WWW_A"])
        answers(port, lab.env["LAB_XZONE"], lab.env["LAB_XZONE_A"])
    finally:
        check(stop_clean(d) == 0, "unclean stop")


def test_managed_root_anchor():
    """auto-trust-anchor-file: a writable copy, as the package seeds /var/lib/duet/root.key."""
    port = free_port()
    d = Daemon("duet-resolver", "")
    managed = os.path.join(d.dir, "root.key")
    shutil.copy(ROOT_KEY, managed)
    with open(d.conf, "w") as f:
        f.write(config(port, "auto-trust-anchor-file = %s\ndomain-insecure = test\n" % managed))
    try:
        d.start()
        answers(port, lab.env["LAB_WWW"], lab.env["LAB_WWW_A"])
    finally:
        check(stop_clean(d) == 0, "unclean stop")
    check(os.path.getsize(managed) > 0, "the managed anchor file is gone or empty")


def test_broken_anchor_file_stops_the_start():
    port = free_port()
    d = Daemon("duet-resolver", "")
    bad = os.path.join(d.dir, "lab.ds")
    with open(bad, "w") as f:
        f.write("; a lab anchor with a typo on line 3\n$TTL 3600\n"
                "lab.test. IN DS 12345 8 2 NOT-HEX\n")
    with open(d.conf, "w") as f:
        f.write(config(port, "trust-anchor-file = %s\n" % bad))
    check_fails(d.conf, bad + ":3: ")
    # a managed file whose state line is corrupt: never silently an empty trust point
    with open(bad, "w") as f:
        f.write(";;id: . 1\n;;last_queried: yesterday\n")
    with open(d.conf, "w") as f:
        f.write(config(port, "auto-trust-anchor-file = %s\n" % bad))
    check_fails(d.conf, bad + ":2: bad number")


def test_missing_anchor_file_names_the_config_line():
    port = free_port()
    d = Daemon("duet-resolver", "")
    text = config(port, "domain-insecure = test\n"
                        "auto-trust-anchor-file = /nonexistent/duet/root.key\n")
    line = text.count("\n", 0, text.index("auto-trust-anchor-file")) + 1
    with open(d.conf, "w") as f:
        f.write(text)
    check_fails(d.conf, "%s:%d: auto-trust-anchor-file: cannot read /nonexistent/duet/root.key"
                % (d.conf, line))


def test_reload_with_broken_anchor_keeps_serving():
    port = free_port()
    d = Daemon("duet-resolver", "", expect_errors=["reload_error"])
    anchor = os.path.join(d.dir, "root.ds")
    shutil.copy(ROOT_KEY, anchor)
    with open(d.conf, "w") as f:
        f.write(config(port, "trust-anchor-file = %s\ndomain-insecure = test\n" % anchor))
    try:
        d.start()
        answers(port, lab.env["LAB_WWW"], lab.env["LAB_WWW_A"])
        with open(anchor, "a") as f:
            f.write("\n. IN TXT \"not an anchor\"\n")
        with open(anchor) as f:
            bad_line = len(f.read().splitlines())
        d.signal(signal.SIGHUP)
        d.wait_message("READY=1")
        err = d.stderr()
        check("event=reload_error" in err and "%s:%d: only DS and DNSKEY" % (anchor, bad_line)
              in err, "no reload_error naming %s:%d:\n%s" % (anchor, bad_line, err[-3000:]))
        check(d.proc.poll() is None, "the resolver exited on a bad reload")
        answers(port, lab.env["LAB_WWW"], lab.env["LAB_WWW_A"])
        # fixed: the next reload is accepted
        shutil.copy(ROOT_KEY, anchor)
        d.signal(signal.SIGHUP)
        d.wait_message("READY=1")
        answers(port, lab.env["LAB_WWW"], lab.env["LAB_WWW_A"])
    finally:
        check(stop_clean(d) == 0, "unclean stop")


if __name__ == "__main__":
    failed = 1
    lab = Lab()
    try:
        lab.start()
        failed = run(test_static_root_anchor_and_domain_insecure, test_managed_root_anchor,
                     test_broken_anchor_file_stops_the_start,
                     test_missing_anchor_file_names_the_config_line,
                     test_reload_with_broken_anchor_keeps_serving, exit=False)
    finally:
        lab.stop()
    raise SystemExit(1 if failed else 0)
