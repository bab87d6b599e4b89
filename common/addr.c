#include "common/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

/* Longest address text we accept: a v6 literal, '%', an interface name or number. Anything
 * longer cannot be an address, so it is rejected before copying. */
#define ADDR_TEXT_MAX (INET6_ADDRSTRLEN + 1 + IF_NAMESIZE)

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/*
 * A port as users write it: 1 to 5 decimal digits, value 1..65535, nothing else. strtoul is
 * not used because it accepts leading spaces, '+' and '-' ("-1" would wrap to a big number).
 */
static int
parse_port(const char *s, uint16_t *out)
{
    uint32_t v = 0;
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        if (s[n] < '0' || s[n] > '9' || n >= 5)
            return -EINVAL;
        v = v * 10 + (uint32_t)(s[n] - '0');
    }
    if (n == 0 || v == 0 || v > 65535)
        return -EINVAL;
    *out = (uint16_t)v;
    return 0;
}

/*
 * The scope after '%': an interface name known to this host, or a number (an index, as
 * "fe80::1%2" is written by tools that print indexes). An unknown name is an error rather
 * than scope 0, which would silently pick no interface.
 */
static int
parse_scope(const char *s, uint32_t *out)
{
    if (*s == '\0')
        return -EINVAL;
    if (s[strspn(s, "0123456789")] == '\0' && strlen(s) <= 10) {
        unsigned long long v = 0;
        for (const char *p = s; *p; p++)
            v = v * 10 + (unsigned)(*p - '0');
        if (v > UINT32_MAX)
            return -EINVAL;
        *out = (uint32_t)v;
        return 0;
    }
    unsigned idx = if_nametoindex(s);
    if (idx == 0)
        return -EINVAL;
    *out = idx;
    return 0;
}

/* Parses a v6 literal with an optional %scope, len bytes of s (no brackets). */
static int
parse_v6(const char *s, size_t len, uint16_t port, union dc_sockaddr *out)
{
    char text[ADDR_TEXT_MAX + 1];
    if (len == 0 || len > ADDR_TEXT_MAX)
        return -EINVAL;
    memcpy(text, s, len);
    text[len] = '\0';

    uint32_t scope = 0;
    char *pct = strchr(text, '%');
    if (pct != NULL) {
        *pct = '\0';
        if (parse_scope(pct + 1, &scope) < 0)
            return -EINVAL;
    }
    struct in6_addr a;
    if (inet_pton(AF_INET6, text, &a) != 1)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    out->in6.sin6_family = AF_INET6;
    out->in6.sin6_addr = a;
    out->in6.sin6_port = htons(port);
    out->in6.sin6_scope_id = scope;
    return 0;
}

/* Parses a dotted quad, len bytes of s. inet_pton rejects "1.2.3", "01.2.3.4" and the like. */
static int
parse_v4(const char *s, size_t len, uint16_t port, union dc_sockaddr *out)
{
    char text[INET_ADDRSTRLEN];
    if (len == 0 || len >= sizeof(text))
        return -EINVAL;
    memcpy(text, s, len);
    text[len] = '\0';
    struct in_addr a;
    if (inet_pton(AF_INET, text, &a) != 1)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    out->in.sin_family = AF_INET;
    out->in.sin_addr = a;
    out->in.sin_port = htons(port);
    return 0;
}

/*
 * The form decides the family before any parsing: '[' opens a v6 address with an optional
 * port; two or more colons without brackets are a bare v6 address (which can carry no port,
 * since "::1:53" is itself an address); exactly one colon separates a v4 address from its
 * port. *out is only written on success.
 */
int
dc_addr_parse(const char *s, uint16_t default_port, union dc_sockaddr *out)
{
    union dc_sockaddr tmp;
    uint16_t port = default_port;
    int rc;

    if (s == NULL || *s == '\0')
        return -EINVAL;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL)
            return -EINVAL;
        if (close[1] == ':') {
            if (parse_port(close + 2, &port) < 0)
                return -EINVAL;
        } else if (close[1] != '\0') {
            return -EINVAL;
        }
        rc = parse_v6(s + 1, (size_t)(close - s - 1), port, &tmp);
    } else {
        const char *colon = strchr(s, ':');
        if (colon != NULL && strchr(colon + 1, ':') != NULL) {
            rc = parse_v6(s, strlen(s), port, &tmp);
        } else if (colon != NULL) {
            if (parse_port(colon + 1, &port) < 0)
                return -EINVAL;
            rc = parse_v4(s, (size_t)(colon - s), port, &tmp);
        } else {
            rc = parse_v4(s, strlen(s), port, &tmp);
        }
    }
    if (rc < 0)
        return rc;
    *out = tmp;
    return 0;
}

char *
dc_addr_format(const union dc_sockaddr *a, bool with_port, char *buf, size_t bufsize)
{
    char host[INET6_ADDRSTRLEN];
    char scope[IF_NAMESIZE + 1] = "";

    if (bufsize == 0)
        return buf;
    switch (a->sa.sa_family) {
    case AF_INET:
        inet_ntop(AF_INET, &a->in.sin_addr, host, sizeof(host));
        if (with_port)
            snprintf(buf, bufsize, "%s:%u", host, (unsigned)ntohs(a->in.sin_port));
        else
            snprintf(buf, bufsize, "%s", host);
        break;
    case AF_INET6:
        inet_ntop(AF_INET6, &a->in6.sin6_addr, host, sizeof(host));
        /* Print the scope the way it parses back: by name when the interface exists. */
        if (a->in6.sin6_scope_id != 0) {
            char name[IF_NAMESIZE];
            if (if_indextoname(a->in6.sin6_scope_id, name) != NULL)
                snprintf(scope, sizeof(scope), "%%%s", name);
            else
                snprintf(scope, sizeof(scope), "%%%u", (unsigned)a->in6.sin6_scope_id);
        }
        if (with_port)
            snprintf(buf, bufsize, "[%s%s]:%u", host, scope, (unsigned)ntohs(a->in6.sin6_port));
        else
            snprintf(buf, bufsize, "%s%s", host, scope);
        break;
    default:
        snprintf(buf, bufsize, "(family %d)", (int)a->sa.sa_family);
        break;
    }
    return buf;
}

socklen_t
dc_addr_len(const union dc_sockaddr *a)
{
    switch (a->sa.sa_family) {
    case AF_INET:
        return sizeof(struct sockaddr_in);
    case AF_INET6:
        return sizeof(struct sockaddr_in6);
    default:
        return 0;
    }
}

uint16_t
dc_addr_port(const union dc_sockaddr *a)
{
    switch (a->sa.sa_family) {
    case AF_INET:
        return ntohs(a->in.sin_port);
    case AF_INET6:
        return ntohs(a->in6.sin6_port);
    default:
        return 0;
    }
}

void
dc_addr_set_port(union dc_sockaddr *a, uint16_t port)
{
    if (a->sa.sa_family == AF_INET)
        a->in.sin_port = htons(port);
    else if (a->sa.sa_family == AF_INET6)
        a->in6.sin6_port = htons(port);
}

/* Rewrites a v4-mapped v6 address as the v4 address it stands for; others are copied. */
static void
unmap(const union dc_sockaddr *a, union dc_sockaddr *out)
{
    if (a->sa.sa_family == AF_INET6 &&
        memcmp(a->in6.sin6_addr.s6_addr, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0) {
        memset(out, 0, sizeof(*out));
        out->in.sin_family = AF_INET;
        out->in.sin_port = a->in6.sin6_port;
        memcpy(&out->in.sin_addr, a->in6.sin6_addr.s6_addr + 12, 4);
        return;
    }
    *out = *a;
}

/* The scope id counts as part of a v6 address: fe80::1 on two links is two different hosts. */
bool
dc_addr_equal(const union dc_sockaddr *a, const union dc_sockaddr *b)
{
    union dc_sockaddr x, y;
    unmap(a, &x);
    unmap(b, &y);
    if (x.sa.sa_family != y.sa.sa_family)
        return false;
    if (x.sa.sa_family == AF_INET)
        return x.in.sin_addr.s_addr == y.in.sin_addr.s_addr && x.in.sin_port == y.in.sin_port;
    if (x.sa.sa_family == AF_INET6)
        return memcmp(&x.in6.sin6_addr, &y.in6.sin6_addr, sizeof(x.in6.sin6_addr)) == 0 &&
               x.in6.sin6_port == y.in6.sin6_port && x.in6.sin6_scope_id == y.in6.sin6_scope_id;
    return false;
}

bool
dc_addr_is_loopback(const union dc_sockaddr *a)
{
    union dc_sockaddr x;
    unmap(a, &x);
    if (x.sa.sa_family == AF_INET)
        return (ntohl(x.in.sin_addr.s_addr) >> 24) == 127;
    if (x.sa.sa_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&x.in6.sin6_addr);
    return false;
}
