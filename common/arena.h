/*
 * A bump allocator: many small allocations freed together.
 *
 * An arena hands out memory from large blocks and frees it all at once with
 * dc_arena_free(), or makes it reusable with dc_arena_reset() (which keeps the first block,
 * so a per-request arena that is reset, not freed, stops allocating once warm). Not
 * thread-safe: one arena belongs to one thread at a time.
 */
#ifndef DUET_COMMON_ARENA_H
#define DUET_COMMON_ARENA_H

#include <stddef.h>

struct dc_arena_block;

struct dc_arena {
    struct dc_arena_block *head; /* current block; older ones chain behind it */
    size_t block_size;           /* size of ordinary blocks */
};

/* Prepares an empty arena whose blocks are block_size bytes (0 = 4096). Allocates nothing. */
void dc_arena_init(struct dc_arena *a, size_t block_size);
/* Frees every block. The arena can be used again afterwards. */
void dc_arena_deinit(struct dc_arena *a);
/* Forgets every allocation but keeps the first block for reuse. */
void dc_arena_reset(struct dc_arena *a);

/* n bytes aligned for any type, or NULL when out of memory. Never freed individually. */
void *dc_arena_alloc(struct dc_arena *a, size_t n);
/* Zeroed n bytes, or NULL. */
void *dc_arena_calloc(struct dc_arena *a, size_t n);
/* A NUL-terminated copy of s (n bytes of it for strndup), or NULL. */
char *dc_arena_strdup(struct dc_arena *a, const char *s);
char *dc_arena_strndup(struct dc_arena *a, const char *s, size_t n);
/* Grows an array *v of *n elements (each size bytes) by one zeroed element, returned, or NULL.
 * The old storage stays in the arena; fine for configuration-sized arrays. */
void *dc_arena_push(struct dc_arena *a, void **v, size_t *n, size_t size);

#endif
