/*
 * Saving and restoring the caches (answers and zone cuts) to a file, so a restart keeps a
 * warm cache: `duet-control dump-cache FILE` / `load-cache FILE`, and the `cache-file`
 * option (loaded at start, written at a clean stop).
 *
 * Format: the line "DUET-CACHE 1\n", then records: a type byte ('A' answer, 'D' zone cut),
 * key length and value length (4 bytes each, big-endian), the absolute expiry (8 bytes,
 * wall-clock seconds), key, value — the caches' own entries, byte for byte. Loading skips
 * expired entries and stops at the first malformed record (reporting it); a file from
 * another version is refused whole.
 */
#ifndef DUET_RESOLVER_CACHEFILE_H
#define DUET_RESOLVER_CACHEFILE_H

#include <stddef.h>
#include <stdint.h>

#include "common/lru.h"
#include "resolver/cache.h"

/* Writes both caches to path (through a temporary file renamed into place). Returns the
 * number of entries written, or a negative errno. */
long dr_cachefile_dump(struct dr_cache *answers, struct dc_lru *deleg, const char *path,
                       int64_t now);
/* Reads path into the caches. Returns the number of entries loaded, or a negative errno
 * (-ENOENT: no file; -EINVAL: not a cache file of this version or malformed). */
long dr_cachefile_load(struct dr_cache *answers, struct dc_lru *deleg, const char *path,
                       int64_t now);

#endif
