/*
 * What duet-resolver writes to the flow trace (common/trace.h has the schema): a client's
 * question and the cache's verdict, each upstream query and reply with the zone it went
 * to, the end of a resolution, and the answer the client got. Each call is made only under
 * DC_TRACE_ON() at its site; the filters (client, name) are applied here.
 */
#ifndef DUET_RESOLVER_TRACE_H
#define DUET_RESOLVER_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "resolver/iter.h"
#include "resolver/msg.h"

struct dr_worker;

/* A client's question (q parsed) and what the query path did with it: n > 0 a reply written
 * to reply (a cache hit or local answer, sent now), 0 a resolution starts. */
void dr_trace_query(const struct dr_worker *wk, const union dc_sockaddr *peer, bool tcp,
                    const struct dr_msg_query *q, int n, const uint8_t *reply);
/* The answer a resolved client got (reply as sent), t0_us: when its question came
 * (dr_trace_now_us). */
void dr_trace_answer(const struct dr_worker *wk, const union dc_sockaddr *peer,
                     const struct dr_msg_query *q, const uint8_t *reply, size_t len, uint64_t t0_us,
                     bool stale, unsigned sec);
/* An upstream query of the iterator it (to act->server). */
void dr_trace_send(const struct dr_worker *wk, const struct dr_iter *it,
                   const struct dr_iter_action *act);
/* Its outcome. */
void dr_trace_reply(const struct dr_worker *wk, const struct dr_iter *it, int outcome,
                    const uint8_t *reply, size_t len, uint32_t rtt_ms);

/* Whether the filters let this client's question through (its resolution is then traced,
 * upstream queries included). */
bool dr_trace_wanted(const union dc_sockaddr *peer, const struct dr_msg_query *q);

/* Monotonic microseconds, for the answer's ms. */
uint64_t dr_trace_now_us(void);

#endif
