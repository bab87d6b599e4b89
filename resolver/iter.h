/*
 * One resolution's iterator: the deciding part of walking the delegation tree (root hints
 * → TLD → authoritative) for one question, as a step function. It does no I/O and reads no
 * clock: every call takes an environment (configuration, caches, server knowledge, the time
 * and a random source) and returns the next action for a driver to carry out:
 *
 *   SEND  this query to that server (over UDP or TCP, with a timeout); the outcome comes
 *         back through dr_iter_on_reply() or dr_iter_on_send_failed();
 *   SUB   look up the address of this NS name (a sub-resolution, resolver/mesh.c); its
 *         reply comes back through dr_iter_on_sub();
 *   DONE  the resolution ended: rcode, chain, answer and authority hold the result.
 *
 * What it decides: the closest cut to start from (cached cuts, DNAMEs, stub and forward
 * zones, the root hints), QNAME minimisation (RFC 9156, relaxed, at most DR_ITER_MAX_QMIN
 * steps), which server to ask (smoothed RTT, tries per address, never an address of the
 * never-query list), what a reply means (resolver/classify.c) and what to keep of it
 * (cuts and DNAMEs into the cache), EDNS fallback and TCP on TC=1, glueless NS names (at
 * most DR_ITER_MAX_GLUELESS considered per cut, answered from the cache when it can), the
 * chain limit, and one upstream-query budget shared by a client query's whole tree.
 *
 * Scenario replay tests (tests/unit/resolver/test_replay.c) drive it with canned replies
 * and a virtual clock through resolver/mesh.c.
 */
#ifndef DUET_RESOLVER_ITER_H
#define DUET_RESOLVER_ITER_H

#include <ldns/ldns.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/lru.h"
#include "resolver/conf.h"
#include "resolver/deleg.h"
#include "resolver/infra.h"

struct dr_anchors;
struct dr_cache;

#define DR_ITER_MAX_DEPTH    5  /* nested NS-name lookups */
#define DR_ITER_MAX_GLUELESS 5  /* NS names without glue looked up per cut (Unbound, BIND) */
#define DR_ITER_MAX_QMIN     10 /* minimised queries per resolution (Unbound) */
#define DR_ITER_TRIES        2  /* queries per server address and cut */

/* The upstream-query budget of everything one client query causes; shared (refs) by the
 * resolution the client started and every sub-resolution under it. */
struct dr_budget {
    int refs;
    int sent; /* upstream queries sent */
    int max;  /* max-upstream-queries */
};

/* What a call may read and update besides the resolution itself. */
struct dr_iter_env {
    const struct dr_conf *conf;
    struct dr_cache *cache;        /* answers: NS-name addresses, CNAME targets; results */
    struct dc_lru *deleg;          /* cuts and DNAMEs */
    const struct dr_deleg *hints;  /* the root's cut from the root hints */
    struct dr_infra *infra;        /* per-server RTT, EDNS support, dead servers */
    int64_t now;                   /* wall clock, seconds (TTLs) */
    uint64_t now_ms;               /* monotonic milliseconds (RTTs, back-off) */
    uint32_t (*random)(void *arg); /* 32 random bits (IDs, 0x20, server choice) */
    void *random_arg;
    /* DNSSEC (resolver/mesh.c validates finished answers; the iterator does not read these) */
    bool dnssec;                      /* dnssec = yes */
    const struct dr_anchors *anchors; /* trust anchors and domain-insecure names */
    uint32_t val_bogus_ttl;           /* seconds a BOGUS answer is cached */
    uint32_t stale_life;              /* serve-expired: seconds answers are kept past expiry */
    struct dc_lru *aggr;              /* aggressive NSEC (resolver/aggressive.h); NULL: off */
    struct dc_lru *keys;              /* the key cache (resolver/keycache.h); NULL: none */
    uint64_t trust;                   /* the configuration's serial (dr_conf.serial) */
    bool validating;                  /* dnssec = yes with a trust anchor: answers are checked
                                         (the DNAME shortcut, which keeps no RRSIG, is off) */
};

enum dr_iter_act {
    DR_ITER_SEND, /* send act->query to act->server */
    DR_ITER_SUB,  /* resolve act->sub_name / act->sub_type and call dr_iter_on_sub */
    DR_ITER_DONE, /* finished: it->rcode and the lists hold the result */
};

struct dr_iter_action {
    enum dr_iter_act kind;
    /* SEND; pointers into the iterator, valid until its next call */
    const union dc_sockaddr *server;
    const uint8_t *query;
    size_t qlen;
    bool tcp;
    uint32_t timeout_ms;
    /* SUB */
    const uint8_t *sub_name;
    uint16_t sub_type;
};

/* How an upstream exchange ended (resolver/upstream.h has the same three). */
enum dr_iter_outcome {
    DR_ITER_REPLY,
    DR_ITER_TIMEOUT,
    DR_ITER_NETERR,
};

struct dr_iter {
    uint64_t id;                /* for logs */
    uint8_t qname[DR_NAME_MAX]; /* the question, lower case */
    uint16_t qtype, qclass;
    int depth; /* 0 for a client's question, +1 per NS lookup */
    struct dr_budget *budget;
    uint8_t cur[DR_NAME_MAX]; /* the name resolved now (after CNAME/DNAME links) */
    int links;                /* CNAME/DNAME links followed */

    bool have_deleg;
    bool forwarding;                          /* deleg holds forwarders (RD=1, answers whole) */
    bool forward_failed;                      /* forward-first: the forwarders failed, iterate */
    uint8_t forward_failed_zone[DR_NAME_MAX]; /* ... of this forward zone (lower case) */
    bool forward_first;
    bool want_prime;       /* the root's cut came from the hints: prime */
    bool conf_cut;         /* deleg lists configured servers (stub, forward) */
    struct dr_deleg deleg; /* the zone cut (or forwarders) being asked */
    uint8_t tries[DR_DELEG_MAX_NS][DR_DELEG_MAX_ADDRS];
    uint8_t ns_looked[DR_DELEG_MAX_NS]; /* the NS name's address lookup was done */
    int glueless;                       /* NS names without glue considered for this cut */
    int qmin_labels;                    /* labels of the next minimised name; 0: off */
    int qmin_steps;                     /* minimised queries sent */

    /* the query out */
    int up_ns, up_addr;
    bool up_tcp, up_edns, up_minimised;
    uint8_t sent_name[DR_NAME_MAX];
    uint16_t sent_type;
    uint8_t query[DR_NAME_MAX + 64];
    size_t qlen;
    int sub_ns; /* the NS whose address a SUB looks up */

    /* the result (DONE) */
    int rcode;
    const char *why;     /* SERVFAIL: why, for logs */
    bool from_aggr;      /* proven from cached NSEC records (RFC 8198) */
    bool traced;         /* a traced client waits on it (common/trace.h) */
    ldns_rr_list *chain; /* CNAME/DNAME records followed, in order */
    ldns_rr_list *answer;
    ldns_rr_list *authority;
    ldns_rr_list *proofs; /* wildcard proofs of chain links, until DONE */
};

/* Prepares it for (qname, qtype, qclass) at depth, sharing budget (the caller holds a
 * reference for it). 0 or -ENOMEM. */
int dr_iter_init(struct dr_iter *it, const uint8_t *qname, uint16_t qtype, uint16_t qclass,
                 int depth, struct dr_budget *budget);
/* Frees what it holds (not the struct, not the budget). */
void dr_iter_deinit(struct dr_iter *it);

/* The first action. */
void dr_iter_start(struct dr_iter *it, const struct dr_iter_env *env, struct dr_iter_action *act);
/* The outcome of the last SEND: a reply (reply/len, valid during the call) that the
 * transport matched to the query, or a timeout or network error; rtt_ms from send. */
void dr_iter_on_reply(struct dr_iter *it, const struct dr_iter_env *env,
                      enum dr_iter_outcome outcome, const uint8_t *reply, size_t len,
                      uint32_t rtt_ms, struct dr_iter_action *act);
/* The last SEND could not even be started (no socket, socket limit, no source address). */
void dr_iter_on_send_failed(struct dr_iter *it, const struct dr_iter_env *env,
                            struct dr_iter_action *act);
/* The reply of the last SUB (a finished reply as resolver/reply.h builds them), or NULL
 * when the lookup could not be made (loop, limits) or failed. */
void dr_iter_on_sub(struct dr_iter *it, const struct dr_iter_env *env, const uint8_t *reply,
                    size_t len, struct dr_iter_action *act);

#endif
