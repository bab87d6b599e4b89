#include "resolver/srvpolicy.h"

#include <string.h>
#include <sys/socket.h>

#include "common/acl.h"

static bool
v4_never(const uint8_t *a, bool loopback_ok)
{
    if (a[0] == 0 || a[0] >= 224) /* this network; multicast; reserved and broadcast */
        return true;
    if (a[0] == 127)
        return !loopback_ok;
    if (a[0] == 169 && a[1] == 254) /* link-local */
        return true;
    return false;
}

bool
dr_server_allowed(const struct dr_conf *conf, const union dc_sockaddr *addr, bool configured)
{
    bool loopback_ok = conf->query_loopback || configured;
    bool family = false;
    int fam = addr->sa.sa_family;
    for (size_t i = 0; i < conf->outgoing.n; i++)
        family |= conf->outgoing.v[i].sa.sa_family == fam;
    if (!family)
        return false;
    if (fam == AF_INET) {
        if (v4_never((const uint8_t *)&addr->in.sin_addr, loopback_ok))
            return false;
    } else if (fam == AF_INET6) {
        const uint8_t *a = addr->in6.sin6_addr.s6_addr;
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        static const uint8_t zero[15] = {0};
        if (memcmp(a, mapped, 12) == 0) {
            if (v4_never(a + 12, loopback_ok))
                return false;
        } else if (memcmp(a, zero, 15) == 0 && a[15] == 1) {
            if (!loopback_ok)
                return false;
        } else if (memcmp(a, zero, 12) == 0) {
            return false; /* ::, IPv4-compatible */
        } else if (a[0] == 0xff || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)) {
            return false; /* multicast, link-local */
        }
    } else {
        return false;
    }
    if (conf->do_not_query.n > 0 && dc_acl_match(&conf->do_not_query, addr))
        return false;
    return true;
}
