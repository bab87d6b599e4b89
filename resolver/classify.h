/*
 * The reply classifier: what one upstream reply means for the question that was sent, as
 * Unbound's iterator classifies a response before acting on it. Pure: takes a parsed
 * message and what was asked, returns a verdict and the records worth keeping, chosen by
 * the bailiwick rules of resolver/scrub.c. No I/O, no clock, no cache.
 *
 * Nothing a server sends outside the zone it was asked as authoritative for is believed:
 * answers and CNAME/DNAME links are followed only while their owner is inside the zone,
 * referrals only go downward and must enclose the name sent, a negative answer's SOA must
 * be owned inside the zone and be an ancestor of the name, and records of types nobody
 * asked for are ignored. A recursive forwarder (forward-zone) is trusted for any zone.
 */
#ifndef DUET_RESOLVER_CLASSIFY_H
#define DUET_RESOLVER_CLASSIFY_H

#include <ldns/ldns.h>
#include <stdbool.h>
#include <stdint.h>

#include "resolver/dname.h"

enum dr_verdict {
    DR_VERDICT_ANSWER,   /* data for the name (after any chain): answer holds it */
    DR_VERDICT_CNAME,    /* the chain leads to next, whose data this server did not give */
    DR_VERDICT_REFERRAL, /* a delegation to cut, strictly below the zone asked */
    DR_VERDICT_NXDOMAIN, /* the name (the chain's last, if any) does not exist */
    DR_VERDICT_NODATA,   /* the name exists without data of the type asked */
    DR_VERDICT_YXDOMAIN, /* a DNAME substitution made a name longer than 255 bytes */
    DR_VERDICT_LAME,     /* the server could not or would not help: why says how */
};

extern const char *const dr_verdict_names[];

/* What was asked of the server. */
struct dr_classify_in {
    const uint8_t *zone; /* the zone the server was asked as authoritative for */
    const uint8_t *name; /* the name whose data is wanted (as sent, any case) */
    uint16_t qtype, qclass;
    bool forwarder;      /* a recursive server (RD=1 asked): any zone, no AA needed */
    int max_chain;       /* CNAME/DNAME links that may be followed inside this reply */
};

/* The verdict and the records kept; every list is owned here (dr_classified_clear). */
struct dr_classified {
    enum dr_verdict verdict;
    const char *why;           /* LAME: refused, rcode, lame, ds_referral, chain, not_recursive */
    ldns_rr_list *chain;       /* CNAMEs and DNAMEs followed (with synthesized CNAMEs) */
    ldns_rr_list *dnames;      /* the DNAME records used, for caching */
    ldns_rr_list *answer;      /* ANSWER: the data */
    ldns_rr_list *soa;         /* NXDOMAIN / NODATA: the SOA, or NULL when none came (with
                                  its RRSIG and the NSEC/NSEC3 proof); ANSWER and CNAME: the
                                  proof of a wildcard expansion (the answer's or a chain
                                  link's), or NULL */
    uint8_t next[DR_NAME_MAX]; /* CNAME: where the chain continues (lower case) */
    uint8_t cut[DR_NAME_MAX];  /* REFERRAL: the delegated zone (lower case) */
    int links;                 /* links followed */
};

/* Classifies reply p to the question in `in`. Always fills out (LAME on anything it cannot
 * use); the caller frees with dr_classified_clear(). */
void dr_classify(ldns_pkt *p, const struct dr_classify_in *in, struct dr_classified *out);
void dr_classified_clear(struct dr_classified *out);

/* The name a DNAME owned by owner with target substitutes for name (name strictly below
 * owner): writes it to out and returns its length, or -ENAMETOOLONG. Pure. */
int dr_classify_dname_subst(const uint8_t *name, const uint8_t *owner, const uint8_t *target,
                            uint8_t out[DR_NAME_MAX]);

/* A new CNAME or DNAME record (type) from owner to target, class rclass, TTL ttl: the CNAME
 * a DNAME synthesizes, or a cached DNAME rebuilt. NULL on ENOMEM; the caller frees. */
ldns_rr *dr_classify_alias_rr(ldns_rr_type type, const uint8_t *owner, const uint8_t *target,
                              uint16_t rclass, uint32_t ttl);

#endif
