/* Unit tests for resolver/dnskey.c: key tags, DS matching (digests 2 and 4, unsupported
 * ones), secure entry points and the DNSKEY RRset step, on zones signed by ldns-signzone
 * for every supported algorithm (data/dnssec_zones.h). */
#include "resolver/dnskey.h"

#include <errno.h>

#include "dnssec_test.h"

static const struct {
    const char *zone, *ds, *origin;
} zones[] = {
    {alg8_zone, alg8_ds, "alg8.test."},    {alg10_zone, alg10_ds, "alg10.test."},
    {alg13_zone, alg13_ds, "alg13.test."}, {alg14_zone, alg14_ds, "alg14.test."},
    {alg15_zone, alg15_ds, "alg15.test."}, {alg16_zone, alg16_ds, "alg16.test."},
};
#define NZONES (sizeof(zones) / sizeof(zones[0]))

static void
test_key_tags(void)
{
    for (size_t z = 0; z < NZONES; z++) {
        ldns_rr_list *zone = zone_parse(zones[z].zone);
        ldns_rr_list *keys = pick_type(zone, LDNS_RR_TYPE_DNSKEY);
        ASSERT_EQ(ldns_rr_list_rr_count(keys), 2);
        for (size_t i = 0; i < 2; i++) {
            ldns_rr *k = ldns_rr_list_rr(keys, i);
            ASSERT_EQ(dr_dnskey_tag(k), ldns_calc_keytag(k));
            ASSERT(dr_dnskey_usable(k));
        }
        ldns_rr_list_deep_free(keys);
        ldns_rr_list_deep_free(zone);
    }
    /* RFC 4034 Appendix B: the revoke bit changes the tag (RFC 5011 §2.1 adds 128). */
    ldns_rr *k = rr_from("example. 3600 IN DNSKEY 257 3 15 "
                         "l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=");
    int tag = dr_dnskey_tag(k);
    ASSERT_EQ(tag, ldns_calc_keytag(k));
    ldns_rdf_data(ldns_rr_rdf(k, 0))[1] |= DR_DNSKEY_REVOKE;
    ASSERT_EQ(dr_dnskey_tag(k), (tag + 128) & 0xffff);
    ASSERT(!dr_dnskey_usable(k));
    ldns_rr_free(k);
    /* Protocol other than 3; not a DNSKEY. */
    k = rr_from("example. 3600 IN DNSKEY 257 2 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=");
    ASSERT(!dr_dnskey_usable(k));
    ldns_rr_free(k);
    k = rr_from("example. 3600 IN A 192.0.2.1");
    ASSERT_EQ(dr_dnskey_tag(k), -EINVAL);
    ASSERT(!dr_dnskey_usable(k));
    ldns_rr_free(k);
}

/* The KSK and the ZSK of a zone, in that order. */
static void
ksk_zsk(ldns_rr_list *keys, ldns_rr **ksk, ldns_rr **zsk)
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(keys); i++) {
        struct dr_dnskey dk;
        ASSERT_EQ(dr_dnskey_parse(ldns_rr_list_rr(keys, i), &dk), 0);
        if (dk.flags & DR_DNSKEY_SEP)
            *ksk = ldns_rr_list_rr(keys, i);
        else
            *zsk = ldns_rr_list_rr(keys, i);
    }
}

static void
test_match_ds(void)
{
    for (size_t z = 0; z < NZONES; z++) {
        ldns_rr_list *zone = zone_parse(zones[z].zone), *ds = zone_parse(zones[z].ds);
        ldns_rr_list *keys = pick_type(zone, LDNS_RR_TYPE_DNSKEY);
        ldns_rr *ksk = NULL, *zsk = NULL;
        ksk_zsk(keys, &ksk, &zsk);
        ASSERT_EQ(ldns_rr_list_rr_count(ds), 2); /* digest 2 and 4 */
        for (size_t i = 0; i < 2; i++) {
            ldns_rr *d = ldns_rr_list_rr(ds, i);
            ASSERT_EQ(dr_dnskey_match_ds(ksk, d), 1);
            ASSERT_EQ(dr_dnskey_match_ds(zsk, d), 0);
            /* Owner case does not matter. */
            ldns_rdf_data(ldns_rr_owner(d))[1] ^= 0x20;
            ASSERT_EQ(dr_dnskey_match_ds(ksk, d), 1);
            /* A changed digest byte. */
            ldns_rdf *g = ldns_rr_rdf(d, 3);
            ldns_rdf_data(g)[5] ^= 1;
            ASSERT_EQ(dr_dnskey_match_ds(ksk, d), 0);
            ldns_rdf_data(g)[5] ^= 1;
        }
        /* SHA-1 (digest 1, made by ldns) and an unknown digest: unsupported. */
        ldns_rr *sha1 = ldns_key_rr2ds(ksk, LDNS_SHA1);
        ASSERT_EQ(dr_dnskey_match_ds(ksk, sha1), -ENOTSUP);
        ldns_rdf_data(ldns_rr_rdf(sha1, 2))[0] = 99;
        ASSERT_EQ(dr_dnskey_match_ds(ksk, sha1), -ENOTSUP);
        ldns_rr_free(sha1);
        /* A DS for another zone's key. */
        ldns_rr_list *other = zone_parse(zones[(z + 1) % NZONES].ds);
        ASSERT_EQ(dr_dnskey_match_ds(ksk, ldns_rr_list_rr(other, 0)), 0);
        ldns_rr_list_deep_free(other);
        ldns_rr_list_deep_free(keys);
        ldns_rr_list_deep_free(ds);
        ldns_rr_list_deep_free(zone);
    }
}

static void
test_sep_selection(void)
{
    ldns_rr_list *zone = zone_parse(alg13_zone), *ds = zone_parse(alg13_ds);
    ldns_rr_list *keys = pick_type(zone, LDNS_RR_TYPE_DNSKEY);
    ldns_rr *ksk = NULL, *zsk = NULL;
    ksk_zsk(keys, &ksk, &zsk);
    ldns_rr_list *sep = NULL;
    enum dr_why why;
    ASSERT_EQ(dr_dnskey_sep(keys, ds, &sep, &why), DR_SEC_SECURE);
    ASSERT_EQ(ldns_rr_list_rr_count(sep), 1); /* both DS point at the KSK: once */
    ASSERT(ldns_rr_list_rr(sep, 0) == ksk);
    ldns_rr_list_free(sep);

    /* Only digest 4 (SHA-384). */
    ldns_rr_list *ds4 = ldns_rr_list_new();
    ldns_rr_list_push_rr(ds4, ldns_rr_clone(ldns_rr_list_rr(ds, 1)));
    ASSERT_EQ(ldns_rdf_data(ldns_rr_rdf(ldns_rr_list_rr(ds4, 0), 2))[0], 4);
    ASSERT_EQ(dr_dnskey_sep(keys, ds4, &sep, &why), DR_SEC_SECURE);
    ldns_rr_list_free(sep);

    /* Only SHA-1 and unknown digests: insecure, EDE 2. */
    ldns_rr_list *weak = ldns_rr_list_new();
    ldns_rr_list_push_rr(weak, ldns_key_rr2ds(ksk, LDNS_SHA1));
    ldns_rr_list_push_rr(weak, ldns_rr_clone(ldns_rr_list_rr(ds, 0)));
    ldns_rdf_data(ldns_rr_rdf(ldns_rr_list_rr(weak, 1), 2))[0] = 200;
    ASSERT_EQ(dr_dnskey_sep(keys, weak, &sep, &why), DR_SEC_INSECURE);
    ASSERT_NULL(sep);
    ASSERT_EQ(why, DR_WHY_UNSUPPORTED_DIGEST);
    ASSERT_EQ(dr_dnssec_ede(DR_SEC_INSECURE, why), 2);
    /* A supported digest of an unsupported algorithm: insecure, EDE 1. */
    ldns_rdf_data(ldns_rr_rdf(ldns_rr_list_rr(weak, 1), 2))[0] = 2;
    ldns_rdf_data(ldns_rr_rdf(ldns_rr_list_rr(weak, 1), 1))[0] = 7;
    ASSERT_EQ(dr_dnskey_sep(keys, weak, &sep, &why), DR_SEC_INSECURE);
    ASSERT_EQ(why, DR_WHY_UNSUPPORTED_ALG);
    ASSERT_EQ(dr_dnssec_ede(DR_SEC_INSECURE, why), 1);
    /* ... but next to a supported DS that matches, the unsupported one is ignored. */
    ldns_rr_list_push_rr(weak, ldns_rr_clone(ldns_rr_list_rr(ds, 0)));
    ASSERT_EQ(dr_dnskey_sep(keys, weak, &sep, &why), DR_SEC_SECURE);
    ldns_rr_list_free(sep);

    /* A supported DS matching no key: bogus, EDE 9 (a stripped or rolled key). */
    ldns_rr_list *nomatch =
        zone_parse("alg13.test. 3600 IN DS 12345 13 2 "
                   "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n");
    ASSERT_EQ(dr_dnskey_sep(keys, nomatch, &sep, &why), DR_SEC_BOGUS);
    ASSERT_NULL(sep);
    ASSERT_EQ(why, DR_WHY_NO_DS_MATCH);
    ASSERT_EQ(dr_dnssec_ede(DR_SEC_BOGUS, why), 9);
    /* The matching key revoked (its tag moves, and it may not be used anyway). */
    ldns_rdf_data(ldns_rr_rdf(ksk, 0))[1] |= DR_DNSKEY_REVOKE;
    ASSERT_EQ(dr_dnskey_sep(keys, ds, &sep, &why), DR_SEC_BOGUS);
    ldns_rdf_data(ldns_rr_rdf(ksk, 0))[1] &= (uint8_t)~DR_DNSKEY_REVOKE;
    /* No DS at all is not a chain either. */
    ldns_rr_list *empty = ldns_rr_list_new();
    ASSERT_EQ(dr_dnskey_sep(keys, empty, &sep, &why), DR_SEC_BOGUS);
    ldns_rr_list_free(empty);
    ldns_rr_list_deep_free(nomatch);
    ldns_rr_list_deep_free(weak);
    ldns_rr_list_deep_free(ds4);
    ldns_rr_list_deep_free(keys);
    ldns_rr_list_deep_free(ds);
    ldns_rr_list_deep_free(zone);
}

static void
test_verify_set(void)
{
    enum dr_why why;
    for (size_t z = 0; z < NZONES; z++) {
        ldns_rr_list *zone = zone_parse(zones[z].zone), *ds = zone_parse(zones[z].ds);
        ldns_rr_list *keys = pick(zone, zones[z].origin, LDNS_RR_TYPE_DNSKEY, 0);
        ldns_rr_list *sigs = pick(zone, zones[z].origin, LDNS_RR_TYPE_RRSIG, LDNS_RR_TYPE_DNSKEY);
        ASSERT_EQ(dr_dnskey_verify_set(keys, sigs, ds, T_VALID, 0, &why), DR_SEC_SECURE);
        ASSERT_EQ(why, DR_WHY_NONE);
        ASSERT_EQ(dr_dnskey_verify_set(keys, sigs, ds, DNSSEC_ZONES_EXPIRATION + 3600, 0, &why),
                  DR_SEC_BOGUS);
        ASSERT_EQ(why, DR_WHY_SIG_EXPIRED);
        /* Another zone's DS. */
        ldns_rr_list *other = zone_parse(zones[(z + 1) % NZONES].ds);
        ASSERT_EQ(dr_dnskey_verify_set(keys, sigs, other, T_VALID, 0, &why), DR_SEC_BOGUS);
        ASSERT_EQ(why, DR_WHY_NO_DS_MATCH);
        /* A key slipped into the set: the signature no longer covers it. */
        ldns_rr_list_push_rr(keys, rr_from("alg8.test. 3600 IN DNSKEY 256 3 15 "
                                           "l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4="));
        ldns_rdf_deep_free(ldns_rr_owner(ldns_rr_list_rr(keys, 2)));
        ldns_rr_set_owner(ldns_rr_list_rr(keys, 2), ldns_dname_new_frm_str(zones[z].origin));
        ASSERT_EQ(dr_dnskey_verify_set(keys, sigs, ds, T_VALID, 0, &why), DR_SEC_BOGUS);
        ASSERT_EQ(why, DR_WHY_BAD_SIG);
        /* Without the RRSIGs. */
        ldns_rr_list *none = ldns_rr_list_new();
        ASSERT_EQ(dr_dnskey_verify_set(keys, none, ds, T_VALID, 0, &why), DR_SEC_BOGUS);
        ASSERT_EQ(why, DR_WHY_NO_RRSIG);
        ldns_rr_list_free(none);
        ldns_rr_list_deep_free(other);
        ldns_rr_list_deep_free(sigs);
        ldns_rr_list_deep_free(keys);
        ldns_rr_list_deep_free(ds);
        ldns_rr_list_deep_free(zone);
    }
}

int
main(void)
{
    TEST_RUN(test_key_tags);
    TEST_RUN(test_match_ds);
    TEST_RUN(test_sep_selection);
    TEST_RUN(test_verify_set);
    return 0;
}
