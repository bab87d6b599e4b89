/*
 * The upstream transport and its pool of UDP sockets.
 *
 * A cache miss used to pay socket(), bind(), connect(), an epoll add, then close() and an
 * epoll delete for every upstream query. The pool keeps a query's socket for later queries
 * to the same server, so a warm miss costs one send and one receive. The source port is
 * then no longer fresh per query, so reuse is bounded by these rules, which keep an
 * off-path spoofer guessing port, ID and 0x20 case for each query:
 *
 *  1. Ports come from the kernel: each socket is bound to the outgoing address with port 0
 *     (Linux picks a random ephemeral port) and connected to one server (address and
 *     port). It carries queries to that server only, and the kernel then delivers only
 *     datagrams whose source is that server.
 *  2. One query at a time per socket. Concurrent queries to one server use as many
 *     sockets (so never two outstanding queries with the same ID on one socket), and every
 *     datagram a socket receives is checked against the single query it waits for.
 *  3. A socket carries at most max_uses queries (DR_UPSTREAM_MAX_USES, 16) and takes no
 *     new query once max_age_ms (DR_UPSTREAM_MAX_AGE_MS, 2 s) have passed since it was
 *     opened; idle sockets past that age are closed by a sweep. A port an attacker found
 *     (SAD DNS, CVE-2020-25705, scans through the ICMP rate limit's side channel at about
 *     1000 ports a second: seconds to tens of seconds for the ephemeral range) is useful
 *     for at most 15 later queries within those 2 s, each still guarded by a fresh random
 *     ID and 0x20 case.
 *  4. A socket is closed, never reused, after its query timed out (a muted server is how
 *     SAD DNS widens its window, and a late reply must not meet the next query), was
 *     cancelled, failed (ICMP unreachable, send error), or after it received any datagram
 *     that matched nothing: a wrong ID, question or case is a sign that someone knows the
 *     port. Only a query answered cleanly gives its socket back to the pool.
 *  5. A reply is accepted only from the server's address and port, with QR set, the
 *     query's ID and exactly its question, case included (dr_upstream_reply_matches).
 *     Anything else is dropped and counted (DR_UPSTREAM_MISMATCH); it never ends the
 *     exchange, which waits for the real reply until its timeout (unchanged).
 *  6. max_sockets (outgoing-range) caps the sockets open, idle ones and TCP connections
 *     included: at the cap the least recently used idle socket is closed to make room;
 *     with none idle the send fails (UV_EAGAIN).
 *
 * Unbound (outside_network.c, udp-connect: yes) opens a connected socket on a port it
 * draws itself for every query and closes it when the query ends; Knot Resolver 5 opens a
 * libuv UDP handle per query with a kernel-chosen port. Both pay the socket set-up per
 * miss; this pool pays it once per 16 queries (at most) to a busy server.
 *
 * Objects: struct sock is one pooled UDP socket (its descriptor, a uv_poll_t on it and the
 * timer of the query it carries), freed after both close callbacks. The socket is ours,
 * not a uv_udp_t, so that a readiness event costs exactly one recvfrom(): libuv's UDP
 * handle reads until EAGAIN, one more system call per reply on a socket that stays open.
 * A UDP exchange holds no handle: it is freed as soon as it ends. A TCP exchange owns its
 * connection and timer as before.
 */
#include "resolver/upstream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/life.h"
#include "common/log.h"
#include "resolver/dname.h"
#include "resolver/msg.h"

#define RBUF_SIZE    65536 /* the pool's receive buffer: any datagram fits */
#define NBUCKETS     1024  /* idle sockets by server: hash buckets (power of two) */
#define SWEEP_MIN_MS 50

struct sock {
    struct dc_life life; /* freed after the socket's and the timer's close callbacks */
    int fd;
    uv_poll_t poll;   /* readable: one datagram (level-triggered: the next one wakes again) */
    uv_timer_t timer; /* the timeout of the query it carries */
    struct dr_upstream_pool *pool;
    union dc_sockaddr server;
    union dc_sockaddr source; /* port 0 */
    uint64_t born_ms;
    unsigned uses; /* queries sent on it */
    uint32_t hash; /* of server */
    bool tainted;  /* received a datagram that matched nothing: not reused */
    bool idle;     /* in the idle lists */
    bool closed;
    struct dr_upstream *cur;    /* the exchange waiting on it; NULL when idle */
    struct sock *hnext, *hprev; /* idle: bucket chain */
    struct sock *inext, *iprev; /* idle: the pool's list, least recently used first */
};

struct dr_upstream_pool {
    uv_loop_t *loop;
    struct dr_upstream_limits lim;
    dr_upstream_event_cb event;
    void *event_arg;
    size_t open; /* UDP sockets + TCP connections */
    size_t idle;
    bool closing;
    uint32_t seed;
    uv_timer_t sweep; /* closes idle sockets past max_age_ms */
    struct sock *idle_head, *idle_tail;
    struct sock *buckets[NBUCKETS];
    uint8_t rbuf[RBUF_SIZE];
};

struct dr_upstream {
    struct dc_life life; /* TCP: frees after the connection's and the timer's closes */
    struct dr_upstream_pool *pool;
    bool tcp;
    bool done;         /* callback called or cancelled (TCP) */
    bool h_open;       /* TCP: tcp was initialised and counts in pool->open */
    struct sock *sock; /* UDP: the socket carrying the query */
    uv_tcp_t tcp_h;
    uv_timer_t timer;
    uv_connect_t connect;
    uv_write_t write;
    union dc_sockaddr server;
    dr_upstream_cb cb;
    void *arg;
    uint64_t start_ms;
    uint8_t *rbuf; /* TCP: grows to the announced length + 2 */
    size_t rlen, rcap;
    size_t qlen;
    uint8_t query[]; /* TCP: 2-byte length prefix, then the message */
};

static const uint8_t *
query_msg(const struct dr_upstream *u)
{
    return u->tcp ? u->query + 2 : u->query;
}

bool
dr_upstream_reply_matches(const uint8_t *query, size_t qlen, const uint8_t *reply, size_t rlen)
{
    if (qlen < DR_HEADER_LEN || rlen < DR_HEADER_LEN)
        return false;
    if (memcmp(query, reply, 2) != 0 || !(dr_get16(reply + 2) & DR_FLAG_QR))
        return false;
    if (dr_get16(reply + 4) != 1)
        return false;
    /* Our own query's question is uncompressed and well formed; the reply's question must
     * be the very same bytes (name with case, type, class). */
    size_t off = DR_HEADER_LEN;
    if (dr_dname_skip(query, qlen, &off) < 0 || off + 4 > qlen)
        return false;
    size_t qend = off + 4;
    if (rlen < qend)
        return false;
    return memcmp(query + DR_HEADER_LEN, reply + DR_HEADER_LEN, qend - DR_HEADER_LEN) == 0;
}

static void
count(struct dr_upstream_pool *p, enum dr_upstream_event ev)
{
    if (p->event)
        p->event(p->event_arg, ev);
}

/* ---- the pool's sockets ---- */

static uint32_t
addr_hash(const struct dr_upstream_pool *p, const union dc_sockaddr *a)
{
    const uint8_t *b;
    size_t n;
    uint16_t port = dc_addr_port(a);
    if (a->sa.sa_family == AF_INET6) {
        b = a->in6.sin6_addr.s6_addr;
        n = 16;
    } else {
        b = (const uint8_t *)&a->in.sin_addr.s_addr;
        n = 4;
    }
    uint32_t h = p->seed ^ 2166136261u; /* FNV-1a, seeded per pool */
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 16777619u;
    h = (h ^ (port & 0xff)) * 16777619u;
    h = (h ^ (port >> 8)) * 16777619u;
    return h ^ (h >> 15);
}

static bool
same_addr(const union dc_sockaddr *a, const union dc_sockaddr *b)
{
    return a->sa.sa_family == b->sa.sa_family && dc_addr_equal(a, b);
}

static bool
too_old(const struct dr_upstream_pool *p, const struct sock *s, uint64_t now)
{
    return now - s->born_ms >= p->lim.max_age_ms;
}

static void
idle_unlink(struct sock *s)
{
    struct dr_upstream_pool *p = s->pool;
    if (!s->idle)
        return;
    s->idle = false;
    if (s->hprev)
        s->hprev->hnext = s->hnext;
    else
        p->buckets[s->hash & (NBUCKETS - 1)] = s->hnext;
    if (s->hnext)
        s->hnext->hprev = s->hprev;
    if (s->iprev)
        s->iprev->inext = s->inext;
    else
        p->idle_head = s->inext;
    if (s->inext)
        s->inext->iprev = s->iprev;
    else
        p->idle_tail = s->iprev;
    s->hnext = s->hprev = s->inext = s->iprev = NULL;
    p->idle--;
}

static void
sock_free(struct dc_life *l)
{
    free(DC_LIFE_OWNER(l, struct sock, life));
}

static void
sock_on_closed(uv_handle_t *h)
{
    struct sock *s = h->data;
    dc_life_handle_closed(&s->life);
}

/* Closes s (its file descriptor goes at once; the memory after the close callbacks). */
static void
sock_close(struct sock *s)
{
    if (s->closed)
        return;
    s->closed = true;
    idle_unlink(s);
    s->pool->open--;
    uv_timer_stop(&s->timer);
    uv_handle_t *hs[] = {(uv_handle_t *)&s->poll, (uv_handle_t *)&s->timer};
    /* uv_close() takes the descriptor out of the loop's epoll set at once: close it now. */
    dc_life_close(&s->life, hs, 2, sock_on_closed);
    close(s->fd);
}

static void udp_on_poll(uv_poll_t *h, int status, int events);

/* A new socket: bound to source's address on a kernel-chosen port, connected to server,
 * reading. NULL with *rc set on failure. */
static struct sock *
sock_open(struct dr_upstream_pool *p, const union dc_sockaddr *server,
          const union dc_sockaddr *source, uint32_t hash, int *rc)
{
    struct sock *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        *rc = UV_ENOMEM;
        return NULL;
    }
    /* Port 0 in source: the kernel picks a random ephemeral port at bind. */
    s->fd = socket(server->sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0)
        goto fail_errno;
    if (bind(s->fd, &source->sa, dc_addr_len(source)) < 0 ||
        connect(s->fd, &server->sa, dc_addr_len(server)) < 0)
        goto fail_errno;
    if ((*rc = uv_poll_init(p->loop, &s->poll, s->fd)) < 0)
        goto fail;
    dc_life_init(&s->life, sock_free);
    s->pool = p;
    s->server = *server;
    s->source = *source;
    s->hash = hash;
    s->born_ms = uv_now(p->loop);
    p->open++;
    s->poll.data = s;
    uv_timer_init(p->loop, &s->timer); /* cannot fail */
    s->timer.data = s;
    if ((*rc = uv_poll_start(&s->poll, UV_READABLE, udp_on_poll)) < 0) {
        sock_close(s);
        return NULL;
    }
    count(p, DR_UPSTREAM_SOCKET_OPENED);
    return s;

fail_errno:
    *rc = -errno;
fail:
    if (s->fd >= 0)
        close(s->fd);
    free(s);
    return NULL;
}

/* Closes the least recently used idle socket. False when none is idle. */
static bool
evict_one(struct dr_upstream_pool *p)
{
    if (p->idle_head == NULL)
        return false;
    sock_close(p->idle_head);
    return true;
}

/* An idle socket connected to server from source, else a new one. *reused tells which. */
static struct sock *
sock_acquire(struct dr_upstream_pool *p, const union dc_sockaddr *server,
             const union dc_sockaddr *source, bool *reused, int *rc)
{
    uint32_t h = addr_hash(p, server);
    uint64_t now = uv_now(p->loop);
    struct sock *s = p->buckets[h & (NBUCKETS - 1)], *next;
    for (; s != NULL; s = next) {
        next = s->hnext;
        if (s->hash != h || !same_addr(&s->server, server) || !same_addr(&s->source, source))
            continue;
        if (too_old(p, s, now) || s->uses >= p->lim.max_uses) {
            sock_close(s); /* limits lowered by a reload, or the sweep has not run yet */
            continue;
        }
        idle_unlink(s);
        uv_ref((uv_handle_t *)&s->poll);
        *reused = true;
        return s;
    }
    if (p->open >= p->lim.max_sockets && !evict_one(p)) {
        *rc = UV_EAGAIN;
        return NULL;
    }
    *reused = false;
    return sock_open(p, server, source, h, rc);
}

static void
sweep_on_timer(uv_timer_t *t)
{
    struct dr_upstream_pool *p = t->data;
    uint64_t now = uv_now(p->loop);
    struct sock *s = p->idle_head, *next;
    for (; s != NULL; s = next) {
        next = s->inext;
        if (too_old(p, s, now))
            sock_close(s);
    }
    if (p->idle == 0)
        uv_timer_stop(t);
}

/* The query on s ended: s goes back to the pool when it answered cleanly (ok) and is
 * within its limits, else it is closed (rules 3 and 4). */
static void
sock_release(struct sock *s, bool ok)
{
    struct dr_upstream_pool *p = s->pool;
    s->cur = NULL;
    uv_timer_stop(&s->timer);
    if (!ok || s->tainted || p->closing || s->uses >= p->lim.max_uses ||
        too_old(p, s, uv_now(p->loop))) {
        sock_close(s);
        return;
    }
    /* An idle socket alone does not keep the loop running (as before the pool). */
    uv_unref((uv_handle_t *)&s->poll);
    s->idle = true;
    struct sock **b = &p->buckets[s->hash & (NBUCKETS - 1)];
    s->hprev = NULL;
    s->hnext = *b;
    if (*b)
        (*b)->hprev = s;
    *b = s;
    s->inext = NULL;
    s->iprev = p->idle_tail;
    if (p->idle_tail)
        p->idle_tail->inext = s;
    else
        p->idle_head = s;
    p->idle_tail = s;
    p->idle++;
    if (!uv_is_active((uv_handle_t *)&p->sweep)) {
        uint64_t period = p->lim.max_age_ms / 4;
        if (period < SWEEP_MIN_MS)
            period = SWEEP_MIN_MS;
        uv_timer_start(&p->sweep, sweep_on_timer, period, period);
    }
}

/* ---- UDP exchanges ---- */

/* Ends a UDP exchange: frees it, gives its socket back (or closes it), then calls back.
 * reply points into the pool's buffer, which nothing overwrites before cb returns. */
static void
udp_finish(struct dr_upstream *u, enum dr_upstream_status st, const uint8_t *reply, size_t len)
{
    struct sock *s = u->sock;
    uint32_t rtt = (uint32_t)(uv_now(s->pool->loop) - u->start_ms);
    dr_upstream_cb cb = u->cb;
    void *arg = u->arg;
    free(u);
    sock_release(s, st == DR_UPSTREAM_OK);
    cb(arg, st, reply, len, rtt);
}

static void
udp_on_timeout(uv_timer_t *t)
{
    struct sock *s = t->data;
    if (s->cur != NULL)
        udp_finish(s->cur, DR_UPSTREAM_TIMEOUT, NULL, 0);
}

static void
udp_on_poll(uv_poll_t *h, int status, int events)
{
    struct sock *s = h->data;
    struct dr_upstream *u = s->cur;
    union dc_sockaddr from;
    socklen_t flen = sizeof(from);
    ssize_t n = -1;
    (void)events;
    if (status == 0) {
        n = recvfrom(s->fd, s->pool->rbuf, RBUF_SIZE, 0, &from.sa, &flen);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
    }
    if (n < 0) {
        /* ECONNREFUSED from an ICMP port unreachable on a connected socket (libuv reports
         * the error readiness as status UV_EBADF and stops polling). */
        if (u != NULL)
            udp_finish(u, DR_UPSTREAM_NETERR, NULL, 0);
        else
            sock_close(s);
        return;
    }
    if (u == NULL || !dc_addr_equal(&from, &s->server) ||
        !dr_upstream_reply_matches(u->query, u->qlen, s->pool->rbuf, (size_t)n)) {
        /* A spoofing attempt, a stray or late reply: drop it, keep waiting, and never
         * give this socket another query (rule 4). */
        DC_LOG_DEBUG("upstream_mismatch", "len=%zd waiting=%d uses=%u", n, u != NULL, s->uses);
        count(s->pool, DR_UPSTREAM_MISMATCH);
        if (u == NULL)
            sock_close(s);
        else
            s->tainted = true;
        return;
    }
    udp_finish(u, DR_UPSTREAM_OK, s->pool->rbuf, (size_t)n);
}

/* Sends u's query on a pooled socket. A reused socket whose send fails (an ICMP error
 * still pending on it, say) is closed and the query tried once more on a fresh one. */
static int
udp_start(struct dr_upstream *u, const union dc_sockaddr *source, uint32_t timeout_ms)
{
    struct dr_upstream_pool *p = u->pool;
    for (;;) {
        bool reused = false;
        int rc = 0;
        struct sock *s = sock_acquire(p, &u->server, source, &reused, &rc);
        if (s == NULL)
            return rc;
        s->uses++;
        rc = send(s->fd, u->query, u->qlen, 0) < 0 ? -errno : 0;
        if (rc == 0) {
            s->cur = u;
            u->sock = s;
            if (reused)
                count(p, DR_UPSTREAM_SOCKET_REUSED);
            uv_timer_start(&s->timer, udp_on_timeout, timeout_ms, 0);
            return 0;
        }
        sock_close(s);
        if (!reused)
            return rc;
    }
}

/* ---- TCP exchanges ---- */

static void
upstream_free(struct dc_life *l)
{
    struct dr_upstream *u = DC_LIFE_OWNER(l, struct dr_upstream, life);
    free(u->rbuf);
    free(u);
}

static void
tcp_on_closed(uv_handle_t *h)
{
    struct dr_upstream *u = h->data;
    dc_life_handle_closed(&u->life);
}

/* Closes the timer and the connection (if it was made); u is freed after both callbacks. */
static void
tcp_close_all(struct dr_upstream *u)
{
    uv_timer_stop(&u->timer);
    if (u->h_open)
        u->pool->open--;
    uv_handle_t *hs[] = {(uv_handle_t *)&u->timer, u->h_open ? (uv_handle_t *)&u->tcp_h : NULL};
    dc_life_close(&u->life, hs, 2, tcp_on_closed);
}

static void
tcp_finish(struct dr_upstream *u, enum dr_upstream_status st, const uint8_t *reply, size_t len)
{
    if (u->done)
        return;
    u->done = true;
    uint32_t rtt = (uint32_t)(uv_now(u->pool->loop) - u->start_ms);
    /* The callback may start new exchanges or cancel others, never this one (done). */
    u->cb(u->arg, st, reply, len, rtt);
    tcp_close_all(u);
}

static void
tcp_on_timeout(uv_timer_t *t)
{
    tcp_finish(t->data, DR_UPSTREAM_TIMEOUT, NULL, 0);
}

static void
tcp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct dr_upstream *u = h->data;
    (void)suggested;
    if (u->rcap - u->rlen < 512) {
        size_t ncap = u->rcap ? u->rcap * 2 : 4096;
        if (ncap > 65537 + 512)
            ncap = 65537 + 512;
        uint8_t *nb = realloc(u->rbuf, ncap);
        if (nb == NULL) {
            *buf = uv_buf_init(NULL, 0);
            return;
        }
        u->rbuf = nb;
        u->rcap = ncap;
    }
    *buf = uv_buf_init((char *)u->rbuf + u->rlen, (unsigned)(u->rcap - u->rlen));
}

static void
tcp_on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    struct dr_upstream *u = st->data;
    (void)buf;
    if (u->done)
        return;
    if (n < 0) {
        tcp_finish(u, DR_UPSTREAM_NETERR, NULL, 0);
        return;
    }
    u->rlen += (size_t)n;
    if (u->rlen < 2)
        return;
    size_t want = dr_get16(u->rbuf);
    if (u->rlen < want + 2) {
        if (u->rcap == u->rlen && u->rcap >= 65537 + 512)
            tcp_finish(u, DR_UPSTREAM_NETERR, NULL, 0);
        return;
    }
    if (!dr_upstream_reply_matches(query_msg(u), u->qlen - 2, u->rbuf + 2, want)) {
        tcp_finish(u, DR_UPSTREAM_NETERR, NULL, 0); /* TCP cannot be spoofed blind: a bad server */
        return;
    }
    tcp_finish(u, DR_UPSTREAM_OK, u->rbuf + 2, want);
}

static void
tcp_on_write(uv_write_t *w, int status)
{
    struct dr_upstream *u = w->data;
    if (status < 0 && !u->done)
        tcp_finish(u, DR_UPSTREAM_NETERR, NULL, 0);
}

static void
tcp_on_connect(uv_connect_t *c, int status)
{
    struct dr_upstream *u = c->data;
    if (u->done)
        return;
    if (status < 0) {
        tcp_finish(u, DR_UPSTREAM_NETERR, NULL, 0);
        return;
    }
    uv_buf_t b = uv_buf_init((char *)u->query, (unsigned)u->qlen);
    u->write.data = u;
    if (uv_write(&u->write, (uv_stream_t *)&u->tcp_h, &b, 1, tcp_on_write) < 0 ||
        uv_read_start((uv_stream_t *)&u->tcp_h, tcp_alloc, tcp_on_read) < 0)
        tcp_finish(u, DR_UPSTREAM_NETERR, NULL, 0);
}

static int
tcp_start(struct dr_upstream *u, const union dc_sockaddr *source, uint32_t timeout_ms)
{
    struct dr_upstream_pool *p = u->pool;
    int rc = uv_timer_init(p->loop, &u->timer);
    if (rc < 0)
        return rc;
    u->timer.data = u;
    if (p->open >= p->lim.max_sockets && !evict_one(p))
        return UV_EAGAIN;
    if ((rc = uv_tcp_init(p->loop, &u->tcp_h)) < 0)
        return rc;
    u->tcp_h.data = u;
    u->h_open = true;
    p->open++;
    if ((rc = uv_tcp_bind(&u->tcp_h, &source->sa, 0)) < 0)
        return rc;
    u->connect.data = u;
    if ((rc = uv_tcp_connect(&u->connect, &u->tcp_h, &u->server.sa, tcp_on_connect)) < 0)
        return rc;
    return uv_timer_start(&u->timer, tcp_on_timeout, timeout_ms, 0);
}

/* ---- the interface ---- */

int
dr_upstream_send(struct dr_upstream_pool *pool, const union dc_sockaddr *server,
                 const union dc_sockaddr *source, const uint8_t *query, size_t len, bool tcp,
                 uint32_t timeout_ms, dr_upstream_cb cb, void *arg, struct dr_upstream **out)
{
    if (len > 65535 || len < DR_HEADER_LEN)
        return UV_EINVAL;
    if (pool->closing)
        return UV_ECANCELED;
    struct dr_upstream *u = calloc(1, sizeof(*u) + len + 2);
    if (u == NULL)
        return UV_ENOMEM;
    u->pool = pool;
    u->tcp = tcp;
    u->server = *server;
    u->cb = cb;
    u->arg = arg;
    u->start_ms = uv_now(pool->loop);
    union dc_sockaddr src = *source;
    dc_addr_set_port(&src, 0);
    int rc;
    if (tcp) {
        dr_put16(u->query, (uint16_t)len);
        memcpy(u->query + 2, query, len);
        u->qlen = len + 2;
        dc_life_init(&u->life, upstream_free);
        rc = tcp_start(u, &src, timeout_ms);
        if (rc < 0) {
            /* The handles that were initialised close, then u is freed. */
            u->done = true;
            tcp_close_all(u);
            return rc;
        }
    } else {
        memcpy(u->query, query, len);
        u->qlen = len;
        rc = udp_start(u, &src, timeout_ms);
        if (rc < 0) {
            free(u);
            return rc;
        }
    }
    *out = u;
    return 0;
}

void
dr_upstream_cancel(struct dr_upstream *u)
{
    if (u == NULL)
        return;
    if (!u->tcp) {
        /* The reply may still come: the socket is closed, never reused (rule 4). */
        struct sock *s = u->sock;
        free(u);
        sock_release(s, false);
        return;
    }
    if (u->done)
        return;
    u->done = true;
    tcp_close_all(u);
}

/* ---- the pool ---- */

struct dr_upstream_pool *
dr_upstream_pool_new(uv_loop_t *loop, const struct dr_upstream_limits *limits,
                     dr_upstream_event_cb event, void *event_arg)
{
    struct dr_upstream_pool *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->loop = loop;
    p->event = event;
    p->event_arg = event_arg;
    p->seed = (uint32_t)arc4random();
    dr_upstream_pool_set_limits(p, limits);
    uv_timer_init(loop, &p->sweep);
    p->sweep.data = p;
    /* The sweep alone never keeps a loop running. */
    uv_unref((uv_handle_t *)&p->sweep);
    return p;
}

void
dr_upstream_pool_set_limits(struct dr_upstream_pool *p, const struct dr_upstream_limits *limits)
{
    p->lim = *limits;
    if (p->lim.max_uses < 1)
        p->lim.max_uses = 1;
    if (p->lim.max_sockets < 1)
        p->lim.max_sockets = 1;
}

size_t
dr_upstream_pool_open(const struct dr_upstream_pool *p, size_t *idle)
{
    if (idle != NULL)
        *idle = p->idle;
    return p->open;
}

void
dr_upstream_pool_close(struct dr_upstream_pool *p)
{
    if (p == NULL || p->closing)
        return;
    p->closing = true;
    while (p->idle_head != NULL)
        sock_close(p->idle_head);
    uv_timer_stop(&p->sweep);
    uv_close((uv_handle_t *)&p->sweep, NULL);
}

void
dr_upstream_pool_free(struct dr_upstream_pool *p)
{
    free(p);
}
