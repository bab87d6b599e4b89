/* Unit tests for origin/path.c: normalising request paths, then opening them beneath a real
 * temporary document root, with openat2 and (in forked children where seccomp makes openat2
 * fail with ENOSYS) with the /proc fallback. */
#include "origin/path.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

static int
norm(const char *target, char *out, size_t cap, int *slash)
{
    return dw_path_normalize(target, strlen(target), out, cap, slash);
}

/* Normalises target and expects the result want (and its trailing-slash flag). */
static void
expect_ok(const char *target, const char *want, int want_slash)
{
    char out[256];
    int slash = -1;
    int n = norm(target, out, sizeof(out), &slash);
    if (n < 0)
        TEST_FAIL("\"%s\": error %d, want \"%s\"", target, n, want);
    ASSERT_EQ(n, strlen(want));
    ASSERT_STR_EQ(out, want);
    if (slash != want_slash)
        TEST_FAIL("\"%s\": trailing_slash %d, want %d", target, slash, want_slash);
}

static void
expect_err(const char *target, int err)
{
    char out[256];
    int slash = -1;
    int n = norm(target, out, sizeof(out), &slash);
    if (n != err)
        TEST_FAIL("\"%s\": got %d, want %d", target, n, err);
}

static void
test_normalize_plain(void)
{
    expect_ok("/", "", 1);
    expect_ok("/index.html", "index.html", 0);
    expect_ok("/a/b%20c/./d/../e?x=1#f", "a/b c/e", 0);
    expect_ok("/a//b///c", "a/b/c", 0);
    expect_ok("//a", "a", 0);
    expect_ok("/a/", "a", 1);
    expect_ok("/a/.", "a", 1);
    expect_ok("/a/b/..", "a", 1);
    expect_ok("/a/..", "", 1);
    expect_ok("/a/../b", "b", 0);
    expect_ok("/a/./b/./", "a/b", 1);
    expect_ok("/%2e", "", 1);
    expect_ok("/...", "...", 0);
    expect_ok("/..a/a..", "..a/a..", 0);
    expect_ok("/.hidden", ".hidden", 0);
    /* Query and fragment are cut before decoding; encoded they are name characters. */
    expect_ok("/a?../../etc/passwd", "a", 0);
    expect_ok("/a#/../..", "a", 0);
    expect_ok("/?x", "", 1);
    expect_ok("/#", "", 1);
    expect_ok("/a%3Fb%23c", "a?b#c", 0);
    /* Decoded once: "%252e%252e" is the literal directory name "%2e%2e". */
    expect_ok("/%252e%252e/x", "%2e%2e/x", 0);
    expect_ok("/%25", "%", 0);
    /* A raw backslash is an ordinary byte of a Linux file name, never a separator. */
    expect_ok("/a\\..\\b", "a\\..\\b", 0);
    expect_ok("/%C3%A9t%c3%a9", "\xc3\xa9t\xc3\xa9", 0);
    expect_ok("/a%20b/%7e", "a b/~", 0);

    /* Only len bytes count; the NUL-free prefix of a longer buffer. */
    char out[16];
    ASSERT_EQ(dw_path_normalize("/abc/def", 4, out, sizeof(out), NULL), 3);
    ASSERT_STR_EQ(out, "abc");
}

static void
test_normalize_traversal(void)
{
    expect_err("/..", -EACCES);
    expect_err("/../etc/passwd", -EACCES);
    expect_err("/a/../../x", -EACCES);
    expect_err("/./../", -EACCES);
    expect_err("/a/b/../../..", -EACCES);
    expect_err("/%2e%2e/x", -EACCES);
    expect_err("/%2E%2e/x", -EACCES);
    expect_err("/.%2e/x", -EACCES);
    expect_err("/%2e./x", -EACCES);
    expect_err("//..//x", -EACCES);
    expect_err("/a/%2e%2e/%2e%2e/etc/passwd", -EACCES);
}

static void
test_normalize_rejects(void)
{
    /* Not origin-form. */
    expect_err("a/b", -EINVAL);
    expect_err("*", -EINVAL);
    expect_err("http://example.test/a", -EINVAL);
    expect_err("", -EINVAL);
    expect_err("?x", -EINVAL);
    /* Encoded separators. */
    expect_err("/a%2fb", -EINVAL);
    expect_err("/a%2Fb", -EINVAL);
    expect_err("/a%5cb", -EINVAL);
    expect_err("/a%5Cb", -EINVAL);
    expect_err("/..%2f..%2fetc/passwd", -EINVAL);
    /* NUL and control characters, encoded or raw. */
    expect_err("/a%00b", -EINVAL);
    expect_err("/a%0ab", -EINVAL);
    expect_err("/a%0Db", -EINVAL);
    expect_err("/a%1f", -EINVAL);
    expect_err("/a%7F", -EINVAL);
    expect_err("/a\x01", -EINVAL);
    expect_err("/a\tb", -EINVAL);
    expect_err("/a\x7f", -EINVAL);
    char out[64];
    ASSERT_EQ(dw_path_normalize("/a\0b", 4, out, sizeof(out), NULL), -EINVAL);
    /* Even in the query: a raw NUL anywhere in the target is refused. */
    ASSERT_EQ(dw_path_normalize("/a?\0", 4, out, sizeof(out), NULL), -EINVAL);
    /* Bad escapes. */
    expect_err("/a%", -EINVAL);
    expect_err("/a%4", -EINVAL);
    expect_err("/a%4/b", -EINVAL);
    expect_err("/a%4?x", -EINVAL);
    expect_err("/a%zz", -EINVAL);
    expect_err("/a%g0", -EINVAL);
    expect_err("/a%0g", -EINVAL);
    expect_err("/%%30", -EINVAL);
    /* Checks still apply to segments that are later removed. */
    expect_err("/a%2f/..", -EINVAL);
    expect_err("/a%00/..", -EINVAL);
}

static void
test_normalize_capacity(void)
{
    char out[8];
    int slash;
    ASSERT_EQ(dw_path_normalize("/abc", 4, out, 4, &slash), 3);
    ASSERT_STR_EQ(out, "abc");
    ASSERT_EQ(dw_path_normalize("/abc", 4, out, 3, &slash), -EINVAL);
    ASSERT_EQ(dw_path_normalize("/a/bc", 5, out, 4, &slash), -EINVAL);
    ASSERT_EQ(dw_path_normalize("/a/b", 4, out, 4, &slash), 3);
    ASSERT_STR_EQ(out, "a/b");
    /* Decoding shrinks: "%41%42%43" needs 4 bytes of output, not 10. */
    ASSERT_EQ(dw_path_normalize("/%41%42%43", 10, out, 4, &slash), 3);
    ASSERT_STR_EQ(out, "ABC");
    ASSERT_EQ(dw_path_normalize("/", 1, out, 1, &slash), 0);
    ASSERT_STR_EQ(out, "");
    ASSERT_EQ(slash, 1);
    ASSERT_EQ(dw_path_normalize("/", 1, out, 0, &slash), -EINVAL);
    ASSERT_EQ(dw_path_normalize("/", 1, NULL, 8, &slash), -EINVAL);
    ASSERT_EQ(dw_path_normalize(NULL, 1, out, 8, &slash), -EINVAL);
}

/* Normalises target, encodes the result, and expects want: what a 301 Location holds. */
static void
expect_uri(const char *target, const char *want)
{
    char rel[256], uri[256];
    int slash;
    int n = norm(target, rel, sizeof(rel), &slash);
    if (n < 0)
        TEST_FAIL("\"%s\": error %d", target, n);
    int u = dw_path_encode(rel, (size_t)n, uri, sizeof(uri) - 1);
    ASSERT_GT(u, 0);
    uri[u] = '\0';
    ASSERT_STR_EQ(uri, want);
    /* One '/', then neither '/' nor '\\': never a reference to another host. */
    ASSERT(uri[0] == '/' && uri[1] != '/' && uri[1] != '\\');
}

static void
test_encode(void)
{
    expect_uri("//evil.com/../dir", "/dir");
    expect_uri("/\\evil.com/../dir", "/dir");
    expect_uri("/\\evil.com/dir", "/%5Cevil.com/dir");
    expect_uri("/\\\\evil.com", "/%5C%5Cevil.com");
    expect_uri("//evil.com/%2e%2e/dir", "/dir");
    expect_uri("///a//b", "/a/b");
    expect_uri("/a%20b/%25/%3F%23", "/a%20b/%25/%3F%23");
    expect_uri("/caf%C3%A9", "/caf%C3%A9");
    expect_uri("/a;b=c:d@e~f", "/a;b=c:d@e~f");
    expect_uri("/x?//evil.com", "/x");
    expect_uri("/", "/");

    char out[8];
    ASSERT_EQ(dw_path_encode("abc", 3, out, 4), 4);
    ASSERT_EQ(dw_path_encode("abc", 3, out, 3), -ENOSPC);
    ASSERT_EQ(dw_path_encode("a b", 3, out, 5), -ENOSPC);
    ASSERT_EQ(dw_path_encode("a b", 3, out, 6), 6);
    ASSERT_EQ(dw_path_encode("", 0, out, 1), 1);
    ASSERT_EQ(dw_path_encode("", 0, out, 0), -ENOSPC);
}

/* --- opening beneath a real root --- */

static char tmpdir[64];
static char rootdir[128];

static void
make_file(const char *rel, const char *content)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", tmpdir, rel);
    FILE *f = fopen(p, "w");
    ASSERT_NOT_NULL(f);
    fputs(content, f);
    fclose(f);
}

static void
make_link(const char *target, const char *rel)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", tmpdir, rel);
    ASSERT_EQ(symlink(target, p), 0);
}

/*
 * tmpdir/
 *   outside.txt                  not to be reached
 *   rootevil/f.txt               shares the root's name as a prefix
 *   root/index.html, sub/file.txt, fifo, sock
 *   root/link_in -> sub/file.txt         relative, inside: allowed
 *   root/sub/up -> ..                    inside: allowed
 *   root/link_out -> /etc/passwd         absolute, outside
 *   root/link_abs -> <root>/index.html   absolute, inside: refused by RESOLVE_BENEATH
 *   root/link_up -> ../outside.txt       relative, outside
 *   root/link_evil -> ../rootevil/f.txt  relative, outside, same prefix
 */
static void
setup_tree(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/duet-test-path-XXXXXX");
    ASSERT_NOT_NULL(mkdtemp(tmpdir));
    snprintf(rootdir, sizeof(rootdir), "%s/root", tmpdir);
    char p[256];
    ASSERT_EQ(mkdir(rootdir, 0755), 0);
    snprintf(p, sizeof(p), "%s/root/sub", tmpdir);
    ASSERT_EQ(mkdir(p, 0755), 0);
    snprintf(p, sizeof(p), "%s/rootevil", tmpdir);
    ASSERT_EQ(mkdir(p, 0755), 0);
    make_file("outside.txt", "outside\n");
    make_file("rootevil/f.txt", "evil\n");
    make_file("root/index.html", "<p>hi</p>\n");
    make_file("root/sub/file.txt", "file\n");
    make_link("sub/file.txt", "root/link_in");
    make_link("..", "root/sub/up");
    make_link("/etc/passwd", "root/link_out");
    snprintf(p, sizeof(p), "%s/index.html", rootdir);
    make_link(p, "root/link_abs");
    make_link("../outside.txt", "root/link_up");
    make_link("../rootevil/f.txt", "root/link_evil");
    snprintf(p, sizeof(p), "%s/root/fifo", tmpdir);
    ASSERT_EQ(mkfifo(p, 0644), 0);

    /* A UNIX socket file: it opens with O_PATH but never for reading (ENXIO). */
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    ASSERT_GE(s, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/root/sock", tmpdir);
    ASSERT_EQ(bind(s, (struct sockaddr *)&sun, sizeof(sun)), 0);
    close(s);
}

static void
teardown_tree(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    ASSERT_EQ(system(cmd), 0);
}

/* Opens target (a request path) beneath rootfd; returns the fd or the error. */
static int
open_target(int rootfd, const char *target, struct stat *st)
{
    char rel[256];
    int n = norm(target, rel, sizeof(rel), NULL);
    if (n < 0)
        return n;
    return dw_path_open(rootfd, rel, st);
}

static void
expect_content(int fd, const char *want)
{
    char buf[64];
    ASSERT_GE(fd, 0);
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    ASSERT_GE(n, 0);
    buf[n] = '\0';
    ASSERT_STR_EQ(buf, want);
    close(fd);
}

/* What both implementations agree on. */
static void
check_common(int rootfd)
{
    struct stat st;
    int fd = open_target(rootfd, "/index.html", &st);
    ASSERT(S_ISREG(st.st_mode));
    ASSERT_EQ(st.st_size, 10);
    expect_content(fd, "<p>hi</p>\n");
    expect_content(open_target(rootfd, "/sub/file.txt", &st), "file\n");
    expect_content(open_target(rootfd, "/sub/../sub/./file.txt", &st), "file\n");
    expect_content(open_target(rootfd, "/link_in", &st), "file\n");
    expect_content(open_target(rootfd, "/sub/up/index.html", &st), "<p>hi</p>\n");

    fd = dw_path_open(rootfd, "", &st);
    ASSERT_GE(fd, 0);
    ASSERT(S_ISDIR(st.st_mode));
    close(fd);
    fd = open_target(rootfd, "/sub/", &st);
    ASSERT_GE(fd, 0);
    ASSERT(S_ISDIR(st.st_mode));
    close(fd);

    ASSERT_EQ(open_target(rootfd, "/missing", &st), -ENOENT);
    ASSERT_EQ(open_target(rootfd, "/index.html/x", &st), -ENOTDIR);
    /* Escapes through symlinks. */
    ASSERT_EQ(open_target(rootfd, "/link_out", &st), -EXDEV);
    ASSERT_EQ(open_target(rootfd, "/link_up", &st), -EXDEV);
    ASSERT_EQ(open_target(rootfd, "/link_evil", &st), -EXDEV);
    /* Called directly, without dw_path_normalize in front. */
    ASSERT_EQ(dw_path_open(rootfd, "../outside.txt", &st), -EXDEV);
    ASSERT_EQ(dw_path_open(rootfd, "/etc/passwd", &st), -EXDEV);
    ASSERT_EQ(dw_path_open(rootfd, "sub/up/../outside.txt", &st), -EXDEV);
    /* Not regular files or directories. */
    ASSERT_EQ(open_target(rootfd, "/fifo", &st), -EACCES);
    ASSERT_EQ(open_target(rootfd, "/sock", &st), -ENXIO);
    /* Traversal strings never get as far as the filesystem. */
    ASSERT_EQ(open_target(rootfd, "/../etc/passwd", &st), -EACCES);
    ASSERT_EQ(open_target(rootfd, "/sub/../../outside.txt", &st), -EACCES);
    ASSERT_EQ(open_target(rootfd, "/%2e%2e/outside.txt", &st), -EACCES);
    ASSERT_EQ(open_target(rootfd, "/.%2e/outside.txt", &st), -EACCES);
    ASSERT_EQ(open_target(rootfd, "/sub%2f..%2f..%2foutside.txt", &st), -EINVAL);
    ASSERT_EQ(open_target(rootfd, "/a%5c..%5coutside.txt", &st), -EINVAL);
    ASSERT_EQ(open_target(rootfd, "/index.html%00.txt", &st), -EINVAL);
    /* A literal backslash name that does not exist: just not found. */
    ASSERT_EQ(open_target(rootfd, "/sub\\..\\..\\outside.txt", &st), -ENOENT);

    ASSERT_EQ(dw_path_open(rootfd, NULL, &st), -EINVAL);
    ASSERT_EQ(dw_path_open(rootfd, "index.html", NULL), -EINVAL);
    ASSERT_EQ(dw_path_open(-1, "index.html", &st), -EBADF);
}

static void
test_open_openat2(void)
{
    int rootfd = open(rootdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(rootfd, 0);
    check_common(rootfd);
    struct stat st;
    /* RESOLVE_BENEATH refuses every absolute symlink, even one naming a file inside the
     * root: the link text is absolute, and the kernel does not compare prefixes. */
    ASSERT_EQ(open_target(rootfd, "/link_abs", &st), -EXDEV);
    close(rootfd);
}

/*
 * Installs a seccomp filter in this (forked) process: each syscall in nrs fails with the
 * matching errno, everything else runs. Returns -1 when seccomp is not available.
 */
static int
fail_syscalls(const int *nrs, const int *errs, int n)
{
    struct sock_filter f[32];
    int k = 0;
    f[k++] =
        (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    for (int i = 0; i < n; i++) {
        f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nrs[i], 0, 1);
        f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
                                              SECCOMP_RET_ERRNO | ((unsigned)errs[i] & 0xffff));
    }
    f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog prog = {.len = (unsigned short)k, .filter = f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -1;
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
        return -1;
    return 0;
}

static void
fallback_child(void)
{
    int rootfd = open(rootdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(rootfd, 0);
    check_common(rootfd);
    struct stat st;
    /* The fallback judges where the file really is, so an absolute symlink that stays
     * inside the root is served. */
    expect_content(open_target(rootfd, "/link_abs", &st), "<p>hi</p>\n");
    close(rootfd);

    /* A root of "/" contains everything. */
    rootfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(rootfd, 0);
    int fd = dw_path_open(rootfd, "etc/passwd", &st);
    ASSERT_GE(fd, 0);
    close(fd);
    close(rootfd);
}

/* Runs fn in a child with the given syscalls failing; 77 from the child means skipped. */
static void
in_child(const int *nrs, const int *errs, int n, void (*fn)(void))
{
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        if (fail_syscalls(nrs, errs, n) < 0)
            _exit(77);
        fn();
        _exit(0);
    }
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77) {
        fprintf(stderr, "   seccomp not available: skipped\n");
        return;
    }
    ASSERT_EQ(WEXITSTATUS(status), 0);
}

static void
test_open_fallback_without_openat2(void)
{
    int nrs[] = {SYS_openat2};
    int errs[] = {ENOSYS};
    in_child(nrs, errs, 1, fallback_child);
}

static void
no_proc_child(void)
{
    int rootfd = open(rootdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(rootfd, 0);
    struct stat st;
    /* Without /proc nothing proves the file is beneath: refused. */
    ASSERT_EQ(dw_path_open(rootfd, "index.html", &st), -EACCES);
    ASSERT_EQ(dw_path_open(rootfd, "missing", &st), -ENOENT);
}

static void
test_open_fallback_without_proc(void)
{
#ifdef SYS_readlink
    int nrs[] = {SYS_openat2, SYS_readlinkat, SYS_readlink};
    int errs[] = {ENOSYS, ENOENT, ENOENT};
    in_child(nrs, errs, 3, no_proc_child);
#else
    int nrs[] = {SYS_openat2, SYS_readlinkat};
    int errs[] = {ENOSYS, ENOENT};
    in_child(nrs, errs, 2, no_proc_child);
#endif
}

static void
eagain_child(void)
{
    int rootfd = open(rootdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(rootfd, 0);
    struct stat st;
    /* A walk that keeps racing renames gives up after a few tries. */
    ASSERT_EQ(dw_path_open(rootfd, "index.html", &st), -EAGAIN);
}

static void
test_open_gives_up_on_eagain(void)
{
    int nrs[] = {SYS_openat2};
    int errs[] = {EAGAIN};
    in_child(nrs, errs, 1, eagain_child);
}

static void
fstat_child(void)
{
    int rootfd = open(rootdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(rootfd, 0);
    struct stat st;
    ASSERT_EQ(dw_path_open(rootfd, "index.html", &st), -EIO);
}

static void
test_open_fstat_failure(void)
{
#ifdef SYS_fstat
    int nrs[] = {SYS_newfstatat, SYS_fstat, SYS_statx};
    int errs[] = {EIO, EIO, EIO};
    in_child(nrs, errs, 3, fstat_child);
#else
    int nrs[] = {SYS_newfstatat, SYS_statx};
    int errs[] = {EIO, EIO};
    in_child(nrs, errs, 2, fstat_child);
#endif
}

int
main(void)
{
    TEST_RUN(test_normalize_plain);
    TEST_RUN(test_normalize_traversal);
    TEST_RUN(test_normalize_rejects);
    TEST_RUN(test_normalize_capacity);
    TEST_RUN(test_encode);
    setup_tree();
    TEST_RUN(test_open_openat2);
    TEST_RUN(test_open_fallback_without_openat2);
    TEST_RUN(test_open_fallback_without_proc);
    TEST_RUN(test_open_gives_up_on_eagain);
    TEST_RUN(test_open_fstat_failure);
    teardown_tree();
    return 0;
}
