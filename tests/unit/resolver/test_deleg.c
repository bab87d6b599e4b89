/* Unit tests for resolver/deleg.c: zone cuts stored and found by closest enclosing zone. */
#include "resolver/deleg.h"

#include <errno.h>
#include <stdint.h>

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

int
main(void)
{
    TEST_RUN(test_store_and_find_closest);
    TEST_RUN(test_limits);
    return 0;
}
