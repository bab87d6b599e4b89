"""duet-resolver with a damaged or hostile cache-file: the file is refused whole with one
warning that names the file, the record, its byte offset and why; the daemon starts with an
empty cache and serves; at a clean stop it writes a good dump, which the next start loads.
Runs at the smallest cache-size (64K), where the budget once wrapped. No upstream needed:
the client asks local data."""
import os
import struct
import time

from harness import Daemon, check, dead_root_hints, dig, dig_status, free_port, run

MAGIC = b"DUET-CACHE 1\n"


def record(rtype, key, value):
    expire = int(time.time()) + 3600
    return rtype + struct.pack(">IIQ", len(key), len(value), expire) + key + value


def start(path, workdir=None):
    port = free_port()
    d = Daemon("duet-resolver", "listen = 127.0.0.1:%d\ncache-size = 64K\ncache-file = %s\n"
               "root-hints = %s\n[local-zone local.test]\n"
               "data = www.local.test. 300 IN A 10.1.2.3\n"
               % (port, path, dead_root_hints(os.path.dirname(path))), workdir=workdir)
    d.start()
    return d, port


def refused_then_rewritten(contents, want):
    """Starts on a file holding contents; expects the warning with the fields in want."""
    d = Daemon("duet-resolver", "")  # only for its temp dir
    path = os.path.join(d.dir, "cache.dump")
    with open(path, "wb") as f:
        f.write(contents)
    d, port = start(path, workdir=d.dir)
    try:
        lines = [l for l in d.stderr().splitlines() if "event=cache_load_failed" in l]
        check(len(lines) == 1, "one cache_load_failed line expected:\n" + d.stderr())
        line = lines[0]
        check(line.startswith("level=warn") or "level=warn" in line, line)
        for field in ["file=" + path] + want:
            check(field in line, "'%s' not in: %s" % (field, line))
        check("event=cache_loaded" not in d.stderr(), d.stderr())
        out = dig("127.0.0.1", port, "www.local.test", "A")
        check(dig_status(out) == "NOERROR" and "10.1.2.3" in out, out)
        check(d.stop() == 0, "resolver exit status")
        check("event=cache_saved" in d.stderr(), "no dump at stop:\n" + d.stderr())
        d.check_clean()
    finally:
        d.close()
    # The dump written at stop is a good file: the next start loads it.
    d2, _ = start(path)
    try:
        check("event=cache_loaded" in d2.stderr(), d2.stderr())
        check("event=cache_load_failed" not in d2.stderr(), d2.stderr())
        check(d2.stop() == 0, "second resolver exit status")
        d2.check_clean()
    finally:
        d2.close()


def test_key_that_is_not_a_name():
    # A label of 63 bytes announced in a 6-byte key: `flush NAME` read past it before.
    refused_then_rewritten(MAGIC + record(b"A", b"\x3fa\x00\x01\x00\x01", b"\x00" * 40),
                           ["entry=1", "offset=13", "runs past the end"])


def test_compression_pointer_in_cut_key():
    good = record(b"D", b"\x04test\x00",
                  b"\x04test\x00\x01\x03ns1\x04test\x00\x01\x04\x7f\x00\x00\x01")
    refused_then_rewritten(MAGIC + good + record(b"D", b"\xc0\x00", b"\x00"),
                           ["entry=2", "offset=%d" % (13 + len(good)), "compression pointer"])


def test_truncated_file():
    refused_then_rewritten(MAGIC + b"A\x00\x00\x00\x05garbage",
                           ["entry=1", "offset=13", "truncated"])


def test_not_a_cache_file():
    refused_then_rewritten(b"hello\n", ["entry=0", "offset=0", "not a duet cache file"])


if __name__ == "__main__":
    run(test_key_that_is_not_a_name, test_compression_pointer_in_cut_key, test_truncated_file,
        test_not_a_cache_file)
