/*
 * The answer cache: finished DNS replies in wire format, ready to serve.
 *
 * Keyed by (lower-cased qname, qtype, qclass), each entry is the reply exactly as the
 * resolver would send it (header, question, answer, authority, additional; no OPT record),
 * plus the offsets of every TTL field in it. Serving a hit copies the stored bytes into the
 * caller's buffer and patches them for this client: ID, the RD bit, the question name's case
 * as the client sent it, and every TTL decayed by the time the entry has spent in the cache.
 * No allocation, no ldns, one shard lock (common/lru.h).
 *
 * TTL policy (RFC 2308 for negatives): a positive entry lives for the smallest TTL of its
 * records, clamped to [cache-min-ttl, cache-max-ttl]; an NXDOMAIN or NODATA entry lives for
 * min(SOA TTL, SOA MINIMUM) of the authority SOA, capped at cache-max-negative-ttl; a
 * negative reply without a SOA is not cached. SERVFAIL and other rcodes are not cached
 * here. Clamping changes the TTL values stored in the message as well, so clients never
 * see a TTL the cache would not honour.
 */
#ifndef DUET_RESOLVER_CACHE_H
#define DUET_RESOLVER_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "resolver/msg.h"

struct dr_cache;

struct dr_cache_policy {
    uint32_t min_ttl; /* seconds */
    uint32_t max_ttl;
    uint32_t max_negative_ttl;
};

/*
 * The memory budget. cache-size bounds all the memory the resolver's caches hold: this
 * answer cache plus the zone-cut table (resolver/deleg.h, a dc_lru of its own, which other
 * iterator data keyed by name may share). The budget is split once, at start:
 * an eighth (DR_CACHE_CUT_SHARE) to the cut table, the rest to answers, so the two never
 * compete and each evicts its own least recently used entries. Each part counts every heap
 * byte its table holds: the table's structures, bucket arrays, and each entry's header,
 * key and value rounded as the allocator rounds (common/lru.h). So at cache-size = 64M the
 * caches hold at most 64M of heap (56M answers, 8M cuts); the two part sizes always add up
 * to cache-size. Not counted: the few hundred bytes of a stored reply being built during
 * dr_cache_store(), freed before it returns.
 */
#define DR_CACHE_CUT_SHARE 8

/* The split described above: answer_bytes + cut_bytes == cache_size. */
void dr_cache_split(size_t cache_size, size_t *answer_bytes, size_t *cut_bytes);

/* max_bytes: this cache's part of the budget (answer_bytes above), this struct included; the
 * shard count may be lowered for a small budget (common/lru.h). NULL on ENOMEM. */
struct dr_cache *dr_cache_new(size_t max_bytes, unsigned shards,
                              const struct dr_cache_policy *policy);
void dr_cache_free(struct dr_cache *c);

/*
 * Stores reply (a complete reply to the question qname/qtype/qclass, no OPT RR, any case in
 * its question) received at wall-clock time now. Decides the lifetime as described above.
 * Returns 0 when stored, 1 when the reply is not cacheable (rcode, no SOA on a negative,
 * TTL 0 after clamping), -EBADMSG when it does not parse or a record's owner name is
 * compressed into bytes that serving rewrites (the header, a TTL), -ENOMEM / -E2BIG from the
 * table.
 */
int dr_cache_store(struct dr_cache *c, const uint8_t *qname, uint16_t qtype, uint16_t qclass,
                   const uint8_t *reply, size_t len, int64_t now);
/* Stores the two ready answers of a question: plain (what DO=0 clients and the resolver
 * itself read) and, when the data has RRSIG, NSEC or NSEC3 records, the variant for
 * DNSSEC-aware clients (dnssec, DO=1; NULL when it would equal plain). dr_cache_answer()
 * picks by the client's DO bit, so a hit never filters a message; a DO=1 client is never
 * given the plain reply of signed data. Returns as dr_cache_store(). */
int dr_cache_store_pair(struct dr_cache *c, const uint8_t *qname, uint16_t qtype, uint16_t qclass,
                        const uint8_t *plain, size_t plen, const uint8_t *dnssec, size_t dlen,
                        int64_t now);

/* An entry's DNSSEC validation status (resolver/val.h's enum dr_val_status and the reason,
 * enum dr_why), and on storing, a cap on its lifetime and TTLs (0: none): val-bogus-ttl for
 * BOGUS, so a broken zone does not cost a full chase per query yet a repair shows soon; the
 * signatures' remaining validity for SECURE (RFC 4035 §5.3.3). */
struct dr_cache_sec {
    uint8_t status;
    uint8_t why;
    bool stale;          /* out: the entry found has expired (kept for serve-expired) */
    uint32_t max_life;
    uint32_t stale_life; /* in: keep the entry this long past its expiry (serve-expired-ttl) */
};
#define DR_CACHE_STALE_TTL 30 /* the TTL of a stale answer (RFC 8767 §4) */
#define DR_CACHE_SEC_MAX 4  /* the largest status value (DR_VS_INDETERMINATE) */
#define DR_CACHE_WHY_MAX 15 /* the largest reason value (DR_WHY_UNSIGNED_CUT) */

/* dr_cache_store_pair() with the answers' validation status (NULL: none, status 0). */
int dr_cache_store_sec(struct dr_cache *c, const uint8_t *qname, uint16_t qtype, uint16_t qclass,
                       const uint8_t *plain, size_t plen, const uint8_t *dnssec, size_t dlen,
                       int64_t now, const struct dr_cache_sec *sec);

/*
 * Looks up the client's question (q from dr_msg_parse_query). On a hit writes the patched
 * reply into out (ID and RD from q, the client's qname case, TTLs decayed to now, RA set)
 * and returns its length; returns 0 on a miss and -ENOSPC when cap is too small.
 * The result has no OPT record: dr_msg_fit() adds one and truncates for the client.
 * prefetch (may be NULL) is set to true on a hit in the last 10% of the entry's lifetime,
 * when a refresh would keep a popular answer from ever expiring (Unbound's prefetch).
 */
int dr_cache_answer(struct dr_cache *c, const struct dr_msg_query *q, int64_t now, uint8_t *out,
                    size_t cap, bool *prefetch);

/* dr_cache_answer() that also reports the entry's validation status into sec (may be NULL);
 * with validated_only, an entry stored without validation (status 0) is a miss. */
int dr_cache_answer_sec(struct dr_cache *c, const struct dr_msg_query *q, int64_t now, uint8_t *out,
                        size_t cap, bool *prefetch, bool validated_only, struct dr_cache_sec *sec);

/* serve-expired (RFC 8767): the client's answer from an entry that has expired but is still
 * kept (stale_life), every TTL set to DR_CACHE_STALE_TTL; 0 when there is none (a fresh
 * entry is not stale). sec as dr_cache_answer_sec(). */
int dr_cache_answer_stale(struct dr_cache *c, const struct dr_msg_query *q, int64_t now, uint8_t *out,
                          size_t cap, bool validated_only, struct dr_cache_sec *sec);

/* The validator's lookup (a DS or DNSKEY RRset): the DO=1 variant where there is one, only
 * entries that were validated, with their status in sec. 0 on a miss. */
int dr_cache_lookup_sec(struct dr_cache *c, const uint8_t *qname, uint16_t qtype, uint16_t qclass,
                        int64_t now, uint8_t *out, size_t cap, struct dr_cache_sec *sec);

/* The same lookup for the resolver's own use (by name/type/class, any case, e.g. to find a
 * cached answer for an NS name): copies the reply with TTLs decayed, ID 0. 0 on a miss. */
int dr_cache_lookup(struct dr_cache *c, const uint8_t *qname, uint16_t qtype, uint16_t qclass,
                    int64_t now, uint8_t *out, size_t cap);

/* The same, preferring the DO=1 variant (with RRSIG, NSEC, NSEC3 records) where there is
 * one: for answers the resolver builds on, such as a CNAME target's. */
int dr_cache_lookup_signed(struct dr_cache *c, const uint8_t *qname, uint16_t qtype,
                           uint16_t qclass, int64_t now, uint8_t *out, size_t cap);
/* Removes the entries for name (every type), or for name and everything below it when
 * subtree is set; name NULL removes everything. Returns how many went. */
size_t dr_cache_flush(struct dr_cache *c, const uint8_t *name, bool subtree);

size_t dr_cache_count(struct dr_cache *c);
/* No TTL or lifetime the cache keeps is longer than this (cache-max-ttl is at most 7 days):
 * a longer one in an entry read back from a file means damage. */
#define DR_CACHE_TTL_LIMIT (30 * 86400)

/*
 * Whether a table entry read back from a file (resolver/cachefile.c) is one this cache could
 * have written, so that serving and flushing it stay inside it: the key is a lower-case,
 * uncompressed wire name plus type and class; the value's sizes agree; the stored reply is
 * a well-formed DNS message whose one question is the key's, whose rcode and flags are
 * cacheable, with no OPT, no owner name read through the header or a TTL, and whose every
 * record's TTL sits at the stored offset, in order;
 * TTLs and the lifetime (expire minus store time) are at most DR_CACHE_TTL_LIMIT. On false,
 * why (whylen bytes) says what is wrong, in a phrase without quotes.
 */
bool dr_cache_entry_valid(const void *key, size_t klen, const void *val, size_t vlen,
                          int64_t expire, char *why, size_t whylen);
/* The table under the cache, for saving and restoring it whole (resolver/cachefile.c). */
struct dc_lru *dr_cache_table(struct dr_cache *c);
/* Heap bytes the cache holds now, as the budget counts them (never above max_bytes). */
size_t dr_cache_bytes(struct dr_cache *c);

#endif
