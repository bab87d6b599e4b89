/* Unit tests for resolver/rrsig.c, on zones signed by ldns-signzone for every supported
 * algorithm (data/dnssec_zones.h). */
#include "resolver/rrsig.h"

#include <errno.h>

#include "resolver/dnskey.h"

#include "dnssec_test.h"

static const struct {
    const char *zone_text, *origin;
    int alg;
} zones[] = {
    {alg8_zone, "alg8.test.", 8},    {alg10_zone, "alg10.test.", 10},
    {alg13_zone, "alg13.test.", 13}, {alg14_zone, "alg14.test.", 14},
    {alg15_zone, "alg15.test.", 15}, {alg16_zone, "alg16.test.", 16},
};

static enum dr_sec
verify(const ldns_rr_list *zone, const char *origin, const char *owner, ldns_rr_type type,
       int64_t now, uint32_t skew, struct dr_rrsig_result *res)
{
    uint8_t z[DR_NAME_MAX];
    ldns_rr_list *set = pick(zone, owner, type, 0);
    ldns_rr_list *sigs = pick(zone, owner, LDNS_RR_TYPE_RRSIG, type);
    ldns_rr_list *keys = pick(zone, origin, LDNS_RR_TYPE_DNSKEY, 0);
    enum dr_sec sec = dr_rrsig_verify(set, sigs, keys, name_of(origin, z), now, skew, res);
    ASSERT_EQ(sec, res->sec);
    ldns_rr_list_deep_free(set);
    ldns_rr_list_deep_free(sigs);
    ldns_rr_list_deep_free(keys);
    return sec;
}

/* Every signed RRset of every zone verifies, for each algorithm. */
static void
test_every_algorithm_verifies(void)
{
    for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
        ldns_rr_list *zone = zone_parse(zones[z].zone_text);
        size_t checked = 0;
        for (size_t i = 0; i < ldns_rr_list_rr_count(zone); i++) {
            const ldns_rr *sig = ldns_rr_list_rr(zone, i);
            if (ldns_rr_get_type(sig) != LDNS_RR_TYPE_RRSIG)
                continue;
            char *owner = ldns_rdf2str(ldns_rr_owner(sig));
            ldns_rr_type t = ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(sig));
            struct dr_rrsig_result res;
            enum dr_sec sec = verify(zone, zones[z].origin, owner, t, T_VALID, 0, &res);
            if (sec != DR_SEC_SECURE)
                TEST_FAIL("alg %d %s type %d: %s/%s", zones[z].alg, owner, t, dr_sec_names[sec],
                          dr_why_names[res.why]);
            ASSERT_EQ(ldns_rdf2native_int8(ldns_rr_rrsig_algorithm(sig)), zones[z].alg);
            free(owner);
            checked++;
        }
        ASSERT_GE(checked, 10);
        ldns_rr_list_deep_free(zone);
    }
}

/* A changed record, a changed signature: BAD_SIG. */
static void
test_tampered_data_is_bogus(void)
{
    for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
        uint8_t zn[DR_NAME_MAX];
        char owner[64];
        ldns_rr_list *zone = zone_parse(zones[z].zone_text);
        snprintf(owner, sizeof(owner), "www.%s", zones[z].origin);
        ldns_rr_list *set = pick(zone, owner, LDNS_RR_TYPE_A, 0);
        ldns_rr_list *sigs = pick(zone, owner, LDNS_RR_TYPE_RRSIG, LDNS_RR_TYPE_A);
        ldns_rr_list *keys = pick(zone, zones[z].origin, LDNS_RR_TYPE_DNSKEY, 0);
        name_of(zones[z].origin, zn);
        struct dr_rrsig_result res;
        ASSERT_EQ(dr_rrsig_verify(set, sigs, keys, zn, T_VALID, 0, &res), DR_SEC_SECURE);
        /* 192.0.2.10 -> 192.0.2.99 */
        ldns_rdf *a = ldns_rr_rdf(ldns_rr_list_rr(set, 0), 0);
        uint8_t saved = ldns_rdf_data(a)[3];
        ldns_rdf_data(a)[3] = 99;
        ASSERT_EQ(dr_rrsig_verify(set, sigs, keys, zn, T_VALID, 0, &res), DR_SEC_BOGUS);
        ASSERT_EQ(res.why, DR_WHY_BAD_SIG);
        ASSERT_EQ(dr_dnssec_ede(res.sec, res.why), 6);
        ldns_rdf_data(a)[3] = saved;
        /* A flipped bit in the signature. */
        ldns_rdf *sg = ldns_rr_rdf(ldns_rr_list_rr(sigs, 0), 8);
        ldns_rdf_data(sg)[ldns_rdf_size(sg) / 2] ^= 0x10;
        ASSERT_EQ(dr_rrsig_verify(set, sigs, keys, zn, T_VALID, 0, &res), DR_SEC_BOGUS);
        ASSERT_EQ(res.why, DR_WHY_BAD_SIG);
        ldns_rr_list_deep_free(set);
        ldns_rr_list_deep_free(sigs);
        ldns_rr_list_deep_free(keys);
        ldns_rr_list_deep_free(zone);
    }
}

/* Record order and owner case do not matter (canonical form); duplicates count once. */
static void
test_canonical_order_case_and_duplicates(void)
{
    uint8_t zn[DR_NAME_MAX];
    ldns_rr_list *zone = zone_parse(alg13_zone);
    ldns_rr_list *set = pick(zone, "www.alg13.test.", LDNS_RR_TYPE_A, 0);
    ldns_rr_list *sigs = pick(zone, "www.alg13.test.", LDNS_RR_TYPE_RRSIG, LDNS_RR_TYPE_A);
    ldns_rr_list *keys = pick(zone, "alg13.test.", LDNS_RR_TYPE_DNSKEY, 0);
    ASSERT_EQ(ldns_rr_list_rr_count(set), 2);
    ldns_rr_list *rev = ldns_rr_list_new();
    ldns_rr_list_push_rr(rev, ldns_rr_clone(ldns_rr_list_rr(set, 1)));
    ldns_rr_list_push_rr(rev, ldns_rr_clone(ldns_rr_list_rr(set, 0)));
    ldns_rr_list_push_rr(rev, ldns_rr_clone(ldns_rr_list_rr(set, 1)));
    for (size_t i = 0; i < 3; i++) {
        ldns_rr *rr = ldns_rr_list_rr(rev, i);
        ldns_rdf_data(ldns_rr_owner(rr))[1] = 'W'; /* Www.alg13.test. */
        ldns_rr_set_ttl(rr, 60);                   /* TTL decremented by a cache */
    }
    struct dr_rrsig_result res;
    name_of("alg13.test.", zn);
    ASSERT_EQ(dr_rrsig_verify(rev, sigs, keys, zn, T_VALID, 0, &res), DR_SEC_SECURE);
    ASSERT_EQ(res.ttl, 60);
    ASSERT(!res.wildcard);
    /* TTL: the original TTL caps it, and so does the time left before expiration. */
    ASSERT_EQ(dr_rrsig_verify(set, sigs, keys, zn, T_VALID, 0, &res), DR_SEC_SECURE);
    ASSERT_EQ(res.ttl, 3600);
    ASSERT_EQ(dr_rrsig_verify(set, sigs, keys, zn, DNSSEC_ZONES_EXPIRATION - 100, 0, &res),
              DR_SEC_SECURE);
    ASSERT_EQ(res.ttl, 100);
    /* A record that is not of the RRset: not one RRset. */
    ldns_rr_list_push_rr(rev, rr_from("www.alg13.test. 3600 IN AAAA 2001:db8::1"));
    ASSERT_EQ(dr_rrsig_verify(rev, sigs, keys, zn, T_VALID, 0, &res), DR_SEC_BOGUS);
    ASSERT_EQ(res.why, DR_WHY_MALFORMED);
    ldns_rr_list *empty = ldns_rr_list_new();
    ASSERT_EQ(dr_rrsig_verify(empty, sigs, keys, zn, T_VALID, 0, &res), DR_SEC_BOGUS);
    ASSERT_EQ(res.why, DR_WHY_MALFORMED);
    ldns_rr_list_free(empty);
    ldns_rr_list_deep_free(rev);
    ldns_rr_list_deep_free(set);
    ldns_rr_list_deep_free(sigs);
    ldns_rr_list_deep_free(keys);
    ldns_rr_list_deep_free(zone);
}

/* The validity window, with and without skew, and EDE 7 / 8. */
static void
test_expired_and_not_yet_valid(void)
{
    ldns_rr_list *zone = zone_parse(alg15_zone);
    struct dr_rrsig_result res;
    const char *o = "alg15.test.", *w = "www.alg15.test.";
    ASSERT_EQ(verify(zone, o, w, LDNS_RR_TYPE_A, DNSSEC_ZONES_EXPIRATION + 1, 0, &res),
              DR_SEC_BOGUS);
    ASSERT_EQ(res.why, DR_WHY_SIG_EXPIRED);
    ASSERT_EQ(dr_dnssec_ede(res.sec, res.why), 7);
    ASSERT_EQ(verify(zone, o, w, LDNS_RR_TYPE_A, DNSSEC_ZONES_EXPIRATION + 1, 300, &res),
              DR_SEC_SECURE);
    ASSERT_EQ(res.ttl, 0);
    ASSERT_EQ(verify(zone, o, w, LDNS_RR_TYPE_A, DNSSEC_ZONES_EXPIRATION + 301, 300, &res),
              DR_SEC_BOGUS);
    ASSERT_EQ(verify(zone, o, w, LDNS_RR_TYPE_A, DNSSEC_ZONES_EXPIRATION, 0, &res), DR_SEC_SECURE);
    ASSERT_EQ(verify(zone, o, w, LDNS_RR_TYPE_A, DNSSEC_ZONES_INCEPTION - 1, 0, &res),
              DR_SEC_BOGUS);
    ASSERT_EQ(res.why, DR_WHY_SIG_NOT_YET);
    ASSERT_EQ(dr_dnssec_ede(res.sec, res.why), 8);
    ASSERT_EQ(verify(zone, o, w, LDNS_RR_TYPE_A, DNSSEC_ZONES_INCEPTION - 1, 300, &res),
              DR_SEC_SECURE);
    ASSERT_EQ(verify(zone, o, w, LDNS_RR_TYPE_A, DNSSEC_ZONES_INCEPTION, 0, &res), DR_SEC_SECURE);
    /* Years later (serial arithmetic wraps after 68 years: 2026 + 10 is plainly expired). */
    ASSERT_EQ(verify(zone, o, w, LDNS_RR_TYPE_A, T_VALID + 10LL * 365 * 86400, 0, &res),
              DR_SEC_BOGUS);
    ASSERT_EQ(res.why, DR_WHY_SIG_EXPIRED);
    ldns_rr_list_deep_free(zone);
}

/* Keys of another zone, a key set without the signing key, a revoked or non-zone key. */
static void
test_key_not_in_set(void)
{
    uint8_t zn[DR_NAME_MAX];
    ldns_rr_list *zone = zone_parse(alg13_zone), *other = zone_parse(alg13_zone);
    ldns_rr_list *set = pick(zone, "www.alg13.test.", LDNS_RR_TYPE_A, 0);
    ldns_rr_list *sigs = pick(zone, "www.alg13.test.", LDNS_RR_TYPE_RRSIG, LDNS_RR_TYPE_A);
    ldns_rr_list *keys = pick(zone, "alg13.test.", LDNS_RR_TYPE_DNSKEY, 0);
    struct dr_rrsig_result res;
    name_of("alg13.test.", zn);
    /* Only the KSK (flags 257), which did not sign the A RRset. */
    ldns_rr_list *ksk = ldns_rr_list_new();
    ldns_rr *zsk = NULL;
    for (size_t i = 0; i < ldns_rr_list_rr_count(keys); i++) {
        ldns_rr *k = ldns_rr_list_rr(keys, i);
        struct dr_dnskey dk;
        ASSERT_EQ(dr_dnskey_parse(k, &dk), 0);
        if (dk.flags & DR_DNSKEY_SEP)
            ldns_rr_list_push_rr(ksk, k);
        else
            zsk = k;
    }
    ASSERT_NOT_NULL(zsk);
    ASSERT_EQ(dr_rrsig_verify(set, sigs, ksk, zn, T_VALID, 0, &res), DR_SEC_BOGUS);
    ASSERT_EQ(res.why, DR_WHY_NO_KEY);
    ASSERT_EQ(dr_dnssec_ede(res.sec, res.why), 9);
    /* The ZSK of an alg15 zone: other algorithm, other tag. */
    ldns_rr_list *z15 = zone_parse(alg15_zone);
    ldns_rr_list *k15 = pick(z15, "alg15.test.", LDNS_RR_TYPE_DNSKEY, 0);
    ASSERT_EQ(dr_rrsig_verify(set, sigs, k15, zn, T_VALID, 0, &res), DR_SEC_BOGUS);
    ASSERT_EQ(res.why, DR_WHY_NO_KEY);
    /* The ZSK with the zone bit cleared: its tag changes as well, but even the same tag
     * would not do; with the revoke bit set, likewise. */
    ldns_rr_list *one = ldns_rr_list_new();
    ldns_rr *mod = ldns_rr_clone(zsk);
    ldns_rr_list_push_rr(one, mod);
    ldns_rdf_data(ldns_rr_rdf(mod, 0))[0] = 0; /* flags 0x0000 */
    ASSERT(!dr_dnskey_usable(mod));
    ASSERT_EQ(dr_rrsig_verify(set, sigs, one, zn, T_VALID, 0, &res), DR_SEC_BOGUS);
    ldns_rdf_data(ldns_rr_rdf(mod, 0))[0] = 1;
    ldns_rdf_data(ldns_rr_rdf(mod, 0))[1] = 0x80; /* zone + revoke */
    ASSERT(!dr_dnskey_usable(mod));
    ASSERT_EQ(dr_rrsig_verify(set, sigs, one, zn, T_VALID, 0, &res), DR_SEC_BOGUS);
    ldns_rdf_data(ldns_rr_rdf(mod, 0))[1] = 0;
    ASSERT(dr_dnskey_usable(mod));
    ASSERT_EQ(dr_rrsig_verify(set, sigs, one, zn, T_VALID, 0, &res), DR_SEC_SECURE);
    /* No RRSIG at all: EDE 10. */
    ldns_rr_list *none = ldns_rr_list_new();
    ASSERT_EQ(dr_rrsig_verify(set, none, keys, zn, T_VALID, 0, &res), DR_SEC_BOGUS);
    ASSERT_EQ(res.why, DR_WHY_NO_RRSIG);
    ASSERT_EQ(dr_dnssec_ede(res.sec, res.why), 10);
    /* RRSIGs of other RRsets do not count. */
    ldns_rr_list *txtsig = pick(zone, "www.alg13.test.", LDNS_RR_TYPE_RRSIG, LDNS_RR_TYPE_TXT);
    ASSERT_EQ(dr_rrsig_verify(set, txtsig, keys, zn, T_VALID, 0, &res), DR_SEC_BOGUS);
    ASSERT_EQ(res.why, DR_WHY_NO_RRSIG);
    ldns_rr_list_deep_free(txtsig);
    ldns_rr_list_free(none);
    ldns_rr_list_deep_free(one);
    ldns_rr_list_deep_free(k15);
    ldns_rr_list_deep_free(z15);
    ldns_rr_list_free(ksk);
    ldns_rr_list_deep_free(set);
    ldns_rr_list_deep_free(sigs);
    ldns_rr_list_deep_free(keys);
    ldns_rr_list_deep_free(zone);
    ldns_rr_list_deep_free(other);
}

/* The signer must be the keys' zone and an ancestor of the owner. */
static void
test_signer_mismatch(void)
{
    uint8_t zn[DR_NAME_MAX];
    ldns_rr_list *zone = zone_parse(alg8_zone);
    ldns_rr_list *set = pick(zone, "www.alg8.test.", LDNS_RR_TYPE_A, 0);
    ldns_rr_list *sigs = pick(zone, "www.alg8.test.", LDNS_RR_TYPE_RRSIG, LDNS_RR_TYPE_A);
    ldns_rr_list *keys = pick(zone, "alg8.test.", LDNS_RR_TYPE_DNSKEY, 0);
    struct dr_rrsig_result res;
    /* Keys said to be of the parent zone "test." */
    ASSERT_EQ(dr_rrsig_verify(set, sigs, keys, name_of("test.", zn), T_VALID, 0, &res),
              DR_SEC_BOGUS);
    ASSERT_EQ(res.why, DR_WHY_SIGNER);
    ASSERT_EQ(dr_dnssec_ede(res.sec, res.why), 6);
    /* The RRset moved to a name outside the signer's zone (and its RRSIG with it). */
    ldns_rdf *other = ldns_dname_new_frm_str("www.example.");
    for (size_t i = 0; i < ldns_rr_list_rr_count(set); i++)
        ldns_rdf_deep_free(ldns_rr_owner(ldns_rr_list_rr(set, i))),
            ldns_rr_set_owner(ldns_rr_list_rr(set, i), ldns_rdf_clone(other));
    ldns_rdf_deep_free(ldns_rr_owner(ldns_rr_list_rr(sigs, 0)));
    ldns_rr_set_owner(ldns_rr_list_rr(sigs, 0), ldns_rdf_clone(other));
    ASSERT_EQ(dr_rrsig_verify(set, sigs, keys, name_of("alg8.test.", zn), T_VALID, 0, &res),
              DR_SEC_BOGUS);
    ASSERT_EQ(res.why, DR_WHY_SIGNER);
    ldns_rdf_deep_free(other);
    ldns_rr_list_deep_free(set);
    ldns_rr_list_deep_free(sigs);
    ldns_rr_list_deep_free(keys);
    ldns_rr_list_deep_free(zone);
}

/* A wildcard expansion verifies as such and names its closest encloser; the labels field
 * cannot exceed the owner's labels. */
static void
test_wildcard_expansion(void)
{
    uint8_t zn[DR_NAME_MAX], enc[DR_NAME_MAX], want[DR_NAME_MAX];
    ldns_rr_list *zone = zone_parse(alg14_zone);
    ldns_rr_list *set = pick(zone, "*.w.alg14.test.", LDNS_RR_TYPE_A, 0);
    ldns_rr_list *sigs = pick(zone, "*.w.alg14.test.", LDNS_RR_TYPE_RRSIG, LDNS_RR_TYPE_A);
    ldns_rr_list *keys = pick(zone, "alg14.test.", LDNS_RR_TYPE_DNSKEY, 0);
    struct dr_rrsig_result res;
    name_of("alg14.test.", zn);
    /* The wildcard itself: not an expansion. */
    ASSERT_EQ(dr_rrsig_verify(set, sigs, keys, zn, T_VALID, 0, &res), DR_SEC_SECURE);
    ASSERT(!res.wildcard);
    /* Expanded to x.y.w.alg14.test., as a server answers. */
    ldns_rdf *q = ldns_dname_new_frm_str("x.Y.w.alg14.test.");
    for (size_t i = 0; i < ldns_rr_list_rr_count(set); i++)
        ldns_rdf_deep_free(ldns_rr_owner(ldns_rr_list_rr(set, i))),
            ldns_rr_set_owner(ldns_rr_list_rr(set, i), ldns_rdf_clone(q));
    ldns_rdf_deep_free(ldns_rr_owner(ldns_rr_list_rr(sigs, 0)));
    ldns_rr_set_owner(ldns_rr_list_rr(sigs, 0), ldns_rdf_clone(q));
    ASSERT_EQ(dr_rrsig_verify(set, sigs, keys, zn, T_VALID, 0, &res), DR_SEC_SECURE);
    ASSERT(res.wildcard);
    ASSERT(dr_dname_equal(res.encloser, name_of("w.alg14.test.", want)));
    ldns_rdf_deep_free(q);
    /* dr_rrsig_wildcard directly. */
    ASSERT_EQ(dr_rrsig_wildcard(name_of("a.b.example.", want), 1, enc), 1);
    ASSERT(dr_dname_equal(enc, name_of("example.", zn)));
    ASSERT_EQ(dr_rrsig_wildcard(name_of("a.b.example.", want), 3, enc), 0);
    ASSERT_EQ(dr_rrsig_wildcard(name_of("a.b.example.", want), 4, enc), -EBADMSG);
    ASSERT_EQ(dr_rrsig_wildcard(name_of("*.b.example.", want), 2, enc), 0);
    ASSERT_EQ(dr_rrsig_wildcard(name_of("*.b.example.", want), 3, enc), -EBADMSG);
    ASSERT_EQ(dr_rrsig_wildcard(name_of("x.*.b.example.", want), 2, enc), 1);
    ASSERT(dr_dname_equal(enc, name_of("b.example.", zn)));
    /* A labels field beyond the owner's count: malformed, bogus. */
    ldns_rr_list *s2 = pick(zone, "www.alg14.test.", LDNS_RR_TYPE_RRSIG, LDNS_RR_TYPE_A);
    ldns_rr_list *a2 = pick(zone, "www.alg14.test.", LDNS_RR_TYPE_A, 0);
    ldns_rdf_data(ldns_rr_rdf(ldns_rr_list_rr(s2, 0), 2))[0] = 4;
    ASSERT_EQ(dr_rrsig_verify(a2, s2, keys, name_of("alg14.test.", zn), T_VALID, 0, &res),
              DR_SEC_BOGUS);
    ASSERT_EQ(res.why, DR_WHY_MALFORMED);
    ldns_rr_list_deep_free(s2);
    ldns_rr_list_deep_free(a2);
    ldns_rr_list_deep_free(set);
    ldns_rr_list_deep_free(sigs);
    ldns_rr_list_deep_free(keys);
    ldns_rr_list_deep_free(zone);
}

/* Unsupported algorithms: a key set of nothing but them is insecure (EDE 1); a signature of
 * one under a supported key set is ignored and the RRset stays bogus. */
static void
test_unsupported_algorithm(void)
{
    uint8_t zn[DR_NAME_MAX];
    ldns_rr_list *zone = zone_parse(alg13_zone);
    ldns_rr_list *set = pick(zone, "www.alg13.test.", LDNS_RR_TYPE_A, 0);
    ldns_rr_list *sigs = pick(zone, "www.alg13.test.", LDNS_RR_TYPE_RRSIG, LDNS_RR_TYPE_A);
    ldns_rr_list *keys = pick(zone, "alg13.test.", LDNS_RR_TYPE_DNSKEY, 0);
    struct dr_rrsig_result res;
    name_of("alg13.test.", zn);
    /* RRSIG algorithm 13 -> 253 (private): ignored, so no usable RRSIG. */
    ldns_rdf_data(ldns_rr_rdf(ldns_rr_list_rr(sigs, 0), 1))[0] = 253;
    ASSERT_EQ(dr_rrsig_verify(set, sigs, keys, zn, T_VALID, 0, &res), DR_SEC_BOGUS);
    ASSERT_EQ(res.why, DR_WHY_NO_RRSIG);
    /* Every key of algorithm 5 (RSASHA1, not supported): insecure. */
    for (size_t i = 0; i < ldns_rr_list_rr_count(keys); i++)
        ldns_rdf_data(ldns_rr_rdf(ldns_rr_list_rr(keys, i), 2))[0] = 5;
    ASSERT_EQ(dr_rrsig_verify(set, sigs, keys, zn, T_VALID, 0, &res), DR_SEC_INSECURE);
    ASSERT_EQ(res.why, DR_WHY_UNSUPPORTED_ALG);
    ASSERT_EQ(dr_dnssec_ede(res.sec, res.why), 1);
    ASSERT(!dr_dnssec_alg_supported(5) && !dr_dnssec_alg_supported(7));
    ASSERT(dr_dnssec_alg_supported(8) && dr_dnssec_alg_supported(16));
    ldns_rr_list_deep_free(set);
    ldns_rr_list_deep_free(sigs);
    ldns_rr_list_deep_free(keys);
    ldns_rr_list_deep_free(zone);
}

/* KeyTrap (CVE-2023-50387): at most DR_RRSIG_MAX_VERIFY signature checks per RRset, so a
 * good RRSIG after that many bad ones is not reached. */
static void
test_verification_budget(void)
{
    uint8_t zn[DR_NAME_MAX];
    ldns_rr_list *zone = zone_parse(alg13_zone);
    ldns_rr_list *set = pick(zone, "www.alg13.test.", LDNS_RR_TYPE_A, 0);
    ldns_rr_list *good = pick(zone, "www.alg13.test.", LDNS_RR_TYPE_RRSIG, LDNS_RR_TYPE_A);
    ldns_rr_list *keys = pick(zone, "alg13.test.", LDNS_RR_TYPE_DNSKEY, 0);
    struct dr_rrsig_result res;
    name_of("alg13.test.", zn);
    for (int bad = DR_RRSIG_MAX_VERIFY - 1; bad <= DR_RRSIG_MAX_VERIFY; bad++) {
        ldns_rr_list *sigs = ldns_rr_list_new();
        for (int i = 0; i < bad; i++) {
            ldns_rr *b = ldns_rr_clone(ldns_rr_list_rr(good, 0));
            ldns_rdf_data(ldns_rr_rdf(b, 8))[i] ^= 0x01;
            ldns_rr_list_push_rr(sigs, b);
        }
        ldns_rr_list_push_rr(sigs, ldns_rr_clone(ldns_rr_list_rr(good, 0)));
        enum dr_sec want = bad < DR_RRSIG_MAX_VERIFY ? DR_SEC_SECURE : DR_SEC_BOGUS;
        ASSERT_EQ(dr_rrsig_verify(set, sigs, keys, zn, T_VALID, 0, &res), want);
        if (want == DR_SEC_BOGUS)
            ASSERT_EQ(res.why, DR_WHY_BAD_SIG);
        ldns_rr_list_deep_free(sigs);
    }
    ldns_rr_list_deep_free(set);
    ldns_rr_list_deep_free(good);
    ldns_rr_list_deep_free(keys);
    ldns_rr_list_deep_free(zone);
}

int
main(void)
{
    TEST_RUN(test_every_algorithm_verifies);
    TEST_RUN(test_tampered_data_is_bogus);
    TEST_RUN(test_canonical_order_case_and_duplicates);
    TEST_RUN(test_expired_and_not_yet_valid);
    TEST_RUN(test_key_not_in_set);
    TEST_RUN(test_signer_mismatch);
    TEST_RUN(test_wildcard_expansion);
    TEST_RUN(test_unsupported_algorithm);
    TEST_RUN(test_verification_budget);
    return 0;
}
