/* dc_stats: layout (aligned, padded rows), exact sums, and readers racing real writer threads. */
#include "common/stats.h"

#include "test.h"

#include <uv.h>

enum { C_QUERIES, C_HITS, C_MISSES, C_COUNT };
static const char *const names[] = {"queries", "hits", "misses"};

static void
test_rows_are_line_aligned(void)
{
    struct dc_stats s;
    for (unsigned counters = 1; counters <= 17; counters++) {
        ASSERT_EQ(dc_stats_init(&s, 3, counters, names), 0);
        ASSERT_EQ(s.stride % 8, 0);
        ASSERT_GE(s.stride, counters);
        for (unsigned w = 0; w < 3; w++) {
            ASSERT_EQ((uintptr_t)dc_stats_row(&s, w) % 64, 0);
            for (unsigned c = 0; c < counters; c++)
                ASSERT_UINT_EQ(dc_stats_row(&s, w)[c], 0);
        }
        dc_stats_deinit(&s);
        ASSERT_NULL(s.rows);
    }
}

static void
test_sum_and_get(void)
{
    struct dc_stats s;
    ASSERT_EQ(dc_stats_init(&s, 4, C_COUNT, names), 0);
    ASSERT_STR_EQ(s.names[C_HITS], "hits");
    for (unsigned w = 0; w < 4; w++) {
        uint64_t *row = dc_stats_row(&s, w);
        for (unsigned i = 0; i <= w; i++)
            dc_stats_inc(row, C_QUERIES);
        dc_stats_add(row, C_HITS, 100u * w);
    }
    ASSERT_UINT_EQ(dc_stats_sum(&s, C_QUERIES), 1 + 2 + 3 + 4);
    ASSERT_UINT_EQ(dc_stats_sum(&s, C_HITS), 100 * (0 + 1 + 2 + 3));
    ASSERT_UINT_EQ(dc_stats_sum(&s, C_MISSES), 0);
    ASSERT_UINT_EQ(dc_stats_get(&s, 2, C_QUERIES), 3);
    ASSERT_UINT_EQ(dc_stats_get(&s, 3, C_HITS), 300);
    dc_stats_deinit(&s);
}

static void
test_zero_workers_or_counters(void)
{
    struct dc_stats s;
    ASSERT_EQ(dc_stats_init(&s, 0, 0, NULL), 0);
    dc_stats_deinit(&s);
    ASSERT_EQ(dc_stats_init(&s, 0, 2, NULL), 0);
    ASSERT_UINT_EQ(dc_stats_sum(&s, 1), 0);
    dc_stats_deinit(&s);
}

enum { THREADS = 4, ROUNDS = 1000000 };

struct writer {
    struct dc_stats *s;
    unsigned id;
    uv_thread_t thread;
};

static void
writer_main(void *arg)
{
    struct writer *w = arg;
    uint64_t *row = dc_stats_row(w->s, w->id);
    for (unsigned i = 0; i < ROUNDS; i++) {
        dc_stats_inc(row, C_QUERIES);
        if (i % 2 == 0)
            dc_stats_inc(row, C_HITS);
    }
}

/* Each thread owns its row; the main thread keeps summing meanwhile. A counter only grows,
 * so successive sums never go down, and the final sum is exact: no increment is lost. */
static void
test_concurrent_writers_monotonic_sum(void)
{
    struct dc_stats s;
    ASSERT_EQ(dc_stats_init(&s, THREADS, C_COUNT, names), 0);
    struct writer w[THREADS];
    for (unsigned i = 0; i < THREADS; i++) {
        w[i].s = &s;
        w[i].id = i;
        ASSERT_EQ(uv_thread_create(&w[i].thread, writer_main, &w[i]), 0);
    }
    uint64_t last = 0, reads = 0;
    while (last < (uint64_t)THREADS * ROUNDS && reads < 100000000) {
        uint64_t now = dc_stats_sum(&s, C_QUERIES);
        ASSERT_GE(now, last);
        last = now;
        reads++;
    }
    for (unsigned i = 0; i < THREADS; i++)
        ASSERT_EQ(uv_thread_join(&w[i].thread), 0);
    ASSERT_UINT_EQ(dc_stats_sum(&s, C_QUERIES), (uint64_t)THREADS * ROUNDS);
    ASSERT_UINT_EQ(dc_stats_sum(&s, C_HITS), (uint64_t)THREADS * ROUNDS / 2);
    for (unsigned i = 0; i < THREADS; i++)
        ASSERT_UINT_EQ(dc_stats_get(&s, i, C_QUERIES), ROUNDS);
    fprintf(stderr, "   %" PRIu64 " reads while writing\n", reads);
    dc_stats_deinit(&s);
}

int
main(void)
{
    TEST_RUN(test_rows_are_line_aligned);
    TEST_RUN(test_sum_and_get);
    TEST_RUN(test_zero_workers_or_counters);
    TEST_RUN(test_concurrent_writers_monotonic_sum);
    return 0;
}
