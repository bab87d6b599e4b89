/* Unit tests for resolver/cache.c: replies are built byte by byte here, stored, served. */
#include "resolver/cache.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/lru.h"
#include "resolver/deleg.h"
#include "resolver/dname.h"
#include "resolver/msg.h"
#include "test.h"

#include "count_alloc.h"

#define NOW    1000000
#define AN_OFF 6

static const struct dr_cache_policy default_policy = {
    .min_ttl = 0, .max_ttl = 86400, .max_negative_ttl = 3600};

/* ---- Message builder ---- */

struct pkt {
    uint8_t b[8192];
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
put_bytes(struct pkt *p, const void *d, size_t n)
{
    memcpy(p->b + p->len, d, n);
    p->len += n;
}

static void
put_name(struct pkt *p, const char *s)
{
    uint8_t w[DR_NAME_MAX];
    int n = dr_dname_from_str(s, w);
    ASSERT_GT(n, 0);
    put_bytes(p, w, (size_t)n);
}

/* A compression pointer to an earlier offset. */
static void
put_ptr(struct pkt *p, size_t off)
{
    put16(p, (uint16_t)(0xc000 | off));
}

static void
header(struct pkt *p, uint16_t flags, uint16_t an, uint16_t ns, uint16_t ar)
{
    p->len = 0;
    put16(p, 0x1234);
    put16(p, flags);
    put16(p, 1);
    put16(p, an);
    put16(p, ns);
    put16(p, ar);
}

static void
question(struct pkt *p, const char *name, uint16_t type)
{
    put_name(p, name);
    put16(p, type);
    put16(p, DR_CLASS_IN);
}

/* Type, class, TTL and a placeholder RDLENGTH after an owner name the caller wrote;
 * returns where RDLENGTH is, for rr_end(). */
static size_t
rr_start(struct pkt *p, uint16_t type, uint32_t ttl)
{
    put16(p, type);
    put16(p, DR_CLASS_IN);
    put32(p, ttl);
    size_t at = p->len;
    put16(p, 0);
    return at;
}

static void
rr_end(struct pkt *p, size_t at)
{
    dr_put16(p->b + at, (uint16_t)(p->len - at - 2));
}

static void
rr_a(struct pkt *p, uint32_t ttl, uint8_t last)
{
    size_t at = rr_start(p, DR_TYPE_A, ttl);
    const uint8_t a[4] = {192, 0, 2, last};
    put_bytes(p, a, 4);
    rr_end(p, at);
}

static void
rr_soa(struct pkt *p, const char *zone, uint32_t ttl, uint32_t minimum)
{
    put_name(p, zone);
    size_t at = rr_start(p, DR_TYPE_SOA, ttl);
    put_name(p, "ns1.example.");
    put_name(p, "hostmaster.example.");
    put32(p, 2024010101);
    put32(p, 7200);
    put32(p, 3600);
    put32(p, 1209600);
    put32(p, minimum);
    rr_end(p, at);
}

static void
rr_opt(struct pkt *p, uint32_t ttl)
{
    p->b[p->len++] = 0; /* root owner */
    put16(p, DR_TYPE_OPT);
    put16(p, 1232);
    put32(p, ttl);
    put16(p, 0);
}

#define RESP (DR_FLAG_QR | DR_FLAG_RD | DR_FLAG_RA)

/* www.example. A with two records (owners compressed to the question). */
static void
reply_a2(struct pkt *p, const char *qname, uint32_t ttl1, uint32_t ttl2)
{
    header(p, RESP, 2, 0, 0);
    question(p, qname, DR_TYPE_A);
    put_ptr(p, DR_HEADER_LEN);
    rr_a(p, ttl1, 1);
    put_ptr(p, DR_HEADER_LEN);
    rr_a(p, ttl2, 2);
}

static void
reply_negative(struct pkt *p, const char *qname, int rcode, bool soa, uint32_t soa_ttl,
               uint32_t minimum)
{
    header(p, (uint16_t)(RESP | rcode), 0, soa ? 1 : 0, 0);
    question(p, qname, DR_TYPE_A);
    if (soa)
        rr_soa(p, "example.", soa_ttl, minimum);
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

static int
store(struct dr_cache *c, const char *qname, uint16_t qtype, const struct pkt *p, int64_t now)
{
    return dr_cache_store(c, wire(qname), qtype, DR_CLASS_IN, p->b, p->len, now);
}

static void
make_query(struct dr_msg_query *q, const char *qname, uint16_t qtype, uint16_t id, uint16_t flags)
{
    memset(q, 0, sizeof(*q));
    q->id = id;
    q->flags = flags;
    q->qtype = qtype;
    q->qclass = DR_CLASS_IN;
    int n = dr_dname_from_str(qname, q->qname);
    ASSERT_GT(n, 0);
    q->qname_len = (uint8_t)n;
}

/* ---- Reading served replies back ---- */

struct rrs {
    int n;
    uint16_t type[16];
    int section[16];
    uint32_t ttl[16];
    size_t rdata_off[16];
    const uint8_t *pkt;
};

static int
collect(void *arg, int section, size_t owner_off, uint16_t type, uint16_t rclass, size_t ttl_off,
        size_t rdata_off, uint16_t rdlen)
{
    struct rrs *r = arg;
    ASSERT_LT(r->n, 16);
    r->type[r->n] = type;
    r->section[r->n] = section;
    r->ttl[r->n] = dr_get32(r->pkt + ttl_off);
    r->rdata_off[r->n] = rdata_off;
    r->n++;
    return 0;
}

static struct rrs
parse(const uint8_t *pkt, int len)
{
    struct rrs r = {.pkt = pkt};
    ASSERT_GT(len, 0);
    ASSERT_EQ(dr_msg_walk(pkt, (size_t)len, collect, &r), 0);
    return r;
}

/* Serves q at now; returns the length (0 on miss). */
static int
answer(struct dr_cache *c, const char *qname, uint16_t qtype, int64_t now, uint8_t *out)
{
    struct dr_msg_query q;
    make_query(&q, qname, qtype, 0x4321, DR_FLAG_RD);
    return dr_cache_answer(c, &q, now, out, 2048, NULL);
}

/* The same for a DNSSEC-aware client (DO=1). */
static int
answer_do(struct dr_cache *c, const char *qname, uint16_t qtype, int64_t now, uint8_t *out)
{
    struct dr_msg_query q;
    make_query(&q, qname, qtype, 0x4321, DR_FLAG_RD);
    q.do_bit = true;
    return dr_cache_answer(c, &q, now, out, 2048, NULL);
}

/* ---- Cases ---- */

/* A hit in the last tenth of the entry's lifetime says it is worth refreshing (prefetch);
 * earlier hits do not, and nothing is said when the caller does not ask. */
static void
test_prefetch_window(void)
{
    struct dr_cache *c = dr_cache_new(1 << 20, 4, &default_policy);
    struct pkt p;
    uint8_t out[2048];
    reply_a2(&p, "www.example.", 100, 100);
    ASSERT_EQ(store(c, "www.example.", DR_TYPE_A, &p, NOW), 0);
    struct dr_msg_query q;
    make_query(&q, "www.example.", DR_TYPE_A, 1, DR_FLAG_RD);
    bool due = false;
    ASSERT_GT(dr_cache_answer(c, &q, NOW + 89, out, sizeof(out), &due), 0);
    ASSERT(!due);
    ASSERT_GT(dr_cache_answer(c, &q, NOW + 90, out, sizeof(out), &due), 0);
    ASSERT(due);
    due = false;
    ASSERT_GT(dr_cache_answer(c, &q, NOW + 99, out, sizeof(out), &due), 0);
    ASSERT(due);
    ASSERT_GT(dr_cache_answer(c, &q, NOW + 99, out, sizeof(out), NULL), 0);
    dr_cache_free(c);
}

/* A question keeps two ready replies when its data is signed: DO=0 clients get the plain
 * one, DO=1 clients the one with signatures; unsigned data has only the plain one, which
 * serves both; and a DO=1 client is never handed the plain reply of signed data, even when
 * its own variant has gone (evicted, or expired first). */
static void
test_dnssec_variants(void)
{
    struct dr_cache *c = dr_cache_new(1 << 20, 4, &default_policy);
    struct pkt plain, sig;
    uint8_t out[2048];
    reply_a2(&plain, "www.example.", 300, 300); /* stand-ins told apart by their TTLs */
    reply_a2(&sig, "www.example.", 300, 200);
    ASSERT_EQ(dr_cache_store_pair(c, wire("www.example."), DR_TYPE_A, DR_CLASS_IN, plain.b,
                                  plain.len, sig.b, sig.len, NOW),
              0);
    ASSERT_EQ(dr_cache_count(c), 2);
    int n = answer(c, "www.example.", DR_TYPE_A, NOW, out);
    ASSERT_EQ(parse(out, n).ttl[1], 300);
    n = answer_do(c, "www.example.", DR_TYPE_A, NOW, out);
    ASSERT_EQ(parse(out, n).ttl[1], 200);
    /* The resolver's own reads: plain, or the signed one where asked. */
    n = dr_cache_lookup(c, wire("www.example."), DR_TYPE_A, DR_CLASS_IN, NOW, out, sizeof(out));
    ASSERT_EQ(parse(out, n).ttl[1], 300);
    n = dr_cache_lookup_signed(c, wire("www.example."), DR_TYPE_A, DR_CLASS_IN, NOW, out,
                               sizeof(out));
    ASSERT_EQ(parse(out, n).ttl[1], 200);

    /* Unsigned data: one entry for both kinds of client. */
    reply_a2(&plain, "ftp.example.", 300, 300);
    ASSERT_EQ(dr_cache_store_pair(c, wire("ftp.example."), DR_TYPE_A, DR_CLASS_IN, plain.b,
                                  plain.len, NULL, 0, NOW),
              0);
    ASSERT_EQ(dr_cache_count(c), 3);
    ASSERT_GT(answer_do(c, "ftp.example.", DR_TYPE_A, NOW, out), 0);
    ASSERT_GT(answer(c, "ftp.example.", DR_TYPE_A, NOW, out), 0);

    /* The DO=1 variant goes: DO=1 clients miss (and resolve again), DO=0 ones still hit. */
    uint8_t key[DR_NAME_MAX + 5];
    size_t kl = dr_dname_copy_lower(key, wire("www.example."));
    dr_put16(key + kl, DR_TYPE_A);
    dr_put16(key + kl + 2, DR_CLASS_IN);
    key[kl + 4] = 1;
    ASSERT(dc_lru_remove(dr_cache_table(c), key, kl + 5));
    ASSERT_EQ(answer_do(c, "www.example.", DR_TYPE_A, NOW, out), 0);
    n = answer(c, "www.example.", DR_TYPE_A, NOW, out);
    ASSERT_EQ(parse(out, n).ttl[1], 300);
    /* Both flushed together by name. */
    ASSERT_EQ(dr_cache_flush(c, wire("www.example."), false), 1);
    dr_cache_free(c);
}

static void
test_positive_lifetime_is_smallest_ttl(void)
{
    struct dr_cache *c = dr_cache_new(1 << 20, 4, &default_policy);
    struct pkt p;
    uint8_t out[2048];
    reply_a2(&p, "www.example.", 300, 100);
    ASSERT_EQ(store(c, "www.example.", DR_TYPE_A, &p, NOW), 0);
    ASSERT_EQ(dr_cache_count(c), 1);

    int n = answer(c, "www.example.", DR_TYPE_A, NOW, out);
    ASSERT_EQ(n, (int)p.len);
    struct rrs r = parse(out, n);
    ASSERT_EQ(r.n, 2);
    ASSERT_EQ(r.ttl[0], 300);
    ASSERT_EQ(r.ttl[1], 100);

    /* Ten seconds later every TTL is ten lower. */
    n = answer(c, "www.example.", DR_TYPE_A, NOW + 10, out);
    r = parse(out, n);
    ASSERT_EQ(r.ttl[0], 290);
    ASSERT_EQ(r.ttl[1], 90);
    n = answer(c, "www.example.", DR_TYPE_A, NOW + 99, out);
    r = parse(out, n);
    ASSERT_EQ(r.ttl[1], 1);
    /* The entry dies with its shortest record. */
    ASSERT_EQ(answer(c, "www.example.", DR_TYPE_A, NOW + 100, out), 0);
    ASSERT_EQ(dr_cache_count(c), 0);
    /* Other types and names were never there. */
    ASSERT_EQ(answer(c, "www.example.", DR_TYPE_AAAA, NOW, out), 0);
    dr_cache_free(c);
}

static void
test_clock_going_back_does_not_raise_ttls(void)
{
    struct dr_cache *c = dr_cache_new(1 << 20, 1, &default_policy);
    struct pkt p;
    uint8_t out[2048];
    reply_a2(&p, "www.example.", 300, 200);
    ASSERT_EQ(store(c, "www.example.", DR_TYPE_A, &p, NOW), 0);
    struct rrs r = parse(out, answer(c, "www.example.", DR_TYPE_A, NOW - 50, out));
    ASSERT_EQ(r.ttl[0], 300);
    dr_cache_free(c);
}

static void
test_cname_chain_with_compression(void)
{
    struct dr_cache *c = dr_cache_new(1 << 20, 4, &default_policy);
    struct pkt p;
    uint8_t out[2048];
    header(&p, RESP, 2, 0, 0);
    question(&p, "www.example.", DR_TYPE_A);
    put_ptr(&p, DR_HEADER_LEN);
    size_t at = rr_start(&p, DR_TYPE_CNAME, 3600);
    size_t target = p.len;
    put_bytes(&p, "\3web", 4);
    put_ptr(&p, DR_HEADER_LEN + 4); /* "example." inside the question */
    rr_end(&p, at);
    put_ptr(&p, target);
    rr_a(&p, 60, 7);
    ASSERT_EQ(store(c, "www.example.", DR_TYPE_A, &p, NOW), 0);

    int n = answer(c, "WWW.EXAMPLE.", DR_TYPE_A, NOW + 30, out);
    struct rrs r = parse(out, n);
    ASSERT_EQ(r.n, 2);
    ASSERT_EQ(r.type[0], DR_TYPE_CNAME);
    ASSERT_EQ(r.ttl[0], 3570);
    ASSERT_EQ(r.ttl[1], 30);
    /* The CNAME target still decodes through both pointers after the case patch. */
    uint8_t name[DR_NAME_MAX];
    size_t off = r.rdata_off[0];
    ASSERT_GT(dr_dname_read(out, (size_t)n, &off, name), 0);
    ASSERT(dr_dname_equal_case(name, wire("web.EXAMPLE.")));
    ASSERT_EQ(answer(c, "www.example.", DR_TYPE_A, NOW + 60, out), 0);
    dr_cache_free(c);
}

static void
test_nxdomain_uses_soa_minimum(void)
{
    struct dr_cache *c = dr_cache_new(1 << 20, 4, &default_policy);
    struct pkt p;
    uint8_t out[2048];
    reply_negative(&p, "nope.example.", DR_RCODE_NXDOMAIN, true, 3600, 300);
    ASSERT_EQ(store(c, "nope.example.", DR_TYPE_A, &p, NOW), 0);
    int n = answer(c, "nope.example.", DR_TYPE_A, NOW, out);
    ASSERT_EQ(DR_RCODE(dr_get16(out + 2)), DR_RCODE_NXDOMAIN);
    struct rrs r = parse(out, n);
    ASSERT_EQ(r.n, 1);
    ASSERT_EQ(r.section[0], 1);
    ASSERT_EQ(r.ttl[0], 300); /* min(SOA TTL, MINIMUM), written into the reply */
    r = parse(out, answer(c, "nope.example.", DR_TYPE_A, NOW + 299, out));
    ASSERT_EQ(r.ttl[0], 1);
    ASSERT_EQ(answer(c, "nope.example.", DR_TYPE_A, NOW + 300, out), 0);

    /* SOA TTL below MINIMUM: the TTL wins. */
    reply_negative(&p, "nope.example.", DR_RCODE_NXDOMAIN, true, 120, 300);
    ASSERT_EQ(store(c, "nope.example.", DR_TYPE_A, &p, NOW), 0);
    r = parse(out, answer(c, "nope.example.", DR_TYPE_A, NOW, out));
    ASSERT_EQ(r.ttl[0], 120);
    dr_cache_free(c);

    /* cache-max-negative-ttl caps it, in the stored SOA too. */
    struct dr_cache_policy pol = default_policy;
    pol.max_negative_ttl = 60;
    c = dr_cache_new(1 << 20, 4, &pol);
    reply_negative(&p, "nope.example.", DR_RCODE_NXDOMAIN, true, 3600, 300);
    ASSERT_EQ(store(c, "nope.example.", DR_TYPE_A, &p, NOW), 0);
    r = parse(out, answer(c, "nope.example.", DR_TYPE_A, NOW, out));
    ASSERT_EQ(r.ttl[0], 60);
    ASSERT_GT(answer(c, "nope.example.", DR_TYPE_A, NOW + 59, out), 0);
    ASSERT_EQ(answer(c, "nope.example.", DR_TYPE_A, NOW + 60, out), 0);
    dr_cache_free(c);
}

static void
test_nodata_is_cached_negative(void)
{
    struct dr_cache_policy pol = default_policy;
    pol.min_ttl = 500; /* no floor for negatives */
    struct dr_cache *c = dr_cache_new(1 << 20, 4, &pol);
    struct pkt p;
    uint8_t out[2048];
    reply_negative(&p, "www.example.", DR_RCODE_NOERROR, true, 900, 90);
    ASSERT_EQ(store(c, "www.example.", DR_TYPE_AAAA, &p, NOW), -EBADMSG); /* question: A */
    ASSERT_EQ(store(c, "www.example.", DR_TYPE_A, &p, NOW), 0);
    int n = answer(c, "www.example.", DR_TYPE_A, NOW + 5, out);
    ASSERT_EQ(DR_RCODE(dr_get16(out + 2)), DR_RCODE_NOERROR);
    ASSERT_EQ(dr_get16(out + AN_OFF), 0);
    struct rrs r = parse(out, n);
    ASSERT_EQ(r.ttl[0], 85);
    ASSERT_EQ(answer(c, "www.example.", DR_TYPE_A, NOW + 90, out), 0);
    dr_cache_free(c);
}

static void
test_uncacheable_replies(void)
{
    struct dr_cache *c = dr_cache_new(1 << 20, 4, &default_policy);
    struct pkt p;
    reply_negative(&p, "nope.example.", DR_RCODE_NXDOMAIN, false, 0, 0);
    ASSERT_EQ(store(c, "nope.example.", DR_TYPE_A, &p, NOW), 1);
    reply_negative(&p, "www.example.", DR_RCODE_NOERROR, false, 0, 0);
    ASSERT_EQ(store(c, "www.example.", DR_TYPE_A, &p, NOW), 1);
    reply_negative(&p, "www.example.", DR_RCODE_SERVFAIL, true, 300, 300);
    ASSERT_EQ(store(c, "www.example.", DR_TYPE_A, &p, NOW), 1);
    reply_negative(&p, "www.example.", DR_RCODE_REFUSED, false, 0, 0);
    ASSERT_EQ(store(c, "www.example.", DR_TYPE_A, &p, NOW), 1);
    /* Truncated: incomplete by definition. */
    reply_a2(&p, "www.example.", 300, 300);
    dr_put16(p.b + 2, RESP | DR_FLAG_TC);
    ASSERT_EQ(store(c, "www.example.", DR_TYPE_A, &p, NOW), 1);
    /* TTL 0 with no floor. */
    reply_a2(&p, "www.example.", 300, 0);
    ASSERT_EQ(store(c, "www.example.", DR_TYPE_A, &p, NOW), 1);
    /* A TTL with the top bit set counts as 0 (RFC 2181). */
    reply_a2(&p, "www.example.", 300, 0x80000000u);
    ASSERT_EQ(store(c, "www.example.", DR_TYPE_A, &p, NOW), 1);
    ASSERT_EQ(dr_cache_count(c), 0);
    dr_cache_free(c);
}

static void
test_min_max_ttl_clamps(void)
{
    struct dr_cache_policy pol = {.min_ttl = 50, .max_ttl = 1000, .max_negative_ttl = 3600};
    struct dr_cache *c = dr_cache_new(1 << 20, 4, &pol);
    struct pkt p;
    uint8_t out[2048];
    reply_a2(&p, "www.example.", 10, 5000);
    ASSERT_EQ(store(c, "www.example.", DR_TYPE_A, &p, NOW), 0);
    struct rrs r = parse(out, answer(c, "www.example.", DR_TYPE_A, NOW, out));
    ASSERT_EQ(r.ttl[0], 50);
    ASSERT_EQ(r.ttl[1], 1000);
    ASSERT_GT(answer(c, "www.example.", DR_TYPE_A, NOW + 49, out), 0);
    ASSERT_EQ(answer(c, "www.example.", DR_TYPE_A, NOW + 50, out), 0);
    /* TTL 0 raised by the floor becomes cacheable. */
    reply_a2(&p, "www.example.", 0, 0);
    ASSERT_EQ(store(c, "www.example.", DR_TYPE_A, &p, NOW), 0);
    /* max-ttl also bounds negatives when it is the smaller cap. */
    pol.max_ttl = 30;
    dr_cache_free(c);
    c = dr_cache_new(1 << 20, 4, &pol);
    reply_negative(&p, "nope.example.", DR_RCODE_NXDOMAIN, true, 3600, 300);
    ASSERT_EQ(store(c, "nope.example.", DR_TYPE_A, &p, NOW), 0);
    r = parse(out, answer(c, "nope.example.", DR_TYPE_A, NOW, out));
    ASSERT_EQ(r.ttl[0], 30);
    dr_cache_free(c);
}

static void
test_id_rd_and_case_patched(void)
{
    struct dr_cache *c = dr_cache_new(1 << 20, 4, &default_policy);
    struct pkt p;
    uint8_t out[2048];
    reply_a2(&p, "www.example.", 300, 300);
    ASSERT_EQ(store(c, "www.example.", DR_TYPE_A, &p, NOW), 0);

    struct dr_msg_query q;
    make_query(&q, "WwW.ExAmPlE.", DR_TYPE_A, 0xbeef, DR_FLAG_RD);
    int n = dr_cache_answer(c, &q, NOW, out, sizeof(out), NULL);
    ASSERT_EQ(n, (int)p.len);
    ASSERT_EQ(dr_get16(out), 0xbeef);
    uint16_t flags = dr_get16(out + 2);
    ASSERT(flags & DR_FLAG_QR);
    ASSERT(flags & DR_FLAG_RD);
    ASSERT(flags & DR_FLAG_RA);
    ASSERT_EQ(memcmp(out + DR_HEADER_LEN, q.qname, q.qname_len), 0);
    /* The owners point at the question, so they read back in the client's case. */
    struct rrs r = parse(out, n);
    ASSERT_EQ(r.n, 2);
    uint8_t name[DR_NAME_MAX];
    size_t off = DR_HEADER_LEN + q.qname_len + 4;
    ASSERT_GT(dr_dname_read(out, (size_t)n, &off, name), 0);
    ASSERT(dr_dname_equal_case(name, q.qname));
    /* Everything else is the stored reply (TTLs undecayed at NOW). */
    ASSERT_EQ(memcmp(out + 4, p.b + 4, 8), 0);
    ASSERT_EQ(memcmp(out + DR_HEADER_LEN + q.qname_len, p.b + DR_HEADER_LEN + q.qname_len,
                     p.len - DR_HEADER_LEN - q.qname_len),
              0);

    /* A client without RD gets RD clear, RA still set. */
    make_query(&q, "www.EXAMPLE.", DR_TYPE_A, 7, 0);
    n = dr_cache_answer(c, &q, NOW, out, sizeof(out), NULL);
    ASSERT_GT(n, 0);
    ASSERT_EQ(dr_get16(out), 7);
    ASSERT(!(dr_get16(out + 2) & DR_FLAG_RD));
    ASSERT(dr_get16(out + 2) & DR_FLAG_RA);
    ASSERT_EQ(memcmp(out + DR_HEADER_LEN, q.qname, q.qname_len), 0);

    /* The resolver's own lookup: any case, ID 0, the stored question. */
    n = dr_cache_lookup(c, wire("WWW.example."), DR_TYPE_A, DR_CLASS_IN, NOW + 1, out, sizeof(out));
    ASSERT_EQ(n, (int)p.len);
    ASSERT_EQ(dr_get16(out), 0);
    ASSERT_EQ(memcmp(out + DR_HEADER_LEN, p.b + DR_HEADER_LEN, q.qname_len), 0);
    ASSERT_EQ(parse(out, n).ttl[0], 299);
    ASSERT_EQ(
        dr_cache_lookup(c, wire("www.example."), DR_TYPE_A, DR_CLASS_CH, NOW, out, sizeof(out)), 0);
    dr_cache_free(c);
}

static void
test_buffer_too_small(void)
{
    struct dr_cache *c = dr_cache_new(1 << 20, 4, &default_policy);
    struct pkt p;
    uint8_t out[2048];
    reply_a2(&p, "www.example.", 300, 300);
    ASSERT_EQ(store(c, "www.example.", DR_TYPE_A, &p, NOW), 0);
    struct dr_msg_query q;
    make_query(&q, "www.example.", DR_TYPE_A, 1, DR_FLAG_RD);
    ASSERT_EQ(dr_cache_answer(c, &q, NOW, out, p.len - 1, NULL), -ENOSPC);
    ASSERT_EQ(dr_cache_answer(c, &q, NOW, out, p.len, NULL), (int)p.len);
    ASSERT_EQ(dr_cache_lookup(c, q.qname, DR_TYPE_A, DR_CLASS_IN, NOW, out, 12), -ENOSPC);
    dr_cache_free(c);
}

static void
test_opt_is_stripped(void)
{
    struct dr_cache *c = dr_cache_new(1 << 20, 4, &default_policy);
    struct pkt p;
    uint8_t out[2048];
    reply_a2(&p, "www.example.", 300, 300);
    size_t plain = p.len;
    dr_put16(p.b + 10, 1);
    rr_opt(&p, 0x00008000); /* DO set: per-client, not stored */
    ASSERT_EQ(store(c, "www.example.", DR_TYPE_A, &p, NOW), 0);
    int n = answer(c, "www.example.", DR_TYPE_A, NOW, out);
    ASSERT_EQ(n, (int)plain);
    ASSERT_EQ(dr_get16(out + 10), 0);
    ASSERT_EQ(parse(out, n).n, 2);

    /* An extended RCODE in the OPT (e.g. BADVERS) is not an answer to keep. */
    reply_a2(&p, "www.example.", 300, 300);
    dr_put16(p.b + 10, 1);
    rr_opt(&p, 0x01000000);
    ASSERT_EQ(store(c, "www.example.", DR_TYPE_A, &p, NOW), 1);
    /* Two OPTs is malformed. */
    reply_a2(&p, "www.example.", 300, 300);
    dr_put16(p.b + 10, 2);
    rr_opt(&p, 0);
    rr_opt(&p, 0);
    ASSERT_EQ(store(c, "www.example.", DR_TYPE_A, &p, NOW), -EBADMSG);
    /* An OPT before another additional record is not stripped: not cached. */
    header(&p, RESP, 1, 0, 2);
    question(&p, "www.example.", DR_TYPE_A);
    put_ptr(&p, DR_HEADER_LEN);
    rr_a(&p, 300, 1);
    rr_opt(&p, 0);
    put_name(&p, "ns.example.");
    rr_a(&p, 300, 2);
    ASSERT_EQ(store(c, "www.example.", DR_TYPE_A, &p, NOW), 1);
    dr_cache_free(c);
}

static void
test_malformed_replies(void)
{
    struct dr_cache *c = dr_cache_new(1 << 20, 4, &default_policy);
    struct pkt p;
    reply_a2(&p, "www.example.", 300, 300);
    /* Cut inside the last record. */
    ASSERT_EQ(dr_cache_store(c, wire("www.example."), DR_TYPE_A, DR_CLASS_IN, p.b, p.len - 2, NOW),
              -EBADMSG);
    /* More records announced than present. */
    dr_put16(p.b + AN_OFF, 3);
    ASSERT_EQ(store(c, "www.example.", DR_TYPE_A, &p, NOW), -EBADMSG);
    dr_put16(p.b + AN_OFF, 2);
    /* Trailing garbage. */
    p.b[p.len++] = 0;
    ASSERT_EQ(store(c, "www.example.", DR_TYPE_A, &p, NOW), -EBADMSG);
    p.len--;
    /* A reply to another question. */
    ASSERT_EQ(store(c, "ftp.example.", DR_TYPE_A, &p, NOW), -EBADMSG);
    ASSERT_EQ(dr_cache_store(c, wire("www.example."), DR_TYPE_A, DR_CLASS_CH, p.b, p.len, NOW),
              -EBADMSG);
    /* No question, or a header alone. */
    dr_put16(p.b + 4, 0);
    ASSERT_EQ(store(c, "www.example.", DR_TYPE_A, &p, NOW), -EBADMSG);
    ASSERT_EQ(dr_cache_store(c, wire("www.example."), DR_TYPE_A, DR_CLASS_IN, p.b, 11, NOW),
              -EBADMSG);
    /* Still well-formed after all that. */
    dr_put16(p.b + 4, 1);
    ASSERT_EQ(store(c, "www.example.", DR_TYPE_A, &p, NOW), 0);
    ASSERT_EQ(dr_cache_count(c), 1);
    dr_cache_free(c);
}

/*
 * Found by fuzz_cachefile: an owner name compressed to a pointer into bytes that serving
 * rewrites. Into the header, it reads the ID or flags as labels: it parses as stored (ID 0
 * reads as the root name), but serving rewrites the ID and flags. Into a TTL field, it
 * parses with the stored TTL and breaks once the TTL has decayed. Such a reply is refused.
 */
static void
test_owner_read_through_rewritten_bytes(void)
{
    struct dr_cache *c = dr_cache_new(1 << 20, 4, &default_policy);
    struct pkt p;
    size_t first = DR_HEADER_LEN + 17, second = first + 16; /* after the question */
    static const size_t targets[] = {0, 2, 4, 11};
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        reply_a2(&p, "www.example.", 300, 300);
        dr_put16(p.b, 0); /* ID 0 and a zero byte at 4, 6, ...: each is a valid root name */
        dr_put16(p.b + 2, 0);
        ASSERT_EQ(p.b[second], 0xc0);
        p.b[second + 1] = (uint8_t)targets[i];
        ASSERT_EQ(dr_msg_walk(p.b, p.len, NULL, NULL), 0);
        ASSERT_EQ(store(c, "www.example.", DR_TYPE_A, &p, NOW), -EBADMSG);
    }
    /* The first record's TTL is 300 = 00 00 01 2c: from its third byte, "\1," then the
     * RDLENGTH's zero byte is a valid name, until the TTL decays to 255. */
    reply_a2(&p, "www.example.", 300, 300);
    p.b[second + 1] = (uint8_t)(first + 6 + 2);
    ASSERT_EQ(dr_msg_walk(p.b, p.len, NULL, NULL), 0);
    ASSERT_EQ(store(c, "www.example.", DR_TYPE_A, &p, NOW), -EBADMSG);
    ASSERT_EQ(dr_cache_count(c), 0);
    /* Pointing at the question, as encoders do, is fine. */
    p.b[second + 1] = DR_HEADER_LEN;
    ASSERT_EQ(store(c, "www.example.", DR_TYPE_A, &p, NOW), 0);
    dr_cache_free(c);
}

static void
test_budget_and_e2big(void)
{
    struct dr_cache *c = dr_cache_new(4096, 1, &default_policy);
    struct pkt p;
    char name[64];
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof(name), "host%d.example.", i);
        reply_a2(&p, name, 300, 300);
        ASSERT_EQ(store(c, name, DR_TYPE_A, &p, NOW), 0);
        ASSERT_LE(dr_cache_bytes(c), 4096);
    }
    ASSERT_LT(dr_cache_count(c), 200);
    /* A reply bigger than the whole budget. */
    header(&p, RESP, 80, 0, 0);
    question(&p, "big.example.", DR_TYPE_A);
    for (int i = 0; i < 80; i++) {
        put_name(&p, "a-rather-long-owner-name-to-fill-bytes.big.example.");
        rr_a(&p, 300, (uint8_t)i);
    }
    ASSERT_EQ(store(c, "big.example.", DR_TYPE_A, &p, NOW), -E2BIG);
    dr_cache_free(c);
}

static void
test_flush_name_subtree_all(void)
{
    struct dr_cache *c = dr_cache_new(1 << 20, 4, &default_policy);
    size_t empty = dr_cache_bytes(c); /* the table's own structures */
    struct pkt p;
    const char *names[] = {"www.example.", "mail.example.", "example.", "a.b.example.",
                           "other.org."};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        reply_a2(&p, names[i], 300, 300);
        ASSERT_EQ(store(c, names[i], DR_TYPE_A, &p, NOW), 0);
    }
    /* A second type under one name. */
    header(&p, RESP, 1, 0, 0);
    question(&p, "www.example.", DR_TYPE_AAAA);
    put_ptr(&p, DR_HEADER_LEN);
    size_t at = rr_start(&p, DR_TYPE_AAAA, 300);
    put_bytes(&p, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\1", 16);
    rr_end(&p, at);
    ASSERT_EQ(store(c, "www.example.", DR_TYPE_AAAA, &p, NOW), 0);
    ASSERT_EQ(dr_cache_count(c), 6);
    size_t bytes = dr_cache_bytes(c);
    ASSERT_GT(bytes, empty + 6 * p.len);

    ASSERT_EQ(dr_cache_flush(c, wire("WWW.Example."), false), 2);
    ASSERT_EQ(dr_cache_count(c), 4);
    ASSERT_LT(dr_cache_bytes(c), bytes);
    ASSERT_EQ(dr_cache_flush(c, wire("b.example."), false), 0);
    ASSERT_EQ(dr_cache_flush(c, wire("example."), true), 3);
    ASSERT_EQ(dr_cache_count(c), 1);
    uint8_t out[2048];
    ASSERT_GT(answer(c, "other.org.", DR_TYPE_A, NOW, out), 0);
    ASSERT_EQ(dr_cache_flush(c, NULL, false), 1);
    ASSERT_EQ(dr_cache_count(c), 0);
    ASSERT_EQ(dr_cache_bytes(c), empty);
    dr_cache_free(c);
}

static void
test_hit_allocates_nothing(void)
{
#ifdef DUET_SANITIZE
    fprintf(stderr, "   skipped: sanitizer builds replace malloc, no counting interposer\n");
#else
    struct dr_cache *c = dr_cache_new(1 << 20, 4, &default_policy);
    struct pkt p;
    uint8_t out[2048];
    reply_a2(&p, "www.example.", 300, 300);
    ASSERT_EQ(store(c, "www.example.", DR_TYPE_A, &p, NOW), 0);
    struct dr_msg_query q;
    make_query(&q, "WWW.example.", DR_TYPE_A, 1, DR_FLAG_RD);
    size_t before = n_allocs;
    int hits = 0;
    for (int i = 0; i < 10000; i++) {
        q.id = (uint16_t)i;
        hits += dr_cache_answer(c, &q, NOW + i % 200, out, sizeof(out), NULL) > 0;
    }
    size_t after = n_allocs;
    ASSERT_EQ(hits, 10000);
    ASSERT_EQ(after - before, 0);
    /* The interposer does count: a store allocates. */
    ASSERT_EQ(store(c, "www.example.", DR_TYPE_A, &p, NOW), 0);
    ASSERT_GT(n_allocs, after);
    dr_cache_free(c);
#endif
}

/* ---- The whole cache-size budget (answers and zone cuts, every byte counted) ---- */

#define BUDGET_64K (64 * 1024)
#define FILL       20000

#if COUNT_ALLOC
/* A zone cut like a TLD's: four NS names, each with an IPv4 and an IPv6 glue address. */
static void
make_cut(struct dr_deleg *d, int i)
{
    char zone[64], ns[80];
    memset(d, 0, sizeof(*d));
    snprintf(zone, sizeof(zone), "zone%d.example.", i);
    ASSERT_GT(dr_dname_from_str(zone, d->zone), 0);
    for (int k = 0; k < 4; k++) {
        uint8_t w[DR_NAME_MAX];
        snprintf(ns, sizeof(ns), "ns%d.%s", k, zone);
        ASSERT_GT(dr_dname_from_str(ns, w), 0);
        struct dr_deleg_ns *n = dr_deleg_add_ns(d, w);
        union dc_sockaddr a4 = {.in = {.sin_family = AF_INET, .sin_port = htons(53)}};
        a4.in.sin_addr.s_addr = htonl(0xc0000200u + (uint32_t)k);
        union dc_sockaddr a6 = {.in6 = {.sin6_family = AF_INET6, .sin6_port = htons(53)}};
        a6.in6.sin6_addr.s6_addr[15] = (uint8_t)k;
        dr_deleg_add_addr(n, &a4);
        dr_deleg_add_addr(n, &a6);
    }
}

/* Stores FILL answers of growing size (so that every allocator size class is hit). */
static void
fill_answers(struct dr_cache *c)
{
    struct pkt p;
    char name[128];
    for (int i = 0; i < FILL; i++) {
        snprintf(name, sizeof(name), "%.*shost%d.example.", i % 40,
                 "abcdefghijabcdefghijabcdefghijabcdefghij", i);
        reply_a2(&p, name, 300, 300);
        ASSERT_EQ(store(c, name, DR_TYPE_A, &p, NOW), 0);
    }
}

static void
fill_cuts(struct dc_lru *t)
{
    struct dr_deleg d;
    for (int i = 0; i < FILL; i++) {
        make_cut(&d, i);
        int rc = dr_deleg_store(t, &d, NOW + 300);
        ASSERT(rc == 0 || rc == -E2BIG);
    }
}

#endif

/*
 * Defect 7: with cache-size = 64K, the answer cache got 64K - 512K (wrapped: no eviction at
 * all) and the cut table 1M, and neither counted allocator rounding nor bucket arrays. Here
 * the two tables are made as prepare() makes them, filled with 20000 entries each, and the
 * heap they hold together (measured by the counting allocator: each block's chunk size)
 * must stay within the 64K budget, with no extra allowance at all.
 */
static void
test_budget_64k_holds_whole_cache(void)
{
#if !COUNT_ALLOC
    fprintf(stderr, "   skipped: sanitizer builds replace malloc, no counting interposer\n");
#else
    long long before = n_heap_bytes;
    size_t answer_bytes, cut_bytes;
    dr_cache_split(BUDGET_64K, &answer_bytes, &cut_bytes);
    struct dr_cache *c = dr_cache_new(answer_bytes, 16, &default_policy);
    struct dc_lru *cuts = dc_lru_new(cut_bytes, 16);
    ASSERT_NOT_NULL(c);
    ASSERT_NOT_NULL(cuts);
    fill_answers(c);
    fill_cuts(cuts);
    long long held = n_heap_bytes - before;
    fprintf(stderr, "   64K budget: %zu answers, %zu cuts, %lld heap bytes held\n",
            dr_cache_count(c), dc_lru_count(cuts), held);
    ASSERT_LE(held, BUDGET_64K);
    /* The budget is used, not wasted: both tables hold something. */
    ASSERT_GT(dr_cache_count(c), 100);
    ASSERT_GT(dc_lru_count(cuts), 5);
    dr_cache_free(c);
    dc_lru_free(cuts);
    ASSERT_EQ(n_heap_bytes, before);
#endif
}

#if COUNT_ALLOC
/*
 * held: heap measured by the counting allocator; counted: what the table reports. The count
 * is an upper bound of the real heap that is off by at most the 16 bytes per block that
 * malloc may add when it reuses a free chunk (common/lru.c): per entry, per shard's bucket
 * array (16 shards at most) and for the three fixed blocks.
 */
static void
check_held(long long held, size_t counted, size_t entries, size_t share)
{
    ASSERT_LE(held, (long long)counted);
    ASSERT_LE((long long)counted - held, 16 * (long long)(entries + 16 + 3));
    ASSERT_LE(counted, share);
}
#endif

/*
 * Each table on its own: the heap it holds never exceeds its share, what it reports
 * (dr_cache_bytes, dc_lru_bytes) bounds that heap closely from above, and the two shares
 * add up to cache-size exactly. Checked after every store for a few sizes, so that
 * bucket-array growth and eviction are crossed too.
 */
static void
test_budget_exact_for_both_tables(void)
{
#if !COUNT_ALLOC
    fprintf(stderr, "   skipped: sanitizer builds replace malloc, no counting interposer\n");
#else
    static const size_t sizes[] = {BUDGET_64K, 200 * 1024, 1 << 20};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        size_t answer_bytes, cut_bytes;
        dr_cache_split(sizes[k], &answer_bytes, &cut_bytes);
        ASSERT_EQ(answer_bytes + cut_bytes, sizes[k]);

        long long before = n_heap_bytes;
        struct dr_cache *c = dr_cache_new(answer_bytes, 16, &default_policy);
        ASSERT_NOT_NULL(c);
        struct pkt p;
        char name[128];
        for (int i = 0; i < FILL / 4; i++) {
            snprintf(name, sizeof(name), "%.*sh%d.example.", i % 50,
                     "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghij", i);
            reply_a2(&p, name, 300, 300);
            ASSERT_EQ(store(c, name, DR_TYPE_A, &p, NOW), 0);
            check_held(n_heap_bytes - before, dr_cache_bytes(c), dr_cache_count(c), answer_bytes);
        }
        ASSERT_LT(dr_cache_count(c), FILL / 4);
        dr_cache_free(c);
        ASSERT_EQ(n_heap_bytes, before);

        struct dc_lru *cuts = dc_lru_new(cut_bytes, 16);
        ASSERT_NOT_NULL(cuts);
        struct dr_deleg d;
        for (int i = 0; i < FILL / 4; i++) {
            make_cut(&d, i);
            ASSERT_EQ(dr_deleg_store(cuts, &d, NOW + 300), 0);
            check_held(n_heap_bytes - before, dc_lru_bytes(cuts), dc_lru_count(cuts), cut_bytes);
        }
        ASSERT_LT(dc_lru_count(cuts), FILL / 4);
        dc_lru_free(cuts);
        ASSERT_EQ(n_heap_bytes, before);
    }
#endif
}

/* Validation status travels with an entry: lookups report it, a cap (signature expiry,
 * val-bogus-ttl) lowers both the entry's life and the TTLs served, and an entry nobody
 * validated is a miss for a caller that wants validated data only. */
static void
test_validation_status(void)
{
    struct dr_cache *c = dr_cache_new(1 << 20, 4, &default_policy);
    struct pkt plain, sig;
    uint8_t out[2048];
    reply_a2(&plain, "sec.example.", 300, 300);
    reply_a2(&sig, "sec.example.", 300, 300);
    struct dr_cache_sec cs = {.status = 1, .why = 0, .max_life = 60};
    ASSERT_EQ(dr_cache_store_sec(c, wire("sec.example."), DR_TYPE_A, DR_CLASS_IN, plain.b,
                                 plain.len, sig.b, sig.len, NOW, &cs),
              0);
    struct dr_cache_sec got = {0};
    int n = dr_cache_lookup_sec(c, wire("sec.example."), DR_TYPE_A, DR_CLASS_IN, NOW, out,
                                sizeof(out), &got);
    ASSERT_GT(n, 0);
    ASSERT_EQ(got.status, 1);
    ASSERT_EQ(parse(out, n).ttl[1], 60); /* the TTLs are capped too */
    ASSERT_EQ(dr_cache_lookup_sec(c, wire("sec.example."), DR_TYPE_A, DR_CLASS_IN, NOW + 60, out,
                                  sizeof(out), &got),
              0); /* and the entry is gone at the cap */

    reply_a2(&plain, "none.example.", 300, 300);
    ASSERT_EQ(
        dr_cache_store(c, wire("none.example."), DR_TYPE_A, DR_CLASS_IN, plain.b, plain.len, NOW),
        0);
    ASSERT_EQ(dr_cache_lookup_sec(c, wire("none.example."), DR_TYPE_A, DR_CLASS_IN, NOW, out,
                                  sizeof(out), &got),
              0);
    struct dr_msg_query q;
    make_query(&q, "none.example.", DR_TYPE_A, 0x4321, DR_FLAG_RD);
    ASSERT_EQ(dr_cache_answer_sec(c, &q, NOW, out, sizeof(out), NULL, true, &got), 0);
    ASSERT_GT(dr_cache_answer_sec(c, &q, NOW, out, sizeof(out), NULL, false, &got), 0);
    ASSERT_EQ(got.status, 0);
    dr_cache_free(c);
}

int
main(void)
{
    TEST_RUN(test_positive_lifetime_is_smallest_ttl);
    TEST_RUN(test_clock_going_back_does_not_raise_ttls);
    TEST_RUN(test_cname_chain_with_compression);
    TEST_RUN(test_nxdomain_uses_soa_minimum);
    TEST_RUN(test_nodata_is_cached_negative);
    TEST_RUN(test_uncacheable_replies);
    TEST_RUN(test_min_max_ttl_clamps);
    TEST_RUN(test_id_rd_and_case_patched);
    TEST_RUN(test_buffer_too_small);
    TEST_RUN(test_opt_is_stripped);
    TEST_RUN(test_malformed_replies);
    TEST_RUN(test_owner_read_through_rewritten_bytes);
    TEST_RUN(test_budget_and_e2big);
    TEST_RUN(test_flush_name_subtree_all);
    TEST_RUN(test_hit_allocates_nothing);
    TEST_RUN(test_dnssec_variants);
    TEST_RUN(test_prefetch_window);
    TEST_RUN(test_budget_64k_holds_whole_cache);
    TEST_RUN(test_budget_exact_for_both_tables);
    TEST_RUN(test_validation_status);
    return 0;
}
