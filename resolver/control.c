#include "resolver/control.h"

#include <errno.h>
#include <inttypes.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <string.h>

#include "common/lifecycle.h"
#include "common/trace.h"
#include "resolver/aggressive.h"
#include "resolver/cache.h"
#include "resolver/cachefile.h"
#include "resolver/deleg.h"
#include "resolver/dname.h"
#include "resolver/keycache.h"
#include "resolver/localzone.h"
#include "resolver/rrsig.h"
#include "resolver/val.h"
#include "resolver/worker.h"

static uint64_t
sum(const struct dr_shared *sh, enum dr_stat s)
{
    return dc_stats_sum(&sh->stats, (unsigned)s);
}

static void
cmd_status(struct dr_shared *sh, struct dc_control_reply *r)
{
    dc_control_printf(r,
                      "version: %s\nworkers: %u\nuptime_s: %" PRId64 "\ncached_answers: %zu\n"
                      "cache_bytes: %zu\nzone_cuts: %zu\nlocal_zones: %zu\nqueries: %" PRIu64 "\n",
                      DUET_VERSION, sh->workers, dr_now() - sh->started, dr_cache_count(sh->cache),
                      dr_cache_bytes(sh->cache), dc_lru_count(sh->deleg),
                      dr_local_count(sh->conf->local),
                      sum(sh, DR_STAT_QUERIES_UDP) + sum(sh, DR_STAT_QUERIES_TCP));
}

static void
cmd_stats(struct dr_shared *sh, struct dc_control_reply *r)
{
    for (unsigned i = 0; i < DR_STAT_COUNT; i++)
        dc_control_printf(r, "total.%s=%" PRIu64 "\n", dr_stat_names[i],
                          dc_stats_sum(&sh->stats, i));
    for (unsigned w = 0; w < sh->workers; w++)
        for (unsigned i = 0; i < DR_STAT_COUNT; i++)
            dc_control_printf(r, "worker%u.%s=%" PRIu64 "\n", w, dr_stat_names[i],
                              dc_stats_get(&sh->stats, w, i));
    dc_control_printf(r, "cache.entries=%zu\ncache.bytes=%zu\n", dr_cache_count(sh->cache),
                      dr_cache_bytes(sh->cache));
}

struct flush_ctx {
    const uint8_t *name;
    bool subtree;
};

static bool
deleg_match(void *arg, const void *key, size_t klen, const void *val, size_t vlen, int64_t expire)
{
    struct flush_ctx *f = arg;
    uint8_t zone[DR_NAME_MAX];
    (void)val;
    (void)vlen;
    (void)expire;
    if (dr_deleg_key_name(key, klen, zone) < 0)
        return false;
    if (f->name == NULL)
        return true;
    return f->subtree ? dr_dname_is_sub(zone, f->name) : dr_dname_equal(zone, f->name);
}

static void
cmd_flush(struct dr_shared *sh, int argc, char **argv, struct dc_control_reply *r)
{
    uint8_t name[DR_NAME_MAX];
    struct flush_ctx f = {NULL, false};
    if (argc >= 2) {
        if (dr_dname_from_str(argv[1], name) < 0) {
            dc_control_printf(r, "error: '%s' is not a domain name\n", argv[1]);
            return;
        }
        dr_dname_lower(name);
        f.name = name;
        if (argc >= 3) {
            if (strcmp(argv[2], "subtree") != 0) {
                dc_control_printf(r, "error: usage: flush [NAME [subtree]]\n");
                return;
            }
            f.subtree = true;
        }
    }
    size_t answers = dr_cache_flush(sh->cache, f.name, f.subtree);
    size_t cuts = dc_lru_remove_if(sh->deleg, f.name ? deleg_match : NULL, &f);
    /* What aggressive NSEC would answer from goes too: a flushed name is asked again. */
    size_t nsec = dr_aggr_flush(sh->aggr, f.name, f.subtree);
    size_t keys = dr_keycache_flush(sh->keys, f.name, f.subtree);
    dc_control_printf(r,
                      "ok: removed %zu answers, %zu zone cuts, the NSEC records of %zu zones and "
                      "the keys of %zu\n",
                      answers, cuts, nsec, keys);
}

static void
print_reply(struct dc_control_reply *r, const uint8_t *wire, int n)
{
    ldns_pkt *p = NULL;
    if (ldns_wire2pkt(&p, wire, (size_t)n) != LDNS_STATUS_OK)
        return;
    const ldns_rr_list *sections[] = {ldns_pkt_answer(p), ldns_pkt_authority(p)};
    for (size_t s = 0; s < 2; s++) {
        for (size_t i = 0; i < ldns_rr_list_rr_count(sections[s]); i++) {
            char *txt = ldns_rr2str(ldns_rr_list_rr(sections[s], i));
            if (txt) {
                dc_control_printf(r, "  %s%s", s ? "(authority) " : "", txt);
                free(txt);
            }
        }
    }
    ldns_pkt_free(p);
}

/* The validation status of a cached answer and what decided it: the keys whose signatures
 * made it secure (signer and key tag of each RRSIG), the denial records of a secure
 * negative answer, or the reason and EDE of an insecure or bogus one. */
static void
print_validation(struct dc_control_reply *r, const struct dr_cache_sec *cs, const uint8_t *buf,
                 int n)
{
    enum dr_val_status st = cs->status < DR_VS_COUNT ? cs->status : DR_VS_NONE;
    enum dr_why why = cs->why <= DR_CACHE_WHY_MAX ? cs->why : DR_WHY_NONE;
    dc_control_printf(r, "  dnssec: %s",
                      st == DR_VS_NONE ? "not validated" : dr_val_status_names[st]);
    if (st == DR_VS_BOGUS || st == DR_VS_INSECURE) {
        dc_control_printf(r, " (%s", dr_why_names[why]);
        int ede = dr_val_ede(st, why);
        if (ede >= 0)
            dc_control_printf(r, ", EDE %d", ede);
        dc_control_printf(r, ")");
    }
    dc_control_printf(r, "\n");
    if (st != DR_VS_SECURE)
        return;
    ldns_pkt *p = NULL;
    if (ldns_wire2pkt(&p, buf, (size_t)n) != LDNS_STATUS_OK)
        return;
    const ldns_rr_list *sections[] = {ldns_pkt_answer(p), ldns_pkt_authority(p)};
    for (size_t sct = 0; sct < 2; sct++) {
        for (size_t i = 0; i < ldns_rr_list_rr_count(sections[sct]); i++) {
            const ldns_rr *rr = ldns_rr_list_rr(sections[sct], i);
            struct dr_rrsig sig;
            if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_RRSIG || dr_rrsig_parse(rr, &sig) < 0)
                continue;
            char signer[DR_NAME_STRLEN], owner[DR_NAME_STRLEN];
            if (dr_dname_to_str(sig.signer, signer, sizeof(signer)) < 0 ||
                dr_dname_to_str(ldns_rdf_data(ldns_rr_owner(rr)), owner, sizeof(owner)) < 0)
                continue;
            const char *tn = ldns_rr_descript(sig.type_covered)
                                 ? ldns_rr_descript(sig.type_covered)->_name
                                 : "?";
            dc_control_printf(r, "  %s %s %s signed by %s key %u (algorithm %u)\n",
                              sct ? "proof" : "data", owner, tn ? tn : "?", signer, sig.key_tag,
                              sig.alg);
        }
    }
    ldns_pkt_free(p);
}

static void
cmd_lookup(struct dr_shared *sh, int argc, char **argv, struct dc_control_reply *r)
{
    uint8_t name[DR_NAME_MAX];
    if (argc < 2 || dr_dname_from_str(argv[1], name) < 0) {
        dc_control_printf(r, "error: usage: lookup NAME\n");
        return;
    }
    static const struct {
        uint16_t type;
        const char *name;
    } types[] = {{DR_TYPE_A, "A"},          {DR_TYPE_AAAA, "AAAA"}, {DR_TYPE_CNAME, "CNAME"},
                 {DR_TYPE_NS, "NS"},        {DR_TYPE_MX, "MX"},     {DR_TYPE_TXT, "TXT"},
                 {DR_TYPE_SOA, "SOA"},      {DR_TYPE_PTR, "PTR"},   {DR_TYPE_DS, "DS"},
                 {DR_TYPE_DNSKEY, "DNSKEY"}};
    uint8_t buf[65536];
    int64_t now = dr_now();
    bool any = false;
    for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
        /* The validated entry (with its RRSIGs and proof) where there is one, else the
         * plain one a lookup made for the iterator's own use left. */
        struct dr_cache_sec cs = {0};
        int n = dr_cache_lookup_sec(sh->cache, name, types[t].type, DR_CLASS_IN, now, buf,
                                    sizeof(buf), &cs);
        if (n <= 0)
            n = dr_cache_lookup(sh->cache, name, types[t].type, DR_CLASS_IN, now, buf, sizeof(buf));
        if (n <= 0)
            continue;
        any = true;
        static const char *const rcodes[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN"};
        unsigned rc = DR_RCODE(dr_get16(buf + 2));
        dc_control_printf(r, "cached %s %s:\n", types[t].name, rc < 4 ? rcodes[rc] : "?");
        print_validation(r, &cs, buf, n);
        print_reply(r, buf, n);
    }
    if (!any)
        dc_control_printf(r, "no cached answers for %s\n", argv[1]);
    struct dr_deleg d;
    char zs[DR_NAME_STRLEN];
    if (dr_deleg_find(sh->deleg, name, now, &d) == 0) {
        dr_dname_to_str(d.zone, zs, sizeof(zs));
        dc_control_printf(r, "closest zone cut: %s (cached), servers:\n", zs);
    } else {
        d = sh->hints;
        dc_control_printf(r, "closest zone cut: . (root hints), servers:\n");
    }
    for (unsigned i = 0; i < d.nns; i++) {
        dr_dname_to_str(d.ns[i].name, zs, sizeof(zs));
        dc_control_printf(r, "  %s", zs);
        for (unsigned j = 0; j < d.ns[i].naddrs; j++) {
            char as[DC_ADDR_STRLEN];
            dc_addr_format(&d.ns[i].addrs[j], false, as, sizeof(as));
            dc_control_printf(r, " %s", as);
        }
        dc_control_printf(r, "%s\n", d.ns[i].naddrs ? "" : " (address not known yet)");
    }
}

void
dr_control_command(void *arg, int argc, char **argv, struct dc_control_reply *r)
{
    struct dr_shared *sh = arg;
    const char *cmd = argv[0];
    if (strcmp(cmd, "status") == 0)
        cmd_status(sh, r);
    else if (strcmp(cmd, "stats") == 0)
        cmd_stats(sh, r);
    else if (strcmp(cmd, "trace") == 0) {
        char msg[600];
        dc_trace_command("resolver", sh->conf->trace_file, argc, argv, msg, sizeof(msg));
        dc_control_printf(r, "%s", msg);
    } else if (strcmp(cmd, "reload") == 0)
        dc_control_printf(r, dc_daemon_reload(sh->daemon) == 0
                                 ? "ok: configuration reloaded\n"
                                 : "error: reload refused; the old configuration keeps "
                                   "serving (the log says why)\n");
    else if (strcmp(cmd, "flush") == 0)
        cmd_flush(sh, argc, argv, r);
    else if (strcmp(cmd, "lookup") == 0)
        cmd_lookup(sh, argc, argv, r);
    else if (strcmp(cmd, "dump-cache") == 0 || strcmp(cmd, "load-cache") == 0) {
        if (argc != 2) {
            dc_control_printf(r, "error: usage: %s FILE\n", cmd);
            return;
        }
        bool dump = cmd[0] == 'd';
        struct dr_cachefile_error why = {0, 0, ""};
        long n = dump ? dr_cachefile_dump(sh->cache, sh->deleg, argv[1], dr_now())
                      : dr_cachefile_load_diag(sh->cache, sh->deleg, argv[1], dr_now(), &why);
        if (n == -EINVAL && !dump && why.why[0] != '\0')
            dc_control_printf(r,
                              "error: %s %s: not a duet cache file, or damaged: record %ld at "
                              "byte %" PRIu64 ": %s (nothing loaded)\n",
                              cmd, argv[1], why.entry, why.offset, why.why);
        else if (n < 0)
            dc_control_printf(r, "error: %s %s: %s\n", cmd, argv[1],
                              n == -EINVAL ? "not a duet cache file, or damaged"
                                           : strerror((int)-n));
        else
            dc_control_printf(r, "ok: %ld entries %s %s\n", n, dump ? "written to" : "loaded from",
                              argv[1]);
    } else
        dc_control_printf(r,
                          "error: unknown command '%s' (status, stats, reload, flush, "
                          "lookup, dump-cache, load-cache, trace)\n",
                          cmd);
}

/* Prometheus text exposition (format 0.0.4): HELP and TYPE before each family, counters
 * end in _total, the histogram's buckets are cumulative and end with +Inf. */
void
dr_control_metrics(void *arg, int argc, char **argv, struct dc_control_reply *r)
{
    struct dr_shared *sh = arg;
    if (argc < 2 || strcmp(argv[1], "/metrics") != 0) {
        dc_control_printf(r, "error: only /metrics is served here\n");
        return;
    }
    static const char *const transports[] = {"udp", "tcp"};
    static const unsigned q[] = {DR_STAT_QUERIES_UDP, DR_STAT_QUERIES_TCP};
    dc_control_counter(r, &sh->stats, "duet_resolver_queries_total", "Client queries received.",
                       "transport", transports, q, 2);
    static const char *const rcodes[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                         "NOTIMP",  "REFUSED", "other"};
    static const unsigned a[] = {DR_STAT_ANSWERS_NOERROR,  DR_STAT_ANSWERS_FORMERR,
                                 DR_STAT_ANSWERS_SERVFAIL, DR_STAT_ANSWERS_NXDOMAIN,
                                 DR_STAT_ANSWERS_NOTIMP,   DR_STAT_ANSWERS_REFUSED,
                                 DR_STAT_ANSWERS_OTHER};
    dc_control_counter(r, &sh->stats, "duet_resolver_answers_total", "Answers sent, by rcode.",
                       "rcode", rcodes, a, 7);
    static const unsigned hit[] = {DR_STAT_CACHE_HITS}, miss[] = {DR_STAT_CACHE_MISSES},
                          up_to[] = {DR_STAT_UPSTREAM_TIMEOUTS},
                          up_err[] = {DR_STAT_UPSTREAM_ERRORS},
                          refused[] = {DR_STAT_REFUSED_CLIENTS}, local[] = {DR_STAT_LOCAL_ANSWERS},
                          joins[] = {DR_STAT_INFLIGHT_JOINS}, full[] = {DR_STAT_INFLIGHT_FULL},
                          deadlines[] = {DR_STAT_RESOLVE_DEADLINES},
                          prefetches[] = {DR_STAT_PREFETCHES};
    dc_control_counter(r, &sh->stats, "duet_resolver_cache_hits_total",
                       "Queries answered from the cache.", NULL, NULL, hit, 1);
    dc_control_counter(r, &sh->stats, "duet_resolver_cache_misses_total",
                       "Queries the cache could not answer.", NULL, NULL, miss, 1);
    static const unsigned up[] = {DR_STAT_UPSTREAM_UDP, DR_STAT_UPSTREAM_TCP};
    dc_control_counter(r, &sh->stats, "duet_resolver_upstream_queries_total",
                       "Queries sent to upstream servers.", "transport", transports, up, 2);
    dc_control_counter(r, &sh->stats, "duet_resolver_upstream_timeouts_total",
                       "Upstream queries that timed out.", NULL, NULL, up_to, 1);
    dc_control_counter(r, &sh->stats, "duet_resolver_upstream_errors_total",
                       "Upstream queries failed otherwise (refused, lame, unreachable).", NULL,
                       NULL, up_err, 1);
    dc_control_counter(r, &sh->stats, "duet_resolver_refused_clients_total",
                       "Queries and TCP connections refused by access control.", NULL, NULL,
                       refused, 1);
    dc_control_counter(r, &sh->stats, "duet_resolver_local_answers_total",
                       "Queries answered from local zones.", NULL, NULL, local, 1);
    dc_control_counter(r, &sh->stats, "duet_resolver_inflight_joins_total",
                       "Queries that joined a resolution already in flight.", NULL, NULL, joins, 1);
    dc_control_counter(r, &sh->stats, "duet_resolver_inflight_full_total",
                       "Resolutions not started: num-queries-per-thread was reached (SERVFAIL).",
                       NULL, NULL, full, 1);
    dc_control_counter(r, &sh->stats, "duet_resolver_resolve_deadlines_total",
                       "Resolutions ended by their deadline.", NULL, NULL, deadlines, 1);
    dc_control_counter(r, &sh->stats, "duet_resolver_prefetches_total",
                       "Cached answers refreshed in the background before they expired.", NULL,
                       NULL, prefetches, 1);
    static const char *const statuses[] = {"secure", "insecure", "bogus", "indeterminate"};
    static const unsigned val[] = {DR_STAT_DNSSEC_SECURE, DR_STAT_DNSSEC_INSECURE,
                                   DR_STAT_DNSSEC_BOGUS, DR_STAT_DNSSEC_INDETERMINATE};
    dc_control_counter(r, &sh->stats, "duet_resolver_dnssec_answers_total",
                       "Resolutions validated (dnssec = yes), by validation status.", "status",
                       statuses, val, 4);
    static const unsigned key_hits[] = {DR_STAT_DNSSEC_KEY_CACHE_HITS};
    dc_control_counter(r, &sh->stats, "duet_resolver_dnssec_key_cache_hits_total",
                       "Validations whose chain of trust started from cached keys.", NULL, NULL,
                       key_hits, 1);
    static const char *const redis_ev[] = {"hit", "miss", "error", "timeout", "store"};
    static const unsigned redis[] = {DR_STAT_REDIS_HITS, DR_STAT_REDIS_MISSES, DR_STAT_REDIS_ERRORS,
                                     DR_STAT_REDIS_TIMEOUTS, DR_STAT_REDIS_STORES};
    dc_control_counter(r, &sh->stats, "duet_resolver_redis_total",
                       "The shared Redis cache: lookups by outcome, and answers written back.",
                       "event", redis_ev, redis, 5);
    static const unsigned stale[] = {DR_STAT_STALE_ANSWERS};
    dc_control_counter(r, &sh->stats, "duet_resolver_stale_answers_total",
                       "Expired answers served (serve-expired).", NULL, NULL, stale, 1);
    dc_control_printf(r,
                      "# HELP duet_resolver_cache_entries Answers in the cache.\n"
                      "# TYPE duet_resolver_cache_entries gauge\n"
                      "duet_resolver_cache_entries %zu\n"
                      "# HELP duet_resolver_cache_bytes Memory used by cached answers.\n"
                      "# TYPE duet_resolver_cache_bytes gauge\n"
                      "duet_resolver_cache_bytes %zu\n",
                      dr_cache_count(sh->cache), dr_cache_bytes(sh->cache));
    dc_control_histogram(r, &sh->stats, "duet_resolver_upstream_rtt_seconds",
                         "Round-trip time of upstream replies.", DR_STAT_RTT_1MS, dr_rtt_bounds_ms,
                         DR_RTT_BUCKETS, DR_STAT_RTT_SUM_US);
}
