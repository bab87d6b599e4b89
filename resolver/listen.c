#include "resolver/listen.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/listen.h"
#include "common/log.h"
#include "resolver/query.h"
#include "resolver/worker.h"

#define TCP_MAX_PENDING 64      /* queries in flight per connection before reading pauses */
#define TCP_BUF_MAX     (65535 + 2)

/* ---- UDP ---- */

struct udp_client {
    struct dr_client c; /* first: the waiter callback gets this pointer */
    uv_udp_t *sock;
    union dc_sockaddr peer;
};

struct udp_send {
    uv_udp_send_t req;
    size_t len;
    uint8_t data[];
};

static void
on_udp_sent(uv_udp_send_t *req, int status)
{
    (void)status;
    free(req->data);
}

/* Sends from the caller's buffer: directly when the socket takes it now (no allocation),
 * else through a queued copy. */
static void
udp_send(uv_udp_t *sock, const union dc_sockaddr *peer, const uint8_t *data, size_t len)
{
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    int rc = uv_udp_try_send(sock, &b, 1, &peer->sa);
    if (rc >= 0 || rc != UV_EAGAIN)
        return;
    struct udp_send *s = malloc(sizeof(*s) + len);
    if (s == NULL)
        return;
    memcpy(s->data, data, len);
    s->len = len;
    s->req.data = s;
    b = uv_buf_init((char *)s->data, (unsigned)len);
    if (uv_udp_send(&s->req, sock, &b, 1, &peer->sa, on_udp_sent) < 0)
        free(s);
}

static void
udp_client_send(struct dr_client *c, const uint8_t *reply, size_t len)
{
    struct udp_client *u = (struct udp_client *)c;
    struct dr_worker *wk = c->wk;
    int n = dr_query_patch(wk, &c->q, c->limit, reply, len, wk->out, sizeof(wk->out));
    if (n > 0 && !uv_is_closing((uv_handle_t *)u->sock))
        udp_send(u->sock, &u->peer, wk->out, (size_t)n);
    free(u);
}

static void
udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct dr_worker *wk = h->data;
    (void)suggested;
    *buf = uv_buf_init((char *)wk->udp_rbuf, sizeof(wk->udp_rbuf));
}

static void
udp_on_read(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
            unsigned flags)
{
    struct dr_worker *wk = h->data;
    if (nread <= 0 || addr == NULL || (flags & UV_UDP_PARTIAL))
        return;
    const union dc_sockaddr *peer = (const union dc_sockaddr *)addr;
    struct dr_msg_query q;
    int n = dr_query_process(wk, (const uint8_t *)buf->base, (size_t)nread, peer, false, &q,
                             wk->out, sizeof(wk->out));
    if (n > 0) {
        udp_send(h, peer, wk->out, (size_t)n);
        return;
    }
    if (n < 0)
        return;
    struct udp_client *u = malloc(sizeof(*u));
    if (u == NULL)
        return;
    u->c.wk = wk;
    u->c.q = q;
    u->c.limit = q.udp_size < wk->conf->edns_buffer_size ? q.udp_size
                                                               : (size_t)wk->conf->edns_buffer_size;
    u->c.send = udp_client_send;
    u->sock = h;
    u->peer = *peer;
    dr_query_resolve(&u->c);
}

/* ---- TCP ---- */

struct dr_tcp_conn {
    struct dr_worker *wk;
    uv_tcp_t tcp;
    uv_timer_t idle;
    struct dr_tcp_conn *next, *prev;
    int refs;           /* the connection's own + one per query in flight + one per write */
    int pending_closes;
    bool closing;
    bool reading;
    size_t pending;     /* queries being resolved */
    uint8_t *buf;
    size_t len, cap;
};

struct tcp_client {
    struct dr_client c;
    struct dr_tcp_conn *conn;
};

struct tcp_write {
    uv_write_t req;
    struct dr_tcp_conn *conn;
    size_t len;
    uint8_t data[];
};

static void conn_close(struct dr_tcp_conn *c);

static void
conn_unref(struct dr_tcp_conn *c)
{
    if (--c->refs > 0 || c->pending_closes > 0)
        return;
    struct dr_worker *wk = c->wk;
    if (c->prev)
        c->prev->next = c->next;
    else if (wk->conns == c)
        wk->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    wk->tcp_clients--;
    free(c->buf);
    free(c);
}

static void
conn_on_closed(uv_handle_t *h)
{
    struct dr_tcp_conn *c = h->data;
    c->pending_closes--;
    c->refs++; /* conn_unref decrements */
    conn_unref(c);
}

static void
conn_close(struct dr_tcp_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    uv_timer_stop(&c->idle);
    c->pending_closes = 2;
    uv_close((uv_handle_t *)&c->tcp, conn_on_closed);
    uv_close((uv_handle_t *)&c->idle, conn_on_closed);
    conn_unref(c); /* the connection's own reference */
}

static void
on_tcp_written(uv_write_t *req, int status)
{
    struct tcp_write *w = req->data;
    (void)status;
    struct dr_tcp_conn *c = w->conn;
    free(w);
    conn_unref(c);
}

static void tcp_resume(struct dr_tcp_conn *c);

static void
tcp_write(struct dr_tcp_conn *c, const uint8_t *reply, size_t len)
{
    if (c->closing)
        return;
    uint8_t prefix[2];
    dr_put16(prefix, (uint16_t)len);
    uv_buf_t bufs[2] = {uv_buf_init((char *)prefix, 2), uv_buf_init((char *)reply, (unsigned)len)};
    int n = uv_try_write((uv_stream_t *)&c->tcp, bufs, 2);
    if (n == (int)len + 2)
        return;
    size_t done = n > 0 ? (size_t)n : 0;
    if (n < 0 && n != UV_EAGAIN) {
        conn_close(c);
        return;
    }
    /* Queue the rest. */
    size_t rest = len + 2 - done;
    struct tcp_write *w = malloc(sizeof(*w) + rest);
    if (w == NULL) {
        conn_close(c); /* a half-written reply cannot be taken back */
        return;
    }
    if (done < 2) {
        memcpy(w->data, prefix + done, 2 - done);
        memcpy(w->data + 2 - done, reply, len);
    } else {
        memcpy(w->data, reply + (done - 2), rest);
    }
    w->len = rest;
    w->conn = c;
    w->req.data = w;
    uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)rest);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_tcp_written) < 0) {
        free(w);
        conn_close(c);
        return;
    }
    c->refs++;
}

static void
tcp_client_send(struct dr_client *cl, const uint8_t *reply, size_t len)
{
    struct tcp_client *t = (struct tcp_client *)cl;
    struct dr_tcp_conn *c = t->conn;
    struct dr_worker *wk = cl->wk;
    int n = dr_query_patch(wk, &cl->q, 65535, reply, len, wk->out, sizeof(wk->out));
    if (n > 0)
        tcp_write(c, wk->out, (size_t)n);
    free(t);
    c->pending--;
    if (!c->closing) {
        if (c->pending == 0 && wk->stopping)
            conn_close(c);
        else
            tcp_resume(c);
    }
    conn_unref(c);
}

static void
tcp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct dr_tcp_conn *c = h->data;
    (void)suggested;
    if (c->cap - c->len < 1024 && c->cap < TCP_BUF_MAX) {
        size_t ncap = c->cap ? c->cap * 2 : 2048;
        if (ncap > TCP_BUF_MAX)
            ncap = TCP_BUF_MAX;
        uint8_t *nb = realloc(c->buf, ncap);
        if (nb) {
            c->buf = nb;
            c->cap = ncap;
        }
    }
    *buf = uv_buf_init((char *)c->buf + c->len, (unsigned)(c->cap - c->len));
}

/* Handles every complete message in the buffer. */
static void
tcp_drain_buffer(struct dr_tcp_conn *c)
{
    struct dr_worker *wk = c->wk;
    size_t off = 0;
    while (!c->closing && c->len - off >= 2 && c->pending < TCP_MAX_PENDING) {
        size_t mlen = dr_get16(c->buf + off);
        if (mlen == 0) {
            conn_close(c);
            return;
        }
        if (c->len - off < mlen + 2)
            break;
        const uint8_t *msg = c->buf + off + 2;
        off += mlen + 2;
        union dc_sockaddr peer;
        int plen = sizeof(peer);
        if (uv_tcp_getpeername(&c->tcp, &peer.sa, &plen) < 0) {
            conn_close(c);
            return;
        }
        struct dr_msg_query q;
        int n = dr_query_process(wk, msg, mlen, &peer, true, &q, wk->out, sizeof(wk->out));
        if (n > 0) {
            tcp_write(c, wk->out, (size_t)n);
            continue;
        }
        if (n < 0)
            continue;
        struct tcp_client *t = malloc(sizeof(*t));
        if (t == NULL)
            continue;
        t->c.wk = wk;
        t->c.q = q;
        t->c.limit = 65535;
        t->c.send = tcp_client_send;
        t->conn = c;
        c->refs++;
        c->pending++;
        dr_query_resolve(&t->c);
    }
    if (c->closing)
        return;
    if (off > 0) {
        memmove(c->buf, c->buf + off, c->len - off);
        c->len -= off;
    }
    if (c->pending >= TCP_MAX_PENDING && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

static void
tcp_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct dr_tcp_conn *c = s->data;
    (void)buf;
    if (nread < 0) {
        conn_close(c);
        return;
    }
    if (nread == 0)
        return;
    c->len += (size_t)nread;
    uv_timer_again(&c->idle);
    c->refs++; /* replies sent synchronously may close it inside */
    tcp_drain_buffer(c);
    if (!c->closing && c->len == c->cap && c->cap >= TCP_BUF_MAX)
        conn_close(c); /* cannot happen with a 2-byte length; a guard all the same */
    conn_unref(c);
}

static void
tcp_resume(struct dr_tcp_conn *c)
{
    if (c->reading || c->closing || c->wk->stopping)
        return;
    c->refs++;
    tcp_drain_buffer(c);
    if (!c->closing && c->pending < TCP_MAX_PENDING &&
        uv_read_start((uv_stream_t *)&c->tcp, tcp_alloc, tcp_on_read) == 0)
        c->reading = true;
    conn_unref(c);
}

static void
on_idle_timeout(uv_timer_t *t)
{
    struct dr_tcp_conn *c = t->data;
    if (c->pending > 0)
        return; /* answers are still coming; the repeat fires again */
    DC_LOG_DEBUG("tcp_idle_close", "worker=%u", c->wk->id);
    conn_close(c);
}

static void
on_connection(uv_stream_t *server, int status)
{
    struct dr_worker *wk = server->data;
    if (status < 0 || wk->stopping)
        return;
    struct dr_tcp_conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return;
    c->wk = wk;
    if (uv_tcp_init(wk->loop, &c->tcp) < 0) {
        free(c);
        return;
    }
    uv_timer_init(wk->loop, &c->idle);
    c->tcp.data = c;
    c->idle.data = c;
    c->refs = 1;
    c->next = wk->conns;
    if (wk->conns)
        wk->conns->prev = c;
    wk->conns = c;
    wk->tcp_clients++;
    dc_stats_inc(wk->stats, DR_STAT_TCP_CONNECTIONS);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
        conn_close(c);
        return;
    }
    if (wk->tcp_clients > (size_t)wk->conf->tcp_clients_per_worker) {
        DC_LOG_DEBUG("tcp_limit", "worker=%u clients=%zu", wk->id, wk->tcp_clients);
        conn_close(c);
        return;
    }
    uint64_t idle = (uint64_t)wk->conf->tcp_idle_timeout_ms;
    uv_timer_start(&c->idle, on_idle_timeout, idle, idle);
    if (uv_read_start((uv_stream_t *)&c->tcp, tcp_alloc, tcp_on_read) < 0) {
        conn_close(c);
        return;
    }
    c->reading = true;
}

/* ---- start and stop ---- */

int
dr_listen_start(struct dr_worker *wk)
{
    size_t n = wk->conf->listen.n;
    wk->nlisten = n;
    wk->udp = calloc(n, sizeof(*wk->udp));
    wk->tcp = calloc(n, sizeof(*wk->tcp));
    if (wk->udp == NULL || wk->tcp == NULL)
        return -ENOMEM;
    int *fds = wk->sh->fds + (size_t)wk->id * 2 * n;
    for (size_t i = 0; i < n; i++) {
        int rc = dc_listen_adopt_udp(wk->loop, &wk->udp[i], fds[i]);
        if (rc < 0)
            return rc;
        fds[i] = -1;
        wk->udp[i].data = wk;
        rc = uv_udp_recv_start(&wk->udp[i], udp_alloc, udp_on_read);
        if (rc < 0)
            return rc;
        rc = dc_listen_adopt_tcp(wk->loop, &wk->tcp[i], fds[n + i]);
        if (rc < 0)
            return rc;
        fds[n + i] = -1;
        wk->tcp[i].data = wk;
        rc = uv_listen((uv_stream_t *)&wk->tcp[i], 511, on_connection);
        if (rc < 0)
            return rc;
    }
    return 0;
}

void
dr_listen_stop(struct dr_worker *wk)
{
    for (size_t i = 0; i < wk->nlisten; i++) {
        if (wk->udp[i].loop && !uv_is_closing((uv_handle_t *)&wk->udp[i]))
            uv_udp_recv_stop(&wk->udp[i]);
        if (wk->tcp[i].loop && !uv_is_closing((uv_handle_t *)&wk->tcp[i]))
            uv_close((uv_handle_t *)&wk->tcp[i], NULL);
    }
    for (struct dr_tcp_conn *c = wk->conns, *next; c; c = next) {
        next = c->next;
        if (c->reading) {
            uv_read_stop((uv_stream_t *)&c->tcp);
            c->reading = false;
        }
        if (c->pending == 0)
            conn_close(c);
    }
}

void
dr_listen_abort(struct dr_worker *wk)
{
    for (size_t i = 0; i < wk->nlisten; i++) {
        if (wk->udp[i].loop && !uv_is_closing((uv_handle_t *)&wk->udp[i]))
            uv_close((uv_handle_t *)&wk->udp[i], NULL);
        if (wk->tcp[i].loop && !uv_is_closing((uv_handle_t *)&wk->tcp[i]))
            uv_close((uv_handle_t *)&wk->tcp[i], NULL);
    }
    for (struct dr_tcp_conn *c = wk->conns, *next; c; c = next) {
        next = c->next;
        conn_close(c);
    }
}
