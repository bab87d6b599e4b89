/* Unit tests for resolver/dname.c. */
#include "resolver/dname.h"

#include <errno.h>

#include "test.h"

/* Parses presentation text that the test knows to be valid; returns the wire length. */
static size_t
wire(const char *text, uint8_t out[DR_NAME_MAX])
{
    int n = dr_dname_from_str(text, out);
    if (n < 0)
        TEST_FAIL("dr_dname_from_str(\"%s\") = %d", text, n);
    return (size_t)n;
}

/* A label of n copies of c, with its length byte, at p; returns the bytes written. */
static size_t
put_label(uint8_t *p, size_t n, char c)
{
    p[0] = (uint8_t)n;
    memset(p + 1, c, n);
    return n + 1;
}

static void
test_read_plain_name(void)
{
    const uint8_t pkt[] = {0xff, 3, 'w', 'w', 'w', 7, 'E', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0xee};
    uint8_t out[DR_NAME_MAX];
    size_t off = 1;
    ASSERT_EQ(dr_dname_read(pkt, sizeof(pkt), &off, out), 13);
    ASSERT_EQ(off, 14);
    ASSERT(memcmp(out, pkt + 1, 13) == 0); /* case preserved */
    off = 1;
    ASSERT_EQ(dr_dname_skip(pkt, sizeof(pkt), &off), 0);
    ASSERT_EQ(off, 14);
    /* The root on its own. */
    off = 13;
    ASSERT_EQ(dr_dname_read(pkt, sizeof(pkt), &off, out), 1);
    ASSERT_EQ(out[0], 0);
    ASSERT_EQ(off, 14);
}

static void
test_read_follows_backward_pointers(void)
{
    /* 0: "example.", 9: "www" -> 0, 15: "a" -> 9 (a chain of two pointers). */
    const uint8_t pkt[] = {7,   'e', 'x',  'a', 'm', 'p', 'l',  'e', 0,    3, 'w',
                           'w', 'w', 0xc0, 0,   1,   'a', 0xc0, 9,   0xc0, 15};
    uint8_t out[DR_NAME_MAX], want[DR_NAME_MAX];
    size_t off = 15;
    int n = dr_dname_read(pkt, sizeof(pkt), &off, out);
    ASSERT_EQ(n, (int)wire("a.www.example.", want));
    ASSERT(memcmp(out, want, (size_t)n) == 0);
    ASSERT_EQ(off, 19); /* past the first pointer, not past the name it leads to */
    off = 19;           /* a name that is nothing but a pointer */
    ASSERT_EQ(dr_dname_read(pkt, sizeof(pkt), &off, out), n);
    ASSERT_EQ(off, 21);
}

static void
expect_bad(const uint8_t *pkt, size_t len, size_t at)
{
    uint8_t out[DR_NAME_MAX];
    size_t off = at;
    ASSERT_EQ(dr_dname_read(pkt, len, &off, out), -EBADMSG);
    ASSERT_EQ(off, at); /* untouched on failure */
    ASSERT_EQ(dr_dname_skip(pkt, len, &off), -EBADMSG);
    ASSERT_EQ(off, at);
}

static void
test_pointer_errors(void)
{
    /* A pointer to itself. */
    const uint8_t self[] = {0, 0, 0xc0, 2};
    expect_bad(self, sizeof(self), 2);
    /* A loop through a label: "a" then a pointer back to "a"; backward each time, so only
     * the 255-byte limit stops it. */
    const uint8_t loop[] = {1, 'a', 0xc0, 0};
    expect_bad(loop, sizeof(loop), 0);
    /* Two pointers pointing at each other: the second one points forward. */
    const uint8_t pair[] = {0xc0, 2, 0xc0, 0};
    expect_bad(pair, sizeof(pair), 2);
    /* A forward pointer to a perfectly good name. */
    const uint8_t fwd[] = {0xc0, 2, 1, 'a', 0};
    expect_bad(fwd, sizeof(fwd), 0);
    /* Pointers past the end of the packet (forward as well, necessarily). */
    const uint8_t past[] = {0, 0xc0, 0xff};
    expect_bad(past, sizeof(past), 1);
    const uint8_t far[] = {0, 0xff, 0xff};
    expect_bad(far, sizeof(far), 1);
    /* A pointer cut in half by the end of the packet. */
    const uint8_t half[] = {0, 0xc0};
    expect_bad(half, sizeof(half), 1);
}

static void
test_label_type_and_truncation_errors(void)
{
    const uint8_t l64[] = {64, 'a', 'a', 'a', 0}; /* 64 = 0x40: extended label type */
    expect_bad(l64, sizeof(l64), 0);
    const uint8_t x80[] = {0x80, 0};
    expect_bad(x80, sizeof(x80), 0);
    const uint8_t cut_label[] = {3, 'a', 'b'};
    expect_bad(cut_label, sizeof(cut_label), 0);
    const uint8_t no_root[] = {3, 'a', 'b', 'c'};
    expect_bad(no_root, sizeof(no_root), 0);
    const uint8_t empty[] = {0};
    expect_bad(empty, 0, 0);
    expect_bad(empty, 1, 1); /* offset at the end */
    expect_bad(empty, 1, 5); /* offset beyond it */
}

static void
test_length_limits(void)
{
    uint8_t pkt[600], out[DR_NAME_MAX];
    size_t n = 0;

    /* A 63-byte label is fine; 64 cannot even be encoded (0x40 is a label type). */
    n = put_label(pkt, 63, 'x');
    pkt[n++] = 0;
    size_t off = 0;
    ASSERT_EQ(dr_dname_read(pkt, n, &off, out), 65);

    /* 255 bytes through a pointer: A = 63,61 labels (127 bytes); B = 63,63 then -> A. */
    n = 0;
    n += put_label(pkt + n, 63, 'a');
    n += put_label(pkt + n, 61, 'b');
    pkt[n++] = 0;
    size_t b = n;
    n += put_label(pkt + n, 63, 'c');
    n += put_label(pkt + n, 63, 'd');
    pkt[n++] = 0xc0;
    pkt[n++] = 0;
    off = b;
    ASSERT_EQ(dr_dname_read(pkt, n, &off, out), 255);
    ASSERT_EQ(off, n);
    char text[DR_NAME_STRLEN];
    uint8_t back[DR_NAME_MAX];
    ASSERT_GT(dr_dname_to_str(out, text, sizeof(text)), 0);
    ASSERT_EQ(dr_dname_from_str(text, back), 255);
    ASSERT(memcmp(back, out, 255) == 0);

    /* 256 the same way: A = 63,62 labels. */
    n = 0;
    n += put_label(pkt + n, 63, 'a');
    n += put_label(pkt + n, 62, 'b');
    pkt[n++] = 0;
    b = n;
    n += put_label(pkt + n, 63, 'c');
    n += put_label(pkt + n, 63, 'd');
    pkt[n++] = 0xc0;
    pkt[n++] = 0;
    expect_bad(pkt, n, b);

    /* And 256 with no pointer at all. */
    n = 0;
    for (int i = 0; i < 3; i++)
        n += put_label(pkt + n, 63, 'e');
    n += put_label(pkt + n, 62, 'f');
    pkt[n++] = 0;
    ASSERT_EQ(n, 256);
    expect_bad(pkt, n, 0);
}

static void
test_many_pointers_rejected(void)
{
    /* A chain of 200 pointer-to-pointer hops, each strictly backwards: legal per the
     * letter of RFC 1035 but no encoder does it, and each hop costs work. */
    uint8_t pkt[1 + 2 * 200];
    pkt[0] = 0;
    for (int i = 0; i < 200; i++) {
        size_t target = i == 0 ? 0 : (size_t)(1 + 2 * (i - 1));
        pkt[1 + 2 * i] = (uint8_t)(0xc0 | target >> 8);
        pkt[2 + 2 * i] = (uint8_t)target;
    }
    expect_bad(pkt, sizeof(pkt), sizeof(pkt) - 2);
    /* A short chain is fine. */
    uint8_t out[DR_NAME_MAX];
    size_t off = 1 + 2 * 10;
    ASSERT_EQ(dr_dname_read(pkt, sizeof(pkt), &off, out), 1);
}

static void
test_case_and_compare(void)
{
    uint8_t a[DR_NAME_MAX], b[DR_NAME_MAX], c[DR_NAME_MAX];
    size_t na = wire("WwW.Example.COM", a);
    wire("www.example.com.", b);
    ASSERT_EQ(dr_dname_len(a), na);
    ASSERT_EQ(dr_dname_len(b), na);
    ASSERT(dr_dname_equal(a, b));
    ASSERT(!dr_dname_equal_case(a, b));
    ASSERT_EQ(dr_dname_copy_lower(c, a), na);
    ASSERT(dr_dname_equal_case(c, b));
    dr_dname_lower(a);
    ASSERT(dr_dname_equal_case(a, b));
    wire("www.example.co", c);
    ASSERT(!dr_dname_equal(c, b));
    ASSERT_EQ(dr_dname_labels(b), 3);
    wire(".", c);
    ASSERT_EQ(dr_dname_labels(c), 0);
    ASSERT_EQ(dr_dname_len(c), 1);

    /* Folding touches letters only: '@' (0x40) and '[' (0x5b) surround 'A'..'Z'. */
    wire("@[Z", a);
    dr_dname_lower(a);
    ASSERT(memcmp(a, "\3@[z", 5) == 0);
}

static void
test_strip_and_is_sub(void)
{
    uint8_t n[DR_NAME_MAX], z[DR_NAME_MAX], root[DR_NAME_MAX];
    wire("a.b.Example.", n);
    wire("example", z);
    wire(".", root);
    ASSERT(dr_dname_equal(dr_dname_strip(n, 2), z));
    ASSERT(dr_dname_strip(n, 0) == n);
    ASSERT_EQ(*dr_dname_strip(n, 3), 0);
    ASSERT_EQ(*dr_dname_strip(n, 99), 0);
    ASSERT(dr_dname_is_sub(n, z));
    ASSERT(dr_dname_is_sub(z, z));
    ASSERT(dr_dname_is_sub(n, root));
    ASSERT(dr_dname_is_sub(root, root));
    ASSERT(!dr_dname_is_sub(z, n));
    ASSERT(!dr_dname_is_sub(root, z));
    /* Label boundaries, not string suffixes. */
    wire("notexample.", n);
    ASSERT(!dr_dname_is_sub(n, z));
    wire("b.example.", z);
    wire("a.xb.example.", n);
    ASSERT(!dr_dname_is_sub(n, z));
}

static void
test_canonical_order(void)
{
    /* RFC 4034 §6.1's example, already in canonical order. */
    static const char *const sorted[] = {
        "example.",         "a.example.",      "yljkjljk.a.example.",
        "Z.a.example.",     "zABC.a.EXAMPLE.", "z.example.",
        "\\001.z.example.", "*.z.example.",    "\\200.z.example.",
    };
    size_t count = sizeof(sorted) / sizeof(sorted[0]);
    for (size_t i = 0; i < count; i++) {
        for (size_t j = 0; j < count; j++) {
            uint8_t a[DR_NAME_MAX], b[DR_NAME_MAX];
            wire(sorted[i], a);
            wire(sorted[j], b);
            int d = dr_dname_compare(a, b);
            if ((i < j && d >= 0) || (i == j && d != 0) || (i > j && d <= 0))
                TEST_FAIL("compare(%s, %s) = %d", sorted[i], sorted[j], d);
        }
    }
    uint8_t a[DR_NAME_MAX], b[DR_NAME_MAX];
    wire("EXAMPLE.", a);
    wire("example", b);
    ASSERT_EQ(dr_dname_compare(a, b), 0);
    wire(".", a);
    ASSERT_LT(dr_dname_compare(a, b), 0);
}

static void
expect_text(const char *in, const char *out, int labels)
{
    uint8_t w[DR_NAME_MAX], w2[DR_NAME_MAX];
    char buf[DR_NAME_STRLEN];
    int n = dr_dname_from_str(in, w);
    ASSERT_GT(n, 0);
    ASSERT_EQ(dr_dname_labels(w), labels);
    ASSERT_EQ(dr_dname_len(w), n);
    int len = dr_dname_to_str(w, buf, sizeof(buf));
    ASSERT_EQ(len, (int)strlen(out));
    ASSERT_STR_EQ(buf, out);
    ASSERT_EQ(dr_dname_from_str(buf, w2), n);
    ASSERT(memcmp(w, w2, (size_t)n) == 0);
}

static void
test_text_round_trip(void)
{
    expect_text(".", ".", 0);
    expect_text("", ".", 0);
    expect_text("example.com", "example.com.", 2);
    expect_text("Www.Example.COM.", "Www.Example.COM.", 3);
    /* An escaped dot is part of a label; so is an escaped backslash. */
    expect_text("a\\.b.example.", "a\\.b.example.", 2);
    expect_text("a\\\\b.example.", "a\\\\b.example.", 2);
    /* \DDD escapes; printable ones come back plain, the others as \DDD. */
    expect_text("\\097\\000\\255\\032.x", "a\\000\\255\\032.x.", 2);
    expect_text("\\a\\-", "a-.", 1);
    expect_text("a\\.", "a\\..", 1); /* the last dot is escaped: no trailing dot */
    expect_text("*._tcp.x", "*._tcp.x.", 3);

    uint8_t w[DR_NAME_MAX];
    ASSERT_EQ(dr_dname_from_str("a\\.b", w), 5);
    ASSERT(memcmp(w, "\3a.b", 5) == 0);
}

static void
test_text_limits_and_errors(void)
{
    char s[400];
    uint8_t w[DR_NAME_MAX];

    memset(s, 'a', 63);
    s[63] = '\0';
    ASSERT_EQ(dr_dname_from_str(s, w), 65);
    memset(s, 'a', 64);
    s[64] = '\0';
    ASSERT_EQ(dr_dname_from_str(s, w), -EINVAL);
    /* The same 63/64 with escapes: \DDD counts one byte. */
    s[0] = '\0';
    for (int i = 0; i < 63; i++)
        strcat(s, "\\065");
    ASSERT_EQ(dr_dname_from_str(s, w), 65);
    strcat(s, "A");
    ASSERT_EQ(dr_dname_from_str(s, w), -EINVAL);

    /* 63.63.63.61 = 255 bytes in wire form, with or without the trailing dot; 62 = 256. */
    for (int last = 61; last <= 62; last++) {
        size_t n = 0;
        for (int l = 0; l < 4; l++) {
            int len = l < 3 ? 63 : last;
            memset(s + n, 'a' + l, (size_t)len);
            n += (size_t)len;
            s[n++] = '.';
        }
        s[n] = '\0';
        int want = last == 61 ? 255 : -EINVAL;
        ASSERT_EQ(dr_dname_from_str(s, w), want);
        s[n - 1] = '\0';
        ASSERT_EQ(dr_dname_from_str(s, w), want);
    }

    static const char *const bad[] = {
        "..", "a..b", ".a", "a.b..", "\\", "a\\", "\\25", "\\2x5", "\\256", "\\999.a",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (dr_dname_from_str(bad[i], w) != -EINVAL)
            TEST_FAIL("dr_dname_from_str(\"%s\") accepted", bad[i]);
    }
}

static void
test_to_str_buffer_sizes(void)
{
    uint8_t w[DR_NAME_MAX];
    char buf[DR_NAME_STRLEN];
    wire("ab.\\000", w);
    const char *want = "ab.\\000.";
    size_t need = strlen(want) + 1;
    for (size_t size = 0; size < need; size++)
        ASSERT_EQ(dr_dname_to_str(w, buf, size), -ENOSPC);
    ASSERT_EQ(dr_dname_to_str(w, buf, need), (int)need - 1);
    ASSERT_STR_EQ(buf, want);
    wire(".", w);
    ASSERT_EQ(dr_dname_to_str(w, buf, 1), -ENOSPC);
    ASSERT_EQ(dr_dname_to_str(w, buf, 2), 1);
    ASSERT_STR_EQ(buf, ".");

    /* The worst case, every byte escaped, fits DR_NAME_STRLEN. */
    size_t n = 0;
    for (int l = 0; l < 4; l++) {
        size_t len = l < 3 ? 63 : 61;
        w[n] = (uint8_t)len;
        memset(w + n + 1, 0xff, len);
        n += len + 1;
    }
    w[n] = 0;
    int len = dr_dname_to_str(w, buf, sizeof(buf));
    ASSERT_EQ(len, 250 * 4 + 4);
    ASSERT_LT(len, DR_NAME_STRLEN);
}

static uint32_t
rnd_const(void *arg)
{
    int *calls = arg;
    (*calls)++;
    return *calls % 2 ? 0xffffffffu : 0;
}

static uint32_t
rnd_xorshift(void *arg)
{
    uint32_t *s = arg;
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void
test_randomize_case(void)
{
    uint8_t w[DR_NAME_MAX], orig[DR_NAME_MAX];
    int calls = 0;

    /* Without letters no random bits are fetched at all. */
    size_t n = wire("123.-_.\\255", w);
    memcpy(orig, w, n);
    dr_dname_randomize_case(w, rnd_const, &calls);
    ASSERT_EQ(calls, 0);
    ASSERT(memcmp(w, orig, n) == 0);

    /* 40 letters: the first 32 from one call (all ones: upper), the rest from the next
     * (all zeros: lower); digits in between are untouched and cost no bits. */
    n = wire("abcdefghij0abcdefghij1abcdefghij2abcdefghij", w);
    dr_dname_randomize_case(w, rnd_const, &calls);
    ASSERT_EQ(calls, 2);
    char buf[DR_NAME_STRLEN];
    dr_dname_to_str(w, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "ABCDEFGHIJ0ABCDEFGHIJ1ABCDEFGHIJ2ABcdefghij.");

    /* Random bits: same name case-insensitively, same structure, non-letters unchanged. */
    uint32_t seed = 12345;
    n = wire("www.Example-1.COM.\\046\\065", w);
    memcpy(orig, w, n);
    for (int i = 0; i < 100; i++) {
        dr_dname_randomize_case(w, rnd_xorshift, &seed);
        ASSERT(dr_dname_equal(w, orig));
        for (size_t k = 0; k < n; k++) {
            if (w[k] != orig[k])
                ASSERT_EQ(w[k] ^ orig[k], 0x20);
        }
        ASSERT_EQ(w[n - 3], '.');
    }
}

static void
test_is_key(void)
{
    static const uint8_t www[] = "\3www\7example\0";
    ASSERT(dr_dname_is_key(www, sizeof(www) - 1));
    ASSERT(dr_dname_is_key((const uint8_t *)"", 1)); /* the root */
    ASSERT(!dr_dname_is_key(www, sizeof(www) - 2));  /* cut before the root label */
    ASSERT(!dr_dname_is_key(www, sizeof(www)));      /* a byte after it */
    ASSERT(!dr_dname_is_key(www, 0));
    static const uint8_t past[] = {5, 'a', 0}; /* a label running past the key */
    ASSERT(!dr_dname_is_key(past, sizeof(past)));
    static const uint8_t ptr[] = {0xc0, 0x00, 0}; /* a compression pointer */
    ASSERT(!dr_dname_is_key(ptr, sizeof(ptr)));
    uint8_t big[DR_NAME_MAX + 2];
    memset(big, 1, sizeof(big));
    big[sizeof(big) - 1] = 0;
    ASSERT(!dr_dname_is_key(big, sizeof(big)));
}

int
main(void)
{
    TEST_RUN(test_read_plain_name);
    TEST_RUN(test_read_follows_backward_pointers);
    TEST_RUN(test_pointer_errors);
    TEST_RUN(test_label_type_and_truncation_errors);
    TEST_RUN(test_length_limits);
    TEST_RUN(test_many_pointers_rejected);
    TEST_RUN(test_case_and_compare);
    TEST_RUN(test_strip_and_is_sub);
    TEST_RUN(test_canonical_order);
    TEST_RUN(test_text_round_trip);
    TEST_RUN(test_text_limits_and_errors);
    TEST_RUN(test_to_str_buffer_sizes);
    TEST_RUN(test_randomize_case);
    TEST_RUN(test_is_key);
    return 0;
}
