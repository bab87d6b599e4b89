/*
 * libFuzzer target for the client-side message code: resolver/msg.c and resolver/dname.c.
 *
 * Every input goes through the query parser, the RR walker and the name reader; whatever
 * parsed is turned into replies, which must themselves be well-formed messages. Besides
 * the sanitizers' memory checks, abort() marks a broken invariant. Seeds: fuzz/corpus/msg/.
 * Build and run: fuzz/CMakeLists.txt, fuzz/run.sh.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "resolver/dname.h"
#include "resolver/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

struct walk_ctx {
    const uint8_t *pkt;
    size_t len;
    unsigned count;
};

/* Everything dr_msg_walk reports must lie inside the message and re-read cleanly. */
static int
on_rr(void *arg, int section, size_t owner_off, uint16_t type, uint16_t rclass, size_t ttl_off,
      size_t rdata_off, uint16_t rdlen)
{
    struct walk_ctx *w = arg;
    uint8_t name[DR_NAME_MAX];
    size_t off = owner_off;
    (void)type;
    (void)rclass;
    CHECK(section >= 0 && section <= 2);
    CHECK(dr_dname_read(w->pkt, w->len, &off, name) > 0);
    CHECK(off + 4 == ttl_off && ttl_off + 6 == rdata_off);
    CHECK(rdata_off + rdlen <= w->len);
    w->count++;
    return 0;
}

/* A name that read cleanly survives the trip to text and back byte for byte. */
static void
check_name(const uint8_t *pkt, size_t len, size_t at)
{
    uint8_t name[DR_NAME_MAX], back[DR_NAME_MAX];
    char text[DR_NAME_STRLEN];
    size_t off = at;
    int n = dr_dname_read(pkt, len, &off, name);
    CHECK(n > 0 || n == -EBADMSG);
    if (n < 0) {
        CHECK(off == at);
        return;
    }
    CHECK(off > at && off <= len);
    CHECK((size_t)n == dr_dname_len(name));
    CHECK(dr_dname_to_str(name, text, sizeof(text)) > 0);
    CHECK(dr_dname_from_str(text, back) == n);
    CHECK(dr_dname_equal_case(name, back));
    CHECK(dr_dname_compare(name, back) == 0);
    off = at;
    CHECK(dr_dname_skip(pkt, len, &off) == 0);
}

static void
check_replies(const uint8_t *data, size_t size, const struct dr_msg_query *q)
{
    static uint8_t out[65536 + DR_OPT_LEN];
    int n = dr_msg_reply_empty(q, DR_RCODE_BADVERS, 1232, out, sizeof(out));
    CHECK(n >= DR_HEADER_LEN);
    CHECK(dr_msg_walk(out, (size_t)n, NULL, NULL) == 0);

    /* The input stands in for a finished reply: fit it to a limit derived from the input.
     * A cut reply is ours entirely and must be well-formed; a kept one is the input plus an
     * OPT, so only its size can be checked. */
    if (size < DR_HEADER_LEN || size > 65535)
        return;
    memcpy(out, data, size);
    size_t limit = q->udp_size > size ? size : q->udp_size;
    n = dr_msg_fit(q, out, size, sizeof(out), limit, 1232);
    CHECK(n >= DR_HEADER_LEN);
    if ((size_t)n == size + (q->edns ? DR_OPT_LEN : 0) && (size_t)n <= limit)
        return;
    CHECK(dr_get16(out + 2) & DR_FLAG_TC);
    CHECK(dr_msg_walk(out, (size_t)n, NULL, NULL) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dr_msg_query q;
    enum dr_msg_verdict v = dr_msg_parse_query(data, size, &q);
    CHECK(v >= DR_MSG_OK && v <= DR_MSG_REFUSED_TYPE);
    CHECK(q.udp_size >= 512);
    if (v == DR_MSG_OK || v == DR_MSG_BADVERS || v == DR_MSG_REFUSED_TYPE)
        CHECK(q.qname_len > 0 && q.question_end <= size);
    if (v == DR_MSG_BADVERS)
        CHECK(q.edns && q.edns_version > 0);
    if (q.qname_len > 0)
        CHECK(dr_dname_len(q.qname) == q.qname_len);
    if (v != DR_MSG_DROP)
        check_replies(data, size, &q);

    struct walk_ctx w = {.pkt = data, .len = size, .count = 0};
    int r = dr_msg_walk(data, size, on_rr, &w);
    CHECK(r == 0 || r == -EBADMSG);
    CHECK(r == 0 || w.count == 0);

    check_name(data, size, 0);
    check_name(data, size, DR_HEADER_LEN);
    if (size > 0)
        check_name(data, size, data[0] % size);
    return 0;
}
