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

/* Stops listening, closes client connections, removes the socket file, frees the server
 * once its handles have closed. */
void dc_control_close(struct dc_control *c);

#endif
