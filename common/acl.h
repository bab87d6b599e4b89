/*
 * Access control lists: a list of CIDR prefixes ("127.0.0.0/8", "::1/128", "10.0.0.1" as a
 * /32, "2001:db8::/32") and a match function. An IPv4 client reaching an IPv6 socket arrives
 * as ::ffff:a.b.c.d; it matches IPv4 entries as the IPv4 address it is, and an IPv6 entry
 * only if the entry itself is a v4-mapped prefix.
 *
 * Matching is read-only, allocation-free and safe from any thread once built.
 */
#ifndef DUET_COMMON_ACL_H
#define DUET_COMMON_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

struct dc_cidr {
    uint8_t family;    /* AF_INET or AF_INET6 */
    uint8_t prefixlen; /* 0..32 or 0..128 */
    uint8_t addr[16];  /* network bytes; host bits are zero */
};

struct dc_acl {
    struct dc_cidr *v; /* owned by whoever built it (usually a config arena) */
    size_t n;
};

/*
 * Parses "addr/len" or a bare address (full-length prefix). Host bits set beyond the prefix
 * ("10.0.0.1/8") are an error, as in Unbound and nginx they silently widen a rule: -EINVAL.
 * Returns 0 or -EINVAL.
 */
int dc_cidr_parse(const char *s, struct dc_cidr *out);

/* Writes "10.0.0.0/8" into buf (DC_ADDR_STRLEN bytes suffice); returns buf. */
char *dc_cidr_format(const struct dc_cidr *c, char *buf, size_t bufsize);

/* True when addr lies inside c. */
bool dc_cidr_match(const struct dc_cidr *c, const union dc_sockaddr *addr);

/* True when any entry matches; an empty list matches nothing. */
bool dc_acl_match(const struct dc_acl *acl, const union dc_sockaddr *addr);

#endif
