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

static const struct dw_req *parse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

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
    struct dw_response_env env = {conf,           &fc, now_ms, "Sun, 06 Dec 2026 00:00:00 GMT", hdr,
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
    ASSERT_EQ(decide_on(0, -1, parse("GET /hello.txt HTTP/1.1\r\nHost: a.test\r\n\r\n"), &r), 200);
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
    ASSERT_EQ(
        decide_on(0, -1,
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
    ASSERT_EQ(
        decide(parse("POST /hello.txt HTTP/1.1\r\nHost: a.test\r\nContent-Length: 0\r\n\r\n")),
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
    ASSERT_EQ(
        decide_on(0, 0, parse("GET http://b.test/hello.txt HTTP/1.1\r\nHost: a.test\r\n\r\n"), &r),
        421);
    dw_response_release(&fc, &r);
    ASSERT_EQ(
        decide_on(0, 1, parse("GET https://b.test/hello.txt HTTP/1.1\r\nHost: a.test\r\n\r\n"), &r),
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

    ASSERT_EQ(
        decide(parse("GET /hello.txt HTTP/1.1\r\nHost: a.test\r\nIf-None-Match: %s\r\n\r\n", etag)),
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
    ASSERT_EQ(
        decide_on(0, -1,
                  parse("GET /hello.txt HTTP/1.1\r\nHost: a.test\r\nRange: bytes=2-4\r\n\r\n"), &r),
        206);
    ASSERT_STR_CONTAINS(hdr, "Content-Range: bytes 2-4/20\r\n");
    ASSERT_STR_CONTAINS(hdr, "Content-Length: 3\r\n");
    ASSERT_UINT_EQ(r.first, 2);
    ASSERT_UINT_EQ(r.length, 3);
    dw_response_release(&fc, &r);

    ASSERT_EQ(
        decide_on(0, -1,
                  parse("GET /hello.txt HTTP/1.1\r\nHost: a.test\r\nRange: bytes=20-\r\n\r\n"), &r),
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
    ASSERT_EQ(decide(parse("GET /hello.txt HTTP/1.1\r\nHost: a.test\r\nRange: %s\r\n\r\n", many)),
              200);
    /* Only unsatisfiable ones: 416. */
    ASSERT_EQ(decide(parse("GET /hello.txt HTTP/1.1\r\nHost: a.test\r\n"
                           "Range: bytes=20-,30-40\r\n\r\n")),
              416);
    teardown();
}

static int
choose(const char *ae, unsigned avail)
{
    return dw_file_choose_encoding(ae, ae ? strlen(ae) : 0, avail);
}

#define BR   (1u << DW_ENC_BR)
#define ZSTD (1u << DW_ENC_ZSTD)
#define GZ   (1u << DW_ENC_GZIP)
#define ALL  (BR | ZSTD | GZ)

static void
test_choose_encoding(void)
{
    ASSERT_EQ(choose(NULL, ALL), DW_ENC_IDENTITY); /* no Accept-Encoding */
    ASSERT_EQ(choose("", ALL), DW_ENC_IDENTITY);
    ASSERT_EQ(choose("gzip, deflate, br, zstd", 0), DW_ENC_IDENTITY); /* no variants */
    /* Ties: br, then zstd, then gzip, whatever the order listed. */
    ASSERT_EQ(choose("gzip, deflate, br, zstd", ALL), DW_ENC_BR);
    ASSERT_EQ(choose("gzip, zstd", ALL), DW_ENC_ZSTD);
    ASSERT_EQ(choose("gzip, zstd", BR | GZ), DW_ENC_GZIP);
    ASSERT_EQ(choose("x-gzip", ALL), DW_ENC_GZIP);
    ASSERT_EQ(choose("GZIP", ALL), DW_ENC_GZIP);
    /* Only what exists. */
    ASSERT_EQ(choose("br", GZ), DW_ENC_IDENTITY);
    /* q-values: the highest wins. */
    ASSERT_EQ(choose("br;q=0.5, gzip;q=0.8", ALL), DW_ENC_GZIP);
    ASSERT_EQ(choose("br;q=0.5, gzip ; q=0.4", ALL), DW_ENC_BR);
    ASSERT_EQ(choose("br;q=0.5", ALL), DW_ENC_BR); /* identity not named: does not compete */
    ASSERT_EQ(choose("br;q=0.999,zstd;q=1.000", ALL), DW_ENC_ZSTD);
    /* q=0 means no: never sent. */
    ASSERT_EQ(choose("br;q=0, gzip;q=0", ALL), DW_ENC_IDENTITY);
    ASSERT_EQ(choose("br;q=0, gzip;q=0.001", ALL), DW_ENC_GZIP);
    ASSERT_EQ(choose("br;q=0.000", BR), DW_ENC_IDENTITY);
    ASSERT_EQ(choose("*;q=0", ALL), DW_ENC_IDENTITY);
    ASSERT_EQ(choose("gzip;q=0, *", ALL), DW_ENC_BR);
    ASSERT_EQ(choose("gzip;q=0, *", GZ), DW_ENC_IDENTITY);
    ASSERT_EQ(choose("*", GZ), DW_ENC_GZIP);
    /* identity named with a higher q keeps the file unencoded; a tie goes to the coding. */
    ASSERT_EQ(choose("gzip;q=0.5, identity", ALL), DW_ENC_IDENTITY);
    ASSERT_EQ(choose("gzip;q=0.5, identity;q=0.5", ALL), DW_ENC_GZIP);
    /* Malformed q or unknown parameters: the element is ignored. */
    ASSERT_EQ(choose("br;q=2, gzip", ALL), DW_ENC_GZIP);
    ASSERT_EQ(choose("br;q=, gzip;q=abc", ALL), DW_ENC_IDENTITY);
    ASSERT_EQ(choose("br;level=1", ALL), DW_ENC_IDENTITY);
    ASSERT_EQ(choose("br;q=0.5x", ALL), DW_ENC_IDENTITY);
    /* Names are whole tokens. */
    ASSERT_EQ(choose("brotli, gzipped, zst", ALL), DW_ENC_IDENTITY);
    /* The first listing of a coding counts. */
    ASSERT_EQ(choose("br;q=0, br", ALL), DW_ENC_IDENTITY);
}

static void
test_precompressed(void)
{
    setup("precompressed = yes\n");
    write_file("page.html", "<p>plain page, long enough</p>\n");
    write_file("page.html.br", "BR");
    write_file("page.html.gz", "GZIP");
    write_file("dir/index.html.zst", "ZSTD");
    struct dw_response r;
    ASSERT_EQ(decide_on(0, -1,
                        parse("GET /page.html HTTP/1.1\r\nHost: a.test\r\n"
                              "Accept-Encoding: gzip, br\r\n\r\n"),
                        &r),
              200);
    ASSERT_STR_CONTAINS(hdr, "Content-Encoding: br\r\n");
    ASSERT_STR_CONTAINS(hdr, "Vary: Accept-Encoding\r\n");
    ASSERT_STR_CONTAINS(hdr, "Content-Type: text/html");
    ASSERT_STR_CONTAINS(hdr, "Content-Length: 2\r\n");
    ASSERT(memcmp(r.entry->data, "BR", 2) == 0);
    char br_etag[64];
    etag_of(hdr, br_etag, sizeof(br_etag));
    ASSERT_STR_CONTAINS(br_etag, "-br\"");
    dw_response_release(&fc, &r);

    ASSERT_EQ(decide(parse("GET /page.html HTTP/1.1\r\nHost: a.test\r\n"
                           "Accept-Encoding: gzip, br;q=0\r\n\r\n")),
              200);
    ASSERT_STR_CONTAINS(hdr, "Content-Encoding: gzip\r\n");
    char gz_etag[64];
    etag_of(hdr, gz_etag, sizeof(gz_etag));
    ASSERT(strcmp(gz_etag, br_etag) != 0);

    /* No Accept-Encoding, or nothing acceptable: the file, still with Vary. */
    ASSERT_EQ(decide(parse("GET /page.html HTTP/1.1\r\nHost: a.test\r\n\r\n")), 200);
    ASSERT(strstr(hdr, "Content-Encoding") == NULL);
    ASSERT_STR_CONTAINS(hdr, "Vary: Accept-Encoding\r\n");
    char id_etag[64];
    etag_of(hdr, id_etag, sizeof(id_etag));
    ASSERT(strcmp(id_etag, br_etag) != 0 && strcmp(id_etag, gz_etag) != 0);
    ASSERT_EQ(decide(parse("GET /page.html HTTP/1.1\r\nHost: a.test\r\n"
                           "Accept-Encoding: zstd, deflate\r\n\r\n")),
              200);
    ASSERT(strstr(hdr, "Content-Encoding") == NULL);
    /* Two Accept-Encoding fields: identity only. */
    ASSERT_EQ(decide(parse("GET /page.html HTTP/1.1\r\nHost: a.test\r\n"
                           "Accept-Encoding: br\r\nAccept-Encoding: gzip\r\n\r\n")),
              200);
    ASSERT(strstr(hdr, "Content-Encoding") == NULL);

    /* 304 and ranges on the variant's own validator and bytes. */
    ASSERT_EQ(decide(parse("GET /page.html HTTP/1.1\r\nHost: a.test\r\nAccept-Encoding: br\r\n"
                           "If-None-Match: %s\r\n\r\n",
                           br_etag)),
              304);
    ASSERT_STR_CONTAINS(hdr, "Vary: Accept-Encoding\r\n");
    ASSERT_EQ(decide(parse("GET /page.html HTTP/1.1\r\nHost: a.test\r\nAccept-Encoding: gzip\r\n"
                           "If-None-Match: %s\r\n\r\n",
                           br_etag)),
              200);
    ASSERT_EQ(decide_on(0, -1,
                        parse("GET /page.html HTTP/1.1\r\nHost: a.test\r\n"
                              "Accept-Encoding: gzip\r\nRange: bytes=1-\r\n\r\n"),
                        &r),
              206);
    ASSERT_STR_CONTAINS(hdr, "Content-Range: bytes 1-3/4\r\n");
    ASSERT_STR_CONTAINS(hdr, "Content-Encoding: gzip\r\n");
    ASSERT(memcmp(r.entry->data + r.first, "ZIP", 3) == 0);
    dw_response_release(&fc, &r);
    /* Several ranges of a variant: the whole variant. */
    ASSERT_EQ(decide(parse("GET /page.html HTTP/1.1\r\nHost: a.test\r\n"
                           "Accept-Encoding: gzip\r\nRange: bytes=0-0,2-2\r\n\r\n")),
              200);
    ASSERT_STR_CONTAINS(hdr, "Content-Length: 4\r\n");

    /* A directory's index has its variants too. */
    ASSERT_EQ(decide(parse("GET /dir/ HTTP/1.1\r\nHost: a.test\r\nAccept-Encoding: zstd\r\n\r\n")),
              200);
    ASSERT_STR_CONTAINS(hdr, "Content-Encoding: zstd\r\n");
    ASSERT_STR_CONTAINS(hdr, "Content-Type: text/html");
    /* A file without variants: no Vary. */
    ASSERT_EQ(
        decide(parse("GET /hello.txt HTTP/1.1\r\nHost: a.test\r\nAccept-Encoding: br\r\n\r\n")),
        200);
    ASSERT(strstr(hdr, "Vary") == NULL && strstr(hdr, "Content-Encoding") == NULL);
    /* A variant that disappears: the file (the cache re-checks: valid 0 here). */
    char p[256];
    snprintf(p, sizeof(p), "%s/page.html.br", root);
    ASSERT_EQ(unlink(p), 0);
    ASSERT_EQ(
        decide(parse("GET /page.html HTTP/1.1\r\nHost: a.test\r\nAccept-Encoding: br\r\n\r\n")),
        200);
    ASSERT(strstr(hdr, "Content-Encoding") == NULL);
    /* Site b has precompressed off. */
    ASSERT_EQ(
        decide(parse("GET /page.html HTTP/1.1\r\nHost: b.test\r\nAccept-Encoding: gzip\r\n\r\n")),
        200);
    ASSERT(strstr(hdr, "Vary") == NULL && strstr(hdr, "Content-Encoding") == NULL);
    teardown();
}

/* Without the cache (or for large files) the same choices come from open files. */
static void
test_precompressed_uncached(void)
{
    setup("precompressed = yes\n");
    dw_fcache_deinit(&fc);
    ASSERT_EQ(dw_fcache_init(&fc, 0, 0, 0), 0);
    write_file("page.html", "<p>plain page</p>\n");
    write_file("page.html.gz", "GZIP");
    struct dw_response r;
    ASSERT_EQ(decide_on(0, -1,
                        parse("GET /page.html HTTP/1.1\r\nHost: a.test\r\n"
                              "Accept-Encoding: br, gzip\r\nRange: bytes=1-2\r\n\r\n"),
                        &r),
              206);
    ASSERT_NULL(r.entry);
    ASSERT_GE(r.fd, 0);
    char buf[8];
    ASSERT_EQ(pread(r.fd, buf, 4, 0), 4);
    ASSERT(memcmp(buf, "GZIP", 4) == 0);
    ASSERT_STR_CONTAINS(hdr, "Content-Range: bytes 1-2/4\r\n");
    ASSERT_STR_CONTAINS(hdr, "Content-Encoding: gzip\r\n");
    ASSERT_STR_CONTAINS(hdr, "Vary: Accept-Encoding\r\n");
    ASSERT_STR_CONTAINS(hdr, "-gzip\"\r\n");
    dw_response_release(&fc, &r);
    /* Several ranges of a file read from disk: multipart. */
    ASSERT_EQ(decide_on(0, -1,
                        parse("GET /page.html HTTP/1.1\r\nHost: a.test\r\n"
                              "Range: bytes=0-2,3-7\r\n\r\n"),
                        &r),
              206);
    ASSERT_NOT_NULL(r.entry);
    ASSERT_EQ(r.fd, -1);
    char body[512];
    ASSERT_LT(r.length, sizeof(body));
    memcpy(body, r.entry->data, r.length);
    body[r.length] = '\0';
    ASSERT_STR_CONTAINS(body, "\r\n\r\n<p>\r\n--");
    ASSERT_STR_CONTAINS(body, "Content-Range: bytes 3-7/18\r\n\r\nplain\r\n--");
    ASSERT_STR_CONTAINS(hdr, "multipart/byteranges");
    dw_response_release(&fc, &r);
    teardown();
}

/* A keep-alive request for a small cached file allocates nothing. */
#if COUNT_ALLOC
static void
hit_allocates_nothing(const char *site_opts, const char *request)
{
    setup(site_opts);
    write_file("hello.txt.gz", "GZ");
    dw_fcache_deinit(&fc);
    ASSERT_EQ(dw_fcache_init(&fc, 1 << 20, 1 << 16, 60000), 0);
    const struct dw_req *req = parse("%s", request);
    size_t fill = n_allocs;
    ASSERT_EQ(decide(req), 200);
    ASSERT_GT(n_allocs - fill, 0); /* the counter sees the cache being filled */
    size_t before = n_allocs;
    for (int i = 0; i < 10; i++)
        ASSERT_EQ(decide(req), 200);
    ASSERT_UINT_EQ(n_allocs - before, 0);
    teardown();
}

#endif

static void
test_cached_hit_allocates_nothing(void)
{
#if COUNT_ALLOC
    hit_allocates_nothing("", "GET /hello.txt HTTP/1.1\r\nHost: a.test\r\n\r\n");
    hit_allocates_nothing("precompressed = yes\n", "GET /hello.txt HTTP/1.1\r\nHost: a.test\r\n"
                                                   "Accept-Encoding: gzip, br\r\n\r\n");
    ASSERT_STR_CONTAINS(hdr, "Content-Encoding: gzip\r\n");
    hit_allocates_nothing("precompressed = yes\n",
                          "GET /hello.txt HTTP/1.1\r\nHost: a.test\r\n\r\n");
#endif
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
    TEST_RUN(test_choose_encoding);
    TEST_RUN(test_precompressed);
    TEST_RUN(test_precompressed_uncached);
    TEST_RUN(test_cached_hit_allocates_nothing);
    return 0;
}
