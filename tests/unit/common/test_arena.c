/* Unit tests for common/arena.c. */
#include "common/arena.h"

#include <stdalign.h>
#include <stdint.h>

#include "test.h"

static void
test_alloc_aligned_and_distinct(void)
{
    struct dc_arena a;
    dc_arena_init(&a, 128);
    char *prev = NULL;
    for (int i = 1; i < 200; i++) {
        char *p = dc_arena_alloc(&a, (size_t)(i % 37) + 1);
        ASSERT_NOT_NULL(p);
        ASSERT_EQ((uintptr_t)p % alignof(max_align_t), 0);
        memset(p, i & 0xff, (size_t)(i % 37) + 1);
        ASSERT(p != prev);
        prev = p;
    }
    dc_arena_deinit(&a);
}

static void
test_outsized_allocation_keeps_current_block(void)
{
    struct dc_arena a;
    dc_arena_init(&a, 256);
    char *small1 = dc_arena_alloc(&a, 16);
    char *big = dc_arena_alloc(&a, 10000);
    char *small2 = dc_arena_alloc(&a, 16);
    ASSERT_NOT_NULL(big);
    memset(big, 1, 10000);
    /* The small ones come from the same 256-byte block. */
    ASSERT_LT(small2 - small1, 256);
    dc_arena_deinit(&a);
}

static void
test_reset_reuses_first_block(void)
{
    struct dc_arena a;
    dc_arena_init(&a, 256);
    char *first = dc_arena_alloc(&a, 8);
    for (int i = 0; i < 50; i++)
        ASSERT_NOT_NULL(dc_arena_alloc(&a, 64));
    dc_arena_reset(&a);
    char *again = dc_arena_alloc(&a, 8);
    ASSERT(again == first);
    dc_arena_reset(&a);
    dc_arena_reset(&a); /* resetting an empty arena is fine */
    dc_arena_deinit(&a);
    dc_arena_deinit(&a); /* and so is freeing twice */
}

static void
test_strdup_and_push(void)
{
    struct dc_arena a;
    dc_arena_init(&a, 0);
    ASSERT_STR_EQ(dc_arena_strdup(&a, "hello"), "hello");
    ASSERT_STR_EQ(dc_arena_strndup(&a, "hello", 3), "hel");
    int *v = NULL;
    size_t n = 0;
    for (int i = 0; i < 1000; i++) {
        int *e = dc_arena_push(&a, (void **)&v, &n, sizeof(int));
        ASSERT_NOT_NULL(e);
        ASSERT_EQ(*e, 0);
        *e = i;
    }
    ASSERT_EQ(n, 1000);
    for (int i = 0; i < 1000; i++)
        ASSERT_EQ(v[i], i);
    char *z = dc_arena_calloc(&a, 100);
    for (int i = 0; i < 100; i++)
        ASSERT_EQ(z[i], 0);
    dc_arena_deinit(&a);
}

int
main(void)
{
    TEST_RUN(test_alloc_aligned_and_distinct);
    TEST_RUN(test_outsized_allocation_keeps_current_block);
    TEST_RUN(test_reset_reuses_first_block);
    TEST_RUN(test_strdup_and_push);
    return 0;
}
