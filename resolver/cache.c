#include "resolver/cache.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/lru.h"
#include "resolver/dname.h"

struct dr_cache {
    struct dc_lru *lru;
    struct dr_cache_policy policy;
};

/*
 * One table value: this header, then nttl uint16 TTL offsets (host order, accessed with
 * memcpy), then the reply bytes. Keeping the offsets means a hit patches TTLs without
 * parsing the message again.
 */
struct stored {
    int64_t stored; /* wall-clock second the reply was stored: TTLs decay from here */
    uint16_t reply_len;
    uint8_t sec;       /* enum dr_val_status (0, NONE, in files written before validation) */
    uint8_t why;       /* enum dr_why: what decided a BOGUS or INSECURE status */
    uint16_t nttl;     /* number of TTL offsets that follow */
    uint8_t qname_len; /* question name length, to patch the client's case in */
    uint8_t flags;     /* STORED_* */
};

#define STORED_NEGATIVE 0x01 /* NXDOMAIN or NODATA, lifetime from the SOA */
#define STORED_SIGNED                                                                              \
    0x02 /* a plain reply whose DO=1 variant is stored beside it: a DO=1                           \
          * client is never given this one instead */

/* Lower-cased qname, then qtype and qclass; the reply for DNSSEC-aware clients (DO=1, with
 * RRSIG, NSEC and NSEC3 records) has one more byte, KEY_DNSSEC. */
#define KEY_MAX    (DR_NAME_MAX + 5)
#define KEY_DNSSEC 0x01

/* The smallest RDATA a SOA can have: two root names and five 32-bit fields. */
#define SOA_RDATA_MIN 22

static size_t
make_key(uint8_t key[KEY_MAX], const uint8_t *qname, uint16_t qtype, uint16_t qclass, bool dnssec)
{
    size_t n = dr_dname_copy_lower(key, qname);
    dr_put16(key + n, qtype);
    dr_put16(key + n + 2, qclass);
    if (!dnssec)
        return n + 4;
    key[n + 4] = KEY_DNSSEC;
    return n + 5;
}

struct dr_cache *
dr_cache_new(size_t max_bytes, unsigned shards, const struct dr_cache_policy *policy)
{
    struct dr_cache *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    /* This struct is part of the budget too. */
    size_t own = dc_lru_heap_cost(sizeof(*c));
    c->lru = dc_lru_new(max_bytes > own ? max_bytes - own : 0, shards);
    if (c->lru == NULL) {
        free(c);
        return NULL;
    }
    c->policy = *policy;
    return c;
}

void
dr_cache_free(struct dr_cache *c)
{
    if (c == NULL)
        return;
    dc_lru_free(c->lru);
    free(c);
}

/* The cut table's share is small: a cut is a few hundred bytes and one serves every name
 * below it, so even an eighth holds thousands of zones at the default 64M. */
void
dr_cache_split(size_t cache_size, size_t *answer_bytes, size_t *cut_bytes)
{
    *cut_bytes = cache_size / DR_CACHE_CUT_SHARE;
    *answer_bytes = cache_size - *cut_bytes;
}

/* ---- Storing ---- */

/*
 * Serving rewrites some bytes of a stored reply: the header's ID and flags, and every TTL. A
 * record's owner name must not be read through any of them (a compression pointer into the
 * header or into a TTL field), or it would change under the client as the TTLs decay,
 * typically into a malformed message. No encoder points there; a hostile server or file can.
 */
struct stable {
    const uint8_t *msg;
    size_t len;
    const uint8_t *offs; /* the TTL offsets (uint16, host order), ascending */
    size_t n;
    size_t bad; /* 1 + the index of the first record that fails, or 0 */
    size_t rec;
};

static uint16_t
ttl_at(const struct stable *st, size_t i)
{
    uint16_t off;
    memcpy(&off, st->offs + 2 * i, sizeof(off));
    return off;
}

/* Whether bytes [from, to] of the message meet the header or a TTL field. */
static bool
rewritten(const struct stable *st, size_t from, size_t to)
{
    if (from < DR_HEADER_LEN)
        return true;
    size_t lo = 0, hi = st->n; /* first TTL field that ends after from */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((size_t)ttl_at(st, mid) + 4 <= from)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < st->n && ttl_at(st, lo) <= to;
}

/* The name at off was accepted by dr_msg_walk(): every step stays inside the message and
 * pointers go strictly backwards, so this walk ends. */
static bool
name_stable(const struct stable *st, size_t off)
{
    for (int steps = 0; steps < 512 && off < st->len; steps++) {
        uint8_t b = st->msg[off];
        if (b == 0)
            return !rewritten(st, off, off);
        if ((b & 0xc0) == 0xc0) {
            if (off + 1 >= st->len || rewritten(st, off, off + 1))
                return false;
            off = (size_t)(b & 0x3f) << 8 | st->msg[off + 1];
            continue;
        }
        if (rewritten(st, off, off + b))
            return false;
        off += (size_t)b + 1;
    }
    return false;
}

static int
stable_rr(void *arg, int section, size_t owner_off, uint16_t type, uint16_t rclass, size_t ttl_off,
          size_t rdata_off, uint16_t rdlen)
{
    struct stable *st = arg;
    st->rec++;
    if (!name_stable(st, owner_off)) {
        st->bad = st->rec;
        return 1;
    }
    return 0;
}

/* 0 when every owner name is stable, else 1 + the index of the first record that is not. */
static size_t
owners_stable(const uint8_t *msg, size_t len, const uint8_t *offs, size_t n)
{
    struct stable st = {.msg = msg, .len = len, .offs = offs, .n = n};
    if (dr_msg_walk(msg, len, stable_rr, &st) < 0)
        return 1;
    return st.bad;
}

/* What the first walk over a reply learns, before anything is allocated. */
struct scan {
    const uint8_t *pkt;
    size_t len;
    size_t nrr; /* records other than OPT: the TTLs to patch */
    size_t nopt;
    int opt_section;
    size_t opt_off, opt_end; /* the OPT record's first and past-the-end offsets */
    uint32_t opt_ttl;
    bool soa; /* a usable SOA in the authority section */
};

static int
scan_rr(void *arg, int section, size_t owner_off, uint16_t type, uint16_t rclass, size_t ttl_off,
        size_t rdata_off, uint16_t rdlen)
{
    struct scan *s = arg;
    if (type == DR_TYPE_OPT) {
        s->nopt++;
        s->opt_section = section;
        s->opt_off = owner_off;
        s->opt_end = rdata_off + rdlen;
        s->opt_ttl = dr_get32(s->pkt + ttl_off);
        return 0;
    }
    s->nrr++;
    if (section == 1 && type == DR_TYPE_SOA && rdlen >= SOA_RDATA_MIN)
        s->soa = true;
    return 0;
}

/* The second walk, over the copy being stored: clamps each TTL and records its offset. */
struct fix {
    uint8_t *msg;
    uint8_t *offs; /* where the next uint16 offset goes */
    size_t n;
    bool negative;
    uint32_t lo, hi; /* TTL bounds for this entry */
    uint32_t lifetime;
};

static int
fix_rr(void *arg, int section, size_t owner_off, uint16_t type, uint16_t rclass, size_t ttl_off,
       size_t rdata_off, uint16_t rdlen)
{
    struct fix *f = arg;
    uint32_t ttl = dr_get32(f->msg + ttl_off);
    /* RFC 2181 §8: a TTL with the top bit set is to be read as zero. */
    if (ttl > INT32_MAX)
        ttl = 0;
    /* RFC 2308 §5: the SOA of a negative answer is served with min(TTL, MINIMUM), so the
     * client caches the negative answer no longer than we do. */
    if (f->negative && section == 1 && type == DR_TYPE_SOA && rdlen >= SOA_RDATA_MIN) {
        uint32_t minimum = dr_get32(f->msg + rdata_off + rdlen - 4);
        if (minimum < ttl)
            ttl = minimum;
    }
    if (ttl < f->lo)
        ttl = f->lo;
    if (ttl > f->hi)
        ttl = f->hi;
    dr_put32(f->msg + ttl_off, ttl);
    if (ttl < f->lifetime)
        f->lifetime = ttl;
    uint16_t off = (uint16_t)ttl_off;
    memcpy(f->offs, &off, sizeof(off));
    f->offs += sizeof(off);
    f->n++;
    return 0;
}

/* Checks that the reply's question is exactly one, uncompressed, and the one asked. */
static int
check_question(const uint8_t *qname, uint16_t qtype, uint16_t qclass, const uint8_t *reply,
               size_t len, size_t *qname_len)
{
    uint8_t name[DR_NAME_MAX];
    size_t off = DR_HEADER_LEN;
    if (dr_get16(reply + 4) != 1)
        return -EBADMSG;
    int n = dr_dname_read(reply, len, &off, name);
    /* A pointer in the first name could only point into the header: not a real name. */
    if (n < 0 || off != DR_HEADER_LEN + (size_t)n || off + 4 > len)
        return -EBADMSG;
    if (!dr_dname_equal(name, qname) || dr_get16(reply + off) != qtype ||
        dr_get16(reply + off + 2) != qclass)
        return -EBADMSG;
    *qname_len = (size_t)n;
    return 0;
}

/*
 * The reply is copied into the value, OPT stripped, TTLs clamped in place, so that a hit is
 * a memcpy plus patches. OPT is per-client (the client's buffer size, DO, the server's
 * cookie) and dr_msg_fit() adds a fresh one, so a stored OPT is dropped rather than
 * rejected. It can only be dropped cheaply when it is the last record: removing bytes from
 * the middle would move names that compression pointers after it refer to. An OPT anywhere
 * else makes the reply "not cacheable" (1); servers put it last in practice.
 *
 * Other choices: a TC=1 reply is incomplete, so not cacheable; negative answers get no
 * cache-min-ttl floor (as Unbound, which has a separate cache-min-negative-ttl), and
 * cache-max-ttl caps them as well as cache-max-negative-ttl.
 */
static int store(struct dr_cache *c, const uint8_t *qname, uint16_t qtype, uint16_t qclass,
                 bool dnssec, uint8_t extra_flags, const uint8_t *reply, size_t len, int64_t now,
                 const struct dr_cache_sec *sec);

int
dr_cache_store(struct dr_cache *c, const uint8_t *qname, uint16_t qtype, uint16_t qclass,
               const uint8_t *reply, size_t len, int64_t now)
{
    return store(c, qname, qtype, qclass, false, 0, reply, len, now, NULL);
}

int
dr_cache_store_pair(struct dr_cache *c, const uint8_t *qname, uint16_t qtype, uint16_t qclass,
                    const uint8_t *plain, size_t plen, const uint8_t *dnssec, size_t dlen,
                    int64_t now)
{
    return dr_cache_store_sec(c, qname, qtype, qclass, plain, plen, dnssec, dlen, now, NULL);
}

int
dr_cache_store_sec(struct dr_cache *c, const uint8_t *qname, uint16_t qtype, uint16_t qclass,
                   const uint8_t *plain, size_t plen, const uint8_t *dnssec, size_t dlen,
                   int64_t now, const struct dr_cache_sec *sec)
{
    if (dnssec == NULL)
        return store(c, qname, qtype, qclass, false, 0, plain, plen, now, sec);
    /* The DO=1 variant first: a plain entry marked signed without it would only miss. */
    int rc = store(c, qname, qtype, qclass, true, 0, dnssec, dlen, now, sec);
    if (rc != 0)
        return rc;
    return store(c, qname, qtype, qclass, false, STORED_SIGNED, plain, plen, now, sec);
}

static int
store(struct dr_cache *c, const uint8_t *qname, uint16_t qtype, uint16_t qclass, bool dnssec,
      uint8_t extra_flags, const uint8_t *reply, size_t len, int64_t now,
      const struct dr_cache_sec *sec)
{
    if (len < DR_HEADER_LEN || len > UINT16_MAX)
        return -EBADMSG;
    size_t qname_len;
    int rc = check_question(qname, qtype, qclass, reply, len, &qname_len);
    if (rc < 0)
        return rc;
    struct scan s = {.pkt = reply, .len = len};
    rc = dr_msg_walk(reply, len, scan_rr, &s);
    if (rc < 0)
        return rc;
    if (s.nopt > 1 || (s.nopt == 1 && s.opt_section != 2))
        return -EBADMSG;
    if (s.nopt == 1 && (s.opt_end != len || (s.opt_ttl >> 24) != 0))
        return 1; /* not last (see above), or an extended RCODE */

    uint16_t flags = dr_get16(reply + 2);
    if ((flags & DR_FLAG_TC) || DR_OPCODE(flags) != 0)
        return 1;
    bool negative;
    if (DR_RCODE(flags) == DR_RCODE_NXDOMAIN)
        negative = true;
    else if (DR_RCODE(flags) == DR_RCODE_NOERROR)
        negative = dr_get16(reply + 6) == 0; /* NODATA */
    else
        return 1;
    if (negative && !s.soa)
        return 1; /* RFC 2308 §5: without a SOA there is no negative TTL to honour */

    size_t stored_len = s.nopt ? s.opt_off : len;
    size_t head = sizeof(struct stored) + 2 * s.nrr;
    uint8_t *val = malloc(head + stored_len);
    if (val == NULL)
        return -ENOMEM;
    uint8_t *msg = val + head;
    memcpy(msg, reply, stored_len);
    if (s.nopt)
        dr_put16(msg + 10, (uint16_t)(dr_get16(msg + 10) - 1));

    const struct dr_cache_policy *p = &c->policy;
    struct fix f = {
        .msg = msg,
        .offs = val + sizeof(struct stored),
        .negative = negative,
        .lo = negative ? 0 : p->min_ttl,
        .hi = negative && p->max_negative_ttl < p->max_ttl ? p->max_negative_ttl : p->max_ttl,
        .lifetime = UINT32_MAX,
    };
    /* A cap from validation (signature expiry, val-bogus-ttl) lowers the TTLs clients see
     * as well as the entry's life. */
    if (sec && sec->max_life > 0 && sec->max_life < f.hi) {
        f.hi = sec->max_life;
        if (f.lo > f.hi)
            f.lo = f.hi;
    }
    rc = dr_msg_walk(msg, stored_len, fix_rr, &f);
    if (rc < 0 || f.n != s.nrr) {
        /* The same bytes minus a trailing OPT parsed a moment ago: cannot happen. */
        free(val);
        return -EBADMSG;
    }
    if (f.lifetime == 0 || f.n == 0) {
        free(val);
        return 1;
    }
    if (owners_stable(msg, stored_len, val + sizeof(struct stored), f.n) != 0) {
        free(val);
        return -EBADMSG;
    }

    struct stored st = {
        .stored = now,
        .reply_len = (uint16_t)stored_len,
        .sec = sec ? sec->status : 0,
        .why = sec ? sec->why : 0,
        .nttl = (uint16_t)s.nrr,
        .qname_len = (uint8_t)qname_len,
        .flags = (uint8_t)((negative ? STORED_NEGATIVE : 0) | extra_flags),
    };
    memcpy(val, &st, sizeof(st));

    uint8_t key[KEY_MAX];
    size_t klen = make_key(key, qname, qtype, qclass, dnssec);
    /* serve-expired: kept past its expiry for the stale window (the answer's freshness is
     * its smallest stored TTL, see serve()). */
    int64_t keep = (int64_t)f.lifetime + (sec ? (int64_t)sec->stale_life : 0);
    rc = dc_lru_put(c->lru, key, klen, val, head + stored_len, now + keep);
    free(val);
    return rc;
}

/* ---- Serving ---- */

struct hit {
    const struct dr_msg_query *q; /* the client's question, or NULL for dr_cache_lookup */
    bool miss;                    /* the entry found does not serve this client */
    bool *prefetch;               /* set when the entry is in the last tenth of its life */
    bool validated_only;          /* an entry nobody validated (status NONE) is a miss */
    bool stale;                   /* serve an expired entry (serve-expired), TTLs set to
                                     DR_CACHE_STALE_TTL; a fresh one is a miss then */
    struct dr_cache_sec *sec;     /* gets the entry's validation status, may be NULL */
    int64_t now;
    uint8_t *out;
    size_t cap;
    int err;
};

/*
 * Runs under the shard lock, so it only copies and patches. A visitor must return >= 0, so
 * a too-small buffer is reported through h->err.
 */
static int
serve(void *arg, const void *val, size_t vlen, int64_t expire)
{
    struct hit *h = arg;
    struct stored st;
    memcpy(&st, val, sizeof(st));
    if (h->q && h->q->do_bit && (st.flags & STORED_SIGNED)) {
        h->miss = true; /* its DO=1 variant is gone: a DO=1 client must not get this one */
        return 0;
    }
    if (h->validated_only && st.sec == 0) {
        h->miss = true; /* stored by a lookup that skipped validation (an NS address) */
        return 0;
    }
    if (h->sec) {
        h->sec->status = st.sec;
        h->sec->why = st.why;
    }
    const uint8_t *offs = (const uint8_t *)val + sizeof(st);
    const uint8_t *reply = offs + 2 * (size_t)st.nttl;
    if (st.reply_len > h->cap) {
        h->err = -ENOSPC;
        return 0;
    }
    uint8_t *out = h->out;
    memcpy(out, reply, st.reply_len);
    /* A clock stepping backwards must not make TTLs grow. The answer is fresh while its
     * smallest TTL lasts (the store made that its lifetime); after that it is only kept
     * for serve-expired. */
    int64_t age = h->now > st.stored ? h->now - st.stored : 0;
    uint32_t min_ttl = UINT32_MAX;
    for (size_t i = 0; i < st.nttl; i++) {
        uint16_t off;
        memcpy(&off, offs + 2 * i, sizeof(off));
        uint32_t ttl = dr_get32(out + off);
        if (ttl < min_ttl)
            min_ttl = ttl;
        dr_put32(out + off, (int64_t)ttl > age ? (uint32_t)(ttl - age) : 0);
    }
    bool fresh = age < (int64_t)min_ttl;
    if (h->sec)
        h->sec->stale = !fresh;
    if (fresh == h->stale) {
        h->miss = true; /* expired (only kept for serve-expired), or fresh when stale asked */
        return 0;
    }
    if (h->stale) {
        for (size_t i = 0; i < st.nttl; i++) {
            uint16_t off;
            memcpy(&off, offs + 2 * i, sizeof(off));
            dr_put32(out + off, DR_CACHE_STALE_TTL);
        }
    }
    /* Unbound's prefetch rule: asked for in the last 10% of its lifetime. */
    int64_t fresh_expire = st.stored + (int64_t)min_ttl;
    if (h->prefetch && fresh && (fresh_expire - h->now) * 10 <= (int64_t)min_ttl)
        *h->prefetch = true;
    (void)expire;

    if (h->q) {
        const struct dr_msg_query *q = h->q;
        uint16_t flags = dr_get16(out + 2);
        flags = (uint16_t)((flags & ~DR_FLAG_RD) | (q->flags & DR_FLAG_RD) | DR_FLAG_RA);
        dr_put16(out, q->id);
        dr_put16(out + 2, flags);
        /* Equal keys mean equal names up to case, so the lengths match; the client gets its
         * own spelling back (0x20-randomising clients check it). Compression pointers to
         * the question name stay valid: only letters change. */
        if (q->qname_len == st.qname_len)
            memcpy(out + DR_HEADER_LEN, q->qname, st.qname_len);
    } else {
        dr_put16(out, 0);
    }
    return (int)st.reply_len;
}

int
dr_cache_answer(struct dr_cache *c, const struct dr_msg_query *q, int64_t now, uint8_t *out,
                size_t cap, bool *prefetch)
{
    return dr_cache_answer_sec(c, q, now, out, cap, prefetch, false, NULL);
}

/* The client's lookup: its DO=1 variant first where it asked with DO, then the plain reply
 * (which then holds no DNSSEC records to leave out). */
static int
client_lookup(struct dr_cache *c, const struct dr_msg_query *q, struct hit *h)
{
    uint8_t key[KEY_MAX];
    size_t klen = make_key(key, q->qname, q->qtype, q->qclass, q->do_bit);
    int rc = dc_lru_get(c->lru, key, klen, h->now, serve, h);
    if (rc == DC_LRU_MISS && q->do_bit)
        rc = dc_lru_get(c->lru, key, klen - 1, h->now, serve, h);
    if (rc == DC_LRU_MISS || h->miss)
        return 0;
    return h->err ? h->err : rc;
}

int
dr_cache_answer_stale(struct dr_cache *c, const struct dr_msg_query *q, int64_t now, uint8_t *out,
                      size_t cap, bool validated_only, struct dr_cache_sec *sec)
{
    struct hit h = {.q = q,
                    .now = now,
                    .out = out,
                    .cap = cap,
                    .stale = true,
                    .validated_only = validated_only,
                    .sec = sec};
    return client_lookup(c, q, &h);
}

int
dr_cache_answer_sec(struct dr_cache *c, const struct dr_msg_query *q, int64_t now, uint8_t *out,
                    size_t cap, bool *prefetch, bool validated_only, struct dr_cache_sec *sec)
{
    struct hit h = {.q = q,
                    .now = now,
                    .out = out,
                    .cap = cap,
                    .prefetch = prefetch,
                    .validated_only = validated_only,
                    .sec = sec};
    return client_lookup(c, q, &h);
}

int
dr_cache_lookup_sec(struct dr_cache *c, const uint8_t *qname, uint16_t qtype, uint16_t qclass,
                    int64_t now, uint8_t *out, size_t cap, struct dr_cache_sec *sec)
{
    uint8_t key[KEY_MAX];
    size_t klen = make_key(key, qname, qtype, qclass, true);
    struct hit h = {.now = now, .out = out, .cap = cap, .validated_only = true, .sec = sec};
    int rc = dc_lru_get(c->lru, key, klen, now, serve, &h);
    if (rc == DC_LRU_MISS)
        rc = dc_lru_get(c->lru, key, klen - 1, now, serve, &h);
    if (rc == DC_LRU_MISS || h.miss)
        return 0;
    return h.err ? h.err : rc;
}

int
dr_cache_lookup_signed(struct dr_cache *c, const uint8_t *qname, uint16_t qtype, uint16_t qclass,
                       int64_t now, uint8_t *out, size_t cap)
{
    uint8_t key[KEY_MAX];
    size_t klen = make_key(key, qname, qtype, qclass, true);
    struct hit h = {.now = now, .out = out, .cap = cap};
    int rc = dc_lru_get(c->lru, key, klen, now, serve, &h);
    if (rc == DC_LRU_MISS)
        return dr_cache_lookup(c, qname, qtype, qclass, now, out, cap);
    return h.err ? h.err : rc;
}

int
dr_cache_lookup(struct dr_cache *c, const uint8_t *qname, uint16_t qtype, uint16_t qclass,
                int64_t now, uint8_t *out, size_t cap)
{
    uint8_t key[KEY_MAX];
    size_t klen = make_key(key, qname, qtype, qclass, false);
    struct hit h = {.now = now, .out = out, .cap = cap};
    int rc = dc_lru_get(c->lru, key, klen, now, serve, &h);
    if (rc == DC_LRU_MISS)
        return 0;
    return h.err ? h.err : rc;
}

/* ---- Flushing and accounting ---- */

struct flush {
    const uint8_t *name;
    bool subtree;
};

/* The key starts with the lower-cased qname, so the stored value need not be opened. */
static bool
flush_match(void *arg, const void *key, size_t klen, const void *val, size_t vlen, int64_t expire)
{
    const struct flush *f = arg;
    const uint8_t *qname = key;
    return f->subtree ? dr_dname_is_sub(qname, f->name) : dr_dname_equal(qname, f->name);
}

size_t
dr_cache_flush(struct dr_cache *c, const uint8_t *name, bool subtree)
{
    if (name == NULL)
        return dc_lru_remove_if(c->lru, NULL, NULL);
    struct flush f = {.name = name, .subtree = subtree};
    return dc_lru_remove_if(c->lru, flush_match, &f);
}

size_t
dr_cache_count(struct dr_cache *c)
{
    return dc_lru_count(c->lru);
}

size_t
dr_cache_bytes(struct dr_cache *c)
{
    return dc_lru_heap_cost(sizeof(*c)) + dc_lru_bytes(c->lru);
}

struct dc_lru *
dr_cache_table(struct dr_cache *c)
{
    return c->lru;
}

/* ---- Checking an entry read back from a file ---- */

struct recheck {
    const uint8_t *msg;
    const uint8_t *offs; /* the stored TTL offsets */
    size_t nttl, n;
    char *why;
    size_t whylen;
};

/* Each record must sit exactly where the stored offsets say, in order: serving patches
 * those offsets blindly. */
static int
recheck_rr(void *arg, int section, size_t owner_off, uint16_t type, uint16_t rclass, size_t ttl_off,
           size_t rdata_off, uint16_t rdlen)
{
    struct recheck *r = arg;
    if (type == DR_TYPE_OPT) {
        snprintf(r->why, r->whylen, "stored reply holds an OPT record (record %zu)", r->n);
        return 1;
    }
    if (r->n >= r->nttl) {
        snprintf(r->why, r->whylen, "stored reply has more records than its %zu TTL offsets",
                 r->nttl);
        return 1;
    }
    uint16_t off;
    memcpy(&off, r->offs + 2 * r->n, sizeof(off));
    if (off != ttl_off) {
        snprintf(r->why, r->whylen, "TTL offset %zu is %u, the record's TTL is at %zu", r->n + 1,
                 (unsigned)off, ttl_off);
        return 1;
    }
    uint32_t ttl = dr_get32(r->msg + ttl_off);
    if (ttl > DR_CACHE_TTL_LIMIT) {
        snprintf(r->why, r->whylen, "record %zu has TTL %" PRIu32 " (over %d)", r->n + 1, ttl,
                 DR_CACHE_TTL_LIMIT);
        return 1;
    }
    r->n++;
    return 0;
}

#define BAD(...)                                                                                   \
    do {                                                                                           \
        snprintf(why, whylen, __VA_ARGS__);                                                        \
        return false;                                                                              \
    } while (0)

/*
 * Everything serve() and the flush predicate rely on, and everything dr_cache_store() would
 * have made true: an entry that passes can be served and flushed without reading outside
 * it. Checked in the order the data is laid out, so the first problem is the one reported.
 */
bool
dr_cache_entry_valid(const void *key, size_t klen, const void *val, size_t vlen, int64_t expire,
                     char *why, size_t whylen)
{
    uint8_t kname[DR_NAME_MAX], lc[DR_NAME_MAX], qname[DR_NAME_MAX];
    size_t off = 0;
    int n = dr_dname_read(key, klen, &off, kname);
    if (n < 0 || off != (size_t)n)
        BAD("key does not start with an uncompressed domain name");
    if (klen != (size_t)n + 4 &&
        !(klen == (size_t)n + 5 && ((const uint8_t *)key)[n + 4] == KEY_DNSSEC))
        BAD("key is %zu bytes, its name %d plus type and class make %d (or one more for the "
            "DNSSEC variant)",
            klen, n, n + 4);
    dr_dname_copy_lower(lc, kname);
    if (memcmp(lc, kname, (size_t)n) != 0)
        BAD("key name is not lower-case");
    const uint8_t *k = key;
    uint16_t qtype = dr_get16(k + n), qclass = dr_get16(k + n + 2);

    struct stored h;
    if (vlen < sizeof(h))
        BAD("value of %zu bytes is shorter than its %zu-byte header", vlen, sizeof(h));
    memcpy(&h, val, sizeof(h));
    if (vlen != sizeof(h) + (size_t)h.nttl * 2 + h.reply_len)
        BAD("value is %zu bytes, its header says %zu", vlen,
            sizeof(h) + (size_t)h.nttl * 2 + h.reply_len);
    if (h.reply_len < DR_HEADER_LEN)
        BAD("stored reply length %u is not a DNS message size", (unsigned)h.reply_len);
    if (h.sec > DR_CACHE_SEC_MAX || h.why > DR_CACHE_WHY_MAX)
        BAD("validation status %u / reason %u out of range", (unsigned)h.sec, (unsigned)h.why);
    if (h.flags & ~(STORED_NEGATIVE | STORED_SIGNED))
        BAD("unknown flags 0x%02x", (unsigned)h.flags);
    if (h.nttl == 0)
        BAD("no records to serve");
    if (expire < h.stored || (uint64_t)expire - (uint64_t)h.stored > DR_CACHE_TTL_LIMIT)
        BAD("expiry %" PRId64 " is not within %d s after the store time %" PRId64, expire,
            DR_CACHE_TTL_LIMIT, h.stored);

    const uint8_t *offs = (const uint8_t *)val + sizeof(h);
    const uint8_t *msg = offs + 2 * (size_t)h.nttl;
    size_t len = h.reply_len;
    if (dr_get16(msg + 4) != 1)
        BAD("stored reply has %u questions, not 1", (unsigned)dr_get16(msg + 4));
    off = DR_HEADER_LEN;
    n = dr_dname_read(msg, len, &off, qname);
    if (n < 0 || off != DR_HEADER_LEN + (size_t)n || off + 4 > len)
        BAD("stored reply's question name is malformed or compressed");
    if (n != h.qname_len || !dr_dname_equal(qname, kname) || dr_get16(msg + off) != qtype ||
        dr_get16(msg + off + 2) != qclass)
        BAD("stored reply's question does not match the key");
    uint16_t flags = dr_get16(msg + 2);
    if ((flags & DR_FLAG_TC) || DR_OPCODE(flags) != 0)
        BAD("stored reply is truncated or not a query reply");
    bool negative;
    if (DR_RCODE(flags) == DR_RCODE_NXDOMAIN)
        negative = true;
    else if (DR_RCODE(flags) == DR_RCODE_NOERROR)
        negative = dr_get16(msg + 6) == 0;
    else
        BAD("stored reply has rcode %u, which is never cached", (unsigned)DR_RCODE(flags));
    if (negative != ((h.flags & STORED_NEGATIVE) != 0))
        BAD("negative flag does not match the stored reply");

    struct recheck r = {.msg = msg, .offs = offs, .nttl = h.nttl, .why = why, .whylen = whylen};
    int rc = dr_msg_walk(msg, len, recheck_rr, &r);
    if (rc > 0)
        return false;
    if (rc < 0)
        BAD("stored reply is not a well-formed DNS message");
    if (r.n != h.nttl)
        BAD("stored reply has %zu records, its header %zu TTL offsets", r.n, (size_t)h.nttl);
    size_t unstable = owners_stable(msg, len, offs, h.nttl);
    if (unstable)
        BAD("record %zu's owner name reads bytes that serving rewrites (header or a TTL)",
            unstable);
    return true;
}
