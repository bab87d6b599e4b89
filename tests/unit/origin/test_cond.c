/* Unit tests for origin/cond.c. */
#include "origin/cond.h"

#include <errno.h>
#include <locale.h>

#include "test.h"

#define RFC_T ((time_t)784111777) /* Sun, 06 Nov 1994 08:49:37 GMT, RFC 9110's example */

static void
test_etag(void)
{
    char e[DW_ETAG_MAX];
    ASSERT_EQ(dw_cond_etag(RFC_T, 1234, e), 14);
    ASSERT_STR_EQ(e, "\"2ebc98a1-4d2\"");
    ASSERT_EQ(dw_cond_etag(0, 0, e), 5);
    ASSERT_STR_EQ(e, "\"0-0\"");
    /* The longest one still fits. */
    ASSERT_EQ(dw_cond_etag((time_t)-1, UINT64_MAX, e), 35);
    ASSERT_STR_EQ(e, "\"ffffffffffffffff-ffffffffffffffff\"");
    ASSERT_LT(35, DW_ETAG_MAX);
}

static void
expect_date(time_t t, const char *want)
{
    char out[DW_DATE_LEN + 1];
    memset(out, 'x', sizeof(out));
    dw_cond_date_format(t, out);
    ASSERT_STR_EQ(out, want);
    ASSERT_EQ(strlen(out), DW_DATE_LEN);
}

static void
test_date_format(void)
{
    expect_date(RFC_T, "Sun, 06 Nov 1994 08:49:37 GMT");
    expect_date(0, "Thu, 01 Jan 1970 00:00:00 GMT");
    expect_date(951782400, "Tue, 29 Feb 2000 00:00:00 GMT");
    expect_date((time_t)2147483648LL, "Tue, 19 Jan 2038 03:14:08 GMT");
    /* Out of four-digit range: clamped, never longer. */
    expect_date(-1, "Thu, 01 Jan 1970 00:00:00 GMT");
    expect_date((time_t)253402300799LL, "Fri, 31 Dec 9999 23:59:59 GMT");
    expect_date((time_t)253402300800LL, "Fri, 31 Dec 9999 23:59:59 GMT");
    /* English names whatever the locale says. */
    if (setlocale(LC_TIME, "de_DE.UTF-8") != NULL || setlocale(LC_TIME, "fr_FR.UTF-8") != NULL)
        expect_date(RFC_T, "Sun, 06 Nov 1994 08:49:37 GMT");
    setlocale(LC_TIME, "C");
}

static void
expect_parse(const char *s, time_t want)
{
    time_t t = 12345;
    int r = dw_cond_date_parse(s, strlen(s), &t);
    if (r != 0)
        TEST_FAIL("\"%s\": error %d", s, r);
    if (t != want)
        TEST_FAIL("\"%s\": %lld, want %lld", s, (long long)t, (long long)want);
}

static void
expect_bad(const char *s)
{
    time_t t = 12345;
    int r = dw_cond_date_parse(s, strlen(s), &t);
    if (r != -EINVAL)
        TEST_FAIL("\"%s\": %d (t=%lld), want -EINVAL", s, r, (long long)t);
    ASSERT_EQ(t, 12345);
}

static void
test_date_parse_forms(void)
{
    expect_parse("Sun, 06 Nov 1994 08:49:37 GMT", RFC_T);
    expect_parse("Sunday, 06-Nov-94 08:49:37 GMT", RFC_T);
    expect_parse("Sun Nov  6 08:49:37 1994", RFC_T);
    expect_parse("Sun Nov 06 08:49:37 1994", RFC_T);
    /* Surrounding whitespace is not part of the value. */
    expect_parse("  Sun, 06 Nov 1994 08:49:37 GMT\t", RFC_T);
    /* The weekday is not checked against the date (nginx ignores it altogether). */
    expect_parse("Mon, 06 Nov 1994 08:49:37 GMT", RFC_T);
    expect_parse("Thu, 01 Jan 1970 00:00:00 GMT", 0);
    expect_parse("Tue, 29 Feb 2000 00:00:00 GMT", 951782400);
    expect_parse("Thu, 29 Feb 2024 12:00:00 GMT", 1709208000);
    expect_parse("Tue, 19 Jan 2038 03:14:08 GMT", (time_t)2147483648LL);
    expect_parse("Fri, 31 Dec 9999 23:59:59 GMT", (time_t)253402300799LL);
    expect_parse("Wed, 31 Dec 1969 23:59:59 GMT", -1);
    /* A leap second is allowed by the grammar: it is the next minute's first second. */
    expect_parse("Sun, 06 Nov 1994 08:49:60 GMT", RFC_T + 23);
    /* RFC 850 years: 00-69 are 20xx, 70-99 are 19xx. */
    expect_parse("Saturday, 01-Jan-05 00:00:00 GMT", 1104537600);
    expect_parse("Thursday, 01-Jan-70 00:00:00 GMT", 0);
    /* Every date round-trips through the formatter. */
    char buf[DW_DATE_LEN + 1];
    for (time_t t = 0; t < (time_t)253402300799LL; t += 86400 * 97 + 3607) {
        dw_cond_date_format(t, buf);
        expect_parse(buf, t);
    }
}

static void
test_date_parse_rejects(void)
{
    expect_bad("");
    expect_bad("   ");
    expect_bad("Sun, 06 Nov 1994 08:49:37");
    expect_bad("Sun, 06 Nov 1994 08:49:37 UTC");
    expect_bad("Sun, 06 Nov 1994 08:49:37 gmt");
    expect_bad("Sun, 06 Nov 1994 08:49:37 GMT; length=123");
    expect_bad("Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:37 GMT");
    expect_bad("Sun, 6 Nov 1994 08:49:37 GMT");
    expect_bad("Sun, 06 nov 1994 08:49:37 GMT");
    expect_bad("Sun, 06 Nov 94 08:49:37 GMT");
    expect_bad("Sun,06 Nov 1994 08:49:37 GMT");
    expect_bad("sun, 06 Nov 1994 08:49:37 GMT");
    expect_bad("Xyz, 06 Nov 1994 08:49:37 GMT");
    expect_bad("Sun, 06 Nov 1994 8:49:37 GMT");
    expect_bad("Sun, 06 Nov 1994 08:49 GMT");
    expect_bad("Sun, 06 Nov 1994 08-49-37 GMT");
    expect_bad("Sun, 06 Foo 1994 08:49:37 GMT");
    expect_bad("1994-11-06T08:49:37Z");
    expect_bad("784111777");
    /* Out of range fields. */
    expect_bad("Sun, 00 Nov 1994 08:49:37 GMT");
    expect_bad("Sun, 31 Nov 1994 08:49:37 GMT");
    expect_bad("Sun, 32 Jan 1994 08:49:37 GMT");
    expect_bad("Sun, 29 Feb 1900 08:49:37 GMT");
    expect_bad("Sun, 29 Feb 2023 08:49:37 GMT");
    expect_bad("Sun, 06 Nov 1994 24:00:00 GMT");
    expect_bad("Sun, 06 Nov 1994 08:60:00 GMT");
    expect_bad("Sun, 06 Nov 1994 08:49:61 GMT");
    /* RFC 850 and asctime shapes mixed up. */
    expect_bad("Sunday, 06 Nov 1994 08:49:37 GMT");
    expect_bad("Sunday, 06-Nov-1994 08:49:37 GMT");
    expect_bad("Sunday 06-Nov-94 08:49:37 GMT");
    expect_bad("Sun, 06-Nov-94 08:49:37 GMT");
    expect_bad("Sun Nov 6 08:49:37 1994");
    expect_bad("Sun Nov  6 08:49:37 94");
    expect_bad("Sun Nov  6 08:49:37 1994 GMT");
    expect_bad("Sun  Nov  6 08:49:37 1994");
    time_t t = 1;
    ASSERT_EQ(dw_cond_date_parse(NULL, 0, &t), -EINVAL);
    /* Only len bytes count. */
    ASSERT_EQ(dw_cond_date_parse("Sun, 06 Nov 1994 08:49:37 GMT", 28, &t), -EINVAL);
}

/* Shorthands for the conditional checks against the RFC example file. */
static bool
nm(const char *inm, const char *ims, const char *etag, time_t mtime)
{
    return dw_cond_not_modified(inm, inm ? strlen(inm) : 0, ims, ims ? strlen(ims) : 0, etag,
                                mtime);
}

static void
test_if_none_match(void)
{
    const char *e = "\"2ebc98a1-4d2\"";
    ASSERT(nm("\"2ebc98a1-4d2\"", NULL, e, RFC_T));
    ASSERT(nm("*", NULL, e, RFC_T));
    ASSERT(nm(" * ", NULL, e, RFC_T));
    /* Weak comparison: W/ on either side is ignored. */
    ASSERT(nm("W/\"2ebc98a1-4d2\"", NULL, e, RFC_T));
    ASSERT(nm("\"2ebc98a1-4d2\"", NULL, "W/\"2ebc98a1-4d2\"", RFC_T));
    /* Lists with OWS and empty elements. */
    ASSERT(nm("\"a\", \"2ebc98a1-4d2\"", NULL, e, RFC_T));
    ASSERT(nm("\"a\",\"b\" ,\t\"2ebc98a1-4d2\" ", NULL, e, RFC_T));
    ASSERT(nm(", ,\"2ebc98a1-4d2\",", NULL, e, RFC_T));
    ASSERT(nm("W/\"x\", W/\"2ebc98a1-4d2\"", NULL, e, RFC_T));
    ASSERT(!nm("\"a\", \"b\"", NULL, e, RFC_T));
    ASSERT(!nm("\"2ebc98a1-4d3\"", NULL, e, RFC_T));
    ASSERT(!nm("\"2EBC98A1-4D2\"", NULL, e, RFC_T));
    /* Tags without their quotes, or broken ones, never match; a syntax error anywhere in
     * the list voids it. */
    ASSERT(!nm("2ebc98a1-4d2", NULL, e, RFC_T));
    ASSERT(!nm("\"2ebc98a1-4d2", NULL, e, RFC_T));
    ASSERT(!nm("w/\"2ebc98a1-4d2\"", NULL, e, RFC_T));
    ASSERT(!nm("\"2ebc98a1-4d2\" \"a\"", NULL, e, RFC_T));
    ASSERT(!nm("\"2ebc98a1-4d2\", x", NULL, e, RFC_T));
    ASSERT(!nm("\"2ebc98a1-4d2\", \"a b\"", NULL, e, RFC_T));
    ASSERT(!nm("*, \"2ebc98a1-4d2\"", NULL, e, RFC_T));
    ASSERT(!nm("**", NULL, e, RFC_T));
    ASSERT(!nm("", NULL, e, RFC_T));
    ASSERT(!nm(" , ", NULL, e, RFC_T));
    /* A control character inside the opaque tag. */
    ASSERT(!nm("\"2ebc\x01\"", NULL, "\"2ebc\x01\"", RFC_T));
    /* Our own tag must be an entity-tag to be compared at all. */
    ASSERT(!nm("\"x\"", NULL, "x", RFC_T));
    ASSERT(!nm("\"x\"", NULL, NULL, RFC_T));
    ASSERT(!nm("\"x\"", NULL, "\"x\"junk", RFC_T));
    ASSERT(nm("*", NULL, NULL, RFC_T));
}

static void
test_if_modified_since(void)
{
    const char *e = "\"2ebc98a1-4d2\"";
    ASSERT(nm(NULL, "Sun, 06 Nov 1994 08:49:37 GMT", e, RFC_T));
    ASSERT(nm(NULL, "Sunday, 06-Nov-94 08:49:37 GMT", e, RFC_T));
    ASSERT(nm(NULL, "Sun Nov  6 08:49:37 1994", e, RFC_T));
    ASSERT(nm(NULL, "Sun, 06 Nov 1994 08:49:38 GMT", e, RFC_T));
    ASSERT(nm(NULL, "Fri, 01 Jan 2021 00:00:00 GMT", e, RFC_T));
    ASSERT(!nm(NULL, "Sun, 06 Nov 1994 08:49:36 GMT", e, RFC_T));
    ASSERT(!nm(NULL, "Thu, 01 Jan 1970 00:00:00 GMT", e, RFC_T));
    /* Unparseable: ignored. */
    ASSERT(!nm(NULL, "yesterday", e, RFC_T));
    ASSERT(!nm(NULL, "", e, RFC_T));
    ASSERT(!nm(NULL, "Sun, 06 Nov 1994 08:49:37 GMT; length=1", e, RFC_T));
    /* Neither header: nothing to compare. */
    ASSERT(!nm(NULL, NULL, e, RFC_T));

    /* If-None-Match present: If-Modified-Since is not looked at, whatever INM says. */
    ASSERT(!nm("\"other\"", "Sun, 06 Nov 1994 08:49:37 GMT", e, RFC_T));
    ASSERT(!nm("garbage", "Sun, 06 Nov 1994 08:49:37 GMT", e, RFC_T));
    ASSERT(!nm("", "Sun, 06 Nov 1994 08:49:37 GMT", e, RFC_T));
    ASSERT(nm(e, "Thu, 01 Jan 1970 00:00:00 GMT", e, RFC_T));

    /* Dates ahead of the clock are ignored, unless they are exactly Last-Modified (a file
     * whose mtime is in the future). */
    ASSERT(!nm(NULL, "Fri, 31 Dec 9999 23:59:59 GMT", e, RFC_T));
    time_t now = time(NULL);
    char d[DW_DATE_LEN + 1];
    dw_cond_date_format(now + 86400, d);
    ASSERT(!nm(NULL, d, e, RFC_T));
    ASSERT(nm(NULL, d, e, now + 86400));
    ASSERT(!nm(NULL, d, e, now + 86400 - 1));
    dw_cond_date_format(now - 10, d);
    ASSERT(nm(NULL, d, e, now - 20));
    ASSERT(!nm(NULL, d, e, now));
}

static bool
ir(const char *ifr, const char *etag, time_t mtime)
{
    return dw_cond_if_range(ifr, ifr ? strlen(ifr) : 0, etag, mtime);
}

static void
test_if_range(void)
{
    const char *e = "\"2ebc98a1-4d2\"";
    ASSERT(ir(NULL, e, RFC_T));
    ASSERT(ir("\"2ebc98a1-4d2\"", e, RFC_T));
    ASSERT(ir(" \"2ebc98a1-4d2\" ", e, RFC_T));
    ASSERT(!ir("\"2ebc98a1-4d3\"", e, RFC_T));
    /* Strong comparison: a weak tag on either side never matches. */
    ASSERT(!ir("W/\"2ebc98a1-4d2\"", e, RFC_T));
    ASSERT(!ir("\"2ebc98a1-4d2\"", "W/\"2ebc98a1-4d2\"", RFC_T));
    /* One tag only, well formed. */
    ASSERT(!ir("\"2ebc98a1-4d2\", \"a\"", e, RFC_T));
    ASSERT(!ir("\"2ebc98a1-4d2", e, RFC_T));
    ASSERT(!ir("\"x\"", "x", RFC_T));
    ASSERT(!ir("*", e, RFC_T));
    ASSERT(!ir("", e, RFC_T));
    /* Dates: exactly Last-Modified, in any of the three forms. */
    ASSERT(ir("Sun, 06 Nov 1994 08:49:37 GMT", e, RFC_T));
    ASSERT(ir("Sunday, 06-Nov-94 08:49:37 GMT", e, RFC_T));
    ASSERT(ir("Sun Nov  6 08:49:37 1994", e, RFC_T));
    ASSERT(!ir("Sun, 06 Nov 1994 08:49:38 GMT", e, RFC_T));
    ASSERT(!ir("Sun, 06 Nov 1994 08:49:36 GMT", e, RFC_T));
    ASSERT(!ir("garbage", e, RFC_T));
    /* A date whose weekday starts with W is still a date, not a weak tag. */
    ASSERT(ir("Wed, 09 Jun 2021 10:18:14 GMT", e, 1623233894));
    ASSERT(ir("Wednesday, 09-Jun-21 10:18:14 GMT", e, 1623233894));
}

int
main(void)
{
    TEST_RUN(test_etag);
    TEST_RUN(test_date_format);
    TEST_RUN(test_date_parse_forms);
    TEST_RUN(test_date_parse_rejects);
    TEST_RUN(test_if_none_match);
    TEST_RUN(test_if_modified_since);
    TEST_RUN(test_if_range);
    return 0;
}
