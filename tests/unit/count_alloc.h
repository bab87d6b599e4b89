/*
 * A counting allocator for tests that show a hot path allocates nothing: include it in one
 * test executable (it defines malloc, calloc, realloc and free over glibc's own) and read
 * n_allocs around the code under test. n_heap_bytes is the heap held right now by blocks
 * allocated through it (each block's usable size plus glibc's 8-byte chunk header, i.e. the
 * chunk size), for tests that check a memory budget. ASan brings its own malloc, so in
 * sanitizer builds (DUET_SANITIZE) nothing is defined and COUNT_ALLOC is 0: such tests skip
 * themselves.
 */
#ifndef DUET_TEST_COUNT_ALLOC_H
#define DUET_TEST_COUNT_ALLOC_H

#include <stddef.h>

#ifndef DUET_SANITIZE
#include <malloc.h>

#define COUNT_ALLOC 1
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);
static size_t n_allocs;
static long long n_heap_bytes;

static long long
chunk_bytes(void *p)
{
    return p ? (long long)malloc_usable_size(p) + (long long)sizeof(size_t) : 0;
}

void *
malloc(size_t n)
{
    n_allocs++;
    void *p = __libc_malloc(n);
    n_heap_bytes += chunk_bytes(p);
    return p;
}

void *
calloc(size_t n, size_t size)
{
    n_allocs++;
    void *p = __libc_calloc(n, size);
    n_heap_bytes += chunk_bytes(p);
    return p;
}

void *
realloc(void *p, size_t n)
{
    n_allocs++;
    long long old = chunk_bytes(p);
    void *q = __libc_realloc(p, n);
    if (q != NULL || n == 0)
        n_heap_bytes += chunk_bytes(q) - old;
    return q;
}

/* aligned_alloc too, so that every block free() sees was counted on the way in. */
void *
aligned_alloc(size_t align, size_t n)
{
    n_allocs++;
    void *p = __libc_memalign(align, n);
    n_heap_bytes += chunk_bytes(p);
    return p;
}

void
free(void *p)
{
    n_heap_bytes -= chunk_bytes(p);
    __libc_free(p);
}
#else
#define COUNT_ALLOC 0
#endif

#endif
