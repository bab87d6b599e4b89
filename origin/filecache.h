/*
 * Small files in memory, per worker (as nginx's open_file_cache is per worker): no locks,
 * no atomics. Keyed by site and normalised path; an entry holds the file's bytes and the
 * metadata its responses need. Entries are checked against the disk (inode, size, mtime)
 * at most once per `valid_ms`, so a changed or deleted file stops being served from memory
 * within that time. A byte budget bounds it; least recently used entries go first, never
 * while a response is still sending from one (refcount).
 */
#ifndef DUET_ORIGIN_FILECACHE_H
#define DUET_ORIGIN_FILECACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "origin/cond.h"

struct dw_fentry {
    struct dw_fentry *hnext;          /* hash chain */
    struct dw_fentry *lru_prev, *lru_next;
    unsigned refs;                    /* the cache's own (while linked) + responses using it */
    bool linked;
    uint64_t hash;
    uint64_t checked_ms;              /* last comparison with the disk (loop time) */
    dev_t dev;
    ino_t ino;
    uint64_t size;
    time_t mtime;
    int64_t mtime_ns;
    char etag[DW_ETAG_MAX];
    const char *mime;
    uint8_t variants;                 /* precompressed variants beside it (origin/file.h) */
    /* The headers of a full 200 answer about it (origin/response.c), once formatted. */
    uint16_t head_len;                /* 0: not yet */
    int8_t head_enc;                  /* for this coding ... */
    bool head_vary;                   /* ... and Vary */
    char head[320];
    size_t keylen;
    uint8_t *data;                    /* size bytes */
    char key[];                       /* site key (4 bytes) + path */
};

struct dw_fcache {
    struct dw_fentry **buckets;
    size_t nbuckets, count;
    size_t bytes, max_bytes;
    size_t max_file;
    uint64_t valid_ms;
    struct dw_fentry *lru_head, *lru_tail; /* head: most recent */
    uint64_t hits, misses;
};

/* max_bytes 0 disables the cache (every lookup misses, nothing is stored). 0 or -ENOMEM. */
int dw_fcache_init(struct dw_fcache *c, size_t max_bytes, size_t max_file, uint64_t valid_ms);
void dw_fcache_deinit(struct dw_fcache *c);

/* The live entry for (site, path) or NULL. The caller must still revalidate when
 * now_ms - e->checked_ms >= valid_ms (see dw_fcache_stale). Takes a reference. */
struct dw_fentry *dw_fcache_get(struct dw_fcache *c, unsigned site, const char *path,
                                size_t len);
bool dw_fcache_stale(const struct dw_fcache *c, const struct dw_fentry *e, uint64_t now_ms);
/* Drops e from the cache (the file changed); e stays valid until its last release. */
void dw_fcache_remove(struct dw_fcache *c, struct dw_fentry *e);
/* Stores a copy of the file's bytes read from fd (st: its fstat). Returns a referenced
 * entry, or NULL when the file is too large, the budget cannot fit it, or reading fails. */
struct dw_fentry *dw_fcache_put(struct dw_fcache *c, unsigned site, const char *path,
                                size_t len, int fd, const struct stat *st, const char *mime,
                                uint64_t now_ms);
void dw_fcache_release(struct dw_fcache *c, struct dw_fentry *e);

/* An entry outside the cache (never linked, one reference) holding size bytes the caller
 * fills: a body built in memory (multipart/byteranges) that is sent, and released, like a
 * cached file. NULL on ENOMEM. */
struct dw_fentry *dw_fcache_blob(size_t size);

#endif
