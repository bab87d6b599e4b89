/*
 * RRSIG verification (RFC 4034 §3, RFC 4035 §5.3): whether one RRset is signed by a trusted
 * DNSKEY of its zone at a given time. It checks the RRSIG's fields (type covered, owner,
 * class, signer is the keys' zone and an ancestor of the owner, labels, validity window with
 * a clock-skew allowance), finds the keys by tag and algorithm, builds the canonical signed
 * data (lower-cased names, original TTL, wildcard owner, RDATA order, duplicates removed)
 * and verifies the signature (resolver/dnssec.h). It also tells whether the RRset is a
 * wildcard expansion, so that the caller demands the matching denial proof
 * (resolver/nsec.h, resolver/nsec3.h), and the TTL the RRset may be kept for.
 *
 * Pure: no I/O, no clock (now is a parameter), no cache. What is NOT here: where the keys
 * come from and whether they are trusted (resolver/dnskey.h), denial of existence.
 *
 * KeyTrap (CVE-2023-50387): at most DR_RRSIG_MAX_VERIFY signature verifications per call,
 * whatever the number of RRSIGs and colliding key tags.
 */
#ifndef DUET_RESOLVER_RRSIG_H
#define DUET_RESOLVER_RRSIG_H

#include <ldns/ldns.h>
#include <stdbool.h>
#include <stdint.h>

#include "resolver/dname.h"
#include "resolver/dnssec.h"

#define DR_RRSIG_MAX_VERIFY 8   /* crypto operations per RRset (Unbound: 8 per query) */
#define DR_RRSIG_SKEW       300 /* a sensible skew allowance, seconds */

/* An RRSIG's fields; signer and signature point into the record. */
struct dr_rrsig {
    uint16_t type_covered;
    uint8_t alg, labels;
    uint32_t orig_ttl, expiration, inception;
    uint16_t key_tag;
    const uint8_t *signer;
    const uint8_t *sig;
    size_t siglen;
};

struct dr_rrsig_result {
    enum dr_sec sec;
    enum dr_why why;
    /* SECURE only: */
    uint32_t ttl;                  /* min of the RRs' and RRSIG's TTLs, the original TTL
                                      and the seconds left until expiration (§5.3.3) */
    uint16_t key_tag;              /* of the key that verified */
    bool wildcard;                 /* the RRset was expanded from the wildcard *.encloser */
    uint8_t encloser[DR_NAME_MAX]; /* wildcard: the closest encloser (as in the owner) */
};

/* Reads rr's fields into out. 0, or -EINVAL when rr is not a well-formed RRSIG. */
int dr_rrsig_parse(const ldns_rr *rr, struct dr_rrsig *out);

/*
 * Whether a signature with `labels` over owner means a wildcard expansion (RFC 4035 §5.3.2):
 * 1 when owner has more labels than `labels` (not counting a leading "*"): encloser gets the
 * rightmost `labels` labels of owner, the X of the wildcard *.X. 0 when not an expansion,
 * -EBADMSG when labels exceeds the owner's label count.
 */
int dr_rrsig_wildcard(const uint8_t *owner, uint8_t labels, uint8_t encloser[DR_NAME_MAX]);

/*
 * Verifies rrset (the records of one owner, class and type; any order, any case) against
 * the RRSIGs of rrsigs that cover it (others in the list are ignored), with keys (the
 * trusted DNSKEY RRset of zone, or a subset of it) at time now (Unix seconds), allowing
 * skew seconds of clock difference at both ends of the validity window. One good signature
 * is enough (RFC 6840 §5.11).
 *
 * SECURE: out->ttl, key_tag and the wildcard fields are set. BOGUS: out->why says why, from
 * the RRSIG that came closest (BAD_SIG over a time problem over NO_KEY over SIGNER or
 * MALFORMED); NO_RRSIG when none covers rrset; MALFORMED when rrset is not one RRset.
 * INSECURE (why UNSUPPORTED_ALG): only when keys hold no usable key of an algorithm duet
 * supports (a trust anchor of an unknown algorithm, RFC 4035 §5). RRSIGs of unsupported
 * algorithms under keys that do have a supported one are ignored and leave the RRset BOGUS:
 * stripping the good signature must not downgrade a signed zone.
 */
enum dr_sec dr_rrsig_verify(const ldns_rr_list *rrset, const ldns_rr_list *rrsigs,
                            const ldns_rr_list *keys, const uint8_t *zone, int64_t now,
                            uint32_t skew, struct dr_rrsig_result *out);

#endif
