/* Unit tests for resolver/anchor.c: the set of trust anchors and its lookups. */
#include "resolver/anchor.h"
#include "resolver/anchorfile.h"

#include <errno.h>
#include <unistd.h>

#include "test.h"

static char dir[] = "/tmp/duet-test-anchor-XXXXXX";

#include "anchor_test.h"

static const char *KEY_A =
    "AwEAAagAIKlVZrpC6Ia7gEzahOR+9W29euxhJhVVLOyQbSEW0O8gcCjFFVQUTf6v58fLjwBd0YI0"
    "EzrAcQqBGCzh/RStIoO8g0NfnfL2MTJRkxoXbfDaUeVPQuYEhg37NZWAJQ9VnMVDxP/VHL49"
    "6M/QZxkjf5/Efucp2gaDX6RS6CXpoY68LsvPVjR0ZSwzz1apAzvN9dlzEheX7ICJBBtuA6G3"
    "LQpzW5hOA2hzCTMjJPJ8LbqF6dsV6DoBQzgul0sGIcGOYl7OyQdXfZ57relSQageu+ipAdTT"
    "J25AsRTAoub8ONGcLmqrAmRLKBP1dfwhYB4N7knNnulqQxA+Uk1ihz0=";

static void
test_domain_insecure_below_an_anchor_wins_above_it_does_not(void)
{
    struct dr_anchors a;
    struct dc_conf_errors errs = {0};
    dr_anchors_init(&a);
    char text[1024];
    snprintf(text, sizeof(text), ". IN DNSKEY 257 3 8 %s\nsec.corp. IN DNSKEY 257 3 8 %s\n", KEY_A,
             KEY_A);
    ASSERT_EQ(dr_anchorfile_load(&a, write_file("two.key", text), &errs), 0);
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

static ldns_rr *
rr(const char *text)
{
    ldns_rr *r = NULL;
    ASSERT_EQ(ldns_rr_new_frm_str(&r, text, 3600, NULL, NULL), LDNS_STATUS_OK);
    return r;
}

static void
test_a_revoked_key_is_the_same_key_with_the_revoke_bit(void)
{
    char text[1024];
    snprintf(text, sizeof(text), ". IN DNSKEY 257 3 8 %s", KEY_A);
    ldns_rr *k = rr(text);
    snprintf(text, sizeof(text), ". IN DNSKEY 385 3 8 %s", KEY_A); /* 257 | REVOKE */
    ldns_rr *r = rr(text);
    snprintf(text, sizeof(text), ". IN DNSKEY 256 3 8 %s", KEY_A); /* a ZSK: another key */
    ldns_rr *z = rr(text);
    ldns_rr *ds = rr(". IN DS 20326 8 2 "
                     "e06d44b80b8f1d39a95c0b0d7c65d08458e880409bbc683457104237c7f8ec8d");
    ASSERT(dr_anchor_rr_is_key(k));
    ASSERT(!dr_anchor_rr_is_key(ds));
    ASSERT_EQ(dr_anchor_key_flags(k), 257);
    ASSERT_EQ(dr_anchor_key_flags(k) & DR_ANCHOR_KEY_SEP, DR_ANCHOR_KEY_SEP);
    ASSERT(!dr_anchor_key_revoked(k));
    ASSERT(dr_anchor_key_revoked(r));
    ASSERT(dr_anchor_key_same(k, r));
    ASSERT(dr_anchor_key_same(r, k));
    ASSERT(!dr_anchor_key_same(k, z));
    ASSERT(!dr_anchor_key_same(k, ds));
    ldns_rr_free(k);
    ldns_rr_free(r);
    ldns_rr_free(z);
    ldns_rr_free(ds);
}

static void
test_zones_and_keys_are_added_found_taken_and_dropped(void)
{
    struct dr_anchors a;
    dr_anchors_init(&a);
    ldns_rdf *n = dname("Example.");
    struct dr_anchor_zone *z = dr_anchors_zone_add(&a, n);
    ASSERT_NOT_NULL(z);
    ASSERT_EQ(a.nzones, 1);
    char *o = ldns_rdf2str(z->owner);
    ASSERT_STR_EQ(o, "example."); /* stored lower case */
    free(o);
    ldns_rdf_deep_free(n);
    n = dname("EXAMPLE.");
    ASSERT(dr_anchors_zone_find(&a, n) == &a.zones[0]);
    ldns_rdf_deep_free(n);
    n = dname("www.example.");
    ASSERT_NULL(dr_anchors_zone_find(&a, n)); /* exact owner only */
    ldns_rdf_deep_free(n);

    /* keys keep their order; dropping one closes the gap */
    const char *ds[] = {"example. IN DS 1 8 2 00", "example. IN DS 2 8 2 00",
                        "example. IN DS 3 8 2 00"};
    for (size_t i = 0; i < 3; i++)
        ASSERT_EQ(dr_anchor_key_add(z, rr(ds[i]), DR_ANCHOR_VALID, (uint32_t)i, 7), 0);
    ASSERT_EQ(z->nkeys, 3);
    dr_anchor_key_drop(z, 1);
    ASSERT_EQ(z->nkeys, 2);
    ASSERT_EQ(ldns_rdf2native_int16(ldns_rr_rdf(z->keys[0].rr, 0)), 1);
    ASSERT_EQ(ldns_rdf2native_int16(ldns_rr_rdf(z->keys[1].rr, 0)), 3);
    ASSERT_EQ(z->keys[1].count, 2);
    ASSERT_EQ(z->keys[1].last_change, 7);

    /* a trust point built outside the set moves in whole */
    struct dr_anchor_zone t = {0};
    t.owner = dname("org.");
    ASSERT_EQ(dr_anchor_key_add(&t, rr("org. IN DS 4 8 2 00"), DR_ANCHOR_MISSING, 0, 0), 0);
    ASSERT_EQ(dr_anchors_zone_take(&a, &t), 0);
    ASSERT_NULL(t.owner);
    ASSERT_EQ(t.nkeys, 0);
    ASSERT_EQ(a.nzones, 2);
    n = dname("org.");
    ASSERT(dr_anchors_zone_find(&a, n) == &a.zones[1]);
    ldns_rdf_deep_free(n);
    ASSERT_EQ(a.zones[1].keys[0].state, DR_ANCHOR_MISSING);
    ldns_rr_list *l = ldns_rr_list_new();
    ASSERT_EQ(dr_anchor_trusted(&a.zones[1], l), 1); /* MISSING is still trusted */
    ldns_rr_list_deep_free(l);

    dr_anchor_zone_deinit(&a.zones[0]);
    ASSERT_NULL(a.zones[0].owner);
    ASSERT_EQ(a.zones[0].nkeys, 0);
    dr_anchors_deinit(&a); /* a deinited zone in the set is freed again harmlessly */
}

int
main(void)
{
    ASSERT_NOT_NULL(mkdtemp(dir));

    TEST_RUN(test_domain_insecure_below_an_anchor_wins_above_it_does_not);
    TEST_RUN(test_a_revoked_key_is_the_same_key_with_the_revoke_bit);
    TEST_RUN(test_zones_and_keys_are_added_found_taken_and_dropped);

    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return 0;
}
