/* Unit tests for the reply matching of resolver/upstream.c: a reply is accepted only with
 * our ID, QR set, and exactly our question, letter case (DNS 0x20) included. */
#include "resolver/upstream.h"

#include "resolver/msg.h"
#include "test.h"

static size_t
make(uint8_t *out, uint16_t id, uint16_t flags, const char *qname_wire, size_t qlen,
     uint16_t qtype)
{
    memset(out, 0, DR_HEADER_LEN);
    dr_put16(out, id);
    dr_put16(out + 2, flags);
    dr_put16(out + 4, 1);
    memcpy(out + DR_HEADER_LEN, qname_wire, qlen);
    dr_put16(out + DR_HEADER_LEN + qlen, qtype);
    dr_put16(out + DR_HEADER_LEN + qlen + 2, 1);
    return DR_HEADER_LEN + qlen + 4;
}

static void
test_matching(void)
{
    static const char q0x20[] = "\3wWw\7ExAmPlE";
    uint8_t q[128], r[128];
    size_t ql = make(q, 0xbeef, 0, q0x20, sizeof(q0x20), DR_TYPE_A);
    size_t rl = make(r, 0xbeef, DR_FLAG_QR | DR_FLAG_AA, q0x20, sizeof(q0x20), DR_TYPE_A);
    ASSERT(dr_upstream_reply_matches(q, ql, r, rl));

    /* The case was not echoed: a spoofer who guessed ID and port still fails. */
    static const char lower[] = "\3www\7example";
    rl = make(r, 0xbeef, DR_FLAG_QR, lower, sizeof(lower), DR_TYPE_A);
    ASSERT(!dr_upstream_reply_matches(q, ql, r, rl));
    /* Wrong ID, not a response, other type, truncated, two questions. */
    rl = make(r, 0xbeee, DR_FLAG_QR, q0x20, sizeof(q0x20), DR_TYPE_A);
    ASSERT(!dr_upstream_reply_matches(q, ql, r, rl));
    rl = make(r, 0xbeef, 0, q0x20, sizeof(q0x20), DR_TYPE_A);
    ASSERT(!dr_upstream_reply_matches(q, ql, r, rl));
    rl = make(r, 0xbeef, DR_FLAG_QR, q0x20, sizeof(q0x20), DR_TYPE_AAAA);
    ASSERT(!dr_upstream_reply_matches(q, ql, r, rl));
    rl = make(r, 0xbeef, DR_FLAG_QR, q0x20, sizeof(q0x20), DR_TYPE_A);
    ASSERT(!dr_upstream_reply_matches(q, ql, r, rl - 1));
    ASSERT(!dr_upstream_reply_matches(q, ql, r, 11));
    dr_put16(r + 4, 2);
    ASSERT(!dr_upstream_reply_matches(q, ql, r, rl));
}

int
main(void)
{
    TEST_RUN(test_matching);
    return 0;
}
