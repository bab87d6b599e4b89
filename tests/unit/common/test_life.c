/*
 * Tests for common/life.c with real libuv handles on a real loop: an object is freed exactly
 * once, only after every close callback ran, and not while a reference is held; a write in
 * flight at close holds the object until its (cancelled) callback.
 */
#include "common/life.h"

#include <sys/socket.h>
#include <unistd.h>

#include "test.h"

struct obj {
    struct dc_life life;
    uv_timer_t timer;
    uv_idle_t idle;
    uv_pipe_t pipe; /* initialised only by some tests */
    uv_write_t wreq;
    int closes;       /* close callbacks seen */
    int want_closes;  /* close callbacks the object must see before its free */
    int write_status; /* of the write callback, 1 = not called */
    char *big;
};

static int frees;

static void
obj_free(struct dc_life *l)
{
    struct obj *o = DC_LIFE_OWNER(l, struct obj, life);
    ASSERT_EQ(o->closes, o->want_closes);
    frees++;
    free(o->big);
    free(o);
}

static void
on_closed(uv_handle_t *h)
{
    struct obj *o = h->data;
    o->closes++;
    dc_life_handle_closed(&o->life);
}

static struct obj *
obj_new(uv_loop_t *loop)
{
    struct obj *o = calloc(1, sizeof(*o));
    ASSERT_NOT_NULL(o);
    dc_life_init(&o->life, obj_free);
    ASSERT_EQ(uv_timer_init(loop, &o->timer), 0);
    ASSERT_EQ(uv_idle_init(loop, &o->idle), 0);
    o->timer.data = o->idle.data = o->pipe.data = o;
    o->want_closes = 2;
    o->write_status = 1;
    return o;
}

static bool
obj_close(struct obj *o)
{
    uv_timer_stop(&o->timer);
    uv_idle_stop(&o->idle);
    uv_handle_t *hs[] = {(uv_handle_t *)&o->timer, (uv_handle_t *)&o->idle,
                         (uv_handle_t *)&o->pipe};
    return dc_life_close(&o->life, hs, 3, on_closed);
}

static void
finish_loop(uv_loop_t *loop)
{
    ASSERT_EQ(uv_run(loop, UV_RUN_DEFAULT), 0);
    ASSERT_EQ(uv_loop_close(loop), 0);
}

/* Not freed by the close itself, freed once after both close callbacks. */
static void
test_free_after_every_close_callback(void)
{
    uv_loop_t loop;
    ASSERT_EQ(uv_loop_init(&loop), 0);
    frees = 0;
    struct obj *o = obj_new(&loop);
    ASSERT(obj_close(o));
    ASSERT(dc_life_closing(&o->life));
    ASSERT_EQ(o->life.pending_closes, 2); /* the pipe was never initialised: skipped */
    ASSERT_EQ(frees, 0);
    ASSERT(!obj_close(o)); /* a second close does nothing */
    finish_loop(&loop);
    ASSERT_EQ(frees, 1);
}

/* A reference held across the close callbacks keeps the object; the last unref frees. */
static void
test_ref_held_past_close(void)
{
    uv_loop_t loop;
    ASSERT_EQ(uv_loop_init(&loop), 0);
    frees = 0;
    struct obj *o = obj_new(&loop);
    dc_life_ref(&o->life);
    dc_life_ref(&o->life);
    ASSERT(obj_close(o));
    ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    ASSERT_EQ(o->closes, 2); /* every handle closed, two references left */
    ASSERT_EQ(frees, 0);
    ASSERT(!dc_life_unref(&o->life));
    ASSERT_EQ(frees, 0);
    ASSERT(dc_life_unref(&o->life));
    ASSERT_EQ(frees, 1);
    ASSERT_EQ(uv_loop_close(&loop), 0);
}

/* A callback that calls out into code closing the object keeps using it under a ref. */
static void
deep_close(struct obj *o)
{
    obj_close(o);
}

static void
on_timer(uv_timer_t *t)
{
    struct obj *o = t->data;
    dc_life_ref(&o->life);
    deep_close(o);
    o->write_status = 42; /* still allocated: ASan would report a use after free */
    ASSERT(dc_life_closing(&o->life));
    ASSERT_EQ(frees, 0);
    dc_life_unref(&o->life);
}

static void
test_close_inside_callback_under_ref(void)
{
    uv_loop_t loop;
    ASSERT_EQ(uv_loop_init(&loop), 0);
    frees = 0;
    struct obj *o = obj_new(&loop);
    ASSERT_EQ(uv_timer_start(&o->timer, on_timer, 1, 0), 0);
    finish_loop(&loop);
    ASSERT_EQ(frees, 1);
}

/* A write that cannot finish (the peer never reads) holds a reference; closing cancels it,
 * its callback runs before the close callbacks complete, and the object is freed once. */
static void
on_write(uv_write_t *w, int status)
{
    struct obj *o = w->data;
    o->write_status = status;
    ASSERT_EQ(status, UV_ECANCELED);
    ASSERT_GE(o->life.pending_closes, 1); /* the pipe's close callback comes after */
    ASSERT_EQ(frees, 0);
    dc_life_unref(&o->life);
}

static void
test_write_in_flight_at_close(void)
{
    uv_loop_t loop;
    ASSERT_EQ(uv_loop_init(&loop), 0);
    frees = 0;
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct obj *o = obj_new(&loop);
    ASSERT_EQ(uv_pipe_init(&loop, &o->pipe, 0), 0);
    ASSERT_EQ(uv_pipe_open(&o->pipe, sv[0]), 0);
    o->want_closes = 3;
    size_t n = 8u << 20; /* far more than a socket buffer */
    o->big = calloc(1, n);
    ASSERT_NOT_NULL(o->big);
    uv_buf_t b = uv_buf_init(o->big, (unsigned)n);
    o->wreq.data = o;
    ASSERT_EQ(uv_write(&o->wreq, (uv_stream_t *)&o->pipe, &b, 1, on_write), 0);
    dc_life_ref(&o->life);
    ASSERT_EQ(uv_run(&loop, UV_RUN_NOWAIT), 1); /* still writing */
    ASSERT_EQ(o->write_status, 1);
    ASSERT(obj_close(o));
    ASSERT_EQ(o->life.pending_closes, 3);
    finish_loop(&loop);
    ASSERT_EQ(frees, 1);
    close(sv[1]);
}

/* Nothing to close and no reference: freed by the close itself. */
static void
test_close_without_handles(void)
{
    frees = 0;
    struct obj *o = calloc(1, sizeof(*o));
    ASSERT_NOT_NULL(o);
    dc_life_init(&o->life, obj_free);
    ASSERT(dc_life_close(&o->life, NULL, 0, on_closed));
    ASSERT_EQ(frees, 1);
}

int
main(void)
{
    TEST_RUN(test_free_after_every_close_callback);
    TEST_RUN(test_ref_held_past_close);
    TEST_RUN(test_close_inside_callback_under_ref);
    TEST_RUN(test_write_in_flight_at_close);
    TEST_RUN(test_close_without_handles);
    return 0;
}
