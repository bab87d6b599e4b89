/*
 * Saving and restoring the caches (answers and zone cuts) to a file, so a restart keeps a
 * warm cache: `duet-control dump-cache FILE` / `load-cache FILE`, and the `cache-file`
 * option (loaded at start, written at a clean stop).
 *
 * Format: the line "DUET-CACHE 1\n", then records: a type byte ('A' answer, 'D' zone cut),
 * key length and value length (4 bytes each, big-endian), the absolute expiry (8 bytes,
 * big-endian, wall-clock seconds), key, value — the caches' own entries, byte for byte
 * (an answer's value holds host-order fields: a file is for the machine that wrote it).
 *
 * A file is input from outside the process, so loading trusts nothing in it. Every record
 * is checked before anything is loaded, and one bad record refuses the whole file (the
 * caches are left as they were):
 *  - answers: as dr_cache_entry_valid() describes (key a lower-case uncompressed name plus
 *    type and class; value a well-formed reply to exactly that question, every TTL offset
 *    right);
 *  - the cut table ('D'), in the layouts of resolver/deleg.c: a zone cut's key is a
 *    lower-case uncompressed name and its value the same zone name, 1..DR_DELEG_MAX_NS name
 *    servers, each a lower-case uncompressed name with 0..DR_DELEG_MAX_ADDRS addresses
 *    (family byte 4 or 6 and 4 or 16 bytes), nothing after the last; a DNAME's key is the
 *    byte 0xFE and its owner, its value a TTL and its target, names as above; and
 *    dr_deleg_entry_valid() agrees;
 *  - lengths agree with the bytes present; no expiry more than DR_CACHE_TTL_LIMIT ahead.
 * Expired records are checked, then skipped. Entries of the cut table that are neither cuts
 * nor DNAMEs (other data the iterator may key there) are not written: teach the checks
 * their layout when they should survive a restart.
 */
#ifndef DUET_RESOLVER_CACHEFILE_H
#define DUET_RESOLVER_CACHEFILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/lru.h"
#include "resolver/cache.h"

/* Why a file was refused: the record (1 = first after the header, 0 = the header itself),
 * its byte offset in the file, and a phrase without quotes. */
struct dr_cachefile_error {
    long entry;
    uint64_t offset;
    char why[192];
};

/* Writes both caches to path (through a temporary file renamed into place). Returns the
 * number of entries written, or a negative errno. */
long dr_cachefile_dump(struct dr_cache *answers, struct dc_lru *deleg, const char *path,
                       int64_t now);

/*
 * Reads path into the caches. Returns the number of entries loaded (expired ones and ones
 * too large for the cache's budget are not), or a negative errno: -ENOENT no file, -EINVAL
 * not a cache file of this version or a record failed its checks (then err, when not NULL,
 * says which and why, and nothing was loaded), another errno from reading.
 */
long dr_cachefile_load_diag(struct dr_cache *answers, struct dc_lru *deleg, const char *path,
                            int64_t now, struct dr_cachefile_error *err);
/* The same without the diagnosis. */
long dr_cachefile_load(struct dr_cache *answers, struct dc_lru *deleg, const char *path,
                       int64_t now);
/* The loader proper, on an open stream (a file, or fmemopen() for tests and fuzzing): reads
 * it twice, checking then loading, so it must be seekable. Results as above. */
long dr_cachefile_read(struct dr_cache *answers, struct dc_lru *deleg, FILE *f, int64_t now,
                       struct dr_cachefile_error *err);

#endif
