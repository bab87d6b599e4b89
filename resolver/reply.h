/*
 * Reply assembly: the wire reply a finished resolution hands to its waiters and the answer
 * cache. A complete message with ID 0, QR and RA set, the question as resolved (lower
 * case), the chain of CNAME/DNAME records followed, then the answer or the negative
 * answer's SOA; no OPT record (each client's is added by dr_msg_fit). SERVFAIL carries
 * only the question.
 */
#ifndef DUET_RESOLVER_REPLY_H
#define DUET_RESOLVER_REPLY_H

#include <ldns/ldns.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resolver/dname.h"
#include "resolver/msg.h"

/* The smallest possible reply: header and question, for SERVFAIL when memory is short. */
#define DR_REPLY_MIN_MAX (DR_HEADER_LEN + DR_NAME_MAX + 4)

/* Builds the reply; chain, answer and authority may be NULL and are only read. dnssec: the
 * reply for DNSSEC-aware clients (DO=1), with every RRSIG, NSEC and NSEC3 record; without
 * it those are left out (RFC 4035 §3.2.1), except records of the type asked for. On success
 * *wire is malloc'ed (the caller frees) and 0 is returned; -ENOMEM otherwise. */
int dr_reply_build(const uint8_t *qname, uint16_t qtype, uint16_t qclass, int rcode,
                   const ldns_rr_list *chain, const ldns_rr_list *answer,
                   const ldns_rr_list *authority, bool dnssec, uint8_t **wire, size_t *len);

/* Writes the header-and-question-only reply with rcode into out (at least
 * DR_REPLY_MIN_MAX bytes). Returns its length. Never fails. */
size_t dr_reply_minimal(const uint8_t *qname, uint16_t qtype, uint16_t qclass, int rcode,
                        uint8_t *out);

#endif
