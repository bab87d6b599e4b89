/*
 * DNSKEY records and the DS records that point at them: key tags (RFC 4034 Appendix B), the
 * flag checks (zone key, SEP, RFC 5011 revoke), a DS-to-DNSKEY match (digest over owner and
 * RDATA, RFC 4034 §5.1.4), which DNSKEYs a parent's DS set makes trusted (the secure entry
 * points), and the whole step "is this zone's DNSKEY RRset secure, given its DS set".
 *
 * Pure: records in, verdicts out; no I/O, no clock (time is a parameter), no cache. Records
 * are ldns_rr as resolver/classify.c keeps them; this file does not check that the DS set
 * itself is secure (that is the parent zone's RRSIG, resolver/rrsig.h) nor finds DS records.
 */
#ifndef DUET_RESOLVER_DNSKEY_H
#define DUET_RESOLVER_DNSKEY_H

#include <ldns/ldns.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resolver/dnssec.h"

#define DR_DNSKEY_ZONE   0x0100 /* Zone Key: only such keys verify RRSIGs (RFC 4034 §2.1.1) */
#define DR_DNSKEY_REVOKE 0x0080 /* revoked (RFC 5011 §3): used for nothing any more */
#define DR_DNSKEY_SEP    0x0001 /* Secure Entry Point: a hint only, never required */

/* A DNSKEY's fields; key points into the record. */
struct dr_dnskey {
    uint16_t flags;
    uint8_t protocol; /* always 3 */
    uint8_t alg;
    const uint8_t *key;
    size_t keylen;
};

/* Reads rr's fields into out. 0, or -EINVAL when rr is not a well-formed DNSKEY. */
int dr_dnskey_parse(const ldns_rr *rr, struct dr_dnskey *out);

/* The key tag of a DNSKEY record (RFC 4034 Appendix B; the revoke bit is part of it, so a
 * revoked key has a new tag). -EINVAL for anything but a well-formed DNSKEY. */
int dr_dnskey_tag(const ldns_rr *rr);

/* Whether rr may verify signatures: a well-formed DNSKEY, protocol 3, zone-key bit set,
 * revoke bit clear. The algorithm is not judged here (dr_dnssec_alg_supported). */
bool dr_dnskey_usable(const ldns_rr *rr);

/*
 * Whether DS record ds points at DNSKEY record key: same owner, key tag and algorithm, and
 * the digest (of type ds's) over the owner (canonical) and key's RDATA equals ds's. Returns
 * 1 for a match, 0 for none, -ENOTSUP when ds's digest type or algorithm is one duet cannot
 * check, -EINVAL for malformed records.
 */
int dr_dnskey_match_ds(const ldns_rr *key, const ldns_rr *ds);

/*
 * The secure entry points: the usable DNSKEYs of dnskeys that a DS of ds (already verified
 * in the parent) with a supported algorithm and digest matches. SECURE: *sep is a new list
 * of pointers into dnskeys (free it with ldns_rr_list_free, which leaves the records).
 * INSECURE: ds has no record duet can check (why UNSUPPORTED_DIGEST, or UNSUPPORTED_ALG when
 * some digest was supported): the zone is to be treated as unsigned (RFC 6840 §5.2).
 * BOGUS (why NO_DS_MATCH): some DS is checkable but no usable DNSKEY matches it, or ds is
 * empty. *sep is NULL unless SECURE; -ENOMEM is reported as BOGUS/MALFORMED.
 */
enum dr_sec dr_dnskey_sep(const ldns_rr_list *dnskeys, const ldns_rr_list *ds, ldns_rr_list **sep,
                          enum dr_why *why);

/*
 * The whole DNSKEY step of validation: dnskeys (the zone's DNSKEY RRset, owned by the zone)
 * is secure when an RRSIG of rrsigs over it verifies at time now (±skew seconds) with one of
 * the secure entry points that ds selects (dr_dnskey_sep). SECURE: every key of dnskeys is
 * then trusted for the zone's other RRsets (resolver/rrsig.h). INSECURE and BOGUS as for
 * dr_dnskey_sep; BOGUS also with the RRSIG's reason (resolver/rrsig.h).
 */
enum dr_sec dr_dnskey_verify_set(const ldns_rr_list *dnskeys, const ldns_rr_list *rrsigs,
                                 const ldns_rr_list *ds, int64_t now, uint32_t skew,
                                 enum dr_why *why);

#endif
