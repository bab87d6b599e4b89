/*
 * The key cache: DNSKEY sets the validator has trusted, per zone, so that a validation
 * starts at the deepest zone whose keys are known instead of walking the chain of trust
 * down from the anchor again (Unbound's key cache). Without it every validating miss asked
 * the mesh for the anchor's keys and each DS and DNSKEY set on the way down: five cache
 * fetches, each answered with a whole reply and parsed, for a name two labels below the root.
 *
 * An entry holds the zone's DNSKEY RRset as the validator accepted it, and the configuration
 * serial (dr_conf.serial) under whose trust anchors it was accepted: after a reload the keys
 * are walked to again. It lives no longer than the set's TTL and the earliest expiration of
 * the RRSIGs over it, and never past DR_KEYCACHE_MAX_TTL. Only SECURE key sets go in; an
 * insecure or bogus zone is not remembered here (the answer cache keeps those verdicts).
 *
 * Storage: a dc_lru table of its own, shared by the workers, keyed by the zone's lower-case
 * wire name; values are the records in wire form (parsed again on a hit: a table entry can
 * be evicted while a validation still uses its keys, so the validator owns a copy).
 * A set of more than DR_KEYCACHE_MAX_KEYS records or DR_KEYCACHE_MAX_VALUE bytes is not
 * kept (the walk still works; it is only not shortened).
 *
 * Pure memory operations: no I/O, the clock is a parameter.
 */
#ifndef DUET_RESOLVER_KEYCACHE_H
#define DUET_RESOLVER_KEYCACHE_H

#include <ldns/ldns.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/lru.h"
#include "resolver/dname.h"

#define DR_KEYCACHE_MAX_KEYS  16
#define DR_KEYCACHE_MAX_VALUE 8192
#define DR_KEYCACHE_MAX_TTL   86400

/*
 * Keeps keys, the trusted DNSKEY RRset of zone (lower case), accepted under the trust anchors
 * of configuration serial `trust` at time now; sigs: the RRSIGs that came with it (others in
 * the list are ignored). Returns 0, 1 when not kept (too large, no RRSIG over the set, already
 * expired), or a negative errno.
 */
int dr_keycache_put(struct dc_lru *t, uint64_t trust, const uint8_t *zone, const ldns_rr_list *keys,
                    const ldns_rr_list *sigs, int64_t now);

/*
 * The keys of the deepest zone Z with target at or below Z and Z at or below anchor (all
 * lower case) that the table holds for `trust` at time now: a new list the caller frees
 * (deep), and Z in zone. NULL when there is none (or on ENOMEM).
 */
ldns_rr_list *dr_keycache_find(struct dc_lru *t, uint64_t trust, const uint8_t *target,
                               const uint8_t *anchor, int64_t now, uint8_t zone[DR_NAME_MAX]);

/* duet-control flush: forgets the keys of name (with subtree, of every zone at or below it);
 * name NULL forgets all. Returns how many zones' keys went. */
size_t dr_keycache_flush(struct dc_lru *t, const uint8_t *name, bool subtree);

#endif
