#include "resolver/nsec.h"

#include <string.h>

#include "resolver/scrub.h"

bool
dr_nsec_bitmap_has(const uint8_t *bm, size_t len, uint16_t type)
{
    uint8_t want = (uint8_t)(type >> 8), bit = (uint8_t)(type & 0xff);
    size_t off = 0;
    while (off + 2 <= len) {
        uint8_t win = bm[off], n = bm[off + 1];
        if (n == 0 || n > 32 || off + 2 + n > len)
            return false;
        if (win == want)
            return bit / 8 < n && (bm[off + 2 + bit / 8] & (0x80 >> (bit % 8)));
        off += 2 + (size_t)n;
    }
    return false;
}

bool
dr_nsec_has_type(const ldns_rr *rr, uint16_t type)
{
    size_t n = ldns_rr_rd_count(rr);
    ldns_rr_type t = ldns_rr_get_type(rr);
    /* NSEC: next, bitmap; NSEC3: alg, flags, iterations, salt, next, bitmap. An empty
     * bitmap may be absent. */
    size_t want = t == LDNS_RR_TYPE_NSEC ? 2 : t == LDNS_RR_TYPE_NSEC3 ? 6 : 0;
    if (want == 0 || n != want)
        return false;
    const ldns_rdf *bm = ldns_rr_rdf(rr, want - 1);
    return dr_nsec_bitmap_has(ldns_rdf_data(bm), ldns_rdf_size(bm), type);
}

static const uint8_t *
nsec_next(const ldns_rr *rr)
{
    if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NSEC || ldns_rr_rd_count(rr) < 1)
        return NULL;
    return dr_scrub_name(ldns_rr_rdf(rr, 0));
}

bool
dr_nsec_covers(const ldns_rr *rr, const uint8_t *name)
{
    const uint8_t *owner = dr_scrub_name(ldns_rr_owner(rr)), *next = nsec_next(rr);
    if (owner == NULL || next == NULL || dr_dname_compare(owner, name) >= 0)
        return false;
    if (dr_dname_compare(owner, next) < 0)
        return dr_dname_compare(name, next) < 0;
    /* The last NSEC of the zone: its next name is the apex. */
    return dr_dname_is_sub(name, next);
}

/* Labels a and b have in common, counted from the root. */
static int
common_labels(const uint8_t *a, const uint8_t *b)
{
    int la = dr_dname_labels(a), lb = dr_dname_labels(b);
    for (int n = la < lb ? la : lb; n > 0; n--)
        if (dr_dname_equal(dr_dname_strip(a, la - n), dr_dname_strip(b, lb - n)))
            return n;
    return 0;
}

/* The NSEC speaks only for its owner (a delegation or DNAME), and name lies below it. */
static bool
is_cut_above(const ldns_rr *rr, const uint8_t *name)
{
    const uint8_t *owner = dr_scrub_name(ldns_rr_owner(rr));
    if (owner == NULL || dr_dname_equal(owner, name) || !dr_dname_is_sub(name, owner))
        return false;
    return dr_nsec_has_type(rr, LDNS_RR_TYPE_DNAME) ||
           (dr_nsec_has_type(rr, LDNS_RR_TYPE_NS) && !dr_nsec_has_type(rr, LDNS_RR_TYPE_SOA));
}

/* An NSEC of nsecs proving that name does not exist: it covers name, name is not an empty
 * non-terminal (next below name), and no cut above name limits what it says. */
static const ldns_rr *
find_nonexistence(const ldns_rr_list *nsecs, const uint8_t *name)
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(nsecs); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(nsecs, i);
        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NSEC || !dr_nsec_covers(rr, name) ||
            is_cut_above(rr, name))
            continue;
        const uint8_t *next = nsec_next(rr);
        if (dr_dname_is_sub(next, name))
            continue; /* name is an empty non-terminal */
        return rr;
    }
    return NULL;
}

/* The closest encloser of name that a covering NSEC implies: the longest ancestor name has
 * in common with the NSEC's owner or next name (the names around it exist). */
static const uint8_t *
closest_encloser(const ldns_rr *rr, const uint8_t *name)
{
    int a = common_labels(name, dr_scrub_name(ldns_rr_owner(rr)));
    int b = common_labels(name, nsec_next(rr));
    int n = a > b ? a : b;
    return dr_dname_strip(name, dr_dname_labels(name) - n);
}

static const ldns_rr *
find_owned(const ldns_rr_list *nsecs, const uint8_t *name)
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(nsecs); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(nsecs, i);
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NSEC && dr_scrub_owner_is(rr, name))
            return rr;
    }
    return NULL;
}

bool
dr_nsec_nxdomain(const ldns_rr_list *nsecs, const uint8_t *qname, uint8_t *ce)
{
    uint8_t wild[DR_NAME_MAX];
    const ldns_rr *rr = find_nonexistence(nsecs, qname);
    if (rr == NULL)
        return false;
    const uint8_t *enc = closest_encloser(rr, qname);
    if (!dr_dname_wildcard(enc, wild) || find_nonexistence(nsecs, wild) == NULL)
        return false;
    if (ce)
        memcpy(ce, enc, dr_dname_len(enc));
    return true;
}

/* The NSEC at name denies qtype: neither it nor CNAME listed, and the NSEC is from the
 * right side of a cut. */
static bool
denies_type(const ldns_rr *rr, uint16_t qtype)
{
    if (dr_nsec_has_type(rr, qtype) || dr_nsec_has_type(rr, LDNS_RR_TYPE_CNAME))
        return false;
    bool ns = dr_nsec_has_type(rr, LDNS_RR_TYPE_NS), soa = dr_nsec_has_type(rr, LDNS_RR_TYPE_SOA);
    if (qtype == LDNS_RR_TYPE_DS)
        return !soa || dr_dname_labels(ldns_rdf_data(ldns_rr_owner(rr))) == 0; /* root apex */
    return !(ns && !soa) && !dr_nsec_has_type(rr, LDNS_RR_TYPE_DNAME);
}

bool
dr_nsec_nodata(const ldns_rr_list *nsecs, const uint8_t *qname, uint16_t qtype)
{
    const ldns_rr *rr = find_owned(nsecs, qname);
    if (rr)
        return denies_type(rr, qtype);
    /* An empty non-terminal: an NSEC covers it and the next name lies below it. */
    for (size_t i = 0; i < ldns_rr_list_rr_count(nsecs); i++) {
        rr = ldns_rr_list_rr(nsecs, i);
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NSEC && dr_nsec_covers(rr, qname) &&
            !is_cut_above(rr, qname) && dr_dname_is_sub(nsec_next(rr), qname) &&
            !dr_dname_equal(nsec_next(rr), qname))
            return true;
    }
    return false;
}

bool
dr_nsec_wildcard_answer(const ldns_rr_list *nsecs, const uint8_t *qname, const uint8_t *encloser)
{
    if (!dr_dname_is_sub(qname, encloser) || dr_dname_equal(qname, encloser))
        return false;
    const ldns_rr *rr = find_nonexistence(nsecs, qname);
    /* The NSEC's closest encloser is the wildcard's: nothing between qname and it exists
     * (an existing name there would share more labels with the NSEC's owner or next). */
    return rr && dr_dname_equal(closest_encloser(rr, qname), encloser);
}

bool
dr_nsec_wildcard_nodata(const ldns_rr_list *nsecs, const uint8_t *qname, uint16_t qtype)
{
    uint8_t wild[DR_NAME_MAX];
    const ldns_rr *rr = find_nonexistence(nsecs, qname);
    if (rr == NULL || !dr_dname_wildcard(closest_encloser(rr, qname), wild))
        return false;
    const ldns_rr *w = find_owned(nsecs, wild);
    return w && denies_type(w, qtype);
}

bool
dr_nsec_insecure_delegation(const ldns_rr_list *nsecs, const uint8_t *cut)
{
    const ldns_rr *rr = find_owned(nsecs, cut);
    return rr && dr_nsec_has_type(rr, LDNS_RR_TYPE_NS) && !dr_nsec_has_type(rr, LDNS_RR_TYPE_DS) &&
           !dr_nsec_has_type(rr, LDNS_RR_TYPE_SOA);
}
