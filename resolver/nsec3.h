/*
 * Denial of existence with NSEC3 records (RFC 5155 §8, RFC 9276): the hashed owner names
 * (SHA-1, salt, iterations), the closest encloser proof, and the NXDOMAIN, NODATA, DS
 * NODATA, wildcard and opt-out delegation proofs built on it. The records must already be
 * verified (resolver/rrsig.h) as signed by zone.
 *
 * Each proof answers SECURE (proven), INSECURE (cannot be authenticated, and the answer is
 * to be treated as unsigned: an opt-out span that may hide an unsigned delegation, an
 * iteration count above the limit, only unknown hash algorithms) or BOGUS (not proven:
 * why NO_NSEC, EDE 12). Only NSEC3 records of zone with hash algorithm 1 and flags 0 or 1
 * are used (RFC 5155 §8.2), all with the parameters of the first such record.
 *
 * Iterations: above max_iter (DR_NSEC3_MAX_ITERATIONS unless configured) the proof is not
 * computed and the answer is INSECURE with why NSEC3_ITERATIONS (EDE 27), as RFC 9276 §3.2
 * allows; the records' signatures must still have verified. The default is 50 as BIND 9.18
 * uses (Unbound: 150): RFC 9276 asks signers for 0, the few zones above 50 lose validation
 * but keep resolving, and each proof costs up to DR_NSEC3_MAX_HASHES * (iterations + 1)
 * SHA-1 runs, which an attacker chooses (CVE-2023-50868).
 *
 * Pure: no I/O, no clock, no allocation; SHA-1 through OpenSSL.
 */
#ifndef DUET_RESOLVER_NSEC3_H
#define DUET_RESOLVER_NSEC3_H

#include <ldns/ldns.h>
#include <stdbool.h>
#include <stdint.h>

#include "resolver/dname.h"
#include "resolver/dnssec.h"

#define DR_NSEC3_MAX_ITERATIONS 50
#define DR_NSEC3_MAX_HASHES     32 /* names hashed per proof; deeper names are not proven */
#define DR_NSEC3_HASH_LEN       20 /* SHA-1 */

/* The hash of name (any case) with the NSEC3 parameters (RFC 5155 §5): out gets 20 bytes.
 * Returns 20, or -ENOTSUP for a hash algorithm other than 1 (SHA-1). */
int dr_nsec3_hash(const uint8_t *name, uint8_t alg, uint16_t iterations, const uint8_t *salt,
                  size_t saltlen, uint8_t out[DR_NSEC3_HASH_LEN]);

/* Decodes base32hex (RFC 4648 §7, no padding, any case) text[0..len) into out (size bytes).
 * Returns the bytes written or -EINVAL. */
int dr_nsec3_b32_decode(const uint8_t *text, size_t len, uint8_t *out, size_t size);

/* A closest encloser proof (RFC 5155 §8.3) for a name. */
struct dr_nsec3_ce {
    uint8_t ce[DR_NAME_MAX]; /* the closest encloser */
    const uint8_t *next;     /* the next closer name (a pointer into the name) */
    bool optout;             /* the NSEC3 covering next has the opt-out flag */
};

/* The closest encloser proof for qname: SECURE with *out filled, or BOGUS/INSECURE (also
 * BOGUS when qname itself has a matching NSEC3: it exists; INSECURE with why UNSIGNED_CUT
 * when the encloser is a delegation without DS: qname lies in an unsigned zone). Every
 * proof below that uses it returns that INSECURE too. */
enum dr_sec dr_nsec3_closest_encloser(const ldns_rr_list *nsec3s, const uint8_t *zone,
                                      const uint8_t *qname, uint16_t max_iter,
                                      struct dr_nsec3_ce *out, enum dr_why *why);

/* NXDOMAIN (§8.4): closest encloser proof plus the wildcard at it covered. INSECURE
 * (OPTOUT) when the next closer name's span is opt-out. */
enum dr_sec dr_nsec3_nxdomain(const ldns_rr_list *nsec3s, const uint8_t *zone, const uint8_t *qname,
                              uint16_t max_iter, enum dr_why *why);

/* NODATA (§8.5, §8.6): the NSEC3 matching qname lists neither qtype nor CNAME (not a
 * delegation unless qtype is DS). For qtype DS without a match: INSECURE (OPTOUT) when the
 * closest encloser proof's next closer span is opt-out. */
enum dr_sec dr_nsec3_nodata(const ldns_rr_list *nsec3s, const uint8_t *zone, const uint8_t *qname,
                            uint16_t qtype, uint16_t max_iter, enum dr_why *why);

/* Wildcard NODATA (§8.7): closest encloser proof, and the NSEC3 matching *.CE lists
 * neither qtype nor CNAME. */
enum dr_sec dr_nsec3_wildcard_nodata(const ldns_rr_list *nsec3s, const uint8_t *zone,
                                     const uint8_t *qname, uint16_t qtype, uint16_t max_iter,
                                     enum dr_why *why);

/* A wildcard answer expanded from *.encloser (§8.8): the next closer name of qname below
 * encloser is covered; INSECURE (OPTOUT) when the covering NSEC3 has the opt-out flag. */
enum dr_sec dr_nsec3_wildcard_answer(const ldns_rr_list *nsec3s, const uint8_t *zone,
                                     const uint8_t *qname, const uint8_t *encloser,
                                     uint16_t max_iter, enum dr_why *why);

/* A referral to cut without DS: SECURE when the NSEC3 matching cut lists NS but neither DS
 * nor SOA; INSECURE (OPTOUT) when no NSEC3 matches and the next closer span of a closest
 * encloser proof for cut is opt-out (RFC 5155 §8.9). Either way the child is unsigned; the
 * difference is whether DS's absence is authenticated. BOGUS otherwise. */
enum dr_sec dr_nsec3_insecure_delegation(const ldns_rr_list *nsec3s, const uint8_t *zone,
                                         const uint8_t *cut, uint16_t max_iter, enum dr_why *why);

#endif
