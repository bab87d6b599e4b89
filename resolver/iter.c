#include "resolver/aggressive.h"
#include "resolver/iter.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "common/log.h"
#include "resolver/cache.h"
#include "resolver/classify.h"
#include "resolver/msg.h"
#include "resolver/scrub.h"
#include "resolver/srvpolicy.h"

#define GUARD_STEPS  256 /* decisions per call, a bound on our own loops */
#define QMIN_ONE_LAB 4   /* minimised steps that add one label each; later ones add more */

static void step(struct dr_iter *it, const struct dr_iter_env *env, struct dr_iter_action *act);

static void
name_str(const uint8_t *name, char *buf, size_t size)
{
    if (dr_dname_to_str(name, buf, size) < 0)
        snprintf(buf, size, "?");
}

int
dr_iter_init(struct dr_iter *it, const uint8_t *qname, uint16_t qtype, uint16_t qclass, int depth,
             struct dr_budget *budget)
{
    memset(it, 0, sizeof(*it));
    dr_dname_copy_lower(it->qname, qname);
    memcpy(it->cur, it->qname, dr_dname_len(it->qname));
    it->qtype = qtype;
    it->qclass = qclass;
    it->depth = depth;
    it->budget = budget;
    it->chain = ldns_rr_list_new();
    return it->chain ? 0 : -ENOMEM;
}

void
dr_iter_deinit(struct dr_iter *it)
{
    ldns_rr_list_deep_free(it->chain);
    ldns_rr_list_deep_free(it->answer);
    ldns_rr_list_deep_free(it->authority);
    ldns_rr_list_deep_free(it->proofs);
    it->chain = it->answer = it->authority = it->proofs = NULL;
}

/* ---- ending ---- */

static void
done(struct dr_iter *it, struct dr_iter_action *act, int rcode, ldns_rr_list *answer,
     ldns_rr_list *authority)
{
    it->rcode = rcode;
    ldns_rr_list_deep_free(it->answer);
    ldns_rr_list_deep_free(it->authority);
    it->answer = answer;
    it->authority = authority;
    /* The proofs of wildcard-expanded chain links from earlier replies go with the answer's
     * own authority records (the validator needs them; DO=1 clients get them). */
    if (it->proofs && rcode != DR_RCODE_SERVFAIL) {
        if (it->authority == NULL)
            it->authority = ldns_rr_list_new();
        if (it->authority && ldns_rr_list_cat(it->authority, it->proofs)) {
            ldns_rr_list_free(it->proofs); /* the records moved */
            it->proofs = NULL;
        }
    }
    memset(act, 0, sizeof(*act));
    act->kind = DR_ITER_DONE;
}

static void
fail(struct dr_iter *it, struct dr_iter_action *act, const char *why)
{
    it->why = why;
    if (dc_log_enabled(DC_LOG_DEBUG)) {
        char qs[DR_NAME_STRLEN], zs[DR_NAME_STRLEN];
        name_str(it->cur, qs, sizeof(qs));
        name_str(it->deleg.zone, zs, sizeof(zs));
        dc_log(DC_LOG_DEBUG, "resolve_fail", "res=%" PRIu64 " qname=%s zone=%s why=%s", it->id, qs,
               zs, why);
    }
    done(it, act, DR_RCODE_SERVFAIL, NULL, NULL);
}

/* Moves the records of l (may be NULL; freed) to the end of the chain. */
static void
chain_append(struct dr_iter *it, ldns_rr_list *l)
{
    for (size_t i = 0; l && i < ldns_rr_list_rr_count(l); i++) {
        ldns_rr *c = ldns_rr_clone(ldns_rr_list_rr(l, i));
        if (c && !ldns_rr_list_push_rr(it->chain, c))
            ldns_rr_free(c);
    }
}

/* ---- zone cuts ---- */

static uint32_t
clamp_ttl(const struct dr_iter_env *env, uint32_t ttl)
{
    const struct dr_conf *c = env->conf;
    uint32_t lo = (uint32_t)(c->cache_min_ttl_ms / 1000),
             hi = (uint32_t)(c->cache_max_ttl_ms / 1000);
    return ttl < lo ? lo : ttl > hi ? hi : ttl;
}

/* The addresses a finished reply (ours: chain then data in the answer section) gives. */
static void
addrs_from_reply(const uint8_t *reply, size_t len, struct dr_deleg_ns *ns, bool *negative)
{
    ldns_pkt *p = NULL;
    *negative = false;
    if (reply == NULL || ldns_wire2pkt(&p, reply, len) != LDNS_STATUS_OK)
        return;
    int rcode = ldns_pkt_get_rcode(p);
    ldns_rr_list *an = ldns_pkt_answer(p);
    bool any = false;
    for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
        union dc_sockaddr sa;
        if (dr_scrub_address(ldns_rr_list_rr(an, i), &sa)) {
            dr_deleg_add_addr(ns, &sa);
            any = true;
        }
    }
    *negative = !any && (rcode == DR_RCODE_NXDOMAIN || rcode == DR_RCODE_NOERROR);
    ldns_pkt_free(p);
}

/* Looks the NS name's addresses up in the answer cache. Returns 1 when the cache knows
 * the name has no address of that type (NXDOMAIN / NODATA cached), else 0. */
static int
ns_from_cache(const struct dr_iter_env *env, struct dr_deleg_ns *ns, uint16_t type)
{
    uint8_t buf[4096];
    int n = dr_cache_lookup(env->cache, ns->name, type, DR_CLASS_IN, env->now, buf, sizeof(buf));
    if (n <= 0)
        return 0;
    bool negative;
    addrs_from_reply(buf, (size_t)n, ns, &negative);
    return negative ? 1 : 0;
}

static uint16_t
addr_type(const struct dr_iter_env *env)
{
    for (size_t k = 0; k < env->conf->outgoing.n; k++)
        if (env->conf->outgoing.v[k].sa.sa_family == AF_INET)
            return DR_TYPE_A;
    return DR_TYPE_AAAA;
}

static void
set_qmin(struct dr_iter *it, const struct dr_iter_env *env)
{
    int zl = dr_dname_labels(it->deleg.zone);
    it->qmin_labels = env->conf->qname_minimisation && !it->forwarding &&
                              it->qmin_steps < DR_ITER_MAX_QMIN && zl + 1 < dr_dname_labels(it->cur)
                          ? zl + 1
                          : 0;
}

/* Starts work on a new cut: nothing tried, addresses of glueless NS names from the cache. */
static void
enter_cut(struct dr_iter *it, const struct dr_iter_env *env)
{
    it->have_deleg = true;
    it->conf_cut = it->deleg.configured;
    memset(it->tries, 0, sizeof(it->tries));
    memset(it->ns_looked, 0, sizeof(it->ns_looked));
    it->glueless = 0;
    uint16_t type = addr_type(env);
    for (unsigned i = 0; i < it->deleg.nns; i++)
        if (it->deleg.ns[i].naddrs == 0)
            ns_from_cache(env, &it->deleg.ns[i], type);
    set_qmin(it, env);
    if (dc_log_enabled(DC_LOG_DEBUG)) {
        char qs[DR_NAME_STRLEN], zs[DR_NAME_STRLEN];
        name_str(it->cur, qs, sizeof(qs));
        name_str(it->deleg.zone, zs, sizeof(zs));
        dc_log(DC_LOG_DEBUG, "resolve_zone", "res=%" PRIu64 " qname=%s zone=%s servers=%u%s",
               it->id, qs, zs, it->deleg.nns, it->forwarding ? " forward=yes" : "");
    }
}

/* The configured zone (forward or stub) closest to name, or NULL. */
static const struct dr_conf_fwd_zone *
closest_conf_zone(const struct dr_conf_fwd_zone *v, size_t n, const uint8_t *name)
{
    const struct dr_conf_fwd_zone *best = NULL;
    for (size_t i = 0; i < n; i++)
        if (dr_dname_is_sub(name, v[i].wire) &&
            (best == NULL || dr_dname_labels(v[i].wire) > dr_dname_labels(best->wire)))
            best = &v[i];
    return best;
}

/* A cut made of configured servers (forward-addr, stub-addr): one NS entry per address,
 * named after the zone, each keeping its configured port. */
static void
conf_cut(struct dr_deleg *d, const struct dr_conf_fwd_zone *z)
{
    memset(d, 0, sizeof(*d));
    memcpy(d->zone, z->wire, dr_dname_len(z->wire));
    d->configured = true;
    for (size_t i = 0; i < z->addrs.n && d->nns < DR_DELEG_MAX_NS; i++) {
        struct dr_deleg_ns *ns = &d->ns[d->nns++];
        memcpy(ns->name, z->wire, dr_dname_len(z->wire));
        ns->addrs[0] = z->addrs.v[i];
        ns->naddrs = 1;
    }
}

/* Where to start for it->cur: a forward zone (unless its forwarders failed), else the
 * closest of a cached cut and a stub zone, else the root hints (and priming). DS questions
 * look one label up (the parent holds DS). */
static void
load_deleg(struct dr_iter *it, const struct dr_iter_env *env)
{
    const struct dr_conf *c = env->conf;
    const uint8_t *name = it->cur;
    if (it->qtype == DR_TYPE_DS && name[0] != 0)
        name = dr_dname_strip(name, 1);
    const struct dr_conf_fwd_zone *fz =
        closest_conf_zone(c->forward_zones, c->nforward_zones, name);
    const struct dr_conf_fwd_zone *sz = closest_conf_zone(c->stub_zones, c->nstub_zones, name);
    if (fz && sz && dr_dname_labels(sz->wire) > dr_dname_labels(fz->wire))
        fz = NULL; /* a stub zone below the forward zone takes that part */
    it->forwarding = false;
    if (fz && !(it->forward_failed && dr_dname_equal(fz->wire, it->forward_failed_zone))) {
        conf_cut(&it->deleg, fz);
        it->forwarding = true;
        it->forward_first = fz->first;
    } else if (dr_deleg_find_for(env->deleg, it->cur, it->qtype, env->now, &it->deleg) == 0) {
        if (sz && dr_dname_labels(sz->wire) >= dr_dname_labels(it->deleg.zone))
            conf_cut(&it->deleg, sz);
    } else if (sz) {
        conf_cut(&it->deleg, sz);
    } else {
        it->deleg = *env->hints;
        it->want_prime = true;
    }
    enter_cut(it, env);
}

/* Stores the cut a referral or a priming answer gives, with its TTL (clamped). */
static void
store_cut(const struct dr_iter_env *env, const struct dr_deleg *d, uint32_t ttl)
{
    if (d->nns > 0 && ttl != UINT32_MAX)
        dr_deleg_store(env->deleg, d, env->now + clamp_ttl(env, ttl));
}

/* ---- sending ---- */

static uint32_t
rnd32(void *arg)
{
    const struct dr_iter_env *env = arg;
    return env->random(env->random_arg);
}

static void
send_to(struct dr_iter *it, const struct dr_iter_env *env, int ns, int ai, bool tcp,
        struct dr_iter_action *act)
{
    const union dc_sockaddr *server = &it->deleg.ns[ns].addrs[ai];
    struct dr_infra_info info;
    dr_infra_get(env->infra, server, env->now_ms, (uint32_t)env->conf->upstream_timeout_ms, &info);
    it->up_edns = !info.no_edns;
    it->up_ns = ns;
    it->up_addr = ai;
    it->up_tcp = tcp;
    it->budget->sent++;
    it->tries[ns][ai]++;
    it->qlen =
        dr_msg_build_query(it->query, (uint16_t)env->random(env->random_arg),
                           it->forwarding ? DR_FLAG_RD : 0, it->sent_name, it->sent_type,
                           it->qclass, it->up_edns ? (uint16_t)env->conf->edns_buffer_size : 0);
    dr_dname_randomize_case(it->query + DR_HEADER_LEN, rnd32, (void *)env);
    uint32_t timeout = info.rto_ms < 100 ? 100 : info.rto_ms;
    if (tcp && timeout < 1000)
        timeout = 1000; /* a handshake first */
    if (dc_log_enabled(DC_LOG_DEBUG)) {
        char qs[DR_NAME_STRLEN], zs[DR_NAME_STRLEN], as[DC_ADDR_STRLEN];
        name_str(it->sent_name, qs, sizeof(qs));
        name_str(it->deleg.zone, zs, sizeof(zs));
        dc_addr_format(server, true, as, sizeof(as));
        dc_log(DC_LOG_DEBUG, "upstream_query",
               "res=%" PRIu64 " zone=%s server=%s qname=%s qtype=%u transport=%s edns=%d "
               "timeout_ms=%u",
               it->id, zs, as, qs, it->sent_type, tcp ? "tcp" : "udp", it->up_edns, timeout);
    }
    memset(act, 0, sizeof(*act));
    act->kind = DR_ITER_SEND;
    act->server = server;
    act->query = it->query;
    act->qlen = it->qlen;
    act->tcp = tcp;
    act->timeout_ms = timeout;
}

/* Picks the server to ask next: the lowest smoothed RTT among allowed addresses not yet
 * tried DR_ITER_TRIES times, dead servers last and only when dead_ok. Returns false when
 * none is left. */
static bool
pick_server(struct dr_iter *it, const struct dr_iter_env *env, bool dead_ok, int *ns_out,
            int *addr_out)
{
    uint64_t best = UINT64_MAX;
    for (unsigned i = 0; i < it->deleg.nns; i++) {
        for (unsigned j = 0; j < it->deleg.ns[i].naddrs; j++) {
            const union dc_sockaddr *a = &it->deleg.ns[i].addrs[j];
            if (it->tries[i][j] >= DR_ITER_TRIES ||
                !dr_server_allowed(env->conf, a, it->conf_cut))
                continue;
            struct dr_infra_info info;
            dr_infra_get(env->infra, a, env->now_ms, (uint32_t)env->conf->upstream_timeout_ms,
                         &info);
            if (info.dead && !dead_ok)
                continue;
            uint64_t score = (uint64_t)info.srtt_ms * 1024 + (env->random(env->random_arg) & 1023);
            score += (uint64_t)it->tries[i][j] << 40; /* untried ones first */
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

/* Chooses an NS name without an address to look up. Cached answers count: a name the cache
 * knows has no address uses up one of the DR_ITER_MAX_GLUELESS lookups of this cut without
 * a query, so a referral naming many bogus NS names costs the servers it points at a
 * handful of queries per cut, once (NXNSAttack, CVE-2020-12662). Returns true with a SUB
 * in act, or false when there is nothing (more) to look up. */
static bool
start_ns_lookup(struct dr_iter *it, const struct dr_iter_env *env, struct dr_iter_action *act)
{
    if (it->depth >= DR_ITER_MAX_DEPTH || it->forwarding)
        return false;
    uint16_t type = addr_type(env);
    for (unsigned i = 0; i < it->deleg.nns && it->glueless < DR_ITER_MAX_GLUELESS; i++) {
        struct dr_deleg_ns *ns = &it->deleg.ns[i];
        if (ns->naddrs > 0 || it->ns_looked[i])
            continue;
        it->ns_looked[i] = 1;
        /* An NS inside the zone it serves needs glue; without it there is no way in. */
        if (dr_dname_is_sub(ns->name, it->deleg.zone) && it->deleg.zone[0] != 0)
            continue;
        if (dr_dname_equal(ns->name, it->qname) || dr_dname_equal(ns->name, it->cur))
            continue; /* would wait for itself */
        it->glueless++;
        if (ns_from_cache(env, ns, type) == 1)
            continue;
        if (ns->naddrs > 0)
            return false; /* the cache had it after all: pick it */
        it->sub_ns = (int)i;
        memset(act, 0, sizeof(*act));
        act->kind = DR_ITER_SUB;
        act->sub_name = ns->name;
        act->sub_type = type;
        if (dc_log_enabled(DC_LOG_DEBUG)) {
            char ns_s[DR_NAME_STRLEN];
            name_str(ns->name, ns_s, sizeof(ns_s));
            dc_log(DC_LOG_DEBUG, "ns_lookup", "res=%" PRIu64 " ns=%s n=%d", it->id, ns_s,
                   it->glueless);
        }
        return true;
    }
    return false;
}

/* A cached DNAME above the current name: follow it (RFC 6672), as a server would have.
 * Returns 0 when there was none, 1 when the name moved, -1 when that ended the resolution
 * (act is set). */
static int
follow_cached_dname(struct dr_iter *it, const struct dr_iter_env *env, struct dr_iter_action *act)
{
    uint8_t owner[DR_NAME_MAX], target[DR_NAME_MAX], next[DR_NAME_MAX];
    uint32_t ttl;
    /* The cut table keeps a DNAME's target, not its signature: when answers are validated,
     * the zone's servers are asked (they send the DNAME with its RRSIG). */
    if (it->qtype == DR_TYPE_DNAME || env->validating ||
        dr_deleg_find_dname(env->deleg, it->cur, env->now, owner, target, &ttl) < 0)
        return 0;
    if (++it->links > env->conf->max_cname_chain) {
        fail(it, act, "cname_chain");
        return -1;
    }
    int n = dr_classify_dname_subst(it->cur, owner, target, next);
    ldns_rr *dn = dr_classify_alias_rr(LDNS_RR_TYPE_DNAME, owner, target, it->qclass, ttl);
    if (dn && !ldns_rr_list_push_rr(it->chain, dn))
        ldns_rr_free(dn);
    if (n < 0) {
        done(it, act, 6 /* YXDOMAIN */, NULL, NULL);
        return -1;
    }
    ldns_rr *cn = dr_classify_alias_rr(LDNS_RR_TYPE_CNAME, it->cur, next, it->qclass, ttl);
    if (cn && !ldns_rr_list_push_rr(it->chain, cn))
        ldns_rr_free(cn);
    memcpy(it->cur, next, (size_t)n);
    it->have_deleg = false;
    return 1;
}

/* Answers the current name from the answer cache when it can (after a CNAME or DNAME moved
 * the question). Returns true when that finished the resolution. */
static bool
answer_from_cache(struct dr_iter *it, const struct dr_iter_env *env, struct dr_iter_action *act)
{
    uint8_t buf[4096];
    int n = dr_cache_lookup_signed(env->cache, it->cur, it->qtype, it->qclass, env->now, buf,
                                   sizeof(buf));
    if (n <= 0)
        return false;
    ldns_pkt *p = NULL;
    if (ldns_wire2pkt(&p, buf, (size_t)n) != LDNS_STATUS_OK)
        return false;
    ldns_rr_list *an = ldns_rr_list_clone(ldns_pkt_answer(p));
    ldns_rr_list *au = ldns_rr_list_clone(ldns_pkt_authority(p));
    int rcode = ldns_pkt_get_rcode(p);
    ldns_pkt_free(p);
    done(it, act, rcode, an, au);
    return true;
}

/* Answers the current name NXDOMAIN or NODATA from validated NSEC records kept for its
 * zone (RFC 8198); the proof goes through validation like any answer. True when done. */
static bool
answer_from_nsec(struct dr_iter *it, const struct dr_iter_env *env, struct dr_iter_action *act)
{
    int rcode;
    ldns_rr_list *au = NULL;
    if (env->aggr == NULL || it->qtype == DR_TYPE_ANY ||
        dr_aggr_prove(env->aggr, it->cur, it->qtype, env->now, &rcode, &au) != 1)
        return false;
    it->from_aggr = true;
    done(it, act, rcode, NULL, au);
    return true;
}

/* Decides the next action. */
static void
step(struct dr_iter *it, const struct dr_iter_env *env, struct dr_iter_action *act)
{
    for (int guard = 0; guard < GUARD_STEPS; guard++) {
        if (it->budget->sent >= it->budget->max) {
            fail(it, act, "query_budget");
            return;
        }
        if (!it->have_deleg) {
            int moved = follow_cached_dname(it, env, act);
            if (moved < 0)
                return;
            if (moved > 0)
                continue; /* the new name may sit under another DNAME */
            if (it->links > 0 && answer_from_cache(it, env, act))
                return;
            if (answer_from_nsec(it, env, act))
                return;
            load_deleg(it, env);
        }
        /* Live servers first, then NS names without an address (looked up), and servers
         * known dead only when nothing else is left: otherwise a zone whose glued servers
         * are all dead is never reached through its glueless NS. */
        int ns, ai;
        bool found = pick_server(it, env, false, &ns, &ai);
        if (!found && start_ns_lookup(it, env, act))
            return;
        if (!found)
            found = pick_server(it, env, true, &ns, &ai);
        if (found) {
            /* What to ask: the next minimised name (RFC 9156: type A for intermediate
             * names, as Unbound does), or the full question. */
            int labels = dr_dname_labels(it->cur);
            if (it->qmin_labels > 0 && it->qmin_labels < labels) {
                const uint8_t *n = dr_dname_strip(it->cur, labels - it->qmin_labels);
                memcpy(it->sent_name, n, dr_dname_len(n));
                it->sent_type = DR_TYPE_A;
                it->up_minimised = true;
                it->qmin_steps++;
            } else {
                memcpy(it->sent_name, it->cur, dr_dname_len(it->cur));
                it->sent_type = it->qtype;
                it->up_minimised = false;
            }
            send_to(it, env, ns, ai, false, act);
            return;
        }
        if (it->forwarding && it->forward_first) {
            it->forward_failed = true; /* for this zone: a chain may lead to another */
            memcpy(it->forward_failed_zone, it->deleg.zone, dr_dname_len(it->deleg.zone));
            it->have_deleg = false;
            continue;
        }
        fail(it, act, it->forwarding ? "forwarders_failed" : "no_server_left");
        return;
    }
    fail(it, act, "step_guard");
}

void
dr_iter_start(struct dr_iter *it, const struct dr_iter_env *env, struct dr_iter_action *act)
{
    step(it, env, act);
}

void
dr_iter_on_send_failed(struct dr_iter *it, const struct dr_iter_env *env,
                       struct dr_iter_action *act)
{
    it->tries[it->up_ns][it->up_addr] = DR_ITER_TRIES;
    step(it, env, act);
}

void
dr_iter_on_sub(struct dr_iter *it, const struct dr_iter_env *env, const uint8_t *reply, size_t len,
               struct dr_iter_action *act)
{
    if (reply && it->sub_ns >= 0 && (unsigned)it->sub_ns < it->deleg.nns) {
        bool negative;
        addrs_from_reply(reply, len, &it->deleg.ns[it->sub_ns], &negative);
    }
    step(it, env, act);
}

/* ---- replies ---- */

/* The server could not help (lame, refused, broken reply): never ask it again for this
 * cut. */
static void
server_useless(struct dr_iter *it, const struct dr_iter_env *env, const char *why,
               struct dr_iter_action *act)
{
    it->tries[it->up_ns][it->up_addr] = DR_ITER_TRIES;
    if (dc_log_enabled(DC_LOG_DEBUG)) {
        char as[DC_ADDR_STRLEN];
        dc_addr_format(&it->deleg.ns[it->up_ns].addrs[it->up_addr], true, as, sizeof(as));
        dc_log(DC_LOG_DEBUG, "upstream_useless", "res=%" PRIu64 " server=%s why=%s", it->id, as,
               why);
    }
    step(it, env, act);
}

static void
follow_referral(struct dr_iter *it, const struct dr_iter_env *env, ldns_pkt *p, const uint8_t *cut,
                struct dr_iter_action *act)
{
    /* A referral whose NS records are all unusable is this server's fault: try another. */
    bool usable = false;
    ldns_rr_list *au = ldns_pkt_authority(p);
    for (size_t i = 0; i < ldns_rr_list_rr_count(au) && !usable; i++) {
        ldns_rr *rr = ldns_rr_list_rr(au, i);
        usable = ldns_rr_get_type(rr) == LDNS_RR_TYPE_NS && dr_scrub_owner_is(rr, cut) &&
                 dr_scrub_name(ldns_rr_rdf(rr, 0)) != NULL;
    }
    if (!usable) {
        server_useless(it, env, "empty_referral", act);
        return;
    }
    /* The new cut is built in place (it is large); the old zone is the glue's bailiwick. */
    uint8_t from[DR_NAME_MAX];
    memcpy(from, it->deleg.zone, dr_dname_len(it->deleg.zone));
    uint32_t ttl;
    dr_deleg_from_reply(p, au, cut, from, &it->deleg, &ttl);
    store_cut(env, &it->deleg, ttl);
    if (dc_log_enabled(DC_LOG_DEBUG)) {
        char fs[DR_NAME_STRLEN], ts[DR_NAME_STRLEN];
        name_str(from, fs, sizeof(fs));
        name_str(it->deleg.zone, ts, sizeof(ts));
        dc_log(DC_LOG_DEBUG, "referral", "res=%" PRIu64 " from=%s to=%s servers=%u", it->id, fs, ts,
               it->deleg.nns);
    }
    enter_cut(it, env);
    step(it, env, act);
}

/* The next minimised name: one label more for the first QMIN_ONE_LAB steps, then larger
 * strides so that no name takes more than DR_ITER_MAX_QMIN minimised queries (Unbound's
 * rule); past the limit the full name is sent. */
static void
qmin_advance(struct dr_iter *it)
{
    int labels = dr_dname_labels(it->cur);
    int left = DR_ITER_MAX_QMIN - it->qmin_steps;
    if (left <= 0) {
        it->qmin_labels = 0;
        return;
    }
    int stride = 1;
    if (it->qmin_steps >= QMIN_ONE_LAB) {
        int remaining = labels - it->qmin_labels;
        stride = (remaining + left - 1) / left;
        if (stride < 1)
            stride = 1;
    }
    it->qmin_labels += stride;
    if (it->qmin_labels >= labels)
        it->qmin_labels = 0;
}

static void
cache_dnames(const struct dr_iter_env *env, ldns_rr_list *dnames)
{
    for (size_t i = 0; dnames && i < ldns_rr_list_rr_count(dnames); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(dnames, i);
        const uint8_t *o = dr_scrub_name(ldns_rr_owner(rr));
        const uint8_t *t = dr_scrub_name(ldns_rr_rdf(rr, 0));
        uint32_t ttl = clamp_ttl(env, ldns_rr_ttl(rr));
        if (o && t && ldns_rr_ttl(rr) > 0)
            dr_deleg_store_dname(env->deleg, o, t, ttl, env->now + ttl);
    }
}

static void
handle_reply(struct dr_iter *it, const struct dr_iter_env *env, ldns_pkt *p,
             struct dr_iter_action *act)
{
    const uint8_t *zone = it->deleg.zone;
    /* Priming: the root's own NS set (with glue) replaces the hints. An NS name the reply
     * gives no glue for keeps the addresses the hints have for it: RFC 8109 expects glue,
     * but a private root may not send it. A root cut without a single address is not
     * stored: nothing could find its servers' addresses. */
    if (!it->up_minimised && !it->forwarding && it->qname[0] == 0 && it->qtype == DR_TYPE_NS &&
        zone[0] == 0) {
        struct dr_deleg d;
        uint32_t ttl;
        dr_deleg_from_reply(p, ldns_pkt_answer(p), zone, zone, &d, &ttl);
        if (dr_deleg_merge_addrs(&d, env->hints) > 0)
            store_cut(env, &d, ttl);
    }
    struct dr_classify_in in = {
        .zone = zone,
        .name = it->sent_name,
        .qtype = it->sent_type,
        .qclass = it->qclass,
        .forwarder = it->forwarding,
        .max_chain = (int)env->conf->max_cname_chain - it->links,
    };
    struct dr_classified c;
    dr_classify(p, &in, &c);
    if (c.verdict == DR_VERDICT_LAME && c.why && strcmp(c.why, "chain") == 0) {
        dr_classified_clear(&c);
        fail(it, act, "cname_chain");
        return;
    }
    if (it->up_minimised) {
        enum dr_verdict v = c.verdict;
        const char *why = c.why;
        uint8_t cut[DR_NAME_MAX];
        memcpy(cut, c.cut, sizeof(cut));
        dr_classified_clear(&c);
        if (v == DR_VERDICT_REFERRAL) {
            follow_referral(it, env, p, cut, act);
            return;
        }
        if (v == DR_VERDICT_LAME) {
            server_useless(it, env, why, act);
            return;
        }
        /* The server answered for the intermediate name: a step forward, not a failed try.
         * Relaxed mode: a server that says an intermediate name does not exist might be
         * wrong about empty non-terminals; ask the full question instead. */
        it->tries[it->up_ns][it->up_addr]--;
        if (v == DR_VERDICT_NXDOMAIN)
            it->qmin_labels = 0;
        else
            qmin_advance(it);
        step(it, env, act);
        return;
    }
    it->links += c.links;
    chain_append(it, c.chain);
    cache_dnames(env, c.dnames);
    switch (c.verdict) {
    case DR_VERDICT_ANSWER:
        done(it, act, DR_RCODE_NOERROR, c.answer, c.soa);
        c.answer = NULL;
        c.soa = NULL;
        break;
    case DR_VERDICT_NXDOMAIN:
    case DR_VERDICT_NODATA:
        if (c.links > 0)
            memcpy(it->cur, c.next, dr_dname_len(c.next));
        done(it, act, c.verdict == DR_VERDICT_NXDOMAIN ? DR_RCODE_NXDOMAIN : DR_RCODE_NOERROR, NULL,
             c.soa);
        c.soa = NULL;
        break;
    case DR_VERDICT_YXDOMAIN:
        done(it, act, 6 /* YXDOMAIN */, NULL, NULL);
        break;
    case DR_VERDICT_CNAME:
        if (c.soa) { /* a wildcard link's proof: kept for the end */
            if (it->proofs == NULL) {
                it->proofs = c.soa;
                c.soa = NULL;
            } else if (ldns_rr_list_cat(it->proofs, c.soa)) {
                ldns_rr_list_free(c.soa);
                c.soa = NULL;
            }
        }
        memcpy(it->cur, c.next, dr_dname_len(c.next));
        it->have_deleg = false;
        step(it, env, act);
        break;
    case DR_VERDICT_REFERRAL:
        follow_referral(it, env, p, c.cut, act);
        break;
    case DR_VERDICT_LAME:
        server_useless(it, env, c.why, act);
        break;
    }
    dr_classified_clear(&c);
}

void
dr_iter_on_reply(struct dr_iter *it, const struct dr_iter_env *env, enum dr_iter_outcome outcome,
                 const uint8_t *reply, size_t len, uint32_t rtt_ms, struct dr_iter_action *act)
{
    const union dc_sockaddr *server = &it->deleg.ns[it->up_ns].addrs[it->up_addr];
    if (outcome != DR_ITER_REPLY) {
        dr_infra_timeout(env->infra, server, env->now_ms);
        if (dc_log_enabled(DC_LOG_DEBUG)) {
            char as[DC_ADDR_STRLEN];
            dc_addr_format(server, true, as, sizeof(as));
            dc_log(DC_LOG_DEBUG, "upstream_fail", "res=%" PRIu64 " server=%s status=%s", it->id, as,
                   outcome == DR_ITER_TIMEOUT ? "timeout" : "neterr");
        }
        step(it, env, act);
        return;
    }
    dr_infra_rtt(env->infra, server, rtt_ms);
    uint16_t flags = dr_get16(reply + 2);
    int rcode = DR_RCODE(flags);
    if ((rcode == DR_RCODE_FORMERR || rcode == DR_RCODE_NOTIMP) && it->up_edns) {
        /* RFC 6891 §7: a server that does not understand EDNS; ask again without. */
        dr_infra_set_no_edns(env->infra, server);
        it->tries[it->up_ns][it->up_addr]--;
        if (it->budget->sent >= it->budget->max)
            fail(it, act, "query_budget");
        else
            send_to(it, env, it->up_ns, it->up_addr, it->up_tcp, act);
        return;
    }
    if ((flags & DR_FLAG_TC) && !it->up_tcp) {
        it->tries[it->up_ns][it->up_addr]--;
        if (it->budget->sent >= it->budget->max)
            fail(it, act, "query_budget");
        else
            send_to(it, env, it->up_ns, it->up_addr, true, act);
        return;
    }
    ldns_pkt *p = NULL;
    if (ldns_wire2pkt(&p, reply, len) != LDNS_STATUS_OK) {
        server_useless(it, env, "malformed", act);
        return;
    }
    handle_reply(it, env, p, act);
    ldns_pkt_free(p);
}
