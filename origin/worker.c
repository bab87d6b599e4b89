/* The worker helpers the connection, response and control code call back into: counter
 * names, the duration histogram, the cached Date value. Apart from main.c so that the core
 * library links (and unit-tests) without the daemon's entry point. */
#include "origin/worker.h"

#include <time.h>

#include "common/stats.h"
#include "origin/cond.h"

const char *const dw_stat_names[DW_STAT_COUNT] = {
    "connections",       "connections_refused", "handshakes_full", "handshakes_resumed",
    "handshake_failures", "requests",           "status_1xx",      "status_2xx",
    "status_3xx",        "status_4xx",          "status_5xx",      "bytes_out",
    "timeouts",          "duration_le_1ms",     "duration_le_5ms", "duration_le_25ms",
    "duration_le_100ms", "duration_le_500ms",   "duration_le_1s",  "duration_le_5s",
    "duration_over_5s",  "duration_sum_us",
};

const uint32_t dw_dur_bounds_ms[DW_DUR_BUCKETS - 1] = {1, 5, 25, 100, 500, 1000, 5000};

void
dw_worker_observe_duration(struct dw_worker *wk, uint64_t us)
{
    unsigned b = 0;
    while (b < DW_DUR_BUCKETS - 1 && us > (uint64_t)dw_dur_bounds_ms[b] * 1000)
        b++;
    dc_stats_inc(wk->stats, DW_STAT_DUR_1MS + b);
    dc_stats_add(wk->stats, DW_STAT_DUR_SUM_US, us);
}

const char *
dw_worker_date(struct dw_worker *wk)
{
    time_t now = time(NULL);
    if (now != wk->date_t) {
        wk->date_t = now;
        dw_cond_date_format(now, wk->date);
    }
    return wk->date;
}
