/*
 * libFuzzer target for the DNSSEC building blocks: resolver/dnskey.c, resolver/rrsig.c,
 * resolver/nsec.c, resolver/nsec3.c and resolver/dnssec.c.
 *
 * The input is a DNS message. Its answer section is taken as RRsets with their RRSIGs and
 * the DNSKEYs and DS records among them as keys, its authority section as NSEC/NSEC3
 * records; the question's name and type are asked of every proof, at a fixed time. Nothing
 * may crash or leak, and abort() marks a broken promise: a verdict outside its enum, a
 * SECURE result without DR_WHY_NONE, a wildcard encloser that is not an ancestor of the
 * owner, a key tag out of range.
 *
 * Seeds in fuzz/corpus/dnssec/ are messages built once from the signed zones of
 * tests/unit/resolver/data/dnssec_zones.h (valid at NOW): a DNSKEY set with its RRSIG and DS
 * plus an A RRset and the NSEC chain (alg 13), a wildcard TXT answer (alg 8), a TXT RRset
 * (alg 16), and NSEC3 chains for an NXDOMAIN and an opt-out DS question. Build:
 *   clang -fsanitize=fuzzer,address,undefined -I. fuzz/fuzz_dnssec.c resolver/dnssec.c \
 *       resolver/dnskey.c resolver/rrsig.c resolver/nsec.c resolver/nsec3.c \
 *       resolver/dname.c resolver/scrub.c common/addr.c -lldns -lcrypto -o fuzz_dnssec
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "resolver/dname.h"
#include "resolver/dnskey.h"
#include "resolver/dnssec.h"
#include "resolver/nsec.h"
#include "resolver/nsec3.h"
#include "resolver/rrsig.h"
#include "resolver/scrub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

#define NOW 1768435200 /* 2026-01-15 */

static ldns_rr_list *
of_type(const ldns_rr_list *l, ldns_rr_type t)
{
    ldns_rr_list *out = ldns_rr_list_new();
    for (size_t i = 0; out && i < ldns_rr_list_rr_count(l); i++)
        if (ldns_rr_get_type(ldns_rr_list_rr(l, i)) == t)
            ldns_rr_list_push_rr(out, ldns_rr_list_rr(l, i));
    return out;
}

static void
check_sec(enum dr_sec s, enum dr_why w)
{
    CHECK(s == DR_SEC_SECURE || s == DR_SEC_INSECURE || s == DR_SEC_BOGUS);
    CHECK(w >= DR_WHY_NONE && w <= DR_WHY_UNSIGNED_CUT);
    CHECK((s == DR_SEC_SECURE) == (w == DR_WHY_NONE));
    int ede = dr_dnssec_ede(s, w);
    CHECK(ede >= -1 && ede <= 27);
}

/* Each RRset of the answer (by owner and type of its first record) against every RRSIG. */
static void
verify_rrsets(const ldns_rr_list *an, const ldns_rr_list *keys, const ldns_rr_list *ds)
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(an) && i < 16; i++) {
        const ldns_rr *first = ldns_rr_list_rr(an, i);
        const uint8_t *owner = dr_scrub_name(ldns_rr_owner(first));
        if (owner == NULL || ldns_rr_get_type(first) == LDNS_RR_TYPE_RRSIG)
            continue;
        ldns_rr_list *set = ldns_rr_list_new();
        for (size_t j = 0; j < ldns_rr_list_rr_count(an); j++) {
            const ldns_rr *rr = ldns_rr_list_rr(an, j);
            if (ldns_rr_get_type(rr) == ldns_rr_get_type(first) && dr_scrub_owner_is(rr, owner))
                ldns_rr_list_push_rr(set, ldns_rr_list_rr(an, j));
        }
        struct dr_rrsig_result res;
        for (int z = 0; z <= dr_dname_labels(owner) && z < 4; z++) {
            const uint8_t *zone = dr_dname_strip(owner, z);
            enum dr_sec s = dr_rrsig_verify(set, an, keys, zone, NOW, DR_RRSIG_SKEW, &res);
            CHECK(s == res.sec);
            check_sec(s, res.why);
            if (s == DR_SEC_SECURE && res.wildcard)
                CHECK(dr_dname_is_sub(owner, res.encloser) && !dr_dname_equal(owner, res.encloser));
        }
        if (ldns_rr_get_type(first) == LDNS_RR_TYPE_DNSKEY) {
            enum dr_why why;
            enum dr_sec s = dr_dnskey_verify_set(set, an, ds, NOW, 0, &why);
            check_sec(s, why);
        }
        ldns_rr_list_free(set);
    }
}

static void
prove(const ldns_rr_list *au, const uint8_t *qname, uint16_t qtype)
{
    uint8_t ce[DR_NAME_MAX];
    if (dr_nsec_nxdomain(au, qname, ce))
        CHECK(dr_dname_is_sub(qname, ce) && !dr_dname_equal(qname, ce));
    (void)dr_nsec_nodata(au, qname, qtype);
    (void)dr_nsec_wildcard_nodata(au, qname, qtype);
    (void)dr_nsec_insecure_delegation(au, qname);
    for (int i = 1; i <= dr_dname_labels(qname) && i < 4; i++) {
        const uint8_t *zone = dr_dname_strip(qname, i);
        enum dr_why why;
        struct dr_nsec3_ce c;
        (void)dr_nsec_wildcard_answer(au, qname, zone);
        enum dr_sec s = dr_nsec3_closest_encloser(au, zone, qname, 150, &c, &why);
        check_sec(s, why);
        if (s == DR_SEC_SECURE)
            CHECK(dr_dname_is_sub(qname, c.ce) && dr_dname_is_sub(c.next, c.ce) &&
                  dr_dname_labels(c.next) == dr_dname_labels(c.ce) + 1);
        s = dr_nsec3_nxdomain(au, zone, qname, 150, &why);
        check_sec(s, why);
        s = dr_nsec3_nodata(au, zone, qname, qtype, 150, &why);
        check_sec(s, why);
        s = dr_nsec3_wildcard_nodata(au, zone, qname, qtype, 150, &why);
        check_sec(s, why);
        s = dr_nsec3_wildcard_answer(au, zone, qname, zone, 150, &why);
        check_sec(s, why);
        s = dr_nsec3_insecure_delegation(au, zone, qname, 150, &why);
        check_sec(s, why);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ldns_pkt *p = NULL;
    if (ldns_wire2pkt(&p, data, size) != LDNS_STATUS_OK)
        return 0;
    ldns_rr_list *an = ldns_pkt_answer(p), *au = ldns_pkt_authority(p);
    ldns_rr_list *keys = of_type(an, LDNS_RR_TYPE_DNSKEY), *ds = of_type(an, LDNS_RR_TYPE_DS);
    for (size_t i = 0; keys && i < ldns_rr_list_rr_count(keys); i++) {
        const ldns_rr *k = ldns_rr_list_rr(keys, i);
        int tag = dr_dnskey_tag(k);
        CHECK(tag == -EINVAL || (tag >= 0 && tag <= 0xffff));
        for (size_t j = 0; ds && j < ldns_rr_list_rr_count(ds); j++) {
            int m = dr_dnskey_match_ds(k, ldns_rr_list_rr(ds, j));
            CHECK(m == 0 || m == 1 || m < 0);
        }
    }
    ldns_rr_list *sep = NULL;
    enum dr_why why;
    enum dr_sec s = dr_dnskey_sep(keys, ds, &sep, &why);
    check_sec(s, why);
    CHECK((s == DR_SEC_SECURE) == (sep != NULL));
    ldns_rr_list_free(sep);
    verify_rrsets(an, keys, ds);

    ldns_rr_list *qs = ldns_pkt_question(p);
    if (ldns_rr_list_rr_count(qs) > 0) {
        const ldns_rr *q = ldns_rr_list_rr(qs, 0);
        const uint8_t *qname = dr_scrub_name(ldns_rr_owner(q));
        if (qname && dr_dname_len(qname) == ldns_rdf_size(ldns_rr_owner(q)))
            prove(au, qname, ldns_rr_get_type(q));
    }
    ldns_rr_list_free(keys);
    ldns_rr_list_free(ds);
    ldns_pkt_free(p);
    return 0;
}
