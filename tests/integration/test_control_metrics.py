"""duet-control and the Prometheus endpoints of both daemons: every command against a
running daemon, reload with a good and a broken configuration, the socket's mode and the
errors when it is not there; /metrics checked by `promtool check metrics` and scraped by a
real Prometheus server (Debian's prometheus package) until `up == 1` for both daemons and
counters that moved after traffic."""
import json
import os
import shutil
import socket
import stat
import struct
import subprocess
import tempfile
import time
import urllib.request

from harness import (BUILD, SLOW, Daemon, check, control, dead_root_hints, dig, dig_answers,
                     free_port, run, skip, stop_clean)

res = org = None
R_PORT = O_PORT = RM_PORT = OM_PORT = None
work = tempfile.mkdtemp(prefix="duet-ctl-")


def get(url):
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.status, resp.read().decode()


def resolver_conf(address):
    return """
listen = 127.0.0.1:%d
workers = 2
root-hints = %s
control-socket = %s/r.ctl
metrics = 127.0.0.1:%d
[local-zone ctl.test]
data = www.ctl.test. 300 IN A %s
""" % (R_PORT, dead_root_hints(work), work, RM_PORT, address)


def test_resolver_control_commands():
    sock = os.path.join(work, "r.ctl")
    mode = stat.S_IMODE(os.stat(sock).st_mode)
    check(mode == 0o660, "control socket mode %o" % mode)
    rc, out = control(sock, "status")
    check(rc == 0 and "workers: 2" in out and "local_zones: 1" in out, out)
    dig("127.0.0.1", R_PORT, "www.ctl.test", "A")
    rc, out = control(sock, "stats")
    check(rc == 0 and "total.queries_udp=" in out and "worker1.queries_udp=" in out, out)
    udp = int([l for l in out.splitlines() if l.startswith("total.queries_udp=")][0].split("=")[1])
    check(udp >= 1, out)
    rc, out = control(sock, "lookup", "www.ctl.test")
    check(rc == 0 and "closest zone cut" in out, out)
    rc, out = control(sock, "flush")
    check(rc == 0 and out.startswith("ok"), out)
    rc, out = control(sock, "flush", "example.", "subtree")
    check(rc == 0 and out.startswith("ok"), out)
    rc, out = control(sock, "flush", "bad..name")
    check(rc == 1 and out.startswith("error:"), out)
    rc, out = control(sock, "frobnicate")
    check(rc == 1 and "unknown command" in out, out)


def test_resolver_reload_good_and_broken():
    sock = os.path.join(work, "r.ctl")
    with open(res.conf, "w") as f:
        f.write(resolver_conf("10.0.0.2"))
    rc, out = control(sock, "reload")
    check(rc == 0 and "reloaded" in out, out)
    ans = dig_answers(dig("127.0.0.1", R_PORT, "www.ctl.test", "A"))
    check(ans and ans[0][3] == "10.0.0.2", "new local data not served: %s" % ans)
    with open(res.conf, "w") as f:
        f.write(resolver_conf("10.0.0.3") + "cache-size = lots\n")
    rc, out = control(sock, "reload")
    check(rc == 1 and "refused" in out, out)
    ans = dig_answers(dig("127.0.0.1", R_PORT, "www.ctl.test", "A"))
    check(ans and ans[0][3] == "10.0.0.2", "old config not kept: %s" % ans)
    check("event=reload_error" in res.stderr() and "cache-size" in res.stderr(),
          "reload errors not logged")
    # SIGHUP takes the same path.
    with open(res.conf, "w") as f:
        f.write(resolver_conf("10.0.0.4"))
    res.signal(1)
    res.wait_message("RELOADING=1")
    res.wait_message("READY=1")
    ans = dig_answers(dig("127.0.0.1", R_PORT, "www.ctl.test", "A"))
    check(ans and ans[0][3] == "10.0.0.4", "SIGHUP reload not applied: %s" % ans)


def test_control_errors():
    rc, out = control(os.path.join(work, "nothing.ctl"), "status")
    check(rc == 2 and "is the daemon running?" in out, out)
    # Someone without access: a socket file of mode 0660 owned by root, used by nobody.
    if os.geteuid() == 0:
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            os.path.join(BUILD, "tools", "duet-control"), "-s",
                            os.path.join(work, "r.ctl"), "status"],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 2 and "Permission denied" in r.stderr, r.stderr)


def test_origin_control_commands():
    sock = os.path.join(work, "o.ctl")
    rc, out = control(sock, "status")
    check(rc == 0 and "sites: 1" in out, out)
    rc, out = control(sock, "sites")
    check(rc == 0 and "s1 (default)" in out and "expires_in_days=" in out, out)
    rc, out = control(sock, "rotate-ticket-keys")
    check(rc == 0 and out.startswith("ok"), out)
    rc, out = control(sock, "stats")
    check(rc == 0 and "total.requests=" in out, out)


def tls_get(sock, path="/"):
    """One keep-alive GET on an open TLS socket; returns the body."""
    sock.sendall(("GET %s HTTP/1.1\r\nHost: s1.test\r\n\r\n" % path).encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        check(chunk, "connection closed")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0]
                 .split(b":")[1])
    while len(body) < length:
        chunk = sock.recv(65536)
        check(chunk, "connection closed mid-body")
        body += chunk
    return body.decode()


def tls_connect():
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", O_PORT), timeout=10)
    return ctx.wrap_socket(raw, server_hostname="s1.test")


def test_origin_reload_root_and_cert():
    """A reload switches document root and certificate for new connections, while a
    keep-alive connection opened before it goes on working; a broken file is refused."""
    old = tls_connect()
    check(tls_get(old) == "hello\n", "before reload")
    old_cert = old.getpeercert(binary_form=True)
    root2 = os.path.join(work, "www2")
    os.makedirs(root2, exist_ok=True)
    with open(os.path.join(root2, "index.html"), "w") as f:
        f.write("world\n")
    key2, pem2 = os.path.join(work, "s2.key"), os.path.join(work, "s2.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
                    "-subj", "/CN=s1.test", "-keyout", key2, "-out", pem2], check=True,
                   capture_output=True, timeout=60)
    with open(org.conf) as f:
        text = f.read()
    with open(org.conf, "w") as f:
        f.write(text.replace(os.path.join(work, "www") + "\n", root2 + "\n")
                .replace(os.path.join(work, "s1.pem"), pem2)
                .replace(os.path.join(work, "s1.key"), key2))
    rc, out = control(os.path.join(work, "o.ctl"), "reload")
    check(rc == 0 and "reloaded" in out, out)
    new = tls_connect()
    check(tls_get(new) == "world\n", "new connection not on the new root")
    check(new.getpeercert(binary_form=True) != old_cert, "certificate not replaced")
    new.close()
    check(tls_get(old) == "hello\n", "old keep-alive connection broken by the reload")
    old.close()
    with open(org.conf, "a") as f:
        f.write("no-such-option = 1\n")
    rc, out = control(os.path.join(work, "o.ctl"), "reload")
    check(rc == 1 and "refused" in out, out)
    check("event=reload_error" in org.stderr(), "errors not logged")
    again = tls_connect()
    check(tls_get(again) == "world\n", "broken reload changed what is served")
    again.close()


def metrics_lines(port):
    status, body = get("http://127.0.0.1:%d/metrics" % port)
    check(status == 200, "status %d" % status)
    return body


def test_metrics_format():
    for port in (RM_PORT, OM_PORT):
        body = metrics_lines(port)
        r = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True,
                           text=True, timeout=30)
        check(r.returncode == 0 and r.stdout.strip() == "" and r.stderr.strip() == "",
              "promtool: %s %s" % (r.stdout, r.stderr))
        # Histogram buckets are cumulative and end at +Inf == _count.
        buckets = [l for l in body.splitlines() if "_bucket{" in l]
        values = [float(l.rsplit(" ", 1)[1]) for l in buckets]
        check(values == sorted(values), "buckets not cumulative: %s" % buckets)
        count = [l for l in body.splitlines() if l.split(" ")[0].endswith("_count")]
        check(count and float(count[0].split(" ")[1]) == values[-1], "+Inf != _count")
    try:
        get("http://127.0.0.1:%d/other" % RM_PORT)
        check(False, "a path other than /metrics answered 200")
    except urllib.error.HTTPError as e:
        check(e.code == 404, "status %d" % e.code)


def test_prometheus_scrapes_both():
    port = free_port()
    cfg = os.path.join(work, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("""global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: resolver
    static_configs: [{targets: ["127.0.0.1:%d"]}]
  - job_name: origin
    static_configs: [{targets: ["127.0.0.1:%d"]}]
""" % (RM_PORT, OM_PORT))
    log = open(os.path.join(work, "prometheus.log"), "wb")
    p = subprocess.Popen(["prometheus", "--config.file=" + cfg,
                          "--storage.tsdb.path=" + os.path.join(work, "tsdb"),
                          "--web.listen-address=127.0.0.1:%d" % port],
                         stdout=log, stderr=log)
    try:
        def query(q):
            _, body = get("http://127.0.0.1:%d/api/v1/query?query=%s" % (port, q))
            return {r["metric"].get("job", ""): float(r["value"][1])
                    for r in json.loads(body)["data"]["result"]}

        deadline = time.monotonic() + 40 * SLOW
        up = {}
        while time.monotonic() < deadline:
            try:
                up = query("up")
                if up.get("resolver") == 1 and up.get("origin") == 1:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        check(up.get("resolver") == 1 and up.get("origin") == 1, "up: %s" % up)
        q = "sum(duet_resolver_queries_total)"
        before = query(q).get("", 0)
        for _ in range(5):
            dig("127.0.0.1", R_PORT, "www.ctl.test", "A")
        deadline = time.monotonic() + 20 * SLOW
        after = before
        while time.monotonic() < deadline and after < before + 5:
            time.sleep(0.5)
            after = query(q).get("", 0)
        check(after >= before + 5, "queries counter did not move: %s -> %s" % (before, after))
    finally:
        p.terminate()
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
        log.close()


def make_cert():
    key, pem = os.path.join(work, "s1.key"), os.path.join(work, "s1.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "30", "-subj", "/CN=s1.test",
                    "-keyout", key, "-out", pem], check=True, capture_output=True, timeout=60)
    return pem, key


def setup():
    global res, org, R_PORT, O_PORT, RM_PORT, OM_PORT
    R_PORT, O_PORT, RM_PORT, OM_PORT = (free_port() for _ in range(4))
    # The broken reloads below are logged at error level, once per mistake.
    res = Daemon("duet-resolver", "", workdir=tempfile.mkdtemp(dir=work),
                 expect_errors=["reload_error"])
    with open(res.conf, "w") as f:
        f.write(resolver_conf("10.0.0.1"))
    res.start()
    pem, key = make_cert()
    root = os.path.join(work, "www")
    os.makedirs(root)
    with open(os.path.join(root, "index.html"), "w") as f:
        f.write("hello\n")
    org = Daemon("duet-origin", """
workers = 2
access-log = off
control-socket = %s/o.ctl
metrics = 127.0.0.1:%d
[listen 127.0.0.1:%d]
[site s1]
server-name = s1.test
root = %s
cert = %s
key = %s
""" % (work, OM_PORT, O_PORT, root, pem, key), workdir=tempfile.mkdtemp(dir=work),
                 expect_errors=["reload_error"])
    org.start()
    subprocess.run(["curl", "-sk", "-o", "/dev/null", "https://127.0.0.1:%d/" % O_PORT],
                   timeout=30)


if __name__ == "__main__":
    # Every tool is looked for before anything starts: a skip can only mean nothing ran.
    for tool in ("promtool", "prometheus", "openssl", "curl", "dig"):
        if shutil.which(tool) is None:
            skip("%s not installed (scripts/setup.sh installs it)" % tool)
    failed = 1
    try:
        setup()
        failed = run(test_resolver_control_commands, test_resolver_reload_good_and_broken,
                     test_control_errors, test_origin_control_commands,
                     test_origin_reload_root_and_cert, test_metrics_format,
                     test_prometheus_scrapes_both, exit=False)
    finally:
        # Each daemon is stopped and checked (exit 0, no undeclared error).
        failed += stop_clean(res, org)
    raise SystemExit(1 if failed else 0)
