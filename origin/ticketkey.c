#include "origin/ticketkey.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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
