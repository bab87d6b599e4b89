/*
 * resolver/anchor.c — the set of trust anchors: trust points with their keys, negative trust
 * anchors, and the lookups the validator makes. Filling it from files is anchorfile.c, the
 * RFC 5011 updates of a managed trust point autotrust.c.
 */
#include "resolver/anchor.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DAY (24u * 3600u)

void
dr_anchor_timing_default(struct dr_anchor_timing *t)
{
    t->add_holddown = 30 * DAY;
    t->remove_holddown = 30 * DAY;
    t->min_interval = 3600;
    t->max_interval = 15 * DAY;
    t->max_retry = DAY;
}

void
dr_anchors_init(struct dr_anchors *a)
{
    memset(a, 0, sizeof(*a));
    dr_anchor_timing_default(&a->timing);
}

void
dr_anchor_zone_deinit(struct dr_anchor_zone *z)
{
    for (size_t i = 0; i < z->nkeys; i++)
        ldns_rr_free(z->keys[i].rr);
    free(z->keys);
    ldns_rdf_deep_free(z->owner);
    free(z->file);
    memset(z, 0, sizeof(*z));
}

void
dr_anchors_deinit(struct dr_anchors *a)
{
    for (size_t i = 0; i < a->nzones; i++)
        dr_anchor_zone_deinit(&a->zones[i]);
    free(a->zones);
    for (size_t i = 0; i < a->ninsecure; i++)
        ldns_rdf_deep_free(a->insecure[i]);
    free(a->insecure);
    memset(a, 0, sizeof(*a));
}

const char *
dr_anchor_state_name(enum dr_anchor_state s)
{
    switch (s) {
    case DR_ANCHOR_START:
        return "START";
    case DR_ANCHOR_ADDPEND:
        return "ADDPEND";
    case DR_ANCHOR_VALID:
        return "VALID";
    case DR_ANCHOR_MISSING:
        return "MISSING";
    case DR_ANCHOR_REVOKED:
        return "REVOKED";
    case DR_ANCHOR_REMOVED:
        return "REMOVED";
    }
    return "?";
}

/* ─── key helpers ─────────────────────────────────────────────────────────────────────── */

uint16_t
dr_anchor_key_flags(const ldns_rr *rr)
{
    return ldns_rdf2native_int16(ldns_rr_rdf(rr, 0));
}

bool
dr_anchor_key_revoked(const ldns_rr *rr)
{
    return (dr_anchor_key_flags(rr) & DR_ANCHOR_KEY_REVOKE) != 0;
}

/* The same key, the REVOKE bit aside (a revoked key is the same key with another tag). */
bool
dr_anchor_key_same(const ldns_rr *a, const ldns_rr *b)
{
    if (ldns_rr_get_type(a) != LDNS_RR_TYPE_DNSKEY || ldns_rr_get_type(b) != LDNS_RR_TYPE_DNSKEY)
        return false;
    if (ldns_rr_rd_count(a) != 4 || ldns_rr_rd_count(b) != 4)
        return false;
    if ((dr_anchor_key_flags(a) & ~DR_ANCHOR_KEY_REVOKE) !=
        (dr_anchor_key_flags(b) & ~DR_ANCHOR_KEY_REVOKE))
        return false;
    for (size_t i = 1; i < 4; i++) {
        if (ldns_rdf_compare(ldns_rr_rdf(a, i), ldns_rr_rdf(b, i)) != 0)
            return false;
    }
    return true;
}

bool
dr_anchor_rr_is_key(const ldns_rr *rr)
{
    return ldns_rr_get_type(rr) == LDNS_RR_TYPE_DNSKEY && ldns_rr_rd_count(rr) == 4;
}

/*
 * name is at or below parent. Both are uncompressed wire names, so the suffix of name with
 * parent's label count is compared byte by byte, case-insensitively (a length byte is at
 * most 63 and tolower() leaves it alone). No allocation: the validator asks this per name.
 */
static bool
name_under(const ldns_rdf *name, const ldns_rdf *parent)
{
    uint8_t n = ldns_dname_label_count(name), p = ldns_dname_label_count(parent);
    if (n < p)
        return false;
    const uint8_t *d = ldns_rdf_data(name);
    size_t len = ldns_rdf_size(name), off = 0;
    for (uint8_t skip = n - p; skip > 0; skip--) {
        if (off >= len)
            return false;
        off += 1u + d[off];
    }
    if (off > len || len - off != ldns_rdf_size(parent))
        return false;
    const uint8_t *q = ldns_rdf_data(parent);
    for (size_t i = 0; i < len - off; i++) {
        if (tolower(d[off + i]) != tolower(q[i]))
            return false;
    }
    return true;
}

struct dr_anchor_zone *
dr_anchors_zone_find(struct dr_anchors *a, const ldns_rdf *owner)
{
    for (size_t i = 0; i < a->nzones; i++) {
        if (ldns_dname_compare(a->zones[i].owner, owner) == 0)
            return &a->zones[i];
    }
    return NULL;
}

struct dr_anchor_zone *
dr_anchors_zone_add(struct dr_anchors *a, const ldns_rdf *owner)
{
    struct dr_anchor_zone *nz = realloc(a->zones, (a->nzones + 1) * sizeof(*nz));
    if (nz == NULL)
        return NULL;
    a->zones = nz;
    struct dr_anchor_zone *z = &nz[a->nzones];
    memset(z, 0, sizeof(*z));
    z->owner = ldns_rdf_clone(owner);
    if (z->owner == NULL)
        return NULL;
    ldns_dname2canonical(z->owner);
    a->nzones++;
    return z;
}

int
dr_anchors_zone_take(struct dr_anchors *a, struct dr_anchor_zone *z)
{
    struct dr_anchor_zone *nz = realloc(a->zones, (a->nzones + 1) * sizeof(*nz));
    if (nz == NULL)
        return -ENOMEM;
    a->zones = nz;
    nz[a->nzones++] = *z;
    memset(z, 0, sizeof(*z));
    return 0;
}

/* Appends a key (taking ownership of rr). Returns 0 or -ENOMEM (rr is then freed). */
int
dr_anchor_key_add(struct dr_anchor_zone *z, ldns_rr *rr, enum dr_anchor_state s, uint32_t count,
                  time_t when)
{
    struct dr_anchor_key *nk = realloc(z->keys, (z->nkeys + 1) * sizeof(*nk));
    if (nk == NULL) {
        ldns_rr_free(rr);
        return -ENOMEM;
    }
    z->keys = nk;
    nk[z->nkeys++] =
        (struct dr_anchor_key){.rr = rr, .state = s, .count = count, .last_change = when};
    return 0;
}

void
dr_anchor_key_drop(struct dr_anchor_zone *z, size_t i)
{
    ldns_rr_free(z->keys[i].rr);
    memmove(&z->keys[i], &z->keys[i + 1], (z->nkeys - i - 1) * sizeof(z->keys[0]));
    z->nkeys--;
}

int
dr_anchors_add_insecure(struct dr_anchors *a, const char *name)
{
    ldns_rdf *d = NULL;
    if (name == NULL || name[0] == '\0' || ldns_str2rdf_dname(&d, name) != LDNS_STATUS_OK)
        return -EINVAL;
    ldns_dname2canonical(d);
    ldns_rdf **ni = realloc(a->insecure, (a->ninsecure + 1) * sizeof(*ni));
    if (ni == NULL) {
        ldns_rdf_deep_free(d);
        return -ENOMEM;
    }
    a->insecure = ni;
    ni[a->ninsecure++] = d;
    return 0;
}

/* ─── lookups ─────────────────────────────────────────────────────────────────────────── */

bool
dr_anchors_insecure(const struct dr_anchors *a, const ldns_rdf *name)
{
    for (size_t i = 0; i < a->ninsecure; i++) {
        if (name_under(name, a->insecure[i]))
            return true;
    }
    return false;
}

const struct dr_anchor_zone *
dr_anchors_find(const struct dr_anchors *a, const ldns_rdf *name)
{
    const struct dr_anchor_zone *best = NULL;
    int best_labels = -1;
    for (size_t i = 0; i < a->nzones; i++) {
        int l = ldns_dname_label_count(a->zones[i].owner);
        if (l > best_labels && name_under(name, a->zones[i].owner)) {
            best = &a->zones[i];
            best_labels = l;
        }
    }
    if (best == NULL)
        return NULL;
    /* a negative anchor at or below the trust point wins; one above it does not */
    for (size_t i = 0; i < a->ninsecure; i++) {
        if (ldns_dname_label_count(a->insecure[i]) >= best_labels &&
            name_under(name, a->insecure[i]))
            return NULL;
    }
    return best;
}

int
dr_anchor_trusted(const struct dr_anchor_zone *z, ldns_rr_list *out)
{
    int n = 0;
    for (size_t i = 0; i < z->nkeys; i++) {
        const struct dr_anchor_key *k = &z->keys[i];
        if (k->state != DR_ANCHOR_VALID && k->state != DR_ANCHOR_MISSING)
            continue;
        ldns_rr *c = ldns_rr_clone(k->rr);
        if (c == NULL || !ldns_rr_list_push_rr(out, c)) {
            ldns_rr_free(c);
            return -ENOMEM;
        }
        n++;
    }
    return n;
}
