#include "resolver/val.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "resolver/cache.h"
#include "resolver/dnskey.h"
#include "resolver/keycache.h"
#include "resolver/msg.h"
#include "resolver/nsec.h"
#include "resolver/nsec3.h"
#include "resolver/rrsig.h"

_Static_assert(DR_CACHE_SEC_MAX == DR_VS_INDETERMINATE && DR_CACHE_WHY_MAX == DR_WHY_UNSIGNED_CUT,
               "the cache stores every status and reason");

const char *const dr_val_status_names[DR_VS_COUNT] = {"none", "secure", "insecure", "bogus",
                                                      "indeterminate"};

/* One RRset to check: records and the RRSIGs over them (pointers into the borrowed lists). */
struct dr_val_item {
    ldns_rr_list *rrset;
    ldns_rr_list *sigs;
    int section; /* 0 chain, 1 answer, 2 authority */
    bool pseudo; /* no records: "the zone of target is unsigned" must hold */
    uint8_t pseudo_target[DR_NAME_MAX];
};

enum phase {
    PH_ITEM,        /* choose what the next RRset needs */
    PH_WALK,        /* go on down from kzone towards target */
    PH_ANCHOR_KEYS, /* fetching the trust anchor's DNSKEY set */
    PH_DS,          /* fetching fetch_name's DS set */
    PH_KEYS,        /* fetching fetch_name's DNSKEY set (its DS set is in v->ds) */
};

static const uint8_t *
owner_of(const ldns_rr *rr)
{
    return ldns_rdf_data(ldns_rr_owner(rr));
}

/* BOGUS over INSECURE over INDETERMINATE over SECURE; NONE counts as nothing yet. */
static int
rank(enum dr_val_status s)
{
    switch (s) {
    case DR_VS_SECURE:
        return 1;
    case DR_VS_INDETERMINATE:
        return 2;
    case DR_VS_INSECURE:
        return 3;
    case DR_VS_BOGUS:
        return 4;
    default:
        return 0;
    }
}

static void
merge(struct dr_val *v, enum dr_val_status s, enum dr_why why, const uint8_t *zone)
{
    if (rank(s) > rank(v->status)) {
        v->status = s;
        v->why = why;
        if (zone)
            dr_dname_copy_lower(v->zone, zone);
    }
}

static enum dr_val_status
from_sec(enum dr_sec s)
{
    return s == DR_SEC_SECURE ? DR_VS_SECURE : s == DR_SEC_INSECURE ? DR_VS_INSECURE : DR_VS_BOGUS;
}

int
dr_val_ede(enum dr_val_status st, enum dr_why why)
{
    if (st == DR_VS_BOGUS)
        return dr_dnssec_ede(DR_SEC_BOGUS, why);
    if (st == DR_VS_INSECURE)
        return dr_dnssec_ede(DR_SEC_INSECURE, why);
    return -1;
}

/* ---- the RRsets ---- */

static int
add_item(struct dr_val *v, const ldns_rr_list *l, const ldns_rr *first, int section)
{
    struct dr_val_item *items = realloc(v->items, (v->nitems + 1) * sizeof(*items));
    if (items == NULL)
        return -ENOMEM;
    v->items = items;
    struct dr_val_item *it = &items[v->nitems];
    memset(it, 0, sizeof(*it));
    it->section = section;
    it->rrset = ldns_rr_list_new();
    it->sigs = ldns_rr_list_new();
    if (it->rrset == NULL || it->sigs == NULL) {
        ldns_rr_list_free(it->rrset);
        ldns_rr_list_free(it->sigs);
        return -ENOMEM;
    }
    v->nitems++;
    const uint8_t *owner = owner_of(first);
    ldns_rr_type type = ldns_rr_get_type(first);
    for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
        ldns_rr *rr = ldns_rr_list_rr(l, i);
        if (!dr_dname_equal(owner_of(rr), owner))
            continue;
        ldns_rr_type t = ldns_rr_get_type(rr);
        bool ok = true;
        if (t == type)
            ok = ldns_rr_list_push_rr(it->rrset, rr);
        else if (t == LDNS_RR_TYPE_RRSIG && ldns_rr_rd_count(rr) >= 1 &&
                 ldns_rdf2rr_type(ldns_rr_rdf(rr, 0)) == type)
            ok = ldns_rr_list_push_rr(it->sigs, rr);
        if (!ok)
            return -ENOMEM;
    }
    return 0;
}

/* Whether l already has an item for first's owner and type. */
static bool
have_item(const struct dr_val *v, const ldns_rr *first)
{
    for (size_t i = 0; i < v->nitems; i++) {
        const struct dr_val_item *it = &v->items[i];
        if (it->pseudo || ldns_rr_list_rr_count(it->rrset) == 0)
            continue;
        const ldns_rr *r = ldns_rr_list_rr(it->rrset, 0);
        if (ldns_rr_get_type(r) == ldns_rr_get_type(first) &&
            dr_dname_equal(owner_of(r), owner_of(first)))
            return true;
    }
    return false;
}

/* A CNAME the iterator or a server synthesised from a DNAME above it in the chain: it is
 * unsigned by design and proven by the DNAME's signature (RFC 6672 §5.3.1). */
static bool
synthesised(const ldns_rr_list *chain, const ldns_rr *cname)
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(chain); i++) {
        const ldns_rr *d = ldns_rr_list_rr(chain, i);
        if (ldns_rr_get_type(d) == LDNS_RR_TYPE_DNAME &&
            dr_dname_is_sub(owner_of(cname), owner_of(d)) &&
            !dr_dname_equal(owner_of(cname), owner_of(d)))
            return true;
    }
    return false;
}

static int
add_items(struct dr_val *v, const ldns_rr_list *l, int section)
{
    for (size_t i = 0; l && i < ldns_rr_list_rr_count(l); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(l, i);
        ldns_rr_type t = ldns_rr_get_type(rr);
        if (t == LDNS_RR_TYPE_RRSIG || have_item(v, rr))
            continue;
        if (section == 2 && t != LDNS_RR_TYPE_SOA && t != LDNS_RR_TYPE_NSEC &&
            t != LDNS_RR_TYPE_NSEC3)
            continue; /* NS and the like: not part of what the answer claims */
        if (section == 2 && t == LDNS_RR_TYPE_SOA && !v->negative)
            continue;
        if (section == 0 && t == LDNS_RR_TYPE_CNAME && synthesised(v->chain, rr))
            continue;
        if (v->nitems >= DR_VAL_MAX_RRSETS)
            return -E2BIG;
        int rc = add_item(v, l, rr, section);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The parent of name (name itself for the root). */
static const uint8_t *
parent(const uint8_t *name)
{
    return name[0] == 0 ? name : name + 1 + name[0];
}

/* ---- fetching ---- */

static void
done(struct dr_val *v, struct dr_val_action *act)
{
    if (v->status == DR_VS_NONE)
        v->status = DR_VS_INDETERMINATE;
    act->kind = DR_VAL_DONE;
}

static bool
fetch(struct dr_val *v, const uint8_t *name, uint16_t type, int phase, struct dr_val_action *act)
{
    if (++v->fetches > DR_VAL_MAX_FETCHES)
        return false;
    dr_dname_copy_lower(v->fetch_name, name);
    v->fetch_type = type;
    v->phase = phase;
    act->kind = DR_VAL_FETCH;
    act->name = v->fetch_name;
    act->type = type;
    return true;
}

/* The item being checked ends with this verdict; on to the next. */
static void
item_done(struct dr_val *v, enum dr_val_status s, enum dr_why why, const uint8_t *zone)
{
    merge(v, s, why, zone);
    v->item++;
    v->phase = PH_ITEM;
}

/* The keys of v->target are known (kzone == target): check the current item with them. */
static void
check_item(struct dr_val *v, const struct dr_val_env *env)
{
    struct dr_val_item *it = &v->items[v->item];
    if (it->pseudo || ldns_rr_list_rr_count(it->sigs) == 0) {
        /* Inside a signed zone, yet unsigned. */
        item_done(v, DR_VS_BOGUS, DR_WHY_NO_RRSIG, v->kzone);
        return;
    }
    struct dr_rrsig_result res;
    enum dr_sec s =
        dr_rrsig_verify(it->rrset, it->sigs, v->keys, v->kzone, env->now, env->skew, &res);
    if (s == DR_SEC_SECURE && res.ttl < v->ttl)
        v->ttl = res.ttl;
    if (s == DR_SEC_SECURE && res.wildcard && it->section != 2) {
        const ldns_rr *rr = ldns_rr_list_rr(it->rrset, 0);
        v->wildcard = true;
        dr_dname_copy_lower(v->encloser, res.encloser);
        dr_dname_copy_lower(v->wild_owner, owner_of(rr));
    }
    item_done(v, from_sec(s), s == DR_SEC_SECURE ? DR_WHY_NONE : res.why, v->kzone);
}

/* One label below base towards target (target is strictly below base). */
static const uint8_t *
one_below(const uint8_t *target, const uint8_t *base)
{
    int n = dr_dname_labels(target) - dr_dname_labels(base);
    return dr_dname_strip(target, n - 1);
}

/* From kzone (trusted keys) down towards target. */
static void
walk(struct dr_val *v, const struct dr_val_env *env, struct dr_val_action *act)
{
    if (dr_dname_equal(v->kzone, v->target)) {
        check_item(v, env);
        return;
    }
    const uint8_t *base = v->kzone;
    if (dr_dname_is_sub(v->pos, v->kzone) && dr_dname_is_sub(v->target, v->pos))
        base = v->pos;
    if (dr_dname_equal(base, v->target)) {
        /* Every name down to target was asked for: no cut with keys, so target lies in
         * kzone. A signer that is not a zone cannot have signed anything. */
        struct dr_val_item *it = &v->items[v->item];
        bool unsigned_rrset = it->pseudo || ldns_rr_list_rr_count(it->sigs) == 0;
        item_done(v, DR_VS_BOGUS, unsigned_rrset ? DR_WHY_NO_RRSIG : DR_WHY_NO_KEY, v->kzone);
        return;
    }
    const uint8_t *next = one_below(v->target, base);
    if (v->qtype == DR_TYPE_DS && dr_dname_equal(next, v->qname)) {
        /* Our own question: its answer is what is being validated. */
        item_done(v, DR_VS_BOGUS, DR_WHY_SIGNER, v->kzone);
        return;
    }
    if (!fetch(v, next, DR_TYPE_DS, PH_DS, act))
        item_done(v, DR_VS_BOGUS, DR_WHY_NO_KEY, v->kzone);
}

/* The records of a section of a reply, as a list the caller frees (deep). */
static ldns_pkt *
parse(const uint8_t *reply, size_t len)
{
    ldns_pkt *p = NULL;
    if (reply == NULL || ldns_wire2pkt(&p, reply, len) != LDNS_STATUS_OK)
        return NULL;
    return p;
}

/* The records of l of this type owned by name, cloned (NULL when there are none). */
static ldns_rr_list *
take(const ldns_rr_list *l, const uint8_t *name, ldns_rr_type type)
{
    ldns_rr_list *out = NULL;
    for (size_t i = 0; l && i < ldns_rr_list_rr_count(l); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(l, i);
        if (ldns_rr_get_type(rr) != type || !dr_dname_equal(owner_of(rr), name))
            continue;
        if (out == NULL && (out = ldns_rr_list_new()) == NULL)
            return NULL;
        ldns_rr *c = ldns_rr_clone(rr);
        if (c == NULL || !ldns_rr_list_push_rr(out, c)) {
            ldns_rr_free(c);
            ldns_rr_list_deep_free(out);
            return NULL;
        }
    }
    return out;
}

/* The RRSIGs over type owned by name in l (pointers). */
static ldns_rr_list *
sigs_of(const ldns_rr_list *l, const uint8_t *name, ldns_rr_type type)
{
    ldns_rr_list *out = ldns_rr_list_new();
    for (size_t i = 0; out && l && i < ldns_rr_list_rr_count(l); i++) {
        ldns_rr *rr = ldns_rr_list_rr(l, i);
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG && ldns_rr_rd_count(rr) >= 1 &&
            ldns_rdf2rr_type(ldns_rr_rdf(rr, 0)) == type && dr_dname_equal(owner_of(rr), name))
            ldns_rr_list_push_rr(out, rr);
    }
    return out;
}

/* Verifies our own DNSKEY answer (the question is fetch_name/DNSKEY): against the trust
 * anchor (anchor) or against the DS set in v->ds. */
static enum dr_sec
verify_own_keys(struct dr_val *v, const struct dr_val_env *env, const struct dr_anchor_zone *anchor,
                enum dr_why *why)
{
    ldns_rr_list *keys = take(v->answer, v->fetch_name, LDNS_RR_TYPE_DNSKEY);
    ldns_rr_list *sigs = sigs_of(v->answer, v->fetch_name, LDNS_RR_TYPE_DNSKEY);
    enum dr_sec s = DR_SEC_BOGUS;
    *why = DR_WHY_NO_KEY;
    if (keys && sigs) {
        if (anchor == NULL) {
            if (v->ds)
                s = dr_dnskey_verify_set(keys, sigs, v->ds, env->now, env->skew, why);
        } else {
            ldns_rr_list *trusted = ldns_rr_list_new(), *ds = ldns_rr_list_new(),
                         *dk = ldns_rr_list_new();
            if (trusted && ds && dk && dr_anchor_trusted(anchor, trusted) >= 0) {
                for (size_t i = 0; i < ldns_rr_list_rr_count(trusted); i++) {
                    ldns_rr *rr = ldns_rr_list_rr(trusted, i);
                    ldns_rr_list_push_rr(ldns_rr_get_type(rr) == LDNS_RR_TYPE_DS ? ds : dk, rr);
                }
                if (ldns_rr_list_rr_count(ds) > 0) {
                    s = dr_dnskey_verify_set(keys, sigs, ds, env->now, env->skew, why);
                }
                if (s != DR_SEC_SECURE && ldns_rr_list_rr_count(dk) > 0) {
                    struct dr_rrsig_result res;
                    s = dr_rrsig_verify(keys, sigs, dk, v->fetch_name, env->now, env->skew, &res);
                    *why = s == DR_SEC_SECURE ? DR_WHY_NONE : res.why;
                }
            }
            ldns_rr_list_free(ds);
            ldns_rr_list_free(dk);
            ldns_rr_list_deep_free(trusted);
        }
    }
    if (s == DR_SEC_SECURE) {
        ldns_rr_list_deep_free(v->keys);
        v->keys = keys;
        keys = NULL;
    }
    ldns_rr_list_deep_free(keys);
    ldns_rr_list_free(sigs);
    return s;
}

/* The keys of fetch_name are in: our own answer (we are its DNSKEY question) or a fetched
 * reply with the status its own validation reached. */
static void
got_keys(struct dr_val *v, const struct dr_val_env *env, enum dr_val_status st, enum dr_why why,
         ldns_pkt *p)
{
    bool own = v->qtype == DR_TYPE_DNSKEY && dr_dname_equal(v->qname, v->fetch_name);
    const struct dr_anchor_zone *anchor = NULL;
    if (own && v->phase == PH_ANCHOR_KEYS) {
        ldns_rdf *name =
            ldns_dname_new_frm_data((uint16_t)dr_dname_len(v->fetch_name), v->fetch_name);
        anchor = name ? dr_anchors_find(env->anchors, name) : NULL;
        ldns_rdf_deep_free(name);
        if (anchor == NULL) {
            item_done(v, DR_VS_BOGUS, DR_WHY_NO_KEY, v->fetch_name);
            return;
        }
    }
    if (own) {
        st = from_sec(verify_own_keys(v, env, anchor, &why));
    } else if (st == DR_VS_SECURE) {
        ldns_rr_list *keys =
            p ? take(ldns_pkt_answer(p), v->fetch_name, LDNS_RR_TYPE_DNSKEY) : NULL;
        if (keys == NULL) {
            st = DR_VS_BOGUS; /* a secure NODATA: fetch_name is no zone apex */
            why = DR_WHY_NO_KEY;
        } else {
            ldns_rr_list_deep_free(v->keys);
            v->keys = keys;
            /* the next walk down here starts from these (a failure only leaves it longer) */
            dr_keycache_put(env->keys, env->trust, v->fetch_name, keys, ldns_pkt_answer(p),
                            env->now);
        }
    } else if (st != DR_VS_INSECURE) {
        st = DR_VS_BOGUS; /* bogus, or could not be had at all (EDE 9, DNSKEY Missing) */
        if (why == DR_WHY_NONE)
            why = DR_WHY_NO_KEY;
    }
    ldns_rr_list_deep_free(v->ds);
    v->ds = NULL;
    if (st != DR_VS_SECURE) {
        v->have_keys = false;
        item_done(v, st, why, v->fetch_name);
        return;
    }
    v->have_keys = true;
    dr_dname_copy_lower(v->kzone, v->fetch_name);
    dr_dname_copy_lower(v->pos, v->fetch_name);
    v->phase = PH_WALK;
}

/* Asks for the DNSKEY set of name, unless that is our own question. */
static void
want_keys(struct dr_val *v, const struct dr_val_env *env, const uint8_t *name, int phase,
          struct dr_val_action *act)
{
    if (v->qtype == DR_TYPE_DNSKEY && dr_dname_equal(v->qname, name)) {
        dr_dname_copy_lower(v->fetch_name, name);
        v->phase = phase;
        got_keys(v, env, DR_VS_NONE, DR_WHY_NONE, NULL);
        return;
    }
    uint8_t copy[DR_NAME_MAX];
    dr_dname_copy_lower(copy, name);
    if (!fetch(v, copy, DR_TYPE_DNSKEY, phase, act))
        item_done(v, DR_VS_BOGUS, DR_WHY_NO_KEY, copy);
}

/* The DS set of fetch_name (a child of pos or kzone) is in. */
static void
got_ds(struct dr_val *v, const struct dr_val_env *env, enum dr_val_status st, enum dr_why why,
       ldns_pkt *p, struct dr_val_action *act)
{
    if (st == DR_VS_INSECURE) {
        item_done(v, DR_VS_INSECURE, DR_WHY_UNSIGNED_CUT, v->fetch_name);
        return;
    }
    if (st != DR_VS_SECURE || p == NULL) {
        item_done(v, DR_VS_BOGUS, why != DR_WHY_NONE ? why : DR_WHY_NO_KEY, v->fetch_name);
        return;
    }
    ldns_rr_list *ds = take(ldns_pkt_answer(p), v->fetch_name, LDNS_RR_TYPE_DS);
    if (ds) {
        ldns_rr_list_deep_free(v->ds);
        v->ds = ds;
        want_keys(v, env, v->fetch_name, PH_KEYS, act);
        return;
    }
    if (ldns_pkt_get_rcode(p) == LDNS_RCODE_NXDOMAIN) {
        item_done(v, DR_VS_BOGUS, DR_WHY_NO_RRSIG, v->kzone);
        return;
    }
    /* A secure NODATA: an unsigned delegation, or no cut at all here. */
    const ldns_rr_list *au = ldns_pkt_authority(p);
    ldns_rr_list *nsecs = ldns_rr_list_new(), *nsec3s = ldns_rr_list_new();
    const uint8_t *zone = NULL;
    for (size_t i = 0; nsecs && nsec3s && au && i < ldns_rr_list_rr_count(au); i++) {
        ldns_rr *rr = ldns_rr_list_rr(au, i);
        ldns_rr_type t = ldns_rr_get_type(rr);
        if (t == LDNS_RR_TYPE_NSEC)
            ldns_rr_list_push_rr(nsecs, rr);
        else if (t == LDNS_RR_TYPE_NSEC3)
            ldns_rr_list_push_rr(nsec3s, rr);
        else if (t == LDNS_RR_TYPE_SOA)
            zone = owner_of(rr);
    }
    bool unsigned_cut = false;
    enum dr_why w = DR_WHY_NONE;
    if (nsecs && dr_nsec_insecure_delegation(nsecs, v->fetch_name))
        unsigned_cut = true;
    else if (nsec3s && zone && ldns_rr_list_rr_count(nsec3s) > 0 &&
             dr_nsec3_insecure_delegation(nsec3s, zone, v->fetch_name, env->nsec3_max_iter, &w) !=
                 DR_SEC_BOGUS)
        unsigned_cut = true;
    ldns_rr_list_free(nsecs);
    ldns_rr_list_free(nsec3s);
    if (unsigned_cut) {
        item_done(v, DR_VS_INSECURE, DR_WHY_UNSIGNED_CUT, v->fetch_name);
        return;
    }
    dr_dname_copy_lower(v->pos, v->fetch_name); /* not a cut: keep going down */
    v->phase = PH_WALK;
}

/*
 * Starts the walk at the deepest zone between anchor and target whose keys the key cache
 * holds, when that is deeper than what is already trusted (have: kzone's keys lead on).
 * Not for a DNSKEY question: its answer is checked against its DS set as fetched now, so a
 * zone whose keys changed is not judged by the ones it had.
 */
static bool
cached_keys(struct dr_val *v, const struct dr_val_env *env, const uint8_t *anchor, bool have)
{
    uint8_t zone[DR_NAME_MAX];
    if (env->keys == NULL || v->qtype == DR_TYPE_DNSKEY)
        return false;
    ldns_rr_list *keys = dr_keycache_find(env->keys, env->trust, v->target, anchor, env->now, zone);
    if (keys == NULL)
        return false;
    if (have && dr_dname_is_sub(v->kzone, zone)) {
        ldns_rr_list_deep_free(keys); /* what is trusted already is as deep */
        return false;
    }
    ldns_rr_list_deep_free(v->keys);
    v->keys = keys;
    v->have_keys = true;
    dr_dname_copy_lower(v->kzone, zone);
    dr_dname_copy_lower(v->pos, zone);
    v->key_hits++;
    v->phase = PH_WALK;
    return true;
}

/* What the current item needs: target is the zone of its signer, or (unsigned) its owner's. */
static void
start_item(struct dr_val *v, const struct dr_val_env *env, struct dr_val_action *act)
{
    struct dr_val_item *it = &v->items[v->item];
    const uint8_t *target;
    if (it->pseudo) {
        target = it->pseudo_target;
    } else if (ldns_rr_list_rr_count(it->sigs) > 0) {
        struct dr_rrsig sig;
        if (dr_rrsig_parse(ldns_rr_list_rr(it->sigs, 0), &sig) < 0) {
            item_done(v, DR_VS_BOGUS, DR_WHY_MALFORMED, NULL);
            return;
        }
        target = sig.signer;
    } else {
        const ldns_rr *rr = ldns_rr_list_rr(it->rrset, 0);
        target = owner_of(rr);
        ldns_rr_type t = ldns_rr_get_type(rr);
        /* DS lives in the parent; an NSEC3's owner is a hash below its zone. */
        if (t == LDNS_RR_TYPE_DS || t == LDNS_RR_TYPE_NSEC3)
            target = parent(target);
    }
    /* A DS RRset is signed by the zone above its owner: never by anything at or below the
     * name asked for (that would be our own question). */
    if (v->qtype == DR_TYPE_DS && dr_dname_is_sub(target, v->qname)) {
        if (it->pseudo || ldns_rr_list_rr_count(it->sigs) == 0) {
            target = parent(v->qname);
        } else {
            item_done(v, DR_VS_BOGUS, DR_WHY_SIGNER, NULL);
            return;
        }
    }
    dr_dname_copy_lower(v->target, target);

    ldns_rdf *name = ldns_dname_new_frm_data((uint16_t)dr_dname_len(v->target), v->target);
    if (name == NULL) {
        item_done(v, DR_VS_BOGUS, DR_WHY_MALFORMED, NULL);
        return;
    }
    const struct dr_anchor_zone *az = env->anchors ? dr_anchors_find(env->anchors, name) : NULL;
    bool insecure = env->anchors && az == NULL && dr_anchors_insecure(env->anchors, name);
    ldns_rdf_deep_free(name);
    if (az == NULL) {
        item_done(v, insecure ? DR_VS_INSECURE : DR_VS_INDETERMINATE, DR_WHY_NONE, NULL);
        return;
    }
    const uint8_t *anchor = ldns_rdf_data(az->owner);
    bool lead_on =
        v->have_keys && dr_dname_is_sub(v->target, v->kzone) && dr_dname_is_sub(v->kzone, anchor);
    if (!(lead_on && dr_dname_equal(v->kzone, v->target)) && cached_keys(v, env, anchor, lead_on))
        return;
    if (lead_on) {
        v->phase = PH_WALK; /* keys from the last item lead on */
        return;
    }
    v->have_keys = false;
    ldns_rr_list_deep_free(v->keys);
    v->keys = NULL;
    dr_dname_copy_lower(v->kzone, anchor);
    dr_dname_copy_lower(v->pos, anchor);
    want_keys(v, env, anchor, PH_ANCHOR_KEYS, act);
}

/* After the RRsets: the proofs a negative or wildcard answer needs. */
static void
check_proofs(struct dr_val *v, const struct dr_val_env *env)
{
    if (v->status != DR_VS_SECURE || (!v->negative && !v->wildcard))
        return;
    /* The verified denial records of the zone that signed (v->zone: every item was secure,
     * and merge kept the first item's zone, the SOA's or the answer's signer). */
    ldns_rr_list *nsecs = ldns_rr_list_new(), *nsec3s = ldns_rr_list_new();
    uint8_t zone[DR_NAME_MAX];
    const uint8_t *zp = NULL;
    for (size_t i = 0; nsecs && nsec3s && i < v->nitems; i++) {
        const struct dr_val_item *it = &v->items[i];
        if (it->pseudo || it->section != 2)
            continue;
        for (size_t j = 0; j < ldns_rr_list_rr_count(it->rrset); j++) {
            ldns_rr *rr = ldns_rr_list_rr(it->rrset, j);
            if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NSEC)
                ldns_rr_list_push_rr(nsecs, rr);
            else if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NSEC3)
                ldns_rr_list_push_rr(nsec3s, rr);
            else if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && zp == NULL)
                zp = owner_of(rr);
        }
        struct dr_rrsig sig;
        if (zp == NULL && ldns_rr_list_rr_count(it->sigs) > 0 &&
            dr_rrsig_parse(ldns_rr_list_rr(it->sigs, 0), &sig) == 0) {
            dr_dname_copy_lower(zone, sig.signer);
            zp = zone;
        }
    }
    enum dr_sec s = DR_SEC_BOGUS;
    enum dr_why why = DR_WHY_NO_NSEC;
    const uint8_t *name = v->final;
    uint16_t mi = env->nsec3_max_iter;
    if (nsecs == NULL || nsec3s == NULL || zp == NULL) {
        /* no proof at all */
    } else if (v->wildcard) {
        if (dr_nsec_wildcard_answer(nsecs, v->wild_owner, v->encloser))
            s = DR_SEC_SECURE;
        else if (ldns_rr_list_rr_count(nsec3s))
            s = dr_nsec3_wildcard_answer(nsec3s, zp, v->wild_owner, v->encloser, mi, &why);
    } else {
        s = DR_SEC_SECURE; /* only the negative proof below is due */
    }
    /* A negative answer after a wildcard-expanded CNAME needs both proofs: the wildcard's
     * does not show that the chain's last name lacks its data. */
    if (s != DR_SEC_SECURE || !v->negative) {
        /* decided */
    } else if (v->rcode == DR_RCODE_NXDOMAIN) {
        s = DR_SEC_BOGUS;
        why = DR_WHY_NO_NSEC;
        if (dr_nsec_nxdomain(nsecs, name, NULL))
            s = DR_SEC_SECURE;
        else if (ldns_rr_list_rr_count(nsec3s))
            s = dr_nsec3_nxdomain(nsec3s, zp, name, mi, &why);
    } else {
        s = DR_SEC_BOGUS;
        why = DR_WHY_NO_NSEC;
        if (dr_nsec_nodata(nsecs, name, v->qtype) ||
            dr_nsec_wildcard_nodata(nsecs, name, v->qtype)) {
            s = DR_SEC_SECURE;
        } else if (ldns_rr_list_rr_count(nsec3s)) {
            enum dr_why w2 = DR_WHY_NO_NSEC;
            s = dr_nsec3_nodata(nsec3s, zp, name, v->qtype, mi, &why);
            if (s == DR_SEC_BOGUS &&
                dr_nsec3_wildcard_nodata(nsec3s, zp, name, v->qtype, mi, &w2) != DR_SEC_BOGUS) {
                s = dr_nsec3_wildcard_nodata(nsec3s, zp, name, v->qtype, mi, &why);
            }
        }
    }
    ldns_rr_list_free(nsecs);
    ldns_rr_list_free(nsec3s);
    if (s != DR_SEC_SECURE) {
        v->status = from_sec(s);
        v->why = s == DR_SEC_BOGUS && why == DR_WHY_NONE ? DR_WHY_NO_NSEC : why;
    }
}

/* Goes on until a FETCH is due or the verdict is in. Every turn either ends an item or
 * walks one label deeper, so the guard is only a backstop. */
static void
run(struct dr_val *v, const struct dr_val_env *env, struct dr_val_action *act)
{
    for (int guard = 0; guard < 100000; guard++) {
        act->kind = DR_VAL_DONE;
        if (v->phase == PH_WALK) {
            walk(v, env, act);
        } else {
            if (v->item >= v->nitems)
                break;
            start_item(v, env, act);
        }
        if (act->kind == DR_VAL_FETCH)
            return;
    }
    check_proofs(v, env);
    done(v, act);
}

int
dr_val_start(struct dr_val *v, const struct dr_val_env *env, const uint8_t *qname, uint16_t qtype,
             const uint8_t *final, int rcode, const ldns_rr_list *chain, const ldns_rr_list *answer,
             const ldns_rr_list *authority, struct dr_val_action *act)
{
    memset(v, 0, sizeof(*v));
    v->ttl = UINT32_MAX;
    v->qname = qname;
    v->qtype = qtype;
    v->final = final;
    v->rcode = rcode;
    v->chain = chain;
    v->answer = answer;
    v->authority = authority;
    act->kind = DR_VAL_DONE;
    /* Without a trust point nothing can be proven either way: no work per answer. A
     * question for RRSIG or ANY gets records that are not RRsets with their own
     * signatures (RFC 4035 §3.2.1 has them answered as they are): indeterminate. */
    if (env->anchors == NULL || env->anchors->nzones == 0 || qtype == DR_TYPE_RRSIG ||
        qtype == DR_TYPE_ANY || (rcode != DR_RCODE_NOERROR && rcode != DR_RCODE_NXDOMAIN)) {
        v->status = rcode == DR_RCODE_NOERROR || rcode == DR_RCODE_NXDOMAIN ? DR_VS_INDETERMINATE
                                                                            : DR_VS_NONE;
        return 0;
    }
    bool has_answer = false;
    for (size_t i = 0; answer && i < ldns_rr_list_rr_count(answer); i++)
        if (ldns_rr_get_type(ldns_rr_list_rr(answer, i)) != LDNS_RR_TYPE_RRSIG)
            has_answer = true;
    v->negative = !has_answer;
    int rc = add_items(v, chain, 0);
    if (rc == 0)
        rc = add_items(v, answer, 1);
    if (rc == 0)
        rc = add_items(v, authority, 2);
    if (rc == -E2BIG) {
        v->status = DR_VS_BOGUS; /* more RRsets than anyone's answer needs */
        v->why = DR_WHY_MALFORMED;
        return 0;
    }
    if (rc < 0)
        return rc;
    if (v->negative) {
        /* Whatever the authority section says, the name's zone must be proven unsigned
         * when the proof is not there: a stripped SOA must not make it INSECURE. */
        bool soa = false;
        for (size_t i = 0; i < v->nitems; i++)
            if (v->items[i].section == 2 &&
                ldns_rr_get_type(ldns_rr_list_rr(v->items[i].rrset, 0)) == LDNS_RR_TYPE_SOA)
                soa = true;
        if (!soa) {
            struct dr_val_item *items = realloc(v->items, (v->nitems + 1) * sizeof(*items));
            if (items == NULL)
                return -ENOMEM;
            v->items = items;
            struct dr_val_item *it = &items[v->nitems++];
            memset(it, 0, sizeof(*it));
            it->pseudo = true;
            it->section = 2;
            dr_dname_copy_lower(it->pseudo_target,
                                qtype == DR_TYPE_DS && final[0] ? parent(final) : final);
        }
    }
    run(v, env, act);
    return 0;
}

void
dr_val_on_fetch(struct dr_val *v, const struct dr_val_env *env, enum dr_val_status st,
                enum dr_why why, const uint8_t *reply, size_t len, struct dr_val_action *act)
{
    ldns_pkt *p = parse(reply, len);
    if (reply && p == NULL)
        st = DR_VS_BOGUS;
    act->kind = DR_VAL_DONE;
    if (v->phase == PH_DS)
        got_ds(v, env, st, why, p, act);
    else if (v->phase == PH_KEYS || v->phase == PH_ANCHOR_KEYS)
        got_keys(v, env, st, why, p);
    ldns_pkt_free(p);
    if (act->kind != DR_VAL_FETCH)
        run(v, env, act);
}

void
dr_val_deinit(struct dr_val *v)
{
    for (size_t i = 0; i < v->nitems; i++) {
        ldns_rr_list_free(v->items[i].rrset);
        ldns_rr_list_free(v->items[i].sigs);
    }
    free(v->items);
    v->items = NULL;
    v->nitems = 0;
    ldns_rr_list_deep_free(v->keys);
    ldns_rr_list_deep_free(v->ds);
    v->keys = v->ds = NULL;
}
