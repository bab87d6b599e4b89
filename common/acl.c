#include "common/acl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* True when the first bits bits of a and b agree. */
static bool
prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    unsigned full = bits / 8, rest = bits % 8;
    if (memcmp(a, b, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return ((a[full] ^ b[full]) & mask) == 0;
}

/* True when some bit after the first bits bits of the len-byte address a is set. */
static bool
host_bits_set(const uint8_t *a, size_t len, unsigned bits)
{
    unsigned full = bits / 8, rest = bits % 8;
    size_t i = full;
    if (rest != 0) {
        if (a[i] & (uint8_t)(0xff >> rest))
            return true;
        i++;
    }
    for (; i < len; i++)
        if (a[i] != 0)
            return true;
    return false;
}

/* "0".."128": decimal digits only, no sign, no spaces, at most three of them. */
static int
parse_prefixlen(const char *s, unsigned max, unsigned *out)
{
    unsigned v = 0;
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        if (s[n] < '0' || s[n] > '9' || n >= 3)
            return -EINVAL;
        v = v * 10 + (unsigned)(s[n] - '0');
    }
    if (n == 0 || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

/*
 * Addresses go through inet_pton, so no names, scopes or brackets: an ACL is about address
 * ranges, and "[::1]/128" or "fe80::1%eth0/64" would only hide what the rule covers.
 */
int
dc_cidr_parse(const char *s, struct dc_cidr *out)
{
    char text[INET6_ADDRSTRLEN];
    struct dc_cidr c;

    if (s == NULL)
        return -EINVAL;
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    if (alen == 0 || alen >= sizeof(text))
        return -EINVAL;
    memcpy(text, s, alen);
    text[alen] = '\0';

    memset(&c, 0, sizeof(c));
    unsigned max;
    if (inet_pton(AF_INET, text, c.addr) == 1) {
        c.family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, text, c.addr) == 1) {
        c.family = AF_INET6;
        max = 128;
    } else {
        return -EINVAL;
    }

    unsigned len = max;
    if (slash != NULL && parse_prefixlen(slash + 1, max, &len) < 0)
        return -EINVAL;
    if (host_bits_set(c.addr, max / 8, len))
        return -EINVAL;
    c.prefixlen = (uint8_t)len;
    *out = c;
    return 0;
}

char *
dc_cidr_format(const struct dc_cidr *c, char *buf, size_t bufsize)
{
    char host[INET6_ADDRSTRLEN];
    if (bufsize == 0)
        return buf;
    if ((c->family != AF_INET && c->family != AF_INET6) ||
        inet_ntop(c->family, c->addr, host, sizeof(host)) == NULL) {
        snprintf(buf, bufsize, "(family %d)", (int)c->family);
        return buf;
    }
    snprintf(buf, bufsize, "%s/%u", host, (unsigned)c->prefixlen);
    return buf;
}

/*
 * An IPv4 client is matched by its four bytes whether it came in on a v4 socket or as
 * ::ffff:a.b.c.d on a v6 one, so a rule means the same thing on both kinds of listener. Such
 * a client meets a v6 entry only if that entry lies inside ::ffff:0:0/96: "::/0" means all of
 * IPv6 and does not quietly open the door to every IPv4 client as well.
 */
bool
dc_cidr_match(const struct dc_cidr *c, const union dc_sockaddr *addr)
{
    const uint8_t *v4 = NULL, *v6 = NULL;

    if (addr->sa.sa_family == AF_INET) {
        v4 = (const uint8_t *)&addr->in.sin_addr;
    } else if (addr->sa.sa_family == AF_INET6) {
        v6 = addr->in6.sin6_addr.s6_addr;
        if (memcmp(v6, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0)
            v4 = v6 + 12;
    } else {
        return false;
    }

    if (c->family == AF_INET)
        return v4 != NULL && c->prefixlen <= 32 && prefix_equal(c->addr, v4, c->prefixlen);
    if (c->family != AF_INET6 || c->prefixlen > 128)
        return false;
    if (v4 != NULL) {
        if (c->prefixlen < 96 || memcmp(c->addr, v4mapped_prefix, sizeof(v4mapped_prefix)) != 0)
            return false;
        return prefix_equal(c->addr + 12, v4, c->prefixlen - 96u);
    }
    return prefix_equal(c->addr, v6, c->prefixlen);
}

bool
dc_acl_match(const struct dc_acl *acl, const union dc_sockaddr *addr)
{
    for (size_t i = 0; i < acl->n; i++)
        if (dc_cidr_match(&acl->v[i], addr))
            return true;
    return false;
}
