#include "resolver/msg.h"

#include <errno.h>
#include <string.h>

/* Header field offsets. */
#define OFF_FLAGS 2
#define OFF_QD    4
#define OFF_AN    6
#define OFF_NS    8
#define OFF_AR    10

#define RR_FIXED     10 /* type, class, TTL, RDLENGTH after the owner name */
#define QUESTION_FIX 4  /* qtype, qclass after the name */
#define UDP_MIN      512
#define EDNS_DO      0x8000u
#define OPCODE_MASK  0x7800u

enum { TYPE_TKEY = 249, TYPE_TSIG = 250, TYPE_MAILB = 253, TYPE_MAILA = 254, CLASS_NONE = 254 };

/* One resource record's framing, as found in the packet. */
struct rr {
    size_t owner_off;
    uint16_t type, rclass;
    size_t ttl_off, rdata_off;
    uint16_t rdlen;
};

/*
 * Reads the RR at *off and moves past it. The name reader stops at len, so *off <= len
 * afterwards and the subtractions below cannot wrap.
 */
static int
rr_read(const uint8_t *pkt, size_t len, size_t *off, struct rr *rr)
{
    rr->owner_off = *off;
    if (dr_dname_skip(pkt, len, off) < 0 || len - *off < RR_FIXED)
        return -EBADMSG;
    const uint8_t *p = pkt + *off;
    rr->type = dr_get16(p);
    rr->rclass = dr_get16(p + 2);
    rr->ttl_off = *off + 4;
    rr->rdlen = dr_get16(p + 8);
    rr->rdata_off = *off + RR_FIXED;
    if (len - rr->rdata_off < rr->rdlen)
        return -EBADMSG;
    *off = rr->rdata_off + rr->rdlen;
    return 0;
}

/* EDNS options (code, length, data) must tile the OPT rdata exactly (RFC 6891 §6.1.2). */
static bool
options_ok(const uint8_t *p, size_t n)
{
    while (n > 0) {
        if (n < 4)
            return false;
        size_t olen = dr_get16(p + 2);
        if (n - 4 < olen)
            return false;
        p += 4 + olen;
        n -= 4 + olen;
    }
    return true;
}

/* What an OPT record said; copied into the query only once the whole message parsed. */
struct edns {
    bool present;
    uint8_t version;
    bool do_bit;
    uint16_t udp_size;
};

/*
 * RFC 6891 §6.1.1: one OPT at most, owned by the root, in the additional section (the
 * caller checks the section). The owner must be the literal root byte, not a pointer to
 * one. Options are only checked for version 0: a later version may lay its rdata out
 * differently, and the answer to it is BADVERS rather than FORMERR.
 */
static int
opt_read(const uint8_t *pkt, const struct rr *rr, struct edns *e)
{
    if (e->present || pkt[rr->owner_off] != 0)
        return -EBADMSG;
    const uint8_t *ttl = pkt + rr->ttl_off;
    e->present = true;
    e->version = ttl[1];
    e->do_bit = (dr_get16(ttl + 2) & EDNS_DO) != 0;
    /* Below 512 means 512 (RFC 6891 §6.2.3). */
    e->udp_size = rr->rclass < UDP_MIN ? UDP_MIN : rr->rclass;
    if (e->version == 0 && !options_ok(pkt + rr->rdata_off, rr->rdlen))
        return -EBADMSG;
    return 0;
}

/*
 * Reads the question into q. A query's question comes straight after the header, so a
 * compression pointer in it could only point into the header: refuse it. Without pointers
 * a name takes exactly as many bytes in the packet as its uncompressed form; with one it
 * takes fewer (at most the prefix plus two pointer bytes against the prefix plus a suffix
 * of 1 or >= 3 bytes), which is what the length comparison detects.
 */
static int
question_read(const uint8_t *pkt, size_t len, size_t *off, struct dr_msg_query *q)
{
    size_t start = *off;
    int n = dr_dname_read(pkt, len, off, q->qname);
    if (n < 0 || *off - start != (size_t)n || len - *off < QUESTION_FIX)
        return -EBADMSG;
    q->qtype = dr_get16(pkt + *off);
    q->qclass = dr_get16(pkt + *off + 2);
    *off += QUESTION_FIX;
    q->qname_len = (uint8_t)n;
    q->question_end = *off;
    return 0;
}

/* Query types a client may not ask for: Unbound answers FORMERR to these meta-types. */
static bool
qtype_is_meta(uint16_t t)
{
    return t == DR_TYPE_OPT || t == TYPE_TSIG || t == TYPE_TKEY || t == TYPE_MAILA ||
           t == TYPE_MAILB || (t >= 128 && t <= 248);
}

/*
 * Everything after the header. The checks run in the order that gives the most useful
 * reply: the question first so error replies can echo it, then the records, and the
 * semantic verdicts only for a message that parsed completely. BADVERS comes before the
 * type checks (Unbound has it the other way round): a client speaking a newer EDNS needs
 * to hear that first (RFC 6891 §6.1.3). For opcodes other than QUERY the counts are not
 * held to a query's shape, so the records are walked to find the OPT the NOTIMP reply
 * should carry. The EDNS fields of q are set only once every record framed correctly:
 * a reply to a malformed OPT does not advertise buffer sizes it made up.
 */
static enum dr_msg_verdict
parse_body(const uint8_t *pkt, size_t len, struct dr_msg_query *q)
{
    unsigned an = dr_get16(pkt + OFF_AN), ns = dr_get16(pkt + OFF_NS);
    unsigned total = an + ns + dr_get16(pkt + OFF_AR);
    bool query = DR_OPCODE(q->flags) == 0;
    struct edns e = {.present = false, .udp_size = UDP_MIN};
    size_t off = DR_HEADER_LEN;

    if (dr_get16(pkt + OFF_QD) != 1 || question_read(pkt, len, &off, q) < 0)
        return DR_MSG_FORMERR;
    /* Unbound's rule: a query carries nothing in the answer and authority sections. */
    if (query && (an != 0 || ns != 0))
        return DR_MSG_FORMERR;
    for (unsigned i = 0; i < total; i++) {
        struct rr rr;
        if (rr_read(pkt, len, &off, &rr) < 0)
            return DR_MSG_FORMERR;
        /* Anything else (TSIG, SIG(0), ...) we do not implement and pass over. */
        if (rr.type == DR_TYPE_OPT && (i < an + ns || opt_read(pkt, &rr, &e) < 0))
            return DR_MSG_FORMERR;
    }
    if (off != len)
        return DR_MSG_FORMERR; /* trailing bytes: the counts do not describe this message */

    q->edns = e.present;
    q->edns_version = e.version;
    q->do_bit = e.do_bit;
    q->udp_size = e.udp_size;
    if (e.present && e.version > 0)
        return DR_MSG_BADVERS;
    if (qtype_is_meta(q->qtype))
        return DR_MSG_FORMERR;
    if (q->qtype == DR_TYPE_AXFR || q->qtype == DR_TYPE_IXFR || q->qclass == DR_CLASS_ANY ||
        q->qclass == CLASS_NONE)
        return DR_MSG_REFUSED_TYPE;
    return DR_MSG_OK;
}

enum dr_msg_verdict
dr_msg_parse_query(const uint8_t *pkt, size_t len, struct dr_msg_query *q)
{
    q->id = 0;
    q->flags = 0;
    q->qtype = 0;
    q->qclass = 0;
    q->qname_len = 0;
    q->question_end = 0;
    q->edns = false;
    q->edns_version = 0;
    q->do_bit = false;
    q->udp_size = UDP_MIN;

    if (len < DR_HEADER_LEN)
        return DR_MSG_DROP;
    q->id = dr_get16(pkt);
    q->flags = dr_get16(pkt + OFF_FLAGS);
    /* Answering a response invites reflection loops between resolvers: stay silent. */
    if (q->flags & DR_FLAG_QR)
        return DR_MSG_DROP;
    /* The body is parsed whatever the header says, so that error replies can echo the
     * question and OPT. Then Unbound's precedence: TC set in a query is meaningless and
     * answered FORMERR, before an unknown opcode is answered NOTIMP. */
    enum dr_msg_verdict v = parse_body(pkt, len, q);
    if (q->flags & DR_FLAG_TC)
        return DR_MSG_FORMERR;
    return DR_OPCODE(q->flags) != 0 ? DR_MSG_NOTIMP : v;
}

/*
 * An OPT with no options advertising our buffer size; the extended RCODE carries the bits
 * of rcode above the header's four, and DO echoes the query's (RFC 3225 §3).
 */
static void
opt_write(uint8_t *p, const struct dr_msg_query *q, int rcode, uint16_t our_udp_size)
{
    p[0] = 0;
    dr_put16(p + 1, DR_TYPE_OPT);
    dr_put16(p + 3, our_udp_size < UDP_MIN ? UDP_MIN : our_udp_size);
    p[5] = (uint8_t)(rcode >> 4);
    p[6] = 0; /* we speak EDNS version 0 */
    dr_put16(p + 7, q->do_bit ? EDNS_DO : 0);
    dr_put16(p + 9, 0);
}

/* The question as the client sent it, case included; returns the bytes written. */
static size_t
question_write(uint8_t *p, const struct dr_msg_query *q)
{
    if (q->qname_len == 0)
        return 0;
    memcpy(p, q->qname, q->qname_len);
    dr_put16(p + q->qname_len, q->qtype);
    dr_put16(p + q->qname_len + 2, q->qclass);
    return (size_t)q->qname_len + QUESTION_FIX;
}

int
dr_msg_reply_empty(const struct dr_msg_query *q, int rcode, uint16_t our_udp_size, uint8_t *out,
                   size_t cap)
{
    size_t qlen = q->qname_len ? (size_t)q->qname_len + QUESTION_FIX : 0;
    size_t n = DR_HEADER_LEN + qlen + (q->edns ? DR_OPT_LEN : 0);
    if (n > cap)
        return -ENOSPC;

    uint16_t flags = DR_FLAG_QR | DR_FLAG_RA |
                     (q->flags & (OPCODE_MASK | DR_FLAG_RD | DR_FLAG_CD)) | (rcode & 0xf);
    dr_put16(out, q->id);
    dr_put16(out + OFF_FLAGS, flags);
    dr_put16(out + OFF_QD, qlen ? 1 : 0);
    dr_put16(out + OFF_AN, 0);
    dr_put16(out + OFF_NS, 0);
    dr_put16(out + OFF_AR, q->edns ? 1 : 0);
    question_write(out + DR_HEADER_LEN, q);
    if (q->edns)
        opt_write(out + DR_HEADER_LEN + qlen, q, rcode, our_udp_size);
    return (int)n;
}

/*
 * Dropping everything after the question and setting TC tells the client to retry over TCP
 * (RFC 1035 §4.2.1, RFC 7766); the OPT stays so the client still sees our EDNS support. The
 * question is rewritten from q rather than trusted to be in out already.
 */
int
dr_msg_fit(const struct dr_msg_query *q, uint8_t *out, size_t len, size_t cap, size_t limit,
           uint16_t our_udp_size)
{
    size_t opt = q->edns ? DR_OPT_LEN : 0;
    if (len < DR_HEADER_LEN)
        return -EINVAL;
    int rcode = DR_RCODE(dr_get16(out + OFF_FLAGS));

    if (len + opt <= limit) {
        if (len + opt > cap)
            return -ENOSPC;
        if (opt) {
            uint16_t ar = dr_get16(out + OFF_AR);
            if (ar == UINT16_MAX)
                return -EINVAL;
            opt_write(out + len, q, rcode, our_udp_size);
            dr_put16(out + OFF_AR, (uint16_t)(ar + 1));
        }
        return (int)(len + opt);
    }

    size_t qlen = q->qname_len ? (size_t)q->qname_len + QUESTION_FIX : 0;
    size_t n = DR_HEADER_LEN + qlen + opt;
    if (n > cap)
        return -ENOSPC;
    dr_put16(out + OFF_FLAGS, (uint16_t)(dr_get16(out + OFF_FLAGS) | DR_FLAG_TC));
    dr_put16(out + OFF_QD, qlen ? 1 : 0);
    dr_put16(out + OFF_AN, 0);
    dr_put16(out + OFF_NS, 0);
    dr_put16(out + OFF_AR, opt ? 1 : 0);
    question_write(out + DR_HEADER_LEN, q);
    if (opt)
        opt_write(out + DR_HEADER_LEN + qlen, q, rcode, our_udp_size);
    return (int)n;
}

int
dr_msg_add_ede(const struct dr_msg_query *q, uint8_t *out, size_t len, size_t cap, size_t limit,
               uint16_t code)
{
    const size_t add = 6; /* OPTION-CODE 15, OPTION-LENGTH 2, INFO-CODE */
    if (!q->edns || len < DR_HEADER_LEN + DR_OPT_LEN || len + add > cap || len + add > limit)
        return (int)len;
    uint8_t *opt = out + len - DR_OPT_LEN;
    if (opt[0] != 0 || dr_get16(opt + 1) != DR_TYPE_OPT || dr_get16(opt + 9) != 0)
        return (int)len;
    dr_put16(opt + 9, (uint16_t)add);
    dr_put16(out + len, 15);
    dr_put16(out + len + 2, 2);
    dr_put16(out + len + 4, code);
    return (int)(len + add);
}

/*
 * One pass over the message; with fn == NULL it only validates. dr_msg_walk validates
 * first so that fn never sees a record of a message that turns out to be malformed.
 */
static int
walk_pass(const uint8_t *pkt, size_t len, dr_msg_rr_cb fn, void *arg)
{
    if (len < DR_HEADER_LEN)
        return -EBADMSG;
    unsigned qd = dr_get16(pkt + OFF_QD);
    unsigned counts[3] = {dr_get16(pkt + OFF_AN), dr_get16(pkt + OFF_NS), dr_get16(pkt + OFF_AR)};
    size_t off = DR_HEADER_LEN;

    for (unsigned i = 0; i < qd; i++) {
        if (dr_dname_skip(pkt, len, &off) < 0 || len - off < QUESTION_FIX)
            return -EBADMSG;
        off += QUESTION_FIX;
    }
    for (int s = 0; s < 3; s++) {
        for (unsigned i = 0; i < counts[s]; i++) {
            struct rr rr;
            if (rr_read(pkt, len, &off, &rr) < 0)
                return -EBADMSG;
            if (fn) {
                int r = fn(arg, s, rr.owner_off, rr.type, rr.rclass, rr.ttl_off, rr.rdata_off,
                           rr.rdlen);
                if (r != 0)
                    return r;
            }
        }
    }
    return off == len ? 0 : -EBADMSG;
}

int
dr_msg_walk(const uint8_t *pkt, size_t len, dr_msg_rr_cb fn, void *arg)
{
    int r = walk_pass(pkt, len, NULL, NULL);
    if (r < 0 || fn == NULL)
        return r;
    return walk_pass(pkt, len, fn, arg);
}

size_t
dr_msg_build_query(uint8_t *out, uint16_t id, uint16_t flags, const uint8_t *name,
                   uint16_t qtype, uint16_t qclass, uint16_t edns_size)
{
    memset(out, 0, DR_HEADER_LEN);
    dr_put16(out, id);
    dr_put16(out + 2, flags);
    dr_put16(out + 4, 1);
    dr_put16(out + 10, edns_size ? 1 : 0);
    size_t n = dr_dname_len(name);
    memcpy(out + DR_HEADER_LEN, name, n);
    size_t off = DR_HEADER_LEN + n;
    dr_put16(out + off, qtype);
    dr_put16(out + off + 2, qclass);
    off += 4;
    if (edns_size) {
        out[off] = 0;
        dr_put16(out + off + 1, DR_TYPE_OPT);
        dr_put16(out + off + 3, edns_size);
        dr_put32(out + off + 5, DR_EDNS_DO);
        dr_put16(out + off + 9, 0);
        off += DR_OPT_LEN;
    }
    return off;
}
