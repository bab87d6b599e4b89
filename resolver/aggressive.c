#include "resolver/aggressive.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "resolver/dname.h"
#include "resolver/msg.h"
#include "resolver/nsec.h"

/*
 * One zone's value: struct head, the SOA block (the SOA record then its RRSIGs, each as
 * uncompressed RR wire), then `count` entries in canonical order of their owners:
 *   uint16 len (bytes after this field), int64 expire, uint8 nrr, uint8 owner length,
 *   owner (lower case), nrr RR wires (the NSEC, then its RRSIGs).
 */
struct head {
    uint16_t count;
    uint16_t soa_len;
    uint8_t soa_nrr;
    uint8_t pad[3];
    int64_t soa_expire;
};

#define ENTRY_FIX 12 /* len, expire, nrr, owner length */
#define MAX_SIGS  2  /* RRSIGs kept per record (a key roll has two) */

struct entry {
    const uint8_t *p; /* the entry, from its len field */
    size_t size;      /* ENTRY_FIX - 2 + len + 2: the whole entry */
    int64_t expire;
    const uint8_t *owner;
};

static uint16_t
rd16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static int64_t
rd64(const uint8_t *p)
{
    int64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* Indexes the entries of a value; false when it is not one this file wrote. */
static bool
decode(const uint8_t *val, size_t vlen, struct head *h, struct entry *e, size_t max)
{
    if (vlen < sizeof(*h))
        return false;
    memcpy(h, val, sizeof(*h));
    size_t off = sizeof(*h) + h->soa_len;
    if (off > vlen || h->count > max)
        return false;
    for (size_t i = 0; i < h->count; i++) {
        if (vlen - off < ENTRY_FIX)
            return false;
        size_t size = 2 + (size_t)rd16(val + off);
        const uint8_t *p = val + off;
        if (size < ENTRY_FIX || size > vlen - off || p[11] == 0 ||
            (size_t)p[11] > size - ENTRY_FIX || dr_dname_len(p + 12) != p[11])
            return false;
        e[i] = (struct entry){.p = p, .size = size, .expire = rd64(p + 2), .owner = p + 12};
        off += size;
    }
    return true;
}

/* Appends the wire form of rr to buf (cap bytes, *len used). */
static bool
put_rr(uint8_t *buf, size_t cap, size_t *len, const ldns_rr *rr)
{
    uint8_t *w = NULL;
    size_t n = 0;
    if (ldns_rr2wire(&w, rr, LDNS_SECTION_ANSWER, &n) != LDNS_STATUS_OK)
        return false;
    bool ok = n <= cap - *len;
    if (ok) {
        memcpy(buf + *len, w, n);
        *len += n;
    }
    free(w);
    return ok;
}

/* The RRSIGs in l over type at owner (at most MAX_SIGS), appended to buf. */
static int
put_sigs(uint8_t *buf, size_t cap, size_t *len, const ldns_rr_list *l, const uint8_t *owner,
         ldns_rr_type type)
{
    int n = 0;
    for (size_t i = 0; i < ldns_rr_list_rr_count(l) && n < MAX_SIGS; i++) {
        const ldns_rr *rr = ldns_rr_list_rr(l, i);
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG && ldns_rr_rd_count(rr) >= 1 &&
            ldns_rdf2rr_type(ldns_rr_rdf(rr, 0)) == type &&
            dr_dname_equal(ldns_rdf_data(ldns_rr_owner(rr)), owner)) {
            if (!put_rr(buf, cap, len, rr))
                return -1;
            n++;
        }
    }
    return n;
}

struct copy {
    uint8_t *buf;
    size_t cap, len;
};

static int
copy_out(void *arg, const void *val, size_t vlen, int64_t expire)
{
    struct copy *c = arg;
    (void)expire;
    if (vlen <= c->cap) {
        memcpy(c->buf, val, vlen);
        c->len = vlen;
    }
    return 0;
}

static int
by_owner(const void *a, const void *b)
{
    return dr_dname_compare(((const struct entry *)a)->owner, ((const struct entry *)b)->owner);
}

int
dr_aggr_store(struct dc_lru *t, const uint8_t *zone, const ldns_rr_list *authority, int64_t now)
{
    const ldns_rr *soa = NULL;
    for (size_t i = 0; i < ldns_rr_list_rr_count(authority) && soa == NULL; i++) {
        const ldns_rr *rr = ldns_rr_list_rr(authority, i);
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && ldns_rr_rd_count(rr) == 7 &&
            dr_dname_equal(ldns_rdf_data(ldns_rr_owner(rr)), zone))
            soa = rr;
    }
    if (soa == NULL)
        return 1;
    uint32_t limit = ldns_rr_ttl(soa);
    uint32_t minimum = ldns_rdf2native_int32(ldns_rr_rdf(soa, 6));
    if (minimum < limit)
        limit = minimum;
    if (limit == 0)
        return 1;

    /* Fresh records: their entries, one after the other, in `fresh`. */
    uint8_t *fresh = malloc(DR_AGGR_MAX_VALUE), *old = malloc(DR_AGGR_MAX_VALUE),
            *out = malloc(DR_AGGR_MAX_VALUE);
    struct entry *e = malloc(sizeof(*e) * (2 * DR_AGGR_MAX_NSEC + 1));
    int rc = -ENOMEM;
    if (fresh == NULL || old == NULL || out == NULL || e == NULL)
        goto done;
    size_t flen = 0, n = 0;
    for (size_t i = 0; i < ldns_rr_list_rr_count(authority) && n < DR_AGGR_MAX_NSEC; i++) {
        const ldns_rr *rr = ldns_rr_list_rr(authority, i);
        const uint8_t *owner = ldns_rdf_data(ldns_rr_owner(rr));
        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NSEC || !dr_dname_is_sub(owner, zone))
            continue;
        size_t start = flen, olen = dr_dname_len(owner);
        if (DR_AGGR_MAX_VALUE - flen < ENTRY_FIX + olen)
            break;
        uint32_t ttl = ldns_rr_ttl(rr) < limit ? ldns_rr_ttl(rr) : limit;
        int64_t expire = now + ttl;
        memcpy(fresh + start + 2, &expire, sizeof(expire));
        fresh[start + 11] = (uint8_t)olen;
        dr_dname_copy_lower(fresh + start + 12, owner);
        flen = start + ENTRY_FIX + olen;
        int sigs = -1;
        if (!put_rr(fresh, DR_AGGR_MAX_VALUE, &flen, rr) ||
            (sigs = put_sigs(fresh, DR_AGGR_MAX_VALUE, &flen, authority, owner,
                             LDNS_RR_TYPE_NSEC)) <= 0) {
            flen = start; /* unsigned (cannot be: it validated) or too big: not kept */
            continue;
        }
        fresh[start + 10] = (uint8_t)(1 + sigs);
        uint16_t len = (uint16_t)(flen - start - 2);
        memcpy(fresh + start, &len, sizeof(len));
        e[n++] = (struct entry){.p = fresh + start,
                                .size = flen - start,
                                .expire = expire,
                                .owner = fresh + start + 12};
    }
    rc = 1;
    if (n == 0)
        goto done;

    /* The records kept before, unless expired or replaced by a fresh one. */
    struct copy c = {.buf = old, .cap = DR_AGGR_MAX_VALUE};
    struct head h;
    size_t nfresh = n;
    if (dc_lru_get(t, zone, dr_dname_len(zone), now, copy_out, &c) >= 0 && c.len > 0 &&
        decode(old, c.len, &h, e + n, DR_AGGR_MAX_NSEC)) {
        for (size_t i = 0; i < h.count; i++) {
            struct entry *o = &e[nfresh + i];
            bool replaced = o->expire <= now;
            for (size_t j = 0; j < nfresh && !replaced; j++)
                replaced = dr_dname_equal(e[j].owner, o->owner);
            if (!replaced)
                e[n++] = *o;
        }
    }
    /* Over the limit: the ones expiring first go. */
    while (n > DR_AGGR_MAX_NSEC) {
        size_t min = 0;
        for (size_t i = 1; i < n; i++)
            if (e[i].expire < e[min].expire)
                min = i;
        e[min] = e[--n];
    }
    qsort(e, n, sizeof(*e), by_owner);

    size_t len = sizeof(struct head);
    struct head nh = {.soa_expire = now + limit};
    if (!put_rr(out, DR_AGGR_MAX_VALUE, &len, soa)) {
        rc = -E2BIG;
        goto done;
    }
    int sigs = put_sigs(out, DR_AGGR_MAX_VALUE, &len, authority, ldns_rdf_data(ldns_rr_owner(soa)),
                        LDNS_RR_TYPE_SOA);
    if (sigs <= 0) {
        rc = 1;
        goto done;
    }
    nh.soa_nrr = (uint8_t)(1 + sigs);
    nh.soa_len = (uint16_t)(len - sizeof(struct head));
    for (size_t i = 0; i < n && DR_AGGR_MAX_VALUE - len >= e[i].size; i++) {
        memcpy(out + len, e[i].p, e[i].size);
        len += e[i].size;
        nh.count++;
    }
    memcpy(out, &nh, sizeof(nh));
    /* Records are never kept past the SOA they came with (each also has its own expiry,
     * checked when it is read). */
    rc = dc_lru_put(t, zone, dr_dname_len(zone), out, len, nh.soa_expire);
done:
    free(fresh);
    free(old);
    free(out);
    free(e);
    return rc;
}

/* ---- proving ---- */

#define MAX_WANTED 10 /* qname and the wildcards of up to 9 of its ancestors */
#define PROOF_CAP  16384

struct find {
    const uint8_t *wanted[MAX_WANTED];
    size_t nwanted;
    int64_t now;
    uint8_t *out; /* the SOA block, then the chosen entries, as stored */
    size_t len, soa_len;
    uint8_t soa_nrr;
    int64_t expire; /* the earliest expiry of what was copied */
    bool found;
};

static bool
copy_entry(struct find *f, const struct entry *e)
{
    if (e->size > PROOF_CAP - f->len)
        return false;
    memcpy(f->out + f->len, e->p, e->size);
    f->len += e->size;
    if (e->expire < f->expire)
        f->expire = e->expire;
    return true;
}

/* Under the shard lock: copies out the SOA and, for each wanted name, the live record at it
 * and the live record before it in canonical order (the one that may cover it). */
static int
find_visit(void *arg, const void *val, size_t vlen, int64_t expire)
{
    struct find *f = arg;
    struct entry e[DR_AGGR_MAX_NSEC];
    struct head h;
    f->found = true;
    if (!decode(val, vlen, &h, e, DR_AGGR_MAX_NSEC) || h.soa_expire <= f->now ||
        h.soa_len > PROOF_CAP)
        return 0;
    memcpy(f->out, (const uint8_t *)val + sizeof(h), h.soa_len);
    f->len = f->soa_len = h.soa_len;
    f->soa_nrr = h.soa_nrr;
    f->expire = h.soa_expire < expire ? h.soa_expire : expire;
    bool used[DR_AGGR_MAX_NSEC] = {false};
    for (size_t w = 0; w < f->nwanted; w++) {
        size_t lo = 0, hi = h.count; /* the first owner > wanted */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (dr_dname_compare(e[mid].owner, f->wanted[w]) <= 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == 0)
            continue;      /* before the first record: nothing here covers it */
        size_t i = lo - 1; /* the record at or before wanted */
        if (!used[i] && e[i].expire > f->now) {
            used[i] = true;
            if (!copy_entry(f, &e[i]))
                return 0;
        }
        if (i > 0 && dr_dname_equal(e[i].owner, f->wanted[w]) && !used[i - 1] &&
            e[i - 1].expire > f->now) {
            used[i - 1] = true; /* an exact match: the one before may cover what is below */
            if (!copy_entry(f, &e[i - 1]))
                return 0;
        }
    }
    return 0;
}

/* Reads nrr RR wires from buf at *off into l with the given TTL. */
static bool
read_rrs(const uint8_t *buf, size_t len, size_t *off, unsigned nrr, uint32_t ttl, ldns_rr_list *l)
{
    for (unsigned i = 0; i < nrr; i++) {
        ldns_rr *rr = NULL;
        if (ldns_wire2rr(&rr, buf, len, off, LDNS_SECTION_AUTHORITY) != LDNS_STATUS_OK)
            return false;
        ldns_rr_set_ttl(rr, ttl);
        if (!ldns_rr_list_push_rr(l, rr)) {
            ldns_rr_free(rr);
            return false;
        }
    }
    return true;
}

int
dr_aggr_prove(struct dc_lru *t, const uint8_t *qname, uint16_t qtype, int64_t now, int *rcode,
              ldns_rr_list **authority)
{
    *authority = NULL;
    /* The closest zone with records: DS lives in the parent. */
    const uint8_t *zone = qtype == DR_TYPE_DS && qname[0] ? qname + 1 + qname[0] : qname;
    uint8_t wild[MAX_WANTED][DR_NAME_MAX];
    uint8_t buf[PROOF_CAP];
    struct find f = {.now = now, .out = buf};
    for (int guard = 0; guard < 128; guard++) {
        /* Wanted: qname, and *.A for each ancestor A of qname from its parent up to zone. */
        f.nwanted = 0;
        f.wanted[f.nwanted++] = qname;
        const uint8_t *a = qname;
        while (a[0] != 0 && f.nwanted < MAX_WANTED) {
            a += 1 + a[0];
            if (!dr_dname_is_sub(a, zone))
                break;
            if (dr_dname_wildcard(a, wild[f.nwanted])) {
                f.wanted[f.nwanted] = wild[f.nwanted];
                f.nwanted++;
            }
        }
        f.found = false;
        f.len = 0;
        dc_lru_get(t, zone, dr_dname_len(zone), now, find_visit, &f);
        if (f.found || zone[0] == 0)
            break;
        zone += 1 + zone[0];
    }
    if (!f.found || f.len == 0 || f.expire <= now)
        return 0;

    uint32_t ttl = (uint32_t)(f.expire - now);
    ldns_rr_list *l = ldns_rr_list_new(), *nsecs = ldns_rr_list_new();
    bool ok = l && nsecs;
    size_t off = 0;
    if (ok)
        ok = read_rrs(buf, f.soa_len, &off, f.soa_nrr, ttl, l);
    while (ok && off + ENTRY_FIX <= f.len) {
        const uint8_t *p = buf + off;
        size_t end = off + 2 + (size_t)rd16(p);
        unsigned nrr = p[10];
        size_t rr_off = off + ENTRY_FIX + p[11];
        size_t first = ldns_rr_list_rr_count(l);
        ok = end <= f.len && read_rrs(buf, end, &rr_off, nrr, ttl, l) && rr_off == end;
        if (ok)
            ok = ldns_rr_list_push_rr(nsecs, ldns_rr_list_rr(l, first));
        off = end;
    }
    int rc = 0;
    if (ok) {
        if (dr_nsec_nxdomain(nsecs, qname, NULL)) {
            *rcode = DR_RCODE_NXDOMAIN;
            rc = 1;
        } else if (dr_nsec_nodata(nsecs, qname, qtype) ||
                   dr_nsec_wildcard_nodata(nsecs, qname, qtype)) {
            *rcode = DR_RCODE_NOERROR;
            rc = 1;
        }
    }
    ldns_rr_list_free(nsecs);
    if (rc == 1)
        *authority = l;
    else
        ldns_rr_list_deep_free(l);
    return rc;
}

size_t
dr_aggr_flush(struct dc_lru *t, const uint8_t *name, bool subtree)
{
    return dr_dname_table_flush(t, name, subtree, true);
}
