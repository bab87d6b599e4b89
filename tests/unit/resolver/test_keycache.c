/* Unit tests for resolver/keycache.c on the signed alg13.test. of data/dnssec_zones.h (its
 * DNSKEY set: TTL 3600, RRSIGs expiring at DNSSEC_ZONES_EXPIRATION): what is kept, for how
 * long, under which trust serial, which zone a lookup finds, and what a flush removes. */
#include "resolver/keycache.h"

#include "dnssec_test.h"

static ldns_rr_list *zone, *keys, *sigs;
static const int64_t NOW = T_VALID;

/* The RRSIGs over the DNSKEY set as if owner owned them (only their owner and expiration
 * matter here: the key cache keeps what the validator already checked). */
static ldns_rr_list *
sigs_of(const char *owner)
{
    ldns_rr_list *l = ldns_rr_list_clone(sigs);
    for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
        ldns_rr *rr = ldns_rr_list_rr(l, i);
        ldns_rdf_deep_free(ldns_rr_owner(rr));
        ldns_rr_set_owner(rr, ldns_dname_new_frm_str(owner));
    }
    return l;
}

static int
put_sub(struct dc_lru *t)
{
    ldns_rr_list *s = sigs_of("sub.alg13.test.");
    int rc = dr_keycache_put(t, 1, N("sub.alg13.test."), keys, s, NOW);
    ldns_rr_list_deep_free(s);
    return rc;
}

static struct dc_lru *
table(void)
{
    struct dc_lru *t = dc_lru_new(1 << 20, 1);
    ASSERT_NOT_NULL(t);
    return t;
}

/* Whether the keys are found for target under the root anchor (in want_zone, checked). */
static bool
finds(struct dc_lru *t, uint64_t trust, const char *target, int64_t now, const char *want_zone)
{
    uint8_t z[DR_NAME_MAX];
    ldns_rr_list *got = dr_keycache_find(t, trust, N(target), N("."), now, z);
    if (got == NULL)
        return false;
    ASSERT_EQ(ldns_rr_list_rr_count(got), ldns_rr_list_rr_count(keys));
    for (size_t i = 0; i < ldns_rr_list_rr_count(got); i++)
        ASSERT_EQ(ldns_rr_compare(ldns_rr_list_rr(got, i), ldns_rr_list_rr(keys, i)), 0);
    ASSERT(dr_dname_equal(z, N(want_zone)));
    ldns_rr_list_deep_free(got);
    return true;
}

static void
test_put_and_find(void)
{
    struct dc_lru *t = table();
    ASSERT_EQ(dr_keycache_put(t, 1, N("alg13.test."), keys, sigs, NOW), 0);
    /* the zone itself, any name below it; not above it, nor beside it */
    ASSERT(finds(t, 1, "alg13.test.", NOW, "alg13.test."));
    ASSERT(finds(t, 1, "a.b.c.alg13.test.", NOW, "alg13.test."));
    ASSERT(!finds(t, 1, "test.", NOW, NULL));
    ASSERT(!finds(t, 1, "other.test.", NOW, NULL));
    /* not under another configuration's anchors */
    ASSERT(!finds(t, 2, "www.alg13.test.", NOW, NULL));
    /* not when the anchor is below the zone */
    uint8_t z[DR_NAME_MAX];
    ASSERT_NULL(dr_keycache_find(t, 1, N("a.b.alg13.test."), N("b.alg13.test."), NOW, z));
    dc_lru_free(t);
}

static void
test_deepest_zone_wins(void)
{
    struct dc_lru *t = table();
    ASSERT_EQ(dr_keycache_put(t, 1, N("alg13.test."), keys, sigs, NOW), 0);
    ASSERT_EQ(put_sub(t), 0);
    ASSERT(finds(t, 1, "www.sub.alg13.test.", NOW, "sub.alg13.test."));
    ASSERT(finds(t, 1, "www.alg13.test.", NOW, "alg13.test."));
    dc_lru_free(t);
}

static void
test_lifetime(void)
{
    struct dc_lru *t = table();
    ASSERT_EQ(dr_keycache_put(t, 1, N("alg13.test."), keys, sigs, NOW), 0);
    /* the set's TTL (3600) */
    ASSERT(finds(t, 1, "alg13.test.", NOW + 3599, "alg13.test."));
    ASSERT(!finds(t, 1, "alg13.test.", NOW + 3600, NULL));
    /* the RRSIGs' expiration, when that comes first */
    int64_t near = DNSSEC_ZONES_EXPIRATION - 100;
    ASSERT_EQ(dr_keycache_put(t, 1, N("alg13.test."), keys, sigs, near), 0);
    ASSERT(finds(t, 1, "alg13.test.", near + 99, "alg13.test."));
    ASSERT(!finds(t, 1, "alg13.test.", near + 100, NULL));
    /* expired signatures, or none at all: not kept */
    ASSERT_EQ(dr_keycache_put(t, 1, N("alg13.test."), keys, sigs, DNSSEC_ZONES_EXPIRATION), 1);
    ldns_rr_list *none = ldns_rr_list_new();
    ASSERT_EQ(dr_keycache_put(t, 1, N("alg13.test."), keys, none, NOW), 1);
    /* RRSIGs over other types or owners do not count */
    ldns_rr_list *soa_sigs = pick(zone, "alg13.test.", LDNS_RR_TYPE_RRSIG, LDNS_RR_TYPE_SOA);
    ASSERT_EQ(dr_keycache_put(t, 1, N("alg13.test."), keys, soa_sigs, NOW), 1);
    ASSERT_EQ(dr_keycache_put(t, 1, N("other.test."), keys, sigs, NOW), 1);
    ASSERT(!finds(t, 1, "alg13.test.", NOW, NULL));
    ldns_rr_list_free(none);
    ldns_rr_list_deep_free(soa_sigs);
    dc_lru_free(t);
}

static void
test_bounds(void)
{
    struct dc_lru *t = table();
    ldns_rr_list *many = ldns_rr_list_new();
    for (int i = 0; i <= DR_KEYCACHE_MAX_KEYS; i++)
        ldns_rr_list_push_rr(many, ldns_rr_clone(ldns_rr_list_rr(keys, 0)));
    ASSERT_EQ(dr_keycache_put(t, 1, N("alg13.test."), many, sigs, NOW), 1);
    ldns_rr_list *empty = ldns_rr_list_new();
    ASSERT_EQ(dr_keycache_put(t, 1, N("alg13.test."), empty, sigs, NOW), 1);
    ASSERT_EQ(dr_keycache_put(NULL, 1, N("alg13.test."), keys, sigs, NOW), 1);
    uint8_t z[DR_NAME_MAX];
    ASSERT_NULL(dr_keycache_find(NULL, 1, N("alg13.test."), N("."), NOW, z));
    ASSERT(!finds(t, 1, "alg13.test.", NOW, NULL));
    ldns_rr_list_deep_free(many);
    ldns_rr_list_free(empty);
    dc_lru_free(t);
}

static void
test_flush(void)
{
    struct dc_lru *t = table();
    ASSERT_EQ(dr_keycache_put(t, 1, N("alg13.test."), keys, sigs, NOW), 0);
    ASSERT_EQ(put_sub(t), 0);
    ASSERT_EQ(dr_keycache_put(t, 1, N("other.test."), keys, sigs, NOW), 1); /* not its sigs */
    /* a name that is no zone here, then the zone alone */
    ASSERT_EQ(dr_keycache_flush(t, N("www.alg13.test."), false), 0);
    ASSERT_EQ(dr_keycache_flush(t, N("sub.alg13.test."), false), 1);
    ASSERT(finds(t, 1, "www.sub.alg13.test.", NOW, "alg13.test."));
    /* a subtree above it */
    ASSERT_EQ(put_sub(t), 0);
    ASSERT_EQ(dr_keycache_flush(t, N("test."), true), 2);
    ASSERT(!finds(t, 1, "www.sub.alg13.test.", NOW, NULL));
    /* everything */
    ASSERT_EQ(dr_keycache_put(t, 1, N("alg13.test."), keys, sigs, NOW), 0);
    ASSERT_EQ(dr_keycache_flush(t, NULL, false), 1);
    ASSERT_EQ(dr_keycache_flush(NULL, NULL, false), 0);
    dc_lru_free(t);
}

int
main(void)
{
    zone = zone_parse(alg13_zone);
    keys = pick(zone, "alg13.test.", LDNS_RR_TYPE_DNSKEY, 0);
    sigs = pick(zone, "alg13.test.", LDNS_RR_TYPE_RRSIG, LDNS_RR_TYPE_DNSKEY);
    ASSERT_EQ(ldns_rr_list_rr_count(keys), 2);
    ASSERT(ldns_rr_list_rr_count(sigs) >= 1);
    TEST_RUN(test_put_and_find);
    TEST_RUN(test_deepest_zone_wins);
    TEST_RUN(test_lifetime);
    TEST_RUN(test_bounds);
    TEST_RUN(test_flush);
    ldns_rr_list_deep_free(keys);
    ldns_rr_list_deep_free(sigs);
    ldns_rr_list_deep_free(zone);
    return 0;
}
