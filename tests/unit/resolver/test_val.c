/*
 * Unit tests for resolver/val.c, the validator's step function, on a small signed tree made
 * at run time (sign_test.h): a root trust anchor (a DS), tld., and zones below it signed
 * with NSEC (sec.tld., deep.ent.sec.tld.), NSEC3 with opt-out (n3.tld.), NSEC3 with too many
 * iterations (n3many.tld.), an unsupported algorithm (alg.tld., RSASHA1), and unsigned ones
 * (insec.tld., unsig.n3.tld.).
 *
 * Each FETCH is answered as resolver/mesh.c answers it: with a reply to (name, type) and the
 * verdict that reply's own validation reached. The reply comes from serve(), a tiny
 * authoritative server over the zones (answers, CNAME/DNAME, wildcards, NODATA and NXDOMAIN
 * with the zone's NSEC/NSEC3 records), and its verdict from validating it with this same
 * code, one level deeper, exactly like the mesh's sub-resolutions; a test can override
 * either for a (name, type). The question's own reply is split by resolver/classify.c as
 * the iterator splits it (chain, answer, authority).
 *
 * With DUET_VAL_CORPUS=DIR in the environment every case also writes its inputs (the answer,
 * the top-level fetch replies with their verdicts, the anchor, the time) to DIR/NAME in
 * fuzz/fuzz_val.c's input format: that is how fuzz/corpus/val/ was made.
 */
#include "resolver/val.h"

#include <errno.h>
#include <stdbool.h>

#include "resolver/classify.h"
#include "resolver/keycache.h"
#include "resolver/msg.h"
#include "resolver/nsec3.h"
#include "resolver/rrsig.h"

#include "dnssec_test.h"
#include "sign_test.h"

/* Every key signs from T_INCEPT to T_EXPIRE; www.sec.tld. A alone from W_INCEPT to W_EXPIRE. */
#define T_INCEPT 1767225600u /* 2026-01-01 */
#define T_EXPIRE (T_INCEPT + 60u * 86400u)
#define T_NOW    ((int64_t)T_INCEPT + 20 * 86400)
#define W_INCEPT (T_INCEPT + 10u * 86400u)
#define W_EXPIRE (T_INCEPT + 30u * 86400u)
#define SKEW     DR_RRSIG_SKEW

/* ---- the zones ---- */

struct tzone {
    const char *origin;
    uint8_t apex[DR_NAME_MAX];
    ldns_key *key; /* NULL: unsigned */
    ldns_rr_list *rrs;
};

enum { Z_ROOT, Z_TLD, Z_SEC, Z_DEEP, Z_N3, Z_N3MANY, Z_ALG, Z_INSEC, Z_UNSIG, Z_COUNT };

static struct tzone zones[Z_COUNT] = {
    [Z_ROOT] = {.origin = "."},
    [Z_TLD] = {.origin = "tld."},
    [Z_SEC] = {.origin = "sec.tld."},
    [Z_DEEP] = {.origin = "deep.ent.sec.tld."},
    [Z_N3] = {.origin = "n3.tld."},
    [Z_N3MANY] = {.origin = "n3many.tld."},
    [Z_ALG] = {.origin = "alg.tld."},
    [Z_INSEC] = {.origin = "insec.tld."},
    [Z_UNSIG] = {.origin = "unsig.n3.tld."},
};

static struct dr_anchors anchors;
static ldns_rr *root_ds; /* the trust anchor */

static char *
ds_text(int z)
{
    ldns_rr *ds = test_key_ds(zones[z].key);
    char *s = ldns_rr2str(ds);
    ldns_rr_free(ds);
    return s;
}

static const uint8_t *N(const char *s);

/* The raw hash an NSEC3 record's owner label spells (base32hex). */
static void
owner_hash(const ldns_rr *rr, uint8_t out[DR_NSEC3_HASH_LEN])
{
    const uint8_t *own = ldns_rdf_data(ldns_rr_owner(rr));
    ASSERT_EQ(dr_nsec3_b32_decode(own + 1, own[0], out, DR_NSEC3_HASH_LEN), DR_NSEC3_HASH_LEN);
}

/* The NSEC3 of the unsigned delegation opt_out() leaves out: unsig.n3.tld.'s (NS, no DS). */
static bool
is_optout_skipped(const ldns_rr *rr)
{
    if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NSEC3)
        return false;
    const ldns_rdf *bm = ldns_rr_rdf(rr, 5);
    uint8_t own[DR_NSEC3_HASH_LEN], want[DR_NSEC3_HASH_LEN];
    owner_hash(rr, own);
    ASSERT_EQ(dr_nsec3_hash(N("unsig.n3.tld."), 1, 0, NULL, 0, want), DR_NSEC3_HASH_LEN);
    return memcmp(own, want, sizeof(own)) == 0 &&
           ldns_nsec_bitmap_covers_type(bm, LDNS_RR_TYPE_NS) &&
           !ldns_nsec_bitmap_covers_type(bm, LDNS_RR_TYPE_DS);
}

/* Opt-out as a signer may do it (ldns-signzone only sets the flag, on every NSEC3): no NSEC3
 * for the unsigned delegation unsig.n3.tld. (u2.n3.tld., also unsigned, keeps its own); the
 * NSEC3 before it now points past it, has the opt-out flag (the only one that does) and is
 * signed again. */
static void
opt_out(struct tzone *z)
{
    ldns_rr_list *l = z->rrs, *keep = ldns_rr_list_new(), *changed = ldns_rr_list_new();
    ldns_rr_list *drop = ldns_rr_list_new();
    for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++)
        if (is_optout_skipped(ldns_rr_list_rr(l, i)))
            ldns_rr_list_push_rr(drop, ldns_rr_list_rr(l, i));
    ASSERT_GT(ldns_rr_list_rr_count(drop), 0);
    for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
        ldns_rr *rr = ldns_rr_list_rr(l, i);
        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NSEC3 || is_optout_skipped(rr))
            continue;
        /* while its next is a dropped one, take that one's next */
        for (bool moved = true; moved;) {
            moved = false;
            for (size_t j = 0; j < ldns_rr_list_rr_count(drop); j++) {
                uint8_t h[DR_NSEC3_HASH_LEN];
                ldns_rr *d = ldns_rr_list_rr(drop, j);
                owner_hash(d, h);
                const ldns_rdf *next = ldns_rr_rdf(rr, 4);
                if (ldns_rdf_size(next) == DR_NSEC3_HASH_LEN + 1 &&
                    memcmp(ldns_rdf_data(next) + 1, h, DR_NSEC3_HASH_LEN) == 0) {
                    ldns_rdf_deep_free(ldns_rr_set_rdf(rr, ldns_rdf_clone(ldns_rr_rdf(d, 4)), 4));
                    ldns_rdf_deep_free(ldns_rr_set_rdf(
                        rr, ldns_native2rdf_int8(LDNS_RDF_TYPE_INT8, LDNS_NSEC3_VARS_OPTOUT_MASK),
                        1));
                    if (!ldns_rr_list_contains_rr(changed, rr))
                        ldns_rr_list_push_rr(changed, rr);
                    moved = true;
                }
            }
        }
    }
    /* the dropped owners, before any record is freed */
    uint8_t gone_owner[8][DR_NAME_MAX];
    size_t ngone = ldns_rr_list_rr_count(drop);
    ASSERT_LE(ngone, 8);
    for (size_t j = 0; j < ngone; j++)
        dr_dname_copy_lower(gone_owner[j], ldns_rdf_data(ldns_rr_owner(ldns_rr_list_rr(drop, j))));
    for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
        ldns_rr *rr = ldns_rr_list_rr(l, i);
        bool gone = false;
        for (size_t j = 0; j < ngone; j++)
            if (dr_dname_equal(ldns_rdf_data(ldns_rr_owner(rr)), gone_owner[j]))
                gone = true;
        for (size_t j = 0; !gone && j < ldns_rr_list_rr_count(changed); j++)
            if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG &&
                ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)) == LDNS_RR_TYPE_NSEC3 &&
                dr_dname_equal(ldns_rdf_data(ldns_rr_owner(rr)),
                               ldns_rdf_data(ldns_rr_owner(ldns_rr_list_rr(changed, j)))))
                gone = true;
        if (gone)
            ldns_rr_free(rr);
        else
            ldns_rr_list_push_rr(keep, rr);
    }
    for (size_t j = 0; j < ldns_rr_list_rr_count(changed); j++) {
        ldns_rr_list *one = ldns_rr_list_new();
        ldns_rr_list_push_rr(one, ldns_rr_list_rr(changed, j));
        ldns_rr_list *sig = test_sign_rrset(one, z->key);
        ldns_rr_list_push_rr_list(keep, sig);
        ldns_rr_list_free(sig);
        ldns_rr_list_free(one);
    }
    ldns_rr_list_free(changed);
    ldns_rr_list_free(drop);
    ldns_rr_list_free(l);
    z->rrs = keep;
}

static void
setup(void)
{
    const uint32_t s = T_INCEPT, e = T_EXPIRE;
    for (int i = 0; i < Z_COUNT; i++) {
        if (i == Z_INSEC || i == Z_UNSIG)
            continue;
        if (i == Z_ALG)
            zones[i].key = test_key_new(zones[i].origin, LDNS_SIGN_RSASHA1, 1024, 257, s, e);
        else
            zones[i].key = test_key_new(zones[i].origin, LDNS_SIGN_ECDSAP256SHA256, 256, 257, s, e);
    }
    for (int i = 0; i < Z_COUNT; i++)
        ASSERT_EQ(dr_dname_from_str(zones[i].origin, zones[i].apex) > 0, 1);

    /* leaves first: their parents carry their DS */
    char *deep_ds = ds_text(Z_DEEP);
    char text[8192];
    snprintf(text, sizeof(text),
             "$ORIGIN deep.ent.sec.tld.\n"
             "@ IN SOA ns hm 1 7200 3600 1209600 300\n"
             "@ IN NS ns\n"
             "ns IN A 192.0.2.1\n"
             "www IN A 192.0.2.40\n");
    zones[Z_DEEP].rrs = test_zone_sign(zones[Z_DEEP].origin, text, zones[Z_DEEP].key,
                                       (struct test_nsec3){-1, false});
    snprintf(text, sizeof(text),
             "$ORIGIN sec.tld.\n"
             "@ IN SOA ns hm 1 7200 3600 1209600 300\n"
             "@ IN NS ns\n"
             "ns IN A 192.0.2.1\n"
             "www IN A 192.0.2.10\n"
             "www IN TXT \"hello\"\n"
             "a.b IN A 192.0.2.11\n"
             "*.w IN A 192.0.2.12\n"
             "*.wc IN CNAME www.n3.tld.\n"
             "alias IN CNAME www.n3.tld.\n"
             "alias2 IN CNAME www.insec.tld.\n"
             "dn IN DNAME n3.tld.\n"
             "deep.ent IN NS ns.deep.ent\n"
             "ns.deep.ent IN A 192.0.2.41\n"
             "%s",
             deep_ds);
    free(deep_ds);
    zones[Z_SEC].rrs =
        test_zone_sign(zones[Z_SEC].origin, text, zones[Z_SEC].key, (struct test_nsec3){-1, false});
    /* www.sec.tld. A: signed again with its own, narrower window (the time tests) */
    {
        ldns_rr_list *l = zones[Z_SEC].rrs, *keep = ldns_rr_list_new(), *a = ldns_rr_list_new();
        uint8_t www[DR_NAME_MAX];
        name_of("www.sec.tld.", www);
        for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
            ldns_rr *rr = ldns_rr_list_rr(l, i);
            bool at = dr_dname_equal(ldns_rdf_data(ldns_rr_owner(rr)), www);
            if (at && ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG &&
                ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)) == LDNS_RR_TYPE_A) {
                ldns_rr_free(rr);
                continue;
            }
            if (at && ldns_rr_get_type(rr) == LDNS_RR_TYPE_A)
                ldns_rr_list_push_rr(a, rr);
            ldns_rr_list_push_rr(keep, rr);
        }
        ldns_key_set_inception(zones[Z_SEC].key, W_INCEPT);
        ldns_key_set_expiration(zones[Z_SEC].key, W_EXPIRE);
        ldns_rr_list *sig = test_sign_rrset(a, zones[Z_SEC].key);
        ldns_key_set_inception(zones[Z_SEC].key, s);
        ldns_key_set_expiration(zones[Z_SEC].key, e);
        ldns_rr_list_push_rr_list(keep, sig);
        ldns_rr_list_free(sig);
        ldns_rr_list_free(a);
        ldns_rr_list_free(l);
        zones[Z_SEC].rrs = keep;
    }
    snprintf(text, sizeof(text),
             "$ORIGIN n3.tld.\n"
             "@ IN SOA ns hm 1 7200 3600 1209600 300\n"
             "@ IN NS ns\n"
             "ns IN A 192.0.2.1\n"
             "www IN A 192.0.2.20\n"
             "*.w IN A 192.0.2.22\n"
             "unsig IN NS ns.unsig\n"
             "ns.unsig IN A 192.0.2.21\n"
             "u2 IN NS ns.u2\n"
             "ns.u2 IN A 192.0.2.23\n");
    zones[Z_N3].rrs =
        test_zone_sign(zones[Z_N3].origin, text, zones[Z_N3].key, (struct test_nsec3){0, false});
    opt_out(&zones[Z_N3]);
    snprintf(text, sizeof(text),
             "$ORIGIN n3many.tld.\n"
             "@ IN SOA ns hm 1 7200 3600 1209600 300\n"
             "@ IN NS ns\n"
             "ns IN A 192.0.2.1\n"
             "www IN A 192.0.2.30\n");
    zones[Z_N3MANY].rrs = test_zone_sign(zones[Z_N3MANY].origin, text, zones[Z_N3MANY].key,
                                         (struct test_nsec3){DR_NSEC3_MAX_ITERATIONS + 1, false});
    snprintf(text, sizeof(text),
             "$ORIGIN alg.tld.\n"
             "@ IN SOA ns hm 1 7200 3600 1209600 300\n"
             "@ IN NS ns\n"
             "ns IN A 192.0.2.1\n"
             "www IN A 192.0.2.50\n");
    zones[Z_ALG].rrs =
        test_zone_sign(zones[Z_ALG].origin, text, zones[Z_ALG].key, (struct test_nsec3){-1, false});
    snprintf(text, sizeof(text),
             "$ORIGIN insec.tld.\n"
             "@ IN SOA ns hm 1 7200 3600 1209600 300\n"
             "@ IN NS ns\n"
             "ns IN A 192.0.2.1\n"
             "www IN A 192.0.2.60\n");
    zones[Z_INSEC].rrs =
        test_zone_sign(zones[Z_INSEC].origin, text, NULL, (struct test_nsec3){-1, false});
    snprintf(text, sizeof(text),
             "$ORIGIN unsig.n3.tld.\n"
             "@ IN SOA ns hm 1 7200 3600 1209600 300\n"
             "@ IN NS ns\n"
             "ns IN A 192.0.2.1\n"
             "www IN A 192.0.2.70\n");
    zones[Z_UNSIG].rrs =
        test_zone_sign(zones[Z_UNSIG].origin, text, NULL, (struct test_nsec3){-1, false});

    char *ds_sec = ds_text(Z_SEC), *ds_n3 = ds_text(Z_N3), *ds_many = ds_text(Z_N3MANY),
         *ds_alg = ds_text(Z_ALG);
    snprintf(text, sizeof(text),
             "$ORIGIN tld.\n"
             "@ IN SOA ns hm 1 7200 3600 1209600 300\n"
             "@ IN NS ns\n"
             "ns IN A 192.0.2.1\n"
             "sec IN NS ns.sec\n"
             "n3 IN NS ns.n3\n"
             "n3many IN NS ns.n3many\n"
             "alg IN NS ns.alg\n"
             "insec IN NS ns.insec\n"
             "%s%s%s%s",
             ds_sec, ds_n3, ds_many, ds_alg);
    free(ds_sec);
    free(ds_n3);
    free(ds_many);
    free(ds_alg);
    zones[Z_TLD].rrs =
        test_zone_sign(zones[Z_TLD].origin, text, zones[Z_TLD].key, (struct test_nsec3){-1, false});
    char *ds_tld = ds_text(Z_TLD);
    snprintf(text, sizeof(text),
             "$ORIGIN .\n"
             ". IN SOA ns.root. hm.root. 1 7200 3600 1209600 300\n"
             ". IN NS ns.root.\n"
             "ns.root. IN A 192.0.2.1\n"
             "tld. IN NS ns.tld.\n"
             "%s",
             ds_tld);
    free(ds_tld);
    zones[Z_ROOT].rrs = test_zone_sign(zones[Z_ROOT].origin, text, zones[Z_ROOT].key,
                                       (struct test_nsec3){-1, false});

    root_ds = test_key_ds(zones[Z_ROOT].key);
    dr_anchors_init(&anchors);
    ldns_rdf *root = ldns_dname_new_frm_str(".");
    struct dr_anchor_zone *az = dr_anchors_zone_add(&anchors, root);
    ldns_rdf_deep_free(root);
    ASSERT_NOT_NULL(az);
    ASSERT_EQ(dr_anchor_key_add(az, ldns_rr_clone(root_ds), DR_ANCHOR_VALID, 0, 0), 0);
}

static void
teardown(void)
{
    for (int i = 0; i < Z_COUNT; i++) {
        ldns_rr_list_deep_free(zones[i].rrs);
        if (zones[i].key)
            ldns_key_deep_free(zones[i].key);
    }
    dr_anchors_deinit(&anchors);
    ldns_rr_free(root_ds);
}

/* ---- serve(): the authoritative side ---- */

static const uint8_t *
owner_of(const ldns_rr *rr)
{
    return ldns_rdf_data(ldns_rr_owner(rr));
}

/* The zone that answers (name, type): the deepest apex at or above name; DS at an apex is
 * the parent's. */
static struct tzone *
zone_for(const uint8_t *name, uint16_t type)
{
    struct tzone *best = NULL;
    for (int i = 0; i < Z_COUNT; i++) {
        struct tzone *z = &zones[i];
        if (!dr_dname_is_sub(name, z->apex))
            continue;
        if (type == DR_TYPE_DS && name[0] != 0 && dr_dname_equal(name, z->apex))
            continue;
        if (best == NULL || dr_dname_labels(z->apex) > dr_dname_labels(best->apex))
            best = z;
    }
    return best;
}

/* Appends to p's section clones of z's records owned by name of type (and their RRSIGs);
 * owner, when not NULL, replaces the owner (a wildcard expansion). Returns how many. */
static int
push_rrset(ldns_pkt *p, ldns_pkt_section sec, const struct tzone *z, const uint8_t *name,
           uint16_t type, const uint8_t *owner)
{
    int n = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
            const ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);
            if (!dr_dname_equal(owner_of(rr), name))
                continue;
            bool data = ldns_rr_get_type(rr) == type;
            bool sig = ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG &&
                       ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)) == type;
            if (pass == 0 ? !data : !sig)
                continue;
            ldns_rr *c = ldns_rr_clone(rr);
            if (owner) {
                ldns_rdf_deep_free(ldns_rr_owner(c));
                ldns_rr_set_owner(c, ldns_dname_new_frm_data((uint16_t)dr_dname_len(owner), owner));
            }
            ldns_pkt_push_rr(p, sec, c);
            n += data;
        }
        if (n == 0)
            break;
    }
    return n;
}

/* Whether name exists in z: owns a record or has one below it (an empty non-terminal). */
static bool
exists(const struct tzone *z, const uint8_t *name)
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);
        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NSEC3 &&
            !(ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG &&
              ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)) == LDNS_RR_TYPE_NSEC3) &&
            dr_dname_is_sub(owner_of(rr), name))
            return true;
    }
    return false;
}

/* The SOA and every NSEC/NSEC3 of z (a superset of any proof) into the authority section. */
static void
push_denial(ldns_pkt *p, const struct tzone *z, bool soa)
{
    if (soa)
        push_rrset(p, LDNS_SECTION_AUTHORITY, z, z->apex, LDNS_RR_TYPE_SOA, NULL);
    for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);
        ldns_rr_type t = ldns_rr_get_type(rr);
        if (t == LDNS_RR_TYPE_RRSIG)
            t = ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr));
        if (t == LDNS_RR_TYPE_NSEC || t == LDNS_RR_TYPE_NSEC3)
            ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, ldns_rr_clone(rr));
    }
}

/* The reply a recursive server with DO=1 gives to (qname, qtype): CNAME and DNAME chains
 * followed across the zones, wildcards expanded, negative answers with their proofs. */
static ldns_pkt *
serve(const uint8_t *qname, uint16_t qtype)
{
    ldns_pkt *p = ldns_pkt_new();
    ASSERT_NOT_NULL(p);
    ldns_pkt_set_qr(p, true);
    ldns_pkt_set_rd(p, true);
    ldns_pkt_set_ra(p, true);
    ldns_rr *q = ldns_rr_new();
    ldns_rr_set_owner(q, ldns_dname_new_frm_data((uint16_t)dr_dname_len(qname), qname));
    ldns_rr_set_type(q, qtype);
    ldns_rr_set_class(q, LDNS_RR_CLASS_IN);
    ldns_rr_set_question(q, true);
    ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, q);
    uint8_t cur[DR_NAME_MAX];
    dr_dname_copy_lower(cur, qname);
    for (int links = 0; links < 8; links++) {
        const struct tzone *z = zone_for(cur, qtype);
        ASSERT_NOT_NULL(z);
        if (push_rrset(p, LDNS_SECTION_ANSWER, z, cur, qtype, NULL) > 0)
            return p;
        if (qtype != DR_TYPE_CNAME &&
            push_rrset(p, LDNS_SECTION_ANSWER, z, cur, DR_TYPE_CNAME, NULL) > 0) {
            const ldns_rr *cn = NULL;
            for (size_t i = 0; i < ldns_pkt_ancount(p); i++)
                if (ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(p), i)) == LDNS_RR_TYPE_CNAME)
                    cn = ldns_rr_list_rr(ldns_pkt_answer(p), i);
            dr_dname_copy_lower(cur, ldns_rdf_data(ldns_rr_rdf(cn, 0)));
            continue;
        }
        /* a DNAME above cur (inside z) */
        bool moved = false;
        for (int up = 1; !moved && up < dr_dname_labels(cur) - dr_dname_labels(z->apex) + 1; up++) {
            const uint8_t *a = dr_dname_strip(cur, up);
            uint8_t next[DR_NAME_MAX];
            for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
                const ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);
                if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_DNAME || !dr_dname_equal(owner_of(rr), a))
                    continue;
                push_rrset(p, LDNS_SECTION_ANSWER, z, a, DR_TYPE_DNAME, NULL);
                ASSERT_GT(dr_classify_dname_subst(cur, a, ldns_rdf_data(ldns_rr_rdf(rr, 0)), next),
                          0);
                ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER,
                                 dr_classify_alias_rr(LDNS_RR_TYPE_CNAME, cur, next,
                                                      LDNS_RR_CLASS_IN, ldns_rr_ttl(rr)));
                dr_dname_copy_lower(cur, next);
                moved = true;
                break;
            }
        }
        if (moved)
            continue;
        if (exists(z, cur)) {
            push_denial(p, z, true);
            return p;
        }
        /* the closest encloser's wildcard */
        for (int up = 1; up <= dr_dname_labels(cur) - dr_dname_labels(z->apex); up++) {
            const uint8_t *ce = dr_dname_strip(cur, up);
            if (!exists(z, ce))
                continue;
            uint8_t wild[DR_NAME_MAX];
            wild[0] = 1;
            wild[1] = '*';
            memcpy(wild + 2, ce, dr_dname_len(ce));
            if (push_rrset(p, LDNS_SECTION_ANSWER, z, wild, qtype, cur) > 0) {
                push_denial(p, z, false);
                return p;
            }
            if (qtype != DR_TYPE_CNAME &&
                push_rrset(p, LDNS_SECTION_ANSWER, z, wild, DR_TYPE_CNAME, cur) > 0) {
                push_denial(p, z, false);
                for (size_t i = 0; i < ldns_pkt_ancount(p); i++) {
                    const ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(p), i);
                    if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME &&
                        dr_dname_equal(owner_of(rr), cur)) {
                        dr_dname_copy_lower(cur, ldns_rdf_data(ldns_rr_rdf(rr, 0)));
                        break;
                    }
                }
                moved = true;
                break;
            }
            if (exists(z, wild)) {
                push_denial(p, z, true); /* wildcard NODATA */
                return p;
            }
            break;
        }
        if (moved)
            continue;
        ldns_pkt_set_rcode(p, LDNS_RCODE_NXDOMAIN);
        push_denial(p, z, true);
        return p;
    }
    TEST_FAIL("serve: chain too long");
}

/* ---- the mesh's side: answering FETCHes ---- */

/* An override for fetches of (name, type): name NULL matches every name. */
struct override {
    const char *name;
    uint16_t type;
    enum dr_val_status st;
    enum dr_why why;
    bool fail; /* the fetch failed: NULL reply, status NONE */
    ldns_pkt *(*reply)(const uint8_t *name, uint16_t type); /* NULL: serve() */
};

static struct override overrides[4];
/* Records added to the question's authority section after the split (NULL: none). */
static ldns_rr_list *extra_authority;
/* The reply for the next hop of a chain in the question's own resolution (NULL: serve()). */
static ldns_pkt *(*hop_reply)(const uint8_t *name, uint16_t type);
static size_t noverrides;

static void
override(struct override o)
{
    ASSERT_LT(noverrides, sizeof(overrides) / sizeof(overrides[0]));
    overrides[noverrides++] = o;
}

struct result {
    enum dr_val_status st;
    enum dr_why why;
    int fetches;
    char seq[2048]; /* the top-level fetches: "DNSKEY . DS tld. ..." */
};

/* The corpus writer (fuzz/fuzz_val.c's input format): see write_case(). */
static FILE *corpus;

static void
corpus_tlv(uint8_t kind, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    if (corpus == NULL)
        return;
    size_t len = alen + blen;
    uint8_t h[3] = {kind, (uint8_t)(len >> 8), (uint8_t)len};
    fwrite(h, 1, 3, corpus);
    fwrite(a, 1, alen, corpus);
    if (blen)
        fwrite(b, 1, blen, corpus);
}

static void validate(const struct dr_val_env *env, const uint8_t *qname, uint16_t qtype,
                     ldns_pkt *reply, int depth, struct result *out);

/* Answers one FETCH as the mesh does (cache or sub-resolution, validated the same way). */
static void
fetch_answer(const struct dr_val_env *env, const uint8_t *name, uint16_t type, int depth,
             enum dr_val_status *st, enum dr_why *why, uint8_t **wire, size_t *len)
{
    const struct override *o = NULL;
    for (size_t i = 0; i < noverrides; i++)
        if (overrides[i].type == type &&
            (overrides[i].name == NULL || dr_dname_equal(N(overrides[i].name), name)))
            o = &overrides[i];
    *wire = NULL;
    *len = 0;
    if (o && o->fail) {
        *st = DR_VS_NONE;
        *why = DR_WHY_NONE;
        return;
    }
    ldns_pkt *p = o && o->reply ? o->reply(name, type) : serve(name, type);
    if (o) {
        *st = o->st;
        *why = o->why;
    } else {
        struct result sub;
        validate(env, name, type, p, depth + 1, &sub);
        *st = sub.st;
        *why = sub.why;
    }
    ASSERT_EQ(ldns_pkt2wire(wire, p, len), LDNS_STATUS_OK);
    ldns_pkt_free(p);
}

static void
validate(const struct dr_val_env *env, const uint8_t *qname, uint16_t qtype, ldns_pkt *reply,
         int depth, struct result *out)
{
    if (depth > 12)
        TEST_FAIL("fetches nest deeper than 12");
    memset(out, 0, sizeof(*out));
    /* As the iterator: classify the reply; where a chain leads on (CNAME verdict), ask
     * for its target and classify that reply too, the chain links appended. */
    uint8_t final[DR_NAME_MAX];
    dr_dname_copy_lower(final, qname);
    ldns_rr_list *chain = ldns_rr_list_new();
    struct dr_classified c;
    ldns_pkt *cur = reply;
    int rcode = -1;
    for (int hop = 0; rcode < 0; hop++) {
        ASSERT_LT(hop, 8);
        struct dr_classify_in in = {.zone = (const uint8_t *)"",
                                    .name = final,
                                    .qtype = qtype,
                                    .qclass = DR_CLASS_IN,
                                    .forwarder = true,
                                    .max_chain = 8};
        dr_classify(cur, &in, &c);
        if (depth == 0 && corpus) {
            uint8_t *w = NULL;
            size_t wl = 0;
            ASSERT_EQ(ldns_pkt2wire(&w, cur, &wl), LDNS_STATUS_OK);
            corpus_tlv(0, w, wl, NULL, 0);
            free(w);
        }
        for (size_t i = 0; c.chain && i < ldns_rr_list_rr_count(c.chain); i++)
            ldns_rr_list_push_rr(chain, ldns_rr_clone(ldns_rr_list_rr(c.chain, i)));
        switch (c.verdict) {
        case DR_VERDICT_ANSWER:
        case DR_VERDICT_NODATA:
            rcode = DR_RCODE_NOERROR;
            break;
        case DR_VERDICT_NXDOMAIN:
            rcode = DR_RCODE_NXDOMAIN;
            break;
        case DR_VERDICT_CNAME:
            break;
        default:
            TEST_FAIL("classify: verdict %s (%s)", dr_verdict_names[c.verdict], c.why ? c.why : "");
        }
        /* the name the chain ends at, as the iterator's cur */
        for (size_t i = 0; c.chain && i < ldns_rr_list_rr_count(c.chain); i++) {
            const ldns_rr *rr = ldns_rr_list_rr(c.chain, i);
            if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME)
                dr_dname_copy_lower(final, ldns_rdf_data(ldns_rr_rdf(rr, 0)));
        }
        if (rcode < 0) {
            dr_classified_clear(&c);
            if (cur != reply)
                ldns_pkt_free(cur);
            cur = depth == 0 && hop_reply ? hop_reply(final, qtype) : serve(final, qtype);
        }
    }
    if (cur != reply)
        ldns_pkt_free(cur);
    struct dr_val v;
    struct dr_val_action act;
    if (depth == 0 && extra_authority) {
        if (c.soa == NULL)
            c.soa = ldns_rr_list_new();
        for (size_t i = 0; i < ldns_rr_list_rr_count(extra_authority); i++)
            ldns_rr_list_push_rr(c.soa, ldns_rr_clone(ldns_rr_list_rr(extra_authority, i)));
    }
    ASSERT_EQ(dr_val_start(&v, env, qname, qtype, final, rcode, chain, c.answer, c.soa, &act), 0);
    while (act.kind == DR_VAL_FETCH) {
        out->fetches++;
        ASSERT_LE(out->fetches, DR_VAL_MAX_FETCHES);
        ASSERT(act.type == DR_TYPE_DS || act.type == DR_TYPE_DNSKEY);
        uint8_t name[DR_NAME_MAX];
        dr_dname_copy_lower(name, act.name);
        if (depth == 0) {
            char s[DR_NAME_MAX * 4];
            ASSERT(dr_dname_to_str(name, s, sizeof(s)) >= 0);
            size_t used = strlen(out->seq);
            snprintf(out->seq + used, sizeof(out->seq) - used, "%s%s %s", used ? " " : "",
                     act.type == DR_TYPE_DS ? "DS" : "DNSKEY", s);
        }
        enum dr_val_status st;
        enum dr_why why;
        uint8_t *wire;
        size_t len;
        fetch_answer(env, name, act.type, depth, &st, &why, &wire, &len);
        if (depth == 0) {
            uint8_t sw[2] = {(uint8_t)st, (uint8_t)why};
            corpus_tlv(3, sw, 2, wire, len);
        }
        dr_val_on_fetch(&v, env, st, why, wire, len, &act);
        free(wire);
    }
    out->st = v.status;
    out->why = v.why;
    dr_val_deinit(&v);
    dr_classified_clear(&c);
    ldns_rr_list_deep_free(chain);
}

/* ---- running a case ---- */

static struct dr_val_env
env_at(int64_t now)
{
    struct dr_val_env e = {
        .anchors = &anchors, .now = now, .skew = SKEW, .nsec3_max_iter = DR_NSEC3_MAX_ITERATIONS};
    return e;
}

/* Opens DUET_VAL_CORPUS/name for the next case's inputs, with the time and the anchor. */
static void
write_case(const char *name, const struct dr_val_env *env)
{
    const char *dir = getenv("DUET_VAL_CORPUS");
    if (dir == NULL)
        return;
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    corpus = fopen(path, "wb");
    ASSERT_NOT_NULL(corpus);
    uint32_t now = (uint32_t)env->now;
    uint8_t h[4] = {(uint8_t)(now >> 24), (uint8_t)(now >> 16), (uint8_t)(now >> 8), (uint8_t)now};
    fwrite(h, 1, 4, corpus);
    for (size_t i = 0; env->anchors && i < env->anchors->nzones; i++) {
        const struct dr_anchor_zone *z = &env->anchors->zones[i];
        for (size_t k = 0; k < z->nkeys; k++) {
            ldns_buffer *b = ldns_buffer_new(512);
            ASSERT_EQ(ldns_rr2buffer_wire(b, z->keys[k].rr, LDNS_SECTION_ANSWER), LDNS_STATUS_OK);
            corpus_tlv(1, ldns_buffer_begin(b), ldns_buffer_position(b), NULL, 0);
            ldns_buffer_free(b);
        }
    }
    for (size_t i = 0; env->anchors && i < env->anchors->ninsecure; i++)
        corpus_tlv(2, ldns_rdf_data(env->anchors->insecure[i]),
                   ldns_rdf_size(env->anchors->insecure[i]), NULL, 0);
}

/* Validates the reply to (qname, qtype) at env (a reply made by serve() unless given). */
static struct result
run_case(const char *casename, const struct dr_val_env *env, const char *qname, uint16_t qtype,
         ldns_pkt *reply)
{
    struct result r;
    write_case(casename, env);
    uint8_t q[DR_NAME_MAX];
    name_of(qname, q);
    ldns_pkt *p = reply ? reply : serve(q, qtype);
    validate(env, q, qtype, p, 0, &r);
    ldns_pkt_free(p);
    if (corpus)
        fclose(corpus);
    corpus = NULL;
    noverrides = 0;
    hop_reply = NULL;
    ldns_rr_list_deep_free(extra_authority);
    extra_authority = NULL;
    char *t = ldns_rr_type2str(qtype);
    fprintf(stderr, "   %s %s: %s %s, %d fetches: %s\n", qname, t, dr_val_status_names[r.st],
            dr_why_names[r.why], r.fetches, r.seq);
    free(t);
    return r;
}

#define ASSERT_VERDICT(r, status, reason)                                                          \
    do {                                                                                           \
        ASSERT_STR_EQ(dr_val_status_names[(r).st], dr_val_status_names[status]);                   \
        ASSERT_STR_EQ(dr_why_names[(r).why], dr_why_names[reason]);                                \
    } while (0)

/* The chain down to sec.tld.'s keys, as fetched from the anchor. */
#define SEQ_SEC "DNSKEY . DS tld. DNSKEY tld. DS sec.tld. DNSKEY sec.tld."

/* ---- positive answers, chains ---- */

static void
test_secure_answer(void)
{
    struct dr_val_env e = env_at(T_NOW);
    struct result r = run_case("secure_answer", &e, "www.sec.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_SECURE, DR_WHY_NONE);
    ASSERT_STR_EQ(r.seq, SEQ_SEC);
    ASSERT_EQ(dr_val_ede(r.st, r.why), -1);
}

static void
test_cname_chain_across_two_secure_zones(void)
{
    struct dr_val_env e = env_at(T_NOW);
    struct result r = run_case("cname_secure_secure", &e, "alias.sec.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_SECURE, DR_WHY_NONE);
    /* the CNAME with sec.tld.'s keys, then www.n3.tld. A with n3.tld.'s, from the anchor */
    ASSERT_STR_EQ(r.seq, SEQ_SEC " DNSKEY . DS tld. DNSKEY tld. DS n3.tld. DNSKEY n3.tld.");
}

static void
test_cname_chain_into_an_insecure_zone(void)
{
    struct dr_val_env e = env_at(T_NOW);
    struct result r = run_case("cname_secure_insecure", &e, "alias2.sec.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_INSECURE, DR_WHY_UNSIGNED_CUT);
    ASSERT_STR_EQ(r.seq, SEQ_SEC " DNSKEY . DS tld. DNSKEY tld. DS insec.tld.");
    ASSERT_EQ(dr_val_ede(r.st, r.why), -1);
}

static void
test_dname_with_synthesised_cname(void)
{
    struct dr_val_env e = env_at(T_NOW);
    struct result r = run_case("dname", &e, "www.dn.sec.tld.", DR_TYPE_A, NULL);
    /* the unsigned synthesised CNAME is proven by the DNAME's signature */
    ASSERT_VERDICT(r, DR_VS_SECURE, DR_WHY_NONE);
    ASSERT_STR_EQ(r.seq, SEQ_SEC " DNSKEY . DS tld. DNSKEY tld. DS n3.tld. DNSKEY n3.tld.");
}

/* ---- NSEC ---- */

static void
test_nsec_nxdomain(void)
{
    struct dr_val_env e = env_at(T_NOW);
    struct result r = run_case("nsec_nxdomain", &e, "nope.sec.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_SECURE, DR_WHY_NONE);
    ASSERT_STR_EQ(r.seq, SEQ_SEC);
}

static void
test_nsec_nodata(void)
{
    struct dr_val_env e = env_at(T_NOW);
    struct result r = run_case("nsec_nodata", &e, "www.sec.tld.", DR_TYPE_AAAA, NULL);
    ASSERT_VERDICT(r, DR_VS_SECURE, DR_WHY_NONE);
    ASSERT_STR_EQ(r.seq, SEQ_SEC);
}

/* p with its authority section (a wildcard proof) removed. */
static ldns_pkt *
without_authority(ldns_pkt *p)
{
    ldns_rr_list_deep_free(ldns_pkt_authority(p));
    ldns_pkt_set_authority(p, ldns_rr_list_new());
    ldns_pkt_set_nscount(p, 0);
    return p;
}

/* The reply to x.w.sec.tld. A with its authority section (the wildcard proof) removed. */
static ldns_pkt *
wildcard_without_proof(void)
{
    ldns_pkt *p = serve(N("x.w.sec.tld."), DR_TYPE_A);
    ldns_rr_list_deep_free(ldns_pkt_authority(p));
    ldns_pkt_set_authority(p, ldns_rr_list_new());
    ldns_pkt_set_nscount(p, 0);
    return p;
}

static void
test_nsec_wildcard_answer(void)
{
    struct dr_val_env e = env_at(T_NOW);
    struct result r = run_case("nsec_wildcard", &e, "x.w.sec.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_SECURE, DR_WHY_NONE);
    ASSERT_STR_EQ(r.seq, SEQ_SEC);
    r = run_case("nsec_wildcard_nodata", &e, "x.w.sec.tld.", DR_TYPE_AAAA, NULL);
    ASSERT_VERDICT(r, DR_VS_SECURE, DR_WHY_NONE);
    ASSERT_STR_EQ(r.seq, SEQ_SEC);
    r = run_case("nsec_wildcard_no_proof", &e, "x.w.sec.tld.", DR_TYPE_A, wildcard_without_proof());
    ASSERT_VERDICT(r, DR_VS_BOGUS, DR_WHY_NO_NSEC);
    ASSERT_EQ(dr_val_ede(r.st, r.why), 12);
}

/* The reply to www.n3.tld. AAAA (NODATA) without its NSEC3 records: SOA only. */
static ldns_pkt *
nodata_without_proof(const uint8_t *name, uint16_t type)
{
    ldns_pkt *p = serve(name, type);
    ldns_rr_list *keep = ldns_rr_list_new(), *au = ldns_pkt_authority(p);
    for (size_t i = 0; i < ldns_rr_list_rr_count(au); i++) {
        ldns_rr *rr = ldns_rr_list_rr(au, i);
        ldns_rr_type t = ldns_rr_get_type(rr);
        if (t == LDNS_RR_TYPE_RRSIG)
            t = ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr));
        if (t == LDNS_RR_TYPE_NSEC3 || t == LDNS_RR_TYPE_NSEC)
            ldns_rr_free(rr);
        else
            ldns_rr_list_push_rr(keep, rr);
    }
    ldns_rr_list_free(au);
    ldns_pkt_set_authority(p, keep);
    ldns_pkt_set_nscount(p, (uint16_t)ldns_rr_list_rr_count(keep));
    return p;
}

/* The NSEC/NSEC3 records (with RRSIGs) in the authority section of the reply to (name, type). */
static ldns_rr_list *
denial_of_reply(const char *name, uint16_t type)
{
    ldns_pkt *p = serve(N(name), type);
    ldns_rr_list *l = ldns_rr_list_new(), *au = ldns_pkt_authority(p);
    for (size_t i = 0; i < ldns_rr_list_rr_count(au); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(au, i);
        ldns_rr_type t = ldns_rr_get_type(rr);
        if (t == LDNS_RR_TYPE_RRSIG)
            t = ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr));
        if (t == LDNS_RR_TYPE_NSEC3 || t == LDNS_RR_TYPE_NSEC)
            ldns_rr_list_push_rr(l, ldns_rr_clone(rr));
    }
    ldns_pkt_free(p);
    return l;
}

/* A forged NXDOMAIN for x.wc.sec.tld. A: the genuine wildcard CNAME to www.n3.tld. with the
 * wildcard's genuine NSEC proof and n3.tld.'s genuine SOA, but no proof that www.n3.tld.
 * does not exist (it does). */
static ldns_pkt *
forged_nxdomain_after_wildcard_cname(void)
{
    ldns_pkt *p = serve(N("x.wc.sec.tld."), DR_TYPE_A);
    ldns_rr_list *keep = ldns_rr_list_new(), *an = ldns_pkt_answer(p);
    for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
        ldns_rr *rr = ldns_rr_list_rr(an, i);
        if (dr_dname_equal(owner_of(rr), N("www.n3.tld.")))
            ldns_rr_free(rr);
        else
            ldns_rr_list_push_rr(keep, rr);
    }
    ldns_rr_list_free(an);
    ldns_pkt_set_answer(p, keep);
    ldns_pkt_set_ancount(p, (uint16_t)ldns_rr_list_rr_count(keep));
    ldns_pkt_set_rcode(p, LDNS_RCODE_NXDOMAIN);
    push_rrset(p, LDNS_SECTION_AUTHORITY, &zones[Z_N3], zones[Z_N3].apex, LDNS_RR_TYPE_SOA, NULL);
    return p;
}

static void
test_wildcard_cname_into_another_zone(void)
{
    struct dr_val_env e = env_at(T_NOW);
    /* the CNAME's keys, the A's, the CNAME's proof's again */
    const char *seq = SEQ_SEC " DNSKEY . DS tld. DNSKEY tld. DS n3.tld. DNSKEY n3.tld. " SEQ_SEC;
    /* x.wc.sec.tld. CNAME www.n3.tld. from *.wc.sec.tld., then data: the split
     * (classify.c) keeps the expanded link's proof from the reply */
    struct result r = run_case("wildcard_cname", &e, "x.wc.sec.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_SECURE, DR_WHY_NONE);
    ASSERT_STR_EQ(r.seq, seq);
    /* ... a server that leaves that proof out: bogus */
    r = run_case("wildcard_cname_no_proof", &e, "x.wc.sec.tld.", DR_TYPE_A,
                 without_authority(serve(N("x.wc.sec.tld."), DR_TYPE_A)));
    ASSERT_VERDICT(r, DR_VS_BOGUS, DR_WHY_NO_NSEC);
    /* ... then a NODATA, both proofs there */
    extra_authority = denial_of_reply("x.wc.sec.tld.", DR_TYPE_A);
    r = run_case("wildcard_cname_nodata", &e, "x.wc.sec.tld.", DR_TYPE_AAAA, NULL);
    ASSERT_VERDICT(r, DR_VS_SECURE, DR_WHY_NONE);
    /* ... then a NODATA whose own proof was stripped: the wildcard's must not stand in */
    extra_authority = denial_of_reply("x.wc.sec.tld.", DR_TYPE_A);
    hop_reply = nodata_without_proof;
    r = run_case("wildcard_cname_nodata_no_proof", &e, "x.wc.sec.tld.", DR_TYPE_AAAA, NULL);
    ASSERT_VERDICT(r, DR_VS_BOGUS, DR_WHY_NO_NSEC);
    /* ... and a forged NXDOMAIN for the target, in one reply */
    r = run_case("wildcard_cname_forged_nxdomain", &e, "x.wc.sec.tld.", DR_TYPE_A,
                 forged_nxdomain_after_wildcard_cname());
    ASSERT_VERDICT(r, DR_VS_BOGUS, DR_WHY_NO_NSEC);
    /* a plain NODATA without its proof, for comparison */
    r = run_case("nsec3_nodata_no_proof", &e, "www.n3.tld.", DR_TYPE_AAAA,
                 nodata_without_proof(N("www.n3.tld."), DR_TYPE_AAAA));
    ASSERT_VERDICT(r, DR_VS_BOGUS, DR_WHY_NO_NSEC);
}

/* ---- NSEC3 ---- */

static void
test_nsec3_nxdomain_nodata_optout(void)
{
    struct dr_val_env e = env_at(T_NOW);
    const char *n3 = "DNSKEY . DS tld. DNSKEY tld. DS n3.tld. DNSKEY n3.tld.";
    /* Hashes (no salt, 0 iterations), the NSEC3 chain in order: *.w 86oo.. (covers b.w
     * 8saq..) -> u2 chu9.. -> ns dr2d.. (covers *.n3.tld. g3o0.., x3 g71o..) -> apex gsg4.. -> www
     * hv5e.. -> w ml3t.. (covers unsig pt3n.., which has no NSEC3, nope u53b.., and after
     * the wrap j.w 6kul..: the only span with the opt-out flag) -> *.w. */
    struct result r = run_case("nsec3_nxdomain", &e, "x3.n3.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_SECURE, DR_WHY_NONE);
    ASSERT_STR_EQ(r.seq, n3);
    /* a name in the opt-out span might be below an unsigned delegation (RFC 5155 9.2) */
    r = run_case("nsec3_nxdomain_optout", &e, "nope.n3.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_INSECURE, DR_WHY_OPTOUT);
    ASSERT_STR_EQ(r.seq, n3);
    r = run_case("nsec3_nodata", &e, "www.n3.tld.", DR_TYPE_AAAA, NULL);
    ASSERT_VERDICT(r, DR_VS_SECURE, DR_WHY_NONE);
    ASSERT_STR_EQ(r.seq, n3);
    r = run_case("nsec3_wildcard", &e, "b.w.n3.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_SECURE, DR_WHY_NONE);
    ASSERT_STR_EQ(r.seq, n3);
    r = run_case("nsec3_wildcard_nodata", &e, "b.w.n3.tld.", DR_TYPE_AAAA, NULL);
    ASSERT_VERDICT(r, DR_VS_SECURE, DR_WHY_NONE);
    /* a wildcard answer whose next closer name lies in the opt-out span */
    r = run_case("nsec3_wildcard_optout", &e, "j.w.n3.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_INSECURE, DR_WHY_OPTOUT);
    /* www.unsig.n3.tld.: below a delegation that only an opt-out span covers */
    r = run_case("nsec3_optout", &e, "www.unsig.n3.tld.", DR_TYPE_A, NULL);
    ASSERT_EQ(r.st, DR_VS_INSECURE);
    ASSERT_STR_EQ(r.seq, "DNSKEY . DS tld. DNSKEY tld. DS n3.tld. DNSKEY n3.tld. DS unsig.n3.tld.");
}

static void
test_nsec3_iterations_above_the_cap(void)
{
    struct dr_val_env e = env_at(T_NOW);
    struct result r = run_case("nsec3_iterations", &e, "nope.n3many.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_INSECURE, DR_WHY_NSEC3_ITERATIONS);
    ASSERT_EQ(dr_val_ede(r.st, r.why), 27);
    r = run_case("nsec3_iterations_nodata", &e, "www.n3many.tld.", DR_TYPE_AAAA, NULL);
    ASSERT_VERDICT(r, DR_VS_INSECURE, DR_WHY_NSEC3_ITERATIONS);
    /* the positive answer needs no proof: secure */
    r = run_case("nsec3_iterations_answer", &e, "www.n3many.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_SECURE, DR_WHY_NONE);
}

/* ---- time ---- */

static void
test_signature_validity_window_with_skew(void)
{
    /* www.sec.tld. A is signed for [W_INCEPT, W_EXPIRE]; everything else for longer. */
    struct dr_val_env e = env_at((int64_t)W_INCEPT - SKEW - 1);
    struct result r = run_case("time_not_yet", &e, "www.sec.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_BOGUS, DR_WHY_SIG_NOT_YET);
    ASSERT_STR_EQ(r.seq, SEQ_SEC);
    ASSERT_EQ(dr_val_ede(r.st, r.why), 8);
    e = env_at((int64_t)W_INCEPT - SKEW);
    r = run_case("time_inception_skew", &e, "www.sec.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_SECURE, DR_WHY_NONE);
    e = env_at((int64_t)W_EXPIRE + SKEW);
    r = run_case("time_expiration_skew", &e, "www.sec.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_SECURE, DR_WHY_NONE);
    e = env_at((int64_t)W_EXPIRE + SKEW + 1);
    r = run_case("time_expired", &e, "www.sec.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_BOGUS, DR_WHY_SIG_EXPIRED);
    ASSERT_EQ(dr_val_ede(r.st, r.why), 7);
    /* with no skew allowed the edges move in */
    e = env_at((int64_t)W_INCEPT - 1);
    e.skew = 0;
    r = run_case("time_no_skew", &e, "www.sec.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_BOGUS, DR_WHY_SIG_NOT_YET);
    /* the keys above expire too: the first one checked (the anchor's) decides */
    e = env_at((int64_t)T_EXPIRE + SKEW + 1);
    r = run_case("time_all_expired", &e, "www.sec.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_BOGUS, DR_WHY_SIG_EXPIRED);
    ASSERT_STR_EQ(r.seq, "DNSKEY .");
}

/* ---- missing signatures, unsigned zones, cuts ---- */

/* The reply to (name, A) without the RRSIGs in its answer section. */
static ldns_pkt *
stripped(const char *name)
{
    ldns_pkt *p = serve(N(name), DR_TYPE_A);
    ldns_rr_list *keep = ldns_rr_list_new(), *an = ldns_pkt_answer(p);
    for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
        ldns_rr *rr = ldns_rr_list_rr(an, i);
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG)
            ldns_rr_free(rr);
        else
            ldns_rr_list_push_rr(keep, rr);
    }
    ldns_rr_list_free(an);
    ldns_pkt_set_answer(p, keep);
    ldns_pkt_set_ancount(p, (uint16_t)ldns_rr_list_rr_count(keep));
    return p;
}

static void
test_rrsig_stripped_in_a_secure_zone(void)
{
    struct dr_val_env e = env_at(T_NOW);
    struct result r =
        run_case("rrsig_stripped", &e, "www.sec.tld.", DR_TYPE_A, stripped("www.sec.tld."));
    ASSERT_VERDICT(r, DR_VS_BOGUS, DR_WHY_NO_RRSIG);
    /* the walk looks for a cut at www.sec.tld. itself before calling it bogus */
    ASSERT_STR_EQ(r.seq, SEQ_SEC " DS www.sec.tld.");
    ASSERT_EQ(dr_val_ede(r.st, r.why), 10);
}

static void
test_unsigned_answer_under_an_insecure_delegation(void)
{
    struct dr_val_env e = env_at(T_NOW);
    struct result r = run_case("insecure_delegation", &e, "www.insec.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_INSECURE, DR_WHY_UNSIGNED_CUT);
    ASSERT_STR_EQ(r.seq, "DNSKEY . DS tld. DNSKEY tld. DS insec.tld.");
    /* a negative answer from the unsigned zone (no SOA signature, no NSEC) too */
    r = run_case("insecure_nxdomain", &e, "nope.insec.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_INSECURE, DR_WHY_UNSIGNED_CUT);
}

static void
test_ds_nodata_without_ns_bit_walk_continues(void)
{
    struct dr_val_env e = env_at(T_NOW);
    /* ent.sec.tld. is an empty non-terminal: its DS NODATA is no cut, the walk goes on
     * to deep.ent.sec.tld., a signed zone */
    struct result r = run_case("ds_nodata_ent", &e, "www.deep.ent.sec.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_SECURE, DR_WHY_NONE);
    ASSERT_STR_EQ(r.seq, SEQ_SEC " DS ent.sec.tld. DS deep.ent.sec.tld. DNSKEY deep.ent.sec.tld.");
    /* an unsigned a.b.sec.tld. A: b.sec.tld. (empty non-terminal) and a.b.sec.tld. are no
     * cuts, so the RRset lies in sec.tld. and lacks its RRSIG */
    r = run_case("ds_nodata_walk_bogus", &e, "a.b.sec.tld.", DR_TYPE_A, stripped("a.b.sec.tld."));
    ASSERT_VERDICT(r, DR_VS_BOGUS, DR_WHY_NO_RRSIG);
    ASSERT_STR_EQ(r.seq, SEQ_SEC " DS b.sec.tld. DS a.b.sec.tld.");
}

/* A reply to (name, type) holding one unsigned A record for name (the answer an unsigned
 * zone's server gives; the zone itself is not one of ours). */
static ldns_pkt *
unsigned_a(const char *name)
{
    ldns_pkt *p = ldns_pkt_new();
    ldns_pkt_set_qr(p, true);
    ldns_rr *q = ldns_rr_new();
    ldns_rr_set_owner(q, ldns_dname_new_frm_str(name));
    ldns_rr_set_type(q, LDNS_RR_TYPE_A);
    ldns_rr_set_class(q, LDNS_RR_CLASS_IN);
    ldns_rr_set_question(q, true);
    ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, q);
    char text[512];
    snprintf(text, sizeof(text), "%s 3600 IN A 192.0.2.99", name);
    ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr_from(text));
    return p;
}

static void
test_nsec3_unsigned_delegation_without_optout(void)
{
    struct dr_val_env e = env_at(T_NOW);
    /* u2.n3.tld.'s own NSEC3 shows NS without DS: its DS NODATA is secure, and a cut */
    struct result r = run_case("nsec3_insecure_delegation", &e, "www.u2.n3.tld.", DR_TYPE_A,
                               unsigned_a("www.u2.n3.tld."));
    ASSERT_VERDICT(r, DR_VS_INSECURE, DR_WHY_UNSIGNED_CUT);
    ASSERT_STR_EQ(r.seq, "DNSKEY . DS tld. DNSKEY tld. DS n3.tld. DNSKEY n3.tld. DS u2.n3.tld.");
}

/* The reply to (name, type) without its authority section's SOA and the SOA's RRSIG. */
static ldns_pkt *
without_soa(const char *name, uint16_t type)
{
    ldns_pkt *p = serve(N(name), type);
    ldns_rr_list *keep = ldns_rr_list_new(), *au = ldns_pkt_authority(p);
    for (size_t i = 0; i < ldns_rr_list_rr_count(au); i++) {
        ldns_rr *rr = ldns_rr_list_rr(au, i);
        ldns_rr_type t = ldns_rr_get_type(rr);
        if (t == LDNS_RR_TYPE_RRSIG)
            t = ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr));
        if (t == LDNS_RR_TYPE_SOA)
            ldns_rr_free(rr);
        else
            ldns_rr_list_push_rr(keep, rr);
    }
    ldns_rr_list_free(au);
    ldns_pkt_set_authority(p, keep);
    ldns_pkt_set_nscount(p, (uint16_t)ldns_rr_list_rr_count(keep));
    return p;
}

static void
test_negative_answer_without_soa(void)
{
    struct dr_val_env e = env_at(T_NOW);
    /* in a signed zone: the name's zone must be shown unsigned, and it is not */
    struct result r = run_case("nxdomain_no_soa", &e, "nope.sec.tld.", DR_TYPE_A,
                               without_soa("nope.sec.tld.", 1));
    ASSERT_EQ(r.st, DR_VS_BOGUS);
    ASSERT_STR_EQ(r.seq, SEQ_SEC " DS nope.sec.tld.");
    /* below an unsigned delegation: insecure all the same */
    r = run_case("nxdomain_no_soa_insecure", &e, "nope.insec.tld.", DR_TYPE_A,
                 without_soa("nope.insec.tld.", 1));
    ASSERT_VERDICT(r, DR_VS_INSECURE, DR_WHY_UNSIGNED_CUT);
}

/* ---- fetches that go wrong ---- */

static ldns_pkt *ds_nodata_no_cut(const uint8_t *name, uint16_t type);

static void
test_ds_fetch_bogus(void)
{
    struct dr_val_env e = env_at(T_NOW);
    override((struct override){
        .name = "sec.tld.", .type = DR_TYPE_DS, .st = DR_VS_BOGUS, .why = DR_WHY_BAD_SIG});
    struct result r = run_case("ds_bogus", &e, "www.sec.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_BOGUS, DR_WHY_BAD_SIG);
    ASSERT_STR_EQ(r.seq, "DNSKEY . DS tld. DNSKEY tld. DS sec.tld.");
    /* bogus without a reason still says why */
    override((struct override){.name = "sec.tld.", .type = DR_TYPE_DS, .st = DR_VS_BOGUS});
    r = run_case("ds_bogus_no_why", &e, "www.sec.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_BOGUS, DR_WHY_NO_KEY);
    /* a DNSKEY set that its own validation found bogus */
    override((struct override){
        .name = "sec.tld.", .type = DR_TYPE_DNSKEY, .st = DR_VS_BOGUS, .why = DR_WHY_NO_DS_MATCH});
    r = run_case("dnskey_bogus", &e, "www.sec.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_BOGUS, DR_WHY_NO_DS_MATCH);
    ASSERT_STR_EQ(r.seq, SEQ_SEC);
}

static void
test_fetch_fails(void)
{
    struct dr_val_env e = env_at(T_NOW);
    override((struct override){.name = "sec.tld.", .type = DR_TYPE_DS, .fail = true});
    struct result r = run_case("ds_fetch_fails", &e, "www.sec.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_BOGUS, DR_WHY_NO_KEY);
    ASSERT_STR_EQ(r.seq, "DNSKEY . DS tld. DNSKEY tld. DS sec.tld.");
    ASSERT_EQ(dr_val_ede(r.st, r.why), 9);
    /* a DNSKEY fetch that comes back as a secure NODATA: no zone apex, no keys */
    override((struct override){
        .name = "sec.tld.", .type = DR_TYPE_DNSKEY, .st = DR_VS_SECURE, .reply = ds_nodata_no_cut});
    r = run_case("dnskey_nodata", &e, "www.sec.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_BOGUS, DR_WHY_NO_KEY);
    ASSERT_STR_EQ(r.seq, SEQ_SEC);
    override((struct override){.name = ".", .type = DR_TYPE_DNSKEY, .fail = true});
    r = run_case("anchor_keys_fetch_fails", &e, "www.sec.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_BOGUS, DR_WHY_NO_KEY);
    ASSERT_STR_EQ(r.seq, "DNSKEY .");
}

static void
test_unsupported_algorithm(void)
{
    struct dr_val_env e = env_at(T_NOW);
    /* the key set itself: its DS names only RSASHA1 */
    struct result r = run_case("alg_dnskey", &e, "alg.tld.", DR_TYPE_DNSKEY, NULL);
    ASSERT_VERDICT(r, DR_VS_INSECURE, DR_WHY_UNSUPPORTED_ALG);
    ASSERT_STR_EQ(r.seq, "DNSKEY . DS tld. DNSKEY tld. DS alg.tld.");
    ASSERT_EQ(dr_val_ede(r.st, r.why), 1);
    /* and an answer from the zone, whose DNSKEY fetch comes back insecure */
    r = run_case("alg_answer", &e, "www.alg.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_INSECURE, DR_WHY_UNSUPPORTED_ALG);
    ASSERT_STR_EQ(r.seq, "DNSKEY . DS tld. DNSKEY tld. DS alg.tld. DNSKEY alg.tld.");
}

/* ---- anchors ---- */

static void
test_domain_insecure_needs_no_fetch(void)
{
    ASSERT_EQ(dr_anchors_add_insecure(&anchors, "sec.tld."), 0);
    struct dr_val_env e = env_at(T_NOW);
    struct result r = run_case("domain_insecure", &e, "www.sec.tld.", DR_TYPE_A, NULL);
    ASSERT_EQ(r.st, DR_VS_INSECURE);
    ASSERT_EQ(r.fetches, 0);
    r = run_case("domain_insecure_nx", &e, "nope.sec.tld.", DR_TYPE_A, NULL);
    ASSERT_EQ(r.st, DR_VS_INSECURE);
    ASSERT_EQ(r.fetches, 0);
    /* beside it, n3.tld. still validates */
    r = run_case("domain_insecure_beside", &e, "www.n3.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_SECURE, DR_WHY_NONE);
    ldns_rdf_deep_free(anchors.insecure[0]);
    free(anchors.insecure);
    anchors.insecure = NULL;
    anchors.ninsecure = 0;
}

static void
test_no_anchor_is_indeterminate(void)
{
    struct dr_val_env e = env_at(T_NOW);
    e.anchors = NULL;
    struct result r = run_case("no_anchors", &e, "www.sec.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_INDETERMINATE, DR_WHY_NONE);
    ASSERT_EQ(r.fetches, 0);
    struct dr_anchors empty;
    dr_anchors_init(&empty);
    e.anchors = &empty;
    r = run_case("empty_anchors", &e, "www.sec.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_INDETERMINATE, DR_WHY_NONE);
    ASSERT_EQ(r.fetches, 0);
    /* a trust point elsewhere covers nothing here */
    ldns_rdf *other = ldns_dname_new_frm_str("other.");
    struct dr_anchor_zone *az = dr_anchors_zone_add(&empty, other);
    ldns_rdf_deep_free(other);
    ASSERT_EQ(dr_anchor_key_add(az, ldns_rr_clone(root_ds), DR_ANCHOR_VALID, 0, 0), 0);
    r = run_case("other_anchor", &e, "www.sec.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_INDETERMINATE, DR_WHY_NONE);
    ASSERT_EQ(r.fetches, 0);
    dr_anchors_deinit(&empty);
}

/* The reply to (owner, DNSKEY) with a key set made and self-signed by a new key. */
static ldns_pkt *
rogue_key_set(const char *owner)
{
    ldns_key *rogue = test_key_new(owner, LDNS_SIGN_ECDSAP256SHA256, 256, 257, T_INCEPT, T_EXPIRE);
    ldns_rr_list *set = ldns_rr_list_new();
    ldns_rr_list_push_rr(set, ldns_key2rr(rogue));
    ldns_rr_list *sig = test_sign_rrset(set, rogue);
    ldns_pkt *p = serve(N(owner), DR_TYPE_DNSKEY);
    ldns_rr_list_deep_free(ldns_pkt_answer(p));
    ldns_pkt_set_answer(p, set);
    ldns_rr_list_push_rr_list(set, sig);
    ldns_pkt_set_ancount(p, (uint16_t)ldns_rr_list_rr_count(set));
    ldns_rr_list_free(sig);
    ldns_key_deep_free(rogue);
    return p;
}

static void
test_dnskey_questions_verify_themselves(void)
{
    struct dr_val_env e = env_at(T_NOW);
    /* the anchor's own key set: checked against the anchor, no FETCH of itself */
    struct result r = run_case("dnskey_anchor", &e, ".", DR_TYPE_DNSKEY, NULL);
    ASSERT_VERDICT(r, DR_VS_SECURE, DR_WHY_NONE);
    ASSERT_EQ(r.fetches, 0);
    /* a child's: checked against its DS, no FETCH of itself */
    r = run_case("dnskey_child", &e, "sec.tld.", DR_TYPE_DNSKEY, NULL);
    ASSERT_VERDICT(r, DR_VS_SECURE, DR_WHY_NONE);
    ASSERT_STR_EQ(r.seq, "DNSKEY . DS tld. DNSKEY tld. DS sec.tld.");
    /* and the DS question: signed by the parent, no FETCH of itself */
    r = run_case("ds_question", &e, "sec.tld.", DR_TYPE_DS, NULL);
    ASSERT_VERDICT(r, DR_VS_SECURE, DR_WHY_NONE);
    ASSERT_STR_EQ(r.seq, "DNSKEY . DS tld. DNSKEY tld.");
    /* a root key set made and signed by a key the anchor does not name */
    r = run_case("dnskey_anchor_rogue", &e, ".", DR_TYPE_DNSKEY, rogue_key_set("."));
    ASSERT_VERDICT(r, DR_VS_BOGUS, DR_WHY_NO_DS_MATCH);
    ASSERT_EQ(r.fetches, 0);
    /* a child's, by a key its DS does not name: still no FETCH of itself */
    r = run_case("dnskey_child_rogue", &e, "sec.tld.", DR_TYPE_DNSKEY, rogue_key_set("sec.tld."));
    ASSERT_VERDICT(r, DR_VS_BOGUS, DR_WHY_NO_DS_MATCH);
    ASSERT_STR_EQ(r.seq, "DNSKEY . DS tld. DNSKEY tld. DS sec.tld.");
    /* a DS set signed by the child it describes: never its own keys' judge (no FETCH of
     * the DS being validated, nor of the child's keys) */
    ldns_pkt *p = serve(N("sec.tld."), DR_TYPE_DS);
    ldns_rr_list *ds = ldns_rr_list_new(), *an = ldns_pkt_answer(p);
    for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
        ldns_rr *rr = ldns_rr_list_rr(an, i);
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_DS)
            ldns_rr_list_push_rr(ds, ldns_rr_clone(rr));
    }
    ldns_rr_list *sig = test_sign_rrset(ds, zones[Z_SEC].key);
    ldns_rr_list_deep_free(an);
    ldns_rr_list_push_rr_list(ds, sig);
    ldns_rr_list_free(sig);
    ldns_pkt_set_answer(p, ds);
    ldns_pkt_set_ancount(p, (uint16_t)ldns_rr_list_rr_count(ds));
    r = run_case("ds_signed_by_child", &e, "sec.tld.", DR_TYPE_DS, p);
    ASSERT_VERDICT(r, DR_VS_BOGUS, DR_WHY_SIGNER);
    ASSERT_EQ(r.fetches, 0);
}

/* ---- the fetch bound ---- */

/* A secure NODATA for any DS: an SOA and nothing else (no NSEC: not a cut, not unsigned). */
static ldns_pkt *
ds_nodata_no_cut(const uint8_t *name, uint16_t type)
{
    ldns_pkt *p = ldns_pkt_new();
    ldns_pkt_set_qr(p, true);
    ldns_rr *q = ldns_rr_new();
    ldns_rr_set_owner(q, ldns_dname_new_frm_data((uint16_t)dr_dname_len(name), name));
    ldns_rr_set_type(q, type);
    ldns_rr_set_class(q, LDNS_RR_CLASS_IN);
    ldns_rr_set_question(q, true);
    ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, q);
    push_rrset(p, LDNS_SECTION_AUTHORITY, &zones[Z_ROOT], zones[Z_ROOT].apex, LDNS_RR_TYPE_SOA,
               NULL);
    return p;
}

static void
test_fetch_bound_on_a_deep_name(void)
{
    struct dr_val_env e = env_at(T_NOW);
    char name[256] = "";
    for (int i = 0; i < 60; i++)
        strcat(name, "l.");
    ASSERT_EQ(dr_dname_labels(N(name)), 60);
    override((struct override){.type = DR_TYPE_DS, .st = DR_VS_SECURE, .reply = ds_nodata_no_cut});
    char text[512];
    snprintf(text, sizeof(text), "%s 3600 IN A 192.0.2.99", name);
    ldns_pkt *p = ldns_pkt_new();
    ldns_pkt_set_qr(p, true);
    ldns_rr *q = ldns_rr_new();
    ldns_rr_set_owner(q, ldns_dname_new_frm_str(name));
    ldns_rr_set_type(q, LDNS_RR_TYPE_A);
    ldns_rr_set_class(q, LDNS_RR_CLASS_IN);
    ldns_rr_set_question(q, true);
    ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, q);
    ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr_from(text));
    struct result r = run_case("fetch_bound", &e, name, DR_TYPE_A, p);
    ASSERT_EQ(r.st, DR_VS_BOGUS);
    ASSERT_EQ(r.fetches, DR_VAL_MAX_FETCHES);
}

/* An answer with more RRsets than DR_VAL_MAX_RRSETS is bogus at once: no fetch, no
 * signature check (each RRset could cost DR_RRSIG_MAX_VERIFY of them). */
static void
test_too_many_rrsets(void)
{
    struct dr_val_env e = env_at(T_NOW);
    ldns_rr_list *answer = ldns_rr_list_new();
    for (int i = 0; i < DR_VAL_MAX_RRSETS + 6; i++) {
        char line[128];
        snprintf(line, sizeof(line), "www.sec.tld. 300 IN TYPE%d \\# 1 00", 1000 + i);
        ldns_rr *rr = NULL;
        ASSERT_EQ(ldns_rr_new_frm_str(&rr, line, 0, NULL, NULL), LDNS_STATUS_OK);
        ldns_rr_list_push_rr(answer, rr);
    }
    struct dr_val v;
    struct dr_val_action act;
    ASSERT_EQ(dr_val_start(&v, &e, N("www.sec.tld."), 1000, N("www.sec.tld."), DR_RCODE_NOERROR,
                           NULL, answer, NULL, &act),
              0);
    ASSERT_EQ(act.kind, DR_VAL_DONE);
    ASSERT_EQ(v.status, DR_VS_BOGUS);
    ASSERT_EQ(v.why, DR_WHY_MALFORMED);
    dr_val_deinit(&v);
    ldns_rr_list_deep_free(answer);
}

/*
 * The key cache (resolver/keycache.h): a second validation under the same anchors starts at
 * the deepest zone whose keys an earlier walk fetched; a sibling zone starts at their common
 * parent; a stripped signature is still bogus; another configuration's anchors (trust serial)
 * and a flush send the walk back up.
 */
static void
test_key_cache(void)
{
    struct dc_lru *kc = dc_lru_new(1 << 20, 1);
    ASSERT_NOT_NULL(kc);
    struct dr_val_env e = env_at(T_NOW);
    e.keys = kc;
    e.trust = 7;
    struct result r = run_case("keycache_first", &e, "www.sec.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_SECURE, DR_WHY_NONE);
    ASSERT_STR_EQ(r.seq, SEQ_SEC);
    r = run_case("keycache_again", &e, "www.sec.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_SECURE, DR_WHY_NONE);
    ASSERT_EQ(r.fetches, 0);
    r = run_case("keycache_nxdomain", &e, "nope.sec.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_SECURE, DR_WHY_NONE);
    ASSERT_EQ(r.fetches, 0);
    r = run_case("keycache_sibling", &e, "alias.sec.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_SECURE, DR_WHY_NONE);
    ASSERT_STR_EQ(r.seq, "DS n3.tld. DNSKEY n3.tld.");
    r = run_case("keycache_stripped", &e, "www.sec.tld.", DR_TYPE_A, stripped("www.sec.tld."));
    ASSERT_VERDICT(r, DR_VS_BOGUS, DR_WHY_NO_RRSIG);
    ASSERT_STR_EQ(r.seq, "DS www.sec.tld.");
    r = run_case("keycache_insecure", &e, "www.insec.tld.", DR_TYPE_A, NULL);
    ASSERT_VERDICT(r, DR_VS_INSECURE, DR_WHY_UNSIGNED_CUT);
    ASSERT_STR_EQ(r.seq, "DS insec.tld.");
    e.trust = 8;
    r = run_case("keycache_other_anchors", &e, "www.sec.tld.", DR_TYPE_A, NULL);
    ASSERT_STR_EQ(r.seq, SEQ_SEC);
    ASSERT_EQ(dr_keycache_flush(kc, N("tld."), true), 3); /* tld., sec.tld., n3.tld. */
    r = run_case("keycache_flushed", &e, "www.sec.tld.", DR_TYPE_A, NULL);
    ASSERT_STR_EQ(r.seq, "DS tld. DNSKEY tld. DS sec.tld. DNSKEY sec.tld.");
    dc_lru_free(kc);
}

int
main(void)
{
    setup();
    TEST_RUN(test_secure_answer);
    TEST_RUN(test_cname_chain_across_two_secure_zones);
    TEST_RUN(test_cname_chain_into_an_insecure_zone);
    TEST_RUN(test_dname_with_synthesised_cname);
    TEST_RUN(test_nsec_nxdomain);
    TEST_RUN(test_nsec_nodata);
    TEST_RUN(test_nsec_wildcard_answer);
    TEST_RUN(test_wildcard_cname_into_another_zone);
    TEST_RUN(test_nsec3_nxdomain_nodata_optout);
    TEST_RUN(test_nsec3_iterations_above_the_cap);
    TEST_RUN(test_signature_validity_window_with_skew);
    TEST_RUN(test_rrsig_stripped_in_a_secure_zone);
    TEST_RUN(test_unsigned_answer_under_an_insecure_delegation);
    TEST_RUN(test_ds_nodata_without_ns_bit_walk_continues);
    TEST_RUN(test_nsec3_unsigned_delegation_without_optout);
    TEST_RUN(test_negative_answer_without_soa);
    TEST_RUN(test_ds_fetch_bogus);
    TEST_RUN(test_fetch_fails);
    TEST_RUN(test_unsupported_algorithm);
    TEST_RUN(test_domain_insecure_needs_no_fetch);
    TEST_RUN(test_no_anchor_is_indeterminate);
    TEST_RUN(test_dnskey_questions_verify_themselves);
    TEST_RUN(test_fetch_bound_on_a_deep_name);
    TEST_RUN(test_too_many_rrsets);
    TEST_RUN(test_key_cache);
    teardown();
    return 0;
}
