#include "origin/filecache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t
key_hash(unsigned site, const char *path, size_t len)
{
    /* Paths come from clients, but the table is per worker and bounded by the budget of
     * files that exist on disk, so flooding can only make chains as long as the site is
     * large. FNV-1a. */
    uint64_t h = 1469598103934665603ull ^ site;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)path[i]) * 1099511628211ull;
    return h;
}

int
dw_fcache_init(struct dw_fcache *c, size_t max_bytes, size_t max_file, uint64_t valid_ms)
{
    memset(c, 0, sizeof(*c));
    c->max_bytes = max_bytes;
    c->max_file = max_file;
    c->valid_ms = valid_ms;
    c->nbuckets = 1024;
    c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
    return c->buckets ? 0 : -ENOMEM;
}

static void
entry_free(struct dw_fentry *e)
{
    free(e->data);
    free(e);
}

static void
unlink_entry(struct dw_fcache *c, struct dw_fentry *e)
{
    struct dw_fentry **p = &c->buckets[e->hash & (c->nbuckets - 1)];
    while (*p && *p != e)
        p = &(*p)->hnext;
    if (*p)
        *p = e->hnext;
    if (e->lru_prev)
        e->lru_prev->lru_next = e->lru_next;
    else
        c->lru_head = e->lru_next;
    if (e->lru_next)
        e->lru_next->lru_prev = e->lru_prev;
    else
        c->lru_tail = e->lru_prev;
    e->linked = false;
    c->count--;
    c->bytes -= e->size + sizeof(*e) + e->keylen;
}

void
dw_fcache_release(struct dw_fcache *c, struct dw_fentry *e)
{
    (void)c;
    if (e && --e->refs == 0)
        entry_free(e);
}

struct dw_fentry *
dw_fcache_blob(size_t size)
{
    struct dw_fentry *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    e->data = malloc(size ? size : 1);
    if (e->data == NULL) {
        free(e);
        return NULL;
    }
    e->size = size;
    e->refs = 1;
    return e;
}

void
dw_fcache_remove(struct dw_fcache *c, struct dw_fentry *e)
{
    if (!e->linked)
        return;
    unlink_entry(c, e);
    dw_fcache_release(c, e); /* the cache's own reference */
}

void
dw_fcache_deinit(struct dw_fcache *c)
{
    while (c->lru_head)
        dw_fcache_remove(c, c->lru_head);
    free(c->buckets);
    c->buckets = NULL;
}

static void
lru_front(struct dw_fcache *c, struct dw_fentry *e)
{
    if (c->lru_head == e)
        return;
    if (e->lru_prev)
        e->lru_prev->lru_next = e->lru_next;
    if (e->lru_next)
        e->lru_next->lru_prev = e->lru_prev;
    else if (c->lru_tail == e)
        c->lru_tail = e->lru_prev;
    e->lru_prev = NULL;
    e->lru_next = c->lru_head;
    if (c->lru_head)
        c->lru_head->lru_prev = e;
    c->lru_head = e;
    if (c->lru_tail == NULL)
        c->lru_tail = e;
}

struct dw_fentry *
dw_fcache_get(struct dw_fcache *c, unsigned site, const char *path, size_t len)
{
    if (c->max_bytes == 0)
        return NULL;
    uint64_t h = key_hash(site, path, len);
    for (struct dw_fentry *e = c->buckets[h & (c->nbuckets - 1)]; e; e = e->hnext) {
        if (e->hash == h && e->keylen == len + 4 && memcmp(e->key, &site, 4) == 0 &&
            memcmp(e->key + 4, path, len) == 0) {
            lru_front(c, e);
            e->refs++;
            c->hits++;
            return e;
        }
    }
    c->misses++;
    return NULL;
}

bool
dw_fcache_stale(const struct dw_fcache *c, const struct dw_fentry *e, uint64_t now_ms)
{
    return now_ms - e->checked_ms >= c->valid_ms;
}

struct dw_fentry *
dw_fcache_put(struct dw_fcache *c, unsigned site, const char *path, size_t len, int fd,
              const struct stat *st, const char *mime, uint64_t now_ms)
{
    uint64_t size = (uint64_t)st->st_size;
    size_t need = size + sizeof(struct dw_fentry) + len + 4;
    if (c->max_bytes == 0 || size > c->max_file || need > c->max_bytes)
        return NULL;
    /* Make room first; entries still in use leave the table now and are freed later. */
    while (c->bytes + need > c->max_bytes && c->lru_tail)
        dw_fcache_remove(c, c->lru_tail);
    struct dw_fentry *e = calloc(1, sizeof(*e) + len + 4);
    if (e == NULL)
        return NULL;
    e->data = malloc(size ? size : 1);
    if (e->data == NULL) {
        free(e);
        return NULL;
    }
    /* Small files only (file-cache-max-file): a synchronous pread is a page-cache copy. */
    uint64_t got = 0;
    for (int tries = 0; got < size && tries < 64; tries++) {
        ssize_t n = pread(fd, e->data + got, size - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (uint64_t)n;
    }
    if (got != size) {
        entry_free(e);
        return NULL;
    }
    e->hash = key_hash(site, path, len);
    memcpy(e->key, &site, 4);
    memcpy(e->key + 4, path, len);
    e->keylen = len + 4;
    e->size = size;
    e->dev = st->st_dev;
    e->ino = st->st_ino;
    e->mtime = st->st_mtim.tv_sec;
    e->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
    dw_cond_etag(e->mtime, size, e->etag);
    e->mime = mime;
    e->checked_ms = now_ms;
    e->refs = 2; /* the cache's and the caller's */
    e->linked = true;
    size_t b = e->hash & (c->nbuckets - 1);
    e->hnext = c->buckets[b];
    c->buckets[b] = e;
    e->lru_next = c->lru_head;
    if (c->lru_head)
        c->lru_head->lru_prev = e;
    c->lru_head = e;
    if (c->lru_tail == NULL)
        c->lru_tail = e;
    c->count++;
    c->bytes += need;
    return e;
}
