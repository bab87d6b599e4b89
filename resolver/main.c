/* duet-resolver: parses arguments and configuration, then wires the resolver's modules to
 * the daemon lifecycle of common/. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cli.h"
#include "common/lifecycle.h"
#include "common/listen.h"
#include "common/log.h"
#include "common/control.h"
#include "resolver/cachefile.h"
#include "resolver/conf.h"
#include "resolver/control.h"
#include "resolver/hints.h"
#include "resolver/driver.h"
#include "resolver/listen.h"
#include "resolver/localzone.h"
#include "resolver/trustprobe.h"
#include "resolver/udp.h"
#include "resolver/redis.h"
#include "resolver/worker.h"

#define DRAIN_POLL_MS 50

static struct dr_shared shared;

/*
 * RFC 5011 (resolver/trustprobe.c): worker 0 probes the managed trust points; when their
 * trusted keys change it asks the main thread, through this async handle, for the reload a
 * SIGHUP would do (the new configuration reads the anchor files again). A request made
 * before the main loop runs (or while it stops) is remembered, not lost.
 */
static struct dr_trustprobe *trustprobe; /* worker 0's; freed by cleanup() */
static uv_async_t anchor_async;
static pthread_mutex_t anchor_lock = PTHREAD_MUTEX_INITIALIZER;
static bool anchor_async_open, anchor_reload_wanted;

static void
on_anchor_reload(uv_async_t *a)
{
    pthread_mutex_lock(&anchor_lock);
    anchor_reload_wanted = false;
    pthread_mutex_unlock(&anchor_lock);
    if (dc_daemon_reload(a->data) != 0)
        DC_LOG_WARN("trust_anchor_reload",
                    "result=refused detail=\"the trust anchors in force stay until a reload "
                    "succeeds\"");
}

/* Worker 0's thread. */
static void
request_anchor_reload(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&anchor_lock);
    anchor_reload_wanted = true;
    if (anchor_async_open)
        uv_async_send(&anchor_async);
    pthread_mutex_unlock(&anchor_lock);
}

static int
prepare(struct dc_daemon *d)
{
    struct dr_shared *sh = dc_daemon_data(d);
    const struct dr_conf *c = sh->conf;
    struct dc_conf_errors errs = {NULL, 0};
    if (dr_hints_load(c->root_hints, &sh->hints, &errs) > 0) {
        for (size_t i = 0; i < errs.n; i++)
            dc_log(DC_LOG_ERROR, "root_hints", "error=\"%s\"", errs.msgs[i]);
        dc_conf_errors_deinit(&errs);
        return -EINVAL;
    }
    struct dr_cache_policy pol = {
        .min_ttl = (uint32_t)(c->cache_min_ttl_ms / 1000),
        .max_ttl = (uint32_t)(c->cache_max_ttl_ms / 1000),
        .max_negative_ttl = (uint32_t)(c->cache_max_negative_ttl_ms / 1000),
    };
    /* cache-size is all the caches' memory, split between answers and cuts (cache.h). */
    size_t answer_bytes, deleg_bytes;
    dr_cache_split(c->cache_size, &answer_bytes, &deleg_bytes);
    sh->cache = dr_cache_new(answer_bytes, 16, &pol);
    /* The NSEC records kept for aggressive use (RFC 8198) take a quarter of the cuts'
     * share (a few hundred bytes each, at most DR_AGGR_MAX_NSEC per zone), the key cache an
     * eighth (a zone's DNSKEY set: a few hundred bytes). */
    sh->deleg = dc_lru_new(deleg_bytes - deleg_bytes / 4 - deleg_bytes / 8, 16);
    sh->aggr = dc_lru_new(deleg_bytes / 4, 16);
    sh->keys = dc_lru_new(deleg_bytes / 8, 16);
    if (sh->cache == NULL || sh->deleg == NULL || sh->aggr == NULL || sh->keys == NULL ||
        dc_stats_init(&sh->stats, sh->workers, DR_STAT_COUNT, dr_stat_names) < 0)
        return -ENOMEM;
    sh->daemon = d;
    sh->started = dr_now();
    if (c->cache_file[0] != '\0') {
        struct dr_cachefile_error why;
        long got = dr_cachefile_load_diag(sh->cache, sh->deleg, c->cache_file, dr_now(), &why);
        if (got >= 0)
            dc_log(DC_LOG_INFO, "cache_loaded", "file=%s entries=%ld", c->cache_file, got);
        else if (got == -EINVAL)
            dc_log(DC_LOG_WARN, "cache_load_failed",
                   "file=%s entry=%ld offset=%" PRIu64 " error=\"%s\" action=start_empty",
                   c->cache_file, why.entry, why.offset, why.why);
        else if (got != -ENOENT)
            dc_log(DC_LOG_WARN, "cache_load_failed", "file=%s error=\"%s\" action=start_empty",
                   c->cache_file, strerror((int)-got));
    }
    size_t n = c->listen.n;
    sh->nlisten = n;
    sh->fds = malloc(sizeof(int) * 2 * n * sh->workers);
    if (sh->fds == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < 2 * n * sh->workers; i++)
        sh->fds[i] = -1;
    for (size_t i = 0; i < n; i++) {
        int rc = dc_listen_check_free(&c->listen.v[i], SOCK_DGRAM);
        if (rc < 0 || (rc = dc_listen_check_free(&c->listen.v[i], SOCK_STREAM)) < 0)
            return rc;
    }
    for (unsigned w = 0; w < sh->workers; w++) {
        for (size_t i = 0; i < n; i++) {
            char as[DC_ADDR_STRLEN];
            dc_addr_format(&c->listen.v[i], true, as, sizeof(as));
            bool su = false, st = false;
            int u = dc_listen_worker_fd(&c->listen.v[i], SOCK_DGRAM, NULL, &su);
            int t = u < 0 ? u : dc_listen_worker_fd(&c->listen.v[i], SOCK_STREAM, NULL, &st);
            if (u < 0 || t < 0) {
                dc_log(DC_LOG_ERROR, "listen_failed", "addr=%s transport=%s error=\"%s\"", as,
                       u < 0 ? "udp" : "tcp", strerror(-(u < 0 ? u : t)));
                if (u >= 0)
                    close(u);
                return u < 0 ? u : t;
            }
            sh->fds[(size_t)w * 2 * n + i] = u;
            sh->fds[(size_t)w * 2 * n + n + i] = t;
            if (w == 0)
                dc_log(DC_LOG_INFO, "listen", "addr=%s transports=udp,tcp udp_from=%s tcp_from=%s",
                       as, su ? "systemd" : "bind", st ? "systemd" : "bind");
        }
    }
    return 0;
}

static int
worker_start(struct dc_worker *w)
{
    struct dr_shared *sh = dc_daemon_data(dc_worker_daemon(w));
    struct dr_worker *wk = calloc(1, sizeof(*wk));
    if (wk == NULL)
        return -ENOMEM;
    dc_worker_set_data(w, wk);
    wk->w = w;
    wk->sh = sh;
    wk->conf = sh->conf;
    wk->loop = dc_worker_loop(w);
    wk->id = dc_worker_id(w);
    wk->stats = dc_stats_row(&sh->stats, wk->id);
    int rc = dr_infra_init(&wk->infra);
    if (rc == 0)
        rc = dr_driver_start(wk);
    if (rc == 0)
        rc = dr_listen_start(wk);
    if (rc < 0)
        return rc;
    if (wk->id == 0) {
        dr_mesh_prime(wk->mesh);
        rc = dr_trustprobe_open(wk, request_anchor_reload, NULL, &trustprobe);
    }
    return rc;
}

static void
drain_closed(uv_handle_t *h)
{
    (void)h;
}

/* While stopping: once no resolution is left, close the UDP sockets and this timer; the
 * worker's loop then runs out of handles and the worker ends. */
static void
on_drain_poll(uv_timer_t *t)
{
    struct dr_worker *wk = t->data;
    /* Resolutions, TCP clients, and clients waiting on the shared cache (a Redis GET ends
     * within redis-timeout, then the client is answered or resolved). */
    if ((wk->mesh && dr_mesh_count(wk->mesh) > 0) || wk->conns != NULL ||
        dr_redis_pending(wk->redis) > 0)
        return;
    dr_listen_abort(wk);
    dr_driver_close(wk);
    uv_close((uv_handle_t *)t, drain_closed);
}

static uv_timer_t *
drain_timer(struct dr_worker *wk)
{
    static _Thread_local uv_timer_t timer;
    return &timer;
    (void)wk;
}

static void
worker_stop(struct dc_worker *w)
{
    struct dr_worker *wk = dc_worker_data(w);
    wk->stopping = true;
    if (wk->id == 0)
        dr_trustprobe_close(trustprobe);
    if (wk->mesh)
        dr_mesh_stop(wk->mesh);
    dr_listen_stop(wk);
    uv_timer_t *t = drain_timer(wk);
    uv_timer_init(wk->loop, t);
    t->data = wk;
    uv_timer_start(t, on_drain_poll, 0, DRAIN_POLL_MS);
}

static void
worker_abort(struct dc_worker *w)
{
    struct dr_worker *wk = dc_worker_data(w);
    wk->stopping = true;
    if (wk->id == 0)
        dr_trustprobe_close(trustprobe);
    if (wk->mesh)
        dr_mesh_abort_all(wk->mesh);
    dr_listen_abort(wk);
    dr_driver_close(wk);
    uv_timer_t *t = drain_timer(wk);
    if (t->loop && !uv_is_closing((uv_handle_t *)t))
        uv_close((uv_handle_t *)t, drain_closed);
}

/*
 * Reload: a new configuration is loaded and checked exactly as at start; if it has errors
 * they are logged and the old one keeps serving. Otherwise each worker switches to it
 * through its message queue, so a resolution in flight simply reads the new options at its
 * next step, and the cache is kept. The old configuration is freed once every worker has
 * switched (checked at the next reload and at exit).
 */
struct conf_swap {
    struct dr_conf *old, *new;
    unsigned pending; /* workers yet to switch; atomic */
    struct conf_swap *next;
};

static struct conf_swap *retired;

static void
swap_on_worker(struct dc_worker *w, void *arg)
{
    struct conf_swap *sw = arg;
    struct dr_worker *wk = dc_worker_data(w);
    if (wk) {
        wk->conf = sw->new;
        if (dr_redis_reconfigure(wk, sw->old) != 0)
            DC_LOG_ERROR("redis_reconfigure_failed", "worker=%u reason=\"out of memory\"", wk->id);
    }
    __atomic_sub_fetch(&sw->pending, 1, __ATOMIC_ACQ_REL);
}

static void
free_retired(bool all)
{
    for (struct conf_swap **p = &retired; *p;) {
        struct conf_swap *sw = *p;
        if (all || __atomic_load_n(&sw->pending, __ATOMIC_ACQUIRE) == 0) {
            *p = sw->next;
            dr_conf_free(sw->old);
            free(sw);
        } else {
            p = &sw->next;
        }
    }
}

static void
warn_restart_only(const struct dr_conf *o, const struct dr_conf *n)
{
    bool listen = o->listen.n != n->listen.n;
    for (size_t i = 0; !listen && i < o->listen.n; i++)
        listen = !dc_addr_equal(&o->listen.v[i], &n->listen.v[i]);
    if (listen)
        DC_LOG_WARN("reload_needs_restart", "option=listen");
    if (o->daemon.workers != n->daemon.workers)
        DC_LOG_WARN("reload_needs_restart", "option=workers");
    if (o->cache_size != n->cache_size)
        DC_LOG_WARN("reload_needs_restart", "option=cache-size");
    if (strcmp(o->root_hints, n->root_hints) != 0)
        DC_LOG_WARN("reload_needs_restart", "option=root-hints");
    if (strcmp(o->control_socket, n->control_socket) != 0 || strcmp(o->metrics, n->metrics) != 0)
        DC_LOG_WARN("reload_needs_restart", "option=control-socket/metrics");
}

static int
reload(struct dc_daemon *d)
{
    struct dr_shared *sh = dc_daemon_data(d);
    free_retired(false);
    struct dr_conf *nc = dr_conf_new();
    if (nc == NULL)
        return -ENOMEM;
    struct dc_conf_errors errs = {NULL, 0};
    if (dc_conf_load(&dr_conf_schema, sh->conf_path, nc, &nc->arena, &errs) > 0) {
        for (size_t i = 0; i < errs.n; i++)
            dc_log(DC_LOG_ERROR, "reload_error", "error=\"%s\"", errs.msgs[i]);
        dc_conf_errors_deinit(&errs);
        dr_conf_free(nc);
        return -EINVAL;
    }
    struct conf_swap *sw = calloc(1, sizeof(*sw));
    if (sw == NULL) {
        dr_conf_free(nc);
        return -ENOMEM;
    }
    warn_restart_only(sh->conf, nc);
    dc_log_set_level(nc->daemon.log_level);
    dr_conf_log_dnssec(nc);
    sw->old = sh->conf;
    sw->new = nc;
    sw->pending = sh->workers;
    for (unsigned i = 0; i < sh->workers; i++)
        if (dc_worker_post(dc_daemon_worker(d, i), swap_on_worker, sw) < 0)
            __atomic_sub_fetch(&sw->pending, 1, __ATOMIC_ACQ_REL);
    sh->conf = nc;
    sw->next = retired;
    retired = sw;
    /* "Reloaded" (READY=1, the control reply) should mean the workers serve with the new
     * configuration: wait for them to switch, briefly (each does it on its next loop turn). */
    for (int i = 0; i < 2000 && __atomic_load_n(&sw->pending, __ATOMIC_ACQUIRE) > 0; i++)
        usleep(1000);
    if (__atomic_load_n(&sw->pending, __ATOMIC_ACQUIRE) > 0)
        DC_LOG_WARN("reload_slow", "workers_pending=%u", sw->pending);
    return 0;
}

static void
on_control(void *arg, int argc, char **argv, struct dc_control_reply *r)
{
    dr_control_command(arg, argc, argv, r);
}

static int
main_start(struct dc_daemon *d, uv_loop_t *loop)
{
    struct dr_shared *sh = dc_daemon_data(d);
    int rc = uv_async_init(loop, &anchor_async, on_anchor_reload);
    if (rc < 0)
        return rc;
    anchor_async.data = d;
    pthread_mutex_lock(&anchor_lock);
    anchor_async_open = true;
    if (anchor_reload_wanted)
        uv_async_send(&anchor_async);
    pthread_mutex_unlock(&anchor_lock);
    return dc_control_open_all(loop, sh->conf->control_socket, sh->conf->metrics, 9153, on_control,
                               dr_control_metrics, sh, &sh->control, &sh->metrics);
}

static void
main_stop(struct dc_daemon *d)
{
    struct dr_shared *sh = dc_daemon_data(d);
    pthread_mutex_lock(&anchor_lock);
    if (anchor_async_open)
        uv_close((uv_handle_t *)&anchor_async, NULL);
    anchor_async_open = false;
    pthread_mutex_unlock(&anchor_lock);
    dc_control_close_all(&sh->control, &sh->metrics);
}

static void
status(struct dc_daemon *d, char *buf, size_t size)
{
    struct dr_shared *sh = dc_daemon_data(d);
    snprintf(buf, size, "serving %u workers, %zu cached answers, %" PRIu64 " queries", sh->workers,
             dr_cache_count(sh->cache),
             dc_stats_sum(&sh->stats, DR_STAT_QUERIES_UDP) +
                 dc_stats_sum(&sh->stats, DR_STAT_QUERIES_TCP));
}

static void
cleanup(struct dc_daemon *d)
{
    struct dr_shared *sh = dc_daemon_data(d);
    if (sh->conf->cache_file[0] != '\0' && sh->cache) {
        long n = dr_cachefile_dump(sh->cache, sh->deleg, sh->conf->cache_file, dr_now());
        if (n >= 0)
            dc_log(DC_LOG_INFO, "cache_saved", "file=%s entries=%ld", sh->conf->cache_file, n);
        else
            dc_log(DC_LOG_WARN, "cache_save_failed", "file=%s error=\"%s\"", sh->conf->cache_file,
                   strerror((int)-n));
    }
    for (unsigned w = 0; w < sh->workers; w++) {
        struct dr_worker *wk = dc_worker_data(dc_daemon_worker(d, w));
        if (wk == NULL)
            continue;
        dr_driver_free(wk);
        dr_infra_deinit(&wk->infra);
        dr_udp_free(wk);
        free(wk->udp);
        free(wk->tcp);
        free(wk);
    }
    if (sh->fds) {
        for (size_t i = 0; i < 2 * sh->nlisten * sh->workers; i++)
            if (sh->fds[i] >= 0)
                close(sh->fds[i]);
        free(sh->fds);
    }
    dr_trustprobe_free(trustprobe);
    trustprobe = NULL;
    dr_cache_free(sh->cache);
    dc_lru_free(sh->deleg);
    dc_lru_free(sh->aggr);
    dc_lru_free(sh->keys);
    free_retired(true);
    dc_stats_deinit(&sh->stats);
}

int
main(int argc, char **argv)
{
    struct dc_cli cli;
    switch (
        dc_cli_parse(argc, argv, "duet-resolver", DR_CONF_DEFAULT_PATH, &dr_conf_schema, &cli)) {
    case DC_CLI_RUN:
        break;
    case DC_CLI_EXIT_OK:
        return 0;
    case DC_CLI_EXIT_USAGE:
        return 2;
    }
    struct dr_conf *conf = dr_conf_new();
    if (conf == NULL) {
        fprintf(stderr, "duet-resolver: out of memory\n");
        return 1;
    }
    int rc = dc_cli_load_config(&cli, "duet-resolver", &dr_conf_schema, conf, &conf->arena);
    if (rc >= 0) {
        dr_conf_free(conf);
        return rc;
    }
    dc_log_init(conf->daemon.log_level);
    struct dc_daemon_opts opts;
    dc_daemon_conf_opts(&conf->daemon, &opts);
    shared.conf = conf;
    shared.conf_path = cli.config_path;
    shared.workers = opts.workers;
    static const struct dc_daemon_ops ops = {
        .prepare = prepare,
        .worker_start = worker_start,
        .worker_stop = worker_stop,
        .worker_abort = worker_abort,
        .reload = reload,
        .status = status,
        .cleanup = cleanup,
        .main_start = main_start,
        .main_stop = main_stop,
    };
    dc_log(DC_LOG_INFO, "start", "version=%s workers=%u local_zones=%zu", DUET_VERSION,
           opts.workers, dr_local_count(conf->local));
    dr_conf_log_dnssec(conf);
    rc = dc_daemon_run(&opts, &ops, &shared);
    dr_conf_free(shared.conf); /* the one in force: the start-up one unless reloaded */
    return rc;
}
