"""The teardown lab (bench/teardown.sh) in its quick mode on a reduced matrix, and the truths
it is there to show, asserted on its own figures:

  server-first  close-first = server: the server side holds TIME_WAIT (one per connection),
                the client side none
  linger-0      linger = 0: the server's idle close is a reset: no TIME_WAIT on either side,
                and the namespace sent at least one RST per connection
  fin-5-hold    net.ipv4.tcp_fin_timeout = 5 and a client that never closes: the server's
                orphaned FIN_WAIT_2 is gone in < 15 s, while the client's CLOSE_WAIT remains
  keep-alive    keepalive-probes = 2s:1s:3 and a peer whose link went down: the connection
                is dropped after idle + interval x count = 5 s (not 2 h 11 min)

Root only (network namespaces); exit 77 otherwise. Everything runs in namespaces the script
makes and removes. ~40 s.
"""
import json
import os
import subprocess
import sys
import tempfile

SRC = os.environ.get("DUET_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("DUET_BUILD", os.path.join(SRC, "build"))
N = 100

if os.geteuid() != 0:
    print("SKIP: needs root (network namespaces)")
    sys.exit(77)

failures = []


def check(cond, what):
    print("%s %s" % ("ok  " if cond else "FAIL", what))
    if not cond:
        failures.append(what)


with tempfile.TemporaryDirectory(prefix="duet-teardown-test-") as tmp:
    out = os.path.join(tmp, "figures.json")
    env = dict(os.environ, DUET_BUILD=BUILD, BENCH_QUICK="1", BENCH_CONNS=str(N),
               BENCH_OBSERVE="16", BENCH_SETTINGS="server-first server-first-tls linger-0 fin-5-hold",
               BENCH_JSON=out, BENCH_SVG=os.path.join(tmp, "chart.svg"))
    r = subprocess.run(["bash", os.path.join(SRC, "bench", "teardown.sh")], env=env,
                       capture_output=True, text=True, timeout=150)
    print(r.stdout)
    if r.returncode == 77:
        print("SKIP: " + r.stderr.strip().splitlines()[-1])
        sys.exit(77)
    check(r.returncode == 0, "bench/teardown.sh exits 0 (got %d)" % r.returncode)
    if r.returncode != 0:
        print(r.stderr[-3000:])
        sys.exit(1)
    fig = json.load(open(out))
    svg = open(os.path.join(tmp, "chart.svg")).read()

sf, l0, fh = fig["server-first"], fig["linger-0"], fig["fin-5-hold"]
check(sf["TIME-WAIT/server"][0] >= 0.9 * N,
      "server-first: TIME_WAIT on the server side, peak %d of %d" % (sf["TIME-WAIT/server"][0], N))
check(sf["TIME-WAIT/client"][0] == 0,
      "server-first: no TIME_WAIT on the client side (peak %d)" % sf["TIME-WAIT/client"][0])
check(sf["load"]["ok"] == N, "server-first: every request answered (%d)" % sf["load"]["ok"])
st = fig["server-first-tls"]
# Our close_notify goes first; whose FIN follows first is a race with the client's answering
# close_notify and FIN, so TIME_WAIT may land on either side. What must not happen is the
# reset a closed socket answers that close_notify with (before: 100 of 100, no TIME_WAIT).
tw = st["TIME-WAIT/server"][0] + st["TIME-WAIT/client"][0]
check(tw >= 0.9 * N and st["counters"]["TcpOutRsts"] == 0,
      "server-first over TLS: every connection ends in TIME_WAIT on one side (%d + %d of %d) "
      "and none in a reset (%d)" % (st["TIME-WAIT/server"][0], st["TIME-WAIT/client"][0], N,
                                    st["counters"]["TcpOutRsts"]))
check(l0["TIME-WAIT/server"][0] == 0 and l0["TIME-WAIT/client"][0] == 0,
      "linger-0: no TIME_WAIT on either side (peaks %d, %d)" % (l0["TIME-WAIT/server"][0],
                                                               l0["TIME-WAIT/client"][0]))
check(l0["counters"]["TcpOutRsts"] >= N,
      "linger-0: an RST per connection (TcpOutRsts %d)" % l0["counters"]["TcpOutRsts"])
fw2 = fh["spans"]["FIN-WAIT-2/server"]
check(fh["FIN-WAIT-2/server"][0] >= 0.9 * N and fw2 is not None,
      "fin-5-hold: FIN_WAIT_2 on the server side, peak %d" % fh["FIN-WAIT-2/server"][0])
check(fh["FIN-WAIT-2/server"][1] == 0 and fw2 is not None and fw2[1] < 15,
      "fin-5-hold: the server's FIN_WAIT_2 gone within 15 s (last seen at %s s, final %d)"
      % (fw2 and fw2[1], fh["FIN-WAIT-2/server"][1]))
check(fh["CLOSE-WAIT/client"][1] == N,
      "fin-5-hold: the client's CLOSE_WAIT remains (%d at the end)" % fh["CLOSE-WAIT/client"][1])
ka = fig.get("keepalive")
check(ka is not None and ka["expected_s"] * 1000 - 500 <= ka["detected_ms"]
      <= ka["expected_s"] * 1000 + 2500,
      "keep-alive: a dead peer found after idle + interval x count (%s)" % ka)
check(svg.startswith("<svg") and svg.rstrip().endswith("</svg>") and svg.count("<polyline") >= 3,
      "the chart is an SVG with a line per state seen")
sys.exit(1 if failures else 0)
