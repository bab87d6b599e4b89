/*
 * DNSSEC's shared vocabulary and cryptography: the verdicts of validation (secure, insecure,
 * bogus) with the reason for each, their Extended DNS Error codes (RFC 8914), which signing
 * algorithms and DS digest types duet can check, and the primitives that check them (one
 * signature over a byte string with one DNSKEY's public key; a DS digest) on OpenSSL.
 *
 * Pure: no I/O, no clock, no cache. What is NOT here: key tags and DS matching
 * (resolver/dnskey.h), RRset signatures (resolver/rrsig.h), denial of existence
 * (resolver/nsec.h, resolver/nsec3.h).
 *
 * Supported: algorithms 8 RSASHA256, 10 RSASHA512, 13 ECDSAP256SHA256, 14 ECDSAP384SHA384,
 * 15 ED25519, 16 ED448; DS digests 2 SHA-256 and 4 SHA-384. Everything else, including the
 * SHA-1 based algorithms 5 and 7 and DS digest 1, is "unsupported": a zone whose DS set has
 * nothing supported is insecure, not bogus (RFC 4035 §5.2, RFC 6840 §5.2).
 */
#ifndef DUET_RESOLVER_DNSSEC_H
#define DUET_RESOLVER_DNSSEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The verdict on an RRset, a key set or a denial proof. */
enum dr_sec {
    DR_SEC_SECURE,   /* proven by a chain of signatures (or the proof holds) */
    DR_SEC_INSECURE, /* provably unsigned, or signed only with what duet cannot check */
    DR_SEC_BOGUS,    /* should have been provable but is not: SERVFAIL */
};

/* Why: one value per cause, for logs and EDE; DR_WHY_NONE with DR_SEC_SECURE. */
enum dr_why {
    DR_WHY_NONE,
    DR_WHY_SIG_EXPIRED,        /* every usable RRSIG's expiration is past (beyond the skew) */
    DR_WHY_SIG_NOT_YET,        /* every usable RRSIG's inception is ahead (beyond the skew) */
    DR_WHY_NO_KEY,             /* no trusted DNSKEY matches the RRSIG (tag, algorithm, flags) */
    DR_WHY_BAD_SIG,            /* the signature does not verify */
    DR_WHY_SIGNER,             /* signer is not the key's zone or not an ancestor of the owner */
    DR_WHY_NO_RRSIG,           /* no RRSIG covers the RRset */
    DR_WHY_NO_DS_MATCH,        /* supported DS records, but no DNSKEY matches one */
    DR_WHY_NO_NSEC,            /* the denial of existence is not proven */
    DR_WHY_MALFORMED,          /* a record that cannot be what it claims (rdata, labels) */
    DR_WHY_UNSUPPORTED_ALG,    /* INSECURE: only algorithms duet cannot check */
    DR_WHY_UNSUPPORTED_DIGEST, /* INSECURE: only DS digest types duet cannot check */
    DR_WHY_NSEC3_ITERATIONS,   /* INSECURE: NSEC3 iterations above the limit (RFC 9276) */
    DR_WHY_NSEC3_HASH,         /* INSECURE: only NSEC3 hash algorithms duet cannot compute */
    DR_WHY_OPTOUT,             /* INSECURE: an opt-out span leaves room for an unsigned cut */
    DR_WHY_UNSIGNED_CUT,       /* INSECURE: the name lies below a provably unsigned cut */
};

extern const char *const dr_sec_names[];
extern const char *const dr_why_names[];

/*
 * The Extended DNS Error (RFC 8914) an answer with this verdict carries, or -1 for none:
 * BOGUS: SIG_EXPIRED 7, SIG_NOT_YET 8, NO_KEY and NO_DS_MATCH 9 (DNSKEY Missing), NO_RRSIG
 * 10 (RRSIGs Missing), NO_NSEC 12 (NSEC Missing), anything else 6 (DNSSEC Bogus).
 * INSECURE: UNSUPPORTED_ALG 1, UNSUPPORTED_DIGEST 2, NSEC3_ITERATIONS 27 (RFC 9276 §3.2);
 * other insecure answers are normal (no EDE). SECURE: -1.
 */
int dr_dnssec_ede(enum dr_sec sec, enum dr_why why);

/* Whether duet can verify signatures of this DNSKEY/RRSIG algorithm number. */
bool dr_dnssec_alg_supported(uint8_t alg);
/* Whether duet can compute this DS digest type. */
bool dr_dnssec_digest_supported(uint8_t digest_type);
/* The digest's length in bytes (32 for 2, 48 for 4), 0 when unsupported. */
size_t dr_dnssec_digest_len(uint8_t digest_type);

/*
 * Computes the DS digest of type digest_type over data[0..len) into out (at least 48 bytes).
 * Returns the digest's length, -ENOTSUP for a type duet does not support, -ENOMEM.
 */
int dr_dnssec_digest(uint8_t digest_type, const uint8_t *data, size_t len, uint8_t *out);

/*
 * Verifies sig (the RRSIG's signature field) over data with the public key of a DNSKEY of
 * algorithm alg (key: the DNSKEY's public key field). Returns 0 when it verifies, -EBADMSG
 * when it does not (including a key or signature of the wrong shape for alg, and RSA keys
 * outside 1024..4096 bits), -ENOTSUP when alg is unsupported, -ENOMEM.
 */
int dr_dnssec_verify(uint8_t alg, const uint8_t *key, size_t keylen, const uint8_t *sig,
                     size_t siglen, const uint8_t *data, size_t len);

#endif
