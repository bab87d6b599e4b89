/*
 * What the resolver knows about each upstream server it has talked to: a smoothed RTT
 * (Jacobson/Karels, as Unbound's rtt_info), consecutive timeouts, whether it answers EDNS,
 * and until when it is considered dead. Used to pick the fastest live server of a zone and
 * to back off from dead or lame ones. Per worker: no locks; each worker learns on its own.
 */
#ifndef DUET_RESOLVER_INFRA_H
#define DUET_RESOLVER_INFRA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

#define DR_INFRA_UNKNOWN_RTT 376 /* ms assumed for a server never measured (Unbound's) */
#define DR_INFRA_MAX_ENTRIES 8192

struct dr_infra_entry;

struct dr_infra {
    struct dr_infra_entry **buckets;
    size_t nbuckets, count;
};

struct dr_infra_info {
    uint32_t srtt_ms;   /* smoothed RTT, DR_INFRA_UNKNOWN_RTT when never measured */
    uint32_t rto_ms;    /* timeout to use for the next query: srtt + 4 * rttvar, bounded */
    bool no_edns;       /* answered FORMERR/NOTIMP to EDNS: query it without */
    bool dead;          /* timed out repeatedly; only probed when nothing better is left */
    uint32_t timeouts;  /* consecutive */
};

int dr_infra_init(struct dr_infra *in);
void dr_infra_deinit(struct dr_infra *in);

/* Current knowledge of addr at monotonic time now_ms (defaults when unknown). */
void dr_infra_get(struct dr_infra *in, const union dc_sockaddr *addr, uint64_t now_ms,
                  uint32_t max_timeout_ms, struct dr_infra_info *out);
/* A reply arrived after rtt_ms. */
void dr_infra_rtt(struct dr_infra *in, const union dc_sockaddr *addr, uint32_t rtt_ms);
/* A query timed out (or the server was unreachable). Doubles the timeout; after 3 in a row
 * the server is dead for a while (probed again after 60 s... doubling up to 15 min). */
void dr_infra_timeout(struct dr_infra *in, const union dc_sockaddr *addr, uint64_t now_ms);
/* The server rejected EDNS. */
void dr_infra_set_no_edns(struct dr_infra *in, const union dc_sockaddr *addr);

#endif
