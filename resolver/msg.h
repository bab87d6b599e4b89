/*
 * DNS messages as the client side sees them: parsing a client's query without ldns (the
 * hot path), and building the small replies that need no resolution (errors, truncation).
 *
 * A query parses to a struct dr_msg_query holding the header fields, the question with its
 * case as sent, and the EDNS0 OPT record if one was present. Replies are written into a
 * caller-provided buffer; nothing allocates.
 */
#ifndef DUET_RESOLVER_MSG_H
#define DUET_RESOLVER_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resolver/dname.h"

#define DR_HEADER_LEN 12
#define DR_OPT_LEN    11 /* an OPT RR with no options */

/* RCODEs, types and classes the resolver names. */
enum {
    DR_RCODE_NOERROR = 0, DR_RCODE_FORMERR = 1, DR_RCODE_SERVFAIL = 2, DR_RCODE_NXDOMAIN = 3,
    DR_RCODE_NOTIMP = 4, DR_RCODE_REFUSED = 5, DR_RCODE_BADVERS = 16,
};
enum {
    DR_TYPE_A = 1, DR_TYPE_NS = 2, DR_TYPE_CNAME = 5, DR_TYPE_SOA = 6, DR_TYPE_PTR = 12,
    DR_TYPE_MX = 15, DR_TYPE_TXT = 16, DR_TYPE_AAAA = 28, DR_TYPE_DNAME = 39, DR_TYPE_OPT = 41,
    DR_TYPE_DS = 43, DR_TYPE_RRSIG = 46, DR_TYPE_NSEC = 47, DR_TYPE_DNSKEY = 48,
    DR_TYPE_NSEC3 = 50,
    DR_TYPE_IXFR = 251, DR_TYPE_AXFR = 252, DR_TYPE_ANY = 255,
};
enum { DR_CLASS_IN = 1, DR_CLASS_CH = 3, DR_CLASS_ANY = 255 };

/* Header flag bits (in the 16-bit flags word). */
#define DR_FLAG_QR 0x8000u
#define DR_FLAG_AA 0x0400u
#define DR_FLAG_TC 0x0200u
#define DR_FLAG_RD 0x0100u
#define DR_FLAG_RA 0x0080u
#define DR_FLAG_AD 0x0020u
#define DR_FLAG_CD 0x0010u
/* The DO bit within an OPT record's TTL field (extended rcode, version, flags). */
#define DR_EDNS_DO 0x00008000u
#define DR_OPCODE(flags) (((flags) >> 11) & 0xf)
#define DR_RCODE(flags)  ((flags) & 0xf)

struct dr_msg_query {
    uint16_t id;
    uint16_t flags;          /* as received */
    uint16_t qtype, qclass;
    uint8_t qname[DR_NAME_MAX]; /* case as sent */
    uint8_t qname_len;
    size_t question_end;     /* offset just past the question in the packet */
    bool edns;               /* an OPT record was present */
    uint8_t edns_version;
    bool do_bit;
    uint16_t udp_size;       /* the client's EDNS buffer size (512 without EDNS, min 512) */
    bool stale;              /* set by the query path: an expired answer is kept for it
                                (serve-expired), to give if the refresh is late */
};

/* What dr_msg_parse_query() concluded. */
enum dr_msg_verdict {
    DR_MSG_OK = 0,        /* a query to resolve */
    DR_MSG_DROP,          /* not answerable: shorter than a header, or QR=1 (a response) */
    DR_MSG_FORMERR,       /* answer FORMERR (header fields in q are valid) */
    DR_MSG_NOTIMP,        /* opcode other than QUERY: answer NOTIMP */
    DR_MSG_BADVERS,       /* EDNS version > 0: answer BADVERS with an OPT */
    DR_MSG_REFUSED_TYPE,  /* AXFR/IXFR/ANY-class and the like: answer REFUSED / NOTIMP */
};

/*
 * Parses a client query. FORMERR cases: QDCOUNT != 1, ANCOUNT or NSCOUNT != 0, a bad or
 * compressed question name, a truncated question, more than one OPT, an OPT not owned by
 * the root or malformed, additional records that do not parse, trailing garbage; as in
 * Unbound also TC=1 and the meta qtypes OPT, TSIG, TKEY, MAILA, MAILB and 128-248. Fills q
 * as far as it got (id and flags always, once a header was read; the question once it
 * parsed; the EDNS fields only once every record parsed).
 */
enum dr_msg_verdict dr_msg_parse_query(const uint8_t *pkt, size_t len, struct dr_msg_query *q);

/*
 * Writes a reply with no records: the header (ID, opcode and RD copied, QR and RA set, the
 * given rcode), the question if q parsed one (q->qname_len > 0), and an OPT record when the
 * query had EDNS (BADVERS puts its upper bits there). Returns the length or -ENOSPC.
 */
int dr_msg_reply_empty(const struct dr_msg_query *q, int rcode, uint16_t our_udp_size,
                       uint8_t *out, size_t cap);

/*
 * Fits a finished reply in out[0..len) (no OPT record in it yet) for this client: appends an
 * OPT record when the query had EDNS, and when the result exceeds limit bytes (the
 * client's UDP size, or 65535 for TCP) cuts it to header + question (+ OPT) with TC=1 and
 * zero answer/authority/additional counts. Returns the new length or -ENOSPC.
 */
int dr_msg_fit(const struct dr_msg_query *q, uint8_t *out, size_t len, size_t cap, size_t limit,
               uint16_t our_udp_size);

/*
 * Appends an Extended DNS Error option (RFC 8914: INFO-CODE code, no EXTRA-TEXT) to the OPT
 * record that dr_msg_fit() or dr_msg_reply_empty() put last in out[0..len). Returns the new
 * length, or len unchanged when the client sent no EDNS or the option would make the reply
 * exceed limit or cap (an EDE is advice: it never costs the answer a truncation).
 */
int dr_msg_add_ede(const struct dr_msg_query *q, uint8_t *out, size_t len, size_t cap, size_t limit,
                   uint16_t code);

/*
 * Writes an upstream query into out (at least DR_NAME_MAX + 64 bytes): the given ID and
 * flags (RD for forwarders, else 0), one question with name as given (case included: 0x20
 * is applied by the caller), and an OPT record advertising edns_size unless it is 0, with
 * the DO bit set (the resolver is security-aware: it asks for RRSIGs and NSEC/NSEC3
 * records, RFC 4035 §3.2.1). Returns the length.
 */
size_t dr_msg_build_query(uint8_t *out, uint16_t id, uint16_t flags, const uint8_t *name,
                          uint16_t qtype, uint16_t qclass, uint16_t edns_size);

/* Whether records of this type are the DNSSEC ones only DO=1 clients get (RFC 4035 §3.2.1). */
static inline bool
dr_msg_dnssec_type(uint16_t type)
{
    return type == DR_TYPE_RRSIG || type == DR_TYPE_NSEC || type == DR_TYPE_NSEC3;
}

/* Reads and writes big-endian 16/32-bit fields. */
static inline uint16_t
dr_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t
dr_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void
dr_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void
dr_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/*
 * Walks every resource record of a complete message (after the question), calling fn for
 * each with its section (0 answer, 1 authority, 2 additional), the offset of its owner
 * name, type, class, the offset of its TTL field and its rdata offset/length. Stops and
 * returns fn's value if non-zero. Returns 0 when done or -EBADMSG for a malformed message.
 */
typedef int (*dr_msg_rr_cb)(void *arg, int section, size_t owner_off, uint16_t type,
                            uint16_t rclass, size_t ttl_off, size_t rdata_off, uint16_t rdlen);
int dr_msg_walk(const uint8_t *pkt, size_t len, dr_msg_rr_cb fn, void *arg);

#endif
