/*
 * Per-worker counters with no lock and no atomic read-modify-write on the hot path.
 *
 * Each worker owns one row of counters, cache-line aligned so rows never share a line. Only
 * that worker writes its row (a relaxed load + store, i.e. plain moves on x86); readers on
 * other threads sum the rows with relaxed loads, getting a value that is at most a moment
 * old and never torn.
 */
#ifndef DUET_COMMON_STATS_H
#define DUET_COMMON_STATS_H

#include <stddef.h>
#include <stdint.h>

struct dc_stats {
    unsigned workers, counters;
    size_t stride;   /* uint64_t per row, rounded up to a cache line */
    uint64_t *rows;  /* workers * stride, 64-byte aligned */
    const char *const *names; /* counters names, for printing; may be NULL */
};

/* Allocates zeroed rows. names (may be NULL) must outlive the stats. 0 or -ENOMEM. */
int dc_stats_init(struct dc_stats *s, unsigned workers, unsigned counters,
                  const char *const *names);
void dc_stats_deinit(struct dc_stats *s);

/* The row a worker increments. */
static inline uint64_t *
dc_stats_row(const struct dc_stats *s, unsigned worker)
{
    return s->rows + (size_t)worker * s->stride;
}

/* Adds n to counter idx of a row. Only the row's own worker may call this. */
static inline void
dc_stats_add(uint64_t *row, unsigned idx, uint64_t n)
{
    __atomic_store_n(&row[idx], __atomic_load_n(&row[idx], __ATOMIC_RELAXED) + n,
                     __ATOMIC_RELAXED);
}

static inline void
dc_stats_inc(uint64_t *row, unsigned idx)
{
    dc_stats_add(row, idx, 1);
}

/* Sum of counter idx over every worker; safe from any thread. */
uint64_t dc_stats_sum(const struct dc_stats *s, unsigned idx);
/* One worker's value of counter idx; safe from any thread. */
uint64_t dc_stats_get(const struct dc_stats *s, unsigned worker, unsigned idx);

#endif
