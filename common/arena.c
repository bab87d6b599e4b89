#include "common/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct dc_arena_block {
    struct dc_arena_block *next;
    size_t size; /* usable bytes in data[] */
    size_t used;
    alignas(max_align_t) unsigned char data[];
};

#define ALIGN_UP(n) (((n) + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1))

void
dc_arena_init(struct dc_arena *a, size_t block_size)
{
    a->head = NULL;
    a->block_size = block_size ? block_size : 4096;
}

void
dc_arena_deinit(struct dc_arena *a)
{
    struct dc_arena_block *b = a->head;
    while (b) {
        struct dc_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}

void
dc_arena_reset(struct dc_arena *a)
{
    struct dc_arena_block *b = a->head, *first = NULL;
    /* Keep the oldest block (the last in the chain): it is block_size, not an outsized one. */
    while (b) {
        struct dc_arena_block *next = b->next;
        if (next == NULL) {
            first = b;
        } else {
            free(b);
        }
        b = next;
    }
    if (first) {
        first->used = 0;
        first->next = NULL;
    }
    a->head = first;
}

void *
dc_arena_alloc(struct dc_arena *a, size_t n)
{
    n = ALIGN_UP(n ? n : 1);
    struct dc_arena_block *b = a->head;
    if (b == NULL || b->size - b->used < n) {
        size_t size = n > a->block_size ? n : a->block_size;
        if (size > SIZE_MAX - sizeof(*b))
            return NULL;
        struct dc_arena_block *nb = malloc(sizeof(*nb) + size);
        if (nb == NULL)
            return NULL;
        nb->size = size;
        nb->used = 0;
        if (b != NULL && n > a->block_size) {
            /* An outsized allocation gets its own block behind the current one, so the
             * current block's free space stays usable. */
            nb->next = b->next;
            b->next = nb;
            nb->used = n;
            return nb->data;
        }
        nb->next = b;
        a->head = b = nb;
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

void *
dc_arena_calloc(struct dc_arena *a, size_t n)
{
    void *p = dc_arena_alloc(a, n);
    if (p)
        memset(p, 0, n);
    return p;
}

char *
dc_arena_strndup(struct dc_arena *a, const char *s, size_t n)
{
    char *p = dc_arena_alloc(a, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

char *
dc_arena_strdup(struct dc_arena *a, const char *s)
{
    return dc_arena_strndup(a, s, strlen(s));
}

void *
dc_arena_push(struct dc_arena *a, void **v, size_t *n, size_t size)
{
    /* Capacity is the next power of two at or above *n, so it is implied by *n: storage
     * doubles whenever *n reaches a power of two. */
    if ((*n & (*n - 1)) == 0) {
        size_t ncap = *n ? *n * 2 : 1;
        void *nv = dc_arena_alloc(a, ncap * size);
        if (nv == NULL)
            return NULL;
        if (*n)
            memcpy(nv, *v, *n * size);
        *v = nv;
    }
    void *e = (char *)*v + *n * size;
    memset(e, 0, size);
    (*n)++;
    return e;
}
