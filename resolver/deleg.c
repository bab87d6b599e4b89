#include "resolver/deleg.h"

#include <errno.h>
#include <string.h>

#include "resolver/msg.h"

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
    return 0;
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
