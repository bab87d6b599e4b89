/* Unit tests for resolver/localzone.c: zones come from config text loaded through the real
 * schema, questions are built by hand, and replies are checked by parsing them with ldns. */
#include "resolver/localzone.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include <ldns/ldns.h>

#include "resolver/conf.h"
#include "resolver/dname.h"
#include "resolver/msg.h"
#include "test.h"

#include "count_alloc.h"

static const char zones_text[] =
    "[local-zone site1.test]\n"
    "type = static\n"
    "data = site1.test. 300 IN A 127.0.0.1\n"
    "data = www.site1.test. 300 IN A 127.0.0.2\n"
    "data = site1.test. 7200 SOA ns.site1.test. admin.site1.test. 1 3600 600 86400 60\n"
    "data = alias.site1.test. 300 CNAME www.site1.test.\n"
    "data = a.deep.site1.test. TXT \"hi there\"\n"
    "data = WWW.site1.test 300 A 127.0.0.2\n" /* a duplicate: served once */
    "data = www.site1.test. 300 IN A 127.0.0.3\n"
    "\n"
    "[local-zone inner.site1.test]\n"
    "type = transparent\n"
    "data = x.inner.site1.test. 60 A 192.0.2.8\n"
    "\n"
    "[local-zone redir.test]\n"
    "type = redirect\n"
    "data = redir.test. 600 A 192.0.2.1\n"
    "data = redir.test. SOA ns.redir.test. admin.redir.test. 1 3600 600 86400 30\n"
    "data = ignored.redir.test. A 192.0.2.99\n"
    "\n"
    "[local-zone refused.test]\n"
    "type = refuse\n"
    "data = refused.test. A 192.0.2.9\n"
    "\n"
    "[local-zone tr.test]\n"
    "type = transparent\n"
    "data = known.tr.test. 120 A 192.0.2.7\n"
    "data = known.tr.test. 120 TXT x\n"
    "data = link.tr.test. 120 CNAME known.tr.test.\n"
    "\n"
    "[local-zone st.tr.test]\n"
    "type = static\n"
    "data = st.tr.test. 60 A 192.0.2.6\n"
    "\n"
    "[local-zone nosoa.test]\n"
    "data = nosoa.test. 60 A 192.0.2.5\n";

/* Loads text through the resolver's schema (which builds conf->local); returns the
 * configuration and stores the error count. */
static struct dr_conf *
load(const char *text, struct dc_conf_errors *errs, int *nerr)
{
    struct dr_conf *c = dr_conf_new();
    ASSERT_NOT_NULL(c);
    *nerr = dc_conf_load_string(&dr_conf_schema, "t.conf", text, c, &c->arena, errs);
    return c;
}

static struct dr_conf *
load_ok(const char *text)
{
    struct dc_conf_errors errs = {0};
    int nerr;
    struct dr_conf *c = load(text, &errs, &nerr);
    if (nerr != 0) {
        dc_conf_errors_print(&errs, stderr);
        TEST_FAIL("config had %d errors", nerr);
    }
    dc_conf_errors_deinit(&errs);
    ASSERT_NOT_NULL(c->local);
    return c;
}

static struct dr_msg_query
query(const char *name, uint16_t qtype, uint16_t flags)
{
    struct dr_msg_query q;
    memset(&q, 0, sizeof(q));
    q.id = 0xbeef;
    q.flags = flags;
    q.qtype = qtype;
    q.qclass = DR_CLASS_IN;
    int n = dr_dname_from_str(name, q.qname);
    if (n < 0)
        TEST_FAIL("bad name %s", name);
    q.qname_len = (uint8_t)n;
    return q;
}

static uint8_t out[4096];

/* Answers name/qtype (RD set) from l and parses the reply; the reply must be well formed and
 * echo ID, RD and the question exactly as asked. */
static ldns_pkt *
ask(const struct dr_local *l, const char *name, uint16_t qtype)
{
    struct dr_msg_query q = query(name, qtype, DR_FLAG_RD);
    int n = dr_local_answer(l, &q, out, sizeof(out));
    if (n <= 0)
        TEST_FAIL("dr_local_answer(%s, %u) = %d", name, qtype, n);
    ldns_pkt *p = NULL;
    ASSERT_EQ(ldns_wire2pkt(&p, out, (size_t)n), LDNS_STATUS_OK);
    ASSERT_EQ(ldns_pkt_id(p), 0xbeef);
    ASSERT(ldns_pkt_qr(p));
    ASSERT(ldns_pkt_aa(p));
    ASSERT(ldns_pkt_ra(p));
    ASSERT(ldns_pkt_rd(p));
    ASSERT(!ldns_pkt_tc(p));
    ASSERT_EQ(ldns_pkt_get_opcode(p), LDNS_PACKET_QUERY);
    ASSERT_EQ(ldns_pkt_qdcount(p), 1);
    ASSERT_EQ(ldns_pkt_arcount(p), 0);
    ASSERT(memcmp(out + DR_HEADER_LEN, q.qname, q.qname_len) == 0); /* the client's case */
    ASSERT_EQ(dr_get16(out + DR_HEADER_LEN + q.qname_len), qtype);
    return p;
}

static bool
passes(const struct dr_local *l, const char *name, uint16_t qtype)
{
    struct dr_msg_query q = query(name, qtype, 0);
    return dr_local_answer(l, &q, out, sizeof(out)) == DR_LOCAL_PASS;
}

/* Record i of a section in presentation form, without the trailing newline. */
static char rr_buf[512];
static const char *
rr_at(const ldns_rr_list *list, size_t i)
{
    ASSERT_LT(i, ldns_rr_list_rr_count(list));
    char *s = ldns_rr2str(ldns_rr_list_rr(list, i));
    ASSERT_NOT_NULL(s);
    snprintf(rr_buf, sizeof(rr_buf), "%s", s);
    free(s);
    size_t n = strlen(rr_buf);
    if (n > 0 && rr_buf[n - 1] == '\n')
        rr_buf[n - 1] = '\0';
    return rr_buf;
}

static void
test_empty_config_gives_empty_table(void)
{
    struct dr_conf *c = load_ok("workers = 1\n");
    ASSERT_EQ(dr_local_count(c->local), 0);
    ASSERT(passes(c->local, "www.site1.test", DR_TYPE_A));
    ASSERT(passes(NULL, "www.site1.test", DR_TYPE_A));
    ASSERT_EQ(dr_local_count(NULL), 0);
    dr_conf_free(c);
}

static void
test_static_hit(void)
{
    struct dr_conf *c = load_ok(zones_text);
    ASSERT_EQ(dr_local_count(c->local), 7);
    ldns_pkt *p = ask(c->local, "www.site1.test", DR_TYPE_A);
    ASSERT_EQ(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
    ASSERT_EQ(ldns_pkt_ancount(p), 2); /* the duplicate line is served once */
    ASSERT_EQ(ldns_pkt_nscount(p), 0);
    ASSERT_STR_EQ(rr_at(ldns_pkt_answer(p), 0), "www.site1.test.\t300\tIN\tA\t127.0.0.2");
    ASSERT_STR_EQ(rr_at(ldns_pkt_answer(p), 1), "www.site1.test.\t300\tIN\tA\t127.0.0.3");
    ldns_pkt_free(p);

    /* The apex; and a TTL left out becomes 3600. */
    p = ask(c->local, "site1.test", DR_TYPE_A);
    ASSERT_EQ(ldns_pkt_ancount(p), 1);
    ASSERT_STR_EQ(rr_at(ldns_pkt_answer(p), 0), "site1.test.\t300\tIN\tA\t127.0.0.1");
    ldns_pkt_free(p);
    p = ask(c->local, "a.deep.site1.test", DR_TYPE_TXT);
    ASSERT_STR_EQ(rr_at(ldns_pkt_answer(p), 0), "a.deep.site1.test.\t3600\tIN\tTXT\t\"hi there\"");
    ldns_pkt_free(p);

    /* SOA asked for directly: its own TTL, not the negative one. */
    p = ask(c->local, "site1.test", DR_TYPE_SOA);
    ASSERT_EQ(ldns_pkt_ancount(p), 1);
    ASSERT_STR_CONTAINS(rr_at(ldns_pkt_answer(p), 0), "site1.test.\t7200\tIN\tSOA\t");
    ldns_pkt_free(p);
    dr_conf_free(c);
}

static void
test_static_nodata_has_soa(void)
{
    struct dr_conf *c = load_ok(zones_text);
    ldns_pkt *p = ask(c->local, "www.site1.test", DR_TYPE_AAAA);
    ASSERT_EQ(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
    ASSERT_EQ(ldns_pkt_ancount(p), 0);
    ASSERT_EQ(ldns_pkt_nscount(p), 1);
    /* TTL min(7200, MINIMUM 60), RFC 2308. */
    ASSERT_STR_EQ(rr_at(ldns_pkt_authority(p), 0),
                  "site1.test.\t60\tIN\tSOA\tns.site1.test. admin.site1.test. 1 3600 600 86400 60");
    ldns_pkt_free(p);

    /* An empty non-terminal exists: NODATA, not NXDOMAIN. */
    p = ask(c->local, "deep.site1.test", DR_TYPE_A);
    ASSERT_EQ(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
    ASSERT_EQ(ldns_pkt_ancount(p), 0);
    ASSERT_EQ(ldns_pkt_nscount(p), 1);
    ldns_pkt_free(p);

    /* A zone without a SOA answers NODATA with an empty authority section. */
    p = ask(c->local, "nosoa.test", DR_TYPE_MX);
    ASSERT_EQ(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
    ASSERT_EQ(ldns_pkt_ancount(p) + ldns_pkt_nscount(p), 0);
    ldns_pkt_free(p);
    dr_conf_free(c);
}

static void
test_static_nxdomain(void)
{
    struct dr_conf *c = load_ok(zones_text);
    /* Below a name with data, and beside it; the SOA owner is the apex. */
    const char *names[] = {"nope.site1.test", "sub.www.site1.test", "b.deep.site1.test"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        ldns_pkt *p = ask(c->local, names[i], DR_TYPE_A);
        ASSERT_EQ(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
        ASSERT_EQ(ldns_pkt_ancount(p), 0);
        ASSERT_EQ(ldns_pkt_nscount(p), 1);
        ASSERT_STR_CONTAINS(rr_at(ldns_pkt_authority(p), 0), "site1.test.\t60\tIN\tSOA\t");
        ldns_pkt_free(p);
    }
    ldns_pkt *p = ask(c->local, "gone.nosoa.test", DR_TYPE_A);
    ASSERT_EQ(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
    ASSERT_EQ(ldns_pkt_nscount(p), 0);
    ldns_pkt_free(p);
    dr_conf_free(c);
}

static void
test_cname_and_any(void)
{
    struct dr_conf *c = load_ok(zones_text);
    /* Any type at a CNAME gets the CNAME, not chased. */
    ldns_pkt *p = ask(c->local, "alias.site1.test", DR_TYPE_AAAA);
    ASSERT_EQ(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
    ASSERT_EQ(ldns_pkt_ancount(p), 1);
    ASSERT_STR_EQ(rr_at(ldns_pkt_answer(p), 0),
                  "alias.site1.test.\t300\tIN\tCNAME\twww.site1.test.");
    ldns_pkt_free(p);

    /* ANY: every set at the name. */
    p = ask(c->local, "site1.test", DR_TYPE_ANY);
    ASSERT_EQ(ldns_pkt_ancount(p), 2);
    ASSERT_STR_EQ(rr_at(ldns_pkt_answer(p), 0), "site1.test.\t300\tIN\tA\t127.0.0.1");
    ASSERT_STR_CONTAINS(rr_at(ldns_pkt_answer(p), 1), "site1.test.\t7200\tIN\tSOA\t");
    ldns_pkt_free(p);
    dr_conf_free(c);
}

static void
test_case_id_and_rd_are_the_clients(void)
{
    struct dr_conf *c = load_ok(zones_text);
    ldns_pkt *p = ask(c->local, "WwW.SiTe1.TeSt", DR_TYPE_A);
    ASSERT_STR_EQ(rr_at(ldns_pkt_answer(p), 0), "WwW.SiTe1.TeSt.\t300\tIN\tA\t127.0.0.2");
    ldns_pkt_free(p);
    p = ask(c->local, "NoPe.SITE1.test", DR_TYPE_A);
    ASSERT_STR_CONTAINS(rr_at(ldns_pkt_authority(p), 0), "SITE1.test.\t60\tIN\tSOA");
    ldns_pkt_free(p);

    /* Without RD, with CD, another ID. */
    struct dr_msg_query q = query("www.site1.test", DR_TYPE_A, DR_FLAG_CD);
    q.id = 0x0102;
    int n = dr_local_answer(c->local, &q, out, sizeof(out));
    ASSERT_GT(n, 0);
    ASSERT_EQ(dr_get16(out), 0x0102);
    ASSERT_EQ(dr_get16(out + 2), DR_FLAG_QR | DR_FLAG_AA | DR_FLAG_RA | DR_FLAG_CD);
    dr_conf_free(c);
}

static void
test_redirect(void)
{
    struct dr_conf *c = load_ok(zones_text);
    const char *names[] = {"redir.test", "Anything.Redir.test", "a.b.c.redir.test",
                           "ignored.redir.test"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        ldns_pkt *p = ask(c->local, names[i], DR_TYPE_A);
        ASSERT_EQ(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
        ASSERT_EQ(ldns_pkt_ancount(p), 1);
        char want[128];
        snprintf(want, sizeof(want), "%s.\t600\tIN\tA\t192.0.2.1", names[i]);
        ASSERT_STR_EQ(rr_at(ldns_pkt_answer(p), 0), want);
        ldns_pkt_free(p);
    }
    ldns_pkt *p = ask(c->local, "x.redir.test", DR_TYPE_AAAA);
    ASSERT_EQ(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
    ASSERT_EQ(ldns_pkt_ancount(p), 0);
    ASSERT_EQ(ldns_pkt_nscount(p), 1);
    ASSERT_STR_CONTAINS(rr_at(ldns_pkt_authority(p), 0), "redir.test.\t30\tIN\tSOA");
    ldns_pkt_free(p);
    dr_conf_free(c);
}

static void
test_refuse(void)
{
    struct dr_conf *c = load_ok(zones_text);
    const char *names[] = {"refused.test", "www.refused.test"};
    for (size_t i = 0; i < 2; i++) {
        ldns_pkt *p = ask(c->local, names[i], DR_TYPE_A);
        ASSERT_EQ(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
        ASSERT_EQ(ldns_pkt_ancount(p) + ldns_pkt_nscount(p), 0);
        ldns_pkt_free(p);
    }
    dr_conf_free(c);
}

static void
test_transparent(void)
{
    struct dr_conf *c = load_ok(zones_text);
    ldns_pkt *p = ask(c->local, "known.tr.test", DR_TYPE_A);
    ASSERT_EQ(ldns_pkt_ancount(p), 1);
    ASSERT_STR_EQ(rr_at(ldns_pkt_answer(p), 0), "known.tr.test.\t120\tIN\tA\t192.0.2.7");
    ldns_pkt_free(p);
    p = ask(c->local, "link.tr.test", DR_TYPE_A);
    ASSERT_STR_EQ(rr_at(ldns_pkt_answer(p), 0), "link.tr.test.\t120\tIN\tCNAME\tknown.tr.test.");
    ldns_pkt_free(p);
    p = ask(c->local, "known.tr.test", DR_TYPE_ANY);
    ASSERT_EQ(ldns_pkt_ancount(p), 2);
    ldns_pkt_free(p);

    ASSERT(passes(c->local, "known.tr.test", DR_TYPE_AAAA));
    ASSERT(passes(c->local, "other.tr.test", DR_TYPE_A));
    ASSERT(passes(c->local, "tr.test", DR_TYPE_A));
    dr_conf_free(c);
}

static void
test_closest_zone_wins(void)
{
    struct dr_conf *c = load_ok(zones_text);
    /* Transparent inner.site1.test inside static site1.test. */
    ldns_pkt *p = ask(c->local, "x.inner.site1.test", DR_TYPE_A);
    ASSERT_STR_EQ(rr_at(ldns_pkt_answer(p), 0), "x.inner.site1.test.\t60\tIN\tA\t192.0.2.8");
    ldns_pkt_free(p);
    ASSERT(passes(c->local, "y.inner.site1.test", DR_TYPE_A));
    ASSERT(passes(c->local, "inner.site1.test", DR_TYPE_A));
    /* Static st.tr.test inside transparent tr.test. */
    p = ask(c->local, "nothing.st.tr.test", DR_TYPE_A);
    ASSERT_EQ(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
    ldns_pkt_free(p);
    p = ask(c->local, "st.tr.test", DR_TYPE_A);
    ASSERT_STR_EQ(rr_at(ldns_pkt_answer(p), 0), "st.tr.test.\t60\tIN\tA\t192.0.2.6");
    ldns_pkt_free(p);
    dr_conf_free(c);
}

static void
test_outside_and_other_classes_pass(void)
{
    struct dr_conf *c = load_ok(zones_text);
    ASSERT(passes(c->local, "example.com", DR_TYPE_A));
    ASSERT(passes(c->local, "test", DR_TYPE_A));
    ASSERT(passes(c->local, ".", DR_TYPE_NS));
    ASSERT(passes(c->local, "xsite1.test", DR_TYPE_A));
    ASSERT(passes(c->local, "site1.test.com", DR_TYPE_A));
    struct dr_msg_query q = query("www.site1.test", DR_TYPE_A, 0);
    q.qclass = DR_CLASS_CH;
    ASSERT_EQ(dr_local_answer(c->local, &q, out, sizeof(out)), DR_LOCAL_PASS);
    q.qclass = DR_CLASS_ANY;
    ASSERT_EQ(dr_local_answer(c->local, &q, out, sizeof(out)), DR_LOCAL_PASS);
    dr_conf_free(c);
}

static void
test_enospc(void)
{
    struct dr_conf *c = load_ok(zones_text);
    const char *names[] = {"www.site1.test", "nope.site1.test", "refused.test", "a.redir.test"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct dr_msg_query q = query(names[i], DR_TYPE_A, 0);
        int n = dr_local_answer(c->local, &q, out, sizeof(out));
        ASSERT_GT(n, 0);
        uint8_t small[512];
        ASSERT_EQ(dr_local_answer(c->local, &q, small, (size_t)n - 1), -ENOSPC);
        ASSERT_EQ(dr_local_answer(c->local, &q, small, 0), -ENOSPC);
        ASSERT_EQ(dr_local_answer(c->local, &q, small, (size_t)n), n);
        ASSERT(memcmp(small, out, (size_t)n) == 0);
    }
    dr_conf_free(c);
}

static void
test_answer_allocates_nothing(void)
{
#ifndef DUET_SANITIZE
    struct dr_conf *c = load_ok(zones_text);
    struct dr_msg_query qs[] = {
        query("www.site1.test", DR_TYPE_A, 0), query("nope.site1.test", DR_TYPE_A, 0),
        query("x.redir.test", DR_TYPE_A, 0),   query("refused.test", DR_TYPE_A, 0),
        query("other.tr.test", DR_TYPE_A, 0),  query("site1.test", DR_TYPE_ANY, 0),
    };
    ASSERT_GT(n_allocs, 0); /* the interposer counts */
    size_t before = n_allocs;
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++)
        (void)dr_local_answer(c->local, &qs[i], out, sizeof(out));
    ASSERT_EQ(n_allocs, before);
    dr_conf_free(c);
#endif
}

/* Thousands of names in one zone, given in reverse order: every one is found by bisection,
 * and names between them are NXDOMAIN. */
static void
test_many_names(void)
{
    enum { N = 5000 };
    size_t cap = 64 + (size_t)N * 64;
    char *text = malloc(cap);
    ASSERT_NOT_NULL(text);
    size_t len = (size_t)snprintf(text, cap, "[local-zone big.test]\n");
    for (int i = N - 1; i >= 0; i--)
        len += (size_t)snprintf(text + len, cap - len, "data = h%d.big.test. 60 A 10.%d.%d.1\n", i,
                                i / 256, i % 256);
    struct dr_conf *c = load_ok(text);
    free(text);
    for (int i = 0; i < N; i += 7) {
        char name[64], want[128];
        snprintf(name, sizeof(name), "h%d.big.test", i);
        snprintf(want, sizeof(want), "%s.\t60\tIN\tA\t10.%d.%d.1", name, i / 256, i % 256);
        ldns_pkt *p = ask(c->local, name, DR_TYPE_A);
        ASSERT_STR_EQ(rr_at(ldns_pkt_answer(p), 0), want);
        ldns_pkt_free(p);
        snprintf(name, sizeof(name), "h%dx.big.test", i);
        p = ask(c->local, name, DR_TYPE_A);
        ASSERT_EQ(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
        ldns_pkt_free(p);
    }
    dr_conf_free(c);
}

static void
test_errors_have_file_and_line(void)
{
    static const char text[] = "[local-zone site1.test]\n"             /* 1 */
                               "data = xyz\n"                          /* 2 */
                               "data = www.site1.test. A 127.0.0.1\n"  /* 3 */
                               "data = www.site1.test. AAAA 1.2.3.4\n" /* 4 */
                               "\n"                                    /* 5 */
                               "data = a.site1.test. A\n";             /* 6 */
    struct dc_conf_errors errs = {0};
    int nerr;
    struct dr_conf *c = load(text, &errs, &nerr);
    ASSERT_EQ(nerr, 3);
    ASSERT_EQ(errs.n, 3);
    ASSERT_STR_CONTAINS(errs.msgs[0],
                        "t.conf:2: local-zone site1.test: cannot parse data 'xyz': Syntax error");
    ASSERT_STR_CONTAINS(errs.msgs[1], "t.conf:4: local-zone site1.test: cannot parse data "
                                      "'www.site1.test. AAAA 1.2.3.4': ");
    ASSERT_STR_CONTAINS(errs.msgs[2], "t.conf:6: local-zone site1.test: cannot parse data "
                                      "'a.site1.test. A': ");
    ASSERT_NULL(c->local);
    dc_conf_errors_deinit(&errs);
    dr_conf_free(c);
}

static void
test_semantic_errors(void)
{
    static const char text[] = "[local-zone site1.test]\n"                    /* 1 */
                               "data = www.other.test. A 127.0.0.1\n"         /* 2 */
                               "data = site1.test. CH TXT hi\n"               /* 3 */
                               "data = www.site1.test. A 127.0.0.1\n"         /* 4 */
                               "data = www.site1.test. CNAME x.site1.test.\n" /* 5 */
                               "data = c.site1.test. CNAME a.site1.test.\n"   /* 6 */
                               "data = c.site1.test. CNAME b.site1.test.\n"   /* 7 */
                               "data = d.site1.test. CNAME a.site1.test.\n"   /* 8 */
                               "data = d.site1.test. CNAME a.site1.test.\n"   /* 9: duplicate */
                               "[local-zone Site1.Test.]\n"                   /* 10 */
                               "data = site1.test. A 127.0.0.1\n";            /* 11 */
    struct dc_conf_errors errs = {0};
    int nerr;
    struct dr_conf *c = load(text, &errs, &nerr);
    if (nerr != 5)
        dc_conf_errors_print(&errs, stderr);
    ASSERT_EQ(nerr, 5);
    ASSERT_STR_CONTAINS(errs.msgs[0], "t.conf:2: local-zone site1.test: data "
                                      "'www.other.test. A 127.0.0.1' is outside the zone");
    ASSERT_STR_CONTAINS(errs.msgs[1], "t.conf:3: ");
    ASSERT_STR_CONTAINS(errs.msgs[1], "only class IN");
    /* Errors about a name come in name order after the parse errors. */
    ASSERT_STR_CONTAINS(errs.msgs[2], "t.conf:7: local-zone site1.test: data "
                                      "'c.site1.test. CNAME b.site1.test.': a name with a CNAME");
    ASSERT_STR_CONTAINS(errs.msgs[3], "t.conf:5: local-zone site1.test: data "
                                      "'www.site1.test. CNAME x.site1.test.': a name with a "
                                      "CNAME can hold no other data (see 'www.site1.test. A "
                                      "127.0.0.1', line 4)");
    ASSERT_STR_CONTAINS(errs.msgs[4], "t.conf:11: local-zone Site1.Test.: defined more than once");
    ASSERT_NULL(c->local);
    dc_conf_errors_deinit(&errs);
    dr_conf_free(c);
}

/* The builder called directly, as a reload would: a zone without recorded lines reports at
 * line 0 (no line part), and the caller's ctx->line is left as it was. */
static void
test_build_direct(void)
{
    char *data[] = {"site1.test. A 127.0.0.1", "bad"};
    struct dr_conf_local_zone z = {
        .name = "site1.test", .type = DR_LOCAL_STATIC, .data = {data, 2}};
    struct dr_conf conf;
    memset(&conf, 0, sizeof(conf));
    conf.local_zones = &z;
    conf.nlocal_zones = 1;
    struct dc_arena arena;
    dc_arena_init(&arena, 0);
    struct dc_conf_errors errs = {0};
    struct dc_conf_ctx ctx = {.arena = &arena, .file = "x.conf", .line = 42, .errs = &errs};
    ASSERT_NULL(dr_local_build(&conf, &ctx));
    ASSERT_EQ(errs.n, 1);
    ASSERT_STR_CONTAINS(errs.msgs[0], "x.conf: local-zone site1.test: cannot parse data 'bad'");
    ASSERT_EQ(ctx.line, 42);
    dc_conf_errors_deinit(&errs);

    z.data.n = 1;
    struct dr_local *l = dr_local_build(&conf, &ctx);
    ASSERT_NOT_NULL(l);
    ASSERT_EQ(dr_local_count(l), 1);
    ldns_pkt *p = ask(l, "site1.test", DR_TYPE_A);
    ASSERT_EQ(ldns_pkt_ancount(p), 1);
    ldns_pkt_free(p);
    dr_local_free(l);

    z.name = "bad..name";
    ASSERT_NULL(dr_local_build(&conf, &ctx));
    ASSERT_EQ(errs.n, 1);
    ASSERT_STR_CONTAINS(errs.msgs[0], "local-zone bad..name: not a domain name");
    dc_conf_errors_deinit(&errs);
    dc_arena_deinit(&arena);
}

int
main(void)
{
    TEST_RUN(test_empty_config_gives_empty_table);
    TEST_RUN(test_static_hit);
    TEST_RUN(test_static_nodata_has_soa);
    TEST_RUN(test_static_nxdomain);
    TEST_RUN(test_cname_and_any);
    TEST_RUN(test_case_id_and_rd_are_the_clients);
    TEST_RUN(test_redirect);
    TEST_RUN(test_refuse);
    TEST_RUN(test_transparent);
    TEST_RUN(test_closest_zone_wins);
    TEST_RUN(test_outside_and_other_classes_pass);
    TEST_RUN(test_enospc);
    TEST_RUN(test_answer_allocates_nothing);
    TEST_RUN(test_many_names);
    TEST_RUN(test_errors_have_file_and_line);
    TEST_RUN(test_semantic_errors);
    TEST_RUN(test_build_direct);
    return 0;
}
