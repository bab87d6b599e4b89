#include "origin/conn.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/trace.h"
#include "common/sock.h"
#include "origin/accesslog.h"
#include "origin/again.h"
#include "origin/http.h"
#include "origin/response.h"
#include "origin/send.h"
#include "origin/tls.h"
#include "origin/trace.h"
#include "origin/worker.h"

#define LINGER_MS       2000
#define LINGER_TIME_MS  30000 /* a lingering close in all (nginx's lingering_time) */
#define CLIENT_GRACE_MS 5000

static void process(struct dw_conn *c);
static void start_reading(struct dw_conn *c);
static bool pump_tls(struct dw_conn *c);

/* ---- buffers ---- */

size_t
dw_conn_in_size(const struct dw_conf *conf)
{
    return (size_t)conf->max_header_size + (size_t)conf->max_body_size + 4096;
}

size_t
dw_conn_out_size(const struct dw_conf *conf)
{
    return (size_t)conf->chunk_size + DW_CONN_TLS_SLACK;
}

/* A reload may resize the worker's pools while connections accepted before it still use
 * their own configuration's sizes: their buffers are their own, and a buffer never goes
 * back to a pool of another size (nor is a short one filled to a longer length). */
void *
dw_conn_buf_get(struct dc_bufpool *pool, size_t size)
{
    return pool->size == size ? dc_buf_get(pool) : malloc(size);
}

void
dw_conn_buf_put(struct dc_bufpool *pool, void *buf, size_t size)
{
    if (buf == NULL)
        return;
    if (pool->size == size)
        dc_buf_put(pool, buf);
    else
        free(buf);
}

static bool
ensure_in(struct dw_conn *c)
{
    if (c->in == NULL)
        c->in = dw_conn_buf_get(&c->wk->inpool, c->in_cap);
    return c->in != NULL;
}

/*
 * A connection that waits for its client with nothing in flight holds no buffers: the
 * request buffer (unless a pipelined request has begun in it), the response buffers, TLS's
 * ciphertext queues and OpenSSL's record buffers go back to the worker's pools (or the heap),
 * as nginx's ngx_http_set_keepalive() frees its buffers. What it keeps is the connection
 * object and, over TLS, the SSL session.
 *
 * Between keep-alive requests this happens once the connection has been idle for
 * IDLE_RELEASE_MS (the phase timer fires for it): giving OpenSSL's two 17 KiB record buffers
 * back after every response and allocating them again for the next request cost ~1.5k
 * instructions a request (SSL_MODE_RELEASE_BUFFERS, as nginx has it), while a client that
 * keeps the connection busy would take them again within milliseconds. Only a connection
 * whose last request came within IDLE_RELEASE_MS of the response before it waits so (a burst
 * of new connections with one request each would otherwise hold all their buffers at once
 * and leave the heap that large); after a handshake or a connection's first response, the
 * release is immediate as before.
 */
#define IDLE_RELEASE_MS 200

static void
release_now(struct dw_conn *c)
{
    c->release_pending = false;
    dw_send_release(c);
    if (c->in_len == 0) {
        dw_conn_buf_put(&c->wk->inpool, c->in, c->in_cap);
        c->in = NULL;
    }
    if (c->tls_on)
        dw_tls_conn_trim(&c->tls);
}

static void on_timer(uv_timer_t *t);

void
dw_conn_release_idle(struct dw_conn *c)
{
    if ((c->phase != DW_PH_IDLE && c->phase != DW_PH_HANDSHAKE) || c->writing || c->file_reading ||
        dw_conn_closing(c))
        return;
    if (c->phase == DW_PH_IDLE && c->hot) {
        uint64_t at = c->idle_since + IDLE_RELEASE_MS, now = uv_now(c->wk->loop);
        if (now < at) {
            c->release_pending = true;
            if (at < c->timer_due || !uv_is_active((uv_handle_t *)&c->timer)) {
                c->timer_due = at;
                uv_timer_start(&c->timer, on_timer, at - now, 0);
            }
            return;
        }
    }
    release_now(c);
}

/* ---- lifetime ---- */

static void
conn_free(struct dc_life *l)
{
    struct dw_conn *c = DC_LIFE_OWNER(l, struct dw_conn, life);
    struct dw_worker *wk = c->wk;
    dw_response_done(wk, &c->resp);
    dw_conn_buf_put(&wk->inpool, c->in, c->in_cap);
    dw_send_release(c);
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
on_closed(uv_handle_t *h)
{
    struct dw_conn *c = h->data;
    dc_life_handle_closed(&c->life);
}

/* Writes, file reads and a shutdown in flight hold references of their own: the object
 * outlives the close until their callbacks have run (common/life.h). */
void
dw_conn_close(struct dw_conn *c)
{
    if (dw_conn_closing(c))
        return;
    if (dc_log_enabled(DC_LOG_DEBUG)) {
        char addr[DC_ADDR_STRLEN];
        dc_addr_format(&c->peer, true, addr, sizeof(addr));
        DC_LOG_DEBUG("conn_close", "client=%s phase=%s requests=%" PRIu64, addr,
                     dw_conn_phase_name(c->phase), c->requests);
    }
    if (c->traced)
        dw_trace_close(c);
    uv_timer_stop(&c->timer);
    uv_handle_t *hs[] = {(uv_handle_t *)&c->tcp, (uv_handle_t *)&c->timer};
    dc_life_close(&c->life, hs, 2, on_closed);
}

/* ---- timers ---- */

static void on_timer(uv_timer_t *t);

const char *
dw_conn_phase_name(enum dw_conn_phase ph)
{
    static const char *const names[] = {"handshake",  "idle",   "headers",
                                        "responding", "ending", "linger"};
    return (unsigned)ph < sizeof(names) / sizeof(names[0]) ? names[ph] : "?";
}

/* A response is out, or our close is being flushed behind it: input waits in the request
 * buffer (or the TLS BIO) and nothing new is parsed. */
static bool
busy(const struct dw_conn *c)
{
    return c->phase == DW_PH_RESPONDING || c->phase == DW_PH_ENDING;
}

/*
 * The phase's deadline moves with every request, and re-starting a libuv timer each time (a
 * heap removal and insertion) cost ~1.7k instructions a request. The deadline is kept here
 * instead; the timer is started only when the deadline comes earlier than the one it was
 * started for, and a timer that fires early (the deadline moved later meanwhile) starts
 * again for the rest (nginx's timers tolerate lateness the same way, h2o's are lazy too).
 */
static void
arm(struct dw_conn *c, enum dw_conn_phase ph, uint64_t ms)
{
    uint64_t due = uv_now(c->wk->loop) + ms;
    c->phase = ph;
    c->due = due;
    if (due < c->timer_due || !uv_is_active((uv_handle_t *)&c->timer)) {
        c->timer_due = due;
        uv_timer_start(&c->timer, on_timer, ms, 0);
    }
}

/* Restarted, not uv_timer_again(): the phase timers are one-shot (repeat 0), and
 * uv_timer_again() does nothing to a one-shot timer, which made request-timeout a deadline
 * from the response's start that cut every download longer than it. */
void
dw_conn_progress(struct dw_conn *c)
{
    if (busy(c))
        arm(c, c->phase, (uint64_t)c->conf->request_timeout_ms);
}

/*
 * Whether a lingering close waits another LINGER_MS. The linger timer starts when the last
 * bytes went into the socket buffer, which can hold megabytes the client's window has not
 * let through yet; closing then is harmless while the client only reads (the kernel sends
 * the rest and the FIN), but anything the client sends afterwards (a pipelined request, its
 * close_notify) meets a closed socket, and the reset that answers it destroys the unsent
 * rest of the response. So the wait goes on while the unsent part shrinks, tick after tick,
 * and ends at the first tick without progress, or after LINGER_TIME_MS in all. Sets
 * *stalled when it ends with response bytes unsent (more than our FIN): the client stopped
 * reading, and timed out like one that stops during the response.
 */
static int
unsent(struct dw_conn *c, bool or_unacked)
{
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)&c->tcp, &fd) != 0)
        return 0;
    int n = or_unacked ? dc_sock_unacked(fd) : dc_sock_unsent(fd);
    return n > 0 ? n : 0;
}

static bool
linger_more(struct dw_conn *c, bool *stalled)
{
    int left = unsent(c, false);
    *stalled = left > 1;
    if (left == 0) /* linger = 0: the reset drops what is unacknowledged: wait for the ACK */
        return dc_sock_resets(&c->lis->sock) && unsent(c, true) > 0 &&
               uv_now(c->wk->loop) - c->linger_since_ms <= LINGER_TIME_MS;
    if (left >= c->linger_unsent)
        return false;
    if (uv_now(c->wk->loop) - c->linger_since_ms > LINGER_TIME_MS)
        return false;
    *stalled = false;
    c->linger_unsent = left;
    return true;
}

/* The linger phase begins: progress is counted from what the socket holds now. */
static void
start_linger(struct dw_conn *c)
{
    c->linger_unsent = unsent(c, false);
    c->linger_since_ms = uv_now(c->wk->loop);
    arm(c, DW_PH_LINGER, LINGER_MS);
}

static void
send_error(struct dw_conn *c, int status)
{
    c->wk->conf = c->conf;
    dw_response_error(c->wk, status, true, false, &c->resp);
    c->head_sent = false;
    c->body_pos = 0;
    c->end_after = true;
    c->bytes_out = 0;
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
    arm(c, DW_PH_RESPONDING, (uint64_t)c->conf->request_timeout_ms);
    dw_send_start(c);
}

/*
 * Closes once what TLS has queued (an alert saying why, close_notify) is written. A write may
 * be in flight: the queued bytes then follow it from its callback (origin/send.c). Meanwhile
 * input is discarded (the linger phase), and the linger timer bounds the wait for a client
 * that does not read.
 */
static void
close_after_flush(struct dw_conn *c)
{
    c->close_when_written = true;
    start_linger(c);
    if (!dw_send_flush(c))
        dw_conn_close(c);
}

/*
 * A client that timed out (no handshake, or no progress reading a response): with
 * reset-timedout-connection = yes the close is a reset (SO_LINGER 0), so the response bytes
 * it did not take are dropped at once instead of sitting in FIN_WAIT_1, retransmitted to a
 * window that stays shut until the kernel gives up minutes later (nginx's
 * reset_timedout_connection). An idle keep-alive connection that reaches keepalive-timeout,
 * or a lingering close that ends, is not a timed-out client: those close normally.
 */
static void
close_timedout(struct dw_conn *c)
{
    uv_os_fd_t fd;
    dc_stats_inc(c->wk->stats, DW_STAT_TIMEOUTS);
    DC_LOG_DEBUG("conn_timeout", "phase=%s reset=%s", dw_conn_phase_name(c->phase),
                 c->lis->reset_timedout ? "yes" : "no");
    if (c->lis->reset_timedout && uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0) {
        dc_sock_reset_on_close(fd);
        c->reset = true;
    }
    dw_conn_close(c);
}

static void
on_timer(uv_timer_t *t)
{
    struct dw_conn *c = t->data;
    uint64_t now = uv_now(c->wk->loop);
    if (c->release_pending) {
        if (c->phase != DW_PH_IDLE)
            c->release_pending = false; /* a request came: the next idle time counts */
        else if (now >= c->idle_since + IDLE_RELEASE_MS)
            dw_conn_release_idle(c);
    }
    if (now < c->due) {
        uint64_t next = c->due;
        if (c->release_pending && c->idle_since + IDLE_RELEASE_MS < next)
            next = c->idle_since + IDLE_RELEASE_MS;
        c->timer_due = next;
        uv_timer_start(&c->timer, on_timer, next - now, 0);
        return;
    }
    switch (c->phase) {
    case DW_PH_HEADERS:
        dc_stats_inc(c->wk->stats, DW_STAT_TIMEOUTS);
        send_error(c, 408);
        return;
    case DW_PH_HANDSHAKE:
    case DW_PH_RESPONDING:
    case DW_PH_ENDING:
        close_timedout(c);
        return;
    case DW_PH_IDLE:
        /* An idle keep-alive connection ends. A TLS client is told properly (close_notify)
         * and answers with its own: our FIN goes out after ours and we read on to the
         * client's FIN (the linger phase, bounded), so that answer meets an open socket;
         * closing at once made the kernel reset every such connection (the teardown lab,
         * bench/teardown.sh, counted an RST per connection and no TIME_WAIT). */
        if (c->tls_on && c->tls.handshake_done && !c->notify_sent) {
            dw_conn_end(c);
            return;
        }
        dw_conn_close(c);
        return;
    case DW_PH_LINGER: {
        bool stalled;
        if (linger_more(c, &stalled))
            arm(c, DW_PH_LINGER, LINGER_MS);
        else if (stalled)
            close_timedout(c);
        else
            dw_conn_close(c);
        return;
    }
    }
}

/* ---- ending a connection ---- */

static void
on_shutdown(uv_shutdown_t *req, int status)
{
    struct dw_conn *c = req->data;
    (void)status;
    dc_life_unref(&c->life);
}

/* Our side is done: TLS close_notify, FIN, then read until the client's FIN (or 2 s), so
 * a client that sent more cannot make our kernel answer with a reset that destroys the
 * response it has not read yet (nginx's lingering close). */
void
dw_conn_end(struct dw_conn *c)
{
    if (dw_conn_closing(c) || c->phase == DW_PH_LINGER)
        return;
    if (c->tls_on && c->tls.handshake_done && !c->notify_sent) {
        c->notify_sent = true;
        dw_tls_conn_shutdown(&c->tls);
    }
    if (dw_send_flush(c)) {
        c->phase = DW_PH_ENDING; /* on_written comes back here; the timer runs on */
        return;
    }
    if (c->peer_fin) {
        dw_conn_close(c); /* the client closed first: ours is the second FIN */
        return;
    }
    if ((c->peer_done && c->lis->close_first == DW_CLOSE_CLIENT) || dc_sock_resets(&c->lis->sock)) {
        /* The client began the close (close_notify): let its FIN come first, so the
         * TIME_WAIT stays on its side; the linger timer bounds the wait. With linger = 0
         * no FIN of ours goes at all (it would leave us the TIME_WAIT linger = 0 is set to
         * avoid): the close after the client's FIN, or once the client acknowledged all we
         * sent, is a reset that loses nothing. */
        start_linger(c);
        c->phase = DW_PH_LINGER;
        start_reading(c);
        return;
    }
    c->phase = DW_PH_LINGER;
    c->sreq.data = c;
    dc_life_ref(&c->life);
    if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, on_shutdown) < 0) {
        dc_life_unref(&c->life);
        dw_conn_close(c);
        return;
    }
    if (c->first_fin == 0)
        c->first_fin = 1;
    start_linger(c);
    start_reading(c);
}

void
dw_conn_finish_response(struct dw_conn *c)
{
    struct dw_worker *wk = c->wk;
    static const unsigned cls[] = {DW_STAT_STATUS_1XX, DW_STAT_STATUS_2XX, DW_STAT_STATUS_3XX,
                                   DW_STAT_STATUS_4XX, DW_STAT_STATUS_5XX};
    int s = c->resp.status / 100;
    if (s >= 1 && s <= 5)
        dc_stats_inc(wk->stats, cls[s - 1]);
    dw_access_log(c);
    if (c->traced)
        dw_trace_request(c);
    if (c->http.done)
        dw_worker_observe_duration(wk, uv_hrtime() / 1000 - c->req_start_us);
    bool close = c->resp.close || c->end_after;
    dw_response_done(wk, &c->resp);
    if (c->http.done) {
        size_t used = c->http.req.total_len;
        memmove(c->in, c->in + used, c->in_len - used);
        c->in_len -= used;
        dw_http_next(&c->http);
    }
    c->requests++;
    if (close || wk->stopping || c->requests >= (uint64_t)c->conf->keepalive_requests) {
        dw_conn_end(c);
        return;
    }
    /* Buffers go back to the pool while the connection waits. */
    dw_send_release(c);
    uint64_t idle = (uint64_t)c->conf->keepalive_timeout_ms;
    if (c->lis->close_first == DW_CLOSE_CLIENT)
        idle += CLIENT_GRACE_MS;
    arm(c, DW_PH_IDLE, idle);
    c->idle_since = uv_now(wk->loop);
    /* Plaintext TLS decrypted beyond what fitted in the request buffer waits in the SSL
     * object, and no socket read will bring it: move it now that there is room. */
    if (c->tls_on && !c->peer_done && !pump_tls(c))
        return;
    if (c->in_len > 0) {
        process(c); /* a pipelined request is already here */
        if (c->phase == DW_PH_RESPONDING || dw_conn_closing(c))
            return;
        /* Only the start of the next request is here. */
        if (c->peer_done)
            dw_conn_end(c);
        else
            start_reading(c);
        return;
    }
    if (c->peer_done) {
        dw_conn_end(c); /* the client sent close_notify: nothing more will come */
        return;
    }
    dw_conn_release_idle(c);
    start_reading(c);
}

/* ---- reading ---- */

static void
start_response(struct dw_conn *c)
{
    struct dw_worker *wk = c->wk;
    dc_stats_inc(wk->stats, DW_STAT_REQUESTS);
    bool keep = c->http.req.keep_alive && c->conf->keepalive_timeout_ms > 0 && !wk->stopping &&
                c->requests + 1 < (uint64_t)c->conf->keepalive_requests;
    int sni = c->tls_on ? c->tls.site : -1;
    wk->conf = c->conf; /* response.c reads the options this connection was accepted under */
    dw_response_build(wk, c->lis, sni, &c->http.req, c->in, keep, &c->resp);
    c->head_sent = false;
    c->body_pos = 0;
    c->bytes_out = 0;
    c->end_after = c->resp.close;
    /* Reading goes on while the response is out: stopping and restarting it per request
     * costs two epoll_ctl calls each time (bench/README.md). Pipelined bytes are kept, and
     * on_read stops reading only when they fill the buffer. */
    arm(c, DW_PH_RESPONDING, (uint64_t)c->conf->request_timeout_ms);
    dw_send_start(c);
}

static void
process(struct dw_conn *c)
{
    struct dw_worker *wk = c->wk;
    if (dw_conn_closing(c) || busy(c) || c->phase == DW_PH_LINGER)
        return;
    if (c->in_len == 0)
        return;
    if (c->phase == DW_PH_IDLE) {
        /* A client that asks again within IDLE_RELEASE_MS keeps its buffers between
         * requests (dw_conn_release_idle). */
        c->hot = c->requests > 0 && uv_now(wk->loop) - c->idle_since < IDLE_RELEASE_MS;
        c->req_start_us = uv_hrtime() / 1000;
        arm(c, DW_PH_HEADERS, (uint64_t)c->conf->header_timeout_ms);
    }
    int r = dw_http_parse(&c->http, c->in, c->in_len);
    if (r == DW_AGAIN) {
        if (c->in_len < c->in_cap)
            return;
        /* The buffer holds a whole head and body within the limits, with room to spare
         * for chunked framing: a request that does not fit cannot be served, and waiting
         * would only hold the connection until header-timeout. */
        r = c->http.head_done ? 413 : 431;
    }
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
    if (c->tls_on || c->phase == DW_PH_LINGER) {
        *buf = uv_buf_init((char *)wk->rbuf, sizeof(wk->rbuf));
        return;
    }
    if (!ensure_in(c)) {
        *buf = uv_buf_init(NULL, 0);
        return;
    }
    *buf = uv_buf_init((char *)c->in + c->in_len, (unsigned)(c->in_cap - c->in_len));
}

/* Decrypts what TLS has into the request buffer. Returns false when the connection ended. */
static bool
pump_tls(struct dw_conn *c)
{
    for (int guard = 0; guard < 1024; guard++) {
        if (!ensure_in(c)) {
            dw_conn_close(c);
            return false;
        }
        size_t room = c->in_cap - c->in_len;
        if (room == 0)
            return true; /* process() answers a full buffer; on_read reads no more */
        int n = dw_tls_conn_read(&c->tls, c->in + c->in_len, room);
        if (n > 0) {
            c->in_len += (size_t)n;
            continue;
        }
        if (n == DW_AGAIN)
            return true;
        if (n == 0 && c->in_len > 0) {
            /* close_notify right behind a request is a TLS half-close: answer what was asked,
             * as over plain TCP a FIN after the request is (nginx does the same). */
            c->peer_done = true;
            return true;
        }
        if (n == 0 && !busy(c) && !c->writing) {
            /* close_notify on an idle connection: the client is closing. With close-first
             * = client we send nothing back (a close_notify reaching a client that has
             * already closed its socket makes its kernel answer with a reset, which ends
             * the connection without TIME_WAIT on either side) and wait for the client's
             * FIN, so the TIME_WAIT stays on its side; otherwise we answer and close. */
            c->peer_done = true;
            if (c->lis->close_first == DW_CLOSE_CLIENT)
                c->notify_sent = true;
            dw_conn_end(c);
            return false;
        }
        /* a TLS error (or close_notify while busy): the alert goes out, then we close */
        close_after_flush(c);
        return false;
    }
    return true;
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct dw_conn *c = s->data;
    struct dw_worker *wk = c->wk;
    c->sync_writes = 0; /* a new event: writes done at once count from here (send.c) */
    if (nread == 0)
        return;
    if (nread < 0) {
        if (nread == UV_EOF && busy(c) && !dw_conn_closing(c)) {
            /* A half-close after the last request: finish answering, then end. */
            c->peer_done = c->peer_fin = true;
            if (c->first_fin == 0)
                c->first_fin = 2;
            uv_read_stop(s);
            c->reading = false;
            return;
        }
        dw_conn_close(c);
        return;
    }
    if (c->phase == DW_PH_LINGER) {
        /* Discarded; a client still sending gets LINGER_MS more (nginx's lingering_timeout),
         * LINGER_TIME_MS in all. */
        if (uv_now(wk->loop) - c->linger_since_ms <= LINGER_TIME_MS)
            arm(c, DW_PH_LINGER, LINGER_MS);
        return;
    }
    if (!c->tls_on) {
        c->in_len += (size_t)nread;
        if (!busy(c))
            process(c);
        /* Pipelined bytes are parsed after the response; once they fill the buffer the
         * rest waits in the kernel (libuv would otherwise ask for room that is not there). */
        if (!dw_conn_closing(c) && c->reading && c->in_len >= c->in_cap) {
            uv_read_stop(s);
            c->reading = false;
        }
        return;
    }
    if (dw_tls_conn_feed(&c->tls, buf->base, (size_t)nread) < 0) {
        dw_conn_close(c);
        return;
    }
    if (!c->tls.handshake_done) {
        int rc = dw_tls_conn_handshake(&c->tls);
        if (rc == DW_TLS_ERROR) {
            dc_stats_inc(wk->stats, DW_STAT_HANDSHAKE_FAILURES);
            close_after_flush(c); /* the alert that says why */
            return;
        }
        if (rc == DW_AGAIN) {
            /* A flight written at once has no callback to give the buffers back. */
            if (!dw_send_flush(c))
                dw_conn_release_idle(c);
            return;
        }
        dc_stats_inc(wk->stats, dw_tls_conn_resumed(&c->tls) ? DW_STAT_HANDSHAKES_RESUMED
                                                             : DW_STAT_HANDSHAKES_FULL);
        if (c->traced)
            dw_trace_tls(c);
        arm(c, DW_PH_IDLE, (uint64_t)c->conf->header_timeout_ms);
    }
    if (!busy(c)) {
        if (!pump_tls(c))
            return;
        /* The session tickets that follow a handshake go out in front of the response
         * (the queue keeps the order), in its write. */
        process(c);
        if (dw_conn_closing(c))
            return;
        dw_send_flush(c); /* the tickets, when no response took them along */
        if (dw_conn_closing(c))
            return;
        if (c->peer_done && !busy(c) && c->phase != DW_PH_LINGER) {
            dw_conn_close(c); /* no more is coming, and what came is not a whole request */
            return;
        }
        /* Handshake done and no request yet (a browser's preconnect), or a request's
         * records still incomplete: what waits holds no buffers. The tickets' write, when
         * it is in flight, does this from its callback. */
        dw_conn_release_idle(c);
    }
    /* Back-pressure, as the plain path has it: ciphertext the request buffer could not take
     * stays in the kernel, not in the BIO. While a response is out, pipelined records wait
     * in the BIO until dw_conn_finish_response() pumps them; otherwise pump_tls() left at
     * most part of a record there, unless the buffer is full, which process() answered. */
    if (c->reading && c->phase != DW_PH_LINGER && dw_tls_conn_in_pending(&c->tls) >= c->in_cap) {
        uv_read_stop(s);
        c->reading = false;
    }
}

static void
start_reading(struct dw_conn *c)
{
    if (c->reading || dw_conn_closing(c))
        return;
    if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read) == 0)
        c->reading = true;
    else
        dw_conn_close(c);
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
    c->in_cap = dw_conn_in_size(c->conf);
    c->out_cap = dw_conn_out_size(c->conf);
    dc_life_init(&c->life, conn_free);
    c->resp.fd = -1;
    c->resp.site = -1;
    uv_tcp_init(wk->loop, &c->tcp);
    uv_timer_init(wk->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->next = wk->conns;
    if (wk->conns)
        wk->conns->prev = c;
    wk->conns = c;
    wk->nconns++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
        dw_conn_close(c);
        return;
    }
    dc_stats_inc(wk->stats, DW_STAT_CONNECTIONS);
    if (wk->stopping || wk->nconns > (size_t)c->conf->max_connections) {
        dc_stats_inc(wk->stats, DW_STAT_CONNECTIONS_REFUSED);
        dw_conn_close(c);
        return;
    }
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
        dc_sock_apply_conn(fd, &lis->sock);
    int plen = sizeof(c->peer);
    uv_tcp_getpeername(&c->tcp, &c->peer.sa, &plen);
    if (DC_TRACE_ON())
        dw_trace_accept(c);
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
        if (dw_tls_conn_init(&c->tls, conf->tls, &wk->inpool, &wk->outpool) < 0) {
            dw_conn_close(c);
            return;
        }
        c->tls_on = true;
        arm(c, DW_PH_HANDSHAKE, (uint64_t)conf->handshake_timeout_ms);
    } else {
        arm(c, DW_PH_IDLE, (uint64_t)conf->header_timeout_ms);
    }
    start_reading(c);
}

void
dw_conn_stop_all(struct dw_worker *wk)
{
    for (struct dw_conn *c = wk->conns, *next; c; c = next) {
        next = c->next;
        if (!busy(c) && c->phase != DW_PH_LINGER)
            dw_conn_close(c);
    }
}

void
dw_conn_abort_all(struct dw_worker *wk)
{
    for (struct dw_conn *c = wk->conns, *next; c; c = next) {
        next = c->next;
        dw_conn_close(c);
    }
}
