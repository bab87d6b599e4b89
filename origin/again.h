/*
 * "Not finished yet", one code for every reader of duet-origin (nginx's NGX_AGAIN): the HTTP
 * parser (origin/http.c) and the TLS session (origin/tls.c) return DW_AGAIN when they need
 * more bytes from the peer, and are called again once those arrive. It is not an error.
 * It is negative, -EAGAIN (libuv's UV_EAGAIN), so it never reads as a byte count, an HTTP
 * status or DW_HTTP_DONE, and sits with the negative errno values beside it.
 */
#ifndef DUET_ORIGIN_AGAIN_H
#define DUET_ORIGIN_AGAIN_H

#include <errno.h>

#define DW_AGAIN (-EAGAIN)

#endif
