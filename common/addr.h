/*
 * Socket addresses as users write them: "127.0.0.1", "127.0.0.1:53", "::1", "[::1]:53",
 * "0.0.0.0:443", "[::]:443". Parsing and printing only: no sockets, no name lookups (a host
 * name is an error, never resolved).
 */
#ifndef DUET_COMMON_ADDR_H
#define DUET_COMMON_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>

union dc_sockaddr {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
    struct sockaddr_storage ss;
};

/* Longest text dc_addr_format() writes: "[v6%scope]:65535" plus NUL. */
#define DC_ADDR_STRLEN 64

/*
 * Parses s into out. Accepted: IPv4 "a.b.c.d" and "a.b.c.d:port"; IPv6 "x::y" (bare, no
 * port) and "[x::y]:port" and "[x::y]"; IPv6 scope "fe80::1%lo". Where s gives no port,
 * default_port is used (0 allowed). Returns 0, or -EINVAL for anything else (host names,
 * empty string, port out of 1..65535 or not a number, junk after the address).
 */
int dc_addr_parse(const char *s, uint16_t default_port, union dc_sockaddr *out);

/* Writes "1.2.3.4:53" or "[::1]:53" (with_port) or "1.2.3.4" / "::1" into buf; returns buf.
 * bufsize should be DC_ADDR_STRLEN. */
char *dc_addr_format(const union dc_sockaddr *a, bool with_port, char *buf, size_t bufsize);

/* sizeof the address for bind()/sendto(): sizeof(struct sockaddr_in) or _in6, 0 if unknown. */
socklen_t dc_addr_len(const union dc_sockaddr *a);
uint16_t dc_addr_port(const union dc_sockaddr *a);
void dc_addr_set_port(union dc_sockaddr *a, uint16_t port);
/* Same family, address and port. A v4-mapped v6 address equals its v4 form. */
bool dc_addr_equal(const union dc_sockaddr *a, const union dc_sockaddr *b);
/* True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
bool dc_addr_is_loopback(const union dc_sockaddr *a);

#endif
