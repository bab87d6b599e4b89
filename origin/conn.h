/*
 * One client connection of duet-origin, from accept to close: the TLS handshake over memory
 * BIOs, reading requests (origin/http.c), responses (decided by origin/response.c, written by
 * origin/send.c, one write in flight at most), keep-alive and pipelining, every timeout, and
 * the way it ends.
 *
 * Input is bounded on both paths: plain bytes go straight into the request buffer and
 * reading stops when it is full; TLS ciphertext goes through the SSL's read BIO, and reading
 * stops when the BIO holds what the request buffer could take. A request that does not fit
 * the buffer (max-header-size + max-body-size + 4 KiB of chunked framing) is answered 431 or
 * 413 at once rather than left to header-timeout. The buffers are sized by the
 * configuration the connection was accepted under, whatever a reload changes later.
 *
 * Phases (one timer, re-armed per phase):
 *   HANDSHAKE   TLS handshake in progress             handshake-timeout → close
 *   IDLE        waiting for the first byte of a request keepalive-timeout (header-timeout for
 *                                                      the first request) → close
 *   HEADERS     a request is arriving                  header-timeout → 408, close
 *   RESPONDING  sending a response; reading paused     request-timeout without a write
 *                                                      completing → close (RST with
 *                                                      reset-timedout-connection)
 *   ENDING      the last response is out; its TLS      as RESPONDING
 *               close_notify is being written
 *   LINGER      our FIN is sent; reading to EOF so a   2 s in which none of the
 *               reset cannot destroy the last response response's unsent bytes leave,
 *                                                      and the client sends nothing
 *                                                      (30 s in all) → close (RST with
 *                                                      reset-timedout-connection when
 *                                                      response bytes are left)
 *               (also: a TLS alert or close_notify
 *               is being flushed before closing; input
 *               is discarded)
 *
 * Ending: a response with "Connection: close" (errors, HTTP/1.0 without keep-alive,
 * keepalive-requests reached) closes our side after the response (close_notify, FIN,
 * lingering). An idle keep-alive connection is closed by the server at keepalive-timeout
 * when close-first = server; with close-first = client, responses announce
 * "Keep-Alive: timeout=N" so the client closes first (its side keeps TIME_WAIT) and the
 * server only closes 5 s after that.
 */
#ifndef DUET_ORIGIN_CONN_H
#define DUET_ORIGIN_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/addr.h"
#include "common/life.h"
#include "origin/http.h"
#include "origin/response.h"
#include "origin/tls.h"

struct dc_bufpool;
struct dw_conf;
struct dw_worker;
struct dw_conf_listen;

/* What a response's ciphertext may exceed its plaintext chunk by: record headers, tags. */
#define DW_CONN_TLS_SLACK 2048

/* Buffer sizes a configuration asks for: a request (its head, its body, 4 KiB for chunked
 * framing), and a response piece (a file chunk, or its ciphertext). */
size_t dw_conn_in_size(const struct dw_conf *conf);
size_t dw_conn_out_size(const struct dw_conf *conf);

/* The phases above, in the order a connection goes through them (dw_conn_phase_name()
 * names them in logs); the timer is re-armed for each. */
enum dw_conn_phase {
    DW_PH_HANDSHAKE,  /* TLS handshake; input goes to it */
    DW_PH_IDLE,       /* no request yet; the first input byte starts HEADERS */
    DW_PH_HEADERS,    /* a request is arriving; a whole one starts RESPONDING */
    DW_PH_RESPONDING, /* a response is out (origin/send.c); input waits, pipelined */
    DW_PH_ENDING,     /* the last response is out; TLS close_notify still being written
                         before our FIN; input waits; request-timeout without progress */
    DW_PH_LINGER,     /* our FIN is sent (or an alert is flushed); input is discarded */
};

/* "handshake", "idle", "headers", "responding", "ending", "linger". */
const char *dw_conn_phase_name(enum dw_conn_phase ph);

/* One connection: origin/conn.c reads, parses and ends it; origin/send.c writes for it. */
struct dw_conn {
    struct dw_worker *wk;
    struct dw_conn *next, *prev;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t wreq; /* the one write in flight (origin/send.c) */
    uv_shutdown_t sreq;
    uv_fs_t *fsreq; /* a file chunk's read: allocated beside `chunk` and released with it
                       (an idle connection holds neither) */
    struct dw_conf *conf; /* a reference: the configuration it was accepted under */
    const struct dw_conf_listen *lis;
    size_t in_cap;  /* bytes of `in`, from conf (a reload does not change them) */
    size_t out_cap; /* bytes of `out` and `chunk` */
    bool tls_on;
    struct dw_tls_conn tls;
    struct dw_http http;
    enum dw_conn_phase phase;
    uint64_t due;       /* loop time (ms) the phase times out at */
    uint64_t timer_due; /* loop time the timer was started for (<= due while it runs) */
    uint64_t idle_since; /* loop time the last response ended (dw_conn_release_idle) */
    bool release_pending; /* idle buffers go back when the timer fires */
    bool hot;             /* its last request came soon after the response before it */
    unsigned sync_writes; /* writes done at once in this event (send.c) */
    bool reading;
    bool writing;
    bool file_reading;
    bool end_after;          /* close our side once the response is out */
    bool notify_sent;        /* TLS close_notify queued */
    bool close_when_written; /* close once TLS has nothing more queued (alert, close_notify) */
    bool peer_done;          /* TLS close_notify or FIN after a request: answer it, then close */
    bool peer_fin;           /* the client's FIN arrived */
    struct dc_life life;     /* its own reference + a write, a file read, a shutdown in flight;
                                the tcp and timer handles */
    uint8_t *in;
    size_t in_len;
    uint8_t *out;   /* plain: the head of the write in flight */
    struct dw_tls_queue wq; /* TLS: the ciphertext of the write in flight, taken whole from
                               the session's out queue (no copy) and freed when written */
    uint8_t *chunk; /* a file chunk being read */
    struct dw_response resp; /* while RESPONDING */
    bool head_sent;
    uint64_t body_pos; /* body bytes handed to the socket (or TLS) */
    uint64_t req_start_us;
    uint64_t requests;
    uint64_t bytes_out; /* of the current response */
    int linger_unsent;  /* at the last linger tick: response bytes not yet sent */
    uint64_t linger_since_ms; /* loop time of the first linger tick that found some */
    union dc_sockaddr peer;
    /* the flow trace (origin/trace.h) */
    bool traced;        /* this connection's events are written */
    bool reset;         /* closed with a reset (reset-timedout-connection) */
    uint8_t first_fin;  /* who sent the first FIN: 0 nobody yet, 1 we, 2 the client */
    uint64_t accept_us; /* when it was accepted (traced connections) */
};

/* uv_listen callback for a listener whose handle->data is the worker and whose
 * listener index is found through wk->listeners. */
void dw_conn_on_connection(uv_stream_t *server, int status);

/* Graceful stop: idle connections close now, busy ones after their current response. */
void dw_conn_stop_all(struct dw_worker *wk);
/* Closes every connection now. */
void dw_conn_abort_all(struct dw_worker *wk);

/* For origin/send.c. Closing: idempotent; the object lives on while references do (a write,
 * file read or shutdown in flight holds one: dc_life_ref/dc_life_unref on c->life). */
void dw_conn_close(struct dw_conn *c);

static inline bool
dw_conn_closing(const struct dw_conn *c)
{
    return dc_life_closing(&c->life);
}
/* A write completed: while responding, request-timeout counts again from now (it bounds a
 * response that makes no progress, not a long download). */
void dw_conn_progress(struct dw_conn *c);
/* The response's last byte is handed to the socket or TLS: log it, then keep-alive or end. */
void dw_conn_finish_response(struct dw_conn *c);
/* Our side is done: close_notify, FIN, lingering read (see above). */
void dw_conn_end(struct dw_conn *c);
/* Waiting for the client (HANDSHAKE or IDLE) with no write or file read in flight: gives
 * every empty buffer back to the worker's pools (between keep-alive requests, once the
 * connection has been idle 200 ms: the phase timer does it); otherwise does nothing. */
void dw_conn_release_idle(struct dw_conn *c);

/* A buffer of size bytes: from pool when the pool's buffers have that size (the pools follow
 * the configuration in force), else its own allocation, for a connection accepted under an
 * earlier one. dw_conn_buf_put takes the same size back. */
void *dw_conn_buf_get(struct dc_bufpool *pool, size_t size);
void dw_conn_buf_put(struct dc_bufpool *pool, void *buf, size_t size);

#endif
