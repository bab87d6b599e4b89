#include "resolver/dnskey.h"

#include <errno.h>
#include <string.h>

#include "resolver/dname.h"
#include "resolver/rrsig.h"
#include "resolver/scrub.h"

int
dr_dnskey_parse(const ldns_rr *rr, struct dr_dnskey *out)
{
    if (rr == NULL || ldns_rr_get_type(rr) != LDNS_RR_TYPE_DNSKEY || ldns_rr_rd_count(rr) != 4)
        return -EINVAL;
    const ldns_rdf *f = ldns_rr_rdf(rr, 0), *p = ldns_rr_rdf(rr, 1), *a = ldns_rr_rdf(rr, 2),
                   *k = ldns_rr_rdf(rr, 3);
    if (ldns_rdf_size(f) != 2 || ldns_rdf_size(p) != 1 || ldns_rdf_size(a) != 1 ||
        ldns_rdf_size(k) == 0)
        return -EINVAL;
    const uint8_t *fd = ldns_rdf_data(f);
    out->flags = (uint16_t)(fd[0] << 8 | fd[1]);
    out->protocol = ldns_rdf_data(p)[0];
    out->alg = ldns_rdf_data(a)[0];
    out->key = ldns_rdf_data(k);
    out->keylen = ldns_rdf_size(k);
    return 0;
}

/* The key's RDATA in wire form (flags, protocol, algorithm, key) into buf; its length or 0
 * when it does not fit. */
static size_t
key_rdata(const struct dr_dnskey *k, uint8_t *buf, size_t size)
{
    if (k->keylen + 4 > size)
        return 0;
    buf[0] = (uint8_t)(k->flags >> 8);
    buf[1] = (uint8_t)k->flags;
    buf[2] = k->protocol;
    buf[3] = k->alg;
    memcpy(buf + 4, k->key, k->keylen);
    return k->keylen + 4;
}

int
dr_dnskey_tag(const ldns_rr *rr)
{
    struct dr_dnskey k;
    if (dr_dnskey_parse(rr, &k) < 0)
        return -EINVAL;
    if (k.alg == 1) {
        /* RSA/MD5 (RFC 4034 Appendix B.1): the third-to-last and second-to-last key bytes. */
        if (k.keylen < 3)
            return -EINVAL;
        return (k.key[k.keylen - 3] << 8) | k.key[k.keylen - 2];
    }
    uint32_t ac = (uint32_t)k.flags + ((uint32_t)k.protocol << 8) + k.alg;
    for (size_t i = 0; i < k.keylen; i++)
        ac += (i & 1) ? k.key[i] : (uint32_t)k.key[i] << 8;
    ac += ac >> 16;
    return (int)(ac & 0xffff);
}

bool
dr_dnskey_usable(const ldns_rr *rr)
{
    struct dr_dnskey k;
    return dr_dnskey_parse(rr, &k) == 0 && k.protocol == 3 && (k.flags & DR_DNSKEY_ZONE) &&
           !(k.flags & DR_DNSKEY_REVOKE);
}

/* A DS record's fields; digest points into the record. */
struct ds {
    uint16_t tag;
    uint8_t alg, type;
    const uint8_t *digest;
    size_t len;
};

static int
ds_parse(const ldns_rr *rr, struct ds *out)
{
    if (rr == NULL || ldns_rr_get_type(rr) != LDNS_RR_TYPE_DS || ldns_rr_rd_count(rr) != 4)
        return -EINVAL;
    const ldns_rdf *t = ldns_rr_rdf(rr, 0), *a = ldns_rr_rdf(rr, 1), *d = ldns_rr_rdf(rr, 2),
                   *g = ldns_rr_rdf(rr, 3);
    if (ldns_rdf_size(t) != 2 || ldns_rdf_size(a) != 1 || ldns_rdf_size(d) != 1)
        return -EINVAL;
    out->tag = (uint16_t)(ldns_rdf_data(t)[0] << 8 | ldns_rdf_data(t)[1]);
    out->alg = ldns_rdf_data(a)[0];
    out->type = ldns_rdf_data(d)[0];
    out->digest = ldns_rdf_data(g);
    out->len = ldns_rdf_size(g);
    return 0;
}

static bool
ds_checkable(const struct ds *d)
{
    return dr_dnssec_digest_supported(d->type) && dr_dnssec_alg_supported(d->alg);
}

int
dr_dnskey_match_ds(const ldns_rr *key, const ldns_rr *ds)
{
    struct dr_dnskey k;
    struct ds d;
    const uint8_t *kowner = dr_scrub_name(ldns_rr_owner(key));
    const uint8_t *downer = dr_scrub_name(ldns_rr_owner(ds));
    if (dr_dnskey_parse(key, &k) < 0 || ds_parse(ds, &d) < 0 || !kowner || !downer)
        return -EINVAL;
    if (!ds_checkable(&d))
        return -ENOTSUP;
    if (d.alg != k.alg || d.tag != dr_dnskey_tag(key) || !dr_dname_equal(kowner, downer) ||
        d.len != dr_dnssec_digest_len(d.type))
        return 0;
    /* RFC 4034 §5.1.4: digest = hash(canonical owner | DNSKEY RDATA). The largest key
     * duet verifies is a 4096-bit RSA one; a bigger record simply cannot match. */
    uint8_t buf[DR_NAME_MAX + 4 + 1024], md[64];
    size_t n = dr_dname_copy_lower(buf, kowner);
    size_t r = key_rdata(&k, buf + n, sizeof(buf) - n);
    if (r == 0)
        return 0;
    int mdlen = dr_dnssec_digest(d.type, buf, n + r, md);
    if (mdlen < 0)
        return mdlen;
    return (size_t)mdlen == d.len && memcmp(md, d.digest, d.len) == 0;
}

enum dr_sec
dr_dnskey_sep(const ldns_rr_list *dnskeys, const ldns_rr_list *ds, ldns_rr_list **sep,
              enum dr_why *why)
{
    bool digest_ok = false, checkable = false;
    *sep = NULL;
    for (size_t i = 0; i < ldns_rr_list_rr_count(ds); i++) {
        struct ds d;
        if (ds_parse(ldns_rr_list_rr(ds, i), &d) < 0)
            continue;
        digest_ok |= dr_dnssec_digest_supported(d.type);
        if (!ds_checkable(&d))
            continue;
        checkable = true;
        for (size_t j = 0; j < ldns_rr_list_rr_count(dnskeys); j++) {
            ldns_rr *key = ldns_rr_list_rr(dnskeys, j);
            if (!dr_dnskey_usable(key) || dr_dnskey_match_ds(key, ldns_rr_list_rr(ds, i)) != 1)
                continue;
            bool dup = false;
            for (size_t m = 0; *sep && m < ldns_rr_list_rr_count(*sep); m++)
                dup |= ldns_rr_list_rr(*sep, m) == key;
            if (dup)
                continue;
            if (*sep == NULL)
                *sep = ldns_rr_list_new();
            if (*sep == NULL || !ldns_rr_list_push_rr(*sep, key)) {
                ldns_rr_list_free(*sep);
                *sep = NULL;
                *why = DR_WHY_MALFORMED;
                return DR_SEC_BOGUS;
            }
        }
    }
    if (*sep) {
        *why = DR_WHY_NONE;
        return DR_SEC_SECURE;
    }
    if (!checkable && ldns_rr_list_rr_count(ds) > 0) {
        *why = digest_ok ? DR_WHY_UNSUPPORTED_ALG : DR_WHY_UNSUPPORTED_DIGEST;
        return DR_SEC_INSECURE;
    }
    *why = DR_WHY_NO_DS_MATCH;
    return DR_SEC_BOGUS;
}

enum dr_sec
dr_dnskey_verify_set(const ldns_rr_list *dnskeys, const ldns_rr_list *rrsigs,
                     const ldns_rr_list *ds, int64_t now, uint32_t skew, enum dr_why *why)
{
    ldns_rr_list *sep;
    enum dr_sec sec = dr_dnskey_sep(dnskeys, ds, &sep, why);
    if (sec != DR_SEC_SECURE)
        return sec;
    const uint8_t *zone = dr_scrub_name(ldns_rr_owner(ldns_rr_list_rr(sep, 0)));
    struct dr_rrsig_result res;
    sec = dr_rrsig_verify(dnskeys, rrsigs, sep, zone, now, skew, &res);
    ldns_rr_list_free(sep);
    *why = res.why;
    /* The entry points' algorithms are all supported: anything but SECURE is BOGUS. */
    return sec == DR_SEC_SECURE ? DR_SEC_SECURE : DR_SEC_BOGUS;
}
