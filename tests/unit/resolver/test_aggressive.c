/* Unit tests for resolver/aggressive.c (RFC 8198) on the NSEC chain of data/dnssec_zones.h's
 * alg13.test. (apex, alias CNAME, a.b.c, insec (unsigned delegation), ns1, sec, *.w, www):
 * what is kept of a negative answer, and which questions the kept records prove. */
#include "resolver/aggressive.h"

#include "dnssec_test.h"
#include "resolver/msg.h"

static ldns_rr_list *zone, *authority;
static const int64_t NOW = T_VALID;

/* A negative answer's authority section: the SOA, every NSEC, and all their RRSIGs. */
static ldns_rr_list *
negative_authority(void)
{
    ldns_rr_list *l = ldns_rr_list_new();
    for (size_t i = 0; i < ldns_rr_list_rr_count(zone); i++) {
        ldns_rr *rr = ldns_rr_list_rr(zone, i);
        ldns_rr_type t = ldns_rr_get_type(rr);
        if (t == LDNS_RR_TYPE_RRSIG)
            t = ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr));
        if (t == LDNS_RR_TYPE_SOA || t == LDNS_RR_TYPE_NSEC)
            ldns_rr_list_push_rr(l, rr);
    }
    return l;
}

static struct dc_lru *
filled(void)
{
    struct dc_lru *t = dc_lru_new(1 << 20, 1);
    ASSERT_NOT_NULL(t);
    ASSERT_EQ(dr_aggr_store(t, N("alg13.test."), authority, NOW), 0);
    return t;
}

static size_t
count_type(const ldns_rr_list *l, ldns_rr_type type)
{
    size_t n = 0;
    for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++)
        n += ldns_rr_get_type(ldns_rr_list_rr(l, i)) == type;
    return n;
}

static void
test_nxdomain(void)
{
    struct dc_lru *t = filled();
    int rcode = -1;
    ldns_rr_list *au = NULL;
    ASSERT_EQ(dr_aggr_prove(t, N("nope.alg13.test."), DR_TYPE_A, NOW + 10, &rcode, &au), 1);
    ASSERT_EQ(rcode, DR_RCODE_NXDOMAIN);
    ASSERT_EQ(count_type(au, LDNS_RR_TYPE_SOA), 1);
    ASSERT(count_type(au, LDNS_RR_TYPE_NSEC) >= 1);
    ASSERT(count_type(au, LDNS_RR_TYPE_RRSIG) >= 2); /* the SOA's and each NSEC's */
    /* TTLs count down: the NSEC TTL is 300, the SOA MINIMUM 300. */
    for (size_t i = 0; i < ldns_rr_list_rr_count(au); i++)
        ASSERT(ldns_rr_ttl(ldns_rr_list_rr(au, i)) <= 290);
    ldns_rr_list_deep_free(au);
    /* Any type: the name does not exist. */
    ASSERT_EQ(dr_aggr_prove(t, N("zzz.alg13.test."), DR_TYPE_MX, NOW, &rcode, &au), 1);
    ASSERT_EQ(rcode, DR_RCODE_NXDOMAIN);
    ldns_rr_list_deep_free(au);
    dc_lru_free(t);
}

static void
test_nodata(void)
{
    struct dc_lru *t = filled();
    int rcode = -1;
    ldns_rr_list *au = NULL;
    ASSERT_EQ(dr_aggr_prove(t, N("ns1.alg13.test."), DR_TYPE_AAAA, NOW, &rcode, &au), 1);
    ASSERT_EQ(rcode, DR_RCODE_NOERROR);
    ldns_rr_list_deep_free(au);
    /* The type exists: no proof. */
    ASSERT_EQ(dr_aggr_prove(t, N("ns1.alg13.test."), DR_TYPE_A, NOW, &rcode, &au), 0);
    ASSERT_NULL(au);
    /* An empty non-terminal has no data of any type. */
    ASSERT_EQ(dr_aggr_prove(t, N("b.c.alg13.test."), DR_TYPE_A, NOW, &rcode, &au), 1);
    ASSERT_EQ(rcode, DR_RCODE_NOERROR);
    ldns_rr_list_deep_free(au);
    dc_lru_free(t);
}

static void
test_no_proof(void)
{
    struct dc_lru *t = filled();
    int rcode = -1;
    ldns_rr_list *au = NULL;
    /* Below an unsigned delegation: the parent's NSEC speaks only for the cut. */
    ASSERT_EQ(dr_aggr_prove(t, N("x.insec.alg13.test."), DR_TYPE_A, NOW, &rcode, &au), 0);
    /* Under the wildcard *.w: the name may exist by expansion. */
    ASSERT_EQ(dr_aggr_prove(t, N("foo.w.alg13.test."), DR_TYPE_A, NOW, &rcode, &au), 0);
    /* A zone nothing was kept for. */
    ASSERT_EQ(dr_aggr_prove(t, N("nope.other.test."), DR_TYPE_A, NOW, &rcode, &au), 0);
    /* Past the records' lifetime (300 s). */
    ASSERT_EQ(dr_aggr_prove(t, N("nope.alg13.test."), DR_TYPE_A, NOW + 300, &rcode, &au), 0);
    ASSERT_NULL(au);
    dc_lru_free(t);
}

static void
test_wildcard_nodata(void)
{
    struct dc_lru *t = filled();
    int rcode = -1;
    ldns_rr_list *au = NULL;
    /* *.w.alg13.test. has A and TXT only (see the zone): foo.w AAAA is wildcard NODATA. */
    int rc = dr_aggr_prove(t, N("foo.w.alg13.test."), DR_TYPE_AAAA, NOW, &rcode, &au);
    ASSERT_EQ(rc, 1);
    ASSERT_EQ(rcode, DR_RCODE_NOERROR);
    ldns_rr_list_deep_free(au);
    dc_lru_free(t);
}

static void
test_store_needs_soa_and_signatures(void)
{
    struct dc_lru *t = dc_lru_new(1 << 20, 1);
    ldns_rr_list *nsec_only = pick_type(zone, LDNS_RR_TYPE_NSEC);
    ASSERT_EQ(dr_aggr_store(t, N("alg13.test."), nsec_only, NOW), 1);
    ldns_rr_list *unsigned_au = ldns_rr_list_new();
    for (size_t i = 0; i < ldns_rr_list_rr_count(authority); i++)
        if (ldns_rr_get_type(ldns_rr_list_rr(authority, i)) != LDNS_RR_TYPE_RRSIG)
            ldns_rr_list_push_rr(unsigned_au, ldns_rr_list_rr(authority, i));
    ASSERT_EQ(dr_aggr_store(t, N("alg13.test."), unsigned_au, NOW), 1);
    int rcode;
    ldns_rr_list *au = NULL;
    ASSERT_EQ(dr_aggr_prove(t, N("nope.alg13.test."), DR_TYPE_A, NOW, &rcode, &au), 0);
    ldns_rr_list_free(unsigned_au);
    ldns_rr_list_deep_free(nsec_only);
    dc_lru_free(t);
}

static void
test_second_store_merges(void)
{
    /* Two answers, each with part of the chain: together they prove what neither did. */
    struct dc_lru *t = dc_lru_new(1 << 20, 1);
    ldns_rr_list *a = ldns_rr_list_new(), *b = ldns_rr_list_new();
    for (size_t i = 0; i < ldns_rr_list_rr_count(authority); i++) {
        ldns_rr *rr = ldns_rr_list_rr(authority, i);
        const uint8_t *o = ldns_rdf_data(ldns_rr_owner(rr));
        bool apex = dr_dname_equal(o, N("alg13.test."));
        bool www = dr_dname_equal(o, N("www.alg13.test."));
        if (apex || !www)
            ldns_rr_list_push_rr(a, rr);
        if (apex || www)
            ldns_rr_list_push_rr(b, rr);
    }
    ASSERT_EQ(dr_aggr_store(t, N("alg13.test."), b, NOW), 0);
    int rcode;
    ldns_rr_list *au = NULL;
    ASSERT_EQ(dr_aggr_prove(t, N("nope.alg13.test."), DR_TYPE_A, NOW, &rcode, &au), 0);
    ASSERT_EQ(dr_aggr_store(t, N("alg13.test."), a, NOW), 0);
    ASSERT_EQ(dr_aggr_prove(t, N("nope.alg13.test."), DR_TYPE_A, NOW, &rcode, &au), 1);
    ldns_rr_list_deep_free(au);
    ldns_rr_list_free(a);
    ldns_rr_list_free(b);
    dc_lru_free(t);
}

/* Whether the stored records still answer for a name of alg13.test. */
static bool
proves(struct dc_lru *t)
{
    int rcode;
    ldns_rr_list *au = NULL;
    int r = dr_aggr_prove(t, N("nope.alg13.test."), DR_TYPE_A, NOW, &rcode, &au);
    ldns_rr_list_deep_free(au);
    return r == 1;
}

/* duet-control flush: a name in the zone (subtree or not) and a subtree above it remove the
 * zone's records; a name elsewhere, or above the zone without subtree, leaves them. */
static void
test_flush(void)
{
    struct dc_lru *t = filled();
    /* names elsewhere, or below the zone without subtree... */
    ASSERT_EQ(dr_aggr_flush(t, N("other.test."), true), 0);
    ASSERT_EQ(dr_aggr_flush(t, N("test."), false), 0);
    ASSERT(proves(t));
    /* ...leave it; a name in the zone takes the zone's records with it */
    ASSERT_EQ(dr_aggr_flush(t, N("nope.alg13.test."), false), 1);
    ASSERT(!proves(t));
    dc_lru_free(t);
    /* a subtree above the zone */
    t = filled();
    ASSERT_EQ(dr_aggr_flush(t, N("test."), true), 1);
    ASSERT(!proves(t));
    dc_lru_free(t);
    /* everything */
    t = filled();
    ASSERT_EQ(dr_aggr_flush(t, NULL, false), 1);
    ASSERT(!proves(t));
    ASSERT_EQ(dr_aggr_flush(NULL, NULL, false), 0);
    dc_lru_free(t);
}

int
main(void)
{
    zone = zone_parse(alg13_zone);
    authority = negative_authority();
    TEST_RUN(test_nxdomain);
    TEST_RUN(test_nodata);
    TEST_RUN(test_no_proof);
    TEST_RUN(test_wildcard_nodata);
    TEST_RUN(test_store_needs_soa_and_signatures);
    TEST_RUN(test_second_store_merges);
    TEST_RUN(test_flush);
    ldns_rr_list_free(authority);
    ldns_rr_list_deep_free(zone);
    return 0;
}
