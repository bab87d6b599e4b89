#include "origin/conn.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/sock.h"
#include "origin/http.h"
#include "origin/response.h"
#include "origin/tls.h"
#include "origin/worker.h"

#define LINGER_MS        2000
#define CLIENT_GRACE_MS  5000

enum phase {
    PH_HANDSHAKE,
    PH_IDLE,
    PH_HEADERS,
    PH_RESPONDING,
    PH_LINGER,
};

struct dw_conn {
    struct dw_worker *wk;
    struct dw_conn *next, *prev;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t wreq;
    uv_shutdown_t sreq;
    uv_fs_t fsreq;
    struct dw_conf *conf;  /* a reference: the configuration it was accepted under */
    const struct dw_conf_listen *lis;
    bool tls_on;
    struct dw_tls_conn tls;
    struct dw_http http;
    enum phase phase;
    bool reading;
    bool writing;
    bool file_reading;
    bool closing;
    bool end_after;     /* close our side once the response is out */
    bool ending;        /* end_connection() waits for a write to finish */
    bool notify_sent;   /* TLS close_notify queued */
    bool close_when_written;
    bool peer_done;     /* TLS close_notify or FIN after a request: answer it, then close */
    bool peer_fin;      /* the client's FIN arrived */
    int pending_closes;
    int refs;           /* its own + a write + a file read + a shutdown in flight */
    uint8_t *in;
    size_t in_len;
    uint8_t *out;       /* bytes of the write in flight */
    uint8_t *chunk;     /* a file chunk being read */
    struct dw_response resp;
    bool responding;
    bool head_sent;
    uint64_t body_pos;  /* body bytes handed to the socket (or TLS) */
    uint64_t req_start_us;
    uint64_t requests;
    uint64_t bytes_out; /* of the current response */
    union dc_sockaddr peer;
};

static void process(struct dw_conn *c);
static void send_more(struct dw_conn *c);
static void end_connection(struct dw_conn *c);
static void conn_close(struct dw_conn *c);
static void start_reading(struct dw_conn *c);
static bool pump_tls(struct dw_conn *c);
static bool flush_tls(struct dw_conn *c);

/* ---- lifetime ---- */

static void
conn_free(struct dw_conn *c)
{
    struct dw_worker *wk = c->wk;
    dw_response_done(wk, &c->resp);
    dc_buf_put(&wk->inpool, c->in);
    dc_buf_put(&wk->outpool, c->out);
    dc_buf_put(&wk->outpool, c->chunk);
    if (c->tls_on)
        dw_tls_conn_deinit(&c->tls);
    dw_conf_unref(c->conf); /* after the TLS session: it points into the config's contexts */
    if (c->prev)
        c->prev->next = c->next;
    else
        wk->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    wk->nconns--;
    free(c);
}

static void
conn_unref(struct dw_conn *c)
{
    if (--c->refs == 0 && c->pending_closes == 0)
        conn_free(c);
}

static void
on_closed(uv_handle_t *h)
{
    struct dw_conn *c = h->data;
    if (--c->pending_closes == 0 && c->refs == 0)
        conn_free(c);
}

static void
conn_close(struct dw_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    c->pending_closes = 2;
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->tcp, on_closed);
    uv_close((uv_handle_t *)&c->timer, on_closed);
    conn_unref(c); /* its own reference; writes and file reads hold theirs */
}

/* ---- timers ---- */

static void on_timer(uv_timer_t *t);

static void
arm(struct dw_conn *c, enum phase ph, uint64_t ms)
{
    c->phase = ph;
    uv_timer_start(&c->timer, on_timer, ms, 0);
}

static void
send_error(struct dw_conn *c, int status)
{
    c->wk->conf = c->conf;
    dw_response_error(c->wk, status, true, false, &c->resp);
    c->responding = true;
    c->head_sent = false;
    c->body_pos = 0;
    c->end_after = true;
    c->bytes_out = 0;
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
    arm(c, PH_RESPONDING, (uint64_t)c->conf->request_timeout_ms);
    send_more(c);
}

static void
on_timer(uv_timer_t *t)
{
    struct dw_conn *c = t->data;
    struct dw_worker *wk = c->wk;
    switch (c->phase) {
    case PH_HEADERS:
        dc_stats_inc(wk->stats, DW_STAT_TIMEOUTS);
        if (!c->responding) {
            send_error(c, 408);
            return;
        }
        conn_close(c);
        return;
    case PH_HANDSHAKE:
    case PH_RESPONDING:
        dc_stats_inc(wk->stats, DW_STAT_TIMEOUTS);
        conn_close(c);
        return;
    case PH_IDLE:
        /* An idle keep-alive connection ends: tell a TLS client properly (close_notify),
         * then close. */
        if (c->tls_on && c->tls.handshake_done && !c->notify_sent && !c->writing) {
            c->notify_sent = true;
            dw_tls_conn_shutdown(&c->tls);
            c->close_when_written = true;
            if (flush_tls(c))
                return;
        }
        conn_close(c);
        return;
    case PH_LINGER:
        conn_close(c);
        return;
    }
}

/* ---- writing ---- */

static void
on_written(uv_write_t *req, int status)
{
    struct dw_conn *c = req->data;
    c->writing = false;
    if (c->closing || status < 0) {
        conn_close(c);
        conn_unref(c);
        return;
    }
    if (c->close_when_written) {
        conn_close(c);
        conn_unref(c);
        return;
    }
    /* Progress: the client is reading. */
    if (c->phase == PH_RESPONDING)
        uv_timer_again(&c->timer);
    send_more(c);
    if (c->ending && !c->responding && !c->writing)
        end_connection(c);
    conn_unref(c);
}

static void
write_bufs(struct dw_conn *c, uv_buf_t *bufs, unsigned n)
{
    size_t total = 0;
    for (unsigned i = 0; i < n; i++)
        total += bufs[i].len;
    c->bytes_out += total;
    dc_stats_add(c->wk->stats, DW_STAT_BYTES_OUT, total);
    c->writing = true;
    c->wreq.data = c;
    c->refs++;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, bufs, n, on_written) < 0) {
        c->writing = false;
        c->refs--;
        conn_close(c);
    }
}

static bool
ensure_out(struct dw_conn *c)
{
    if (c->out == NULL)
        c->out = dc_buf_get(&c->wk->outpool);
    return c->out != NULL;
}

/* TLS: sends whatever ciphertext is waiting. Returns true when a write was started. */
static bool
flush_tls(struct dw_conn *c)
{
    if (!c->tls_on || dw_tls_conn_out_pending(&c->tls) == 0)
        return false;
    if (!ensure_out(c)) {
        conn_close(c);
        return true;
    }
    size_t n = dw_tls_conn_out(&c->tls, c->out, c->wk->outpool.size);
    uv_buf_t b = uv_buf_init((char *)c->out, (unsigned)n);
    write_bufs(c, &b, 1);
    return true;
}

static void finish_response(struct dw_conn *c);

static void
on_file_read(uv_fs_t *req)
{
    struct dw_conn *c = req->data;
    ssize_t n = req->result;
    uv_fs_req_cleanup(req);
    c->file_reading = false;
    if (c->closing) {
        conn_unref(c);
        return;
    }
    if (n <= 0) {
        /* The file shrank or failed under us: the promised length cannot be kept. */
        DC_LOG_WARN("file_read_failed", "result=%zd", n);
        conn_close(c);
        conn_unref(c);
        return;
    }
    c->body_pos += (uint64_t)n;
    if (c->tls_on) {
        if (dw_tls_conn_write(&c->tls, c->chunk, (size_t)n) < 0)
            conn_close(c);
        else
            flush_tls(c);
    } else {
        uv_buf_t b = uv_buf_init((char *)c->chunk, (unsigned)n);
        write_bufs(c, &b, 1);
    }
    conn_unref(c);
}

/* Produces the next piece of the response and writes it; one write in flight at a time,
 * so a slow client holds at most one chunk (and its ciphertext) of a large file. */
static void
send_more(struct dw_conn *c)
{
    struct dw_worker *wk = c->wk;
    if (c->closing || c->writing || c->file_reading)
        return;
    if (flush_tls(c))
        return;
    if (!c->responding)
        return;
    struct dw_response *r = &c->resp;
    if (!c->head_sent) {
        c->head_sent = true;
        if (!ensure_out(c)) {
            conn_close(c);
            return;
        }
        if (c->tls_on) {
            /* Head and a small cached body go into one TLS record (one SSL_write): each
             * record has a fixed cost, and it saves bytes on the wire. */
            if (r->entry && r->length > 0 && r->head_len + r->length <= sizeof(wk->record)) {
                memcpy(wk->record, wk->hdr, r->head_len);
                memcpy(wk->record + r->head_len, r->entry->data + r->first, r->length);
                if (dw_tls_conn_write(&c->tls, wk->record, r->head_len + r->length) < 0) {
                    conn_close(c);
                    return;
                }
                c->body_pos = r->length;
                flush_tls(c);
                return;
            }
            if (dw_tls_conn_write(&c->tls, wk->hdr, r->head_len) < 0) {
                conn_close(c);
                return;
            }
            if (r->entry && r->length > 0 && r->length <= c->conf->chunk_size) {
                if (dw_tls_conn_write(&c->tls, r->entry->data + r->first, r->length) < 0) {
                    conn_close(c);
                    return;
                }
                c->body_pos = r->length;
            }
            flush_tls(c);
            return;
        }
        /* Plain: the head (copied out of the worker's scratch) and a cached body go out
         * in one write, the body straight from the cache entry. */
        memcpy(c->out, wk->hdr, r->head_len);
        uv_buf_t b[2];
        b[0] = uv_buf_init((char *)c->out, (unsigned)r->head_len);
        unsigned n = 1;
        if (r->entry && r->length > 0) {
            b[1] = uv_buf_init((char *)r->entry->data + r->first, (unsigned)r->length);
            c->body_pos = r->length;
            n = 2;
        }
        write_bufs(c, b, n);
        return;
    }
    if (c->body_pos < r->length) {
        uint64_t left = r->length - c->body_pos;
        uint64_t chunk = c->conf->chunk_size;
        if (r->entry) {
            size_t n = (size_t)(left < chunk ? left : chunk);
            if (dw_tls_conn_write(&c->tls, r->entry->data + r->first + c->body_pos, n) < 0) {
                conn_close(c);
                return;
            }
            c->body_pos += n;
            flush_tls(c);
            return;
        }
        if (r->fd >= 0) {
            if (c->chunk == NULL && (c->chunk = dc_buf_get(&wk->outpool)) == NULL) {
                conn_close(c);
                return;
            }
            size_t n = (size_t)(left < chunk ? left : chunk);
            uv_buf_t b = uv_buf_init((char *)c->chunk, (unsigned)n);
            c->fsreq.data = c;
            c->file_reading = true;
            c->refs++;
            if (uv_fs_read(wk->loop, &c->fsreq, r->fd, &b, 1, (int64_t)(r->first + c->body_pos),
                           on_file_read) < 0) {
                c->file_reading = false;
                c->refs--;
                conn_close(c);
            }
            return;
        }
    }
    finish_response(c);
}

/* ---- ending a connection ---- */

static void
on_shutdown(uv_shutdown_t *req, int status)
{
    struct dw_conn *c = req->data;
    (void)status;
    conn_unref(c);
}

/* Our side is done: TLS close_notify, FIN, then read until the client's FIN (or 2 s), so
 * a client that sent more cannot make our kernel answer with a reset that destroys the
 * response it has not read yet (nginx's lingering close). */
static void
end_connection(struct dw_conn *c)
{
    if (c->closing || c->phase == PH_LINGER)
        return;
    if (c->tls_on && c->tls.handshake_done && !c->notify_sent) {
        c->notify_sent = true;
        dw_tls_conn_shutdown(&c->tls);
    }
    if (c->writing || flush_tls(c)) {
        c->ending = true; /* on_written comes back here */
        return;
    }
    c->ending = false;
    if (c->peer_fin) {
        conn_close(c); /* the client closed first: ours is the second FIN */
        return;
    }
    if (c->peer_done && c->lis->close_first == DW_CLOSE_CLIENT) {
        /* The client began the close (close_notify): let its FIN come first, so the
         * TIME_WAIT stays on its side; the linger timer bounds the wait. */
        arm(c, PH_LINGER, LINGER_MS);
        c->phase = PH_LINGER;
        start_reading(c);
        return;
    }
    c->phase = PH_LINGER;
    c->sreq.data = c;
    c->refs++;
    if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, on_shutdown) < 0) {
        c->refs--;
        conn_close(c);
        return;
    }
    arm(c, PH_LINGER, LINGER_MS);
    start_reading(c);
}

static void
access_log(struct dw_conn *c)
{
    struct dw_worker *wk = c->wk;
    if (wk->sh->access_fd < 0)
        return;
    char addr[DC_ADDR_STRLEN];
    dc_addr_format(&c->peer, false, addr, sizeof(addr));
    const struct dw_req *q = &c->http.req;
    const char *method = c->http.done ? llhttp_method_name((llhttp_method_t)q->method) : "-";
    int tl = c->http.done ? (int)(q->target.len > 512 ? 512 : q->target.len) : 1;
    const char *target = c->http.done ? (const char *)c->in + q->target.off : "-";
    const char *site = c->resp.site >= 0 ? c->conf->sites[c->resp.site].name : "-";
    uint64_t us = (uv_hrtime() / 1000) - c->req_start_us;
    char line[1024];
    int n = snprintf(line, sizeof(line),
                     "client=%s site=%s method=%s path=%.*s status=%d bytes=%" PRIu64
                     " duration_ms=%" PRIu64 ".%03" PRIu64 " tls=%s resumed=%s\n",
                     addr, site, method, tl, target, c->resp.status, c->bytes_out, us / 1000,
                     us % 1000, c->tls_on ? dw_tls_conn_version(&c->tls) : "none",
                     c->tls_on && dw_tls_conn_resumed(&c->tls) ? "yes" : "no");
    if (n > 0) {
        ssize_t w = write(wk->sh->access_fd, line, (size_t)n < sizeof(line) ? (size_t)n
                                                                             : sizeof(line) - 1);
        (void)w;
    }
}

static void
finish_response(struct dw_conn *c)
{
    struct dw_worker *wk = c->wk;
    static const unsigned cls[] = {DW_STAT_STATUS_1XX, DW_STAT_STATUS_2XX, DW_STAT_STATUS_3XX,
                                   DW_STAT_STATUS_4XX, DW_STAT_STATUS_5XX};
    int s = c->resp.status / 100;
    if (s >= 1 && s <= 5)
        dc_stats_inc(wk->stats, cls[s - 1]);
    access_log(c);
    if (c->http.done)
        dw_worker_observe_duration(wk, uv_hrtime() / 1000 - c->req_start_us);
    bool close = c->resp.close || c->end_after;
    dw_response_done(wk, &c->resp);
    c->responding = false;
    if (c->http.done) {
        size_t used = c->http.req.total_len;
        memmove(c->in, c->in + used, c->in_len - used);
        c->in_len -= used;
        dw_http_next(&c->http);
    }
    c->requests++;
    if (close || wk->stopping ||
        c->requests >= (uint64_t)c->conf->keepalive_requests) {
        end_connection(c);
        return;
    }
    /* Buffers go back to the pool while the connection waits. */
    dc_buf_put(&wk->outpool, c->out);
    c->out = NULL;
    dc_buf_put(&wk->outpool, c->chunk);
    c->chunk = NULL;
    uint64_t idle = (uint64_t)c->conf->keepalive_timeout_ms;
    if (c->lis->close_first == DW_CLOSE_CLIENT)
        idle += CLIENT_GRACE_MS;
    arm(c, PH_IDLE, idle);
    /* Plaintext TLS decrypted beyond what fitted in the request buffer waits in the SSL
     * object, and no socket read will bring it: move it now that there is room. */
    if (c->tls_on && !c->peer_done && !pump_tls(c))
        return;
    if (c->in_len > 0) {
        process(c); /* a pipelined request is already here */
        if (c->responding || c->closing)
            return;
        /* Only the start of the next request is here. */
        if (c->peer_done)
            end_connection(c);
        else
            start_reading(c);
        return;
    }
    if (c->peer_done) {
        end_connection(c); /* the client sent close_notify: nothing more will come */
        return;
    }
    dc_buf_put(&wk->inpool, c->in);
    c->in = NULL;
    start_reading(c);
}

/* ---- reading ---- */

static void
start_response(struct dw_conn *c)
{
    struct dw_worker *wk = c->wk;
    dc_stats_inc(wk->stats, DW_STAT_REQUESTS);
    bool keep = c->http.req.keep_alive && c->conf->keepalive_timeout_ms > 0 &&
                !wk->stopping && c->requests + 1 < (uint64_t)c->conf->keepalive_requests;
    int sni = c->tls_on ? c->tls.site : -1;
    wk->conf = c->conf; /* response.c reads the options this connection was accepted under */
    dw_response_build(wk, c->lis, sni, &c->http.req, c->in, keep, &c->resp);
    c->responding = true;
    c->head_sent = false;
    c->body_pos = 0;
    c->bytes_out = 0;
    c->end_after = c->resp.close;
    /* Reading goes on while the response is out: stopping and restarting it per request
     * costs two epoll_ctl calls each time (bench/README.md). Pipelined bytes are kept, and
     * on_read stops reading only when they fill the buffer. */
    arm(c, PH_RESPONDING, (uint64_t)c->conf->request_timeout_ms);
    send_more(c);
}

static void
process(struct dw_conn *c)
{
    struct dw_worker *wk = c->wk;
    if (c->closing || c->responding || c->phase == PH_LINGER)
        return;
    if (c->in_len == 0)
        return;
    if (c->phase == PH_IDLE) {
        c->req_start_us = uv_hrtime() / 1000;
        arm(c, PH_HEADERS, (uint64_t)c->conf->header_timeout_ms);
    }
    int r = dw_http_parse(&c->http, c->in, c->in_len);
    if (r == DW_HTTP_AGAIN)
        return;
    if (r == DW_HTTP_DONE) {
        start_response(c);
        return;
    }
    dc_stats_inc(wk->stats, DW_STAT_REQUESTS);
    send_error(c, r);
}

static void
alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct dw_conn *c = h->data;
    struct dw_worker *wk = c->wk;
    (void)suggested;
    if (c->tls_on || c->phase == PH_LINGER) {
        *buf = uv_buf_init((char *)wk->rbuf, sizeof(wk->rbuf));
        return;
    }
    if (c->in == NULL && (c->in = dc_buf_get(&wk->inpool)) == NULL) {
        *buf = uv_buf_init(NULL, 0);
        return;
    }
    *buf = uv_buf_init((char *)c->in + c->in_len, (unsigned)(wk->inpool.size - c->in_len));
}

/* Decrypts what TLS has into the request buffer. Returns false when the connection ended. */
static bool
pump_tls(struct dw_conn *c)
{
    struct dw_worker *wk = c->wk;
    for (int guard = 0; guard < 1024; guard++) {
        if (c->in == NULL && (c->in = dc_buf_get(&wk->inpool)) == NULL) {
            conn_close(c);
            return false;
        }
        size_t room = wk->inpool.size - c->in_len;
        if (room == 0)
            return true; /* the parser fails the request before this matters */
        int n = dw_tls_conn_read(&c->tls, c->in + c->in_len, room);
        if (n > 0) {
            c->in_len += (size_t)n;
            continue;
        }
        if (n == DW_TLS_AGAIN)
            return true;
        if (n == 0 && c->in_len > 0) {
            /* close_notify right behind a request is a TLS half-close: answer what was asked,
             * as over plain TCP a FIN after the request is (nginx does the same). */
            c->peer_done = true;
            return true;
        }
        if (n == 0 && !c->responding && !c->writing) {
            /* close_notify on an idle connection: the client is closing. With close-first
             * = client we send nothing back (a close_notify reaching a client that has
             * already closed its socket makes its kernel answer with a reset, which ends
             * the connection without TIME_WAIT on either side) and wait for the client's
             * FIN, so the TIME_WAIT stays on its side; otherwise we answer and close. */
            c->peer_done = true;
            if (c->lis->close_first == DW_CLOSE_CLIENT)
                c->notify_sent = true;
            end_connection(c);
            return false;
        }
        /* a TLS error (or close_notify while busy) */
        flush_tls(c);
        conn_close(c);
        return false;
    }
    return true;
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct dw_conn *c = s->data;
    struct dw_worker *wk = c->wk;
    if (nread == 0)
        return;
    if (nread < 0) {
        if (nread == UV_EOF && c->responding && !c->closing) {
            /* A half-close after the last request: finish answering, then end. */
            c->peer_done = c->peer_fin = true;
            uv_read_stop(s);
            c->reading = false;
            return;
        }
        conn_close(c);
        return;
    }
    if (c->phase == PH_LINGER)
        return; /* discarded */
    if (!c->tls_on) {
        c->in_len += (size_t)nread;
        if (!c->responding)
            process(c);
        /* Pipelined bytes are parsed after the response; once they fill the buffer the
         * rest waits in the kernel (libuv would otherwise ask for room that is not there). */
        if (!c->closing && c->reading && c->in_len >= wk->inpool.size) {
            uv_read_stop(s);
            c->reading = false;
        }
        return;
    }
    if (dw_tls_conn_feed(&c->tls, buf->base, (size_t)nread) < 0) {
        conn_close(c);
        return;
    }
    if (!c->tls.handshake_done) {
        int rc = dw_tls_conn_handshake(&c->tls);
        if (rc == DW_TLS_ERROR) {
            dc_stats_inc(wk->stats, DW_STAT_HANDSHAKE_FAILURES);
            /* Send the alert that says why, then close. */
            c->close_when_written = true;
            if (!flush_tls(c))
                conn_close(c);
            return;
        }
        if (rc == DW_TLS_AGAIN) {
            flush_tls(c);
            return;
        }
        dc_stats_inc(wk->stats, dw_tls_conn_resumed(&c->tls) ? DW_STAT_HANDSHAKES_RESUMED
                                                               : DW_STAT_HANDSHAKES_FULL);
        arm(c, PH_IDLE, (uint64_t)c->conf->header_timeout_ms);
    }
    if (c->responding) {
        /* Pipelined records stay in the BIO until finish_response() pumps them; past a
         * bound, in the kernel. */
        if (dw_tls_conn_in_pending(&c->tls) >= wk->inpool.size) {
            uv_read_stop(s);
            c->reading = false;
        }
        return;
    }
    if (!pump_tls(c))
        return;
    if (!c->responding)
        flush_tls(c); /* session tickets after the handshake */
    process(c);
    if (c->peer_done && !c->responding && !c->closing)
        conn_close(c); /* no more is coming, and what came is not a whole request */
}

static void
start_reading(struct dw_conn *c)
{
    if (c->reading || c->closing)
        return;
    if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read) == 0)
        c->reading = true;
    else
        conn_close(c);
}

/* ---- accepting ---- */

void
dw_conn_on_connection(uv_stream_t *server, int status)
{
    struct dw_worker *wk = server->data;
    if (status < 0)
        return;
    size_t li = (size_t)((uv_tcp_t *)server - wk->listeners);
    struct dw_conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return;
    c->wk = wk;
    c->conf = dw_conf_ref(wk->current);
    const struct dw_conf_listen *lis = &c->conf->listens[li];
    c->lis = lis;
    c->resp.fd = -1;
    c->resp.site = -1;
    uv_tcp_init(wk->loop, &c->tcp);
    uv_timer_init(wk->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->refs = 1;
    c->next = wk->conns;
    if (wk->conns)
        wk->conns->prev = c;
    wk->conns = c;
    wk->nconns++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
        conn_close(c);
        return;
    }
    dc_stats_inc(wk->stats, DW_STAT_CONNECTIONS);
    if (wk->stopping || wk->nconns > (size_t)c->conf->max_connections) {
        dc_stats_inc(wk->stats, DW_STAT_CONNECTIONS_REFUSED);
        conn_close(c);
        return;
    }
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
        dc_sock_apply_conn(fd, &lis->sock);
    int plen = sizeof(c->peer);
    uv_tcp_getpeername(&c->tcp, &c->peer.sa, &plen);
    uv_tcp_nodelay(&c->tcp, 1);
    const struct dw_conf *conf = c->conf;
    struct dw_http_limits lim = {
        .max_request_line = (size_t)conf->max_request_line,
        .max_header_size = (size_t)conf->max_header_size,
        .max_headers = (size_t)conf->max_headers,
        .max_body = conf->max_body_size,
    };
    dw_http_init(&c->http, &lim);
    if (lis->tls) {
        if (dw_tls_conn_init(&c->tls, conf->tls) < 0) {
            conn_close(c);
            return;
        }
        c->tls_on = true;
        arm(c, PH_HANDSHAKE, (uint64_t)conf->handshake_timeout_ms);
    } else {
        arm(c, PH_IDLE, (uint64_t)conf->header_timeout_ms);
    }
    start_reading(c);
}

void
dw_conn_stop_all(struct dw_worker *wk)
{
    for (struct dw_conn *c = wk->conns, *next; c; c = next) {
        next = c->next;
        if (!c->responding && c->phase != PH_LINGER)
            conn_close(c);
    }
}

void
dw_conn_abort_all(struct dw_worker *wk)
{
    for (struct dw_conn *c = wk->conns, *next; c; c = next) {
        next = c->next;
        conn_close(c);
    }
}
