/* Unit tests for origin/vhost.c, against configurations loaded by the real parser. */
#include "origin/vhost.h"

#include <errno.h>

#include "origin/conf.h"

#include "test.h"

/* Plain-HTTP listener, so loading needs no certificates. */
static struct dw_conf *
load(const char *sites)
{
    char text[2048];
    snprintf(text, sizeof(text), "[listen 127.0.0.1:8080]\ntls = no\n%s", sites);
    struct dw_conf *c = dw_conf_new();
    ASSERT_NOT_NULL(c);
    struct dc_conf_errors errs = {0};
    int n = dc_conf_load_string(&dw_conf_schema, "t.conf", text, c, &c->arena, &errs);
    if (n != 0) {
        dc_conf_errors_print(&errs, stderr);
        TEST_FAIL("config did not load");
    }
    dc_conf_errors_deinit(&errs);
    return c;
}

static int
match(const struct dw_conf *c, const char *name)
{
    return dw_vhost_match(c, name, strlen(name));
}

static void
test_match_exact_and_case(void)
{
    struct dw_conf *c = load("[site a]\nserver-name = a.test\nserver-name = www.a.test\n"
                             "root = /tmp\n"
                             "[site b]\nserver-name = B.Test.\nroot = /tmp\n");
    ASSERT_EQ(c->nsites, 2);
    ASSERT_EQ(match(c, "a.test"), 0);
    ASSERT_EQ(match(c, "www.a.test"), 0);
    ASSERT_EQ(match(c, "A.TEST"), 0);
    ASSERT_EQ(match(c, "WwW.a.TeSt"), 0);
    /* A trailing dot on either side is ignored. */
    ASSERT_EQ(match(c, "a.test."), 0);
    ASSERT_EQ(match(c, "b.test"), 1);
    ASSERT_EQ(match(c, "b.test."), 1);
    /* Only one trailing dot is the root label. */
    ASSERT_EQ(match(c, "a.test.."), -1);
    /* No partial or suffix matches without a wildcard. */
    ASSERT_EQ(match(c, "x.a.test"), -1);
    ASSERT_EQ(match(c, "a.tes"), -1);
    ASSERT_EQ(match(c, "aa.test"), -1);
    ASSERT_EQ(match(c, "test"), -1);
    ASSERT_EQ(match(c, ""), -1);
    ASSERT_EQ(match(c, "."), -1);
    /* Only len bytes count, and a NUL inside is no name. */
    ASSERT_EQ(dw_vhost_match(c, "a.testx", 6), 0);
    ASSERT_EQ(dw_vhost_match(c, "a.test\0x", 8), -1);
    ASSERT_EQ(dw_vhost_match(c, NULL, 0), -1);
    ASSERT_EQ(dw_vhost_match(NULL, "a.test", 6), -1);
    char longname[300];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    ASSERT_EQ(match(c, longname), -1);
    dw_conf_free(c);
}

static void
test_match_wildcards(void)
{
    struct dw_conf *c = load("[site wild]\nserver-name = *.example.test\nroot = /tmp\n"
                             "[site deeper]\nserver-name = *.b.example.test\nroot = /tmp\n"
                             "[site exact]\nserver-name = x.b.example.test\nroot = /tmp\n"
                             "[site same]\nserver-name = *.example.test\nroot = /tmp\n"
                             "[site dotted]\nserver-name = *.dot.test.\nroot = /tmp\n");
    /* One or more labels. */
    ASSERT_EQ(match(c, "a.example.test"), 0);
    ASSERT_EQ(match(c, "a.c.example.test"), 0);
    ASSERT_EQ(match(c, "A.EXAMPLE.TEST."), 0);
    /* Not the bare suffix, nor a name that merely ends the same way. */
    ASSERT_EQ(match(c, "example.test"), -1);
    ASSERT_EQ(match(c, ".example.test"), -1);
    ASSERT_EQ(match(c, "aexample.test"), -1);
    /* The longest wildcard wins, whatever the order. */
    ASSERT_EQ(match(c, "y.b.example.test"), 1);
    ASSERT_EQ(match(c, "z.y.b.example.test"), 1);
    ASSERT_EQ(match(c, "b.example.test"), 0);
    /* Exact beats every wildcard, even a later site's. */
    ASSERT_EQ(match(c, "x.b.example.test"), 2);
    ASSERT_EQ(match(c, "X.B.example.test."), 2);
    /* Equal wildcards: the first site in the file. */
    ASSERT_EQ(match(c, "q.example.test"), 0);
    /* A wildcard written with a trailing dot. */
    ASSERT_EQ(match(c, "a.dot.test"), 4);
    ASSERT_EQ(match(c, "dot.test"), -1);
    dw_conf_free(c);

    /* The exact pass runs over every site before any wildcard is considered. */
    c = load("[site w]\nserver-name = *.a.test\nroot = /tmp\n"
             "[site e]\nserver-name = www.a.test\nroot = /tmp\n");
    ASSERT_EQ(match(c, "www.a.test"), 1);
    ASSERT_EQ(match(c, "ftp.a.test"), 0);
    dw_conf_free(c);

    /* A site without names matches nothing (the default site is the caller's choice). */
    c = load("[site n]\nroot = /tmp\ndefault = yes\n");
    ASSERT_EQ(match(c, "a.test"), -1);
    ASSERT_EQ(c->default_site, 0);
    dw_conf_free(c);
}

static void
expect_split(const char *v, const char *want_host, unsigned want_port)
{
    const char *h = NULL;
    size_t hl = 0;
    unsigned port = 12345;
    int r = dw_vhost_split_host(v, strlen(v), &h, &hl, &port);
    if (r != 0)
        TEST_FAIL("\"%s\": error %d", v, r);
    if (hl != strlen(want_host) || memcmp(h, want_host, hl) != 0)
        TEST_FAIL("\"%s\": host \"%.*s\", want \"%s\"", v, (int)hl, h, want_host);
    ASSERT_EQ(port, want_port);
}

static void
expect_split_bad(const char *v, size_t len)
{
    const char *h = NULL;
    size_t hl = 99;
    unsigned port = 12345;
    int r = dw_vhost_split_host(v, len, &h, &hl, &port);
    if (r != -EINVAL)
        TEST_FAIL("\"%.*s\": %d, want -EINVAL", (int)len, v, r);
    ASSERT_NULL(h);
    ASSERT_EQ(hl, 99);
    ASSERT_EQ(port, 12345);
}

#define BAD(v) expect_split_bad(v, strlen(v))

static void
test_split_host(void)
{
    expect_split("example.test", "example.test", 0);
    expect_split("example.test:8443", "example.test", 8443);
    expect_split("Example.Test:1", "Example.Test", 1);
    expect_split("example.test.", "example.test.", 0);
    expect_split("example.test.:80", "example.test.", 80);
    expect_split("127.0.0.1", "127.0.0.1", 0);
    expect_split("127.0.0.1:8080", "127.0.0.1", 8080);
    expect_split("[::1]", "::1", 0);
    expect_split("[::1]:8443", "::1", 8443);
    expect_split("[2001:db8::1]:65535", "2001:db8::1", 65535);
    expect_split("[::ffff:192.0.2.1]", "::ffff:192.0.2.1", 0);
    expect_split("localhost", "localhost", 0);
    expect_split("my_host-1.test", "my_host-1.test", 0);
    expect_split("a:08443", "a", 8443);
    /* RFC 3986 sub-delims are reg-name characters; they simply match no site. */
    expect_split("a!$&'()*+,;=~.test", "a!$&'()*+,;=~.test", 0);
    char name[254];
    memset(name, 'a', 253);
    name[253] = '\0';
    expect_split(name, name, 0);

    BAD("");
    BAD(":80");
    BAD(".");
    BAD(".:80");
    BAD("example.test:");
    BAD("example.test:0");
    BAD("example.test:00000");
    BAD("example.test:65536");
    BAD("example.test:99999");
    BAD("example.test:123456");
    BAD("example.test:80a");
    BAD("example.test:+80");
    BAD("example.test:-1");
    BAD("example.test: 80");
    BAD("example.test:80:80");
    BAD("a b");
    BAD(" example.test");
    BAD("example.test ");
    BAD("exa/mple");
    BAD("example.test/");
    BAD("exa\\mple");
    BAD("user@example.test");
    BAD("exa%2emple");
    BAD("exa\tmple");
    BAD("exa\"mple");
    BAD("exa<mple");
    BAD("exa\x7fmple");
    BAD("exa\x80mple");
    BAD("a..b");
    BAD(".example.test");
    BAD("example.test..");
    BAD("a[b]");
    BAD("::1");
    BAD("::1:80");
    BAD("[::1");
    BAD("[::1]x");
    BAD("[::1]:");
    BAD("[::1]:0");
    BAD("[::1]:99999");
    BAD("[::1]]");
    BAD("[]");
    BAD("[]:80");
    BAD("[127.0.0.1]");
    BAD("[v1.fe]");
    BAD("[fe80::1%25eth0]");
    BAD("[::g]");
    BAD("[0000:0000:0000:0000:0000:0000:0000:0000:0]");
    BAD("[::1] ");
    expect_split_bad("a\0b", 3);
    expect_split_bad("a.test\0:80", 9);
    name[0] = 'b';
    char longer[256];
    snprintf(longer, sizeof(longer), "%s.a", name);
    BAD(longer);
    const char *h;
    size_t hl;
    unsigned p;
    ASSERT_EQ(dw_vhost_split_host(NULL, 3, &h, &hl, &p), -EINVAL);
    /* Only len bytes count. */
    ASSERT_EQ(dw_vhost_split_host("a.test:80", 6, &h, &hl, &p), 0);
    ASSERT_EQ(hl, 6);
    ASSERT_EQ(p, 0);
}

/* The two together, the way a request is dispatched. */
static void
test_split_then_match(void)
{
    struct dw_conf *c = load("[site a]\nserver-name = a.test\nroot = /tmp\n"
                             "[site ip]\nserver-name = 127.0.0.1\nroot = /tmp\n");
    const char *h;
    size_t hl;
    unsigned p;
    ASSERT_EQ(dw_vhost_split_host("A.test.:8080", 12, &h, &hl, &p), 0);
    ASSERT_EQ(dw_vhost_match(c, h, hl), 0);
    ASSERT_EQ(dw_vhost_split_host("127.0.0.1:8080", 14, &h, &hl, &p), 0);
    ASSERT_EQ(dw_vhost_match(c, h, hl), 1);
    ASSERT_EQ(dw_vhost_split_host("[::1]:8080", 10, &h, &hl, &p), 0);
    ASSERT_EQ(dw_vhost_match(c, h, hl), -1);
    dw_conf_free(c);
}

int
main(void)
{
    TEST_RUN(test_match_exact_and_case);
    TEST_RUN(test_match_wildcards);
    TEST_RUN(test_split_host);
    TEST_RUN(test_split_then_match);
    return 0;
}
