/* Unit tests for resolver/msg.c. */
#include "resolver/msg.h"

#include <errno.h>

#include "test.h"

/* What `dig example.com A` (BIND 9.18) sends: RD and AD set, EDNS 1232 with a cookie. */
static const uint8_t dig_query[] = {
    0x4b, 0x1d, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x07,
    'e',  'x',  'a',  'm',  'p',  'l',  'e',  0x03, 'c',  'o',  'm',  0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x0c, 0x00, 0x0a, 0x00, 0x08, 0x9a, 0x3c, 0x51, 0x7e, 0x02, 0xd4, 0x6c, 0x11,
};
/* And `dig +noedns example.com A`. */
static const uint8_t dig_query_noedns[] = {
    0x8f, 0x02, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 'e',  'x',
    'a',  'm',  'p',  'l',  'e',  0x03, 'c',  'o',  'm',  0x00, 0x00, 0x01, 0x00, 0x01,
};

/* A message under construction. */
struct pkt {
    uint8_t b[4096];
    size_t n;
};

static void
put8(struct pkt *p, uint8_t v)
{
    ASSERT_LT(p->n, sizeof(p->b));
    p->b[p->n++] = v;
}

static void
put16(struct pkt *p, uint16_t v)
{
    put8(p, (uint8_t)(v >> 8));
    put8(p, (uint8_t)v);
}

static void
put32(struct pkt *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p, (uint16_t)v);
}

static void
put_bytes(struct pkt *p, const void *data, size_t n)
{
    ASSERT_LE(p->n + n, sizeof(p->b));
    if (n == 0)
        return; /* data may be NULL */
    memcpy(p->b + p->n, data, n);
    p->n += n;
}

static void
put_name(struct pkt *p, const char *text)
{
    uint8_t w[DR_NAME_MAX];
    int n = dr_dname_from_str(text, w);
    ASSERT_GT(n, 0);
    put_bytes(p, w, (size_t)n);
}

static void
put_header(struct pkt *p, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns,
           uint16_t ar)
{
    p->n = 0;
    put16(p, id);
    put16(p, flags);
    put16(p, qd);
    put16(p, an);
    put16(p, ns);
    put16(p, ar);
}

static void
put_question(struct pkt *p, const char *name, uint16_t type, uint16_t rclass)
{
    put_name(p, name);
    put16(p, type);
    put16(p, rclass);
}

/* The rest of an RR after its owner name. */
static void
put_rr(struct pkt *p, uint16_t type, uint16_t rclass, uint32_t ttl, const void *rdata,
       uint16_t rdlen)
{
    put16(p, type);
    put16(p, rclass);
    put32(p, ttl);
    put16(p, rdlen);
    put_bytes(p, rdata, rdlen);
}

/* An OPT record owned by the root; ttl packs extended rcode, version and flags. */
static void
put_opt(struct pkt *p, uint16_t udp, uint32_t ttl, const void *rdata, uint16_t rdlen)
{
    put8(p, 0);
    put_rr(p, DR_TYPE_OPT, udp, ttl, rdata, rdlen);
}

/* A standard query for example.com/A with EDNS (udp, DO) and ARCOUNT 1. */
static void
build_query(struct pkt *p, uint16_t udp, bool do_bit)
{
    put_header(p, 0x1234, DR_FLAG_RD, 1, 0, 0, 1);
    put_question(p, "example.com.", DR_TYPE_A, DR_CLASS_IN);
    put_opt(p, udp, do_bit ? 0x8000 : 0, NULL, 0);
}

/* Parses from an exactly sized heap copy, so ASan sees any read past the end. */
static enum dr_msg_verdict
parse(const uint8_t *data, size_t len, struct dr_msg_query *q)
{
    uint8_t *copy = malloc(len ? len : 1);
    ASSERT_NOT_NULL(copy);
    memcpy(copy, data, len);
    enum dr_msg_verdict v = dr_msg_parse_query(copy, len, q);
    free(copy);
    return v;
}

static void
expect(const struct pkt *p, enum dr_msg_verdict want, struct dr_msg_query *q)
{
    ASSERT_EQ(parse(p->b, p->n, q), want);
}

static void
test_dig_query_with_edns(void)
{
    struct dr_msg_query q;
    ASSERT_EQ(parse(dig_query, sizeof(dig_query), &q), DR_MSG_OK);
    ASSERT_EQ(q.id, 0x4b1d);
    ASSERT_EQ(q.flags, 0x0120);
    ASSERT_EQ(q.qtype, DR_TYPE_A);
    ASSERT_EQ(q.qclass, DR_CLASS_IN);
    ASSERT_EQ(q.qname_len, 13);
    ASSERT(memcmp(q.qname, dig_query + 12, 13) == 0);
    ASSERT_EQ(q.question_end, 29);
    ASSERT(q.edns);
    ASSERT_EQ(q.edns_version, 0);
    ASSERT(!q.do_bit);
    ASSERT_EQ(q.udp_size, 1232);
}

static void
test_dig_query_without_edns(void)
{
    struct dr_msg_query q;
    ASSERT_EQ(parse(dig_query_noedns, sizeof(dig_query_noedns), &q), DR_MSG_OK);
    ASSERT_EQ(q.id, 0x8f02);
    ASSERT_EQ(q.qname_len, 13);
    ASSERT_EQ(q.question_end, sizeof(dig_query_noedns));
    ASSERT(!q.edns);
    ASSERT(!q.do_bit);
    ASSERT_EQ(q.udp_size, 512);
}

static void
test_edns_fields(void)
{
    struct pkt p;
    struct dr_msg_query q;
    build_query(&p, 100, true); /* below 512 counts as 512 */
    expect(&p, DR_MSG_OK, &q);
    ASSERT(q.edns);
    ASSERT(q.do_bit);
    ASSERT_EQ(q.udp_size, 512);
    build_query(&p, 4096, false);
    expect(&p, DR_MSG_OK, &q);
    ASSERT(!q.do_bit);
    ASSERT_EQ(q.udp_size, 4096);
    /* Other Z bits are not DO; a non-zero extended rcode in a query is ignored. */
    put_header(&p, 1, 0, 1, 0, 0, 1);
    put_question(&p, "example.", DR_TYPE_A, DR_CLASS_IN);
    put_opt(&p, 1232, 0x05007fff, NULL, 0);
    expect(&p, DR_MSG_OK, &q);
    ASSERT(!q.do_bit);
    /* Several well-formed options. */
    const uint8_t opts[] = {0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 12, 0, 0, 0, 8, 0, 2, 0, 1};
    put_header(&p, 1, 0, 1, 0, 0, 1);
    put_question(&p, "example.", DR_TYPE_A, DR_CLASS_IN);
    put_opt(&p, 1232, 0, opts, sizeof(opts));
    expect(&p, DR_MSG_OK, &q);
}

static void
test_short_and_responses_dropped(void)
{
    struct dr_msg_query q;
    for (size_t len = 0; len < DR_HEADER_LEN; len++)
        ASSERT_EQ(parse(dig_query, len, &q), DR_MSG_DROP);
    struct pkt p;
    build_query(&p, 1232, false);
    p.b[2] |= 0x80; /* QR */
    expect(&p, DR_MSG_DROP, &q);
    ASSERT_EQ(q.id, 0x1234);
}

static void
test_opcode_notimp(void)
{
    struct pkt p;
    struct dr_msg_query q;
    /* STATUS (2): the question is still read so the reply can echo it. */
    put_header(&p, 7, 2 << 11 | DR_FLAG_RD, 1, 0, 0, 0);
    put_question(&p, "example.", DR_TYPE_A, DR_CLASS_IN);
    expect(&p, DR_MSG_NOTIMP, &q);
    ASSERT_EQ(q.id, 7);
    ASSERT_EQ(DR_OPCODE(q.flags), 2);
    ASSERT_EQ(q.qname_len, 9);
    /* UPDATE (5) with prerequisite and update records plus EDNS: NOTIMP carrying EDNS. */
    put_header(&p, 8, 5 << 11, 1, 1, 1, 1);
    put_question(&p, "example.", DR_TYPE_SOA, DR_CLASS_IN);
    for (int i = 0; i < 2; i++) {
        put16(&p, 0xc00c);
        put_rr(&p, DR_TYPE_A, DR_CLASS_IN, 0, "\xc0\0\2\1", 4);
    }
    put_opt(&p, 1400, 0x8000, NULL, 0);
    expect(&p, DR_MSG_NOTIMP, &q);
    ASSERT(q.edns);
    ASSERT(q.do_bit);
    ASSERT_EQ(q.udp_size, 1400);
    /* NOTIFY (4) without a question: NOTIMP, nothing to echo. */
    put_header(&p, 9, 4 << 11, 0, 0, 0, 0);
    expect(&p, DR_MSG_NOTIMP, &q);
    ASSERT_EQ(q.qname_len, 0);
    /* Opcode 2 with garbage after the header: still NOTIMP, not FORMERR. */
    put_header(&p, 9, 2 << 11, 1, 0, 0, 0);
    put8(&p, 0x80);
    expect(&p, DR_MSG_NOTIMP, &q);
    ASSERT_EQ(q.qname_len, 0);
}

static void
test_section_counts(void)
{
    struct pkt p;
    struct dr_msg_query q;
    put_header(&p, 1, 0, 0, 0, 0, 0);
    expect(&p, DR_MSG_FORMERR, &q);
    ASSERT_EQ(q.qname_len, 0);
    ASSERT_EQ(q.id, 1);
    put_header(&p, 1, 0, 2, 0, 0, 0);
    put_question(&p, "a.", DR_TYPE_A, DR_CLASS_IN);
    put_question(&p, "b.", DR_TYPE_A, DR_CLASS_IN);
    expect(&p, DR_MSG_FORMERR, &q);
    ASSERT_EQ(q.qname_len, 0);
    /* An OPT in the answer section: ANCOUNT != 0 is enough. */
    put_header(&p, 1, 0, 1, 1, 0, 0);
    put_question(&p, "example.", DR_TYPE_A, DR_CLASS_IN);
    put_opt(&p, 1232, 0, NULL, 0);
    expect(&p, DR_MSG_FORMERR, &q);
    ASSERT(!q.edns);
    ASSERT_EQ(q.qname_len, 9); /* the question parsed and can be echoed */
    /* An authority record. */
    put_header(&p, 1, 0, 1, 0, 1, 0);
    put_question(&p, "example.", DR_TYPE_A, DR_CLASS_IN);
    put_opt(&p, 1232, 0, NULL, 0);
    expect(&p, DR_MSG_FORMERR, &q);
    /* ARCOUNT promising a record that is not there. */
    put_header(&p, 1, 0, 1, 0, 0, 2);
    put_question(&p, "example.", DR_TYPE_A, DR_CLASS_IN);
    put_opt(&p, 1232, 0, NULL, 0);
    expect(&p, DR_MSG_FORMERR, &q);
    /* TC in a query (Unbound refuses it too), even ahead of an unknown opcode. */
    build_query(&p, 1232, false);
    p.b[2] |= DR_FLAG_TC >> 8;
    expect(&p, DR_MSG_FORMERR, &q);
    ASSERT_EQ(q.qname_len, 13);
    ASSERT(q.edns); /* the rest parsed, so the reply can carry EDNS */
    p.b[2] |= 2 << 3;
    expect(&p, DR_MSG_FORMERR, &q);
}

static void
test_question_errors(void)
{
    struct pkt p;
    struct dr_msg_query q;
    /* Compressed: "www" then a pointer to offset 0, where the ID's high byte 0 is a root. */
    put_header(&p, 0x0001, 0, 1, 0, 0, 0);
    put_bytes(&p, "\3www\xc0\x00", 6);
    put16(&p, DR_TYPE_A);
    put16(&p, DR_CLASS_IN);
    expect(&p, DR_MSG_FORMERR, &q);
    ASSERT_EQ(q.qname_len, 0);
    /* A bare pointer to that root. */
    put_header(&p, 0x0001, 0, 1, 0, 0, 0);
    put_bytes(&p, "\xc0\x00", 2);
    put16(&p, DR_TYPE_A);
    put16(&p, DR_CLASS_IN);
    expect(&p, DR_MSG_FORMERR, &q);
    /* A pointer to itself. */
    put_header(&p, 1, 0, 1, 0, 0, 0);
    put_bytes(&p, "\xc0\x0c\x00\x01\x00\x01", 6);
    expect(&p, DR_MSG_FORMERR, &q);
    /* Label types 0x40 and 0x80. */
    put_header(&p, 1, 0, 1, 0, 0, 0);
    put8(&p, 64);
    for (int i = 0; i < 64; i++)
        put8(&p, 'a');
    put8(&p, 0);
    put16(&p, DR_TYPE_A);
    put16(&p, DR_CLASS_IN);
    expect(&p, DR_MSG_FORMERR, &q);
    put_header(&p, 1, 0, 1, 0, 0, 0);
    put_bytes(&p, "\x81\0\0\1\0\1", 6);
    expect(&p, DR_MSG_FORMERR, &q);
    /* Truncated anywhere in the question. */
    struct pkt full;
    put_header(&full, 1, 0, 1, 0, 0, 0);
    put_question(&full, "www.example.", DR_TYPE_A, DR_CLASS_IN);
    for (size_t len = DR_HEADER_LEN; len < full.n; len++) {
        ASSERT_EQ(parse(full.b, len, &q), DR_MSG_FORMERR);
        ASSERT_EQ(q.qname_len, 0);
    }
    ASSERT_EQ(parse(full.b, full.n, &q), DR_MSG_OK);
}

static void
test_opt_errors(void)
{
    struct pkt p, full;
    struct dr_msg_query q;
    /* Two OPTs. */
    put_header(&p, 1, 0, 1, 0, 0, 2);
    put_question(&p, "example.", DR_TYPE_A, DR_CLASS_IN);
    put_opt(&p, 1232, 0, NULL, 0);
    put_opt(&p, 1232, 0, NULL, 0);
    expect(&p, DR_MSG_FORMERR, &q);
    ASSERT(!q.edns); /* an OPT we rejected does not shape the reply */
    /* Owned by "a." rather than the root, and by a pointer to the root. */
    for (int ptr = 0; ptr < 2; ptr++) {
        put_header(&p, 0, 0, 1, 0, 0, 1);
        put_question(&p, "example.", DR_TYPE_A, DR_CLASS_IN);
        put_bytes(&p, ptr ? "\xc0\x00" : "\1a\0", ptr ? 2 : 3);
        put_rr(&p, DR_TYPE_OPT, 1232, 0, NULL, 0);
        expect(&p, DR_MSG_FORMERR, &q);
    }
    /* Truncated anywhere in the OPT, including its rdata. */
    const uint8_t opts[] = {0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8};
    put_header(&full, 1, 0, 1, 0, 0, 1);
    put_question(&full, "example.", DR_TYPE_A, DR_CLASS_IN);
    size_t qend = full.n;
    put_opt(&full, 1232, 0, opts, sizeof(opts));
    for (size_t len = qend; len < full.n; len++)
        ASSERT_EQ(parse(full.b, len, &q), DR_MSG_FORMERR);
    ASSERT_EQ(parse(full.b, full.n, &q), DR_MSG_OK);
    /* Options that do not tile the rdata: a partial option header, an overlong option. */
    const uint8_t partial[] = {0, 10, 0};
    const uint8_t overlong[] = {0, 10, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8};
    put_header(&p, 1, 0, 1, 0, 0, 1);
    put_question(&p, "example.", DR_TYPE_A, DR_CLASS_IN);
    put_opt(&p, 1232, 0, partial, sizeof(partial));
    expect(&p, DR_MSG_FORMERR, &q);
    put_header(&p, 1, 0, 1, 0, 0, 1);
    put_question(&p, "example.", DR_TYPE_A, DR_CLASS_IN);
    put_opt(&p, 1232, 0, overlong, sizeof(overlong));
    expect(&p, DR_MSG_FORMERR, &q);
}

static void
test_trailing_garbage(void)
{
    struct pkt p;
    struct dr_msg_query q;
    put_header(&p, 1, 0, 1, 0, 0, 0);
    put_question(&p, "example.", DR_TYPE_A, DR_CLASS_IN);
    put8(&p, 0);
    expect(&p, DR_MSG_FORMERR, &q);
    ASSERT_EQ(q.qname_len, 9);
    build_query(&p, 1232, false);
    put16(&p, 0xdead);
    expect(&p, DR_MSG_FORMERR, &q);
}

static void
test_other_additional_records_skipped(void)
{
    struct pkt p;
    struct dr_msg_query q;
    /* A TSIG after the OPT: framing checked, content ignored. */
    put_header(&p, 1, 0, 1, 0, 0, 2);
    put_question(&p, "example.", DR_TYPE_A, DR_CLASS_IN);
    put_opt(&p, 1232, 0, NULL, 0);
    size_t tsig = p.n;
    put_name(&p, "key.example.");
    put_rr(&p, 250, DR_CLASS_ANY, 0, "\1\2\3\4\5", 5);
    expect(&p, DR_MSG_OK, &q);
    ASSERT(q.edns);
    /* Its rdata running past the end. */
    p.b[p.n - 6] = 6;
    expect(&p, DR_MSG_FORMERR, &q);
    /* An owner that points forward. */
    p.b[p.n - 6] = 5;
    p.b[tsig] = 0xc0;
    p.b[tsig + 1] = 0xff;
    expect(&p, DR_MSG_FORMERR, &q);
}

static void
test_badvers(void)
{
    struct pkt p;
    struct dr_msg_query q;
    put_header(&p, 0x4242, DR_FLAG_RD | DR_FLAG_CD, 1, 0, 0, 1);
    put_question(&p, "example.", DR_TYPE_A, DR_CLASS_IN);
    /* Version 1; its options are not version 0's business, so junk there is no FORMERR. */
    put_opt(&p, 4096, 0x00018000, "\1", 1);
    expect(&p, DR_MSG_BADVERS, &q);
    ASSERT(q.edns);
    ASSERT_EQ(q.edns_version, 1);
    ASSERT(q.do_bit);

    uint8_t out[512];
    int n = dr_msg_reply_empty(&q, DR_RCODE_BADVERS, 1232, out, sizeof(out));
    ASSERT_EQ(n, DR_HEADER_LEN + 9 + 4 + DR_OPT_LEN);
    ASSERT_EQ(dr_get16(out), 0x4242);
    uint16_t flags = dr_get16(out + 2);
    ASSERT_EQ(DR_RCODE(flags), 0); /* 16 = extended 1, header 0 */
    ASSERT_EQ(flags, DR_FLAG_QR | DR_FLAG_RA | DR_FLAG_RD | DR_FLAG_CD);
    ASSERT_EQ(dr_get16(out + 10), 1);
    const uint8_t *opt = out + n - DR_OPT_LEN;
    ASSERT_EQ(opt[0], 0);
    ASSERT_EQ(dr_get16(opt + 1), DR_TYPE_OPT);
    ASSERT_EQ(dr_get16(opt + 3), 1232);
    ASSERT_EQ(opt[5], 1); /* extended rcode */
    ASSERT_EQ(opt[6], 0); /* version 0 */
    ASSERT_EQ(dr_get16(opt + 7), 0x8000);
    ASSERT_EQ(dr_get16(opt + 9), 0);
}

static void
test_refused_and_meta_types(void)
{
    struct pkt p;
    struct dr_msg_query q;
    static const uint16_t refused[][2] = {
        {DR_TYPE_AXFR, DR_CLASS_IN},
        {DR_TYPE_IXFR, DR_CLASS_IN},
        {DR_TYPE_A, DR_CLASS_ANY},
        {DR_TYPE_A, 254},
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        put_header(&p, 1, 0, 1, 0, 0, 0);
        put_question(&p, "example.", refused[i][0], refused[i][1]);
        expect(&p, DR_MSG_REFUSED_TYPE, &q);
        ASSERT_EQ(q.qtype, refused[i][0]);
        ASSERT_EQ(q.qname_len, 9);
    }
    static const uint16_t meta[] = {DR_TYPE_OPT, 128, 200, 248, 249, 250, 253, 254};
    for (size_t i = 0; i < sizeof(meta) / sizeof(meta[0]); i++) {
        put_header(&p, 1, 0, 1, 0, 0, 0);
        put_question(&p, "example.", meta[i], DR_CLASS_IN);
        expect(&p, DR_MSG_FORMERR, &q);
    }
    static const uint16_t fine[] = {DR_TYPE_ANY, DR_TYPE_DS, 127, 256, 65535};
    for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
        put_header(&p, 1, 0, 1, 0, 0, 0);
        put_question(&p, "example.", fine[i], DR_CLASS_IN);
        expect(&p, DR_MSG_OK, &q);
    }
}

static void
test_reply_empty(void)
{
    struct dr_msg_query q;
    uint8_t out[512];
    /* NOERROR with EDNS: header, question as sent, OPT with our size. */
    ASSERT_EQ(parse(dig_query, sizeof(dig_query), &q), DR_MSG_OK);
    int n = dr_msg_reply_empty(&q, DR_RCODE_SERVFAIL, 1232, out, sizeof(out));
    ASSERT_EQ(n, 29 + DR_OPT_LEN);
    static const uint8_t want[] = {0x4b, 0x1d, 0x81, 0x82, 0, 1, 0, 0, 0, 0, 0, 1};
    ASSERT(memcmp(out, want, sizeof(want)) == 0); /* RD copied, RA set, AD not copied */
    ASSERT(memcmp(out + 12, dig_query + 12, 17) == 0);
    ASSERT(memcmp(out + 29, "\0\0\x29\x04\xd0\0\0\0\0\0\0", DR_OPT_LEN) == 0);
    ASSERT_EQ(dr_msg_walk(out, (size_t)n, NULL, NULL), 0);
    for (size_t cap = 0; cap < (size_t)n; cap++)
        ASSERT_EQ(dr_msg_reply_empty(&q, 0, 1232, out, cap), -ENOSPC);

    /* Without EDNS: no OPT, ARCOUNT 0. */
    ASSERT_EQ(parse(dig_query_noedns, sizeof(dig_query_noedns), &q), DR_MSG_OK);
    n = dr_msg_reply_empty(&q, DR_RCODE_REFUSED, 1232, out, sizeof(out));
    ASSERT_EQ(n, 29);
    ASSERT_EQ(dr_get16(out + 2), 0x8185);
    ASSERT_EQ(dr_get16(out + 10), 0);

    /* FORMERR for a question that did not parse: header only. */
    struct pkt p;
    put_header(&p, 0xabcd, DR_FLAG_RD, 0, 0, 0, 0);
    expect(&p, DR_MSG_FORMERR, &q);
    n = dr_msg_reply_empty(&q, DR_RCODE_FORMERR, 1232, out, sizeof(out));
    ASSERT_EQ(n, DR_HEADER_LEN);
    static const uint8_t formerr[] = {0xab, 0xcd, 0x81, 0x81, 0, 0, 0, 0, 0, 0, 0, 0};
    ASSERT(memcmp(out, formerr, sizeof(formerr)) == 0);

    /* NOTIMP keeps the opcode. */
    put_header(&p, 3, 2 << 11, 1, 0, 0, 0);
    put_question(&p, "example.", DR_TYPE_A, DR_CLASS_IN);
    expect(&p, DR_MSG_NOTIMP, &q);
    n = dr_msg_reply_empty(&q, DR_RCODE_NOTIMP, 1232, out, sizeof(out));
    ASSERT_EQ(n, DR_HEADER_LEN + 13);
    ASSERT_EQ(dr_get16(out + 2), DR_FLAG_QR | 2 << 11 | DR_FLAG_RA | DR_RCODE_NOTIMP);
    ASSERT_EQ(dr_get16(out + 4), 1);
}

/* A reply for q's question with count A records owned by a pointer to the question. */
static void
build_answer(struct pkt *p, const struct dr_msg_query *q, unsigned count)
{
    put_header(p, q->id, DR_FLAG_QR | DR_FLAG_RA | DR_FLAG_RD, 1, (uint16_t)count, 0, 0);
    put_bytes(p, q->qname, q->qname_len);
    put16(p, q->qtype);
    put16(p, q->qclass);
    for (unsigned i = 0; i < count; i++) {
        uint8_t addr[4] = {192, 0, 2, (uint8_t)i};
        put16(p, 0xc00c);
        put_rr(p, DR_TYPE_A, DR_CLASS_IN, 300, addr, 4);
    }
}

static int
count_rr(void *arg, int section, size_t owner_off, uint16_t type, uint16_t rclass, size_t ttl_off,
         size_t rdata_off, uint16_t rdlen)
{
    int *counts = arg;
    counts[section]++;
    return 0;
}

static void
test_fit(void)
{
    struct dr_msg_query q;
    struct pkt p;
    uint8_t out[4096];
    int counts[3];

    /* Small, with EDNS: an OPT is appended and ARCOUNT counts it. */
    ASSERT_EQ(parse(dig_query, sizeof(dig_query), &q), DR_MSG_OK);
    build_answer(&p, &q, 2);
    memcpy(out, p.b, p.n);
    int n = dr_msg_fit(&q, out, p.n, sizeof(out), q.udp_size, 1232);
    ASSERT_EQ(n, (int)(p.n + DR_OPT_LEN));
    ASSERT_EQ(dr_get16(out + 10), 1);
    ASSERT(!(dr_get16(out + 2) & DR_FLAG_TC));
    memset(counts, 0, sizeof(counts));
    ASSERT_EQ(dr_msg_walk(out, (size_t)n, count_rr, counts), 0);
    ASSERT(counts[0] == 2 && counts[1] == 0 && counts[2] == 1);
    /* Exactly at the limit still fits; one byte less does not. */
    memcpy(out, p.b, p.n);
    ASSERT_EQ(dr_msg_fit(&q, out, p.n, sizeof(out), p.n + DR_OPT_LEN, 1232), n);
    memcpy(out, p.b, p.n);
    ASSERT_EQ(dr_msg_fit(&q, out, p.n, sizeof(out), p.n + DR_OPT_LEN - 1, 1232), 29 + DR_OPT_LEN);
    /* No room in the buffer for the OPT. */
    memcpy(out, p.b, p.n);
    ASSERT_EQ(dr_msg_fit(&q, out, p.n, p.n + DR_OPT_LEN - 1, 65535, 1232), -ENOSPC);

    /* 2000 bytes for a 1232-byte client: header, question, OPT and TC. */
    build_answer(&p, &q, (2000 - 29) / 16 + 1);
    ASSERT_GE(p.n, 2000);
    memcpy(out, p.b, p.n);
    n = dr_msg_fit(&q, out, p.n, sizeof(out), q.udp_size, 1232);
    ASSERT_EQ(n, 29 + DR_OPT_LEN);
    ASSERT(dr_get16(out + 2) & DR_FLAG_TC);
    ASSERT_EQ(dr_get16(out + 4), 1);
    ASSERT_EQ(dr_get16(out + 6), 0);
    ASSERT_EQ(dr_get16(out + 8), 0);
    ASSERT_EQ(dr_get16(out + 10), 1);
    ASSERT(memcmp(out + 12, dig_query + 12, 17) == 0);
    memset(counts, 0, sizeof(counts));
    ASSERT_EQ(dr_msg_walk(out, (size_t)n, count_rr, counts), 0);
    ASSERT(counts[0] == 0 && counts[2] == 1);
    /* The same over TCP fits whole. */
    memcpy(out, p.b, p.n);
    n = dr_msg_fit(&q, out, p.n, sizeof(out), 65535, 1232);
    ASSERT_EQ(n, (int)(p.n + DR_OPT_LEN));
    ASSERT(!(dr_get16(out + 2) & DR_FLAG_TC));

    /* Without EDNS the limit is 512 and nothing is appended. */
    ASSERT_EQ(parse(dig_query_noedns, sizeof(dig_query_noedns), &q), DR_MSG_OK);
    build_answer(&p, &q, 30); /* 29 + 480 = 509 bytes */
    memcpy(out, p.b, p.n);
    ASSERT_EQ(dr_msg_fit(&q, out, p.n, sizeof(out), q.udp_size, 1232), (int)p.n);
    build_answer(&p, &q, 31);
    memcpy(out, p.b, p.n);
    n = dr_msg_fit(&q, out, p.n, sizeof(out), q.udp_size, 1232);
    ASSERT_EQ(n, 29);
    ASSERT(dr_get16(out + 2) & DR_FLAG_TC);
    ASSERT_EQ(dr_get16(out + 10), 0);
    ASSERT_EQ(dr_msg_walk(out, (size_t)n, NULL, NULL), 0);
    ASSERT_EQ(dr_msg_fit(&q, out, 5, sizeof(out), 512, 1232), -EINVAL);
}

/*
 * A response exercising compression everywhere: www.example.com CNAME web.example.com,
 * web A, authority NS ns1.example.com, additional ns1 A and an OPT.
 */
static void
build_response(struct pkt *p)
{
    put_header(p, 0x5555, 0x8180, 1, 2, 1, 2);
    put_question(p, "www.example.com.", DR_TYPE_A, DR_CLASS_IN); /* example at 16 */
    put16(p, 0xc00c);
    put_rr(p, DR_TYPE_CNAME, DR_CLASS_IN, 3600, "\3web\xc0\x10", 6);
    put16(p, (uint16_t)(0xc000 | (p->n - 6)));
    put_rr(p, DR_TYPE_A, DR_CLASS_IN, 60, "\xc0\0\2\1", 4);
    put16(p, 0xc010);
    put_rr(p, DR_TYPE_NS, DR_CLASS_IN, 86400, "\3ns1\xc0\x10", 6);
    put16(p, (uint16_t)(0xc000 | (p->n - 6)));
    put_rr(p, DR_TYPE_A, DR_CLASS_IN, 86400, "\xc0\0\2\x35", 4);
    put_opt(p, 1232, 0, NULL, 0);
}

struct seen {
    int n;
    int section[8];
    uint16_t type[8];
    size_t ttl_off[8];
    int stop_at;
};

static int
record_rr(void *arg, int section, size_t owner_off, uint16_t type, uint16_t rclass, size_t ttl_off,
          size_t rdata_off, uint16_t rdlen)
{
    struct seen *s = arg;
    ASSERT_LT(s->n, 8);
    ASSERT_EQ(rdata_off, ttl_off + 6);
    s->section[s->n] = section;
    s->type[s->n] = type;
    s->ttl_off[s->n] = ttl_off;
    return ++s->n == s->stop_at ? 42 : 0;
}

static void
test_walk(void)
{
    struct pkt p;
    build_response(&p);
    struct seen s = {.n = 0};
    ASSERT_EQ(dr_msg_walk(p.b, p.n, record_rr, &s), 0);
    ASSERT_EQ(s.n, 5);
    static const int sections[] = {0, 0, 1, 2, 2};
    static const uint16_t types[] = {DR_TYPE_CNAME, DR_TYPE_A, DR_TYPE_NS, DR_TYPE_A, DR_TYPE_OPT};
    for (int i = 0; i < 5; i++) {
        ASSERT_EQ(s.section[i], sections[i]);
        ASSERT_EQ(s.type[i], types[i]);
    }
    ASSERT_EQ(dr_get32(p.b + s.ttl_off[0]), 3600);
    ASSERT_EQ(dr_get32(p.b + s.ttl_off[2]), 86400);

    /* The callback's non-zero value stops the walk and comes back. */
    struct seen stop = {.n = 0, .stop_at = 2};
    ASSERT_EQ(dr_msg_walk(p.b, p.n, record_rr, &stop), 42);
    ASSERT_EQ(stop.n, 2);

    /* Malformed: every truncation, a count too many or too few, trailing bytes, rdata past
     * the end. fn is never called for a message that fails. */
    for (size_t len = 0; len < p.n; len++) {
        struct seen none = {.n = 0};
        uint8_t *copy = malloc(len ? len : 1);
        memcpy(copy, p.b, len);
        ASSERT_EQ(dr_msg_walk(copy, len, record_rr, &none), -EBADMSG);
        ASSERT_EQ(none.n, 0);
        free(copy);
    }
    struct pkt bad = p;
    bad.b[7] = 3;
    ASSERT_EQ(dr_msg_walk(bad.b, bad.n, NULL, NULL), -EBADMSG);
    bad.b[7] = 1;
    ASSERT_EQ(dr_msg_walk(bad.b, bad.n, NULL, NULL), -EBADMSG);
    bad = p;
    put8(&bad, 0);
    ASSERT_EQ(dr_msg_walk(bad.b, bad.n, NULL, NULL), -EBADMSG);
    bad = p;
    bad.b[bad.n - 1] = 1; /* the OPT's RDLENGTH */
    ASSERT_EQ(dr_msg_walk(bad.b, bad.n, NULL, NULL), -EBADMSG);
    bad = p;
    bad.b[12 + 21 + 1] = 0x40; /* the CNAME owner's pointer becomes a forward one */
    ASSERT_EQ(dr_msg_walk(bad.b, bad.n, NULL, NULL), -EBADMSG);
}

/* xorshift64*: deterministic, so a failing iteration can be replayed. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t
rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

static int
check_rr(void *arg, int section, size_t owner_off, uint16_t type, uint16_t rclass, size_t ttl_off,
         size_t rdata_off, uint16_t rdlen)
{
    const struct pkt *p = arg;
    uint8_t name[DR_NAME_MAX];
    size_t off = owner_off;
    ASSERT(section >= 0 && section <= 2);
    ASSERT_GT(dr_dname_read(p->b, p->n, &off, name), 0);
    ASSERT_EQ(off + 4, ttl_off);
    ASSERT_LE(rdata_off + rdlen, p->n);
    return 0;
}

/* Runs every parser over one (possibly broken) message held in an exactly sized buffer. */
static void
check_message(const struct pkt *p)
{
    uint8_t *m = malloc(p->n ? p->n : 1);
    ASSERT_NOT_NULL(m);
    memcpy(m, p->b, p->n);

    struct dr_msg_query q;
    enum dr_msg_verdict v = dr_msg_parse_query(m, p->n, &q);
    ASSERT(v >= DR_MSG_OK && v <= DR_MSG_REFUSED_TYPE);
    if (v == DR_MSG_OK || v == DR_MSG_BADVERS || v == DR_MSG_REFUSED_TYPE) {
        ASSERT_GT(q.qname_len, 0);
        ASSERT_LE(q.question_end, p->n);
    }
    if (q.qname_len > 0)
        ASSERT_EQ(dr_dname_len(q.qname), q.qname_len);
    ASSERT_GE(q.udp_size, 512);
    if (v != DR_MSG_DROP) {
        uint8_t out[600];
        int n = dr_msg_reply_empty(&q, DR_RCODE_FORMERR, 1232, out, sizeof(out));
        ASSERT_GE(n, DR_HEADER_LEN);
        ASSERT_EQ(dr_msg_walk(out, (size_t)n, NULL, NULL), 0);
        struct dr_msg_query plain = q;
        plain.edns = false;
        n = dr_msg_reply_empty(&plain, 0, 1232, out, sizeof(out));
        ASSERT_GE(n, DR_HEADER_LEN);
        n = dr_msg_fit(&q, out, (size_t)n, sizeof(out), 12 + rng() % 300, 1232);
        ASSERT_GE(n, DR_HEADER_LEN);
        ASSERT_EQ(dr_msg_walk(out, (size_t)n, NULL, NULL), 0);
    }

    struct pkt view = *p;
    int r = dr_msg_walk(m, p->n, check_rr, &view);
    ASSERT(r == 0 || r == -EBADMSG);

    size_t offs[3] = {DR_HEADER_LEN, rng() % (p->n + 1), rng() % (p->n + 1)};
    for (int i = 0; i < 3; i++) {
        uint8_t name[DR_NAME_MAX], back[DR_NAME_MAX];
        char text[DR_NAME_STRLEN];
        size_t off = offs[i];
        int n = dr_dname_read(m, p->n, &off, name);
        ASSERT(n > 0 || n == -EBADMSG);
        if (n < 0)
            continue;
        ASSERT_LE(off, p->n);
        ASSERT_EQ(dr_dname_len(name), n);
        ASSERT_GT(dr_dname_to_str(name, text, sizeof(text)), 0);
        ASSERT_EQ(dr_dname_from_str(text, back), n);
        ASSERT(dr_dname_equal_case(name, back));
    }
    free(m);
}

static void
mutate(struct pkt *p)
{
    static const uint8_t interesting[] = {0x00, 0x01, 0x3f, 0x40, 0x80, 0xc0, 0xff, 0x29, 0x0c};
    int edits = 1 + (int)(rng() % 4);
    for (int e = 0; e < edits; e++) {
        uint32_t r = rng();
        size_t at = p->n ? r % p->n : 0;
        uint8_t byte =
            (r >> 16) & 1 ? interesting[(r >> 17) % sizeof(interesting)] : (uint8_t)(r >> 24);
        switch ((r >> 12) % 5) {
        case 0: /* flip a bit */
            if (p->n)
                p->b[at] ^= (uint8_t)(1u << ((r >> 8) % 8));
            break;
        case 1: /* overwrite a byte */
            if (p->n)
                p->b[at] = byte;
            break;
        case 2: /* insert a byte */
            if (p->n < sizeof(p->b)) {
                memmove(p->b + at + 1, p->b + at, p->n - at);
                p->b[at] = byte;
                p->n++;
            }
            break;
        case 3: /* delete a byte */
            if (p->n) {
                memmove(p->b + at, p->b + at + 1, p->n - at - 1);
                p->n--;
            }
            break;
        default: /* truncate */
            p->n = at;
            break;
        }
    }
}

static void
test_mutations_stay_in_bounds(void)
{
    struct pkt seeds[4];
    build_query(&seeds[0], 1232, true);
    seeds[1].n = sizeof(dig_query);
    memcpy(seeds[1].b, dig_query, sizeof(dig_query));
    build_response(&seeds[2]);
    seeds[2].b[2] &= 0x7f; /* a "query" with records, to reach deeper into the parser */
    build_response(&seeds[3]);
    for (int i = 0; i < 4; i++)
        check_message(&seeds[i]);
    struct dr_msg_query q;
    ASSERT_EQ(parse(seeds[0].b, seeds[0].n, &q), DR_MSG_OK);
    ASSERT_EQ(dr_msg_walk(seeds[3].b, seeds[3].n, NULL, NULL), 0);

    int verdicts[DR_MSG_REFUSED_TYPE + 1] = {0};
    for (int i = 0; i < 200000; i++) {
        struct pkt p = seeds[rng() % 4];
        mutate(&p);
        check_message(&p);
        verdicts[dr_msg_parse_query(p.b, p.n, &q)]++;
    }
    /* The mutations reach every verdict, not just the first check that fails. */
    for (int v = 0; v <= DR_MSG_REFUSED_TYPE; v++)
        ASSERT_GT(verdicts[v], 0);
}

int
main(void)
{
    TEST_RUN(test_dig_query_with_edns);
    TEST_RUN(test_dig_query_without_edns);
    TEST_RUN(test_edns_fields);
    TEST_RUN(test_short_and_responses_dropped);
    TEST_RUN(test_opcode_notimp);
    TEST_RUN(test_section_counts);
    TEST_RUN(test_question_errors);
    TEST_RUN(test_opt_errors);
    TEST_RUN(test_trailing_garbage);
    TEST_RUN(test_other_additional_records_skipped);
    TEST_RUN(test_badvers);
    TEST_RUN(test_refused_and_meta_types);
    TEST_RUN(test_reply_empty);
    TEST_RUN(test_fit);
    TEST_RUN(test_walk);
    TEST_RUN(test_mutations_stay_in_bounds);
    return 0;
}
