#include "resolver/nsec3.h"

#include <errno.h>
#include <string.h>

#include <openssl/evp.h>

#include "resolver/nsec.h"
#include "resolver/scrub.h"

int
dr_nsec3_hash(const uint8_t *name, uint8_t alg, uint16_t iterations, const uint8_t *salt,
              size_t saltlen, uint8_t out[DR_NSEC3_HASH_LEN])
{
    if (alg != 1)
        return -ENOTSUP;
    uint8_t buf[DR_NAME_MAX + 255];
    size_t n = dr_dname_copy_lower(buf, name);
    if (saltlen > 255)
        return -EINVAL;
    /* IH(salt, x, 0) = H(x || salt); IH(salt, x, k) = H(IH(salt, x, k-1) || salt). */
    for (unsigned i = 0; i <= iterations; i++) {
        if (i > 0) {
            memcpy(buf, out, DR_NSEC3_HASH_LEN);
            n = DR_NSEC3_HASH_LEN;
        }
        if (saltlen > 0) /* no salt (RFC 9276's advice): salt may be NULL */
            memcpy(buf + n, salt, saltlen);
        unsigned int len = 0;
        if (EVP_Digest(buf, n + saltlen, out, &len, EVP_sha1(), NULL) != 1)
            return -ENOMEM;
    }
    return DR_NSEC3_HASH_LEN;
}

int
dr_nsec3_b32_decode(const uint8_t *text, size_t len, uint8_t *out, size_t size)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t w = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = text[i], v;
        if (c >= '0' && c <= '9')
            v = (uint8_t)(c - '0');
        else if (c >= 'a' && c <= 'v')
            v = (uint8_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'V')
            v = (uint8_t)(c - 'A' + 10);
        else
            return -EINVAL;
        acc = (acc << 5) | v;
        bits += 5;
        if (bits >= 8) {
            if (w == size)
                return -EINVAL;
            bits -= 8;
            out[w++] = (uint8_t)(acc >> bits);
        }
    }
    if (bits >= 5 || (acc & ((1u << bits) - 1)) != 0)
        return -EINVAL; /* leftover bits must be zero padding */
    return (int)w;
}

/* One usable NSEC3 record, decoded. */
struct n3 {
    const ldns_rr *rr;
    uint8_t owner[DR_NSEC3_HASH_LEN], next[DR_NSEC3_HASH_LEN];
    uint8_t flags, alg;
    uint16_t iterations;
    const uint8_t *salt;
    size_t saltlen;
};

/* Decodes rr when it is an NSEC3 of zone with a SHA-1 sized hash; false otherwise. */
static bool
n3_parse(const ldns_rr *rr, const uint8_t *zone, struct n3 *out)
{
    const uint8_t *owner = dr_scrub_name(ldns_rr_owner(rr));
    if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NSEC3 || ldns_rr_rd_count(rr) < 5 || !owner ||
        owner[0] != 32 || !dr_dname_equal(owner + 33, zone))
        return false;
    const ldns_rdf *a = ldns_rr_rdf(rr, 0), *f = ldns_rr_rdf(rr, 1), *it = ldns_rr_rdf(rr, 2),
                   *s = ldns_rr_rdf(rr, 3), *nx = ldns_rr_rdf(rr, 4);
    if (ldns_rdf_size(a) != 1 || ldns_rdf_size(f) != 1 || ldns_rdf_size(it) != 2 ||
        ldns_rdf_size(s) < 1 || ldns_rdf_size(s) != 1u + ldns_rdf_data(s)[0] ||
        ldns_rdf_size(nx) != 1 + DR_NSEC3_HASH_LEN || ldns_rdf_data(nx)[0] != DR_NSEC3_HASH_LEN)
        return false;
    if (dr_nsec3_b32_decode(owner + 1, 32, out->owner, sizeof(out->owner)) != DR_NSEC3_HASH_LEN)
        return false;
    out->rr = rr;
    memcpy(out->next, ldns_rdf_data(nx) + 1, DR_NSEC3_HASH_LEN);
    out->alg = ldns_rdf_data(a)[0];
    out->flags = ldns_rdf_data(f)[0];
    out->iterations = (uint16_t)(ldns_rdf_data(it)[0] << 8 | ldns_rdf_data(it)[1]);
    out->saltlen = ldns_rdf_data(s)[0];
    out->salt = ldns_rdf_data(s) + 1;
    return true;
}

static bool
same_params(const struct n3 *a, const struct n3 *b)
{
    return a->alg == b->alg && a->iterations == b->iterations && a->saltlen == b->saltlen &&
           memcmp(a->salt, b->salt, a->saltlen) == 0;
}

/* The state of one proof: the usable records (same parameters) and a hash budget. */
struct proof {
    const ldns_rr_list *list;
    const uint8_t *zone;
    struct n3 params;
    int hashes;
};

/* Finds the parameters. SECURE when some record is usable; otherwise the verdict. */
static enum dr_sec
proof_init(struct proof *p, const ldns_rr_list *list, const uint8_t *zone, uint16_t max_iter,
           enum dr_why *why)
{
    bool unknown_alg = false;
    memset(p, 0, sizeof(*p));
    p->list = list;
    p->zone = zone;
    for (size_t i = 0; i < ldns_rr_list_rr_count(list); i++) {
        struct n3 r;
        if (!n3_parse(ldns_rr_list_rr(list, i), zone, &r) || r.flags > 1)
            continue;
        if (r.alg != 1) {
            unknown_alg = true;
            continue;
        }
        p->params = r;
        if (r.iterations > max_iter) {
            *why = DR_WHY_NSEC3_ITERATIONS;
            return DR_SEC_INSECURE;
        }
        *why = DR_WHY_NONE;
        return DR_SEC_SECURE;
    }
    *why = unknown_alg ? DR_WHY_NSEC3_HASH : DR_WHY_NO_NSEC;
    return unknown_alg ? DR_SEC_INSECURE : DR_SEC_BOGUS;
}

/* Hashes name with the proof's parameters; false when the budget is spent. */
static bool
proof_hash(struct proof *p, const uint8_t *name, uint8_t h[DR_NSEC3_HASH_LEN])
{
    if (p->hashes >= DR_NSEC3_MAX_HASHES)
        return false;
    p->hashes++;
    return dr_nsec3_hash(name, 1, p->params.iterations, p->params.salt, p->params.saltlen, h) ==
           DR_NSEC3_HASH_LEN;
}

/* The record whose owner hash is h (match) or whose span covers h (cover), or false. */
static bool
proof_find(const struct proof *p, const uint8_t h[DR_NSEC3_HASH_LEN], bool cover, struct n3 *out)
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(p->list); i++) {
        struct n3 r;
        if (!n3_parse(ldns_rr_list_rr(p->list, i), p->zone, &r) || r.flags > 1 ||
            !same_params(&r, &p->params))
            continue;
        int lo = memcmp(r.owner, h, DR_NSEC3_HASH_LEN);
        if (!cover) {
            if (lo == 0) {
                *out = r;
                return true;
            }
            continue;
        }
        int hi = memcmp(h, r.next, DR_NSEC3_HASH_LEN);
        bool wraps = memcmp(r.owner, r.next, DR_NSEC3_HASH_LEN) >= 0;
        if (wraps ? (lo < 0 || hi < 0) : (lo < 0 && hi < 0)) {
            *out = r;
            return true;
        }
    }
    return false;
}

/* Hashes name and finds its matching (cover false) or covering record. */
static bool
proof_lookup(struct proof *p, const uint8_t *name, bool cover, struct n3 *out)
{
    uint8_t h[DR_NSEC3_HASH_LEN];
    return proof_hash(p, name, h) && proof_find(p, h, cover, out);
}

static bool
has(const struct n3 *r, uint16_t type)
{
    return dr_nsec_has_type(r->rr, type);
}

/* RFC 5155 §8.3: walk up from qname to the first ancestor with a matching NSEC3; the name
 * one label below it (the next closer) must be covered. */
static enum dr_sec
ce_proof(struct proof *p, const uint8_t *qname, struct dr_nsec3_ce *out, enum dr_why *why)
{
    int labels = dr_dname_labels(qname), zl = dr_dname_labels(p->zone);
    *why = DR_WHY_NO_NSEC;
    if (!dr_dname_is_sub(qname, p->zone))
        return DR_SEC_BOGUS;
    for (int i = 0; i <= labels - zl; i++) {
        const uint8_t *name = dr_dname_strip(qname, i);
        struct n3 m, c;
        if (!proof_lookup(p, name, false, &m)) {
            if (p->hashes >= DR_NSEC3_MAX_HASHES)
                return DR_SEC_BOGUS;
            continue;
        }
        if (i == 0)
            return DR_SEC_BOGUS; /* qname exists */
        /* An encloser that is a delegation or a DNAME cannot speak for names below: bogus,
         * unless it is a provably unsigned delegation, below which everything is insecure
         * anyway (as Unbound's nsec3_prove_closest_encloser decides). */
        if (has(&m, LDNS_RR_TYPE_DNAME))
            return DR_SEC_BOGUS;
        if (has(&m, LDNS_RR_TYPE_NS) && !has(&m, LDNS_RR_TYPE_SOA)) {
            if (has(&m, LDNS_RR_TYPE_DS))
                return DR_SEC_BOGUS;
            *why = DR_WHY_UNSIGNED_CUT;
            return DR_SEC_INSECURE;
        }
        const uint8_t *next = dr_dname_strip(qname, i - 1);
        if (!proof_lookup(p, next, true, &c))
            return DR_SEC_BOGUS;
        memcpy(out->ce, name, dr_dname_len(name));
        out->next = next;
        out->optout = c.flags & 1;
        *why = DR_WHY_NONE;
        return DR_SEC_SECURE;
    }
    return DR_SEC_BOGUS;
}

/* The chain's parameters checked, then the closest encloser proof for qname. */
static enum dr_sec
proof_with_ce(struct proof *p, const ldns_rr_list *nsec3s, const uint8_t *zone,
              const uint8_t *qname, uint16_t max_iter, struct dr_nsec3_ce *ce, enum dr_why *why)
{
    enum dr_sec s = proof_init(p, nsec3s, zone, max_iter, why);
    return s == DR_SEC_SECURE ? ce_proof(p, qname, ce, why) : s;
}

enum dr_sec
dr_nsec3_closest_encloser(const ldns_rr_list *nsec3s, const uint8_t *zone, const uint8_t *qname,
                          uint16_t max_iter, struct dr_nsec3_ce *out, enum dr_why *why)
{
    struct proof p;
    return proof_with_ce(&p, nsec3s, zone, qname, max_iter, out, why);
}

static enum dr_sec
fail(enum dr_why *why)
{
    *why = DR_WHY_NO_NSEC;
    return DR_SEC_BOGUS;
}

enum dr_sec
dr_nsec3_nxdomain(const ldns_rr_list *nsec3s, const uint8_t *zone, const uint8_t *qname,
                  uint16_t max_iter, enum dr_why *why)
{
    struct proof p;
    struct dr_nsec3_ce ce;
    struct n3 w;
    uint8_t wild[DR_NAME_MAX];
    enum dr_sec s = proof_with_ce(&p, nsec3s, zone, qname, max_iter, &ce, why);
    if (s != DR_SEC_SECURE)
        return s;
    if (!dr_dname_wildcard(ce.ce, wild) || !proof_lookup(&p, wild, true, &w))
        return fail(why);
    /* An opt-out span may hide an unsigned delegation at the next closer name. */
    if (ce.optout) {
        *why = DR_WHY_OPTOUT;
        return DR_SEC_INSECURE;
    }
    return DR_SEC_SECURE;
}

/* The matching record denies qtype (as resolver/nsec.c's rule for NSEC). */
static bool
denies(const struct n3 *m, uint16_t qtype)
{
    if (has(m, qtype) || has(m, LDNS_RR_TYPE_CNAME))
        return false;
    bool ns = has(m, LDNS_RR_TYPE_NS), soa = has(m, LDNS_RR_TYPE_SOA);
    if (qtype == LDNS_RR_TYPE_DS)
        return !soa;
    return !(ns && !soa) && !has(m, LDNS_RR_TYPE_DNAME);
}

enum dr_sec
dr_nsec3_nodata(const ldns_rr_list *nsec3s, const uint8_t *zone, const uint8_t *qname,
                uint16_t qtype, uint16_t max_iter, enum dr_why *why)
{
    struct proof p;
    struct n3 m;
    enum dr_sec s = proof_init(&p, nsec3s, zone, max_iter, why);
    if (s != DR_SEC_SECURE)
        return s;
    if (proof_lookup(&p, qname, false, &m))
        return denies(&m, qtype) ? DR_SEC_SECURE : fail(why);
    if (qtype != LDNS_RR_TYPE_DS)
        return fail(why);
    struct dr_nsec3_ce ce;
    s = ce_proof(&p, qname, &ce, why);
    if (s != DR_SEC_SECURE)
        return s;
    if (!ce.optout)
        return fail(why);
    *why = DR_WHY_OPTOUT;
    return DR_SEC_INSECURE;
}

enum dr_sec
dr_nsec3_wildcard_nodata(const ldns_rr_list *nsec3s, const uint8_t *zone, const uint8_t *qname,
                         uint16_t qtype, uint16_t max_iter, enum dr_why *why)
{
    struct proof p;
    struct dr_nsec3_ce ce;
    struct n3 m;
    uint8_t wild[DR_NAME_MAX];
    enum dr_sec s = proof_with_ce(&p, nsec3s, zone, qname, max_iter, &ce, why);
    if (s != DR_SEC_SECURE)
        return s;
    if (!dr_dname_wildcard(ce.ce, wild) || !proof_lookup(&p, wild, false, &m) || !denies(&m, qtype))
        return fail(why);
    return DR_SEC_SECURE;
}

enum dr_sec
dr_nsec3_wildcard_answer(const ldns_rr_list *nsec3s, const uint8_t *zone, const uint8_t *qname,
                         const uint8_t *encloser, uint16_t max_iter, enum dr_why *why)
{
    struct proof p;
    struct n3 c;
    enum dr_sec s = proof_init(&p, nsec3s, zone, max_iter, why);
    if (s != DR_SEC_SECURE)
        return s;
    int ql = dr_dname_labels(qname), el = dr_dname_labels(encloser);
    if (ql <= el || !dr_dname_is_sub(qname, encloser) || !dr_dname_is_sub(encloser, zone))
        return fail(why);
    const uint8_t *next = dr_dname_strip(qname, ql - el - 1);
    if (!proof_lookup(&p, next, true, &c))
        return fail(why);
    /* An opt-out span may hide an unsigned delegation the name lies under: the answer
     * cannot be proven (Unbound and RFC 5155 §9.2 treat it as insecure). */
    if (c.flags & 1) {
        *why = DR_WHY_OPTOUT;
        return DR_SEC_INSECURE;
    }
    return DR_SEC_SECURE;
}

enum dr_sec
dr_nsec3_insecure_delegation(const ldns_rr_list *nsec3s, const uint8_t *zone, const uint8_t *cut,
                             uint16_t max_iter, enum dr_why *why)
{
    struct proof p;
    struct n3 m;
    enum dr_sec s = proof_init(&p, nsec3s, zone, max_iter, why);
    if (s != DR_SEC_SECURE)
        return s;
    if (proof_lookup(&p, cut, false, &m))
        return has(&m, LDNS_RR_TYPE_NS) && !has(&m, LDNS_RR_TYPE_DS) && !has(&m, LDNS_RR_TYPE_SOA)
                   ? DR_SEC_SECURE
                   : fail(why);
    struct dr_nsec3_ce ce;
    s = ce_proof(&p, cut, &ce, why);
    if (s != DR_SEC_SECURE)
        return s;
    if (!ce.optout)
        return fail(why);
    *why = DR_WHY_OPTOUT;
    return DR_SEC_INSECURE;
}
