/*
 * The client side's sockets: UDP and TCP on every configured address, one set per worker
 * (SO_REUSEPORT), reading queries, handing them to resolver/query.c and writing replies.
 *
 * UDP: one receive buffer per worker, replies written with uv_udp_try_send from the
 * worker's scratch buffer, so a cached answer costs no allocation.
 *
 * TCP (RFC 7766): length-framed queries, several in flight per connection (pipelining),
 * replies written as they finish (out of order). What a client cannot do:
 *   - Hold more than its share. Reading from a connection stops while 64 of its queries
 *     are being resolved or while 64 KiB of its replies wait in the write queue (a client
 *     that does not read them), and resumes below both. A reply is written whole, so the
 *     queue may pass the mark by the replies already in flight; it stays bounded.
 *   - Take a slot without being allowed. `allow` is checked when the connection is
 *     accepted: a host outside it is closed at once (counted in refused_clients) and never
 *     counts against `tcp-clients`.
 *   - Queue behind the limit. A connection over `tcp-clients` (per worker) is accepted and
 *     closed at once, before any byte is read: the client sees the close right away and can
 *     retry or fall back, instead of waiting unseen in the listen backlog.
 *   - Trickle. `tcp-idle-timeout` is a deadline, not an inactivity timer restarted by each
 *     byte (the meaning of nginx's client_header_timeout, applied per query): a query must
 *     be complete within it, counted from its first byte, or from the moment the previous
 *     query was taken when it was pipelined behind it; bytes of an unfinished query never
 *     extend it. A connection with nothing to send and nothing in flight is closed after
 *     the same time idle (Unbound's tcp-idle-timeout). While its answers are still being
 *     resolved, or its client is reading queued replies, a connection gets another period;
 *     a client that reads none of its queued replies for a whole period is closed.
 *
 * A query answered synchronously (local data, the cache, or a resolution that fails inside
 * dr_query_resolve) never re-enters the reading of the connection: each message is taken
 * from the buffer before it is handled, and a pause lifted by an answer resumes on the next
 * loop turn.
 */
#ifndef DUET_RESOLVER_LISTEN_H
#define DUET_RESOLVER_LISTEN_H

struct dr_worker;

/* Adopts this worker's fds (wk->sh->fds) and starts serving. 0 or a negative errno. */
int dr_listen_start(struct dr_worker *wk);
/* Graceful stop: no new queries; connections close once their answers are out; the UDP
 * sockets close once no resolution is left. */
void dr_listen_stop(struct dr_worker *wk);
/* Closes every handle now (after dr_mesh_abort_all has answered what was pending). */
void dr_listen_abort(struct dr_worker *wk);

#endif
