/*
 * TLS for duet-origin through OpenSSL 3 with memory BIOs: the connection code moves
 * ciphertext between its libuv stream and this module, which never touches a socket.
 *
 * Policy (what nginx's and Mozilla's "intermediate" configurations give): TLS 1.2 and 1.3
 * only; ECDHE key exchange with AEAD ciphers (AES-GCM, ChaCha20-Poly1305) in the server's
 * order (ChaCha20 first for a client that lists it first: no AES hardware); no renegotiation;
 * ALPN offers "http/1.1" only; per site one or more certificate/key pairs (ECDSA and RSA side
 * by side, OpenSSL picks what the client supports); SNI selects the site's context, an
 * unknown or missing name gets the default site (matching by origin/vhost.c).
 *
 * Resumption: session tickets (TLS 1.2 and 1.3) and a server-side cache for TLS 1.2 session
 * IDs. Each site has its own ticket keys (the current key encrypts, the previous ones still
 * decrypt) and its own session ID context, so a session never resumes under another site's
 * name (RFC 6066 §3). A site's keys belong to its name, not to one loaded configuration: a
 * reload that keeps the site keeps them. A resumed TLS 1.3 handshake gets a fresh ticket.
 */
#ifndef DUET_ORIGIN_TLS_H
#define DUET_ORIGIN_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "origin/again.h"

struct dc_bufpool;
struct dw_conf;
struct dw_tls;
typedef struct ssl_st SSL;

/* Besides DW_AGAIN (origin/again.h: more ciphertext from the peer is needed, after flushing
 * output), a session's calls may return: */
#define DW_TLS_ERROR (-71) /* the session failed: log, close the connection */

/*
 * Loads the certificates and keys of every site of conf into one context per site, and
 * sets up ticket keys (those of a site of the same name in a configuration still loaded, or
 * new ones) and the session cache. Problems (missing or unreadable file, a key
 * that does not match its certificate, an expired certificate is only a warning) are
 * reported with dc_conf_error at the line of the site's cert option (conf->sites[i].
 * cert_lines). Returns NULL after reporting when anything failed.
 * Thread-safety: the result is shared by all workers; only ticket-key rotation writes, under
 * a lock.
 */
struct dw_tls *dw_tls_new(const struct dw_conf *conf, struct dc_conf_ctx *ctx);
void dw_tls_free(struct dw_tls *t);

/* For every site of t: makes a fresh ticket-encryption key current, keeping the previous two
 * for decryption. Keys shared with another loaded configuration (a reload) turn for it too.
 * Any thread. 0 or -EIO (no randomness; the sites it failed for keep their keys). */
int dw_tls_rotate_ticket_keys(struct dw_tls *t);

/* Per site: seconds until the first certificate expires (negative when expired), for
 * `duet-control sites`. */
int64_t dw_tls_site_expiry(const struct dw_tls *t, size_t site);

/*
 * Ciphertext waiting in one direction: bytes [head, tail) of data. OpenSSL reads and writes
 * it through a BIO of ours (tls.c) instead of a memory BIO, whose buffer keeps the largest
 * size it ever grew to (~88 KiB after one 64 KiB chunk) for as long as the connection lives.
 * The storage is a buffer of the worker's pool, taken when the first byte arrives (a burst
 * larger than the pool's buffers gets its own allocation), and dw_tls_conn_trim gives it
 * back once the queue is empty.
 */
struct dw_tls_queue {
    uint8_t *data;
    size_t cap, head, tail;
    struct dc_bufpool *pool; /* NULL: allocations of its own */
};

/* One server-side TLS session. Embedded in the connection object; its queues are the BIOs'
 * state, so it must not move while the SSL lives. */
struct dw_tls_conn {
    SSL *ssl;
    struct dw_tls_queue in;  /* ciphertext from the network (dw_tls_conn_feed) */
    struct dw_tls_queue out; /* ciphertext for the network (dw_tls_conn_out) */
    struct dw_tls *tls;
    int site; /* index into conf->sites chosen by SNI (or the default), -1 before SNI */
    bool handshake_done;
};

/* The queues borrow from inpool and outpool (either NULL: plain allocations); the pools
 * must outlive the session. 0, or -ENOMEM. */
int dw_tls_conn_init(struct dw_tls_conn *c, struct dw_tls *t, struct dc_bufpool *inpool,
                     struct dc_bufpool *outpool);
void dw_tls_conn_deinit(struct dw_tls_conn *c);

/* Gives the storage of an empty queue back to its pool: an idle connection holds only its
 * SSL object (OpenSSL's record buffers go too, with SSL_free_buffers). */
void dw_tls_conn_trim(struct dw_tls_conn *c);

/* Ciphertext received from the peer. 0 or -ENOMEM. */
int dw_tls_conn_feed(struct dw_tls_conn *c, const void *data, size_t len);

/* The flow trace's view of a ClientHello: called, while tracing is on, with the ALPN
 * protocols the client offered (wire form: length-prefixed names). Set once at start by
 * origin/trace.c; NULL: nothing is reported. */
extern void (*dw_tls_hello_hook)(struct dw_tls_conn *c, const unsigned char *alpn, unsigned len);

/* Continues the handshake: 0 when it is complete, DW_AGAIN, or DW_TLS_ERROR. */
int dw_tls_conn_handshake(struct dw_tls_conn *c);

/* Decrypted application data into buf: > 0 bytes, 0 when the peer sent close_notify,
 * DW_AGAIN when more ciphertext is needed, DW_TLS_ERROR. */
int dw_tls_conn_read(struct dw_tls_conn *c, void *buf, size_t cap);

/* Encrypts len bytes of application data (all of it; memory BIOs never block). 0 or
 * DW_TLS_ERROR. */
int dw_tls_conn_write(struct dw_tls_conn *c, const void *data, size_t len);

/* Sends close_notify (to be flushed with dw_tls_conn_out). */
void dw_tls_conn_shutdown(struct dw_tls_conn *c);

/* Ciphertext waiting to be sent: copies up to cap bytes into buf and removes them from the
 * BIO; returns the number copied (0: nothing pending). */
size_t dw_tls_conn_out(struct dw_tls_conn *c, void *buf, size_t cap);
/* The same without a copy: *q takes the out queue whole (bytes [q->head, q->tail) of q->data
 * are the ciphertext) and the session starts a new queue at its next record, so the bytes
 * stay put while a write sends them from there. Returns the byte count (0: nothing pending,
 * *q empty). Give the storage back with dw_tls_queue_free(q) once written. */
size_t dw_tls_conn_out_take(struct dw_tls_conn *c, struct dw_tls_queue *q);
void dw_tls_queue_free(struct dw_tls_queue *q);
size_t dw_tls_conn_out_pending(const struct dw_tls_conn *c);

/* Ciphertext received and not yet decrypted (for back-pressure while a response is out). */
size_t dw_tls_conn_in_pending(const struct dw_tls_conn *c);

/* After the handshake: "TLSv1.3" / "TLSv1.2", whether the session was resumed, the ALPN
 * protocol agreed ("http/1.1" or "" when none). */
const char *dw_tls_conn_version(const struct dw_tls_conn *c);
bool dw_tls_conn_resumed(const struct dw_tls_conn *c);
const char *dw_tls_conn_alpn(const struct dw_tls_conn *c);

#endif
