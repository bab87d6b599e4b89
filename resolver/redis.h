/*
 * The shared cache: a second-level answer cache in Redis that a fleet of resolvers shares
 * (`redis = HOST:PORT | unix:/path`), as Unbound's cachedb, but asynchronous on each
 * worker's loop (hiredis' libuv adapter) so a slow Redis never stalls a query.
 *
 * Order of lookups (resolver/query.c): the local cache; on a local miss, while the worker's
 * connection is up, one GET that the client waits for at most redis-timeout; on a hit the
 * value is checked, stored into the local cache by dr_cache_store_sec() (so the local rules
 * check the message once more) and the client is answered from the local cache; on a miss,
 * a timeout or any error, iteration as if Redis were absent. A finished resolution is
 * written back (resolver/mesh.c's stored callback, fire and forget, a bounded number in
 * flight).
 *
 * Key: prefix, the lower-case qname wire in hex, then "/QTYPE/QCLASS/DO" in decimal, e.g.
 * "duet:076578616d706c6503636f6d00/1/1/0". Both keys of a question (DO 0 and 1) hold the same
 * value, the pair the local cache stores (plain reply, and the DNSSEC variant when the data
 * is signed), so a reader with either DO bit fills both local variants.
 *
 * Value (big-endian): version (1 byte, DR_REDIS_VERSION), validation status, reason (as
 * struct dr_cache_sec), flags (0), absolute expiry (8 bytes, Unix seconds), plain length
 * (2), DNSSEC variant length (2, 0 = none), then the two messages. Redis' EXPIRE is the
 * remaining TTL, plus serve-expired-ttl when serve-expired is on.
 *
 * Nothing read from Redis is trusted more than the resolver's own rules allow: the value's
 * sizes and version must agree, its expiry must be in the future and at most cache-max-ttl
 * away, its messages must be ones dr_cache_store_sec() accepts for the client's question,
 * and its status must be one this resolver could give (dnssec = no: stored as NONE; a BOGUS
 * or NONE value with dnssec = yes, or SECURE without trust anchors, is refused).
 *
 * Not here: the local cache (resolver/cache.h), the options (resolver/conf.h).
 */
#ifndef DUET_RESOLVER_REDIS_H
#define DUET_RESOLVER_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resolver/cache.h"

#define DR_REDIS_VERSION     1
#define DR_REDIS_HEAD        16                  /* value header bytes */
#define DR_REDIS_KEY_MAX     (64 + 2 * 255 + 24) /* prefix (at most 64) + hex name + tail */
#define DR_REDIS_PREFIX_MAX  64
#define DR_REDIS_GETS_MAX    256 /* GETs in flight per worker; more go straight to iteration */
#define DR_REDIS_WRITES_MAX  64  /* SETs in flight per worker; more are dropped */
#define DR_REDIS_BACKOFF_MIN 100 /* ms; doubled per failure up to the max, reset by a reply */
#define DR_REDIS_BACKOFF_MAX 10000

/* ---- Pure functions: keys and values ---- */

/* Writes the key of (qname: lower-case wire, qtype, qclass, DO bit) under prefix into out
 * (NUL-terminated). Returns its length, or -ENOSPC. */
int dr_redis_key(char *out, size_t cap, const char *prefix, const uint8_t *qname, uint16_t qtype,
                 uint16_t qclass, bool do_bit);

/* Encodes a value into out. Returns its length, or -ENOSPC / -EINVAL (a message too long). */
int dr_redis_encode(uint8_t *out, size_t cap, int64_t expire, uint8_t status, uint8_t why,
                    const uint8_t *plain, size_t plen, const uint8_t *dnssec, size_t dlen);

/* A decoded value; the pointers point into the bytes given to dr_redis_decode(). */
struct dr_redis_value {
    int64_t expire;
    uint8_t status, why;
    const uint8_t *plain, *dnssec; /* dnssec NULL: none */
    size_t plen, dlen;
};

/* What this resolver allows a value read back to be (its own rules). */
struct dr_redis_rules {
    int64_t now;
    uint32_t max_ttl;    /* cache-max-ttl, seconds */
    bool dnssec;         /* dnssec = yes */
    bool validating;     /* dnssec = yes and trust anchors: SECURE is possible */
    uint32_t stale_life; /* serve-expired-ttl when serve-expired is on, else 0 */
};

/* Decodes and checks the header of val/len: version, sizes, expiry in (now, now + max_ttl],
 * status and reason in range. 0, or -EBADMSG with *why (a static phrase) saying what. */
int dr_redis_decode(const uint8_t *val, size_t len, const struct dr_redis_rules *rules,
                    struct dr_redis_value *v, const char **why);

/* Checks a value (dr_redis_decode) and stores it into the local cache c for the question
 * (qname lower-case wire) with the status the rules allow, its lifetime capped at the
 * value's expiry. 0 when stored; -EBADMSG (with *why) or dr_cache_store_sec()'s refusal
 * otherwise (then *why says so too). */
int dr_redis_admit(struct dr_cache *c, const uint8_t *qname, uint16_t qtype, uint16_t qclass,
                   const uint8_t *val, size_t len, const struct dr_redis_rules *rules,
                   const char **why);

/* The smallest TTL of the records in a reply (its remaining lifetime as the cache stored
 * it), or 0 when it has none or does not parse. */
uint32_t dr_redis_min_ttl(const uint8_t *reply, size_t len);

/* ---- The client: one per worker, on its loop ---- */

struct dr_conf;
struct dr_worker;
struct dr_redis;

/* A GET's outcome: val/len on a hit (valid only during the call), val NULL on a miss, an
 * error, a timeout, or the client closing. */
typedef void (*dr_redis_get_cb)(void *arg, const uint8_t *val, size_t len);

/* Opens the worker's client when wk->conf->redis is set (connecting in the background);
 * *out stays NULL when it is not. 0 or -ENOMEM. */
int dr_redis_open(struct dr_worker *wk, struct dr_redis **out);
/* Closes the connection and the timer: waiting GETs are called back with val NULL. */
void dr_redis_close(struct dr_redis *r);
/* After a reload (wk->conf is the new configuration, old the one it replaced): when redis,
 * redis-password-file's password, redis-prefix or redis-timeout changed, the worker's client
 * is closed (its waiting GETs called back with val NULL, it frees itself once closed) and one
 * with the new options is opened, or none when redis is now off. 0 or -ENOMEM. */
int dr_redis_reconfigure(struct dr_worker *wk, const struct dr_conf *old);
/* Frees the client after the loop has closed its handles. NULL is fine. */
void dr_redis_free(struct dr_redis *r);

/* GETs whose clients are still waiting (the stop's drain waits for them). 0 for NULL. */
size_t dr_redis_pending(const struct dr_redis *r);

/* Asks for the question's value. 0 when the GET was sent (cb runs later, exactly once,
 * within redis-timeout); -ENOTCONN (down), -EBUSY (too many in flight) or -ENOMEM when
 * not, and cb will not run. */
int dr_redis_get(struct dr_redis *r, const uint8_t *qname, uint16_t qtype, uint16_t qclass,
                 bool do_bit, dr_redis_get_cb cb, void *arg);

/* Writes back an answer the mesh has just stored into the local cache (fire and forget):
 * its lifetime is read back from the local cache. Dropped when down, when too many writes
 * are in flight, or when the status is one a peer would refuse. */
void dr_redis_store(struct dr_redis *r, const uint8_t *qname, uint16_t qtype, uint16_t qclass,
                    const uint8_t *plain, size_t plen, const uint8_t *dnssec, size_t dlen,
                    const struct dr_cache_sec *sec);

#endif
