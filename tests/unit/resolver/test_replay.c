/*
 * Scenario replay for the iterator (after Unbound's testbound): the real mesh, iterator,
 * classifier, caches and configuration parser, driven through struct dr_mesh_io by a
 * virtual clock and canned upstream servers instead of libuv and sockets.
 *
 * Each tests/replay/NAME.scn file (format: tests/replay/README.md) declares a configuration,
 * root hints and servers (zone data answered by a small authoritative engine, or explicit
 * replies), then steps: client queries, clock advances and expectations. io.send records
 * the query and schedules its reply (or its timeout) on this file's event queue; replies
 * echo the query's ID and question bytes (0x20 case included) as a real server does and
 * are delivered by the event loop, never from inside io.send.
 *
 * Usage: test_replay [DIR | FILE...]; DIR defaults to the source tree's tests/replay.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "common/acl.h"
#include "common/addr.h"
#include "common/config.h"
#include "common/log.h"
#include "common/lru.h"
#include "resolver/cache.h"
#include "resolver/conf.h"
#include "resolver/deleg.h"
#include "resolver/hints.h"
#include "resolver/infra.h"
#include "resolver/iter.h"
#include "resolver/mesh.h"
#include "resolver/msg.h"
#include "resolver/val.h"

/* The scenarios live in the source tree: tests/replay, found from this file's path unless
 * REPLAY_DIR or an argument says otherwise. */
#ifndef REPLAY_DIR
#define REPLAY_DIR NULL
#endif

#define WALL_BASE     1700000000 /* virtual wall clock at time 0 unless `wall` says, seconds */
#define TICK_MS       100        /* the driver's dr_mesh_tick period */
#define RUN_LIMIT_MS  60000      /* `run` never advances the clock further than this */
#define MAX_ADDRS     16
#define MAX_ZONES     8
#define DEFAULT_DELAY 10 /* ms a canned reply takes unless told */

/* ---- scenario data ---- */

/* How a server (or one of its matches) deviates from the authoritative engine. */
struct mods {
    bool timeout;          /* never replies */
    bool udp_timeout;      /* never replies over UDP */
    bool send_fail;        /* io.send cannot even start the exchange (returns NULL) */
    bool neterr;           /* the exchange ends in a network error after the delay */
    uint64_t silent_until; /* no reply to a query sent before this virtual time */
    int64_t delay;         /* ms; -1: inherit */
    bool tc;               /* over UDP: TC=1 and empty sections */
    bool no_edns;          /* FORMERR to a query with EDNS */
    int noaa;              /* 1: AA cleared, 0: inherit */
    int rcode;             /* -1: inherit / engine's */
    bool explicit_;        /* sections below replace the engine's reply */
    ldns_rr_list *sec[3];  /* answer, authority, additional */
};

struct match {
    uint8_t name[DR_NAME_MAX]; /* lower case */
    int name_kind;             /* 0 exact, 1 any, 2 strictly below name */
    uint16_t type;             /* 0: any */
    struct mods m;
    struct match *next;
};

struct server {
    char label[64];
    union dc_sockaddr addrs[MAX_ADDRS];
    int naddrs;
    uint8_t zones[MAX_ZONES][DR_NAME_MAX];
    int nzones;
    ldns_rr_list *data;
    struct mods m;
    struct match *matches, **mtail;
    struct server *next;
};

struct qlog {
    union dc_sockaddr server;
    uint8_t name[DR_NAME_MAX]; /* as sent */
    uint16_t type;
    bool tcp, edns, rd;
    uint32_t timeout_ms;
    uint64_t at;
};

struct ev {
    struct ev *next;
    uint64_t at, seq;
    struct dr_res *res;
    enum dr_iter_outcome outcome;
    uint8_t *reply;
    size_t len;
    uint32_t rtt;
};

struct client {
    struct dr_waiter w;
    struct client *next;
    char id[64];
    int rc; /* dr_mesh_resolve's */
    bool done, from_cache;
    bool do_bit, cd, ad; /* the client's flags */
    uint8_t sec, why;    /* the answer's validation status, as the mesh or the cache said */
    ldns_pkt *pkt;       /* the final reply */
    uint64_t at;
};

struct scn {
    const char *file;
    int line;
    int failures;
    /* declarations */
    char *conf_text;
    size_t conf_len;
    char *hints_text;
    size_t hints_len;
    struct server *servers, **stail;
    uint64_t seed;
    /* the running environment (after setup) */
    bool ready;
    struct dr_conf *conf;
    struct dr_deleg hints;
    struct dr_cache *cache;
    struct dc_lru *deleg;
    struct dc_lru *keys; /* the key cache, as the daemon has it when validating */
    struct dr_infra infra;
    struct dr_mesh *mesh;
    uint64_t now, next_tick, rng, seq;
    int64_t wall_base; /* the wall clock (Unix seconds) at virtual time 0: `wall` moves it */
    struct ev *events;
    struct qlog *log;
    size_t nlog, caplog, mark;
    struct client *clients;
    unsigned busy, deadlines, joins, full, send_fails;
};

static void fail_at(struct scn *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
fail_at(struct scn *s, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s:%d: ", s->file, s->line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    s->failures++;
}

/* ---- small helpers ---- */

/* The wall clock (TTLs, cache expiry, signature validity): virtual time plus the offset
 * `wall` sets, so a scenario can start inside a signature's validity window and jump past
 * its expiration without running a month of ticks. */
static int64_t
wall_now(const struct scn *s)
{
    return s->wall_base + (int64_t)(s->now / 1000);
}

static char *
trim(char *p)
{
    while (isspace((unsigned char)*p))
        p++;
    size_t n = strlen(p);
    while (n > 0 && isspace((unsigned char)p[n - 1]))
        p[--n] = '\0';
    return p;
}

static int
split(char *p, char **tok, int max)
{
    int n = 0;
    while (*p && n < max) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        tok[n++] = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        if (*p)
            *p++ = '\0';
    }
    return n;
}

static void
append(char **buf, size_t *len, const char *line)
{
    size_t l = strlen(line);
    char *nb = realloc(*buf, *len + l + 2);
    if (nb == NULL)
        abort();
    memcpy(nb + *len, line, l);
    nb[*len + l] = '\n';
    nb[*len + l + 1] = '\0';
    *buf = nb;
    *len += l + 1;
}

static int
name_parse(const char *s, uint8_t out[DR_NAME_MAX])
{
    if (dr_dname_from_str(s, out) < 0)
        return -1;
    dr_dname_lower(out);
    return 0;
}

static int
type_parse(const char *s, uint16_t *t)
{
    if (strcmp(s, "*") == 0) {
        *t = 0;
        return 0;
    }
    ldns_rr_type v = ldns_get_rr_type_by_name(s);
    if (v == 0)
        return -1;
    *t = (uint16_t)v;
    return 0;
}

static int
rcode_parse(const char *s)
{
    ldns_lookup_table *r = ldns_lookup_by_name(ldns_rcodes, s);
    if (r)
        return r->id;
    char *end;
    long v = strtol(s, &end, 10);
    return *end == '\0' && v >= 0 && v < 16 ? (int)v : -1;
}

static const uint8_t *
rdf_name(const ldns_rdf *r)
{
    return r && ldns_rdf_size(r) <= DR_NAME_MAX ? ldns_rdf_data(r) : NULL;
}

static bool
owner_is(const ldns_rr *rr, const uint8_t *name)
{
    const uint8_t *o = rdf_name(ldns_rr_owner(rr));
    return o && dr_dname_equal(o, name);
}

static ldns_rr *
rr_parse(const char *text)
{
    ldns_rr *rr = NULL;
    if (ldns_rr_new_frm_str(&rr, text, 3600, NULL, NULL) != LDNS_STATUS_OK)
        return NULL;
    return rr;
}

static void
mods_init(struct mods *m)
{
    memset(m, 0, sizeof(*m));
    m->delay = -1;
    m->rcode = -1;
}

static void
mods_free(struct mods *m)
{
    for (int i = 0; i < 3; i++)
        ldns_rr_list_deep_free(m->sec[i]);
}

/* ---- the authoritative engine ---- */

static bool
name_exists(const struct server *sv, const uint8_t *name)
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(sv->data); i++) {
        const uint8_t *o = rdf_name(ldns_rr_owner(ldns_rr_list_rr(sv->data, i)));
        if (o && dr_dname_is_sub(o, name))
            return true; /* the name, or an empty non-terminal above data */
    }
    return false;
}

/* Pushes clones of the rrset (owner, type) to l, owned by `as` when not NULL. Count. */
static int
push_set(const struct server *sv, const uint8_t *owner, uint16_t type, ldns_rr_list *l,
         const uint8_t *as)
{
    int n = 0;
    for (size_t i = 0; i < ldns_rr_list_rr_count(sv->data); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(sv->data, i);
        if (!owner_is(rr, owner) || ldns_rr_get_type(rr) != type)
            continue;
        ldns_rr *c = ldns_rr_clone(rr);
        if (as) {
            ldns_rdf *o = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, dr_dname_len(as), as);
            ldns_rdf_deep_free(ldns_rr_owner(c));
            ldns_rr_set_owner(c, o);
        }
        ldns_rr_list_push_rr(l, c);
        n++;
    }
    return n;
}

/* Pushes clones of the RRSIGs at owner covering type to l (owned by `as` when not NULL), as
 * a server does for a query with DO=1. */
static void
push_sigs(const struct server *sv, const uint8_t *owner, uint16_t type, ldns_rr_list *l,
          const uint8_t *as)
{
    ldns_rr_list *sigs = ldns_rr_list_new();
    push_set(sv, owner, LDNS_RR_TYPE_RRSIG, sigs, as);
    for (size_t i = 0; i < ldns_rr_list_rr_count(sigs); i++) {
        ldns_rr *rr = ldns_rr_list_rr(sigs, i);
        if (ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)) == type)
            ldns_rr_list_push_rr(l, ldns_rr_clone(rr));
    }
    ldns_rr_list_deep_free(sigs);
}

/* push_set() plus, when dnssec (the query had DO=1), the set's RRSIGs. */
static int
push_signed(const struct server *sv, const uint8_t *owner, uint16_t type, ldns_rr_list *l,
            const uint8_t *as, bool dnssec)
{
    int n = push_set(sv, owner, type, l, as);
    if (n > 0 && dnssec)
        push_sigs(sv, owner, type, l, as);
    return n;
}

/* Pushes the zone's signed NSEC (type NSEC) or NSEC3 record that matches name (at: owner
 * equal to the name, or to its hash for NSEC3) or covers it (owner < name < next in the
 * chain's order), once. Whether there is one. */
static bool
push_denial(const struct server *sv, const uint8_t *zone, uint16_t type, const uint8_t *name,
            bool at, ldns_rr_list *l)
{
    ldns_rdf *n = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, dr_dname_len(name), name);
    ldns_rdf *z = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, dr_dname_len(zone), zone);
    bool found = false;
    for (size_t i = 0; i < ldns_rr_list_rr_count(sv->data) && !found; i++) {
        const ldns_rr *rr = ldns_rr_list_rr(sv->data, i);
        const uint8_t *o = rdf_name(ldns_rr_owner(rr));
        if (ldns_rr_get_type(rr) != type || o == NULL || !dr_dname_is_sub(o, zone))
            continue;
        ldns_rdf *h = n;
        if (type == LDNS_RR_TYPE_NSEC3) {
            h = ldns_nsec3_hash_name_frm_nsec3(rr, n);
            if (h == NULL || ldns_dname_cat(h, z) != LDNS_STATUS_OK) {
                ldns_rdf_deep_free(h);
                continue;
            }
        }
        bool equal = ldns_dname_compare(ldns_rr_owner(rr), h) == 0;
        found = at ? equal : !equal && ldns_nsec_covers_name(rr, h);
        if (h != n)
            ldns_rdf_deep_free(h);
        bool there = false;
        for (size_t j = 0; found && j < ldns_rr_list_rr_count(l); j++)
            there |= ldns_rr_compare(ldns_rr_list_rr(l, j), rr) == 0;
        if (found && !there)
            push_signed(sv, o, type, l, NULL, true);
    }
    ldns_rdf_deep_free(n);
    ldns_rdf_deep_free(z);
    return found;
}

/* NSEC3's closest encloser proof for name (RFC 5155 7.2.1): the NSEC3 matching the closest
 * ancestor that has one and, below it, the one covering the next closer name. Just the
 * matching one when name has its own. */
static void
nsec3_encloser(const struct server *sv, const uint8_t *zone, const uint8_t *name, ldns_rr_list *l)
{
    int nl = dr_dname_labels(name), zl = dr_dname_labels(zone);
    for (int k = nl; k >= zl; k--) {
        const uint8_t *a = dr_dname_strip(name, nl - k);
        if (!push_denial(sv, zone, LDNS_RR_TYPE_NSEC3, a, true, l))
            continue;
        if (k < nl)
            push_denial(sv, zone, LDNS_RR_TYPE_NSEC3, dr_dname_strip(name, nl - k - 1), false, l);
        return;
    }
}

enum proof {
    PROOF_NODATA,      /* name exists, not with the type (also: a cut without DS) */
    PROOF_NXDOMAIN,    /* neither name nor a wildcard at its closest encloser ce */
    PROOF_WILD_ANSWER, /* name does not exist, the answer is ce's wildcard's expansion */
    PROOF_WILD_NODATA, /* as above, but the wildcard lacks the type */
};

/* Adds the signed NSEC or NSEC3 records (whichever the zone has: NSEC3 with an NSEC3PARAM
 * at its apex) that prove what to l. ce: name's closest encloser (NULL for NODATA). */
static void
prove(const struct server *sv, const uint8_t *zone, const uint8_t *name, const uint8_t *ce,
      enum proof what, ldns_rr_list *l)
{
    uint8_t wild[DR_NAME_MAX] = {0};
    if (ce) {
        wild[0] = 1;
        wild[1] = '*';
        memcpy(wild + 2, ce, dr_dname_len(ce));
    }
    ldns_rr_list *param = ldns_rr_list_new();
    bool nsec3 = push_set(sv, zone, LDNS_RR_TYPE_NSEC3PARAM, param, NULL) > 0;
    ldns_rr_list_deep_free(param);
    if (!nsec3) {
        const uint16_t t = LDNS_RR_TYPE_NSEC;
        if (what == PROOF_NODATA && !push_denial(sv, zone, t, name, true, l))
            push_denial(sv, zone, t, name, false, l); /* an empty non-terminal */
        if (what != PROOF_NODATA)
            push_denial(sv, zone, t, name, false, l);
        if (what == PROOF_NXDOMAIN || what == PROOF_WILD_NODATA)
            push_denial(sv, zone, t, wild, what == PROOF_WILD_NODATA, l);
        return;
    }
    const uint16_t t = LDNS_RR_TYPE_NSEC3;
    if (what == PROOF_WILD_ANSWER) {
        /* the next closer name (ce plus one label of name) is covered */
        int nl = dr_dname_labels(name), cl = dr_dname_labels(ce);
        push_denial(sv, zone, t, dr_dname_strip(name, nl - cl - 1), false, l);
        return;
    }
    nsec3_encloser(sv, zone, name, l);
    if (what == PROOF_NXDOMAIN || what == PROOF_WILD_NODATA)
        push_denial(sv, zone, t, wild, what == PROOF_WILD_NODATA, l);
}

/* The addresses the server has for the NS targets in ns, into ad. */
static void
add_glue(const struct server *sv, ldns_rr_list *ns, ldns_rr_list *ad)
{
    size_t n = ldns_rr_list_rr_count(ns);
    for (size_t i = 0; i < n; i++) {
        const ldns_rr *rr = ldns_rr_list_rr(ns, i);
        const uint8_t *t = rdf_name(ldns_rr_rdf(rr, 0));
        if (t && ldns_rr_get_type(rr) == LDNS_RR_TYPE_NS) {
            push_set(sv, t, LDNS_RR_TYPE_A, ad, NULL);
            push_set(sv, t, LDNS_RR_TYPE_AAAA, ad, NULL);
        }
    }
}

/* The highest cut (NS owner strictly below zone) at or above name, or NULL. */
static const uint8_t *
find_cut(const struct server *sv, const uint8_t *zone, const uint8_t *name, uint8_t *buf)
{
    int zl = dr_dname_labels(zone), nl = dr_dname_labels(name);
    for (int l = zl + 1; l <= nl; l++) {
        const uint8_t *a = dr_dname_strip(name, nl - l);
        for (size_t i = 0; i < ldns_rr_list_rr_count(sv->data); i++) {
            const ldns_rr *rr = ldns_rr_list_rr(sv->data, i);
            if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NS && owner_is(rr, a)) {
                memcpy(buf, a, dr_dname_len(a));
                return buf;
            }
        }
    }
    return NULL;
}

/* Fills p's sections the way an authoritative server of the zone enclosing qname would;
 * with dnssec (the query's DO bit), a signed zone's RRSIGs and NSEC proofs as well. */
static void
engine_answer(const struct server *sv, const uint8_t *qname, uint16_t qtype, bool dnssec,
              ldns_pkt *p)
{
    const uint8_t *zone = NULL;
    for (int i = 0; i < sv->nzones; i++)
        if (dr_dname_is_sub(qname, sv->zones[i]) &&
            (zone == NULL || dr_dname_labels(sv->zones[i]) > dr_dname_labels(zone)))
            zone = sv->zones[i];
    if (zone == NULL) {
        ldns_pkt_set_rcode(p, LDNS_RCODE_REFUSED);
        return;
    }
    ldns_rr_list *an = ldns_pkt_answer(p), *au = ldns_pkt_authority(p),
                 *ad = ldns_pkt_additional(p);
    uint8_t name[DR_NAME_MAX], cutbuf[DR_NAME_MAX];
    memcpy(name, qname, dr_dname_len(qname));
    ldns_pkt_set_aa(p, true);
    for (int guard = 0; guard < 16; guard++) {
        if (!dr_dname_is_sub(name, zone))
            return; /* the chain left the zone */
        const uint8_t *cut = find_cut(sv, zone, name, cutbuf);
        if (cut && !(qtype == LDNS_RR_TYPE_DS && dr_dname_equal(cut, name))) {
            if (ldns_rr_list_rr_count(an) > 0)
                return; /* a chain into a delegated name: what we have */
            ldns_pkt_set_aa(p, false);
            push_set(sv, cut, LDNS_RR_TYPE_NS, au, NULL);
            /* a signed delegation's DS, or the proof that there is none */
            if (dnssec && push_signed(sv, cut, LDNS_RR_TYPE_DS, au, NULL, true) == 0)
                prove(sv, zone, cut, NULL, PROOF_NODATA, au);
            add_glue(sv, au, ad);
            return;
        }
        if (push_signed(sv, name, qtype, an, NULL, dnssec) > 0) {
            if (qtype == LDNS_RR_TYPE_NS)
                add_glue(sv, an, ad);
            return;
        }
        if (qtype != LDNS_RR_TYPE_CNAME) {
            ldns_rr_list *cn = ldns_rr_list_new();
            if (push_set(sv, name, LDNS_RR_TYPE_CNAME, cn, NULL) > 0) {
                const uint8_t *t = rdf_name(ldns_rr_rdf(ldns_rr_list_rr(cn, 0), 0));
                ldns_rr_list_push_rr(an, ldns_rr_clone(ldns_rr_list_rr(cn, 0)));
                if (dnssec)
                    push_sigs(sv, name, LDNS_RR_TYPE_CNAME, an, NULL);
                uint8_t next[DR_NAME_MAX];
                dr_dname_copy_lower(next, t);
                ldns_rr_list_deep_free(cn);
                memcpy(name, next, dr_dname_len(next));
                continue;
            }
            ldns_rr_list_deep_free(cn);
        }
        /* a DNAME strictly above name, inside the zone */
        bool moved = false;
        int nl = dr_dname_labels(name), zl = dr_dname_labels(zone);
        for (int l = zl; l < nl && !moved; l++) {
            const uint8_t *a = dr_dname_strip(name, nl - l);
            for (size_t i = 0; i < ldns_rr_list_rr_count(sv->data); i++) {
                const ldns_rr *rr = ldns_rr_list_rr(sv->data, i);
                if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_DNAME || !owner_is(rr, a))
                    continue;
                uint8_t next[DR_NAME_MAX];
                const uint8_t *t = rdf_name(ldns_rr_rdf(rr, 0));
                uint8_t tl[DR_NAME_MAX];
                dr_dname_copy_lower(tl, t);
                int head = (int)(dr_dname_strip(name, nl - l) - name);
                ldns_rr_list_push_rr(an, ldns_rr_clone(rr));
                if ((size_t)head + dr_dname_len(tl) > DR_NAME_MAX) {
                    ldns_pkt_set_rcode(p, 6); /* YXDOMAIN (RFC 6672 section 2.2) */
                    return;
                }
                memcpy(next, name, (size_t)head);
                memcpy(next + head, tl, dr_dname_len(tl));
                char buf[2 * DR_NAME_STRLEN + 64], ns[DR_NAME_STRLEN], ts[DR_NAME_STRLEN];
                dr_dname_to_str(name, ns, sizeof(ns));
                dr_dname_to_str(next, ts, sizeof(ts));
                snprintf(buf, sizeof(buf), "%s %u IN CNAME %s", ns, ldns_rr_ttl(rr), ts);
                ldns_rr_list_push_rr(an, rr_parse(buf));
                memcpy(name, next, dr_dname_len(next));
                moved = true;
                break;
            }
        }
        if (moved)
            continue;
        if (name_exists(sv, name)) {
            push_signed(sv, zone, LDNS_RR_TYPE_SOA, au, NULL, dnssec);
            if (dnssec)
                prove(sv, zone, name, NULL, PROOF_NODATA, au);
            return;
        }
        /* a wildcard at the closest encloser */
        for (int l = nl - 1; l >= zl; l--) {
            const uint8_t *a = dr_dname_strip(name, nl - l);
            if (!name_exists(sv, a))
                continue;
            uint8_t wild[DR_NAME_MAX];
            wild[0] = 1;
            wild[1] = '*';
            memcpy(wild + 2, a, dr_dname_len(a));
            if (name_exists(sv, wild)) {
                /* the expansion, and the proof that name itself does not exist */
                if (push_signed(sv, wild, qtype, an, name, dnssec) > 0) {
                    if (dnssec)
                        prove(sv, zone, name, a, PROOF_WILD_ANSWER, au);
                    return;
                }
                push_signed(sv, zone, LDNS_RR_TYPE_SOA, au, NULL, dnssec);
                if (dnssec)
                    prove(sv, zone, name, a, PROOF_WILD_NODATA, au);
                return;
            }
            if (dnssec)
                prove(sv, zone, name, a, PROOF_NXDOMAIN, au);
            break;
        }
        ldns_pkt_set_rcode(p, LDNS_RCODE_NXDOMAIN);
        push_signed(sv, zone, LDNS_RR_TYPE_SOA, au, NULL, dnssec);
        return;
    }
}

static bool
match_fits(const struct match *mt, const uint8_t *qname, uint16_t qtype)
{
    if (mt->type != 0 && mt->type != qtype)
        return false;
    switch (mt->name_kind) {
    case 0:
        return dr_dname_equal(mt->name, qname);
    case 1:
        return true;
    default:
        return dr_dname_is_sub(qname, mt->name) && !dr_dname_equal(qname, mt->name);
    }
}

/* ---- the mesh's I/O ---- */

static uint32_t
rng_next(void *arg)
{
    struct scn *s = arg;
    /* splitmix64 */
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (uint32_t)((z ^ (z >> 31)) >> 16);
}

static void
io_env(void *arg, struct dr_iter_env *env)
{
    struct scn *s = arg;
    env->conf = s->conf;
    env->cache = s->cache;
    env->deleg = s->deleg;
    env->hints = &s->hints;
    env->infra = &s->infra;
    env->now = wall_now(s);
    env->now_ms = s->now;
    env->random = rng_next;
    env->random_arg = s;
    env->dnssec = s->conf->dnssec;
    env->anchors = s->conf->anchors;
    env->val_bogus_ttl = 60;
    env->stale_life = 0;
    env->aggr = NULL;
    env->keys = s->keys;
    env->trust = s->conf->serial;
    env->validating = false;
}

static void
io_count(void *arg, enum dr_mesh_event ev)
{
    struct scn *s = arg;
    if (ev == DR_MESH_DEADLINE)
        s->deadlines++;
    else if (ev == DR_MESH_JOINED)
        s->joins++;
    else if (ev == DR_MESH_FULL)
        s->full++;
}

static struct server *
server_at(struct scn *s, const union dc_sockaddr *a)
{
    for (struct server *sv = s->servers; sv; sv = sv->next)
        for (int i = 0; i < sv->naddrs; i++)
            if (dc_addr_equal(&sv->addrs[i], a))
                return sv;
    return NULL;
}

static void
schedule(struct scn *s, struct ev *e, uint64_t at)
{
    e->at = at;
    e->seq = ++s->seq;
    e->next = s->events;
    s->events = e;
}

/* Builds the canned reply to the query q (as sent) from sv; NULL: no reply (timeout). */
static uint8_t *
make_reply(struct scn *s, struct server *sv, const uint8_t *q, size_t qlen, bool tcp, size_t *len,
           int64_t *delay)
{
    ldns_pkt *qp = NULL;
    if (ldns_wire2pkt(&qp, q, qlen) != LDNS_STATUS_OK) {
        fail_at(s, "the iterator sent a query that does not parse");
        return NULL;
    }
    const ldns_rr *qrr = ldns_rr_list_rr(ldns_pkt_question(qp), 0);
    uint8_t qname[DR_NAME_MAX];
    dr_dname_copy_lower(qname, rdf_name(ldns_rr_owner(qrr)));
    uint16_t qtype = (uint16_t)ldns_rr_get_type(qrr);
    bool edns = ldns_pkt_edns(qp);

    struct mods m = sv->m;
    const struct match *mt = NULL;
    for (const struct match *x = sv->matches; x; x = x->next)
        if (match_fits(x, qname, qtype)) {
            mt = x;
            break;
        }
    if (mt) {
        m.timeout |= mt->m.timeout;
        m.neterr |= mt->m.neterr;
        if (mt->m.silent_until > m.silent_until)
            m.silent_until = mt->m.silent_until;
        m.udp_timeout |= mt->m.udp_timeout;
        if (mt->m.delay >= 0)
            m.delay = mt->m.delay;
        m.tc |= mt->m.tc;
        m.no_edns |= mt->m.no_edns;
        if (mt->m.noaa)
            m.noaa = mt->m.noaa;
        if (mt->m.rcode >= 0)
            m.rcode = mt->m.rcode;
        m.explicit_ = mt->m.explicit_;
        memcpy(m.sec, mt->m.sec, sizeof(m.sec));
    }
    *delay = m.delay >= 0 ? m.delay : DEFAULT_DELAY;
    if (m.neterr || m.timeout || (m.udp_timeout && !tcp) || s->now < m.silent_until) {
        ldns_pkt_free(qp);
        return NULL;
    }
    ldns_pkt *p = ldns_pkt_new();
    ldns_pkt_set_id(p, ldns_pkt_id(qp));
    ldns_pkt_set_qr(p, true);
    ldns_pkt_set_rd(p, ldns_pkt_rd(qp));
    ldns_pkt_set_opcode(p, LDNS_PACKET_QUERY);
    ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, ldns_rr_clone(qrr));
    if (m.no_edns && edns) {
        ldns_pkt_set_rcode(p, LDNS_RCODE_FORMERR);
    } else if (m.tc && !tcp) {
        ldns_pkt_set_tc(p, true);
        ldns_pkt_set_aa(p, true);
    } else if (m.explicit_) {
        ldns_pkt_set_aa(p, true);
        static const ldns_pkt_section secs[3] = {LDNS_SECTION_ANSWER, LDNS_SECTION_AUTHORITY,
                                                 LDNS_SECTION_ADDITIONAL};
        for (int i = 0; i < 3; i++)
            for (size_t j = 0; m.sec[i] && j < ldns_rr_list_rr_count(m.sec[i]); j++)
                ldns_pkt_push_rr(p, secs[i], ldns_rr_clone(ldns_rr_list_rr(m.sec[i], j)));
        if (m.rcode >= 0)
            ldns_pkt_set_rcode(p, (uint8_t)m.rcode);
    } else if (m.rcode >= 0) {
        ldns_pkt_set_rcode(p, (uint8_t)m.rcode);
    } else {
        engine_answer(sv, qname, qtype, edns && ldns_pkt_edns_do(qp), p);
    }
    if (m.noaa > 0)
        ldns_pkt_set_aa(p, false);
    ldns_pkt_set_qdcount(p, 1);
    ldns_pkt_set_ancount(p, (uint16_t)ldns_rr_list_rr_count(ldns_pkt_answer(p)));
    ldns_pkt_set_nscount(p, (uint16_t)ldns_rr_list_rr_count(ldns_pkt_authority(p)));
    ldns_pkt_set_arcount(p, (uint16_t)ldns_rr_list_rr_count(ldns_pkt_additional(p)));
    if (edns && !(m.no_edns && edns)) {
        ldns_pkt_set_edns_udp_size(p, 1232);
        ldns_pkt_set_edns_data(p, NULL);
        ldns_pkt_set_edns_do(p, false);
        /* ldns writes OPT when the udp size is set */
    }
    uint8_t *wire = NULL;
    size_t wlen = 0;
    ldns_status st = ldns_pkt2wire(&wire, p, &wlen);
    ldns_pkt_free(p);
    ldns_pkt_free(qp);
    if (st != LDNS_STATUS_OK) {
        fail_at(s, "cannot build a canned reply: %s", ldns_get_errorstr_by_id(st));
        return NULL;
    }
    /* Echo the question bytes exactly as sent (0x20 case): the first name of a message is
     * never compressed, so the question occupies the same bytes in both. */
    size_t off = DR_HEADER_LEN;
    if (dr_dname_skip(q, qlen, &off) < 0 || off + 4 > qlen || off + 4 > wlen) {
        fail_at(s, "bad question in a query");
        free(wire);
        return NULL;
    }
    memcpy(wire + DR_HEADER_LEN, q + DR_HEADER_LEN, off + 4 - DR_HEADER_LEN);
    memcpy(wire, q, 2);
    if (getenv("REPLAY_DEBUG")) {
        ldns_pkt *dp = NULL;
        if (ldns_wire2pkt(&dp, wire, wlen) == LDNS_STATUS_OK)
            ldns_pkt_print(stderr, dp);
        ldns_pkt_free(dp);
    }
    *len = wlen;
    return wire;
}

static void *
io_send(void *arg, struct dr_res *res, const struct dr_iter_action *a)
{
    struct scn *s = arg;
    struct server *sv = server_at(s, a->server);
    if (sv && sv->m.send_fail) {
        s->send_fails++;
        return NULL;
    }
    if (s->nlog == s->caplog) {
        s->caplog = s->caplog ? 2 * s->caplog : 64;
        s->log = realloc(s->log, s->caplog * sizeof(*s->log));
        if (s->log == NULL)
            abort();
    }
    struct qlog *l = &s->log[s->nlog++];
    memset(l, 0, sizeof(*l));
    l->server = *a->server;
    l->tcp = a->tcp;
    l->timeout_ms = a->timeout_ms;
    l->at = s->now;
    size_t off = DR_HEADER_LEN;
    uint8_t name[DR_NAME_MAX];
    if (a->qlen < DR_HEADER_LEN || dr_dname_read(a->query, a->qlen, &off, name) < 0 ||
        off + 4 > a->qlen) {
        fail_at(s, "io.send: a query that does not parse");
        return NULL;
    }
    memcpy(l->name, a->query + DR_HEADER_LEN, off - DR_HEADER_LEN);
    l->type = dr_get16(a->query + off);
    l->rd = (dr_get16(a->query + 2) & DR_FLAG_RD) != 0;
    l->edns = dr_get16(a->query + 10) > 0;

    struct ev *e = calloc(1, sizeof(*e));
    if (e == NULL)
        abort();
    e->res = res;
    int64_t delay = DEFAULT_DELAY;
    if (sv)
        e->reply = make_reply(s, sv, a->query, a->qlen, a->tcp, &e->len, &delay);
    if (sv && sv->m.neterr && (uint64_t)delay < a->timeout_ms) {
        e->outcome = DR_ITER_NETERR;
        e->rtt = (uint32_t)delay;
        schedule(s, e, s->now + (uint64_t)delay);
    } else if (e->reply && (uint64_t)delay < a->timeout_ms) {
        e->outcome = DR_ITER_REPLY;
        e->rtt = (uint32_t)delay;
        schedule(s, e, s->now + (uint64_t)delay);
    } else {
        free(e->reply);
        e->reply = NULL;
        e->outcome = DR_ITER_TIMEOUT;
        e->rtt = a->timeout_ms;
        schedule(s, e, s->now + a->timeout_ms);
    }
    return e;
}

static void
io_cancel(void *arg, void *exchange)
{
    struct scn *s = arg;
    struct ev *e = exchange;
    for (struct ev **p = &s->events; *p; p = &(*p)->next)
        if (*p == e) {
            *p = e->next;
            break;
        }
    free(e->reply);
    free(e);
}

static const struct dr_mesh_io replay_io = {
    .send = io_send,
    .cancel = io_cancel,
    .env = io_env,
    .count = io_count,
    .stored = NULL, /* no shared cache (resolver/redis.h) in replays */
};

/* ---- the event loop ---- */

static struct ev *
next_event(struct scn *s)
{
    struct ev *best = NULL;
    for (struct ev *e = s->events; e; e = e->next)
        if (best == NULL || e->at < best->at || (e->at == best->at && e->seq < best->seq))
            best = e;
    return best;
}

/* Carries out the next event due at or before limit (a reply, a timeout or the tick);
 * false when there is none. */
static bool
run_one(struct scn *s, uint64_t limit)
{
    struct ev *e = next_event(s);
    if (e && e->at <= limit && e->at <= s->next_tick) {
        for (struct ev **p = &s->events; *p; p = &(*p)->next)
            if (*p == e) {
                *p = e->next;
                break;
            }
        if (e->at > s->now)
            s->now = e->at;
        dr_mesh_upstream_done(s->mesh, e->res, e->outcome, e->reply, e->len, e->rtt);
        free(e->reply);
        free(e);
        return true;
    }
    if (s->next_tick <= limit) {
        s->now = s->next_tick;
        s->next_tick += TICK_MS;
        dr_mesh_tick(s->mesh, s->now);
        return true;
    }
    return false;
}

static void
advance_to(struct scn *s, uint64_t t)
{
    for (int guard = 0; guard < 10000000 && run_one(s, t); guard++)
        ;
    if (t > s->now)
        s->now = t;
}

/* Runs until nothing is pending (no event, no resolution), at most RUN_LIMIT_MS. */
static void
run_idle(struct scn *s)
{
    uint64_t limit = s->now + RUN_LIMIT_MS;
    for (int guard = 0; guard < 10000000; guard++) {
        if (s->events == NULL && dr_mesh_count(s->mesh) == 0)
            return;
        if (!run_one(s, limit))
            break;
    }
    fail_at(s, "run: still busy after %d ms (resolutions=%zu)", RUN_LIMIT_MS,
            dr_mesh_count(s->mesh));
}

/* ---- setup and teardown ---- */

static int
write_temp(const char *text, char *path, size_t size)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, size, "%s/replay-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    size_t n = strlen(text);
    bool ok = write(fd, text, n) == (ssize_t)n;
    close(fd);
    return ok ? 0 : -1;
}

static int
setup(struct scn *s)
{
    s->ready = true;
    s->conf = dr_conf_new();
    struct dc_conf_errors errs = {NULL, 0};
    if (dc_conf_load_string(&dr_conf_schema, s->file, s->conf_text ? s->conf_text : "", s->conf,
                            &s->conf->arena, &errs) > 0) {
        for (size_t i = 0; i < errs.n; i++)
            fail_at(s, "config: %s", errs.msgs[i]);
        dc_conf_errors_deinit(&errs);
        return -1;
    }
    char path[512];
    if (s->hints_text == NULL || write_temp(s->hints_text, path, sizeof(path)) < 0) {
        fail_at(s, "no hints block (or no temp file)");
        return -1;
    }
    int nerr = dr_hints_load(path, &s->hints, &errs);
    unlink(path);
    if (nerr > 0) {
        for (size_t i = 0; i < errs.n; i++)
            fail_at(s, "hints: %s", errs.msgs[i]);
        dc_conf_errors_deinit(&errs);
        return -1;
    }
    struct dr_cache_policy pol = {
        .min_ttl = (uint32_t)(s->conf->cache_min_ttl_ms / 1000),
        .max_ttl = (uint32_t)(s->conf->cache_max_ttl_ms / 1000),
        .max_negative_ttl = (uint32_t)(s->conf->cache_max_negative_ttl_ms / 1000),
    };
    s->cache = dr_cache_new(1u << 20, 4, &pol);
    s->deleg = dc_lru_new(1u << 20, 4);
    s->keys = dc_lru_new(1u << 20, 4);
    if (s->cache == NULL || s->deleg == NULL || s->keys == NULL || dr_infra_init(&s->infra) < 0)
        abort();
    s->mesh = dr_mesh_new(&replay_io, s, 0);
    if (s->mesh == NULL)
        abort();
    s->rng = s->seed;
    s->next_tick = TICK_MS;
    return 0;
}

static void
teardown(struct scn *s)
{
    if (s->mesh) {
        dr_mesh_abort_all(s->mesh);
        while (s->events) {
            struct ev *e = s->events;
            s->events = e->next;
            free(e->reply);
            free(e);
        }
        dr_mesh_free(s->mesh);
    }
    if (s->cache)
        dr_cache_free(s->cache);
    if (s->deleg)
        dc_lru_free(s->deleg);
    if (s->keys)
        dc_lru_free(s->keys);
    if (s->ready && s->conf)
        dr_infra_deinit(&s->infra);
    dr_conf_free(s->conf);
    while (s->clients) {
        struct client *c = s->clients;
        s->clients = c->next;
        ldns_pkt_free(c->pkt);
        free(c);
    }
    while (s->servers) {
        struct server *sv = s->servers;
        s->servers = sv->next;
        ldns_rr_list_deep_free(sv->data);
        mods_free(&sv->m);
        while (sv->matches) {
            struct match *mt = sv->matches;
            sv->matches = mt->next;
            mods_free(&mt->m);
            free(mt);
        }
        free(sv);
    }
    free(s->log);
    free(s->conf_text);
    free(s->hints_text);
}

/* ---- steps ---- */

static void
on_client_done(struct dr_waiter *w, const uint8_t *reply, size_t len)
{
    struct client *c = (struct client *)w;
    c->done = true;
    c->sec = w->sec;
    c->why = w->why;
    ldns_pkt_free(c->pkt);
    c->pkt = NULL;
    if (ldns_wire2pkt(&c->pkt, reply, len) != LDNS_STATUS_OK)
        c->pkt = NULL;
}

static struct client *
client_find(struct scn *s, const char *id)
{
    for (struct client *c = s->clients; c; c = c->next)
        if (strcmp(c->id, id) == 0)
            return c;
    return NULL;
}

/* The client's query as it arrives (RD, the flags asked for, EDNS with DO when asked),
 * parsed by the real dr_msg_parse_query into q. -1 when it does not parse. */
static int
client_msg(const struct client *c, const uint8_t *qname, uint16_t type, struct dr_msg_query *q)
{
    uint8_t pkt[DR_HEADER_LEN + DR_NAME_MAX + 4 + 11] = {0};
    uint16_t flags = DR_FLAG_RD | (c->cd ? DR_FLAG_CD : 0) | (c->ad ? DR_FLAG_AD : 0);
    dr_put16(pkt + 2, flags);
    dr_put16(pkt + 4, 1);  /* QDCOUNT */
    dr_put16(pkt + 10, 1); /* ARCOUNT: the OPT record */
    size_t off = DR_HEADER_LEN, nl = dr_dname_len(qname);
    memcpy(pkt + off, qname, nl);
    off += nl;
    dr_put16(pkt + off, type);
    dr_put16(pkt + off + 2, DR_CLASS_IN);
    off += 4;
    pkt[off] = 0; /* root owner */
    dr_put16(pkt + off + 1, 41);
    dr_put16(pkt + off + 3, 1232);
    dr_put16(pkt + off + 7, c->do_bit ? 0x8000 : 0);
    off += 11;
    return dr_msg_parse_query(pkt, off, q) == DR_MSG_OK ? 0 : -1;
}

static void
client_query(struct scn *s, const char *id, const char *name, uint16_t type, const char *flags)
{
    struct client *c = calloc(1, sizeof(*c));
    if (c == NULL)
        abort();
    snprintf(c->id, sizeof(c->id), "%s", id);
    c->w.done = on_client_done;
    c->at = s->now;
    c->next = s->clients;
    s->clients = c;
    c->do_bit = strstr(flags, "do") != NULL;
    c->cd = strstr(flags, "cd") != NULL;
    c->ad = strstr(flags, "ad") != NULL;
    c->w.dnssec_ok = c->do_bit;
    c->w.cd = c->cd;
    uint8_t qname[DR_NAME_MAX];
    struct dr_msg_query q;
    if (dr_dname_from_str(name, qname) < 0 || client_msg(c, qname, type, &q) < 0) {
        fail_at(s, "bad name %s", name);
        return;
    }
    /* As resolver/query.c: the answer cache first (only validated entries when validating),
     * a cached BOGUS answer is SERVFAIL unless CD=1. */
    uint8_t buf[65535];
    struct dr_cache_sec cs = {0};
    int n = dr_cache_answer_sec(s->cache, &q, wall_now(s), buf, sizeof(buf), NULL, s->conf->dnssec,
                                &cs);
    if (n > 0) {
        c->from_cache = true;
        c->w.sec = cs.status;
        c->w.why = cs.why;
        if (cs.status == DR_VS_BOGUS && !c->cd)
            n = dr_msg_reply_empty(&q, DR_RCODE_SERVFAIL, 1232, buf, sizeof(buf));
        if (n > 0)
            on_client_done(&c->w, buf, (size_t)n);
        return;
    }
    c->rc = dr_mesh_resolve(s->mesh, qname, type, DR_CLASS_IN, &c->w);
    if (c->rc == -EBUSY)
        s->busy++;
    else if (c->rc < 0)
        fail_at(s, "dr_mesh_resolve: %d", c->rc);
}

static bool
compare(int64_t a, const char *op, int64_t b, bool *ok)
{
    *ok = true;
    if (strcmp(op, "==") == 0 || strcmp(op, "=") == 0)
        return a == b;
    if (strcmp(op, "!=") == 0)
        return a != b;
    if (strcmp(op, "<=") == 0)
        return a <= b;
    if (strcmp(op, ">=") == 0)
        return a >= b;
    if (strcmp(op, "<") == 0)
        return a < b;
    if (strcmp(op, ">") == 0)
        return a > b;
    *ok = false;
    return false;
}

static void
expect_count(struct scn *s, const char *what, int64_t got, char **tok, int n)
{
    bool ok;
    if (n < 2) {
        fail_at(s, "expect %s: needs OP N", what);
        return;
    }
    char *end;
    int64_t want = strtoll(tok[1], &end, 10);
    bool r = compare(got, tok[0], want, &ok);
    if (!ok || *end) {
        fail_at(s, "expect %s: bad OP N", what);
        return;
    }
    if (!r)
        fail_at(s, "expected %s %s %s, got %" PRId64, what, tok[0], tok[1], got);
}

static void
log_dump(struct scn *s)
{
    for (size_t i = 0; i < s->nlog; i++) {
        char a[DC_ADDR_STRLEN], nm[DR_NAME_STRLEN];
        dc_addr_format(&s->log[i].server, false, a, sizeof(a));
        dr_dname_to_str(s->log[i].name, nm, sizeof(nm));
        const ldns_rr_descriptor *d = ldns_rr_descript(s->log[i].type);
        fprintf(stderr, "    %4zu t=%" PRIu64 " %s %s %s%s%s%s\n", i, s->log[i].at, a, nm,
                d && d->_name ? d->_name : "?", s->log[i].tcp ? " tcp" : "",
                s->log[i].edns ? "" : " noedns", s->log[i].rd ? " rd" : "");
    }
}

/* expect queries OP N [to ADDR] [name NAME] [under NAME] [type T] [tcp|udp] [edns|noedns]
 * [rd|nord] [since-mark] */
static void
expect_queries(struct scn *s, char **tok, int n)
{
    if (n < 2) {
        fail_at(s, "expect queries: needs OP N");
        return;
    }
    union dc_sockaddr to;
    uint8_t name[DR_NAME_MAX], under[DR_NAME_MAX];
    bool has_to = false, has_name = false, has_under = false, since = false;
    int tcp = -1, edns = -1, rd = -1;
    uint16_t type = 0;
    for (int i = 2; i < n; i++) {
        if (strcmp(tok[i], "to") == 0 && i + 1 < n) {
            if (dc_addr_parse(tok[++i], 53, &to) < 0)
                fail_at(s, "bad address %s", tok[i]);
            has_to = true;
        } else if (strcmp(tok[i], "name") == 0 && i + 1 < n) {
            has_name = name_parse(tok[++i], name) == 0;
        } else if (strcmp(tok[i], "under") == 0 && i + 1 < n) {
            has_under = name_parse(tok[++i], under) == 0;
        } else if (strcmp(tok[i], "type") == 0 && i + 1 < n) {
            if (type_parse(tok[++i], &type) < 0)
                fail_at(s, "bad type %s", tok[i]);
        } else if (strcmp(tok[i], "tcp") == 0 || strcmp(tok[i], "udp") == 0) {
            tcp = tok[i][0] == 't';
        } else if (strcmp(tok[i], "edns") == 0 || strcmp(tok[i], "noedns") == 0) {
            edns = tok[i][0] == 'e';
        } else if (strcmp(tok[i], "rd") == 0 || strcmp(tok[i], "nord") == 0) {
            rd = tok[i][0] == 'r';
        } else if (strcmp(tok[i], "since-mark") == 0) {
            since = true;
        } else {
            fail_at(s, "expect queries: unknown filter %s", tok[i]);
            return;
        }
    }
    int64_t got = 0;
    for (size_t i = since ? s->mark : 0; i < s->nlog; i++) {
        const struct qlog *l = &s->log[i];
        if ((has_to && !dc_addr_equal(&l->server, &to)) ||
            (has_name && !dr_dname_equal(l->name, name)) ||
            (has_under && !dr_dname_is_sub(l->name, under)) || (type && l->type != type) ||
            (tcp >= 0 && l->tcp != tcp) || (edns >= 0 && l->edns != edns) ||
            (rd >= 0 && l->rd != rd))
            continue;
        got++;
    }
    int before = s->failures;
    expect_count(s, "queries", got, tok, 2);
    if (s->failures > before)
        log_dump(s);
}

/* Whether list holds an RR like `want` (TTL ignored, names any case), or when type_only,
 * any RR of want's owner and type. */
static bool
list_has(ldns_rr_list *l, const ldns_rr *want, bool type_only)
{
    char *ws = NULL;
    if (!type_only) {
        ldns_rr *w = ldns_rr_clone(want);
        ldns_rr2canonical(w);
        ldns_rr_set_ttl(w, 0);
        ws = ldns_rr2str(w);
        ldns_rr_free(w);
    }
    bool found = false;
    for (size_t i = 0; l && i < ldns_rr_list_rr_count(l) && !found; i++) {
        const ldns_rr *rr = ldns_rr_list_rr(l, i);
        if (type_only) {
            found = ldns_rr_get_type(rr) == ldns_rr_get_type(want) &&
                    ldns_dname_compare(ldns_rr_owner(rr), ldns_rr_owner(want)) == 0;
            continue;
        }
        ldns_rr *c = ldns_rr_clone(rr);
        ldns_rr2canonical(c);
        ldns_rr_set_ttl(c, 0);
        char *cs = ldns_rr2str(c);
        found = cs && ws && strcmp(cs, ws) == 0;
        free(cs);
        ldns_rr_free(c);
    }
    free(ws);
    return found;
}

/* The DNSSEC side of a client's answer, as resolver/query.c gives it: the status, AD (for a
 * SECURE answer when validating and the client set DO or AD, RFC 6840 5.7) and the EDE.
 *   expect ID secure|insecure|bogus|indeterminate|none
 *   expect ID why NAME        (resolver/dnssec.h's dr_why_names)
 *   expect ID ad | no-ad
 *   expect ID ede N | no-ede
 * Returns false when tok is none of these. */
static bool
expect_sec(struct scn *s, struct client *c, char **tok, int n)
{
    const char *what = tok[0];
    const char *st = dr_val_status_names[c->sec < DR_VS_COUNT ? c->sec : 0];
    const char *why = c->why <= DR_CACHE_WHY_MAX ? dr_why_names[c->why] : "?";
    int ede = dr_val_ede((enum dr_val_status)c->sec, (enum dr_why)c->why);
    bool ad = s->conf->dnssec && c->sec == DR_VS_SECURE && (c->do_bit || c->ad) &&
              ldns_pkt_get_rcode(c->pkt) != LDNS_RCODE_SERVFAIL;
    bool ok;
    char want[64];
    if (n == 1 && (strcmp(what, "ad") == 0 || strcmp(what, "no-ad") == 0)) {
        ok = ad == (what[0] == 'a');
        snprintf(want, sizeof(want), "%s", what);
    } else if (n == 2 && strcmp(what, "ede") == 0) {
        ok = ede == atoi(tok[1]);
        snprintf(want, sizeof(want), "ede %s", tok[1]);
    } else if (n == 1 && strcmp(what, "no-ede") == 0) {
        ok = ede < 0;
        snprintf(want, sizeof(want), "no ede");
    } else if (n == 2 && strcmp(what, "why") == 0) {
        ok = strcmp(why, tok[1]) == 0;
        snprintf(want, sizeof(want), "why %s", tok[1]);
    } else if (n == 1) {
        int k = 0;
        while (k < DR_VS_COUNT && strcmp(dr_val_status_names[k], what) != 0)
            k++;
        if (k == DR_VS_COUNT)
            return false;
        ok = c->sec == k;
        snprintf(want, sizeof(want), "%s", what);
    } else {
        return false;
    }
    if (!ok)
        fail_at(s, "%s: expected %s, got %s why=%s ede=%d ad=%d%s", c->id, want, st, why, ede, ad,
                c->from_cache ? " (from the cache)" : "");
    return true;
}

/* expect ID rcode|answer|no-answer|authority|answers|pending|done|busy|cached ... */
static void
expect_client(struct scn *s, struct client *c, char **tok, int n, const char *rest)
{
    const char *what = tok[0];
    if (strcmp(what, "busy") == 0) {
        if (c->rc != -EBUSY)
            fail_at(s, "%s: expected -EBUSY, got %d", c->id, c->rc);
        return;
    }
    if (strcmp(what, "pending") == 0) {
        if (c->done || c->rc < 0)
            fail_at(s, "%s: expected still pending", c->id);
        return;
    }
    if (strcmp(what, "cached") == 0) {
        if (!c->from_cache)
            fail_at(s, "%s: expected an answer from the cache", c->id);
        return;
    }
    if (!c->done || c->pkt == NULL) {
        fail_at(s, "%s: no answer yet (rc=%d)", c->id, c->rc);
        return;
    }
    if (strcmp(what, "done") == 0)
        return;
    if (strcmp(what, "rcode") == 0 && n >= 2) {
        int want = rcode_parse(tok[1]);
        int got = ldns_pkt_get_rcode(c->pkt);
        if (want < 0)
            fail_at(s, "bad rcode %s", tok[1]);
        else if (want != got) {
            ldns_lookup_table *g = ldns_lookup_by_id(ldns_rcodes, got);
            fail_at(s, "%s: expected rcode %s, got %s", c->id, tok[1], g ? g->name : "?");
            ldns_pkt_print(stderr, c->pkt);
        }
        return;
    }
    if (strcmp(what, "ttl") == 0) {
        /* the largest TTL in the answer section, as the client sees it */
        int64_t max = -1;
        for (size_t i = 0; i < ldns_rr_list_rr_count(ldns_pkt_answer(c->pkt)); i++) {
            uint32_t t = ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(c->pkt), i));
            if ((int64_t)t > max)
                max = t;
        }
        char label[96];
        snprintf(label, sizeof(label), "%s ttl", c->id);
        expect_count(s, label, max, tok + 1, n - 1);
        return;
    }
    if (strcmp(what, "answers") == 0) {
        char label[96];
        snprintf(label, sizeof(label), "%s answers", c->id);
        expect_count(s, label, (int64_t)ldns_rr_list_rr_count(ldns_pkt_answer(c->pkt)), tok + 1,
                     n - 1);
        return;
    }
    bool neg = strcmp(what, "no-answer") == 0;
    bool auth = strcmp(what, "authority") == 0;
    if (neg || auth || strcmp(what, "answer") == 0) {
        ldns_rr *want = NULL;
        bool type_only = n == 3;
        if (type_only) {
            char buf[DR_NAME_STRLEN + 64];
            snprintf(buf, sizeof(buf), "%s 0 IN TXT \"x\"", tok[1]);
            want = rr_parse(buf);
            uint16_t t;
            if (want == NULL || type_parse(tok[2], &t) < 0 || t == 0) {
                fail_at(s, "bad name/type %s %s", tok[1], tok[2]);
                ldns_rr_free(want);
                return;
            }
            ldns_rr_set_type(want, (ldns_rr_type)t);
        } else {
            want = rr_parse(rest);
            if (want == NULL) {
                fail_at(s, "bad record: %s", rest);
                return;
            }
        }
        ldns_rr_list *l = auth ? ldns_pkt_authority(c->pkt) : ldns_pkt_answer(c->pkt);
        bool has = list_has(l, want, type_only);
        ldns_rr_free(want);
        if (has == neg) {
            fail_at(s, "%s: %s %s %s", c->id, neg ? "unexpected" : "missing",
                    auth ? "authority" : "answer", rest);
            ldns_pkt_print(stderr, c->pkt);
        }
        return;
    }
    if (expect_sec(s, c, tok, n))
        return;
    fail_at(s, "unknown client expectation %s", what);
}

static void
step_expect(struct scn *s, char *line)
{
    char copy[2048];
    snprintf(copy, sizeof(copy), "%s", line);
    char *tok[32];
    int n = split(line, tok, 32);
    if (n < 1) {
        fail_at(s, "expect what?");
        return;
    }
    if (strcmp(tok[0], "queries") == 0) {
        expect_queries(s, tok + 1, n - 1);
    } else if (strcmp(tok[0], "no-query") == 0 && n == 2) {
        char *t[4] = {"==", "0", "to", tok[1]};
        expect_queries(s, t, 4);
    } else if (strcmp(tok[0], "resolutions") == 0) {
        expect_count(s, "resolutions", (int64_t)dr_mesh_count(s->mesh), tok + 1, n - 1);
    } else if (strcmp(tok[0], "busy") == 0) {
        expect_count(s, "busy", s->busy, tok + 1, n - 1);
    } else if (strcmp(tok[0], "clients") == 0 && n >= 2) {
        /* expect clients RCODE|pending OP N: how many client queries ended so */
        bool pend = strcmp(tok[1], "pending") == 0;
        int rc = pend ? -1 : rcode_parse(tok[1]);
        if (!pend && rc < 0) {
            fail_at(s, "bad rcode %s", tok[1]);
            return;
        }
        int64_t got = 0;
        for (struct client *c = s->clients; c; c = c->next) {
            if (pend)
                got += c->rc == 0 && !c->done;
            else
                got += c->done && c->pkt && (int)ldns_pkt_get_rcode(c->pkt) == rc;
        }
        expect_count(s, "clients", got, tok + 2, n - 2);
    } else if (strcmp(tok[0], "full") == 0) {
        expect_count(s, "full", s->full, tok + 1, n - 1);
    } else if (strcmp(tok[0], "send-fails") == 0) {
        expect_count(s, "send-fails", s->send_fails, tok + 1, n - 1);
    } else if (strcmp(tok[0], "deadlines") == 0) {
        expect_count(s, "deadlines", s->deadlines, tok + 1, n - 1);
    } else if (strcmp(tok[0], "joins") == 0) {
        expect_count(s, "joins", s->joins, tok + 1, n - 1);
    } else if (strcmp(tok[0], "in-cache") == 0 || strcmp(tok[0], "not-in-cache") == 0) {
        uint8_t name[DR_NAME_MAX], buf[65535];
        uint16_t type;
        if (n != 3 || name_parse(tok[1], name) < 0 || type_parse(tok[2], &type) < 0) {
            fail_at(s, "expect %s NAME TYPE", tok[0]);
            return;
        }
        int r = dr_cache_lookup(s->cache, name, type, DR_CLASS_IN, wall_now(s), buf, sizeof(buf));
        if ((r > 0) != (tok[0][0] == 'i'))
            fail_at(s, "expected %s %s %s", tok[0], tok[1], tok[2]);
    } else {
        struct client *c = client_find(s, tok[0]);
        if (c == NULL) {
            fail_at(s, "no client query %s", tok[0]);
            return;
        }
        if (n < 2) {
            fail_at(s, "expect %s what?", tok[0]);
            return;
        }
        /* the text after "ID what " for a record */
        const char *rest = copy;
        for (int k = 0; k < 2; k++) {
            while (isspace((unsigned char)*rest))
                rest++;
            while (*rest && !isspace((unsigned char)*rest))
                rest++;
        }
        while (isspace((unsigned char)*rest))
            rest++;
        expect_client(s, c, tok + 1, n - 1, rest);
    }
}

/* wall YYYYMMDDHHMMSS (UTC) | +N[s|m|h|d]: sets the wall clock now, or moves it forward;
 * virtual time (timeouts, ticks) does not move. */
static void
step_wall(struct scn *s, const char *arg)
{
    char *end;
    if (arg[0] == '+') {
        long long v = strtoll(arg + 1, &end, 10);
        long long unit = *end == 'm' ? 60 : *end == 'h' ? 3600 : *end == 'd' ? 86400 : 1;
        if (v < 0 || end == arg + 1 || (*end && (strchr("smhd", *end) == NULL || end[1]))) {
            fail_at(s, "wall %s: +N[s|m|h|d]", arg);
            return;
        }
        s->wall_base += v * unit;
        return;
    }
    struct tm tm = {0};
    end = strptime(arg, "%Y%m%d%H%M%S", &tm);
    if (strlen(arg) != 14 || end == NULL || *end) {
        fail_at(s, "wall %s: YYYYMMDDHHMMSS or +N[s|m|h|d]", arg);
        return;
    }
    s->wall_base = (int64_t)timegm(&tm) - (int64_t)(s->now / 1000);
}

static void
step(struct scn *s, char *line)
{
    if (!s->ready && setup(s) < 0) {
        s->failures++;
        return;
    }
    if (s->conf == NULL || s->mesh == NULL)
        return;
    char copy[2048];
    snprintf(copy, sizeof(copy), "%s", line);
    char *tok[16];
    int n = split(copy, tok, 16);
    if (strcmp(tok[0], "query") == 0 && n >= 4) {
        uint16_t type;
        if (type_parse(tok[3], &type) < 0 || type == 0) {
            fail_at(s, "bad type %s", tok[3]);
            return;
        }
        /* then `x N` and/or the client's flags: do, cd, ad */
        int count = 1;
        bool many = false;
        char flags[16] = "";
        for (int i = 4; i < n; i++) {
            if (strcmp(tok[i], "x") == 0 && i + 1 < n) {
                count = atoi(tok[++i]);
                many = true;
            } else if (strcmp(tok[i], "do") == 0 || strcmp(tok[i], "cd") == 0 ||
                       strcmp(tok[i], "ad") == 0) {
                strncat(flags, tok[i], sizeof(flags) - strlen(flags) - 2);
                strcat(flags, " ");
            } else {
                fail_at(s, "query: unknown option %s", tok[i]);
                return;
            }
        }
        for (int i = 0; i < count && i < 10000; i++) {
            char id[64], name[DR_NAME_STRLEN];
            if (many) {
                snprintf(id, sizeof(id), "%s.%d", tok[1], i);
                /* NAME holds %d where the index goes */
                const char *pct = strstr(tok[2], "%d");
                if (pct == NULL) {
                    fail_at(s, "query ... x N: the name needs %%d");
                    return;
                }
                snprintf(name, sizeof(name), "%.*s%d%s", (int)(pct - tok[2]), tok[2], i, pct + 2);
            } else {
                snprintf(id, sizeof(id), "%s", tok[1]);
                snprintf(name, sizeof(name), "%s", tok[2]);
            }
            client_query(s, id, name, type, flags);
        }
    } else if (strcmp(tok[0], "tick") == 0 && n == 2) {
        uint64_t t = strtoull(tok[1], NULL, 10);
        if (t < s->now)
            fail_at(s, "tick %s: the clock is at %" PRIu64 " already", tok[1], s->now);
        else
            advance_to(s, t);
    } else if (strcmp(tok[0], "advance") == 0 && n == 2) {
        advance_to(s, s->now + strtoull(tok[1], NULL, 10));
    } else if (strcmp(tok[0], "wall") == 0 && n == 2) {
        step_wall(s, tok[1]);
    } else if (strcmp(tok[0], "run") == 0 && n == 1) {
        run_idle(s);
    } else if (strcmp(tok[0], "mark") == 0 && n == 1) {
        s->mark = s->nlog;
    } else if (strcmp(tok[0], "expect") == 0 && n >= 2) {
        char *rest = line + 6;
        step_expect(s, trim(rest));
    } else if (strcmp(tok[0], "dump") == 0) {
        log_dump(s);
    } else {
        fail_at(s, "unknown step: %s", line);
    }
}

/* ---- declarations ---- */

static int
mods_line(struct scn *s, struct mods *m, char **tok, int n, const char *rest, bool in_match)
{
    const char *k = tok[0];
    if (strcmp(k, "timeout") == 0) {
        m->timeout = true;
    } else if (strcmp(k, "udp-timeout") == 0) {
        m->udp_timeout = true;
    } else if (strcmp(k, "send-fail") == 0) {
        m->send_fail = true;
    } else if (strcmp(k, "neterr") == 0) {
        m->neterr = true;
    } else if (strcmp(k, "silent-until") == 0 && n == 2) {
        m->silent_until = strtoull(tok[1], NULL, 10);
    } else if (strcmp(k, "delay") == 0 && n == 2) {
        m->delay = atoll(tok[1]);
    } else if (strcmp(k, "tc") == 0) {
        m->tc = true;
    } else if (strcmp(k, "no-edns") == 0) {
        m->no_edns = true;
    } else if (strcmp(k, "noaa") == 0) {
        m->noaa = 1;
    } else if (strcmp(k, "rcode") == 0 && n == 2) {
        m->rcode = rcode_parse(tok[1]);
        if (m->rcode < 0)
            fail_at(s, "bad rcode %s", tok[1]);
    } else if (in_match && (strcmp(k, "answer") == 0 || strcmp(k, "authority") == 0 ||
                            strcmp(k, "additional") == 0 || strcmp(k, "empty") == 0)) {
        m->explicit_ = true;
        if (k[0] == 'e')
            return 0;
        int i = k[0] == 'a' && k[1] == 'n' ? 0 : k[1] == 'u' ? 1 : 2;
        ldns_rr *rr = rr_parse(rest);
        if (rr == NULL) {
            fail_at(s, "bad record: %s", rest);
            return 0;
        }
        if (m->sec[i] == NULL)
            m->sec[i] = ldns_rr_list_new();
        ldns_rr_list_push_rr(m->sec[i], rr);
    } else {
        return -1;
    }
    return 0;
}

static void
server_line(struct scn *s, struct server *sv, char *line)
{
    char copy[2048];
    snprintf(copy, sizeof(copy), "%s", line);
    char *tok[16];
    int n = split(copy, tok, 16);
    const char *rest = line + strlen(tok[0]);
    while (isspace((unsigned char)*rest))
        rest++;
    struct match *cur = sv->mtail != &sv->matches
                            ? (struct match *)((char *)sv->mtail - offsetof(struct match, next))
                            : NULL;
    if (strcmp(tok[0], "zone") == 0 && n == 2) {
        if (sv->nzones < MAX_ZONES && name_parse(tok[1], sv->zones[sv->nzones]) == 0)
            sv->nzones++;
        else
            fail_at(s, "bad zone %s", tok[1]);
    } else if (strcmp(tok[0], "match") == 0 && n == 3) {
        struct match *mt = calloc(1, sizeof(*mt));
        if (mt == NULL)
            abort();
        mods_init(&mt->m);
        if (strcmp(tok[1], "*") == 0)
            mt->name_kind = 1;
        else if (strncmp(tok[1], "*.", 2) == 0)
            mt->name_kind = 2;
        if (mt->name_kind != 1 && name_parse(mt->name_kind ? tok[1] + 2 : tok[1], mt->name) < 0)
            fail_at(s, "bad match name %s", tok[1]);
        if (type_parse(tok[2], &mt->type) < 0)
            fail_at(s, "bad match type %s", tok[2]);
        *sv->mtail = mt;
        sv->mtail = &mt->next;
    } else if (mods_line(s, cur ? &cur->m : &sv->m, tok, n, rest, cur != NULL) == 0) {
        /* a modifier */
    } else {
        ldns_rr *rr = rr_parse(line);
        if (rr == NULL) {
            fail_at(s, "not a keyword or record: %s", line);
            return;
        }
        ldns_rr_list_push_rr(sv->data, rr);
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && sv->nzones < MAX_ZONES)
            dr_dname_copy_lower(sv->zones[sv->nzones++], rdf_name(ldns_rr_owner(rr)));
    }
}

static struct server *
server_new(struct scn *s, char **tok, int n)
{
    /* A second block for an address adds to the first (e.g. after an include). */
    union dc_sockaddr a0;
    if (dc_addr_parse(tok[1], 53, &a0) == 0) {
        struct server *old = server_at(s, &a0);
        if (old)
            return old;
    }
    struct server *sv = calloc(1, sizeof(*sv));
    if (sv == NULL)
        abort();
    sv->data = ldns_rr_list_new();
    mods_init(&sv->m);
    sv->mtail = &sv->matches;
    for (int i = 1; i < n && sv->naddrs < MAX_ADDRS; i++) {
        if (dc_addr_parse(tok[i], 53, &sv->addrs[sv->naddrs]) < 0)
            fail_at(s, "bad server address %s", tok[i]);
        else
            sv->naddrs++;
    }
    snprintf(sv->label, sizeof(sv->label), "%s", n > 1 ? tok[1] : "?");
    *s->stail = sv;
    s->stail = &sv->next;
    return sv;
}

static uint64_t
seed_of(const char *file)
{
    const char *b = strrchr(file, '/');
    b = b ? b + 1 : file;
    uint64_t h = 1469598103934665603ull;
    for (; *b; b++)
        h = (h ^ (uint8_t)*b) * 1099511628211ull;
    return h;
}

enum mode { TOP, CONFIG, HINTS, SERVER };

struct reader {
    enum mode mode;
    struct server *sv;
};

static void parse_file(struct scn *s, struct reader *r, const char *path, int depth);

/* A configuration line; a relative trust-anchor-file is taken from the directory of the file
 * that names it (tests/replay), not the working directory. */
static void
config_line(struct scn *s, const char *line, const char *path)
{
    static const char key[] = "trust-anchor-file";
    const char *v = line + sizeof(key) - 1;
    if (strncmp(line, key, sizeof(key) - 1) == 0 && (isspace((unsigned char)*v) || *v == '=')) {
        while (isspace((unsigned char)*v) || *v == '=')
            v++;
        if (*v && *v != '/' && *v != '"') {
            const char *sl = strrchr(path, '/');
            char buf[4096 + 512];
            snprintf(buf, sizeof(buf), "%s = %.*s%s", key, sl ? (int)(sl - path + 1) : 0, path, v);
            append(&s->conf_text, &s->conf_len, buf);
            return;
        }
    }
    append(&s->conf_text, &s->conf_len, line);
}

static void
parse_line(struct scn *s, struct reader *r, char *line, const char *path, int depth)
{
    char *tok[16];
    char first[64];
    snprintf(first, sizeof(first), "%s", line);
    split(first, tok, 1);
    if (r->mode != TOP && strcmp(tok[0], "end") == 0) {
        r->mode = TOP;
        return;
    }
    switch (r->mode) {
    case CONFIG:
        config_line(s, line, path);
        return;
    case HINTS:
        append(&s->hints_text, &s->hints_len, line);
        return;
    case SERVER:
        server_line(s, r->sv, line);
        return;
    case TOP:
        break;
    }
    char copy[2048];
    snprintf(copy, sizeof(copy), "%s", line);
    int n = split(copy, tok, 16);
    if (strcmp(tok[0], "config") == 0 && n == 1) {
        r->mode = CONFIG;
    } else if (strcmp(tok[0], "hints") == 0 && n == 1) {
        r->mode = HINTS;
    } else if (strcmp(tok[0], "server") == 0 && n >= 2) {
        if (s->ready)
            fail_at(s, "servers must come before the first step");
        r->sv = server_new(s, tok, n);
        r->mode = SERVER;
    } else if (strcmp(tok[0], "include") == 0 && n == 2) {
        /* relative to the including file's directory */
        char inc[4096 + 512];
        const char *sl = strrchr(path, '/');
        snprintf(inc, sizeof(inc), "%.*s%s", sl ? (int)(sl - path + 1) : 0, path, tok[1]);
        parse_file(s, r, inc, depth + 1);
    } else if (strcmp(tok[0], "seed") == 0 && n == 2) {
        s->seed = strtoull(tok[1], NULL, 10);
    } else if (strcmp(tok[0], "scenario") == 0) {
        /* a title, for readers */
    } else {
        step(s, line);
    }
}

static void
parse_file(struct scn *s, struct reader *r, const char *path, int depth)
{
    FILE *f = depth < 4 ? fopen(path, "r") : NULL;
    if (f == NULL) {
        fail_at(s, "%s: %s", path, depth < 4 ? strerror(errno) : "includes nested too deep");
        return;
    }
    const char *outer = s->file;
    int outer_line = s->line;
    s->file = path;
    s->line = 0;
    char raw[4096];
    while (fgets(raw, sizeof(raw), f)) {
        s->line++;
        char *line = trim(raw);
        if (*line == '#' || *line == ';' || *line == '\0')
            continue;
        parse_line(s, r, line, path, depth);
    }
    fclose(f);
    if (depth > 0 && r->mode != TOP)
        fail_at(s, "a block without its end");
    s->file = outer;
    s->line = outer_line;
}

static int
run_file(const char *path)
{
    struct scn *s = calloc(1, sizeof(*s));
    if (s == NULL)
        abort();
    s->file = path;
    s->stail = &s->servers;
    s->seed = seed_of(path);
    s->wall_base = WALL_BASE;
    struct reader r = {TOP, NULL};
    parse_file(s, &r, path, 0);
    s->file = path;
    if (r.mode != TOP)
        fail_at(s, "a block without its end");
    if (!s->ready)
        fail_at(s, "no steps");
    teardown(s);
    int failed = s->failures;
    free(s);
    fprintf(stderr, "%s %s\n", failed ? "FAIL" : "ok  ", path);
    return failed ? 1 : 0;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int
main(int argc, char **argv)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    dc_log_set_level(getenv("REPLAY_DEBUG") ? DC_LOG_DEBUG : DC_LOG_ERROR);
    char *files[1024];
    int nfiles = 0;
    const char *dir = REPLAY_DIR;
    char srcdir[4096];
    if (dir == NULL) {
        /* __FILE__ is .../tests/unit/resolver/test_replay.c */
        snprintf(srcdir, sizeof(srcdir), "%s", __FILE__);
        for (int up = 0; up < 3; up++) {
            char *sl = strrchr(srcdir, '/');
            if (sl)
                *sl = '\0';
        }
        strncat(srcdir, "/replay", sizeof(srcdir) - strlen(srcdir) - 1);
        dir = srcdir;
    }
    if (argc == 2) {
        DIR *d = opendir(argv[1]);
        if (d) {
            closedir(d);
            dir = argv[1];
        } else {
            files[nfiles++] = strdup(argv[1]);
        }
    } else if (argc > 2) {
        for (int i = 1; i < argc && nfiles < 1024; i++)
            files[nfiles++] = strdup(argv[i]);
    }
    if (nfiles == 0) {
        DIR *d = opendir(dir);
        if (d == NULL) {
            fprintf(stderr, "%s: %s\n", dir, strerror(errno));
            return 1;
        }
        struct dirent *de;
        while ((de = readdir(d)) && nfiles < 1024) {
            size_t l = strlen(de->d_name);
            if (l > 4 && strcmp(de->d_name + l - 4, ".scn") == 0) {
                char p[4096 + 512];
                snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
                files[nfiles++] = strdup(p);
            }
        }
        closedir(d);
        qsort(files, (size_t)nfiles, sizeof(files[0]), cmp_str);
    }
    int failed = 0;
    for (int i = 0; i < nfiles; i++) {
        failed += run_file(files[i]);
        free(files[i]);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    fprintf(stderr, "replay: %d scenarios, %d failed, %.0f ms\n", nfiles, failed, ms);
    printf("%d passed, %d failed\n", nfiles - failed, failed);
    return failed || nfiles == 0 ? 1 : 0;
}
