#include "resolver/listen.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/acl.h"
#include "common/life.h"
#include "common/listen.h"
#include "common/log.h"
#include "common/trace.h"
#include "resolver/query.h"
#include "resolver/trace.h"
#include "resolver/udp.h"
#include "resolver/worker.h"

#define TCP_MAX_PENDING     64          /* queries in flight per connection; more wait */
#define TCP_WRITE_QUEUE_MAX (64 * 1024) /* reply bytes a client has not read; more wait */
#define TCP_BUF_MAX         (65535 + 2)

/* ---- TCP ---- */

/*
 * One client connection. Its life (common/life.h) holds the connection's own reference, one
 * per query being resolved, one per write in flight, and one around every drain (a query
 * answered synchronously may close the connection while the drain still runs).
 */
struct dr_tcp_conn {
    struct dc_life life;
    struct dr_worker *wk;
    uv_tcp_t tcp;
    uv_timer_t deadline; /* tcp-idle-timeout: see listen.h */
    uv_idle_t resume;    /* a drain deferred to the next loop turn */
    struct dr_tcp_conn *next, *prev;
    union dc_sockaddr peer;
    bool counted;   /* in wk->tcp_clients */
    bool reading;   /* uv_read_start is in force */
    bool draining;  /* tcp_drain is on the stack: nested calls return at once */
    bool wrote;     /* a queued write completed since the deadline was armed */
    size_t pending; /* queries being resolved */
    uint8_t *buf;   /* buf[head, len) holds bytes not yet taken as messages */
    size_t head, len, cap;
};

struct tcp_client {
    struct dr_client c;
    struct dr_tcp_conn *conn;
    uint64_t t0_us; /* when the question came, for the trace (0 while tracing is off) */
};

struct tcp_write {
    uv_write_t req;
    struct dr_tcp_conn *conn;
    uint8_t data[];
};

static void
conn_free(struct dc_life *l)
{
    struct dr_tcp_conn *c = DC_LIFE_OWNER(l, struct dr_tcp_conn, life);
    struct dr_worker *wk = c->wk;
    if (c->prev)
        c->prev->next = c->next;
    else if (wk->conns == c)
        wk->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->counted)
        wk->tcp_clients--;
    free(c->buf);
    free(c);
}

static void
conn_on_closed(uv_handle_t *h)
{
    struct dr_tcp_conn *c = h->data;
    dc_life_handle_closed(&c->life);
}

static bool
conn_closing(const struct dr_tcp_conn *c)
{
    return dc_life_closing(&c->life);
}

static void
conn_close(struct dr_tcp_conn *c)
{
    if (conn_closing(c))
        return;
    uv_timer_stop(&c->deadline);
    uv_idle_stop(&c->resume);
    c->reading = false; /* uv_close stops reading */
    uv_handle_t *hs[] = {(uv_handle_t *)&c->tcp, (uv_handle_t *)&c->deadline,
                         (uv_handle_t *)&c->resume};
    dc_life_close(&c->life, hs, sizeof(hs) / sizeof(hs[0]), conn_on_closed);
}

static size_t
write_queue(const struct dr_tcp_conn *c)
{
    return uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp);
}

/* Whether the connection may take another query from its buffer: not closing, the worker
 * not stopping, fewer than TCP_MAX_PENDING queries in flight, and the replies the client
 * has not read yet within TCP_WRITE_QUEUE_MAX. Reading runs exactly while this holds. */
static bool
can_take(const struct dr_tcp_conn *c)
{
    return !conn_closing(c) && !c->wk->stopping && c->pending < TCP_MAX_PENDING &&
           write_queue(c) < TCP_WRITE_QUEUE_MAX;
}

static void on_deadline(uv_timer_t *t);

static void
arm_deadline(struct dr_tcp_conn *c)
{
    uint64_t ms = (uint64_t)c->wk->conf->tcp_idle_timeout_ms;
    c->wrote = false;
    uv_timer_start(&c->deadline, on_deadline, ms, 0);
}

static void on_resume(uv_idle_t *h);

/* After a query finished or a write completed: if the connection may take queries again
 * and is not reading, drain it on the next loop turn. Never drains here: the caller may be
 * the iterator delivering an answer, or a drain further up the stack. */
static void
maybe_resume(struct dr_tcp_conn *c)
{
    if (!c->reading && !c->draining && can_take(c))
        uv_idle_start(&c->resume, on_resume);
}

static void
on_tcp_written(uv_write_t *req, int status)
{
    struct tcp_write *w = req->data;
    struct dr_tcp_conn *c = w->conn;
    free(w);
    if (status == 0 && !conn_closing(c)) {
        c->wrote = true;
        maybe_resume(c);
    }
    dc_life_unref(&c->life);
}

static void
tcp_write(struct dr_tcp_conn *c, const uint8_t *reply, size_t len)
{
    if (conn_closing(c))
        return;
    uint8_t prefix[2];
    dr_put16(prefix, (uint16_t)len);
    uv_buf_t bufs[2] = {uv_buf_init((char *)prefix, 2), uv_buf_init((char *)reply, (unsigned)len)};
    int n = uv_try_write((uv_stream_t *)&c->tcp, bufs, 2); /* UV_EAGAIN behind queued writes */
    if (n == (int)len + 2)
        return;
    size_t done = n > 0 ? (size_t)n : 0;
    if (n < 0 && n != UV_EAGAIN) {
        conn_close(c);
        return;
    }
    /* Queue the rest; it counts against TCP_WRITE_QUEUE_MAX until written. */
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
    w->conn = c;
    w->req.data = w;
    uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)rest);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_tcp_written) < 0) {
        free(w);
        conn_close(c);
        return;
    }
    dc_life_ref(&c->life);
}

/* The answer to one query: written, then the connection may take more. Runs from the
 * iterator, or synchronously inside dr_query_resolve when a resolution fails at once. */
static void
tcp_client_send(struct dr_client *cl, const uint8_t *reply, size_t len)
{
    struct tcp_client *t = (struct tcp_client *)cl;
    struct dr_tcp_conn *c = t->conn;
    struct dr_worker *wk = cl->wk;
    int n = dr_query_patch(wk, &cl->q, 65535, reply, len, &cl->waiter, wk->out, sizeof(wk->out));
    if (n > 0)
        tcp_write(c, wk->out, (size_t)n);
    if (DC_TRACE_ON() && n > 0)
        dr_trace_answer(wk, &c->peer, &cl->q, wk->out, (size_t)n, t->t0_us, cl->waiter.stale,
                        cl->waiter.sec);
    free(t);
    c->pending--;
    if (!conn_closing(c)) {
        if (c->pending == 0 && wk->stopping) {
            conn_close(c);
        } else {
            if (c->pending == 0 && c->len == c->head)
                arm_deadline(c); /* idle from now */
            maybe_resume(c);
        }
    }
    dc_life_unref(&c->life);
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
    /* No room (out of memory): libuv reports UV_ENOBUFS and the connection closes. */
    *buf = uv_buf_init((char *)c->buf + c->len, (unsigned)(c->cap - c->len));
}

static void tcp_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* Starts or stops reading so that it runs exactly while can_take() holds. */
static void
update_reading(struct dr_tcp_conn *c)
{
    bool want = can_take(c);
    if (want && !c->reading) {
        if (uv_read_start((uv_stream_t *)&c->tcp, tcp_alloc, tcp_on_read) < 0) {
            conn_close(c);
            return;
        }
        c->reading = true;
    } else if (!want && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

/* Takes one message from the buffer and handles it: answered at once (local data, cache,
 * errors) or handed to the iterator. */
static void
tcp_take(struct dr_tcp_conn *c, const uint8_t *msg, size_t mlen)
{
    struct dr_worker *wk = c->wk;
    struct dr_msg_query q;
    int n = dr_query_process(wk, msg, mlen, &c->peer, true, &q, wk->out, sizeof(wk->out));
    if (DC_TRACE_ON() && n >= 0)
        dr_trace_query(wk, &c->peer, true, &q, n, wk->out);
    if (n > 0) {
        tcp_write(c, wk->out, (size_t)n);
        return;
    }
    if (n < 0)
        return;
    struct tcp_client *t = malloc(sizeof(*t));
    if (t == NULL)
        return;
    t->c.wk = wk;
    t->c.q = q;
    t->c.limit = 65535;
    t->c.send = tcp_client_send;
    t->conn = c;
    t->t0_us = DC_TRACE_ON() ? dr_trace_now_us() : 0;
    t->c.waiter.traced = t->t0_us && dr_trace_wanted(&c->peer, &q);
    dc_life_ref(&c->life);
    c->pending++;
    dr_query_resolve(&t->c); /* may call tcp_client_send before it returns */
}

/*
 * Handles the complete messages in the buffer while the connection may take them. It cannot
 * re-enter: a reply delivered synchronously (inside dr_query_resolve) only updates counters
 * and never drains, and each message is consumed (head advanced) before it is handled, so
 * nothing is seen twice whatever happens inside. The buffer is compacted once, at the end,
 * when no message pointer into it is live.
 */
static void
tcp_drain(struct dr_tcp_conn *c)
{
    if (c->draining || conn_closing(c))
        return;
    c->draining = true;
    dc_life_ref(&c->life);
    while (can_take(c) && c->len - c->head >= 2) {
        size_t mlen = dr_get16(c->buf + c->head);
        if (mlen == 0) {
            conn_close(c);
            break;
        }
        if (c->len - c->head < mlen + 2)
            break;
        const uint8_t *msg = c->buf + c->head + 2;
        c->head += mlen + 2;
        arm_deadline(c); /* the next query's time starts now */
        tcp_take(c, msg, mlen);
    }
    c->draining = false;
    if (!conn_closing(c)) {
        if (c->head > 0) {
            memmove(c->buf, c->buf + c->head, c->len - c->head);
            c->len -= c->head;
            c->head = 0;
        }
        update_reading(c);
    }
    dc_life_unref(&c->life);
}

static void
on_resume(uv_idle_t *h)
{
    struct dr_tcp_conn *c = h->data;
    uv_idle_stop(h);
    tcp_drain(c);
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
    if (c->len == c->head)
        arm_deadline(c); /* the first bytes of a query: it has tcp-idle-timeout to finish */
    c->len += (size_t)nread;
    tcp_drain(c);
}

/* The connection's deadline passed. A query still incomplete is cut (bytes arriving do not
 * extend it); a connection waiting for its own answers, or whose client is reading them,
 * gets another period; an idle one, or one whose client reads none of its replies, closes. */
static void
on_deadline(uv_timer_t *t)
{
    struct dr_tcp_conn *c = t->data;
    const char *why;
    if (c->reading && c->len > c->head) {
        why = "query_incomplete";
    } else if (c->pending > 0 || (c->len > c->head && write_queue(c) == 0)) {
        arm_deadline(c);
        return;
    } else if (write_queue(c) > 0) {
        if (c->wrote) {
            arm_deadline(c);
            return;
        }
        why = "replies_unread";
    } else {
        why = "idle";
    }
    DC_LOG_DEBUG("tcp_close", "worker=%u why=%s", c->wk->id, why);
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
    dc_life_init(&c->life, conn_free);
    c->next = wk->conns;
    if (wk->conns)
        wk->conns->prev = c;
    wk->conns = c;
    if (uv_tcp_init(wk->loop, &c->tcp) < 0 || uv_timer_init(wk->loop, &c->deadline) < 0 ||
        uv_idle_init(wk->loop, &c->resume) < 0) {
        conn_close(c); /* closes what was initialised (loop set), frees c */
        return;
    }
    c->tcp.data = c;
    c->deadline.data = c;
    c->resume.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
        conn_close(c);
        return;
    }
    /* Access control first: a refused host is closed at once and takes no slot. */
    int plen = sizeof(c->peer);
    if (uv_tcp_getpeername(&c->tcp, &c->peer.sa, &plen) < 0) {
        conn_close(c);
        return;
    }
    if (!dc_acl_match(&wk->conf->allow, &c->peer)) {
        dc_stats_inc(wk->stats, DR_STAT_REFUSED_CLIENTS);
        if (dc_log_enabled(DC_LOG_DEBUG)) {
            char a[DC_ADDR_STRLEN];
            dc_addr_format(&c->peer, false, a, sizeof(a));
            dc_log(DC_LOG_DEBUG, "tcp_refused", "worker=%u client=%s", wk->id, a);
        }
        conn_close(c);
        return;
    }
    c->counted = true;
    wk->tcp_clients++;
    dc_stats_inc(wk->stats, DR_STAT_TCP_CONNECTIONS);
    if (wk->tcp_clients > (size_t)wk->conf->tcp_clients_per_worker) {
        DC_LOG_DEBUG("tcp_limit", "worker=%u clients=%zu", wk->id, wk->tcp_clients);
        conn_close(c);
        return;
    }
    arm_deadline(c);
    update_reading(c);
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
        int rc = dr_udp_open(wk, &wk->udp[i], fds[i]);
        if (rc < 0)
            return rc;
        fds[i] = -1;
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
        if (conn_closing(c))
            continue;
        uv_idle_stop(&c->resume);
        update_reading(c); /* stops: the worker is stopping */
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
