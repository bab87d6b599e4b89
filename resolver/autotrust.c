/*
 * resolver/autotrust.c — the RFC 5011 state machine of a managed trust point: which keys a
 * validated DNSKEY set adds, confirms, misses or revokes, and when to probe again.
 */
#include "resolver/autotrust.h"

#include <errno.h>
#include <stdlib.h>

uint32_t
dr_autotrust_query_interval(uint32_t orig_ttl, uint32_t sig_expire,
                            const struct dr_anchor_timing *t)
{
    uint32_t v = t->max_interval;
    if (orig_ttl / 2 < v)
        v = orig_ttl / 2;
    if (sig_expire / 2 < v)
        v = sig_expire / 2;
    return v < t->min_interval ? t->min_interval : v;
}

uint32_t
dr_autotrust_retry_time(uint32_t orig_ttl, uint32_t sig_expire, const struct dr_anchor_timing *t)
{
    uint32_t v = t->max_retry;
    if (orig_ttl / 10 < v)
        v = orig_ttl / 10;
    if (sig_expire / 10 < v)
        v = sig_expire / 10;
    return v < t->min_interval ? t->min_interval : v;
}

/* The revoked key rr signed the DNSKEY set itself (RFC 5011 2.1: RevBit needs that). */
static bool
self_signed(const ldns_rr *key, const ldns_rr_list *dnskeys, const ldns_rr_list *rrsigs, time_t now)
{
    if (rrsigs == NULL)
        return false;
    uint16_t tag = ldns_calc_keytag(key);
    for (size_t i = 0; i < ldns_rr_list_rr_count(rrsigs); i++) {
        ldns_rr *sig = ldns_rr_list_rr(rrsigs, i);
        if (ldns_rr_get_type(sig) != LDNS_RR_TYPE_RRSIG || ldns_rr_rd_count(sig) < 9)
            continue;
        if (ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(sig)) != LDNS_RR_TYPE_DNSKEY)
            continue;
        if (ldns_rdf2native_int16(ldns_rr_rrsig_keytag(sig)) != tag)
            continue;
        ldns_rr_list *keys = ldns_rr_list_new();
        ldns_rr_list *set = ldns_rr_list_clone(dnskeys);
        ldns_rr *kc = ldns_rr_clone(key);
        bool ok = false;
        if (keys != NULL && set != NULL && kc != NULL && ldns_rr_list_push_rr(keys, kc)) {
            kc = NULL;
            ok = ldns_verify_rrsig_keylist_time(set, sig, keys, now, NULL) == LDNS_STATUS_OK;
        }
        ldns_rr_free(kc);
        ldns_rr_list_deep_free(keys);
        ldns_rr_list_deep_free(set);
        if (ok)
            return true;
    }
    return false;
}

static bool
set_has(const ldns_rr_list *dnskeys, const ldns_rr *key)
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(dnskeys); i++) {
        if (dr_anchor_key_same(ldns_rr_list_rr(dnskeys, i), key))
            return true;
    }
    return false;
}

static struct dr_anchor_key *
known_key(struct dr_anchor_zone *z, const ldns_rr *key)
{
    for (size_t i = 0; i < z->nkeys; i++) {
        if (dr_anchor_key_same(z->keys[i].rr, key))
            return &z->keys[i];
    }
    return NULL;
}

static void
set_state(struct dr_anchor_key *k, enum dr_anchor_state s, time_t now)
{
    k->state = s;
    k->last_change = now;
    if (s != DR_ANCHOR_ADDPEND)
        k->count = 0;
}

/* Seconds until the first RRSIG over the DNSKEY set expires (UINT32_MAX without one). */
static uint32_t
sig_expire_in(const ldns_rr_list *rrsigs, time_t now)
{
    uint32_t best = UINT32_MAX;
    for (size_t i = 0; rrsigs != NULL && i < ldns_rr_list_rr_count(rrsigs); i++) {
        ldns_rr *sig = ldns_rr_list_rr(rrsigs, i);
        if (ldns_rr_get_type(sig) != LDNS_RR_TYPE_RRSIG || ldns_rr_rd_count(sig) < 9)
            continue;
        uint32_t exp = ldns_rdf2native_time_t(ldns_rr_rrsig_expiration(sig));
        int32_t left = (int32_t)(exp - (uint32_t)now); /* RFC 4034 serial arithmetic */
        uint32_t l = left > 0 ? (uint32_t)left : 0;
        if (l < best)
            best = l;
    }
    return best;
}

int
dr_autotrust_update(struct dr_anchor_zone *z, const ldns_rr_list *dnskeys,
                    const ldns_rr_list *rrsigs, uint32_t orig_ttl, time_t now,
                    const struct dr_anchor_timing *t, struct dr_autotrust_changes *changes)
{
    struct dr_autotrust_changes ch = {0};
    size_t n = dnskeys ? ldns_rr_list_rr_count(dnskeys) : 0;
    if (n == 0)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        ldns_rr *rr = ldns_rr_list_rr(dnskeys, i);
        if (!dr_anchor_rr_is_key(rr) || ldns_dname_compare(ldns_rr_owner(rr), z->owner) != 0)
            return -EINVAL;
    }
    /* Room for every key of the set up front: a failed allocation changes nothing. */
    struct dr_anchor_key *nk = realloc(z->keys, (z->nkeys + n) * sizeof(*nk));
    if (nk == NULL)
        return -ENOMEM;
    z->keys = nk;
    uint32_t hold = t->add_holddown > orig_ttl ? t->add_holddown : orig_ttl;

    /* A DS anchor becomes the KSK it names (a first file from IANA holds DS records). */
    for (size_t i = 0; i < z->nkeys; i++) {
        if (ldns_rr_get_type(z->keys[i].rr) != LDNS_RR_TYPE_DS)
            continue;
        for (size_t j = 0; j < n; j++) {
            ldns_rr *d = ldns_rr_list_rr(dnskeys, j);
            if (dr_anchor_key_revoked(d) || !(dr_anchor_key_flags(d) & DR_ANCHOR_KEY_SEP) ||
                !ldns_rr_compare_ds(z->keys[i].rr, d))
                continue;
            ldns_rr *c = ldns_rr_clone(d);
            if (c == NULL)
                return -ENOMEM;
            ldns_rr_free(z->keys[i].rr);
            z->keys[i].rr = c;
            set_state(&z->keys[i], DR_ANCHOR_VALID, now);
            ch.valid++;
            break;
        }
    }

    for (size_t j = 0; j < n; j++) {
        ldns_rr *d = ldns_rr_list_rr(dnskeys, j);
        struct dr_anchor_key *k = known_key(z, d);
        if (dr_anchor_key_revoked(d)) {
            /* RevBit: only the key itself can revoke itself */
            if (k == NULL || k->state == DR_ANCHOR_REVOKED || k->state == DR_ANCHOR_REMOVED)
                continue;
            if (!self_signed(d, dnskeys, rrsigs, now)) {
                ch.ignored++;
                continue;
            }
            ldns_rr *c = ldns_rr_clone(d);
            if (c == NULL)
                return -ENOMEM;
            ldns_rr_free(k->rr);
            k->rr = c;
            set_state(k, DR_ANCHOR_REVOKED, now);
            ch.revoked++;
            continue;
        }
        if (k == NULL) {
            /* NewKey: a new SEP key in a validated set */
            if ((dr_anchor_key_flags(d) & (DR_ANCHOR_KEY_SEP | DR_ANCHOR_KEY_ZONE)) !=
                (DR_ANCHOR_KEY_SEP | DR_ANCHOR_KEY_ZONE))
                continue;
            ldns_rr *c = ldns_rr_clone(d);
            if (c == NULL)
                return -ENOMEM;
            z->keys[z->nkeys++] = (struct dr_anchor_key){
                .rr = c, .state = DR_ANCHOR_ADDPEND, .count = 1, .last_change = now};
            ch.added++;
            continue;
        }
        switch (k->state) {
        case DR_ANCHOR_ADDPEND: /* AddTime: seen in every set for the whole hold-down */
            k->count++;
            if (now - k->last_change >= (time_t)hold) {
                set_state(k, DR_ANCHOR_VALID, now);
                ch.valid++;
            }
            break;
        case DR_ANCHOR_MISSING: /* KeyPres */
            set_state(k, DR_ANCHOR_VALID, now);
            ch.valid++;
            break;
        default: /* VALID stays; REVOKED and REMOVED never come back */
            break;
        }
    }

    /* KeyRem for every known key the set lacks; RemTime for revoked keys */
    for (size_t i = 0; i < z->nkeys;) {
        struct dr_anchor_key *k = &z->keys[i];
        bool present = k->rr != NULL && dr_anchor_rr_is_key(k->rr) && set_has(dnskeys, k->rr);
        if (ldns_rr_get_type(k->rr) == LDNS_RR_TYPE_DS) {
            i++;
            continue;
        }
        if (k->state == DR_ANCHOR_REVOKED && now - k->last_change >= (time_t)t->remove_holddown) {
            set_state(k, DR_ANCHOR_REMOVED, now);
            ch.removed++;
        } else if (!present && k->state == DR_ANCHOR_ADDPEND) {
            dr_anchor_key_drop(z, i); /* back to Start: forgotten */
            ch.removed++;
            continue;
        } else if (!present && k->state == DR_ANCHOR_VALID) {
            set_state(k, DR_ANCHOR_MISSING, now);
            ch.missing++;
        }
        i++;
    }

    uint32_t expire = sig_expire_in(rrsigs, now);
    z->last_queried = now;
    z->last_success = now;
    z->query_failed = 0;
    z->query_interval = dr_autotrust_query_interval(orig_ttl, expire, t);
    z->retry_time = dr_autotrust_retry_time(orig_ttl, expire, t);
    z->next_probe = now + z->query_interval;
    if (changes != NULL)
        *changes = ch;
    return 0;
}

void
dr_autotrust_probe_failed(struct dr_anchor_zone *z, time_t now, const struct dr_anchor_timing *t)
{
    z->last_queried = now;
    z->query_failed++;
    uint32_t retry = z->retry_time ? z->retry_time : t->min_interval;
    z->next_probe = now + retry;
}
