/*
 * The daemon's life: worker threads with a loop each, signals, graceful stop, reload and
 * sd_notify, shared by both daemons.
 *
 * dc_daemon_run() does, in order:
 *   1. ops->prepare() on the main thread: bind every listening fd (still root here);
 *   2. dc_priv_drop(user, group) when a user is configured; failure ends the run;
 *   3. starts opts.workers threads; each makes its uv_loop_t and calls ops->worker_start()
 *      on its own thread (adopt fds into the loop, start reading); if any fails, the
 *      daemon stops with an error;
 *   4. once every worker has started: sends READY=1 and STATUS=, and runs the main loop:
 *      - SIGTERM / SIGINT: STOPPING=1, ops->worker_stop() on each worker (stop accepting,
 *        let in-flight work finish), and a drain deadline of opts.drain_ms. A worker whose
 *        loop runs out of active handles has drained and exits its thread. At the deadline
 *        (or on a second SIGTERM/SIGINT) ops->worker_abort() runs on the remaining workers
 *        to close everything now;
 *      - SIGHUP: RELOADING=1, ops->reload() on the main thread, then READY=1 (whether the
 *        reload was accepted or refused: a refused reload keeps the old config serving);
 *   5. joins the workers, calls ops->cleanup(), returns 0 (clean stop) or 1.
 *
 * Workers talk to the main thread and each other only through dc_worker_post() (a locked
 * queue plus uv_async_t): the function runs on the target worker's thread, in its loop.
 */
#ifndef DUET_COMMON_LIFECYCLE_H
#define DUET_COMMON_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct dc_daemon;
struct dc_worker;

struct dc_daemon_ops {
    /* Main thread, before the privilege drop and before any worker exists. 0 or -errno. */
    int (*prepare)(struct dc_daemon *d);
    /* Worker thread, before its loop runs. 0 or -errno (the daemon then stops). */
    int (*worker_start)(struct dc_worker *w);
    /* Worker thread: begin a graceful stop. Close listeners, let in-flight work finish,
     * close idle connections; the worker ends when its loop has nothing active. */
    void (*worker_stop)(struct dc_worker *w);
    /* Worker thread: the drain deadline passed; close every remaining handle now. NULL:
     * every handle is closed with uv_close() and a NULL callback (leaks what the daemon
     * attached to them, so daemons should provide this). */
    void (*worker_abort)(struct dc_worker *w);
    /* Main thread, on SIGHUP. 0 = new config in place, else refused (old config stays). */
    int (*reload)(struct dc_daemon *d);
    /* Main thread, writes a one-line status for STATUS= into buf. May be NULL. */
    void (*status)(struct dc_daemon *d, char *buf, size_t size);
    /* Main thread, after every worker thread has been joined. May be NULL. */
    void (*cleanup)(struct dc_daemon *d);
    /* Main thread, once every worker has started, before READY=1: open the main loop's
     * own handles (control socket, metrics listener). 0, or -errno to stop the daemon.
     * May be NULL. */
    int (*main_start)(struct dc_daemon *d, uv_loop_t *loop);
    /* Main thread, when a stop begins: close what main_start opened. May be NULL. */
    void (*main_stop)(struct dc_daemon *d);
};

struct dc_daemon_opts {
    unsigned workers;   /* >= 1 */
    uint64_t drain_ms;  /* graceful-stop deadline; 0 = abort at once */
    const char *user;   /* NULL or "" = no privilege drop */
    const char *group;  /* NULL or "" = the user's primary group */
};

/* Runs the daemon as described above. user_data is returned by dc_daemon_data(). Returns
 * 0 after a clean stop, 1 on a start-up failure (logged). */
int dc_daemon_run(const struct dc_daemon_opts *opts, const struct dc_daemon_ops *ops,
                  void *user_data);

void *dc_daemon_data(struct dc_daemon *d);
unsigned dc_daemon_workers(struct dc_daemon *d);
struct dc_worker *dc_daemon_worker(struct dc_daemon *d, unsigned i);
/* Asks the daemon to stop as if SIGTERM had arrived. Any thread. */
void dc_daemon_request_stop(struct dc_daemon *d);
/* Reloads as on SIGHUP (RELOADING=1, ops->reload, READY=1). Main thread only (e.g. from a
 * control-socket command). Returns ops->reload's result, or -EBUSY while stopping. */
int dc_daemon_reload(struct dc_daemon *d);

unsigned dc_worker_id(struct dc_worker *w); /* 0 .. workers-1 */
uv_loop_t *dc_worker_loop(struct dc_worker *w);
struct dc_daemon *dc_worker_daemon(struct dc_worker *w);
/* The daemon's per-worker state (set by worker_start). */
void *dc_worker_data(struct dc_worker *w);
void dc_worker_set_data(struct dc_worker *w, void *data);
/* True once worker_stop has been called on this worker. */
bool dc_worker_stopping(struct dc_worker *w);

typedef void (*dc_worker_fn_cb)(struct dc_worker *w, void *arg);
/* Runs fn(w, arg) on w's thread. Any thread. 0 or -ENOMEM / -ESHUTDOWN (worker gone). */
int dc_worker_post(struct dc_worker *w, dc_worker_fn_cb fn, void *arg);

/* "auto" → online cores (at least 1). */
unsigned dc_lifecycle_cpu_count(void);

#endif
