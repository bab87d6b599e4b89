/*
 * duet-resolver's UDP client side: queries in, replies out, in batches. Each listening
 * socket reads with recvmmsg (libuv's UV_UDP_RECVMMSG: up to DR_UDP_BATCH datagrams per
 * system call), and the replies a batch can give at once (cache hits, local data, errors)
 * leave together in one sendmmsg when the batch has been read, so a busy worker spends two
 * system calls per batch instead of two per query. Replies that need a resolution are sent
 * one by one when it ends. Nothing here allocates per query but a resolution's client.
 */
#ifndef DUET_RESOLVER_UDP_H
#define DUET_RESOLVER_UDP_H

#include <uv.h>

#define DR_UDP_BATCH 20 /* datagrams per recvmmsg/sendmmsg: libuv's recvmmsg width */

struct dr_worker;

/* Takes over the bound UDP socket fd as h on wk's loop and starts reading. 0 or a negative
 * errno (then fd is still the caller's unless h was initialised: see dc_listen_adopt_udp). */
int dr_udp_open(struct dr_worker *wk, uv_udp_t *h, int fd);
/* Frees wk's batch buffers (after every UDP handle has closed). */
void dr_udp_free(struct dr_worker *wk);

#endif
