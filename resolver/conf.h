/*
 * duet-resolver's configuration: the option table (the interface users see, documented in
 * conf/duet-resolver.conf) and the struct it fills. A loaded configuration is immutable and
 * owns all its memory through its arena; reload builds a new one.
 */
#ifndef DUET_RESOLVER_CONF_H
#define DUET_RESOLVER_CONF_H

#include "common/acl.h"
#include "common/addr.h"
#include "common/cli.h"
#include "common/config.h"

struct dr_anchors;
struct dr_local;

#define DR_CONF_DEFAULT_PATH "/etc/duet/duet-resolver.conf"

struct dr_addrs {
    union dc_sockaddr *v;
    size_t n;
};

/* [local-zone NAME]: names answered from configuration, the way Unbound's local-zone and
 * local-data are used for test sites. */
enum dr_local_type {
    DR_LOCAL_STATIC,      /* answer from data; other names in the zone: NXDOMAIN / NODATA */
    DR_LOCAL_REDIRECT,    /* the apex's data answers for every name in the zone */
    DR_LOCAL_REFUSE,      /* REFUSED for every name in the zone */
    DR_LOCAL_TRANSPARENT, /* answer from data where it matches, else resolve as usual */
};

struct dr_conf_local_zone {
    char *name;               /* as written in the header */
    int type;                 /* enum dr_local_type */
    struct dc_conf_strv data; /* RRs in zone-file syntax */
    int *data_lines;          /* line of each data entry, for errors found later */
    size_t ndata_lines;
};

/* [forward-zone NAME] and [stub-zone NAME] (Unbound's names): names at or below NAME are
 * sent to the listed servers instead of found from the root. A forward zone's servers are
 * recursive (asked with RD=1, their answers taken whole); a stub zone's are authoritative
 * for NAME (iteration starts there, referrals below it are followed). */
struct dr_conf_fwd_zone {
    char *name;            /* as written in the header */
    uint8_t wire[256];     /* the name in wire form, lower case (filled by the check) */
    struct dr_addrs addrs; /* forward-addr / stub-addr, port 53 unless given */
    bool first;            /* forward-first: iterate when every forwarder failed */
};

struct dr_conf {
    struct dc_arena arena;
    struct dc_daemon_conf daemon;
    struct dr_addrs listen;
    struct dc_acl allow;
    char *root_hints;
    struct dr_addrs outgoing;
    bool query_loopback;
    bool qname_minimisation;
    bool prefetch;        /* refresh answers asked for in their last 10% */
    bool aggressive_nsec; /* RFC 8198: NXDOMAIN/NODATA from cached NSEC records */
    int64_t edns_buffer_size;
    uint64_t cache_size;
    int64_t cache_min_ttl_ms, cache_max_ttl_ms, cache_max_negative_ttl_ms;
    bool serve_expired; /* RFC 8767 */
    int64_t serve_expired_ttl_ms, serve_expired_client_timeout_ms;
    int64_t tcp_idle_timeout_ms;
    int64_t upstream_timeout_ms;
    int64_t max_upstream_queries;
    int64_t max_cname_chain;
    int64_t tcp_clients_per_worker;
    int64_t queries_per_thread; /* resolutions in flight per worker (subs included) */
    int64_t outgoing_range;     /* upstream sockets open per worker */
    struct dc_acl do_not_query; /* never sent a query (besides the built-in ranges) */
    char *control_socket;       /* "" = off */
    char *trace_file;           /* where `trace on` writes events (common/trace.h) */
    char *cache_file;           /* loaded at start, written at a clean stop; "" = off */
    char *metrics;              /* "addr:port" of the Prometheus endpoint, "" = off */
    struct dr_conf_fwd_zone *forward_zones;
    size_t nforward_zones;
    struct dr_conf_fwd_zone *stub_zones;
    size_t nstub_zones;
    struct dr_conf_local_zone *local_zones;
    size_t nlocal_zones;
    struct dr_local *local; /* built from local_zones when the file is loaded */

    /* The shared cache in Redis (resolver/redis.h). Workers connect at start, and again
     * after a reload that changes these options. */
    char *redis;                  /* as written; "" = off */
    union dc_sockaddr redis_addr; /* HOST:PORT (an IP address), when redis_unix is NULL */
    char *redis_unix;             /* the path of "unix:/path", else NULL */
    char *redis_password_file;    /* "" = no AUTH */
    char *redis_password;         /* its first line, read at load; NULL when none */
    char *redis_prefix;           /* put before every key */
    int64_t redis_timeout_ms;     /* longest wait for a GET before iterating */

    /* DNSSEC (Unbound's option names). */
    bool dnssec;                                 /* validate; no = security-aware only */
    struct dc_conf_strv trust_anchor_files;      /* trust-anchor-file, as written */
    struct dc_conf_strv auto_trust_anchor_files; /* auto-trust-anchor-file, as written */
    struct dc_conf_strv domain_insecure;         /* domain-insecure, as written */
    int64_t val_bogus_ttl_ms;                    /* how long a bogus result is cached */
    /* RFC 5011 timers of auto-trust-anchor-file trust points (Unbound's names), copied into
     * anchors->timing when the file is loaded. */
    int64_t add_holddown_ms;    /* add-holddown: a new key waits this long before VALID */
    int64_t del_holddown_ms;    /* del-holddown: a revoked key is forgotten after this */
    bool permit_small_holddown; /* lets probes run every second instead of every hour */
    /*
     * Every trust point of trust-anchor-file and auto-trust-anchor-file and every
     * domain-insecure name, read while the file is loaded (so --check and a reload see a
     * bad anchor file as a configuration error). Never NULL after a successful load; empty
     * when nothing is configured. Owned by the configuration and freed by dr_conf_free():
     * a reload reads the files again into the new configuration's own set. Managed trust
     * points (auto-trust-anchor-file) carry their file's path in dr_anchor_zone.file.
     */
    struct dr_anchors *anchors;
    /* Different for every configuration made in the process: the key cache
     * (resolver/keycache.h) uses keys only under the trust anchors they were accepted with. */
    uint64_t serial;
};

extern const struct dc_conf_schema dr_conf_schema;

/* A zeroed configuration with its arena ready, for dc_cli_load_config(). NULL on ENOMEM. */
struct dr_conf *dr_conf_new(void);
void dr_conf_free(struct dr_conf *c);

/*
 * Logs one info line saying what DNSSEC will do with configuration c: validation off, on
 * with how many trust points and negative anchors, or on with no trust anchor at all (then
 * nothing validates: every answer is insecure). Call it at start, after logging is set up,
 * and after a reload is accepted.
 */
void dr_conf_log_dnssec(const struct dr_conf *c);

#endif
