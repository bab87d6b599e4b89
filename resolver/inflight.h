/*
 * The in-flight table: the resolutions a worker has running, by question, so that an
 * identical question asked meanwhile joins the running resolution instead of starting its
 * own (Unbound's mesh, Knot's request de-duplication). Keyed SipHash with a random key per
 * table, so question names chosen by clients cannot pile into one bucket.
 *
 * Intrusive: the caller embeds a struct dr_inflight_node in its own object and keeps the
 * name it points to alive while the node is in the table. No allocation after init.
 */
#ifndef DUET_RESOLVER_INFLIGHT_H
#define DUET_RESOLVER_INFLIGHT_H

#include <stddef.h>
#include <stdint.h>

struct dr_inflight_node {
    struct dr_inflight_node *next;
    const uint8_t *qname; /* lower case, owned by the embedding object */
    uint16_t qtype, qclass;
};

struct dr_inflight {
    struct dr_inflight_node **buckets;
    size_t nbuckets; /* a power of two */
    size_t count;
    uint8_t key[16];
};

/* nbuckets is rounded up to a power of two. 0 or -ENOMEM. */
int dr_inflight_init(struct dr_inflight *t, size_t nbuckets);
void dr_inflight_deinit(struct dr_inflight *t);
/* The node for the question (qname lower case), or NULL. */
struct dr_inflight_node *dr_inflight_find(const struct dr_inflight *t, const uint8_t *qname,
                                          uint16_t qtype, uint16_t qclass);
/* Adds n (its question must not be in the table). */
void dr_inflight_add(struct dr_inflight *t, struct dr_inflight_node *n);
/* Removes n if it is in the table. */
void dr_inflight_remove(struct dr_inflight *t, struct dr_inflight_node *n);

#endif
