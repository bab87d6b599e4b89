#include "resolver/scrub.h"

#include "resolver/dname.h"

#include <string.h>

const uint8_t *
dr_scrub_name(const ldns_rdf *rdf)
{
    /* ldns keeps names uncompressed in wire form; a name longer than the limit is bogus. */
    if (rdf == NULL || ldns_rdf_size(rdf) > DR_NAME_MAX || ldns_rdf_size(rdf) == 0)
        return NULL;
    return ldns_rdf_data(rdf);
}

bool
dr_scrub_owner_is(const ldns_rr *rr, const uint8_t *name)
{
    const uint8_t *o = dr_scrub_name(ldns_rr_owner(rr));
    return o && dr_dname_equal(o, name);
}

bool
dr_scrub_owner_under(const ldns_rr *rr, const uint8_t *zone)
{
    const uint8_t *o = dr_scrub_name(ldns_rr_owner(rr));
    return o && dr_dname_is_sub(o, zone);
}

/* The records of `from` owned by owner with the given type and class; type ANY takes
 * every type (an ANY answer is whatever the server holds for the name: RFC 1035 §3.2.3,
 * RFC 8482). NULL when there are none. */
ldns_rr_list *
dr_scrub_collect(ldns_rr_list *from, const uint8_t *owner, ldns_rr_type type, uint16_t rclass)
{
    ldns_rr_list *out = NULL;
    for (size_t i = 0; i < ldns_rr_list_rr_count(from); i++) {
        ldns_rr *rr = ldns_rr_list_rr(from, i);
        if ((type != LDNS_RR_TYPE_ANY && ldns_rr_get_type(rr) != type) ||
            ldns_rr_get_class(rr) != rclass || !dr_scrub_owner_is(rr, owner))
            continue;
        if (out == NULL)
            out = ldns_rr_list_new();
        if (out)
            ldns_rr_list_push_rr(out, ldns_rr_clone(rr));
    }
    return out;
}

/* The SOA of a negative reply: in the authority section, owned by the zone asked or below
 * it, and an ancestor of the name. */
ldns_rr_list *
dr_scrub_negative_soa(ldns_pkt *p, const uint8_t *zone, const uint8_t *name)
{
    ldns_rr_list *au = ldns_pkt_authority(p);
    for (size_t i = 0; i < ldns_rr_list_rr_count(au); i++) {
        ldns_rr *rr = ldns_rr_list_rr(au, i);
        const uint8_t *o = dr_scrub_name(ldns_rr_owner(rr));
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && o && dr_dname_is_sub(o, zone) &&
            dr_dname_is_sub(name, o)) {
            ldns_rr_list *l = ldns_rr_list_new();
            if (l)
                ldns_rr_list_push_rr(l, ldns_rr_clone(rr));
            return l;
        }
    }
    return NULL;
}

/* A referral: an NS set in the authority section for a zone strictly below the one asked
 * and enclosing the name sent. Returns the new zone's name or NULL. */
const uint8_t *
dr_scrub_referral(ldns_pkt *p, const uint8_t *zone, const uint8_t *sent)
{
    ldns_rr_list *au = ldns_pkt_authority(p);
    for (size_t i = 0; i < ldns_rr_list_rr_count(au); i++) {
        ldns_rr *rr = ldns_rr_list_rr(au, i);
        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NS)
            continue;
        const uint8_t *o = dr_scrub_name(ldns_rr_owner(rr));
        if (o && dr_dname_is_sub(o, zone) && !dr_dname_equal(o, zone) && dr_dname_is_sub(sent, o))
            return o;
    }
    return NULL;
}

bool
dr_scrub_address(const ldns_rr *rr, union dc_sockaddr *out)
{
    const ldns_rdf *d = ldns_rr_rdf(rr, 0);
    memset(out, 0, sizeof(*out));
    if (d == NULL)
        return false;
    if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_A && ldns_rdf_size(d) == 4) {
        out->in.sin_family = AF_INET;
        memcpy(&out->in.sin_addr, ldns_rdf_data(d), 4);
        out->in.sin_port = htons(53);
        return true;
    }
    if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_AAAA && ldns_rdf_size(d) == 16) {
        out->in6.sin6_family = AF_INET6;
        memcpy(&out->in6.sin6_addr, ldns_rdf_data(d), 16);
        out->in6.sin6_port = htons(53);
        return true;
    }
    return false;
}

static void
push_copy(ldns_rr_list **into, const ldns_rr *rr)
{
    if (*into == NULL)
        *into = ldns_rr_list_new();
    ldns_rr *c = ldns_rr_clone(rr);
    if (*into && c && ldns_rr_list_push_rr(*into, c))
        return;
    ldns_rr_free(c);
}

static ldns_rr_type
covered_type(const ldns_rr *rrsig)
{
    const ldns_rdf *t = ldns_rr_rrsig_typecovered(rrsig);
    return t && ldns_rdf_size(t) == 2 ? ldns_rdf2rr_type(t) : 0;
}

void
dr_scrub_sigs(ldns_rr_list *from, const uint8_t *owner, ldns_rr_type covered, uint16_t rclass,
              ldns_rr_list **into)
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(from); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(from, i);
        /* covered_type() is 0 for an RRSIG without a type field: never a match. */
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG && ldns_rr_get_class(rr) == rclass &&
            covered != 0 && covered_type(rr) == covered && dr_scrub_owner_is(rr, owner))
            push_copy(into, rr);
    }
}

void
dr_scrub_denial(ldns_pkt *p, const uint8_t *zone, ldns_rr_list **into)
{
    ldns_rr_list *au = ldns_pkt_authority(p);
    for (size_t i = 0; i < ldns_rr_list_rr_count(au); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(au, i);
        ldns_rr_type t = ldns_rr_get_type(rr);
        if (t == LDNS_RR_TYPE_RRSIG)
            t = covered_type(rr) == LDNS_RR_TYPE_SOA ? LDNS_RR_TYPE_SOA : covered_type(rr);
        else if (t == LDNS_RR_TYPE_SOA)
            continue; /* the SOA itself comes from dr_scrub_negative_soa */
        bool wanted = t == LDNS_RR_TYPE_NSEC || t == LDNS_RR_TYPE_NSEC3 ||
                      (t == LDNS_RR_TYPE_SOA && ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG);
        if (wanted && dr_scrub_owner_under(rr, zone))
            push_copy(into, rr);
    }
}
