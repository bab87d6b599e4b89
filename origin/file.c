#include "origin/file.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "origin/conf.h"
#include "origin/filecache.h"
#include "origin/mime.h"
#include "origin/path.h"

#define PATH_MAX_LEN 4096

int
dw_file_open(const struct dw_conf_site *s, const char *rel, size_t rl, bool trailing,
             char *path, size_t cap, struct stat *st)
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

/* Describes the cached entry e, or else the open fd with its fstat. */
static void
describe(struct dw_file *f, struct dw_fentry *e, int fd, const struct stat *st,
         const char *mime)
{
    f->entry = e;
    f->fd = e ? -1 : fd;
    if (e) {
        f->size = e->size;
        f->mtime = e->mtime;
        f->etag = e->etag;
        f->mime = e->mime;
    } else {
        f->size = (uint64_t)st->st_size;
        f->mtime = st->st_mtim.tv_sec;
        dw_cond_etag(f->mtime, f->size, f->etag_buf);
        f->etag = f->etag_buf;
        f->mime = mime;
    }
}

/*
 * The cache is keyed by the path as asked (a directory keeps its slash: it names the
 * index). A stale entry is compared with what the path opens now: the same file (device,
 * inode, size, mtime) keeps it, anything else (changed, gone, now a directory) drops it and
 * answers from the disk.
 */
int
dw_file_get(struct dw_fcache *fc, const struct dw_conf *conf, int site, const char *rel,
            size_t rl, bool trailing, const char *ae, size_t ae_len, uint64_t now_ms,
            struct dw_file *f)
{
    (void)ae;
    (void)ae_len;
    const struct dw_conf_site *s = &conf->sites[site];
    memset(f, 0, sizeof(*f));
    f->fd = -1;
    char key[PATH_MAX_LEN + 1];
    if (rl + 1 > sizeof(key))
        return -404;
    memcpy(key, rel, rl);
    size_t klen = rl;
    if (trailing)
        key[klen++] = '/';
    unsigned skey = conf->generation << 8 | (unsigned)site;

    char path[PATH_MAX_LEN];
    struct stat st;
    int fd = -1;
    struct dw_fentry *e = dw_fcache_get(fc, skey, key, klen);
    if (e && dw_fcache_stale(fc, e, now_ms)) {
        fd = dw_file_open(s, rel, rl, trailing, path, sizeof(path), &st);
        if (fd >= 0 && same_file(e, &st)) {
            e->checked_ms = now_ms;
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
    if (e) {
        describe(f, e, -1, NULL, NULL);
        return 0;
    }
    if (fd < 0) {
        fd = dw_file_open(s, rel, rl, trailing, path, sizeof(path), &st);
        if (fd < 0)
            return fd;
    }
    const char *mime = dw_mime_type(path, strlen(path));
    e = dw_fcache_put(fc, skey, key, klen, fd, &st, mime, now_ms);
    if (e) {
        close(fd);
        fd = -1;
    }
    describe(f, e, fd, &st, mime);
    return 0;
}

const char *
dw_file_enc_name(int enc)
{
    switch (enc) {
    case DW_ENC_BR: return "br";
    case DW_ENC_ZSTD: return "zstd";
    case DW_ENC_GZIP: return "gzip";
    default: return NULL;
    }
}
