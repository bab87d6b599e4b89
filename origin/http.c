#include "origin/http.h"

#include <string.h>
#include <strings.h>

/* llhttp's callbacks reach the parser state through p->data. */
static struct dw_http *
state(llhttp_t *p)
{
    return p->data;
}

static int
fail(struct dw_http *h, int status)
{
    if (h->status == 0)
        h->status = status;
    return HPE_USER;
}

static void
grow(struct dw_span *sp, const struct dw_http *h, const char *at, size_t len)
{
    uint32_t off = (uint32_t)((const uint8_t *)at - h->buf);
    if (sp->len == 0)
        sp->off = off;
    sp->len = off + (uint32_t)len - sp->off;
}

static int
on_message_begin(llhttp_t *p)
{
    struct dw_http *h = state(p);
    memset(&h->req, 0, sizeof(h->req));
    h->headers = 0;
    h->cl_seen = h->te_seen = 0;
    h->field.len = h->value.len = 0;
    h->in_body = false;
    h->ext_bytes = h->trailer_bytes = 0;
    return 0;
}

static int
on_url(llhttp_t *p, const char *at, size_t len)
{
    struct dw_http *h = state(p);
    grow(&h->req.target, h, at, len);
    if (h->req.target.len > h->lim.max_request_line)
        return fail(h, 414);
    return 0;
}

/* Trailers (fields after a chunked body) are held to max-header-size in all, as the head
 * is; the field count includes them. */
static int
count_trailer(struct dw_http *h, size_t len)
{
    if (!h->in_body)
        return 0;
    h->trailer_bytes += len;
    return h->trailer_bytes > h->lim.max_header_size ? fail(h, 431) : 0;
}

static int
on_header_field(llhttp_t *p, const char *at, size_t len)
{
    struct dw_http *h = state(p);
    grow(&h->field, h, at, len);
    return count_trailer(h, len);
}

static int
on_header_value(llhttp_t *p, const char *at, size_t len)
{
    struct dw_http *h = state(p);
    grow(&h->value, h, at, len);
    return count_trailer(h, len);
}

/* Chunk extensions ("1;name=value") mean nothing to us, and llhttp takes them at any
 * length: a request's chunk-size lines may carry DW_HTTP_MAX_CHUNK_EXT bytes of them. */
static int
on_chunk_extension(llhttp_t *p, const char *at, size_t len)
{
    struct dw_http *h = state(p);
    (void)at;
    h->ext_bytes += len;
    return h->ext_bytes > DW_HTTP_MAX_CHUNK_EXT ? fail(h, 400) : 0;
}

/* Records a header that may appear once. A span with len 0 and off 0 is "absent"; a present
 * but empty value gets off 1 (no header value can start at offset 0: the request line does). */
static int
set_once(struct dw_http *h, struct dw_span *sp)
{
    if (sp->len != 0 || sp->off != 0)
        return fail(h, 400); /* a repeated Host (or validator) is ambiguous */
    *sp = h->value;
    if (sp->len == 0)
        sp->off = 1; /* present but empty: still "seen" */
    return 0;
}

static int
on_header_value_complete(llhttp_t *p)
{
    struct dw_http *h = state(p);
    if (++h->headers > h->lim.max_headers)
        return fail(h, 431);
    const uint8_t *b = h->buf;
    struct dw_span f = h->field;
    int rc = 0;
    if (dw_span_eq(b, f, "host"))
        rc = set_once(h, &h->req.host);
    else if (dw_span_eq(b, f, "if-none-match"))
        rc = set_once(h, &h->req.if_none_match);
    else if (dw_span_eq(b, f, "if-modified-since"))
        rc = set_once(h, &h->req.if_modified_since);
    else if (dw_span_eq(b, f, "range"))
        rc = set_once(h, &h->req.range);
    else if (dw_span_eq(b, f, "if-range"))
        rc = set_once(h, &h->req.if_range);
    else if (dw_span_eq(b, f, "accept-encoding")) {
        /* A list header may repeat; rather than join spans, several mean identity only. */
        if (h->req.accept_encoding.len || h->req.accept_encoding.off)
            h->req.accept_encoding = (struct dw_span){1, 0};
        else
            set_once(h, &h->req.accept_encoding);
    } else if (dw_span_eq(b, f, "content-length"))
        h->cl_seen++;
    else if (dw_span_eq(b, f, "transfer-encoding")) {
        h->te_seen++;
        /* Only "chunked", once, is unambiguous; anything else could be read differently
         * by a proxy in front of us. */
        if (!dw_span_eq(b, h->value, "chunked"))
            rc = fail(h, h->te_seen > 1 ? 400 : 501);
    }
    if (h->cl_seen > 1 || h->te_seen > 1 || (h->cl_seen && h->te_seen))
        rc = fail(h, 400);
    h->field.len = h->value.len = 0;
    h->field.off = h->value.off = 0;
    return rc;
}

static int
on_headers_complete(llhttp_t *p)
{
    struct dw_http *h = state(p);
    h->req.method = p->method;
    h->req.major = p->http_major;
    h->req.minor = p->http_minor;
    if (p->http_major != 1 || p->http_minor > 1)
        return fail(h, 505);
    /* RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 request means faulty framing (a 1.0
     * hop in front would not have de-chunked it); refused like nginx does. */
    if (h->te_seen && p->http_minor == 0)
        return fail(h, 400);
    if ((p->flags & F_CONTENT_LENGTH) && p->content_length > h->lim.max_body)
        return fail(h, 413);
    h->in_body = true;
    return 0;
}

static int
on_body(llhttp_t *p, const char *at, size_t len)
{
    struct dw_http *h = state(p);
    (void)at;
    h->req.body_len += len;
    if (h->req.body_len > h->lim.max_body)
        return fail(h, 413);
    return 0;
}

static int
on_message_complete(llhttp_t *p)
{
    struct dw_http *h = state(p);
    h->req.keep_alive = llhttp_should_keep_alive(p);
    h->done = true;
    return HPE_PAUSED; /* one request at a time: pipelined ones wait */
}

static const llhttp_settings_t settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_chunk_extension_name = on_chunk_extension,
    .on_chunk_extension_value = on_chunk_extension,
    .on_message_complete = on_message_complete,
};

void
dw_http_init(struct dw_http *h, const struct dw_http_limits *lim)
{
    memset(h, 0, sizeof(*h));
    h->lim = *lim;
    llhttp_init(&h->p, HTTP_REQUEST, &settings);
    h->p.data = h;
}

void
dw_http_next(struct dw_http *h)
{
    h->fed = 0;
    h->scanned = 0;
    h->head_done = false;
    h->started = false;
    h->done = false;
    h->status = 0;
    /* The next request starts at buf[0] with a fresh parser. llhttp_resume() would not do:
     * after a request with "Upgrade:" (or a CONNECT), which we answer without switching
     * protocols, llhttp stays stopped at HPE_PAUSED_UPGRADE and would fail the next one. */
    llhttp_reset(&h->p);
}

bool
dw_span_eq(const uint8_t *buf, struct dw_span sp, const char *s)
{
    size_t n = strlen(s);
    return sp.len == n && strncasecmp((const char *)buf + sp.off, s, n) == 0;
}

/*
 * Checks the head's raw bytes before llhttp parses them: every LF must follow a CR, no
 * header line may start with SP/HT (obs-fold), no NUL or other control byte but HT in the
 * head. Stops at the blank line that ends the head. Returns 0 or 400.
 */
static int
scan_head(struct dw_http *h, const uint8_t *buf, size_t len)
{
    size_t i = h->scanned;
    for (; i < len && !h->head_done; i++) {
        uint8_t c = buf[i];
        if (c == '\n') {
            if (i == 0 || buf[i - 1] != '\r')
                return 400;
            /* "\r\n\r\n" ends the head, once the request line has begun (empty lines
             * before a request are allowed and skipped, RFC 9112 §2.2). */
            if (h->started && i >= 3 && buf[i - 2] == '\n' && buf[i - 3] == '\r') {
                h->head_done = true;
                break;
            }
            /* A line that starts with whitespace continues the previous one (obs-fold), or
             * sits between the request line and the first field: both are refused. */
            if (i + 1 < len && (buf[i + 1] == ' ' || buf[i + 1] == '\t'))
                return 400;
        } else if (c == '\r') {
            if (i + 1 < len && buf[i + 1] != '\n')
                return 400; /* a bare CR */
        } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return 400;
        } else {
            h->started = true;
        }
    }
    /* A CR or an LF at the very end is checked again with the next byte. */
    if (!h->head_done && i > 0 && (buf[i - 1] == '\r' || buf[i - 1] == '\n'))
        i--;
    h->scanned = i;
    return 0;
}

/* The status for an llhttp error no callback decided. An invalid version is 505 only when
 * the version itself is one we do not speak: "GET / HTTP/1.1 x" fails in the version state
 * too, but is a malformed request line (400, as nginx answers). */
static int
error_status(const struct dw_http *h, llhttp_errno_t err)
{
    if (err == HPE_INVALID_VERSION && !(h->p.http_major == 1 && h->p.http_minor <= 1))
        return 505;
    return 400;
}

int
dw_http_parse(struct dw_http *h, const uint8_t *buf, size_t len)
{
    if (h->status)
        return h->status;
    if (len <= h->fed)
        return DW_AGAIN;
    h->buf = buf;
    if (!h->head_done) {
        int st = scan_head(h, buf, len);
        if (st)
            return h->status = st;
    }
    /* A head that came whole is held to the same limit as one arriving piecemeal (below):
     * llhttp sees only max-header-size bytes of it, so an over-long target still gets its
     * 414 and a malformed line its 400; otherwise it is 431. */
    if (h->head_done && h->scanned >= h->lim.max_header_size) {
        size_t cut = h->lim.max_header_size;
        if (cut > h->fed) {
            llhttp_errno_t err = llhttp_execute(&h->p, (const char *)buf + h->fed, cut - h->fed);
            if (err != HPE_OK && h->status == 0)
                h->status = error_status(h, err);
            if (h->status)
                return h->status;
        }
        return h->status = 431;
    }
    /* Only the checked part of the head is given to llhttp; the body is not scanned. */
    size_t upto = h->head_done ? len : h->scanned;
    if (upto <= h->fed) {
        if (!h->head_done && len > h->lim.max_header_size)
            return h->status = 431;
        return DW_AGAIN;
    }
    llhttp_errno_t err = llhttp_execute(&h->p, (const char *)buf + h->fed, upto - h->fed);
    if (err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) {
        const char *pos = llhttp_get_error_pos(&h->p);
        h->fed = (size_t)((const uint8_t *)pos - buf);
        if (!h->done)
            return h->status = 400;
        h->req.total_len = h->fed;
        h->req.head_len = h->req.total_len - (size_t)h->req.body_len;
        return DW_HTTP_DONE;
    }
    if (err != HPE_OK) {
        if (h->status == 0)
            h->status = error_status(h, err);
        return h->status;
    }
    h->fed = upto;
    /* An over-long request line fails in on_url with 414 first; this is the rest. */
    if (!h->head_done && h->fed > h->lim.max_header_size)
        return h->status = 431;
    return DW_AGAIN;
}
