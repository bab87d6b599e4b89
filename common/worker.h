/*
 * Worker threads, the inside of common/lifecycle: one thread and one uv_loop_t per worker,
 * plus a mutex-protected queue and a uv_async_t through which other threads reach it.
 *
 * Daemons use the dc_worker_* functions of common/lifecycle.h; this header is only the
 * interface lifecycle.c drives a worker through (spawn, control flags, join). It is not a
 * pool: the set of workers is fixed for the daemon's whole run.
 */
#ifndef DUET_COMMON_WORKER_H
#define DUET_COMMON_WORKER_H

#include "common/lifecycle.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

/* Whether a worker can be woken. Changed under the worker's lock, so that uv_async_send()
 * from another thread never races uv_async_init() or uv_close() of the async handle. */
enum dc_worker_state {
    DC_WORKER_NEW,    /* loop not running yet: posts queue up, nobody is woken */
    DC_WORKER_OPEN,   /* async handle live: posts queue up and wake the loop */
    DC_WORKER_CLOSED, /* loop ended (or never existed): posts fail with -ESHUTDOWN */
};

/* What the main thread asks of a worker. Flags rather than queued posts, so that stopping a
 * worker never needs an allocation that could fail. */
enum dc_worker_ctl {
    DC_WORKER_STOP,  /* worker_stop(), then unref the async so the loop can end */
    DC_WORKER_ABORT, /* worker_abort() (or close every handle) */
    DC_WORKER_PING,  /* store the ping generation in pong: the loop still turns */
};

struct dc_worker_msg;

struct dc_worker {
    struct dc_daemon *d;
    const struct dc_daemon_ops *ops;
    unsigned id;
    uv_sem_t *started;  /* posted once worker_start has returned (or the loop failed) */
    uv_async_t *done;   /* the main thread's async, sent when this worker has finished */
    unsigned *finished; /* atomic count of finished workers, incremented before done */
    bool has_thread;    /* main thread only */
    uv_thread_t thread;
    uv_loop_t loop;
    uv_async_t async;
    int start_err; /* written before *started is posted; read after waiting on it */
    void *data;
    bool stopping; /* atomic: worker_stop has run (or the start failed) */
    bool aborted;  /* worker thread only */
    uint64_t pong; /* atomic: the last ping generation this loop answered */

    uv_mutex_t lock; /* guards the fields below */
    enum dc_worker_state state;
    struct dc_worker_msg *head, **tail;
    bool stop_req, abort_req;
    uint64_t ping;
};

/* Prepares w (no thread yet; posts already queue up). 0 or a negative errno. */
int dc_worker_init(struct dc_worker *w, struct dc_daemon *d, unsigned id,
                   const struct dc_daemon_ops *ops, uv_sem_t *started, uv_async_t *done,
                   unsigned *finished);
/* Frees what init made and any post never run. After dc_worker_join() or without a thread. */
void dc_worker_deinit(struct dc_worker *w);
/* Starts the thread: it makes the loop, calls ops->worker_start, posts *started, runs the
 * loop until it has nothing active, closes it, then counts itself in *finished and sends
 * *done. 0 or a negative errno (no thread then). Call with asynchronous signals blocked. */
int dc_worker_spawn(struct dc_worker *w);
void dc_worker_join(struct dc_worker *w);
/* Sets a control flag and wakes the loop; nothing once the worker has closed. Any thread. */
void dc_worker_control(struct dc_worker *w, enum dc_worker_ctl what, uint64_t gen);
/* True once the worker's loop has ended (or never started). Any thread. */
bool dc_worker_closed(struct dc_worker *w);

#endif
