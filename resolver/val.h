/*
 * The validator: the DNSSEC verdict on one finished resolution (RFC 4033-4035, 5155, 6840),
 * as a step function like the iterator's. It does no I/O: when it needs a zone's DS or
 * DNSKEY RRset it asks for it (FETCH) and the mesh answers from the cache or with a
 * sub-resolution, which is validated by this same code; a FETCH's answer comes back with
 * the verdict its own validation reached. The chain of trust is therefore built top-down
 * out of cached, individually validated answers: the anchor's DNSKEY set (checked against
 * the trust anchor), then for each label below it towards the zone wanted, its DS set
 * (signed by the zone above) and, where there is one, its DNSKEY set (self-signed by a key
 * the DS names). A DS NODATA whose NSEC/NSEC3 proof shows an unsigned delegation ends the
 * chain: everything below is INSECURE. Unbound's validator walks the same way. Key sets
 * fetched on the way are kept in the key cache (resolver/keycache.h), and a later walk
 * starts at the deepest zone whose keys it holds.
 *
 * What is checked: every RRset of the answer (the CNAME/DNAME chain link by link, each in
 * its own zone) with the keys of its signer; unsigned RRsets are INSECURE only when the
 * walk down to their owner meets an unsigned delegation, else BOGUS (RRSIGs missing); a
 * negative answer's SOA and NSEC/NSEC3 records, then the proof (NXDOMAIN, NODATA, wildcard
 * NODATA, NSEC3 opt-out); a wildcard expansion's proof. The verdict is the worst over the
 * RRsets: BOGUS over INSECURE over INDETERMINATE over SECURE.
 *
 * Bounds: at most DR_VAL_MAX_FETCHES fetches per validation, at most DR_VAL_MAX_RRSETS
 * RRsets (an answer with more is BOGUS), and each RRset's signature checks are bounded by
 * resolver/rrsig.h (KeyTrap).
 */
#ifndef DUET_RESOLVER_VAL_H
#define DUET_RESOLVER_VAL_H

#include <ldns/ldns.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/lru.h"
#include "resolver/anchor.h"
#include "resolver/dname.h"
#include "resolver/dnssec.h"

/* An answer's validation status, as cached and counted. */
enum dr_val_status {
    DR_VS_NONE = 0,      /* not validated: dnssec = no, a failure, or a lookup the iterator
                            made for itself (an NS name's address) */
    DR_VS_SECURE,        /* AD */
    DR_VS_INSECURE,      /* provably unsigned */
    DR_VS_BOGUS,         /* SERVFAIL with an EDE unless the client set CD */
    DR_VS_INDETERMINATE, /* no trust anchor covers it */
};
#define DR_VS_COUNT 5

/* "none", "secure", "insecure", "bogus", "indeterminate" */
extern const char *const dr_val_status_names[DR_VS_COUNT];

#define DR_VAL_MAX_FETCHES 48
#define DR_VAL_MAX_RRSETS                                                                          \
    64 /* RRsets checked per answer: each costs up to DR_RRSIG_MAX_VERIFY                          \
          signature checks (KeyTrap's cousin: many RRsets) */

struct dr_val_env {
    const struct dr_anchors *anchors; /* NULL: nothing is validated (INDETERMINATE) */
    int64_t now;                      /* wall clock, Unix seconds (signature validity) */
    uint32_t skew;                    /* seconds allowed at both ends of a validity window */
    uint16_t nsec3_max_iter;
    struct dc_lru *keys; /* the key cache (resolver/keycache.h); NULL: every walk from the top */
    uint64_t trust;      /* the serial of the configuration the anchors belong to */
};

enum dr_val_act {
    DR_VAL_FETCH, /* fetch (name, type) with DO=1 and call dr_val_on_fetch */
    DR_VAL_DONE,  /* finished: status and why hold the verdict */
};

struct dr_val_action {
    enum dr_val_act kind;
    const uint8_t *name; /* FETCH: points into the validator, valid until its next call */
    uint16_t type;       /* DR_TYPE_DS or DR_TYPE_DNSKEY */
};

struct dr_val_item;

struct dr_val {
    /* the answer (borrowed from the iterator until DONE) */
    const uint8_t *qname;
    uint16_t qtype;
    const uint8_t *final; /* the name the answer is for, after CNAME/DNAME links */
    int rcode;
    const ldns_rr_list *chain, *answer, *authority;
    bool negative;

    struct dr_val_item *items;
    size_t nitems, item;

    /* the walk down from the trust anchor */
    int phase;
    uint8_t target[DR_NAME_MAX]; /* the zone whose keys the current RRset needs */
    uint8_t kzone[DR_NAME_MAX];  /* the deepest zone with trusted keys */
    bool have_keys;
    ldns_rr_list *keys;       /* kzone's trusted DNSKEYs (owned) */
    uint8_t pos[DR_NAME_MAX]; /* the deepest name whose DS was asked for */
    uint8_t fetch_name[DR_NAME_MAX];
    uint16_t fetch_type;
    ldns_rr_list *ds; /* fetch_name's DS set, while its DNSKEYs are fetched (owned) */
    int fetches;
    unsigned key_hits; /* walks the key cache shortened */

    /* wildcard expansion seen in the answer: its proof is due */
    bool wildcard;
    uint8_t encloser[DR_NAME_MAX];
    uint8_t wild_owner[DR_NAME_MAX];

    /* the verdict */
    uint32_t ttl; /* SECURE: no longer than this may the answer be kept (RFC 4035 §5.3.3:
                     original TTLs and signature expirations); UINT32_MAX: no bound seen */
    enum dr_val_status status;
    enum dr_why why;
    uint8_t zone[DR_NAME_MAX]; /* the zone whose keys decided (for `lookup`) */
};

/*
 * Starts validating a finished answer: the question, the name it ends at (final), its rcode
 * and sections as the iterator returns them (RRSIGs beside the RRsets they cover). The
 * lists are borrowed until DONE. 0, or -ENOMEM.
 */
int dr_val_start(struct dr_val *v, const struct dr_val_env *env, const uint8_t *qname,
                 uint16_t qtype, const uint8_t *final, int rcode, const ldns_rr_list *chain,
                 const ldns_rr_list *answer, const ldns_rr_list *authority,
                 struct dr_val_action *act);
/*
 * The answer to the last FETCH: its validation status and reason, and the reply (a finished
 * reply with DO=1 records; NULL when the fetch failed).
 */
void dr_val_on_fetch(struct dr_val *v, const struct dr_val_env *env, enum dr_val_status st,
                     enum dr_why why, const uint8_t *reply, size_t len, struct dr_val_action *act);
/* Frees what v holds. */
void dr_val_deinit(struct dr_val *v);

/* The EDE code for a status and reason, or -1 (resolver/dnssec.h's table). */
int dr_val_ede(enum dr_val_status st, enum dr_why why);

#endif
