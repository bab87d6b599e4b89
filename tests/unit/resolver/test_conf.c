/*
 * Unit tests for resolver/conf.c: the DNSSEC options (dnssec, trust-anchor-file,
 * auto-trust-anchor-file, domain-insecure, val-bogus-ttl) loaded through the real schema,
 * the trust anchors they fill, every error with its file and line, and the start-up line
 * dr_conf_log_dnssec() writes.
 */
#include "resolver/conf.h"

#include <libgen.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "common/log.h"
#include "resolver/anchor.h"

static char dir[] = "/tmp/duet-test-conf-XXXXXX";

#include "anchor_test.h"
#include "test.h"

/* conf/root.key, found from this file's path: tests/unit/resolver/ -> ../../../conf */
static const char *
root_key(void)
{
    static char path[600];
    char src[512];
    snprintf(src, sizeof(src), "%s", __FILE__);
    snprintf(path, sizeof(path), "%s/../../../conf/root.key", dirname(src));
    return path;
}

static const char lab_ds[] = "; a lab root's KSK, as a DS\n"
                             "$TTL 3600\n"
                             "lab.test. IN DS 12345 8 2 "
                             "E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n";

static struct dr_conf *
load(const char *text, struct dc_conf_errors *errs, int *nerr)
{
    struct dr_conf *c = dr_conf_new();
    ASSERT_NOT_NULL(c);
    *nerr = dc_conf_load_string(&dr_conf_schema, "t.conf", text, c, &c->arena, errs);
    return c;
}

static struct dr_conf *
load_ok(const char *text)
{
    struct dc_conf_errors errs = {0};
    int nerr;
    struct dr_conf *c = load(text, &errs, &nerr);
    if (nerr != 0) {
        dc_conf_errors_print(&errs, stderr);
        TEST_FAIL("config had %d errors", nerr);
    }
    dc_conf_errors_deinit(&errs);
    ASSERT_NOT_NULL(c->anchors);
    return c;
}

/* Loads text, which must fail with exactly the errors in want (each a substring of the
 * message at the same position), and frees everything. */
static void
load_fails(const char *text, const char *const *want, size_t nwant)
{
    struct dc_conf_errors errs = {0};
    int nerr;
    struct dr_conf *c = load(text, &errs, &nerr);
    if ((size_t)nerr != nwant || errs.n != nwant) {
        dc_conf_errors_print(&errs, stderr);
        TEST_FAIL("%d errors, want %zu (first: \"%s\")", nerr, nwant, want[0]);
    }
    for (size_t i = 0; i < nwant; i++)
        ASSERT_STR_CONTAINS(errs.msgs[i], want[i]);
    dc_conf_errors_deinit(&errs);
    dr_conf_free(c);
}

static void
load_fails1(const char *text, const char *want)
{
    load_fails(text, &want, 1);
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static char *
fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s = NULL;
    ASSERT(vasprintf(&s, f, ap) >= 0);
    va_end(ap);
    return s;
}

/* ─── good values ─────────────────────────────────────────────────────────────────────── */

static void
test_defaults_validate_with_an_empty_anchor_set(void)
{
    struct dr_conf *c = load_ok("");
    ASSERT(c->dnssec);
    ASSERT_EQ(c->val_bogus_ttl_ms, 60000);
    ASSERT_EQ(c->anchors->nzones, 0);
    ASSERT_EQ(c->anchors->ninsecure, 0);
    ASSERT_EQ(c->trust_anchor_files.n, 0);
    ASSERT_EQ(c->auto_trust_anchor_files.n, 0);
    dr_conf_free(c);
}

static void
test_dnssec_no_and_val_bogus_ttl(void)
{
    struct dr_conf *c = load_ok("dnssec = no\nval-bogus-ttl = 5m\n");
    ASSERT(!c->dnssec);
    ASSERT_EQ(c->val_bogus_ttl_ms, 300000);
    dr_conf_free(c);
    c = load_ok("dnssec = yes\nval-bogus-ttl = 0\n");
    ASSERT(c->dnssec);
    ASSERT_EQ(c->val_bogus_ttl_ms, 0);
    dr_conf_free(c);
}

/* add-holddown, del-holddown, permit-small-holddown reach the anchors' RFC 5011 timing. */
static void
test_rfc5011_timers_fill_the_anchor_timing(void)
{
    struct dr_conf *c = load_ok("");
    ASSERT_EQ(c->anchors->timing.add_holddown, 30 * 86400);
    ASSERT_EQ(c->anchors->timing.remove_holddown, 30 * 86400);
    ASSERT_EQ(c->anchors->timing.min_interval, 3600);
    ASSERT(!c->permit_small_holddown);
    dr_conf_free(c);
    c = load_ok("add-holddown = 3s\ndel-holddown = 2h\npermit-small-holddown = yes\n");
    ASSERT_EQ(c->anchors->timing.add_holddown, 3);
    ASSERT_EQ(c->anchors->timing.remove_holddown, 7200);
    ASSERT_EQ(c->anchors->timing.min_interval, 1);
    ASSERT_EQ(c->anchors->timing.max_interval, 15 * 86400);
    dr_conf_free(c);
    load_fails1("add-holddown = 10ms\n", "add-holddown");
}

static void
test_anchor_files_and_domain_insecure_fill_one_set(void)
{
    const char *ds = write_file("lab.ds", lab_ds);
    /* an RFC 5011-managed copy of the shipped root key */
    FILE *in = fopen(root_key(), "r");
    ASSERT_NOT_NULL(in);
    char buf[8192];
    size_t n = fread(buf, 1, sizeof(buf) - 1, in);
    fclose(in);
    buf[n] = '\0';
    const char *managed = write_file("root.key", buf);

    char *text = fmt("auto-trust-anchor-file = %s\n"
                     "trust-anchor-file = %s\n"
                     "domain-insecure = corp.example\n"
                     "domain-insecure = Sub.Lab.Test.\n",
                     managed, ds);
    struct dr_conf *c = load_ok(text);
    ASSERT_EQ(c->anchors->nzones, 2);
    ASSERT_EQ(c->anchors->ninsecure, 2);
    ASSERT_EQ(c->auto_trust_anchor_files.n, 1);
    ASSERT_STR_EQ(c->auto_trust_anchor_files.v[0], managed);
    ASSERT_EQ(c->trust_anchor_files.n, 1);
    ASSERT_STR_EQ(c->domain_insecure.v[1], "Sub.Lab.Test.");

    ldns_rdf *www = dname("www.example.");
    const struct dr_anchor_zone *z = dr_anchors_find(c->anchors, www);
    ASSERT_NOT_NULL(z);
    ASSERT_EQ(ldns_dname_label_count(z->owner), 0); /* the root */
    ASSERT_EQ(z->nkeys, 2);
    ASSERT_STR_EQ(z->file, managed); /* managed: the file it is written back to */

    ldns_rdf *lab = dname("x.lab.test.");
    z = dr_anchors_find(c->anchors, lab);
    ASSERT_NOT_NULL(z);
    ASSERT_EQ(ldns_dname_label_count(z->owner), 2);
    ASSERT_NULL(z->file); /* static */

    ldns_rdf *corp = dname("a.CORP.example.");
    ASSERT(dr_anchors_insecure(c->anchors, corp));
    ASSERT_NULL(dr_anchors_find(c->anchors, corp));
    ldns_rdf *sub = dname("www.sub.lab.test.");
    ASSERT_NULL(dr_anchors_find(c->anchors, sub));
    ASSERT(!dr_anchors_insecure(c->anchors, www));

    ldns_rdf_deep_free(www);
    ldns_rdf_deep_free(lab);
    ldns_rdf_deep_free(corp);
    ldns_rdf_deep_free(sub);
    dr_conf_free(c);
    free(text);
}

static void
test_shipped_root_key_as_a_static_anchor(void)
{
    /* The managed file's ";;state=" comments are comments to the zone-file reader. */
    char *text = fmt("trust-anchor-file = %s\n", root_key());
    struct dr_conf *c = load_ok(text);
    ASSERT_EQ(c->anchors->nzones, 1);
    ASSERT_EQ(c->anchors->zones[0].nkeys, 2);
    ASSERT_NULL(c->anchors->zones[0].file);
    dr_conf_free(c);
    free(text);
}

static void
test_empty_file_name_configures_nothing(void)
{
    struct dr_conf *c = load_ok("auto-trust-anchor-file = \"\"\ntrust-anchor-file = \"\"\n");
    ASSERT_EQ(c->anchors->nzones, 0);
    dr_conf_free(c);
}

/* A reload loads a new configuration with its own set: the old one is untouched by it. */
static void
test_each_load_has_its_own_set(void)
{
    char *text = fmt("trust-anchor-file = %s\n", root_key());
    struct dr_conf *a = load_ok(text);
    struct dr_conf *b = load_ok(text);
    ASSERT(a->anchors != b->anchors);
    dr_conf_free(b);
    ASSERT_EQ(a->anchors->nzones, 1);
    ASSERT_EQ(a->anchors->zones[0].nkeys, 2);
    dr_conf_free(a);
    free(text);
}

/* ─── errors, with file and line ──────────────────────────────────────────────────────── */

static void
test_missing_anchor_file_is_the_options_error(void)
{
    load_fails1("workers = 1\ntrust-anchor-file = /nonexistent/lab.ds\n",
                "t.conf:2: trust-anchor-file: cannot read /nonexistent/lab.ds: No such file");
    load_fails1("\n\n\nauto-trust-anchor-file = /nonexistent/root.key\n",
                "t.conf:4: auto-trust-anchor-file: cannot read /nonexistent/root.key: No such");
    char *text = fmt("trust-anchor-file = %s\n", dir);
    char *want = fmt("t.conf:1: trust-anchor-file: %s is a directory", dir);
    load_fails1(text, want);
    free(text);
    free(want);
}

static void
test_unreadable_anchor_file_is_the_options_error(void)
{
    /* a path through a file: ENOTDIR, whoever runs the test */
    const char *p = write_file("plain.ds", lab_ds);
    char *text = fmt("trust-anchor-file = %s/x\n", p);
    load_fails1(text, "t.conf:1: trust-anchor-file: cannot read");
    free(text);
    if (geteuid() == 0)
        return; /* root reads a mode-0 file */
    ASSERT_EQ(chmod(p, 0), 0);
    text = fmt("trust-anchor-file = %s\n", p);
    load_fails1(text, "t.conf:1: trust-anchor-file: cannot read");
    free(text);
}

static void
test_bad_record_is_the_anchor_files_error(void)
{
    const char *bad =
        write_file("bad.ds", "; line 1\n"
                             "lab.test. IN DS 12345 8 2 "
                             "E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n"
                             "lab.test. IN A 192.0.2.1\n");
    char *text = fmt("trust-anchor-file = %s\n", bad);
    char *want = fmt("%s:3: only DS and DNSKEY records can be trust anchors, not A", bad);
    load_fails1(text, want);
    free(text);
    free(want);

    const char *state = write_file("bad.key", ";;id: . 1\n"
                                              ";;last_queried: soon\n");
    text = fmt("dnssec = yes\nauto-trust-anchor-file = %s\n", state);
    want = fmt("%s:2: bad number", state);
    struct dc_conf_errors errs = {0};
    int nerr;
    struct dr_conf *c = load(text, &errs, &nerr);
    ASSERT_GE(nerr, 1);
    ASSERT_STR_CONTAINS(errs.msgs[0], want);
    for (size_t i = 0; i < errs.n; i++)
        ASSERT(strncmp(errs.msgs[i], "t.conf", 6) != 0); /* the anchor file's, not ours */
    dc_conf_errors_deinit(&errs);
    dr_conf_free(c);
    free(text);
    free(want);
}

static void
test_same_trust_point_twice_is_an_error(void)
{
    char *text =
        fmt("trust-anchor-file = %s\nauto-trust-anchor-file = %s\n", root_key(), root_key());
    load_fails1(text, "trust point . is already configured");
    free(text);
}

static void
test_bad_values_name_their_line(void)
{
    load_fails1("dnssec = maybe\n", "t.conf:1: dnssec: 'maybe' is not a boolean");
    load_fails1("\nval-bogus-ttl = soon\n", "t.conf:2: val-bogus-ttl: 'soon' is not a duration");
    load_fails1("val-bogus-ttl = 2d\n", "t.conf:1: val-bogus-ttl: 2d is out of range");
    load_fails1("domain-insecure = a..b\n", "t.conf:1: domain-insecure: 'a..b' is not a domain");
    load_fails1("domain-insecure = \"\"\n", "t.conf:1: domain-insecure: '' is not a domain");
    char *long_label = fmt("domain-insecure = %0100d.example\n", 0);
    load_fails1(long_label, "t.conf:1: domain-insecure:");
    free(long_label);
    load_fails1("dnssec = yes\ndnssec = no\n", "t.conf:2: 'dnssec' is given twice");
}

/* Every error of a file, in order: one bad option does not hide the next. */
static void
test_every_error_is_reported(void)
{
    const char *bad = write_file("bad2.ds", "lab.test. IN DS 1 8 2 zz\n");
    char *text = fmt("trust-anchor-file = /nonexistent/a\n"
                     "domain-insecure = a..b\n"
                     "trust-anchor-file = %s\n"
                     "val-bogus-ttl = x\n",
                     bad);
    char *w3 = fmt("%s:1:", bad);
    const char *want[] = {"t.conf:1: trust-anchor-file", "t.conf:2: domain-insecure", w3,
                          "t.conf:4: val-bogus-ttl"};
    load_fails(text, want, 4);
    free(text);
    free(w3);
}

/* ─── the start-up line ───────────────────────────────────────────────────────────────── */

static char *
logged(const struct dr_conf *c)
{
    const char *p = path_in_dir("log.txt");
    FILE *f = fopen(p, "w+");
    ASSERT_NOT_NULL(f);
    dc_log_set_fd(fileno(f));
    dr_conf_log_dnssec(c);
    dc_log_set_fd(-1);
    static char line[1024];
    rewind(f);
    size_t n = fread(line, 1, sizeof(line) - 1, f);
    line[n] = '\0';
    fclose(f);
    ASSERT_EQ(strchr(line, '\n') - line, (long)strlen(line) - 1); /* exactly one line */
    return line;
}

static void
test_start_line_says_what_validates(void)
{
    dc_log_init(DC_LOG_INFO);
    struct dr_conf *c = load_ok("");
    char *l = logged(c);
    ASSERT_STR_CONTAINS(l, "level=info event=dnssec_no_trust_anchor validate=yes trust_points=0");
    ASSERT_STR_CONTAINS(l, "nothing will validate");
    dr_conf_free(c);

    char *text = fmt("trust-anchor-file = %s\ndomain-insecure = corp.example\n", root_key());
    c = load_ok(text);
    l = logged(c);
    ASSERT_STR_CONTAINS(l, "level=info event=dnssec validate=yes trust_points=1 domain_insecure=1");
    dr_conf_free(c);
    free(text);

    c = load_ok("dnssec = no\n");
    l = logged(c);
    ASSERT_STR_CONTAINS(l, "level=info event=dnssec validate=no trust_points=0");
    dr_conf_free(c);
}

int
main(void)
{
    ASSERT_NOT_NULL(mkdtemp(dir));

    TEST_RUN(test_defaults_validate_with_an_empty_anchor_set);
    TEST_RUN(test_dnssec_no_and_val_bogus_ttl);
    TEST_RUN(test_rfc5011_timers_fill_the_anchor_timing);
    TEST_RUN(test_anchor_files_and_domain_insecure_fill_one_set);
    TEST_RUN(test_shipped_root_key_as_a_static_anchor);
    TEST_RUN(test_empty_file_name_configures_nothing);
    TEST_RUN(test_each_load_has_its_own_set);
    TEST_RUN(test_missing_anchor_file_is_the_options_error);
    TEST_RUN(test_unreadable_anchor_file_is_the_options_error);
    TEST_RUN(test_bad_record_is_the_anchor_files_error);
    TEST_RUN(test_same_trust_point_twice_is_an_error);
    TEST_RUN(test_bad_values_name_their_line);
    TEST_RUN(test_every_error_is_reported);
    TEST_RUN(test_start_line_says_what_validates);

    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return 0;
}
