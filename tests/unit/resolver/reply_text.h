/*
 * Upstream replies for the resolver's unit tests, written as text: one record a line in
 * zone-file syntax, each line starting with its section ("an ", "au " or "ad "), e.g.
 *
 *     ldns_pkt *p = reply_text(DR_RCODE_NOERROR, true,
 *                              "an www.example. 300 IN A 192.0.2.1\n"
 *                              "au example. 300 IN NS ns1.example.\n");
 *
 * A line the records parser refuses fails the test. Records that text cannot express (an A
 * with 3 bytes of rdata) are built with rr_raw() and added with ldns_pkt_push_rr().
 */
#ifndef DUET_TEST_REPLY_TEXT_H
#define DUET_TEST_REPLY_TEXT_H

#include <ldns/ldns.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "resolver/dname.h"

#include "test.h"

/* The wire form of a presentation name. */
static inline void
wname(const char *s, uint8_t out[DR_NAME_MAX])
{
    if (dr_dname_from_str(s, out) <= 0)
        TEST_FAIL("bad name \"%s\"", s);
}

/* One record from text; fails the test when ldns refuses it. */
static inline ldns_rr *
rr_text(const char *s)
{
    ldns_rr *rr = NULL;
    ldns_status st = ldns_rr_new_frm_str(&rr, s, 3600, NULL, NULL);
    if (st != LDNS_STATUS_OK)
        TEST_FAIL("bad record \"%s\": %s", s, ldns_get_errorstr_by_id(st));
    return rr;
}

/* A record with one rdata field of exactly the given bytes (e.g. a 3-byte A). */
static inline ldns_rr *
rr_raw(const char *owner, ldns_rr_type type, ldns_rdf_type rdf_type, const void *rdata, size_t len)
{
    ldns_rr *rr = ldns_rr_new();
    ldns_rdf *o = ldns_dname_new_frm_str(owner);
    ldns_rdf *d = ldns_rdf_new_frm_data(rdf_type, len, rdata);
    ASSERT(rr && o && d);
    ldns_rr_set_owner(rr, o);
    ldns_rr_set_type(rr, type);
    ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
    ldns_rr_set_ttl(rr, 300);
    ASSERT(ldns_rr_push_rdf(rr, d));
    return rr;
}

/* A reply (QR set) with the given rcode and AA bit and the records in text. */
static inline ldns_pkt *
reply_text(int rcode, bool aa, const char *text)
{
    ldns_pkt *p = ldns_pkt_new();
    ASSERT_NOT_NULL(p);
    ldns_pkt_set_qr(p, true);
    ldns_pkt_set_aa(p, aa);
    ldns_pkt_set_rcode(p, (uint8_t)rcode);
    const char *s = text ? text : "";
    while (*s) {
        const char *end = strchr(s, '\n');
        size_t n = end ? (size_t)(end - s) : strlen(s);
        char line[1024];
        ASSERT_LT(n, sizeof(line));
        memcpy(line, s, n);
        line[n] = '\0';
        s += end ? n + 1 : n;
        if (n == 0)
            continue;
        ldns_pkt_section sec;
        if (strncmp(line, "an ", 3) == 0)
            sec = LDNS_SECTION_ANSWER;
        else if (strncmp(line, "au ", 3) == 0)
            sec = LDNS_SECTION_AUTHORITY;
        else if (strncmp(line, "ad ", 3) == 0)
            sec = LDNS_SECTION_ADDITIONAL;
        else
            TEST_FAIL("no section in \"%s\"", line);
        ASSERT(ldns_pkt_push_rr(p, sec, rr_text(line + 3)));
    }
    return p;
}

/* True when the list holds a record with the given text (ldns's canonical rendering of
 * rr_text(text)). */
static inline bool
has_rr(const ldns_rr_list *l, const char *text)
{
    ldns_rr *want = rr_text(text);
    bool found = false;
    for (size_t i = 0; l && i < ldns_rr_list_rr_count(l); i++)
        if (ldns_rr_compare(ldns_rr_list_rr(l, i), want) == 0 &&
            ldns_rr_ttl(ldns_rr_list_rr(l, i)) == ldns_rr_ttl(want))
            found = true;
    ldns_rr_free(want);
    return found;
}

#endif
