/* Unit tests for resolver/redis.c's pure part: keys, the value's encoding, and the checks a
 * value read back from Redis must pass before the local cache takes it (hostile bytes:
 * lengths, version, expiry, the question inside, the validation status). */
#include "resolver/redis.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "resolver/cache.h"
#include "resolver/dname.h"
#include "resolver/msg.h"
#include "resolver/val.h"
#include "test.h"

#define NOW 1000000

static const struct dr_cache_policy policy = {
    .min_ttl = 0, .max_ttl = 86400, .max_negative_ttl = 3600};

struct pkt {
    uint8_t b[512];
    size_t len;
};

static void
put(struct pkt *p, const void *d, size_t n)
{
    memcpy(p->b + p->len, d, n);
    p->len += n;
}

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

static const uint8_t *
wire(const char *s)
{
    static uint8_t buf[4][DR_NAME_MAX];
    static int next;
    uint8_t *w = buf[next++ % 4];
    ASSERT_GT(dr_dname_from_str(s, w), 0);
    return w;
}

/* A reply to NAME A with one A record of the given TTL: ID 0, QR RA, no OPT. */
static struct pkt
reply_a(const char *name, uint32_t ttl)
{
    struct pkt p = {.len = 0};
    put16(&p, 0);
    put16(&p, DR_FLAG_QR | DR_FLAG_RA);
    put16(&p, 1);
    put16(&p, 1);
    put16(&p, 0);
    put16(&p, 0);
    const uint8_t *w = wire(name);
    put(&p, w, dr_dname_len(w));
    put16(&p, DR_TYPE_A);
    put16(&p, DR_CLASS_IN);
    put16(&p, 0xC00C);
    put16(&p, DR_TYPE_A);
    put16(&p, DR_CLASS_IN);
    put32(&p, ttl);
    put16(&p, 4);
    put(&p, "\xc0\x00\x02\x01", 4);
    return p;
}

static struct dr_redis_rules
rules(bool dnssec, bool validating)
{
    return (struct dr_redis_rules){
        .now = NOW, .max_ttl = 86400, .dnssec = dnssec, .validating = validating};
}

static void
test_key(void)
{
    char k[DR_REDIS_KEY_MAX];
    int n = dr_redis_key(k, sizeof(k), "duet:", wire("a.example."), 28, 1, true);
    ASSERT_STR_EQ(k, "duet:0161076578616d706c6500/28/1/1");
    ASSERT_EQ(n, (int)strlen(k));
    n = dr_redis_key(k, sizeof(k), "", wire("."), 1, 1, false);
    ASSERT_STR_EQ(k, "00/1/1/0");
    /* The longest name and prefix fit the documented maximum. */
    char name[300] = "";
    for (int i = 0; i < 4; i++)
        strcat(name, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.");
    char prefix[DR_REDIS_PREFIX_MAX + 1];
    memset(prefix, 'p', DR_REDIS_PREFIX_MAX);
    prefix[DR_REDIS_PREFIX_MAX] = '\0';
    ASSERT_GT(dr_redis_key(k, sizeof(k), prefix, wire(name), 65535, 65535, true), 0);
    ASSERT_EQ(dr_redis_key(k, 20, "duet:", wire("a.example."), 1, 1, false), -ENOSPC);
}

static void
test_round_trip(void)
{
    struct pkt p = reply_a("a.example.", 300), d = reply_a("a.example.", 300);
    uint8_t v[1024];
    int n = dr_redis_encode(v, sizeof(v), NOW + 300, DR_VS_SECURE, 0, p.b, p.len, d.b, d.len);
    ASSERT_EQ(n, (int)(DR_REDIS_HEAD + p.len + d.len));
    struct dr_redis_value out;
    struct dr_redis_rules r = rules(true, true);
    const char *why = NULL;
    ASSERT_EQ(dr_redis_decode(v, (size_t)n, &r, &out, &why), 0);
    ASSERT_EQ(out.expire, NOW + 300);
    ASSERT_EQ(out.status, DR_VS_SECURE);
    ASSERT_EQ(out.plen, p.len);
    ASSERT_EQ(out.dlen, d.len);
    ASSERT(memcmp(out.plain, p.b, p.len) == 0);
    ASSERT(memcmp(out.dnssec, d.b, d.len) == 0);
    /* No DNSSEC variant. */
    n = dr_redis_encode(v, sizeof(v), NOW + 300, DR_VS_NONE, 0, p.b, p.len, NULL, 0);
    ASSERT_EQ(dr_redis_decode(v, (size_t)n, &r, &out, &why), 0);
    ASSERT_NULL(out.dnssec);
    ASSERT_EQ(dr_redis_encode(v, 20, NOW, 0, 0, p.b, p.len, NULL, 0), -ENOSPC);
}

/* Every way the header can lie is refused, with a reason. */
static void
test_decode_refuses(void)
{
    struct pkt p = reply_a("a.example.", 300);
    uint8_t v[1024], bad[1024];
    int n = dr_redis_encode(v, sizeof(v), NOW + 300, DR_VS_INSECURE, 0, p.b, p.len, NULL, 0);
    struct dr_redis_rules r = rules(true, true);
    struct dr_redis_value out;
    const char *why = NULL;
    for (size_t len = 0; len < (size_t)n; len++) {
        ASSERT_EQ(dr_redis_decode(v, len, &r, &out, &why), -EBADMSG);
        ASSERT_NOT_NULL(why);
    }
    struct {
        size_t off;
        uint8_t byte;
        const char *why;
    } cases[] = {
        {0, 2, "version"}, {0, 0, "version"}, {1, DR_CACHE_SEC_MAX + 1, "range"},
        {2, 200, "range"}, {3, 1, "flags"},   {12, 0xff, "sizes"},
        {15, 1, "sizes"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memcpy(bad, v, (size_t)n);
        bad[cases[i].off] = cases[i].byte;
        why = NULL;
        ASSERT_EQ(dr_redis_decode(bad, (size_t)n, &r, &out, &why), -EBADMSG);
        ASSERT_STR_CONTAINS(why, cases[i].why);
    }
    /* A value one byte longer than its sizes say. */
    memcpy(bad, v, (size_t)n);
    ASSERT_EQ(dr_redis_decode(bad, (size_t)n + 1, &r, &out, &why), -EBADMSG);
    /* Expiry: now or past, beyond cache-max-ttl, and the top bit set (negative). */
    int64_t expiries[] = {NOW, NOW - 1, NOW + 86401, INT64_MAX};
    const char *whys[] = {"expired", "expired", "cache-max-ttl", "cache-max-ttl"};
    for (size_t i = 0; i < 4; i++) {
        int m = dr_redis_encode(bad, sizeof(bad), expiries[i], 0, 0, p.b, p.len, NULL, 0);
        ASSERT_EQ(dr_redis_decode(bad, (size_t)m, &r, &out, &why), -EBADMSG);
        ASSERT_STR_CONTAINS(why, whys[i]);
    }
    memcpy(bad, v, (size_t)n);
    bad[4] = 0x80; /* expiry as int64 is negative */
    ASSERT_EQ(dr_redis_decode(bad, (size_t)n, &r, &out, &why), -EBADMSG);
    ASSERT_EQ(dr_redis_decode(v, (size_t)n, &r, &out, &why), 0);
}

static int
admit(struct dr_cache *c, const char *qname, const uint8_t *v, size_t len,
      const struct dr_redis_rules *r, const char **why)
{
    return dr_redis_admit(c, wire(qname), DR_TYPE_A, DR_CLASS_IN, v, len, r, why);
}

static struct dr_msg_query
query(const char *name)
{
    struct dr_msg_query q;
    memset(&q, 0, sizeof(q));
    const uint8_t *w = wire(name);
    q.qname_len = (uint8_t)dr_dname_len(w);
    memcpy(q.qname, w, q.qname_len);
    q.qtype = DR_TYPE_A;
    q.qclass = DR_CLASS_IN;
    return q;
}

/* What the local cache holds after admitting: lifetime capped at the value's expiry, the
 * status the local rules give. */
static void
test_admit(void)
{
    struct dr_cache *c = dr_cache_new(1 << 20, 1, &policy);
    ASSERT_NOT_NULL(c);
    struct pkt p = reply_a("a.example.", 3000);
    uint8_t v[1024];
    int n = dr_redis_encode(v, sizeof(v), NOW + 60, DR_VS_SECURE, 0, p.b, p.len, NULL, 0);
    struct dr_redis_rules r = rules(true, true);
    const char *why = NULL;
    ASSERT_EQ(admit(c, "a.example.", v, (size_t)n, &r, &why), 0);
    struct dr_msg_query q = query("a.example.");
    uint8_t out[512];
    struct dr_cache_sec cs = {0};
    int m = dr_cache_answer_sec(c, &q, NOW, out, sizeof(out), NULL, true, &cs);
    ASSERT_GT(m, 0);
    ASSERT_EQ(cs.status, DR_VS_SECURE);
    /* The TTL given out is the value's remaining life, not the record's 3000. */
    ASSERT_LE(dr_redis_min_ttl(out, (size_t)m), 60);
    ASSERT_EQ(dr_cache_answer_sec(c, &q, NOW + 61, out, sizeof(out), NULL, true, &cs), 0);

    /* The wrong question inside: refused by the local cache's own check. */
    struct pkt other = reply_a("b.example.", 300);
    n = dr_redis_encode(v, sizeof(v), NOW + 60, DR_VS_INSECURE, 0, other.b, other.len, NULL, 0);
    ASSERT_EQ(admit(c, "c.example.", v, (size_t)n, &r, &why), -EBADMSG);
    ASSERT_STR_CONTAINS(why, "question");
    /* A plain message that does not parse. */
    struct pkt cut = reply_a("c.example.", 300);
    n = dr_redis_encode(v, sizeof(v), NOW + 60, DR_VS_INSECURE, 0, cut.b, cut.len - 3, NULL, 0);
    ASSERT_LT(admit(c, "c.example.", v, (size_t)n, &r, &why), 0);
    struct dr_msg_query qc = query("c.example.");
    ASSERT_EQ(dr_cache_answer_sec(c, &qc, NOW, out, sizeof(out), NULL, false, &cs), 0);

    /* Status: dnssec = yes refuses NONE and BOGUS, and SECURE without trust anchors. */
    struct pkt d = reply_a("d.example.", 300);
    uint8_t bad_status[] = {DR_VS_NONE, DR_VS_BOGUS};
    for (size_t i = 0; i < 2; i++) {
        n = dr_redis_encode(v, sizeof(v), NOW + 60, bad_status[i], 0, d.b, d.len, NULL, 0);
        ASSERT_EQ(admit(c, "d.example.", v, (size_t)n, &r, &why), -EBADMSG);
        ASSERT_STR_CONTAINS(why, "status");
    }
    struct dr_redis_rules noanchor = rules(true, false);
    n = dr_redis_encode(v, sizeof(v), NOW + 60, DR_VS_SECURE, 0, d.b, d.len, NULL, 0);
    ASSERT_EQ(admit(c, "d.example.", v, (size_t)n, &noanchor, &why), -EBADMSG);
    n = dr_redis_encode(v, sizeof(v), NOW + 60, DR_VS_INSECURE, 0, d.b, d.len, NULL, 0);
    ASSERT_EQ(admit(c, "d.example.", v, (size_t)n, &noanchor, &why), 0);
    /* dnssec = no: a SECURE claim is stored as NONE. */
    struct pkt e = reply_a("e.example.", 300);
    struct dr_redis_rules off = rules(false, false);
    n = dr_redis_encode(v, sizeof(v), NOW + 60, DR_VS_SECURE, 0, e.b, e.len, NULL, 0);
    ASSERT_EQ(admit(c, "e.example.", v, (size_t)n, &off, &why), 0);
    struct dr_msg_query qe = query("e.example.");
    cs.status = 99;
    ASSERT_GT(dr_cache_answer_sec(c, &qe, NOW, out, sizeof(out), NULL, false, &cs), 0);
    ASSERT_EQ(cs.status, DR_VS_NONE);
    dr_cache_free(c);
}

static void
test_min_ttl(void)
{
    struct pkt p = reply_a("a.example.", 77);
    ASSERT_EQ(dr_redis_min_ttl(p.b, p.len), 77);
    ASSERT_EQ(dr_redis_min_ttl(p.b, p.len - 1), 0);
    dr_put16(p.b + 6, 0); /* no records */
    ASSERT_EQ(dr_redis_min_ttl(p.b, p.len - 16), 0);
}

int
main(void)
{
    TEST_RUN(test_key);
    TEST_RUN(test_round_trip);
    TEST_RUN(test_decode_refuses);
    TEST_RUN(test_admit);
    TEST_RUN(test_min_ttl);
    return 0;
}
