#include "resolver/mesh.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "resolver/aggressive.h"
#include "resolver/cache.h"
#include "resolver/inflight.h"
#include "resolver/msg.h"
#include "resolver/nsec3.h"
#include "resolver/reply.h"
#include "resolver/rrsig.h"
#include "resolver/val.h"

#define GUARD_ACTIONS 1024 /* actions carried out per event, a bound on our own loops */

struct dr_res {
    struct dr_mesh *mesh;
    struct dr_inflight_node node; /* in m->inflight while running */
    struct dr_res *older, *newer; /* m's list, in creation (= deadline) order */
    struct dr_waiter *waiters;
    struct dr_waiter as_waiter; /* how this resolution waits on its sub */
    struct dr_res *sub;         /* the sub-resolution waited on, or NULL */
    void *exchange;             /* the upstream exchange out, or NULL */
    uint64_t deadline_ms;
    bool validate;    /* validate the answer once the iterator is done */
    bool validating;  /* the iterator is done and val is in use */
    uint8_t sec, why; /* the validator's verdict */
    uint32_t sec_ttl; /* SECURE: the longest the answer may be kept */
    struct dr_iter it;
    struct dr_val val; /* not cleared by res_new: only used when validating */
};

struct dr_mesh {
    const struct dr_mesh_io *io;
    void *arg;
    struct dr_inflight inflight;
    struct dr_res *oldest, *newest;
    size_t count;   /* resolutions, sub-resolutions included */
    size_t waiting; /* waiters given to dr_mesh_resolve and not yet answered */
    uint64_t id_base, next_id;
    struct dr_waiter prime;
    bool priming, stopping;
    bool aborting;                             /* every action ends its resolution (shutdown) */
    struct dr_waiter *stale_head, *stale_tail; /* stale_ok waiters, by stale_at_ms */
    uint64_t bogus_log_ms; /* the second the bogus log lines below were counted in */
    int bogus_logged;
    uint8_t fetch[65535]; /* a cached DS or DNSKEY answer, read for the validator */
};

static void act_on(struct dr_mesh *m, struct dr_res *r, struct dr_iter_env *env,
                   struct dr_iter_action *a);
static void val_act_on(struct dr_mesh *m, struct dr_res *r, struct dr_iter_env *env,
                       struct dr_val_action *va);

struct dr_mesh *
dr_mesh_new(const struct dr_mesh_io *io, void *arg, uint64_t id_base)
{
    struct dr_mesh *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return NULL;
    if (dr_inflight_init(&m->inflight, 4096) < 0) {
        free(m);
        return NULL;
    }
    m->io = io;
    m->arg = arg;
    m->id_base = id_base;
    return m;
}

void
dr_mesh_free(struct dr_mesh *m)
{
    if (m == NULL)
        return;
    dr_inflight_deinit(&m->inflight);
    free(m);
}

size_t
dr_mesh_count(const struct dr_mesh *m)
{
    return m->count;
}

const struct dr_iter *
dr_mesh_iter(const struct dr_res *res)
{
    return &res->it;
}

static void sub_done(struct dr_waiter *w, const uint8_t *reply, size_t len);

static struct dr_res *
res_new(struct dr_mesh *m, const struct dr_iter_env *env, const uint8_t *qname, uint16_t qtype,
        uint16_t qclass, int depth, struct dr_budget *budget, bool validate)
{
    /* The iterator state is most of the object and dr_iter_init clears it: clear only the
     * mesh's own fields here (a miss costs one large memset, not two). */
    struct dr_res *r = malloc(sizeof(*r));
    if (r == NULL)
        return NULL;
    memset(r, 0, offsetof(struct dr_res, it));
    bool own = budget == NULL;
    if (own) {
        budget = calloc(1, sizeof(*budget));
        if (budget == NULL) {
            free(r);
            return NULL;
        }
        budget->max = (int)env->conf->max_upstream_queries;
    }
    if (dr_iter_init(&r->it, qname, qtype, qclass, depth, budget) < 0) {
        dr_iter_deinit(&r->it);
        if (own)
            free(budget);
        free(r);
        return NULL;
    }
    budget->refs++;
    r->mesh = m;
    r->validate = validate;
    r->it.id = m->id_base + ++m->next_id;
    r->as_waiter.done = sub_done;
    r->deadline_ms = env->now_ms + DR_MESH_DEADLINE_MS;
    r->node.qname = r->it.qname;
    r->node.qtype = qtype;
    r->node.qclass = qclass;
    dr_inflight_add(&m->inflight, &r->node);
    r->older = m->newest;
    if (m->newest)
        m->newest->newer = r;
    else
        m->oldest = r;
    m->newest = r;
    m->count++;
    return r;
}

/* Takes r out of the mesh's table and list and stops what it has running; the waiters are
 * still to be called. */
static void cancel_res(struct dr_mesh *m, struct dr_res *r);

static void
unlink_res(struct dr_mesh *m, struct dr_res *r)
{
    dr_inflight_remove(&m->inflight, &r->node);
    if (r->older)
        r->older->newer = r->newer;
    else
        m->oldest = r->newer;
    if (r->newer)
        r->newer->older = r->older;
    else
        m->newest = r->older;
    r->older = r->newer = NULL;
    m->count--;
    if (r->exchange) {
        m->io->cancel(m->arg, r->exchange);
        r->exchange = NULL;
    }
    /* Stop waiting on the sub; a sub that nobody waits for any more is cancelled (its
     * queries would only spend someone's budget). */
    struct dr_res *s = r->sub;
    r->sub = NULL;
    if (s) {
        struct dr_waiter **p = &s->waiters;
        while (*p && *p != &r->as_waiter)
            p = &(*p)->next;
        if (*p)
            *p = r->as_waiter.next;
        r->as_waiter.next = NULL;
        if (s->waiters == NULL)
            cancel_res(m, s);
    }
}

static void
res_free(struct dr_res *r)
{
    struct dr_budget *b = r->it.budget;
    if (r->validating)
        dr_val_deinit(&r->val);
    dr_iter_deinit(&r->it);
    if (b && --b->refs == 0)
        free(b);
    free(r);
}

static void
cancel_res(struct dr_mesh *m, struct dr_res *r)
{
    unlink_res(m, r);
    if (dc_log_enabled(DC_LOG_DEBUG))
        dc_log(DC_LOG_DEBUG, "resolve_cancel", "res=%" PRIu64, r->it.id);
    res_free(r);
}

/* Whether l holds a record only DO=1 clients get (RRSIG, NSEC, NSEC3). */
static bool
has_dnssec(const ldns_rr_list *l)
{
    for (size_t i = 0; l && i < ldns_rr_list_rr_count(l); i++)
        if (dr_msg_dnssec_type(ldns_rr_get_type(ldns_rr_list_rr(l, i))))
            return true;
    return false;
}

struct ttl_cap {
    uint8_t *msg;
    uint32_t cap;
};

static int
cap_rr(void *arg, int section, size_t owner_off, uint16_t type, uint16_t rclass, size_t ttl_off,
       size_t rdata_off, uint16_t rdlen)
{
    (void)section;
    (void)owner_off;
    (void)type;
    (void)rclass;
    (void)rdata_off;
    (void)rdlen;
    struct ttl_cap *c = arg;
    if (dr_get32(c->msg + ttl_off) > c->cap)
        dr_put32(c->msg + ttl_off, c->cap);
    return 0;
}

/* Lowers every TTL of the reply to cap: a SECURE answer is handed out for no longer than its
 * signatures stay valid (RFC 4035 §5.3.3), to the waiters as in the cache's copy. */
static void
cap_ttls(uint8_t *wire, size_t len, uint32_t cap)
{
    struct ttl_cap c = {wire, cap};
    if (wire != NULL)
        (void)dr_msg_walk(wire, len, cap_rr, &c);
}

/* ---- serve-expired: clients that may get a stale answer after a while ---- */

static void
stale_add(struct dr_mesh *m, struct dr_waiter *w, uint64_t now_ms)
{
    w->stale_at_ms = now_ms + w->stale_wait_ms;
    w->stale_queued = true;
    /* From the tail: the wait is one configured value, so this is nearly always the end. */
    struct dr_waiter *p = m->stale_tail;
    for (int guard = 0; p && p->stale_at_ms > w->stale_at_ms && guard < 64; guard++)
        p = p->stale_prev;
    w->stale_prev = p;
    w->stale_next = p ? p->stale_next : m->stale_head;
    if (w->stale_next)
        w->stale_next->stale_prev = w;
    else
        m->stale_tail = w;
    if (p)
        p->stale_next = w;
    else
        m->stale_head = w;
}

static void
stale_remove(struct dr_mesh *m, struct dr_waiter *w)
{
    if (!w->stale_queued)
        return;
    if (w->stale_prev)
        w->stale_prev->stale_next = w->stale_next;
    else
        m->stale_head = w->stale_next;
    if (w->stale_next)
        w->stale_next->stale_prev = w->stale_prev;
    else
        m->stale_tail = w->stale_prev;
    w->stale_prev = w->stale_next = NULL;
    w->stale_queued = false;
}

/* The stale_ok waiters whose wait is over leave their resolution (which goes on, for the
 * cache) and are called with no reply. */
static void
stale_tick(struct dr_mesh *m, uint64_t now_ms)
{
    for (int guard = 0; m->stale_head && m->stale_head->stale_at_ms <= now_ms && guard < 1000000;
         guard++) {
        struct dr_waiter *w = m->stale_head;
        stale_remove(m, w);
        struct dr_res *r = w->res;
        struct dr_waiter **p = &r->waiters;
        while (*p && *p != w)
            p = &(*p)->next;
        if (*p)
            *p = w->next;
        w->next = NULL;
        if (w->counted) {
            w->counted = false;
            m->waiting--;
        }
        w->sec = w->why = 0;
        w->done(w, NULL, 0);
    }
}

/* One line per bogus answer with its reason, at most 10 a second per worker. */
static void
log_bogus(struct dr_mesh *m, const struct dr_res *r, const struct dr_iter_env *env)
{
    uint64_t sec = env->now_ms / 1000;
    if (sec != m->bogus_log_ms) {
        m->bogus_log_ms = sec;
        m->bogus_logged = 0;
    }
    if (++m->bogus_logged > 10)
        return;
    char qs[DR_NAME_STRLEN], zs[DR_NAME_STRLEN];
    if (dr_dname_to_str(r->it.qname, qs, sizeof(qs)) < 0)
        qs[0] = '\0';
    if (dr_dname_to_str(r->val.zone, zs, sizeof(zs)) < 0)
        zs[0] = '\0';
    dc_log(DC_LOG_WARN, "dnssec_bogus", "qname=%s qtype=%u why=%s zone=%s ede=%d", qs, r->it.qtype,
           dr_why_names[r->why], zs, dr_val_ede(DR_VS_BOGUS, r->why));
}

/* A secure negative answer's NSEC records, for answering other names (RFC 8198). */
static void
keep_nsec(const struct dr_iter_env *env, const struct dr_iter *it)
{
    if (it->answer && ldns_rr_list_rr_count(it->answer) > 0)
        return;
    for (size_t i = 0; it->authority && i < ldns_rr_list_rr_count(it->authority); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(it->authority, i);
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA) {
            uint8_t zone[DR_NAME_MAX];
            dr_dname_copy_lower(zone, ldns_rdf_data(ldns_rr_owner(rr)));
            dr_aggr_store(env->aggr, zone, it->authority, env->now);
            return;
        }
    }
}

/* Ends r: builds its replies (plain, and for DO=1 clients when the data is signed), caches
 * them with their validation status, hands each waiter the one it asked for (a BOGUS
 * answer's data only to CD=1 waiters, SERVFAIL to the others), and frees r. */
static void
finish(struct dr_mesh *m, struct dr_res *r, const struct dr_iter_env *env)
{
    unlink_res(m, r);
    struct dr_iter *it = &r->it;
    int rcode = it->rcode;
    uint8_t *wire = NULL, *swire = NULL;
    size_t len = 0, slen = 0;
    uint8_t minimal[DR_REPLY_MIN_MAX];
    size_t minlen = 0;
    bool answered = rcode == DR_RCODE_NOERROR || rcode == DR_RCODE_NXDOMAIN;
    enum dr_val_status sec = r->validating && answered ? (enum dr_val_status)r->sec : DR_VS_NONE;
    bool signed_data =
        rcode != DR_RCODE_SERVFAIL &&
        (has_dnssec(it->chain) || has_dnssec(it->answer) || has_dnssec(it->authority));
    if (dr_reply_build(it->qname, it->qtype, it->qclass, rcode, it->chain, it->answer,
                       it->authority, false, &wire, &len) < 0 ||
        (signed_data && dr_reply_build(it->qname, it->qtype, it->qclass, rcode, it->chain,
                                       it->answer, it->authority, true, &swire, &slen) < 0)) {
        free(wire);
        wire = NULL;
        rcode = DR_RCODE_SERVFAIL; /* out of memory: a bare SERVFAIL still answers */
        sec = DR_VS_NONE;
    } else if (answered) {
        struct dr_cache_sec cs = {
            .status = (uint8_t)sec,
            .why = r->why,
            .max_life = sec == DR_VS_BOGUS ? env->val_bogus_ttl
                        : sec == DR_VS_SECURE && r->sec_ttl != UINT32_MAX
                            ? (r->sec_ttl ? r->sec_ttl : 1)
                            : 0,
            .stale_life = sec == DR_VS_BOGUS ? 0 : env->stale_life,
        };
        if (dr_cache_store_sec(env->cache, it->qname, it->qtype, it->qclass, wire, len, swire, slen,
                               env->now, &cs) == 0 &&
            m->io->stored)
            m->io->stored(m->arg, it->qname, it->qtype, it->qclass, wire, len, swire, slen, &cs);
        if (sec == DR_VS_SECURE && env->aggr && !it->from_aggr)
            keep_nsec(env, it);
    }
    if (wire != NULL && sec == DR_VS_SECURE && r->sec_ttl != UINT32_MAX) {
        cap_ttls(wire, len, r->sec_ttl);
        cap_ttls(swire, slen, r->sec_ttl);
    }
    if (wire == NULL || sec == DR_VS_BOGUS)
        minlen = dr_reply_minimal(it->qname, it->qtype, it->qclass, DR_RCODE_SERVFAIL, minimal);
    if (sec != DR_VS_NONE)
        m->io->count(m->arg, (enum dr_mesh_event)(DR_MESH_SECURE + (sec - DR_VS_SECURE)));
    if (sec == DR_VS_BOGUS)
        log_bogus(m, r, env);
    if (dc_log_enabled(DC_LOG_DEBUG)) {
        char qs[DR_NAME_STRLEN];
        if (dr_dname_to_str(it->qname, qs, sizeof(qs)) < 0)
            qs[0] = '\0';
        dc_log(DC_LOG_DEBUG, "resolve_done",
               "res=%" PRIu64 " qname=%s qtype=%u rcode=%d sent=%d why=%s dnssec=%s", it->id, qs,
               it->qtype, rcode, it->budget->sent, it->why ? it->why : "-",
               dr_val_status_names[sec]);
    }
    /* Waiters may start new resolutions or end others; r is out of every list already. */
    struct dr_waiter *w = r->waiters;
    r->waiters = NULL;
    for (int guard = 0; w && guard < 1000000; guard++) {
        struct dr_waiter *next = w->next;
        w->next = NULL;
        if (w->counted) {
            w->counted = false;
            m->waiting--;
        }
        stale_remove(m, w);
        w->sec = (uint8_t)sec;
        w->why = r->why;
        if (wire == NULL || (sec == DR_VS_BOGUS && !w->cd))
            w->done(w, minimal, minlen);
        else if (w->dnssec_ok && swire)
            w->done(w, swire, slen);
        else
            w->done(w, wire, len);
        w = next;
    }
    free(wire);
    free(swire);
    res_free(r);
}

/* ---- sub-resolutions ---- */

/* Whether r waiting on s would close a cycle: s (through the subs it waits on) already
 * waits on r. */
static bool
would_cycle(const struct dr_res *r, const struct dr_res *s)
{
    for (int guard = 0; s && guard < 64; guard++, s = s->sub)
        if (s == r)
            return true;
    return s != NULL;
}

/* Makes r wait on a resolution of (name, type): an NS name's address for the iterator, or a
 * DS or DNSKEY set for the validator (validate: the sub's answer is validated, and r gets
 * its DO=1 reply and status). Returns true when r now waits (and may already have been
 * resumed, or even freed: the caller must not touch r), false when the lookup cannot be
 * made. */
static bool
start_sub(struct dr_mesh *m, struct dr_res *r, const struct dr_iter_env *env, const uint8_t *name,
          uint16_t type, bool validate)
{
    r->as_waiter.dnssec_ok = validate;
    r->as_waiter.cd = true; /* a bogus answer's data, with its status: the caller decides */
    struct dr_inflight_node *n = dr_inflight_find(&m->inflight, name, type, DR_CLASS_IN);
    if (n) {
        struct dr_res *s = (struct dr_res *)((char *)n - offsetof(struct dr_res, node));
        if (would_cycle(r, s))
            return false;
        if (validate)
            s->validate = true;
        s->it.traced |= r->it.traced;
        r->as_waiter.next = s->waiters;
        s->waiters = &r->as_waiter;
        r->sub = s;
        m->io->count(m->arg, DR_MESH_JOINED);
        return true;
    }
    if (m->count >= (size_t)env->conf->queries_per_thread) {
        m->io->count(m->arg, DR_MESH_FULL);
        return false;
    }
    /* Validator fetches walk up the tree (a zone's DS, then its parent's keys): they do not
     * deepen the NS-lookup nesting the iterator bounds. */
    struct dr_res *s = res_new(m, env, name, type, DR_CLASS_IN,
                               validate ? r->it.depth : r->it.depth + 1, r->it.budget, validate);
    if (s == NULL)
        return false;
    s->waiters = &r->as_waiter;
    r->as_waiter.next = NULL;
    r->sub = s;
    s->it.traced = r->it.traced;
    if (dc_log_enabled(DC_LOG_DEBUG))
        dc_log(DC_LOG_DEBUG, "sub_start", "res=%" PRIu64 " sub=%" PRIu64 " qtype=%u", r->it.id,
               s->it.id, type);
    struct dr_iter_env senv = *env;
    struct dr_iter_action sa;
    dr_iter_start(&s->it, &senv, &sa);
    act_on(m, s, &senv, &sa);
    return true;
}

static void
val_env(const struct dr_iter_env *env, struct dr_val_env *ve)
{
    ve->anchors = env->dnssec ? env->anchors : NULL;
    ve->now = env->now;
    ve->skew = DR_RRSIG_SKEW;
    ve->nsec3_max_iter = DR_NSEC3_MAX_ITERATIONS;
    ve->keys = env->keys;
    ve->trust = env->trust;
}

static void
sub_done(struct dr_waiter *w, const uint8_t *reply, size_t len)
{
    struct dr_res *r = (struct dr_res *)((char *)w - offsetof(struct dr_res, as_waiter));
    struct dr_mesh *m = r->mesh;
    r->sub = NULL;
    struct dr_iter_env env;
    m->io->env(m->arg, &env);
    uint16_t rcode = len >= DR_HEADER_LEN ? DR_RCODE(dr_get16(reply + 2)) : DR_RCODE_SERVFAIL;
    bool failed = rcode != DR_RCODE_NOERROR && rcode != DR_RCODE_NXDOMAIN;
    if (r->validating) {
        struct dr_val_env ve;
        val_env(&env, &ve);
        struct dr_val_action va;
        dr_val_on_fetch(&r->val, &ve, failed ? DR_VS_NONE : (enum dr_val_status)w->sec,
                        (enum dr_why)w->why, failed ? NULL : reply, failed ? 0 : len, &va);
        val_act_on(m, r, &env, &va);
        return;
    }
    struct dr_iter_action a;
    dr_iter_on_sub(&r->it, &env, rcode == DR_RCODE_SERVFAIL ? NULL : reply, len, &a);
    act_on(m, r, &env, &a);
}

/* ---- priming ---- */

static void
prime_done(struct dr_waiter *w, const uint8_t *reply, size_t len)
{
    struct dr_mesh *m = (struct dr_mesh *)((char *)w - offsetof(struct dr_mesh, prime));
    (void)reply;
    (void)len;
    m->priming = false;
}

void
dr_mesh_prime(struct dr_mesh *m)
{
    if (m->priming || m->stopping)
        return;
    m->priming = true;
    m->prime.done = prime_done;
    static const uint8_t root[1] = {0};
    DC_LOG_DEBUG("prime_start", NULL);
    if (dr_mesh_resolve(m, root, DR_TYPE_NS, DR_CLASS_IN, &m->prime) < 0)
        m->priming = false;
}

void
dr_mesh_stop(struct dr_mesh *m)
{
    m->stopping = true;
}

/* ---- carrying out actions ---- */

/* Carries out a, and whatever follows at once, until r waits (on an exchange or a sub) or
 * has ended. r must not be touched by the caller afterwards. */
static void
act_on(struct dr_mesh *m, struct dr_res *r, struct dr_iter_env *env, struct dr_iter_action *a)
{
    for (int guard = 0; guard < GUARD_ACTIONS; guard++) {
        if (m->aborting && a->kind != DR_ITER_DONE)
            break;
        if (r->it.want_prime) {
            r->it.want_prime = false;
            dr_mesh_prime(m);
        }
        switch (a->kind) {
        case DR_ITER_SEND:
            r->exchange = m->io->send(m->arg, r, a);
            if (r->exchange)
                return;
            dr_iter_on_send_failed(&r->it, env, a);
            continue;
        case DR_ITER_SUB:
            if (start_sub(m, r, env, a->sub_name, a->sub_type, false))
                return;
            dr_iter_on_sub(&r->it, env, NULL, 0, a);
            continue;
        case DR_ITER_DONE:
            if (r->validate && env->dnssec &&
                (r->it.rcode == DR_RCODE_NOERROR || r->it.rcode == DR_RCODE_NXDOMAIN)) {
                struct dr_val_env ve;
                val_env(env, &ve);
                struct dr_val_action va;
                r->validating = true;
                if (dr_val_start(&r->val, &ve, r->it.qname, r->it.qtype, r->it.cur, r->it.rcode,
                                 r->it.chain, r->it.answer, r->it.authority, &va) < 0) {
                    r->it.rcode = DR_RCODE_SERVFAIL;
                    r->it.why = "nomem";
                    finish(m, r, env);
                    return;
                }
                val_act_on(m, r, env, &va);
                return;
            }
            finish(m, r, env);
            return;
        }
    }
    r->it.rcode = DR_RCODE_SERVFAIL;
    r->it.why = m->aborting ? "abort" : "action_guard";
    finish(m, r, env);
}

/* Carries out the validator's actions for r: each DS or DNSKEY set it asks for from the
 * cache (validated entries only), else from a sub-resolution, until it has a verdict. */
static void
val_act_on(struct dr_mesh *m, struct dr_res *r, struct dr_iter_env *env, struct dr_val_action *va)
{
    struct dr_val_env ve;
    val_env(env, &ve);
    for (int guard = 0; guard < GUARD_ACTIONS && !m->aborting; guard++) {
        if (va->kind == DR_VAL_DONE) {
            for (unsigned i = 0; i < r->val.key_hits; i++)
                m->io->count(m->arg, DR_MESH_KEY_CACHE_HIT);
            r->sec = (uint8_t)r->val.status;
            r->why = (uint8_t)r->val.why;
            r->sec_ttl = r->val.ttl;
            finish(m, r, env);
            return;
        }
        struct dr_cache_sec cs = {0};
        int n = dr_cache_lookup_sec(env->cache, va->name, va->type, DR_CLASS_IN, env->now, m->fetch,
                                    sizeof(m->fetch), &cs);
        if (n > 0) {
            dr_val_on_fetch(&r->val, &ve, (enum dr_val_status)cs.status, (enum dr_why)cs.why,
                            m->fetch, (size_t)n, va);
            continue;
        }
        if (start_sub(m, r, env, va->name, va->type, true))
            return;
        dr_val_on_fetch(&r->val, &ve, DR_VS_NONE, DR_WHY_NONE, NULL, 0, va);
    }
    r->it.rcode = DR_RCODE_SERVFAIL;
    r->it.why = m->aborting ? "abort" : "action_guard";
    finish(m, r, env);
}

int
dr_mesh_resolve(struct dr_mesh *m, const uint8_t *qname, uint16_t qtype, uint16_t qclass,
                struct dr_waiter *w)
{
    uint8_t lc[DR_NAME_MAX];
    dr_dname_copy_lower(lc, qname);
    w->stale_queued = false;
    w->stale_prev = w->stale_next = NULL;
    struct dr_iter_env env;
    m->io->env(m->arg, &env);
    /* Clients waiting count too, joined or not: identical questions to a slow zone would
     * otherwise pile up without bound behind one resolution (Unbound counts them so). */
    size_t limit = (size_t)env.conf->queries_per_thread;
    if (m->waiting >= limit) {
        m->io->count(m->arg, DR_MESH_FULL);
        return -EBUSY;
    }
    struct dr_inflight_node *n = dr_inflight_find(&m->inflight, lc, qtype, qclass);
    if (n) {
        struct dr_res *r = (struct dr_res *)((char *)n - offsetof(struct dr_res, node));
        w->next = r->waiters;
        r->waiters = w;
        r->validate = true; /* it may have been an NS-address lookup until now */
        w->counted = true;
        w->res = r;
        m->waiting++;
        r->it.traced |= w->traced;
        if (w->stale_ok)
            stale_add(m, w, env.now_ms);
        m->io->count(m->arg, DR_MESH_JOINED);
        DC_LOG_DEBUG("inflight_join", "res=%" PRIu64, r->it.id);
        return 0;
    }
    if (m->count >= limit) {
        m->io->count(m->arg, DR_MESH_FULL);
        return -EBUSY;
    }
    struct dr_res *r = res_new(m, &env, lc, qtype, qclass, 0, NULL, true);
    if (r == NULL)
        return -ENOMEM;
    w->next = NULL;
    w->counted = true;
    w->res = r;
    m->waiting++;
    r->waiters = w;
    r->it.traced = w->traced;
    if (w->stale_ok)
        stale_add(m, w, env.now_ms);
    struct dr_iter_action a;
    dr_iter_start(&r->it, &env, &a);
    act_on(m, r, &env, &a);
    return 0;
}

int
dr_mesh_prefetch(struct dr_mesh *m, const uint8_t *qname, uint16_t qtype, uint16_t qclass)
{
    uint8_t lc[DR_NAME_MAX];
    dr_dname_copy_lower(lc, qname);
    if (m->stopping || dr_inflight_find(&m->inflight, lc, qtype, qclass))
        return 0;
    struct dr_iter_env env;
    m->io->env(m->arg, &env);
    if (m->count >= (size_t)env.conf->queries_per_thread)
        return 0;
    struct dr_res *r = res_new(m, &env, lc, qtype, qclass, 0, NULL, true);
    if (r == NULL)
        return 0;
    struct dr_iter_action a;
    dr_iter_start(&r->it, &env, &a);
    act_on(m, r, &env, &a);
    return 1;
}

void
dr_mesh_upstream_done(struct dr_mesh *m, struct dr_res *r, enum dr_iter_outcome outcome,
                      const uint8_t *reply, size_t len, uint32_t rtt_ms)
{
    r->exchange = NULL;
    struct dr_iter_env env;
    m->io->env(m->arg, &env);
    struct dr_iter_action a;
    dr_iter_on_reply(&r->it, &env, outcome, reply, len, rtt_ms, &a);
    act_on(m, r, &env, &a);
}

void
dr_mesh_tick(struct dr_mesh *m, uint64_t now_ms)
{
    stale_tick(m, now_ms);
    struct dr_iter_env env;
    m->io->env(m->arg, &env);
    /* The list is in creation order, which is deadline order. Ending one may cancel (free)
     * its subs, which are newer: take the oldest again each time. */
    for (int guard = 0; m->oldest && m->oldest->deadline_ms <= now_ms && guard < 100000; guard++) {
        struct dr_res *r = m->oldest;
        if (dc_log_enabled(DC_LOG_DEBUG)) { /* per query: counted in stats, logged at debug */
            char q[DR_NAME_STRLEN];
            if (dr_dname_to_str(r->it.qname, q, sizeof(q)) < 0)
                q[0] = '\0';
            dc_log(DC_LOG_DEBUG, "resolve_deadline", "res=%" PRIu64 " qname=%s qtype=%u sent=%d",
                   r->it.id, q, r->it.qtype, r->it.budget->sent);
        }
        m->io->count(m->arg, DR_MESH_DEADLINE);
        r->it.rcode = DR_RCODE_SERVFAIL;
        r->it.why = "deadline";
        finish(m, r, &env);
    }
}

void
dr_mesh_abort_all(struct dr_mesh *m)
{
    m->stopping = true;
    m->aborting = true;
    struct dr_iter_env env;
    m->io->env(m->arg, &env);
    for (int guard = 0; m->oldest && guard < 1000000; guard++) {
        struct dr_res *r = m->oldest;
        r->it.rcode = DR_RCODE_SERVFAIL;
        r->it.why = "abort";
        finish(m, r, &env);
    }
}
