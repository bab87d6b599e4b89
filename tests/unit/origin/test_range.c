/* Unit tests for origin/range.c. */
#include "origin/range.h"

#include <stdarg.h>

#include "test.h"

static void
expect(const char *value, uint64_t size, enum dw_range_result want, uint64_t want_first,
       uint64_t want_last)
{
    uint64_t first = 12345, last = 67890;
    enum dw_range_result r = dw_range_parse(value, strlen(value), size, &first, &last);
    if (r != want)
        TEST_FAIL("\"%s\" size %" PRIu64 ": result %d, want %d", value, size, (int)r, (int)want);
    if (r == DW_RANGE_OK && first != want_first)
        TEST_FAIL("\"%s\": first %" PRIu64 ", want %" PRIu64, value, first, want_first);
    if (r == DW_RANGE_OK && last != want_last)
        TEST_FAIL("\"%s\": last %" PRIu64 ", want %" PRIu64, value, last, want_last);
}

#define OK(v, size, f, l) expect(v, size, DW_RANGE_OK, f, l)
#define NONE(v, size)     expect(v, size, DW_RANGE_NONE, 0, 0)
#define UNSAT(v, size)    expect(v, size, DW_RANGE_UNSATISFIABLE, 0, 0)

static void
test_single_ranges(void)
{
    OK("bytes=0-99", 1000, 0, 99);
    OK("bytes=100-", 1000, 100, 999);
    OK("bytes=-500", 1000, 500, 999);
    OK("bytes=0-0", 1000, 0, 0);
    OK("bytes=999-999", 1000, 999, 999);
    OK("bytes=999-", 1000, 999, 999);
    OK("bytes=0-", 1, 0, 0);
    OK("bytes=-1", 1000, 999, 999);
    /* last-pos past the end is clamped, a suffix longer than the file is all of it. */
    OK("bytes=500-5000", 1000, 500, 999);
    OK("bytes=-5000", 1000, 0, 999);
    OK("bytes=-1000", 1000, 0, 999);
    OK("bytes=0007-0009", 1000, 7, 9);
    /* Unit without case, as nginx. */
    OK("Bytes=1-2", 10, 1, 2);
    OK("BYTES=1-2", 10, 1, 2);
}

static void
test_whitespace_and_lists(void)
{
    OK("bytes= 0-1", 10, 0, 1);
    OK("bytes=0-1 ", 10, 0, 1);
    OK("bytes=\t0-1\t", 10, 0, 1);
    /* Empty list elements are skipped (RFC 9110 §5.6.1.2). */
    OK("bytes=0-1,", 10, 0, 1);
    OK("bytes=, 0-1 ,,", 10, 0, 1);
    /* No blanks inside a spec, none around "=". */
    NONE("bytes=0 -1", 10);
    NONE("bytes=0- 1", 10);
    NONE("bytes=- 1", 10);
    NONE("bytes =0-1", 10);
    NONE(" bytes=0-1", 10);
}

static void
test_malformed_is_ignored(void)
{
    NONE("", 10);
    NONE("bytes", 10);
    NONE("bytes=", 10);
    NONE("bytes=,", 10);
    NONE("bytes=-", 10);
    NONE("bytes=--5", 10);
    NONE("bytes=1", 10);
    NONE("bytes=a-b", 10);
    NONE("bytes=1-a", 10);
    NONE("bytes=0-1-2", 10);
    NONE("bytes=0-1;x", 10);
    NONE("bytes=+1-2", 10);
    NONE("bytes=0x1-2", 10);
    NONE("bytes=1.5-2", 10);
    NONE("items=0-1", 10);
    NONE("bytesx=0-1", 10);
    NONE("none", 10);
    /* first > last: invalid, ignored (nginx would answer 416). */
    NONE("bytes=5-4", 10);
    NONE("bytes=50-40", 10);
    uint64_t f, l;
    ASSERT_EQ(dw_range_parse(NULL, 0, 10, &f, &l), DW_RANGE_NONE);
    /* Only len bytes count. */
    ASSERT_EQ(dw_range_parse("bytes=0-1", 7, 10, &f, &l), DW_RANGE_NONE);
    ASSERT_EQ(dw_range_parse("bytes=0-1xyz", 9, 10, &f, &l), DW_RANGE_OK);
    ASSERT_UINT_EQ(l, 1);
}

/* The single-range form: a set selecting several ranges is not one range. */
static void
test_single_form_refuses_several(void)
{
    NONE("bytes=0-0,5-6", 10);
    NONE("bytes=0-0, -1", 10);
    /* One bad element spoils the set. */
    NONE("bytes=0-1,x", 10);
    /* Unsatisfiable elements are dropped (RFC 9110 §14.1.1): one range is left. */
    OK("bytes=0-1,100-200", 10, 0, 1);
    OK("bytes=100-, -3", 10, 7, 9);
    /* None satisfiable: 416 (the old code served these whole). */
    UNSAT("bytes=100-200,300-400", 10);
}

/* "bytes=...", size, the max, the result, then the ranges wanted as first,last pairs. */
static void
expect_set(const char *value, uint64_t size, size_t max, enum dw_range_result want, size_t nwant,
           ...)
{
    struct dw_range r[64];
    size_t n = 99;
    enum dw_range_result got = dw_range_parse_set(value, strlen(value), size, r, max, &n);
    if (got != want)
        TEST_FAIL("\"%s\" size %" PRIu64 ": result %d, want %d", value, size, (int)got, (int)want);
    if (got != DW_RANGE_OK)
        nwant = 0;
    if (n != nwant)
        TEST_FAIL("\"%s\": %zu ranges, want %zu", value, n, nwant);
    va_list ap;
    va_start(ap, nwant);
    for (size_t i = 0; i < nwant; i++) {
        uint64_t f = va_arg(ap, uint64_t), l = va_arg(ap, uint64_t);
        if (r[i].first != f || r[i].last != l)
            TEST_FAIL("\"%s\" range %zu: %" PRIu64 "-%" PRIu64 ", want %" PRIu64 "-%" PRIu64, value,
                      i, r[i].first, r[i].last, f, l);
    }
    va_end(ap);
}

#define U(x) ((uint64_t)(x))

static void
test_several_ranges(void)
{
    expect_set("bytes=0-0,5-6", 10, 16, DW_RANGE_OK, 2, U(0), U(0), U(5), U(6));
    /* The order asked is kept; a suffix and an open range resolve against the size. */
    expect_set("bytes=-2, 0-1 ,5-", 100, 16, DW_RANGE_OK, 3, U(98), U(99), U(0), U(1), U(5), U(99));
    /* Unsatisfiable ones are dropped. */
    expect_set("bytes=0-0,50-60,5-6", 10, 16, DW_RANGE_OK, 2, U(0), U(0), U(5), U(6));
    expect_set("bytes=50-60,70-", 10, 16, DW_RANGE_UNSATISFIABLE, 0);
    /* Limits (nginx's): more than max ranges, or more bytes than the file, served whole. */
    expect_set("bytes=0-0,1-1,2-2", 10, 3, DW_RANGE_OK, 3, U(0), U(0), U(1), U(1), U(2), U(2));
    expect_set("bytes=0-0,1-1,2-2,3-3", 10, 3, DW_RANGE_NONE, 0);
    expect_set("bytes=0-9,0-0", 10, 16, DW_RANGE_NONE, 0);
    expect_set("bytes=0-5,4-9", 10, 16, DW_RANGE_NONE, 0);
    expect_set("bytes=0-,0-", 10, 16, DW_RANGE_NONE, 0);
    /* Overlapping but within the size: allowed, as nginx (the sum is what bounds it). */
    expect_set("bytes=0-2,1-3", 10, 16, DW_RANGE_OK, 2, U(0), U(2), U(1), U(3));
    /* Syntax errors spoil the set. */
    expect_set("bytes=0-1,2-1", 10, 16, DW_RANGE_NONE, 0);
    expect_set("bytes=0-1;3-4", 10, 16, DW_RANGE_NONE, 0);
    /* An empty file: suffixes select nothing (served whole), the rest is unsatisfiable. */
    expect_set("bytes=0-0,-5", 0, 16, DW_RANGE_NONE, 0);
    expect_set("bytes=0-0,1-", 0, 16, DW_RANGE_UNSATISFIABLE, 0);
}

static void
test_unsatisfiable(void)
{
    UNSAT("bytes=1000-", 1000);
    UNSAT("bytes=1000-2000", 1000);
    UNSAT("bytes=5000-6000", 1000);
    UNSAT("bytes=-0", 1000);
    UNSAT("bytes=-000", 1000);
    UNSAT("bytes=0-", 0);
    UNSAT("bytes=0-0", 0);
    UNSAT("bytes=-0", 0);
    /* A suffix of an empty file selects nothing, and "bytes 0--1/0" cannot be written. */
    NONE("bytes=-5", 0);
}

static void
test_huge_numbers(void)
{
    /* 2^64 - 1 and beyond saturate: a start past any file, an end or suffix covering it. */
    UNSAT("bytes=18446744073709551615-", 1000);
    UNSAT("bytes=18446744073709551616-", 1000);
    UNSAT("bytes=99999999999999999999999999999999-", 1000);
    OK("bytes=0-18446744073709551615", 1000, 0, 999);
    OK("bytes=0-99999999999999999999999999999999", 1000, 0, 999);
    OK("bytes=-99999999999999999999999999999999", 1000, 0, 999);
    OK("bytes=18446744073709551614-", UINT64_MAX, 18446744073709551614ULL, 18446744073709551614ULL);
    OK("bytes=-1", UINT64_MAX, 18446744073709551614ULL, 18446744073709551614ULL);
    /* A saturated first above a smaller last is still first > last. */
    NONE("bytes=99999999999999999999999-5", 1000);
}

int
main(void)
{
    TEST_RUN(test_single_ranges);
    TEST_RUN(test_whitespace_and_lists);
    TEST_RUN(test_malformed_is_ignored);
    TEST_RUN(test_single_form_refuses_several);
    TEST_RUN(test_several_ranges);
    TEST_RUN(test_unsatisfiable);
    TEST_RUN(test_huge_numbers);
    return 0;
}
