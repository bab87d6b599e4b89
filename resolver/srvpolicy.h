/*
 * Which addresses duet-resolver may ever send a query to: the rule that keeps a hostile
 * delegation (NS names whose glue or addresses point at 0.0.0.0, broadcast, multicast,
 * link-local, loopback or the operator's do-not-query ranges) from turning the resolver
 * against its own host or network. The iterator asks it for every address before a send.
 * Pure: no I/O.
 */
#ifndef DUET_RESOLVER_SRVPOLICY_H
#define DUET_RESOLVER_SRVPOLICY_H

#include <stdbool.h>

#include "common/addr.h"
#include "resolver/conf.h"

/* Whether a query may ever be sent to addr: not 0.0.0.0/8, ::, multicast, broadcast or
 * reserved space, not link-local, not loopback unless query-loopback or configured (an
 * address the operator wrote as forward-addr or stub-addr), not in do-not-query-address,
 * and of a family some outgoing-address has. v4-mapped IPv6 addresses are judged as the
 * IPv4 address inside. */
bool dr_server_allowed(const struct dr_conf *conf, const union dc_sockaddr *addr, bool configured);

#endif
