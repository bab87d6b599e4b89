#include "origin/file.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "origin/conf.h"
#include "origin/filecache.h"
#include "origin/mime.h"
#include "origin/path.h"

#define PATH_MAX_LEN 4096

int
dw_file_open(const struct dw_conf_site *s, const char *rel, size_t rl, bool trailing, char *path,
             size_t cap, struct stat *st)
{
    if (rl + 1 > cap)
        return -404;
    memcpy(path, rel, rl);
    path[rl] = '\0';
    int fd = dw_path_open(s->rootfd, path, st);
    if (fd < 0)
        return fd == -ENOENT || fd == -ENOTDIR ? -404 : -403;
    /* "/file.html/" names a directory that is not there (nginx: 404). */
    if (trailing && rl > 0 && S_ISREG(st->st_mode)) {
        close(fd);
        return -404;
    }
    if (S_ISDIR(st->st_mode)) {
        close(fd);
        if (!trailing && rl > 0)
            return -301;
        size_t il = strlen(s->index);
        if (rl + 1 + il + 1 > cap)
            return -404;
        size_t n = rl;
        if (n > 0)
            path[n++] = '/';
        memcpy(path + n, s->index, il + 1);
        fd = dw_path_open(s->rootfd, path, st);
        if (fd < 0)
            return -403; /* a directory without its index: no listing, as nginx */
    }
    if (!S_ISREG(st->st_mode)) {
        close(fd);
        return -403;
    }
    return fd;
}

static bool
same_file(const struct dw_fentry *e, const struct stat *st)
{
    int64_t ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
    return e->dev == st->st_dev && e->ino == st->st_ino && e->size == (uint64_t)st->st_size &&
           e->mtime_ns == ns;
}

static const char *const suffix[DW_ENC_COUNT] = {"", ".br", ".zst", ".gz"};

/* Opens the variant enc of the file at path (dw_file_open's output): a regular file
 * beneath the root, or -404 / -403. */
static int
open_variant(const struct dw_conf_site *s, const char *path, int enc, struct stat *st)
{
    char vp[PATH_MAX_LEN + 8];
    size_t pl = strlen(path), sl = strlen(suffix[enc]);
    if (pl + sl + 1 > sizeof(vp))
        return -404;
    memcpy(vp, path, pl);
    memcpy(vp + pl, suffix[enc], sl + 1);
    int fd = dw_path_open(s->rootfd, vp, st);
    if (fd < 0)
        return fd == -ENOENT || fd == -ENOTDIR ? -404 : -403;
    if (!S_ISREG(st->st_mode)) {
        close(fd);
        return -403;
    }
    return fd;
}

/* Which variants of the file at path exist (DW_ENC_KNOWN set): one open each. */
static uint8_t
probe_variants(const struct dw_conf_site *s, const char *path)
{
    uint8_t v = DW_ENC_KNOWN;
    for (int enc = DW_ENC_IDENTITY + 1; enc < DW_ENC_COUNT; enc++) {
        struct stat st;
        int fd = open_variant(s, path, enc, &st);
        if (fd >= 0) {
            v |= (uint8_t)(1u << enc);
            close(fd);
        }
    }
    return v;
}

/* The path dw_file_open opens for rel: the file, or the directory's index. */
static bool
target_path(const struct dw_conf_site *s, const char *rel, size_t rl, bool trailing, char *path,
            size_t cap)
{
    size_t il = strlen(s->index);
    if (rl + 1 + il + 1 > cap)
        return false;
    memcpy(path, rel, rl);
    size_t n = rl;
    if (trailing || rl == 0) {
        if (n > 0)
            path[n++] = '/';
        memcpy(path + n, s->index, il);
        n += il;
    }
    path[n] = '\0';
    return true;
}

/* Another representation, another validator (RFC 9110 §8.8.3): the coding goes into it,
 * so a variant's ETag never equals the file's even with the same mtime and size. */
static void
etag_for(char etag[DW_ETAG_MAX], int enc)
{
    if (enc == DW_ENC_IDENTITY)
        return;
    size_t n = strlen(etag);
    const char *name = dw_file_enc_name(enc);
    size_t nl = strlen(name);
    if (n < 2 || n + 1 + nl + 1 > DW_ETAG_MAX)
        return;
    etag[n - 1] = '-';
    memcpy(etag + n, name, nl);
    etag[n + nl] = '"';
    etag[n + nl + 1] = '\0';
}

/* How to open the representation a cache key stands for. */
struct source {
    const struct dw_conf_site *s;
    const char *rel; /* identity: the request path */
    size_t rl;
    bool trailing;
    const char *path; /* a variant: the file's path */
    int enc;
};

static int
source_open(const struct source *src, char *path, size_t cap, struct stat *st)
{
    if (src->enc == DW_ENC_IDENTITY)
        return dw_file_open(src->s, src->rel, src->rl, src->trailing, path, cap, st);
    return open_variant(src->s, src->path, src->enc, st);
}

/*
 * The representation keyed key: a cached entry (*ep, fresh or revalidated now), or else the
 * open fd (returned, *st its fstat, path what was opened), stored in the cache when small.
 * A stale entry is compared with what the path opens now: the same file (device, inode,
 * size, mtime) keeps it, anything else (changed, gone, now a directory) drops it. Returns
 * 0 (*ep set), an fd, or a negative HTTP status.
 */
static int
lookup(struct dw_fcache *fc, unsigned skey, const char *key, size_t klen, const struct source *src,
       uint64_t now_ms, struct dw_fentry **ep, char *path, size_t cap, struct stat *st)
{
    int fd = -1;
    struct dw_fentry *e = dw_fcache_get(fc, skey, key, klen);
    if (e && dw_fcache_stale(fc, e, now_ms)) {
        fd = source_open(src, path, cap, st);
        if (fd >= 0 && same_file(e, st)) {
            e->checked_ms = now_ms;
            e->variants = 0; /* re-probed by the caller */
            close(fd);
            fd = -1;
        } else {
            dw_fcache_remove(fc, e);
            dw_fcache_release(fc, e);
            e = NULL;
            if (fd < 0)
                return fd;
        }
    }
    *ep = e;
    if (e)
        return 0;
    if (fd < 0)
        fd = source_open(src, path, cap, st);
    return fd;
}

/* Describes the cached entry e, or else the open fd with its fstat. */
static void
describe(struct dw_file *f, struct dw_fentry *e, int fd, const struct stat *st, const char *mime,
         int enc)
{
    f->entry = e;
    f->fd = e ? -1 : fd;
    f->enc = enc;
    if (e) {
        f->size = e->size;
        f->mtime = e->mtime;
        f->etag = e->etag;
        f->mime = e->mime;
    } else {
        f->size = (uint64_t)st->st_size;
        f->mtime = st->st_mtim.tv_sec;
        dw_cond_etag(f->mtime, f->size, f->etag_buf);
        etag_for(f->etag_buf, enc);
        f->etag = f->etag_buf;
        f->mime = mime;
    }
}

/* Caches what fd holds under key (when it fits) and describes it. */
static void
store(struct dw_fcache *fc, unsigned skey, const char *key, size_t klen, int fd,
      const struct stat *st, const char *mime, int enc, uint64_t now_ms, struct dw_file *f)
{
    struct dw_fentry *e = dw_fcache_put(fc, skey, key, klen, fd, st, mime, now_ms);
    if (e) {
        etag_for(e->etag, enc);
        close(fd);
        fd = -1;
    }
    describe(f, e, fd, st, mime, enc);
}

/*
 * Cache keys: the path as asked (a directory keeps its slash: it names the index); a
 * variant's is that key, a NUL (which no normalised path holds) and the coding's name.
 * Which variants exist is kept with the file's entry and re-probed when the file is
 * revalidated, so a cached hit costs no system call whatever Accept-Encoding says.
 */
int
dw_file_get(struct dw_fcache *fc, const struct dw_conf *conf, int site, const char *rel, size_t rl,
            bool trailing, const char *ae, size_t ae_len, uint64_t now_ms, struct dw_file *f)
{
    const struct dw_conf_site *s = &conf->sites[site];
    f->entry = NULL; /* describe() sets the rest */
    f->fd = -1;
    f->enc = DW_ENC_IDENTITY;
    f->vary = false;
    char key[PATH_MAX_LEN + 8];
    if (rl + 1 > PATH_MAX_LEN)
        return -404;
    memcpy(key, rel, rl);
    size_t klen = rl;
    if (trailing)
        key[klen++] = '/';
    unsigned skey = conf->generation << 8 | (unsigned)site;

    char path[PATH_MAX_LEN];
    struct stat st;
    struct dw_fentry *e;
    struct source src = {s, rel, rl, trailing, NULL, DW_ENC_IDENTITY};
    int fd = lookup(fc, skey, key, klen, &src, now_ms, &e, path, sizeof(path), &st);
    if (fd < 0)
        return fd;
    if (!s->precompressed) {
        if (e)
            describe(f, e, -1, NULL, NULL, DW_ENC_IDENTITY);
        else
            store(fc, skey, key, klen, fd, &st, dw_mime_type(path, strlen(path)), DW_ENC_IDENTITY,
                  now_ms, f);
        return 0;
    }

    /* precompressed: which variants exist, and which one the client takes. */
    if (e == NULL) {
        const char *mime = dw_mime_type(path, strlen(path));
        store(fc, skey, key, klen, fd, &st, mime, DW_ENC_IDENTITY, now_ms, f);
        e = f->entry;
    } else {
        describe(f, e, -1, NULL, NULL, DW_ENC_IDENTITY);
        if (!target_path(s, rel, rl, trailing, path, sizeof(path)))
            return 0;
    }
    uint8_t avail = e && (e->variants & DW_ENC_KNOWN) ? e->variants : probe_variants(s, path);
    if (e)
        e->variants = avail;
    avail &= (uint8_t)~DW_ENC_KNOWN;
    f->vary = avail != 0;
    int enc = dw_file_choose_encoding(ae, ae_len, avail);
    if (enc == DW_ENC_IDENTITY)
        return 0;

    const char *name = dw_file_enc_name(enc);
    size_t nl = strlen(name);
    key[klen] = '\0';
    memcpy(key + klen + 1, name, nl);
    struct dw_fentry *ve;
    char vpath[PATH_MAX_LEN];
    struct stat vst;
    src = (struct source){s, NULL, 0, false, path, enc};
    int vfd = lookup(fc, skey, key, klen + 1 + nl, &src, now_ms, &ve, vpath, sizeof(vpath), &vst);
    if (vfd < 0)
        return 0; /* gone since the probe: the file itself, until the next revalidation */
    struct dw_file v;
    memset(&v, 0, sizeof(v));
    if (ve)
        describe(&v, ve, -1, NULL, NULL, enc);
    else
        store(fc, skey, key, klen + 1 + nl, vfd, &vst, f->mime, enc, now_ms, &v);
    /* The variant replaces the file (and keeps the file's media type). */
    if (f->entry)
        dw_fcache_release(fc, f->entry);
    if (f->fd >= 0)
        close(f->fd);
    const char *mime = f->mime;
    bool vary = f->vary;
    *f = v;
    if (f->etag == v.etag_buf)
        f->etag = f->etag_buf;
    f->mime = mime;
    f->vary = vary;
    return 0;
}

/* Milli-q of a qvalue (RFC 9110 §12.4.2: "0" ["." 0*3DIGIT] / "1" ["." 0*3"0"]), or -1. */
static int
parse_q(const char *p, const char *end)
{
    if (p == end || (*p != '0' && *p != '1'))
        return -1;
    int q = (*p++ - '0') * 1000;
    if (p < end && *p == '.') {
        p++;
        int scale = 100;
        for (int i = 0; i < 3 && p < end && *p >= '0' && *p <= '9'; i++, p++, scale /= 10)
            q += (*p - '0') * scale;
    }
    return p == end && q <= 1000 ? q : -1;
}

static bool
token_is(const char *p, size_t n, const char *t)
{
    return strlen(t) == n && strncasecmp(p, t, n) == 0;
}

int
dw_file_choose_encoding(const char *ae, size_t len, unsigned available)
{
    if (ae == NULL || (available & ~DW_ENC_KNOWN) == 0)
        return DW_ENC_IDENTITY;
    int q[DW_ENC_COUNT] = {-1, -1, -1, -1}; /* -1: not listed */
    int star = -1;
    const char *p = ae, *end = ae + len;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *elem_end = comma ? comma : end;
        /* coding *( OWS ";" OWS "q=" qvalue ) */
        const char *semi = memchr(p, ';', (size_t)(elem_end - p));
        const char *te = semi ? semi : elem_end;
        while (p < te && (*p == ' ' || *p == '\t'))
            p++;
        while (te > p && (te[-1] == ' ' || te[-1] == '\t'))
            te--;
        int qv = 1000;
        if (semi) {
            const char *qs = semi + 1, *qe = elem_end;
            while (qs < qe && (*qs == ' ' || *qs == '\t'))
                qs++;
            while (qe > qs && (qe[-1] == ' ' || qe[-1] == '\t'))
                qe--;
            if (qe - qs >= 2 && (qs[0] == 'q' || qs[0] == 'Q') && qs[1] == '=')
                qv = parse_q(qs + 2, qe);
            else
                qv = -1; /* a parameter we do not know: the element is ignored */
        }
        size_t tl = (size_t)(te - p);
        if (qv >= 0) {
            int enc = -1;
            if (token_is(p, tl, "br"))
                enc = DW_ENC_BR;
            else if (token_is(p, tl, "zstd"))
                enc = DW_ENC_ZSTD;
            else if (token_is(p, tl, "gzip") || token_is(p, tl, "x-gzip"))
                enc = DW_ENC_GZIP;
            else if (token_is(p, tl, "identity"))
                enc = DW_ENC_IDENTITY;
            else if (token_is(p, tl, "*"))
                star = star < 0 ? qv : star;
            if (enc >= 0 && q[enc] < 0)
                q[enc] = qv;
        }
        p = comma ? comma + 1 : end;
    }
    int best = DW_ENC_IDENTITY, bestq = 0;
    for (int enc = DW_ENC_IDENTITY + 1; enc < DW_ENC_COUNT; enc++) {
        if (!(available & (1u << enc)))
            continue;
        int qe = q[enc] >= 0 ? q[enc] : star >= 0 ? star : 0;
        if (qe > bestq) {
            best = enc;
            bestq = qe;
        }
    }
    /* identity competes only when the client named it (or "*"); then a strictly higher
     * q for it keeps the file unencoded. */
    int qid = q[DW_ENC_IDENTITY] >= 0 ? q[DW_ENC_IDENTITY] : star;
    if (best != DW_ENC_IDENTITY && qid > bestq)
        return DW_ENC_IDENTITY;
    return best;
}

const char *
dw_file_enc_name(int enc)
{
    switch (enc) {
    case DW_ENC_BR:
        return "br";
    case DW_ENC_ZSTD:
        return "zstd";
    case DW_ENC_GZIP:
        return "gzip";
    default:
        return NULL;
    }
}
