/*
 * A per-worker pool of fixed-size buffers, so connections borrow read and write buffers
 * while they are busy and give them back when idle (nginx's keep-alive buffer release):
 * thousands of idle connections hold no buffers, and a busy one allocates nothing once the
 * pool is warm. Not thread-safe: one pool per worker.
 */
#ifndef DUET_COMMON_BUF_H
#define DUET_COMMON_BUF_H

#include <stddef.h>

struct dc_bufpool {
    size_t size;      /* bytes per buffer */
    size_t keep;      /* free buffers kept at most; beyond that they are freed */
    size_t nfree;
    void *free_list;  /* singly linked through the first bytes of each free buffer */
    size_t out;       /* buffers lent and not returned (for tests and stats) */
};

void dc_bufpool_init(struct dc_bufpool *p, size_t size, size_t keep);
void dc_bufpool_deinit(struct dc_bufpool *p);
/* A buffer of p->size bytes, or NULL when out of memory. */
void *dc_buf_get(struct dc_bufpool *p);
/* Returns b (NULL is ignored). */
void dc_buf_put(struct dc_bufpool *p, void *b);

#endif
