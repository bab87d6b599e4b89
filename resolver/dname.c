#include "resolver/dname.h"

#include <errno.h>
#include <string.h>

#include "common/lru.h"

/*
 * Compression pointers followed in one name at most. Every pointer must point strictly
 * before itself, so a chain always ends, but a hostile packet could still chain thousands of
 * pointer-to-pointer hops per name; no encoder produces more than one pointer per name, and
 * Unbound stops at 256. Legitimate names never come near this bound.
 */
#define MAX_POINTERS 128

/* Most labels a name can hold: 127 one-byte labels (2 wire bytes each) plus the root. */
#define MAX_LABELS 128

static inline uint8_t
lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
}

static inline bool
is_letter(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/*
 * The one reader behind dr_dname_read and dr_dname_skip (out == NULL skips). Checks each byte
 * against len before touching it, caps the uncompressed length at 255 before copying, and
 * allows only backward pointers: with the hop cap that bounds the work per name, and a
 * pointer loop fails on the name length at the latest. *off is moved only on success so a
 * caller that reports the error still knows where the name began.
 */
static int
walk(const uint8_t *pkt, size_t len, size_t *off, uint8_t *out)
{
    size_t pos = *off;
    size_t end = 0; /* where the name ends in the packet: set at the first pointer */
    size_t n = 0;   /* uncompressed length so far, root label excluded */
    int hops = 0;

    for (;;) {
        if (pos >= len)
            return -EBADMSG;
        uint8_t b = pkt[pos];
        switch (b & 0xc0) {
        case 0x00:
            if (b == 0) {
                if (out)
                    out[n] = 0;
                *off = end ? end : pos + 1;
                return (int)n + 1;
            }
            /* Label bytes are pkt[pos+1 .. pos+b]; the result must keep room for the root. */
            if (pos + b >= len || n + 1 + b + 1 > DR_NAME_MAX)
                return -EBADMSG;
            if (out)
                memcpy(out + n, pkt + pos, (size_t)b + 1);
            n += (size_t)b + 1;
            pos += (size_t)b + 1;
            break;
        case 0xc0: {
            if (pos + 1 >= len)
                return -EBADMSG;
            size_t target = (size_t)(b & 0x3f) << 8 | pkt[pos + 1];
            if (target >= pos || ++hops > MAX_POINTERS)
                return -EBADMSG;
            if (end == 0)
                end = pos + 2;
            pos = target;
            break;
        }
        default:
            /* 0x40: RFC 2671's extended labels, never deployed, retired by RFC 6891.
             * 0x80: reserved. */
            return -EBADMSG;
        }
    }
}

int
dr_dname_read(const uint8_t *pkt, size_t len, size_t *off, uint8_t out[DR_NAME_MAX])
{
    return walk(pkt, len, off, out);
}

int
dr_dname_skip(const uint8_t *pkt, size_t len, size_t *off)
{
    int r = walk(pkt, len, off, NULL);
    return r < 0 ? r : 0;
}

size_t
dr_dname_len(const uint8_t *name)
{
    size_t n = 0;
    while (name[n] != 0)
        n += (size_t)name[n] + 1;
    return n + 1;
}

bool
dr_dname_is_key(const void *key, size_t len)
{
    const uint8_t *p = key;
    if (len > DR_NAME_MAX)
        return false;
    for (size_t off = 0; off < len; off += 1 + (size_t)p[off]) {
        if (p[off] > 63)
            return false;
        if (p[off] == 0)
            return off + 1 == len;
    }
    return false;
}

struct table_flush {
    const uint8_t *name;
    bool subtree, above;
};

static bool
table_match(void *arg, const void *key, size_t klen, const void *val, size_t vlen, int64_t expire)
{
    const struct table_flush *f = arg;
    const uint8_t *zone = key;
    (void)val;
    (void)vlen;
    (void)expire;
    if (!dr_dname_is_key(zone, klen))
        return true; /* not a key made of a name: gone too */
    return dr_dname_equal(zone, f->name) || (f->subtree && dr_dname_is_sub(zone, f->name)) ||
           (f->above && dr_dname_is_sub(f->name, zone));
}

size_t
dr_dname_table_flush(struct dc_lru *t, const uint8_t *name, bool subtree, bool above)
{
    if (t == NULL)
        return 0;
    struct table_flush f = {name, subtree, above};
    return dc_lru_remove_if(t, name ? table_match : NULL, &f);
}

void
dr_dname_lower(uint8_t *name)
{
    for (size_t i = 0; name[i] != 0; i += (size_t)name[i] + 1) {
        for (size_t j = 1; j <= name[i]; j++)
            name[i + j] = lower(name[i + j]);
    }
}

size_t
dr_dname_copy_lower(uint8_t *out, const uint8_t *name)
{
    size_t n = dr_dname_len(name);
    memcpy(out, name, n);
    dr_dname_lower(out);
    return n;
}

/* Length bytes are at most 63 and letters start at 65, so both names have the same label
 * structure exactly when all their bytes agree after folding; no need to walk labels. */
bool
dr_dname_equal(const uint8_t *a, const uint8_t *b)
{
    size_t n = dr_dname_len(a);
    if (n != dr_dname_len(b))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (lower(a[i]) != lower(b[i]))
            return false;
    }
    return true;
}

bool
dr_dname_equal_case(const uint8_t *a, const uint8_t *b)
{
    size_t n = dr_dname_len(a);
    return n == dr_dname_len(b) && memcmp(a, b, n) == 0;
}

int
dr_dname_labels(const uint8_t *name)
{
    int count = 0;
    for (size_t i = 0; name[i] != 0; i += (size_t)name[i] + 1)
        count++;
    return count;
}

const uint8_t *
dr_dname_strip(const uint8_t *name, int n)
{
    while (n-- > 0 && *name != 0)
        name += *name + 1;
    return name;
}

bool
dr_dname_is_sub(const uint8_t *name, const uint8_t *zone)
{
    int extra = dr_dname_labels(name) - dr_dname_labels(zone);
    if (extra < 0)
        return false;
    return dr_dname_equal(dr_dname_strip(name, extra), zone);
}

static int
label_offsets(const uint8_t *name, uint8_t offs[MAX_LABELS])
{
    int count = 0;
    for (size_t i = 0; name[i] != 0 && count < MAX_LABELS; i += (size_t)name[i] + 1)
        offs[count++] = (uint8_t)i;
    return count;
}

/*
 * RFC 4034 §6.1: compare label by label from the root side, each label as a lower-cased
 * octet string where a proper prefix sorts first; a name that runs out of labels first
 * sorts first. Labels are found front to back, so collect their offsets once.
 */
int
dr_dname_compare(const uint8_t *a, const uint8_t *b)
{
    uint8_t oa[MAX_LABELS], ob[MAX_LABELS];
    int na = label_offsets(a, oa), nb = label_offsets(b, ob);

    for (int i = na - 1, j = nb - 1; i >= 0 && j >= 0; i--, j--) {
        const uint8_t *la = a + oa[i], *lb = b + ob[j];
        size_t common = la[0] < lb[0] ? la[0] : lb[0];
        for (size_t k = 1; k <= common; k++) {
            int d = (int)lower(la[k]) - (int)lower(lb[k]);
            if (d != 0)
                return d;
        }
        if (la[0] != lb[0])
            return (int)la[0] - (int)lb[0];
    }
    return na - nb;
}

int
dr_dname_to_str(const uint8_t *name, char *buf, size_t size)
{
    size_t w = 0;

    if (name[0] == 0) {
        if (size < 2)
            return -ENOSPC;
        buf[0] = '.';
        buf[1] = '\0';
        return 1;
    }
    for (size_t i = 0; name[i] != 0; i += (size_t)name[i] + 1) {
        for (size_t j = 1; j <= name[i]; j++) {
            uint8_t c = name[i + j];
            if (c == '.' || c == '\\') {
                if (w + 2 + 1 > size)
                    return -ENOSPC;
                buf[w++] = '\\';
                buf[w++] = (char)c;
            } else if (c <= 0x20 || c >= 0x7f) {
                /* Space too: a name in a key=value log line must stay one token. */
                if (w + 4 + 1 > size)
                    return -ENOSPC;
                buf[w++] = '\\';
                buf[w++] = (char)('0' + c / 100);
                buf[w++] = (char)('0' + c / 10 % 10);
                buf[w++] = (char)('0' + c % 10);
            } else {
                if (w + 1 + 1 > size)
                    return -ENOSPC;
                buf[w++] = (char)c;
            }
        }
        if (w + 1 + 1 > size)
            return -ENOSPC;
        buf[w++] = '.';
    }
    buf[w] = '\0';
    return (int)w;
}

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/*
 * Builds the wire name in place: out[lab] is the length byte of the label being filled and
 * out[pos] the next free byte. Each byte is checked against the 63 and 255 limits before it
 * is stored, so out never overflows, and the root label always has room.
 */
int
dr_dname_from_str(const char *s, uint8_t out[DR_NAME_MAX])
{
    size_t lab = 0, pos = 1, llen = 0;

    if (s[0] == '\0' || (s[0] == '.' && s[1] == '\0')) {
        out[0] = 0;
        return 1;
    }
    while (*s != '\0') {
        uint8_t c;
        if (*s == '.') {
            if (llen == 0)
                return -EINVAL; /* "..", a leading dot */
            out[lab] = (uint8_t)llen;
            lab = pos++;
            llen = 0;
            s++;
            continue;
        }
        if (*s == '\\') {
            s++;
            if (is_digit(s[0])) {
                if (!is_digit(s[1]) || !is_digit(s[2]))
                    return -EINVAL;
                int v = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
                if (v > 255)
                    return -EINVAL;
                c = (uint8_t)v;
                s += 3;
            } else if (*s != '\0') {
                c = (uint8_t)*s++;
            } else {
                return -EINVAL; /* a lone trailing backslash */
            }
        } else {
            c = (uint8_t)*s++;
        }
        /* pos + 1 bytes used after this one, plus the root label. */
        if (llen == DR_LABEL_MAX || pos + 2 > DR_NAME_MAX)
            return -EINVAL;
        out[pos++] = c;
        llen++;
    }
    if (llen > 0) {
        out[lab] = (uint8_t)llen;
        lab = pos;
    }
    /* Either the string ended in a dot, leaving out[lab] reserved, or lab == pos now. */
    out[lab] = 0;
    return (int)lab + 1;
}

void
dr_dname_randomize_case(uint8_t *name, uint32_t (*next_rnd)(void *), void *arg)
{
    uint32_t bits = 0;
    int left = 0;

    for (size_t i = 0; name[i] != 0; i += (size_t)name[i] + 1) {
        for (size_t j = 1; j <= name[i]; j++) {
            uint8_t c = name[i + j];
            if (!is_letter(c))
                continue;
            /* Fetched lazily: a name without letters costs no random bits. */
            if (left == 0) {
                bits = next_rnd(arg);
                left = 32;
            }
            name[i + j] = (bits & 1) ? (uint8_t)(c & ~0x20) : (uint8_t)(c | 0x20);
            bits >>= 1;
            left--;
        }
    }
}

bool
dr_dname_wildcard(const uint8_t *name, uint8_t out[DR_NAME_MAX])
{
    size_t n = dr_dname_len(name);
    if (n + 2 > DR_NAME_MAX)
        return false;
    out[0] = 1;
    out[1] = '*';
    memcpy(out + 2, name, n);
    return true;
}
