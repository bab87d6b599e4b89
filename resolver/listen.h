/*
 * The client side's sockets: UDP and TCP on every configured address, one set per worker
 * (SO_REUSEPORT), reading queries, handing them to resolver/query.c and writing replies.
 *
 * UDP: one receive buffer per worker, replies written with uv_udp_try_send from the
 * worker's scratch buffer, so a cached answer costs no allocation. TCP (RFC 7766): length
 * framed queries, several in flight per connection (pipelining), replies written as they
 * finish (out of order), an idle timeout, a per-worker connection limit.
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
