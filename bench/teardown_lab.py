#!/usr/bin/env python3
"""bench/teardown_lab.py: the client, the sampler, the table and the chart of bench/teardown.sh.

  client   N short HTTP/1.1 connections to one duet-origin listener (run inside a setting's
           network namespace by `ip netns exec`), at most CONC at a time, each one GET /:
             ka     keep-alive request; if the response announces "Keep-Alive: timeout=T" the
                    client closes 0.5 s before T (it closes first, as close-first = client
                    asks); otherwise it waits for the server's FIN (close-first = server:
                    the server ends the idle connection at keepalive-timeout), then closes
             close  "Connection: close": the server closes after the response
             hold   as ka, but the client never closes: after the server's FIN its side sits
                    in CLOSE_WAIT until the client is told to go (SIGTERM or --hold)
           Prints one JSON line when every connection is done (the load), then holds what it
           must and exits. The TLS client closes TCP without a close_notify (abort).
  observe  runs the plan: for each setting in turn starts its client, then samples every
           setting's sockets every 0.5 s with `ss -tano state time-wait state fin-wait-2
           state close-wait '( sport = :PORT or dport = :PORT )'` in its namespace (server
           side: sport is the listener's port; client side: dport is), until each setting has been
           watched for its observation time; writes samples.json
  report   the table (peak and final count per state per side, how long FIN_WAIT_2 and
           TIME_WAIT lasted) and the SVG chart, from samples.json
  idle     one keep-alive connection that stays open (the keepalive-probe demonstration):
           prints its local port after the response, then sleeps until SIGTERM

Standard library only; the SVG is written by hand.
"""
import argparse
import asyncio
import json
import os
import re
import resource
import select
import signal
import socket
import ssl
import subprocess
import sys
import time

STATES = ("TIME-WAIT", "FIN-WAIT-2", "CLOSE-WAIT")
SIDES = ("server", "client")
SAMPLE_S = 0.5

# ---- client -------------------------------------------------------------------------------


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))


async def read_response(reader):
    """Reads one response head and its Content-Length body; returns the head (str)."""
    head = await reader.readuntil(b"\r\n\r\n")
    text = head.decode("latin-1")
    m = re.search(r"(?im)^content-length:\s*(\d+)", text)
    if m:
        await reader.readexactly(int(m.group(1)))
    return text


async def one_conn(a, ctx, sem, stats, held):
    req = "GET / HTTP/1.1\r\nHost: lab.test\r\n"
    if a.mode == "close":
        req += "Connection: close\r\n"
    req = (req + "\r\n").encode()
    async with sem:
        writer = None
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(a.host, a.port, ssl=ctx,
                                        server_hostname="lab.test" if ctx else None), 10)
            writer.write(req)
            head = await asyncio.wait_for(read_response(reader), 10)
            if not head.startswith("HTTP/1.1 200"):
                stats["bad_status"] += 1
            m = re.search(r"(?im)^keep-alive:.*timeout=(\d+)", head)
            if a.mode == "ka" and m:
                # The server told us when it gives up: we end first, as a browser does.
                await asyncio.sleep(max(0.0, int(m.group(1)) - 0.5))
                stats["client_closed_first"] += 1
            else:
                rest = await asyncio.wait_for(reader.read(), 30)  # until the server's FIN
                stats["server_fin"] += 1
                if rest:
                    stats["extra_bytes"] += len(rest)
            if a.mode == "hold":
                held.append(writer)  # CLOSE_WAIT from here on
                writer = None
            stats["ok"] += 1
        except (ConnectionResetError, BrokenPipeError):
            stats["reset"] += 1
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ssl.SSLError) as e:
            stats["error"] += 1
            stats["last_error"] = repr(e)[:200]
        finally:
            if writer is not None:
                if ctx is not None:
                    writer.transport.abort()  # FIN without close_notify (see the top)
                else:
                    writer.close()


async def client_main(a):
    raise_nofile(a.n + a.conc + 256)
    ctx = None
    if a.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    stats = {k: 0 for k in ("ok", "reset", "error", "bad_status", "client_closed_first",
                            "server_fin", "extra_bytes")}
    held = []
    sem = asyncio.Semaphore(a.conc)
    t0 = time.monotonic()
    await asyncio.gather(*(one_conn(a, ctx, sem, stats, held) for _ in range(a.n)))
    stats["load_s"] = round(time.monotonic() - t0, 2)
    stats["held"] = len(held)
    print(json.dumps(stats), flush=True)
    if held:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        try:
            await asyncio.wait_for(stop.wait(), a.hold)
        except asyncio.TimeoutError:
            pass
        for w in held:
            w.close()
        await asyncio.sleep(0.2)


def cmd_client(a):
    asyncio.run(client_main(a))


def cmd_idle(a):
    s = socket.create_connection((a.host, a.port), timeout=5)
    s.sendall(b"GET / HTTP/1.1\r\nHost: lab.test\r\n\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(4096)
    m = re.search(rb"(?i)content-length:\s*(\d+)", buf)
    body = buf.split(b"\r\n\r\n", 1)[1]
    while m and len(body) < int(m.group(1)):
        body += s.recv(4096)
    print(s.getsockname()[1], flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    time.sleep(a.hold)


# ---- observe ------------------------------------------------------------------------------

TIMER = re.compile(r"timer:\((\w+),([^,]+),(\d+)\)")


def secs(t):
    """ss's timer text (59sec, 1min2sec, 200ms, 1.5sec) in seconds."""
    total = 0.0
    for num, unit in re.findall(r"([\d.]+)(min|sec|ms)", t):
        if unit == "ms" and "." in num:
            unit = "sec"  # iproute2 6.x prints 1.460ms for 1 s 460 ms
        total += float(num) * {"min": 60, "sec": 1, "ms": 0.001}[unit]
    return total


def sample(ns, port):
    """Counts per (state, side), the largest timer per (state, side), for one namespace."""
    out = subprocess.run(["ip", "netns", "exec", ns, "ss", "-Htano", "state", "time-wait",
                          "state", "fin-wait-2", "state", "close-wait",
                          "( sport = :%d or dport = :%d )" % (port, port)],
                         capture_output=True, text=True, timeout=10).stdout
    counts = {s + "/" + d: 0 for s in STATES for d in SIDES}
    timers = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) < 5 or f[0] not in STATES:
            continue
        local, peer = f[3].rsplit(":", 1)[1], f[4].rsplit(":", 1)[1]
        if local == str(port):
            side = "server"
        elif peer == str(port):
            side = "client"
        else:
            continue
        key = f[0] + "/" + side
        counts[key] += 1
        m = TIMER.search(line)
        if m:
            timers[key] = max(timers.get(key, 0.0), secs(m.group(2)))
    return counts, timers


def tcp_counters(ns):
    """The namespace's TCP counters from /proc/net/snmp and /proc/net/netstat."""
    out = subprocess.run(["ip", "netns", "exec", ns, "cat", "/proc/net/snmp",
                          "/proc/net/netstat"], capture_output=True, text=True,
                         timeout=10).stdout.splitlines()
    vals = {}
    for names, values in zip(out[0::2], out[1::2]):
        p, ks = names.split(":", 1)
        _, vs = values.split(":", 1)
        for k, v in zip(ks.split(), vs.split()):
            vals[p + k] = int(v)
    return vals


COUNTERS = ("TcpOutRsts", "TcpEstabResets", "TcpExtTCPAbortOnClose", "TcpExtTCPAbortOnData")


def cmd_observe(a):
    plan = []
    with open(a.plan) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                name, ns, port, mode, tls, observe, desc = line.rstrip("\n").split("\t")
                plan.append(dict(name=name, ns=ns, port=int(port), mode=mode, tls=tls == "yes",
                                 observe=float(observe), desc=desc, samples=[], timers={}))
    me = os.path.abspath(__file__)
    active = []
    t_start = time.monotonic()
    deadline = t_start + a.max_seconds

    def tick(now):
        for s in active:
            if s.get("done"):
                continue
            t = now - s["t0"]
            counts, timers = sample(s["ns"], s["port"])
            s["samples"].append([round(t, 2), counts])
            for k, v in timers.items():
                s["timers"][k] = max(s["timers"].get(k, 0.0), v)
            if t >= s["observe"]:
                s["done"] = True
                s["after"] = tcp_counters(s["ns"])

    next_tick = time.monotonic()
    for s in plan:
        s["before"] = tcp_counters(s["ns"])
        cmd = ["ip", "netns", "exec", s["ns"], sys.executable, me, "client", "--host",
               "127.0.0.1", "--port", str(s["port"]), "--mode", s["mode"], "--n", str(a.n),
               "--conc", str(a.conc), "--hold", str(s["observe"] + 30)]
        if s["tls"]:
            cmd.append("--tls")
        print("[teardown] %-20s %s" % (s["name"], s["desc"]), file=sys.stderr, flush=True)
        s["t0"] = time.monotonic()
        s["proc"] = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        active.append(s)
        # Sample everyone while this client loads; the next one starts when it is done.
        fd = s["proc"].stdout.fileno()
        line = ""
        while True:
            if select.select([fd], [], [], 0)[0]:
                chunk = os.read(fd, 65536).decode()
                line += chunk
                if "\n" in line or not chunk:
                    break
            elif s["proc"].poll() is not None:
                break
            now = time.monotonic()
            if now >= deadline:
                break
            if now >= next_tick:
                tick(now)
                next_tick = max(next_tick + SAMPLE_S, time.monotonic())
            time.sleep(0.05)
        s["load"] = json.loads(line.splitlines()[0]) if line.strip() else {"error": "no report"}
        s["load_end"] = round(time.monotonic() - s["t0"], 2)
    while any(not s.get("done") for s in active) and time.monotonic() < deadline:
        now = time.monotonic()
        if now >= next_tick:
            tick(now)
            next_tick = max(next_tick + SAMPLE_S, time.monotonic())
        for s in active:  # a held client goes as soon as its setting is watched to the end
            if s.get("done") and s["proc"].poll() is None:
                s["proc"].send_signal(signal.SIGTERM)
        time.sleep(0.05)
    for s in plan:
        if "proc" in s:
            if s["proc"].poll() is None:
                s["proc"].send_signal(signal.SIGTERM)
            try:
                s["proc"].wait(10)
            except subprocess.TimeoutExpired:
                s["proc"].kill()
                s["proc"].wait()
            del s["proc"]
        s.setdefault("after", tcp_counters(s["ns"]))
        s["counters"] = {k: s["after"].get(k, 0) - s["before"].get(k, 0) for k in COUNTERS}
        for k in ("before", "after", "t0", "done"):
            s.pop(k, None)
    with open(a.out, "w") as f:
        json.dump({"n": a.n, "conc": a.conc, "settings": plan}, f)


# ---- report -------------------------------------------------------------------------------

def series(s, key):
    return [(t, c[key]) for t, c in s["samples"]]


def span(points):
    """First and last time the count was above zero (None when never)."""
    on = [t for t, v in points if v > 0]
    return (on[0], on[-1]) if on else None


def half_life(points):
    """Typical lifetime of one socket: from the time the count first reached half its peak on
    the way up to the time it last fell below half on the way down (the connections were
    opened over a few seconds; each lives the same time, so the two halves line up)."""
    peak = max((v for _, v in points), default=0)
    if peak == 0:
        return None
    half = peak / 2.0
    up = next(t for t, v in points if v >= half)
    above = [t for t, v in points if v >= half]
    down = next((t for t, v in points if t > above[-1] and v < half), None)
    return None if down is None else down - up


def fmt_life(points, observe):
    sp = span(points)
    if sp is None:
        return "-"
    hl = half_life(points)
    if hl is None:
        return ">%ds" % (observe - sp[0])
    return "%.0fs" % hl


def analyse(s):
    row = {}
    for st in STATES:
        for sd in SIDES:
            pts = series(s, st + "/" + sd)
            row[st + "/" + sd] = (max((v for _, v in pts), default=0),
                                  pts[-1][1] if pts else 0)
    row["spans"] = {st + "/" + sd: span(series(s, st + "/" + sd)) for st in STATES
                    for sd in SIDES}
    row["fw2_life"] = fmt_life(series(s, "FIN-WAIT-2/server"), s["observe"])
    row["tw_life"] = fmt_life(series(s, "TIME-WAIT/server"), s["observe"]) \
        if row["TIME-WAIT/server"][0] else fmt_life(series(s, "TIME-WAIT/client"), s["observe"])
    return row


def cmd_report(a):
    with open(a.samples) as f:
        data = json.load(f)
    abbrev = {"TIME-WAIT": "TW", "FIN-WAIT-2": "FW2", "CLOSE-WAIT": "CW"}
    cols = [abbrev[st] + "_" + sd[0] for st in STATES for sd in SIDES]
    out = []
    out.append("N = %d connections per setting (at most %d at a time); counts are peak/final "
               "over the observation; _s = server side (sport), _c = client side (dport)"
               % (data["n"], data["conc"]))
    hdr = "%-19s %6s %5s " % ("setting", "load_s", "obs_s") + \
        " ".join("%11s" % c for c in cols) + " %8s %8s %6s %7s %4s  %s" % (
            "FW2_life", "TW_life", "RST", "cli_rst", "err", "setting in words")
    out.append(hdr)
    out.append("-" * len(hdr))
    for s in data["settings"]:
        r = analyse(s)
        load = s.get("load", {})
        cells = " ".join("%11s" % ("%d/%d" % r[st + "/" + sd]) for st in STATES for sd in SIDES)
        rst = s["counters"].get("TcpOutRsts", 0)
        err = load.get("error", 0) if isinstance(load.get("error", 0), int) else 1
        out.append("%-19s %6s %5.0f %s %8s %8s %6d %7d %4d  %s" % (
            s["name"], load.get("load_s", "-"), s["observe"], cells, r["fw2_life"],
            r["tw_life"], rst, load.get("reset", 0), err, s["desc"]))
    out.append("")
    out.append("FW2_life: how long one server-side FIN_WAIT_2 socket lived (from half the peak on "
               "the way up to half on the way down; >Ns: still there at the end);")
    out.append("TW_life: the same for TIME_WAIT (the server's when it has any, else the "
               "client's); RST: TCP resets sent in the namespace (TcpOutRsts, both sides);")
    out.append("cli_rst: connections the client saw reset; err: other client failures. Largest ss -o timers seen: " +
               "; ".join("%s %s" % (s["name"], ", ".join(
                   "%s %.0fs" % (k, v) for k, v in sorted(s["timers"].items())))
                   for s in data["settings"] if s["timers"]))
    text = "\n".join(out)
    print(text)
    if a.table:
        with open(a.table, "w") as f:
            f.write(text + "\n")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({s["name"]: dict(analyse(s), counters=s["counters"], load=s.get("load"))
                       for s in data["settings"]}, f, indent=1)
    if a.svg:
        with open(a.svg, "w") as f:
            f.write(svg(data))


# ---- SVG ----------------------------------------------------------------------------------

COLOURS = {"TIME-WAIT": "#d62728", "FIN-WAIT-2": "#1f77b4", "CLOSE-WAIT": "#2ca02c"}


def esc(t):
    return t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def nice_max(v):
    """The smallest of 4, 8, 20, 40, 80, 200, ... (a quarter of it is a round tick) >= v."""
    for e in range(0, 7):
        for m in (4, 8, 20):
            if m * 10 ** e >= v:
                return m * 10 ** e
    return v


def svg(data):
    settings = data["settings"]
    ncol = 3 if len(settings) > 4 else max(1, len(settings))
    nrow = (len(settings) + ncol - 1) // ncol
    pw, ph = 440, 215  # one panel
    ml, mr, mt, mb = 58, 16, 46, 42
    top = 78
    width = ncol * pw + 20
    height = top + nrow * ph + 60
    tmax = max(s["observe"] for s in settings)
    xt = 10 if tmax <= 90 else 20
    o = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
         'font-family="DejaVu Sans, Helvetica, Arial, sans-serif">' % (width, height, width,
                                                                       height),
         '<rect width="100%" height="100%" fill="white"/>',
         '<text x="20" y="30" font-size="20" font-weight="bold">duet-origin teardown lab: '
         'sockets per TCP state over time (%d connections per setting)</text>' % data["n"],
         '<text x="20" y="52" font-size="13" fill="#444">ss -tan state … in each setting\'s '
         'own network namespace, every 0.5 s; solid line: server side (sport = listener), '
         'dashed: client side (dport = listener)</text>']
    # legend
    lx = 20
    for st in STATES:
        o.append('<line x1="%d" y1="68" x2="%d" y2="68" stroke="%s" stroke-width="3"/>'
                 % (lx, lx + 24, COLOURS[st]))
        o.append('<text x="%d" y="72" font-size="12">%s</text>' % (lx + 30, st))
        lx += 130
    o.append('<line x1="%d" y1="68" x2="%d" y2="68" stroke="#555" stroke-width="2"/>'
             '<text x="%d" y="72" font-size="12">server</text>' % (lx, lx + 24, lx + 30))
    lx += 90
    o.append('<line x1="%d" y1="68" x2="%d" y2="68" stroke="#555" stroke-width="2" '
             'stroke-dasharray="6,4"/><text x="%d" y="72" font-size="12">client</text>'
             % (lx, lx + 24, lx + 30))
    for i, s in enumerate(settings):
        px = 10 + (i % ncol) * pw
        py = top + (i // ncol) * ph
        x0, y0 = px + ml, py + mt
        w, h = pw - ml - mr, ph - mt - mb
        ymax = nice_max(max([1] + [c[k] for _, c in s["samples"] for k in c]))
        r = analyse(s)
        peaks = ["%s %s %d" % (abbrev, sd, r[st + "/" + sd][0]) for st, abbrev in
                 (("TIME-WAIT", "TW"), ("FIN-WAIT-2", "FW2"), ("CLOSE-WAIT", "CW"))
                 for sd in SIDES if r[st + "/" + sd][0]]
        peaks.append("RST sent %d" % s["counters"].get("TcpOutRsts", 0))
        o.append('<text x="%d" y="%d" font-size="13" font-weight="bold">%s</text>'
                 % (px + ml, py + 16, esc(s["name"])))
        o.append('<text x="%d" y="%d" font-size="10.5" fill="#555">%s</text>'
                 % (px + ml, py + 28, esc(s["desc"][:72])))
        o.append('<rect x="%d" y="%d" width="%d" height="%d" fill="#fafafa" stroke="#bbb"/>'
                 % (x0, y0, w, h))
        o.append('<text x="%d" y="%d" font-size="10.5" fill="#222">peak: %s</text>'
                 % (px + ml, py + 40, esc(", ".join(peaks))))
        if len(peaks) == 1:
            o.append('<text x="%.1f" y="%.1f" font-size="12" fill="#666" text-anchor="middle">'
                     'none in these states at any sample</text>'
                     % (x0 + w / 2, y0 + h / 2))
        for k in range(0, 5):
            yv = ymax * k / 4
            yy = y0 + h - h * k / 4
            o.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e4e4e4"/>'
                     % (x0, yy, x0 + w, yy))
            o.append('<text x="%d" y="%.1f" font-size="10" text-anchor="end">%d</text>'
                     % (x0 - 4, yy + 3.5, yv))
        t = 0
        while t <= tmax + 0.01:
            xx = x0 + w * t / tmax
            o.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#999"/>'
                     % (xx, y0 + h, xx, y0 + h + 4))
            o.append('<text x="%.1f" y="%d" font-size="10" text-anchor="middle">%d</text>'
                     % (xx, y0 + h + 15, t))
            t += xt
        # 60 s: the fixed TIME_WAIT length
        if tmax >= 60:
            xx = x0 + w * 60 / tmax
            o.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#888" '
                     'stroke-dasharray="2,3"/>' % (xx, y0, xx, y0 + h))
            o.append('<text x="%.1f" y="%d" font-size="9" fill="#666" text-anchor="end">60 s'
                     '</text>' % (xx - 3, y0 + 10))
        o.append('<text x="%.1f" y="%d" font-size="11" text-anchor="middle">seconds since the '
                 'first connection</text>' % (x0 + w / 2, y0 + h + 30))
        o.append('<text x="%d" y="%.1f" font-size="11" text-anchor="middle" transform="rotate'
                 '(-90 %d %.1f)">sockets</text>' % (px + 14, y0 + h / 2, px + 14, y0 + h / 2))
        for st in STATES:
            for sd in SIDES:
                pts = series(s, st + "/" + sd)
                if not pts or max(v for _, v in pts) == 0:
                    continue
                path = " ".join("%.1f,%.1f" % (x0 + w * min(t, tmax) / tmax,
                                               y0 + h - h * v / ymax) for t, v in pts)
                dash = ' stroke-dasharray="6,4"' if sd == "client" else ""
                o.append('<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>'
                         % (COLOURS[st], dash, path))
    o.append('<text x="20" y="%d" font-size="11" fill="#555">TIME_WAIT lasts 60 s on Linux '
             'whatever net.ipv4.tcp_fin_timeout says; fin_timeout bounds only the orphaned '
             'FIN_WAIT_2 of a peer that never closes.</text>' % (height - 20))
    o.append("</svg>")
    return "\n".join(o) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("client")
    c.add_argument("--host", default="127.0.0.1")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--mode", choices=("ka", "close", "hold"), default="ka")
    c.add_argument("--n", type=int, default=2000)
    c.add_argument("--conc", type=int, default=400)
    c.add_argument("--tls", action="store_true")
    c.add_argument("--hold", type=float, default=100.0)
    c.set_defaults(fn=cmd_client)
    i = sub.add_parser("idle")
    i.add_argument("--host", required=True)
    i.add_argument("--port", type=int, required=True)
    i.add_argument("--hold", type=float, default=60.0)
    i.set_defaults(fn=cmd_idle)
    o = sub.add_parser("observe")
    o.add_argument("--plan", required=True)
    o.add_argument("--out", required=True)
    o.add_argument("--n", type=int, default=2000)
    o.add_argument("--conc", type=int, default=400)
    o.add_argument("--max-seconds", type=float, default=400)
    o.set_defaults(fn=cmd_observe)
    r = sub.add_parser("report")
    r.add_argument("--samples", required=True)
    r.add_argument("--table")
    r.add_argument("--json")
    r.add_argument("--svg")
    r.set_defaults(fn=cmd_report)
    a = p.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
