/*
 * Tests for common/sock.c: each knob is read back with getsockopt from a real loopback
 * socket (a listener and a connection accepted from it), and each config row is loaded
 * through the real config parser.
 */
#include "common/sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/config.h"
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

static struct linger
get_linger(int fd)
{
    struct linger l = {-1, -1};
    socklen_t len = sizeof(l);
    if (getsockopt(fd, SOL_SOCKET, SO_LINGER, &l, &len) < 0)
        TEST_FAIL("getsockopt(SO_LINGER): %s", strerror(errno));
    return l;
}

static int
read_sysctl(const char *path)
{
    FILE *f = fopen(path, "r");
    int v = -1;
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(fscanf(f, "%d", &v), 1);
    fclose(f);
    return v;
}

/* A TCP socket bound to 127.0.0.1 port 0, not yet listening. */
static int
bound_tcp(struct sockaddr_in *sin)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    memset(sin, 0, sizeof(*sin));
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(fd, (struct sockaddr *)sin, sizeof(*sin)), 0);
    socklen_t len = sizeof(*sin);
    ASSERT_EQ(getsockname(fd, (struct sockaddr *)sin, &len), 0);
    return fd;
}

/*
 * Connects a client to the listener, sends one byte (TCP_DEFER_ACCEPT holds the connection
 * back until data arrives) and accepts it, waiting at most 5 s. Returns the accepted fd.
 */
static int
accept_one(int lfd, const struct sockaddr_in *sin, int *client)
{
    *client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(*client, 0);
    ASSERT_EQ(connect(*client, (const struct sockaddr *)sin, sizeof(*sin)), 0);
    ASSERT_EQ(write(*client, "x", 1), 1);
    struct pollfd pfd = {.fd = lfd, .events = POLLIN};
    ASSERT_EQ(poll(&pfd, 1, 5000), 1);
    int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    ASSERT_GE(cfd, 0);
    return cfd;
}

/* Every knob set to something that differs from the kernel default. */
static void
all_on(struct dc_sock_opts *o)
{
    dc_sock_opts_init(o);
    o->fin_timeout_ms = 30000;
    o->linger_mode = DC_LINGER_ON;
    o->linger_s = 5;
    o->keepalive = true;
    o->keepidle_s = 60;
    o->keepintvl_s = 10;
    o->keepcnt = 5;
    o->defer_accept_ms = 5000;
    o->fastopen = 256;
    o->rcvbuf = 256 * 1024;
    o->sndbuf = 128 * 1024;
}

static void
check_conn_opts(int fd)
{
    ASSERT_EQ(get_int(fd, IPPROTO_TCP, TCP_LINGER2), 30);
    struct linger l = get_linger(fd);
    ASSERT_EQ(l.l_onoff, 1);
    ASSERT_EQ(l.l_linger, 5);
    ASSERT_EQ(get_int(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
    ASSERT_EQ(get_int(fd, IPPROTO_TCP, TCP_KEEPIDLE), 60);
    ASSERT_EQ(get_int(fd, IPPROTO_TCP, TCP_KEEPINTVL), 10);
    ASSERT_EQ(get_int(fd, IPPROTO_TCP, TCP_KEEPCNT), 5);
}

static void
opts_defaults(void)
{
    struct dc_sock_opts o;
    memset(&o, 0x7f, sizeof(o));
    dc_sock_opts_init(&o);
    ASSERT_EQ(o.fin_timeout_ms, 0);
    ASSERT_EQ(o.linger_mode, DC_LINGER_OFF);
    ASSERT_EQ(o.linger_s, 0);
    ASSERT(!o.keepalive);
    ASSERT_EQ(o.defer_accept_ms, 0);
    ASSERT_EQ(o.fastopen, 0);
    ASSERT_EQ(o.backlog, 511);
    ASSERT_UINT_EQ(o.rcvbuf, 0);
    ASSERT_UINT_EQ(o.sndbuf, 0);
}

static void
listener_and_accepted(void)
{
    struct dc_sock_opts o;
    struct sockaddr_in sin;
    all_on(&o);
    int lfd = bound_tcp(&sin);
    ASSERT_EQ(dc_sock_apply_listener(lfd, &o), 0);
    ASSERT_EQ(listen(lfd, (int)o.backlog), 0);

    /* The kernel doubles SO_RCVBUF/SO_SNDBUF for its bookkeeping. */
    ASSERT_GE(get_int(lfd, SOL_SOCKET, SO_RCVBUF), 256 * 1024);
    ASSERT_GE(get_int(lfd, SOL_SOCKET, SO_SNDBUF), 128 * 1024);
    /* TCP_DEFER_ACCEPT is kept as a SYN-ACK retransmit count, so 5 s reads back rounded up. */
    ASSERT_GE(get_int(lfd, IPPROTO_TCP, TCP_DEFER_ACCEPT), 5);
    ASSERT_EQ(get_int(lfd, IPPROTO_TCP, TCP_FASTOPEN), 256);
    check_conn_opts(lfd);

    int client;
    int cfd = accept_one(lfd, &sin, &client);
    /* Inherited from the listener, as sock.h says. */
    ASSERT_EQ(get_linger(cfd).l_onoff, 1);
    ASSERT_EQ(get_int(cfd, SOL_SOCKET, SO_KEEPALIVE), 1);
    ASSERT_EQ(get_int(cfd, IPPROTO_TCP, TCP_KEEPIDLE), 60);
    ASSERT_EQ(dc_sock_apply_conn(cfd, &o), 0);
    check_conn_opts(cfd);

    close(cfd);
    close(client);
    close(lfd);
}

/* A listener with no options, and each linger mode applied to its accepted sockets. */
static void
conn_on_plain_listener(void)
{
    struct dc_sock_opts o;
    struct sockaddr_in sin;
    dc_sock_opts_init(&o);
    int lfd = bound_tcp(&sin);
    ASSERT_EQ(dc_sock_apply_listener(lfd, &o), 0);
    ASSERT_EQ(listen(lfd, 16), 0);
    ASSERT_EQ(get_int(lfd, IPPROTO_TCP, TCP_DEFER_ACCEPT), 0);
    ASSERT_EQ(get_int(lfd, IPPROTO_TCP, TCP_FASTOPEN), 0);
    ASSERT_EQ(get_int(lfd, SOL_SOCKET, SO_KEEPALIVE), 0);

    int client;
    int cfd = accept_one(lfd, &sin, &client);
    /* Defaults: no linger, no keepalive, TCP_LINGER2 reads back the sysctl. */
    ASSERT_EQ(dc_sock_apply_conn(cfd, &o), 0);
    ASSERT_EQ(get_linger(cfd).l_onoff, 0);
    ASSERT_EQ(get_int(cfd, SOL_SOCKET, SO_KEEPALIVE), 0);
    ASSERT_EQ(get_int(cfd, IPPROTO_TCP, TCP_LINGER2),
              read_sysctl("/proc/sys/net/ipv4/tcp_fin_timeout"));

    /* linger = 0: on with zero time, the abortive close. */
    o.linger_mode = DC_LINGER_ON;
    o.linger_s = 0;
    ASSERT_EQ(dc_sock_apply_conn(cfd, &o), 0);
    struct linger l = get_linger(cfd);
    ASSERT_EQ(l.l_onoff, 1);
    ASSERT_EQ(l.l_linger, 0);

    /* Sub-second times round up rather than down to "off". */
    o.fin_timeout_ms = 1500;
    o.keepalive = true;
    o.keepidle_s = 1;
    o.keepintvl_s = 2;
    o.keepcnt = 127;
    ASSERT_EQ(dc_sock_apply_conn(cfd, &o), 0);
    ASSERT_EQ(get_int(cfd, IPPROTO_TCP, TCP_LINGER2), 2);
    ASSERT_EQ(get_int(cfd, IPPROTO_TCP, TCP_KEEPCNT), 127);

    close(cfd); /* RST: linger 0 */
    close(client);
    close(lfd);
}

static void
apply_errors(void)
{
    struct dc_sock_opts o;
    dc_sock_opts_init(&o);
    /* Nothing to set: no syscall, so even a bad fd passes. */
    ASSERT_EQ(dc_sock_apply_conn(-1, &o), 0);
    ASSERT_EQ(dc_sock_apply_listener(-1, &o), 0);

    all_on(&o);
    ASSERT_EQ(dc_sock_apply_conn(-1, &o), -EBADF);
    ASSERT_EQ(dc_sock_apply_listener(-1, &o), -EBADF);

    /* TCP options on a UDP socket: the first failing setsockopt's errno comes back. */
    int ufd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(ufd, 0);
    int rc = dc_sock_apply_conn(ufd, &o);
    ASSERT_LT(rc, 0);
    ASSERT_NE(rc, -EBADF);
    close(ufd);

    /* Values the kernel would reject or misread are refused before any syscall. */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    all_on(&o);
    o.keepcnt = 0;
    ASSERT_EQ(dc_sock_apply_conn(fd, &o), -EINVAL);
    all_on(&o);
    o.keepidle_s = 40000;
    ASSERT_EQ(dc_sock_apply_conn(fd, &o), -EINVAL);
    all_on(&o);
    o.linger_s = -1;
    ASSERT_EQ(dc_sock_apply_conn(fd, &o), -EINVAL);
    close(fd);
}

static void
conf_rows(void)
{
    static const char *const names[DC_SOCK_CONF_NOPTS] = {
        "fin-timeout", "linger",  "keepalive-probes", "defer-accept",
        "fastopen",    "backlog", "rcvbuf",           "sndbuf"};
    struct dc_conf_option rows[DC_SOCK_CONF_NOPTS];
    ASSERT_EQ(dc_sock_conf_rows(rows, 1000), DC_SOCK_CONF_NOPTS);
    for (size_t i = 0; i < DC_SOCK_CONF_NOPTS; i++) {
        ASSERT_STR_EQ(rows[i].name, names[i]);
        ASSERT_STR_EQ(dc_sock_conf_options[i].name, names[i]);
        ASSERT_UINT_EQ(rows[i].offset, dc_sock_conf_options[i].offset + 1000);
        ASSERT_NOT_NULL(rows[i].help);
    }
    ASSERT_NULL(dc_sock_conf_options[DC_SOCK_CONF_NOPTS].name);
    ASSERT_UINT_EQ(dc_sock_conf_options[5].offset, offsetof(struct dc_sock_opts, backlog));
}

/* ---- loading through the real config parser ---- */

struct listen_sec {
    char *name;
    int other; /* so the opts do not sit at offset 0 of the section */
    struct dc_sock_opts sock;
};

struct top {
    struct listen_sec *listens;
    size_t nlistens;
};

/* Loads text into *t; returns the error count, messages in *errs. */
static int
load(const char *text, struct top *t, struct dc_arena *arena, struct dc_conf_errors *errs)
{
    static const struct dc_conf_option top_opts[] = {DC_CONF_OPT_END};
    struct dc_conf_option rows[DC_SOCK_CONF_NOPTS + 1];
    int n = dc_sock_conf_rows(rows, offsetof(struct listen_sec, sock));
    rows[n] = (struct dc_conf_option)DC_CONF_OPT_END;
    const struct dc_conf_section sections[] = {
        DC_CONF_SECTION("listen", struct listen_sec, rows, struct top, listens, nlistens, name,
                        true, NULL, "a listener"),
        DC_CONF_SECTION_END,
    };
    const struct dc_conf_schema schema = {"test", top_opts, sections, NULL};
    memset(t, 0, sizeof(*t));
    memset(errs, 0, sizeof(*errs));
    dc_arena_init(arena, 0);
    return dc_conf_load_string(&schema, "t.conf", text, t, arena, errs);
}

static void
conf_valid(void)
{
    struct top t;
    struct dc_arena arena;
    struct dc_conf_errors errs;
    int n = load("[listen 127.0.0.1:443]\n"
                 "fin-timeout = 30s\n"
                 "linger = 5s\n"
                 "keepalive-probes = 60s:10s:5\n"
                 "defer-accept = 5s\n"
                 "fastopen = 256\n"
                 "backlog = 1024\n"
                 "rcvbuf = 256k\n"
                 "sndbuf = 1M\n"
                 "[listen 127.0.0.1:80]\n"
                 "linger = 0\n"
                 "keepalive-probes = 2m:500ms:1\n"
                 "[listen 127.0.0.1:8080]\n"
                 "linger = off\n"
                 "keepalive-probes = off\n",
                 &t, &arena, &errs);
    dc_conf_errors_print(&errs, stderr);
    ASSERT_EQ(n, 0);
    ASSERT_UINT_EQ(t.nlistens, 3);

    const struct dc_sock_opts *o = &t.listens[0].sock;
    ASSERT_STR_EQ(t.listens[0].name, "127.0.0.1:443");
    ASSERT_EQ(o->fin_timeout_ms, 30000);
    ASSERT_EQ(o->linger_mode, DC_LINGER_ON);
    ASSERT_EQ(o->linger_s, 5);
    ASSERT(o->keepalive);
    ASSERT_EQ(o->keepidle_s, 60);
    ASSERT_EQ(o->keepintvl_s, 10);
    ASSERT_EQ(o->keepcnt, 5);
    ASSERT_EQ(o->defer_accept_ms, 5000);
    ASSERT_EQ(o->fastopen, 256);
    ASSERT_EQ(o->backlog, 1024);
    ASSERT_UINT_EQ(o->rcvbuf, 256 * 1024);
    ASSERT_UINT_EQ(o->sndbuf, 1024 * 1024);

    o = &t.listens[1].sock;
    ASSERT_EQ(o->linger_mode, DC_LINGER_ON);
    ASSERT_EQ(o->linger_s, 0);
    ASSERT(o->keepalive);
    ASSERT_EQ(o->keepidle_s, 120);
    ASSERT_EQ(o->keepintvl_s, 1); /* 500ms rounds up to the kernel's 1 s unit */
    ASSERT_EQ(o->keepcnt, 1);
    /* Options not given take the same defaults as dc_sock_opts_init(). */
    ASSERT_EQ(o->backlog, 511);
    ASSERT_EQ(o->fin_timeout_ms, 0);
    ASSERT_UINT_EQ(o->rcvbuf, 0);

    struct dc_sock_opts def;
    dc_sock_opts_init(&def);
    o = &t.listens[2].sock;
    ASSERT_EQ(o->linger_mode, DC_LINGER_OFF);
    ASSERT(!o->keepalive);
    ASSERT(memcmp(o, &def, sizeof(def)) == 0);

    dc_conf_errors_deinit(&errs);
    dc_arena_deinit(&arena);
}

/* Loads one [listen] section holding line and expects exactly one error containing want. */
static void
conf_error(const char *line, const char *want)
{
    char text[256];
    struct top t;
    struct dc_arena arena;
    struct dc_conf_errors errs;
    snprintf(text, sizeof(text), "[listen 127.0.0.1:443]\n%s\n", line);
    int n = load(text, &t, &arena, &errs);
    if (n != 1) {
        dc_conf_errors_print(&errs, stderr);
        TEST_FAIL("\"%s\": %d errors, want 1", line, n);
    }
    ASSERT_STR_CONTAINS(errs.msgs[0], "t.conf:2: ");
    ASSERT_STR_CONTAINS(errs.msgs[0], want);
    dc_conf_errors_deinit(&errs);
    dc_arena_deinit(&arena);
}

static void
conf_errors(void)
{
    conf_error("linger = sometimes",
               "linger: 'sometimes' is not off, 0 or a duration (e.g. linger = 5s)");
    conf_error("linger = on", "linger: 'on' is not off, 0 or a duration");
    conf_error("linger = -1", "linger: '-1' is not off");
    conf_error("linger = 2h", "linger: 2h is out of range (0 to 3600s)");
    conf_error("keepalive-probes = 60s:10s",
               "keepalive-probes: '60s:10s' is not off or idle:interval:count (e.g. 60s:10s:5)");
    conf_error("keepalive-probes = 60s:10s:5:1", "keepalive-probes: '60s:10s:5:1' is not off or");
    conf_error("keepalive-probes = 60s", "keepalive-probes: '60s' is not off or");
    conf_error("keepalive-probes = 60s::5",
               "keepalive-probes: interval '' in '60s::5' is not a duration");
    conf_error("keepalive-probes = soon:10s:5",
               "keepalive-probes: idle 'soon' in 'soon:10s:5' is not a duration");
    conf_error("keepalive-probes = 0s:10s:5",
               "keepalive-probes: idle '0s' in '0s:10s:5' is out of range (1s to 32767s)");
    conf_error("keepalive-probes = 60s:10h:5",
               "keepalive-probes: interval '10h' in '60s:10h:5' is out of range");
    conf_error("keepalive-probes = 60s:10s:0",
               "keepalive-probes: count '0' in '60s:10s:0' is not a number from 1 to 127");
    conf_error("keepalive-probes = 60s:10s:128", "count '128' in '60s:10s:128'");
    conf_error("keepalive-probes = 60s:10s:x", "count 'x' in '60s:10s:x'");
    conf_error("backlog = 0", "backlog: 0 is out of range (1 to 65535)");
    conf_error("backlog = 65536", "backlog: 65536 is out of range");
    conf_error("fastopen = 70000", "fastopen: 70000 is out of range (0 to 65535)");
    conf_error("fin-timeout = 5m", "fin-timeout: 5m is out of range (0s to 120s)");
    conf_error("fin-timeout = soon", "fin-timeout: 'soon' is not a duration");
    conf_error("defer-accept = 2h", "defer-accept: 2h is out of range");
    conf_error("rcvbuf = 2G", "rcvbuf: 2G is out of range");
    conf_error("sndbuf = lots", "sndbuf: 'lots' is not a size");

    /* A long value is reported, not overflowed. */
    char line[200];
    snprintf(line, sizeof(line), "keepalive-probes = %0120d", 0);
    conf_error(line, "keepalive-probes: '000");
}

int
main(void)
{
    TEST_RUN(opts_defaults);
    TEST_RUN(listener_and_accepted);
    TEST_RUN(conn_on_plain_listener);
    TEST_RUN(apply_errors);
    TEST_RUN(conf_rows);
    TEST_RUN(conf_valid);
    TEST_RUN(conf_errors);
    return 0;
}
