#include "common/life.h"

#include <assert.h>

void
dc_life_init(struct dc_life *l, dc_life_free_cb free_cb)
{
    l->refs = 1;
    l->pending_closes = 0;
    l->closing = false;
    l->free_cb = free_cb;
}

void
dc_life_ref(struct dc_life *l)
{
    assert(l->refs > 0);
    l->refs++;
}

/* Frees when nothing can reach the object any more. The owner's reference is dropped only
 * by dc_life_close, so refs == 0 means closing and every handle was handed to uv_close. */
static bool
maybe_free(struct dc_life *l)
{
    if (l->refs > 0 || l->pending_closes > 0)
        return false;
    assert(l->closing);
    l->free_cb(l);
    return true;
}

bool
dc_life_unref(struct dc_life *l)
{
    assert(l->refs > 0);
    l->refs--;
    return maybe_free(l);
}

bool
dc_life_close(struct dc_life *l, uv_handle_t *const *handles, size_t n, uv_close_cb cb)
{
    if (l->closing)
        return false;
    l->closing = true;
    for (size_t i = 0; i < n; i++) {
        uv_handle_t *h = handles[i];
        if (h == NULL || h->loop == NULL || uv_is_closing(h))
            continue;
        l->pending_closes++;
        uv_close(h, cb);
    }
    dc_life_unref(l); /* the owner's own */
    return true;
}

bool
dc_life_handle_closed(struct dc_life *l)
{
    assert(l->pending_closes > 0);
    l->pending_closes--;
    return maybe_free(l);
}
