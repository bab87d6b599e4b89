#include "resolver/inflight.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/lru.h"
#include "resolver/dname.h"
#include "resolver/msg.h"

int
dr_inflight_init(struct dr_inflight *t, size_t nbuckets)
{
    size_t n = 1;
    while (n < nbuckets)
        n <<= 1;
    t->buckets = calloc(n, sizeof(*t->buckets));
    t->nbuckets = n;
    t->count = 0;
    arc4random_buf(t->key, sizeof(t->key));
    return t->buckets ? 0 : -ENOMEM;
}

void
dr_inflight_deinit(struct dr_inflight *t)
{
    free(t->buckets);
    t->buckets = NULL;
    t->count = 0;
}

static size_t
bucket(const struct dr_inflight *t, const uint8_t *qname, uint16_t qtype, uint16_t qclass)
{
    uint8_t buf[DR_NAME_MAX + 4];
    size_t n = dr_dname_len(qname);
    memcpy(buf, qname, n);
    dr_put16(buf + n, qtype);
    dr_put16(buf + n + 2, qclass);
    return (size_t)dc_lru_siphash(t->key, buf, n + 4) & (t->nbuckets - 1);
}

struct dr_inflight_node *
dr_inflight_find(const struct dr_inflight *t, const uint8_t *qname, uint16_t qtype,
                 uint16_t qclass)
{
    for (struct dr_inflight_node *n = t->buckets[bucket(t, qname, qtype, qclass)]; n; n = n->next)
        if (n->qtype == qtype && n->qclass == qclass && dr_dname_equal(n->qname, qname))
            return n;
    return NULL;
}

void
dr_inflight_add(struct dr_inflight *t, struct dr_inflight_node *n)
{
    struct dr_inflight_node **b = &t->buckets[bucket(t, n->qname, n->qtype, n->qclass)];
    n->next = *b;
    *b = n;
    t->count++;
}

void
dr_inflight_remove(struct dr_inflight *t, struct dr_inflight_node *n)
{
    struct dr_inflight_node **p = &t->buckets[bucket(t, n->qname, n->qtype, n->qclass)];
    while (*p && *p != n)
        p = &(*p)->next;
    if (*p) {
        *p = n->next;
        t->count--;
    }
    n->next = NULL;
}
