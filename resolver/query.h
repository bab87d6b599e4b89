/*
 * One client query, from its bytes to a reply: the decisions of the client side, apart
 * from the sockets (resolver/listen.c) and the resolving (resolver/mesh.c).
 *
 * In order: parse (FORMERR / NOTIMP / BADVERS / drop), access control (REFUSED), local
 * zones, the answer cache (the hot path: a stored reply copied and patched, no
 * allocation), and otherwise the shared cache (resolver/redis.h) when there is one, then a
 * resolution: the caller waits for either through a struct dr_client.
 */
#ifndef DUET_RESOLVER_QUERY_H
#define DUET_RESOLVER_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "resolver/mesh.h"
#include "resolver/msg.h"

struct dr_worker;
struct dr_client;

/* Sends a finished reply to the client and frees c (the transport's callback). */
typedef void (*dr_client_send_cb)(struct dr_client *c, const uint8_t *reply, size_t len);

/* A client waiting for a resolution; the transport embeds it in its own per-query object. */
struct dr_client {
    struct dr_waiter waiter;
    struct dr_worker *wk;
    struct dr_msg_query q;
    size_t limit;            /* largest reply the client takes: its UDP size, or 65535 */
    dr_client_send_cb send;
};

/*
 * Handles the query in pkt from peer. Returns the length of a reply written into out (send
 * it), 0 when the question must be resolved (q is filled: the caller makes a dr_client from
 * it and calls dr_query_resolve), or -1 to send nothing.
 */
int dr_query_process(struct dr_worker *wk, const uint8_t *pkt, size_t len,
                     const union dc_sockaddr *peer, bool tcp, struct dr_msg_query *q,
                     uint8_t *out, size_t cap);

/* Starts (or joins) the resolution for c->q; c->send runs when it ends, also on failure.
 * With a shared cache (redis, resolver/redis.h) up, the question is first asked of it and
 * c waits for that at most redis-timeout; a usable value answers c without resolving.
 * Returns 0, or -1 after answering SERVFAIL through c->send right away. */
int dr_query_resolve(struct dr_client *c);

/* Turns a finished reply (ID 0, lower-case question) into the client's: ID, RD and CD, the
 * client's question case, AD for validated data (w->sec: the answer's validation status)
 * when the client set AD or DO, then OPT and truncation per dr_msg_fit, and the Extended
 * DNS Error that status and its reason (w->why) carry, or 3/19 for a stale answer
 * (w->stale). Returns the length. */
int dr_query_patch(struct dr_worker *wk, const struct dr_msg_query *q, size_t limit,
                   const uint8_t *reply, size_t len, const struct dr_waiter *w, uint8_t *out,
                   size_t cap);

#endif
