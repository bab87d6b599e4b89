#include "common/lru.h"

#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/*
 * Layout. One malloc per entry holds this header, then the value, then the key: the value
 * comes first so that it starts 8-byte aligned (the header is a multiple of 8 bytes), which
 * lets callers store small structs at its start. The same entry sits on two lists: its hash
 * bucket's chain (singly linked, `hnext`) and the shard's LRU list (doubly linked, so any
 * entry can be unlinked in O(1) when touched or removed).
 */
struct link {
    struct link *prev, *next;
};

struct entry {
    struct link lru;     /* first member: a struct link * on the list converts back to the entry */
    struct entry *hnext; /* bucket chain; also the free list after unlinking */
    uint64_t hash;
    int64_t expire;
    uint32_t klen, vlen;
    unsigned char data[]; /* value (vlen bytes), then key (klen bytes) */
};

/* A shard is padded to its own cache lines so that two workers locking neighbouring shards
 * do not bounce one line between cores. */
struct shard {
    alignas(64) pthread_mutex_t lock;
    struct entry **buckets; /* nbuckets (a power of two) chains */
    size_t nbuckets;
    size_t count;
    size_t bytes;     /* heap held: the bucket array plus every entry, as heap_cost() counts */
    size_t max_bytes; /* this shard's share of the budget */
    /* Sentinel of the LRU list: lru.next is the most recently used, lru.prev the least. */
    struct link lru;
};

struct dc_lru {
    struct shard *shards; /* inside shards_mem, on a cache-line boundary */
    void *shards_mem;
    unsigned nshards, shard_bits;
    uint8_t key[16];
};

#define INITIAL_BUCKETS 16
#define MAX_SHARDS      4096 /* more would only waste memory; clients cannot ask for more */

/* ---- SipHash-2-4 (Aumasson & Bernstein, 2012), little-endian words. ---- */

static inline uint64_t
rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static inline uint64_t
load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = rotl(v1, 13);                                                                         \
        v1 ^= v0;                                                                                  \
        v0 = rotl(v0, 32);                                                                         \
        v2 += v3;                                                                                  \
        v3 = rotl(v3, 16);                                                                         \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = rotl(v3, 21);                                                                         \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = rotl(v1, 17);                                                                         \
        v1 ^= v2;                                                                                  \
        v2 = rotl(v2, 32);                                                                         \
    } while (0)

uint64_t
dc_lru_siphash(const uint8_t key[16], const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
    uint64_t v0 = k0 ^ 0x736f6d6570736575ULL;
    uint64_t v1 = k1 ^ 0x646f72616e646f6dULL;
    uint64_t v2 = k0 ^ 0x6c7967656e657261ULL;
    uint64_t v3 = k1 ^ 0x7465646279746573ULL;

    size_t full = len & ~(size_t)7;
    for (size_t i = 0; i < full; i += 8) {
        uint64_t m = load_le64(p + i);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    /* The last block holds the 0..7 remaining bytes and the length's low byte on top. */
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < (len & 7); i++)
        b |= (uint64_t)p[full + i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t
dc_lru_hash(const struct dc_lru *t, const void *data, size_t len)
{
    return dc_lru_siphash(t->key, data, len);
}

/* ---- Shard internals: all called with the shard locked. ---- */

/*
 * The budget counts heap, not payload: what malloc(n) really takes, bounded from above as
 * glibc's ptmalloc lays chunks out on 64-bit systems. A chunk is n plus an 8-byte size
 * header, rounded up to 16, at least 32; when malloc reuses a free chunk that is larger by
 * less than its 32-byte minimum it hands the whole chunk out, so up to 16 bytes more. The
 * bound counts those 16 too, so that the heap really held never exceeds the budget (the
 * price: a few percent of a full table left unused). It is exact for glibc only; other
 * allocators round to their own size classes. Without it (and without counting bucket
 * arrays and the table's own structures), the caches held 75840 heap bytes under a 64K
 * budget in test_cache's test_budget_64k_holds_whole_cache.
 */
#define CHUNK_SLACK 16

size_t
dc_lru_heap_cost(size_t n)
{
    size_t chunk = (n + sizeof(size_t) + 15) & ~(size_t)15;
    return (chunk < 32 ? 32 : chunk) + CHUNK_SLACK;
}

size_t
dc_lru_entry_cost(size_t klen, size_t vlen)
{
    return dc_lru_heap_cost(sizeof(struct entry) + klen + vlen);
}

static size_t
entry_cost(size_t klen, size_t vlen)
{
    return dc_lru_entry_cost(klen, vlen);
}

static size_t
buckets_cost(size_t nbuckets)
{
    return dc_lru_heap_cost(nbuckets * sizeof(struct entry *));
}

static size_t
shards_block(unsigned nshards)
{
    return (size_t)nshards * sizeof(struct shard) + alignof(struct shard) - 1;
}

/* The table's own structures, allocated once in dc_lru_new(): taken off the top of the
 * budget before it is shared out. */
static size_t
fixed_cost(unsigned nshards)
{
    return dc_lru_heap_cost(sizeof(struct dc_lru)) + dc_lru_heap_cost(shards_block(nshards));
}

/* Shards take the hash's top bits and buckets its low bits, so the two choices stay
 * independent: a shard's entries still spread over all of its buckets. */
static struct shard *
shard_of(const struct dc_lru *t, uint64_t hash)
{
    if (t->shard_bits == 0)
        return &t->shards[0];
    return &t->shards[hash >> (64 - t->shard_bits)];
}

static struct entry *
entry_of(struct link *l)
{
    return (struct entry *)l;
}

static void
lru_unlink(struct entry *e)
{
    e->lru.prev->next = e->lru.next;
    e->lru.next->prev = e->lru.prev;
}

static void
lru_push_front(struct shard *s, struct entry *e)
{
    e->lru.prev = &s->lru;
    e->lru.next = s->lru.next;
    s->lru.next->prev = &e->lru;
    s->lru.next = &e->lru;
}

/* Returns the link that points at the matching entry (so the caller can unlink it from the
 * chain without a second walk), or NULL. */
static struct entry **
find(struct shard *s, uint64_t hash, const void *key, size_t klen)
{
    struct entry **pp = &s->buckets[hash & (s->nbuckets - 1)];
    for (; *pp; pp = &(*pp)->hnext) {
        struct entry *e = *pp;
        if (e->hash == hash && e->klen == klen && memcmp(e->data + e->vlen, key, klen) == 0)
            return pp;
    }
    return NULL;
}

/* Takes the entry at *pp out of both lists and the accounting. The caller frees it, after
 * unlocking when it can, to keep the critical section short. */
static struct entry *
detach(struct shard *s, struct entry **pp)
{
    struct entry *e = *pp;
    *pp = e->hnext;
    lru_unlink(e);
    s->count--;
    s->bytes -= entry_cost(e->klen, e->vlen);
    e->hnext = NULL;
    return e;
}

static struct entry **
chain_link(struct shard *s, struct entry *e)
{
    struct entry **pp = &s->buckets[e->hash & (s->nbuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    return pp;
}

/* Takes the least recently used entry out and pushes it on *garbage. */
static void
evict_one(struct shard *s, struct entry **garbage)
{
    struct entry *victim = entry_of(s->lru.prev);
    struct entry *old = detach(s, chain_link(s, victim));
    old->hnext = *garbage;
    *garbage = old;
}

/*
 * Doubles the bucket array when the load passes 1. The array is part of the budget: when the
 * shard is full, the coldest entries make room for it (a few percent of them; the longer
 * array then keeps chains short for the rest). It never grows past a quarter of the shard's
 * share, nor by evicting `keep` (the entry just inserted). A failed allocation is not an
 * error: the table keeps working with longer chains and tries again on a later insert.
 */
static void
maybe_grow(struct shard *s, struct entry *keep, struct entry **garbage)
{
    if (s->count <= s->nbuckets || s->nbuckets > SIZE_MAX / 4 / sizeof(struct entry *))
        return;
    size_t n = s->nbuckets * 2;
    size_t old_cost = buckets_cost(s->nbuckets), new_cost = buckets_cost(n);
    if (new_cost > s->max_bytes / 4)
        return;
    while (s->bytes - old_cost + new_cost > s->max_bytes) {
        if (s->lru.prev == &keep->lru)
            return;
        evict_one(s, garbage);
    }
    struct entry **nb = calloc(n, sizeof(*nb));
    if (nb == NULL)
        return;
    for (size_t i = 0; i < s->nbuckets; i++) {
        struct entry *e = s->buckets[i];
        while (e) {
            struct entry *next = e->hnext;
            struct entry **slot = &nb[e->hash & (n - 1)];
            e->hnext = *slot;
            *slot = e;
            e = next;
        }
    }
    free(s->buckets);
    s->buckets = nb;
    s->nbuckets = n;
    s->bytes = s->bytes - old_cost + new_cost;
}

static void
free_chain(struct entry *e)
{
    while (e) {
        struct entry *next = e->hnext;
        free(e);
        e = next;
    }
}

/* ---- Public API ---- */

struct dc_lru *
dc_lru_new(size_t max_bytes, unsigned shards)
{
    struct dc_lru *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    unsigned n = 1, bits = 0;
    while (n < shards && n < MAX_SHARDS) {
        n <<= 1;
        bits++;
    }
    /* A small budget cut into many shards would leave each too little for one large entry
     * and make eviction coarse: fewer shards then (contention hardly matters at that size). */
    while (n > 1 && max_bytes / n < DC_LRU_MIN_SHARD_BYTES) {
        n >>= 1;
        bits--;
    }
    t->nshards = n;
    t->shard_bits = bits;
    size_t fixed = fixed_cost(n);
    size_t share = max_bytes > fixed ? (max_bytes - fixed) / n : 0;

    /* A fresh random key per table keeps clients from aiming names at one bucket, and keeps
     * a collision found against one process useless against the next. getrandom() with no
     * flags only blocks before the kernel's pool is first seeded. */
    size_t got = 0;
    while (got < sizeof(t->key)) {
        ssize_t r = getrandom(t->key + got, sizeof(t->key) - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            free(t);
            return NULL;
        }
        got += (size_t)r;
    }

    /* Each shard starts on its own cache line. Aligned by hand rather than by aligned_alloc,
     * whose heap cost varies with where the block lands: the budget counts this block. */
    t->shards_mem = malloc(shards_block(n));
    if (t->shards_mem == NULL) {
        free(t);
        return NULL;
    }
    uintptr_t at = ((uintptr_t)t->shards_mem + alignof(struct shard) - 1) &
                   ~(uintptr_t)(alignof(struct shard) - 1);
    t->shards = (struct shard *)at;
    unsigned i;
    for (i = 0; i < n; i++) {
        struct shard *s = &t->shards[i];
        memset(s, 0, sizeof(*s));
        s->max_bytes = share;
        s->lru.prev = s->lru.next = &s->lru;
        s->nbuckets = INITIAL_BUCKETS;
        s->bytes = buckets_cost(INITIAL_BUCKETS);
        s->buckets = calloc(INITIAL_BUCKETS, sizeof(*s->buckets));
        if (s->buckets == NULL)
            goto fail_shards;
        if (pthread_mutex_init(&s->lock, NULL) != 0) {
            free(s->buckets);
            goto fail_shards;
        }
    }
    return t;

fail_shards:
    while (i-- > 0) {
        pthread_mutex_destroy(&t->shards[i].lock);
        free(t->shards[i].buckets);
    }
    free(t->shards_mem);
    free(t);
    return NULL;
}

void
dc_lru_free(struct dc_lru *t)
{
    if (t == NULL)
        return;
    for (unsigned i = 0; i < t->nshards; i++) {
        struct shard *s = &t->shards[i];
        struct link *l = s->lru.next;
        while (l != &s->lru) {
            struct link *next = l->next;
            free(entry_of(l));
            l = next;
        }
        free(s->buckets);
        pthread_mutex_destroy(&s->lock);
    }
    free(t->shards_mem);
    free(t);
}

/*
 * The entry is allocated and filled before the lock is taken, and whatever it displaces is
 * freed after the lock is released, so the critical section is pointer work only (plus the
 * occasional bucket-array doubling).
 */
int
dc_lru_put(struct dc_lru *t, const void *key, size_t klen, const void *val, size_t vlen,
           int64_t expire)
{
    if (klen > UINT32_MAX || vlen > UINT32_MAX || klen + vlen > SIZE_MAX - sizeof(struct entry))
        return -E2BIG;
    size_t cost = entry_cost(klen, vlen);
    uint64_t hash = dc_lru_hash(t, key, klen);
    struct shard *s = shard_of(t, hash);
    if (cost > s->max_bytes)
        return -E2BIG;

    struct entry *e = malloc(sizeof(struct entry) + klen + vlen);
    if (e == NULL)
        return -ENOMEM;
    e->hash = hash;
    e->expire = expire;
    e->klen = (uint32_t)klen;
    e->vlen = (uint32_t)vlen;
    e->hnext = NULL;
    if (vlen)
        memcpy(e->data, val, vlen);
    if (klen)
        memcpy(e->data + vlen, key, klen);

    struct entry *garbage = NULL;
    pthread_mutex_lock(&s->lock);
    /* The bucket array shares the budget, so the room left for entries is checked here. */
    size_t table_cost = buckets_cost(s->nbuckets);
    if (s->max_bytes < table_cost || cost > s->max_bytes - table_cost) {
        pthread_mutex_unlock(&s->lock);
        free(e);
        return -E2BIG;
    }
    struct entry **pp = find(s, hash, key, klen);
    if (pp) {
        garbage = detach(s, pp);
    }
    /* Evict from the cold end until the new entry fits. Only entries are left besides the
     * bucket array, whose cost was checked above, so this stops. */
    while (s->bytes + cost > s->max_bytes)
        evict_one(s, &garbage);
    struct entry **slot = &s->buckets[hash & (s->nbuckets - 1)];
    e->hnext = *slot;
    *slot = e;
    lru_push_front(s, e);
    s->count++;
    s->bytes += cost;
    maybe_grow(s, e, &garbage);
    pthread_mutex_unlock(&s->lock);

    free_chain(garbage);
    return 0;
}

int
dc_lru_get(struct dc_lru *t, const void *key, size_t klen, int64_t now, dc_lru_visit_cb visit,
           void *arg)
{
    uint64_t hash = dc_lru_hash(t, key, klen);
    struct shard *s = shard_of(t, hash);
    struct entry *dead = NULL;
    int rc = DC_LRU_MISS;

    pthread_mutex_lock(&s->lock);
    struct entry **pp = find(s, hash, key, klen);
    if (pp) {
        struct entry *e = *pp;
        if (now >= e->expire) {
            /* Nobody can use it any more: free the memory now instead of waiting for it to
             * drift to the LRU tail. */
            dead = detach(s, pp);
        } else {
            lru_unlink(e);
            lru_push_front(s, e);
            rc = visit ? visit(arg, e->data, e->vlen, e->expire) : 0;
        }
    }
    pthread_mutex_unlock(&s->lock);

    free(dead);
    return rc;
}

bool
dc_lru_remove(struct dc_lru *t, const void *key, size_t klen)
{
    uint64_t hash = dc_lru_hash(t, key, klen);
    struct shard *s = shard_of(t, hash);
    struct entry *dead = NULL;

    pthread_mutex_lock(&s->lock);
    struct entry **pp = find(s, hash, key, klen);
    if (pp)
        dead = detach(s, pp);
    pthread_mutex_unlock(&s->lock);

    free(dead);
    return dead != NULL;
}

/* Walks the buckets rather than the LRU list: unlinking from a chain while walking it is
 * then a matter of not advancing the link pointer. */
size_t
dc_lru_remove_if(struct dc_lru *t, dc_lru_pred_cb pred, void *arg)
{
    size_t removed = 0;
    for (unsigned i = 0; i < t->nshards; i++) {
        struct shard *s = &t->shards[i];
        struct entry *garbage = NULL;
        pthread_mutex_lock(&s->lock);
        for (size_t b = 0; b < s->nbuckets; b++) {
            struct entry **pp = &s->buckets[b];
            while (*pp) {
                struct entry *e = *pp;
                if (pred == NULL ||
                    pred(arg, e->data + e->vlen, e->klen, e->data, e->vlen, e->expire)) {
                    struct entry *old = detach(s, pp);
                    old->hnext = garbage;
                    garbage = old;
                    removed++;
                } else {
                    pp = &e->hnext;
                }
            }
        }
        pthread_mutex_unlock(&s->lock);
        free_chain(garbage);
    }
    return removed;
}

/* fn's return value is ignored: every entry is visited. Entries that have expired but were
 * not yet looked up are visited too (the table has no clock of its own); fn gets expire to
 * tell them apart. */
void
dc_lru_foreach(struct dc_lru *t, dc_lru_pred_cb fn, void *arg)
{
    for (unsigned i = 0; i < t->nshards; i++) {
        struct shard *s = &t->shards[i];
        pthread_mutex_lock(&s->lock);
        for (struct link *l = s->lru.next; l != &s->lru; l = l->next) {
            struct entry *e = entry_of(l);
            (void)fn(arg, e->data + e->vlen, e->klen, e->data, e->vlen, e->expire);
        }
        pthread_mutex_unlock(&s->lock);
    }
}

size_t
dc_lru_count(struct dc_lru *t)
{
    size_t n = 0;
    for (unsigned i = 0; i < t->nshards; i++) {
        pthread_mutex_lock(&t->shards[i].lock);
        n += t->shards[i].count;
        pthread_mutex_unlock(&t->shards[i].lock);
    }
    return n;
}

size_t
dc_lru_bytes(struct dc_lru *t)
{
    size_t n = fixed_cost(t->nshards);
    for (unsigned i = 0; i < t->nshards; i++) {
        pthread_mutex_lock(&t->shards[i].lock);
        n += t->shards[i].bytes;
        pthread_mutex_unlock(&t->shards[i].lock);
    }
    return n;
}
