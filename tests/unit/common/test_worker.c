/*
 * common/worker.c driven directly, the way lifecycle.c drives it but without signals or a
 * fork: real threads, a real main loop receiving the "finished" async, posts and control
 * flags from this thread. Every run of the main loop is bounded by a guard timer.
 */
#include "common/worker.h"

#include "test.h"

#include <errno.h>

static uv_loop_t main_loop;
static uv_async_t done;
static uv_timer_t guard;
static uv_sem_t started;
static unsigned finished;
static uv_thread_t worker_thread;
static int stops, aborts, runs;
static uv_timer_t left_timer; /* unreferenced, never closed by the daemon */
static bool leave_timer;

static void
on_done(uv_async_t *h)
{
    if (__atomic_load_n(&finished, __ATOMIC_ACQUIRE) == 1)
        uv_stop(h->loop);
}

static void
on_guard(uv_timer_t *t)
{
    (void)t;
    TEST_FAIL("worker did not finish within 5 s");
}

static void
on_tick(uv_timer_t *t)
{
    (void)t;
}

static int
start_ok(struct dc_worker *w)
{
    worker_thread = uv_thread_self();
    dc_worker_set_data(w, &runs);
    if (leave_timer) {
        ASSERT_EQ(uv_timer_init(dc_worker_loop(w), &left_timer), 0);
        ASSERT_EQ(uv_timer_start(&left_timer, on_tick, 1000, 1000), 0);
        uv_unref((uv_handle_t *)&left_timer);
    }
    return 0;
}

static int
start_fail(struct dc_worker *w)
{
    (void)w;
    return -EMFILE;
}

static void
count_stop(struct dc_worker *w)
{
    (void)w;
    stops++;
}

static void
count_abort(struct dc_worker *w)
{
    (void)w;
    aborts++;
}

static void
on_run(struct dc_worker *w, void *arg)
{
    uv_thread_t self = uv_thread_self();
    ASSERT(uv_thread_equal(&self, &worker_thread));
    ASSERT(dc_worker_data(w) == &runs);
    ASSERT_EQ((uintptr_t)arg, (uintptr_t)runs);
    runs++;
}

static void
setup(void)
{
    ASSERT_EQ(uv_loop_init(&main_loop), 0);
    ASSERT_EQ(uv_async_init(&main_loop, &done, on_done), 0);
    ASSERT_EQ(uv_timer_init(&main_loop, &guard), 0);
    ASSERT_EQ(uv_sem_init(&started, 0), 0);
    finished = 0;
    stops = aborts = runs = 0;
}

/* Runs the main loop until the worker reports it finished (bounded), then joins it. */
static void
wait_finished(struct dc_worker *w)
{
    ASSERT_EQ(uv_timer_start(&guard, on_guard, 5000, 0), 0);
    if (__atomic_load_n(&finished, __ATOMIC_ACQUIRE) != 1)
        uv_run(&main_loop, UV_RUN_DEFAULT);
    ASSERT_EQ(finished, 1);
    uv_timer_stop(&guard);
    dc_worker_join(w);
    ASSERT(dc_worker_closed(w));
}

static void
teardown(struct dc_worker *w)
{
    dc_worker_deinit(w);
    uv_close((uv_handle_t *)&done, NULL);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(&main_loop, UV_RUN_DEFAULT);
    ASSERT_EQ(uv_loop_close(&main_loop), 0);
    uv_sem_destroy(&started);
}

static void
test_posts_run_in_order_on_worker_thread(void)
{
    setup();
    struct dc_daemon_ops ops = {.worker_start = start_ok, .worker_stop = count_stop};
    struct dc_worker w;
    ASSERT_EQ(dc_worker_init(&w, NULL, 3, &ops, &started, &done, &finished), 0);
    ASSERT_EQ(dc_worker_id(&w), 3);
    /* Before the thread exists: queued, run once the loop runs. */
    ASSERT_EQ(dc_worker_post(&w, on_run, (void *)0), 0);
    ASSERT_EQ(dc_worker_spawn(&w), 0);
    uv_sem_wait(&started);
    ASSERT_EQ(w.start_err, 0);
    for (uintptr_t i = 1; i < 1000; i++)
        ASSERT_EQ(dc_worker_post(&w, on_run, (void *)i), 0);
    ASSERT(!dc_worker_stopping(&w));
    dc_worker_control(&w, DC_WORKER_STOP, 0);
    wait_finished(&w);
    ASSERT_EQ(runs, 1000); /* every post ran, in order (on_run checks the sequence) */
    ASSERT_EQ(stops, 1);
    ASSERT(dc_worker_stopping(&w));
    ASSERT_EQ(dc_worker_post(&w, on_run, NULL), -ESHUTDOWN);
    dc_worker_control(&w, DC_WORKER_ABORT, 0); /* ignored once closed */
    teardown(&w);
}

static void
test_ping_is_answered(void)
{
    setup();
    struct dc_daemon_ops ops = {.worker_start = start_ok};
    struct dc_worker w;
    ASSERT_EQ(dc_worker_init(&w, NULL, 0, &ops, &started, &done, &finished), 0);
    ASSERT_EQ(dc_worker_spawn(&w), 0);
    uv_sem_wait(&started);
    dc_worker_control(&w, DC_WORKER_PING, 7);
    for (int i = 0; i < 500 && __atomic_load_n(&w.pong, __ATOMIC_RELAXED) != 7; i++)
        uv_sleep(10);
    ASSERT_UINT_EQ(__atomic_load_n(&w.pong, __ATOMIC_RELAXED), 7);
    dc_worker_control(&w, DC_WORKER_STOP, 0);
    wait_finished(&w);
    teardown(&w);
}

/* The leftover timer is unreferenced, so the loop ends around it; worker_close() must close
 * it (with a warning) for uv_loop_close() to succeed. */
static void
test_abort_and_leftover_handles(void)
{
    setup();
    leave_timer = true;
    struct dc_daemon_ops ops = {.worker_start = start_ok, .worker_abort = count_abort};
    struct dc_worker w;
    ASSERT_EQ(dc_worker_init(&w, NULL, 0, &ops, &started, &done, &finished), 0);
    ASSERT_EQ(dc_worker_spawn(&w), 0);
    uv_sem_wait(&started);
    dc_worker_control(&w, DC_WORKER_ABORT, 0); /* implies the stop */
    wait_finished(&w);
    ASSERT_EQ(aborts, 1);
    leave_timer = false;
    teardown(&w);
}

static void
test_failed_start_ends_the_loop(void)
{
    setup();
    struct dc_daemon_ops ops = {.worker_start = start_fail, .worker_stop = count_stop};
    struct dc_worker w;
    ASSERT_EQ(dc_worker_init(&w, NULL, 0, &ops, &started, &done, &finished), 0);
    ASSERT_EQ(dc_worker_spawn(&w), 0);
    uv_sem_wait(&started);
    ASSERT_EQ(w.start_err, -EMFILE);
    wait_finished(&w); /* no stop needed: a failed start ends its loop by itself */
    ASSERT_EQ(stops, 0);
    teardown(&w);
}

static void
test_unspawned_worker_frees_its_queue(void)
{
    struct dc_daemon_ops ops = {.worker_start = start_ok};
    struct dc_worker w;
    ASSERT_EQ(dc_worker_init(&w, NULL, 0, &ops, NULL, NULL, NULL), 0);
    ASSERT_EQ(dc_worker_post(&w, on_run, NULL), 0);
    ASSERT(!dc_worker_closed(&w));
    dc_worker_join(&w);   /* no thread: nothing to join */
    dc_worker_deinit(&w); /* LeakSanitizer checks the queued post was freed */
}

int
main(void)
{
    TEST_RUN(test_posts_run_in_order_on_worker_thread);
    TEST_RUN(test_ping_is_answered);
    TEST_RUN(test_abort_and_leftover_handles);
    TEST_RUN(test_failed_start_ends_the_loop);
    TEST_RUN(test_unspawned_worker_frees_its_queue);
    return 0;
}
