#include "common/lifecycle.h"

#include "common/log.h"
#include "common/notify.h"
#include "common/priv.h"
#include "common/worker.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The main thread's view of the daemon; only ever moves forward. */
enum dstate {
    D_STARTING, /* prepare, privilege drop, workers starting */
    D_RUNNING,  /* READY=1 sent, serving */
    D_STOPPING, /* workers told to stop, drain timer running */
    D_ABORTING, /* deadline passed or second signal: workers told to abort */
};

struct dc_daemon {
    struct dc_daemon_opts opts;
    const struct dc_daemon_ops *ops;
    void *user_data;
    struct dc_worker *workers;
    unsigned nworkers;
    unsigned nthreads; /* worker threads actually created */
    unsigned finished; /* atomic: workers whose loop is closed */
    bool stop_req;     /* atomic: set by dc_daemon_request_stop() */
    enum dstate state; /* main thread only */
    int exit_code;
    uint64_t watchdog_gen;
    uv_sem_t started;
    uv_loop_t loop;
    uv_async_t async; /* "a worker finished" and "stop requested" */
    uv_signal_t sig_term, sig_int, sig_hup;
    uv_timer_t drain_timer, watchdog_timer;
};

static void
control_all(struct dc_daemon *d, enum dc_worker_ctl what, uint64_t gen)
{
    for (unsigned i = 0; i < d->nworkers; i++)
        if (d->workers[i].has_thread)
            dc_worker_control(&d->workers[i], what, gen);
}

static void
abort_all(struct dc_daemon *d)
{
    d->state = D_ABORTING;
    uv_timer_stop(&d->drain_timer);
    unsigned left = d->nthreads - __atomic_load_n(&d->finished, __ATOMIC_ACQUIRE);
    DC_LOG_WARN("drain_abort", "workers_left=%u", left);
    control_all(d, DC_WORKER_ABORT, 0);
}

static void
on_drain_timeout(uv_timer_t *t)
{
    abort_all(t->data);
}

static void
begin_stop(struct dc_daemon *d, const char *why)
{
    if (d->state == D_STOPPING) {
        DC_LOG_WARN("daemon_stop_again", "reason=%s", why);
        abort_all(d);
        return;
    }
    if (d->state == D_ABORTING)
        return;
    d->state = D_STOPPING;
    if (d->ops->main_stop != NULL)
        d->ops->main_stop(d);
    DC_LOG_INFO("daemon_stopping", "reason=%s drain_ms=%llu", why,
                (unsigned long long)d->opts.drain_ms);
    dc_notify("STOPPING=1");
    uv_timer_stop(&d->watchdog_timer);
    control_all(d, DC_WORKER_STOP, 0);
    if (d->opts.drain_ms == 0)
        abort_all(d);
    else
        uv_timer_start(&d->drain_timer, on_drain_timeout, d->opts.drain_ms, 0);
}

static void
send_status(struct dc_daemon *d)
{
    char buf[512] = "";
    if (d->ops->status != NULL) {
        d->ops->status(d, buf, sizeof(buf));
        buf[sizeof(buf) - 1] = '\0';
    } else {
        snprintf(buf, sizeof(buf), "serving %u workers", d->nworkers);
    }
    dc_notifyf("STATUS=%s", buf);
}

/* READY=1 follows RELOADING=1 whatever the outcome: a refused reload leaves the old config
 * serving, which is still a finished reload as far as systemd is concerned. */
static int
do_reload(struct dc_daemon *d)
{
    if (d->state != D_RUNNING) {
        DC_LOG_WARN("reload_ignored", "reason=stopping");
        return -EBUSY;
    }
    dc_notify("RELOADING=1");
    int err = d->ops->reload != NULL ? d->ops->reload(d) : -ENOTSUP;
    if (err == 0)
        DC_LOG_INFO("reload", "result=accepted");
    else
        DC_LOG_WARN("reload", "result=refused reason=\"%s\"", err < 0 ? strerror(-err) : "error");
    dc_notify("READY=1");
    send_status(d);
    return err;
}

int
dc_daemon_reload(struct dc_daemon *d)
{
    return do_reload(d);
}

static void
on_signal(uv_signal_t *h, int signum)
{
    struct dc_daemon *d = h->data;
    if (signum == SIGHUP)
        do_reload(d);
    else
        begin_stop(d, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

static void
on_main_async(uv_async_t *h)
{
    struct dc_daemon *d = h->data;
    if (__atomic_exchange_n(&d->stop_req, false, __ATOMIC_ACQ_REL))
        begin_stop(d, "request");
    unsigned done = __atomic_load_n(&d->finished, __ATOMIC_ACQUIRE);
    if (done > 0 && d->state == D_RUNNING) {
        /* A loop ended without being asked to: serving on with fewer workers hides a bug. */
        DC_LOG_ERROR("worker_exited", "finished=%u workers=%u", done, d->nthreads);
        d->exit_code = 1;
        begin_stop(d, "worker_exited");
    }
    if (done == d->nthreads && d->state >= D_STOPPING) {
        uv_timer_stop(&d->drain_timer);
        uv_stop(&d->loop);
    }
}

/* WATCHDOG=1 only when every live worker answered the previous ping: a worker stuck in a
 * callback should get the daemon restarted, not be hidden by a responsive main thread. */
static void
on_watchdog(uv_timer_t *t)
{
    struct dc_daemon *d = t->data;
    bool alive = true;
    for (unsigned i = 0; i < d->nworkers; i++) {
        struct dc_worker *w = &d->workers[i];
        if (!w->has_thread || dc_worker_closed(w))
            continue;
        if (__atomic_load_n(&w->pong, __ATOMIC_RELAXED) != d->watchdog_gen) {
            DC_LOG_WARN("worker_stuck", "worker=%u", w->id);
            alive = false;
        }
    }
    if (alive)
        dc_notify("WATCHDOG=1");
    d->watchdog_gen++;
    control_all(d, DC_WORKER_PING, d->watchdog_gen);
}

/*
 * Worker threads get every asynchronous signal blocked (threads inherit the creator's mask),
 * so the kernel delivers SIGTERM and friends to the main thread and workers' system calls
 * are never interrupted. Synchronous faults stay unblocked: a blocked SIGSEGV would kill the
 * process without a sanitizer report.
 */
static int
start_workers(struct dc_daemon *d)
{
    sigset_t mask, old;
    sigfillset(&mask);
    int sync_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS};
    for (size_t i = 0; i < sizeof(sync_signals) / sizeof(sync_signals[0]); i++)
        sigdelset(&mask, sync_signals[i]);
    pthread_sigmask(SIG_SETMASK, &mask, &old);
    int err = 0;
    for (unsigned i = 0; i < d->nworkers; i++) {
        struct dc_worker *w = &d->workers[i];
        err = dc_worker_spawn(w);
        if (err != 0) {
            DC_LOG_ERROR("worker_start_failed", "worker=%u step=thread reason=\"%s\"", i,
                         uv_strerror(err));
            break;
        }
        d->nthreads++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    for (unsigned i = 0; i < d->nthreads; i++)
        uv_sem_wait(&d->started);
    for (unsigned i = 0; i < d->nthreads && err == 0; i++)
        err = d->workers[i].start_err != 0 ? -ECANCELED : 0;
    return err;
}

static int
main_open(struct dc_daemon *d)
{
    int err = uv_loop_init(&d->loop);
    if (err != 0)
        return err;
    if ((err = uv_async_init(&d->loop, &d->async, on_main_async)) != 0 ||
        (err = uv_timer_init(&d->loop, &d->drain_timer)) != 0 ||
        (err = uv_timer_init(&d->loop, &d->watchdog_timer)) != 0)
        return err;
    d->async.data = d->drain_timer.data = d->watchdog_timer.data = d;
    uv_signal_t *sigs[] = {&d->sig_term, &d->sig_int, &d->sig_hup};
    int nums[] = {SIGTERM, SIGINT, SIGHUP};
    for (int i = 0; i < 3; i++) {
        if ((err = uv_signal_init(&d->loop, sigs[i])) != 0)
            return err;
        sigs[i]->data = d;
        if ((err = uv_signal_start(sigs[i], on_signal, nums[i])) != 0)
            return err;
    }
    return 0;
}

static void
close_any(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* Also undoes a partial main_open(): whatever was initialised is in the loop's list. */
static void
main_close(struct dc_daemon *d)
{
    uv_walk(&d->loop, close_any, NULL);
    uv_run(&d->loop, UV_RUN_DEFAULT);
    int err = uv_loop_close(&d->loop);
    if (err != 0)
        DC_LOG_ERROR("main_loop_close", "reason=\"%s\"", uv_strerror(err));
}

static void
daemon_free(struct dc_daemon *d)
{
    for (unsigned i = 0; i < d->nworkers; i++)
        dc_worker_deinit(&d->workers[i]);
    uv_sem_destroy(&d->started);
    free(d->workers);
    free(d);
}

static struct dc_daemon *
daemon_new(const struct dc_daemon_opts *opts, const struct dc_daemon_ops *ops, void *user_data)
{
    struct dc_daemon *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->workers = calloc(opts->workers, sizeof(*d->workers));
    if (d->workers == NULL || uv_sem_init(&d->started, 0) != 0) {
        free(d->workers);
        free(d);
        return NULL;
    }
    d->opts = *opts;
    d->ops = ops;
    d->user_data = user_data;
    /* Workers exist (and accept posts) before prepare() runs; their threads come later. */
    for (unsigned i = 0; i < opts->workers; i++) {
        if (dc_worker_init(&d->workers[i], d, i, ops, &d->started, &d->async, &d->finished)) {
            daemon_free(d); /* deinits only the d->nworkers made so far */
            return NULL;
        }
        d->nworkers++;
    }
    return d;
}

/*
 * The stop is decided: a further SIGTERM, SIGINT or SIGHUP asks for nothing more. Once
 * main_close() closes the loop's signal handles their default actions are back, and one
 * arriving then (systemd or an operator repeating itself) would kill the process on its
 * way out, after cleanup and with exit code 0 logged, through the sanitizers' exit checks.
 * Blocked in this thread (the workers block every signal), they stay pending until exit;
 * dc_daemon_run ignores them once the handles are gone, for any thread (libuv's pool) that
 * does not block them.
 */
static void
block_stop_signals(void)
{
    sigset_t stopping;
    sigemptyset(&stopping);
    sigaddset(&stopping, SIGTERM);
    sigaddset(&stopping, SIGINT);
    sigaddset(&stopping, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stopping, NULL);
}

/*
 * Signal handlers go in before prepare() so that a SIGTERM during a slow start-up is not
 * lost: it waits in the loop's signal pipe and stops the daemon as soon as the loop runs.
 * READY=1 goes out only after every worker_start() returned 0, which is what lets systemd
 * (and the tests) start clients without probing ports.
 */
int
dc_daemon_run(const struct dc_daemon_opts *opts, const struct dc_daemon_ops *ops, void *user_data)
{
    if (opts->workers == 0 || ops->worker_start == NULL) {
        DC_LOG_ERROR("daemon_start_failed", "reason=\"no workers or no worker_start\"");
        return 1;
    }
    /* A peer closing a connection must cost one write error, not the process. */
    signal(SIGPIPE, SIG_IGN);
    struct dc_daemon *d = daemon_new(opts, ops, user_data);
    if (d == NULL) {
        DC_LOG_ERROR("daemon_start_failed", "reason=\"out of memory\"");
        return 1;
    }
    int err = main_open(d);
    if (err != 0) {
        DC_LOG_ERROR("daemon_start_failed", "step=loop reason=\"%s\"", uv_strerror(err));
        main_close(d);
        daemon_free(d);
        return 1;
    }
    /* A prepare() that fails undoes its own work; once it succeeded, cleanup() always runs. */
    err = ops->prepare != NULL ? ops->prepare(d) : 0;
    if (err != 0) {
        DC_LOG_ERROR("daemon_start_failed", "step=prepare reason=\"%s\"",
                     err < 0 ? strerror(-err) : "error");
        main_close(d);
        daemon_free(d);
        return 1;
    }
    if (opts->user != NULL && *opts->user != '\0' && dc_priv_drop(opts->user, opts->group) != 0) {
        d->exit_code = 1; /* dc_priv_drop() logged why */
        goto out;
    }

    if (start_workers(d) != 0) {
        d->exit_code = 1;
        begin_stop(d, "start_failed");
        uv_async_send(&d->async); /* checks for "all finished" even if no thread started */
    } else if (ops->main_start != NULL && (err = ops->main_start(d, &d->loop)) != 0) {
        DC_LOG_ERROR("daemon_start_failed", "step=main_start reason=\"%s\"",
                     err < 0 ? strerror(-err) : "error");
        d->exit_code = 1;
        begin_stop(d, "start_failed");
        uv_async_send(&d->async);
    } else {
        d->state = D_RUNNING;
        DC_LOG_INFO("daemon_ready", "workers=%u", d->nworkers);
        dc_notify("READY=1");
        send_status(d);
        uint64_t wd_usec = dc_notify_watchdog_usec();
        if (wd_usec != 0) {
            uint64_t ms = wd_usec / 2000 ? wd_usec / 2000 : 1;
            uv_timer_start(&d->watchdog_timer, on_watchdog, ms, ms);
        }
        /* A stop requested during start-up is handled once the loop runs. */
        uv_async_send(&d->async);
    }
    while (__atomic_load_n(&d->finished, __ATOMIC_ACQUIRE) != d->nthreads || d->state < D_STOPPING)
        uv_run(&d->loop, UV_RUN_DEFAULT);
    for (unsigned i = 0; i < d->nworkers; i++)
        dc_worker_join(&d->workers[i]);

out:
    block_stop_signals();
    if (ops->cleanup != NULL)
        ops->cleanup(d);
    main_close(d);
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    int code = d->exit_code;
    daemon_free(d);
    DC_LOG_INFO("daemon_exit", "code=%d", code);
    return code;
}

void *
dc_daemon_data(struct dc_daemon *d)
{
    return d->user_data;
}

unsigned
dc_daemon_workers(struct dc_daemon *d)
{
    return d->nworkers;
}

struct dc_worker *
dc_daemon_worker(struct dc_daemon *d, unsigned i)
{
    return i < d->nworkers ? &d->workers[i] : NULL;
}

void
dc_daemon_request_stop(struct dc_daemon *d)
{
    __atomic_store_n(&d->stop_req, true, __ATOMIC_RELEASE);
    uv_async_send(&d->async);
}

/* The CPUs this process may run on (taskset, cpusets), which is what uv_available_parallelism()
 * reports in newer libuv; all online CPUs if the affinity mask is unavailable. */
unsigned
dc_lifecycle_cpu_count(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0)
            return (unsigned)n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}
