/*
 * Request paths to files, strictly: nothing a client sends may reach outside the site's
 * document root. Decoding and normalising are pure; opening uses openat2(RESOLVE_BENEATH)
 * relative to the root's directory fd, so symlinks that lead outside the root fail too.
 */
#ifndef DUET_ORIGIN_PATH_H
#define DUET_ORIGIN_PATH_H

#include <stddef.h>
#include <sys/stat.h>

/*
 * Turns a request target's path ("/a/b%20c/./d/../e?x=1#f") into a normalised relative
 * path in out ("a/b c/e"; "" for the root): query and fragment removed, %XX decoded once,
 * "//" collapsed, "." removed, ".." resolved. Returns the length written, or:
 *   -EINVAL  not origin-form (must start with '/'), a bad %-escape, %00 or a raw NUL, an
 *            encoded '/' (%2F) or '\' (%5C), a control character after decoding, too long;
 *   -EACCES  a ".." that would climb above the root.
 * *trailing_slash is set when the path ended in '/' (a directory was asked for), or in a
 * "." or ".." segment, which name directories too ("/a/b/.." asks for "a/", as in nginx).
 */
int dw_path_normalize(const char *target, size_t len, char *out, size_t cap,
                      int *trailing_slash);

/*
 * Writes "/" + rel (from dw_path_normalize) into out as a URI path: bytes other than RFC
 * 3986 pchar and '/' become %XX ('%', '\', '?', '#', spaces, controls, non-ASCII). rel has no
 * leading '/', so the result never starts with "//" or "/\", which a browser would take for
 * another host. Returns the length written (no NUL), or -ENOSPC when cap is too small.
 */
int dw_path_encode(const char *rel, size_t len, char *out, size_t cap);

/*
 * Opens rel (from dw_path_normalize; "" is the root itself) beneath the directory rootfd,
 * read-only, refusing symlinks that resolve outside the root and any ".." leaving it:
 * openat2 with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS. Fills *st with fstat. Returns the fd, or a
 * negative errno (-ENOENT, -EACCES, -EXDEV for an escape attempt, -ELOOP, ...). Only
 * regular files and directories are opened: a FIFO, device or socket gives -EACCES (or
 * -ENXIO, from the open itself). Kernels without openat2 get an O_PATH open checked
 * against /proc/self/fd, which also accepts absolute symlinks that stay inside the root.
 */
int dw_path_open(int rootfd, const char *rel, struct stat *st);

#endif
