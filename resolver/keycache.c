#include "resolver/keycache.h"

#include <errno.h>
#include <string.h>

/* A value: this head, then per record a 2-byte length and the record in uncompressed wire
 * form (owner, type, class, TTL, RDLENGTH, RDATA). */
struct head {
    uint64_t trust;
    uint16_t count;
};

static uint32_t
seconds_left(uint32_t expiration, int64_t now)
{
    /* RFC 4034 §3.1.5: serial number arithmetic on 32-bit times */
    int32_t left = (int32_t)(expiration - (uint32_t)now);
    return left > 0 ? (uint32_t)left : 0;
}

/* How long keys may be kept: their TTL, the earliest expiration of an RRSIG over them, and
 * the cap; 0 when no RRSIG covers the set. */
static uint32_t
lifetime(const ldns_rr_list *keys, const ldns_rr_list *sigs, const uint8_t *zone, int64_t now)
{
    uint32_t ttl = DR_KEYCACHE_MAX_TTL;
    for (size_t i = 0; i < ldns_rr_list_rr_count(keys); i++)
        if (ldns_rr_ttl(ldns_rr_list_rr(keys, i)) < ttl)
            ttl = ldns_rr_ttl(ldns_rr_list_rr(keys, i));
    bool signed_set = false;
    for (size_t i = 0; sigs && i < ldns_rr_list_rr_count(sigs); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(sigs, i);
        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_RRSIG || ldns_rr_rd_count(rr) < 9 ||
            ldns_rdf2rr_type(ldns_rr_rdf(rr, 0)) != LDNS_RR_TYPE_DNSKEY ||
            !dr_dname_equal(ldns_rdf_data(ldns_rr_owner(rr)), zone) ||
            ldns_rdf_size(ldns_rr_rdf(rr, 4)) != 4)
            continue;
        uint32_t left = seconds_left(ldns_rdf2native_int32(ldns_rr_rdf(rr, 4)), now);
        if (left < ttl)
            ttl = left;
        signed_set = true;
    }
    return signed_set ? ttl : 0;
}

int
dr_keycache_put(struct dc_lru *t, uint64_t trust, const uint8_t *zone, const ldns_rr_list *keys,
                const ldns_rr_list *sigs, int64_t now)
{
    size_t n = keys ? ldns_rr_list_rr_count(keys) : 0;
    if (t == NULL || n == 0 || n > DR_KEYCACHE_MAX_KEYS)
        return 1;
    uint32_t ttl = lifetime(keys, sigs, zone, now);
    if (ttl == 0)
        return 1;
    ldns_buffer *b = ldns_buffer_new(1024);
    if (b == NULL)
        return -ENOMEM;
    struct head h = {trust, (uint16_t)n};
    ldns_buffer_write(b, &h, sizeof(h));
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t at = ldns_buffer_position(b);
        ldns_buffer_write_u16(b, 0); /* the length, filled in below */
        if (ldns_rr2buffer_wire(b, ldns_rr_list_rr(keys, i), LDNS_SECTION_ANSWER) !=
                LDNS_STATUS_OK ||
            !ldns_buffer_status_ok(b))
            rc = -ENOMEM;
        else if (ldns_buffer_position(b) > DR_KEYCACHE_MAX_VALUE)
            rc = 1;
        else
            ldns_buffer_write_u16_at(b, at, (uint16_t)(ldns_buffer_position(b) - at - 2));
    }
    if (rc == 0)
        rc = dc_lru_put(t, zone, dr_dname_len(zone), ldns_buffer_begin(b), ldns_buffer_position(b),
                        now + ttl);
    ldns_buffer_free(b);
    return rc == -E2BIG ? 1 : rc;
}

struct found {
    uint64_t trust;
    uint8_t val[DR_KEYCACHE_MAX_VALUE];
    size_t len;
};

/* Under the shard's lock: copies an entry of the wanted trust serial out. */
static int
copy_out(void *arg, const void *val, size_t vlen, int64_t expire)
{
    struct found *f = arg;
    struct head h;
    (void)expire;
    if (vlen < sizeof(h) || vlen > sizeof(f->val))
        return 0;
    memcpy(&h, val, sizeof(h));
    if (h.trust != f->trust)
        return 0;
    memcpy(f->val, val, vlen);
    f->len = vlen;
    return 1;
}

/* The records of a value, or NULL (ENOMEM, or a value that does not parse). */
static ldns_rr_list *
decode(const uint8_t *val, size_t len)
{
    struct head h;
    memcpy(&h, val, sizeof(h));
    ldns_rr_list *l = ldns_rr_list_new();
    size_t pos = sizeof(h);
    for (unsigned i = 0; l && i < h.count; i++) {
        if (len - pos < 2)
            goto bad;
        size_t rlen = (size_t)val[pos] << 8 | val[pos + 1];
        pos += 2;
        if (rlen > len - pos)
            goto bad;
        size_t rpos = 0;
        ldns_rr *rr = NULL;
        if (ldns_wire2rr(&rr, val + pos, rlen, &rpos, LDNS_SECTION_ANSWER) != LDNS_STATUS_OK ||
            rpos != rlen || !ldns_rr_list_push_rr(l, rr)) {
            ldns_rr_free(rr);
            goto bad;
        }
        pos += rlen;
    }
    if (l && ldns_rr_list_rr_count(l) == 0)
        goto bad;
    return l;
bad:
    ldns_rr_list_deep_free(l);
    return NULL;
}

ldns_rr_list *
dr_keycache_find(struct dc_lru *t, uint64_t trust, const uint8_t *target, const uint8_t *anchor,
                 int64_t now, uint8_t zone[DR_NAME_MAX])
{
    /* The copy is taken under the shard's lock and parsed after it: per thread, no
     * allocation per lookup. */
    static _Thread_local struct found found;
    struct found *f = &found;
    if (t == NULL)
        return NULL;
    f->trust = trust;
    ldns_rr_list *keys = NULL;
    /* target up to anchor, one label at a time: at most DR_NAME_MAX / 2 lookups */
    for (const uint8_t *z = target; dr_dname_is_sub(z, anchor); z += 1 + z[0]) {
        if (dc_lru_get(t, z, dr_dname_len(z), now, copy_out, f) == 1 &&
            (keys = decode(f->val, f->len)) != NULL) {
            dr_dname_copy_lower(zone, z);
            break;
        }
        if (z[0] == 0)
            break;
    }
    return keys;
}

size_t
dr_keycache_flush(struct dc_lru *t, const uint8_t *name, bool subtree)
{
    return dr_dname_table_flush(t, name, subtree, false);
}
