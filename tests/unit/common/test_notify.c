/* dc_notify against a real AF_UNIX datagram socket bound by the test: a filesystem path and
 * an abstract name, reading back the exact bytes sent. */
#include "common/notify.h"

#include "test.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static char tmpdir[64];

/* Binds a datagram socket at path ("@name" = abstract, bound with the exact name length). */
static int
bind_dgram(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    struct sockaddr_un a;
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    size_t n = strlen(path);
    ASSERT_LT(n, sizeof(a.sun_path));
    memcpy(a.sun_path, path, n);
    if (path[0] == '@')
        a.sun_path[0] = '\0';
    else
        n++; /* the terminating NUL */
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    ASSERT_EQ(bind(fd, (struct sockaddr *)&a, len), 0);
    return fd;
}

/* Reads one datagram, waiting at most 2 s. Returns its length. */
static ssize_t
recv_msg(int fd, char *buf, size_t size)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    ASSERT_EQ(poll(&p, 1, 2000), 1);
    ssize_t n = recv(fd, buf, size - 1, 0);
    ASSERT_GE(n, 0);
    buf[n] = '\0';
    return n;
}

static void
test_unset_is_noop(void)
{
    unsetenv("NOTIFY_SOCKET");
    ASSERT_EQ(dc_notify("READY=1"), 0);
    ASSERT_EQ(dc_notifyf("STATUS=%d", 1), 0);
    setenv("NOTIFY_SOCKET", "", 1);
    ASSERT_EQ(dc_notify("READY=1"), 0);
}

static void
test_path_socket_gets_exact_messages(void)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/notify", tmpdir);
    int fd = bind_dgram(path);
    setenv("NOTIFY_SOCKET", path, 1);
    char buf[4096];

    ASSERT_EQ(dc_notify("READY=1"), 1);
    ASSERT_EQ(recv_msg(fd, buf, sizeof(buf)), 7);
    ASSERT_STR_EQ(buf, "READY=1");

    ASSERT_EQ(dc_notify("RELOADING=1\nSTATUS=reloading"), 1);
    recv_msg(fd, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "RELOADING=1\nSTATUS=reloading");

    ASSERT_EQ(dc_notifyf("STATUS=serving %u workers", 4u), 1);
    recv_msg(fd, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "STATUS=serving 4 workers");

    close(fd);
    unlink(path);
    unsetenv("NOTIFY_SOCKET");
}

static void
test_abstract_socket_uses_exact_name_length(void)
{
    char name[64];
    snprintf(name, sizeof(name), "@duet-test-notify-%ld", (long)getpid());
    int fd = bind_dgram(name);
    setenv("NOTIFY_SOCKET", name, 1);
    char buf[256];
    /* Had the sender counted trailing NULs the name would differ and sendto would fail. */
    ASSERT_EQ(dc_notify("STOPPING=1"), 1);
    ASSERT_EQ(recv_msg(fd, buf, sizeof(buf)), 10);
    ASSERT_STR_EQ(buf, "STOPPING=1");
    close(fd);

    /* Nobody bound any more: the kernel refuses. */
    ASSERT_EQ(dc_notify("STOPPING=1"), -ECONNREFUSED);
    unsetenv("NOTIFY_SOCKET");
}

static void
test_notifyf_cuts_at_1k(void)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/notify-long", tmpdir);
    int fd = bind_dgram(path);
    setenv("NOTIFY_SOCKET", path, 1);
    char big[3000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ASSERT_EQ(dc_notifyf("STATUS=%s", big), 1);
    char buf[4096];
    ASSERT_EQ(recv_msg(fd, buf, sizeof(buf)), 1024);
    ASSERT(strncmp(buf, "STATUS=xxx", 10) == 0);
    close(fd);
    unlink(path);
    unsetenv("NOTIFY_SOCKET");
}

static void
test_bad_targets_fail_with_errno(void)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/nobody-here", tmpdir);
    setenv("NOTIFY_SOCKET", path, 1);
    ASSERT_EQ(dc_notify("READY=1"), -ENOENT);

    /* A path that exists but where nobody listens any more. */
    snprintf(path, sizeof(path), "%s/stale", tmpdir);
    close(bind_dgram(path));
    setenv("NOTIFY_SOCKET", path, 1);
    ASSERT_EQ(dc_notify("READY=1"), -ECONNREFUSED);
    unlink(path);

    setenv("NOTIFY_SOCKET", "relative/path", 1);
    ASSERT_EQ(dc_notify("READY=1"), -EINVAL);
    setenv("NOTIFY_SOCKET", "@", 1);
    ASSERT_EQ(dc_notify("READY=1"), -EINVAL);

    char longp[200];
    memset(longp, 'a', sizeof(longp) - 1);
    longp[0] = '/';
    longp[sizeof(longp) - 1] = '\0';
    setenv("NOTIFY_SOCKET", longp, 1);
    ASSERT_EQ(dc_notify("READY=1"), -ENAMETOOLONG);
    longp[0] = '@';
    setenv("NOTIFY_SOCKET", longp, 1);
    ASSERT_EQ(dc_notify("READY=1"), -ENAMETOOLONG);
    unsetenv("NOTIFY_SOCKET");
}

static void
test_watchdog_usec(void)
{
    char pid[32];
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    ASSERT_UINT_EQ(dc_notify_watchdog_usec(), 0);

    setenv("WATCHDOG_USEC", "5000000", 1);
    ASSERT_UINT_EQ(dc_notify_watchdog_usec(), 5000000);

    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    setenv("WATCHDOG_PID", pid, 1);
    ASSERT_UINT_EQ(dc_notify_watchdog_usec(), 5000000);

    snprintf(pid, sizeof(pid), "%ld", (long)getpid() + 1);
    setenv("WATCHDOG_PID", pid, 1);
    ASSERT_UINT_EQ(dc_notify_watchdog_usec(), 0);

    setenv("WATCHDOG_PID", "junk", 1);
    ASSERT_UINT_EQ(dc_notify_watchdog_usec(), 0);

    unsetenv("WATCHDOG_PID");
    setenv("WATCHDOG_USEC", "12abc", 1);
    ASSERT_UINT_EQ(dc_notify_watchdog_usec(), 0);
    setenv("WATCHDOG_USEC", "-5", 1);
    ASSERT_UINT_EQ(dc_notify_watchdog_usec(), 0);
    setenv("WATCHDOG_USEC", "0", 1);
    ASSERT_UINT_EQ(dc_notify_watchdog_usec(), 0);
    unsetenv("WATCHDOG_USEC");
}

int
main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/duet-notify-XXXXXX");
    ASSERT_NOT_NULL(mkdtemp(tmpdir));
    TEST_RUN(test_unset_is_noop);
    TEST_RUN(test_path_socket_gets_exact_messages);
    TEST_RUN(test_abstract_socket_uses_exact_name_length);
    TEST_RUN(test_notifyf_cuts_at_1k);
    TEST_RUN(test_bad_targets_fail_with_errno);
    TEST_RUN(test_watchdog_usec);
    ASSERT_EQ(rmdir(tmpdir), 0);
    return 0;
}
