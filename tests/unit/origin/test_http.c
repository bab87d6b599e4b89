/* Unit tests for origin/http.c: what a chunked body may carry besides its data. Chunk
 * extensions and trailers are parsed by llhttp at any length; the parser holds them to
 * DW_HTTP_MAX_CHUNK_EXT and max-header-size (with the field count), answering 400 and 431. */
#include "origin/http.h"

#include <stdlib.h>

#include "test.h"

static const struct dw_http_limits lim = {
    .max_request_line = 1024,
    .max_header_size = 4096,
    .max_headers = 20,
    .max_body = 1 << 20,
};

#define HEAD "POST / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n"

/* Parses text in pieces of `step` bytes, as it would arrive; returns the last result. */
static int
parse(const char *text, size_t len, size_t step)
{
    struct dw_http h;
    dw_http_init(&h, &lim);
    int r = DW_AGAIN;
    for (size_t have = 0; have < len && r == DW_AGAIN;) {
        have = have + step < len ? have + step : len;
        r = dw_http_parse(&h, (const uint8_t *)text, have);
    }
    return r;
}

/* HEAD + a chunk-size line "1;" + n bytes of extension + the rest of a valid body. */
static char *
with_extension(size_t n, size_t *len)
{
    static const char tail[] = "\r\na\r\n0\r\n\r\n";
    size_t hl = sizeof(HEAD) - 1;
    char *b = malloc(hl + 3 + n + sizeof(tail));
    ASSERT(b != NULL);
    memcpy(b, HEAD, hl);
    memcpy(b + hl, "1;e", 3);
    memset(b + hl + 3, 'x', n);
    memcpy(b + hl + 3 + n, tail, sizeof(tail));
    *len = hl + 3 + n + sizeof(tail) - 1;
    return b;
}

static void
test_chunk_extension(void)
{
    size_t len;
    char *b = with_extension(100, &len);
    ASSERT_EQ(parse(b, len, len), DW_HTTP_DONE);
    ASSERT_EQ(parse(b, len, 7), DW_HTTP_DONE);
    free(b);
    b = with_extension(DW_HTTP_MAX_CHUNK_EXT - 10, &len);
    ASSERT_EQ(parse(b, len, len), DW_HTTP_DONE);
    free(b);
    b = with_extension(DW_HTTP_MAX_CHUNK_EXT + 1, &len);
    ASSERT_EQ(parse(b, len, len), 400);
    ASSERT_EQ(parse(b, len, 100), 400);
    free(b);
    /* Many small extensions add up. */
    char many[16384];
    size_t n = (size_t)snprintf(many, sizeof(many), "%s", HEAD);
    for (int i = 0; i < 600; i++)
        n += (size_t)snprintf(many + n, sizeof(many) - n, "1;ext%d=yy\r\na\r\n", i);
    n += (size_t)snprintf(many + n, sizeof(many) - n, "0\r\n\r\n");
    ASSERT_EQ(parse(many, n, n), 400);
}

static void
test_trailers(void)
{
    static const char ok[] = HEAD "1\r\na\r\n0\r\nX-Sum: 1\r\nX-Other: 2\r\n\r\n";
    ASSERT_EQ(parse(ok, sizeof(ok) - 1, sizeof(ok) - 1), DW_HTTP_DONE);
    ASSERT_EQ(parse(ok, sizeof(ok) - 1, 3), DW_HTTP_DONE);

    /* One trailer longer than max-header-size. */
    static char big[8192];
    size_t n = (size_t)snprintf(big, sizeof(big), "%s1\r\na\r\n0\r\nX-T: ", HEAD);
    memset(big + n, 'y', 5000);
    n += 5000;
    n += (size_t)snprintf(big + n, sizeof(big) - n, "\r\n\r\n");
    ASSERT_EQ(parse(big, n, n), 431);
    ASSERT_EQ(parse(big, n, 512), 431);

    /* More fields than max-headers, head and trailers together. */
    n = (size_t)snprintf(big, sizeof(big), "%s1\r\na\r\n0\r\n", HEAD);
    for (int i = 0; i < 25; i++)
        n += (size_t)snprintf(big + n, sizeof(big) - n, "X-T%d: v\r\n", i);
    n += (size_t)snprintf(big + n, sizeof(big) - n, "\r\n");
    ASSERT_EQ(parse(big, n, n), 431);
}

int
main(void)
{
    TEST_RUN(test_chunk_extension);
    TEST_RUN(test_trailers);
    return 0;
}
