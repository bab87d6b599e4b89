/*
 * resolver/autotrust.h — RFC 5011 automated updates of a managed trust point.
 *
 * Pure: dr_autotrust_update() takes the trust point's state, a DNSKEY RRset the caller has
 * validated (signed by a key the trust point trusts now, see dr_anchor_trusted()) and the time
 * it was seen; it moves each key through the RFC 5011 states (section 4) and reports what
 * changed. The caller owns the clock, the queries (the zone's next_probe says when) and
 * writing the file back (dr_anchorfile_write(), atomic).
 *
 * Not here: the set of trust anchors and its types (anchor.h), reading and writing the
 * auto-trust-anchor-file (anchorfile.h), signature checks (the validator's). A managed trust
 * point is updated by one owner (the main thread) which then publishes a new trusted set.
 */
#ifndef DUET_RESOLVER_AUTOTRUST_H
#define DUET_RESOLVER_AUTOTRUST_H

#include <stdint.h>
#include <time.h>

#include <ldns/ldns.h>

#include "resolver/anchor.h"

/* What dr_autotrust_update() did, for logs and for deciding to write the file back. */
struct dr_autotrust_changes {
    unsigned added;   /* Start -> AddPend */
    unsigned valid;   /* AddPend -> Valid, Missing -> Valid, DS -> its DNSKEY */
    unsigned missing; /* Valid -> Missing */
    unsigned revoked; /* -> Revoked */
    unsigned removed; /* Revoked -> Removed, AddPend -> Start */
    unsigned ignored; /* revoked keys without a valid self-signature (no effect) */
};

/*
 * RFC 5011 section 4 for a managed trust point: dnskeys is the trust point's DNSKEY RRset
 * that the caller validated at time now (signed by a key dr_anchor_trusted() returned),
 * rrsigs the RRSIGs that came with it (needed to see which revoked keys signed it), orig_ttl
 * the RRset's original TTL (the add hold-down is at least that long). Updates z's key
 * states, last_queried/last_success/query_failed and next_probe; fills *changes when given.
 * Returns 0, -EINVAL (dnskeys empty or not at z's owner; z unchanged) or -ENOMEM (every key
 * is still in a consistent state, but the update may be partial: call again).
 */
int dr_autotrust_update(struct dr_anchor_zone *z, const ldns_rr_list *dnskeys,
                        const ldns_rr_list *rrsigs, uint32_t orig_ttl, time_t now,
                        const struct dr_anchor_timing *t, struct dr_autotrust_changes *changes);

/* A probe at now failed (timeout, bogus): counts it and schedules the retry. */
void dr_autotrust_probe_failed(struct dr_anchor_zone *z, time_t now,
                               const struct dr_anchor_timing *t);

/*
 * RFC 5011 2.3: the query interval for an RRset of original TTL orig_ttl whose signatures
 * expire sig_expire seconds from now: MAX(min, MIN(max, ttl/2, expire/2)); the retry time
 * MAX(min, MIN(max_retry, ttl/10, expire/10)).
 */
uint32_t dr_autotrust_query_interval(uint32_t orig_ttl, uint32_t sig_expire,
                                     const struct dr_anchor_timing *t);
uint32_t dr_autotrust_retry_time(uint32_t orig_ttl, uint32_t sig_expire,
                                 const struct dr_anchor_timing *t);

#endif
