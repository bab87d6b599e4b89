/*
 * One query to one upstream server and its reply: the resolver's outgoing transport, and
 * the per-worker pool of UDP sockets it sends from.
 *
 * UDP: the query goes out on a socket of the worker's pool (struct dr_upstream_pool), bound
 * to the outgoing address with port 0 so the kernel picks a random source port, connected
 * to the server, and reused for later queries to that same server within strict limits
 * (the rules are in upstream.c's head comment: one query at a time per socket, at most
 * max_uses queries and max_age_ms per socket, closed after a timeout, a cancel, an error
 * or a reply that matched nothing). TCP: a fresh connection, the query with its 2-byte
 * length prefix, one reply read back. A reply is accepted only when it comes from the
 * server's address and port, is a response (QR=1), and carries the query's ID and exactly
 * its question, letter case included (DNS 0x20); anything else is dropped, counted
 * (DR_UPSTREAM_MISMATCH) and the exchange keeps waiting until its timeout.
 *
 * An exchange calls its callback exactly once and is invalid afterwards (unless cancelled
 * first, in which case the callback never runs). Not thread-safe: a pool and its exchanges
 * belong to one loop.
 */
#ifndef DUET_RESOLVER_UPSTREAM_H
#define DUET_RESOLVER_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/addr.h"

struct dr_upstream;
struct dr_upstream_pool;

enum dr_upstream_status {
    DR_UPSTREAM_OK = 0,
    DR_UPSTREAM_TIMEOUT,
    DR_UPSTREAM_NETERR, /* could not send, connection refused or reset, ICMP unreachable */
};

/* What a pool reports to its owner (for counters). */
enum dr_upstream_event {
    DR_UPSTREAM_SOCKET_OPENED, /* a new UDP socket: socket, bind, connect */
    DR_UPSTREAM_SOCKET_REUSED, /* a query sent on a socket that carried one before */
    DR_UPSTREAM_MISMATCH,      /* a datagram that answered no query: dropped */
};

/* Defaults of struct dr_upstream_limits (see upstream.c for why these values). */
#define DR_UPSTREAM_MAX_USES   16
#define DR_UPSTREAM_MAX_AGE_MS 2000

struct dr_upstream_limits {
    size_t max_sockets;  /* UDP sockets + TCP connections open at once (outgoing-range) */
    unsigned max_uses;   /* queries one UDP socket carries in its life (1: no reuse) */
    uint32_t max_age_ms; /* no query starts on a UDP socket opened longer ago than this */
};

/* reply/len valid only during the call (NULL/0 unless OK). rtt_ms is the time from send to
 * reply (or to the failure). */
typedef void (*dr_upstream_cb)(void *arg, enum dr_upstream_status status, const uint8_t *reply,
                               size_t len, uint32_t rtt_ms);
typedef void (*dr_upstream_event_cb)(void *arg, enum dr_upstream_event ev);

/* A pool on loop with these limits; event (may be NULL) is called with event_arg for each
 * counted event. NULL when out of memory. */
struct dr_upstream_pool *dr_upstream_pool_new(uv_loop_t *loop,
                                              const struct dr_upstream_limits *limits,
                                              dr_upstream_event_cb event, void *event_arg);
/* Changes the limits (a reload); sockets already open keep their counts and ages and obey
 * the new limits from their next query on. */
void dr_upstream_pool_set_limits(struct dr_upstream_pool *p,
                                 const struct dr_upstream_limits *limits);
/* UDP sockets and TCP connections open now; of them, idle UDP sockets in *idle (may be
 * NULL). For tests and counters. */
size_t dr_upstream_pool_open(const struct dr_upstream_pool *p, size_t *idle);
/* Closes the idle sockets and the pool's timer; later sends fail, exchanges in flight go
 * on and close their socket when they end. The loop can then run out of handles. */
void dr_upstream_pool_close(struct dr_upstream_pool *p);
/* Frees the pool once its loop has run every close callback (after the loop ended). */
void dr_upstream_pool_free(struct dr_upstream_pool *p);

/*
 * Sends query (a complete DNS message whose ID and question the reply must echo) to server
 * over UDP (from a pooled socket) or TCP, from source's address (its port is ignored: the
 * kernel picks one), with a timeout. Returns 0 and sets *out to the exchange (so the caller
 * can cancel it), or a negative libuv error when nothing could be started (the callback is
 * not called then): UV_EAGAIN when max_sockets are open and none is idle.
 */
int dr_upstream_send(struct dr_upstream_pool *pool, const union dc_sockaddr *server,
                     const union dc_sockaddr *source, const uint8_t *query, size_t len, bool tcp,
                     uint32_t timeout_ms, dr_upstream_cb cb, void *arg, struct dr_upstream **out);

/* Stops the exchange; its callback will not be called. */
void dr_upstream_cancel(struct dr_upstream *u);

/* True when reply answers query: QR set, same ID, one question equal byte for byte (name
 * case included), type and class. Pure; exposed for tests. */
bool dr_upstream_reply_matches(const uint8_t *query, size_t qlen, const uint8_t *reply,
                               size_t rlen);

#endif
