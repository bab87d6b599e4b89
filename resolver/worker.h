/*
 * duet-resolver's state: what all workers share (configuration, caches, counters, the bound
 * sockets) and what each worker owns (its loop, sockets, buffers, server knowledge, the
 * resolutions in flight). main.c wires these to common/lifecycle.
 */
#ifndef DUET_RESOLVER_WORKER_H
#define DUET_RESOLVER_WORKER_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>

#include "common/lifecycle.h"
#include "common/lru.h"
#include "common/stats.h"
#include "resolver/cache.h"
#include "resolver/conf.h"
#include "resolver/deleg.h"
#include "resolver/infra.h"
#include "resolver/mesh.h"

/* Counters, one row per worker (common/stats.h). Keep dr_stat_names in step. */
enum dr_stat {
    DR_STAT_QUERIES_UDP,
    DR_STAT_QUERIES_TCP,
    DR_STAT_CACHE_HITS,
    DR_STAT_CACHE_MISSES,
    DR_STAT_LOCAL_ANSWERS,
    DR_STAT_INFLIGHT_JOINS,
    DR_STAT_UPSTREAM_UDP,
    DR_STAT_UPSTREAM_TCP,
    DR_STAT_UPSTREAM_TIMEOUTS,
    DR_STAT_UPSTREAM_ERRORS,
    DR_STAT_ANSWERS_NOERROR,
    DR_STAT_ANSWERS_FORMERR,
    DR_STAT_ANSWERS_SERVFAIL,
    DR_STAT_ANSWERS_NXDOMAIN,
    DR_STAT_ANSWERS_NOTIMP,
    DR_STAT_ANSWERS_REFUSED,
    DR_STAT_ANSWERS_OTHER,
    DR_STAT_REFUSED_CLIENTS,
    DR_STAT_DROPPED,
    DR_STAT_TRUNCATED,
    DR_STAT_TCP_CONNECTIONS,
    DR_STAT_INFLIGHT_FULL,     /* num-queries-per-thread reached: SERVFAIL */
    DR_STAT_RESOLVE_DEADLINES, /* resolutions ended by their deadline */
    DR_STAT_PREFETCHES,        /* background refreshes of answers near their expiry */
    DR_STAT_STALE_ANSWERS,     /* expired answers served (serve-expired) */
    DR_STAT_DNSSEC_SECURE,     /* resolutions validated, by status (resolver/val.h) */
    DR_STAT_DNSSEC_INSECURE,
    DR_STAT_DNSSEC_BOGUS,
    DR_STAT_DNSSEC_INDETERMINATE,
    DR_STAT_DNSSEC_KEY_CACHE_HITS, /* chain-of-trust walks started from cached keys */
    /* Upstream RTT histogram: replies within each bound (not cumulative), and the sum. */
    DR_STAT_RTT_1MS,
    DR_STAT_RTT_5MS,
    DR_STAT_RTT_10MS,
    DR_STAT_RTT_25MS,
    DR_STAT_RTT_50MS,
    DR_STAT_RTT_100MS,
    DR_STAT_RTT_250MS,
    DR_STAT_RTT_500MS,
    DR_STAT_RTT_1S,
    DR_STAT_RTT_INF,
    DR_STAT_RTT_SUM_US,
    /* The upstream socket pool (resolver/upstream.c). */
    DR_STAT_UPSTREAM_SOCKETS,    /* UDP sockets opened */
    DR_STAT_UPSTREAM_REUSED,     /* UDP queries sent on a socket that carried one before */
    DR_STAT_UPSTREAM_MISMATCHES, /* datagrams that answered no query, dropped */
    /* The shared cache in Redis (resolver/redis.c). */
    DR_STAT_REDIS_HITS,     /* local misses answered from a Redis value */
    DR_STAT_REDIS_MISSES,   /* GETs that found nothing */
    DR_STAT_REDIS_ERRORS,   /* failed connects and commands, lost connections, refused values */
    DR_STAT_REDIS_TIMEOUTS, /* GETs (and connects) not answered within redis-timeout */
    DR_STAT_REDIS_STORES,   /* answers written back */
    DR_STAT_COUNT
};
#define DR_RTT_BUCKETS 10
extern const uint32_t dr_rtt_bounds_ms[DR_RTT_BUCKETS - 1];
extern const char *const dr_stat_names[DR_STAT_COUNT];

struct dr_local;

struct dr_shared {
    struct dc_daemon *daemon;
    struct dr_conf *conf; /* the configuration in force (replaced by reloads) */
    const char *conf_path;
    size_t nlisten;  /* listening addresses bound at start (fds layout) */
    int64_t started; /* wall clock */
    struct dc_control *control, *metrics;
    struct dr_cache *cache; /* finished answers, the fast path */
    struct dc_lru *deleg;   /* zone cuts (resolver/deleg.h) */
    struct dc_lru *aggr;    /* validated NSEC records per zone (resolver/aggressive.h) */
    struct dc_lru *keys;    /* trusted DNSKEY sets per zone (resolver/keycache.h) */
    struct dr_deleg hints;  /* the root's cut from the root hints */
    struct dr_local *local; /* local zones from the configuration */
    struct dc_stats stats;
    unsigned workers;
    int *fds;              /* per worker: listen.n UDP fds then listen.n TCP fds */
    uint64_t primed_until; /* wall clock: the root NS set is fresh until then */
};

struct dr_tcp_conn;
struct dr_res;

struct dr_worker {
    struct dc_worker *w;
    struct dr_shared *sh;
    /* The configuration this worker serves with: the shared one until a reload hands it
     * a new one (resolver/main.c), so every read of an option goes through here. */
    const struct dr_conf *conf;
    uv_loop_t *loop;
    unsigned id;
    uint64_t *stats;
    uv_udp_t *udp; /* listen.n handles */
    uv_tcp_t *tcp;
    size_t nlisten;
    bool stopping;
    size_t tcp_clients;
    struct dr_tcp_conn *conns; /* every open client connection, for stop/abort */
    struct dr_infra infra;
    struct dr_mesh *mesh;           /* resolutions in flight (resolver/mesh.c) */
    uv_timer_t tick;                /* their deadlines (resolver/driver.c) */
    size_t upstreams;               /* upstream exchanges open */
    struct dr_upstream_pool *upool; /* their UDP sockets (resolver/upstream.c) */
    struct dr_redis *redis; /* the shared cache's client; NULL when off (resolver/redis.c) */
    uint32_t rnd_pool[16];  /* arc4random refills, for IDs and 0x20 */
    unsigned rnd_left;
    struct dr_udp_batch *udp_batch; /* receive buffer and replies of a batch (udp.c) */
    uint8_t out[65536 + 2];         /* reply scratch: one reply at a time */
    uint8_t stale_buf[65536];       /* a stale answer read for a client (serve-expired) */
};

static inline int64_t
dr_now(void)
{
    return (int64_t)time(NULL);
}

uint32_t dr_worker_random(struct dr_worker *wk);
/* Counts an upstream reply's round-trip time in the histogram. */
void dr_worker_observe_rtt(struct dr_worker *wk, uint64_t rtt_us);

#endif
