/* Unit tests for resolver/upstream.c: the reply matching (a reply is accepted only with our
 * ID, QR set, and exactly our question, letter case (DNS 0x20) included), and the pool of
 * UDP sockets against servers scripted on loopback in the same loop: sockets are reused
 * for one server within max_uses and max_age_ms, one query at a time; spoofed replies on
 * a reused socket are dropped, counted and end nothing; a timeout, a cancel, an error or a
 * stray datagram retires the socket; max_sockets caps what is open. */
#include "resolver/upstream.h"

#include "resolver/msg.h"
#include "test.h"

static size_t
make(uint8_t *out, uint16_t id, uint16_t flags, const char *qname_wire, size_t qlen, uint16_t qtype)
{
    memset(out, 0, DR_HEADER_LEN);
    dr_put16(out, id);
    dr_put16(out + 2, flags);
    dr_put16(out + 4, 1);
    memcpy(out + DR_HEADER_LEN, qname_wire, qlen);
    dr_put16(out + DR_HEADER_LEN + qlen, qtype);
    dr_put16(out + DR_HEADER_LEN + qlen + 2, 1);
    return DR_HEADER_LEN + qlen + 4;
}

static void
test_matching(void)
{
    static const char q0x20[] = "\3wWw\7ExAmPlE";
    uint8_t q[128], r[128];
    size_t ql = make(q, 0xbeef, 0, q0x20, sizeof(q0x20), DR_TYPE_A);
    size_t rl = make(r, 0xbeef, DR_FLAG_QR | DR_FLAG_AA, q0x20, sizeof(q0x20), DR_TYPE_A);
    ASSERT(dr_upstream_reply_matches(q, ql, r, rl));

    /* The case was not echoed: a spoofer who guessed ID and port still fails. */
    static const char lower[] = "\3www\7example";
    rl = make(r, 0xbeef, DR_FLAG_QR, lower, sizeof(lower), DR_TYPE_A);
    ASSERT(!dr_upstream_reply_matches(q, ql, r, rl));
    /* Wrong ID, not a response, other type, truncated, two questions. */
    rl = make(r, 0xbeee, DR_FLAG_QR, q0x20, sizeof(q0x20), DR_TYPE_A);
    ASSERT(!dr_upstream_reply_matches(q, ql, r, rl));
    rl = make(r, 0xbeef, 0, q0x20, sizeof(q0x20), DR_TYPE_A);
    ASSERT(!dr_upstream_reply_matches(q, ql, r, rl));
    rl = make(r, 0xbeef, DR_FLAG_QR, q0x20, sizeof(q0x20), DR_TYPE_AAAA);
    ASSERT(!dr_upstream_reply_matches(q, ql, r, rl));
    rl = make(r, 0xbeef, DR_FLAG_QR, q0x20, sizeof(q0x20), DR_TYPE_A);
    ASSERT(!dr_upstream_reply_matches(q, ql, r, rl - 1));
    ASSERT(!dr_upstream_reply_matches(q, ql, r, 11));
    dr_put16(r + 4, 2);
    ASSERT(!dr_upstream_reply_matches(q, ql, r, rl));
}

/* ---- the pool, against scripted servers ---- */

enum srv_mode {
    SRV_ECHO,   /* the query back as a response */
    SRV_SILENT, /* no reply */
    SRV_SPOOF,  /* wrong ID, wrong case, not a response, the right reply from another
                   port (all with rcode NXDOMAIN), then the real reply (NOERROR) */
};

#define MAX_SEEN 128

struct srv {
    uv_udp_t udp;
    uv_udp_t liar; /* another port on the same address: spoofs from it */
    union dc_sockaddr addr;
    enum srv_mode mode;
    unsigned n;               /* queries received */
    uint16_t ports[MAX_SEEN]; /* their source ports, in order */
    union dc_sockaddr last_from;
    uint8_t buf[4096];
};

struct ctx {
    uv_loop_t loop;
    struct dr_upstream_pool *pool;
    unsigned opened, reused, mismatches;
    unsigned done, ok, timeouts, neterrs;
    int last_rcode;
    unsigned chain; /* sequential queries still to send from the callback */
    struct srv *chain_srv;
    uint16_t next_id;
};

static const char QNAME[] = "\3wWw\7ExAmPlE";
static union dc_sockaddr source4;

static void
srv_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct srv *s = h->data;
    (void)suggested;
    *buf = uv_buf_init((char *)s->buf, sizeof(s->buf));
}

static void
srv_send(uv_udp_t *h, const uint8_t *p, size_t n, const union dc_sockaddr *to)
{
    uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
    ASSERT_EQ(uv_udp_try_send(h, &b, 1, &to->sa), (int)n);
}

static void
srv_on_read(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from,
            unsigned flags)
{
    struct srv *s = h->data;
    (void)buf;
    (void)flags;
    if (n <= 0 || from == NULL)
        return;
    const union dc_sockaddr *to = (const union dc_sockaddr *)from;
    s->last_from = *to;
    if (s->n < MAX_SEEN)
        s->ports[s->n] = dc_addr_port(to);
    s->n++;
    uint8_t r[512];
    ASSERT((size_t)n <= sizeof(r));
    memcpy(r, s->buf, (size_t)n);
    r[2] |= 0x80; /* QR */
    if (s->mode == SRV_SILENT)
        return;
    if (s->mode == SRV_SPOOF) {
        r[3] = (r[3] & 0xf0) | 3; /* NXDOMAIN marks every spoof */
        r[1] ^= 1;                /* wrong ID */
        srv_send(&s->udp, r, (size_t)n, to);
        r[1] ^= 1;
        r[DR_HEADER_LEN + 2] ^= 0x20; /* wrong case of one letter */
        srv_send(&s->udp, r, (size_t)n, to);
        r[DR_HEADER_LEN + 2] ^= 0x20;
        r[2] &= 0x7f; /* not a response */
        srv_send(&s->udp, r, (size_t)n, to);
        r[2] |= 0x80;
        srv_send(&s->liar, r, (size_t)n, to); /* right ID and question, wrong port */
        r[3] &= 0xf0;
    }
    srv_send(&s->udp, r, (size_t)n, to);
}

static void
srv_start(uv_loop_t *loop, struct srv *s, const char *addr)
{
    memset(s, 0, sizeof(*s));
    ASSERT_EQ(dc_addr_parse(addr, 0, &s->addr), 0);
    ASSERT_EQ(uv_udp_init(loop, &s->udp), 0);
    ASSERT_EQ(uv_udp_init(loop, &s->liar), 0);
    s->udp.data = s->liar.data = s;
    ASSERT_EQ(uv_udp_bind(&s->udp, &s->addr.sa, 0), 0);
    union dc_sockaddr other = s->addr;
    ASSERT_EQ(uv_udp_bind(&s->liar, &other.sa, 0), 0);
    int len = sizeof(s->addr);
    ASSERT_EQ(uv_udp_getsockname(&s->udp, &s->addr.sa, &len), 0);
    ASSERT_EQ(uv_udp_recv_start(&s->udp, srv_alloc, srv_on_read), 0);
    /* The servers never keep the loop running: exchanges and test timers do. */
    uv_unref((uv_handle_t *)&s->udp);
    uv_unref((uv_handle_t *)&s->liar);
}

static void
srv_stop(struct srv *s)
{
    if (!uv_is_closing((uv_handle_t *)&s->udp))
        uv_close((uv_handle_t *)&s->udp, NULL);
    if (!uv_is_closing((uv_handle_t *)&s->liar))
        uv_close((uv_handle_t *)&s->liar, NULL);
}

/* Distinct source ports among the first n the server saw. */
static unsigned
distinct_ports(const struct srv *s, unsigned from, unsigned to)
{
    unsigned d = 0;
    for (unsigned i = from; i < to; i++) {
        bool seen = false;
        for (unsigned j = from; j < i && !seen; j++)
            seen = s->ports[j] == s->ports[i];
        d += !seen;
    }
    return d;
}

/* How often the most used port was used among [from, to). */
static unsigned
max_port_uses(const struct srv *s, unsigned from, unsigned to)
{
    unsigned best = 0;
    for (unsigned i = from; i < to; i++) {
        unsigned c = 0;
        for (unsigned j = from; j < to; j++)
            c += s->ports[j] == s->ports[i];
        if (c > best)
            best = c;
    }
    return best;
}

static void
on_event(void *arg, enum dr_upstream_event ev)
{
    struct ctx *c = arg;
    if (ev == DR_UPSTREAM_SOCKET_OPENED)
        c->opened++;
    else if (ev == DR_UPSTREAM_SOCKET_REUSED)
        c->reused++;
    else
        c->mismatches++;
}

static void ctx_send(struct ctx *c, struct srv *s, uint32_t timeout_ms, struct dr_upstream **out);

static void
on_reply(void *arg, enum dr_upstream_status st, const uint8_t *reply, size_t len, uint32_t rtt)
{
    struct ctx *c = arg;
    (void)rtt;
    c->done++;
    if (st == DR_UPSTREAM_OK) {
        ASSERT_GE(len, DR_HEADER_LEN);
        c->ok++;
        c->last_rcode = reply[3] & 0x0f;
    } else if (st == DR_UPSTREAM_TIMEOUT) {
        c->timeouts++;
    } else {
        c->neterrs++;
    }
    if (c->chain > 0) {
        c->chain--;
        ctx_send(c, c->chain_srv, 1000, NULL);
    }
}

static void
ctx_send(struct ctx *c, struct srv *s, uint32_t timeout_ms, struct dr_upstream **out)
{
    uint8_t q[128];
    size_t ql = make(q, c->next_id++, 0, QNAME, sizeof(QNAME), DR_TYPE_A);
    struct dr_upstream *u = NULL;
    ASSERT_EQ(
        dr_upstream_send(c->pool, &s->addr, &source4, q, ql, false, timeout_ms, on_reply, c, &u),
        0);
    ASSERT_NOT_NULL(u);
    if (out != NULL)
        *out = u;
}

static void
ctx_init(struct ctx *c, size_t max_sockets, unsigned max_uses, uint32_t max_age_ms)
{
    memset(c, 0, sizeof(*c));
    ASSERT_EQ(uv_loop_init(&c->loop), 0);
    struct dr_upstream_limits lim = {max_sockets, max_uses, max_age_ms};
    c->pool = dr_upstream_pool_new(&c->loop, &lim, on_event, c);
    ASSERT_NOT_NULL(c->pool);
    c->next_id = 0x1000;
    ASSERT_EQ(dc_addr_parse("127.0.0.1", 0, &source4), 0);
}

static void
run(struct ctx *c)
{
    uv_run(&c->loop, UV_RUN_DEFAULT);
}

static void
noop_timer(uv_timer_t *t)
{
    (void)t;
}

/* Runs the loop for ms milliseconds (idle sockets and servers alone do not keep it up). */
static void
run_for(struct ctx *c, uint64_t ms)
{
    uv_timer_t t;
    uv_timer_init(&c->loop, &t);
    uv_timer_start(&t, noop_timer, ms, 0);
    uv_run(&c->loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&c->loop, UV_RUN_NOWAIT);
}

static size_t
open_socks(struct ctx *c, size_t *idle)
{
    return dr_upstream_pool_open(c->pool, idle);
}

static void
ctx_finish(struct ctx *c, struct srv *srvs, size_t n)
{
    dr_upstream_pool_close(c->pool);
    for (size_t i = 0; i < n; i++)
        srv_stop(&srvs[i]);
    uv_run(&c->loop, UV_RUN_DEFAULT);
    ASSERT_EQ(uv_loop_close(&c->loop), 0);
    dr_upstream_pool_free(c->pool);
}

/* N queries one after the other to one server: the server sees fewer ports than queries
 * but more than one, each port at most max_uses times. */
static void
test_pool_reuses_sockets_up_to_max_uses(void)
{
    struct ctx c;
    struct srv s;
    ctx_init(&c, 64, 4, 60000);
    srv_start(&c.loop, &s, "127.0.0.1");
    c.chain = 9;
    c.chain_srv = &s;
    ctx_send(&c, &s, 1000, NULL);
    run(&c);
    ASSERT_EQ(c.ok, 10);
    ASSERT_EQ(s.n, 10);
    ASSERT_EQ(distinct_ports(&s, 0, 10), 3); /* 4 + 4 + 2 */
    ASSERT_EQ(max_port_uses(&s, 0, 10), 4);
    /* Retired after exactly max_uses: ports change at queries 4 and 8, never between. */
    for (unsigned i = 1; i < 10; i++)
        ASSERT_EQ(s.ports[i] == s.ports[i - 1], i % 4 != 0);
    ASSERT_EQ(c.opened, 3);
    ASSERT_EQ(c.reused, 7);
    size_t idle = 0;
    ASSERT_EQ(open_socks(&c, &idle), 1); /* the third carried 2 of its 4: back in the pool */
    ASSERT_EQ(idle, 1);
    ctx_finish(&c, &s, 1);

    /* max_uses = 1: no reuse at all, as before the pool. */
    ctx_init(&c, 64, 1, 60000);
    srv_start(&c.loop, &s, "127.0.0.1");
    c.chain = 4;
    c.chain_srv = &s;
    ctx_send(&c, &s, 1000, NULL);
    run(&c);
    ASSERT_EQ(c.ok, 5);
    ASSERT_EQ(distinct_ports(&s, 0, 5), 5);
    ASSERT_EQ(open_socks(&c, NULL), 0);
    ctx_finish(&c, &s, 1);
}

/* Concurrent queries to one server each get a socket of their own; the next wave reuses
 * exactly those sockets. A socket is never shared by two outstanding queries. */
static void
test_pool_one_query_per_socket(void)
{
    struct ctx c;
    struct srv s;
    ctx_init(&c, 64, 16, 60000);
    srv_start(&c.loop, &s, "127.0.0.1");
    for (int i = 0; i < 6; i++)
        ctx_send(&c, &s, 1000, NULL);
    ASSERT_EQ(open_socks(&c, NULL), 6);
    run(&c);
    ASSERT_EQ(c.ok, 6);
    ASSERT_EQ(distinct_ports(&s, 0, 6), 6);
    size_t idle = 0;
    ASSERT_EQ(open_socks(&c, &idle), 6);
    ASSERT_EQ(idle, 6);
    for (int i = 0; i < 6; i++)
        ctx_send(&c, &s, 1000, NULL);
    run(&c);
    ASSERT_EQ(c.ok, 12);
    ASSERT_EQ(c.opened, 6);
    ASSERT_EQ(c.reused, 6);
    ASSERT_EQ(distinct_ports(&s, 0, 12), 6);
    ASSERT_EQ(distinct_ports(&s, 6, 12), 6);
    ctx_finish(&c, &s, 1);
}

/* A socket is reused only for its own server. */
static void
test_pool_socket_per_server(void)
{
    struct ctx c;
    struct srv s[2];
    ctx_init(&c, 64, 16, 60000);
    srv_start(&c.loop, &s[0], "127.0.0.1");
    srv_start(&c.loop, &s[1], "127.0.0.1");
    ctx_send(&c, &s[0], 1000, NULL);
    run(&c);
    ctx_send(&c, &s[1], 1000, NULL);
    run(&c);
    ctx_send(&c, &s[0], 1000, NULL);
    run(&c);
    ASSERT_EQ(c.ok, 3);
    ASSERT_EQ(c.opened, 2);
    ASSERT_EQ(s[0].n, 2);
    ASSERT_EQ(s[0].ports[0], s[0].ports[1]);
    ASSERT_NE(s[1].ports[0], s[0].ports[0]);
    ctx_finish(&c, s, 2);
}

/* On a reused socket, replies with a wrong ID, a wrong 0x20 case, QR clear, or from another
 * port are dropped (the first three counted) and the real reply is accepted; the socket
 * is then retired: the next query goes out on a new port. */
static void
test_pool_spoofs_on_reused_socket_ignored(void)
{
    struct ctx c;
    struct srv s;
    ctx_init(&c, 64, 16, 60000);
    srv_start(&c.loop, &s, "127.0.0.1");
    ctx_send(&c, &s, 1000, NULL);
    run(&c);
    ASSERT_EQ(c.ok, 1);
    s.mode = SRV_SPOOF;
    ctx_send(&c, &s, 1000, NULL);
    run(&c);
    ASSERT_EQ(s.n, 2);
    ASSERT_EQ(s.ports[1], s.ports[0]); /* it was a pooled socket */
    ASSERT_EQ(c.done, 2);              /* no spoof ended the exchange */
    ASSERT_EQ(c.ok, 2);
    ASSERT_EQ(c.last_rcode, 0); /* the real reply, no spoof (NXDOMAIN) */
    ASSERT_EQ(c.mismatches, 3); /* the other port's is dropped by the kernel */
    s.mode = SRV_ECHO;
    ctx_send(&c, &s, 1000, NULL);
    run(&c);
    ASSERT_EQ(c.ok, 3);
    ASSERT_NE(s.ports[2], s.ports[1]);
    ASSERT_EQ(c.opened, 2);
    ctx_finish(&c, &s, 1);
}

/* A datagram arriving on an idle socket is counted and the socket closed. */
static void
test_pool_stray_datagram_retires_idle_socket(void)
{
    struct ctx c;
    struct srv s;
    ctx_init(&c, 64, 16, 60000);
    srv_start(&c.loop, &s, "127.0.0.1");
    ctx_send(&c, &s, 1000, NULL);
    run(&c);
    size_t idle = 0;
    ASSERT_EQ(open_socks(&c, &idle), 1);
    ASSERT_EQ(idle, 1);
    uint8_t r[128];
    size_t rl = make(r, 0x1000, DR_FLAG_QR, QNAME, sizeof(QNAME), DR_TYPE_A); /* a replay */
    srv_send(&s.udp, r, rl, &s.last_from);
    run_for(&c, 30);
    ASSERT_EQ(c.mismatches, 1);
    ASSERT_EQ(open_socks(&c, NULL), 0);
    ctx_send(&c, &s, 1000, NULL);
    run(&c);
    ASSERT_EQ(c.ok, 2);
    ASSERT_NE(s.ports[1], s.ports[0]);
    ctx_finish(&c, &s, 1);
}

/* A timeout and a cancel close the socket: a late reply never meets a later query. */
static void
test_pool_timeout_and_cancel_retire(void)
{
    struct ctx c;
    struct srv s;
    ctx_init(&c, 64, 16, 60000);
    srv_start(&c.loop, &s, "127.0.0.1");
    ctx_send(&c, &s, 1000, NULL);
    run(&c);
    s.mode = SRV_SILENT;
    ctx_send(&c, &s, 40, NULL);
    run(&c);
    ASSERT_EQ(c.timeouts, 1);
    ASSERT_EQ(s.ports[1], s.ports[0]);
    ASSERT_EQ(open_socks(&c, NULL), 0);
    s.mode = SRV_ECHO;
    ctx_send(&c, &s, 1000, NULL);
    run(&c);
    ASSERT_NE(s.ports[2], s.ports[1]);
    struct dr_upstream *u = NULL;
    ctx_send(&c, &s, 1000, &u); /* on the socket of the query before */
    dr_upstream_cancel(u);
    ASSERT_EQ(open_socks(&c, NULL), 0);
    run_for(&c, 30); /* the echo goes to a closed port */
    ASSERT_EQ(c.done, 3);
    ASSERT_EQ(c.mismatches, 0);
    ASSERT_EQ(s.ports[3], s.ports[2]);
    ctx_send(&c, &s, 1000, NULL);
    run(&c);
    ASSERT_EQ(c.ok, 3);
    ASSERT_NE(s.ports[4], s.ports[3]);
    ctx_finish(&c, &s, 1);
}

/* No query starts on a socket older than max_age_ms, and the sweep closes idle ones. */
static void
test_pool_max_age(void)
{
    struct ctx c;
    struct srv s;
    ctx_init(&c, 64, 16, 40);
    srv_start(&c.loop, &s, "127.0.0.1");
    ctx_send(&c, &s, 1000, NULL);
    run(&c);
    ctx_send(&c, &s, 1000, NULL);
    run(&c);
    ASSERT_EQ(s.ports[1], s.ports[0]);
    run_for(&c, 60);
    ctx_send(&c, &s, 1000, NULL);
    run(&c);
    ASSERT_NE(s.ports[2], s.ports[1]);
    ASSERT_EQ(open_socks(&c, NULL), 1);
    run_for(&c, 150); /* age 40 ms, sweep every 50 ms */
    ASSERT_EQ(open_socks(&c, NULL), 0);
    ctx_finish(&c, &s, 1);
}

/* max_sockets caps what is open: busy sockets are never taken, an idle one is closed to
 * make room. */
static void
test_pool_max_sockets(void)
{
    struct ctx c;
    struct srv s[2];
    ctx_init(&c, 2, 16, 60000);
    srv_start(&c.loop, &s[0], "127.0.0.1");
    srv_start(&c.loop, &s[1], "127.0.0.1");
    ctx_send(&c, &s[0], 1000, NULL);
    ctx_send(&c, &s[0], 1000, NULL);
    uint8_t q[128];
    size_t ql = make(q, 0x4242, 0, QNAME, sizeof(QNAME), DR_TYPE_A);
    struct dr_upstream *u = NULL;
    ASSERT_EQ(dr_upstream_send(c.pool, &s[1].addr, &source4, q, ql, false, 1000, on_reply, &c, &u),
              UV_EAGAIN);
    ASSERT_EQ(dr_upstream_send(c.pool, &s[1].addr, &source4, q, ql, true, 1000, on_reply, &c, &u),
              UV_EAGAIN);
    run(&c);
    ASSERT_EQ(c.ok, 2);
    ASSERT_EQ(open_socks(&c, NULL), 2);
    ctx_send(&c, &s[1], 1000, NULL);
    ASSERT_EQ(open_socks(&c, NULL), 2);
    run(&c);
    ASSERT_EQ(c.ok, 3);
    ASSERT_EQ(s[1].n, 1);
    ASSERT_EQ(c.opened, 3);
    ctx_finish(&c, s, 2);
}

/* An ICMP port unreachable on a reused socket fails that query (NETERR) and closes it. */
static void
test_pool_unreachable_on_reused_socket(void)
{
    struct ctx c;
    struct srv s;
    ctx_init(&c, 64, 16, 60000);
    srv_start(&c.loop, &s, "127.0.0.1");
    ctx_send(&c, &s, 1000, NULL);
    run(&c);
    srv_stop(&s);
    run_for(&c, 10);
    ctx_send(&c, &s, 1000, NULL);
    ASSERT_EQ(c.reused, 1);
    run(&c);
    ASSERT_EQ(c.neterrs, 1);
    ASSERT_EQ(open_socks(&c, NULL), 0);
    ctx_finish(&c, &s, 1);
}

int
main(void)
{
    TEST_RUN(test_matching);
    TEST_RUN(test_pool_reuses_sockets_up_to_max_uses);
    TEST_RUN(test_pool_one_query_per_socket);
    TEST_RUN(test_pool_socket_per_server);
    TEST_RUN(test_pool_spoofs_on_reused_socket_ignored);
    TEST_RUN(test_pool_stray_datagram_retires_idle_socket);
    TEST_RUN(test_pool_timeout_and_cancel_retire);
    TEST_RUN(test_pool_max_age);
    TEST_RUN(test_pool_max_sockets);
    TEST_RUN(test_pool_unreachable_on_reused_socket);
    return 0;
}
