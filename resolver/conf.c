#include "resolver/conf.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"
#include "resolver/anchor.h"
#include "resolver/anchorfile.h"
#include "resolver/dname.h"
#include "resolver/localzone.h"

#ifndef DUET_DATADIR
#define DUET_DATADIR "/usr/share/duet"
#endif

static int
parse_addr(struct dc_conf_ctx *ctx, const char *value, uint16_t port, void *field, const char *what)
{
    struct dr_addrs *a = field;
    union dc_sockaddr sa;
    if (dc_addr_parse(value, port, &sa) < 0) {
        dc_conf_error(ctx,
                      "%s: '%s' is not an address (use 127.0.0.1, 127.0.0.1:53, ::1 or "
                      "[::1]:53)",
                      what, value);
        return -1;
    }
    union dc_sockaddr *slot = dc_arena_push(ctx->arena, (void **)&a->v, &a->n, sizeof(sa));
    if (slot == NULL) {
        dc_conf_error(ctx, "out of memory");
        return -1;
    }
    *slot = sa;
    return 0;
}

static int
parse_listen(struct dc_conf_ctx *ctx, const char *value, void *field)
{
    return parse_addr(ctx, value, 53, field, "listen");
}

static int
parse_outgoing(struct dc_conf_ctx *ctx, const char *value, void *field)
{
    if (parse_addr(ctx, value, 0, field, "outgoing-address") < 0)
        return -1;
    struct dr_addrs *a = field;
    if (dc_addr_port(&a->v[a->n - 1]) != 0) {
        dc_conf_error(ctx,
                      "outgoing-address: '%s' must not name a port (each upstream query "
                      "gets a random one)",
                      value);
        return -1;
    }
    return 0;
}

/* Appends the prefix in value to the list in field; what names the option in errors. */
static int
parse_prefix(struct dc_conf_ctx *ctx, const char *value, void *field, const char *what,
             const char *example)
{
    struct dc_acl *acl = field;
    struct dc_cidr c;
    if (dc_cidr_parse(value, &c) < 0) {
        dc_conf_error(ctx,
                      "%s: '%s' is not an address or prefix (use e.g. %s; host bits must "
                      "be zero)",
                      what, value, example);
        return -1;
    }
    struct dc_cidr *slot = dc_arena_push(ctx->arena, (void **)&acl->v, &acl->n, sizeof(c));
    if (slot == NULL) {
        dc_conf_error(ctx, "out of memory");
        return -1;
    }
    *slot = c;
    return 0;
}

static int
parse_allow(struct dc_conf_ctx *ctx, const char *value, void *field)
{
    return parse_prefix(ctx, value, field, "allow", "10.0.0.0/8, ::1/128");
}

static int
parse_dnq(struct dc_conf_ctx *ctx, const char *value, void *field)
{
    return parse_prefix(ctx, value, field, "do-not-query-address", "10.0.0.0/8, fd00::/8");
}

static int
parse_forward_addr(struct dc_conf_ctx *ctx, const char *value, void *field)
{
    return parse_addr(ctx, value, 53, field, "forward-addr");
}

static int
parse_stub_addr(struct dc_conf_ctx *ctx, const char *value, void *field)
{
    return parse_addr(ctx, value, 53, field, "stub-addr");
}

static int
check_fwd_zone(struct dc_conf_ctx *ctx, void *section, const char *kind, const char *opt)
{
    struct dr_conf_fwd_zone *z = section;
    if (dr_dname_from_str(z->name, z->wire) < 0) {
        dc_conf_error(ctx, "[%s %s]: not a domain name", kind, z->name);
        return -1;
    }
    dr_dname_lower(z->wire);
    if (z->addrs.n == 0) {
        dc_conf_error(ctx, "[%s %s]: needs at least one %s", kind, z->name, opt);
        return -1;
    }
    return 0;
}

static int
check_forward_zone(struct dc_conf_ctx *ctx, void *section)
{
    return check_fwd_zone(ctx, section, "forward-zone", "forward-addr");
}

static int
check_stub_zone(struct dc_conf_ctx *ctx, void *section)
{
    return check_fwd_zone(ctx, section, "stub-zone", "stub-addr");
}

static int
parse_local_data(struct dc_conf_ctx *ctx, const char *value, void *field)
{
    /* The RR text is checked when the zone is built (resolver/localzone.c), which reports
     * with the line recorded here. */
    struct dc_conf_strv *sv = field;
    if (dc_conf_parse_strv(ctx, value, field) < 0)
        return -1;
    struct dr_conf_local_zone *z =
        (struct dr_conf_local_zone *)((char *)sv - offsetof(struct dr_conf_local_zone, data));
    int *slot = dc_arena_push(ctx->arena, (void **)&z->data_lines, &z->ndata_lines, sizeof(int));
    if (slot == NULL) {
        dc_conf_error(ctx, "out of memory");
        return -1;
    }
    *slot = ctx->line;
    return 0;
}

/* ─── DNSSEC trust anchors ───────────────────────────────────────────────────────────── */

/* The configuration's set of trust anchors, made empty when an option first needs it. */
static struct dr_anchors *
conf_anchors(struct dc_conf_ctx *ctx)
{
    struct dr_conf *c = ctx->conf;
    if (c->anchors == NULL) {
        c->anchors = malloc(sizeof(*c->anchors));
        if (c->anchors == NULL) {
            dc_conf_error(ctx, "out of memory");
            return NULL;
        }
        dr_anchors_init(c->anchors);
    }
    return c->anchors;
}

typedef int (*anchor_load_fn)(struct dr_anchors *a, const char *path, struct dc_conf_errors *errs);

/*
 * trust-anchor-file and auto-trust-anchor-file: the file is read now, while the option's
 * line is known, so every kind of problem lands where the user will look for it. A bad
 * record is the anchor file's own error ("root.key:12: ..."), reported by the loader; a
 * file that cannot be read at all is this option's error ("duet-resolver.conf:40: ...")
 * in place of the loader's line-less "path: why". "" names no file (as the other path
 * options' "" means off), so a drop-in config can switch the shipped anchor off.
 */
static int
parse_anchor_file(struct dc_conf_ctx *ctx, const char *value, void *field, const char *what,
                  anchor_load_fn load)
{
    if (dc_conf_parse_strv(ctx, value, field) < 0)
        return -1;
    if (value[0] == '\0')
        return 0;
    struct dr_anchors *a = conf_anchors(ctx);
    if (a == NULL)
        return -1;
    struct stat st;
    if (stat(value, &st) == 0 && S_ISDIR(st.st_mode)) {
        dc_conf_error(ctx, "%s: %s is a directory, not a file of DS or DNSKEY records", what,
                      value);
        return -1;
    }
    size_t before = ctx->errs->n;
    int rc = load(a, value, ctx->errs);
    if (rc == 0)
        return 0;
    if (rc == -EINVAL)
        return -1;
    while (ctx->errs->n > before)
        free(ctx->errs->msgs[--ctx->errs->n]);
    dc_conf_error(ctx, "%s: cannot read %s: %s", what, value, strerror(-rc));
    return -1;
}

static int
parse_trust_anchor_file(struct dc_conf_ctx *ctx, const char *value, void *field)
{
    return parse_anchor_file(ctx, value, field, "trust-anchor-file", dr_anchorfile_load);
}

static int
parse_auto_trust_anchor_file(struct dc_conf_ctx *ctx, const char *value, void *field)
{
    return parse_anchor_file(ctx, value, field, "auto-trust-anchor-file", dr_anchorfile_load_auto);
}

static int
parse_domain_insecure(struct dc_conf_ctx *ctx, const char *value, void *field)
{
    if (dc_conf_parse_strv(ctx, value, field) < 0)
        return -1;
    struct dr_anchors *a = conf_anchors(ctx);
    if (a == NULL)
        return -1;
    uint8_t wire[256];
    int rc = dr_dname_from_str(value, wire) < 0 ? -EINVAL : dr_anchors_add_insecure(a, value);
    if (rc == -EINVAL) {
        dc_conf_error(ctx, "domain-insecure: '%s' is not a domain name", value);
        return -1;
    }
    if (rc < 0) {
        dc_conf_error(ctx, "out of memory");
        return -1;
    }
    return 0;
}

/* ---- The shared cache in Redis ---- */

/* redis = HOST:PORT (an IP address; hiredis would resolve a name with a blocking call on
 * the worker's loop) or unix:/path. */
static int
parse_redis(struct dc_conf_ctx *ctx, const char *value, void *field)
{
    struct dr_conf *c = ctx->conf;
    char **dst = field;
    *dst = dc_arena_strdup(ctx->arena, value);
    if (*dst == NULL) {
        dc_conf_error(ctx, "out of memory");
        return -1;
    }
    c->redis_unix = NULL;
    if (value[0] == '\0')
        return 0;
    if (strncmp(value, "unix:", 5) == 0) {
        if (value[5] != '/' || strlen(value + 5) >= 108) {
            dc_conf_error(ctx, "redis: '%s': unix: needs an absolute path of at most 107 bytes",
                          value);
            return -1;
        }
        c->redis_unix = *dst + 5;
        return 0;
    }
    if (dc_addr_parse(value, 6379, &c->redis_addr) < 0) {
        dc_conf_error(ctx,
                      "redis: '%s' is not HOST:PORT with an IP address (127.0.0.1:6379, "
                      "[::1]:6379) or unix:/path",
                      value);
        return -1;
    }
    return 0;
}

/* The password is read when the file is loaded, so --check and a reload report a missing
 * or empty file at its line; only the first line counts (no trailing newline). */
static int
parse_redis_password_file(struct dc_conf_ctx *ctx, const char *value, void *field)
{
    struct dr_conf *c = ctx->conf;
    char **dst = field;
    *dst = dc_arena_strdup(ctx->arena, value);
    if (*dst == NULL) {
        dc_conf_error(ctx, "out of memory");
        return -1;
    }
    c->redis_password = NULL;
    if (value[0] == '\0')
        return 0;
    FILE *f = fopen(value, "r");
    if (f == NULL) {
        dc_conf_error(ctx, "redis-password-file: cannot read %s: %s", value, strerror(errno));
        return -1;
    }
    char line[1024];
    bool got = fgets(line, sizeof(line), f) != NULL;
    fclose(f);
    size_t n = got ? strcspn(line, "\r\n") : 0;
    line[n] = '\0';
    if (n == 0) {
        dc_conf_error(ctx, "redis-password-file: %s: the first line is empty", value);
        return -1;
    }
    c->redis_password = dc_arena_strdup(ctx->arena, line);
    explicit_bzero(line, sizeof(line));
    if (c->redis_password == NULL) {
        dc_conf_error(ctx, "out of memory");
        return -1;
    }
    return 0;
}

static int
parse_redis_prefix(struct dc_conf_ctx *ctx, const char *value, void *field)
{
    if (strlen(value) > 64) {
        dc_conf_error(ctx, "redis-prefix: at most 64 bytes");
        return -1;
    }
    char **dst = field;
    *dst = dc_arena_strdup(ctx->arena, value);
    if (*dst == NULL) {
        dc_conf_error(ctx, "out of memory");
        return -1;
    }
    return 0;
}

void
dr_conf_log_dnssec(const struct dr_conf *c)
{
    size_t zones = c->anchors ? c->anchors->nzones : 0;
    size_t insecure = c->anchors ? c->anchors->ninsecure : 0;
    if (!c->dnssec)
        dc_log(DC_LOG_INFO, "dnssec", "validate=no trust_points=%zu domain_insecure=%zu", zones,
               insecure);
    else if (zones == 0)
        dc_log(DC_LOG_INFO, "dnssec_no_trust_anchor",
               "validate=yes trust_points=0 domain_insecure=%zu detail=\"no trust-anchor-file "
               "or auto-trust-anchor-file: nothing will validate, every answer is insecure\"",
               insecure);
    else
        dc_log(DC_LOG_INFO, "dnssec", "validate=yes trust_points=%zu domain_insecure=%zu", zones,
               insecure);
}

static const struct dc_conf_option top[] = {
    DC_DAEMON_CONF_ROWS(struct dr_conf, daemon),
    DC_CONF_OPT_CUSTOM("listen", struct dr_conf, listen, NULL, parse_listen, DC_CONF_MULTI,
                       "address to serve UDP and TCP on; repeat for more "
                       "[default: 127.0.0.1:53 and [::1]:53]"),
    DC_CONF_OPT_CUSTOM("allow", struct dr_conf, allow, NULL, parse_allow, DC_CONF_MULTI,
                       "client prefix allowed to query; repeat; others get REFUSED "
                       "[default: 127.0.0.0/8 and ::1/128]"),
    DC_CONF_OPT_STR("root-hints", struct dr_conf, root_hints, DUET_DATADIR "/root.hints",
                    "file with the root servers' names and addresses"),
    DC_CONF_OPT_CUSTOM("outgoing-address", struct dr_conf, outgoing, NULL, parse_outgoing,
                       DC_CONF_MULTI,
                       "source address for upstream queries; repeat for v4 and v6 "
                       "[default: 0.0.0.0 and ::]"),
    DC_CONF_OPT_BOOL("query-loopback", struct dr_conf, query_loopback, "no",
                     "allow upstream servers on 127.0.0.0/8 and ::1 (labs, tests)"),
    DC_CONF_OPT_BOOL("qname-minimisation", struct dr_conf, qname_minimisation, "yes",
                     "send upstream only the labels each server needs (RFC 9156, relaxed)"),
    DC_CONF_OPT_BOOL("prefetch", struct dr_conf, prefetch, "no",
                     "refresh a cached answer in the background when it is asked for in the "
                     "last 10% of its TTL (Unbound's rule), so popular names never expire"),
    DC_CONF_OPT_INT("edns-buffer-size", struct dr_conf, edns_buffer_size, "1232", 512, 4096,
                    "EDNS0 UDP size advertised to clients and upstream servers"),
    DC_CONF_OPT_SIZE("cache-size", struct dr_conf, cache_size, "64M", 64 * 1024, (int64_t)1 << 40,
                     "memory of the whole cache, answers and zone cuts (cuts get an eighth)"),
    DC_CONF_OPT_DURATION("cache-min-ttl", struct dr_conf, cache_min_ttl_ms, "0", 0, 86400000,
                         "raise smaller TTLs to this"),
    DC_CONF_OPT_DURATION("cache-max-ttl", struct dr_conf, cache_max_ttl_ms, "1d", 1000,
                         (int64_t)7 * 86400000, "lower larger TTLs to this"),
    DC_CONF_OPT_DURATION("cache-max-negative-ttl", struct dr_conf, cache_max_negative_ttl_ms, "1h",
                         0, 86400000, "cap for NXDOMAIN/NODATA lifetimes"),
    DC_CONF_OPT_BOOL("serve-expired", struct dr_conf, serve_expired, "no",
                     "answer from expired cache data when a refresh cannot be had in time, with "
                     "TTL 30 and EDE 3 (RFC 8767)"),
    DC_CONF_OPT_DURATION("serve-expired-ttl", struct dr_conf, serve_expired_ttl_ms, "1d", 1000,
                         7 * 86400000LL, "how long past its expiry data may still be served"),
    DC_CONF_OPT_DURATION("serve-expired-client-timeout", struct dr_conf,
                         serve_expired_client_timeout_ms, "1800ms", 0, 10000,
                         "how long a client waits for the refresh before it gets the expired "
                         "answer (0: at once)"),
    DC_CONF_OPT_DURATION("tcp-idle-timeout", struct dr_conf, tcp_idle_timeout_ms, "10s", 100,
                         600000,
                         "client TCP deadline: a query must be complete this long after its "
                         "first byte (bytes do not extend it); a connection with nothing in "
                         "flight is closed after this long idle"),
    DC_CONF_OPT_DURATION("upstream-timeout", struct dr_conf, upstream_timeout_ms, "1500ms", 50,
                         30000, "longest wait for one upstream reply before trying another"),
    DC_CONF_OPT_INT("max-upstream-queries", struct dr_conf, max_upstream_queries, "64", 4, 1000,
                    "upstream queries one client query may cause, NS-name lookups included, "
                    "before SERVFAIL"),
    DC_CONF_OPT_INT("max-cname-chain", struct dr_conf, max_cname_chain, "11", 1, 64,
                    "CNAMEs followed for one query before SERVFAIL"),
    DC_CONF_OPT_INT("tcp-clients", struct dr_conf, tcp_clients_per_worker, "512", 1, 100000,
                    "client TCP connections per worker; one over the limit is accepted and "
                    "closed at once (hosts outside allow are closed at accept and never count)"),
    DC_CONF_OPT_INT("num-queries-per-thread", struct dr_conf, queries_per_thread, "2048", 16,
                    1000000,
                    "resolutions in flight per worker (NS-name lookups included), and "
                    "clients waiting for them; a query over either is answered SERVFAIL and "
                    "counted"),
    DC_CONF_OPT_INT("outgoing-range", struct dr_conf, outgoing_range, "4096", 16, 60000,
                    "upstream sockets open per worker; a resolution that needs one more "
                    "tries another server later, then fails"),
    DC_CONF_OPT_CUSTOM("do-not-query-address", struct dr_conf, do_not_query, NULL, parse_dnq,
                       DC_CONF_MULTI,
                       "prefix never sent a query; repeat (0.0.0.0/8, ::, multicast and "
                       "broadcast are never queried anyway)"),
    DC_CONF_OPT_STR("control-socket", struct dr_conf, control_socket, "",
                    "UNIX socket for duet-control (mode 0660); \"\" = off"),
    DC_CONF_OPT_STR("trace-file", struct dr_conf, trace_file, "",
                    "where `duet-control trace on` appends the flow trace's events (JSON "
                    "lines); \"\" = tracing cannot be turned on"),
    DC_CONF_OPT_STR("cache-file", struct dr_conf, cache_file, "",
                    "file the cache is loaded from at start and saved to at a clean stop, so "
                    "a restart keeps it warm; \"\" = off"),
    DC_CONF_OPT_STR("metrics", struct dr_conf, metrics, "",
                    "address:port serving Prometheus metrics at /metrics; \"\" = off"),
    DC_CONF_OPT_BOOL("dnssec", struct dr_conf, dnssec, "yes",
                     "validate answers from the trust anchors down (DNSSEC); no = only pass "
                     "RRSIGs and NSEC records on to clients that ask (DO=1)"),
    DC_CONF_OPT_CUSTOM("trust-anchor-file", struct dr_conf, trust_anchor_files, NULL,
                       parse_trust_anchor_file, DC_CONF_MULTI,
                       "file of DS or DNSKEY records in zone-file syntax to trust as they "
                       "are; repeat"),
    DC_CONF_OPT_CUSTOM("auto-trust-anchor-file", struct dr_conf, auto_trust_anchor_files, NULL,
                       parse_auto_trust_anchor_file, DC_CONF_MULTI,
                       "trust anchor file kept current by RFC 5011 (Unbound's format; written "
                       "by the resolver); one trust point per file; repeat"),
    DC_CONF_OPT_CUSTOM("domain-insecure", struct dr_conf, domain_insecure, NULL,
                       parse_domain_insecure, DC_CONF_MULTI,
                       "negative trust anchor: names at or below it are not validated; repeat"),
    DC_CONF_OPT_DURATION("val-bogus-ttl", struct dr_conf, val_bogus_ttl_ms, "60s", 0, 86400000,
                         "how long an answer that failed validation is cached (as SERVFAIL)"),
    DC_CONF_OPT_BOOL("aggressive-nsec", struct dr_conf, aggressive_nsec, "yes",
                     "answer NXDOMAIN and NODATA from validated NSEC records already cached "
                     "(RFC 8198), without asking the zone's servers"),
    DC_CONF_OPT_CUSTOM("redis", struct dr_conf, redis, "", parse_redis, 0,
                       "a shared second-level cache for a fleet: HOST:PORT (IP address) or "
                       "unix:/path of a Redis server; \"\" = off"),
    DC_CONF_OPT_CUSTOM("redis-password-file", struct dr_conf, redis_password_file, "",
                       parse_redis_password_file, 0,
                       "file whose first line is the Redis password (AUTH); \"\" = none"),
    DC_CONF_OPT_CUSTOM("redis-prefix", struct dr_conf, redis_prefix, "duet:", parse_redis_prefix, 0,
                       "put before every Redis key (at most 64 bytes)"),
    DC_CONF_OPT_DURATION("redis-timeout", struct dr_conf, redis_timeout_ms, "100ms", 1, 10000,
                         "longest wait for Redis on a local cache miss before resolving as if "
                         "it were absent"),
    DC_CONF_OPT_DURATION("add-holddown", struct dr_conf, add_holddown_ms, "30d", 1000,
                         (int64_t)3650 * 86400000,
                         "RFC 5011: a new key of a managed trust point is trusted only after it "
                         "was seen this long (at least the DNSKEY set's TTL)"),
    DC_CONF_OPT_DURATION("del-holddown", struct dr_conf, del_holddown_ms, "30d", 1000,
                         (int64_t)3650 * 86400000,
                         "RFC 5011: a revoked key is removed from the anchor file this long "
                         "after its revocation"),
    DC_CONF_OPT_BOOL("permit-small-holddown", struct dr_conf, permit_small_holddown, "no",
                     "RFC 5011 probes may come every second instead of at most once an hour "
                     "(labs and tests with hold-downs of seconds)"),
    DC_CONF_OPT_END,
};

static const struct dc_conf_option local_zone_opts[] = {
    DC_CONF_OPT_ENUM("type", struct dr_conf_local_zone, type, "static",
                     "static|redirect|refuse|transparent", "how names in the zone are answered"),
    DC_CONF_OPT_CUSTOM("data", struct dr_conf_local_zone, data, NULL, parse_local_data,
                       DC_CONF_MULTI, "a record in zone-file syntax: NAME [TTL] [IN] TYPE RDATA"),
    DC_CONF_OPT_END,
};

static const struct dc_conf_option forward_zone_opts[] = {
    DC_CONF_OPT_CUSTOM("forward-addr", struct dr_conf_fwd_zone, addrs, NULL, parse_forward_addr,
                       DC_CONF_MULTI,
                       "a recursive server to send the zone's queries to: "
                       "ADDR or ADDR:PORT ([V6]:PORT); repeat"),
    DC_CONF_OPT_BOOL("forward-first", struct dr_conf_fwd_zone, first, "no",
                     "yes: resolve from the root when every forwarder failed"),
    DC_CONF_OPT_END,
};

static const struct dc_conf_option stub_zone_opts[] = {
    DC_CONF_OPT_CUSTOM("stub-addr", struct dr_conf_fwd_zone, addrs, NULL, parse_stub_addr,
                       DC_CONF_MULTI,
                       "an authoritative server of the zone: ADDR or "
                       "ADDR:PORT; repeat"),
    DC_CONF_OPT_END,
};

static const struct dc_conf_section sections[] = {
    DC_CONF_SECTION("forward-zone", struct dr_conf_fwd_zone, forward_zone_opts, struct dr_conf,
                    forward_zones, nforward_zones, name, true, check_forward_zone,
                    "names at or below NAME are sent to recursive servers (\".\": all)"),
    DC_CONF_SECTION("stub-zone", struct dr_conf_fwd_zone, stub_zone_opts, struct dr_conf,
                    stub_zones, nstub_zones, name, true, check_stub_zone,
                    "NAME is served by these authoritative servers"),
    DC_CONF_SECTION("local-zone", struct dr_conf_local_zone, local_zone_opts, struct dr_conf,
                    local_zones, nlocal_zones, name, true, NULL,
                    "names answered from this file instead of resolved"),
    DC_CONF_SECTION_END,
};

static int
add_default(struct dc_conf_ctx *ctx, struct dr_addrs *a, const char *text, uint16_t port)
{
    union dc_sockaddr *slot = dc_arena_push(ctx->arena, (void **)&a->v, &a->n, sizeof(*slot));
    if (slot == NULL || dc_addr_parse(text, port, slot) < 0) {
        dc_conf_error(ctx, "out of memory");
        return -1;
    }
    return 0;
}

static int
check(struct dc_conf_ctx *ctx, void *conf)
{
    struct dr_conf *c = conf;
    /* Repeatable options have no single default value: fill them when none was given. */
    if (c->listen.n == 0) {
        add_default(ctx, &c->listen, "127.0.0.1", 53);
        add_default(ctx, &c->listen, "::1", 53);
    }
    if (c->outgoing.n == 0) {
        add_default(ctx, &c->outgoing, "0.0.0.0", 0);
        add_default(ctx, &c->outgoing, "::", 0);
    }
    if (c->allow.n == 0) {
        struct dc_cidr *v = dc_arena_alloc(ctx->arena, 2 * sizeof(*v));
        if (v == NULL || dc_cidr_parse("127.0.0.0/8", &v[0]) < 0 ||
            dc_cidr_parse("::1/128", &v[1]) < 0) {
            dc_conf_error(ctx, "out of memory");
            return -1;
        }
        c->allow.v = v;
        c->allow.n = 2;
    }
    if (c->cache_min_ttl_ms > c->cache_max_ttl_ms) {
        dc_conf_error(ctx, "cache-min-ttl is larger than cache-max-ttl");
        return -1;
    }
    /* Never NULL after a successful load, even when no anchor option was given. */
    struct dr_anchors *a = conf_anchors(ctx);
    if (a == NULL)
        return -1;
    a->timing.add_holddown = (uint32_t)(c->add_holddown_ms / 1000);
    a->timing.remove_holddown = (uint32_t)(c->del_holddown_ms / 1000);
    if (c->permit_small_holddown)
        a->timing.min_interval = 1;
    /* Local data is parsed here so that --check reports its errors with their lines. */
    c->local = dr_local_build(c, ctx);
    return c->local ? 0 : -1;
}

const struct dc_conf_schema dr_conf_schema = {
    .program = "duet-resolver",
    .options = top,
    .sections = sections,
    .check = check,
};

struct dr_conf *
dr_conf_new(void)
{
    static atomic_uint_fast64_t made;
    struct dr_conf *c = calloc(1, sizeof(*c));
    if (c) {
        dc_arena_init(&c->arena, 0);
        c->serial = (uint64_t)atomic_fetch_add(&made, 1) + 1;
    }
    return c;
}

void
dr_conf_free(struct dr_conf *c)
{
    if (c == NULL)
        return;
    dr_local_free(c->local);
    if (c->anchors != NULL) {
        dr_anchors_deinit(c->anchors);
        free(c->anchors);
    }
    dc_arena_deinit(&c->arena);
    free(c);
}
