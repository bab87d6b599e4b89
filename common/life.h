/*
 * The lifetime of one heap object that embeds libuv handles: a client connection, an
 * upstream exchange, a control-socket client (STYLE.md §4). It is freed exactly once, when
 * both hold:
 *   - every embedded handle it closed has run its close callback (libuv allows freeing a
 *     handle's memory only then), and
 *   - no reference is left: the owner's own (dropped by dc_life_close) and one per holder,
 *     e.g. a write request in flight, a query waiting for its answer, or a function that
 *     calls out into code that may close the object and still touches it afterwards.
 *
 * Closing has two phases: dc_life_close() marks the object closing, calls uv_close() on its
 * handles and drops the owner's reference; the free callback runs later, from the last
 * close callback or the last dc_life_unref(). It is not the daemon's start/stop sequence
 * (common/lifecycle.h), and it does not stop timers or reads: the owner does that first.
 *
 * Usage, with `struct dc_life life` embedded in struct conn and every handle's data
 * pointing at the conn:
 *
 *     static void on_closed(uv_handle_t *h) { struct conn *c = h->data;
 *                                             dc_life_handle_closed(&c->life); }
 *     static void conn_free(struct dc_life *l) { free(DC_LIFE_OWNER(l, struct conn, life)); }
 *     dc_life_init(&c->life, conn_free);
 *     ...
 *     uv_handle_t *hs[] = {(uv_handle_t *)&c->tcp, (uv_handle_t *)&c->timer};
 *     dc_life_close(&c->life, hs, 2, on_closed);
 *
 * Single-threaded: an object and its life belong to one loop.
 */
#ifndef DUET_COMMON_LIFE_H
#define DUET_COMMON_LIFE_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct dc_life;

/* Frees the object that embeds l (called once; l is not touched afterwards). */
typedef void (*dc_life_free_cb)(struct dc_life *l);

struct dc_life {
    int refs;           /* the owner's own (until closing) + one per holder */
    int pending_closes; /* uv_close() calls whose callback has not run yet */
    bool closing;       /* dc_life_close() ran: start no new work */
    dc_life_free_cb free_cb;
};

/* The object embedding l as member `member` of `type`. */
#define DC_LIFE_OWNER(l, type, member) ((type *)(void *)((char *)(l)-offsetof(type, member)))

/* Starts a life with the owner's own reference. free_cb runs once, at the end. */
void dc_life_init(struct dc_life *l, dc_life_free_cb free_cb);

/* Takes a reference: the object stays allocated until the matching dc_life_unref(). */
void dc_life_ref(struct dc_life *l);

/* Drops a reference; frees the object when it was the last one and no close is pending.
 * Returns true when it freed (the caller must not touch the object then). */
bool dc_life_unref(struct dc_life *l);

static inline bool
dc_life_closing(const struct dc_life *l)
{
    return l->closing;
}

/*
 * Closes the object: marks it closing, calls uv_close(h, cb) on each of the n handles
 * (NULL entries, handles never initialised (loop NULL) and handles already closing are
 * skipped), then drops the owner's reference. cb is the owner's close callback; it must
 * call dc_life_handle_closed() on this life. Returns false, doing nothing, when the object
 * was already closing. When no handle needed closing and no reference is held, the object
 * is freed before this returns: callers return right after closing (STYLE.md §4).
 */
bool dc_life_close(struct dc_life *l, uv_handle_t *const *handles, size_t n, uv_close_cb cb);

/* Counts one close callback; frees the object after the last one when no reference is
 * left. Returns true when it freed. */
bool dc_life_handle_closed(struct dc_life *l);

#endif
