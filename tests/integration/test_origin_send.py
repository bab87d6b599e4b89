"""How duet-origin reads a large file (origin/send.c): the chunks the page cache holds are
read at once on the loop (preadv2 with RWF_NOWAIT), the others through libuv's thread pool.
A 1 MiB file (larger than file-cache-max-file, so read in chunks) is downloaded over TLS
and plain HTTP with its pages in the cache, out of it (posix_fadvise DONTNEED after fsync:
every chunk then takes the thread pool), and half in it (the response may switch from one
way to the other mid-body); each copy must be the file, whole. The test first checks that
the eviction really leaves RWF_NOWAIT nothing to read, so the thread-pool path is the one
exercised."""
import os
import time

from harness import check
from origin_util import Origin, curl, main, need, sha256

LARGE = os.urandom(1024 * 1024)

o = Origin(access_log="off", listens=(("tls", ""), ("plain", "")),
           site1_files={"large.bin": LARGE})


def path():
    return os.path.join(o.root1, "large.bin")


def evict(first=0):
    """Drops the file's pages from first on out of the page cache (a page the kernel is
    still busy with stays: a few tries, then the caller's check says so)."""
    for _ in range(20):
        fd = os.open(path(), os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, first, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
        if not cached_at(len(LARGE) - 4096):
            return
        time.sleep(0.05)


def cached_at(off):
    """Whether a non-blocking read finds the byte at off in the page cache."""
    fd = os.open(path(), os.O_RDONLY)
    try:
        return os.preadv(fd, [bytearray(4096)], off, os.RWF_NOWAIT) > 0
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def fetch(scheme):
    port = o.ports["plain"] if scheme == "http" else o.port
    r = curl(o, "/large.bin", scheme=scheme, port=port, timeout=20)
    check(r.status == 200, "%s: status %s (%s)" % (scheme, r.status, r.stderr))
    check(len(r.body) == len(LARGE) and sha256(r.body) == sha256(LARGE),
          "%s: body of %d bytes is not the file" % (scheme, len(r.body)))


def test_cached_pages_read_on_the_loop():
    for scheme in ("https", "http"):
        fetch(scheme)  # the first read brings the pages in
        check(cached_at(len(LARGE) - 4096), "the file is not in the page cache after a read")
        fetch(scheme)


def test_uncached_pages_read_in_the_pool():
    for scheme in ("https", "http"):
        evict()
        check(not cached_at(0) and not cached_at(len(LARGE) // 2),
              "posix_fadvise left the file in the page cache: this test would not reach "
              "the thread pool")
        fetch(scheme)


def test_half_cached_file():
    for scheme in ("https", "http"):
        fetch(scheme)
        # Not on a chunk boundary. No check that the tail stays out: any read of the
        # cached half may start the kernel's readahead of the rest (the test above is the
        # one that proves the thread-pool path).
        evict(len(LARGE) // 2 + 8192)
        fetch(scheme)


if __name__ == "__main__":
    need("curl")
    main(o, test_cached_pages_read_on_the_loop, test_uncached_pages_read_in_the_pool,
         test_half_cached_file)
