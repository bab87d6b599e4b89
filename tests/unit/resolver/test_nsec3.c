/* Unit tests for resolver/nsec3.c, on NSEC3 chains made by ldns-signzone
 * (data/dnssec_zones.h): nsec3.test. (salt 00ff, 0 iterations), optout.test. (opt-out, salt
 * abcdef, 1 iteration), nsec3iter.test. (51 iterations); the names as in test_nsec.c. */
#include "resolver/nsec3.h"

#include <errno.h>

#include "dnssec_test.h"

#define MAXI DR_NSEC3_MAX_ITERATIONS

static ldns_rr_list *n3, *opt, *iter;

/* The records of l without the one matching name's hash (there must be one). */
static ldns_rr_list *
without_match(const ldns_rr_list *l, const char *name)
{
    uint8_t wire[DR_NAME_MAX];
    name_of(name, wire);
    ldns_rr_list *out = ldns_rr_list_new();
    for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
        ldns_rr *rr = ldns_rr_list_rr(l, i);
        uint8_t hash[DR_NSEC3_HASH_LEN], own[DR_NSEC3_HASH_LEN];
        const ldns_rdf *salt = ldns_rr_rdf(rr, 3);
        uint16_t it = ldns_rdf2native_int16(ldns_rr_rdf(rr, 2));
        ASSERT_EQ(dr_nsec3_hash(wire, 1, it, ldns_rdf_data(salt) + 1, ldns_rdf_data(salt)[0], hash),
                  DR_NSEC3_HASH_LEN);
        const uint8_t *owner = ldns_rdf_data(ldns_rr_owner(rr));
        ASSERT_EQ(dr_nsec3_b32_decode(owner + 1, owner[0], own, sizeof(own)), DR_NSEC3_HASH_LEN);
        if (memcmp(own, hash, sizeof(hash)) != 0)
            ldns_rr_list_push_rr(out, rr);
    }
    ASSERT_EQ(ldns_rr_list_rr_count(out) + 1, ldns_rr_list_rr_count(l));
    return out;
}

static void
test_hash_matches_rfc5155_and_ldns(void)
{
    /* RFC 5155 Appendix A: H(example) with salt aabbccdd, 12 iterations. */
    const uint8_t salt[] = {0xaa, 0xbb, 0xcc, 0xdd};
    uint8_t h[DR_NSEC3_HASH_LEN], want[DR_NSEC3_HASH_LEN];
    const char *b32 = "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom";
    ASSERT_EQ(dr_nsec3_hash(N("EXAMPLE."), 1, 12, salt, sizeof(salt), h), DR_NSEC3_HASH_LEN);
    ASSERT_EQ(dr_nsec3_b32_decode((const uint8_t *)b32, 32, want, sizeof(want)), 20);
    ASSERT(memcmp(h, want, 20) == 0);
    /* a.example. -> 35mthgpgcu1qg68fab165klnsnk3dpvl */
    b32 = "35MTHGPGCU1QG68FAB165KLNSNK3DPVL";
    ASSERT_EQ(dr_nsec3_hash(N("a.example."), 1, 12, salt, sizeof(salt), h), DR_NSEC3_HASH_LEN);
    ASSERT_EQ(dr_nsec3_b32_decode((const uint8_t *)b32, 32, want, sizeof(want)), 20);
    ASSERT(memcmp(h, want, 20) == 0);
    /* The same as ldns's, with a salt and without. */
    for (int it = 0; it < 3; it++) {
        ldns_rdf *name = ldns_dname_new_frm_str("www.nsec3.test.");
        ldns_rdf *lh = ldns_nsec3_hash_name(name, 1, (uint16_t)it, it ? 4 : 0, salt);
        char *s = ldns_rdf2str(lh);
        ASSERT_EQ(dr_nsec3_hash(N("www.nsec3.test."), 1, (uint16_t)it, salt, it ? 4 : 0, h), 20);
        ASSERT_EQ(dr_nsec3_b32_decode((uint8_t *)s, 32, want, sizeof(want)), 20);
        ASSERT(memcmp(h, want, 20) == 0);
        free(s);
        ldns_rdf_deep_free(lh);
        ldns_rdf_deep_free(name);
    }
    ASSERT_EQ(dr_nsec3_hash(N("example."), 2, 0, salt, 0, h), -ENOTSUP);
    /* base32hex: bad characters, non-zero padding bits, too long for the output. */
    ASSERT_EQ(dr_nsec3_b32_decode((const uint8_t *)"0w", 2, want, sizeof(want)), -EINVAL);
    ASSERT_EQ(dr_nsec3_b32_decode((const uint8_t *)"01", 2, want, sizeof(want)), -EINVAL);
    ASSERT_EQ(dr_nsec3_b32_decode((const uint8_t *)"00", 2, want, sizeof(want)), 1);
    ASSERT_EQ(dr_nsec3_b32_decode((const uint8_t *)b32, 32, want, 19), -EINVAL);
}

static void
test_closest_encloser(void)
{
    struct dr_nsec3_ce ce;
    enum dr_why why;
    ASSERT_EQ(
        dr_nsec3_closest_encloser(n3, N("nsec3.test."), N("x.y.www.nsec3.test."), MAXI, &ce, &why),
        DR_SEC_SECURE);
    ASSERT(dr_dname_equal(ce.ce, N("www.nsec3.test.")));
    ASSERT(dr_dname_equal(ce.next, N("y.www.nsec3.test.")));
    ASSERT(!ce.optout);
    /* An existing name has no closest encloser proof; a name outside the zone neither. */
    ASSERT_EQ(
        dr_nsec3_closest_encloser(n3, N("nsec3.test."), N("www.nsec3.test."), MAXI, &ce, &why),
        DR_SEC_BOGUS);
    ASSERT_EQ(why, DR_WHY_NO_NSEC);
    ASSERT_EQ(dr_nsec3_closest_encloser(n3, N("nsec3.test."), N("www.example."), MAXI, &ce, &why),
              DR_SEC_BOGUS);
    /* Below a delegation: the encloser insec is an unsigned cut, so the name is insecure;
     * sec is a signed one (DS), which cannot speak for names below it: bogus. */
    ASSERT_EQ(
        dr_nsec3_closest_encloser(n3, N("nsec3.test."), N("x.insec.nsec3.test."), MAXI, &ce, &why),
        DR_SEC_INSECURE);
    ASSERT_EQ(why, DR_WHY_UNSIGNED_CUT);
    ASSERT_EQ(dr_nsec3_nxdomain(n3, N("nsec3.test."), N("x.insec.nsec3.test."), MAXI, &why),
              DR_SEC_INSECURE);
    ASSERT_EQ(
        dr_nsec3_closest_encloser(n3, N("nsec3.test."), N("x.sec.nsec3.test."), MAXI, &ce, &why),
        DR_SEC_BOGUS);
    ASSERT_EQ(why, DR_WHY_NO_NSEC);
    /* The records of another zone do not count. */
    ASSERT_EQ(
        dr_nsec3_closest_encloser(n3, N("optout.test."), N("nope.optout.test."), MAXI, &ce, &why),
        DR_SEC_BOGUS);
}

static void
test_nxdomain(void)
{
    enum dr_why why;
    const uint8_t *z = N("nsec3.test.");
    ASSERT_EQ(dr_nsec3_nxdomain(n3, z, N("nope.nsec3.test."), MAXI, &why), DR_SEC_SECURE);
    ASSERT_EQ(dr_nsec3_nxdomain(n3, z, N("a.b.nope.nsec3.test."), MAXI, &why), DR_SEC_SECURE);
    ASSERT_EQ(dr_nsec3_nxdomain(n3, z, N("www.nsec3.test."), MAXI, &why), DR_SEC_BOGUS);
    ASSERT_EQ(dr_nsec3_nxdomain(n3, z, N("b.c.nsec3.test."), MAXI, &why), DR_SEC_BOGUS);
    /* A wildcard exists at w: no NXDOMAIN below it. */
    ASSERT_EQ(dr_nsec3_nxdomain(n3, z, N("foo.w.nsec3.test."), MAXI, &why), DR_SEC_BOGUS);
    ASSERT_EQ(why, DR_WHY_NO_NSEC);
    ASSERT_EQ(dr_dnssec_ede(DR_SEC_BOGUS, why), 12);
    /* Without the apex's record (the closest encloser's match): not proven. */
    ldns_rr_list *l = without_match(n3, "nsec3.test.");
    ASSERT_EQ(dr_nsec3_nxdomain(l, z, N("nope.nsec3.test."), MAXI, &why), DR_SEC_BOGUS);
    ldns_rr_list_free(l);
    ldns_rr_list *empty = ldns_rr_list_new();
    ASSERT_EQ(dr_nsec3_nxdomain(empty, z, N("nope.nsec3.test."), MAXI, &why), DR_SEC_BOGUS);
    ldns_rr_list_free(empty);
    /* Opt-out: the next closer's span may hold an unsigned delegation. */
    ASSERT_EQ(dr_nsec3_nxdomain(opt, N("optout.test."), N("nope.optout.test."), MAXI, &why),
              DR_SEC_INSECURE);
    ASSERT_EQ(why, DR_WHY_OPTOUT);
    ASSERT_EQ(dr_dnssec_ede(DR_SEC_INSECURE, why), -1);
}

static void
test_nodata(void)
{
    enum dr_why why;
    const uint8_t *z = N("nsec3.test.");
    ASSERT_EQ(dr_nsec3_nodata(n3, z, N("www.nsec3.test."), LDNS_RR_TYPE_MX, MAXI, &why),
              DR_SEC_SECURE);
    ASSERT_EQ(dr_nsec3_nodata(n3, z, N("www.nsec3.test."), LDNS_RR_TYPE_A, MAXI, &why),
              DR_SEC_BOGUS);
    ASSERT_EQ(dr_nsec3_nodata(n3, z, N("alias.nsec3.test."), LDNS_RR_TYPE_A, MAXI, &why),
              DR_SEC_BOGUS);
    ASSERT_EQ(dr_nsec3_nodata(n3, z, N("b.c.nsec3.test."), LDNS_RR_TYPE_A, MAXI, &why),
              DR_SEC_SECURE); /* empty non-terminal */
    ASSERT_EQ(dr_nsec3_nodata(n3, z, N("insec.nsec3.test."), LDNS_RR_TYPE_DS, MAXI, &why),
              DR_SEC_SECURE);
    ASSERT_EQ(dr_nsec3_nodata(n3, z, N("insec.nsec3.test."), LDNS_RR_TYPE_A, MAXI, &why),
              DR_SEC_BOGUS);
    ASSERT_EQ(dr_nsec3_nodata(n3, z, N("sec.nsec3.test."), LDNS_RR_TYPE_DS, MAXI, &why),
              DR_SEC_BOGUS);
    ASSERT_EQ(dr_nsec3_nodata(n3, z, N("nsec3.test."), LDNS_RR_TYPE_DS, MAXI, &why), DR_SEC_BOGUS);
    ASSERT_EQ(dr_nsec3_nodata(n3, z, N("nope.nsec3.test."), LDNS_RR_TYPE_A, MAXI, &why),
              DR_SEC_BOGUS);
    /* DS of a name without its own NSEC3 (as an unsigned delegation left out of an opt-out
     * chain): opt-out span -> insecure; plain span -> bogus. (Removing a record from the
     * list would not do: its neighbour's next hash still names it.) */
    ASSERT_EQ(dr_nsec3_nodata(opt, N("unlisted.optout.test."), N("unlisted.optout.test."),
                              LDNS_RR_TYPE_DS, MAXI, &why),
              DR_SEC_BOGUS); /* wrong zone given */
    ASSERT_EQ(dr_nsec3_nodata(opt, N("optout.test."), N("unlisted.optout.test."), LDNS_RR_TYPE_DS,
                              MAXI, &why),
              DR_SEC_INSECURE);
    ASSERT_EQ(why, DR_WHY_OPTOUT);
    ASSERT_EQ(dr_nsec3_nodata(opt, N("optout.test."), N("unlisted.optout.test."), LDNS_RR_TYPE_A,
                              MAXI, &why),
              DR_SEC_BOGUS);
    ASSERT_EQ(dr_nsec3_nodata(n3, z, N("unlisted.nsec3.test."), LDNS_RR_TYPE_DS, MAXI, &why),
              DR_SEC_BOGUS);
}

static void
test_wildcards(void)
{
    enum dr_why why;
    const uint8_t *z = N("nsec3.test.");
    ASSERT_EQ(
        dr_nsec3_wildcard_answer(n3, z, N("foo.w.nsec3.test."), N("w.nsec3.test."), MAXI, &why),
        DR_SEC_SECURE);
    ASSERT_EQ(
        dr_nsec3_wildcard_answer(n3, z, N("a.foo.w.nsec3.test."), N("w.nsec3.test."), MAXI, &why),
        DR_SEC_SECURE);
    /* w exists: an expansion of *.nsec3.test. to foo.w is impossible. */
    ASSERT_EQ(dr_nsec3_wildcard_answer(n3, z, N("foo.w.nsec3.test."), N("nsec3.test."), MAXI, &why),
              DR_SEC_BOGUS);
    ASSERT_EQ(dr_nsec3_wildcard_answer(n3, z, N("www.nsec3.test."), N("nsec3.test."), MAXI, &why),
              DR_SEC_BOGUS);
    ASSERT_EQ(dr_nsec3_wildcard_nodata(n3, z, N("foo.w.nsec3.test."), LDNS_RR_TYPE_MX, MAXI, &why),
              DR_SEC_SECURE);
    ASSERT_EQ(dr_nsec3_wildcard_nodata(n3, z, N("foo.w.nsec3.test."), LDNS_RR_TYPE_TXT, MAXI, &why),
              DR_SEC_BOGUS);
    ASSERT_EQ(dr_nsec3_wildcard_nodata(n3, z, N("nope.nsec3.test."), LDNS_RR_TYPE_MX, MAXI, &why),
              DR_SEC_BOGUS);
}

static void
test_insecure_delegation(void)
{
    enum dr_why why;
    const uint8_t *z = N("nsec3.test.");
    ASSERT_EQ(dr_nsec3_insecure_delegation(n3, z, N("insec.nsec3.test."), MAXI, &why),
              DR_SEC_SECURE);
    ASSERT_EQ(dr_nsec3_insecure_delegation(n3, z, N("sec.nsec3.test."), MAXI, &why), DR_SEC_BOGUS);
    ASSERT_EQ(dr_nsec3_insecure_delegation(n3, z, N("www.nsec3.test."), MAXI, &why), DR_SEC_BOGUS);
    ASSERT_EQ(dr_nsec3_insecure_delegation(n3, z, N("nope.nsec3.test."), MAXI, &why), DR_SEC_BOGUS);
    /* Opt-out: an unsigned delegation without its own NSEC3 is covered by an opt-out span. */
    ASSERT_EQ(dr_nsec3_insecure_delegation(opt, N("optout.test."), N("unlisted.optout.test."), MAXI,
                                           &why),
              DR_SEC_INSECURE);
    ASSERT_EQ(why, DR_WHY_OPTOUT);
    ASSERT_EQ(dr_nsec3_insecure_delegation(n3, z, N("unlisted.nsec3.test."), MAXI, &why),
              DR_SEC_BOGUS);
    ASSERT_EQ(
        dr_nsec3_insecure_delegation(opt, N("optout.test."), N("insec.optout.test."), MAXI, &why),
        DR_SEC_SECURE);
}

/* RFC 9276: iterations above the limit make the answer insecure (EDE 27), not bogus. */
static void
test_iterations_limit(void)
{
    enum dr_why why;
    const uint8_t *z = N("nsec3iter.test.");
    ASSERT_EQ(dr_nsec3_nxdomain(iter, z, N("nope.nsec3iter.test."), MAXI, &why), DR_SEC_INSECURE);
    ASSERT_EQ(why, DR_WHY_NSEC3_ITERATIONS);
    ASSERT_EQ(dr_dnssec_ede(DR_SEC_INSECURE, why), 27);
    ASSERT_EQ(dr_nsec3_nodata(iter, z, N("www.nsec3iter.test."), LDNS_RR_TYPE_MX, MAXI, &why),
              DR_SEC_INSECURE);
    /* With a higher limit the same records prove it. */
    ASSERT_EQ(dr_nsec3_nxdomain(iter, z, N("nope.nsec3iter.test."), 150, &why), DR_SEC_SECURE);
    ASSERT_EQ(dr_nsec3_nodata(iter, z, N("www.nsec3iter.test."), LDNS_RR_TYPE_MX, 150, &why),
              DR_SEC_SECURE);
}

/* Unknown hash algorithms: insecure; unknown flags: the record is ignored. */
static void
test_unknown_alg_and_flags(void)
{
    enum dr_why why;
    const uint8_t *z = N("nsec3.test.");
    ldns_rr_list *l = ldns_rr_list_clone(n3);
    for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++)
        ldns_rdf_data(ldns_rr_rdf(ldns_rr_list_rr(l, i), 0))[0] = 2;
    ASSERT_EQ(dr_nsec3_nxdomain(l, z, N("nope.nsec3.test."), MAXI, &why), DR_SEC_INSECURE);
    ASSERT_EQ(why, DR_WHY_NSEC3_HASH);
    for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
        ldns_rdf_data(ldns_rr_rdf(ldns_rr_list_rr(l, i), 0))[0] = 1;
        ldns_rdf_data(ldns_rr_rdf(ldns_rr_list_rr(l, i), 1))[0] = 2;
    }
    ASSERT_EQ(dr_nsec3_nxdomain(l, z, N("nope.nsec3.test."), MAXI, &why), DR_SEC_BOGUS);
    ASSERT_EQ(why, DR_WHY_NO_NSEC);
    ldns_rr_list_deep_free(l);
}

int
main(void)
{
    ldns_rr_list *z1 = zone_parse(nsec3_zone), *z2 = zone_parse(optout_zone),
                 *z3 = zone_parse(iter_zone);
    n3 = pick_type(z1, LDNS_RR_TYPE_NSEC3);
    opt = pick_type(z2, LDNS_RR_TYPE_NSEC3);
    iter = pick_type(z3, LDNS_RR_TYPE_NSEC3);
    ASSERT_GE(ldns_rr_list_rr_count(n3), 8);
    TEST_RUN(test_hash_matches_rfc5155_and_ldns);
    TEST_RUN(test_closest_encloser);
    TEST_RUN(test_nxdomain);
    TEST_RUN(test_nodata);
    TEST_RUN(test_wildcards);
    TEST_RUN(test_insecure_delegation);
    TEST_RUN(test_iterations_limit);
    TEST_RUN(test_unknown_alg_and_flags);
    ldns_rr_list_deep_free(n3);
    ldns_rr_list_deep_free(opt);
    ldns_rr_list_deep_free(iter);
    ldns_rr_list_deep_free(z1);
    ldns_rr_list_deep_free(z2);
    ldns_rr_list_deep_free(z3);
    return 0;
}
