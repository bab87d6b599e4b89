#include "common/stats.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A cache line on every CPU we build for; rows start on one so that two workers' counters
 * never share a line and a write by one never invalidates another's (false sharing). */
#define LINE     64
#define PER_LINE (LINE / sizeof(uint64_t))

int
dc_stats_init(struct dc_stats *s, unsigned workers, unsigned counters, const char *const *names)
{
    memset(s, 0, sizeof(*s));
    /* At least one line per row and one row, so that aligned_alloc never sees 0. */
    size_t stride = ((size_t)(counters ? counters : 1) + PER_LINE - 1) / PER_LINE * PER_LINE;
    size_t nrows = workers ? workers : 1;
    if (nrows > SIZE_MAX / sizeof(uint64_t) / stride)
        return -ENOMEM;
    size_t bytes = nrows * stride * sizeof(uint64_t); /* a multiple of LINE, as C11 requires */
    uint64_t *rows = aligned_alloc(LINE, bytes);
    if (rows == NULL)
        return -ENOMEM;
    memset(rows, 0, bytes);
    s->workers = workers;
    s->counters = counters;
    s->stride = stride;
    s->rows = rows;
    s->names = names;
    return 0;
}

void
dc_stats_deinit(struct dc_stats *s)
{
    free(s->rows);
    s->rows = NULL;
    s->workers = s->counters = 0;
}

/* Relaxed loads pair with the writers' relaxed stores: each value read is one the worker
 * actually stored (no tearing), and a row's counter never goes backwards, so the sum of
 * rows read one after another is a slightly stale but monotonic total. */
uint64_t
dc_stats_sum(const struct dc_stats *s, unsigned idx)
{
    assert(idx < s->counters);
    uint64_t sum = 0;
    for (unsigned w = 0; w < s->workers; w++)
        sum += __atomic_load_n(&dc_stats_row(s, w)[idx], __ATOMIC_RELAXED);
    return sum;
}

uint64_t
dc_stats_get(const struct dc_stats *s, unsigned worker, unsigned idx)
{
    assert(worker < s->workers && idx < s->counters);
    return __atomic_load_n(&dc_stats_row(s, worker)[idx], __ATOMIC_RELAXED);
}
