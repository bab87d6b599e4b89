#include "resolver/query.h"

#include <string.h>

#include "common/acl.h"
#include "common/log.h"
#include "resolver/anchor.h"
#include "resolver/cache.h"
#include "resolver/dname.h"
#include "resolver/localzone.h"
#include "resolver/redis.h"
#include "resolver/val.h"
#include "resolver/worker.h"

static void
count_rcode(struct dr_worker *wk, const uint8_t *reply, size_t len)
{
    if (len < DR_HEADER_LEN)
        return;
    static const unsigned by_rcode[] = {
        DR_STAT_ANSWERS_NOERROR,  DR_STAT_ANSWERS_FORMERR, DR_STAT_ANSWERS_SERVFAIL,
        DR_STAT_ANSWERS_NXDOMAIN, DR_STAT_ANSWERS_NOTIMP,  DR_STAT_ANSWERS_REFUSED,
    };
    unsigned rc = DR_RCODE(dr_get16(reply + 2));
    dc_stats_inc(wk->stats, rc < 6 ? by_rcode[rc] : DR_STAT_ANSWERS_OTHER);
    if (dr_get16(reply + 2) & DR_FLAG_TC)
        dc_stats_inc(wk->stats, DR_STAT_TRUNCATED);
}

static uint16_t
our_udp_size(const struct dr_worker *wk)
{
    return (uint16_t)wk->conf->edns_buffer_size;
}

/* The most a reply to q may take: the client's EDNS size (or 512), never more than ours,
 * or the TCP maximum. */
static size_t
reply_limit(const struct dr_worker *wk, const struct dr_msg_query *q, bool tcp)
{
    if (tcp)
        return 65535;
    size_t l = q->udp_size;
    return l > our_udp_size(wk) ? our_udp_size(wk) : l;
}

/* AD (RFC 4035 §3.2.3, RFC 6840 §5.7): for validated data, to clients that set AD or DO. */
static uint16_t
ad_flag(const struct dr_worker *wk, const struct dr_msg_query *q, uint8_t sec)
{
    return wk->conf->dnssec && sec == DR_VS_SECURE && (q->do_bit || (q->flags & DR_FLAG_AD))
               ? DR_FLAG_AD
               : 0;
}

/* The Extended DNS Error a reply with this validation status carries, if any. */
static int
add_ede(const struct dr_msg_query *q, uint8_t sec, uint8_t why, uint8_t *out, int n, size_t cap,
        size_t limit)
{
    int ede = dr_val_ede((enum dr_val_status)sec, (enum dr_why)why);
    if (ede < 0 || n <= 0)
        return n;
    return dr_msg_add_ede(q, out, (size_t)n, cap, limit, (uint16_t)ede);
}

static int
empty_reply(struct dr_worker *wk, const struct dr_msg_query *q, int rcode, uint8_t *out, size_t cap)
{
    int n = dr_msg_reply_empty(q, rcode, our_udp_size(wk), out, cap);
    if (n > 0)
        count_rcode(wk, out, (size_t)n);
    return n > 0 ? n : -1;
}

/* The EDE of a stale answer: 3 (Stale Answer), 19 for a stale NXDOMAIN (RFC 8914). */
static uint16_t
stale_ede(const uint8_t *reply)
{
    return DR_RCODE(dr_get16(reply + 2)) == DR_RCODE_NXDOMAIN ? 19 : 3;
}

/* The client's stale answer straight from the cache (serve-expired, no client timeout). */
static int
stale_reply(struct dr_worker *wk, const struct dr_msg_query *q, uint8_t *out, size_t cap,
            size_t limit)
{
    struct dr_cache_sec cs = {0};
    int n = dr_cache_answer_stale(wk->sh->cache, q, dr_now(), out, cap, wk->conf->dnssec, &cs);
    if (n <= 0 || cs.status == DR_VS_BOGUS)
        return -1;
    dr_put16(out + 2, (uint16_t)(dr_get16(out + 2) | ad_flag(wk, q, cs.status)));
    uint16_t ede = stale_ede(out);
    n = dr_msg_fit(q, out, (size_t)n, cap, limit, our_udp_size(wk));
    if (n > 0)
        n = dr_msg_add_ede(q, out, (size_t)n, cap, limit, ede);
    if (n > 0) {
        count_rcode(wk, out, (size_t)n);
        dc_stats_inc(wk->stats, DR_STAT_STALE_ANSWERS);
    }
    return n > 0 ? n : -1;
}

int
dr_query_process(struct dr_worker *wk, const uint8_t *pkt, size_t len,
                 const union dc_sockaddr *peer, bool tcp, struct dr_msg_query *q, uint8_t *out,
                 size_t cap)
{
    dc_stats_inc(wk->stats, tcp ? DR_STAT_QUERIES_TCP : DR_STAT_QUERIES_UDP);
    enum dr_msg_verdict v = dr_msg_parse_query(pkt, len, q);
    /* Access control before anything else a stranger could make us do; a refused client
     * is still told so (Unbound's "refuse"), unless the packet is not a query at all. */
    if (v != DR_MSG_DROP && !dc_acl_match(&wk->conf->allow, peer)) {
        dc_stats_inc(wk->stats, DR_STAT_REFUSED_CLIENTS);
        return empty_reply(wk, q, DR_RCODE_REFUSED, out, cap);
    }
    switch (v) {
    case DR_MSG_OK:
        break;
    case DR_MSG_DROP:
        dc_stats_inc(wk->stats, DR_STAT_DROPPED);
        return -1;
    case DR_MSG_FORMERR:
        return empty_reply(wk, q, DR_RCODE_FORMERR, out, cap);
    case DR_MSG_NOTIMP:
        return empty_reply(wk, q, DR_RCODE_NOTIMP, out, cap);
    case DR_MSG_BADVERS:
        return empty_reply(wk, q, DR_RCODE_BADVERS, out, cap);
    case DR_MSG_REFUSED_TYPE:
        return empty_reply(wk, q, DR_RCODE_REFUSED, out, cap);
    }
    size_t limit = reply_limit(wk, q, tcp);
    int n = dr_local_answer(wk->conf->local, q, out, cap);
    if (n > 0) {
        dc_stats_inc(wk->stats, DR_STAT_LOCAL_ANSWERS);
        n = dr_msg_fit(q, out, (size_t)n, cap, limit, our_udp_size(wk));
        if (n > 0)
            count_rcode(wk, out, (size_t)n);
        return n > 0 ? n : -1;
    }
    if (q->qclass != DR_CLASS_IN)
        return empty_reply(wk, q, DR_RCODE_REFUSED, out, cap);
    bool refresh = false;
    struct dr_cache_sec cs = {0};
    n = dr_cache_answer_sec(wk->sh->cache, q, dr_now(), out, cap,
                            wk->conf->prefetch ? &refresh : NULL, wk->conf->dnssec, &cs);
    if (n > 0 && cs.status == DR_VS_BOGUS && !(q->flags & DR_FLAG_CD)) {
        dc_stats_inc(wk->stats, DR_STAT_CACHE_HITS);
        n = dr_msg_reply_empty(q, DR_RCODE_SERVFAIL, our_udp_size(wk), out, cap);
        n = add_ede(q, cs.status, cs.why, out, n, cap, limit);
        if (n > 0)
            count_rcode(wk, out, (size_t)n);
        return n > 0 ? n : -1;
    }
    if (n > 0) {
        dr_put16(out + 2, (uint16_t)(dr_get16(out + 2) | ad_flag(wk, q, cs.status)));
        dc_stats_inc(wk->stats, DR_STAT_CACHE_HITS);
        if (refresh && !wk->stopping &&
            dr_mesh_prefetch(wk->mesh, q->qname, q->qtype, q->qclass) > 0)
            dc_stats_inc(wk->stats, DR_STAT_PREFETCHES);
        n = dr_msg_fit(q, out, (size_t)n, cap, limit, our_udp_size(wk));
        if (cs.status == DR_VS_INSECURE || cs.status == DR_VS_BOGUS)
            n = add_ede(q, cs.status, cs.why, out, n, cap, limit);
        if (n > 0)
            count_rcode(wk, out, (size_t)n);
        return n > 0 ? n : -1;
    }
    dc_stats_inc(wk->stats, DR_STAT_CACHE_MISSES);
    if (wk->stopping)
        return empty_reply(wk, q, DR_RCODE_SERVFAIL, out, cap);
    /* serve-expired: an expired answer is kept. With no client timeout it is the answer
     * now and the refresh runs in the background; else the client waits that long for the
     * refresh first (dr_query_resolve). A bogus answer is never served stale. */
    q->stale = false;
    if (wk->conf->serve_expired && cs.stale && cs.status != DR_VS_BOGUS) {
        if (wk->conf->serve_expired_client_timeout_ms > 0) {
            q->stale = true;
            return 0;
        }
        n = stale_reply(wk, q, out, cap, limit);
        if (n > 0) {
            if (dr_mesh_prefetch(wk->mesh, q->qname, q->qtype, q->qclass) > 0)
                dc_stats_inc(wk->stats, DR_STAT_PREFETCHES);
            return n;
        }
    }
    return 0;
}

int
dr_query_patch(struct dr_worker *wk, const struct dr_msg_query *q, size_t limit,
               const uint8_t *reply, size_t len, const struct dr_waiter *w, uint8_t *out,
               size_t cap)
{
    uint8_t sec = w->sec, why = w->why;
    if (len < DR_HEADER_LEN + (size_t)q->qname_len + 4 || len > cap)
        return dr_msg_reply_empty(q, DR_RCODE_SERVFAIL, our_udp_size(wk), out, cap);
    memcpy(out, reply, len);
    dr_put16(out, q->id);
    uint16_t flags = dr_get16(out + 2);
    flags = (uint16_t)((flags & ~(DR_FLAG_RD | DR_FLAG_CD | DR_FLAG_AD)) |
                       (q->flags & (DR_FLAG_RD | DR_FLAG_CD)) | DR_FLAG_QR | DR_FLAG_RA |
                       ad_flag(wk, q, sec));
    dr_put16(out + 2, flags);
    memcpy(out + DR_HEADER_LEN, q->qname, q->qname_len);
    int n = dr_msg_fit(q, out, len, cap, limit, our_udp_size(wk));
    if (w->stale && n > 0) {
        n = dr_msg_add_ede(q, out, (size_t)n, cap, limit, stale_ede(out));
        dc_stats_inc(wk->stats, DR_STAT_STALE_ANSWERS);
    } else {
        n = add_ede(q, sec, why, out, n, cap, limit);
    }
    if (n > 0)
        count_rcode(wk, out, (size_t)n);
    return n;
}

/* A bare SERVFAIL for q in buf (header and question). */
static size_t
servfail_for(const struct dr_msg_query *q, uint8_t buf[DR_HEADER_LEN + DR_NAME_MAX + 4])
{
    memset(buf, 0, DR_HEADER_LEN);
    dr_put16(buf + 2, DR_FLAG_QR | DR_RCODE_SERVFAIL);
    dr_put16(buf + 4, 1);
    memcpy(buf + DR_HEADER_LEN, q->qname, q->qname_len);
    dr_put16(buf + DR_HEADER_LEN + q->qname_len, q->qtype);
    dr_put16(buf + DR_HEADER_LEN + q->qname_len + 2, q->qclass);
    return DR_HEADER_LEN + q->qname_len + 4u;
}

static void
client_done(struct dr_waiter *w, const uint8_t *reply, size_t len)
{
    struct dr_client *c = (struct dr_client *)w;
    /* serve-expired: the refresh did not answer in time, or failed: the stale answer, if
     * it is still kept (else the SERVFAIL, or one made here). */
    bool failed =
        reply == NULL || len < DR_HEADER_LEN || DR_RCODE(dr_get16(reply + 2)) == DR_RCODE_SERVFAIL;
    if (w->stale_ok && failed) {
        struct dr_worker *wk = c->wk;
        struct dr_cache_sec cs = {0};
        int n = dr_cache_answer_stale(wk->sh->cache, &c->q, dr_now(), wk->stale_buf,
                                      sizeof(wk->stale_buf), wk->conf->dnssec, &cs);
        if (n > 0 && cs.status != DR_VS_BOGUS) {
            w->stale = true;
            w->sec = cs.status;
            w->why = cs.why;
            c->send(c, wk->stale_buf, (size_t)n);
            return;
        }
    }
    if (reply == NULL) {
        uint8_t buf[DR_HEADER_LEN + DR_NAME_MAX + 4];
        size_t n = servfail_for(&c->q, buf);
        c->send(c, buf, n);
        return;
    }
    c->send(c, reply, len);
}

/* Starts (or joins) the resolution c waits for. */
static int
resolve(struct dr_client *c)
{
    uint8_t lc[DR_NAME_MAX];
    memcpy(lc, c->q.qname, c->q.qname_len);
    if (dr_mesh_resolve(c->wk->mesh, lc, c->q.qtype, c->q.qclass, &c->waiter) == 0)
        return 0;
    uint8_t buf[DR_HEADER_LEN + DR_NAME_MAX + 4];
    c->send(c, buf, servfail_for(&c->q, buf));
    return -1;
}

/* Whether this resolver would validate answers for name (wire, lower case): dnssec = yes and
 * a trust point covers it that no domain-insecure name overrides. A peer's SECURE is taken
 * only then: a local negative trust anchor is not overruled by the shared cache. */
static bool
validated_here(const struct dr_conf *conf, const uint8_t *name)
{
    if (!conf->dnssec || conf->anchors == NULL || conf->anchors->nzones == 0)
        return false;
    ldns_rdf *rdf = ldns_dname_new_frm_data((uint16_t)dr_dname_len(name), name);
    bool yes = rdf && dr_anchors_find(conf->anchors, rdf) != NULL;
    ldns_rdf_deep_free(rdf);
    return yes;
}

/* A value from the shared cache: stored into the local cache if it passes every check
 * there is (resolver/redis.h), then c is answered from the local cache like any hit.
 * false when it is refused (counted as an error) or the local cache does not give it. */
static bool
redis_answer(struct dr_client *c, const uint8_t *val, size_t len)
{
    struct dr_worker *wk = c->wk;
    const struct dr_conf *conf = wk->conf;
    struct dr_redis_rules rules = {
        .now = dr_now(),
        .max_ttl = (uint32_t)(conf->cache_max_ttl_ms / 1000),
        .dnssec = conf->dnssec,
        .stale_life = conf->serve_expired ? (uint32_t)(conf->serve_expired_ttl_ms / 1000) : 0,
    };
    uint8_t lc[DR_NAME_MAX];
    dr_dname_copy_lower(lc, c->q.qname);
    rules.validating = validated_here(conf, lc);
    const char *why = "-";
    if (dr_redis_admit(wk->sh->cache, lc, c->q.qtype, c->q.qclass, val, len, &rules, &why) < 0) {
        dc_stats_inc(wk->stats, DR_STAT_REDIS_ERRORS);
        DC_LOG_DEBUG("redis_value_refused", "qtype=%u why=\"%s\"", c->q.qtype, why);
        return false;
    }
    struct dr_cache_sec cs = {0};
    int n = dr_cache_answer_sec(wk->sh->cache, &c->q, rules.now, wk->stale_buf,
                                sizeof(wk->stale_buf), NULL, conf->dnssec, &cs);
    if (n <= 0 || cs.status == DR_VS_BOGUS)
        return false;
    dc_stats_inc(wk->stats, DR_STAT_REDIS_HITS);
    c->waiter.sec = cs.status;
    c->waiter.why = cs.why;
    c->send(c, wk->stale_buf, (size_t)n);
    return true;
}

/* The shared cache's answer to c's GET: val NULL on a miss, an error or a timeout. */
static void
redis_done(void *arg, const uint8_t *val, size_t len)
{
    struct dr_client *c = arg;
    if (val != NULL && redis_answer(c, val, len))
        return;
    if (c->wk->stopping) {
        uint8_t buf[DR_HEADER_LEN + DR_NAME_MAX + 4];
        c->send(c, buf, servfail_for(&c->q, buf));
        return;
    }
    resolve(c);
}

int
dr_query_resolve(struct dr_client *c)
{
    c->waiter.done = client_done;
    c->waiter.dnssec_ok = c->q.do_bit;
    c->waiter.cd = (c->q.flags & DR_FLAG_CD) != 0;
    c->waiter.stale_ok = c->q.stale;
    c->waiter.stale = false;
    c->waiter.stale_wait_ms = (uint32_t)c->wk->conf->serve_expired_client_timeout_ms;
    c->waiter.sec = c->waiter.why = 0;
    /* A local miss asks the shared cache first, when it is up (an expired local answer
     * waiting for its refresh does not: serve-expired has its own timing). */
    if (!c->q.stale && c->wk->redis) {
        uint8_t lc[DR_NAME_MAX];
        dr_dname_copy_lower(lc, c->q.qname);
        int rc =
            dr_redis_get(c->wk->redis, lc, c->q.qtype, c->q.qclass, c->q.do_bit, redis_done, c);
        if (rc == 0)
            return 0;
    }
    return resolve(c);
}
