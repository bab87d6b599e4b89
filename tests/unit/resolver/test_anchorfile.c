/* Unit tests for resolver/anchorfile.c: trust-anchor-file, auto-trust-anchor-file. */
#include "resolver/anchorfile.h"

#include <errno.h>
#include <libgen.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

static char dir[] = "/tmp/duet-test-anchorfile-XXXXXX";

#include "anchor_test.h"

/* errs holds exactly one message, and it contains want */
static void
assert_one_error(struct dc_conf_errors *errs, const char *want)
{
    if (errs->n != 1) {
        dc_conf_errors_print(errs, stderr);
        TEST_FAIL("%zu errors, want 1 containing \"%s\"", errs->n, want);
    }
    ASSERT_STR_CONTAINS(errs->msgs[0], want);
    dc_conf_errors_deinit(errs);
}

/* ─── the shipped root anchor ─────────────────────────────────────────────────────────── */

static void
test_shipped_root_key_has_the_iana_ksks(void)
{
    /* conf/root.key, found from this file's path: tests/unit/resolver/ -> ../../../conf */
    char src[512], path[600];
    snprintf(src, sizeof(src), "%s", __FILE__);
    snprintf(path, sizeof(path), "%s/../../../conf/root.key", dirname(src));
    struct dr_anchors a;
    struct dc_conf_errors errs = {0};
    dr_anchors_init(&a);
    ASSERT_EQ(dr_anchorfile_load_auto(&a, path, &errs), 0);
    ASSERT_EQ(errs.n, 0);
    ASSERT_EQ(a.nzones, 1);
    ASSERT_EQ(ldns_dname_label_count(a.zones[0].owner), 0); /* the root */
    ASSERT_EQ(a.zones[0].nkeys, 2);
    /* IANA's root-anchors.xml: key tag and SHA-256 digest of each KSK */
    static const struct {
        uint16_t tag;
        const char *digest;
    } iana[] = {
        {20326, "e06d44b80b8f1d39a95c0b0d7c65d08458e880409bbc683457104237c7f8ec8d"},
        {38696, "683d2d0acb8c9b712a1948b27f741219298d0a450d612c483af444a4c0fb2b16"},
    };
    for (size_t i = 0; i < 2; i++) {
        ldns_rr *k = a.zones[0].keys[i].rr;
        ASSERT_EQ(a.zones[0].keys[i].state, DR_ANCHOR_VALID);
        ASSERT_EQ(ldns_rr_get_type(k), LDNS_RR_TYPE_DNSKEY);
        ASSERT_EQ(ldns_rdf2native_int16(ldns_rr_rdf(k, 0)), 257);
        ASSERT_EQ(ldns_calc_keytag(k), iana[i].tag);
        ldns_rr *ds = ldns_key_rr2ds(k, LDNS_SHA256);
        ASSERT_NOT_NULL(ds);
        char *hex = ldns_rdf2str(ldns_rr_rdf(ds, 3));
        ASSERT_STR_EQ(hex, iana[i].digest);
        free(hex);
        ldns_rr_free(ds);
    }
    ldns_rr_list *trusted = ldns_rr_list_new();
    ASSERT_EQ(dr_anchor_trusted(&a.zones[0], trusted), 2);
    ldns_rr_list_deep_free(trusted);
    dr_anchors_deinit(&a);
}

/* ─── files ───────────────────────────────────────────────────────────────────────────── */

static void
test_unbound_autotrust_file_is_read_with_its_states(void)
{
    /* as Unbound 1.17 writes it (one ADDPEND, one VALID key; an old REVOKED one) */
    const char *p = write_file(
        "unbound.key",
        "; autotrust trust anchor file\n"
        ";;id: . 1\n"
        ";;last_queried: 1500518597 ;;Wed Jul 19 19:43:17 2017\n"
        ";;last_success: 1500518590 ;;Wed Jul 19 19:43:10 2017\n"
        ";;next_probe_time: 1500522140 ;;Wed Jul 19 20:42:20 2017\n"
        ";;query_failed: 2\n"
        ";;query_interval: 3600\n"
        ";;retry_time: 1800\n"
        ".\t172800\tIN\tDNSKEY\t257 3 8 "
        "AwEAAaz/tAm8yTn4Mfeh5eyI96WSVexTBAvkMgJzkKTOiW1vkIbzxeF3+/4RgWOq7HrxRixHlFlExOLAJr5emLvN"
        "7SWXgnLh4+B5xQlNVz8Og8kvArMtNROxVQuCaSnIDdD5LKyWbRd2n9WGe2R8PzgCmr3EgVLrjyBxWezF0jLHwVN8"
        "efS3rCj/EWgvIWgb9tarpVUDK/b58Da+sqqls3eNbuv7pr+eoZG+SrDK6nWeL3c6H5Apxz7LjVc1uTIdsIXxuOLY"
        "A4/ilBmSVIzuDWfdRUfhHdY6+cn8HFRm+2hM8AnXGXws9555KrUB5qihylGa8subX2Nn6UwNR1AkUTV74bU= "
        ";{id = 20326 (ksk), size = 2048b} ;;state=1 [ ADDPEND ] ;;count=250 "
        ";;lastchange=1499776649 ;;Tue Jul 11 05:37:29 2017\n"
        ". 172800 IN DNSKEY 257 3 8 "
        "AwEAAagAIKlVZrpC6Ia7gEzahOR+9W29euxhJhVVLOyQbSEW0O8gcCjFFVQUTf6v58fLjwBd0YI0EzrAcQqBGCzh/"
        "RStIoO8g0NfnfL2MTJRkxoXbfDaUeVPQuYEhg37NZWAJQ9VnMVDxP/VHL496M/QZxkjf5/Efucp2gaDX6RS6CXpoY6"
        "8LsvPVjR0ZSwzz1apAzvN9dlzEheX7ICJBBtuA6G3LQpzW5hOA2hzCTMjJPJ8LbqF6dsV6DoBQzgul0sGIcGOYl7O"
        "yQdXfZ57relSQageu+ipAdTTJ25AsRTAoub8ONGcLmqrAmRLKBP1dfwhYB4N7knNnulqQxA+Uk1ihz0= "
        ";{id = 19036 (ksk), size = 2048b} ;;state=2 [  VALID  ] ;;count=0 "
        ";;lastchange=1404118431 ;;Mon Jun 30 01:53:51 2014\n");
    struct dr_anchors a;
    struct dc_conf_errors errs = {0};
    dr_anchors_init(&a);
    ASSERT_EQ(dr_anchorfile_load_auto(&a, p, &errs), 0);
    ASSERT_EQ(a.nzones, 1);
    struct dr_anchor_zone *z = &a.zones[0];
    ASSERT_STR_EQ(z->file, p);
    ASSERT_EQ(z->nkeys, 2);
    ASSERT_EQ(z->keys[0].state, DR_ANCHOR_ADDPEND);
    ASSERT_EQ(z->keys[0].count, 250);
    ASSERT_EQ(z->keys[0].last_change, 1499776649);
    ASSERT_EQ(ldns_calc_keytag(z->keys[0].rr), 20326);
    ASSERT_EQ(z->keys[1].state, DR_ANCHOR_VALID);
    ASSERT_EQ(ldns_calc_keytag(z->keys[1].rr), 19036);
    ASSERT_EQ(z->last_queried, 1500518597);
    ASSERT_EQ(z->last_success, 1500518590);
    ASSERT_EQ(z->next_probe, 1500522140);
    ASSERT_EQ(z->query_failed, 2);
    ASSERT_EQ(z->query_interval, 3600);
    ASSERT_EQ(z->retry_time, 1800);
    /* only the VALID key is trusted */
    ldns_rr_list *t = ldns_rr_list_new();
    ASSERT_EQ(dr_anchor_trusted(z, t), 1);
    ASSERT_EQ(ldns_calc_keytag(ldns_rr_list_rr(t, 0)), 19036);
    ldns_rr_list_deep_free(t);
    /* the same trust point again: refused */
    ASSERT_EQ(dr_anchorfile_load_auto(&a, p, &errs), -EINVAL);
    assert_one_error(&errs, "already configured");
    dr_anchors_deinit(&a);
}

static const char *KEY_A =
    "AwEAAagAIKlVZrpC6Ia7gEzahOR+9W29euxhJhVVLOyQbSEW0O8gcCjFFVQUTf6v58fLjwBd0YI0"
    "EzrAcQqBGCzh/RStIoO8g0NfnfL2MTJRkxoXbfDaUeVPQuYEhg37NZWAJQ9VnMVDxP/VHL49"
    "6M/QZxkjf5/Efucp2gaDX6RS6CXpoY68LsvPVjR0ZSwzz1apAzvN9dlzEheX7ICJBBtuA6G3"
    "LQpzW5hOA2hzCTMjJPJ8LbqF6dsV6DoBQzgul0sGIcGOYl7OyQdXfZ57relSQageu+ipAdTT"
    "J25AsRTAoub8ONGcLmqrAmRLKBP1dfwhYB4N7knNnulqQxA+Uk1ihz0=";

static void
test_static_file_takes_ds_and_dnskey_in_zone_file_syntax(void)
{
    char text[2048];
    snprintf(text, sizeof(text),
             "; a lab's anchors\n"
             "$TTL 600\n"
             "$ORIGIN sig.\n"
             "@ IN DS 12345 13 2 "
             "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
             "\n"
             "lab. IN DNSKEY ( 257 3 8 ; a multi-line key\n"
             "    %s )\n"
             "lab. IN RRSIG DNSKEY 8 1 600 20300101000000 20200101000000 1 lab. AAAA\n",
             KEY_A);
    const char *p = write_file("static.ds", text);
    struct dr_anchors a;
    struct dc_conf_errors errs = {0};
    dr_anchors_init(&a);
    ASSERT_EQ(dr_anchorfile_load(&a, p, &errs), 0);
    ASSERT_EQ(errs.n, 0);
    ASSERT_EQ(a.nzones, 2);
    ASSERT_NULL(a.zones[0].file);
    ASSERT_EQ(a.zones[0].nkeys, 1);
    ASSERT_EQ(ldns_rr_get_type(a.zones[0].keys[0].rr), LDNS_RR_TYPE_DS);
    ASSERT_EQ(ldns_rr_ttl(a.zones[0].keys[0].rr), 600);
    ASSERT_EQ(a.zones[1].nkeys, 1); /* the RRSIG is skipped */
    ASSERT_EQ(ldns_calc_keytag(a.zones[1].keys[0].rr), 19036);

    ldns_rdf *n = dname("www.sub.sig.");
    const struct dr_anchor_zone *z = dr_anchors_find(&a, n);
    ASSERT(z == &a.zones[0]);
    ldns_rdf_deep_free(n);
    n = dname("Lab.");
    ASSERT(dr_anchors_find(&a, n) == &a.zones[1]);
    ldns_rdf_deep_free(n);
    n = dname("example.");
    ASSERT_NULL(dr_anchors_find(&a, n));
    ldns_rdf_deep_free(n);
    dr_anchors_deinit(&a);
}

static void
test_static_file_errors_name_file_and_line(void)
{
    struct dr_anchors a;
    struct dc_conf_errors errs = {0};
    dr_anchors_init(&a);
    const char *p = write_file("bad.ds", "; comment\n"
                                         "example. IN A 192.0.2.1\n"
                                         "example. IN DS 1 8 2 zz-not-hex\n");
    ASSERT_EQ(dr_anchorfile_load(&a, p, &errs), -EINVAL);
    ASSERT_EQ(errs.n, 2);
    char want[600];
    snprintf(want, sizeof(want), "%s:2: only DS and DNSKEY records can be trust anchors, not A", p);
    ASSERT_STR_EQ(errs.msgs[0], want);
    snprintf(want, sizeof(want), "%s:3: ", p);
    ASSERT_STR_CONTAINS(errs.msgs[1], want);
    dc_conf_errors_deinit(&errs);

    p = write_file("empty.ds", "; nothing\n\n");
    ASSERT_EQ(dr_anchorfile_load(&a, p, &errs), -EINVAL);
    assert_one_error(&errs, "no DS or DNSKEY record");

    ASSERT_EQ(dr_anchorfile_load(&a, path_in_dir("missing.ds"), &errs), -ENOENT);
    assert_one_error(&errs, "missing.ds: No such file or directory");
    dr_anchors_deinit(&a);
}

static void
test_corrupt_state_file_is_a_clear_error(void)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {";;id: . 1\n. IN DNSKEY 257 3 8 @K@ ;;state=9 [ WHAT ] ;;count=0 ;;lastchange=0\n",
         ":2: bad ';;state=' (0 to 5)"},
        {";;id: . 1\n. IN DNSKEY 257 3 8 @K@ ;;state=2 ;;count=x\n", ":2: bad ';;count='"},
        {";;id: . 1\n;;query_interval: soon\n. IN DNSKEY 257 3 8 @K@\n",
         ":2: bad number in ';;query_interval'"},
        {". IN DNSKEY 257 3 8 @K@\nsig. IN DS 1 8 2 00\n",
         ":2: an auto-trust-anchor-file holds one"},
        {". IN DNSKEY 257 3 8 @K@ ;;state=1 [ ADDPEND ]\n", "no key is VALID or MISSING"},
        {"\x01\x02 garbage @K@\n", ":1: "},
        {";;id: . 1\n. IN DNSKEY 257 3 8 @K@ ;;state=4 [ REVOKED ]\n",
         ":2: REVOKED key without the REVOKE bit"},
        {"; truncated by a crash\n. IN DNSKEY ( 257 3 8 @K@\n", "unbalanced parentheses"},
        {"@K@", "no trust anchor"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[2048];
        const char *at = strstr(cases[i].text, "@K@");
        ASSERT_NOT_NULL(at);
        snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - cases[i].text), cases[i].text,
                 i == 8 ? "" : KEY_A, at + 3);
        const char *p = write_file("corrupt.key", text);
        struct dr_anchors a;
        struct dc_conf_errors errs = {0};
        dr_anchors_init(&a);
        ASSERT_EQ(dr_anchorfile_load_auto(&a, p, &errs), -EINVAL);
        ASSERT_EQ(a.nzones, 0);
        ASSERT_GE(errs.n, 1);
        ASSERT_STR_CONTAINS(errs.msgs[0], p);
        ASSERT_STR_CONTAINS(errs.msgs[0], cases[i].want);
        dc_conf_errors_deinit(&errs);
        dr_anchors_deinit(&a);
    }
}

int
main(void)
{
    ASSERT_NOT_NULL(mkdtemp(dir));

    TEST_RUN(test_shipped_root_key_has_the_iana_ksks);
    TEST_RUN(test_unbound_autotrust_file_is_read_with_its_states);
    TEST_RUN(test_static_file_takes_ds_and_dnskey_in_zone_file_syntax);
    TEST_RUN(test_static_file_errors_name_file_and_line);
    TEST_RUN(test_corrupt_state_file_is_a_clear_error);

    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return 0;
}
