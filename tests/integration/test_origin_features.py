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
           site_extra="precompressed = yes",
           site2_files={"page.html": TEXT, "page.html.gz": gzip.compress(TEXT)})
write_file(os.path.join(o.root1, "big.bin"), BIG, mode=0o644)


def brotli_stored(data):
    """A valid brotli stream holding data in uncompressed meta-blocks (RFC 7932 §9.2), so
    no brotli tool is needed; curl decodes it like any other."""
    out = bytearray()
    acc, n = 0, 0

    def bits(v, k):
        nonlocal acc, n
        acc |= v << n
        n += k
        while n >= 8:
            out.append(acc & 0xff)
            acc >>= 8
            n -= 8

    def align():
        nonlocal acc, n
        if n:
            out.append(acc & 0xff)
            acc, n = 0, 0

    bits(0, 1)  # WBITS = 16
    for i in range(0, len(data), 65536):
        chunk = data[i:i + 65536]
        bits(0, 1)  # ISLAST = 0
        bits(0, 2)  # MNIBBLES = 4
        bits(len(chunk) - 1, 16)
        bits(1, 1)  # ISUNCOMPRESSED
        align()
        out += chunk
    bits(1, 1)  # ISLAST
    bits(1, 1)  # ISLASTEMPTY
    align()
    return bytes(out)


GZ = gzip.compress(TEXT, mtime=0)
BR = brotli_stored(TEXT)
ZST = None
if shutil.which("zstd"):
    ZST = subprocess.run(["zstd", "-q", "-c", "-19"], input=TEXT, capture_output=True,
                         check=True, timeout=60).stdout
    write_file(os.path.join(o.root1, "page.html.zst"), ZST, mode=0o644)
write_file(os.path.join(o.root1, "page.html.gz"), GZ, mode=0o644)
write_file(os.path.join(o.root1, "page.html.br"), BR, mode=0o644)
write_file(os.path.join(o.root1, "gzonly.css.gz"), GZ, mode=0o644)
write_file(os.path.join(o.root1, "index.html.gz"), gzip.compress(b"<h1>site1</h1>\n"),
           mode=0o644)


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


def ae(path, value, args=(), host="site1.test"):
    return curl(o, path, host=host, args=["-H", "Accept-Encoding: " + value] + list(args))


def test_precompressed_curl_compressed():
    """curl --compressed offers every coding it decodes; the body must come back as TEXT."""
    r = curl(o, "/page.html", args=["--compressed"])
    check(r.status == 200 and r.body == TEXT, r)
    check(r.h("content-encoding") == "br" and r.h("vary") == "Accept-Encoding", r)
    check(r.h("content-type") == "text/html; charset=utf-8", r)
    r = curl(o, "/gzonly.css", args=["--compressed"])
    check(r.status == 200 and r.body == TEXT and r.h("content-encoding") == "gzip", r)
    check(r.h("content-type") == "text/css; charset=utf-8", r)
    r = curl(o, "/", args=["--compressed"])
    check(r.status == 200 and r.h("content-encoding") == "gzip" and
          r.body == b"<h1>site1</h1>\n", r)
    check(ZST is not None, "zstd is not installed (scripts/setup.sh installs it)")
    if ZST is not None:
        r = curl(o, "/page.html", args=["--compressed", "-H", "Accept-Encoding: zstd"])
        check(r.status == 200 and r.body == TEXT and r.h("content-encoding") == "zstd", r)


def test_precompressed_choice():
    r = ae("/page.html", "gzip")
    check(r.status == 200 and r.body == GZ and r.h("content-encoding") == "gzip", r)
    check(r.h("content-length") == str(len(GZ)) and r.h("vary") == "Accept-Encoding", r)
    r = ae("/page.html", "gzip;q=0.5, br;q=0.4")
    check(r.body == GZ and r.h("content-encoding") == "gzip", r)
    r = ae("/page.html", "gzip, br")
    check(r.body == BR and r.h("content-encoding") == "br", "tie: br first: %r" % r)
    check(ZST is not None, "zstd is not installed (scripts/setup.sh installs it)")
    if ZST is not None:
        r = ae("/page.html", "gzip, zstd")
        check(r.body == ZST and r.h("content-encoding") == "zstd", "tie: zstd before gzip")
        r = ae("/page.html", "br;q=0.2, zstd;q=0.9, gzip;q=0.5")
        check(r.body == ZST, r)
    # Never a coding the client did not accept.
    for value in ("br;q=0, gzip;q=0, zstd;q=0", "deflate", "identity", "*;q=0", "",
                  "gzip;q=0, br;q=0, zstd;q=0, *"):
        r = ae("/page.html", value)
        check(r.status == 200 and r.body == TEXT and r.h("content-encoding") is None,
              "Accept-Encoding: %s: %r" % (value, r))
        check(r.h("vary") == "Accept-Encoding", r)
    r = curl(o, "/page.html")
    check(r.body == TEXT and r.h("content-encoding") is None, r)
    r = ae("/gzonly.css", "br")
    check(r.body == TEXT and r.h("content-encoding") is None, r)
    # A file without variants has no Vary; a site without precompressed serves none.
    r = ae("/plain.txt", "gzip, br")
    check(r.body == TEXT and r.h("vary") is None and r.h("content-encoding") is None, r)
    r = ae("/page.html", "gzip", host="site2.test")
    check(r.status == 200 and r.body == TEXT and r.h("content-encoding") is None, r)


def test_precompressed_validators_and_ranges():
    plain = curl(o, "/page.html")
    gz = ae("/page.html", "gzip")
    br = ae("/page.html", "br")
    etags = {plain.h("etag"), gz.h("etag"), br.h("etag")}
    check(len(etags) == 3 and None not in etags, "ETags not distinct: %r" % etags)
    # 304 on the variant's own ETag, and only for that variant.
    r = ae("/page.html", "gzip", args=["-H", "If-None-Match: " + gz.h("etag")])
    check(r.status == 304 and r.h("vary") == "Accept-Encoding", r)
    r = ae("/page.html", "br", args=["-H", "If-None-Match: " + gz.h("etag")])
    check(r.status == 200 and r.body == BR, r)
    r = curl(o, "/page.html", args=["-H", "If-None-Match: " + gz.h("etag")])
    check(r.status == 200 and r.body == TEXT, r)
    # Ranges count bytes of the encoded file.
    r = ae("/page.html", "gzip", args=["-r", "0-9"])
    check(r.status == 206 and r.body == GZ[:10] and r.h("content-encoding") == "gzip", r)
    check(r.h("content-range") == "bytes 0-9/%d" % len(GZ), r)
    r = ae("/page.html", "gzip", args=["-r", "-5", "-H", "If-Range: " + gz.h("etag")])
    check(r.status == 206 and r.body == GZ[-5:], r)
    r = ae("/page.html", "gzip", args=["-r", "0-9", "-H", "If-Range: " + plain.h("etag")])
    check(r.status == 200 and r.body == GZ, r)
    r = ae("/page.html", "gzip", args=["-r", "%d-" % len(GZ)])
    check(r.status == 416 and r.h("content-range") == "bytes */%d" % len(GZ), r)
    # Several ranges of an encoded file: the whole of it.
    r = ae("/page.html", "gzip", args=["-r", "0-1,5-6"])
    check(r.status == 200 and r.body == GZ, r)


def test_precompressed_raw_keepalive():
    """On one connection, alternating codings, a HEAD, then a variant that goes away."""
    c = Conn(o.port, ca=o.ca)
    try:
        for _ in range(3):
            r = c.request("/page.html", extra="Accept-Encoding: br\r\n")
            check(r.status == 200 and r.body == BR and r.h("content-encoding") == "br", r)
            r = c.request("/page.html", extra="Accept-Encoding: gzip;q=1.0\r\n")
            check(r.status == 200 and r.body == GZ, r)
            r = c.request("/page.html")
            check(r.status == 200 and r.body == TEXT, r)
        r = c.request("/page.html", method="HEAD", extra="Accept-Encoding: gzip\r\n")
        check(r.status == 200 and r.h("content-length") == str(len(GZ)) and
              r.h("content-encoding") == "gzip", r)
        # Two Accept-Encoding fields: identity only.
        r = c.request("/page.html", extra="Accept-Encoding: gzip\r\nAccept-Encoding: br\r\n")
        check(r.status == 200 and r.body == TEXT, r)
    finally:
        c.close()
    os.unlink(os.path.join(o.root1, "gzonly.css.gz"))
    time.sleep(0.5)  # > file-cache-valid
    for _ in range(4):
        r = ae("/gzonly.css", "gzip")
        check(r.status == 200 and r.body == TEXT and r.h("content-encoding") is None, r)


if __name__ == "__main__":
    need("curl")
    main(o, test_multipart_cached, test_multipart_large_file, test_multipart_limits,
         test_precompressed_curl_compressed, test_precompressed_choice,
         test_precompressed_validators_and_ranges, test_precompressed_raw_keepalive)
