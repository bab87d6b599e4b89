#include "resolver/deleg.h"

#include <errno.h>
#include <string.h>

#include "resolver/msg.h"
#include "resolver/scrub.h"

struct dr_deleg_ns *
dr_deleg_add_ns(struct dr_deleg *d, const uint8_t *name)
{
    for (unsigned i = 0; i < d->nns; i++)
        if (dr_dname_equal(d->ns[i].name, name))
            return &d->ns[i];
    if (d->nns >= DR_DELEG_MAX_NS)
        return NULL;
    struct dr_deleg_ns *ns = &d->ns[d->nns++];
    dr_dname_copy_lower(ns->name, name);
    ns->naddrs = 0;
    return ns;
}

void
dr_deleg_add_addr(struct dr_deleg_ns *ns, const union dc_sockaddr *addr)
{
    for (unsigned i = 0; i < ns->naddrs; i++)
        if (dc_addr_equal(&ns->addrs[i], addr))
            return;
    if (ns->naddrs < DR_DELEG_MAX_ADDRS)
        ns->addrs[ns->naddrs++] = *addr;
}

/* Value layout: zone name, nns, then per NS: name, naddrs, per address: family byte (4 or
 * 6) and 4 or 16 address bytes. Names are uncompressed wire names. */
static size_t
serialize(const struct dr_deleg *d, uint8_t *out)
{
    size_t n = dr_dname_len(d->zone);
    memcpy(out, d->zone, n);
    out[n++] = (uint8_t)d->nns;
    for (unsigned i = 0; i < d->nns; i++) {
        const struct dr_deleg_ns *ns = &d->ns[i];
        size_t l = dr_dname_len(ns->name);
        memcpy(out + n, ns->name, l);
        n += l;
        out[n++] = ns->naddrs;
        for (unsigned j = 0; j < ns->naddrs; j++) {
            const union dc_sockaddr *a = &ns->addrs[j];
            if (a->sa.sa_family == AF_INET) {
                out[n++] = 4;
                memcpy(out + n, &a->in.sin_addr, 4);
                n += 4;
            } else {
                out[n++] = 6;
                memcpy(out + n, &a->in6.sin6_addr, 16);
                n += 16;
            }
        }
    }
    return n;
}

static int
deserialize(const uint8_t *v, size_t len, struct dr_deleg *d)
{
    size_t off = 0;
    d->configured = false;
    if (dr_dname_read(v, len, &off, d->zone) < 0 || off >= len)
        return -EBADMSG;
    d->nns = v[off++];
    if (d->nns > DR_DELEG_MAX_NS)
        return -EBADMSG;
    for (unsigned i = 0; i < d->nns; i++) {
        struct dr_deleg_ns *ns = &d->ns[i];
        if (dr_dname_read(v, len, &off, ns->name) < 0 || off >= len)
            return -EBADMSG;
        ns->naddrs = v[off++];
        if (ns->naddrs > DR_DELEG_MAX_ADDRS)
            return -EBADMSG;
        for (unsigned j = 0; j < ns->naddrs; j++) {
            union dc_sockaddr *a = &ns->addrs[j];
            memset(a, 0, sizeof(*a));
            if (off < len && v[off] == 4 && off + 5 <= len) {
                a->in.sin_family = AF_INET;
                memcpy(&a->in.sin_addr, v + off + 1, 4);
                a->in.sin_port = htons(53);
                off += 5;
            } else if (off < len && v[off] == 6 && off + 17 <= len) {
                a->in6.sin6_family = AF_INET6;
                memcpy(&a->in6.sin6_addr, v + off + 1, 16);
                a->in6.sin6_port = htons(53);
                off += 17;
            } else {
                return -EBADMSG;
            }
        }
    }
    return off == len ? 0 : -EBADMSG;
}

int
dr_deleg_store(struct dc_lru *t, const struct dr_deleg *d, int64_t expire)
{
    uint8_t buf[DR_NAME_MAX + 1 + DR_DELEG_MAX_NS * (DR_NAME_MAX + 1 + DR_DELEG_MAX_ADDRS * 17)];
    size_t n = serialize(d, buf);
    return dc_lru_put(t, d->zone, dr_dname_len(d->zone), buf, n, expire);
}

static int
visit(void *arg, const void *val, size_t vlen, int64_t expire)
{
    (void)expire;
    return deserialize(val, vlen, arg) == 0 ? 1 : 0;
}

int
dr_deleg_get(struct dc_lru *t, const uint8_t *zone, int64_t now, struct dr_deleg *out)
{
    int rc = dc_lru_get(t, zone, dr_dname_len(zone), now, visit, out);
    return rc == 1 ? 0 : -ENOENT;
}

int
dr_deleg_find(struct dc_lru *t, const uint8_t *name, int64_t now, struct dr_deleg *out)
{
    uint8_t lc[DR_NAME_MAX];
    dr_dname_copy_lower(lc, name);
    int labels = dr_dname_labels(lc);
    for (int i = 0; i <= labels; i++)
        if (dr_deleg_get(t, dr_dname_strip(lc, i), now, out) == 0)
            return 0;
    return -ENOENT;
}

int
dr_deleg_find_for(struct dc_lru *t, const uint8_t *qname, uint16_t qtype, int64_t now,
                  struct dr_deleg *out)
{
    if (qtype == DR_TYPE_DS && qname[0] != 0)
        qname = dr_dname_strip(qname, 1);
    return dr_deleg_find(t, qname, now, out);
}

unsigned
dr_deleg_merge_addrs(struct dr_deleg *d, const struct dr_deleg *known)
{
    unsigned total = 0;
    for (unsigned i = 0; i < d->nns; i++) {
        struct dr_deleg_ns *ns = &d->ns[i];
        for (unsigned k = 0; known && ns->naddrs == 0 && k < known->nns; k++) {
            if (!dr_dname_equal(known->ns[k].name, ns->name))
                continue;
            for (unsigned a = 0; a < known->ns[k].naddrs; a++)
                dr_deleg_add_addr(ns, &known->ns[k].addrs[a]);
        }
        total += ns->naddrs;
    }
    return total;
}

void
dr_deleg_from_reply(ldns_pkt *p, ldns_rr_list *section, const uint8_t *zone,
                    const uint8_t *bailiwick, struct dr_deleg *d, uint32_t *ttl)
{
    /* Only what is read is set: entries past nns are never looked at (a cut is ~5 KB). */
    d->nns = 0;
    d->configured = false;
    dr_dname_copy_lower(d->zone, zone);
    *ttl = UINT32_MAX;
    for (size_t i = 0; i < ldns_rr_list_rr_count(section); i++) {
        ldns_rr *rr = ldns_rr_list_rr(section, i);
        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NS || !dr_scrub_owner_is(rr, zone))
            continue;
        const uint8_t *nsname = dr_scrub_name(ldns_rr_rdf(rr, 0));
        if (nsname == NULL)
            continue;
        dr_deleg_add_ns(d, nsname);
        if (ldns_rr_ttl(rr) < *ttl)
            *ttl = ldns_rr_ttl(rr);
    }
    ldns_rr_list *ad = ldns_pkt_additional(p);
    for (size_t i = 0; i < ldns_rr_list_rr_count(ad); i++) {
        ldns_rr *rr = ldns_rr_list_rr(ad, i);
        union dc_sockaddr sa;
        if (!dr_scrub_address(rr, &sa) || !dr_scrub_owner_under(rr, bailiwick))
            continue;
        for (unsigned j = 0; j < d->nns; j++)
            if (dr_scrub_owner_is(rr, d->ns[j].name))
                dr_deleg_add_addr(&d->ns[j], &sa);
    }
}

/* A DNAME's key: a byte no wire name starts with (label lengths are < 64), then the owner. */
#define DNAME_KEY 0xFE

/* Whether any DNAME was ever stored in this process: until one is, looking for one costs
 * nothing (most resolvers never see a DNAME, and the search is a lookup per label). */
static int dnames_stored;

int
dr_deleg_store_dname(struct dc_lru *t, const uint8_t *owner, const uint8_t *target,
                     uint32_t ttl, int64_t expire)
{
    uint8_t key[1 + DR_NAME_MAX], val[4 + DR_NAME_MAX];
    key[0] = DNAME_KEY;
    __atomic_store_n(&dnames_stored, 1, __ATOMIC_RELAXED);
    size_t kl = 1 + dr_dname_copy_lower(key + 1, owner);
    dr_put32(val, ttl);
    size_t vl = 4 + dr_dname_copy_lower(val + 4, target);
    return dc_lru_put(t, key, kl, val, vl, expire);
}

struct dname_visit {
    uint8_t *target;
    uint32_t *ttl;
    int64_t now;
};

static int
visit_dname(void *arg, const void *val, size_t vlen, int64_t expire)
{
    struct dname_visit *v = arg;
    const uint8_t *b = val;
    size_t off = 4;
    if (vlen < 5 || dr_dname_read(b, vlen, &off, v->target) < 0 || off != vlen)
        return 0;
    int64_t left = expire - v->now;
    *v->ttl = left <= 0 ? 0 : left > (int64_t)dr_get32(b) ? dr_get32(b) : (uint32_t)left;
    return 1;
}

int
dr_deleg_find_dname(struct dc_lru *t, const uint8_t *name, int64_t now,
                    uint8_t owner[DR_NAME_MAX], uint8_t target[DR_NAME_MAX], uint32_t *ttl)
{
    if (!__atomic_load_n(&dnames_stored, __ATOMIC_RELAXED))
        return -ENOENT;
    uint8_t key[1 + DR_NAME_MAX];
    key[0] = DNAME_KEY;
    dr_dname_copy_lower(key + 1, name);
    int labels = dr_dname_labels(key + 1);
    struct dname_visit v = {target, ttl, now};
    for (int i = 1; i <= labels; i++) {
        const uint8_t *o = dr_dname_strip(key + 1, i);
        size_t ol = dr_dname_len(o);
        uint8_t k[1 + DR_NAME_MAX];
        k[0] = DNAME_KEY;
        memcpy(k + 1, o, ol);
        if (dc_lru_get(t, k, 1 + ol, now, visit_dname, &v) == 1) {
            memcpy(owner, o, ol);
            return 0;
        }
    }
    return -ENOENT;
}

int
dr_deleg_key_name(const void *key, size_t klen, uint8_t out[DR_NAME_MAX])
{
    const uint8_t *k = key;
    int kind = 0;
    if (klen > 0 && k[0] == DNAME_KEY) {
        k++;
        klen--;
        kind = 1;
    }
    /* Labels of at most 63 bytes (no compression), the root label exactly at the end. */
    size_t off = 0;
    while (off < klen && k[off] != 0) {
        if (k[off] > DR_LABEL_MAX)
            return -EBADMSG;
        off += 1 + (size_t)k[off];
    }
    if (klen == 0 || klen > DR_NAME_MAX || off != klen - 1)
        return -EBADMSG;
    memcpy(out, k, klen);
    dr_dname_lower(out);
    return kind;
}

bool
dr_deleg_entry_valid(const void *key, size_t klen, const void *val, size_t vlen)
{
    uint8_t name[DR_NAME_MAX];
    int kind = dr_deleg_key_name(key, klen, name);
    if (kind < 0)
        return false;
    if (kind == 1) {
        uint8_t target[DR_NAME_MAX];
        return vlen > 4 && dr_deleg_key_name((const uint8_t *)val + 4, vlen - 4, target) == 0;
    }
    struct dr_deleg d;
    return deserialize(val, vlen, &d) == 0 && dr_dname_equal(d.zone, name);
}
