#include "resolver/cachefile.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "resolver/deleg.h"
#include "resolver/dname.h"

#define MAGIC      "DUET-CACHE 1\n"
#define MAGIC_LEN  (sizeof(MAGIC) - 1)
#define RECORD_HDR 17

/* The largest key and value either record type can have: an answer key is a name plus type
 * and class; its value a 16-byte header, two bytes per record (a record takes at least 11
 * bytes of a message) and a message of at most 64K. A cut is a zone name, then up to 13 NS
 * names with up to 4 addresses of 17 bytes each. */
#define ANSWER_KEY_MAX   (DR_NAME_MAX + 5) /* name, type, class, the DNSSEC variant byte */
#define DELEG_KEY_MAX    (1 + DR_NAME_MAX) /* a DNAME's marker byte and owner */
#define ANSWER_VALUE_MAX (16 + 2 * (UINT16_MAX / 11) + UINT16_MAX)
#define CUT_VALUE_MAX                                                                              \
    (DR_NAME_MAX + 1 + DR_DELEG_MAX_NS * (DR_NAME_MAX + 1 + DR_DELEG_MAX_ADDRS * 17))

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

/* ---- Checks ---- */

__attribute__((format(printf, 3, 4))) static bool
bad(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return false;
}

/*
 * A name as the caches store it, starting at p[off]: uncompressed labels of 1..63 bytes,
 * lower-case, at most 255 bytes with the root label, inside p[0..len). Stricter than
 * dr_dname_read(), which must accept what packets may hold (pointers, any case), and says
 * precisely what is wrong. what names the field in the message.
 */
static bool
plain_name(const uint8_t *p, size_t len, size_t off, size_t *n, const char *what, char *why,
           size_t whylen)
{
    size_t pos = off;
    for (;;) {
        if (pos >= len)
            return bad(why, whylen, "%s runs past the end of its field", what);
        uint8_t b = p[pos];
        if ((b & 0xc0) == 0xc0)
            return bad(why, whylen, "%s has a compression pointer at byte %zu", what, pos - off);
        if (b & 0xc0)
            return bad(why, whylen, "%s has a label of reserved type 0x%02x", what, b & 0xc0);
        if (b == 0) {
            *n = pos + 1 - off;
            return true;
        }
        if (pos + 1 - off + b + 1 > DR_NAME_MAX)
            return bad(why, whylen, "%s is longer than %d bytes", what, DR_NAME_MAX);
        if (b >= len - pos)
            return bad(why, whylen, "%s runs past the end of its field", what);
        for (size_t i = pos + 1; i <= pos + b; i++)
            if (p[i] >= 'A' && p[i] <= 'Z')
                return bad(why, whylen, "%s is not lower-case", what);
        pos += (size_t)b + 1;
    }
}

/* The value layout of resolver/deleg.c (serialize()), checked as described in the header. */
static bool
cut_valid(const uint8_t *key, size_t klen, const uint8_t *v, size_t vlen, char *why, size_t whylen)
{
    size_t n, off = 0;
    char what[48];
    if (!plain_name(key, klen, 0, &n, "zone cut key", why, whylen))
        return false;
    if (n != klen)
        return bad(why, whylen, "zone cut key is %zu bytes, its name %zu", klen, n);
    if (!plain_name(v, vlen, 0, &n, "zone name", why, whylen))
        return false;
    if (n != klen || memcmp(v, key, n) != 0)
        return bad(why, whylen, "zone name in the value is not the key");
    off = n;
    if (off >= vlen)
        return bad(why, whylen, "zone cut ends before its name server count");
    unsigned nns = v[off++];
    if (nns == 0 || nns > DR_DELEG_MAX_NS)
        return bad(why, whylen, "zone cut has %u name servers (1 to %d)", nns, DR_DELEG_MAX_NS);
    for (unsigned i = 0; i < nns; i++) {
        snprintf(what, sizeof(what), "name server %u", i + 1);
        if (!plain_name(v, vlen, off, &n, what, why, whylen))
            return false;
        off += n;
        if (off >= vlen)
            return bad(why, whylen, "%s: zone cut ends before its address count", what);
        unsigned naddrs = v[off++];
        if (naddrs > DR_DELEG_MAX_ADDRS)
            return bad(why, whylen, "%s has %u addresses (at most %d)", what, naddrs,
                       DR_DELEG_MAX_ADDRS);
        for (unsigned j = 0; j < naddrs; j++) {
            if (off >= vlen)
                return bad(why, whylen, "%s: zone cut ends inside address %u", what, j + 1);
            size_t alen = v[off] == 4 ? 4 : v[off] == 6 ? 16 : 0;
            if (alen == 0)
                return bad(why, whylen, "%s: address %u has family byte %u (4 or 6)", what, j + 1,
                           v[off]);
            if (alen + 1 > vlen - off)
                return bad(why, whylen, "%s: zone cut ends inside address %u", what, j + 1);
            off += alen + 1;
        }
    }
    if (off != vlen)
        return bad(why, whylen, "zone cut has %zu bytes after its last name server", vlen - off);
    return true;
}

/* A DNAME entry of the cut table (resolver/deleg.c, dr_deleg_store_dname()): key DNAME_KEY
 * then the owner, value the record's TTL (4 bytes) then the target; names lower-case and
 * uncompressed, filling their fields. */
#define DNAME_KEY 0xFE

static bool
dname_valid(const uint8_t *key, size_t klen, const uint8_t *v, size_t vlen, char *why,
            size_t whylen)
{
    size_t n;
    if (!plain_name(key, klen, 1, &n, "DNAME owner", why, whylen))
        return false;
    if (1 + n != klen)
        return bad(why, whylen, "DNAME key is %zu bytes, its owner name %zu", klen, n);
    if (vlen < 5)
        return bad(why, whylen, "DNAME value of %zu bytes holds no target", vlen);
    uint32_t ttl = (uint32_t)get_be(v, 4);
    if (ttl > DR_CACHE_TTL_LIMIT)
        return bad(why, whylen, "DNAME TTL %" PRIu32 " (over %d)", ttl, DR_CACHE_TTL_LIMIT);
    if (!plain_name(v, vlen, 4, &n, "DNAME target", why, whylen))
        return false;
    if (4 + n != vlen)
        return bad(why, whylen, "DNAME value has %zu bytes after its target", vlen - 4 - n);
    return true;
}

/* One record's key and value, as described in the header. */
static bool
entry_valid(char type, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
            int64_t expire, char *why, size_t whylen)
{
    if (type == 'D') {
        bool dname = klen > 0 && key[0] == DNAME_KEY;
        if (!(dname ? dname_valid : cut_valid)(key, klen, val, vlen, why, whylen))
            return false;
        /* And resolver/deleg.c reads it back the same way (its own decoder). */
        if (!dr_deleg_entry_valid(key, klen, val, vlen))
            return bad(why, whylen, "%s not readable by the cut table",
                       dname ? "DNAME" : "zone cut");
        return true;
    }
    size_t n;
    if (!plain_name(key, klen, 0, &n, "answer key", why, whylen))
        return false;
    char detail[160];
    if (!dr_cache_entry_valid(key, klen, val, vlen, expire, detail, sizeof(detail)))
        return bad(why, whylen, "answer: %s", detail);
    return true;
}

/* ---- Dumping ---- */

static bool
write_entry(void *arg, const void *key, size_t klen, const void *val, size_t vlen, int64_t expire)
{
    struct dump_ctx *d = arg;
    char why[192];
    if (d->failed || expire <= d->now)
        return false;
    /* Only what loading accepts: the cut table may hold other data than cuts. */
    if (!entry_valid(d->type, key, klen, val, vlen, expire, why, sizeof(why)))
        return false;
    uint8_t hdr[RECORD_HDR];
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
    if (fwrite(MAGIC, 1, MAGIC_LEN, f) != MAGIC_LEN)
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

/* ---- Loading ---- */

__attribute__((format(printf, 4, 5))) static long
refuse(struct dr_cachefile_error *err, long entry, uint64_t offset, const char *fmt, ...)
{
    if (err) {
        err->entry = entry;
        err->offset = offset;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->why, sizeof(err->why), fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static long
check_magic(FILE *f, struct dr_cachefile_error *err)
{
    char magic[MAGIC_LEN];
    size_t got = fread(magic, 1, MAGIC_LEN, f);
    if (got == MAGIC_LEN && memcmp(magic, MAGIC, MAGIC_LEN) == 0)
        return 0;
    if (ferror(f))
        return -EIO;
    if (got == MAGIC_LEN && memcmp(magic, MAGIC, MAGIC_LEN - 2) == 0)
        return refuse(err, 0, 0, "cache file of another format version (this resolver reads 1)");
    return refuse(err, 0, 0, "not a duet cache file (no DUET-CACHE 1 header line)");
}

/*
 * One pass over the records after the header: checks each one and, when load is set, puts
 * the live ones into the caches. Returns how many were put, or a negative errno.
 */
static long
pass(struct dr_cache *answers, struct dc_lru *deleg, FILE *f, int64_t now, bool load, uint8_t *buf,
     struct dr_cachefile_error *err)
{
    uint64_t offset = MAGIC_LEN;
    long count = 0;
    for (long entry = 1;; entry++) {
        uint8_t hdr[RECORD_HDR];
        size_t got = fread(hdr, 1, sizeof(hdr), f);
        if (got == 0 && !ferror(f))
            break;
        if (ferror(f))
            return -EIO;
        if (got != sizeof(hdr))
            return refuse(err, entry, offset, "record header truncated (%zu of %d bytes)", got,
                          RECORD_HDR);
        char type = (char)hdr[0];
        uint64_t klen = get_be(hdr + 1, 4), vlen = get_be(hdr + 5, 4);
        int64_t expire = (int64_t)get_be(hdr + 9, 8);
        if (type != 'A' && type != 'D')
            return refuse(err, entry, offset, "unknown record type 0x%02x", hdr[0]);
        uint64_t kmax = type == 'A' ? ANSWER_KEY_MAX : DELEG_KEY_MAX;
        uint64_t vmax = type == 'A' ? ANSWER_VALUE_MAX : CUT_VALUE_MAX;
        if (klen == 0 || klen > kmax)
            return refuse(err, entry, offset, "%s key length %" PRIu64 " (1 to %" PRIu64 ")",
                          type == 'A' ? "answer" : "zone cut", klen, kmax);
        if (vlen > vmax)
            return refuse(err, entry, offset, "%s value length %" PRIu64 " (at most %" PRIu64 ")",
                          type == 'A' ? "answer" : "zone cut", vlen, vmax);
        got = fread(buf, 1, klen + vlen, f);
        if (ferror(f))
            return -EIO;
        if (got != klen + vlen)
            return refuse(err, entry, offset,
                          "record truncated: key and value need %" PRIu64 " bytes, %zu left",
                          klen + vlen, got);
        /* Unsigned: expire and now are any int64 here (found by fuzz_cachefile). */
        uint64_t ahead = (uint64_t)expire - (uint64_t)now;
        if (expire > now && ahead > DR_CACHE_TTL_LIMIT)
            return refuse(err, entry, offset, "expiry %" PRIu64 " s from now (at most %d)", ahead,
                          DR_CACHE_TTL_LIMIT);
        char why[sizeof(err->why)];
        if (!entry_valid(type, buf, klen, buf + klen, vlen, expire, why, sizeof(why)))
            return refuse(err, entry, offset, "%s", why);
        offset += RECORD_HDR + klen + vlen;
        if (!load || expire <= now)
            continue;
        int rc;
        if (type == 'D' && buf[0] == DNAME_KEY)
            /* Through deleg.c's own door: it keeps state about the DNAMEs it holds. */
            rc = dr_deleg_store_dname(deleg, buf + 1, buf + klen + 4,
                                      (uint32_t)get_be(buf + klen, 4), expire);
        else
            rc = dc_lru_put(type == 'A' ? dr_cache_table(answers) : deleg, buf, klen, buf + klen,
                            vlen, expire);
        if (rc == 0)
            count++;
    }
    return count;
}

/* Two passes so that a bad record anywhere leaves the caches untouched: a file is all good
 * or refused. If the file changes between the passes, the second one still checks every
 * record and stops at a bad one (with what came before it loaded). */
long
dr_cachefile_read(struct dr_cache *answers, struct dc_lru *deleg, FILE *f, int64_t now,
                  struct dr_cachefile_error *err)
{
    uint8_t *buf = malloc(ANSWER_KEY_MAX + ANSWER_VALUE_MAX);
    if (buf == NULL)
        return -ENOMEM;
    long rc = check_magic(f, err);
    if (rc == 0)
        rc = pass(answers, deleg, f, now, false, buf, err);
    if (rc >= 0) {
        if (fseek(f, (long)MAGIC_LEN, SEEK_SET) != 0)
            rc = -errno;
        else
            rc = pass(answers, deleg, f, now, true, buf, err);
    }
    free(buf);
    return rc;
}

long
dr_cachefile_load_diag(struct dr_cache *answers, struct dc_lru *deleg, const char *path,
                       int64_t now, struct dr_cachefile_error *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -errno;
    long rc = dr_cachefile_read(answers, deleg, f, now, err);
    fclose(f);
    return rc;
}

long
dr_cachefile_load(struct dr_cache *answers, struct dc_lru *deleg, const char *path, int64_t now)
{
    return dr_cachefile_load_diag(answers, deleg, path, now, NULL);
}
