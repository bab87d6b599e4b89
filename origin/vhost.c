#include "origin/vhost.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "origin/conf.h"

/* A DNS name is at most 253 characters without its trailing dot (RFC 1035 §2.3.4). */
#define NAME_MAX_LEN 253

/* Length without one trailing dot: "example.test." and "example.test" are the same host. */
static size_t
strip_dot(const char *s, size_t len)
{
    return len > 0 && s[len - 1] == '.' ? len - 1 : len;
}

/*
 * A linear scan over every site's names, exact names first: sites are few (nginx keeps
 * hash tables for thousands of server_names; a handful costs less than hashing), and it
 * allocates nothing. Ties keep config order: when two sites name the same host (or the
 * same wildcard), the first in the file wins.
 */
int
dw_vhost_match(const struct dw_conf *conf, const char *name, size_t len)
{
    if (conf == NULL || name == NULL)
        return -1;
    len = strip_dot(name, len);
    if (len == 0 || len > NAME_MAX_LEN || memchr(name, '\0', len) != NULL)
        return -1;

    for (size_t i = 0; i < conf->nsites; i++) {
        const struct dc_conf_strv *sn = &conf->sites[i].server_names;
        for (size_t j = 0; j < sn->n; j++) {
            const char *s = sn->v[j];
            size_t slen = strip_dot(s, strlen(s));
            if (s[0] != '*' && slen == len && strncasecmp(s, name, len) == 0)
                return (int)i;
        }
    }

    int best = -1;
    size_t best_len = 0;
    for (size_t i = 0; i < conf->nsites; i++) {
        const struct dc_conf_strv *sn = &conf->sites[i].server_names;
        for (size_t j = 0; j < sn->n; j++) {
            const char *s = sn->v[j];
            if (s[0] != '*' || s[1] != '.')
                continue;
            /* "*.example.test" matches when name ends in ".example.test" with at least one
             * character (one or more labels) before that dot. */
            const char *suffix = s + 1;
            size_t slen = strip_dot(suffix, strlen(suffix));
            if (slen < 2 || len <= slen || slen <= best_len)
                continue;
            if (strncasecmp(name + len - slen, suffix, slen) == 0) {
                best = (int)i;
                best_len = slen;
            }
        }
    }
    return best;
}

/* RFC 3986 reg-name characters: unreserved and sub-delims. pct-encoded is refused: no DNS
 * name needs it, and a name we would have to decode before matching is a smuggling vector. */
static bool
is_regname_char(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("-._~!$&'()*+,;=", c) != NULL;
}

/* 1 to 5 digits, 1..65535. An empty port ("host:") and port 0 are refused: RFC 3986
 * allows the former, but no client sends it on purpose, and 0 would read as "absent". */
static int
parse_port(const char *s, size_t n, unsigned *port)
{
    if (n == 0 || n > 5)
        return -EINVAL;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return -EINVAL;
    *port = v;
    return 0;
}

/*
 * Host = uri-host [ ":" port ] (RFC 9110 §7.2), uri-host = IP-literal / IPv4address /
 * reg-name (RFC 3986 §3.2.2). Strict, because the host picks the document root: no blanks,
 * no '/', '\' or '@' (a path or userinfo folded into the host), no empty labels ("a..b",
 * ".a"; a single trailing dot is the root label and is allowed), no bare IPv6, no IPvFuture
 * or zone IDs in brackets. nginx refuses ".." and '/' and lowers the case; we leave the case
 * to dw_vhost_match.
 */
int
dw_vhost_split_host(const char *value, size_t len, const char **host, size_t *hostlen,
                    unsigned *port)
{
    if (value == NULL || len == 0)
        return -EINVAL;
    const char *h, *rest;
    size_t hl;
    if (value[0] == '[') {
        const char *close = memchr(value, ']', len);
        if (close == NULL)
            return -EINVAL;
        h = value + 1;
        hl = (size_t)(close - h);
        char text[INET6_ADDRSTRLEN];
        struct in6_addr a;
        if (hl == 0 || hl >= sizeof(text))
            return -EINVAL;
        memcpy(text, h, hl);
        text[hl] = '\0';
        if (inet_pton(AF_INET6, text, &a) != 1)
            return -EINVAL;
        rest = close + 1;
    } else {
        h = value;
        const char *colon = memchr(value, ':', len);
        hl = colon != NULL ? (size_t)(colon - value) : len;
        if (hl == 0 || strip_dot(h, hl) == 0 || strip_dot(h, hl) > NAME_MAX_LEN)
            return -EINVAL;
        for (size_t i = 0; i < hl; i++) {
            if (!is_regname_char((unsigned char)h[i]))
                return -EINVAL;
            if (h[i] == '.' && (i == 0 || h[i - 1] == '.'))
                return -EINVAL;
        }
        rest = h + hl;
    }

    const char *end = value + len;
    unsigned p = 0;
    if (rest < end) {
        if (*rest != ':' || parse_port(rest + 1, (size_t)(end - rest - 1), &p) < 0)
            return -EINVAL;
    }
    *host = h;
    *hostlen = hl;
    *port = p;
    return 0;
}
