#include "resolver/conf.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "resolver/dname.h"
#include "resolver/localzone.h"

#ifndef DUET_DATADIR
#define DUET_DATADIR "/usr/share/duet"
#endif

static int
parse_addr(struct dc_conf_ctx *ctx, const char *value, uint16_t port, void *field,
           const char *what)
{
    struct dr_addrs *a = field;
    union dc_sockaddr sa;
    if (dc_addr_parse(value, port, &sa) < 0) {
        dc_conf_error(ctx, "%s: '%s' is not an address (use 127.0.0.1, 127.0.0.1:53, ::1 or "
                      "[::1]:53)", what, value);
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
        dc_conf_error(ctx, "outgoing-address: '%s' must not name a port (each upstream query "
                      "gets a random one)", value);
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
        dc_conf_error(ctx, "%s: '%s' is not an address or prefix (use e.g. %s; host bits must "
                      "be zero)", what, value, example);
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
    DC_CONF_OPT_SIZE("cache-size", struct dr_conf, cache_size, "64M", 64 * 1024,
                     (int64_t)1 << 40, "memory of the whole cache, answers and zone cuts (cuts get an eighth)"),
    DC_CONF_OPT_DURATION("cache-min-ttl", struct dr_conf, cache_min_ttl_ms, "0", 0, 86400000,
                         "raise smaller TTLs to this"),
    DC_CONF_OPT_DURATION("cache-max-ttl", struct dr_conf, cache_max_ttl_ms, "1d", 1000,
                         (int64_t)7 * 86400000, "lower larger TTLs to this"),
    DC_CONF_OPT_DURATION("cache-max-negative-ttl", struct dr_conf, cache_max_negative_ttl_ms,
                         "1h", 0, 86400000, "cap for NXDOMAIN/NODATA lifetimes"),
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
    DC_CONF_OPT_STR("cache-file", struct dr_conf, cache_file, "",
                    "file the cache is loaded from at start and saved to at a clean stop, so "
                    "a restart keeps it warm; \"\" = off"),
    DC_CONF_OPT_STR("metrics", struct dr_conf, metrics, "",
                    "address:port serving Prometheus metrics at /metrics; \"\" = off"),
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
                       DC_CONF_MULTI, "a recursive server to send the zone's queries to: "
                       "ADDR or ADDR:PORT ([V6]:PORT); repeat"),
    DC_CONF_OPT_BOOL("forward-first", struct dr_conf_fwd_zone, first, "no",
                     "yes: resolve from the root when every forwarder failed"),
    DC_CONF_OPT_END,
};

static const struct dc_conf_option stub_zone_opts[] = {
    DC_CONF_OPT_CUSTOM("stub-addr", struct dr_conf_fwd_zone, addrs, NULL, parse_stub_addr,
                       DC_CONF_MULTI, "an authoritative server of the zone: ADDR or "
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
    struct dr_conf *c = calloc(1, sizeof(*c));
    if (c)
        dc_arena_init(&c->arena, 0);
    return c;
}

void
dr_conf_free(struct dr_conf *c)
{
    if (c == NULL)
        return;
    dr_local_free(c->local);
    dc_arena_deinit(&c->arena);
    free(c);
}
