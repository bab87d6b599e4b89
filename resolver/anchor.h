/*
 * resolver/anchor.h — DNSSEC trust anchors: where validation starts and where it must not.
 *
 * A trust anchor is a zone (the "trust point") with the DS or DNSKEY records the validator
 * trusts without proof. A struct dr_anchors holds every trust point and every negative trust
 * anchor; they come from three config options:
 *
 *   trust-anchor-file = FILE       static trust points (read by anchorfile.h)
 *   auto-trust-anchor-file = FILE  one trust point managed by RFC 5011 (read and written by
 *                                  anchorfile.h, its key states moved by autotrust.h)
 *   domain-insecure = NAME         a negative trust anchor: NAME and below are not validated
 *                                  (dr_anchors_add_insecure())
 *
 * This header is the set, its shared types (the RFC 5011 key states and timers included, as
 * every trust point carries them) and the small zone and key operations that anchorfile.c
 * and autotrust.c build on.
 *
 * Not here: the files (anchorfile.h), RFC 5011 (autotrust.h), signature and denial-proof
 * checks (the validator's), config wiring (conf.c).
 *
 * Everything is plain memory plus ldns objects; nothing touches a libuv loop. A struct
 * dr_anchors is built at start or reload and then only read, so workers may share it; a
 * managed trust point is updated by one owner (the main thread) which then publishes a new
 * trusted set.
 */
#ifndef DUET_RESOLVER_ANCHOR_H
#define DUET_RESOLVER_ANCHOR_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <ldns/ldns.h>

/* RFC 5011 section 4.2 states; the numbers are those of Unbound's autotrust file. */
enum dr_anchor_state {
    DR_ANCHOR_START = 0,   /* not yet a trust anchor; never stored */
    DR_ANCHOR_ADDPEND = 1, /* seen in a validated DNSKEY set; waiting out the add hold-down */
    DR_ANCHOR_VALID = 2,   /* a trust anchor */
    DR_ANCHOR_MISSING = 3, /* a trust anchor that the last validated DNSKEY set lacked */
    DR_ANCHOR_REVOKED = 4, /* revoked by itself (REVOKE bit + self-signature): not trusted */
    DR_ANCHOR_REMOVED = 5, /* revoked long enough ago to forget; never trusted again */
};

/* One key (or, for DS anchors, one DS) of a trust point. */
struct dr_anchor_key {
    ldns_rr *rr;                /* DNSKEY or DS; owned; a revoked key is kept as revoked */
    enum dr_anchor_state state; /* static anchors are always DR_ANCHOR_VALID */
    uint32_t count;             /* validated DNSKEY sets this key was seen in (while AddPend) */
    time_t last_change;         /* when it entered its state (0 = unknown, e.g. a new file) */
};

/* One trust point. */
struct dr_anchor_zone {
    ldns_rdf *owner; /* owned, lower case */
    char *file;      /* managed: the auto-trust-anchor-file; NULL for static anchors */
    struct dr_anchor_key *keys;
    size_t nkeys;
    /* managed trust points: Unbound's header fields (0 = unknown) */
    time_t last_queried, last_success, next_probe;
    uint32_t query_failed;
    uint32_t query_interval, retry_time;
};

/* RFC 5011 timers, in seconds; settable so tests run in seconds instead of months. */
struct dr_anchor_timing {
    uint32_t add_holddown;    /* 2.4.1: 30 days */
    uint32_t remove_holddown; /* 2.4.2: 30 days */
    uint32_t min_interval;    /* 2.3: the query interval is at least 1 hour */
    uint32_t max_interval;    /* 2.3: at most 15 days */
    uint32_t max_retry;       /* 2.3: the retry time is at most 1 day */
};

/* Every trust point and negative trust anchor. */
struct dr_anchors {
    struct dr_anchor_zone *zones;
    size_t nzones;
    ldns_rdf **insecure; /* domain-insecure names, owned, lower case */
    size_t ninsecure;
    struct dr_anchor_timing timing;
};

/* RFC 5011's defaults. */
void dr_anchor_timing_default(struct dr_anchor_timing *t);

/* Empty set with the default timing; _deinit frees everything the set owns. */
void dr_anchors_init(struct dr_anchors *a);
void dr_anchors_deinit(struct dr_anchors *a);

/* domain-insecure: adds a negative trust anchor. Returns 0, -EINVAL for a bad name. */
int dr_anchors_add_insecure(struct dr_anchors *a, const char *name);

/*
 * The trust point closest above (or at) name, or NULL when there is none or a
 * domain-insecure name at or below that trust point covers name (then name is insecure).
 * name is an ldns dname rdf; the result lives as long as a.
 */
const struct dr_anchor_zone *dr_anchors_find(const struct dr_anchors *a, const ldns_rdf *name);

/* true if name is at or below a domain-insecure name. */
bool dr_anchors_insecure(const struct dr_anchors *a, const ldns_rdf *name);

/*
 * The keys to trust for z now: VALID and MISSING keys (and DS), never ADDPEND, REVOKED or
 * REMOVED. Appends clones to out (which the caller owns). Returns how many, or -ENOMEM.
 */
int dr_anchor_trusted(const struct dr_anchor_zone *z, ldns_rr_list *out);

/*
 * Zones and keys, for the code that fills and updates a set (anchor files, RFC 5011).
 */

/* DNSKEY flags bits (RFC 4034 2.1.1, RFC 5011 3). */
#define DR_ANCHOR_KEY_ZONE   0x0100u
#define DR_ANCHOR_KEY_REVOKE 0x0080u
#define DR_ANCHOR_KEY_SEP    0x0001u

/* The flags field of a DNSKEY rr (one with 4 rdata fields, see dr_anchor_rr_is_key()). */
uint16_t dr_anchor_key_flags(const ldns_rr *rr);

/* true if the DNSKEY rr has the REVOKE bit. */
bool dr_anchor_key_revoked(const ldns_rr *rr);

/* true if a and b are the same DNSKEY, the REVOKE bit aside (a revoked key keeps its key). */
bool dr_anchor_key_same(const ldns_rr *a, const ldns_rr *b);

/* true if rr is a DNSKEY with its 4 rdata fields. */
bool dr_anchor_rr_is_key(const ldns_rr *rr);

/* The trust point of a whose owner is exactly owner, or NULL. */
struct dr_anchor_zone *dr_anchors_zone_find(struct dr_anchors *a, const ldns_rdf *owner);

/*
 * Appends an empty trust point for owner (cloned, lower-cased) to a; NULL on -ENOMEM. Like
 * dr_anchors_zone_take(), it may move a->zones: earlier zone pointers are then stale.
 */
struct dr_anchor_zone *dr_anchors_zone_add(struct dr_anchors *a, const ldns_rdf *owner);

/* Moves *z (filled by the caller) into a and zeroes *z. Returns 0 or -ENOMEM (*z untouched). */
int dr_anchors_zone_take(struct dr_anchors *a, struct dr_anchor_zone *z);

/* Frees everything z owns and zeroes it (z itself is the caller's). */
void dr_anchor_zone_deinit(struct dr_anchor_zone *z);

/* Appends a key to z, taking rr. Returns 0 or -ENOMEM (rr is then freed). */
int dr_anchor_key_add(struct dr_anchor_zone *z, ldns_rr *rr, enum dr_anchor_state s, uint32_t count,
                      time_t when);

/* Frees key i of z and closes the gap (later keys move down by one). */
void dr_anchor_key_drop(struct dr_anchor_zone *z, size_t i);

/* "VALID", "ADDPEND", … */
const char *dr_anchor_state_name(enum dr_anchor_state s);

#endif
