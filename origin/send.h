/*
 * Sending on a connection of duet-origin: the response head and body (a cached file or an
 * open one read in chunks), TLS ciphertext (handshake flights, tickets, alerts,
 * close_notify), with back-pressure.
 *
 * One write in flight at most: a connection has one uv_write_t and one output buffer, so
 * whatever asks for bytes to go out while a write is in flight leaves them queued (TLS
 * ciphertext in the SSL's write BIO) and the write callback sends them. A connection that is
 * to close once its alert or close_notify is out (close_when_written) flushes what is queued,
 * write after write, then closes.
 */
#ifndef DUET_ORIGIN_SEND_H
#define DUET_ORIGIN_SEND_H

#include <stdbool.h>

struct dw_conn;

/* Starts the response just built (origin/response.c left its head in the worker's scratch):
 * takes the head at once, queued behind a write in flight if there is one, then goes on as
 * dw_send_more(). Call it right after building, before anything else can build a response. */
void dw_send_start(struct dw_conn *c);

/* Produces the next piece of the response (cached body, file chunk) and writes it,
 * unless a write or a file read is in flight; calls dw_conn_finish_response() after the last.
 * Queued TLS ciphertext goes first. */
void dw_send_more(struct dw_conn *c);

/* TLS: writes the ciphertext waiting in the write BIO. Returns true while a write is in
 * flight afterwards (started now or before, whose callback comes back to send the rest),
 * false when nothing was pending (or the connection is closing). */
bool dw_send_flush(struct dw_conn *c);

/* Gives the response buffers back (an idle keep-alive connection holds none). */
void dw_send_release(struct dw_conn *c);

#endif
