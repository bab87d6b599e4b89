/*
 * Virtual hosts: which [site] a name belongs to, for SNI and for the Host header.
 * Pure: no I/O.
 */
#ifndef DUET_ORIGIN_VHOST_H
#define DUET_ORIGIN_VHOST_H

#include <stddef.h>

struct dw_conf;

/*
 * The site serving name (a host name without port, any case, a trailing dot ignored):
 * an exact server-name first, then the longest matching "*.suffix" wildcard ("*.example.test"
 * matches "a.example.test" and "a.b.example.test" but not "example.test"). Returns the index
 * into conf->sites, or -1 when no site names it.
 */
int dw_vhost_match(const struct dw_conf *conf, const char *name, size_t len);

/*
 * Splits a Host header value into host and port: "example.test", "example.test:8443",
 * "[::1]:8443", "127.0.0.1". Sets *host and *hostlen to the host part (without brackets) and
 * *port (0 when absent). Returns 0, or -EINVAL for a value that is not a valid host
 * (empty, bad port, characters outside RFC 3986 reg-name / IP-literal).
 */
int dw_vhost_split_host(const char *value, size_t len, const char **host, size_t *hostlen,
                        unsigned *port);

#endif
