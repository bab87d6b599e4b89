/*
 * Zone cuts: which servers serve a zone. The delegation cache maps a zone name to its NS
 * names and the addresses learned with them (glue, or later lookups), and finds the
 * closest cut enclosing a name, where iteration starts. The root's cut comes from the root
 * hints (resolver/hints.c) until priming replaces it.
 *
 * Stored compactly in a shared dc_lru table (one entry per zone, TTL of the NS set); read
 * out into a struct dr_deleg, which the iterator owns and may add addresses to.
 */
#ifndef DUET_RESOLVER_DELEG_H
#define DUET_RESOLVER_DELEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ldns/ldns.h>

#include "common/addr.h"
#include "common/lru.h"
#include "resolver/dname.h"

#define DR_DELEG_MAX_NS    13
#define DR_DELEG_MAX_ADDRS 4

struct dr_deleg_ns {
    uint8_t name[DR_NAME_MAX]; /* lower case */
    uint8_t naddrs;
    union dc_sockaddr addrs[DR_DELEG_MAX_ADDRS]; /* port 53 */
};

struct dr_deleg {
    uint8_t zone[DR_NAME_MAX]; /* lower case */
    bool configured;           /* servers from the configuration (stub/forward), not stored */
    unsigned nns;
    struct dr_deleg_ns ns[DR_DELEG_MAX_NS];
};

/* Adds ns name (any case) to d unless present or full; returns its entry or NULL. */
struct dr_deleg_ns *dr_deleg_add_ns(struct dr_deleg *d, const uint8_t *name);
/* Adds an address to ns unless present or full. */
void dr_deleg_add_addr(struct dr_deleg_ns *ns, const union dc_sockaddr *addr);

/* Stores d under its zone until expire (wall-clock seconds). 0 or a negative errno. */
int dr_deleg_store(struct dc_lru *t, const struct dr_deleg *d, int64_t expire);
/* Reads the cut for exactly zone (lower case). 0, or -ENOENT. */
int dr_deleg_get(struct dc_lru *t, const uint8_t *zone, int64_t now, struct dr_deleg *out);
/* Reads the closest cached cut enclosing name (name itself included). 0 or -ENOENT. */
int dr_deleg_find(struct dc_lru *t, const uint8_t *name, int64_t now, struct dr_deleg *out);
/* The cut whose servers to ask about (qname, qtype): dr_deleg_find() of qname, except that
 * a DS question starts at qname's parent, since DS lives on the parent side of a zone cut
 * (RFC 4035 §3.1.4.1) and the child would answer NODATA from its own zone. 0 or -ENOENT. */
int dr_deleg_find_for(struct dc_lru *t, const uint8_t *qname, uint16_t qtype, int64_t now,
                      struct dr_deleg *out);

/* Gives each NS of d that has no address the addresses `known` lists for the same NS name
 * (e.g. the root hints, for a priming reply without glue). Returns how many addresses d
 * holds afterwards, over all its NS. known may be NULL (nothing is added). */
unsigned dr_deleg_merge_addrs(struct dr_deleg *d, const struct dr_deleg *known);

/*
 * Builds the cut for zone out of a reply: the NS records owned by zone in `section` (the
 * authority section of a referral, the answer of an NS query) and the address records in
 * the additional section that lie inside bailiwick (the zone of the server that sent them:
 * glue from anywhere else could poison another zone) and belong to one of those NS names.
 * Sets *ttl to the smallest NS TTL (UINT32_MAX when no NS was found). Pure.
 */
void dr_deleg_from_reply(ldns_pkt *p, ldns_rr_list *section, const uint8_t *zone,
                         const uint8_t *bailiwick, struct dr_deleg *d, uint32_t *ttl);

/* DNAME records (RFC 6672) live in the same table as cuts, keyed apart from them: the
 * target that owner (lower case) redirects to, until expire. 0 or a negative errno. */
int dr_deleg_store_dname(struct dc_lru *t, const uint8_t *owner, const uint8_t *target,
                         uint32_t ttl, int64_t expire);
/* The closest cached DNAME strictly above name: its owner, target and remaining TTL.
 * 0, or -ENOENT. */
int dr_deleg_find_dname(struct dc_lru *t, const uint8_t *name, int64_t now,
                        uint8_t owner[DR_NAME_MAX], uint8_t target[DR_NAME_MAX],
                        uint32_t *ttl);

/* The name a table key stands for (a cut's zone or a DNAME's owner), checked: a
 * well-formed uncompressed wire name filling the key exactly. Writes it to out (lower case)
 * and returns 0 for a cut, 1 for a DNAME, -EBADMSG for anything else. */
int dr_deleg_key_name(const void *key, size_t klen, uint8_t out[DR_NAME_MAX]);
/* Whether a table entry read back from a file is one this module could have written:
 * a valid key and a value that decodes exactly (cut) or holds a TTL and a name (DNAME). */
bool dr_deleg_entry_valid(const void *key, size_t klen, const void *val, size_t vlen);

#endif
