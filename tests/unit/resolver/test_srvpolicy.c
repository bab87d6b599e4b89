/* Unit tests for resolver/srvpolicy.c: the addresses a query may never go to, loaded
 * through the real configuration schema. */
#include "resolver/srvpolicy.h"

#include <stdio.h>

#include "common/config.h"
#include "test.h"

static struct dr_conf *
load(const char *text)
{
    struct dr_conf *c = dr_conf_new();
    ASSERT_NOT_NULL(c);
    struct dc_conf_errors errs = {0};
    int nerr = dc_conf_load_string(&dr_conf_schema, "t.conf", text, c, &c->arena, &errs);
    if (nerr != 0) {
        dc_conf_errors_print(&errs, stderr);
        TEST_FAIL("config rejected");
    }
    dc_conf_errors_deinit(&errs);
    return c;
}

static bool
allowed(const struct dr_conf *c, const char *addr, bool configured)
{
    union dc_sockaddr a;
    ASSERT_EQ(dc_addr_parse(addr, 53, &a), 0);
    return dr_server_allowed(c, &a, configured);
}

static void
test_never_asked(void)
{
    struct dr_conf *c = load("outgoing-address = 0.0.0.0\noutgoing-address = ::\n");
    const char *never[] = {"0.0.0.0",       "0.1.2.3",          "255.255.255.255",
                           "224.0.0.251",   "240.0.0.1",        "169.254.169.254",
                           "127.0.0.1",     "127.53.0.1",       "::",
                           "::1",           "::192.0.2.1",      "ff02::fb",
                           "fe80::1",       "::ffff:127.0.0.1", "::ffff:169.254.169.254",
                           "::ffff:0.0.0.0"};
    for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
        if (allowed(c, never[i], false))
            TEST_FAIL("%s allowed", never[i]);
    const char *ok[] = {"192.0.2.1", "8.8.8.8", "10.1.2.3", "2001:db8::53", "::ffff:192.0.2.1"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (!allowed(c, ok[i], false))
            TEST_FAIL("%s refused", ok[i]);
    dr_conf_free(c);
}

static void
test_loopback_when_asked_for(void)
{
    struct dr_conf *c = load("outgoing-address = 0.0.0.0\noutgoing-address = ::\n");
    /* An address the operator wrote (forward-addr, stub-addr) may be loopback. */
    ASSERT(allowed(c, "127.0.0.1", true));
    ASSERT(allowed(c, "::1", true));
    ASSERT(allowed(c, "::ffff:127.0.0.1", true));
    ASSERT(!allowed(c, "0.0.0.0", true)); /* the rest stays refused */
    ASSERT(!allowed(c, "169.254.1.1", true));
    dr_conf_free(c);
    c = load("outgoing-address = 0.0.0.0\nquery-loopback = yes\n");
    ASSERT(allowed(c, "127.0.0.1", false));
    ASSERT(allowed(c, "127.53.1.1", false));
    dr_conf_free(c);
}

static void
test_family_and_operator_ranges(void)
{
    struct dr_conf *c = load("outgoing-address = 0.0.0.0\n"
                             "do-not-query-address = 10.0.0.0/8\n"
                             "do-not-query-address = fd00::/8\n");
    ASSERT(allowed(c, "192.0.2.1", false));
    ASSERT(!allowed(c, "2001:db8::53", false)); /* no IPv6 outgoing address */
    ASSERT(!allowed(c, "10.9.9.9", false));
    ASSERT(!allowed(c, "10.9.9.9", true)); /* do-not-query wins over configured */
    ASSERT(allowed(c, "11.0.0.1", false));
    dr_conf_free(c);
    c = load("outgoing-address = ::\ndo-not-query-address = fd00::/8\n");
    ASSERT(!allowed(c, "192.0.2.1", false));
    ASSERT(!allowed(c, "fd12::1", false));
    ASSERT(allowed(c, "2001:db8::1", false));
    dr_conf_free(c);
}

int
main(void)
{
    TEST_RUN(test_never_asked);
    TEST_RUN(test_loopback_when_asked_for);
    TEST_RUN(test_family_and_operator_ranges);
    return 0;
}
