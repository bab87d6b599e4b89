/*
 * A counting allocator for tests that show a hot path allocates nothing: include it in one
 * test executable (it defines malloc, calloc, realloc and free over glibc's own) and read
 * n_allocs around the code under test. ASan brings its own malloc, so in sanitizer builds
 * (DUET_SANITIZE) nothing is defined and COUNT_ALLOC is 0: such tests skip themselves.
 */
#ifndef DUET_TEST_COUNT_ALLOC_H
#define DUET_TEST_COUNT_ALLOC_H

#include <stddef.h>

#ifndef DUET_SANITIZE
#define COUNT_ALLOC 1
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
static size_t n_allocs;

void *
malloc(size_t n)
{
    n_allocs++;
    return __libc_malloc(n);
}

void *
calloc(size_t n, size_t size)
{
    n_allocs++;
    return __libc_calloc(n, size);
}

void *
realloc(void *p, size_t n)
{
    n_allocs++;
    return __libc_realloc(p, n);
}

void
free(void *p)
{
    __libc_free(p);
}
#else
#define COUNT_ALLOC 0
#endif

#endif
