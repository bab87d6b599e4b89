/* Unit tests for resolver/infra.c: RTT smoothing, timeouts doubling, dead servers, EDNS. */
#include "resolver/infra.h"

#include "test.h"

static union dc_sockaddr
addr(const char *s)
{
    union dc_sockaddr a;
    ASSERT_EQ(dc_addr_parse(s, 53, &a), 0);
    return a;
}

static void
test_unknown_then_measured(void)
{
    struct dr_infra in;
    ASSERT_EQ(dr_infra_init(&in), 0);
    union dc_sockaddr a = addr("192.0.2.1");
    struct dr_infra_info i;
    dr_infra_get(&in, &a, 0, 1500, &i);
    ASSERT_EQ(i.srtt_ms, DR_INFRA_UNKNOWN_RTT);
    ASSERT_EQ(i.rto_ms, 1500);
    for (int k = 0; k < 20; k++)
        dr_infra_rtt(&in, &a, 20);
    dr_infra_get(&in, &a, 0, 1500, &i);
    ASSERT_LE(i.srtt_ms, 25);
    ASSERT_GE(i.rto_ms, 50); /* never below the floor */
    ASSERT_LE(i.rto_ms, 200);
    dr_infra_deinit(&in);
}

static void
test_timeouts_back_off_and_kill(void)
{
    struct dr_infra in;
    ASSERT_EQ(dr_infra_init(&in), 0);
    union dc_sockaddr a = addr("[2001:db8::53]:53"), b = addr("192.0.2.2");
    dr_infra_rtt(&in, &b, 30);
    struct dr_infra_info before, i;
    dr_infra_get(&in, &a, 1000, 60000, &before);
    dr_infra_timeout(&in, &a, 1000);
    dr_infra_get(&in, &a, 1000, 60000, &i);
    ASSERT_GT(i.rto_ms, DR_INFRA_UNKNOWN_RTT);
    ASSERT(!i.dead);
    dr_infra_timeout(&in, &a, 1000);
    dr_infra_timeout(&in, &a, 1000);
    dr_infra_get(&in, &a, 1000, 60000, &i);
    ASSERT(i.dead);
    ASSERT_EQ(i.timeouts, 3);
    /* Dead for a minute, then probed again. */
    dr_infra_get(&in, &a, 1000 + 61000, 60000, &i);
    ASSERT(!i.dead);
    /* A reply revives it at once. */
    dr_infra_rtt(&in, &a, 40);
    dr_infra_get(&in, &a, 1000, 60000, &i);
    ASSERT(!i.dead);
    ASSERT_EQ(i.timeouts, 0);
    /* Others are unaffected. */
    dr_infra_get(&in, &b, 1000, 60000, &i);
    ASSERT_EQ(i.srtt_ms, 30);
    dr_infra_deinit(&in);
}

static void
test_no_edns_is_remembered(void)
{
    struct dr_infra in;
    ASSERT_EQ(dr_infra_init(&in), 0);
    union dc_sockaddr a = addr("192.0.2.3");
    dr_infra_set_no_edns(&in, &a);
    struct dr_infra_info i;
    dr_infra_get(&in, &a, 0, 1500, &i);
    ASSERT(i.no_edns);
    /* The table is bounded: many servers do not grow it past the limit. */
    for (int k = 0; k < DR_INFRA_MAX_ENTRIES + 100; k++) {
        union dc_sockaddr x;
        memset(&x, 0, sizeof(x));
        x.in.sin_family = AF_INET;
        x.in.sin_addr.s_addr = htonl(0x0a000000u + (uint32_t)k);
        x.in.sin_port = htons(53);
        dr_infra_rtt(&in, &x, 10);
    }
    ASSERT_LE(in.count, DR_INFRA_MAX_ENTRIES);
    dr_infra_deinit(&in);
}

int
main(void)
{
    TEST_RUN(test_unknown_then_measured);
    TEST_RUN(test_timeouts_back_off_and_kill);
    TEST_RUN(test_no_edns_is_remembered);
    return 0;
}
