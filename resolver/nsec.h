/*
 * Denial of existence with NSEC records (RFC 4035 §5.4, RFC 4592, RFC 6840 §4): given the
 * NSEC records of a reply, already verified (resolver/rrsig.h) as signed by the zone, does
 * it prove that a name does not exist, that it has no data of a type, that a wildcard
 * answer was the right one, or that a delegation is unsigned? Each proof is true (proven)
 * or false (not proven: the caller treats the answer as bogus, EDE 12 NSEC Missing).
 *
 * Pure: no I/O, no clock, no allocation. Names are uncompressed wire names
 * (resolver/dname.h); comparisons use the canonical order (RFC 4034 §6.1). What is NOT
 * here: signature checks, NSEC3 (resolver/nsec3.h).
 *
 * Rules kept: an NSEC at a delegation (NS without SOA) or a DNAME speaks only for its own
 * owner, never for names below it (RFC 6840 §4.1); an NSEC whose next name lies below the
 * name proves an empty non-terminal, not a non-existent name; a parent-side NSEC (NS
 * without SOA) denies only DS, a child-apex one (SOA) never DS.
 */
#ifndef DUET_RESOLVER_NSEC_H
#define DUET_RESOLVER_NSEC_H

#include <ldns/ldns.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resolver/dname.h"

/* Whether the type bitmap (RFC 4034 §4.1.2, the same in NSEC3) at bm[0..len) holds type.
 * A malformed bitmap holds nothing. */
bool dr_nsec_bitmap_has(const uint8_t *bm, size_t len, uint16_t type);

/* Whether an NSEC (or NSEC3: its last field is the same bitmap) record lists type. */
bool dr_nsec_has_type(const ldns_rr *rr, uint16_t type);

/* Whether the NSEC rr covers name: owner < name < next in canonical order (the last NSEC,
 * whose next is the apex, covers every name after its owner below the apex). Only the
 * order: the delegation and empty-non-terminal rules are in the proofs below. */
bool dr_nsec_covers(const ldns_rr *rr, const uint8_t *name);

/*
 * NXDOMAIN: an NSEC covers qname (and proves it is not an empty non-terminal) and an NSEC
 * covers the wildcard *.CE at its closest encloser CE. When ce is not NULL it gets CE.
 */
bool dr_nsec_nxdomain(const ldns_rr_list *nsecs, const uint8_t *qname, uint8_t *ce);

/*
 * NODATA: an NSEC owned by qname without qtype and without CNAME (for qtype DS: also
 * without SOA; for other types: not a delegation), or qname proven an empty non-terminal
 * (an NSEC covering it whose next name lies below it).
 */
bool dr_nsec_nodata(const ldns_rr_list *nsecs, const uint8_t *qname, uint16_t qtype);

/*
 * A positive answer expanded from the wildcard *.encloser (dr_rrsig_result.wildcard): an
 * NSEC proves that qname, and every name between it and encloser, does not exist.
 */
bool dr_nsec_wildcard_answer(const ldns_rr_list *nsecs, const uint8_t *qname,
                             const uint8_t *encloser);

/* Wildcard NODATA (RFC 4035 §3.1.3.4): qname does not exist, and the wildcard at its
 * closest encloser exists without qtype and without CNAME. */
bool dr_nsec_wildcard_nodata(const ldns_rr_list *nsecs, const uint8_t *qname, uint16_t qtype);

/* An unsigned delegation: the NSEC at cut lists NS but neither DS nor SOA (RFC 4035
 * §5.2). */
bool dr_nsec_insecure_delegation(const ldns_rr_list *nsecs, const uint8_t *cut);

#endif
