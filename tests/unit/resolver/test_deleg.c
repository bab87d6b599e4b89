/* Unit tests for resolver/deleg.c: zone cuts stored and found by closest enclosing zone. */
#include "resolver/deleg.h"

#include <errno.h>
#include <stdint.h>

#include "resolver/msg.h"

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

int
main(void)
{
    TEST_RUN(test_store_and_find_closest);
    TEST_RUN(test_limits);
    TEST_RUN(test_find_for_ds_starts_at_parent);
    TEST_RUN(test_merge_addrs);
    TEST_RUN(test_dname_store_and_find);
    TEST_RUN(test_key_and_entry_validation);
    return 0;
}
