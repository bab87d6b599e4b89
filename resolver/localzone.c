/*
 * Local zones (see localzone.h).
 *
 * At build time every data line is parsed with ldns and rendered once into the wire form it
 * takes in a reply: "C0 0C type class ttl rdlen rdata", the owner being a compression
 * pointer to the question name at offset 12. Every answer RR is owned by the name asked
 * (an exact match, a CNAME at it, or a redirect's apex data rewritten to it), so these
 * bytes are valid in any reply whatever the question's length. A reply is then the header,
 * the client's own question and one memcpy per section; the negative SOA's owner (the apex,
 * a suffix of the question) is one more pointer into the question. The same mechanism
 * serves NXDOMAIN and redirect, whose question varies in length, which is why no reply is
 * stored whole.
 *
 * Lookup: zones in canonical order, searched for each suffix of the question name, longest
 * first (the closest enclosing zone wins); names in a zone in canonical order, searched by
 * bisection, which also finds empty non-terminals (a name with data below it) because
 * those sort right after the name.
 */
#include "resolver/localzone.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "resolver/dname.h"

#define DEFAULT_TTL 3600 /* Unbound's default for local-data without a TTL */
#define RR_FIXED    10   /* type, class, TTL and rdlength after an owner name */

/* All RRs of one type at one name, back to back in reply form (see the top comment). */
struct rrset {
    uint16_t type;
    uint32_t count;
    const uint8_t *wire;
    size_t len;
};

/* One owner name with data. Its sets lie back to back in `all`, which answers ANY. */
struct lname {
    const uint8_t *name; /* lower case */
    struct rrset *sets;  /* ascending type */
    size_t nsets;
    const struct rrset *cname;
    const uint8_t *all;
    size_t all_len;
    uint32_t count;
};

struct zone {
    const uint8_t *apex; /* lower case */
    int labels;
    int type; /* enum dr_local_type */
    const char *text;
    int line;
    struct lname *names; /* canonical order */
    size_t nnames;
    const struct lname *apex_data; /* NULL when nothing is owned by the apex */
    /* The SOA for negative answers without its owner ("type class ttl rdlen rdata"), its
     * TTL lowered to the SOA MINIMUM as RFC 2308 §3 asks; NULL when the data has none. */
    const uint8_t *soa;
    size_t soa_len;
};

struct dr_local {
    struct dc_arena arena;
    struct zone *zones; /* canonical order of apex */
    size_t nzones;
};

/* A data line while its zone is being built. */
struct rec {
    uint8_t owner[DR_NAME_MAX]; /* lower case */
    uint16_t type;
    uint8_t *wire; /* "type class ttl rdlen rdata" (malloc) */
    size_t len;
    int line;
    const char *text;
    size_t idx;
};

static int
line_of(const struct dr_conf_local_zone *cz, size_t i)
{
    return i < cz->ndata_lines ? cz->data_lines[i] : 0;
}

/* Owner, then type, then rdata bytes (so that duplicates end up adjacent), then file order
 * (so that the first of two duplicates is the one kept). */
static int
rec_cmp(const void *pa, const void *pb)
{
    const struct rec *a = pa, *b = pb;
    int d = dr_dname_compare(a->owner, b->owner);
    if (d != 0)
        return d;
    if (a->type != b->type)
        return a->type < b->type ? -1 : 1;
    size_t na = a->len - 8, nb = b->len - 8; /* rdlen and rdata */
    d = memcmp(a->wire + 8, b->wire + 8, na < nb ? na : nb);
    if (d != 0 || na != nb)
        return d != 0 ? d : (na < nb ? -1 : 1);
    return a->idx < b->idx ? -1 : (a->idx > b->idx);
}

static bool
same_rdata(const struct rec *a, const struct rec *b)
{
    return a->type == b->type && a->len == b->len &&
           memcmp(a->wire + 8, b->wire + 8, a->len - 8) == 0;
}

/* Parses data line i of cz into r. Returns 0, 1 after reporting a bad line, or -ENOMEM. */
static int
parse_rec(const struct dr_conf_local_zone *cz, size_t i, const uint8_t *apex, struct rec *r,
          ldns_buffer *buf, struct dc_conf_ctx *ctx)
{
    const char *text = cz->data.v[i];
    ldns_rr *rr = NULL;
    ldns_status st = ldns_rr_new_frm_str(&rr, text, DEFAULT_TTL, NULL, NULL);
    if (st == LDNS_STATUS_MEM_ERR)
        return -ENOMEM;
    if (st != LDNS_STATUS_OK) {
        dc_conf_error(ctx, "local-zone %s: cannot parse data '%s': %s", cz->name, text,
                      ldns_get_errorstr_by_id(st));
        return 1;
    }
    int rc = 1;
    const ldns_rdf *owner = ldns_rr_owner(rr);
    if (!dr_dname_is_sub(ldns_rdf_data(owner), apex)) {
        dc_conf_error(ctx, "local-zone %s: data '%s' is outside the zone", cz->name, text);
        goto done;
    }
    if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) {
        dc_conf_error(ctx, "local-zone %s: data '%s': only class IN is served", cz->name, text);
        goto done;
    }
    ldns_buffer_clear(buf);
    st = ldns_rr2buffer_wire(buf, rr, LDNS_SECTION_ANSWER);
    size_t skip = ldns_rdf_size(owner);
    if (st != LDNS_STATUS_OK || ldns_buffer_position(buf) < skip + RR_FIXED) {
        rc = st == LDNS_STATUS_MEM_ERR ? -ENOMEM : 1;
        if (rc == 1)
            dc_conf_error(ctx, "local-zone %s: data '%s': %s", cz->name, text,
                          ldns_get_errorstr_by_id(st));
        goto done;
    }
    r->len = ldns_buffer_position(buf) - skip;
    r->wire = malloc(r->len);
    if (r->wire == NULL) {
        rc = -ENOMEM;
        goto done;
    }
    memcpy(r->wire, ldns_buffer_begin(buf) + skip, r->len);
    dr_dname_copy_lower(r->owner, ldns_rdf_data(owner));
    r->type = (uint16_t)ldns_rr_get_type(rr);
    r->line = ctx->line;
    r->text = text;
    r->idx = i;
    rc = 0;
done:
    ldns_rr_free(rr);
    return rc;
}

/* RFC 2181 §10.1: a name with a CNAME holds nothing else (DNSSEC records aside), and only
 * one CNAME. recs[0..n) share one owner. Reports at the line that broke the rule. */
static int
check_cname(const struct dr_conf_local_zone *cz, const struct rec *recs, size_t n,
            struct dc_conf_ctx *ctx)
{
    const struct rec *cname = NULL, *other = NULL;
    for (size_t i = 0; i < n; i++) {
        bool dup = i > 0 && same_rdata(&recs[i], &recs[i - 1]);
        if (!dup && recs[i].type == DR_TYPE_CNAME && (cname == NULL || recs[i].line < cname->line))
            cname = &recs[i];
    }
    for (size_t i = 0; cname != NULL && i < n; i++) {
        const struct rec *r = &recs[i];
        if ((i > 0 && same_rdata(r, &recs[i - 1])) || r == cname || r->type == DR_TYPE_RRSIG ||
            r->type == DR_TYPE_NSEC)
            continue;
        if (other == NULL || r->line < other->line)
            other = r;
    }
    if (cname == NULL || other == NULL)
        return 0;
    const struct rec *later = cname->line > other->line ? cname : other;
    const struct rec *earlier = later == cname ? other : cname;
    ctx->line = later->line;
    dc_conf_error(ctx,
                  "local-zone %s: data '%s': a name with a CNAME can hold no other data "
                  "(see '%s', line %d)",
                  cz->name, later->text, earlier->text, earlier->line);
    return 1;
}

/* Lays out one name's records (recs[0..n), sorted, duplicates still in) in the arena. */
static int
build_name(struct dr_local *l, struct lname *ln, const struct rec *recs, size_t n)
{
    size_t bytes = 0, nsets = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && same_rdata(&recs[i], &recs[i - 1]))
            continue;
        bytes += 2 + recs[i].len;
        if (i == 0 || recs[i].type != recs[i - 1].type)
            nsets++;
    }
    uint8_t *name = dc_arena_alloc(&l->arena, dr_dname_len(recs[0].owner));
    uint8_t *wire = dc_arena_alloc(&l->arena, bytes);
    ln->sets = dc_arena_calloc(&l->arena, nsets * sizeof(*ln->sets));
    if (name == NULL || wire == NULL || ln->sets == NULL)
        return -ENOMEM;
    dr_dname_copy_lower(name, recs[0].owner);
    ln->name = name;
    ln->all = wire;
    ln->all_len = bytes;
    struct rrset *set = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct rec *r = &recs[i];
        if (i > 0 && same_rdata(r, &recs[i - 1]))
            continue;
        if (set == NULL || set->type != r->type) {
            set = set == NULL ? ln->sets : set + 1;
            set->type = r->type;
            set->wire = wire;
            if (r->type == DR_TYPE_CNAME)
                ln->cname = set;
        }
        wire[0] = 0xc0;
        wire[1] = DR_HEADER_LEN;
        memcpy(wire + 2, r->wire, r->len);
        wire += 2 + r->len;
        set->len += 2 + r->len;
        set->count++;
        ln->count++;
    }
    ln->nsets = nsets;
    return 0;
}

/* Keeps the apex SOA, if any, for negative answers, its TTL capped by its MINIMUM. */
static int
keep_soa(struct dr_local *l, struct zone *z)
{
    const struct lname *ln = z->apex_data;
    for (size_t i = 0; ln != NULL && i < ln->nsets; i++) {
        const struct rrset *s = &ln->sets[i];
        if (s->type != DR_TYPE_SOA)
            continue;
        /* The first RR of the set, without its pointer owner. */
        const uint8_t *rr = s->wire + 2;
        size_t len = RR_FIXED + dr_get16(rr + 8);
        uint8_t *soa = dc_arena_alloc(&l->arena, len);
        if (soa == NULL)
            return -ENOMEM;
        memcpy(soa, rr, len);
        uint32_t minimum = dr_get32(soa + len - 4);
        if (dr_get32(soa + 4) > minimum)
            dr_put32(soa + 4, minimum);
        z->soa = soa;
        z->soa_len = len;
        break;
    }
    return 0;
}

/* Builds zone z from cz. Returns the number of errors reported, or -ENOMEM. */
static int
build_zone(struct dr_local *l, const struct dr_conf_local_zone *cz, struct zone *z,
           ldns_buffer *buf, struct dc_conf_ctx *ctx)
{
    uint8_t apex[DR_NAME_MAX];
    ctx->line = line_of(cz, 0);
    if (cz->name == NULL || dr_dname_from_str(cz->name, apex) < 0) {
        dc_conf_error(ctx, "local-zone %s: not a domain name", cz->name ? cz->name : "");
        return 1;
    }
    uint8_t *a = dc_arena_alloc(&l->arena, dr_dname_len(apex));
    if (a == NULL)
        return -ENOMEM;
    dr_dname_copy_lower(a, apex);
    z->apex = a;
    z->labels = dr_dname_labels(a);
    z->type = cz->type;
    z->text = cz->name;
    z->line = ctx->line;

    size_t n = cz->data.n, nrecs = 0;
    struct rec *recs = n ? calloc(n, sizeof(*recs)) : NULL;
    if (n && recs == NULL)
        return -ENOMEM;
    int errs = 0, rc = 0;
    for (size_t i = 0; i < n; i++) {
        ctx->line = line_of(cz, i);
        rc = parse_rec(cz, i, a, &recs[nrecs], buf, ctx);
        if (rc < 0)
            goto done;
        if (rc == 0)
            nrecs++;
        errs += rc;
    }
    if (nrecs > 0)
        qsort(recs, nrecs, sizeof(*recs), rec_cmp);

    size_t nnames = 0;
    for (size_t i = 0; i < nrecs; i++)
        nnames += i == 0 || dr_dname_compare(recs[i].owner, recs[i - 1].owner) != 0;
    z->names = dc_arena_calloc(&l->arena, nnames * sizeof(*z->names) + 1);
    if (z->names == NULL) {
        rc = -ENOMEM;
        goto done;
    }
    for (size_t i = 0, j; i < nrecs; i = j) {
        for (j = i + 1; j < nrecs && dr_dname_compare(recs[j].owner, recs[i].owner) == 0; j++)
            ;
        errs += check_cname(cz, recs + i, j - i, ctx);
        struct lname *ln = &z->names[z->nnames++];
        rc = build_name(l, ln, recs + i, j - i);
        if (rc < 0)
            goto done;
        if (dr_dname_equal(ln->name, z->apex))
            z->apex_data = ln;
    }
    rc = keep_soa(l, z);
done:
    /* recs was zeroed, so slots past nrecs hold NULL. */
    for (size_t i = 0; i < n; i++)
        free(recs[i].wire);
    free(recs);
    return rc < 0 ? rc : errs;
}

static int
zone_cmp(const void *pa, const void *pb)
{
    const struct zone *a = pa, *b = pb;
    return dr_dname_compare(a->apex, b->apex);
}

struct dr_local *
dr_local_build(const struct dr_conf *conf, struct dc_conf_ctx *ctx)
{
    int saved_line = ctx->line, errs = 0;
    struct dr_local *l = calloc(1, sizeof(*l));
    ldns_buffer *buf = ldns_buffer_new(512);
    if (l == NULL || buf == NULL)
        goto fail_mem;
    dc_arena_init(&l->arena, 16384);
    l->zones = dc_arena_calloc(&l->arena, conf->nlocal_zones * sizeof(*l->zones) + 1);
    if (l->zones == NULL)
        goto fail_mem;

    for (size_t i = 0; i < conf->nlocal_zones; i++) {
        int rc = build_zone(l, &conf->local_zones[i], &l->zones[l->nzones], buf, ctx);
        if (rc < 0)
            goto fail_mem;
        /* A zone whose name did not parse has no apex and is left out. */
        if (l->zones[l->nzones].apex != NULL)
            l->nzones++;
        errs += rc;
    }
    qsort(l->zones, l->nzones, sizeof(*l->zones), zone_cmp);
    for (size_t i = 1; i < l->nzones; i++) {
        if (zone_cmp(&l->zones[i - 1], &l->zones[i]) == 0) {
            const struct zone *z =
                l->zones[i - 1].line > l->zones[i].line ? &l->zones[i - 1] : &l->zones[i];
            ctx->line = z->line;
            dc_conf_error(ctx, "local-zone %s: defined more than once", z->text);
            errs++;
        }
    }
    ctx->line = saved_line;
    ldns_buffer_free(buf);
    if (errs > 0) {
        dr_local_free(l);
        return NULL;
    }
    return l;

fail_mem:
    if (buf != NULL)
        ldns_buffer_free(buf);
    dr_local_free(l);
    dc_conf_error(ctx, "local zones: out of memory");
    ctx->line = saved_line;
    return NULL;
}

void
dr_local_free(struct dr_local *l)
{
    if (l == NULL)
        return;
    dc_arena_deinit(&l->arena);
    free(l);
}

size_t
dr_local_count(const struct dr_local *l)
{
    return l ? l->nzones : 0;
}

/* The closest zone enclosing qname: each suffix, longest first, by bisection. */
static const struct zone *
find_zone(const struct dr_local *l, const uint8_t *qname)
{
    int labels = dr_dname_labels(qname);
    for (int k = 0; k <= labels; k++) {
        const uint8_t *suffix = dr_dname_strip(qname, k);
        size_t lo = 0, hi = l->nzones;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            int d = dr_dname_compare(suffix, l->zones[mid].apex);
            if (d == 0)
                return &l->zones[mid];
            if (d < 0)
                hi = mid;
            else
                lo = mid + 1;
        }
    }
    return NULL;
}

/* The entry for qname, or NULL; *ent tells whether a name with data lies below qname (an
 * empty non-terminal, which exists and so is NODATA rather than NXDOMAIN). */
static const struct lname *
find_name(const struct zone *z, const uint8_t *qname, bool *ent)
{
    size_t lo = 0, hi = z->nnames;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int d = dr_dname_compare(qname, z->names[mid].name);
        if (d == 0)
            return &z->names[mid];
        if (d < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    *ent = lo < z->nnames && dr_dname_is_sub(z->names[lo].name, qname);
    return NULL;
}

/* What answers qtype at a name with data: all sets for ANY, the set of that type, else a
 * CNAME; NULL for NODATA. For ANY the result points at a set-shaped view in *tmp. */
static const struct rrset *
pick(const struct lname *ln, uint16_t qtype, struct rrset *tmp)
{
    if (qtype == DR_TYPE_ANY) {
        tmp->type = DR_TYPE_ANY;
        tmp->wire = ln->all;
        tmp->len = ln->all_len;
        tmp->count = ln->count;
        return tmp;
    }
    for (size_t i = 0; i < ln->nsets; i++) {
        if (ln->sets[i].type == qtype)
            return &ln->sets[i];
    }
    return ln->cname;
}

/* Writes header, the client's question, the answer set an (may be NULL) and, when soa is
 * set, the zone's SOA owned by the apex, found as a suffix of the question name. */
static int
emit(const struct dr_msg_query *q, const struct zone *z, int rcode, const struct rrset *an,
     bool soa, uint8_t *out, size_t cap)
{
    size_t qlen = q->qname_len, need = DR_HEADER_LEN + qlen + 4;
    soa = soa && z->soa != NULL;
    if (an != NULL)
        need += an->len;
    if (soa)
        need += 2 + z->soa_len;
    if (need > cap || (an != NULL && an->count > 0xffff))
        return -ENOSPC;

    uint16_t flags = DR_FLAG_QR | DR_FLAG_AA | DR_FLAG_RA | (uint16_t)rcode;
    flags |= q->flags & (DR_FLAG_RD | DR_FLAG_CD);
    dr_put16(out, q->id);
    dr_put16(out + 2, flags);
    dr_put16(out + 4, 1);
    dr_put16(out + 6, an != NULL ? (uint16_t)an->count : 0);
    dr_put16(out + 8, soa ? 1 : 0);
    dr_put16(out + 10, 0);
    uint8_t *p = out + DR_HEADER_LEN;
    memcpy(p, q->qname, qlen);
    p += qlen;
    dr_put16(p, q->qtype);
    dr_put16(p + 2, q->qclass);
    p += 4;
    if (an != NULL) {
        memcpy(p, an->wire, an->len);
        p += an->len;
    }
    if (soa) {
        const uint8_t *apex = dr_dname_strip(q->qname, dr_dname_labels(q->qname) - z->labels);
        dr_put16(p, (uint16_t)(0xc000 | (DR_HEADER_LEN + (apex - q->qname))));
        memcpy(p + 2, z->soa, z->soa_len);
        p += 2 + z->soa_len;
    }
    return (int)(p - out);
}

/*
 * Decides by the zone's type (see localzone.h). Negative answers carry the SOA; REFUSED does
 * not. Names are compared case-insensitively, so the client's case needs no folding here.
 */
int
dr_local_answer(const struct dr_local *l, const struct dr_msg_query *q, uint8_t *out, size_t cap)
{
    if (l == NULL || l->nzones == 0 || q->qclass != DR_CLASS_IN || q->qname_len == 0)
        return DR_LOCAL_PASS;
    const struct zone *z = find_zone(l, q->qname);
    if (z == NULL)
        return DR_LOCAL_PASS;

    struct rrset any;
    const struct lname *ln;
    bool ent = false;
    switch (z->type) {
    case DR_LOCAL_REFUSE:
        return emit(q, z, DR_RCODE_REFUSED, NULL, false, out, cap);
    case DR_LOCAL_REDIRECT:
        ln = z->apex_data;
        break;
    default:
        ln = find_name(z, q->qname, &ent);
        break;
    }
    const struct rrset *an = ln != NULL ? pick(ln, q->qtype, &any) : NULL;
    if (an != NULL)
        return emit(q, z, DR_RCODE_NOERROR, an, false, out, cap);
    if (z->type == DR_LOCAL_TRANSPARENT)
        return DR_LOCAL_PASS;
    /* Static or redirect: a name that exists (data of other types, a redirect, an empty
     * non-terminal) is NODATA; any other name in a static zone does not exist. */
    int rcode =
        ln != NULL || ent || z->type == DR_LOCAL_REDIRECT ? DR_RCODE_NOERROR : DR_RCODE_NXDOMAIN;
    return emit(q, z, rcode, NULL, true, out, cap);
}
