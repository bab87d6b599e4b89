#include "resolver/worker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "resolver/iter.h"
#include "resolver/listen.h"

const char *const dr_stat_names[DR_STAT_COUNT] = {
    "queries_udp",       "queries_tcp",        "cache_hits",        "cache_misses",
    "local_answers",     "inflight_joins",     "upstream_udp",      "upstream_tcp",
    "upstream_timeouts", "upstream_errors",    "answers_noerror",   "answers_formerr",
    "answers_servfail",  "answers_nxdomain",   "answers_notimp",    "answers_refused",
    "answers_other",     "refused_clients",    "dropped",           "truncated",
    "tcp_connections",
};

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
