#include "resolver/upstream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/life.h"
#include "common/log.h"
#include "resolver/dname.h"
#include "resolver/msg.h"

#define UDP_BUF 4096

struct dr_upstream {
    struct dc_life life; /* frees after the socket's and the timer's close callbacks */
    uv_loop_t *loop;
    union {
        uv_udp_t udp;
        uv_tcp_t tcp;
    } h;
    uv_timer_t timer;
    uv_connect_t connect;
    uv_write_t write;
    bool tcp;
    bool done;   /* callback called or cancelled */
    bool h_open; /* h was initialised: it must be closed */
    union dc_sockaddr server;
    dr_upstream_cb cb;
    void *arg;
    uint64_t start_ms;
    uint8_t *rbuf;   /* UDP: UDP_BUF bytes; TCP: grows to the announced length + 2 */
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
upstream_free(struct dc_life *l)
{
    struct dr_upstream *u = DC_LIFE_OWNER(l, struct dr_upstream, life);
    free(u->rbuf);
    free(u);
}

static void
on_closed(uv_handle_t *h)
{
    struct dr_upstream *u = h->data;
    dc_life_handle_closed(&u->life);
}

/* Closes the timer and the socket (if it was made); u is freed after both callbacks. */
static void
close_all(struct dr_upstream *u)
{
    uv_timer_stop(&u->timer);
    uv_handle_t *hs[] = {(uv_handle_t *)&u->timer, u->h_open ? (uv_handle_t *)&u->h : NULL};
    dc_life_close(&u->life, hs, 2, on_closed);
}

static void
finish(struct dr_upstream *u, enum dr_upstream_status st, const uint8_t *reply, size_t len)
{
    if (u->done)
        return;
    u->done = true;
    uint64_t now = uv_now(u->loop);
    uint32_t rtt = (uint32_t)(now - u->start_ms);
    /* The callback may start new exchanges or cancel others, never this one (done). */
    u->cb(u->arg, st, reply, len, rtt);
    close_all(u);
}

void
dr_upstream_cancel(struct dr_upstream *u)
{
    if (u == NULL || u->done)
        return;
    u->done = true;
    close_all(u);
}

static void
on_timeout(uv_timer_t *t)
{
    finish(t->data, DR_UPSTREAM_TIMEOUT, NULL, 0);
}

/* ---- UDP ---- */

static void
udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct dr_upstream *u = h->data;
    (void)suggested;
    *buf = uv_buf_init((char *)u->rbuf, UDP_BUF);
}

static void
udp_on_read(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from,
            unsigned flags)
{
    struct dr_upstream *u = h->data;
    (void)buf;
    (void)flags;
    if (u->done)
        return;
    if (n < 0) {
        /* ECONNREFUSED from an ICMP port unreachable on a connected socket. */
        finish(u, DR_UPSTREAM_NETERR, NULL, 0);
        return;
    }
    if (n == 0 || from == NULL)
        return;
    if (!dc_addr_equal((const union dc_sockaddr *)from, &u->server)) {
        DC_LOG_DEBUG("upstream_wrong_source", NULL);
        return;
    }
    if (!dr_upstream_reply_matches(u->query, u->qlen, u->rbuf, (size_t)n)) {
        DC_LOG_DEBUG("upstream_mismatch", "len=%zd", n);
        return; /* a spoofing attempt or a stray reply: keep waiting */
    }
    finish(u, DR_UPSTREAM_OK, u->rbuf, (size_t)n);
}

static int
udp_start(struct dr_upstream *u, const union dc_sockaddr *source)
{
    int rc = uv_udp_init(u->loop, &u->h.udp);
    if (rc < 0)
        return rc;
    u->h.udp.data = u;
    u->h_open = true;
    union dc_sockaddr src = *source;
    dc_addr_set_port(&src, 0);
    if ((rc = uv_udp_bind(&u->h.udp, &src.sa, 0)) < 0)
        return rc;
    if ((rc = uv_udp_connect(&u->h.udp, &u->server.sa)) < 0)
        return rc;
    if ((rc = uv_udp_recv_start(&u->h.udp, udp_alloc, udp_on_read)) < 0)
        return rc;
    uv_buf_t b = uv_buf_init((char *)u->query, (unsigned)u->qlen);
    rc = uv_udp_try_send(&u->h.udp, &b, 1, NULL);
    return rc < 0 ? rc : 0;
}

/* ---- TCP ---- */

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
tcp_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct dr_upstream *u = s->data;
    (void)buf;
    if (u->done)
        return;
    if (n < 0) {
        finish(u, DR_UPSTREAM_NETERR, NULL, 0);
        return;
    }
    u->rlen += (size_t)n;
    if (u->rlen < 2)
        return;
    size_t want = dr_get16(u->rbuf);
    if (u->rlen < want + 2) {
        if (u->rcap == u->rlen && u->rcap >= 65537 + 512)
            finish(u, DR_UPSTREAM_NETERR, NULL, 0);
        return;
    }
    if (!dr_upstream_reply_matches(query_msg(u), u->qlen - 2, u->rbuf + 2, want)) {
        finish(u, DR_UPSTREAM_NETERR, NULL, 0); /* TCP cannot be spoofed blind: a bad server */
        return;
    }
    finish(u, DR_UPSTREAM_OK, u->rbuf + 2, want);
}

static void
tcp_on_write(uv_write_t *w, int status)
{
    struct dr_upstream *u = w->data;
    if (status < 0 && !u->done)
        finish(u, DR_UPSTREAM_NETERR, NULL, 0);
}

static void
tcp_on_connect(uv_connect_t *c, int status)
{
    struct dr_upstream *u = c->data;
    if (u->done)
        return;
    if (status < 0) {
        finish(u, DR_UPSTREAM_NETERR, NULL, 0);
        return;
    }
    uv_buf_t b = uv_buf_init((char *)u->query, (unsigned)u->qlen);
    u->write.data = u;
    if (uv_write(&u->write, (uv_stream_t *)&u->h.tcp, &b, 1, tcp_on_write) < 0 ||
        uv_read_start((uv_stream_t *)&u->h.tcp, tcp_alloc, tcp_on_read) < 0)
        finish(u, DR_UPSTREAM_NETERR, NULL, 0);
}

static int
tcp_start(struct dr_upstream *u, const union dc_sockaddr *source)
{
    int rc = uv_tcp_init(u->loop, &u->h.tcp);
    if (rc < 0)
        return rc;
    u->h.tcp.data = u;
    u->h_open = true;
    union dc_sockaddr src = *source;
    dc_addr_set_port(&src, 0);
    if ((rc = uv_tcp_bind(&u->h.tcp, &src.sa, 0)) < 0)
        return rc;
    u->connect.data = u;
    return uv_tcp_connect(&u->connect, &u->h.tcp, &u->server.sa, tcp_on_connect);
}

int
dr_upstream_send(uv_loop_t *loop, const union dc_sockaddr *server,
                 const union dc_sockaddr *source, const uint8_t *query, size_t len, bool tcp,
                 uint32_t timeout_ms, dr_upstream_cb cb, void *arg, struct dr_upstream **out)
{
    if (len > 65535 || len < DR_HEADER_LEN)
        return UV_EINVAL;
    struct dr_upstream *u = calloc(1, sizeof(*u) + len + 2);
    if (u == NULL)
        return UV_ENOMEM;
    dc_life_init(&u->life, upstream_free);
    u->loop = loop;
    u->tcp = tcp;
    u->server = *server;
    u->cb = cb;
    u->arg = arg;
    u->start_ms = uv_now(loop);
    if (tcp) {
        dr_put16(u->query, (uint16_t)len);
        memcpy(u->query + 2, query, len);
        u->qlen = len + 2;
    } else {
        memcpy(u->query, query, len);
        u->qlen = len;
        u->rbuf = malloc(UDP_BUF);
        if (u->rbuf == NULL) {
            free(u);
            return UV_ENOMEM;
        }
    }
    int rc = uv_timer_init(loop, &u->timer);
    if (rc < 0) {
        free(u->rbuf);
        free(u);
        return rc;
    }
    u->timer.data = u;
    rc = tcp ? tcp_start(u, source) : udp_start(u, source);
    if (rc == 0)
        rc = uv_timer_start(&u->timer, on_timeout, timeout_ms, 0);
    if (rc < 0) {
        /* The handles that were initialised close, then u is freed. */
        u->done = true;
        close_all(u);
        return rc;
    }
    *out = u;
    return 0;
}
