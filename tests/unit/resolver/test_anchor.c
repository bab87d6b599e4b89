/* Unit tests for resolver/anchor.c: anchor files, negative anchors, RFC 5011 states. */
#include "resolver/anchor.h"

#include <errno.h>
#include <libgen.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

static char dir[] = "/tmp/duet-test-anchor-XXXXXX";

static const char *
path_in_dir(const char *name)
{
    static char p[4][512];
    static int i;
    i = (i + 1) % 4;
    snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
    return p[i];
}

static const char *
write_file(const char *name, const char *text)
{
    const char *p = path_in_dir(name);
    FILE *f = fopen(p, "w");
    ASSERT_NOT_NULL(f);
    fputs(text, f);
    fclose(f);
    return p;
}

static ldns_rdf *
dname(const char *s)
{
    ldns_rdf *d = NULL;
    ASSERT_EQ(ldns_str2rdf_dname(&d, s), LDNS_STATUS_OK);
    return d;
}

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
    ASSERT_EQ(dr_anchors_load_auto(&a, path, &errs), 0);
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
    ASSERT_EQ(dr_anchors_load_auto(&a, p, &errs), 0);
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
    ASSERT_EQ(dr_anchors_load_auto(&a, p, &errs), -EINVAL);
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
    ASSERT_EQ(dr_anchors_load_file(&a, p, &errs), 0);
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
    ASSERT_EQ(dr_anchors_load_file(&a, p, &errs), -EINVAL);
    ASSERT_EQ(errs.n, 2);
    char want[600];
    snprintf(want, sizeof(want), "%s:2: only DS and DNSKEY records can be trust anchors, not A", p);
    ASSERT_STR_EQ(errs.msgs[0], want);
    snprintf(want, sizeof(want), "%s:3: ", p);
    ASSERT_STR_CONTAINS(errs.msgs[1], want);
    dc_conf_errors_deinit(&errs);

    p = write_file("empty.ds", "; nothing\n\n");
    ASSERT_EQ(dr_anchors_load_file(&a, p, &errs), -EINVAL);
    assert_one_error(&errs, "no DS or DNSKEY record");

    ASSERT_EQ(dr_anchors_load_file(&a, path_in_dir("missing.ds"), &errs), -ENOENT);
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
        ASSERT_EQ(dr_anchors_load_auto(&a, p, &errs), -EINVAL);
        ASSERT_EQ(a.nzones, 0);
        ASSERT_GE(errs.n, 1);
        ASSERT_STR_CONTAINS(errs.msgs[0], p);
        ASSERT_STR_CONTAINS(errs.msgs[0], cases[i].want);
        dc_conf_errors_deinit(&errs);
        dr_anchors_deinit(&a);
    }
}

static void
test_domain_insecure_below_an_anchor_wins_above_it_does_not(void)
{
    struct dr_anchors a;
    struct dc_conf_errors errs = {0};
    dr_anchors_init(&a);
    char text[1024];
    snprintf(text, sizeof(text), ". IN DNSKEY 257 3 8 %s\nsec.corp. IN DNSKEY 257 3 8 %s\n", KEY_A,
             KEY_A);
    ASSERT_EQ(dr_anchors_load_file(&a, write_file("two.key", text), &errs), 0);
    ASSERT_EQ(dr_anchors_add_insecure(&a, "Corp."), 0);
    ASSERT_EQ(dr_anchors_add_insecure(&a, ""), -EINVAL);
    ASSERT_EQ(dr_anchors_add_insecure(&a, "a..b"), -EINVAL);

    ldns_rdf *n = dname("WWW.cOrP.");
    ASSERT(dr_anchors_insecure(&a, n));
    ASSERT_NULL(dr_anchors_find(&a, n)); /* the NTA is below the root anchor */
    ldns_rdf_deep_free(n);
    n = dname("corp.");
    ASSERT_NULL(dr_anchors_find(&a, n));
    ldns_rdf_deep_free(n);
    n = dname("www.sec.corp."); /* an anchor below the NTA is used */
    ASSERT(dr_anchors_insecure(&a, n));
    ASSERT(dr_anchors_find(&a, n) == &a.zones[1]);
    ldns_rdf_deep_free(n);
    n = dname("notcorp.");
    ASSERT(!dr_anchors_insecure(&a, n));
    ASSERT(dr_anchors_find(&a, n) == &a.zones[0]);
    ldns_rdf_deep_free(n);
    dr_anchors_deinit(&a);
}

/* ─── RFC 5011 ────────────────────────────────────────────────────────────────────────── */

static time_t T0;
static struct dr_anchor_timing timing;

struct tkey {
    ldns_key *key;
    ldns_rr *rr;
};

static struct tkey
tkey_new(const char *owner)
{
    struct tkey k;
    k.key = ldns_key_new_frm_algorithm(LDNS_SIGN_ECDSAP256SHA256, 256);
    ASSERT_NOT_NULL(k.key);
    ldns_key_set_pubkey_owner(k.key, dname(owner));
    ldns_key_set_flags(k.key, 257);
    ldns_key_set_inception(k.key, (uint32_t)(T0 - 3600));
    ldns_key_set_expiration(k.key, (uint32_t)(T0 + 365 * 86400));
    k.rr = ldns_key2rr(k.key);
    ldns_key_set_keytag(k.key, ldns_calc_keytag(k.rr));
    return k;
}

/* The key with the REVOKE bit set (a new tag, the same key pair, which from now on signs
 * as the revoked key); k->rr keeps the unrevoked record. Free only the result's rr. */
static struct tkey
tkey_revoke(struct tkey *k)
{
    struct tkey r = {k->key, NULL};
    ldns_key_set_flags(r.key, 257 | 0x80);
    r.rr = ldns_key2rr(r.key);
    ldns_key_set_keytag(r.key, ldns_calc_keytag(r.rr));
    return r;
}

static void
tkey_free(struct tkey *k)
{
    ldns_key_deep_free(k->key);
    ldns_rr_free(k->rr);
}

/* A DNSKEY set of the given keys (NULL-terminated after `in`), signed by `signers`. */
struct tset {
    ldns_rr_list *keys, *sigs;
};

static struct tset
tset_make(struct tkey **in, size_t nin, struct tkey **signers, size_t nsig)
{
    struct tset s = {ldns_rr_list_new(), NULL};
    for (size_t i = 0; i < nin; i++)
        ldns_rr_list_push_rr(s.keys, ldns_rr_clone(in[i]->rr));
    ldns_key_list *kl = ldns_key_list_new();
    for (size_t i = 0; i < nsig; i++)
        ldns_key_list_push_key(kl, signers[i]->key);
    s.sigs = ldns_sign_public(s.keys, kl);
    ASSERT_NOT_NULL(s.sigs);
    ldns_key_list_set_key_count(kl, 0); /* the list frees its keys: they are the caller's */
    ldns_key_list_free(kl);
    return s;
}

static void
tset_free(struct tset *s)
{
    ldns_rr_list_deep_free(s->keys);
    ldns_rr_list_deep_free(s->sigs);
}

/* update z with a set of keys signed by signers at time now */
static struct dr_anchor_changes
see(struct dr_anchor_zone *z, struct tkey **in, size_t nin, struct tkey **signers, size_t nsig,
    time_t now)
{
    struct tset s = tset_make(in, nin, signers, nsig);
    struct dr_anchor_changes ch;
    ASSERT_EQ(dr_anchor_update(z, s.keys, s.sigs, 60, now, &timing, &ch), 0);
    tset_free(&s);
    return ch;
}

static enum dr_anchor_state
state_of(const struct dr_anchor_zone *z, const struct tkey *k)
{
    for (size_t i = 0; i < z->nkeys; i++) {
        const ldns_rr *rr = z->keys[i].rr;
        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_DNSKEY)
            continue;
        /* compare the public key itself: the REVOKE bit changes flags and tag */
        if (ldns_rdf_compare(ldns_rr_rdf(rr, 3), ldns_rr_rdf(k->rr, 3)) == 0)
            return z->keys[i].state;
    }
    return DR_ANCHOR_START;
}

static int
trusted_count(const struct dr_anchor_zone *z)
{
    ldns_rr_list *l = ldns_rr_list_new();
    int n = dr_anchor_trusted(z, l);
    ldns_rr_list_deep_free(l);
    return n;
}

/* A managed trust point "test." that trusts key a (written and loaded as a file). */
static void
zone_trusting(struct dr_anchors *a, const struct tkey *k, const char *file)
{
    char *s = ldns_rr2str(k->rr);
    const char *p = write_file(file, s);
    free(s);
    struct dc_conf_errors errs = {0};
    dr_anchors_init(a);
    a->timing = timing;
    ASSERT_EQ(dr_anchors_load_auto(a, p, &errs), 0);
    ASSERT_EQ(a->zones[0].keys[0].state, DR_ANCHOR_VALID);
}

static void
test_new_key_waits_out_the_add_holddown(void)
{
    struct tkey A = tkey_new("test."), B = tkey_new("test.");
    struct dr_anchors a;
    zone_trusting(&a, &A, "add.key");
    struct dr_anchor_zone *z = &a.zones[0];
    struct tkey *ab[] = {&A, &B}, *signer[] = {&A};

    struct dr_anchor_changes ch = see(z, ab, 2, signer, 1, T0); /* NewKey: Start -> AddPend */
    ASSERT_EQ(ch.added, 1);
    ASSERT_EQ(state_of(z, &B), DR_ANCHOR_ADDPEND);
    ASSERT_EQ(trusted_count(z), 1);
    ASSERT_EQ(z->last_success, T0);
    ASSERT_EQ(z->next_probe, T0 + (time_t)z->query_interval);

    ch = see(z, ab, 2, signer, 1, T0 + 99); /* hold-down not over */
    ASSERT_EQ(ch.valid, 0);
    ASSERT_EQ(state_of(z, &B), DR_ANCHOR_ADDPEND);
    ASSERT_EQ(trusted_count(z), 1);

    ch = see(z, ab, 2, signer, 1, T0 + 100); /* AddTime: AddPend -> Valid */
    ASSERT_EQ(ch.valid, 1);
    ASSERT_EQ(state_of(z, &B), DR_ANCHOR_VALID);
    ASSERT_EQ(trusted_count(z), 2);
    dr_anchors_deinit(&a);
    tkey_free(&A);
    tkey_free(&B);
}

static void
test_pending_key_that_disappears_is_forgotten(void)
{
    struct tkey A = tkey_new("test."), C = tkey_new("test.");
    struct dr_anchors a;
    zone_trusting(&a, &A, "keyrem.key");
    struct dr_anchor_zone *z = &a.zones[0];
    struct tkey *ac[] = {&A, &C}, *only_a[] = {&A};
    see(z, ac, 2, only_a, 1, T0);
    ASSERT_EQ(state_of(z, &C), DR_ANCHOR_ADDPEND);
    struct dr_anchor_changes ch = see(z, only_a, 1, only_a, 1, T0 + 50); /* AddPend -> Start */
    ASSERT_EQ(ch.removed, 1);
    ASSERT_EQ(state_of(z, &C), DR_ANCHOR_START);
    ASSERT_EQ(z->nkeys, 1);
    /* back again: the hold-down starts over */
    see(z, ac, 2, only_a, 1, T0 + 60);
    see(z, ac, 2, only_a, 1, T0 + 130);
    ASSERT_EQ(state_of(z, &C), DR_ANCHOR_ADDPEND);
    see(z, ac, 2, only_a, 1, T0 + 160);
    ASSERT_EQ(state_of(z, &C), DR_ANCHOR_VALID);
    dr_anchors_deinit(&a);
    tkey_free(&A);
    tkey_free(&C);
}

static void
test_add_holddown_is_at_least_the_original_ttl(void)
{
    struct tkey A = tkey_new("test."), B = tkey_new("test.");
    struct dr_anchors a;
    zone_trusting(&a, &A, "ttl.key");
    struct dr_anchor_zone *z = &a.zones[0];
    struct tkey *ab[] = {&A, &B}, *signer[] = {&A};
    struct tset s = tset_make(ab, 2, signer, 1);
    ASSERT_EQ(dr_anchor_update(z, s.keys, s.sigs, 500, T0, &timing, NULL), 0);
    ASSERT_EQ(dr_anchor_update(z, s.keys, s.sigs, 500, T0 + 100, &timing, NULL), 0);
    ASSERT_EQ(state_of(z, &B), DR_ANCHOR_ADDPEND);
    ASSERT_EQ(dr_anchor_update(z, s.keys, s.sigs, 500, T0 + 500, &timing, NULL), 0);
    ASSERT_EQ(state_of(z, &B), DR_ANCHOR_VALID);
    tset_free(&s);
    dr_anchors_deinit(&a);
    tkey_free(&A);
    tkey_free(&B);
}

static void
test_valid_key_missing_stays_trusted_and_comes_back(void)
{
    struct tkey A = tkey_new("test."), B = tkey_new("test.");
    struct dr_anchors a;
    zone_trusting(&a, &A, "missing.key");
    struct dr_anchor_zone *z = &a.zones[0];
    struct tkey *ab[] = {&A, &B}, *only_b[] = {&B}, *signer_a[] = {&A};
    see(z, ab, 2, signer_a, 1, T0);
    see(z, ab, 2, signer_a, 1, T0 + 100);
    ASSERT_EQ(state_of(z, &B), DR_ANCHOR_VALID);
    struct dr_anchor_changes ch = see(z, only_b, 1, only_b, 1, T0 + 200); /* KeyRem */
    ASSERT_EQ(ch.missing, 1);
    ASSERT_EQ(state_of(z, &A), DR_ANCHOR_MISSING);
    ASSERT_EQ(trusted_count(z), 2);          /* Missing is still a trust anchor */
    ch = see(z, ab, 2, only_b, 1, T0 + 300); /* KeyPres */
    ASSERT_EQ(ch.valid, 1);
    ASSERT_EQ(state_of(z, &A), DR_ANCHOR_VALID);
    dr_anchors_deinit(&a);
    tkey_free(&A);
    tkey_free(&B);
}

static void
test_ksk_roll_old_key_revoked_by_itself_then_removed(void)
{
    struct tkey A = tkey_new("test."), B = tkey_new("test.");
    struct dr_anchors a;
    zone_trusting(&a, &A, "roll.key");
    struct dr_anchor_zone *z = &a.zones[0];

    /* 1. publish B, signed by A; hold-down; B valid */
    struct tkey *ab[] = {&A, &B}, *sa[] = {&A};
    see(z, ab, 2, sa, 1, T0);
    see(z, ab, 2, sa, 1, T0 + 100);
    ASSERT_EQ(state_of(z, &B), DR_ANCHOR_VALID);

    /* 2. A published with the REVOKE bit, the set signed by revoked A and by B */
    struct tkey Ar = tkey_revoke(&A);
    struct tkey *arb[] = {&Ar, &B}, *sarb[] = {&Ar, &B};
    struct dr_anchor_changes ch = see(z, arb, 2, sarb, 2, T0 + 150);
    ASSERT_EQ(ch.revoked, 1);
    ASSERT_EQ(state_of(z, &A), DR_ANCHOR_REVOKED);
    ASSERT_EQ(trusted_count(z), 1); /* only B */
    ldns_rr_list *t = ldns_rr_list_new();
    ASSERT_EQ(dr_anchor_trusted(z, t), 1);
    ASSERT_EQ(ldns_rdf_compare(ldns_rr_rdf(ldns_rr_list_rr(t, 0), 3), ldns_rr_rdf(B.rr, 3)), 0);
    ldns_rr_list_deep_free(t);

    /* 3. the remove hold-down: Revoked -> Removed, never trusted again */
    struct tkey *only_b[] = {&B};
    see(z, only_b, 1, only_b, 1, T0 + 349);
    ASSERT_EQ(state_of(z, &A), DR_ANCHOR_REVOKED);
    ch = see(z, only_b, 1, only_b, 1, T0 + 350);
    ASSERT_EQ(ch.removed, 1);
    ASSERT_EQ(state_of(z, &A), DR_ANCHOR_REMOVED);
    /* the old key, unrevoked (A.rr), shows up again: it stays removed */
    struct tkey *aub[] = {&A, &B};
    ch = see(z, aub, 2, only_b, 1, T0 + 400);
    ASSERT_EQ(ch.added, 0);
    ASSERT_EQ(state_of(z, &A), DR_ANCHOR_REMOVED);
    ASSERT_EQ(trusted_count(z), 1);
    ldns_rr_free(Ar.rr);
    tkey_free(&A);
    tkey_free(&B);
    dr_anchors_deinit(&a);
}

static void
test_revoked_key_not_signed_by_itself_is_ignored(void)
{
    struct tkey A = tkey_new("test."), B = tkey_new("test.");
    struct dr_anchors a;
    zone_trusting(&a, &A, "norevoke.key");
    struct dr_anchor_zone *z = &a.zones[0];
    struct tkey *ab[] = {&A, &B}, *sa[] = {&A};
    see(z, ab, 2, sa, 1, T0);
    see(z, ab, 2, sa, 1, T0 + 100);
    /* A appears revoked, but only B signed the set: anyone could publish that */
    struct tkey Ar = tkey_revoke(&A);
    struct tkey *arb[] = {&Ar, &B}, *sb[] = {&B};
    struct dr_anchor_changes ch = see(z, arb, 2, sb, 1, T0 + 150);
    ASSERT_EQ(ch.revoked, 0);
    ASSERT_EQ(ch.ignored, 1);
    ASSERT_EQ(state_of(z, &A), DR_ANCHOR_VALID);
    ASSERT_EQ(trusted_count(z), 2);
    /* nor a self-signature made at a time it was not valid (the clock is a parameter) */
    struct tkey *sarb[] = {&Ar, &B};
    struct tset s = tset_make(arb, 2, sarb, 2);
    ASSERT_EQ(dr_anchor_update(z, s.keys, s.sigs, 60, T0 + 400 * 86400, &timing, &ch), 0);
    ASSERT_EQ(ch.revoked, 0);
    ASSERT_EQ(state_of(z, &A), DR_ANCHOR_VALID);
    /* and the real thing works */
    ASSERT_EQ(dr_anchor_update(z, s.keys, s.sigs, 60, T0 + 200, &timing, &ch), 0);
    ASSERT_EQ(ch.revoked, 1);
    ASSERT_EQ(state_of(z, &A), DR_ANCHOR_REVOKED);
    tset_free(&s);
    ldns_rr_free(Ar.rr);
    tkey_free(&A);
    tkey_free(&B);
    dr_anchors_deinit(&a);
}

static void
test_restart_keeps_the_state(void)
{
    struct tkey A = tkey_new("test."), B = tkey_new("test."), C = tkey_new("test.");
    struct dr_anchors a;
    zone_trusting(&a, &A, "restart.key");
    struct dr_anchor_zone *z = &a.zones[0];
    struct tkey *abc[] = {&A, &B, &C}, *sa[] = {&A};
    see(z, abc, 3, sa, 1, T0);
    see(z, abc, 3, sa, 1, T0 + 100); /* B and C valid */
    struct tkey *ab[] = {&A, &B};
    see(z, ab, 2, sa, 1, T0 + 120); /* C missing */
    struct tkey D = tkey_new("test.");
    struct tkey *abd[] = {&A, &B, &D};
    see(z, abd, 3, sa, 1, T0 + 130); /* D pending since T0+130; C still missing */
    ASSERT_EQ(state_of(z, &C), DR_ANCHOR_MISSING);
    ASSERT_EQ(state_of(z, &D), DR_ANCHOR_ADDPEND);
    const char *p = z->file;
    ASSERT_EQ(dr_anchor_write(z, p), 0);
    /* no temp file is left next to it */
    char tmp[600];
    snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", p, (long)getpid());
    ASSERT_NE(access(tmp, F_OK), 0);

    struct dr_anchors b;
    struct dc_conf_errors errs = {0};
    dr_anchors_init(&b);
    if (dr_anchors_load_auto(&b, p, &errs) != 0) {
        dc_conf_errors_print(&errs, stderr);
        TEST_FAIL("the written state does not load");
    }
    struct dr_anchor_zone *y = &b.zones[0];
    ASSERT_EQ(y->nkeys, z->nkeys);
    for (size_t i = 0; i < z->nkeys; i++) {
        ASSERT_EQ(ldns_rr_compare(y->keys[i].rr, z->keys[i].rr), 0);
        ASSERT_EQ(y->keys[i].state, z->keys[i].state);
        ASSERT_EQ(y->keys[i].count, z->keys[i].count);
        ASSERT_EQ(y->keys[i].last_change, z->keys[i].last_change);
    }
    ASSERT_EQ(y->last_success, T0 + 130);
    ASSERT_EQ(y->next_probe, z->next_probe);
    ASSERT_EQ(y->query_interval, z->query_interval);
    ASSERT_EQ(y->retry_time, z->retry_time);
    /* the hold-down that started before the restart ends on time after it */
    see(y, abd, 3, sa, 1, T0 + 229);
    ASSERT_EQ(state_of(y, &D), DR_ANCHOR_ADDPEND);
    see(y, abd, 3, sa, 1, T0 + 230);
    ASSERT_EQ(state_of(y, &D), DR_ANCHOR_VALID);
    ASSERT_EQ(state_of(y, &C), DR_ANCHOR_MISSING);

    /* a directory that does not exist: an error, nothing written */
    ASSERT_EQ(dr_anchor_write(z, path_in_dir("no/such/dir/x.key")), -ENOENT);
    dr_anchors_deinit(&a);
    dr_anchors_deinit(&b);
    tkey_free(&A);
    tkey_free(&B);
    tkey_free(&C);
    tkey_free(&D);
}

static void
test_ds_anchor_becomes_its_dnskey(void)
{
    struct tkey A = tkey_new("test."), B = tkey_new("test.");
    ldns_rr *ds = ldns_key_rr2ds(A.rr, LDNS_SHA256);
    char *s = ldns_rr2str(ds);
    const char *p = write_file("ds.key", s);
    free(s);
    ldns_rr_free(ds);
    struct dr_anchors a;
    struct dc_conf_errors errs = {0};
    dr_anchors_init(&a);
    ASSERT_EQ(dr_anchors_load_auto(&a, p, &errs), 0);
    struct dr_anchor_zone *z = &a.zones[0];
    ASSERT_EQ(ldns_rr_get_type(z->keys[0].rr), LDNS_RR_TYPE_DS);
    struct tkey *ab[] = {&A, &B}, *sa[] = {&A};
    struct dr_anchor_changes ch = see(z, ab, 2, sa, 1, T0);
    ASSERT_EQ(ch.valid, 1);
    ASSERT_EQ(ch.added, 1); /* B: a new key, pending */
    ASSERT_EQ(state_of(z, &A), DR_ANCHOR_VALID);
    ASSERT_EQ(ldns_rr_get_type(z->keys[0].rr), LDNS_RR_TYPE_DNSKEY);
    ASSERT_EQ(state_of(z, &B), DR_ANCHOR_ADDPEND);
    ASSERT_EQ(z->nkeys, 2);
    dr_anchors_deinit(&a);
    tkey_free(&A);
    tkey_free(&B);
}

static void
test_update_rejects_a_foreign_or_empty_set(void)
{
    struct tkey A = tkey_new("test."), X = tkey_new("other.");
    struct dr_anchors a;
    zone_trusting(&a, &A, "foreign.key");
    struct dr_anchor_zone *z = &a.zones[0];
    struct tkey *x[] = {&X};
    struct tset s = tset_make(x, 1, x, 1);
    ASSERT_EQ(dr_anchor_update(z, s.keys, s.sigs, 60, T0, &timing, NULL), -EINVAL);
    ldns_rr_list *empty = ldns_rr_list_new();
    ASSERT_EQ(dr_anchor_update(z, empty, NULL, 60, T0, &timing, NULL), -EINVAL);
    ASSERT_EQ(z->nkeys, 1);
    ASSERT_EQ(z->last_success, 0);
    ldns_rr_list_free(empty);
    tset_free(&s);
    dr_anchors_deinit(&a);
    tkey_free(&A);
    tkey_free(&X);
}

static void
test_query_interval_and_retry_follow_rfc5011_2_3(void)
{
    struct dr_anchor_timing t;
    dr_anchor_timing_default(&t);
    ASSERT_EQ(t.add_holddown, 30 * 86400);
    ASSERT_EQ(t.remove_holddown, 30 * 86400);
    /* root: TTL 2 days, signatures 10 days: half the TTL */
    ASSERT_EQ(dr_anchor_query_interval(172800, 10 * 86400, &t), 86400);
    /* signatures about to expire: half of that, but at least an hour */
    ASSERT_EQ(dr_anchor_query_interval(172800, 4 * 3600, &t), 2 * 3600);
    ASSERT_EQ(dr_anchor_query_interval(60, 60, &t), 3600);
    /* a huge TTL: at most 15 days */
    ASSERT_EQ(dr_anchor_query_interval(100 * 86400, 100 * 86400, &t), 15 * 86400);
    ASSERT_EQ(dr_anchor_retry_time(172800, 10 * 86400, &t), 17280);
    ASSERT_EQ(dr_anchor_retry_time(100 * 86400, 100 * 86400, &t), 86400);
    ASSERT_EQ(dr_anchor_retry_time(60, 60, &t), 3600);

    struct dr_anchor_zone z = {0};
    z.retry_time = 7200;
    dr_anchor_probe_failed(&z, 1000, &t);
    ASSERT_EQ(z.query_failed, 1);
    ASSERT_EQ(z.next_probe, 1000 + 7200);
    ASSERT_EQ(z.last_queried, 1000);
}

int
main(void)
{
    ASSERT_NOT_NULL(mkdtemp(dir));
    T0 = time(NULL);
    dr_anchor_timing_default(&timing);
    timing.add_holddown = 100;
    timing.remove_holddown = 200;
    timing.min_interval = 1;

    TEST_RUN(test_shipped_root_key_has_the_iana_ksks);
    TEST_RUN(test_unbound_autotrust_file_is_read_with_its_states);
    TEST_RUN(test_static_file_takes_ds_and_dnskey_in_zone_file_syntax);
    TEST_RUN(test_static_file_errors_name_file_and_line);
    TEST_RUN(test_corrupt_state_file_is_a_clear_error);
    TEST_RUN(test_domain_insecure_below_an_anchor_wins_above_it_does_not);
    TEST_RUN(test_new_key_waits_out_the_add_holddown);
    TEST_RUN(test_pending_key_that_disappears_is_forgotten);
    TEST_RUN(test_add_holddown_is_at_least_the_original_ttl);
    TEST_RUN(test_valid_key_missing_stays_trusted_and_comes_back);
    TEST_RUN(test_ksk_roll_old_key_revoked_by_itself_then_removed);
    TEST_RUN(test_revoked_key_not_signed_by_itself_is_ignored);
    TEST_RUN(test_restart_keeps_the_state);
    TEST_RUN(test_ds_anchor_becomes_its_dnskey);
    TEST_RUN(test_update_rejects_a_foreign_or_empty_set);
    TEST_RUN(test_query_interval_and_retry_follow_rfc5011_2_3);

    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return 0;
}
