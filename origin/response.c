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
#include "origin/file.h"
#include "origin/path.h"
#include "origin/filecache.h"
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

/* One request being decided: the inputs, and where the decision goes. */
struct ctx {
    const struct dw_response_env *env;
    const struct dw_conf_listen *lis; /* NULL for an error outside any request */
    const struct dw_req *req;
    const uint8_t *buf;
    bool shut; /* Connection: close */
    bool head; /* HEAD */
    struct dw_response *resp;
};

/* Appends n bytes: the common pieces of a head are copied, not formatted. */
static void
append(struct head *h, const char *s, size_t n)
{
    if (h->overflow || n >= h->cap - h->len) {
        h->overflow = true;
        return;
    }
    memcpy(h->p + h->len, s, n);
    h->len += n;
}

#define APPEND_LIT(h, lit) append((h), (lit), sizeof(lit) - 1)

static void
append_str(struct head *h, const char *s)
{
    append(h, s, strlen(s));
}

static void
append_u64(struct head *h, uint64_t v)
{
    char d[20];
    size_t n = 0;
    do {
        d[sizeof(d) - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < sizeof(d));
    append(h, d + sizeof(d) - n, n);
}

static struct head
head_start(const struct ctx *x, int status)
{
    struct head h = {x->env->hdr, 0, x->env->hdr_cap, false};
    APPEND_LIT(&h, "HTTP/1.1 ");
    append_u64(&h, (uint64_t)status);
    APPEND_LIT(&h, " ");
    append_str(&h, reason(status));
    APPEND_LIT(&h, "\r\nServer: duet-origin\r\nDate: ");
    append(&h, x->env->date, DW_DATE_LEN);
    APPEND_LIT(&h, "\r\n");
    return h;
}

/* Connection / Keep-Alive, the blank line, and the response's bookkeeping. */
static void
head_end(const struct ctx *x, struct head *h, int status, bool close)
{
    const struct dw_req *req = x->req;
    if (close) {
        APPEND_LIT(h, "Connection: close\r\n");
    } else {
        if (req && req->minor == 0)
            APPEND_LIT(h, "Connection: keep-alive\r\n");
        /* Telling the client when we give up on an idle connection lets it close first,
         * which keeps TIME_WAIT on its side (close-first = client). */
        if (x->lis && x->lis->close_first == DW_CLOSE_CLIENT) {
            APPEND_LIT(h, "Keep-Alive: timeout=");
            append_u64(h, (uint64_t)(x->env->conf->keepalive_timeout_ms / 1000));
            APPEND_LIT(h, "\r\n");
        }
    }
    APPEND_LIT(h, "\r\n");
    x->resp->status = status;
    x->resp->close = close;
    x->resp->head_len = h->len;
}

/* The headers of a full 200 answer about a cached file, formatted once per cache entry
 * (and coding): the entry is replaced when the file changes, so they cannot go stale. NULL
 * when they do not fit the entry's room (then the caller formats them). */
static const char *
entry_head(const struct dw_file *f, const char *vary, const char *cenc, size_t *len)
{
    struct dw_fentry *e = f->entry;
    if (e->head_len == 0 || e->head_enc != f->enc || e->head_vary != f->vary) {
        char lm[DW_DATE_LEN + 1];
        dw_cond_date_format(f->mtime, lm);
        int n = snprintf(e->head, sizeof(e->head),
                         "Content-Type: %s\r\nContent-Length: %" PRIu64 "\r\nLast-Modified: %s\r\n"
                         "ETag: %s\r\nAccept-Ranges: bytes\r\n%s%s",
                         f->mime, f->size, lm, f->etag, vary, cenc);
        if (n <= 0 || (size_t)n >= sizeof(e->head))
            return NULL;
        e->head_len = (uint16_t)n;
        e->head_enc = (int8_t)f->enc;
        e->head_vary = f->vary;
    }
    *len = e->head_len;
    return e->head;
}

/* Drops whatever body the response held (a 416 decided after the file was found). */
static void
drop_body(const struct ctx *x)
{
    struct dw_response *r = x->resp;
    if (r->entry)
        dw_fcache_release(x->env->fcache, r->entry);
    if (r->fd >= 0)
        close(r->fd);
    r->entry = NULL;
    r->fd = -1;
    r->first = r->length = 0;
}

/* An error page, with extra (a header line or "") before Connection. On a connection that
 * stays open it carries the same Connection / Keep-Alive headers as a file would: an
 * HTTP/1.0 client only keeps the connection after a 404 when told "Connection: keep-alive",
 * as nginx tells it. */
static int
error_page(const struct ctx *x, int status, bool close, const char *extra)
{
    drop_body(x);
    char body[256];
    int blen = snprintf(body, sizeof(body),
                        "<html><head><title>%d %s</title></head><body><h1>%d %s</h1></body>"
                        "</html>\n",
                        status, reason(status), status, reason(status));
    struct head h = head_start(x, status);
    put(&h, "Content-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\n%s", blen, extra);
    if (status == 405)
        put(&h, "Allow: GET, HEAD\r\n");
    head_end(x, &h, status, close);
    if (!x->head)
        put(&h, "%s", body);
    x->resp->head_only = x->head;
    x->resp->head_len = h.len;
    return status;
}

/* 301 to prefix (a scheme and host, or "" for the same origin), an optional port, and
 * path (the target as sent after "https://host", else from dir_location()). */
static int
redirect(const struct ctx *x, const char *prefix, unsigned port, const char *path, size_t pathlen)
{
    struct head h = head_start(x, 301);
    put(&h, "Content-Type: text/html; charset=utf-8\r\nContent-Length: 0\r\nLocation: %s",
        prefix);
    if (port)
        put(&h, ":%u", port);
    put(&h, "%.*s\r\n", (int)pathlen, path);
    head_end(x, &h, 301, x->shut);
    if (h.overflow)
        return error_page(x, 414, true, "");
    return 301;
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

/* The authority and path a request names. */
struct target {
    const char *host; /* NULL: none (HTTP/1.0 without Host) */
    size_t hostlen;
    unsigned port;
    const char *path; /* origin-form: from the '/' on */
    size_t pathlen;
};

/* Step 1, host: the Host header, which an absolute-form target's authority replaces
 * (RFC 9112 §3.2.2). HTTP/1.1 requires Host (§3.2); a malformed one is 400. */
static int
step_host(const struct ctx *x, struct target *t)
{
    const struct dw_req *req = x->req;
    memset(t, 0, sizeof(*t));
    bool has_host = req->host.len > 0 || req->host.off > 0;
    if (!has_host && req->minor >= 1)
        return -400;
    if (has_host && dw_vhost_split_host((const char *)x->buf + req->host.off, req->host.len,
                                        &t->host, &t->hostlen, &t->port) < 0)
        return -400;
    const char *target = (const char *)x->buf + req->target.off;
    size_t tlen = req->target.len;
    if (tlen > 8 &&
        (strncasecmp(target, "http://", 7) == 0 || strncasecmp(target, "https://", 8) == 0)) {
        const char *auth = (const char *)memchr(target, '/', tlen) + 2;
        const char *end = memchr(auth, '/', tlen - (size_t)(auth - target));
        if (end == NULL)
            return -400;
        if (dw_vhost_split_host(auth, (size_t)(end - auth), &t->host, &t->hostlen, &t->port) < 0)
            return -400;
        tlen -= (size_t)(end - target);
        target = end;
    }
    t->path = target;
    t->pathlen = tlen;
    return 0;
}

/* Step 2, site: the one the host names; 421 when it is another than the one the TLS SNI
 * chose (a connection reused for a name its certificate does not speak for); else the
 * SNI's, else the default site. */
static int
step_site(const struct ctx *x, const struct target *t, int sni_site)
{
    const struct dw_conf *conf = x->env->conf;
    int site = t->host ? dw_vhost_match(conf, t->host, t->hostlen) : -1;
    if (sni_site >= 0 && site >= 0 && site != sni_site)
        return -421;
    if (site < 0)
        site = sni_site >= 0 ? sni_site : (int)conf->default_site;
    return site;
}

/* The plain-HTTP listener with redirect-https: 301 to the same host and target. */
static int
redirect_https(const struct ctx *x, const struct target *t)
{
    if (t->host == NULL)
        return error_page(x, 400, true, "");
    unsigned p = x->lis->https_port == 443 ? 0 : (unsigned)x->lis->https_port;
    char scheme_host[300];
    snprintf(scheme_host, sizeof(scheme_host), "https://%.*s", (int)t->hostlen, t->host);
    return redirect(x, scheme_host, p, t->path, t->pathlen);
}

static const char *
span(const struct ctx *x, struct dw_span sp)
{
    return sp.len || sp.off ? (const char *)x->buf + sp.off : NULL;
}

/* Step 5, validators (RFC 9110 §13.2.2: preconditions before Range): 304. */
static bool
step_not_modified(const struct ctx *x, const struct dw_file *f)
{
    const struct dw_req *req = x->req;
    return dw_cond_not_modified(span(x, req->if_none_match), req->if_none_match.len,
                                span(x, req->if_modified_since), req->if_modified_since.len,
                                f->etag, f->mtime);
}

/*
 * Several ranges get one multipart/byteranges body (RFC 9110 §14.6) of at most
 * MULTIPART_MAX bytes, built in memory and sent like a cached file. The ranges of a file that
 * is not cached are read synchronously, as the file cache reads a small file; a larger
 * answer is not built and the file goes whole (§14.2 lets a server ignore Range). With
 * dw_range_parse_set's guards (at most MAX_RANGES, not more bytes than the file) a client
 * cannot make the answer larger than the file plus part headers.
 */
#define MAX_RANGES    32
#define MULTIPART_MAX (1024 * 1024)

struct ranges {
    size_t n;
    struct dw_range r[MAX_RANGES];
};

/* Step 6, range: only for GET (RFC 9110 §14.2: a HEAD ignores Range), only while If-Range
 * holds. Returns 200, 206 (rg->n ranges) or 416. Several ranges of an encoded variant go
 * whole: a part's Content-Range would count bytes of a coding the multipart body as a whole
 * does not have. */
static int
step_range(const struct ctx *x, const struct dw_file *f, struct ranges *rg)
{
    const struct dw_req *req = x->req;
    rg->n = 0;
    if (req->range.len == 0 || x->head)
        return 200;
    if (!dw_cond_if_range(span(x, req->if_range), req->if_range.len, f->etag, f->mtime))
        return 200;
    switch (dw_range_parse_set((const char *)x->buf + req->range.off, req->range.len, f->size,
                               rg->r, MAX_RANGES, &rg->n)) {
    case DW_RANGE_OK:
        if (rg->n > 1 && f->enc != DW_ENC_IDENTITY)
            return 200;
        return 206;
    case DW_RANGE_UNSATISFIABLE:
        return 416;
    case DW_RANGE_NONE:
        break;
    }
    return 200;
}

/* The part head before range i (the first without the CRLF that ends the previous part). */
static int
part_head(char *out, size_t cap, size_t i, const char *boundary, const char *mime,
          const struct dw_range *r, uint64_t size)
{
    return snprintf(out, cap,
                    "%s--%s\r\nContent-Type: %s\r\nContent-Range: bytes %" PRIu64 "-%" PRIu64
                    "/%" PRIu64 "\r\n\r\n",
                    i ? "\r\n" : "", boundary, mime, r->first, r->last, size);
}

static bool
read_range(const struct dw_file *f, uint64_t first, uint64_t len, uint8_t *out)
{
    if (f->entry) {
        memcpy(out, f->entry->data + first, len);
        return true;
    }
    uint64_t got = 0;
    for (int tries = 0; got < len && tries < 64; tries++) {
        ssize_t n = pread(f->fd, out + got, len - got, (off_t)(first + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (uint64_t)n;
    }
    return got == len;
}

/* The multipart body of rg into a blob held by resp (the file is released). Returns 206,
 * 200 when it would be too large (the file stays, whole), 500 when reading failed. */
static int
multipart(const struct ctx *x, const struct dw_file *f, const struct ranges *rg, char boundary[21])
{
    struct dw_response *resp = x->resp;
    /* Unique enough not to occur in the parts: a hash of the representation and the time. */
    uint64_t h = 1469598103934665603ull ^ x->env->now_ms;
    for (const char *p = f->etag; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    h ^= (uint64_t)rg->n << 56 ^ rg->r[0].first;
    snprintf(boundary, 21, "%020" PRIu64, h);

    char ph[512];
    uint64_t total = 0;
    for (size_t i = 0; i < rg->n; i++)
        total += (uint64_t)part_head(ph, sizeof(ph), i, boundary, f->mime, &rg->r[i], f->size) +
                 rg->r[i].last - rg->r[i].first + 1;
    char tail[32];
    int tl = snprintf(tail, sizeof(tail), "\r\n--%s--\r\n", boundary);
    total += (uint64_t)tl;
    if (total > MULTIPART_MAX)
        return 200;
    struct dw_fentry *blob = dw_fcache_blob((size_t)total);
    if (blob == NULL)
        return 500;
    uint8_t *p = blob->data;
    for (size_t i = 0; i < rg->n; i++) {
        int n = part_head((char *)p, sizeof(ph), i, boundary, f->mime, &rg->r[i], f->size);
        p += n;
        uint64_t len = rg->r[i].last - rg->r[i].first + 1;
        if (!read_range(f, rg->r[i].first, len, p)) {
            dw_fcache_release(x->env->fcache, blob);
            return 500;
        }
        p += len;
    }
    memcpy(p, tail, (size_t)tl);
    drop_body(x);
    resp->entry = blob;
    resp->first = 0;
    resp->length = total;
    return 206;
}

static int
decide(const struct ctx *x, int sni_site)
{
    const struct dw_response_env *env = x->env;
    const struct dw_req *req = x->req;
    struct dw_response *resp = x->resp;
    if (req->method != HTTP_GET && !x->head)
        return error_page(x, 405, x->shut, "");
    struct target t;
    if (step_host(x, &t) < 0)
        return error_page(x, 400, true, "");
    if (x->lis->redirect_https)
        return redirect_https(x, &t);
    int site = step_site(x, &t, sni_site);
    if (site < 0)
        return error_page(x, -site, x->shut, "");
    resp->site = site;

    /* Step 3, path. */
    char rel[PATH_MAX_LEN];
    int trailing = 0;
    int rl = dw_path_normalize(t.path, t.pathlen, rel, sizeof(rel) - 1, &trailing);
    if (rl < 0)
        return error_page(x, 400, x->shut, "");

    /* Step 4, file. */
    struct dw_file f;
    const char *ae = span(x, req->accept_encoding);
    int rc = dw_file_get(env->fcache, env->conf, site, rel, (size_t)rl, trailing, ae,
                         req->accept_encoding.len, env->now_ms, &f);
    if (rc == -301) {
        char loc[3 * PATH_MAX_LEN + 2];
        int n = dir_location(rel, (size_t)rl, t.path, t.pathlen, loc, sizeof(loc));
        if (n < 0)
            return error_page(x, 414, true, "");
        return redirect(x, "", 0, loc, (size_t)n);
    }
    if (rc < 0)
        return error_page(x, -rc, x->shut, "");
    resp->entry = f.entry;
    resp->fd = f.fd;
    resp->file_size = f.size;
    resp->head_only = x->head;

    char lm[DW_DATE_LEN + 1]; /* Last-Modified, formatted where a head needs it */
    /* A site with variants of this file says so on every answer about it (caches must key
     * on Accept-Encoding); the coding itself only where there is content. */
    const char *vary = f.vary ? "Vary: Accept-Encoding\r\n" : "";
    char cenc[48] = "";
    if (f.enc != DW_ENC_IDENTITY)
        snprintf(cenc, sizeof(cenc), "Content-Encoding: %s\r\n", dw_file_enc_name(f.enc));

    if (step_not_modified(x, &f)) {
        struct head h = head_start(x, 304);
        dw_cond_date_format(f.mtime, lm);
        put(&h, "Last-Modified: %s\r\nETag: %s\r\n%s", lm, f.etag, vary);
        head_end(x, &h, 304, x->shut);
        resp->length = 0;
        return 304;
    }
    struct ranges rg;
    int status = step_range(x, &f, &rg);
    if (status == 416) {
        char cr[96];
        snprintf(cr, sizeof(cr), "Content-Range: bytes */%" PRIu64 "\r\n%s", f.size, vary);
        return error_page(x, 416, x->shut, cr);
    }
    char boundary[21] = "";
    resp->first = 0;
    resp->length = f.size;
    if (status == 206 && rg.n == 1) {
        resp->first = rg.r[0].first;
        resp->length = rg.r[0].last - rg.r[0].first + 1;
    } else if (status == 206) {
        status = multipart(x, &f, &rg, boundary);
        if (status == 500)
            return error_page(x, 500, true, "");
    }
    char mp[64];
    const char *ctype = f.mime;
    if (boundary[0] && status == 206) {
        snprintf(mp, sizeof(mp), "multipart/byteranges; boundary=%s", boundary);
        ctype = mp;
    }
    struct head h = head_start(x, status);
    size_t cached_len;
    const char *cached = status == 200 && f.entry && !boundary[0]
                             ? entry_head(&f, vary, cenc, &cached_len)
                             : NULL;
    if (cached) {
        /* The common case: a cached file, whole. Its headers were formatted once. */
        append(&h, cached, cached_len);
        head_end(x, &h, status, x->shut);
        if (x->head)
            resp->length = 0;
        return status;
    }
    dw_cond_date_format(f.mtime, lm);
    put(&h,
        "Content-Type: %s\r\nContent-Length: %" PRIu64 "\r\nLast-Modified: %s\r\n"
        "ETag: %s\r\nAccept-Ranges: bytes\r\n",
        ctype, resp->length, lm, f.etag);
    if (f.vary)
        put(&h, "%s%s", vary, cenc);
    if (status == 206 && rg.n == 1)
        put(&h, "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64 "\r\n", resp->first,
            resp->first + resp->length - 1, f.size);
    head_end(x, &h, status, x->shut);
    if (x->head)
        resp->length = 0;
    return status;
}

int
dw_response_decide(const struct dw_response_env *env, const struct dw_conf_listen *lis,
                   int sni_site, const struct dw_req *req, const uint8_t *buf, bool keep_alive,
                   struct dw_response *resp)
{
    memset(resp, 0, sizeof(*resp));
    resp->fd = -1;
    resp->site = sni_site;
    struct ctx x = {env, lis, req, buf, !keep_alive, req->method == HTTP_HEAD, resp};
    return decide(&x, sni_site);
}

static void
worker_env(struct dw_worker *wk, struct dw_response_env *env)
{
    env->conf = wk->conf;
    env->fcache = &wk->fcache;
    env->now_ms = uv_now(wk->loop);
    env->date = dw_worker_date(wk);
    env->hdr = wk->hdr;
    env->hdr_cap = sizeof(wk->hdr);
}

int
dw_response_build(struct dw_worker *wk, const struct dw_conf_listen *lis, int sni_site,
                  const struct dw_req *req, const uint8_t *buf, bool keep_alive,
                  struct dw_response *resp)
{
    struct dw_response_env env;
    worker_env(wk, &env);
    dw_response_decide(&env, lis, sni_site, req, buf, keep_alive, resp);
    return 0;
}

void
dw_response_error(struct dw_worker *wk, int status, bool close, bool head_only,
                  struct dw_response *resp)
{
    struct dw_response_env env;
    worker_env(wk, &env);
    /* Whatever body resp described is the caller's to release (dw_response_done). */
    resp->entry = NULL;
    resp->fd = -1;
    struct ctx x = {&env, NULL, NULL, NULL, close, head_only, resp};
    error_page(&x, status, close, "");
}

void
dw_response_release(struct dw_fcache *fc, struct dw_response *resp)
{
    if (resp->entry) {
        dw_fcache_release(fc, resp->entry);
        resp->entry = NULL;
    }
    if (resp->fd >= 0) {
        close(resp->fd);
        resp->fd = -1;
    }
}

void
dw_response_done(struct dw_worker *wk, struct dw_response *resp)
{
    dw_response_release(&wk->fcache, resp);
}
