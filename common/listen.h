/*
 * Listening sockets, one per worker per address, bound with SO_REUSEPORT so the kernel
 * spreads clients across workers with no shared accept lock.
 *
 * These functions create, configure and bind plain fds on the main thread (before the
 * privilege drop); each worker then adopts its fd into its own loop with uv_udp_open() or
 * uv_tcp_open() (dc_listen_adopt_*). Creating fds first also lets a socket-activated
 * daemon hand in fds it received from systemd instead.
 */
#ifndef DUET_COMMON_LISTEN_H
#define DUET_COMMON_LISTEN_H

#include <stdbool.h>
#include <uv.h>

#include "common/addr.h"
#include "common/sock.h"

/*
 * A bound, non-blocking UDP socket on addr with SO_REUSEPORT (and IPV6_V6ONLY for v6, so
 * "[::]:53" and "0.0.0.0:53" can both be bound), IP_PKTINFO/IPV6_RECVPKTINFO not set.
 * rcvbuf/sndbuf from o when non-zero (o may be NULL). Returns the fd or a negative errno.
 */
int dc_listen_udp_fd(const union dc_sockaddr *addr, const struct dc_sock_opts *o);

/*
 * A bound, listening, non-blocking TCP socket on addr with SO_REUSEADDR, SO_REUSEPORT,
 * IPV6_V6ONLY for v6, the listener options of o applied, and listen(backlog). Returns the fd
 * or a negative errno.
 */
int dc_listen_tcp_fd(const union dc_sockaddr *addr, const struct dc_sock_opts *o);

/* Adopt fds made above into a loop: uv_udp_init + uv_udp_open / uv_tcp_init + uv_tcp_open.
 * On success the handle owns the fd. Return 0 or a libuv error (the fd is then not owned).
 * mmsg: read with recvmmsg (UV_UDP_RECVMMSG): the alloc callback then hands out room for
 * several 64 KiB datagrams, and the read callback sees UV_UDP_MMSG_CHUNK / _FREE flags. */
int dc_listen_adopt_udp(uv_loop_t *loop, uv_udp_t *h, int fd, bool mmsg);
int dc_listen_adopt_tcp(uv_loop_t *loop, uv_tcp_t *h, int fd);

/*
 * Sockets handed over by systemd (socket activation, the sd_listen_fds(3) protocol):
 * when $LISTEN_PID is this process, fds 3 .. 3+$LISTEN_FDS-1. Returns the fd among them of
 * the given type (SOCK_DGRAM, SOCK_STREAM) bound to addr, or -1. The variables are read
 * once and then removed from the environment, so children do not see them.
 */
int dc_listen_systemd_find(const union dc_sockaddr *addr, int type);

/* Whether addr is free for a listener of type before any of ours is bound there: 0, or
 * -EADDRINUSE when another process holds it (or -errno). Our listeners set SO_REUSEPORT, and
 * the kernel lets any process of the same user that also sets it bind the same address and
 * then splits the traffic between the two, silently: a second daemon started on a port in
 * use would answer half the queries, and half would go to the first. Checked once per
 * address at start-up, before the first worker's bind; 0 for a socket systemd passed and for
 * port 0. */
int dc_listen_probe(const union dc_sockaddr *addr, int type);
/* dc_listen_probe, and a listen_failed line saying why when addr is not free. */
int dc_listen_check_free(const union dc_sockaddr *addr, int type);

/* A listening fd for one worker: a duplicate of systemd's socket for addr and type when
 * socket activation passed one (workers then share it), else a fresh SO_REUSEPORT socket as
 * dc_listen_udp_fd / dc_listen_tcp_fd make. *from_systemd tells which. fd or -errno. */
int dc_listen_worker_fd(const union dc_sockaddr *addr, int type, const struct dc_sock_opts *o,
                        bool *from_systemd);

/* The address an fd is bound to (port 0 binds give the real port back). 0 or -errno. */
int dc_listen_local_addr(int fd, union dc_sockaddr *out);

#endif
