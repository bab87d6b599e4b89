/* Unit tests for resolver/nsec.c, on the NSEC chain of a zone signed by ldns-signzone
 * (data/dnssec_zones.h, zone alg13.test.: apex, alias CNAME, a.b.c (so b.c and c are empty
 * non-terminals), insec (unsigned delegation), ns1, sec (signed delegation), *.w, www). */
#include "resolver/nsec.h"

#include "dnssec_test.h"

static ldns_rr_list *nsecs;

/* The zone's NSEC records without the one owned by owner. */
static ldns_rr_list *
without(const char *owner)
{
    ldns_rr_list *l = ldns_rr_list_new();
    for (size_t i = 0; i < ldns_rr_list_rr_count(nsecs); i++) {
        ldns_rr *rr = ldns_rr_list_rr(nsecs, i);
        if (!dr_dname_equal(ldns_rdf_data(ldns_rr_owner(rr)), N(owner)))
            ldns_rr_list_push_rr(l, rr);
    }
    return l;
}

static void
test_bitmap(void)
{
    /* Window 0: A(1), NS(2) -> 0x60; window 1: type 257 (CAA) -> bit 1 of window 1. */
    const uint8_t bm[] = {0, 1, 0x60, 1, 1, 0x40};
    ASSERT(dr_nsec_bitmap_has(bm, sizeof(bm), 1));
    ASSERT(dr_nsec_bitmap_has(bm, sizeof(bm), 2));
    ASSERT(!dr_nsec_bitmap_has(bm, sizeof(bm), 3));
    ASSERT(!dr_nsec_bitmap_has(bm, sizeof(bm), 28));
    ASSERT(dr_nsec_bitmap_has(bm, sizeof(bm), 257));
    ASSERT(!dr_nsec_bitmap_has(bm, sizeof(bm), 256));
    /* Malformed: a window running past the end, a zero length. */
    const uint8_t bad1[] = {0, 5, 0x60};
    const uint8_t bad2[] = {0, 0, 0x60};
    ASSERT(!dr_nsec_bitmap_has(bad1, sizeof(bad1), 1));
    ASSERT(!dr_nsec_bitmap_has(bad2, sizeof(bad2), 1));
    ASSERT(!dr_nsec_bitmap_has(bm, 0, 1));
}

static void
test_covers(void)
{
    ldns_rr *rr = rr_from("insec.alg13.test. 300 IN NSEC ns1.alg13.test. NS RRSIG NSEC");
    ASSERT(dr_nsec_covers(rr, N("nope.alg13.test.")));
    ASSERT(!dr_nsec_covers(rr, N("insec.alg13.test.")));
    ASSERT(!dr_nsec_covers(rr, N("ns1.alg13.test.")));
    ASSERT(!dr_nsec_covers(rr, N("zzz.alg13.test.")));
    ldns_rr_free(rr);
    /* The last NSEC: next is the apex. */
    rr = rr_from("www.alg13.test. 300 IN NSEC alg13.test. A RRSIG NSEC");
    ASSERT(dr_nsec_covers(rr, N("zzz.alg13.test.")));
    ASSERT(dr_nsec_covers(rr, N("a.www.alg13.test.")));
    ASSERT(!dr_nsec_covers(rr, N("zzz.other.test.")));
    ASSERT(!dr_nsec_covers(rr, N("alias.alg13.test.")));
    ldns_rr_free(rr);
}

static void
test_nxdomain(void)
{
    uint8_t ce[DR_NAME_MAX];
    ASSERT(dr_nsec_nxdomain(nsecs, N("nope.alg13.test."), ce));
    ASSERT(dr_dname_equal(ce, N("alg13.test.")));
    ASSERT(dr_nsec_nxdomain(nsecs, N("x.y.www.alg13.test."), ce));
    ASSERT(dr_dname_equal(ce, N("www.alg13.test.")));
    /* Without the NSEC covering *.alg13.test. (the apex's): not proven. */
    ldns_rr_list *l = without("alg13.test.");
    ASSERT(!dr_nsec_nxdomain(l, N("nope.alg13.test."), NULL));
    ldns_rr_list_free(l);
    /* Without the NSEC covering the name (insec's): not proven. */
    l = without("insec.alg13.test.");
    ASSERT(!dr_nsec_nxdomain(l, N("nope.alg13.test."), NULL));
    ldns_rr_list_free(l);
    /* Existing names, empty non-terminals, names below a delegation. */
    ASSERT(!dr_nsec_nxdomain(nsecs, N("www.alg13.test."), NULL));
    ASSERT(!dr_nsec_nxdomain(nsecs, N("b.c.alg13.test."), NULL));
    ASSERT(!dr_nsec_nxdomain(nsecs, N("c.alg13.test."), NULL));
    ASSERT(!dr_nsec_nxdomain(nsecs, N("x.insec.alg13.test."), NULL));
    /* Below the wildcard's closest encloser w, a wildcard exists: no NXDOMAIN. */
    ASSERT(!dr_nsec_nxdomain(nsecs, N("foo.w.alg13.test."), NULL));
    ldns_rr_list *empty = ldns_rr_list_new();
    ASSERT(!dr_nsec_nxdomain(empty, N("nope.alg13.test."), NULL));
    ldns_rr_list_free(empty);
}

static void
test_nodata(void)
{
    ASSERT(dr_nsec_nodata(nsecs, N("www.alg13.test."), LDNS_RR_TYPE_MX));
    ASSERT(dr_nsec_nodata(nsecs, N("WWW.alg13.test."), LDNS_RR_TYPE_AAAA));
    ASSERT(!dr_nsec_nodata(nsecs, N("www.alg13.test."), LDNS_RR_TYPE_A));
    ASSERT(!dr_nsec_nodata(nsecs, N("www.alg13.test."), LDNS_RR_TYPE_TXT));
    ASSERT(!dr_nsec_nodata(nsecs, N("alias.alg13.test."), LDNS_RR_TYPE_A)); /* CNAME */
    /* Empty non-terminals. */
    ASSERT(dr_nsec_nodata(nsecs, N("b.c.alg13.test."), LDNS_RR_TYPE_A));
    ASSERT(dr_nsec_nodata(nsecs, N("c.alg13.test."), LDNS_RR_TYPE_A));
    /* The parent side of a delegation denies DS only; the apex never DS. */
    ASSERT(dr_nsec_nodata(nsecs, N("insec.alg13.test."), LDNS_RR_TYPE_DS));
    ASSERT(!dr_nsec_nodata(nsecs, N("insec.alg13.test."), LDNS_RR_TYPE_A));
    ASSERT(!dr_nsec_nodata(nsecs, N("sec.alg13.test."), LDNS_RR_TYPE_DS));
    ASSERT(!dr_nsec_nodata(nsecs, N("alg13.test."), LDNS_RR_TYPE_DS));
    ASSERT(dr_nsec_nodata(nsecs, N("alg13.test."), LDNS_RR_TYPE_MX));
    /* A name that does not exist is not NODATA. */
    ASSERT(!dr_nsec_nodata(nsecs, N("nope.alg13.test."), LDNS_RR_TYPE_A));
}

static void
test_wildcard_answer(void)
{
    ASSERT(dr_nsec_wildcard_answer(nsecs, N("foo.w.alg13.test."), N("w.alg13.test.")));
    ASSERT(dr_nsec_wildcard_answer(nsecs, N("a.foo.w.alg13.test."), N("w.alg13.test.")));
    /* The wrong encloser: w.alg13.test. exists, so *.alg13.test. cannot have matched. */
    ASSERT(!dr_nsec_wildcard_answer(nsecs, N("foo.w.alg13.test."), N("alg13.test.")));
    /* An existing name cannot have been synthesised. */
    ASSERT(!dr_nsec_wildcard_answer(nsecs, N("www.alg13.test."), N("alg13.test.")));
    ldns_rr_list *l = without("*.w.alg13.test.");
    ASSERT(!dr_nsec_wildcard_answer(l, N("foo.w.alg13.test."), N("w.alg13.test.")));
    ldns_rr_list_free(l);
}

static void
test_wildcard_nodata(void)
{
    ASSERT(dr_nsec_wildcard_nodata(nsecs, N("foo.w.alg13.test."), LDNS_RR_TYPE_MX));
    ASSERT(!dr_nsec_wildcard_nodata(nsecs, N("foo.w.alg13.test."), LDNS_RR_TYPE_A));
    ASSERT(!dr_nsec_wildcard_nodata(nsecs, N("foo.w.alg13.test."), LDNS_RR_TYPE_TXT));
    /* No wildcard at alg13.test.: not a wildcard NODATA. */
    ASSERT(!dr_nsec_wildcard_nodata(nsecs, N("nope.alg13.test."), LDNS_RR_TYPE_MX));
}

static void
test_insecure_delegation(void)
{
    ASSERT(dr_nsec_insecure_delegation(nsecs, N("insec.alg13.test.")));
    ASSERT(!dr_nsec_insecure_delegation(nsecs, N("sec.alg13.test.")));  /* has DS */
    ASSERT(!dr_nsec_insecure_delegation(nsecs, N("www.alg13.test.")));  /* no NS */
    ASSERT(!dr_nsec_insecure_delegation(nsecs, N("alg13.test.")));      /* apex: SOA */
    ASSERT(!dr_nsec_insecure_delegation(nsecs, N("nope.alg13.test."))); /* no NSEC */
}

int
main(void)
{
    ldns_rr_list *zone = zone_parse(alg13_zone);
    nsecs = pick_type(zone, LDNS_RR_TYPE_NSEC);
    ASSERT_EQ(ldns_rr_list_rr_count(nsecs), 8);
    TEST_RUN(test_bitmap);
    TEST_RUN(test_covers);
    TEST_RUN(test_nxdomain);
    TEST_RUN(test_nodata);
    TEST_RUN(test_wildcard_answer);
    TEST_RUN(test_wildcard_nodata);
    TEST_RUN(test_insecure_delegation);
    ldns_rr_list_deep_free(nsecs);
    ldns_rr_list_deep_free(zone);
    return 0;
}
