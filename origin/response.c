#include "origin/response.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "origin/cond.h"
#include "origin/conf.h"
#include "origin/mime.h"
#include "origin/path.h"
#include "origin/range.h"
#include "origin/vhost.h"
#include "origin/worker.h"

#define PATH_MAX_LEN 4096

static const char *
reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 416: return "Range Not Satisfiable";
    case 421: return "Misdirected Request";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 505: return "HTTP Version Not Supported";
    default: return "Internal Server Error";
    }
}

/* Appends to the head buffer; the buffer is large enough for every head built here (paths
 * in Location are bounded by max-request-line, checked by the caller's limits). */
struct head {
    char *p;
    size_t len, cap;
    bool overflow;
};

static void
put(struct head *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
put(struct head *h, const char *fmt, ...)
{
    if (h->overflow)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(h->p + h->len, h->cap - h->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= h->cap - h->len) {
        h->overflow = true;
        return;
    }
    h->len += (size_t)n;
}

static void
common_head(struct dw_worker *wk, struct head *h, int status)
{
    put(h, "HTTP/1.1 %d %s\r\nServer: duet-origin\r\nDate: %s\r\n", status, reason(status),
        dw_worker_date(wk));
}

static void
connection_head(struct dw_worker *wk, struct head *h, const struct dw_conf_listen *lis,
                const struct dw_req *req, bool close)
{
    if (close) {
        put(h, "Connection: close\r\n");
        return;
    }
    if (req && req->minor == 0)
        put(h, "Connection: keep-alive\r\n");
    /* Telling the client when we give up on an idle connection lets it close first, which
     * keeps TIME_WAIT on its side (close-first = client). */
    if (lis && lis->close_first == DW_CLOSE_CLIENT)
        put(h, "Keep-Alive: timeout=%" PRId64 "\r\n",
            wk->conf->keepalive_timeout_ms / 1000);
}

/* An error page. On a connection that stays open (lis and req known, !close) it carries the
 * same Connection / Keep-Alive headers as a file would: an HTTP/1.0 client only keeps the
 * connection after a 404 when told "Connection: keep-alive", as nginx tells it. */
static void
error_page(struct dw_worker *wk, const struct dw_conf_listen *lis, const struct dw_req *req,
           int status, bool close, bool head_only, struct dw_response *resp)
{
    char body[256];
    int blen = snprintf(body, sizeof(body),
                        "<html><head><title>%d %s</title></head><body><h1>%d %s</h1></body>"
                        "</html>\n",
                        status, reason(status), status, reason(status));
    struct head h = {wk->hdr, 0, sizeof(wk->hdr), false};
    common_head(wk, &h, status);
    put(&h, "Content-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\n", blen);
    if (status == 405)
        put(&h, "Allow: GET, HEAD\r\n");
    connection_head(wk, &h, lis, req, close);
    put(&h, "\r\n");
    if (!head_only)
        put(&h, "%s", body);
    resp->status = status;
    resp->entry = NULL;
    resp->fd = -1;
    resp->first = resp->length = 0;
    resp->close = close;
    resp->head_only = head_only;
    resp->head_len = h.len;
}

void
dw_response_error(struct dw_worker *wk, int status, bool close, bool head_only,
                  struct dw_response *resp)
{
    error_page(wk, NULL, NULL, status, close, head_only, resp);
}

/* 301 to prefix (a scheme and host, or "" for the same origin), an optional port, and
 * path (the target as sent after "https://host", else from dir_location()). */
static void
redirect(struct dw_worker *wk, const struct dw_conf_listen *lis, const struct dw_req *req,
         const char *prefix, unsigned port, const char *path, size_t pathlen, bool close,
         struct dw_response *resp)
{
    struct head h = {wk->hdr, 0, sizeof(wk->hdr), false};
    common_head(wk, &h, 301);
    put(&h, "Content-Type: text/html; charset=utf-8\r\nContent-Length: 0\r\nLocation: %s",
        prefix);
    if (port)
        put(&h, ":%u", port);
    put(&h, "%.*s\r\n", (int)pathlen, path);
    connection_head(wk, &h, lis, req, close);
    put(&h, "\r\n");
    if (h.overflow) {
        dw_response_error(wk, 414, true, false, resp);
        return;
    }
    resp->status = 301;
    resp->entry = NULL;
    resp->fd = -1;
    resp->length = 0;
    resp->close = close;
    resp->head_len = h.len;
}

/*
 * The Location that adds a directory's missing slash: the normalised path rel, re-encoded,
 * + "/" + the query as sent ("/dir?x=1" → "/dir/?x=1", as nginx keeps it). Never the target
 * as the client wrote it: "//evil.com/../dir" names our "dir", but sent back it is a
 * reference to another host. Returns the length, or -1 when cap is too small.
 */
static int
dir_location(const char *rel, size_t rl, const char *target, size_t tlen, char *out, size_t cap)
{
    int n = dw_path_encode(rel, rl, out, cap);
    if (n < 0 || (size_t)n + 1 > cap)
        return -1;
    out[n++] = '/';
    /* The query: from the first '?' of the target to a fragment, if a client sent one. */
    size_t q = 0;
    while (q < tlen && target[q] != '?' && target[q] != '#')
        q++;
    if (q < tlen && target[q] == '?') {
        const char *hash = memchr(target + q, '#', tlen - q);
        size_t ql = hash ? (size_t)(hash - (target + q)) : tlen - q;
        if ((size_t)n + ql > cap)
            return -1;
        memcpy(out + n, target + q, ql);
        n += (int)ql;
    }
    return n;
}

static bool
same_file(const struct dw_fentry *e, const struct stat *st)
{
    int64_t ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
    return e->dev == st->st_dev && e->ino == st->st_ino && e->size == (uint64_t)st->st_size &&
           e->mtime_ns == ns;
}

/*
 * Opens what rel names under the site: the file, or a directory's index file. Returns the
 * fd, or a negative HTTP status: -404, -403, -301 (a directory without its slash).
 */
static int
open_target(struct dw_worker *wk, int site, const char *rel, size_t rel_len, bool trailing,
            struct stat *st)
{
    const struct dw_conf_site *s = &wk->conf->sites[site];
    int rootfd = s->rootfd;
    char path[PATH_MAX_LEN];
    memcpy(path, rel, rel_len);
    path[rel_len] = '\0';
    int fd = dw_path_open(rootfd, path, st);
    if (fd < 0)
        return fd == -ENOENT || fd == -ENOTDIR ? -404 : -403;
    /* "/file.html/" names a directory that is not there (nginx: 404). */
    if (trailing && rel_len > 0 && S_ISREG(st->st_mode)) {
        close(fd);
        return -404;
    }
    if (S_ISDIR(st->st_mode)) {
        close(fd);
        if (!trailing && rel_len > 0)
            return -301;
        size_t il = strlen(s->index);
        if (rel_len + 1 + il + 1 > sizeof(path))
            return -404;
        size_t n = rel_len;
        if (n > 0)
            path[n++] = '/';
        memcpy(path + n, s->index, il + 1);
        fd = dw_path_open(rootfd, path, st);
        if (fd < 0)
            return -403; /* a directory without its index: no listing, as nginx */
    }
    if (!S_ISREG(st->st_mode)) {
        close(fd);
        return -403;
    }
    return fd;
}

int
dw_response_build(struct dw_worker *wk, const struct dw_conf_listen *lis, int sni_site,
                  const struct dw_req *req, const uint8_t *buf, bool keep_alive,
                  struct dw_response *resp)
{
    const struct dw_conf *conf = wk->conf;
    memset(resp, 0, sizeof(*resp));
    resp->fd = -1;
    resp->site = sni_site;
    bool shut = !keep_alive;
    bool head = req->method == HTTP_HEAD;
    if (req->method != HTTP_GET && !head) {
        error_page(wk, lis, req, 405, shut, false, resp);
        return 0;
    }
    /* Host: required in HTTP/1.1 (RFC 9112 §3.2), must be well formed. */
    const char *host = NULL;
    size_t hostlen = 0;
    unsigned port = 0;
    bool has_host = req->host.len > 0 || req->host.off > 0;
    if (!has_host && req->minor >= 1) {
        dw_response_error(wk, 400, true, head, resp);
        return 0;
    }
    if (has_host && dw_vhost_split_host((const char *)buf + req->host.off, req->host.len, &host,
                                        &hostlen, &port) < 0) {
        dw_response_error(wk, 400, true, head, resp);
        return 0;
    }
    const char *target = (const char *)buf + req->target.off;
    size_t tlen = req->target.len;
    /* absolute-form (RFC 9112 §3.2.2): its authority replaces Host. */
    if (tlen > 8 && (strncasecmp(target, "http://", 7) == 0 ||
                     strncasecmp(target, "https://", 8) == 0)) {
        const char *auth = memchr(target, '/', tlen) + 2;
        const char *end = memchr(auth, '/', tlen - (size_t)(auth - target));
        if (end == NULL) {
            dw_response_error(wk, 400, true, head, resp);
            return 0;
        }
        if (dw_vhost_split_host(auth, (size_t)(end - auth), &host, &hostlen, &port) < 0) {
            dw_response_error(wk, 400, true, head, resp);
            return 0;
        }
        tlen -= (size_t)(end - target);
        target = end;
    }
    int site = host ? dw_vhost_match(conf, host, hostlen) : -1;
    if (lis->redirect_https) {
        if (host == NULL) {
            dw_response_error(wk, 400, true, head, resp);
            return 0;
        }
        unsigned p = lis->https_port == 443 ? 0 : (unsigned)lis->https_port;
        char scheme_host[300];
        snprintf(scheme_host, sizeof(scheme_host), "https://%.*s", (int)hostlen, host);
        redirect(wk, lis, req, scheme_host, p, target, tlen, shut, resp);
        return 0;
    }
    if (sni_site >= 0 && site >= 0 && site != sni_site) {
        /* The client reused a connection for a name this certificate does not speak for. */
        error_page(wk, lis, req, 421, shut, head, resp);
        return 0;
    }
    if (site < 0)
        site = sni_site >= 0 ? sni_site : (int)conf->default_site;
    resp->site = site;

    char rel[PATH_MAX_LEN];
    int trailing = 0;
    int rl = dw_path_normalize(target, tlen, rel, sizeof(rel) - 1, &trailing);
    if (rl < 0) {
        error_page(wk, lis, req, 400, shut, head, resp);
        return 0;
    }
    /* Cache key: the path as asked (a directory keeps its slash: it names the index). */
    char key[PATH_MAX_LEN + 1];
    memcpy(key, rel, (size_t)rl);
    size_t klen = (size_t)rl;
    if (trailing)
        key[klen++] = '/';

    uint64_t now = uv_now(wk->loop);
    struct dw_fentry *e = dw_fcache_get(&wk->fcache, conf->generation << 8 | (unsigned)site, key, klen);
    struct stat st;
    int fd = -1;
    if (e && dw_fcache_stale(&wk->fcache, e, now)) {
        fd = open_target(wk, site, rel, (size_t)rl, trailing, &st);
        if (fd >= 0 && same_file(e, &st)) {
            e->checked_ms = now;
            close(fd);
            fd = -1;
        } else {
            dw_fcache_remove(&wk->fcache, e);
            dw_fcache_release(&wk->fcache, e);
            e = NULL;
            if (fd < 0)
                goto open_failed;
        }
    }
    if (e == NULL && fd < 0) {
        fd = open_target(wk, site, rel, (size_t)rl, trailing, &st);
open_failed:
        if (fd == -301) {
            char loc[3 * PATH_MAX_LEN + 2];
            int n = dir_location(rel, (size_t)rl, target, tlen, loc, sizeof(loc));
            if (n < 0) {
                dw_response_error(wk, 414, true, head, resp);
                return 0;
            }
            redirect(wk, lis, req, "", 0, loc, (size_t)n, shut, resp);
            return 0;
        }
        if (fd < 0) {
            error_page(wk, lis, req, -fd, shut, head, resp);
            return 0;
        }
        const char *mime = dw_mime_type(rel, (size_t)rl);
        if (trailing || rl == 0)
            mime = dw_mime_type(wk->conf->sites[site].index,
                                strlen(wk->conf->sites[site].index));
        e = dw_fcache_put(&wk->fcache, conf->generation << 8 | (unsigned)site, key, klen, fd, &st,
                          mime, now);
        if (e) {
            close(fd);
            fd = -1;
        }
    }

    /* What to describe: the cache entry, or the open file. */
    uint64_t size;
    time_t mtime;
    char etag_buf[DW_ETAG_MAX];
    const char *etag, *mime;
    if (e) {
        size = e->size;
        mtime = e->mtime;
        etag = e->etag;
        mime = e->mime;
    } else {
        size = (uint64_t)st.st_size;
        mtime = st.st_mtim.tv_sec;
        dw_cond_etag(mtime, size, etag_buf);
        etag = etag_buf;
        mime = dw_mime_type(rel, (size_t)rl);
        if (trailing || rl == 0)
            mime = dw_mime_type(wk->conf->sites[site].index,
                                strlen(wk->conf->sites[site].index));
    }
    resp->entry = e;
    resp->fd = fd;
    resp->file_size = size;
    resp->head_only = head;
    resp->close = shut;

    char lm[DW_DATE_LEN + 1];
    dw_cond_date_format(mtime, lm);
    const char *inm = req->if_none_match.len || req->if_none_match.off
                          ? (const char *)buf + req->if_none_match.off
                          : NULL;
    const char *ims = req->if_modified_since.len || req->if_modified_since.off
                          ? (const char *)buf + req->if_modified_since.off
                          : NULL;
    struct head h = {wk->hdr, 0, sizeof(wk->hdr), false};
    if (dw_cond_not_modified(inm, req->if_none_match.len, ims, req->if_modified_since.len, etag,
                             mtime)) {
        common_head(wk, &h, 304);
        put(&h, "Last-Modified: %s\r\nETag: %s\r\n", lm, etag);
        connection_head(wk, &h, lis, req, shut);
        put(&h, "\r\n");
        resp->status = 304;
        resp->length = 0;
        resp->head_len = h.len;
        return 0;
    }
    int status = 200;
    resp->first = 0;
    resp->length = size;
    if (req->range.len && !head) {
        const char *ifr = req->if_range.len ? (const char *)buf + req->if_range.off : NULL;
        uint64_t first, last;
        if (dw_cond_if_range(ifr, req->if_range.len, etag, mtime)) {
            switch (dw_range_parse((const char *)buf + req->range.off, req->range.len, size,
                                   &first, &last)) {
            case DW_RANGE_OK:
                status = 206;
                resp->first = first;
                resp->length = last - first + 1;
                break;
            case DW_RANGE_UNSATISFIABLE:
                dw_response_done(wk, resp);
                error_page(wk, lis, req, 416, shut, head, resp);
                /* Content-Range must say the size: insert it before the blank line. */
                char cr[64];
                int n = snprintf(cr, sizeof(cr), "Content-Range: bytes */%" PRIu64 "\r\n", size);
                char *blank = strstr(wk->hdr, "\r\n\r\n");
                if (blank && resp->head_len + (size_t)n < sizeof(wk->hdr)) {
                    blank += 2;
                    memmove(blank + n, blank, resp->head_len - (size_t)(blank - wk->hdr));
                    memcpy(blank, cr, (size_t)n);
                    resp->head_len += (size_t)n;
                }
                return 0;
            case DW_RANGE_NONE:
                break;
            }
        }
    }
    common_head(wk, &h, status);
    put(&h, "Content-Type: %s\r\nContent-Length: %" PRIu64 "\r\nLast-Modified: %s\r\n"
            "ETag: %s\r\nAccept-Ranges: bytes\r\n",
        mime, resp->length, lm, etag);
    if (status == 206)
        put(&h, "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64 "\r\n", resp->first,
            resp->first + resp->length - 1, size);
    connection_head(wk, &h, lis, req, shut);
    put(&h, "\r\n");
    resp->status = status;
    resp->head_len = h.len;
    if (head)
        resp->length = 0;
    return 0;
}

void
dw_response_done(struct dw_worker *wk, struct dw_response *resp)
{
    if (resp->entry) {
        dw_fcache_release(&wk->fcache, resp->entry);
        resp->entry = NULL;
    }
    if (resp->fd >= 0) {
        close(resp->fd);
        resp->fd = -1;
    }
}
