#include "common/worker.h"

#include "common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One dc_worker_post() call waiting for its worker's loop. */
struct dc_worker_msg {
    struct dc_worker_msg *next;
    dc_worker_fn_cb fn;
    void *arg;
};

/* Takes the whole queue. Caller holds w->lock. */
static struct dc_worker_msg *
take_queue(struct dc_worker *w)
{
    struct dc_worker_msg *list = w->head;
    w->head = NULL;
    w->tail = &w->head;
    return list;
}

static void
run_msgs(struct dc_worker *w, struct dc_worker_msg *m)
{
    while (m != NULL) {
        struct dc_worker_msg *next = m->next;
        m->fn(w, m->arg);
        free(m);
        m = next;
    }
}

static void
free_msgs(struct dc_worker_msg *m)
{
    while (m != NULL) {
        struct dc_worker_msg *next = m->next;
        free(m);
        m = next;
    }
}

/* Closes one handle for the default abort. The worker's own async is left to worker_close()
 * so that posts keep arriving until the loop has really ended. */
static void
close_handle(uv_handle_t *h, void *arg)
{
    struct dc_worker *w = arg;
    if (h != (uv_handle_t *)&w->async && !uv_is_closing(h))
        uv_close(h, NULL);
}

static void
close_leftover(uv_handle_t *h, void *arg)
{
    struct dc_worker *w = arg;
    if (uv_is_closing(h))
        return;
    /* Only unreferenced handles can still be open once the loop has ended by itself. */
    DC_LOG_WARN("worker_handle_left", "worker=%u type=%s", w->id, uv_handle_type_name(h->type));
    uv_close(h, NULL);
}

/* Unreferencing the async is what lets the loop end: once the daemon's own handles are
 * closed nothing active is left and uv_run() returns. Posts still work meanwhile, because
 * an unreferenced async still fires. */
static void
begin_stop(struct dc_worker *w)
{
    if (__atomic_load_n(&w->stopping, __ATOMIC_ACQUIRE))
        return;
    __atomic_store_n(&w->stopping, true, __ATOMIC_RELEASE);
    uv_unref((uv_handle_t *)&w->async);
    DC_LOG_INFO("worker_stop", "worker=%u", w->id);
    if (w->ops->worker_stop != NULL)
        w->ops->worker_stop(w);
}

static void
abort_now(struct dc_worker *w)
{
    if (w->aborted)
        return;
    w->aborted = true;
    DC_LOG_WARN("worker_abort", "worker=%u", w->id);
    if (w->start_err == 0 && w->ops->worker_abort != NULL)
        w->ops->worker_abort(w);
    else
        uv_walk(&w->loop, close_handle, w);
}

static void
on_async(uv_async_t *h)
{
    struct dc_worker *w = h->data;
    uv_mutex_lock(&w->lock);
    struct dc_worker_msg *list = take_queue(w);
    bool stop = w->stop_req, abrt = w->abort_req;
    w->stop_req = w->abort_req = false;
    uint64_t ping = w->ping;
    uv_mutex_unlock(&w->lock);

    /* Answering here, in the loop, proves the loop still turns. Posts run before a stop
     * taken in the same batch: they were queued before this callback saw the stop, so they
     * may well have been posted before it was asked for. */
    __atomic_store_n(&w->pong, ping, __ATOMIC_RELAXED);
    run_msgs(w, list);
    if (stop || abrt)
        begin_stop(w);
    if (abrt)
        abort_now(w);
}

/*
 * The loop has ended. Posts that raced its end still run (their function owns arg and knows
 * how to release it; dc_worker_stopping() tells it not to start anything), then everything
 * is closed and the loop must close cleanly, as libuv's own tests require.
 */
static void
worker_close(struct dc_worker *w)
{
    uv_mutex_lock(&w->lock);
    w->state = DC_WORKER_CLOSED;
    struct dc_worker_msg *list = take_queue(w);
    uv_mutex_unlock(&w->lock);
    run_msgs(w, list);

    uv_close((uv_handle_t *)&w->async, NULL);
    uv_walk(&w->loop, close_leftover, w);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    int err = uv_loop_close(&w->loop);
    if (err != 0)
        DC_LOG_ERROR("worker_loop_close", "worker=%u reason=\"%s\"", w->id, uv_strerror(err));
}

static void
worker_finished(struct dc_worker *w)
{
    DC_LOG_INFO("worker_exit", "worker=%u", w->id);
    /* The last touch of shared state from this thread: once every worker is counted the main
     * thread joins and frees, and join waits for this uv_async_send() to return. */
    __atomic_add_fetch(w->finished, 1, __ATOMIC_ACQ_REL);
    uv_async_send(w->done);
}

static int
loop_open(struct dc_worker *w)
{
    int err = uv_loop_init(&w->loop);
    if (err != 0)
        return err;
    err = uv_async_init(&w->loop, &w->async, on_async);
    if (err != 0) {
        uv_loop_close(&w->loop);
        return err;
    }
    w->async.data = w;
    uv_mutex_lock(&w->lock);
    w->state = DC_WORKER_OPEN;
    /* Posted to before the async existed (e.g. by another worker's worker_start). */
    if (w->head != NULL || w->stop_req || w->abort_req)
        uv_async_send(&w->async);
    uv_mutex_unlock(&w->lock);
    return 0;
}

static void
worker_main(void *arg)
{
    struct dc_worker *w = arg;
    int err = loop_open(w);
    if (err != 0) {
        DC_LOG_ERROR("worker_start_failed", "worker=%u step=loop reason=\"%s\"", w->id,
                     uv_strerror(err));
        w->start_err = err;
        uv_mutex_lock(&w->lock);
        w->state = DC_WORKER_CLOSED;
        uv_mutex_unlock(&w->lock); /* queued posts stay for dc_worker_deinit(): no loop */
        uv_sem_post(w->started);
        worker_finished(w);
        return;
    }

    err = w->ops->worker_start(w);
    w->start_err = err;
    if (err != 0) {
        DC_LOG_ERROR("worker_start_failed", "worker=%u reason=\"%s\"", w->id,
                     err < 0 ? strerror(-err) : "error");
        /* Whatever the failed start left behind is closed now; the loop then ends by itself,
         * and worker_stop is never called on a half-started worker. */
        __atomic_store_n(&w->stopping, true, __ATOMIC_RELEASE);
        uv_unref((uv_handle_t *)&w->async);
        uv_walk(&w->loop, close_handle, w);
    } else {
        DC_LOG_INFO("worker_start", "worker=%u", w->id);
    }
    uv_sem_post(w->started);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    worker_close(w);
    worker_finished(w);
}

int
dc_worker_init(struct dc_worker *w, struct dc_daemon *d, unsigned id,
               const struct dc_daemon_ops *ops, uv_sem_t *started, uv_async_t *done,
               unsigned *finished)
{
    memset(w, 0, sizeof(*w));
    w->d = d;
    w->ops = ops;
    w->id = id;
    w->started = started;
    w->done = done;
    w->finished = finished;
    w->state = DC_WORKER_NEW;
    w->tail = &w->head;
    return uv_mutex_init(&w->lock);
}

void
dc_worker_deinit(struct dc_worker *w)
{
    free_msgs(take_queue(w));
    uv_mutex_destroy(&w->lock);
}

int
dc_worker_spawn(struct dc_worker *w)
{
    int err = uv_thread_create(&w->thread, worker_main, w);
    if (err == 0)
        w->has_thread = true;
    return err;
}

void
dc_worker_join(struct dc_worker *w)
{
    if (w->has_thread)
        uv_thread_join(&w->thread);
    w->has_thread = false;
}

void
dc_worker_control(struct dc_worker *w, enum dc_worker_ctl what, uint64_t gen)
{
    uv_mutex_lock(&w->lock);
    if (w->state != DC_WORKER_CLOSED) {
        if (what == DC_WORKER_STOP)
            w->stop_req = true;
        else if (what == DC_WORKER_ABORT)
            w->abort_req = true;
        else
            w->ping = gen;
        if (w->state == DC_WORKER_OPEN)
            uv_async_send(&w->async);
    }
    uv_mutex_unlock(&w->lock);
}

bool
dc_worker_closed(struct dc_worker *w)
{
    uv_mutex_lock(&w->lock);
    bool closed = w->state == DC_WORKER_CLOSED;
    uv_mutex_unlock(&w->lock);
    return closed;
}

int
dc_worker_post(struct dc_worker *w, dc_worker_fn_cb fn, void *arg)
{
    struct dc_worker_msg *m = malloc(sizeof(*m));
    if (m == NULL)
        return -ENOMEM;
    m->next = NULL;
    m->fn = fn;
    m->arg = arg;
    uv_mutex_lock(&w->lock);
    if (w->state == DC_WORKER_CLOSED) {
        uv_mutex_unlock(&w->lock);
        free(m);
        return -ESHUTDOWN;
    }
    *w->tail = m;
    w->tail = &m->next;
    if (w->state == DC_WORKER_OPEN)
        uv_async_send(&w->async);
    uv_mutex_unlock(&w->lock);
    return 0;
}

unsigned
dc_worker_id(struct dc_worker *w)
{
    return w->id;
}

uv_loop_t *
dc_worker_loop(struct dc_worker *w)
{
    return &w->loop;
}

struct dc_daemon *
dc_worker_daemon(struct dc_worker *w)
{
    return w->d;
}

void *
dc_worker_data(struct dc_worker *w)
{
    return w->data;
}

void
dc_worker_set_data(struct dc_worker *w, void *data)
{
    w->data = data;
}

bool
dc_worker_stopping(struct dc_worker *w)
{
    return __atomic_load_n(&w->stopping, __ATOMIC_ACQUIRE);
}
