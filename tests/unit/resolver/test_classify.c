/*
 * Unit tests for resolver/classify.c: what one upstream reply means for the question sent.
 * Every verdict is shown from a correct reply, and every bailiwick rule from a reply that
 * breaks it: answers and chain links outside the zone, foreign DNAMEs and SOAs, referrals
 * that do not go down, error rcodes, and chains that loop or grow too long.
 */
#include "resolver/classify.h"

#include <errno.h>

#include "resolver/dname.h"
#include "resolver/msg.h"

#include "reply_text.h"
#include "test.h"

#define MAX_CHAIN 8

/* Classifies p against the question (zone and name in text); frees p. */
static void
classify_ex(ldns_pkt *p, const char *zone_s, const char *name_s, uint16_t qtype, bool forwarder,
            int max_chain, struct dr_classified *out)
{
    uint8_t zone[DR_NAME_MAX], name[DR_NAME_MAX];
    wname(zone_s, zone);
    wname(name_s, name);
    struct dr_classify_in in = {
        .zone = zone,
        .name = name,
        .qtype = qtype,
        .qclass = LDNS_RR_CLASS_IN,
        .forwarder = forwarder,
        .max_chain = max_chain,
    };
    dr_classify(p, &in, out);
    ldns_pkt_free(p); /* what was kept are copies */
}

/* Asked as an authoritative server, with the usual chain budget. */
static void
classify(ldns_pkt *p, const char *zone, const char *name, uint16_t qtype, struct dr_classified *out)
{
    classify_ex(p, zone, name, qtype, false, MAX_CHAIN, out);
}

/* Asked as a forwarder (RD=1). */
static void
classify_fwd(ldns_pkt *p, const char *zone, const char *name, uint16_t qtype,
             struct dr_classified *out)
{
    classify_ex(p, zone, name, qtype, true, MAX_CHAIN, out);
}

static const char *
verdict(const struct dr_classified *c)
{
    ASSERT_GE(c->verdict, DR_VERDICT_ANSWER);
    ASSERT_LE(c->verdict, DR_VERDICT_LAME);
    return dr_verdict_names[c->verdict];
}

static size_t
count(const ldns_rr_list *l)
{
    return l ? ldns_rr_list_rr_count(l) : 0;
}

/* The name field (next or cut) is exactly s, lower case. */
static void
assert_name(const uint8_t *got, const char *s)
{
    uint8_t want[DR_NAME_MAX];
    wname(s, want);
    char gs[DR_NAME_STRLEN];
    ASSERT_GT(dr_dname_to_str(got, gs, sizeof(gs)), 0);
    ASSERT_STR_EQ(gs, s);
    ASSERT(dr_dname_equal_case(got, want));
}

#define NS_EXAMPLE "au example. 300 IN NS ns1.example.\n"
#define GLUE_NS1   "ad ns1.example. 300 IN A 192.0.2.53\n"
#define SOA(owner) owner " 3600 IN SOA ns1." owner " host." owner " 1 3600 900 604800 300\n"
#define DS_RDATA   "1 8 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* ---- answers ---- */

static void
test_answer(void)
{
    struct dr_classified c;
    classify(reply_text(DR_RCODE_NOERROR, true,
                        "an www.example. 300 IN A 192.0.2.1\n" NS_EXAMPLE GLUE_NS1),
             "example.", "WWW.Example.", DR_TYPE_A, &c);
    ASSERT_STR_EQ(verdict(&c), "answer");
    ASSERT_EQ(count(c.answer), 1);
    ASSERT(has_rr(c.answer, "www.example. 300 IN A 192.0.2.1"));
    ASSERT_EQ(c.links, 0);
    ASSERT_NULL(c.chain);
    ASSERT_NULL(c.dnames);
    ASSERT_NULL(c.soa);
    dr_classified_clear(&c);
    ASSERT_NULL(c.answer);
}

/* Records of other types, classes and names ride along in the answer section; only the
 * RRset asked for is kept. */
static void
test_answer_ignores_unrelated_records(void)
{
    struct dr_classified c;
    classify(reply_text(DR_RCODE_NOERROR, true,
                        "an www.example. 300 IN TXT \"hello\"\n"
                        "an WWW.EXAMPLE. 300 IN A 192.0.2.1\n"
                        "an www.example. 300 IN A 192.0.2.2\n"
                        "an www.example. 300 CH A 192.0.2.3\n"
                        "an other.example. 300 IN A 192.0.2.4\n"
                        "an www.evil.test. 300 IN A 6.6.6.6\n"
                        "an example. 300 IN NS ns.evil.test.\n" NS_EXAMPLE
                        "ad www.example. 300 IN A 6.6.6.7\n"),
             "example.", "www.example.", DR_TYPE_A, &c);
    ASSERT_STR_EQ(verdict(&c), "answer");
    ASSERT_EQ(count(c.answer), 2);
    ASSERT(has_rr(c.answer, "www.example. 300 IN A 192.0.2.2"));
    ASSERT(!has_rr(c.answer, "www.example. 300 IN A 6.6.6.7"));
    dr_classified_clear(&c);

    /* ANY takes every type of the name, still not other names. */
    classify(reply_text(DR_RCODE_NOERROR, true,
                        "an www.example. 300 IN TXT \"hello\"\n"
                        "an www.example. 300 IN A 192.0.2.1\n"
                        "an other.example. 300 IN A 192.0.2.4\n"),
             "example.", "www.example.", LDNS_RR_TYPE_ANY, &c);
    ASSERT_STR_EQ(verdict(&c), "answer");
    ASSERT_EQ(count(c.answer), 2);
    dr_classified_clear(&c);
}

/* A server asked for example. has no say about other zones' names. */
static void
test_answer_outside_zone_not_believed(void)
{
    struct dr_classified c;
    /* Only a foreign name's data came back. */
    classify(reply_text(DR_RCODE_NOERROR, false, "an www.evil.test. 300 IN A 6.6.6.6\n"),
             "example.", "www.example.", DR_TYPE_A, &c);
    ASSERT_STR_EQ(verdict(&c), "lame");
    ASSERT_NULL(c.answer);
    dr_classified_clear(&c);
    /* The same with AA: at most an empty answer, never the foreign data. */
    classify(reply_text(DR_RCODE_NOERROR, true, "an www.evil.test. 300 IN A 6.6.6.6\n"), "example.",
             "www.example.", DR_TYPE_A, &c);
    ASSERT(c.verdict != DR_VERDICT_ANSWER);
    ASSERT_NULL(c.answer);
    dr_classified_clear(&c);
    /* A child zone's server answering for its parent's name. */
    classify(reply_text(DR_RCODE_NOERROR, true, "an www.example. 300 IN A 6.6.6.6\n"),
             "sub.example.", "www.example.", DR_TYPE_A, &c);
    ASSERT(c.verdict != DR_VERDICT_ANSWER);
    ASSERT_NULL(c.answer);
    dr_classified_clear(&c);
}

/* ---- CNAME chains ---- */

static void
test_cname_chain_in_zone(void)
{
    struct dr_classified c;
    /* Out of order on purpose: the chain is followed by name, not by position. */
    classify(reply_text(DR_RCODE_NOERROR, true,
                        "an www.site1.test. 300 IN A 127.0.0.1\n"
                        "an alias.site1.test. 300 IN CNAME WWW.site1.test.\n"
                        "an alias2.site1.test. 300 IN CNAME alias.site1.test.\n"),
             "site1.test.", "alias2.site1.test.", DR_TYPE_A, &c);
    ASSERT_STR_EQ(verdict(&c), "answer");
    ASSERT_EQ(c.links, 2);
    ASSERT_EQ(count(c.chain), 2);
    ASSERT(has_rr(c.chain, "alias2.site1.test. 300 IN CNAME alias.site1.test."));
    ASSERT(has_rr(c.answer, "www.site1.test. 300 IN A 127.0.0.1"));
    ASSERT_EQ(count(c.answer), 1);
    dr_classified_clear(&c);

    /* The data for the last name is missing and the server is not authoritative: go on
     * from the last name (lower case). */
    classify(
        reply_text(DR_RCODE_NOERROR, false, "an alias.site1.test. 300 IN CNAME WWW.Site1.test.\n"),
        "site1.test.", "alias.site1.test.", DR_TYPE_A, &c);
    ASSERT_STR_EQ(verdict(&c), "cname");
    assert_name(c.next, "www.site1.test.");
    ASSERT_EQ(c.links, 1);
    ASSERT_NULL(c.answer);
    dr_classified_clear(&c);

    /* The question is the CNAME itself: answered, not chased. */
    classify(reply_text(DR_RCODE_NOERROR, true,
                        "an alias.site1.test. 300 IN CNAME www.site1.test.\n"
                        "an www.site1.test. 300 IN CNAME x.site1.test.\n"),
             "site1.test.", "alias.site1.test.", DR_TYPE_CNAME, &c);
    ASSERT_STR_EQ(verdict(&c), "answer");
    ASSERT_EQ(count(c.answer), 1);
    ASSERT_EQ(c.links, 0);
    dr_classified_clear(&c);
}

/* The chain leaves the zone: the target's data in the same reply is not believed, the
 * resolution continues at the target. */
static void
test_cname_target_outside_zone(void)
{
    struct dr_classified c;
    classify(reply_text(DR_RCODE_NOERROR, true,
                        "an www.corp.example. 300 IN CNAME www.site1.test.\n"
                        "an www.site1.test. 300 IN A 6.6.6.6\n"
                        "an www.site1.test. 300 IN CNAME evil.site1.test.\n"),
             "corp.example.", "www.corp.example.", DR_TYPE_A, &c);
    ASSERT_STR_EQ(verdict(&c), "cname");
    assert_name(c.next, "www.site1.test.");
    ASSERT_EQ(c.links, 1);
    ASSERT_EQ(count(c.chain), 1);
    ASSERT_NULL(c.answer);
    ASSERT_NULL(c.soa);
    dr_classified_clear(&c);

    /* Into a child zone delegated in the same reply: continue there, not NODATA. */
    classify(reply_text(DR_RCODE_NOERROR, true,
                        "an a.example. 300 IN CNAME b.sub.example.\n"
                        "au sub.example. 300 IN NS ns1.sub.example.\n"),
             "example.", "a.example.", DR_TYPE_A, &c);
    ASSERT_STR_EQ(verdict(&c), "cname");
    assert_name(c.next, "b.sub.example.");
    dr_classified_clear(&c);
}

static void
test_cname_loop_is_lame_chain(void)
{
    struct dr_classified c;
    classify(reply_text(DR_RCODE_NOERROR, true,
                        "an loop1.site1.test. 300 IN CNAME loop2.site1.test.\n"
                        "an loop2.site1.test. 300 IN CNAME loop1.site1.test.\n"),
             "site1.test.", "loop1.site1.test.", DR_TYPE_A, &c);
    ASSERT_STR_EQ(verdict(&c), "lame");
    ASSERT_STR_EQ(c.why, "chain");
    ASSERT_NULL(c.chain); /* nothing of a refused reply is kept */
    ASSERT_NULL(c.answer);
    dr_classified_clear(&c);

    /* A self-loop. */
    classify(reply_text(DR_RCODE_NOERROR, true, "an me.site1.test. 300 IN CNAME ME.site1.test.\n"),
             "site1.test.", "me.site1.test.", DR_TYPE_A, &c);
    ASSERT_STR_EQ(verdict(&c), "lame");
    ASSERT_STR_EQ(c.why, "chain");
    dr_classified_clear(&c);
}

/* max_chain links may be followed, one more may not (the budget left for this query). */
static void
test_cname_chain_limit(void)
{
    const char *chain = "an c1.example. 300 IN CNAME c2.example.\n"
                        "an c2.example. 300 IN CNAME c3.example.\n"
                        "an c3.example. 300 IN CNAME c4.example.\n"
                        "an c4.example. 300 IN A 192.0.2.4\n";
    struct dr_classified c;
    classify_ex(reply_text(DR_RCODE_NOERROR, true, chain), "example.", "c1.example.", DR_TYPE_A,
                false, 3, &c);
    ASSERT_STR_EQ(verdict(&c), "answer");
    ASSERT_EQ(c.links, 3);
    dr_classified_clear(&c);
    classify_ex(reply_text(DR_RCODE_NOERROR, true, chain), "example.", "c1.example.", DR_TYPE_A,
                false, 2, &c);
    ASSERT_STR_EQ(verdict(&c), "lame");
    ASSERT_STR_EQ(c.why, "chain");
    dr_classified_clear(&c);
    /* No budget left at all: the first link is already one too many. */
    classify_ex(reply_text(DR_RCODE_NOERROR, true, chain), "example.", "c1.example.", DR_TYPE_A,
                false, -1, &c);
    ASSERT_STR_EQ(verdict(&c), "lame");
    dr_classified_clear(&c);
}

/* ---- DNAME ---- */

static void
test_dname_synthesizes_cname(void)
{
    struct dr_classified c;
    classify(reply_text(DR_RCODE_NOERROR, true,
                        "an old.example. 600 IN DNAME new.example.\n"
                        "an www.new.example. 300 IN A 192.0.2.7\n"),
             "example.", "WWW.old.example.", DR_TYPE_A, &c);
    ASSERT_STR_EQ(verdict(&c), "answer");
    ASSERT_EQ(c.links, 1);
    ASSERT_EQ(count(c.dnames), 1);
    ASSERT(has_rr(c.dnames, "old.example. 600 IN DNAME new.example."));
    ASSERT_EQ(count(c.chain), 2);
    ASSERT(has_rr(c.chain, "old.example. 600 IN DNAME new.example."));
    /* RFC 6672 §3.1: the synthesized CNAME carries the DNAME's TTL. */
    ASSERT(has_rr(c.chain, "www.old.example. 600 IN CNAME www.new.example."));
    ASSERT(has_rr(c.answer, "www.new.example. 300 IN A 192.0.2.7"));
    dr_classified_clear(&c);
}

/* The DNAME leads out of the zone: the chain ends there and next is set, also when the
 * server sent its own synthesized CNAME (which is not added a second time). */
static void
test_dname_target_outside_zone(void)
{
    const char *with_cname[] = {
        "an old.example. 600 IN DNAME New.Other.\n",
        "an old.example. 600 IN DNAME New.Other.\n"
        "an www.old.example. 600 IN CNAME www.new.other.\n"
        "an www.new.other. 300 IN A 6.6.6.6\n",
    };
    for (size_t i = 0; i < 2; i++) {
        struct dr_classified c;
        classify(reply_text(DR_RCODE_NOERROR, true, with_cname[i]), "example.", "www.old.example.",
                 DR_TYPE_A, &c);
        ASSERT_STR_EQ(verdict(&c), "cname");
        assert_name(c.next, "www.new.other.");
        ASSERT_EQ(c.links, 1);
        ASSERT_EQ(count(c.dnames), 1);
        ASSERT_EQ(count(c.chain), 2);
        ASSERT(has_rr(c.chain, "www.old.example. 600 IN CNAME www.new.other."));
        ASSERT_NULL(c.answer);
        dr_classified_clear(&c);
    }
}

/* The substituted name: 192 bytes of labels above the DNAME's owner, then a target of
 * k + 4 bytes (one label of k letters, "x", the root). */
static void
classify_long_dname(int k, bool aa, struct dr_classified *c)
{
    char l63[64], qname[512], target[128], rec[512];
    memset(l63, 'a', 63);
    l63[63] = '\0';
    snprintf(qname, sizeof(qname), "%s.%s.%s.old.", l63, l63, l63);
    memset(target, 't', (size_t)k);
    target[k] = '\0';
    snprintf(rec, sizeof(rec), "an old. 600 IN DNAME %s.x.\n", target);
    classify(reply_text(DR_RCODE_NOERROR, aa, rec), ".", qname, DR_TYPE_A, c);
}

static void
test_dname_too_long_is_yxdomain(void)
{
    struct dr_classified c;
    classify_long_dname(61, true, &c); /* 257 bytes */
    ASSERT_STR_EQ(verdict(&c), "yxdomain");
    ASSERT_NULL(c.answer);
    dr_classified_clear(&c);
    classify_long_dname(60, true, &c); /* 256 */
    ASSERT_STR_EQ(verdict(&c), "yxdomain");
    dr_classified_clear(&c);
    classify_long_dname(59, false, &c); /* 255: a name, followed */
    ASSERT_STR_EQ(verdict(&c), "cname");
    ASSERT_UINT_EQ(dr_dname_len(c.next), 255);
    ASSERT_EQ(count(c.chain), 2);
    dr_classified_clear(&c);
}

static void
test_dname_outside_zone_ignored(void)
{
    struct dr_classified c;
    /* Owned by the parent of the zone asked: not this server's to say. */
    classify(reply_text(DR_RCODE_NOERROR, false,
                        "an example. 600 IN DNAME evil.test.\n"
                        "an www.sub.example.evil.test. 300 IN A 6.6.6.6\n"),
             "sub.example.", "www.sub.example.", DR_TYPE_A, &c);
    ASSERT_STR_EQ(verdict(&c), "lame");
    ASSERT_NULL(c.dnames);
    ASSERT_NULL(c.chain);
    dr_classified_clear(&c);
    /* Owned by a sibling, or by the name itself (a DNAME redirects names below it only). */
    classify(reply_text(DR_RCODE_NOERROR, false,
                        "an other.example. 600 IN DNAME evil.test.\n"
                        "an www.example. 600 IN DNAME evil.test.\n"),
             "example.", "www.example.", DR_TYPE_A, &c);
    ASSERT_STR_EQ(verdict(&c), "lame");
    ASSERT_NULL(c.dnames);
    dr_classified_clear(&c);
    /* In the authority section. */
    classify(reply_text(DR_RCODE_NOERROR, false, "au example. 600 IN DNAME evil.test.\n"),
             "example.", "www.example.", DR_TYPE_A, &c);
    ASSERT_NULL(c.dnames);
    dr_classified_clear(&c);
}

/* Asked for the DNAME itself: the answer, not a substitution. */
static void
test_dname_question_answered(void)
{
    struct dr_classified c;
    classify(reply_text(DR_RCODE_NOERROR, true, "an old.example. 600 IN DNAME new.example.\n"),
             "example.", "old.example.", LDNS_RR_TYPE_DNAME, &c);
    ASSERT_STR_EQ(verdict(&c), "answer");
    ASSERT_NULL(c.dnames);
    dr_classified_clear(&c);
}

static void
test_dname_subst_edges(void)
{
    uint8_t name[DR_NAME_MAX], owner[DR_NAME_MAX], target[DR_NAME_MAX], out[DR_NAME_MAX];
    wname("WWW.Old.Example.", name);
    wname("old.example.", owner);
    wname("New.Example.", target);
    int n = dr_classify_dname_subst(name, owner, target, out);
    ASSERT_EQ(n, 17);
    assert_name(out, "www.new.example."); /* lower case */

    /* To the root, and from the root's child. */
    wname(".", target);
    ASSERT_EQ(dr_classify_dname_subst(name, owner, target, out), 5);
    assert_name(out, "www.");
    wname("a.b.c.", name);
    wname("c.", owner);
    wname("x.", target);
    ASSERT_EQ(dr_classify_dname_subst(name, owner, target, out), 7);
    assert_name(out, "a.b.x.");

    /* The owner itself and names above it are not substituted. */
    ASSERT_EQ(dr_classify_dname_subst(owner, owner, target, out), -EINVAL);
    wname("b.c.", owner);
    wname("c.", name);
    ASSERT_EQ(dr_classify_dname_subst(name, owner, target, out), -EINVAL);

    /* 255 bytes fits, 256 does not. */
    char l63[64], s[300];
    memset(l63, 'a', 63);
    l63[63] = '\0';
    snprintf(s, sizeof(s), "%s.%s.%s.o.", l63, l63, l63); /* head 192 */
    wname(s, name);
    wname("o.", owner);
    char t[80];
    memset(t, 't', 60);
    snprintf(t + 60, sizeof(t) - 60, ".x."); /* 61 + 2 + 1 = 64 bytes: 256 */
    wname(t, target);
    ASSERT_EQ(dr_classify_dname_subst(name, owner, target, out), -ENAMETOOLONG);
    t[59] = '\0';
    strcat(t, ".x."); /* 63 bytes: 255 */
    wname(t, target);
    ASSERT_EQ(dr_classify_dname_subst(name, owner, target, out), 255);
    ASSERT_UINT_EQ(dr_dname_len(out), 255);
}

/* ---- negative answers ---- */

static void
test_nxdomain_with_soa(void)
{
    struct dr_classified c;
    classify(reply_text(DR_RCODE_NXDOMAIN, true, "au " SOA("example.")), "example.", "nx.example.",
             DR_TYPE_A, &c);
    ASSERT_STR_EQ(verdict(&c), "nxdomain");
    ASSERT_EQ(count(c.soa), 1);
    ASSERT(has_rr(c.soa, SOA("example.")));
    ASSERT_EQ(c.links, 0);
    dr_classified_clear(&c);
    /* A foreign SOA is not kept (nothing to cache the negative answer by). */
    classify(reply_text(DR_RCODE_NXDOMAIN, true, "au " SOA("evil.test.")), "example.",
             "nx.example.", DR_TYPE_A, &c);
    ASSERT_STR_EQ(verdict(&c), "nxdomain");
    ASSERT_NULL(c.soa);
    dr_classified_clear(&c);
}

/* RFC 6604: after a CNAME, the rcode speaks of the chain's last name. In the zone, that
 * is final; out of it, the resolution goes on at the target. */
static void
test_nxdomain_after_cname(void)
{
    struct dr_classified c;
    classify(reply_text(DR_RCODE_NXDOMAIN, true,
                        "an alias.site1.test. 300 IN CNAME gone.site1.test.\n"
                        "au " SOA("site1.test.")),
             "site1.test.", "alias.site1.test.", DR_TYPE_A, &c);
    ASSERT_STR_EQ(verdict(&c), "nxdomain");
    assert_name(c.next, "gone.site1.test.");
    ASSERT_EQ(c.links, 1);
    ASSERT_EQ(count(c.chain), 1);
    ASSERT_EQ(count(c.soa), 1);
    dr_classified_clear(&c);

    classify(reply_text(DR_RCODE_NXDOMAIN, true,
                        "an dangling.site1.test. 300 IN CNAME nonexistent.corp.example.\n"
                        "au " SOA("site1.test.")),
             "site1.test.", "dangling.site1.test.", DR_TYPE_A, &c);
    ASSERT_STR_EQ(verdict(&c), "cname");
    assert_name(c.next, "nonexistent.corp.example.");
    ASSERT_NULL(c.soa);
    dr_classified_clear(&c);
}

static void
test_nodata(void)
{
    struct dr_classified c;
    classify(reply_text(DR_RCODE_NOERROR, true, "au " SOA("site1.test.")), "site1.test.",
             "v4only.site1.test.", DR_TYPE_AAAA, &c);
    ASSERT_STR_EQ(verdict(&c), "nodata");
    ASSERT_EQ(count(c.soa), 1);
    dr_classified_clear(&c);

    /* Without SOA, but authoritative. */
    classify(reply_text(DR_RCODE_NOERROR, true, NULL), "site1.test.", "v4only.site1.test.",
             DR_TYPE_AAAA, &c);
    ASSERT_STR_EQ(verdict(&c), "nodata");
    ASSERT_NULL(c.soa);
    dr_classified_clear(&c);

    /* After an in-zone CNAME, authoritative: NODATA for the chain's last name. */
    classify(reply_text(DR_RCODE_NOERROR, true,
                        "an alias.site1.test. 300 IN CNAME v4only.site1.test.\n"
                        "au " SOA("site1.test.")),
             "site1.test.", "alias.site1.test.", DR_TYPE_AAAA, &c);
    ASSERT_STR_EQ(verdict(&c), "nodata");
    assert_name(c.next, "v4only.site1.test.");
    ASSERT_EQ(count(c.soa), 1);
    ASSERT_EQ(count(c.chain), 1);
    dr_classified_clear(&c);
}

/* Not authoritative, no SOA, no data, no referral: the server does not serve the zone. */
static void
test_no_aa_no_soa_no_data_is_lame(void)
{
    struct dr_classified c;
    classify(reply_text(DR_RCODE_NOERROR, false, NULL), "site1.test.", "www.site1.test.", DR_TYPE_A,
             &c);
    ASSERT_STR_EQ(verdict(&c), "lame");
    ASSERT_STR_EQ(c.why, "lame");
    dr_classified_clear(&c);
    /* An upward referral and a foreign SOA do not help it. */
    classify(reply_text(DR_RCODE_NOERROR, false,
                        "au . 300 IN NS a.root-servers.lab.\n"
                        "au " SOA("test.") "ad a.root-servers.lab. 300 IN A 192.0.2.1\n"),
             "site1.test.", "www.site1.test.", DR_TYPE_A, &c);
    ASSERT_STR_EQ(verdict(&c), "lame");
    ASSERT_NULL(c.soa);
    dr_classified_clear(&c);
}

/* ---- referrals ---- */

static void
test_referral(void)
{
    struct dr_classified c;
    classify(reply_text(DR_RCODE_NOERROR, false,
                        "au SITE1.Test. 300 IN NS ns1.site1.test.\n"
                        "ad ns1.site1.test. 300 IN A 127.53.10.1\n"),
             "test.", "www.site1.test.", DR_TYPE_A, &c);
    ASSERT_STR_EQ(verdict(&c), "referral");
    assert_name(c.cut, "site1.test.");
    ASSERT_NULL(c.answer);
    ASSERT_NULL(c.soa);
    dr_classified_clear(&c);

    /* Sideways and upward "referrals" are not. */
    classify(reply_text(DR_RCODE_NOERROR, false, "au site2.test. 300 IN NS ns1.site2.test.\n"),
             "site1.test.", "www.site1.test.", DR_TYPE_A, &c);
    ASSERT_STR_EQ(verdict(&c), "lame");
    dr_classified_clear(&c);
    classify(reply_text(DR_RCODE_NOERROR, false, "au test. 300 IN NS ns1.nic.test.\n"),
             "site1.test.", "www.site1.test.", DR_TYPE_A, &c);
    ASSERT_STR_EQ(verdict(&c), "lame");
    dr_classified_clear(&c);
}

/* Asked the parent for a DS, it sends us to the child: the child's answer would come from
 * the wrong side of the cut. */
static void
test_ds_referral_to_owner_is_lame(void)
{
    struct dr_classified c;
    classify(reply_text(DR_RCODE_NOERROR, false, "au site1.test. 300 IN NS ns1.site1.test.\n"),
             "test.", "Site1.test.", DR_TYPE_DS, &c);
    ASSERT_STR_EQ(verdict(&c), "lame");
    ASSERT_STR_EQ(c.why, "ds_referral");
    dr_classified_clear(&c);
    /* A DS below the child's apex is the child's: a referral there is normal. */
    classify(reply_text(DR_RCODE_NOERROR, false, "au site1.test. 300 IN NS ns1.site1.test.\n"),
             "test.", "sub.site1.test.", DR_TYPE_DS, &c);
    ASSERT_STR_EQ(verdict(&c), "referral");
    dr_classified_clear(&c);
    /* And the parent's own answer is taken. */
    classify(reply_text(DR_RCODE_NOERROR, true, "an site1.test. 300 IN DS " DS_RDATA "\n"), "test.",
             "site1.test.", DR_TYPE_DS, &c);
    ASSERT_STR_EQ(verdict(&c), "answer");
    dr_classified_clear(&c);
}

/* ---- error rcodes ---- */

static void
test_error_rcodes_are_lame(void)
{
    static const struct {
        int rcode;
        const char *why;
    } cases[] = {
        {DR_RCODE_REFUSED, "refused"},
        {DR_RCODE_SERVFAIL, "rcode"},
        {DR_RCODE_FORMERR, "rcode"},
        {DR_RCODE_NOTIMP, "rcode"},
        {6 /* YXDOMAIN */, "rcode"},
        {9 /* NOTAUTH */, "rcode"},
        {15, "rcode"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct dr_classified c;
        /* Data that would otherwise be an answer does not make it one. */
        classify(reply_text(cases[i].rcode, true, "an www.example. 300 IN A 192.0.2.1\n"),
                 "example.", "www.example.", DR_TYPE_A, &c);
        ASSERT_STR_EQ(verdict(&c), "lame");
        ASSERT_STR_EQ(c.why, cases[i].why);
        ASSERT_NULL(c.answer);
        dr_classified_clear(&c);
    }
}

/* ---- forwarders ---- */

static void
test_forwarder_mode(void)
{
    struct dr_classified c;
    /* Any zone, no AA needed, a chain across zones. */
    classify_fwd(reply_text(DR_RCODE_NOERROR, false,
                            "an www.corp.example. 300 IN CNAME www.site1.test.\n"
                            "an www.site1.test. 300 IN A 127.0.0.1\n"),
                 "corp.example.", "www.corp.example.", DR_TYPE_A, &c);
    ASSERT_STR_EQ(verdict(&c), "answer");
    ASSERT_EQ(c.links, 1);
    ASSERT(has_rr(c.answer, "www.site1.test. 300 IN A 127.0.0.1"));
    dr_classified_clear(&c);

    classify_fwd(reply_text(DR_RCODE_NOERROR, false, "an www.site1.test. 300 IN A 127.0.0.1\n"),
                 "corp.example.", "www.site1.test.", DR_TYPE_A, &c);
    ASSERT_STR_EQ(verdict(&c), "answer");
    dr_classified_clear(&c);

    /* An empty non-authoritative NOERROR from a recursive server is NODATA. */
    classify_fwd(reply_text(DR_RCODE_NOERROR, false, NULL), ".", "v4only.site1.test.", DR_TYPE_AAAA,
                 &c);
    ASSERT_STR_EQ(verdict(&c), "nodata");
    dr_classified_clear(&c);

    classify_fwd(reply_text(DR_RCODE_NXDOMAIN, false, "au " SOA("test.")), ".", "nx.site1.test.",
                 DR_TYPE_A, &c);
    ASSERT_STR_EQ(verdict(&c), "nxdomain");
    ASSERT_EQ(count(c.soa), 1);
    dr_classified_clear(&c);

    /* A referral is never followed away from a forwarder. */
    classify_fwd(reply_text(DR_RCODE_NOERROR, false,
                            "au site1.test. 300 IN NS ns1.site1.test.\n"
                            "ad ns1.site1.test. 300 IN A 6.6.6.6\n"),
                 ".", "www.site1.test.", DR_TYPE_A, &c);
    ASSERT(c.verdict != DR_VERDICT_REFERRAL);
    /* Nor taken for an empty answer (it would be cached as NODATA): the server is not
     * recursive, so it is lame. */
    ASSERT_STR_EQ(verdict(&c), "lame");
    ASSERT_STR_EQ(c.why, "not_recursive");
    dr_classified_clear(&c);

    /* Error rcodes are still errors. */
    classify_fwd(reply_text(DR_RCODE_SERVFAIL, false, NULL), ".", "www.site1.test.", DR_TYPE_A, &c);
    ASSERT_STR_EQ(verdict(&c), "lame");
    dr_classified_clear(&c);
}

int
main(void)
{
    TEST_RUN(test_answer);
    TEST_RUN(test_answer_ignores_unrelated_records);
    TEST_RUN(test_answer_outside_zone_not_believed);
    TEST_RUN(test_cname_chain_in_zone);
    TEST_RUN(test_cname_target_outside_zone);
    TEST_RUN(test_cname_loop_is_lame_chain);
    TEST_RUN(test_cname_chain_limit);
    TEST_RUN(test_dname_question_answered);
    TEST_RUN(test_dname_subst_edges);
    TEST_RUN(test_dname_too_long_is_yxdomain);
    TEST_RUN(test_dname_outside_zone_ignored);
    TEST_RUN(test_dname_synthesizes_cname);
    TEST_RUN(test_dname_target_outside_zone);
    TEST_RUN(test_nxdomain_with_soa);
    TEST_RUN(test_nxdomain_after_cname);
    TEST_RUN(test_nodata);
    TEST_RUN(test_no_aa_no_soa_no_data_is_lame);
    TEST_RUN(test_referral);
    TEST_RUN(test_ds_referral_to_owner_is_lame);
    TEST_RUN(test_error_rcodes_are_lame);
    TEST_RUN(test_forwarder_mode);
    return 0;
}
