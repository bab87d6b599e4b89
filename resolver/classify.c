#include "resolver/classify.h"

#include <errno.h>
#include <string.h>

#include "resolver/msg.h"
#include "resolver/scrub.h"

#define RCODE_YXDOMAIN 6 /* RFC 6672: a DNAME substitution overflowed */

const char *const dr_verdict_names[] = {"answer", "cname",    "referral", "nxdomain",
                                        "nodata", "yxdomain", "lame"};

void
dr_classified_clear(struct dr_classified *out)
{
    ldns_rr_list_deep_free(out->chain);
    ldns_rr_list_deep_free(out->dnames);
    ldns_rr_list_deep_free(out->answer);
    ldns_rr_list_deep_free(out->soa);
    out->chain = out->dnames = out->answer = out->soa = NULL;
}

int
dr_classify_dname_subst(const uint8_t *name, const uint8_t *owner, const uint8_t *target,
                        uint8_t out[DR_NAME_MAX])
{
    int strip = dr_dname_labels(name) - dr_dname_labels(owner);
    if (strip <= 0)
        return -EINVAL;
    /* The labels of name above owner, then the target. */
    const uint8_t *rest = dr_dname_strip(name, strip);
    size_t head = (size_t)(rest - name);
    size_t tl = dr_dname_len(target);
    if (head + tl > DR_NAME_MAX)
        return -ENAMETOOLONG;
    memcpy(out, name, head);
    memcpy(out + head, target, tl);
    dr_dname_lower(out);
    return (int)(head + tl);
}

static void
push(ldns_rr_list **l, const ldns_rr *rr)
{
    if (*l == NULL)
        *l = ldns_rr_list_new();
    ldns_rr *c = ldns_rr_clone(rr);
    if (*l && c)
        ldns_rr_list_push_rr(*l, c);
    else
        ldns_rr_free(c);
}

/* A DNAME in the answer section owned by a proper ancestor of name, inside zone. */
static const ldns_rr *
find_dname(ldns_rr_list *an, const uint8_t *name, const uint8_t *zone, uint16_t qclass)
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(an, i);
        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_DNAME || ldns_rr_get_class(rr) != qclass)
            continue;
        const uint8_t *o = dr_scrub_name(ldns_rr_owner(rr));
        if (o && dr_dname_is_sub(o, zone) && dr_dname_is_sub(name, o) && !dr_dname_equal(name, o) &&
            dr_scrub_name(ldns_rr_rdf(rr, 0)))
            return rr;
    }
    return NULL;
}

/* Appends DNAME rr and the CNAME it synthesizes for name (RFC 6672 §3.1: TTL of the DNAME)
 * to the chain; writes the new name to next. 0, -ENAMETOOLONG, or -ENOMEM. */
static int
follow_dname(struct dr_classified *out, ldns_rr_list *ans, const ldns_rr *dn, const uint8_t *name,
             uint8_t next[DR_NAME_MAX])
{
    const uint8_t *owner = dr_scrub_name(ldns_rr_owner(dn));
    const uint8_t *target = dr_scrub_name(ldns_rr_rdf(dn, 0));
    int n = dr_classify_dname_subst(name, owner, target, next);
    push(&out->chain, dn); /* YXDOMAIN too: the DNAME is the answer's reason (RFC 6672) */
    dr_scrub_sigs(ans, owner, LDNS_RR_TYPE_DNAME, ldns_rr_get_class(dn), &out->chain);
    push(&out->dnames, dn);
    if (n < 0)
        return n;
    ldns_rr *c = dr_classify_alias_rr(LDNS_RR_TYPE_CNAME, name, next, ldns_rr_get_class(dn),
                                      ldns_rr_ttl(dn));
    if (c == NULL)
        return -ENOMEM;
    if (out->chain)
        ldns_rr_list_push_rr(out->chain, c);
    else
        ldns_rr_free(c);
    return 0;
}

/* Whether an RRSIG in l signs its owner as a wildcard expansion: fewer labels than the
 * owner has (RFC 4034 §3.1.3). */
static bool
expanded(const ldns_rr_list *l)
{
    for (size_t i = 0; l && i < ldns_rr_list_rr_count(l); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(l, i);
        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_RRSIG || ldns_rr_rd_count(rr) < 3 ||
            ldns_rdf_size(ldns_rr_rdf(rr, 2)) != 1)
            continue;
        const uint8_t *owner = ldns_rdf_data(ldns_rr_owner(rr));
        int labels = dr_dname_labels(owner);
        if (owner[0] == 1 && owner[1] == '*')
            labels--;
        if (ldns_rdf_data(ldns_rr_rdf(rr, 2))[0] < labels)
            return true;
    }
    return false;
}

/* The SOA of a negative answer, with its signatures and the NSEC/NSEC3 proof. */
static void
negative(struct dr_classified *out, ldns_pkt *p, const uint8_t *zone, const uint8_t *name)
{
    out->soa = dr_scrub_negative_soa(p, zone, name);
    if (out->soa)
        dr_scrub_denial(p, zone, &out->soa);
}

ldns_rr *
dr_classify_alias_rr(ldns_rr_type type, const uint8_t *owner, const uint8_t *target,
                     uint16_t rclass, uint32_t ttl)
{
    /* ldns_rr_new(), not ldns_rr_new_frm_type(): the latter pre-sizes the rdata with an
     * empty slot, and filling it by push as well left the target in the record twice. */
    ldns_rr *rr = ldns_rr_new();
    ldns_rdf *o = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, dr_dname_len(owner), owner);
    ldns_rdf *t = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, dr_dname_len(target), target);
    if (rr == NULL || o == NULL || t == NULL || !ldns_rr_push_rdf(rr, t)) {
        ldns_rr_free(rr);
        ldns_rdf_deep_free(o);
        ldns_rdf_deep_free(t);
        return NULL;
    }
    ldns_rr_set_owner(rr, o);
    ldns_rr_set_type(rr, type);
    ldns_rr_set_class(rr, rclass);
    ldns_rr_set_ttl(rr, ttl);
    return rr;
}

static void
set_lame(struct dr_classified *out, const char *why)
{
    dr_classified_clear(out);
    out->verdict = DR_VERDICT_LAME;
    out->why = why;
}

void
dr_classify(ldns_pkt *p, const struct dr_classify_in *in, struct dr_classified *out)
{
    memset(out, 0, sizeof(*out));
    static const uint8_t root[1] = {0};
    const uint8_t *zone = in->forwarder ? root : in->zone;
    int rcode = ldns_pkt_get_rcode(p);
    /* YXDOMAIN is believed only where a DNAME in the answer makes a name too long (RFC
     * 6672 section 2.2): the loop below returns that verdict, anything else is lame. */
    if (rcode != DR_RCODE_NOERROR && rcode != DR_RCODE_NXDOMAIN && rcode != RCODE_YXDOMAIN) {
        set_lame(out, rcode == DR_RCODE_REFUSED ? "refused" : "rcode");
        return;
    }
    ldns_rr_list *an = ldns_pkt_answer(p);

    /* Follow the answer section from the name: the data asked for, or CNAME and DNAME
     * links to it, as long as each link's owner is inside the zone. */
    uint8_t name[DR_NAME_MAX];
    dr_dname_copy_lower(name, in->name);
    for (;;) {
        if (!dr_dname_is_sub(name, zone))
            break;
        out->answer = dr_scrub_collect(an, name, (ldns_rr_type)in->qtype, in->qclass);
        if (out->answer && rcode == RCODE_YXDOMAIN)
            break;
        if (out->answer) {
            /* Their signatures, for DO=1 clients (ANY and RRSIG answers hold them already). */
            if (in->qtype != DR_TYPE_ANY && in->qtype != DR_TYPE_RRSIG)
                dr_scrub_sigs(an, name, (ldns_rr_type)in->qtype, in->qclass, &out->answer);
            /* A wildcard expansion is proven by the NSEC/NSEC3 records beside it (RFC 4035
             * §3.1.3.3): the validator needs them, DO=1 clients get them. */
            if (expanded(out->answer) || expanded(out->chain))
                dr_scrub_denial(p, zone, &out->soa);
            out->verdict = DR_VERDICT_ANSWER;
            return;
        }
        if (in->qtype == DR_TYPE_CNAME || in->qtype == DR_TYPE_DNAME)
            break;
        uint8_t next[DR_NAME_MAX];
        const ldns_rr *dn = find_dname(an, name, zone, in->qclass);
        if (dn) {
            if (++out->links > in->max_chain) {
                set_lame(out, "chain");
                return;
            }
            int rc = follow_dname(out, an, dn, name, next);
            if (rc == -ENAMETOOLONG) {
                out->verdict = DR_VERDICT_YXDOMAIN;
                return;
            }
            if (rc < 0) {
                set_lame(out, "nomem");
                return;
            }
            memcpy(name, next, dr_dname_len(next));
            continue;
        }
        ldns_rr_list *cn = dr_scrub_collect(an, name, LDNS_RR_TYPE_CNAME, in->qclass);
        if (cn == NULL)
            break;
        const ldns_rr *c = ldns_rr_list_rr(cn, 0);
        const uint8_t *target = dr_scrub_name(ldns_rr_rdf(c, 0));
        if (target == NULL || ++out->links > in->max_chain) {
            ldns_rr_list_deep_free(cn);
            set_lame(out, "chain");
            return;
        }
        push(&out->chain, c);
        dr_scrub_sigs(an, name, LDNS_RR_TYPE_CNAME, in->qclass, &out->chain);
        dr_dname_copy_lower(name, target);
        ldns_rr_list_deep_free(cn);
    }
    if (rcode == RCODE_YXDOMAIN) {
        set_lame(out, "rcode");
        return;
    }
    if (out->links > 0) {
        /* The chain led to a name without its data here. NXDOMAIN from this zone's server
         * for an in-zone target is final (RFC 6604: the rcode speaks of the last name);
         * anything else continues at the target, through the cache and its own cut. */
        memcpy(out->next, name, dr_dname_len(name));
        if (rcode == DR_RCODE_NXDOMAIN && dr_dname_is_sub(name, zone)) {
            out->verdict = DR_VERDICT_NXDOMAIN;
            negative(out, p, zone, name);
            return;
        }
        if (rcode == DR_RCODE_NOERROR && dr_dname_is_sub(name, zone) && !in->forwarder &&
            ldns_pkt_aa(p) && dr_scrub_referral(p, zone, name) == NULL) {
            /* An authoritative NODATA for the chain's last name. */
            out->verdict = DR_VERDICT_NODATA;
            negative(out, p, zone, name);
            return;
        }
        out->verdict = DR_VERDICT_CNAME;
        if (expanded(out->chain)) /* a link expanded from a wildcard: its proof */
            dr_scrub_denial(p, zone, &out->soa);
        return;
    }
    if (rcode == DR_RCODE_NXDOMAIN) {
        out->verdict = DR_VERDICT_NXDOMAIN;
        negative(out, p, zone, name);
        return;
    }
    const uint8_t *cut = in->forwarder ? NULL : dr_scrub_referral(p, zone, name);
    if (cut && in->qtype == DR_TYPE_DS && dr_dname_equal(cut, name)) {
        /* A referral to the zone whose DS we asked for: the parent should have answered
         * itself, and the child's answer would be about the wrong side of the cut. */
        set_lame(out, "ds_referral");
        return;
    }
    if (cut) {
        out->verdict = DR_VERDICT_REFERRAL;
        dr_dname_copy_lower(out->cut, cut);
        return;
    }
    negative(out, p, zone, name);
    if (in->forwarder && out->soa == NULL && !ldns_pkt_ra(p) &&
        dr_scrub_referral(p, zone, name) != NULL) {
        /* A "forwarder" that refers instead of recursing: not an empty answer. */
        set_lame(out, "not_recursive");
        return;
    }
    if (out->soa || ldns_pkt_aa(p) || in->forwarder) {
        out->verdict = DR_VERDICT_NODATA;
        return;
    }
    set_lame(out, "lame");
}
