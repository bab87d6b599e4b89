/* Unit tests for resolver/cachefile.c: a dump round-trips; a damaged or hostile file is
 * refused whole, with the record, offset and reason, and leaves the caches empty. */
#include "resolver/cachefile.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/lru.h"
#include "resolver/cache.h"
#include "resolver/deleg.h"
#include "resolver/dname.h"
#include "resolver/msg.h"
#include "test.h"

#define NOW 1000000

static const struct dr_cache_policy policy = {
    .min_ttl = 0, .max_ttl = 86400, .max_negative_ttl = 3600};

/* ---- Building replies ---- */

struct pkt {
    uint8_t b[2048];
    size_t len;
};

static void
put16(struct pkt *p, uint16_t v)
{
    dr_put16(p->b + p->len, v);
    p->len += 2;
}

static void
put32(struct pkt *p, uint32_t v)
{
    dr_put32(p->b + p->len, v);
    p->len += 4;
}

static void
put_name(struct pkt *p, const char *s)
{
    int n = dr_dname_from_str(s, p->b + p->len);
    ASSERT_GT(n, 0);
    p->len += (size_t)n;
}

static const uint8_t *
wire(const char *s)
{
    static uint8_t buf[4][DR_NAME_MAX];
    static int next;
    uint8_t *w = buf[next++ % 4];
    ASSERT_GT(dr_dname_from_str(s, w), 0);
    return w;
}

/* qname A: two addresses, owners compressed to the question. */
static void
reply_a(struct pkt *p, const char *qname, uint32_t ttl)
{
    p->len = 0;
    put16(p, 0x1234);
    put16(p, DR_FLAG_QR | DR_FLAG_RD | DR_FLAG_RA);
    put16(p, 1);
    put16(p, 2);
    put16(p, 0);
    put16(p, 0);
    put_name(p, qname);
    put16(p, DR_TYPE_A);
    put16(p, DR_CLASS_IN);
    for (int i = 0; i < 2; i++) {
        put16(p, 0xc000 | DR_HEADER_LEN);
        put16(p, DR_TYPE_A);
        put16(p, DR_CLASS_IN);
        put32(p, ttl);
        put16(p, 4);
        put32(p, 0xc0000200u + (uint32_t)i);
    }
}

/* NXDOMAIN for qname with the example. SOA. */
static void
reply_nx(struct pkt *p, const char *qname)
{
    p->len = 0;
    put16(p, 0x1234);
    put16(p, DR_FLAG_QR | DR_FLAG_RA | DR_RCODE_NXDOMAIN);
    put16(p, 1);
    put16(p, 0);
    put16(p, 1);
    put16(p, 0);
    put_name(p, qname);
    put16(p, DR_TYPE_A);
    put16(p, DR_CLASS_IN);
    put_name(p, "example.");
    put16(p, DR_TYPE_SOA);
    put16(p, DR_CLASS_IN);
    put32(p, 600);
    size_t at = p->len;
    put16(p, 0);
    put_name(p, "ns1.example.");
    put_name(p, "hostmaster.example.");
    for (int i = 0; i < 5; i++)
        put32(p, 300);
    dr_put16(p->b + at, (uint16_t)(p->len - at - 2));
}

static void
make_cut(struct dr_deleg *d, const char *zone, unsigned nns)
{
    memset(d, 0, sizeof(*d));
    ASSERT_GT(dr_dname_from_str(zone, d->zone), 0);
    for (unsigned k = 0; k < nns; k++) {
        char ns[300];
        snprintf(ns, sizeof(ns), "NS%u.%s", k, zone); /* stored lower-cased */
        struct dr_deleg_ns *n = dr_deleg_add_ns(d, wire(ns));
        ASSERT_NOT_NULL(n);
        union dc_sockaddr a4 = {.in = {.sin_family = AF_INET, .sin_port = htons(53)}};
        a4.in.sin_addr.s_addr = htonl(0xc6336400u + k);
        union dc_sockaddr a6 = {.in6 = {.sin6_family = AF_INET6, .sin6_port = htons(53)}};
        a6.in6.sin6_addr.s6_addr[0] = 0x20;
        a6.in6.sin6_addr.s6_addr[15] = (uint8_t)k;
        dr_deleg_add_addr(n, &a4);
        if (k % 2 == 0)
            dr_deleg_add_addr(n, &a6);
    }
}

/* ---- Files ---- */

struct caches {
    struct dr_cache *answers;
    struct dc_lru *cuts;
};

static struct caches
caches_new(void)
{
    struct caches c = {dr_cache_new(1 << 20, 4, &policy), dc_lru_new(1 << 20, 4)};
    ASSERT_NOT_NULL(c.answers);
    ASSERT_NOT_NULL(c.cuts);
    return c;
}

static void
caches_free(struct caches *c)
{
    dr_cache_free(c->answers);
    dc_lru_free(c->cuts);
}

static char tmpdir[64];

static const char *
path_of(const char *name)
{
    static char p[sizeof(tmpdir) + 256 + 2];
    snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
    return p;
}

/* A growing file image. */
struct image {
    uint8_t b[1 << 18];
    size_t len;
};

static void
img_put(struct image *im, const void *p, size_t n)
{
    ASSERT_LE(im->len + n, sizeof(im->b));
    memcpy(im->b + im->len, p, n);
    im->len += n;
}

static void
img_header(struct image *im)
{
    im->len = 0;
    img_put(im, "DUET-CACHE 1\n", 13);
}

static void
put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* Appends a record; klen_say/vlen_say are the lengths written in its header. */
static void
img_record_lying(struct image *im, char type, const void *key, size_t klen, size_t klen_say,
                 const void *val, size_t vlen, size_t vlen_say, int64_t expire)
{
    uint8_t hdr[17];
    hdr[0] = (uint8_t)type;
    put_be(hdr + 1, klen_say, 4);
    put_be(hdr + 5, vlen_say, 4);
    put_be(hdr + 9, (uint64_t)expire, 8);
    img_put(im, hdr, sizeof(hdr));
    img_put(im, key, klen);
    img_put(im, val, vlen);
}

static void
img_record(struct image *im, char type, const void *key, size_t klen, const void *val, size_t vlen,
           int64_t expire)
{
    img_record_lying(im, type, key, klen, klen, val, vlen, vlen, expire);
}

/* Loads an image through fmemopen (the path the fuzzer takes). */
static long
load_image(const struct image *im, struct caches *c, struct dr_cachefile_error *err)
{
    FILE *f = fmemopen((void *)im->b, im->len, "rb");
    ASSERT_NOT_NULL(f);
    memset(err, 0, sizeof(*err));
    long rc = dr_cachefile_read(c->answers, c->cuts, f, NOW, err);
    fclose(f);
    return rc;
}

/* ---- Good entries, taken from real caches ---- */

struct entry {
    char type;
    uint8_t key[300];
    size_t klen;
    uint8_t val[4096];
    size_t vlen;
    int64_t expire;
};

static bool
grab(void *arg, const void *key, size_t klen, const void *val, size_t vlen, int64_t expire)
{
    struct entry *e = arg;
    ASSERT_LE(klen, sizeof(e->key));
    ASSERT_LE(vlen, sizeof(e->val));
    memcpy(e->key, key, klen);
    memcpy(e->val, val, vlen);
    e->klen = klen;
    e->vlen = vlen;
    e->expire = expire;
    return false;
}

static struct entry
good_answer(void)
{
    struct entry e = {.type = 'A'};
    struct dr_cache *c = dr_cache_new(1 << 20, 1, &policy);
    struct pkt p;
    reply_a(&p, "www.example.", 300);
    ASSERT_EQ(dr_cache_store(c, wire("www.example."), DR_TYPE_A, DR_CLASS_IN, p.b, p.len, NOW), 0);
    dc_lru_foreach(dr_cache_table(c), grab, &e);
    dr_cache_free(c);
    ASSERT_GT(e.klen, 0);
    return e;
}

static struct entry
good_cut(unsigned nns)
{
    struct entry e = {.type = 'D'};
    struct dc_lru *t = dc_lru_new(1 << 20, 1);
    struct dr_deleg d;
    make_cut(&d, "example.", nns);
    ASSERT_EQ(dr_deleg_store(t, &d, NOW + 3600), 0);
    dc_lru_foreach(t, grab, &e);
    dc_lru_free(t);
    ASSERT_GT(e.klen, 0);
    return e;
}

/* Where the reply starts in an answer's value: after the 16-byte header of struct stored in
 * resolver/cache.c and one 2-byte TTL offset per record (the replies here have 2). */
#define REPLY_AT (16 + 2 * 2)

static void
img_entry(struct image *im, const struct entry *e)
{
    img_record(im, e->type, e->key, e->klen, e->val, e->vlen, e->expire);
}

/* Expects the image refused at record `entry`, offset `offset`, for a reason containing
 * `because`, with nothing loaded. */
static void
expect_refused(const struct image *im, long entry, uint64_t offset, const char *because)
{
    struct caches c = caches_new();
    struct dr_cachefile_error err;
    ASSERT_EQ(load_image(im, &c, &err), -EINVAL);
    fprintf(stderr, "   refused: entry %ld offset %" PRIu64 ": %s\n", err.entry, err.offset,
            err.why);
    ASSERT_EQ(err.entry, entry);
    ASSERT_UINT_EQ(err.offset, offset);
    ASSERT_STR_CONTAINS(err.why, because);
    ASSERT_EQ(dr_cache_count(c.answers), 0);
    ASSERT_EQ(dc_lru_count(c.cuts), 0);
    caches_free(&c);
}

/* ---- Cases ---- */

static void
test_dump_round_trips(void)
{
    struct caches a = caches_new();
    struct pkt p;
    const char *names[] = {"www.example.", "Mail.Example.", "a.b.c.example.org."};
    for (size_t i = 0; i < 3; i++) {
        reply_a(&p, names[i], 300 + (uint32_t)i);
        ASSERT_EQ(
            dr_cache_store(a.answers, wire(names[i]), DR_TYPE_A, DR_CLASS_IN, p.b, p.len, NOW), 0);
    }
    reply_nx(&p, "nx.example.");
    ASSERT_EQ(
        dr_cache_store(a.answers, wire("nx.example."), DR_TYPE_A, DR_CLASS_IN, p.b, p.len, NOW), 0);
    struct dr_deleg d;
    make_cut(&d, "example.", 13);
    ASSERT_EQ(dr_deleg_store(a.cuts, &d, NOW + 3600), 0);
    make_cut(&d, "org.", 2);
    ASSERT_EQ(dr_deleg_store(a.cuts, &d, NOW + 100), 0);
    /* A DNAME shares the cut table and survives too. */
    ASSERT_EQ(
        dr_deleg_store_dname(a.cuts, wire("Old.Example."), wire("new.example."), 300, NOW + 300),
        0);
    /* Data of a layout the file does not know is not written. */
    ASSERT_EQ(dc_lru_put(a.cuts, "\x01x", 2, "not a cut", 9, NOW + 3600), 0);

    const char *file = path_of("good.dump");
    ASSERT_EQ(dr_cachefile_dump(a.answers, a.cuts, file, NOW), 7);

    struct caches b = caches_new();
    struct dr_cachefile_error err;
    ASSERT_EQ(dr_cachefile_load_diag(b.answers, b.cuts, file, NOW + 10, &err), 7);
    ASSERT_EQ(dr_cache_count(b.answers), 4);
    ASSERT_EQ(dc_lru_count(b.cuts), 3);
    uint8_t owner[DR_NAME_MAX], target[DR_NAME_MAX];
    uint32_t ttl;
    ASSERT_EQ(dr_deleg_find_dname(b.cuts, wire("www.old.example."), NOW + 10, owner, target, &ttl),
              0);
    ASSERT(dr_dname_equal_case(owner, wire("old.example.")));
    ASSERT(dr_dname_equal_case(target, wire("new.example.")));
    uint8_t x[2048], y[2048];
    for (size_t i = 0; i < 3; i++) {
        int n = dr_cache_lookup(a.answers, wire(names[i]), DR_TYPE_A, DR_CLASS_IN, NOW + 10, x,
                                sizeof(x));
        ASSERT_GT(n, 0);
        ASSERT_EQ(dr_cache_lookup(b.answers, wire(names[i]), DR_TYPE_A, DR_CLASS_IN, NOW + 10, y,
                                  sizeof(y)),
                  n);
        ASSERT(memcmp(x, y, (size_t)n) == 0);
    }
    struct dr_deleg got, want;
    ASSERT_EQ(dr_deleg_get(b.cuts, wire("example."), NOW + 10, &got), 0);
    make_cut(&want, "example.", 13);
    ASSERT_EQ(got.nns, 13);
    for (unsigned i = 0; i < 13; i++) {
        ASSERT(dr_dname_equal_case(got.ns[i].name, want.ns[i].name));
        ASSERT_EQ(got.ns[i].naddrs, want.ns[i].naddrs);
    }
    /* Loaded entries are flushable by name, the operation the unchecked loader made unsafe. */
    ASSERT_EQ(dr_cache_flush(b.answers, wire("example."), true), 3);

    /* Expired records are checked, then skipped: the org. cut is gone 200 s later. */
    struct caches c = caches_new();
    ASSERT_EQ(dr_cachefile_load_diag(c.answers, c.cuts, file, NOW + 200, &err), 6);
    ASSERT_EQ(dc_lru_count(c.cuts), 2);
    /* Missing file. */
    ASSERT_EQ(dr_cachefile_load(c.answers, c.cuts, path_of("none.dump"), NOW), -ENOENT);
    caches_free(&a);
    caches_free(&b);
    caches_free(&c);
    unlink(file);
}

static void
test_header_refused(void)
{
    struct image *im = calloc(1, sizeof(*im));
    img_put(im, "GARBAGE\n", 8);
    expect_refused(im, 0, 0, "not a duet cache file");
    im->len = 0;
    img_put(im, "DUET-CACHE 2\n", 13);
    expect_refused(im, 0, 0, "another format version");
    im->len = 0;
    img_put(im, "DUET-CA", 7);
    expect_refused(im, 0, 0, "not a duet cache file");
    /* The header alone is an empty cache. */
    img_header(im);
    struct caches c = caches_new();
    struct dr_cachefile_error err;
    ASSERT_EQ(load_image(im, &c, &err), 0);
    caches_free(&c);
    free(im);
}

static void
test_truncated_and_lying_lengths(void)
{
    struct image *im = calloc(1, sizeof(*im));
    struct entry a = good_answer(), d = good_cut(2);
    size_t first = 17 + a.klen + a.vlen;

    /* A file cut anywhere inside a record: refused at that record. The second record starts
     * at 13 + first. */
    img_header(im);
    img_entry(im, &a);
    img_entry(im, &d);
    size_t whole = im->len;
    for (size_t cut = 13 + first + 1; cut < whole; cut++) {
        im->len = cut;
        expect_refused(im, 2, 13 + first, "truncated");
    }
    im->len = whole;
    struct caches c = caches_new();
    struct dr_cachefile_error err;
    ASSERT_EQ(load_image(im, &c, &err), 2);
    caches_free(&c);

    /* Value length larger than the bytes present (the file ends first). */
    img_header(im);
    img_record_lying(im, 'A', a.key, a.klen, a.klen, a.val, a.vlen, a.vlen + 100, a.expire);
    expect_refused(im, 1, 13, "truncated");
    /* Shorter than the real value: the value check sees a wrong size. */
    img_header(im);
    img_record_lying(im, 'A', a.key, a.klen, a.klen, a.val, a.vlen, a.vlen - 2, a.expire);
    expect_refused(im, 1, 13, "value is");
    /* Key lengths no key can have. */
    img_header(im);
    img_record_lying(im, 'A', a.key, a.klen, 0, a.val, a.vlen, a.vlen, a.expire);
    expect_refused(im, 1, 13, "answer key length 0");
    img_header(im);
    img_record_lying(im, 'D', d.key, d.klen, 257, d.val, d.vlen, d.vlen, d.expire);
    expect_refused(im, 1, 13, "zone cut key length 257");
    img_header(im);
    img_record_lying(im, 'A', a.key, a.klen, a.klen, a.val, a.vlen, 0xffffffffu, a.expire);
    expect_refused(im, 1, 13, "answer value length 4294967295");
    /* Unknown type. */
    img_header(im);
    img_record(im, 'X', a.key, a.klen, a.val, a.vlen, a.expire);
    expect_refused(im, 1, 13, "unknown record type 0x58");
    /* The same file on disk, through the path API. */
    img_header(im);
    img_entry(im, &a);
    im->len -= 3;
    const char *file = path_of("short.dump");
    FILE *f = fopen(file, "wb");
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(fwrite(im->b, 1, im->len, f), im->len);
    fclose(f);
    c = caches_new();
    ASSERT_EQ(dr_cachefile_load_diag(c.answers, c.cuts, file, NOW, &err), -EINVAL);
    ASSERT_EQ(err.entry, 1);
    ASSERT_STR_CONTAINS(err.why, "truncated");
    ASSERT_EQ(dr_cachefile_load(c.answers, c.cuts, file, NOW), -EINVAL);
    ASSERT_EQ(dr_cache_count(c.answers), 0);
    caches_free(&c);
    unlink(file);
    free(im);
}

/* Keys that are not names, for both record types. */
static void
test_bad_keys(void)
{
    struct image *im = calloc(1, sizeof(*im));
    struct entry a = good_answer(), d = good_cut(2);
    struct {
        const char *key;
        size_t klen;
        const char *because;
    } cases[] = {
        /* Octal escapes: a hex escape would swallow the letters after it. */
        {"\005ab\0\0\1\0\1", 8, "key is 8 bytes"},                /* a label runs on */
        {"\077abc", 4, "runs past the end"},                      /* label past the end */
        {"\300\014\0\1\0\1", 6, "compression pointer at byte 0"}, /* a pointer */
        {"\003www\300\000\0\1\0\1", 10, "compression pointer at byte 4"},
        {"\103abc\0\0\1\0\1", 9, "reserved type 0x40"}, /* extended label */
        {"\003WWW\007example\0\0\1\0\1", 17, "not lower-case"},
        {"\003www\007example\0\0\1", 16, "key is 16 bytes"},              /* class cut short */
        {"\003www\007example\0\0\1\0\1", 17, "does not match the key"},   /* other name */
        {"\003www\007example\0\0\034\0\1", 17, "does not match the key"}, /* other type */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        img_header(im);
        uint8_t key[300];
        memcpy(key, cases[i].key, cases[i].klen);
        /* The good answer is for www.example. A: rename case 7 to be a real mismatch. */
        if (i == 7)
            key[1] = 'x';
        img_record(im, 'A', key, cases[i].klen, a.val, a.vlen, a.expire);
        expect_refused(im, 1, 13, cases[i].because);
    }
    /* A name longer than 255 bytes: 5 labels of 63. */
    uint8_t longname[330];
    size_t n = 0;
    for (int l = 0; l < 5; l++) {
        longname[n++] = 63;
        memset(longname + n, 'a', 63);
        n += 63;
    }
    longname[n++] = 0;
    img_header(im);
    img_record(im, 'A', longname, 259, a.val, a.vlen, a.expire);
    expect_refused(im, 1, 13, "longer than 255");

    /* Cut keys: the name must be the whole key, and the value's zone. */
    img_header(im);
    img_record(im, 'D', "\007example\0\0", 10, d.val, d.vlen, d.expire);
    expect_refused(im, 1, 13, "zone cut key is 10 bytes");
    img_header(im);
    img_record(im, 'D', "\xc0\x00", 2, d.val, d.vlen, d.expire);
    expect_refused(im, 1, 13, "compression pointer");
    img_header(im);
    img_record(im, 'D', "\007EXAMPLE\0", 9, d.val, d.vlen, d.expire);
    expect_refused(im, 1, 13, "not lower-case");
    img_header(im);
    img_record(im, 'D', "\007exampla\0", 9, d.val, d.vlen, d.expire);
    expect_refused(im, 1, 13, "zone name in the value is not the key");
    free(im);
}

/* Answer values whose stored reply does not parse or does not fit its header. */
static void
test_bad_answer_values(void)
{
    struct image *im = calloc(1, sizeof(*im));
    struct entry a = good_answer(), e;
    size_t rlen = a.vlen - REPLY_AT;

    /* Garbage in place of the reply's records (sizes still agree). */
    e = a;
    memset(e.val + REPLY_AT + DR_HEADER_LEN + 17, 0xff, rlen - DR_HEADER_LEN - 18);
    img_header(im);
    img_entry(im, &e);
    expect_refused(im, 1, 13, "not a well-formed DNS message");

    /* Answer count lies: 3 records announced, 2 present. */
    e = a;
    dr_put16(e.val + REPLY_AT + 6, 3);
    img_header(im);
    img_entry(im, &e);
    expect_refused(im, 1, 13, "not a well-formed DNS message");

    /* A TTL offset pointing elsewhere (e.g. at the reply's end, to write past it). */
    e = a;
    uint16_t off = (uint16_t)(rlen - 2);
    memcpy(e.val + 16 + 2, &off, 2);
    img_header(im);
    img_entry(im, &e);
    expect_refused(im, 1, 13, "TTL offset 2 is");

    /* One TTL offset fewer than records (the header says 1, the value is cut to match). */
    e = a;
    uint16_t one = 1;
    memcpy(e.val + 12, &one, 2);
    memmove(e.val + 18, e.val + 20, rlen);
    e.vlen -= 2;
    img_header(im);
    img_entry(im, &e);
    expect_refused(im, 1, 13, "more records than its 1 TTL offsets");

    /* Stored reply length lies. */
    e = a;
    uint32_t big = 70000;
    memcpy(e.val + 8, &big, 4);
    img_header(im);
    img_entry(im, &e);
    expect_refused(im, 1, 13, "value is");

    /* A record owner pointing into the header (at QDCOUNT's zero byte: parses, but the
     * header is rewritten when served), or into a TTL (300 = 00 00 01 2c: from its third
     * byte, a valid name until it decays). Found by fuzz_cachefile. */
    e = a;
    ASSERT_EQ(e.val[REPLY_AT + DR_HEADER_LEN + 17 + 16], 0xc0);
    e.val[REPLY_AT + DR_HEADER_LEN + 17 + 16 + 1] = 4;
    img_header(im);
    img_entry(im, &e);
    expect_refused(im, 1, 13, "record 2's owner name reads bytes that serving rewrites");
    e.val[REPLY_AT + DR_HEADER_LEN + 17 + 16 + 1] = DR_HEADER_LEN + 17 + 6 + 2;
    img_header(im);
    img_entry(im, &e);
    expect_refused(im, 1, 13, "record 2's owner name reads bytes that serving rewrites");

    /* A compressed question name. */
    e = a;
    e.val[REPLY_AT + DR_HEADER_LEN] = 0xc0;
    img_header(im);
    img_entry(im, &e);
    expect_refused(im, 1, 13, "question name is malformed or compressed");

    /* Unknown flag bits, an uncacheable rcode. */
    e = a;
    e.val[15] = 0x80;
    img_header(im);
    img_entry(im, &e);
    expect_refused(im, 1, 13, "unknown flags");
    e = a;
    e.val[REPLY_AT + 3] = (uint8_t)((e.val[REPLY_AT + 3] & 0xf0) | DR_RCODE_SERVFAIL);
    img_header(im);
    img_entry(im, &e);
    expect_refused(im, 1, 13, "rcode 2");

    /* A TTL nobody would keep, and an expiry far ahead. */
    e = a;
    dr_put32(e.val + REPLY_AT + DR_HEADER_LEN + 17 + 6, 0x7fffffff);
    img_header(im);
    img_entry(im, &e);
    expect_refused(im, 1, 13, "record 1 has TTL 2147483647");
    e = a;
    e.expire = NOW + 365 * 86400;
    img_header(im);
    img_entry(im, &e);
    expect_refused(im, 1, 13, "from now");
    /* Any clock the caller passes: expire - now must not overflow (UBSan found it with a
     * clock near INT64_MIN). */
    {
        struct caches c = caches_new();
        struct dr_cachefile_error err;
        FILE *f = fmemopen(im->b, im->len, "rb");
        ASSERT_NOT_NULL(f);
        ASSERT_EQ(dr_cachefile_read(c.answers, c.cuts, f, INT64_MIN + 1, &err), -EINVAL);
        ASSERT_STR_CONTAINS(err.why, "from now");
        fclose(f);
        caches_free(&c);
    }
    /* Shorter than its own header. */
    img_header(im);
    img_record(im, 'A', a.key, a.klen, a.val, 10, a.expire);
    expect_refused(im, 1, 13, "shorter than its 16-byte header");
    free(im);
}

/* Zone cuts with counts that lie or exceed the limits. */
static void
test_bad_cut_values(void)
{
    struct image *im = calloc(1, sizeof(*im));
    struct entry d = good_cut(2), e;
    size_t nns_at = 9; /* after "\7example\0" */
    ASSERT_EQ(d.val[nns_at], 2);

    e = d;
    e.val[nns_at] = 14;
    img_header(im);
    img_entry(im, &e);
    expect_refused(im, 1, 13, "14 name servers");
    e.val[nns_at] = 0;
    img_header(im);
    img_entry(im, &e);
    expect_refused(im, 1, 13, "0 name servers");
    /* Three announced, two present. */
    e.val[nns_at] = 3;
    img_header(im);
    img_entry(im, &e);
    expect_refused(im, 1, 13, "name server 3 runs past the end");
    /* One announced, two present: bytes left over. */
    e.val[nns_at] = 1;
    img_header(im);
    img_entry(im, &e);
    expect_refused(im, 1, 13, "bytes after its last name server");

    /* The first NS ("\3ns0\7example\0", 13 bytes) has 2 addresses: say 5, then say 3. */
    size_t naddrs_at = nns_at + 1 + 13;
    ASSERT_EQ(d.val[naddrs_at], 2);
    e = d;
    e.val[naddrs_at] = 5;
    img_header(im);
    img_entry(im, &e);
    expect_refused(im, 1, 13, "name server 1 has 5 addresses");
    e.val[naddrs_at] = 3;
    img_header(im);
    img_entry(im, &e);
    expect_refused(im, 1, 13, "name server 1: address 3 has family byte");
    /* An unknown family. */
    e = d;
    e.val[naddrs_at + 1] = 5;
    img_header(im);
    img_entry(im, &e);
    expect_refused(im, 1, 13, "family byte 5");
    /* Cut short inside the last address. */
    e = d;
    e.vlen -= 3;
    img_header(im);
    img_entry(im, &e);
    expect_refused(im, 1, 13, "ends inside address");
    /* An NS name that is not a name. */
    e = d;
    e.val[nns_at + 1] = 0xc0;
    img_header(im);
    img_entry(im, &e);
    expect_refused(im, 1, 13, "name server 1 has a compression pointer");
    free(im);
}

/* DNAME entries of the cut table: owner and target must be plain names filling their
 * fields, the TTL sane. */
static void
test_bad_dname_values(void)
{
    struct image *im = calloc(1, sizeof(*im));
    const uint8_t key[] = "\376\003old\007example"; /* with the string's NUL: the root */
    const uint8_t val[] = "\000\000\001\054\003new\007example";
    uint8_t v[64];
    img_header(im);
    img_record(im, 'D', key, sizeof(key), val, sizeof(val), NOW + 300);
    struct caches c = caches_new();
    struct dr_cachefile_error err;
    ASSERT_EQ(load_image(im, &c, &err), 1);
    caches_free(&c);

    img_header(im);
    img_record(im, 'D', key, sizeof(key) - 1, val, sizeof(val), NOW + 300);
    expect_refused(im, 1, 13, "DNAME owner runs past the end");
    img_header(im);
    img_record(im, 'D', "\376\300\014", 3, val, sizeof(val), NOW + 300);
    expect_refused(im, 1, 13, "DNAME owner has a compression pointer");
    img_header(im);
    img_record(im, 'D', key, sizeof(key), val, 4, NOW + 300);
    expect_refused(im, 1, 13, "holds no target");
    memcpy(v, val, sizeof(val));
    v[sizeof(val)] = 7;
    img_header(im);
    img_record(im, 'D', key, sizeof(key), v, sizeof(val) + 1, NOW + 300);
    expect_refused(im, 1, 13, "1 bytes after its target");
    memcpy(v, val, sizeof(val));
    v[4] = 0xc0;
    img_header(im);
    img_record(im, 'D', key, sizeof(key), v, sizeof(val), NOW + 300);
    expect_refused(im, 1, 13, "DNAME target has a compression pointer");
    memcpy(v, val, sizeof(val));
    v[0] = 0x7f;
    img_header(im);
    img_record(im, 'D', key, sizeof(key), v, sizeof(val), NOW + 300);
    expect_refused(im, 1, 13, "DNAME TTL 2130706732");
    free(im);
}

/* One bad record anywhere refuses the file whole, and reports where it is. */
static void
test_bad_record_after_good_ones(void)
{
    struct image *im = calloc(1, sizeof(*im));
    struct entry a = good_answer(), d = good_cut(3);
    img_header(im);
    img_entry(im, &a);
    img_entry(im, &d);
    size_t third = im->len;
    struct entry bad = d;
    bad.val[9] = 99;
    img_entry(im, &bad);
    img_entry(im, &a);
    expect_refused(im, 3, third, "99 name servers");

    /* Into caches that already hold something: left as they were. */
    struct caches c = caches_new();
    struct dr_deleg cut;
    make_cut(&cut, "org.", 1);
    ASSERT_EQ(dr_deleg_store(c.cuts, &cut, NOW + 60), 0);
    struct dr_cachefile_error err;
    ASSERT_EQ(load_image(im, &c, &err), -EINVAL);
    ASSERT_EQ(dr_cache_count(c.answers), 0);
    ASSERT_EQ(dc_lru_count(c.cuts), 1);
    caches_free(&c);
    free(im);
}

/* The files the tests wrote, then the directory: nothing is left in /tmp. */
static void
remove_tmpdir(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            ASSERT_EQ(unlink(path_of(e->d_name)), 0);
    if (d)
        closedir(d);
    ASSERT_EQ(rmdir(tmpdir), 0);
}

int
main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/duet-test-cachefile.XXXXXX");
    ASSERT_NOT_NULL(mkdtemp(tmpdir));
    TEST_RUN(test_dump_round_trips);
    TEST_RUN(test_header_refused);
    TEST_RUN(test_truncated_and_lying_lengths);
    TEST_RUN(test_bad_keys);
    TEST_RUN(test_bad_answer_values);
    TEST_RUN(test_bad_cut_values);
    TEST_RUN(test_bad_dname_values);
    TEST_RUN(test_bad_record_after_good_ones);
    remove_tmpdir();
    return 0;
}
