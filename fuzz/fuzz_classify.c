/*
 * libFuzzer target for the reply classifier and the bailiwick rules: resolver/classify.c,
 * resolver/scrub.c and dr_deleg_from_reply() in resolver/deleg.c.
 *
 * The input is an upstream reply. It is classified against a few fixed questions (zones at
 * the root, a TLD and deeper; A, AAAA, CNAME, DS, NS, ANY; as an authoritative server and
 * as a forwarder) and against the question it carries itself, asked of each zone above
 * that name; each referral is turned into a cut. Whatever the reply says, abort() marks a
 * verdict that breaks a bailiwick rule: a referral not strictly below the zone or not
 * enclosing the name, data or chain links owned outside the zone, a negative answer's SOA
 * that is not an ancestor inside the zone, a cut whose addresses came from outside the
 * bailiwick or from records of other names.
 *
 * Seeds in fuzz/corpus/classify/: lab_* are raw replies of tests/lab/lab.sh's NSD servers
 * (referrals from the root and TLDs, answers, CNAME chains and loops, NODATA, NXDOMAIN,
 * REFUSED, glueless and half-lame delegations); hostile_* are made by hand (glue for
 * another zone's NS, upward and sideways referrals, foreign answers and SOAs, DNAMEs, a
 * substitution past 255 bytes, a DS referral, 16 NS with 7 addresses for one). Build:
 *   clang -fsanitize=fuzzer,address,undefined -I. fuzz/fuzz_classify.c resolver/classify.c \
 *       resolver/scrub.c resolver/deleg.c resolver/dname.c common/addr.c common/lru.c \
 *       -lldns -o fuzz_classify
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "resolver/classify.h"
#include "resolver/deleg.h"
#include "resolver/dname.h"
#include "resolver/msg.h"
#include "resolver/scrub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

/* Zone asked, name sent, in the lab's shapes (tests/lab/lab.sh), so that captured replies
 * meet a question they answer. */
static const struct {
    const char *zone, *name;
    uint16_t qtype;
} questions[] = {
    {".", "test.", DR_TYPE_NS},
    {".", ".", DR_TYPE_NS},
    {"test.", "www.site1.test.", DR_TYPE_A},
    {"test.", "site1.test.", DR_TYPE_DS},
    {"site1.test.", "www.site1.test.", DR_TYPE_AAAA},
    {"site1.test.", "alias2.site1.test.", DR_TYPE_A},
    {"site1.test.", "alias.site1.test.", DR_TYPE_CNAME},
    {"corp.example.", "www.corp.example.", LDNS_RR_TYPE_ANY},
    {"a.b.c.d.example.", "x.y.a.b.c.d.example.", DR_TYPE_A},
};

static bool
is_lower(const uint8_t *name)
{
    uint8_t lc[DR_NAME_MAX];
    dr_dname_copy_lower(lc, name);
    return dr_dname_equal_case(lc, name);
}

/* A name from ldns: present, and exactly as long as its labels say. */
static const uint8_t *
valid_name(const ldns_rdf *rdf)
{
    const uint8_t *n = dr_scrub_name(rdf);
    if (n)
        CHECK(dr_dname_len(n) == ldns_rdf_size(rdf));
    return n;
}

static void
check_owned_under(const ldns_rr_list *l, const uint8_t *zone)
{
    for (size_t i = 0; l && i < ldns_rr_list_rr_count(l); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(l, i);
        CHECK(valid_name(ldns_rr_owner(rr)) != NULL);
        CHECK(dr_scrub_owner_under(rr, zone));
    }
}

/* The address came from an A/AAAA record in the additional section owned by the NS name. */
static bool
glue_present(ldns_pkt *p, const struct dr_deleg_ns *ns, const union dc_sockaddr *a)
{
    ldns_rr_list *ad = ldns_pkt_additional(p);
    for (size_t i = 0; i < ldns_rr_list_rr_count(ad); i++) {
        union dc_sockaddr sa;
        const ldns_rr *rr = ldns_rr_list_rr(ad, i);
        if (dr_scrub_address(rr, &sa) && dr_scrub_owner_is(rr, ns->name) && dc_addr_equal(&sa, a))
            return true;
    }
    return false;
}

static void
check_cut(ldns_pkt *p, ldns_rr_list *section, const uint8_t *zone, const uint8_t *bailiwick)
{
    struct dr_deleg d;
    uint32_t ttl;
    dr_deleg_from_reply(p, section, zone, bailiwick, &d, &ttl);
    CHECK(dr_dname_equal(d.zone, zone) && is_lower(d.zone));
    CHECK(d.nns <= DR_DELEG_MAX_NS);
    if (d.nns == 0)
        CHECK(ttl == UINT32_MAX);
    for (unsigned i = 0; i < d.nns; i++) {
        const struct dr_deleg_ns *ns = &d.ns[i];
        CHECK(is_lower(ns->name));
        CHECK(ns->naddrs <= DR_DELEG_MAX_ADDRS);
        for (unsigned j = 0; j < i; j++)
            CHECK(!dr_dname_equal(d.ns[j].name, ns->name));
        if (ns->naddrs > 0)
            CHECK(dr_dname_is_sub(ns->name, bailiwick)); /* no glue from outside */
        for (unsigned j = 0; j < ns->naddrs; j++) {
            CHECK(dc_addr_port(&ns->addrs[j]) == 53);
            CHECK(glue_present(p, ns, &ns->addrs[j]));
        }
    }
}

static void
check_soa(const ldns_rr_list *soa, const uint8_t *zone, const uint8_t *name)
{
    if (soa == NULL)
        return;
    CHECK(ldns_rr_list_rr_count(soa) >= 1);
    const ldns_rr *rr = ldns_rr_list_rr(soa, 0);
    CHECK(ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA);
    CHECK(dr_scrub_owner_under(rr, zone));
    CHECK(dr_dname_is_sub(name, dr_scrub_name(ldns_rr_owner(rr))));
    /* Then only the proof: RRSIGs, NSEC and NSEC3 records, all inside the zone. */
    for (size_t i = 1; i < ldns_rr_list_rr_count(soa); i++) {
        const ldns_rr *x = ldns_rr_list_rr(soa, i);
        CHECK(dr_msg_dnssec_type(ldns_rr_get_type(x)));
        CHECK(dr_scrub_owner_under(x, zone));
    }
}

static void
classify_one(ldns_pkt *p, const uint8_t *zone, const uint8_t *name, uint16_t qtype, bool forwarder,
             int max_chain)
{
    static const uint8_t root[1] = {0};
    struct dr_classify_in in = {
        .zone = zone,
        .name = name,
        .qtype = qtype,
        .qclass = LDNS_RR_CLASS_IN,
        .forwarder = forwarder,
        .max_chain = max_chain,
    };
    struct dr_classified c;
    dr_classify(p, &in, &c);
    const uint8_t *bail = forwarder ? root : zone;
    /* Where the chain ended: the data, NXDOMAIN and NODATA are about that name. */
    const uint8_t *last = c.links > 0 ? c.next : name;

    CHECK(c.verdict >= DR_VERDICT_ANSWER && c.verdict <= DR_VERDICT_LAME);
    CHECK(dr_verdict_names[c.verdict] != NULL);
    CHECK(c.links >= 0 && c.links <= (max_chain > 0 ? max_chain : 0) + 1);
    CHECK(c.verdict == DR_VERDICT_LAME || c.links <= max_chain);
    check_owned_under(c.chain, bail);
    check_owned_under(c.dnames, bail);
    check_owned_under(c.answer, bail);
    CHECK(c.dnames == NULL || ldns_rr_list_rr_count(c.dnames) <= (size_t)c.links);
    if (c.links > 0 && (c.verdict == DR_VERDICT_CNAME || c.verdict == DR_VERDICT_NXDOMAIN ||
                        c.verdict == DR_VERDICT_NODATA))
        CHECK(is_lower(c.next) && dr_dname_len(c.next) <= DR_NAME_MAX);

    switch (c.verdict) {
    case DR_VERDICT_ANSWER:
        CHECK(c.answer && ldns_rr_list_rr_count(c.answer) > 0);
        for (size_t i = 0; i < ldns_rr_list_rr_count(c.answer); i++) {
            const ldns_rr *rr = ldns_rr_list_rr(c.answer, i);
            /* The data, or the RRSIGs that cover it (kept for DO=1 clients). */
            bool sig = ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG &&
                       ldns_rr_rrsig_typecovered(rr) &&
                       ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)) == qtype;
            CHECK(qtype == LDNS_RR_TYPE_ANY || ldns_rr_get_type(rr) == qtype || sig);
            CHECK(ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN);
        }
        break;
    case DR_VERDICT_CNAME:
        CHECK(c.links > 0 && c.answer == NULL && c.soa == NULL);
        CHECK(is_lower(c.next));
        break;
    case DR_VERDICT_REFERRAL:
        CHECK(!forwarder && c.links == 0);
        CHECK(is_lower(c.cut));
        CHECK(dr_dname_is_sub(c.cut, zone) && !dr_dname_equal(c.cut, zone));
        CHECK(dr_dname_is_sub(name, c.cut));
        CHECK(qtype != DR_TYPE_DS || !dr_dname_equal(c.cut, name));
        CHECK(c.answer == NULL && c.soa == NULL && c.chain == NULL);
        check_cut(p, ldns_pkt_authority(p), c.cut, zone);
        break;
    case DR_VERDICT_NXDOMAIN:
    case DR_VERDICT_NODATA:
        CHECK(c.answer == NULL);
        check_soa(c.soa, bail, last);
        if (c.links > 0)
            CHECK(dr_dname_is_sub(c.next, bail));
        if (c.verdict == DR_VERDICT_NODATA && !forwarder && c.links == 0)
            CHECK(c.soa != NULL || ldns_pkt_aa(p));
        break;
    case DR_VERDICT_YXDOMAIN:
        CHECK(c.links > 0 && c.answer == NULL);
        break;
    case DR_VERDICT_LAME:
        CHECK(c.why != NULL);
        CHECK(!c.chain && !c.dnames && !c.answer && !c.soa);
        break;
    }
    dr_classified_clear(&c);
    CHECK(!c.chain && !c.dnames && !c.answer && !c.soa);
}

/* Every zone from the root down to name, each in both modes, with two chain budgets. */
static void
classify_own_question(ldns_pkt *p)
{
    ldns_rr_list *qs = ldns_pkt_question(p);
    if (ldns_rr_list_rr_count(qs) == 0)
        return;
    const ldns_rr *q = ldns_rr_list_rr(qs, 0);
    const uint8_t *name = valid_name(ldns_rr_owner(q));
    if (name == NULL)
        return;
    int labels = dr_dname_labels(name);
    for (int i = labels; i >= 0 && i >= labels - 4; i--) {
        const uint8_t *zone = dr_dname_strip(name, i);
        classify_one(p, zone, name, ldns_rr_get_type(q), false, 8);
        classify_one(p, zone, name, ldns_rr_get_type(q), false, 1);
        classify_one(p, zone, name, DR_TYPE_DS, false, 8);
    }
    classify_one(p, name, name, ldns_rr_get_type(q), true, 8);
}

/* A DNAME substitution with the reply's own names: a name, or an error, never more. */
static void
check_dname_subst(ldns_pkt *p)
{
    ldns_rr_list *an = ldns_pkt_answer(p);
    ldns_rr_list *qs = ldns_pkt_question(p);
    if (ldns_rr_list_rr_count(qs) == 0)
        return;
    const uint8_t *name = valid_name(ldns_rr_owner(ldns_rr_list_rr(qs, 0)));
    for (size_t i = 0; name && i < ldns_rr_list_rr_count(an) && i < 8; i++) {
        const ldns_rr *rr = ldns_rr_list_rr(an, i);
        const uint8_t *owner = valid_name(ldns_rr_owner(rr));
        const uint8_t *target =
            ldns_rr_get_type(rr) == LDNS_RR_TYPE_DNAME ? valid_name(ldns_rr_rdf(rr, 0)) : NULL;
        if (owner == NULL || target == NULL || !dr_dname_is_sub(name, owner))
            continue;
        uint8_t out[DR_NAME_MAX];
        int n = dr_classify_dname_subst(name, owner, target, out);
        if (dr_dname_equal(name, owner)) {
            CHECK(n == -EINVAL);
            continue;
        }
        CHECK(n > 0 || n == -ENAMETOOLONG);
        if (n > 0) {
            CHECK((size_t)n == dr_dname_len(out) && n <= DR_NAME_MAX);
            CHECK(is_lower(out));
            CHECK(dr_dname_is_sub(out, target));
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ldns_pkt *p = NULL;
    if (ldns_wire2pkt(&p, data, size) != LDNS_STATUS_OK)
        return 0;
    for (size_t i = 0; i < sizeof(questions) / sizeof(questions[0]); i++) {
        uint8_t zone[DR_NAME_MAX], name[DR_NAME_MAX];
        CHECK(dr_dname_from_str(questions[i].zone, zone) > 0);
        CHECK(dr_dname_from_str(questions[i].name, name) > 0);
        classify_one(p, zone, name, questions[i].qtype, false, 8);
        classify_one(p, zone, name, questions[i].qtype, true, 8);
    }
    classify_own_question(p);
    check_dname_subst(p);
    /* Priming: the root's NS set from the answer section, any glue under the root. */
    static const uint8_t root[1] = {0};
    check_cut(p, ldns_pkt_answer(p), root, root);
    ldns_pkt_free(p);
    return 0;
}
