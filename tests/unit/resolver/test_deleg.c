/* Unit tests for resolver/deleg.c: zone cuts stored and found by closest enclosing zone. */
#include "resolver/deleg.h"

#include <errno.h>
#include <stdint.h>

#include "resolver/msg.h"

#include "reply_text.h"
#include "test.h"

static void
name(const char *s, uint8_t out[DR_NAME_MAX])
{
    ASSERT_GT(dr_dname_from_str(s, out), 0);
}

static void
test_store_and_find_closest(void)
{
    struct dc_lru *t = dc_lru_new(1 << 20, 4);
    ASSERT_NOT_NULL(t);
    struct dr_deleg d;
    memset(&d, 0, sizeof(d));
    name("Example.", d.zone);
    dr_dname_lower(d.zone);
    uint8_t ns1[DR_NAME_MAX], ns2[DR_NAME_MAX];
    name("ns1.example.", ns1);
    name("NS2.other.", ns2);
    struct dr_deleg_ns *a = dr_deleg_add_ns(&d, ns1);
    ASSERT_NOT_NULL(a);
    ASSERT(dr_deleg_add_ns(&d, ns1) == a); /* no duplicates */
    ASSERT_NOT_NULL(dr_deleg_add_ns(&d, ns2));
    union dc_sockaddr v4, v6;
    ASSERT_EQ(dc_addr_parse("192.0.2.53", 53, &v4), 0);
    ASSERT_EQ(dc_addr_parse("2001:db8::53", 53, &v6), 0);
    dr_deleg_add_addr(a, &v4);
    dr_deleg_add_addr(a, &v4);
    dr_deleg_add_addr(a, &v6);
    ASSERT_EQ(a->naddrs, 2);
    ASSERT_EQ(dr_deleg_store(t, &d, 1000), 0);

    struct dr_deleg out;
    uint8_t q[DR_NAME_MAX];
    name("www.sub.EXAMPLE.", q);
    ASSERT_EQ(dr_deleg_find(t, q, 10, &out), 0);
    ASSERT(dr_dname_equal(out.zone, d.zone));
    ASSERT_EQ(out.nns, 2);
    ASSERT_EQ(out.ns[0].naddrs, 2);
    ASSERT(dc_addr_equal(&out.ns[0].addrs[1], &v6));
    ASSERT_EQ(dc_addr_port(&out.ns[0].addrs[0]), 53);
    ASSERT_EQ(out.ns[1].naddrs, 0);
    /* Nothing for another tree; expired at 1000. */
    name("www.example.net.", q);
    ASSERT_EQ(dr_deleg_find(t, q, 10, &out), -ENOENT);
    name("example.", q);
    ASSERT_EQ(dr_deleg_find(t, q, 1000, &out), -ENOENT);
    dc_lru_free(t);
}

static void
test_limits(void)
{
    struct dr_deleg d;
    memset(&d, 0, sizeof(d));
    for (int i = 0; i < DR_DELEG_MAX_NS + 3; i++) {
        char s[32];
        uint8_t n[DR_NAME_MAX];
        snprintf(s, sizeof(s), "ns%d.example.", i);
        name(s, n);
        struct dr_deleg_ns *ns = dr_deleg_add_ns(&d, n);
        if (i >= DR_DELEG_MAX_NS)
            ASSERT_NULL(ns);
    }
    ASSERT_EQ(d.nns, DR_DELEG_MAX_NS);
}

static struct dr_deleg
cut(const char *zone, const char *ns, const char *addr)
{
    struct dr_deleg d;
    memset(&d, 0, sizeof(d));
    name(zone, d.zone);
    uint8_t n[DR_NAME_MAX];
    name(ns, n);
    struct dr_deleg_ns *e = dr_deleg_add_ns(&d, n);
    ASSERT_NOT_NULL(e);
    if (addr) {
        union dc_sockaddr a;
        ASSERT_EQ(dc_addr_parse(addr, 53, &a), 0);
        dr_deleg_add_addr(e, &a);
    }
    return d;
}

/* DS is parent-side data: asked at a zone apex, the parent's cut answers, not the child's. */
static void
test_find_for_ds_starts_at_parent(void)
{
    struct dc_lru *t = dc_lru_new(1 << 20, 4);
    ASSERT_NOT_NULL(t);
    struct dr_deleg root = cut(".", "a.root.", "192.0.2.1");
    struct dr_deleg tld = cut("test.", "ns1.nic.test.", "192.0.2.2");
    struct dr_deleg child = cut("site1.test.", "ns1.site1.test.", "192.0.2.3");
    ASSERT_EQ(dr_deleg_store(t, &root, 1000), 0);
    ASSERT_EQ(dr_deleg_store(t, &tld, 1000), 0);
    ASSERT_EQ(dr_deleg_store(t, &child, 1000), 0);

    struct dr_deleg out;
    uint8_t q[DR_NAME_MAX], want[DR_NAME_MAX];
    name("Site1.Test.", q);
    ASSERT_EQ(dr_deleg_find_for(t, q, DR_TYPE_NS, 10, &out), 0);
    ASSERT(dr_dname_equal(out.zone, child.zone)); /* apex NS: ask the child */
    ASSERT_EQ(dr_deleg_find_for(t, q, DR_TYPE_DS, 10, &out), 0);
    ASSERT(dr_dname_equal(out.zone, tld.zone)); /* apex DS: ask the parent */
    name("test.", q);
    ASSERT_EQ(dr_deleg_find_for(t, q, DR_TYPE_DS, 10, &out), 0);
    name(".", want);
    ASSERT(dr_dname_equal(out.zone, want));
    /* Below an apex, DS is an ordinary name of the enclosing zone. */
    name("www.site1.test.", q);
    ASSERT_EQ(dr_deleg_find_for(t, q, DR_TYPE_DS, 10, &out), 0);
    ASSERT(dr_dname_equal(out.zone, child.zone));
    /* The root has no parent: its own cut. */
    name(".", q);
    ASSERT_EQ(dr_deleg_find_for(t, q, DR_TYPE_DS, 10, &out), 0);
    ASSERT(dr_dname_equal(out.zone, want));
    dc_lru_free(t);
}

/* A priming reply without glue keeps the hints' addresses for the same NS names. */
static void
test_merge_addrs(void)
{
    struct dr_deleg hints = cut(".", "A.Root.", "192.0.2.1");
    struct dr_deleg primed = cut(".", "a.root.", NULL);
    uint8_t n[DR_NAME_MAX];
    name("b.root.", n);
    ASSERT_NOT_NULL(dr_deleg_add_ns(&primed, n)); /* unknown to the hints: stays empty */
    ASSERT_EQ(dr_deleg_merge_addrs(&primed, NULL), 0);
    ASSERT_EQ(dr_deleg_merge_addrs(&primed, &hints), 1);
    ASSERT_EQ(primed.ns[0].naddrs, 1);
    ASSERT(dc_addr_equal(&primed.ns[0].addrs[0], &hints.ns[0].addrs[0]));
    ASSERT_EQ(primed.ns[1].naddrs, 0);

    /* Glue that came with the reply wins: known addresses are not added to it. */
    struct dr_deleg glued = cut(".", "a.root.", "198.51.100.1");
    ASSERT_EQ(dr_deleg_merge_addrs(&glued, &hints), 1);
    union dc_sockaddr a;
    ASSERT_EQ(dc_addr_parse("198.51.100.1", 53, &a), 0);
    ASSERT(dc_addr_equal(&glued.ns[0].addrs[0], &a));
}

/* DNAMEs share the table with cuts under keys no cut can have; the closest one strictly
 * above a name is found, the owner itself is not redirected, and expiry is honoured. */
static void
test_dname_store_and_find(void)
{
    struct dc_lru *t = dc_lru_new(1 << 20, 4);
    ASSERT_NOT_NULL(t);
    uint8_t owner[DR_NAME_MAX], target[DR_NAME_MAX], o[DR_NAME_MAX], tg[DR_NAME_MAX], q[DR_NAME_MAX];
    name("Old.Example.", owner);
    name("new.example.", target);
    ASSERT_EQ(dr_deleg_store_dname(t, owner, target, 300, 1000 + 300), 0);
    uint32_t ttl = 0;
    name("a.b.old.example.", q);
    ASSERT_EQ(dr_deleg_find_dname(t, q, 1100, o, tg, &ttl), 0);
    ASSERT(dr_dname_equal(o, owner));
    ASSERT(dr_dname_equal(tg, target));
    ASSERT_EQ(ttl, 200);
    ASSERT_EQ(dr_deleg_find_dname(t, owner, 1100, o, tg, &ttl), -ENOENT); /* owner itself */
    /* A cut for the same name is a different entry. */
    struct dr_deleg d = cut("old.example.", "ns.old.example.", "192.0.2.9");
    ASSERT_EQ(dr_deleg_store(t, &d, 5000), 0);
    struct dr_deleg out;
    ASSERT_EQ(dr_deleg_get(t, d.zone, 1100, &out), 0);
    ASSERT_EQ(dr_deleg_find_dname(t, q, 1100, o, tg, &ttl), 0);
    ASSERT_EQ(dr_deleg_find_dname(t, q, 1300, o, tg, &ttl), -ENOENT); /* expired */
    dc_lru_free(t);
}

struct collect {
    int cuts, dnames, bad;
};

static bool
check_entry(void *arg, const void *key, size_t klen, const void *val, size_t vlen, int64_t expire)
{
    struct collect *c = arg;
    uint8_t n[DR_NAME_MAX];
    (void)expire;
    int kind = dr_deleg_key_name(key, klen, n);
    if (kind == 0 && dr_deleg_entry_valid(key, klen, val, vlen))
        c->cuts++;
    else if (kind == 1 && dr_deleg_entry_valid(key, klen, val, vlen))
        c->dnames++;
    else
        c->bad++;
    return false;
}

static bool
grab_value(void *arg, const void *key, size_t klen, const void *val, size_t vlen, int64_t expire)
{
    struct {
        uint8_t *v;
        size_t *n;
    } *g = arg;
    (void)key;
    (void)klen;
    (void)expire;
    memcpy(g->v, val, vlen);
    *g->n = vlen;
    return false;
}

/* Keys and values as a hostile cache file could hold them are told apart from real ones. */
static void
test_key_and_entry_validation(void)
{
    struct dc_lru *t = dc_lru_new(1 << 20, 1);
    uint8_t owner[DR_NAME_MAX], target[DR_NAME_MAX], n[DR_NAME_MAX];
    name("x.example.", owner);
    name("y.example.", target);
    ASSERT_EQ(dr_deleg_store_dname(t, owner, target, 60, 100), 0);
    struct dr_deleg d = cut("example.", "ns1.example.", "192.0.2.1");
    ASSERT_EQ(dr_deleg_store(t, &d, 100), 0);
    struct collect c = {0, 0, 0};
    dc_lru_foreach(t, check_entry, &c);
    ASSERT_EQ(c.cuts, 1);
    ASSERT_EQ(c.dnames, 1);
    ASSERT_EQ(c.bad, 0);
    dc_lru_free(t);

    static const uint8_t label_too_long[] = {64, 'a'};
    static const uint8_t no_root[] = {3, 'c', 'o', 'm'};
    static const uint8_t pointer[] = {1, 'a', 0xc0, 0};
    static const uint8_t trailing[] = {1, 'a', 0, 7};
    static const uint8_t overrun[] = {9, 'a', 0};
    static const uint8_t dname_only_marker[] = {0xfe};
    ASSERT_EQ(dr_deleg_key_name(label_too_long, sizeof(label_too_long), n), -EBADMSG);
    ASSERT_EQ(dr_deleg_key_name(no_root, sizeof(no_root), n), -EBADMSG);
    ASSERT_EQ(dr_deleg_key_name(pointer, sizeof(pointer), n), -EBADMSG);
    ASSERT_EQ(dr_deleg_key_name(trailing, sizeof(trailing), n), -EBADMSG);
    ASSERT_EQ(dr_deleg_key_name(overrun, sizeof(overrun), n), -EBADMSG);
    ASSERT_EQ(dr_deleg_key_name(dname_only_marker, 1, n), -EBADMSG);
    ASSERT_EQ(dr_deleg_key_name(NULL, 0, n), -EBADMSG);
    static const uint8_t root[] = {0};
    ASSERT_EQ(dr_deleg_key_name(root, 1, n), 0);

    /* A cut value whose zone differs from its key, or with bytes left over, is refused. */
    uint8_t key[DR_NAME_MAX];
    name("other.", key);
    uint8_t val[512];
    size_t vl = 0;
    struct dr_deleg e = cut("example.", "ns1.example.", "192.0.2.1");
    struct dc_lru *t2 = dc_lru_new(1 << 20, 1);
    ASSERT_EQ(dr_deleg_store(t2, &e, 100), 0);
    struct grab {
        uint8_t *v;
        size_t *n;
    } g = {val, &vl};
    dc_lru_foreach(t2, grab_value, &g);
    ASSERT(vl > 0);
    ASSERT(dr_deleg_entry_valid(e.zone, dr_dname_len(e.zone), val, vl));
    ASSERT(!dr_deleg_entry_valid(key, dr_dname_len(key), val, vl));
    val[vl] = 0;
    ASSERT(!dr_deleg_entry_valid(e.zone, dr_dname_len(e.zone), val, vl + 1));
    ASSERT(!dr_deleg_entry_valid(e.zone, dr_dname_len(e.zone), val, vl - 1));
    dc_lru_free(t2);
}

/* ---- dr_deleg_from_reply: a cut built out of a referral ---- */

/* The cut for zone from the authority section of p, with glue inside bailiwick. */
static struct dr_deleg
from_reply(ldns_pkt *p, const char *zone, const char *bailiwick, uint32_t *ttl)
{
    uint8_t z[DR_NAME_MAX], b[DR_NAME_MAX];
    wname(zone, z);
    wname(bailiwick, b);
    struct dr_deleg d;
    dr_deleg_from_reply(p, ldns_pkt_authority(p), z, b, &d, ttl);
    return d;
}

static const struct dr_deleg_ns *
ns_of(const struct dr_deleg *d, const char *ns)
{
    uint8_t n[DR_NAME_MAX];
    wname(ns, n);
    for (unsigned i = 0; i < d->nns; i++)
        if (dr_dname_equal(d->ns[i].name, n))
            return &d->ns[i];
    return NULL;
}

static bool
ns_has_addr(const struct dr_deleg_ns *ns, const char *addr)
{
    union dc_sockaddr a;
    ASSERT_EQ(dc_addr_parse(addr, 53, &a), 0);
    for (unsigned i = 0; ns && i < ns->naddrs; i++)
        if (dc_addr_equal(&ns->addrs[i], &a))
            return true;
    return false;
}

static void
test_from_reply_referral_with_glue(void)
{
    ldns_pkt *p = reply_text(DR_RCODE_NOERROR, false,
                             "au Site1.TEST. 300 IN NS NS1.site1.test.\n"
                             "au site1.test. 300 IN NS ns2.site1.test.\n"
                             "au site1.test. 300 IN NS ns.other.\n"
                             "ad ns1.site1.test. 300 IN A 192.0.2.1\n"
                             "ad NS1.SITE1.test. 300 IN AAAA 2001:db8::1\n"
                             "ad ns2.site1.test. 300 IN A 192.0.2.2\n");
    uint32_t ttl;
    struct dr_deleg d = from_reply(p, "SITE1.test.", "test.", &ttl);
    uint8_t want[DR_NAME_MAX];
    wname("site1.test.", want);
    ASSERT(dr_dname_equal_case(d.zone, want)); /* lower case */
    ASSERT_EQ(d.nns, 3);
    const struct dr_deleg_ns *ns1 = ns_of(&d, "ns1.site1.test.");
    ASSERT_NOT_NULL(ns1);
    wname("ns1.site1.test.", want);
    ASSERT(dr_dname_equal_case(ns1->name, want));
    ASSERT_EQ(ns1->naddrs, 2);
    ASSERT(ns_has_addr(ns1, "192.0.2.1"));
    ASSERT(ns_has_addr(ns1, "2001:db8::1"));
    ASSERT_EQ(dc_addr_port(&ns1->addrs[0]), 53);
    ASSERT(ns_has_addr(ns_of(&d, "ns2.site1.test."), "192.0.2.2"));
    ASSERT_EQ(ns_of(&d, "ns.other.")->naddrs, 0); /* glueless: looked up later */
    ASSERT_UINT_EQ(ttl, 300);
    ldns_pkt_free(p);
}

/* The poisoning case: servers for evil.test. delegate sub.evil.test. to victim's name
 * server and "helpfully" give it an address. Believing it would send every query for
 * victim.test. to the attacker once that NS name is used. */
static void
test_from_reply_out_of_bailiwick_glue_dropped(void)
{
    ldns_pkt *p = reply_text(DR_RCODE_NOERROR, false,
                             "au sub.evil.test. 300 IN NS ns1.victim.test.\n"
                             "au sub.evil.test. 300 IN NS ns1.sub.evil.test.\n"
                             "au sub.evil.test. 300 IN NS ns.xevil.test.\n"
                             "ad ns1.victim.test. 300 IN A 6.6.6.6\n"
                             "ad ns1.victim.test. 300 IN AAAA 2001:db8::666\n"
                             "ad ns.xevil.test. 300 IN A 6.6.6.7\n"
                             "ad ns1.sub.evil.test. 300 IN A 192.0.2.1\n");
    uint32_t ttl;
    struct dr_deleg d = from_reply(p, "sub.evil.test.", "evil.test.", &ttl);
    ASSERT_EQ(d.nns, 3);
    const struct dr_deleg_ns *victim = ns_of(&d, "ns1.victim.test.");
    ASSERT_NOT_NULL(victim); /* the NS name itself is the child's to choose */
    ASSERT_EQ(victim->naddrs, 0);
    ASSERT(!ns_has_addr(victim, "6.6.6.6"));
    ASSERT_EQ(ns_of(&d, "ns.xevil.test.")->naddrs, 0); /* a suffix is not a bailiwick */
    const struct dr_deleg_ns *own = ns_of(&d, "ns1.sub.evil.test.");
    ASSERT_EQ(own->naddrs, 1);
    ASSERT(ns_has_addr(own, "192.0.2.1"));
    ldns_pkt_free(p);

    /* The same reply from the root's servers: everything is in the root's bailiwick. */
    p = reply_text(DR_RCODE_NOERROR, false,
                   "au test. 300 IN NS ns1.victim.test.\n"
                   "ad ns1.victim.test. 300 IN A 192.0.2.9\n");
    d = from_reply(p, "test.", ".", &ttl);
    ASSERT(ns_has_addr(ns_of(&d, "ns1.victim.test."), "192.0.2.9"));
    ldns_pkt_free(p);
}

/* Glue in bailiwick but for a name that is no NS of the cut goes nowhere. */
static void
test_from_reply_glue_for_other_names_dropped(void)
{
    ldns_pkt *p = reply_text(DR_RCODE_NOERROR, false,
                             "au sub.evil.test. 300 IN NS ns1.sub.evil.test.\n"
                             "ad www.sub.evil.test. 300 IN A 6.6.6.6\n"
                             "ad sub.evil.test. 300 IN A 6.6.6.7\n"
                             "ad ns2.sub.evil.test. 300 IN A 6.6.6.8\n"
                             "an ns1.sub.evil.test. 300 IN A 6.6.6.9\n"
                             "au ns1.sub.evil.test. 300 IN A 6.6.6.10\n"
                             "ad ns1.sub.evil.test. 300 IN TXT \"1.2.3.4\"\n");
    uint32_t ttl;
    struct dr_deleg d = from_reply(p, "sub.evil.test.", "evil.test.", &ttl);
    ASSERT_EQ(d.nns, 1); /* glue never adds an NS */
    ASSERT_EQ(d.ns[0].naddrs, 0);
    ldns_pkt_free(p);
}

static void
test_from_reply_foreign_ns_ignored(void)
{
    ldns_pkt *p = reply_text(DR_RCODE_NOERROR, false,
                             "au evil.test. 300 IN NS ns.attacker.\n"
                             "au test. 300 IN NS ns.attacker.\n"
                             "au other.evil.test. 300 IN NS ns.attacker.\n"
                             "au x.sub.evil.test. 300 IN NS ns.attacker.\n"
                             "au xsub.evil.test. 300 IN NS ns.attacker.\n"
                             "an sub.evil.test. 300 IN NS ns.answer.\n"
                             "ad sub.evil.test. 300 IN NS ns.additional.\n"
                             "au sub.evil.test. 300 IN A 192.0.2.1\n"
                             "au sub.evil.test. 60 IN DS 1 8 2 "
                             "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
                             "au SUB.evil.test. 300 IN NS ns1.sub.evil.test.\n"
                             "ad ns.attacker. 300 IN A 6.6.6.6\n");
    uint32_t ttl;
    struct dr_deleg d = from_reply(p, "sub.evil.test.", "evil.test.", &ttl);
    ASSERT_EQ(d.nns, 1);
    ASSERT_NOT_NULL(ns_of(&d, "ns1.sub.evil.test."));
    ASSERT_NULL(ns_of(&d, "ns.attacker."));
    ASSERT_UINT_EQ(ttl, 300); /* only the NS records' TTLs count */
    ldns_pkt_free(p);

    /* No NS for the cut at all: an empty cut, TTL "none". */
    p = reply_text(DR_RCODE_NOERROR, false, "au other.test. 300 IN NS ns1.other.test.\n");
    d = from_reply(p, "sub.evil.test.", "evil.test.", &ttl);
    ASSERT_EQ(d.nns, 0);
    ASSERT_UINT_EQ(ttl, UINT32_MAX);
    ldns_pkt_free(p);
}

static void
test_from_reply_bounded(void)
{
    ldns_pkt *p = reply_text(DR_RCODE_NOERROR, false, NULL);
    for (int i = 0; i < DR_DELEG_MAX_NS + 7; i++) {
        char s[128];
        snprintf(s, sizeof(s), "big.test. 300 IN NS ns%d.big.test.", i);
        ASSERT(ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, rr_text(s)));
    }
    for (int i = 0; i < DR_DELEG_MAX_ADDRS + 4; i++) {
        char s[128];
        snprintf(s, sizeof(s), "ns0.big.test. 300 IN A 192.0.2.%d", i + 1);
        ASSERT(ldns_pkt_push_rr(p, LDNS_SECTION_ADDITIONAL, rr_text(s)));
        snprintf(s, sizeof(s), "ns1.big.test. 300 IN A 192.0.2.1"); /* the same one again */
        ASSERT(ldns_pkt_push_rr(p, LDNS_SECTION_ADDITIONAL, rr_text(s)));
    }
    /* Glue for an NS beyond the limit has nowhere to go. */
    ASSERT(ldns_pkt_push_rr(p, LDNS_SECTION_ADDITIONAL,
                            rr_text("ns19.big.test. 300 IN A 192.0.2.99")));
    uint32_t ttl;
    struct dr_deleg d = from_reply(p, "big.test.", "test.", &ttl);
    ASSERT_EQ(d.nns, DR_DELEG_MAX_NS);
    ASSERT_EQ(d.ns[0].naddrs, DR_DELEG_MAX_ADDRS);
    ASSERT(ns_has_addr(&d.ns[0], "192.0.2.1"));
    ASSERT(!ns_has_addr(&d.ns[0], "192.0.2.5"));
    ASSERT_EQ(ns_of(&d, "ns1.big.test.")->naddrs, 1); /* duplicates counted once */
    ASSERT_NULL(ns_of(&d, "ns19.big.test."));
    for (unsigned i = 0; i < d.nns; i++)
        ASSERT_LE(d.ns[i].naddrs, DR_DELEG_MAX_ADDRS);
    ldns_pkt_free(p);
}

static void
test_from_reply_ttl_is_smallest_ns_ttl(void)
{
    ldns_pkt *p = reply_text(DR_RCODE_NOERROR, false,
                             "au site1.test. 86400 IN NS ns1.site1.test.\n"
                             "au site1.test. 120 IN NS ns2.site1.test.\n"
                             "au site1.test. 3600 IN NS ns3.site1.test.\n"
                             "au other.test. 5 IN NS ns1.other.test.\n"
                             "ad ns1.site1.test. 1 IN A 192.0.2.1\n");
    uint32_t ttl;
    struct dr_deleg d = from_reply(p, "site1.test.", "test.", &ttl);
    ASSERT_EQ(d.nns, 3);
    ASSERT_UINT_EQ(ttl, 120); /* not the foreign NS's 5, not the glue's 1 */
    ldns_pkt_free(p);
}

/* Address records the scrubber refuses (wrong rdata size) never become addresses. */
static void
test_from_reply_malformed_glue_dropped(void)
{
    ldns_pkt *p = reply_text(DR_RCODE_NOERROR, false, "au site1.test. 300 IN NS ns1.site1.test.\n");
    static const uint8_t five[5] = {192, 0, 2, 1, 7};
    ASSERT(ldns_pkt_push_rr(p, LDNS_SECTION_ADDITIONAL,
                            rr_raw("ns1.site1.test.", LDNS_RR_TYPE_A, LDNS_RDF_TYPE_A, five, 3)));
    ASSERT(ldns_pkt_push_rr(p, LDNS_SECTION_ADDITIONAL,
                            rr_raw("ns1.site1.test.", LDNS_RR_TYPE_A, LDNS_RDF_TYPE_A, five, 5)));
    uint32_t ttl;
    struct dr_deleg d = from_reply(p, "site1.test.", "test.", &ttl);
    ASSERT_EQ(d.nns, 1);
    ASSERT_EQ(d.ns[0].naddrs, 0);
    ldns_pkt_free(p);
}

/* Priming: the root's NS set comes in the answer section, and the root's bailiwick holds
 * every name. */
static void
test_from_reply_priming_answer_section(void)
{
    ldns_pkt *p = reply_text(DR_RCODE_NOERROR, true,
                             "an . 518400 IN NS a.root-servers.lab.\n"
                             "au . 518400 IN NS b.root-servers.lab.\n"
                             "ad a.root-servers.lab. 518400 IN A 192.0.2.1\n"
                             "ad b.root-servers.lab. 518400 IN A 192.0.2.2\n");
    uint8_t root[DR_NAME_MAX];
    wname(".", root);
    struct dr_deleg d;
    uint32_t ttl;
    dr_deleg_from_reply(p, ldns_pkt_answer(p), root, root, &d, &ttl);
    ASSERT_EQ(d.nns, 1); /* only the section given */
    ASSERT(ns_has_addr(ns_of(&d, "a.root-servers.lab."), "192.0.2.1"));
    ASSERT_UINT_EQ(ttl, 518400);
    ldns_pkt_free(p);
}

int
main(void)
{
    TEST_RUN(test_store_and_find_closest);
    TEST_RUN(test_limits);
    TEST_RUN(test_find_for_ds_starts_at_parent);
    TEST_RUN(test_merge_addrs);
    TEST_RUN(test_dname_store_and_find);
    TEST_RUN(test_key_and_entry_validation);
    TEST_RUN(test_from_reply_referral_with_glue);
    TEST_RUN(test_from_reply_out_of_bailiwick_glue_dropped);
    TEST_RUN(test_from_reply_glue_for_other_names_dropped);
    TEST_RUN(test_from_reply_foreign_ns_ignored);
    TEST_RUN(test_from_reply_bounded);
    TEST_RUN(test_from_reply_ttl_is_smallest_ns_ttl);
    TEST_RUN(test_from_reply_malformed_glue_dropped);
    TEST_RUN(test_from_reply_priming_answer_section);
    return 0;
}
