#include "resolver/dnssec.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

const char *const dr_sec_names[] = {"secure", "insecure", "bogus"};

const char *const dr_why_names[] = {
    "none",
    "sig_expired",
    "sig_not_yet_valid",
    "no_key",
    "bad_sig",
    "signer",
    "no_rrsig",
    "no_ds_match",
    "no_nsec",
    "malformed",
    "unsupported_alg",
    "unsupported_digest",
    "nsec3_iterations",
    "nsec3_hash",
    "optout",
    "unsigned_cut",
};

_Static_assert(sizeof(dr_why_names) / sizeof(dr_why_names[0]) == DR_WHY_UNSIGNED_CUT + 1,
               "a name for every enum dr_why value");

int
dr_dnssec_ede(enum dr_sec sec, enum dr_why why)
{
    if (sec == DR_SEC_INSECURE) {
        switch (why) {
        case DR_WHY_UNSUPPORTED_ALG:
            return 1;
        case DR_WHY_UNSUPPORTED_DIGEST:
            return 2;
        case DR_WHY_NSEC3_ITERATIONS:
            return 27;
        default:
            return -1;
        }
    }
    if (sec != DR_SEC_BOGUS)
        return -1;
    switch (why) {
    case DR_WHY_SIG_EXPIRED:
        return 7;
    case DR_WHY_SIG_NOT_YET:
        return 8;
    case DR_WHY_NO_KEY:
    case DR_WHY_NO_DS_MATCH:
        return 9;
    case DR_WHY_NO_RRSIG:
        return 10;
    case DR_WHY_NO_NSEC:
        return 12;
    default:
        return 6;
    }
}

bool
dr_dnssec_alg_supported(uint8_t alg)
{
    /* RFC 8624 §3.1 "MUST validate" list minus SHA-1 (5, 7), plus 10 and Ed448 (16), which
     * OpenSSL 3 verifies. */
    switch (alg) {
    case 8:
    case 10:
    case 13:
    case 14:
    case 15:
    case 16:
        return true;
    default:
        return false;
    }
}

bool
dr_dnssec_digest_supported(uint8_t digest_type)
{
    return dr_dnssec_digest_len(digest_type) != 0;
}

size_t
dr_dnssec_digest_len(uint8_t digest_type)
{
    return digest_type == 2 ? 32 : digest_type == 4 ? 48 : 0;
}

int
dr_dnssec_digest(uint8_t digest_type, const uint8_t *data, size_t len, uint8_t *out)
{
    const EVP_MD *md = digest_type == 2 ? EVP_sha256() : digest_type == 4 ? EVP_sha384() : NULL;
    unsigned int n = 0;
    if (md == NULL)
        return -ENOTSUP;
    if (EVP_Digest(data, len, out, &n, md, NULL) != 1)
        return -ENOMEM;
    return (int)n;
}

/* RSA public key in RFC 3110 form: exponent length (1 byte, or 0 and 2 bytes), exponent,
 * modulus. Moduli outside 1024..4096 bits are refused: smaller ones are breakable, larger
 * ones make verification a CPU sink an attacker can choose (Unbound caps at 4096 too). */
static EVP_PKEY *
rsa_key(const uint8_t *k, size_t n)
{
    size_t elen, off;
    if (n < 1)
        return NULL;
    if (k[0] != 0) {
        elen = k[0];
        off = 1;
    } else {
        if (n < 3)
            return NULL;
        elen = ((size_t)k[1] << 8) | k[2];
        off = 3;
    }
    if (elen == 0 || elen > 16 || n <= off + elen)
        return NULL;
    size_t mlen = n - off - elen;
    if (mlen < 128 || mlen > 512 || k[off + elen] == 0)
        return NULL;

    EVP_PKEY *pkey = NULL;
    BIGNUM *e = BN_bin2bn(k + off, (int)elen, NULL);
    BIGNUM *m = BN_bin2bn(k + off + elen, (int)mlen, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (e && m && bld && ctx && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, m) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) &&
        (params = OSSL_PARAM_BLD_to_param(bld)) != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    BN_free(e);
    BN_free(m);
    return pkey;
}

/* ECDSA public key (RFC 6605): the point's x and y, without the 0x04 prefix. */
static EVP_PKEY *
ec_key(const char *group, size_t coord, const uint8_t *k, size_t n)
{
    uint8_t point[1 + 2 * 48];
    if (n != 2 * coord)
        return NULL;
    point[0] = 0x04;
    memcpy(point + 1, k, n);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, n + 1),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

/* ECDSA signatures are r || s on the wire (RFC 6605 §4) and DER in OpenSSL. Returns the DER
 * length written to der (at least 2 * coord + 16 bytes), or 0. */
static size_t
ecdsa_der(size_t coord, const uint8_t *sig, size_t n, uint8_t *der)
{
    if (n != 2 * coord)
        return 0;
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)coord, NULL);
    BIGNUM *s = BN_bin2bn(sig + coord, (int)coord, NULL);
    size_t len = 0;
    if (es && r && s && ECDSA_SIG_set0(es, r, s) == 1) {
        r = s = NULL; /* owned by es now */
        uint8_t *p = der;
        int l = i2d_ECDSA_SIG(es, &p);
        len = l > 0 ? (size_t)l : 0;
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return len;
}

/*
 * The public keys verifications use, ready as OpenSSL keys: turning a DNSKEY into an EVP_PKEY
 * costs as much as a sixth of an ECDSA check (the curve is set up again each time), and the
 * same few zone keys verify almost every signature. A small cache per thread (no locking; the
 * keys are never shared between threads), replaced round-robin, freed when the thread ends.
 */
#define KEY_CACHE     16
#define KEY_CACHE_LEN 640 /* RSA-4096's exponent and modulus fit; longer keys are not cached */

struct cached_key {
    uint8_t alg;
    uint16_t len;
    uint8_t key[KEY_CACHE_LEN];
    EVP_PKEY *pkey;
};

struct key_cache {
    struct cached_key e[KEY_CACHE];
    unsigned next;
};

static pthread_key_t key_cache_key;
static pthread_once_t key_cache_once = PTHREAD_ONCE_INIT;
static bool key_cache_ok;

static void
key_cache_free(void *p)
{
    struct key_cache *c = p;
    for (size_t i = 0; c && i < KEY_CACHE; i++)
        EVP_PKEY_free(c->e[i].pkey);
    free(c);
}

static void
key_cache_init(void)
{
    key_cache_ok = pthread_key_create(&key_cache_key, key_cache_free) == 0;
}

static struct key_cache *
key_cache(void)
{
    pthread_once(&key_cache_once, key_cache_init);
    if (!key_cache_ok)
        return NULL;
    struct key_cache *c = pthread_getspecific(key_cache_key);
    if (c == NULL && (c = calloc(1, sizeof(*c))) != NULL &&
        pthread_setspecific(key_cache_key, c) != 0) {
        free(c);
        c = NULL;
    }
    return c;
}

/* The EVP_PKEY of a DNSKEY's public key for alg, NULL when the key is malformed. */
static EVP_PKEY *
make_key(uint8_t alg, const uint8_t *key, size_t keylen)
{
    switch (alg) {
    case 8:
    case 10:
        return rsa_key(key, keylen);
    case 13:
    case 14:
        return ec_key(alg == 13 ? "prime256v1" : "secp384r1", alg == 13 ? 32 : 48, key, keylen);
    case 15:
    case 16:
        if (keylen != (alg == 15 ? 32u : 57u))
            return NULL;
        return EVP_PKEY_new_raw_public_key(alg == 15 ? EVP_PKEY_ED25519 : EVP_PKEY_ED448, NULL, key,
                                           keylen);
    default:
        return NULL;
    }
}

/* The key from the thread's cache, made and kept there on a miss. *owned is set when the
 * caller must free it (not cacheable). NULL: malformed. */
static EVP_PKEY *
get_key(uint8_t alg, const uint8_t *key, size_t keylen, bool *owned)
{
    struct key_cache *c = keylen <= KEY_CACHE_LEN ? key_cache() : NULL;
    *owned = c == NULL;
    if (c == NULL)
        return make_key(alg, key, keylen);
    for (size_t i = 0; i < KEY_CACHE; i++) {
        struct cached_key *e = &c->e[i];
        if (e->pkey && e->alg == alg && e->len == keylen && memcmp(e->key, key, keylen) == 0)
            return e->pkey;
    }
    EVP_PKEY *pkey = make_key(alg, key, keylen);
    if (pkey == NULL)
        return NULL;
    struct cached_key *e = &c->e[c->next];
    c->next = (c->next + 1) % KEY_CACHE;
    EVP_PKEY_free(e->pkey);
    e->alg = alg;
    e->len = (uint16_t)keylen;
    memcpy(e->key, key, keylen);
    e->pkey = pkey;
    return pkey;
}

int
dr_dnssec_verify(uint8_t alg, const uint8_t *key, size_t keylen, const uint8_t *sig, size_t siglen,
                 const uint8_t *data, size_t len)
{
    const EVP_MD *md = NULL;
    uint8_t der[2 * 48 + 16];
    switch (alg) {
    case 8:
    case 10:
        md = alg == 8 ? EVP_sha256() : EVP_sha512();
        break;
    case 13:
    case 14: {
        size_t coord = alg == 13 ? 32 : 48;
        md = alg == 13 ? EVP_sha256() : EVP_sha384();
        siglen = ecdsa_der(coord, sig, siglen, der);
        sig = der;
        if (siglen == 0) {
            ERR_clear_error();
            return -EBADMSG;
        }
        break;
    }
    case 15:
    case 16:
        break; /* EdDSA hashes internally: no digest (RFC 8080) */
    default:
        return -ENOTSUP;
    }
    bool owned;
    EVP_PKEY *pkey = get_key(alg, key, keylen, &owned);
    if (pkey == NULL) {
        ERR_clear_error();
        return -EBADMSG;
    }
    int rc = -ENOMEM;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx) {
        rc = -EBADMSG;
        if (EVP_DigestVerifyInit(ctx, NULL, md, NULL, pkey) == 1 &&
            EVP_DigestVerify(ctx, sig, siglen, data, len) == 1)
            rc = 0;
        EVP_MD_CTX_free(ctx);
    }
    if (owned)
        EVP_PKEY_free(pkey);
    /* A failed verification leaves OpenSSL errors queued on this thread; TLS code sharing
     * the thread would read them as its own. */
    if (rc != 0)
        ERR_clear_error();
    return rc;
}
