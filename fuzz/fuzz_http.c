/*
 * libFuzzer target for the origin's request parser (origin/http.c on llhttp): any bytes, fed
 * whole and then in random-sized pieces, must end in a request, a wait for more, or an
 * HTTP error status, with every span of a parsed request inside the input and the same
 * verdict whichever way the bytes were split.
 */
#include <stdlib.h>
#include <string.h>

#include "origin/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static const struct dw_http_limits limits = {
    .max_request_line = 512,
    .max_header_size = 2048,
    .max_headers = 20,
    .max_body = 64,
};

static void
check_span(struct dw_span sp, size_t size)
{
    CHECK((size_t)sp.off + sp.len <= size || (sp.len == 0 && sp.off <= 1));
}

/* Feeds data growing by the given step; returns the verdict. */
static int
feed(const uint8_t *data, size_t size, size_t step, struct dw_http *h)
{
    dw_http_init(h, &limits);
    int r = DW_AGAIN;
    for (size_t have = step < size ? step : size;; have += step) {
        if (have > size)
            have = size;
        r = dw_http_parse(h, data, have);
        if (r != DW_AGAIN || have == size)
            break;
    }
    return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dw_http whole, pieces;
    int a = feed(data, size, size ? size : 1, &whole);
    size_t total = whole.req.total_len;
    CHECK(a == DW_AGAIN || a == DW_HTTP_DONE || (a >= 400 && a <= 505));
    if (a == DW_HTTP_DONE) {
        const struct dw_req *q = &whole.req;
        CHECK(q->total_len <= size && q->head_len <= q->total_len);
        check_span(q->target, size);
        check_span(q->host, size);
        check_span(q->if_none_match, size);
        check_span(q->if_modified_since, size);
        check_span(q->range, size);
        check_span(q->if_range, size);
        /* The next request parses from where this one ended. */
        size_t used = q->total_len;
        dw_http_next(&whole);
        int b = dw_http_parse(&whole, data + used, size - used);
        CHECK(b == DW_AGAIN || b == DW_HTTP_DONE || (b >= 400 && b <= 505));
    }
    size_t step = size > 0 ? (size_t)data[0] % 7 + 1 : 1;
    int c = feed(data, size, step, &pieces);
    /* Splitting must not change a completed request into an error or the reverse. */
    if (a == DW_HTTP_DONE)
        CHECK(c == DW_HTTP_DONE && pieces.req.total_len == total);
    if (a >= 400)
        CHECK(c >= 400 || c == DW_HTTP_DONE);
    return 0;
}
