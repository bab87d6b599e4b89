/*
 * Domain names in wire format ("\3www\7example\0"): reading them out of packets safely
 * (compression pointers, loops, lengths), case folding, comparison and bailiwick tests,
 * and conversion to and from presentation text. Pure functions: no allocation, no I/O.
 *
 * A "name" below is an uncompressed wire name of at most DR_NAME_MAX bytes, ending in the
 * root label, as dr_dname_read() produces. Case is preserved unless a function says
 * otherwise (0x20 randomisation depends on it).
 */
#ifndef DUET_RESOLVER_DNAME_H
#define DUET_RESOLVER_DNAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DR_NAME_MAX  255
#define DR_LABEL_MAX 63
/* Longest presentation form: every byte escaped as \DDD plus dots and NUL. */
#define DR_NAME_STRLEN (DR_NAME_MAX * 4 + 2)

/*
 * Reads the name at *off in pkt[0..len) into out, following compression pointers, and moves
 * *off past the name as it stands in the packet (past the first pointer, if any). Rejects,
 * with -EBADMSG: a label longer than 63, a name longer than 255, a pointer outside the
 * packet or not pointing strictly backwards (which also rules out loops), the reserved
 * label types 0x40/0x80, running off the end. Returns the name's length (>= 1).
 */
int dr_dname_read(const uint8_t *pkt, size_t len, size_t *off, uint8_t out[DR_NAME_MAX]);

/* Skips the name at *off without copying; same checks as dr_dname_read. Returns 0/-EBADMSG. */
int dr_dname_skip(const uint8_t *pkt, size_t len, size_t *off);

/* Length of a valid uncompressed name (up to and including the root label). */
size_t dr_dname_len(const uint8_t *name);

/* Whether key[0..len) is exactly one uncompressed name: a table key made of a name (and
 * dr_dname_len) is checked with this before it is read as one. */
bool dr_dname_is_key(const void *key, size_t len);

/* duet-control flush on a table keyed by zone names (the aggressive-NSEC sets, the key cache):
 * removes the entry of name itself, with subtree every zone below it, with above every zone
 * name lies in; name NULL removes everything, t NULL nothing. Returns how many went. */
struct dc_lru;
size_t dr_dname_table_flush(struct dc_lru *t, const uint8_t *name, bool subtree, bool above);

/* ASCII lower-casing of the label bytes (not the length bytes) of name, in place. */
void dr_dname_lower(uint8_t *name);
/* Copies name into out lower-cased; returns the length. */
size_t dr_dname_copy_lower(uint8_t *out, const uint8_t *name);

/* Case-insensitive equality. */
bool dr_dname_equal(const uint8_t *a, const uint8_t *b);
/* Exact (case-sensitive) equality, for checking 0x20 echoes. */
bool dr_dname_equal_case(const uint8_t *a, const uint8_t *b);
/* Number of labels, not counting the root: "www.example." is 2, "." is 0. */
int dr_dname_labels(const uint8_t *name);
/* True when name is zone or lies below it (case-insensitive). Every name is under ".". */
bool dr_dname_is_sub(const uint8_t *name, const uint8_t *zone);
/* The name with its first n labels removed (a pointer into name); n beyond the label count
 * gives the root label. */
const uint8_t *dr_dname_strip(const uint8_t *name, int n);
/* Writes "*." followed by name (the wildcard at name, RFC 4592) into out; false when that
 * would be longer than a name may be. */
bool dr_dname_wildcard(const uint8_t *name, uint8_t out[DR_NAME_MAX]);
/* Canonical ordering (RFC 4034 §6.1) for sorted structures: <0, 0, >0. */
int dr_dname_compare(const uint8_t *a, const uint8_t *b);

/* Presentation form "www.example." ("." for the root), escaping '.', '\\' and non-printable
 * bytes as RFC 1035 does. Returns the length written (without NUL) or -ENOSPC. */
int dr_dname_to_str(const uint8_t *name, char *buf, size_t size);
/* Parses presentation form (trailing dot optional; "\\." and "\\DDD" escapes; "." or "" is
 * the root) into out. Returns the wire length or -EINVAL (empty label, label > 63,
 * name > 255, bad escape). */
int dr_dname_from_str(const char *s, uint8_t out[DR_NAME_MAX]);

/* Randomises the case of every ASCII letter in name (DNS 0x20), using the bits of rnd
 * (consumed one per letter, refilled through next_rnd when used up; next_rnd(arg) returns 32
 * fresh random bits). */
void dr_dname_randomize_case(uint8_t *name, uint32_t (*next_rnd)(void *), void *arg);

#endif
