#include "resolver/cachefile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAGIC     "DUET-CACHE 1\n"
#define MAX_ENTRY (1u << 20)

struct dump_ctx {
    FILE *f;
    char type;
    int64_t now;
    long count;
    bool failed;
};

static void
put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t
get_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static bool
write_entry(void *arg, const void *key, size_t klen, const void *val, size_t vlen,
            int64_t expire)
{
    struct dump_ctx *d = arg;
    if (d->failed || expire <= d->now)
        return false;
    uint8_t hdr[17];
    hdr[0] = (uint8_t)d->type;
    put_be(hdr + 1, klen, 4);
    put_be(hdr + 5, vlen, 4);
    put_be(hdr + 9, (uint64_t)expire, 8);
    if (fwrite(hdr, 1, sizeof(hdr), d->f) != sizeof(hdr) || fwrite(key, 1, klen, d->f) != klen ||
        fwrite(val, 1, vlen, d->f) != vlen)
        d->failed = true;
    else
        d->count++;
    return false;
}

long
dr_cachefile_dump(struct dr_cache *answers, struct dc_lru *deleg, const char *path, int64_t now)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    FILE *f = fopen(tmp, "wbx");
    if (f == NULL && errno == EEXIST) {
        unlink(tmp);
        f = fopen(tmp, "wbx");
    }
    if (f == NULL)
        return -errno;
    struct dump_ctx d = {f, 'A', now, 0, false};
    if (fwrite(MAGIC, 1, strlen(MAGIC), f) != strlen(MAGIC))
        d.failed = true;
    dc_lru_foreach(dr_cache_table(answers), write_entry, &d);
    d.type = 'D';
    dc_lru_foreach(deleg, write_entry, &d);
    if (fclose(f) != 0)
        d.failed = true;
    if (d.failed) {
        unlink(tmp);
        return -EIO;
    }
    if (rename(tmp, path) < 0) {
        int err = errno;
        unlink(tmp);
        return -err;
    }
    return d.count;
}

long
dr_cachefile_load(struct dr_cache *answers, struct dc_lru *deleg, const char *path, int64_t now)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -errno;
    char magic[sizeof(MAGIC)];
    if (fread(magic, 1, strlen(MAGIC), f) != strlen(MAGIC) ||
        memcmp(magic, MAGIC, strlen(MAGIC)) != 0) {
        fclose(f);
        return -EINVAL;
    }
    long count = 0;
    int rc = 0;
    uint8_t *buf = malloc(2 * MAX_ENTRY);
    if (buf == NULL) {
        fclose(f);
        return -ENOMEM;
    }
    for (;;) {
        uint8_t hdr[17];
        size_t n = fread(hdr, 1, sizeof(hdr), f);
        if (n == 0)
            break;
        uint64_t klen = get_be(hdr + 1, 4), vlen = get_be(hdr + 5, 4);
        int64_t expire = (int64_t)get_be(hdr + 9, 8);
        if (n != sizeof(hdr) || (hdr[0] != 'A' && hdr[0] != 'D') || klen == 0 ||
            klen > MAX_ENTRY || vlen > MAX_ENTRY || fread(buf, 1, klen + vlen, f) != klen + vlen) {
            rc = -EINVAL;
            break;
        }
        if (expire <= now)
            continue;
        /* A damaged file must not become a bad read on the hot path: answers are checked
         * the way the cache would have built them (zone cuts are checked when read). */
        if (hdr[0] == 'A' && !dr_cache_value_valid(buf + klen, vlen)) {
            rc = -EINVAL;
            break;
        }
        struct dc_lru *t = hdr[0] == 'A' ? dr_cache_table(answers) : deleg;
        if (dc_lru_put(t, buf, klen, buf + klen, vlen, expire) == 0)
            count++;
    }
    free(buf);
    fclose(f);
    return rc < 0 ? rc : count;
}
