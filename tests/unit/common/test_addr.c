/* Tests for common/addr.c: every accepted form, every rejection, formatting and comparison. */
#include "common/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>

#include "test.h"

/* Parses s and checks it formats back (with port) as want. */
static void
check_parse(const char *s, uint16_t def, int family, const char *want)
{
    union dc_sockaddr a;
    char buf[DC_ADDR_STRLEN];
    int rc = dc_addr_parse(s, def, &a);
    if (rc != 0)
        TEST_FAIL("dc_addr_parse(\"%s\") = %d", s, rc);
    ASSERT_EQ(a.sa.sa_family, family);
    ASSERT_STR_EQ(dc_addr_format(&a, true, buf, sizeof(buf)), want);
}

static void
check_reject(const char *s)
{
    union dc_sockaddr a;
    memset(&a, 0xa5, sizeof(a));
    int rc = dc_addr_parse(s, 53, &a);
    if (rc != -EINVAL)
        TEST_FAIL("dc_addr_parse(\"%s\") = %d, want -EINVAL", s, rc);
    /* A failed parse leaves the output alone. */
    ASSERT_EQ(((unsigned char *)&a)[0], 0xa5);
}

static void
parse_v4(void)
{
    check_parse("127.0.0.1", 53, AF_INET, "127.0.0.1:53");
    check_parse("127.0.0.1:5353", 53, AF_INET, "127.0.0.1:5353");
    check_parse("0.0.0.0:443", 0, AF_INET, "0.0.0.0:443");
    check_parse("255.255.255.255:65535", 0, AF_INET, "255.255.255.255:65535");
    check_parse("10.1.2.3:1", 0, AF_INET, "10.1.2.3:1");
    /* default_port 0 is allowed: "bind any port". */
    check_parse("127.0.0.1", 0, AF_INET, "127.0.0.1:0");

    union dc_sockaddr a;
    ASSERT_EQ(dc_addr_parse("192.0.2.7:8080", 0, &a), 0);
    ASSERT_EQ(ntohl(a.in.sin_addr.s_addr), 0xc0000207);
    ASSERT_EQ(dc_addr_port(&a), 8080);
    ASSERT_EQ(dc_addr_len(&a), sizeof(struct sockaddr_in));
}

static void
parse_v6(void)
{
    check_parse("::1", 53, AF_INET6, "[::1]:53");
    check_parse("::", 443, AF_INET6, "[::]:443");
    check_parse("2001:db8::1", 0, AF_INET6, "[2001:db8::1]:0");
    check_parse("[::1]:5353", 53, AF_INET6, "[::1]:5353");
    check_parse("[::1]", 53, AF_INET6, "[::1]:53");
    check_parse("[::]:443", 0, AF_INET6, "[::]:443");
    check_parse("[2001:DB8:0:0:0:0:0:1]:65535", 0, AF_INET6, "[2001:db8::1]:65535");
    check_parse("::ffff:127.0.0.1", 53, AF_INET6, "[::ffff:127.0.0.1]:53");
    check_parse("[::ffff:10.0.0.1]:80", 0, AF_INET6, "[::ffff:10.0.0.1]:80");
    /* Eight groups with no '::' and a bare form whose last group looks like a port. */
    check_parse("1:2:3:4:5:6:7:8", 0, AF_INET6, "[1:2:3:4:5:6:7:8]:0");
    check_parse("2001:db8::1:53", 7, AF_INET6, "[2001:db8::1:53]:7");

    union dc_sockaddr a;
    ASSERT_EQ(dc_addr_parse("[::1]:53", 0, &a), 0);
    ASSERT_EQ(dc_addr_len(&a), sizeof(struct sockaddr_in6));
    ASSERT(IN6_IS_ADDR_LOOPBACK(&a.in6.sin6_addr));
    ASSERT_EQ(a.in6.sin6_scope_id, 0);
    ASSERT_EQ(a.in6.sin6_flowinfo, 0);
}

static void
parse_scope(void)
{
    union dc_sockaddr a;
    char buf[DC_ADDR_STRLEN];
    unsigned lo = if_nametoindex("lo");

    if (lo != 0) {
        ASSERT_EQ(dc_addr_parse("fe80::1%lo", 53, &a), 0);
        ASSERT_EQ(a.in6.sin6_scope_id, lo);
        ASSERT_STR_EQ(dc_addr_format(&a, true, buf, sizeof(buf)), "[fe80::1%lo]:53");
        ASSERT_STR_EQ(dc_addr_format(&a, false, buf, sizeof(buf)), "fe80::1%lo");
        ASSERT_EQ(dc_addr_parse("[fe80::1%lo]:8053", 53, &a), 0);
        ASSERT_EQ(a.in6.sin6_scope_id, lo);
        ASSERT_EQ(dc_addr_port(&a), 8053);
    }
    /* A numeric scope is taken as an index; one naming no interface prints as a number. */
    ASSERT_EQ(dc_addr_parse("fe80::2%4000000000", 0, &a), 0);
    ASSERT_UINT_EQ(a.in6.sin6_scope_id, 4000000000u);
    ASSERT_STR_EQ(dc_addr_format(&a, false, buf, sizeof(buf)), "fe80::2%4000000000");

    check_reject("fe80::1%");
    check_reject("fe80::1%no-such-if0");
    check_reject("fe80::1%99999999999");
    check_reject("[fe80::1%]:53");
}

static void
parse_errors(void)
{
    check_reject("");
    check_reject("localhost");
    check_reject("localhost:53");
    check_reject("example.com");
    check_reject("[localhost]:53");
    check_reject("1.2.3");
    check_reject("1.2.3.4.5");
    check_reject("256.0.0.1");
    check_reject(" 127.0.0.1");
    check_reject("127.0.0.1 ");
    /* Ports: 0, too big, empty, signs, letters, spaces, too many digits. */
    check_reject("127.0.0.1:0");
    check_reject("127.0.0.1:65536");
    check_reject("127.0.0.1:99999");
    check_reject("127.0.0.1:");
    check_reject("127.0.0.1:-1");
    check_reject("127.0.0.1:+53");
    check_reject("127.0.0.1:53x");
    check_reject("127.0.0.1:http");
    check_reject("127.0.0.1: 53");
    check_reject("127.0.0.1:000053");
    check_reject(":53");
    check_reject("[::1]:0");
    check_reject("[::1]:65536");
    check_reject("[::1]:");
    check_reject("[::1]:abc");
    /* Brackets: missing, unbalanced, junk after, empty, v4 inside. */
    check_reject("[::1");
    check_reject("::1]");
    check_reject("[::1]53");
    check_reject("[::1]]");
    check_reject("[::1] ");
    check_reject("[]");
    check_reject("[]:53");
    check_reject("[127.0.0.1]:53");
    check_reject("1:2:3:4:5:6:7:8:9");
    check_reject("::1::2");
    check_reject("127.0.0.1:53:54");
    check_reject("2001:db8::g");

    /* Longer than any address could be. */
    char longs[300];
    memset(longs, '1', sizeof(longs) - 1);
    longs[sizeof(longs) - 1] = '\0';
    check_reject(longs);
    longs[0] = ':';
    longs[1] = ':';
    check_reject(longs);
    longs[0] = '[';
    check_reject(longs);
}

static void
format_forms(void)
{
    union dc_sockaddr a;
    char buf[DC_ADDR_STRLEN];

    ASSERT_EQ(dc_addr_parse("10.0.0.1:80", 0, &a), 0);
    ASSERT_STR_EQ(dc_addr_format(&a, false, buf, sizeof(buf)), "10.0.0.1");
    ASSERT_EQ(dc_addr_parse("[2001:db8::5]:80", 0, &a), 0);
    ASSERT_STR_EQ(dc_addr_format(&a, false, buf, sizeof(buf)), "2001:db8::5");

    /* The longest v6 text still fits with a scope and a port. */
    ASSERT_EQ(dc_addr_parse("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295]:65535", 0, &a),
              0);
    ASSERT_STR_EQ(dc_addr_format(&a, true, buf, sizeof(buf)),
                  "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295]:65535");

    /* A short buffer truncates, never overflows; a zero-size one is left alone. */
    char small[6];
    ASSERT_STR_EQ(dc_addr_format(&a, true, small, sizeof(small)), "[ffff");
    small[0] = 'x';
    ASSERT(dc_addr_format(&a, true, small, 0) == small);
    ASSERT_EQ(small[0], 'x');

    /* An unknown family says so instead of printing garbage. */
    memset(&a, 0, sizeof(a));
    a.sa.sa_family = AF_UNIX;
    ASSERT_STR_CONTAINS(dc_addr_format(&a, true, buf, sizeof(buf)), "family");
    ASSERT_EQ(dc_addr_len(&a), 0);
    ASSERT_EQ(dc_addr_port(&a), 0);
    dc_addr_set_port(&a, 99); /* no effect, no crash */
    ASSERT_EQ(dc_addr_port(&a), 0);
    ASSERT(!dc_addr_is_loopback(&a));
    ASSERT(!dc_addr_equal(&a, &a));
}

static void
set_port(void)
{
    union dc_sockaddr a;
    ASSERT_EQ(dc_addr_parse("127.0.0.1", 0, &a), 0);
    dc_addr_set_port(&a, 8053);
    ASSERT_EQ(dc_addr_port(&a), 8053);
    ASSERT_EQ(ntohs(a.in.sin_port), 8053);
    ASSERT_EQ(dc_addr_parse("::1", 0, &a), 0);
    dc_addr_set_port(&a, 65535);
    ASSERT_EQ(dc_addr_port(&a), 65535);
    ASSERT_EQ(ntohs(a.in6.sin6_port), 65535);
}

static bool
eq(const char *x, const char *y)
{
    union dc_sockaddr a, b;
    ASSERT_EQ(dc_addr_parse(x, 0, &a), 0);
    ASSERT_EQ(dc_addr_parse(y, 0, &b), 0);
    bool r = dc_addr_equal(&a, &b);
    ASSERT_EQ(dc_addr_equal(&b, &a), r); /* symmetric */
    return r;
}

static void
equal(void)
{
    ASSERT(eq("127.0.0.1:53", "127.0.0.1:53"));
    ASSERT(!eq("127.0.0.1:53", "127.0.0.1:54"));
    ASSERT(!eq("127.0.0.1:53", "127.0.0.2:53"));
    ASSERT(eq("[::1]:53", "[0:0::1]:53"));
    ASSERT(!eq("[::1]:53", "[::1]:54"));
    ASSERT(!eq("[::1]:53", "[::2]:53"));
    /* v4-mapped v6 equals its v4 form, port included. */
    ASSERT(eq("[::ffff:127.0.0.1]:53", "127.0.0.1:53"));
    ASSERT(eq("[::ffff:10.9.8.7]:53", "[::ffff:10.9.8.7]:53"));
    ASSERT(!eq("[::ffff:127.0.0.1]:54", "127.0.0.1:53"));
    ASSERT(!eq("[::ffff:127.0.0.2]:53", "127.0.0.1:53"));
    /* ::1 is not 127.0.0.1, and the v4-compatible form is not mapped. */
    ASSERT(!eq("[::1]:53", "127.0.0.1:53"));
    ASSERT(!eq("[::127.0.0.1]:53", "127.0.0.1:53"));
    /* Link-local on two interfaces is two addresses. */
    ASSERT(!eq("[fe80::1%1]:53", "[fe80::1%2]:53"));
    ASSERT(eq("[fe80::1%1]:53", "[fe80::1%1]:53"));
}

static bool
loop(const char *s)
{
    union dc_sockaddr a;
    ASSERT_EQ(dc_addr_parse(s, 0, &a), 0);
    return dc_addr_is_loopback(&a);
}

static void
loopback(void)
{
    ASSERT(loop("127.0.0.1"));
    ASSERT(loop("127.255.255.254"));
    ASSERT(loop("127.0.0.0"));
    ASSERT(!loop("126.255.255.255"));
    ASSERT(!loop("128.0.0.1"));
    ASSERT(!loop("0.0.0.0"));
    ASSERT(loop("::1"));
    ASSERT(!loop("::"));
    ASSERT(!loop("::2"));
    ASSERT(!loop("fe80::1"));
    ASSERT(loop("::ffff:127.0.0.1"));
    ASSERT(loop("::ffff:127.1.2.3"));
    ASSERT(!loop("::ffff:128.0.0.1"));
    ASSERT(!loop("::127.0.0.1"));
}

int
main(void)
{
    TEST_RUN(parse_v4);
    TEST_RUN(parse_v6);
    TEST_RUN(parse_scope);
    TEST_RUN(parse_errors);
    TEST_RUN(format_forms);
    TEST_RUN(set_port);
    TEST_RUN(equal);
    TEST_RUN(loopback);
    return 0;
}
