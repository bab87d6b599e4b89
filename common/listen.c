#include "common/listen.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <stdlib.h>
#include <limits.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"

/* Closes fd without letting close() overwrite the errno being reported. */
static int
fail_close(int fd, int err)
{
    close(fd);
    return -err;
}

/*
 * The options every listener of ours shares: SO_REUSEPORT, so each worker binds its own
 * socket and the kernel spreads clients by hash, and IPV6_V6ONLY, so "[::]:53" is IPv6 only
 * and "0.0.0.0:53" can be bound beside it whatever net.ipv6.bindv6only says.
 */
static int
open_socket(const union dc_sockaddr *addr, int type, int *fdp)
{
    if (dc_addr_len(addr) == 0)
        return -EAFNOSUPPORT;
    int fd = socket(addr->sa.sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
        return fail_close(fd, errno);
    if (addr->sa.sa_family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
        return fail_close(fd, errno);
    *fdp = fd;
    return 0;
}

static int
set_buf(int fd, int name, uint64_t size)
{
    int v = size > INT_MAX ? INT_MAX : (int)size;
    if (size > 0 && setsockopt(fd, SOL_SOCKET, name, &v, sizeof(v)) < 0)
        return -errno;
    return 0;
}

int
dc_listen_udp_fd(const union dc_sockaddr *addr, const struct dc_sock_opts *o)
{
    int fd, rc;
    if ((rc = open_socket(addr, SOCK_DGRAM, &fd)) < 0)
        return rc;
    if (o != NULL && ((rc = set_buf(fd, SO_RCVBUF, o->rcvbuf)) < 0 ||
                      (rc = set_buf(fd, SO_SNDBUF, o->sndbuf)) < 0))
        return fail_close(fd, -rc);
    if (bind(fd, &addr->sa, dc_addr_len(addr)) < 0)
        return fail_close(fd, errno);
    return fd;
}

/*
 * SO_REUSEADDR lets a restarted daemon bind while connections of its previous run sit in
 * TIME_WAIT. The listener options go on before listen() because TCP_DEFER_ACCEPT and the
 * buffer sizes shape the first SYN-ACK.
 */
int
dc_listen_tcp_fd(const union dc_sockaddr *addr, const struct dc_sock_opts *o)
{
    int fd, rc;
    int one = 1;
    int backlog = 511;

    if ((rc = open_socket(addr, SOCK_STREAM, &fd)) < 0)
        return rc;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
        return fail_close(fd, errno);
    if (o != NULL) {
        if ((rc = dc_sock_apply_listener(fd, o)) < 0)
            return fail_close(fd, -rc);
        if (o->backlog > 0)
            backlog = o->backlog > INT_MAX ? INT_MAX : (int)o->backlog;
    }
    if (bind(fd, &addr->sa, dc_addr_len(addr)) < 0)
        return fail_close(fd, errno);
    if (listen(fd, backlog) < 0)
        return fail_close(fd, errno);
    return fd;
}

/*
 * When uv_*_open() fails, the handle has been initialised and sits in the loop's handle
 * list, where it would make uv_loop_close() return UV_EBUSY. It is closed here so the
 * caller only has to keep h alive until the loop runs once more, and close its fd.
 */
/*
 * On Linux, uv_udp_open() turns SO_REUSEADDR on. For UDP that lets any local user bind the
 * same address and port with SO_REUSEADDR and take our datagrams, which is exactly what the
 * same-user rule of SO_REUSEPORT prevents. The check reads our socket's flag at the other
 * socket's bind time, so clearing it after the open closes that door again.
 */
int
dc_listen_adopt_udp(uv_loop_t *loop, uv_udp_t *h, int fd, bool mmsg)
{
    int rc = mmsg ? uv_udp_init_ex(loop, h, AF_UNSPEC | UV_UDP_RECVMMSG) : uv_udp_init(loop, h);
    if (rc < 0)
        return rc;
    rc = uv_udp_open(h, fd);
    if (rc < 0) {
        uv_close((uv_handle_t *)h, NULL);
        return rc;
    }
    /* Cannot fail on the socket uv_udp_open() just accepted; and failing here could not be
     * reported anyway, since the handle now owns the fd the caller would close again. */
    int zero = 0;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &zero, sizeof(zero));
    return 0;
}

int
dc_listen_adopt_tcp(uv_loop_t *loop, uv_tcp_t *h, int fd)
{
    int rc = uv_tcp_init(loop, h);
    if (rc < 0)
        return rc;
    rc = uv_tcp_open(h, fd);
    if (rc < 0)
        uv_close((uv_handle_t *)h, NULL);
    return rc;
}

int
dc_listen_local_addr(int fd, union dc_sockaddr *out)
{
    socklen_t len = sizeof(*out);
    if (getsockname(fd, &out->sa, &len) < 0)
        return -errno;
    return 0;
}

static int systemd_first = -1, systemd_count = 0;

static void
read_listen_env(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
    if (pid == NULL || fds == NULL || strtol(pid, NULL, 10) != (long)getpid())
        return;
    long n = strtol(fds, NULL, 10);
    if (n > 0 && n < 1024) {
        systemd_first = 3; /* SD_LISTEN_FDS_START */
        systemd_count = (int)n;
    }
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
}

int
dc_listen_systemd_find(const union dc_sockaddr *addr, int type)
{
    read_listen_env();
    for (int fd = systemd_first; fd >= 0 && fd < systemd_first + systemd_count; fd++) {
        int t = 0;
        socklen_t tl = sizeof(t);
        union dc_sockaddr got;
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &t, &tl) < 0 || t != type)
            continue;
        if (dc_listen_local_addr(fd, &got) == 0 && dc_addr_equal(&got, addr))
            return fd;
    }
    return -1;
}

int
dc_listen_probe(const union dc_sockaddr *addr, int type)
{
    if (dc_addr_len(addr) == 0 || dc_addr_port(addr) == 0 ||
        dc_listen_systemd_find(addr, type) >= 0)
        return 0;
    int fd = socket(addr->sa.sa_family, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    /* TCP: SO_REUSEADDR, so connections of an earlier run in TIME_WAIT are no conflict (a
     * listener still is). UDP: nothing, so any socket bound there is one. */
    if ((type == SOCK_STREAM && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) ||
        (addr->sa.sa_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0))
        return fail_close(fd, errno);
    int rc = bind(fd, &addr->sa, dc_addr_len(addr)) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

int
dc_listen_check_free(const union dc_sockaddr *addr, int type)
{
    int rc = dc_listen_probe(addr, type);
    if (rc < 0) {
        char as[DC_ADDR_STRLEN];
        dc_addr_format(addr, true, as, sizeof(as));
        dc_log(DC_LOG_ERROR, "listen_failed", "addr=%s transport=%s error=\"%s%s\"", as,
               type == SOCK_DGRAM ? "udp" : "tcp", strerror(-rc),
               rc == -EADDRINUSE ? ": another process holds it" : "");
    }
    return rc;
}

int
dc_listen_worker_fd(const union dc_sockaddr *addr, int type, const struct dc_sock_opts *o,
                    bool *from_systemd)
{
    int sfd = dc_listen_systemd_find(addr, type);
    *from_systemd = sfd >= 0;
    if (sfd >= 0) {
        int fd = fcntl(sfd, F_DUPFD_CLOEXEC, 3);
        return fd < 0 ? -errno : fd;
    }
    return type == SOCK_DGRAM ? dc_listen_udp_fd(addr, o) : dc_listen_tcp_fd(addr, o);
}
