/*
 * Aggressive use of the DNSSEC-validated cache (RFC 8198, Unbound's aggressive-nsec): the
 * NSEC records of validated negative answers are kept per zone, in canonical order, with
 * the zone's SOA, so that a question for a name they already prove absent (NXDOMAIN) or
 * without the type asked (NODATA, wildcard NODATA) is answered without asking anyone. A
 * random-subdomain flood against a signed zone then costs its servers nothing after the
 * first few answers.
 *
 * Only what the validator proved SECURE is stored (resolver/mesh.c), and what this module
 * returns goes through the validator again before anyone gets it: the proof is rebuilt
 * from the stored records by the same resolver/nsec.h functions and re-verified with the
 * zone's cached keys, so a damaged table can cost a lookup, never an answer. NSEC3 is not
 * used this way (hashed names: as in Unbound).
 *
 * Storage: one entry per zone in a dc_lru table of its own (so cache-file dumps never see
 * it), at most DR_AGGR_MAX_NSEC records per zone (the ones expiring first go), each kept no
 * longer than min(its TTL, the SOA's TTL and MINIMUM) (RFC 9077).
 */
#ifndef DUET_RESOLVER_AGGRESSIVE_H
#define DUET_RESOLVER_AGGRESSIVE_H

#include <ldns/ldns.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/lru.h"

#define DR_AGGR_MAX_NSEC  64    /* NSEC records kept per zone */
#define DR_AGGR_MAX_VALUE 32768 /* bytes of one zone's entry */

/*
 * Stores the SOA and NSEC records (each with its RRSIGs) of authority, a validated negative
 * answer from zone (lower case), received at now. Returns 0, 1 when there was nothing to
 * keep, or a negative errno.
 */
int dr_aggr_store(struct dc_lru *t, const uint8_t *zone, const ldns_rr_list *authority,
                  int64_t now);

/*
 * Whether the stored records prove (qname, qtype) does not exist (NXDOMAIN) or has no data
 * of qtype (NODATA). On 1: *rcode is DR_RCODE_NXDOMAIN or DR_RCODE_NOERROR and *authority a
 * new list (the caller frees it deep) with the zone's SOA, the proving NSEC records and
 * their RRSIGs, TTLs counted down to now. 0: no proof.
 */
int dr_aggr_prove(struct dc_lru *t, const uint8_t *qname, uint16_t qtype, int64_t now, int *rcode,
                  ldns_rr_list **authority);

/*
 * duet-control flush: forgets the zones whose records could prove something about name (the
 * zones at or above it) and, with subtree, every zone below it as well; name NULL forgets all.
 * Returns how many zones' sets went.
 */
size_t dr_aggr_flush(struct dc_lru *t, const uint8_t *name, bool subtree);

#endif
