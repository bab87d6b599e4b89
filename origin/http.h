/*
 * HTTP/1.1 request parsing on llhttp, with the limits and the strictness an origin exposed
 * to the Internet needs. Pure: bytes in, a parsed request or an HTTP error status out.
 *
 * The caller keeps every byte of the current request in one buffer, from its first byte,
 * and calls dw_http_parse() each time more arrive; the parser remembers how far it got.
 * When a request is complete the parser pauses, so pipelined requests behind it are left
 * alone until the caller has answered this one and called dw_http_next().
 *
 * Refused with 400 before llhttp even sees them (request smuggling and desync defences):
 * bare LF line endings, obsolete line folding, NUL or other control bytes in the head, a
 * second Host, Content-Length and Transfer-Encoding together, a repeated Content-Length,
 * any Transfer-Encoding other than a final "chunked". Limits give 414 (request line), 431
 * (header bytes or count; trailers count too), 413 (body), 400 (chunk extensions beyond
 * DW_HTTP_MAX_CHUNK_EXT bytes), 505 (HTTP version other than 1.0/1.1).
 */
#ifndef DUET_ORIGIN_HTTP_H
#define DUET_ORIGIN_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>

#include "origin/again.h"

#define DW_HTTP_DONE 1 /* dw_http_parse: a complete request is in h->req (DW_AGAIN: need more
                          bytes, origin/again.h) */

#define DW_HTTP_MAX_CHUNK_EXT 4096 /* chunk-extension bytes per request */

struct dw_span {
    uint32_t off, len; /* into the request's buffer; len 0 = absent */
};

struct dw_http_limits {
    size_t max_request_line;
    size_t max_header_size;
    size_t max_headers;
    uint64_t max_body;
};

/* The parsed request. Spans point into the caller's buffer (valid until it changes). */
struct dw_req {
    int method;               /* llhttp_method_t */
    uint8_t major, minor;
    struct dw_span target;
    struct dw_span host, if_none_match, if_modified_since, range, if_range;
    struct dw_span accept_encoding; /* a repeated one: present and empty (identity only) */
    bool keep_alive;          /* llhttp_should_keep_alive */
    size_t head_len;          /* request line + headers + final CRLF */
    size_t total_len;         /* head_len + body bytes: what to drop from the buffer */
    uint64_t body_len;
};

struct dw_http {
    llhttp_t p;
    struct dw_http_limits lim;
    const uint8_t *buf;       /* the caller's buffer during a parse call */
    size_t fed;               /* bytes of the current request given to llhttp */
    size_t scanned;           /* bytes of the head checked for bare LF / folding */
    bool started;             /* a byte of the request line was seen (not just CRLFs) */
    bool head_done;           /* the empty line ending the head was seen */
    bool done;
    int status;               /* HTTP error decided in a callback */
    size_t headers;
    struct dw_span field;     /* header name being collected */
    struct dw_span value;
    int cl_seen, te_seen;
    bool in_body;             /* llhttp is past the head: header callbacks are trailers */
    size_t ext_bytes;         /* chunk-extension bytes so far */
    size_t trailer_bytes;     /* trailer field bytes so far */
    struct dw_req req;
};

void dw_http_init(struct dw_http *h, const struct dw_http_limits *lim);

/* Parses the new bytes of buf[0..len) (the current request from its first byte). Returns
 * DW_AGAIN, DW_HTTP_DONE, or an HTTP status (400, 405 is not decided here, 413, 414,
 * 431, 501, 505) to answer before closing the connection. */
int dw_http_parse(struct dw_http *h, const uint8_t *buf, size_t len);

/* After DW_HTTP_DONE and the caller dropped req.total_len bytes: ready for the next. */
void dw_http_next(struct dw_http *h);

/* True when a span of buf equals s case-insensitively. */
bool dw_span_eq(const uint8_t *buf, struct dw_span sp, const char *s);

#endif
