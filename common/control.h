/*
 * The control socket: a UNIX stream socket on the main thread's loop where `duet-control`
 * sends one command line and reads one reply, then the connection closes (the model of
 * unbound-control, without TLS: access is the socket file's mode, 0660, root and the
 * service's group).
 *
 * Protocol: the client writes "COMMAND [ARG...]\n" (at most 4 KiB); the server answers with
 * text and closes. A reply whose first line starts with "error:" is a failure; duet-control
 * prints the reply and exits 1 then, 0 otherwise.
 */
#ifndef DUET_COMMON_CONTROL_H
#define DUET_COMMON_CONTROL_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/addr.h"

#define DC_CONTROL_MAX_ARGS 8

struct dc_control;

/* A reply being written; grows as needed (bounded at 16 MiB). */
struct dc_control_reply {
    char *buf;
    size_t len, cap;
};

void dc_control_printf(struct dc_control_reply *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Handles one command on the main thread. argv[0] is the command. */
typedef void (*dc_control_cb)(void *arg, int argc, char **argv, struct dc_control_reply *r);

/*
 * Listens on path (a stale socket file is replaced; the file gets mode 0660). Returns the
 * server, or NULL with *err set to a negative errno.
 */
struct dc_control *dc_control_open(uv_loop_t *loop, const char *path, dc_control_cb cb,
                                   void *arg, int *err);
/*
 * The same server speaking just enough HTTP/1.0 for a Prometheus scrape, on a TCP address:
 * the request head is read (at most 4 KiB, until the blank line), cb gets argv = {method,
 * path}, and what it writes becomes the body of a "200 OK" (text/plain; version=0.0.4)
 * reply, or of a 404 when it starts with "error:". Returns NULL with *err on failure.
 */
struct dc_control *dc_control_open_http(uv_loop_t *loop, const union dc_sockaddr *addr,
                                        dc_control_cb cb, void *arg, int *err);

/*
 * A daemon's usual pair: the control socket at path ("" = none) and the metrics listener at
 * metrics ("addr:port", port default_port when omitted; "" = none), both on the main loop.
 * Logs why on failure. Returns 0 or a negative errno (nothing is left open then).
 */
int dc_control_open_all(uv_loop_t *loop, const char *path, const char *metrics,
                        uint16_t default_port, dc_control_cb control_cb, dc_control_cb metrics_cb,
                        void *arg, struct dc_control **control, struct dc_control **metrics_out);
/* Closes both (either may be NULL) and sets them to NULL. */
void dc_control_close_all(struct dc_control **control, struct dc_control **metrics);

/* One Prometheus counter family: HELP and TYPE lines, then one sample per value, each the
 * sum over workers of counter idx[i] of stats, labelled label="values[i]" (label NULL: a
 * single unlabelled sample). */
struct dc_stats;
void dc_control_counter(struct dc_control_reply *r, const struct dc_stats *stats,
                        const char *name, const char *help, const char *label,
                        const char *const *values, const unsigned *idx, size_t n);

/* One Prometheus histogram in seconds from per-worker counters: counters first ..
 * first+nbuckets-1 count observations up to bounds_ms[i] (the last one: above them all,
 * nbuckets-1 bounds), sum_us_idx holds the sum in microseconds. Buckets are written
 * cumulative, ending with +Inf, then _sum and _count. */
void dc_control_histogram(struct dc_control_reply *r, const struct dc_stats *stats,
                          const char *name, const char *help, unsigned first,
                          const uint32_t *bounds_ms, unsigned nbuckets, unsigned sum_us_idx);

/* Stops listening, closes client connections, removes the socket file, frees the server
 * once its handles have closed. */
void dc_control_close(struct dc_control *c);

#endif
