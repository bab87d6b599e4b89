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
 * Pure: bytes in, keys out; the only I/O is reading a key file.
 */
#ifndef DUET_ORIGIN_TICKETKEY_H
#define DUET_ORIGIN_TICKETKEY_H

#include <stddef.h>
#include <stdint.h>

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

#endif
