/* Unit tests for common/lru.c. */
#include "common/lru.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "test.h"

#include "count_alloc.h"

/* What an empty one-shard table already holds (its structures and first bucket array), so
 * the tests do not hard-code struct sizes; entries cost dc_lru_entry_cost() on top. */
static size_t
empty_one_shard(void)
{
    struct dc_lru *t = dc_lru_new(0, 1);
    ASSERT_NOT_NULL(t);
    size_t e = dc_lru_bytes(t);
    dc_lru_free(t);
    ASSERT_GT(e, 0);
    return e;
}

#define COST(k, v) dc_lru_entry_cost(k, v)

struct copy {
    char buf[256];
    size_t len;
    int64_t expire;
};

/* Visitor: copies the value out and returns its length. */
static int
copy_out(void *arg, const void *val, size_t vlen, int64_t expire)
{
    struct copy *c = arg;
    ASSERT_LE(vlen, sizeof(c->buf) - 1);
    memcpy(c->buf, val, vlen);
    c->buf[vlen] = '\0';
    c->len = vlen;
    c->expire = expire;
    return (int)vlen;
}

static int
get_str(struct dc_lru *t, const char *key, int64_t now, struct copy *c)
{
    memset(c, 0, sizeof(*c));
    return dc_lru_get(t, key, strlen(key), now, copy_out, c);
}

static int
put_str(struct dc_lru *t, const char *key, const char *val, int64_t expire)
{
    return dc_lru_put(t, key, strlen(key), val, strlen(val), expire);
}

static void
test_siphash_reference_vectors(void)
{
    uint8_t key[16], msg[64];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 64; i++)
        msg[i] = (uint8_t)i;
    /* From the SipHash paper (appendix A) and the reference implementation's vectors.h. */
    ASSERT_UINT_EQ(dc_lru_siphash(key, msg, 15), 0xa129ca6149be45e5ULL);
    ASSERT_UINT_EQ(dc_lru_siphash(key, msg, 0), 0x726fdb47dd0e0e31ULL);
    ASSERT_UINT_EQ(dc_lru_siphash(key, msg, 8), 0x93f5f5799a932462ULL);
    ASSERT_UINT_EQ(dc_lru_siphash(key, msg, 63), 0x958a324ceb064572ULL);

    /* Two tables draw different keys, so their hashes of the same bytes differ. */
    struct dc_lru *a = dc_lru_new(4096, 1), *b = dc_lru_new(4096, 1);
    ASSERT(dc_lru_hash(a, "example", 7) != dc_lru_hash(b, "example", 7));
    ASSERT_UINT_EQ(dc_lru_hash(a, "example", 7), dc_lru_hash(a, "example", 7));
    dc_lru_free(a);
    dc_lru_free(b);
}

static void
test_put_get_replace_remove(void)
{
    struct dc_lru *t = dc_lru_new(1 << 20, 4);
    size_t e = dc_lru_bytes(t);
    struct copy c;
    ASSERT_EQ(get_str(t, "k1", 0, &c), DC_LRU_MISS);
    ASSERT_EQ(put_str(t, "k1", "value-one", 100), 0);
    ASSERT_EQ(put_str(t, "k2", "v2", INT64_MAX), 0);
    ASSERT_EQ(get_str(t, "k1", 5, &c), 9);
    ASSERT_STR_EQ(c.buf, "value-one");
    ASSERT_EQ(c.expire, 100);
    ASSERT_EQ(dc_lru_count(t), 2);
    ASSERT_EQ(dc_lru_bytes(t), e + COST(2, 9) + COST(2, 2));

    /* Replacing keeps one entry and charges the new size. */
    ASSERT_EQ(put_str(t, "k1", "1", 200), 0);
    ASSERT_EQ(get_str(t, "k1", 150, &c), 1);
    ASSERT_STR_EQ(c.buf, "1");
    ASSERT_EQ(dc_lru_count(t), 2);
    ASSERT_EQ(dc_lru_bytes(t), e + COST(2, 1) + COST(2, 2));

    /* A key that is a prefix of another is a different key. */
    ASSERT_EQ(get_str(t, "k", 0, &c), DC_LRU_MISS);

    /* A NULL visitor still reports the hit. */
    ASSERT_EQ(dc_lru_get(t, "k2", 2, 0, NULL, NULL), 0);

    ASSERT(dc_lru_remove(t, "k1", 2));
    ASSERT(!dc_lru_remove(t, "k1", 2));
    ASSERT_EQ(get_str(t, "k1", 0, &c), DC_LRU_MISS);
    ASSERT_EQ(dc_lru_count(t), 1);
    ASSERT_EQ(dc_lru_bytes(t), e + COST(2, 2));
    dc_lru_free(t);
    dc_lru_free(NULL);
}

static void
test_expired_entry_misses_and_is_freed(void)
{
    struct dc_lru *t = dc_lru_new(1 << 20, 1);
    size_t e = dc_lru_bytes(t);
    struct copy c;
    ASSERT_EQ(put_str(t, "a", "x", 10), 0);
    ASSERT_EQ(put_str(t, "b", "y", 10), 0);
    ASSERT_EQ(get_str(t, "a", 9, &c), 1);
    ASSERT_EQ(dc_lru_count(t), 2);
    ASSERT_EQ(get_str(t, "a", 10, &c), DC_LRU_MISS); /* now == expire is already a miss */
    ASSERT_EQ(dc_lru_count(t), 1);
    ASSERT_EQ(get_str(t, "a", 9, &c), DC_LRU_MISS); /* gone, not just hidden */
    ASSERT_EQ(get_str(t, "b", 11, &c), DC_LRU_MISS);
    ASSERT_EQ(dc_lru_count(t), 0);
    ASSERT_EQ(dc_lru_bytes(t), e);
    dc_lru_free(t);
}

static void
test_lru_order_protects_touched_entries(void)
{
    /* Room for exactly three entries of 1-byte key + 1-byte value. */
    size_t max = empty_one_shard() + 3 * COST(1, 1);
    struct dc_lru *t = dc_lru_new(max, 1);
    struct copy c;
    ASSERT_EQ(put_str(t, "a", "1", INT64_MAX), 0);
    ASSERT_EQ(put_str(t, "b", "2", INT64_MAX), 0);
    ASSERT_EQ(put_str(t, "c", "3", INT64_MAX), 0);
    ASSERT_EQ(dc_lru_count(t), 3);
    /* Touch "a": "b" is now the least recently used and goes first. */
    ASSERT_EQ(get_str(t, "a", 0, &c), 1);
    ASSERT_EQ(put_str(t, "d", "4", INT64_MAX), 0);
    ASSERT_EQ(dc_lru_count(t), 3);
    ASSERT_EQ(get_str(t, "b", 0, &c), DC_LRU_MISS);
    ASSERT_EQ(get_str(t, "a", 0, &c), 1);
    ASSERT_EQ(get_str(t, "c", 0, &c), 1);
    ASSERT_EQ(get_str(t, "d", 0, &c), 1);
    /* Replacing counts as use: "a" is now coldest after the gets above, refresh it. */
    ASSERT_EQ(put_str(t, "a", "9", INT64_MAX), 0);
    ASSERT_EQ(put_str(t, "e", "5", INT64_MAX), 0);
    ASSERT_EQ(get_str(t, "c", 0, &c), DC_LRU_MISS);
    ASSERT_EQ(get_str(t, "a", 0, &c), 1);
    ASSERT_STR_EQ(c.buf, "9");
    /* A bigger entry evicts as many as it needs. */
    const char *big = "0123456789012345678901234567890123456789";
    ASSERT_GT(COST(1, strlen(big)), COST(1, 1));
    ASSERT_LE(COST(1, strlen(big)), 2 * COST(1, 1));
    ASSERT_EQ(put_str(t, "f", big, INT64_MAX), 0);
    ASSERT_LE(dc_lru_bytes(t), max);
    ASSERT_EQ(dc_lru_count(t), 2);
    ASSERT_EQ(get_str(t, "f", 0, &c), (int)strlen(big));
    dc_lru_free(t);
}

static void
test_budget_never_exceeded(void)
{
    const size_t max = 64 * 1024;
    struct dc_lru *t = dc_lru_new(max, 4);
    char key[32], val[200];
    memset(val, 'v', sizeof(val));
    for (int i = 0; i < 20000; i++) {
        int kl = snprintf(key, sizeof(key), "key-%d", i);
        size_t vl = (size_t)(i * 7919) % sizeof(val);
        ASSERT_EQ(dc_lru_put(t, key, (size_t)kl, val, vl, INT64_MAX), 0);
        if (i % 97 == 0)
            ASSERT_LE(dc_lru_bytes(t), max);
    }
    ASSERT_LE(dc_lru_bytes(t), max);
    ASSERT_GT(dc_lru_count(t), 100);
    ASSERT_LT(dc_lru_count(t), 20000);
    /* The most recent key is always there. */
    struct copy c;
    ASSERT_GE(get_str(t, "key-19999", 0, &c), 0);
    dc_lru_free(t);
}

/*
 * The budget is heap, as malloc counts it: a table of many small entries (where rounding
 * and headers weigh most) under budgets of 64K to 1M and 1 to 16 shards never holds more
 * heap than max_bytes, measured by the counting allocator after every put, and what it
 * reports bounds that heap from above within malloc's 16-byte reuse slack per block.
 */
static void
test_heap_held_within_budget(void)
{
#if !COUNT_ALLOC
    fprintf(stderr, "   skipped: sanitizer builds replace malloc, no counting interposer\n");
#else
    static const size_t budgets[] = {64 * 1024, 100 * 1000, 1 << 20};
    static const unsigned shards[] = {1, 4, 16};
    char key[32], val[300];
    memset(val, 'v', sizeof(val));
    for (size_t b = 0; b < 3; b++) {
        for (size_t sh = 0; sh < 3; sh++) {
            long long before = n_heap_bytes;
            struct dc_lru *t = dc_lru_new(budgets[b], shards[sh]);
            ASSERT_NOT_NULL(t);
            for (int i = 0; i < 30000; i++) {
                int kl = snprintf(key, sizeof(key), "k%d", i);
                size_t vl = (size_t)(i * 7919) % (i % 10 ? 24 : sizeof(val));
                ASSERT_EQ(dc_lru_put(t, key, (size_t)kl, val, vl, INT64_MAX), 0);
                long long held = n_heap_bytes - before;
                ASSERT_LE(held, (long long)budgets[b]);
                ASSERT_LE(held, (long long)dc_lru_bytes(t));
                ASSERT_LE((long long)dc_lru_bytes(t) - held,
                          16 * (long long)(dc_lru_count(t) + shards[sh] + 2));
            }
            ASSERT_LE(dc_lru_bytes(t), budgets[b]);
            /* Most of the budget is in use (the bound's slack costs a few percent). */
            ASSERT_GT(dc_lru_bytes(t), budgets[b] * 8 / 10);
            dc_lru_free(t);
            ASSERT_EQ(n_heap_bytes, before);
        }
    }
#endif
}

static void
test_entry_larger_than_shard_share(void)
{
    /* Room for one entry with a 100-byte value; the next size class does not fit. */
    struct dc_lru *t = dc_lru_new(empty_one_shard() + COST(1, 100), 1);
    size_t over = 100;
    while (COST(1, over) == COST(1, 100))
        over++;
    char val[200] = {0};
    ASSERT_EQ(dc_lru_put(t, "k", 1, val, 100, INT64_MAX), 0);
    ASSERT_EQ(dc_lru_put(t, "k", 1, val, over, INT64_MAX), -E2BIG);
    /* The failed replace left the old entry alone. */
    ASSERT_EQ(dc_lru_get(t, "k", 1, 0, NULL, NULL), 0);
    ASSERT_EQ(dc_lru_count(t), 1);
    dc_lru_free(t);

    t = dc_lru_new(0, 1);
    ASSERT_EQ(dc_lru_put(t, "k", 1, "v", 1, INT64_MAX), -E2BIG);
    dc_lru_free(t);

    /* A small budget is not cut into 16 useless slivers: 64K asked over 16 shards is one
     * shard, so an entry of 60K still fits. Four shards' worth keeps four shards of about
     * 64K each: 60K fits, 64K does not. */
    static char huge[DC_LRU_MIN_SHARD_BYTES];
    t = dc_lru_new(DC_LRU_MIN_SHARD_BYTES, 16);
    ASSERT_EQ(dc_lru_put(t, "k", 1, huge, 60 * 1024, INT64_MAX), 0);
    dc_lru_free(t);
    t = dc_lru_new(4 * DC_LRU_MIN_SHARD_BYTES, 16);
    ASSERT_EQ(dc_lru_put(t, "k", 1, huge, 60 * 1024, INT64_MAX), 0);
    ASSERT_EQ(dc_lru_put(t, "k", 1, huge, sizeof(huge), INT64_MAX), -E2BIG);
    dc_lru_free(t);
}

/* Keys whose hashes share their low 8 bits land in one bucket (one shard, fewer than 256
 * buckets): the chain must still tell them apart, through removals and growth. */
static void
test_keys_in_same_bucket(void)
{
    struct dc_lru *t = dc_lru_new(1 << 20, 1);
    enum { N = 24 };
    char keys[N][16];
    int n = 0;
    uint64_t want = dc_lru_hash(t, "seed", 4) & 0xff;
    for (int i = 0; n < N && i < 1000000; i++) {
        char k[16];
        int kl = snprintf(k, sizeof(k), "c%d", i);
        if ((dc_lru_hash(t, k, (size_t)kl) & 0xff) == want)
            memcpy(keys[n++], k, sizeof(k));
    }
    ASSERT_EQ(n, N);
    for (int i = 0; i < N; i++)
        ASSERT_EQ(put_str(t, keys[i], keys[i], INT64_MAX), 0);
    /* Enough other keys to force the bucket array to double a few times. */
    for (int i = 0; i < 200; i++) {
        char k[16];
        snprintf(k, sizeof(k), "o%d", i);
        ASSERT_EQ(put_str(t, k, "o", INT64_MAX), 0);
    }
    struct copy c;
    for (int i = 0; i < N; i++) {
        ASSERT_EQ(get_str(t, keys[i], 0, &c), (int)strlen(keys[i]));
        ASSERT_STR_EQ(c.buf, keys[i]);
    }
    /* Remove from the middle of the chain, then check the others. */
    for (int i = 0; i < N; i += 3)
        ASSERT(dc_lru_remove(t, keys[i], strlen(keys[i])));
    for (int i = 0; i < N; i++)
        ASSERT_EQ(get_str(t, keys[i], 0, &c) >= 0, i % 3 != 0);
    ASSERT_EQ(dc_lru_count(t), 200 + N - (N + 2) / 3);
    dc_lru_free(t);
}

static bool
starts_with_x(void *arg, const void *key, size_t klen, const void *val, size_t vlen, int64_t expire)
{
    int *calls = arg;
    (*calls)++;
    return klen > 0 && ((const char *)key)[0] == 'x';
}

struct sums {
    size_t n, kbytes, vbytes;
    int64_t min_expire;
};

static bool
sum_entries(void *arg, const void *key, size_t klen, const void *val, size_t vlen, int64_t expire)
{
    struct sums *s = arg;
    s->n++;
    s->kbytes += klen;
    s->vbytes += vlen;
    if (expire < s->min_expire)
        s->min_expire = expire;
    return true; /* ignored by foreach */
}

static void
test_remove_if_and_foreach(void)
{
    struct dc_lru *t = dc_lru_new(1 << 20, 1);
    char k[16];
    for (int i = 0; i < 50; i++) {
        snprintf(k, sizeof(k), "x%02d", i);
        ASSERT_EQ(put_str(t, k, "ab", 1000 + i), 0);
        snprintf(k, sizeof(k), "y%02d", i);
        ASSERT_EQ(put_str(t, k, "abc", 2000 + i), 0);
    }
    struct sums s = {.min_expire = INT64_MAX};
    dc_lru_foreach(t, sum_entries, &s);
    ASSERT_EQ(s.n, 100);
    ASSERT_EQ(s.kbytes, 300);
    ASSERT_EQ(s.vbytes, 250);
    ASSERT_EQ(s.min_expire, 1000);
    size_t full = dc_lru_bytes(t);

    int calls = 0;
    ASSERT_EQ(dc_lru_remove_if(t, starts_with_x, &calls), 50);
    ASSERT_EQ(calls, 100);
    ASSERT_EQ(dc_lru_count(t), 50);
    ASSERT_EQ(dc_lru_bytes(t), full - 50 * COST(3, 2));
    struct copy c;
    ASSERT_EQ(get_str(t, "x00", 0, &c), DC_LRU_MISS);
    ASSERT_EQ(get_str(t, "y00", 0, &c), 3);

    ASSERT_EQ(dc_lru_remove_if(t, NULL, NULL), 50);
    ASSERT_EQ(dc_lru_count(t), 0);
    /* Only the table's structures remain (the bucket array keeps the size it grew to). */
    ASSERT_EQ(dc_lru_bytes(t), full - 50 * COST(3, 2) - 50 * COST(3, 3));
    ASSERT_GT(dc_lru_bytes(t), empty_one_shard());
    /* The emptied table is usable again. */
    ASSERT_EQ(put_str(t, "z", "1", INT64_MAX), 0);
    ASSERT_EQ(dc_lru_count(t), 1);
    dc_lru_free(t);
}

/* ---- Threads: random put/get/remove on overlapping keys. ---- */

enum { THREADS = 4, OPS = 40000, KEYS = 600 };

struct worker {
    struct dc_lru *t;
    uint32_t seed;
    size_t hits;
};

static uint32_t
xorshift(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* A value is its key repeated, so a reader can check it never sees a torn or foreign one. */
static int
check_value(void *arg, const void *val, size_t vlen, int64_t expire)
{
    const char *key = arg;
    size_t kl = strlen(key);
    if (vlen % kl != 0)
        return 1;
    for (size_t i = 0; i < vlen; i += kl)
        if (memcmp((const char *)val + i, key, kl) != 0)
            return 1;
    return 0;
}

static void *
worker_main(void *arg)
{
    struct worker *w = arg;
    char key[16], val[16 * 40];
    for (int i = 0; i < OPS; i++) {
        uint32_t r = xorshift(&w->seed);
        int kl = snprintf(key, sizeof(key), "k%u", r % KEYS);
        switch ((r >> 16) % 8) {
        case 0:
        case 1:
        case 2: {
            size_t reps = 1 + (r >> 20) % 40;
            for (size_t j = 0; j < reps; j++)
                memcpy(val + j * (size_t)kl, key, (size_t)kl);
            int rc = dc_lru_put(w->t, key, (size_t)kl, val, reps * (size_t)kl,
                                (r & 1) ? INT64_MAX : 500);
            ASSERT_EQ(rc, 0);
            break;
        }
        case 3:
            (void)dc_lru_remove(w->t, key, (size_t)kl);
            break;
        default: {
            int rc = dc_lru_get(w->t, key, (size_t)kl, i % 1000, check_value, key);
            ASSERT(rc == 0 || rc == DC_LRU_MISS);
            w->hits += rc == 0;
        }
        }
    }
    return NULL;
}

static void
test_threads_random_put_get(void)
{
    const size_t max = 96 * 1024;
    struct dc_lru *t = dc_lru_new(max, 4);
    pthread_t th[THREADS];
    struct worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){.t = t, .seed = 0x9e3779b9u * (uint32_t)(i + 1)};
        ASSERT_EQ(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    size_t hits = 0;
    for (int i = 0; i < THREADS; i++) {
        ASSERT_EQ(pthread_join(th[i], NULL), 0);
        hits += w[i].hits;
    }
    ASSERT_GT(hits, 0);
    ASSERT_LE(dc_lru_bytes(t), max);
    ASSERT_LE(dc_lru_count(t), KEYS);
    struct sums s = {.min_expire = INT64_MAX};
    dc_lru_foreach(t, sum_entries, &s);
    ASSERT_EQ(s.n, dc_lru_count(t));
    dc_lru_free(t);
}

int
main(void)
{
    TEST_RUN(test_siphash_reference_vectors);
    TEST_RUN(test_put_get_replace_remove);
    TEST_RUN(test_expired_entry_misses_and_is_freed);
    TEST_RUN(test_lru_order_protects_touched_entries);
    TEST_RUN(test_budget_never_exceeded);
    TEST_RUN(test_heap_held_within_budget);
    TEST_RUN(test_entry_larger_than_shard_share);
    TEST_RUN(test_keys_in_same_bucket);
    TEST_RUN(test_remove_if_and_foreach);
    TEST_RUN(test_threads_random_put_get);
    return 0;
}
