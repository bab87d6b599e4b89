#include "resolver/reply.h"

#include <errno.h>
#include <string.h>

/* Whether a plain (DO=0) reply leaves rr out: DNSSEC records not asked for by type. */
static bool
dnssec_only(const ldns_rr *rr, uint16_t qtype)
{
    ldns_rr_type t = ldns_rr_get_type(rr);
    return dr_msg_dnssec_type(t) && t != qtype;
}

static void
push_all(ldns_pkt *p, ldns_pkt_section s, const ldns_rr_list *l, bool dnssec, uint16_t qtype)
{
    for (size_t i = 0; l && i < ldns_rr_list_rr_count(l); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(l, i);
        if (!dnssec && dnssec_only(rr, s == LDNS_SECTION_ANSWER ? qtype : 0))
            continue;
        ldns_rr *c = ldns_rr_clone(rr);
        if (c && !ldns_pkt_push_rr(p, s, c))
            ldns_rr_free(c);
    }
}

int
dr_reply_build(const uint8_t *qname, uint16_t qtype, uint16_t qclass, int rcode,
               const ldns_rr_list *chain, const ldns_rr_list *answer,
               const ldns_rr_list *authority, bool dnssec, uint8_t **wire, size_t *len)
{
    *wire = NULL;
    *len = 0;
    ldns_pkt *p = ldns_pkt_new();
    ldns_rdf *qn = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, dr_dname_len(qname), qname);
    ldns_rr *q = ldns_rr_new();
    int rc = -ENOMEM;
    if (p && qn && q) {
        ldns_rr_set_question(q, true);
        ldns_rr_set_owner(q, qn);
        qn = NULL;
        ldns_rr_set_type(q, qtype);
        ldns_rr_set_class(q, qclass);
        ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, q);
        q = NULL;
        ldns_pkt_set_qr(p, true);
        ldns_pkt_set_ra(p, true);
        ldns_pkt_set_rcode(p, (uint8_t)rcode);
        if (rcode != DR_RCODE_SERVFAIL) {
            push_all(p, LDNS_SECTION_ANSWER, chain, dnssec, qtype);
            push_all(p, LDNS_SECTION_ANSWER, answer, dnssec, qtype);
            push_all(p, LDNS_SECTION_AUTHORITY, authority, dnssec, qtype);
        }
        if (ldns_pkt2wire(wire, p, len) == LDNS_STATUS_OK)
            rc = 0;
        else
            *wire = NULL;
    }
    ldns_rdf_deep_free(qn);
    ldns_rr_free(q);
    ldns_pkt_free(p);
    return rc;
}

size_t
dr_reply_minimal(const uint8_t *qname, uint16_t qtype, uint16_t qclass, int rcode,
                 uint8_t *out)
{
    memset(out, 0, DR_HEADER_LEN);
    dr_put16(out + 2, (uint16_t)(DR_FLAG_QR | DR_FLAG_RA | (rcode & 0xf)));
    dr_put16(out + 4, 1);
    size_t n = dr_dname_len(qname);
    memcpy(out + DR_HEADER_LEN, qname, n);
    dr_put16(out + DR_HEADER_LEN + n, qtype);
    dr_put16(out + DR_HEADER_LEN + n + 2, qclass);
    return DR_HEADER_LEN + n + 4;
}
