#include "resolver/iter.h"

#include <errno.h>
#include <ldns/ldns.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "resolver/cache.h"
#include "resolver/deleg.h"
#include "resolver/infra.h"
#include "resolver/msg.h"
#include "resolver/scrub.h"
#include "resolver/upstream.h"
#include "resolver/worker.h"

#define RES_DEADLINE_MS 10000 /* a resolution never takes longer than this */
#define MAX_DEPTH       5     /* nested NS-name lookups */
#define TRIES_PER_ADDR  2

/* Where a resolution stands. */
enum res_state {
    RES_IDLE,     /* deciding the next step */
    RES_UPSTREAM, /* a query is out (r->up) */
    RES_SUB,      /* waiting for a sub-resolution of an NS name (r->sub) */
    RES_DONE,     /* finished; waiters called; freed when the timer has closed */
};

static const char *const state_names[] = {"idle", "upstream", "sub", "done"};

struct dr_res {
    struct dr_worker *wk;
    struct dr_res *hnext;              /* in-flight bucket chain */
    struct dr_res *all_next, *all_prev;
    struct dr_waiter *waiters;
    struct dr_waiter as_waiter;        /* how this resolution waits on a sub-resolution */
    struct dr_res *sub;                /* the sub-resolution waited on */
    struct dr_res *parent;             /* who started this one as a sub (loop checks) */
    int depth;
    enum res_state state;
    uint64_t id;                       /* for logs */

    uint8_t qname[DR_NAME_MAX];        /* the question, lower case */
    uint16_t qtype, qclass;
    uint8_t cur[DR_NAME_MAX];          /* the name being resolved now (after CNAMEs) */
    int cnames;
    ldns_rr_list *chain;               /* CNAMEs followed so far, for the reply */

    bool have_deleg;
    struct dr_deleg deleg;             /* the zone cut being asked */
    uint8_t tries[DR_DELEG_MAX_NS][DR_DELEG_MAX_ADDRS];
    uint8_t ns_state[DR_DELEG_MAX_NS]; /* 0: address lookup not tried, 1: tried */
    int qmin_labels;                   /* labels of the next minimised name; 0: off */
    int sent;                          /* upstream queries sent */

    struct dr_upstream *up;
    int up_ns, up_addr;
    bool up_tcp, up_edns, up_minimised;
    uint8_t sent_name[DR_NAME_MAX];
    uint16_t sent_type;
    uint8_t query[DR_NAME_MAX + 64];
    size_t qlen;

    uv_timer_t deadline;
};

static uint64_t next_res_id;

static void step(struct dr_res *r);
static void finish(struct dr_res *r, int rcode, ldns_rr_list *answer, ldns_rr_list *authority);

static void
name_str(const uint8_t *name, char *buf, size_t size)
{
    if (dr_dname_to_str(name, buf, size) < 0)
        snprintf(buf, size, "?");
}

/* ---- the in-flight table ---- */

static size_t
key_hash(const uint8_t *qname, uint16_t qtype, uint16_t qclass)
{
    uint64_t h = 1469598103934665603ull ^ qtype ^ ((uint64_t)qclass << 16);
    for (size_t i = 0, n = dr_dname_len(qname); i < n; i++)
        h = (h ^ qname[i]) * 1099511628211ull;
    return (size_t)(h ^ (h >> 29));
}

static struct dr_res **
inflight_slot(struct dr_worker *wk, const uint8_t *qname, uint16_t qtype, uint16_t qclass)
{
    size_t b = key_hash(qname, qtype, qclass) & (wk->inflight_buckets - 1);
    struct dr_res **p = &wk->inflight[b];
    while (*p && !((*p)->qtype == qtype && (*p)->qclass == qclass &&
                   dr_dname_equal((*p)->qname, qname)))
        p = &(*p)->hnext;
    return p;
}

static void
inflight_remove(struct dr_res *r)
{
    struct dr_res **p = inflight_slot(r->wk, r->qname, r->qtype, r->qclass);
    if (*p == r) {
        *p = r->hnext;
        r->wk->inflight_count--;
    }
    r->hnext = NULL;
}

int
dr_iter_init(struct dr_worker *wk)
{
    wk->inflight_buckets = 4096;
    wk->inflight = calloc(wk->inflight_buckets, sizeof(*wk->inflight));
    wk->inflight_count = 0;
    wk->all_res = NULL;
    return wk->inflight ? 0 : -ENOMEM;
}

void
dr_iter_deinit(struct dr_worker *wk)
{
    free(wk->inflight);
    wk->inflight = NULL;
}

/* ---- life of a resolution ---- */

static void
on_res_closed(uv_handle_t *h)
{
    struct dr_res *r = h->data;
    ldns_rr_list_deep_free(r->chain);
    free(r);
}

static void
on_deadline(uv_timer_t *t)
{
    struct dr_res *r = t->data;
    char q[DR_NAME_STRLEN];
    name_str(r->qname, q, sizeof(q));
    dc_log(DC_LOG_INFO, "resolve_deadline", "res=%" PRIu64 " qname=%s qtype=%u state=%s", r->id,
           q, r->qtype, state_names[r->state]);
    finish(r, DR_RCODE_SERVFAIL, NULL, NULL);
}

static void sub_done(struct dr_waiter *w, const uint8_t *reply, size_t len);

static struct dr_res *
res_new(struct dr_worker *wk, const uint8_t *qname, uint16_t qtype, uint16_t qclass)
{
    struct dr_res *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->chain = ldns_rr_list_new();
    if (r->chain == NULL || uv_timer_init(wk->loop, &r->deadline) < 0) {
        ldns_rr_list_free(r->chain);
        free(r);
        return NULL;
    }
    r->deadline.data = r;
    r->wk = wk;
    r->id = ++next_res_id;
    dr_dname_copy_lower(r->qname, qname);
    memcpy(r->cur, r->qname, dr_dname_len(r->qname));
    r->qtype = qtype;
    r->qclass = qclass;
    r->as_waiter.done = sub_done;
    uv_timer_start(&r->deadline, on_deadline, RES_DEADLINE_MS, 0);
    r->all_next = wk->all_res;
    if (wk->all_res)
        wk->all_res->all_prev = r;
    wk->all_res = r;
    return r;
}

static void
unwait_sub(struct dr_res *r)
{
    if (r->sub == NULL)
        return;
    struct dr_waiter **p = &r->sub->waiters;
    while (*p && *p != &r->as_waiter)
        p = &(*p)->next;
    if (*p)
        *p = r->as_waiter.next;
    r->sub = NULL;
}

/* Builds the reply, caches it, hands it to every waiter and frees the resolution. Takes
 * ownership of answer and authority (either may be NULL). */
static void
finish(struct dr_res *r, int rcode, ldns_rr_list *answer, ldns_rr_list *authority)
{
    if (r->state == RES_DONE) {
        ldns_rr_list_deep_free(answer);
        ldns_rr_list_deep_free(authority);
        return;
    }
    r->state = RES_DONE;
    struct dr_worker *wk = r->wk;
    inflight_remove(r);
    if (r->all_prev)
        r->all_prev->all_next = r->all_next;
    else
        wk->all_res = r->all_next;
    if (r->all_next)
        r->all_next->all_prev = r->all_prev;
    dr_upstream_cancel(r->up);
    r->up = NULL;
    unwait_sub(r);
    uv_timer_stop(&r->deadline);

    uint8_t *wire = NULL;
    size_t len = 0;
    ldns_pkt *p = ldns_pkt_new();
    ldns_rdf *qn = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, dr_dname_len(r->qname), r->qname);
    ldns_rr *q = ldns_rr_new();
    if (p && qn && q) {
        ldns_rr_set_question(q, true);
        ldns_rr_set_owner(q, qn);
        qn = NULL;
        ldns_rr_set_type(q, r->qtype);
        ldns_rr_set_class(q, r->qclass);
        ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, q);
        q = NULL;
        ldns_pkt_set_qr(p, true);
        ldns_pkt_set_ra(p, true);
        ldns_pkt_set_rcode(p, (uint8_t)rcode);
        if (rcode != DR_RCODE_SERVFAIL) {
            for (size_t i = 0; i < ldns_rr_list_rr_count(r->chain); i++)
                ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER,
                                 ldns_rr_clone(ldns_rr_list_rr(r->chain, i)));
            for (size_t i = 0; answer && i < ldns_rr_list_rr_count(answer); i++)
                ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER,
                                 ldns_rr_clone(ldns_rr_list_rr(answer, i)));
            for (size_t i = 0; authority && i < ldns_rr_list_rr_count(authority); i++)
                ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY,
                                 ldns_rr_clone(ldns_rr_list_rr(authority, i)));
        }
        if (ldns_pkt2wire(&wire, p, &len) != LDNS_STATUS_OK) {
            wire = NULL;
            len = 0;
        }
    }
    ldns_rdf_deep_free(qn);
    ldns_rr_free(q);
    ldns_pkt_free(p);
    ldns_rr_list_deep_free(answer);
    ldns_rr_list_deep_free(authority);

    uint8_t fallback[DR_HEADER_LEN + DR_NAME_MAX + 4];
    if (wire == NULL) {
        /* Out of memory building the reply: a bare SERVFAIL still answers the clients. */
        memset(fallback, 0, DR_HEADER_LEN);
        dr_put16(fallback + 2, DR_FLAG_QR | DR_FLAG_RA | DR_RCODE_SERVFAIL);
        dr_put16(fallback + 4, 1);
        size_t n = dr_dname_len(r->qname);
        memcpy(fallback + DR_HEADER_LEN, r->qname, n);
        dr_put16(fallback + DR_HEADER_LEN + n, r->qtype);
        dr_put16(fallback + DR_HEADER_LEN + n + 2, r->qclass);
        len = DR_HEADER_LEN + n + 4;
    } else if (rcode == DR_RCODE_NOERROR || rcode == DR_RCODE_NXDOMAIN) {
        dr_cache_store(wk->sh->cache, r->qname, r->qtype, r->qclass, wire, len, dr_now());
    }
    char qs[DR_NAME_STRLEN];
    if (dc_log_enabled(DC_LOG_DEBUG)) {
        name_str(r->qname, qs, sizeof(qs));
        dc_log(DC_LOG_DEBUG, "resolve_done", "res=%" PRIu64 " qname=%s qtype=%u rcode=%d sent=%d",
               r->id, qs, r->qtype, rcode, r->sent);
    }
    /* Waiters may start new resolutions; this one is out of the table already. */
    struct dr_waiter *w = r->waiters;
    r->waiters = NULL;
    while (w) {
        struct dr_waiter *next = w->next;
        w->next = NULL;
        w->done(w, wire ? wire : fallback, len);
        w = next;
    }
    free(wire);
    uv_close((uv_handle_t *)&r->deadline, on_res_closed);
}

static void
fail(struct dr_res *r, const char *why)
{
    if (dc_log_enabled(DC_LOG_DEBUG)) {
        char qs[DR_NAME_STRLEN], zs[DR_NAME_STRLEN];
        name_str(r->cur, qs, sizeof(qs));
        name_str(r->deleg.zone, zs, sizeof(zs));
        dc_log(DC_LOG_DEBUG, "resolve_fail", "res=%" PRIu64 " qname=%s zone=%s why=%s", r->id,
               qs, zs, why);
    }
    finish(r, DR_RCODE_SERVFAIL, NULL, NULL);
}

int
dr_iter_resolve(struct dr_worker *wk, const uint8_t *qname, uint16_t qtype, uint16_t qclass,
                struct dr_waiter *w)
{
    struct dr_res **slot = inflight_slot(wk, qname, qtype, qclass);
    if (*slot) {
        w->next = (*slot)->waiters;
        (*slot)->waiters = w;
        dc_stats_inc(wk->stats, DR_STAT_INFLIGHT_JOINS);
        DC_LOG_DEBUG("inflight_join", "res=%" PRIu64, (*slot)->id);
        return 0;
    }
    struct dr_res *r = res_new(wk, qname, qtype, qclass);
    if (r == NULL)
        return -ENOMEM;
    r->hnext = NULL;
    *slot = r;
    wk->inflight_count++;
    w->next = NULL;
    r->waiters = w;
    step(r);
    return 0;
}

void
dr_iter_abort_all(struct dr_worker *wk)
{
    /* finish() unlinks each resolution; waiters may start no new ones while stopping. */
    for (int guard = 0; wk->all_res && guard < 1000000; guard++)
        finish(wk->all_res, DR_RCODE_SERVFAIL, NULL, NULL);
}

/* ---- zone cuts ---- */

static bool
addr_usable(struct dr_worker *wk, const union dc_sockaddr *a)
{
    const struct dr_conf *c = wk->conf;
    if (!c->query_loopback && dc_addr_is_loopback(a))
        return false;
    for (size_t i = 0; i < c->outgoing.n; i++)
        if (c->outgoing.v[i].sa.sa_family == a->sa.sa_family)
            return true;
    return false;
}

/* Adds addresses for NS names from cached answers (glueless names looked up before). */
static void
fill_from_cache(struct dr_res *r, struct dr_deleg_ns *ns)
{
    static const uint16_t types[] = {DR_TYPE_A, DR_TYPE_AAAA};
    uint8_t buf[4096];
    for (size_t t = 0; t < 2; t++) {
        int n = dr_cache_lookup(r->wk->sh->cache, ns->name, types[t], DR_CLASS_IN, dr_now(), buf,
                                sizeof(buf));
        if (n <= 0)
            continue;
        ldns_pkt *p = NULL;
        if (ldns_wire2pkt(&p, buf, (size_t)n) != LDNS_STATUS_OK)
            continue;
        ldns_rr_list *an = ldns_pkt_answer(p);
        for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
            union dc_sockaddr sa;
            if (dr_scrub_address(ldns_rr_list_rr(an, i), &sa))
                dr_deleg_add_addr(ns, &sa);
        }
        ldns_pkt_free(p);
    }
}

static void start_priming(struct dr_worker *wk);

static void
load_deleg(struct dr_res *r)
{
    struct dr_worker *wk = r->wk;
    int64_t now = dr_now();
    /* DS questions start above the name (the parent holds DS), as Unbound's do. */
    if (dr_deleg_find_for(wk->sh->deleg, r->cur, r->qtype, now, &r->deleg) < 0) {
        r->deleg = wk->sh->hints;
        start_priming(wk);
    }
    r->have_deleg = true;
    memset(r->tries, 0, sizeof(r->tries));
    memset(r->ns_state, 0, sizeof(r->ns_state));
    for (unsigned i = 0; i < r->deleg.nns; i++)
        if (r->deleg.ns[i].naddrs == 0)
            fill_from_cache(r, &r->deleg.ns[i]);
    int zl = dr_dname_labels(r->deleg.zone);
    r->qmin_labels = wk->conf->qname_minimisation && zl + 1 < dr_dname_labels(r->cur)
                         ? zl + 1
                         : 0;
    if (dc_log_enabled(DC_LOG_DEBUG)) {
        char qs[DR_NAME_STRLEN], zs[DR_NAME_STRLEN];
        name_str(r->cur, qs, sizeof(qs));
        name_str(r->deleg.zone, zs, sizeof(zs));
        dc_log(DC_LOG_DEBUG, "resolve_zone", "res=%" PRIu64 " qname=%s zone=%s servers=%u",
               r->id, qs, zs, r->deleg.nns);
    }
}

/* ---- priming ---- */

static void
prime_done(struct dr_waiter *w, const uint8_t *reply, size_t len)
{
    struct dr_worker *wk = (struct dr_worker *)((char *)w - offsetof(struct dr_worker, prime));
    (void)reply;
    (void)len;
    wk->priming = false;
}

/* Starts a resolution of ". NS" on this worker unless one runs; its answer installs the
 * root's cut (see handle_reply). */
static void
start_priming(struct dr_worker *wk)
{
    if (wk->priming || wk->stopping)
        return;
    wk->priming = true;
    wk->prime.done = prime_done;
    static const uint8_t root[1] = {0};
    DC_LOG_DEBUG("prime_start", "worker=%u", wk->id);
    if (dr_iter_resolve(wk, root, DR_TYPE_NS, DR_CLASS_IN, &wk->prime) < 0)
        wk->priming = false;
}

void
dr_iter_prime(struct dr_worker *wk)
{
    start_priming(wk);
}

/* ---- sending ---- */

static uint32_t
rnd32(void *arg)
{
    return dr_worker_random(arg);
}

static size_t
build_query(struct dr_res *r, bool edns)
{
    uint8_t *q = r->query;
    uint16_t id = (uint16_t)dr_worker_random(r->wk);
    memset(q, 0, DR_HEADER_LEN);
    dr_put16(q, id);
    dr_put16(q + 4, 1);
    dr_put16(q + 10, edns ? 1 : 0);
    size_t n = dr_dname_len(r->sent_name);
    memcpy(q + DR_HEADER_LEN, r->sent_name, n);
    dr_dname_randomize_case(q + DR_HEADER_LEN, rnd32, r->wk);
    size_t off = DR_HEADER_LEN + n;
    dr_put16(q + off, r->sent_type);
    dr_put16(q + off + 2, r->qclass);
    off += 4;
    if (edns) {
        q[off] = 0;
        dr_put16(q + off + 1, DR_TYPE_OPT);
        dr_put16(q + off + 3, (uint16_t)r->wk->conf->edns_buffer_size);
        dr_put32(q + off + 5, 0);
        dr_put16(q + off + 9, 0);
        off += DR_OPT_LEN;
    }
    return off;
}

static void on_upstream(void *arg, enum dr_upstream_status st, const uint8_t *reply, size_t len,
                        uint32_t rtt_ms);

static int
send_to(struct dr_res *r, int ns, int ai, bool tcp)
{
    struct dr_worker *wk = r->wk;
    const union dc_sockaddr *server = &r->deleg.ns[ns].addrs[ai];
    const union dc_sockaddr *src = NULL;
    for (size_t i = 0; i < wk->conf->outgoing.n; i++)
        if (wk->conf->outgoing.v[i].sa.sa_family == server->sa.sa_family) {
            src = &wk->conf->outgoing.v[i];
            break;
        }
    if (src == NULL)
        return -EAFNOSUPPORT;
    struct dr_infra_info info;
    dr_infra_get(&wk->infra, server, uv_now(wk->loop),
                 (uint32_t)wk->conf->upstream_timeout_ms, &info);
    r->up_edns = !info.no_edns;
    r->qlen = build_query(r, r->up_edns);
    r->up_ns = ns;
    r->up_addr = ai;
    r->up_tcp = tcp;
    r->sent++;
    r->tries[ns][ai]++;
    uint32_t timeout = info.rto_ms < 100 ? 100 : info.rto_ms;
    if (tcp && timeout < 1000)
        timeout = 1000; /* a handshake first */
    dc_stats_inc(wk->stats, tcp ? DR_STAT_UPSTREAM_TCP : DR_STAT_UPSTREAM_UDP);
    if (dc_log_enabled(DC_LOG_DEBUG)) {
        char qs[DR_NAME_STRLEN], zs[DR_NAME_STRLEN], as[DC_ADDR_STRLEN];
        name_str(r->sent_name, qs, sizeof(qs));
        name_str(r->deleg.zone, zs, sizeof(zs));
        dc_addr_format(server, false, as, sizeof(as));
        dc_log(DC_LOG_DEBUG, "upstream_query",
               "res=%" PRIu64 " zone=%s server=%s qname=%s qtype=%u transport=%s edns=%d "
               "timeout_ms=%u",
               r->id, zs, as, qs, r->sent_type, tcp ? "tcp" : "udp", r->up_edns, timeout);
    }
    int rc = dr_upstream_send(wk->loop, server, src, r->query, r->qlen, tcp, timeout, on_upstream,
                              r, &r->up);
    if (rc < 0) {
        r->up = NULL;
        return rc;
    }
    r->state = RES_UPSTREAM;
    return 0;
}

/* Picks the server to ask next: the lowest smoothed RTT among usable addresses not yet
 * tried TRIES_PER_ADDR times, dead servers last. Returns false when none is left. */
static bool
pick_server(struct dr_res *r, int *ns_out, int *addr_out)
{
    struct dr_worker *wk = r->wk;
    uint64_t best = UINT64_MAX;
    uint64_t now = uv_now(wk->loop);
    for (unsigned i = 0; i < r->deleg.nns; i++) {
        for (unsigned j = 0; j < r->deleg.ns[i].naddrs; j++) {
            const union dc_sockaddr *a = &r->deleg.ns[i].addrs[j];
            if (r->tries[i][j] >= TRIES_PER_ADDR || !addr_usable(wk, a))
                continue;
            struct dr_infra_info info;
            dr_infra_get(&wk->infra, a, now, (uint32_t)wk->conf->upstream_timeout_ms, &info);
            uint64_t score = (uint64_t)info.srtt_ms * 1024 + (dr_worker_random(wk) & 1023);
            score += (uint64_t)r->tries[i][j] << 40; /* untried ones first */
            if (info.dead)
                score += (uint64_t)1 << 50;
            if (score < best) {
                best = score;
                *ns_out = (int)i;
                *addr_out = (int)j;
            }
        }
    }
    return best != UINT64_MAX;
}

static bool
ancestor_resolves(struct dr_res *r, const uint8_t *name)
{
    for (struct dr_res *a = r; a; a = a->parent)
        if (dr_dname_equal(a->cur, name) || dr_dname_equal(a->qname, name))
            return true;
    return false;
}

/* Looks up the address of an NS name that came without glue. Returns true when a
 * sub-resolution was started (or joined). */
static bool
start_ns_lookup(struct dr_res *r)
{
    struct dr_worker *wk = r->wk;
    if (r->depth >= MAX_DEPTH)
        return false;
    for (unsigned i = 0; i < r->deleg.nns; i++) {
        struct dr_deleg_ns *ns = &r->deleg.ns[i];
        if (ns->naddrs > 0 || r->ns_state[i])
            continue;
        r->ns_state[i] = 1;
        /* An NS inside the zone it serves needs glue; without it there is no way in. */
        if (dr_dname_is_sub(ns->name, r->deleg.zone) && r->deleg.zone[0] != 0)
            continue;
        if (ancestor_resolves(r, ns->name))
            continue; /* would wait for itself: a delegation loop */
        uint16_t type = DR_TYPE_A;
        bool v4 = false;
        for (size_t k = 0; k < wk->conf->outgoing.n; k++)
            v4 |= wk->conf->outgoing.v[k].sa.sa_family == AF_INET;
        if (!v4)
            type = DR_TYPE_AAAA;
        struct dr_res **slot = inflight_slot(wk, ns->name, type, DR_CLASS_IN);
        if (*slot) {
            /* Joining a resolution that waits on us would deadlock until the deadline. */
            bool cycle = false;
            for (struct dr_res *a = *slot; a && !cycle; a = a->parent)
                cycle = a == r;
            if (cycle)
                continue;
        }
        r->state = RES_SUB;
        r->as_waiter.next = NULL;
        if (*slot == NULL) {
            struct dr_res *s = res_new(wk, ns->name, type, DR_CLASS_IN);
            if (s == NULL) {
                r->state = RES_IDLE;
                return false;
            }
            s->parent = r;
            s->depth = r->depth + 1;
            *slot = s;
            wk->inflight_count++;
            s->waiters = &r->as_waiter;
            r->sub = s;
            if (dc_log_enabled(DC_LOG_DEBUG)) {
                char ns_s[DR_NAME_STRLEN];
                name_str(ns->name, ns_s, sizeof(ns_s));
                dc_log(DC_LOG_DEBUG, "ns_lookup", "res=%" PRIu64 " sub=%" PRIu64 " ns=%s", r->id,
                       s->id, ns_s);
            }
            step(s);
        } else {
            r->as_waiter.next = (*slot)->waiters;
            (*slot)->waiters = &r->as_waiter;
            r->sub = *slot;
        }
        return true;
    }
    return false;
}

static void
sub_done(struct dr_waiter *w, const uint8_t *reply, size_t len)
{
    struct dr_res *r = (struct dr_res *)((char *)w - offsetof(struct dr_res, as_waiter));
    (void)reply;
    (void)len;
    r->sub = NULL;
    if (r->state != RES_SUB)
        return;
    r->state = RES_IDLE;
    /* The answer is in the cache now (if it was cacheable): take the addresses from there,
     * the same way a later resolution would. */
    for (unsigned i = 0; i < r->deleg.nns; i++)
        if (r->deleg.ns[i].naddrs == 0 && r->ns_state[i])
            fill_from_cache(r, &r->deleg.ns[i]);
    step(r);
}

/* Decides and starts the next action. */
static void
step(struct dr_res *r)
{
    struct dr_worker *wk = r->wk;
    if (r->state == RES_DONE)
        return;
    r->state = RES_IDLE;
    if (r->sent >= wk->conf->max_upstream_queries) {
        fail(r, "query_budget");
        return;
    }
    if (!r->have_deleg)
        load_deleg(r);
    for (int guard = 0; guard < 64; guard++) {
        int ns, ai;
        if (pick_server(r, &ns, &ai)) {
            /* What to ask: the next minimised name (RFC 9156: type A for intermediate
             * names, as Unbound does), or the full question. */
            int labels = dr_dname_labels(r->cur);
            if (r->qmin_labels > 0 && r->qmin_labels < labels) {
                const uint8_t *n = dr_dname_strip(r->cur, labels - r->qmin_labels);
                memcpy(r->sent_name, n, dr_dname_len(n));
                r->sent_type = DR_TYPE_A;
                r->up_minimised = true;
            } else {
                memcpy(r->sent_name, r->cur, dr_dname_len(r->cur));
                r->sent_type = r->qtype;
                r->up_minimised = false;
            }
            if (send_to(r, ns, ai, false) == 0)
                return;
            r->tries[ns][ai] = TRIES_PER_ADDR;
            continue;
        }
        if (start_ns_lookup(r))
            return;
        break;
    }
    fail(r, "no_server_left");
}

/* ---- replies ---- */

static uint32_t
clamp_ttl(struct dr_worker *wk, uint32_t ttl)
{
    const struct dr_conf *c = wk->conf;
    uint32_t lo = (uint32_t)(c->cache_min_ttl_ms / 1000), hi = (uint32_t)(c->cache_max_ttl_ms / 1000);
    return ttl < lo ? lo : ttl > hi ? hi : ttl;
}

/* Builds a zone cut for zone from the NS records owned by it in `section` and the address
 * records in the additional section that are in bailiwick of `bailiwick`, and caches it.
 * NS names that came without an address keep those they have in `known` (may be NULL).
 * A root cut without a single address is not stored: nothing above the root could find
 * its servers' addresses, so it would strand every resolution until it expired. */
static void
install_cut(struct dr_res *r, ldns_pkt *p, ldns_rr_list *section, const uint8_t *zone,
            const uint8_t *bailiwick, const struct dr_deleg *known, struct dr_deleg *d)
{
    memset(d, 0, sizeof(*d));
    dr_dname_copy_lower(d->zone, zone);
    uint32_t ttl = UINT32_MAX;
    for (size_t i = 0; i < ldns_rr_list_rr_count(section); i++) {
        ldns_rr *rr = ldns_rr_list_rr(section, i);
        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NS || !dr_scrub_owner_is(rr, zone))
            continue;
        const uint8_t *nsname = dr_scrub_name(ldns_rr_rdf(rr, 0));
        if (nsname == NULL)
            continue;
        dr_deleg_add_ns(d, nsname);
        if (ldns_rr_ttl(rr) < ttl)
            ttl = ldns_rr_ttl(rr);
    }
    ldns_rr_list *ad = ldns_pkt_additional(p);
    for (size_t i = 0; i < ldns_rr_list_rr_count(ad); i++) {
        ldns_rr *rr = ldns_rr_list_rr(ad, i);
        union dc_sockaddr sa;
        if (!dr_scrub_address(rr, &sa) || !dr_scrub_owner_under(rr, bailiwick))
            continue;
        for (unsigned j = 0; j < d->nns; j++)
            if (dr_scrub_owner_is(rr, d->ns[j].name))
                dr_deleg_add_addr(&d->ns[j], &sa);
    }
    if (dr_deleg_merge_addrs(d, known) == 0 && d->zone[0] == 0)
        return;
    if (d->nns > 0 && ttl != UINT32_MAX)
        dr_deleg_store(r->wk->sh->deleg, d, dr_now() + clamp_ttl(r->wk, ttl));
}

static void
follow_referral(struct dr_res *r, ldns_pkt *p, const uint8_t *zone)
{
    struct dr_deleg d;
    install_cut(r, p, ldns_pkt_authority(p), zone, r->deleg.zone, NULL, &d);
    if (d.nns == 0) {
        fail(r, "empty_referral");
        return;
    }
    if (dc_log_enabled(DC_LOG_DEBUG)) {
        char from[DR_NAME_STRLEN], to[DR_NAME_STRLEN];
        name_str(r->deleg.zone, from, sizeof(from));
        name_str(d.zone, to, sizeof(to));
        dc_log(DC_LOG_DEBUG, "referral", "res=%" PRIu64 " from=%s to=%s servers=%u", r->id, from,
               to, d.nns);
    }
    r->deleg = d;
    memset(r->tries, 0, sizeof(r->tries));
    memset(r->ns_state, 0, sizeof(r->ns_state));
    for (unsigned i = 0; i < r->deleg.nns; i++)
        if (r->deleg.ns[i].naddrs == 0)
            fill_from_cache(r, &r->deleg.ns[i]);
    int zl = dr_dname_labels(r->deleg.zone);
    r->qmin_labels = r->wk->conf->qname_minimisation && zl + 1 < dr_dname_labels(r->cur)
                         ? zl + 1
                         : 0;
    step(r);
}

/* The server could not help (lame, refused, broken reply): never ask it again for this
 * resolution. */
static void
server_useless(struct dr_res *r, const char *why)
{
    r->tries[r->up_ns][r->up_addr] = TRIES_PER_ADDR;
    dc_stats_inc(r->wk->stats, DR_STAT_UPSTREAM_ERRORS);
    if (dc_log_enabled(DC_LOG_DEBUG)) {
        char as[DC_ADDR_STRLEN];
        dc_addr_format(&r->deleg.ns[r->up_ns].addrs[r->up_addr], false, as, sizeof(as));
        dc_log(DC_LOG_DEBUG, "upstream_useless", "res=%" PRIu64 " server=%s why=%s", r->id, as,
               why);
    }
    step(r);
}

/* A CNAME moved the question to a new name: start over from the cache and the closest cut
 * of that name. */
static void
restart_at(struct dr_res *r, const uint8_t *target)
{
    dr_dname_copy_lower(r->cur, target);
    r->have_deleg = false;
    uint8_t buf[4096];
    int n = dr_cache_lookup(r->wk->sh->cache, r->cur, r->qtype, r->qclass, dr_now(), buf,
                            sizeof(buf));
    if (n > 0) {
        ldns_pkt *p = NULL;
        if (ldns_wire2pkt(&p, buf, (size_t)n) == LDNS_STATUS_OK) {
            ldns_rr_list *an = ldns_rr_list_clone(ldns_pkt_answer(p));
            ldns_rr_list *au = ldns_rr_list_clone(ldns_pkt_authority(p));
            int rcode = ldns_pkt_get_rcode(p);
            ldns_pkt_free(p);
            finish(r, rcode, an, au);
            return;
        }
    }
    step(r);
}

static void
handle_reply(struct dr_res *r, ldns_pkt *p)
{
    const uint8_t *zone = r->deleg.zone;
    int rcode = ldns_pkt_get_rcode(p);
    if (rcode != DR_RCODE_NOERROR && rcode != DR_RCODE_NXDOMAIN) {
        server_useless(r, rcode == DR_RCODE_REFUSED ? "refused" : "rcode");
        return;
    }
    const uint8_t *cut = dr_scrub_referral(p, zone, r->sent_name);
    ldns_rr_list *an = ldns_pkt_answer(p);

    if (r->up_minimised) {
        if (cut && ldns_rr_list_rr_count(an) == 0) {
            follow_referral(r, p, cut);
            return;
        }
        /* The server answered for the intermediate name: a step forward, not a failed try,
         * so it does not count against TRIES_PER_ADDR. Otherwise a zone with one server
         * runs out of tries after two minimised steps (a.b.wild.site1.test A asks
         * wild.site1.test, then b.wild.site1.test, then the question). Every step adds a
         * label or ends minimisation, and the query budget still bounds the total. */
        r->tries[r->up_ns][r->up_addr]--;
        if (rcode == DR_RCODE_NXDOMAIN) {
            /* Relaxed mode: a server that says an intermediate name does not exist might
             * be wrong about empty non-terminals; ask the full question instead. */
            r->qmin_labels = 0;
        } else {
            r->qmin_labels++;
        }
        step(r);
        return;
    }

    /* Priming: the root's own NS set (with glue) replaces the hints. An NS name the reply
     * gives no glue for keeps the addresses the hints have for it: RFC 8109 expects glue,
     * but a private root may not send it, and without any address the primed cut would
     * leave no way to reach the root (install_cut then keeps the hints in use). */
    if (r->qname[0] == 0 && r->qtype == DR_TYPE_NS && zone[0] == 0) {
        struct dr_deleg d;
        install_cut(r, p, an, zone, zone, &r->wk->sh->hints, &d);
    }

    /* Follow the answer section from the current name: the data asked for, or CNAMEs to
     * it, keeping only records inside the zone the server is authoritative for. */
    uint8_t name[DR_NAME_MAX];
    memcpy(name, r->cur, dr_dname_len(r->cur));
    for (int hops = 0; hops < 64; hops++) {
        if (!dr_dname_is_sub(name, zone))
            break;
        ldns_rr_list *data = dr_scrub_collect(an, name, (ldns_rr_type)r->qtype, r->qclass);
        if (data) {
            finish(r, DR_RCODE_NOERROR, data, NULL);
            return;
        }
        if (r->qtype == DR_TYPE_CNAME)
            break;
        ldns_rr_list *cn = dr_scrub_collect(an, name, LDNS_RR_TYPE_CNAME, r->qclass);
        if (cn == NULL)
            break;
        ldns_rr *c = ldns_rr_list_rr(cn, 0);
        const uint8_t *target = dr_scrub_name(ldns_rr_rdf(c, 0));
        if (target == NULL || ++r->cnames > r->wk->conf->max_cname_chain) {
            ldns_rr_list_deep_free(cn);
            fail(r, "cname_chain");
            return;
        }
        ldns_rr_list_push_rr(r->chain, ldns_rr_clone(c));
        memcpy(name, target, dr_dname_len(target));
        ldns_rr_list_deep_free(cn);
    }
    if (!dr_dname_equal(name, r->cur)) {
        /* CNAMEs led to a name without its data here. NXDOMAIN from this zone's server
         * for an in-zone target is final (RFC 6604: the rcode speaks of the last name);
         * anything else starts over at the target, through the cache and its own cut. */
        if (rcode == DR_RCODE_NXDOMAIN && dr_dname_is_sub(name, zone)) {
            dr_dname_copy_lower(r->cur, name);
            finish(r, DR_RCODE_NXDOMAIN, NULL, dr_scrub_negative_soa(p, zone, r->cur));
            return;
        }
        restart_at(r, name);
        return;
    }
    if (rcode == DR_RCODE_NXDOMAIN) {
        finish(r, DR_RCODE_NXDOMAIN, NULL, dr_scrub_negative_soa(p, zone, r->cur));
        return;
    }
    cut = dr_scrub_referral(p, zone, r->cur);
    if (cut && r->qtype == DR_TYPE_DS && dr_dname_equal(cut, r->cur)) {
        /* A referral to the zone whose DS we asked for: the parent should have answered
         * itself, and the child's answer would be about the wrong side of the cut. */
        server_useless(r, "ds_referral");
        return;
    }
    if (cut) {
        follow_referral(r, p, cut);
        return;
    }
    ldns_rr_list *soa = dr_scrub_negative_soa(p, zone, r->cur);
    if (soa || ldns_pkt_aa(p)) {
        finish(r, DR_RCODE_NOERROR, NULL, soa); /* NODATA */
        return;
    }
    server_useless(r, "lame");
}

static void
on_upstream(void *arg, enum dr_upstream_status st, const uint8_t *reply, size_t len,
            uint32_t rtt_ms)
{
    struct dr_res *r = arg;
    struct dr_worker *wk = r->wk;
    const union dc_sockaddr *server = &r->deleg.ns[r->up_ns].addrs[r->up_addr];
    r->up = NULL;
    r->state = RES_IDLE;
    if (st != DR_UPSTREAM_OK) {
        dr_infra_timeout(&wk->infra, server, uv_now(wk->loop));
        dc_stats_inc(wk->stats, st == DR_UPSTREAM_TIMEOUT ? DR_STAT_UPSTREAM_TIMEOUTS
                                                           : DR_STAT_UPSTREAM_ERRORS);
        if (dc_log_enabled(DC_LOG_DEBUG)) {
            char as[DC_ADDR_STRLEN];
            dc_addr_format(server, false, as, sizeof(as));
            dc_log(DC_LOG_DEBUG, "upstream_fail", "res=%" PRIu64 " server=%s status=%s", r->id,
                   as, st == DR_UPSTREAM_TIMEOUT ? "timeout" : "neterr");
        }
        step(r);
        return;
    }
    dr_infra_rtt(&wk->infra, server, rtt_ms);
    dr_worker_observe_rtt(wk, (uint64_t)rtt_ms * 1000);
    uint16_t flags = dr_get16(reply + 2);
    int rcode = DR_RCODE(flags);
    if ((rcode == DR_RCODE_FORMERR || rcode == DR_RCODE_NOTIMP) && r->up_edns) {
        /* RFC 6891 §7: a server that does not understand EDNS; ask again without. */
        dr_infra_set_no_edns(&wk->infra, server);
        r->tries[r->up_ns][r->up_addr]--;
        if (send_to(r, r->up_ns, r->up_addr, r->up_tcp) < 0)
            step(r);
        return;
    }
    if ((flags & DR_FLAG_TC) && !r->up_tcp) {
        r->tries[r->up_ns][r->up_addr]--;
        if (send_to(r, r->up_ns, r->up_addr, true) < 0)
            step(r);
        return;
    }
    ldns_pkt *p = NULL;
    if (ldns_wire2pkt(&p, reply, len) != LDNS_STATUS_OK) {
        server_useless(r, "malformed");
        return;
    }
    handle_reply(r, p);
    ldns_pkt_free(p);
}
