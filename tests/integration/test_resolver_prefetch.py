"""prefetch = yes (Unbound's rule): a cached answer asked for in the last 10% of its TTL is
answered from the cache at once and refreshed in the background, so a name in steady use
never expires in front of a client: the authoritative server is asked before the expiry,
and no query is left to make at the expiry. With prefetch = no the cache runs out and the
first client after the expiry waits for the server. Servers scripted with
tests/lab/hostile_auth.py in a network namespace of the test's own."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lab"))

import hostile_auth as ha  # noqa: E402
from harness import check, dig_answers, dig_status  # noqa: E402

ROOT_A = "127.70.0.1"
PF = "127.70.40.1"  # authoritative for pf., every record with TTL 10
TTL = 10

ROOT = """
@ NS a.root.hostile.
a.root.hostile. A 127.70.0.1
pf. NS ns.pf.
ns.pf. A 127.70.40.1
"""


def scenario(net):
    net.server(ROOT_A, zones=[ha.Zone(".", ROOT)])
    net.server(PF, zones=[ha.Zone("pf.", "@ NS ns\nns A 127.70.40.1\nwww %d A 192.0.2.40" % TTL)])


auth = None


def ask_www(res):
    out = res.ask("www.pf.", "A")
    check(dig_status(out) == "NOERROR" and [r[3] for r in dig_answers(out)] == ["192.0.2.40"],
          "www.pf.: want 192.0.2.40\n" + out)
    return dig_answers(out)[0][1]


def asked(since):
    return auth.count(server=PF, since=since)


def run_timeline(res):
    """Asks at 0, just inside the last tenth of the TTL, and just past the first expiry;
    returns the queries pf.'s server saw in each stretch and the TTL of the last answer."""
    # TTLs count whole wall-clock seconds: start just after a second begins, so "9.3 s
    # later" is in the TTL's last second and not already past it.
    time.sleep(1.05 - time.time() % 1.0)
    m0 = auth.mark()
    ask_www(res)
    first = asked(m0)
    time.sleep(TTL * 0.93)            # 0.7 s of 10 left: inside the last 10 %
    m1 = auth.mark()
    ttl_cached = ask_www(res)         # from the cache either way
    time.sleep(0.5)                   # the background refresh, if any, has its answer
    before_expiry = asked(m1)
    time.sleep(TTL * 0.12)            # past the original expiry
    m2 = auth.mark()
    ttl_after = ask_www(res)
    at_expiry = asked(m2)
    return first, ttl_cached, before_expiry, at_expiry, ttl_after


def test_prefetch_refreshes_before_expiry():
    def body(res):
        first, ttl_cached, before, at, ttl_after = run_timeline(res)
        check(first >= 1, "the first ask reached pf.'s server (%d)" % first)
        check(ttl_cached <= 1, "the second ask was not a cache hit near expiry (TTL %d)" %
              ttl_cached)
        check(before == 1, "prefetch: want 1 query before the expiry, got %d" % before)
        check(at == 0, "prefetch: the client past the expiry still made %d queries" % at)
        check(ttl_after > TTL // 2, "the refreshed answer's TTL is %d" % ttl_after)
        stats = res.stats() if hasattr(res, "stats") else ""
        check(not stats or re.search(r"prefetches=[1-9]", stats), "prefetches not counted")
    ha.with_resolver("prefetch = yes\n", body)


def test_without_prefetch_the_answer_expires():
    def body(res):
        first, ttl_cached, before, at, ttl_after = run_timeline(res)
        check(before == 0, "no prefetch: a query went out before the expiry (%d)" % before)
        check(at == 1, "no prefetch: want 1 query at the expiry, got %d" % at)
    ha.with_resolver("", body)


if __name__ == "__main__":
    ha.test_main(__file__, globals(), [
        test_prefetch_refreshes_before_expiry,
        test_without_prefetch_the_answer_expires])
