/* Unit tests for common/config.c: syntax, types, bounds, sections, and that every error in
 * a file is reported at once as file:line. */
#include "common/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "test.h"

struct site {
    char *name;
    struct dc_conf_strv server_names;
    char *root;
    bool is_default;
};

struct conf {
    int64_t workers;
    char *user;
    bool qmin;
    uint64_t cache_size;
    int64_t ttl_ms;
    int level;
    struct dc_conf_strv allow;
    int evens;
    struct site *sites;
    size_t nsites;
    int checked;
};

static int
parse_even(struct dc_conf_ctx *ctx, const char *value, void *field)
{
    int64_t v;
    if (dc_conf_parse_int(value, &v) < 0 || v % 2 != 0) {
        dc_conf_error(ctx, "even: '%s' is not an even number", value);
        return -1;
    }
    *(int *)field += (int)v;
    return 0;
}

static int
check_site(struct dc_conf_ctx *ctx, void *section)
{
    struct site *s = section;
    if (s->root == NULL) {
        dc_conf_error(ctx, "[site %s] needs a root", s->name);
        return -1;
    }
    return 0;
}

static int
check_conf(struct dc_conf_ctx *ctx, void *conf)
{
    struct conf *c = conf;
    c->checked++;
    size_t defaults = 0;
    for (size_t i = 0; i < c->nsites; i++)
        defaults += c->sites[i].is_default;
    if (c->nsites > 0 && defaults > 1) {
        dc_conf_error(ctx, "more than one default site");
        return -1;
    }
    return 0;
}

static const struct dc_conf_option top_opts[] = {
    DC_CONF_OPT("workers", DC_CONF_INT, struct conf, workers, "auto", 1, 64, NULL, NULL,
                DC_CONF_AUTO, "threads"),
    DC_CONF_OPT_STR("user", struct conf, user, "duet", "user"),
    DC_CONF_OPT_BOOL("qname-minimisation", struct conf, qmin, "yes", "qmin"),
    DC_CONF_OPT_SIZE("cache-size", struct conf, cache_size, "64M", 1024, 1LL << 32, "cache"),
    DC_CONF_OPT_DURATION("max-ttl", struct conf, ttl_ms, "1d", 0, 7LL * 86400000, "ttl"),
    DC_CONF_OPT_ENUM("log-level", struct conf, level, "info", "error|warn|info|debug", "lvl"),
    DC_CONF_OPT_CUSTOM("allow", struct conf, allow, NULL, dc_conf_parse_strv, DC_CONF_MULTI,
                       "acl"),
    DC_CONF_OPT_CUSTOM("even", struct conf, evens, NULL, parse_even, DC_CONF_MULTI, "sum"),
    DC_CONF_OPT_END,
};

static const struct dc_conf_option site_opts[] = {
    DC_CONF_OPT_CUSTOM("server-name", struct site, server_names, NULL, dc_conf_parse_strv,
                       DC_CONF_MULTI, "names"),
    DC_CONF_OPT_STR("root", struct site, root, NULL, "docroot"),
    DC_CONF_OPT_BOOL("default", struct site, is_default, "no", "default site"),
    DC_CONF_OPT_END,
};

static const struct dc_conf_section sections[] = {
    DC_CONF_SECTION("site", struct site, site_opts, struct conf, sites, nsites, name, true,
                    check_site, "a site"),
    DC_CONF_SECTION_END,
};

static const struct dc_conf_schema schema = {"test", top_opts, sections, check_conf};

static struct dc_arena arena;
static struct dc_conf_errors errs;

static int
load(const char *text, struct conf *c)
{
    dc_arena_deinit(&arena);
    dc_arena_init(&arena, 0);
    dc_conf_errors_deinit(&errs);
    memset(c, 0, sizeof(*c));
    return dc_conf_load_string(&schema, "t.conf", text, c, &arena, &errs);
}

static void
test_defaults_applied(void)
{
    struct conf c;
    ASSERT_EQ(load("# nothing but a comment\n\n", &c), 0);
    ASSERT_EQ(c.workers, 0);
    ASSERT_STR_EQ(c.user, "duet");
    ASSERT(c.qmin);
    ASSERT_UINT_EQ(c.cache_size, 64u << 20);
    ASSERT_EQ(c.ttl_ms, 86400000);
    ASSERT_EQ(c.level, 2);
    ASSERT_EQ(c.allow.n, 0);
    ASSERT_EQ(c.checked, 1);
}

static void
test_values_and_types(void)
{
    struct conf c;
    const char *text = "workers = 4   # trailing comment\n"
                       "user = \"\"\n"
                       "qname-minimisation = off\n"
                       "cache-size = 512k\n"
                       "max-ttl = 90m\n"
                       "log-level = debug\n"
                       "allow = 127.0.0.0/8\n"
                       "  allow=::1/128  \n"
                       "even = 2\neven = 40\n";
    ASSERT_EQ(load(text, &c), 0);
    ASSERT_EQ(c.workers, 4);
    ASSERT_STR_EQ(c.user, "");
    ASSERT(!c.qmin);
    ASSERT_UINT_EQ(c.cache_size, 512u * 1024);
    ASSERT_EQ(c.ttl_ms, 90 * 60 * 1000);
    ASSERT_EQ(c.level, 3);
    ASSERT_EQ(c.allow.n, 2);
    ASSERT_STR_EQ(c.allow.v[0], "127.0.0.0/8");
    ASSERT_STR_EQ(c.allow.v[1], "::1/128");
    ASSERT_EQ(c.evens, 42);
}

static void
test_quotes_keep_hash(void)
{
    struct conf c;
    ASSERT_EQ(load("user = \"a # b\" # comment\n", &c), 0);
    ASSERT_STR_EQ(c.user, "a # b");
    /* Inner quotes are kept: only a value wrapped whole loses them. */
    ASSERT_EQ(load("user = x \"y\" z\n", &c), 0);
    ASSERT_STR_EQ(c.user, "x \"y\" z");
}

static void
test_sections(void)
{
    struct conf c;
    const char *text = "workers = 2\n"
                       "[site one]\n"
                       "server-name = one.test\n"
                       "server-name = *.one.test\n"
                       "root = /srv/one\n"
                       "default = yes\n"
                       "[site two]   # comment after a header\n"
                       "root = /srv/two\n";
    ASSERT_EQ(load(text, &c), 0);
    ASSERT_EQ(c.nsites, 2);
    ASSERT_STR_EQ(c.sites[0].name, "one");
    ASSERT_EQ(c.sites[0].server_names.n, 2);
    ASSERT_STR_EQ(c.sites[0].server_names.v[1], "*.one.test");
    ASSERT(c.sites[0].is_default);
    ASSERT_STR_EQ(c.sites[1].name, "two");
    ASSERT_STR_EQ(c.sites[1].root, "/srv/two");
    ASSERT(!c.sites[1].is_default); /* section defaults apply per instance */
    ASSERT_EQ(c.workers, 2);
    /* The last ']' closes a header, so addresses with brackets can name sections. */
    ASSERT_EQ(load("[site [::1]:443]\nroot = /x\n", &c), 0);
    ASSERT_STR_EQ(c.sites[0].name, "[::1]:443");
}

static void
test_many_sections_keep_values(void)
{
    /* Sections live in a growing array; values set early must survive later growth. */
    struct conf c;
    char text[8192] = "";
    for (int i = 0; i < 40; i++) {
        char buf[128];
        snprintf(buf, sizeof(buf), "[site s%d]\nroot = /r%d\nserver-name = n%d\n", i, i, i);
        strcat(text, buf);
    }
    ASSERT_EQ(load(text, &c), 0);
    ASSERT_EQ(c.nsites, 40);
    for (int i = 0; i < 40; i++) {
        char want[16];
        snprintf(want, sizeof(want), "/r%d", i);
        ASSERT_STR_EQ(c.sites[i].root, want);
        ASSERT_EQ(c.sites[i].server_names.n, 1);
    }
}

static void
expect_error(const char *text, const char *msg)
{
    struct conf c;
    int n = load(text, &c);
    if (n != 1) {
        dc_conf_errors_print(&errs, stderr);
        TEST_FAIL("expected exactly one error for \"%s\", got %d", text, n);
    }
    ASSERT_STR_EQ(errs.msgs[0], msg);
}

static void
test_error_messages(void)
{
    expect_error("bogus = 1\n", "t.conf:1: unknown option 'bogus'");
    expect_error("\n\nworkers = 0\n", "t.conf:3: workers: 0 is out of range (1 to 64)");
    expect_error("workers = many\n", "t.conf:1: workers: 'many' is not a whole number or 'auto'");
    expect_error("workers = 4x\n", "t.conf:1: workers: '4x' is not a whole number or 'auto'");
    expect_error("workers = 99999999999999999999\n",
                 "t.conf:1: workers: '99999999999999999999' is not a whole number or 'auto'");
    expect_error("qname-minimisation = maybe\n",
                 "t.conf:1: qname-minimisation: 'maybe' is not a boolean (use yes or no)");
    expect_error("cache-size = 64X\n",
                 "t.conf:1: cache-size: '64X' is not a size (use e.g. 512, 64k, 64M, 1G)");
    expect_error("cache-size = 10\n", "t.conf:1: cache-size: 10 is out of range (1k to 4096M)");
    expect_error("cache-size = 99999999999G\n", "t.conf:1: cache-size: '99999999999G' is not a "
                                                "size (use e.g. 512, 64k, 64M, 1G)");
    expect_error("max-ttl = 3w\n",
                 "t.conf:1: max-ttl: '3w' is not a duration (use e.g. 500ms, 30s, 5m, 2h, 1d)");
    expect_error("max-ttl = 8d\n", "t.conf:1: max-ttl: 8d is out of range (0s to 604800s)");
    expect_error("log-level = loud\n",
                 "t.conf:1: log-level: 'loud' is not one of error|warn|info|debug");
    expect_error("user = a\nuser = b\n", "t.conf:2: 'user' is given twice (first on line 1)");
    expect_error("user =\n", "t.conf:1: user: missing value (write user = \"\" for an empty one)");
    expect_error("just words\n",
                 "t.conf:1: expected 'key = value' or '[section NAME]', got 'just words'");
    expect_error("Bad Key = 1\n", "t.conf:1: 'Bad Key' is not an option name");
    expect_error("[site one\nroot = /x\n", "t.conf:1: section header must look like [type NAME]");
    expect_error("[zone x]\nroot = /x\nanything = 1\n", "t.conf:1: unknown section type 'zone'");
    expect_error("[site]\nroot = /x\n", "t.conf:1: [site] needs a name, as in [site NAME]");
    expect_error("[site a]\nworkers = 2\nroot = /x\n",
                 "t.conf:2: 'workers' belongs before the first section, not in [site]");
    expect_error("[site a]\nport = 2\nroot = /x\n", "t.conf:2: unknown option 'port' in [site]");
    expect_error("even = 3\n", "t.conf:1: even: '3' is not an even number");
    /* Section and whole-file checks report at the header / without a line. */
    expect_error("\n[site a]\nserver-name = a\n", "t.conf:2: [site a] needs a root");
    expect_error("[site a]\nroot=/a\ndefault=yes\n[site b]\nroot=/b\ndefault=yes\n",
                 "t.conf: more than one default site");
}

static void
test_all_errors_reported_at_once(void)
{
    struct conf c;
    const char *text = "workers = 0\n"         /* 1: range */
                       "log-level = chatty\n"  /* 2: enum */
                       "# fine\n"              /* 3 */
                       "cache-size = 1T\n"     /* 4: size unit */
                       "nope = yes\n"          /* 5: unknown */
                       "[site x]\n"            /* 6: no root (section check) */
                       "default = perhaps\n";  /* 7: bool */
    ASSERT_EQ(load(text, &c), 6);
    ASSERT_STR_CONTAINS(errs.msgs[0], "t.conf:1: workers");
    ASSERT_STR_CONTAINS(errs.msgs[1], "t.conf:2: log-level");
    ASSERT_STR_CONTAINS(errs.msgs[2], "t.conf:4: cache-size");
    ASSERT_STR_CONTAINS(errs.msgs[3], "t.conf:5: unknown option 'nope'");
    ASSERT_STR_CONTAINS(errs.msgs[4], "t.conf:7: default");
    ASSERT_STR_CONTAINS(errs.msgs[5], "t.conf:6: [site x] needs a root");
}

static void
test_parsers(void)
{
    uint64_t sz;
    int64_t ms, i;
    bool b;
    ASSERT_EQ(dc_conf_parse_size("0", &sz), 0);
    ASSERT_UINT_EQ(sz, 0);
    ASSERT_EQ(dc_conf_parse_size("1G", &sz), 0);
    ASSERT_UINT_EQ(sz, 1u << 30);
    ASSERT_EQ(dc_conf_parse_size("3mb", &sz), 0);
    ASSERT_UINT_EQ(sz, 3u << 20);
    ASSERT_EQ(dc_conf_parse_size("-1", &sz), -EINVAL);
    ASSERT_EQ(dc_conf_parse_size("", &sz), -EINVAL);
    ASSERT_EQ(dc_conf_parse_size("1 M", &sz), -EINVAL);
    ASSERT_EQ(dc_conf_parse_size("17179869184G", &sz), -ERANGE);
    ASSERT_EQ(dc_conf_parse_duration("500ms", &ms), 0);
    ASSERT_EQ(ms, 500);
    ASSERT_EQ(dc_conf_parse_duration("30", &ms), 0);
    ASSERT_EQ(ms, 30000);
    ASSERT_EQ(dc_conf_parse_duration("2h", &ms), 0);
    ASSERT_EQ(ms, 7200000);
    ASSERT_EQ(dc_conf_parse_duration("1d", &ms), 0);
    ASSERT_EQ(ms, 86400000);
    ASSERT_EQ(dc_conf_parse_duration("1.5s", &ms), -EINVAL);
    ASSERT_EQ(dc_conf_parse_duration("s", &ms), -EINVAL);
    ASSERT_EQ(dc_conf_parse_duration("99999999999999999d", &ms), -ERANGE);
    ASSERT_EQ(dc_conf_parse_int("-12", &i), 0);
    ASSERT_EQ(i, -12);
    ASSERT_EQ(dc_conf_parse_int(" 1", &i), -EINVAL);
    ASSERT_EQ(dc_conf_parse_bool("YES", &b), 0);
    ASSERT(b);
    ASSERT_EQ(dc_conf_parse_bool("0", &b), -EINVAL);
}

static void
test_load_file_errors(void)
{
    struct conf c;
    memset(&c, 0, sizeof(c));
    dc_conf_errors_deinit(&errs);
    ASSERT_EQ(dc_conf_load(&schema, "/nonexistent/duet.conf", &c, &arena, &errs), 1);
    ASSERT_STR_EQ(errs.msgs[0], "/nonexistent/duet.conf: cannot open: No such file or directory");

    char path[] = "/tmp/duet-test-config-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    const char bin[] = "workers = 2\n\0\n";
    ASSERT_EQ(write(fd, bin, sizeof(bin)), (ssize_t)sizeof(bin));
    close(fd);
    dc_conf_errors_deinit(&errs);
    ASSERT_EQ(dc_conf_load(&schema, path, &c, &arena, &errs), 1);
    ASSERT_STR_CONTAINS(errs.msgs[0], "contains a NUL byte");

    fd = open(path, O_WRONLY | O_TRUNC);
    ASSERT_GE(fd, 0);
    const char good[] = "workers = 3\n[site s]\nroot = /x\n";
    ASSERT_EQ(write(fd, good, strlen(good)), (ssize_t)strlen(good));
    close(fd);
    dc_conf_errors_deinit(&errs);
    memset(&c, 0, sizeof(c));
    ASSERT_EQ(dc_conf_load(&schema, path, &c, &arena, &errs), 0);
    ASSERT_EQ(c.workers, 3);
    ASSERT_EQ(c.nsites, 1);
    unlink(path);
}

static void
test_rows_copy(void)
{
    struct outer {
        int pad;
        struct conf inner;
    };
    struct dc_conf_option rows[16];
    size_t n = dc_conf_rows_copy(rows, top_opts, offsetof(struct outer, inner));
    ASSERT_EQ(n, 8);
    ASSERT_EQ(rows[0].offset, offsetof(struct outer, inner) + offsetof(struct conf, workers));
}

int
main(void)
{
    dc_arena_init(&arena, 0);
    TEST_RUN(test_defaults_applied);
    TEST_RUN(test_values_and_types);
    TEST_RUN(test_quotes_keep_hash);
    TEST_RUN(test_sections);
    TEST_RUN(test_many_sections_keep_values);
    TEST_RUN(test_error_messages);
    TEST_RUN(test_all_errors_reported_at_once);
    TEST_RUN(test_parsers);
    TEST_RUN(test_load_file_errors);
    TEST_RUN(test_rows_copy);
    dc_arena_deinit(&arena);
    dc_conf_errors_deinit(&errs);
    return 0;
}
