"""RFC 5011 with the real resolver: auto-trust-anchor-file follows a KSK roll of a lab root
(tests/lab/roll.sh, one NSD, hold-downs of seconds: add-holddown = 3s,
permit-small-holddown = yes, every DNSKEY TTL 1s).

  (a) the root has KSK1 only; the managed file holds KSK1: answers are AD and the file is
      rewritten in Unbound's format with KSK1 VALID;
  (b) KSK2 is published (the DNSKEY set still signed by KSK1 only): KSK2 is ADDPEND;
  (c) after the add hold-down KSK2 is VALID in the file (and logged ADDPEND -> VALID);
  (d) KSK1 is revoked (REVOKE bit, self-signed) and KSK2 signs too: the file says KSK1 is
      REVOKED, the configuration is reloaded, answers stay AD;
  (e) a restart reads the state back: still AD, KSK2 still VALID, KSK1 still REVOKED;
  (f) a resolver that never saw the roll, starting with only KSK1 after (d), does NOT
      validate: SERVFAIL (so this test can fail), and its failed probe changes no key;
  (g) a managed file that starts with a DS (as IANA publishes the root's) becomes the KSK2
      DNSKEY it names, VALID, after the first probe.

Before trustprobe.c nothing probed at run time: (b) timed out with KSK2 absent from the file.
Each wait is bounded; the whole test takes well under a minute.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

from harness import SLOW, SRC, Daemon, check, free_port, run, skip, stop_clean

SCRIPT = os.path.join(SRC, "tests", "lab", "roll.sh")
ADD_HOLDDOWN = 3
lab_dir = None
env = None
state = None  # the managed anchor file the resolver under test owns
duet = None
port = None

VALID, ADDPEND, REVOKED = 2, 1, 4


def roll(*args):
    r = subprocess.run(["bash", SCRIPT] + list(args), capture_output=True, text=True,
                       timeout=60)
    if args[0] == "start" and r.returncode == 77:
        skip("roll lab prerequisites missing: " + r.stdout + r.stderr)
    check(r.returncode == 0, "roll.sh %s failed:\n%s%s" % (" ".join(args), r.stdout, r.stderr))
    return r.stdout


def config(p, anchor_file):
    return ("listen = 127.0.0.1:%d\nworkers = 2\nlog-level = info\ndrain-timeout = 2s\n"
            "root-hints = %s\nquery-loopback = yes\nallow = 127.0.0.1/32\n"
            "upstream-timeout = 800ms\nauto-trust-anchor-file = %s\n"
            "add-holddown = %ds\ndel-holddown = 1d\npermit-small-holddown = yes\n"
            % (p, env["LAB_ROOT_HINTS"], anchor_file, ADD_HOLDDOWN))


def kdig(p, name="probe.roll.", rtype="A"):
    """(rcode, flags, text) of a DO=1 query to the resolver on port p."""
    r = subprocess.run(["kdig", "@127.0.0.1", "-p", str(p), "+time=4", "+retry=0", "+dnssec",
                        name, rtype], capture_output=True, text=True, timeout=20 * SLOW)
    rcode, flags = None, set()
    for line in r.stdout.splitlines():
        if line.startswith(";; ->>HEADER<<-"):
            m = re.search(r"status: (\w+)", line)
            rcode = m.group(1) if m else None
        elif line.startswith(";; Flags:"):
            flags = set(line.split(":", 1)[1].split(";")[0].split())
    return rcode, flags, r.stdout


def states(path):
    """{key tag: state number} of the DNSKEY lines of an autotrust file."""
    out = {}
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return out
    for line in text.splitlines():
        if line.startswith(";") or "DNSKEY" not in line:
            continue
        tag = re.search(r"id = (\d+)", line)
        st = re.search(r";;state=(\d)", line)
        if tag and st:
            out[int(tag.group(1))] = int(st.group(1))
    return out


def wait_for(what, cond, timeout):
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    check(cond(), "%s: not within %ss; file:\n%s\nresolver stderr (tail):\n%s" % (
        what, timeout * SLOW, open(state).read() if os.path.exists(state) else "(none)",
        duet.stderr()[-3000:] if duet else ""))


def after(marker, text):
    """text from the first marker on ("" without one)."""
    i = text.find(marker)
    return text[i:] if i >= 0 else ""


def expect_ad(p, label):
    rcode, flags, out = kdig(p)
    check(rcode == "NOERROR" and "ad" in flags, "%s: want NOERROR with AD\n%s" % (label, out))


def test_a_validates_with_the_first_key():
    global duet, port
    port = free_port()
    duet = Daemon("duet-resolver", config(port, state))
    duet.start()
    expect_ad(port, "(a) KSK1 only")
    k1 = env["LAB_KSK1_TAG"]
    wait_for("(a) KSK1 VALID in the rewritten file",
             lambda: states(state).get(k1) == VALID and ";;last_success" in open(state).read(), 5)


def test_b_c_new_key_valid_after_the_add_holddown():
    roll("phase", lab_dir, "b")
    k2 = env["LAB_KSK2_TAG"]
    t0 = time.monotonic()
    wait_for("(b) KSK2 ADDPEND", lambda: states(state).get(k2) == ADDPEND, 6)
    expect_ad(port, "(b) KSK2 published")
    wait_for("(c) KSK2 VALID", lambda: states(state).get(k2) == VALID, ADD_HOLDDOWN + 6)
    check(time.monotonic() - t0 >= ADD_HOLDDOWN - 1,
          "(c) KSK2 became VALID before the add hold-down (%.1fs)" % (time.monotonic() - t0))
    check(re.search(r"event=trust_anchor_key .*tag=%d old=ADDPEND new=VALID" % k2,
                    duet.stderr()), "(c) no log line for KSK2 ADDPEND -> VALID")
    check(states(state).get(env["LAB_KSK1_TAG"]) == VALID, "(c) KSK1 no longer VALID")
    expect_ad(port, "(c) KSK2 trusted")


def test_d_revoked_key_is_dropped_and_the_new_one_validates():
    roll("phase", lab_dir, "d")
    k1r = env["LAB_KSK1_REVOKED_TAG"]
    wait_for("(d) KSK1 REVOKED", lambda: states(state).get(k1r) == REVOKED, 6)
    check(env["LAB_KSK1_TAG"] not in states(state), "(d) KSK1 still listed unrevoked")
    check(states(state).get(env["LAB_KSK2_TAG"]) == VALID, "(d) KSK2 not VALID")
    check(re.search(r"event=trust_anchor_key .*tag=%d now_tag=%d old=VALID new=REVOKED" %
                    (env["LAB_KSK1_TAG"], k1r), duet.stderr()),
          "(d) no log line for KSK1 VALID -> REVOKED")
    wait_for("(d) the trusted keys changed, the reload was accepted",
             lambda: "event=reload result=accepted" in after("new=REVOKED",
                                                             duet.stderr()), 5)
    # answers keep validating, now from KSK2 alone (TTL 1: the keys are fetched again)
    time.sleep(1.2)
    expect_ad(port, "(d) after the revocation")


def test_e_restart_keeps_the_state():
    global duet
    check(stop_clean(duet) == 0, "(e) unclean stop")
    saved = states(state)
    duet = Daemon("duet-resolver", config(port, state))
    duet.start()
    expect_ad(port, "(e) after a restart")
    check(saved.get(env["LAB_KSK2_TAG"]) == VALID and
          saved.get(env["LAB_KSK1_REVOKED_TAG"]) == REVOKED, "(e) state before restart %r" % saved)
    time.sleep(1.5)  # a probe or two after the restart: nothing may go back
    now = states(state)
    check(now.get(env["LAB_KSK2_TAG"]) == VALID and
          now.get(env["LAB_KSK1_REVOKED_TAG"]) == REVOKED, "(e) state after restart %r" % now)


def test_f_a_resolver_with_only_the_old_key_fails():
    """The control: the same lab and config, but the anchor file holds only KSK1, as a
    resolver that slept through the roll would have it; it must not validate."""
    p = free_port()
    stale = os.path.join(lab_dir, "stale.key")
    shutil.copy(env["LAB_KSK1_FILE"], stale)
    d = Daemon("duet-resolver", config(p, stale))
    try:
        d.start()
        rcode, flags, out = kdig(p)
        check(rcode == "SERVFAIL" and "ad" not in flags,
              "(f) a resolver trusting only the revoked KSK1 answered\n%s" % out)
        # its probe cannot verify the DNSKEY set with KSK1: a failure, counted in the file,
        # and KSK2 (seen only in an unverified set) never enters it
        deadline = time.monotonic() + 5 * SLOW
        while time.monotonic() < deadline and not re.search(r";;query_failed: [1-9]",
                                                            open(stale).read()):
            time.sleep(0.1)
        text = open(stale).read()
        check(re.search(r";;query_failed: [1-9]", text) and
              "event=trust_anchor_probe_failed" in d.stderr(),
              "(f) no failed probe recorded:\n%s\n%s" % (text, d.stderr()[-2000:]))
        check(states(stale) == {env["LAB_KSK1_TAG"]: VALID},
              "(f) an unverified DNSKEY set changed the anchor file: %r" % states(stale))
    finally:
        check(stop_clean(d) == 0, "(f) unclean stop")


def test_g_a_ds_anchor_becomes_its_dnskey():
    p = free_port()
    f = os.path.join(lab_dir, "from-ds.key")
    shutil.copy(env["LAB_KSK2_DS_FILE"], f)
    d = Daemon("duet-resolver", config(p, f))
    try:
        d.start()
        expect_ad(p, "(g) DS anchor")
        deadline = time.monotonic() + 5 * SLOW
        while time.monotonic() < deadline and states(f) != {env["LAB_KSK2_TAG"]: VALID}:
            time.sleep(0.1)
        check(states(f) == {env["LAB_KSK2_TAG"]: VALID} and " DS " not in open(f).read(),
              "(g) the DS did not become KSK2's DNSKEY:\n%s" % open(f).read())
        while time.monotonic() < deadline and "event=reload result=accepted" not in d.stderr():
            time.sleep(0.1)
        check(re.search(r"event=trust_anchor_key .*tag=%d old=VALID new=VALID" %
                        env["LAB_KSK2_TAG"], d.stderr()) and
              "event=reload result=accepted" in d.stderr(),
              "(g) no logged change and reload:\n%s" % d.stderr()[-2000:])
        expect_ad(p, "(g) after the reload")
    finally:
        check(stop_clean(d) == 0, "(g) unclean stop")


if __name__ == "__main__":
    if shutil.which("kdig") is None:
        skip("kdig not installed (Debian package knot-dnsutils)")
    lab_dir = tempfile.mkdtemp(prefix="duet-roll-")
    t_start = time.monotonic()
    try:
        roll("start", lab_dir)
        with open(os.path.join(lab_dir, "lab.json")) as f:
            env = json.load(f)
        state = os.path.join(lab_dir, "root.key")
        shutil.copy(env["LAB_KSK1_FILE"], state)
        failed = run(test_a_validates_with_the_first_key,
                     test_b_c_new_key_valid_after_the_add_holddown,
                     test_d_revoked_key_is_dropped_and_the_new_one_validates,
                     test_e_restart_keeps_the_state,
                     test_f_a_resolver_with_only_the_old_key_fails,
                     test_g_a_ds_anchor_becomes_its_dnskey, exit=False)
        failed += stop_clean(duet)
    finally:
        roll("stop", lab_dir)
    print("total %.1fs" % (time.monotonic() - t_start))
    raise SystemExit(1 if failed else 0)
