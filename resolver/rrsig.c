#include "resolver/rrsig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "resolver/dnskey.h"
#include "resolver/scrub.h"

static uint32_t
get32(const ldns_rdf *r)
{
    const uint8_t *p = ldns_rdf_data(r);
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int
dr_rrsig_parse(const ldns_rr *rr, struct dr_rrsig *out)
{
    static const size_t sizes[8] = {2, 1, 1, 4, 4, 4, 2, 0};
    if (rr == NULL || ldns_rr_get_type(rr) != LDNS_RR_TYPE_RRSIG || ldns_rr_rd_count(rr) != 9)
        return -EINVAL;
    for (size_t i = 0; i < 7; i++)
        if (ldns_rdf_size(ldns_rr_rdf(rr, i)) != sizes[i])
            return -EINVAL;
    const uint8_t *tc = ldns_rdf_data(ldns_rr_rdf(rr, 0));
    const uint8_t *kt = ldns_rdf_data(ldns_rr_rdf(rr, 6));
    out->type_covered = (uint16_t)(tc[0] << 8 | tc[1]);
    out->alg = ldns_rdf_data(ldns_rr_rdf(rr, 1))[0];
    out->labels = ldns_rdf_data(ldns_rr_rdf(rr, 2))[0];
    out->orig_ttl = get32(ldns_rr_rdf(rr, 3));
    out->expiration = get32(ldns_rr_rdf(rr, 4));
    out->inception = get32(ldns_rr_rdf(rr, 5));
    out->key_tag = (uint16_t)(kt[0] << 8 | kt[1]);
    out->signer = dr_scrub_name(ldns_rr_rdf(rr, 7));
    out->sig = ldns_rdf_data(ldns_rr_rdf(rr, 8));
    out->siglen = ldns_rdf_size(ldns_rr_rdf(rr, 8));
    if (out->signer == NULL || out->siglen == 0)
        return -EINVAL;
    return 0;
}

int
dr_rrsig_wildcard(const uint8_t *owner, uint8_t labels, uint8_t encloser[DR_NAME_MAX])
{
    int total = dr_dname_labels(owner);
    int n = total - (owner[0] == 1 && owner[1] == '*'); /* RFC 4034 §3.1.3 */
    if (labels > n)
        return -EBADMSG;
    if (labels == n)
        return 0;
    const uint8_t *x = dr_dname_strip(owner, total - labels);
    memcpy(encloser, x, dr_dname_len(x));
    return 1;
}

/* One RR of the signed data, in canonical wire form; rdata starts at rdoff. */
struct canon {
    uint8_t *wire;
    size_t len, rdoff;
};

static int
canon_cmp(const void *pa, const void *pb)
{
    const struct canon *a = pa, *b = pb;
    size_t la = a->len - a->rdoff, lb = b->len - b->rdoff;
    int c = memcmp(a->wire + a->rdoff, b->wire + b->rdoff, la < lb ? la : lb);
    if (c != 0)
        return c;
    return la < lb ? -1 : la > lb;
}

/*
 * The data an RRSIG signs (RFC 4034 §3.1.8.1): its RDATA without the signature, then each RR
 * with the owner lower-cased (or the wildcard *.X it was expanded from), the original TTL,
 * names in RDATA lower-cased for the types RFC 4034 §6.2 lists (ldns_rr2buffer_wire_canonical
 * knows them), sorted by RDATA, duplicates once. Returns a new buffer or NULL (no memory).
 */
static ldns_buffer *
signed_data(const ldns_rr_list *rrset, const ldns_rr *sigrr, const struct dr_rrsig *s,
            const uint8_t *wild)
{
    size_t n = ldns_rr_list_rr_count(rrset);
    ldns_buffer *out = ldns_buffer_new(1024);
    struct canon *c = calloc(n, sizeof(*c));
    ldns_rdf *wild_rdf = wild ? ldns_dname_new_frm_data((uint16_t)dr_dname_len(wild), wild) : NULL;
    bool ok = out && c && (!wild || wild_rdf);
    for (size_t i = 0; ok && i < 8; i++)
        ok = ldns_rdf2buffer_wire_canonical(out, ldns_rr_rdf(sigrr, i)) == LDNS_STATUS_OK;
    for (size_t i = 0; ok && i < n; i++) {
        ldns_rr *rr = ldns_rr_clone(ldns_rr_list_rr(rrset, i));
        ldns_buffer *b = ldns_buffer_new(512);
        ok = rr && b;
        if (ok) {
            if (wild_rdf) {
                ldns_rdf_deep_free(ldns_rr_owner(rr));
                ldns_rr_set_owner(rr, ldns_rdf_clone(wild_rdf));
            }
            ldns_rr_set_ttl(rr, s->orig_ttl);
            ok = ldns_rr_owner(rr) &&
                 ldns_rr2buffer_wire_canonical(b, rr, LDNS_SECTION_ANSWER) == LDNS_STATUS_OK &&
                 ldns_buffer_status_ok(b);
        }
        if (ok) {
            c[i].len = ldns_buffer_position(b);
            c[i].rdoff = ldns_rdf_size(ldns_rr_owner(rr)) + 10;
            c[i].wire = ldns_buffer_export(b);
            ok = c[i].wire && c[i].len >= c[i].rdoff;
        }
        ldns_buffer_free(b);
        ldns_rr_free(rr);
    }
    if (ok) {
        qsort(c, n, sizeof(*c), canon_cmp);
        for (size_t i = 0; ok && i < n; i++)
            if (i == 0 || canon_cmp(&c[i - 1], &c[i]) != 0)
                ok = ldns_buffer_reserve(out, c[i].len) &&
                     (ldns_buffer_write(out, c[i].wire, c[i].len), true);
    }
    for (size_t i = 0; c && i < n; i++)
        free(c[i].wire);
    free(c);
    ldns_rdf_deep_free(wild_rdf);
    if (!ok || !ldns_buffer_status_ok(out)) {
        ldns_buffer_free(out);
        return NULL;
    }
    return out;
}

/* rrset is one RRset: at least one record, one owner, class and type, no RRSIG. Returns its
 * owner or NULL. */
static const uint8_t *
rrset_owner(const ldns_rr_list *rrset)
{
    size_t n = ldns_rr_list_rr_count(rrset);
    if (n == 0)
        return NULL;
    const ldns_rr *first = ldns_rr_list_rr(rrset, 0);
    const uint8_t *owner = dr_scrub_name(ldns_rr_owner(first));
    if (owner == NULL || ldns_rr_get_type(first) == LDNS_RR_TYPE_RRSIG)
        return NULL;
    for (size_t i = 1; i < n; i++) {
        const ldns_rr *rr = ldns_rr_list_rr(rrset, i);
        if (ldns_rr_get_type(rr) != ldns_rr_get_type(first) ||
            ldns_rr_get_class(rr) != ldns_rr_get_class(first) || !dr_scrub_owner_is(rr, owner))
            return NULL;
    }
    return owner;
}

/* How close a failed RRSIG came: the reason of the highest rank is reported. */
static int
why_rank(enum dr_why w)
{
    switch (w) {
    case DR_WHY_BAD_SIG:
        return 5;
    case DR_WHY_SIG_EXPIRED:
    case DR_WHY_SIG_NOT_YET:
        return 4;
    case DR_WHY_NO_KEY:
        return 3;
    case DR_WHY_SIGNER:
        return 2;
    case DR_WHY_MALFORMED:
        return 1;
    default:
        return 0;
    }
}

/* Checks everything about one RRSIG but the signature; DR_WHY_NONE when it may be tried. */
static enum dr_why
check_sig(const struct dr_rrsig *s, const uint8_t *owner, const uint8_t *zone, int64_t now,
          uint32_t skew)
{
    if (!dr_dname_equal(s->signer, zone) || !dr_dname_is_sub(owner, s->signer))
        return DR_WHY_SIGNER;
    uint8_t enc[DR_NAME_MAX];
    if (dr_rrsig_wildcard(owner, s->labels, enc) < 0 || (int32_t)(s->expiration - s->inception) < 0)
        return DR_WHY_MALFORMED;
    /* RFC 4034 §3.1.5: serial number arithmetic around now. */
    uint32_t t = (uint32_t)now;
    if ((int64_t)(int32_t)(s->inception - t) > (int64_t)skew)
        return DR_WHY_SIG_NOT_YET;
    if ((int64_t)(int32_t)(s->expiration - t) < -(int64_t)skew)
        return DR_WHY_SIG_EXPIRED;
    return DR_WHY_NONE;
}

static uint32_t
min32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

enum dr_sec
dr_rrsig_verify(const ldns_rr_list *rrset, const ldns_rr_list *rrsigs, const ldns_rr_list *keys,
                const uint8_t *zone, int64_t now, uint32_t skew, struct dr_rrsig_result *out)
{
    memset(out, 0, sizeof(*out));
    out->sec = DR_SEC_BOGUS;
    const uint8_t *owner = rrset_owner(rrset);
    if (owner == NULL || zone == NULL) {
        out->why = DR_WHY_MALFORMED;
        return out->sec;
    }
    const ldns_rr *first = ldns_rr_list_rr(rrset, 0);
    bool keys_supported = false, keys_any = false;
    for (size_t k = 0; k < ldns_rr_list_rr_count(keys); k++) {
        struct dr_dnskey dk;
        const ldns_rr *key = ldns_rr_list_rr(keys, k);
        if (dr_dnskey_usable(key) && dr_dnskey_parse(key, &dk) == 0) {
            keys_any = true;
            keys_supported |= dr_dnssec_alg_supported(dk.alg);
        }
    }
    if (keys_any && !keys_supported) {
        out->sec = DR_SEC_INSECURE;
        out->why = DR_WHY_UNSUPPORTED_ALG;
        return out->sec;
    }

    enum dr_why best = DR_WHY_NO_RRSIG;
    int tries = 0;
    for (size_t i = 0; i < ldns_rr_list_rr_count(rrsigs); i++) {
        const ldns_rr *sigrr = ldns_rr_list_rr(rrsigs, i);
        struct dr_rrsig s;
        if (dr_rrsig_parse(sigrr, &s) < 0) {
            if (ldns_rr_get_type(sigrr) == LDNS_RR_TYPE_RRSIG && dr_scrub_owner_is(sigrr, owner) &&
                why_rank(best) < why_rank(DR_WHY_MALFORMED))
                best = DR_WHY_MALFORMED;
            continue;
        }
        if (s.type_covered != ldns_rr_get_type(first) || !dr_scrub_owner_is(sigrr, owner) ||
            ldns_rr_get_class(sigrr) != ldns_rr_get_class(first))
            continue;
        if (!dr_dnssec_alg_supported(s.alg))
            continue; /* as if absent (RFC 4035 §5.3.1 cannot be checked) */
        enum dr_why w = check_sig(&s, owner, zone, now, skew);
        if (w != DR_WHY_NONE) {
            if (why_rank(w) > why_rank(best))
                best = w;
            continue;
        }
        /* Key tags collide: every key with the tag and algorithm is tried (within budget). */
        w = DR_WHY_NO_KEY;
        ldns_buffer *data = NULL;
        bool wild = false;
        uint8_t enc[DR_NAME_MAX], wname[DR_NAME_MAX];
        for (size_t k = 0; k < ldns_rr_list_rr_count(keys); k++) {
            const ldns_rr *key = ldns_rr_list_rr(keys, k);
            struct dr_dnskey dk;
            if (!dr_dnskey_usable(key) || dr_dnskey_parse(key, &dk) < 0 || dk.alg != s.alg ||
                dr_dnskey_tag(key) != s.key_tag || !dr_scrub_owner_is(key, s.signer))
                continue;
            if (tries >= DR_RRSIG_MAX_VERIFY) {
                w = DR_WHY_BAD_SIG;
                break;
            }
            if (data == NULL) {
                wild = dr_rrsig_wildcard(owner, s.labels, enc) == 1;
                if (wild) {
                    wname[0] = 1;
                    wname[1] = '*';
                    memcpy(wname + 2, enc, dr_dname_len(enc));
                }
                data = signed_data(rrset, sigrr, &s, wild ? wname : NULL);
                if (data == NULL) {
                    w = DR_WHY_MALFORMED;
                    break;
                }
            }
            tries++;
            int rc = dr_dnssec_verify(s.alg, dk.key, dk.keylen, s.sig, s.siglen,
                                      ldns_buffer_begin(data), ldns_buffer_position(data));
            if (rc == 0) {
                uint32_t ttl = min32(s.orig_ttl, ldns_rr_ttl(sigrr));
                for (size_t r = 0; r < ldns_rr_list_rr_count(rrset); r++)
                    ttl = min32(ttl, ldns_rr_ttl(ldns_rr_list_rr(rrset, r)));
                int32_t left = (int32_t)(s.expiration - (uint32_t)now);
                out->ttl = min32(ttl, left > 0 ? (uint32_t)left : 0);
                out->key_tag = s.key_tag;
                out->wildcard = wild;
                if (wild)
                    memcpy(out->encloser, enc, dr_dname_len(enc));
                out->sec = DR_SEC_SECURE;
                out->why = DR_WHY_NONE;
                ldns_buffer_free(data);
                return out->sec;
            }
            w = DR_WHY_BAD_SIG;
        }
        ldns_buffer_free(data);
        if (why_rank(w) > why_rank(best))
            best = w;
    }
    out->why = best;
    return out->sec;
}
