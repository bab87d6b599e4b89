#include "resolver/driver.h"

#include <errno.h>

#include "common/trace.h"
#include "resolver/anchor.h"
#include "resolver/mesh.h"
#include "resolver/redis.h"
#include "resolver/trace.h"
#include "resolver/upstream.h"
#include "resolver/worker.h"

#define TICK_MS 100

struct exchange {
    struct dr_worker *wk;
    struct dr_res *res;
    struct dr_upstream *up;
};

static void
on_upstream(void *arg, enum dr_upstream_status st, const uint8_t *reply, size_t len,
            uint32_t rtt_ms)
{
    struct exchange *x = arg;
    struct dr_worker *wk = x->wk;
    struct dr_res *res = x->res;
    free(x);
    wk->upstreams--;
    enum dr_iter_outcome o = DR_ITER_REPLY;
    if (st == DR_UPSTREAM_TIMEOUT) {
        o = DR_ITER_TIMEOUT;
        dc_stats_inc(wk->stats, DR_STAT_UPSTREAM_TIMEOUTS);
    } else if (st != DR_UPSTREAM_OK) {
        o = DR_ITER_NETERR;
        dc_stats_inc(wk->stats, DR_STAT_UPSTREAM_ERRORS);
    } else {
        dr_worker_observe_rtt(wk, (uint64_t)rtt_ms * 1000);
    }
    if (DC_TRACE_ON())
        dr_trace_reply(wk, dr_mesh_iter(res), (int)o, reply, len, rtt_ms);
    dr_mesh_upstream_done(wk->mesh, res, o, reply, len, rtt_ms);
}

/* The pool's limits from the configuration in force (outgoing-range may change on reload). */
static struct dr_upstream_limits
pool_limits(const struct dr_worker *wk)
{
    return (struct dr_upstream_limits){
        .max_sockets = (size_t)wk->conf->outgoing_range,
        .max_uses = DR_UPSTREAM_MAX_USES,
        .max_age_ms = DR_UPSTREAM_MAX_AGE_MS,
    };
}

static void
on_pool_event(void *arg, enum dr_upstream_event ev)
{
    struct dr_worker *wk = arg;
    static const unsigned stat[] = {
        [DR_UPSTREAM_SOCKET_OPENED] = DR_STAT_UPSTREAM_SOCKETS,
        [DR_UPSTREAM_SOCKET_REUSED] = DR_STAT_UPSTREAM_REUSED,
        [DR_UPSTREAM_MISMATCH] = DR_STAT_UPSTREAM_MISMATCHES,
    };
    dc_stats_inc(wk->stats, stat[ev]);
}

static void *
io_send(void *arg, struct dr_res *res, const struct dr_iter_action *a)
{
    struct dr_worker *wk = arg;
    if (wk->upool == NULL || wk->upstreams >= (size_t)wk->conf->outgoing_range) {
        dc_stats_inc(wk->stats, DR_STAT_UPSTREAM_ERRORS);
        return NULL;
    }
    const union dc_sockaddr *src = NULL;
    for (size_t i = 0; i < wk->conf->outgoing.n && src == NULL; i++)
        if (wk->conf->outgoing.v[i].sa.sa_family == a->server->sa.sa_family)
            src = &wk->conf->outgoing.v[i];
    if (src == NULL)
        return NULL;
    struct exchange *x = malloc(sizeof(*x));
    if (x == NULL)
        return NULL;
    x->wk = wk;
    x->res = res;
    struct dr_upstream_limits lim = pool_limits(wk);
    dr_upstream_pool_set_limits(wk->upool, &lim);
    int rc = dr_upstream_send(wk->upool, a->server, src, a->query, a->qlen, a->tcp, a->timeout_ms,
                              on_upstream, x, &x->up);
    if (rc < 0) {
        free(x);
        dc_stats_inc(wk->stats, DR_STAT_UPSTREAM_ERRORS);
        return NULL;
    }
    wk->upstreams++;
    dc_stats_inc(wk->stats, a->tcp ? DR_STAT_UPSTREAM_TCP : DR_STAT_UPSTREAM_UDP);
    if (DC_TRACE_ON())
        dr_trace_send(wk, dr_mesh_iter(res), a);
    return x;
}

static void
io_cancel(void *arg, void *exchange)
{
    struct dr_worker *wk = arg;
    struct exchange *x = exchange;
    dr_upstream_cancel(x->up);
    free(x);
    wk->upstreams--;
}

static uint32_t
rnd(void *arg)
{
    return dr_worker_random(arg);
}

static void
io_env(void *arg, struct dr_iter_env *env)
{
    struct dr_worker *wk = arg;
    env->conf = wk->conf;
    env->cache = wk->sh->cache;
    env->deleg = wk->sh->deleg;
    env->hints = &wk->sh->hints;
    env->infra = &wk->infra;
    env->now = dr_now();
    env->now_ms = uv_now(wk->loop);
    env->random = rnd;
    env->random_arg = wk;
    env->dnssec = wk->conf->dnssec;
    env->anchors = wk->conf->anchors;
    env->val_bogus_ttl = (uint32_t)(wk->conf->val_bogus_ttl_ms / 1000);
    env->stale_life =
        wk->conf->serve_expired ? (uint32_t)(wk->conf->serve_expired_ttl_ms / 1000) : 0;
    /* Only validated records go in and only validation lets them out: both need anchors. */
    env->validating = wk->conf->dnssec && wk->conf->anchors && wk->conf->anchors->nzones > 0;
    env->aggr = env->validating && wk->conf->aggressive_nsec ? wk->sh->aggr : NULL;
    env->keys = env->validating ? wk->sh->keys : NULL;
    env->trust = wk->conf->serial;
}

static void
io_count(void *arg, enum dr_mesh_event ev)
{
    struct dr_worker *wk = arg;
    static const unsigned stat[] = {
        [DR_MESH_JOINED] = DR_STAT_INFLIGHT_JOINS,
        [DR_MESH_FULL] = DR_STAT_INFLIGHT_FULL,
        [DR_MESH_DEADLINE] = DR_STAT_RESOLVE_DEADLINES,
        [DR_MESH_SECURE] = DR_STAT_DNSSEC_SECURE,
        [DR_MESH_INSECURE] = DR_STAT_DNSSEC_INSECURE,
        [DR_MESH_BOGUS] = DR_STAT_DNSSEC_BOGUS,
        [DR_MESH_INDETERMINATE] = DR_STAT_DNSSEC_INDETERMINATE,
        [DR_MESH_KEY_CACHE_HIT] = DR_STAT_DNSSEC_KEY_CACHE_HITS,
    };
    dc_stats_inc(wk->stats, stat[ev]);
}

/* A finished answer goes to the shared cache too (a no-op when redis is off). */
static void
io_stored(void *arg, const uint8_t *qname, uint16_t qtype, uint16_t qclass, const uint8_t *wire,
          size_t len, const uint8_t *dnssec_wire, size_t dlen, const struct dr_cache_sec *sec)
{
    struct dr_worker *wk = arg;
    dr_redis_store(wk->redis, qname, qtype, qclass, wire, len, dnssec_wire, dlen, sec);
}

static const struct dr_mesh_io io = {
    .send = io_send,
    .cancel = io_cancel,
    .env = io_env,
    .count = io_count,
    .stored = io_stored,
};

static void
on_tick(uv_timer_t *t)
{
    struct dr_worker *wk = t->data;
    dr_mesh_tick(wk->mesh, uv_now(wk->loop));
}

int
dr_driver_start(struct dr_worker *wk)
{
    wk->mesh = dr_mesh_new(&io, wk, (uint64_t)wk->id * 1000000000u);
    if (wk->mesh == NULL)
        return -ENOMEM;
    struct dr_upstream_limits lim = pool_limits(wk);
    wk->upool = dr_upstream_pool_new(wk->loop, &lim, on_pool_event, wk);
    if (wk->upool == NULL)
        return -ENOMEM;
    int rc = uv_timer_init(wk->loop, &wk->tick);
    if (rc < 0)
        return rc;
    wk->tick.data = wk;
    rc = uv_timer_start(&wk->tick, on_tick, TICK_MS, TICK_MS);
    if (rc < 0)
        return rc;
    return dr_redis_open(wk, &wk->redis);
}

void
dr_driver_close(struct dr_worker *wk)
{
    if (wk->tick.loop && !uv_is_closing((uv_handle_t *)&wk->tick))
        uv_close((uv_handle_t *)&wk->tick, NULL);
    dr_upstream_pool_close(wk->upool);
    dr_redis_close(wk->redis);
}

void
dr_driver_free(struct dr_worker *wk)
{
    dr_mesh_free(wk->mesh);
    wk->mesh = NULL;
    dr_upstream_pool_free(wk->upool);
    wk->upool = NULL;
    dr_redis_free(wk->redis);
    wk->redis = NULL;
}
