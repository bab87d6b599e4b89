/*
 * Tests for common/listen.c: real sockets on 127.0.0.1 and ::1 only. Addresses that are
 * not local are only ever bound (which fails), never sent to.
 */
#include "common/listen.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "test.h"

static int
get_int(int fd, int level, int name)
{
    int v = -12345;
    socklen_t len = sizeof(v);
    if (getsockopt(fd, level, name, &v, &len) < 0)
        TEST_FAIL("getsockopt(%d, %d): %s", level, name, strerror(errno));
    return v;
}

static union dc_sockaddr
addr(const char *s)
{
    union dc_sockaddr a;
    if (dc_addr_parse(s, 0, &a) != 0)
        TEST_FAIL("bad address in test: %s", s);
    return a;
}

/* Whether ::1 can be bound here (IPv6 may be disabled in a container). */
static bool
have_ipv6_loopback(void)
{
    union dc_sockaddr a = addr("::1");
    int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool ok = bind(fd, &a.sa, dc_addr_len(&a)) == 0;
    close(fd);
    return ok;
}

static void
check_common_flags(int fd)
{
    ASSERT(fcntl(fd, F_GETFL) & O_NONBLOCK);
    ASSERT(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    ASSERT_EQ(get_int(fd, SOL_SOCKET, SO_REUSEPORT), 1);
}

/* Two sockets of one kind on the same address and port, as two workers would have. */
static void
reuseport_pair(const char *host, bool tcp)
{
    union dc_sockaddr a = addr(host), got, got2;
    int fd1 = tcp ? dc_listen_tcp_fd(&a, NULL) : dc_listen_udp_fd(&a, NULL);
    ASSERT_GE(fd1, 0);
    check_common_flags(fd1);
    ASSERT_EQ(get_int(fd1, SOL_SOCKET, SO_TYPE), tcp ? SOCK_STREAM : SOCK_DGRAM);
    ASSERT_EQ(dc_listen_local_addr(fd1, &got), 0);
    ASSERT_NE(dc_addr_port(&got), 0);
    if (a.sa.sa_family == AF_INET6)
        ASSERT_EQ(get_int(fd1, IPPROTO_IPV6, IPV6_V6ONLY), 1);
    if (tcp) {
        ASSERT_EQ(get_int(fd1, SOL_SOCKET, SO_ACCEPTCONN), 1);
        ASSERT_EQ(get_int(fd1, SOL_SOCKET, SO_REUSEADDR), 1);
    }

    int fd2 = tcp ? dc_listen_tcp_fd(&got, NULL) : dc_listen_udp_fd(&got, NULL);
    ASSERT_GE(fd2, 0);
    ASSERT_EQ(dc_listen_local_addr(fd2, &got2), 0);
    ASSERT(dc_addr_equal(&got, &got2));
    close(fd1);
    close(fd2);
}

static void
reuseport_v4(void)
{
    reuseport_pair("127.0.0.1", false);
    reuseport_pair("127.0.0.1", true);
}

static void
reuseport_v6(void)
{
    if (!have_ipv6_loopback()) {
        fprintf(stderr, "   skipped: ::1 cannot be bound\n");
        return;
    }
    reuseport_pair("::1", false);
    reuseport_pair("::1", true);

    /* Binding ::1 sets IPV6_V6ONLY by itself, so the check above proves little. A v6-only
     * socket refuses a v4-mapped address, which shows the option without a wildcard bind. */
    union dc_sockaddr mapped = addr("::ffff:127.0.0.1");
    ASSERT_EQ(dc_listen_udp_fd(&mapped, NULL), -EINVAL);
    ASSERT_EQ(dc_listen_tcp_fd(&mapped, NULL), -EINVAL);
}

static void
options_applied(void)
{
    struct dc_sock_opts o;
    dc_sock_opts_init(&o);
    o.rcvbuf = 300 * 1024;
    o.sndbuf = 200 * 1024;
    o.defer_accept_ms = 3000;
    o.fastopen = 100;
    o.fin_timeout_ms = 10000;
    union dc_sockaddr a = addr("127.0.0.1");

    int fd = dc_listen_tcp_fd(&a, &o);
    ASSERT_GE(fd, 0);
    ASSERT_GE(get_int(fd, SOL_SOCKET, SO_RCVBUF), 300 * 1024);
    ASSERT_GE(get_int(fd, SOL_SOCKET, SO_SNDBUF), 200 * 1024);
    ASSERT_GE(get_int(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT), 3);
    ASSERT_EQ(get_int(fd, IPPROTO_TCP, TCP_FASTOPEN), 100);
    ASSERT_EQ(get_int(fd, IPPROTO_TCP, TCP_LINGER2), 10);
    close(fd);

    fd = dc_listen_udp_fd(&a, &o);
    ASSERT_GE(fd, 0);
    ASSERT_GE(get_int(fd, SOL_SOCKET, SO_RCVBUF), 300 * 1024);
    ASSERT_GE(get_int(fd, SOL_SOCKET, SO_SNDBUF), 200 * 1024);
    close(fd);
}

/* A socket without SO_REUSEPORT holds the port: ours must fail with -EADDRINUSE. */
static void
addr_in_use(void)
{
    for (int tcp = 0; tcp <= 1; tcp++) {
        union dc_sockaddr a = addr("127.0.0.1"), got;
        int plain = socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
        ASSERT_GE(plain, 0);
        ASSERT_EQ(bind(plain, &a.sa, dc_addr_len(&a)), 0);
        if (tcp)
            ASSERT_EQ(listen(plain, 4), 0);
        ASSERT_EQ(dc_listen_local_addr(plain, &got), 0);
        int fd = tcp ? dc_listen_tcp_fd(&got, NULL) : dc_listen_udp_fd(&got, NULL);
        ASSERT_EQ(fd, -EADDRINUSE);
        close(plain);
    }
}

static void
bind_errors(void)
{
    /* TEST-NET-2 (rather than 192.0.2.1: some labs put TEST-NET-1 on an interface) is
     * assigned to no interface here; the bind fails before any packet is sent. */
    FILE *f = fopen("/proc/sys/net/ipv4/ip_nonlocal_bind", "r");
    int nonlocal = 0;
    if (f != NULL) {
        if (fscanf(f, "%d", &nonlocal) != 1)
            nonlocal = 0;
        fclose(f);
    }
    if (nonlocal) {
        fprintf(stderr, "   skipped: net.ipv4.ip_nonlocal_bind is on\n");
    } else {
        union dc_sockaddr a = addr("198.51.100.1:53");
        ASSERT_EQ(dc_listen_udp_fd(&a, NULL), -EADDRNOTAVAIL);
        ASSERT_EQ(dc_listen_tcp_fd(&a, NULL), -EADDRNOTAVAIL);
    }

    union dc_sockaddr bad;
    memset(&bad, 0, sizeof(bad));
    bad.sa.sa_family = AF_UNIX;
    ASSERT_EQ(dc_listen_udp_fd(&bad, NULL), -EAFNOSUPPORT);
    ASSERT_EQ(dc_listen_tcp_fd(&bad, NULL), -EAFNOSUPPORT);

    /* A failing listener option surfaces as its errno and leaks no fd. */
    struct dc_sock_opts o;
    dc_sock_opts_init(&o);
    o.keepalive = true; /* with keepcnt 0: refused */
    int before = dup(0);
    close(before);
    union dc_sockaddr lo = addr("127.0.0.1");
    ASSERT_EQ(dc_listen_tcp_fd(&lo, &o), -EINVAL);
    int after = dup(0);
    ASSERT_EQ(after, before);
    close(after);

    union dc_sockaddr out;
    ASSERT_EQ(dc_listen_local_addr(-1, &out), -EBADF);
}

/* ---- adopting into a libuv loop ---- */

/* One loop's worth of state; static so callbacks reach it without casts from handle.data. */
static struct {
    uv_loop_t loop;
    uv_tcp_t server, server2, client, accepted;
    uv_udp_t udp;
    uv_connect_t connect_req;
    uv_write_t client_wr, server_wr;
    uv_udp_send_t send_req;
    uv_timer_t deadline;
    char rbuf[2][64];
    char sbuf[8], cbuf[8]; /* what the server and client have read so far */
    size_t slen, clen;
    int connections;
    bool done;
} T;

static void
on_deadline(uv_timer_t *t)
{
    (void)t;
    TEST_FAIL("loop test did not finish within 5 s");
}

static void
start_loop(void)
{
    memset(&T, 0, sizeof(T));
    ASSERT_EQ(uv_loop_init(&T.loop), 0);
    ASSERT_EQ(uv_timer_init(&T.loop, &T.deadline), 0);
    ASSERT_EQ(uv_timer_start(&T.deadline, on_deadline, 5000, 0), 0);
}

/* Runs the loop until every handle is closed, then requires a clean uv_loop_close(). */
static void
finish_loop(void)
{
    ASSERT_EQ(uv_run(&T.loop, UV_RUN_DEFAULT), 0);
    ASSERT(T.done);
    ASSERT_EQ(uv_loop_close(&T.loop), 0);
}

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    char *b = (h == (uv_handle_t *)&T.client) ? T.rbuf[1] : T.rbuf[0];
    *buf = uv_buf_init(b, sizeof(T.rbuf[0]));
}

static void
on_write(uv_write_t *req, int status)
{
    (void)req;
    ASSERT_EQ(status, 0);
}

static void
append(char *dst, size_t *len, size_t cap, const uv_buf_t *buf, ssize_t n)
{
    ASSERT_LE(*len + (size_t)n, cap);
    memcpy(dst + *len, buf->base, (size_t)n);
    *len += (size_t)n;
}

static void
on_server_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    ASSERT_GE(n, 0); /* the client does not close before the reply */
    append(T.sbuf, &T.slen, sizeof(T.sbuf), buf, n);
    if (T.slen == 4) {
        ASSERT(memcmp(T.sbuf, "ping", 4) == 0);
        uv_buf_t out = uv_buf_init((char *)"pong", 4);
        ASSERT_EQ(uv_write(&T.server_wr, s, &out, 1, on_write), 0);
    }
}

static void
on_client_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)s;
    ASSERT_GE(n, 0);
    append(T.cbuf, &T.clen, sizeof(T.cbuf), buf, n);
    if (T.clen < 4)
        return;
    ASSERT(memcmp(T.cbuf, "pong", 4) == 0);
    T.done = true;
    uv_close((uv_handle_t *)&T.client, NULL);
    uv_close((uv_handle_t *)&T.accepted, NULL);
    uv_close((uv_handle_t *)&T.server, NULL);
    uv_close((uv_handle_t *)&T.deadline, NULL);
}

static void
on_connection(uv_stream_t *server, int status)
{
    ASSERT_EQ(status, 0);
    ASSERT_EQ(++T.connections, 1);
    ASSERT_EQ(uv_tcp_init(&T.loop, &T.accepted), 0);
    ASSERT_EQ(uv_accept(server, (uv_stream_t *)&T.accepted), 0);
    ASSERT_EQ(uv_read_start((uv_stream_t *)&T.accepted, on_alloc, on_server_read), 0);
}

static void
on_connect(uv_connect_t *req, int status)
{
    ASSERT_EQ(status, 0);
    uv_buf_t out = uv_buf_init((char *)"ping", 4);
    ASSERT_EQ(uv_write(&T.client_wr, req->handle, &out, 1, on_write), 0);
    ASSERT_EQ(uv_read_start(req->handle, on_alloc, on_client_read), 0);
}

/* A listener fd adopted into a loop accepts a real client and exchanges bytes with it. */
static void
adopt_tcp_on(const char *host)
{
    union dc_sockaddr a = addr(host), bound;
    int fd = dc_listen_tcp_fd(&a, NULL);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(dc_listen_local_addr(fd, &bound), 0);

    start_loop();
    ASSERT_EQ(dc_listen_adopt_tcp(&T.loop, &T.server, fd), 0);
    uv_os_fd_t got;
    ASSERT_EQ(uv_fileno((uv_handle_t *)&T.server, &got), 0);
    ASSERT_EQ(got, fd);
    ASSERT_EQ(uv_listen((uv_stream_t *)&T.server, 16, on_connection), 0);

    /* The fd now has a watcher in this loop, so adopting it again must fail and leave
     * nothing behind that would keep uv_loop_close() from succeeding. */
    ASSERT_EQ(dc_listen_adopt_tcp(&T.loop, &T.server2, fd), UV_EEXIST);

    ASSERT_EQ(uv_tcp_init(&T.loop, &T.client), 0);
    ASSERT_EQ(uv_tcp_connect(&T.connect_req, &T.client, &bound.sa, on_connect), 0);
    finish_loop();
    ASSERT_EQ(T.connections, 1);
    /* The handle owned the fd and closed it. */
    ASSERT_EQ(fcntl(fd, F_GETFD), -1);
}

static void
adopt_tcp_v4(void)
{
    adopt_tcp_on("127.0.0.1");
}

static void
adopt_tcp_v6(void)
{
    if (!have_ipv6_loopback()) {
        fprintf(stderr, "   skipped: ::1 cannot be bound\n");
        return;
    }
    adopt_tcp_on("::1");
}

static void
on_sent(uv_udp_send_t *req, int status)
{
    (void)req;
    ASSERT_EQ(status, 0);
    T.done = true;
    uv_close((uv_handle_t *)&T.udp, NULL);
    uv_close((uv_handle_t *)&T.deadline, NULL);
}

static void
on_udp_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from,
            unsigned flags)
{
    (void)flags;
    if (n == 0 && from == NULL)
        return; /* nothing more to read this time */
    ASSERT_EQ(n, 4);
    ASSERT(memcmp(buf->base, "ping", 4) == 0);
    ASSERT(dc_addr_is_loopback((const union dc_sockaddr *)(const void *)from));
    ASSERT_EQ(uv_udp_recv_stop(h), 0);
    uv_buf_t out = uv_buf_init((char *)"pong", 4);
    ASSERT_EQ(uv_udp_send(&T.send_req, h, &out, 1, from, on_sent), 0);
}

static void
adopt_udp(void)
{
    union dc_sockaddr a = addr("127.0.0.1"), bound;
    int fd = dc_listen_udp_fd(&a, NULL);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(dc_listen_local_addr(fd, &bound), 0);

    start_loop();
    ASSERT_EQ(dc_listen_adopt_udp(&T.loop, &T.udp, fd, false), 0);
    ASSERT_EQ(get_int(fd, SOL_SOCKET, SO_REUSEADDR), 0); /* uv_udp_open set it; we clear it */
    ASSERT_EQ(uv_udp_recv_start(&T.udp, on_alloc, on_udp_recv), 0);

    int c = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(c, 0);
    ASSERT_EQ(sendto(c, "ping", 4, 0, &bound.sa, dc_addr_len(&bound)), 4);
    finish_loop();

    /* Loopback delivers at once: the reply is already queued on the client. */
    char reply[8];
    ASSERT_EQ(recv(c, reply, sizeof(reply), MSG_DONTWAIT), 4);
    ASSERT(memcmp(reply, "pong", 4) == 0);
    close(c);
    ASSERT_EQ(fcntl(fd, F_GETFD), -1);
}

/* Adopting an fd that is not a socket of the right kind fails and leaves the loop clean. */
static void
adopt_errors(void)
{
    start_loop();
    ASSERT_LT(dc_listen_adopt_udp(&T.loop, &T.udp, -1, true), 0);
    ASSERT_LT(dc_listen_adopt_tcp(&T.loop, &T.server, -1), 0);
    T.done = true;
    uv_close((uv_handle_t *)&T.deadline, NULL);
    finish_loop();
}

int
main(void)
{
    TEST_RUN(reuseport_v4);
    TEST_RUN(reuseport_v6);
    TEST_RUN(options_applied);
    TEST_RUN(addr_in_use);
    TEST_RUN(bind_errors);
    TEST_RUN(adopt_tcp_v4);
    TEST_RUN(adopt_tcp_v6);
    TEST_RUN(adopt_udp);
    TEST_RUN(adopt_errors);
    return 0;
}
