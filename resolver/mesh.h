/*
 * The mesh: every resolution a worker runs, and how they wait on each other (Unbound's
 * mesh, Knot's request tree). A client's question becomes a resolution, or joins the
 * identical one in flight; a resolution that needs the address of an NS name waits on a
 * sub-resolution for it. The mesh owns their lifetimes and bounds them:
 *
 *  - one upstream-query budget (max-upstream-queries) for everything one client query
 *    causes, sub-resolutions included (struct dr_budget, shared);
 *  - a deadline per resolution (DR_MESH_DEADLINE_MS), checked by dr_mesh_tick();
 *  - at most num-queries-per-thread resolutions, and as many clients waiting (joined ones
 *    included), at once: a client beyond either is told -EBUSY (the caller answers
 *    SERVFAIL), a sub-lookup beyond it fails;
 *  - a sub-resolution nobody waits for any more is cancelled with its own subs;
 *  - no wait cycles: a resolution never waits on one that (through its subs) waits on it.
 *
 * DNSSEC: with dnssec = yes every answer a client (or prefetch, or the validator itself)
 * waits for is validated when the iterator is done (resolver/val.h); the DS and DNSKEY
 * sets the validator asks for come from the cache or from sub-resolutions, validated the
 * same way. The NS-address lookups the iterator makes for itself are not validated (their
 * cache entries say so, and a client's question never takes them as they are). A BOGUS
 * answer is cached for val-bogus-ttl and given as SERVFAIL to every waiter but those with
 * CD=1.
 *
 * Deciding only: upstream exchanges, the clock and the caches come through struct
 * dr_mesh_io, which resolver/driver.c implements with libuv and the replay tests with
 * canned replies and a virtual clock.
 */
#ifndef DUET_RESOLVER_MESH_H
#define DUET_RESOLVER_MESH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resolver/iter.h"

#define DR_MESH_DEADLINE_MS 10000 /* a resolution never takes longer than this */

struct dr_cache_sec;
struct dr_mesh;
struct dr_res;
struct dr_waiter;

/* Receives the final reply: a complete message with ID 0, the question as resolved
 * (lower case), no OPT record. reply/len are valid only during the call. */
typedef void (*dr_waiter_cb)(struct dr_waiter *w, const uint8_t *reply, size_t len);

struct dr_waiter {
    dr_waiter_cb done;
    bool dnssec_ok; /* wants the reply for DO=1 (with RRSIG, NSEC, NSEC3 records) */
    bool cd;        /* checking disabled: a BOGUS answer's data rather than SERVFAIL */
    bool stale_ok;  /* serve-expired: an expired answer is cached; after stale_wait_ms
                       without the resolution's reply, done is called with reply
                       NULL, len 0, and the resolution goes on for the cache */
    bool stale;     /* the caller's: the answer given was the stale one */
    bool traced;    /* the client is traced: so are the resolution and its subs */
    uint32_t stale_wait_ms;
    uint8_t sec, why; /* set by the mesh before done: the answer's validation status
                         (enum dr_val_status) and its reason (enum dr_why) */
    /* managed by the mesh */
    bool counted; /* one of the clients waiting */
    bool stale_queued;
    uint64_t stale_at_ms;
    struct dr_res *res; /* the resolution waited on */
    struct dr_waiter *next, *stale_prev, *stale_next;
};

/* Events the mesh counts through io->count. */
enum dr_mesh_event {
    DR_MESH_JOINED,   /* a question joined one in flight */
    DR_MESH_FULL,     /* num-queries-per-thread reached: a resolution was not started */
    DR_MESH_DEADLINE, /* a resolution ran out of time */
    DR_MESH_SECURE,   /* a validated answer's status, one event per resolution */
    DR_MESH_INSECURE,
    DR_MESH_BOGUS,
    DR_MESH_INDETERMINATE,
    DR_MESH_KEY_CACHE_HIT, /* a validation's walk started from cached keys */
};

struct dr_mesh_io {
    /* Carries out a SEND action for res: returns an exchange handle, or NULL when nothing
     * could be started. The outcome comes back through dr_mesh_upstream_done() exactly
     * once, unless the mesh cancels the exchange first. */
    void *(*send)(void *arg, struct dr_res *res, const struct dr_iter_action *act);
    void (*cancel)(void *arg, void *exchange);
    /* Fills env for one call: configuration, caches, clocks, random source. */
    void (*env)(void *arg, struct dr_iter_env *env);
    void (*count)(void *arg, enum dr_mesh_event ev);
    /* An answer was just stored into the answer cache (plain, and dnssec when the data is
     * signed, with its validation status): e.g. to share it (resolver/redis.h). Valid only
     * during the call. May be NULL. */
    void (*stored)(void *arg, const uint8_t *qname, uint16_t qtype, uint16_t qclass,
                   const uint8_t *wire, size_t len, const uint8_t *dnssec_wire, size_t dlen,
                   const struct dr_cache_sec *sec);
};

/* id_base is added to resolution ids (logs), e.g. the worker number * 10^9. NULL: ENOMEM. */
struct dr_mesh *dr_mesh_new(const struct dr_mesh_io *io, void *arg, uint64_t id_base);
/* Frees the mesh; every resolution must have ended (dr_mesh_abort_all). */
void dr_mesh_free(struct dr_mesh *m);

/* Resolves the question (qname any case) for w, or joins the identical resolution in
 * flight. w->done runs when it ends (possibly before this returns). 0, or -ENOMEM /
 * -EBUSY (too many in flight) when nothing was started and w will not be called. */
int dr_mesh_resolve(struct dr_mesh *m, const uint8_t *qname, uint16_t qtype, uint16_t qclass,
                    struct dr_waiter *w);
/* Refreshes the question in the background (prefetch): a resolution nobody waits for, whose
 * reply only goes into the cache. Nothing happens when it is in flight already or the
 * worker is at num-queries-per-thread. Returns 1 when one was started, else 0. */
int dr_mesh_prefetch(struct dr_mesh *m, const uint8_t *qname, uint16_t qtype, uint16_t qclass);
/* The outcome of an exchange io->send started for res. */
void dr_mesh_upstream_done(struct dr_mesh *m, struct dr_res *res, enum dr_iter_outcome outcome,
                           const uint8_t *reply, size_t len, uint32_t rtt_ms);
/* Ends, with SERVFAIL to their waiters, the resolutions whose deadline passed at now_ms, and
 * calls back (reply NULL) the stale_ok waiters whose wait is over. */
void dr_mesh_tick(struct dr_mesh *m, uint64_t now_ms);
/* Refreshes the root's cut (". NS" to the root servers) unless that runs already. */
void dr_mesh_prime(struct dr_mesh *m);
/* No more priming from now on (stopping). */
void dr_mesh_stop(struct dr_mesh *m);
/* Ends every resolution now with SERVFAIL to its waiters. */
void dr_mesh_abort_all(struct dr_mesh *m);
/* Resolutions running. */
size_t dr_mesh_count(const struct dr_mesh *m);
/* The iterator state of res, for the driver's logs and stats (read only). */
const struct dr_iter *dr_mesh_iter(const struct dr_res *res);

#endif
