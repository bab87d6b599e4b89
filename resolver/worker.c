#include "resolver/worker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "resolver/listen.h"

const char *const dr_stat_names[DR_STAT_COUNT] = {
    "queries_udp",
    "queries_tcp",
    "cache_hits",
    "cache_misses",
    "local_answers",
    "inflight_joins",
    "upstream_udp",
    "upstream_tcp",
    "upstream_timeouts",
    "upstream_errors",
    "answers_noerror",
    "answers_formerr",
    "answers_servfail",
    "answers_nxdomain",
    "answers_notimp",
    "answers_refused",
    "answers_other",
    "refused_clients",
    "dropped",
    "truncated",
    "tcp_connections",
    "inflight_full",
    "resolve_deadlines",
    "prefetches",
    "stale_answers",
    "dnssec_secure",
    "dnssec_insecure",
    "dnssec_bogus",
    "dnssec_indeterminate",
    "dnssec_key_cache_hits",
    "rtt_le_1ms",
    "rtt_le_5ms",
    "rtt_le_10ms",
    "rtt_le_25ms",
    "rtt_le_50ms",
    "rtt_le_100ms",
    "rtt_le_250ms",
    "rtt_le_500ms",
    "rtt_le_1s",
    "rtt_over_1s",
    "rtt_sum_us",
    "upstream_sockets_opened",
    "upstream_sockets_reused",
    "upstream_mismatches",
    "redis_hits",
    "redis_misses",
    "redis_errors",
    "redis_timeouts",
    "redis_stores",
};

const uint32_t dr_rtt_bounds_ms[DR_RTT_BUCKETS - 1] = {1, 5, 10, 25, 50, 100, 250, 500, 1000};

void
dr_worker_observe_rtt(struct dr_worker *wk, uint64_t rtt_us)
{
    unsigned b = 0;
    while (b < DR_RTT_BUCKETS - 1 && rtt_us > (uint64_t)dr_rtt_bounds_ms[b] * 1000)
        b++;
    dc_stats_inc(wk->stats, DR_STAT_RTT_1MS + b);
    dc_stats_add(wk->stats, DR_STAT_RTT_SUM_US, rtt_us);
}

uint32_t
dr_worker_random(struct dr_worker *wk)
{
    /* arc4random (glibc 2.36) is a CSPRNG; drawing 16 words at a time keeps its locking off
     * the per-query path. */
    if (wk->rnd_left == 0) {
        arc4random_buf(wk->rnd_pool, sizeof(wk->rnd_pool));
        wk->rnd_left = sizeof(wk->rnd_pool) / sizeof(wk->rnd_pool[0]);
    }
    return wk->rnd_pool[--wk->rnd_left];
}
