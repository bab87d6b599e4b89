#include "origin/path.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* How often openat2 is retried when the kernel reports a rename or mount race during a
 * RESOLVE_BENEATH walk (EAGAIN): a few times, then the request fails rather than spin. */
#define OPEN_RETRIES 4

static int
hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Decodes one raw segment (no raw '/') into dst, at most cap bytes. Everything a file name
 * must not hold is refused here, after decoding, so that no encoding can smuggle it in:
 * control characters and NUL (they end C strings and confuse logs), '/' and '\' sent as
 * %2F / %5C (a client hiding a separator from us: nginx would split there, a proxy in front
 * might not, so the two would disagree about which file is meant). A decoded '%' is a
 * literal: we decode exactly once, so "%252e" names the file "%2e".
 */
static int
decode_segment(const char *src, size_t n, char *dst, size_t cap)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c == '%') {
            if (n - i < 3)
                return -EINVAL; /* "%", "%4" at the end of the segment */
            int hi = hexval((unsigned char)src[i + 1]);
            int lo = hexval((unsigned char)src[i + 2]);
            if (hi < 0 || lo < 0)
                return -EINVAL;
            c = (unsigned char)(hi << 4 | lo);
            if (c == '/' || c == '\\')
                return -EINVAL;
            i += 2;
        }
        if (c < 0x20 || c == 0x7f)
            return -EINVAL;
        if (w == cap)
            return -EINVAL;
        dst[w++] = (char)c;
    }
    return (int)w;
}

/*
 * Why segment by segment: a segment is decoded, then judged. "." and ".." are recognised
 * after decoding, so "%2e%2E" is "..", and are resolved against what is already in out,
 * never against the filesystem: "a/../../x" fails here even if "a" is a symlink. Empty
 * segments ("//") are dropped as nginx's merge_slashes does. The output never has a
 * leading, trailing or doubled '/', nor a "." or ".." segment.
 */
int
dw_path_normalize(const char *target, size_t len, char *out, size_t cap, int *trailing_slash)
{
    if (target == NULL || out == NULL || cap == 0 || len == 0 || target[0] != '/')
        return -EINVAL;
    if (memchr(target, '\0', len) != NULL)
        return -EINVAL;
    if (len > INT_MAX)
        return -EINVAL;

    /* Query and fragment go before decoding: a %3F or %23 is part of a name. */
    size_t end = 0;
    while (end < len && target[end] != '?' && target[end] != '#')
        end++;

    size_t w = 0;
    bool dir = false;
    size_t i = 1;
    for (;;) {
        size_t s = i;
        while (i < end && target[i] != '/')
            i++;
        /* The segment [s, i) goes after a separator when out is not empty. */
        size_t at = w == 0 ? 0 : w + 1;
        size_t room = at < cap ? cap - 1 - at : 0; /* one byte stays for the NUL */
        int n = decode_segment(target + s, i - s, out + at, room);
        if (n < 0)
            return n;
        if (n == 0) {
            /* "//" or the final "/": nothing to add, but a trailing '/' asks for a dir. */
            dir = true;
        } else if (n == 1 && out[at] == '.') {
            dir = true;
        } else if (n == 2 && out[at] == '.' && out[at + 1] == '.') {
            if (w == 0)
                return -EACCES;
            while (w > 0 && out[w - 1] != '/')
                w--;
            if (w > 0)
                w--; /* the separator before the segment removed */
            dir = true;
        } else {
            if (at > 0)
                out[w] = '/';
            w = at + (size_t)n;
            dir = false;
        }
        if (i >= end)
            break;
        i++; /* past the '/' */
    }
    out[w] = '\0';
    if (trailing_slash != NULL)
        *trailing_slash = dir;
    return (int)w;
}

static bool
uri_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("-._~!$&'()*+,;=:@/", c) != NULL);
}

/* A '\' is encoded even where RFC 3986 would not care: browsers treat it as '/'. */
int
dw_path_encode(const char *rel, size_t len, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    if (cap < 1)
        return -ENOSPC;
    out[n++] = '/';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)rel[i];
        if (uri_char(c)) {
            if (n + 1 > cap)
                return -ENOSPC;
            out[n++] = (char)c;
        } else {
            if (n + 3 > cap)
                return -ENOSPC;
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    return n > INT_MAX ? -ENOSPC : (int)n;
}

/*
 * The fallback for kernels before 5.6 (no openat2): open with O_PATH, which neither reads
 * nor triggers a device's open side effects, ask /proc where that fd really is and compare
 * it with where the root really is; only then reopen it for reading through /proc. The
 * check is on the inode we hold, not on a name, so a concurrent rename cannot slip another
 * file in between check and use.
 */
static int
open_fallback(int rootfd, const char *rel)
{
    char link[64], rootpath[PATH_MAX], path[PATH_MAX];
    if (rel[0] == '/')
        return -EXDEV;
    int pfd = openat(rootfd, rel, O_PATH | O_CLOEXEC);
    if (pfd < 0)
        return -errno;

    snprintf(link, sizeof(link), "/proc/self/fd/%d", rootfd);
    ssize_t rn = readlink(link, rootpath, sizeof(rootpath) - 1);
    snprintf(link, sizeof(link), "/proc/self/fd/%d", pfd);
    ssize_t pn = readlink(link, path, sizeof(path) - 1);
    int err = 0;
    if (rn <= 0 || pn <= 0) {
        err = -EACCES; /* no /proc: we cannot prove the file is beneath, so refuse */
    } else {
        size_t r = (size_t)rn;
        /* "/" as root contains everything; otherwise path must be root or "root/...". */
        if (r == 1 && rootpath[0] == '/')
            r = 0;
        if ((size_t)pn < r || memcmp(path, rootpath, r) != 0 || ((size_t)pn > r && path[r] != '/'))
            err = -EXDEV;
    }
    if (err == 0) {
        int fd = open(link, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
            err = -errno;
        else
            err = fd;
    }
    close(pfd);
    return err;
}

/*
 * openat2 refuses, inside the kernel's walk, every ".." above rootfd, every absolute symlink
 * and every symlink whose target leaves rootfd (EXDEV), and /proc magic links (ELOOP). The
 * ENOSYS probe is repeated per call rather than cached: it costs one syscall, only on
 * kernels older than 5.6, and needs no state shared between workers.
 */
static int
open_beneath(int rootfd, const char *rel)
{
    struct open_how how = {
        /* O_NONBLOCK: opening a FIFO someone left in the root must not block the worker
         * (nginx opens files the same way); it changes nothing for regular files. */
        .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    int err = -EAGAIN;
    for (int tries = 0; tries < OPEN_RETRIES; tries++) {
        long fd = syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
        if (fd >= 0)
            return (int)fd;
        err = -errno;
        if (err == -ENOSYS)
            return open_fallback(rootfd, rel);
        /* EAGAIN: a rename or mount raced the walk, and the kernel could not prove the
         * result is beneath; trying again is what openat2(2) advises. */
        if (err != -EAGAIN && err != -EINTR)
            return err;
    }
    return err;
}

/*
 * Only regular files and directories are served: a device, FIFO or socket inside the root
 * (by accident or planted) is refused here, so no caller can forget to check. nginx answers
 * such a file with 404 after logging "is not a regular file".
 */
int
dw_path_open(int rootfd, const char *rel, struct stat *st)
{
    if (rel == NULL || st == NULL)
        return -EINVAL;
    int fd = open_beneath(rootfd, rel[0] == '\0' ? "." : rel);
    if (fd < 0)
        return fd;
    if (fstat(fd, st) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode)) {
        close(fd);
        return -EACCES;
    }
    return fd;
}
