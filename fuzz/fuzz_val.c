/*
 * libFuzzer target for the validator's step function, resolver/val.c, driven as
 * resolver/mesh.c drives it (and through it rrsig.c, dnskey.c, nsec.c, nsec3.c, anchor.c).
 *
 * The input is a time, trust anchors and messages, as records:
 *   u32 now (Unix seconds, big-endian), then any number of [u8 kind][u16 length][data]:
 *     kind 0  a reply in the question's own resolution: the first one carries the question;
 *             where resolver/classify.c says its chain leads on (CNAME verdict) the next
 *             kind-0 reply is the answer for the chain's target, as the iterator asks it
 *     kind 1  a trust anchor: one DS or DNSKEY record in wire form (owner uncompressed)
 *     kind 2  a domain-insecure name (wire form)
 *     kind 3  a FETCH's answer: u8 status, u8 why, then the reply (none: the fetch failed)
 * The replies are split by dr_classify() (as a forwarder's, so any zone) into the chain,
 * answer and authority lists the iterator hands to dr_val_start(); each FETCH (name, type)
 * gets the first unused kind-3 reply whose question is (name, type), else the last one used
 * for it, else a failed fetch (NULL, DR_VS_NONE), as the mesh does for a failed
 * sub-resolution.
 *
 * abort() marks a broken promise: a FETCH of a type other than DS or DNSKEY, of a name
 * that is neither at or below a trust anchor nor an ancestor-or-self of a name the answer
 * holds (an owner, an RRSIG signer, the question, the chain's end), more FETCHes than
 * DR_VAL_MAX_FETCHES, any FETCH without trust anchors, a verdict outside its enum or NONE,
 * SECURE with a reason or an EDE, SECURE although a FETCH failed or came back other than
 * SECURE, SECURE without any FETCH for anything but a trust anchor's own DNSKEY set.
 * Nothing may crash or leak.
 *
 * Seeds in fuzz/corpus/val/ are written by tests/unit/resolver/test_val.c run with
 * DUET_VAL_CORPUS=fuzz/corpus/val: each of its cases (a signed tree made at run time: NSEC,
 * NSEC3, opt-out, wildcards, CNAME/DNAME chains, unsigned and broken zones) with the
 * replies and verdicts of the FETCHes it made.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "resolver/anchor.h"
#include "resolver/classify.h"
#include "resolver/dname.h"
#include "resolver/msg.h"
#include "resolver/nsec3.h"
#include "resolver/rrsig.h"
#include "resolver/val.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

#define MAX_REPLIES 8
#define MAX_FETCHES 64
#define MAX_NAMES   256

struct fetch_reply {
    uint8_t st, why;
    const uint8_t *msg;
    size_t len;
    uint8_t qname[DR_NAME_MAX];
    uint16_t qtype;
    bool has_q, used;
};

struct input {
    ldns_pkt *replies[MAX_REPLIES];
    size_t nreplies;
    struct fetch_reply fetches[MAX_FETCHES];
    size_t nfetches;
    struct dr_anchors anchors;
    /* the names a FETCH may lie above */
    uint8_t names[MAX_NAMES][DR_NAME_MAX];
    size_t nnames;
    bool stable; /* every FETCH of a name and type gets its first reply (see below) */
};

static void
add_name(struct input *in, const uint8_t *name)
{
    if (in->nnames < MAX_NAMES)
        dr_dname_copy_lower(in->names[in->nnames++], name);
}

/* The question of a message: (name, type), from the wire. */
static bool
question_of(const uint8_t *msg, size_t len, uint8_t name[DR_NAME_MAX], uint16_t *type)
{
    size_t off = DR_HEADER_LEN;
    if (len < DR_HEADER_LEN || dr_get16(msg + 4) == 0 || dr_dname_read(msg, len, &off, name) < 0 ||
        off + 4 > len)
        return false;
    *type = dr_get16(msg + off);
    return true;
}

static void
add_anchor(struct input *in, const uint8_t *d, size_t len)
{
    ldns_rr *rr = NULL;
    size_t pos = 0;
    if (ldns_wire2rr(&rr, d, len, &pos, LDNS_SECTION_ANSWER) != LDNS_STATUS_OK)
        return;
    ldns_rr_type t = ldns_rr_get_type(rr);
    if (ldns_rr_rd_count(rr) != 4 || (t != LDNS_RR_TYPE_DS && t != LDNS_RR_TYPE_DNSKEY) ||
        ldns_rr_owner(rr) == NULL) {
        ldns_rr_free(rr);
        return;
    }
    ldns_dname2canonical(ldns_rr_owner(rr));
    struct dr_anchor_zone *z = dr_anchors_zone_find(&in->anchors, ldns_rr_owner(rr));
    if (z == NULL)
        z = dr_anchors_zone_add(&in->anchors, ldns_rr_owner(rr));
    if (z == NULL) {
        ldns_rr_free(rr);
        return;
    }
    (void)dr_anchor_key_add(z, rr, DR_ANCHOR_VALID, 0, 0); /* takes rr, even on failure */
}

static void
add_insecure(struct input *in, const uint8_t *d, size_t len)
{
    size_t off = 0;
    uint8_t name[DR_NAME_MAX];
    char text[DR_NAME_MAX * 4 + 1];
    if (dr_dname_read(d, len, &off, name) < 0 || dr_dname_to_str(name, text, sizeof(text)) < 0)
        return;
    (void)dr_anchors_add_insecure(&in->anchors, text);
}

static void
parse_input(struct input *in, const uint8_t *data, size_t size)
{
    size_t off = 4;
    while (off + 3 <= size) {
        uint8_t kind = data[off];
        size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
        off += 3;
        if (len > size - off)
            len = size - off;
        const uint8_t *d = data + off;
        off += len;
        switch (kind) {
        case 0: {
            ldns_pkt *p = NULL;
            if (in->nreplies < MAX_REPLIES && ldns_wire2pkt(&p, d, len) == LDNS_STATUS_OK)
                in->replies[in->nreplies++] = p;
            break;
        }
        case 1:
            add_anchor(in, d, len);
            break;
        case 2:
            add_insecure(in, d, len);
            break;
        case 3:
            if (len >= 2 && in->nfetches < MAX_FETCHES) {
                struct fetch_reply *f = &in->fetches[in->nfetches++];
                memset(f, 0, sizeof(*f));
                f->st = d[0];
                f->why = d[1];
                f->msg = len > 2 ? d + 2 : NULL;
                f->len = len - 2;
                f->has_q = f->msg && question_of(f->msg, f->len, f->qname, &f->qtype);
            }
            break;
        default:
            break;
        }
    }
}

/* Every owner and RRSIG signer of l, as names a FETCH may lie above. */
static void
add_names_of(struct input *in, const ldns_rr_list *l)
{
    for (size_t i = 0; l && i < ldns_rr_list_rr_count(l); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(l, i);
        if (ldns_rr_owner(rr))
            add_name(in, ldns_rdf_data(ldns_rr_owner(rr)));
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG && ldns_rr_rd_count(rr) >= 8 &&
            ldns_rdf_get_type(ldns_rr_rdf(rr, 7)) == LDNS_RDF_TYPE_DNAME)
            add_name(in, ldns_rdf_data(ldns_rr_rdf(rr, 7)));
    }
}

static bool
fetch_name_allowed(const struct input *in, const uint8_t *name)
{
    bool below_anchor = false;
    for (size_t i = 0; i < in->anchors.nzones; i++)
        if (dr_dname_is_sub(name, ldns_rdf_data(in->anchors.zones[i].owner)))
            below_anchor = true;
    if (!below_anchor)
        return false;
    for (size_t i = 0; i < in->nnames; i++)
        if (dr_dname_is_sub(in->names[i], name))
            return true;
    return false;
}

static struct fetch_reply *
answer_for(struct input *in, const uint8_t *name, uint16_t type)
{
    struct fetch_reply *last = NULL;
    for (size_t i = 0; i < in->nfetches; i++) {
        struct fetch_reply *f = &in->fetches[i];
        if (!f->has_q || f->qtype != type || !dr_dname_equal(f->qname, name))
            continue;
        if (in->stable)
            return f;
        if (!f->used) {
            f->used = true;
            return f;
        }
        last = f;
    }
    return last;
}

static void
check_verdict(const struct dr_val *v)
{
    CHECK(v->status > DR_VS_NONE && v->status < DR_VS_COUNT);
    CHECK(v->why >= DR_WHY_NONE && v->why <= DR_WHY_UNSIGNED_CUT);
    if (v->status == DR_VS_SECURE) {
        CHECK(v->why == DR_WHY_NONE);
        CHECK(dr_val_ede(v->status, v->why) == -1);
    }
    CHECK(dr_val_status_names[v->status] != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    struct dc_lru *kc = NULL; /* the key cache of the last two passes (below) */
    struct input *in = calloc(1, sizeof(*in));
    if (in == NULL)
        return 0;
    dr_anchors_init(&in->anchors);
    parse_input(in, data, size);
    uint8_t qname[DR_NAME_MAX], final[DR_NAME_MAX];
    uint16_t qtype = 0;
    ldns_rr_list *chain = ldns_rr_list_new();
    struct dr_classified c;
    memset(&c, 0, sizeof(c));
    int rcode = -1;
    if (in->nreplies == 0 || chain == NULL)
        goto out;
    const ldns_rr *q = ldns_rr_list_rr(ldns_pkt_question(in->replies[0]), 0);
    if (q == NULL || ldns_rr_owner(q) == NULL ||
        ldns_rdf_get_type(ldns_rr_owner(q)) != LDNS_RDF_TYPE_DNAME)
        goto out;
    dr_dname_copy_lower(qname, ldns_rdf_data(ldns_rr_owner(q)));
    qtype = ldns_rr_get_type(q);
    memcpy(final, qname, dr_dname_len(qname));

    /* The iterator's split, hop by hop along the chain. */
    for (size_t hop = 0; rcode < 0 && hop < in->nreplies; hop++) {
        dr_classified_clear(&c);
        struct dr_classify_in ci = {.zone = (const uint8_t *)"",
                                    .name = final,
                                    .qtype = qtype,
                                    .qclass = DR_CLASS_IN,
                                    .forwarder = true,
                                    .max_chain = 8};
        dr_classify(in->replies[hop], &ci, &c);
        for (size_t i = 0; c.chain && i < ldns_rr_list_rr_count(c.chain); i++) {
            const ldns_rr *rr = ldns_rr_list_rr(c.chain, i);
            ldns_rr *copy = ldns_rr_clone(rr);
            if (copy && !ldns_rr_list_push_rr(chain, copy))
                ldns_rr_free(copy);
            if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME && ldns_rr_rd_count(rr) == 1 &&
                ldns_rdf_get_type(ldns_rr_rdf(rr, 0)) == LDNS_RDF_TYPE_DNAME)
                dr_dname_copy_lower(final, ldns_rdf_data(ldns_rr_rdf(rr, 0)));
        }
        if (c.verdict == DR_VERDICT_ANSWER || c.verdict == DR_VERDICT_NODATA)
            rcode = DR_RCODE_NOERROR;
        else if (c.verdict == DR_VERDICT_NXDOMAIN)
            rcode = DR_RCODE_NXDOMAIN;
        else if (c.verdict != DR_VERDICT_CNAME)
            break;
    }
    if (rcode < 0)
        goto out;

    add_name(in, qname);
    add_name(in, final);
    add_names_of(in, chain);
    add_names_of(in, c.answer);
    add_names_of(in, c.soa);

    struct dr_val_env env = {.anchors = &in->anchors,
                             .now = (int64_t)((uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
                                              (uint32_t)data[2] << 8 | data[3]),
                             .skew = DR_RRSIG_SKEW,
                             .nsec3_max_iter = DR_NSEC3_MAX_ITERATIONS};
    struct dr_val v;
    struct dr_val_action act;
    /*
     * Pass 0 answers each FETCH with the next reply given for its name and type (answers
     * that change between fetches, as a cache's may). Then, with trust anchors, the key
     * cache is checked against the walk without it, on stable answers (each name and type
     * always gets its first reply): pass 1 without the cache, pass 2 with an empty one
     * (which it fills), pass 3 with the filled one. The key cache only shortens walks: the
     * verdict must stay the same (unless the walk without it ran out of fetches).
     */
    int pass = 0, base_fetches = 0;
    enum dr_val_status base = DR_VS_NONE;
again:
    if (dr_val_start(&v, &env, qname, qtype, final, rcode, chain, c.answer, c.soa, &act) < 0) {
        dr_val_deinit(&v);
        goto out;
    }
    int fetches = 0;
    bool all_secure = true; /* every FETCH answered, with a SECURE verdict */
    while (act.kind == DR_VAL_FETCH) {
        CHECK(++fetches <= DR_VAL_MAX_FETCHES);
        CHECK(in->anchors.nzones > 0);
        CHECK(act.type == DR_TYPE_DS || act.type == DR_TYPE_DNSKEY);
        CHECK(act.name != NULL && dr_dname_len(act.name) <= DR_NAME_MAX);
        CHECK(fetch_name_allowed(in, act.name));
        uint8_t name[DR_NAME_MAX];
        dr_dname_copy_lower(name, act.name);
        const struct fetch_reply *f = answer_for(in, name, act.type);
        if (f == NULL || f->msg == NULL || f->st % DR_VS_COUNT != DR_VS_SECURE)
            all_secure = false;
        if (f && f->msg)
            dr_val_on_fetch(&v, &env, (enum dr_val_status)(f->st % DR_VS_COUNT),
                            (enum dr_why)(f->why % (DR_WHY_UNSIGNED_CUT + 1)), f->msg, f->len,
                            &act);
        else
            dr_val_on_fetch(&v, &env, DR_VS_NONE, DR_WHY_NONE, NULL, 0, &act);
    }
    CHECK(act.kind == DR_VAL_DONE);
    check_verdict(&v);
    if (pass >= 2)
        CHECK(v.status == base || base_fetches >= DR_VAL_MAX_FETCHES);
    if (pass == 0 && v.status == DR_VS_SECURE) {
        /* Nothing is secure without a chain: every key and DS it used came in secure, and
         * with no FETCH at all only the anchor's own key set can be. */
        CHECK(all_secure);
        if (fetches == 0) {
            ldns_rdf *o = ldns_dname_new_frm_data((uint16_t)dr_dname_len(qname), qname);
            CHECK(qtype == DR_TYPE_DNSKEY && o && dr_anchors_zone_find(&in->anchors, o));
            ldns_rdf_deep_free(o);
        }
    }
    base = pass == 1 ? v.status : base;
    base_fetches = pass == 1 ? fetches : base_fetches;
    dr_val_deinit(&v);
    if (in->anchors.nzones > 0 && pass < 3) {
        in->stable = true;
        if (++pass == 2 && (env.keys = kc = dc_lru_new(1 << 18, 1)) == NULL)
            goto out;
        goto again;
    }

out:
    dc_lru_free(kc);
    dr_classified_clear(&c);
    ldns_rr_list_deep_free(chain);
    for (size_t i = 0; i < in->nreplies; i++)
        ldns_pkt_free(in->replies[i]);
    dr_anchors_deinit(&in->anchors);
    free(in);
    return 0;
}
