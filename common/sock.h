/*
 * Socket options for listeners and accepted connections: the TCP teardown and accept knobs
 * of DESIGN.md, each settable from config and each applied with setsockopt on a real fd.
 *
 *   fin-timeout      TCP_LINGER2: how long an orphaned socket stays in FIN_WAIT_2
 *   linger           SO_LINGER: off | 0 (close sends RST, no TIME_WAIT) | N seconds
 *   keepalive-probes SO_KEEPALIVE + TCP_KEEPIDLE:TCP_KEEPINTVL:TCP_KEEPCNT ("60s:10s:5")
 *   defer-accept     TCP_DEFER_ACCEPT: accept() only once data arrived (or after N s)
 *   fastopen         TCP_FASTOPEN queue length for the listener (0 = off)
 *   backlog          listen() backlog
 *   rcvbuf, sndbuf   SO_RCVBUF / SO_SNDBUF (0 = kernel default)
 *
 * Listener options (backlog, defer-accept, fastopen, buffers) are set on the listening
 * socket; per-connection ones (fin-timeout, linger, keepalive) are inherited by accepted
 * sockets on Linux for SO_LINGER, SO_KEEPALIVE and the TCP_KEEP* values, and TCP_LINGER2 is
 * set again on each accepted socket by dc_sock_apply_conn() because that is what makes it
 * hold for sure.
 */
#ifndef DUET_COMMON_SOCK_H
#define DUET_COMMON_SOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"

enum dc_linger_mode {
    DC_LINGER_OFF = 0, /* default close: FIN, TIME_WAIT on the side that closes first */
    DC_LINGER_ON,      /* SO_LINGER with linger_s seconds; 0 means abortive close (RST) */
};

struct dc_sock_opts {
    int64_t fin_timeout_ms; /* 0 = kernel default (net.ipv4.tcp_fin_timeout) */
    int linger_mode;        /* enum dc_linger_mode */
    int64_t linger_s;       /* with DC_LINGER_ON */
    bool keepalive;         /* set when keepalive-probes is given */
    int64_t keepidle_s, keepintvl_s, keepcnt;
    int64_t defer_accept_ms; /* 0 = off */
    int64_t fastopen;        /* TFO queue length; 0 = off */
    int64_t backlog;         /* default 511 */
    uint64_t rcvbuf, sndbuf; /* 0 = kernel default */
};

/* Defaults: everything off / kernel default, backlog 511. */
void dc_sock_opts_init(struct dc_sock_opts *o);

/*
 * Config rows for the knobs above, filling a struct dc_sock_opts that sits at `base` bytes
 * into a section struct. A daemon copies them into its [listen ADDR] table with
 * dc_sock_conf_rows(); the names are fin-timeout, linger, keepalive-probes, defer-accept,
 * fastopen, backlog, rcvbuf, sndbuf.
 */
extern const struct dc_conf_option dc_sock_conf_options[]; /* offsets relative to the opts */
/* Copies dc_sock_conf_options into out (room for DC_SOCK_CONF_NOPTS rows), adding base to
 * each offset. Returns the number of rows written. */
#define DC_SOCK_CONF_NOPTS 8
int dc_sock_conf_rows(struct dc_conf_option *out, size_t base);

/* Applies the listener-side options to a TCP socket before listen(): SO_RCVBUF/SO_SNDBUF,
 * TCP_DEFER_ACCEPT, TCP_FASTOPEN, plus the connection options so accepted sockets inherit
 * them. Returns 0 or a negative errno (the first failing setsockopt). */
int dc_sock_apply_listener(int fd, const struct dc_sock_opts *o);
/* Makes the next close() of fd send RST at once and drop whatever is unsent (SO_LINGER with a
 * zero timeout), for a peer that timed out: nginx's reset_timedout_connection. Returns 0 or a
 * negative errno. */
int dc_sock_reset_on_close(int fd);
/* Bytes written to fd that the kernel has not sent yet (the peer's window is shut, or
 * congestion control holds them; a pending FIN counts one), from SIOCOUTQNSD; a negative
 * errno when the kernel cannot tell. */
int dc_sock_unsent(int fd);
/* Bytes written to fd that the peer has not acknowledged yet, sent or not (SIOCOUTQ); a
 * negative errno when the kernel cannot tell. */
int dc_sock_unacked(int fd);
/* Whether o makes close() a reset (linger = 0). */
bool dc_sock_resets(const struct dc_sock_opts *o);
/* Applies per-connection options (TCP_LINGER2, SO_LINGER, keepalive) to an accepted socket.
 * Returns 0 or a negative errno. */
int dc_sock_apply_conn(int fd, const struct dc_sock_opts *o);

#endif
