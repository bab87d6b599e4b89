/*
 * Resolutions: the iterative state machine that turns a question into a reply by walking
 * the delegation tree (root hints → TLD → authoritative), one upstream query at a time.
 *
 * A resolution starts at the closest cached zone cut, sends (QNAME-minimised) queries to
 * the best server of that cut, follows referrals downward, resolves NS names that came
 * without glue through sub-resolutions, chases CNAMEs within and across zones, keeps only
 * in-bailiwick records, and ends with a reply: positive, NXDOMAIN/NODATA with the SOA, or
 * SERVFAIL when servers fail, a budget or the deadline runs out, or delegations loop.
 * Finished replies go into the answer cache and to every waiter: identical questions
 * asked while one is in flight join it instead of resolving again.
 */
#ifndef DUET_RESOLVER_ITER_H
#define DUET_RESOLVER_ITER_H

#include <stddef.h>
#include <stdint.h>

struct dr_worker;
struct dr_waiter;

/* Receives the final reply: a complete message with ID 0, the question as resolved
 * (lower case), no OPT record. reply/len are valid only during the call. */
typedef void (*dr_waiter_cb)(struct dr_waiter *w, const uint8_t *reply, size_t len);

struct dr_waiter {
    dr_waiter_cb done;
    struct dr_waiter *next; /* managed by iter.c */
};

/* Resolves (qname, qtype, qclass) on wk, or joins the identical resolution in flight. w
 * stays registered until its callback runs. Returns 0, or a negative errno (ENOMEM) when
 * nothing was started (the callback will not run). */
int dr_iter_resolve(struct dr_worker *wk, const uint8_t *qname, uint16_t qtype,
                    uint16_t qclass, struct dr_waiter *w);

/* Refreshes the root's zone cut with a ". NS" query to the root servers (priming) unless
 * one is running. Also started whenever the root's cut has expired from the cache. */
void dr_iter_prime(struct dr_worker *wk);

/* Ends every resolution of wk now with SERVFAIL (its waiters are called), for shutdown. */
void dr_iter_abort_all(struct dr_worker *wk);

/* Sets up / frees wk's in-flight table. */
int dr_iter_init(struct dr_worker *wk);
void dr_iter_deinit(struct dr_worker *wk);

#endif
