/*
 * Unit tests for resolver/scrub.c: the bailiwick rules, on both sides. Each rule is shown
 * accepting what a correct server sends and refusing what a hostile or broken one could:
 * names at the zone boundary and siblings sharing a suffix, referrals sideways or upward,
 * negative answers with a foreign SOA, addresses of the wrong size.
 */
#include "resolver/scrub.h"

#include <arpa/inet.h>

#include "resolver/dname.h"
#include "resolver/msg.h"

#include "reply_text.h"
#include "test.h"

/* ---- owner tests ---- */

static void
test_owner_is_ignores_case(void)
{
    uint8_t n[DR_NAME_MAX];
    ldns_rr *rr = rr_text("WWW.Example. 300 IN A 192.0.2.1");
    wname("www.example.", n);
    ASSERT(dr_scrub_owner_is(rr, n));
    wname("www.EXAMPLE.", n);
    ASSERT(dr_scrub_owner_is(rr, n));
    wname("example.", n);
    ASSERT(!dr_scrub_owner_is(rr, n)); /* the zone is not the name */
    wname("a.www.example.", n);
    ASSERT(!dr_scrub_owner_is(rr, n));
    wname("xwww.example.", n);
    ASSERT(!dr_scrub_owner_is(rr, n));
    ldns_rr_free(rr);
}

static void
test_owner_under_boundary(void)
{
    uint8_t zone[DR_NAME_MAX], root[DR_NAME_MAX];
    wname("Example.", zone);
    wname(".", root);
    ldns_rr *apex = rr_text("example. 300 IN NS ns.example.");
    ldns_rr *below = rr_text("A.B.EXAMPLE. 300 IN A 192.0.2.1");
    ldns_rr *sibling = rr_text("xexample. 300 IN A 192.0.2.1");
    ldns_rr *sibling_below = rr_text("www.xexample. 300 IN A 192.0.2.1");
    ldns_rr *parent = rr_text("com. 300 IN A 192.0.2.1");
    ASSERT(dr_scrub_owner_under(apex, zone)); /* the zone itself is in its bailiwick */
    ASSERT(dr_scrub_owner_under(below, zone));
    ASSERT(!dr_scrub_owner_under(sibling, zone)); /* a common suffix is not a label */
    ASSERT(!dr_scrub_owner_under(sibling_below, zone));
    ASSERT(!dr_scrub_owner_under(parent, zone));
    ASSERT(dr_scrub_owner_under(sibling, root)); /* everything is under the root */

    uint8_t child[DR_NAME_MAX];
    wname("b.example.", child);
    ASSERT(!dr_scrub_owner_under(apex, child)); /* a parent is not under its child */
    ASSERT(dr_scrub_owner_under(below, child));
    ldns_rr_free(apex);
    ldns_rr_free(below);
    ldns_rr_free(sibling);
    ldns_rr_free(sibling_below);
    ldns_rr_free(parent);
}

/* A record without an owner, or with an owner too long to be a name, is owned by nothing. */
static void
test_owner_missing_or_oversized(void)
{
    uint8_t root[DR_NAME_MAX];
    wname(".", root);
    ldns_rr *rr = ldns_rr_new();
    ASSERT_NOT_NULL(rr);
    ASSERT(!dr_scrub_owner_is(rr, root));
    ASSERT(!dr_scrub_owner_under(rr, root));
    ASSERT_NULL(dr_scrub_name(NULL));

    uint8_t big[DR_NAME_MAX + 1];
    memset(big, 1, sizeof(big));
    ldns_rdf *o = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, sizeof(big), big);
    ASSERT_NOT_NULL(o);
    ldns_rr_set_owner(rr, o);
    ASSERT_NULL(dr_scrub_name(o));
    ASSERT(!dr_scrub_owner_under(rr, root));
    ldns_rr_free(rr);
}

/* ---- referrals ---- */

static const uint8_t *
referral(const char *zone, const char *sent, const char *records, ldns_pkt **p)
{
    uint8_t z[DR_NAME_MAX], s[DR_NAME_MAX];
    wname(zone, z);
    wname(sent, s);
    *p = reply_text(DR_RCODE_NOERROR, false, records);
    return dr_scrub_referral(*p, z, s);
}

static void
test_referral_downward_accepted(void)
{
    ldns_pkt *p;
    uint8_t want[DR_NAME_MAX];
    const uint8_t *cut = referral("test.", "www.Site1.test.",
                                  "au SITE1.test. 300 IN NS ns1.site1.test.\n"
                                  "ad ns1.site1.test. 300 IN A 192.0.2.1\n",
                                  &p);
    wname("site1.test.", want);
    ASSERT_NOT_NULL(cut);
    ASSERT(dr_dname_equal(cut, want));
    ldns_pkt_free(p);

    /* From the root, and to the name sent itself (qname minimisation sends the cut). */
    cut = referral(".", "test.", "au test. 300 IN NS ns1.nic.test.\n", &p);
    wname("test.", want);
    ASSERT_NOT_NULL(cut);
    ASSERT(dr_dname_equal(cut, want));
    ldns_pkt_free(p);

    /* Several labels down at once: a server may hold the zones in between. */
    cut = referral("test.", "x.a.b.test.", "au a.b.test. 300 IN NS ns.a.b.test.\n", &p);
    wname("a.b.test.", want);
    ASSERT_NOT_NULL(cut);
    ASSERT(dr_dname_equal(cut, want));
    ldns_pkt_free(p);
}

static void
test_referral_to_zone_itself_refused(void)
{
    ldns_pkt *p;
    /* An authoritative answer's NS set for its own zone is not a referral. */
    ASSERT_NULL(referral("site1.test.", "www.site1.test.",
                         "au site1.test. 300 IN NS ns1.site1.test.\n", &p));
    ldns_pkt_free(p);
    ASSERT_NULL(referral("Site1.Test.", "www.site1.test.",
                         "au SITE1.TEST. 300 IN NS ns1.site1.test.\n", &p));
    ldns_pkt_free(p);
}

static void
test_referral_upward_refused(void)
{
    ldns_pkt *p;
    ASSERT_NULL(
        referral("site1.test.", "www.site1.test.", "au test. 300 IN NS ns1.nic.test.\n", &p));
    ldns_pkt_free(p);
    /* The classic lame "upward referral" to the root. */
    ASSERT_NULL(
        referral("site1.test.", "www.site1.test.", "au . 300 IN NS a.root-servers.lab.\n", &p));
    ldns_pkt_free(p);
}

static void
test_referral_sideways_refused(void)
{
    ldns_pkt *p;
    ASSERT_NULL(referral("site1.test.", "www.site1.test.",
                         "au site2.test. 300 IN NS ns1.site2.test.\n", &p));
    ldns_pkt_free(p);
    ASSERT_NULL(referral("example.", "www.example.", "au xexample. 300 IN NS ns.xexample.\n", &p));
    ldns_pkt_free(p);
    ASSERT_NULL(referral("test.", "www.site1.test.", "au evil. 300 IN NS ns.evil.\n", &p));
    ldns_pkt_free(p);
}

/* Below the zone but not above the question: a delegation for some other name. */
static void
test_referral_not_enclosing_name_refused(void)
{
    ldns_pkt *p;
    ASSERT_NULL(
        referral("test.", "www.site1.test.", "au site2.test. 300 IN NS ns1.site2.test.\n", &p));
    ldns_pkt_free(p);
    ASSERT_NULL(
        referral("test.", "www.site1.test.", "au xsite1.test. 300 IN NS ns1.xsite1.test.\n", &p));
    ldns_pkt_free(p);
    /* Deeper than the name sent (a minimised query must not learn the child's cut). */
    ASSERT_NULL(
        referral("test.", "site1.test.", "au www.site1.test. 300 IN NS ns1.site1.test.\n", &p));
    ldns_pkt_free(p);
}

/* Only an NS set in the authority section makes a referral; a good one after bad ones
 * is found. */
static void
test_referral_section_and_order(void)
{
    ldns_pkt *p;
    ASSERT_NULL(referral("test.", "www.site1.test.",
                         "an site1.test. 300 IN NS ns1.site1.test.\n"
                         "ad site1.test. 300 IN NS ns1.site1.test.\n"
                         "au site1.test. 300 IN A 192.0.2.1\n"
                         "au site1.test. 300 IN DS 1 8 2 "
                         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n",
                         &p));
    ldns_pkt_free(p);

    uint8_t want[DR_NAME_MAX];
    wname("site1.test.", want);
    const uint8_t *cut = referral("test.", "www.site1.test.",
                                  "au . 300 IN NS a.root-servers.lab.\n"
                                  "au site2.test. 300 IN NS ns1.site2.test.\n"
                                  "au test. 300 IN NS ns1.nic.test.\n"
                                  "au site1.test. 300 IN NS ns1.site1.test.\n",
                                  &p);
    ASSERT_NOT_NULL(cut);
    ASSERT(dr_dname_equal(cut, want));
    ldns_pkt_free(p);
}

/* ---- negative answers' SOA ---- */

static ldns_rr_list *
neg_soa(const char *zone, const char *name, const char *records)
{
    uint8_t z[DR_NAME_MAX], n[DR_NAME_MAX];
    wname(zone, z);
    wname(name, n);
    ldns_pkt *p = reply_text(DR_RCODE_NXDOMAIN, true, records);
    ldns_rr_list *l = dr_scrub_negative_soa(p, z, n);
    ldns_pkt_free(p); /* the result is a copy: it outlives the reply */
    return l;
}

#define SOA(owner) owner " 3600 IN SOA ns1." owner " host." owner " 1 3600 900 604800 300\n"

static void
test_negative_soa_accepted(void)
{
    ldns_rr_list *l = neg_soa("example.", "nx.example.", "au " SOA("Example."));
    ASSERT_NOT_NULL(l);
    ASSERT_EQ(ldns_rr_list_rr_count(l), 1);
    ASSERT(has_rr(l, SOA("example.")));
    ldns_rr_list_deep_free(l);
    /* The zone's own apex, asked about the apex. */
    l = neg_soa("example.", "example.", "au " SOA("example."));
    ASSERT_NOT_NULL(l);
    ldns_rr_list_deep_free(l);
    /* A zone below the one asked that the same server holds (no referral between). */
    l = neg_soa("example.", "x.sub.example.", "au " SOA("sub.example."));
    ASSERT_NOT_NULL(l);
    ASSERT(has_rr(l, SOA("sub.example.")));
    ldns_rr_list_deep_free(l);
}

static void
test_negative_soa_outside_zone_refused(void)
{
    /* An ancestor of the name, but above the zone the server was asked for. */
    ASSERT_NULL(neg_soa("sub.example.", "x.sub.example.", "au " SOA("example.")));
    ASSERT_NULL(neg_soa("sub.example.", "x.sub.example.",
                        "au . 3600 IN SOA a.root. host.root. 1 3600 900 604800 300\n"));
    ASSERT_NULL(neg_soa("example.", "www.example.", "au " SOA("evil.")));
    ASSERT_NULL(neg_soa("example.", "www.example.", "au " SOA("xexample.")));
}

static void
test_negative_soa_not_ancestor_refused(void)
{
    ASSERT_NULL(neg_soa("example.", "www.example.", "au " SOA("other.example.")));
    ASSERT_NULL(neg_soa("example.", "www.example.", "au " SOA("xwww.example.")));
    /* Below the name is not above it. */
    ASSERT_NULL(neg_soa("example.", "example.", "au " SOA("www.example.")));
}

static void
test_negative_soa_other_sections_ignored(void)
{
    ASSERT_NULL(neg_soa("example.", "www.example.", "an " SOA("example.")));
    ASSERT_NULL(neg_soa("example.", "www.example.", "ad " SOA("example.")));
    /* Only SOA records count; a good one after a bad one is found. */
    ASSERT_NULL(neg_soa("example.", "www.example.", "au example. 300 IN NS ns1.example.\n"));
    ldns_rr_list *l = neg_soa("example.", "www.example.", "au " SOA("evil.") "au " SOA("example."));
    ASSERT_NOT_NULL(l);
    ASSERT_EQ(ldns_rr_list_rr_count(l), 1);
    ASSERT(has_rr(l, SOA("example.")));
    ldns_rr_list_deep_free(l);
}

/* ---- addresses ---- */

static void
test_address_accepted(void)
{
    union dc_sockaddr sa;
    ldns_rr *a = rr_text("ns1.example. 300 IN A 192.0.2.53");
    ASSERT(dr_scrub_address(a, &sa));
    ASSERT_EQ(sa.sa.sa_family, AF_INET);
    ASSERT_EQ(ntohs(sa.in.sin_port), 53);
    ASSERT_UINT_EQ(ntohl(sa.in.sin_addr.s_addr), 0xc0000235u);
    ldns_rr_free(a);

    ldns_rr *aaaa = rr_text("ns1.example. 300 IN AAAA 2001:db8::53");
    ASSERT(dr_scrub_address(aaaa, &sa));
    ASSERT_EQ(sa.sa.sa_family, AF_INET6);
    ASSERT_EQ(ntohs(sa.in6.sin6_port), 53);
    ASSERT_EQ(sa.in6.sin6_addr.s6_addr[0], 0x20);
    ASSERT_EQ(sa.in6.sin6_addr.s6_addr[15], 0x53);
    ldns_rr_free(aaaa);
}

static void
assert_refused_address(ldns_rr *rr)
{
    union dc_sockaddr sa;
    memset(&sa, 0xAA, sizeof(sa));
    ASSERT(!dr_scrub_address(rr, &sa));
    ASSERT_EQ(sa.sa.sa_family, 0); /* nothing half-filled */
    ldns_rr_free(rr);
}

static void
test_address_wrong_size_refused(void)
{
    static const uint8_t bytes[17] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17};
    assert_refused_address(rr_raw("ns1.example.", LDNS_RR_TYPE_A, LDNS_RDF_TYPE_A, bytes, 3));
    assert_refused_address(rr_raw("ns1.example.", LDNS_RR_TYPE_A, LDNS_RDF_TYPE_A, bytes, 5));
    assert_refused_address(rr_raw("ns1.example.", LDNS_RR_TYPE_A, LDNS_RDF_TYPE_A, bytes, 16));
    assert_refused_address(
        rr_raw("ns1.example.", LDNS_RR_TYPE_AAAA, LDNS_RDF_TYPE_AAAA, bytes, 15));
    assert_refused_address(
        rr_raw("ns1.example.", LDNS_RR_TYPE_AAAA, LDNS_RDF_TYPE_AAAA, bytes, 17));
    assert_refused_address(rr_raw("ns1.example.", LDNS_RR_TYPE_AAAA, LDNS_RDF_TYPE_A, bytes, 4));
}

static void
test_address_other_types_refused(void)
{
    assert_refused_address(rr_text("ns1.example. 300 IN TXT \"1234\""));
    assert_refused_address(rr_text("ns1.example. 300 IN NS a.b."));
    static const uint8_t four[4] = {192, 0, 2, 1};
    assert_refused_address(rr_raw("ns1.example.", LDNS_RR_TYPE_TXT, LDNS_RDF_TYPE_A, four, 4));
    /* An A without rdata. */
    ldns_rr *rr = ldns_rr_new();
    ASSERT_NOT_NULL(rr);
    ldns_rr_set_type(rr, LDNS_RR_TYPE_A);
    assert_refused_address(rr);
}

/* ---- collecting records ---- */

static ldns_rr_list *
answer_of(ldns_pkt *p, const char *owner, ldns_rr_type type, uint16_t rclass)
{
    uint8_t n[DR_NAME_MAX];
    wname(owner, n);
    return dr_scrub_collect(ldns_pkt_answer(p), n, type, rclass);
}

static void
test_collect_filters(void)
{
    ldns_pkt *p = reply_text(DR_RCODE_NOERROR, true,
                             "an WWW.example. 300 IN A 192.0.2.1\n"
                             "an www.example. 300 IN AAAA 2001:db8::1\n"
                             "an www.example. 300 IN A 192.0.2.2\n"
                             "an www.example. 300 CH A 192.0.2.3\n"
                             "an xwww.example. 300 IN A 192.0.2.4\n"
                             "an a.www.example. 300 IN A 192.0.2.5\n"
                             "an example. 300 IN A 192.0.2.6\n");
    ldns_rr_list *l = answer_of(p, "www.EXAMPLE.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN);
    ASSERT_NOT_NULL(l);
    ASSERT_EQ(ldns_rr_list_rr_count(l), 2);
    ASSERT(has_rr(l, "www.example. 300 IN A 192.0.2.2"));
    ASSERT(!has_rr(l, "www.example. 300 CH A 192.0.2.3"));
    ldns_rr_list_deep_free(l);

    l = answer_of(p, "www.example.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_CH);
    ASSERT_NOT_NULL(l);
    ASSERT_EQ(ldns_rr_list_rr_count(l), 1);
    ldns_rr_list_deep_free(l);

    l = answer_of(p, "www.example.", LDNS_RR_TYPE_AAAA, LDNS_RR_CLASS_IN);
    ASSERT_NOT_NULL(l);
    ASSERT_EQ(ldns_rr_list_rr_count(l), 1);
    ldns_rr_list_deep_free(l);

    /* Nothing of the type, nothing for the name: NULL, not an empty list. */
    ASSERT_NULL(answer_of(p, "www.example.", LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_IN));
    ASSERT_NULL(answer_of(p, "b.example.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN));
    ASSERT_NULL(answer_of(p, "www.example.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_HS));

    /* ANY: every type the name has, of the class asked. */
    l = answer_of(p, "www.example.", LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_IN);
    ASSERT_NOT_NULL(l);
    ASSERT_EQ(ldns_rr_list_rr_count(l), 3);
    ldns_pkt_free(p);
    /* Copies: still readable after the reply is gone. */
    ASSERT(has_rr(l, "www.example. 300 IN AAAA 2001:db8::1"));
    ldns_rr_list_deep_free(l);
}

int
main(void)
{
    TEST_RUN(test_owner_is_ignores_case);
    TEST_RUN(test_owner_under_boundary);
    TEST_RUN(test_owner_missing_or_oversized);
    TEST_RUN(test_referral_downward_accepted);
    TEST_RUN(test_referral_to_zone_itself_refused);
    TEST_RUN(test_referral_upward_refused);
    TEST_RUN(test_referral_sideways_refused);
    TEST_RUN(test_referral_not_enclosing_name_refused);
    TEST_RUN(test_referral_section_and_order);
    TEST_RUN(test_negative_soa_accepted);
    TEST_RUN(test_negative_soa_outside_zone_refused);
    TEST_RUN(test_negative_soa_not_ancestor_refused);
    TEST_RUN(test_negative_soa_other_sections_ignored);
    TEST_RUN(test_address_accepted);
    TEST_RUN(test_address_wrong_size_refused);
    TEST_RUN(test_address_other_types_refused);
    TEST_RUN(test_collect_filters);
    return 0;
}
