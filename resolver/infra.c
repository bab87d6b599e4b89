#include "resolver/infra.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MIN_RTO 50
#define MAX_RTO 120000

struct dr_infra_entry {
    struct dr_infra_entry *next;
    union dc_sockaddr addr;
    int32_t srtt, rttvar; /* ms; srtt < 0: never measured */
    uint32_t rto;
    uint32_t timeouts;
    uint64_t dead_until;  /* monotonic ms */
    uint32_t dead_backoff;
    bool no_edns;
};

static size_t
addr_hash(const union dc_sockaddr *a)
{
    /* Not attacker-chosen in a harmful way: servers come from referrals, bounded per query,
     * and the table is bounded. FNV-1a over address and port. */
    const uint8_t *p;
    size_t n;
    if (a->sa.sa_family == AF_INET) {
        p = (const uint8_t *)&a->in.sin_addr;
        n = 4;
    } else {
        p = (const uint8_t *)&a->in6.sin6_addr;
        n = 16;
    }
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    h = (h ^ dc_addr_port(a)) * 1099511628211ull;
    return (size_t)h;
}

int
dr_infra_init(struct dr_infra *in)
{
    in->nbuckets = 1024;
    in->count = 0;
    in->buckets = calloc(in->nbuckets, sizeof(*in->buckets));
    return in->buckets ? 0 : -ENOMEM;
}

static void
clear(struct dr_infra *in)
{
    for (size_t i = 0; i < in->nbuckets; i++) {
        struct dr_infra_entry *e = in->buckets[i];
        while (e) {
            struct dr_infra_entry *n = e->next;
            free(e);
            e = n;
        }
        in->buckets[i] = NULL;
    }
    in->count = 0;
}

void
dr_infra_deinit(struct dr_infra *in)
{
    if (in->buckets == NULL)
        return;
    clear(in);
    free(in->buckets);
    in->buckets = NULL;
}

static struct dr_infra_entry *
find(struct dr_infra *in, const union dc_sockaddr *addr, bool create)
{
    size_t b = addr_hash(addr) & (in->nbuckets - 1);
    for (struct dr_infra_entry *e = in->buckets[b]; e; e = e->next)
        if (dc_addr_equal(&e->addr, addr))
            return e;
    if (!create)
        return NULL;
    if (in->count >= DR_INFRA_MAX_ENTRIES)
        clear(in); /* rare; everything is relearned quickly */
    struct dr_infra_entry *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    e->addr = *addr;
    e->srtt = -1;
    e->rto = DR_INFRA_UNKNOWN_RTT * 2;
    e->next = in->buckets[b];
    in->buckets[b] = e;
    in->count++;
    return e;
}

void
dr_infra_get(struct dr_infra *in, const union dc_sockaddr *addr, uint64_t now_ms,
             uint32_t max_timeout_ms, struct dr_infra_info *out)
{
    struct dr_infra_entry *e = find(in, addr, false);
    memset(out, 0, sizeof(*out));
    out->srtt_ms = DR_INFRA_UNKNOWN_RTT;
    out->rto_ms = max_timeout_ms;
    if (e == NULL)
        return;
    if (e->srtt >= 0)
        out->srtt_ms = (uint32_t)e->srtt;
    out->rto_ms = e->rto < max_timeout_ms ? e->rto : max_timeout_ms;
    out->no_edns = e->no_edns;
    out->timeouts = e->timeouts;
    out->dead = e->dead_until > now_ms;
}

void
dr_infra_rtt(struct dr_infra *in, const union dc_sockaddr *addr, uint32_t rtt_ms)
{
    struct dr_infra_entry *e = find(in, addr, true);
    if (e == NULL)
        return;
    int32_t r = rtt_ms > MAX_RTO ? MAX_RTO : (int32_t)rtt_ms;
    if (e->srtt < 0) {
        e->srtt = r;
        e->rttvar = r / 2;
    } else {
        int32_t delta = r - e->srtt;
        e->srtt += delta / 8;
        e->rttvar += ((delta < 0 ? -delta : delta) - e->rttvar) / 4;
    }
    int64_t rto = (int64_t)e->srtt + 4 * (int64_t)e->rttvar;
    e->rto = (uint32_t)(rto < MIN_RTO ? MIN_RTO : rto > MAX_RTO ? MAX_RTO : rto);
    e->timeouts = 0;
    e->dead_until = 0;
    e->dead_backoff = 0;
}

void
dr_infra_timeout(struct dr_infra *in, const union dc_sockaddr *addr, uint64_t now_ms)
{
    struct dr_infra_entry *e = find(in, addr, true);
    if (e == NULL)
        return;
    e->timeouts++;
    e->rto = e->rto * 2 > MAX_RTO ? MAX_RTO : e->rto * 2;
    if (e->srtt < 0 || (uint32_t)e->srtt < e->rto)
        e->srtt = (int32_t)e->rto; /* rank it behind servers that answer */
    if (e->timeouts >= 3) {
        e->dead_backoff = e->dead_backoff ? e->dead_backoff * 2 : 60000;
        if (e->dead_backoff > 900000)
            e->dead_backoff = 900000;
        e->dead_until = now_ms + e->dead_backoff;
    }
}

void
dr_infra_set_no_edns(struct dr_infra *in, const union dc_sockaddr *addr)
{
    struct dr_infra_entry *e = find(in, addr, true);
    if (e)
        e->no_edns = true;
}
