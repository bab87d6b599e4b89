/*
 * Choosing records out of an upstream reply, the bailiwick rules of resolver/iter.c: which
 * records a server may speak for, what is a referral, which SOA belongs to a negative
 * answer. Pure functions on parsed (ldns) messages: no I/O, no state.
 */
#ifndef DUET_RESOLVER_SCRUB_H
#define DUET_RESOLVER_SCRUB_H

#include <ldns/ldns.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/addr.h"

/* The wire name inside an ldns name rdf, or NULL when empty or longer than a name can be. */
const uint8_t *dr_scrub_name(const ldns_rdf *rdf);
/* The record's owner equals name / lies at or below zone (case-insensitive). */
bool dr_scrub_owner_is(const ldns_rr *rr, const uint8_t *name);
bool dr_scrub_owner_under(const ldns_rr *rr, const uint8_t *zone);

/* Copies of the records of `from` owned by owner with the given type and class (type ANY:
 * every type). NULL when there are none. The caller frees the list (deep). */
ldns_rr_list *dr_scrub_collect(ldns_rr_list *from, const uint8_t *owner, ldns_rr_type type,
                               uint16_t rclass);
/* A copy of the SOA of a negative reply: in the authority section, owned by zone or below
 * it, and an ancestor of name. NULL when there is none. */
ldns_rr_list *dr_scrub_negative_soa(ldns_pkt *p, const uint8_t *zone, const uint8_t *name);
/* The zone a referral delegates to: an NS set in the authority section strictly below zone
 * and enclosing sent. A pointer into p, or NULL when the reply is not a referral. */
const uint8_t *dr_scrub_referral(ldns_pkt *p, const uint8_t *zone, const uint8_t *sent);

/* Appends to *into (created when NULL) copies of the RRSIGs in `from` owned by owner, of
 * class rclass, that cover type `covered`. */
void dr_scrub_sigs(ldns_rr_list *from, const uint8_t *owner, ldns_rr_type covered,
                   uint16_t rclass, ldns_rr_list **into);
/* Appends to *into (created when NULL) what proves a negative answer from the authority
 * section: the RRSIGs of the SOA there, and the NSEC and NSEC3 records owned at or below
 * zone with their RRSIGs (RFC 4035 §3.1.3). */
void dr_scrub_denial(ldns_pkt *p, const uint8_t *zone, ldns_rr_list **into);

/* The server address an A or AAAA record gives (port 53). False for any other record or a
 * malformed address. */
bool dr_scrub_address(const ldns_rr *rr, union dc_sockaddr *out);

#endif
