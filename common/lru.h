/*
 * A sharded hash table with LRU eviction under a byte budget, shared by every worker.
 *
 * Keys and values are byte strings copied into one allocation per entry. Each shard has its
 * own mutex, hash table and LRU list, so workers touching different entries rarely contend
 * (Unbound's slabhash idea). The hash is keyed SipHash with a random per-table key, so
 * names chosen by clients cannot force collisions.
 *
 * Lookups do not copy out: dc_lru_get() calls a visitor under the shard's lock with a
 * pointer to the stored value, so a hit costs one lock and whatever the visitor copies.
 * An entry carries an expiry (caller's clock, e.g. wall-clock seconds): an expired entry
 * is a miss and is removed on the way.
 */
#ifndef DUET_COMMON_LRU_H
#define DUET_COMMON_LRU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dc_lru;

#define DC_LRU_MISS (-1) /* dc_lru_get(): no entry, or expired */

/*
 * The budget. max_bytes bounds all the heap the table holds, as the allocator would count it:
 * its own structures (the table and shard array), each shard's bucket array, and each entry
 * (header, key and value in one block) rounded the way malloc rounds (dc_lru_heap_cost()).
 * The fixed structures come off the top; the rest is shared equally between the shards, and
 * a shard evicts its least recently used entries to stay within its share. dc_lru_bytes() is
 * then the same sum and never exceeds max_bytes (while put() runs, one new entry and the
 * ones it displaces overlap briefly). A budget smaller than the fixed structures holds
 * nothing: every put is -E2BIG.
 */

/* A shard gets at least this much of the budget: small tables use fewer shards. */
#define DC_LRU_MIN_SHARD_BYTES (64 * 1024)

/* A table holding at most max_bytes (see above) over `shards` shards (rounded up to a power
 * of two, at least 1, then halved while a shard's share would be below
 * DC_LRU_MIN_SHARD_BYTES). NULL on ENOMEM. */
struct dc_lru *dc_lru_new(size_t max_bytes, unsigned shards);
void dc_lru_free(struct dc_lru *t);

/*
 * Inserts key → value, replacing an existing entry with the same key, and makes it the
 * most recently used. expire: the entry is a miss once now >= expire (INT64_MAX: never).
 * Evicts least-recently-used entries of the shard until it fits its share of the budget.
 * Returns 0, -ENOMEM, or -E2BIG when one entry alone exceeds what a shard's share leaves
 * beside its bucket array.
 */
int dc_lru_put(struct dc_lru *t, const void *key, size_t klen, const void *val, size_t vlen,
               int64_t expire);

/*
 * Called under the shard lock with the stored value; must be quick and must not call into
 * the same table. Its return value (>= 0) is returned by dc_lru_get().
 */
typedef int (*dc_lru_visit_cb)(void *arg, const void *val, size_t vlen, int64_t expire);

/* Looks key up at time now; on a live hit marks it recently used and returns visit's value;
 * else DC_LRU_MISS. */
int dc_lru_get(struct dc_lru *t, const void *key, size_t klen, int64_t now, dc_lru_visit_cb visit,
               void *arg);

/* Removes key; returns true when it was there. */
bool dc_lru_remove(struct dc_lru *t, const void *key, size_t klen);

/* Removes every entry for which pred returns true (called under each shard's lock in turn).
 * Returns how many were removed. pred NULL removes everything. */
typedef bool (*dc_lru_pred_cb)(void *arg, const void *key, size_t klen, const void *val,
                               size_t vlen, int64_t expire);
size_t dc_lru_remove_if(struct dc_lru *t, dc_lru_pred_cb pred, void *arg);

/* Calls fn for every live entry (shard by shard, each under its lock), e.g. to dump. */
void dc_lru_foreach(struct dc_lru *t, dc_lru_pred_cb fn, void *arg);

/* Entries, and heap bytes held as the budget counts them (fixed structures included), now,
 * summed over shards (locks each shard briefly). */
size_t dc_lru_count(struct dc_lru *t);
size_t dc_lru_bytes(struct dc_lru *t);

/* What a malloc(n) block takes on the heap at most, as the budget counts it: glibc's chunk
 * (n plus an 8-byte header, rounded up to 16, at least 32) plus the 16 bytes malloc may
 * leave unsplit when it reuses a free chunk. For callers that count their own allocations
 * against a budget too. */
size_t dc_lru_heap_cost(size_t n);
/* What one entry with a key of klen and a value of vlen bytes costs the budget. */
size_t dc_lru_entry_cost(size_t klen, size_t vlen);

/* Keyed 64-bit hash (SipHash-2-4) of data with the table's key, exposed for tests. */
uint64_t dc_lru_hash(const struct dc_lru *t, const void *data, size_t len);

/* SipHash-2-4 of data under an explicit 16-byte key (the table uses it with its random key);
 * public so tests can check it against the reference vectors and other modules can reuse it. */
uint64_t dc_lru_siphash(const uint8_t key[16], const void *data, size_t len);

#endif
