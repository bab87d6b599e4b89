/*
 * One client connection of duet-origin, from accept to close: the TLS handshake over memory
 * BIOs, reading requests (origin/http.c), sending responses (origin/response.c) with
 * back-pressure, keep-alive and pipelining, every timeout, and the way it ends.
 *
 * Phases (one timer, re-armed per phase):
 *   HANDSHAKE   TLS handshake in progress             handshake-timeout → close
 *   IDLE        waiting for the first byte of a request keepalive-timeout (header-timeout for
 *                                                      the first request) → close
 *   HEADERS     a request is arriving                  header-timeout → 408, close
 *   RESPONDING  sending a response; reading paused     request-timeout without progress →
 *                                                      close
 *   LINGER      our FIN is sent; reading to EOF so a   2 s → close
 *               reset cannot destroy the last response
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

#include <uv.h>

struct dw_worker;
struct dw_conf_listen;

/* uv_listen callback for a listener whose handle->data is the worker and whose
 * listener index is found through wk->listeners. */
void dw_conn_on_connection(uv_stream_t *server, int status);

/* Graceful stop: idle connections close now, busy ones after their current response. */
void dw_conn_stop_all(struct dw_worker *wk);
/* Closes every connection now. */
void dw_conn_abort_all(struct dw_worker *wk);

#endif
