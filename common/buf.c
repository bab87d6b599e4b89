#include "common/buf.h"

#include <stdlib.h>

void
dc_bufpool_init(struct dc_bufpool *p, size_t size, size_t keep)
{
    p->size = size < sizeof(void *) ? sizeof(void *) : size;
    p->keep = keep;
    p->nfree = 0;
    p->free_list = NULL;
    p->out = 0;
}

void
dc_bufpool_deinit(struct dc_bufpool *p)
{
    while (p->free_list) {
        void *next = *(void **)p->free_list;
        free(p->free_list);
        p->free_list = next;
    }
    p->nfree = 0;
}

void *
dc_buf_get(struct dc_bufpool *p)
{
    void *b = p->free_list;
    if (b) {
        p->free_list = *(void **)b;
        p->nfree--;
    } else {
        b = malloc(p->size);
        if (b == NULL)
            return NULL;
    }
    p->out++;
    return b;
}

void
dc_buf_put(struct dc_bufpool *p, void *b)
{
    if (b == NULL)
        return;
    p->out--;
    if (p->nfree >= p->keep) {
        free(b);
        return;
    }
    *(void **)b = p->free_list;
    p->free_list = b;
    p->nfree++;
}
