/*
 * One query to one upstream server and its reply: the resolver's outgoing transport.
 *
 * UDP: a fresh socket per query, bound to the outgoing address with port 0 so the kernel
 * picks a random source port, connected to the server. TCP: a fresh connection, the query
 * with its 2-byte length prefix, one reply read back. A reply is accepted only when it
 * comes from the server's address and port, is a response (QR=1), and carries the query's
 * ID and exactly its question, letter case included (DNS 0x20); anything else is ignored
 * and the exchange keeps waiting until its timeout.
 *
 * The exchange owns its handles and frees itself after calling the callback exactly once
 * (unless cancelled first, in which case the callback never runs).
 */
#ifndef DUET_RESOLVER_UPSTREAM_H
#define DUET_RESOLVER_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/addr.h"

struct dr_upstream;

enum dr_upstream_status {
    DR_UPSTREAM_OK = 0,
    DR_UPSTREAM_TIMEOUT,
    DR_UPSTREAM_NETERR, /* could not send, connection refused or reset, ICMP unreachable */
};

/* reply/len valid only during the call (NULL/0 unless OK). rtt_ms is the time from send to
 * reply (or to the failure). */
typedef void (*dr_upstream_cb)(void *arg, enum dr_upstream_status status, const uint8_t *reply,
                               size_t len, uint32_t rtt_ms);

/*
 * Sends query (a complete DNS message whose ID and question the reply must echo) to server
 * over UDP or TCP from source (port 0: random), with a timeout. Returns 0 and sets *out to
 * the exchange (so the caller can cancel it), or a negative libuv error when nothing could
 * be started (the callback is not called then).
 */
int dr_upstream_send(uv_loop_t *loop, const union dc_sockaddr *server,
                     const union dc_sockaddr *source, const uint8_t *query, size_t len, bool tcp,
                     uint32_t timeout_ms, dr_upstream_cb cb, void *arg, struct dr_upstream **out);

/* Stops the exchange; its callback will not be called. */
void dr_upstream_cancel(struct dr_upstream *u);

/* True when reply answers query: QR set, same ID, one question equal byte for byte (name
 * case included), type and class. Pure; exposed for tests. */
bool dr_upstream_reply_matches(const uint8_t *query, size_t qlen, const uint8_t *reply,
                               size_t rlen);

#endif
