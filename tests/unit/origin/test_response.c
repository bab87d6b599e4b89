/*
 * Unit tests for origin/response.c (and the file choice of origin/file.c): real requests
 * parsed by origin/http.c, a configuration loaded by the real parser over a temporary
 * document root, the real file cache; no worker, no sockets. Pins each status the decision
 * can give and the head it writes.
 */
#include "origin/response.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "origin/conf.h"
#include "origin/file.h"
#include "origin/filecache.h"
#include "origin/http.h"

#include "count_alloc.h"
#include "test.h"

static char root[64];
static struct dw_conf *conf;
static struct dw_fcache fc;
static char hdr[4096];
static uint64_t now_ms = 1000;

static void
write_file(const char *rel, const char *content)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    FILE *f = fopen(p, "w");
    ASSERT_NOT_NULL(f);
    fputs(content, f);
    fclose(f);
}

static void
setup(const char *extra_site_opts)
{
    snprintf(root, sizeof(root), "/tmp/duet-test-response-XXXXXX");
    ASSERT_NOT_NULL(mkdtemp(root));
    write_file("hello.txt", "0123456789abcdefghij"); /* 20 bytes */
    char p[256];
    snprintf(p, sizeof(p), "%s/dir", root);
    ASSERT_EQ(mkdir(p, 0755), 0);
    write_file("dir/index.html", "<p>index</p>\n");
    snprintf(p, sizeof(p), "%s/empty", root);
    ASSERT_EQ(mkdir(p, 0755), 0);

    char text[1024];
    snprintf(text, sizeof(text),
             "[listen 127.0.0.1:8080]\ntls = no\n"
             "[listen 127.0.0.1:8081]\ntls = no\nredirect-https = yes\n"
             "[site a]\nserver-name = a.test\nroot = %s\ndefault = yes\n%s"
             "[site b]\nserver-name = b.test\nroot = %s\n",
             root, extra_site_opts, root);
    conf = dw_conf_new();
    ASSERT_NOT_NULL(conf);
    struct dc_conf_errors errs = {0};
    int n = dc_conf_load_string(&dw_conf_schema, "t.conf", text, conf, &conf->arena, &errs);
    if (n != 0) {
        dc_conf_errors_print(&errs, stderr);
        TEST_FAIL("config did not load");
    }
    dc_conf_errors_deinit(&errs);
    /* valid 0: every request revalidates against the disk. */
    ASSERT_EQ(dw_fcache_init(&fc, 1 << 20, 1 << 16, 0), 0);
}

static void
teardown(void)
{
    dw_fcache_deinit(&fc);
    dw_conf_unref(conf);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    ASSERT_EQ(system(cmd), 0);
}

/* The request bytes stay here for the spans of the parsed request. */
static uint8_t reqbuf[2048];
static struct dw_http http;

static const struct dw_req *
parse(const char *fmt, ...)
{
    static const struct dw_http_limits lim = {8192, 16384, 100, 0};
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf((char *)reqbuf, sizeof(reqbuf), fmt, ap);
    va_end(ap);
    dw_http_init(&http, &lim);
    ASSERT_EQ(dw_http_parse(&http, reqbuf, (size_t)n), DW_HTTP_DONE);
    return &http.req;
}

/* Decides req on listener li with SNI site sni; the head lands in hdr (NUL-terminated). */
static int
decide_on(size_t li, int sni, const struct dw_req *req, struct dw_response *resp)
{
    struct dw_response_env env = {conf, &fc, now_ms, "Sun, 06 Dec 2026 00:00:00 GMT", hdr,
                                  sizeof(hdr) - 1};
    int st = dw_response_decide(&env, &conf->listens[li], sni, req, reqbuf, true, resp);
    ASSERT_EQ(st, resp->status);
    ASSERT_LT(resp->head_len, sizeof(hdr));
    hdr[resp->head_len] = '\0';
    return st;
}

/* Decides on the plain listener without SNI and releases the body. */
static int
decide(const struct dw_req *req)
{
    struct dw_response resp;
    int st = decide_on(0, -1, req, &resp);
    dw_response_release(&fc, &resp);
    return st;
}

static void
test_ok_and_head(void)
{
    setup("");
    struct dw_response r;
    ASSERT_EQ(decide_on(0, -1, parse("GET /hello.txt HTTP/1.1\r\nHost: a.test\r\n\r\n"), &r),
              200);
    ASSERT_STR_CONTAINS(hdr, "Content-Length: 20\r\n");
    ASSERT_STR_CONTAINS(hdr, "Content-Type: text/plain");
    ASSERT_STR_CONTAINS(hdr, "Accept-Ranges: bytes\r\n");
    ASSERT(strstr(hdr, "Vary:") == NULL);
    ASSERT(strstr(hdr, "Content-Encoding:") == NULL);
    ASSERT_NOT_NULL(r.entry); /* small: from the cache */
    ASSERT_UINT_EQ(r.first, 0);
    ASSERT_UINT_EQ(r.length, 20);
    dw_response_release(&fc, &r);
    /* HEAD: the same head, no body, and Range is ignored (RFC 9110 §14.2). */
    ASSERT_EQ(decide_on(0, -1,
                        parse("HEAD /hello.txt HTTP/1.1\r\nHost: a.test\r\nRange: bytes=0-1\r\n\r\n"),
                        &r),
              200);
    ASSERT_STR_CONTAINS(hdr, "Content-Length: 20\r\n");
    ASSERT(r.head_only);
    ASSERT_UINT_EQ(r.length, 0);
    dw_response_release(&fc, &r);
    teardown();
}

static void
test_405_400(void)
{
    setup("");
    ASSERT_EQ(decide(parse("POST /hello.txt HTTP/1.1\r\nHost: a.test\r\nContent-Length: 0\r\n\r\n")),
              405);
    ASSERT_STR_CONTAINS(hdr, "Allow: GET, HEAD\r\n");
    ASSERT_EQ(decide(parse("GET /hello.txt HTTP/1.1\r\n\r\n")), 400); /* no Host */
    ASSERT_STR_CONTAINS(hdr, "Connection: close\r\n");
    ASSERT_EQ(decide(parse("GET /hello.txt HTTP/1.0\r\n\r\n")), 200); /* 1.0 needs none */
    ASSERT_EQ(decide(parse("GET /hello.txt HTTP/1.1\r\nHost: a.test:x\r\n\r\n")), 400);
    ASSERT_EQ(decide(parse("GET /%%00 HTTP/1.1\r\nHost: a.test\r\n\r\n")), 400);
    ASSERT_EQ(decide(parse("GET /nope HTTP/1.1\r\nHost: a.test\r\n\r\n")), 404);
    ASSERT_EQ(decide(parse("GET /hello.txt/ HTTP/1.1\r\nHost: a.test\r\n\r\n")), 404);
    ASSERT_EQ(decide(parse("GET /empty/ HTTP/1.1\r\nHost: a.test\r\n\r\n")), 403);
    teardown();
}

static void
test_absolute_form_and_421(void)
{
    setup("");
    struct dw_response r;
    /* The absolute-form authority replaces Host. */
    ASSERT_EQ(decide_on(0, 0,
                        parse("GET http://b.test/hello.txt HTTP/1.1\r\nHost: a.test\r\n\r\n"),
                        &r),
              421);
    dw_response_release(&fc, &r);
    ASSERT_EQ(decide_on(0, 1,
                        parse("GET https://b.test/hello.txt HTTP/1.1\r\nHost: a.test\r\n\r\n"),
                        &r),
              200);
    ASSERT_EQ(r.site, 1);
    dw_response_release(&fc, &r);
    /* A Host naming another site than the SNI's. */
    ASSERT_EQ(decide_on(0, 0, parse("GET /hello.txt HTTP/1.1\r\nHost: b.test\r\n\r\n"), &r), 421);
    dw_response_release(&fc, &r);
    /* An unknown name under SNI: the SNI's site. */
    ASSERT_EQ(decide_on(0, 1, parse("GET /hello.txt HTTP/1.1\r\nHost: c.test\r\n\r\n"), &r), 200);
    ASSERT_EQ(r.site, 1);
    dw_response_release(&fc, &r);
    ASSERT_EQ(decide(parse("GET http://a.test HTTP/1.1\r\nHost: a.test\r\n\r\n")), 400);
    teardown();
}

static void
test_301(void)
{
    setup("");
    ASSERT_EQ(decide(parse("GET /dir?x=1 HTTP/1.1\r\nHost: a.test\r\n\r\n")), 301);
    ASSERT_STR_CONTAINS(hdr, "Location: /dir/?x=1\r\n");
    ASSERT_EQ(decide(parse("GET /dir/ HTTP/1.1\r\nHost: a.test\r\n\r\n")), 200);
    ASSERT_STR_CONTAINS(hdr, "Content-Type: text/html");
    struct dw_response r;
    /* The redirect listener: to https:// with the same host and target. */
    ASSERT_EQ(decide_on(1, -1, parse("GET /a?b HTTP/1.1\r\nHost: a.test:8081\r\n\r\n"), &r), 301);
    ASSERT_STR_CONTAINS(hdr, "Location: https://a.test/a?b\r\n");
    dw_response_release(&fc, &r);
    /* ... which needs a host: an HTTP/1.0 request without one gets 400. */
    ASSERT_EQ(decide_on(1, -1, parse("GET /a HTTP/1.0\r\n\r\n"), &r), 400);
    dw_response_release(&fc, &r);
    teardown();
}

/* Step 4 re-checks a cached file against the disk: one that became a directory is one. */
static void
test_cached_file_became_directory(void)
{
    setup("");
    write_file("x", "file");
    ASSERT_EQ(decide(parse("GET /x HTTP/1.1\r\nHost: a.test\r\n\r\n")), 200);
    char p[256];
    snprintf(p, sizeof(p), "%s/x", root);
    ASSERT_EQ(unlink(p), 0);
    ASSERT_EQ(mkdir(p, 0755), 0);
    ASSERT_EQ(decide(parse("GET /x HTTP/1.1\r\nHost: a.test\r\n\r\n")), 301);
    ASSERT_STR_CONTAINS(hdr, "Location: /x/\r\n");
    ASSERT_EQ(decide(parse("GET /x/ HTTP/1.1\r\nHost: a.test\r\n\r\n")), 403); /* no index */
    teardown();
}

static void
etag_of(const char *head, char *out, size_t cap)
{
    const char *e = strstr(head, "ETag: ");
    ASSERT_NOT_NULL(e);
    e += 6;
    size_t n = strcspn(e, "\r");
    ASSERT_LT(n, cap);
    memcpy(out, e, n);
    out[n] = '\0';
}

static void
test_304_206_416(void)
{
    setup("");
    ASSERT_EQ(decide(parse("GET /hello.txt HTTP/1.1\r\nHost: a.test\r\n\r\n")), 200);
    char etag[64], lm[64];
    etag_of(hdr, etag, sizeof(etag));
    const char *l = strstr(hdr, "Last-Modified: ") + 15;
    snprintf(lm, sizeof(lm), "%.*s", (int)strcspn(l, "\r"), l);

    ASSERT_EQ(decide(parse("GET /hello.txt HTTP/1.1\r\nHost: a.test\r\nIf-None-Match: %s\r\n\r\n",
                           etag)),
              304);
    ASSERT(strstr(hdr, "Content-Length") == NULL);
    /* 304 takes precedence over Range: preconditions first (RFC 9110 §13.2.2). */
    ASSERT_EQ(decide(parse("GET /hello.txt HTTP/1.1\r\nHost: a.test\r\nIf-None-Match: %s\r\n"
                           "Range: bytes=0-1\r\n\r\n",
                           etag)),
              304);
    ASSERT_EQ(decide(parse("GET /hello.txt HTTP/1.1\r\nHost: a.test\r\nIf-Modified-Since: %s\r\n"
                           "Range: bytes=99-\r\n\r\n",
                           lm)),
              304);

    struct dw_response r;
    ASSERT_EQ(decide_on(0, -1,
                        parse("GET /hello.txt HTTP/1.1\r\nHost: a.test\r\nRange: bytes=2-4\r\n\r\n"),
                        &r),
              206);
    ASSERT_STR_CONTAINS(hdr, "Content-Range: bytes 2-4/20\r\n");
    ASSERT_STR_CONTAINS(hdr, "Content-Length: 3\r\n");
    ASSERT_UINT_EQ(r.first, 2);
    ASSERT_UINT_EQ(r.length, 3);
    dw_response_release(&fc, &r);

    ASSERT_EQ(decide_on(0, -1,
                        parse("GET /hello.txt HTTP/1.1\r\nHost: a.test\r\nRange: bytes=20-\r\n\r\n"),
                        &r),
              416);
    ASSERT_STR_CONTAINS(hdr, "Content-Range: bytes */20\r\n");
    ASSERT_NULL(r.entry);
    ASSERT_EQ(r.fd, -1);
    dw_response_release(&fc, &r);

    /* If-Range: the ETag, or the exact Last-Modified date, keeps the range; else 200. */
    ASSERT_EQ(decide(parse("GET /hello.txt HTTP/1.1\r\nHost: a.test\r\nRange: bytes=0-0\r\n"
                           "If-Range: %s\r\n\r\n",
                           etag)),
              206);
    ASSERT_EQ(decide(parse("GET /hello.txt HTTP/1.1\r\nHost: a.test\r\nRange: bytes=0-0\r\n"
                           "If-Range: %s\r\n\r\n",
                           lm)),
              206);
    ASSERT_EQ(decide(parse("GET /hello.txt HTTP/1.1\r\nHost: a.test\r\nRange: bytes=0-0\r\n"
                           "If-Range: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n")),
              200);
    ASSERT_EQ(decide(parse("GET /hello.txt HTTP/1.1\r\nHost: a.test\r\nRange: bytes=0-0\r\n"
                           "If-Range: \"other\"\r\n\r\n")),
              200);
    teardown();
}

static void
test_multipart(void)
{
    setup("");
    struct dw_response r;
    ASSERT_EQ(decide_on(0, -1,
                        parse("GET /hello.txt HTTP/1.1\r\nHost: a.test\r\n"
                              "Range: bytes=0-1, -3\r\n\r\n"),
                        &r),
              206);
    ASSERT_STR_CONTAINS(hdr, "Content-Type: multipart/byteranges; boundary=");
    ASSERT(strstr(hdr, "Content-Range") == NULL);
    const char *b = strstr(hdr, "boundary=") + 9;
    char boundary[64];
    snprintf(boundary, sizeof(boundary), "%.*s", (int)strcspn(b, "\r"), b);
    char want[512];
    int n = snprintf(want, sizeof(want),
                     "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "Content-Range: bytes 0-1/20\r\n\r\n01"
                     "\r\n--%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "Content-Range: bytes 17-19/20\r\n\r\nhij"
                     "\r\n--%s--\r\n",
                     boundary, boundary, boundary);
    ASSERT_NOT_NULL(r.entry);
    ASSERT_UINT_EQ(r.first, 0);
    ASSERT_UINT_EQ(r.length, (uint64_t)n);
    ASSERT(memcmp(r.entry->data, want, (size_t)n) == 0);
    char cl[64];
    snprintf(cl, sizeof(cl), "Content-Length: %d\r\n", n);
    ASSERT_STR_CONTAINS(hdr, cl);
    dw_response_release(&fc, &r);
    /* Overlapping beyond the size, or too many: the whole file. */
    ASSERT_EQ(decide(parse("GET /hello.txt HTTP/1.1\r\nHost: a.test\r\n"
                           "Range: bytes=0-15,5-19\r\n\r\n")),
              200);
    ASSERT_STR_CONTAINS(hdr, "Content-Length: 20\r\n");
    char many[256] = "bytes=0-0";
    for (int i = 1; i <= 32; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), ",%d-%d", i % 20, i % 20);
    ASSERT_EQ(decide(parse("GET /hello.txt HTTP/1.1\r\nHost: a.test\r\nRange: %s\r\n\r\n",
                           many)),
              200);
    /* Only unsatisfiable ones: 416. */
    ASSERT_EQ(decide(parse("GET /hello.txt HTTP/1.1\r\nHost: a.test\r\n"
                           "Range: bytes=20-,30-40\r\n\r\n")),
              416);
    teardown();
}

/* A keep-alive request for a small cached file allocates nothing. */
static void
test_cached_hit_allocates_nothing(void)
{
    if (!COUNT_ALLOC)
        return;
    setup("");
    dw_fcache_deinit(&fc);
    ASSERT_EQ(dw_fcache_init(&fc, 1 << 20, 1 << 16, 60000), 0);
    const struct dw_req *req = parse("GET /hello.txt HTTP/1.1\r\nHost: a.test\r\n\r\n");
    ASSERT_EQ(decide(req), 200);
    size_t before = n_allocs;
    for (int i = 0; i < 10; i++)
        ASSERT_EQ(decide(req), 200);
    ASSERT_UINT_EQ(n_allocs - before, 0);
    teardown();
}

int
main(void)
{
    TEST_RUN(test_ok_and_head);
    TEST_RUN(test_405_400);
    TEST_RUN(test_absolute_form_and_421);
    TEST_RUN(test_301);
    TEST_RUN(test_cached_file_became_directory);
    TEST_RUN(test_304_206_416);
    TEST_RUN(test_multipart);
    TEST_RUN(test_cached_hit_allocates_nothing);
    return 0;
}
