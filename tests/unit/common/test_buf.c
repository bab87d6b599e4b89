/* Unit tests for common/buf.c: reuse, the keep bound, accounting. */
#include "common/buf.h"

#include "test.h"

static void
test_reuse_and_keep(void)
{
    struct dc_bufpool p;
    dc_bufpool_init(&p, 4096, 2);
    void *a = dc_buf_get(&p), *b = dc_buf_get(&p), *c = dc_buf_get(&p);
    ASSERT(a && b && c);
    memset(a, 1, 4096);
    ASSERT_EQ(p.out, 3);
    dc_buf_put(&p, a);
    dc_buf_put(&p, b);
    dc_buf_put(&p, c); /* beyond keep: freed */
    ASSERT_EQ(p.nfree, 2);
    ASSERT_EQ(p.out, 0);
    void *d = dc_buf_get(&p);
    ASSERT(d == b); /* last returned comes back first */
    dc_buf_put(&p, d);
    dc_buf_put(&p, NULL);
    dc_bufpool_deinit(&p);
    ASSERT_EQ(p.nfree, 0);
}

static void
test_tiny_size_rounds_up(void)
{
    struct dc_bufpool p;
    dc_bufpool_init(&p, 1, 4);
    ASSERT_GE(p.size, sizeof(void *));
    void *a = dc_buf_get(&p);
    dc_buf_put(&p, a);
    dc_bufpool_deinit(&p);
}

int
main(void)
{
    TEST_RUN(test_reuse_and_keep);
    TEST_RUN(test_tiny_size_rounds_up);
    return 0;
}
