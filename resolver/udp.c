#include "resolver/udp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/listen.h"
#include "common/trace.h"
#include "resolver/query.h"
#include "resolver/trace.h"
#include "resolver/worker.h"

#define DGRAM_MAX      65536      /* libuv gives each datagram of a recvmmsg batch this much room */
#define SLOT           4096       /* the largest UDP reply: edns-buffer-size is at most 4096 */
#define SEND_QUEUE_MAX (4u << 20) /* reply bytes queued behind a full socket, per socket */

/* The replies of one batch, waiting for the batch's end, and its receive buffer. */
struct dr_udp_batch {
    uv_udp_t *sock; /* the socket the waiting replies go out on */
    unsigned n;
    struct mmsghdr msgs[DR_UDP_BATCH];
    struct iovec iov[DR_UDP_BATCH];
    union dc_sockaddr peers[DR_UDP_BATCH];
    uint8_t data[DR_UDP_BATCH][SLOT];
    uint8_t rbuf[DR_UDP_BATCH * DGRAM_MAX];
};

struct udp_client {
    struct dr_client c; /* first: the waiter callback gets this pointer */
    uv_udp_t *sock;
    union dc_sockaddr peer;
    uint64_t t0_us; /* when the question came, for the trace (0 while tracing is off) */
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
send_one(uv_udp_t *sock, const union dc_sockaddr *peer, const uint8_t *data, size_t len)
{
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    int rc = uv_udp_try_send(sock, &b, 1, &peer->sa);
    if (rc >= 0 || rc != UV_EAGAIN)
        return;
    /* The socket is full: queue a copy, within a bound, as a full kernel buffer would drop
     * it anyway (clients ask again). */
    if (uv_udp_get_send_queue_size(sock) > SEND_QUEUE_MAX)
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

/* Sends the waiting replies with as few sendmmsg calls as the socket allows; what it will
 * not take now is queued one by one; a message the kernel refuses (e.g. an unreachable
 * peer) is dropped, as a single send would be. */
static void
flush(struct dr_udp_batch *b)
{
    unsigned done = 0;
    uv_os_fd_t fd;
    if (b->n > 0 && b->sock && !uv_is_closing((uv_handle_t *)b->sock) &&
        uv_fileno((uv_handle_t *)b->sock, &fd) == 0) {
        for (int guard = 0; done < b->n && guard < 2 * DR_UDP_BATCH; guard++) {
            int r = sendmmsg(fd, b->msgs + done, b->n - done, MSG_DONTWAIT);
            if (r > 0) {
                done += (unsigned)r;
            } else if (r < 0 && errno == EINTR) {
                continue;
            } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                break;
            } else {
                done++; /* this one cannot be sent */
            }
        }
        for (; done < b->n; done++)
            send_one(b->sock, &b->peers[done], b->data[done], b->iov[done].iov_len);
    }
    b->n = 0;
    b->sock = NULL;
}

/* Queues a reply for the batch's end (copied: out is reused for the next query). */
static void
batch_add(struct dr_udp_batch *b, uv_udp_t *sock, const union dc_sockaddr *peer,
          const uint8_t *reply, size_t len)
{
    if (len > SLOT) {
        send_one(sock, peer, reply, len);
        return;
    }
    if (b->n == DR_UDP_BATCH || (b->sock && b->sock != sock))
        flush(b);
    unsigned i = b->n++;
    b->sock = sock;
    memcpy(b->data[i], reply, len);
    b->peers[i] = *peer;
    b->iov[i].iov_base = b->data[i];
    b->iov[i].iov_len = len;
    memset(&b->msgs[i].msg_hdr, 0, sizeof(b->msgs[i].msg_hdr));
    b->msgs[i].msg_hdr.msg_name = &b->peers[i];
    b->msgs[i].msg_hdr.msg_namelen =
        peer->sa.sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    b->msgs[i].msg_hdr.msg_iov = &b->iov[i];
    b->msgs[i].msg_hdr.msg_iovlen = 1;
}

static void
client_send(struct dr_client *c, const uint8_t *reply, size_t len)
{
    struct udp_client *u = (struct udp_client *)c;
    struct dr_worker *wk = c->wk;
    int n = dr_query_patch(wk, &c->q, c->limit, reply, len, &c->waiter, wk->out, sizeof(wk->out));
    if (n > 0 && !uv_is_closing((uv_handle_t *)u->sock))
        send_one(u->sock, &u->peer, wk->out, (size_t)n);
    if (DC_TRACE_ON() && n > 0)
        dr_trace_answer(wk, &u->peer, &c->q, wk->out, (size_t)n, u->t0_us, c->waiter.stale,
                        c->waiter.sec);
    free(u);
}

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct dr_worker *wk = h->data;
    (void)suggested;
    *buf = uv_buf_init((char *)wk->udp_batch->rbuf, sizeof(wk->udp_batch->rbuf));
}

static void
on_read(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
        unsigned flags)
{
    struct dr_worker *wk = h->data;
    struct dr_udp_batch *b = wk->udp_batch;
    if (flags & UV_UDP_MMSG_FREE) {
        flush(b); /* the batch has been read: its replies leave together */
        return;
    }
    if (nread <= 0 || addr == NULL || (flags & UV_UDP_PARTIAL))
        return;
    /* libuv's recvmmsg hands out addresses with 4-byte alignment: copy, do not cast. */
    union dc_sockaddr from;
    memcpy(&from, addr,
           addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
    const union dc_sockaddr *peer = &from;
    struct dr_msg_query q;
    int n = dr_query_process(wk, (const uint8_t *)buf->base, (size_t)nread, peer, false, &q,
                             wk->out, sizeof(wk->out));
    if (DC_TRACE_ON() && n >= 0)
        dr_trace_query(wk, peer, false, &q, n, wk->out);
    if (n > 0) {
        if (flags & UV_UDP_MMSG_CHUNK)
            batch_add(b, h, peer, wk->out, (size_t)n);
        else
            send_one(h, peer, wk->out, (size_t)n);
        return;
    }
    if (n < 0)
        return;
    struct udp_client *u = malloc(sizeof(*u));
    if (u == NULL)
        return;
    u->c.wk = wk;
    u->c.q = q;
    u->c.limit =
        q.udp_size < wk->conf->edns_buffer_size ? q.udp_size : (size_t)wk->conf->edns_buffer_size;
    u->c.send = client_send;
    u->sock = h;
    u->peer = *peer;
    u->t0_us = DC_TRACE_ON() ? dr_trace_now_us() : 0;
    u->c.waiter.traced = u->t0_us && dr_trace_wanted(peer, &q);
    dr_query_resolve(&u->c);
}

int
dr_udp_open(struct dr_worker *wk, uv_udp_t *h, int fd)
{
    if (wk->udp_batch == NULL) {
        wk->udp_batch = malloc(sizeof(*wk->udp_batch));
        if (wk->udp_batch == NULL)
            return -ENOMEM;
        wk->udp_batch->n = 0;
        wk->udp_batch->sock = NULL;
    }
    int rc = dc_listen_adopt_udp(wk->loop, h, fd, true);
    if (rc < 0)
        return rc;
    h->data = wk;
    return uv_udp_recv_start(h, on_alloc, on_read);
}

void
dr_udp_free(struct dr_worker *wk)
{
    free(wk->udp_batch);
    wk->udp_batch = NULL;
}
