/*
 * Which file a request path names and where its bytes come from: the site's file, or a
 * directory's index file, opened beneath the document root (origin/path.c); the worker's
 * file cache first, revalidated against the disk at most once per file-cache-valid. With
 * `precompressed = yes` in the site, the FILE.br, FILE.zst or FILE.gz beside the file when
 * the client's Accept-Encoding allows it (dw_file_choose_encoding).
 *
 * Not here: what the response says about it (origin/response.c), the cache's storage
 * (origin/filecache.c).
 */
#ifndef DUET_ORIGIN_FILE_H
#define DUET_ORIGIN_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "origin/cond.h"

struct dw_conf;
struct dw_conf_site;
struct dw_fcache;
struct dw_fentry;

/* Content codings of precompressed variants, in the order preferred when q-values tie. */
enum dw_file_enc {
    DW_ENC_IDENTITY = 0, /* the file itself */
    DW_ENC_BR,           /* FILE.br */
    DW_ENC_ZSTD,         /* FILE.zst */
    DW_ENC_GZIP,         /* FILE.gz */
    DW_ENC_COUNT
};

/* Which variants exist: bit (1 << enc) for each enc > DW_ENC_IDENTITY. */
#define DW_ENC_KNOWN 0x80u /* the bits were checked (cache entries) */

/* The name of a coding in Content-Encoding ("br", "zstd", "gzip"; NULL for identity). */
const char *dw_file_enc_name(int enc);

/* The file a response sends. */
struct dw_file {
    struct dw_fentry *entry; /* cached bytes, referenced; or NULL */
    int fd;                  /* the open file when not cached, else -1 */
    uint64_t size;
    time_t mtime;
    const char *etag; /* the entry's, or etag_buf */
    const char *mime; /* of the file itself, whatever the coding */
    int enc;          /* enum dw_file_enc of the bytes */
    bool vary;        /* the site serves variants of this file: Vary: Accept-Encoding */
    char etag_buf[DW_ETAG_MAX];
};

/*
 * Opens what rel (dw_path_normalize's output; trailing: it ended in '/') names under site
 * s: the file, or a directory's index file. Writes the relative path opened into path (cap
 * bytes, NUL-terminated) and its fstat into *st. Returns the fd, or a negative HTTP status:
 * -404 (missing, or "/file/"), -403 (escape, unreadable, not a regular file, a directory
 * without its index), -301 (a directory asked without its trailing slash).
 */
int dw_file_open(const struct dw_conf_site *s, const char *rel, size_t rl, bool trailing,
                 char *path, size_t cap, struct stat *st);

/*
 * The file for (site, rel, trailing) of configuration conf: from the cache fc (revalidated
 * when older than its valid time, now_ms being loop time) or opened, and put into the cache
 * when small. ae/ae_len is the Accept-Encoding value (NULL: absent) and only matters when
 * the site has precompressed on. Returns 0 with *f filled (release with dw_file_release), or
 * a negative HTTP status as dw_file_open.
 */
int dw_file_get(struct dw_fcache *fc, const struct dw_conf *conf, int site, const char *rel,
                size_t rl, bool trailing, const char *ae, size_t ae_len, uint64_t now_ms,
                struct dw_file *f);

/*
 * The coding to send given an Accept-Encoding value (RFC 9110 §12.5.3; NULL: absent, which
 * gets identity) and the variants that exist (bits as above). A coding is acceptable when
 * listed, or covered by "*", with q > 0; "x-gzip" is gzip. The acceptable coding with the
 * highest q wins, ties going br, then zstd, then gzip; identity wins when the client gives
 * it a strictly higher q than every available coding. Never a coding the client did not
 * accept. Pure.
 */
int dw_file_choose_encoding(const char *ae, size_t len, unsigned available);

#endif
