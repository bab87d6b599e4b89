/*
 * Session ticket keys a fleet of origins shares, so that a client resumes on whichever
 * origin behind a name it reaches next:
 *
 *  - ticket-key-file (nginx's format: 48 or 80 random bytes; repeat: the first encrypts,
 *    all decrypt), rotated by the operator replacing files and reloading;
 *  - ticket-secret-file: one secret all origins hold; the key of each period (the wall
 *    clock divided by ticket-key-lifetime) is derived from it, so the fleet rotates in step
 *    without talking (Knot Resolver's approach). The ring holds the current period's key
 *    (encrypts) and the previous one (decrypts): a ticket resumes until the end of the
 *    period after the one that issued it.
 *
 * Either way every site gets keys of its own, derived with the site's name (HKDF-SHA256,
 * RFC 5869), so a session still never resumes under another name (RFC 6066 §3).
 *
 * The keys live in per-site rings (below): shared by every loaded configuration that has the
 * site, read by handshakes on any worker thread and turned by rotation and reloads.
 */
#ifndef DUET_ORIGIN_TICKETKEY_H
#define DUET_ORIGIN_TICKETKEY_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dw_conf;

#define DW_TICKET_MATERIAL_MAX 80 /* nginx's ticket key file: 48 or 80 bytes */
#define DW_TICKET_SECRET_MIN   32
#define DW_TICKET_SECRET_MAX   4096

/* One ticket key as the TLS layer uses it. */
struct dw_ticket_key {
    unsigned char name[16]; /* sent in the clear inside the ticket: picks the key */
    unsigned char aes[32];  /* AES-256-CBC */
    unsigned char hmac[32]; /* HMAC-SHA256 */
};

/*
 * Reads a whole key file of min..max bytes into out. Returns its length, or -errno
 * (-EINVAL: wrong size; why says so) with why (whylen bytes) set.
 */
int dw_ticket_read_file(const char *path, size_t min, size_t max, uint8_t *out, char *why,
                        size_t whylen);

/*
 * The key of site derived from material (a ticket-key-file's bytes, or the fleet secret)
 * and, for a secret, the period number (for a key file pass 0). 0 or -EIO.
 */
int dw_ticket_derive(const uint8_t *material, size_t len, uint64_t period, const char *site,
                     struct dw_ticket_key *out);

/* ---- Per-site rings ---- */

#define DW_TICKET_SID_CTX_LEN 32 /* a site's session ID context: SHA-256 of its name */

struct dw_ticket_ring;

/* The ring of the site called name, shared with earlier configurations (a reload), or a new
 * one with a fresh random key. NULL on ENOMEM or without randomness. */
struct dw_ticket_ring *dw_ticket_ring_get(const char *name);
/* Drops a reference; the last one frees the ring. NULL is fine. */
void dw_ticket_ring_put(struct dw_ticket_ring *r);
/* Gives the ring the keys conf says: ticket-key-file's, ticket-secret-file's, or random ones
 * kept from before. 0, -ENOMEM or -EIO. */
int dw_ticket_ring_configure(struct dw_ticket_ring *r, const struct dw_conf *conf);
/* Random keys: a new key encrypts, the last three decrypt. A fleet's keys turn with the
 * clock instead, the files' with a reload. 0 or -EIO. */
int dw_ticket_ring_rotate(struct dw_ticket_ring *r);
/* The site's session ID context (DW_TICKET_SID_CTX_LEN bytes). */
const unsigned char *dw_ticket_ring_sid_ctx(const struct dw_ticket_ring *r);
/* OpenSSL's ticket key callback for this ring (SSL_CTX_set_tlsext_ticket_key_evp_cb): 1
 * ticket ok, 2 ok and issue a fresh one, 0 unknown key (full handshake), -1 failure. */
int dw_ticket_ring_crypt(struct dw_ticket_ring *r, bool tls13, unsigned char name[16],
                         unsigned char *iv, EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc);

#endif
