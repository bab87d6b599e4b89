"""serve-expired (RFC 8767, Unbound's names): when the authoritative server of a cached name
stops answering after the TTL has run out, a resolver with serve-expired = yes answers the
expired data within serve-expired-client-timeout, with TTL 30 and EDE 3 (Stale Answer), or
EDE 19 for a stale NXDOMAIN; never past serve-expired-ttl; never with serve-expired = no
(the default). With serve-expired-client-timeout = 0 the stale answer comes at once and the
refresh runs in the background. When the server is back, the next client gets fresh data.
Servers scripted with tests/lab/hostile_auth.py in a network namespace of the test's own;
the zone's server goes silent while a flag file exists."""
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lab"))

import hostile_auth as ha  # noqa: E402
from harness import SLOW, check, dig_answers, dig_status  # noqa: E402

ROOT_A = "127.70.0.1"
SE = "127.70.41.1"
TTL = 2
# The flag file: made in the test process, inherited by the scripted servers' process.
FLAG = os.environ.setdefault("DUET_SE_FLAG", os.path.join(tempfile.mkdtemp(prefix="duet-se-"),
                                                          "dead"))

ROOT = """
@ NS a.root.hostile.
a.root.hostile. A 127.70.0.1
se. NS ns.se.
ns.se. A 127.70.41.1
se. NS ns2.se.
ns2.se. A 127.70.41.2
"""

SE_ZONE = """
@ %d SOA ns hostmaster 1 3600 600 86400 %d
@ NS ns
@ NS ns2
ns A 127.70.41.1
ns2 A 127.70.41.2
www %d A 192.0.2.50
www2 %d A 192.0.2.51
www3 %d A 192.0.2.52
www4 %d A 192.0.2.53
""" % (TTL, TTL, TTL, TTL, TTL, TTL)


def se_handler(q):
    return None if os.path.exists(FLAG) else ha.DEFAULT


def scenario(net):
    net.server(ROOT_A, zones=[ha.Zone(".", ROOT)])
    # two servers, both silent once the flag is there: a refresh then takes longer than
    # the client timeout (each unknown server gets the first-contact timeout)
    for i in range(1, 3):
        net.server("127.70.41.%d" % i, zones=[ha.Zone("se.", SE_ZONE)], handler=se_handler)


auth = None


def server_dies():
    open(FLAG, "w").close()


def server_back():
    if os.path.exists(FLAG):
        os.unlink(FLAG)


def ede(out):
    m = re.search(r"EDE: (\d+)", out)
    return int(m.group(1)) if m else None


def timed_ask(res, name, rtype="A"):
    t0 = time.monotonic()
    out = res.ask(name, rtype, timeout=10)
    return out, time.monotonic() - t0


def with_resolver(extra, body):
    """ha.with_resolver with se.'s servers answering at the start and again at the end
    (whatever body did), so a test that fails while they are silent leaves the next test
    with live servers."""
    server_back()
    try:
        ha.with_resolver(extra, body)
    finally:
        server_back()


def test_stale_answer_within_the_client_timeout():
    def body(res):
        out = res.ask("www.se.", "A")
        check([a[3] for a in dig_answers(out)] == ["192.0.2.50"], out)
        check(dig_status(res.ask("nx.se.", "A")) == "NXDOMAIN", "nx.se. not NXDOMAIN")
        server_dies()
        time.sleep(TTL + 1.2)
        out, took = timed_ask(res, "www.se.")
        ans = dig_answers(out)
        check(dig_status(out) == "NOERROR" and [a[3] for a in ans] == ["192.0.2.50"],
              "stale answer: " + out)
        check(ans[0][1] == 30 and ede(out) == 3, "stale answer: TTL 30 and EDE 3:\n" + out)
        check(0.8 <= took <= 3.0 * SLOW,
              "the stale answer came after %.2f s (client timeout 1 s)" % took)
        out, _ = timed_ask(res, "nx.se.")
        check(dig_status(out) == "NXDOMAIN" and ede(out) == 19, "stale NXDOMAIN, EDE 19:\n" + out)
        # the server is back: fresh data, no EDE
        # the server is back: once the refresh under way (and the resolver's back-off from
        # the silent servers) is over, clients get fresh data again
        server_back()
        deadline = time.monotonic() + 15
        while True:
            out = res.ask("www.se.", "A")
            ans = dig_answers(out)
            if ans and ans[0][1] <= TTL and ede(out) is None:
                break
            check(time.monotonic() < deadline, "never fresh again:\n" + out)
            time.sleep(0.5)
    with_resolver("serve-expired = yes\nserve-expired-client-timeout = 1000ms\n", body)


def test_never_past_serve_expired_ttl():
    def body(res):
        res.ask("www2.se.", "A")
        server_dies()
        time.sleep(TTL + 2 + 1.5)
        out, _ = timed_ask(res, "www2.se.")
        check(dig_status(out) == "SERVFAIL", "past serve-expired-ttl: want SERVFAIL\n" + out)
    with_resolver("serve-expired = yes\nserve-expired-ttl = 2s\n"
                  "serve-expired-client-timeout = 500ms\n", body)


def test_off_by_default():
    def body(res):
        res.ask("www3.se.", "A")
        server_dies()
        time.sleep(TTL + 1.2)
        out, _ = timed_ask(res, "www3.se.")
        check(dig_status(out) == "SERVFAIL" and ede(out) != 3,
              "serve-expired = no: want SERVFAIL\n" + out)
    with_resolver("", body)


def test_client_timeout_zero_answers_at_once():
    def body(res):
        res.ask("www4.se.", "A")
        time.sleep(TTL + 1.2)
        m = auth.mark()
        out, took = timed_ask(res, "www4.se.")
        check(dig_status(out) == "NOERROR" and ede(out) == 3 and took < 0.5 * SLOW,
              "stale at once (%.2f s):\n%s" % (took, out))
        # the background refresh reaches the servers and replaces the stale answer
        deadline = time.monotonic() + 5 * SLOW
        while True:
            out = res.ask("www4.se.", "A")
            if ede(out) is None and dig_answers(out) and dig_answers(out)[0][1] <= TTL:
                break
            check(time.monotonic() < deadline, "never refreshed:\n" + out)
            time.sleep(0.2)
        check(auth.count(under="se.", since=m) >= 1, "no background refresh reached se.'s servers")
    with_resolver("serve-expired = yes\nserve-expired-client-timeout = 0\n", body)


if __name__ == "__main__":
    ha.test_main(__file__, globals(), [
        test_stale_answer_within_the_client_timeout,
        test_never_past_serve_expired_ttl,
        test_off_by_default,
        test_client_timeout_zero_answers_at_once])
