#include "origin/ticketkey.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "origin/conf.h"

int
dw_ticket_read_file(const char *path, size_t min, size_t max, uint8_t *out, char *why,
                    size_t whylen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(why, whylen, "cannot read %s: %s", path, strerror(e));
        return -e;
    }
    size_t n = 0;
    uint8_t extra;
    for (int guard = 0; guard < 4096; guard++) {
        ssize_t r = n < max ? read(fd, out + n, max - n) : read(fd, &extra, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            snprintf(why, whylen, "cannot read %s: %s", path, strerror(e));
            return -e;
        }
        if (r == 0)
            break;
        if (n >= max) {
            close(fd);
            snprintf(why, whylen, "%s is longer than %zu bytes", path, max);
            return -EINVAL;
        }
        n += (size_t)r;
    }
    close(fd);
    if (n < min) {
        snprintf(why, whylen, "%s has %zu bytes, at least %zu are needed", path, n, min);
        return -EINVAL;
    }
    return (int)n;
}

int
dw_ticket_derive(const uint8_t *material, size_t len, uint64_t period, const char *site,
                 struct dw_ticket_key *out)
{
    /* salt: the period, big-endian; info: a label and the site's name. */
    unsigned char salt[8], info[300];
    for (int i = 0; i < 8; i++)
        salt[i] = (unsigned char)(period >> (56 - 8 * i));
    int il = snprintf((char *)info, sizeof(info), "duet ticket key %s", site);
    if (il < 0 || (size_t)il >= sizeof(info))
        return -EIO;
    unsigned char okm[sizeof(out->name) + sizeof(out->aes) + sizeof(out->hmac)];
    size_t olen = sizeof(okm);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
    int ok = ctx && EVP_PKEY_derive_init(ctx) == 1 &&
             EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) == 1 &&
             EVP_PKEY_CTX_set1_hkdf_salt(ctx, salt, sizeof(salt)) == 1 &&
             EVP_PKEY_CTX_set1_hkdf_key(ctx, material, (int)len) == 1 &&
             EVP_PKEY_CTX_add1_hkdf_info(ctx, info, il) == 1 &&
             EVP_PKEY_derive(ctx, okm, &olen) == 1 && olen == sizeof(okm);
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        ERR_clear_error();
        return -EIO;
    }
    memcpy(out->name, okm, sizeof(out->name));
    memcpy(out->aes, okm + sizeof(out->name), sizeof(out->aes));
    memcpy(out->hmac, okm + sizeof(out->name) + sizeof(out->aes), sizeof(out->hmac));
    OPENSSL_cleanse(okm, sizeof(okm));
    return 0;
}

/* ---- the per-site key rings ---- */

/* Ticket keys kept: the newest encrypts, all of them decrypt (random keys: the last three
 * rotations; ticket-key-file: one per file). */
#define TICKET_KEYS DW_TICKET_FILES_MAX

#define RANDOM_KEYS 3

/* Where a ring's keys come from. */
enum ring_source {
    RING_RANDOM, /* made here, rotated every ticket-key-lifetime (one origin) */
    RING_FILES,  /* ticket-key-file: the operator's, until a reload */
    RING_SECRET, /* ticket-secret-file: derived per wall-clock period (a fleet) */
};

/*
 * What keeps one site's sessions its own (RFC 6066 §3: a session must not resume under
 * another name): its ticket keys and its session ID context. A session from site A offered
 * under SNI B then fails to decrypt (ticket, TLS 1.2 and 1.3) or fails the context check
 * (session ID), and the client gets a full handshake with B. nginx shares both across its
 * server blocks unless told otherwise.
 *
 * Rings live in a process-wide list keyed by the site's section name and are shared by every
 * loaded configuration that has the site: a reload finds the running configuration's rings
 * and keeps them, so tickets issued before it still resume; a site the reload removed loses
 * its ring with the last connection of the old configuration.
 */
struct dw_ticket_ring {
    struct dw_ticket_ring *next; /* in rings, under rings_lock */
    unsigned refs;               /* dw_tls objects using it, under rings_lock */
    pthread_rwlock_t lock;       /* guards keys, nkeys and the source: handshakes read, rotation
                                    and reloads write */
    struct dw_ticket_key keys[TICKET_KEYS];
    size_t nkeys;
    enum ring_source source;
    uint8_t *secret; /* RING_SECRET: a copy of the fleet secret (owned) */
    size_t secret_len;
    uint64_t lifetime_s, period; /* RING_SECRET: keys[0] is period's key, keys[1] the one before */
    unsigned char sid_ctx[DW_TICKET_SID_CTX_LEN]; /* SHA-256 of the site name */
    char name[];
};

static pthread_mutex_t rings_lock = PTHREAD_MUTEX_INITIALIZER;
static struct dw_ticket_ring *rings;

static int
new_ticket_key(struct dw_ticket_key *k)
{
    if (RAND_bytes(k->name, sizeof(k->name)) != 1 || RAND_bytes(k->aes, sizeof(k->aes)) != 1 ||
        RAND_bytes(k->hmac, sizeof(k->hmac)) != 1) {
        ERR_clear_error();
        return -EIO;
    }
    return 0;
}

/* The ring of the site called name, shared with earlier configurations (a reload), or a new
 * one with a fresh key. NULL on ENOMEM or without randomness. */
struct dw_ticket_ring *
dw_ticket_ring_get(const char *name)
{
    pthread_mutex_lock(&rings_lock);
    struct dw_ticket_ring *r;
    for (r = rings; r != NULL; r = r->next)
        if (strcmp(r->name, name) == 0) {
            r->refs++;
            goto out;
        }
    size_t len = strlen(name);
    r = calloc(1, sizeof(*r) + len + 1);
    if (r == NULL)
        goto out;
    memcpy(r->name, name, len + 1);
    if (new_ticket_key(&r->keys[0]) < 0 || pthread_rwlock_init(&r->lock, NULL) != 0 ||
        EVP_Digest(name, len, r->sid_ctx, NULL, EVP_sha256(), NULL) != 1) {
        ERR_clear_error();
        free(r);
        r = NULL;
        goto out;
    }
    r->nkeys = 1;
    r->refs = 1;
    r->next = rings;
    rings = r;
out:
    pthread_mutex_unlock(&rings_lock);
    return r;
}

void
dw_ticket_ring_put(struct dw_ticket_ring *r)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&rings_lock);
    bool last = --r->refs == 0;
    if (last) {
        struct dw_ticket_ring **p = &rings;
        while (*p != r)
            p = &(*p)->next;
        *p = r->next;
    }
    pthread_mutex_unlock(&rings_lock);
    if (last) {
        pthread_rwlock_destroy(&r->lock);
        OPENSSL_cleanse(r->keys, sizeof(r->keys));
        if (r->secret)
            OPENSSL_cleanse(r->secret, r->secret_len);
        free(r->secret);
        free(r);
    }
}

/* RING_SECRET, under the write lock: the keys of the period now falls in, and of the one
 * before (tickets it issued resume until this one ends). */
static int
ring_derive_locked(struct dw_ticket_ring *r, uint64_t now)
{
    uint64_t p = now / r->lifetime_s;
    if (p == r->period && r->nkeys > 0)
        return 0;
    struct dw_ticket_key k[2];
    if (dw_ticket_derive(r->secret, r->secret_len, p, r->name, &k[0]) < 0 ||
        dw_ticket_derive(r->secret, r->secret_len, p - 1, r->name, &k[1]) < 0)
        return -EIO;
    memcpy(r->keys, k, sizeof(k));
    OPENSSL_cleanse(k, sizeof(k));
    r->nkeys = 2;
    r->period = p;
    return 0;
}

/* Whether a fleet ring's period has turned: then its keys are derived anew. */
static void
ring_refresh(struct dw_ticket_ring *r)
{
    uint64_t now = (uint64_t)time(NULL);
    pthread_rwlock_rdlock(&r->lock);
    bool stale = r->source == RING_SECRET && now / r->lifetime_s != r->period;
    pthread_rwlock_unlock(&r->lock);
    if (!stale)
        return;
    pthread_rwlock_wrlock(&r->lock);
    if (r->source == RING_SECRET)
        ring_derive_locked(r, now);
    pthread_rwlock_unlock(&r->lock);
}

/* Gives the ring the keys this configuration says (a reload may change the source): the
 * files' keys, the secret's, or random ones kept from before. 0 or -ENOMEM/-EIO. */
int
dw_ticket_ring_configure(struct dw_ticket_ring *r, const struct dw_conf *conf)
{
    const struct dw_conf_tickets *t = &conf->tickets;
    struct dw_ticket_key keys[TICKET_KEYS];
    uint8_t *secret = NULL;
    size_t n = 0;
    enum ring_source src = t->secret ? RING_SECRET : t->nkeys ? RING_FILES : RING_RANDOM;
    if (src == RING_FILES) {
        for (n = 0; n < t->nkeys; n++)
            if (dw_ticket_derive(t->keys[n], t->key_len[n], 0, r->name, &keys[n]) < 0)
                return -EIO;
    } else if (src == RING_SECRET) {
        secret = malloc(t->secret_len);
        if (secret == NULL)
            return -ENOMEM;
        memcpy(secret, t->secret, t->secret_len);
    }
    int rc = 0;
    pthread_rwlock_wrlock(&r->lock);
    uint8_t *old = r->secret;
    size_t old_len = r->secret_len;
    if (src == RING_FILES) {
        memcpy(r->keys, keys, n * sizeof(keys[0]));
        r->nkeys = n;
    } else if (src == RING_SECRET) {
        r->secret = secret;
        r->secret_len = t->secret_len;
        r->lifetime_s = (uint64_t)(conf->ticket_key_lifetime_ms / 1000);
        r->nkeys = 0; /* derive now */
        rc = ring_derive_locked(r, (uint64_t)time(NULL));
    } else if (r->source != RING_RANDOM) {
        rc = new_ticket_key(&r->keys[0]); /* back to keys of our own */
        r->nkeys = 1;
    }
    if (src != RING_SECRET)
        r->secret = NULL;
    r->source = src;
    pthread_rwlock_unlock(&r->lock);
    if (old && old != r->secret) {
        OPENSSL_cleanse(old, old_len);
        free(old);
    }
    OPENSSL_cleanse(keys, sizeof(keys));
    return rc;
}

const unsigned char *
dw_ticket_ring_sid_ctx(const struct dw_ticket_ring *r)
{
    return r->sid_ctx;
}

/*
 * Encrypts new tickets with the site's keys[0] and decrypts tickets made with any key still in
 * its ring, so rotation does not cut off sessions issued just before it. A ticket of another site
 * names a key this ring does not have: full handshake. Returns 1 (ticket ok), 2 (ok, issue a fresh
 * one: made with an old key, or TLS 1.3, whose clients use a ticket once), 0 (unknown key:
 * full handshake) or -1 (internal failure: the handshake fails).
 */
int
dw_ticket_ring_crypt(struct dw_ticket_ring *r, bool tls13, unsigned char name[16],
                     unsigned char *iv, EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
    static char digest[] = "SHA256";
    int ret = -1;
    OSSL_PARAM params[3];

    ring_refresh(r);
    pthread_rwlock_rdlock(&r->lock);
    const struct dw_ticket_key *k = NULL;
    if (enc) {
        k = &r->keys[0];
        if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(EVP_aes_256_cbc())) != 1)
            goto out;
        memcpy(name, k->name, sizeof(k->name));
        if (EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv) != 1)
            goto out;
        ret = 1;
    } else {
        ret = 0;
        for (size_t i = 0; i < r->nkeys && k == NULL; i++)
            if (memcmp(name, r->keys[i].name, sizeof(r->keys[i].name)) == 0) {
                k = &r->keys[i];
                /* OpenSSL sends a TLS 1.3 ticket after a resumption only when asked; without
                 * one a client that spent its ticket falls back to a full handshake on
                 * every other connection. */
                ret = i == 0 && !tls13 ? 1 : 2;
            }
        if (k == NULL)
            goto out;
        if (EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv) != 1) {
            ret = -1;
            goto out;
        }
    }
    /* The MAC context copies the key, so the lock is not needed once this returns. */
    params[0] =
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)k->hmac, sizeof(k->hmac));
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
    params[2] = OSSL_PARAM_construct_end();
    if (EVP_MAC_CTX_set_params(hctx, params) != 1)
        ret = -1;
out:
    pthread_rwlock_unlock(&r->lock);
    return ret;
}

int
dw_ticket_ring_rotate(struct dw_ticket_ring *r)
{
    if (r->source != RING_RANDOM) {
        ring_refresh(r); /* a fleet's keys turn with the clock, the files' with a reload */
        return 0;
    }
    struct dw_ticket_key k;
    /* Generated outside the lock: handshakes on other threads keep going meanwhile. */
    if (new_ticket_key(&k) < 0)
        return -EIO;
    pthread_rwlock_wrlock(&r->lock);
    /* The last three rotations' keys decrypt. */
    memmove(&r->keys[1], &r->keys[0], (RANDOM_KEYS - 1) * sizeof(r->keys[0]));
    r->keys[0] = k;
    if (r->nkeys < RANDOM_KEYS)
        r->nkeys++;
    pthread_rwlock_unlock(&r->lock);
    OPENSSL_cleanse(&k, sizeof(k));
    return 0;
}
